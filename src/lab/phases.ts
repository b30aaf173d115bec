// The phases of one network boot, from what the lab already takes: the LAN's capture (tcpdump -nn -tt -e, the
// client by its MAC) and the client's serial console. Pure: times are seconds after power-on.
//   firmware → DHCP: power-on to the firmware's first DHCP request
//   DHCP → loader: to its first file request (boot loader, or iPXE's script)
//   loader → kernel request: the loader (and its menu) runs, up to the kernel's request
//   kernel + initrd: the kernel's request to the kernel's first line on the console (both files fetched)
//   kernel → initrd network: the kernel boots, the initramfs configures the network
//   initrd network → NFS mount: to the first packet to the NFS server (port mapper, mountd or nfs)
//   NFS mount → system up: the live system's root is mounted and its init starts (the lab's marker)

export const PHASES = ['firmware → DHCP', 'DHCP → loader', 'loader → kernel request', 'kernel + initrd', 'kernel → initrd network',
    'initrd network → NFS mount', 'NFS mount → system up'] as const;
export type Phase = typeof PHASES[number];

export interface BootMarks {
    dhcp: number | null;
    loader: number | null;
    kernelRequest: number | null;
    kernelStart: number | null;
    initrdNetwork: number | null;
    nfs: number | null;
    up: number;
}

/** A file request in a tcpdump line: TFTP's RRQ or HTTP's GET, the file's path (no leading slash). */
function requested(line: string): string | null {
    const m = /RRQ "([^"]+)"/.exec(line) ?? /HTTP: GET (\S+)/.exec(line);
    return m === null ? null : m[1].replace(/^https?:\/\/[^/]+/, '').replace(/^\/+/, '');
}

/**
 * Marks from the capture's lines (`tcpdump -r FILE -nn -tt -e`), the client's MAC, its power-on time (the
 * capture's clock, seconds since the epoch), the kernel's file name, and the console's marks (seconds).
 */
export function bootMarks(capture: string, mac: string, powerOn: number, kernelName: string,
    console: { kernelStart: number | null; initrdNetwork: number | null; up: number }): BootMarks {
    const own = mac.toLowerCase();
    const sent = capture.split('\n').filter(l => /^\d+\.\d+ /.test(l) && l.split(' ')[1]?.toLowerCase() === own)
        .map(l => ({ t: Math.round((Number.parseFloat(l) - powerOn) * 1000) / 1000, line: l })).filter(p => p.t >= 0);
    const first = (pred: (line: string) => boolean, after = 0): number | null => sent.find(p => p.t >= after && pred(p.line))?.t ?? null;
    const dhcp = first(l => /BOOTP\/DHCP, Request/.test(l));
    const loader = first(l => requested(l) !== null);
    const kernelRequest = first(l => (requested(l) ?? '').split('/').pop() === kernelName);
    const nfs = first(l => /> \d+\.\d+\.\d+\.\d+\.(111|2049|20048): /.test(l), console.initrdNetwork ?? console.kernelStart ?? 0);
    return { dhcp, loader, kernelRequest, kernelStart: console.kernelStart, initrdNetwork: console.initrdNetwork, nfs, up: console.up };
}

/** Each phase's length in seconds (null where a mark is missing or out of order). */
export function phaseLengths(m: BootMarks): Record<Phase, number | null> {
    const points = [0, m.dhcp, m.loader, m.kernelRequest, m.kernelStart, m.initrdNetwork, m.nfs, m.up];
    const out = {} as Record<Phase, number | null>;
    PHASES.forEach((phase, i) => {
        const [a, b] = [points[i], points[i + 1]];
        out[phase] = a === null || b === null || b < a ? null : Math.round((b - a) * 10) / 10;
    });
    return out;
}
