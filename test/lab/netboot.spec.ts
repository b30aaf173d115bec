// A real client boots the shared live system: the lab live image (src/lab/image.ts), shared by the real
// `share-this-cd start` in the lab network, booted by qemu clients (TCG) from the network all the way to the
// live system's own init on the NFS-served squashfs. Assertions come from what the clients print (the
// marker line) and what the engine reports (its output, `status --json`), never from our own config files.
import GLib from 'gi://GLib';

import { isRunning } from '../../src/shared/stages.ts';
import { LabCapture } from '../../src/lab/capture.ts';
import { type LabImage, ensureLabImage } from '../../src/lab/image.ts';
import { type LabNetOptions, namespaces } from '../../src/lab/net.ts';
import { LabProcess } from '../../src/lab/share.ts';
import { CLI } from '../support/helpers.ts';
import { type Firmware, LabVm, type Marker } from '../../src/lab/vm.ts';
import {
    LAB, LAB_STATE_DIR, NOTHING_LEFT, RUNTIME, RunningShare, SRV_IP, type Status, type StatusClient, cliInServer, leftovers, processesMatching, setupNet, sh, sleep, startRouterDhcp, startShare,
    waitStatus,
} from '../support/lab.ts';
import { bootWorkDir, endBootSpec, endBootSuite, whyNotBooted } from '../support/labClients.ts';

const BOOT_TIMEOUT = 240000;
/** Its root is mounted over NFS: the tracker's running stage, or up once its system has started. */
const RUNNING = jasmine.stringMatching(/^(running|up)$/);
const SPEC_TIMEOUT = 420000;

/** The medium as the client mounted it: our NFS export of the tree (directly, or through the engine's alias). */
function sharedRoot(tree: string): jasmine.AsymmetricMatcher<string> {
    const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return jasmine.stringMatching(new RegExp(`^${literal(SRV_IP)}:(${literal(tree)}|/run/share-this-cd/(medium|nfs))$`));
}

const vms: LabVm[] = [];
let work = '';
/** The share of the running spec. */
let share: RunningShare | null = null;
/** The lab LAN's packets during the running spec (headers), to explain a client that does not boot. */
let capture: LabCapture | null = null;

/** The lab network for one spec, with its capture running. */
async function labNet(opts: LabNetOptions): Promise<void> {
    setupNet(opts);
    capture = new LabCapture(LAB.srv, 'br0', `${work}/lan.pcap`);
    await capture.start();
}
const timings: string[] = [];

/** A client on tap`index`; `ipxe`: its NIC's iPXE ROM boots (default: BIOS yes, UEFI the firmware's own PXE). */
function vm(name: string, firmware: Firmware, index = 0, ipxe?: boolean, secondNic?: boolean): LabVm {
    const v = new LabVm({ name, firmware, workDir: work, netns: LAB.srv, tap: `tap${index}`, mac: `52:54:00:12:34:${(0x50 + index).toString(16)}`, ipxe, secondNic });
    vms.push(v);
    v.start();
    return v;
}

/**
 * Waits for the client's marker. On a time-out the failure shows what a person at the client would see (its
 * last console lines) and what the engine knows of it.
 */
async function marker(v: LabVm, timeoutMs = BOOT_TIMEOUT): Promise<Marker> {
    const m = await v.waitForMarker(timeoutMs);
    if (m === null)
        throw new Error(await whyNotBooted(v, 'the live system', share, capture));
    timings.push(`${v.options.name}: ${m.seconds.toFixed(1)} s`);
    return m;
}

async function stopAndCheck(share: RunningShare): Promise<void> {
    share.signal(2);
    expect(await share.ended()).withContext(share.output).toBe(0);
    expect(share.output).toContain('Stopped: nothing of the share is left running.');
    expect(leftovers()).toEqual(NOTHING_LEFT);
}

function clientOf(s: Status, v: LabVm): StatusClient | undefined {
    return s.clients.find(c => c.mac === v.options.mac);
}

/** An unsigned copy of the image (hard links, but a kernel with its Secure Boot signature removed). */
function unsignedVariant(image: LabImage): string {
    const dir = `${work}/unsigned`;
    const must = (argv: string[]): void => {
        const r = sh(argv);
        if (r.status !== 0)
            throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    };
    must(['cp', '-al', image.tree, dir]);
    must(['rm', `${dir}/live/vmlinuz`]);
    must(['cp', `${image.tree}/live/vmlinuz`, `${dir}/live/vmlinuz`]);
    must(['sbattach', '--remove', `${dir}/live/vmlinuz`]);
    must(['chmod', '644', `${dir}/live/vmlinuz`]);
    return dir;
}

