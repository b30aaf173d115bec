// Running an async main function on a real GLib main loop.
//
// Why not `system.exit(await main())`: gjs 1.74 (Debian 12, Ubuntu 22.04/24.04) waits for a module's top-level
// await in Gjs::MainLoop::spin(), which calls g_main_context_pending() — a poll() with timeout 0 — and only
// iterates when a source is ready, so while the awaited promise is pending the process polls without blocking:
// 100 % of a core for as long as it waits (measured: `share-this-cd start` idle, ~100 000 poll() calls a second).
// A GLib.MainLoop blocks in poll() until a source is ready, so an idle process sleeps.
//
// Known gjs bug before 1.82: a callback that arrives between two slices of an incremental garbage collection's
// sweep is refused and lost, and the process can stall for good; shared/timers.ts explains it and holds what
// our code does about it (timers with backups, collections kept going, line readers that notice a lost read).
import GLib from 'gi://GLib';

/**
 * Runs `main` on a GLib main loop until its promise settles and returns its exit code (70, EX_SOFTWARE, when
 * it throws). Use as `system.exit(runMain(main))` in every entry point instead of a top-level await.
 */
export function runMain(main: () => Promise<number>): number {
    const loop = new GLib.MainLoop(null, false);
    let code: number | null = null;
    const settle = (c: number): void => {
        code = c;
        loop.quit();
    };
    main().then(settle, e => {
        console.error(e);
        settle(70);
    });
    // The promise may already have settled (a command that never waited); quit() before run() would be lost.
    if (code === null)
        loop.run();
    return code ?? 70;
}

/** GLib.unix_signal_add: it exists at run time (GLib 2.74); the @girs types moved it to GLibUnix. */
export const unixSignalAdd = (GLib as unknown as { unix_signal_add: (priority: number, signal: number, handler: () => boolean) => number }).unix_signal_add;
