// `share-this-cd` command line. Each command: parse and validate options → drive the engine → print.
import { setConsoleLogDomain } from 'console';
import system from 'system';

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { type BootPlan, planFromReader } from '../backend/bootPlan.ts';
import type { Client, TrackerChange } from '../backend/clients.ts';
import { isActive, isRunning } from '../shared/stages.ts';
import { openMedium, runningMediumPath } from '../backend/medium/running.ts';
import { engineEnvFromProcess } from '../backend/runtime/env.ts';
import { type StatusJson, lockOwner, readStatus, stopShare } from '../backend/runtime/owner.ts';
import { clientArchLabel } from '../backend/platforms.ts';
import { Share } from '../backend/share.ts';
import { _, format, ngettext } from '../shared/i18n.ts';
import { ShareError, isShareError } from '../shared/errors.ts';
import { runMain, unixSignalAdd } from '../shared/mainLoop.ts';
import { DEFAULT_OPTIONS, type RequestedMode, type ShareOptions, checkPath, parseMenuTimeout, parsePort, validateOptions } from '../shared/options.ts';
import { hasControlChars } from '../shared/text.ts';
import { BUS_NAME } from '../shared/dbus.ts';
import { runDemo } from './demo.ts';
import { computersViaHelper, startViaHelper, stopViaHelper } from './helperClient.ts';
import { type ComputerAccess, accessOf, allowedMacs, describeComputer, isAccess, parseMac, parseName, stopQuestion, withComputer, withoutComputer } from '../shared/computers.ts';
import { type Settings, SettingsStore } from '../backend/settings.ts';
import { VendorLookup } from '../backend/oui.ts';
import type { HelperProxy } from '../shared/helperProxy.ts';
import { CALL_FLAGS } from '../shared/helperProxy.ts';
import { UnixInputStream } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';

setConsoleLogDomain('share-this-cd');

const USAGE = [
    _("Usage: share-this-cd COMMAND [OPTIONS]"),
    '',
    _("Share a Linux live CD/USB with the local network: other computers can network-boot it."),
    '',
    _("Commands:"),
    _("  start    share the live medium until Ctrl-C (other users: through the helper, polkit decides)"),
    _("  stop     stop sharing (also cleans up after a share that crashed)"),
    _("  status   show whether this computer is sharing, and how"),
    _("  clients  list the computers booting from this one"),
    _("  computers  choose and name the computers that may start from this one (see below)"),
    _("  plan     show what would be served: the medium, its boot entries and the netboot menus"),
    _("  demo     boot virtual computers from a lab live image in an isolated lab network (as root)"),
    '',
    _("Options of start:"),
    _("  --medium DIR      the live medium's folder (default: the medium this live session runs from)"),
    _("  --iso FILE        share an ISO file instead (mounted read-only)"),
    _("  --interface IF    the network interface the other computers are on (default: the wired one)"),
    _("  --mode MODE       auto (default), proxy (next to the network's DHCP server) or dhcp (hand out addresses)"),
    _("  --no-http         serve kernels and initrds over TFTP only (no HTTP fast path)"),
    _("  --menu-timeout S  seconds the boot menu waits before the default entry starts (default: the medium's own, else 30; 0: wait for a key)"),
    _("  --default-entry L the boot menu's entry that starts by default, by its label (default: the medium's own)"),
    _("  --remember        through the helper: go on sharing after this command ends and after a restart, until share-this-cd stop"),
    '',
    _("Options of stop:"),
    _("  --force           stop even when computers run from the share (without it, stop asks first, or refuses when it cannot ask)"),
    '',
    _("Options of status and clients:"),
    _("  --json            print JSON"),
    '',
    _("share-this-cd computers:"),
    _("  computers [list] [--json]        the computers remembered and those seen now"),
    _("  computers allow MAC [--name N]   let this computer start from the share (and name it)"),
    _("  computers ignore MAC             do not let it start, and ask no more about it"),
    _("  computers name MAC NAME          name a computer (an empty NAME removes the name)"),
    _("  computers forget MAC             forget what was said of a computer"),
    _("  computers access any|allowed     let any computer start, or only those allowed"),
    '',
    _("Options of plan:"),
    _("  --medium DIR      the live medium's folder (default: the medium this live session runs from)"),
    _("  --server IP       the address clients reach this computer at (required)"),
    _("  --no-http         serve kernels and initrds over TFTP only (no HTTP fast path)"),
    _("  --http-port N     port of the HTTP fast path (default 80)"),
    _("  --menu-timeout S  seconds the boot menu waits before the default entry starts (default: the medium's own, else 30; 0: wait for a key)"),
    _("  --default-entry L the boot menu's entry that starts by default, by its label (default: the medium's own)"),
    _("  --json            print the plan as JSON"),
    _("  --show FILE       print one generated file (pxelinux.cfg/default, grub/grub.cfg)"),
    '',
    _("Options of demo:"),
    _("  --clients N       how many virtual computers boot (1–8, default 1)"),
    _("  --uefi            UEFI computers (default: BIOS)"),
    _("  --secure-boot     UEFI computers with Secure Boot enforced"),
    _("  --proxy           the lab LAN has a router with its own DHCP server (proxy-DHCP)"),
    _("  --timeout S       seconds a computer may take to boot (default 300)"),
    '',
    _("  --help            show this help"),
    _("  --version         show the version"),
].join('\n');

