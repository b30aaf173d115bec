// Builds (or reuses) a lab live image and prints where it is (root):
//   gjs -m build/lab-image.js                       the small lab image (busybox root, our kernel and initrd)
//   gjs -m build/lab-image.js console|graphical     a real image made by Debian's live-build (src/lab/liveBuild.ts)
import { ensureLabImage } from '../src/lab/image.ts';
import system from 'system';
import { type LiveFlavour, ensureLiveBuildImage } from '../src/lab/liveBuild.ts';

const flavour = ARGV[0];
if (flavour === 'console' || flavour === 'graphical') {
    const image = ensureLiveBuildImage(flavour as LiveFlavour, line => print(`  ${line}`));
    print(`${image.built ? 'built' : 'reused'} the live-build ${flavour} image in ${image.seconds.toFixed(1)} s`);
    print(`tree: ${image.tree}`);
    print(`iso:  ${image.iso}`);
} else if (flavour === undefined) {
    const image = ensureLabImage(line => print(`  ${line}`));
    print(`${image.built ? 'built' : 'reused'} the lab image in ${image.seconds.toFixed(1)} s (kernel ${image.kernelVersion})`);
    print(`tree: ${image.tree}`);
    print(`iso:  ${image.iso}`);
} else {
    printerr(`lab-image: unknown image “${flavour}” (console, graphical, or none for the small lab image)`);
    system.exit(2);
}
