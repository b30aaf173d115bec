// The boot plan (pure): (medium, its menus, server address, options) → the netboot menus and the files a
// netboot client needs. Same inputs, same plan. `share-this-cd plan` prints it; the sharing engine writes it.
import { _, format } from '../shared/i18n.ts';
import { ShareError } from '../shared/errors.ts';
import { DEFAULT_MENU_TIMEOUT, isPort } from '../shared/options.ts';
import { isPlainPath } from '../shared/paths.ts';
import { hasControlChars } from '../shared/text.ts';
import { parseGrub } from './bootmenu/grubParser.ts';
import { renderGrub } from './bootmenu/grubRenderer.ts';
import { ipxeLeftOut, renderIpxe } from './bootmenu/ipxeRenderer.ts';
import { type Menu, type MenuEntry, type MenuItem, flatEntries, newEntry } from './bootmenu/model.ts';
import { netbootArgs } from './bootmenu/netboot.ts';
import { renderPxelinux } from './bootmenu/pxelinuxRenderer.ts';
import type { FileSource } from './bootmenu/render.ts';
import { parseSyslinux } from './bootmenu/syslinuxParser.ts';
import { type Flavour, type Medium, inspectMedium } from './medium/inspect.ts';
import { type MediumReader, findIgnoringCase } from './medium/reader.ts';
import { type KernelArch, platformsFor } from './platforms.ts';

export interface BootPlanOptions {
    /** IPv4 address clients reach the server at. */
    server: string;
    /** Serve kernels/initrds over HTTP as well (the fast path); false = TFTP only. */
    http: boolean;
    httpPort: number;
    /** NFS path that holds the medium root; default: the medium root itself. */
    nfsRoot?: string;
    /** Seconds the netboot menus wait before the default entry (0: until a key is pressed); null: menuTimeout(). */
    menuTimeout?: number | null;
    /** The entry that boots by default, by its label (or syslinux name); null: the medium's own default. */
    defaultEntry?: string | null;
}

/**
 * How long a netboot menu waits before its default entry boots: what the user asked (0: wait for a key), else
 * the medium's own timeout where it has one (0: at once), else DEFAULT_MENU_TIMEOUT — a network boot that waits
 * for a key nobody presses never starts. Null: wait for a key.
 */
export function menuTimeout(own: number | null, asked: number | null): number | null {
    if (asked !== null)
        return asked === 0 ? null : asked;
    return own ?? DEFAULT_MENU_TIMEOUT;
}

/** The bootable entries' labels (what --default-entry takes), each once, in menu order. */
export function entryLabels(items: MenuItem[]): string[] {
    return [...new Set(flatEntries(items).filter(e => e.kind === 'linux').map(e => e.label))];
}

/**
 * Makes the bootable entry called `wanted` (its label, or its syslinux name; case and spaces aside) the default
 * of `items`; false when the menu has none such (then nothing changes).
 */
export function chooseDefault(items: MenuItem[], wanted: string): boolean {
    const key = (text: string): string => text.trim().replace(/\s+/g, ' ').toLowerCase();
    const all = flatEntries(items);
    const chosen = all.find(e => e.kind === 'linux' && (key(e.label) === key(wanted) || (e.name !== null && key(e.name) === key(wanted))));
    if (chosen === undefined)
        return false;
    all.forEach(e => { e.default = e === chosen; });
    return true;
}

/** Where the iPXE script for BIOS or UEFI clients is in the TFTP/HTTP tree (absent: iPXE clients get the PXE path). */
export function ipxeScriptPath(firmware: 'bios' | 'uefi'): string {
    return `ipxe/${firmware}.ipxe`;
}

/** Where the medium is reachable inside the TFTP/HTTP tree. */
export const MEDIUM_PREFIX = 'medium';
/** Export path used when the medium's own path cannot be written on a kernel command line (spaces…). */
export const NFS_ALIAS = '/run/share-this-cd/medium';

export interface PlanEntry {
    label: string;
    kernel: string;
    initrd: string[];
    cmdline: string;
    default: boolean;
}

