// The sharing engine: one share, owned by this process for its whole life (it holds the runtime directory's
// lock). start = validate → lock → undo a dead owner's leftovers → medium → network → plan → files → export →
// daemons (each waited for) → sharing; every effect is a journal entry written before it is made, so a failed
// start rolls back, a stop undoes, and the next owner cleans up after a crash, all by replaying the journal.
import GLib from 'gi://GLib';

import { type ComputerSettings, DEFAULT_COMPUTER_SETTINGS, accessOf, allowedMacs } from '../shared/computers.ts';
import { ShareError, isShareError } from '../shared/errors.ts';
import { _, format } from '../shared/i18n.ts';
import { type ShareOptions, validateOptions } from '../shared/options.ts';
import type { Client, TrackerChange } from './clients.ts';
import { mkdirs, writeAtomic } from '../shared/fsutil.ts';
import { type ShareSpec, accessPlan, changedItems, proxyPlan } from './plan.ts';
import { VendorLookup } from './oui.ts';
import { SettingsStore } from './settings.ts';
import { chooseNetwork, makeSpec, openShareMedium } from './prepare.ts';
import type { Pinned } from './medium/pin.ts';
import { DEFAULT_ENV, type EngineEnv } from './runtime/env.ts';
import { Journal } from './runtime/journal.ts';
import { OwnerLock } from './runtime/lock.ts';
import { type StatusJson, lockOwner, releaseRuntime, sweepRuntime, undoLeftovers, writeStatus } from './runtime/owner.ts';
import { checkPortsFree, exportNfs, packForNfs, updateTree, writeFiles } from './apply.ts';
import { Daemon, type DaemonOptions, type DaemonSpec, processIdentity, run, tcpConnects } from './services/supervisor.ts';
import { mountdPorts } from './services/nfs.ts';
import { SLEEP, anchorArgv, anchorReady, confine, inJailArgv } from './services/jail.ts';
import { Coalescer, PUBLISH_INTERVAL_MS, sleep } from '../shared/timers.ts';
import { ClientWatch } from './watch.ts';
import { type DhcpAnswer, assessRivals, otherPxeNotice, wentProxyNotices } from './network/mode.ts';
import { DHCP_PERIOD_MS, PROXY_PERIOD_MS, RivalWatch } from './network/rivals.ts';
import { type Ports, currentInputChains, openChain } from './network/firewall.ts';
import { addRichRule, firewalldRunning, hasRichRule, richRules, zoneOf } from './network/firewalld.ts';
import { ruleKey, ufwActive, ufwAdded, ufwAllow, ufwRules } from './network/ufw.ts';
import { subnetText } from './network/ipv4.ts';

export interface ShareCallbacks {
    /** Progress sentences during start. */
    onProgress?: (text: string) => void;
    onClient?: (change: TrackerChange, count: number) => void;
    /** The computers' names or which may start changed (the settings file): the clients read differently. */
    onComputers?: () => void;
    /** A daemon died while sharing: the share stopped itself. */
    onFailure?: (error: ShareError) => void;
    /**
     * Something the user must know that happened while sharing (another DHCP server appeared and we went on as
     * proxy-DHCP, another network-boot server answers): one sentence.
     */
    onNotice?: (text: string) => void;
}

/** At most this many notices are kept (the newest). */
const MAX_NOTICES = 8;

function ownPid(): number {
    return Number.parseInt(GLib.file_read_link('/proc/self'), 10);
}

