// Lab helper (not shipped): shows gjs refusing callbacks during garbage collection (src/shared/timers.ts) and
// whether our timers and line reader live through it. It allocates much on a chain of timers, reads a fast
// child's lines with a LineReader and waits in a sleep() loop, on a GLib main loop (as the helper and the
// command line run), for SECONDS; then prints one JSON line: how far each chain came and the longest time one
// stood still, and when each last moved. Usage: gjs -m build/gc-drop-probe.js guarded|unguarded SECONDS
// Unguarded, the chains die at the first refused callback and the process never ends: that is the bug.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { LineReader } from '../../src/backend/services/supervisor.ts';
import { after, sleep } from '../../src/shared/timers.ts';

const [mode, secondsText] = system.programArgs;
const guard = mode === 'guarded';
const seconds = Number(secondsText ?? '30');
const loop = new GLib.MainLoop(null, false);
const counts = { ticks: 0, lines: 0, sleeps: 0 };
const longest = { ticks: 0, lines: 0, sleeps: 0 };
// When each chain last moved (seconds after the start).
const lastMove = { ticks: 0, lines: 0, sleeps: 0 };
const t0 = GLib.get_monotonic_time();
const now = (): number => (GLib.get_monotonic_time() - t0) / 1e6;

function moved(chain: keyof typeof counts): void {
    counts[chain]++;
    const t = now();
    longest[chain] = Math.max(longest[chain], t - lastMove[chain]);
    lastMove[chain] = t;
}

// Garbage, 50 times a second for the first HEAVY_S seconds: 2000 small objects, 500 of them holding a GObject (a
// wrapper that gjs finalizes itself, in the foreground: the sweep then spans slices and callbacks are refused
// within seconds; plain objects alone seldom do it). The last 20 batches are kept. Then the ticks go on without
// garbage: the guarded chains must all come back.
const HEAVY_S = 20;
const BATCH = 2000;
const WITH_GOBJECT = 500;
const KEEP = 20;
let kept: { text: string; n: number[]; o: Gio.Cancellable | null }[][] = [];
const tick = (): void => {
    moved('ticks');
    const batch = [];
    for (let i = 0; i < (now() < HEAVY_S ? BATCH : 0); i++)
        batch.push({ text: `${'x'.repeat(200)}${i}`, n: [i, i + 1], o: i < WITH_GOBJECT ? new Gio.Cancellable() : null });
    kept = [...kept.slice(-KEEP), batch];
    if (now() < seconds)
        after(20, tick, { guard });
};
after(20, tick, { guard });

const child = Gio.Subprocess.new(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.002; done'], Gio.SubprocessFlags.STDOUT_PIPE);
new LineReader(child.get_stdout_pipe() as Gio.InputStream, () => moved('lines'), () => {}, guard);

void (async () => {
    while (now() < seconds) {
        await sleep(100, { guard });
        moved('sleeps');
    }
    child.force_exit();
    for (const chain of Object.keys(counts) as (keyof typeof counts)[])
        longest[chain] = Math.max(longest[chain], now() - lastMove[chain]);
    print(JSON.stringify({ mode, seconds, counts, longestStillSeconds: longest, lastMovedAt: lastMove }));
    loop.quit();
})();
loop.run();
