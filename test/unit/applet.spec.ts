// The applet's pure parts (what it shows for each helper state, the Computers rows, notifications, its
// settings) and its shipped files: launcher, autostart, AppStream metainfo, icons and translations.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readTextFile } from '../../src/shared/fsutil.ts';
import { type ClientView, type HelperView, UNKNOWN_VIEW, bootingNotification, clientRows, failureText, isLiveCmdline, mergeProperties, newNotices, newlyBooting, newlyWaiting,
    present, questionsToAsk, runningComputers, sinceText, waitingNotification } from '../../src/applet/model.ts';
import { errorSummary, helperErrorText } from '../../src/shared/helperCalls.ts';
import { DEFAULT_PREFS, PrefsStore, parsePrefs, wantedDefaultEntry } from '../../src/applet/prefs.ts';
import { sh } from '../../src/lab/net.ts';
import { CLI, LazyTmpDir, TOP, makeTree, removeTree } from '../support/helpers.ts';

const SHARING: HelperView = {
    available: true, state: 'sharing', lastError: '', lastErrorCode: '', progress: '', iface: 'enp3s0', address: '192.168.1.20', mode: 'proxy', medium: '/cdrom',
    mediumLabel: 'Ubuntu 24.04 LTS', entries: [], defaultEntry: '', clientCount: 0, clients: [], notices: [], access: 'any', computers: [],
};
const client = (mac: string, stage: string, firstSeen = 1000): ClientView => ({ mac, ip: `10.0.0.${mac.slice(-1)}`, arch: 'uefi', stage, detail: '', firstSeen, lastSeen: firstSeen,
    name: '', access: '', vendor: '' });

describe('the applet\'s presentation', () => {
    it('is off, with a switch to turn on, when nothing is shared', () => {
        const p = present({ ...UNKNOWN_VIEW, available: true });
        expect(p).toEqual({ icon: 'share-this-cd-off-symbolic', title: 'Share This CD: not sharing', tooltip: 'Share This CD: not sharing\nNot sharing',
            label: '', statusLine: 'Not sharing', switchActive: false, switchSensitive: true });
    });

    it('says where it shares and how many computers boot', () => {
        expect(present(SHARING).statusLine).toBe('Sharing on enp3s0 (192.168.1.20) — 0 computers');
        expect(present(SHARING).icon).toBe('share-this-cd-sharing-symbolic');
        const three = present({ ...SHARING, clientCount: 3 });
        expect(three.statusLine).toBe('Sharing on enp3s0 (192.168.1.20) — 3 computers');
        expect(three.title).toBe('Share This CD: 3 computers are booting from this CD');
        expect(three.label).toBe('3');
        expect(three.icon).toBe('share-this-cd-booting-symbolic');
        expect(present({ ...SHARING, clientCount: 1 }).title).toBe('Share This CD: 1 computer is booting from this CD');
        expect(present({ ...SHARING, clientCount: 1 }).statusLine).toBe('Sharing on enp3s0 (192.168.1.20) — 1 computer');
        expect(present(SHARING, n => n === 'enp3s0' ? 'Wired connection 1' : n).statusLine).toBe('Sharing on Wired connection 1 (192.168.1.20) — 0 computers');
    });

    it('does not let the switch be used while the helper starts or stops', () => {
        expect(present({ ...SHARING, state: 'starting' })).toEqual(jasmine.objectContaining({ switchActive: true, switchSensitive: false, statusLine: 'Starting to share…' }));
        // The helper's step under way, while it starts (the DHCP probe's seconds are what the user waits for).
        const probing = mergeProperties({ ...SHARING, state: 'starting' }, { Progress: 'Looking for other DHCP servers on enp3s0 (up to 3 s)…' });
        expect(present(probing).statusLine).toBe('Looking for other DHCP servers on enp3s0 (up to 3 s)…');
        expect(present(mergeProperties(probing, { State: 'sharing', Progress: '' })).statusLine).toBe('Sharing on enp3s0 (192.168.1.20) — 0 computers');
        expect(present({ ...SHARING, state: 'stopping' })).toEqual(jasmine.objectContaining({ switchActive: false, switchSensitive: false, statusLine: 'Stopping…' }));
    });

    it('shows the helper\'s sentence when sharing failed or the helper is missing', () => {
        const failed = present({ ...SHARING, state: 'failed', lastError: 'The DHCP and TFTP server (dnsmasq) stopped unexpectedly, so sharing was stopped.' });
        expect(failed).toEqual(jasmine.objectContaining({ icon: 'share-this-cd-error-symbolic', switchActive: false, switchSensitive: true,
            statusLine: 'The DHCP and TFTP server (dnsmasq) stopped unexpectedly, so sharing was stopped.' }));
        const missing = present({ ...UNKNOWN_VIEW, lastError: 'The Share This CD service is not installed or could not start (x).' });
        expect(missing).toEqual(jasmine.objectContaining({ icon: 'share-this-cd-error-symbolic', switchActive: false, switchSensitive: true }));
        expect(missing.statusLine).toContain('not installed');
        expect(present(UNKNOWN_VIEW).statusLine).toBe('The sharing service is not available.');
    });
});