export class Share {
    readonly notes: string[];
    private spec_: ShareSpec | null = null;
    private watch: ClientWatch | null = null;
    private readonly daemons: Daemon[] = [];
    private stopped = false;
    /** All daemons answered: from now on a daemon that exits is a failure of the share. */
    private serving = false;
    /** How long the DHCP probe listened (part of the start time). */
    probeMs = 0;
    /** Sentences that came while sharing (callbacks.onNotice), the newest last. */
    readonly notices: string[] = [];
    private rivals: RivalWatch | null = null;
    /** Network-boot servers already told of. */
    private readonly knownPxe = new Set<string>();
    /** Going from full DHCP to proxy-DHCP right now. */
    private switching = false;
    /** Which tools own this computer's firewall rules (asked once, at the first opening). */
    private firewallOwners: { firewalld: boolean; ufw: boolean } | null = null;
    /** Daemons stopped on purpose while sharing (the DHCP server of a mode left): their exit is no failure. */
    private readonly retired = new Set<Daemon>();
    /** Which computers may start and their names, as the settings file says (followed while sharing). */
    private computers: ComputerSettings = DEFAULT_COMPUTER_SETTINGS;
    /** The computers the running DHCP server answers (null: any), as its configuration says once it started. */
    private answering: string[] | null = null;
    private unfollowSettings: (() => void) | null = null;
    /** Changes of which computers may start, one after the other. */
    private accessChanges: Promise<void> = Promise.resolve();
    private readonly vendors = new VendorLookup();

    private constructor(private readonly env: EngineEnv, private readonly lock: OwnerLock, private readonly journal: Journal,
        private readonly callbacks: ShareCallbacks, notes: string[]) {
        this.notes = notes;
    }

    get spec(): ShareSpec {
        if (this.spec_ === null)
            throw new Error('the share has no plan yet');
        return this.spec_;
    }

    /** Starts sharing. Resolves when every daemon answers; rejects with a ShareError and nothing left behind. */
    static async start(options: ShareOptions, env: EngineEnv = DEFAULT_ENV, callbacks: ShareCallbacks = {}, pin: Pinned | null = null): Promise<Share> {
        validateOptions(options);
        const dir = env.runtimeDir;
        mkdirs(GLib.path_get_dirname(dir));
        const lock = OwnerLock.acquire(dir);
        if (lock === null) {
            const pid = lockOwner(dir)?.pid ?? null;
            throw new ShareError('AlreadySharing', pid !== null
                ? format(_("This computer is already sharing (process {pid}). Stop that first: share-this-cd stop."), { pid })
                : _("Another share is starting right now."));
        }
        let share: Share | null = null;
        try {
            const cleaned = await undoLeftovers(dir);
            const notes = cleaned.length > 0 ? [format(_("Cleaned up after an earlier run that did not stop: {what}."), { what: cleaned.join(', ') })] : [];
            share = new Share(env, lock, Journal.create(dir, ownPid()), callbacks, notes);
            await share.bringUp(options, pin);
            return share;
        } catch (e) {
            if (share !== null) {
                await share.teardown();
            } else {
                await undoLeftovers(dir).catch(() => []);
                releaseRuntime(dir, lock);
            }
            throw asShareError(e);
        }
    }

    private async bringUp(options: ShareOptions, pin: Pinned | null): Promise<void> {
        const dir = this.env.runtimeDir;
        const progress = (t: string): void => this.callbacks.onProgress?.(t);
        const { medium, reader, shown } = await openShareMedium(options, dir, this.journal, progress, pin);
        // DHCP's ports first: a firewall that drops the answers would make the probe hear nothing.
        const net = await chooseNetwork(options, this.env.probeWindowMs, this.journal, progress,
            (iface, server) => this.openFirewall(iface, subnetText(server), { udp: [67, 68, 4011], tcp: [] }));
        this.notes.push(...net.notes);
        this.probeMs = net.probeMs;
        for (const server of net.pxeServers)
            this.knownPxe.add(server);
        this.computers = this.loadComputers();
        const spec = await makeSpec(options, medium, reader, shown, net, dir, this.env.ipxeScripts, allowedMacs(this.computers), progress);
        this.spec_ = spec;
        this.watch = new ClientWatch(spec, this.env.goneAfter, this.env.pollMs, (changes, count) => this.publish(changes, count));
        // NFS's usual ports are opened whichever server answers (the kernel's nfsd has no daemon spec here).
        this.openFirewall(spec.interfaceName, spec.subnet, { udp: [69, 111, 2049],
            tcp: [111, 2049, ...spec.daemons.flatMap(d => d.ports.filter(p => p.protocol === 'tcp').map(p => p.port))] });
        writeFiles(spec, this.journal);
        await packForNfs(spec, this.journal, progress);
        exportNfs(spec, this.journal);
        if (spec.nfs.backend === 'kernel') // its mountd's port, wherever it is
            this.openFirewall(spec.interfaceName, spec.subnet, mountdPorts(run(['rpcinfo', '-p', spec.server.address]).stdout));
        await checkPortsFree(spec);
        for (const d of spec.daemons) {
            progress(format(_("Starting {name}…"), { name: d.name }));
            await this.startDaemon(d);
        }
        this.confineFileServers(spec);
        this.answering = spec.inputs.allowed ?? null;
        this.serving = true;
        this.watch.start();
        this.rivals = new RivalWatch({ address: spec.server.address, mac: net.mac }, spec.mode === 'dhcp' ? DHCP_PERIOD_MS : PROXY_PERIOD_MS,
            answers => this.onRivals(answers));
        this.rivals.start();
        this.followSettings();
        writeStatus(dir, this.status());
    }

