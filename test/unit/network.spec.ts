import { MessageType, buildDiscover, givesAddress, macBytes, messageType, optionText, parsePacket, serverId } from '../../src/backend/network/dhcpPacket.ts';
import { chooseInterface, leaseNamesAddress, parseInterfaces, parseProcArp, usableInterfaces } from '../../src/backend/network/interfaces.ts';
import { contains, overlaps, parseCidr, subnetText } from '../../src/backend/network/ipv4.ts';
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { type DhcpAnswer, type ProbeResult, addAnswer, assessRivals, chooseDirectSubnet, chooseRange, decideMode, wentProxyNotices } from '../../src/backend/network/mode.ts';
import { readAnswer } from '../../src/backend/network/probe.ts';
import { UnixInputStream } from '../../src/shared/fsutil.ts';
import { thrownShareError as thrown } from '../support/helpers.ts';

describe('DHCP packets', () => {
    it('builds a PXE DISCOVER with arch, vendor class and broadcast flag that parses back', () => {
        const bytes = buildDiscover({ mac: '52:54:00:12:34:56', xid: 0xdeadbeef, arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016' });
        const p = parsePacket(bytes);
        expect(p).not.toBeNull();
        const packet = p as NonNullable<typeof p>;
        expect(packet.op).toBe(1);
        expect(packet.xid).toBe(0xdeadbeef);
        expect(packet.flags).toBe(0x8000);
        expect(packet.mac).toBe('52:54:00:12:34:56');
        expect(messageType(packet)).toBe(MessageType.DISCOVER);
        expect(optionText(packet, 60)).toBe('PXEClient:Arch:00007:UNDI:003016');
        expect(Array.from(packet.options.get(93) ?? [])).toEqual([0, 7]);
    });

    it('builds an INFORM from our address without the broadcast flag', () => {
        const p = parsePacket(buildDiscover({ mac: '52:54:00:12:34:56', xid: 1, messageType: MessageType.INFORM, ciaddr: '10.77.0.1', broadcast: false }));
        expect(p?.ciaddr).toBe('10.77.0.1');
        expect(p?.flags).toBe(0);
        expect(p && messageType(p)).toBe(MessageType.INFORM);
    });

    it('reads an offer: address, server identifier, proxy (no address) or not', () => {
        const offer = buildDiscover({ mac: '52:54:00:12:34:56', xid: 7, messageType: MessageType.OFFER, extra: [[54, Uint8Array.from([10, 77, 0, 254])]] });
        offer[0] = 2;
        offer.set([10, 77, 0, 60], 16);
        const p = parsePacket(offer) as NonNullable<ReturnType<typeof parsePacket>>;
        expect(p.yiaddr).toBe('10.77.0.60');
        expect(serverId(p)).toBe('10.77.0.254');
        expect(givesAddress(p)).toBeTrue();
        offer.set([0, 0, 0, 0], 16);
        expect(givesAddress(parsePacket(offer) as NonNullable<ReturnType<typeof parsePacket>>)).toBeFalse();
    });

    it('rejects what is not a DHCP packet, and truncated options', () => {
        expect(parsePacket(new Uint8Array(100))).toBeNull();
        expect(parsePacket(new Uint8Array(300))).toBeNull(); // no magic cookie
        const cut = buildDiscover({ mac: '52:54:00:12:34:56', xid: 1 }).slice(0, 245);
        expect(parsePacket(cut)?.options.get(53)?.[0]).toBe(1);
        expect(() => macBytes('52:54:00')).toThrow();
    });
});

const ADDR = JSON.stringify([
    { ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback', address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifname: 'enp3s0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], link_type: 'ether', address: '3C:97:0E:11:22:33', addr_info: [{ family: 'inet', local: '192.168.1.20', prefixlen: 24, dynamic: true }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] },
    { ifname: 'enp4s0', flags: ['NO-CARRIER', 'BROADCAST', 'UP'], link_type: 'ether', address: '3c:97:0e:11:22:34', addr_info: [] },
    { ifname: 'wlp2s0', flags: ['BROADCAST', 'UP', 'LOWER_UP'], link_type: 'ether', address: 'a0:88:b4:00:00:01', addr_info: [{ family: 'inet', local: '192.168.1.21', prefixlen: 24 }] },
    { ifname: 'docker0', flags: ['UP', 'LOWER_UP'], link_type: 'ether', address: '02:42:00:00:00:01', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] },
    { ifname: 'veth12ab', flags: ['UP', 'LOWER_UP'], link_type: 'ether', address: '02:42:00:00:00:02', master: 'docker0', linkinfo: { info_kind: 'veth' } },
    { ifname: 'br0', flags: ['UP', 'LOWER_UP'], link_type: 'ether', address: '12:34:56:78:9a:bc', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '10.77.0.1', prefixlen: 24 }] },
    { ifname: 'tap0', flags: ['UP', 'LOWER_UP'], link_type: 'ether', address: '12:34:56:78:9a:bd', master: 'br0', linkinfo: { info_kind: 'tun' } },
    { ifname: 'wg0', flags: ['UP', 'LOWER_UP'], link_type: 'none', linkinfo: { info_kind: 'wireguard' }, addr_info: [{ family: 'inet', local: '10.9.0.2', prefixlen: 24 }] },
]);
const ROUTES = JSON.stringify([{ dst: 'default', gateway: '192.168.1.1', dev: 'enp3s0' }, { dst: '192.168.1.0/24', dev: 'enp3s0' }]);

