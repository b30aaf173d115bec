// Boot-storm benchmark (`npm run bench:storm [-- --json --clients N --up-wait S]`, root, after tools/setup.sh): N qemu
// clients (TCG; default 4, BIOS and UEFI in turn) switched on at once boot the real live-build console image
// (src/lab/liveBuild.ts, built once and cached) from one share, each to its `login:` prompt. Prints each client's
// time to `login:` and to the engine's "up", the CPU the share's processes used (engine and daemons, not the
// emulated clients), each daemon's memory (PSS, the most seen) and the bytes NFS sent (src/lab/storm.ts). After the
// last `login:` it waits up to S seconds (default 600) for the engine to call every client up.
import GLib from 'gi://GLib';
import system from 'system';

import { onInterrupt } from '../src/lab/interrupt.ts';
import { ensureLiveBuildImage } from '../src/lab/liveBuild.ts';
import { LabNet } from '../src/lab/net.ts';
import { bootStorm, stormReport } from '../src/lab/storm.ts';
import type { Firmware } from '../src/lab/vm.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const CLI = `${GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0])}/share-this-cd.js`;
const json = ARGV.includes('--json');
const n = ARGV.includes('--clients') ? Number(ARGV[ARGV.indexOf('--clients') + 1]) : 4;
const upWaitS = ARGV.includes('--up-wait') ? Number(ARGV[ARGV.indexOf('--up-wait') + 1]) : 600;
const work = GLib.dir_make_tmp('share-this-cd-bench-storm-XXXXXX');
GLib.spawn_command_line_sync(`chmod 755 ${work}`);
const lab = new LabNet('bstorm');

async function main(): Promise<number> {
    if (!Number.isInteger(n) || n < 1 || n > 16 || !Number.isInteger(upWaitS) || upWaitS < 0 || upWaitS > 3600) {
        printerr('bench-storm: --clients takes a number from 1 to 16, --up-wait a number of seconds up to 3600');
        return 2;
    }
    const say = (line: string): void => {
        if (!json)
            print(line);
    };
    const image = ensureLiveBuildImage('console', line => say(`  live-build: ${line}`));
    say(`live-build console image: ${image.tree} (${image.built ? `built in ${image.seconds.toFixed(0)} s` : 'cached'}); qemu TCG, 1 vCPU, 1.5 GiB each`);
    const firmwares: Firmware[] = Array.from({ length: n }, (_, i) => i % 2 === 0 ? 'bios' : 'uefi');
    lab.setup({ client: false, taps: n });
    const r = await bootStorm({ cli: CLI, lab, args: ['--medium', image.tree, '--menu-timeout', '2'], firmwares, workDir: work,
        timeoutMs: 900000, upWaitS, progress: line => say(`  ${line}`) });
    if (json)
        print(JSON.stringify(r, null, 2));
    else
        stormReport(r).forEach(l => print(l));
    return r.clients.every(c => c.loginS !== null) ? 0 : 1;
}

// Ctrl-C / SIGTERM: the clients, the share (its journal replayed by `share-this-cd stop`) and the lab go.
onInterrupt(() => {
    lab.teardown();
    GLib.spawn_command_line_sync(`gjs -m ${CLI} stop`);
    GLib.spawn_command_line_sync(`rm -rf ${work}`);
});

system.exit(runMain(async () => {
    try {
        return await main();
    } catch (e) {
        printerr(`bench-storm: ${e instanceof Error ? e.message : e}`);
        return 1;
    } finally {
        lab.teardown();
        GLib.spawn_command_line_sync(`rm -rf ${work}`);
    }
}));
