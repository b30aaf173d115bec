// The applet in a desktop session (src/lab/desktop.ts: Xvfb, a tray, a session bus, a notification server,
// all as user "nobody"), talking to the real helper on a private system bus with the real polkitd, the helper
// in the lab network as on a live session (its medium on /run/live/medium). The menu is driven with the mouse
// and the keyboard (xdotool); what it shows is read from screenshots (tesseract) and from the applet's log.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { AppletLab } from '../../src/lab/appletLab.ts';
import type { Desktop } from '../../src/lab/desktop.ts';
import { ocr } from '../../src/lab/ocr.ts';
import { BUS_NAME } from '../../src/shared/dbus.ts';
import { removeTree } from '../support/helpers.ts';
import { AppletSuite, CLIENT, CLIENT_MAC, NOTHING_LEFT, SRV_IP, clientDhcp, leftovers, ns, pxeProbe, sh, sleep } from '../support/lab.ts';

const TIMEOUT = 90000;

describe('the applet', () => {
    let lab: AppletLab;
    let desktop: Desktop;
    let medium: string;
    const suite = new AppletSuite(93);
    const views = (): string[] => lab.views();
    const waitView = (re: RegExp, from: number, timeoutMs = 30000): Promise<string> => lab.waitView(re, from, timeoutMs);
    async function menuText(name: string): Promise<string> {
        return lab.menuShot(`${suite.shots}/${name}.png`);
    }
    /** An ISO image of the medium, readable by the desktop's user, in a new directory (removed by the caller). */
    function makeIso(): { dir: string; iso: string } {
        const dir = GLib.dir_make_tmp('share-this-cd-iso-XXXXXX');
        const iso = `${dir}/ubuntu-live.iso`;
        const made = sh(['xorriso', '-as', 'mkisofs', '-R', '-J', '-V', 'LIVE', '-o', iso, medium]);
        expect(made.status).withContext(made.stderr).toBe(0);
        sh(['chmod', '-R', 'a+rX', dir]);
        return { dir, iso };
    }
    /** Switches sharing off from the menu and waits until the applet shows it stopped. */
    async function switchOff(): Promise<void> {
        const from = views().length;
        await lab.menu('s');
        await waitView(/state=stopped /, from);
    }
    /** The helper's Medium property: what is shared. */
    function sharedMedium(): unknown {
        return lab.bus.connection().call_sync(BUS_NAME, '/io/github/ShareThisCD1', 'org.freedesktop.DBus.Properties', 'Get',
            new GLib.Variant('(ss)', ['io.github.ShareThisCD1', 'Medium']), null, 0, 5000, null).recursiveUnpack();
    }

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        lab = await suite.start();
        desktop = lab.desktop;
        medium = suite.medium;
    }, TIMEOUT);
    afterAll(() => suite.stop());

    it('shows its icon in the tray, as an Ayatana indicator, and a menu with the switch', async () => {
        expect(lab.appletLog()).toContain('tray: indicator');
        desktop.screenshot(`${suite.shots}/tray.png`);
        const g = desktop.trayGeometry();
        // The icon: dark pixels on the tray's light background.
        const mean = Number(sh(['convert', `${suite.shots}/tray.png`, '-crop', `${g.WIDTH}x${g.HEIGHT}+${g.X}+${g.Y}`, '-colorspace', 'Gray', '-format', '%[fx:minima]', 'info:']).stdout);
        expect(mean).toBeLessThan(0.6); // the background is 0xdddddd (0.87)
        const text = await menuText('menu-off');
        desktop.key('Escape');
        for (const item of ['Share this CD', 'Not sharing', 'Computers', 'Share an ISO file', 'Settings', 'Help', 'Quit'])
            expect(text).withContext(text).toContain(item);
    });

    it('turns sharing on through the helper (no password in a live session), and says where', async () => {
        const from = views().length;
        await lab.menu('s');
        await waitView(/state=sharing .*status="Sharing on br0 \(10\.77\.0\.1\) — 0 computers"/, from);
        expect(lab.state()).toBe('sharing');
        const text = await menuText('menu-sharing');
        desktop.key('Escape');
        // (OCR may read the digit 0 of "br0" as the letter O)
        expect(text).toMatch(/Sharing on br[0O] \(10\.77\.0\.1\) — 0 computers/);
    });

    it('counts a computer that boots, notifies, and lists it in the Computers window', async () => {
        const from = views().length;
        clientDhcp();
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
        await waitView(/clients=1 title="Share This CD: 1 computer is booting from this CD"/, from);
        await desktop.until(() => desktop.notifications().some(n => n.summary === 'A computer is booting from this CD' && n.body.includes(CLIENT_MAC)),
            'the booting notification', 10000);
        await lab.menu('c');
        await desktop.until(() => desktop.windows('^Computers booting from this CD$').length > 0, 'the Computers window', 10000);
        await sleep(500);
        desktop.screenshot(`${suite.shots}/computers.png`);
        const text = ocr(`${suite.shots}/computers.png`);
        expect(text).withContext(text).toContain('loading the system');
        expect(text).withContext(text).toContain(CLIENT_MAC);
        expect(text.replace(/\s/g, '')).withContext(text).toContain('10.77.0.');
        // It goes quiet: the count goes back to 0.
        await waitView(/state=sharing available=yes clients=0/, from + 1, 30000);
        desktop.xdotool(['search', '--name', '^Computers booting from this CD$', 'windowclose']);
    });

    it('in "only allowed" mode asks about a computer that waits; Allow in the notification lets it start; it is named in the Computers window', async () => {
        const call = (method: string, params: GLib.Variant): void => {
            lab.bus.connection().call_sync(BUS_NAME, '/io/github/ShareThisCD1', 'io.github.ShareThisCD1', method, params, null, Gio.DBusCallFlags.NONE, 10000, null);
        };
        const computers = (): unknown => lab.bus.connection().call_sync(BUS_NAME, '/io/github/ShareThisCD1', 'org.freedesktop.DBus.Properties', 'Get',
            new GLib.Variant('(ss)', ['io.github.ShareThisCD1', 'Computers']), null, 0, 5000, null).recursiveUnpack();
        call('SetAccess', new GLib.Variant('(s)', ['allowed']));
        let from = views().length;
        expect(pxeProbe(0, { waitMs: 1500 }).filter(o => o.server === SRV_IP)).toEqual([]);
        await waitView(/access=allowed computers=\[52:54:00:aa:00:02 \S* waiting\]/, from);
        await desktop.until(() => desktop.notifications().some(n => n.summary === 'A computer asks to start from this CD' && n.body.includes(CLIENT_MAC)), 'the question', 15000);
        desktop.screenshot(`${suite.shots}/waiting.png`);
        // Allow, from the notification server's own menu of the notification's actions.
        const picked = desktop.notificationAction('Allow');
        expect(picked.status).withContext(picked.stderr).toBe(0);
        await desktop.until(() => JSON.stringify(computers()) === JSON.stringify([[{ mac: CLIENT_MAC, name: '', allowed: true }]]), 'the computer allowed', 15000);
        let offer: Record<string, unknown>[] = [];
        for (let i = 0; i < 6 && offer.length === 0; i++)
            offer = pxeProbe(0, { waitMs: 1500 }).filter(o => o.server === SRV_IP);
        expect(offer.length).toBeGreaterThan(0);
        // Named from the Computers window, with the keyboard: the row, "Name…", the name, Enter.
        from = views().length;
        await lab.menu('c');
        await desktop.until(() => desktop.windows('^Computers booting from this CD$').length > 0, 'the Computers window', 10000);
        desktop.focus('^Computers booting from this CD$');
        desktop.key('Down', 'alt+n');
        await desktop.until(() => desktop.windows('^Name a Computer$').length > 0, 'the name dialog', 10000);
        desktop.focus('^Name a Computer$');
        desktop.type('Desk 4');
        desktop.key('Return');
        await desktop.until(() => JSON.stringify(computers()) === JSON.stringify([[{ mac: CLIENT_MAC, name: 'Desk 4', allowed: true }]]), 'the computer named', 15000);
        await waitView(/computers=\[52:54:00:aa:00:02 "Desk 4" /, from);
        await sleep(500);
        desktop.screenshotOf({ title: '^Computers booting from this CD$' }, `${suite.shots}/computers-named.png`);
        // Its row is the selected one (light text on the selection's colour): read as one line.
        sh(['convert', `${suite.shots}/computers-named.png`, '-crop', '720x24+0+25', '+repage', `${suite.shots}/computers-named-row.png`]);
        const text = ocr(`${suite.shots}/computers-named-row.png`, 'line');
        expect(text).withContext(text).toMatch(/^Desk 4 10\.77\.0\.\d+ BIOS .* may start \d\d:\d\d$/m);
        desktop.xdotool(['search', '--name', '^Computers booting from this CD$', 'windowclose']);
    });

    it('asks before stopping while a computer runs from the share, naming it; "Keep Sharing" keeps it', async () => {
        // The computer mounts the medium and reads it slowly (a running live system holds its NFS connection).
        // (the export: a packed copy of the medium, or the medium's own mount)
        const file = 'casper/minimal.standard.live.squashfs';
        ns(CLIENT, ['sh', '-c', `((nfs-cat nfs://${SRV_IP}/run/share-this-cd/nfs/${file} || nfs-cat nfs://${SRV_IP}/run/live/medium/${file}) | (sleep 20; cat > /dev/null)) > /dev/null 2>&1 &`]);
        let from = views().length;
        await waitView(/computers=\[52:54:00:aa:00:02 "Desk 4" \S+ running/, from);
        await lab.menu('s');
        await desktop.until(() => desktop.windows('^Stop Sharing\\?$').length > 0, 'the question', 10000);
        await sleep(300);
        desktop.screenshotOf({ title: '^Stop Sharing\\?$' }, `${suite.shots}/stop-question.png`);
        const text = ocr(`${suite.shots}/stop-question.png`).replace(/\s+/g, ' ');
        expect(text).withContext(text).toContain('1 computer is running');
        expect(text).withContext(text).toContain('from this computer. It will stop working. Stop sharing?');
        expect(text).withContext(text).toContain('Desk 4');
        desktop.focus('^Stop Sharing\\?$');
        desktop.key('alt+k');
        await desktop.until(() => desktop.windows('^Stop Sharing\\?$').length === 0, 'the question closed', 10000);
        await sleep(500);
        expect(lab.state()).toBe('sharing');
        from = views().length;
        await lab.menu('s');
        await desktop.until(() => desktop.windows('^Stop Sharing\\?$').length > 0, 'the question again', 10000);
        desktop.focus('^Stop Sharing\\?$');
        desktop.key('alt+s');
        await waitView(/state=stopped /, from);
        expect(leftovers()).toEqual(NOTHING_LEFT);
        // The next share answers any computer again.
        lab.bus.connection().call_sync(BUS_NAME, '/io/github/ShareThisCD1', 'io.github.ShareThisCD1', 'SetAccess', new GLib.Variant('(s)', ['any']), null, 0, 10000, null);
        from = views().length;
        await lab.menu('s');
        await waitView(/state=sharing .*access=any/, from);
    });

    it('turns sharing off: the helper stops and nothing is left', async () => {
        const from = views().length;
        await lab.menu('s');
        await waitView(/state=stopped .*status="Not sharing"/, from);
        expect(lab.state()).toBe('stopped');
        expect(leftovers()).toEqual(NOTHING_LEFT);
    });

    it('shows the helper\'s sentence in a notification when sharing fails, and the switch goes back off', async () => {
        // Refused at once: an interface that does not exist.
        lab.writePrefs({ interface: 'eth9' });
        let from = views().length;
        await lab.menu('s');
        await desktop.until(() => desktop.notifications().some(n => n.summary === 'Sharing could not start' && n.body.includes('There is no network interface called “eth9”')),
            'the error notification', 15000);
        await waitView(/state=stopped .*switch=off/, from);
        // Failing while sharing: the DHCP server dies.
        lab.writePrefs({ interface: 'br0' });
        from = views().length;
        await lab.menu('s');
        await waitView(/state=sharing/, from);
        const dnsmasq = leftovers().processes.find(p => p.startsWith('dnsmasq('));
        expect(dnsmasq).toBeDefined();
        sh(['kill', '-9', (/\((\d+)\)/.exec(dnsmasq as string) as RegExpExecArray)[1]]);
        await waitView(/state=failed .*switch=off/, from);
        // What it means in the applet's own words (its user's language), then the helper's sentence.
        await desktop.until(() => desktop.notifications().some(n => n.summary === 'Sharing stopped'
            && /^A server of the share could not run\.\nThe (DHCP|TFTP) server \(dnsmasq\) stopped unexpectedly/.test(n.body)), 'the failure notification', 15000);
        expect(leftovers()).toEqual(NOTHING_LEFT);
        const text = await menuText('menu-failed');
        desktop.key('Escape');
        expect(text).toContain('A server of the share could not run.');
    });

    it('shares an ISO file chosen in "Share an ISO file…", typed from the keyboard', async () => {
        const { dir, iso } = makeIso();
        try {
            const from = views().length;
            await lab.menu('i');
            await desktop.until(() => desktop.windows('^Share an ISO File$').length > 0, 'the file chooser', 10000);
            await sleep(500);
            desktop.focus('^Share an ISO File$');
            desktop.key('ctrl+l');
            desktop.type(iso);
            await sleep(300);
            desktop.key('Return');
            await waitView(/state=sharing /, from);
            expect(lab.appletLog()).toContain('state=sharing');
            expect(sharedMedium()).toEqual(['/run/share-this-cd/iso']);
            // Saved when the helper's reply to Start arrives (just after State=sharing).
            await desktop.until(() => lab.prefs().sharedIso === iso, 'the ISO file in the settings', 5000);
            expect(lab.prefs().wasSharing).toBeTrue();
            await switchOff();
            expect(leftovers()).toEqual(NOTHING_LEFT);
        } finally {
            removeTree(dir);
        }
    });

    it('has Settings that work from the keyboard alone, and a Help that says which key opens the boot menu', async () => {
        await lab.menu('e');
        await desktop.until(() => desktop.windows('^Share This CD Settings$').length > 0, 'the Settings dialog', 10000);
        await sleep(500);
        desktop.focus('^Share This CD Settings$');
        desktop.key('alt+n'); // "Next to the network's router"
        desktop.key('alt+t'); // "Fast transfer over HTTP" off
        desktop.key('alt+s'); // Save
        await desktop.until(() => lab.prefs().mode === 'proxy', 'the saved settings', 5000);
        expect(lab.prefs()).toEqual(jasmine.objectContaining({ interface: 'br0', mode: 'proxy', http: false }));
        await lab.menu('h');
        await desktop.until(() => desktop.windows('^Help: Share This CD$').length > 0, 'the Help window', 10000);
        await sleep(500);
        desktop.screenshotOf({ title: '^Help: Share This CD$' }, `${suite.shots}/help.png`);
        const text = ocr(`${suite.shots}/help.png`);
        expect(text).withContext(text).toContain('F12');
        desktop.focus('^Help: Share This CD$');
        desktop.key('Escape');
        await desktop.until(() => desktop.windows('^Help: Share This CD$').length === 0, 'Help to close', 5000);
        lab.writePrefs({ interface: 'br0' });
    });

    it('offers the shared medium\'s boot entries in Settings, and shares with the default entry chosen there', async () => {
        const property = (name: string): unknown => (lab.bus.connection().call_sync(BUS_NAME, '/io/github/ShareThisCD1', 'org.freedesktop.DBus.Properties', 'Get',
            new GLib.Variant('(ss)', ['io.github.ShareThisCD1', name]), null, 0, 5000, null).recursiveUnpack() as unknown[])[0];
        // Shared once: the applet keeps the medium's entries, as the helper's Entries property gives them.
        let from = views().length;
        await lab.menu('s');
        await waitView(/state=sharing /, from);
        const entries = property('Entries') as string[];
        expect(entries.length).toBeGreaterThan(1);
        expect(entries).toContain(property('DefaultEntry') as string);
        await desktop.until(() => JSON.stringify((lab.prefs().knownEntries as { entries?: string[] } | undefined)?.entries) === JSON.stringify(entries),
            'the medium\'s entries in the settings', 5000);
        await switchOff();
        // Settings, from the keyboard: the default-entry list (Alt+D), two entries down, Save.
        await lab.menu('e');
        await desktop.until(() => desktop.windows('^Share This CD Settings$').length > 0, 'the Settings dialog', 10000);
        await sleep(500);
        desktop.focus('^Share This CD Settings$');
        desktop.key('alt+d');
        desktop.key('Down');
        desktop.key('Down');
        desktop.key('alt+s');
        const chosen = entries[1];
        await desktop.until(() => (lab.prefs().defaultEntry as { label?: string } | null)?.label === chosen, 'the chosen entry in the settings', 5000);
        // Sharing again starts that entry by default.
        from = views().length;
        await lab.menu('s');
        await waitView(/state=sharing /, from);
        expect(property('DefaultEntry')).toBe(chosen);
        await switchOff();
        expect(leftovers()).toEqual(NOTHING_LEFT);
        lab.writePrefs({ interface: 'br0' });
    });

    it('falls back to a Gtk.StatusIcon when the indicator library is not installed', async () => {
        await lab.stopApplet();
        const typelib = sh(['sh', '-c', 'ls /usr/lib/*/girepository-1.0/AyatanaAppIndicator3-0.1.typelib']).stdout.trim().split('\n')[0];
        expect(typelib).not.toBe('');
        await lab.startApplet({}, [], [['/dev/null', typelib]]);
        expect(lab.appletLog()).toContain('AyatanaAppIndicator3 is not available');
        expect(lab.appletLog()).toContain('tray: statusicon');
        const text = await menuText('menu-statusicon');
        desktop.key('Escape');
        for (const item of ['Share this CD', 'Computers', 'Quit'])
            expect(text).withContext(text).toContain(item);
        await lab.stopApplet();
        await lab.startApplet();
    });

    it('shares again at login (autostart in a live session) when the user chose so and sharing was on', async () => {
        await lab.stopApplet();
        lab.writePrefs({ interface: 'br0', resumeAtLogin: true, wasSharing: true });
        const cmdline = `${desktop.dir}/live-cmdline`;
        GLib.file_set_contents(cmdline, 'BOOT_IMAGE=/casper/vmlinuz boot=casper quiet splash ---\n');
        await lab.startApplet({}, ['--autostart'], [[cmdline, '/proc/cmdline']]);
        await waitView(/state=sharing /, 0);
        expect(lab.state()).toBe('sharing');
        await switchOff();
        await desktop.until(() => lab.prefs().wasSharing === false, 'sharing off in the settings', 5000);
        await lab.stopApplet();

        // An ISO file shared when sharing was last on is shared again, not the live medium.
        const { dir, iso } = makeIso();
        try {
            lab.writePrefs({ interface: 'br0', resumeAtLogin: true, wasSharing: true, sharedIso: iso });
            await lab.startApplet({}, ['--autostart'], [[cmdline, '/proc/cmdline']]);
            await waitView(/state=sharing /, 0);
            expect(sharedMedium()).toEqual(['/run/share-this-cd/iso']);
            await switchOff();
            expect(leftovers()).toEqual(NOTHING_LEFT);
        } finally {
            removeTree(dir);
        }
        await lab.stopApplet();
        lab.writePrefs({ interface: 'br0' });
        await lab.startApplet();
    });

    it('shows its menu in German with LANGUAGE=de', async () => {
        await lab.stopApplet();
        await lab.startApplet({ LANGUAGE: 'de' });
        const text = await menuText('menu-de');
        desktop.key('Escape');
        for (const item of ['Diese CD freigeben', 'Rechner', 'Einstellungen', 'Hilfe', 'Beenden'])
            expect(text).withContext(text).toContain(item);
    });

    it('says clearly when the helper is missing, and the switch stays off', async () => {
        await lab.stopApplet();
        const pid = lab.bus.helperPid();
        if (pid !== null) {
            GLib.spawn_command_line_sync(`kill -TERM ${pid}`);
            await lab.bus.waitForName(BUS_NAME, false, 15000);
        }
        lab.bus.removeHelperService();
        const from = 0;
        await lab.startApplet();
        await waitView(/available=no .*status="The Share This CD service is not installed or could not start/, from);
        await lab.menu('s');
        await desktop.until(() => desktop.notifications().some(n => n.summary === 'Sharing could not start' && n.body.startsWith('The Share This CD service is not installed')),
            'the notification', 15000);
        await waitView(/switch=off/, from + 1);
    });
});
