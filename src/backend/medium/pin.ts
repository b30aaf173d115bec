// One resolution of the path a user named (effects). The helper runs as root, the user may not: what is shared
// must be exactly what that user could open, at the moment it was checked. So the path is opened once, by a
// small process running as that user (`setpriv`), which holds it open on descriptor 3 while the share mounts it;
// everything after that goes through the open file (`/proc/PID/fd/3`: the kernel follows that link to the very
// folder or file that was opened, never to the path again) or through a mount made from it. A symbolic link
// swapped after the open changes nothing; a path the user cannot open is never opened as root.
//
// The holder reads its standard input and exits at its end: when the helper lets go of it, or dies, it is gone.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { ShareError } from '../../shared/errors.ts';
import { run } from '../services/supervisor.ts';
import { after } from '../../shared/timers.ts';

/** A path its user may not open (the helper answers its caller AccessDenied). */
export class PinDenied extends ShareError {
    constructor(message: string) {
        super('NoLiveMedium', message);
    }
}

/** This process's user. */
export function ownUid(): number {
    return new Gio.Credentials().get_unix_user();
}

export type PinKind = 'dir' | 'file';

export type PinProblem = 'missing' | 'denied' | 'not-dir' | 'not-file' | 'timeout';

/** What the kernel calls the object: its file system's device and its inode number. */
export interface FileIdentity {
    device: number;
    inode: number;
}

export interface Pinned {
    /** The path as the user named it (for the user's eyes only: never opened again). */
    readonly path: string;
    readonly kind: PinKind;
    /** A path the kernel resolves to the opened object itself. */
    readonly handle: string;
    readonly identity: FileIdentity;
    release(): void;
}

/**
 * The holder's script, run with the user's effective ids (root stays its real id): $1 the path, $2 the kind.
 * Exit 2: nothing there (or a link to nothing); 13: the user may not open it (or, a folder, not enter it);
 * 20/21: not a folder / not a regular file. The tests after the open look at descriptor 3 (what was opened),
 * not at the path. Once open, the holder takes back root's effective ids: the helper reaches /proc/PID/fd/3
 * of a process of its own user only (another user's would need CAP_SYS_PTRACE). Prints "ok".
 */
export const HOLDER_SCRIPT = [
    // (`command`: a failed redirection of a plain `exec` would end the shell before it says why)
    'command exec 3<"$1" 2>/dev/null || { [ -e "$1" ] && exit 13; exit 2; }',
    'if [ "$2" = dir ]; then [ -d /proc/self/fd/3 ] || exit 20; [ -x /proc/self/fd/3 ] || exit 13; fi',
    'if [ "$2" = file ]; then [ -f /proc/self/fd/3 ] || exit 21; fi',
    'exec setpriv --euid=0 --egid=0 --keep-groups sh -c \'echo ok; read -r _\'',
].join('\n');

const PROBLEM_OF_STATUS: Record<number, PinProblem> = { 2: 'missing', 13: 'denied', 20: 'not-dir', 21: 'not-file' };

/**
 * `setpriv` arguments that give a root process user `uid`'s effective ids (user, primary group, groups) and
 * keep root as its real user; `sh -p` keeps them (a shell started with other effective ids than its real
 * ones drops them otherwise).
 */
export function asUserArgv(uid: number): string[] {
    const passwd = run(['getent', 'passwd', String(uid)]).stdout.split(':');
    const gid = passwd.length > 3 ? passwd[3] : String(uid);
    const groups = passwd.length > 3 ? run(['id', '-G', String(uid)]).stdout.trim().split(/\s+/).filter(g => /^\d+$/.test(g)) : [];
    return ['setpriv', `--euid=${uid}`, `--egid=${gid}`, ...groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups']];
}

/** The device and inode of what `path` resolves to (following links), or null. */
export function identityOf(path: string): FileIdentity | null {
    try {
        const info = Gio.File.new_for_path(path).query_info('unix::device,unix::inode', Gio.FileQueryInfoFlags.NONE, null);
        return { device: info.get_attribute_uint32('unix::device'), inode: Number(info.get_attribute_uint64('unix::inode')) };
    } catch {
        return null;
    }
}

export function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
    return a !== null && b !== null && a.device === b.device && a.inode === b.inode;
}

/**
 * Opens `path` as user `uid` and holds it open. A path that cannot be opened in `timeoutMs` (a FIFO named as
 * an ISO file, a hung network mount) is given up.
 */
export function pinPath(uid: number, path: string, kind: PinKind, timeoutMs = 10000): Promise<Pinned | PinProblem> {
    let proc: Gio.Subprocess;
    try {
        proc = Gio.Subprocess.new([...asUserArgv(uid), 'sh', '-p', '-c', HOLDER_SCRIPT, 'sh', path, kind],
            Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_SILENCE);
    } catch {
        return Promise.resolve('denied');
    }
    const stdin = proc.get_stdin_pipe();
    const release = (): void => {
        try {
            stdin?.close(null);
        } catch { /* already closed */ }
        proc.force_exit();
        proc.wait_async(null, null);
    };
    return new Promise(resolve => {
        let settled = false;
        const cancelTimer = after(timeoutMs, () => {
            if (!settled) {
                settled = true;
                release();
                resolve('timeout');
            }
        });
        const lines = new Gio.DataInputStream({ base_stream: proc.get_stdout_pipe() as Gio.InputStream, close_base_stream: true });
        lines.read_line_async(GLib.PRIORITY_DEFAULT, null, (_source, result) => {
            if (settled)
                return;
            settled = true;
            cancelTimer();
            let line = '';
            try {
                line = new TextDecoder().decode(lines.read_line_finish(result)[0] ?? new Uint8Array());
            } catch { /* no line: the holder ended */ }
            if (line === 'ok') {
                const pid = proc.get_identifier();
                const handle = `/proc/${pid}/fd/3`;
                const identity = pid === null ? null : identityOf(handle);
                if (identity !== null) {
                    resolve({ path, kind, handle, identity, release });
                    return;
                }
                release();
                resolve('missing');
                return;
            }
            proc.wait_async(null, (_p, waited) => {
                try {
                    proc.wait_finish(waited);
                } catch { /* ended anyway */ }
                const status = proc.get_if_exited() ? proc.get_exit_status() : -1;
                resolve(PROBLEM_OF_STATUS[status] ?? 'denied');
            });
        });
    });
}
