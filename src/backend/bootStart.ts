// "Keep sharing after a restart" under systemd: the helper's unit is enabled (WantedBy=multi-user.target)
// while the user wants sharing back at boot, and disabled otherwise, so that the package itself enables
// nothing. systemd (PID 1) writes the links at the helper's request on its manager API: the helper's own view
// of /etc is read-only (ProtectSystem=strict). Outside systemd (a checkout, a private bus, a root `start`)
// there is no unit and nothing to do.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

export const HELPER_UNIT = 'share-this-cd-helper.service';

/** Whether this process is a systemd service's (systemd sets INVOCATION_ID for each run of a unit). */
export function runByServiceManager(): boolean {
    return GLib.getenv('INVOCATION_ID') !== null;
}

function callManager(bus: Gio.DBusConnection, method: string, args: GLib.Variant | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        bus.call('org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', method, args, null,
            Gio.DBusCallFlags.NONE, 30000, null, (_c, res) => {
                try {
                    bus.call_finish(res);
                    resolve();
                } catch (e) {
                    reject(e);
                }
            });
    });
}

/**
 * Enables (or disables) the helper's unit at boot through systemd, then has systemd reload its units, as
 * `systemctl enable` does (else systemd's own view, UnitFileState, stays the old one until the next reload).
 */
export async function setStartAtBoot(on: boolean, bus: Gio.DBusConnection): Promise<void> {
    await callManager(bus, on ? 'EnableUnitFiles' : 'DisableUnitFiles',
        on ? new GLib.Variant('(asbb)', [[HELPER_UNIT], false, false]) : new GLib.Variant('(asb)', [[HELPER_UNIT], false]));
    await callManager(bus, 'Reload', null);
}
