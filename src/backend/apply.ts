// Carrying out a ShareSpec's files and export (effects): the medium's read-only alias (a mount: a journal
// entry), the runtime tree (written aside, then renamed into place), the HTTP access log, the daemons' state
// folders, the kernel NFS export (a journal entry); and the check that the ports the daemons need are free.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { ShareError } from '../shared/errors.ts';
import { _, format } from '../shared/i18n.ts';
import { chmod, copyFile, mkdirs, removeTree, rename, writeAtomic } from '../shared/fsutil.ts';
import { GRUB_MKIMAGE_MODULES, type ShareSpec, type TreeItem } from './plan.ts';
import type { Journal } from './runtime/journal.ts';
import { MEDIUM_MOUNT_OPTIONS, bindReadOnly, mountWay } from './medium/mounts.ts';
import { run, runAsync, tcpConnects } from './services/supervisor.ts';

/** The alias mount, the tree and the daemons' files, all under the runtime directory. */
export function writeFiles(spec: ShareSpec, journal: Journal): void {
    const dir = spec.runtimeDir;
    if (spec.bindAlias !== null) {
        const alias = spec.bindAlias;
        mkdirs(alias);
        journal.make({ kind: 'mount', path: alias }, () => bindReadOnly(mountWay(), spec.medium.root, alias));
    }
    writeTree(spec);
    // The daemons' jails are mounted on it, each in its own namespace (services/jail.ts).
    mkdirs(`${dir}/jail`, 0o755);
    if (spec.httpAccessLog !== null) {
        writeAtomic(spec.httpAccessLog, '');
        mkdirs(`${dir}/nginx`, 0o755);
    }
    mkdirs(`${dir}/ganesha`, 0o700);
}

/** Where the medium is packed for NFS (a disk, not memory, on most systems; private to the helper under systemd). */
export const PACK_PARENT = '/var/tmp';

/**
 * The medium packed for nfs-ganesha when it is not a whole file system (plan.ts NfsPack): a squashfs image of
 * it (uncompressed: a live medium's big files are compressed already) in a folder of ours, mounted read-only
 * (a loop mount, else squashfuse: FUSE's handles are its own too).
 * Refused, with the space it needs, when the disk has not room for a copy.
 */
export async function packForNfs(spec: ShareSpec, journal: Journal, progress: (text: string) => void): Promise<void> {
    const pack = spec.nfsPack;
    if (pack === null)
        return;
    const du = await runAsync(['du', '-s', '-B1', '--apparent-size', pack.from]);
    const size = Number.parseInt(du.stdout, 10);
    const free = freeBytes(PACK_PARENT);
    if (!Number.isFinite(size) || free === null || free < size * 1.05 + 64 * 2 ** 20) {
        throw new ShareError('DaemonFailed', format(_("{dir} is a folder of a larger disk: NFS can serve it only as a copy of its own (else computers on the network could reach other files of that disk), and {parent} has not room for it ({need} MB needed, {free} MB free). Share the ISO file or the USB stick itself, or make room."),
            { dir: spec.medium.shown, parent: PACK_PARENT, need: Math.ceil((size * 1.05) / 2 ** 20) || '?', free: free === null ? '?' : Math.floor(free / 2 ** 20) }));
    }
    const scratch = makeScratchFolder(PACK_PARENT);
    journal.record({ kind: 'scratch', path: scratch });
    const image = `${scratch}/${GLib.path_get_basename(pack.image)}`;
    progress(format(_("Copying the medium into a file system of its own for NFS ({size} MB)…"), { size: Math.ceil(size / 2 ** 20) }));
    const made = await runAsync(['mksquashfs', pack.from, image, '-noappend', '-no-progress', '-quiet', '-noI', '-noD', '-noF', '-noX']);
    if (made.status !== 0)
        throw new ShareError('DaemonFailed', format(_("The medium could not be copied for NFS: {error}"), { error: (made.stderr.trim() || made.stdout.trim()).split('\n').slice(-3).join(' ') }));
    mkdirs(pack.at);
    journal.make({ kind: 'mount', path: pack.at }, () => {
        // A loop mount, else FUSE (squashfuse): a container (or a sandbox) may have no loop device.
        const loop = run(['mount', '-t', 'squashfs', '-o', `loop,${MEDIUM_MOUNT_OPTIONS}`, image, pack.at]);
        if (loop.status === 0)
            return;
        const fuse = run(['squashfuse', '-o', `${MEDIUM_MOUNT_OPTIONS},allow_other`, image, pack.at]);
        if (fuse.status !== 0)
            throw new ShareError('DaemonFailed', format(_("The copy of the medium for NFS could not be mounted: {error}"), { error: `${loop.stderr.trim()} ${fuse.stderr.trim()}`.trim() }));
    });
}

