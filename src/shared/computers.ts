// Which computers may start from the share, and what people call them (pure): the contract shared by the
// helper's settings, the engine (which answers only allowed computers in "only allowed" mode), the command line
// and the applet. A computer is its network card's MAC address; its name is a short line of text.
import { ShareError } from './errors.ts';
import { _, format, ngettext } from './i18n.ts';
import { hasControlChars } from './text.ts';

/** any: every computer that asks may start; allowed: only those in the list with `allowed` (others wait). */
export const ACCESS_MODES = ['any', 'allowed'] as const;
export type Access = typeof ACCESS_MODES[number];

export interface KnownComputer {
    /** Lower case, colon separated ("00:1b:21:aa:bb:cc"). */
    mac: string;
    /** What the user calls it ("" when unnamed). */
    name: string;
    /** May start in "only allowed" mode; false: the user chose to ignore it (no more questions about it). */
    allowed: boolean;
}

export interface ComputerSettings {
    access: Access;
    computers: KnownComputer[];
}

export const DEFAULT_COMPUTER_SETTINGS: ComputerSettings = { access: 'any', computers: [] };

/** The most computers remembered (a library's rooms are far below it; the settings file stays small). */
export const MAX_KNOWN_COMPUTERS = 1024;
/** The longest name (characters). */
export const MAX_NAME_LENGTH = 64;

export function isAccess(value: unknown): value is Access {
    return typeof value === 'string' && (ACCESS_MODES as readonly string[]).includes(value);
}

/** "00:1B:21:AA:BB:CC", "00-1b-21-aa-bb-cc" or "001b21aabbcc" → "00:1b:21:aa:bb:cc"; null for anything else. */
export function normalizeMac(text: string): string | null {
    const t = text.trim().toLowerCase();
    const m = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/.exec(t);
    if (m === null)
        return null;
    const mac = [m[1], m[3], m[4], m[5], m[6], m[7]].join(':');
    // Multicast (group) addresses and the all-zero one are no computer's card.
    if ((Number.parseInt(m[1], 16) & 1) === 1 || mac === '00:00:00:00:00:00')
        return null;
    return mac;
}

/** A MAC address as given by a person, or a ShareError that says what one looks like. */
export function parseMac(text: string): string {
    const mac = normalizeMac(text);
    if (mac === null)
        throw new ShareError('InvalidOption', format(_("“{value}” is not a computer's network address (MAC): it looks like 00:1b:21:aa:bb:cc."), { value: JSON.stringify(text).slice(1, -1) }));
    return mac;
}

/** A name as given by a person (trimmed), or a ShareError. An empty name removes the name. */
export function parseName(text: string): string {
    const name = text.trim();
    if (hasControlChars(name))
        throw new ShareError('InvalidOption', _("A computer's name cannot contain a line break or control character."));
    if ([...name].length > MAX_NAME_LENGTH)
        throw new ShareError('InvalidOption', format(_("A computer's name can be at most {max} characters long."), { max: MAX_NAME_LENGTH }));
    return name;
}

/** The settings in `raw` (parsed JSON); anything damaged falls back to its default, entry by entry. */
export function computerSettingsFromJson(raw: unknown): ComputerSettings {
    const o = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw as Record<string, unknown> : {};
    const computers: KnownComputer[] = [];
    const seen = new Set<string>();
    for (const entry of Array.isArray(o.computers) ? o.computers : []) {
        const e = typeof entry === 'object' && entry !== null ? entry as Record<string, unknown> : {};
        const mac = typeof e.mac === 'string' ? normalizeMac(e.mac) : null;
        if (mac === null || seen.has(mac) || computers.length >= MAX_KNOWN_COMPUTERS)
            continue;
        let name = '';
        try {
            name = typeof e.name === 'string' ? parseName(e.name) : '';
        } catch {
            name = '';
        }
        seen.add(mac);
        computers.push({ mac, name, allowed: e.allowed === true });
    }
    return { access: isAccess(o.access) ? o.access : 'any', computers };
}

/** The list with `mac` changed (added when new): only the fields given change. */
export function withComputer(list: readonly KnownComputer[], mac: string, change: { name?: string; allowed?: boolean }): KnownComputer[] {
    const i = list.findIndex(c => c.mac === mac);
    const before = i >= 0 ? list[i] : { mac, name: '', allowed: false };
    const after = { ...before, ...change.name === undefined ? {} : { name: change.name }, ...change.allowed === undefined ? {} : { allowed: change.allowed } };
    if (i >= 0)
        return list.map((c, j) => j === i ? after : c);
    if (list.length >= MAX_KNOWN_COMPUTERS)
        throw new ShareError('InvalidOption', format(_("At most {max} computers can be remembered: forget some first."), { max: MAX_KNOWN_COMPUTERS }));
    return [...list, after];
}

/** The list without `mac`. */
export function withoutComputer(list: readonly KnownComputer[], mac: string): KnownComputer[] {
    return list.filter(c => c.mac !== mac);
}

/** The MACs the DHCP server answers: null for any computer. */
export function allowedMacs(s: ComputerSettings): string[] | null {
    return s.access === 'any' ? null : s.computers.filter(c => c.allowed).map(c => c.mac).sort();
}

/** What a computer is in the list: allowed, ignored (known, not allowed) or unknown (''). */
export type ComputerAccess = 'allowed' | 'ignored' | '';

export function accessOf(s: ComputerSettings, mac: string | null): { name: string; access: ComputerAccess } {
    const c = mac === null ? undefined : s.computers.find(k => k.mac === mac);
    return c === undefined ? { name: '', access: '' } : { name: c.name, access: c.allowed ? 'allowed' : 'ignored' };
}

/**
 * A computer for people: its name, else its MAC address, with its card's maker and its firmware when known
 * ("Desk 4 (00:1b:21:aa:bb:cc, Intel Corporate, UEFI)").
 */
export function describeComputer(c: { mac: string | null; ip: string | null; name?: string; vendor?: string }, firmware: string | null): string {
    const who = c.mac ?? c.ip ?? '?';
    const details = [c.vendor ?? '', firmware ?? ''].filter(t => t !== '');
    if (c.name !== undefined && c.name !== '')
        return `${c.name} (${[who, ...details].join(', ')})`;
    return details.length > 0 ? `${who} (${details.join(', ')})` : who;
}

/** The question before stopping a share that `n` computers run `system` from. */
export function stopQuestion(n: number, system: string): string {
    return format(ngettext("{n} computer is running {system} from this computer. It will stop working. Stop sharing?",
        "{n} computers are running {system} from this computer. They will stop working. Stop sharing?", n), { n, system });
}
