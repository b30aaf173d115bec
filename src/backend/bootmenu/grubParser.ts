// GRUB menu reader (pure over a MediumReader): runs the menu-building part of a grub.cfg for one platform
// ("pc" for BIOS, "efi" for UEFI) the way GRUB would — `set` variables, `source`/`configfile`, `if` on
// $grub_platform and friends, `submenu` — and collects the menu entries with their linux/initrd commands.
import { _, format } from '../../shared/i18n.ts';
import { basename, dirname, resolveInMedium } from '../../shared/paths.ts';
import { oneLine } from '../../shared/text.ts';
import type { MediumReader } from '../medium/reader.ts';
import { ConfigFiles } from './configFiles.ts';
import { type Command, GrubSyntaxError, type Word, parseGrubScript } from './grubScript.ts';
import { MAX_ENTRIES, MAX_LABEL_CHARS } from './limits.ts';
import { type EntryKind, type Menu, type MenuEntry, type MenuItem, kindOfKernel, newEntry, splitKernelArgs } from './model.ts';

export type GrubPlatform = 'pc' | 'efi';

interface Scope {
    vars: Map<string, string>;
    items: MenuItem[];
}

interface EntryState {
    kernel: string | null;
    kernelRaw: string | null;
    loader: string | null;
    args: string[];
    initrds: string[];
    action: EntryKind | null;
    submenu: MenuItem[] | null;
}

const LINUX_CMDS = new Set(['linux', 'linuxefi', 'linux16', 'kernel']);
const INITRD_CMDS = new Set(['initrd', 'initrdefi', 'initrd16']);

class GrubRunner {
    readonly files: ConfigFiles;
    private entryCount = 0;

    constructor(private readonly reader: MediumReader) {
        this.files = new ConfigFiles(reader);
    }

    expand(word: Word, vars: Map<string, string>): string {
        return word.parts.map(p => ('text' in p ? p.text : vars.get(p.variable) ?? '')).join('');
    }

    /** A GRUB file name → medium path: drops a `(device)` prefix; relative names are taken from the root. */
    mediumPath(name: string): string | null {
        const path = name.startsWith('(') && name.includes(')') ? name.slice(name.indexOf(')') + 1) : name;
        return resolveInMedium('', path);
    }

    runFile(path: string, from: string | null, scope: Scope, entry: EntryState | null): void {
        const text = this.files.open(path, from);
        if (text === null)
            return;
        let commands: Command[];
        try {
            commands = parseGrubScript(text);
        } catch (e) {
            if (!(e instanceof GrubSyntaxError))
                throw e;
            this.files.warn(format(_("Skipped /{file}: line {line}: {problem}."), { file: path, line: e.line, problem: e.message }));
            return;
        }
        this.files.within(path, () => this.run(commands, scope, entry, path));
    }

    /** Runs commands; returns the status of the last one (true = success), as `if` needs. */
    run(commands: Command[], scope: Scope, entry: EntryState | null, file: string): boolean {
        let status = true;
        for (const cmd of commands)
            status = this.runOne(cmd, scope, entry, file);
        return status;
    }

    private runOne(cmd: Command, scope: Scope, entry: EntryState | null, file: string): boolean {
        switch (cmd.type) {
        case 'function':
        case 'loop':
            return true;
        case 'if': {
            for (const branch of cmd.branches) {
                if (this.run(branch.condition, scope, entry, file))
                    return this.run(branch.body, scope, entry, file);
            }
            return cmd.otherwise ? this.run(cmd.otherwise, scope, entry, file) : true;
        }
        case 'menu':
            this.menu(cmd, scope, file);
            return true;
        case 'simple':
            return this.simple(cmd.words.map(w => this.expand(w, scope.vars)), scope, entry, file);
        }
    }

