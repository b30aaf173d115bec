// The engine's runtime (root): the undo journal and the owner's lock, with real effects. An owner
// (test/tools/journalOwner.ts, the engine's own OwnerLock and Journal) makes each kind of effect, is killed with
// SIGKILL, and the next `share-this-cd stop` or `start` must undo everything it recorded; two owners at once
// must be impossible; a stale journal is cleaned up; a process that is not ours is never signalled.
// The owner and the commands run with `nsenter --net` (not `ip netns exec`, which would give each its own mount
// namespace), so mounts are seen by all of them. The export's undo is a stand-in for `exportfs -u` (kernel nfsd
// cannot run on these machines); everything else is real.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { mountsBelow, writeAtomic } from '../../src/shared/fsutil.ts';
import { OwnerLock } from '../../src/backend/runtime/lock.ts';
import { processIdentity } from '../../src/backend/services/supervisor.ts';
import { sleep } from '../../src/shared/timers.ts';
import { LabNet, sh } from '../../src/lab/net.ts';
import { makeSampleMedium } from '../../src/lab/sampleMedium.ts';
import { LabShare, READY } from '../../src/lab/share.ts';
import { CLI, TOP } from '../support/helpers.ts';

const NET = new LabNet('rtm');
const OWNER = `${GLib.path_get_dirname(CLI)}/journal-owner.js`;
const NSENTER = ['nsenter', `--net=/run/netns/${NET.srv}`];

/** A running owner: its process and the PID it printed. */
class Owner {
    readonly proc: Gio.Subprocess;
    private readonly out: Gio.DataInputStream;

    constructor(dir: string, effects: string[]) {
        this.proc = Gio.Subprocess.new([...NSENTER, 'gjs', '-m', OWNER, dir, ...effects], Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE);
        this.out = new Gio.DataInputStream({ base_stream: this.proc.get_stdout_pipe() as Gio.InputStream });
    }

    /** The first line it prints: "READY pid" or "BUSY". */
    firstLine(): string {
        const [line] = this.out.read_line_utf8(null);
        return line ?? '';
    }

    get pid(): number {
        return Number(this.proc.get_identifier());
    }

    kill9(): void {
        this.proc.send_signal(9);
        this.proc.wait(null);
    }
}

function cli(dir: string, args: string[]): { status: number; stdout: string; stderr: string } {
    return sh([...NSENTER, 'env', `SHARE_THIS_CD_RUNTIME_DIR=${dir}`, 'LANGUAGE=C', 'gjs', '-m', CLI, ...args]);
}

function addresses(): string {
    return sh(['ip', '-n', NET.srv, '-4', '-o', 'addr', 'show', 'dev', 'br0']).stdout;
}

function alive(pid: number): boolean {
    return processIdentity(pid) !== null;
}

function spawnSleep(): number {
    const r = GLib.spawn_async(null, ['sleep', '300'], null, GLib.SpawnFlags.SEARCH_PATH | GLib.SpawnFlags.DO_NOT_REAP_CHILD, null);
    const pid = r[1] as number;
    GLib.child_watch_add(GLib.PRIORITY_DEFAULT, pid, () => GLib.spawn_close_pid(pid));
    return pid;
}

