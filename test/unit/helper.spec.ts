// The helper's pure parts (Start's options, the settings file, error replies) and its shipped data files:
// the interface XML, the bus policy, the activation file, the systemd unit (systemd-analyze verify), the polkit
// action (translatable) and the live-session check.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { InvalidArgs, type WireValue, parseStartOptions } from '../../src/backend/dbus/options.ts';
import { DBusFailure } from '../../src/backend/dbus/polkit.ts';
import { ShareService, clientDict, errorReply } from '../../src/backend/dbus/service.ts';
import { clientsVariant } from '../../src/backend/dbus/properties.ts';
import type { Client } from '../../src/backend/clients.ts';
import { readTextFile } from '../../src/shared/fsutil.ts';
import { DEFAULT_SETTINGS, type Settings, SettingsStore, parseSettings, renderSettings } from '../../src/backend/settings.ts';
import { ERROR_CODES, ERROR_QUARK, INTERFACE_XML, START_OPTIONS, interfaceInfo, registerErrorDomain, remoteError } from '../../src/shared/dbus.ts';
import { helperErrorText, isHelperMissing } from '../../src/shared/helperCalls.ts';
import { ShareError } from '../../src/shared/errors.ts';
import { type ShareOptions, sameOptions } from '../../src/shared/options.ts';
import { sh } from '../../src/lab/net.ts';
import { SESSION_CONDITION, labRule } from '../../src/lab/bus.ts';
import { TOP, makeTree, removeTree } from '../support/helpers.ts';

const IFACES = ['lo', 'eth0', 'br0'];
const str = (value: string): WireValue => ({ type: 's', value });

function invalid(wire: Record<string, WireValue>): string {
    try {
        parseStartOptions(wire, IFACES);
    } catch (e) {
        if (e instanceof InvalidArgs)
            return e.message;
        throw e;
    }
    return '(accepted)';
}

