// Network decisions (pure): proxy-DHCP or full DHCP from what the probe saw, the full-DHCP address range,
// and the private subnet for a direct cable.
import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import type { RequestedMode } from '../../shared/options.ts';
import { type Cidr, broadcastOf, contains, formatIpv4, netmaskText, networkOf, overlaps, parseIpv4 } from './ipv4.ts';

export type Mode = 'proxy' | 'dhcp';

export interface ProbeResult {
    /** DHCP servers that answered: server identifier and the address offered (0.0.0.0 for an INFORM answer). */
    servers: { server: string; offered: string }[];
    /** Proxy-DHCP (PXE) servers that answered without an address. */
    pxeServers: string[];
    /** Why the probe could not run, when it could not. */
    error: string | null;
}

/** One answer to one of our probes: a DHCP server (it offered an address or answered an INFORM) or a proxy. */
export interface DhcpAnswer {
    server: string;
    /** The address offered (0.0.0.0: none). */
    offered: string;
    kind: 'dhcp' | 'pxe';
}

/** Adds an answer to a probe's result (each server and offer once). */
export function addAnswer(result: ProbeResult, a: DhcpAnswer): void {
    if (a.kind === 'dhcp') {
        if (!result.servers.some(s => s.server === a.server && s.offered === a.offered))
            result.servers.push({ server: a.server, offered: a.offered });
    } else if (!result.pxeServers.includes(a.server)) {
        result.pxeServers.push(a.server);
    }
}

/** The sentence for another network-boot server on the LAN. */
export function otherPxeNotice(server: string): string {
    return format(_("Another computer ({address}) also answers network boots; computers may start from either."), { address: server });
}

export interface RivalReport {
    /** Full DHCP only: the other DHCP servers now answering (we must stop handing out addresses), else null. */
    goProxy: string[] | null;
    /** Network-boot servers not reported before. */
    newPxeServers: string[];
}

/**
 * What answers to our probes while sharing mean. Our own answers (server `ownAddress`) are not rivals. In full
 * DHCP, any other DHCP server means we stop handing out addresses; in any mode, a network-boot server not
 * `known` yet is reported once.
 */
export function assessRivals(mode: Mode, ownAddress: string, answers: DhcpAnswer[], known: ReadonlySet<string>): RivalReport {
    const others = answers.filter(a => a.server !== ownAddress && a.server !== '0.0.0.0');
    const dhcp = [...new Set(others.filter(a => a.kind === 'dhcp').map(a => a.server))];
    const pxe = [...new Set(others.filter(a => a.kind === 'pxe' && !known.has(a.server)).map(a => a.server))];
    return { goProxy: mode === 'dhcp' && dhcp.length > 0 ? dhcp : null, newPxeServers: pxe };
}

/** What the user is told when another DHCP server appeared and we went on as proxy-DHCP. */
export function wentProxyNotices(servers: string[], addressAssignedByUs: string | null): string[] {
    const notes = [format(_("Another DHCP server ({servers}) started handing out addresses on this network: this computer stopped handing out addresses and only adds the boot information now (proxy-DHCP). Computers still start from it."), { servers: servers.join(', ') })];
    if (addressAssignedByUs !== null)
        notes.push(format(_("This computer’s address {address} was made up for a direct cable: computers that take their address from that server may not reach it. Stop sharing and share again to use that network."), { address: addressAssignedByUs }));
    return notes;
}

export interface ModeDecision {
    mode: Mode;
    /** Sentences for the user (e.g. why this mode). */
    notes: string[];
}

/**
 * auto → proxy-DHCP when another DHCP server answered (a second DHCP server breaks other people's network),
 * full DHCP when none did. A forced `dhcp` next to another server is refused.
 */
/**
 * @param leasedAddress the interface's own address when a DHCP server of this LAN leased it (else null): that
 *   server exists even when it did not answer the probe in time (spanning-tree delay, DHCP snooping).
 */
