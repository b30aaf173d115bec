// Running daemons as watched child processes (effects): foreground mode, output read line by line on a pipe,
// readiness checks, and a stop that escalates from SIGTERM to SIGKILL. Also the small process utilities the
// engine needs (run a command and wait, is a recorded process still that process, stop it).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import type { Jail } from './jail.ts';
import { after, DROPS_CALLBACKS, keepCollecting, sleep } from '../../shared/timers.ts';

const LOG_DOMAIN = 'share-this-cd';

export interface RunResult {
    status: number;
    stdout: string;
    stderr: string;
}

/**
 * The environment of every program the engine starts: the C locale, whatever the user's or the system's
 * language. Their output is read by the engine (dnsmasq's "TFTP root is …" and its DHCP lines, `ip`, `ss`,
 * `rpcinfo`…): a French dnsmasq says "TFTP root est …" and would never be seen ready.
 */
export function engineLauncher(flags: Gio.SubprocessFlags): Gio.SubprocessLauncher {
    const launcher = new Gio.SubprocessLauncher({ flags });
    launcher.setenv('LC_ALL', 'C.UTF-8', true);
    launcher.unsetenv('LANGUAGE');
    launcher.unsetenv('LC_MESSAGES');
    return launcher;
}

/** Runs a command to completion (blocking; for short commands such as `ip` and `mount`). */
export function run(argv: string[], input: string | null = null): RunResult {
    const flags = Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE | (input !== null ? Gio.SubprocessFlags.STDIN_PIPE : 0);
    let proc: Gio.Subprocess;
    try {
        proc = engineLauncher(flags).spawnv(argv);
    } catch (e) {
        return { status: 127, stdout: '', stderr: (e as GLib.Error).message ?? String(e) };
    }
    const [, stdout, stderr] = proc.communicate_utf8(input, null);
    return { status: proc.get_if_exited() ? proc.get_exit_status() : 128 + proc.get_term_sig(), stdout: stdout ?? '', stderr: stderr ?? '' };
}

/** Runs a command to completion without holding up the main loop (long ones: packing a medium). */
export function runAsync(argv: string[]): Promise<RunResult> {
    return new Promise(resolve => {
        let proc: Gio.Subprocess;
        try {
            proc = engineLauncher(Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE).spawnv(argv);
        } catch (e) {
            resolve({ status: 127, stdout: '', stderr: (e as GLib.Error).message ?? String(e) });
            return;
        }
        proc.communicate_utf8_async(null, null, (_p, result) => {
            let stdout = '';
            let stderr = '';
            try {
                const [, out, err] = proc.communicate_utf8_finish(result);
                stdout = out ?? '';
                stderr = err ?? '';
            } catch (e) {
                stderr = (e as GLib.Error).message ?? String(e);
            }
            resolve({ status: exitStatusOf(proc), stdout, stderr });
        });
    });
}

/**
 * What tells a process from a later one that got its PID: its program name and its start time (clock ticks
 * after boot, field 22 of /proc/PID/stat). Null when no such process runs (or it is a zombie).
 */
export function processIdentity(pid: number): { comm: string; startTime: number } | null {
    if (!Number.isInteger(pid) || pid <= 1)
        return null;
    const stat = readStat(pid);
    if (stat === null)
        return null;
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X')
        return null;
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), startTime: Number(rest[19]) };
}

function readStat(pid: number): string | null {
    try {
        const [ok, bytes] = GLib.file_get_contents(`/proc/${pid}/stat`);
        return ok ? new TextDecoder().decode(bytes) : null;
    } catch {
        return null;
    }
}

/** True when `pid` is still the very process that was recorded (same program, same start time). */
export function isSameProcess(pid: number, comm: string, startTime: number): boolean {
    const id = processIdentity(pid);
    return id !== null && id.comm === comm.slice(0, 15) && id.startTime === startTime;
}

/** SIGTERM to the recorded process, SIGKILL after `graceMs`; never signals a process that is not that one. */
export async function killProcess(pid: number, comm: string, startTime: number, graceMs = 2000): Promise<void> {
    const same = (): boolean => isSameProcess(pid, comm, startTime);
    if (!same())
        return;
    run(['kill', '-TERM', String(pid)]);
    const deadline = GLib.get_monotonic_time() + graceMs * 1000;
    while (same() && GLib.get_monotonic_time() < deadline)
        await sleep(20);
    if (same()) {
        run(['kill', '-KILL', String(pid)]);
        for (let i = 0; i < 100 && same(); i++)
            await sleep(10);
    }
}

/** Has this child process ended? Asked of GLib, which reaps it on its worker thread: no callback can be lost. */
export function hasExited(proc: Gio.Subprocess): boolean {
    return proc.get_identifier() === null;
}

/** The most lines a reader takes per wake-up before it lets the main loop run other work. */
const LINES_PER_WAKE = 2000;

