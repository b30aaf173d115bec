// The applet in a lab desktop (src/lab/desktop.ts) against the real helper on a private system bus with the
// real polkitd (src/lab/bus.ts), the helper in a lab network namespace as on a live session. Used by the GUI
// specs and by tools/screenshots.ts. The applet runs as "nobody" and logs each view it shows. Options make it an
// installed system (no live medium, polkit's installed machine) and the desktop a logind session with a real
// polkit authentication agent (src/lab/session.ts, startAgent): test/lab/agent.spec.ts.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readTextFile } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';
import { hasExited } from '../backend/services/supervisor.ts';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../shared/dbus.ts';
import { BusLab, type PolkitMachine } from './bus.ts';
import { Desktop } from './desktop.ts';
import { LogindSession } from './session.ts';
import { sh } from './net.ts';
import { killPid } from './process.ts';
import { ocr } from './ocr.ts';

export const NOBODY = 65534;

export interface AppletLabOptions {
    top: string;
    /** Folder of the built bundles. */
    build: string;
    /** The helper's network namespace. */
    netns: string;
    /** The live medium the helper finds as "the running one"; none: the helper runs as on an installed system. */
    medium?: string;
    display: number;
    helperEnv?: Record<string, string>;
    /** The desktop's tray (Desktop's option): trayer by default. */
    tray?: 'trayer' | 'xfce4-panel';
    /** What polkitd sees: a live session (default) or an installed system (BusLab.startPolkit). */
    machine?: PolkitMachine;
    /**
     * The desktop as a logind session (src/lab/session.ts): its programs are processes of a session polkitd
     * knows, so that a real authentication agent (startAgent) is asked for the password; root's password
     * inside it is `rootPassword`.
     */
    session?: { rootPassword?: string };
}

export class AppletLab {
    readonly bus: BusLab;
    readonly desktop: Desktop;
    /** The desktop's logind session (the `session` option), or null. */
    readonly session: LogindSession | null = null;
    private applet: Gio.Subprocess | null = null;
    /** The applet's process id (null when it does not run). */
    get appletPid(): number | null {
        const id = this.applet?.get_identifier() ?? null;
        return id === null ? null : Number(id);
    }

    /** Each start of the applet logs to a file of its own. */
    private runs = 0;

    constructor(private readonly options: AppletLabOptions) {
        this.bus = new BusLab({ top: options.top, helperJs: `${options.build}/share-this-cd-helper.js`, netns: options.netns, idleTimeout: 30,
            liveMedium: options.medium, env: { G_MESSAGES_DEBUG: 'share-this-cd-helper', ...options.helperEnv } });
        const session = options.session === undefined ? null : new LogindSession({ id: `lab${options.display}`, uid: NOBODY, user: 'nobody',
            display: `:${options.display}`, systemBusSocket: this.bus.socket, rootPassword: options.session.rootPassword });
        this.session = session;
        this.desktop = new Desktop({ display: options.display, uid: NOBODY, tray: options.tray, wrap: session === null ? undefined : argv => session.wrap(argv) });
    }

    async start(): Promise<void> {
        this.bus.startBus();
        await this.session?.start();
        await this.bus.startPolkit(this.options.machine ?? 'live', this.session);
        await this.desktop.start();
    }

    async stop(): Promise<void> {
        await this.stopApplet();
        await this.desktop.stop();
        await this.bus.stop();
        await this.session?.stop();
    }

    /**
     * Starts a polkit authentication agent in the desktop's session (lxpolkit by default) and waits until it has
     * registered with polkitd for the session. Needs the `session` option. One agent a session: stopAgent()
     * before another starts. Ended with the desktop otherwise.
     */
    async startAgent(argv: string[] = ['lxpolkit']): Promise<Gio.Subprocess> {
        const session = this.session;
        if (session === null)
            throw new Error('an authentication agent needs the desktop\'s logind session (the session option)');
        const from = this.polkitLog().length;
        const name = GLib.path_get_basename(argv[0]);
        const agent = this.desktop.spawn(argv, `agent-${name}.log`);
        await this.desktop.until(() => {
            // (without a session lxpolkit shows a dialog titled "Error", polkit-gnome's agent exits)
            if (this.desktop.windows('^Error$').length > 0 || hasExited(agent))
                throw new Error(`the agent ${name} did not register (no session?): ${readTextFile(`${this.desktop.dir}/agent-${name}.log`) ?? ''}`);
            return this.polkitLog().slice(from).includes(`Registered Authentication Agent for unix-session:${session.id} `);
        }, `${name} registers with polkitd for unix-session:${session.id}`, 10000);
        return agent;
    }

