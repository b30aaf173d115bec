// The lab live image: a small but real live medium built from Debian packages, used by the end-to-end tests, the
// demo and the boot benchmark. Debian's signed kernel, an initrd from mkinitramfs with live-boot
// (MODULES=netboot plus the CD drivers, so the same image boots from a CD too), a busybox squashfs whose init
// prints a marker with the proof of its root, and boot menus as live-build writes them (isolinux + GRUB),
// so the engine's own `plan` makes the netboot menus. Also a hybrid ISO of the same tree (xorriso) for the
// local-CD side of the boot benchmark.
//
// labImageFiles() is pure (menus, init); ensureLabImage() builds into a cache directory keyed by a hash of
// every input (kernel, package versions, generated text) and rebuilds only when one of them changes.
import GLib from 'gi://GLib';

import { copyFile, listDir, mkdirs, removeTree, rename } from '../shared/fsutil.ts';
import { run } from '../backend/services/supervisor.ts';

const LOG_DOMAIN = 'share-this-cd-lab';

/** The line the live system's init prints once it runs from the shared squashfs. */
export const MARKER = 'SHARECD-LAB-OK';
/** Typed on the client's serial console, it powers the client off (it otherwise waits `HOLD_SECONDS`). */
export const POWEROFF_WORD = 'poweroff';
export const HOLD_SECONDS = 900;
export const VOLUME_ID = 'SHARECD_LAB';

/** Kernel arguments of the medium's own menus (the engine adds netboot=nfs nfsroot=… ip=dhcp). */
export const KERNEL_ARGS = 'boot=live components console=ttyS0,115200 panic=10';

/** Debian packages the builder reads from; their versions are part of the cache key. */
export const IMAGE_PACKAGES = ['initramfs-tools-core', 'live-boot', 'live-boot-initramfs-tools', 'busybox-static', 'squashfs-tools',
    'isolinux', 'syslinux-common', 'shim-signed', 'grub-efi-amd64-signed', 'xorriso', 'mtools', 'dosfstools'];

/** Bumped when the build steps change in a way the generated text does not show. */
const BUILDER_REVISION = 2;

/**
 * The text files of the image: the medium's boot menus (isolinux and GRUB, in live-build's layout) and the
 * squashfs's /sbin/init. Pure.
 */
export function labImageFiles(kernelVersion: string): Record<string, string> {
    const label = `Share This CD lab live system (Debian kernel ${kernelVersion})`;
    return {
        '.disk/info': `${label}\n`,
        'isolinux/isolinux.cfg': 'include menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 10\n',
        'isolinux/menu.cfg': [
            'menu hshift 0', 'menu width 82', '', 'menu title Boot menu', 'include stdmenu.cfg', 'include live.cfg', '', 'menu clear', '',
        ].join('\n'),
        'isolinux/stdmenu.cfg': 'menu color title\t* #FFFFFFFF *\nmenu tabmsg Press ENTER to boot or TAB to edit a menu entry\n',
        'isolinux/live.cfg': [
            'label live-amd64',
            '\tmenu label ^Live system (amd64)',
            '\tmenu default',
            '\tlinux /live/vmlinuz',
            '\tinitrd /live/initrd.img',
            `\tappend ${KERNEL_ARGS}`,
            '',
            'label live-amd64-failsafe',
            '\tmenu label Live system (amd64 fail-safe mode)',
            '\tlinux /live/vmlinuz',
            '\tinitrd /live/initrd.img',
            `\tappend ${KERNEL_ARGS} memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788`,
            '',
        ].join('\n'),
        'boot/grub/config.cfg': 'set default=0\nset timeout=1\n\nif [ x$feature_default_font_path = xy ] ; then\n\tfont=unicode\nelse\n\tfont=$prefix/unicode.pf2\nfi\n',
        'boot/grub/grub.cfg': [
            'source /boot/grub/config.cfg',
            '',
            '# Live boot',
            'menuentry "Live system (amd64)" --hotkey=l {',
            `\tlinux\t/live/vmlinuz ${KERNEL_ARGS} findiso=\${iso_path}`,
            '\tinitrd\t/live/initrd.img',
            '}',
            'menuentry "Live system (amd64 fail-safe mode)" {',
            `\tlinux\t/live/vmlinuz ${KERNEL_ARGS} memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788`,
            '\tinitrd\t/live/initrd.img',
            '}',
            '',
            "submenu 'Utilities...' --hotkey=u {",
            '\t# Firmware setup (UEFI)',
            '\tif [ "${grub_platform}" = "efi" ]; then',
            '\t\tmenuentry "UEFI Firmware Settings" {',
            '\t\t\tfwsetup',
            '\t\t}',
            '\tfi',
            '}',
            '',
        ].join('\n'),
        // PID 1 of the live system. It proves where its root came from (live-boot mounts the medium on
        // /run/live/medium: NFS for a network boot, iso9660 for a CD), then waits for `poweroff` on its console.
        'rootfs/sbin/init': `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
medium=$(grep ' /run/live/medium ' /proc/mounts | head -n 1)
set -- $medium
firmware=bios
[ -d /sys/firmware/efi ] && firmware=uefi
# The kernel says whether the firmware enforces Secure Boot ("secureboot: Secure boot enabled").
secureboot=$(dmesg | sed -n 's/.*Secure boot \\([a-z]*\\).*/\\1/p' | head -n 1)
echo
echo "${MARKER} medium=\${1:-none} type=\${3:-none} firmware=$firmware secureboot=\${secureboot:-n/a} uptime=$(cut -d' ' -f1 /proc/uptime)s"
echo "sharecd-lab: the live system runs; type '${POWEROFF_WORD}' to switch it off (it does by itself after ${HOLD_SECONDS} s)"
while read -t ${HOLD_SECONDS} word < /dev/console; do
    [ "$word" = ${POWEROFF_WORD} ] && break
done
echo "sharecd-lab: powering off"
sync
poweroff -f
`,
        'rootfs/etc/hostname': 'sharecd-lab\n',
        'rootfs/etc/fstab': '',
    };
}

