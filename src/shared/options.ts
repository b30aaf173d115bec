// The options contract (pure): what a share can be asked for, by the command line, the helper's Start and the
// applet alike — the options, the modes, the HTTP port rule, the path rules — and their validation, each
// refusal a sentence that names the option. Imports nothing from the backend.
import { ShareError } from './errors.ts';
import { _, format } from './i18n.ts';
import { hasControlChars } from './text.ts';

/** How addresses are handed out: decided from the network (auto), next to its DHCP server, or by us. */
export const MODES = ['auto', 'proxy', 'dhcp'] as const;
export type RequestedMode = typeof MODES[number];

export const DEFAULT_HTTP_PORT = 80;

export interface ShareOptions {
    /** The medium's folder (null: the running live medium, or `iso`). */
    medium: string | null;
    /** An ISO file to share instead (mounted read-only). */
    iso: string | null;
    /** The interface the other computers are on (null: the wired one). */
    interface: string | null;
    mode: RequestedMode;
    /** The HTTP fast path for kernels and initrds. */
    http: boolean;
    httpPort: number;
    /**
     * Seconds the netboot menus wait before the default entry boots; 0: until a key is pressed; null: the
     * medium's own timeout, else 30 s (bootPlan.ts menuTimeout).
     */
    menuTimeout: number | null;
    /** The entry that boots by default, by its label; null: the medium's own default. */
    defaultEntry: string | null;
}

export const DEFAULT_OPTIONS: ShareOptions = { medium: null, iso: null, interface: null, mode: 'auto', http: true, httpPort: DEFAULT_HTTP_PORT, menuTimeout: null, defaultEntry: null };

/** Seconds a netboot menu waits when the medium's own menu waits for a key (thin clients nobody touches). */
export const DEFAULT_MENU_TIMEOUT = 30;

/** The longest wait a netboot menu may be given (an hour: pxelinux counts at most 3599.6 s). */
export const MAX_MENU_TIMEOUT = 3600;

/** The menu timeout given as text (command line), or a ShareError. */
export function parseMenuTimeout(text: string): number {
    if (!/^\d{1,4}$/.test(text) || Number(text) > MAX_MENU_TIMEOUT)
        throw new ShareError('InvalidOption', format(_("“{value}” is not a menu timeout: give the seconds the menu waits, 0 to {max} (0: until a key is pressed)."), { value: text, max: MAX_MENU_TIMEOUT }));
    return Number(text);
}

export function isMode(value: unknown): value is RequestedMode {
    return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

/** Linux interface names: 1–15 characters, no slash or white space. */
export function isInterfaceName(value: unknown): value is string {
    return typeof value === 'string' && /^[A-Za-z0-9_.:@-]{1,15}$/.test(value);
}

export function isPort(value: unknown): value is number {
    return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

function quoted(value: string): string {
    return JSON.stringify(value);
}

/** The HTTP port given as text (command line), or a ShareError. */
export function parsePort(text: string): number {
    if (!/^\d{1,5}$/.test(text) || !isPort(Number(text)))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a valid HTTP port (1–65535)."), { value: text }));
    return Number(text);
}

/**
 * A path option (`medium`, `iso`): no control character, no “..” segment; `absolute` also asks for a full path
 * (the helper's rule: it does not know the caller's working directory). Throws ShareError('InvalidOption').
 */
export function checkPath(option: 'medium' | 'iso', value: string, absolute = false): void {
    if (value === '' || hasControlChars(value))
        throw new ShareError('InvalidOption', format(_("The {option} “{value}” contains a line break or control character."), { option, value: quoted(value) }));
    if (value.split('/').includes('..'))
        throw new ShareError('InvalidOption', format(_("The {option} path {value} contains “..”: give the path without “..”."), { option, value: quoted(value) }));
    if (absolute && !value.startsWith('/'))
        throw new ShareError('InvalidOption', format(_("The {option} path “{value}” is relative: give the full path, starting with “/”."), { option, value }));
}

/** Checks every option; throws ShareError('InvalidOption') with the first problem's sentence. */
export function validateOptions(o: ShareOptions, opts: { absolutePaths?: boolean } = {}): void {
    if (o.interface !== null) {
        if (o.interface === '' || hasControlChars(o.interface))
            throw new ShareError('InvalidOption', format(_("The {option} “{value}” contains a line break or control character."), { option: 'interface', value: quoted(o.interface) }));
        if (!isInterfaceName(o.interface))
            throw new ShareError('InvalidOption', format(_("“{value}” is not a network interface name."), { value: quoted(o.interface).slice(1, -1) }));
    }
    for (const key of ['medium', 'iso'] as const) {
        const value = o[key];
        if (value !== null)
            checkPath(key, value, opts.absolutePaths ?? false);
    }
    if (o.medium !== null && o.iso !== null)
        throw new ShareError('InvalidOption', _("Give either a medium folder or an ISO file, not both."));
    if (!isMode(o.mode))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a mode: use auto, proxy or dhcp."), { value: String(o.mode) }));
    if (!isPort(o.httpPort))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a valid HTTP port (1–65535)."), { value: String(o.httpPort) }));
    if (o.menuTimeout !== null && !(Number.isInteger(o.menuTimeout) && o.menuTimeout >= 0 && o.menuTimeout <= MAX_MENU_TIMEOUT))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a menu timeout: give the seconds the menu waits, 0 to {max} (0: until a key is pressed)."), { value: String(o.menuTimeout), max: MAX_MENU_TIMEOUT }));
    if (o.defaultEntry !== null && (o.defaultEntry.trim() === '' || hasControlChars(o.defaultEntry) || o.defaultEntry.length > 200))
        throw new ShareError('InvalidOption', format(_("The {option} “{value}” is empty, too long or contains a line break or control character."), { option: 'default entry', value: quoted(o.defaultEntry).slice(1, -1) }));
}

/** True when two option sets share the same thing the same way (a second Start with them changes nothing). */
export function sameOptions(a: ShareOptions, b: ShareOptions): boolean {
    return a.medium === b.medium && a.iso === b.iso && a.interface === b.interface && a.mode === b.mode
        && a.http === b.http && a.httpPort === b.httpPort && a.menuTimeout === b.menuTimeout && a.defaultEntry === b.defaultEntry;
}

/** Options read back from JSON we wrote (settings): null when anything is missing, of the wrong type or invalid. */
export function optionsFromJson(raw: unknown): ShareOptions | null {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        return null;
    const l = raw as Record<string, unknown>;
    const text = (v: unknown): string | null | undefined => v === null ? null : typeof v === 'string' ? v : undefined;
    const medium = text(l.medium), iso = text(l.iso), iface = text(l.interface);
    if (medium === undefined || iso === undefined || iface === undefined || !isMode(l.mode) || typeof l.http !== 'boolean' || !isPort(l.httpPort))
        return null;
    // (settings written before the menu options have neither: the defaults)
    const menuTimeout = l.menuTimeout === undefined || l.menuTimeout === null ? null : typeof l.menuTimeout === 'number' ? l.menuTimeout : undefined;
    const defaultEntry = l.defaultEntry === undefined ? null : text(l.defaultEntry);
    if (menuTimeout === undefined || defaultEntry === undefined)
        return null;
    const options: ShareOptions = { medium, iso, interface: iface, mode: l.mode, http: l.http, httpPort: l.httpPort as number, menuTimeout, defaultEntry };
    try {
        validateOptions(options);
    } catch {
        return null;
    }
    return options;
}
