// File-system effects: atomic writes, a removal that never crosses into another file system (the medium may be
// mounted inside the runtime tree), reading a stream's first bytes.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

// Debian 12's GLib 2.74 has Gio.UnixInputStream; the @girs types (GLib 2.89) moved it to GioUnix.
type UnixInputStreamCtor = new (props: { fd: number; close_fd: boolean }) => Gio.InputStream;
export const UnixInputStream = (Gio as unknown as { UnixInputStream: UnixInputStreamCtor }).UnixInputStream;

export function mkdirs(path: string, mode = 0o755): void {
    if (GLib.mkdir_with_parents(path, mode) !== 0)
        throw new Error(`cannot create ${path}`);
}

/** chmod(2) (GLib.chmod is not introspectable). */
export function chmod(path: string, mode: number): void {
    Gio.File.new_for_path(path).set_attribute_uint32('unix::mode', mode, Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
}

/** rename(2): atomic within a file system (GLib.rename is not introspectable). */
export function rename(from: string, to: string): void {
    Gio.File.new_for_path(from).move(Gio.File.new_for_path(to), Gio.FileCopyFlags.OVERWRITE | Gio.FileCopyFlags.NO_FALLBACK_FOR_MOVE, null, null);
}

/** Writes a file atomically (temporary file + rename), world-readable unless `mode` says otherwise. */
export function writeAtomic(path: string, text: string, mode = 0o644): void {
    const tmp = `${path}.tmp-${GLib.random_int()}`;
    GLib.file_set_contents(tmp, new TextEncoder().encode(text));
    chmod(tmp, mode);
    try {
        rename(tmp, path);
    } catch (e) {
        Gio.File.new_for_path(tmp).delete(null);
        throw e;
    }
}

export function readTextFile(path: string): string | null {
    try {
        const [ok, bytes] = GLib.file_get_contents(path);
        return ok ? new TextDecoder().decode(bytes) : null;
    } catch {
        return null;
    }
}

export function copyFile(from: string, to: string, mode = 0o644): void {
    Gio.File.new_for_path(from).copy(Gio.File.new_for_path(to), Gio.FileCopyFlags.OVERWRITE, null, null);
    chmod(to, mode);
}

export function symlink(target: string, path: string): void {
    Gio.File.new_for_path(path).make_symbolic_link(target, null);
}

/** True when every directory on the way to `path` lets other users through (the daemons run as nobody). */
export function traversableByOthers(path: string): boolean {
    let dir = path;
    for (;;) {
        try {
            const mode = Gio.File.new_for_path(dir).query_info('unix::mode', Gio.FileQueryInfoFlags.NONE, null).get_attribute_uint32('unix::mode');
            if ((mode & 0o001) === 0)
                return false;
        } catch {
            return false;
        }
        if (dir === '/' || dir === '')
            return true;
        dir = GLib.path_get_dirname(dir);
    }
}

/** A path as /proc/self/mounts and mountinfo write it (space, tab, newline, backslash as octal escapes). */
function unescapeMountPath(m: string): string {
    return m.replace(/\\([0-7]{3})/g, (_x, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mounts). */
export function mountsBelow(dir: string): string[] {
    const text = readTextFile('/proc/self/mounts') ?? '';
    const points = text.split('\n').map(l => l.split(' ')[1]).filter((m): m is string => !!m)
        .map(unescapeMountPath)
        .filter(m => m === dir || m.startsWith(`${dir}/`));
    return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Of a mountinfo text (/proc/self/mountinfo): which folder of its file system the mount on `path` shows ("/"
 * for a whole file system, the folder for a bind mount of one), or null when nothing is mounted on `path`. The
 * last mount on a path is the one seen there.
 */
export function mountRootAt(mountinfo: string, path: string): string | null {
    let root: string | null = null;
    for (const line of mountinfo.split('\n')) {
        const fields = line.split(' ');
        if (fields.length > 4 && unescapeMountPath(fields[4]) === path)
            root = unescapeMountPath(fields[3]);
    }
    return root;
}

/** The names in a directory (empty when it cannot be read). */
export function listDir(path: string): string[] {
    const names: string[] = [];
    try {
        const children = Gio.File.new_for_path(path).enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        for (let child = children.next_file(null); child !== null; child = children.next_file(null))
            names.push(child.get_name());
        children.close(null);
    } catch {
        return [];
    }
    return names;
}

/**
 * Removes a tree without following symlinks and without entering another file system: a directory on a
 * different device (a mount point) is left alone and reported.
 */
export function removeTree(path: string): string[] {
    const left: string[] = [];
    const root = Gio.File.new_for_path(path);
    let rootDevice: number;
    try {
        rootDevice = root.query_info('unix::device', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null).get_attribute_uint32('unix::device');
    } catch {
        return left;
    }
    // A bind mount from the same file system has the same device number: skip known mount points too.
    const mounts = new Set(mountsBelow(path));
    const walk = (file: Gio.File): void => {
        const info = file.query_info('standard::type,unix::device', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        if (info.get_file_type() === Gio.FileType.DIRECTORY) {
            if (info.get_attribute_uint32('unix::device') !== rootDevice || (mounts.has(file.get_path() as string) && file.get_path() !== path)) {
                left.push(file.get_path() as string);
                return;
            }
            const children = file.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
            for (let child = children.next_file(null); child !== null; child = children.next_file(null))
                walk(file.get_child(child.get_name()));
            children.close(null);
        }
        try {
            file.delete(null);
        } catch {
            left.push(file.get_path() as string);
        }
    };
    walk(root);
    return left;
}

/**
 * Reads up to `want` bytes from a stream (fewer at its end). A stream that fails midway (a converter whose input
 * was cut off) gives what it gave until then.
 */
export function readUpTo(stream: Gio.InputStream, want: number): Uint8Array {
    const chunks: Uint8Array[] = [];
    let got = 0;
    try {
        while (got < want) {
            const chunk = stream.read_bytes(want - got, null).toArray();
            if (chunk.length === 0)
                break;
            chunks.push(chunk);
            got += chunk.length;
        }
    } catch {
        // what came out so far
    }
    const out = new Uint8Array(got);
    let at = 0;
    for (const c of chunks) {
        out.set(c, at);
        at += c.length;
    }
    return out;
}
