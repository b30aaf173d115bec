// The helper's D-Bus names, its interface (data/io.github.ShareThisCD1.xml, bundled as text: one definition for
// the helper and its clients) and the error domain: each ShareError code is a registered D-Bus error
// io.github.ShareThisCD1.Error.<Code>, so a GLib.Error thrown in the helper arrives as the same code in a client.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import INTERFACE_XML from '../../data/io.github.ShareThisCD1.xml';
import type { ErrorCode } from './errors.ts';
import { withDeadline } from './timers.ts';

export const BUS_NAME = 'io.github.ShareThisCD1';
export const INTERFACE_NAME = 'io.github.ShareThisCD1';
export const OBJECT_PATH = '/io/github/ShareThisCD1';
export const POLKIT_ACTION = 'io.github.ShareThisCD1.share';
export const ERROR_PREFIX = 'io.github.ShareThisCD1.Error';

export { INTERFACE_XML };

/** The codes, in a fixed order: a code's index is its number in the GLib error domain. */
export const ERROR_CODES: readonly ErrorCode[] = ['NoLiveMedium', 'UnsupportedMedium', 'InvalidOption', 'NoUsableInterface',
    'DhcpConflict', 'DaemonFailed', 'AlreadySharing', 'NotSharing', 'Busy', 'AuthorizationDismissed'];

export const ERROR_QUARK = GLib.quark_from_string('share-this-cd-error-quark');

let registered = false;

/** Registers io.github.ShareThisCD1.Error.* with GIO (idempotent). Both sides call it. */
export function registerErrorDomain(): void {
    if (registered)
        return;
    registered = true;
    ERROR_CODES.forEach((code, i) => Gio.dbus_error_register_error(ERROR_QUARK, i, `${ERROR_PREFIX}.${code}`));
}

/** The D-Bus error name of an error a call returned ("" for a local error), and its message without it. Pure. */
export function remoteError(e: unknown): { name: string; code: ErrorCode | null; message: string } {
    if (!(e instanceof GLib.Error))
        return { name: '', code: null, message: e instanceof Error ? e.message : String(e) };
    const name = Gio.DBusError.get_remote_error(e) ?? '';
    // A registered name comes back as our own domain: its code is the index in ERROR_CODES.
    const code = e.domain === ERROR_QUARK ? ERROR_CODES[e.code] ?? null : null;
    // The message without GDBus's "GDBus.Error:NAME: " prefix (not stripped in place: callers may ask twice).
    const message = e.message.replace(/^GDBus\.Error:[\w.]+: /, '');
    return { name: name || (code !== null ? `${ERROR_PREFIX}.${code}` : ''), code, message };
}

/** The interface's description, parsed once. */
let info: Gio.DBusInterfaceInfo | null = null;
export function interfaceInfo(): Gio.DBusInterfaceInfo {
    if (info === null)
        info = Gio.DBusNodeInfo.new_for_xml(INTERFACE_XML).lookup_interface(INTERFACE_NAME);
    if (info === null)
        throw new Error(`${INTERFACE_NAME} is missing from its XML`);
    return info;
}

/** Option keys Start accepts, with their D-Bus type. */
export const START_OPTIONS: Record<string, string> = {
    'interface': 's', 'mode': 's', 'medium': 's', 'iso': 's', 'http': 'b', 'http-port': 'q', 'remember': 'b',
    'menu-timeout': 'u', 'default-entry': 's',
};

/** The error of a call whose reply never came (as GDBus names a call that timed out). */
export function noReplyError(method: string): GLib.Error {
    return Gio.DBusError.new_for_dbus_error('org.freedesktop.DBus.Error.NoReply', `No reply to ${method}`);
}

/** The time a reply may take beyond a call's own timeout (-1: GDBus's 25 s) before it is taken as lost. */
const LOST_REPLY_MS = 15000;

/**
 * Sends a method call and resolves with its reply. A reply whose callback gjs refused (shared/timers.ts) ends
 * as "no reply" a little after the call's own timeout.
 */
export function callAsync(conn: Gio.DBusConnection, dest: string, path: string, iface: string, method: string,
    params: GLib.Variant | null, replyType: string | null, timeoutMs = -1, flags = Gio.DBusCallFlags.NONE): Promise<GLib.Variant> {
    return replyWithin(new Promise((resolve, reject) => {
        conn.call(dest, path, iface, method, params, replyType === null ? null : new GLib.VariantType(replyType), flags, timeoutMs, null, (_c, res) => {
            try {
                resolve(conn.call_finish(res));
            } catch (e) {
                reject(e);
            }
        });
    }), timeoutMs, method);
}

/** A call's reply, or "no reply" a little after the call's own timeout (`timeoutMs`, -1: GDBus's 25 s). */
export function replyWithin<T>(reply: Promise<T>, timeoutMs: number, method: string): Promise<T> {
    return withDeadline(reply, (timeoutMs < 0 ? 25000 : timeoutMs) + LOST_REPLY_MS, () => noReplyError(method));
}
