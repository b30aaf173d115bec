// The sharing engine (effects around the pure plan): start = validate → lock → medium → network → plan →
// runtime tree → daemons (each waited for) → sharing; any failure rolls back everything already done.
// stop is idempotent and leaves nothing. Every effect is recorded in state.json *before* it is made, so a
// crashed run's leftovers (daemons, exports, mounts, addresses, files) are found and removed at the next start.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { _, format } from '../shared/i18n.ts';
import { ShareError, isShareError } from '../shared/errors.ts';
import { hasControlChars } from '../shared/text.ts';
import { planBoot } from './bootPlan.ts';
import { type Client, ClientTracker, DnsmasqLogReader, type TrackerChange, type TrackerEvent, fileClassifier } from './clients.ts';
import { chmod, copyFile, createExclusive, mkdirs, mountsBelow, readTextFile, removeTree, rename, symlink, traversableByOthers, writeAtomic } from './fsutil.ts';
import { inspectMedium } from './medium/inspect.ts';
import { openMedium, runningMediumPath } from './medium/running.ts';
import { addAddress, listInterfaces, neighbours, removeAddress, takenNetworks } from './network/host.ts';
import { chooseInterface } from './network/interfaces.ts';
import type { Cidr } from './network/ipv4.ts';
import { type Mode, type RequestedMode, chooseDirectSubnet, chooseRange, decideMode } from './network/mode.ts';
import { probeDhcp } from './network/probe.ts';
import { GRUB_MKIMAGE_MODULES, type ShareSpec, planShare } from './plan.ts';
import { explainDnsmasqFailure } from './services/dnsmasq.ts';
import { parseHttpAccess } from './services/http.ts';
import { kernelUnexportArgv, parseNfsPeers } from './services/nfs.ts';
import { Daemon, isRunning, killPid, run, sleep, tcpConnects } from './services/supervisor.ts';
import { isoProblem, mountIso, unmount } from './medium/iso.ts';
import { findLoaders, nfsBackend } from './system.ts';
import { isPlainPath } from '../shared/paths.ts';

export const DEFAULT_RUNTIME_DIR = '/run/share-this-cd';

export interface ShareOptions {
    medium: string | null;
    iso: string | null;
    interface: string | null;
    mode: RequestedMode;
    http: boolean;
    httpPort: number;
}

export interface EngineEnv {
    runtimeDir: string;
    /** How long the DHCP probe listens (ms). */
    probeWindowMs: number;
    /** Seconds of silence before a client counts as gone. */
    goneAfter: number;
    /** How often NFS connections and neighbours are polled (ms). */
    pollMs: number;
}

export const DEFAULT_ENV: EngineEnv = { runtimeDir: DEFAULT_RUNTIME_DIR, probeWindowMs: 3000, goneAfter: 120, pollMs: 2000 };

/** What state.json records: everything needed to undo a share, even after a crash. */
export interface ShareState {
    version: 1;
    owner: number;
    startedAt: number;
    interface: string | null;
    address: Cidr | null;
    /** The address we added to the interface (direct cable), to remove. */
    addedAddress: Cidr | null;
    mode: Mode | null;
    medium: string | null;
    label: string | null;
    /** Mount points we made (ISO, bind alias), to unmount (last first). */
    mounts: string[];
    /** Kernel NFS exports we made, as `exportfs -u` arguments. */
    exports: string[][];
    daemons: { name: string; pid: number; comm: string }[];
    http: number | null;
}

export interface StatusJson {
    state: 'sharing' | 'stopped';
    pid: number | null;
    interface: string | null;
    address: string | null;
    mode: Mode | null;
    medium: string | null;
    label: string | null;
    http: number | null;
    clientCount: number;
    clients: Client[];
}

function statePath(dir: string): string {
    return `${dir}/state.json`;
}

/** A JSON file we wrote (atomically), or null when it is missing or unreadable. */
function readJson<T>(path: string): T | null {
    const text = readTextFile(path);
    if (text === null)
        return null;
    try {
        return JSON.parse(text) as T;
    } catch {
        return null;
    }
}

function readState(dir: string): ShareState | null {
    return readJson<ShareState>(statePath(dir));
}

/** True when `pid` is a running share-this-cd process (gjs running our bundle). */
export function isOwnerAlive(pid: number): boolean {
    if (!isRunning(pid))
        return false;
    const cmdline = readTextFile(`/proc/${pid}/cmdline`) ?? '';
    return cmdline.includes('share-this-cd');
}

