// The watch for other DHCP and network-boot servers while sharing (effects; what answers mean is mode.ts's
// assessRivals). A LAN changes under a share: the router's DHCP server is switched on after we started full
// DHCP on what looked like a bare cable, or a second Share This CD starts. Every period the watch reads the
// answers to its last probes and sends a new one (an INFORM, answered at once by most servers, and a PXE
// DISCOVER, answered by proxy-DHCP servers too): a server that appears is known within two periods.
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
/** Proxy-DHCP: only other network-boot servers to report. */
export const PROXY_PERIOD_MS = 10000;

export class RivalWatch {
    private listener: DhcpListener | null = null;
    private cancel: (() => void) | null = null;
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
        this.tick();
        return true;
    }

    set period(ms: number) {
        this.periodMs = ms;
    }

    private tick(): void {
        const listener = this.listener;
        if (listener === null)
            return;
        const answers = listener.receive(new Set(this.xids));
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
        if (answers.length > 0)
            this.onAnswers(answers);
    }

    stop(): void {
        this.cancel?.();
        this.cancel = null;
        this.listener?.close();
        this.listener = null;
    }
}
