// grub/grub.cfg renderer (pure): the UEFI clients' menu, read by GRUB's network image. Kernels and initrds come
// over HTTP when the GRUB image can speak it, else over TFTP. The test is a file read over HTTP, not
// `insmod http`: Debian 12's signed GRUB has no http module, and `if insmod http` took the HTTP branch anyway
// (seen with tools/measure-uefi.sh: "error: disk `http,…' not found").
import { oneLine } from '../../shared/text.ts';
import { type Menu, type MenuItem } from './model.ts';
import { type FileSource, GENERATED_NOTE } from './render.ts';

/** Quotes a word for GRUB's shell: plain words stay as they are, others go in single quotes. */
export function grubQuote(word: string): string {
    const clean = oneLine(word);
    if (/^[A-Za-z0-9_\-.,/:=+@%^~]+$/.test(clean))
        return clean;
    return `'${clean.replace(/'/g, `'\\''`)}'`;
}

/** GRUB's `default` for the default entry: index path through submenus ("2>0"), "0" when none. */
function defaultPath(items: MenuItem[]): string {
    const walk = (list: MenuItem[]): number[] | null => {
        for (let i = 0; i < list.length; i++) {
            const item = list[i];
            if (item.type === 'entry' && item.default)
                return [i];
            if (item.type === 'submenu') {
                const inner = walk(item.items);
                if (inner)
                    return [i, ...inner];
            }
        }
        return null;
    };
    return (walk(items) ?? [0]).join('>');
}

export function renderGrub(menu: Menu, source: FileSource, title: string): string {
    const tftp = `(tftp,${source.server})/${source.prefix}`;
    const out: string[] = [
        `# ${GENERATED_NOTE}`,
        `# Network boot menu for UEFI clients (GRUB): ${oneLine(title)}`,
        `set timeout=${menu.timeout === null ? -1 : menu.timeout}`,
        `set default=${grubQuote(defaultPath(menu.items))}`,
    ];
    if (source.http !== null) {
        const port = source.http.port === 80 ? '' : `:${source.http.port}`;
        const http = `(http,${source.server}${port})`;
        out.push(
            `if [ -e ${http}/grub/grub.cfg ]; then`,
            `\tset sharecd=${http}/${source.prefix}`,
            'else',
            `\tset sharecd=${tftp}`,
            'fi');
    } else {
        out.push(`set sharecd=${tftp}`);
    }
    out.push('export sharecd');

    const renderItems = (items: MenuItem[], indent: string): void => {
        for (const item of items) {
            out.push('');
            // Unquoted in grub.cfg: nothing but a letter or digit (the parsers give no other, checked again here).
            const hotkey = item.hotkey && /^[a-z0-9]$/.test(item.hotkey) ? ` --hotkey=${item.hotkey}` : '';
            if (item.type === 'submenu') {
                out.push(`${indent}submenu ${grubQuote(item.label)}${hotkey} {`);
                renderItems(item.items, `${indent}\t`);
                out.push(`${indent}}`);
                continue;
            }
            out.push(`${indent}menuentry ${grubQuote(item.label)}${hotkey} {`);
            const body = `${indent}\t`;
            switch (item.kind) {
            case 'linux':
            case 'memtest':
                out.push(`${body}linux $sharecd/${item.kernel}${item.args.map(a => ` ${grubQuote(a)}`).join('')}`);
                if (item.initrds.length > 0)
                    out.push(`${body}initrd${item.initrds.map(i => ` $sharecd/${i}`).join('')}`);
                break;
            case 'fwsetup':
                out.push(`${body}fwsetup`);
                break;
            case 'localdisk':
            case 'exit':
                // Back to the firmware, which tries its next boot device: the local disk.
                out.push(`${body}exit 1`);
                break;
            case 'other':
                break;
            }
            out.push(`${indent}}`);
        }
    };
    renderItems(menu.items, '');
    return `${out.join('\n')}\n`;
}
