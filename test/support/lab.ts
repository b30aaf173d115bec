// The lab for network tests: network namespaces we create (never the machine's real interfaces), real
// clients, the real engine started as a user would (`share-this-cd start` inside the server namespace).
//
//   labsrv: bridge br0 10.77.0.1/24 (+ fd77::1/64), the sharing machine
//   labcli: eth0 over a veth into br0, the booting client (52:54:00:aa:00:02)
//   labrtr: eth0 10.77.0.254 over a veth into br0, the LAN's router with its own DHCP server (proxy tests)
// Everything started is killed by PID; teardown kills what still runs in our namespaces, then deletes them.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { CLI, TOP, makeTree } from './helpers.ts';

export const SRV = 'labsrv';
export const CLIENT = 'labcli';
export const RTR = 'labrtr';
export const SRV_IP = '10.77.0.1';
export const RTR_IP = '10.77.0.254';
export const CLIENT_MAC = '52:54:00:aa:00:02';
export const RUNTIME = '/run/share-this-cd';

export interface Result {
    status: number;
    stdout: string;
    stderr: string;
}

export function sh(argv: string[], input: string | null = null): Result {
    const proc = Gio.Subprocess.new(argv, Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE | (input !== null ? Gio.SubprocessFlags.STDIN_PIPE : 0));
    const [, stdout, stderr] = proc.communicate_utf8(input, null);
    return { status: proc.get_if_exited() ? proc.get_exit_status() : 128 + proc.get_term_sig(), stdout: stdout ?? '', stderr: stderr ?? '' };
}

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

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
}

function namespaces(): string[] {
    return sh(['ip', 'netns', 'list']).stdout.split('\n').map(l => l.split(' ')[0]).filter(n => n !== '');
}

export function teardownNet(): void {
    for (const name of [CLIENT, RTR, SRV]) {
        if (!namespaces().includes(name))
            continue;
        for (const signal of ['-TERM', '-KILL']) {
            const pids = sh(['ip', 'netns', 'pids', name]).stdout.split('\n').filter(p => /^\d+$/.test(p));
            if (pids.length > 0)
                sh(['kill', signal, ...pids]);
            GLib.usleep(200000);
        }
        sh(['ip', 'netns', 'del', name]);
    }
}