describe('the helper\'s properties in the applet', () => {
    it('are merged over what it knew, ignoring mistyped values', () => {
        const v = mergeProperties(UNKNOWN_VIEW, { State: 'sharing', Interface: 'br0', Address: '10.77.0.1', ClientCount: 2, Mode: 7,
            Clients: [{ mac: 'aa', ip: '10.77.0.5', arch: 'bios', stage: 'loading', detail: 'd', first_seen: 5, last_seen: 6 }] });
        expect(v).toEqual({ ...UNKNOWN_VIEW, available: true, state: 'sharing', iface: 'br0', address: '10.77.0.1', clientCount: 2,
            clients: [{ mac: 'aa', ip: '10.77.0.5', arch: 'bios', stage: 'loading', detail: 'd', firstSeen: 5, lastSeen: 6, name: '', access: '', vendor: '' }] });
        expect(mergeProperties(v, { State: 'exploded' }).state).toBe('sharing');
        expect(mergeProperties(v, { ClientCount: 0 })).toEqual({ ...v, clientCount: 0 });
    });
});

describe('choosing and naming computers in the applet', () => {
    const named = (mac: string, stage: string, extra: Partial<ClientView>): ClientView => ({ ...client(mac, stage), ...extra });

    it('reads Access, Computers and each computer\'s name, maker and standing from the helper', () => {
        const v = mergeProperties(SHARING, { Access: 'allowed', Computers: [{ mac: 'aa:01', name: 'Desk 1', allowed: true }, { mac: '', name: 'x', allowed: true }],
            Clients: [{ mac: 'aa:02', ip: '', arch: 'bios', stage: 'waiting', name: '', access: '', vendor: 'Intel Corporate' }] });
        expect(v.access).toBe('allowed');
        expect(v.computers).toEqual([{ mac: 'aa:01', name: 'Desk 1', allowed: true }]);
        expect(v.clients[0]).toEqual(jasmine.objectContaining({ stage: 'waiting', vendor: 'Intel Corporate', access: '' }));
        expect(mergeProperties(v, { Access: 'everyone' }).access).toBe('allowed');
    });

    it('lists names (else address and maker), whether each may start, and the computers remembered but not seen', () => {
        const rows = clientRows([named('aa:02', 'loading', { name: 'Desk 2', access: 'allowed' }), named('aa:03', 'waiting', { vendor: 'Intel Corporate' })], 2000,
            [{ mac: 'aa:02', name: 'Desk 2', allowed: true }, { mac: 'aa:09', name: 'Kiosk', allowed: false }, { mac: 'aa:08', name: '', allowed: true }]);
        expect(rows.map(r => [r.name, r.stage, r.allowed, r.mac])).toEqual([
            ['Desk 2', 'loading the system', 'may start', 'aa:02'],
            ['aa:03 (Intel Corporate)', 'waiting to be allowed', '', 'aa:03'],
            ['Kiosk (aa:09)', 'not seen', 'ignored', 'aa:09'],
            ['aa:08', 'not seen', 'may start', 'aa:08'],
        ]);
    });

    it('asks once about a computer that waits, never about one ignored, and names computers in the booting notification', () => {
        const waiting = named('aa:03', 'waiting', { vendor: 'Intel Corporate' });
        expect(newlyWaiting([], [waiting, named('aa:04', 'waiting', { access: 'ignored' }), client('aa:05', 'loading')])).toEqual([waiting]);
        expect(newlyWaiting([waiting], [waiting])).toEqual([]);
        expect(waitingNotification(waiting)).toEqual({ summary: 'A computer asks to start from this CD',
            body: 'aa:03 (Intel Corporate) (UEFI) is not among the computers allowed to start from this CD.' });
        expect(bootingNotification([named('aa:02', 'loading', { name: 'Desk 2' })], 1).body).toBe('Desk 2. In all, 1 computer is using this share.');
    });

    it('asks a few questions a minute, then says once a minute that more computers ask (made-up addresses must not bury the desktop)', () => {
        const log = { asked: [] as number[], toldMore: null as number | null };
        const many = Array.from({ length: 50 }, (_x, i) => client(`aa:${i}`, 'waiting'));
        let r = questionsToAsk(many.slice(0, 2), log, 0);
        expect([r.ask.length, r.more]).toEqual([2, false]);
        r = questionsToAsk(many.slice(2, 40), log, 1000);
        expect([r.ask.map(c => c.mac), r.more]).toEqual([['aa:2'], true]);
        expect(questionsToAsk(many.slice(40, 45), log, 30000)).toEqual({ ask: [], more: false });
        // A minute after the first ones: questions again, and "more" once more.
        r = questionsToAsk(many.slice(45), log, 61000);
        expect([r.ask.length, r.more]).toEqual([3, true]);
    });

    it('knows which computers run from the share (the question before stopping)', () => {
        const v = { ...SHARING, clients: [client('aa:01', 'up'), client('aa:02', 'running'), client('aa:03', 'loading'), client('aa:04', 'waiting'), client('aa:05', 'gone')] };
        expect(runningComputers(v).map(c => c.mac)).toEqual(['aa:01', 'aa:02']);
        expect(runningComputers({ ...v, state: 'stopping' })).toEqual([]);
    });

    it('says the helper\'s errors in the user\'s words, with the helper\'s sentence as details', () => {
        expect(errorSummary('io.github.ShareThisCD1.Error.NoUsableInterface')).toBe('No usable network connection was found.');
        expect(errorSummary('DhcpConflict')).toBe('Another DHCP server of the network is in the way.');
        expect(errorSummary('org.freedesktop.DBus.Error.AccessDenied')).toContain('not allowed');
        expect(errorSummary('com.example.Other')).toBeNull();
        const failed = { ...SHARING, state: 'failed' as const, lastError: 'Keine Netzwerkschnittstelle.', lastErrorCode: 'NoUsableInterface' };
        expect(present(failed).statusLine).toBe('No usable network connection was found.');
        expect(failureText(failed)).toBe('No usable network connection was found.\nKeine Netzwerkschnittstelle.');
        expect(failureText({ ...failed, lastErrorCode: '' })).toBe('Keine Netzwerkschnittstelle.');
        // A D-Bus error as it arrives.
        const e = Gio.DBusError.new_for_dbus_error('org.freedesktop.DBus.Error.AccessDenied', 'Nicht erlaubt.');
        expect(helperErrorText(e)).toBe('You are not allowed to change sharing on this computer: nothing was changed.\nNicht erlaubt.');
    });
});