    private menu(cmd: Extract<Command, { type: 'menu' }>, scope: Scope, file: string): void {
        const words = cmd.args.map(w => this.expand(w, scope.vars));
        let title: string | null = null;
        let hotkey: string | null = null;
        for (let i = 0; i < words.length; i++) {
            const w = words[i];
            const opt = /^--(hotkey|class|users|id)(?:=(.*))?$/.exec(w);
            if (opt) {
                const value = opt[2] ?? words[++i] ?? '';
                if (opt[1] === 'hotkey' && /^[A-Za-z0-9]$/.test(value))
                    hotkey = value.toLowerCase();
            } else if (w.startsWith('--')) {
                continue; // --unrestricted, --source…
            } else if (title === null) {
                title = w;
            }
        }
        const label = oneLine(title ?? '').slice(0, MAX_LABEL_CHARS) || _("Unnamed entry");
        // Bodies run in a scope of their own: their `set`s do not leak (GRUB runs them when chosen).
        const inner: Scope = { vars: new Map(scope.vars), items: [] };
        if (cmd.keyword === 'submenu') {
            this.run(cmd.body, inner, null, file);
            if (inner.items.length > 0)
                scope.items.push({ type: 'submenu', label, hotkey, items: inner.items });
            return;
        }
        if (++this.entryCount > MAX_ENTRIES) {
            this.files.warn(format(_("Only the first {count} menu entries are kept."), { count: MAX_ENTRIES }));
            return;
        }
        const state: EntryState = { kernel: null, kernelRaw: null, loader: null, args: [], initrds: [], action: null, submenu: null };
        this.run(cmd.body, inner, state, file);
        if (state.submenu) {
            if (state.submenu.length > 0)
                scope.items.push({ type: 'submenu', label, hotkey, items: state.submenu });
            return;
        }
        const made = this.toEntry(state, label, hotkey);
        if (made)
            scope.items.push(made);
    }

    private toEntry(state: EntryState, label: string, hotkey: string | null): MenuEntry | null {
        if (state.loader !== null) {
            if (state.kernel === null) {
                this.files.warn(format(_("Skipped the entry “{label}”: its kernel {path} is outside the medium."),
                    { label, path: oneLine(state.kernelRaw ?? '') }));
                return null;
            }
            if (state.initrds.some(i => i === '')) {
                this.files.warn(format(_("Skipped the entry “{label}”: an initrd is outside the medium."), { label }));
                return null;
            }
            return newEntry({ label, hotkey, kind: kindOfKernel(state.kernel), kernel: state.kernel,
                initrds: state.initrds, args: state.args });
        }
        return newEntry({ label, hotkey, kind: state.action ?? 'other' });
    }

