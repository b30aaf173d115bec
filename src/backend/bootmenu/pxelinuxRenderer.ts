// pxelinux.cfg/default renderer (pure): the BIOS clients' menu, shown by menu.c32. When menu.c32 cannot be
// loaded, pxelinux falls back to its plain `boot:` prompt, where the label names below can be typed and the
// DEFAULT label boots after the timeout.
import { oneLine } from '../../shared/text.ts';
import { type Menu, type MenuEntry, type MenuItem, flatEntries } from './model.ts';
import { type FileSource, GENERATED_NOTE, uniqueNames } from './render.ts';

/** Modules the rendered menu needs next to pxelinux.0 (the sharing engine copies them). */
export const PXELINUX_MODULES = ['ldlinux.c32', 'menu.c32', 'libutil.c32'];

function fileUrl(source: FileSource, path: string): string {
    if (source.http === null)
        return `${source.prefix}/${path}`;
    const port = source.http.port === 80 ? '' : `:${source.http.port}`;
    return `http://${source.server}${port}/${source.prefix}/${path}`;
}

/** "Try Ubuntu" + hotkey "u" → "Try ^Ubuntu" (first letter that matches, case-insensitive). */
function markHotkey(label: string, hotkey: string | null): string {
    const text = label.replace(/\^/g, '');
    if (hotkey === null)
        return text;
    const i = text.toLowerCase().indexOf(hotkey);
    return i < 0 ? text : `${text.slice(0, i)}^${text.slice(i)}`;
}

export function renderPxelinux(menu: Menu, source: FileSource, title: string): string {
    const entries = flatEntries(menu.items);
    const names = uniqueNames(entries.map(e => e.name ?? e.label), i => `entry${i + 1}`);
    const nameOf = new Map<MenuEntry, string>(entries.map((e, i) => [e, names[i]]));
    const defaultEntry = entries.find(e => e.default) ?? entries[0];
    const out: string[] = [
        `# ${GENERATED_NOTE}`,
        '# Network boot menu for BIOS clients (pxelinux).',
        'UI menu.c32',
        'PROMPT 0',
        // pxelinux counts in tenths of a second; 0 waits for the user.
        // (pxelinux's TIMEOUT 0 waits for a key: "at once" is its shortest wait, a tenth of a second)
        `TIMEOUT ${menu.timeout === null ? 0 : Math.max(1, Math.min(menu.timeout * 10, 35996))}`,
        `MENU TITLE ${oneLine(title)}`,
    ];
    if (defaultEntry)
        out.push(`DEFAULT ${nameOf.get(defaultEntry)}`);

    const renderItems = (items: MenuItem[], indent: string): void => {
        for (const item of items) {
            out.push('');
            if (item.type === 'submenu') {
                out.push(`${indent}MENU BEGIN`, `${indent}  MENU TITLE ${oneLine(item.label)}`,
                    `${indent}  MENU LABEL ${oneLine(markHotkey(item.label, item.hotkey))}`);
                renderItems(item.items, `${indent}  `);
                out.push('', `${indent}  LABEL back`, `${indent}    MENU LABEL Back`, `${indent}    MENU EXIT`,
                    `${indent}MENU END`);
                continue;
            }
            const e = item;
            out.push(`${indent}LABEL ${nameOf.get(e)}`, `${indent}  MENU LABEL ${oneLine(markHotkey(e.label, e.hotkey))}`);
            if (e === defaultEntry)
                out.push(`${indent}  MENU DEFAULT`);
            if (e.kind === 'localdisk') {
                out.push(`${indent}  LOCALBOOT 0`);
            } else {
                out.push(`${indent}  KERNEL ${fileUrl(source, e.kernel as string)}`);
                if (e.initrds.length > 0)
                    out.push(`${indent}  INITRD ${e.initrds.map(i => fileUrl(source, i)).join(',')}`);
                if (e.args.length > 0)
                    out.push(`${indent}  APPEND ${e.args.map(oneLine).join(' ')}`);
                if (e.kind === 'linux')
                    out.push(`${indent}  IPAPPEND 2`); // BOOTIF=: the initramfs uses the NIC that PXE-booted
            }
            if (e.help.length > 0)
                out.push(`${indent}  TEXT HELP`, ...e.help.map(h => `${indent}  ${oneLine(h).replace(/^endtext$/i, '')}`), `${indent}  ENDTEXT`);
        }
    };
    renderItems(menu.items, '');
    return `${out.join('\n')}\n`;
}
