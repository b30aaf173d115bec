// polkit: is the caller (its unique bus name, never a PID) allowed io.github.ShareThisCD1.share?
// The question goes to polkitd on the helper's own bus connection (CheckAuthorization); interaction (a password
// dialog from the caller's authentication agent) is allowed only when the caller's message allows it.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { _ } from '../../shared/i18n.ts';
import { ERROR_PREFIX, POLKIT_ACTION, callAsync } from '../../shared/dbus.ts';

/** A D-Bus error to answer a call with. */
export class DBusFailure extends Error {
    constructor(readonly errorName: string, message: string) {
        super(message);
    }
}

export interface Authority {
    /** Resolves when `sender` may share; rejects with a DBusFailure saying why not. */
    check(sender: string, interactive: boolean): Promise<void>;
}

const CHECK_ALLOW_USER_INTERACTION = 1;

export class PolkitAuthority implements Authority {
    constructor(private readonly conn: Gio.DBusConnection, private readonly action = POLKIT_ACTION) {}

    async check(sender: string, interactive: boolean): Promise<void> {
        const subject: [string, Record<string, GLib.Variant>] = ['system-bus-name', { name: new GLib.Variant('s', sender) }];
        const params = new GLib.Variant('((sa{sv})sa{ss}us)', [subject, this.action, {}, interactive ? CHECK_ALLOW_USER_INTERACTION : 0, '']);
        let reply: GLib.Variant;
        try {
            // An interactive check waits for the user to type a password: no time limit.
            reply = await callAsync(this.conn, 'org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                'org.freedesktop.PolicyKit1.Authority', 'CheckAuthorization', params, '((bba{ss}))', interactive ? GLib.MAXINT32 : 25000);
        } catch (e) {
            console.warn(`polkit CheckAuthorization failed: ${(e as Error).message}`);
            throw new DBusFailure('org.freedesktop.DBus.Error.AccessDenied', _("Not allowed: the permission check (polkit) is not available on this computer."));
        }
        const [[authorized, challenge, details]] = reply.deepUnpack() as [[boolean, boolean, Record<string, string>]];
        if (authorized)
            return;
        if (details['polkit.dismissed'] !== undefined)
            throw new DBusFailure(`${ERROR_PREFIX}.AuthorizationDismissed`, _("The password dialog was closed: nothing was changed."));
        // A password would do, but none could be asked: the call did not allow it, or the caller has no
        // authentication agent (a terminal without one, a script).
        if (challenge)
            throw new DBusFailure('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired', _("An administrator's password is needed to share this computer's live system: try again from a program that can ask for it."));
        throw new DBusFailure('org.freedesktop.DBus.Error.AccessDenied', _("Not allowed: sharing the live system with the network needs an administrator's permission."));
    }
}
