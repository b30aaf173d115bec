// The mounts a share makes (effects): an ISO file, and the medium's read-only alias. Each is a journal entry.
//
// Under systemd the helper runs in a mount namespace of its own (its unit's sandbox, ProtectSystem=strict…).
// A mount it made there would be seen by the daemons it starts (nfs-ganesha) but not by the kernel's nfsd,
// whose rpc.mountd resolves exported paths in the host's namespace, and it would vanish with a killed helper
// while its export stayed. So under systemd a mount is asked of systemd (`systemd-mount`: a transient mount
// unit that PID 1 mounts in the host's namespace, which propagates into the helper's) and undone with
// `systemd-umount`. Elsewhere (root's `start` in a terminal, the lab) the process mounts by itself.
import GLib from 'gi://GLib';

import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import { mountsBelow } from '../../shared/fsutil.ts';
import type { Journal } from '../runtime/journal.ts';
import { run } from '../services/supervisor.ts';
import { type FileIdentity, type Pinned, identityOf, sameIdentity } from './pin.ts';

export type MountWay = 'self' | 'systemd';

/** This system was booted with systemd, and has its mount tools. */
function systemdMounts(): boolean {
    return GLib.file_test('/run/systemd/system', GLib.FileTest.IS_DIR) && GLib.find_program_in_path('systemd-mount') !== null;
}

/** 'systemd' for the helper run by systemd (its unit sets INVOCATION_ID) on a system booted with systemd. */
export function mountWay(): MountWay {
    return GLib.getenv('INVOCATION_ID') !== null && systemdMounts() ? 'systemd' : 'self';
}

/** Read-only, and nothing on it runs or acts as a device: the medium is data to serve. */
export const MEDIUM_MOUNT_OPTIONS = 'ro,nosuid,nodev,noexec';

/** `systemd-mount` of WHAT on WHERE: waits for the mount job; the unit is collected once unmounted. */
export function systemdMountArgv(what: string, where: string, options: string, type: string | null): string[] {
    return ['systemd-mount', '--no-ask-password', '--collect', `--options=${options}`,
        ...type === null ? [] : [`--type=${type}`], '--description=Share This CD: the shared medium', what, where];
}

function isMounted(path: string): boolean {
    return mountsBelow(path).includes(path);
}

/** Asks systemd for the mount; false (and nothing left) when it could not be made or is not seen here. */
function mountBySystemd(what: string, where: string, options: string, type: string | null): boolean {
    if (run(systemdMountArgv(what, where, options, type)).status !== 0)
        return false;
    if (isMounted(where))
        return true;
    // Made, but it did not reach this namespace: of no use to the daemons started from here.
    run(['systemd-umount', where]);
    return false;
}

/** The medium's read-only alias: `from` bound on `to`. */
export function bindReadOnly(way: MountWay, from: string, to: string): void {
    if (way === 'systemd' && mountBySystemd(from, to, `bind,${MEDIUM_MOUNT_OPTIONS}`, null))
        return;
    bindSelf(from, to, false);
}

/** `from` bound read-only on `to` by this process; `exact`: `from` as it is (a /proc/PID/fd/N), not canonicalised. */
function bindSelf(from: string, to: string, exact: boolean): void {
    // --no-canonicalize: mount(8) would otherwise resolve /proc/PID/fd/N to a path and mount that path.
    const r = run(['mount', ...exact ? ['--no-canonicalize'] : [], '--bind', '-o', 'ro', from, to]);
    if (r.status !== 0)
        throw new Error(`mount --bind ${from}: ${r.stderr.trim()}`);
    // A bind mount takes "ro" (and the other flags) only when remounted; never leave a writable alias behind.
    const remount = run(['mount', ...exact ? ['--no-canonicalize'] : [], '-o', `remount,bind,${MEDIUM_MOUNT_OPTIONS}`, to]);
    if (remount.status !== 0) {
        run(['umount', to]);
        throw new Error(`mount -o remount,bind,${MEDIUM_MOUNT_OPTIONS} ${to}: ${remount.stderr.trim()}`);
    }
}

/** The refusal when what got mounted is not what the user opened (the path was pointed elsewhere meanwhile). */
function changedError(pin: Pinned): ShareError {
    return new ShareError('NoLiveMedium', format(_("{path} changed while sharing started (it now leads somewhere else): nothing was shared. Share it again."), { path: pin.path }));
}

/**
 * What the user opened (medium/pin.ts), bound read-only on `to` (a folder on a folder, a file on a file): by
 * this process from the open file itself, or by systemd (which can only be given the path: what it mounted is
 * then compared with what was opened, and refused when it is another file).
 */
