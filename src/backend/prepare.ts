// The first steps of a start, up to the plan: the medium (an ISO is mounted), the network (interface, a
// direct cable's address, other DHCP servers, the mode) and the ShareSpec. The decisions are the pure
// functions of medium/, network/ and plan.ts; the effects made here (mount, address) are journal entries.
import GLib from 'gi://GLib';

import { ShareError } from '../shared/errors.ts';
import { _, format } from '../shared/i18n.ts';
import { DEFAULT_HTTP_PORT, type ShareOptions } from '../shared/options.ts';
import { isPlainPath } from '../shared/paths.ts';
import { planBoot } from './bootPlan.ts';
import { mkdirs, mountRootAt, readTextFile, traversableByOthers } from '../shared/fsutil.ts';
import { type Medium, inspectMedium } from './medium/inspect.ts';
import { isoProblem } from './medium/iso.ts';
import { bindPinned, mountPinnedIso, mountWay } from './medium/mounts.ts';
import { type PinKind, type PinProblem, type Pinned, PinDenied, ownUid, pinPath } from './medium/pin.ts';
import type { MediumReader } from './medium/reader.ts';
import { openMedium, runningMediumPath } from './medium/running.ts';
import { addAddress, isLeased, listInterfaces, neighbours, takenNetworks } from './network/host.ts';
import { chooseInterface } from './network/interfaces.ts';
import type { Cidr } from './network/ipv4.ts';
import { chooseDirectSubnet, chooseRange, decideMode } from './network/mode.ts';
import { probeDhcp } from './network/probe.ts';
import { type NfsPack, type ShareSpec, planShare } from './plan.ts';
import type { Journal } from './runtime/journal.ts';
import { RADVD } from './services/radvd.ts';
import { tcpConnects } from './services/supervisor.ts';
import { findLoaders, nfsBackend } from './system.ts';

type Progress = (text: string) => void;

/**
 * The medium to share: the running live medium, or what the user named, opened once as that user (`pin`, made
 * by the helper for its caller; else opened here, by this process's own user): a folder bound read-only on
 * RUNTIME/medium, or an ISO file mounted read-only on RUNTIME/iso. Everything after reads those mounts, never
 * the named path again. `shown` is what the user named (or the running medium's folder).
 */
export async function openShareMedium(options: ShareOptions, dir: string, journal: Journal, progress: Progress, pin: Pinned | null = null): Promise<{ medium: Medium; reader: MediumReader; shown: string }> {
    const named = options.iso ?? options.medium;
    if (named === null) {
        const path = runningMediumPath();
        const reader = openMedium(path);
        return { medium: inspectMedium(reader), reader, shown: path };
    }
    const kind = options.iso !== null ? 'file' : 'dir';
    const own = pin === null ? pinnedOrThrow(await pinPath(ownUid(), named, kind), named, kind) : null;
    const opened = pin ?? (own as Pinned);
    try {
        if (opened.path !== named || opened.kind !== kind)
            throw new Error(`the opened ${opened.kind} ${opened.path} is not the ${kind} ${named} to share`);
        let path: string;
        if (options.iso === null) {
            path = `${dir}/medium`;
            mkdirs(path);
            journal.make({ kind: 'mount', path }, () => bindPinned(mountWay(), opened, path));
        } else {
            const problem = isoProblem(opened.handle, named);
            if (problem)
                throw new ShareError('NoLiveMedium', problem);
            path = `${dir}/iso`;
            mkdirs(path);
            progress(format(_("Mounting {iso}…"), { iso: named }));
            mountPinnedIso(mountWay(), opened, `${dir}/iso.file`, path, journal);
        }
        const reader = openMedium(path);
        return { medium: inspectMedium(reader), reader, shown: options.iso === null ? named : path };
    } finally {
        own?.release();
    }
}

/** The error for a path that could not be opened as its user; the opened path when it was. */
export function pinnedOrThrow(result: Pinned | PinProblem, path: string, kind: PinKind): Pinned {
    if (typeof result !== 'string')
        return result;
    switch (result) {
    case 'missing':
        throw new ShareError('NoLiveMedium', kind === 'file' ? format(_("The ISO file {path} does not exist."), { path })
            : format(_("{path} does not exist (or is a link to nothing): share a folder or ISO file that your user can read."), { path }));
    case 'not-dir':
        throw new ShareError('NoLiveMedium', format(_("{dir} is not a folder. Choose the folder where a live CD/USB or its ISO is mounted."), { dir: path }));
    case 'not-file':
        throw new ShareError('NoLiveMedium', format(_("{path} is not a file: choose an ISO image file (.iso)."), { path }));
    case 'timeout':
        throw new ShareError('NoLiveMedium', format(_("{path} could not be opened in 10 seconds (a pipe, or a network folder that does not answer): share a folder or ISO file on this computer."), { path }));
    case 'denied':
        throw new PinDenied(format(_("You cannot open {path} yourself: share a folder or ISO file that your user can read."), { path }));
    }
}

export interface NetworkChoice {
    interfaceName: string;
    server: Cidr;
    /** We put `server` on the interface (a direct cable). */
    assigned: boolean;
    mode: 'proxy' | 'dhcp';
    range: ReturnType<typeof chooseRange> | null;
    notes: string[];
    /** How long the DHCP probe listened. */
    probeMs: number;
    /** The interface's hardware address. */
    mac: string;
    /** Other network-boot (proxy-DHCP) servers the probe heard (already told: network/rivals.ts watches for new ones). */
    pxeServers: string[];
}

