// The installed package under a real systemd (PID 1): `npm run deb` builds the .deb, a Debian 12 machine
// (systemd-nspawn, src/lab/machine.ts) installs it with apt-get and boots on a lab network namespace whose
// bridge also holds qemu clients. Its live user shares through the helper that D-Bus activates through
// systemd, polkit decides with the shipped rule, and real clients boot the lab live image from it.
//
// "A live session" is the kernel command line (boot=casper): the machine's kernel is the host's, so the lab
// binds a file over /proc/cmdline — in the machine's root namespace (for polkit's live-session check) and, as
// a drop-in of the helper's unit (BindReadOnlyPaths=), in the helper's own mount namespace, which has a /proc
// of its own. The live user's session is `runuser -l live` (PAM with pam_systemd: logind registers a session,
// as for a login on a console; an autologin getty would need a terminal the test would then have to drive).
import GLib from 'gi://GLib';

import { sleep } from '../../src/shared/timers.ts';
import { explainScreen } from '../../src/cli/demo.ts';
import { removeTree } from '../../src/shared/fsutil.ts';
import { type LabImage, ensureLabImage } from '../../src/lab/image.ts';
import { LIVE_USER, LabMachine, ensureSystemRoot } from '../../src/lab/machine.ts';
import { LabNet, sh } from '../../src/lab/net.ts';
import { LabProcess } from '../../src/lab/share.ts';
import { type Firmware, LabVm, type Marker } from '../../src/lab/vm.ts';
import { TOP } from '../support/helpers.ts';

const UNIT = 'share-this-cd-helper.service';
const NET = new LabNet('sys');
const LIVE_CMDLINE = 'BOOT_IMAGE=/casper/vmlinuz boot=casper quiet splash ---';
const CMDLINE_FILE = '/var/lib/share-this-cd-lab/cmdline';
const DROP_IN = `/etc/systemd/system/${UNIT}.d/lab-live-cmdline.conf`;
const ISO = `/home/${LIVE_USER}/lab.iso`;
/** Where udisks would mount a second live USB stick: a path with a space, so the engine exports an alias. */
const STICK = '/media/live/Lab CD';
/** The exposure `systemd-analyze security` gave the unit before it ever ran under systemd. */
const EXPOSURE_BEFORE = 4.2;
const BOOT_TIMEOUT = 300000;
const SPEC_TIMEOUT = 600000;
const READY = /^Start the other computers from the network/;

let machine: LabMachine;
let image: LabImage;
let work = '';
const vms: LabVm[] = [];
const timings: string[] = [];

function must(argv: string[]): string {
    const r = machine.exec(argv);
    if (r.status !== 0)
        throw new Error(`${argv.join(' ')} (in the machine) failed (${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
}

/** Runs a command line as the live user in a login session; resolves with its status and output. */
async function asLive(command: string, timeoutMs = 120000): Promise<{ status: number; output: string }> {
    const p = new LabProcess(machine.asUser(LIVE_USER, command));
    const status = await p.ended(timeoutMs);
    return { status, output: p.output };
}

function unitProperty(name: string): string {
    return must(['systemctl', 'show', UNIT, '-p', name, '--value']).trim();
}

/** The helper's own lines in the journal of this boot, as they read. */
function helperJournal(): string {
    return must(['journalctl', '-b', '-u', UNIT, '--no-pager', '-o', 'cat']);
}

/** /proc/cmdline of the machine's root namespace reads like a live session's (bound since its last boot). */
let cmdlineBound = false;

/** Whether the machine is a live session (boot=casper on the kernel command line) or an installed system. */
function liveSession(on: boolean): void {
    if (on && !cmdlineBound)
        must(['mount', '--bind', CMDLINE_FILE, '/proc/cmdline']);
    if (!on && cmdlineBound)
        must(['umount', '/proc/cmdline']);
    cmdlineBound = on;
    if (on)
        GLib.file_set_contents(`${machine.merged}${DROP_IN}`, `[Service]\nBindReadOnlyPaths=${CMDLINE_FILE}:/proc/cmdline\n`);
    else
        GLib.unlink(`${machine.merged}${DROP_IN}`);
    must(['systemctl', 'daemon-reload']);
}

/** Mount points under the runtime folder in the machine's root (host) namespace: what the kernel's nfsd sees. */
function hostMounts(): string[] {
    return must(['cat', '/proc/1/mountinfo']).split('\n').map(l => l.split(' ')).filter(f => f[4]?.startsWith('/run/share-this-cd/'))
        .map(f => `${f[4]} ${f[5]}`);
}

function vm(name: string, firmware: Firmware, tap: number): LabVm {
    const v = new LabVm({ name, firmware, workDir: work, netns: NET.srv, tap: `tap${tap}`, mac: `52:54:00:5e:00:${(0x10 + tap).toString(16)}` });
    vms.push(v);
    v.start();
    return v;
}

async function boots(v: LabVm): Promise<Marker> {
    const m = await v.waitForMarker(BOOT_TIMEOUT);
    if (m === null) {
        // BIOS firmware, iPXE and pxelinux write to the screen only: the screen says how far the client came.
        const screen = await v.screenText();
        const why = explainScreen(screen);
        throw new Error(`${v.options.name} did not reach the live system in ${Math.round(v.uptime)} s. Last console lines:\n  ${v.lastLines().join('\n  ')}\n` +
            `Its screen (OCR):\n  ${screen.slice(-12).join('\n  ')}${why ? `\n  → ${why}` : ''}\n` +
            `The DHCP leases: ${machine.exec(['cat', '/run/share-this-cd/dnsmasq.leases']).stdout.trim()}\nThe helper's journal:\n${helperJournal()}`);
    }
    timings.push(`${v.options.name}: ${m.seconds.toFixed(1)} s`);
    await v.kill();
    return m;
}

