// The share plan (pure): (boot plan, network decisions, the machine's boot loaders, options) → ShareSpec:
// the files of the runtime tree, the daemon configurations and command lines, in start order.
// Same inputs, same spec; share.ts carries it out.
import { _ } from '../shared/i18n.ts';
import type { BootPlan } from './bootPlan.ts';
import { PXELINUX_MODULES } from './bootmenu/pxelinux.ts';
import { type Cidr, formatIpv4, networkOf, subnetText } from './network/ipv4.ts';
import type { DhcpRange, Mode } from './network/mode.ts';
import { type DnsmasqSpec, dnsmasqDaemon } from './services/dnsmasq.ts';
import { nginxDaemon } from './services/http.ts';
import { type NfsBackend, type NfsSpec, ganeshaDaemon, kernelExportArgv, kernelUnexportArgv, rpcbindDaemon } from './services/nfs.ts';
import type { DaemonSpec } from './services/supervisor.ts';

/** Boot loaders found on this machine (absolute paths, or null when missing). */
export interface SystemLoaders {
    pxelinux: string | null;
    lpxelinux: string | null;
    /** Directory of the BIOS .c32 modules. */
    syslinuxModules: string | null;
    /** Signed shim (becomes bootx64.efi), its MokManager, the signed GRUB network image. */
    shim: string | null;
    mokManager: string | null;
    grubNet: string | null;
    /** grub-mkimage and its x86_64-efi modules, for the proxy-DHCP GRUB (see README). */
    grubMkimage: string | null;
}

export interface ShareInputs {
    boot: BootPlan;
    interfaceName: string;
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
}

export type TreeItem =
    | { path: string; kind: 'text'; text: string }
    | { path: string; kind: 'copy'; from: string }
    | { path: string; kind: 'symlink'; target: string }
    /** GRUB built at start with grub-mkimage (proxy-DHCP UEFI clients): prefix embedded. */
    | { path: string; kind: 'grub-mkimage'; mkimage: string; prefix: string };

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
    medium: { root: string; label: string; flavour: string };
    bindAlias: string | null;
    /** The kernel export (kernel nfsd) and how to undo it; ganesha exports through its own config. */
    nfs: { backend: NfsBackend; spec: NfsSpec; exportArgv: string[] | null; unexportArgv: string[] | null };
    uefi: { bootFile: string; grub: 'signed-net-image' | 'grub-mkimage' } | null;
    bios: { bootFile: string } | null;
    /** Files of the TFTP/HTTP tree, relative to tftpRoot. */
    tree: TreeItem[];
    /** In start order, each with its own config files; stop in reverse. */
    daemons: DaemonSpec[];
    /** For the client tracker: kernel and initrd paths as fetched from the tree. */
    kernels: string[];
    initrds: string[];
    warnings: string[];
}

/** Modules GRUB needs when we build its image (proxy-DHCP UEFI). */
export const GRUB_MKIMAGE_MODULES = ['normal', 'configfile', 'linux', 'efinet', 'tftp', 'http', 'net', 'echo', 'test',
    'true', 'sleep', 'reboot', 'halt', 'efifwsetup', 'gzio', 'part_gpt', 'part_msdos', 'fat', 'ext2', 'iso9660', 'ls', 'cat', 'search', 'all_video'];

