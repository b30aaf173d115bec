// `share-this-cd` command line. Each command: parse and validate options → drive the engine → print.
import { setConsoleLogDomain } from 'console';
import system from 'system';

import { type BootPlan, planFromReader } from '../backend/bootPlan.ts';
import { openMedium, runningMediumPath } from '../backend/medium/running.ts';
import { _, format } from '../shared/i18n.ts';
import { ShareError, isShareError } from '../shared/errors.ts';
import { hasControlChars } from '../shared/text.ts';

setConsoleLogDomain('share-this-cd');

const USAGE = [
    _("Usage: share-this-cd COMMAND [OPTIONS]"),
    '',
    _("Share a Linux live CD/USB with the local network: other computers can network-boot it."),
    '',
    _("Commands:"),
    _("  plan     show what would be served: the medium, its boot entries and the netboot menus"),
    '',
    _("Options of plan:"),
    _("  --medium DIR      the live medium's folder (default: the medium this live session runs from)"),
    _("  --server IP       the address clients reach this computer at (required)"),
    _("  --no-http         serve kernels and initrds over TFTP only (no HTTP fast path)"),
    _("  --http-port N     port of the HTTP fast path (default 80)"),
    _("  --json            print the plan as JSON"),
    _("  --show FILE       print one generated file (pxelinux.cfg/default, grub/grub.cfg)"),
    '',
    _("  --help            show this help"),
    _("  --version         show the version"),
].join('\n');

class UsageError extends Error {}

interface Parsed {
    command: string;
    values: Map<string, string>;
    flags: Set<string>;
}

const VALUE_OPTIONS = new Set(['medium', 'server', 'http-port', 'show']);
const FLAG_OPTIONS = new Set(['json', 'no-http', 'help', 'version']);

/** Parses `COMMAND [--opt VALUE | --opt=VALUE | --flag]…`, refusing unknown, repeated and unsafe options. */
export function parseArgs(argv: string[]): Parsed {
    const parsed: Parsed = { command: '', values: new Map(), flags: new Set() };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith('--')) {
            if (parsed.command !== '')
                throw new UsageError(format(_("Unexpected argument “{arg}”."), { arg: JSON.stringify(arg).slice(1, -1) }));
            parsed.command = arg;
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
    if (given.split('/').includes('..'))
        throw new ShareError('InvalidOption', format(_("The medium path {value} contains “..”: give the folder's path without “..”."), { value: JSON.stringify(given) }));
    return given;
}

function httpPortOption(parsed: Parsed): number {
    const text = parsed.values.get('http-port') ?? '80';
    if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
        throw new ShareError('InvalidOption', format(_("“{value}” is not a valid HTTP port (1–65535)."), { value: text }));
    return Number(text);
}

function planJson(plan: BootPlan): string {
    return JSON.stringify({ medium: plan.medium, entries: plan.entries, files: plan.files }, null, 2);
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
    const plan = planFromReader(reader, { server, http: !parsed.flags.has('no-http'), httpPort });
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

export function main(argv: string[]): number {
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
        switch (parsed.command) {
        case 'plan':
            return commandPlan(parsed);
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

system.exit(main(system.programArgs));
