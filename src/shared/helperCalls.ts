// Calls to the privileged helper, shared by its clients (the command line and the applet): a method call that
// allows interactive authorisation (the desktop's polkit agent may ask for a password), Start's options, and
// the sentence to show for a failed call.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import type { ShareOptions } from './options.ts';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, remoteError } from './dbus.ts';
import { _, format } from './i18n.ts';

/** True for the errors that mean the helper is not there (not installed, or it cannot start). */
export function isHelperMissing(e: unknown): boolean {
    const { name } = remoteError(e);
    return ['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.SpawnFailed', 'org.freedesktop.DBus.Error.SpawnExecFailed',
        'org.freedesktop.DBus.Error.SpawnChildExited', 'org.freedesktop.DBus.Error.NameHasNoOwner'].includes(name);
}

/** Turns a D-Bus error into the sentence to show. */
export function helperErrorText(e: unknown): string {
    if (isHelperMissing(e))
        return format(_("The Share This CD service is not installed or could not start ({message})."), { message: remoteError(e).message });
    const { name, message } = remoteError(e);
    if (name === 'org.freedesktop.DBus.Error.NoReply' || name === 'org.freedesktop.DBus.Error.Timeout')
        return _("The Share This CD helper did not answer in time: it may still be starting the share; see “share-this-cd status”.");
    return message;
}

/** Calls a method of the helper; the call may ask the user for a password through the desktop's polkit agent. */
export function callHelper(conn: Gio.DBusConnection, method: string, params: GLib.Variant | null, timeoutMs: number, iface = INTERFACE_NAME): Promise<GLib.Variant> {
    return new Promise((resolve, reject) => {
        conn.call(BUS_NAME, OBJECT_PATH, iface, method, params, null, Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION, timeoutMs, null, (_c, res) => {
            try {
                resolve(conn.call_finish(res));
            } catch (e) {
                reject(e);
            }
        });
    });
}

/** Start's a{sv} from the command line's options (only what differs from the helper's defaults). */
export function startOptionsVariant(o: ShareOptions): GLib.Variant {
    const dict: Record<string, GLib.Variant> = {};
    if (o.medium !== null)
        dict.medium = new GLib.Variant('s', o.medium);
    if (o.iso !== null)
        dict.iso = new GLib.Variant('s', o.iso);
    if (o.interface !== null)
        dict.interface = new GLib.Variant('s', o.interface);
    dict.mode = new GLib.Variant('s', o.mode);
    dict.http = new GLib.Variant('b', o.http);
    dict['http-port'] = new GLib.Variant('q', o.httpPort);
    return new GLib.Variant('(a{sv})', [dict]);
}

