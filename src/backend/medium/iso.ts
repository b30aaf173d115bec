// ISO files: recognise one (a pure check of its first sectors, and whether the file can be read). Mounting it
// is medium/mounts.ts.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';

import { _, format } from '../../shared/i18n.ts';

/** The ISO 9660 primary volume descriptor: "CD001" at byte 32769 (sector 16, after the type byte). */
export function looksLikeIso(head: Uint8Array): boolean {
    const magic = [0x43, 0x44, 0x30, 0x30, 0x31];
    return head.length >= 32774 && magic.every((b, i) => head[32769 + i] === b);
}

/** Why `path` cannot be shared as an ISO file, or null when it looks fine. */
export function isoProblem(path: string, shown = path): string | null {
    if (!GLib.file_test(path, GLib.FileTest.EXISTS))
        return format(_("The ISO file {path} does not exist."), { path: shown });
    if (!GLib.file_test(path, GLib.FileTest.IS_REGULAR))
        return format(_("{path} is not a file: choose an ISO image file (.iso)."), { path: shown });
    let head: Uint8Array;
    try {
        const stream = Gio.File.new_for_path(path).read(null);
        head = stream.read_bytes(34816, null).toArray();
        stream.close(null);
    } catch {
        return format(_("The ISO file {path} cannot be read."), { path: shown });
    }
    return looksLikeIso(head) ? null
        : format(_("{path} is not an ISO image (no ISO 9660 file system in it). Choose the .iso file of a live CD."), { path: shown });
}
