// Boot benchmark (`npm run bench:boot [-- --json] [-- --runs N]`, root, after tools/setup.sh): what a user
// waits for — power-on to the live system — for the same qemu client (TCG, 1 vCPU, 1 GiB, its NIC's iPXE ROM for
// BIOS, OVMF's own PXE for UEFI), booting the lab live image from our engine (`share-this-cd start`, defaults)
// and from a hand-written peer setup of the kind an expert writes from the usual tutorials (src/lab/peer.ts: one
// dnsmasq, pxelinux or shim + GRUB over TFTP, one entry, the same NFS server). Four cases: BIOS and UEFI, on an
// empty LAN (full DHCP) and on a home LAN (a router with DHCP and IPv6 advertisements; proxy-DHCP). In one run,
// interleaved (ours and the peer's boots alternate, the order flipping each round), N rounds (default 3),
// medians; each boot in a fresh lab network. Phases of each boot from the LAN's capture and the console
// (src/lab/phases.ts). Baseline line: the same image as a local CD read at USB 2 speed (30 MB/s).
// Targets: every case ≤ 1.0 × the peer, BIOS cases ≤ 0.8 ×.
// Ctrl-C or SIGTERM: the client, the servers and the lab network are removed before it exits.
import GLib from 'gi://GLib';
import system from 'system';

import { KERNEL_ARGS, ensureLabImage } from '../src/lab/image.ts';
import { interruptStatus, interrupted, onInterrupt, undoAll } from '../src/lab/interrupt.ts';
import { LabNet, sh } from '../src/lab/net.ts';
import { PeerSetup } from '../src/lab/peer.ts';
import { PHASES, type Phase, bootMarks, phaseLengths } from '../src/lab/phases.ts';
import { LabShare, READY } from '../src/lab/share.ts';
import { type Firmware, LabVm, firmwareLabel } from '../src/lab/vm.ts';
import { LabCapture } from '../src/lab/capture.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const CLI = `${GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0])}/share-this-cd.js`;
const args = system.programArgs;
const JSON_OUT = args.includes('--json');
const RUNS = Math.max(1, Number(args[args.indexOf('--runs') + 1]) || Number(GLib.getenv('BENCH_RUNS') ?? '') || 3);
const TIMEOUT = 300000;
const MAC = '52:54:00:be:4c:01';
/** A USB 2 stick or a fast DVD drive reads about this fast. */
const LOCAL_BPS = 30 * 1000 * 1000;
const KERNEL = 'live/vmlinuz';
const INITRD = 'live/initrd.img';

const say = (text: string): void => {
    if (JSON_OUT)
        printerr(text);
    else
        print(text);
};

type Side = 'ours' | 'peer';
interface Boot { seconds: number; phases: Record<Phase, number | null> }
interface Case { name: string; firmware: Firmware; homeLan: boolean }

const CASES: Case[] = [
    { name: 'BIOS, empty LAN', firmware: 'bios', homeLan: false },
    { name: 'BIOS, home LAN', firmware: 'bios', homeLan: true },
    { name: 'UEFI, empty LAN', firmware: 'uefi', homeLan: false },
    { name: 'UEFI, home LAN', firmware: 'uefi', homeLan: true },
];

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const work = GLib.dir_make_tmp('share-this-cd-bench-boot-XXXXXX');
sh(['chmod', '755', work]);
onInterrupt(() => void sh(['rm', '-rf', work]));
const lab = new LabNet('bboot');

/** One boot of `c` served by `side`, in a fresh lab network; everything it started is gone when it returns. */
async function bootOnce(c: Case, side: Side, tree: string): Promise<Boot> {
    lab.setup({ client: false, taps: 1, router: c.homeLan });
    const dropLab = onInterrupt(() => lab.teardown());
    if (c.homeLan)
        lab.startRouterDhcp({ ipv6: true });
    let share: LabShare | null = null;
    let peer: PeerSetup | null = null;
    const capture = new LabCapture(lab.srv, 'br0', `${work}/lan.pcap`);
    const vm = new LabVm({ name: `${side}-${c.firmware}`, firmware: c.firmware, workDir: work, netns: lab.srv, tap: 'tap0', mac: MAC });
    const stopAll = async (): Promise<void> => {
        await vm.kill();
        vm.removeFiles();
        if (share?.running) {
            share.signal(2);
            await share.ended().catch(() => share?.signal(9));
        }
        await peer?.stop();
        await capture.stop();
    };
    const dropAll = onInterrupt(stopAll);
    try {
        if (side === 'ours') {
            share = new LabShare(CLI, lab.srv, ['--medium', tree]);
            await share.waitFor(READY, 60000);
        } else {
            peer = new PeerSetup(lab.srv, { medium: tree, kernel: KERNEL, initrd: INITRD, args: KERNEL_ARGS.split(' '), iface: 'br0',
                server: lab.serverIp, range: c.homeLan ? null : { start: '10.77.0.100', end: '10.77.0.200' }, dir: `${work}/peer` });
            await peer.start();
        }
        await capture.start();
        const powerOn = GLib.get_real_time() / 1e6;
        vm.start();
        const m = await vm.waitForMarker(TIMEOUT);
        if (m === null)
            throw new Error(`${c.name}, ${side}: no live system within ${TIMEOUT / 1000} s; last console lines:\n  ${vm.lastLines().join('\n  ')}`);
        if (m.type !== 'nfs')
            throw new Error(`${c.name}, ${side}: booted from ${m.medium} (${m.type}), not over NFS`);
        const packets = sh(['tcpdump', '-r', capture.file, '-nn', '-tt', '-e']).stdout;
        const marks = bootMarks(packets, MAC, powerOn, KERNEL.split('/').pop() as string,
            { kernelStart: vm.firstSeen(/\] Linux version /), initrdNetwork: vm.firstSeen(/IP-Config: \S+ complete/), up: m.seconds });
        return { seconds: m.seconds, phases: phaseLengths(marks) };
    } finally {
        // Interrupted: the signal's handler undoes all of it, in order.
        if (!interrupted()) {
            await stopAll();
            dropAll();
            lab.teardown();
            dropLab();
        }
    }
}

