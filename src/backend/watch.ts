// Watching the clients of a running share (effects around the pure tracker in clients.ts): daemons' log lines
// (dnsmasq's DHCP, proxy-DHCP and TFTP), the HTTP server's access log (read as it grows, woken by the kernel's
// inotify through a GFileMonitor, never re-read), and the NFS connections and the neighbour table: every
// `pollMs` (at least a second) while a computer boots or runs from us or was seen in the last RECENT_S seconds,
// every IDLE_POLL_MS otherwise.
// While nothing happens, the process sleeps but for that one slow timer.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { type Client, ClientTracker, DnsmasqLogReader, MAX_CLIENTS, type TrackerChange, type TrackerEvent, fileClassifier } from './clients.ts';
import { neighbours } from './network/host.ts';
import type { ShareSpec } from './plan.ts';
import { platform } from './platforms.ts';
import { parseHttpAccess } from './services/http.ts';
import { NFS_PORT, hasEstablished, parseNfsBytes } from './services/nfs.ts';
import { type DaemonSpec, run } from './services/supervisor.ts';
import { readTextFile } from '../shared/fsutil.ts';
import { after } from '../shared/timers.ts';

/** How often NFS connections are looked at while no computer is known to boot or run from us (ms). */
export const IDLE_POLL_MS = 15000;
/** The HTTP access log is emptied once it is read and this long (bytes). */
export const ACCESS_LOG_LIMIT = 1024 * 1024;
/** A computer seen this recently may mount the medium any moment: keep looking at NFS at the fast pace. */
export const RECENT_S = 300;

/** Readers of daemons' output lines, by the format their spec names. */
type LineReader = (line: string) => TrackerEvent | null;

export class ClientWatch {
    private readonly tracker: ClientTracker;
    private readonly readers: Record<NonNullable<DaemonSpec['clientLog']>, LineReader>;
    private pollTimer: (() => void) | null = null;
    private monitor: Gio.FileMonitor | null = null;
    /** Read with a GLib channel, line by line (gjs 1.74 leaks the GBytes of Gio's reads: services/supervisor.ts). */
    private accessLog: GLib.IOChannel | null = null;
    private partial = '';
    private published = -1;
    private stopped = false;

    constructor(private readonly spec: ShareSpec, goneAfter: number, private readonly pollMs: number,
        private readonly onChange: (changes: TrackerChange[], count: number) => void) {
        this.tracker = new ClientTracker(fileClassifier(spec.kernels, spec.initrds), goneAfter);
        const dnsmasq = new DnsmasqLogReader(spec.tftpRoot, spec.platforms.flatMap(p => platform(p.id).archCodes));
        this.readers = { dnsmasq: line => dnsmasq.read(line) };
    }

    /** An output line of a daemon. */
    line(daemon: DaemonSpec, line: string): void {
        const event = daemon.clientLog === null ? null : this.readers[daemon.clientLog](line);
        // Our own probes for other DHCP servers (network/rivals.ts) are answered by our own server too: not a client.
        if (event && !(event.type === 'dhcp' && event.mac === this.spec.inputs.serverMac))
            this.apply([event]);
    }

    start(): void {
        this.schedulePoll();
        const path = this.spec.httpAccessLog;
        if (path !== null) {
            const file = Gio.File.new_for_path(path);
            this.accessLog = GLib.IOChannel.new_file(path, 'r');
            this.accessLog.set_encoding(null);
            this.monitor = file.monitor_file(Gio.FileMonitorFlags.NONE, null);
            this.monitor.set_rate_limit(200);
            this.monitor.connect('changed', () => this.readAccessLog());
        }
    }

    stop(): void {
        if (!this.stopped && this.tracker.evicted > 0)
            console.info(`${this.tracker.evicted} computers were forgotten to keep the list of computers at ${MAX_CLIENTS}`);
        this.stopped = true;
        this.pollTimer?.();
        this.pollTimer = null;
        this.monitor?.cancel();
        this.monitor = null;
        this.accessLog?.shutdown(false);
        this.accessLog = null;
    }

    clients(): Client[] {
        return this.tracker.list();
    }

    get activeCount(): number {
        return this.tracker.activeCount();
    }

