// Ambient types for the gjs runtime: gi:// modules, gjs built-ins (system, gettext, console) and the DOM-like
// globals gjs 1.74 has (TextDecoder, TextEncoder, console). Build-time constants injected by tools/build.mjs.
import '@girs/gjs';
import '@girs/gjs/dom';
import '@girs/glib-2.0/ambient';
import '@girs/gobject-2.0/ambient';
import '@girs/gio-2.0/ambient';
import '@girs/gdk-3.0/ambient';
import '@girs/pango-1.0/ambient';
import '@girs/gtk-3.0/ambient';

declare global {
    /** Where compiled translations live (build/locale in a checkout, $prefix/share/locale when installed). */
    const __LOCALEDIR__: string;
    /** Project version from package.json. */
    const __VERSION__: string;
}
export {};
