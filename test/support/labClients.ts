// The qemu clients of the boot specs: why one did not get where a spec waited for it (what a person at the client
// would see — its last console lines, its screen read with OCR — and what the share knows of it: the engine's
// view and lines, the LAN's packets, the server's TCP sockets to it), and the end of such a spec.
import GLib from 'gi://GLib';

import { explainScreen } from '../../src/cli/demo.ts';
import type { LabCapture } from '../../src/lab/capture.ts';
import { type LabVm, firmwareLabel } from '../../src/lab/vm.ts';
import { LAB, type RunningShare, sh, status, teardownNet } from './lab.ts';

/** After a spec: its clients switched off, its share stopped, the capture ended, the lab network gone. */
export async function endBootSpec(vms: LabVm[], share: RunningShare | null, capture: LabCapture | null): Promise<void> {
    for (const v of vms.splice(0)) {
        await v.kill();
        if (GLib.getenv('KEEP_WORK') === null)
            v.removeFiles();
    }
    if (share?.running) {
        share.signal(2);
        await share.ended().catch(() => 0);
    }
    await capture?.stop();
    teardownNet();
}

export async function whyNotBooted(v: LabVm, goal: string, share: RunningShare | null, capture: LabCapture | null): Promise<string> {
    const mac = v.options.mac;
    const view = status().clients.find(c => c.mac === mac) ?? 'the engine never saw this client';
    const lines = v.lastLines();
    const consoleText = lines.length > 0 ? `Last console lines:\n  ${lines.join('\n  ')}` : 'Nothing on its serial console.';
    // BIOS firmware, iPXE and pxelinux write to the screen only: the screen says how far they came.
    const screen = await v.screenText();
    const why = explainScreen(screen);
    const screenText = screen.length > 0 ? `Its screen (OCR):\n  ${screen.slice(-12).join('\n  ')}${why ? `\n  → ${why}` : ''}` : 'No picture of its screen.';
    const events = share?.lines.filter(l => mac !== undefined && l.includes(mac)).slice(-12) ?? [];
    // The server side of its transfers (HTTP, NFS): each socket's send queue, retransmission and
    // zero-window probe timers tell whether the server waits for the client or has given up on it.
    const ip = typeof view === 'string' ? null : view.ip;
    const sockets = ip === null ? 'no address known' : sh(['ip', 'netns', 'exec', LAB.srv, 'ss', '-tino', 'dst', ip]).stdout.trim();
    return `${v.options.name} (${firmwareLabel(v.options.firmware)}) did not reach ${goal} in ${Math.round(v.uptime)} s.\n` +
        `${consoleText}\n${screenText}\nThe engine's view of ${mac}: ${JSON.stringify(view)}\n` +
        `The engine's lines about it:\n  ${events.join('\n  ')}\n` +
        `What the lab LAN carried of it: ${capture && mac ? capture.summary(mac) : 'no capture'}\n` +
        `The server's TCP sockets to it (ss -tino):\n  ${sockets.split('\n').join('\n  ')}`;
}

/** A work folder for a suite's clients (serial logs, sockets, UEFI variables, the LAN's capture), readable by all. */
export function bootWorkDir(name: string): string {
    const work = GLib.dir_make_tmp(`share-this-cd-${name}-XXXXXX`);
    sh(['chmod', '755', work]);
    return work;
}

/**
 * After a suite: its work folder removed (KEEP_WORK=1 keeps the consoles and the capture for a look after the
 * run) and its boots' times printed, with the time since `t0` (monotonic, µs).
 */
export function endBootSuite(work: string, label: string, timings: string[], t0: number): void {
    if (work !== '' && GLib.getenv('KEEP_WORK') === null)
        sh(['rm', '-rf', work]);
    print(`${label}: ${timings.join('; ')}; total ${((GLib.get_monotonic_time() - t0) / 1e6).toFixed(0)} s`);
}
