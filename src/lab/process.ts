// Process helpers of the lab (never used by the engine, which only signals a process it recorded with its
// program name and start time, or the kernel's holder of its lock): the lab kills what it started itself.
import GLib from 'gi://GLib';

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

