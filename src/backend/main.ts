// share-this-cd-helper: the privileged mechanism. Owns io.github.ShareThisCD1 on the system bus (started by
// D-Bus activation, or by systemd as share-this-cd-helper.service), reconciles what an earlier run left, serves
// the interface, and exits after an idle time when nothing is shared. SIGTERM stops a share cleanly first.
import { setConsoleLogDomain } from 'console';
import system from 'system';

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { BUS_NAME, OBJECT_PATH, registerErrorDomain } from '../shared/dbus.ts';
import { runMain, unixSignalAdd } from '../shared/mainLoop.ts';
import { runByServiceManager, setStartAtBoot } from './bootStart.ts';
import { PolkitAuthority } from './dbus/polkit.ts';
import { ShareService } from './dbus/service.ts';
import { pinPath } from './medium/pin.ts';
import { listInterfaces } from './network/host.ts';
import { SettingsStore } from './settings.ts';
import { engineEnvFromProcess, envNumber } from './runtime/env.ts';
import { after } from '../shared/timers.ts';

setConsoleLogDomain('share-this-cd-helper');

/**
 * Whether user `uid` (with its groups) can read `path`, checked by `test` running as that user: 'missing' when
 * it does not exist for that user (a dangling symbolic link included: where it points may be swapped later).
 */
async function main(): Promise<number> {
    registerErrorDomain();
    const idleMs = envNumber('SHARE_THIS_CD_IDLE_TIMEOUT', 60) * 1000;
    // runMain's loop turns until `finished` resolves, when the helper should exit.
    let exitCode = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>(resolve => { finish = resolve; });
    let connection: Gio.DBusConnection;
    try {
        connection = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
    } catch (e) {
        console.error(`cannot connect to the system bus: ${(e as Error).message}`);
        return 1;
    }
    let idleTimer: (() => void) | null = null;
    let quitting = false;
    const quit = (code: number): void => {
        if (quitting)
            return;
        quitting = true;
        exitCode = code;
        finish();
    };
    // The bus going away (the system shutting down: dbus may stop first) must not kill the helper, as GDBus's
    // default (exit-on-close: raise SIGTERM) would, in the middle of undoing a share: it quits cleanly instead.
    connection.set_exit_on_close(false);
    connection.connect('closed', () => {
        console.info('the system bus closed: stopping');
        quit(0);
    });
    const env = engineEnvFromProcess();
    const service: ShareService = new ShareService({
        authority: new PolkitAuthority(connection),
        env,
        settings: new SettingsStore(env.stateDir),
        listInterfaces,
        pin: pinPath,
        onActivity: () => armIdle(),
        startAtBoot: runByServiceManager() ? on => setStartAtBoot(on, connection) : undefined,
    });
    // The idle timer runs while nothing is shared; each call starts it again.
    function armIdle(): void {
        idleTimer?.();
        idleTimer = after(idleMs, () => {
            idleTimer = null;
            if (service.idle) {
                console.info(`idle for ${idleMs / 1000} s: exiting`);
                quit(0);
            } else {
                armIdle();
            }
        });
    }

    // Reconcile before taking the name: the first call sees the true state.
    await service.reconcile();
    service.export(connection, OBJECT_PATH);
    const owned = await new Promise<boolean>(resolve => {
        Gio.bus_own_name_on_connection(connection, BUS_NAME, Gio.BusNameOwnerFlags.DO_NOT_QUEUE,
            () => resolve(true),
            () => {
                resolve(false);
                quit(quitting ? exitCode : 1);
            });
    });
    if (!owned) {
        console.error(`could not own ${BUS_NAME} on the system bus (another helper runs, or the bus policy refuses it)`);
        await service.shutdown();
        return 1;
    }
    console.info(`ready on the system bus as ${BUS_NAME}`);
    armIdle();
    // Share again if the user chose so (in the background: callers see "starting", then "sharing").
    service.resume(envNumber('SHARE_THIS_CD_RESUME_RETRY', 5) * 1000).catch(e => console.warn(`resume: ${e}`));
    for (const signal of [1, 2, 15]) {
        // Kept: a second signal while the share is being undone must not end the process by default action.
        unixSignalAdd(GLib.PRIORITY_HIGH, signal, () => {
            console.info('signal: stopping');
            quit(0);
            return GLib.SOURCE_CONTINUE;
        });
    }
    await finished;
    // Leave the bus first (callers get a fresh activation), then undo a share.
    service.unexport();
    await service.shutdown();
    connection.flush_sync(null);
    return exitCode;
}

system.exit(runMain(main));
