import GLib from 'gi://GLib';

import { planBoot } from '../../src/backend/bootPlan.ts';
import { ClientTracker, DnsmasqLogReader, type TrackerChange, UP_QUIET_S, fileClassifier } from '../../src/backend/clients.ts';
import { inspectMedium } from '../../src/backend/medium/inspect.ts';
import { DirReader, MemoryReader } from '../../src/backend/medium/reader.ts';
import { type ShareInputs, changedItems, planShare, proxyPlan } from '../../src/backend/plan.ts';
import { platform } from '../../src/backend/platforms.ts';
import { explainDnsmasqFailure, renderDnsmasqDhcp, renderDnsmasqTftp } from '../../src/backend/services/dnsmasq.ts';
import { parseHttpAccess, renderNginx } from '../../src/backend/services/http.ts';
import { radvdDaemon, renderRadvd } from '../../src/backend/services/radvd.ts';
import { anchorArgv, confineArgv, inJailArgv, isConfined, jailScript } from '../../src/backend/services/jail.ts';
import { hasEstablished, kernelExportArgv, kernelUnexportArgv, mountdPorts, parseNfsBytes, renderGanesha } from '../../src/backend/services/nfs.ts';
import { Daemon, run } from '../../src/backend/services/supervisor.ts';
import { FIXTURES } from '../support/helpers.ts';

