// Network interfaces (pure): parse `ip -j -d addr` / `ip -j route` output, list the interfaces other computers
// could boot through, choose the default one, and check a user's choice.
import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import { type Cidr, parseIpv4 } from './ipv4.ts';

export type InterfaceKind = 'wired' | 'wireless' | 'loopback' | 'virtual';

export interface NetInterface {
    name: string;
    mac: string | null;
    kind: InterfaceKind;
    /** Administratively up and with carrier. */
    up: boolean;
    /** Enslaved to a bridge/bond (served through its master, never directly). */
    master: string | null;
    ipv4: Cidr[];
    /** Its IPv4 addresses that have a lifetime (`dynamic` in `ip addr`): leased from a DHCP server. */
    leased: string[];
    hasDefaultRoute: boolean;
}

/** The subset of `ip -j -d addr show` we read. */
interface IpAddrJson {
    ifname: string;
    flags?: string[];
    operstate?: string;
    link_type?: string;
    address?: string;
    master?: string;
    linkinfo?: { info_kind?: string; info_slave_kind?: string };
    addr_info?: { family?: string; local?: string; prefixlen?: number; dynamic?: boolean }[];
}

interface IpRouteJson {
    dst?: string;
    dev?: string;
}

/** Kinds of virtual link that are never the LAN a user means (containers, VMs, VPNs, our own lab helpers). */
const VIRTUAL_KINDS = new Set(['veth', 'tun', 'tap', 'wireguard', 'vxlan', 'dummy', 'ipip', 'gre', 'sit', 'vcan', 'ifb']);
const VIRTUAL_NAMES = /^(docker\d|virbr\d|lxcbr\d|lxdbr\d|br-[0-9a-f]{12}|veth|tap|tun|wg\d|zt|tailscale|vnet)/;

export function parseInterfaces(addrJson: string, routeJson: string, wireless: ReadonlySet<string>): NetInterface[] {
    const links = JSON.parse(addrJson) as IpAddrJson[];
    const routes = JSON.parse(routeJson) as IpRouteJson[];
    const defaultDevs = new Set(routes.filter(r => r.dst === 'default' || r.dst === '0.0.0.0/0').map(r => r.dev));
    return links.map(link => {
        const flags = link.flags ?? [];
        const kindInfo = link.linkinfo?.info_kind ?? '';
        let kind: InterfaceKind = 'wired';
        if (link.link_type === 'loopback' || flags.includes('LOOPBACK'))
            kind = 'loopback';
        else if (wireless.has(link.ifname))
            kind = 'wireless';
        else if (VIRTUAL_KINDS.has(kindInfo) || VIRTUAL_NAMES.test(link.ifname) || (link.link_type !== undefined && link.link_type !== 'ether'))
            kind = 'virtual';
        const ipv4: Cidr[] = [];
        const leased: string[] = [];
        for (const a of link.addr_info ?? []) {
            if (a.family === 'inet' && a.local && a.prefixlen !== undefined && parseIpv4(a.local) !== null) {
                ipv4.push({ address: a.local, prefix: a.prefixlen });
                if (a.dynamic === true)
                    leased.push(a.local);
            }
        }
        return {
            name: link.ifname,
            mac: link.address && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(link.address) ? link.address.toLowerCase() : null,
            kind,
            up: flags.includes('UP') && flags.includes('LOWER_UP'),
            master: link.master ?? null,
            ipv4,
            leased,
            hasDefaultRoute: defaultDevs.has(link.ifname),
        };
    });
}

/** Interfaces a user may share through: not loopback, not virtual, not enslaved, up. */
export function usableInterfaces(all: NetInterface[]): NetInterface[] {
    return all.filter(i => i.kind !== 'loopback' && i.kind !== 'virtual' && i.master === null && i.up);
}

/**
 * The interface to share through: the one asked for (checked), else the wired one that carries the default
 * route, else the only wired one that is up. Throws NoUsableInterface with a sentence saying what to do.
 */
