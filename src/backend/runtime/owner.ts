// A share as everyone but its owner sees it (the command line's status and stop, the helper at start-up):
// the lock says whether a live owner exists, the kernel says which process it is, the journal says what a dead
// owner left. Nothing is decided from process names or command lines, and only the lock's holder is signalled.
import GLib from 'gi://GLib';

import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import type { Client } from '../clients.ts';
import { listDir, mountsBelow, readTextFile, removeTree, writeAtomic } from '../../shared/fsutil.ts';
import { unmount } from '../medium/mounts.ts';
import type { Mode } from '../network/mode.ts';
import { run } from '../services/supervisor.ts';
import { sleep } from '../../shared/timers.ts';
import { DEFAULT_RUNTIME_DIR } from './env.ts';
import { Journal } from './journal.ts';
import { OwnerLock, holdsLock, lockHeld } from './lock.ts';

/** What a running share publishes in RUNTIME/status.json for others to read. */
export interface StatusJson {
    state: 'sharing' | 'stopped';
    pid: number | null;
    interface: string | null;
    address: string | null;
    mode: Mode | null;
    medium: string | null;
    label: string | null;
    /** The labels of the medium's bootable entries, and the one the netboot menus start by default. */
    entries: string[];
    defaultEntry: string | null;
    http: number | null;
    clientCount: number;
    clients: Client[];
    /** What happened while sharing that the user must know (share.ts), the newest last. */
    notices: string[];
    /** Which computers may start: any, or only those allowed (absent in an older version's file). */
    access?: 'any' | 'allowed';
    /**
     * The computers the running DHCP server answers: null for any (absent in an older version's file). Behind
     * the settings for the moment the DHCP server takes to start again with a new list.
     */
    answering?: string[] | null;
}

export function writeStatus(dir: string, status: StatusJson): void {
    writeAtomic(`${dir}/status.json`, `${JSON.stringify(status, null, 1)}\n`);
}

/**
 * Who owns the share in `dir`: null when nobody holds the lock; else the owner's PID, or null as `pid` while
 * the holder cannot be named yet (its journal is being written).
 */
export function lockOwner(dir = DEFAULT_RUNTIME_DIR): { pid: number | null } | null {
    if (!lockHeld(dir))
        return null;
    const pid = Journal.load(dir)?.owner ?? null;
    return { pid: pid !== null && holdsLock(pid, dir) ? pid : null };
}

/** Reads the status a running share publishes; null when nothing is shared. */
export function readStatus(dir = DEFAULT_RUNTIME_DIR): StatusJson | null {
    if (lockOwner(dir) === null)
        return null;
    try {
        return JSON.parse(readTextFile(`${dir}/status.json`) ?? 'null') as StatusJson | null;
    } catch {
        return null;
    }
}

/**
 * Removes everything in the runtime directory but the lock (anything still mounted there is ours too): the
 * last step of every replay.
 */
export function sweepRuntime(dir: string): string[] {
    const done: string[] = [];
    for (const m of mountsBelow(dir)) { // deepest first
        if (m !== dir && unmount(m))
            done.push(format(_("unmounted {path}"), { path: m }));
    }
    const left: string[] = [];
    for (const name of listDir(dir)) {
        if (name !== 'lock')
            left.push(...removeTree(`${dir}/${name}`));
    }
    if (left.length > 0)
        throw new ShareError('DaemonFailed', format(_("Could not remove {paths}: something is still mounted or in use there."), { paths: left.join(', ') }));
    return done;
}

/** Lets go of the lock and removes the (then empty) runtime directory. */
export function releaseRuntime(dir: string, lock: OwnerLock): void {
    lock.release();
    // rmdir only: if another process made a file meanwhile, the directory stays.
    GLib.rmdir(dir);
}

/**
 * Undoes what a share whose owner is gone left behind (the caller holds the lock): replays its journal, then
 * sweeps the runtime directory. Returns what was done, in words.
 */
export async function undoLeftovers(dir: string): Promise<string[]> {
    const journal = Journal.load(dir);
    const done = journal ? await journal.replay() : [];
    journal?.remove();
    return [...done, ...sweepRuntime(dir)];
}

/** Cleans up after a dead owner, if nothing else owns the share; returns what was done. */
export async function cleanupLeftovers(dir = DEFAULT_RUNTIME_DIR): Promise<string[]> {
    if (!GLib.file_test(dir, GLib.FileTest.IS_DIR))
        return [];
    const lock = OwnerLock.acquire(dir);
    if (lock === null)
        throw new ShareError('Busy', _("Another process is sharing, or starting to share, right now: stop that first."));
    try {
        return await undoLeftovers(dir);
    } finally {
        releaseRuntime(dir, lock);
    }
}

/**
 * Stops a share owned by another process: SIGTERM to the lock's holder, a wait for the lock, SIGKILL to the same
 * holder if it does not let go; then cleans up what is left (also after a dead owner).
 */
export async function stopShare(dir = DEFAULT_RUNTIME_DIR, timeoutMs = 10000): Promise<'stopped' | 'cleaned' | 'not-sharing'> {
    const owner = lockOwner(dir);
    if (owner !== null) {
        if (owner.pid === null)
            throw new ShareError('Busy', _("A share is starting right now: try again in a moment."));
        const pid = owner.pid;
        run(['kill', '-TERM', String(pid)]);
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (lockHeld(dir) && GLib.get_monotonic_time() < deadline)
            await sleep(20);
        if (lockHeld(dir) && holdsLock(pid, dir)) {
            run(['kill', '-KILL', String(pid)]);
            for (let i = 0; i < 200 && lockHeld(dir); i++)
                await sleep(10);
        }
        await cleanupLeftovers(dir);
        return 'stopped';
    }
    const had = GLib.file_test(dir, GLib.FileTest.EXISTS);
    await cleanupLeftovers(dir);
    return had ? 'cleaned' : 'not-sharing';
}