/**
 * Removes what a share that is no longer running left behind. Returns sentences saying what was cleaned.
 * Never touches anything not recorded as ours.
 */
export async function cleanupLeftovers(dir: string): Promise<string[]> {
    const done: string[] = [];
    const state = readState(dir);
    if (state) {
        for (const d of [...state.daemons].reverse()) {
            if (isRunning(d.pid, d.comm)) {
                await killPid(d.pid, d.comm);
                done.push(format(_("stopped {name} (pid {pid})"), { name: d.name, pid: d.pid }));
            }
        }
        for (const args of state.exports) {
            if (run(args).status === 0)
                done.push(format(_("removed the NFS export {path}"), { path: args[args.length - 1] }));
        }
        for (const m of [...state.mounts].reverse()) {
            if (mountsBelow(m).includes(m) && unmount(m))
                done.push(format(_("unmounted {path}"), { path: m }));
        }
        if (state.addedAddress && state.interface) {
            removeAddress(state.interface, state.addedAddress);
            done.push(format(_("removed the address {address} from {interface}"), { address: `${state.addedAddress.address}/${state.addedAddress.prefix}`, interface: state.interface }));
        }
    }
    // Anything still mounted below the runtime directory is ours too.
    for (const m of mountsBelow(dir)) {
        if (m !== dir && unmount(m))
            done.push(format(_("unmounted {path}"), { path: m }));
    }
    if (GLib.file_test(dir, GLib.FileTest.EXISTS)) {
        const left = removeTree(dir);
        if (left.length > 0)
            throw new ShareError('DaemonFailed', format(_("Could not remove {paths}: something is still mounted or in use there."), { paths: left.join(', ') }));
    }
    return done;
}

export function validateOptions(o: ShareOptions): void {
    for (const [name, value] of [['medium', o.medium], ['iso', o.iso], ['interface', o.interface]] as const) {
        if (value === null)
            continue;
        if (value === '' || hasControlChars(value))
            throw new ShareError('InvalidOption', format(_("The {option} “{value}” contains a line break or control character."), { option: name, value: JSON.stringify(value) }));
        if (name !== 'interface' && value.split('/').includes('..'))
            throw new ShareError('InvalidOption', format(_("The {option} path {value} contains “..”: give the path without “..”."), { option: name, value: JSON.stringify(value) }));
    }
    if (o.interface !== null && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(o.interface))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a network interface name."), { value: JSON.stringify(o.interface).slice(1, -1) }));
    if (o.medium !== null && o.iso !== null)
        throw new ShareError('InvalidOption', _("Give either a medium folder or an ISO file, not both."));
    if (!['auto', 'proxy', 'dhcp'].includes(o.mode))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a mode: use auto, proxy or dhcp."), { value: String(o.mode) }));
    if (!Number.isInteger(o.httpPort) || o.httpPort < 1 || o.httpPort > 65535)
        throw new ShareError('InvalidOption', format(_("“{value}” is not a valid HTTP port (1–65535)."), { value: String(o.httpPort) }));
}

export interface ShareCallbacks {
    /** Progress sentences during start. */
    onProgress?: (text: string) => void;
    onClient?: (change: TrackerChange, count: number) => void;
    /** A daemon died while sharing: the share stopped itself. */
    onFailure?: (error: ShareError) => void;
}

export class Share {
    readonly spec: ShareSpec;
    readonly notes: string[];
    private readonly daemons: Daemon[] = [];
    private readonly tracker: ClientTracker;
    private readonly dnsmasqLog: DnsmasqLogReader;
    private pollTimer: number | null = null;
    private logTimer: number | null = null;
    private stopped = false;
    /** How long the DHCP probe listened (part of the start time). */
    probeMs = 0;
    /** All daemons answered: from now on a daemon that exits is a failure of the share. */
    private serving = false;

    private constructor(private readonly env: EngineEnv, private state: ShareState, spec: ShareSpec, notes: string[], private readonly callbacks: ShareCallbacks) {
        this.spec = spec;
        this.notes = notes;
        this.tracker = new ClientTracker(fileClassifier(spec.kernels, spec.initrds), env.goneAfter);
        this.dnsmasqLog = new DnsmasqLogReader(spec.tftpRoot);
    }

