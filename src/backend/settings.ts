// Persistent settings (/var/lib/share-this-cd/settings.json): the last share's options and whether sharing was
// on, so that a persistent live session (casper-rw, live-boot persistence) shares again after a reboot when the
// user asked for it. Parsing is pure and forgiving (a damaged file means defaults); writes are atomic.
import GLib from 'gi://GLib';

import { mkdirs, readTextFile, writeAtomic } from '../shared/fsutil.ts';
import { type ShareOptions, optionsFromJson } from '../shared/options.ts';

export const DEFAULT_STATE_DIR = '/var/lib/share-this-cd';

export interface Settings {
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

export const DEFAULT_SETTINGS: Settings = { version: 1, sharing: false, remember: false, last: null, owner: null };

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
    return { version: 1, sharing, remember: o.remember === true && last !== null, last, owner };
}

export function renderSettings(s: Settings): string {
    return `${JSON.stringify(s, null, 1)}\n`;
}

export class SettingsStore {
    constructor(private readonly dir: string = DEFAULT_STATE_DIR) {}

    get path(): string {
        return `${this.dir}/settings.json`;
    }

    load(): Settings {
        return parseSettings(readTextFile(this.path));
    }

    /** Writes atomically (temporary file + rename); the folder is made when missing. */
    save(s: Settings): void {
        if (!GLib.file_test(this.dir, GLib.FileTest.IS_DIR))
            mkdirs(this.dir, 0o755);
        writeAtomic(this.path, renderSettings(s), 0o644);
    }
}
