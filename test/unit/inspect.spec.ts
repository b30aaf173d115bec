import Gio from 'gi://Gio';

import { KERNEL_HEAD_BYTES, convertHead, kernelArchOf } from '../../src/backend/medium/arch.ts';
import { findRunningMedium, inspectMedium } from '../../src/backend/medium/inspect.ts';
import { DirReader, MemoryReader } from '../../src/backend/medium/reader.ts';
import { FIXTURES, thrownShareError } from '../support/helpers.ts';

const inspect = (files: Record<string, string | Uint8Array>) => inspectMedium(new MemoryReader('/media/cd', files));
const refusal = (files: Record<string, string>) => thrownShareError(() => inspect(files));

describe('medium inspection', () => {
    it('recognises casper media and lists kernels and initrds (name drift included)', () => {
        const m = inspect({
            'casper/vmlinuz': '', 'casper/vmlinuz.efi': '', 'casper/hwe-vmlinuz': '', 'casper/initrd': '', 'casper/initrd.lz': '',
            'casper/initrd.gz': '', 'casper/hwe-initrd': '', 'casper/filesystem.squashfs': '', 'casper/filesystem.manifest': '',
            '.disk/info': 'Ubuntu 22.04.3 LTS "Jammy Jellyfish" - Release amd64 (20230807.2)\n',
        });
        expect(m.flavour).toBe('casper');
        expect(m.label).toBe('Ubuntu 22.04.3 LTS "Jammy Jellyfish" - Release amd64 (20230807.2)');
        expect(m.kernels).toEqual(['casper/hwe-vmlinuz', 'casper/vmlinuz', 'casper/vmlinuz.efi']);
        expect(m.initrds).toEqual(['casper/hwe-initrd', 'casper/initrd', 'casper/initrd.gz', 'casper/initrd.lz']);
        expect(m.flavour).toBe('casper');
        expect(m.root).toBe('/media/cd');
    });

    it('recognises 23.04+ media by their layered squashfs (minimal.standard.live.squashfs…)', () => {
        const m = inspectMedium(new DirReader(`${FIXTURES}/ubuntu-24.04-desktop`));
        expect(m.flavour).toBe('casper');
        expect(m.kernels).toEqual(['casper/vmlinuz']);
        // (the fixture's GRUB is an empty placeholder: no TFTP in it)
        expect(m.efi).toEqual({ 'uefi-x64': { bootLoader: 'EFI/boot/bootx64.efi', grub: null, mokManager: 'EFI/boot/mmx64.efi' } });
        expect(m.arch).toBe('x86_64');
        expect(m.menus).toEqual({ syslinux: null, grub: 'boot/grub/grub.cfg' });
    });

    it('recognises Debian live-boot media with versioned kernel names', () => {
        const m = inspect({ 'live/vmlinuz-6.1.0-9-amd64': '', 'live/initrd.img-6.1.0-9-amd64': '', 'live/filesystem.squashfs': '', 'isolinux/isolinux.cfg': '' });
        expect(m.flavour).toBe('live-boot');
        expect(m.kernels).toEqual(['live/vmlinuz-6.1.0-9-amd64']);
        expect(m.initrds).toEqual(['live/initrd.img-6.1.0-9-amd64']);
        expect(m.menus.syslinux).toBe('isolinux/isolinux.cfg');
    });

    it('finds EFI loaders and folders in any case; a GRUB counts only when it can load over TFTP', () => {
        const netGrub = 'padding\0net/tftp.c\0more';
        const m = inspect({ 'CASPER/FILESYSTEM.SQUASHFS': '', 'CASPER/VMLINUZ': '', 'efi/Boot/BootX64.efi': '', 'efi/Boot/GRUBX64.EFI': netGrub });
        expect(m.kernels).toEqual(['CASPER/VMLINUZ']);
        expect(m.efi['uefi-x64']).toEqual({ bootLoader: 'efi/Boot/BootX64.efi', grub: 'efi/Boot/GRUBX64.EFI', mokManager: null });
        expect(m.efi['uefi-arm64']).toBeUndefined();
        // A CD GRUB without the tftp module (efinet alone) would stop at a prompt over the network.
        const cdGrub = inspect({ 'casper/x.squashfs': '', 'casper/vmlinuz': '', 'EFI/BOOT/BOOTX64.EFI': '', 'EFI/BOOT/grubx64.efi': 'efinet tftp,%s' });
        expect(cdGrub.efi['uefi-x64']?.grub).toBeNull();
    });

    it('tells an ARM64 medium from an x86-64 one by its kernel, else by its EFI loaders', () => {
        const image = (at: number, magic: string, size = 0x400): Uint8Array => {
            const b = new Uint8Array(size);
            b.set(new TextEncoder().encode(magic), at);
            return b;
        };
        const withKernel = (kernel: Uint8Array, efi: Record<string, string> = {}) =>
            inspectMedium(new MemoryReader('/media/cd', { 'casper/x.squashfs': '', 'casper/vmlinuz': kernel, ...efi }));
        expect(withKernel(image(0x202, 'HdrS')).arch).toBe('x86_64');
        expect(withKernel(image(0x38, 'ARM\x64')).arch).toBe('arm64');
        // Ubuntu's arm64 vmlinuz is a gzip'd Image: its inflated header says.
        const gz = convertHead(image(0x38, 'ARM\x64', 64 * 1024), new Gio.ZlibCompressor({ format: Gio.ZlibCompressorFormat.GZIP }), 1 << 20);
        expect(gz[0]).toBe(0x1f);
        expect(withKernel(gz).arch).toBe('arm64');
        // An EFI stub kernel (PE/COFF) whose header has neither magic: the PE machine field (0xAA64).
        const pe = image(0, 'MZ');
        pe.set([0x80, 0, 0, 0], 0x3c);
        pe.set([0x50, 0x45, 0, 0, 0x64, 0xaa], 0x80);
        expect(withKernel(pe).arch).toBe('arm64');
        // Kernels that say nothing (placeholders): the EFI loaders decide, x86-64 by default.
        expect(withKernel(new Uint8Array(0), { 'EFI/BOOT/BOOTAA64.EFI': '', 'EFI/BOOT/grubaa64.efi': '' }).arch).toBe('arm64');
        expect(withKernel(new Uint8Array(0), { 'EFI/BOOT/BOOTX64.EFI': '' }).arch).toBe('x86_64');
        expect(withKernel(new Uint8Array(0)).arch).toBe('x86_64');
    });

    it('reads the architecture of this machine\'s own kernel and of Debian\'s signed EFI loaders', () => {
        const boot = Gio.File.new_for_path('/boot').enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
        let kernel: string | null = null;
        for (let info = boot.next_file(null); info !== null && kernel === null; info = boot.next_file(null))
            kernel = info.get_name().startsWith('vmlinuz-') ? `/boot/${info.get_name()}` : null;
        expect(kernel).withContext('the set-up installs linux-image-amd64').not.toBeNull();
        const head = (path: string): Uint8Array => {
            const s = Gio.File.new_for_path(path).read(null);
            const b = s.read_bytes(KERNEL_HEAD_BYTES, null).toArray();
            s.close(null);
            return b;
        };
        expect(kernelArchOf(head(kernel as string))).toBe('x86_64');
        expect(kernelArchOf(head('/usr/lib/shim/shimx64.efi.signed'))).toBe('x86_64');
        expect(kernelArchOf(new TextEncoder().encode('#!/bin/sh\n'))).toBeNull();
    });

    it('names a medium without .disk/info after its folder, on one line', () => {
        expect(inspect({ 'casper/x.squashfs': '' }).label).toBe('cd');
        expect(inspect({ 'casper/x.squashfs': '', '.disk/info': 'My\tRemix\r\nsecond line' }).label).toBe('My Remix');
    });

    it('refuses dracut LiveOS (Fedora) and Arch media as not supported yet', () => {
        expect(refusal({ 'LiveOS/squashfs.img': '', 'isolinux/isolinux.cfg': '' }).code).toBe('UnsupportedMedium');
        expect(refusal({ 'arch/x86_64/airootfs.sfs': '', 'arch/boot/x86_64/vmlinuz-linux': '' }).code).toBe('UnsupportedMedium');
    });

    it('refuses Windows, empty and other trees, saying what was looked for', () => {
        const win = refusal({ 'sources/install.wim': '', 'bootmgr': '', 'efi/boot/bootx64.efi': '' });
        expect(win.code).toBe('NoLiveMedium');
        expect(win.message).toContain('looks like a Windows installation medium');
        expect(refusal({}).message).toContain('is empty');
        const other = refusal({ 'casper/README': '', 'live/filesystem.img': '' });
        expect(other.message).toBe('No Linux live system found in /media/cd: looked for casper/*.squashfs (Ubuntu, Mint) and live/*.squashfs (Debian live). Choose the folder where a live CD/USB or its ISO is mounted.');
    });
});

