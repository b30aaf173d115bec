// Netboot translation (pure): rewrites a menu entry of the medium so that it boots over the network —
// the root file system comes from our NFS export instead of the CD.
import type { Flavour } from '../medium/inspect.ts';

export interface NetbootTarget {
    /** IPv4 address of the sharing machine, as clients reach it. */
    server: string;
    /** Absolute path of the NFS export that holds the medium root. */
    nfsRoot: string;
}

/** Arguments that only make sense for a local CD or ISO file, or that we replace. */
const DROPPED = /^(initrd|iso-scan\/filename|findiso|fromiso|netboot|nfsroot|ip|BOOT_IMAGE)=/;

/** Where arguments for the installed system start (casper/d-i pass what follows to the target). */
const SEPARATORS = new Set(['---', '--']);

/**
 * The kernel arguments for booting `args` (the entry's own) over the network. Our arguments go before the
 * first `---`/`--` (what follows belongs to the installed system); the rest keeps its order.
 * casper: `netboot=nfs nfsroot=IP:/root ip=dhcp` (boot=casper kept when present);
 * live-boot: `boot=live netboot=nfs nfsroot=IP:/root ip=dhcp`.
 */
export function netbootArgs(flavour: Flavour, args: string[], target: NetbootTarget): string[] {
    const kept = args.filter(a => !DROPPED.test(a) && !/\$\{?iso_path\}?/.test(a));
    const ours = ['netboot=nfs', `nfsroot=${target.server}:${target.nfsRoot}`, 'ip=dhcp'];
    if (flavour === 'live-boot' && !kept.includes('boot=live'))
        ours.unshift('boot=live');
    const sep = kept.findIndex(a => SEPARATORS.has(a));
    return sep < 0 ? [...kept, ...ours] : [...kept.slice(0, sep), ...ours, ...kept.slice(sep)];
}