    private simple(words: string[], scope: Scope, entry: EntryState | null, file: string): boolean {
        if (words.length === 0)
            return true;
        const [name, ...args] = words;
        switch (name) {
        case 'set': {
            for (const a of args) {
                const eq = a.indexOf('=');
                if (eq > 0)
                    scope.vars.set(a.slice(0, eq), a.slice(eq + 1));
            }
            return true;
        }
        case 'unset':
            args.forEach(a => scope.vars.delete(a));
            return true;
        case 'true':
            return true;
        case 'false':
            return false;
        case '[':
            return args[args.length - 1] === ']' ? this.test(args.slice(0, -1)) : false;
        case 'test':
            return this.test(args);
        case '!':
            return !this.simple(args, scope, entry, file);
        case 'source':
        case '.':
        case 'configfile': {
            if (args.length === 0)
                return false;
            const path = this.mediumPath(args[0]);
            if (path === null) {
                this.files.outside(args[0]);
                return false;
            }
            if (name === 'configfile' && entry) {
                // An entry that opens another menu file is a submenu of that file's entries.
                const inner: Scope = { vars: new Map(scope.vars), items: [] };
                this.runFile(path, file, inner, null);
                entry.submenu = inner.items;
                return true;
            }
            this.runFile(path, file, scope, entry);
            return true;
        }
        default:
            break;
        }
        if (entry) {
            if (LINUX_CMDS.has(name)) {
                entry.loader = name;
                entry.kernelRaw = args[0] ?? '';
                entry.kernel = args.length > 0 ? this.mediumPath(args[0]) : null;
                entry.args = splitKernelArgs(args.slice(1).join(' '));
                return true;
            }
            if (INITRD_CMDS.has(name)) {
                entry.initrds = args.map(a => this.mediumPath(a) ?? '');
                return true;
            }
            if (name === 'chainloader') {
                const target = args.filter(a => !a.startsWith('--'))[0] ?? '';
                entry.action = target.endsWith('+1') || /^\(hd/.test(target) ? 'localdisk' : 'other';
                if (/memtest/i.test(basename(target)))
                    entry.action = 'other';
                return true;
            }
            if (name === 'fwsetup') {
                entry.action = 'fwsetup';
                return true;
            }
            if (name === 'exit') {
                entry.action ??= 'exit';
                return true;
            }
            if (name === 'reboot' || name === 'halt') {
                entry.action = 'other';
                return true;
            }
        }
        // Anything else (insmod, loadfont, search, terminal_output, gfxmode…): succeeds, changes no menu.
        return true;
    }

    /** GRUB's `test` / `[`: strings, numbers, -z/-n, files, !, -a/-o. */
    private test(args: string[]): boolean {
        const orIndex = args.indexOf('-o');
        if (orIndex > 0)
            return this.test(args.slice(0, orIndex)) || this.test(args.slice(orIndex + 1));
        const andIndex = args.indexOf('-a');
        if (andIndex > 0)
            return this.test(args.slice(0, andIndex)) && this.test(args.slice(andIndex + 1));
        if (args[0] === '!')
            return !this.test(args.slice(1));
        if (args.length === 0)
            return false;
        if (args.length === 1)
            return args[0] !== '';
        if (args.length === 2) {
            const [op, value] = args;
            if (op === '-z')
                return value === '';
            if (op === '-n')
                return value !== '';
            const path = this.mediumPath(value);
            const type = path === null ? null : this.reader.typeOf(path);
            if (op === '-e')
                return type !== null;
            if (op === '-f')
                return type === 'file';
            if (op === '-d')
                return type === 'dir';
            if (op === '-s')
                return type === 'file';
            return false;
        }
        const [a, op, b] = args;
        const na = Number(a);
        const nb = Number(b);
        switch (op) {
        case '=': case '==': return a === b;
        case '!=': return a !== b;
        case '<': return a < b;
        case '>': return a > b;
        case '-eq': return na === nb;
        case '-ne': return na !== nb;
        case '-lt': return na < nb;
        case '-le': return na <= nb;
        case '-gt': return na > nb;
        case '-ge': return na >= nb;
        default: return false;
        }
    }
}

/**
 * Parses the GRUB configuration at medium path `configPath` as GRUB on `platform` would show it, GRUB's
 * $grub_cpu being `cpu` (default: i386 for pc, x86_64 for efi).
 */
export function parseGrub(reader: MediumReader, configPath: string, platform: GrubPlatform, cpu: string = platform === 'efi' ? 'x86_64' : 'i386'): Menu {
    const runner = new GrubRunner(reader);
    const vars = new Map<string, string>([
        ['grub_platform', platform],
        ['grub_cpu', cpu],
        ['prefix', `/${dirname(configPath)}`],
        ['cmdpath', `/${dirname(configPath)}`],
        ['root', ''],
    ]);
    const scope: Scope = { vars, items: [] };
    runner.runFile(configPath, null, scope, null);

    const items = scope.items;
    const timeoutText = vars.get('timeout');
    const seconds = timeoutText === undefined ? null : Number.parseInt(timeoutText, 10);
    const timeout = seconds === null || !Number.isFinite(seconds) || seconds < 0 ? null : seconds;
    markDefault(items, vars.get('default') ?? '0');
    return { title: null, timeout, items, warnings: runner.files.warnings };
}

/** GRUB's `default`: an index, a title or id, or a `a>b` path into submenus; falls back to the first entry. */
function markDefault(items: MenuItem[], spec: string): void {
    let list = items;
    let chosen: MenuItem | undefined;
    for (const part of spec.split('>')) {
        const index = /^\d+$/.test(part) ? Number.parseInt(part, 10) : list.findIndex(i => i.label === part);
        chosen = list[index];
        if (!chosen)
            break;
        if (chosen.type === 'submenu')
            list = chosen.items;
    }
    const firstEntry = (list2: MenuItem[]): MenuEntry | undefined => {
        for (const i of list2) {
            const found = i.type === 'entry' ? i : firstEntry(i.items);
            if (found)
                return found;
        }
        return undefined;
    };
    const target = chosen === undefined ? firstEntry(items)
        : chosen.type === 'entry' ? chosen : firstEntry(chosen.items);
    if (target)
        target.default = true;
}
