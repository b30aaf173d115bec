// The neutral boot-menu model: what isolinux/syslinux and GRUB menus say, independent of either syntax.
// Parsers produce it; the netboot translation rewrites it; renderers turn it into pxelinux and GRUB configs.

/** What an entry does when chosen. */
export type EntryKind =
    | 'linux'       // load a kernel (+ initrds) with arguments
    | 'memtest'     // a memory tester loaded like a kernel
    | 'localdisk'   // boot the local disk (syslinux localboot, chain.c32 hd0, GRUB chainloader to a disk)
    | 'exit'        // GRUB `exit`: back to the firmware (next boot device) — UEFI only
    | 'fwsetup'     // GRUB `fwsetup`: the UEFI firmware's settings
    | 'other';      // anything else (com32 modules, config switches, reboot…): not offered over the network

export interface MenuEntry {
    type: 'entry';
    /** Text shown in the menu, single line, without syslinux '^' marks. */
    label: string;
    /** Syslinux label name (the word typed at `boot:`), when the source had one. */
    name: string | null;
    /** Lower-case hotkey letter, when the source gave one (syslinux '^x', GRUB --hotkey=x). */
    hotkey: string | null;
    kind: EntryKind;
    /** Medium path of the kernel (or memtest image), normalized, relative to the medium root. */
    kernel: string | null;
    /** Medium paths of the initrds, in load order. */
    initrds: string[];
    /** Kernel arguments as the kernel will split them (double quotes kept inside a token). */
    args: string[];
    default: boolean;
    /** syslinux `text help` block, one line per element. */
    help: string[];
}

export interface Submenu {
    type: 'submenu';
    label: string;
    hotkey: string | null;
    items: MenuItem[];
}

export type MenuItem = MenuEntry | Submenu;

export interface Menu {
    /** Title shown above the menu, when the source had one. */
    title: string | null;
    /** Seconds before the default boots; 0 = boot at once; null = wait for the user. */
    timeout: number | null;
    items: MenuItem[];
    /** Non-fatal problems met while reading (skipped include, unsafe path…), for the user. */
    warnings: string[];
}

export function newEntry(fields: Partial<MenuEntry> & { label: string }): MenuEntry {
    return {
        type: 'entry', name: null, hotkey: null, kind: 'linux', kernel: null, initrds: [], args: [],
        default: false, help: [], ...fields,
    };
}

/** Depth-first list of the entries of a menu (submenus flattened). */
export function flatEntries(items: MenuItem[]): MenuEntry[] {
    const out: MenuEntry[] = [];
    for (const item of items) {
        if (item.type === 'entry')
            out.push(item);
        else
            out.push(...flatEntries(item.items));
    }
    return out;
}

/**
 * Splits a kernel command line the way Linux does: on white space, except inside double quotes
 * (`foo="a b"` stays one argument, quotes kept).
 */
export function splitKernelArgs(cmdline: string): string[] {
    const out: string[] = [];
    let current = '';
    let quoted = false;
    let started = false;
    for (const ch of cmdline) {
        if (ch === '"')
            quoted = !quoted;
        if (!quoted && /\s/.test(ch)) {
            if (started)
                out.push(current);
            current = '';
            started = false;
        } else {
            current += ch;
            started = true;
        }
    }
    if (started)
        out.push(current);
    return out;
}

const MEMTEST = /(^|\/)(memtest|mt86)[^/]*$/i;

/** Classifies an entry that loads `kernel` by its file name. */
export function kindOfKernel(kernel: string): EntryKind {
    return MEMTEST.test(kernel) ? 'memtest' : 'linux';
}
