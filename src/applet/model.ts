// What the applet shows, as a pure function of the helper's properties: the icon, the indicator's title,
// tooltip and label, the menu's status line and switch, and the rows of the Computers window. No GTK here.
import { describeComputer } from '../shared/computers.ts';
import { errorSummary, withDetail } from '../shared/helperCalls.ts';
import { isActive, isRunning } from '../shared/stages.ts';
import { _, format, ngettext } from '../shared/i18n.ts';

export type HelperState = 'stopped' | 'starting' | 'sharing' | 'stopping' | 'failed';

export interface ClientView {
    mac: string;
    ip: string;
    arch: string;
    stage: string;
    detail: string;
    firstSeen: number;
    lastSeen: number;
    /** The user's name for it, whether it is allowed or ignored ('' when neither), its card's maker. */
    name: string;
    access: string;
    vendor: string;
}

/** A computer the user allowed, ignored or named (the helper's Computers). */
export interface KnownView {
    mac: string;
    name: string;
    allowed: boolean;
}

/** The helper as the applet knows it. `available: false`: the helper is missing or does not answer. */
export interface HelperView {
    available: boolean;
    state: HelperState;
    lastError: string;
    /** The last error's code ('' when none or unknown): said in the user's language, lastError as its details. */
    lastErrorCode: string;
    /** While starting: the helper's step under way ('' when it says none). */
    progress: string;
    iface: string;
    address: string;
    mode: string;
    medium: string;
    mediumLabel: string;
    /** The shared medium's bootable entries (labels, menu order) and the one its netboot menus start. */
    entries: string[];
    defaultEntry: string;
    clientCount: number;
    clients: ClientView[];
    /** What happened while sharing that the user must know (the helper's Notices), the newest last. */
    notices: string[];
    /** any | allowed: which computers may start (the helper's Access). */
    access: string;
    computers: KnownView[];
}

export const UNKNOWN_VIEW: HelperView = {
    available: false, state: 'stopped', lastError: '', lastErrorCode: '', progress: '', iface: '', address: '', mode: '', medium: '', mediumLabel: '', entries: [], defaultEntry: '', clientCount: 0, clients: [], notices: [],
    access: 'any', computers: [],
};

/** Icons (data/icons/hicolor/scalable/status). */
export type IconName = 'share-this-cd-off-symbolic' | 'share-this-cd-sharing-symbolic' | 'share-this-cd-booting-symbolic' | 'share-this-cd-error-symbolic';

export interface Presentation {
    icon: IconName;
    /** The indicator's title (read by screen readers; some panels show it). */
    title: string;
    tooltip: string;
    /** Next to the icon where the panel shows labels: the count while computers boot, else empty. */
    label: string;
    statusLine: string;
    switchActive: boolean;
    /** False while the helper starts or stops a share (the menu never waits for it). */
    switchSensitive: boolean;
}

function computers(n: number): string {
    return format(ngettext("{n} computer", "{n} computers", n), { n });
}

/** "Sharing on enp3s0 (192.168.1.20) — 3 computers". */
export function present(v: HelperView, interfaceLabel: (name: string) => string = n => n): Presentation {
    const where = format(_("{interface} ({address})"), { interface: interfaceLabel(v.iface), address: v.address });
    let p: Presentation;
    if (!v.available) {
        p = { icon: 'share-this-cd-error-symbolic', title: _("Share This CD"), tooltip: '', label: '',
            statusLine: v.lastError || _("The sharing service is not available."), switchActive: false, switchSensitive: true };
    } else {
        switch (v.state) {
        case 'starting':
            p = { icon: 'share-this-cd-off-symbolic', title: _("Share This CD"), tooltip: '', label: '',
                statusLine: v.progress || _("Starting to share…"), switchActive: true, switchSensitive: false };
            break;
        case 'stopping':
            p = { icon: 'share-this-cd-sharing-symbolic', title: _("Share This CD"), tooltip: '', label: '',
                statusLine: _("Stopping…"), switchActive: false, switchSensitive: false };
            break;
        case 'sharing': {
            const booting = v.clientCount > 0;
            p = { icon: booting ? 'share-this-cd-booting-symbolic' : 'share-this-cd-sharing-symbolic',
                title: booting
                    ? format(ngettext("Share This CD: {n} computer is booting from this CD", "Share This CD: {n} computers are booting from this CD", v.clientCount), { n: v.clientCount })
                    : _("Share This CD: sharing"),
                tooltip: '', label: booting ? String(v.clientCount) : '',
                statusLine: format(_("Sharing on {where} — {computers}"), { where, computers: computers(v.clientCount) }),
                switchActive: true, switchSensitive: true };
            break;
        }
        case 'failed':
            p = { icon: 'share-this-cd-error-symbolic', title: _("Share This CD: sharing failed"), tooltip: '', label: '',
                statusLine: errorSummary(v.lastErrorCode) ?? (v.lastError || _("Sharing failed.")), switchActive: false, switchSensitive: true };
            break;
        default:
            p = { icon: 'share-this-cd-off-symbolic', title: _("Share This CD: not sharing"), tooltip: '', label: '',
                statusLine: _("Not sharing"), switchActive: false, switchSensitive: true };
        }
    }
    p.tooltip = `${p.title}\n${p.statusLine}`;
    return p;
}

