// A Debian 12 machine with systemd as PID 1 (systemd-nspawn), for the system test of the installed package.
//
// Its root file system is cached under /var/cache/share-this-cd/system/<key>, keyed by what goes into it (the
// base packages, the package's own dependencies as the .deb declares them, the extras, this builder's
// revision): debootstrap, then the .deb installed once with apt-get to bring its dependencies from the Debian
// archive, then removed. Each run boots an overlay of that root (nothing of a run stays in the cache), installs
// the .deb with `apt-get install ./share-this-cd_*.deb` in a chroot (no service starts there; the archive is
// only reached when a dependency is missing), then boots it on a lab network namespace: its servers see only
// the lab LAN. Everything is found again and stopped by PID.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { listDir, mkdirs, removeTree } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';
import { type Result, sh } from './net.ts';
import { isRunning } from './process.ts';

const SUITE = 'bookworm';
/** The base system: systemd as init, the system bus, logind sessions through PAM (pam_systemd). */
const BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'libpam-systemd', 'iproute2', 'procps'];
/**
 * Besides the package's dependencies: this kernel has no nfsd, so the NFS server is nfs-ganesha (the second
 * choice of the package's "nfs-kernel-server | nfs-ganesha-vfs"); ISO files go through FUSE (no iso9660 here).
 */
const EXTRA_PACKAGES = ['nfs-ganesha-vfs', 'fuseiso', 'squashfuse', 'fuse3'];
/**
 * Units of the root that are stopped for good, each for a reason of this lab, not of the product:
 *  - nfs-ganesha.service: the system's own ganesha (enabled by its package) would hold port 2049 on every
 *    address, where the share runs its own ganesha; on a live session the kernel's nfsd serves instead.
 *  - run-rpc_pipefs.mount (nfs-common): needs the sunrpc module, which a container cannot load.
 */
const MASKED_UNITS = ['nfs-ganesha.service', 'run-rpc_pipefs.mount'];
export const LIVE_USER = 'live';
const BUILDER_REVISION = 1;

export function systemCacheRoot(): string {
    return GLib.getenv('SHARE_THIS_CD_SYSTEM_CACHE') ?? '/var/cache/share-this-cd/system';
}

function must(argv: string[], what = argv.join(' ')): Result {
    const r = sh(argv);
    if (r.status !== 0)
        throw new Error(`${what} failed (${r.status}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-12).join('\n')}`);
    return r;
}

/** What the .deb asks of the system (its Depends and Recommends fields). */
function debRelations(deb: string): string {
    return must(['dpkg-deb', '-f', deb, 'Depends', 'Recommends']).stdout.trim();
}

/** Runs `argv` in `root` with /proc, /sys and /dev of the host bound in (apt and maintainer scripts need them). */
function inChroot(root: string, argv: string[], what: string): Result {
    const binds = ['proc', 'sys', 'dev'];
    for (const b of binds)
        must(['mount', '--rbind', `/${b}`, `${root}/${b}`], `bind /${b}`);
    try {
        return must(['env', 'DEBIAN_FRONTEND=noninteractive', 'LC_ALL=C.UTF-8', 'chroot', root, ...argv], what);
    } finally {
        for (const b of [...binds].reverse())
            sh(['umount', '-R', '-l', `${root}/${b}`]);
    }
}

export interface SystemRoot {
    root: string;
    built: boolean;
    seconds: number;
}