describe('network interfaces', () => {
    const all = parseInterfaces(ADDR, ROUTES, new Set(['wlp2s0']));

    it('reads kinds, state, addresses, masters and the default route from `ip -j`', () => {
        const by = (n: string) => all.find(i => i.name === n);
        expect(by('lo')?.kind).toBe('loopback');
        expect(by('enp3s0')).toEqual({ name: 'enp3s0', mac: '3c:97:0e:11:22:33', kind: 'wired', up: true, master: null,
            ipv4: [{ address: '192.168.1.20', prefix: 24 }], leased: ['192.168.1.20'], hasDefaultRoute: true });
        expect(by('br0')?.leased).toEqual([]);
        expect(by('enp4s0')?.up).toBeFalse();
        expect(by('wlp2s0')?.kind).toBe('wireless');
        expect(by('docker0')?.kind).toBe('virtual');
        expect(by('veth12ab')?.master).toBe('docker0');
        expect(by('br0')?.kind).toBe('wired');
        expect(by('wg0')?.kind).toBe('virtual');
    });

    it('offers wired, wireless and bridges that are up and not enslaved', () => {
        expect(usableInterfaces(all).map(i => i.name)).toEqual(['enp3s0', 'wlp2s0', 'br0']);
    });

    it('defaults to the wired interface with the default route', () => {
        expect(chooseInterface(all, null).name).toBe('enp3s0');
    });

    it('defaults to the only wired interface that is up when none has the default route', () => {
        const lab = parseInterfaces(ADDR, '[]', new Set(['wlp2s0'])).filter(i => i.name !== 'enp3s0');
        expect(chooseInterface(lab, null).name).toBe('br0');
    });

    it('asks the user to choose among several wired interfaces, and says when none is connected', () => {
        const none = parseInterfaces(ADDR, '[]', new Set()).filter(i => !['enp3s0', 'br0', 'wlp2s0'].includes(i.name));
        expect(thrown(() => chooseInterface(none, null)).message).toContain('No wired network interface is connected.');
        const two = parseInterfaces(ADDR, '[]', new Set(['wlp2s0']));
        expect(thrown(() => chooseInterface(two, null)).message).toContain('Several wired interfaces are connected (enp3s0, br0)');
    });

    it('checks a requested interface: unknown, loopback, enslaved, down', () => {
        expect(chooseInterface(all, 'br0').name).toBe('br0');
        expect(thrown(() => chooseInterface(all, 'eth7')).message).toBe('There is no network interface called “eth7”. Usable interfaces: enp3s0, wlp2s0, br0.');
        expect(thrown(() => chooseInterface(all, 'lo')).code).toBe('NoUsableInterface');
        expect(thrown(() => chooseInterface(all, 'tap0')).message).toBe('“tap0” is part of “br0”: share through “br0” instead.');
        expect(thrown(() => chooseInterface(all, 'enp4s0')).message).toContain('“enp4s0” is down');
    });
});

