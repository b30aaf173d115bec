// The client tracker (pure): which computers are booting from us and how far they got.
// Fed with events parsed from dnsmasq's log (DHCP, proxy-DHCP, TFTP), the HTTP access log, NFS connections
// and the neighbour table; time is passed in, never read.
//
// Stages: discovered (asked for DHCP/PXE) → loading (fetching boot loader, kernel, initrd) → running (its
// root file system is mounted over NFS) → up (its system has started: the NFS reads of the boot have settled)
// → gone (silent for `goneAfter` seconds). In "only allowed" mode a computer that is not allowed is `waiting`:
// it asked and got no answer (it moves on once allowed and asking again). A computer of a platform the medium has nothing for (an ARM64 one
// for an x86-64 CD) is `cannot-boot`: it got no boot answer.
//
// "Up" is read from what every live system does, whatever its distribution: from the mount of its root to its
// login prompt or desktop it reads the medium steadily (kernel modules, systemd, services, the session: tens
// to hundreds of MB); once started it reads next to nothing. So a running computer is up once its NFS
// connections carried at least UP_MIN_BYTES in all, then stayed quiet (less than UP_QUIET_BYTES) for UP_QUIET_S
// seconds, and for at least as long as it had been reading since its root was mounted: a pause as long as the
// whole boot so far is no pause within the boot. A slow computer (old hardware, an emulated one sharing its CPU)
// boots slowly and pauses long in its CPU-bound steps (live-config's scripts, 1–2 minutes under emulation): its
// wait grows with its boot; a quick one is called up UP_QUIET_S after its last read. (Seen in the lab: 20 s
// without a read after 3.4 MiB, before systemd ran; 84 s without a read during live-config, 4 clients on 2 cores.)
import type { ComputerAccess } from '../shared/computers.ts';
import { type Stage, isActive } from '../shared/stages.ts';
import { type ClientArch, archLabel, platformOfArch } from './platforms.ts';

export type { Stage };

export type Arch = ClientArch | 'unknown';
export type FileKind = 'bootloader' | 'menu' | 'kernel' | 'initrd' | 'other';

export interface Client {
    /** Stable key: the MAC when known, else "ip:ADDRESS". */
    id: string;
    mac: string | null;
    ip: string | null;
    arch: Arch;
    stage: Stage;
    /** Seconds since the epoch. */
    firstSeen: number;
    lastSeen: number;
    /** Kinds of file fetched so far, in order of first fetch. */
    fetched: FileKind[];
    /** The last thing seen, for people ("sent casper/vmlinuz over HTTP"). */
    detail: string;
    /** Bytes of the medium sent to it over NFS (acknowledged by it), over all its connections so far. */
    nfsBytes: number;
    /** What the user named it ("": unnamed), and whether it is in the list of allowed or ignored computers (the share fills these in). */
    name: string;
    access: ComputerAccess;
    /** The maker of its network card, from the IEEE's list ("": unknown). */
    vendor: string;
}

/** A running computer whose NFS reads stayed below UP_QUIET_BYTES for this long has started its system (s). */
export const UP_QUIET_S = 30;
/** See UP_QUIET_S: what a started live system may still read in that time (bytes). */
export const UP_QUIET_BYTES = 512 * 1024;
/** What a live system reads at the least to start (bytes): Debian 12's console live system reads 44 MiB to `login:`. */
export const UP_MIN_BYTES = 16 * 1024 * 1024;

export type TrackerEvent =
    /**
     * `unserved`: the name of the platform it announced when we serve nothing to it. `ignored`: our DHCP server
     * did not answer it (only allowed computers may start, and it is not one).
     */
    | { type: 'dhcp'; mac: string; ip: string | null; arch: Arch | null; what: string; unserved?: string; ignored?: boolean }
    | { type: 'file'; ip: string; path: string; via: 'tftp' | 'http'; ok: boolean }
    /** The NFS clients connected now; `bytes`: what their connections carried so far (by client address). */
    | { type: 'nfs'; peers: string[]; bytes?: Record<string, number> }
    | { type: 'neighbours'; pairs: [ip: string, mac: string][] };

