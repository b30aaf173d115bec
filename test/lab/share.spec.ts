// The sharing engine in the lab: the real `share-this-cd start` in a network namespace, real clients.
import GLib from 'gi://GLib';

import { CLI, LazyTmpDir, removeTree } from '../support/helpers.ts';
import {
    CLIENT, CLIENT_MAC, LAB_STATE_DIR, NOTHING_LEFT, ROUTER_LEASES, ROUTER_LOG, RTR_IP, RunningShare, SRV, SRV_IP, cliInServer, clientDhcp,
    leftovers, makeMedium, ns, nsTry, processesMatching, pxeProbe, RUNTIME, setupNet, sh, sha256, sleep, solicitRouter, startRouterDhcp, startShare, status, teardownNet, waitStatus,
    type Status, type StatusClient,
} from '../support/lab.ts';
import { FirewalldLab, UfwLab } from '../support/firewalls.ts';
import { LabProcess, LabShare, READY } from '../../src/lab/share.ts';
import { namespaces } from '../../src/lab/net.ts';
import { isRunning } from '../../src/shared/stages.ts';

const TIMEOUT = 90000;

/** The boot file of an answer: in the BOOTP file field, or in option 67 when the client asked for it. */
function bootFile(answer: Record<string, unknown> | undefined): unknown {
    return answer ? answer.file || answer.bootfile67 : undefined;
}


async function stopAndCheck(share: RunningShare): Promise<void> {
    share.signal(2);
    expect(await share.ended()).withContext(share.output).toBe(0);
    expect(share.output).toContain('Stopped: nothing of the share is left running.');
    expect(leftovers()).toEqual(NOTHING_LEFT);
}