describe('IPv4 arithmetic', () => {
    it('knows subnets, containment and overlaps', () => {
        expect(subnetText({ address: '192.168.1.20', prefix: 24 })).toBe('192.168.1.0/24');
        expect(subnetText({ address: '10.1.2.3', prefix: 12 })).toBe('10.0.0.0/12');
        expect(contains({ address: '10.77.0.1', prefix: 24 }, '10.77.0.200')).toBeTrue();
        expect(contains({ address: '10.77.0.1', prefix: 24 }, '10.77.1.1')).toBeFalse();
        expect(overlaps({ address: '192.168.0.0', prefix: 16 }, { address: '192.168.77.0', prefix: 24 })).toBeTrue();
        expect(overlaps({ address: '192.168.76.0', prefix: 24 }, { address: '192.168.77.0', prefix: 24 })).toBeFalse();
        expect(parseCidr('10.0.0.0/33')).toBeNull();
        expect(parseCidr('10.0.0.1')).toEqual({ address: '10.0.0.1', prefix: 32 });
    });
});

describe('network mode decision', () => {
    const none = { servers: [], pxeServers: [], error: null };
    const router = { servers: [{ server: '192.168.1.1', offered: '192.168.1.57' }], pxeServers: [], error: null };

    it('auto: proxy-DHCP next to a DHCP server, full DHCP on an empty LAN', () => {
        expect(decideMode('auto', router, false).mode).toBe('proxy');
        expect(decideMode('auto', none, false).mode).toBe('dhcp');
        // Silent, but the address was leased on this LAN: its DHCP server exists (spanning tree, snooping).
        expect(decideMode('auto', none, false, '192.168.1.20')).toEqual({ mode: 'proxy', notes: [
            'No DHCP server answered, but this computer\'s address 192.168.1.20 was given by one on this network: using proxy-DHCP, so that it goes on handing out the addresses.'] });
        expect(decideMode('auto', router, false, '192.168.1.20').mode).toBe('proxy');
    });

    it('refuses a forced full DHCP next to another DHCP server (it would break the LAN)', () => {
        const e = thrown(() => decideMode('dhcp', router, false));
        expect(e.code).toBe('DhcpConflict');
        expect(e.message).toContain('Another DHCP server (192.168.1.1) already hands out addresses');
    });

    it('allows forcing proxy on an empty LAN, and dhcp on an empty LAN', () => {
        expect(decideMode('proxy', none, false).mode).toBe('proxy');
        expect(decideMode('dhcp', none, false, '192.168.1.20').mode).toBe('dhcp');
        expect(decideMode('dhcp', none, false).mode).toBe('dhcp');
    });

    it('falls back to proxy when the probe could not run, and refuses dhcp then', () => {
        const broken = { servers: [], pxeServers: [], error: 'Address already in use' };
        expect(decideMode('auto', broken, false)).toEqual({ mode: 'proxy', notes: ['Could not check for other DHCP servers (Address already in use): using proxy-DHCP, which never hands out addresses.'] });
        expect(thrown(() => decideMode('dhcp', broken, false)).code).toBe('DhcpConflict');
    });

    it('refuses to share from an address it made up when the LAN has a DHCP server', () => {
        expect(thrown(() => decideMode('auto', router, true)).message).toContain('but the interface has no address of its own');
    });

    it('warns about another network-boot server', () => {
        expect(decideMode('auto', { servers: [], pxeServers: ['10.0.0.9'], error: null }, false).notes[0]).toBe('Another computer (10.0.0.9) also answers network boots; computers may start from either.');
    });
});