describe('Start options', () => {
    it('are all optional, with the engine defaults', () => {
        expect(parseStartOptions({}, IFACES)).toEqual({
            options: { medium: null, iso: null, interface: null, mode: 'auto', http: true, httpPort: 80, menuTimeout: null, defaultEntry: null }, remember: false,
        });
    });

    it('take every documented key with its type', () => {
        const r = parseStartOptions({
            'interface': str('eth0'), 'mode': str('proxy'), 'medium': str('/run/live/medium'), 'http': { type: 'b', value: false },
            'http-port': { type: 'q', value: 8080 }, 'remember': { type: 'b', value: true },
            'menu-timeout': { type: 'u', value: 0 }, 'default-entry': str('Try Ubuntu (safe graphics)'),
        }, IFACES);
        expect(r).toEqual({ options: { medium: '/run/live/medium', iso: null, interface: 'eth0', mode: 'proxy', http: false, httpPort: 8080,
            menuTimeout: 0, defaultEntry: 'Try Ubuntu (safe graphics)' }, remember: true });
        expect(parseStartOptions({ iso: str('/home/ann/ubuntu 24.04.iso') }, IFACES).options.iso).toBe('/home/ann/ubuntu 24.04.iso');
    });

    const refused: [string, Record<string, WireValue>, string][] = [
        ['an unknown key', { colour: str('blue') }, 'Unknown option “colour”; the options are: interface, mode, medium, iso, http, http-port, remember, menu-timeout, default-entry.'],
        ['a menu timeout as i', { 'menu-timeout': { type: 'i', value: 30 } }, 'The option “menu-timeout” must have the D-Bus type “u”, not “i”.'],
        ['a menu timeout over an hour', { 'menu-timeout': { type: 'u', value: 3601 } }, '“3601” is not a menu timeout'],
        ['a line break in the default entry', { 'default-entry': str('Try\nUbuntu') }, 'The default entry “Try\\nUbuntu” is empty, too long or contains'],
        ['an empty default entry', { 'default-entry': str(' ') }, 'is empty, too long or contains'],
        ['an unknown key with a newline', { 'a\nb': str('x') }, 'Unknown option “a\\nb”'],
        ['mode as a number', { mode: { type: 'i', value: 2 } }, 'The option “mode” must have the D-Bus type “s”, not “i”.'],
        ['http as a string', { http: str('yes') }, 'The option “http” must have the D-Bus type “b”, not “s”.'],
        ['http-port as u', { 'http-port': { type: 'u', value: 80 } }, 'must have the D-Bus type “q”, not “u”'],
        ['port 0', { 'http-port': { type: 'q', value: 0 } }, '“0” is not a valid HTTP port'],
        ['an unknown mode', { mode: str('rogue') }, '“rogue” is not a mode: use auto, proxy or dhcp.'],
        ['a newline in the medium', { medium: str('/cdrom\n/etc') }, 'contains a line break or control character'],
        ['a tab in the interface', { interface: str('eth0\t') }, 'contains a line break or control character'],
        ['“..” in the medium', { medium: str('/cdrom/../etc') }, 'contains “..”'],
        ['“..” in the ISO', { iso: str('/home/../root/x.iso') }, 'contains “..”'],
        ['an empty medium', { medium: str('') }, 'contains a line break or control character'],
        ['a relative medium', { medium: str('cdrom') }, 'The medium path “cdrom” is relative'],
        ['a relative ISO', { iso: str('./x.iso') }, 'The iso path “./x.iso” is relative'],
        ['medium and ISO', { medium: str('/cdrom'), iso: str('/x.iso') }, 'not both'],
        ['an interface name that is not one', { interface: str('eth0; reboot') }, 'is not a network interface name'],
        ['an interface that does not exist', { interface: str('wlan7') }, 'There is no network interface called “wlan7”. Interfaces: lo, eth0, br0.'],
    ];
    for (const [what, wire, message] of refused) {
        it(`refuse ${what}`, () => {
            expect(invalid(wire)).toContain(message);
        });
    }

    it('compare by what is shared and how', () => {
        const a: ShareOptions = { medium: '/cdrom', iso: null, interface: 'eth0', mode: 'auto', http: true, httpPort: 80, menuTimeout: null, defaultEntry: null };
        expect(sameOptions(a, { ...a })).toBeTrue();
        expect(sameOptions(a, { ...a, menuTimeout: 0 })).toBeFalse();
        expect(sameOptions(a, { ...a, defaultEntry: 'Live' })).toBeFalse();
        expect(sameOptions(a, { ...a, http: false })).toBeFalse();
        expect(sameOptions(a, { ...a, interface: null })).toBeFalse();
        expect(sameOptions(a, { ...a, mode: 'proxy' })).toBeFalse();
    });
});