function ip(...args: string[]): void {
    const r = sh(['ip', ...args]);
    if (r.status !== 0)
        throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Creates the lab. `serverAddress: false` leaves br0 without an address (direct-cable tests). */
export function setupNet(opts: { router?: boolean; serverAddress?: boolean } = {}): void {
    teardownNet();
    ip('netns', 'add', SRV);
    ip('netns', 'add', CLIENT);
    ip('-n', SRV, 'link', 'set', 'lo', 'up');
    ip('-n', CLIENT, 'link', 'set', 'lo', 'up');
    ip('-n', SRV, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    if (opts.serverAddress !== false)
        ip('-n', SRV, 'addr', 'add', `${SRV_IP}/24`, 'dev', 'br0');
    ip('-n', SRV, 'link', 'set', 'br0', 'up');
    ip('-n', SRV, 'link', 'add', 's-cli', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLIENT);
    ip('-n', SRV, 'link', 'set', 's-cli', 'master', 'br0', 'up');
    ip('-n', CLIENT, 'link', 'set', 'eth0', 'address', CLIENT_MAC);
    ip('-n', CLIENT, 'link', 'set', 'eth0', 'up');
    // The PXE test client sends broadcasts before it has an address.
    ip('-n', CLIENT, 'route', 'add', 'default', 'dev', 'eth0');
    if (opts.router) {
        ip('netns', 'add', RTR);
        ip('-n', RTR, 'link', 'set', 'lo', 'up');
        ip('-n', SRV, 'link', 'add', 's-rtr', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', RTR);
        ip('-n', SRV, 'link', 'set', 's-rtr', 'master', 'br0', 'up');
        ip('-n', RTR, 'addr', 'add', `${RTR_IP}/24`, 'dev', 'eth0');
        ip('-n', RTR, 'link', 'set', 'eth0', 'up');
    }
    // The bridge forwards once its ports are up (STP off); wait for carrier.
    for (let i = 0; i < 50 && !sh(['ip', '-n', SRV, 'link', 'show', 'br0']).stdout.includes('LOWER_UP'); i++)
        GLib.usleep(20000);
}

export const ROUTER_LEASES = '/tmp/share-this-cd-lab-router.leases';
export const ROUTER_LOG = '/tmp/share-this-cd-lab-router.log';

/** The LAN router's own DHCP server (a plain dnsmasq in labrtr handing out 10.77.0.50–99). */
export function startRouterDhcp(): void {
    sh(['rm', '-f', ROUTER_LEASES, ROUTER_LOG]);
    ns(RTR, ['dnsmasq', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--port=0', '--interface=eth0', '--bind-interfaces',
        '--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h', `--dhcp-option=option:router,${RTR_IP}`,
        `--dhcp-leasefile=${ROUTER_LEASES}`, '--log-dhcp', `--log-facility=${ROUTER_LOG}`, '--pid-file=/tmp/share-this-cd-lab-router.pid']);
}

/** A casper medium (Ubuntu 24.04 layout) with random kernel, initrd and squashfs of the given sizes (bytes). */
export function makeMedium(sizes = { kernel: 3_000_000, initrd: 6_000_000, squashfs: 4_000_000 }): string {
    const dir = makeTree({});
    sh(['cp', '-r', `${TOP}/test/fixtures/media/ubuntu-24.04-desktop/.`, `${dir}/`]);
    const fill = (path: string, bytes: number): void => {
        sh(['sh', '-c', `head -c ${bytes} /dev/urandom > '${dir}/${path}'`]);
    };
    fill('casper/vmlinuz', sizes.kernel);
    fill('casper/initrd', sizes.initrd);
    fill('casper/minimal.standard.live.squashfs', sizes.squashfs);
    sh(['chmod', '-R', 'a+rX', dir]);
    return dir;
}

/** A running `share-this-cd start` (inside labsrv), with its output collected. */
export class RunningShare {
    readonly proc: Gio.Subprocess;
    readonly lines: string[] = [];
    private exited = false;

    constructor(args: string[], env: Record<string, string> = {}) {
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE });
        launcher.setenv('LANGUAGE', 'C', true);
        launcher.setenv('SHARE_THIS_CD_GONE_AFTER', env.SHARE_THIS_CD_GONE_AFTER ?? '4', true);
        for (const [k, v] of Object.entries(env))
            launcher.setenv(k, v, true);
        this.proc = launcher.spawnv(['ip', 'netns', 'exec', SRV, 'gjs', '-m', CLI, 'start', ...args]);
        const stream = new Gio.DataInputStream({ base_stream: this.proc.get_stdout_pipe() as Gio.InputStream });
        const next = (): void => {
            stream.read_line_async(GLib.PRIORITY_DEFAULT, null, (_s, res) => {
                const [line] = stream.read_line_finish_utf8(res);
                if (line === null)
                    return;
                this.lines.push(line);
                next();
            });
        };
        next();
        this.proc.wait_async(null, () => {
            this.exited = true;
        });
    }

    get running(): boolean {
        return !this.exited;
    }

    get output(): string {
        return this.lines.join('\n');
    }

    /** Waits for a line matching `re`; throws with the output when the process ends or time runs out. */
    async waitFor(re: RegExp, timeoutMs = 20000): Promise<string> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        for (;;) {
            const found = this.lines.find(l => re.test(l));
            if (found)
                return found;
            if (this.exited) {
                await sleep(50);
                const late = this.lines.find(l => re.test(l));
                if (late)
                    return late;
                throw new Error(`share-this-cd start ended (status ${this.exitStatus}) before ${re}:\n${this.output}`);
            }
            if (GLib.get_monotonic_time() > deadline)
                throw new Error(`timed out waiting for ${re}:\n${this.output}`);
            await sleep(50);
        }
    }

    /** Resolves with the exit status once the process has ended. */
    async ended(timeoutMs = 15000): Promise<number> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (!this.exited && GLib.get_monotonic_time() < deadline)
            await sleep(20);
        if (!this.exited)
            throw new Error(`share-this-cd start did not end:\n${this.output}`);
        await sleep(50);
        return this.exitStatus;
    }

    get exitStatus(): number {
        return this.proc.get_if_exited() ? this.proc.get_exit_status() : 128 + this.proc.get_term_sig();
    }

    /** The pid of the gjs process (ip netns exec execs it, so it is the subprocess itself). */
    get pid(): number {
        return Number(this.proc.get_identifier());
    }

    signal(sig: number): void {
        if (!this.exited)
            this.proc.send_signal(sig);
    }
}

/** Starts a share and waits until it serves. */
export async function startShare(args: string[], env: Record<string, string> = {}): Promise<RunningShare> {
    const share = new RunningShare(args, env);
    await share.waitFor(/^Sharing .* ready in \d+ ms \(DHCP probe \d+ ms\)\.$/);
    return share;
}

/** Runs the CLI in the server namespace (status, clients, stop…). */
export function cliInServer(args: string[]): Result {
    return sh(['ip', 'netns', 'exec', SRV, 'gjs', '-m', CLI, ...args]);
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
        if (['dnsmasq', 'nginx', 'ganesha.nfsd', 'rpcbind', 'fuseiso'].includes(comm))
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

export function pxeProbe(arch: number, opts: { ask4011?: boolean; clientIp?: string; waitMs?: number } = {}): Record<string, unknown>[] {
    const args = ['env', `PROBE_IP=${opts.clientIp ?? '0.0.0.0'}`, 'gjs', '-m', `${GLib.path_get_dirname(CLI)}/pxe-probe.js`, 'eth0', String(arch), '--wait', String(opts.waitMs ?? 4000)];
    if (opts.ask4011)
        args.push('--4011');
    return ns(CLIENT, args).stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>);
}

export function sha256(path: string): string {
    return sh(['sha256sum', path]).stdout.split(' ')[0];
}
