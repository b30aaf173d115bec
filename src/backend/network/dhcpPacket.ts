// DHCP/BOOTP packet building and parsing (pure, RFC 2131/2132, PXE options of RFC 4578).
// Used by the DHCP probe (a DISCOVER that never REQUESTs) and by the lab's PXE test client.

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const MAGIC = [0x63, 0x82, 0x53, 0x63];

export const MessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;

export interface DiscoverOptions {
    /** Hardware address, "aa:bb:cc:dd:ee:ff". */
    mac: string;
    xid: number;
    /** PXE client architecture (option 93): 0 BIOS, 7 and 9 x86-64 UEFI. Omitted when undefined. */
    arch?: number;
    /** Vendor class (option 60), e.g. "PXEClient:Arch:00007:UNDI:003016". */
    vendorClass?: string;
    /** Ask servers to broadcast their answers (we have no address to receive unicast on). */
    broadcast?: boolean;
    messageType?: number;
    /** The client's address, once it has one (PXE boot-server requests). */
    ciaddr?: string;
    /** Extra options as [code, bytes]. */
    extra?: [number, Uint8Array][];
}

export interface DhcpPacket {
    op: number;
    xid: number;
    flags: number;
    ciaddr: string;
    yiaddr: string;
    siaddr: string;
    giaddr: string;
    mac: string;
    sname: string;
    file: string;
    options: Map<number, Uint8Array>;
}

export function macBytes(mac: string): Uint8Array {
    const parts = mac.split(':');
    if (parts.length !== 6 || parts.some(p => !/^[0-9a-fA-F]{2}$/.test(p)))
        throw new Error(`not a MAC address: ${mac}`);
    return Uint8Array.from(parts.map(p => Number.parseInt(p, 16)));
}

function ipText(bytes: Uint8Array, at: number): string {
    return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function cString(bytes: Uint8Array, at: number, length: number): string {
    let end = at;
    while (end < at + length && bytes[end] !== 0)
        end++;
    return String.fromCharCode(...bytes.subarray(at, end));
}

/** A DHCPDISCOVER (or another client message type) as bytes. */
export function buildDiscover(o: DiscoverOptions): Uint8Array {
    const options: number[] = [...MAGIC];
    const add = (code: number, data: ArrayLike<number>): void => {
        options.push(code, data.length, ...Array.from(data));
    };
    add(53, [o.messageType ?? MessageType.DISCOVER]);
    add(55, [1, 3, 6, 15, 43, 54, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135]);
    add(57, [0x05, 0xc0]); // max message size 1472
    if (o.vendorClass !== undefined)
        add(60, Array.from(o.vendorClass, c => c.charCodeAt(0) & 0xff));
    if (o.arch !== undefined) {
        add(93, [(o.arch >> 8) & 0xff, o.arch & 0xff]);
        add(94, [1, 2, 1]); // UNDI 2.1
    }
    const mac = macBytes(o.mac);
    add(61, [1, ...mac]);
    for (const [code, data] of o.extra ?? [])
        add(code, data);
    options.push(255);

    const packet = new Uint8Array(236 + options.length);
    packet[0] = 1; // BOOTREQUEST
    packet[1] = 1; // Ethernet
    packet[2] = 6;
    new DataView(packet.buffer).setUint32(4, o.xid >>> 0);
    new DataView(packet.buffer).setUint16(10, o.broadcast === false ? 0 : 0x8000);
    if (o.ciaddr)
        packet.set(o.ciaddr.split('.').map(Number), 12);
    packet.set(mac, 28);
    packet.set(options, 236);
    return packet;
}

/** Parses a BOOTP/DHCP packet; null when it is not one (too short, no magic cookie). */
export function parsePacket(bytes: Uint8Array): DhcpPacket | null {
    if (bytes.length < 240 || MAGIC.some((m, i) => bytes[236 + i] !== m))
        return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const options = new Map<number, Uint8Array>();
    for (let i = 240; i < bytes.length;) {
        const code = bytes[i];
        if (code === 255)
            break;
        if (code === 0) {
            i++;
            continue;
        }
        const length = bytes[i + 1];
        if (length === undefined || i + 2 + length > bytes.length)
            break;
        options.set(code, bytes.slice(i + 2, i + 2 + length));
        i += 2 + length;
    }
    const mac = Array.from(bytes.subarray(28, 34), b => b.toString(16).padStart(2, '0')).join(':');
    return {
        op: bytes[0], xid: view.getUint32(4), flags: view.getUint16(10),
        ciaddr: ipText(bytes, 12), yiaddr: ipText(bytes, 16), siaddr: ipText(bytes, 20), giaddr: ipText(bytes, 24),
        mac, sname: cString(bytes, 44, 64), file: cString(bytes, 108, 128), options,
    };
}

export function messageType(p: DhcpPacket): number | null {
    const t = p.options.get(53);
    return t && t.length === 1 ? t[0] : null;
}

/** Option 54: the answering server's identifier. */
export function serverId(p: DhcpPacket): string | null {
    const id = p.options.get(54);
    return id && id.length === 4 ? ipText(id, 0) : null;
}

export function optionText(p: DhcpPacket, code: number): string | null {
    const v = p.options.get(code);
    return v ? String.fromCharCode(...v).replace(/\0+$/, '') : null;
}

/** An offer that hands out an address (a real DHCP server), as opposed to a proxy-DHCP (PXE-only) offer. */
export function givesAddress(p: DhcpPacket): boolean {
    return p.yiaddr !== '0.0.0.0';
}