class UsageError extends Error {}

interface Parsed {
    command: string;
    /** What follows the command that is not an option (only `computers` takes any). */
    args: string[];
    values: Map<string, string>;
    flags: Set<string>;
}

const VALUE_OPTIONS = new Set(['medium', 'server', 'http-port', 'show', 'iso', 'interface', 'mode', 'clients', 'timeout', 'menu-timeout', 'default-entry', 'name']);
const FLAG_OPTIONS = new Set(['json', 'no-http', 'help', 'version', 'uefi', 'secure-boot', 'proxy', 'remember', 'force']);

/** Parses `COMMAND [--opt VALUE | --opt=VALUE | --flag]…`, refusing unknown, repeated and unsafe options. */
export function parseArgs(argv: string[]): Parsed {
    const parsed: Parsed = { command: '', args: [], values: new Map(), flags: new Set() };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith('--')) {
            if (parsed.command !== '' && parsed.command !== 'computers')
                throw new UsageError(format(_("Unexpected argument “{arg}”."), { arg: JSON.stringify(arg).slice(1, -1) }));
            if (hasControlChars(arg))
                throw new ShareError('InvalidOption', format(_("The argument {value} contains a line break or control character."), { value: JSON.stringify(arg) }));
            if (parsed.command === '')
                parsed.command = arg;
            else
                parsed.args.push(arg);
            continue;
        }
        const eq = arg.indexOf('=');
        const name = arg.slice(2, eq < 0 ? undefined : eq);
        if (FLAG_OPTIONS.has(name) && eq < 0) {
            parsed.flags.add(name);
            continue;
        }
        if (!VALUE_OPTIONS.has(name))
            throw new UsageError(format(_("Unknown option “{option}”."), { option: `--${JSON.stringify(name).slice(1, -1)}` }));
        const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined || value === '')
            throw new UsageError(format(_("The option --{option} needs a value."), { option: name }));
        if (parsed.values.has(name))
            throw new UsageError(format(_("The option --{option} is given twice."), { option: name }));
        if (hasControlChars(value))
            throw new ShareError('InvalidOption', format(_("The value of --{option} contains a line break or control character: {value}."), { option: name, value: JSON.stringify(value) }));
        parsed.values.set(name, value);
    }
    return parsed;
}

function mediumOption(parsed: Parsed): string {
    const given = parsed.values.get('medium');
    if (given === undefined)
        return runningMediumPath();
    checkPath('medium', given);
    return given;
}

function httpPortOption(parsed: Parsed): number {
    const text = parsed.values.get('http-port');
    return text === undefined ? DEFAULT_OPTIONS.httpPort : parsePort(text);
}

