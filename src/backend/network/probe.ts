// The DHCP probe (effects): a DHCPDISCOVER and a DHCPINFORM out of the chosen interface, then every answer
// heard for a short window. It never sends a REQUEST, so no lease is taken. OFFERs come broadcast (we set the
// flag) to port 68; INFORM's ACK comes unicast to our address. INFORM matters: dnsmasq (most home routers)
// delays its OFFER by ~3 s while it pings the address it means to offer, but answers an INFORM at once.
//
// Sockets: one bound to the interface's address sends (Linux sends a limited broadcast out of the device that
// owns the source address), one bound to 0.0.0.0:68 receives the broadcast answers; both with SO_REUSEADDR so
// a DHCP client already running on the machine keeps working. The same listener, kept open, is the watch for
// servers that appear while sharing (rivals.ts): it reads a datagram without allocating for it unless it
// answers one of our own transactions (gjs 1.74 leaks the buffer of every read_bytes; a LAN's broadcasts,
// or a flood of them, would go through it).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, MessageType, buildDiscover, givesAddress, messageType, parsePacket, serverId } from './dhcpPacket.ts';
import { UnixInputStream } from '../../shared/fsutil.ts';
import { type DhcpAnswer, type ProbeResult, addAnswer } from './mode.ts';
import { after } from '../../shared/timers.ts';

export interface ProbeTarget {
    /** Address of the interface to probe from (it must be configured on that interface). */
    address: string;
    mac: string;
}

function udpSocket(address: string, port: number): Gio.Socket {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
    socket.set_broadcast(true);
    socket.set_blocking(false);
    socket.bind(Gio.InetSocketAddress.new_from_string(address, port) as Gio.InetSocketAddress, true);
    return socket;
}

/** Bytes 0–7 of a BOOTP message: op (2 = a server's reply) and, at 4–7, the transaction id. */
const HEAD = 8;

/**
 * The next waiting datagram when it is a server's reply to one of `xids`; undefined for any other datagram
 * (read and dropped byte by byte into nothing: no buffer is made for it); null when none is waiting.
 */
export function readAnswer(socket: Gio.Socket, input: Gio.BufferedInputStream, xids: ReadonlySet<number>): Uint8Array | null | undefined {
    if (!(socket.condition_check(GLib.IOCondition.IN) & GLib.IOCondition.IN))
        return null;
    const size = input.fill(-1, null); // one read(2) of a datagram socket: one datagram
    if (size <= 0)
        return undefined;
    const head = new Uint8Array(Math.min(size, HEAD));
    for (let i = 0; i < head.length; i++)
        head[i] = input.read_byte(null);
    const xid = ((head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]) >>> 0;
    if (size < 240 || head[0] !== 2 || !xids.has(xid)) {
        if (size > head.length)
            input.skip(size - head.length, null);
        return undefined;
    }
    const bytes = new Uint8Array(size);
    bytes.set(head);
    for (let i = HEAD; i < size; i++)
        bytes[i] = input.read_byte(null);
    return bytes;
}

/** The sockets of a DHCP probe, open until closed: sends probes, reads the answers to them. */
export class DhcpListener {
    private readonly inputs: [Gio.Socket, Gio.BufferedInputStream][];

    private constructor(private readonly target: ProbeTarget, private readonly receiver: Gio.Socket, private readonly sender: Gio.Socket) {
        // Broadcast answers reach the 0.0.0.0 socket; INFORM's unicast ACK reaches the socket bound to our address.
        this.inputs = [receiver, sender].map(sock => [sock, new Gio.BufferedInputStream({
            base_stream: new UnixInputStream({ fd: sock.get_fd(), close_fd: false }), buffer_size: 2048 })]);
    }

    /** Throws a GLib error when a socket cannot be made or bound. */
    static open(target: ProbeTarget): DhcpListener {
        const receiver = udpSocket('0.0.0.0', DHCP_CLIENT_PORT);
        try {
            return new DhcpListener(target, receiver, udpSocket(target.address, DHCP_CLIENT_PORT));
        } catch (e) {
            receiver.close();
            throw e;
        }
    }

    /**
     * One INFORM and PXE DISCOVERs with transaction id `xid`. PXEClient as vendor class and a client architecture
     * (option 93; without it dnsmasq's proxy-DHCP answers nothing), BIOS and x86-64 UEFI: other network-boot
     * (proxy-DHCP) servers answer too, also those that serve one of the two only. INFORM first: dnsmasq handles
     * one packet at a time, and a DISCOVER keeps it busy while it pings. Throws a GLib error when the interface
     * cannot send.
     */
    send(xid: number): void {
        const everyone = Gio.InetSocketAddress.new_from_string('255.255.255.255', DHCP_SERVER_PORT);
        const { address, mac } = this.target;
        this.sender.send_to(everyone, buildDiscover({ mac, xid, broadcast: false, messageType: MessageType.INFORM, ciaddr: address }), null);
        for (const arch of [0, 7])
            this.sender.send_to(everyone, buildDiscover({ mac, xid, broadcast: true, arch, vendorClass: `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001` }), null);
    }

    /** The answers waiting to transactions in `xids` (at most `limit` datagrams read a call). */
    receive(xids: ReadonlySet<number>, limit = 4096): DhcpAnswer[] {
        const answers: DhcpAnswer[] = [];
        for (const [sock, input] of this.inputs) for (let n = 0; n < limit; n++) {
            let bytes: Uint8Array | null | undefined;
            try {
                bytes = readAnswer(sock, input, xids);
            } catch {
                break;
            }
            if (bytes === null)
                break;
            const packet = bytes === undefined ? null : parsePacket(bytes);
            const type = packet ? messageType(packet) : null;
            if (!packet || (type !== MessageType.OFFER && type !== MessageType.ACK))
                continue;
            const server = serverId(packet) ?? packet.siaddr;
            // An address offered, or an INFORM answered: a DHCP server. A PXE answer without one: a proxy.
            answers.push({ server, offered: packet.yiaddr, kind: type === MessageType.ACK || givesAddress(packet) ? 'dhcp' : 'pxe' });
        }
        return answers;
    }

    close(): void {
        this.receiver.close();
        this.sender.close();
    }
}

/** A transaction id of our own. */
export function newXid(): number {
    return Math.floor(Math.random() * 0xffffffff) >>> 0;
}

/**
 * Sends one DISCOVER and one INFORM, and collects the answers heard within `windowMs` (at most 1 s after the
 * first answer). Never throws: errors go in `error`.
 */
export function probeDhcp(target: ProbeTarget, windowMs = 3000): Promise<ProbeResult> {
    const result: ProbeResult = { servers: [], pxeServers: [], error: null };
    let listener: DhcpListener;
    const xids = new Set([newXid()]);
    try {
        listener = DhcpListener.open(target);
    } catch (e) {
        result.error = (e as GLib.Error).message ?? String(e);
        return Promise.resolve(result);
    }
    try {
        listener.send([...xids][0]);
    } catch (e) {
        result.error = (e as GLib.Error).message ?? String(e);
        listener.close();
        return Promise.resolve(result);
    }
    return new Promise(resolve => {
        let deadline = GLib.get_monotonic_time() + windowMs * 1000;
        const look = (): void => {
            const answers = listener.receive(xids);
            for (const answer of answers)
                addAnswer(result, answer);
            if (answers.length > 0)
                deadline = Math.min(deadline, GLib.get_monotonic_time() + 1000 * 1000);
            if (GLib.get_monotonic_time() < deadline) {
                after(25, look);
                return;
            }
            listener.close();
            resolve(result);
        };
        after(25, look);
    });
}
