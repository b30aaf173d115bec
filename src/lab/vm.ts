// A virtual client for the lab: qemu (TCG: no KVM on these machines) booting from the network (SeaBIOS + iPXE
// ROM for BIOS; OVMF's own PXE for UEFI, with or without Secure Boot; qemu-system-aarch64's virt machine with
// AAVMF's own PXE for UEFI ARM64) or from a CD image. Its serial console
// is a socket with a log file: the log is the client's screen, and typing `poweroff` into the socket switches
// the lab live system off.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { hasExited } from '../backend/services/supervisor.ts';
import { sleep } from '../shared/timers.ts';
import { MARKER, POWEROFF_WORD } from './image.ts';
import { ocr } from './ocr.ts';

export type Firmware = 'bios' | 'uefi' | 'uefi-secure' | 'uefi-arm64';

export interface VmOptions {
    name: string;
    firmware: Firmware;
    /** Scratch directory for the serial log, socket, pid file and UEFI variables. */
    workDir: string;
    /** Network namespace and tap to plug into (network boot); null with `cdrom`. */
    netns?: string;
    tap?: string;
    mac?: string;
    /** Boot this ISO image instead of the network (no NIC). */
    cdrom?: string;
    /** The CD drive's read speed in bytes a second (qemu's throttling), e.g. a USB 2 stick's; default: unlimited. */
    cdromBytesPerSecond?: number;
    memoryMiB?: number;
    /**
     * The NIC's iPXE option ROM boots (qemu's own, BIOS and UEFI), or the firmware's own PXE (UEFI only: the ROM
     * left out). Default: iPXE for BIOS, the firmware's PXE for UEFI (shim fails when loaded through iPXE's ROM;
     * with Secure Boot enforced the unsigned ROM does not load at all).
     */
    ipxe?: boolean;
    /**
     * A second network card (virtio, no option ROM) on a qemu hub with nothing else on it: a computer with two
     * cards, where the initramfs must be told which one it started from. Its MAC: `mac` with its last byte + 1.
     */
    secondNic?: boolean;
}

export interface Marker {
    /** What live-boot mounted as the medium: `10.77.0.1:/run/share-this-cd/medium` or `/dev/sr0`. */
    medium: string;
    type: string;
    firmware: string;
    secureBoot: string;
    uptime: number;
    /** Seconds from power-on (qemu started) to the marker on the console. */
    seconds: number;
}

const OVMF = '/usr/share/OVMF';
const AAVMF = '/usr/share/AAVMF';

export function firmwareLabel(f: Firmware): string {
    return { bios: 'BIOS', uefi: 'UEFI', 'uefi-secure': 'UEFI, Secure Boot', 'uefi-arm64': 'UEFI ARM64' }[f];
}

