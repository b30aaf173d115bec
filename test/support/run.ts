// Runs the registered specs, prints failures and the closing line "N passed, N failed", exits 1 on failure.
// SPEC_FILTER=text runs only specs whose full name contains text.
import GLib from 'gi://GLib';
import system from 'system';

import { runMain } from '../../src/shared/mainLoop.ts';
import { DROPS_CALLBACKS, timersRecovered } from '../../src/shared/timers.ts';

const env = jasmine.getEnv();
const filter = GLib.getenv('SPEC_FILTER');
// Several texts: separated by "|".
env.configure({ random: false, specFilter: filter ? (spec => filter.split('|').some(f => spec.getFullName().includes(f))) : undefined });

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
const verbose = GLib.getenv('SPEC_VERBOSE') === '1';
// Where the name of the running spec is kept (tools/test.sh names it when the run is ended for taking too long).
const progressFile = GLib.getenv('SPEC_PROGRESS_FILE');
// Where the time goes (CI's budget is an hour): each top-level suite's seconds, and the slow specs, at the end.
const suiteTimes: { name: string; seconds: number }[] = [];
const slowSpecs: { name: string; seconds: number }[] = [];
/** The suites started and not yet done, with when they started (a suite whose specs are all filtered out may be reported done only). */
const openSuites = new Map<string, number>();
env.addReporter({
    suiteStarted(result) {
        openSuites.set(result.id, GLib.get_monotonic_time());
    },
    specStarted(result) {
        if (progressFile)
            GLib.file_set_contents(progressFile, result.fullName);
    },
    // A failing beforeAll/afterAll is reported on its suite: count it, or a broken set-up would pass silently.
    suiteDone(result) {
        const started = openSuites.get(result.id);
        openSuites.delete(result.id);
        if (started !== undefined && openSuites.size === 0) {
            const seconds = (GLib.get_monotonic_time() - started) / 1e6;
            suiteTimes.push({ name: result.description, seconds });
            // As it ends too: a run cut by tools/test.sh's bound still shows where its time went.
            if (seconds >= 30)
                print(`(${seconds.toFixed(0)} s: ${result.description})`);
        }
        if (result.failedExpectations.length > 0) {
            failed++;
            failures.push(`FAILED (suite set-up or tear-down): ${result.fullName}\n${result.failedExpectations.map(f => `    ${f.message}`).join('\n')}`);
        }
    },
    specDone(result) {
        if (result.status === 'passed')
            passed++;
        else if (result.status === 'failed')
            failed++;
        else if (!(filter && result.status === 'excluded'))
            skipped++;
        if (result.status === 'failed') {
            const messages = result.failedExpectations.map(f => `    ${f.message}\n${(f.stack ?? '').split('\n').slice(0, 4).map(l => `      ${l}`).join('\n')}`);
            failures.push(`FAILED: ${result.fullName}\n${messages.join('\n')}`);
        }
        if (typeof result.duration === 'number' && result.duration >= 60_000)
            slowSpecs.push({ name: result.fullName, seconds: result.duration / 1000 });
        if (verbose)
            print(`${result.status === 'passed' ? 'ok  ' : result.status.toUpperCase()} ${result.fullName}`);
    },
});

const t0 = GLib.get_monotonic_time();
// On a GLib main loop that sleeps (runMain), not a top-level await: gjs 1.74 spins at 100 % of a core while a
// top-level await is pending (src/shared/mainLoop.ts), and on a 2-core machine that core is taken from the qemu
// clients and daemons the lab runs (CI's hour). The runner once went back to the spinning loop because, under
// gjs before 1.82, a timer refused during garbage collection was lost for good and hung a run; jasmine's timers
// are src/shared/timers.ts's now (polyfills.ts), with backups that fire once the collection is over, and the
// run is bounded (tools/test.sh). The closing report says how many timers their backups saved.
system.exit(runMain(async () => {
    try {
        const result = await env.execute();
        for (const f of failures)
            print(`\n${f}`);
        const rows = (list: { name: string; seconds: number }[]) => list.filter(t => t.seconds >= 1).sort((a, b) => b.seconds - a.seconds)
            .map(t => `  ${t.seconds.toFixed(0).padStart(5)} s  ${t.name.length > 110 ? `${t.name.slice(0, 107)}...` : t.name}`).join('\n');
        if (suiteTimes.length > 1)
            print(`\ntime per suite:\n${rows(suiteTimes)}`);
        if (slowSpecs.length > 0)
            print(`specs over a minute:\n${rows(slowSpecs)}`);
        if (DROPS_CALLBACKS)
            print(`timers fired by their backups (callbacks gjs refused during garbage collection): ${timersRecovered()}`);
        print(`\nspecs finished in ${((GLib.get_monotonic_time() - t0) / 1e6).toFixed(2)} s (${result.overallStatus})`);
        // Pending/excluded specs count as failures: a skipped spec is not done.
        print(`${passed} passed, ${failed + skipped} failed`);
        return result.overallStatus === 'passed' && skipped === 0 && failed === 0 ? 0 : 1;
    } catch (e) {
        print(`runner error: ${e}\n${(e as Error).stack}`);
        return 1;
    }
}));