describe('other DHCP and network-boot servers while sharing', () => {
    const router: DhcpAnswer = { server: '192.168.1.1', offered: '192.168.1.50', kind: 'dhcp' };
    const ours: DhcpAnswer[] = [{ server: '192.168.1.20', offered: '192.168.1.120', kind: 'dhcp' }, { server: '192.168.1.20', offered: '0.0.0.0', kind: 'dhcp' }];
    const otherShare: DhcpAnswer = { server: '192.168.1.30', offered: '0.0.0.0', kind: 'pxe' };

    it('in full DHCP, any other DHCP server means going proxy; our own answers never do', () => {
        expect(assessRivals('dhcp', '192.168.1.20', ours, new Set())).toEqual({ goProxy: null, newPxeServers: [] });
        expect(assessRivals('dhcp', '192.168.1.20', [...ours, router, router], new Set())).toEqual({ goProxy: ['192.168.1.1'], newPxeServers: [] });
        // An INFORM answered (no address offered) is a DHCP server too.
        expect(assessRivals('dhcp', '192.168.1.20', [{ server: '192.168.1.1', offered: '0.0.0.0', kind: 'dhcp' }], new Set()).goProxy).toEqual(['192.168.1.1']);
        // In proxy mode a DHCP server is what we expect.
        expect(assessRivals('proxy', '192.168.1.20', [router], new Set())).toEqual({ goProxy: null, newPxeServers: [] });
    });

    it('reports each other network-boot server once, in any mode', () => {
        expect(assessRivals('proxy', '192.168.1.20', [otherShare, otherShare, { ...otherShare, server: '192.168.1.20' }], new Set()).newPxeServers).toEqual(['192.168.1.30']);
        expect(assessRivals('dhcp', '192.168.1.20', [otherShare], new Set(['192.168.1.30'])).newPxeServers).toEqual([]);
        expect(assessRivals('dhcp', '192.168.1.20', [otherShare], new Set()).goProxy).toBeNull();
    });

    it('says so in plain words, and when our address was made up for a direct cable', () => {
        expect(wentProxyNotices(['192.168.1.1'], null)).toEqual(['Another DHCP server (192.168.1.1) started handing out addresses on this network: this computer stopped handing out addresses and only adds the boot information now (proxy-DHCP). Computers still start from it.']);
        const assigned = wentProxyNotices(['192.168.1.1'], '192.168.77.1');
        expect(assigned.length).toBe(2);
        expect(assigned[1]).toContain('192.168.77.1 was made up for a direct cable');
    });

    it('collects answers into a probe result, each server and offer once', () => {
        const result: ProbeResult = { servers: [], pxeServers: [], error: null };
        for (const a of [router, router, otherShare, otherShare, { ...router, offered: '192.168.1.51' }])
            addAnswer(result, a);
        expect(result).toEqual({ servers: [{ server: '192.168.1.1', offered: '192.168.1.50' }, { server: '192.168.1.1', offered: '192.168.1.51' }], pxeServers: ['192.168.1.30'], error: null });
    });

    it('reads only answers to our transactions from a socket, dropping the rest unread', () => {
        const rx = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        rx.set_blocking(false);
        rx.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0) as Gio.InetSocketAddress, false);
        const to = rx.get_local_address();
        const tx = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        const input = new Gio.BufferedInputStream({ base_stream: new UnixInputStream({ fd: rx.get_fd(), close_fd: false }), buffer_size: 2048 });
        const reply = (xid: number): Uint8Array => {
            const b = buildDiscover({ mac: '52:54:00:12:34:56', xid, messageType: MessageType.OFFER, extra: [[54, Uint8Array.from([10, 0, 0, 9])]] });
            b[0] = 2;
            b.set([10, 0, 0, 77], 16);
            return b;
        };
        const request = buildDiscover({ mac: '52:54:00:12:34:56', xid: 7 });
        for (const datagram of [reply(5), request, new Uint8Array(3), reply(7), Uint8Array.from({ length: 1400 }, (_v, i) => i & 255)])
            tx.send_to(to, datagram, null);
        GLib.usleep(20000);
        const got: (string | null | undefined)[] = [];
        for (let i = 0; i < 7; i++) {
            const bytes = readAnswer(rx, input, new Set([7]));
            const p = bytes ? parsePacket(bytes) : null;
            got.push(bytes === null || bytes === undefined ? bytes : `${p?.xid} ${p?.yiaddr} ${p && serverId(p)}`);
        }
        // Another transaction's reply, a request, garbage, ours, garbage; then nothing.
        expect(got).toEqual([undefined, undefined, undefined, '7 10.0.0.77 10.0.0.9', undefined, null, null]);
        rx.close();
        tx.close();
    });
});

describe('full-DHCP address range', () => {
    it('takes up to 100 free addresses, high in the subnet, away from the server and addresses in use', () => {
        expect(chooseRange({ address: '10.77.0.1', prefix: 24 }, [])).toEqual({ start: '10.77.0.155', end: '10.77.0.254', netmask: '255.255.255.0' });
        expect(chooseRange({ address: '10.77.0.1', prefix: 24 }, ['10.77.0.254', '10.77.0.200'])).toEqual({ start: '10.77.0.100', end: '10.77.0.199', netmask: '255.255.255.0' });
    });

    it('works in small subnets and refuses tiny or full ones', () => {
        expect(chooseRange({ address: '192.168.5.1', prefix: 29 }, [])).toEqual({ start: '192.168.5.2', end: '192.168.5.6', netmask: '255.255.255.248' });
        expect(thrown(() => chooseRange({ address: '192.168.5.1', prefix: 30 }, [])).message).toContain('too small');
        const all = Array.from({ length: 6 }, (_v, i) => `192.168.5.${i + 1}`);
        expect(thrown(() => chooseRange({ address: '192.168.5.1', prefix: 29 }, all)).message).toContain('Every address of this network is in use');
    });

    it('ignores addresses in use outside the subnet', () => {
        expect(chooseRange({ address: '10.77.0.1', prefix: 24 }, ['10.78.0.200']).end).toBe('10.77.0.254');
    });
});

