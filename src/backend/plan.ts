// The share plan (pure): (boot plan, network decisions, the machine's boot loaders, options) → ShareSpec:
// the files of the runtime tree, the daemon configurations and command lines, in start order.
// Same inputs, same spec; share.ts carries it out.
import { _, format } from '../shared/i18n.ts';
import { type BootPlan, ipxeScriptPath } from './bootPlan.ts';
import { PXELINUX_MODULES } from './bootmenu/pxelinuxRenderer.ts';
import { type Cidr, formatIpv4, networkOf, subnetText } from './network/ipv4.ts';
import type { DhcpRange, Mode } from './network/mode.ts';
import { KNOWN_ARCH_CODES, type Platform, type PlatformId, platform, platformsFor } from './platforms.ts';
import { type DnsmasqSpec, dhcpDaemon, tftpDaemon } from './services/dnsmasq.ts';
import { nginxDaemon } from './services/http.ts';
import { radvdDaemon } from './services/radvd.ts';
import { type NfsBackend, type NfsSpec, ganeshaDaemon, kernelExportArgv, kernelUnexportArgv, rpcbindDaemon } from './services/nfs.ts';
import type { Jail } from './services/jail.ts';
import type { DaemonSpec } from './services/supervisor.ts';

/** Boot loaders found on this machine (absolute paths, or null when missing). */
export interface SystemLoaders {
    pxelinux: string | null;
    lpxelinux: string | null;
    /** Directory of the BIOS .c32 modules. */
    syslinuxModules: string | null;
    /** Per UEFI platform: this machine's own loaders for it. */
    efi: Partial<Record<PlatformId, EfiLoaders>>;
}

export interface EfiLoaders {
    /** Signed shim (becomes e.g. bootx64.efi), its MokManager, the signed GRUB network image. */
    shim: string | null;
    mokManager: string | null;
    grubNet: string | null;
    /** grub-mkimage, when the platform's GRUB modules are installed, for the proxy-DHCP GRUB (see README). */
    grubMkimage: string | null;
}

/** A platform we serve, and how. */
export interface ServedPlatform {
    id: PlatformId;
    label: string;
    /** The file its firmware is told to load. */
    bootFile: string;
    /** UEFI: where its GRUB comes from. */
    grub: 'signed-net-image' | 'grub-mkimage' | 'medium' | null;
    /** The iPXE script its iPXE clients run instead (path in the tree), or null: they boot like other PXE ROMs. */
    ipxeScript: string | null;
}

export interface ShareInputs {
    boot: BootPlan;
    interfaceName: string;
    /** The interface's hardware address (our own probes carry it: the client watch leaves it out). */
    serverMac: string | null;
    server: Cidr;
    /** We put the address on the interface (direct cable) and take it off at stop. */
    addressAssigned: boolean;
    mode: Mode;
    range: DhcpRange | null;
    http: { port: number } | null;
    nfsBackend: NfsBackend;
    /** Start our own rpcbind (none runs yet) for ganesha's NFSv3. */
    ownRpcbind: boolean;
    runtimeDir: string;
    loaders: SystemLoaders;
    /** Where the medium root is mounted read-only when its own path cannot be exported (else null). */
    bindAlias: string | null;
    /** The medium as the user knows it (the folder named; else the root). */
    mediumShown?: string;
    /** nfs-ganesha and a medium that is not a whole file system: it is packed for NFS (NfsPack), else null. */
    nfsPack?: NfsPack | null;
    /** iPXE clients get the boot plan's iPXE scripts (default); false: they load lpxelinux/shim like other PXE ROMs. */
    ipxeScripts?: boolean;
    /** radvd is installed: in full DHCP it ends clients' wait for an IPv6 router (services/radvd.ts). */
    radvd?: boolean;
    /** Only these computers (MACs) may start from the share; null or absent: any computer. */
    allowed?: string[] | null;
}

/**
 * A medium folder that is not the root of its file system, packed into a squashfs image that is mounted and
 * exported instead (nfs-ganesha has no subtree check: a forged handle reaches any file of the exported file
 * system; an image holds the medium and nothing else).
 */
export interface NfsPack {
    /** The folder packed (the medium's mount). */
    from: string;
    /** The image file (outside the runtime directory: it is as large as the medium). */
    image: string;
    /** Where the image is mounted: the NFS export. */
    at: string;
}

