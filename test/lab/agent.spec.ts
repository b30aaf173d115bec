// The applet with a real polkit authentication agent on an installed system (not a live session: the shipped
// rule does not apply and polkit's default, an administrator's password, does). The lab desktop is a logind
// session (src/lab/session.ts: faked, this machine has no systemd), so polkitd knows the applet's session and
// asks the session's agent — lxpolkit, and polkit-gnome's for the one thing lxpolkit does not do (say that its
// dialog was cancelled). The helper is on the private system bus with the real polkitd (src/lab/bus.ts), in a
// network namespace of its own with only `lo`. The applet's Settings are driven with the keyboard (xdotool); the
// agent's dialog is found by its title and read from a screenshot (tesseract).
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { AppletLab } from '../../src/lab/appletLab.ts';
import type { Desktop } from '../../src/lab/desktop.ts';
import { ocr } from '../../src/lab/ocr.ts';
import { sessionOfPid } from '../../src/lab/session.ts';
import { readTextFile } from '../../src/shared/fsutil.ts';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/shared/dbus.ts';
import { CLI, LazyTmpDir, TOP } from '../support/helpers.ts';
import { sh, sleep } from '../support/lab.ts';

const TIMEOUT = 60000;
/** The helper's network namespace (this spec's own: only `lo`). */
const NETNS = 'agentsrv';
/** root's password inside the lab session's mount namespace only (a fake /etc/shadow there). */
const ROOT_PASSWORD = 'lab-root-9x';
const SETTINGS = '^Share This CD Settings$';
const REFUSED = 'The computers could not be changed';
/** polkit's message for the action (data/io.github.ShareThisCD1.policy.in), as the agents show it. */
const MESSAGE = 'Authentication is required to let other computers start';

interface Agent {
    argv: string[];
    /** Its password dialog's title. */
    dialog: string;
    /** The key of its Cancel button. */
    cancel: string;
}
const LXPOLKIT: Agent = { argv: ['lxpolkit'], dialog: '^Authentication$', cancel: 'alt+c' };
const POLKIT_GNOME: Agent = { argv: ['/usr/lib/policykit-1-gnome/polkit-gnome-authentication-agent-1'], dialog: '^Authenticate$', cancel: 'Escape' };