export function planShare(i: ShareInputs): ShareSpec {
    const tftpRoot = `${i.runtimeDir}/tftp`;
    const subnet = subnetText(i.server);
    const warnings = [...i.boot.warnings];
    const tree: TreeItem[] = [];
    const L = i.loaders;

    // BIOS: lpxelinux.0 fetches http:// kernels; pxelinux.0 when the menu uses TFTP only.
    let bios: ShareSpec['bios'] = null;
    const biosLoader = i.http ? L.lpxelinux : L.pxelinux;
    if (biosLoader && L.syslinuxModules) {
        const bootFile = i.http ? 'lpxelinux.0' : 'pxelinux.0';
        tree.push({ path: bootFile, kind: 'copy', from: biosLoader });
        for (const m of PXELINUX_MODULES)
            tree.push({ path: m, kind: 'copy', from: `${L.syslinuxModules}/${m}` });
        tree.push({ path: 'pxelinux.cfg/default', kind: 'text', text: i.boot.files['pxelinux.cfg/default'] });
        bios = { bootFile };
    } else {
        warnings.push(_("BIOS computers cannot network-boot: pxelinux is not installed (packages pxelinux and syslinux-common)."));
    }

    // UEFI: shim (bootx64.efi) → grubx64.efi → grub/grub.cfg. With proxy-DHCP, Debian 12's signed GRUB 2.06
    // asks the router, not us, for grub.cfg; a GRUB image with our address built in works when Secure Boot is off.
    let uefi: ShareSpec['uefi'] = null;
    if (L.shim && L.grubNet) {
        tree.push({ path: 'bootx64.efi', kind: 'copy', from: L.shim });
        if (L.mokManager)
            tree.push({ path: 'mmx64.efi', kind: 'copy', from: L.mokManager });
        if (i.mode === 'proxy' && L.grubMkimage) {
            tree.push({ path: 'grubx64.efi', kind: 'grub-mkimage', mkimage: L.grubMkimage, prefix: `(tftp,${i.server.address})/grub` });
            uefi = { bootFile: 'bootx64.efi', grub: 'grub-mkimage' };
            warnings.push(_("UEFI computers boot through proxy-DHCP only with Secure Boot switched off (see the README)."));
        } else {
            tree.push({ path: 'grubx64.efi', kind: 'copy', from: L.grubNet });
            uefi = { bootFile: 'bootx64.efi', grub: 'signed-net-image' };
            if (i.mode === 'proxy')
                warnings.push(_("UEFI computers probably cannot boot through proxy-DHCP: install grub-efi-amd64-bin (see the README)."));
        }
        tree.push({ path: 'grub/grub.cfg', kind: 'text', text: i.boot.files['grub/grub.cfg'] });
    } else {
        warnings.push(_("UEFI computers cannot network-boot: install shim-signed and grub-efi-amd64-signed."));
    }
    const mediumRoot = i.bindAlias ?? i.boot.medium.root;
    tree.push({ path: 'medium', kind: 'symlink', target: mediumRoot });

    const nfsSpec: NfsSpec = { path: i.boot.nfsRoot, subnet, address: i.server.address, stateDir: `${i.runtimeDir}/ganesha` };
    const daemons: DaemonSpec[] = [];
    if (i.nfsBackend === 'ganesha') {
        if (i.ownRpcbind)
            daemons.push(rpcbindDaemon(i.server.address));
        daemons.push(ganeshaDaemon(nfsSpec, `${i.runtimeDir}/ganesha.conf`, `${i.runtimeDir}/ganesha.pid`));
    }
    if (i.http) {
        daemons.push(nginxDaemon({ address: i.server.address, port: i.http.port, documentRoot: tftpRoot,
            accessLog: `${i.runtimeDir}/http-access.log`, stateDir: `${i.runtimeDir}/nginx`, user: 'nobody', group: 'nogroup' }, `${i.runtimeDir}/nginx.conf`));
    }
    const dnsmasqSpec: DnsmasqSpec = {
        interface: i.interfaceName, serverAddress: i.server.address, network: formatIpv4(networkOf(i.server)),
        mode: i.mode, range: i.range, tftpRoot, leaseFile: `${i.runtimeDir}/dnsmasq.leases`,
        biosBootFile: bios?.bootFile ?? 'pxelinux.0', uefiBootFile: uefi?.bootFile ?? 'bootx64.efi', label: i.boot.medium.label,
    };
    daemons.push(dnsmasqDaemon(dnsmasqSpec, `${i.runtimeDir}/dnsmasq.conf`));

    const inTree = (p: string): string => `medium/${p}`;
    return {
        runtimeDir: i.runtimeDir, tftpRoot, httpAccessLog: i.http ? `${i.runtimeDir}/http-access.log` : null, interfaceName: i.interfaceName, server: i.server, subnet,
        addressAssigned: i.addressAssigned, mode: i.mode, range: i.range, http: i.http,
        medium: { root: i.boot.medium.root, label: i.boot.medium.label, flavour: i.boot.medium.flavour },
        bindAlias: i.bindAlias,
        nfs: { backend: i.nfsBackend, spec: nfsSpec, exportArgv: i.nfsBackend === 'kernel' ? kernelExportArgv(nfsSpec) : null,
            unexportArgv: i.nfsBackend === 'kernel' ? kernelUnexportArgv(nfsSpec) : null },
        uefi, bios, tree, daemons,
        kernels: [...new Set(i.boot.entries.map(e => inTree(e.kernel)))],
        initrds: [...new Set(i.boot.entries.flatMap(e => e.initrd.map(inTree)))],
        warnings,
    };
}
