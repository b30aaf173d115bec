// isolinux/syslinux menu parser (pure over a MediumReader) → neutral Menu.
// Follows the syslinux semantics that live media rely on: case-insensitive keywords, INCLUDE / MENU INCLUDE
// relative to the working directory (the directory of the main config file), a global APPEND for labels
// without their own, DEFAULT naming a label, a .c32 UI (old style) or a kernel command line (Ubuntu 6.10),
// initrd= inside APPEND, MENU BEGIN/END submenus, TEXT HELP blocks.
import { _, format } from '../../shared/i18n.ts';
import { basename, dirname, resolveInMedium } from '../../shared/paths.ts';
import { oneLine } from '../../shared/text.ts';
import type { MediumReader } from '../medium/reader.ts';
import { ConfigFiles } from './configFiles.ts';
import { MAX_ENTRIES, MAX_LABEL_CHARS } from './limits.ts';
import {
    type EntryKind, type Menu, type MenuEntry, type MenuItem, type Submenu, kindOfKernel, newEntry, splitKernelArgs,
} from './model.ts';

interface RawLabel {
    name: string;
    menuLabel: string | null;
    loader: string | null;      // keyword that named the image: kernel, linux, com32, localboot, config…
    image: string | null;
    append: string | null;
    initrd: string | null;
    menuDefault: boolean;
    hidden: boolean;
    help: string[];
}

interface RawMenu {
    tag: string | null;
    title: string | null;
    label: string | null;       // MENU LABEL given inside MENU BEGIN before the first LABEL
    items: (RawLabel | RawMenu)[];
}

interface Line {
    text: string;
}

const LOADERS = new Set(['kernel', 'linux', 'com32', 'boot', 'bss', 'pxe', 'fdimage', 'comboot', 'config', 'localboot']);

/** Splits a line into its keyword (lower-case) and the rest (trimmed). */
function keyword(text: string): [string, string] {
    const m = /^(\S+)\s*(.*)$/.exec(text.trim());
    return m ? [m[1].toLowerCase(), m[2].trim()] : ['', ''];
}

/** Reads the main file and every include into one list of lines (includes expanded in place). */
function expand(files: ConfigFiles, cwd: string, path: string, from: string | null, out: Line[]): void {
    const text = files.open(path, from);
    if (text === null)
        return;
    files.within(path, () => {
        for (const rawLine of text.split(/\r\n|\n|\r/)) {
            const [kw, rest] = keyword(rawLine);
            let target: string | null = null;
            let tag: string | null = null;
            if (kw === 'include') {
                [target, tag] = splitFirst(rest);
            } else if (kw === 'menu') {
                const [sub, subRest] = keyword(rest);
                if (sub === 'include')
                    [target, tag] = splitFirst(subRest);
            }
            if (target === null) {
                out.push({ text: rawLine });
                continue;
            }
            const resolved = resolveInMedium(cwd, target);
            if (resolved === null) {
                files.outside(target);
                continue;
            }
            // `include file tag` is a submenu holding the included file.
            if (tag)
                out.push({ text: `menu begin ${tag}` });
            expand(files, cwd, resolved, path, out);
            if (tag)
                out.push({ text: 'menu end' });
        }
    });
}

function splitFirst(rest: string): [string | null, string | null] {
    const m = /^(\S+)\s*(.*)$/.exec(rest);
    return m ? [m[1], m[2].trim() || null] : [null, null];
}