export type TreeItem =
    | { path: string; kind: 'text'; text: string }
    | { path: string; kind: 'copy'; from: string }
    /** An empty folder: where the daemons' jails bind the medium (services/jail.ts). */
    | { path: string; kind: 'dir' }
    /** GRUB built at start with grub-mkimage (proxy-DHCP UEFI clients) for `target`: prefix embedded. */
    | { path: string; kind: 'grub-mkimage'; mkimage: string; target: string; prefix: string };

export interface ShareSpec {
    runtimeDir: string;
    tftpRoot: string;
    /** The HTTP server's access log (null without HTTP). */
    httpAccessLog: string | null;
    interfaceName: string;
    server: Cidr;
    subnet: string;
    addressAssigned: boolean;
    mode: Mode;
    range: DhcpRange | null;
    http: { port: number } | null;
    /**
     * `shown`: the folder the user named (root is where it is mounted), else the root. `entries`: the labels of
     * its bootable entries in menu order (what --default-entry takes); `defaultEntry`: the one the menus start.
     */
    medium: { root: string; label: string; flavour: string; shown: string; entries: string[]; defaultEntry: string | null };
    bindAlias: string | null;
    nfsPack: NfsPack | null;
    /** The kernel export (kernel nfsd) and how to undo it; ganesha exports through its own config. */
    nfs: { backend: NfsBackend; spec: NfsSpec; exportArgv: string[] | null; unexportArgv: string[] | null };
    /** The client platforms served (those that can start the medium's kernels, with their loaders found). */
    platforms: ServedPlatform[];
    /** Files of the TFTP/HTTP tree, relative to tftpRoot. */
    tree: TreeItem[];
    /** In start order, each with its own config files; stop in reverse. */
    daemons: DaemonSpec[];
    /** For the client tracker: kernel and initrd paths as fetched from the tree. */
    kernels: string[];
    initrds: string[];
    warnings: string[];
    /** What it was planned from (a change of mode plans again). */
    inputs: ShareInputs;
}

/** Modules GRUB needs when we build its image (proxy-DHCP UEFI). */
export const GRUB_MKIMAGE_MODULES = ['normal', 'configfile', 'linux', 'efinet', 'tftp', 'http', 'net', 'echo', 'test',
    'true', 'sleep', 'reboot', 'halt', 'efifwsetup', 'gzio', 'part_gpt', 'part_msdos', 'fat', 'ext2', 'iso9660', 'ls', 'cat', 'search', 'all_video'];

