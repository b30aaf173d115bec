// The peer for the boot benchmark: what an expert sets up by hand from the usual tutorials to network-boot the
// same live system — one dnsmasq (full DHCP on an empty LAN, proxy-DHCP beside a router) with its TFTP server,
// pxelinux.0 for BIOS and the distribution's signed shim + GRUB for UEFI, one boot entry and no menu, kernel and
// initrd over TFTP, the medium exported by the same NFS server (nfs-ganesha, the same settings as ours). No
// safety checks of any kind: no probe for other DHCP servers, no jail, no firewall, no client tracking. The
// renderers are pure; PeerSetup runs it in a lab namespace and undoes it.
import GLib from 'gi://GLib';

import { findLoaders } from '../backend/system.ts';
import { ganeshaArgv, renderGanesha, rpcbindArgv } from '../backend/services/nfs.ts';
import { sleep } from '../shared/timers.ts';
import { LabProcess } from './share.ts';
import { sh } from './net.ts';

export interface PeerOptions {
    /** The tree of the live medium (kernel and initrd under it, exported over NFS). */
    medium: string;
    /** Medium paths of the kernel and initrd, and the kernel arguments of its live entry (without ours). */
    kernel: string;
    initrd: string;
    args: string[];
    iface: string;
    server: string;
    /** Full DHCP: the range; null: proxy-DHCP beside the LAN's router. */
    range: { start: string; end: string } | null;
    /** Scratch directory: the TFTP root, configs, state. */
    dir: string;
}

/** The tutorial's dnsmasq.conf. Pure. */
export function renderPeerDnsmasq(o: PeerOptions): string {
    const lines = ['port=0', `interface=${o.iface}`, 'bind-interfaces', 'log-dhcp', 'log-facility=-',
        'dhcp-match=set:efi-x86_64,option:client-arch,7', 'dhcp-match=set:efi-x86_64,option:client-arch,9',
        'enable-tftp', `tftp-root=${o.dir}/tftp`];
    if (o.range !== null) {
        lines.push(`dhcp-range=${o.range.start},${o.range.end},12h`, `dhcp-leasefile=${o.dir}/leases`,
            'dhcp-boot=tag:!efi-x86_64,pxelinux.0', 'dhcp-boot=tag:efi-x86_64,bootx64.efi');
    } else {
        const net = o.server.replace(/\.\d+$/, '.0');
        lines.push(`dhcp-range=${net},proxy`, `dhcp-leasefile=${o.dir}/leases`, 'pxe-prompt="Network boot",0',
            'pxe-service=x86PC,"Network boot",pxelinux', 'pxe-service=BC_EFI,"Network boot",bootx64.efi', 'pxe-service=X86-64_EFI,"Network boot",bootx64.efi');
    }
    return `${lines.join('\n')}\n`;
}

function cmdline(o: PeerOptions): string {
    return [...o.args, 'netboot=nfs', `nfsroot=${o.server}:${o.medium}`, 'ip=dhcp'].join(' ');
}

/** pxelinux.cfg/default: one entry, no menu, no wait. Pure. */
export function renderPeerPxelinux(o: PeerOptions): string {
    return `DEFAULT live\nLABEL live\n  KERNEL ${o.kernel}\n  APPEND initrd=${o.initrd} ${cmdline(o)}\n`;
}

/** grub/grub.cfg: one entry, no menu, no wait. Pure. */
export function renderPeerGrub(o: PeerOptions): string {
    return `set timeout=0\nmenuentry "Live" {\n\tlinux /${o.kernel} ${cmdline(o)}\n\tinitrd /${o.initrd}\n}\n`;
}

const must = (argv: string[]): string => {
    const r = sh(argv);
    if (r.status !== 0)
        throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
};

/** The peer's servers, running in `netns` until stop(). */
export class PeerSetup {
    private readonly procs: LabProcess[] = [];