/** The cached root file system for `deb`, built first when missing or when an input changed (needs root). */
export function ensureSystemRoot(deb: string, progress: (line: string) => void = () => {}): SystemRoot {
    const t0 = GLib.get_monotonic_time();
    const key = GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256,
        JSON.stringify({ BUILDER_REVISION, SUITE, BASE_PACKAGES, EXTRA_PACKAGES, MASKED_UNITS, relations: debRelations(deb) }), -1)!.slice(0, 16);
    const cache = systemCacheRoot();
    const dir = `${cache}/${key}`;
    const result = (built: boolean): SystemRoot => ({ root: `${dir}/root`, built, seconds: (GLib.get_monotonic_time() - t0) / 1e6 });
    if (GLib.file_test(`${dir}/complete`, GLib.FileTest.EXISTS))
        return result(false);
    mkdirs(cache);
    for (const name of listDir(cache)) {
        if (name !== key)
            removeTree(`${cache}/${name}`);
    }
    const work = `${cache}/${key}.tmp-${GLib.random_int()}`;
    const root = `${work}/root`;
    try {
        progress(`debootstrap ${SUITE} (${BASE_PACKAGES.join(', ')})`);
        mkdirs(work);
        must(['debootstrap', '--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, SUITE, root], 'debootstrap');
        // No service starts while packages are installed into the root (they would start on the host).
        GLib.file_set_contents(`${root}/usr/sbin/policy-rc.d`, '#!/bin/sh\nexit 101\n');
        must(['chmod', '755', `${root}/usr/sbin/policy-rc.d`]);
        must(['cp', deb, `${root}/var/tmp/dependencies.deb`]);
        progress(`the package's dependencies and ${EXTRA_PACKAGES.join(', ')}`);
        inChroot(root, ['apt-get', 'update', '-qq'], 'apt-get update');
        inChroot(root, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...EXTRA_PACKAGES, '/var/tmp/dependencies.deb'], 'apt-get install');
        inChroot(root, ['dpkg', '--purge', 'share-this-cd'], 'dpkg --purge');
        inChroot(root, ['apt-get', 'clean'], 'apt-get clean');
        GLib.unlink(`${root}/var/tmp/dependencies.deb`);
        GLib.unlink(`${root}/usr/sbin/policy-rc.d`);
        inChroot(root, ['systemctl', 'mask', ...MASKED_UNITS], 'systemctl mask');
        // The live session's user: an administrator of the session, as casper and live-config make it.
        inChroot(root, ['useradd', '--create-home', '--groups', 'sudo', '--shell', '/bin/bash', LIVE_USER], 'useradd');
        GLib.file_set_contents(`${work}/complete`, `${new Date().toISOString()}\n`);
        must(['mv', work, dir]);
    } catch (e) {
        sh(['umount', '-R', '-l', `${root}/proc`]);
        removeTree(work);
        throw e;
    }
    return result(true);
}

export interface MachineOptions {
    /** The cached root (read-only lower layer). */
    root: string;
    /** Per-run folder: the overlay's upper layer, the console log. */
    work: string;
    /** The lab namespace the machine's network is. */
    netns: string;
    /** Host paths bound into the machine: [host, machine, read-only]. */
    binds: [string, string, boolean][];
}

/** A booted Debian machine (systemd as PID 1) on a lab namespace; its root is an overlay of the cached root. */
export class LabMachine {
    readonly merged: string;
    readonly console: string;
    private nspawn: Gio.Subprocess | null = null;
    private nspawnPid = 0;
    private init = 0;
    private mounted = false;

    constructor(readonly options: MachineOptions) {
        this.merged = `${options.work}/merged`;
        this.console = `${options.work}/console.log`;
    }