    /** Starts sharing. Resolves when every daemon answers; rejects with a ShareError and nothing left behind. */
    static async start(options: ShareOptions, env: EngineEnv = DEFAULT_ENV, callbacks: ShareCallbacks = {}): Promise<Share> {
        validateOptions(options);
        const dir = env.runtimeDir;
        // One share at a time: the lock file holds the owner's pid.
        mkdirs(GLib.path_get_dirname(dir));
        const owner = shareOwner(dir);
        if (owner !== null)
            throw new ShareError('AlreadySharing', format(_("This computer is already sharing (process {pid}). Stop that first: share-this-cd stop."), { pid: owner }));
        const cleaned = await cleanupLeftovers(dir);
        mkdirs(dir, 0o755);
        if (!createExclusive(`${dir}/lock`, String(getPid())))
            throw new ShareError('AlreadySharing', _("Another share is starting right now."));
        const state: ShareState = { version: 1, owner: getPid(), startedAt: Math.floor(Date.now() / 1000), interface: null, address: null,
            addedAddress: null, mode: null, medium: null, label: null, mounts: [], exports: [], daemons: [], http: null };
        const save = (): void => writeAtomic(statePath(dir), JSON.stringify(state, null, 1));
        const notes = cleaned.length > 0 ? [format(_("Cleaned up after an earlier run that did not stop: {what}."), { what: cleaned.join(', ') })] : [];
        const progress = (t: string): void => callbacks.onProgress?.(t);
        let share: Share | null = null;
        let probeMs = 0;
        try {
            save();
            // 1. The medium (before touching the network).
            let mediumPath: string;
            if (options.iso !== null) {
                const problem = isoProblem(options.iso);
                if (problem)
                    throw new ShareError('NoLiveMedium', problem);
                const mountPoint = `${dir}/iso`;
                mkdirs(mountPoint);
                state.mounts.push(mountPoint);
                save();
                progress(format(_("Mounting {iso}…"), { iso: options.iso }));
                mountIso(options.iso, mountPoint);
                mediumPath = mountPoint;
            } else {
                mediumPath = options.medium ?? runningMediumPath();
            }
            const reader = openMedium(mediumPath);
            const medium = inspectMedium(reader);
            state.medium = medium.root;
            state.label = medium.label;

            // 2. The network: interface, address, other DHCP servers, mode.
            const iface = chooseInterface(listInterfaces(), options.interface);
            if (iface.mac === null)
                throw new ShareError('NoUsableInterface', format(_("“{name}” has no hardware address: it cannot serve network boot."), { name: iface.name }));
            let server: Cidr;
            let assigned = false;
            if (iface.ipv4.length === 0) {
                server = chooseDirectSubnet(takenNetworks());
                state.interface = iface.name;
                state.addedAddress = server;
                save();
                addAddress(iface.name, server);
                assigned = true;
                progress(format(_("{name} has no address: using {address}/{prefix} for a direct cable."), { name: iface.name, address: server.address, prefix: server.prefix }));
            } else {
                server = iface.ipv4[0];
            }
            state.interface = iface.name;
            state.address = server;
            save();
            progress(format(_("Looking for other DHCP servers on {name}…"), { name: iface.name }));
            const probeStart = GLib.get_monotonic_time();
            const probe = await probeDhcp({ address: server.address, mac: iface.mac }, env.probeWindowMs);
            probeMs = Math.round((GLib.get_monotonic_time() - probeStart) / 1000);
            const decision = decideMode(options.mode, probe, assigned);
            notes.push(...decision.notes);
            const range = decision.mode === 'dhcp'
                ? chooseRange(server, [...neighbours(iface.name).map(([ip]) => ip), ...probe.servers.map(s => s.offered).filter(a => a !== '0.0.0.0'), ...iface.ipv4.map(c => c.address)])
                : null;
            state.mode = decision.mode;

            // 3. The plan.
            const backend = nfsBackend();
            if (backend === null)
                throw new ShareError('DaemonFailed', _("No NFS server is installed: install nfs-kernel-server (or nfs-ganesha and nfs-ganesha-vfs)."));
            // Serve through a read-only bind mount under the runtime dir when the medium's own path cannot be
            // written on a kernel command line (spaces…) or is not reachable for the daemons (udisks mounts under
            // /media/USER, which only USER may enter).
            const bindAlias = isPlainPath(medium.root.slice(1)) && traversableByOthers(medium.root) ? null : `${dir}/medium`;
            const boot = planBoot(medium, reader, { server: server.address, http: options.http, httpPort: options.httpPort, nfsRoot: bindAlias ?? undefined });
            const ownRpcbind = backend === 'ganesha' && !(await tcpConnects(server.address, 111, 200));
            const spec = planShare({ boot, interfaceName: iface.name, server, addressAssigned: assigned, mode: decision.mode, range,
                http: options.http ? { port: options.httpPort } : null, nfsBackend: backend, ownRpcbind, runtimeDir: dir,
                loaders: findLoaders(), bindAlias });
            state.http = spec.http?.port ?? null;
            save();
            share = new Share(env, state, spec, notes, callbacks);

            // 4. Files: the medium alias, the runtime tree (written aside, then renamed into place), configs.
            if (bindAlias !== null) {
                mkdirs(bindAlias);
                state.mounts.push(bindAlias);
                save();
                const r = run(['mount', '--bind', '-o', 'ro', medium.root, bindAlias]);
                if (r.status !== 0)
                    throw new Error(`mount --bind ${medium.root}: ${r.stderr.trim()}`);
                run(['mount', '-o', 'remount,bind,ro', bindAlias]);
            }
            writeTree(spec);
            if (spec.httpAccessLog !== null) {
                writeAtomic(spec.httpAccessLog, '');
                mkdirs(`${dir}/nginx`, 0o755);
            }
            for (const c of spec.configs)
                writeAtomic(c.path, c.text);
            mkdirs(`${dir}/ganesha`, 0o700);

            // 5. NFS export, HTTP, dnsmasq — each must answer before the next starts.
            if (spec.nfs.exportArgv) {
                state.exports.push(kernelUnexportArgv(spec.nfs.spec));
                save();
                const r = run(spec.nfs.exportArgv);
                if (r.status !== 0)
                    throw new ShareError('DaemonFailed', format(_("The NFS export failed: {error}"), { error: r.stderr.trim() }));
            }
            await checkPortsFree(spec);
            for (const d of spec.daemons) {
                progress(format(_("Starting {name}…"), { name: d.name }));
                await share.startDaemon(d.name, d.argv, d.readyTcp, d.readyLine);
            }
            share.serving = true;
            share.probeMs = probeMs;
            share.startPolling();
            writeAtomic(`${dir}/status.json`, JSON.stringify(share.status(), null, 1));
            return share;
        } catch (e) {
            if (share)
                await share.teardown();
            else
                await cleanupLeftovers(dir).catch(() => []);
            throw asShareError(e);
        }
    }