    private loadComputers(): ComputerSettings {
        const { access, computers } = new SettingsStore(this.env.stateDir).load();
        return { access, computers };
    }

    /**
     * The settings file, followed while sharing (the kernel's inotify: nothing runs until it changes): the
     * helper and `share-this-cd computers` write it when the user allows, ignores, names or forgets a computer.
     */
    private followSettings(): void {
        const store = new SettingsStore(this.env.stateDir);
        try {
            this.unfollowSettings = store.follow(() => this.reloadComputers());
        } catch (e) {
            console.warn(`the settings (${store.path}) cannot be followed: ${(e as Error).message}`);
        }
        // A change written while the share was being set up (after its first reading) is taken now.
        this.reloadComputers();
    }

    /**
     * The settings file changed (the helper calls it at once, after writing it; others' writes arrive through
     * inotify): resolves once the DHCP server answers the computers allowed now.
     */
    computersChanged(): Promise<void> {
        this.reloadComputers();
        return this.accessChanges;
    }

    private reloadComputers(): void {
        if (this.stopped)
            return;
        const next = this.loadComputers();
        if (JSON.stringify(next) === JSON.stringify(this.computers))
            return;
        this.computers = next;
        this.statusWriter.request();
        this.callbacks.onComputers?.();
        if (JSON.stringify(allowedMacs(next)) !== JSON.stringify(this.spec.inputs.allowed ?? null)) {
            this.accessChanges = this.accessChanges.then(() => this.applyAccess()).catch(e => {
                const error = new ShareError('DaemonFailed', format(_("The DHCP server could not be set up again for the computers you allow: {why}. Turn sharing on again."),
                    { why: e instanceof Error ? e.message : String(e) }));
                console.warn(error.message);
                this.stop().then(() => this.callbacks.onFailure?.(error)).catch(() => this.callbacks.onFailure?.(error));
            });
        }
    }

    /**
     * The DHCP server again, answering the computers allowed now (its configuration lists them; dnsmasq reads
     * a list that shrank only when it starts). The file servers go on; a computer's request in the few
     * milliseconds between is asked again by it.
     */
    private async applyAccess(): Promise<void> {
        while (this.switching)
            await sleep(50);
        const allowed = allowedMacs(this.computers);
        if (this.stopped || JSON.stringify(allowed) === JSON.stringify(this.spec.inputs.allowed ?? null))
            return;
        this.switching = true;
        try {
            const next = accessPlan(this.spec, allowed);
            const dhcp = next.daemons.find(d => d.name === 'dhcp');
            if (dhcp === undefined)
                throw new Error('the plan has no DHCP server');
            for (const d of this.daemons.filter(x => x.name === 'dhcp' && x.running)) {
                this.retired.add(d);
                await d.stop();
            }
            if (this.stopped)
                return;
            this.spec_ = next;
            await this.startDaemon(dhcp);
            this.answering = allowed;
            if (!this.stopped)
                writeStatus(this.env.runtimeDir, this.status());
            console.info(allowed === null ? 'any computer may start from the share' : `only allowed computers may start from the share (${allowed.length})`);
        } finally {
            this.switching = false;
        }
    }

