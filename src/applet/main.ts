// share-this-cd-applet: "Share this CD" in the panel. Talks to the privileged helper over the system bus and
// never runs as root. Usage: share-this-cd-applet [--autostart] [--tray indicator|statusicon]
//   --autostart  started by the session (XDG autostart): does nothing outside a live session, and shares
//                again when the user chose "share again at login" and sharing was on.
import { setConsoleLogDomain } from 'console';
import system from 'system';

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=3.0';

import { readTextFile } from '../shared/fsutil.ts';
import { listInterfaces } from '../backend/network/host.ts';
import { DEFAULT_HTTP_PORT, type ShareOptions } from '../shared/options.ts';
import { _ } from '../shared/i18n.ts';
import { HelperWatcher } from './helper.ts';
import { AppletMenu } from './menu.ts';
import { type HelperView, type Presentation, bootingNotification, clientRows, isLiveCmdline, newNotices, newlyBooting, present } from './model.ts';
import { Notifier } from './notify.ts';
import { PrefsStore, wantedDefaultEntry } from './prefs.ts';
import { type Tray, createTray } from './tray.ts';
import { ClientsWindow, chooseIso, editSettings, showHelp } from './windows.ts';

setConsoleLogDomain('share-this-cd-applet');

const APP_ID = 'io.github.ShareThisCD';

function option(args: string[], name: string): string | null {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] ?? null : null;
}

/** Icons of a checkout (data/icons next to build/); installed icons are in the hicolor theme. */
function checkoutIconDir(): string | null {
    const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
    const dir = `${GLib.path_get_dirname(here)}/data/icons`;
    return GLib.file_test(`${dir}/hicolor`, GLib.FileTest.IS_DIR) ? dir : null;
}

class Applet {
    private readonly prefs = new PrefsStore();
    private readonly notifier = new Notifier();
    private readonly menu: AppletMenu;
    private readonly clients = new ClientsWindow();
    private readonly watcher: HelperWatcher;
    private tray: Tray | null = null;
    private pending: 'start' | 'stop' | null = null;

    constructor(private readonly app: Gtk.Application, private readonly autostart: boolean) {
        this.menu = new AppletMenu({
            toggle: on => this.toggle(on),
            computers: () => this.clients.present(),
            shareIso: () => this.shareIso().catch(e => console.error(e)),
            settings: () => this.settings().catch(e => console.error(e)),
            help: () => showHelp(null),
            quit: () => this.app.quit(),
        });
        this.watcher = new HelperWatcher(() => Gio.bus_get_sync(Gio.BusType.SYSTEM, null), (view, previous) => this.render(view, previous));
    }

    async run(trayKind: 'indicator' | 'statusicon', iconDir: string | null): Promise<void> {
        if (iconDir !== null)
            Gtk.IconTheme.get_default().append_search_path(iconDir);
        this.tray = await createTray(APP_ID, this.menu.menu, iconDir, this.presentation(this.watcher.view), trayKind);
        console.info(`tray: ${this.tray.kind}`);
        await this.watcher.watch();
        const prefs = this.prefs.load();
        if (this.autostart && prefs.resumeAtLogin && prefs.wasSharing && this.watcher.view.available && this.watcher.view.state !== 'sharing')
            this.toggle(true, prefs.sharedIso);
    }

    private presentation(view: HelperView): Presentation {
        const p = present(view);
        if (this.pending === 'start' && (view.state === 'stopped' || view.state === 'failed'))
            return { ...p, statusLine: _("Waiting for permission…"), switchActive: true, switchSensitive: false };
        if (this.pending === 'stop' && view.state === 'sharing')
            return { ...p, statusLine: _("Stopping…"), switchActive: false, switchSensitive: false };
        return p;
    }

