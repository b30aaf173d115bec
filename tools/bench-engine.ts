// Engine CPU benchmark (prints figures; `npm run bench:engine`, root, after tools/setup.sh). Measures the CPU
// time (utime + stime from /proc/PID/stat) of
//   1. `share-this-cd start` (the command line, run as root in a lab network namespace): sharing with no client,
//      then with 3 lab clients (each its own namespace on a veth into the server's bridge, an address from the
//      share's full DHCP) fetching the kernel over HTTP once a second;
//   2. the privileged helper (activated by a private system bus with the real polkitd, in the lab namespace):
//      not sharing, then sharing after a D-Bus Start with no client, then with the same 3 clients.
// For each window it also reports the short-lived commands the engine ran (cutime + cstime delta of the engine
// process: reaped children such as `ss` and `ip`) and the daemons it started (utime + stime delta of the
// engine's descendants present at the end of the window: dnsmasq, nginx and its workers, ganesha.nfsd,
// rpcbind). Figures are % of one core. Targets: idle (sharing, no client) ≤ 1 % for both processes.
// BENCH_SECONDS=N sets the window length (default 20); `--json` prints one JSON object instead of lines.
// Exit code 0 when it measured (even if a target is missed), 1 on error.
//
// The share uses its own runtime folder (SHARE_THIS_CD_RUNTIME_DIR), so a test run on the same machine at the
// same time does not meet this benchmark's lock file; everything else is as a user runs it.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { listDir, readTextFile, removeTree } from '../src/shared/fsutil.ts';
import { sleep } from '../src/shared/timers.ts';
import { BusLab } from '../src/lab/bus.ts';
import { LabNet, namespaces, sh } from '../src/lab/net.ts';
import { makeSampleMedium } from '../src/lab/sampleMedium.ts';
import { descendants, procTimes } from '../src/lab/process.ts';
import { LabShare, READY } from '../src/lab/share.ts';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../src/shared/dbus.ts';
import { runMain, unixSignalAdd } from '../src/shared/mainLoop.ts';

const BUILD = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const TOP = GLib.path_get_dirname(BUILD);
const CLI = `${BUILD}/share-this-cd.js`;
const SECONDS = Math.max(1, Number(GLib.getenv('BENCH_SECONDS') ?? '20') || 20);
const JSON_OUTPUT = system.programArgs.includes('--json');
const TARGET_IDLE = 1;
const TICKS = Number.parseInt(sh(['getconf', 'CLK_TCK']).stdout.trim(), 10) || 100;
const CLIENTS = [1, 2, 3].map(i => ({ ns: `bengc${i}`, port: `s-bc${i}`, mac: `52:54:00:be:00:0${i}` }));
const RUNTIME_DIR = '/run/share-this-cd-bench-engine';

/** Rejects on SIGINT/SIGTERM, so the waits below end and the finally blocks clean up. */
let interrupt: (e: Error) => void = () => {};
const interrupted = new Promise<never>((_resolve, reject) => {
    interrupt = reject;
});
interrupted.catch(() => {});

/** `sleep`, ended early (rejected) by an interrupt. */
function nap(ms: number): Promise<void> {
    return Promise.race([sleep(ms), interrupted]);
}

/** Progress lines go to stderr, so `--json` leaves stdout to the JSON object. */
function say(line: string): void {
    printerr(`  ${line}`);
}

/** PIDs of the processes whose name (comm) is `comm`. */
function processesNamed(comm: string): number[] {
    return listDir('/proc').filter(n => /^\d+$/.test(n) && (readTextFile(`/proc/${n}/comm`) ?? '').trim() === comm).map(Number);
}

interface Window {
    /** The process itself (utime + stime), % of one core. */
    cpuPercent: number;
    /** Short-lived commands it ran and reaped in the window (cutime + cstime), % of one core. */
    commandsPercent: number;
    /** Its descendants present at the end (the daemons), % of one core. */
    daemonsPercent: number;
    /** Processes counted as daemons at the end (names). */
    daemons: string[];
    seconds: number;
    /** Successful kernel fetches by the clients in the window (windows with clients). */
    fetches?: number;
}

