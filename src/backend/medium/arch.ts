// Which processor a medium's kernels are for (pure over bytes): a client can only start a kernel built for
// it, so the platforms we serve follow from this. Read from the kernel image's own header:
//  - x86 bzImage (boot protocol): "HdrS" at 0x202 (also in x86 EFI-stub kernels, which start with "MZ" too);
//  - arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst);
//  - a PE/COFF image (EFI zboot kernels, EFI loaders): the machine field after "PE\0\0" (0xAA64 arm64, 0x8664
//    x86-64, 0x14C i386);
//  - gzip-compressed (arm64 vmlinuz as Debian and Ubuntu ship it): the header of what it decompresses to.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readUpTo } from '../../shared/fsutil.ts';
import type { KernelArch } from '../platforms.ts';

/** How much of a kernel to read to know its architecture (enough gzip input for the first KiB of output). */
export const KERNEL_HEAD_BYTES = 64 * 1024;

function ascii(bytes: Uint8Array, at: number, text: string): boolean {
    for (let i = 0; i < text.length; i++) {
        if (bytes[at + i] !== text.charCodeAt(i))
            return false;
    }
    return true;
}

function u16(b: Uint8Array, at: number): number {
    return b[at] | b[at + 1] << 8;
}

function u32(b: Uint8Array, at: number): number {
    return (b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24) >>> 0;
}

/** The architecture of a PE/COFF image's machine field, or null. */
export function peArch(b: Uint8Array): KernelArch | null {
    if (b.length < 0x40 || !ascii(b, 0, 'MZ'))
        return null;
    const pe = u32(b, 0x3c);
    if (pe + 6 > b.length || !ascii(b, pe, 'PE\0\0'))
        return null;
    const machine = u16(b, pe + 4);
    return machine === 0xaa64 ? 'arm64' : machine === 0x8664 || machine === 0x14c ? 'x86_64' : null;
}

/** Passes bytes through a GIO converter (a stream: GJS cannot hand convert() a buffer to fill); up to `want` bytes. */
export function convertHead(b: Uint8Array, converter: Gio.Converter, want = 4096): Uint8Array {
    const stream = new Gio.ConverterInputStream({ base_stream: Gio.MemoryInputStream.new_from_bytes(new GLib.Bytes(b)), converter });
    try {
        // (not gzip after all, or the input ends — a kernel's head: what came out so far)
        return readUpTo(stream, want);
    } finally {
        stream.close(null);
    }
}

/** The first bytes a gzip stream decompresses to (the kernel's head is only the start of the stream). */
function gunzipHead(b: Uint8Array): Uint8Array {
    return convertHead(b, new Gio.ZlibDecompressor({ format: Gio.ZlibCompressorFormat.GZIP }));
}

/** The architecture a kernel image's first bytes say it is for; null when they do not say. */
export function kernelArchOf(head: Uint8Array, depth = 0): KernelArch | null {
    if (head.length >= 0x206 && ascii(head, 0x202, 'HdrS'))
        return 'x86_64';
    if (head.length >= 0x3c && ascii(head, 0x38, 'ARM\x64'))
        return 'arm64';
    const pe = peArch(head);
    if (pe !== null)
        return pe;
    if (depth === 0 && head.length > 18 && head[0] === 0x1f && head[1] === 0x8b)
        return kernelArchOf(gunzipHead(head), 1);
    return null;
}