/** Processes of the helper's cgroup other than the helper itself (host PIDs, with their names). */
function helperChildren(): string[] {
    const out: string[] = [];
    for (const pid of sh(['ip', 'netns', 'pids', NET.srv]).stdout.split('\n').filter(p => /^\d+$/.test(p))) {
        const cgroup = sh(['cat', `/proc/${pid}/cgroup`]).stdout;
        const comm = sh(['cat', `/proc/${pid}/comm`]).stdout.trim();
        if (cgroup.includes(`/${UNIT}`) && comm !== 'share-this-cd-h' && comm !== 'gjs')
            out.push(comm);
    }
    return [...new Set(out)].sort();
}

interface Left {
    daemons: string[];
    mounts: string[];
    addresses: string[];
    runtime: string[];
    listening: string[];
}

/** What a share could leave behind in the machine: daemons, mounts, addresses, runtime files, listening ports. */
function leftovers(): Left {
    const mountsOf = (pid: string): string[] => machine.exec(['cat', `/proc/${pid}/mountinfo`]).stdout.split('\n')
        .map(l => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith('/run/share-this-cd/'));
    const helper = unitProperty('MainPID');
    const mounts = [...mountsOf('1'), ...(helper !== '0' ? mountsOf(helper) : [])];
    const addresses = sh(['ip', '-n', NET.srv, '-4', '-o', 'addr', 'show', 'dev', 'br0']).stdout.split('\n')
        .map(l => /inet (\S+)/.exec(l)?.[1]).filter((a): a is string => !!a);
    const runtime = machine.exec(['ls', '-A', '/run/share-this-cd']).stdout.split('\n').filter(n => n !== '' && n !== 'lock');
    // The share's ports (DHCP, TFTP, HTTP fast path, NFS); the system's own nginx (80) and rpcbind (111) stay.
    const listening = sh(['ip', 'netns', 'exec', NET.srv, 'ss', '-Hltun']).stdout.split('\n')
        .map(l => l.trim().split(/\s+/)[4]).filter((a): a is string => !!a && /:(67|69|2049|20048|8080)$/.test(a));
    return { daemons: helperChildren(), mounts, addresses, runtime, listening };
}
const NOTHING_LEFT: Left = { daemons: [], mounts: [], addresses: [], runtime: [], listening: [] };

function buildDeb(): string {
    const r = sh([`${TOP}/tools/deb.sh`]);
    const deb = /^deb: (\S+\.deb)$/m.exec(r.stdout)?.[1];
    if (r.status !== 0 || deb === undefined)
        throw new Error(`npm run deb failed:\n${r.stdout.split('\n').slice(-30).join('\n')}\n${r.stderr}`);
    return deb;
}