export interface TrackerChange {
    client: Client;
    /** The stage before, or null for a new client. */
    from: Stage | null;
    /** What changed: a new client, its stage, or a new kind of file fetched (kernel, initrd…). */
    reason: 'new' | 'stage' | 'fetched';
}

/** Decides what a fetched path is. Kernel and initrd paths come from the plan (prefixed like the tree). */
export function fileClassifier(kernels: string[], initrds: string[]): (path: string) => FileKind {
    const k = new Set(kernels);
    const i = new Set(initrds);
    return (path: string): FileKind => {
        const p = path.replace(/^\/+/, '');
        if (k.has(p))
            return 'kernel';
        if (i.has(p))
            return 'initrd';
        if (/^(pxelinux\.cfg\/|grub\/|ipxe\/)/.test(p))
            return 'menu';
        if (/^[^/]+\.(0|efi|c32)$/i.test(p))
            return 'bootloader';
        return 'other';
    };
}

/** The most computers the tracker remembers (a library's room of thin clients is far below it). */
export const MAX_CLIENTS = 256;

export class ClientTracker {
    private readonly clients = new Map<string, Client>();
    private readonly byIp = new Map<string, string>();
    private nfsPeers = new Set<string>();
    /** What each peer's connections had carried at the last look (a smaller number is a new connection). */
    private connBytes = new Map<string, number>();
    /** Per running computer: when its root was mounted, the start of its current quiet time, and its NFS bytes then. */
    private quiet = new WeakMap<Client, { mounted: number; since: number; bytes: number }>();
    /** Bumped on every change of any client (for publishing the list). */
    version = 0;

    /**
     * @param maxClients the most computers remembered: a LAN client sending DISCOVERs with made-up MACs must not
     *   grow the list (and what is published of it) without bound. A new one beyond it takes the place of the
     *   one gone longest, else of the longest silent one that only asked, else of the longest silent one.
     */
    constructor(private readonly classify: (path: string) => FileKind, private readonly goneAfter = 120, private readonly maxClients = MAX_CLIENTS) {}

    /** The clients, oldest first, as copies: the tracker updates its own objects in place. */
    list(): Client[] {
        return [...this.clients.values()].sort((a, b) => a.firstSeen - b.firstSeen || a.id.localeCompare(b.id))
            .map(c => ({ ...c, fetched: [...c.fetched] }));
    }

    /** Clients booting or running from us. */
    active(): Client[] {
        return this.list().filter(isActive);
    }

    /** How many clients boot or run from us (without copying the list: asked on every event). */
    activeCount(): number {
        let n = 0;
        for (const c of this.clients.values())
            n += isActive(c) ? 1 : 0;
        return n;
    }

    /** Does `pred` hold for some client (the tracker's own objects, not to be kept)? */
    some(pred: (c: Readonly<Client>) => boolean): boolean {
        for (const c of this.clients.values()) {
            if (pred(c))
                return true;
        }
        return false;
    }

