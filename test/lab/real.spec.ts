// A real live system, made by Debian's own live-build (src/lab/liveBuild.ts: live-boot, live-config, systemd,
// a squashfs of hundreds of MB, menus we did not write), shared by the real `share-this-cd start` in the lab
// network and booted by qemu clients (TCG) all the way to the `login:` prompt on their console, nobody at the
// keyboard until then. Then the spec logs in as live-config's user, as a person at the client would, and asks
// the running system where its root came from.
import GLib from 'gi://GLib';

import { readStatus } from '../../src/backend/runtime/owner.ts';
import { LabCapture } from '../../src/lab/capture.ts';
import { LIVE_HOSTNAME, LIVE_USERNAME, type LiveBuildImage, ensureLiveBuildImage } from '../../src/lab/liveBuild.ts';
import type { LabNetOptions } from '../../src/lab/net.ts';
import { LabProcess } from '../../src/lab/share.ts';
import { LOGIN_PROMPT, type StormResult, stormReport } from '../../src/lab/storm.ts';
import { type Firmware, LabVm } from '../../src/lab/vm.ts';
import { sleep } from '../../src/shared/timers.ts';
import { CLI } from '../support/helpers.ts';
import { bootWorkDir, endBootSpec, endBootSuite, whyNotBooted } from '../support/labClients.ts';
import {
    LAB, NOTHING_LEFT, RUNTIME, RunningShare, SRV_IP, type StatusClient, leftovers, setupNet, sh, startRouterDhcp, startShare, status,
} from '../support/lab.ts';

/** Power-on to `login:` takes 100–130 s here (TCG), 150 s with a 30 s menu wait; 4 clients at once about 300 s. */
const BOOT_TIMEOUT = 360000;
const SPEC_TIMEOUT = 600000;
/** live-config's password of the live user. */
const LIVE_PASSWORD = 'live';

const vms: LabVm[] = [];
let work = '';
let share: RunningShare | null = null;
let capture: LabCapture | null = null;
const timings: string[] = [];

async function labNet(opts: LabNetOptions): Promise<void> {
    setupNet(opts);
    capture = new LabCapture(LAB.srv, 'br0', `${work}/lan.pcap`);
    await capture.start();
}

function vm(name: string, firmware: Firmware, index = 0): LabVm {
    const v = new LabVm({ name, firmware, workDir: work, netns: LAB.srv, tap: `tap${index}`, mac: `52:54:00:12:35:${(0x60 + index).toString(16)}`, memoryMiB: 1536 });
    vms.push(v);
    v.start();
    return v;
}

interface Boot {
    /** Seconds after power-on: `login:` on the console, and when the engine first said the client was up. */
    loginS: number;
    upS: number | null;
    /** The first line of systemd in the live system (its banner), seconds after power-on. */
    systemdS: number | null;
}

/**
 * Waits for `login:` on the client's console, asking the engine for its view every 2 s meanwhile (when it called
 * the client up); with `waitUp`, then for the engine to call it up. On a time-out the failure says what the
 * client showed and what the engine knew of it.
 */
async function bootToLogin(v: LabVm, waitUp: boolean, timeoutMs = BOOT_TIMEOUT): Promise<Boot> {
    const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
    let upS: number | null = null;
    let asked = 0;
    let loginS: number | null = null;
    for (;;) {
        if (loginS === null)
            loginS = v.firstSeen(LOGIN_PROMPT);
        if (upS === null && GLib.get_monotonic_time() - asked > 2e6) {
            asked = GLib.get_monotonic_time();
            if (readStatus()?.clients.find(c => c.mac === v.options.mac)?.stage === 'up')
                upS = v.uptime;
        }
        // After `login:` the engine calls it up once its reads have paused for as long as its boot read (clients.ts):
        // at most as long again as power-on to `login:`, and 30 s.
        if (loginS !== null && (!waitUp || upS !== null || v.uptime > upBound(loginS) || !v.running))
            break;
        if (loginS === null && (!v.running || GLib.get_monotonic_time() > deadline))
            throw new Error(await whyNotBooted(v, '`login:`', share, capture));
        await sleep(250);
    }
    timings.push(`${v.options.name}: login: ${loginS.toFixed(1)} s${waitUp ? `, up ${upS === null ? 'never' : `${upS.toFixed(0)} s`}` : ''}`);
    return { loginS, upS, systemdS: v.firstSeen(/Welcome to .*Debian/) };
}

/** What the running live system says of itself once logged in as live-config's user (on its serial console). */
interface Inside { medium: string; fstype: string; state: string; user: string }