    private async startDaemon(name: string, argv: string[], readyTcp: { address: string; port: number }[], readyLine: string | null): Promise<void> {
        const comm = argv[0].slice(argv[0].lastIndexOf('/') + 1);
        const daemon = new Daemon({
            name, argv,
            onLine: line => this.onDaemonLine(name, line),
            onExit: (status, lines) => this.onDaemonExit(name, status, lines),
        });
        this.daemons.push(daemon);
        this.state.daemons.push({ name, pid: daemon.pid, comm });
        writeAtomic(statePath(this.env.runtimeDir), JSON.stringify(this.state, null, 1));
        try {
            await daemon.ready({
                line: readyLine !== null ? new RegExp(readyLine) : undefined,
                check: readyTcp.length > 0 ? async () => (await Promise.all(readyTcp.map(t => tcpConnects(t.address, t.port, 200)))).every(x => x) : undefined,
                timeoutMs: name === 'ganesha' ? 15000 : 5000,
            });
        } catch (e) {
            const output = daemon.lastLines(20).join('\n');
            const why = (name === 'dnsmasq' ? explainDnsmasqFailure(output) : null) ?? explainPortConflict(name, output, readyTcp) ?? (e as Error).message;
            throw new ShareError('DaemonFailed', format(_("{name} could not start: {why}."), { name, why }));
        }
    }

    private onDaemonLine(name: string, line: string): void {
        let event: TrackerEvent | null = null;
        if (name === 'dnsmasq')
            event = this.dnsmasqLog.read(line);
        if (event)
            this.applyEvent(event);
    }

    private accessLogOffset = 0;

