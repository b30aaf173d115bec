// The firewall opening's pure parts: which chains to open, the nft script, finding our rules again.
import { inputChains, openScript, ruleHandles } from '../../src/backend/network/firewall.ts';

// `nft -j list ruleset` of a machine with a native nftables ruleset and iptables-nft's (ufw's) tables.
const RULESET = JSON.stringify({ nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'filter', handle: 1 } },
    { chain: { family: 'inet', table: 'filter', name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { chain: { family: 'inet', table: 'filter', name: 'forward', handle: 2, type: 'filter', hook: 'forward', prio: 0, policy: 'drop' } },
    { chain: { family: 'inet', table: 'filter', name: 'services', handle: 3 } },
    { table: { family: 'ip', name: 'filter', handle: 2 } },
    { chain: { family: 'ip', table: 'filter', name: 'INPUT', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { table: { family: 'ip6', name: 'filter', handle: 3 } },
    { chain: { family: 'ip6', table: 'filter', name: 'INPUT', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { table: { family: 'inet', name: 'nat', handle: 4 } },
    { chain: { family: 'inet', table: 'nat', name: 'prerouting', handle: 1, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'odd', name: 'in put"; flush ruleset', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 4, expr: [] } },
] });

describe('opening the firewall', () => {
    it('opens every IPv4 input chain (native and iptables-nft), never forward, nat, IPv6 or a name nft would misread', () => {
        expect(inputChains(RULESET)).toEqual([
            { family: 'inet', table: 'filter', chain: 'input' },
            { family: 'ip', table: 'filter', chain: 'INPUT' },
        ]);
        expect(inputChains('')).toEqual([]);
        expect(inputChains('{"nftables": 3}')).toEqual([]);
        expect(inputChains('{"nftables": [{"metainfo": {}}]}')).toEqual([]);
    });

    it('accepts our ports on our interface only, at the top of the chain, marked as ours', () => {
        const script = openScript({ family: 'inet', table: 'filter', chain: 'input' }, 'br0', { udp: [69, 67, 67, 0, 70000], tcp: [2049, 80] }, 'share-this-cd 42');
        expect(script).toBe('insert rule inet filter input iifname "br0" udp dport { 67, 69 } accept comment "share-this-cd 42"\n'
            + 'insert rule inet filter input iifname "br0" tcp dport { 80, 2049 } accept comment "share-this-cd 42"\n');
        expect(openScript({ family: 'ip', table: 'filter', chain: 'INPUT' }, 'br0', { udp: [], tcp: [] }, 'x')).toBe('');
    });

    it('finds our rules again by their comment only', () => {
        const chain = JSON.stringify({ nftables: [
            { chain: { family: 'inet', table: 'filter', name: 'input', handle: 1 } },
            { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 7, comment: 'share-this-cd 42', expr: [] } },
            { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 8, comment: 'share-this-cd 41', expr: [] } },
            { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 9, expr: [] } },
            { rule: { family: 'inet', table: 'filter', chain: 'input', handle: 10, comment: 'share-this-cd 42', expr: [] } },
        ] });
        expect(ruleHandles(chain, 'share-this-cd 42')).toEqual([7, 10]);
        expect(ruleHandles('nonsense', 'share-this-cd 42')).toEqual([]);
    });
});
