// The lab's pure parts: the lab image's menus go through the engine's own `plan` (as the e2e tests rely on),
// the marker line, qemu's command lines and the demo's plain-words reading of a console and a screen. Also the
// lab's OCR (tesseract) of a real client screenshot.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { describeConsoleLine, explainScreen } from '../../src/cli/demo.ts';
import { KERNEL_ARGS, MARKER, labImageFiles } from '../../src/lab/image.ts';
import { summarizeCapture } from '../../src/lab/capture.ts';
import { ocr } from '../../src/lab/ocr.ts';
import { renderPeerDnsmasq, renderPeerGrub, renderPeerPxelinux } from '../../src/lab/peer.ts';
import { PHASES, bootMarks, phaseLengths } from '../../src/lab/phases.ts';
import { LOGIN_PROMPT } from '../../src/lab/storm.ts';
import { LabVm, parseMarker, qemuArgv } from '../../src/lab/vm.ts';
import { TOP, makeTree, removeTree, runCli } from '../support/helpers.ts';

describe('the lab live image', () => {
    const files = labImageFiles('6.1.0-99-amd64');
    let tree: string;

    beforeAll(() => {
        const withBinaries: Record<string, string> = { 'live/vmlinuz': 'k', 'live/initrd.img': 'i', 'live/filesystem.squashfs': 's' };
        for (const [path, text] of Object.entries(files)) {
            if (!path.startsWith('rootfs/'))
                withBinaries[path] = text;
        }
        tree = makeTree(withBinaries);
    });
    afterAll(() => removeTree(tree));

    it('is a live-boot medium whose own menus the engine turns into netboot menus that boot by themselves', () => {
        const r = runCli(['plan', '--medium', tree, '--server', '10.77.0.1', '--json']);
        expect(r.status).withContext(r.stderr).toBe(0);
        const plan = JSON.parse(r.stdout);
        expect(plan.medium.flavour).toBe('live-boot');
        expect(plan.medium.label).toBe('Share This CD lab live system (Debian kernel 6.1.0-99-amd64)');
        const pxe: string = plan.files['pxelinux.cfg/default'];
        const grub: string = plan.files['grub/grub.cfg'];
        // The medium's own timeouts (1 s) are kept, so a client boots the default entry unattended.
        expect(pxe).toContain('TIMEOUT 10\n');
        expect(grub).toContain('set timeout=1\n');
        expect(pxe).toContain(`APPEND ${KERNEL_ARGS} netboot=nfs nfsroot=10.77.0.1:${tree} ip=dhcp`);
        expect(grub).toContain(`linux $sharecd/live/vmlinuz ${KERNEL_ARGS} netboot=nfs nfsroot=10.77.0.1:${tree} ip=dhcp`);
        expect(grub).not.toContain('findiso');
    });

    it('has an init that prints the marker with its root and waits for poweroff', () => {
        const init = files['rootfs/sbin/init'];
        expect(init.startsWith('#!/bin/sh\n')).toBeTrue();
        expect(init).toContain(`echo "${MARKER} medium=`);
        expect(init).toContain("grep ' /run/live/medium ' /proc/mounts");
        expect(init).toContain('poweroff -f');
    });
});

