// The exported object /io/github/ShareThisCD1: the engine behind the interface io.github.ShareThisCD1.
// Every changing method runs in one order: validate → return early when nothing would change → polkit (the
// caller's bus name) → act → emit PropertiesChanged and reply. Reads are open to everyone. One Start or Stop
// acts at a time: a call that arrives while another acts gets Error.Busy, never a half-done share.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { _, format } from '../../shared/i18n.ts';
import { callAsync, interfaceInfo } from '../../shared/dbus.ts';
import { ShareError, isShareError } from '../../shared/errors.ts';
import { isAccess, normalizeMac, parseName, withComputer, withoutComputer } from '../../shared/computers.ts';
import { type ShareOptions, sameOptions } from '../../shared/options.ts';
import { isActive } from '../../shared/stages.ts';
import type { NetInterface } from '../network/interfaces.ts';
import type { ProbeResult } from '../network/mode.ts';
import { probeDhcp } from '../network/probe.ts';
import type { Settings, SettingsStore } from '../settings.ts';
import type { EngineEnv } from '../runtime/env.ts';
import { cleanupLeftovers, lockOwner, stopShare } from '../runtime/owner.ts';
import { type PinKind, type PinProblem, type Pinned, PinDenied } from '../medium/pin.ts';
import { pinnedOrThrow } from '../prepare.ts';
import { Share } from '../share.ts';
import { ShareFollower } from './follow.ts';
import { InvalidArgs, type StartRequest, type WireValue, parseStartOptions } from './options.ts';
import { type Authority, DBusFailure } from './polkit.ts';
import { type HelperState, type Props, STOPPED_PROPS, clientDict, computerDict, errorReply, probeReply, setProperties } from './properties.ts';
import { Coalescer, PUBLISH_INTERVAL_MS, noteForeignMemory, sleep } from '../../shared/timers.ts';

export { type HelperState, clientDict, errorReply };

export interface ServiceDeps {
    authority: Authority;
    env: EngineEnv;
    settings: SettingsStore;
    listInterfaces: () => NetInterface[];
    /** Opens `path` as user `uid` and holds it open (medium/pin.ts): what is shared is what that user opened. */
    pin: (uid: number, path: string, kind: PinKind) => Promise<Pinned | PinProblem>;
    /** Called on every method call (the idle timer starts again). */
    onActivity?: () => void;
    /** Under systemd: the helper starts at boot (true) or not (false); see bootStart.ts. */
    startAtBoot?: (on: boolean) => Promise<void>;
}

export class ShareService {
    private readonly props: Props = { State: 'stopped', LastError: '', LastErrorCode: '', ...STOPPED_PROPS, Access: 'any', Computers: [] };
    private unfollowSettings: (() => void) | null = null;
    private exported: Gio.DBusExportedObject | null = null;
    private share: Share | null = null;
    private request: StartRequest | null = null;
    /** A share run by another process (`share-this-cd start` as root), followed, never touched. */
    private external: ShareFollower | null = null;
    private acting = false;
    /** Sharing again at start-up (with retries), until a user's Start or Stop. */
    private resuming = false;
    private userActed = false;
    /** The Start or Stop in progress (shutdown waits for it). */
    private pending: Promise<void> | null = null;
    private probing = false;
    /** The last change of whether the helper starts at boot (they run one after the other). */
    private bootChange: Promise<void> = Promise.resolve();

    constructor(private readonly deps: ServiceDeps) {
        const { access, computers } = deps.settings.load();
        this.props.Access = access;
        this.props.Computers = computers;
    }