export interface LabImage {
    /** The medium's directory tree (what `share-this-cd start --medium` shares). */
    tree: string;
    /** The same tree as a hybrid ISO (BIOS isolinux + UEFI shim/GRUB), for the local-CD benchmark. */
    iso: string;
    kernelVersion: string;
    /** True when this call built it; false when the cached one was reused. */
    built: boolean;
    seconds: number;
}

export type Progress = (line: string) => void;

export class LabImageError extends Error {}

function must(argv: string[], what: string): string {
    const r = run(argv);
    if (r.status !== 0)
        throw new LabImageError(`${what} failed (${argv.join(' ')}, status ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`);
    return r.stdout;
}

/** The newest installed kernel with a matching module tree (linux-image-amd64). */
export function newestKernel(): string {
    const versions: string[] = [];
    for (const name of listDir('/boot')) {
        const m = /^vmlinuz-(.+)$/.exec(name);
        if (m && GLib.file_test(`/lib/modules/${m[1]}/modules.dep`, GLib.FileTest.EXISTS))
            versions.push(m[1]);
    }
    if (versions.length === 0)
        throw new LabImageError('no kernel in /boot: install linux-image-amd64 (tools/setup.sh does)');
    return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1) as string;
}

function packageVersions(kernelVersion: string): string {
    const pkgs = [...IMAGE_PACKAGES, `linux-image-${kernelVersion}`];
    const r = run(['dpkg-query', '-W', '-f', '${Package}=${Version}\n', ...pkgs]);
    const missing = pkgs.filter(p => !r.stdout.includes(`${p}=`) || new RegExp(`^${p.replace(/[.+]/g, '\\$&')}=$`, 'm').test(r.stdout));
    if (missing.length > 0)
        throw new LabImageError(`the lab image needs these Debian packages: ${missing.join(' ')} (tools/setup.sh installs them)`);
    return r.stdout;
}

export function cacheRoot(): string {
    return GLib.getenv('SHARE_THIS_CD_LAB_CACHE') ?? '/var/cache/share-this-cd/lab';
}

function write(path: string, text: string, mode = 0o644): void {
    mkdirs(GLib.path_get_dirname(path));
    GLib.file_set_contents(path, new TextEncoder().encode(text));
    must(['chmod', mode.toString(8), path], 'chmod');
}

/**
 * Returns the cached lab image, building it first when missing or when an input changed (kernel, package
 * versions, generated files, builder revision). Needs root (mkinitramfs, mksquashfs -all-root).
 */
export function ensureLabImage(progress: Progress = () => {}): LabImage {
    const t0 = GLib.get_monotonic_time();
    const kernelVersion = GLib.getenv('SHARE_THIS_CD_LAB_KERNEL') ?? newestKernel();
    const files = labImageFiles(kernelVersion);
    const key = GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256,
        JSON.stringify({ BUILDER_REVISION, kernelVersion, packages: packageVersions(kernelVersion), files }), -1)!.slice(0, 16);
    const root = cacheRoot();
    const dir = `${root}/${key}`;
    const image = (built: boolean): LabImage => ({
        tree: `${dir}/tree`, iso: `${dir}/lab.iso`, kernelVersion, built,
        seconds: (GLib.get_monotonic_time() - t0) / 1e6,
    });
    if (GLib.file_test(`${dir}/complete`, GLib.FileTest.EXISTS))
        return image(false);

    mkdirs(root);
    // Older images (other keys) are of no use any more.
    for (const name of listDir(root)) {
        if (name !== key)
            removeTree(`${root}/${name}`);
    }

    const work = `${root}/${key}.tmp-${GLib.random_int()}`;
    try {
        build(work, kernelVersion, files, progress);
        rename(work, dir);
    } catch (e) {
        removeTree(work);
        throw e;
    }
    return image(true);
}

