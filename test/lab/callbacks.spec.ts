// gjs before 1.82 refuses callbacks while a garbage collection is between two slices of its sweep, and the
// refused callback is lost (src/shared/timers.ts). A probe (test/tools/gcDropProbe.ts) allocates much on a
// GLib main loop, as a long-running helper or the spec runner can, with chains of timers, sleeps and a line
// reader; run with our guards it must keep going, run without them it shows the bug they answer.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { DROPS_CALLBACKS } from '../../src/shared/timers.ts';
import { CLI } from '../support/helpers.ts';

const PROBE = `${GLib.path_get_dirname(CLI)}/gc-drop-probe.js`;
const SECONDS = 60;
/** The guarded probe may run late by a backup's delay; the unguarded one that has not ended by then hangs. */
const LIMIT_S = { guarded: 100, unguarded: SECONDS + 15 };

interface ProbeReport {
    counts: { ticks: number; lines: number; sleeps: number };
    longestStillSeconds: { ticks: number; lines: number; sleeps: number };
    lastMovedAt: { ticks: number; lines: number; sleeps: number };
}

/** Starts the probe under `timeout` (a probe that hangs is ended at its limit, status 124). */
function startProbe(mode: 'guarded' | 'unguarded'): Gio.Subprocess {
    return Gio.Subprocess.new(['timeout', String(LIMIT_S[mode]), 'gjs', '-m', PROBE, mode, String(SECONDS)],
        Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE);
}

function finish(proc: Gio.Subprocess): { report: ProbeReport | null; refused: number; status: number; stderr: string } {
    const [, stdout, stderr] = proc.communicate_utf8(null, null);
    const json = (stdout ?? '').split('\n').find(l => l.startsWith('{'));
    return {
        report: json ? JSON.parse(json) as ProbeReport : null,
        refused: ((stderr ?? '').match(/Attempting to (run a JS callback|call back into JSAPI) during/g) ?? []).length,
        status: proc.get_exit_status(),
        stderr: (stderr ?? '').split('\n').filter(l => !l.startsWith('==') && !l.startsWith('#') && l.trim() !== '').slice(-6).join('\n'),
    };
}

describe('gjs refusing callbacks during garbage collection', () => {
    let guarded: ReturnType<typeof finish>;
    let unguarded: ReturnType<typeof finish>;

    beforeAll(() => {
        // Both at once: one minute instead of two.
        const g = startProbe('guarded');
        const u = startProbe('unguarded');
        guarded = finish(g);
        unguarded = finish(u);
    }, (LIMIT_S.guarded + 30) * 1000);

    it('happens under much allocation on this gjs (before 1.82), and never after', () => {
        if (DROPS_CALLBACKS)
            expect(guarded.refused + unguarded.refused).withContext(`${guarded.stderr}\n${unguarded.stderr}`).toBeGreaterThan(0);
        else
            expect(guarded.refused + unguarded.refused).toBe(0);
    });

    it('leaves our timers, sleeps and line reader running: all move again once the garbage stops (20 s), to the end', () => {
        expect(guarded.status).withContext(guarded.stderr).toBe(0);
        expect(guarded.report).withContext(guarded.stderr).not.toBeNull();
        const r = guarded.report as ProbeReport;
        expect(r.counts.ticks).toBeGreaterThan(100);
        expect(r.counts.lines).toBeGreaterThan(100);
        expect(r.counts.sleeps).toBeGreaterThan(20);
        for (const [chain, at] of Object.entries(r.lastMovedAt))
            expect(at).withContext(`${chain}: ${JSON.stringify(r)}`).toBeGreaterThan(SECONDS - 5);
    });

    it('without the guards, a refused callback stops a chain, or the whole process, for good', () => {
        const r = unguarded.report;
        // A chain that lost its callback stands still to the end; the others keep within a fraction of a second.
        const stopped = unguarded.status === 124 || (r !== null && Math.max(...Object.values(r.longestStillSeconds)) > 5);
        expect(stopped).withContext(`status ${unguarded.status}, ${unguarded.refused} refused, ${JSON.stringify(r)}`).toBe(unguarded.refused > 0);
    });
});
