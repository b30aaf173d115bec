// IPv4 arithmetic (pure).

export interface Cidr {
    address: string;
    prefix: number;
}

export function parseIpv4(text: string): number | null {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    if (!m)
        return null;
    const octets = m.slice(1).map(Number);
    if (octets.some(o => o > 255))
        return null;
    return ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
}

export function formatIpv4(value: number): string {
    return [24, 16, 8, 0].map(s => (value >>> s) & 255).join('.');
}

export function maskOf(prefix: number): number {
    return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(c: Cidr): number {
    return ((parseIpv4(c.address) ?? 0) & maskOf(c.prefix)) >>> 0;
}

export function broadcastOf(c: Cidr): number {
    return (networkOf(c) | (~maskOf(c.prefix) >>> 0)) >>> 0;
}

export function netmaskText(prefix: number): string {
    return formatIpv4(maskOf(prefix));
}

/** "10.77.0.0/24" for an address in it. */
export function subnetText(c: Cidr): string {
    return `${formatIpv4(networkOf(c))}/${c.prefix}`;
}

export function contains(c: Cidr, address: string): boolean {
    const a = parseIpv4(address);
    return a !== null && ((a & maskOf(c.prefix)) >>> 0) === networkOf(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
    const prefix = Math.min(a.prefix, b.prefix);
    return ((networkOf(a) & maskOf(prefix)) >>> 0) === ((networkOf(b) & maskOf(prefix)) >>> 0);
}

export function parseCidr(text: string): Cidr | null {
    const [address, prefixText] = text.split('/');
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (parseIpv4(address) === null || !Number.isInteger(prefix) || prefix < 0 || prefix > 32)
        return null;
    return { address, prefix };
}
