// Timers that survive gjs's refused callbacks.
//
// gjs before 1.82 (Debian 12: 1.74, Ubuntu 24.04: 1.80) refuses every callback into JavaScript — a timer's
// SourceFunc, an AsyncReadyCallback, a signal handler — while a garbage collection is between two slices of its
// sweep ("Attempting to run a JS callback during garbage collection"; gjs commit 4e53510f fixed the check). The
// refused callback is lost for good. Worse, only JavaScript's own allocations drive the next slice, so once a
// collection stops mid-sweep every callback is refused until something else ends it: a process whose last timer
// was refused sleeps forever (test/tools/gcDropProbe.ts shows it in seconds). What ends it from C is gjs's own
// "toggle down" check, which runs a full collection 10 s after a wrapped GObject loses its last other owner.
//
// So, on such a gjs: keepCollecting() makes that happen (a full collection at most 10 s after a stall begins),
// and after() arms backup timers behind each timer, which fire once the collection is over; readers of streams
// look for a read that finished without its callback (services/supervisor.ts, LineReader). On gjs 1.82 and
// later none of this runs.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

/** Does this gjs refuse callbacks during an incremental collection's sweep (before 1.82)? */
export const DROPS_CALLBACKS = system.version < 18200;

/** When the backups of a timer fire, after its own time: past gjs's 10 s toggle-down collection, and again. */
const BACKUP_DELAYS_MS = [12000, 30000, 60000, 120000];

let toggle: { store: Gio.ListStore; token: Gio.Cancellable } | null = null;

/**
 * Makes gjs run a full garbage collection within 10 s, from a C timer that is never refused: a wrapped GObject
 * gets, then loses, a second owner (a list), and gjs answers that "toggle down" with a scheduled collection.
 * Cheap to call often: gjs keeps one such timer at a time.
 */
export function keepCollecting(): void {
    if (!DROPS_CALLBACKS)
        return;
    if (toggle === null) {
        const token = new Gio.Cancellable();
        // Some JavaScript state on the wrapper makes gjs hold the GObject by a toggle reference.
        (token as unknown as { keep: boolean }).keep = true;
        toggle = { store: new Gio.ListStore({ item_type: Gio.Cancellable.$gtype }), token };
    }
    toggle.store.append(toggle.token);
    toggle.store.remove(0);
}

/** Memory held by wrapped C objects since the last collection we asked for (bytes, estimated). */
let foreignSinceCollection = 0;
/** After this much, a full collection (its cost, a few ms for this program's heap, is paid rarely). */
const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;

/**
 * Counts memory that wrapped C objects hold (the GVariants of the client list sent on the bus): SpiderMonkey
 * sees only their small wrappers, so while they are made often their C memory can pile up far ahead of its
 * own collections. Past COLLECT_AFTER_BYTES, a full collection frees them.
 */
export function noteForeignMemory(bytes: number): void {
    foreignSinceCollection += bytes;
    if (foreignSinceCollection < COLLECT_AFTER_BYTES)
        return;
    foreignSinceCollection = 0;
    system.gc();
}

function removeSource(id: number): void {
    const source = GLib.MainContext.default().find_source_by_id(id);
    if (source !== null && !source.is_destroyed())
        source.destroy();
}

export interface AfterOptions {
    priority?: number;
    /** Arm backup timers and keep collections going (default: on a gjs that refuses callbacks). */
    guard?: boolean;
    /** When the backups fire, after `ms` (default 12, 30, 60 and 120 s; the specs use shorter ones). */
    backupDelaysMs?: number[];
}

let backupsFired = 0;
/** How many timers fired by a backup in this process (gjs refused their callback): for the spec runner's report. */
export function timersRecovered(): number {
    return backupsFired;
}

/**
 * Calls `fn` once, `ms` milliseconds from now (or, if gjs refused that callback, when a backup fires: 12, 30, 60
 * or 120 s later). Returns a function that cancels it.
 */
export function after(ms: number, fn: () => void, options: AfterOptions = {}): () => void {
    const guard = options.guard ?? DROPS_CALLBACKS;
    const priority = options.priority ?? GLib.PRIORITY_DEFAULT;
    let ids: number[] = [];
    const cancel = (): void => {
        for (const id of ids)
            removeSource(id);
        ids = [];
    };
    const fire = (backup: boolean): boolean => {
        if (ids.length === 0)
            return GLib.SOURCE_REMOVE;
        cancel();
        if (guard)
            keepCollecting();
        fn();
        // A backup fired: gjs refused the timer, and other callbacks refused with it are due now too. A full
        // collection here ends whatever collection `fn` started, so they are not refused again behind it.
        if (backup) {
            backupsFired++;
            system.gc();
        }
        return GLib.SOURCE_REMOVE;
    };
    ids.push(GLib.timeout_add(priority, ms, () => fire(false)));
    if (guard) {
        keepCollecting();
        for (const delay of options.backupDelaysMs ?? BACKUP_DELAYS_MS)
            ids.push(GLib.timeout_add(priority, ms + delay, () => fire(true)));
    }
    return cancel;
}

/** Resolves after `ms` milliseconds (see after()). */
export function sleep(ms: number, options: AfterOptions = {}): Promise<void> {
    return new Promise(resolve => after(ms, resolve, options));
}

/**
 * `promise`, or a rejection with `error()` once `ms` have passed: for an answer that comes through a callback gjs
 * may refuse (a D-Bus reply), so that a caller waiting for it does not wait forever. Give `ms` beyond the
 * operation's own timeout, which normally answers first.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, error: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        const cancel = after(ms, () => reject(error()));
        promise.then(value => {
            cancel();
            resolve(value);
        }, e => {
            cancel();
            reject(e);
        });
    });
}

/**
 * Runs `fn` at most once per `intervalMs` however often it is asked for: at once when it last ran longer ago
 * than that, else once at the end of the interval (the latest state then). For publishing what changes in
 * bursts (the client list under a flood of requests). `now` is injectable for tests (milliseconds).
 */
/** What changes in bursts (the client list) is published at most this often: 4 times a second. */
export const PUBLISH_INTERVAL_MS = 250;

export class Coalescer {
    private lastRun = -Infinity;
    private cancelTimer: (() => void) | null = null;

    constructor(private readonly intervalMs: number, private readonly fn: () => void,
        private readonly now: () => number = () => GLib.get_monotonic_time() / 1000) {}

    /** Asks for a run. */
    request(): void {
        if (this.cancelTimer !== null)
            return;
        const wait = this.lastRun + this.intervalMs - this.now();
        if (wait <= 0) {
            this.run();
            return;
        }
        this.cancelTimer = after(Math.ceil(wait), () => {
            this.cancelTimer = null;
            this.run();
        });
    }

    /** A run asked for and not yet made is made now. */
    flush(): void {
        if (this.cancelTimer === null)
            return;
        this.cancel();
        this.run();
    }

    /** A run asked for and not yet made is dropped. */
    cancel(): void {
        this.cancelTimer?.();
        this.cancelTimer = null;
    }

    private run(): void {
        this.lastRun = this.now();
        this.fn();
    }
}