describe('the Computers window\'s rows', () => {
    it('list booting computers first (up to their system starting), then running, then gone, oldest first', () => {
        const now = new Date(2026, 10, 26, 15, 0).getTime() / 1000;
        const rows = clientRows([client('aa:01', 'gone', now - 50), client('aa:02', 'up', now - 40), client('aa:03', 'loading', now - 30),
            client('aa:04', 'discovered', now - 60), client('aa:05', 'running', now - 20)], now);
        expect(rows.map(r => r.name)).toEqual(['aa:04', 'aa:03', 'aa:05', 'aa:02', 'aa:01']);
        expect(rows[1]).toEqual({ name: 'aa:03', ip: '10.0.0.3', firmware: 'UEFI', stage: 'loading the system', allowed: '', since: '14:59', mac: 'aa:03' });
        expect(rows.map(r => r.stage)).toEqual(['asked for an address', 'loading the system', 'starting the live system', 'live system running', 'gone']);
    });

    it('name a computer by its address when its MAC is unknown, and give the date of an older one', () => {
        expect(clientRows([{ ...client('', 'loading'), ip: '10.0.0.9', arch: 'unknown' }], 2000)[0]).toEqual(jasmine.objectContaining({ name: '10.0.0.9', firmware: 'unknown' }));
        const day = new Date(2026, 10, 26, 9, 5).getTime() / 1000;
        expect(sinceText(day, day + 3600)).toBe('09:05');
        expect(sinceText(day, day + 86400 * 2)).toBe('2026-11-26 09:05');
    });
});