    /** Applies an event at time `now`; returns the clients whose stage changed (or that are new). */
    apply(event: TrackerEvent, now: number): TrackerChange[] {
        const changes: TrackerChange[] = [];
        /** Moves a client forward (never back, except out of gone) and reports one change at most. */
        const touch = (client: Client, isNew: boolean, stage: Stage | null, detail: string, fetchedNew = false): void => {
            this.version++;
            const before = client.stage;
            client.lastSeen = now;
            client.detail = detail;
            if (stage !== null && rank(stage) > rank(client.stage === 'gone' ? 'discovered' : client.stage))
                client.stage = stage;
            else if (client.stage === 'gone')
                client.stage = stage ?? 'discovered';
            if (isNew)
                changes.push({ client, from: null, reason: 'new' });
            else if (before !== client.stage)
                changes.push({ client, from: before, reason: 'stage' });
            else if (fetchedNew)
                changes.push({ client, from: before, reason: 'fetched' });
        };
        switch (event.type) {
        case 'dhcp': {
            const { client, isNew } = this.findOrAdd(event.mac, event.ip, now);
            if (event.arch && event.arch !== 'unknown')
                client.arch = event.arch;
            if (event.unserved !== undefined)
                touch(client, isNew, 'cannot-boot', `cannot start this CD (${event.unserved})`);
            else if (event.ignored === true && !isRunningStage(client.stage)) {
                // Not answered: waiting, whatever it did before (a running system keeps running).
                const before = isNew ? null : client.stage;
                client.stage = 'waiting';
                touch(client, isNew, null, 'waits to be allowed to start from this computer');
                if (before !== null && before !== 'waiting')
                    changes.push({ client, from: before, reason: 'stage' });
            } else if (client.stage === 'waiting') {
                // Allowed since: answered now.
                client.stage = 'discovered';
                touch(client, false, null, event.what);
                changes.push({ client, from: 'waiting', reason: 'stage' });
            } else
                touch(client, isNew, 'discovered', event.what);
            break;
        }
        case 'file': {
            const { client, isNew } = this.findOrAdd(null, event.ip, now);
            const kind = this.classify(event.path);
            const fetchedNew = event.ok && !client.fetched.includes(kind);
            if (fetchedNew)
                client.fetched.push(kind);
            const verb = event.ok ? 'sent' : 'failed to send';
            touch(client, isNew, event.ok ? 'loading' : null, `${verb} ${event.path} over ${event.via.toUpperCase()}`, fetchedNew);
            break;
        }
        case 'nfs': {
            const peers = new Set(event.peers);
            for (const ip of peers) {
                if (this.nfsPeers.has(ip)) {
                    const id = this.byIp.get(ip);
                    const c = id ? this.clients.get(id) : undefined;
                    if (c) {
                        c.lastSeen = now;
                        this.version++;
                    }
                    continue;
                }
                const { client, isNew } = this.findOrAdd(null, ip, now);
                touch(client, isNew, 'running', 'mounted the live system over NFS');
            }
            // A connection that just closed was there until now: silence counts from here.
            for (const ip of this.nfsPeers) {
                const id = peers.has(ip) ? undefined : this.byIp.get(ip);
                const c = id ? this.clients.get(id) : undefined;
                if (c)
                    c.lastSeen = now;
            }
            this.nfsPeers = peers;
            if (event.bytes !== undefined)
                this.countNfsBytes(event.bytes, now, touch);
            break;
        }
        case 'neighbours':
            for (const [ip, mac] of event.pairs)
                this.merge(ip, mac.toLowerCase());
            break;
        }
        return changes;
    }

    /** Adds what each peer's connections carried since the last look; a running computer that went quiet is up. */
    private countNfsBytes(bytes: Record<string, number>, now: number, touch: (c: Client, isNew: boolean, stage: Stage | null, detail: string) => void): void {
        for (const ip of [...this.connBytes.keys()]) {
            if (!(ip in bytes))
                this.connBytes.delete(ip);
        }
        for (const [ip, total] of Object.entries(bytes)) {
            const id = this.byIp.get(ip);
            const c = id ? this.clients.get(id) : undefined;
            const before = this.connBytes.get(ip) ?? 0;
            this.connBytes.set(ip, total);
            if (!c)
                continue;
            // Fewer bytes than at the last look: its connections are new ones (a reconnect), counted from zero.
            const added = total >= before ? total - before : total;
            if (added > 0) {
                c.nfsBytes += added;
                this.version++;
            }
        }
        for (const c of this.clients.values()) {
            if (c.stage !== 'running') {
                this.quiet.delete(c);
                continue;
            }
            const q = this.quiet.get(c);
            if (q === undefined || c.nfsBytes - q.bytes >= UP_QUIET_BYTES || c.nfsBytes < UP_MIN_BYTES)
                this.quiet.set(c, { mounted: q?.mounted ?? now, since: now, bytes: c.nfsBytes });
            else if (now - q.since >= Math.max(UP_QUIET_S, q.since - q.mounted)) {
                this.quiet.delete(c);
                touch(c, false, 'up', `its system has started (${formatMiB(c.nfsBytes)} read over NFS)`);
            }
        }
    }

