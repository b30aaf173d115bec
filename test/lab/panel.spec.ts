// The applet on a real StatusNotifier host: xfce4-panel 4.18's Status Tray (src/lab/desktop.ts), which registers
// org.kde.StatusNotifierWatcher, draws the items' icons and renders their menus from com.canonical.dbusmenu —
// the path of Ubuntu's panel (GNOME Shell's AppIndicator extension), KDE, XFCE, MATE and Budgie. The real helper
// on a private system bus with the real polkitd, a lab client booting; the menu is driven with the mouse and the
// keyboard (xdotool), its text read from screenshots (tesseract).
import { AppletLab } from '../../src/lab/appletLab.ts';
import type { Desktop } from '../../src/lab/desktop.ts';
import { TOP } from '../support/helpers.ts';
import { AppletSuite, CLIENT, SRV_IP, clientDhcp, ns, sh } from '../support/lab.ts';

const TIMEOUT = 90000;

describe('the applet on a real StatusNotifier host (xfce4-panel)', () => {
    let lab: AppletLab;
    let desktop: Desktop;
    const suite = new AppletSuite(94, 'xfce4-panel');

    /** The items registered with the panel's watcher ("BUSNAME/PATH"). */
    function items(): string[] {
        const r = desktop.sessionCall(['org.kde.StatusNotifierWatcher', '/StatusNotifierWatcher', 'org.freedesktop.DBus.Properties.Get',
            'org.kde.StatusNotifierWatcher', 'RegisteredStatusNotifierItems']);
        return [...r.stdout.matchAll(/'([^']+)'/g)].map(m => m[1]);
    }
    /** A property of our item, read from the session bus as the panel reads it. */
    function itemProperty(name: string): string {
        const item = items().find(i => i.includes('/org/ayatana/NotificationItem/'));
        if (item === undefined)
            throw new Error(`no item of ours among ${items().join(', ')}`);
        const slash = item.indexOf('/');
        return desktop.sessionCall([item.slice(0, slash), item.slice(slash), 'org.freedesktop.DBus.Properties.Get', 'org.kde.StatusNotifierItem', name]).stdout;
    }

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        lab = await suite.start();
        desktop = lab.desktop;
    }, TIMEOUT);
    afterAll(() => suite.stop());

    it('registers with the panel\'s StatusNotifierWatcher as an item, and the panel draws its icon', async () => {
        expect(lab.appletLog()).toContain('tray: indicator');
        await desktop.until(() => items().some(i => i.includes('/org/ayatana/NotificationItem/')), 'our item registered', 10000);
        expect(itemProperty('Status')).toContain('Active');
        expect(itemProperty('Title')).toContain('Share This CD: not sharing');
        desktop.screenshot(`${suite.shots}/panel.png`);
        const g = desktop.trayGeometry();
        // The icon: dark pixels in the plugin's box (the panel's background is light).
        const darkest = Number(sh(['convert', `${suite.shots}/panel.png`, '-crop', `${g.WIDTH}x${g.HEIGHT}+${g.X}+${g.Y}`, '-colorspace', 'Gray', '-format', '%[fx:minima]', 'info:']).stdout);
        expect(darkest).toBeLessThan(0.6);
    });

    it('opens its menu in the panel (dbusmenu), shares from it, and the title carries the count', async () => {
        const text = await lab.menuShot(`${suite.shots}/menu-off.png`);
        for (const item of ['Share this CD', 'Not sharing', 'Computers', 'Settings', 'Help', 'Quit'])
            expect(text).withContext(text).toContain(item);
        let from = lab.views().length;
        desktop.key('s');
        await lab.waitView(/state=sharing .*status="Sharing on br0 \(10\.77\.0\.1\) — 0 computers"/, from);
        expect(itemProperty('Title')).toContain('Share This CD: sharing');
        from = lab.views().length;
        clientDhcp();
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
        await lab.waitView(/clients=1 title="Share This CD: 1 computer is booting from this CD"/, from);
        await desktop.until(() => itemProperty('Title').includes('Share This CD: 1 computer is booting from this CD'), 'the title with the count', 5000);
        expect(itemProperty('IconName')).toContain('share-this-cd-booting-symbolic');
        const sharing = await lab.menuShot(`${suite.shots}/menu-sharing.png`);
        desktop.key('Escape');
        // (OCR may read the digit 0 of "br0" as the letter O)
        expect(sharing).withContext(sharing).toMatch(/Sharing on br[0O] \(10\.77\.0\.1\) — 1 computer/);
        // Off from the same menu (nothing runs from the share: no question).
        from = lab.views().length;
        await lab.menu('s');
        await lab.waitView(/state=stopped /, from);
    });

    it('exposes every window and control of its Settings and Computers windows with a role and a name over AT-SPI', async () => {
        // (the desktop's programs run without the accessibility bridge; a screen reader's user has it)
        await lab.stopApplet();
        await lab.startApplet({ NO_AT_BRIDGE: '0' });
        // A computer in the list (the table is shown only then).
        let from = lab.views().length;
        await lab.menu('s');
        await lab.waitView(/state=sharing/, from);
        from = lab.views().length;
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
        await lab.waitView(/clients=1 /, from);
        lab.openComputers();
        lab.openSettings();
        await desktop.until(() => desktop.windows('^Computers booting from this CD$').length > 0 && desktop.windows('^Share This CD Settings$').length > 0, 'both windows', 10000);
        const r = desktop.run(['/usr/bin/python3', `${TOP}/test/tools/a11y-tree.py`, 'io.github.ShareThisCD', '15'], { NO_AT_BRIDGE: '0' });
        expect(r.status).withContext(r.stderr).toBe(0);
        const tree = JSON.parse(r.stdout) as { applications: string[]; nodes: { depth: number; role: string; name: string; window: string; states: string[] }[] };
        expect(tree.applications).toContain('io.github.ShareThisCD');
        const windows = tree.nodes.filter(n => n.depth === 1);
        expect(windows).toEqual(jasmine.arrayContaining([
            jasmine.objectContaining({ role: 'frame', name: 'Computers booting from this CD' }),
            jasmine.objectContaining({ role: 'dialog', name: 'Share This CD Settings' }),
        ]));
        // Every control a person acts on has a role and a name a screen reader says.
        const controls = ['push button', 'check box', 'radio button', 'combo box', 'spin button', 'text', 'table', 'tree table', 'menu item', 'toggle button'];
        const mine = tree.nodes.filter(n => ['Computers booting from this CD', 'Share This CD Settings'].includes(n.window));
        const acted = mine.filter(n => controls.includes(n.role) && n.states.includes('showing'));
        const unnamed = acted.filter(n => n.name.trim() === '');
        expect(unnamed).withContext(JSON.stringify(mine, null, 1)).toEqual([]);
        const named = (role: string, window: string): string[] => acted.filter(n => n.role === role && n.window === window).map(n => n.name);
        expect(named('push button', 'Computers booting from this CD')).toEqual(jasmine.arrayContaining(['Allow', 'Ignore', 'Name…', 'Forget']));
        expect(named('radio button', 'Share This CD Settings').sort()).toEqual(['Automatic', 'Hand out addresses', 'Next to the network\'s router']);
        expect(named('combo box', 'Share This CD Settings').sort()).toEqual(['Computers that may start from this CD', 'Default entry', 'Network interface']);
        expect(named('spin button', 'Share This CD Settings')).toEqual(['Seconds before the default entry starts']);
        expect(named('check box', 'Share This CD Settings').length).toBe(3);
        expect(named('push button', 'Share This CD Settings')).toEqual(jasmine.arrayContaining(['Cancel', 'Save']));
        expect(acted.some(n => n.window === 'Computers booting from this CD' && ['table', 'tree table'].includes(n.role) && n.name === 'Computers booting from this CD')).toBeTrue();
        await lab.stopApplet();
        await lab.startApplet();
        await lab.menu('s');
        await lab.waitView(/state=stopped/, 0);
    });

    it('shows its menu in French with LANGUAGE=fr', async () => {
        await lab.stopApplet();
        await lab.startApplet({ LANGUAGE: 'fr' });
        await desktop.until(() => items().some(i => i.includes('/org/ayatana/NotificationItem/')), 'our item registered again', 10000);
        const text = await lab.menuShot(`${suite.shots}/menu-fr.png`);
        desktop.key('Escape');
        for (const item of ['Partager ce CD', 'Partage inactif', 'Ordinateurs', 'Aide', 'Quitter'])
            expect(text).withContext(text).toContain(item);
        expect(itemProperty('Title')).toContain('Share This CD\u00a0: partage inactif');
    });
});