async function measure(pid: number, label: string, fetchers: Fetchers | null = null): Promise<Window> {
    say(`measuring ${label} for ${SECONDS} s…`);
    const f0 = fetchers?.count() ?? 0;
    const p0 = procTimes(pid);
    const d0 = descendants(pid);
    const t0 = GLib.get_monotonic_time();
    await nap(SECONDS * 1000);
    const p1 = procTimes(pid);
    const d1 = descendants(pid);
    const seconds = (GLib.get_monotonic_time() - t0) / 1e6;
    const fetches = (fetchers?.count() ?? 0) - f0;
    if (fetchers !== null && fetches < CLIENTS.length * Math.floor(SECONDS / 2))
        throw new Error(`${label}: only ${fetches} kernel fetches in ${SECONDS} s (expected about ${CLIENTS.length * SECONDS})`);
    if (p0 === null || p1 === null || p1.starttime !== p0.starttime)
        throw new Error(`process ${pid} (${label}) ended during the measurement`);
    let daemonTicks = 0;
    const names: string[] = [];
    for (const [key, t] of d1) {
        daemonTicks += t.own - (d0.get(key)?.own ?? 0);
        names.push(t.comm);
    }
    const pct = (ticks: number): number => Math.round(ticks / TICKS / seconds * 100 * 100) / 100;
    return {
        cpuPercent: pct(p1.own - p0.own), commandsPercent: pct(p1.children - p0.children), daemonsPercent: pct(daemonTicks),
        daemons: names.sort(), seconds: Math.round(seconds * 100) / 100, ...fetchers !== null ? { fetches } : {},
    };
}

function must(argv: string[]): string {
    const r = sh(argv);
    if (r.status !== 0)
        throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
}

function nsPids(ns: string): string[] {
    return sh(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter(p => /^\d+$/.test(p));
}

/** The three client namespaces, each with eth0 on a veth into the server's br0. */
function addClients(net: LabNet): void {
    for (const c of CLIENTS) {
        must(['ip', 'netns', 'add', c.ns]);
        must(['ip', '-n', c.ns, 'link', 'set', 'lo', 'up']);
        must(['ip', '-n', net.srv, 'link', 'add', c.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.ns]);
        must(['ip', '-n', net.srv, 'link', 'set', c.port, 'master', 'br0', 'up']);
        must(['ip', '-n', c.ns, 'link', 'set', 'eth0', 'address', c.mac]);
        must(['ip', '-n', c.ns, 'link', 'set', 'eth0', 'up']);
    }
}

function removeClients(): void {
    for (const c of CLIENTS) {
        if (!namespaces().includes(c.ns))
            continue;
        for (const signal of ['-TERM', '-KILL']) {
            const pids = nsPids(c.ns);
            if (pids.length > 0)
                sh(['kill', signal, ...pids]);
            GLib.usleep(100000);
        }
        sh(['ip', 'netns', 'del', c.ns]);
    }
}

/** Clients that fetch the kernel once a second (each a shell loop in its namespace). */
class Fetchers {
    private procs: Gio.Subprocess[] = [];
    /** One line per successful fetch, all clients. */
    private readonly log: string;

    constructor(dir: string) {
        this.log = `${dir}/fetches`;
    }

    /** Successful fetches so far. */
    count(): number {
        return (readTextFile(this.log) ?? '').split('\n').filter(l => l !== '').length;
    }

    /** Each client gets an address from the share's DHCP, then starts fetching. */
    start(net: LabNet): void {
        for (const c of CLIENTS) {
            sh(['ip', '-n', c.ns, 'addr', 'flush', 'dev', 'eth0']);
            const r = sh(['ip', 'netns', 'exec', c.ns, 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '5', '-T', '3', '-s', `${TOP}/test/tools/udhcpc-script.sh`]);
            if (r.status !== 0)
                throw new Error(`${c.ns}: no address from the share's DHCP: ${r.stderr.trim()}`);
            const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDOUT_SILENCE | Gio.SubprocessFlags.STDERR_SILENCE });
            this.procs.push(launcher.spawnv(['ip', 'netns', 'exec', c.ns, 'sh', '-c',
                `while :; do curl -sf -o /dev/null http://${net.serverIp}/medium/casper/vmlinuz && echo ${c.ns} >> '${this.log}'; sleep 1; done`]));
        }
    }

    /** Ends the loops and whatever they still run (curl, sleep), by PID. */
    async stop(): Promise<void> {
        for (const p of this.procs)
            p.send_signal(15);
        for (const c of CLIENTS) {
            const pids = nsPids(c.ns);
            if (pids.length > 0)
                sh(['kill', '-TERM', ...pids]);
        }
        for (const p of this.procs) {
            for (let i = 0; i < 100 && p.get_identifier() !== null; i++)
                await sleep(20);
        }
        this.procs = [];
    }
}