    /**
     * Opens `ports` on `iface` (whose network is `network`) in this computer's firewall, through the tools that
     * own its rules: firewalld (D-Bus, run time only) and ufw (its commands) when they are in force, and a rule at
     * the top of every other input chain of nftables. Each rule a journal entry, made before it exists.
     */
    private openFirewall(iface: string, network: string, ports: Ports): void {
        if (!this.env.openFirewall || ports.udp.length + ports.tcp.length === 0)
            return;
        const owners = this.firewallOwners ??= { firewalld: firewalldRunning(), ufw: ufwActive() };
        const comment = `share-this-cd ${ownPid()}`;
        const progress = (tool: string): void => this.callbacks.onProgress?.(format(_("Letting the share through the firewall ({tool}) on {iface}…"), { tool, iface }));
        try {
            if (owners.firewalld) {
                progress('firewalld');
                const zone = zoneOf(iface);
                for (const rule of richRules(network, ports)) {
                    if (!hasRichRule(zone, rule))
                        this.journal.make({ kind: 'firewalld', zone, rule }, () => addRichRule(zone, rule));
                }
            }
            if (owners.ufw) {
                progress('ufw');
                const added = ufwAdded();
                for (const words of ufwRules(iface, ports)) {
                    if (!added.has(ruleKey(words)))
                        this.journal.make({ kind: 'ufw', rule: words }, () => ufwAllow(words, comment));
                }
            }
            // firewalld's own tables, and iptables' filter table where ufw writes, are theirs.
            const others = currentInputChains().filter(c => !(owners.firewalld && c.table === 'firewalld') && !(owners.ufw && c.family === 'ip' && c.table === 'filter'));
            for (const chain of others) {
                progress(`nftables ${chain.family} ${chain.table} ${chain.chain}`);
                this.journal.make({ kind: 'firewall', ...chain, comment }, () => openChain(chain, iface, ports, comment));
            }
        } catch (e) {
            throw new ShareError('DaemonFailed', format(_("The firewall could not be opened for the share: {why}."), { why: e instanceof Error ? e.message : String(e) }));
        }
    }

    private notice(text: string): void {
        console.warn(text);
        this.notices.push(text);
        this.notices.splice(0, Math.max(0, this.notices.length - MAX_NOTICES));
        if (!this.stopped)
            writeStatus(this.env.runtimeDir, this.status());
        this.callbacks.onNotice?.(text);
    }

    /** Answers to the rival watch's probes: a DHCP server next to our full DHCP, another network-boot server. */
    private onRivals(answers: DhcpAnswer[]): void {
        if (this.stopped || this.spec_ === null)
            return;
        const report = assessRivals(this.spec.mode, this.spec.server.address, answers, this.knownPxe);
        for (const server of report.newPxeServers) {
            this.knownPxe.add(server);
            this.notice(otherPxeNotice(server));
        }
        if (report.goProxy !== null && !this.switching) {
            this.switching = true;
            const servers = report.goProxy;
            this.goProxy(servers).catch(e => {
                // No DHCP server of ours runs now: nothing rogue is left, but computers cannot start from us.
                const error = new ShareError('DaemonFailed', format(_("Another DHCP server ({servers}) appeared, and sharing could not go on next to it: {why}. Turn sharing on again."),
                    { servers: servers.join(', '), why: e instanceof Error ? e.message : String(e) }));
                console.warn(error.message);
                this.stop().then(() => this.callbacks.onFailure?.(error)).catch(() => this.callbacks.onFailure?.(error));
            }).finally(() => {
                this.switching = false;
            });
        }
    }

