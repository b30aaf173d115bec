// Regenerates the README's screenshots (`npm run screenshots`, root, after tools/setup.sh): the applet on a real
// StatusNotifier host (xfce4-panel's Status Tray: src/lab/desktop.ts) in a lab desktop, against the real helper in
// a lab network (src/lab/appletLab.ts), one computer (named "Desk 4") booting from the share; saves
// docs/screenshots/menu.png (the panel's menu of the applet while sharing), computers.png (the Computers window)
// and settings.png (the Settings dialog). LANGUAGE is passed on, and names the files (LANGUAGE=fr npm run
// screenshots → menu-fr.png, computers-fr.png, settings-fr.png).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { sleep } from '../src/shared/timers.ts';
import { AppletLab } from '../src/lab/appletLab.ts';
import { LabNet, sh } from '../src/lab/net.ts';
import { makeSampleMedium } from '../src/lab/sampleMedium.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const BUILD = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const TOP = GLib.path_get_dirname(BUILD);
const OUT = `${TOP}/docs/screenshots`;

async function main(): Promise<number> {
    const net = new LabNet('shot');
    const medium = makeSampleMedium(TOP);
    net.setup({ client: true });
    const lab = new AppletLab({ top: TOP, build: BUILD, netns: net.srv, medium, display: 97, tray: 'xfce4-panel' });
    const language = GLib.getenv('LANGUAGE') ?? '';
    const env: Record<string, string> = language !== '' ? { LANGUAGE: language } : {};
    const suffix = language === '' || language.startsWith('en') ? '' : `-${language.split(/[_:]/)[0]}`;
    /** A call of the helper's, as root. */
    const helper = (method: string, params: GLib.Variant | null): void => {
        lab.bus.connection().call_sync('io.github.ShareThisCD1', '/io/github/ShareThisCD1', 'io.github.ShareThisCD1', method, params, null, Gio.DBusCallFlags.NONE, 60000, null);
    };
    const titles = { computers: 'Computers|Rechner|Ordinateurs|Equipos', settings: 'Settings|Einstellungen|Paramètres|Configuración' };
    try {
        await lab.start();
        lab.writePrefs({ interface: 'br0' });
        await lab.startApplet(env);
        // Shared through the helper (the menu's mnemonics differ by language), as the switch would.
        let from = lab.views().length;
        helper('Start', new GLib.Variant('(a{sv})', [{ interface: new GLib.Variant('s', 'br0') }]));
        await lab.waitView(/state=sharing/, from);
        from = lab.views().length;
        sh(['ip', 'netns', 'exec', net.cli, 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '4', '-T', '2', '-s', `${TOP}/test/tools/udhcpc-script.sh`]);
        sh(['ip', 'netns', 'exec', net.cli, 'curl', '-s', '-o', '/dev/null', `http://${net.serverIp}/medium/casper/vmlinuz`]);
        await lab.waitView(/clients=1 .*loading/, from);
        // Named, as a librarian names the room's computers.
        from = lab.views().length;
        helper('SetComputer', new GLib.Variant('(sa{sv})', [net.clientMac, { name: new GLib.Variant('s', 'Desk 4'), allowed: new GLib.Variant('b', true) }]));
        await lab.waitView(/"Desk 4"/, from);
        sh(['mkdir', '-p', OUT]);
        const d = lab.desktop;
        d.clickTray();
        await sleep(1000);
        d.screenshotOf({ region: lab.menuRegion() }, `${OUT}/menu${suffix}.png`);
        d.key('Escape');
        // The Computers window from its own menu item: the first window the applet opens (its mnemonic differs by language).
        await sleep(300);
        lab.openComputers();
        await d.until(() => d.windows(titles.computers).length > 0, 'the Computers window', 10000);
        await sleep(800);
        d.screenshotOf({ title: titles.computers }, `${OUT}/computers${suffix}.png`);
        lab.openSettings();
        await d.until(() => d.windows(titles.settings).length > 0, 'the Settings dialog', 10000);
        await sleep(800);
        d.screenshotOf({ title: titles.settings }, `${OUT}/settings${suffix}.png`);
        d.key('Escape');
        helper('Stop', null);
        helper('ForgetComputer', new GLib.Variant('(s)', [net.clientMac]));
        print(`screenshots in ${OUT}: menu${suffix}.png computers${suffix}.png settings${suffix}.png`);
        return 0;
    } catch (e) {
        lab.desktop.screenshot('/tmp/screenshots-failure.png');
        printerr(`screenshots: ${(e as Error).message}\napplet log:\n${lab.appletLog().split('\n').slice(-20).join('\n')}`);
        return 1;
    } finally {
        await lab.stop();
        net.teardown();
        sh(['rm', '-rf', medium]);
    }
}

system.exit(runMain(main));
