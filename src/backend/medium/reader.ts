// Read-only access to the files of a medium, confined to its root. The pure inspectors and parsers see a
// medium only through the MediumReader interface; DirReader is the thin Gio layer over a real directory.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readUpTo } from '../../shared/fsutil.ts';
import { resolveInMedium } from '../../shared/paths.ts';

export type EntryType = 'file' | 'dir';

export interface DirEntry {
    name: string;
    type: EntryType;
}

export type ReadResult =
    | { ok: true; bytes: Uint8Array }
    | { ok: false; reason: 'missing' | 'too-large' | 'not-a-file' | 'outside' | 'unreadable' };

export interface MediumReader {
    /** Absolute, symlink-free path of the medium root on this machine. */
    readonly root: string;
    /** Type of a medium path after following links (links that leave the medium count as missing). */
    typeOf(path: string): EntryType | null;
    /** Entries of a directory, sorted by name; null when it is not a directory inside the medium. */
    list(dir: string): DirEntry[] | null;
    /** A file's bytes, refusing files larger than maxBytes. */
    read(path: string, maxBytes: number): ReadResult;
    /** The first `bytes` bytes of a file (fewer for a shorter file); null when it cannot be read. */
    head(path: string, bytes: number): Uint8Array | null;
}

/** Looks a medium path up segment by segment ignoring case (ISO 9660 media and FAT EFI trees vary in case). */
export function findIgnoringCase(reader: MediumReader, path: string): string | null {
    let found = '';
    for (const seg of path.split('/').filter(s => s !== '')) {
        const entries = reader.list(found);
        if (!entries)
            return null;
        const exact = entries.find(e => e.name === seg);
        const match = exact ?? entries.find(e => e.name.toLowerCase() === seg.toLowerCase());
        if (!match)
            return null;
        found = found ? `${found}/${match.name}` : match.name;
    }
    return found;
}

const MAX_LINK_HOPS = 40;

/** Resolves every symlink of an absolute host path (like realpath(3)); null when a component is missing. */
export function realPath(hostPath: string): string | null {
    let pending = hostPath.split('/').filter(s => s !== '');
    let resolved: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
        const seg = pending.shift() as string;
        if (seg === '.')
            continue;
        if (seg === '..') {
            resolved.pop();
            continue;
        }
        const candidate = `/${[...resolved, seg].join('/')}`;
        let info: Gio.FileInfo;
        try {
            info = Gio.File.new_for_path(candidate).query_info('standard::type,standard::symlink-target',
                Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        } catch {
            return null;
        }
        if (info.get_file_type() === Gio.FileType.SYMBOLIC_LINK) {
            if (++hops > MAX_LINK_HOPS)
                return null;
            const target = info.get_symlink_target() ?? '';
            if (target.startsWith('/'))
                resolved = [];
            pending = [...target.split('/').filter(s => s !== ''), ...pending];
        } else {
            resolved.push(seg);
        }
    }
    return `/${resolved.join('/')}`;
}