export function planShare(i: ShareInputs): ShareSpec {
    const tftpRoot = `${i.runtimeDir}/tftp`;
    const subnet = subnetText(i.server);
    const warnings = [...i.boot.warnings];
    const tree: TreeItem[] = [];

    const platforms: ServedPlatform[] = [];
    for (const p of platformsFor(i.boot.medium.arch)) {
        const served = p.efi === null ? planBios(i, p, tree, warnings) : planEfi(i, p, tree, warnings);
        if (served === null)
            continue;
        // iPXE clients of the platform: the menu as an iPXE script, kernels over HTTP without a second loader.
        const script = ipxeScriptPath(p.firmware === 'bios' ? 'bios' : 'uefi');
        if (i.ipxeScripts !== false && i.boot.files[script] !== undefined) {
            if (!tree.some(t => t.path === script))
                tree.push({ path: script, kind: 'text', text: i.boot.files[script] });
            served.ipxeScript = script;
        }
        platforms.push(served);
    }
    if (platforms.some(p => p.grub !== null))
        tree.push({ path: 'grub/grub.cfg', kind: 'text', text: i.boot.files['grub/grub.cfg'] });
    const mediumRoot = i.bindAlias ?? i.boot.medium.root;
    // The medium appears in the tree only inside the jail of the daemons that serve the tree (services/jail.ts).
    tree.push({ path: 'medium', kind: 'dir' });
    const jail: Jail = { dir: `${i.runtimeDir}/jail`, binds: [{ from: tftpRoot, at: tftpRoot }, { from: mediumRoot, at: `${tftpRoot}/medium` }] };

    const nfsSpec: NfsSpec = { path: i.boot.nfsRoot, subnet, address: i.server.address, stateDir: `${i.runtimeDir}/ganesha` };
    const daemons: DaemonSpec[] = [];
    if (i.nfsBackend === 'ganesha') {
        if (i.ownRpcbind)
            daemons.push(rpcbindDaemon(i.server.address));
        daemons.push(ganeshaDaemon(nfsSpec, `${i.runtimeDir}/ganesha.conf`, `${i.runtimeDir}/ganesha.pid`));
    }
    if (i.http) {
        daemons.push(jailed(nginxDaemon({ address: i.server.address, port: i.http.port, documentRoot: tftpRoot,
            accessLog: `${i.runtimeDir}/http-access.log`, stateDir: `${i.runtimeDir}/nginx`, user: 'nobody', group: 'nogroup' }, `${i.runtimeDir}/nginx.conf`), jail));
    }
    const dnsmasqSpec: DnsmasqSpec = {
        interface: i.interfaceName, serverAddress: i.server.address, network: formatIpv4(networkOf(i.server)),
        mode: i.mode, range: i.range, tftpRoot, leaseFile: `${i.runtimeDir}/dnsmasq.leases`, httpPort: i.http?.port ?? null,
        platforms: platforms.map(p => ({ ...dhcpOf(platform(p.id)), bootFile: p.bootFile, ipxeScript: p.ipxeScript })), label: i.boot.medium.label,
        ownMac: i.serverMac, allowed: i.allowed ?? null,
        ignoreArchCodes: KNOWN_ARCH_CODES.filter(code => !platforms.some(p => platform(p.id).archCodes.includes(code))),
    };
    daemons.push(jailed(tftpDaemon(dnsmasqSpec, `${i.runtimeDir}/tftp.conf`), jail));
    // Full DHCP only: we are the segment's only network service, so we end the clients' wait for an IPv6 router.
    if (i.mode === 'dhcp' && i.radvd === true)
        daemons.push(radvdDaemon({ interface: i.interfaceName, pidFile: `${i.runtimeDir}/radvd.pid`, user: 'nobody' }, `${i.runtimeDir}/radvd.conf`));
    // Last: computers are told to boot from us only once everything they will ask for answers.
    daemons.push(dhcpDaemon(dnsmasqSpec, `${i.runtimeDir}/dhcp.conf`));

    const inTree = (p: string): string => `medium/${p}`;
    return {
        runtimeDir: i.runtimeDir, tftpRoot, httpAccessLog: i.http ? `${i.runtimeDir}/http-access.log` : null, interfaceName: i.interfaceName, server: i.server, subnet,
        addressAssigned: i.addressAssigned, mode: i.mode, range: i.range, http: i.http,
        medium: { root: i.boot.medium.root, label: i.boot.medium.label, flavour: i.boot.medium.flavour, shown: i.mediumShown ?? i.boot.medium.root,
            entries: [...new Set(i.boot.entries.map(e => e.label))], defaultEntry: i.boot.entries.find(e => e.default)?.label ?? null },
        bindAlias: i.bindAlias,
        nfsPack: i.nfsPack ?? null,
        nfs: { backend: i.nfsBackend, spec: nfsSpec, exportArgv: i.nfsBackend === 'kernel' ? kernelExportArgv(nfsSpec) : null,
            unexportArgv: i.nfsBackend === 'kernel' ? kernelUnexportArgv(nfsSpec) : null },
        platforms, tree, daemons,
        kernels: [...new Set(i.boot.entries.map(e => inTree(e.kernel)))],
        initrds: [...new Set(i.boot.entries.flatMap(e => e.initrd.map(inTree)))],
        warnings, inputs: i,
    };
}

/**
 * The same share in proxy-DHCP mode, for when another DHCP server appears on a LAN we hand out addresses on:
 * what differs is the DHCP server's configuration and, for UEFI, the GRUB image (services are not restarted
 * but the DHCP server; share.ts).
 */
export function proxyPlan(spec: ShareSpec): ShareSpec {
    return planShare({ ...spec.inputs, mode: 'proxy', range: null });
}

/** The same share answering other computers: only `allowed` (null: any). Only the DHCP server's configuration differs. */
export function accessPlan(spec: ShareSpec, allowed: string[] | null): ShareSpec {
    return planShare({ ...spec.inputs, allowed });
}

/** Items of `next` that are not in `current` as they are (added or changed), for writing while serving. */
export function changedItems(current: TreeItem[], next: TreeItem[]): TreeItem[] {
    const had = new Set(current.map(item => JSON.stringify(item)));
    return next.filter(item => !had.has(JSON.stringify(item)));
}

