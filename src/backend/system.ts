// What this machine has installed for sharing (effects: file tests only).
import GLib from 'gi://GLib';

import type { SystemLoaders } from './plan.ts';
import type { NfsBackend } from './services/nfs.ts';
import { EXPORTFS, GANESHA } from './services/nfs.ts';
import { readTextFile } from './fsutil.ts';

const exists = (p: string): boolean => GLib.file_test(p, GLib.FileTest.EXISTS);
const first = (paths: string[]): string | null => paths.find(exists) ?? null;

export function findLoaders(): SystemLoaders {
    return {
        pxelinux: first(['/usr/lib/PXELINUX/pxelinux.0', '/usr/share/syslinux/pxelinux.0']),
        lpxelinux: first(['/usr/lib/PXELINUX/lpxelinux.0', '/usr/share/syslinux/lpxelinux.0']),
        syslinuxModules: first(['/usr/lib/syslinux/modules/bios', '/usr/share/syslinux']),
        // Ubuntu ships shimx64.efi.signed.latest (newest SBAT) next to shimx64.efi.signed.
        shim: first(['/usr/lib/shim/shimx64.efi.signed.latest', '/usr/lib/shim/shimx64.efi.signed']),
        mokManager: first(['/usr/lib/shim/mmx64.efi.signed', '/usr/lib/shim/mmx64.efi']),
        grubNet: first(['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed']),
        grubMkimage: exists('/usr/lib/grub/x86_64-efi/linux.mod') ? first(['/usr/bin/grub-mkimage']) : null,
    };
}

/** Kernel nfsd when it runs (threads started), else nfs-ganesha when installed, else null. */
export function nfsBackend(): NfsBackend | null {
    const threads = Number.parseInt(readTextFile('/proc/fs/nfsd/threads') ?? '0', 10);
    if (threads > 0 && exists(EXPORTFS))
        return 'kernel';
    return exists(GANESHA) ? 'ganesha' : null;
}
