// The DHCP probe (effects): a DHCPDISCOVER and a DHCPINFORM out of the chosen interface, then every answer
// heard for a short window. It never sends a REQUEST, so no lease is taken. OFFERs come broadcast (we set the
// flag) to port 68; INFORM's ACK comes unicast to our address. INFORM matters: dnsmasq (most home routers)
// delays its OFFER by ~3 s while it pings the address it means to offer, but answers an INFORM at once.
//
// Sockets: one bound to the interface's address sends (Linux sends a limited broadcast out of the device that
// owns the source address), one bound to 0.0.0.0:68 receives the broadcast answers; both with SO_REUSEADDR so
// a DHCP client already running on the machine keeps working.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, MessageType, buildDiscover, givesAddress, messageType, parsePacket, serverId } from './dhcpPacket.ts';
import { UnixInputStream } from '../../shared/fsutil.ts';
import type { ProbeResult } from './mode.ts';
import { after } from '../../shared/timers.ts';

export interface ProbeTarget {
    /** Address of the interface to probe from (it must be configured on that interface). */
    address: string;
    mac: string;
}


/**
 * Reads one waiting datagram, or null when none is waiting. (Gio.Socket.receive_from is not introspectable
 * in gjs 1.74: its buffer is caller-allocated; the socket's fd read through a stream gives one datagram.)
 */
export function receiveDatagram(socket: Gio.Socket, stream: Gio.InputStream): Uint8Array | null {
    if (!(socket.condition_check(GLib.IOCondition.IN) & GLib.IOCondition.IN))
        return null;
    const bytes = stream.read_bytes(65536, null);
    return bytes.toArray();
}

function udpSocket(address: string, port: number): Gio.Socket {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
    socket.set_broadcast(true);
    socket.set_blocking(false);
    socket.bind(Gio.InetSocketAddress.new_from_string(address, port) as Gio.InetSocketAddress, true);
    return socket;
}

/**
 * Sends one DISCOVER and one INFORM, and collects the answers heard within `windowMs` (at most 1 s after the
 * first answer). Never throws: errors go in `error`.
 */
export function probeDhcp(target: ProbeTarget, windowMs = 3000): Promise<ProbeResult> {
    const result: ProbeResult = { servers: [], pxeServers: [], error: null };
    let receiver: Gio.Socket;
    let sender: Gio.Socket;
    try {
        receiver = udpSocket('0.0.0.0', DHCP_CLIENT_PORT);
        sender = udpSocket(target.address, DHCP_CLIENT_PORT);
    } catch (e) {
        result.error = (e as GLib.Error).message ?? String(e);
        return Promise.resolve(result);
    }
    // Broadcast answers reach the 0.0.0.0 socket; INFORM's unicast ACK reaches the socket bound to our address.
    const inputs: [Gio.Socket, Gio.InputStream][] = [receiver, sender].map(sock => [sock, new UnixInputStream({ fd: sock.get_fd(), close_fd: false })]);
    const xid = Math.floor(Math.random() * 0xffffffff) >>> 0;
    try {
        const everyone = Gio.InetSocketAddress.new_from_string('255.255.255.255', DHCP_SERVER_PORT);
        // PXEClient as vendor class: other network-boot (proxy-DHCP) servers answer too, so we can warn.
        // INFORM first: dnsmasq handles one packet at a time, and a DISCOVER keeps it busy while it pings.
        sender.send_to(everyone, buildDiscover({ mac: target.mac, xid, broadcast: false, messageType: MessageType.INFORM, ciaddr: target.address }), null);
        sender.send_to(everyone, buildDiscover({ mac: target.mac, xid, broadcast: true, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }), null);
    } catch (e) {
        result.error = (e as GLib.Error).message ?? String(e);
        receiver.close();
        sender.close();
        return Promise.resolve(result);
    }
    return new Promise(resolve => {
        let deadline = GLib.get_monotonic_time() + windowMs * 1000;
        const look = (): void => {
            for (const [sock, input] of inputs) for (;;) {
                let bytes: Uint8Array | null;
                try {
                    bytes = receiveDatagram(sock, input);
                } catch {
                    bytes = null;
                }
                if (bytes === null)
                    break;
                const packet = parsePacket(bytes);
                const type = packet ? messageType(packet) : null;
                if (!packet || packet.op !== 2 || packet.xid !== xid || (type !== MessageType.OFFER && type !== MessageType.ACK))
                    continue;
                const server = serverId(packet) ?? packet.siaddr;
                if (type === MessageType.ACK || givesAddress(packet)) {
                    if (!result.servers.some(s => s.server === server && s.offered === packet.yiaddr))
                        result.servers.push({ server, offered: packet.yiaddr });
                } else if (!result.pxeServers.includes(server)) {
                    result.pxeServers.push(server);
                }
                deadline = Math.min(deadline, GLib.get_monotonic_time() + 1000 * 1000);
            }
            if (GLib.get_monotonic_time() < deadline) {
                after(25, look);
                return;
            }
            receiver.close();
            sender.close();
            resolve(result);
        };
        after(25, look);
    });
}
