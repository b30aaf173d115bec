// The machine's network as the engine sees it (effects): interfaces, routes, neighbours, and adding/removing
// the direct-cable address. Parsing is in interfaces.ts (pure).
import GLib from 'gi://GLib';

import { run } from '../services/supervisor.ts';
import { type NetInterface, leaseNamesAddress, parseInterfaces, parseProcArp } from './interfaces.ts';
import { listDir, readTextFile } from '../../shared/fsutil.ts';
import { type Cidr, parseCidr } from './ipv4.ts';

export const IP = '/usr/sbin/ip';

function ipJson(args: string[]): string {
    const r = run([IP, '-j', ...args]);
    if (r.status !== 0)
        throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout.trim() || '[]';
}

/** Wireless interfaces (by their sysfs entries). GLib.Dir has no usable constructor in gjs, so Gio lists. */
function wirelessNames(): Set<string> {
    return new Set(listDir('/sys/class/net').filter(name =>
        GLib.file_test(`/sys/class/net/${name}/wireless`, GLib.FileTest.EXISTS) || GLib.file_test(`/sys/class/net/${name}/phy80211`, GLib.FileTest.EXISTS)));
}

export function listInterfaces(): NetInterface[] {
    return parseInterfaces(ipJson(['-d', 'addr', 'show']), ipJson(['route', 'show']), wirelessNames());
}

/** Every IPv4 network this machine routes or has an address in (to keep a direct-cable subnet clear of). */
export function takenNetworks(): Cidr[] {
    const out: Cidr[] = [];
    for (const r of JSON.parse(ipJson(['route', 'show', 'table', 'all'])) as { dst?: string; type?: string }[]) {
        const c = r.dst && r.dst !== 'default' ? parseCidr(r.dst) : null;
        if (c && r.type !== 'local' && r.type !== 'broadcast')
            out.push(c);
    }
    for (const i of listInterfaces())
        out.push(...i.ipv4);
    return out;
}

/** Addresses seen on the interface's link (neighbour table), as [ip, mac]. */
export function neighbours(iface: string): [string, string][] {
    return parseProcArp(readTextFile('/proc/net/arp') ?? '', iface);
}

export function addAddress(iface: string, c: Cidr): void {
    const r = run([IP, 'addr', 'add', `${c.address}/${c.prefix}`, 'dev', iface]);
    if (r.status !== 0)
        throw new Error(`ip addr add ${c.address}/${c.prefix} dev ${iface}: ${r.stderr.trim()}`);
}

/** Takes an address off an interface; false when it was not there (or the interface is gone). */
export function removeAddress(iface: string, c: Cidr): boolean {
    return run([IP, 'addr', 'del', `${c.address}/${c.prefix}`, 'dev', iface]).status === 0;
}

/** Where DHCP clients keep their leases: ISC dhclient (Debian's ifupdown), systemd-networkd. */
const DHCLIENT_LEASE_DIRS = ['/var/lib/dhcp', '/var/lib/dhclient'];
const NETWORKD_LEASE_DIR = '/run/systemd/netif/leases';

/**
 * Was `address` on `iface` leased from a DHCP server? Its lifetime in `ip addr` (`dynamic`: NetworkManager,
 * networkd, dhcpcd), else a live lease of a DHCP client that sets no lifetime (dhclient) or of networkd.
 */
export function isLeased(iface: NetInterface, address: string): boolean {
    if (iface.leased.includes(address))
        return true;
    const now = Date.now() / 1000;
    for (const dir of DHCLIENT_LEASE_DIRS) {
        for (const name of listDir(dir).filter(n => /\.leases?$/.test(n))) {
            if (leaseNamesAddress('dhclient', readTextFile(`${dir}/${name}`) ?? '', iface.name, address, now))
                return true;
        }
    }
    const index = (readTextFile(`/sys/class/net/${iface.name}/ifindex`) ?? '').trim();
    return index !== '' && leaseNamesAddress('networkd', readTextFile(`${NETWORKD_LEASE_DIR}/${index}`) ?? '', iface.name, address, now);
}