    /** New lines of the HTTP server's access log → file events. */
    private followAccessLog(): void {
        const path = this.spec.httpAccessLog;
        const text = path === null ? null : readTextFile(path);
        if (text === null || text.length <= this.accessLogOffset)
            return;
        const end = text.lastIndexOf('\n') + 1;
        const fresh = text.slice(this.accessLogOffset, end);
        this.accessLogOffset = end;
        for (const line of fresh.split('\n')) {
            const access = parseHttpAccess(line);
            if (access && access.status < 400)
                this.applyEvent({ type: 'file', ip: access.client, path: access.path.replace(/^\/+/, ''), via: 'http', ok: true });
        }
    }

    private applyEvent(event: TrackerEvent): void {
        const changes = this.tracker.apply(event, Date.now() / 1000);
        this.publish(changes);
    }

    private published = -1;

    private publish(changes: TrackerChange[]): void {
        if (this.stopped || this.tracker.version === this.published)
            return;
        this.published = this.tracker.version;
        writeAtomic(`${this.env.runtimeDir}/status.json`, JSON.stringify(this.status(), null, 1));
        const count = this.tracker.active().length;
        for (const c of changes)
            this.callbacks.onClient?.(c, count);
    }

    private onDaemonExit(name: string, status: number, lines: string[]): void {
        if (this.stopped || !this.serving)
            return;
        // The sentence is for people; the daemon's last words go to the log.
        console.warn(`${name} exited with status ${status}; its last output: ${lines.slice(-5).join(' | ') || '-'}`);
        const error = new ShareError('DaemonFailed', format(_("{server} stopped unexpectedly, so sharing was stopped: other computers cannot start from this one now. Turn sharing on again."), { server: daemonRole(name) }));
        this.stop().then(() => this.callbacks.onFailure?.(error)).catch(() => this.callbacks.onFailure?.(error));
    }

    private startPolling(): void {
        this.pollTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, this.env.pollMs, () => {
            this.poll();
            return GLib.SOURCE_CONTINUE;
        });
        if (this.spec.httpAccessLog !== null) {
            this.logTimer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 250, () => {
                this.followAccessLog();
                return GLib.SOURCE_CONTINUE;
            });
        }
    }

    /** NFS connections, the neighbour table, silence. */
    poll(): void {
        if (this.stopped)
            return;
        const now = Date.now() / 1000;
        const changes: TrackerChange[] = [];
        changes.push(...this.tracker.apply({ type: 'neighbours', pairs: neighbours(this.spec.interfaceName) }, now));
        const ss = run(['ss', '-Htn', 'state', 'established', '( sport = :2049 )']);
        if (ss.status === 0)
            changes.push(...this.tracker.apply({ type: 'nfs', peers: parseNfsPeers(ss.stdout) }, now));
        changes.push(...this.tracker.tick(now));
        this.publish(changes);
    }

    clients(): Client[] {
        return this.tracker.list();
    }

    status(): StatusJson {
        return {
            state: this.stopped ? 'stopped' : 'sharing', pid: getPid(), interface: this.spec.interfaceName,
            address: this.spec.server.address, mode: this.spec.mode, medium: this.spec.medium.root, label: this.spec.medium.label,
            http: this.spec.http?.port ?? null, clientCount: this.tracker.active().length, clients: this.tracker.list(),
        };
    }

    /** Stops everything; idempotent. */
    async stop(): Promise<void> {
        if (this.stopped)
            return;
        await this.teardown();
    }

    private async teardown(): Promise<void> {
        this.stopped = true;
        for (const timer of [this.pollTimer, this.logTimer]) {
            if (timer !== null)
                GLib.source_remove(timer);
        }
        this.pollTimer = null;
        this.logTimer = null;
        for (const d of [...this.daemons].reverse())
            await d.stop();
        await cleanupLeftovers(this.env.runtimeDir);
    }
}

/** A daemon as people know it: "The DHCP and TFTP server (dnsmasq)". */
export function daemonRole(name: string): string {
    switch (name) {
    case 'dnsmasq': return _("The DHCP and TFTP server (dnsmasq)");
    case 'nginx': return _("The HTTP server (nginx)");
    case 'ganesha': return _("The NFS server (nfs-ganesha)");
    case 'rpcbind': return _("The NFS port mapper (rpcbind)");
    default: return name;
    }
}