export interface BootPlan {
    medium: { root: string; flavour: Flavour; label: string; arch: KernelArch; efi: Medium['efi'] };
    entries: PlanEntry[];
    files: Record<string, string>;
    /** The export path clients mount (nfsroot=). */
    nfsRoot: string;
    /** BIOS and UEFI menus as rendered (for the engine and tests). */
    menus: { bios: Menu; uefi: Menu };
    warnings: string[];
}

/** Checks an IPv4 address in dotted-quad form usable as a server address; throws InvalidOption. */
export function checkServerAddress(value: string): string {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
    const octets = m ? m.slice(1).map(Number) : [];
    if (!m || octets.some(o => o > 255) || octets[0] === 0 || octets[0] === 127 || octets[0] >= 224) {
        throw new ShareError('InvalidOption', format(_("“{value}” is not a usable IPv4 address for the server (expected four numbers like 192.168.1.20)."),
            { value: hasControlChars(value) ? JSON.stringify(value) : value }));
    }
    return octets.join('.');
}

/** Reads the medium and makes its plan. Throws ShareError when the medium cannot be shared. */
export function planFromReader(reader: MediumReader, options: BootPlanOptions): BootPlan {
    return planBoot(inspectMedium(reader), reader, options);
}

export function planBoot(medium: Medium, reader: MediumReader, options: BootPlanOptions): BootPlan {
    const server = checkServerAddress(options.server);
    if (!isPort(options.httpPort))
        throw new ShareError('InvalidOption', format(_("“{value}” is not a valid HTTP port (1–65535)."), { value: String(options.httpPort) }));
    const nfsRoot = options.nfsRoot ?? (isPlainPath(medium.root.slice(1)) ? medium.root : NFS_ALIAS);
    if (!nfsRoot.startsWith('/') || !isPlainPath(nfsRoot.slice(1)))
        throw new ShareError('InvalidOption', format(_("“{value}” cannot be used as the NFS export path: use letters, digits and . _ - / only."), { value: JSON.stringify(nfsRoot) }));

    const warnings: string[] = [];
    const source: FileSource = { server, prefix: MEDIUM_PREFIX, http: options.http ? { port: options.httpPort } : null };

    // The CD's own menus. BIOS clients get the isolinux menu (or, on media without isolinux such as Ubuntu
    // 20.10+, GRUB's BIOS branch); UEFI clients get GRUB's EFI branch (or the isolinux menu).
    // Only the platforms that can start the medium's kernels get a menu (an ARM64 medium has no BIOS menu).
    const platforms = platformsFor(medium.arch);
    const hasBios = platforms.some(p => p.firmware === 'bios');
    const efiCpu = platforms.find(p => p.firmware === 'efi')?.grubCpu;
    const syslinux = medium.menus.syslinux && hasBios ? parseSyslinux(reader, medium.menus.syslinux) : null;
    const grubEfi = medium.menus.grub ? parseGrub(reader, medium.menus.grub, 'efi', efiCpu) : null;
    const grubPc = medium.menus.grub && !syslinux && hasBios ? parseGrub(reader, medium.menus.grub, 'pc') : null;
    for (const m of [syslinux, grubEfi, grubPc])
        m?.warnings.forEach(w => warnings.includes(w) || warnings.push(w));

    const target = { server, nfsRoot };
    const fix = (menu: Menu | null, platform: 'bios' | 'uefi', fromGrubEfi: boolean): Menu | null => {
        if (menu === null)
            return null;
        const items = netbootItems(menu.items, medium, reader, platform, fromGrubEfi, target, warnings);
        return flatEntries(items).some(e => e.kind === 'linux') ? { ...menu, items } : null;
    };
    const fallback = (): Menu => ({ title: null, timeout: 10, items: synthesize(medium, reader, target), warnings: [] });
    const uefiOnly = (): Menu => fix(grubEfi, 'uefi', true) ?? fix(syslinux, 'uefi', false) ?? fallback();
    const bios = hasBios ? fix(syslinux, 'bios', false) ?? fix(grubPc, 'bios', false) ?? fix(grubEfi, 'bios', false) ?? fallback() : uefiOnly();
    const uefi = hasBios ? uefiOnly() : bios;
    if (flatEntries((hasBios ? bios : uefi).items).every(e => e.kind !== 'linux'))
        throw new ShareError('NoLiveMedium', format(_("The live system in {dir} has no kernel and initrd that can be booted over the network. Choose another medium."), { dir: medium.root }));
    ensureDefault(bios.items);
    ensureDefault(uefi.items);
    const wanted = options.defaultEntry ?? null;
    if (wanted !== null) {
        const found = [...new Set([bios, uefi])].map(m => chooseDefault(m.items, wanted));
        if (!found.includes(true))
            throw new ShareError('InvalidOption', format(_("The medium has no boot entry “{label}”; its entries: {labels}."),
                { label: wanted, labels: [...new Set([...entryLabels(bios.items), ...entryLabels(uefi.items)])].map(l => `“${l}”`).join(', ') }));
    }
    bios.timeout = menuTimeout(bios.timeout, options.menuTimeout ?? null);
    if (uefi !== bios)
        uefi.timeout = menuTimeout(uefi.timeout, options.menuTimeout ?? null);

    const title = medium.label;
    const files: Record<string, string> = hasBios ? { 'pxelinux.cfg/default': renderPxelinux(bios, source, title) } : {};
    files['grub/grub.cfg'] = renderGrub(uefi, source, title);
    // iPXE clients (services/dnsmasq.ts): the same menus as a script; an entry it cannot write is left out there.
    for (const [firmware, menu] of [...hasBios ? [['bios', bios] as const] : [], ['uefi', uefi] as const]) {
        for (const e of ipxeLeftOut(menu)) {
            const text = format(_("Left out “{label}” for iPXE clients: one of its kernel arguments cannot be written in an iPXE script."), { label: e.label });
            if (!warnings.includes(text))
                warnings.push(text);
        }
        const script = renderIpxe(menu, source, title);
        if (script !== null)
            files[ipxeScriptPath(firmware)] = script;
    }

    // The entries clients can boot: BIOS menu first, then UEFI entries it did not already have.
    const entries: PlanEntry[] = [];
    const seen = new Set<string>();
    let defaultTaken = false;
    for (const e of [...hasBios ? flatEntries(bios.items) : [], ...flatEntries(uefi.items)]) {
        if (e.kind !== 'linux' || e.kernel === null)
            continue;
        const cmdline = e.args.join(' ');
        const key = JSON.stringify([e.kernel, e.initrds, cmdline]);
        if (seen.has(key))
            continue;
        seen.add(key);
        const isDefault: boolean = e.default && !defaultTaken;
        defaultTaken ||= isDefault;
        entries.push({ label: e.label, kernel: e.kernel, initrd: e.initrds, cmdline, default: isDefault });
    }
    return {
        medium: { root: medium.root, flavour: medium.flavour, label: medium.label, arch: medium.arch, efi: medium.efi },
        entries, files, nfsRoot, menus: { bios, uefi }, warnings,
    };
}