describe('direct-cable subnet', () => {
    it('takes the first candidate /24 that no route or address of the machine overlaps', () => {
        expect(chooseDirectSubnet([])).toEqual({ address: '192.168.77.1', prefix: 24 });
        expect(chooseDirectSubnet([{ address: '192.168.77.0', prefix: 24 }, { address: '0.0.0.0', prefix: 0 }])).toEqual({ address: '192.168.78.1', prefix: 24 });
        expect(chooseDirectSubnet([{ address: '192.168.0.0', prefix: 16 }])).toEqual({ address: '10.77.100.1', prefix: 24 });
    });

    it('says so when every candidate is taken', () => {
        const taken = [{ address: '192.168.0.0', prefix: 16 }, { address: '10.0.0.0', prefix: 8 }, { address: '172.16.0.0', prefix: 12 }];
        expect(thrown(() => chooseDirectSubnet(taken)).code).toBe('NoUsableInterface');
    });
});

describe('DHCP client leases', () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0) / 1000;
    const dhclient = `lease {
  interface "enp3s0";
  fixed-address 192.168.1.20;
  option subnet-mask 255.255.255.0;
  renew 1 2026/11/30 11:00:00;
  expire 1 2026/11/30 13:00:00;
}
lease {
  interface "enp3s0";
  fixed-address 192.168.1.33;
  expire 5 2026/10/02 08:00:00;
}
lease {
  interface "wlp2s0";
  fixed-address 10.0.0.7;
  expire never;
}
`;

    it('reads dhclient leases: the interface, the address, not expired', () => {
        expect(leaseNamesAddress('dhclient', dhclient, 'enp3s0', '192.168.1.20', now)).toBeTrue();
        expect(leaseNamesAddress('dhclient', dhclient, 'enp3s0', '192.168.1.20', now + 7200)).toBeFalse();
        expect(leaseNamesAddress('dhclient', dhclient, 'enp3s0', '192.168.1.33', now)).toBeFalse(); // an old lease
        expect(leaseNamesAddress('dhclient', dhclient, 'enp4s0', '192.168.1.20', now)).toBeFalse();
        expect(leaseNamesAddress('dhclient', dhclient, 'wlp2s0', '10.0.0.7', now)).toBeTrue();
        expect(leaseNamesAddress('dhclient', '', 'enp3s0', '192.168.1.20', now)).toBeFalse();
    });

    it('reads systemd-networkd leases', () => {
        const networkd = '# This is private data. Do not parse.\nADDRESS=192.168.1.20\nNETMASK=255.255.255.0\nSERVER_ADDRESS=192.168.1.1\n';
        expect(leaseNamesAddress('networkd', networkd, 'enp3s0', '192.168.1.20', now)).toBeTrue();
        expect(leaseNamesAddress('networkd', networkd, 'enp3s0', '192.168.1.2', now)).toBeFalse();
    });
});

describe('the neighbour table (/proc/net/arp)', () => {
    const ARP = 'IP address       HW type     Flags       HW address            Mask     Device\n'
        + '10.77.0.57       0x1         0x2         52:54:00:AA:00:02     *        br0\n'
        + '10.77.0.58       0x1         0x0         00:00:00:00:00:00     *        br0\n'      // being resolved, or failed
        + '10.77.0.59       0x1         0x6         52:54:00:aa:00:03     *        br0\n'      // permanent
        + '192.168.1.1      0x1         0x2         02:fc:00:00:00:05     *        enp3s0\n'
        + '10.77.0.60       0x1         0x2         garbage               *        br0\n'
        + '\n';

    it('lists the resolved neighbours of one interface, MACs in lower case', () => {
        expect(parseProcArp(ARP, 'br0')).toEqual([['10.77.0.57', '52:54:00:aa:00:02'], ['10.77.0.59', '52:54:00:aa:00:03']]);
        expect(parseProcArp(ARP, 'enp3s0')).toEqual([['192.168.1.1', '02:fc:00:00:00:05']]);
        expect(parseProcArp(ARP, 'br1')).toEqual([]);
        expect(parseProcArp('', 'br0')).toEqual([]);
    });
});