/** A stage in words. */
export function stageText(stage: string): string {
    switch (stage) {
    case 'discovered': return _("asked for an address");
    case 'waiting': return _("waiting to be allowed");
    case 'loading': return _("loading the system");
    case 'running': return _("starting the live system");
    case 'up': return _("live system running");
    case 'gone': return _("gone");
    case 'cannot-boot': return _("cannot start this CD");
    default: return stage;
    }
}

export function archText(arch: string): string {
    return arch === 'bios' ? 'BIOS' : arch === 'uefi' ? 'UEFI' : arch === 'uefi-arm64' ? 'UEFI ARM64' : _("unknown");
}

/** "since 14:02" for today, with the date otherwise; `now` and times in seconds since the epoch. */
export function sinceText(firstSeen: number, now: number): string {
    const t = new Date(firstSeen * 1000);
    const pad = (n: number): string => String(n).padStart(2, '0');
    const hm = `${pad(t.getHours())}:${pad(t.getMinutes())}`;
    const sameDay = new Date(now * 1000).toDateString() === t.toDateString();
    return sameDay ? hm : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${hm}`;
}

export interface ClientRow {
    /** Its name, else its address and its card's maker. */
    name: string;
    ip: string;
    firmware: string;
    stage: string;
    /** May start / ignored / '' (in the list of computers or not). */
    allowed: string;
    since: string;
    /** What the window acts on (not shown): its MAC address ('' for a computer known by its IP address only). */
    mac: string;
}

/** A computer's name for people: its name, else its MAC address with its card's maker. */
export function computerName(c: { mac: string; ip: string; name: string; vendor: string }): string {
    return c.name !== '' ? c.name : describeComputer({ mac: c.mac || null, ip: c.ip || null, vendor: c.vendor }, null);
}

/**
 * The Computers window's rows: waiting and booting first, then running, then gone, then those remembered but
 * not seen; oldest first within each.
 */
export function clientRows(clients: ClientView[], now: number, known: KnownView[] = []): ClientRow[] {
    const order: Record<string, number> = { waiting: 0, discovered: 0, loading: 0, running: 0, up: 1, 'cannot-boot': 2, gone: 2 };
    const allowed = (access: string): string => access === 'allowed' ? _("may start") : access === 'ignored' ? _("ignored") : '';
    const seen = [...clients]
        .sort((a, b) => (order[a.stage] ?? 3) - (order[b.stage] ?? 3) || a.firstSeen - b.firstSeen)
        .map(c => ({ name: computerName(c), ip: c.ip, firmware: archText(c.arch), stage: stageText(c.stage), allowed: allowed(c.access), since: sinceText(c.firstSeen, now), mac: c.mac }));
    const others = known.filter(k => !clients.some(c => c.mac === k.mac))
        .map(k => ({ name: k.name !== '' ? `${k.name} (${k.mac})` : k.mac, ip: '', firmware: '', stage: _("not seen"), allowed: allowed(k.allowed ? 'allowed' : 'ignored'), since: '', mac: k.mac }));
    return [...seen, ...others];
}

/** Computers that started waiting to be allowed since `before`, and that the user has not ignored (for the question). */
export function newlyWaiting(before: ClientView[], after: ClientView[]): ClientView[] {
    const waited = new Set(before.filter(c => c.stage === 'waiting').map(c => c.mac));
    return after.filter(c => c.stage === 'waiting' && c.access === '' && c.mac !== '' && !waited.has(c.mac));
}

/** At most this many questions about waiting computers a minute; then one "many computers ask" a minute. */
export const QUESTIONS_PER_MINUTE = 3;

/** When the recent questions were asked, and when "more computers ask" was last said (ms). */
export interface QuestionLog {
    asked: number[];
    toldMore: number | null;
}

/**
 * Which of the computers that started waiting get a question of their own (Allow / Ignore), and whether one
 * notification says that more ask: a LAN client that sends requests from made-up addresses must not bury the
 * desktop in notifications. `log` is changed in place; `now` in ms.
 */
export function questionsToAsk(fresh: ClientView[], log: QuestionLog, now: number): { ask: ClientView[]; more: boolean } {
    log.asked = log.asked.filter(t => now - t < 60000);
    const ask: ClientView[] = [];
    let more = false;
    for (const c of fresh) {
        if (log.asked.length < QUESTIONS_PER_MINUTE) {
            log.asked.push(now);
            ask.push(c);
        } else if (log.toldMore === null || now - log.toldMore >= 60000) {
            log.toldMore = now;
            more = true;
        }
    }
    return { ask, more };
}

/** The notification that asks about a computer that waits. */
export function waitingNotification(c: ClientView): { summary: string; body: string } {
    return {
        summary: _("A computer asks to start from this CD"),
        body: format(_("{computer} ({firmware}) is not among the computers allowed to start from this CD."), { computer: computerName(c), firmware: archText(c.arch) }),
    };
}

/** The failure as the user reads it: what it means in their language, then the helper's sentence. */
export function failureText(v: HelperView): string {
    return withDetail(errorSummary(v.lastErrorCode), v.lastError);
}

/** Computers that run the live system from the share now (they stop working when sharing stops). */
export function runningComputers(v: HelperView): ClientView[] {
    return v.state === 'sharing' ? v.clients.filter(isRunning) : [];
}

/** Computers that started booting since `before` (for the notification): new, and not gone. */
export function newlyBooting(before: ClientView[], after: ClientView[]): ClientView[] {
    const known = new Set(before.map(c => c.mac || c.ip));
    return after.filter(c => !known.has(c.mac || c.ip) && isActive(c));
}

/** The notification when computers start booting. */
export function bootingNotification(fresh: ClientView[], total: number): { summary: string; body: string } {
    const names = fresh.map(computerName).join(', ');
    return {
        summary: format(ngettext("A computer is booting from this CD", "{n} computers are booting from this CD", fresh.length), { n: fresh.length }),
        body: format(ngettext("{names}. In all, {total} computer is using this share.", "{names}. In all, {total} computers are using this share.", total), { names, total }),
    };
}

/** The helper's properties (as unpacked from D-Bus) over the view we had; unknown or mistyped values are ignored. */
export function mergeProperties(v: HelperView, props: Record<string, unknown>): HelperView {
    const out: HelperView = { ...v, available: true };
    const str = (key: string): string | undefined => typeof props[key] === 'string' ? props[key] as string : undefined;
    const state = str('State');
    if (state !== undefined && ['stopped', 'starting', 'sharing', 'stopping', 'failed'].includes(state))
        out.state = state as HelperState;
    out.lastError = str('LastError') ?? out.lastError;
    out.lastErrorCode = str('LastErrorCode') ?? (props.LastError !== undefined ? '' : out.lastErrorCode);
    out.progress = str('Progress') ?? out.progress;
    out.iface = str('Interface') ?? out.iface;
    out.address = str('Address') ?? out.address;
    out.mode = str('Mode') ?? out.mode;
    out.medium = str('Medium') ?? out.medium;
    out.mediumLabel = str('MediumLabel') ?? out.mediumLabel;
    if (Array.isArray(props.Entries))
        out.entries = props.Entries.map(String);
    out.defaultEntry = str('DefaultEntry') ?? out.defaultEntry;
    if (typeof props.ClientCount === 'number')
        out.clientCount = props.ClientCount;
    if (Array.isArray(props.Clients)) {
        out.clients = (props.Clients as Record<string, unknown>[]).map(c => ({
            mac: String(c.mac ?? ''), ip: String(c.ip ?? ''), arch: String(c.arch ?? 'unknown'), stage: String(c.stage ?? ''),
            detail: String(c.detail ?? ''), firstSeen: Number(c.first_seen ?? 0), lastSeen: Number(c.last_seen ?? 0),
            name: String(c.name ?? ''), access: String(c.access ?? ''), vendor: String(c.vendor ?? ''),
        }));
    }
    const access = str('Access');
    if (access === 'any' || access === 'allowed')
        out.access = access;
    if (Array.isArray(props.Computers)) {
        out.computers = (props.Computers as Record<string, unknown>[]).map(c => ({ mac: String(c.mac ?? ''), name: String(c.name ?? ''), allowed: c.allowed === true }))
            .filter(c => c.mac !== '');
    }
    if (Array.isArray(props.Notices))
        out.notices = props.Notices.map(String);
    return out;
}

/**
 * Notices of `next` the user has not been shown: those after the ones `previous` had (the helper keeps the newest
 * 8, so a list that did not grow by appending is all new). None when sharing just started (the start's own
 * sentences are told by the start).
 */
export function newNotices(previous: HelperView, next: HelperView): string[] {
    if (next.state !== 'sharing' || previous.state !== 'sharing')
        return [];
    const old = previous.notices;
    const appended = next.notices.length >= old.length && old.every((n, i) => next.notices[i] === n);
    return appended ? next.notices.slice(old.length) : next.notices.filter(n => !old.includes(n));
}

/** True when the kernel command line is a live system's (casper or live-boot), as data/share-this-cd-live-session. */
export function isLiveCmdline(cmdline: string): boolean {
    return cmdline.trim().split(/\s+/).some(w => w === 'boot=casper' || w === 'boot=live');
}
