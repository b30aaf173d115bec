// The effects side of medium discovery: read /proc and open a medium directory.
import GLib from 'gi://GLib';

import { _, format } from '../../shared/i18n.ts';
import { ShareError } from '../../shared/errors.ts';
import { findRunningMedium } from './inspect.ts';
import { DirReader } from './reader.ts';

function readProc(path: string): string {
    try {
        const [ok, bytes] = GLib.file_get_contents(path);
        return ok ? new TextDecoder().decode(bytes) : '';
    } catch {
        return '';
    }
}

/** The running live session's medium folder; throws NoLiveMedium when this is not a live session. */
export function runningMediumPath(procDir = '/proc'): string {
    const found = findRunningMedium(readProc(`${procDir}/cmdline`), readProc(`${procDir}/mounts`));
    if (found === null)
        throw new ShareError('NoLiveMedium', _("No live medium found: this computer was not started from a live CD/USB (no boot=casper or boot=live on its command line). Start it from a live CD/USB, or choose a folder or ISO file with --medium."));
    return found;
}

/** Opens a medium folder; throws NoLiveMedium with a clear sentence when it is not a folder. */
export function openMedium(path: string): DirReader {
    if (!GLib.file_test(path, GLib.FileTest.EXISTS))
        throw new ShareError('NoLiveMedium', format(_("{dir} does not exist. Choose the folder where a live CD/USB or its ISO is mounted."), { dir: path }));
    if (!GLib.file_test(path, GLib.FileTest.IS_DIR))
        throw new ShareError('NoLiveMedium', format(_("{dir} is not a folder. Choose the folder where a live CD/USB or its ISO is mounted."), { dir: path }));
    try {
        return new DirReader(path);
    } catch {
        throw new ShareError('NoLiveMedium', format(_("{dir} cannot be read. Choose the folder where a live CD/USB or its ISO is mounted."), { dir: path }));
    }
}