describe('sharing in the lab', () => {
    let medium: string;
    const tmpDir = new LazyTmpDir('share-this-cd-lab-XXXXXX');

    beforeAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        medium = makeMedium();
    });
    afterAll(() => {
        teardownNet();
        removeTree(medium);
        tmpDir.remove();
    });
    // A failed expectation must not leave a share running into the next spec.
    afterEach(() => {
        if (GLib.file_test('/run/share-this-cd/journal.json', GLib.FileTest.EXISTS) && !currentShareKeeps)
            cliInServer(['stop', '--force']);
    });
    let currentShareKeeps = false;

    describe('on an empty LAN (full DHCP)', () => {
        let share: RunningShare;

        beforeAll(async () => {
            setupNet();
            share = await startShare(['--medium', medium]);
            currentShareKeeps = true;
        }, TIMEOUT);
        afterAll(async () => {
            currentShareKeeps = false;
            if (share.running)
                await stopAndCheck(share);
            teardownNet();
        }, TIMEOUT);

        it('chose full DHCP because no other DHCP server answered', () => {
            expect(share.output).toContain('No DHCP server answered: this computer hands out addresses itself (full DHCP).');
            expect(share.output).toMatch(/Sharing .* on br0 \(10\.77\.0\.1\), full DHCP mode, HTTP on port 80; ready in \d+ ms \(DHCP probe \d+ ms\)\./);
        });

        it('offers BIOS PXE clients an address and lpxelinux.0, UEFI clients bootx64.efi, from this server', () => {
            const bios = pxeProbe(0).filter(o => o.server === SRV_IP);
            expect(bios.length).toBeGreaterThan(0);
            expect(bios[0]).toEqual(jasmine.objectContaining({ givesAddress: true, siaddr: SRV_IP }));
            expect(bootFile(bios[0])).toBe('lpxelinux.0');
            expect(bios[0].yiaddr).toMatch(/^10\.77\.0\.\d+$/);
            for (const arch of [7, 9]) {
                const uefi = pxeProbe(arch).filter(o => o.server === SRV_IP);
                expect(uefi[0]).withContext(`arch ${arch}`).toEqual(jasmine.objectContaining({ givesAddress: true, siaddr: SRV_IP }));
                expect(bootFile(uefi[0])).withContext(`arch ${arch}`).toBe('bootx64.efi');
            }
        });

        it('answers an IPv6 router solicitation with an advertisement that announces nothing (lifetime 0, no prefix, no DHCPv6)', () => {
            const ra = solicitRouter();
            expect(ra).toEqual(jasmine.objectContaining({ lifetime: 0, prefixes: [], managed: false, other: false, hopLimit: 'undefined' }));
            expect(ra?.from).toMatch(/^fe80:/);
        });

        it('gives udhcpc and dhclient an address in its range', () => {
            const dhclientLease = `${tmpDir.path}/dhclient.leases`;
            const r = nsTry(CLIENT, ['dhclient', '-1', '-v', '-sf', '/bin/true', '-lf', dhclientLease, '-pf', `${tmpDir.path}/dhclient.pid`, 'eth0']);
            expect(`${r.stdout}${r.stderr}`).toMatch(/bound to 10\.77\.0\.\d+/);
            const pid = sh(['cat', `${tmpDir.path}/dhclient.pid`]).stdout.trim();
            if (/^\d+$/.test(pid))
                sh(['kill', pid]);
            const lease = clientDhcp('PXEClient:Arch:00000:UNDI:002001');
            expect(lease.server).toBe(SRV_IP);
            expect(lease.address).toMatch(/^10\.77\.0\.(\d+)$/);
            expect(lease.address).not.toBe(SRV_IP);
        });

        it('serves boot loader, menu, kernel and initrd over TFTP, byte-identical', () => {
            const get = (remote: string): string => {
                const local = `${tmpDir.path}/${remote.replace(/\//g, '_')}`;
                ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', remote, local]);
                return local;
            };
            expect(sha256(get('lpxelinux.0'))).toBe(sha256('/usr/lib/PXELINUX/lpxelinux.0'));
            expect(sha256(get('ldlinux.c32'))).toBe(sha256('/usr/lib/syslinux/modules/bios/ldlinux.c32'));
            expect(sh(['cat', get('pxelinux.cfg/default')]).stdout).toContain(`KERNEL http://${SRV_IP}/medium/casper/vmlinuz`);
            expect(sha256(get('bootx64.efi'))).toBe(sha256('/usr/lib/shim/shimx64.efi.signed'));
            expect(sh(['cat', get('grub/grub.cfg')]).stdout).toContain(`set sharecd=(http,${SRV_IP})/medium`);
            expect(sha256(get('medium/casper/vmlinuz'))).toBe(sha256(`${medium}/casper/vmlinuz`));
            expect(sha256(get('medium/casper/initrd'))).toBe(sha256(`${medium}/casper/initrd`));
        });

        it('serves kernel and initrd over HTTP, byte-identical, and nothing outside the tree', () => {
            for (const f of ['casper/vmlinuz', 'casper/initrd']) {
                const local = `${tmpDir.path}/http-${f.replace('/', '_')}`;
                ns(CLIENT, ['curl', '-sSf', '-o', local, `http://${SRV_IP}/medium/${f}`]);
                expect(sha256(local)).toBe(sha256(`${medium}/${f}`));
            }
            const code = (url: string, ...extra: string[]): string => nsTry(CLIENT, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...extra, url]).stdout;
            expect(code(`http://${SRV_IP}/../../etc/passwd`, '--path-as-is')).not.toBe('200');
            expect(code(`http://${SRV_IP}/medium/../../../etc/passwd`, '--path-as-is')).not.toBe('200');
            expect(code(`http://${SRV_IP}/medium/casper/`)).not.toBe('200'); // no listings
            expect(code(`http://${SRV_IP}/medium/x`, '-X', 'PUT', '--data', 'x')).toBe('403');
        });

        it('offers iPXE clients (user class iPXE, option 175) their iPXE script over HTTP instead, which names kernel and initrd over HTTP', () => {
            const bios = pxeProbe(0, { ipxe: true }).filter(o => o.server === SRV_IP);
            expect(bios[0]).toEqual(jasmine.objectContaining({ givesAddress: true, siaddr: SRV_IP }));
            expect(bootFile(bios[0])).toBe(`http://${SRV_IP}/ipxe/bios.ipxe`);
            expect(bootFile(pxeProbe(7, { ipxe: true }).filter(o => o.server === SRV_IP)[0])).toBe(`http://${SRV_IP}/ipxe/uefi.ipxe`);
            // As iPXE does next: an address (it then fetches the script, the kernel and the initrd).
            expect(clientDhcp('PXEClient:Arch:00000:UNDI:002001').server).toBe(SRV_IP);
            for (const firmware of ['bios', 'uefi']) {
                const script = ns(CLIENT, ['curl', '-sf', `http://${SRV_IP}/ipxe/${firmware}.ipxe`]).stdout;
                expect(script.startsWith('#!ipxe\n')).withContext(firmware).toBeTrue();
                const kernel = /^kernel (\S+) /m.exec(script)?.[1] ?? '';
                const initrd = /^initrd --name \S+ (\S+) /m.exec(script)?.[1] ?? '';
                expect(kernel).withContext(firmware).toMatch(new RegExp(`^http://${SRV_IP.replace(/\./g, '\\.')}/medium/`));
                ns(CLIENT, ['curl', '-sf', '-o', `${tmpDir.path}/ipxe-kernel`, kernel]);
                ns(CLIENT, ['curl', '-sf', '-o', `${tmpDir.path}/ipxe-initrd`, initrd]);
                expect(sha256(`${tmpDir.path}/ipxe-kernel`)).toBe(sha256(`${medium}/${kernel.replace(/^.*?\/medium\//, '')}`));
                expect(sha256(`${tmpDir.path}/ipxe-initrd`)).toBe(sha256(`${medium}/${initrd.replace(/^.*?\/medium\//, '')}`));
            }
        });

        it('exports the medium read-only over NFS (v3 and v4), byte-identical, with .disk', () => {
            const ls = ns(CLIENT, ['nfs-ls', `nfs://${SRV_IP}${RUNTIME}/nfs/casper/`]).stdout;
            expect(ls).toContain('minimal.standard.live.squashfs');
            const local = `${tmpDir.path}/nfs-squashfs`;
            sh(['sh', '-c', `ip netns exec ${CLIENT} nfs-cat nfs://${SRV_IP}${RUNTIME}/nfs/casper/minimal.standard.live.squashfs > ${local}`]);
            expect(sha256(local)).toBe(sha256(`${medium}/casper/minimal.standard.live.squashfs`));
            expect(ns(CLIENT, ['nfs-cat', `nfs://${SRV_IP}${RUNTIME}/nfs/.disk/info?version=4`]).stdout).toContain('Ubuntu 24.04.1 LTS');
            sh(['sh', '-c', `echo hello > ${tmpDir.path}/w.txt`]);
            const write = nsTry(CLIENT, ['nfs-cp', `${tmpDir.path}/w.txt`, `nfs://${SRV_IP}${RUNTIME}/nfs/written.txt`]);
            expect(write.status).not.toBe(0);
            expect(GLib.file_test(`${medium}/written.txt`, GLib.FileTest.EXISTS)).toBeFalse();
        });

        it('tracks the client through its stages, with its arch, in status --json', async () => {
            const first = await waitStatus(s => s.clients.some(c => c.mac === CLIENT_MAC && c.stage !== 'discovered'), 'the client loading');
            const c = first.clients.find(x => x.mac === CLIENT_MAC) as StatusClient;
            expect(c.arch).not.toBe('unknown');
            expect(c.fetched).toEqual(jasmine.arrayContaining(['bootloader', 'menu', 'kernel', 'initrd']));
            // Hold an NFS connection open (the reader is slow), as a booted client does.
            const slow = sh(['sh', '-c', `(ip netns exec ${CLIENT} nfs-cat nfs://${SRV_IP}${RUNTIME}/nfs/casper/minimal.standard.live.squashfs | (sleep 6; cat > /dev/null)) > /dev/null 2>&1 & echo $!`]);
            expect(slow.status).toBe(0);
            const running = await waitStatus(s => s.clients.some(x => x.mac === CLIENT_MAC && isRunning(x)), 'the client running');
            expect(running.clientCount).toBe(1);
            // The engine writes status.json and prints the event; its output reaches us a moment later.
            await share.waitFor(/52:54:00:aa:00:02 \((BIOS|UEFI)\) 10\.77\.0\.\d+: running — mounted the live system over NFS \(computers booting: 1\)/, 5000);
            // Silent for SHARE_THIS_CD_GONE_AFTER (4 s in the lab) after the connection closes → gone.
            const gone = await waitStatus(s => s.clients.every(x => x.stage === 'gone'), 'the client gone', 25000);
            expect(gone.clientCount).toBe(0);
            expect(cliInServer(['clients']).stdout).toContain(`${CLIENT_MAC}`);
        });
    });

    describe('when a DHCP server appears on a LAN we hand out addresses on', () => {
        // A second network-boot server, as another Share This CD would be: a plain proxy-DHCP dnsmasq on the LAN.
        const OTHER = 'labpxe';
        const OTHER_IP = '10.77.0.3';
        let otherPid: string | null = null;

        beforeAll(() => setupNet({ router: true }));
        afterAll(() => {
            if (otherPid !== null)
                sh(['kill', otherPid]);
            sh(['ip', 'netns', 'del', OTHER]);
            teardownNet();
        });

        it('stops offering addresses within 10 s and goes on as proxy-DHCP; the user is told; another boot server is reported', async () => {
            const share = await startShare(['--medium', medium]);
            expect(share.output).toContain('No DHCP server answered: this computer hands out addresses itself (full DHCP).');
            // Every DHCP answer on the client's wire, with its time; a client asks for an address twice a second.
            const capture = `${tmpDir.path}/rival.pcap`;
            const tcpdump = sh(['sh', '-c', `ip netns exec ${CLIENT} tcpdump -i eth0 -n -U -w ${capture} udp src port 67 > /dev/null 2>&1 & echo $!`]).stdout.trim();
            const asking = sh(['sh', '-c', `ip netns exec ${CLIENT} sh -c 'while :; do gjs -m ${GLib.path_get_dirname(CLI)}/pxe-probe.js eth0 0 --wait 300; done' > /dev/null 2>&1 & echo $!`]).stdout.trim();
            const fullDhcpGrub = sha256(`${RUNTIME}/tftp/grubx64.efi`);
            const offersFrom = (server: string, t0 = 0): number[] => sh(['tcpdump', '-tt', '-n', '-v', '-r', capture]).stdout.split(/\n(?=\d)/)
                .filter(p => p.includes(`${server}.67 >`) && /Your-IP (?!0\.0\.0\.0)/.test(p)).map(p => Number.parseFloat(p) - t0);
            // We hand out addresses (the first offer comes after dnsmasq pinged the address, ~3 s).
            for (let i = 0; i < 50 && offersFrom(SRV_IP).length === 0; i++)
                await sleep(200);
            const routerOn = GLib.get_real_time() / 1e6;
            startRouterDhcp();
            const told = `Note: Another DHCP server (${RTR_IP}) started handing out addresses on this network: this computer stopped handing out addresses and only adds the boot information now (proxy-DHCP). Computers still start from it.`;
            await share.waitFor(new RegExp(told.replace(/[().]/g, '\\$&')), 15000);
            const toldAfter = GLib.get_real_time() / 1e6 - routerOn;
            await sleep(4000);
            sh(['kill', asking]);
            sh(['kill', tcpdump]);
            await sleep(300);
            // On the wire: our offers with an address (Your-IP) stop within 10 s of the router's server starting.
            const offersFromUs = offersFrom(SRV_IP);
            const last = Math.max(...offersFromUs) - routerOn;
            console.log(`rival: told after ${toldAfter.toFixed(1)} s; our last address offer ${last.toFixed(1)} s after the router's DHCP server started; ${offersFromUs.length} offers from us in all`);
            expect(offersFromUs.filter(t => t < routerOn).length).toBeGreaterThan(0);
            expect(last).toBeLessThan(10);
            expect(toldAfter).toBeLessThan(10);
            expect(offersFrom(RTR_IP).length).toBeGreaterThan(0);
            // The address now comes from the router, the boot answer from us, with the GRUB of proxy-DHCP for UEFI.
            const lease = clientDhcp('PXEClient:Arch:00000:UNDI:002001');
            expect(lease.server).toBe(RTR_IP);
            const offers = pxeProbe(0);
            expect(offers.filter(o => o.server === SRV_IP).every(o => o.givesAddress === false)).toBeTrue();
            expect(offers.some(o => o.server === SRV_IP)).toBeTrue();
            expect(pxeProbe(0, { ask4011: true, clientIp: lease.address }).find(o => o.kind === 'boot-server')).toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'lpxelinux.0' }));
            expect(pxeProbe(7, { ask4011: true, clientIp: lease.address }).find(o => o.kind === 'boot-server')).toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'bootx64.efi' }));
            ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', 'grubx64.efi', `${tmpDir.path}/grub-proxy.efi`]);
            expect(sha256(`${tmpDir.path}/grub-proxy.efi`)).toBe(sha256(`${RUNTIME}/tftp/grubx64.efi`));
            expect(sha256(`${tmpDir.path}/grub-proxy.efi`)).not.toBe(fullDhcpGrub);
            // The LAN has a router now: no more router advertisements from us.
            expect(solicitRouter()).toBeNull();
            const st = status() as Status & { notices: string[] };
            expect(st.mode).toBe('proxy');
            expect(st.notices).toContain(told.slice('Note: '.length));
            expect(share.running).toBeTrue();

            // A second network-boot server on the LAN is reported once.
            sh(['ip', 'netns', 'add', OTHER]);
            sh(['ip', '-n', SRV, 'link', 'add', 's-pxe', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OTHER]);
            sh(['ip', '-n', SRV, 'link', 'set', 's-pxe', 'master', 'br0', 'up']);
            sh(['ip', '-n', OTHER, 'addr', 'add', `${OTHER_IP}/24`, 'dev', 'eth0']);
            sh(['ip', '-n', OTHER, 'link', 'set', 'eth0', 'up']);
            const other = sh(['sh', '-c', `ip netns exec ${OTHER} dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --no-resolv --no-hosts --interface=eth0 --bind-interfaces --dhcp-range=10.77.0.0,proxy --pxe-service=x86PC,Other,pxelinux --dhcp-leasefile=${tmpDir.path}/other.leases --log-facility=- > ${tmpDir.path}/other.log 2>&1 & echo $!`]);
            otherPid = other.stdout.trim();
            const reported = 'Another computer (10.77.0.3) also answers network boots; computers may start from either.';
            // (proxy-DHCP probes every 30 s: within a period and 4 s)
            await share.waitFor(new RegExp(reported.replace(/[().]/g, '\\$&')), 50000).catch(e => {
                throw new Error(`${e}\nthe other server's output:\n${sh(['cat', `${tmpDir.path}/other.log`]).stdout}`);
            });
            await sleep(31000);
            expect(share.output.split(`Note: ${reported}`).length - 1).toBe(1);
            sh(['kill', otherPid]);
            otherPid = null;
            await stopAndCheck(share);
        }, 180000);
    });

    /** The client's boot, over TFTP, HTTP and NFS, after a DHCP answer from us. */
    function clientBoots(): void {
        const lease = clientDhcp('PXEClient:Arch:00000:UNDI:002001');
        expect(lease.server).toBe(SRV_IP);
        ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', 'lpxelinux.0', `${tmpDir.path}/fw.0`]);
        expect(sha256(`${tmpDir.path}/fw.0`)).toBe(sha256('/usr/lib/PXELINUX/lpxelinux.0'));
        ns(CLIENT, ['curl', '-sSf', '-o', `${tmpDir.path}/fw-vmlinuz`, `http://${SRV_IP}/medium/casper/vmlinuz`]);
        expect(sha256(`${tmpDir.path}/fw-vmlinuz`)).toBe(sha256(`${medium}/casper/vmlinuz`));
        expect(ns(CLIENT, ['nfs-ls', `nfs://${SRV_IP}${RUNTIME}/nfs/casper/`]).stdout).toContain('vmlinuz');
    }

    describe('behind a firewall that drops what it does not know', () => {
        // A typical default-drop ruleset: established connections and loopback only.
        const RULES = 'table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif "lo" accept\n }\n}\n';
        const ruleset = (): string => ns(SRV, ['nft', 'list', 'ruleset']).stdout;
        let before = '';

        beforeAll(() => {
            setupNet();
            const r = sh(['ip', 'netns', 'exec', SRV, 'nft', '-f', '-'], RULES);
            if (r.status !== 0)
                throw new Error(`nft: ${r.stderr}`);
            before = ruleset();
        });
        afterAll(() => teardownNet());

        it('without opening it, a client gets no answer from us (the lab shows why the step is needed)', async () => {
            const share = await startShare(['--medium', medium], { SHARE_THIS_CD_OPEN_FIREWALL: '0' });
            expect(pxeProbe(0, { waitMs: 5000 }).filter(o => o.server === SRV_IP)).toEqual([]);
            await stopAndCheck(share);
            expect(ruleset()).toBe(before);
        });

        it('opens our ports on our interface: the client gets its address and boot files over TFTP, HTTP and NFS; stop puts the rules back as they were', async () => {
            const share = await startShare(['--medium', medium]);
            expect(share.output).toContain('Letting the share through the firewall (nftables inet filter input) on br0…');
            expect(ruleset()).toContain('iifname "br0" udp dport { 67, 68, 4011 } accept comment "share-this-cd');
            clientBoots();
            const offers = pxeProbe(0).filter(o => o.server === SRV_IP);
            expect(offers.map(bootFile)).withContext(JSON.stringify(offers)).toContain('lpxelinux.0');
            await stopAndCheck(share);
            expect(ruleset()).toBe(before);
        });

        it('after the owner was killed, the next stop closes the firewall again', async () => {
            const share = await startShare(['--medium', medium]);
            share.signal(9);
            await share.ended();
            expect(ruleset()).toContain('comment "share-this-cd');
            const r = cliInServer(['stop']);
            expect(r.stdout).toContain('Cleaned up after a share that was not running any more.');
            expect(ruleset()).toBe(before);
            expect(leftovers()).toEqual(NOTHING_LEFT);
        });
    });

    describe('behind firewalld (its default zone rejects what it does not know)', () => {
        const firewalld = new FirewalldLab();
        const ruleset = (): string => ns(SRV, ['nft', 'list', 'ruleset']).stdout;
        // The user's own rule, the same as one of ours: neither added again nor taken away.
        const USERS = 'rule family="ipv4" source address="10.77.0.0/24" port port="69" protocol="udp" accept';

        beforeAll(async () => {
            setupNet();
            await firewalld.start();
            expect(firewalld.cmd(['--add-rich-rule', USERS]).status).toBe(0);
        });
        afterAll(async () => {
            await firewalld.stop();
            teardownNet();
        });

        it('without opening it, a client gets no answer from us', async () => {
            const share = await startShare(['--medium', medium], { SHARE_THIS_CD_OPEN_FIREWALL: '0', DBUS_SYSTEM_BUS_ADDRESS: firewalld.address });
            expect(pxeProbe(0, { waitMs: 5000 }).filter(o => o.server === SRV_IP)).toEqual([]);
            await stopAndCheck(share);
        });

        it('is asked through its D-Bus API for rules in the interface\'s zone, from the shared network only; the client boots; stop leaves its rules and ruleset as they were', async () => {
            const rulesBefore = firewalld.cmd(['--list-rich-rules']).stdout;
            const nftBefore = ruleset();
            const share = await startShare(['--medium', medium], { DBUS_SYSTEM_BUS_ADDRESS: firewalld.address });
            expect(share.output).toContain('Letting the share through the firewall (firewalld) on br0…');
            expect(share.output).not.toContain('(nftables'); // firewalld's own tables are left to it
            const rules = firewalld.cmd(['--list-rich-rules']).stdout.trim().split('\n');
            expect(rules).toContain('rule family="ipv4" source address="0.0.0.0" port port="67" protocol="udp" accept');
            expect(rules).toContain('rule family="ipv4" source address="10.77.0.0/24" port port="2049" protocol="tcp" accept');
            expect(rules.filter(r => r === USERS).length).toBe(1);
            // Run time only: nothing in the permanent configuration.
            expect(firewalld.cmd(['--permanent', '--list-rich-rules']).stdout.trim()).toBe('');
            clientBoots();
            await stopAndCheck(share);
            expect(firewalld.cmd(['--list-rich-rules']).stdout).toBe(rulesBefore);
            expect(ruleset()).toBe(nftBefore);
        });
    });

    describe('behind ufw (enabled: incoming traffic denied)', () => {
        const ufw = new UfwLab();
        let before = '';

        beforeAll(() => {
            setupNet();
            // The user's own rules: one of them the same as part of ours would be (kept either way).
            for (const args of [['allow', '80/tcp'], ['--force', 'enable']])
                expect(ufw.ufw(args).status).toBe(0);
            before = ufw.files();
        });
        afterAll(() => {
            teardownNet();
            ufw.remove();
        });

        const start = async (env: Record<string, string> = {}): Promise<LabShare> => {
            const share = new LabShare(CLI, SRV, ['--medium', medium], { SHARE_THIS_CD_GONE_AFTER: '4', ...env }, () => {}, ufw.wrapper());
            await share.waitFor(READY);
            return share;
        };

        it('without opening it, a client gets no answer from us', async () => {
            const share = await start({ SHARE_THIS_CD_OPEN_FIREWALL: '0' });
            expect(pxeProbe(0, { waitMs: 5000 }).filter(o => o.server === SRV_IP)).toEqual([]);
            await stopAndCheck(share);
        });

        it('gets our rules through ufw\'s commands, on the shared interface only; the client boots; stop leaves ufw\'s rules as they were', async () => {
            const share = await start();
            expect(share.output).toContain('Letting the share through the firewall (ufw) on br0…');
            expect(share.output).not.toContain('(nftables ip filter'); // ufw's chains are left to ufw
            const added = ufw.ufw(['show', 'added']).stdout;
            expect(added).toMatch(/^ufw allow in on br0 to any port 67,68,4011 proto udp comment 'share-this-cd \d+'$/m);
            expect(added).toMatch(/^ufw allow in on br0 to any port 69,111,2049 proto udp comment 'share-this-cd \d+'$/m);
            expect(added).toMatch(/^ufw allow in on br0 to any port 80,111,2049,20048 proto tcp comment 'share-this-cd \d+'$/m);
            clientBoots();
            await stopAndCheck(share);
            expect(ufw.files()).toBe(before);
            expect(ufw.ufw(['show', 'added']).stdout).toContain('ufw allow 80/tcp');
        });
    });

    describe('on a LAN with a router that runs DHCP', () => {
        beforeAll(() => {
            setupNet({ router: true });
            startRouterDhcp();
        });
        afterAll(() => teardownNet());

        it('refuses --mode dhcp, naming the router, and leaves nothing behind', async () => {
            const share = new RunningShare(['--medium', medium, '--mode', 'dhcp']);
            expect(await share.ended(20000)).toBe(1);
            expect(share.output).toContain(`Another DHCP server (${RTR_IP}) already hands out addresses on this network: a second one would break it. Use the automatic or proxy mode.`);
            expect(leftovers()).toEqual(NOTHING_LEFT);
        });

        it('picks proxy-DHCP: the address comes from the router, the boot file from us, and we offer no address', async () => {
            const share = await startShare(['--medium', medium]);
            expect(share.output).toContain(`The network has a DHCP server (${RTR_IP}): it keeps handing out addresses; this computer only adds the boot information (proxy-DHCP).`);
            // Capture every DHCP answer on the client's wire while it boots.
            const capture = `${tmpDir.path}/dhcp.pcap`;
            const tcpdump = sh(['sh', '-c', `ip netns exec ${CLIENT} tcpdump -i eth0 -n -U -w ${capture} udp src port 67 > /dev/null 2>&1 & echo $!`]).stdout.trim();
            await sleep(500);
            const offers = pxeProbe(0);
            const ours = offers.filter(o => o.server === SRV_IP);
            const router = offers.filter(o => o.server === RTR_IP);
            expect(router[0]).toEqual(jasmine.objectContaining({ givesAddress: true }));
            expect(ours.length).toBeGreaterThan(0);
            expect(ours.every(o => o.givesAddress === false && o.yiaddr === '0.0.0.0' && o.vendor === 'PXEClient')).toBeTrue();
            const lease = clientDhcp('PXEClient:Arch:00000:UNDI:002001');
            expect(lease.server).toBe(RTR_IP);
            expect(lease.address).toMatch(/^10\.77\.0\.(5\d|[6-9]\d)$/);
            expect(sh(['cat', ROUTER_LEASES]).stdout).toContain(CLIENT_MAC);
            // The PXE boot-server step (port 4011) names the boot file for each firmware.
            const bios = pxeProbe(0, { ask4011: true, clientIp: lease.address }).find(o => o.kind === 'boot-server');
            expect(bios).toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'lpxelinux.0' }));
            const uefi = pxeProbe(7, { ask4011: true, clientIp: lease.address }).find(o => o.kind === 'boot-server');
            expect(uefi).toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'bootx64.efi' }));
            // iPXE clients are named their script (TFTP from the boot server, as proxy-DHCP gives files).
            expect(pxeProbe(0, { ask4011: true, clientIp: lease.address, ipxe: true }).find(o => o.kind === 'boot-server'))
                .toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'ipxe/bios.ipxe' }));
            expect(pxeProbe(7, { ask4011: true, clientIp: lease.address, ipxe: true }).find(o => o.kind === 'boot-server'))
                .toEqual(jasmine.objectContaining({ server: SRV_IP, file: 'ipxe/uefi.ipxe' }));
            // A LAN with a router of its own: we say nothing about routers (the router in the lab sends no RA either).
            expect(solicitRouter()).toBeNull();
            // Files come from us although the address came from the router.
            ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', 'lpxelinux.0', `${tmpDir.path}/proxy.0`]);
            expect(sha256(`${tmpDir.path}/proxy.0`)).toBe(sha256('/usr/lib/PXELINUX/lpxelinux.0'));
            // On the wire: every DHCP answer from us carries no address (Your-IP 0.0.0.0); the router's do.
            sh(['kill', tcpdump]);
            await sleep(300);
            const packets = sh(['tcpdump', '-n', '-v', '-r', capture]).stdout.split(/\n(?=\S)/);
            const fromUs = packets.filter(p => p.includes(`${SRV_IP}.67 >`));
            const fromRouter = packets.filter(p => p.includes(`${RTR_IP}.67 >`));
            expect(fromUs.length).toBeGreaterThan(0);
            expect(fromRouter.length).toBeGreaterThan(0);
            expect(fromUs.filter(p => /Your-IP (?!0\.0\.0\.0)/.test(p))).toEqual([]);
            expect(fromRouter.some(p => /Your-IP 10\.77\.0\.\d+/.test(p))).toBeTrue();
            expect(sh(['cat', ROUTER_LOG]).stdout).toContain('DHCPACK(eth0)');
            await stopAndCheck(share);
        });
    });

    describe('when only allowed computers may start (a library\'s room)', () => {
        // A card of a real maker (Intel), so that its name comes from the IEEE list.
        const MAC = '00:1b:21:0a:00:02';
        let share: RunningShare;

        beforeAll(async () => {
            setupNet();
            ns(CLIENT, ['ip', 'link', 'set', 'eth0', 'address', MAC]);
            sh(['rm', '-rf', LAB_STATE_DIR]);
            expect(cliInServer(['computers', 'access', 'allowed']).status).toBe(0);
            share = await startShare(['--medium', medium]);
            currentShareKeeps = true;
        }, TIMEOUT);
        afterAll(async () => {
            currentShareKeeps = false;
            if (share?.running) {
                cliInServer(['stop', '--force']);
                await share.ended();
            }
            teardownNet();
        }, TIMEOUT);

        /** PXE answers from us to the client within a few tries (the share takes the new list in a moment). */
        async function answers(want: boolean): Promise<Record<string, unknown>[]> {
            let got: Record<string, unknown>[] = [];
            for (let i = 0; i < 8; i++) {
                got = pxeProbe(0, { waitMs: 1500 }).filter(o => o.server === SRV_IP);
                if ((got.length > 0) === want)
                    return got;
                await sleep(300);
            }
            return got;
        }

        it('gives an unknown computer no answer at all and lists it as waiting, with its card\'s maker', async () => {
            expect(await answers(false)).toEqual([]);
            const s = await waitStatus(x => x.clients.some(c => c.mac === MAC && c.stage === 'waiting'), 'the computer waiting');
            expect(s.clientCount).toBe(0);
            expect(s.clients.find(c => c.mac === MAC)).toEqual(jasmine.objectContaining({ arch: 'bios', access: '', name: '', vendor: jasmine.stringMatching(/^Intel/) }));
            expect(cliInServer(['computers', 'list']).stdout).toMatch(new RegExp(`^${MAC}\t-\t-\tIntel[^\t]*\tBIOS\twaiting\t`, 'm'));
        });

        it('once allowed and named, answers it (PXE, an address, its boot files) and shows its name in status, clients and the log', async () => {
            expect(cliInServer(['computers', 'allow', MAC, '--name', 'Desk 4']).status).toBe(0);
            const offer = await answers(true);
            expect(bootFile(offer[0])).toBe('lpxelinux.0');
            const lease = clientDhcp();
            expect(lease.server).toBe(SRV_IP);
            const tftp = ns(CLIENT, ['sh', '-c', `cd /tmp && tftp ${SRV_IP} -c get lpxelinux.0 /dev/null`]);
            expect(tftp.status).withContext(tftp.stderr).toBe(0);
            const s = await waitStatus(x => x.clients.some(c => c.mac === MAC && c.stage === 'loading'), 'the computer loading');
            expect(s.clients.find(c => c.mac === MAC)).toEqual(jasmine.objectContaining({ name: 'Desk 4', access: 'allowed' }));
            expect(cliInServer(['clients']).stdout).toMatch(/^Desk 4 \(00:1b:21:0a:00:02, Intel[^,]*, BIOS\) 10\.77\.0\.\d+\tloading\t/m);
            await share.waitFor(/Desk 4 \(00:1b:21:0a:00:02, Intel[^,]*, BIOS\) 10\.77\.0\.\d+: loading/, 5000);
        });

        it('forgotten, it gets no answer again; any computer: it does', async () => {
            expect(cliInServer(['computers', 'forget', MAC]).status).toBe(0);
            // The command returns once our DHCP server answers the new list (root writes the settings file, the
            // share follows it): from the first probe on, no answer from us, asked until our DHCP server saw the
            // computer and ignored it.
            const answering = (): unknown => (JSON.parse(cliInServer(['status', '--json']).stdout) as { answering?: unknown }).answering;
            expect(answering()).toEqual([]);
            let waiting: unknown = null;
            for (let i = 0; i < 8 && waiting === null; i++) {
                expect(pxeProbe(0, { waitMs: 1500 }).filter(o => o.server === SRV_IP)).toEqual([]);
                waiting = await waitStatus(x => x.clients.some(c => c.mac === MAC && c.stage === 'waiting' && c.name === ''), 'the computer waiting again', 2000)
                    .catch(() => null);
            }
            expect(waiting).withContext(JSON.stringify(status())).not.toBeNull();
            expect(cliInServer(['computers', 'access', 'any']).status).toBe(0);
            expect(answering()).toBeNull();
            expect((await answers(true)).length).toBeGreaterThan(0);
            expect(cliInServer(['computers', 'allow', MAC, '--name', 'Desk 4']).status).toBe(0);
            expect(cliInServer(['computers', 'access', 'allowed']).status).toBe(0);
            expect(answering()).toEqual([MAC]);
            expect((await answers(true)).length).toBeGreaterThan(0);
        });

        it('asks before stopping a computer that runs from it: without a terminal, stop needs --force and names it', async () => {
            // No question while nothing runs from the share (the computer only loaded its boot files).
            expect(cliInServer(['status']).status).toBe(0);
            const slow = sh(['sh', '-c', `(ip netns exec ${CLIENT} nfs-cat nfs://${SRV_IP}${RUNTIME}/nfs/casper/minimal.standard.live.squashfs | (sleep 8; cat > /dev/null)) > /dev/null 2>&1 & echo $!`]);
            expect(slow.status).toBe(0);
            await waitStatus(x => x.clients.some(c => c.mac === MAC && isRunning(c)), 'the computer running');
            const refused = cliInServer(['stop']);
            expect(refused.status).toBe(1);
            const label = (JSON.parse(cliInServer(['status', '--json']).stdout) as { label: string }).label;
            expect(refused.stderr).toContain(`1 computer is running ${label} from this computer. It will stop working. Stop sharing?`);
            expect(refused.stderr).toMatch(/^ {2}Desk 4 \(00:1b:21:0a:00:02, Intel[^,]*, BIOS\) 10\.77\.0\.\d+$/m);
            expect(refused.stderr).toContain('share-this-cd stop --force');
            expect(share.running).toBeTrue();
            const forced = cliInServer(['stop', '--force']);
            expect(forced.status).withContext(forced.stderr).toBe(0);
            expect(await share.ended()).toBe(0);
            expect(leftovers()).toEqual(NOTHING_LEFT);
        });
    });

    describe('stopping and crashing', () => {
        beforeAll(() => setupNet());
        afterAll(() => teardownNet());

        it('`share-this-cd stop` from another process stops a share and leaves nothing', async () => {
            const share = await startShare(['--medium', medium]);
            const r = cliInServer(['stop']);
            expect(r.stdout).toContain('Sharing stopped.');
            expect(await share.ended()).toBe(0);
            expect(leftovers()).toEqual(NOTHING_LEFT);
            expect(cliInServer(['status']).stdout).toContain('Not sharing.');
        });

        it('after kill -9 of the CLI, a new start cleans the leftovers and shares again', async () => {
            const first = await startShare(['--medium', medium, '--no-http']);
            first.signal(9);
            await first.ended();
            expect(leftovers().processes.length).toBeGreaterThan(0); // orphaned daemons still run
            const second = await startShare(['--medium', medium]);
            expect(second.output).toMatch(/Cleaned up after an earlier run that did not stop: stopped dhcp \(pid \d+\)/);
            const lease = clientDhcp();
            expect(lease.server).toBe(SRV_IP);
            ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
            await stopAndCheck(second);
        });

        it('after kill -9, `share-this-cd stop` cleans up too', async () => {
            const first = await startShare(['--medium', medium]);
            first.signal(9);
            await first.ended();
            expect(cliInServer(['stop']).stdout).toContain('Cleaned up after a share that was not running any more.');
            expect(leftovers()).toEqual(NOTHING_LEFT);
        });
    });

    describe('with --no-http', () => {
        beforeAll(() => setupNet());
        afterAll(() => teardownNet());

        it('serves pxelinux.0 and a TFTP-only menu, and listens on no HTTP port', async () => {
            const share = await startShare(['--medium', medium, '--no-http']);
            expect(share.output).toContain('TFTP only');
            expect(bootFile(pxeProbe(0).find(o => o.server === SRV_IP))).toBe('pxelinux.0');
            ns(CLIENT, ['ip', 'addr', 'add', '10.77.0.201/24', 'dev', 'eth0']);
            ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', 'pxelinux.cfg/default', `${tmpDir.path}/tftp-only.cfg`]);
            expect(sh(['cat', `${tmpDir.path}/tftp-only.cfg`]).stdout).toContain('KERNEL medium/casper/vmlinuz');
            expect(nsTry(SRV, ['ss', '-Hltn', 'sport = :80']).stdout.trim()).toBe('');
            await stopAndCheck(share);
        });
    });

    describe('with an address leased from a DHCP server that does not answer now', () => {
        beforeAll(() => setupNet({ serverAddress: 'leased' }));
        afterAll(() => teardownNet());

        it('starts as proxy-DHCP in auto mode and says why; --mode dhcp stays the user\'s explicit choice', async () => {
            expect(sh(['ip', '-n', SRV, '-4', 'addr', 'show', 'br0']).stdout).toContain('dynamic');
            const share = await startShare(['--medium', medium]);
            expect(share.output).toContain(`No DHCP server answered, but this computer's address ${SRV_IP} was given by one on this network: using proxy-DHCP, so that it goes on handing out the addresses.`);
            expect(share.output).toMatch(/proxy-DHCP mode/);
            expect(pxeProbe(0).filter(o => o.server === SRV_IP).every(o => o.givesAddress === false)).toBeTrue();
            await stopAndCheck(share);
            const explicit = await startShare(['--medium', medium, '--mode', 'dhcp']);
            expect(explicit.output).toMatch(/full DHCP mode/);
            await stopAndCheck(explicit);
        });
    });

    describe('on a direct cable (an interface without an address)', () => {
        beforeAll(() => setupNet({ serverAddress: false }));
        afterAll(() => teardownNet());

        it('puts a free private /24 on the interface, hands out addresses in it, and takes it off at stop', async () => {
            const share = await startShare(['--medium', medium]);
            expect(share.output).toContain('br0 has no address: using 192.168.77.1/24 for a direct cable.');
            expect(sh(['ip', '-n', SRV, '-4', 'addr', 'show', 'br0']).stdout).toContain('192.168.77.1/24');
            const lease = clientDhcp();
            expect(lease.server).toBe('192.168.77.1');
            expect(lease.address).toMatch(/^192\.168\.77\.\d+$/);
            share.signal(15);
            expect(await share.ended()).toBe(0);
            expect(sh(['ip', '-n', SRV, '-4', 'addr', 'show', 'br0']).stdout).not.toContain('inet ');
            expect(leftovers().processes).toEqual([]);
        });
    });
});

