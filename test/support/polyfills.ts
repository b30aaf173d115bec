// What jasmine-core 7 expects from a browser and gjs 1.74 lacks: queueMicrotask, MessageChannel (used to
// clear the stack between specs), global error events, structuredClone. Also timers that survive a callback
// refused during garbage collection (src/shared/timers.ts): jasmine moves from one spec to the next through
// MessageChannel and times specs out with setTimeout; gjs's own setTimeout is lost with its callback.
import { after } from '../../src/shared/timers.ts';

// A polyfill module: the global object is untyped by design here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const g = globalThis as any;

g.queueMicrotask ??= (fn: () => void): void => {
    Promise.resolve().then(fn);
};

if (!g.MessageChannel) {
    class Port {
        onmessage: ((ev: { data: unknown }) => void) | null = null;
        other: Port | null = null;

        postMessage(data: unknown): void {
            after(0, () => this.other?.onmessage?.({ data }));
        }
    }
    g.MessageChannel = class {
        port1 = new Port();
        port2 = new Port();

        constructor() {
            this.port1.other = this.port2;
            this.port2.other = this.port1;
        }
    };
}

{
    const timers = new Map<number, () => void>();
    let nextTimer = 1;
    g.setTimeout = (fn: (...args: unknown[]) => void, ms = 0, ...args: unknown[]): number => {
        const id = nextTimer++;
        timers.set(id, after(Math.max(0, Number(ms) || 0), () => {
            timers.delete(id);
            fn(...args);
        }));
        return id;
    };
    g.clearTimeout = (id: number | undefined): void => {
        if (id === undefined)
            return;
        timers.get(id)?.();
        timers.delete(id);
    };
}

g.addEventListener ??= (): void => {};
g.removeEventListener ??= (): void => {};

function clone(value: unknown, seen: Map<object, unknown>): unknown {
    if (value === null || typeof value !== 'object')
        return value;
    if (seen.has(value))
        return seen.get(value);
    if (value instanceof Date)
        return new Date(value.getTime());
    if (value instanceof RegExp)
        return new RegExp(value.source, value.flags);
    if (value instanceof Map) {
        const m = new Map();
        seen.set(value, m);
        value.forEach((v, k) => m.set(clone(k, seen), clone(v, seen)));
        return m;
    }
    if (value instanceof Set) {
        const s = new Set();
        seen.set(value, s);
        value.forEach(v => s.add(clone(v, seen)));
        return s;
    }
    const out = (Array.isArray(value) ? []
        : value instanceof Error ? Object.assign(new Error(value.message), { name: value.name, stack: value.stack })
            : {}) as Record<string, unknown>;
    seen.set(value, out);
    for (const key of Object.keys(value))
        out[key] = clone((value as Record<string, unknown>)[key], seen);
    return out;
}
g.structuredClone ??= (value: unknown): unknown => clone(value, new Map());