export function decideMode(requested: RequestedMode, probe: ProbeResult, addressAssignedByUs: boolean, leasedAddress: string | null = null): ModeDecision {
    const servers = [...new Set(probe.servers.map(s => s.server))];
    const notes: string[] = [];
    notes.push(...probe.pxeServers.map(otherPxeNotice));
    if (servers.length > 0 && addressAssignedByUs)
        throw new ShareError('DhcpConflict', format(_("A DHCP server ({servers}) answers on this interface, but the interface has no address of its own. Connect to the network first (let it get an address), then share."), { servers: servers.join(', ') }));
    if (probe.error !== null) {
        if (requested === 'dhcp')
            throw new ShareError('DhcpConflict', format(_("Could not check for other DHCP servers ({error}), so a DHCP server of our own is not started. Use the proxy mode, or try again."), { error: probe.error }));
        notes.push(format(_("Could not check for other DHCP servers ({error}): using proxy-DHCP, which never hands out addresses."), { error: probe.error }));
        return { mode: 'proxy', notes };
    }
    if (requested === 'dhcp' && servers.length > 0)
        throw new ShareError('DhcpConflict', format(_("Another DHCP server ({servers}) already hands out addresses on this network: a second one would break it. Use the automatic or proxy mode."), { servers: servers.join(', ') }));
    if (requested === 'proxy')
        return { mode: 'proxy', notes };
    if (requested === 'dhcp')
        return { mode: 'dhcp', notes };
    if (servers.length > 0) {
        notes.push(format(_("The network has a DHCP server ({servers}): it keeps handing out addresses; this computer only adds the boot information (proxy-DHCP)."), { servers: servers.join(', ') }));
        return { mode: 'proxy', notes };
    }
    if (leasedAddress !== null) {
        notes.push(format(_("No DHCP server answered, but this computer's address {address} was given by one on this network: using proxy-DHCP, so that it goes on handing out the addresses."), { address: leasedAddress }));
        return { mode: 'proxy', notes };
    }
    notes.push(_("No DHCP server answered: this computer hands out addresses itself (full DHCP)."));
    return { mode: 'dhcp', notes };
}

export interface DhcpRange {
    start: string;
    end: string;
    netmask: string;
}

const MAX_RANGE = 100;

/**
 * The address range for full DHCP: the longest run of addresses in the subnet (capped at 100, the upper one
 * preferred) that avoids the server's own address and every address seen in use.
 */
export function chooseRange(server: Cidr, inUse: string[]): DhcpRange {
    if (server.prefix > 29)
        throw new ShareError('NoUsableInterface', format(_("The network {address}/{prefix} is too small to hand out addresses."), { address: server.address, prefix: server.prefix }));
    const first = networkOf(server) + 1;
    const last = broadcastOf(server) - 1;
    const used = new Set([server.address, ...inUse].filter(a => contains(server, a)).map(a => parseIpv4(a) as number));
    let best: [number, number] | null = null;
    let runStart: number | null = null;
    const consider = (a: number, b: number): void => {
        // Cap long runs, keeping their upper end (away from routers, which sit low, e.g. .1).
        const start = Math.max(a, b - MAX_RANGE + 1);
        if (best === null || b - start > best[1] - best[0] || (b - start === best[1] - best[0] && start > best[0]))
            best = [start, b];
    };
    for (let a = first; a <= last + 1; a++) {
        const free = a <= last && !used.has(a);
        if (free && runStart === null)
            runStart = a;
        if (!free && runStart !== null) {
            consider(runStart, a - 1);
            runStart = null;
        }
    }
    if (best === null)
        throw new ShareError('NoUsableInterface', _("Every address of this network is in use: there is none left to hand out."));
    const [s, e] = best as [number, number];
    return { start: formatIpv4(s), end: formatIpv4(e), netmask: netmaskText(server.prefix) };
}

/** Candidate private /24s for a direct cable (not NetworkManager's 10.42.0.0/24, often in use for sharing). */
const DIRECT_CANDIDATES = [
    ...Array.from({ length: 10 }, (_v, i) => `192.168.${77 + i}.0`),
    ...Array.from({ length: 10 }, (_v, i) => `10.77.${100 + i}.0`),
    ...Array.from({ length: 10 }, (_v, i) => `172.30.${77 + i}.0`),
];

/** A private /24 for an interface without an address that collides with no route or address of the machine. */
export function chooseDirectSubnet(taken: Cidr[]): Cidr {
    const relevant = taken.filter(c => c.prefix > 0);
    for (const candidate of DIRECT_CANDIDATES) {
        const net: Cidr = { address: candidate, prefix: 24 };
        if (!relevant.some(t => overlaps(t, net)))
            return { address: formatIpv4(networkOf(net) + 1), prefix: 24 };
    }
    throw new ShareError('NoUsableInterface', _("Could not find a free private network for the direct cable: every candidate is already routed on this computer."));
}
