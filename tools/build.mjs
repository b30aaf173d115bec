// Bundles the TypeScript sources into ES modules for gjs (Debian 12's gjs 1.74):
//   share-this-cd.js  the command line      tests.js  every spec (unit + lab) + runner      unit-tests.js  unit specs
//   real-tests.js  the graphical real-image spec (npm run test:real)
//   bench-plan.js, bench-boot.js, bench-storm.js…  benchmarks      lab-image.js  builds a lab live image
//   pxe-probe.js, hold-port.js, journal-owner.js, fuzz.js  test tools
// Usage: node tools/build.mjs [--outdir DIR] [--localedir DIR]   (meson passes both for installs)
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = name => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
};
const outdir = resolve(arg('--outdir') ?? join(root, 'build'));
const localedir = arg('--localedir') ?? join(outdir, 'locale');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
mkdirSync(outdir, { recursive: true });

const common = {
    bundle: true, format: 'esm', platform: 'neutral', target: 'firefox102',
    mainFields: ['module', 'main'],
    external: ['gi://*', 'resource://*', 'system', 'gettext', 'cairo', 'console'],
    define: { __LOCALEDIR__: JSON.stringify(localedir), __VERSION__: JSON.stringify(version) },
    // The D-Bus interface XML is bundled as text: one file, read by the helper and its clients.
    loader: { '.xml': 'text' },
    absWorkingDir: root, logLevel: 'warning', legalComments: 'none',
};

// Specs: test/unit/*.spec.ts, bundled after the jasmine boot and before the runner (order = import order).
// Unit specs first, then the lab specs (network namespaces, real daemons; need root).
const specsOf = dirs => dirs.flatMap(dir => readdirSync(join(root, 'test', dir)).filter(f => f.endsWith('.spec.ts')).sort().map(f => `${dir}/${f}`));
const testEntry = specs => [
    `import './test/support/polyfills.ts';`,
    `import './test/support/boot.ts';`,
    ...specs.map(s => `import './test/${s}';`),
    `import './test/support/run.ts';`,
].join('\n');
// Then the system test of the installed package (systemd in a container; npm run test:system runs it alone).
const specs = specsOf(['unit', 'fuzz', 'lab', 'system']);

await Promise.all([
    esbuild.build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(outdir, 'share-this-cd.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'src/backend/main.ts')], outfile: join(outdir, 'share-this-cd-helper.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'src/applet/main.ts')], outfile: join(outdir, 'share-this-cd-applet.js') }),
    esbuild.build({ ...common, stdin: { contents: testEntry(specs), resolveDir: root, sourcefile: 'all-specs.ts', loader: 'ts' },
        outfile: join(outdir, 'tests.js') }),
    // The heavier real-image specs (the graphical live-build image): npm run test:real.
    esbuild.build({ ...common, stdin: { contents: testEntry(specsOf(['real'])), resolveDir: root, sourcefile: 'real-specs.ts', loader: 'ts' },
        outfile: join(outdir, 'real-tests.js') }),
    // The unit specs alone (no namespaces, daemons or virtual machines): meson test runs these.
    esbuild.build({ ...common, stdin: { contents: testEntry(specsOf(['unit'])), resolveDir: root, sourcefile: 'unit-specs.ts', loader: 'ts' },
        outfile: join(outdir, 'unit-tests.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-plan.ts')], outfile: join(outdir, 'bench-plan.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'test/tools/pxeProbe.ts')], outfile: join(outdir, 'pxe-probe.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'test/tools/fuzz.ts')], outfile: join(outdir, 'fuzz.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'test/tools/holdPort.ts')], outfile: join(outdir, 'hold-port.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'test/tools/gcDropProbe.ts')], outfile: join(outdir, 'gc-drop-probe.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'test/tools/journalOwner.ts')], outfile: join(outdir, 'journal-owner.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/lab-image.ts')], outfile: join(outdir, 'lab-image.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-boot.ts')], outfile: join(outdir, 'bench-boot.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-helper.ts')], outfile: join(outdir, 'bench-helper.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/screenshots.ts')], outfile: join(outdir, 'screenshots.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-applet.ts')], outfile: join(outdir, 'bench-applet.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-engine.ts')], outfile: join(outdir, 'bench-engine.js') }),
    esbuild.build({ ...common, entryPoints: [join(root, 'tools/bench-storm.ts')], outfile: join(outdir, 'bench-storm.js') }),
]);
// Translations for a checkout (meson compiles and installs them for installs): po/LINGUAS → LOCALEDIR/LANG.
if (arg('--localedir') === undefined) {
    const linguas = readFileSync(join(root, 'po/LINGUAS'), 'utf8').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'));
    for (const lang of linguas) {
        const dir = join(localedir, lang, 'LC_MESSAGES');
        mkdirSync(dir, { recursive: true });
        const r = spawnSync('msgfmt', ['--check', '-o', join(dir, 'share-this-cd.mo'), join(root, 'po', `${lang}.po`)], { encoding: 'utf8' });
        if (r.status !== 0)
            throw new Error(`msgfmt po/${lang}.po: ${r.stderr}`);
    }
}
console.log(`built share-this-cd.js, tests.js (${specs.length} spec files), bench-plan.js -> ${outdir}`);