describe('notifications of booting computers', () => {
    it('name the computers that are new, and not those that are gone', () => {
        const before = [client('aa:01', 'loading')];
        const after = [client('aa:01', 'running'), client('aa:02', 'discovered'), client('aa:03', 'gone')];
        expect(newlyBooting(before, after).map(c => c.mac)).toEqual(['aa:02']);
        expect(bootingNotification([client('aa:02', 'discovered')], 2)).toEqual({ summary: 'A computer is booting from this CD', body: 'aa:02. In all, 2 computers are using this share.' });
        expect(bootingNotification([client('aa:02', 'x'), client('aa:04', 'x')], 2).summary).toBe('2 computers are booting from this CD');
        expect(bootingNotification([client('aa:02', 'x')], 1).body).toBe('aa:02. In all, 1 computer is using this share.');
    });
});

describe('notices of the share', () => {
    it('are notified once each: new ones appended, or after the oldest were dropped; none at the start', () => {
        const a = { ...SHARING, notices: ['A'] };
        expect(newNotices(SHARING, a)).toEqual(['A']);
        expect(newNotices(a, a)).toEqual([]);
        expect(newNotices(a, { ...a, notices: ['A', 'B', 'C'] })).toEqual(['B', 'C']);
        const full = { ...SHARING, notices: ['1', '2', '3', '4', '5', '6', '7', '8'] };
        expect(newNotices(full, { ...full, notices: ['2', '3', '4', '5', '6', '7', '8', '9'] })).toEqual(['9']);
        expect(newNotices({ ...SHARING, state: 'starting' }, a)).toEqual([]);
        expect(newNotices(a, { ...a, state: 'stopped', notices: [] })).toEqual([]);
        expect(mergeProperties(SHARING, { Notices: ['x', 7] }).notices).toEqual(['x', '7']);
    });
});

