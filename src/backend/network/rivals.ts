// The watch for other DHCP and network-boot servers while sharing (effects; what answers mean is mode.ts's
// assessRivals). A LAN changes under a share: the router's DHCP server is switched on after we started full
// DHCP on what looked like a bare cable, or a second Share This CD starts. Every period the watch reads the
// answers to its last probes and sends a new one (an INFORM, answered at once by most servers, and a PXE
// DISCOVER, answered by proxy-DHCP servers too), and reads again 4 s after sending when the period is longer:
// a server that appears is known within a period and 4 s. The first probe goes a period after the start (the
// start's own probe has just listened): a LAN's DHCP server that pings an address before it offers one is not
// kept busy by us while the first computers ask it.
//
// Our own DHCP server ignores our hardware address (services/dnsmasq.ts): in full DHCP it would ping an
// address before each offer to us and keep real clients waiting. Answers that carry our own address are left
// out all the same, and the client watch leaves our hardware address out of its list.
import GLib from 'gi://GLib';

import { type DhcpAnswer } from './mode.ts';
import { DhcpListener, type ProbeTarget, newXid } from './probe.ts';
import { after } from '../../shared/timers.ts';

const LOG_DOMAIN = 'share-this-cd';

/** Full DHCP: a DHCP server that appears is heard within 2 × 3 s (we must stop handing out addresses within 10 s). */
export const DHCP_PERIOD_MS = 3000;
/** Proxy-DHCP: only other network-boot servers to report (each probe costs the LAN's DHCP server an answer). */
export const PROXY_PERIOD_MS = 30000;
/** When the answers to a probe are read, if the period is longer (a DHCP server answers a DISCOVER within ~3 s). */
const READ_AFTER_MS = 4000;

export class RivalWatch {
    private listener: DhcpListener | null = null;
    private cancel: (() => void) | null = null;
    private cancelRead: (() => void) | null = null;
    /** The transactions whose answers are still read (answers to the previous probe arrive during this period). */
    private xids: number[] = [];
    private failures = 0;

    constructor(private readonly target: ProbeTarget, private periodMs: number, private readonly onAnswers: (answers: DhcpAnswer[]) => void) {}

    /** Opens the sockets and sends the first probe; false (and a log line) when the sockets cannot be had. */
    start(): boolean {
        try {
            this.listener = DhcpListener.open(this.target);
        } catch (e) {
            console.warn(`${LOG_DOMAIN}: cannot watch for other DHCP servers: ${(e as GLib.Error).message ?? e}`);
            return false;
        }
        this.cancel = after(this.periodMs, () => this.tick());
        return true;
    }

    set period(ms: number) {
        this.periodMs = ms;
    }

    private tick(): void {
        const listener = this.listener;
        if (listener === null)
            return;
        this.read();
        const xid = newXid();
        this.xids = [...this.xids.slice(-1), xid];
        try {
            listener.send(xid);
            this.failures = 0;
        } catch (e) {
            // The interface went down for a moment, or has no carrier: said once, tried again next period.
            if (this.failures++ === 0)
                console.warn(`${LOG_DOMAIN}: the probe for other DHCP servers could not be sent: ${(e as GLib.Error).message ?? e}`);
        }
        this.cancel = after(this.periodMs, () => this.tick());
        if (this.periodMs > READ_AFTER_MS)
            this.cancelRead = after(READ_AFTER_MS, () => this.read());
    }

    /** The answers waiting to our last probes, to the callback. */
    private read(): void {
        this.cancelRead?.();
        this.cancelRead = null;
        const answers = this.listener?.receive(new Set(this.xids)) ?? [];
        if (answers.length > 0)
            this.onAnswers(answers);
    }

    stop(): void {
        this.cancel?.();
        this.cancel = null;
        this.cancelRead?.();
        this.cancelRead = null;
        this.listener?.close();
        this.listener = null;
    }
}
