// Real live images for the lab, made by Debian's own live-build from the Debian archive: what users share is
// built by the distribution's tools (live-boot, live-config, systemd, a squashfs of hundreds of MB, menus we did
// not write), not by us. Two flavours:
//  - console: live-boot, live-config and systemd; the kernel command line (live-build's --bootappend-live) puts
//    the console on the serial port, so the lab reads the boot and the `login:` prompt there;
//  - graphical: the same plus Xorg, LightDM with live-config's autologin and an Openbox session that opens a
//    window with a known title (read from the screen with OCR).
// Each is kept as the hybrid ISO live-build makes and as its extracted tree, cached under
// /var/cache/share-this-cd/live-build/<flavour>-<key>, keyed by everything that goes into it (the lb config
// arguments, package lists, included files, live-build's and debootstrap's versions, this builder's revision);
// rebuilt only when one of them changes. The Debian archive is reached for the packages (the console image:
// ~10 minutes on a cold machine).
//
// liveBuildConfig() is pure; ensureLiveBuildImage() has the effects.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { listDir, mkdirs, rename } from '../shared/fsutil.ts';
import { run } from '../backend/services/supervisor.ts';

const LOG_DOMAIN = 'share-this-cd-lab';

export type LiveFlavour = 'console' | 'graphical';

/** Bumped when the build steps change in a way the configuration does not show. */
const BUILDER_REVISION = 1;
/** The window title the graphical image's session shows (read back with OCR). */
export const DESKTOP_MARKER = 'SHARE THIS CD DESKTOP';
/** The host name live-config gives the live system (its login prompt says `debian login:`). */
export const LIVE_HOSTNAME = 'debian';
/** The live user live-config creates. */
export const LIVE_USERNAME = 'user';

export interface LiveBuildConfig {
    /** Arguments of `lb config`. */
    lbConfig: string[];
    /** config/package-lists/NAME.list.chroot */
    packageLists: Record<string, string[]>;
    /** Files under config/ (includes.chroot/…, hooks/…), with their text. */
    files: Record<string, string>;
}

/** What each flavour is made of (pure). */
export function liveBuildConfig(flavour: LiveFlavour): LiveBuildConfig {
    // live-config makes the live user with user-setup and gives it sudo (both only Recommended by live-config:
    // without them there is no user to log in as).
    const base = ['live-boot', 'live-config', 'live-config-systemd', 'systemd-sysv', 'user-setup', 'sudo'];
    const lbConfig = ['--distribution', 'bookworm', '--archive-areas', 'main', '--binary-images', 'iso-hybrid',
        '--debian-installer', 'none', '--apt-recommends', 'false', '--apt-indices', 'false',
        '--security', 'false', '--updates', 'false',
        '--mirror-bootstrap', 'http://deb.debian.org/debian/', '--mirror-chroot', 'http://deb.debian.org/debian/',
        '--mirror-binary', 'http://deb.debian.org/debian/',
        // A serial console besides the screen: the lab reads the boot there (the last console= gets /dev/console).
        '--bootappend-live', 'boot=live components console=tty0 console=ttyS0,115200',
        // lz4: quick to unpack for the lab's emulated clients (the layout and the boot are the same with xz).
        '--chroot-squashfs-compression-type', 'lz4',
        '--bootloaders', 'syslinux grub-efi', '--firmware-binary', 'false', '--firmware-chroot', 'false', '--memtest', 'none',
        '--iso-volume', flavour === 'console' ? 'SHARECD_LIVE_CONSOLE' : 'SHARECD_LIVE_DESKTOP'];
    if (flavour === 'console')
        return { lbConfig, packageLists: { live: base }, files: {} };
    return {
        lbConfig,
        packageLists: {
            live: base,
            desktop: ['xserver-xorg-core', 'xserver-xorg-input-libinput', 'xserver-xorg-legacy', 'x11-xserver-utils', 'xauth',
                'lightdm', 'lightdm-gtk-greeter', 'openbox', 'xterm', 'fonts-dejavu-core'],
        },
        files: {
            // Openbox's session starts this for every user: a window whose title the lab reads from the screen.
            'includes.chroot/etc/xdg/openbox/autostart':
                `xterm -geometry 60x8+40+40 -fa 'DejaVu Sans Mono' -fs 16 -T '${DESKTOP_MARKER}' -e sh -c 'echo "${DESKTOP_MARKER}: $(id -un) on $(hostname)"; exec sleep infinity' &\n`,
        },
    };
}

