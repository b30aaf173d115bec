// A boot storm: several lab clients (qemu, TCG) switched on at once boot the same real live image from one share,
// each to its `login:` prompt. Measures what a room of thin clients costs the sharing machine: each client's
// time to its login prompt and to the tracker's "up", the CPU the share's processes used (the engine and the
// daemons it started, not the emulated clients), each daemon's memory (PSS, the most seen), and the bytes the
// medium's NFS export sent. Used by the storm spec (test/lab/real.spec.ts) and `npm run bench:storm`.
import GLib from 'gi://GLib';

import { readStatus } from '../backend/runtime/owner.ts';
import { sleep } from '../shared/timers.ts';
import { type LabNet, sh } from './net.ts';
import { descendants, procTimes } from './process.ts';
import { LabShare, READY } from './share.ts';
import { type Firmware, LabVm } from './vm.ts';

/**
 * The login prompt of a console live system (`debian login:`), the end of a boot to the console. The kernel may
 * write to the same console right after it, on the prompt's line (seen in CI: `debian login: [  126.354606]
 * clocksource: timekeeping watchdog…`).
 */
export const LOGIN_PROMPT = /^\S+ login:(\s|$)/;

export interface StormClient {
    name: string;
    firmware: Firmware;
    mac: string;
    /** Seconds from power-on to `login:` on its console; null when it never came. */
    loginS: number | null;
    /** Seconds from power-on until the engine said it was up; null when it never did. */
    upS: number | null;
    /** Bytes of the medium it read over NFS (the engine's count). */
    nfsBytes: number;
    /** Its last console lines, when it did not reach `login:`. */
    lastLines: string[];
}

export interface StormResult {
    clients: StormClient[];
    /** From the first power-on to the last login prompt (s). */
    wallS: number;
    /** CPU time of the share's processes during the storm (s), and as a share of one core (%). */
    serverCpuS: number;
    serverCpuPercent: number;
    /** The most PSS seen of each process name of the share (KiB): share-this-cd (gjs), dnsmasq, nginx, ganesha.nfsd… */
    pssKiB: Record<string, number>;
    /** Bytes the NFS server sent, summed over the clients (the engine's count, from the TCP counters). */
    nfsBytes: number;
    /** The share's own line: mode, HTTP. */
    shareLine: string;
}

export interface StormOptions {
    /** The command-line bundle (build/share-this-cd.js). */
    cli: string;
    lab: LabNet;
    /** Arguments of `share-this-cd start` (the medium…). */
    args: string[];
    firmwares: Firmware[];
    workDir: string;
    timeoutMs: number;
    /** How long after the last `login:` to go on waiting for the engine to call every client up (s). */
    upWaitS: number;
    memoryMiB?: number;
    progress?: (line: string) => void;
}

function pssKiB(pid: number): number {
    try {
        const text = new TextDecoder().decode(GLib.file_get_contents(`/proc/${pid}/smaps_rollup`)[1]);
        return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    } catch {
        return 0;
    }
}

/** The name a process of the share is reported under (gjs runs the engine). */
function processName(comm: string): string {
    return comm === 'gjs' || comm === 'gjs-console' ? 'share-this-cd' : comm;
}

/** The engine's view of its clients, from the status file it publishes (what `status --json` prints). */
function engineStatus(): { mac: string | null; stage: string; nfsBytes: number }[] {
    return readStatus()?.clients ?? [];
}