    /** Mounts the overlay (a fresh upper layer keeps the cache untouched). */
    mount(): void {
        const w = this.options.work;
        for (const d of ['upper', 'ovl', 'merged'])
            mkdirs(`${w}/${d}`);
        must(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${this.options.root},upperdir=${w}/upper,workdir=${w}/ovl`, this.merged], 'overlay mount');
        this.mounted = true;
    }

    /** Runs a command in the (not booted) machine's root, as an administrator would before first boot. */
    chroot(argv: string[], what: string): Result {
        return inChroot(this.merged, argv, what);
    }

    /** Boots it; resolves once systemd says the system is up (running, or degraded with the failed units named). */
    async boot(timeoutMs = 90000): Promise<string> {
        mkdirs('/run/systemd/nspawn');
        const argv = ['systemd-nspawn', '--quiet', '-D', this.merged, '--boot', '--register=no', '--keep-unit', '--console=pipe',
            '--machine=live-session',
            // A live session is a whole computer: its root may configure its own network interfaces, and open
            // files by handle (nspawn's own system call filter refuses open_by_handle_at, which nfs-ganesha needs).
            '--capability=CAP_NET_ADMIN', '--system-call-filter=open_by_handle_at',
            `--network-namespace-path=/run/netns/${this.options.netns}`, '--bind=/dev/fuse',
            ...this.options.binds.map(([host, inside, ro]) => `--bind${ro ? '-ro' : ''}=${host}:${inside}`)];
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDIN_PIPE });
        launcher.set_stdout_file_path(this.console);
        launcher.set_stderr_file_path(this.console);
        this.nspawn = launcher.spawnv(argv);
        this.nspawnPid = Number(this.nspawn.get_identifier());
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        this.init = 0;
        while (this.init === 0 && GLib.get_monotonic_time() < deadline) {
            await sleep(200);
            if (!isRunning(this.nspawnPid))
                throw new Error(`systemd-nspawn ended: ${sh(['tail', '-20', this.console]).stdout}`);
            const pid = Number.parseInt(sh(['pgrep', '-P', String(this.nspawnPid), '-x', 'systemd']).stdout.trim(), 10);
            this.init = Number.isInteger(pid) ? pid : 0;
        }
        let state = '';
        while (GLib.get_monotonic_time() < deadline) {
            state = this.exec(['systemctl', 'is-system-running']).stdout.trim();
            if (state === 'running' || state === 'degraded')
                break;
            await sleep(500);
        }
        if (state !== 'running' && state !== 'degraded')
            throw new Error(`the machine did not come up (systemctl is-system-running: ${state})\n${sh(['tail', '-30', this.console]).stdout}`);
        return state === 'running' ? state : `${state}: ${this.exec(['systemctl', '--failed', '--no-legend', '--plain']).stdout.trim()}`;
    }

    get booted(): boolean {
        return this.nspawnPid > 0 && isRunning(this.nspawnPid);
    }

    /** PID (on the host) of the machine's systemd. */
    get initPid(): number {
        return this.init;
    }

    /** Runs a command inside the booted machine (all its namespaces) as root, and waits for it. */
    exec(argv: string[], input: string | null = null): Result {
        return sh(['nsenter', '-t', String(this.init), '-a', ...argv], input);
    }

    /**
     * The nsenter command line that runs `argv` in the machine as `user` through a login session (PAM, logind):
     * seated at the machine's seat0 (pam_systemd reads XDG_SEAT), as the desktop's user is, unless `seat` is
     * false (then it is a session like ssh's: not local).
     */
    asUser(user: string, command: string, seat = true): string[] {
        return ['nsenter', '-t', String(this.init), '-a', 'env', ...seat ? ['XDG_SEAT=seat0'] : [], 'runuser', '-l', user, '-c', command];
    }

    /** Powers the machine off (systemctl poweroff) and waits for systemd-nspawn to end; kills it if it hangs. */
    async poweroff(timeoutMs = 60000): Promise<void> {
        if (!this.booted)
            return;
        this.exec(['systemctl', 'poweroff', '--no-block']);
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (this.booted && GLib.get_monotonic_time() < deadline)
            await sleep(200);
        if (this.booted) {
            sh(['kill', '-KILL', String(this.nspawnPid)]);
            for (let i = 0; i < 100 && this.booted; i++)
                await sleep(50);
        }
        this.init = 0;
    }

    /** Powers off if needed, unmounts the overlay and removes the run's folder. */
    async teardown(): Promise<void> {
        await this.poweroff();
        if (this.mounted) {
            sh(['umount', '-R', '-l', this.merged]);
            this.mounted = false;
        }
        removeTree(this.options.work);
    }
}
