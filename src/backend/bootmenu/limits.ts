// Bounds that keep parsing safe on hostile or broken media (pure constants).

/** Largest boot config file read; real ones are a few KiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Deepest include/source nesting followed. */
export const MAX_INCLUDE_DEPTH = 16;
/** Most config files read for one menu (includes and sources together). */
export const MAX_CONFIG_FILES = 200;
/** Most menu entries kept for one menu. */
export const MAX_ENTRIES = 500;
/** Longest label or argument kept (pxelinux lines are limited; labels are cut, arguments refused). */
export const MAX_LABEL_CHARS = 200;
