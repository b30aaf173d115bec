// What the helper's clients (the command line and the applet) share besides its proxy (helperProxy.ts): reading
// its properties, Start's options, and the sentence to show for a failed call.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import type { ShareOptions } from './options.ts';
import { BUS_NAME, ERROR_PREFIX, INTERFACE_NAME, OBJECT_PATH, callAsync, remoteError } from './dbus.ts';
import { _, format } from './i18n.ts';

/** True for the errors that mean the helper is not there (not installed, or it cannot start). */
export function isHelperMissing(e: unknown): boolean {
    const { name } = remoteError(e);
    return ['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.SpawnFailed', 'org.freedesktop.DBus.Error.SpawnExecFailed',
        'org.freedesktop.DBus.Error.SpawnChildExited', 'org.freedesktop.DBus.Error.NameHasNoOwner'].includes(name);
}

/**
 * What a helper's error name means, in the user's language (the helper, a system service, speaks the
 * system's): null for a name it does not know. `name` is a D-Bus error name or one of the helper's codes.
 */
export function errorSummary(name: string): string | null {
    const code = name.startsWith(`${ERROR_PREFIX}.`) ? name.slice(ERROR_PREFIX.length + 1) : name;
    switch (code) {
    case 'NoLiveMedium': return _("There is no live system to share there.");
    case 'UnsupportedMedium': return _("This live system cannot be started over the network.");
    case 'InvalidOption': return _("A setting is not valid.");
    case 'NoUsableInterface': return _("No usable network connection was found.");
    case 'DhcpConflict': return _("Another DHCP server of the network is in the way.");
    case 'DaemonFailed': return _("A server of the share could not run.");
    case 'AlreadySharing': return _("This computer is already sharing.");
    case 'NotSharing': return _("This computer is not sharing.");
    case 'Busy': return _("The sharing service is busy.");
    case 'AuthorizationDismissed': return _("The password was not given: nothing was changed.");
    case 'org.freedesktop.DBus.Error.AccessDenied': return _("You are not allowed to change sharing on this computer: nothing was changed.");
    case 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': return _("A password is needed, and no password dialog can be shown here.");
    case 'org.freedesktop.DBus.Error.InvalidArgs': return _("The request was not valid.");
    default: return null;
    }
}

/** The sentence in the user's language, then the helper's own sentence (its details), on a line of its own. */
export function withDetail(summary: string | null, detail: string): string {
    return summary === null || detail === '' || detail === summary ? detail || (summary ?? '') : `${summary}\n${detail}`;
}

/** Turns a D-Bus error into the sentence to show. */
export function helperErrorText(e: unknown): string {
    if (isHelperMissing(e))
        return format(_("The Share This CD service is not installed or could not start ({message})."), { message: remoteError(e).message });
    const { name, message } = remoteError(e);
    if (name === 'org.freedesktop.DBus.Error.NoReply' || name === 'org.freedesktop.DBus.Error.Timeout')
        return _("The Share This CD helper did not answer in time: it may still be starting the share; see “share-this-cd status”.");
    return withDetail(errorSummary(name), message);
}

/** Reads all of the helper's properties (starting it when it does not run: D-Bus activation). */
export function helperProperties(conn: Gio.DBusConnection, timeoutMs = 25000): Promise<Record<string, unknown>> {
    return callProperties(conn, 'GetAll', new GLib.Variant('(s)', [INTERFACE_NAME]), timeoutMs)
        .then(reply => (reply.recursiveUnpack() as [Record<string, unknown>])[0]);
}

function callProperties(conn: Gio.DBusConnection, method: string, params: GLib.Variant | null, timeoutMs: number): Promise<GLib.Variant> {
    return callAsync(conn, BUS_NAME, OBJECT_PATH, 'org.freedesktop.DBus.Properties', method, params, null, timeoutMs);
}

/** Start's a{sv} from share options (only what differs from the helper's defaults for paths and interface). */
export function startOptions(o: ShareOptions, remember: boolean | null = null): Record<string, GLib.Variant> {
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
    if (o.menuTimeout !== null)
        dict['menu-timeout'] = new GLib.Variant('u', o.menuTimeout);
    if (o.defaultEntry !== null)
        dict['default-entry'] = new GLib.Variant('s', o.defaultEntry);
    if (remember !== null)
        dict.remember = new GLib.Variant('b', remember);
    return dict;
}
