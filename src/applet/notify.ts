// Desktop notifications through org.freedesktop.Notifications on the session bus (every desktop has a server);
// a missing server is logged, never an error for the user.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { _ } from '../shared/i18n.ts';

export class Notifier {
    constructor(private readonly appName = _("Share This CD")) {}

    send(summary: string, body: string, icon: string, urgency: 'normal' | 'critical' = 'normal'): void {
        let conn: Gio.DBusConnection;
        try {
            conn = Gio.bus_get_sync(Gio.BusType.SESSION, null);
        } catch (e) {
            console.warn(`no session bus for notifications: ${(e as Error).message}`);
            return;
        }
        const hints = { 'urgency': new GLib.Variant('y', urgency === 'critical' ? 2 : 1), 'desktop-entry': new GLib.Variant('s', 'io.github.ShareThisCD') };
        conn.call('org.freedesktop.Notifications', '/org/freedesktop/Notifications', 'org.freedesktop.Notifications', 'Notify',
            new GLib.Variant('(susssasa{sv}i)', [this.appName, 0, icon, summary, body, [], hints, -1]), null, Gio.DBusCallFlags.NONE, 5000, null,
            (_c, res) => {
                try {
                    conn.call_finish(res);
                } catch (e) {
                    console.warn(`notification not shown: ${(e as Error).message}`);
                }
            });
    }
}