function call(conn: Gio.DBusConnection, method: string, params: GLib.Variant | null, iface = INTERFACE_NAME): GLib.Variant {
    return conn.call_sync(BUS_NAME, OBJECT_PATH, iface, method, params, null, Gio.DBusCallFlags.NONE, 60000, null);
}

function state(conn: Gio.DBusConnection): string {
    return (call(conn, 'Get', new GLib.Variant('(ss)', [INTERFACE_NAME, 'State']), 'org.freedesktop.DBus.Properties').recursiveUnpack() as [string])[0];
}

async function benchStart(net: LabNet, medium: string, fetchers: Fetchers): Promise<{ idle: Window; clients3: Window }> {
    say('share-this-cd start (command line, root)…');
    const share = new LabShare(CLI, net.srv, ['--medium', medium, '--interface', 'br0'], { SHARE_THIS_CD_RUNTIME_DIR: RUNTIME_DIR });
    try {
        await Promise.race([share.waitFor(READY, 30000), interrupted]);
        await nap(2000);
        const idle = await measure(share.pid, 'start, sharing, no client');
        fetchers.start(net);
        await nap(3000);
        const clients3 = await measure(share.pid, 'start, 3 clients fetching', fetchers);
        await fetchers.stop();
        share.signal(2);
        const status = await share.ended();
        if (status !== 0)
            throw new Error(`share-this-cd start ended with status ${status}:\n${share.output}`);
        return { idle, clients3 };
    } catch (e) {
        // The engine's own words, when it ended or failed.
        const tail = share.lines.slice(-15).map(l => `    | ${l}`).join('\n');
        throw new Error(`${(e as Error).message ?? e}${tail !== '' && !share.running ? `\n  share-this-cd start said (status ${share.exitStatus}):\n${tail}` : ''}`);
    } finally {
        await fetchers.stop();
        if (share.running) {
            share.signal(2);
            await share.ended().catch(() => {
                share.signal(9);
                return 0;
            });
        }
    }
}

async function benchHelper(net: LabNet, medium: string, fetchers: Fetchers): Promise<{ notSharing: Window; idle: Window; clients3: Window }> {
    say('the helper (private system bus, polkitd)…');
    const bus = new BusLab({ top: TOP, helperJs: `${BUILD}/share-this-cd-helper.js`, netns: net.srv, idleTimeout: Math.max(600, SECONDS * 10),
        env: { SHARE_THIS_CD_RUNTIME_DIR: RUNTIME_DIR } });
    try {
        bus.startBus();
        await bus.startPolkit('live');
        const conn = bus.connection();
        if (state(conn) !== 'stopped')
            throw new Error('the helper is not in state stopped after activation');
        const pid = bus.helperPid();
        if (pid === null)
            throw new Error(`the helper did not start: ${bus.logTail()}`);
        await nap(2000);
        const notSharing = await measure(pid, 'helper, not sharing');
        const options = new GLib.Variant('(a{sv})', [{ medium: new GLib.Variant('s', medium), interface: new GLib.Variant('s', 'br0') }]);
        call(conn, 'Start', options);
        if (state(conn) !== 'sharing')
            throw new Error('Start returned but State is not sharing');
        await nap(2000);
        const idle = await measure(pid, 'helper, sharing, no client');
        fetchers.start(net);
        await nap(3000);
        const clients3 = await measure(pid, 'helper, 3 clients fetching', fetchers);
        await fetchers.stop();
        call(conn, 'Stop', null);
        if (state(conn) !== 'stopped')
            throw new Error('Stop returned but State is not stopped');
        if (bus.helperPid() !== pid)
            throw new Error('the helper was replaced during the benchmark');
        return { notSharing, idle, clients3 };
    } catch (e) {
        throw new Error(`${(e as Error).message ?? e}\n  helper log: ${bus.logTail()}`);
    } finally {
        await fetchers.stop();
        await bus.stop();
    }
}