/** qemu's command line. Pure. */
export function qemuArgv(o: VmOptions, paths: { log: string; socket: string; pid: string; vars: string; monitor: string }): string[] {
    // The monitor socket lets the lab take a picture of the screen (screenText()).
    const arm = o.firmware === 'uefi-arm64';
    const argv = [arm ? 'qemu-system-aarch64' : 'qemu-system-x86_64', '-accel', 'tcg,thread=multi', '-m', String(o.memoryMiB ?? 1024), '-smp', '1',
        '-display', 'none', '-monitor', `unix:${paths.monitor},server=on,wait=off`, '-no-reboot', '-pidfile', paths.pid,
        '-chardev', `socket,id=ser0,path=${paths.socket},server=on,wait=off,logfile=${paths.log}`, '-serial', 'chardev:ser0'];
    // BIOS: SeaBIOS, iPXE and pxelinux write to the (invisible) VGA screen only; the kernel writes to the serial
    // console. (The serial graphics adapter, -device sga, would copy the screen but made pxelinux's initrd
    // download fail.)
    if (arm) {
        argv.push('-machine', 'virt', '-cpu', 'cortex-a57', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${AAVMF}/AAVMF_CODE.fd`,
            '-drive', `if=pflash,format=raw,unit=1,file=${paths.vars}`);
    } else if (o.firmware !== 'bios') {
        const code = o.firmware === 'uefi-secure' ? `${OVMF}/OVMF_CODE_4M.ms.fd` : `${OVMF}/OVMF_CODE_4M.fd`;
        argv.push('-machine', 'q35', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`,
            '-drive', `if=pflash,format=raw,unit=1,file=${paths.vars}`);
    }
    if (o.cdrom) {
        const throttle = o.cdromBytesPerSecond ? `,throttling.bps-read=${Math.round(o.cdromBytesPerSecond)}` : '';
        argv.push('-drive', `file=${o.cdrom},media=cdrom,readonly=on,if=none,id=cd0${throttle}`, '-device', 'ide-cd,drive=cd0,bootindex=0', '-nic', 'none');
    } else {
        // UEFI: by default the firmware's own PXE (shim fails when loaded through iPXE's ROM), so no option ROM.
        const rom = (o.ipxe ?? o.firmware === 'bios') ? '' : ',romfile=';
        argv.push('-netdev', `tap,id=n0,ifname=${o.tap ?? 'tap0'},script=no,downscript=no`,
            '-device', `virtio-net-pci,netdev=n0,mac=${o.mac ?? '52:54:00:12:34:56'}${rom},bootindex=0`);
        if (o.secondNic) {
            const mac = (o.mac ?? '52:54:00:12:34:56').replace(/[0-9a-f]{2}$/i, last => ((Number.parseInt(last, 16) + 1) % 256).toString(16).padStart(2, '0'));
            argv.push('-netdev', 'hubport,id=n1,hubid=1', '-device', `virtio-net-pci,netdev=n1,mac=${mac},romfile=`);
        }
    }
    return o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv;
}

/** Reads the marker line the lab image's init prints. Pure. */
export function parseMarker(line: string): Omit<Marker, 'seconds'> | null {
    const i = line.indexOf(`${MARKER} `);
    if (i < 0)
        return null;
    const fields = Object.fromEntries(line.slice(i + MARKER.length + 1).trim().split(/\s+/).map(kv => {
        const eq = kv.indexOf('=');
        return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
    }));
    return {
        medium: fields.medium ?? 'none', type: fields.type ?? 'none', firmware: fields.firmware ?? 'unknown',
        secureBoot: fields.secureboot ?? 'unknown', uptime: parseFloat(fields.uptime ?? 'NaN'),
    };
}

export class LabVm {
    readonly log: string;
    readonly socket: string;
    private readonly pidFile: string;
    private readonly vars: string;
    /** What qemu itself printed (errors such as a busy tap). */
    readonly qemuLog: string;
    private readonly monitor: string;
    private proc: Gio.Subprocess | null = null;
    /** Ended (or never started): asked of GLib, which reaps it (no callback that gjs could refuse). */
    private get exited(): boolean {
        return this.proc === null || hasExited(this.proc);
    }
    private startedAt = 0;

    constructor(readonly options: VmOptions) {
        // qemu's option syntax gives commas a meaning: file names made of the name keep to safe characters.
        const base = `${options.workDir}/${options.name.replace(/[^A-Za-z0-9_.-]+/g, '-')}`;
        this.log = `${base}.serial`;
        this.socket = `${base}.sock`;
        this.pidFile = `${base}.pid`;
        this.vars = `${base}.vars.fd`;
        this.qemuLog = `${base}.qemu`;
        this.monitor = `${base}.mon`;
    }

    private get files(): string[] {
        return [this.log, this.socket, this.pidFile, this.vars, this.qemuLog, this.monitor, `${this.monitor}.ppm`];
    }

