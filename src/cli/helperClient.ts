// `share-this-cd start|stop|computers` for a user who is not root: the same request goes to the privileged helper over
// the system bus (polkit decides; a password dialog may appear, the call allows it). `start` then follows the
// helper's properties until Ctrl-C, which stops sharing, as the root command does.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, registerErrorDomain, replyWithin } from '../shared/dbus.ts';
import { helperErrorText, helperProperties, isHelperMissing, startOptions } from '../shared/helperCalls.ts';
import { CALL_FLAGS, type HelperProxy, helperProxy } from '../shared/helperProxy.ts';
import { _, format } from '../shared/i18n.ts';
import type { ShareOptions } from '../shared/options.ts';

/** Relative paths are the user's working directory's: the helper needs them whole. */
function absolute(path: string | null): string | null {
    return path === null ? null : GLib.canonicalize_filename(path, GLib.get_current_dir());
}

type Print = (text: string) => void;

/**
 * Shares through the helper; resolves with the exit status once sharing has stopped (Ctrl-C or a failure), or
 * at once with `remember` (the share goes on without this command, and again after a restart).
 */
export async function startViaHelper(options: ShareOptions, remember: boolean, out: Print, err: Print,
    onSignal: (handler: () => void) => void): Promise<number> {
    registerErrorDomain();
    const conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
    const opts = { ...options, medium: absolute(options.medium), iso: absolute(options.iso) };
    out(_("Asking the Share This CD helper to share (you may be asked for a password)…"));
    // The helper's steps while it starts (the DHCP probe, copying the medium…), each once.
    let lastStep = '';
    const steps = conn.signal_subscribe(BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', OBJECT_PATH, INTERFACE_NAME,
        Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
            const [, changed] = params.recursiveUnpack() as [string, Record<string, unknown>, string[]];
            if (typeof changed.Progress === 'string' && changed.Progress !== '' && changed.Progress !== lastStep) {
                lastStep = changed.Progress;
                out(`  ${lastStep}`);
            }
        });
    try {
        // Long enough for a password dialog and the DHCP probe.
        await replyWithin(helperProxy(conn, 300000).StartAsync(startOptions(opts, remember), CALL_FLAGS), 300000, 'Start');
    } catch (e) {
        conn.signal_unsubscribe(steps);
        err(`share-this-cd: ${helperErrorText(e)}${isHelperMissing(e) ? ` ${_("Run share-this-cd as root instead.")}` : ''}`);
        return 1;
    }
    conn.signal_unsubscribe(steps);
    const p = await helperProperties(conn);
    out(format(_("Sharing {label} on {interface} ({address}), {mode} mode, through the helper."),
        { label: String(p.MediumLabel), interface: String(p.Interface), address: String(p.Address), mode: String(p.Mode) === 'proxy' ? _("proxy-DHCP") : _("full DHCP") }));
    if (remember) {
        out(_("Start the other computers from the network (often F12, F11 or Esc at power-on). Sharing goes on, also after a restart, until “share-this-cd stop”."));
        return 0;
    }
    out(_("Start the other computers from the network (often F12, F11 or Esc at power-on). Ctrl-C stops sharing."));
    let finish: (code: number) => void = () => {};
    const done = new Promise<number>(resolve => { finish = resolve; });
    let lastCount = -1;
    let told = Array.isArray(p.Notices) ? p.Notices.length : 0;
    let stopping = false;
    const sub = conn.signal_subscribe(BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', OBJECT_PATH, INTERFACE_NAME,
        Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
            const [, changed] = params.recursiveUnpack() as [string, Record<string, unknown>, string[]];
            // New notices (the list keeps the newest 8: a shorter list than before is all new).
            if (Array.isArray(changed.Notices)) {
                const notices = changed.Notices.map(String);
                for (const n of notices.slice(notices.length >= told ? told : 0))
                    out(format(_("Note: {message}"), { message: n }));
                told = notices.length;
            }
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
    // The helper may end without a word (killed, or its unit stopped): nothing is shared any more then.
    const watch = Gio.bus_watch_name_on_connection(conn, BUS_NAME, Gio.BusNameWatcherFlags.NONE, null, () => {
        if (stopping)
            return;
        stopping = true;
        err(`share-this-cd: ${_("The Share This CD helper ended unexpectedly: nothing is shared any more. The next call cleans up after it.")}`);
        finish(1);
    });
    onSignal(() => {
        if (stopping)
            return;
        stopping = true;
        out(_("Stopping…"));
        replyWithin(helperProxy(conn, 120000).StopAsync(CALL_FLAGS), 120000, 'Stop').then(() => {
            out(_("Stopped: nothing of the share is left running."));
            finish(0);
        }, e => {
            err(`share-this-cd: ${helperErrorText(e)}`);
            finish(1);
        });
    });
    const code = await done;
    Gio.bus_unwatch_name(watch);
    conn.signal_unsubscribe(sub);
    return code;
}

/** `share-this-cd stop` through the helper. */
export async function stopViaHelper(out: Print, err: Print): Promise<number> {
    registerErrorDomain();
    try {
        const conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
        await replyWithin(helperProxy(conn, 120000).StopAsync(CALL_FLAGS), 120000, 'Stop');
        out(_("Sharing stopped."));
        return 0;
    } catch (e) {
        err(`share-this-cd: ${helperErrorText(e)}`);
        return 1;
    }
}

/** A change of the computers' settings through the helper (`share-this-cd computers …` of a user). */
export async function computersViaHelper(call: (proxy: HelperProxy) => Promise<unknown>, what: string, err: Print): Promise<boolean> {
    registerErrorDomain();
    try {
        const conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
        await replyWithin(call(helperProxy(conn, 120000)), 120000, what);
        return true;
    } catch (e) {
        err(`share-this-cd: ${helperErrorText(e)}`);
        return false;
    }
}
