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
}

export const DEFAULT_PREFS: AppletPrefs = { interface: null, mode: 'auto', http: true, resumeAtLogin: false, wasSharing: false, sharedIso: null, menuTimeout: null };

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
    };
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
