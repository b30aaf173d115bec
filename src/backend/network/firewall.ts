// Opening this computer's firewall while sharing, on the shared interface only (nftables). A live session may
// filter incoming traffic (an nftables ruleset with a drop policy; iptables-nft's chains are nftables chains
// too): then computers on the LAN would not even reach our DHCP server. Every chain of the input hook decides on
// its own, and a packet must pass all of them — a table of our own could not let anything through that another
// table's chain drops — so the opening is one rule at the top of each input chain that exists (family ip or
// inet), accepting our ports on our interface, marked with a comment that says whose it is. Each is a journal
// entry, written before the rule exists, undone by deleting the rules that carry that comment. Replies of
// connections the clients make (TFTP data, NFS, HTTP) are the ruleset's business: rulesets that drop by
// default accept established connections.
//
// The DHCP ports are opened before the start-up probe (a firewall that drops the answers would make the probe
// hear nothing, and `auto` would wrongly choose full DHCP); the others once the daemons are planned.
// inputChains(), openScript() and ruleHandles() are pure; currentInputChains(), openChain() and closeChain() are
// the effects.
import { run } from '../services/supervisor.ts';

export const NFT = '/usr/sbin/nft';

export interface InputChain {
    family: 'ip' | 'inet';
    table: string;
    chain: string;
}

export interface Ports {
    udp: number[];
    tcp: number[];
}

/** Names nft takes unquoted (anything else is left alone rather than quoted wrong). */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The objects of `nft -j` output (none when it is not that). */
function nftItems(json: string): unknown[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(json);
    } catch {
        return [];
    }
    const items = (parsed as { nftables?: unknown } | null)?.nftables;
    return Array.isArray(items) ? items : [];
}

/** The chains of the input hook (filter type, IPv4: ip and inet families) in `nft -j list ruleset` output. */
export function inputChains(rulesetJson: string): InputChain[] {
    const chains: InputChain[] = [];
    for (const item of nftItems(rulesetJson)) {
        const c = (item as { chain?: Record<string, unknown> }).chain;
        if (!c || c.hook !== 'input' || c.type !== 'filter' || (c.family !== 'ip' && c.family !== 'inet'))
            continue;
        if (typeof c.table !== 'string' || typeof c.name !== 'string' || !NAME.test(c.table) || !NAME.test(c.name))
            continue;
        chains.push({ family: c.family, table: c.table, chain: c.name });
    }
    return chains;
}

/** The nft script that puts our rules at the top of `chain`, for `ports` on interface `iface`. */
export function openScript(chain: InputChain, iface: string, ports: Ports, comment: string): string {
    const lines: string[] = [];
    const where = `${chain.family} ${chain.table} ${chain.chain}`;
    for (const proto of ['udp', 'tcp'] as const) {
        const list = [...new Set(ports[proto])].filter(p => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);
        if (list.length > 0)
            lines.push(`insert rule ${where} iifname "${iface}" ${proto} dport { ${list.join(', ')} } accept comment "${comment}"`);
    }
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Handles of the rules of a `nft -j list chain` output that carry `comment`. */
export function ruleHandles(chainJson: string, comment: string): number[] {
    return nftItems(chainJson).map(i => (i as { rule?: { comment?: unknown; handle?: unknown } }).rule)
        .filter(r => r !== undefined && r.comment === comment && typeof r.handle === 'number').map(r => r?.handle as number);
}

/** The input chains of this computer's ruleset; none when nft is missing or the ruleset cannot be read. */
export function currentInputChains(): InputChain[] {
    const r = run([NFT, '-j', 'list', 'ruleset']);
    return r.status === 0 ? inputChains(r.stdout) : [];
}

/** Puts our rules in `chain`; throws with nft's words when it refuses. */
export function openChain(chain: InputChain, iface: string, ports: Ports, comment: string): void {
    const script = openScript(chain, iface, ports, comment);
    if (script === '')
        return;
    const r = run([NFT, '-f', '-'], script);
    if (r.status !== 0)
        throw new Error(`nft: ${r.stderr.trim()}`);
}

/** Deletes the rules of `chain` that carry `comment`; the number deleted. */
export function closeChain(chain: InputChain, comment: string): number {
    const listed = run([NFT, '-j', 'list', 'chain', chain.family, chain.table, chain.chain]);
    if (listed.status !== 0)
        return 0; // the chain is gone (the ruleset was reloaded): so are our rules
    let deleted = 0;
    for (const handle of ruleHandles(listed.stdout, comment)) {
        if (run([NFT, 'delete', 'rule', chain.family, chain.table, chain.chain, 'handle', String(handle)]).status === 0)
            deleted++;
    }
    return deleted;
}