/** Refuses to start when a TCP/UDP port a daemon needs is already served by another program. */
async function checkPortsFree(spec: ShareSpec): Promise<void> {
    const names: Record<number, string> = { 69: 'TFTP', 80: 'HTTP', 111: 'portmapper', 2049: 'NFS', 20048: 'NFS mount' };
    for (const d of spec.daemons) {
        for (const t of d.readyTcp) {
            if (await tcpConnects(t.address, t.port, 200))
                throw new ShareError('DaemonFailed', format(_("Port {port} ({what}) is already used by another program on this computer: stop it, or share with --no-http if it is port 80."), { port: t.port, what: names[t.port] ?? d.name }));
        }
    }
    if (!udpPortFree(spec.server.address, 69))
        throw new ShareError('DaemonFailed', format(_("Port {port} ({what}) is already used by another program on this computer: stop it, then try again."), { port: 69, what: 'TFTP' }));
}

function udpPortFree(address: string, port: number): boolean {
    try {
        const s = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        s.bind(Gio.InetSocketAddress.new_from_string(address, port) as Gio.InetSocketAddress, false);
        s.close();
        return true;
    } catch {
        return false;
    }
}

function explainPortConflict(name: string, output: string, readyTcp: { address: string; port: number }[]): string | null {
    if (/address already in use|Cannot bind|bind\(\) .*failed|Address in use/i.test(output)) {
        const port = readyTcp.find(t => t.port !== 111)?.port ?? readyTcp[0]?.port;
        return format(_("port {port} is already used by another program on this computer; stop it and try again"), { port: port ?? '?' });
    }
    return null;
}

function asShareError(e: unknown): ShareError {
    if (isShareError(e))
        return e;
    return new ShareError('DaemonFailed', format(_("Sharing could not start: {error}"), { error: e instanceof Error ? e.message : String(e) }));
}

function writeTree(spec: ShareSpec): void {
    const tmp = `${spec.tftpRoot}.new`;
    removeTree(tmp);
    mkdirs(tmp);
    for (const item of spec.tree) {
        const path = `${tmp}/${item.path}`;
        mkdirs(GLib.path_get_dirname(path));
        switch (item.kind) {
        case 'text':
            writeAtomic(path, item.text);
            break;
        case 'copy':
            copyFile(item.from, path);
            break;
        case 'symlink':
            symlink(item.target, path);
            break;
        case 'grub-mkimage': {
            const r = run([item.mkimage, '-O', 'x86_64-efi', '-p', item.prefix, '-o', path, ...GRUB_MKIMAGE_MODULES]);
            if (r.status !== 0)
                throw new Error(`grub-mkimage: ${r.stderr.trim()}`);
            chmod(path, 0o644);
            break;
        }
        }
    }
    chmod(tmp, 0o755);
    rename(tmp, spec.tftpRoot);
}

/** The PID of another live process that owns the share (running or still starting), or null. */
export function shareOwner(dir = DEFAULT_RUNTIME_DIR): number | null {
    const owner = readState(dir)?.owner ?? Number.parseInt(readTextFile(`${dir}/lock`) ?? '', 10);
    return Number.isInteger(owner) && owner !== getPid() && isOwnerAlive(owner) ? owner : null;
}

/** Reads the status a running share publishes; null when nothing is shared. */
export function readStatus(dir = DEFAULT_RUNTIME_DIR): StatusJson | null {
    const state = readState(dir);
    if (!state || !isOwnerAlive(state.owner))
        return null;
    return readJson<StatusJson>(`${dir}/status.json`);
}

/** Stops a share owned by another process (SIGTERM, wait), or cleans up after a dead one. */
export async function stopShare(dir = DEFAULT_RUNTIME_DIR, timeoutMs = 10000): Promise<'stopped' | 'cleaned' | 'not-sharing'> {
    const state = readState(dir);
    if (state && isOwnerAlive(state.owner) && state.owner !== getPid()) {
        run(['kill', '-TERM', String(state.owner)]);
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (isOwnerAlive(state.owner) && GLib.get_monotonic_time() < deadline)
            await sleep(20);
        if (isOwnerAlive(state.owner))
            await killPid(state.owner, null, 100);
        await cleanupLeftovers(dir);
        return 'stopped';
    }
    const had = GLib.file_test(dir, GLib.FileTest.EXISTS);
    await cleanupLeftovers(dir);
    return had ? 'cleaned' : 'not-sharing';
}

function getPid(): number {
    // /proc/self is this process.
    const link = GLib.file_read_link('/proc/self');
    return Number.parseInt(link, 10);
}