export interface LiveBuildImage {
    flavour: LiveFlavour;
    /** The hybrid ISO live-build made. */
    iso: string;
    /** Its files (xorriso -osirrox), as a mounted CD shows them. */
    tree: string;
    /** True when this call built it; false when the cached one was reused. */
    built: boolean;
    seconds: number;
}

export class LiveBuildError extends Error {}

export function liveBuildCacheRoot(): string {
    return GLib.getenv('SHARE_THIS_CD_LIVE_BUILD_CACHE') ?? '/var/cache/share-this-cd/live-build';
}

function must(argv: string[], what: string, cwd?: string): string {
    const r = run(cwd === undefined ? argv : ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', cwd, ...argv]);
    if (r.status !== 0)
        throw new LiveBuildError(`${what} failed (status ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`);
    return r.stdout;
}

function write(path: string, text: string, mode = 0o644): void {
    mkdirs(GLib.path_get_dirname(path));
    GLib.file_set_contents(path, new TextEncoder().encode(text));
    must(['chmod', mode.toString(8), path], 'chmod');
}

/**
 * The cached image of `flavour`, built first when missing or when an input changed. Needs root, live-build,
 * debootstrap, xorriso and the Debian archive.
 */
export function ensureLiveBuildImage(flavour: LiveFlavour, progress: (line: string) => void = () => {}): LiveBuildImage {
    const t0 = GLib.get_monotonic_time();
    const config = liveBuildConfig(flavour);
    const tools = run(['dpkg-query', '-W', '-f', '${Package}=${Version}\n', 'live-build', 'debootstrap']);
    if (tools.status !== 0 || tools.stdout.split('\n').filter(l => /=\S/.test(l)).length < 2)
        throw new LiveBuildError('the real-image lab needs live-build and debootstrap (tools/setup.sh installs them)');
    const key = GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256,
        JSON.stringify({ BUILDER_REVISION, config, tools: tools.stdout }), -1)!.slice(0, 16);
    const cache = liveBuildCacheRoot();
    const dir = `${cache}/${flavour}-${key}`;
    const image = (built: boolean): LiveBuildImage => ({
        flavour, iso: `${dir}/live.iso`, tree: `${dir}/tree`, built, seconds: (GLib.get_monotonic_time() - t0) / 1e6,
    });
    if (GLib.file_test(`${dir}/complete`, GLib.FileTest.EXISTS))
        return image(false);
    mkdirs(cache);
    // One build of a flavour at a time (the test command starts the build early, beside the other specs): wait
    // for one running, then use what it built.
    const lock = `${cache}/.${flavour}.lock`;
    while (!takeLock(lock)) {
        if (GLib.get_monotonic_time() - t0 > 3600e6)
            throw new LiveBuildError(`another live-build run of the ${flavour} image did not finish within an hour (${lock})`);
        GLib.usleep(5e6);
    }
    try {
        if (GLib.file_test(`${dir}/complete`, GLib.FileTest.EXISTS))
            return image(false);
        buildInto(cache, flavour, key, dir, config, progress);
    } finally {
        GLib.unlink(lock);
    }
    console.info(`${LOG_DOMAIN}: live-build ${flavour} image built in ${((GLib.get_monotonic_time() - t0) / 1e6).toFixed(0)} s`);
    return image(true);
}