/** Interface, address, the other DHCP servers on the LAN, and from them the mode. */
export async function chooseNetwork(options: ShareOptions, probeWindowMs: number, journal: Journal, progress: Progress,
    beforeProbe: (iface: string, server: Cidr) => void = () => {}): Promise<NetworkChoice> {
    const iface = chooseInterface(listInterfaces(), options.interface);
    if (iface.mac === null)
        throw new ShareError('NoUsableInterface', format(_("“{name}” has no hardware address: it cannot serve network boot."), { name: iface.name }));
    let server = iface.ipv4[0];
    const assigned = iface.ipv4.length === 0;
    if (assigned) {
        server = chooseDirectSubnet(takenNetworks());
        journal.make({ kind: 'address', interface: iface.name, address: server }, () => addAddress(iface.name, server));
        progress(format(_("{name} has no address: using {address}/{prefix} for a direct cable."), { name: iface.name, address: server.address, prefix: server.prefix }));
    }
    beforeProbe(iface.name, server);
    progress(format(_("Looking for other DHCP servers on {name} (up to {s} s)…"), { name: iface.name, s: Math.ceil(probeWindowMs / 1000) }));
    const probeStart = GLib.get_monotonic_time();
    const probe = await probeDhcp({ address: server.address, mac: iface.mac }, probeWindowMs);
    const probeMs = Math.round((GLib.get_monotonic_time() - probeStart) / 1000);
    const decision = decideMode(options.mode, probe, assigned, !assigned && isLeased(iface, server.address) ? server.address : null);
    const range = decision.mode === 'dhcp'
        ? chooseRange(server, [...neighbours(iface.name).map(([ip]) => ip), ...probe.servers.map(s => s.offered).filter(a => a !== '0.0.0.0'), ...iface.ipv4.map(c => c.address)])
        : null;
    return { interfaceName: iface.name, server, assigned, mode: decision.mode, range, notes: decision.notes, probeMs, mac: iface.mac, pxeServers: probe.pxeServers };
}

/** Free ports the HTTP fast path falls back to, in order, when the default port 80 is taken. */
const HTTP_FALLBACK_PORTS = [8080, 8008, 8081, 8880];

/**
 * The HTTP fast path's port. Port 80 is often taken on a live session: a web server installed with ours starts
 * its own service (nginx-light's nginx.service answers on every address). The default port then falls back to
 * the first free one of HTTP_FALLBACK_PORTS (the boot menus carry the port); a port the user chose is kept,
 * and the port check says what holds it.
 */
async function httpPortFor(options: ShareOptions, address: string, progress: Progress): Promise<number> {
    if (!options.http || options.httpPort !== DEFAULT_HTTP_PORT || !(await tcpConnects(address, DEFAULT_HTTP_PORT, 200)))
        return options.httpPort;
    for (const port of HTTP_FALLBACK_PORTS) {
        if (!(await tcpConnects(address, port, 200))) {
            progress(format(_("Port 80 is used by another web server on this computer: the HTTP fast path uses port {port}."), { port }));
            return port;
        }
    }
    return options.httpPort;
}

/** The plan for this machine: its NFS server, its boot loaders, and whether the medium needs a read-only alias. */
export async function makeSpec(options: ShareOptions, medium: Medium, reader: MediumReader, shown: string, net: NetworkChoice, dir: string,
    ipxeScripts: boolean, allowed: string[] | null, progress: Progress): Promise<ShareSpec> {
    const backend = nfsBackend();
    if (backend === null)
        throw new ShareError('DaemonFailed', _("No NFS server is installed: install nfs-kernel-server (or nfs-ganesha and nfs-ganesha-vfs)."));
    // Serve through a read-only bind mount under the runtime dir when the medium's own path cannot be written
    // on a kernel command line (spaces…) or is not reachable for the daemons (udisks mounts under /media/USER,
    // which only USER may enter).
    const bindAlias = medium.root.startsWith(`${dir}/`) || (isPlainPath(medium.root.slice(1)) && traversableByOthers(medium.root)) ? null : `${dir}/medium`;
    // nfs-ganesha decodes any handle of the exported file system (no subtree check): a medium that is only a
    // folder of one is served from a packed copy (apply.ts packForNfs). The kernel's nfsd checks the subtree.
    const nfsPack: NfsPack | null = backend === 'ganesha' && mountRootAt(readTextFile('/proc/self/mountinfo') ?? '', medium.root) !== '/'
        ? { from: medium.root, image: 'medium.squashfs', at: `${dir}/nfs` } : null;
    const httpPort = await httpPortFor(options, net.server.address, progress);
    const boot = planBoot(medium, reader, { server: net.server.address, http: options.http, httpPort, nfsRoot: nfsPack?.at ?? bindAlias ?? undefined,
        menuTimeout: options.menuTimeout, defaultEntry: options.defaultEntry });
    const ownRpcbind = backend === 'ganesha' && !(await tcpConnects(net.server.address, 111, 200));
    return planShare({ boot, interfaceName: net.interfaceName, serverMac: net.mac, server: net.server, addressAssigned: net.assigned, mode: net.mode, range: net.range,
        http: options.http ? { port: httpPort } : null, nfsBackend: backend, ownRpcbind, runtimeDir: dir, loaders: findLoaders(), bindAlias, mediumShown: shown, nfsPack, ipxeScripts,
        radvd: GLib.file_test(RADVD, GLib.FileTest.IS_EXECUTABLE), allowed });
}
