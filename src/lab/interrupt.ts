// Ctrl-C and SIGTERM for the lab's long-running tools (benchmarks): whatever they started is undone, as the demo
// does, then the process ends (status 130 / 143). Each tool registers its undo steps as it makes things.
import GLib from 'gi://GLib';
import system from 'system';
import { unixSignalAdd } from '../shared/mainLoop.ts';

type Undo = () => void | Promise<void>;

const steps: Undo[] = [];
let installed = false;
let interruptedNow = false;
/** The signal that came (0: none). */
let signalled = 0;
let undoing: Promise<void> | null = null;

/** True once SIGINT or SIGTERM came: the tool's own flow must leave the undoing to the handler. */
export function interrupted(): boolean {
    return interruptedNow;
}

/** The exit status for the signal that came: 130 (SIGINT), 143 (SIGTERM). */
export function interruptStatus(): number {
    return 128 + signalled;
}

/**
 * Undoes every registered step, newest first; each one once, a failing one does not stop the others. A call
 * while an undo runs waits for that one (steps are never run side by side).
 */
export function undoAll(): Promise<void> {
    undoing ??= undoSteps().finally(() => {
        undoing = null;
    });
    return undoing;
}

async function undoSteps(): Promise<void> {
    while (steps.length > 0) {
        const step = steps.pop() as Undo;
        try {
            await step();
        } catch (e) {
            console.warn(`clean-up: ${e instanceof Error ? e.message : e}`);
        }
    }
}

/**
 * Registers `undo` (run on SIGINT/SIGTERM, or by undoAll()) and returns a function that drops it once the
 * tool has undone it itself.
 */
export function onInterrupt(undo: Undo): () => void {
    if (!installed) {
        installed = true;
        for (const sig of [2, 15]) {
            unixSignalAdd(GLib.PRIORITY_HIGH, sig, () => {
                if (!interruptedNow) {
                    interruptedNow = true;
                    signalled = sig;
                    console.warn(`${sig === 2 ? 'interrupted' : 'terminated'}: cleaning up…`);
                    // (gjs ignores system.exit() in a promise's callback: exit from the main loop)
                    undoAll().finally(() => GLib.idle_add(GLib.PRIORITY_HIGH, () => system.exit(128 + sig)));
                }
                return GLib.SOURCE_CONTINUE;
            });
        }
    }
    steps.push(undo);
    return () => {
        const i = steps.lastIndexOf(undo);
        if (i >= 0)
            steps.splice(i, 1);
    };
}