    /** Powers the machine on. */
    start(): void {
        for (const f of this.files)
            GLib.unlink(f);
        this.console?.input.close(null);
        this.console = null;
        if (this.options.firmware !== 'bios') {
            const vars = { 'uefi-secure': `${OVMF}/OVMF_VARS_4M.ms.fd`, 'uefi-arm64': `${AAVMF}/AAVMF_VARS.fd` }[this.options.firmware as string] ?? `${OVMF}/OVMF_VARS_4M.fd`;
            Gio.File.new_for_path(vars).copy(Gio.File.new_for_path(this.vars), Gio.FileCopyFlags.OVERWRITE, null, null);
        }
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDIN_PIPE });
        launcher.set_stdout_file_path(this.qemuLog);
        launcher.set_stderr_file_path(this.qemuLog);
        this.startedAt = GLib.get_monotonic_time();
        this.proc = launcher.spawnv(qemuArgv(this.options, { log: this.log, socket: this.socket, pid: this.pidFile, vars: this.vars, monitor: this.monitor }));
    }

    get running(): boolean {
        return this.proc !== null && !this.exited;
    }

    /** Seconds since power-on. */
    get uptime(): number {
        return (GLib.get_monotonic_time() - this.startedAt) / 1e6;
    }

    /** The console read so far: complete lines (cleaned), and the bytes after the last line end. */
    private console: { input: Gio.FileInputStream; lines: string[]; partial: Uint8Array } | null = null;

    /**
     * The console so far, as lines (control characters and escape sequences removed). Read as it grows: the
     * tests ask several times a second, and reading a whole boot's console each time is much garbage to collect.
     * Bytes are decoded up to the last line end (a line end is never inside a UTF-8 character; gjs 1.74's
     * TextDecoder has no streaming mode).
     */
    consoleLines(): string[] {
        const decode = (bytes: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
        try {
            if (this.console === null) {
                if (!GLib.file_test(this.log, GLib.FileTest.EXISTS))
                    return [];
                this.console = { input: Gio.File.new_for_path(this.log).read(null), lines: [], partial: new Uint8Array(0) };
            }
            const c = this.console;
            for (;;) {
                const bytes = c.input.read_bytes(65536, null);
                if (bytes.get_size() === 0)
                    break;
                const more = bytes.toArray();
                const joined = new Uint8Array(c.partial.length + more.length);
                joined.set(c.partial);
                joined.set(more, c.partial.length);
                c.partial = joined;
            }
            const end = Math.max(c.partial.lastIndexOf(0x0a), c.partial.lastIndexOf(0x0d)) + 1;
            if (end > 0) {
                c.lines.push(...cleanConsole(decode(c.partial.subarray(0, end))));
                c.partial = c.partial.slice(end);
            }
            return c.partial.length === 0 ? [...c.lines] : [...c.lines, ...cleanConsole(decode(c.partial))];
        } catch (e) {
            console.warn(`share-this-cd-lab: ${this.options.name}: cannot read the console: ${e}`);
            return this.console?.lines.slice() ?? [];
        }
    }

    /** The last console lines; when the console is empty and qemu has ended, what qemu said instead. */
    lastLines(n = 15): string[] {
        const lines = this.consoleLines().slice(-n);
        if (lines.length > 0 || this.running)
            return lines;
        try {
            const said = new TextDecoder().decode(GLib.file_get_contents(this.qemuLog)[1]).trim();
            return said === '' ? [] : said.split('\n').slice(-n).map(l => `qemu: ${l}`);
        } catch {
            return [];
        }
    }

    /**
     * What the machine's screen shows, read with tesseract from a picture the qemu monitor takes: where the
     * serial console is silent (BIOS firmware, iPXE and pxelinux write to the screen only), the screen says how
     * far the boot came. Lines as read (OCR: letters may be misread); [] when the machine is off.
     */
    async screenText(): Promise<string[]> {
        if (!this.running)
            return [];
        const picture = `${this.monitor}.ppm`;
        GLib.unlink(picture);
        try {
            const conn = new Gio.SocketClient().connect(Gio.UnixSocketAddress.new(this.monitor), null);
            conn.get_output_stream().write_all(new TextEncoder().encode(`screendump ${picture}\n`), null);
            // The monitor writes the picture, then prompts again; wait for a complete file.
            let size = -1;
            for (let i = 0; i < 40; i++) {
                await sleep(100);
                const now = GLib.file_test(picture, GLib.FileTest.EXISTS) ? Gio.File.new_for_path(picture).query_info('standard::size', 0, null).get_size() : -1;
                if (now > 0 && now === size)
                    break;
                size = now;
            }
            conn.close(null);
        } catch (e) {
            console.warn(`share-this-cd-lab: ${this.options.name}: cannot take a picture of the screen: ${e}`);
            return [];
        }
        if (!GLib.file_test(picture, GLib.FileTest.EXISTS))
            return [];
        const lines = ocr(picture, 'vga').split('\n').map(l => l.trim()).filter(l => l !== '');
        GLib.unlink(picture);
        return lines;
    }

    /**
     * When each console line was first seen (seconds after power-on; as exact as the polling of the waits,
     * 250 ms), for the boot timeline.
     */
    readonly seenAt: number[] = [];

    private look(): string[] {
        const lines = this.consoleLines();
        const now = this.uptime;
        while (this.seenAt.length < lines.length)
            this.seenAt.push(now);
        return lines;
    }

    /** Seconds after power-on when a console line matching `re` was first seen; null if none was. */
    firstSeen(re: RegExp): number | null {
        const i = this.look().findIndex(l => re.test(l));
        return i < 0 ? null : this.seenAt[i];
    }

    /** Waits for a console line matching `re`; null when the machine stops or time runs out first. */
    async waitForLine(re: RegExp, timeoutMs: number): Promise<string | null> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        for (;;) {
            const found = this.look().find(l => re.test(l));
            if (found)
                return found;
            if (!this.running || GLib.get_monotonic_time() > deadline)
                return null;
            await sleep(250);
        }
    }

    /** Waits for the lab image's marker: the live system's init runs from the shared root. */
    async waitForMarker(timeoutMs: number): Promise<Marker | null> {
        const line = await this.waitForLine(new RegExp(`${MARKER} `), timeoutMs);
        const marker = line ? parseMarker(line) : null;
        return marker ? { ...marker, seconds: this.uptime } : null;
    }

    /** Types `text` on the serial console, as a person at its keyboard would (a line ends with \n). */
    async type(text: string): Promise<void> {
        try {
            const client = new Gio.SocketClient();
            const conn = client.connect(Gio.UnixSocketAddress.new(this.socket), null);
            conn.get_output_stream().write_all(new TextEncoder().encode(text), null);
            await sleep(300);
            conn.close(null);
        } catch (e) {
            console.warn(`share-this-cd-lab: ${this.options.name}: cannot type on the console: ${e}`);
        }
    }

    /** Types `poweroff` on the serial console; resolves when qemu has ended (or kills it after `timeoutMs`). */
    async powerOff(timeoutMs = 20000): Promise<void> {
        if (!this.running)
            return;
        await this.type(`${POWEROFF_WORD}\n`);
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while (this.running && GLib.get_monotonic_time() < deadline)
            await sleep(100);
        await this.kill();
    }

    /** Pulls the plug. */
    async kill(): Promise<void> {
        if (!this.proc || !this.running)
            return;
        this.proc.send_signal(15);
        for (let i = 0; i < 50 && this.running; i++)
            await sleep(100);
        if (this.running)
            this.proc.force_exit();
        for (let i = 0; i < 50 && this.running; i++)
            await sleep(100);
    }

    removeFiles(): void {
        this.console?.input.close(null);
        this.console = null;
        for (const f of this.files)
            GLib.unlink(f);
    }
}

/** Console text as lines: escape sequences and control characters removed, empty lines dropped. */
function cleanConsole(text: string): string[] {
    // eslint-disable-next-line no-control-regex
    return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[()][A-Z0-9]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '')
        .split(/\r?\n|\r/).map(l => l.trimEnd()).filter(l => l !== '');
}
