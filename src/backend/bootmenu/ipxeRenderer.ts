// iPXE script renderer (pure): the menu for clients whose network ROM is iPXE (qemu, Proxmox, VirtualBox, many
// thin clients), which fetch kernels and initrds themselves over HTTP — no second loader (lpxelinux) at all.
// Same menu model and the same injection rules as the pxelinux and GRUB renderers, for iPXE's syntax: a line is
// split on white space with no quoting at all; `${name}` anywhere in a word is expanded (again and again); a
// word that starts with `#` begins a comment; the words `||`, `&&` and `;` join commands. So a kernel argument
// that contains white space or `${`, or that is one of those words, cannot be written: such an entry is left out
// (ipxeWritable), and menu texts are cleaned of them.
import { oneLine } from '../../shared/text.ts';
import { type Menu, type MenuEntry, type MenuItem, flatEntries } from './model.ts';
import { type FileSource, GENERATED_NOTE } from './render.ts';

/** The script's own variable names (iPXE settings), kept apart from anything a medium could name. */
const CHOICE = 'sharecd_choice';
const TIMEOUT = 'sharecd_timeout';
const BOOTIF = 'sharecd_bootif';

/** A word iPXE reads back as written: no white space, no expansion, not a comment or a command joiner. */
function literalWord(word: string): boolean {
    return word !== '' && !/\s/.test(word) && !word.includes('${') && !word.startsWith('#') && !['||', '&&', ';'].includes(word);
}

/** True when the entry can be written as an iPXE script: every argument survives iPXE's parser unchanged. */
export function ipxeWritable(e: MenuEntry): boolean {
    return e.args.every(literalWord);
}

/**
 * Menu text for iPXE's console: printable ASCII (accents dropped, other letters become "?"), on one line, with
 * nothing iPXE would expand or treat as a comment or a joiner.
 */
