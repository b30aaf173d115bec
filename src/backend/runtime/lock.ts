// One owner per share, decided by the kernel: the process that runs a share holds an exclusive flock(2) on
// RUNTIME/lock for its whole life. The kernel drops the lock when that process dies, however it dies, so
// "held" means "a live owner", and nothing is guessed from process names or command lines.
//
// GJS has no flock(): the owner opens the file (a GIO stream, so the descriptor is ours and close-on-exec),
// then runs `flock -n -x 3` with that descriptor as its fd 3. flock locks belong to the open file description,
// which this process keeps open, so the lock stays after the short-lived command exits, until we close it or
// die. Everyone else asks `flock -n -E 75 FILE true` (a conflict exits 75) and, to know *who* owns, reads the
// owner's /proc/PID/fdinfo: the kernel lists the locks held through each descriptor there.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { UnixInputStream, mkdirs, readTextFile } from '../../shared/fsutil.ts';
import { run } from '../services/supervisor.ts';

// Debian 12's GLib 2.74 has g_close() in GLib and GFileDescriptorBased in Gio; the @girs types (GLib 2.89) moved
// them to GLibUnix and GioUnix.
const closeFd = (GLib as unknown as { close: (fd: number) => boolean }).close;
type FileDescriptorBased = { get_fd(): number };

const FLOCK = 'flock';
/** flock(1)'s exit status on a conflict, as we ask it to report one (-E). */
const CONFLICT = 75;

export function lockPath(dir: string): string {
    return `${dir}/lock`;
}

/** "ino: N" of one of this process's descriptors. */
function fdInode(fd: number): number | null {
    const m = /^ino:\s+(\d+)$/m.exec(readTextFile(`/proc/self/fdinfo/${fd}`) ?? '');
    return m ? Number(m[1]) : null;
}

function pathInode(path: string): number | null {
    try {
        const info = Gio.File.new_for_path(path).query_info('unix::inode', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        return Number(info.get_attribute_uint64('unix::inode'));
    } catch {
        return null;
    }
}

/** The lock a share's owner holds. */
export class OwnerLock {
    private constructor(readonly path: string, private stream: Gio.FileOutputStream | null) {}

    /**
     * Takes the lock of runtime dir `dir` without waiting; null when another process holds it. The directory
     * and the file are made when missing.
     */
    static acquire(dir: string): OwnerLock | null {
        mkdirs(dir, 0o755);
        const path = lockPath(dir);
        for (let attempt = 0; attempt < 5; attempt++) {
            const stream = Gio.File.new_for_path(path).append_to(Gio.FileCreateFlags.NONE, null);
            const fd = (stream as unknown as FileDescriptorBased).get_fd();
            const status = flockFd(fd);
            if (status !== 0) {
                stream.close(null);
                if (status === CONFLICT)
                    return null;
                throw new Error(`flock ${path}: exit status ${status}`);
            }
            // A previous owner removes the file when it stops (after undoing everything, still holding the
            // lock): a lock taken on a file that was unlinked meanwhile protects nothing, so take it again.
            if (fdInode(fd) !== null && fdInode(fd) === pathInode(path))
                return new OwnerLock(path, stream);
            stream.close(null);
        }
        throw new Error(`could not lock ${path}: it keeps being replaced`);
    }

    /** Removes the file, then lets go of the lock (the directory is left to the caller). */
    release(): void {
        if (this.stream === null)
            return;
        GLib.unlink(this.path);
        this.stream.close(null);
        this.stream = null;
    }
}

/**
 * Runs `flock -n -x 3` on our descriptor `fd` and returns its exit status. GLib spawns with descriptors
 * mapped but cannot wait synchronously, so the command prints its status and the zombie is reaped later.
 */
function flockFd(fd: number): number {
    const [, pid, stdinFd, stdoutFd, stderrFd] = GLib.spawn_async_with_pipes_and_fds(null,
        ['sh', '-c', `${FLOCK} -n -x -E ${CONFLICT} 3 2>/dev/null; echo $?`], null,
        GLib.SpawnFlags.SEARCH_PATH | GLib.SpawnFlags.DO_NOT_REAP_CHILD, null, -1, -1, -1, [fd], [3]);
    closeFd(stdinFd);
    closeFd(stderrFd);
    const out = new Gio.DataInputStream({ base_stream: new UnixInputStream({ fd: stdoutFd, close_fd: true }) });
    let line: string | null = null;
    try {
        [line] = out.read_line_utf8(null);
    } finally {
        out.close(null);
        if (pid !== null)
            GLib.child_watch_add(GLib.PRIORITY_DEFAULT, pid, () => GLib.spawn_close_pid(pid));
    }
    const status = Number.parseInt(line ?? '', 10);
    return Number.isInteger(status) ? status : 127;
}

/** Whether some process holds the lock of runtime dir `dir` (a missing file or folder: no). */
export function lockHeld(dir: string): boolean {
    const path = lockPath(dir);
    if (!GLib.file_test(path, GLib.FileTest.EXISTS))
        return false;
    return run([FLOCK, '-n', '-E', String(CONFLICT), path, 'true']).status === CONFLICT;
}

/**
 * True when process `pid` holds an exclusive lock on the lock file of `dir` through one of its descriptors
 * (the kernel's word, from /proc/PID/fdinfo): the only test before we signal another process.
 */
export function holdsLock(pid: number, dir: string): boolean {
    const ino = pathInode(lockPath(dir));
    if (ino === null || !Number.isInteger(pid) || pid <= 1)
        return false;
    let fds: string[];
    try {
        const e = Gio.File.new_for_path(`/proc/${pid}/fdinfo`).enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
        fds = [];
        for (let info = e.next_file(null); info !== null; info = e.next_file(null))
            fds.push(info.get_name());
        e.close(null);
    } catch {
        return false;
    }
    const lockLine = new RegExp(`^lock:\\s+\\d+: FLOCK\\s+ADVISORY\\s+WRITE \\d+ [0-9a-f]+:[0-9a-f]+:${ino} `, 'm');
    return fds.some(fd => lockLine.test(readTextFile(`/proc/${pid}/fdinfo/${fd}`) ?? ''));
}