    /** Ends an agent of startAgent() and waits until polkitd has forgotten it. */
    async stopAgent(agent: Gio.Subprocess): Promise<void> {
        const from = this.polkitLog().length;
        const pid = agent.get_identifier();
        if (pid !== null)
            await killPid(Number(pid), null, 2000);
        await this.desktop.until(() => this.polkitLog().slice(from).includes(`Unregistered Authentication Agent for unix-session:${this.session?.id ?? ''} `),
            'polkitd forgets the agent', 10000);
    }

    private polkitLog(): string {
        return readTextFile(this.bus.polkitLog) ?? '';
    }

    /** The log of the applet's latest start. */
    appletLog(): string {
        return readTextFile(`${this.desktop.dir}/applet-${this.runs}.log`) ?? '';
    }

    views(): string[] {
        return this.appletLog().split('\n').filter(l => l.includes('view: '));
    }

    prefs(): Record<string, unknown> {
        return JSON.parse(readTextFile(`${this.desktop.configDir}/share-this-cd/applet.json`) ?? '{}') as Record<string, unknown>;
    }

    /** Waits for a view line (after the first `from`) matching `re`. */
    async waitView(re: RegExp, from: number, timeoutMs = 30000): Promise<string> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        for (;;) {
            const found = this.views().slice(from).find(l => re.test(l));
            if (found !== undefined)
                return found;
            if (GLib.get_monotonic_time() > deadline)
                throw new Error(`the applet never showed ${re}; last: ${this.views().slice(-3).join(' | ')}\napplet's log ends: ${this.appletLog().split('\n').filter(l => !l.includes('view: ')).slice(-16).join(' | ')}\nhelper: ${this.bus.logTail()}`);
            await sleep(100);
        }
    }

    /** The helper's State, read as root on the private bus. */
    state(): string {
        const r = this.bus.connection().call_sync(BUS_NAME, OBJECT_PATH, 'org.freedesktop.DBus.Properties', 'Get',
            new GLib.Variant('(ss)', [INTERFACE_NAME, 'State']), null, Gio.DBusCallFlags.NONE, 10000, null);
        return (r.recursiveUnpack() as [string])[0];
    }

    writePrefs(prefs: Record<string, unknown>): void {
        const dir = `${this.desktop.configDir}/share-this-cd`;
        sh(['mkdir', '-p', dir]);
        GLib.file_set_contents(`${dir}/applet.json`, JSON.stringify(prefs));
        sh(['chown', '-R', `${NOBODY}:${NOBODY}`, dir]);
    }

    /** Starts the applet; `args` are its options, `binds` files it sees in place of others (see Desktop.spawn). */
    async startApplet(env: Record<string, string> = {}, args: string[] = [], binds: [string, string][] = []): Promise<void> {
        this.runs++;
        const from = 0;
        this.applet = this.desktop.spawn(['gjs', '-m', `${this.options.build}/share-this-cd-applet.js`, ...args], `applet-${this.runs}.log`,
            { DBUS_SYSTEM_BUS_ADDRESS: this.bus.address, G_MESSAGES_DEBUG: 'share-this-cd-applet', ...env }, true, binds);
        await this.waitView(/state=/, from);
        await sleep(500);
    }

    async stopApplet(): Promise<void> {
        const applet = this.applet;
        if (applet === null)
            return;
        this.applet = null;
        applet.send_signal(15);
        while (!hasExited(applet))
            await sleep(50);
    }

    /** Opens the Computers window through the application's action (whatever the language of its menu). */
    openComputers(): void {
        this.activate('computers');
    }

    /** Opens the Settings dialog through the application's action. */
    openSettings(): void {
        this.activate('settings');
    }

    private activate(action: string): void {
        const r = this.desktop.sessionCall(['io.github.ShareThisCD', '/io/github/ShareThisCD', 'org.gtk.Actions.Activate', action, '[]', '{}']);
        if (r.status !== 0)
            throw new Error(`the applet's action ${action}: ${r.stderr}`);
    }

    /** Opens the menu and chooses an item by its mnemonic key. */
    async menu(key: string): Promise<void> {
        this.desktop.clickTray();
        await sleep(600);
        this.desktop.key(key);
    }

    /** The part of the screen where the menu opens (above the tray, at the bottom left). */
    menuRegion(): string {
        const g = this.desktop.trayGeometry();
        const top = Math.max(0, g.Y - 320);
        return `520x${g.Y + g.HEIGHT - top}+0+${top}`;
    }

    /** Opens the menu, takes a screenshot of it into `path`, and returns the text in it; the menu stays open. */
    async menuShot(path: string): Promise<string> {
        this.desktop.clickTray();
        await sleep(800);
        this.desktop.screenshotOf({ region: this.menuRegion() }, path);
        return ocr(path);
    }
}