/** Parses the syslinux configuration at medium path `configPath` (e.g. `isolinux/isolinux.cfg`). */
export function parseSyslinux(reader: MediumReader, configPath: string): Menu {
    const files = new ConfigFiles(reader);
    const cwd = dirname(configPath);
    const lines: Line[] = [];
    expand(files, cwd, configPath, null, lines);

    const top: RawMenu = { tag: null, title: null, label: null, items: [] };
    const stack: RawMenu[] = [top];
    let current: RawLabel | null = null;
    // Every DEFAULT line: the menu modules take the last one naming a label; one naming neither a label nor a
    // .c32 module is a kernel command line (pre-menu style).
    const defaults: string[] = [];
    let kernelOutsideLabel: string | null = null;
    let globalAppend: string | null = null;
    let ontimeout: string | null = null;
    let timeout: number | null = null;
    let inHelp = false;

    for (const { text } of lines) {
        if (inHelp) {
            if (keyword(text)[0] === 'endtext')
                inHelp = false;
            else
                current?.help.push(oneLine(text));
            continue;
        }
        const trimmed = text.trim();
        if (trimmed === '' || trimmed.startsWith('#'))
            continue;
        const [kw, rest] = keyword(trimmed);
        const menu = stack[stack.length - 1];
        if (kw === 'label') {
            current = { name: rest, menuLabel: null, loader: null, image: null, append: null, initrd: null,
                menuDefault: false, hidden: false, help: [] };
            menu.items.push(current);
        } else if (LOADERS.has(kw)) {
            if (current) {
                current.loader = kw;
                current.image = rest;
            } else if (kw === 'kernel' || kw === 'linux') {
                // A kernel outside any label is the command DEFAULT runs (pre-menu syslinux style).
                kernelOutsideLabel ??= rest;
            }
        } else if (kw === 'append') {
            if (current)
                current.append = rest;
            else
                globalAppend = rest;
        } else if (kw === 'initrd') {
            if (current)
                current.initrd = rest;
        } else if (kw === 'default') {
            defaults.push(rest);
        } else if (kw === 'ontimeout') {
            ontimeout = rest;
        } else if (kw === 'timeout') {
            const tenths = Number.parseInt(rest, 10);
            timeout = Number.isFinite(tenths) && tenths > 0 ? Math.ceil(tenths / 10) : null;
        } else if (kw === 'text') {
            if (keyword(rest)[0] === 'help')
                inHelp = true;
        } else if (kw === 'menu') {
            const [sub, subRest] = keyword(rest);
            switch (sub) {
            case 'label':
                if (current)
                    current.menuLabel = subRest;
                else if (menu !== top)
                    menu.label = subRest;
                break;
            case 'title':
                menu.title = subRest;
                break;
            case 'default':
                if (current)
                    current.menuDefault = true;
                break;
            case 'hide':
            case 'disable':
                if (current)
                    current.hidden = true;
                break;
            case 'exit':
            case 'quit':
                // "Back.." / "Exit this menu" labels: not a boot choice.
                if (current)
                    current.loader = 'menu-exit';
                break;
            case 'begin': {
                const sub: RawMenu = { tag: subRest || null, title: null, label: null, items: [] };
                menu.items.push(sub);
                stack.push(sub);
                current = null;
                break;
            }
            case 'end':
                if (stack.length > 1)
                    stack.pop();
                current = null;
                break;
            default:
                break; // colours, geometry, background, separators…
            }
        }
        // Everything else (ui, prompt, display, f1…f12, gfxboot, serial, path, say, implicit…) has no
        // meaning for the netboot menu; `ui`/gfxboot choices are the renderer's.
    }

    const labelNames = new Set(allRawLabels(top).map(r => r.name.toLowerCase()));
    const defaultLabel = [...defaults].reverse().find(d => labelNames.has(d.toLowerCase())) ?? null;
    const lastDefault = defaults.length > 0 ? defaults[defaults.length - 1] : kernelOutsideLabel;
    const defaultCmd = defaultLabel ?? (lastDefault !== null && !/\.c32$/i.test(lastDefault.split(/\s+/)[0]) ? lastDefault : null);
    const warnings = files.warnings;
    const made = new Map<RawLabel, MenuEntry>();
    const entryOf = (raw: RawLabel): MenuEntry | null => toEntry(raw, cwd, globalAppend, warnings);
    const convert = (raw: RawMenu): MenuItem[] => {
        const items: MenuItem[] = [];
        for (const item of raw.items) {
            if ('items' in item) {
                const inner = convert(item);
                if (inner.length > 0) {
                    const text = item.label ?? item.title ?? item.tag ?? _("More options");
                    const [label, hotkey] = splitHotkey(text);
                    const sub: Submenu = { type: 'submenu', label, hotkey, items: inner };
                    items.push(sub);
                }
            } else {
                const entry = entryOf(item);
                if (entry && !(item.hidden && !isDefault(item, defaultCmd, ontimeout))) {
                    made.set(item, entry);
                    items.push(entry);
                }
            }
        }
        return items;
    };
    const items = convert(top);
    const entries = allRawLabels(top);
    if (entries.length > MAX_ENTRIES)
        warnings.push(format(_("Only the first {count} menu entries are kept."), { count: MAX_ENTRIES }));

    // The default: MENU DEFAULT wins, then DEFAULT naming a label, then ONTIMEOUT; DEFAULT naming a kernel
    // command line (Ubuntu 6.10) marks an identical label, or becomes an entry of its own.
    const flat = allRawLabels(top).filter(raw => made.has(raw))
        .map(raw => [raw, made.get(raw) as MenuEntry] as [RawLabel, MenuEntry]);
    let chosen = flat.find(([raw]) => raw.menuDefault)
        ?? flat.find(([raw]) => defaultCmd !== null && raw.name === defaultCmd)
        ?? flat.find(([raw]) => defaultCmd !== null && raw.name.toLowerCase() === defaultCmd.toLowerCase())
        ?? flat.find(([raw]) => ontimeout !== null && raw.name === ontimeout);
    if (!chosen && defaultCmd !== null && defaultLabel === null) {
        const [image, ...cmdArgs] = defaultCmd.split(/\s+/);
        const raw: RawLabel = { name: basename(image), menuLabel: null, loader: 'kernel', image,
            append: cmdArgs.length > 0 ? cmdArgs.join(' ') : globalAppend, initrd: null, menuDefault: true,
            hidden: false, help: [] };
        const synthetic = entryOf(raw);
        if (synthetic) {
            const same = flat.find(([, e]) => e.kernel === synthetic.kernel
                && e.args.join(' ') === synthetic.args.join(' ') && e.initrds.join(' ') === synthetic.initrds.join(' '));
            if (same) {
                chosen = same;
            } else {
                synthetic.default = true;
                items.unshift(synthetic);
            }
        }
    }
    if (chosen)
        chosen[1].default = true;

    return { title: top.title ? oneLine(top.title) : null, timeout, items: capEntries(items), warnings };
}

