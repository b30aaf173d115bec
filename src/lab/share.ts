// A running `share-this-cd start` inside a lab namespace, as a user runs it, with its output collected line by
// line (used by the tests, the demo and the boot benchmark).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { LineReader, exitStatusOf, hasExited } from '../backend/services/supervisor.ts';
import { sleep } from '../shared/timers.ts';

/** The line `start` prints once everything answers. */
export const READY = /^Sharing .* ready in \d+ ms \(DHCP probe \d+ ms\)\.$/;

/** A command of the lab run in the background, its output (stdout and stderr) collected line by line. */
export class LabProcess {
    readonly proc: Gio.Subprocess;
    readonly lines: string[] = [];
    /** All output read (end of file on the pipe). */
    private drained = false;

    constructor(readonly argv: string[], env: Record<string, string> = {}, onLine: (line: string) => void = () => {}) {
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE });
        launcher.setenv('LANGUAGE', 'C', true);
        for (const [k, v] of Object.entries(env))
            launcher.setenv(k, v, true);
        this.proc = launcher.spawnv(argv);
        new LineReader(this.proc.get_stdout_pipe() as Gio.InputStream, line => {
            this.lines.push(line);
            onLine(line);
        }, () => {
            this.drained = true;
        });
    }

    get running(): boolean {
        return !hasExited(this.proc);
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
            if (!this.running && this.drained) {
                throw new Error(`${this.argv.join(' ')} ended (status ${this.exitStatus}) before ${re}:\n${this.output}`);
            }
            if (GLib.get_monotonic_time() > deadline)
                throw new Error(`timed out waiting for ${re}:\n${this.output}`);
            await sleep(50);
        }
    }

    /** Resolves with the exit status once the process has ended and all its output has been read. */
    async ended(timeoutMs = 15000): Promise<number> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (!(!this.running && this.drained) && GLib.get_monotonic_time() < deadline)
            await sleep(20);
        if (this.running)
            throw new Error(`${this.argv.join(' ')} did not end:\n${this.output}`);
        return this.exitStatus;
    }

    get exitStatus(): number {
        return exitStatusOf(this.proc);
    }

    /** The pid of the gjs process (ip netns exec execs it, so it is the subprocess itself). */
    get pid(): number {
        return Number(this.proc.get_identifier());
    }

    signal(sig: number): void {
        if (this.running)
            this.proc.send_signal(sig);
    }
}

/** A running `share-this-cd start` inside a lab namespace. */
export class LabShare extends LabProcess {
    /**
     * `cli`: the command-line bundle; `netns`: the server namespace; `env` adds to the environment; `wrapper`
     * replaces `ip netns exec NETNS` (e.g. setpriv, to run as another user).
     */
    constructor(cli: string, netns: string, args: string[], env: Record<string, string> = {}, onLine: (line: string) => void = () => {},
        wrapper: string[] | null = null) {
        super([...wrapper ?? ['ip', 'netns', 'exec', netns], 'gjs', '-m', cli, 'start', ...args], env, onLine);
    }
}
