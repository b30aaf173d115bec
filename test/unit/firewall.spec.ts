// The firewall opening's pure parts: which chains to open, the nft script, finding our rules again.
import { inputChains, openScript, ruleHandles } from '../../src/backend/network/firewall.ts';
import { richRules } from '../../src/backend/network/firewalld.ts';
import { addedRules, ruleKey, ufwArgv, ufwConfEnabled, ufwRules } from '../../src/backend/network/ufw.ts';

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

describe('opening firewalld and ufw (their own tools)', () => {
    it('asks firewalld for rich rules from the shared network only, and DHCP requests from a computer without an address', () => {
        expect(richRules('10.77.0.0/24', { udp: [69, 67, 67, 0], tcp: [80] })).toEqual([
            'rule family="ipv4" source address="0.0.0.0" port port="67" protocol="udp" accept',
            'rule family="ipv4" source address="10.77.0.0/24" port port="67" protocol="udp" accept',
            'rule family="ipv4" source address="10.77.0.0/24" port port="69" protocol="udp" accept',
            'rule family="ipv4" source address="10.77.0.0/24" port port="80" protocol="tcp" accept',
        ]);
        expect(richRules('10.77.0.0/24', { udp: [], tcp: [] })).toEqual([]);
    });

    it('gives ufw one rule per protocol on the interface, at most 15 ports each, and nothing for a name ufw would misread', () => {
        expect(ufwRules('br0', { udp: [4011, 67, 68], tcp: [2049, 80] })).toEqual([
            ['in', 'on', 'br0', 'to', 'any', 'port', '67,68,4011', 'proto', 'udp'],
            ['in', 'on', 'br0', 'to', 'any', 'port', '80,2049', 'proto', 'tcp'],
        ]);
        const many = Array.from({ length: 17 }, (_x, i) => 1000 + i);
        expect(ufwRules('eth0', { udp: many, tcp: [] }).map(r => r[6].split(',').length)).toEqual([15, 2]);
        expect(ufwRules('br0; reset', { udp: [67], tcp: [] })).toEqual([]);
        expect(ufwRules('x'.repeat(16), { udp: [67], tcp: [] })).toEqual([]);
    });

    it('reads from ufw.conf whether ufw is enabled, without running it', () => {
        // Debian's and Ubuntu's ufw.conf as installed, and after `ufw enable`
        const installed = '# /etc/ufw/ufw.conf\n#\n\n# Set to yes to start on boot. If setting this remotely, be sure to add a rule\n# to allow your remote connection before starting ufw. Eg: \'ufw allow 22/tcp\'\nENABLED=no\n\n# Please use the \'ufw\' command to set the loglevel instead of editing this file\nLOGLEVEL=low\n';
        expect(ufwConfEnabled(installed)).toBeFalse();
        expect(ufwConfEnabled(installed.replace('ENABLED=no', 'ENABLED=yes'))).toBeTrue();
        expect(ufwConfEnabled('ENABLED="yes"\n')).toBeTrue();
        expect(ufwConfEnabled('ENABLED=no\nENABLED=yes\n')).toBeTrue();   // the last one counts, as in a shell
        expect(ufwConfEnabled('# ENABLED=yes\nLOGLEVEL=low\n')).toBeNull();
        expect(ufwConfEnabled('')).toBeNull();
    });

    it('tells a rule ufw already has from one it has not, whatever its comment', () => {
        // `ufw show added` of ufw 0.36.2
        const added = addedRules([
            'Added user rules (see \'ufw status\' for running firewall):',
            'ufw allow 80/tcp',
            'ufw allow in on br0 to any port 67,68,4011 proto udp comment \'share-this-cd 41\'',
            'ufw allow in on br0 to any port 69 proto udp comment \'it\\\'s mine\'',
        ].join('\n'));
        expect(added.has(ruleKey(['in', 'on', 'br0', 'to', 'any', 'port', '67,68,4011', 'proto', 'udp']))).toBeTrue();
        expect(added.has(ruleKey(['in', 'on', 'br0', 'to', 'any', 'port', '69', 'proto', 'udp']))).toBeTrue();
        expect(added.has(ruleKey(['in', 'on', 'br1', 'to', 'any', 'port', '67,68,4011', 'proto', 'udp']))).toBeFalse();
        expect(added.has('ufw allow 80/tcp')).toBeTrue();
    });

    it('runs ufw through systemd for the helper that systemd sandboxes', () => {
        expect(ufwArgv(['status'], false)).toEqual(['ufw', 'status']);
        expect(ufwArgv(['status'], true)).toEqual(['systemd-run', '--quiet', '--wait', '--pipe', '--collect', '--service-type=exec', '--', 'ufw', 'status']);
    });
});