describe('a real client boots the shared live system (qemu)', () => {
    let image: LabImage;
    const t0 = GLib.get_monotonic_time();

    beforeAll(() => {
        image = ensureLabImage();
        work = bootWorkDir('netboot');
    }, SPEC_TIMEOUT);
    afterEach(async () => {
        await endBootSpec(vms, share, capture);
        share = null;
        capture = null;
    }, SPEC_TIMEOUT);
    afterAll(() => endBootSuite(work, 'netboot e2e', timings, t0));

    it('1. BIOS client with a plain PXE ROM (the lab\'s switch: iPXE taken for one), empty LAN (full DHCP): lpxelinux, kernel and initrd over HTTP; only allowed computers: it waits, is allowed, boots', async () => {
        await labNet({ taps: 1 });
        // A library's room: only the computers allowed may start, and this one is not (yet).
        sh(['rm', '-rf', LAB_STATE_DIR]);
        expect(cliInServer(['computers', 'access', 'allowed']).status).toBe(0);
        share = await startShare(['--medium', image.tree], { SHARE_THIS_CD_LAB_IPXE_AS_PXE: '1' });
        expect(share.output).toContain('full DHCP mode, HTTP on port 80');
        const client = vm('bios-full-http', 'bios');
        // Its firmware asks and gets no answer at all (not even an address): it keeps asking.
        await waitStatus(x => clientOf(x, client)?.stage === 'waiting', 'the client waiting to be allowed', 60000);
        expect(share.output).not.toMatch(/sent \S+ over TFTP/);
        // Allowed (the share follows the settings at once): its firmware's next request is answered.
        expect(cliInServer(['computers', 'allow', client.options.mac as string, '--name', 'Desk 1']).status).toBe(0);
        const m = await marker(client);
        expect(m).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware: 'bios' }));
        // The engine saw it through its stages and sent kernel and initrd over HTTP.
        const s = await waitStatus(x => isRunning(clientOf(x, client) ?? { stage: '' }), 'the client running', 10000);
        expect(clientOf(s, client)).toEqual(jasmine.objectContaining({ arch: 'bios', stage: RUNNING }));
        expect(clientOf(s, client)?.fetched).toEqual(jasmine.arrayContaining(['bootloader', 'kernel', 'initrd']));
        expect(clientOf(s, client)?.ip).toMatch(/^10\.77\.0\.\d+$/);
        expect(share.output).toMatch(/sent \/?medium\/live\/vmlinuz over HTTP/);
        expect(share.output).toMatch(/sent \/?medium\/live\/initrd\.img over HTTP/);
        expect(share.output).toMatch(/sent \/?lpxelinux\.0 over TFTP/);
        expect(share.output).not.toContain('ipxe/');
        expect(clientOf(s, client)).toEqual(jasmine.objectContaining({ name: 'Desk 1', access: 'allowed' }));
        await client.powerOff();
        await stopAndCheck(share);
    }, SPEC_TIMEOUT);

    it('1b. iPXE clients, BIOS and UEFI without Secure Boot, empty LAN (full DHCP): the iPXE script, kernel and initrd over HTTP, no boot loader; BOOTIF= only with two cards', async () => {
        await labNet({ taps: 2 });
        share = await startShare(['--medium', image.tree]);
        // The BIOS computer has a second network card (on nothing): BOOTIF= tells the initramfs which one booted.
        const clients = [vm('ipxe-bios', 'bios', 0, undefined, true), vm('ipxe-uefi', 'uefi', 1, true)];
        const markers = await Promise.all(clients.map(c => marker(c, BOOT_TIMEOUT * 1.5)));
        for (const [i, firmware] of (['bios', 'uefi'] as const).entries())
            expect(markers[i]).withContext(firmware).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware, ...firmware === 'uefi' ? { secureBoot: 'disabled' } : {} }));
        const s = await waitStatus(x => clients.every(c => isRunning(clientOf(x, c) ?? { stage: '' })), 'both clients running', 10000);
        for (const [i, c] of clients.entries()) {
            expect(clientOf(s, c)?.arch).toBe(['bios', 'uefi'][i]);
            expect(clientOf(s, c)?.fetched).withContext(c.options.name).toEqual(jasmine.arrayContaining(['menu', 'kernel', 'initrd']));
            expect(clientOf(s, c)?.fetched).withContext(c.options.name).not.toContain('bootloader');
        }
        const commandLine = (c: LabVm): string => c.consoleLines().find(l => /Kernel command line:/.test(l)) ?? '(none on the console)';
        expect(commandLine(clients[0])).toMatch(/ BOOTIF=01-52-54-00-12-34-50( |$)/);
        expect(commandLine(clients[1])).toMatch(/Kernel command line: .*boot=live/);
        expect(commandLine(clients[1])).not.toContain('BOOTIF=');
        expect(share.output).toMatch(/sent \/?ipxe\/bios\.ipxe over HTTP/);
        expect(share.output).toMatch(/sent \/?ipxe\/uefi\.ipxe over HTTP/);
        expect(share.output).not.toMatch(/sent \/?(lpxelinux\.0|bootx64\.efi)/);
        await Promise.all(clients.map(c => c.powerOff()));
        await stopAndCheck(share);
    }, SPEC_TIMEOUT * 2);

    it('2. BIOS client, LAN with a router\'s DHCP (proxy-DHCP), kernel and initrd over TFTP only; only allowed computers, this one among them', async () => {
        await labNet({ taps: 1, router: true });
        startRouterDhcp();
        // Only the computers allowed may start; this one is (its firmware gives up soon next to a router's
        // DHCP when no boot answer comes, so the waiting is shown in full DHCP, spec 1).
        expect(cliInServer(['computers', 'access', 'allowed']).status).toBe(0);
        expect(cliInServer(['computers', 'allow', '52:54:00:12:34:50', '--name', 'Desk 2']).status).toBe(0);
        share = await startShare(['--medium', image.tree, '--no-http']);
        expect(share.output).toContain('proxy-DHCP mode, TFTP only');
        const client = vm('bios-proxy-tftp', 'bios');
        expect(client.options.mac).toBe('52:54:00:12:34:50');
        const m = await marker(client);
        expect(m).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware: 'bios' }));
        // Its address came from the router's DHCP server, not from us.
        const s = await waitStatus(x => isRunning(clientOf(x, client) ?? { stage: '' }), 'the client running', 10000);
        expect(clientOf(s, client)?.ip).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)$/);
        expect(GLib.file_get_contents(LAB.routerLeases)[1].length).toBeGreaterThan(0);
        expect(new TextDecoder().decode(GLib.file_get_contents(LAB.routerLeases)[1])).toContain(client.options.mac as string);
        expect(share.output).toMatch(/sent \/?medium\/live\/vmlinuz over TFTP/);
        expect(share.output).not.toContain('over HTTP');
        expect(clientOf(s, client)).toEqual(jasmine.objectContaining({ name: 'Desk 2', access: 'allowed' }));
        await client.powerOff();
        await stopAndCheck(share);
        sh(['rm', '-rf', LAB_STATE_DIR]);
    }, SPEC_TIMEOUT);

    it('3. UEFI client (OVMF), full DHCP: shim → signed GRUB → signed kernel', async () => {
        await labNet({ taps: 1 });
        share = await startShare(['--medium', image.tree]);
        const client = vm('uefi-full', 'uefi');
        const m = await marker(client);
        expect(m).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware: 'uefi', secureBoot: 'disabled' }));
        const s = await waitStatus(x => isRunning(clientOf(x, client) ?? { stage: '' }), 'the client running', 10000);
        expect(clientOf(s, client)).toEqual(jasmine.objectContaining({ arch: 'uefi', stage: RUNNING }));
        await client.powerOff();
        await stopAndCheck(share);
    }, SPEC_TIMEOUT);

    it('4. UEFI client with Secure Boot enforced: the signed chain boots, an unsigned kernel is refused', async () => {
        await labNet({ taps: 1 });
        share = await startShare(['--medium', image.tree]);
        const client = vm('uefi-secure', 'uefi-secure');
        const m = await marker(client);
        expect(m).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware: 'uefi', secureBoot: 'enabled' }));
        await client.powerOff();
        await stopAndCheck(share);

        // The same setup with the kernel's signature removed: GRUB (verifying through shim) refuses it.
        const unsigned = unsignedVariant(image);
        share = await startShare(['--medium', unsigned]);
        const refused = vm('uefi-secure-unsigned', 'uefi-secure');
        const said = await refused.waitForLine(/bad shim signature|Security Violation|verification failed/i, BOOT_TIMEOUT);
        expect(said).withContext(refused.lastLines().join('\n')).not.toBeNull();
        const s = await waitStatus(x => clientOf(x, refused)?.fetched.includes('kernel') ?? false, 'the unsigned kernel fetched', 10000);
        expect(isRunning(clientOf(s, refused) ?? { stage: '' })).toBe(false);
        expect(await refused.waitForMarker(5000)).toBeNull();
        await refused.kill();
        await stopAndCheck(share);
    }, SPEC_TIMEOUT * 2);

    it('5. UEFI client, LAN with a router\'s DHCP (proxy-DHCP): boots with Secure Boot off, and the user is told why it must be off', async () => {
        await labNet({ taps: 1, router: true });
        startRouterDhcp();
        share = await startShare(['--medium', image.tree]);
        expect(share.output).toContain('proxy-DHCP mode');
        expect(share.output).toContain('UEFI computers boot through proxy-DHCP only with Secure Boot switched off');
        const client = vm('uefi-proxy', 'uefi');
        const m = await marker(client);
        expect(m).toEqual(jasmine.objectContaining({ medium: sharedRoot(image.tree), type: 'nfs', firmware: 'uefi' }));
        const s = await waitStatus(x => isRunning(clientOf(x, client) ?? { stage: '' }), 'the client running', 10000);
        expect(clientOf(s, client)?.ip).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)$/);
        await client.powerOff();
        await stopAndCheck(share);
    }, SPEC_TIMEOUT);

    it('6. three clients at once (BIOS, UEFI, UEFI with Secure Boot): all boot; the tracker counts 3 running, then 0', async () => {
        await labNet({ taps: 3 });
        share = await startShare(['--medium', image.tree]);
        const clients = [vm('mixed-bios', 'bios', 0), vm('mixed-uefi', 'uefi', 1), vm('mixed-uefi-sb', 'uefi-secure', 2)];
        const markers = await Promise.all(clients.map(c => marker(c, BOOT_TIMEOUT * 1.5)));
        expect(markers.map(m => [m.type, m.firmware])).toEqual([['nfs', 'bios'], ['nfs', 'uefi'], ['nfs', 'uefi']]);
        const s = await waitStatus(x => x.clientCount === 3 && x.clients.every(isRunning), '3 running clients', 15000);
        expect(clients.map(c => clientOf(s, c)?.arch)).toEqual(['bios', 'uefi', 'uefi']);
        await share.waitFor(/computers booting: 3\)/, 5000);
        await Promise.all(clients.map(c => c.powerOff()));
        // Switched-off clients never close their NFS connections: TCP keepalive finds them dead, then the
        // tracker reports them gone (SHARE_THIS_CD_GONE_AFTER=4 in the lab).
        const after = await waitStatus(x => x.clientCount === 0, 'no client any more', 120000);
        expect(after.clients.map(c => c.stage)).toEqual(['gone', 'gone', 'gone']);
        await stopAndCheck(share);
    }, SPEC_TIMEOUT * 2);

    it('7. the boot benchmark, stopped by SIGTERM while our share serves and by Ctrl-C while the peer\'s servers serve, leaves nothing', async () => {
        // What a stopped benchmark could leave: its namespaces, its client, a share's or the peer's daemons, files.
        const left = (): string[] => {
            const found = [...namespaces().filter(n => n.startsWith('bboot')), ...processesMatching(/share-this-cd-bench-boot-|\/run\/share-this-cd\//)];
            if (GLib.file_test(RUNTIME, GLib.FileTest.EXISTS))
                found.push(RUNTIME);
            found.push(...sh(['sh', '-c', 'ls -d /tmp/share-this-cd-bench-boot-* 2>/dev/null']).stdout.split('\n').filter(l => l !== ''));
            return found;
        };
        expect(left()).toEqual([]);
        const bench = `${GLib.path_get_dirname(CLI)}/bench-boot.js`;
        for (const [signal, side, status] of [[15, 'ours', 143], [2, 'peer', 130]] as const) {
            const run = new LabProcess(['gjs', '-m', bench, '--runs', '1']);
            try {
                // Ours boots first, then the peer's: stop while the client boots from the side wanted.
                if (side === 'peer')
                    await run.waitFor(/round 1, BIOS, empty LAN, ours: /, BOOT_TIMEOUT);
                for (let i = 0; i < 600 && sh(['pgrep', '-f', 'qemu-system-x86_64 .*share-this-cd-bench-boot-']).stdout.trim() === ''; i++)
                    await sleep(100);
                await sleep(3000);
                expect(left().some(l => /qemu-system/.test(l))).withContext(`${side}: a client booting`).toBeTrue();
                run.signal(signal);
                expect(await run.ended(60000)).withContext(run.output).toBe(status);
                expect(left()).withContext(`${side}, signal ${signal}`).toEqual([]);
            } finally {
                run.signal(9);
            }
        }
    }, SPEC_TIMEOUT);

    describe('what a user meets when things go wrong', () => {
        it('sharing stopped while a client boots: the tool says so, nothing is left, the client does not finish', async () => {
            await labNet({ taps: 1 });
            share = await startShare(['--medium', image.tree]);
            const client = vm('stopped-midway', 'bios');
            await waitStatus(x => clientOf(x, client)?.fetched.includes('kernel') ?? false, 'the kernel fetched', BOOT_TIMEOUT);
            await stopAndCheck(share);
            await share.waitFor(/Note: 1 computer was still starting from this share: it will not finish booting\./, 5000);
            // What the lab shows of a BIOS client that does not boot: its screen, read by OCR (the iPXE script's menu
            // or its download lines and its failure, or the kernel's first lines).
            expect((await client.screenText()).join('\n')).withContext('the screen').toMatch(/Share This CD lab live system|iPXE|http:\/\/10\.77\.0\.1|Could not start this entry|Linux version|Decompressing/i);
            expect(await client.waitForMarker(60000)).toBeNull();
        }, SPEC_TIMEOUT);

        it('a second share started in the same lab while a client boots is refused; the first one keeps serving', async () => {
            await labNet({ taps: 1 });
            share = await startShare(['--medium', image.tree]);
            const client = vm('second-share', 'bios');
            await waitStatus(x => clientOf(x, client) !== undefined, 'the client', BOOT_TIMEOUT);
            const second = cliInServer(['start', '--medium', image.tree]);
            expect(second.status).toBe(1);
            expect(second.stderr).toMatch(/already shar/i);
            const m = await marker(client);
            expect(m.medium).toEqual(sharedRoot(image.tree));
            await client.powerOff();
            await stopAndCheck(share);
        }, SPEC_TIMEOUT);

        it('a client that does not boot times out with its last console lines and the engine\'s view', async () => {
            await labNet({ taps: 1 });
            // The medium's initrd is damaged (random bytes): the kernel starts, then cannot find its root.
            const broken = `${work}/broken`;
            sh(['cp', '-al', image.tree, broken]);
            sh(['rm', `${broken}/live/initrd.img`]);
            sh(['sh', '-c', `head -c 1000000 /dev/urandom > ${broken}/live/initrd.img && chmod 644 ${broken}/live/initrd.img`]);
            share = await startShare(['--medium', broken]);
            const client = vm('broken-medium', 'bios');
            expect(await client.waitForLine(/Kernel panic/, BOOT_TIMEOUT)).not.toBeNull();
            const error = await marker(client, 3000).then(() => null, (e: Error) => e);
            expect(error?.message).toMatch(/broken-medium \(BIOS\) did not reach the live system in \d+ s\./);
            expect(error?.message).toMatch(/Last console lines:\n(.|\n)*panic/);
            expect(error?.message).toMatch(/The engine's view of 52:54:00:12:34:50: \{.*"arch":"bios"/);
            expect(error?.message).toMatch(/What the lab LAN carried of it: \d+ packets; it last sent one [\d.]+ s ago, one was last sent to it [\d.]+ s ago/);
            expect(error?.message).toMatch(/The engine's lines about it:\n.*52:54:00:12:34:50/);
            expect(error?.message).toMatch(/The server's TCP sockets to it \(ss -tino\):\n +State +Recv-Q +Send-Q/);
            await client.kill();
            await stopAndCheck(share);
        }, SPEC_TIMEOUT);
    });
});

