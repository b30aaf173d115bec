// Running daemons as watched child processes (effects): foreground mode, output read line by line on a pipe,
// readiness checks, and a stop that escalates from SIGTERM to SIGKILL. Also the small process utilities the
// engine needs (run a command and wait, is a PID still ours).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

const LOG_DOMAIN = 'share-this-cd';

export interface RunResult {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs a command to completion (blocking; for short commands such as `ip` and `mount`). */
export function run(argv: string[], input: string | null = null): RunResult {
    const flags = Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE | (input !== null ? Gio.SubprocessFlags.STDIN_PIPE : 0);
    let proc: Gio.Subprocess;
    try {
        proc = Gio.Subprocess.new(argv, flags);
    } catch (e) {
        return { status: 127, stdout: '', stderr: (e as GLib.Error).message ?? String(e) };
    }
    const [, stdout, stderr] = proc.communicate_utf8(input, null);
    return { status: proc.get_if_exited() ? proc.get_exit_status() : 128 + proc.get_term_sig(), stdout: stdout ?? '', stderr: stderr ?? '' };
}

/** True when `pid` runs a program whose name is `comm` (guards against killing a reused PID). */
export function isRunning(pid: number, comm: string | null = null): boolean {
    if (!Number.isInteger(pid) || pid <= 1)
        return false;
    try {
        const [ok, bytes] = GLib.file_get_contents(`/proc/${pid}/stat`);
        if (!ok)
            return false;
        const stat = new TextDecoder().decode(bytes);
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state === 'Z' || state === 'X')
            return false;
        return comm === null || name === comm.slice(0, 15);
    } catch {
        return false;
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Resolves when the process is gone. */
export async function killPid(pid: number, comm: string | null, graceMs = 2000): Promise<void> {
    if (!isRunning(pid, comm))
        return;
    try {
        run(['kill', '-TERM', String(pid)]);
    } catch { /* gone */ }
    const deadline = GLib.get_monotonic_time() + graceMs * 1000;
    while (isRunning(pid, comm) && GLib.get_monotonic_time() < deadline)
        await sleep(20);
    if (isRunning(pid, comm)) {
        run(['kill', '-KILL', String(pid)]);
        for (let i = 0; i < 100 && isRunning(pid, comm); i++)
            await sleep(10);
    }
}

/** Can a TCP connection to address:port be made (right now, within `timeoutMs`)? */
export function tcpConnects(address: string, port: number, timeoutMs = 300): Promise<boolean> {
    return new Promise(resolve => {
        const client = new Gio.SocketClient({ timeout: Math.max(1, Math.ceil(timeoutMs / 1000)) });
        const cancel = new Gio.Cancellable();
        const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, timeoutMs, () => {
            cancel.cancel();
            return GLib.SOURCE_REMOVE;
        });
        client.connect_to_host_async(`${address}:${port}`, port, cancel, (_c, res) => {
            try {
                const conn = client.connect_to_host_finish(res);
                conn.close(null);
                resolve(true);
            } catch {
                resolve(false);
            } finally {
                if (!cancel.is_cancelled())
                    GLib.source_remove(timer);
            }
        });
    });
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
        this.proc = Gio.Subprocess.new(options.argv, Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE);
        this.pid = Number(this.proc.get_identifier());
        const stream = new Gio.DataInputStream({ base_stream: this.proc.get_stdout_pipe() as Gio.InputStream, close_base_stream: true });
        const readNext = (): void => {
            stream.read_line_async(GLib.PRIORITY_DEFAULT, null, (_s, res) => {
                let line: string | null = null;
                try {
                    const [bytes] = stream.read_line_finish_utf8(res);
                    line = bytes;
                } catch {
                    line = null;
                }
                if (line === null)
                    return;
                this.lines.push(line);
                if (this.lines.length > 200)
                    this.lines.shift();
                try {
                    this.options.onLine?.(line);
                } catch (e) {
                    console.error(`${LOG_DOMAIN}: ${this.name} line handler: ${e}`);
                }
                this.waiters.forEach(w => w(line as string));
                readNext();
            });
        };
        readNext();
        this.proc.wait_async(null, () => {
            this.exited = true;
            this.exitStatus = this.proc.get_if_exited() ? this.proc.get_exit_status() : 128 + this.proc.get_term_sig();
            if (!this.stopping)
                this.options.onExit?.(this.exitStatus, [...this.lines]);
        });
    }

    get running(): boolean {
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
                if (this.exited) {
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
        if (this.exited)
            return;
        this.proc.send_signal(15);
        const deadline = GLib.get_monotonic_time() + graceMs * 1000;
        while (!this.exited && GLib.get_monotonic_time() < deadline)
            await sleep(10);
        if (!this.exited) {
            this.proc.force_exit();
            while (!this.exited)
                await sleep(10);
        }
    }
}