async function logIn(v: LabVm): Promise<Inside> {
    await v.type(`${LIVE_USERNAME}\n`);
    expect(await v.waitForLine(/Password:/, 30000)).withContext(v.lastLines().join('\n')).not.toBeNull();
    await v.type(`${LIVE_PASSWORD}\n`);
    expect(await v.waitForLine(new RegExp(`${LIVE_USERNAME}@${LIVE_HOSTNAME}`), 60000)).withContext(v.lastLines().join('\n')).not.toBeNull();
    // The answer comes with a checksum of itself: the emulated serial line now and then doubles or drops a
    // character (seen: "10..77.0.1"), so an answer that does not match its checksum is asked for again. Its line
    // starts with its word; the typed command (echoed after the prompt) does not.
    const answer = /^SHARECD-REAL (.*) ([0-9a-f]{8})$/;
    for (let attempt = 1; attempt <= 4; attempt++) {
        const before = v.consoleLines().filter(l => answer.test(l)).length;
        await v.type('a="$(findmnt -n -o SOURCE,FSTYPE /run/live/medium) $(sudo -n systemctl is-system-running) $(id -un)"; ' +
            'echo "SHARECD-REAL $a $(printf %s "$a" | md5sum | cut -c1-8)"\n');
        const deadline = GLib.get_monotonic_time() + 60e6;
        let lines: string[] = [];
        while ((lines = v.consoleLines().filter(l => answer.test(l))).length <= before && GLib.get_monotonic_time() < deadline)
            await sleep(250);
        const m = answer.exec(lines[before] ?? '');
        if (m === null)
            break;
        if (GLib.compute_checksum_for_string(GLib.ChecksumType.MD5, m[1], -1)?.slice(0, 8) === m[2]) {
            const [medium, fstype, state, user] = m[1].split(/\s+/);
            return { medium: medium ?? '', fstype: fstype ?? '', state: state ?? '', user: user ?? '' };
        }
        print(`  ${v.options.name}: a garbled answer on the serial line, asked again: ${m[0]}`);
    }
    throw new Error(`${v.options.name}: no answer from the logged-in live system:\n  ${v.lastLines(20).join('\n  ')}`);
}

function clientOf(v: LabVm): StatusClient | undefined {
    return status().clients.find(c => c.mac === v.options.mac);
}

/** The latest the engine may call a client up whose `login:` came `loginS` after power-on (clients.ts's rule). */
function upBound(loginS: number): number {
    return 2 * loginS + 30;
}

/** The engine's "up" came once the system had started (systemd ran), and no later than its rule allows. */
function expectUpAfterStart(b: Boot): void {
    expect(b.systemdS).not.toBeNull();
    expect(b.upS).withContext('the engine never said the client was up').not.toBeNull();
    expect(b.upS as number).toBeGreaterThan(b.systemdS as number);
    expect(b.upS as number).toBeLessThan(upBound(b.loginS));
}

async function stopAndCheck(s: RunningShare): Promise<void> {
    s.signal(2);
    expect(await s.ended()).withContext(s.output).toBe(0);
    expect(s.output).toContain('Stopped: nothing of the share is left running.');
    expect(leftovers()).toEqual(NOTHING_LEFT);
}

/** Logged in as live-config's user: its medium is our NFS export and systemd has finished starting. */
async function expectRunningFromUs(client: LabVm): Promise<void> {
    const inside = await logIn(client);
    expect(inside).withContext(client.options.name).toEqual(jasmine.objectContaining({ medium: jasmine.stringMatching(ourExport), fstype: 'nfs', user: LIVE_USERNAME }));
    expect(inside.state).withContext(client.options.name).toMatch(/^(running|degraded)$/);
}

/**
 * The client to `login:` (with `up`, also until the engine called it up, once its system started), `checks` of
 * what the engine saw, then logged in (expectRunningFromUs). Then the share is stopped.
 */
async function bootLogInAndStop(client: LabVm, up: boolean, checks: () => void = () => {}): Promise<void> {
    const boot = await bootToLogin(client, up);
    if (up)
        expectUpAfterStart(boot);
    checks();
    await expectRunningFromUs(client);
    await client.kill();
    await stopAndCheck(share as RunningShare);
}

const ourExport = new RegExp(`^${SRV_IP.replace(/\./g, '\\.')}:/`);