    // Properties, read by Gio.DBusExportedObject (everyone may read them).
    get State(): string { return this.props.State; }
    get LastError(): string { return this.props.LastError; }
    get LastErrorCode(): string { return this.props.LastErrorCode; }
    get Progress(): string { return this.props.Progress; }
    get Interface(): string { return this.props.Interface; }
    get Address(): string { return this.props.Address; }
    get Mode(): string { return this.props.Mode; }
    get Medium(): string { return this.props.Medium; }
    get MediumLabel(): string { return this.props.MediumLabel; }
    get Entries(): string[] { return this.props.Entries; }
    get DefaultEntry(): string { return this.props.DefaultEntry; }
    get ClientCount(): number { return this.props.ClientCount; }
    get Clients(): Record<string, GLib.Variant>[] { return this.props.Clients.map(clientDict); }
    get Notices(): string[] { return this.props.Notices; }
    get Access(): string { return this.props.Access; }
    get Computers(): Record<string, GLib.Variant>[] { return this.props.Computers.map(computerDict); }

    /** Nothing shared and nothing in progress: the helper may exit. */
    get idle(): boolean {
        return !this.acting && !this.probing && !this.resuming && (this.props.State === 'stopped' || this.props.State === 'failed');
    }

    export(connection: Gio.DBusConnection, path: string): void {
        // wrapJSObject calls <Method>Async(params, invocation) and reads properties from this object.
        this.exported = Gio.DBusExportedObject.wrapJSObject(interfaceInfo() as unknown as string, this);
        this.exported.export(connection, path);
        // `share-this-cd computers` as root writes the settings too: the properties follow the file.
        try {
            this.unfollowSettings = this.deps.settings.follow(() => this.computersChanged());
        } catch (e) {
            console.warn(`the settings cannot be followed: ${(e as Error).message}`);
        }
    }

    unexport(): void {
        this.unfollowSettings?.();
        this.unfollowSettings = null;
        this.exported?.unexport();
        this.exported = null;
    }

    private computersChanged(): void {
        const { access, computers } = this.deps.settings.load();
        this.set({ Access: access, Computers: computers });
    }

    /**
     * Start-up: the true state. A share of another live process is reported (and followed); leftovers of a share
     * whose owner died (a helper killed with SIGKILL) are removed, and the state says so; otherwise, when the
     * user chose to keep sharing across restarts and sharing was on, it starts again.
     */
    async reconcile(): Promise<void> {
        const dir = this.deps.env.runtimeDir;
        // Another live process shares (or is starting to): report it, never clean up under it.
        if (lockOwner(dir) !== null) {
            this.followExternal();
            return;
        }
        const cleaned = await cleanupLeftovers(dir);
        if (cleaned.length > 0) {
            const message = format(_("Sharing had stopped unexpectedly; what it left running was cleaned up ({what}). Start sharing again."), { what: cleaned.join(', ') });
            console.warn(message);
            this.set({ State: 'failed', LastError: message, LastErrorCode: 'DaemonFailed', ...STOPPED_PROPS });
            return;
        }
    }

    /**
     * When the user chose to keep sharing across restarts and sharing was on: shares again. At boot the network
     * may not be up yet, so a missing interface is retried (every `retryMs`, `attempts` times); a Start or Stop
     * of a user ends the retries.
     */
    async resume(retryMs = 5000, attempts = 24): Promise<void> {
        const settings = this.deps.settings.load();
        if (!settings.sharing || !settings.remember || settings.last === null || this.props.State !== 'stopped')
            return;
        const options = settings.last;
        // The remembered folder or ISO file is opened again as the user who shared it: access may have been taken away.
        let pin: Pinned | null = null;
        try {
            if (settings.owner === null && (options.medium !== null || options.iso !== null))
                throw new ShareError('NoLiveMedium', _("The remembered share names a folder or ISO file, but not the user who shared it: it is not shared again. Turn sharing on again."));
            pin = await this.openAsUser(settings.owner ?? 0, options);
        } catch (e) {
            const message = e instanceof Error ? e.message : String(e);
            console.warn(`not sharing again: ${message}`);
            this.set({ State: 'failed', LastError: message, LastErrorCode: isShareError(e) ? e.code : 'DaemonFailed' });
            this.saveSettings({ ...settings, sharing: false });
            return;
        }
        this.resuming = true;
        try {
            for (let attempt = 1; !this.userActed; attempt++) {
                console.info(`sharing again with the remembered options (attempt ${attempt})`);
                try {
                    await this.act(() => this.startShare({ options, remember: true, owner: settings.owner }, pin));
                    return;
                } catch (e) {
                    console.warn(`could not share again: ${(e as Error).message}`);
                    if (!(isShareError(e) && e.code === 'NoUsableInterface') || attempt >= attempts)
                        return;
                }
                await sleep(retryMs);
            }
        } finally {
            this.resuming = false;
            pin?.release();
        }
    }

