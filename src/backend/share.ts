// The sharing engine: one share, owned by this process for its whole life (it holds the runtime directory's
// lock). start = validate → lock → undo a dead owner's leftovers → medium → network → plan → files → export →
// daemons (each waited for) → sharing; every effect is a journal entry written before it is made, so a failed
// start rolls back, a stop undoes, and the next owner cleans up after a crash, all by replaying the journal.
import GLib from 'gi://GLib';

import { ShareError, isShareError } from '../shared/errors.ts';
import { _, format } from '../shared/i18n.ts';
import { type ShareOptions, validateOptions } from '../shared/options.ts';
import type { Client, TrackerChange } from './clients.ts';
import { mkdirs, writeAtomic } from '../shared/fsutil.ts';
import type { ShareSpec } from './plan.ts';
import { chooseNetwork, makeSpec, openShareMedium } from './prepare.ts';
import { DEFAULT_ENV, type EngineEnv } from './runtime/env.ts';
import { Journal } from './runtime/journal.ts';
import { OwnerLock } from './runtime/lock.ts';
import { type StatusJson, lockOwner, releaseRuntime, sweepRuntime, undoLeftovers, writeStatus } from './runtime/owner.ts';
import { checkPortsFree, exportNfs, writeFiles } from './apply.ts';
import { Daemon, type DaemonOptions, type DaemonSpec, processIdentity, tcpConnects } from './services/supervisor.ts';
import { SLEEP, anchorArgv, anchorReady, confine, inJailArgv } from './services/jail.ts';
import { Coalescer, PUBLISH_INTERVAL_MS, sleep } from '../shared/timers.ts';
import { ClientWatch } from './watch.ts';

export interface ShareCallbacks {
    /** Progress sentences during start. */
    onProgress?: (text: string) => void;
    onClient?: (change: TrackerChange, count: number) => void;
    /** A daemon died while sharing: the share stopped itself. */
    onFailure?: (error: ShareError) => void;
}

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
    static async start(options: ShareOptions, env: EngineEnv = DEFAULT_ENV, callbacks: ShareCallbacks = {}): Promise<Share> {
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
            await share.bringUp(options);
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

    private async bringUp(options: ShareOptions): Promise<void> {
        const dir = this.env.runtimeDir;
        const progress = (t: string): void => this.callbacks.onProgress?.(t);
        const { medium, reader } = openShareMedium(options, dir, this.journal, progress);
        const net = await chooseNetwork(options, this.env.probeWindowMs, this.journal, progress);
        this.notes.push(...net.notes);
        this.probeMs = net.probeMs;
        const spec = await makeSpec(options, medium, reader, net, dir, progress);
        this.spec_ = spec;
        this.watch = new ClientWatch(spec, this.env.goneAfter, this.env.pollMs, (changes, count) => this.publish(changes, count));
        writeFiles(spec, this.journal);
        exportNfs(spec, this.journal);
        await checkPortsFree(spec);
        for (const d of spec.daemons) {
            progress(format(_("Starting {name}…"), { name: d.name }));
            await this.startDaemon(d);
        }
        this.confineFileServers(spec);
        this.serving = true;
        this.watch.start();
        writeStatus(dir, this.status());
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
        const daemon = this.spawn({
            name: spec.name, argv,
            onLine: line => this.watch?.line(spec, line),
            onExit: (status, lines) => this.onDaemonExit(spec, status, lines),
        }, spec.argv[0]);
        try {
            await daemon.ready({
                line: spec.readyLine !== null ? new RegExp(spec.readyLine) : undefined,
                check: spec.readyTcp.length > 0 ? async () => (await Promise.all(spec.readyTcp.map(t => tcpConnects(t.address, t.port, 200)))).every(x => x) : undefined,
                timeoutMs: spec.readyTimeoutMs,
            });
        } catch (e) {
            const output = daemon.lastLines(20).join('\n');
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
            this.callbacks.onClient?.(c, count);
    }

    private onDaemonExit(spec: DaemonSpec, status: number, lines: string[]): void {
        if (this.stopped || !this.serving)
            return;
        // The sentence is for people; the daemon's last words go to the log.
        console.warn(`${spec.name} exited with status ${status}; its last output: ${lines.slice(-5).join(' | ') || '-'}`);
        const error = new ShareError('DaemonFailed', format(_("{server} stopped unexpectedly, so sharing was stopped: other computers cannot start from this one now. Turn sharing on again."), { server: spec.role }));
        this.stop().then(() => this.callbacks.onFailure?.(error)).catch(() => this.callbacks.onFailure?.(error));
    }

    clients(): Client[] {
        return this.watch?.clients() ?? [];
    }

    status(): StatusJson {
        const spec = this.spec;
        return {
            state: this.stopped ? 'stopped' : 'sharing', pid: ownPid(), interface: spec.interfaceName,
            address: spec.server.address, mode: spec.mode, medium: spec.medium.root, label: spec.medium.label,
            http: spec.http?.port ?? null, clientCount: this.watch?.activeCount ?? 0, clients: this.clients(),
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
