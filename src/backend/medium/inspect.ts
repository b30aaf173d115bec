// Live medium inspection (pure over a MediumReader): which live system this is, its label, kernels,
// initrds, the architecture of its kernels, EFI loaders and boot menus. Refuses what it cannot share, with a sentence that
// says what was looked for and what to do.
import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import { oneLine } from '../../shared/text.ts';
import { type KernelArch, PLATFORMS, type PlatformId } from '../platforms.ts';
import { KERNEL_HEAD_BYTES, kernelArchOf } from './arch.ts';
import { type MediumReader, findIgnoringCase } from './reader.ts';

export type Flavour = 'casper' | 'live-boot';

export interface MediumEfiLoaders {
    /** The removable-media loader, usually shim: EFI/BOOT/BOOTX64.EFI. */
    bootLoader: string;
    /** GRUB next to it (EFI/BOOT/grubx64.efi), when it can load files over TFTP (it has GRUB's tftp module). */
    grub: string | null;
    /** MokManager: EFI/BOOT/mmx64.efi. */
    mokManager: string | null;
}

export interface Medium {
    /** Absolute path of the medium root on this machine. */
    root: string;
    flavour: Flavour;
    /** Human name: first line of .disk/info, else the root folder's name. */
    label: string;
    /** In the live system's folder (`casper` or `live`, as spelled on the medium; its squashfs images decide
     *  the flavour: 23.04+ media have layers such as minimal.standard.live.squashfs). */
    kernels: string[];
    initrds: string[];
    /** The processor its kernels are for (from the first kernel that says; else its EFI loaders; else x86-64). */
    arch: KernelArch;
    /** Its own EFI loaders, per UEFI platform (only those it has): EFI/BOOT/BOOTX64.EFI, grubx64.efi… */
    efi: Partial<Record<PlatformId, MediumEfiLoaders>>;
    menus: {
        syslinux: string | null;
        grub: string | null;
    };
}

const SYSLINUX_CONFIGS = [
    'isolinux/isolinux.cfg', 'isolinux/syslinux.cfg', 'syslinux/syslinux.cfg', 'boot/isolinux/isolinux.cfg',
    'boot/syslinux/syslinux.cfg', 'isolinux.cfg', 'syslinux.cfg',
];
const GRUB_CONFIGS = ['boot/grub/grub.cfg', 'EFI/BOOT/grub.cfg', 'boot/grub2/grub.cfg', 'boot/grub/x86_64-efi/grub.cfg'];

const KERNEL_NAME = /^(hwe-)?(vmlinuz|vmlinux|bzimage|linux)([-.].*)?$/i;
const INITRD_NAME = /^(hwe-)?(initrd|initramfs)([-.].*)?$/i;

function firstExisting(reader: MediumReader, candidates: string[]): string | null {
    for (const c of candidates) {
        const found = findIgnoringCase(reader, c);
        if (found !== null && reader.typeOf(found) === 'file')
            return found;
    }
    return null;
}

function filesIn(reader: MediumReader, dir: string, pattern: RegExp): string[] {
    return (reader.list(dir) ?? []).filter(e => e.type === 'file' && pattern.test(e.name)).map(e => `${dir}/${e.name}`);
}

/** Reads what a medium holds. Throws ShareError(NoLiveMedium | UnsupportedMedium) when it cannot be shared. */
export function inspectMedium(reader: MediumReader): Medium {
    const root = reader.root;
    const casperDir = findIgnoringCase(reader, 'casper');
    const liveDir = findIgnoringCase(reader, 'live');
    const casperSquash = casperDir ? filesIn(reader, casperDir, /\.squashfs$/i) : [];
    const liveSquash = liveDir ? filesIn(reader, liveDir, /\.squashfs$/i) : [];

    let flavour: Flavour;
    let dir: string;
    if (casperDir && casperSquash.length > 0) {
        [flavour, dir] = ['casper', casperDir];
    } else if (liveDir && liveSquash.length > 0) {
        [flavour, dir] = ['live-boot', liveDir];
    } else {
        throw refusal(reader);
    }

    const infoPath = findIgnoringCase(reader, '.disk/info');
    let label = '';
    if (infoPath) {
        const info = reader.read(infoPath, 4096);
        if (info.ok) {
            const text = new TextDecoder('utf-8').decode(info.bytes);
            label = oneLine(text.split(/\r?\n/)[0] ?? '').slice(0, 200);
        }
    }
    if (label === '')
        label = root.split('/').filter(s => s !== '').pop() ?? _("Live system");

    const efiDir = findIgnoringCase(reader, 'EFI/BOOT');
    const efiFile = (name: string): string | null => (efiDir ? firstExisting(reader, [`${efiDir}/${name}`]) : null);
    const efi: Partial<Record<PlatformId, MediumEfiLoaders>> = {};
    for (const p of PLATFORMS) {
        const bootLoader = p.efi ? efiFile(p.efi.medium.shim) : null;
        if (p.efi && bootLoader !== null)
            efi[p.id] = { bootLoader, grub: netbootGrub(reader, efiFile(p.efi.medium.grub)), mokManager: efiFile(p.efi.medium.mok) };
    }
    const kernels = filesIn(reader, dir, KERNEL_NAME);

    return {
        root,
        flavour,
        label,
        kernels,
        initrds: filesIn(reader, dir, INITRD_NAME),
        arch: mediumArch(reader, kernels, efi),
        efi,
        menus: { syslinux: firstExisting(reader, SYSLINUX_CONFIGS), grub: firstExisting(reader, GRUB_CONFIGS) },
    };
}

