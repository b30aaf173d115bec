// Regenerates the README's screenshots (`npm run screenshots`, root, after tools/setup.sh): the applet in a lab
// desktop against the real helper in a lab network (src/lab/appletLab.ts), one computer booting from the share;
// saves docs/screenshots/menu.png (the panel menu while sharing), computers.png (the Computers window) and
// settings.png (the Settings dialog). LANGUAGE is passed on (LANGUAGE=de npm run screenshots → German).
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
    const lab = new AppletLab({ top: TOP, build: BUILD, netns: net.srv, medium, display: 97 });
    const env: Record<string, string> = GLib.getenv('LANGUAGE') ? { LANGUAGE: GLib.getenv('LANGUAGE') as string } : {};
    try {
        await lab.start();
        lab.writePrefs({ interface: 'br0' });
        await lab.startApplet(env);
        let from = lab.views().length;
        await lab.menu('s');
        await lab.waitView(/state=sharing/, from);
        from = lab.views().length;
        sh(['ip', 'netns', 'exec', net.cli, 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '4', '-T', '2', '-s', `${TOP}/test/tools/udhcpc-script.sh`]);
        sh(['ip', 'netns', 'exec', net.cli, 'curl', '-s', '-o', '/dev/null', `http://${net.serverIp}/medium/casper/vmlinuz`]);
        await lab.waitView(/clients=1 .*loading/, from);
        sh(['mkdir', '-p', OUT]);
        const d = lab.desktop;
        d.clickTray();
        await sleep(1000);
        d.screenshotOf({ region: lab.menuRegion() }, `${OUT}/menu.png`);
        d.key('c');
        await d.until(() => d.windows('Computers|Rechner').length > 0, 'the Computers window', 10000);
        await sleep(800);
        d.screenshotOf({ title: 'Computers|Rechner' }, `${OUT}/computers.png`);
        await lab.menu('e');
        await d.until(() => d.windows('Settings|Einstellungen').length > 0, 'the Settings dialog', 10000);
        await sleep(800);
        d.screenshotOf({ title: 'Settings|Einstellungen' }, `${OUT}/settings.png`);
        d.key('Escape');
        await lab.menu('s');
        print(`screenshots in ${OUT}: menu.png computers.png settings.png`);
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