/** Free bytes on the file system of `path`, or null. */
function freeBytes(path: string): number | null {
    try {
        return Number(Gio.File.new_for_path(path).query_filesystem_info('filesystem::free', null).get_attribute_uint64('filesystem::free'));
    } catch {
        return null;
    }
}

/** A new folder only root may enter, under `parent` (a world-writable one: never a name someone else made). */
function makeScratchFolder(parent: string): string {
    for (let attempt = 0; ; attempt++) {
        const path = `${parent}/share-this-cd-${GLib.uuid_string_random().slice(0, 8)}`;
        try {
            Gio.File.new_for_path(path).make_directory(null); // fails on anything already there, a link too
            chmod(path, 0o700);
            return path;
        } catch (e) {
            if (attempt >= 4)
                throw new ShareError('DaemonFailed', format(_("No folder could be made in {parent}: {error}"), { parent, error: (e as Error).message }));
        }
    }
}

/** The kernel NFS export, where kernel nfsd serves (ganesha exports through its own config). */
export function exportNfs(spec: ShareSpec, journal: Journal): void {
    const { exportArgv, unexportArgv } = spec.nfs;
    if (exportArgv === null || unexportArgv === null)
        return;
    journal.make({ kind: 'export', path: spec.nfs.spec.path, unexport: unexportArgv }, () => {
        const r = run(exportArgv);
        if (r.status !== 0)
            throw new ShareError('DaemonFailed', format(_("The NFS export failed: {error}"), { error: r.stderr.trim() }));
    });
}

/** Refuses to start when a TCP/UDP port a daemon needs is already served by another program. */
export async function checkPortsFree(spec: ShareSpec): Promise<void> {
    for (const d of spec.daemons) {
        for (const p of d.ports) {
            if (p.protocol === 'tcp' && await tcpConnects(p.address, p.port, 200))
                throw new ShareError('DaemonFailed', format(_("Port {port} ({what}) is already used by another program on this computer: stop it, or share with --no-http if it is port 80."), { port: p.port, what: p.what }));
            if (p.protocol === 'udp' && !udpPortFree(p.address, p.port))
                throw new ShareError('DaemonFailed', format(_("Port {port} ({what}) is already used by another program on this computer: stop it, then try again."), { port: p.port, what: p.what }));
        }
    }
}

function udpPortFree(address: string, port: number): boolean {
    try {
        const s = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        s.bind(Gio.InetSocketAddress.new_from_string(address, port) as Gio.InetSocketAddress, false);
        s.close();
        return true;
    } catch {
        return false;
    }
}

/** The TFTP/HTTP tree, written beside its place and renamed into it (daemons never see half of it). */
function writeTree(spec: ShareSpec): void {
    const tmp = `${spec.tftpRoot}.new`;
    removeTree(tmp);
    mkdirs(tmp);
    for (const item of spec.tree)
        writeItem(item, `${tmp}/${item.path}`);
    chmod(tmp, 0o755);
    rename(tmp, spec.tftpRoot);
}

/**
 * Items of the tree while it is served (a change of mode: share.ts), each written beside its place and renamed
 * over it. The tree's folder itself stays: the file servers' jails hold it by a bind mount.
 */
export function updateTree(spec: ShareSpec, items: TreeItem[]): void {
    for (const item of items) {
        const path = `${spec.tftpRoot}/${item.path}`;
        if (item.kind === 'dir') {
            mkdirs(path, 0o755);
            continue;
        }
        writeItem(item, `${path}.new`);
        rename(`${path}.new`, path);
    }
}

function writeItem(item: TreeItem, path: string): void {
    mkdirs(GLib.path_get_dirname(path));
    switch (item.kind) {
    case 'text':
        writeAtomic(path, item.text);
        break;
    case 'copy':
        copyFile(item.from, path);
        break;
    case 'dir':
        mkdirs(path, 0o755);
        break;
    case 'grub-mkimage': {
        const r = run([item.mkimage, '-O', item.target, '-p', item.prefix, '-o', path, ...GRUB_MKIMAGE_MODULES]);
        if (r.status !== 0)
            throw new Error(`grub-mkimage: ${r.stderr.trim()}`);
        chmod(path, 0o644);
        break;
    }
    }
}