/** The exit status of an ended child process, or 128 + the signal that ended it. */
export function exitStatusOf(proc: Gio.Subprocess): number {
    return proc.get_if_exited() ? proc.get_exit_status() : 128 + proc.get_term_sig();
}

/**
 * Reads a child's pipe line by line as lines come, calling `onLine` for each and `onEnd` once at the end (end
 * of file or an error). A GLib I/O watch on the pipe wakes it; it then reads every complete line there is
 * (GLib.IOChannel, non-blocking, at most LINES_PER_WAKE at a time): one wake-up per burst of output, not one
 * asynchronous read per line, so a daemon under a flood of requests (thousands of lines a second) is never
 * left blocked on a full pipe. Gio's read_bytes would be simpler but gjs 1.74 leaks every GBytes it returns
 * (measured: the whole of what was read, kept after a full collection); read_line_async is one callback per
 * line. Lines that are not UTF-8 are skipped. On a gjs that refuses callbacks during garbage collection
 * (shared/timers.ts) a refused wake-up removes the watch: a check every 5 s adds it again (nothing is lost, the
 * lines wait in the pipe).
 */
export class LineReader {
    private readonly channel: GLib.IOChannel;
    private watch = 0;
    private cancelCheck: (() => void) | null = null;
    ended = false;

    constructor(private readonly stream: Gio.InputStream, private readonly onLine: (line: string) => void, private readonly onEnd: () => void = () => {},
        private readonly guard = DROPS_CALLBACKS) {
        // A child's pipe is a GUnixInputStream (the @girs types put it in GioUnix); it keeps the descriptor open.
        this.channel = GLib.IOChannel.unix_new((stream as unknown as { get_fd(): number }).get_fd());
        this.channel.set_encoding(null);
        this.channel.set_flags(GLib.IOFlags.NONBLOCK);
        this.addWatch();
        this.scheduleCheck();
    }

    private addWatch(): void {
        this.watch = GLib.io_add_watch(this.channel, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR, () => {
            if (this.guard)
                keepCollecting();
            const more = this.drain();
            if (!more)
                this.watch = 0;
            return more;
        });
    }

    /** Reads the complete lines there are; false at the end of the stream (the watch ends with it). */
    private drain(): boolean {
        for (let n = 0; n < LINES_PER_WAKE && !this.ended; n++) {
            let status: GLib.IOStatus;
            let line: string | null;
            try {
                [status, line] = this.channel.read_line();
            } catch (e) {
                // Not UTF-8 (gjs's conversion of the line fails; the line is consumed): the next ones are read.
                // A GLib error (of the channel) ends the stream.
                if (!(e instanceof GLib.Error))
                    continue;
                this.finish();
                return false;
            }
            if (status === GLib.IOStatus.AGAIN)
                return true;
            if (status !== GLib.IOStatus.NORMAL || line === null) {
                this.finish();
                return false;
            }
            this.deliver(line.endsWith('\n') ? line.slice(0, -1) : line);
        }
        return !this.ended;
    }

    private deliver(line: string): void {
        try {
            this.onLine(line);
        } catch (e) {
            console.error(`${LOG_DOMAIN}: line handler: ${e}`);
        }
    }

    private finish(): void {
        if (this.ended)
            return;
        this.ended = true;
        this.cancelCheck?.();
        try {
            this.stream.close(null);
        } catch { /* closed already */ }
        this.onEnd();
    }

    private scheduleCheck(): void {
        if (!this.guard || this.ended)
            return;
        this.cancelCheck = after(5000, () => {
            this.check();
            this.scheduleCheck();
        });
    }

    /** Watches again when the watch went without our reader having ended (its wake-up was refused). */
    check(): void {
        if (this.ended)
            return;
        const source = this.watch === 0 ? null : GLib.MainContext.default().find_source_by_id(this.watch);
        if (source !== null && !source.is_destroyed())
            return;
        console.warn(`${LOG_DOMAIN}: the watch on a pipe went without its callback (gjs refused it during garbage collection); watching again`);
        this.addWatch();
    }

    /** Stops reading. */
    stop(): void {
        if (this.watch !== 0)
            GLib.Source.remove(this.watch);
        this.watch = 0;
        this.finish();
    }
}

/** Can a TCP connection to address:port be made (right now, within `timeoutMs`)? */
export function tcpConnects(address: string, port: number, timeoutMs = 300): Promise<boolean> {
    return new Promise(resolve => {
        const client = new Gio.SocketClient({ timeout: Math.max(1, Math.ceil(timeoutMs / 1000)) });
        const cancel = new Gio.Cancellable();
        // The timer answers too: the connection's own callback may be refused (shared/timers.ts).
        const stopTimer = after(timeoutMs, () => {
            cancel.cancel();
            resolve(false);
        });
        client.connect_to_host_async(`${address}:${port}`, port, cancel, (_c, res) => {
            stopTimer();
            try {
                const conn = client.connect_to_host_finish(res);
                conn.close(null);
                resolve(true);
            } catch {
                resolve(false);
            }
        });
    });
}