/** The same image as a local CD read at USB 2 speed. */
async function localBoot(firmware: Firmware, iso: string): Promise<number> {
    const vm = new LabVm({ name: `local-${firmware}`, firmware, workDir: work, cdrom: iso, cdromBytesPerSecond: LOCAL_BPS });
    const drop = onInterrupt(async () => {
        await vm.kill();
        vm.removeFiles();
    });
    try {
        vm.start();
        const m = await vm.waitForMarker(TIMEOUT);
        if (m === null || m.type !== 'iso9660')
            throw new Error(`local CD (${firmware}): ${m === null ? 'no live system' : `booted from ${m.medium}`}; last console lines:\n  ${vm.lastLines().join('\n  ')}`);
        return m.seconds;
    } finally {
        if (!interrupted()) {
            await vm.kill();
            vm.removeFiles();
            drop();
        }
    }
}

function phaseMedians(boots: Boot[]): Record<Phase, number | null> {
    const out = {} as Record<Phase, number | null>;
    for (const p of PHASES) {
        const xs = boots.map(b => b.phases[p]).filter((x): x is number => x !== null);
        out[p] = xs.length === 0 ? null : Math.round(median(xs) * 10) / 10;
    }
    return out;
}

async function main(): Promise<number> {
    const image = ensureLabImage(line => say(`  ${line}`));
    say(`lab image: ${image.tree}; qemu TCG, 1 vCPU, 1 GiB; ${RUNS} round(s), ours and the peer's boots interleaved`);
    const boots = new Map<string, Boot[]>();
    const key = (c: Case, side: Side): string => `${c.name}/${side}`;
    for (let round = 0; round < RUNS; round++) {
        for (const c of CASES) {
            const order: Side[] = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
            for (const side of order) {
                const b = await bootOnce(c, side, image.tree);
                boots.set(key(c, side), [...boots.get(key(c, side)) ?? [], b]);
                say(`  round ${round + 1}, ${c.name}, ${side}: ${b.seconds.toFixed(1)} s`);
            }
        }
    }
    const local: Record<string, number> = {};
    for (const firmware of ['bios', 'uefi'] as Firmware[]) {
        const xs: number[] = [];
        for (let i = 0; i < RUNS; i++)
            xs.push(await localBoot(firmware, image.iso));
        local[firmware] = median(xs);
    }
    const cases = CASES.map(c => {
        const ours = boots.get(key(c, 'ours')) as Boot[];
        const peer = boots.get(key(c, 'peer')) as Boot[];
        const [o, p] = [median(ours.map(b => b.seconds)), median(peer.map(b => b.seconds))];
        const target = c.firmware === 'bios' ? 0.8 : 1.0;
        return { name: c.name, firmware: c.firmware, ours_s: round1(o), peer_s: round1(p), ratio: Math.round(o / p * 100) / 100, target, met: o / p <= target,
            runs: { ours: ours.map(b => round1(b.seconds)), peer: peer.map(b => round1(b.seconds)) },
            phases: { ours: phaseMedians(ours), peer: phaseMedians(peer) } };
    });
    const baseline = (['bios', 'uefi'] as Firmware[]).map(f => ({ name: `local CD at ${LOCAL_BPS / 1e6} MB/s`, firmware: f, seconds: round1(local[f]) }));
    if (JSON_OUT) {
        print(JSON.stringify({ cases, baseline, runs: RUNS }));
        return 0;
    }
    print('\npower-on → live system (median of the runs), ours vs the hand-written peer setup:');
    for (const c of cases) {
        print(`  ${c.name.padEnd(16)} ours ${c.ours_s.toFixed(1).padStart(5)} s   peer ${c.peer_s.toFixed(1).padStart(5)} s   ratio ${c.ratio.toFixed(2)} ` +
            `(target ≤ ${c.target.toFixed(1)}: ${c.met ? 'met' : 'NOT met'})   runs ${c.runs.ours.join('/')} vs ${c.runs.peer.join('/')}`);
        for (const side of ['ours', 'peer'] as const)
            print(`      ${side}: ${PHASES.map(p => `${p} ${c.phases[side][p]?.toFixed(1) ?? '?'}`).join(' · ')}`);
    }
    for (const b of baseline)
        print(`  baseline: ${firmwareLabel(b.firmware)}, ${b.name}: ${b.seconds.toFixed(1)} s`);
    return 0;
}

function round1(x: number): number {
    return Math.round(x * 10) / 10;
}

system.exit(runMain(async () => {
    try {
        return await main();
    } catch (e) {
        if (interrupted())
            return interruptStatus();
        printerr(`bench-boot: ${e instanceof Error ? e.message : e}`);
        return 1;
    } finally {
        await undoAll();
        if (!interrupted()) {
            lab.teardown();
            sh(['rm', '-rf', work]);
        }
    }
}));