describe('the applet with a real polkit agent (lxpolkit) on an installed system', () => {
    let lab: AppletLab;
    let desktop: Desktop;
    let agent: Gio.Subprocess;
    const shotsDir = new LazyTmpDir('share-this-cd-agent-XXXXXX');
    /** The helper's runtime folder: its own, not /run/share-this-cd (where it would follow another run's share). */
    const runtimeParent = new LazyTmpDir('share-this-cd-agent-run-XXXXXX');

    /** The helper's Access property, read as root on the private bus. */
    function access(): string {
        const r = lab.bus.connection().call_sync(BUS_NAME, OBJECT_PATH, 'org.freedesktop.DBus.Properties', 'Get',
            new GLib.Variant('(ss)', [INTERFACE_NAME, 'Access']), null, Gio.DBusCallFlags.NONE, 10000, null);
        return (r.recursiveUnpack() as [string])[0];
    }

    /** Settings (the applet's action), "Computers that may start from this CD" → "Only the ones I allow", Save. */
    async function chooseOnlyAllowed(): Promise<void> {
        // (the notifications of an earlier step stay on screen, critical ones until closed, and without a window
        // manager dunst's window can come over the agent's dialog: closed, as a person would)
        desktop.run(['dunstctl', 'close-all']);
        lab.openSettings();
        await desktop.until(() => desktop.windows(SETTINGS).length > 0, 'the Settings dialog', 10000);
        await sleep(300);
        desktop.focus(SETTINGS);
        desktop.key('alt+m'); // the combo (its label's mnemonic)
        desktop.key('Down'); // "Any computer" → "Only the ones I allow"
        desktop.key('alt+s'); // Save
        await desktop.until(() => desktop.windows(SETTINGS).length === 0, 'the Settings dialog saved and closed', 10000);
    }

    /** Waits for the agent's dialog; returns the text read from its screenshot once polkit's message is drawn. */
    async function passwordDialog(which: Agent, name: string): Promise<string> {
        await desktop.until(() => desktop.windows(which.dialog).length > 0, 'the agent\'s password dialog', 15000);
        let text = '';
        await desktop.until(() => {
            desktop.screenshotOf({ title: which.dialog }, `${shotsDir.path}/${name}.png`);
            text = ocr(`${shotsDir.path}/${name}.png`, 'window').replace(/\s+/g, ' ');
            return text.includes(MESSAGE);
        }, 'polkit\'s message in the dialog', 10000).catch((e: Error) => {
            throw new Error(`${e.message}; read: "${text}"`);
        });
        return text;
    }

    /** Asks for the change, cancels the agent's dialog; returns the applet's one notification about it. */
    async function cancelled(which: Agent, name: string): Promise<{ summary: string; body: string }> {
        expect(access()).toBe('any');
        const before = desktop.notifications().length;
        await chooseOnlyAllowed();
        await passwordDialog(which, name);
        desktop.focus(which.dialog);
        desktop.key(which.cancel);
        await desktop.until(() => desktop.notifications().length > before, 'the applet\'s notification', 15000);
        await desktop.until(() => desktop.windows(which.dialog).length === 0, 'the dialog closed', 5000);
        const notes = desktop.notifications().slice(before);
        expect(notes.length).toBe(1);
        expect(access()).toBe('any');
        return notes[0];
    }

    /** polkitd's last lines (why it decided). */
    const polkitd = (): string => (readTextFile(lab.bus.polkitLog) ?? '').trim().split('\n').slice(-4).join('\n');

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        if (sh(['ip', 'netns', 'list']).stdout.split('\n').some(l => l.split(' ')[0] === NETNS))
            sh(['ip', 'netns', 'del', NETNS]);
        for (const argv of [['netns', 'add', NETNS], ['-n', NETNS, 'link', 'set', 'lo', 'up']]) {
            const r = sh(['ip', ...argv]);
            if (r.status !== 0)
                throw new Error(`ip ${argv.join(' ')}: ${r.stderr}`);
        }
        lab = new AppletLab({ top: TOP, build: GLib.path_get_dirname(CLI), netns: NETNS, display: 96, machine: 'installed',
            session: { rootPassword: ROOT_PASSWORD }, helperEnv: { SHARE_THIS_CD_RUNTIME_DIR: `${runtimeParent.path}/run` } });
        desktop = lab.desktop;
        await lab.start();
        await lab.startApplet();
        agent = await lab.startAgent(LXPOLKIT.argv);
    }, TIMEOUT);
    afterAll(async () => {
        await lab?.stop();
        sh(['ip', 'netns', 'del', NETNS]);
        runtimeParent.remove();
        if (GLib.getenv('KEEP_SHOTS') === null)
            shotsDir.remove();
        else
            print(`screenshots kept in ${shotsDir.path}`);
    });

    it('shows the agent\'s password dialog for the change, with polkit\'s message and root as the administrator; Cancel changes nothing and is told in a plain sentence', async () => {
        // The applet is a process of the desktop's session, local and active (yet outside the rule: not live).
        expect(sessionOfPid(lab.appletPid as number)).toBe(lab.session?.id ?? 'a session');
        expect(lab.state()).toBe('stopped');
        const note = await cancelled(LXPOLKIT, 'lxpolkit');
        const text = ocr(`${shotsDir.path}/lxpolkit.png`, 'window').replace(/\s+/g, ' ');
        expect(text).withContext(text).toContain("from this computer's live system over the network");
        expect(text).withContext(text).toMatch(/Identity: root .*Password:/);
        expect(note.summary).toBe(REFUSED);
        // lxpolkit (0.5.5) answers polkitd's BeginAuthentication as if the password had been tried when its dialog
        // is cancelled (it sets no "cancelled" error), so polkitd cannot tell the helper that the user dismissed
        // it (polkit.dismissed): the helper says "not allowed", and the applet says so in its own words.
        expect(note.body).withContext(`${note.body}\npolkitd: ${polkitd()}`)
            .toBe("You are not allowed to change sharing on this computer: nothing was changed.\nNot allowed: sharing the live system with the network needs an administrator's permission.");
    });

    it('with polkit-gnome\'s agent instead, which tells polkitd its dialog was dismissed, says the password was not given', async () => {
        await lab.stopAgent(agent);
        agent = await lab.startAgent(POLKIT_GNOME.argv);
        const note = await cancelled(POLKIT_GNOME, 'polkit-gnome');
        expect(note.summary).toBe(REFUSED);
        // The helper's AuthorizationDismissed (polkit.dismissed), in the applet's words, then the helper's sentence.
        expect(note.body).withContext(`${note.body}\npolkitd: ${polkitd()}`)
            .toBe('The password was not given: nothing was changed.\nThe password dialog was closed: nothing was changed.');
    });

    it('changes which computers may start once root\'s password is typed into lxpolkit\'s dialog', async () => {
        await lab.stopAgent(agent);
        agent = await lab.startAgent(LXPOLKIT.argv);
        const before = desktop.notifications().length;
        await chooseOnlyAllowed();
        await passwordDialog(LXPOLKIT, 'lxpolkit-again');
        desktop.focus(LXPOLKIT.dialog);
        desktop.type(ROOT_PASSWORD);
        desktop.key('Return');
        await desktop.until(() => access() === 'allowed', 'Access = allowed', 15000);
        await desktop.until(() => desktop.windows(LXPOLKIT.dialog).length === 0, 'the dialog closed', 5000);
        expect(desktop.notifications().slice(before).filter(n => n.summary === REFUSED)).toEqual([]);
        expect(polkitd()).toContain(`Operator of unix-session:${lab.session?.id ?? ''} successfully authenticated as unix-user:root to gain TEMPORARY authorization for action io.github.ShareThisCD1.share `);
    });
});
