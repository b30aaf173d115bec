// What this machine has installed for sharing (effects: file tests only).
import GLib from 'gi://GLib';

import type { EfiLoaders, SystemLoaders } from './plan.ts';
import { PLATFORMS, type PlatformId } from './platforms.ts';
import type { NfsBackend } from './services/nfs.ts';
import { EXPORTFS, GANESHA } from './services/nfs.ts';
import { readTextFile } from '../shared/fsutil.ts';

const exists = (p: string): boolean => GLib.file_test(p, GLib.FileTest.EXISTS);
const first = (paths: string[]): string | null => paths.find(exists) ?? null;

export function findLoaders(): SystemLoaders {
    return {
        pxelinux: first(['/usr/lib/PXELINUX/pxelinux.0', '/usr/share/syslinux/pxelinux.0']),
        lpxelinux: first(['/usr/lib/PXELINUX/lpxelinux.0', '/usr/share/syslinux/lpxelinux.0']),
        syslinuxModules: first(['/usr/lib/syslinux/modules/bios', '/usr/share/syslinux']),
        efi: Object.fromEntries(PLATFORMS.flatMap(p => p.efi === null ? [] : [[p.id, {
            shim: first(p.efi.system.shim),
            mokManager: first(p.efi.system.mok),
            grubNet: first(p.efi.system.grubNet),
            grubMkimage: exists(`${p.efi.grubModules}/linux.mod`) ? first(['/usr/bin/grub-mkimage']) : null,
        } satisfies EfiLoaders]])) as Partial<Record<PlatformId, EfiLoaders>>,
    };
}

/** Kernel nfsd when it runs (threads started), else nfs-ganesha when installed, else null. */
export function nfsBackend(): NfsBackend | null {
    const threads = Number.parseInt(readTextFile('/proc/fs/nfsd/threads') ?? '0', 10);
    if (threads > 0 && exists(EXPORTFS))
        return 'kernel';
    return exists(GANESHA) ? 'ganesha' : null;
}