describe('helper settings', () => {
    const last: ShareOptions = { medium: '/cdrom', iso: null, interface: 'eth0', mode: 'proxy', http: true, httpPort: 80, menuTimeout: null, defaultEntry: null };

    it('fall back to defaults for a missing, damaged or foreign file', () => {
        for (const text of [null, '', '{', '[]', '"x"', 'null', '{"sharing": "yes"}'])
            expect(parseSettings(text)).withContext(String(text)).toEqual(DEFAULT_SETTINGS);
    });

    it('never say "share again" without options to share with', () => {
        expect(parseSettings('{"sharing": true, "remember": true}')).toEqual(DEFAULT_SETTINGS);
        expect(parseSettings(JSON.stringify({ sharing: true, remember: true, last: { ...last, mode: 'rogue' } }))).toEqual(DEFAULT_SETTINGS);
        expect(parseSettings(JSON.stringify({ sharing: true, remember: true, last: { ...last, httpPort: '80' } }))).toEqual(DEFAULT_SETTINGS);
    });

    it('read back what they wrote', () => {
        const s: Settings = { version: 1 as const, sharing: true, remember: true, last, owner: 1000, access: 'allowed',
            computers: [{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4 — Ünïcode', allowed: true }, { mac: '52:54:00:12:34:56', name: '', allowed: false }] };
        expect(parseSettings(renderSettings(s))).toEqual(s);
        // The owner is a uid or unknown.
        for (const owner of [-1, 1.5, '1000', 2 ** 32, null])
            expect(parseSettings(renderSettings({ ...s, owner } as unknown as typeof s)).owner).withContext(String(owner)).toBeNull();
    });

    it('are written atomically, world-readable, into a folder made when missing', () => {
        const dir = makeTree({});
        try {
            const store = new SettingsStore(`${dir}/var/lib/share-this-cd`);
            expect(store.load()).toEqual(DEFAULT_SETTINGS);
            store.save({ ...DEFAULT_SETTINGS, sharing: true, remember: false, last, owner: 1000 });
            store.save({ ...DEFAULT_SETTINGS, sharing: false, remember: false, last, owner: 1000 });
            expect(store.load()).toEqual({ ...DEFAULT_SETTINGS, sharing: false, remember: false, last, owner: 1000 });
            // A change keeps what it does not name.
            store.update(() => ({ access: 'allowed', computers: [{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', allowed: true }] }));
            store.update(() => ({ sharing: true }));
            expect(store.load()).toEqual({ ...DEFAULT_SETTINGS, sharing: true, remember: false, last, owner: 1000, access: 'allowed',
                computers: [{ mac: '00:1b:21:aa:bb:cc', name: 'Desk 4', allowed: true }] });
            expect(sh(['ls', '-A', `${dir}/var/lib/share-this-cd`]).stdout.trim()).toBe('settings.json');
            expect(sh(['stat', '-c', '%a', store.path]).stdout.trim()).toBe('644');
        } finally {
            removeTree(dir);
        }
    });
});

describe('helper replies', () => {
    it('map each kind of failure to its D-Bus error name', () => {
        expect(errorReply(new InvalidArgs('bad'))).toEqual(['org.freedesktop.DBus.Error.InvalidArgs', 'bad']);
        expect(errorReply(new DBusFailure('org.freedesktop.DBus.Error.AccessDenied', 'no'))).toEqual(['org.freedesktop.DBus.Error.AccessDenied', 'no']);
        expect(errorReply(new ShareError('DhcpConflict', 'router'))).toEqual(['io.github.ShareThisCD1.Error.DhcpConflict', 'router']);
        const [name, message] = errorReply(new TypeError('x is undefined'));
        expect(name).toBe('io.github.ShareThisCD1.Error.DaemonFailed');
        expect(message).toBe('Internal error of the helper: x is undefined');
    });

    it('carry a client as a{sv} with whole seconds', () => {
        const v = new GLib.Variant('a{sv}', clientDict({ id: 'ip:10.0.0.5', mac: null, ip: '10.0.0.5', arch: 'uefi', stage: 'loading',
            firstSeen: 1700000000.75, lastSeen: 1700000003.2, fetched: ['kernel'], detail: 'sent casper/vmlinuz over HTTP', nfsBytes: 123456789.5,
            name: 'Desk 4', access: 'allowed', vendor: 'Intel Corporate' }));
        expect(v.recursiveUnpack()).toEqual({ mac: '', ip: '10.0.0.5', arch: 'uefi', stage: 'loading', detail: 'sent casper/vmlinuz over HTTP',
            first_seen: 1700000000, last_seen: 1700000003, nfs_bytes: 123456789, name: 'Desk 4', access: 'allowed', vendor: 'Intel Corporate' });
    });
});

describe('shipped data files', () => {
    const data = (name: string): string => readTextFile(`${TOP}/data/${name}`) ?? '';
    const xmllint = (name: string): string => {
        const r = sh(['xmllint', '--noout', '--nonet', `${TOP}/data/${name}`]);
        return `${r.status} ${r.stderr}`;
    };

    it('are well-formed XML (xmllint)', () => {
        for (const f of ['io.github.ShareThisCD1.xml', 'io.github.ShareThisCD1.conf', 'io.github.ShareThisCD1.policy.in'])
            expect(xmllint(f)).withContext(f).toBe('0 ');
    });

    it('interface: the bundled XML is the file, with the methods and typed properties of the design', () => {
        expect(INTERFACE_XML).toBe(data('io.github.ShareThisCD1.xml'));
        const info = interfaceInfo();
        expect(info.methods.map(m => `${m.name}(${m.in_args.map(a => a.signature).join('')})${m.out_args.map(a => a.signature).join('')}`))
            .toEqual(['Start(a{sv})', 'Stop()', 'Probe(s)a{sv}', 'SetAccess(s)', 'SetComputer(sa{sv})', 'ForgetComputer(s)']);
        expect(info.properties.map(p => `${p.name}:${p.signature}:${p.flags}`)).toEqual([
            'State:s:1', 'LastError:s:1', 'LastErrorCode:s:1', 'Progress:s:1', 'Interface:s:1', 'Address:s:1', 'Mode:s:1', 'Medium:s:1', 'MediumLabel:s:1', 'Entries:as:1', 'DefaultEntry:s:1', 'ClientCount:u:1', 'Clients:aa{sv}:1', 'Notices:as:1',
            'Access:s:1', 'Computers:aa{sv}:1',
        ]);
        // Every property has a getter on the exported object.
        for (const p of info.properties)
            expect(Object.getOwnPropertyDescriptor(ShareService.prototype, p.name)?.get).withContext(p.name).toBeDefined();
        // Every Start option and error code is documented in the XML.
        for (const key of Object.keys(START_OPTIONS))
            expect(INTERFACE_XML).toMatch(new RegExp(`\\n +${key} +${START_OPTIONS[key]} `));
        for (const code of ERROR_CODES)
            expect(INTERFACE_XML).toContain(code);
    });

    it('bus policy: only root owns the name; others may call only the interface, Properties, Introspectable and Peer', () => {
        const conf = data('io.github.ShareThisCD1.conf');
        const policies = [...conf.matchAll(/<policy ([^>]*)>([\s\S]*?)<\/policy>/g)].map(m => [m[1], m[2].trim().split(/\n\s*/)]);
        const allow = (iface: string): string => `<allow send_destination="io.github.ShareThisCD1" send_interface="${iface}"/>`;
        expect(policies).toEqual([
            ['user="root"', ['<allow own="io.github.ShareThisCD1"/>', '<allow send_destination="io.github.ShareThisCD1"/>']],
            ['context="default"', ['io.github.ShareThisCD1', 'org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Peer'].map(allow)],
        ]);
    });

    it('activation file: root, the helper, the systemd unit', () => {
        const lines = data('io.github.ShareThisCD1.service.in').split('\n').filter(l => l !== '' && !l.startsWith('#'));
        expect(lines).toEqual(['[D-BUS Service]', 'Name=io.github.ShareThisCD1', 'Exec=@helper@', 'User=root', 'SystemdService=share-this-cd-helper.service']);
    });

    it('systemd unit: Type=dbus with the bus name, hardened, and systemd-analyze verify passes', () => {
        const unit = data('share-this-cd-helper.service.in');
        for (const line of ['Type=dbus', 'BusName=io.github.ShareThisCD1', 'ProtectSystem=strict', 'ReadWritePaths=/run/share-this-cd /var/lib/share-this-cd -/var/lib/nfs',
            'NoNewPrivileges=yes', 'RuntimeDirectoryPreserve=yes'])
            expect(unit.split('\n')).toContain(line);
        // Each bounding capability has its reason in a comment.
        const caps = /^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1].split(' ') ?? [];
        expect(caps.length).toBeGreaterThan(3);
        for (const cap of caps)
            expect(unit).withContext(cap).toMatch(new RegExp(`^#.*${cap}\\b.* [a-z]`, 'm'));
        const dir = makeTree({ 'share-this-cd-helper.service': unit.replace('@helper@', '/bin/true') });
        try {
            const r = sh(['systemd-analyze', 'verify', '--man=no', `${dir}/share-this-cd-helper.service`]);
            expect(`${r.status} ${r.stderr.trim()}`).toBe('0 ');
            // The check catches a broken unit (so a pass means something).
            sh(['sed', '-i', 's/^Type=dbus/Type=dbuss/', `${dir}/share-this-cd-helper.service`]);
            expect(sh(['systemd-analyze', 'verify', '--man=no', `${dir}/share-this-cd-helper.service`]).stderr).toContain('Failed to parse service type');
        } finally {
            removeTree(dir);
        }
    });

    it('polkit action: auth_admin_keep for the active session, and its texts are translatable', () => {
        const policy = data('io.github.ShareThisCD1.policy.in');
        expect(policy).toContain('<action id="io.github.ShareThisCD1.share">');
        expect(policy).toContain('<allow_active>auth_admin_keep</allow_active>');
        const dir = makeTree({});
        try {
            const r = sh(['xgettext', '--its=/usr/share/gettext/its/polkit.its', '--no-wrap', '-o', `${dir}/p.pot`, `${TOP}/data/io.github.ShareThisCD1.policy.in`]);
            expect(r.status).withContext(r.stderr).toBe(0);
            const pot = readTextFile(`${dir}/p.pot`) ?? '';
            expect(pot).toContain('msgid "Share the live system with the local network"');
            expect(pot).toContain('msgid "Authentication is required to let other computers start from this computer\'s live system over the network"');
        } finally {
            removeTree(dir);
        }
    });

    it('live-session check: says yes for casper and live-boot command lines only', () => {
        const cases: [string, number][] = [
            ['BOOT_IMAGE=/casper/vmlinuz boot=casper quiet splash ---', 0],
            ['BOOT_IMAGE=/live/vmlinuz boot=live components quiet splash', 0],
            ['initrd=/casper/initrd boot=casper netboot=nfs nfsroot=10.0.0.1:/run/share-this-cd/medium', 0],
            ['boot=casper', 0],
            ['BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro quiet', 1],
            ['root=/dev/sda1 ro noboot=live', 1],
            ['root=/dev/sda1 boot=casperx', 1],
            ['', 1],
        ];
        const dir = makeTree({});
        try {
            for (const [cmdline, status] of cases) {
                GLib.file_set_contents(`${dir}/cmdline`, `${cmdline}\n`);
                const r = sh(['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                    `mount --bind '${dir}/cmdline' /proc/cmdline && exec '${TOP}/data/share-this-cd-live-session'`]);
                expect(r.status).withContext(cmdline).toBe(status);
                expect(r.stdout).toBe('');
            }
        } finally {
            removeTree(dir);
        }
    });
});

describe('the D-Bus error domain', () => {
    it('registers every code under io.github.ShareThisCD1.Error', () => {
        registerErrorDomain();
        // Gio maps a registered name back to our domain: a remote error arrives with its code.
        const e = Gio.DBusError.new_for_dbus_error('io.github.ShareThisCD1.Error.DhcpConflict', 'router answers');
        expect(Gio.DBusError.get_remote_error(e)).toBe('io.github.ShareThisCD1.Error.DhcpConflict');
        expect(e.domain).toBe(ERROR_QUARK);
        expect(ERROR_CODES[e.code]).toBe('DhcpConflict');
    });

    it('gives a call\'s error name and its sentence without GDBus\'s prefix, as often as asked', () => {
        // (the @girs types lack GLib.Error's (domain, code, message) constructor)
        const e = new (GLib.Error as unknown as new (d: unknown, c: number, m: string) => GLib.Error)(Gio.DBusError, Gio.DBusError.SERVICE_UNKNOWN,
            'GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable');
        const expected = { name: 'org.freedesktop.DBus.Error.ServiceUnknown', code: null, message: 'The name is not activatable' };
        expect(remoteError(e)).toEqual(expected);
        expect(remoteError(e)).toEqual(expected);
        expect(remoteError(new Error('plain'))).toEqual({ name: '', code: null, message: 'plain' });
        expect(isHelperMissing(e)).toBeTrue();
        expect(helperErrorText(e)).toBe('The Share This CD service is not installed or could not start (The name is not activatable).');
    });
});

describe('the shipped polkit rule (its JavaScript, as polkitd runs it)', () => {
    const ACTION = 'io.github.ShareThisCD1.share';
    interface Subject { local: boolean; active: boolean; groups: string[] }
    const YES = 'yes';
    const NOT_HANDLED = 'not-handled';

    /** The rule evaluated with polkit's API: `live` is whether the live-session check program succeeds. */
    function decide(subject: Subject, live: boolean, action = ACTION, text = readTextFile(`${TOP}/data/50-io.github.ShareThisCD1.rules.in`) ?? ''): string {
        const rules: ((a: { id: string }, s: unknown) => string)[] = [];
        const polkit = {
            Result: { YES, NO: 'no', NOT_HANDLED, AUTH_ADMIN: 'auth_admin' },
            addRule: (f: (a: { id: string }, s: unknown) => string) => rules.push(f),
            spawn: () => {
                if (!live)
                    throw new Error('exit status 1');
                return '';
            },
        };
        // The rule is JavaScript for polkitd's interpreter, given `polkit`; evaluated the same way here.
        new Function('polkit', text)(polkit);
        expect(rules.length).toBe(1);
        return rules[0]({ id: action }, { ...subject, isInGroup: (g: string) => subject.groups.includes(g) });
    }
    const seated = { local: true, active: true, groups: ['sudo'] };

    it('lets the live session\'s user seated at the computer share without a password', () => {
        expect(decide(seated, true)).toBe(YES);
    });

    it('leaves every other case to the .policy default (an administrator\'s password)', () => {
        expect(decide({ ...seated, local: false }, true)).withContext('over ssh').toBe(NOT_HANDLED);
        expect(decide({ ...seated, active: false }, true)).withContext('a session in the background').toBe(NOT_HANDLED);
        expect(decide({ ...seated, groups: ['users'] }, true)).withContext('not an administrator').toBe(NOT_HANDLED);
        expect(decide(seated, false)).withContext('an installed system').toBe(NOT_HANDLED);
        expect(decide(seated, true, 'org.freedesktop.udisks2.filesystem-mount')).withContext('another action').toBe(NOT_HANDLED);
    });

    it('is what the lab\'s polkitd (no logind) gets, but for the session condition', () => {
        const text = readTextFile(`${TOP}/data/50-io.github.ShareThisCD1.rules.in`) ?? '';
        const lab = labRule(text);
        expect(lab.split('\n').filter((l, i) => l !== text.split('\n')[i]).length).toBe(1);
        expect(decide({ local: false, active: false, groups: ['sudo'] }, true, ACTION, lab)).toBe(YES);
        expect(() => labRule(text.replace(SESSION_CONDITION, '!subject.local'))).toThrowError(/no longer has/);
    });
});

describe('the Clients property built from its text form', () => {
    const hostile = ["sent medium/a'b\\c\"d over HTTP", 'tab\there\nnew line', '\u0000nul', 'é ü 中文 🙂', '\ud800 lone', '<>{}[],:@%$', ''];

    it('carries every string as it is (quotes, backslashes, newlines, any Unicode), as the packed value would', () => {
        const clients: Client[] = hostile.map((detail, i) => ({ id: `c${i}`, mac: i % 2 === 0 ? `52:54:00:00:00:0${i}` : null, ip: i % 3 === 0 ? null : '10.77.0.9',
            arch: 'uefi', stage: 'loading', firstSeen: 1796073964.7, lastSeen: 1796073999, fetched: ['kernel'], detail, nfsBytes: i * 1e9,
            name: hostile[hostile.length - 1 - i], access: i % 2 === 0 ? 'allowed' : '', vendor: detail }));
        const parsed = clientsVariant(clients).recursiveUnpack() as Record<string, unknown>[];
        const packed = new GLib.Variant('aa{sv}', clients.map(clientDict)).recursiveUnpack() as Record<string, unknown>[];
        // (packing cuts a string at NUL, as C does; the text form keeps the rest, the NUL replaced)
        const clean = (t: string): string => t.replace('\u0000', '\ufffd').replace('\ud800', '\ufffd');
        const expected = packed.map((c, i) => ({ ...c, detail: clean(hostile[i]), vendor: clean(hostile[i]), name: clean(hostile[hostile.length - 1 - i]) }));
        expect(parsed).toEqual(expected);
        expect(clientsVariant([]).recursiveUnpack()).toEqual([]);
    });
});