export function ipxeText(text: string): string {
    const ascii = oneLine(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^\x20-\x7e]/g, '?');
    const words = ascii.replace(/\$\{/g, '$ {').split(' ').filter(w => w !== '')
        .map(w => w.replace(/^#+/, ''))
        .filter(w => w !== '' && !['||', '&&', ';'].includes(w));
    return words.join(' ');
}

function fileUrl(source: FileSource, path: string): string {
    if (source.http === null)
        return `tftp://${source.server}/${source.prefix}/${path}`;
    const port = source.http.port === 80 ? '' : `:${source.http.port}`;
    return `http://${source.server}${port}/${source.prefix}/${path}`;
}

/** The item names of a submenu's path to the default entry (`m1`, then `e7`), or null. */
function defaultTarget(items: MenuItem[], nameOf: Map<MenuItem, string>): string | null {
    for (const item of items) {
        if (item.type === 'entry' && item.default && nameOf.has(item))
            return nameOf.get(item) as string;
        if (item.type === 'submenu' && nameOf.has(item) && defaultTarget(item.items, nameOf) !== null)
            return nameOf.get(item) as string;
    }
    return null;
}

/** What iPXE can start of an item list: kernels and the ways back to the firmware (no firmware setup in iPXE). */
function offered(items: MenuItem[]): MenuItem[] {
    const out: MenuItem[] = [];
    for (const item of items) {
        if (item.type === 'submenu') {
            const inner = offered(item.items);
            if (inner.length > 0)
                out.push({ ...item, items: inner });
        } else if (((item.kind === 'linux' || item.kind === 'memtest') && item.kernel !== null && ipxeWritable(item))
            || item.kind === 'localdisk' || item.kind === 'exit') {
            out.push(item);
        }
    }
    return out;
}

/**
 * The iPXE script for `menu`, or null when it has no Linux entry iPXE can start. On a computer with more than one
 * network card, Linux entries get `BOOTIF=` with the address of the card iPXE last opened (netX: the one it
 * booted from), as pxelinux's IPAPPEND 2 gives them, so the initramfs configures the card the computer started
 * from. With one card (no net1) there is no card to choose, and BOOTIF= would only cost time: live-boot, given
 * one, looks for connected cards for five seconds or more (9990-select-eth-device.sh), where it takes a lone
 * card at once.
 */
export function renderIpxe(menu: Menu, source: FileSource, title: string): string | null {
    const items = offered(menu.items);
    if (!flatEntries(items).some(e => e.kind === 'linux'))
        return null;
    // Entries are e1, e2… and submenus m1, m2… (m0: the top menu): names iPXE's `goto` takes as they are.
    const nameOf = new Map<MenuItem, string>();
    let entries = 0;
    let menus = 0;
    const name = (list: MenuItem[]): void => list.forEach(item => {
        nameOf.set(item, item.type === 'entry' ? `e${++entries}` : `m${++menus}`);
        if (item.type === 'submenu')
            name(item.items);
    });
    name(items);
    // pxelinux's "at once" is a tenth of a second; a key pressed meanwhile still shows the menu.
    const timeoutMs = menu.timeout === null ? 0 : Math.max(100, Math.min(menu.timeout, 35996) * 1000);
    const out: string[] = [
        '#!ipxe',
        `# ${GENERATED_NOTE}`,
        `# Network boot menu for iPXE clients: ${ipxeText(title)}`,
        `set ${TIMEOUT} ${timeoutMs}`,
        // (iPXE splits a line before expanding it: an unknown setting is an empty argument, which isset refuses.)
        `set ${BOOTIF} BOOTIF=01-\${netX/mac:hexhyp}`,
        `isset \${net1/mac} || clear ${BOOTIF}`,
    ];
    const bodies: string[] = [];

    const renderMenu = (list: MenuItem[], label: string, heading: string, parent: string | null): void => {
        out.push('', `:${label}`, `menu ${ipxeText(heading) || 'Share This CD'}`);
        for (const item of list) {
            const key = item.hotkey && /^[a-z0-9]$/.test(item.hotkey) ? `--key ${item.hotkey} ` : '';
            const text = ipxeText(item.label) || nameOf.get(item) as string;
            out.push(`item ${key}${nameOf.get(item)} ${text}${item.type === 'submenu' ? ' >' : ''}`);
        }
        if (parent !== null)
            out.push('item --gap', `item ${parent} < Back`);
        const wanted = defaultTarget(list, nameOf) ?? nameOf.get(list[0]) ?? 'm0';
        // Escape leaves a submenu for its parent, and the top menu for the firmware's next boot device.
        out.push(`choose --default ${wanted} --timeout \${${TIMEOUT}} ${CHOICE} || ${parent === null ? 'exit' : `goto ${parent}`}`,
            `goto \${${CHOICE}}`);
        for (const item of list) {
            if (item.type === 'submenu')
                renderMenu(item.items, nameOf.get(item) as string, item.label, label);
            else
                bodies.push(...renderEntry(item, nameOf.get(item) as string, source));
        }
    };
    renderMenu(items, 'm0', menu.title ?? title, null);
    out.push(...bodies);
    // A kernel that cannot be fetched or started: say so, and show the menu again, without its timeout.
    out.push('', ':sharecd_failed', 'echo Could not start this entry.', `set ${TIMEOUT} 0`, 'prompt Press a key to return to the menu. || goto m0', 'goto m0');
    return `${out.join('\n')}\n`;
}

function renderEntry(e: MenuEntry, label: string, source: FileSource): string[] {
    const lines = ['', `:${label}`];
    switch (e.kind) {
    case 'linux': {
        // Each initrd by a name of ours: UEFI kernels load the ones named by initrd= (BIOS ones load them all).
        const initrds = e.initrds.map((path, i) => ({ name: `sharecd-initrd${i}`, url: fileUrl(source, path) }));
        const args = [...initrds.map(i => `initrd=${i.name}`), ...e.args, `\${${BOOTIF}}`];
        // imgfree: nothing left of an entry tried before (BIOS kernels would take every initrd loaded).
        lines.push('imgfree', `kernel ${fileUrl(source, e.kernel as string)} ${args.join(' ')} || goto sharecd_failed`,
            ...initrds.map(i => `initrd --name ${i.name} ${i.url} || goto sharecd_failed`),
            'boot || goto sharecd_failed');
        break;
    }
    case 'memtest':
        lines.push('imgfree', `chain ${fileUrl(source, e.kernel as string)} || goto sharecd_failed`);
        break;
    default:
        // Back to the firmware, which tries its next boot device: the local disk.
        lines.push('exit');
        break;
    }
    return lines;
}

/** The entries of `menu` that iPXE clients will not see, their arguments being unwritable in a script. */
export function ipxeLeftOut(menu: Menu): MenuEntry[] {
    return flatEntries(menu.items).filter(e => e.kind === 'linux' && !ipxeWritable(e));
}