async function bootMachine(): Promise<void> {
    cmdlineBound = false;
    const t0 = GLib.get_monotonic_time();
    const state = await machine.boot();
    timings.push(`machine boot: ${((GLib.get_monotonic_time() - t0) / 1e6).toFixed(1)} s (${state})`);
    expect(state).toBe('running');
}

describe('the installed package (systemd as PID 1 in a container)', () => {
    beforeAll(async () => {
        const t0 = GLib.get_monotonic_time();
        const deb = buildDeb();
        const t1 = GLib.get_monotonic_time();
        image = ensureLabImage();
        const root = ensureSystemRoot(deb, line => print(`system root: ${line}`));
        timings.push(`npm run deb: ${((t1 - t0) / 1e6).toFixed(1)} s`, `root file system: ${root.seconds.toFixed(1)} s (${root.built ? 'built' : 'cached'})`);
        NET.setup({ client: false, serverAddress: false, taps: 2 });
        work = GLib.dir_make_tmp('share-this-cd-system-XXXXXX');
        sh(['chmod', '755', work]);
        machine = new LabMachine({ root: root.root, work: `${work}/machine`, netns: NET.srv, binds: [[image.tree, '/cdrom', true], [image.tree, STICK, true]] });
        machine.mount();
        // As a user installs it: apt-get with the .deb's path (dependencies from the archive; the cached root
        // already has them). In a chroot, before the machine boots onto the lab LAN.
        const name = deb.split('/').pop() as string;
        sh(['cp', deb, `${machine.merged}/var/tmp/${name}`]);
        const t2 = GLib.get_monotonic_time();
        machine.chroot(['apt-get', 'install', '-y', '-q', '--no-install-recommends', `/var/tmp/${name}`], 'apt-get install ./share-this-cd.deb');
        timings.push(`apt-get install: ${((GLib.get_monotonic_time() - t2) / 1e6).toFixed(1)} s`);
        sh(['cp', image.iso, `${machine.merged}${ISO}`]);
        machine.chroot(['chown', `${LIVE_USER}:${LIVE_USER}`, ISO], 'chown');
        sh(['mkdir', '-p', `${machine.merged}/var/lib/share-this-cd-lab`, `${machine.merged}/etc/systemd/system/${UNIT}.d`]);
        GLib.file_set_contents(`${machine.merged}${CMDLINE_FILE}`, `${LIVE_CMDLINE}\n`);
        await bootMachine();
        liveSession(true);
    }, 1800000);

    afterEach(async () => {
        for (const v of vms.splice(0))
            await v.kill();
        // A spec that failed halfway leaves no share to the next one.
        if (machine?.booted && unitProperty('ActiveState') === 'active')
            machine.exec(['share-this-cd', 'stop', '--force']);
    });

    afterAll(async () => {
        await machine?.teardown();
        NET.teardown();
        if (work !== '')
            removeTree(work);
        print(`system test timings: ${timings.join(', ')}`);
    }, 120000);

    it('installs enabling nothing: no helper runs and none starts at boot', () => {
        expect(unitProperty('UnitFileState')).toBe('disabled');
        expect(unitProperty('ActiveState')).toBe('inactive');
        expect(machine.exec(['test', '-x', '/usr/libexec/share-this-cd/share-this-cd-helper']).status).toBe(0);
        expect(must(['cat', '/usr/share/dbus-1/system-services/io.github.ShareThisCD1.service'])).toContain('SystemdService=share-this-cd-helper.service');
    });

    it('the live user shares: D-Bus activates the helper through systemd, sandboxed; polkit allows without a password; a BIOS client boots', async () => {
        const start = new LabProcess(machine.asUser(LIVE_USER, 'share-this-cd start --interface br0'));
        await start.waitFor(READY, 90000);
        expect(unitProperty('ActiveState')).toBe('active');
        // The sandbox is in force: systemd says so, and the helper's process shows it.
        const show = must(['systemctl', 'show', UNIT, '-p', 'ProtectSystem', '-p', 'NoNewPrivileges', '-p', 'ProtectHome', '-p', 'DevicePolicy', '-p', 'RestrictSUIDSGID']);
        expect(show.trim().split('\n').sort()).toEqual(['DevicePolicy=closed', 'NoNewPrivileges=yes', 'ProtectHome=read-only', 'ProtectSystem=strict', 'RestrictSUIDSGID=yes']);
        const pid = unitProperty('MainPID');
        expect(must(['grep', 'NoNewPrivs', `/proc/${pid}/status`])).toMatch(/NoNewPrivs:\s+1/);
        expect(must(['readlink', `/proc/${pid}/ns/mnt`])).not.toBe(must(['readlink', '/proc/1/ns/mnt']));
        const write = machine.exec(['nsenter', '-t', pid, '-m', '--', 'touch', '/usr/share-this-cd-write-test']);
        expect(write.status).not.toBe(0);
        expect(write.stderr).toContain('Read-only file system');
        const exposure = Number(/Overall exposure level for \S+: (\d+\.\d+)/.exec(must(['systemd-analyze', 'security', UNIT]))?.[1]);
        timings.push(`exposure ${exposure}`);
        expect(exposure).toBeLessThanOrEqual(EXPOSURE_BEFORE);
        // sleep: the file servers' jail (its anchor); squashfuse: the medium's copy for NFS (the machine has no loop devices)
        expect(helperChildren()).toEqual(['dnsmasq', 'ganesha.nfsd', 'nginx', 'sleep', 'squashfuse']);
        // The package's nginx-light starts the system's nginx on port 80: the fast path moved aside.
        expect(helperJournal()).toContain('Port 80 is used by another web server on this computer: the HTTP fast path uses port 8080.');

        const m = await boots(vm('sys-bios', 'bios', 0));
        // /cdrom here is a bind mount of a folder of the host's disk, not a whole file system (a real live
        // session's is): nfs-ganesha serves a packed copy of it, which holds nothing else of that disk.
        expect(m.medium).toMatch(/^192\.168\.\d+\.1:\/run\/share-this-cd\/nfs$/);

        const stop = await asLive('share-this-cd stop --force');
        expect(stop).toEqual({ status: 0, output: 'Sharing stopped.' });
        expect(await start.ended()).toBe(0);
        expect(start.output).toContain('Sharing was stopped.');
        expect(leftovers()).toEqual(NOTHING_LEFT);
        expect(helperJournal()).toMatch(/sharing Share This CD lab live system .* on br0 \(192\.168\.\d+\.1\), dhcp/);
        expect(helperJournal()).toContain('sharing stopped');
    }, SPEC_TIMEOUT);

    it('--iso: an ISO file in the live user\'s home is shared and a UEFI client boots it', async () => {
        const start = new LabProcess(machine.asUser(LIVE_USER, `share-this-cd start --iso ${ISO} --interface br0`));
        await start.waitFor(READY, 90000);
        expect(helperChildren()).toContain('fuseiso');
        const m = await boots(vm('sys-uefi-iso', 'uefi', 1));
        expect(m.medium).toMatch(/^192\.168\.\d+\.1:\/run\/share-this-cd\//);
        // (the client still runs from the share: without a terminal, stop asks for --force)
        expect(await asLive('share-this-cd stop --force')).toEqual({ status: 0, output: 'Sharing stopped.' });
        expect(await start.ended()).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }, SPEC_TIMEOUT);

    it('a medium at a path with a space: systemd mounts its read-only alias where the kernel\'s nfsd would see it; a UEFI client boots; the helper killed, the next call cleans up', async () => {
        const start = new LabProcess(machine.asUser(LIVE_USER, `share-this-cd start --medium '${STICK}' --interface br0`));
        await start.waitFor(READY, 90000);
        // The alias is a mount of the host's namespace (systemd's transient unit), read-only and inert, and
        // nfs-ganesha in the helper's own namespace serves it (the mount propagated there): the client boots.
        expect(hostMounts()).toEqual(['/run/share-this-cd/medium ro,nosuid,nodev,noexec,relatime']);
        const m = await boots(vm('sys-uefi-alias', 'uefi', 1));
        expect(m.medium).toMatch(/^192\.168\.\d+\.1:\/run\/share-this-cd\/nfs$/);

        // sleep: the file servers' jail (its anchor); squashfuse: the medium's copy for NFS (the machine has no loop devices)
        expect(helperChildren()).toEqual(['dnsmasq', 'ganesha.nfsd', 'nginx', 'sleep', 'squashfuse']);
        must(['systemctl', 'kill', '-s', 'KILL', UNIT]);
        expect(await start.ended(30000)).toBe(1);
        expect(start.output).toContain('The Share This CD helper ended unexpectedly');
        for (let i = 0; i < 50 && helperChildren().length > 0; i++)
            await sleep(100);
        // systemd's cgroup took the daemons; the mount, the address and the journal are still there.
        expect(helperChildren()).toEqual([]);
        expect(hostMounts().length).toBe(1);
        expect(leftovers().addresses.length).toBe(1);
        expect(leftovers().runtime).toContain('journal.json');

        const stop = await asLive('share-this-cd stop');
        expect(stop.status).withContext(stop.output).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
        expect(hostMounts()).toEqual([]);
        // (newest first: the address, then the medium's mount, made before it)
        expect(helperJournal()).toMatch(/Sharing had stopped unexpectedly; what it left running was cleaned up \(removed the address 192\.168\.\d+\.1\/24 from br0, unmounted \/run\/share-this-cd\/medium\)/);
    }, SPEC_TIMEOUT);

    it('remember: after a restart, sharing is back without anyone logging in', async () => {
        const start = await asLive('share-this-cd start --remember --interface br0');
        expect(start.status).withContext(start.output).toBe(0);
        expect(start.output).toContain('Sharing goes on, also after a restart');
        for (let i = 0; i < 50 && unitProperty('UnitFileState') !== 'enabled'; i++)
            await sleep(100);
        expect(unitProperty('UnitFileState')).toBe('enabled');

        await machine.poweroff();
        await bootMachine();
        // The drop-in on disk makes the helper's /proc/cmdline a live session's again; polkit's is bound later.
        // Nobody logged in: no session, and yet the helper runs and shares.
        expect(must(['loginctl', 'list-sessions', '--no-legend']).trim()).toBe('');
        let status = '';
        for (let i = 0; i < 120 && !status.includes('"sharing"'); i++) {
            await sleep(500);
            status = machine.exec(['share-this-cd', 'status', '--json']).stdout;
        }
        expect(status).toContain('"sharing"');
        expect(helperJournal()).toContain('sharing again with the remembered options (attempt 1)');
        const m = await boots(vm('sys-uefi-after-restart', 'uefi', 0));
        expect(m.medium).toMatch(/:\/run\/share-this-cd\/nfs$/);

        liveSession(true);
        expect(await asLive('share-this-cd stop --force')).toEqual({ status: 0, output: 'Sharing stopped.' });
        for (let i = 0; i < 50 && unitProperty('UnitFileState') !== 'disabled'; i++)
            await sleep(100);
        expect(unitProperty('UnitFileState')).toBe('disabled');
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }, SPEC_TIMEOUT);

    it('the live user in a session without a seat (as over ssh) is refused: only the person at the computer shares without a password', async () => {
        liveSession(true);
        const remote = new LabProcess(machine.asUser(LIVE_USER, 'share-this-cd start --interface br0', false));
        expect(await remote.ended(120000)).withContext(remote.output).toBe(1);
        expect(remote.output).toContain("An administrator's password is needed to share this computer's live system");
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }, SPEC_TIMEOUT);

    it('on an installed system the same user is refused (no agent: an administrator\'s password is needed); root is allowed', async () => {
        liveSession(false);
        const refused = await asLive('share-this-cd start --interface br0');
        expect(refused.status).toBe(1);
        expect(refused.output).toContain("An administrator's password is needed to share this computer's live system");
        expect(leftovers()).toEqual(NOTHING_LEFT);

        const root = machine.exec(['share-this-cd', 'start', '--remember', '--medium', '/cdrom', '--interface', 'br0']);
        expect(root.status).withContext(root.stdout + root.stderr).toBe(0);
        expect(must(['share-this-cd', 'stop'])).toContain('Sharing stopped.');
        expect(leftovers()).toEqual(NOTHING_LEFT);
        expect(unitProperty('UnitFileState')).toBe('disabled');
        // The journal tells the story in words: who asked, what was refused, what was shared and stopped.
        const journal = helperJournal();
        expect(journal).toContain('InteractiveAuthorizationRequired');
        expect(journal).toMatch(/sharing Share This CD lab live system .* on br0/);
        expect(journal).toContain('sharing stopped');
    }, SPEC_TIMEOUT);
});