export function bindPinned(way: MountWay, pin: Pinned, to: string): void {
    if (!(way === 'systemd' && mountBySystemd(pin.path, to, `bind,${MEDIUM_MOUNT_OPTIONS}`, null)))
        bindSelf(pin.handle, to, true);
    if (!sameIdentity(identityOf(to), pin.identity)) {
        unmount(to);
        throw changedError(pin);
    }
}

/** The device numbers of a dev_t as glibc encodes it (major:minor). */
export function majorMinor(dev: number): string {
    const d = BigInt(dev);
    const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
    const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
    return `${major}:${minor}`;
}

/** Whether `losetup -n -O BACK-MAJ:MIN,BACK-INO` says the loop device reads the file `identity`. */
export function loopReads(losetupLine: string, identity: FileIdentity): boolean {
    const [majMin, inode] = losetupLine.trim().split(/\s+/);
    return majMin === majorMinor(identity.device) && inode === String(identity.inode);
}

/**
 * The ISO file the user opened, mounted read-only on `mountPoint`. Under systemd, a loop mount by systemd of
 * the path, kept only when its loop device reads the opened file. Else (and when systemd could not) the opened
 * file is bound on `fileAlias` (a file in the runtime directory, which only root can change) and that is
 * mounted: nothing after the open looks at the user's path again.
 */
export function mountPinnedIso(way: MountWay, pin: Pinned, fileAlias: string, mountPoint: string, journal: Journal): void {
    if (way === 'systemd') {
        let mounted = false;
        journal.make({ kind: 'mount', path: mountPoint }, () => {
            mounted = mountBySystemd(pin.path, mountPoint, `loop,${MEDIUM_MOUNT_OPTIONS}`, 'iso9660');
        });
        if (mounted) {
            const source = run(['findmnt', '-n', '-o', 'SOURCE', '--mountpoint', mountPoint]).stdout.trim();
            const backing = source.startsWith('/dev/loop') ? run(['losetup', '-n', '-O', 'BACK-MAJ:MIN,BACK-INO', source]).stdout : '';
            if (!loopReads(backing, pin.identity))
                throw changedError(pin); // the journal entry unmounts it
            return;
        }
    }
    GLib.file_set_contents(fileAlias, '');
    journal.make({ kind: 'mount', path: fileAlias }, () => bindPinned('self', pin, fileAlias));
    journal.make({ kind: 'mount', path: mountPoint }, () => mountIso('self', fileAlias, mountPoint));
}

/**
 * An ISO file read-only: a loop mount (by systemd, or by this process), else fuseiso. No modprobe and no look
 * at /proc/filesystems: the helper's unit forbids loading modules (ProtectKernelModules=yes), but mount(2) asks
 * the kernel for "fs-iso9660" and the kernel loads the module itself; where the kernel has no iso9660 at all,
 * the loop mount fails ("unknown filesystem type") and FUSE takes over (in this process's namespace: then the
 * kernel has no nfsd either, and nfs-ganesha, started from here, serves).
 */
export function mountIso(way: MountWay, iso: string, mountPoint: string): void {
    if (way === 'systemd' && mountBySystemd(iso, mountPoint, `loop,${MEDIUM_MOUNT_OPTIONS}`, 'iso9660'))
        return;
    if (run(['mount', '-o', `loop,${MEDIUM_MOUNT_OPTIONS}`, '-t', 'iso9660', iso, mountPoint]).status === 0)
        return;
    // -n: no ~/.mtab.fuseiso (the helper's home is read-only in its sandbox; fuseiso's daemon exits on it).
    const r = run(['fuseiso', '-n', iso, mountPoint, '-o', `${MEDIUM_MOUNT_OPTIONS},allow_other`]);
    if (r.status !== 0)
        throw new ShareError('NoLiveMedium', format(_("The ISO file {path} could not be mounted: {error}"), { path: iso, error: r.stderr.trim() || r.stdout.trim() }));
}

/** Unmounts a mount of ours (systemd's transient unit, a loop or bind mount, FUSE); true when it is gone. */
export function unmount(mountPoint: string): boolean {
    if (systemdMounts() && run(['systemd-umount', mountPoint]).status === 0 && !isMounted(mountPoint))
        return true;
    if (run(['umount', mountPoint]).status === 0)
        return true;
    if (run(['fusermount', '-u', mountPoint]).status === 0)
        return true;
    return run(['umount', '-l', mountPoint]).status === 0;
}
