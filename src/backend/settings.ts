// Persistent settings (/var/lib/share-this-cd/settings.json): the last share's options and whether sharing was
// on, so that a persistent live session (casper-rw, live-boot persistence) shares again after a reboot when the
// user asked for it; and which computers may start from the share and their names (shared/computers.ts), which
// every share reads, and follows while it runs (the helper and `share-this-cd computers` write them). Parsing is pure and forgiving (a damaged file means defaults); writes are atomic.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { mkdirs, readTextFile, writeAtomic } from '../shared/fsutil.ts';
import { after } from '../shared/timers.ts';
import { type ComputerSettings, computerSettingsFromJson } from '../shared/computers.ts';
import { type ShareOptions, optionsFromJson } from '../shared/options.ts';


export interface Settings extends ComputerSettings {
    version: 1;
    /** Sharing was on when the helper last changed it. */
    sharing: boolean;
    /** Share again at start-up (the user chose "keep sharing after a restart"). */
    remember: boolean;
    /** The last share's options (null before the first share). */
    last: ShareOptions | null;
    /**
     * The user (uid) who asked for the last share: a remembered share is started again only while that user can
     * still read what it names (null: unknown, from an older version: its paths are not shared again).
     */
    owner: number | null;
}

export const DEFAULT_SETTINGS: Settings = { version: 1, sharing: false, remember: false, last: null, owner: null, access: 'any', computers: [] };

/** The settings in `text`; anything missing or of the wrong type falls back to its default. */
export function parseSettings(text: string | null): Settings {
    let raw: unknown;
    try {
        raw = text === null ? null : JSON.parse(text);
    } catch {
        raw = null;
    }
    if (typeof raw !== 'object' || raw === null)
        return { ...DEFAULT_SETTINGS };
    const o = raw as Record<string, unknown>;
    const last = optionsFromJson(o.last);
    const sharing = o.sharing === true && last !== null;
    const owner = typeof o.owner === 'number' && Number.isInteger(o.owner) && o.owner >= 0 && o.owner < 2 ** 32 ? o.owner : null;
    return { version: 1, sharing, remember: o.remember === true && last !== null, last, owner, ...computerSettingsFromJson(o) };
}

export function renderSettings(s: Settings): string {
    return `${JSON.stringify(s, null, 1)}\n`;
}

export class SettingsStore {
    constructor(private readonly dir: string) {}

    get path(): string {
        return `${this.dir}/settings.json`;
    }

    load(): Settings {
        return parseSettings(readTextFile(this.path));
    }

    /**
     * Calls `onChange` after the file changed (the kernel's inotify: nothing runs until it does; several events
     * of one atomic write make one call). Its folder is made when missing (a file whose folder is missing would
     * be looked for every few seconds). Returns the function that stops following.
     */
    follow(onChange: () => void): () => void {
        mkdirs(this.dir, 0o755);
        const monitor = Gio.File.new_for_path(this.path).monitor_file(Gio.FileMonitorFlags.WATCH_MOVES, null);
        let pending: (() => void) | null = null;
        monitor.connect('changed', (_m, _file, _other, event) => {
            if (event === Gio.FileMonitorEvent.ATTRIBUTE_CHANGED || pending !== null)
                return;
            pending = after(100, () => {
                pending = null;
                onChange();
            });
        });
        return () => {
            monitor.cancel();
            pending?.();
            pending = null;
        };
    }

    /** Writes atomically (temporary file + rename); the folder is made when missing. */
    /** Loads, changes and saves (what `change` leaves out stays as it was). */
    update(change: (s: Settings) => Partial<Settings>): Settings {
        const before = this.load();
        const after = { ...before, ...change(before), version: 1 as const };
        this.save(after);
        return after;
    }

    save(s: Settings): void {
        if (!GLib.file_test(this.dir, GLib.FileTest.IS_DIR))
            mkdirs(this.dir, 0o755);
        writeAtomic(this.path, renderSettings(s), 0o644);
    }
}
