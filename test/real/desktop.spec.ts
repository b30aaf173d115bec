// The graphical live image made by live-build (src/lab/liveBuild.ts: Xorg, LightDM with live-config's
// autologin, an Openbox session that opens a window titled DESKTOP_MARKER) booted over the network by a qemu
// client to its desktop, read from the client's screen with OCR. Heavier than the console image (its build and
// boot): `npm run test:real` runs it, CI runs the console image's specs (test/lab/real.spec.ts).
import GLib from 'gi://GLib';

import { DESKTOP_MARKER, LIVE_HOSTNAME, LIVE_USERNAME, type LiveBuildImage, ensureLiveBuildImage } from '../../src/lab/liveBuild.ts';
import { LabVm } from '../../src/lab/vm.ts';
import { sleep } from '../../src/shared/timers.ts';
import { whyNotBooted } from '../support/labClients.ts';
import { LAB, NOTHING_LEFT, type RunningShare, leftovers, setupNet, sh, startShare, status, teardownNet } from '../support/lab.ts';

const DESKTOP_TIMEOUT = 600000;

describe('a graphical live system made by live-build comes up over the network (real image, qemu)', () => {
    let image: LiveBuildImage;
    let work = '';
    let share: RunningShare | null = null;
    let client: LabVm | null = null;

    beforeAll(() => {
        image = ensureLiveBuildImage('graphical', line => print(`  live-build: ${line}`));
        print(`live-build graphical image: ${image.built ? `built in ${image.seconds.toFixed(0)} s` : 'cached'} (${image.iso})`);
        work = GLib.dir_make_tmp('share-this-cd-desktop-XXXXXX');
        sh(['chmod', '755', work]);
    }, 3600000);
    afterAll(async () => {
        await client?.kill();
        client?.removeFiles();
        if (share?.running) {
            share.signal(2);
            await share.ended().catch(() => 0);
        }
        teardownNet();
        if (work !== '')
            sh(['rm', '-rf', work]);
    }, 60000);

    it('BIOS, full DHCP, HTTP: LightDM logs the live user in and the session\'s window shows on the screen; the engine calls the client up', async () => {
        setupNet({ taps: 1 });
        share = await startShare(['--medium', image.tree, '--menu-timeout', '2']);
        client = new LabVm({ name: 'real-desktop', firmware: 'bios', workDir: work, netns: LAB.srv, tap: 'tap0', mac: '52:54:00:12:36:01', memoryMiB: 2048 });
        client.start();
        // systemd reports its units on the serial console (the last console= of the kernel command line).
        const dm = await client.waitForLine(/Started .*(lightdm|Light Display Manager)/, DESKTOP_TIMEOUT);
        if (dm === null)
            throw new Error(await whyNotBooted(client, 'its display manager', share, null));
        const dmS = client.uptime;
        // The session's window, read from the screen (OCR reads capitals well; the line names user and host).
        let seen: string | null = null;
        const deadline = GLib.get_monotonic_time() + 300e6;
        while (seen === null && GLib.get_monotonic_time() < deadline && client.running) {
            const screen = await client.screenText();
            seen = screen.find(l => l.toUpperCase().includes(`${DESKTOP_MARKER}:`)) ?? null;
            if (seen === null)
                await sleep(5000);
        }
        expect(seen).withContext(`the screen ${Math.round(client.uptime)} s after power-on:\n  ${(await client.screenText()).join('\n  ')}`).not.toBeNull();
        expect(seen ?? '').toContain(`${LIVE_USERNAME} on ${LIVE_HOSTNAME}`);
        print(`desktop: display manager ${dmS.toFixed(0)} s, the session's window ${client.uptime.toFixed(0)} s after power-on`);
        // Up: the desktop's reads have settled.
        let stage = '';
        for (let i = 0; i < 60 && stage !== 'up'; i++) {
            stage = status().clients.find(c => c.mac === client?.options.mac)?.stage ?? '';
            if (stage !== 'up')
                await sleep(2000);
        }
        expect(stage).toBe('up');
        await client.kill();
        share.signal(2);
        expect(await share.ended()).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
    }, DESKTOP_TIMEOUT + 600000);
});