/** --menu-timeout and --default-entry (of start and plan). */
function menuOptions(parsed: Parsed): { menuTimeout: number | null; defaultEntry: string | null } {
    const timeout = parsed.values.get('menu-timeout');
    return { menuTimeout: timeout === undefined ? null : parseMenuTimeout(timeout), defaultEntry: parsed.values.get('default-entry') ?? null };
}

function planJson(plan: BootPlan): string {
    const { root, flavour, label } = plan.medium; // the contract's shape, exactly
    return JSON.stringify({ medium: { root, flavour, label }, entries: plan.entries, files: plan.files }, null, 2);
}

function planText(plan: BootPlan): string {
    const lines = [
        format(_("Medium: {label}"), { label: plan.medium.label }),
        format(_("Folder: {root} ({flavour})"), { root: plan.medium.root, flavour: plan.medium.flavour }),
        format(_("NFS export: {path}"), { path: plan.nfsRoot }),
        '',
        _("Boot entries:"),
    ];
    for (const e of plan.entries) {
        lines.push(`${e.default ? '*' : ' '} ${e.label}`);
        lines.push(`    ${e.kernel} + ${e.initrd.join(', ')}`);
        lines.push(`    ${e.cmdline}`);
    }
    lines.push('', _("Files:"));
    for (const [name, text] of Object.entries(plan.files))
        lines.push(format(_("  {name} ({lines} lines)"), { name, lines: text.split('\n').length - 1 }));
    return lines.join('\n');
}

function commandPlan(parsed: Parsed): number {
    const server = parsed.values.get('server');
    if (server === undefined)
        throw new UsageError(_("plan needs --server IP: the address other computers reach this one at."));
    const httpPort = httpPortOption(parsed);
    const reader = openMedium(mediumOption(parsed));
    const menus = menuOptions(parsed);
    validateOptions({ ...DEFAULT_OPTIONS, ...menus });
    const plan = planFromReader(reader, { server, http: !parsed.flags.has('no-http'), httpPort, ...menus });
    for (const w of plan.warnings)
        printerr(format(_("share-this-cd: note: {message}"), { message: w }));
    const show = parsed.values.get('show');
    if (show !== undefined) {
        if (!Object.prototype.hasOwnProperty.call(plan.files, show))
            throw new ShareError('InvalidOption', format(_("The plan has no file “{name}”; it has: {names}."), { name: show, names: Object.keys(plan.files).join(', ') }));
        print(plan.files[show].replace(/\n$/, ''));
        return 0;
    }
    print(parsed.flags.has('json') ? planJson(plan) : planText(plan));
    return 0;
}

/** Options each command takes (anything else is a usage error). */
const COMMAND_OPTIONS: Record<string, string[]> = {
    plan: ['medium', 'server', 'http-port', 'show', 'json', 'no-http', 'menu-timeout', 'default-entry'],
    start: ['medium', 'iso', 'interface', 'mode', 'no-http', 'http-port', 'remember', 'menu-timeout', 'default-entry'],
    stop: ['force'],
    status: ['json'],
    computers: ['json', 'name'],
    clients: ['json'],
    demo: ['clients', 'uefi', 'secure-boot', 'proxy', 'timeout'],
};

function checkOptions(parsed: Parsed): void {
    const allowed = COMMAND_OPTIONS[parsed.command] ?? [];
    for (const name of [...parsed.values.keys(), ...parsed.flags]) {
        if (!allowed.includes(name))
            throw new UsageError(format(_("The option --{option} does not go with “{command}”."), { option: name, command: parsed.command }));
    }
}

function timeNow(): string {
    return GLib.DateTime.new_now_local().format('%H:%M:%S') ?? '';
}

function describeClient(c: Client): string {
    const ip = c.ip && c.mac ? ` ${c.ip}` : '';
    return `${describeComputer(c, clientArchLabel(c.arch))}${ip}`;
}

function isRoot(): boolean {
    return new Gio.Credentials().get_unix_user() === 0;
}