describe('the applet\'s settings', () => {
    it('fall back to defaults for anything missing, damaged or unsafe', () => {
        for (const text of [null, '', '{', '[]', '7'])
            expect(parsePrefs(text)).toEqual(DEFAULT_PREFS);
        expect(parsePrefs('{"interface": "eth0; reboot", "mode": "rogue", "http": "no"}')).toEqual(DEFAULT_PREFS);
        expect(parsePrefs('{"interface": "enp3s0", "mode": "proxy", "http": false, "resumeAtLogin": true, "wasSharing": true, "sharedIso": "/home/u/ubuntu.iso"}'))
            .toEqual({ interface: 'enp3s0', mode: 'proxy', http: false, resumeAtLogin: true, wasSharing: true, sharedIso: '/home/u/ubuntu.iso', menuTimeout: null,
                defaultEntry: null, knownEntries: null });
        for (const [value, read] of [[45, 45], [0, 0], [3601, null], [-1, null], [2.5, null], ['30', null]] as const)
            expect(parsePrefs(JSON.stringify({ menuTimeout: value })).menuTimeout).withContext(String(value)).toBe(read);
        for (const iso of ['ubuntu.iso', '/a.iso\nb', 7, null])
            expect(parsePrefs(JSON.stringify({ sharedIso: iso })).sharedIso).withContext(String(iso)).toBeNull();
        for (const bad of [{ medium: 'Debian', label: '' }, { medium: 'Debian', label: 'a\nb' }, { medium: 7, label: 'Live' }, 'Live', [], null])
            expect(parsePrefs(JSON.stringify({ defaultEntry: bad })).defaultEntry).withContext(JSON.stringify(bad)).toBeNull();
        for (const bad of [{ medium: 'Debian', entries: [] }, { medium: 'Debian', entries: ['ok', 3] }, { medium: 'Debian', entries: 'Live' }, { entries: ['Live'] }])
            expect(parsePrefs(JSON.stringify({ knownEntries: bad })).knownEntries).withContext(JSON.stringify(bad)).toBeNull();
    });

    it('ask for the default entry chosen in Settings only for the medium it was chosen for, while that medium has it', () => {
        const known = { medium: 'Debian GNU/Linux 12 live', entries: ['Live system (amd64)', 'Live system (amd64 fail-safe mode)'] };
        const chosen = { medium: known.medium, label: 'Live system (amd64 fail-safe mode)' };
        const prefs = parsePrefs(JSON.stringify({ defaultEntry: chosen, knownEntries: known }));
        expect(prefs.defaultEntry).toEqual(chosen);
        expect(wantedDefaultEntry(prefs)).toBe('Live system (amd64 fail-safe mode)');
        // Another medium shared since: its entries are offered, the old choice is not asked for.
        expect(wantedDefaultEntry({ ...prefs, knownEntries: { medium: 'Ubuntu 24.04 LTS', entries: ['Try or Install Ubuntu'] } })).toBeNull();
        expect(wantedDefaultEntry({ ...prefs, knownEntries: { ...known, entries: ['Live system (amd64)'] } })).toBeNull();
        expect(wantedDefaultEntry({ ...prefs, defaultEntry: null })).toBeNull();
    });

    it('take the shared medium\'s entries from the helper\'s properties', () => {
        const v = mergeProperties(SHARING, { Entries: ['Try or Install Ubuntu', 'Ubuntu (safe graphics)'], DefaultEntry: 'Try or Install Ubuntu' });
        expect([v.entries, v.defaultEntry]).toEqual([['Try or Install Ubuntu', 'Ubuntu (safe graphics)'], 'Try or Install Ubuntu']);
        expect(mergeProperties(v, { Entries: 'not a list' }).entries).toEqual(v.entries);
    });

    it('are saved privately and read back', () => {
        const dir = makeTree({});
        try {
            const store = new PrefsStore(`${dir}/config/share-this-cd`);
            store.save({ ...DEFAULT_PREFS, interface: 'br0' });
            expect(store.load().interface).toBe('br0');
            expect(sh(['stat', '-c', '%a', store.path]).stdout.trim()).toBe('600');
        } finally {
            removeTree(dir);
        }
    });
});

describe('the applet started by the session (XDG autostart)', () => {
    it('does nothing and exits when the computer is not a live session', () => {
        // This machine's own kernel command line has neither boot=casper nor boot=live.
        expect(isLiveCmdline(readTextFile('/proc/cmdline') ?? '')).toBeFalse();
        const r = sh(['env', '-u', 'DISPLAY', 'G_MESSAGES_DEBUG=share-this-cd-applet', 'gjs', '-m', `${GLib.path_get_dirname(CLI)}/share-this-cd-applet.js`, '--autostart']);
        expect(r.status).toBe(0);
        expect(r.stdout + r.stderr).toContain('not a live session: the applet is not needed');
    });
});