    /**
     * Full DHCP → proxy-DHCP, while the files are being served: our DHCP server stops first (no more addresses
     * from us), the tree gets what proxy-DHCP clients need (UEFI: a GRUB that knows our address), and the DHCP
     * server starts again in proxy mode. The file servers go on (their jail cannot start programs anyway).
     */
    private async goProxy(servers: string[]): Promise<void> {
        const current = this.spec;
        const next = proxyPlan(current);
        const dhcp = next.daemons.find(d => d.name === 'dhcp');
        if (dhcp === undefined)
            throw new Error('the plan has no DHCP server');
        console.warn(`another DHCP server answers (${servers.join(', ')}): going from full DHCP to proxy-DHCP`);
        // The DHCP server restarts in proxy mode; what only full DHCP runs (radvd: not a word about routers on a
        // LAN with a router of its own) stops.
        const gone = new Set([...current.daemons.map(d => d.name)].filter(n => !next.daemons.some(d => d.name === n)));
        for (const d of this.daemons.filter(x => (x.name === 'dhcp' || gone.has(x.name)) && x.running)) {
            this.retired.add(d);
            await d.stop();
        }
        if (this.stopped)
            return;
        updateTree(next, changedItems(current.tree, next.tree));
        this.spec_ = next;
        await this.startDaemon(dhcp);
        if (this.rivals !== null)
            this.rivals.period = PROXY_PERIOD_MS;
        for (const text of wentProxyNotices(servers, current.addressAssigned ? current.server.address : null))
            this.notice(text);
        for (const w of next.warnings.filter(x => !current.warnings.includes(x)))
            this.notice(w);
    }

    /**
     * A daemon process, recorded in the journal the moment it exists (its PID is known only now) with what tells
     * it from a later process. `program` is what it runs once a wrapper (unshare, nsenter) has executed it: the
     * name the process will have.
     */
    private spawn(options: DaemonOptions, program: string): Daemon {
        const daemon = new Daemon(options);
        this.daemons.push(daemon);
        const id = processIdentity(daemon.pid) ?? { comm: '', startTime: -1 }; // (already gone: nothing to undo)
        const comm = id.startTime < 0 ? '' : GLib.path_get_basename(program).slice(0, 15);
        this.journal.record({ kind: 'daemon', name: options.name, pid: daemon.pid, comm, startTime: id.startTime });
        return daemon;
    }

    /** The anchor of the file servers' mount namespace (services/jail.ts), started before the first of them. */
    private async jailAnchor(): Promise<number> {
        if (this.anchor === null) {
            const argv = anchorArgv();
            const anchor = this.spawn({ name: 'jail', argv, onExit: status => console.warn(`the anchor of the jail exited with status ${status}`) }, SLEEP);
            this.anchor = anchor;
            const deadline = GLib.get_monotonic_time() + 5e6;
            while (!anchorReady(anchor.pid)) {
                if (!anchor.running || GLib.get_monotonic_time() > deadline)
                    throw new ShareError('DaemonFailed', format(_("The file servers could not be shut in with the shared files only: {why}."), { why: anchor.lastLines(3).join(' ') || 'unshare failed' }));
                await sleep(5);
            }
        }
        return this.anchor.pid;
    }

    private anchor: Daemon | null = null;

    /** Once every daemon is ready: the file servers' namespace pivots into their jail. */
    private confineFileServers(spec: ShareSpec): void {
        const jail = spec.daemons.find(d => d.jail !== null)?.jail ?? null;
        if (jail === null || this.anchor === null)
            return;
        try {
            confine(this.anchor.pid, jail);
        } catch (e) {
            console.warn(`jail: ${(e as Error).message}`);
            throw new ShareError('DaemonFailed', format(_("The file servers could not be shut in with the shared files only: {why}."), { why: (e as Error).message }));
        }
    }

    private async startDaemon(spec: DaemonSpec): Promise<void> {
        for (const c of spec.configs)
            writeAtomic(c.path, c.text);
        const argv = spec.jail === null ? spec.argv : inJailArgv(await this.jailAnchor(), spec.argv);
        const daemon: Daemon = this.spawn({
            name: spec.name, argv,
            onLine: line => this.watch?.line(spec, line),
            onExit: (status, lines) => this.onDaemonExit(spec, daemon, status, lines),
        }, spec.argv[0]);
        try {
            await daemon.ready({
                line: spec.readyLine !== null ? new RegExp(spec.readyLine) : undefined,
                check: spec.readyTcp.length > 0 ? async () => (await Promise.all(spec.readyTcp.map(t => tcpConnects(t.address, t.port, 200)))).every(x => x) : undefined,
                timeoutMs: spec.readyTimeoutMs,
            });
        } catch (e) {
            const output = daemon.lastLines(20).join('\n');
            if (spec.optional === true) {
                console.warn(`${spec.name} did not start, sharing goes on without it: ${(e as Error).message}; ${daemon.lastLines(3).join(' | ')}`);
                this.retired.add(daemon);
                await daemon.stop();
                return;
            }
            const why = spec.explain(output) ?? explainPortConflict(output, spec) ?? (e as Error).message;
            throw new ShareError('DaemonFailed', format(_("{name} could not start: {why}."), { name: spec.name, why }));
        }
    }

