// The lab for network tests (src/lab/net.ts: labsrv, labcli, labrtr): real clients, the real engine started
// as a user would (`share-this-cd start` inside the server namespace).
import GLib from 'gi://GLib';

import { sleep } from '../../src/shared/timers.ts';
import { LabNet, type LabNetOptions, type Result, sh } from '../../src/lab/net.ts';
import { type MediumSizes, SMALL_MEDIUM, makeSampleMedium } from '../../src/lab/sampleMedium.ts';
import { LabShare, READY } from '../../src/lab/share.ts';
import { AppletLab } from '../../src/lab/appletLab.ts';
import { CLI, LazyTmpDir, TOP, removeTree } from './helpers.ts';

export { sh, type Result } from '../../src/lab/net.ts';

export const LAB = new LabNet('lab');
export const SRV = LAB.srv;
export const CLIENT = LAB.cli;
export const RTR = LAB.rtr;
export const SRV_IP = LAB.serverIp;
export const RTR_IP = LAB.routerIp;
export const CLIENT_MAC = LAB.clientMac;
export const RUNTIME = '/run/share-this-cd';
export const ROUTER_LEASES = LAB.routerLeases;
export const ROUTER_LOG = LAB.routerLog;

/** Runs in a namespace and insists on success. */
export function ns(name: string, argv: string[]): Result {
    const r = sh(['ip', 'netns', 'exec', name, ...argv]);
    if (r.status !== 0)
        throw new Error(`${name}: ${argv.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
    return r;
}

export function nsTry(name: string, argv: string[]): Result {
    return sh(['ip', 'netns', 'exec', name, ...argv]);
}

export { sleep };

export function teardownNet(): void {
    LAB.teardown();
    // (a spec that chose which computers may start leaves no such choice to the next)
    sh(['rm', '-rf', LAB_STATE_DIR]);
}

/** Creates the lab. `serverAddress: false` leaves br0 without an address (direct-cable tests). */
export function setupNet(opts: LabNetOptions = {}): void {
    LAB.setup(opts);
}

/** The LAN router's own DHCP server (a plain dnsmasq in labrtr handing out 10.77.0.50–99). */
export function startRouterDhcp(): void {
    LAB.startRouterDhcp();
}

/** A casper medium (Ubuntu 24.04 layout) with random kernel, initrd and squashfs of the given sizes (bytes). */
export function makeMedium(sizes: MediumSizes = SMALL_MEDIUM): string {
    return makeSampleMedium(TOP, sizes);
}

/** The settings folder of the lab's shares and commands (never this machine's own /var/lib/share-this-cd). */
export const LAB_STATE_DIR = '/tmp/share-this-cd-lab-state';

/** A running `share-this-cd start` inside labsrv (src/lab/share.ts), with its output collected. */
export class RunningShare extends LabShare {
    constructor(args: string[], env: Record<string, string> = {}) {
        super(CLI, SRV, args, { SHARE_THIS_CD_GONE_AFTER: '4', SHARE_THIS_CD_STATE_DIR: LAB_STATE_DIR, ...env });
    }
}

/** Starts a share and waits until it serves. */
export async function startShare(args: string[], env: Record<string, string> = {}): Promise<RunningShare> {
    const share = new RunningShare(args, env);
    await share.waitFor(READY);
    return share;
}

export interface StatusClient { mac: string | null; ip: string | null; arch: string; stage: string; fetched: string[]; detail: string; nfsBytes: number; name: string; access: string; vendor: string }
export interface Status { state: string; mode: string; clientCount: number; clients: StatusClient[] }

/** `share-this-cd status --json`, run in the server namespace. */
export function status(): Status {
    return JSON.parse(cliInServer(['status', '--json']).stdout) as Status;
}

/** Polls the status until `pred` holds; throws with the last status when it never does. */
export async function waitStatus(pred: (s: Status) => boolean, what: string, timeoutMs = 15000): Promise<Status> {
    const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
    for (;;) {
        const s = status();
        if (pred(s))
            return s;
        if (GLib.get_monotonic_time() > deadline)
            throw new Error(`status never showed ${what}: ${JSON.stringify(s)}`);
        await sleep(200);
    }
}

/** Runs the CLI in the server namespace (status, clients, stop…), with the lab's settings folder. */
export function cliInServer(args: string[]): Result {
    return sh(['ip', 'netns', 'exec', SRV, 'env', `SHARE_THIS_CD_STATE_DIR=${LAB_STATE_DIR}`, 'gjs', '-m', CLI, ...args], '');
}

export interface Leftovers {
    processes: string[];
    runtimeDir: boolean;
    addresses: string[];
    listening: string;
}

/** What of a share is left: our daemons' processes, the runtime dir, extra addresses on br0, listeners. */
export function leftovers(): Leftovers {
    const processes: string[] = [];
    for (const pid of sh(['ip', 'netns', 'pids', SRV]).stdout.split('\n').filter(p => /^\d+$/.test(p))) {
        const comm = sh(['cat', `/proc/${pid}/comm`]).stdout.trim();
        if (['dnsmasq', 'nginx', 'ganesha.nfsd', 'rpcbind', 'fuseiso', 'squashfuse', 'sleep'].includes(comm)) // sleep: the jail's anchor
            processes.push(`${comm}(${pid})`);
    }
    const addresses = sh(['ip', '-n', SRV, '-4', '-o', 'addr', 'show', 'dev', 'br0']).stdout.split('\n')
        .map(l => /inet (\S+)/.exec(l)?.[1]).filter((a): a is string => !!a && a !== `${SRV_IP}/24`);
    return {
        processes,
        runtimeDir: GLib.file_test(RUNTIME, GLib.FileTest.EXISTS),
        addresses,
        listening: nsTry(SRV, ['ss', '-Hltun']).stdout.trim(),
    };
}

export const NOTHING_LEFT: Leftovers = { processes: [], runtimeDir: false, addresses: [], listening: '' };

/** DHCP with udhcpc in the client namespace: configures the lease on eth0, returns "address server". */
export function clientDhcp(vendorClass: string | null = null): { address: string; server: string } {
    const script = `${TOP}/test/tools/udhcpc-script.sh`;
    const args = ['udhcpc', '-i', 'eth0', '-n', '-q', '-t', '4', '-T', '2', '-s', script];
    if (vendorClass)
        args.push('-V', vendorClass);
    const r = ns(CLIENT, args);
    const m = /lease of (\S+) obtained from (\S+)/.exec(`${r.stdout}\n${r.stderr}`);
    if (!m)
        throw new Error(`udhcpc: no lease:\n${r.stdout}${r.stderr}`);
    return { address: m[1], server: m[2].replace(/,$/, '') };
}

export function pxeProbe(arch: number, opts: { ask4011?: boolean; clientIp?: string; waitMs?: number; ipxe?: boolean } = {}): Record<string, unknown>[] {
    const args = ['env', `PROBE_IP=${opts.clientIp ?? '0.0.0.0'}`, 'gjs', '-m', `${GLib.path_get_dirname(CLI)}/pxe-probe.js`, 'eth0', String(arch), '--wait', String(opts.waitMs ?? 4000)];
    if (opts.ask4011)
        args.push('--4011');
    if (opts.ipxe)
        args.push('--ipxe');
    return ns(CLIENT, args).stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>);
}

/**
 * An IPv6 router solicitation from the client (rdisc6), as a netboot client sends one: the advertisement that
 * answered it (its router lifetime, prefixes, DHCPv6 flags, hop limit, source), or null when none came in 1.5 s.
 */
export function solicitRouter(): { lifetime: number; prefixes: string[]; managed: boolean; other: boolean; hopLimit: string; from: string } | null {
    const r = nsTry(CLIENT, ['rdisc6', '-1', '-r', '3', '-w', '500', 'eth0']);
    if (r.status !== 0 || !/Router lifetime/.test(r.stdout))
        return null;
    const field = (name: string): string => new RegExp(`${name}\\s*:\\s*(.*)`).exec(r.stdout)?.[1].trim() ?? '';
    return {
        lifetime: Number.parseInt(field('Router lifetime'), 10), prefixes: [...r.stdout.matchAll(/^\s*Prefix\s*:\s*(\S+)/gm)].map(m => m[1]),
        managed: field('Stateful address conf\\.') === 'Yes', other: field('Stateful other conf\\.') === 'Yes',
        hopLimit: field('Hop limit').split(/\s+/)[0], from: /from (\S+)/.exec(r.stdout)?.[1] ?? '',
    };
}

/** Running processes whose command line matches `re`, as "PID: command line" (what a stopped benchmark left). */
export function processesMatching(re: RegExp): string[] {
    const found: string[] = [];
    for (const pid of sh(['sh', '-c', 'ls /proc | grep -E "^[0-9]+$"']).stdout.split('\n').filter(p => p !== '')) {
        const cmdline = sh(['sh', '-c', `tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null`]).stdout;
        if (re.test(cmdline))
            found.push(`${pid}: ${cmdline.slice(0, 100)}`);
    }
    return found;
}

export function sha256(path: string): string {
    return sh(['sha256sum', path]).stdout.split(' ')[0];
}

/**
 * The applet's lab (src/lab/appletLab.ts) in the lab network, sharing as on a live session over br0: made by
 * `start` (a suite's beforeAll), ended by `stop` (its afterAll), which keeps the screenshots when KEEP_SHOTS is set.
 */
export class AppletSuite {
    lab!: AppletLab;
    medium = '';
    private readonly shotsDir = new LazyTmpDir('share-this-cd-shots-XXXXXX');

    constructor(private readonly display: number, private readonly tray: 'trayer' | 'xfce4-panel' = 'trayer') {}

    /** The folder of the suite's screenshots. */
    get shots(): string {
        return this.shotsDir.path;
    }

    async start(): Promise<AppletLab> {
        setupNet();
        this.medium = makeMedium();
        this.lab = new AppletLab({ top: TOP, build: GLib.path_get_dirname(CLI), netns: SRV, medium: this.medium, display: this.display, tray: this.tray,
            helperEnv: { SHARE_THIS_CD_GONE_AFTER: '4' } });
        await this.lab.start();
        this.lab.writePrefs({ interface: 'br0' });
        await this.lab.startApplet();
        return this.lab;
    }

    async stop(): Promise<void> {
        await this.lab.stop();
        teardownNet();
        removeTree(this.medium);
        if (GLib.getenv('KEEP_SHOTS') === null)
            this.shotsDir.remove();
        else
            print(`screenshots kept in ${this.shots}`);
    }
}