    constructor(private readonly netns: string, private readonly o: PeerOptions) {}

    async start(): Promise<void> {
        const o = this.o;
        const tftp = `${o.dir}/tftp`;
        const loaders = findLoaders();
        const efi = loaders.efi['uefi-x64'];
        if (!loaders.pxelinux || !loaders.syslinuxModules || !efi?.shim || !efi.grubNet)
            throw new Error('the peer needs pxelinux, syslinux-common, shim-signed and grub-efi-amd64-signed');
        for (const d of ['pxelinux.cfg', 'grub', ...[o.kernel, o.initrd].map(p => GLib.path_get_dirname(p))])
            GLib.mkdir_with_parents(`${tftp}/${d}`, 0o755);
        must(['cp', loaders.pxelinux, `${loaders.syslinuxModules}/ldlinux.c32`, tftp]);
        must(['cp', efi.shim, `${tftp}/bootx64.efi`]);
        // Beside a router, Debian's signed GRUB asks the router for its grub.cfg (see the README): the expert's
        // tutorial then builds a GRUB with the server's address in it, as we do.
        if (o.range === null && efi.grubMkimage) {
            must([efi.grubMkimage, '-O', 'x86_64-efi', '-o', `${tftp}/grubx64.efi`, '-p', `(tftp,${o.server})/grub`,
                'normal', 'configfile', 'linux', 'efinet', 'tftp', 'net', 'echo', 'test', 'gzio']);
        } else {
            must(['cp', efi.grubNet, `${tftp}/grubx64.efi`]);
        }
        for (const p of [o.kernel, o.initrd])
            must(['cp', `${o.medium}/${p}`, `${tftp}/${p}`]);
        GLib.file_set_contents(`${tftp}/pxelinux.cfg/default`, renderPeerPxelinux(o));
        GLib.file_set_contents(`${tftp}/grub/grub.cfg`, renderPeerGrub(o));
        must(['chmod', '-R', 'a+rX', o.dir]);
        GLib.file_set_contents(`${o.dir}/dnsmasq.conf`, renderPeerDnsmasq(o));
        const nfs = { path: o.medium, subnet: `${o.server.replace(/\.\d+$/, '.0')}/24`, address: o.server, stateDir: `${o.dir}/ganesha` };
        GLib.mkdir_with_parents(nfs.stateDir, 0o755);
        GLib.file_set_contents(`${o.dir}/ganesha.conf`, renderGanesha(nfs));
        const inNs = (argv: string[]): LabProcess => {
            const p = new LabProcess(['ip', 'netns', 'exec', this.netns, ...argv]);
            this.procs.push(p);
            return p;
        };
        inNs(rpcbindArgv());
        await this.waitPort(111);
        inNs(ganeshaArgv(`${o.dir}/ganesha.conf`, `${o.dir}/ganesha.pid`));
        await this.waitPort(2049);
        await this.waitPort(20048);
        const dnsmasq = inNs(['dnsmasq', '--keep-in-foreground', `--conf-file=${o.dir}/dnsmasq.conf`]);
        await dnsmasq.waitFor(/DHCP, (IP range|proxy on subnet)/, 10000);
    }

    private async waitPort(port: number): Promise<void> {
        for (let i = 0; i < 150; i++) {
            if (sh(['ip', 'netns', 'exec', this.netns, 'ss', '-Hltn', `sport = :${port}`]).stdout.trim() !== '')
                return;
            await sleep(100);
        }
        throw new Error(`the peer's port ${port} never opened: ${this.procs.map(p => p.output).join('\n')}`);
    }

    /** Stops its servers (newest first) and removes its files. */
    async stop(): Promise<void> {
        for (const p of [...this.procs].reverse()) {
            p.signal(15);
            await p.ended(10000).catch(() => p.signal(9));
        }
        this.procs.length = 0;
        sh(['rm', '-rf', this.o.dir]);
    }
}
