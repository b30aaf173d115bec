// Helper benchmark (prints figures; `npm run bench:helper`, root, after tools/setup.sh): the privileged helper
// on a private system bus with the real polkitd (src/lab/bus.ts), activated by the bus inside a lab network
// namespace. Measures: activation (first call → reply, a fresh gjs process), the helper's resident memory when
// idle, while sharing and after Stop, and Start → State=sharing through D-Bus (each Start also listens 3 s for
// other DHCP servers, the engine's probe window) and Stop → stopped. BENCH_RUNS=N (default 5) Start/Stop pairs.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { readTextFile } from '../src/shared/fsutil.ts';
import { interrupted, onInterrupt } from '../src/lab/interrupt.ts';
import { BusLab } from '../src/lab/bus.ts';
import { LabNet, sh } from '../src/lab/net.ts';
import { makeSampleMedium } from '../src/lab/sampleMedium.ts';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../src/shared/dbus.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const BUILD = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);
const TOP = GLib.path_get_dirname(BUILD);
const RUNS = Math.max(1, Number(GLib.getenv('BENCH_RUNS') ?? '5') || 5);
const lab = new LabNet('bhelp');

function ms(t0: number): number {
    return (GLib.get_monotonic_time() - t0) / 1000;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)];
}

function rssKiB(pid: number): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readTextFile(`/proc/${pid}/status`) ?? '');
    return m ? Number(m[1]) : NaN;
}

function call(conn: Gio.DBusConnection, method: string, params: GLib.Variant | null, iface = INTERFACE_NAME): GLib.Variant {
    return conn.call_sync(BUS_NAME, OBJECT_PATH, iface, method, params, null, Gio.DBusCallFlags.NONE, 60000, null);
}

function state(conn: Gio.DBusConnection): string {
    return (call(conn, 'Get', new GLib.Variant('(ss)', [INTERFACE_NAME, 'State']), 'org.freedesktop.DBus.Properties').recursiveUnpack() as [string])[0];
}

async function main(): Promise<number> {
    const medium = makeSampleMedium(TOP, { kernel: 14 << 20, initrd: 70 << 20, squashfs: 1 << 20 });
    lab.setup({ client: true });
    const bus = new BusLab({ top: TOP, helperJs: `${BUILD}/share-this-cd-helper.js`, netns: lab.srv, idleTimeout: 600 });
    const cleanup = async (): Promise<void> => {
        await bus.stop();
        lab.teardown();
        sh(['rm', '-rf', medium]);
    };
    const drop = onInterrupt(cleanup);
    try {
        bus.startBus();
        await bus.startPolkit('live');
        const conn = bus.connection();
        let t0 = GLib.get_monotonic_time();
        state(conn);
        const activation = ms(t0);
        const pid = bus.helperPid() as number;
        GLib.usleep(1000000);
        const idle = rssKiB(pid);
        const starts: number[] = [];
        const stops: number[] = [];
        let sharingRss = 0;
        const options = new GLib.Variant('(a{sv})', [{ medium: new GLib.Variant('s', medium), interface: new GLib.Variant('s', 'br0') }]);
        for (let i = 0; i < RUNS; i++) {
            t0 = GLib.get_monotonic_time();
            call(conn, 'Start', options);
            starts.push(ms(t0));
            if (state(conn) !== 'sharing')
                throw new Error('Start returned but State is not sharing');
            sharingRss = Math.max(sharingRss, rssKiB(pid));
            t0 = GLib.get_monotonic_time();
            call(conn, 'Stop', null);
            stops.push(ms(t0));
        }
        GLib.usleep(1000000);
        const after = rssKiB(pid);
        if (bus.helperPid() !== pid)
            throw new Error('the helper was replaced during the benchmark');
        print(`helper activation (first call → reply, new gjs process): ${activation.toFixed(0)} ms`);
        print(`helper RSS: idle ${(idle / 1024).toFixed(1)} MiB, sharing ${(sharingRss / 1024).toFixed(1)} MiB, after ${RUNS} Start/Stop ${(after / 1024).toFixed(1)} MiB`);
        print(`Start → sharing through D-Bus (incl. the 3 s DHCP probe window), median of ${RUNS}: ${median(starts).toFixed(0)} ms (min ${Math.min(...starts).toFixed(0)}, max ${Math.max(...starts).toFixed(0)})`);
        print(`Start → sharing without the probe window: ${(median(starts) - 3000).toFixed(0)} ms`);
        print(`Stop → stopped, median of ${RUNS}: ${median(stops).toFixed(0)} ms`);
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
