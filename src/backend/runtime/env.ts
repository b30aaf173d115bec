// The engine's environment: where its runtime directory is and its timings. One reader of the process
// environment for the command line and the helper (tests and the lab shorten or move things through it).
import GLib from 'gi://GLib';

export const DEFAULT_RUNTIME_DIR = '/run/share-this-cd';
/** Where the helper keeps its settings, which every share reads (which computers may start, their names). */
export const DEFAULT_STATE_DIR = '/var/lib/share-this-cd';

export interface EngineEnv {
    runtimeDir: string;
    /** The settings' folder (backend/settings.ts). */
    stateDir: string;
    /** How long the DHCP probe listens (ms). */
    probeWindowMs: number;
    /** Seconds of silence before a client counts as gone. */
    goneAfter: number;
    /** How often NFS connections and neighbours are looked at (ms; at least a second: idle means asleep). */
    pollMs: number;
    /** Open this computer's firewall for the share (network/firewall.ts); the lab turns it off to show why it is needed. */
    openFirewall: boolean;
    /**
     * Give iPXE clients the iPXE script (true), or treat them as plain PXE ROMs that load lpxelinux (false: a lab
     * switch, SHARE_THIS_CD_LAB_IPXE_AS_PXE=1, so that the lab's iPXE clients still test lpxelinux).
     */
    ipxeScripts: boolean;
}

export const DEFAULT_ENV: EngineEnv = { runtimeDir: DEFAULT_RUNTIME_DIR, stateDir: DEFAULT_STATE_DIR, probeWindowMs: 3000, goneAfter: 120, pollMs: 2000, openFirewall: true, ipxeScripts: true };

/** A positive number from the environment, or the fallback. */
export function envNumber(name: string, fallback: number): number {
    const v = Number.parseFloat(GLib.getenv(name) ?? '');
    return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** SHARE_THIS_CD_RUNTIME_DIR, SHARE_THIS_CD_STATE_DIR, SHARE_THIS_CD_GONE_AFTER, SHARE_THIS_CD_OPEN_FIREWALL=0 and SHARE_THIS_CD_LAB_IPXE_AS_PXE=1 over the defaults. */
export function engineEnvFromProcess(): EngineEnv {
    const dir = GLib.getenv('SHARE_THIS_CD_RUNTIME_DIR');
    const state = GLib.getenv('SHARE_THIS_CD_STATE_DIR');
    return { ...DEFAULT_ENV, runtimeDir: dir !== null && dir.startsWith('/') ? dir : DEFAULT_ENV.runtimeDir,
        stateDir: state !== null && state.startsWith('/') ? state : DEFAULT_ENV.stateDir,
        goneAfter: Math.round(envNumber('SHARE_THIS_CD_GONE_AFTER', DEFAULT_ENV.goneAfter)),
        openFirewall: GLib.getenv('SHARE_THIS_CD_OPEN_FIREWALL') !== '0',
        ipxeScripts: GLib.getenv('SHARE_THIS_CD_LAB_IPXE_AS_PXE') !== '1' };
}