    /** Marks silent clients gone. */
    tick(now: number): TrackerChange[] {
        const changes: TrackerChange[] = [];
        for (const client of this.clients.values()) {
            const connected = client.ip !== null && this.nfsPeers.has(client.ip);
            if (client.stage !== 'gone' && !connected && now - client.lastSeen >= this.goneAfter) {
                this.version++;
                changes.push({ client, from: client.stage, reason: 'stage' });
                client.stage = 'gone';
                client.detail = 'no longer seen';
            }
        }
        return changes;
    }

    private findOrAdd(mac: string | null, ip: string | null, now: number): { client: Client; isNew: boolean } {
        const macKey = mac?.toLowerCase() ?? null;
        let client = macKey ? this.clients.get(macKey) : undefined;
        if (!client && ip) {
            const id = this.byIp.get(ip);
            client = id ? this.clients.get(id) : undefined;
            if (client && macKey && client.mac === null) {
                // The IP-only record learns its MAC: re-key it.
                this.clients.delete(client.id);
                client.id = macKey;
                client.mac = macKey;
                this.clients.set(macKey, client);
            }
        }
        let isNew = false;
        if (!client) {
            while (this.clients.size >= Math.max(1, this.maxClients))
                this.evict();
            const id = macKey ?? `ip:${ip}`;
            client = { id, mac: macKey, ip, arch: 'unknown', stage: 'discovered', firstSeen: now, lastSeen: now, fetched: [], detail: '', nfsBytes: 0, name: '', access: '', vendor: '' };
            this.clients.set(id, client);
            isNew = true;
        }
        if (ip && client.ip !== ip) {
            if (client.ip && this.byIp.get(client.ip) === client.id)
                this.byIp.delete(client.ip);
            client.ip = ip;
        }
        if (client.ip)
            this.byIp.set(client.ip, client.id);
        return { client, isNew };
    }

    /** Forgets one computer to make room: the one gone longest, else the longest silent that only asked, else the longest silent. */
    private evict(): void {
        let victim: Client | null = null;
        const weight = (c: Client): number => c.stage === 'gone' ? 0 : c.stage === 'discovered' || c.stage === 'waiting' || c.stage === 'cannot-boot' ? 1 : 2;
        for (const c of this.clients.values()) {
            if (victim === null || weight(c) < weight(victim) || weight(c) === weight(victim) && c.lastSeen < victim.lastSeen)
                victim = c;
        }
        if (victim === null)
            return;
        this.clients.delete(victim.id);
        if (victim.ip !== null && this.byIp.get(victim.ip) === victim.id)
            this.byIp.delete(victim.ip);
        this.evicted++;
        this.version++;
    }

    /** Computers forgotten to keep the list bounded (for the log and the benchmark). */
    evicted = 0;

    /** Joins an IP-only record and a MAC record that the neighbour table shows are the same computer. */
    private merge(ip: string, mac: string): void {
        const ipId = this.byIp.get(ip);
        const ipClient = ipId ? this.clients.get(ipId) : undefined;
        const macClient = this.clients.get(mac);
        if (ipClient && ipClient.mac === null || macClient && macClient.ip === null)
            this.version++;
        if (ipClient && ipClient.mac === null) {
            this.clients.delete(ipClient.id);
            if (macClient) {
                macClient.firstSeen = Math.min(macClient.firstSeen, ipClient.firstSeen);
                macClient.lastSeen = Math.max(macClient.lastSeen, ipClient.lastSeen);
                if (rank(ipClient.stage) > rank(macClient.stage))
                    macClient.stage = ipClient.stage;
                for (const f of ipClient.fetched)
                    if (!macClient.fetched.includes(f))
                        macClient.fetched.push(f);
                macClient.nfsBytes += ipClient.nfsBytes;
                macClient.ip = ip;
                this.byIp.set(ip, mac);
            } else {
                ipClient.id = mac;
                ipClient.mac = mac;
                this.clients.set(mac, ipClient);
                this.byIp.set(ip, mac);
            }
        } else if (macClient && macClient.ip === null) {
            macClient.ip = ip;
            this.byIp.set(ip, mac);
        }
    }
}