/**
 * What the medium's kernels run on: the first kernel whose header says; else the EFI loaders it carries (only
 * ARM64 ones: ARM64); else x86-64 (isolinux media, and the placeholders of this project's fixtures).
 */
function mediumArch(reader: MediumReader, kernels: string[], efi: Partial<Record<PlatformId, MediumEfiLoaders>>): KernelArch {
    for (const k of kernels) {
        const head = reader.head(k, KERNEL_HEAD_BYTES);
        const arch = head === null ? null : kernelArchOf(head);
        if (arch !== null)
            return arch;
    }
    const efiArchs = new Set(PLATFORMS.filter(p => efi[p.id] !== undefined).map(p => p.kernelArch));
    return efiArchs.size === 1 && efiArchs.has('arm64') ? 'arm64' : 'x86_64';
}

/**
 * A GRUB image that can fetch its menu and kernels over TFTP: a monolithic signed GRUB embeds its modules, and
 * the tftp module's code names its source file "net/tftp.c" (for GRUB's debug output). CD images without the
 * module (Debian's gcd*.efi carry efinet but not tftp) would stop at a GRUB prompt over the network.
 */
function netbootGrub(reader: MediumReader, path: string | null): string | null {
    if (path === null)
        return null;
    const r = reader.read(path, 16 * 1024 * 1024);
    return r.ok && contains(r.bytes, TFTP_MODULE_MARK) ? path : null;
}

const TFTP_MODULE_MARK = new TextEncoder().encode('net/tftp.c');

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
    for (let i = haystack.indexOf(needle[0]); i >= 0 && i + needle.length <= haystack.length; i = haystack.indexOf(needle[0], i + 1)) {
        if (needle.every((c, k) => haystack[i + k] === c))
            return true;
    }
    return false;
}

/** The error for a directory that holds no live system we can share, naming what it looks like instead. */
function refusal(reader: MediumReader): ShareError {
    const where = reader.root;
    const has = (p: string): boolean => findIgnoringCase(reader, p) !== null;
    if (has('LiveOS/squashfs.img') || has('LiveOS/rootfs.img'))
        return new ShareError('UnsupportedMedium', format(_("{dir} holds a dracut live system (LiveOS/, e.g. Fedora): it cannot be shared yet. Share This CD supports Ubuntu-style (casper) and Debian-style (live-boot) live media."), { dir: where }));
    if (has('arch/boot') || has('arch/x86_64/airootfs.sfs'))
        return new ShareError('UnsupportedMedium', format(_("{dir} holds an Arch Linux live system: it cannot be shared yet. Share This CD supports Ubuntu-style (casper) and Debian-style (live-boot) live media."), { dir: where }));
    if (has('sources/install.wim') || has('sources/install.esd') || has('bootmgr'))
        return new ShareError('NoLiveMedium', format(_("{dir} looks like a Windows installation medium, not a Linux live system. Choose a Linux live CD/USB or its ISO file."), { dir: where }));
    if ((reader.list('') ?? []).length === 0)
        return new ShareError('NoLiveMedium', format(_("{dir} is empty. Choose the folder where a Linux live CD/USB or its ISO is mounted."), { dir: where }));
    return new ShareError('NoLiveMedium', format(_("No Linux live system found in {dir}: looked for casper/*.squashfs (Ubuntu, Mint) and live/*.squashfs (Debian live). Choose the folder where a live CD/USB or its ISO is mounted."), { dir: where }));
}

/**
 * The running live session's medium, from /proc/cmdline and /proc/mounts text (pure): casper mounts it at
 * /cdrom, live-boot at /run/live/medium (/lib/live/mount/medium before Debian 9). Null when this is not a live
 * session or the medium is not mounted.
 */
export function findRunningMedium(cmdline: string, mounts: string): string | null {
    const args = cmdline.trim().split(/\s+/);
    const boot = args.find(a => a.startsWith('boot='))?.slice(5);
    const candidates = boot === 'casper' ? ['/cdrom']
        : boot === 'live' ? ['/run/live/medium', '/lib/live/mount/medium'] : [];
    const mountPoints = new Set(mounts.split('\n').map(l => l.split(' ')[1]).filter((m): m is string => !!m)
        .map(m => m.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))));
    return candidates.find(c => mountPoints.has(c)) ?? null;
}