function build(work: string, kernelVersion: string, files: Record<string, string>, progress: Progress): void {
    const tree = `${work}/tree`;
    mkdirs(`${tree}/live`);
    for (const [path, text] of Object.entries(files)) {
        if (!path.startsWith('rootfs/'))
            write(`${tree}/${path}`, text);
    }

    progress(`kernel: Debian's signed ${kernelVersion}`);
    copyFile(`/boot/vmlinuz-${kernelVersion}`, `${tree}/live/vmlinuz`);

    progress('initrd: mkinitramfs with live-boot (MODULES=netboot, CD drivers, zstd)');
    const conf = `${work}/initramfs-conf`;
    must(['cp', '-a', '/etc/initramfs-tools', conf], 'copying the initramfs configuration');
    const confFile = `${conf}/initramfs.conf`;
    const confText = new TextDecoder().decode(GLib.file_get_contents(confFile)[1])
        .replace(/^MODULES=.*$/m, 'MODULES=netboot').replace(/^#?\s*COMPRESS=.*$/m, 'COMPRESS=zstd');
    write(confFile, confText);
    // The CD drivers, so the same initrd boots the ISO (BIOS: ata_piix; UEFI q35: ahci).
    write(`${conf}/modules`, 'isofs\nsr_mod\ncdrom\nata_piix\nahci\n');
    must(['mkinitramfs', '-d', conf, '-o', `${tree}/live/initrd.img`, kernelVersion], 'mkinitramfs');
    removeTree(conf);

    progress('root file system: busybox squashfs with the marker init');
    const rootfs = `${work}/rootfs`;
    for (const d of ['bin', 'sbin', 'etc', 'etc/network', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'mnt', 'usr/bin', 'usr/sbin'])
        mkdirs(`${rootfs}/${d}`);
    copyFile('/bin/busybox', `${rootfs}/bin/busybox`, 0o755);
    for (const applet of must([`${rootfs}/bin/busybox`, '--list'], 'busybox --list').split('\n')) {
        if (applet !== '' && applet !== 'busybox' && applet !== 'init')
            must(['ln', '-s', 'busybox', `${rootfs}/bin/${applet}`], 'linking busybox applets');
    }
    for (const [path, text] of Object.entries(files)) {
        if (path.startsWith('rootfs/'))
            write(`${work}/${path}`, text, path.endsWith('/init') ? 0o755 : 0o644);
    }
    must(['mksquashfs', rootfs, `${tree}/live/filesystem.squashfs`, '-noappend', '-comp', 'xz', '-quiet', '-all-root'], 'mksquashfs');
    removeTree(rootfs);

    progress('boot loaders: isolinux (BIOS), shim + Debian\'s signed CD GRUB (UEFI)');
    copyFile('/usr/lib/ISOLINUX/isolinux.bin', `${tree}/isolinux/isolinux.bin`);
    for (const module of ['ldlinux.c32', 'vesamenu.c32', 'libcom32.c32', 'libutil.c32'])
        copyFile(`/usr/lib/syslinux/modules/bios/${module}`, `${tree}/isolinux/${module}`);
    mkdirs(`${tree}/EFI/boot`);
    copyFile('/usr/lib/shim/shimx64.efi.signed', `${tree}/EFI/boot/bootx64.efi`);
    copyFile('/usr/lib/shim/mmx64.efi.signed', `${tree}/EFI/boot/mmx64.efi`);
    copyFile('/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed', `${tree}/EFI/boot/grubx64.efi`);
    // The El Torito UEFI image: a small FAT file system with the same EFI/boot files.
    const efiImg = `${tree}/boot/grub/efi.img`;
    const efiFiles = ['bootx64.efi', 'mmx64.efi', 'grubx64.efi'];
    const efiBytes = efiFiles.reduce((sum, f) => sum + GLib.file_get_contents(`${tree}/EFI/boot/${f}`)[1].length, 0);
    must(['mkfs.vfat', '-C', '-n', 'SHARECD_EFI', efiImg, String(Math.ceil(efiBytes / 1024) + 1024)], 'mkfs.vfat');
    must(['mmd', '-i', efiImg, '::/EFI', '::/EFI/boot'], 'mmd');
    for (const f of efiFiles)
        must(['mcopy', '-i', efiImg, `${tree}/EFI/boot/${f}`, `::/EFI/boot/${f}`], 'mcopy');
    must(['chmod', '-R', 'a+rX', tree], 'chmod');

    progress('ISO: xorriso (hybrid, BIOS + UEFI)');
    must(['xorriso', '-as', 'mkisofs', '-r', '-J', '-joliet-long', '-l', '-iso-level', '3', '-V', VOLUME_ID,
        '-isohybrid-mbr', '/usr/lib/ISOLINUX/isohdpfx.bin', '-partition_offset', '16',
        '-c', 'isolinux/boot.cat', '-b', 'isolinux/isolinux.bin', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
        '-eltorito-alt-boot', '-e', 'boot/grub/efi.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
        '-o', `${work}/lab.iso`, tree], 'xorriso');
    write(`${work}/complete`, `${kernelVersion}\n`);
    console.info(`${LOG_DOMAIN}: lab image built (${kernelVersion})`);
}
