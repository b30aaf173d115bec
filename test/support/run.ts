// Runs the registered specs, prints failures and the closing line "N passed, N failed", exits 1 on failure.
// SPEC_FILTER=text runs only specs whose full name contains text.
import GLib from 'gi://GLib';
import system from 'system';

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
env.addReporter({
    specStarted(result) {
        if (progressFile)
            GLib.file_set_contents(progressFile, result.fullName);
    },
    // A failing beforeAll/afterAll is reported on its suite: count it, or a broken set-up would pass silently.
    suiteDone(result) {
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
        if (verbose)
            print(`${result.status === 'passed' ? 'ok  ' : result.status.toUpperCase()} ${result.fullName}`);
    },
});

const t0 = GLib.get_monotonic_time();
// On gjs's own loop (a top-level await), not runMain's GLib.MainLoop, although that loop spins at 100 % of a
// core (src/shared/mainLoop.ts): a spec run allocates much, and under gjs before 1.82 a callback can be refused
// during garbage collection (src/shared/timers.ts); the spinning loop meets that less often. jasmine's own
// timers (setTimeout, MessageChannel) are ours (polyfills.ts), with backups, and tools/test.sh bounds the run.
system.exit(await (async () => {
    try {
        const result = await env.execute();
        for (const f of failures)
            print(`\n${f}`);
        print(`\nspecs finished in ${((GLib.get_monotonic_time() - t0) / 1e6).toFixed(2)} s (${result.overallStatus})`);
        // Pending/excluded specs count as failures: a skipped spec is not done.
        print(`${passed} passed, ${failed + skipped} failed`);
        return result.overallStatus === 'passed' && skipped === 0 && failed === 0 ? 0 : 1;
    } catch (e) {
        print(`runner error: ${e}\n${(e as Error).stack}`);
        return 1;
    }
})());
