// Builds (or reuses) the lab live image and prints where it is: `gjs -m build/lab-image.js` (root).
import { ensureLabImage } from '../src/lab/image.ts';

const image = ensureLabImage(line => print(`  ${line}`));
print(`${image.built ? 'built' : 'reused'} the lab image in ${image.seconds.toFixed(1)} s (kernel ${image.kernelVersion})`);
print(`tree: ${image.tree}`);
print(`iso:  ${image.iso}`);