/** Takes the lock file (our PID in it); a lock whose process has ended is taken over. */
function takeLock(lock: string): boolean {
    const pid = String(new Gio.Credentials().get_unix_pid());
    if (run(['sh', '-c', 'set -C; echo "$1" > "$2"', 'sh', pid, lock]).status === 0)
        return true;
    const holder = run(['cat', lock]).stdout.trim();
    if (/^\d+$/.test(holder) && GLib.file_test(`/proc/${holder}`, GLib.FileTest.EXISTS))
        return false;
    GLib.unlink(lock);
    return run(['sh', '-c', 'set -C; echo "$1" > "$2"', 'sh', pid, lock]).status === 0;
}

function buildInto(cache: string, flavour: LiveFlavour, key: string, dir: string, config: LiveBuildConfig, progress: (line: string) => void): void {
    // Older builds of this flavour (other keys), and builds that were cut short, are of no use any more.
    for (const name of listDir(cache)) {
        if (name.startsWith(`${flavour}-`) && name !== `${flavour}-${key}`)
            run(['rm', '-rf', '--one-file-system', `${cache}/${name}`]);
    }
    const work = `${dir}.tmp-${GLib.random_int()}`;
    try {
        build(work, config, progress);
        rename(work, dir);
    } catch (e) {
        // live-build leaves its chroot's /proc, /sys, /dev/pts mounted when it stops half-way.
        for (const m of run(['findmnt', '-rn', '-o', 'TARGET']).stdout.split('\n').filter(t => t.startsWith(`${work}/`)).reverse())
            run(['umount', '-l', m]);
        run(['rm', '-rf', '--one-file-system', work]);
        throw e;
    }
}

function build(work: string, config: LiveBuildConfig, progress: (line: string) => void): void {
    const lb = `${work}/lb`;
    mkdirs(lb);
    progress(`lb config ${config.lbConfig.join(' ')}`);
    must(['lb', 'config', ...config.lbConfig], 'lb config', lb);
    for (const [name, packages] of Object.entries(config.packageLists))
        write(`${lb}/config/package-lists/${name}.list.chroot`, `${packages.join('\n')}\n`);
    for (const [path, text] of Object.entries(config.files))
        write(`${lb}/config/${path}`, text, path.startsWith('hooks/') ? 0o755 : 0o644);
    progress('lb build (packages from the Debian archive; several minutes)');
    const log = `${work}/lb-build.log`;
    const r = run(['sh', '-c', 'cd "$1" && exec lb build > "$2" 2>&1', 'sh', lb, log]);
    const iso = `${lb}/live-image-amd64.hybrid.iso`;
    if (r.status !== 0 || !GLib.file_test(iso, GLib.FileTest.EXISTS)) {
        const tail = run(['tail', '-n', '25', log]).stdout;
        throw new LiveBuildError(`lb build failed (status ${r.status}); the end of its log:\n${tail}`);
    }
    must(['mv', iso, `${work}/live.iso`], 'moving the ISO');
    progress('extracting the ISO\'s files (xorriso)');
    must(['xorriso', '-osirrox', 'on', '-indev', `${work}/live.iso`, '-extract', '/', `${work}/tree`], 'xorriso -extract');
    // ISO 9660 gives read-only modes; the tree is read by everyone, as a mounted CD is.
    must(['chmod', '-R', 'u+w,a+rX', `${work}/tree`], 'chmod');
    must(['chmod', '644', `${work}/live.iso`], 'chmod');
    // The chroot and live-build's caches are hundreds of MB more, and of no use once the ISO is made.
    for (const m of run(['findmnt', '-rn', '-o', 'TARGET']).stdout.split('\n').filter(t => t.startsWith(`${lb}/`)).reverse())
        run(['umount', '-l', m]);
    must(['rm', '-rf', '--one-file-system', lb], 'removing live-build\'s work folder');
    write(`${work}/complete`, `${new Date().toISOString()}\n`);
}
