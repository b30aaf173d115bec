// Boot benchmark (prints figures; `npm run bench:boot`, root, after tools/setup.sh): the same lab live image
// booted by a qemu client (TCG) (a) from a local CD image attached to qemu (the xorriso-built hybrid ISO of
// the same tree) and (b) over the network, shared by the real engine (`share-this-cd start`) in a lab network,
// BIOS and UEFI, with and without the HTTP fast path, on an empty LAN (we hand out addresses) and on a home LAN
// (a router with DHCP and IPv6 router advertisements; we answer as proxy-DHCP). Reports power-on → the live
// system's marker with a timeline of the steps (engine events and console lines), and the ratio
// netboot / local CD per firmware (goal ≤ 1.3).
// BENCH_RUNS=N boots each case N times (default 1) and reports the median.
import GLib from 'gi://GLib';
import system from 'system';

import { ensureLabImage } from '../src/lab/image.ts';
import { LabNet } from '../src/lab/net.ts';
import { LabShare, READY } from '../src/lab/share.ts';
import { type Firmware, LabVm, firmwareLabel } from '../src/lab/vm.ts';
import { runMain } from '../src/shared/mainLoop.ts';

const CLI = `${GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0])}/share-this-cd.js`;
const RUNS = Math.max(1, Number(GLib.getenv('BENCH_RUNS') ?? '1') || 1);
const TIMEOUT = 300000;
const work = GLib.dir_make_tmp('share-this-cd-bench-boot-XXXXXX');
GLib.spawn_command_line_sync(`chmod 755 ${work}`);
const lab = new LabNet('bboot');

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)];
}

interface Boot {
    seconds: number;
    /** Milestones: name → seconds after power-on. */
    timeline: [string, number][];
}

/** Engine output lines that mark a step of the client's boot. */
const ENGINE_STEPS: [string, RegExp][] = [
    ['DHCP', /: discovered — /],
    ['boot loader', /sent (lpxelinux\.0|pxelinux\.0|bootx64\.efi) over/],
    ['kernel fetched', /sent \S*vmlinuz over/],
    ['initrd fetched', /sent \S*initrd\S* over/],
    ['NFS mounted', /: running — /],
];
/** Console lines that mark a step. */
const CONSOLE_STEPS: [string, RegExp][] = [
    ['kernel runs', /\] Linux version /],
    ['initrd network up', /IP-Config: \S+ complete/],
];

type How = { cdrom: string } | { share: string[]; homeLan?: boolean };

async function bootOnce(name: string, firmware: Firmware, how: How): Promise<Boot> {
    let share: LabShare | null = null;
    let vm: LabVm | null = null;
    const engineSeen: [string, number][] = [];
    if ('cdrom' in how) {
        vm = new LabVm({ name, firmware, workDir: work, cdrom: how.cdrom });
    } else {
        lab.setup({ client: false, taps: 1, router: how.homeLan });
        if (how.homeLan)
            lab.startRouterDhcp({ ipv6: true });
        share = new LabShare(CLI, lab.srv, how.share, {}, line => {
            for (const [step, re] of ENGINE_STEPS) {
                if (vm?.running && re.test(line) && !engineSeen.some(([s]) => s === step))
                    engineSeen.push([step, vm.uptime]);
            }
        });
        await share.waitFor(READY, 30000);
        vm = new LabVm({ name, firmware, workDir: work, netns: lab.srv, tap: 'tap0', mac: '52:54:00:be:4c:01' });
    }
    try {
        vm.start();
        const m = await vm.waitForMarker(TIMEOUT);
        if (m === null)
            throw new Error(`${name}: no marker within ${TIMEOUT / 1000} s; last console lines:\n  ${vm.lastLines().join('\n  ')}`);
        if ('cdrom' in how ? m.type !== 'iso9660' : m.type !== 'nfs')
            throw new Error(`${name}: booted from ${m.medium} (${m.type}), not from where it should`);
        const timeline: [string, number][] = [...engineSeen];
        for (const [step, re] of CONSOLE_STEPS) {
            const t = vm.firstSeen(re);
            if (t !== null)
                timeline.push([step, t]);
        }
        timeline.push(['live system', m.seconds]);
        return { seconds: m.seconds, timeline: timeline.sort((a, b) => a[1] - b[1]) };
    } finally {
        await vm.kill();
        vm.removeFiles();
        if (share) {
            share.signal(2);
            await share.ended().catch(() => 0);
            lab.teardown();
        }
    }
}

async function bench(name: string, firmware: Firmware, how: How): Promise<number> {
    const boots: Boot[] = [];
    for (let i = 0; i < RUNS; i++)
        boots.push(await bootOnce(name, firmware, how));
    const t = median(boots.map(b => b.seconds));
    const typical = boots.find(b => b.seconds === t) as Boot;
    print(`  ${name.padEnd(56)} ${t.toFixed(1).padStart(6)} s${RUNS > 1 ? `  (runs: ${boots.map(b => b.seconds.toFixed(1)).join(', ')})` : ''}`);
    print(`      ${typical.timeline.map(([step, s]) => `${step} ${s.toFixed(1)}`).join(' · ')}`);
    return t;
}

async function main(): Promise<number> {
    const image = ensureLabImage(line => print(`  ${line}`));
    print(`lab image: ${image.tree} (${image.built ? `built in ${image.seconds.toFixed(0)} s` : 'cached'}); qemu TCG, 1 vCPU, 1 GiB; ${RUNS} run(s) per case`);
    print('power-on → the live system\'s init runs (marker on the serial console):');
    const rows: string[] = [];
    for (const firmware of ['bios', 'uefi'] as Firmware[]) {
        const label = firmwareLabel(firmware);
        const local = await bench(`${label}: local CD (ISO attached to qemu)`, firmware, { cdrom: image.iso });
        const http = await bench(`${label}: network, HTTP fast path (default)`, firmware, { share: ['--medium', image.tree] });
        const tftp = await bench(`${label}: network, TFTP only (--no-http)`, firmware, { share: ['--medium', image.tree, '--no-http'] });
        // A home LAN: the router hands out addresses (we answer as proxy-DHCP) and advertises IPv6, which
        // spares iPXE's wait for an IPv6 router (about 13 s on BIOS clients).
        const home = await bench(`${label}: network, HTTP, home LAN (router: DHCP + IPv6)`, firmware, { share: ['--medium', image.tree], homeLan: true });
        rows.push(`${label}: netboot / local CD = ${(http / local).toFixed(2)} with HTTP, ${(tftp / local).toFixed(2)} TFTP only, ` +
            `${(home / local).toFixed(2)} with HTTP on a home LAN (goal ≤ 1.3)`);
    }
    for (const r of rows)
        print(r);
    return 0;
}

system.exit(runMain(async () => {
    try {
        return await main();
    } catch (e) {
        printerr(`bench-boot: ${e instanceof Error ? e.message : e}`);
        return 1;
    } finally {
        lab.teardown();
        GLib.spawn_command_line_sync(`rm -rf ${work}`);
    }
}));