describe('the sharing benchmark (npm run bench:share)', () => {
    const BENCH = `${GLib.get_current_dir()}/tools/bench-share.py`;
    /** What a stopped benchmark could leave: its namespaces, a share, its servers, clients and readers, files. */
    function left(): string[] {
        const found = [...namespaces().filter(n => n.startsWith('bench')),
            ...processesMatching(/share-this-cd-bench\.|bench-share\.py _|ganesha\.nfsd -F -f \/tmp\/share-this-cd-bench\./)];
        if (GLib.file_test(RUNTIME, GLib.FileTest.EXISTS))
            found.push(RUNTIME);
        found.push(...sh(['sh', '-c', 'ls -d /tmp/share-this-cd-bench.* 2>/dev/null']).stdout.split('\n').filter(l => l !== ''));
        // its medium, a tmpfs
        found.push(...sh(['findmnt', '-rn', '-o', 'TARGET', '-S', 'bench-medium']).stdout.split('\n').filter(l => l !== ''));
        return found;
    }

    it('stopped by SIGTERM while 32 clients download and by Ctrl-C while NFS readers read, leaves nothing', async () => {
        expect(left()).toEqual([]);
        for (const [signal, part, role, status] of [[15, 'storm', '_client', 143], [2, 'nfs', '_nfsread', 130]] as const) {
            const run = new LabProcess(['python3', BENCH, '--only', part, '--links', '1gbit', '--rounds', '1', '--nfs-seconds', '20']);
            try {
                let seen = false;
                for (let i = 0; i < 1200 && !seen && run.running; i++) {
                    seen = sh(['pgrep', '-f', `bench-share.py ${role} `]).stdout.trim() !== '';
                    await sleep(100);
                }
                expect(seen).withContext(`${part}: ${role} running\n${run.output}`).toBeTrue();
                await sleep(1000);
                expect(left().length).withContext(`${part}: what runs`).toBeGreaterThan(0);
                run.signal(signal);
                expect(await run.ended(60000)).withContext(run.output).toBe(status);
                expect(left()).withContext(`${part}, signal ${signal}`).toEqual([]);
            } finally {
                run.signal(9);
            }
        }
    }, 240000);
});
