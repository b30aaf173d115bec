// Real-world media, end to end through the command line: `share-this-cd plan --medium DIR --server IP --json`.
// Fixtures: test/fixtures/media/<name>/ (boot configs as published, see SOURCES.md; kernels etc. are empty
// placeholders). Expected menus: test/fixtures/expected/<name>/ with @ROOT@ for the medium root
// (regenerate with UPDATE_EXPECTED=1 after reviewing a change).
import GLib from 'gi://GLib';

import { FIXTURES, TOP, readText, runCli } from '../support/helpers.ts';
import { loopReads, majorMinor } from '../../src/backend/medium/mounts.ts';
import { mountRootAt } from '../../src/shared/fsutil.ts';

type Row = [label: string, kernel: string, initrd: string[], cmdline: string, isDefault: boolean];

const NET = 'netboot=nfs nfsroot=192.168.1.20:@ROOT@ ip=dhcp';

const BOTH = ['grub/grub.cfg', 'ipxe/bios.ipxe', 'ipxe/uefi.ipxe', 'pxelinux.cfg/default'];

/** `files`: the menus rendered (default both; ARM64 media are UEFI-only: no pxelinux menu). */
const MEDIA: Record<string, { flavour: string; label: string; entries: Row[]; files?: string[] }> = {
    'ubuntu-6.10-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 6.10 "Edgy Eft" - Release i386 (20061025)',
        entries: [
            ['Start or install Ubuntu', 'casper/vmlinuz', ['casper/initrd.gz'], `file=/cdrom/preseed/ubuntu.seed boot=casper ramdisk_size=1048576 root=/dev/ram rw quiet splash ${NET} --`, true],
            ['Start Ubuntu in safe graphics mode', 'casper/vmlinuz', ['casper/initrd.gz'], `file=/cdrom/preseed/ubuntu.seed boot=casper xforcevesa ramdisk_size=1048576 root=/dev/ram rw quiet splash ${NET} --`, false],
            ['Check CD for defects', 'casper/vmlinuz', ['casper/initrd.gz'], `boot=casper integrity-check ramdisk_size=1048576 root=/dev/ram rw quiet splash ${NET} --`, false],
        ],
    },
    'ubuntu-10.04-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 10.04 LTS "Lucid Lynx" - Release amd64 (20100429)',
        entries: [
            ['Try Ubuntu without installing', 'casper/vmlinuz', ['casper/initrd.lz'], `file=/cdrom/preseed/ubuntu.seed boot=casper quiet splash ${NET} --`, true],
            ['Install Ubuntu', 'casper/vmlinuz', ['casper/initrd.lz'], `file=/cdrom/preseed/ubuntu.seed boot=casper only-ubiquity quiet splash ${NET} --`, false],
            ['Check disc for defects', 'casper/vmlinuz', ['casper/initrd.lz'], `boot=casper integrity-check quiet splash ${NET} --`, false],
        ],
    },
    'ubuntu-18.04-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 18.04 LTS "Bionic Beaver" - Release amd64 (20180426)',
        entries: [
            ['Try Ubuntu without installing', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed boot=casper quiet splash ${NET} ---`, true],
            ['Install Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed boot=casper only-ubiquity quiet splash ${NET} ---`, false],
            ['Check disc for defects', 'casper/vmlinuz', ['casper/initrd'], `boot=casper integrity-check quiet splash ${NET} ---`, false],
            ['OEM install (for manufacturers)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed boot=casper only-ubiquity quiet splash oem-config/enable=true ${NET} ---`, false],
        ],
    },
    'xubuntu-18.04-desktop': {
        flavour: 'casper',
        label: 'Xubuntu 18.04 LTS "Bionic Beaver" - Release amd64 (20180426)',
        entries: [
            ['Try Xubuntu without installing', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/xubuntu.seed boot=casper quiet splash ${NET} ---`, true],
            ['Install Xubuntu', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/xubuntu.seed boot=casper only-ubiquity quiet splash ${NET} ---`, false],
            ['Check disc for defects', 'casper/vmlinuz', ['casper/initrd'], `boot=casper integrity-check quiet splash ${NET} ---`, false],
            ['OEM install (for manufacturers)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/xubuntu.seed boot=casper only-ubiquity quiet splash oem-config/enable=true ${NET} ---`, false],
        ],
    },
    'ubuntu-20.04-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 20.04.6 LTS "Focal Fossa" - Release amd64 (20230316)',
        entries: [
            ['Try Ubuntu without installing', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed quiet splash ${NET} ---`, true],
            ['Try Ubuntu without installing (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed quiet splash nomodeset ${NET} ---`, false],
            ['Install Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed only-ubiquity quiet splash ${NET} ---`, false],
            ['Install Ubuntu (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed only-ubiquity quiet splash nomodeset ${NET} ---`, false],
            ['Check disc for defects', 'casper/vmlinuz', ['casper/initrd'], `boot=casper integrity-check quiet splash ${NET} ---`, false],
            // UEFI clients get the GRUB menu, whose entries differ (maybe-ubiquity).
            ['Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash ${NET} ---`, false],
            ['Ubuntu (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash nomodeset ${NET} ---`, false],
            ['OEM install (for manufacturers)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed only-ubiquity quiet splash oem-config/enable=true ${NET} ---`, false],
        ],
    },
    'ubuntu-22.04-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 22.04.2 LTS "Jammy Jellyfish" - Release amd64 (20230223)',
        entries: [
            ['Try or Install Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash ${NET} ---`, true],
            ['Ubuntu (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `nomodeset file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash ${NET} ---`, false],
            ['OEM install (for manufacturers)', 'casper/vmlinuz', ['casper/initrd'], `file=/cdrom/preseed/ubuntu.seed only-ubiquity oem-config/enable=true quiet splash ${NET} ---`, false],
        ],
    },
    'ubuntu-22.04-live-server': {
        flavour: 'casper',
        label: 'Ubuntu-Server 22.04.3 LTS "Jammy Jellyfish" - Release amd64 (20230810)',
        entries: [
            ['Try or Install Ubuntu Server', 'casper/vmlinuz', ['casper/initrd'], `${NET} ---`, true],
            ['Ubuntu Server with the HWE kernel', 'casper/hwe-vmlinuz', ['casper/hwe-initrd'], `${NET} ---`, false],
        ],
    },
    'ubuntu-24.04-desktop': {
        flavour: 'casper',
        label: 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)',
        entries: [
            ['Try or Install Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `${NET} --- quiet splash`, true],
            ['Ubuntu (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `nomodeset ${NET} --- quiet splash`, false],
        ],
    },
    'ubuntu-24.04-desktop-arm64': {
        flavour: 'casper',
        label: 'Ubuntu 24.04.4 LTS "Noble Numbat" - Release arm64 (20260210)',
        files: ['grub/grub.cfg', 'ipxe/uefi.ipxe'],
        entries: [
            ['Try or Install Ubuntu', 'casper/vmlinuz', ['casper/initrd'], `${NET} --- quiet splash console=tty0`, true],
            ['Ubuntu (safe graphics)', 'casper/vmlinuz', ['casper/initrd'], `nomodeset ${NET} --- quiet splash console=tty0`, false],
        ],
    },
    'linuxmint-20.1-cinnamon': {
        flavour: 'casper',
        label: 'Linux Mint 20.1 "Ulyssa" - Release amd64 20210103',
        entries: [
            ['Start Linux Mint', 'casper/vmlinuz', ['casper/initrd.lz'], `file=/cdrom/preseed/linuxmint.seed boot=casper quiet splash ${NET} --`, true],
            ['Start in compatibility mode', 'casper/vmlinuz', ['casper/initrd.lz'], `file=/cdrom/preseed/linuxmint.seed boot=casper noapic noacpi nosplash irqpoll nomodeset ${NET} --`, false],
            ['OEM install (for manufacturers)', 'casper/vmlinuz', ['casper/initrd.lz'], `file=/cdrom/preseed/linuxmint.seed oem-config/enable=true only-ubiquity boot=casper quiet splash ${NET} --`, false],
            ['Integrity check', 'casper/vmlinuz', ['casper/initrd.lz'], `boot=casper integrity-check quiet splash ${NET} --`, false],
        ],
    },
    'debian-live-11': {
        flavour: 'live-boot',
        label: 'Official Debian GNU/Linux Live 11.0.0 gnome 2021-08-14T10:40:42Z',
        entries: [
            ['Debian GNU/Linux Live (kernel 5.10.0-8-amd64)', 'live/vmlinuz-5.10.0-8-amd64', ['live/initrd.img-5.10.0-8-amd64'], `boot=live components splash quiet ${NET}`, true],
            ['Debian GNU/Linux Live (kernel 5.10.0-8-amd64 fail-safe mode)', 'live/vmlinuz-5.10.0-8-amd64', ['live/initrd.img-5.10.0-8-amd64'], `boot=live components memtest noapic noapm nodma nomce nolapic nomodeset nosmp nosplash vga=normal ${NET}`, false],
        ],
    },
    'debian-live-12': {
        flavour: 'live-boot',
        label: 'Official Debian GNU/Linux Live 12.0.0 gnome 2023-06-10T10:32:36Z',
        entries: [
            ['Live system (amd64)', 'live/vmlinuz', ['live/initrd.img'], `boot=live components quiet splash ${NET}`, true],
            ['Live system (amd64 fail-safe mode)', 'live/vmlinuz', ['live/initrd.img'], `boot=live components memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788 ${NET}`, false],
            // GRUB (UEFI) names the versioned kernel files.
            ['Live system (amd64)', 'live/vmlinuz-6.1.0-9-amd64', ['live/initrd.img-6.1.0-9-amd64'], `boot=live components quiet splash ${NET}`, false],
            ['Live system (amd64 fail-safe mode)', 'live/vmlinuz-6.1.0-9-amd64', ['live/initrd.img-6.1.0-9-amd64'], `boot=live components memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788 ${NET}`, false],
        ],
    },
};

interface PlanJson {
    medium: { root: string; flavour: string; label: string };
    entries: { label: string; kernel: string; initrd: string[]; cmdline: string; default: boolean }[];
    files: Record<string, string>;
}

function expectedFile(name: string, file: string, actual: string): string {
    const path = `${TOP}/test/fixtures/expected/${name}/${file.replace('/', '_')}`;
    if (GLib.getenv('UPDATE_EXPECTED') === '1') {
        GLib.mkdir_with_parents(GLib.path_get_dirname(path), 0o755);
        GLib.file_set_contents(path, new TextEncoder().encode(actual));
    }
    return readText(path);
}

describe('real-world media through `plan --json`', () => {
    for (const [name, want] of Object.entries(MEDIA)) {
        describe(name, () => {
            const root = `${FIXTURES}/${name}`;
            let plan: PlanJson;
            let stderr: string;

            beforeAll(() => {
                const result = runCli(['plan', '--medium', root, '--server', '192.168.1.20', '--json']);
                expect(result.status).withContext(result.stderr).toBe(0);
                plan = JSON.parse(result.stdout) as PlanJson;
                stderr = result.stderr;
            });

            it('prints exactly the documented JSON shape', () => {
                expect(Object.keys(plan)).toEqual(['medium', 'entries', 'files']);
                expect(Object.keys(plan.medium)).toEqual(['root', 'flavour', 'label']);
                for (const e of plan.entries)
                    expect(Object.keys(e)).toEqual(['label', 'kernel', 'initrd', 'cmdline', 'default']);
                expect(Object.keys(plan.files).sort()).toEqual(want.files ?? BOTH);
            });

            it('recognises the medium', () => {
                expect(plan.medium).toEqual({ root, flavour: want.flavour, label: want.label });
            });

            it('finds every bootable entry with its kernel, initrds and exact netboot command line', () => {
                const rows: Row[] = plan.entries.map(e => [e.label, e.kernel, e.initrd, e.cmdline.split(root).join('@ROOT@'), e.default]);
                expect(rows).toEqual(want.entries);
            });

            it('renders the pxelinux, GRUB and iPXE menus', () => {
                for (const file of want.files ?? BOTH) {
                    const actual = plan.files[file].split(root).join('@ROOT@');
                    expect(actual).withContext(file).toEqual(expectedFile(name, file, actual));
                }
            });

            it('puts every entry in a menu, with files that exist on the medium', () => {
                const pxe = plan.files['pxelinux.cfg/default'] ?? '';
                const grub = plan.files['grub/grub.cfg'];
                for (const e of plan.entries) {
                    expect(GLib.file_test(`${root}/${e.kernel}`, GLib.FileTest.IS_REGULAR)).withContext(e.kernel).toBeTrue();
                    for (const i of e.initrd)
                        expect(GLib.file_test(`${root}/${i}`, GLib.FileTest.IS_REGULAR)).withContext(i).toBeTrue();
                    const inPxe = pxe.includes(`KERNEL http://192.168.1.20/medium/${e.kernel}\n`) && pxe.includes(`APPEND ${e.cmdline}\n`);
                    const inGrub = grub.includes(`linux $sharecd/${e.kernel} ${e.cmdline}\n`);
                    expect(inPxe || inGrub).withContext(e.label).toBeTrue();
                    // iPXE clients get every entry too, with the same arguments after their initrd names.
                    const initrdNames = e.initrd.map((_i, n) => `initrd=sharecd-initrd${n} `).join('');
                    const ipxe = `kernel http://192.168.1.20/medium/${e.kernel} ${initrdNames}${e.cmdline} \${sharecd_bootif} || goto sharecd_failed\n`;
                    expect(Object.entries(plan.files).some(([f, text]) => f.startsWith('ipxe/') && text.includes(ipxe))).withContext(e.label).toBeTrue();
                }
                if ((want.files ?? BOTH).includes('pxelinux.cfg/default'))
                    expect(pxe.match(/^\s*MENU DEFAULT$/mg)?.length).toBe(1);
            });

            it('mentions nothing that needs the ISO file or the CD drive', () => {
                const all = Object.values(plan.files).join('\n');
                // (iPXE's initrd= names the images it fetched itself, for UEFI kernels)
                expect(all).not.toMatch(/iso-scan|findiso|fromiso|iso_path|gfxboot|initrd=(?!sharecd-initrd\d+ )/);
                expect(stderr).not.toMatch(/error|internal/i);
            });
        });
    }

    it('refuses a dracut LiveOS medium (Fedora) with one clear sentence and no plan', () => {
        const result = runCli(['plan', '--medium', `${FIXTURES}/fedora-39-workstation-live`, '--server', '192.168.1.20', '--json']);
        expect(result.status).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain('holds a dracut live system (LiveOS/, e.g. Fedora): it cannot be shared yet.');
        expect(result.stderr.trim().split('\n').length).toBe(1);
    });
});

describe('what a loop device reads (medium/mounts.ts)', () => {
    it('splits a device number as glibc encodes it', () => {
        expect(majorMinor(0xfe00)).toBe('254:0');
        expect(majorMinor((44) | (8 << 8) | (256 << 12))).toBe('8:300'); // a minor over 255
    });

    it('accepts the opened file only: same device and inode', () => {
        const iso = { device: 0xfe00, inode: 612 };
        expect(loopReads('  254:0      612\n', iso)).toBeTrue();
        expect(loopReads('254:0 613', iso)).toBeFalse();
        expect(loopReads('254:1 612', iso)).toBeFalse();
        expect(loopReads('', iso)).toBeFalse();
    });
});

describe('whether a medium is a whole file system (mountinfo)', () => {
    // Real lines: the root file system, a udisks USB stick, a bind mount of a folder of the root file system
    // (as the engine's pinned medium is), a path with a space, and a mount over another on the same point.
    const MOUNTINFO = [
        '25 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
        '60 25 8:17 / /media/ubuntu/Ubuntu\\04024.04 ro,nosuid,nodev,relatime shared:30 - iso9660 /dev/sdb1 ro,nojoliet',
        '61 25 254:0 /home/ubuntu/extracted /run/share-this-cd/medium ro,nosuid,nodev,noexec,relatime shared:1 - ext4 /dev/vda rw',
        '62 25 0:45 / /run/share-this-cd/iso ro,nosuid,nodev,noexec,relatime shared:31 - fuse.fuseiso fuseiso ro,user_id=0',
        '63 25 254:0 /srv/cd /cdrom ro,relatime shared:1 - ext4 /dev/vda rw',
        '64 63 7:0 / /cdrom ro,relatime shared:32 - iso9660 /dev/loop0 ro',
    ].join('\n');

    it('says which folder of its file system a mount shows', () => {
        expect(mountRootAt(MOUNTINFO, '/media/ubuntu/Ubuntu 24.04')).toBe('/');
        expect(mountRootAt(MOUNTINFO, '/run/share-this-cd/medium')).toBe('/home/ubuntu/extracted');
        expect(mountRootAt(MOUNTINFO, '/run/share-this-cd/iso')).toBe('/');
        expect(mountRootAt(MOUNTINFO, '/cdrom')).toBe('/'); // the last mount on a point is the one seen
        expect(mountRootAt(MOUNTINFO, '/home/ubuntu/extracted')).toBeNull(); // a folder, not a mount
        expect(mountRootAt(MOUNTINFO, '/media/ubuntu/Ubuntu\\04024.04')).toBeNull();
    });
});