    /** New complete lines of the access log → file events. */
    private readAccessLog(): void {
        const log = this.accessLog;
        if (log === null)
            return;
        const events: TrackerEvent[] = [];
        for (;;) {
            let status: GLib.IOStatus;
            let text: string | null;
            let length: number;
            try {
                [status, text, length] = log.read_line();
            } catch (e) {
                if (e instanceof GLib.Error)
                    break;
                continue; // a line that is not UTF-8 (consumed): not ours to read
            }
            if (status !== GLib.IOStatus.NORMAL || text === null)
                break;
            this.readBytes += length;
            this.partial += text;
            // nginx may be halfway through a line: the rest comes with the next read.
            if (!this.partial.endsWith('\n'))
                continue;
            const access = parseHttpAccess(this.partial);
            this.partial = '';
            if (access && access.status < 400)
                events.push({ type: 'file', ip: access.client, path: access.path.replace(/^\/+/, ''), via: 'http', ok: true });
        }
        this.rotateAccessLog();
        this.apply(events);
    }

    /** Bytes of the access log read since it was last emptied. */
    private readBytes = 0;

    /**
     * Keeps the access log (in /run: memory) small: once all of it is read and it is past ACCESS_LOG_LIMIT, it is
     * emptied in place (nginx writes at its end, O_APPEND, so its next line lands at the start) and read from the
     * start again. A line nginx writes between the last read and the truncation is lost to the tracker: one
     * request of one computer, at most once per ACCESS_LOG_LIMIT bytes.
     */
    private rotateAccessLog(): void {
        const log = this.accessLog;
        const path = this.spec.httpAccessLog;
        if (log === null || path === null || this.partial !== '' || this.readBytes < ACCESS_LOG_LIMIT)
            return;
        try {
            const io = Gio.File.new_for_path(path).open_readwrite(null);
            io.truncate(0, null);
            io.close(null);
            log.seek_position(0, GLib.SeekType.SET);
            this.readBytes = 0;
        } catch (e) {
            console.warn(`share-this-cd: the HTTP access log could not be emptied: ${e}`);
        }
    }

    /** The next look at NFS connections and neighbours: soon while computers boot or run, else rarely. */
    private schedulePoll(): void {
        if (this.stopped)
            return;
        const now = Date.now() / 1000;
        const busy = this.tracker.some(c => c.stage !== 'gone' || now - c.lastSeen < RECENT_S);
        const ms = busy ? Math.max(1000, this.pollMs) : IDLE_POLL_MS;
        if (this.pollTimer !== null && this.pollBusy === busy)
            return;
        this.pollTimer?.();
        this.pollBusy = busy;
        this.pollTimer = after(ms, () => {
            this.pollTimer = null;
            this.poll();
            this.schedulePoll();
        });
    }

    private pollBusy = false;

    /** NFS connections, the neighbour table, silence. */
    poll(): void {
        const events: TrackerEvent[] = [{ type: 'neighbours', pairs: neighbours(this.spec.interfaceName) }];
        // With each connection's TCP counters (-i), one line a socket (-O): what the medium's reads came to. `ss`
        // only when the kernel's socket table has an NFS connection (most of a boot is DHCP, TFTP and HTTP).
        const connected = ['/proc/net/tcp', '/proc/net/tcp6'].some(f => hasEstablished(readTextFile(f) ?? '', NFS_PORT));
        const ss = connected ? run(['ss', '-HtinO', 'state', 'established', `( sport = :${NFS_PORT} )`]) : { status: 0, stdout: '', stderr: '' };
        if (ss.status === 0) {
            const bytes = parseNfsBytes(ss.stdout);
            events.push({ type: 'nfs', peers: Object.keys(bytes).sort(), bytes });
        }
        this.apply(events, true);
    }

    private apply(events: TrackerEvent[], tick = false): void {
        if (this.stopped)
            return;
        const now = Date.now() / 1000;
        const changes: TrackerChange[] = [];
        for (const event of events)
            changes.push(...this.tracker.apply(event, now));
        if (tick)
            changes.push(...this.tracker.tick(now));
        if (this.tracker.version === this.published)
            return;
        this.published = this.tracker.version;
        this.onChange(changes, this.activeCount);
        // A computer appeared (or all went): look at NFS and neighbours at the matching pace.
        this.schedulePoll();
    }
}