/** The daemon started in the file servers' namespace, confined to `jail` once they are all ready (share.ts). */
function jailed(d: DaemonSpec, jail: Jail): DaemonSpec {
    return { ...d, jail };
}

function dhcpOf(p: Platform): { tag: string; archCodes: number[]; pxeServices: string[]; label: string } {
    return { tag: p.tag, archCodes: p.archCodes, pxeServices: p.pxeServices, label: p.label };
}

/** BIOS: lpxelinux.0 fetches http:// kernels; pxelinux.0 when the menu uses TFTP only. */
function planBios(i: ShareInputs, p: Platform, tree: TreeItem[], warnings: string[]): ServedPlatform | null {
    const L = i.loaders;
    const loader = i.http ? L.lpxelinux : L.pxelinux;
    if (!loader || !L.syslinuxModules) {
        warnings.push(_("BIOS computers cannot network-boot: pxelinux is not installed (packages pxelinux and syslinux-common)."));
        return null;
    }
    const bootFile = i.http ? 'lpxelinux.0' : 'pxelinux.0';
    tree.push({ path: bootFile, kind: 'copy', from: loader });
    for (const m of PXELINUX_MODULES)
        tree.push({ path: m, kind: 'copy', from: `${L.syslinuxModules}/${m}` });
    tree.push({ path: 'pxelinux.cfg/default', kind: 'text', text: i.boot.files['pxelinux.cfg/default'] });
    return { id: p.id, label: p.label, bootFile, grub: null, ipxeScript: null };
}

/**
 * UEFI: shim (e.g. bootx64.efi) → GRUB (grubx64.efi) → grub/grub.cfg, with this machine's signed loaders for
 * the platform, else the medium's own. With proxy-DHCP, Debian 12's signed GRUB 2.06 asks the router, not us,
 * for grub.cfg; a GRUB image with our address built in works when Secure Boot is off.
 */
function planEfi(i: ShareInputs, p: Platform, tree: TreeItem[], warnings: string[]): ServedPlatform | null {
    const efi = p.efi as NonNullable<Platform['efi']>;
    const own = i.loaders.efi[p.id];
    const fromMedium = i.boot.medium.efi[p.id];
    const onMedium = (path: string | null): string | null => path === null ? null : `${i.boot.medium.root}/${path}`;
    let grub: ServedPlatform['grub'];
    if (own?.shim && own.grubNet) {
        tree.push({ path: efi.bootFile, kind: 'copy', from: own.shim });
        if (own.mokManager)
            tree.push({ path: efi.mokFile, kind: 'copy', from: own.mokManager });
        if (i.mode === 'proxy' && own.grubMkimage) {
            tree.push({ path: efi.grubFile, kind: 'grub-mkimage', mkimage: own.grubMkimage, target: efi.grubTarget, prefix: `(tftp,${i.server.address})/grub` });
            grub = 'grub-mkimage';
            warnings.push(format(_("{platform} computers boot through proxy-DHCP only with Secure Boot switched off (see the README)."), { platform: p.label }));
        } else {
            tree.push({ path: efi.grubFile, kind: 'copy', from: own.grubNet });
            grub = 'signed-net-image';
            if (i.mode === 'proxy')
                warnings.push(format(_("{platform} computers probably cannot boot through proxy-DHCP: install {package} (see the README)."), { platform: p.label, package: efi.grubBinPackage }));
        }
    } else if (fromMedium?.grub) {
        // The medium's own signed shim and GRUB: its GRUB finds grub/grub.cfg on the TFTP server it came from.
        tree.push({ path: efi.bootFile, kind: 'copy', from: onMedium(fromMedium.bootLoader) as string });
        if (fromMedium.mokManager)
            tree.push({ path: efi.mokFile, kind: 'copy', from: onMedium(fromMedium.mokManager) as string });
        tree.push({ path: efi.grubFile, kind: 'copy', from: onMedium(fromMedium.grub) as string });
        grub = 'medium';
    } else {
        warnings.push(format(_("{platform} computers cannot network-boot: install {packages}."), { platform: p.label, packages: efi.signedPackages }));
        return null;
    }
    return { id: p.id, label: p.label, bootFile: efi.bootFile, grub, ipxeScript: null };
}
