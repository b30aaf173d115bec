// `share-this-cd demo`: the whole product in one command, in an isolated lab. It builds (or reuses) the lab
// live image, creates a lab network out of network namespaces (this machine's real interfaces are never
// touched), shares the image with the real engine (`share-this-cd start`, as a user runs it), powers on
// virtual computers that boot from the network, shows their progress in plain words, and ends with a one-line
// verdict. Ctrl-C at any time cleans everything up.
import GLib from 'gi://GLib';

import { sleep } from '../shared/timers.ts';
import { _, format, ngettext } from '../shared/i18n.ts';
import { ensureLabImage } from '../lab/image.ts';
import { LabNet } from '../lab/net.ts';
import { LabShare, READY } from '../lab/share.ts';
import { type Firmware, LabVm, type Marker, firmwareLabel } from '../lab/vm.ts';
import { unixSignalAdd } from '../shared/mainLoop.ts';

export interface DemoOptions {
    clients: number;
    firmware: Firmware;
    proxy: boolean;
    /** Seconds a client may take from power-on to the live system. */
    timeout: number;
}

/** What a line on a client's console means, in plain words (null: not worth showing). Pure. */
export function describeConsoleLine(line: string): string | null {
    const rules: [RegExp, (m: RegExpExecArray) => string][] = [
        [/Start PXE over IPv4/, () => _("firmware: starting a network boot (PXE)")],
        [/Station IP address is (\S+)/, m => format(_("firmware: got the address {ip}"), { ip: m[1] })],
        [/NBP filename is (\S+)/, m => format(_("firmware: boot loader {file}"), { file: m[1] })],
        [/Fetching Netboot Image (\S+)/, m => format(_("shim: loading {file}"), { file: m[1] })],
        [/\] Linux version (\S+)/, m => format(_("the kernel {version} starts"), { version: m[1] })],
        [/secureboot: Secure boot (enabled|disabled)/, m => m[1] === 'enabled' ? _("Secure Boot is on") : _("Secure Boot is off")],
        [/IP-Config: \S+ complete \(dhcp from (\S+)\)/, m => format(_("initrd: network configured (DHCP from {server})"), { server: m[1].replace(/\)?:$/, '') })],
        [/Trying nfsmount .* (\S+:\S+) \/run\/live\/medium/, m => format(_("initrd: mounting the shared medium {path} over NFS"), { path: m[1] })],
        [/Mounting "\S*filesystem\.squashfs"/, () => _("initrd: mounting the live system (squashfs)")],
        [/^error: (.*)/, m => format(_("GRUB error: {message}"), { message: m[1] })],
        [/Kernel panic/, () => _("the kernel panicked")],
    ];
    for (const [re, say] of rules) {
        const m = re.exec(line);
        if (m)
            return say(m);
    }
    return null;
}

/**
 * What a client's screen (read by OCR) says about why it did not boot, in plain words; null when it shows
 * nothing known. Pure.
 */
export function explainScreen(lines: string[]): string | null {
    const text = lines.join('\n');
    // Syslinux's own fatal-error line ("kaboom"): pxelinux stopped; the server side is not involved.
    if (/Boot failed: press a key to retry/i.test(text))
        return _("its boot loader (pxelinux) gave up while loading and waits for a key press to start again (see \"Known problems\" in the README)");
    // SeaBIOS, when every boot device failed.
    if (/No bootable device/i.test(text))
        return _("its firmware found nothing to boot: the network boot did not start");
    return null;
}

function mac(i: number): string {
    return `52:54:00:5c:d0:${(0x10 + i).toString(16)}`;
}

