// The jail of the daemons that serve files (nginx for HTTP, dnsmasq for TFTP): they never follow a symlink of
// the medium out of it.
//
// A medium is not trusted: a crafted ISO or folder may hold `casper/escape -> /` or `-> /etc/passwd`, which a
// server following symlinks in the host's file system would turn into the host's files on the LAN. So these
// daemons start in a mount namespace of their own (private propagation: nothing mounted there reaches the
// host), held by an anchor process that stays root (`unshare --mount … sleep infinity`; the daemons drop to
// unprivileged users, after which only CAP_SYS_PTRACE could enter their namespace through them). Once they are
// ready — programs, libraries, configuration, users and sockets loaded — the namespace's root is pivoted
// (`pivot_root` moves every process of the namespace whose root was the old root, workers included) to a small
// tmpfs that holds only the served tree and the medium, each bound read-only, nosuid, nodev, noexec at the
// path the daemons' configurations name. The old root is then detached. In there `/` is that tmpfs: an
// absolute symlink, or `..` climbing above the medium, ends inside the jail, never on the host. Links that stay
// inside the medium (Ubuntu's `ubuntu -> .`, `dists/stable -> noble`) work as before.
//
// Until the pivot the medium is not in the served tree at all (its place there is an empty folder, filled only
// in the jail): what the daemons serve in the moment between their start and the pivot is our own generated
// files, which hold no symlink.
//
// The pivot's last step (detaching the old root) runs a program after the root changed: it is reached through
// links `usr -> .old/usr`… made in the jail beforehand, which dangle once the old root is gone.
// jailScript() and the command lines are pure; confine() is the effect. The anchor is a daemon of the share
// (a journal entry); the jail lives and dies with its namespace.
import GLib from 'gi://GLib';

import { readTextFile } from '../../shared/fsutil.ts';
import { run } from './supervisor.ts';

export const UNSHARE = '/usr/bin/unshare';
export const NSENTER = '/usr/bin/nsenter';

export interface Jail {
    /** An empty folder of the host on which the jail's tmpfs is mounted (in the daemon's namespace only). */
    dir: string;
    /** Bound read-only, in order, each `from` (a host path) at `at` (an absolute path inside the jail). */
    binds: { from: string; at: string }[];
}

/** The tmpfs source name: how the jail's root is recognised in the daemon's mountinfo. */
export const JAIL_SOURCE = 'share-this-cd-jail';

/** Top-level folders the detaching program is found through, linked to the old root until it is gone. */
const TOOL_FOLDERS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc', 'proc'];

export const SLEEP = '/usr/bin/sleep';

/** The anchor: a root process that creates the file servers' mount namespace and holds it while they run. */
export function anchorArgv(): string[] {
    return [UNSHARE, '--mount', '--propagation', 'private', '--', SLEEP, 'infinity'];
}

/** A daemon's command line, started in the anchor's mount namespace (nsenter executes it: same PID). */
export function inJailArgv(anchorPid: number, argv: string[]): string[] {
    return [NSENTER, `--target=${anchorPid}`, '--mount', '--', ...argv];
}

/** A word for sh: single-quoted, any character kept. */
export function shellQuote(word: string): string {
    return `'${word.replace(/'/g, "'\\''")}'`;
}

function checkAbsolute(path: string): void {
    if (!path.startsWith('/') || path.split('/').some(c => c === '..' || c === '.') || path.includes('\0') || path.includes('\n'))
        throw new Error(`jail: not a plain absolute path: ${JSON.stringify(path)}`);
}

/**
 * The script run inside the daemon's mount namespace (nsenter) that builds the jail and pivots into it.
 * Every mount is read-only, nosuid, nodev, noexec.
 */
