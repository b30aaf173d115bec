// Helpers for specs: temporary media on disk, running the real command line.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { ShareError } from '../../src/shared/errors.ts';

/** Repository root (specs run from it: `gjs -m build/tests.js`). */
export const TOP = GLib.get_current_dir();
export const FIXTURES = `${TOP}/test/fixtures/media`;
/** The command-line bundle under test: the checkout's build, or the one meson built (meson test sets it). */
export const CLI = GLib.getenv('SHARE_THIS_CD_CLI') ?? `${TOP}/build/share-this-cd.js`;

/** Creates a temporary directory holding `files` (path → text or bytes; a value of null makes a directory). */
export function makeTree(files: Record<string, string | Uint8Array | null>): string {
    const dir = GLib.dir_make_tmp('share-this-cd-spec-XXXXXX');
    for (const [path, content] of Object.entries(files)) {
        const full = `${dir}/${path}`;
        if (content === null) {
            GLib.mkdir_with_parents(full, 0o755);
            continue;
        }
        GLib.mkdir_with_parents(GLib.path_get_dirname(full), 0o755);
        const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
        GLib.file_set_contents(full, bytes);
    }
    return dir;
}

/** Removes a tree made by makeTree (never follows symlinks out of it). */
export function removeTree(dir: string): void {
    if (!dir.startsWith(GLib.get_tmp_dir()))
        throw new Error(`refusing to remove ${dir}`);
    const walk = (file: Gio.File): void => {
        const info = file.query_info('standard::type', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        if (info.get_file_type() === Gio.FileType.DIRECTORY) {
            const children = file.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
            for (let child = children.next_file(null); child !== null; child = children.next_file(null))
                walk(file.get_child(child.get_name()));
            children.close(null);
        }
        file.delete(null);
    };
    walk(Gio.File.new_for_path(dir));
}

/**
 * A temporary folder made when it is first used, not when a spec file's bundle loads: a filtered run that skips
 * the suite (whose afterAll then never runs) leaves nothing in /tmp.
 */
export class LazyTmpDir {
    private made: string | null = null;

    constructor(private readonly template: string) {}

    get path(): string {
        this.made ??= GLib.dir_make_tmp(this.template);
        return this.made;
    }

    /** Removes it, if it was made. */
    remove(): void {
        if (this.made !== null && GLib.file_test(this.made, GLib.FileTest.EXISTS))
            removeTree(this.made);
        this.made = null;
    }
}

export interface CliResult {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs the built command line (`gjs -m CLI ARGS`) and waits for it. */
export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
    const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE });
    launcher.setenv('LANGUAGE', 'C', true);
    launcher.setenv('LC_ALL', 'C.UTF-8', true);
    for (const [k, v] of Object.entries(env))
        launcher.setenv(k, v, true);
    const proc = launcher.spawnv(['gjs', '-m', CLI, ...args]);
    const [, stdout, stderr] = proc.communicate_utf8(null, null);
    return { status: proc.get_exit_status(), stdout: stdout ?? '', stderr: stderr ?? '' };
}

export function readText(path: string): string {
    const [, bytes] = GLib.file_get_contents(path);
    return new TextDecoder().decode(bytes);
}

/** The ShareError that `f` throws (a spec fails when it throws nothing or something else). */
export function thrownShareError(f: () => unknown): ShareError {
    try {
        f();
    } catch (e) {
        if (e instanceof ShareError)
            return e;
        throw e;
    }
    throw new Error('no ShareError was thrown');
}

/**
 * Runs `body` with the test command's background build (tools/test.sh: the live-build image, at the lowest
 * priority) stopped: for specs that measure how fast we keep up with a flood, where even a niced build takes
 * CPU from the daemons (measured: 48 141 of 60 000 DISCOVERs read with the build running). Resumed after.
 */
export async function withBackgroundBuildPaused<T>(body: () => Promise<T>): Promise<T> {
    const group = GLib.getenv('SHARE_THIS_CD_PREBUILD_PGID');
    const signal = (sig: string): boolean => {
        if (group === null || !/^\d+$/.test(group))
            return false;
        const kill = Gio.Subprocess.new(['kill', `-${sig}`, '--', `-${group}`], Gio.SubprocessFlags.STDERR_SILENCE);
        kill.wait(null);
        return kill.get_successful();
    };
    const paused = signal('STOP');
    try {
        return await body();
    } finally {
        if (paused)
            signal('CONT');
    }
}
