// ISO files: recognise one (pure check of its first sectors) and mount it read-only (effects): a loop mount
// where the kernel has iso9660, else fuseiso (FUSE), readable by the unprivileged daemons.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';

import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import { run } from '../services/supervisor.ts';

/** The ISO 9660 primary volume descriptor: "CD001" at byte 32769 (sector 16, after the type byte). */
export function looksLikeIso(head: Uint8Array): boolean {
    const magic = [0x43, 0x44, 0x30, 0x30, 0x31];
    return head.length >= 32774 && magic.every((b, i) => head[32769 + i] === b);
}

/** Why `path` cannot be shared as an ISO file, or null when it looks fine. */
export function isoProblem(path: string): string | null {
    if (!GLib.file_test(path, GLib.FileTest.EXISTS))
        return format(_("The ISO file {path} does not exist."), { path });
    if (!GLib.file_test(path, GLib.FileTest.IS_REGULAR))
        return format(_("{path} is not a file: choose an ISO image file (.iso)."), { path });
    let head: Uint8Array;
    try {
        const stream = Gio.File.new_for_path(path).read(null);
        head = stream.read_bytes(34816, null).toArray();
        stream.close(null);
    } catch {
        return format(_("The ISO file {path} cannot be read."), { path });
    }
    return looksLikeIso(head) ? null
        : format(_("{path} is not an ISO image (no ISO 9660 file system in it). Choose the .iso file of a live CD."), { path });
}

function kernelHasIso9660(): boolean {
    try {
        const [, bytes] = GLib.file_get_contents('/proc/filesystems');
        return /\tiso9660$/m.test(new TextDecoder().decode(bytes));
    } catch {
        return false;
    }
}

export function mountIso(iso: string, mountPoint: string): void {
    if (kernelHasIso9660() || run(['modprobe', '-q', 'isofs']).status === 0 && kernelHasIso9660()) {
        const r = run(['mount', '-o', 'loop,ro', '-t', 'iso9660', iso, mountPoint]);
        if (r.status === 0)
            return;
    }
    const r = run(['fuseiso', iso, mountPoint, '-o', 'ro,allow_other']);
    if (r.status !== 0)
        throw new ShareError('NoLiveMedium', format(_("The ISO file {path} could not be mounted: {error}"), { path: iso, error: r.stderr.trim() || r.stdout.trim() }));
}

/** Unmounts a loop or FUSE mount; true when it is no longer mounted. */
export function unmount(mountPoint: string): boolean {
    if (run(['umount', mountPoint]).status === 0)
        return true;
    if (run(['fusermount', '-u', mountPoint]).status === 0)
        return true;
    return run(['umount', '-l', mountPoint]).status === 0;
}