function line(label: string, w: Window, target: boolean): string {
    const mark = target ? ` (target ≤ ${TARGET_IDLE} %) ${w.cpuPercent <= TARGET_IDLE ? '✔' : '✘'}` : '';
    const fetches = w.fetches !== undefined ? `; ${w.fetches} kernel fetches` : '';
    return `${label} (${Math.round(w.seconds)} s): ${w.cpuPercent.toFixed(2)} % of a core${mark}; commands it ran ${w.commandsPercent.toFixed(2)} %; `
        + `its daemons ${w.daemonsPercent.toFixed(2)} % (${w.daemons.join(', ') || 'none'})${fetches}`;
}

async function bench(): Promise<void> {
    const net = new LabNet('beng');
    let medium: string | null = null;
    const work = GLib.dir_make_tmp('share-this-cd-bench-engine-XXXXXX');
    const fetchers = new Fetchers(work);
    try {
        // rpcbind takes /run/rpcbind.lock, which is the same file in every network namespace: while another
        // rpcbind runs (a test run, another share), the engine's own rpcbind for ganesha cannot start.
        const rpcbinds = processesNamed('rpcbind');
        if (rpcbinds.length > 0)
            throw new Error(`an rpcbind already runs (pid ${rpcbinds.join(', ')}; a test run or another share?): the engine's own rpcbind could not start (/run/rpcbind.lock); run the benchmark when it has ended`);
        removeClients();
        net.setup({ client: false });
        addClients(net);
        medium = makeSampleMedium(TOP);
        const start = await benchStart(net, medium, fetchers);
        const helper = await benchHelper(net, medium, fetchers);
        const met = start.idle.cpuPercent <= TARGET_IDLE && helper.idle.cpuPercent <= TARGET_IDLE;
        const strip = ({ daemons: _names, ...figures }: Window): Omit<Window, 'daemons'> => figures;
        if (JSON_OUTPUT) {
            print(JSON.stringify({
                start: { idle: strip(start.idle), clients3: strip(start.clients3) },
                helper: { notSharing: strip(helper.notSharing), idle: strip(helper.idle), clients3: strip(helper.clients3) },
                targets: { idlePercent: TARGET_IDLE, met },
            }));
        } else {
            print(`CPU time as % of one core (utime + stime from /proc, ${TICKS} ticks/s; 3 clients each fetch the kernel over HTTP once a second)`);
            print(line('start, sharing, no client', start.idle, true));
            print(line('start, sharing, 3 clients fetching', start.clients3, false));
            print(line('helper, not sharing', helper.notSharing, false));
            print(line('helper, sharing, no client', helper.idle, true));
            print(line('helper, sharing, 3 clients fetching', helper.clients3, false));
            print(`idle targets (≤ ${TARGET_IDLE} % for start and helper): ${met ? 'met ✔' : 'not met ✘'}`);
        }
    } finally {
        await fetchers.stop();
        removeClients();
        net.teardown();
        if (medium !== null)
            sh(['rm', '-rf', medium]);
        sh(['rm', '-rf', work]);
        // The engine removes its runtime files at stop; take the folder away, never crossing a mount.
        const left = removeTree(RUNTIME_DIR);
        if (left.length > 0)
            printerr(`bench-engine: left in place (mount points): ${left.join(', ')}`);
    }
}

/** 0 when it measured (targets met or not), 1 on any error, clean-up included. */
async function main(): Promise<number> {
    for (const signal of [2, 15]) {
        unixSignalAdd(GLib.PRIORITY_HIGH, signal, () => {
            printerr('bench-engine: interrupted, cleaning up…');
            interrupt(new Error(`interrupted (signal ${signal})`));
            return GLib.SOURCE_CONTINUE;
        });
    }
    try {
        await bench();
        return 0;
    } catch (e) {
        printerr(`bench-engine: ${(e as Error).message ?? e}`);
        return 1;
    }
}

system.exit(runMain(main));
