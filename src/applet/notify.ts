// Desktop notifications through org.freedesktop.Notifications on the session bus (every desktop has a server);
// a missing server is logged, never an error for the user. A notification may offer actions (buttons: "Allow",
// "Ignore"); the server says which one the user chose with its ActionInvoked signal.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { _ } from '../shared/i18n.ts';

const PATH = '/org/freedesktop/Notifications';
const IFACE = 'org.freedesktop.Notifications';

/** An action of a notification: `key` "default" is the notification's own click (no button). */
export interface NotificationAction {
    key: string;
    label: string;
    run: () => void;
}

export class Notifier {
    /** The actions of the notifications shown, by their id (forgotten when the server closes one). */
    private readonly actions = new Map<number, NotificationAction[]>();
    private subscribed: Gio.DBusConnection | null = null;

    constructor(private readonly appName = _("Share This CD")) {}

    send(summary: string, body: string, icon: string, urgency: 'normal' | 'critical' = 'normal', actions: NotificationAction[] = []): void {
        let conn: Gio.DBusConnection;
        try {
            conn = Gio.bus_get_sync(Gio.BusType.SESSION, null);
        } catch (e) {
            console.warn(`no session bus for notifications: ${(e as Error).message}`);
            return;
        }
        if (actions.length > 0)
            this.follow(conn);
        const hints: Record<string, GLib.Variant> = { 'urgency': new GLib.Variant('y', urgency === 'critical' ? 2 : 1), 'desktop-entry': new GLib.Variant('s', 'io.github.ShareThisCD') };
        // A question stays until it is answered (or closed).
        if (actions.length > 0)
            hints.resident = new GLib.Variant('b', true);
        conn.call(IFACE, PATH, IFACE, 'Notify',
            new GLib.Variant('(susssasa{sv}i)', [this.appName, 0, icon, summary, body, actions.flatMap(a => [a.key, a.label]), hints, actions.length > 0 ? 0 : -1]),
            null, Gio.DBusCallFlags.NONE, 5000, null,
            (_c, res) => {
                try {
                    const [id] = conn.call_finish(res).deepUnpack() as [number];
                    if (actions.length > 0)
                        this.actions.set(id, actions);
                } catch (e) {
                    console.warn(`notification not shown: ${(e as Error).message}`);
                }
            });
    }

    /** Listens for the server's answers (once per connection). */
    private follow(conn: Gio.DBusConnection): void {
        if (this.subscribed === conn)
            return;
        this.subscribed = conn;
        conn.signal_subscribe(IFACE, IFACE, 'ActionInvoked', PATH, null, Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
            const [id, key] = params.deepUnpack() as [number, string];
            const action = this.actions.get(id)?.find(a => a.key === key);
            if (action === undefined)
                return;
            console.info(`notification ${id}: ${key}`);
            this.actions.delete(id);
            // (a resident notification stays: it is closed once answered)
            conn.call(IFACE, PATH, IFACE, 'CloseNotification', new GLib.Variant('(u)', [id]), null, Gio.DBusCallFlags.NONE, 5000, null, null);
            action.run();
        });
        conn.signal_subscribe(IFACE, IFACE, 'NotificationClosed', PATH, null, Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
            const [id] = params.deepUnpack() as [number, number];
            this.actions.delete(id);
        });
    }
}