/** A medium path as it really is on the medium (case may differ on ISO 9660), or null when missing. */
function existing(reader: MediumReader, path: string): string | null {
    if (reader.typeOf(path) === 'file')
        return path;
    const found = findIgnoringCase(reader, path);
    return found !== null && reader.typeOf(found) === 'file' ? found : null;
}

/** Keeps what can boot over the network on `platform`, rewriting kernel arguments for the network. */
function netbootItems(items: MenuItem[], medium: Medium, reader: MediumReader, platform: 'bios' | 'uefi',
    fromGrubEfi: boolean, target: { server: string; nfsRoot: string }, warnings: string[]): MenuItem[] {
    const out: MenuItem[] = [];
    const warn = (text: string): void => {
        if (!warnings.includes(text))
            warnings.push(text);
    };
    for (const item of items) {
        if (item.type === 'submenu') {
            const inner = netbootItems(item.items, medium, reader, platform, fromGrubEfi, target, warnings);
            if (inner.length > 0)
                out.push({ ...item, items: inner });
            continue;
        }
        const e = item;
        switch (e.kind) {
        case 'other':
            continue;
        case 'exit':
        case 'fwsetup':
            if (platform === 'uefi')
                out.push({ ...e });
            continue;
        case 'localdisk':
            out.push({ ...e });
            continue;
        case 'memtest': {
            // A BIOS memtest loads under pxelinux; under UEFI only what the medium's own GRUB loads there.
            const kernel = e.kernel === null ? null : existing(reader, e.kernel);
            const efiImage = /\.efi$/i.test(e.kernel ?? '');
            if (kernel !== null && isPlainPath(kernel) && (platform === 'bios' ? !efiImage : fromGrubEfi))
                out.push({ ...e, kernel, initrds: [], args: [] });
            continue;
        }
        case 'linux':
            break;
        }
        if (e.kernel === null)
            continue;
        if (/^(install(\.[a-z0-9]+)?|d-i)\//i.test(e.kernel)) {
            warn(format(_("Left out “{label}”: the Debian installer on this medium needs the CD itself and cannot start over the network."), { label: e.label }));
            continue;
        }
        const kernel = existing(reader, e.kernel);
        const initrds = e.initrds.map(i => existing(reader, i));
        const missing = kernel === null ? e.kernel : e.initrds.find((_i, n) => initrds[n] === null);
        if (missing !== undefined) {
            warn(format(_("Left out “{label}”: {file} is not on the medium."), { label: e.label, file: `/${missing}` }));
            continue;
        }
        const paths = [kernel as string, ...(initrds as string[])];
        const odd = paths.find(p => !isPlainPath(p));
        if (odd !== undefined) {
            warn(format(_("Left out “{label}”: the file name {file} cannot be served safely."), { label: e.label, file: JSON.stringify(odd) }));
            continue;
        }
        const args = netbootArgs(medium.flavour, e.args, target);
        if (args.some(a => hasControlChars(a) || a.length > 1024)) {
            warn(format(_("Left out “{label}”: it has a kernel argument that cannot be written safely."), { label: e.label }));
            continue;
        }
        out.push({ ...e, kernel: kernel as string, initrds: initrds as string[], args });
    }
    return out;
}