describe('a live system made by live-build boots to login: over the network (real image, qemu)', () => {
    let image: LiveBuildImage;
    let t0 = 0;

    beforeAll(() => {
        // Built once (about 10 minutes on a cold machine, from the Debian archive; npm test starts it early), then
        // cached under /var/cache/share-this-cd.
        image = ensureLiveBuildImage('console', line => print(`  live-build: ${line}`));
        print(`live-build console image: ${image.built ? `built in ${image.seconds.toFixed(0)} s` : 'cached'} (${image.iso})`);
        work = bootWorkDir('real');
        t0 = GLib.get_monotonic_time();
    }, 3600000);
    afterEach(async () => {
        await endBootSpec(vms, share, capture);
        share = null;
        capture = null;
    }, SPEC_TIMEOUT);
    afterAll(() => endBootSuite(work, 'real-image e2e', timings, t0));

    it('--iso of live-build\'s hybrid ISO, empty LAN (full DHCP), HTTP, nobody at the keyboard: live-build\'s menus wait for a key, the netboot menus start the default entry after 30 s; a BIOS client and a UEFI client with Secure Boot enforced (Debian\'s signed chain boots Debian\'s signed kernel), switched on together, reach login:', async () => {
        // What live-build wrote (the ISO's tree): isolinux waits for a key (timeout 0), GRUB has no timeout.
        expect(sh(['cat', `${image.tree}/isolinux/isolinux.cfg`]).stdout).toMatch(/^timeout 0$/m);
        expect(sh(['grep', '-rh', 'set timeout', `${image.tree}/boot/grub`]).stdout.trim()).toBe('');
        await labNet({ taps: 2 });
        share = await startShare(['--iso', image.iso]);
        expect(share.output).toContain('full DHCP mode, HTTP on port 80');
        // The default: 30 s in every menu we serve. The lab's BIOS client is an iPXE ROM: it takes the iPXE script.
        expect(sh(['cat', `${RUNTIME}/tftp/pxelinux.cfg/default`]).stdout).toContain('\nTIMEOUT 300\n');
        expect(sh(['cat', `${RUNTIME}/tftp/grub/grub.cfg`]).stdout).toContain('\nset timeout=30\n');
        expect(sh(['cat', `${RUNTIME}/tftp/ipxe/bios.ipxe`]).stdout).toContain('\nset sharecd_timeout 30000\n');
        // Two clients on the machine's two cores: together about as long as one of them alone.
        const bios = vm('real-bios-iso', 'bios', 0);
        const secure = vm('real-uefi-secure', 'uefi-secure', 1);
        const [biosBoot] = await Promise.all([bootToLogin(bios, true), bootToLogin(secure, false)]);
        expectUpAfterStart(biosBoot);
        // Each menu waited its 30 s: the kernels came no sooner.
        for (const client of [bios, secure])
            expect(client.firstSeen(/\] Linux version /) as number).withContext(client.options.name).toBeGreaterThan(30);
        expect(secure.firstSeen(/Secure boot enabled/)).withContext('the kernel did not say Secure Boot was enforced').not.toBeNull();
        const c = clientOf(bios);
        expect(c).toEqual(jasmine.objectContaining({ arch: 'bios', stage: 'up', fetched: jasmine.arrayContaining(['menu', 'kernel', 'initrd']) }));
        expect(clientOf(secure)).toEqual(jasmine.objectContaining({ arch: 'uefi' }));
        expect(share.output).toMatch(/sent \/?ipxe\/bios\.ipxe over HTTP/);
        // A real boot reads tens of MB of the squashfs over NFS (the busybox lab image reads one).
        expect(c?.nfsBytes ?? 0).toBeGreaterThan(20 * 1024 * 1024);
        expect(share.output).toMatch(/sent \/?medium\/live\/vmlinuz\S* over HTTP/);
        for (const client of [bios, secure])
            await expectRunningFromUs(client);
        await Promise.all([bios.kill(), secure.kill()]);
        await stopAndCheck(share);
    }, SPEC_TIMEOUT);

    it('UEFI next to the LAN\'s router (proxy-DHCP): the client takes its address from the router and reaches login:', async () => {
        await labNet({ taps: 1, router: true });
        startRouterDhcp();
        share = await startShare(['--medium', image.tree, '--menu-timeout', '2']);
        expect(share.output).toContain('proxy-DHCP mode');
        const client = vm('real-uefi-proxy', 'uefi');
        await bootLogInAndStop(client, false, () => {
            expect(clientOf(client)?.ip).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)$/);
        });
    }, SPEC_TIMEOUT);

    it('a boot storm (npm run bench:storm): four clients (BIOS and UEFI) switched on at once all reach login:', async () => {
        // The benchmark itself, as its own process, as `npm run bench:storm` runs it.
        // It ends at the last `login:` (whether the engine calls each up is shown by the first spec; here it may say so).
        const bench = new LabProcess(['gjs', '-m', `${GLib.path_get_dirname(CLI)}/bench-storm.js`, '--json', '--clients', '4', '--up-wait', '0']);
        const status = await bench.ended(BOOT_TIMEOUT * 3);
        const json = bench.output.slice(bench.output.indexOf('{'));
        expect(status).withContext(bench.output).toBe(0);
        const r = JSON.parse(json) as StormResult;
        for (const line of stormReport(r))
            print(line);
        expect(r.clients.map(c => c.firmware)).toEqual(['bios', 'uefi', 'bios', 'uefi']);
        for (const c of r.clients) {
            expect(c.loginS).withContext(`${c.name} never showed login:\n  ${c.lastLines.join('\n  ')}`).not.toBeNull();
            expect(c.nfsBytes).toBeGreaterThan(20 * 1024 * 1024);
        }
        expect(Object.keys(r.pssKiB)).toEqual(jasmine.arrayContaining(['share-this-cd', 'dnsmasq']));
        expect(r.serverCpuS).toBeGreaterThan(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }, SPEC_TIMEOUT * 2);
});
