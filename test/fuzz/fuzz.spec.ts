// The fuzzer (test/fuzz/fuzzer.ts) in every test run: 100 000 cases from a fixed seed, so a failure here is
// repeated by `gjs -m build/fuzz.js --seed 1 --cases 100000`. `npm run fuzz` runs longer from new seeds.
import { TOP } from '../support/helpers.ts';
import { CASE_LIMIT_MS, Random, checkGrub, checkPxelinux, mutate, runFuzz } from './fuzzer.ts';

const SEED = 1;
const CASES = 100_000;

describe('fuzzing the menus parsers and the D-Bus options', () => {
    it('knows well-formed output from broken output (its checks can fail)', () => {
        expect(checkGrub("menuentry 'Try' {\n\tlinux $sharecd/casper/vmlinuz 'a b'\n}\n")).toBeNull();
        expect(checkGrub("menuentry 'Try {\n}\n")).toMatch(/quote does not close/);
        expect(checkGrub('menuentry x {\n\tlinux $sharecd/v; reboot\n}\n')).toMatch(/shell operator/);
        expect(checkGrub('menuentry x {\n\tlinux $root/v\n}\n')).toMatch(/variable other than/);
        expect(checkGrub('menuentry x {\n')).toMatch(/left open/);
        expect(checkPxelinux('LABEL a\n  KERNEL http://x/medium/v\n  APPEND quiet\n')).toBeNull();
        expect(checkPxelinux('LABEL a\n  APPEND quiet\nMENU HIDDEN\n')).toMatch(/not a directive/);
        expect(checkPxelinux('LABEL a\n  KERNEL a b\n')).toMatch(/one word/);
        const r = new Random(7);
        expect(mutate(r, 'linux /casper/vmlinuz', ['x'])).not.toBe('linux /casper/vmlinuz');
    });

    it(`never crashes, never takes over ${CASE_LIMIT_MS} ms, always renders well-formed menus (${CASES} cases, seed ${SEED})`, () => {
        const report = runFuzz(TOP, SEED, CASES);
        console.log(`fuzz: seed ${report.seed}, ${report.cases} cases in ${report.totalSeconds.toFixed(1)} s (menus: ${report.menus.planned} planned, `
            + `${report.menus.refused} refused; options: ${report.options.accepted} accepted, ${report.options.refused} refused); slowest case ${report.slowestMs.toFixed(1)} ms`);
        expect(report.failures).toEqual([]);
        expect(report.failed).toBe(0);
        // The mutations reach the renderers, and the refusals happen: neither side is empty.
        expect(report.menus.planned).toBeGreaterThan(CASES / 4);
        expect(report.menus.refused).toBeGreaterThan(0);
        expect(report.options.accepted).toBeGreaterThan(0);
        expect(report.options.refused).toBeGreaterThan(0);
    });
});
