// Benchmark: how long `plan` takes on a medium — inspection, parsing every menu, translating and rendering —
// measured in-process over many runs (median and worst), plus one cold run. Prints the figures.
// Usage: gjs -m build/bench-plan.js [MEDIUM_DIR] [RUNS]
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { planFromReader } from '../src/backend/bootPlan.ts';
import { DirReader } from '../src/backend/medium/reader.ts';

const [dir = 'test/fixtures/media/ubuntu-24.04-desktop', runsText = '200'] = system.programArgs;
const runs = Math.max(1, Number.parseInt(runsText, 10) || 200);
const options = { server: '192.168.1.20', http: true, httpPort: 80 };

const once = (): number => {
    const t0 = GLib.get_monotonic_time();
    const plan = planFromReader(new DirReader(dir), options);
    const t1 = GLib.get_monotonic_time();
    if (plan.entries.length === 0)
        throw new Error('no entries');
    return (t1 - t0) / 1000;
};

const cold = once();
const times: number[] = [];
for (let i = 0; i < runs; i++)
    times.push(once());
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const worst = times[times.length - 1];
print(`plan benchmark on ${dir}: first run ${cold.toFixed(2)} ms; ${runs} runs: median ${median.toFixed(2)} ms, `
    + `p95 ${times[Math.floor(times.length * 0.95)].toFixed(2)} ms, worst ${worst.toFixed(2)} ms (target < 100 ms)`);

// The whole command as a user runs it (gjs start-up included), for context.
const cli = GLib.build_filenamev([GLib.get_current_dir(), 'build', 'share-this-cd.js']);
if (GLib.file_test(cli, GLib.FileTest.EXISTS)) {
    const walls: number[] = [];
    for (let i = 0; i < 20; i++) {
        const t0 = GLib.get_monotonic_time();
        const proc = Gio.Subprocess.new(['gjs', '-m', cli, 'plan', '--medium', dir, '--server', '192.168.1.20', '--json'],
            Gio.SubprocessFlags.STDOUT_SILENCE | Gio.SubprocessFlags.STDERR_SILENCE);
        proc.wait(null);
        if (proc.get_exit_status() !== 0)
            throw new Error('share-this-cd plan failed');
        walls.push((GLib.get_monotonic_time() - t0) / 1000);
    }
    walls.sort((a, b) => a - b);
    print(`whole command (gjs start-up included), 20 runs: median ${walls[10].toFixed(1)} ms, worst ${walls[19].toFixed(1)} ms`);
}