async function commandStart(parsed: Parsed): Promise<number> {
    const mode = parsed.values.get('mode') ?? DEFAULT_OPTIONS.mode;
    const options: ShareOptions = {
        medium: parsed.values.has('medium') ? mediumOption(parsed) : null,
        iso: parsed.values.get('iso') ?? null,
        interface: parsed.values.get('interface') ?? null,
        mode: mode as RequestedMode,
        http: !parsed.flags.has('no-http'),
        httpPort: httpPortOption(parsed),
        ...menuOptions(parsed),
    };
    // A remembered share outlives this command: only the helper can hold it (root too goes through it).
    const remember = parsed.flags.has('remember');
    if (!isRoot() || remember) {
        validateOptions(options);
        return startViaHelper(options, remember, text => print(text), text => printerr(text), handler => {
            for (const signal of [1, 2, 15]) {
                unixSignalAdd(GLib.PRIORITY_HIGH, signal, () => {
                    handler();
                    return GLib.SOURCE_REMOVE;
                });
            }
        });
    }
    const env = engineEnvFromProcess();
    const t0 = GLib.get_monotonic_time();
    let finish: (code: number) => void = () => {};
    const done = new Promise<number>(resolve => { finish = resolve; });
    const share = await Share.start(options, env, {
        onProgress: text => print(text),
        onClient: (change: TrackerChange, count: number) => {
            const c = change.client;
            print(format(_("[{time}] {client}: {stage} — {detail} (computers booting: {count})"),
                { time: timeNow(), client: describeClient(c), stage: c.stage, detail: c.detail, count }));
        },
        onFailure: error => {
            printerr(`share-this-cd: ${error.message}`);
            finish(1);
        },
        onNotice: text => print(format(_("[{time}] Note: {message}"), { time: timeNow(), message: text })),
    });
    const spec = share.spec;
    const ms = Math.round((GLib.get_monotonic_time() - t0) / 1000);
    for (const n of [...share.notes, ...spec.warnings])
        print(format(_("Note: {message}"), { message: n }));
    print(format(_("Sharing {label} on {interface} ({address}), {mode} mode, {http}; ready in {ms} ms (DHCP probe {probe} ms)."), {
        label: spec.medium.label, interface: spec.interfaceName, address: spec.server.address,
        mode: spec.mode === 'proxy' ? _("proxy-DHCP") : _("full DHCP"),
        http: spec.http ? format(_("HTTP on port {port}"), { port: spec.http.port }) : _("TFTP only"), ms, probe: share.probeMs }));
    print(_("Start the other computers from the network (often F12, F11 or Esc at power-on). Ctrl-C stops sharing."));
    const onSignal = (): boolean => {
        print(_("Stopping…"));
        const active = share.clients().filter(isActive);
        const starting = active.filter(c => !isRunning(c)).length;
        const running = active.length - starting;
        if (starting > 0)
            print(format(ngettext("Note: {n} computer was still starting from this share: it will not finish booting.",
                "Note: {n} computers were still starting from this share: they will not finish booting.", starting), { n: starting }));
        if (running > 0)
            print(format(ngettext("Note: {n} computer was running the live system from this share: it stops working.",
                "Note: {n} computers were running the live system from this share: they stop working.", running), { n: running }));
        share.stop().then(() => {
            print(_("Stopped: nothing of the share is left running."));
            finish(0);
        }).catch(e => {
            printerr(`share-this-cd: ${e}`);
            finish(1);
        });
        return GLib.SOURCE_REMOVE;
    };
    unixSignalAdd(GLib.PRIORITY_HIGH, 2, onSignal);
    unixSignalAdd(GLib.PRIORITY_HIGH, 15, onSignal);
    unixSignalAdd(GLib.PRIORITY_HIGH, 1, onSignal);
    return done;
}

function countOption(parsed: Parsed, name: string, fallback: number, min: number, max: number): number {
    const text = parsed.values.get(name);
    if (text === undefined)
        return fallback;
    if (!/^\d{1,4}$/.test(text) || Number(text) < min || Number(text) > max)
        throw new ShareError('InvalidOption', format(_("--{option} takes a number from {min} to {max}, not “{value}”."), { option: name, min, max, value: text }));
    return Number(text);
}

