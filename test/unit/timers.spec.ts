// The timers and the line reader that live through gjs's refused callbacks (src/shared/timers.ts). The refusal
// itself is shown, with a real gjs, by test/lab/callbacks.spec.ts; here: what they do when nothing is refused.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { LineReader } from '../../src/backend/services/supervisor.ts';
import { noReplyError, replyWithin } from '../../src/shared/dbus.ts';
import { helperErrorText } from '../../src/shared/helperCalls.ts';
import { Coalescer, after, sleep, withDeadline } from '../../src/shared/timers.ts';

describe('timers that outlive a refused callback', () => {
    it('call back once, although backups were armed behind the timer', async () => {
        let calls = 0;
        after(20, () => calls++, { guard: true, backupDelaysMs: [60, 120] });
        await sleep(250, { guard: false });
        expect(calls).toBe(1);
    });

    it('can be cancelled, backups and all', async () => {
        let calls = 0;
        const cancel = after(40, () => calls++, { guard: true, backupDelaysMs: [60, 120] });
        cancel();
        cancel();
        await sleep(250, { guard: false });
        expect(calls).toBe(0);
    });

    it('keep their order', async () => {
        const seen: number[] = [];
        after(60, () => seen.push(3));
        after(0, () => seen.push(1));
        after(30, () => seen.push(2));
        await sleep(120);
        expect(seen).toEqual([1, 2, 3]);
    });
});

describe('coalescer', () => {
    it('runs at once, then at most once per interval however often it is asked, the last ask included', async () => {
        const runs: number[] = [];
        const start = Date.now();
        const c = new Coalescer(100, () => runs.push(Date.now() - start));
        for (let i = 0; i < 1000; i++)
            c.request();
        expect(runs.length).toBe(1);
        await sleep(30);
        c.request();
        c.request();
        expect(runs.length).toBe(1);
        await sleep(150);
        expect(runs.length).toBe(2);
        expect(runs[1]).toBeGreaterThanOrEqual(95);
        await sleep(150);
        expect(runs.length).toBe(2);
    });

    it('flushes a pending run now, or drops it when cancelled', async () => {
        let runs = 0;
        const c = new Coalescer(100, () => runs++);
        c.request();
        c.request();
        c.flush();
        expect(runs).toBe(2);
        c.request();
        c.cancel();
        await sleep(150);
        expect(runs).toBe(2);
    });
});

describe('answers that may never come', () => {
    it('settle as the operation does when it answers in time', async () => {
        await expectAsync(withDeadline(Promise.resolve(7), 100, () => new Error('late'))).toBeResolvedTo(7);
        await expectAsync(withDeadline(Promise.reject(new Error('no')), 100, () => new Error('late'))).toBeRejectedWithError('no');
    });

    it('end with the given error when it does not', async () => {
        await expectAsync(withDeadline(new Promise(() => {}), 50, () => new Error('late'))).toBeRejectedWithError('late');
    });

    it('a lost D-Bus reply reads as the helper not answering in time; a reply in time is the reply', async () => {
        expect(helperErrorText(noReplyError('Start'))).toContain('did not answer in time');
        await expectAsync(replyWithin(Promise.resolve('reply'), 100, 'Start')).toBeResolvedTo('reply');
    });
});

describe('line reader', () => {
    function reader(script: string, guard: boolean): { lines: string[]; ended: Promise<void>; reader: LineReader } {
        const proc = Gio.Subprocess.new(['sh', '-c', script], Gio.SubprocessFlags.STDOUT_PIPE);
        const lines: string[] = [];
        let done = (): void => {};
        const ended = new Promise<void>(resolve => { done = resolve; });
        return { lines, ended, reader: new LineReader(proc.get_stdout_pipe() as Gio.InputStream, l => lines.push(l), () => done(), guard) };
    }

    it('reads every line once and ends at the end of the stream', async () => {
        const r = reader('for i in 1 2 3 4 5; do echo "line $i"; done; printf "no newline"', true);
        await r.ended;
        expect(r.lines).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'no newline']);
        expect(r.reader.ended).toBeTrue();
    });

    it('does not read twice while a read waits for a quiet writer (the check sees the stream busy)', async () => {
        const r = reader('sleep 0.5; echo late; echo later', true);
        await sleep(200);
        // Two checks in a row would read on if the stream had no read outstanding.
        r.reader.check();
        r.reader.check();
        r.reader.check();
        await r.ended;
        expect(r.lines).toEqual(['late', 'later']);
    });

    it('joins a line and a character cut between two reads, and keeps up with 100 000 lines', async () => {
        const cut = reader("printf 'caf\\303'; sleep 0.3; printf '\\251 ok\\nnext\\n'", true);
        await cut.ended;
        expect(cut.lines).toEqual(['café ok', 'next']);
        const t0 = Date.now();
        const many = reader('seq 1 100000', false);
        await many.ended;
        expect(many.lines.length).toBe(100000);
        expect(many.lines[99999]).toBe('100000');
        expect(Date.now() - t0).toBeLessThan(10000);
    });

    it('skips a line that is not UTF-8 and reads on', async () => {
        const r = reader("printf 'one\\nbad \\377\\376\\ntwo\\n'", false);
        await r.ended;
        expect(r.lines).toEqual(['one', 'two']);
    });

    it('watches again when its watch went without it (a refused wake-up), losing nothing', async () => {
        const r = reader('sleep 0.3; echo after', true);
        GLib.Source.remove((r.reader as unknown as { watch: number }).watch);
        r.reader.check();
        await r.ended;
        expect(r.lines).toEqual(['after']);
    });

    it('stops on request', async () => {
        const r = reader('echo one; sleep 0.3; echo two', false);
        await sleep(150);
        r.reader.stop();
        await r.ended;
        await sleep(400);
        expect(r.lines).toEqual(['one']);
    });
});
