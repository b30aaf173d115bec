// Applet benchmark (prints figures; `npm run bench:applet`, root, after tools/setup.sh): the applet in a lab
// desktop (Xvfb, tray, session bus, notification server) against the real helper in a lab network
// (src/lab/appletLab.ts). Measures the applet's resident memory and CPU time when idle (not sharing, 30 s),
// then while sharing with 3 computers that keep fetching their boot files over HTTP (each client fetches the
// kernel once a second, so the helper's Clients property changes every second; 60 s).
import GLib from 'gi://GLib';
import system from 'system';

import { readTextFile } from '../src/shared/fsutil.ts';
import { sleep } from '../src/shared/timers.ts';
import { AppletLab } from '../src/lab/appletLab.ts';
import { interrupted, onInterrupt } from '../src/lab/interrupt.ts';
import { LabNet, sh } from '../src/lab/net.ts';
import { makeSampleMedium } from '../src/lab/sampleMedium.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const BUILD = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const TOP = GLib.path_get_dirname(BUILD);
const TICKS = 100; // USER_HZ on Linux

function rssKiB(pid: number): number {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readTextFile(`/proc/${pid}/status`) ?? '')?.[1] ?? NaN);
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
    const stat = readTextFile(`/proc/${pid}/stat`) ?? '';
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function measure(pid: number, seconds: number): Promise<{ cpu: number; rss: number }> {
    const c0 = cpuSeconds(pid);
    const t0 = GLib.get_monotonic_time();
    let rss = 0;
    while (GLib.get_monotonic_time() - t0 < seconds * 1e6) {
        rss = Math.max(rss, rssKiB(pid));
        await sleep(1000);
    }
    return { cpu: (cpuSeconds(pid) - c0) / ((GLib.get_monotonic_time() - t0) / 1e6) * 100, rss };
}

async function main(): Promise<number> {
    const net = new LabNet('bapp');
    const medium = makeSampleMedium(TOP);
    net.setup({ client: false });
    // Three client namespaces, each on a veth into the server's bridge.
    const clients = [1, 2, 3].map(i => `bappc${i}`);
    clients.forEach((ns, i) => {
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', '-n', net.srv, 'link', 'add', `s-c${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        sh(['ip', '-n', net.srv, 'link', 'set', `s-c${i}`, 'master', 'br0', 'up']);
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', `52:54:00:bb:00:0${i + 1}`]);
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    });
    const lab = new AppletLab({ top: TOP, build: BUILD, netns: net.srv, medium, display: 98, helperEnv: { SHARE_THIS_CD_GONE_AFTER: '20' } });
    const loops: number[] = [];
    const cleanup = async (): Promise<void> => {
        for (const p of loops)
            sh(['kill', '-TERM', String(p)]);
        await lab.stop();
        for (const ns of clients) {
            const pids = sh(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter(p => /^\d+$/.test(p));
            if (pids.length > 0)
                sh(['kill', '-KILL', ...pids]);
            sh(['ip', 'netns', 'del', ns]);
        }
        net.teardown();
        sh(['rm', '-rf', medium]);
    };
    const drop = onInterrupt(cleanup);
    try {
        await lab.start();
        lab.writePrefs({ interface: 'br0' });
        await lab.startApplet();
        const pid = lab.appletPid as number;
        await sleep(3000);
        const idle = await measure(pid, 30);
        let from = lab.views().length;
        await lab.menu('s');
        await lab.waitView(/state=sharing/, from);
        from = lab.views().length;
        for (const ns of clients) {
            sh(['ip', 'netns', 'exec', ns, 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '4', '-T', '2', '-s', `${TOP}/test/tools/udhcpc-script.sh`]);
            const loop = GLib.spawn_async(null, ['ip', 'netns', 'exec', ns, 'sh', '-c',
                `while :; do curl -s -o /dev/null http://${net.serverIp}/medium/casper/vmlinuz; sleep 1; done`], null, GLib.SpawnFlags.SEARCH_PATH | GLib.SpawnFlags.DO_NOT_REAP_CHILD, null);
            if (loop[1] !== null)
                loops.push(loop[1]);
        }
        await lab.waitView(/clients=3 /, from);
        const views0 = lab.views().length;
        const busy = await measure(pid, 60);
        const updates = lab.views().length - views0;
        print(`applet idle (not sharing, 30 s): RSS ${(idle.rss / 1024).toFixed(1)} MiB, CPU ${idle.cpu.toFixed(2)} %`);
        print(`applet while sharing with 3 computers fetching every second (60 s): RSS ${(busy.rss / 1024).toFixed(1)} MiB, CPU ${busy.cpu.toFixed(2)} %, ${updates} view updates`);
        await lab.menu('s');
        return 0;
    } finally {
        // Interrupted: the signal's handler runs the clean-up.
        if (!interrupted()) {
            drop();
            await cleanup();
        }
    }
}

system.exit(runMain(main));
