// The helper's methods as a proxy class generated from its interface XML (data/io.github.ShareThisCD1.xml,
// bundled as text) by Gio.DBusProxy.makeProxyWrapper, as gnome-shell wraps its D-Bus services: method names and
// argument types come from the XML, and each call allows interactive authorisation (the desktop's polkit agent
// may ask for a password). Used by the command line and the applet.
import Gio from 'gi://Gio';
import type GLib from 'gi://GLib';

import { BUS_NAME, INTERFACE_XML, OBJECT_PATH } from './dbus.ts';

/** The interface's methods, as makeProxyWrapper makes them (a trailing number argument is the call's flags). */
export interface HelperMethods {
    StartAsync(options: Record<string, GLib.Variant>, flags: Gio.DBusCallFlags): Promise<[]>;
    StopAsync(flags: Gio.DBusCallFlags): Promise<[]>;
    ProbeAsync(iface: string, flags: Gio.DBusCallFlags): Promise<[Record<string, GLib.Variant>]>;
    SetAccessAsync(access: string, flags: Gio.DBusCallFlags): Promise<[]>;
    SetComputerAsync(mac: string, changes: Record<string, GLib.Variant>, flags: Gio.DBusCallFlags): Promise<[]>;
    ForgetComputerAsync(mac: string, flags: Gio.DBusCallFlags): Promise<[]>;
}

export type HelperProxy = HelperMethods & Gio.DBusProxy;

const HelperProxyClass = Gio.DBusProxy.makeProxyWrapper<HelperMethods>(INTERFACE_XML);

/** What a call may do: ask the user for a password (polkit) and start the helper (D-Bus activation). */
export const CALL_FLAGS = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION;

/**
 * A proxy for the helper's methods on `conn`, each call waiting up to `timeoutMs`. It loads no properties and
 * follows no signals (the clients read and follow those themselves); a call starts the helper when it is not
 * running.
 */
export function helperProxy(conn: Gio.DBusConnection, timeoutMs: number): HelperProxy {
    const proxy = HelperProxyClass(conn, BUS_NAME, OBJECT_PATH, undefined, null,
        Gio.DBusProxyFlags.DO_NOT_LOAD_PROPERTIES | Gio.DBusProxyFlags.DO_NOT_CONNECT_SIGNALS | Gio.DBusProxyFlags.DO_NOT_AUTO_START_AT_CONSTRUCTION);
    proxy.set_default_timeout(timeoutMs);
    return proxy;
}
