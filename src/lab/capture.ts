// A packet capture of the lab LAN (tcpdump on the sharing namespace's bridge, headers only), kept while a test
// runs so that a client that does not boot can be explained: what it last sent, what it was last sent.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { hasExited } from '../backend/services/supervisor.ts';
import { sleep } from '../shared/timers.ts';
import { sh } from './net.ts';

export class LabCapture {
    private proc: Gio.Subprocess | null = null;
    /** Ended (or never started): asked of GLib, which reaps it (no callback that gjs could refuse). */
    private get exited(): boolean {
        return this.proc === null || hasExited(this.proc);
    }

    constructor(readonly netns: string, readonly iface: string, readonly file: string) {}

    /** Starts tcpdump and waits until it has opened its file (it then captures). */
    async start(): Promise<void> {
        GLib.unlink(this.file);
        // -U: each packet is written at once, so the file is complete whenever it is read.
        this.proc = Gio.Subprocess.new(['ip', 'netns', 'exec', this.netns, 'tcpdump', '-i', this.iface, '-nn', '-U', '-s', '128', '-w', this.file],
            Gio.SubprocessFlags.STDOUT_SILENCE | Gio.SubprocessFlags.STDERR_SILENCE);
        for (let i = 0; i < 50 && !this.exited && !GLib.file_test(this.file, GLib.FileTest.EXISTS); i++)
            await sleep(100);
    }

    async stop(): Promise<void> {
        if (this.proc && !this.exited) {
            this.proc.send_signal(15);
            for (let i = 0; i < 30 && !this.exited; i++)
                await sleep(100);
            if (!this.exited)
                this.proc.force_exit();
        }
        this.proc = null;
        GLib.unlink(this.file);
    }

    /**
     * What the capture holds of one machine (by MAC): how long ago it last sent and was last sent a packet, and
     * its last `n` packets either way, as tcpdump prints them.
     */
    summary(mac: string, n = 12): string {
        const r = sh(['tcpdump', '-r', this.file, '-nn', '-tt', '-e', 'ether', 'host', mac]);
        if (r.status !== 0)
            return `no capture (${r.stderr.trim().split('\n').at(-1) ?? ''})`;
        return summarizeCapture(r.stdout, mac, Date.now() / 1000, n);
    }
}

/** The summary above, from `tcpdump -nn -tt -e` lines. Pure. */
export function summarizeCapture(text: string, mac: string, now: number, n = 12): string {
    const lines = text.split('\n').filter(l => /^\d+\.\d+ /.test(l));
    if (lines.length === 0)
        return `no packet from or to ${mac} in the capture`;
    const from = lines.filter(l => l.split(' ')[1]?.toLowerCase() === mac.toLowerCase());
    const to = lines.filter(l => l.split(' ')[3]?.replace(/,$/, '').toLowerCase() === mac.toLowerCase());
    const ago = (set: string[]): string => `${(now - parseFloat(set[set.length - 1])).toFixed(1)} s ago`;
    const sent = from.length === 0 ? 'it sent none' : `it last sent one ${ago(from)}`;
    const received = to.length === 0 ? 'none was sent to it' : `one was last sent to it ${ago(to)}`;
    return `${lines.length} packets; ${sent}, ${received}. The last ones:\n  ` +
        lines.slice(-n).map(l => l.length > 200 ? `${l.slice(0, 200)}…` : l).join('\n  ');
}