describe('lab clients', () => {
    it('know a console live system\'s login prompt, also with the kernel\'s words after it on its line', () => {
        for (const line of ['debian login:', 'debian login: ', 'ubuntu-mate login:  ',
            'debian login: [  126.354606] clocksource: timekeeping watchdog on CPU0: hpet wd-wd read-back delay of 58610ns'])
            expect(LOGIN_PROMPT.test(line)).withContext(line).toBeTrue();
        for (const line of ['Debian GNU/Linux 12 debian ttyS0', '[  OK  ] Reached target getty.target - Login Prompts.',
            '         Starting systemd-logind.service - User Login Management...', 'debian login:user', 'login: ', 'Password:'])
            expect(LOGIN_PROMPT.test(line)).withContext(line).toBeFalse();
    });

    it('reads the console as it grows: whole lines, a character or a line end split between two reads, escapes removed', () => {
        const dir = GLib.dir_make_tmp('share-this-cd-console-XXXXXX');
        const vm = new LabVm({ name: 'c', firmware: 'bios', workDir: dir });
        const append = (bytes: number[] | string): void => {
            const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes);
            const stream = Gio.File.new_for_path(vm.log).append_to(Gio.FileCreateFlags.NONE, null);
            stream.write_all(data, null);
            stream.close(null);
        };
        try {
            expect(vm.consoleLines()).toEqual([]);
            append('\x1b[2J\x1b[1;1HBooting \x1b[32mLinux\x1b[0m\r');
            expect(vm.consoleLines()).toEqual(['Booting Linux']);
            append('\nGr');
            expect(vm.consoleLines()).toEqual(['Booting Linux', 'Gr']);
            // "ü" is 0xC3 0xBC: its two bytes arrive in two reads.
            append([0xc3]);
            expect(vm.consoleLines().slice(0, 1)).toEqual(['Booting Linux']);
            append([0xbc, ...new TextEncoder().encode('ße\nSHARECD-LAB-OK uptime=1s\n')]);
            expect(vm.consoleLines()).toEqual(['Booting Linux', 'Grüße', 'SHARECD-LAB-OK uptime=1s']);
            expect(vm.consoleLines()).toEqual(['Booting Linux', 'Grüße', 'SHARECD-LAB-OK uptime=1s']);
        } finally {
            vm.removeFiles();
            removeTree(dir);
        }
    });

    it('reads the marker line', () => {
        expect(parseMarker('noise SHARECD-LAB-OK medium=10.77.0.1:/run/share-this-cd/medium type=nfs firmware=uefi secureboot=enabled uptime=24.5s'))
            .toEqual({ medium: '10.77.0.1:/run/share-this-cd/medium', type: 'nfs', firmware: 'uefi', secureBoot: 'enabled', uptime: 24.5 });
        expect(parseMarker('SHARECD-LAB-OK medium=/dev/sr0 type=iso9660 firmware=bios secureboot=n/a uptime=9.2s')?.type).toBe('iso9660');
        expect(parseMarker('echo "SHARECD-LAB-OKAY"')).toBeNull();
        expect(parseMarker('')).toBeNull();
    });

    const paths = { log: '/w/c.serial', socket: '/w/c.sock', pid: '/w/c.pid', vars: '/w/c.vars.fd', monitor: '/w/c.mon' };

    it('boots BIOS clients with the iPXE ROM and UEFI clients with OVMF\'s own PXE, in the lab namespace', () => {
        const bios = qemuArgv({ name: 'c', firmware: 'bios', workDir: '/w', netns: 'labsrv', tap: 'tap1', mac: '52:54:00:00:00:01' }, paths);
        expect(bios.slice(0, 4)).toEqual(['ip', 'netns', 'exec', 'labsrv']);
        expect(bios).toContain('virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,bootindex=0');
        expect(bios).toContain('tap,id=n0,ifname=tap1,script=no,downscript=no');
        expect(bios.join(' ')).not.toContain('OVMF');
        expect(bios).toContain(`socket,id=ser0,path=/w/c.sock,server=on,wait=off,logfile=/w/c.serial`);
        expect(bios).toContain('unix:/w/c.mon,server=on,wait=off');

        const sb = qemuArgv({ name: 'c', firmware: 'uefi-secure', workDir: '/w', netns: 'labsrv' }, paths);
        expect(sb).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd');
        expect(sb).toContain('if=pflash,format=raw,unit=1,file=/w/c.vars.fd');
        expect(sb.join(' ')).toContain(',romfile=,');
        const uefi = qemuArgv({ name: 'c', firmware: 'uefi', workDir: '/w', netns: 'labsrv' }, paths);
        expect(uefi).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd');
    });

    it('lets the boot benchmark read a CD at a chosen speed, and an UEFI client boot its NIC\'s iPXE ROM', () => {
        expect(qemuArgv({ name: 'c', firmware: 'bios', workDir: '/w', cdrom: '/i.iso', cdromBytesPerSecond: 30e6 }, paths))
            .toContain('file=/i.iso,media=cdrom,readonly=on,if=none,id=cd0,throttling.bps-read=30000000');
        expect(qemuArgv({ name: 'c', firmware: 'uefi', workDir: '/w', netns: 'labsrv', ipxe: true }, paths).join(' ')).not.toContain('romfile');
        expect(qemuArgv({ name: 'c', firmware: 'bios', workDir: '/w', netns: 'labsrv', ipxe: false }, paths).join(' ')).toContain(',romfile=,');
    });

    it('summarizes what a packet capture holds of one client', () => {
        const dump = [
            '100.000000 52:54:00:12:34:50 > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 590: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request',
            '101.500000 62:84:2c:51:bd:01 > 52:54:00:12:34:50, ethertype IPv4 (0x0800), length 342: 10.77.0.1.67 > 10.77.0.207.68: BOOTP/DHCP, Reply',
            '110.000000 52:54:00:12:34:50 > 62:84:2c:51:bd:01, ethertype IPv4 (0x0800), length 54: 10.77.0.207.49154 > 10.77.0.1.80: Flags [.], ack 1, win 0',
            '130.250000 62:84:2c:51:bd:01 > 52:54:00:12:34:50, ethertype IPv4 (0x0800), length 1514: 10.77.0.1.80 > 10.77.0.207.49154: Flags [.], seq 1:1461',
            'reading from file lan.pcap, link-type EN10MB (Ethernet)',
        ].join('\n');
        const text = summarizeCapture(dump, '52:54:00:12:34:50', 140, 2);
        expect(text.split('\n')[0]).toBe('4 packets; it last sent one 30.0 s ago, one was last sent to it 9.8 s ago. The last ones:');
        expect(text.split('\n').slice(1)).toEqual([`  ${dump.split('\n')[2]}`, `  ${dump.split('\n')[3]}`]);
        expect(summarizeCapture('', '52:54:00:12:34:50', 140)).toBe('no packet from or to 52:54:00:12:34:50 in the capture');
        expect(summarizeCapture(dump.split('\n')[1], '52:54:00:12:34:50', 102)).toMatch(/1 packets; it sent none, one was last sent to it 0.5 s ago/);
    });

    it('reads a client\'s VGA screen: pxelinux\'s menu title at the top edge and its grey loading lines', () => {
        // A screendump of a BIOS client from the netboot spec "sharing stopped while a client boots" (720x400).
        const text = ocr(`${TOP}/test/fixtures/screens/pxelinux-loading.png`, 'vga');
        expect(text).toContain('Share This CD lab live system');
        expect(text).toContain('fail-safe mode)');
        expect(text).toContain('Automatic boot in 1 second');
        expect(text).toMatch(/Loading http.*linuz\.\.\. ok/);
        expect(text).toMatch(/Loading http.*initrd\.img\.\.\.ok/);
    });

    it('explains a screen that shows why a client stopped', () => {
        // As the demo read it (OCR) off a BIOS client whose lpxelinux aborted while loading the initrd over HTTP.
        const aborted = ['ive system (Camd64)', 'Live system (Camd64 fail-safe mode)', 'Automatic boot in 1 second...',
            'Loading http:7/710.77.0.1/medium/live/ymlinuz... ok', 'Loading http:7/710.77.0.1/medium/live/initrd.img...',
            'Boot failed: press a key to retry, or wait for reset...'];
        expect(explainScreen(aborted)).toMatch(/^its boot loader \(pxelinux\) gave up while loading/);
        expect(explainScreen(['iPXE (PCI 00:03.0) starting execution...', 'No bootable device.'])).toMatch(/found nothing to boot/);
        expect(explainScreen(aborted.slice(0, 5))).toBeNull();
        expect(explainScreen([])).toBeNull();
    });

    it('boots from a CD image without a network card', () => {
        const cd = qemuArgv({ name: 'c', firmware: 'bios', workDir: '/w', cdrom: '/cache/lab.iso' }, paths);
        expect(cd[0]).toBe('qemu-system-x86_64');
        expect(cd).toContain('file=/cache/lab.iso,media=cdrom,readonly=on,if=none,id=cd0');
        expect(cd.slice(cd.indexOf('-nic'))).toEqual(['-nic', 'none']);
        expect(cd.join(' ')).not.toContain('netdev');
    });

    it('tells what a console line means, in plain words', () => {
        expect(describeConsoleLine('[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)')).toBe('the kernel 6.1.0-56-amd64 starts');
        expect(describeConsoleLine('  Station IP address is 10.77.0.207')).toBe('firmware: got the address 10.77.0.207');
        expect(describeConsoleLine('IP-Config: ens3 complete (dhcp from 10.77.0.1):')).toBe('initrd: network configured (DHCP from 10.77.0.1)');
        expect(describeConsoleLine('Begin: Trying nfsmount -o nolock -o ro  10.77.0.1:/srv/cd /run/live/medium ... done.'))
            .toBe('initrd: mounting the shared medium 10.77.0.1:/srv/cd over NFS');
        expect(describeConsoleLine('error: bad shim signature.')).toBe('GRUB error: bad shim signature.');
        expect(describeConsoleLine('[    1.5] random driver noise')).toBeNull();
    });
});

