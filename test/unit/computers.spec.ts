// Which computers may start, their names and makers: the pure contract, the DHCP server's configuration, the
// log lines of computers not answered, the tracker's waiting stage, the IEEE list, and `share-this-cd computers`.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { ClientTracker, DnsmasqLogReader, fileClassifier } from '../../src/backend/clients.ts';
import { VendorLookup, isLocallyAdministered, organisationIn } from '../../src/backend/oui.ts';
import { platform } from '../../src/backend/platforms.ts';
import { renderDnsmasqDhcp } from '../../src/backend/services/dnsmasq.ts';
import { accessOf, allowedMacs, computerSettingsFromJson, describeComputer, normalizeMac, parseMac, parseName, stopQuestion, withComputer, withoutComputer } from '../../src/shared/computers.ts';
import { isShareError } from '../../src/shared/errors.ts';
import { isActive } from '../../src/shared/stages.ts';
import { CLI, type CliResult, makeTree, readText, removeTree, runCli } from '../support/helpers.ts';

const dnsmasqBase = {
    interface: 'enp3s0', serverAddress: '192.168.1.20', network: '192.168.1.0', tftpRoot: '/run/share-this-cd/tftp',
    leaseFile: '/run/share-this-cd/dnsmasq.leases', label: 'Ubuntu', httpPort: 80,
    platforms: [{ ...platform('bios'), bootFile: 'lpxelinux.0', ipxeScript: null }, { ...platform('uefi-x64'), bootFile: 'bootx64.efi', ipxeScript: null }],
    ignoreArchCodes: [6, 10, 11], ownMac: '52:54:00:ab:cd:ef',
};