/** Exactly one default entry: the marked one if it survived, else the first bootable one. */
function ensureDefault(items: MenuItem[]): void {
    const all = flatEntries(items);
    const marked = all.filter(e => e.default);
    const keep = marked[0] ?? all.find(e => e.kind === 'linux') ?? all[0];
    all.forEach(e => { e.default = e === keep; });
}

/** A menu for media whose own menus give nothing bootable: one entry per kernel that has a matching initrd. */
function synthesize(medium: Medium, reader: MediumReader, target: { server: string; nfsRoot: string }): MenuItem[] {
    const items: MenuEntry[] = [];
    for (const kernel of medium.kernels) {
        const suffix = kernel.slice(kernel.lastIndexOf('/') + 1).replace(/^(hwe-)?(vmlinuz|vmlinux|bzimage|linux)/i, '');
        const hwe = /\/hwe-/i.test(kernel);
        const initrd = medium.initrds.find(i => {
            const name = i.slice(i.lastIndexOf('/') + 1);
            return /\/hwe-/i.test(i) === hwe && name.replace(/^(hwe-)?(initrd|initramfs)(\.img)?/i, '').replace(/^\.(gz|lz|xz|zst)$/, '') === suffix.replace(/\.efi$/i, '');
        });
        if (!initrd || !isPlainPath(kernel) || !isPlainPath(initrd) || reader.typeOf(kernel) !== 'file')
            continue;
        const base = medium.flavour === 'casper' ? ['boot=casper'] : ['boot=live', 'components'];
        const label = format(hwe ? _("Start {name} (HWE kernel)") : _("Start {name}"), { name: medium.label });
        items.push(newEntry({ label, kernel, initrds: [initrd], args: netbootArgs(medium.flavour, [...base, 'quiet', 'splash'], target) }));
    }
    if (items.length > 0)
        items[0].default = true;
    return items;
}
