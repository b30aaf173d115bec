// Process helpers of the lab (never used by the engine, which only signals a process it recorded with its
// program name and start time, or the kernel's holder of its lock): the lab kills what it started itself.
import GLib from 'gi://GLib';

import { listDir, readTextFile } from '../shared/fsutil.ts';
import { run } from '../backend/services/supervisor.ts';
import { sleep } from '../shared/timers.ts';

/** True when `pid` runs a program whose name is `comm` (any program when null). */
export function isRunning(pid: number, comm: string | null = null): boolean {
    if (!Number.isInteger(pid) || pid <= 1)
        return false;
    try {
        const [ok, bytes] = GLib.file_get_contents(`/proc/${pid}/stat`);
        if (!ok)
            return false;
        const stat = new TextDecoder().decode(bytes);
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state === 'Z' || state === 'X')
            return false;
        return comm === null || name === comm.slice(0, 15);
    } catch {
        return false;
    }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Resolves when the process is gone. */
export async function killPid(pid: number, comm: string | null, graceMs = 2000): Promise<void> {
    if (!isRunning(pid, comm))
        return;
    try {
        run(['kill', '-TERM', String(pid)]);
    } catch { /* gone */ }
    const deadline = GLib.get_monotonic_time() + graceMs * 1000;
    while (isRunning(pid, comm) && GLib.get_monotonic_time() < deadline)
        await sleep(20);
    if (isRunning(pid, comm)) {
        run(['kill', '-KILL', String(pid)]);
        for (let i = 0; i < 100 && isRunning(pid, comm); i++)
            await sleep(10);
    }
}

/** A process's name and CPU times from /proc/PID/stat (ticks: getconf CLK_TCK a second). */
export interface ProcTimes {
    comm: string;
    ppid: number;
    /** utime + stime, ticks. */
    own: number;
    /** cutime + cstime (reaped children), ticks. */
    children: number;
    starttime: number;
}

export function procTimes(pid: number): ProcTimes | null {
    const stat = readTextFile(`/proc/${pid}/stat`);
    if (stat === null)
        return null;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]),
        children: Number(f[13]) + Number(f[14]), starttime: Number(f[19]) };
}

/** The descendants of `root` (not itself), keyed "pid/starttime" so a reused PID is not taken for another. */
export function descendants(root: number): Map<string, ProcTimes> {
    const all = new Map<number, ProcTimes>();
    for (const name of listDir('/proc')) {
        if (!/^\d+$/.test(name))
            continue;
        const t = procTimes(Number(name));
        if (t !== null)
            all.set(Number(name), t);
    }
    const kids = new Map<number, number[]>();
    for (const [pid, t] of all)
        kids.set(t.ppid, [...kids.get(t.ppid) ?? [], pid]);
    const out = new Map<string, ProcTimes>();
    const todo = [...kids.get(root) ?? []];
    while (todo.length > 0) {
        const pid = todo.pop() as number;
        const t = all.get(pid) as ProcTimes;
        out.set(`${pid}/${t.starttime}`, t);
        todo.push(...kids.get(pid) ?? []);
    }
    return out;
}
