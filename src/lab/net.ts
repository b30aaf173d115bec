// The lab network: network namespaces we create ourselves (never the machine's real interfaces), used by the
// tests, the demo and the benchmarks.
//
//   <p>srv: bridge br0 10.77.0.1/24, the sharing machine; qemu clients plug taps (tap0, tap1…) into br0
//   <p>cli: eth0 over a veth into br0, a test client (52:54:00:aa:00:02)
//   <p>rtr: eth0 10.77.0.254 over a veth into br0, the LAN's router with its own DHCP server (proxy tests)
// Everything started is killed by PID; teardown kills what still runs in our namespaces, then deletes them.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

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

export function namespaces(): string[] {
    return sh(['ip', 'netns', 'list']).stdout.split('\n').map(l => l.split(' ')[0]).filter(n => n !== '');
}

function ip(...args: string[]): void {
    const r = sh(['ip', ...args]);
    if (r.status !== 0)
        throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export interface LabNetOptions {
    /** A test client namespace on a veth (default true). */
    client?: boolean;
    /** The router namespace (its DHCP server is started separately). */
    router?: boolean;
    /** false leaves br0 without an address (direct-cable tests); 'leased' gives it one with a lifetime, as a DHCP client does. */
    serverAddress?: boolean | 'leased';
    /** Taps in br0 for qemu clients: tap0 … tap<n-1>. */
    taps?: number;
}

export class LabNet {
    readonly srv: string;
    readonly cli: string;
    readonly rtr: string;
    readonly serverIp = '10.77.0.1';
    readonly routerIp = '10.77.0.254';
    readonly clientMac = '52:54:00:aa:00:02';
    readonly routerLeases: string;
    readonly routerLog: string;
    private readonly routerPid: string;

    constructor(readonly prefix = 'lab') {
        this.srv = `${prefix}srv`;
        this.cli = `${prefix}cli`;
        this.rtr = `${prefix}rtr`;
        this.routerLeases = `/tmp/share-this-cd-${prefix}-router.leases`;
        this.routerLog = `/tmp/share-this-cd-${prefix}-router.log`;
        this.routerPid = `/tmp/share-this-cd-${prefix}-router.pid`;
    }

    /** Kills (by PID) what still runs in our namespaces, then deletes them and the router's files. */
    teardown(): void {
        for (const name of [this.cli, this.rtr, this.srv]) {
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
        sh(['rm', '-f', this.routerLeases, this.routerLog, this.routerPid]);
    }

    setup(opts: LabNetOptions = {}): void {
        this.teardown();
        const { srv, cli, rtr } = this;
        ip('netns', 'add', srv);
        ip('-n', srv, 'link', 'set', 'lo', 'up');
        ip('-n', srv, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
        if (opts.serverAddress !== false)
            ip('-n', srv, 'addr', 'add', `${this.serverIp}/24`, 'dev', 'br0', ...opts.serverAddress === 'leased' ? ['valid_lft', '3600', 'preferred_lft', '3600'] : []);
        ip('-n', srv, 'link', 'set', 'br0', 'up');
        if (opts.client !== false) {
            ip('netns', 'add', cli);
            ip('-n', cli, 'link', 'set', 'lo', 'up');
            ip('-n', srv, 'link', 'add', 's-cli', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cli);
            ip('-n', srv, 'link', 'set', 's-cli', 'master', 'br0', 'up');
            ip('-n', cli, 'link', 'set', 'eth0', 'address', this.clientMac);
            ip('-n', cli, 'link', 'set', 'eth0', 'up');
            // The PXE test client sends broadcasts before it has an address.
            ip('-n', cli, 'route', 'add', 'default', 'dev', 'eth0');
        }
        if (opts.router) {
            ip('netns', 'add', rtr);
            ip('-n', rtr, 'link', 'set', 'lo', 'up');
            ip('-n', srv, 'link', 'add', 's-rtr', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rtr);
            ip('-n', srv, 'link', 'set', 's-rtr', 'master', 'br0', 'up');
            ip('-n', rtr, 'addr', 'add', `${this.routerIp}/24`, 'dev', 'eth0');
            ip('-n', rtr, 'link', 'set', 'eth0', 'up');
        }
        for (let i = 0; i < (opts.taps ?? 0); i++) {
            ip('-n', srv, 'tuntap', 'add', 'dev', `tap${i}`, 'mode', 'tap');
            ip('-n', srv, 'link', 'set', `tap${i}`, 'master', 'br0', 'up');
        }
        if (opts.client === false && !opts.router) {
            // A bridge whose only ports are unopened taps has no carrier, and the engine rightly refuses an
            // interface without one: give it a port with a peer, as a switch with other machines on it would.
            ip('-n', srv, 'link', 'add', 's-lan', 'type', 'veth', 'peer', 'name', 'lan-peer');
            ip('-n', srv, 'link', 'set', 's-lan', 'master', 'br0', 'up');
            ip('-n', srv, 'link', 'set', 'lan-peer', 'up');
        }
        // The bridge forwards once its ports are up (STP off); wait for carrier.
        for (let i = 0; i < 50 && !sh(['ip', '-n', srv, 'link', 'show', 'br0']).stdout.includes('LOWER_UP'); i++)
            GLib.usleep(20000);
    }

    /**
     * The LAN router's own DHCP server (a plain dnsmasq in <p>rtr handing out .50–.99). With `ipv6`, it also
     * advertises an IPv6 prefix (router advertisements), as most home routers do.
     */
    startRouterDhcp(opts: { ipv6?: boolean } = {}): void {
        sh(['rm', '-f', this.routerLeases, this.routerLog]);
        const v6: string[] = [];
        if (opts.ipv6) {
            ip('-n', this.rtr, 'addr', 'add', 'fd77::fe/64', 'dev', 'eth0', 'nodad');
            v6.push('--enable-ra', '--dhcp-range=::,constructor:eth0,ra-only');
        }
        const r = sh(['ip', 'netns', 'exec', this.rtr, 'dnsmasq', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--port=0',
            '--interface=eth0', '--bind-interfaces', '--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h', ...v6,
            `--dhcp-option=option:router,${this.routerIp}`, `--dhcp-leasefile=${this.routerLeases}`, '--log-dhcp',
            `--log-facility=${this.routerLog}`, `--pid-file=${this.routerPid}`]);
        if (r.status !== 0)
            throw new Error(`the router's dnsmasq did not start: ${r.stderr.trim()}`);
    }
}
