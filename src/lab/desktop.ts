// A desktop session for GUI tests and screenshots (LAB.md, desktop side): Xvfb, a session bus, a tray and a
// notification server (dunst), all as an unprivileged user (the applet never runs as root). The tray is trayer
// (XEmbed only: the Ayatana indicator falls back to it without a StatusNotifierWatcher), or a real
// StatusNotifier host: xfce4-panel 4.18 with only its "Status Tray" plugin, which registers
// org.kde.StatusNotifierWatcher and draws the items' icons and dbusmenu menus (no window manager needed). Notifications are recorded from
// the session bus (dbus-monitor); screenshots with ImageMagick's `import` (their text: ocr.ts).
// Every process is ended by its PID at stop().
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readTextFile, removeTree } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';
import { killPid } from './process.ts';
import { type Result, sh } from './net.ts';

export interface DesktopOptions {
    /** X display number (a free one). */
    display: number;
    /** The session's user (uid = gid; 65534 = nobody). */
    uid: number;
    width?: number;
    height?: number;
    /** trayer (default) or xfce4-panel (a StatusNotifier host). */
    tray?: 'trayer' | 'xfce4-panel';
    /**
     * How the user's programs are started, given the command line that runs one as the user (setpriv …): e.g.
     * as processes of a logind session (LogindSession.wrap, src/lab/session.ts). Unchanged by default.
     */
    wrap?: (argv: string[]) => string[];
}

/** xfce4-panel's configuration: one panel at the bottom left, only the systray plugin (its "Status Tray"). */
const XFCE_PANEL_XML = `<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=8;x=0;y=0"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="length" type="uint" value="30"/>
      <property name="size" type="uint" value="32"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
    </property>
  </property>
</channel>
`;

export interface Notification {
    summary: string;
    body: string;
}

export class Desktop {
    readonly dir: string;
    readonly display: string;
    private sessionBus = '';
    private readonly procs: Gio.Subprocess[] = [];
    private busPid: number | null = null;

    constructor(private readonly options: DesktopOptions) {
        this.display = `:${options.display}`;
        this.dir = GLib.dir_make_tmp('share-this-cd-desktop.XXXXXX');
        for (const sub of ['home', 'runtime', 'config'])
            sh(['mkdir', '-p', `${this.dir}/${sub}`]);
        sh(['chown', '-R', `${options.uid}:${options.uid}`, this.dir]);
        sh(['chmod', '755', this.dir]);
        sh(['chmod', '700', `${this.dir}/runtime`]);
    }

    get configDir(): string {
        return `${this.dir}/config`;
    }

    /** The session's environment (for the user's programs). */
    env(extra: Record<string, string> = {}): Record<string, string> {
        return {
            DISPLAY: this.display, DBUS_SESSION_BUS_ADDRESS: this.sessionBus, HOME: `${this.dir}/home`, XDG_RUNTIME_DIR: `${this.dir}/runtime`,
            XDG_CONFIG_HOME: this.configDir, NO_AT_BRIDGE: '1', GDK_BACKEND: 'x11', LANG: 'C.UTF-8', ...extra,
        };
    }

    private setpriv(argv: string[]): string[] {
        const u = String(this.options.uid);
        return ['setpriv', `--reuid=${u}`, `--regid=${u}`, '--clear-groups', ...argv];
    }

    /** The command line that runs `argv` as the user (wrapped: see the option). */
    private asUser(argv: string[]): string[] {
        return this.wrap(this.setpriv(argv));
    }

    private wrap(argv: string[]): string[] {
        return this.options.wrap?.(argv) ?? argv;
    }