function isInside(root: string, path: string): boolean {
    return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/** A MediumReader over a real directory. Every access is checked to stay inside the (real) root. */
export class DirReader implements MediumReader {
    readonly root: string;
    // A reader serves one look at a read-only medium: resolved paths and listings are cached.
    private readonly hostCache = new Map<string, string | null>();
    private readonly listCache = new Map<string, DirEntry[] | null>();

    /** @param root an existing directory; throws a GLib error text when it is not one. */
    constructor(root: string) {
        const absolute = GLib.canonicalize_filename(root, GLib.get_current_dir());
        const real = realPath(absolute);
        if (real === null || !GLib.file_test(real, GLib.FileTest.IS_DIR))
            throw new Error(`not a directory: ${root}`);
        this.root = real;
    }

    /** Host path of a medium path, after links, or null when missing or outside the root. */
    private hostPath(path: string): string | null {
        const rel = resolveInMedium('', path);
        if (rel === null)
            return null;
        const cached = this.hostCache.get(rel);
        if (cached !== undefined)
            return cached;
        const real = realPath(rel === '' ? this.root : `${this.root}/${rel}`);
        const host = real !== null && isInside(this.root, real) ? real : null;
        this.hostCache.set(rel, host);
        return host;
    }

    typeOf(path: string): EntryType | null {
        const host = this.hostPath(path);
        if (host === null)
            return null;
        if (GLib.file_test(host, GLib.FileTest.IS_DIR))
            return 'dir';
        return GLib.file_test(host, GLib.FileTest.IS_REGULAR) ? 'file' : null;
    }

    list(dir: string): DirEntry[] | null {
        const key = resolveInMedium('', dir);
        if (key !== null && this.listCache.has(key))
            return this.listCache.get(key) ?? null;
        const entries = this.listUncached(dir);
        if (key !== null)
            this.listCache.set(key, entries);
        return entries;
    }

    private listUncached(dir: string): DirEntry[] | null {
        const host = this.hostPath(dir);
        if (host === null || !GLib.file_test(host, GLib.FileTest.IS_DIR))
            return null;
        const out: DirEntry[] = [];
        try {
            const enumerator = Gio.File.new_for_path(host).enumerate_children('standard::name,standard::type',
                Gio.FileQueryInfoFlags.NONE, null);
            for (let info = enumerator.next_file(null); info !== null; info = enumerator.next_file(null)) {
                const type = info.get_file_type();
                if (type === Gio.FileType.DIRECTORY)
                    out.push({ name: info.get_name(), type: 'dir' });
                else if (type === Gio.FileType.REGULAR)
                    out.push({ name: info.get_name(), type: 'file' });
            }
            enumerator.close(null);
        } catch {
            return null;
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }

    read(path: string, maxBytes: number): ReadResult {
        if (resolveInMedium('', path) === null)
            return { ok: false, reason: 'outside' };
        const host = this.hostPath(path);
        if (host === null) {
            const real = realPath(`${this.root}/${resolveInMedium('', path)}`);
            return { ok: false, reason: real !== null && !isInside(this.root, real) ? 'outside' : 'missing' };
        }
        if (!GLib.file_test(host, GLib.FileTest.IS_REGULAR))
            return { ok: false, reason: 'not-a-file' };
        const file = Gio.File.new_for_path(host);
        try {
            const size = file.query_info('standard::size', Gio.FileQueryInfoFlags.NONE, null).get_size();
            if (size > maxBytes)
                return { ok: false, reason: 'too-large' };
            const [, bytes] = file.load_contents(null);
            return bytes.length > maxBytes ? { ok: false, reason: 'too-large' } : { ok: true, bytes };
        } catch {
            return { ok: false, reason: 'unreadable' };
        }
    }

    head(path: string, bytes: number): Uint8Array | null {
        const host = resolveInMedium('', path) === null ? null : this.hostPath(path);
        if (host === null || !GLib.file_test(host, GLib.FileTest.IS_REGULAR))
            return null;
        try {
            const stream = Gio.File.new_for_path(host).read(null);
            const head = readUpTo(stream, bytes);
            stream.close(null);
            return head;
        } catch {
            return null;
        }
    }
}

/** A MediumReader over an in-memory file map (path → text); used to feed the pure engine generated input. */
export class MemoryReader implements MediumReader {
    readonly root: string;
    private readonly files = new Map<string, Uint8Array>();

    constructor(root: string, files: Record<string, string | Uint8Array>) {
        this.root = root;
        const encoder = new TextEncoder();
        for (const [path, content] of Object.entries(files)) {
            const rel = resolveInMedium('', path);
            if (rel)
                this.files.set(rel, typeof content === 'string' ? encoder.encode(content) : content);
        }
    }

    typeOf(path: string): EntryType | null {
        const rel = resolveInMedium('', path);
        if (rel === null)
            return null;
        if (this.files.has(rel))
            return 'file';
        const prefix = rel === '' ? '' : `${rel}/`;
        return [...this.files.keys()].some(k => k.startsWith(prefix)) ? 'dir' : null;
    }

    list(dir: string): DirEntry[] | null {
        if (this.typeOf(dir) !== 'dir')
            return null;
        const rel = resolveInMedium('', dir) as string;
        const prefix = rel === '' ? '' : `${rel}/`;
        const seen = new Map<string, EntryType>();
        for (const key of this.files.keys()) {
            if (!key.startsWith(prefix))
                continue;
            const rest = key.slice(prefix.length);
            const slash = rest.indexOf('/');
            seen.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'file' : 'dir');
        }
        return [...seen].map(([name, type]) => ({ name, type }))
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }

    read(path: string, maxBytes: number): ReadResult {
        const rel = resolveInMedium('', path);
        if (rel === null)
            return { ok: false, reason: 'outside' };
        const bytes = this.files.get(rel);
        if (!bytes)
            return { ok: false, reason: this.typeOf(rel) === 'dir' ? 'not-a-file' : 'missing' };
        return bytes.length > maxBytes ? { ok: false, reason: 'too-large' } : { ok: true, bytes };
    }

    head(path: string, bytes: number): Uint8Array | null {
        const rel = resolveInMedium('', path);
        const all = rel === null ? undefined : this.files.get(rel);
        return all ? all.slice(0, bytes) : null;
    }
}
