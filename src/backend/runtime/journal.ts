// The undo journal (RUNTIME/journal.json): every effect a share makes on this computer outside its runtime
// directory is one entry, written (atomically) *before* the effect is made, with what it takes to undo it
// (a daemon's entry follows its spawn at once: its PID is known only then). Rolling back a failed start,
// stopping, and cleaning up after an owner that died all replay the same journal, newest entry first, each
// entry removed from the file once undone (a replay that is itself interrupted goes on where it stopped).
// A new kind of effect is one new entry type and its line in UNDO. The runtime directory itself
// (files, configs, logs) is ours wholesale: after the replay it is swept (runtime/owner.ts).
import GLib from 'gi://GLib';

import { _, format } from '../../shared/i18n.ts';
import { mountsBelow, readTextFile, removeTree, writeAtomic } from '../../shared/fsutil.ts';
import { unmount } from '../medium/mounts.ts';
import { removeAddress } from '../network/host.ts';
import { closeChain } from '../network/firewall.ts';
import { removeRichRule } from '../network/firewalld.ts';
import { ufwDelete } from '../network/ufw.ts';
import type { Cidr } from '../network/ipv4.ts';
import { isSameProcess, killProcess, run } from '../services/supervisor.ts';

export type JournalEntry =
    /** A mount we made (an ISO, the medium's read-only alias). */
    | { kind: 'mount'; path: string }
    /** An address we put on an interface (direct cable). */
    | { kind: 'address'; interface: string; address: Cidr }
    /** A kernel NFS export, undone by running `unexport` (`exportfs -u …`). */
    | { kind: 'export'; path: string; unexport: string[] }
    /** A daemon we started: pid, program name and start time tell it from a later process with its PID. */
    | { kind: 'daemon'; name: string; pid: number; comm: string; startTime: number }
    /** A folder of ours outside the runtime directory (the medium packed for NFS), removed with what it holds. */
    | { kind: 'scratch'; path: string }
    /** A rich rule added to a zone of firewalld at run time (network/firewalld.ts). */
    | { kind: 'firewalld'; zone: string; rule: string }
    /** A rule added to ufw (network/ufw.ts): the words after `ufw allow`. */
    | { kind: 'ufw'; rule: string[] }
    /** Rules put at the top of a firewall chain (network/firewall.ts), found again by their comment. */
    | { kind: 'firewall'; family: 'ip' | 'inet'; table: string; chain: string; comment: string };

export type EntryKind = JournalEntry['kind'];

/** How each kind of effect is undone: returns what it did, in words, or null when there was nothing left to undo. */
type Undo = { [K in EntryKind]: (entry: Extract<JournalEntry, { kind: K }>) => Promise<string | null> };

export const UNDO: Undo = {
    mount: async e => mountsBelow(e.path).includes(e.path) && unmount(e.path) ? format(_("unmounted {path}"), { path: e.path }) : null,
    address: async e => removeAddress(e.interface, e.address)
        ? format(_("removed the address {address} from {interface}"), { address: `${e.address.address}/${e.address.prefix}`, interface: e.interface })
        : null,
    export: async e => run(e.unexport).status === 0 ? format(_("removed the NFS export {path}"), { path: e.path }) : null,
    daemon: async e => {
        if (!isSameProcess(e.pid, e.comm, e.startTime))
            return null;
        await killProcess(e.pid, e.comm, e.startTime);
        return format(_("stopped {name} (pid {pid})"), { name: e.name, pid: e.pid });
    },
    scratch: async e => {
        if (!GLib.file_test(e.path, GLib.FileTest.IS_DIR))
            return null;
        const kept = removeTree(e.path);
        if (kept.length > 0)
            throw new Error(format(_("{path} could not be removed: {kept}"), { path: e.path, kept: kept.join(', ') }));
        return format(_("removed {path}"), { path: e.path });
    },
    firewalld: async e => removeRichRule(e.zone, e.rule) ? format(_("closed firewalld again (zone {zone}: {rule})"), { zone: e.zone, rule: e.rule }) : null,
    ufw: async e => ufwDelete(e.rule) ? format(_("deleted the ufw rule “allow {rule}”"), { rule: e.rule.join(' ') }) : null,
    firewall: async e => closeChain(e, e.comment) > 0 ? format(_("closed the firewall again ({family} {table} {chain})"), { family: e.family, table: e.table, chain: e.chain }) : null,
};

export interface JournalFile {
    version: 2;
    /** The process that made the entries (it holds the runtime directory's lock while it lives). */
    owner: number;
    startedAt: number;
    entries: JournalEntry[];
}

export function journalPath(dir: string): string {
    return `${dir}/journal.json`;
}

/** Parses a journal we wrote; null for a missing or damaged file (then there is nothing we can trust to undo). */
export function parseJournal(text: string | null): JournalFile | null {
    if (text === null)
        return null;
    try {
        const j = JSON.parse(text) as JournalFile;
        if (j?.version !== 2 || !Array.isArray(j.entries) || !Number.isInteger(j.owner))
            return null;
        return { ...j, entries: j.entries.filter(e => typeof e === 'object' && e !== null && Object.prototype.hasOwnProperty.call(UNDO, e.kind)) };
    } catch {
        return null;
    }
}

export class Journal {
    private constructor(readonly dir: string, private file: JournalFile) {}

    /** A new, empty journal for the owner `pid` (only the lock's holder may write one). */
    static create(dir: string, pid: number): Journal {
        const journal = new Journal(dir, { version: 2, owner: pid, startedAt: Math.floor(Date.now() / 1000), entries: [] });
        journal.save();
        return journal;
    }

    /** The journal left in `dir`, if any. */
    static load(dir: string): Journal | null {
        const file = parseJournal(readTextFile(journalPath(dir)));
        return file === null ? null : new Journal(dir, file);
    }

    get owner(): number {
        return this.file.owner;
    }

    get entries(): readonly JournalEntry[] {
        return this.file.entries;
    }

    /** Records an effect before it is made. */
    record(entry: JournalEntry): void {
        this.file.entries.push(entry);
        this.save();
    }

    /**
     * Records an effect, makes it, and keeps the entry whether or not making it failed (a half-made effect is
     * undone like a whole one; undoing one that was never made does nothing).
     */
    make<T>(entry: JournalEntry, effect: () => T): T {
        this.record(entry);
        return effect();
    }

    /**
     * Undoes every entry, newest first; returns what was done, in words. An undo that fails is reported and the
     * replay goes on; its entry stays in the file and the error is thrown at the end.
     */
    async replay(): Promise<string[]> {
        const done: string[] = [];
        const failed: string[] = [];
        for (let i = this.file.entries.length - 1; i >= 0; i--) {
            const entry = this.file.entries[i];
            try {
                const said = await (UNDO[entry.kind] as (e: JournalEntry) => Promise<string | null>)(entry);
                if (said !== null)
                    done.push(said);
                this.file.entries.splice(i, 1);
                this.save();
            } catch (e) {
                failed.push(e instanceof Error ? e.message : String(e));
            }
        }
        if (failed.length > 0)
            throw new Error(failed.join(' '));
        return done;
    }

    /** Removes the journal file (after a complete replay). */
    remove(): void {
        GLib.unlink(journalPath(this.dir));
    }

    private save(): void {
        writeAtomic(journalPath(this.dir), `${JSON.stringify(this.file, null, 1)}\n`, 0o600);
    }
}