describe('the running live medium', () => {
    const mounts = (...points: string[]) => points.map(p => `/dev/sr0 ${p} iso9660 ro,relatime 0 0`).join('\n');

    it('is /cdrom for casper sessions', () => {
        expect(findRunningMedium('BOOT_IMAGE=/casper/vmlinuz boot=casper quiet splash ---', mounts('/cdrom'))).toBe('/cdrom');
    });

    it('is /run/live/medium for live-boot, /lib/live/mount/medium on old Debian', () => {
        expect(findRunningMedium('boot=live components quiet', mounts('/run/live/medium'))).toBe('/run/live/medium');
        expect(findRunningMedium('boot=live', mounts('/lib/live/mount/medium'))).toBe('/lib/live/mount/medium');
    });

    it('is nothing on an installed system or when the medium is not mounted', () => {
        expect(findRunningMedium('BOOT_IMAGE=/vmlinuz-6.1 root=UUID=x ro quiet', mounts('/cdrom'))).toBeNull();
        expect(findRunningMedium('boot=casper', mounts('/media/cdrom'))).toBeNull();
        expect(findRunningMedium('', '')).toBeNull();
    });

    it('reads octal escapes in /proc/mounts', () => {
        expect(findRunningMedium('boot=casper', '/dev/sr0 /cd\\040rom iso9660 ro 0 0\n/dev/sr0 /cdrom iso9660 ro 0 0')).toBe('/cdrom');
    });
});