describe('computers (the contract)', () => {
    it('read MAC addresses as people write them, and refuse what no card has', () => {
        expect(normalizeMac('00:1B:21:AA:BB:CC')).toBe('00:1b:21:aa:bb:cc');
        expect(normalizeMac(' 00-1b-21-aa-bb-cc ')).toBe('00:1b:21:aa:bb:cc');
        expect(normalizeMac('001b21aabbcc')).toBe('00:1b:21:aa:bb:cc');
        expect(normalizeMac('52:54:00:12:34:56')).toBe('52:54:00:12:34:56');
        for (const bad of ['', '00:1b:21:aa:bb', '00:1b:21:aa:bb:cc:dd', '00:1b-21:aa:bb:cc', 'zz:1b:21:aa:bb:cc', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff',
            '00:00:00:00:00:00', '00:1b:21:aa:bb:cc\ndhcp-range=1', '00:1b:21:aa:bb:cc,ignore'])
            expect(normalizeMac(bad)).withContext(JSON.stringify(bad)).toBeNull();
        expect(() => parseMac('desk 4')).toThrowMatching(e => isShareError(e) && /not a computer's network address/.test(e.message));
    });

    it('take names of one short line', () => {
        expect(parseName('  Desk 4 — Salle B  ')).toBe('Desk 4 — Salle B');
        expect(parseName('')).toBe('');
        expect(() => parseName('a\nb')).toThrowMatching(e => isShareError(e) && /line break/.test(e.message));
        expect(() => parseName('x'.repeat(65))).toThrowMatching(e => isShareError(e) && /at most 64/.test(e.message));
        expect(parseName('🙂'.repeat(64))).toBe('🙂'.repeat(64));
    });

    it('read damaged settings entry by entry, keeping what is sound', () => {
        expect(computerSettingsFromJson(null)).toEqual({ access: 'any', computers: [] });
        expect(computerSettingsFromJson({ access: 'everyone', computers: 'all' })).toEqual({ access: 'any', computers: [] });
        expect(computerSettingsFromJson({ access: 'allowed', computers: [
            { mac: '00:1B:21:AA:BB:CC', name: 'Desk 4', allowed: true },
            { mac: '00:1b:21:aa:bb:cc', name: 'again', allowed: false },
            { mac: 'nope', name: 'x', allowed: true },
            { mac: '00:1b:21:aa:bb:cd', name: 'bad\nname', allowed: 'yes' },
            null,
        ] })).toEqual({ access: 'allowed', computers: [{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', allowed: true }, { mac: '00:1b:21:aa:bb:cd', name: '', allowed: false }] });
    });

    it('change one computer at a time, and tell the DHCP server which to answer', () => {
        let list = withComputer([], '00:1b:21:aa:bb:cc', { allowed: true });
        list = withComputer(list, '00:1b:21:aa:bb:cc', { name: 'Desk 4' });
        list = withComputer(list, '52:54:00:12:34:56', { allowed: false });
        expect(list).toEqual([{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', allowed: true }, { mac: '52:54:00:12:34:56', name: '', allowed: false }]);
        expect(allowedMacs({ access: 'any', computers: list })).toBeNull();
        expect(allowedMacs({ access: 'allowed', computers: list })).toEqual(['00:1b:21:aa:bb:cc']);
        expect(allowedMacs({ access: 'allowed', computers: [] })).toEqual([]);
        expect(accessOf({ access: 'allowed', computers: list }, '52:54:00:12:34:56')).toEqual({ name: '', access: 'ignored' });
        expect(accessOf({ access: 'allowed', computers: list }, '52:54:00:99:99:99')).toEqual({ name: '', access: '' });
        expect(withoutComputer(list, '00:1b:21:aa:bb:cc')).toEqual([{ mac: '52:54:00:12:34:56', name: '', allowed: false }]);
    });

    it('describe a computer by its name, else its address, with its maker and firmware', () => {
        expect(describeComputer({ mac: '00:1b:21:aa:bb:cc', ip: null, name: 'Desk 4', vendor: 'Intel Corporate' }, 'UEFI')).toBe('Desk 4 (00:1b:21:aa:bb:cc, Intel Corporate, UEFI)');
        expect(describeComputer({ mac: '00:1b:21:aa:bb:cc', ip: null, name: '', vendor: 'Intel Corporate' }, null)).toBe('00:1b:21:aa:bb:cc (Intel Corporate)');
        expect(describeComputer({ mac: null, ip: '10.0.0.5' }, null)).toBe('10.0.0.5');
        expect(stopQuestion(3, 'Ubuntu 24.04 LTS')).toBe('3 computers are running Ubuntu 24.04 LTS from this computer. They will stop working. Stop sharing?');
        expect(stopQuestion(1, 'Debian')).toBe('1 computer is running Debian from this computer. It will stop working. Stop sharing?');
    });
});

describe('only allowed computers', () => {
    it('the DHCP server answers the allowed MACs only, in proxy and full DHCP alike', () => {
        for (const mode of ['proxy', 'dhcp'] as const) {
            const range = mode === 'dhcp' ? { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' } : null;
            const any = renderDnsmasqDhcp({ ...dnsmasqBase, mode, range, allowed: null }).split('\n');
            expect(any.filter(l => /allowed/.test(l))).toEqual([]);
            const only = renderDnsmasqDhcp({ ...dnsmasqBase, mode, range, allowed: ['00:1b:21:aa:bb:cc', '52:54:00:12:34:56', 'bad\ndhcp-range=1'] }).split('\n');
            expect(only.filter(l => /allowed/.test(l))).toEqual(['dhcp-host=00:1b:21:aa:bb:cc,set:allowed', 'dhcp-host=52:54:00:12:34:56,set:allowed', 'dhcp-ignore=tag:!allowed']);
            // Nobody allowed: nobody answered.
            expect(renderDnsmasqDhcp({ ...dnsmasqBase, mode, range, allowed: [] }).split('\n')).toContain('dhcp-ignore=tag:!allowed');
        }
    });

    it('a computer not answered waits; once answered it boots on; a running one keeps running', () => {
        const reader = new DnsmasqLogReader('/run/share-this-cd/tftp', [0, 7, 9]);
        const read = (lines: string[]): ReturnType<DnsmasqLogReader['read']>[] => lines.map(l => reader.read(l)).filter(e => e !== null);
        const ignoredProxy = read(['dnsmasq-dhcp[1]: 21 vendor class: PXEClient:Arch:00000:UNDI:003016', 'dnsmasq-dhcp[1]: 21 PXE(br0) 00:1b:21:aa:bb:cc proxy-ignored']);
        expect(ignoredProxy).toEqual([{ type: 'dhcp', mac: '00:1b:21:aa:bb:cc', ip: null, arch: 'bios', what: 'asked for network boot (proxy-DHCP), not answered', ignored: true }]);
        const ignoredFull = read(['dnsmasq-dhcp[1]: 22 vendor class: PXEClient:Arch:00007:UNDI:003016', 'dnsmasq-dhcp[1]: 22 DHCPDISCOVER(br0) 00:1b:21:aa:bb:dd ignored']);
        expect(ignoredFull).toEqual([{ type: 'dhcp', mac: '00:1b:21:aa:bb:dd', ip: null, arch: 'uefi', what: 'DHCP DISCOVER', ignored: true }]);
        // A platform we do not serve is not a computer waiting to be allowed.
        const arm = read(['dnsmasq-dhcp[1]: 23 vendor class: PXEClient:Arch:00011:UNDI:003016', 'dnsmasq-dhcp[1]: 23 PXE(br0) 00:1b:21:aa:bb:ee proxy-ignored']);
        expect(arm[0]).toEqual(jasmine.objectContaining({ unserved: 'UEFI ARM64' }));

        const t = new ClientTracker(fileClassifier(['medium/casper/vmlinuz'], []), 60);
        const changes = t.apply(ignoredProxy[0] as NonNullable<typeof ignoredProxy[0]>, 100);
        expect(changes.map(c => [c.reason, c.client.stage])).toEqual([['new', 'waiting']]);
        expect(t.list()[0]).toEqual(jasmine.objectContaining({ stage: 'waiting', detail: 'waits to be allowed to start from this computer' }));
        expect(t.activeCount()).toBe(0);
        expect(isActive({ stage: 'waiting' })).toBeFalse();
        // Asking again, still not allowed: no news.
        expect(t.apply(ignoredProxy[0] as NonNullable<typeof ignoredProxy[0]>, 104)).toEqual([]);
        // Allowed: answered.
        const answered = t.apply({ type: 'dhcp', mac: '00:1b:21:aa:bb:cc', ip: null, arch: 'bios', what: 'asked for network boot (proxy-DHCP)' }, 110);
        expect(answered.map(c => [c.from, c.client.stage])).toEqual([['waiting', 'discovered']]);
        t.apply({ type: 'dhcp', mac: '00:1b:21:aa:bb:cc', ip: '10.0.0.7', arch: 'bios', what: 'asked the boot server for lpxelinux.0' }, 111);
        t.apply({ type: 'file', ip: '10.0.0.7', path: 'medium/casper/vmlinuz', via: 'http', ok: true }, 112);
        expect(t.list()[0].stage).toBe('loading');
        // Forgotten while loading, it asks again: waiting again.
        expect(t.apply(ignoredProxy[0] as NonNullable<typeof ignoredProxy[0]>, 120).map(c => [c.from, c.client.stage])).toEqual([['loading', 'waiting']]);
        // A running system is not stopped by a DHCP renewal we no longer answer.
        t.apply({ type: 'dhcp', mac: '00:1b:21:aa:bb:cc', ip: '10.0.0.7', arch: 'bios', what: 'x' }, 121);
        t.apply({ type: 'nfs', peers: ['10.0.0.7'] }, 122);
        t.apply(ignoredProxy[0] as NonNullable<typeof ignoredProxy[0]>, 130);
        expect(t.list()[0].stage).toBe('running');
    });
});

describe('the makers of network cards (IEEE list)', () => {
    const oui = 'Registry,Assignment,Organization Name,Organization Address\nMA-L,001B21,Intel Corporate,Lot 8 Jalan Hi-Tech 2/3  Kulim Kedah MY 09000 \n'
        + 'MA-L,F4BD9E,"Cisco Systems, Inc",80 West Tasman Drive San Jose CA US 94568 \nMA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \n'
        + 'MA-L,0050C2,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \nMA-L,AC1F6B,"Super Micro Computer, Inc.",980 Rock Ave San Jose CA US 95131 \n'
        + 'MA-L,ABCDEF,Private,\n';
    const mam = 'Registry,Assignment,Organization Name,Organization Address\nMA-M,70B3D5A,Somebody Small,1 Road\n';
    const oui36 = 'Registry,Assignment,Organization Name,Organization Address\nMA-S,0050C2123,"Tiny ""Quoted"" Maker",2 Road\n';
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    const files: Record<string, Uint8Array> = { '/x/oui.csv': bytes(oui), '/x/mam.csv': bytes(mam), '/x/oui36.csv': bytes(oui36) };

    it('finds the organisation of a 24-, 28- or 36-bit assignment, quoted or not', () => {
        expect(organisationIn(bytes(oui), 'MA-L', '001B21')).toBe('Intel Corporate');
        expect(organisationIn(bytes(oui), 'MA-L', 'F4BD9E')).toBe('Cisco Systems, Inc');
        expect(organisationIn(bytes(oui), 'MA-L', '08554 ')).toBeNull();
        expect(organisationIn(bytes(oui), 'MA-L', 'ABCDEF')).toBeNull();
        expect(organisationIn(bytes(oui36), 'MA-S', '0050C2123')).toBe('Tiny "Quoted" Maker');
        // The last line, without a line break after it; a key in an address is not a line's start.
        expect(organisationIn(bytes('h\nMA-L,AAAAAA,Last One,x'), 'MA-L', 'AAAAAA')).toBe('Last One');
        expect(organisationIn(bytes('h\nMA-L,BBBBBB,Z,"road MA-L,AAAAAA, 1"'), 'MA-L', 'AAAAAA')).toBeNull();
    });

    it('looks a MAC up once per prefix, in the smaller registries for the Registration Authority\'s blocks', () => {
        const reads: string[] = [];
        let second = 0;
        const v = new VendorLookup('/x', path => {
            reads.push(path);
            return files[path] ?? null;
        }, () => second);
        expect(v.vendorOf('00:1b:21:aa:bb:cc')).toBe('Intel Corporate');
        expect(v.vendorOf('00:1b:21:11:22:33')).toBe('Intel Corporate');
        expect(reads).toEqual(['/x/oui.csv']);
        expect(v.vendorOf('70:b3:d5:a1:22:33')).toBe('Somebody Small');
        expect(v.vendorOf('00:50:c2:12:34:56')).toBe('Tiny "Quoted" Maker');
        expect(v.vendorOf('00:50:c2:99:34:56')).toBe('');
        // Locally administered (virtual machines, random addresses): no maker, no read.
        const before = reads.length;
        expect(isLocallyAdministered('52:54:00:12:34:56')).toBeTrue();
        expect(v.vendorOf('52:54:00:12:34:56')).toBe('');
        expect(v.vendorOf(null)).toBe('');
        expect(reads.length).toBe(before);
        // A flood of new prefixes: a few lookups a second, the others later.
        second = 1;
        const flood = Array.from({ length: 20 }, (_x, i) => v.vendorOf(`00:${(0x10 + i).toString(16)}:00:00:00:01`));
        expect(reads.length - before).toBe(4);
        // Asked later, those left out are looked up then (and those looked up are not again).
        second = 2;
        expect(v.vendorOf('00:10:00:00:00:01')).toBe('');
        expect(v.vendorOf('00:14:00:00:00:01')).toBe('');
        expect(reads.length - before).toBe(5);
        expect(flood.every(x => x === '')).toBeTrue();
        // Without ieee-data: no maker.
        expect(new VendorLookup('/nowhere', () => null).vendorOf('00:1b:21:aa:bb:cc')).toBe('');
    });

    it('knows the real list Debian ships (ieee-data)', () => {
        const v = new VendorLookup();
        expect(v.vendorOf('00:1b:21:aa:bb:cc')).toMatch(/Intel/);
        expect(v.vendorOf('f4:bd:9e:00:00:01')).toMatch(/Cisco/);
    });
});

describe('share-this-cd computers (as root: the settings file)', () => {
    it('allows, names, ignores, forgets and lists computers, and refuses bad input changing nothing', () => {
        const dir = makeTree({});
        const env = { SHARE_THIS_CD_STATE_DIR: `${dir}/state`, SHARE_THIS_CD_RUNTIME_DIR: `${dir}/run` };
        try {
            expect(runCli(['computers', 'allow', '00-1B-21-AA-BB-CC', '--name', 'Desk 4'], env).status).toBe(0);
            expect(runCli(['computers', 'ignore', '52:54:00:12:34:56'], env).status).toBe(0);
            expect(runCli(['computers', 'access', 'allowed'], env).status).toBe(0);
            const saved = JSON.parse(readText(`${dir}/state/settings.json`));
            expect(saved.access).toBe('allowed');
            expect(saved.computers).toEqual([{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', allowed: true }, { mac: '52:54:00:12:34:56', name: '', allowed: false }]);
            const list = runCli(['computers', 'list'], env);
            expect(list.stdout).toContain('Only the computers allowed may start from this CD.');
            expect(list.stdout).toMatch(/^00:1b:21:aa:bb:cc\tDesk 4\tallowed\tIntel[^\t]*\t-\t-\t-$/m);
            expect(list.stdout).toMatch(/^52:54:00:12:34:56\t-\tignored\t-\t/m);
            const json = JSON.parse(runCli(['computers', '--json'], env).stdout);
            expect(json.computers[0]).toEqual(jasmine.objectContaining({ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', access: 'allowed' }));
            expect(runCli(['computers', 'name', '00:1b:21:aa:bb:cc', 'Front desk'], env).stdout).toContain('is called “Front desk” now');
            expect(runCli(['computers', 'forget', '52:54:00:12:34:56'], env).status).toBe(0);
            const before = readText(`${dir}/state/settings.json`);
            for (const [args, pattern, code] of [
                [['computers', 'allow', 'desk4'], /not a computer's network address/, 1],
                [['computers', 'allow'], /Usage: share-this-cd computers allow MAC/, 2],
                [['computers', 'name', '00:1b:21:aa:bb:cc', 'x'.repeat(65)], /at most 64/, 1],
                [['computers', 'access', 'everyone'], /any or allowed/, 1],
                [['computers', 'shout'], /Unknown computers command/, 2],
                [['computers', 'ignore', '00:1b:21:aa:bb:cc', '--name', 'x'], /--name goes with “computers allow” only/, 2],
                [['status', 'extra'], /Unexpected argument/, 2],
            ] as [string[], RegExp, number][]) {
                const r = runCli(args, env);
                expect(r.status).withContext(args.join(' ')).toBe(code);
                expect(r.stderr).withContext(args.join(' ')).toMatch(pattern);
            }
            expect(readText(`${dir}/state/settings.json`)).toBe(before);
            expect(JSON.parse(before).computers).toEqual([{ mac: '00:1b:21:aa:bb:cc', name: 'Front desk', allowed: true }]);
        } finally {
            removeTree(dir);
        }
    });

    it('stop asks before stopping computers that run from the share, and needs --force where nobody can be asked', () => {
        const dir = makeTree({});
        const env = { SHARE_THIS_CD_STATE_DIR: `${dir}/state`, SHARE_THIS_CD_RUNTIME_DIR: `${dir}/run` };
        try {
            const client = (mac: string, name: string, stage: string): object => ({ id: mac, mac, ip: '10.0.0.9', arch: 'bios', stage, firstSeen: 1, lastSeen: 2, fetched: [], detail: '', nfsBytes: 0,
                name, access: '', vendor: name === '' ? '' : 'Intel Corporate' });
            writeText(`${dir}/run/status.json`, JSON.stringify({ state: 'sharing', pid: 999999, interface: 'br0', address: '10.0.0.1', mode: 'proxy', medium: '/m', label: 'Ubuntu 24.04 LTS',
                entries: [], defaultEntry: null, http: 80, clientCount: 2, notices: [],
                clients: [client('00:1b:21:aa:bb:cc', 'Desk 4', 'up'), client('00:1b:21:aa:bb:cd', '', 'running'), client('00:1b:21:aa:bb:ce', '', 'waiting')] }));
            // A share holds the runtime folder's lock (as flock(1) does for the engine): one process, the lock on
            // its descriptor 9 (flock's own `flock FILE sleep 60` would leave its sleep behind when killed).
            const holder = Gio.Subprocess.new(['sh', '-c', 'exec 9>"$1" && flock 9 && exec sleep 60', 'sh', `${dir}/run/lock`], Gio.SubprocessFlags.NONE);
            for (let i = 0; i < 50 && !GLib.file_test(`${dir}/run/lock`, GLib.FileTest.EXISTS); i++)
                GLib.usleep(20000);
            GLib.usleep(100000);
            // Standard input is not a terminal here.
            const r = runCli(['stop'], env);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain('2 computers are running Ubuntu 24.04 LTS from this computer. They will stop working. Stop sharing?');
            expect(r.stderr).toContain('  Desk 4 (00:1b:21:aa:bb:cc, Intel Corporate, BIOS) 10.0.0.9\n');
            expect(r.stderr).toContain('  00:1b:21:aa:bb:cd (BIOS) 10.0.0.9\n');
            expect(r.stderr).not.toContain('00:1b:21:aa:bb:ce');
            expect(r.stderr).toContain('share-this-cd stop --force');
            expect(readText(`${dir}/run/status.json`)).toContain('Desk 4');
            // On a terminal (script(1) gives it one) the question is asked: "n", or nothing, keeps sharing.
            const onTerminal = (answer: string): CliResult => {
                const proc = Gio.Subprocess.new(['env', ...Object.entries({ ...env, LANGUAGE: 'C', LC_ALL: 'C.UTF-8' }).map(([k, v]) => `${k}=${v}`),
                    'script', '-qec', `gjs -m ${CLI} stop`, '/dev/null'], Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE);
                const [, out] = proc.communicate_utf8(`${answer}\n`, null);
                return { status: proc.get_exit_status(), stdout: out ?? '', stderr: '' };
            };
            const kept = onTerminal('n');
            expect(kept.status).toBe(1);
            expect(kept.stdout).toContain('2 computers are running Ubuntu 24.04 LTS from this computer.');
            expect(kept.stdout).toContain('Stop sharing? [y/N]');
            expect(kept.stdout).toContain('Sharing goes on.');
            expect(onTerminal('').stdout).toContain('Sharing goes on.');
            expect(readText(`${dir}/run/status.json`)).toContain('Desk 4');
            // --force: no question (what the stop itself does is the engine's specs' business).
            const forced = runCli(['stop', '--force'], env);
            expect(`${forced.stdout}${forced.stderr}`).not.toContain('Stop sharing?');
            holder.force_exit();
            holder.wait(null);
        } finally {
            removeTree(dir);
        }
    });
});

function writeText(path: string, text: string): void {
    GLib.mkdir_with_parents(path.slice(0, path.lastIndexOf('/')), 0o755);
    GLib.file_set_contents(path, text);
}