describe('the boot benchmark\'s peer setup and phases', () => {
    const peer = { medium: '/srv/live', kernel: 'live/vmlinuz', initrd: 'live/initrd.img', args: ['boot=live', 'components'], iface: 'br0',
        server: '10.77.0.1', range: { start: '10.77.0.100', end: '10.77.0.200' }, dir: '/w/peer' };

    it('is what the tutorials write: one dnsmasq with TFTP, pxelinux or shim, one entry, no menu', () => {
        const full = renderPeerDnsmasq(peer).split('\n');
        expect(full).toContain('dhcp-range=10.77.0.100,10.77.0.200,12h');
        expect(full).toContain('dhcp-boot=tag:!efi-x86_64,pxelinux.0');
        expect(full).toContain('dhcp-boot=tag:efi-x86_64,bootx64.efi');
        expect(full).toContain('enable-tftp');
        expect(full.filter(l => /ipxe|userclass|175|no-ping/i.test(l))).toEqual([]);
        const proxy = renderPeerDnsmasq({ ...peer, range: null }).split('\n');
        expect(proxy).toContain('dhcp-range=10.77.0.0,proxy');
        expect(proxy).toContain('pxe-service=x86PC,"Network boot",pxelinux');
        expect(renderPeerPxelinux(peer)).toBe('DEFAULT live\nLABEL live\n  KERNEL live/vmlinuz\n  APPEND initrd=live/initrd.img boot=live components netboot=nfs nfsroot=10.77.0.1:/srv/live ip=dhcp\n');
        expect(renderPeerGrub(peer)).toContain('set timeout=0\nmenuentry "Live" {\n\tlinux /live/vmlinuz boot=live components netboot=nfs nfsroot=10.77.0.1:/srv/live ip=dhcp\n\tinitrd /live/initrd.img\n}');
    });

    it('cuts a boot into phases from the LAN\'s capture and the console', () => {
        const mac = '52:54:00:be:4c:01';
        const t = (s: number): string => (1000 + s).toFixed(6);
        const dump = [
            `${t(-1)} ${mac} > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 442: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from ${mac}, length 400`,
            `${t(2.5)} ${mac} > ff:ff:ff:ff:ff:ff, ethertype IPv4 (0x0800), length 442: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from ${mac}, length 400`,
            `${t(2.6)} 0a:00:00:00:00:01 > ${mac}, ethertype IPv4 (0x0800), length 342: 10.77.0.1.67 > 10.77.0.157.68: BOOTP/DHCP, Reply, length 300`,
            `${t(3.1)} ${mac} > 0a:00:00:00:00:01, ethertype IPv4 (0x0800), length 88: 10.77.0.157.2070 > 10.77.0.1.69: TFTP, length 46, RRQ "pxelinux.0" octet tsize 0 blksize 1432`,
            `${t(5.0)} ${mac} > 0a:00:00:00:00:01, ethertype IPv4 (0x0800), length 128: 10.77.0.157.49152 > 10.77.0.1.80: Flags [P.], seq 1:120, ack 1, win 502, length 119: HTTP: GET /medium/live/vmlinuz HTTP/1.1`,
            `${t(9.0)} ${mac} > 0a:00:00:00:00:01, ethertype IPv4 (0x0800), length 98: 10.77.0.157.700 > 10.77.0.1.111: Flags [S], seq 1, win 64240, length 0`,
            `${t(19.0)} ${mac} > 0a:00:00:00:00:01, ethertype IPv4 (0x0800), length 98: 10.77.0.157.700 > 10.77.0.1.111: Flags [S], seq 1, win 64240, length 0`,
        ].join('\n');
        const marks = bootMarks(dump, mac.toUpperCase(), 1000, 'vmlinuz', { kernelStart: 8, initrdNetwork: 18, up: 25 });
        expect(marks).toEqual({ dhcp: 2.5, loader: 3.1, kernelRequest: 5, kernelStart: 8, initrdNetwork: 18, nfs: 19, up: 25 });
        expect(phaseLengths(marks)).toEqual({ 'firmware → DHCP': 2.5, 'DHCP → loader': 0.6, 'loader → kernel request': 1.9, 'kernel + initrd': 3,
            'kernel → initrd network': 10, 'initrd network → NFS mount': 1, 'NFS mount → system up': 6 });
        // A mark the capture lacks leaves its two phases unknown, never a wrong figure.
        const noKernel = phaseLengths({ ...marks, kernelRequest: null });
        expect(PHASES.filter(p => noKernel[p] === null)).toEqual(['loader → kernel request', 'kernel + initrd']);
        // TFTP requests count as well (the peer's pxelinux fetches the kernel over TFTP).
        const tftp = dump.replace('HTTP: GET /medium/live/vmlinuz HTTP/1.1', 'x').replace('pxelinux.0', 'live/vmlinuz');
        expect(bootMarks(tftp, mac, 1000, 'vmlinuz', { kernelStart: 8, initrdNetwork: 18, up: 25 }).kernelRequest).toBe(3.1);
    });
});
