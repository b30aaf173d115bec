// The applet's settings (~/.config/share-this-cd/applet.json): how to share — interface (null: the wired one),
// mode, HTTP fast path — and whether (and what) to share again at login. Parsing is pure and forgiving; writes are atomic.
import GLib from 'gi://GLib';

import { mkdirs, readTextFile, writeAtomic } from '../shared/fsutil.ts';
import { MAX_MENU_TIMEOUT, type RequestedMode, isInterfaceName, isMode } from '../shared/options.ts';

export interface AppletPrefs {
    interface: string | null;
    mode: RequestedMode;
    http: boolean;
    /** Share again when the user logs in (and the helper: after a restart) if sharing was on. */
    resumeAtLogin: boolean;
    /** Sharing was on when the applet last changed it. */
    wasSharing: boolean;
    /** The ISO file shared when sharing was last switched on (null: the live medium): what login shares again. */
    sharedIso: string | null;
    /** Seconds the netboot menu waits before its default entry (0: for a key; null: the medium's own, else 30). */
    menuTimeout: number | null;
    /** The entry the netboot menus start, chosen in Settings for the medium of that label (null: the medium's own). */
    defaultEntry: { medium: string; label: string } | null;
    /** The last shared medium's label and bootable entries (what Settings offers as default entries). */
    knownEntries: { medium: string; entries: string[] } | null;
}

/** The default entry to ask for when sharing the medium last shared: the chosen one, if it is that medium's. */
export function wantedDefaultEntry(p: AppletPrefs): string | null {
    const d = p.defaultEntry;
    return d !== null && p.knownEntries !== null && d.medium === p.knownEntries.medium && p.knownEntries.entries.includes(d.label) ? d.label : null;
}

export const DEFAULT_PREFS: AppletPrefs = { interface: null, mode: 'auto', http: true, resumeAtLogin: false, wasSharing: false, sharedIso: null, menuTimeout: null,
    defaultEntry: null, knownEntries: null };

export function parsePrefs(text: string | null): AppletPrefs {
    let raw: unknown = null;
    try {
        raw = text === null ? null : JSON.parse(text);
    } catch {
        raw = null;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        return { ...DEFAULT_PREFS };
    const o = raw as Record<string, unknown>;
    const iface = isInterfaceName(o.interface) ? o.interface : null;
    return {
        interface: iface,
        mode: isMode(o.mode) ? o.mode : 'auto',
        http: typeof o.http === 'boolean' ? o.http : true,
        resumeAtLogin: o.resumeAtLogin === true,
        wasSharing: o.wasSharing === true,
        // The helper checks the path again (absolute, readable by the user, no "..").
        sharedIso: typeof o.sharedIso === 'string' && o.sharedIso.startsWith('/') && !/[\n\0]/.test(o.sharedIso) ? o.sharedIso : null,
        menuTimeout: Number.isInteger(o.menuTimeout) && (o.menuTimeout as number) >= 0 && (o.menuTimeout as number) <= MAX_MENU_TIMEOUT ? o.menuTimeout as number : null,
        defaultEntry: parseDefaultEntry(o.defaultEntry),
        knownEntries: parseKnownEntries(o.knownEntries),
    };
}

/** A label as the helper checks it again (a line of text of bounded length). */
function isLabel(v: unknown): v is string {
    return typeof v === 'string' && v.length > 0 && v.length <= 256 && !/[\0-\x1f\x7f]/.test(v);
}

function parseDefaultEntry(v: unknown): AppletPrefs['defaultEntry'] {
    const o = typeof v === 'object' && v !== null ? v as Record<string, unknown> : {};
    return isLabel(o.medium) && isLabel(o.label) ? { medium: o.medium, label: o.label } : null;
}

function parseKnownEntries(v: unknown): AppletPrefs['knownEntries'] {
    const o = typeof v === 'object' && v !== null ? v as Record<string, unknown> : {};
    if (!isLabel(o.medium) || !Array.isArray(o.entries) || !o.entries.every(isLabel) || o.entries.length === 0 || o.entries.length > 64)
        return null;
    return { medium: o.medium, entries: o.entries as string[] };
}

export class PrefsStore {
    readonly path: string;

    constructor(dir = `${GLib.get_user_config_dir()}/share-this-cd`) {
        this.path = `${dir}/applet.json`;
    }

    load(): AppletPrefs {
        return parsePrefs(readTextFile(this.path));
    }

    save(p: AppletPrefs): void {
        mkdirs(GLib.path_get_dirname(this.path), 0o700);
        writeAtomic(this.path, `${JSON.stringify(p, null, 1)}\n`, 0o600);
    }
}
