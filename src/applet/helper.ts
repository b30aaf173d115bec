// The applet's view of the privileged helper: reads its properties (which starts it by D-Bus activation),
// follows PropertiesChanged, notices when it exits (idle exit keeps the last state; an exit while sharing means
// a crash: it is asked again, and the new helper reports what it cleaned up), and sends Start/Stop. Every call
// is asynchronous: the menu never waits for the helper.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, registerErrorDomain, replyWithin } from '../shared/dbus.ts';
import { helperErrorText, helperProperties, startOptions } from '../shared/helperCalls.ts';
import { CALL_FLAGS, type HelperProxy, helperProxy } from '../shared/helperProxy.ts';
import type { ShareOptions } from '../shared/options.ts';
import { _, format } from '../shared/i18n.ts';
import { type HelperView, UNKNOWN_VIEW, mergeProperties } from './model.ts';

export type ViewListener = (view: HelperView, previous: HelperView) => void;

export class HelperWatcher {
    private current: HelperView = UNKNOWN_VIEW;
    private readonly subscriptions: number[] = [];
    private connection: Gio.DBusConnection | null = null;

    /** `connect` gives the system bus connection (tests: a private bus); it may throw when there is none. */
    constructor(private readonly connect: () => Gio.DBusConnection, private readonly listener: ViewListener) {
        registerErrorDomain();
    }

    /** The bus connection, made on first use; throws a sentence when the system bus cannot be reached. */
    private get conn(): Gio.DBusConnection {
        if (this.connection === null) {
            try {
                this.connection = this.connect();
            } catch (e) {
                throw new Error(format(_("The system bus cannot be reached ({error}): the sharing service cannot run."), { error: (e as Error).message }));
            }
        }
        return this.connection;
    }

    get view(): HelperView {
        return this.current;
    }

    private update(next: HelperView): void {
        const previous = this.current;
        this.current = next;
        this.listener(next, previous);
    }

    /** Starts following the helper and reads its state. */
    watch(): Promise<void> {
        try {
            this.subscribe();
        } catch (e) {
            console.warn((e as Error).message);
            this.update({ ...UNKNOWN_VIEW, lastError: (e as Error).message });
            return Promise.resolve();
        }
        return this.refresh();
    }

    private subscribe(): void {
        this.subscriptions.push(this.conn.signal_subscribe(BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', OBJECT_PATH,
            INTERFACE_NAME, Gio.DBusSignalFlags.NONE, (_c, _sender, _path, _iface, _signal, params) => {
                const [, changed] = params.recursiveUnpack() as [string, Record<string, unknown>, string[]];
                this.update(mergeProperties(this.current, changed));
            }));
        this.subscriptions.push(this.conn.signal_subscribe('org.freedesktop.DBus', 'org.freedesktop.DBus', 'NameOwnerChanged', '/org/freedesktop/DBus',
            BUS_NAME, Gio.DBusSignalFlags.MATCH_ARG0_NAMESPACE, (_c, _sender, _path, _iface, _signal, params) => {
                const [, , newOwner] = params.deepUnpack() as [string, string, string];
                // Gone while busy or sharing: it crashed; ask again (a new helper reports the truth).
                if (newOwner === '' && ['sharing', 'starting', 'stopping'].includes(this.current.state))
                    this.refresh().catch(e => console.warn(`refresh: ${e}`));
            }));
    }

    unwatch(): void {
        for (const id of this.subscriptions.splice(0))
            this.connection?.signal_unsubscribe(id);
    }

    /** Reads every property (starting the helper if needed). */
    async refresh(): Promise<void> {
        try {
            this.update(mergeProperties(this.current, await helperProperties(this.conn)));
        } catch (e) {
            console.warn(`the helper does not answer: ${helperErrorText(e)}`);
            this.update({ ...UNKNOWN_VIEW, lastError: helperErrorText(e) });
        }
    }

    /** Starts sharing; rejects with the sentence to show. */
    async start(options: ShareOptions, remember: boolean): Promise<void> {
        const conn = this.conn;
        try {
            await replyWithin(helperProxy(conn, 300000).StartAsync(startOptions(options, remember), CALL_FLAGS), 300000, 'Start');
        } catch (e) {
            await this.refresh();
            throw new Error(helperErrorText(e));
        }
    }

    async stop(): Promise<void> {
        await this.call(p => p.StopAsync(CALL_FLAGS), 'Stop');
    }

    /** Which computers may start: any, or only those allowed. */
    async setAccess(access: 'any' | 'allowed'): Promise<void> {
        await this.call(p => p.SetAccessAsync(access, CALL_FLAGS), 'SetAccess');
    }

    /** Allows, ignores or names a computer (only what is given changes). */
    async setComputer(mac: string, change: { name?: string; allowed?: boolean }): Promise<void> {
        const dict: Record<string, GLib.Variant> = {};
        if (change.name !== undefined)
            dict.name = new GLib.Variant('s', change.name);
        if (change.allowed !== undefined)
            dict.allowed = new GLib.Variant('b', change.allowed);
        await this.call(p => p.SetComputerAsync(mac, dict, CALL_FLAGS), 'SetComputer');
    }

    async forgetComputer(mac: string): Promise<void> {
        await this.call(p => p.ForgetComputerAsync(mac, CALL_FLAGS), 'ForgetComputer');
    }

    /** A method call (a password dialog may come first); rejects with the sentence to show. */
    private async call(body: (proxy: HelperProxy) => Promise<unknown>, what: string): Promise<void> {
        const conn = this.conn;
        try {
            await replyWithin(body(helperProxy(conn, 120000)), 120000, what);
        } catch (e) {
            await this.refresh();
            throw new Error(helperErrorText(e));
        }
    }
}