function rank(stage: Stage): number {
    // A computer we cannot serve has gone further than one that only asked (and no further: it gets nothing).
    return { gone: 0, discovered: 1, waiting: 1, 'cannot-boot': 1.5, loading: 2, running: 3, up: 4 }[stage];
}

function isRunningStage(stage: Stage): boolean {
    return stage === 'running' || stage === 'up';
}

function formatMiB(bytes: number): string {
    return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Reads dnsmasq's log lines into tracker events, remembering the PXE arch announced per transaction. */
export class DnsmasqLogReader {
    private readonly archByXid = new Map<string, number>();

    /**
     * @param tftpRoot the TFTP root, stripped from logged paths.
     * @param served the DHCP option 93 codes we serve (others are reported as computers that cannot boot).
     */
    constructor(private readonly tftpRoot: string, private readonly served: readonly number[]) {}

    read(line: string): TrackerEvent | null {
        const vendor = /dnsmasq-dhcp\[\d+\]: (\d+) vendor class: PXEClient:Arch:(\d{5})/.exec(line);
        if (vendor) {
            const code = Number(vendor[2]);
            this.archByXid.set(vendor[1], code);
            if (this.archByXid.size > 1000)
                this.archByXid.delete(this.archByXid.keys().next().value as string);
            return null;
        }
        const dhcp = /dnsmasq-dhcp\[\d+\]: (\d+) (DHCPDISCOVER|DHCPREQUEST|DHCPACK|DHCPOFFER|DHCPINFORM|PXE)\((\S+)\) (?:((?:\d{1,3}\.){3}\d{1,3}) )?([0-9a-f]{2}(?::[0-9a-f]{2}){5})(?: (.*))?$/i.exec(line.trimEnd());
        if (dhcp) {
            const [, xid, what, , ip, mac, rest] = dhcp;
            const code = this.archByXid.get(xid);
            const arch: Arch | null = code === undefined ? null : platformOfArch(code)?.clientArch ?? 'unknown';
            const unserved = code !== undefined && !this.served.includes(code) ? { unserved: archLabel(code) } : {};
            const text = what === 'PXE' ? (rest === 'proxy' ? 'asked for network boot (proxy-DHCP)' : rest === 'proxy-ignored' ? 'asked for network boot (proxy-DHCP), not answered'
                : `asked the boot server for ${rest ?? 'a boot file'}`)
                : `${what.replace('DHCP', 'DHCP ')}${ip ? ` ${ip}` : ''}`;
            // Not answered on purpose (dhcp-ignore): a platform we do not serve, else a computer not allowed.
            const ignored = rest === 'ignored' || rest === 'proxy-ignored' ? { ignored: true } : {};
            // In proxy mode the address is the router's business: an ACK/OFFER from us names it in full mode only.
            return { type: 'dhcp', mac: mac.toLowerCase(), ip: ip && what !== 'DHCPREQUEST' ? ip : null, arch, what: text, ...unserved, ...ignored };
        }
        const sent = /dnsmasq-tftp\[\d+\]: (sent|failed sending) (\S+) to ((?:\d{1,3}\.){3}\d{1,3})/.exec(line);
        if (sent) {
            const prefix = this.tftpRoot.endsWith('/') ? this.tftpRoot : `${this.tftpRoot}/`;
            const path = sent[2].startsWith(prefix) ? sent[2].slice(prefix.length) : sent[2];
            return { type: 'file', ip: sent[3], path, via: 'tftp', ok: sent[1] === 'sent' };
        }
        return null;
    }
}