    /**
     * Starts a program of the session (as the user), its output in `log`. `binds` are files it sees in place
     * of others ([source, target], bind-mounted in a private mount namespace): /dev/null over a library's
     * typelib (as if it were not installed), a live system's command line over /proc/cmdline.
     */
    spawn(argv: string[], log: string, env: Record<string, string> = {}, asUser = true, binds: [string, string][] = []): Gio.Subprocess {
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDERR_MERGE });
        launcher.set_stdout_file_path(`${this.dir}/${log}`);
        for (const [k, v] of Object.entries(this.env(env)))
            launcher.setenv(k, v, true);
        let full = asUser ? this.setpriv(argv) : argv;
        if (binds.length > 0) {
            const mounts = binds.map(([from, to]) => `mount --bind '${from}' '${to}'`).join(' && ');
            full = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${mounts} && exec "$@"`, 'sh', ...full];
        }
        // (wrapped last: a wrapper that enters another mount namespace keeps the binds made inside it)
        if (asUser)
            full = this.wrap(full);
        const proc = launcher.spawnv(full);
        this.procs.push(proc);
        return proc;
    }

    async start(): Promise<void> {
        const { width = 1024, height = 640 } = this.options;
        this.spawn(['Xvfb', this.display, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp'], 'xvfb.log', {}, false);
        await this.until(() => sh(['env', `DISPLAY=${this.display}`, 'xdpyinfo']).status === 0, 'Xvfb answers', 10000);
        // (XDG_CONFIG_HOME too: what the bus starts, xfconfd for the panel, gets the bus's environment)
        const bus = sh(['env', `HOME=${this.dir}/home`, `XDG_CONFIG_HOME=${this.configDir}`, ...this.asUser(['dbus-daemon', '--session', '--fork', '--print-address=1', '--print-pid=1'])]);
        if (bus.status !== 0)
            throw new Error(`session bus: ${bus.stderr}`);
        const [address, pid] = bus.stdout.trim().split('\n');
        this.sessionBus = address;
        this.busPid = Number(pid);
        // Bottom left: menus open up and to the right with room to spare, and windows (placed at 0,0 without a
        // window manager) do not cover it.
        if (this.tray === 'xfce4-panel') {
            const dir = `${this.configDir}/xfce4/xfconf/xfce-perchannel-xml`;
            sh(['mkdir', '-p', dir]);
            GLib.file_set_contents(`${dir}/xfce4-panel.xml`, XFCE_PANEL_XML);
            sh(['chown', '-R', `${this.options.uid}:${this.options.uid}`, `${this.configDir}/xfce4`]);
            this.spawn(['xfce4-panel', '--disable-wm-check'], 'panel.log');
        } else {
            this.spawn(['trayer', '--edge', 'bottom', '--align', 'left', '--widthtype', 'request', '--height', '32', '--iconspacing', '4',
                '--transparent', 'false', '--tint', '0xdddddd', '--SetDockType', 'true'], 'trayer.log');
        }
        this.spawn(['dbus-monitor', '--session', "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], 'notifications.log');
        // dunst's menu of a notification's actions (`dunstctl context`) goes to a script that picks the action
        // the spec chose (notificationAction): what a person picking it from dunst's dmenu does.
        GLib.file_set_contents(`${this.dir}/dunst-menu.sh`, `#!/bin/sh\ntee '${this.dir}/dunst-menu.txt' | grep -m1 -F "#$(cat '${this.dir}/dunst-choice')"\n`);
        GLib.file_set_contents(`${this.dir}/dunstrc`, `[global]\ndmenu = ${this.dir}/dunst-menu.sh\n`);
        sh(['chmod', '755', `${this.dir}/dunst-menu.sh`]);
        this.spawn(['dunst', '-config', `${this.dir}/dunstrc`], 'dunst.log');
        if (this.tray === 'xfce4-panel') {
            await this.until(() => this.sessionCall(['org.freedesktop.DBus', '/', 'org.freedesktop.DBus.NameHasOwner', 'org.kde.StatusNotifierWatcher']).stdout.includes('true'),
                'the StatusNotifierWatcher of the panel', 20000);
            await this.until(() => this.xdotool(['search', '--onlyvisible', '--class', 'xfce4-panel']).stdout.trim() !== '', 'the panel appears', 10000);
        } else {
            await this.until(() => this.xdotool(['search', '--name', '^panel$']).stdout.trim() !== '', 'the tray appears', 10000);
        }
    }

    get tray(): 'trayer' | 'xfce4-panel' {
        return this.options.tray ?? 'trayer';
    }

    /** A method call on the session bus, as the session's user: [destination, path, interface.method, args…] (gdbus's output). */
    sessionCall([dest, path, method, ...args]: string[]): Result {
        return this.run(['gdbus', 'call', '--session', '--dest', dest, '--object-path', path, '--method', method, ...args]);
    }

    /** Runs a program of the session (as its user, in its environment) and waits for it. */
    run(argv: string[], env: Record<string, string> = {}): Result {
        return sh(['env', ...Object.entries(this.env(env)).map(([k, v]) => `${k}=${v}`), ...this.asUser(argv)]);
    }

    xdotool(args: string[]): Result {
        return sh(['env', `DISPLAY=${this.display}`, 'xdotool', ...args]);
    }

    /** The tray's geometry (X, Y, WIDTH, HEIGHT): trayer's window, or the panel's systray plugin. */
    trayGeometry(): Record<string, number> {
        if (this.tray === 'trayer')
            return this.geometry(this.xdotool(['search', '--name', '^panel$']).stdout.trim().split('\n')[0]);
        const panel = this.geometry(this.xdotool(['search', '--onlyvisible', '--class', 'xfce4-panel']).stdout.trim().split('\n')[0]);
        // The plugin runs in a process of its own (wrapper-2.0): its window is the one inside the panel.
        const plugin = this.xdotool(['search', '--onlyvisible', '--name', '^wrapper-2.0$']).stdout.trim().split('\n').filter(l => l !== '')
            .map(id => this.geometry(id)).find(g => g.Y >= panel.Y);
        return plugin ?? panel;
    }

    private geometry(id: string): Record<string, number> {
        const out = this.xdotool(['getwindowgeometry', '--shell', id]).stdout;
        const g: Record<string, number> = {};
        for (const m of out.matchAll(/^(\w+)=(-?\d+)$/gm))
            g[m[1]] = Number(m[2]);
        return g;
    }

    /** Clicks inside the tray (the first icon by default). */
    clickTray(button = 1, index = 0): void {
        const g = this.trayGeometry();
        this.xdotool(['mousemove', String(g.X + 4 + 16 + index * 36), String(g.Y + 16), 'click', String(button)]);
    }

    /** Gives the keyboard to a window (there is no window manager to do it). */
    focus(title: string): void {
        const id = this.windows(title)[0];
        if (id === undefined)
            throw new Error(`no window ${title}`);
        this.xdotool(['windowfocus', '--sync', id]);
    }

    type(text: string): void {
        this.xdotool(['type', '--delay', '30', text]);
    }

    key(...keys: string[]): void {
        this.xdotool(['key', '--delay', '80', ...keys]);
    }

    /** Windows whose title matches `name` (a regular expression). */
    windows(name: string): string[] {
        return this.xdotool(['search', '--onlyvisible', '--name', name]).stdout.trim().split('\n').filter(l => l !== '');
    }

    screenshot(path: string): void {
        const r = sh(['env', `DISPLAY=${this.display}`, 'import', '-window', 'root', path]);
        if (r.status !== 0)
            throw new Error(`screenshot: ${r.stderr}`);
    }

    /** A screenshot of one window (found by its title), or of a region of the screen (WxH+X+Y). */
    screenshotOf(what: { title: string } | { region: string }, path: string): void {
        let argv: string[];
        if ('title' in what) {
            const id = this.windows(what.title)[0];
            if (id === undefined)
                throw new Error(`no window ${what.title}`);
            argv = ['import', '-window', id, '-frame', path];
        } else {
            argv = ['import', '-window', 'root', '-crop', what.region, '+repage', path];
        }
        const r = sh(['env', `DISPLAY=${this.display}`, ...argv]);
        if (r.status !== 0)
            throw new Error(`screenshot: ${r.stderr}`);
    }

    /** The notifications the session received so far. */
    notifications(): Notification[] {
        const log = readTextFile(`${this.dir}/notifications.log`) ?? '';
        return log.split(/\nmethod call /).slice(1).map(call => {
            const strings = [...call.matchAll(/^\s+string "((?:[^"\\]|\\.)*)"$/gm)].map(m => m[1]);
            // Notify(app_name, replaces_id, app_icon, summary, body, …): the strings are app, icon, summary, body.
            return { summary: strings[2] ?? '', body: strings[3] ?? '' };
        });
    }

    /**
     * Chooses the action labelled `label` of the newest notification that has actions, through dunst's own menu
     * of actions (dunstctl context), as the user does.
     */
    notificationAction(label: string): Result {
        GLib.file_set_contents(`${this.dir}/dunst-choice`, `${label} `);
        return this.run(['dunstctl', 'context']);
    }

    async until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (!pred()) {
            if (GLib.get_monotonic_time() > deadline)
                throw new Error(`timed out waiting until ${what}`);
            await sleep(100);
        }
    }

    async stop(): Promise<void> {
        for (const p of this.procs.splice(0).reverse()) {
            const pid = p.get_identifier();
            if (pid !== null)
                await killPid(Number(pid), null, 2000);
        }
        if (this.busPid !== null)
            await killPid(this.busPid, 'dbus-daemon', 2000);
        this.busPid = null;
        removeTree(this.dir);
    }
}