/**
 * What the engine needs to run one daemon, built by the daemon's own module (services/*.ts) and carried out
 * by the generic runner: no daemon is special-cased by name outside its module.
 */
export interface DaemonSpec {
    /** Short name, for logs and the journal ("dhcp"). */
    name: string;
    /** The daemon as people know it, for sentences: "The DHCP server (dnsmasq)". */
    role: string;
    argv: string[];
    /** Its configuration files (absolute paths), written before it starts. */
    configs: { path: string; text: string }[];
    /** Ready when a TCP connection to each of these works… */
    readyTcp: { address: string; port: number }[];
    /** …and a line matches (regular expression source), when set. */
    readyLine: string | null;
    readyTimeoutMs: number;
    /** Ports it binds, checked free before it starts; `what` names the service for the sentence. */
    ports: { protocol: 'tcp' | 'udp'; address: string; port: number; what: string }[];
    /** Its output lines report clients in this format (read by the client watch), or null. */
    clientLog: 'dnsmasq' | null;
    /** A sentence for a start-up failure, from its last output lines (null: the generic one). */
    explain: (output: string) => string | null;
    /** Started in the file servers' mount namespace and confined to this jail once they are ready, or null. */
    jail: Jail | null;
    /** A nicety the share goes on without: its failure to start, or its exit, is logged and nothing more. */
    optional?: boolean;
}

export interface DaemonOptions {
    name: string;
    argv: string[];
    /** Called with each output line (stdout and stderr merged). */
    onLine?: (line: string) => void;
    /** Called once if the process exits on its own (not through stop()). */
    onExit?: (status: number, lastLines: string[]) => void;
}

/** A running daemon. */
export class Daemon {
    readonly name: string;
    readonly argv: string[];
    readonly pid: number;
    private readonly proc: Gio.Subprocess;
    private readonly lines: string[] = [];
    private stopping = false;
    private exited = false;
    private exitStatus = 0;
    private readonly waiters: ((line: string) => void)[] = [];

    constructor(private readonly options: DaemonOptions) {
        this.name = options.name;
        this.argv = options.argv;
        this.proc = engineLauncher(Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE).spawnv(options.argv);
        this.pid = Number(this.proc.get_identifier());
        new LineReader(this.proc.get_stdout_pipe() as Gio.InputStream, line => {
            this.lines.push(line);
            if (this.lines.length > 200)
                this.lines.shift();
            try {
                this.options.onLine?.(line);
            } catch (e) {
                console.error(`${LOG_DOMAIN}: ${this.name} line handler: ${e}`);
            }
            this.waiters.forEach(w => w(line));
        });
        this.proc.wait_async(null, () => this.noticeExit());
    }

    /** Once, when the process has ended (from its wait callback, or from the first look that finds it gone). */
    private noticeExit(): void {
        if (this.exited)
            return;
        this.exited = true;
        this.exitStatus = exitStatusOf(this.proc);
        if (!this.stopping)
            this.options.onExit?.(this.exitStatus, [...this.lines]);
    }

    get running(): boolean {
        if (!this.exited && hasExited(this.proc))
            this.noticeExit();
        return !this.exited;
    }

    get status(): number {
        return this.exitStatus;
    }

    lastLines(n = 20): string[] {
        return this.lines.slice(-n);
    }

    /**
     * Waits until `check` succeeds (polled) or a line matches `line`; rejects when the process exits first or
     * `timeoutMs` passes. The rejection carries the daemon's last output lines.
     */
    async ready(opts: { check?: () => Promise<boolean>; line?: RegExp; timeoutMs?: number }): Promise<void> {
        const deadline = GLib.get_monotonic_time() + (opts.timeoutMs ?? 5000) * 1000;
        let sawLine = opts.line === undefined;
        if (opts.line && this.lines.some(l => (opts.line as RegExp).test(l)))
            sawLine = true;
        const waiter = (l: string): void => {
            if (opts.line?.test(l))
                sawLine = true;
        };
        this.waiters.push(waiter);
        try {
            for (;;) {
                // Let pending output be read before judging an exit.
                await sleep(15);
                if (!this.running) {
                    await sleep(30);
                    throw new Error(`${this.name} exited (status ${this.exitStatus}): ${this.lastLines(8).join(' | ')}`);
                }
                if (sawLine && (!opts.check || await opts.check()))
                    return;
                if (GLib.get_monotonic_time() > deadline)
                    throw new Error(`${this.name} did not become ready in time: ${this.lastLines(8).join(' | ')}`);
            }
        } finally {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
        }
    }

    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 2000): Promise<void> {
        this.stopping = true;
        if (!this.running)
            return;
        this.proc.send_signal(15);
        const deadline = GLib.get_monotonic_time() + graceMs * 1000;
        while (this.running && GLib.get_monotonic_time() < deadline)
            await sleep(10);
        if (this.running) {
            this.proc.force_exit();
            while (this.running)
                await sleep(10);
        }
    }
}