describe('the live-session test of the autostart', () => {
    it('matches the helper\'s polkit check', () => {
        expect(isLiveCmdline('BOOT_IMAGE=/casper/vmlinuz boot=casper quiet splash ---')).toBeTrue();
        expect(isLiveCmdline('boot=live components')).toBeTrue();
        expect(isLiveCmdline('root=/dev/sda1 ro noboot=live boot=casperx')).toBeFalse();
        expect(isLiveCmdline('')).toBeFalse();
    });
});

describe('the applet\'s shipped files', () => {
    const built = new LazyTmpDir('share-this-cd-merged-XXXXXX');
    afterAll(() => built.remove());
    /** A .desktop.in merged with the translations, as meson installs it. */
    const merge = (input: string, type: '--desktop' | '--xml'): string => {
        const out = `${built.path}/${input.replace(/\.in$/, '')}`;
        const r = sh(['msgfmt', type, '--template', `${TOP}/data/${input}`, '-d', `${TOP}/po`, '-o', out]);
        if (r.status !== 0)
            throw new Error(r.stderr);
        return out;
    };

    it('launcher and autostart pass desktop-file-validate, translated', () => {
        for (const f of ['io.github.ShareThisCD.desktop.in', 'io.github.ShareThisCD-autostart.desktop.in']) {
            const out = merge(f, '--desktop');
            const r = sh(['desktop-file-validate', out]);
            expect(`${r.status} ${r.stdout}${r.stderr}`).withContext(f).toBe('0 ');
            expect(readTextFile(out)).toContain('Comment[de]=Andere Rechner im Netzwerk dieses Live-System starten lassen');
        }
        const autostart = readTextFile(`${TOP}/data/io.github.ShareThisCD-autostart.desktop.in`) ?? '';
        expect(autostart).toContain('Exec=share-this-cd-applet --autostart');
        expect(autostart).toContain('NoDisplay=true');
    });

    it('metainfo passes appstreamcli validate', () => {
        const out = merge('io.github.ShareThisCD.metainfo.xml.in', '--xml');
        const r = sh(['appstreamcli', 'validate', '--no-net', out]);
        expect(r.status).withContext(r.stdout + r.stderr).toBe(0);
        expect(readTextFile(out)).toContain('xml:lang="de"');
    });

    it('icons are well-formed SVG, one for each state the panel shows', () => {
        for (const name of ['apps/io.github.ShareThisCD', 'status/share-this-cd-off-symbolic', 'status/share-this-cd-sharing-symbolic',
            'status/share-this-cd-booting-symbolic', 'status/share-this-cd-error-symbolic']) {
            const r = sh(['xmllint', '--noout', `${TOP}/data/icons/hicolor/scalable/${name}.svg`]);
            expect(r.status).withContext(name + r.stderr).toBe(0);
        }
    });

    it('every translation is complete and passes msgfmt --check', () => {
        const linguas = (readTextFile(`${TOP}/po/LINGUAS`) ?? '').split('\n').filter(l => l.trim() !== '' && !l.startsWith('#'));
        expect(linguas).toContain('de');
        for (const lang of linguas) {
            const r = sh(['msgfmt', '--check', '--statistics', '-o', '/dev/null', `${TOP}/po/${lang}.po`]);
            expect(r.status).withContext(r.stderr).toBe(0);
            expect(r.stderr).withContext(lang).toMatch(/^\d+ translated messages\.\n$/);
        }
        // Nothing translatable is missing from the translation (the template made from po/POTFILES now).
        const pot = `${built.path}/share-this-cd.pot`;
        const files = (readTextFile(`${TOP}/po/POTFILES`) ?? '').split('\n').filter(l => l.trim() !== '').map(f => `${TOP}/${f}`);
        sh(['xgettext', '--from-code=UTF-8', '--keyword=_', '--keyword=ngettext:1,2', '-o', pot, ...files]);
        for (const lang of linguas) {
            const r = sh(['msgcmp', '--use-untranslated', `${TOP}/po/${lang}.po`, pot]);
            expect(r.status).withContext(`po/${lang}.po is behind the sources: ${r.stderr}`).toBe(0);
        }
    });
});
