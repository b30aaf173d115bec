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
import { stopQuestion } from '../shared/computers.ts';
import { HelperWatcher } from './helper.ts';
import { AppletMenu } from './menu.ts';
import { type ClientView, type HelperView, type Presentation, type QuestionLog, bootingNotification, clientRows, computerName, failureText, isLiveCmdline, newNotices, newlyBooting, newlyWaiting,
    present, questionsToAsk, runningComputers, waitingNotification } from './model.ts';
import { Notifier } from './notify.ts';
import { PrefsStore, wantedDefaultEntry } from './prefs.ts';
import { type Tray, createTray } from './tray.ts';
import { ClientsWindow, askToStop, chooseIso, editSettings, showHelp } from './windows.ts';

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
    private readonly clients: ClientsWindow;
    private readonly watcher: HelperWatcher;
    private tray: Tray | null = null;
    private pending: 'start' | 'stop' | null = null;
    /** The question before stopping is open. */
    private asking = false;
    /** The questions about computers that wait (a few a minute). */
    private readonly questions: QuestionLog = { asked: [], toldMore: null };

    constructor(private readonly app: Gtk.Application, private readonly autostart: boolean) {
        this.menu = new AppletMenu({
            toggle: on => this.toggle(on),
            computers: () => this.clients.present(),
            shareIso: () => this.shareIso().catch(e => console.error(e)),
            settings: () => this.settings().catch(e => console.error(e)),
            help: () => showHelp(null),
            quit: () => this.app.quit(),
        });
        this.clients = new ClientsWindow({
            allow: mac => this.changeComputer(() => this.watcher.setComputer(mac, { allowed: true })),
            ignore: mac => this.changeComputer(() => this.watcher.setComputer(mac, { allowed: false })),
            forget: mac => this.changeComputer(() => this.watcher.forgetComputer(mac)),
            rename: (mac, name) => this.changeComputer(() => this.watcher.setComputer(mac, { name })),
        });
        // The windows as the application's actions too (org.gtk.Actions on the session bus: launchers, tests).
        for (const [name, run] of [['computers', () => this.clients.present()], ['settings', () => this.settings().catch(e => console.error(e))]] as [string, () => void][]) {
            const action = new Gio.SimpleAction({ name });
            action.connect('activate', () => run());
            this.app.add_action(action);
        }
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
        this.clients.update(clientRows(view.clients, Date.now() / 1000, view.computers), view.access);
        console.info(`view: state=${view.state} available=${view.available ? 'yes' : 'no'} clients=${view.clientCount} title="${p.title}" status="${p.statusLine}" switch=${p.switchActive ? 'on' : 'off'}${p.switchSensitive ? '' : ' (busy)'} access=${view.access} computers=[${view.clients.map(c => `${c.mac || c.ip}${c.name === '' ? '' : ` "${c.name}"`} ${c.ip} ${c.stage}${c.access === '' ? '' : ` ${c.access}`}`).join(', ')}]`);
        if (view.state === 'sharing') {
            const fresh = newlyBooting(previous.state === 'sharing' ? previous.clients : [], view.clients);
            if (fresh.length > 0) {
                const n = bootingNotification(fresh, view.clientCount);
                this.notify(n.summary, n.body, 'share-this-cd-booting-symbolic');
            }
            const { ask, more } = questionsToAsk(newlyWaiting(previous.state === 'sharing' ? previous.clients : [], view.clients), this.questions, Date.now());
            for (const c of ask)
                this.askAbout(c);
            if (more)
                this.notify(_("More computers ask to start from this CD"), _("They are listed in Computers, where you can allow them."), 'share-this-cd-booting-symbolic');
        }
        for (const notice of newNotices(previous, view))
            this.notify(_("Share This CD"), notice, 'share-this-cd-sharing-symbolic');
        if (view.state === 'failed' && view.lastError !== '' && (previous.state !== 'failed' || previous.lastError !== view.lastError))
            this.notify(_("Sharing stopped"), failureText(view), 'share-this-cd-error-symbolic', 'critical');
    }

    /** A computer that is not allowed asks to start: Allow or Ignore, from the notification. */
    private askAbout(c: ClientView): void {
        const n = waitingNotification(c);
        console.info(`notification: ${n.summary} — ${n.body} [Allow, Ignore]`);
        this.notifier.send(n.summary, n.body, 'share-this-cd-booting-symbolic', 'normal', [
            { key: 'default', label: _("Computers"), run: () => this.clients.present() },
            { key: 'allow', label: _("Allow"), run: () => this.changeComputer(() => this.watcher.setComputer(c.mac, { allowed: true })) },
            { key: 'ignore', label: _("Ignore"), run: () => this.changeComputer(() => this.watcher.setComputer(c.mac, { allowed: false })) },
        ]);
    }

    /** A change of the computers through the helper; a refusal is told. */
    private changeComputer(call: () => Promise<void>): void {
        call().catch((e: Error) => this.notify(_("The computers could not be changed"), e.message, 'share-this-cd-error-symbolic', 'critical'));
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

    private toggle(on: boolean, iso: string | null = null, confirmed = false): void {
        if (this.pending !== null)
            return;
        // Computers that run from the share stop working with it: asked first.
        const running = on || confirmed ? [] : runningComputers(this.watcher.view);
        if (running.length > 0 && !this.asking) {
            this.asking = true;
            const names = running.map(c => computerName(c));
            askToStop(stopQuestion(running.length, this.watcher.view.mediumLabel), names).then(yes => {
                this.asking = false;
                if (yes)
                    this.toggle(false, null, true);
                else
                    this.render(this.watcher.view, this.watcher.view);
            }).catch(e => console.error(e));
            return;
        }
        if (this.asking)
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
        const answer = await editSettings(null, this.prefs.load(), listInterfaces(), this.watcher.view.access === 'allowed' ? 'allowed' : 'any');
        if (answer === null)
            return;
        const { prefs: next, access } = answer;
        const changed = JSON.stringify(next) !== JSON.stringify(this.prefs.load());
        this.prefs.save(next);
        // Which computers may start is the helper's setting (it applies at once).
        if (access !== this.watcher.view.access)
            this.changeComputer(() => this.watcher.setAccess(access));
        if (changed && this.watcher.view.state === 'sharing')
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