function isDefault(raw: RawLabel, defaultCmd: string | null, ontimeout: string | null): boolean {
    return raw.menuDefault || raw.name === defaultCmd || raw.name === ontimeout;
}

function allRawLabels(menu: RawMenu): RawLabel[] {
    return menu.items.flatMap(i => ('items' in i ? allRawLabels(i) : [i]));
}

function capEntries(items: MenuItem[]): MenuItem[] {
    let left = MAX_ENTRIES;
    const cap = (list: MenuItem[]): MenuItem[] => {
        const out: MenuItem[] = [];
        for (const item of list) {
            if (left <= 0)
                break;
            if (item.type === 'entry') {
                left--;
                out.push(item);
            } else {
                out.push({ ...item, items: cap(item.items) });
            }
        }
        return out;
    };
    return cap(items);
}

/** "^Try Ubuntu" → ["Try Ubuntu", "t"]. */
export function splitHotkey(text: string): [string, string | null] {
    const clean = oneLine(text).slice(0, MAX_LABEL_CHARS);
    const i = clean.indexOf('^');
    const key = i < 0 ? '' : clean.charAt(i + 1).toLowerCase();
    // Only a letter or digit: the key goes unquoted into GRUB's `--hotkey=` (a medium's `^;` or `^{` must not).
    return [clean.replace(/\^/g, ''), /^[a-z0-9]$/.test(key) ? key : null];
}

function toEntry(raw: RawLabel, cwd: string, globalAppend: string | null, warnings: string[]): MenuEntry | null {
    if (raw.loader === 'menu-exit')
        return null;
    const [label, hotkey] = splitHotkey(raw.menuLabel ?? raw.name);
    const base = { label: label || oneLine(raw.name), name: oneLine(raw.name) || null, hotkey, help: raw.help,
        default: false };
    const appendText = raw.append === '-' ? '' : (raw.append ?? globalAppend ?? '');
    let args = splitKernelArgs(appendText);
    const loader = raw.loader ?? 'kernel';
    const image = raw.image ?? (raw.loader === null ? raw.name : null);

    if (loader === 'localboot')
        return newEntry({ ...base, kind: 'localdisk' });
    if (image === null || loader === 'config')
        return newEntry({ ...base, kind: 'other' });
    const imageBase = basename(image).toLowerCase();
    if (loader === 'com32' || imageBase.endsWith('.c32')) {
        const kind: EntryKind = imageBase === 'chain.c32' && args.some(a => /^(hd|mbr:|boot$|fs$)/i.test(a))
            ? 'localdisk' : 'other';
        return newEntry({ ...base, kind });
    }
    if (!['kernel', 'linux'].includes(loader) || /\.(0|bs|bss|cbt|com|img)$/i.test(imageBase) && loader !== 'linux')
        return newEntry({ ...base, kind: 'other' });

    const kernel = resolveInMedium(cwd, image);
    if (kernel === null) {
        warnings.push(format(_("Skipped the entry “{label}”: its kernel {path} is outside the medium."),
            { label: base.label, path: oneLine(image) }));
        return null;
    }
    const initrdTexts: string[] = [];
    if (raw.initrd)
        initrdTexts.push(...raw.initrd.split(','));
    args = args.filter(a => {
        const m = /^initrd=(.*)$/i.exec(a);
        if (m)
            initrdTexts.push(...m[1].split(','));
        return !m;
    });
    const initrds: string[] = [];
    for (const text of initrdTexts.map(t => t.trim()).filter(t => t !== '')) {
        const resolved = resolveInMedium(cwd, text);
        if (resolved === null) {
            warnings.push(format(_("Skipped the entry “{label}”: its initrd {path} is outside the medium."),
                { label: base.label, path: oneLine(text) }));
            return null;
        }
        initrds.push(resolved);
    }
    return newEntry({ ...base, kind: kindOfKernel(kernel), kernel, initrds, args });
}
