// `share-this-cd start|stop` for a user who is not root: the same request goes to the privileged helper over
// the system bus (polkit decides; a password dialog may appear, the call allows it). `start` then follows the
// helper's properties until Ctrl-C, which stops sharing, as the root command does.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, registerErrorDomain, remoteError } from '../shared/dbus.ts';
import { _, format } from '../shared/i18n.ts';
import type { ShareOptions } from '../backend/share.ts';

/** Turns a D-Bus error into the sentence to print. */
export function helperErrorText(e: unknown): string {
    const { name, message } = remoteError(e);
    if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.SpawnFailed'
        || name === 'org.freedesktop.DBus.Error.SpawnExecFailed')
        return format(_("The Share This CD helper is not installed or could not start ({message}). Run share-this-cd as root instead."), { message });
    if (name === 'org.freedesktop.DBus.Error.NoReply' || name === 'org.freedesktop.DBus.Error.Timeout')
        return _("The Share This CD helper did not answer in time: it may still be starting the share; see “share-this-cd status”.");
    return message;
}

function call(conn: Gio.DBusConnection, method: string, params: GLib.Variant | null, timeoutMs: number, iface = INTERFACE_NAME): Promise<GLib.Variant> {
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

async function allProperties(conn: Gio.DBusConnection): Promise<Record<string, unknown>> {
    const reply = await call(conn, 'GetAll', new GLib.Variant('(s)', [INTERFACE_NAME]), 25000, 'org.freedesktop.DBus.Properties');
    return (reply.recursiveUnpack() as [Record<string, unknown>])[0];
}

/** Relative paths are the user's working directory's: the helper needs them whole. */
function absolute(path: string | null): string | null {
    return path === null ? null : GLib.canonicalize_filename(path, GLib.get_current_dir());
}

type Print = (text: string) => void;

/** Shares through the helper; resolves with the exit status once sharing has stopped (Ctrl-C or a failure). */
export async function startViaHelper(options: ShareOptions, out: Print, err: Print,
    onSignal: (handler: () => void) => void): Promise<number> {
    registerErrorDomain();
    const conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
    const opts = { ...options, medium: absolute(options.medium), iso: absolute(options.iso) };
    out(_("Asking the Share This CD helper to share (you may be asked for a password)…"));
    try {
        // Long enough for a password dialog and the DHCP probe.
        await call(conn, 'Start', startOptionsVariant(opts), 300000);
    } catch (e) {
        err(`share-this-cd: ${helperErrorText(e)}`);
        return 1;
    }
    const p = await allProperties(conn);
    out(format(_("Sharing {label} on {interface} ({address}), {mode} mode, through the helper."),
        { label: String(p.MediumLabel), interface: String(p.Interface), address: String(p.Address), mode: String(p.Mode) === 'proxy' ? _("proxy-DHCP") : _("full DHCP") }));
    out(_("Start the other computers from the network (often F12, F11 or Esc at power-on). Ctrl-C stops sharing."));
    let finish: (code: number) => void = () => {};
    const done = new Promise<number>(resolve => { finish = resolve; });
    let lastCount = -1;
    let stopping = false;
    const sub = conn.signal_subscribe(BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', OBJECT_PATH, INTERFACE_NAME,
        Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
            const [, changed] = params.recursiveUnpack() as [string, Record<string, unknown>, string[]];
            if (typeof changed.ClientCount === 'number' && changed.ClientCount !== lastCount) {
                lastCount = changed.ClientCount;
                out(format(_("Computers booting: {count}"), { count: lastCount }));
            }
            if (!stopping && (changed.State === 'failed' || changed.State === 'stopped')) {
                if (changed.State === 'failed' && typeof changed.LastError === 'string' && changed.LastError !== '')
                    err(`share-this-cd: ${changed.LastError}`);
                else
                    out(_("Sharing was stopped."));
                finish(changed.State === 'failed' ? 1 : 0);
            }
        });
    onSignal(() => {
        if (stopping)
            return;
        stopping = true;
        out(_("Stopping…"));
        call(conn, 'Stop', null, 120000).then(() => {
            out(_("Stopped: nothing of the share is left running."));
            finish(0);
        }, e => {
            err(`share-this-cd: ${helperErrorText(e)}`);
            finish(1);
        });
    });
    const code = await done;
    conn.signal_unsubscribe(sub);
    return code;
}

/** `share-this-cd stop` through the helper. */
export async function stopViaHelper(out: Print, err: Print): Promise<number> {
    registerErrorDomain();
    try {
        const conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
        await call(conn, 'Stop', null, 120000);
        out(_("Sharing stopped."));
        return 0;
    } catch (e) {
        err(`share-this-cd: ${helperErrorText(e)}`);
        return 1;
    }
}