    // --- methods -------------------------------------------------------------------------------------------

    StartAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            const [dict] = invocation.get_parameters().deepUnpack() as [Record<string, GLib.Variant>];
            const wire: Record<string, WireValue> = {};
            for (const [key, v] of Object.entries(dict))
                wire[key] = { type: v.get_type_string(), value: v.recursiveUnpack() };
            const request = parseStartOptions(wire, this.deps.listInterfaces().map(i => i.name));
            const unchanged = (): boolean => this.changeCheck() === 'unchanged-if-same' && this.request !== null
                && sameOptions(this.request.options, request.options) && this.request.remember === request.remember;
            // (checked before awaiting: an await that waits for nothing still lets the share start meanwhile)
            if (this.resuming)
                await this.resumeSettled();
            if (unchanged())
                return null;
            this.refuseWhileBusyOrSharing();
            await this.authorize(invocation);
            request.owner = await this.callerUid(invocation);
            const pin = await this.openAsUser(request.owner, request.options, true);
            try {
                if (this.resuming)
                    await this.resumeSettled();
                if (unchanged())
                    return null;
                this.refuseWhileBusyOrSharing();
                this.userActed = true;
                await this.act(() => this.startShare(request, pin));
            } finally {
                pin?.release();
            }
            return null;
        });
    }

    StopAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            if (this.nothingToStop() && !this.resuming)
                return null;
            this.refuseWhileBusy();
            await this.authorize(invocation);
            this.refuseWhileBusy();
            // Also ends the retries of sharing again at start-up, and the choice to.
            this.userActed = true;
            if (this.nothingToStop() && !this.resuming)
                return null;
            await this.act(() => this.stopShare());
            return null;
        });
    }

    ProbeAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            const [name] = invocation.get_parameters().deepUnpack() as [string];
            const all = this.deps.listInterfaces();
            const iface = all.find(i => i.name === name);
            if (!iface)
                throw new InvalidArgs(format(_("There is no network interface called “{name}”. Interfaces: {names}."), { name: JSON.stringify(name).slice(1, -1), names: all.map(i => i.name).join(', ') || _("none") }));
            if (this.probing || this.props.State === 'starting')
                throw new ShareError('Busy', _("Another check of the network is running: try again in a few seconds."));
            let probe: ProbeResult | null = null;
            if (iface.ipv4.length > 0 && iface.mac !== null) {
                this.probing = true;
                try {
                    probe = await probeDhcp({ address: iface.ipv4[0].address, mac: iface.mac }, this.deps.env.probeWindowMs);
                } finally {
                    this.probing = false;
                }
            }
            return probeReply(iface, probe);
        });
    }

    SetAccessAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            const [access] = invocation.get_parameters().deepUnpack() as [string];
            if (!isAccess(access))
                throw new InvalidArgs(format(_("“{value}” is not a choice of which computers may start: any or allowed."), { value: JSON.stringify(access).slice(1, -1) }));
            if (this.props.Access === access)
                return null;
            await this.authorize(invocation);
            await this.changeComputers(() => ({ access }));
            return null;
        });
    }

    SetComputerAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            const [macText, dict] = invocation.get_parameters().deepUnpack() as [string, Record<string, GLib.Variant>];
            const mac = this.macArgument(macText);
            const change: { name?: string; allowed?: boolean } = {};
            for (const [key, v] of Object.entries(dict)) {
                const type = v.get_type_string();
                if (key === 'name' && type === 's')
                    change.name = this.nameArgument(v.unpack() as string);
                else if (key === 'allowed' && type === 'b')
                    change.allowed = v.unpack() as boolean;
                else
                    throw new InvalidArgs(format(_("SetComputer takes name (s) and allowed (b), not “{key}” ({type})."), { key: JSON.stringify(key).slice(1, -1), type }));
            }
            // Nothing to change (nothing asked, or what it is already): no question, no write.
            const before = this.props.Computers.find(c => c.mac === mac);
            if (Object.keys(change).length === 0 || before !== undefined && (change.name ?? before.name) === before.name && (change.allowed ?? before.allowed) === before.allowed)
                return null;
            await this.authorize(invocation);
            await this.changeComputers(s => ({ computers: withComputer(s.computers, mac, change) }));
            return null;
        });
    }

    ForgetComputerAsync(_params: unknown, invocation: Gio.DBusMethodInvocation): void {
        this.handle(invocation, async () => {
            const [macText] = invocation.get_parameters().deepUnpack() as [string];
            const mac = this.macArgument(macText);
            if (!this.props.Computers.some(c => c.mac === mac))
                return null;
            await this.authorize(invocation);
            await this.changeComputers(s => ({ computers: withoutComputer(s.computers, mac) }));
            return null;
        });
    }

    private macArgument(text: string): string {
        const mac = normalizeMac(text);
        if (mac === null)
            throw new InvalidArgs(format(_("“{value}” is not a computer's network address (MAC): it looks like 00:1b:21:aa:bb:cc."), { value: JSON.stringify(text).slice(1, -1) }));
        return mac;
    }

    private nameArgument(text: string): string {
        try {
            return parseName(text);
        } catch (e) {
            throw new InvalidArgs((e as Error).message);
        }
    }

    /**
     * Changes the computers in the settings file and the properties; a share of this helper takes the change
     * before the call returns (its DHCP server answers the computers allowed now).
     */
    private async changeComputers(change: (s: Settings) => Partial<Settings>): Promise<void> {
        let after: Settings;
        try {
            after = this.deps.settings.update(change);
        } catch (e) {
            if (isShareError(e))
                throw e;
            throw new ShareError('DaemonFailed', format(_("The settings could not be saved: {why}."), { why: (e as Error).message }));
        }
        this.set({ Access: after.access, Computers: after.computers });
        await this.share?.computersChanged();
    }

    // --- the steps -----------------------------------------------------------------------------------------

    /** Runs a method body, answering with its result or its error (never an exception into GJS). */
    private handle(invocation: Gio.DBusMethodInvocation, body: () => Promise<GLib.Variant | null>): void {
        this.deps.onActivity?.();
        body().then(result => invocation.return_value(result), (e: unknown) => {
            const [name, message] = errorReply(e);
            if (!(e instanceof InvalidArgs || e instanceof DBusFailure || isShareError(e)))
                console.error(e); // a bug: the stack goes to the log, the caller gets a sentence
            if (!name.endsWith('.AccessDenied') && !name.endsWith('.InvalidArgs'))
                console.warn(`${invocation.get_method_name()} from ${invocation.get_sender()} failed: ${name}: ${message}`);
            invocation.return_dbus_error(name, message);
        }).finally(() => this.deps.onActivity?.());
    }

    /**
     * Sharing again at start-up (remembered) may begin while a Start is on its way (the call that activated the
     * helper): the Start waits for it, then is judged by its outcome, instead of meeting Busy.
     */
    private async resumeSettled(): Promise<void> {
        while (this.resuming && this.pending !== null)
            await this.pending;
    }

    private changeCheck(): 'unchanged-if-same' | 'other' {
        return this.props.State === 'sharing' && this.share !== null ? 'unchanged-if-same' : 'other';
    }

    private nothingToStop(): boolean {
        return !this.acting && this.share === null && this.external === null;
    }

    private refuseWhileBusy(): void {
        if (this.acting)
            throw new ShareError('Busy', this.props.State === 'stopping' ? _("Sharing is being stopped right now: try again in a moment.") : _("Sharing is being started right now: wait until it is ready, then try again."));
    }

    private refuseWhileBusyOrSharing(): void {
        this.refuseWhileBusy();
        if (this.share !== null || this.external !== null)
            throw new ShareError('AlreadySharing', _("This computer is already sharing with other options: stop sharing first, then start again."));
    }

    private async authorize(invocation: Gio.DBusMethodInvocation): Promise<void> {
        const flags = invocation.get_message().get_flags();
        const interactive = (flags & Gio.DBusMessageFlags.ALLOW_INTERACTIVE_AUTHORIZATION) !== 0;
        await this.deps.authority.check(invocation.get_sender() ?? '', interactive);
    }

    private async callerUid(invocation: Gio.DBusMethodInvocation): Promise<number> {
        const reply = await callAsync(invocation.get_connection(), 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
            'GetConnectionUnixUser', new GLib.Variant('(s)', [invocation.get_sender() ?? '']), '(u)');
        return (reply.deepUnpack() as [number])[0];
    }

    /**
     * The helper reads as root: a user may only share a folder or ISO file that user can open. It is opened
     * once, as that user, and held open (medium/pin.ts); the share mounts what was opened, never the path again
     * (a link swapped meanwhile changes nothing). Null when the running medium is shared. A path the user
     * cannot open: AccessDenied to a caller (`caller`), else the engine's error.
     */
    private async openAsUser(uid: number, options: ShareOptions, caller = false): Promise<Pinned | null> {
        const path = options.iso ?? options.medium;
        if (path === null)
            return null;
        const kind: PinKind = options.iso !== null ? 'file' : 'dir';
        try {
            return pinnedOrThrow(await this.deps.pin(uid, path, kind), path, kind);
        } catch (e) {
            if (caller && e instanceof PinDenied)
                throw new DBusFailure('org.freedesktop.DBus.Error.AccessDenied', e.message);
            throw e;
        }
    }

    /** One action at a time (taken synchronously, so two calls can never both act). */
    private async act(body: () => Promise<void>): Promise<void> {
        if (this.acting)
            throw new ShareError('Busy', _("Sharing is being started right now: wait until it is ready, then try again."));
        this.acting = true;
        const run = body();
        this.pending = run.catch(() => {});
        try {
            await run;
        } finally {
            this.acting = false;
            this.pending = null;
        }
    }

    private async startShare(request: StartRequest, pin: Pinned | null): Promise<void> {
        this.set({ State: 'starting', LastError: '' });
        try {
            this.share = await Share.start(request.options, this.deps.env, {
                onProgress: text => {
                    console.info(text);
                    this.set({ Progress: text });
                },
                onClient: () => this.publishClients(),
                onComputers: () => this.publishClients(),
                onFailure: error => this.onShareFailure(error),
                onNotice: () => this.publishNotices(),
            }, pin);
        } catch (e) {
            const message = e instanceof Error ? e.message : String(e);
            this.set({ State: 'failed', LastError: message, LastErrorCode: isShareError(e) ? e.code : 'DaemonFailed', ...STOPPED_PROPS });
            throw e;
        }
        this.request = request;
        const spec = this.share.spec;
        console.info(`sharing ${spec.medium.label} on ${spec.interfaceName} (${spec.server.address}), ${spec.mode}`);
        this.saveSettings({ sharing: true, remember: request.remember, last: request.options, owner: request.owner ?? null });
        this.set({
            State: 'sharing', Progress: '', Interface: spec.interfaceName, Address: spec.server.address, Mode: spec.mode,
            Medium: spec.medium.shown, MediumLabel: spec.medium.label, Entries: spec.medium.entries, DefaultEntry: spec.medium.defaultEntry ?? '',
            ClientCount: 0, Clients: [], Notices: [...this.share.notices],
        });
        this.publishClients();
    }

    private async stopShare(): Promise<void> {
        this.set({ State: 'stopping' });
        if (this.share !== null) {
            const share = this.share;
            this.share = null;
            await share.stop();
        } else if (this.external !== null) {
            this.stopFollowing();
            await stopShare(this.deps.env.runtimeDir);
        }
        this.request = null;
        const settings = this.deps.settings.load();
        this.saveSettings({ ...settings, sharing: false });
        console.info('sharing stopped');
        this.set({ State: 'stopped', LastError: '', ...STOPPED_PROPS });
    }

    private onShareFailure(error: ShareError): void {
        console.warn(error.message);
        this.share = null;
        this.request = null;
        this.set({ State: 'failed', LastError: error.message, LastErrorCode: error.code, ...STOPPED_PROPS });
    }

    /** A notice of the share (another DHCP server…): the Notices property, and Mode, which may have changed with it. */
    private publishNotices(): void {
        if (this.share === null)
            return;
        this.set({ Notices: [...this.share.notices], Mode: this.share.spec.mode });
    }

    /** The Clients property, sent on the bus at most 4 times a second however fast clients come. */
    private readonly clientsPublisher = new Coalescer(PUBLISH_INTERVAL_MS, () => this.publishClientsNow());

    private publishClients(): void {
        this.clientsPublisher.request();
    }

    private publishClientsNow(): void {
        if (this.share === null)
            return;
        const clients = this.share.clients(); // copies (set() compares them with what it published)
        this.set({ Clients: clients, ClientCount: clients.filter(isActive).length });
        // The list's GVariant is C memory the JavaScript collector does not see (shared/timers.ts): ~200 bytes a computer.
        noteForeignMemory(clients.length * 256);
    }

    /** Changes what sharing was and is in the settings file (the computers stay as they are there: written by others too). */
    private saveSettings(s: Pick<Settings, 'sharing' | 'remember' | 'last' | 'owner'>): void {
        try {
            this.deps.settings.update(() => ({ sharing: s.sharing, remember: s.remember, last: s.last, owner: s.owner }));
        } catch (e) {
            console.warn(`could not save the settings: ${(e as Error).message}`);
        }
        // One change at a time, in order: a stop right after a start must leave the unit disabled.
        const atBoot = s.sharing && s.remember;
        const startAtBoot = this.deps.startAtBoot;
        if (startAtBoot)
            this.bootChange = this.bootChange.then(() => startAtBoot(atBoot)).then(
                () => console.info(atBoot ? 'sharing starts again at boot (the helper is enabled)' : 'nothing is shared at boot (the helper is not enabled)'),
                e => console.warn(`could not ${atBoot ? 'enable' : 'disable'} the helper at boot: ${(e as Error).message}`));
    }

    /**
     * Reports a share that another process runs (`share-this-cd start` as root), "starting" until its status
     * file appears, and follows that file until the process ends.
     */
    private followExternal(): void {
        const follower = new ShareFollower(this.deps.env.runtimeDir, s => {
            if (s === 'ended') {
                this.external = null;
                this.set({ State: 'stopped', ...STOPPED_PROPS });
            } else if (s === 'starting') {
                this.set({ State: 'starting', LastError: '' });
            } else {
                this.set({ State: 'sharing', LastError: '', Interface: s.interface ?? '', Address: s.address ?? '', Mode: s.mode ?? '',
                    Medium: s.medium ?? '', MediumLabel: s.label ?? '', Entries: s.entries ?? [], DefaultEntry: s.defaultEntry ?? '', ClientCount: s.clientCount, Clients: s.clients, Notices: s.notices ?? [] });
            }
        });
        this.external = follower;
        if (!follower.start())
            this.external = null;
    }

    private stopFollowing(): void {
        this.external?.stop();
        this.external = null;
    }

    /** Changes properties and emits PropertiesChanged for those that changed. */
    private set(changes: Partial<Props>): void {
        if (changes.LastError === '')
            changes = { ...changes, LastErrorCode: '' };
        setProperties(this.props, changes, this.exported);
    }

    /** Stops a share this helper runs (at exit on SIGTERM), after a Start or Stop in progress has ended. */
    async shutdown(): Promise<void> {
        this.stopFollowing();
        if (this.pending !== null)
            await this.pending;
        if (this.share !== null) {
            const share = this.share;
            this.share = null;
            await share.stop();
        }
    }
}