export async function runDemo(opts: DemoOptions, cli: string): Promise<number> {
    const t0 = GLib.get_monotonic_time();
    const elapsed = (): string => ((GLib.get_monotonic_time() - t0) / 1e6).toFixed(1).padStart(5);
    const say = (text: string): void => print(`[${elapsed()} s] ${text}`);
    const lab = new LabNet('demo');
    const work = GLib.dir_make_tmp('share-this-cd-demo-XXXXXX');
    const vms: LabVm[] = [];
    let share: LabShare | null = null;
    let interrupted = false;
    let verdict = '';

    const cleanup = async (): Promise<void> => {
        for (const vm of vms)
            await vm.kill();
        if (share?.running) {
            share.signal(2);
            await share.ended().catch(() => 0);
        }
        lab.teardown();
        GLib.spawn_command_line_sync(`rm -rf ${GLib.shell_quote(work)}`);
    };
    for (const sig of [2, 15]) {
        unixSignalAdd(GLib.PRIORITY_HIGH, sig, () => {
            interrupted = true;
            return GLib.SOURCE_CONTINUE;
        });
    }

    const kind = firmwareLabel(opts.firmware);
    print(format(ngettext("Share This CD demo: {n} virtual computer ({kind}) boots, over the network, a live system shared by this one.",
        "Share This CD demo: {n} virtual computers ({kind}) boot, over the network, a live system shared by this one.", opts.clients), { n: opts.clients, kind }));
    print(_("Everything runs in an isolated lab network (network namespaces): this machine's real network is not touched."));
    try {
        say(_("Preparing the lab live image (a Debian kernel, live-boot and a tiny root file system)…"));
        const image = ensureLabImage(line => say(`  ${line}`));
        say(image.built ? format(_("Lab live image built in {s} s: {tree}"), { s: image.seconds.toFixed(0), tree: image.tree })
            : format(_("Lab live image ready (built earlier): {tree}"), { tree: image.tree }));

        lab.setup({ client: false, router: opts.proxy, taps: opts.clients });
        if (opts.proxy)
            lab.startRouterDhcp();
        say(opts.proxy
            ? format(_("Lab network: this computer is {ip} on a LAN whose router ({router}) hands out addresses."), { ip: lab.serverIp, router: lab.routerIp })
            : format(_("Lab network: this computer is {ip} on an empty LAN (no other DHCP server)."), { ip: lab.serverIp }));

        say(format(_("Running: share-this-cd start --medium {tree}"), { tree: image.tree }));
        share = new LabShare(cli, lab.srv, ['--medium', image.tree], {}, line => say(`  share | ${line}`));
        await share.waitFor(READY, 30000);

        const markers: (Marker | null)[] = [];
        const boots = Array.from({ length: opts.clients }, async (_x, i) => {
            const name = format(_("computer {n}"), { n: i + 1 });
            const vm = new LabVm({ name: `client${i + 1}`, firmware: opts.firmware, workDir: work, netns: lab.srv, tap: `tap${i}`, mac: mac(i) });
            vms.push(vm);
            say(format(_("Powering on {name} ({kind}, {mac}): it boots from the network…"), { name, kind, mac: mac(i) }));
            vm.start();
            let shown = 0;
            const deadline = GLib.get_monotonic_time() + opts.timeout * 1e6;
            for (;;) {
                const lines = vm.consoleLines();
                for (; shown < lines.length; shown++) {
                    const text = describeConsoleLine(lines[shown]);
                    if (text)
                        say(`  ${name} | ${text}`);
                }
                const m = await vm.waitForMarker(0);
                if (m) {
                    say(`  ${name} | ${format(_("the live system runs, its root on {medium} ({type}), {s} s after power-on"), { medium: m.medium, type: m.type, s: m.seconds.toFixed(1) })}`);
                    if (m.secureBoot === 'enabled')
                        say(`  ${name} | ${_("its firmware enforced Secure Boot: every step of the chain was signed")}`);
                    markers[i] = m;
                    return;
                }
                if (!vm.running || interrupted || GLib.get_monotonic_time() > deadline)
                    break;
                await sleep(500);
            }
            markers[i] = null;
            if (!interrupted) {
                say(format(_("{name} did not reach the live system within {s} s. Its last console lines:"), { name, s: opts.timeout }));
                for (const l of vm.lastLines(10))
                    say(`  ${name} | ${l}`);
                const screen = await vm.screenText();
                if (screen.length > 0) {
                    say(format(_("What the screen of {name} shows (read by text recognition):"), { name }));
                    for (const l of screen.slice(-10))
                        say(`  ${name} | ${l}`);
                    const why = explainScreen(screen);
                    if (why)
                        say(`  ${name} | ${why}`);
                }
            }
        });
        await Promise.all(boots);
        if (interrupted) {
            print(_("Interrupted: cleaning up…"));
            return 130;
        }
        const ok = markers.filter((m): m is Marker => m !== null);
        const status = share.lines.filter(l => /computers booting: \d+\)/.test(l)).at(-1);
        if (status)
            say(format(_("The engine's last client line: {line}"), { line: status }));
        for (const vm of vms)
            await vm.powerOff();
        const times = ok.map(m => `${m.seconds.toFixed(1)} s`).join(', ');
        verdict = ok.length === opts.clients
            ? format(_("Verdict: PASS — {ok} of {n} booted the shared live system over the network ({times} from power-on); the demo took {total} s."), { ok: ok.length, n: opts.clients, times, total: '{total}' })
            : format(_("Verdict: FAIL — {ok} of {n} booted the shared live system; the demo took {total} s."), { ok: ok.length, n: opts.clients, total: '{total}' });
        return ok.length === opts.clients ? 0 : 1;
    } catch (e) {
        if (interrupted) {
            print(_("Interrupted: cleaning up…"));
            return 130;
        }
        verdict = format(_("Verdict: FAIL — {message} (after {total} s)"), { message: e instanceof Error ? e.message : String(e), total: '{total}' });
        return 1;
    } finally {
        await cleanup();
        print(_("Cleaned up: the lab network, the share and the virtual computers are gone."));
        // The verdict is the last line, with the whole time, clean-up included.
        if (verdict)
            print(format(verdict, { total: ((GLib.get_monotonic_time() - t0) / 1e6).toFixed(0) }));
    }
}