export function chooseInterface(all: NetInterface[], requested: string | null): NetInterface {
    if (requested !== null) {
        const found = all.find(i => i.name === requested);
        const names = usableInterfaces(all).map(i => i.name).join(', ') || _("none");
        if (!found)
            throw new ShareError('NoUsableInterface', format(_("There is no network interface called “{name}”. Usable interfaces: {names}."), { name: requested, names }));
        if (found.kind === 'loopback')
            throw new ShareError('NoUsableInterface', format(_("“{name}” is the loopback interface: other computers cannot reach it. Choose the interface of your network cable (usable: {names})."), { name: requested, names }));
        if (found.master !== null)
            throw new ShareError('NoUsableInterface', format(_("“{name}” is part of “{master}”: share through “{master}” instead."), { name: requested, master: found.master }));
        if (!found.up)
            throw new ShareError('NoUsableInterface', format(_("“{name}” is down (not connected or switched off). Plug in the network cable or switch the interface on, then try again."), { name: requested }));
        return found;
    }
    const usable = usableInterfaces(all);
    const wired = usable.filter(i => i.kind === 'wired');
    const withRoute = wired.find(i => i.hasDefaultRoute);
    if (withRoute)
        return withRoute;
    if (wired.length === 1)
        return wired[0];
    if (wired.length > 1)
        throw new ShareError('NoUsableInterface', format(_("Several wired interfaces are connected ({names}): choose the one the other computers are on."), { names: wired.map(i => i.name).join(', ') }));
    throw new ShareError('NoUsableInterface', _("No wired network interface is connected. Connect this computer to the other computers with a network cable (directly or through a switch), then try again."));
}

/**
 * Does a DHCP client's lease file say `address` was leased to interface `ifname` and the lease has not expired
 * at `now` (seconds since the epoch)? Formats: ISC dhclient's (/var/lib/dhcp/dhclient*.leases: `lease { interface
 * "IF"; fixed-address A; expire W YYYY/MM/DD HH:MM:SS; }` blocks, UTC, old leases kept) and systemd-networkd's
 * (/run/systemd/netif/leases/IFINDEX: `ADDRESS=A`, present while the lease is held; `ifname` is not in it).
 */
export function leaseNamesAddress(format: 'dhclient' | 'networkd', text: string, ifname: string, address: string, now: number): boolean {
    if (format === 'networkd')
        return text.split('\n').some(line => line.trim() === `ADDRESS=${address}`);
    for (const block of text.split(/^\s*lease\s*\{/m).slice(1)) {
        const body = block.split('}')[0];
        const iface = /^\s*interface\s+\x22([^\x22]*)\x22\s*;/m.exec(body)?.[1];
        const fixed = /^\s*fixed-address\s+([\d.]+)\s*;/m.exec(body)?.[1];
        if (iface !== ifname || fixed !== address)
            continue;
        const expire = /^\s*expire\s+(?:\d\s+)?(\d{4})\/(\d{1,2})\/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s*;/m.exec(body);
        if (/^\s*expire\s+never\s*;/m.test(body))
            return true;
        if (expire && Date.UTC(+expire[1], +expire[2] - 1, +expire[3], +expire[4], +expire[5], +expire[6]) / 1000 > now)
            return true;
    }
    return false;
}

/**
 * The neighbour table of one interface from `/proc/net/arp` ("IP address  HW type  Flags  HW address  Mask
 * Device"), as [ip, mac]: entries the kernel resolved (flag ATF_COM, 0x2; permanent ones too). Entries being
 * resolved or failed (flags 0x0, an all-zero address) are left out, as `ip neigh` shows them without a lladdr.
 * Read from the file, not by running `ip`: the client tracker looks every second while computers boot.
 */
export function parseProcArp(text: string, ifname: string): [string, string][] {
    const out: [string, string][] = [];
    for (const line of text.split('\n').slice(1)) {
        const [address, , flags, mac, , device] = line.trim().split(/\s+/);
        if (device !== ifname || !/^(\d{1,3}\.){3}\d{1,3}$/.test(address ?? '') || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac ?? ''))
            continue;
        if ((Number(flags) & 0x2) === 0 || /^(00:){5}00$/.test(mac))
            continue;
        out.push([address, mac.toLowerCase()]);
    }
    return out;
}