async function commandDemo(parsed: Parsed): Promise<number> {
    const clients = countOption(parsed, 'clients', 1, 1, 8);
    const timeout = countOption(parsed, 'timeout', 300, 30, 3600);
    const firmware = parsed.flags.has('secure-boot') ? 'uefi-secure' : parsed.flags.has('uefi') ? 'uefi' : 'bios';
    if (!isRoot())
        throw new ShareError('InvalidOption', _("The demo creates network namespaces and virtual computers: run it as root."));
    const cli = GLib.filename_from_uri(import.meta.url)[0];
    return runDemo({ clients, firmware, proxy: parsed.flags.has('proxy'), timeout }, cli);
}

/** Standard input is a terminal (someone can be asked). */
function stdinIsTerminal(): boolean {
    try {
        return /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(GLib.file_read_link('/proc/self/fd/0'));
    } catch {
        return false;
    }
}

/** A line from standard input (null at its end). */
function readAnswer(): string | null {
    const input = new Gio.DataInputStream({ base_stream: new UnixInputStream({ fd: 0, close_fd: false }) });
    const [line] = input.read_line_utf8(null);
    return line;
}

async function commandStop(parsed: Parsed): Promise<number> {
    const dir = engineEnvFromProcess().runtimeDir;
    // Computers that run the live system from the share stop working: asked first (or --force).
    const status = readStatus(dir);
    const running = (status?.clients ?? []).filter(isRunning);
    if (running.length > 0 && !parsed.flags.has('force')) {
        const question = stopQuestion(running.length, status?.label ?? '');
        const names = running.map(c => `  ${describeClient(c)}`).join('\n');
        if (!stdinIsTerminal()) {
            printerr(`share-this-cd: ${question}\n${names}\n${_("Not stopped: nobody can be asked here. Run “share-this-cd stop --force” to stop anyway.")}`);
            return 1;
        }
        print(`${question}\n${names}`);
        printerr(_("Stop sharing? [y/N] "));
        // Yes in English or in the user's language (its first letter too, as the prompt shows it), accents or not.
        const plain = (w: string): string => w.trim().toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
        const yes = [_("y"), _("yes"), 'y', 'yes'].map(plain);
        if (!yes.includes(plain(readAnswer() ?? ''))) {
            print(_("Sharing goes on."));
            return 1;
        }
    }
    // A share of the helper is stopped through the helper (as Stop: it also forgets "share again after a restart").
    const owner = lockOwner(dir)?.pid ?? null;
    if (!isRoot() || (owner !== null && owner === helperPid()))
        return stopViaHelper(text => print(text), text => printerr(text));
    const result = await stopShare(dir);
    print(result === 'stopped' ? _("Sharing stopped.") : result === 'cleaned' ? _("Cleaned up after a share that was not running any more.") : _("Not sharing."));
    return 0;
}

/** One line of `computers list`: a computer remembered or seen. */
interface ComputerLine {
    mac: string;
    name: string;
    access: ComputerAccess;
    vendor: string;
    firmware: string;
    /** What it does now ("" when not seen by the share). */
    stage: string;
    ip: string;
}

function computerLines(settings: Settings, status: StatusJson | null): ComputerLine[] {
    const vendors = new VendorLookup();
    const seen = (status?.clients ?? []).filter(c => c.mac !== null);
    const macs = [...new Set([...settings.computers.map(c => c.mac), ...seen.map(c => c.mac as string)])];
    return macs.map(mac => {
        const client = seen.find(c => c.mac === mac);
        return { mac, ...accessOf(settings, mac), vendor: client?.vendor || vendors.vendorOf(mac),
            firmware: client ? clientArchLabel(client.arch) ?? '' : '', stage: client?.stage ?? '', ip: client?.ip ?? '' };
    });
}

function accessWord(a: ComputerAccess): string {
    return a === 'allowed' ? _("allowed") : a === 'ignored' ? _("ignored") : '-';
}

/**
 * Root writes the settings file itself, and a running share takes it from there (inotify): waits, at most
 * 15 s, until the share's DHCP server answers the computers `allowed` now, so that what the command says is
 * true when it returns. False if it did not in that time.
 */
