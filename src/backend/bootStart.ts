// "Keep sharing after a restart" under systemd: the helper's unit is enabled (WantedBy=multi-user.target)
// while the user wants sharing back at boot, and disabled otherwise, so that the package itself enables
// nothing. systemd (PID 1) writes the links at the helper's request on its manager API: the helper's own view
// of /etc is read-only (ProtectSystem=strict). Outside systemd (a checkout, a private bus, a root `start`)
// there is no unit and nothing to do.
import type Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { callAsync } from '../shared/dbus.ts';

export const HELPER_UNIT = 'share-this-cd-helper.service';

/** Whether this process is a systemd service's (systemd sets INVOCATION_ID for each run of a unit). */
export function runByServiceManager(): boolean {
    return GLib.getenv('INVOCATION_ID') !== null;
}

function callManager(bus: Gio.DBusConnection, method: string, args: GLib.Variant | null): Promise<GLib.Variant> {
    return callAsync(bus, 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', method, args, null, 30000);
}

/**
 * Enables (or disables) the helper's unit at boot through systemd, then has systemd reload its units, as
 * `systemctl enable` does (else systemd's own view, UnitFileState, stays the old one until the next reload).
 * Nothing is done when the unit is already so (a share started again at boot, a second stop).
 */
export async function setStartAtBoot(on: boolean, bus: Gio.DBusConnection): Promise<void> {
    const [state] = (await callManager(bus, 'GetUnitFileState', new GLib.Variant('(s)', [HELPER_UNIT]))).deepUnpack() as [string];
    if ((state === 'enabled') === on)
        return;
    await callManager(bus, on ? 'EnableUnitFiles' : 'DisableUnitFiles',
        on ? new GLib.Variant('(asbb)', [[HELPER_UNIT], false, false]) : new GLib.Variant('(asb)', [[HELPER_UNIT], false]));
    await callManager(bus, 'Reload', null);
}