    private render(view: HelperView, previous: HelperView): void {
        if (view.state === 'sharing' && view.entries.length > 0)
            this.rememberEntries(view);
        const p = this.presentation(view);
        this.menu.sync(p);
        this.tray?.show(p);
        this.clients.update(clientRows(view.clients, Date.now() / 1000));
        console.info(`view: state=${view.state} available=${view.available ? 'yes' : 'no'} clients=${view.clientCount} title="${p.title}" status="${p.statusLine}" switch=${p.switchActive ? 'on' : 'off'}${p.switchSensitive ? '' : ' (busy)'} computers=[${view.clients.map(c => `${c.mac || c.ip} ${c.ip} ${c.stage}`).join(', ')}]`);
        if (view.state === 'sharing') {
            const fresh = newlyBooting(previous.state === 'sharing' ? previous.clients : [], view.clients);
            if (fresh.length > 0) {
                const n = bootingNotification(fresh, view.clientCount);
                this.notify(n.summary, n.body, 'share-this-cd-booting-symbolic');
            }
        }
        for (const notice of newNotices(previous, view))
            this.notify(_("Share This CD"), notice, 'share-this-cd-sharing-symbolic');
        if (view.state === 'failed' && view.lastError !== '' && (previous.state !== 'failed' || previous.lastError !== view.lastError))
            this.notify(_("Sharing stopped"), view.lastError, 'share-this-cd-error-symbolic', 'critical');
    }

    /** The shared medium's entries, for Settings to offer (saved when they differ from what was known). */
    private rememberEntries(view: HelperView): void {
        const p = this.prefs.load();
        const known = { medium: view.mediumLabel, entries: view.entries.slice(0, 64) };
        if (JSON.stringify(p.knownEntries) !== JSON.stringify(known))
            this.prefs.save({ ...p, knownEntries: known });
    }

    private notify(summary: string, body: string, icon: string, urgency: 'normal' | 'critical' = 'normal'): void {
        console.info(`notification: ${summary} — ${body}`);
        this.notifier.send(summary, body, icon, urgency);
    }

    private options(iso: string | null = null): ShareOptions {
        const p = this.prefs.load();
        return { medium: null, iso, interface: p.interface, mode: p.mode, http: p.http, httpPort: DEFAULT_HTTP_PORT, menuTimeout: p.menuTimeout,
            defaultEntry: wantedDefaultEntry(p) };
    }

    private toggle(on: boolean, iso: string | null = null): void {
        if (this.pending !== null)
            return;
        this.pending = on ? 'start' : 'stop';
        this.render(this.watcher.view, this.watcher.view);
        const prefs = this.prefs.load();
        const work = on ? this.watcher.start(this.options(iso), prefs.resumeAtLogin) : this.watcher.stop();
        work.then(() => {
            this.prefs.save({ ...this.prefs.load(), wasSharing: on, ...(on ? { sharedIso: iso } : {}) });
        }).catch((e: Error) => {
            // The helper's own failures arrive as State=failed with the same sentence (notified there).
            const v = this.watcher.view;
            if (!(v.available && v.state === 'failed' && v.lastError === e.message))
                this.notify(on ? _("Sharing could not start") : _("Sharing could not stop"), e.message, 'share-this-cd-error-symbolic', 'critical');
        }).finally(() => {
            this.pending = null;
            this.render(this.watcher.view, this.watcher.view);
        });
    }

    private async shareIso(): Promise<void> {
        const iso = await chooseIso(null);
        if (iso === null)
            return;
        if (this.watcher.view.state === 'sharing') {
            try {
                await this.watcher.stop();
            } catch (e) {
                this.notify(_("Sharing could not stop"), (e as Error).message, 'share-this-cd-error-symbolic', 'critical');
                return;
            }
        }
        this.toggle(true, iso);
    }

    private async settings(): Promise<void> {
        const next = await editSettings(null, this.prefs.load(), listInterfaces());
        if (next === null)
            return;
        this.prefs.save(next);
        if (this.watcher.view.state === 'sharing')
            this.notify(_("Settings saved"), _("They apply the next time sharing starts: turn “Share this CD” off and on again."), 'share-this-cd-sharing-symbolic');
    }
}

function main(args: string[]): number {
    const autostart = args.includes('--autostart');
    if (autostart && !isLiveCmdline(readTextFile('/proc/cmdline') ?? '')) {
        console.info('not a live session: the applet is not needed');
        return 0;
    }
    const trayKind = option(args, '--tray') === 'statusicon' ? 'statusicon' : 'indicator';
    GLib.set_prgname(APP_ID);
    GLib.set_application_name(_("Share This CD"));
    const app = new Gtk.Application({ application_id: APP_ID, flags: Gio.ApplicationFlags.FLAGS_NONE });
    let applet: Applet | null = null;
    app.connect('activate', () => {
        if (applet !== null)
            return;
        app.hold();
        applet = new Applet(app, autostart);
        applet.run(trayKind, checkoutIconDir()).catch(e => {
            console.error(e);
            app.quit();
        });
    });
    return app.run([system.programInvocationName]);
}

system.exit(main(system.programArgs));