export function jailScript(jail: Jail): string {
    checkAbsolute(jail.dir);
    const firsts = new Set<string>();
    for (const b of jail.binds) {
        checkAbsolute(b.from);
        checkAbsolute(b.at);
        if (b.at === '/')
            throw new Error('jail: nothing is bound on the jail\'s root');
        firsts.add(b.at.split('/')[1]);
    }
    const clash = TOOL_FOLDERS.filter(f => firsts.has(f) || f === '.old');
    if (clash.length > 0)
        throw new Error(`jail: a served path starts with /${clash[0]}, which the jail needs for its last step`);
    const J = shellQuote(jail.dir);
    const flags = 'ro,nosuid,nodev,noexec';
    const lines = [
        'set -eu',
        `J=${J}`,
        `mount -t tmpfs -o size=1m,nr_inodes=1024,mode=0755,nosuid,nodev,noexec ${JAIL_SOURCE} "$J"`,
    ];
    for (const b of jail.binds) {
        const at = `"$J"${shellQuote(b.at)}`;
        lines.push(
            `mkdir -p ${at}`,
            `mount --bind ${shellQuote(b.from)} ${at}`,
            `mount -o remount,bind,${flags} ${at}`,
        );
    }
    lines.push(
        'mkdir "$J/.old"',
        `for d in ${TOOL_FOLDERS.join(' ')}; do if [ -e "/$d" ]; then ln -s ".old/$d" "$J/$d"; fi; done`,
        `mount -o remount,${flags} "$J"`,
        'cd "$J"',
        'pivot_root . .old',
        // Now "/" is the jail; umount is found through the links above, and the old root goes with it.
        'exec umount -l /.old',
    );
    return `${lines.join('\n')}\n`;
}

export function confineArgv(pid: number, jail: Jail): string[] {
    return [NSENTER, `--target=${pid}`, '--mount', '--', '/bin/sh', '-c', jailScript(jail)];
}

/**
 * Is the process's root the jail, with nothing of the host's mounts left? From its mountinfo (mount points
 * are relative to its root): the root is our tmpfs, and every other mount is a bound path or below one.
 */
export function isConfined(mountinfo: string, jail: Jail): boolean {
    let rootIsJail = false;
    for (const line of mountinfo.split('\n').filter(l => l.trim() !== '')) {
        const [before, after] = line.split(' - ');
        const mountPoint = unescapeMountinfo(before.split(' ')[4] ?? '');
        const [fstype, source] = (after ?? '').split(' ');
        if (mountPoint === '/') {
            rootIsJail = fstype === 'tmpfs' && source === JAIL_SOURCE;
            continue;
        }
        if (!jail.binds.some(b => mountPoint === b.at || mountPoint.startsWith(`${b.at}/`)))
            return false;
    }
    return rootIsJail;
}

function unescapeMountinfo(field: string): string {
    return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The mount namespace of a process (`mnt:[4026531841]`), or null when it cannot be read. */
function mountNamespace(pid: number | 'self'): string | null {
    try {
        return GLib.file_read_link(`/proc/${pid}/ns/mnt`);
    } catch {
        return null;
    }
}

/** Has the anchor `pid` made its namespace (it runs sleep now, in a namespace that is not ours)? */
export function anchorReady(pid: number): boolean {
    const ns = mountNamespace(pid);
    return readTextFile(`/proc/${pid}/comm`)?.trim() === 'sleep' && ns !== null && ns !== mountNamespace('self');
}

/**
 * Pivots the namespace of the anchor `pid` (and so every daemon in it) into the jail; throws with the reason
 * when it is not confined after. Never in our own namespace: that would pivot this process, and the system.
 */
export function confine(pid: number, jail: Jail): void {
    if (!anchorReady(pid))
        throw new Error('its namespace is not there (or is this process\'s own)');
    const r = run(confineArgv(pid, jail));
    const mountinfo = readTextFile(`/proc/${pid}/mountinfo`) ?? '';
    if (r.status !== 0 || !isConfined(mountinfo, jail))
        throw new Error(`its jail could not be made: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ') || 'mounts left'}`);
}