/** Runs the storm on a lab network set up with `firmwares.length` taps; tears nothing down but its clients and share. */
export async function bootStorm(o: StormOptions): Promise<StormResult> {
    const progress = o.progress ?? (() => {});
    const share = new LabShare(o.cli, o.lab.srv, o.args, { SHARE_THIS_CD_GONE_AFTER: '4' });
    const vms: LabVm[] = [];
    try {
        const shareLine = await share.waitFor(READY, 60000);
        const ticksPerS = Number(sh(['getconf', 'CLK_TCK']).stdout.trim()) || 100;
        // The engine's own time and that of the commands it ran and reaped (ss, ip), and its daemons'. (Ticks of
        // a daemon that ended during the storm are lost with it; the share's daemons live throughout.)
        const cpuTicks = (): number => {
            const engine = procTimes(share.pid);
            return (engine === null ? 0 : engine.own + engine.children) + [...descendants(share.pid).values()].reduce((sum, t) => sum + t.own, 0);
        };
        const cpuBefore = cpuTicks();
        const peakPss: Record<string, number> = {};
        const upAt = new Map<string, number>();
        const bytes = new Map<string, number>();
        const t0 = GLib.get_monotonic_time();
        o.firmwares.forEach((firmware, i) => {
            const vm = new LabVm({ name: `storm-${i + 1}-${firmware}`, firmware, workDir: o.workDir, netns: o.lab.srv, tap: `tap${i}`,
                mac: `52:54:00:57:0a:${(0x10 + i).toString(16)}`, memoryMiB: o.memoryMiB ?? 1536 });
            vms.push(vm);
            vm.start();
        });
        progress(`${vms.length} clients switched on: ${o.firmwares.join(', ')}`);
        const loginAt = new Map<LabVm, number>();
        const deadline = t0 + o.timeoutMs * 1000;
        let lastStatus = 0;
        while (GLib.get_monotonic_time() < deadline) {
            for (const vm of vms) {
                if (!loginAt.has(vm) && vm.firstSeen(LOGIN_PROMPT) !== null) {
                    loginAt.set(vm, vm.firstSeen(LOGIN_PROMPT) as number);
                    progress(`${vm.options.name}: login: after ${(loginAt.get(vm) as number).toFixed(1)} s`);
                }
            }
            // Every 2 s: the engine's view (up, bytes) and the share's memory.
            if (GLib.get_monotonic_time() - lastStatus > 2e6) {
                lastStatus = GLib.get_monotonic_time();
                const processes: [number, string][] = [[share.pid, 'gjs'],
                    ...[...descendants(share.pid)].map(([key, t]): [number, string] => [Number(key.split('/')[0]), t.comm])];
                for (const [pid, comm] of processes) {
                    const name = processName(comm);
                    // Several processes of one name (nginx's master and workers): their sum, below.
                    peakPss[`${name}@${pid}`] = Math.max(peakPss[`${name}@${pid}`] ?? 0, pssKiB(pid));
                }
                const now = (GLib.get_monotonic_time() - t0) / 1e6;
                for (const c of engineStatus()) {
                    if (c.mac === null)
                        continue;
                    if (c.stage === 'up' && !upAt.has(c.mac))
                        upAt.set(c.mac, now);
                    bytes.set(c.mac, c.nfsBytes ?? 0);
                }
            }
            const allUp = vms.every(v => upAt.has(v.options.mac as string));
            const sinceLastLogin = (GLib.get_monotonic_time() - t0) / 1e6 - Math.max(0, ...loginAt.values());
            if (loginAt.size === vms.length && (allUp || sinceLastLogin > o.upWaitS) || vms.every(v => !v.running))
                break;
            await sleep(250);
        }
        const wallS = Math.max(0, ...loginAt.values());
        const serverCpuS = (cpuTicks() - cpuBefore) / ticksPerS;
        const pss: Record<string, number> = {};
        for (const [key, kib] of Object.entries(peakPss)) {
            const name = key.slice(0, key.lastIndexOf('@'));
            pss[name] = (pss[name] ?? 0) + kib;
        }
        const clients = vms.map((vm): StormClient => ({
            name: vm.options.name, firmware: vm.options.firmware, mac: vm.options.mac as string,
            loginS: loginAt.get(vm) ?? null, upS: upAt.get(vm.options.mac as string) ?? null,
            nfsBytes: bytes.get(vm.options.mac as string) ?? 0, lastLines: loginAt.has(vm) ? [] : vm.lastLines(),
        }));
        const elapsed = (GLib.get_monotonic_time() - t0) / 1e6;
        return {
            clients, wallS, serverCpuS, serverCpuPercent: elapsed > 0 ? 100 * serverCpuS / elapsed : 0, pssKiB: pss,
            nfsBytes: clients.reduce((sum, c) => sum + c.nfsBytes, 0), shareLine,
        };
    } finally {
        for (const vm of vms) {
            await vm.kill();
            vm.removeFiles();
        }
        share.signal(2);
        await share.ended(30000).catch(() => 0);
    }
}

/** The storm's figures for people (README, the spec's output). */
export function stormReport(r: StormResult): string[] {
    const mib = (b: number): string => `${(b / (1024 * 1024)).toFixed(0)} MiB`;
    return [
        `${r.clients.length} clients at once: all at login: after ${r.wallS.toFixed(0)} s; ${r.shareLine}`,
        ...r.clients.map(c => `  ${c.name.padEnd(22)} login: ${c.loginS === null ? 'never' : `${c.loginS.toFixed(1)} s`}` +
            `, up ${c.upS === null ? 'not (yet)' : `${c.upS.toFixed(0)} s`}, NFS ${mib(c.nfsBytes)}`),
        `  the share's CPU: ${r.serverCpuS.toFixed(1)} s (${r.serverCpuPercent.toFixed(1)} % of one core over the storm)`,
        `  the share's memory (PSS, most seen): ${Object.entries(r.pssKiB).sort().map(([n, k]) => `${n} ${(k / 1024).toFixed(1)} MiB`).join(', ')}`,
        `  NFS sent: ${mib(r.nfsBytes)} in all`,
    ];
}