async function untilShareAnswers(allowed: string[] | null): Promise<boolean> {
    const dir = engineEnvFromProcess().runtimeDir;
    const deadline = GLib.get_monotonic_time() + 15_000_000;
    for (;;) {
        const s = readStatus(dir);
        // No share, or one of a version that does not say whom it answers.
        if (s === null || s.state !== 'sharing' || s.answering === undefined || JSON.stringify(s.answering) === JSON.stringify(allowed))
            return true;
        if (GLib.get_monotonic_time() > deadline)
            return false;
        await sleep(50);
    }
}

/** `computers`: list, or change what is said of a computer (root: the settings file; others: the helper, polkit decides). */
async function commandComputers(parsed: Parsed): Promise<number> {
    const [action = 'list', ...rest] = parsed.args;
    const store = new SettingsStore(engineEnvFromProcess().stateDir);
    const want = (n: number, usage: string): void => {
        if (rest.length !== n)
            throw new UsageError(format(_("Usage: share-this-cd computers {usage}"), { usage }));
    };
    if (parsed.values.has('name') && action !== 'allow')
        throw new UsageError(_("The option --name goes with “computers allow” only."));
    if (parsed.flags.has('json') && action !== 'list')
        throw new UsageError(_("The option --json goes with “computers list” only."));
    const change = async (apply: (s: Settings) => Partial<Settings>, call: (p: HelperProxy) => Promise<unknown>, done: string): Promise<number> => {
        if (isRoot()) {
            store.update(apply);
            if (!await untilShareAnswers(allowedMacs(store.load())))
                printerr(_("The share has not taken the change yet; it will in a moment."));
        } else if (!await computersViaHelper(call, action, text => printerr(text)))
            return 1;
        print(done);
        return 0;
    };
    switch (action) {
    case 'list': {
        want(0, 'list [--json]');
        const settings = store.load();
        const lines = computerLines(settings, readStatus(engineEnvFromProcess().runtimeDir));
        if (parsed.flags.has('json')) {
            print(JSON.stringify({ access: settings.access, computers: lines }, null, 2));
            return 0;
        }
        print(settings.access === 'any' ? _("Any computer may start from this CD.") : _("Only the computers allowed may start from this CD."));
        for (const l of lines)
            print([l.mac, l.name || '-', accessWord(l.access), l.vendor || '-', l.firmware || '-', l.stage || '-', l.ip || '-'].join('\t'));
        return 0;
    }
    case 'allow': {
        want(1, 'allow MAC [--name NAME]');
        const mac = parseMac(rest[0]);
        const name = parsed.values.has('name') ? parseName(parsed.values.get('name') as string) : undefined;
        const changes: Record<string, GLib.Variant> = { allowed: new GLib.Variant('b', true), ...name === undefined ? {} : { name: new GLib.Variant('s', name) } };
        return change(s => ({ computers: withComputer(s.computers, mac, { allowed: true, name }) }), p => p.SetComputerAsync(mac, changes, CALL_FLAGS),
            format(_("{computer} may start from this CD."), { computer: name ? `${name} (${mac})` : mac }));
    }
    case 'ignore': {
        want(1, 'ignore MAC');
        const mac = parseMac(rest[0]);
        return change(s => ({ computers: withComputer(s.computers, mac, { allowed: false }) }), p => p.SetComputerAsync(mac, { allowed: new GLib.Variant('b', false) }, CALL_FLAGS),
            format(_("{computer} is ignored: it will not start from this CD when only allowed computers may."), { computer: mac }));
    }
    case 'name': {
        want(2, 'name MAC NAME');
        const mac = parseMac(rest[0]);
        const name = parseName(rest[1]);
        return change(s => ({ computers: withComputer(s.computers, mac, { name }) }), p => p.SetComputerAsync(mac, { name: new GLib.Variant('s', name) }, CALL_FLAGS),
            name === '' ? format(_("{computer} has no name now."), { computer: mac }) : format(_("{computer} is called “{name}” now."), { computer: mac, name }));
    }
    case 'forget': {
        want(1, 'forget MAC');
        const mac = parseMac(rest[0]);
        return change(s => ({ computers: withoutComputer(s.computers, mac) }), p => p.ForgetComputerAsync(mac, CALL_FLAGS),
            format(_("{computer} is forgotten."), { computer: mac }));
    }
    case 'access': {
        want(1, 'access any|allowed');
        const access = rest[0];
        if (!isAccess(access))
            throw new ShareError('InvalidOption', format(_("“{value}” is not a choice of which computers may start: any or allowed."), { value: access }));
        return change(() => ({ access }), p => p.SetAccessAsync(access, CALL_FLAGS),
            access === 'any' ? _("Any computer may start from this CD.") : _("Only the computers allowed may start from this CD."));
    }
    default:
        throw new UsageError(format(_("Unknown computers command “{command}”: list, allow, ignore, name, forget or access."), { command: action }));
    }
}

