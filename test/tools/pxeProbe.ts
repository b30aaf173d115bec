// A PXE client for the lab (not shipped): sends a PXE DHCPDISCOVER (option 60 PXEClient, option 93 arch) out of
// an interface without an address, prints every answer as a JSON line, and with --4011 also asks the proxy's
// boot server (port 4011) for the boot file, as PXE firmware does after a proxy offer.
// With --flood N it is a hostile client instead: N DISCOVERs, each from a made-up MAC (locally administered),
// as fast as the socket takes them or at most --rate a second; it prints how many it sent and waits for nothing.
// With --ipxe it says what iPXE says of itself: user class "iPXE" (option 77) and iPXE's option 175.
// Usage (inside the client namespace): gjs -m build/pxe-probe.js IFACE ARCH [--4011] [--ipxe] [--wait MS] [--flood N [--rate R]]
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { MessageType, buildDiscover, givesAddress, messageType, optionText, parsePacket, serverId } from '../../src/backend/network/dhcpPacket.ts';
import { UnixInputStream } from '../../src/shared/fsutil.ts';
import { readAnswer } from '../../src/backend/network/probe.ts';

const [iface = 'eth0', archText = '0', ...rest] = system.programArgs;
const arch = Number(archText);
const ask4011 = rest.includes('--4011');
const waitMs = Number(rest[rest.indexOf('--wait') + 1]) || 2000;
const mac = new TextDecoder().decode(GLib.file_get_contents(`/sys/class/net/${iface}/address`)[1]).trim();
const vendorClass = `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016`;
const xid = Math.floor(Math.random() * 0xffffffff) >>> 0;
/** iPXE's own options: user class (sent as plain text, as iPXE does) and option 175 (feature 0x13: HTTP). */
const ipxe: [number, Uint8Array][] = rest.includes('--ipxe') ? [[77, new TextEncoder().encode('iPXE')], [175, Uint8Array.from([0x13, 1, 1])]] : [];

const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
socket.set_broadcast(true);
socket.bind(Gio.InetSocketAddress.new_from_string('0.0.0.0', 68) as Gio.InetSocketAddress, true);
/** A socket's reader for readAnswer (one datagram a fill). */
const reader = (sock: Gio.Socket): Gio.BufferedInputStream => new Gio.BufferedInputStream({
    base_stream: new UnixInputStream({ fd: sock.get_fd(), close_fd: false }), buffer_size: 2048 });
const stream = reader(socket);

const t0 = GLib.get_monotonic_time();
const arrival = new Map<object, number>();

function collect(ms: number, sock: Gio.Socket, input: Gio.BufferedInputStream): ReturnType<typeof parsePacket>[] {
    const out: ReturnType<typeof parsePacket>[] = [];
    const deadline = GLib.get_monotonic_time() + ms * 1000;
    while (GLib.get_monotonic_time() < deadline) {
        const bytes = readAnswer(sock, input, new Set([xid]));
        if (bytes === null) {
            GLib.usleep(10000);
            continue;
        }
        const p = bytes === undefined ? null : parsePacket(bytes);
        if (p) {
            arrival.set(p, Math.round((GLib.get_monotonic_time() - t0) / 1000));
            out.push(p);
        }
    }
    return out;
}

function show(kind: string, p: NonNullable<ReturnType<typeof parsePacket>>): void {
    print(JSON.stringify({ kind, ms: arrival.get(p) ?? null, type: messageType(p), server: serverId(p), yiaddr: p.yiaddr, siaddr: p.siaddr, file: p.file,
        vendor: optionText(p, 60), bootfile67: optionText(p, 67), givesAddress: givesAddress(p), hasPxeOptions: p.options.has(43) }));
}

/** The type (2 bytes) of the first item of the PXE boot menu in option 43 (sub-option 9), else 0x8000. */
function firstMenuItem(vendor: Uint8Array): [number, number] {
    for (let i = 0; i + 1 < vendor.length && vendor[i] !== 255;) {
        const [code, len] = [vendor[i], vendor[i + 1]];
        if (code === 9 && len >= 3)
            return [vendor[i + 2], vendor[i + 3]];
        i += 2 + len;
    }
    return [0x80, 0x00];
}

const broadcast = Gio.InetSocketAddress.new_from_string('255.255.255.255', 67);
if (rest.includes('--flood')) {
    const count = Number(rest[rest.indexOf('--flood') + 1]);
    // --rate N: at most N a second (dnsmasq reads its socket at its own pace; beyond it the kernel drops).
    const rate = rest.includes('--rate') ? Number(rest[rest.indexOf('--rate') + 1]) : 0;
    const began = GLib.get_monotonic_time();
    let sent = 0;
    for (let n = 0; n < count; n++) {
        if (rate > 0) {
            const due = began + n * 1e6 / rate;
            const now = GLib.get_monotonic_time();
            if (due > now)
                GLib.usleep(due - now);
        }
        const made = [0x02, ...Array.from({ length: 5 }, () => Math.floor(Math.random() * 256))]
            .map(b => b.toString(16).padStart(2, '0')).join(':');
        try {
            socket.send_to(broadcast, buildDiscover({ mac: made, xid: (xid + n) >>> 0, arch, vendorClass, broadcast: true }), null);
            sent++;
        } catch {
            GLib.usleep(1000); // the socket's buffer is full: let it drain
        }
    }
    print(JSON.stringify({ flood: sent }));
    system.exit(0);
}
socket.send_to(broadcast, buildDiscover({ mac, xid, arch, vendorClass, broadcast: true, extra: ipxe }), null);
const offers = collect(waitMs, socket, stream);
for (const p of offers)
    if (p)
        show('offer', p);

if (ask4011) {
    // The boot-server request goes from the address the client has by now (from the real DHCP server).
    const proxy = offers.find(p => p && !givesAddress(p) && serverId(p));
    if (proxy) {
        const s2 = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        const myIp = (GLib.getenv('PROBE_IP') ?? '0.0.0.0');
        s2.bind(Gio.InetSocketAddress.new_from_string(myIp, 0) as Gio.InetSocketAddress, true);
        const s2in = reader(s2);
        const request = buildDiscover({ mac, xid, arch, vendorClass, broadcast: false, messageType: MessageType.REQUEST, ciaddr: myIp,
            // A menu in the offer (option 43) → ask for its first boot item, as PXE firmware does; no menu → a plain request.
            extra: [...proxy.options.has(43) ? [[43, Uint8Array.from([71, 4, ...firstMenuItem(proxy.options.get(43) as Uint8Array), 0x00, 0x00, 255])] as [number, Uint8Array]] : [], ...ipxe] });
        s2.send_to(Gio.InetSocketAddress.new_from_string(serverId(proxy) as string, 4011), request, null);
        for (const p of collect(waitMs, s2, s2in))
            if (p)
                show('boot-server', p);
    }
}