    /** status.json, rewritten at most 4 times a second however fast clients come (a flood of DISCOVERs). */
    private readonly statusWriter = new Coalescer(PUBLISH_INTERVAL_MS, () => {
        if (!this.stopped)
            writeStatus(this.env.runtimeDir, this.status());
    });

    private publish(changes: TrackerChange[], count: number): void {
        if (this.stopped)
            return;
        this.statusWriter.request();
        for (const c of changes)
            this.callbacks.onClient?.({ ...c, client: this.decorate(c.client) }, count);
    }

    private onDaemonExit(spec: DaemonSpec, daemon: Daemon, status: number, lines: string[]): void {
        if (this.stopped || !this.serving || this.retired.has(daemon))
            return;
        if (spec.optional === true) {
            console.warn(`${spec.name} exited with status ${status}, sharing goes on without it: ${lines.slice(-3).join(' | ') || '-'}`);
            return;
        }
        // The sentence is for people; the daemon's last words go to the log.
        console.warn(`${spec.name} exited with status ${status}; its last output: ${lines.slice(-5).join(' | ') || '-'}`);
        const error = new ShareError('DaemonFailed', format(_("{server} stopped unexpectedly, so sharing was stopped: other computers cannot start from this one now. Turn sharing on again."), { server: spec.role }));
        this.stop().then(() => this.callbacks.onFailure?.(error)).catch(() => this.callbacks.onFailure?.(error));
    }

    /** The computers seen, with their names, whether they are allowed, and their cards' makers. */
    clients(): Client[] {
        return (this.watch?.clients() ?? []).map(c => this.decorate(c));
    }

    private decorate(c: Client): Client {
        return { ...c, ...accessOf(this.computers, c.mac), vendor: this.vendors.vendorOf(c.mac) };
    }

    status(): StatusJson {
        const spec = this.spec;
        return {
            state: this.stopped ? 'stopped' : 'sharing', pid: ownPid(), interface: spec.interfaceName,
            address: spec.server.address, mode: spec.mode, medium: spec.medium.shown, label: spec.medium.label,
            entries: spec.medium.entries, defaultEntry: spec.medium.defaultEntry,
            http: spec.http?.port ?? null, clientCount: this.watch?.activeCount ?? 0, clients: this.clients(), notices: [...this.notices],
            access: this.computers.access, answering: this.answering,
        };
    }

    /** Stops everything; idempotent. */
    async stop(): Promise<void> {
        if (this.stopped)
            return;
        await this.teardown();
    }

    /** Daemons first (gracefully, newest first), then the journal's replay and the runtime directory. */
    private async teardown(): Promise<void> {
        this.stopped = true;
        this.statusWriter.cancel();
        this.unfollowSettings?.();
        this.unfollowSettings = null;
        this.rivals?.stop();
        this.watch?.stop();
        for (const d of [...this.daemons].reverse())
            await d.stop();
        try {
            await this.journal.replay();
            this.journal.remove();
            sweepRuntime(this.env.runtimeDir);
        } finally {
            releaseRuntime(this.env.runtimeDir, this.lock);
        }
    }
}

function explainPortConflict(output: string, spec: DaemonSpec): string | null {
    if (/address already in use|Cannot bind|bind\(\) .*failed|Address in use/i.test(output)) {
        const port = spec.ports.find(p => p.port !== 111)?.port ?? spec.ports[0]?.port;
        return format(_("port {port} is already used by another program on this computer; stop it and try again"), { port: port ?? '?' });
    }
    return null;
}

function asShareError(e: unknown): ShareError {
    if (isShareError(e))
        return e;
    return new ShareError('DaemonFailed', format(_("Sharing could not start: {error}"), { error: e instanceof Error ? e.message : String(e) }));
}