describe('the runtime: undo journal and owner lock', () => {
    let work: string;
    let dir: string;
    const sleeps: number[] = [];

    beforeAll(() => {
        NET.setup({ client: false });
    });
    afterAll(() => {
        NET.teardown();
    });
    beforeEach(() => {
        work = GLib.dir_make_tmp('share-this-cd-runtime-XXXXXX');
        sh(['chmod', '755', work]); // the daemons serve as nobody
        dir = `${work}/run`;
        GLib.mkdir_with_parents(`${work}/mnt`, 0o755);
    });
    afterEach(() => {
        for (const pid of sleeps.splice(0))
            sh(['kill', '-KILL', String(pid)]);
        for (const m of mountsBelow(work))
            sh(['umount', '-l', m]);
        sh(['rm', '-rf', work]);
    });

    // One spec per kind of journal entry: made by an owner that is then killed, undone by the next stop.
    const kinds: { kind: string; effect: (w: string) => string; present: (w: string, owner: string) => boolean }[] = [
        { kind: 'address', effect: () => 'address:br0:10.79.0.1/24', present: () => addresses().includes('10.79.0.1/24') },
        { kind: 'mount', effect: w => `mount:${w}/mnt`, present: w => mountsBelow(w).includes(`${w}/mnt`) },
        { kind: 'export', effect: w => `export:${w}/unexported`, present: w => !GLib.file_test(`${w}/unexported`, GLib.FileTest.EXISTS) },
        { kind: 'daemon', effect: () => 'daemon:dnsmasq-standin', present: (_w, ownerOut) => ownerOut !== '' && alive(Number(ownerOut)) },
    ];
    for (const k of kinds) {
        it(`undoes a ${k.kind} entry after the owner was killed with SIGKILL`, async () => {
            const owner = new Owner(dir, [k.effect(work)]);
            expect(owner.firstLine()).toMatch(/^READY \d+$/);
            // The daemon stand-in is the owner's child: find it before the owner dies.
            const child = sh(['pgrep', '-P', String(owner.pid), '-x', 'sleep']).stdout.trim();
            expect(k.present(work, child)).withContext('the effect was made').toBeTrue();
            owner.kill9();
            await sleep(100);
            expect(k.present(work, child)).withContext('a dead owner leaves its effect').toBeTrue();
            const r = cli(dir, ['stop']);
            expect(r.status).withContext(r.stderr).toBe(0);
            expect(r.stdout).toContain('Cleaned up after a share that was not running any more.');
            expect(k.present(work, child)).withContext('undone by stop').toBeFalse();
            expect(GLib.file_test(dir, GLib.FileTest.EXISTS)).withContext('runtime directory removed').toBeFalse();
        });
    }

    it('the next start undoes every kind of leftover, says so, and shares', async () => {
        const owner = new Owner(dir, ['address:br0:10.79.0.1/24', `mount:${work}/mnt`, `export:${work}/unexported`, 'daemon:standin']);
        expect(owner.firstLine()).toMatch(/^READY/);
        const child = Number(sh(['pgrep', '-P', String(owner.pid), '-x', 'sleep']).stdout.trim());
        owner.kill9();
        const medium = makeSampleMedium(TOP);
        const share = new LabShare(CLI, NET.srv, ['--medium', medium, '--interface', 'br0', '--mode', 'dhcp'], { SHARE_THIS_CD_RUNTIME_DIR: dir }, () => {},
            [...NSENTER]);
        try {
            await share.waitFor(READY, 30000);
            expect(share.output).toMatch(/Cleaned up after an earlier run that did not stop: .*stopped standin .*removed the NFS export \/srv\/medium.*unmounted .*removed the address 10\.79\.0\.1\/24 from br0/);
            expect(alive(child)).toBeFalse();
            // (the share's own mounts are in its runtime folder: the medium, and its copy for NFS)
            expect(mountsBelow(work).filter(m => !m.startsWith(`${dir}/`))).toEqual([]);
            expect(addresses()).not.toContain('10.79.0.1/24');
            expect(GLib.file_test(`${work}/unexported`, GLib.FileTest.EXISTS)).toBeTrue();
        } finally {
            share.signal(15);
            await share.ended();
            sh(['rm', '-rf', medium]);
        }
        expect(GLib.file_test(dir, GLib.FileTest.EXISTS)).toBeFalse();
    });

    it('makes two owners at once impossible', async () => {
        const first = new Owner(dir, []);
        expect(first.firstLine()).toMatch(/^READY/);
        try {
            const second = new Owner(dir, []);
            expect(second.firstLine()).toBe('BUSY');
            expect(OwnerLock.acquire(dir)).toBeNull();
            const r = cli(dir, ['start', '--medium', '/nonexistent', '--interface', 'br0']);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain(`This computer is already sharing (process ${first.pid}).`);
            // The journal is the owner's, untouched.
            expect(GLib.file_test(`${dir}/journal.json`, GLib.FileTest.EXISTS)).toBeTrue();
        } finally {
            first.kill9();
        }
        // The kernel let go of the lock with the process.
        const lock = OwnerLock.acquire(dir);
        expect(lock).not.toBeNull();
        lock?.release();
    });

    it('cleans up a stale journal whose owner is gone (no lock held)', () => {
        const stray = spawnSleep();
        sleeps.push(stray);
        const id = processIdentity(stray);
        GLib.mkdir_with_parents(dir, 0o755);
        writeAtomic(`${dir}/journal.json`, JSON.stringify({ version: 2, owner: 999999, startedAt: 0,
            entries: [{ kind: 'daemon', name: 'dnsmasq', pid: stray, comm: id?.comm, startTime: id?.startTime }] }));
        const r = cli(dir, ['stop']);
        expect(r.status).withContext(r.stderr).toBe(0);
        expect(r.stdout).toContain('Cleaned up after a share that was not running any more.');
        expect(alive(stray)).toBeFalse();
        expect(GLib.file_test(dir, GLib.FileTest.EXISTS)).toBeFalse();
    });

    it('never signals a process that is not ours', async () => {
        const unrelated = spawnSleep();
        const reused = spawnSleep();
        sleeps.push(unrelated, reused);
        const id = processIdentity(reused);
        GLib.mkdir_with_parents(dir, 0o755);
        // A journal naming a live unrelated process as its owner (no lock held), and a daemon entry whose PID is
        // now another program's (same PID, other start time: PID reuse).
        writeAtomic(`${dir}/journal.json`, JSON.stringify({ version: 2, owner: unrelated, startedAt: 0,
            entries: [{ kind: 'daemon', name: 'dnsmasq', pid: reused, comm: id?.comm, startTime: (id?.startTime ?? 0) - 1 }] }));
        expect(cli(dir, ['stop']).status).toBe(0);
        expect(alive(unrelated)).withContext('the journal\'s owner PID is not signalled').toBeTrue();
        expect(alive(reused)).withContext('a reused PID is not signalled').toBeTrue();
        // A lock holder whose journal names another process: that process is not signalled either, and the
        // holder keeps its share.
        const owner = new Owner(dir, []);
        expect(owner.firstLine()).toMatch(/^READY/);
        try {
            writeAtomic(`${dir}/journal.json`, JSON.stringify({ version: 2, owner: unrelated, startedAt: 0, entries: [] }));
            const r = cli(dir, ['stop']);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain('A share is starting right now');
            expect(alive(unrelated)).toBeTrue();
            expect(alive(owner.pid)).toBeTrue();
        } finally {
            owner.kill9();
        }
    });
});
