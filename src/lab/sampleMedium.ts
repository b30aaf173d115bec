// A sample live medium for the lab (tests, benchmarks, screenshots): the Ubuntu 24.04 desktop layout from
// test/fixtures/media with random kernel, initrd and squashfs of the given sizes (bytes), readable by all.
import GLib from 'gi://GLib';

import { sh } from './net.ts';

export interface MediumSizes {
    kernel: number;
    initrd: number;
    squashfs: number;
}

export const SMALL_MEDIUM: MediumSizes = { kernel: 3_000_000, initrd: 6_000_000, squashfs: 4_000_000 };

/** Makes the medium in a new temporary folder (the caller removes it) and returns its path. */
export function makeSampleMedium(top: string, sizes: MediumSizes = SMALL_MEDIUM): string {
    const dir = GLib.dir_make_tmp('share-this-cd-medium-XXXXXX');
    sh(['cp', '-r', `${top}/test/fixtures/media/ubuntu-24.04-desktop/.`, `${dir}/`]);
    const fill = (path: string, bytes: number): void => {
        sh(['sh', '-c', `head -c ${bytes} /dev/urandom > '${dir}/${path}'`]);
    };
    fill('casper/vmlinuz', sizes.kernel);
    fill('casper/initrd', sizes.initrd);
    fill('casper/minimal.standard.live.squashfs', sizes.squashfs);
    sh(['chmod', '-R', 'a+rX', dir]);
    return dir;
}
