// jasmine-core booted for gjs: must be imported before any spec module.
// jasmine-core's package "exports" only exposes its node entry (which needs fs/path), hence the deep path.
// @ts-expect-error: a plain CommonJS file without types; esbuild wraps it.
import jasmineRequire from '../../node_modules/jasmine-core/lib/jasmine-core/jasmine.js';

jasmineRequire.installGlobals(globalThis);
