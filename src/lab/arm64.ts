// The ARM64 lab medium: a live-boot medium for ARM64 computers, made from Debian's signed arm64 packages
// (shim, GRUB's network image, the kernel), with its loaders in EFI/BOOT as a distribution's ARM64 medium
// carries them, so the engine serves ARM64 clients the medium's own shim and GRUB. The packages are
// downloaded with apt-get from the machine's Debian archive into a private apt state (no foreign architecture
// is added to dpkg, nothing is installed), and the medium is cached under /var/cache/share-this-cd/lab-arm64,
// keyed by the package versions and the generated text.
//
// Its initrd is a placeholder: the lab proves the network boot up to the ARM64 kernel starting on the client
// (the kernel then stops for want of a root file system; building an arm64 live-boot initrd needs an arm64
// userland this machine does not have).
import GLib from 'gi://GLib';

import { listDir, mkdirs, readTextFile, removeTree, rename } from '../shared/fsutil.ts';
import { run } from '../backend/services/supervisor.ts';
import { cacheRoot } from './image.ts';

/** The kernel's command line in the medium's own menu (the engine adds the netboot arguments). */
export const ARM64_KERNEL_ARGS = 'boot=live components console=ttyAMA0 panic=-1';
/** What the client's console says once the medium's kernel runs. */
export const ARM64_KERNEL_STARTED = /Booting Linux on physical CPU|Linux version \d\S*-arm64/;

const BUILDER_REVISION = 1;
const PACKAGES = ['shim-signed', 'shim-helpers-arm64-signed', 'grub-efi-arm64-signed'];

export interface Arm64Medium {
    tree: string;
    kernelVersion: string;
    built: boolean;
}

function must(argv: string[], what: string): string {
    const r = run(argv);
    if (r.status !== 0)
        throw new Error(`${what}: ${argv.join(' ')}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    return r.stdout;
}

/** apt-get/apt-cache with a private state for arm64 (lists and cache under `dir`). */
function aptOptions(dir: string): string[] {
    return ['-o', 'APT::Architecture=arm64', '-o', 'APT::Architectures::=arm64', '-o', `Dir::State::Lists=${dir}/lists`,
        '-o', `Dir::Cache=${dir}/cache`, '-o', 'Dir::State::status=/dev/null', '-o', 'Debug::NoLocking=1'];
}

/** The package lists, fetched again when missing or older than a week. */
function updateLists(dir: string): void {
    const stamp = `${dir}/lists/updated`;
    const age = Date.now() / 1000 - Number(readTextFile(stamp) ?? '0');
    if (age < 7 * 86400)
        return;
    mkdirs(`${dir}/lists/partial`);
    mkdirs(`${dir}/cache/archives/partial`);
    must(['apt-get', ...aptOptions(dir), 'update', '-qq'], 'apt-get update (arm64)');
    GLib.file_set_contents(stamp, new TextEncoder().encode(String(Math.floor(Date.now() / 1000))));
}

function candidate(dir: string, pkg: string): string {
    const m = /Candidate: (\S+)/.exec(must(['apt-cache', ...aptOptions(dir), 'policy', pkg], 'apt-cache policy'));
    if (!m || m[1] === '(none)')
        throw new Error(`the Debian archive has no arm64 ${pkg}`);
    return m[1];
}

/** Builds (or reuses) the ARM64 lab medium. */
export function ensureArm64Medium(progress: (line: string) => void = () => {}): Arm64Medium {
    const root = `${cacheRoot()}-arm64`;
    const aptDir = `${root}/apt`;
    updateLists(aptDir);
    const kernelPackage = /Depends: (linux-image-\S+-arm64)/.exec(must(['apt-cache', ...aptOptions(aptDir), 'depends', 'linux-image-arm64'], 'apt-cache depends'))?.[1];
    if (kernelPackage === undefined)
        throw new Error('no arm64 kernel package found');
    const packages = [...PACKAGES, kernelPackage];
    const versions = packages.map(p => `${p}=${candidate(aptDir, p)}`);
    const kernelVersion = kernelPackage.replace(/^linux-image-/, '');
    const files = arm64MediumFiles(kernelVersion);
    const key = GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256, JSON.stringify({ BUILDER_REVISION, versions, files }), -1)!.slice(0, 16);
    const dir = `${root}/${key}`;
    if (GLib.file_test(`${dir}/complete`, GLib.FileTest.EXISTS))
        return { tree: `${dir}/tree`, kernelVersion, built: false };
    for (const name of listDir(root)) {
        if (name !== key && name !== 'apt')
            removeTree(`${root}/${name}`);
    }
    const work = `${root}/${key}.tmp-${GLib.random_int()}`;
    try {
        progress(`downloading ${versions.join(' ')}`);
        mkdirs(`${work}/debs`);
        must(['sh', '-c', `cd '${work}/debs' && exec apt-get "$@" download ${versions.join(' ')}`, 'apt-get', ...aptOptions(aptDir)], 'apt-get download (arm64)');
        for (const deb of listDir(`${work}/debs`))
            must(['dpkg-deb', '-x', `${work}/debs/${deb}`, `${work}/x`], 'dpkg-deb -x');
        const tree = `${work}/tree`;
        const x = `${work}/x`;
        for (const [path, text] of Object.entries(files)) {
            mkdirs(GLib.path_get_dirname(`${tree}/${path}`));
            GLib.file_set_contents(`${tree}/${path}`, new TextEncoder().encode(text));
        }
        mkdirs(`${tree}/EFI/BOOT`);
        const copies: [string, string][] = [
            [`${x}/usr/lib/shim/shimaa64.efi.signed`, 'EFI/BOOT/BOOTAA64.EFI'],
            [`${x}/usr/lib/shim/mmaa64.efi.signed`, 'EFI/BOOT/mmaa64.efi'],
            // GRUB's network image: its modules include tftp, and its prefix is /grub on the server it came from.
            [`${x}/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed`, 'EFI/BOOT/grubaa64.efi'],
            [`${x}/boot/vmlinuz-${kernelVersion}`, 'live/vmlinuz'],
        ];
        for (const [from, to] of copies)
            must(['cp', from, `${tree}/${to}`], 'copy');
        must(['chmod', '-R', 'a+rX', tree], 'chmod');
        removeTree(`${work}/debs`);
        removeTree(x);
        GLib.file_set_contents(`${work}/complete`, new TextEncoder().encode(`${versions.join('\n')}\n`));
        rename(work, dir);
    } catch (e) {
        removeTree(work);
        throw e;
    }
    return { tree: `${dir}/tree`, kernelVersion, built: true };
}

/** The medium's text files: its label, its GRUB menu (live-build's shape), placeholders for the rest. Pure. */
export function arm64MediumFiles(kernelVersion: string): Record<string, string> {
    return {
        '.disk/info': `Share This CD lab ARM64 medium (Debian kernel ${kernelVersion})\n`,
        'boot/grub/grub.cfg': [
            'set default=0',
            'set timeout=1',
            'menuentry "Live system (arm64)" {',
            `\tlinux\t/live/vmlinuz ${ARM64_KERNEL_ARGS}`,
            '\tinitrd\t/live/initrd.img',
            '}',
            '',
        ].join('\n'),
        // Placeholders: the client's kernel starts, then stops for want of a root (see above).
        'live/initrd.img': 'placeholder\n',
        'live/filesystem.squashfs': '',
    };
}