const base = {
    interface: 'enp3s0', serverAddress: '192.168.1.20', network: '192.168.1.0', tftpRoot: '/run/share-this-cd/tftp',
    leaseFile: '/run/share-this-cd/dnsmasq.leases', label: 'Ubuntu 24.04 "Noble"\nevil=1', httpPort: 80,
    platforms: [{ ...platform('bios'), bootFile: 'lpxelinux.0', ipxeScript: null }, { ...platform('uefi-x64'), bootFile: 'bootx64.efi', ipxeScript: null }],
    ignoreArchCodes: [6, 10, 11], ownMac: '52:54:00:AB:CD:EF',
};
const arm64 = { ...base, platforms: [{ ...platform('uefi-arm64'), bootFile: 'bootaa64.efi', ipxeScript: null }], ignoreArchCodes: [0, 6, 7, 9] };
const withIpxe = { ...base, platforms: base.platforms.map(p => ({ ...p, ipxeScript: p.id === 'bios' ? 'ipxe/bios.ipxe' : 'ipxe/uefi.ipxe' })) };
const fullRange = { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' };

describe('dnsmasq configuration', () => {
    it('proxy mode: no addresses, PXE services per firmware, no DNS, one interface', () => {
        const text = renderDnsmasqDhcp({ ...base, mode: 'proxy', range: null });
        const lines = text.split('\n');
        expect(lines).toContain('interface=enp3s0');
        expect(lines).toContain('bind-interfaces');
        expect(lines).toContain('except-interface=lo');
        expect(lines).toContain('port=0');
        expect(lines).toContain('dhcp-range=192.168.1.0,proxy');
        expect(lines).toContain('pxe-service=x86PC,"Ubuntu 24.04 Noble evil1 (BIOS)",lpxelinux');
        expect(lines).toContain('pxe-service=BC_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",bootx64.efi');
        expect(lines).toContain('pxe-service=x86-64_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",bootx64.efi');
        expect(text).not.toMatch(/dhcp-range=\d+\.\d+\.\d+\.\d+,\d/);
        // Architectures we cannot serve get no answer (dnsmasq would answer them an empty boot menu).
        expect(lines).toContain('dhcp-match=set:unserved,option:client-arch,11');
        expect(lines).toContain('dhcp-ignore=tag:unserved');
        expect(lines.filter(l => l.startsWith('evil'))).toEqual([]);
        // Our own probes for other DHCP servers are never answered by our own server.
        expect(lines).toContain('dhcp-mac=set:ourselves,52:54:00:ab:cd:ef');
        expect(lines).toContain('dhcp-ignore=tag:ourselves');
        expect(renderDnsmasqDhcp({ ...base, mode: 'proxy', range: null, ownMac: '52:54:00:ab:cd:ef\ndhcp-range=1' })).not.toContain('ourselves');
    });

    it('full mode: the range, no router or DNS announced, boot file by arch with our address as next server', () => {
        const text = renderDnsmasqDhcp({ ...base, mode: 'dhcp', range: { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' } });
        const lines = text.split('\n');
        expect(lines).toContain('dhcp-range=192.168.1.100,192.168.1.199,255.255.255.0,1h');
        expect(lines).toContain('dhcp-option=option:router');
        expect(lines).toContain('dhcp-option=option:dns-server');
        expect(lines).toContain('dhcp-match=set:efi64,option:client-arch,7');
        expect(lines).toContain('dhcp-match=set:efi64,option:client-arch,9');
        expect(lines).toContain('dhcp-match=set:bios,option:client-arch,0');
        expect(lines).toContain('dhcp-boot=tag:bios,lpxelinux.0,,192.168.1.20');
        expect(lines).toContain('dhcp-boot=tag:efi64,bootx64.efi,,192.168.1.20');
        // Nothing for other platforms: an ARM64 computer (arch 11) gets an address but no boot file.
        expect(lines.filter(l => l.startsWith('dhcp-boot='))).toHaveSize(2);
        expect(text).not.toContain('client-arch,11');
        expect(text).not.toContain('pxe-service');
    });

    it('serves ARM64 UEFI computers (arch 11) only, for an ARM64 medium', () => {
        const full = renderDnsmasqDhcp({ ...arm64, mode: 'dhcp', range: { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' } }).split('\n');
        expect(full).toContain('dhcp-match=set:arm64,option:client-arch,11');
        expect(full.filter(l => l.startsWith('dhcp-boot='))).toEqual(['dhcp-boot=tag:arm64,bootaa64.efi,,192.168.1.20']);
        const proxy = renderDnsmasqDhcp({ ...arm64, mode: 'proxy', range: null }).split('\n');
        expect(proxy.filter(l => l.startsWith('pxe-service='))).toEqual(['pxe-service=ARM64_EFI,"Ubuntu 24.04 Noble evil1 (UEFI ARM64)",bootaa64.efi']);
    });

    it('gives iPXE clients (user class iPXE or option 175) their script, over HTTP in full DHCP, and other PXE ROMs their loader', () => {
        const full = renderDnsmasqDhcp({ ...withIpxe, mode: 'dhcp', range: fullRange }).split('\n');
        expect(full).toContain('dhcp-userclass=set:ipxe,iPXE');
        expect(full).toContain('dhcp-match=set:ipxe,175');
        expect(full.filter(l => l.startsWith('dhcp-boot='))).toEqual([
            'dhcp-boot=tag:bios,tag:!ipxe,lpxelinux.0,,192.168.1.20',
            'dhcp-boot=tag:bios,tag:ipxe,http://192.168.1.20/ipxe/bios.ipxe,,192.168.1.20',
            'dhcp-boot=tag:efi64,tag:!ipxe,bootx64.efi,,192.168.1.20',
            'dhcp-boot=tag:efi64,tag:ipxe,http://192.168.1.20/ipxe/uefi.ipxe,,192.168.1.20',
        ]);
        // Another HTTP port is in the address; TFTP only: the script's path in the TFTP root.
        expect(renderDnsmasqDhcp({ ...withIpxe, httpPort: 8080, mode: 'dhcp', range: fullRange })).toContain('dhcp-boot=tag:bios,tag:ipxe,http://192.168.1.20:8080/ipxe/bios.ipxe,,192.168.1.20');
        expect(renderDnsmasqDhcp({ ...withIpxe, httpPort: null, mode: 'dhcp', range: fullRange })).toContain('dhcp-boot=tag:bios,tag:ipxe,ipxe/bios.ipxe,,192.168.1.20');
        // Proxy-DHCP: the boot server's answer names the script (TFTP), the loader for the others.
        const proxy = renderDnsmasqDhcp({ ...withIpxe, mode: 'proxy', range: null }).split('\n');
        expect(proxy.filter(l => l.startsWith('pxe-service='))).toEqual([
            'pxe-service=tag:!ipxe,x86PC,"Ubuntu 24.04 Noble evil1 (BIOS)",lpxelinux',
            'pxe-service=tag:ipxe,x86PC,"Ubuntu 24.04 Noble evil1 (BIOS)",ipxe/bios.ipxe',
            'pxe-service=tag:!ipxe,BC_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",bootx64.efi',
            'pxe-service=tag:ipxe,BC_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",ipxe/uefi.ipxe',
            'pxe-service=tag:!ipxe,x86-64_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",bootx64.efi',
            'pxe-service=tag:ipxe,x86-64_EFI,"Ubuntu 24.04 Noble evil1 (UEFI)",ipxe/uefi.ipxe',
        ]);
        // No script (the lab's switch, or none rendered): iPXE is not told apart at all.
        expect(renderDnsmasqDhcp({ ...base, mode: 'dhcp', range: fullRange })).not.toMatch(/ipxe/i);
    });

    it('the TFTP instance serves the tree and answers no DHCP; the DHCP instance serves no file', () => {
        const tftp = renderDnsmasqTftp({ ...base, mode: 'dhcp', range: { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' } }).split('\n');
        expect(tftp).toContain('enable-tftp');
        expect(tftp).toContain('tftp-root=/run/share-this-cd/tftp');
        expect(tftp).toContain('interface=enp3s0');
        expect(tftp).toContain('port=0');
        expect(tftp.filter(l => l.startsWith('dhcp') || l.startsWith('pxe'))).toEqual([]);
        for (const mode of ['dhcp', 'proxy'] as const) {
            const dhcp = renderDnsmasqDhcp({ ...base, mode, range: mode === 'dhcp' ? { start: '192.168.1.100', end: '192.168.1.199', netmask: '255.255.255.0' } : null });
            expect(dhcp).not.toMatch(/tftp/);
            expect(dhcp.split('\n')).toContain('port=0');
        }
    });

    it('explains start-up failures in words', () => {
        expect(explainDnsmasqFailure('dnsmasq: failed to bind DHCP server socket: Address in use')).toBe('port 67 (DHCP) is already used by another program on this computer');
        expect(explainDnsmasqFailure('dnsmasq: unknown interface enp9s0')).toBe('the network interface disappeared');
        expect(explainDnsmasqFailure('dnsmasq: bad option at line 3')).toBe('bad option at line 3');
        expect(explainDnsmasqFailure('')).toBeNull();
    });
});

describe('nginx configuration and access log', () => {
    it('serves only the tree, read-only, bound to one address, as nobody, without listings, in the foreground', () => {
        const text = renderNginx({ address: '10.77.0.1', port: 80, documentRoot: '/run/share-this-cd/tftp', accessLog: '/run/share-this-cd/http-access.log',
            stateDir: '/run/share-this-cd/nginx', user: 'nobody', group: 'nogroup' });
        const lines = text.split('\n').map(l => l.trim());
        expect(lines).toContain('daemon off;');
        expect(lines).toContain('user nobody nogroup;');
        expect(lines).toContain('listen 10.77.0.1:80 sndbuf=4m;');
        expect(lines).toContain('root /run/share-this-cd/tftp;');
        expect(lines).toContain('autoindex off;');
        expect(lines).toContain('sendfile on;');
        expect(lines).toContain('limit_except GET HEAD { deny all; }');
        expect(lines).toContain('access_log /run/share-this-cd/http-access.log sharecd;');
        expect(lines).toContain('pid /run/share-this-cd/nginx/nginx.pid;');
    });

    it('parses access lines', () => {
        expect(parseHttpAccess('http-access 10.77.0.57 "GET /medium/casper/vmlinuz HTTP/1.1" 200 14926216')).toEqual({ client: '10.77.0.57', path: '/medium/casper/vmlinuz', status: 200, bytes: 14926216 });
        expect(parseHttpAccess('http-access 10.77.0.57 "HEAD /medium/a%20b HTTP/1.0" 404 -')).toEqual({ client: '10.77.0.57', path: '/medium/a b', status: 404, bytes: 0 });
        expect(parseHttpAccess('2026-11-26 (server.c.1700) something')).toBeNull();
    });
});

describe('NFS export', () => {
    const spec = { path: '/cdrom', subnet: '192.168.1.0/24', address: '192.168.1.20', stateDir: '/run/share-this-cd/ganesha' };

    it('kernel nfsd: a runtime export read-only to the subnet with a fixed fsid, and its removal', () => {
        expect(kernelExportArgv(spec)).toEqual(['/usr/sbin/exportfs', '-i', '-o', 'ro,all_squash,anonuid=65534,anongid=65534,subtree_check,insecure,fsid=7077', '192.168.1.0/24:/cdrom']);
        expect(kernelUnexportArgv(spec)).toEqual(['/usr/sbin/exportfs', '-u', '192.168.1.0/24:/cdrom']);
    });

    it('kernel nfsd: finds the ports its mountd took (the firewall opens them)', () => {
        // `rpcinfo -p` of a Debian 12 NFS server (mountd on random ports, nfs, nlockmgr, statd)
        const RPCINFO = [
            '   program vers proto   port  service',
            '    100000    4   tcp    111  portmapper',
            '    100000    2   udp    111  portmapper',
            '    100005    1   udp  44585  mountd',
            '    100005    1   tcp  42125  mountd',
            '    100005    2   udp  44585  mountd',
            '    100005    3   tcp  42125  mountd',
            '    100003    3   tcp   2049  nfs',
            '    100021    4   tcp  37617  nlockmgr',
            '    100024    1   udp  54345  status',
        ].join('\n');
        expect(mountdPorts(RPCINFO)).toEqual({ udp: [44585], tcp: [42125] });
        expect(mountdPorts('rpcinfo: can\'t contact portmapper')).toEqual({ udp: [], tcp: [] });
    });

    it('ganesha: NFSv3+v4, no grace period, read-only for the subnet only, bound to our address', () => {
        const text = renderGanesha(spec);
        expect(text).toContain('Bind_addr = 192.168.1.20;');
        expect(text).toContain('Protocols = 3, 4;');
        expect(text).toContain('Graceless = true;');
        expect(text).toContain('Path = "/cdrom";\n    Pseudo = "/cdrom";\n    Access_Type = None;');
        expect(text).toContain('CLIENT {\n        Clients = 192.168.1.0/24;\n        Access_Type = RO;\n    }');
    });

    it('maps every client user, root included, to nobody', () => {
        const text = renderGanesha(spec);
        expect(text).toContain('Squash = All;\n    Anonymous_Uid = 65534;\n    Anonymous_Gid = 65534;');
        expect(text).not.toMatch(/Root_Squash|No_Root/);
        for (const opt of ['ro', 'all_squash', 'anonuid=65534', 'anongid=65534', 'subtree_check'])
            expect(kernelExportArgv(spec)[3].split(',')).toContain(opt);
        expect(kernelExportArgv(spec)[3]).not.toMatch(/no_root_squash|crossmnt|no_subtree_check|\brw\b/);
    });

    it('ganesha: TCP keepalive closes the connection of a client switched off within about a minute', () => {
        const text = renderGanesha(spec);
        expect(text).toContain('Enable_TCP_keepalive = true;');
        const n = (key: string): number => Number(new RegExp(`${key} = (\\d+);`).exec(text)?.[1]);
        const deadAfter = n('TCP_KEEPIDLE') + n('TCP_KEEPINTVL') * n('TCP_KEEPCNT');
        expect(deadAfter).toBeGreaterThanOrEqual(20);
        expect(deadAfter).toBeLessThanOrEqual(60);
    });

    it('counts NFS peers and the bytes each was sent from ss -HtinO, IPv4 and IPv4-mapped IPv6', () => {
        // As iproute2 6.1 prints them (one line a socket), lines cut after the counters that matter.
        const info = (sent: number): string => ` cubic wscale:7,7 rto:204 rtt:0.5/0.25 mss:1448 pmtu:1500 cwnd:10 bytes_sent:${sent + 512} bytes_acked:${sent} segs_out:9 lastsnd:16`;
        const ss = `0      0      [::ffff:10.77.0.1]:2049 [::ffff:10.77.0.57]:815${info(1000)}\n`
            + `0 0 10.77.0.1:2049 10.77.0.58:700${info(300000000)}\n0 0 10.77.0.1:2049 10.77.0.58:701${info(5)}\n`
            // A connection that sent nothing yet has no byte counters; one of a kernel server without bytes_acked.
            + '0 0 10.77.0.1:2049 10.77.0.59:702 cubic wscale:7,7 rto:204 mss:536 cwnd:10\n'
            + '0 0 10.77.0.1:2049 10.77.0.60:703 cubic rto:204 bytes_sent:4096 segs_out:3\n';
        expect(parseNfsBytes(ss)).toEqual({ '10.77.0.57': 1000, '10.77.0.58': 300000005, '10.77.0.59': 0, '10.77.0.60': 4096 });
        expect(parseNfsBytes('')).toEqual({});
    });

    it('sees an established NFS connection in the kernel socket table before running ss', () => {
        const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
        const listening = '   0: 01004D0A:0801 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n';
        const http = '   1: 01004D0A:0050 39004D0A:B2C4 01 00000000:00000000 00:00000000 00000000 65534        0 2 1 0 20 4 30 10 -1\n';
        const nfs = '   2: 01004D0A:0801 39004D0A:02BE 01 00000000:00000000 02:00000A1B 00000000     0        0 3 2 0 20 4 30 10 -1\n';
        const client = '   3: 39004D0A:0801 01004D0A:02BE 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0 20 4 30 10 -1\n';
        const v6 = '   0: 0000000000000000FFFF000001004D0A:0801 0000000000000000FFFF000039004D0A:02BE 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1\n';
        expect(hasEstablished(head + listening + http, 2049)).toBeFalse();
        expect(hasEstablished(head + client, 2049)).toBeFalse();   // time-wait, not established
        expect(hasEstablished(head + listening + http + nfs, 2049)).toBeTrue();
        expect(hasEstablished(head + http, 80)).toBeTrue();
        expect(hasEstablished(head + v6, 2049)).toBeTrue();
        expect(hasEstablished('', 2049)).toBeFalse();
    });
});

describe('client tracker', () => {
    const classify = fileClassifier(['medium/casper/vmlinuz'], ['medium/casper/initrd']);
    const MAC = '52:54:00:12:34:56';

    it('tells the files apart: boot loaders, menus (iPXE scripts too), kernels, initrds', () => {
        expect(['lpxelinux.0', 'bootx64.efi', 'menu.c32', 'pxelinux.cfg/default', 'grub/grub.cfg', '/ipxe/bios.ipxe', 'medium/casper/vmlinuz', 'medium/casper/initrd', 'medium/casper/filesystem.squashfs']
            .map(classify)).toEqual(['bootloader', 'bootloader', 'bootloader', 'menu', 'menu', 'menu', 'kernel', 'initrd', 'other']);
    });

    it('follows one client: discovered → loading → running → gone', () => {
        const t = new ClientTracker(classify, 60);
        expect(t.apply({ type: 'dhcp', mac: MAC.toUpperCase(), ip: null, arch: 'uefi', what: 'DHCP DISCOVER' }, 100).map(c => c.reason)).toEqual(['new']);
        t.apply({ type: 'dhcp', mac: MAC, ip: '10.0.0.5', arch: null, what: 'DHCP ACK 10.0.0.5' }, 101);
        const loading = t.apply({ type: 'file', ip: '10.0.0.5', path: 'bootx64.efi', via: 'tftp', ok: true }, 102);
        expect(loading.map(c => [c.reason, c.from, c.client.stage])).toEqual([['stage', 'discovered', 'loading']]);
        expect(t.apply({ type: 'file', ip: '10.0.0.5', path: 'medium/casper/vmlinuz', via: 'http', ok: true }, 103).map(c => c.reason)).toEqual(['fetched']);
        expect(t.apply({ type: 'file', ip: '10.0.0.5', path: 'medium/casper/vmlinuz', via: 'http', ok: true }, 104)).toEqual([]);
        t.apply({ type: 'file', ip: '10.0.0.5', path: 'medium/casper/initrd', via: 'http', ok: true }, 105);
        const running = t.apply({ type: 'nfs', peers: ['10.0.0.5'] }, 110);
        expect(running.map(c => c.client.stage)).toEqual(['running']);
        const [c] = t.list();
        expect(c).toEqual(jasmine.objectContaining({ id: MAC, mac: MAC, ip: '10.0.0.5', arch: 'uefi', stage: 'running', firstSeen: 100, fetched: ['bootloader', 'kernel', 'initrd'] }));
        // Connected clients never go; silent ones do.
        expect(t.tick(500)).toEqual([]);
        t.apply({ type: 'nfs', peers: [] }, 501);
        expect(t.tick(540)).toEqual([]);
        expect(t.tick(562).map(x => x.client.stage)).toEqual(['gone']);
        expect(t.active()).toEqual([]);
        // A gone client that comes back is discovered again.
        expect(t.apply({ type: 'dhcp', mac: MAC, ip: null, arch: null, what: 'DHCP DISCOVER' }, 600).map(x => [x.from, x.client.stage])).toEqual([['gone', 'discovered']]);
    });

    it('calls a running computer up once its NFS reads settle, counting its bytes over reconnects', () => {
        const t = new ClientTracker(classify, 60);
        t.apply({ type: 'dhcp', mac: MAC, ip: '10.0.0.5', arch: 'bios', what: 'DHCP ACK 10.0.0.5' }, 100);
        const MiB = 1024 * 1024;
        expect(t.apply({ type: 'nfs', peers: ['10.0.0.5'], bytes: { '10.0.0.5': 1 * MiB } }, 110).map(c => c.client.stage)).toEqual(['running']);
        // Booting: it reads steadily (a second apart), 3 MiB a second for 20 s.
        let now = 110;
        for (let i = 1; i <= 20; i++)
            expect(t.apply({ type: 'nfs', peers: ['10.0.0.5'], bytes: { '10.0.0.5': (1 + 3 * i) * MiB } }, ++now)).toEqual([]);
        // A new connection (its counter starts again): its bytes add to what the old one carried.
        t.apply({ type: 'nfs', peers: ['10.0.0.5'], bytes: { '10.0.0.5': 3 * MiB } }, ++now);
        expect(t.list()[0].nfsBytes).toBe(64 * MiB);
        // Started: a trickle below UP_QUIET_BYTES for UP_QUIET_S seconds (its boot read for less than that).
        const quietFrom = now;
        let up: TrackerChange[] = [];
        for (let kib = 10; up.length === 0 && now < quietFrom + 2 * UP_QUIET_S; kib += 10)
            up = t.apply({ type: 'nfs', peers: ['10.0.0.5'], bytes: { '10.0.0.5': 3 * MiB + kib * 1024 } }, ++now);
        expect(up.map(c => [c.from, c.client.stage])).toEqual([['running', 'up']]);
        expect(now - quietFrom).toBe(UP_QUIET_S);
        expect(up[0].client.detail).toContain('64.');
        expect(t.activeCount()).toBe(1);
        // Reading again (an application starts) does not make it a booting computer again.
        expect(t.apply({ type: 'nfs', peers: ['10.0.0.5'], bytes: { '10.0.0.5': 200 * MiB } }, ++now)).toEqual([]);
        expect(t.list()[0].stage).toBe('up');
    });

    it('does not call a running computer up while the bytes of its boot still come, even slowly', () => {
        const t = new ClientTracker(classify, 60);
        t.apply({ type: 'nfs', peers: ['10.0.0.7'], bytes: { '10.0.0.7': 0 } }, 0);
        // 1 MiB every 10 s (an emulated client, a slow LAN): never a whole quiet time below the bound.
        for (let s = 1; s <= 300; s++)
            t.apply({ type: 'nfs', peers: ['10.0.0.7'], bytes: { '10.0.0.7': Math.floor(s / 10) * 1024 * 1024 } }, s);
        expect(t.list()[0].stage).toBe('running');
        // A pause early in the boot (3.4 MiB read, then a minute without a read: a client starved of CPU) is not a
        // started system; the reads that follow, then the quiet, are.
        const early = new ClientTracker(classify, 60);
        const MiB = 1024 * 1024;
        for (let s = 0; s <= 60; s++)
            early.apply({ type: 'nfs', peers: ['10.0.0.8'], bytes: { '10.0.0.8': 3.4 * MiB } }, s);
        expect(early.list()[0].stage).toBe('running');
        for (let s = 61; s <= 120; s++)
            early.apply({ type: 'nfs', peers: ['10.0.0.8'], bytes: { '10.0.0.8': (3.4 + (s - 60) * 2) * MiB } }, s);
        expect(early.list()[0].stage).toBe('running');
        // It read for 120 s since its root was mounted: a pause of 30 s is a pause within such a boot, one of
        // 120 s is not.
        for (let s = 121; s <= 120 + UP_QUIET_S; s++)
            early.apply({ type: 'nfs', peers: ['10.0.0.8'], bytes: { '10.0.0.8': 123.4 * MiB } }, s);
        expect(early.list()[0].stage).toBe('running');
        let upAt = 0;
        for (let s = 121 + UP_QUIET_S; s <= 400 && upAt === 0; s++) {
            if (early.apply({ type: 'nfs', peers: ['10.0.0.8'], bytes: { '10.0.0.8': 123.4 * MiB } }, s).some(c => c.client.stage === 'up'))
                upAt = s;
        }
        expect(upAt).toBe(120 + 120);
        // Without byte counters (no ss -i), nothing is said of it.
        const u = new ClientTracker(classify, 60);
        for (let s = 0; s <= 100; s++)
            u.apply({ type: 'nfs', peers: ['10.0.0.7'] }, s);
        expect(u.list()[0].stage).toBe('running');
    });

    it('joins a client seen only by IP (TFTP in proxy mode) with its MAC from the neighbour table', () => {
        const t = new ClientTracker(classify, 60);
        t.apply({ type: 'dhcp', mac: MAC, ip: null, arch: 'bios', what: 'proxy' }, 1);
        t.apply({ type: 'file', ip: '192.168.1.57', path: 'lpxelinux.0', via: 'tftp', ok: true }, 2);
        expect(t.list().length).toBe(2);
        const v = t.version;
        t.apply({ type: 'neighbours', pairs: [['192.168.1.57', MAC]] }, 3);
        expect(t.version).toBeGreaterThan(v);
        expect(t.list().map(c => [c.id, c.ip, c.stage, c.arch])).toEqual([[MAC, '192.168.1.57', 'loading', 'bios']]);
    });

    it('lists copies: a list taken earlier does not change when the client moves on', () => {
        const t = new ClientTracker(classify, 60);
        t.apply({ type: 'dhcp', mac: MAC, ip: '10.0.0.5', arch: null, what: 'x' }, 1);
        const before = t.list();
        t.apply({ type: 'file', ip: '10.0.0.5', path: 'medium/casper/vmlinuz', via: 'http', ok: true }, 2);
        expect(before[0]).toEqual(jasmine.objectContaining({ stage: 'discovered', fetched: [] }));
        expect(t.list()[0]).toEqual(jasmine.objectContaining({ stage: 'loading', fetched: ['kernel'] }));
    });

    it('remembers a bounded number of computers: made-up MACs take the place of the gone, then of those that only asked', () => {
        const t = new ClientTracker(classify, 60, 8);
        const mac = (n: number): string => `02:00:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
        // Two real computers: one running, one gone.
        t.apply({ type: 'dhcp', mac: MAC, ip: '10.0.0.5', arch: 'bios', what: 'x' }, 1);
        t.apply({ type: 'nfs', peers: ['10.0.0.5'] }, 2);
        t.apply({ type: 'dhcp', mac: '52:54:00:00:00:99', ip: '10.0.0.9', arch: 'bios', what: 'x' }, 3);
        t.tick(100);
        expect(t.list().find(c => c.ip === '10.0.0.9')?.stage).toBe('gone');
        for (let n = 0; n < 20000; n++)
            t.apply({ type: 'dhcp', mac: mac(n), ip: null, arch: null, what: 'DHCP DISCOVER' }, 200 + n / 1000);
        const list = t.list();
        expect(list.length).toBe(8);
        expect(t.evicted).toBe(20000 + 2 - 8);
        // The running one stays; the gone one went first; the newest made-up ones are kept.
        expect(list.map(c => c.id)).toContain(MAC);
        expect(list.map(c => c.ip)).not.toContain('10.0.0.9');
        expect(list.filter(c => c.id !== MAC).map(c => c.id)).toEqual([19993, 19994, 19995, 19996, 19997, 19998, 19999].map(mac));
        // A forgotten computer that comes back is new again, and its address is its own.
        expect(t.apply({ type: 'file', ip: '10.0.0.9', path: 'lpxelinux.0', via: 'tftp', ok: true }, 300).map(c => c.reason)).toEqual(['new']);
        expect(t.list().length).toBe(8);
    });

    it('a failed transfer is noted but does not advance the stage', () => {
        const t = new ClientTracker(classify, 60);
        t.apply({ type: 'dhcp', mac: MAC, ip: '10.0.0.5', arch: null, what: 'x' }, 1);
        t.apply({ type: 'file', ip: '10.0.0.5', path: 'medium/casper/vmlinuz', via: 'tftp', ok: false }, 2);
        expect(t.list()[0]).toEqual(jasmine.objectContaining({ stage: 'discovered', fetched: [], detail: 'failed to send medium/casper/vmlinuz over TFTP' }));
    });
});

describe('the programs the engine starts', () => {
    it('run in the C locale whatever the user\'s language (their output is read: a French dnsmasq says "TFTP root est")', async () => {
        const saved = ['LANGUAGE', 'LC_ALL', 'LC_MESSAGES'].map(k => [k, GLib.getenv(k)] as const);
        GLib.setenv('LANGUAGE', 'fr', true);
        GLib.setenv('LC_ALL', 'fr_FR.UTF-8', true);
        GLib.setenv('LC_MESSAGES', 'fr_FR.UTF-8', true);
        try {
            expect(run(['sh', '-c', 'echo "$LC_ALL|${LANGUAGE-unset}|${LC_MESSAGES-unset}"']).stdout.trim()).toBe('C.UTF-8|unset|unset');
            const lines: string[] = [];
            const d = new Daemon({ name: 'env', argv: ['sh', '-c', 'echo "$LC_ALL|${LANGUAGE-unset}"; sleep 5'], onLine: l => lines.push(l) });
            await d.ready({ line: /\|/, timeoutMs: 5000 });
            await d.stop();
            expect(lines[0]).toBe('C.UTF-8|unset');
        } finally {
            for (const [k, v] of saved) {
                if (v === null)
                    GLib.unsetenv(k);
                else
                    GLib.setenv(k, v, true);
            }
        }
    });
});

describe('dnsmasq log reading', () => {
    const lines = [
        'dnsmasq-dhcp[10325]: 3286430503 available DHCP range: 10.88.0.100 -- 10.88.0.150',
        'dnsmasq-dhcp[10325]: 3286430503 vendor class: PXEClient:Arch:00007:UNDI:003016',
        'dnsmasq-dhcp[10325]: 3286430503 DHCPDISCOVER(br0) de:90:b2:f0:2d:7c ',
        'dnsmasq-dhcp[10325]: 3286430503 DHCPOFFER(br0) 10.88.0.146 de:90:b2:f0:2d:7c ',
        'dnsmasq-dhcp[10325]: 3286430503 DHCPREQUEST(br0) 10.88.0.146 de:90:b2:f0:2d:7c ',
        'dnsmasq-dhcp[10325]: 3286430503 DHCPACK(br0) 10.88.0.146 de:90:b2:f0:2d:7c ',
        'dnsmasq-dhcp[10325]: 1111 vendor class: PXEClient:Arch:00000:UNDI:002001',
        'dnsmasq-dhcp[10325]: 1111 PXE(br0) 52:54:00:12:34:56 proxy',
        'dnsmasq-dhcp[10325]: 1111 PXE(br0) 10.77.0.57 52:54:00:12:34:56 lpxelinux.0',
        'dnsmasq-tftp[10325]: sent /run/share-this-cd/tftp/lpxelinux.0 to 10.88.0.146',
        'dnsmasq-tftp[10325]: failed sending /run/share-this-cd/tftp/medium/casper/vmlinuz to 10.88.0.146',
        'dnsmasq[10325]: started, version 2.90 DNS disabled',
    ];

    it('turns DHCP, proxy-DHCP and TFTP lines into events, with the arch of the transaction', () => {
        const reader = new DnsmasqLogReader('/run/share-this-cd/tftp', [0, 7, 9]);
        const events = lines.map(l => reader.read(l)).filter(e => e !== null);
        expect(events).toEqual([
            { type: 'dhcp', mac: 'de:90:b2:f0:2d:7c', ip: null, arch: 'uefi', what: 'DHCP DISCOVER' },
            { type: 'dhcp', mac: 'de:90:b2:f0:2d:7c', ip: '10.88.0.146', arch: 'uefi', what: 'DHCP OFFER 10.88.0.146' },
            { type: 'dhcp', mac: 'de:90:b2:f0:2d:7c', ip: null, arch: 'uefi', what: 'DHCP REQUEST 10.88.0.146' },
            { type: 'dhcp', mac: 'de:90:b2:f0:2d:7c', ip: '10.88.0.146', arch: 'uefi', what: 'DHCP ACK 10.88.0.146' },
            { type: 'dhcp', mac: '52:54:00:12:34:56', ip: null, arch: 'bios', what: 'asked for network boot (proxy-DHCP)' },
            { type: 'dhcp', mac: '52:54:00:12:34:56', ip: '10.77.0.57', arch: 'bios', what: 'asked the boot server for lpxelinux.0' },
            { type: 'file', ip: '10.88.0.146', path: 'lpxelinux.0', via: 'tftp', ok: true },
            { type: 'file', ip: '10.88.0.146', path: 'medium/casper/vmlinuz', via: 'tftp', ok: false },
        ] as unknown as typeof events);
    });

    it('names a computer of a platform we do not serve, which the tracker lists as unable to start the CD', () => {
        const arm = [
            'dnsmasq-dhcp[10325]: 4242 vendor class: PXEClient:Arch:00011:UNDI:003000',
            'dnsmasq-dhcp[10325]: 4242 DHCPDISCOVER(br0) 52:54:00:aa:64:01 ',
        ];
        // An x86-64 medium: BIOS (0) and x86-64 UEFI (7, 9) are served.
        const x86 = new DnsmasqLogReader('/run/share-this-cd/tftp', [0, 7, 9]);
        const event = arm.map(l => x86.read(l)).find(e => e !== null);
        expect(event).toEqual({ type: 'dhcp', mac: '52:54:00:aa:64:01', ip: null, arch: 'uefi-arm64', what: 'DHCP DISCOVER', unserved: 'UEFI ARM64' });
        const t = new ClientTracker(fileClassifier([], []), 60);
        t.apply(event as NonNullable<typeof event>, 100);
        expect(t.list()[0]).toEqual(jasmine.objectContaining({ arch: 'uefi-arm64', stage: 'cannot-boot', detail: 'cannot start this CD (UEFI ARM64)' }));
        expect(t.active()).toEqual([]);
        // An ARM64 medium serves it.
        const arm64 = new DnsmasqLogReader('/run/share-this-cd/tftp', [11]);
        expect(arm.map(l => arm64.read(l)).find(e => e !== null)).toEqual({ type: 'dhcp', mac: '52:54:00:aa:64:01', ip: null, arch: 'uefi-arm64', what: 'DHCP DISCOVER' });
        // A 32-bit UEFI computer (arch 6) is not an x86-64 one.
        const ia32 = ['dnsmasq-dhcp[1]: 7 vendor class: PXEClient:Arch:00006:UNDI:003000', 'dnsmasq-dhcp[1]: 7 DHCPDISCOVER(br0) 52:54:00:aa:32:01 '];
        expect(ia32.map(l => x86.read(l)).find(e => e !== null)).toEqual(jasmine.objectContaining({ arch: 'unknown', unserved: 'UEFI 32-bit' }));
    });
});

describe('share plan', () => {
    const medium = `${FIXTURES}/ubuntu-24.04-desktop`;
    const reader = new DirReader(medium);
    const boot = planBoot(inspectMedium(reader), reader, { server: '10.77.0.1', http: true, httpPort: 80 });
    const loaders = {
        pxelinux: '/usr/lib/PXELINUX/pxelinux.0', lpxelinux: '/usr/lib/PXELINUX/lpxelinux.0', syslinuxModules: '/usr/lib/syslinux/modules/bios',
        efi: { 'uefi-x64': { shim: '/usr/lib/shim/shimx64.efi.signed', mokManager: '/usr/lib/shim/mmx64.efi.signed',
            grubNet: '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed', grubMkimage: '/usr/bin/grub-mkimage' } },
    };
    const inputs: ShareInputs = {
        boot, interfaceName: 'br0', serverMac: '52:54:00:12:34:56', server: { address: '10.77.0.1', prefix: 24 }, addressAssigned: false, mode: 'dhcp',
        range: { start: '10.77.0.155', end: '10.77.0.254', netmask: '255.255.255.0' }, http: { port: 80 }, nfsBackend: 'ganesha',
        ownRpcbind: true, runtimeDir: '/run/share-this-cd', loaders, bindAlias: null,
    };

    it('is the same for the same inputs', () => {
        expect(JSON.stringify(planShare(inputs))).toBe(JSON.stringify(planShare(inputs)));
    });

    it('builds the TFTP tree: lpxelinux + modules + menu, shim + signed GRUB + menu, the medium\'s place', () => {
        const spec = planShare(inputs);
        expect(spec.tree.map(t => `${t.kind}:${t.path}`)).toEqual([
            'copy:lpxelinux.0', 'copy:ldlinux.c32', 'copy:menu.c32', 'copy:libutil.c32', 'text:pxelinux.cfg/default', 'text:ipxe/bios.ipxe',
            'copy:bootx64.efi', 'copy:mmx64.efi', 'copy:grubx64.efi', 'text:ipxe/uefi.ipxe', 'text:grub/grub.cfg', 'dir:medium',
        ]);
        expect(spec.platforms.map(p => p.ipxeScript)).toEqual(['ipxe/bios.ipxe', 'ipxe/uefi.ipxe']);
        // The lab's switch: iPXE clients are plain PXE ROMs, no script in the tree or the DHCP answers.
        const plain = planShare({ ...inputs, ipxeScripts: false });
        expect(plain.tree.map(t => t.path).filter(p => p.startsWith('ipxe/'))).toEqual([]);
        expect(plain.platforms.map(p => p.ipxeScript)).toEqual([null, null]);
        expect(plain.daemons.find(d => d.name === 'dhcp')?.configs[0].text).not.toMatch(/ipxe/i);
        expect(spec.tree.find(t => t.path === 'grubx64.efi')).toEqual({ path: 'grubx64.efi', kind: 'copy', from: loaders.efi['uefi-x64'].grubNet });
        expect(spec.tree.filter(t => t.kind !== 'copy' && t.kind !== 'text')).toEqual([{ path: 'medium', kind: 'dir' }]);
        expect(spec.kernels).toEqual(['medium/casper/vmlinuz']);
        expect(spec.initrds).toEqual(['medium/casper/initrd']);
    });

    it('starts NFS (rpcbind, ganesha), then HTTP, then TFTP, DHCP last, each with its readiness check', () => {
        const spec = planShare(inputs);
        expect(spec.daemons.map(d => d.name)).toEqual(['rpcbind', 'ganesha', 'nginx', 'tftp', 'dhcp']);
        expect(spec.daemons[1].readyTcp).toEqual([{ address: '10.77.0.1', port: 2049 }, { address: '10.77.0.1', port: 20048 }]);
        expect(spec.daemons[3].readyLine).toBe('TFTP root is ');
        expect(new RegExp(spec.daemons[4].readyLine ?? '^$').test('dnsmasq-dhcp[7]: DHCP, IP range 10.77.0.100 -- 10.77.0.199, lease time 1h')).toBeTrue();
        expect(new RegExp(spec.daemons[4].readyLine ?? '^$').test('dnsmasq-dhcp[7]: DHCP, proxy on subnet 10.77.0.0')).toBeTrue();
        expect(planShare({ ...inputs, ownRpcbind: false }).daemons.map(d => d.name)).toEqual(['ganesha', 'nginx', 'tftp', 'dhcp']);
    });

    it('shuts the file servers (nginx, dnsmasq for TFTP) in a jail of the tree and the medium; NFS and DHCP need none', () => {
        const spec = planShare(inputs);
        const jail = { dir: '/run/share-this-cd/jail', binds: [
            { from: '/run/share-this-cd/tftp', at: '/run/share-this-cd/tftp' }, { from: medium, at: '/run/share-this-cd/tftp/medium' }] };
        for (const name of ['nginx', 'tftp']) {
            const d = spec.daemons.find(x => x.name === name);
            expect(d?.jail).withContext(name).toEqual(jail);
            expect(d?.argv[0]).toBe(name === 'nginx' ? '/usr/sbin/nginx' : '/usr/sbin/dnsmasq');
        }
        expect(spec.daemons.filter(d => d.jail === null).map(d => d.name)).toEqual(['rpcbind', 'ganesha', 'dhcp']);
        // A medium that needs its alias is bound from the alias.
        expect(planShare({ ...inputs, bindAlias: '/run/share-this-cd/medium' }).daemons[2].jail?.binds[1].from).toBe('/run/share-this-cd/medium');
    });

    it('plans the same share in proxy-DHCP when another DHCP server appears: a new DHCP config and GRUB, nothing else', () => {
        const full = planShare(inputs);
        const proxy = proxyPlan(full);
        expect(proxy.mode).toBe('proxy');
        expect(proxy.range).toBeNull();
        expect(proxy.daemons.find(d => d.name === 'dhcp')?.configs[0].text).toContain('dhcp-range=10.77.0.0,proxy');
        expect(proxy.daemons.find(d => d.name === 'tftp')).toEqual(full.daemons.find(d => d.name === 'tftp'));
        expect(changedItems(full.tree, proxy.tree)).toEqual([{ path: 'grubx64.efi', kind: 'grub-mkimage', mkimage: '/usr/bin/grub-mkimage', target: 'x86_64-efi', prefix: '(tftp,10.77.0.1)/grub' }]);
        expect(changedItems(full.tree, full.tree)).toEqual([]);
        expect(proxy.warnings).toContain('UEFI computers boot through proxy-DHCP only with Secure Boot switched off (see the README).');
    });

    it('answers router solicitations with radvd in full DHCP only, announcing nothing, as an optional daemon', () => {
        const full = planShare({ ...inputs, radvd: true });
        expect(full.daemons.map(d => d.name)).toEqual(['rpcbind', 'ganesha', 'nginx', 'tftp', 'radvd', 'dhcp']);
        const radvd = full.daemons.find(d => d.name === 'radvd');
        expect(radvd?.optional).toBeTrue();
        expect(radvd?.argv).toEqual(['/usr/sbin/radvd', '--nodaemon', '--config=/run/share-this-cd/radvd.conf', '--pidfile=/run/share-this-cd/radvd.pid',
            '--logmethod=stderr', '--username=nobody']);
        expect(new RegExp(radvd?.readyLine ?? '^$').test('[Dec 01 13:56:15] radvd (19041): version 2.19 started')).toBeTrue();
        // Proxy-DHCP (from the start, or after a router's DHCP server appeared): none. Not installed: none.
        expect(planShare({ ...inputs, radvd: true, mode: 'proxy', range: null }).daemons.map(d => d.name)).not.toContain('radvd');
        expect(proxyPlan(full).daemons.map(d => d.name)).not.toContain('radvd');
        expect(planShare(inputs).daemons.map(d => d.name)).not.toContain('radvd');
        const conf = renderRadvd({ interface: 'br0', pidFile: '/x', user: 'nobody' }).split('\n').map(l => l.trim());
        expect(conf).toContain('interface br0 {');
        for (const line of ['AdvSendAdvert on;', 'AdvDefaultLifetime 0;', 'AdvCurHopLimit 0;', 'AdvManagedFlag off;', 'AdvOtherConfigFlag off;', 'AdvRASolicitedUnicast on;'])
            expect(conf).toContain(line);
        expect(conf.filter(l => /^(prefix|route|RDNSS|DNSSL|AdvLinkMTU|clients)\b/i.test(l))).toEqual([]);
        const spec = { interface: 'br0', pidFile: '/x', user: 'nobody' };
        expect(radvdDaemon(spec, '/c').configs).toEqual([{ path: '/c', text: renderRadvd(spec) }]);
    });

    it('uses pxelinux.0 and no HTTP server with TFTP only', () => {
        const tftpBoot = planBoot(inspectMedium(reader), reader, { server: '10.77.0.1', http: false, httpPort: 80 });
        const spec = planShare({ ...inputs, boot: tftpBoot, http: null });
        expect(spec.tree[0]).toEqual({ path: 'pxelinux.0', kind: 'copy', from: loaders.pxelinux });
        expect(spec.daemons.map(d => d.name)).not.toContain('nginx');
        expect(spec.httpAccessLog).toBeNull();
    });

    it('builds a GRUB with our address in it for UEFI clients behind proxy-DHCP, and says Secure Boot must be off', () => {
        const spec = planShare({ ...inputs, mode: 'proxy', range: null });
        expect(spec.tree.find(t => t.path === 'grubx64.efi')).toEqual({ path: 'grubx64.efi', kind: 'grub-mkimage', mkimage: '/usr/bin/grub-mkimage', target: 'x86_64-efi', prefix: '(tftp,10.77.0.1)/grub' });
        expect(spec.platforms.find(p => p.id === 'uefi-x64')).toEqual({ id: 'uefi-x64', label: 'UEFI', bootFile: 'bootx64.efi', grub: 'grub-mkimage', ipxeScript: 'ipxe/uefi.ipxe' });
        expect(spec.warnings).toContain('UEFI computers boot through proxy-DHCP only with Secure Boot switched off (see the README).');
    });

    it('serves an x86-64 medium to BIOS and x86-64 UEFI computers only; other architectures get no answer', () => {
        const spec = planShare(inputs);
        expect(spec.platforms.map(p => p.id)).toEqual(['bios', 'uefi-x64']);
        const conf = spec.daemons.find(d => d.name === 'dhcp')?.configs[0].text ?? '';
        expect(conf).toContain('dhcp-boot=tag:bios,tag:!ipxe,lpxelinux.0,,10.77.0.1');
        expect(conf).not.toContain('bootaa64.efi');
        const proxy = planShare({ ...inputs, mode: 'proxy', range: null }).daemons.find(d => d.name === 'dhcp')?.configs[0].text ?? '';
        expect(proxy).toContain('dhcp-match=set:unserved,option:client-arch,11');
        expect(proxy).toContain('dhcp-ignore=tag:unserved');
    });

    it('serves an ARM64 medium to ARM64 UEFI computers, with its own shim and GRUB or this machine\'s', () => {
        const grub = 'x\0net/tftp.c\0';
        const arm = new MemoryReader('/media/arm', { 'casper/minimal.squashfs': '', 'casper/vmlinuz': '', 'casper/initrd': '',
            'boot/grub/grub.cfg': 'menuentry "Try Ubuntu" {\n\tlinux\t/casper/vmlinuz --- quiet\n\tinitrd\t/casper/initrd\n}\n',
            'EFI/BOOT/BOOTAA64.EFI': 'shim', 'EFI/BOOT/grubaa64.efi': grub, 'EFI/BOOT/mmaa64.efi': 'mok' });
        const armBoot = planBoot(inspectMedium(arm), arm, { server: '10.77.0.1', http: true, httpPort: 80 });
        expect(armBoot.medium.arch).toBe('arm64');
        expect(Object.keys(armBoot.files)).toEqual(['grub/grub.cfg', 'ipxe/uefi.ipxe']);
        // This (x86-64) machine has no ARM64 loaders: the medium's own.
        const fromMedium = planShare({ ...inputs, boot: armBoot });
        expect(fromMedium.platforms).toEqual([{ id: 'uefi-arm64', label: 'UEFI ARM64', bootFile: 'bootaa64.efi', grub: 'medium', ipxeScript: 'ipxe/uefi.ipxe' }]);
        expect(fromMedium.tree.map(t => `${t.kind}:${t.path}`)).toEqual(['copy:bootaa64.efi', 'copy:mmaa64.efi', 'copy:grubaa64.efi', 'text:ipxe/uefi.ipxe', 'text:grub/grub.cfg', 'dir:medium']);
        expect(fromMedium.tree[0]).toEqual({ path: 'bootaa64.efi', kind: 'copy', from: '/media/arm/EFI/BOOT/BOOTAA64.EFI' });
        const conf = fromMedium.daemons.find(d => d.name === 'dhcp')?.configs[0].text ?? '';
        expect(conf).toContain('dhcp-match=set:arm64,option:client-arch,11');
        expect(conf).toContain('dhcp-boot=tag:arm64,tag:!ipxe,bootaa64.efi,,10.77.0.1');
        expect(conf).not.toMatch(/lpxelinux|bootx64/);
        // An ARM64 machine's own signed loaders come first; behind proxy-DHCP, a GRUB built for arm64-efi.
        const own = { shim: '/usr/lib/shim/shimaa64.efi.signed', mokManager: null, grubNet: '/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed', grubMkimage: '/usr/bin/grub-mkimage' };
        const armLoaders = { ...loaders, efi: { 'uefi-arm64': own } };
        expect(planShare({ ...inputs, boot: armBoot, loaders: armLoaders }).tree.find(t => t.path === 'grubaa64.efi')).toEqual({ path: 'grubaa64.efi', kind: 'copy', from: own.grubNet });
        expect(planShare({ ...inputs, boot: armBoot, loaders: armLoaders, mode: 'proxy', range: null }).tree.find(t => t.path === 'grubaa64.efi'))
            .toEqual({ path: 'grubaa64.efi', kind: 'grub-mkimage', mkimage: '/usr/bin/grub-mkimage', target: 'arm64-efi', prefix: '(tftp,10.77.0.1)/grub' });
        // Neither: nothing served, and the sentence says what to install.
        const bare = new MemoryReader('/media/arm', { 'casper/minimal.squashfs': '', 'casper/vmlinuz': '', 'casper/initrd': '',
            'boot/grub/grub.cfg': 'menuentry "Try Ubuntu" {\n\tlinux\t/casper/vmlinuz\n\tinitrd\t/casper/initrd\n}\n', 'EFI/BOOT/BOOTAA64.EFI': 'shim' });
        const none = planShare({ ...inputs, boot: planBoot(inspectMedium(bare), bare, { server: '10.77.0.1', http: true, httpPort: 80 }) });
        expect(none.platforms).toEqual([]);
        expect(none.warnings).toContain('UEFI ARM64 computers cannot network-boot: install shim-signed and grub-efi-arm64-signed (for ARM64).');
    });

    it('exports with the kernel server when it runs, and says what cannot boot when loaders are missing', () => {
        const spec = planShare({ ...inputs, nfsBackend: 'kernel', loaders: { ...loaders, efi: { 'uefi-x64': { ...loaders.efi['uefi-x64'], shim: null } }, pxelinux: null, lpxelinux: null } });
        expect(spec.nfs.exportArgv).toEqual(['/usr/sbin/exportfs', '-i', '-o', 'ro,all_squash,anonuid=65534,anongid=65534,subtree_check,insecure,fsid=7077', `10.77.0.0/24:${medium}`]);
        expect(spec.daemons.map(d => d.name)).toEqual(['nginx', 'tftp', 'dhcp']);
        expect(spec.platforms).toEqual([]);
        expect(spec.warnings).toEqual(jasmine.arrayContaining([
            'BIOS computers cannot network-boot: pxelinux is not installed (packages pxelinux and syslinux-common).',
            'UEFI computers cannot network-boot: install shim-signed and grub-efi-amd64-signed.',
        ]));
    });
});

describe('the jail of the file servers', () => {
    const jail = { dir: '/run/share-this-cd/jail', binds: [
        { from: '/run/share-this-cd/tftp', at: '/run/share-this-cd/tftp' }, { from: "/media/ann/Ubuntu 24.04 'LTS'", at: '/run/share-this-cd/tftp/medium' }] };

    it('binds each path read-only, nosuid, nodev, noexec, quoted for sh, then pivots and detaches the old root', () => {
        const script = jailScript(jail);
        expect(script).toContain(`mount --bind '/media/ann/Ubuntu 24.04 '\\''LTS'\\''' "$J"'/run/share-this-cd/tftp/medium'`);
        expect(script.match(/mount -o remount,bind,ro,nosuid,nodev,noexec /g)?.length).toBe(2);
        expect(script).toContain('mount -o remount,ro,nosuid,nodev,noexec "$J"');
        const lines = script.trim().split('\n');
        expect(lines.slice(-3)).toEqual(['cd "$J"', 'pivot_root . .old', 'exec umount -l /.old']);
        expect(confineArgv(4242, jail).slice(0, 5)).toEqual(['/usr/bin/nsenter', '--target=4242', '--mount', '--', '/bin/sh']);
        // The namespace is the anchor's (a root process), the daemons enter it.
        expect(anchorArgv()).toEqual(['/usr/bin/unshare', '--mount', '--propagation', 'private', '--', '/usr/bin/sleep', 'infinity']);
        expect(inJailArgv(4242, ['/usr/sbin/nginx', '-c', 'x'])).toEqual(['/usr/bin/nsenter', '--target=4242', '--mount', '--', '/usr/sbin/nginx', '-c', 'x']);
    });

    it('refuses paths that are not plain and absolute, and a served path where its tools must be found', () => {
        expect(() => jailScript({ ...jail, dir: 'jail' })).toThrowError(/not a plain absolute path/);
        expect(() => jailScript({ ...jail, binds: [{ from: '/a/../etc', at: '/srv' }] })).toThrowError(/not a plain absolute path/);
        expect(() => jailScript({ ...jail, binds: [{ from: '/a', at: '/usr/share/tftp' }] })).toThrowError(/starts with \/usr/);
        expect(() => jailScript({ ...jail, binds: [{ from: '/a', at: '/' }] })).toThrowError(/root/);
    });

    it('judges a daemon confined from its mountinfo: our tmpfs as root, nothing but the bound paths below', () => {
        const confined = [
            '65 43 0:39 / / ro,nosuid,nodev,noexec,relatime - tmpfs share-this-cd-jail ro,size=1024k',
            '66 65 254:0 /run/share-this-cd/tftp /run/share-this-cd/tftp ro,nosuid,nodev,noexec - ext4 /dev/vda rw',
            '67 66 7:0 / /run/share-this-cd/tftp/medium ro,nosuid,nodev,noexec - iso9660 /dev/loop0 ro',
        ].join('\n');
        expect(isConfined(confined, jail)).toBeTrue();
        expect(isConfined(`${confined}\n68 65 0:22 / /.old rw - ext4 /dev/vda rw`, jail)).toBeFalse();
        expect(isConfined(confined.replace('share-this-cd-jail', 'tmpfs'), jail)).toBeFalse();
        expect(isConfined('', jail)).toBeFalse();
    });
});
