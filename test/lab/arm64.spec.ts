// ARM64 computers (root): qemu-system-aarch64's virt machine with AAVMF (UEFI, TCG) booting from the network.
// An ARM64 medium (src/lab/arm64.ts: Debian's signed arm64 shim, GRUB network image and kernel in its EFI/BOOT
// and live/) is shared by the real `share-this-cd start`: the client gets the medium's own shim and GRUB, GRUB
// reads our menu, and the medium's ARM64 kernel starts on the client (the lab proves the boot up to there: an
// arm64 live-boot initrd cannot be built on this x86-64 machine). An x86-64 medium shown to the same client
// gets it no boot answer, and the engine lists it as a computer that cannot start this CD.
import GLib from 'gi://GLib';

import { ARM64_KERNEL_STARTED, ensureArm64Medium } from '../../src/lab/arm64.ts';
import { LabVm } from '../../src/lab/vm.ts';
import { LabCapture } from '../../src/lab/capture.ts';
import {
    LAB, NOTHING_LEFT, SRV_IP, type RunningShare, type Status, leftovers, makeMedium, setupNet, sh, sleep, startRouterDhcp, startShare, status, teardownNet,
    waitStatus,
} from '../support/lab.ts';

const BOOT_TIMEOUT = 180000;
const SPEC_TIMEOUT = 360000;
const MAC = '52:54:00:a6:40:01';

describe('ARM64 computers (qemu-system-aarch64 + AAVMF)', () => {
    let work = '';
    let share: RunningShare | null = null;
    let vm: LabVm | null = null;

    beforeAll(() => {
        work = GLib.dir_make_tmp('share-this-cd-arm64-XXXXXX');
        sh(['chmod', '755', work]);
    });
    afterEach(async () => {
        await vm?.kill();
        vm?.removeFiles();
        vm = null;
        if (share?.running) {
            share.signal(2);
            await share.ended().catch(() => 0);
        }
        share = null;
        teardownNet();
    }, SPEC_TIMEOUT);
    afterAll(() => {
        sh(['rm', '-rf', work]);
    });

    function client(): LabVm {
        vm = new LabVm({ name: 'arm64', firmware: 'uefi-arm64', workDir: work, netns: LAB.srv, tap: 'tap0', mac: MAC });
        vm.start();
        return vm;
    }

    function clientOf(s: Status): Status['clients'][number] | undefined {
        return s.clients.find(c => c.mac === MAC);
    }

    async function stopAndCheck(s: RunningShare): Promise<void> {
        s.signal(2);
        expect(await s.ended()).withContext(s.output).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }

    it('an ARM64 medium: the client gets the medium\'s own shim and GRUB, our menu, and starts the medium\'s ARM64 kernel', async () => {
        const medium = ensureArm64Medium();
        setupNet({ taps: 1 });
        share = await startShare(['--medium', medium.tree]);
        expect(share.output).toContain('full DHCP mode');
        const v = client();
        const started = await v.waitForLine(ARM64_KERNEL_STARTED, BOOT_TIMEOUT);
        expect(started).withContext(`console:\n${v.lastLines(25).join('\n')}\nengine:\n${share.output}`).not.toBeNull();
        // The engine saw an ARM64 computer fetch the medium's loaders, our menu and the kernel.
        expect(share.output).toMatch(new RegExp(`${MAC} \\(UEFI ARM64\\) \\S+: loading — sent bootaa64\\.efi over TFTP`));
        // (the engine prints a computer's first fetch of each kind: GRUB, a second boot loader, shows in its
        // menu fetch; only GRUB reads grub/grub.cfg)
        expect(share.output).toMatch(/\(UEFI ARM64\) \S+: loading — sent grub\/grub\.cfg over TFTP/);
        expect(share.output).toMatch(/sent \/?medium\/live\/vmlinuz over (TFTP|HTTP)/);
        const s = status();
        expect(clientOf(s)).toEqual(jasmine.objectContaining({ arch: 'uefi-arm64' }));
        expect(clientOf(s)?.fetched).toEqual(jasmine.arrayContaining(['bootloader', 'menu', 'kernel']));
        await v.kill();
        await stopAndCheck(share);
    }, SPEC_TIMEOUT);

    it('an x86-64 medium: the ARM64 client gets no boot answer and is listed as unable to start this CD', async () => {
        const medium = makeMedium();
        try {
            setupNet({ taps: 1 });
            share = await startShare(['--medium', medium]);
            const v = client();
            const s = await waitStatus(x => clientOf(x)?.stage === 'cannot-boot', 'the ARM64 client listed', BOOT_TIMEOUT);
            expect(clientOf(s)).toEqual(jasmine.objectContaining({ arch: 'uefi-arm64', stage: 'cannot-boot', detail: 'cannot start this CD (UEFI ARM64)' }));
            expect(s.clientCount).toBe(0);
            // (status.json is written before the line reaches us)
            await share.waitFor(new RegExp(`${MAC} \\(UEFI ARM64\\)( \\S+)?: cannot-boot — cannot start this CD \\(UEFI ARM64\\)`), 5000);
            // It never fetched anything from us: no boot file was offered to it.
            expect(share.output).not.toMatch(new RegExp(`${MAC}.*loading`));
            expect(clientOf(status())?.fetched ?? []).toEqual([]);
            await v.kill();
            await stopAndCheck(share);
        } finally {
            sh(['rm', '-rf', medium]);
        }
    }, SPEC_TIMEOUT);

    it('an x86-64 medium behind a router\'s DHCP (proxy-DHCP): not one packet from our DHCP server reaches the ARM64 client', async () => {
        const medium = makeMedium();
        let capture: LabCapture | null = null;
        try {
            setupNet({ taps: 1, router: true });
            startRouterDhcp();
            capture = new LabCapture(LAB.srv, 'br0', `${work}/proxy.pcap`);
            await capture.start();
            share = await startShare(['--medium', medium]);
            expect(share.output).toContain('proxy-DHCP mode');
            client();
            const s = await waitStatus(x => clientOf(x)?.stage === 'cannot-boot', 'the ARM64 client listed', BOOT_TIMEOUT);
            expect(clientOf(s)?.detail).toBe('cannot start this CD (UEFI ARM64)');
            // Its PXE requests keep coming for a while: none is answered by us (dnsmasq logs them proxy-ignored).
            await sleep(8000);
            const fromUs = sh(['tcpdump', '-r', capture.file, '-nn', `udp and src host ${SRV_IP} and (src port 67 or src port 4011)`]);
            expect(fromUs.status).withContext(fromUs.stderr).toBe(0);
            expect(fromUs.stdout.trim()).withContext('DHCP packets from our server').toBe('');
            // The router did answer it (it has an address: this is the LAN working, not a dead client).
            expect(sh(['tcpdump', '-r', capture.file, '-nn', 'udp and src port 67']).stdout.trim()).not.toBe('');
            await stopAndCheck(share);
        } finally {
            await capture?.stop();
            sh(['rm', '-rf', medium]);
        }
    }, SPEC_TIMEOUT);
});
