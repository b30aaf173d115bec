// `npm run fuzz`: the fuzzer of test/fuzz/fuzzer.ts for longer than the spec run does (1 000 000 cases from a
// new seed by default). Usage: gjs -m build/fuzz.js [--cases N] [--seed S] [--json]
// Prints the figures (cases, verdicts, slowest case, time) and each failure with the seed that repeats it;
// exits 1 when a case failed.
import GLib from 'gi://GLib';
import system from 'system';

import { runFuzz } from '../fuzz/fuzzer.ts';

const args = system.programArgs;
const value = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i >= 0 && Number.isInteger(Number(args[i + 1])) ? Number(args[i + 1]) : fallback;
};
const cases = value('--cases', 1_000_000);
const seed = value('--seed', Math.floor(Date.now() / 1000) % 1_000_000);
// Run from the checkout (npm run sets the folder): the fixtures are read from test/fixtures/media.
const report = runFuzz(GLib.get_current_dir(), seed, cases, done => printerr(`fuzz: ${done} of ${cases} cases`));
if (args.includes('--json')) {
    print(JSON.stringify(report));
} else {
    print(`fuzz: seed ${report.seed}, ${report.cases} cases in ${report.totalSeconds.toFixed(1)} s `
        + `(menus: ${report.menus.planned} planned, ${report.menus.refused} refused; options: ${report.options.accepted} accepted, `
        + `${report.options.refused} refused); slowest case ${report.slowestMs.toFixed(1)} ms; ${report.failed} failed`);
    for (const f of report.failures)
        print(`FAILED ${f.target} case ${f.index} (seed ${report.seed}): ${f.problem}\n${f.input}\n`);
}
system.exit(report.failed === 0 ? 0 : 1);