/** The PID of the helper on the system bus, if it runs (asked without starting it). */
function helperPid(): number | null {
    try {
        const bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
        const call = (method: string, type: string): unknown => (bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', method,
            new GLib.Variant('(s)', [BUS_NAME]), new GLib.VariantType(type), Gio.DBusCallFlags.NONE, 5000, null).deepUnpack() as unknown[])[0];
        return call('NameHasOwner', '(b)') === true ? call('GetConnectionUnixProcessID', '(u)') as number : null;
    } catch {
        return null;
    }
}

function statusText(s: StatusJson | null): string {
    if (s === null)
        return _("Not sharing.");
    return format(_("Sharing {label} on {interface} ({address}), {mode} mode. Computers booting: {count}."), {
        label: s.label ?? '', interface: s.interface ?? '', address: s.address ?? '', mode: s.mode ?? '', count: s.clientCount });
}

function commandStatus(parsed: Parsed, clientsOnly: boolean): number {
    const status = readStatus(engineEnvFromProcess().runtimeDir);
    if (parsed.flags.has('json')) {
        if (clientsOnly)
            print(JSON.stringify(status?.clients ?? [], null, 2));
        else
            print(JSON.stringify(status ?? { state: 'stopped', clientCount: 0, clients: [] }, null, 2));
        return 0;
    }
    if (!clientsOnly) {
        print(statusText(status));
        return 0;
    }
    for (const c of status?.clients ?? [])
        print(`${describeClient(c)}\t${c.stage}\t${c.detail}`);
    return 0;
}

export async function main(argv: string[]): Promise<number> {
    try {
        const parsed = parseArgs(argv);
        if (parsed.flags.has('help')) {
            print(USAGE);
            return 0;
        }
        if (parsed.flags.has('version')) {
            print(`share-this-cd ${__VERSION__}`);
            return 0;
        }
        if (parsed.command !== '' && COMMAND_OPTIONS[parsed.command] !== undefined)
            checkOptions(parsed);
        switch (parsed.command) {
        case 'plan':
            return commandPlan(parsed);
        case 'start':
            return await commandStart(parsed);
        case 'stop':
            return await commandStop(parsed);
        case 'computers':
            return await commandComputers(parsed);
        case 'status':
            return commandStatus(parsed, false);
        case 'clients':
            return commandStatus(parsed, true);
        case 'demo':
            return await commandDemo(parsed);
        case '':
            throw new UsageError(_("No command given."));
        default:
            throw new UsageError(format(_("Unknown command “{command}”."), { command: JSON.stringify(parsed.command).slice(1, -1) }));
        }
    } catch (e) {
        if (e instanceof UsageError) {
            printerr(`share-this-cd: ${e.message}\n${_("Try “share-this-cd --help”.")}`);
            return 2;
        }
        if (isShareError(e)) {
            printerr(`share-this-cd: ${(e as ShareError).message}`);
            return 1;
        }
        console.error(e);
        printerr(format(_("share-this-cd: internal error: {message}"), { message: String(e) }));
        return 70;
    }
}

// Every command sleeps while it waits, the demo too (its timers outlive gjs 1.74's refused callbacks: timers.ts).
system.exit(runMain(() => main(system.programArgs)));
