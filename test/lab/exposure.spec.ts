// A hostile medium shared on the lab LAN, tried from a client as root: the sharing computer serves the medium
// and nothing else. The medium is a copy of the sample Ubuntu medium with a root-only file and symlinks added
// that point out of it (absolute, relative, to a folder and to a file of the host) and inside it (Ubuntu's own
// `ubuntu -> .` and `dists/stable -> noble`). Real nginx, dnsmasq (TFTP) and nfs-ganesha; real curl, tftp-hpa
// and libnfs clients.
import GLib from 'gi://GLib';

import { LazyTmpDir, TOP, removeTree } from '../support/helpers.ts';
import { LabProcess } from '../../src/lab/share.ts';
import { ganeshaArgv, renderGanesha } from '../../src/backend/services/nfs.ts';
import {
    CLIENT, NOTHING_LEFT, RUNTIME, SRV, SRV_IP, type RunningShare, clientDhcp, leftovers, makeMedium, ns, nsTry, setupNet, sh, sha256, sleep, startShare,
    teardownNet, waitStatus,
} from '../support/lab.ts';
import { ACCESS_LOG_LIMIT } from '../../src/backend/watch.ts';

const TIMEOUT = 90000;

describe('a hostile medium on the LAN', () => {
    let medium: string;
    let share: RunningShare;
    const tmpDir = new LazyTmpDir('share-this-cd-exposure-XXXXXX');
    // A file of the host, readable by all: its words must never reach a client.
    const hostDir = new LazyTmpDir('share-this-cd-host-XXXXXX');
    const HOST_WORDS = `host file ${GLib.uuid_string_random()}`;
    const SECRET_WORDS = `root only ${GLib.uuid_string_random()}`;

    beforeAll(async () => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        sh(['sh', '-c', `echo '${HOST_WORDS}' > ${hostDir.path}/host.txt && chmod 755 ${hostDir.path} && chmod 644 ${hostDir.path}/host.txt`]);
        medium = makeMedium();
        sh(['sh', '-c', [
            `cd ${medium}`,
            `echo '${SECRET_WORDS}' > secret.txt && chmod 600 secret.txt`,
            'ln -s / casper/escape',
            `ln -s ${hostDir.path}/host.txt casper/host-file`,
            `ln -s ${hostDir.path} casper/host-folder`,
            'ln -s ../../../../../../../../.. casper/climb',
            'ln -s . ubuntu',
            'mkdir -p dists/noble && echo "Suite: noble" > dists/noble/Release && chmod -R a+rX dists && ln -s noble dists/stable',
        ].join(' && ')]);
        setupNet();
        share = await startShare(['--medium', medium]);
        clientDhcp();
    }, TIMEOUT);

    afterAll(async () => {
        if (share?.running) {
            share.signal(2);
            await share.ended();
        }
        teardownNet();
        removeTree(medium);
        tmpDir.remove();
        hostDir.remove();
    }, TIMEOUT);

    /** HTTP from the client: status code and body. */
    function http(path: string): { code: string; body: string } {
        const out = `${tmpDir.path}/http-body`;
        sh(['rm', '-f', out]);
        const code = nsTry(CLIENT, ['curl', '-s', '--path-as-is', '-o', out, '-w', '%{http_code}', `http://${SRV_IP}/${path}`]).stdout;
        return { code, body: GLib.file_test(out, GLib.FileTest.EXISTS) ? sh(['cat', out]).stdout : '' };
    }

    /** TFTP from the client: the file's text, or null when it was not served. */
    function tftp(path: string): string | null {
        const out = `${tmpDir.path}/tftp-${GLib.uuid_string_random()}`;
        const r = nsTry(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', path, out]);
        if (!GLib.file_test(out, GLib.FileTest.EXISTS))
            return null;
        const text = sh(['head', '-c', '4096', out]).stdout;
        sh(['rm', '-f', out]);
        // tftp-hpa leaves an empty file behind when the server refused.
        return /Error code|Transfer timed out/.test(`${r.stdout}${r.stderr}`) ? null : text;
    }

    /** NFS from the client, as root (libnfs sends the caller's uid and gid: 0). */
    function nfs(path: string): { status: number; text: string } {
        const out = `${tmpDir.path}/nfs-out`;
        const r = sh(['sh', '-c', `ip netns exec ${CLIENT} nfs-cat 'nfs://${SRV_IP}${RUNTIME}/nfs/${path}?uid=0&gid=0' > ${out}`]);
        return { status: r.status, text: sh(['head', '-c', '4096', out]).stdout };
    }

    const escapes = (): string[] => ['casper/escape/etc/passwd', `casper/escape${hostDir.path}/host.txt`, 'casper/host-file', 'casper/host-folder/host.txt',
        'casper/climb/etc/passwd', `casper/climb${hostDir.path}/host.txt`];

    it('serves no file of the host over HTTP through any symlink of the medium', () => {
        const passwd = sh(['cat', '/etc/passwd']).stdout;
        for (const path of escapes()) {
            const r = http(`medium/${path}`);
            expect(r.code).withContext(path).not.toBe('200');
            expect(r.body).withContext(path).not.toContain(HOST_WORDS);
            expect(r.body).withContext(path).not.toContain(passwd.split('\n')[0]);
        }
        // Nor what the jail holds besides the medium: the runtime tree's configurations and logs.
        for (const path of ['medium/casper/escape/run/share-this-cd/tftp.conf', 'medium/casper/escape/run/share-this-cd/http-access.log',
            `medium/casper/escape${RUNTIME}/nginx.conf`, 'medium/casper/escape/proc/self/environ', 'medium/casper/escape/.old/etc/passwd'])
            expect(http(path).code).withContext(path).not.toBe('200');
    });

    it('serves no file of the host over TFTP through any symlink of the medium', () => {
        for (const path of escapes()) {
            const text = tftp(`medium/${path}`);
            expect(text === null || !text.includes(HOST_WORDS)).withContext(`${path}: ${text}`).toBeTrue();
            expect(text).withContext(path).toBeNull();
        }
    });

    it('keeps the links that stay inside the medium working, over HTTP and TFTP', () => {
        const local = `${tmpDir.path}/vmlinuz`;
        ns(CLIENT, ['curl', '-sSf', '-o', local, `http://${SRV_IP}/medium/ubuntu/ubuntu/casper/vmlinuz`]);
        expect(sha256(local)).toBe(sha256(`${medium}/casper/vmlinuz`));
        expect(http('medium/dists/stable/Release')).toEqual({ code: '200', body: 'Suite: noble\n' });
        expect(tftp('medium/ubuntu/dists/stable/Release')).toBe('Suite: noble\n');
        expect(tftp('dists/noble/Release')).toBeNull();
        expect(tftp('medium/ubuntu/.disk/info')).toContain('Ubuntu 24.04.1 LTS');
    });

    it('maps a root client to nobody over NFS: the root-only file stays unread, the medium is served', () => {
        const secret = nfs('secret.txt');
        expect(secret.status).not.toBe(0);
        expect(secret.text).not.toContain(SECRET_WORDS);
        const local = `${tmpDir.path}/squashfs`;
        sh(['sh', '-c', `ip netns exec ${CLIENT} nfs-cat 'nfs://${SRV_IP}${RUNTIME}/nfs/casper/minimal.standard.live.squashfs?uid=0&gid=0' > ${local}`]);
        expect(sha256(local)).toBe(sha256(`${medium}/casper/minimal.standard.live.squashfs`));
        expect(nfs('.disk/info')).toEqual({ status: 0, text: sh(['cat', `${medium}/.disk/info`]).stdout });
        // The root-only file over HTTP and TFTP neither (their servers read as nobody).
        expect(http('medium/secret.txt').body).not.toContain(SECRET_WORDS);
        expect(tftp('medium/secret.txt')).toBeNull();
    });

    it('serves no file of the host over NFS through any symlink of the medium (the client resolves them itself)', () => {
        for (const path of escapes()) {
            const r = nfs(path);
            expect(r.text).withContext(path).not.toContain(HOST_WORDS);
            expect(r.text).withContext(path).not.toContain('root:x:0:0');
        }
    });

    it('has shut nginx and dnsmasq (TFTP) in a jail of the tree and the medium, read-only, nosuid, nodev, noexec', () => {
        // The TFTP server is the dnsmasq started with tftp.conf (the other one answers DHCP and serves no file).
        for (const [name, config] of [['nginx', 'nginx.conf'], ['dnsmasq', 'tftp.conf']]) {
            const pid = /^\d+$/m.exec(sh(['sh', '-c', `ip netns pids ${SRV} | while read p; do [ "$(cat /proc/$p/comm)" = ${name} ] && tr '\\0' ' ' < /proc/$p/cmdline | grep -q /${config} && echo $p; done | head -1`]).stdout)?.[0];
            expect(pid).withContext(name).toBeDefined();
            const mounts = sh(['cat', `/proc/${pid}/mountinfo`]).stdout.trim().split('\n');
            expect(mounts.length).withContext(name).toBe(3);
            expect(mounts[0]).toMatch(/ \/ \/ ro,nosuid,nodev,noexec\S* - tmpfs share-this-cd-jail /);
            expect(mounts[1]).toContain(` ${RUNTIME}/tftp ro,nosuid,nodev,noexec`);
            expect(mounts[2]).toContain(` ${RUNTIME}/tftp/medium ro,nosuid,nodev,noexec`);
        }
        // The host sees none of it: its tree has an empty folder where the jail shows the medium.
        expect(sh(['ls', '-A', `${RUNTIME}/tftp/medium`]).stdout).toBe('');
    });

    it('empties the HTTP access log once it has read past 1 MiB of it, and goes on tracking the client', async () => {
        const log = `${RUNTIME}/http-access.log`;
        // 12 000 requests of ~130-byte log lines: about 1.5 MiB written in all.
        ns(CLIENT, ['curl', '-s', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/not-there-${'x'.repeat(60)}-[1-12000]`]);
        const sizeOf = (): number => Number(sh(['stat', '-c', '%s', log]).stdout.trim());
        for (let i = 0; i < 50 && sizeOf() >= ACCESS_LOG_LIMIT; i++)
            await sleep(100);
        expect(sizeOf()).toBeLessThan(ACCESS_LOG_LIMIT);
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
        const s = await waitStatus(st => st.clients.some(c => c.fetched.includes('kernel')), 'the kernel fetched after the log was emptied');
        expect(s.clients.length).toBeLessThanOrEqual(2);
    });

    const FORGE = `${TOP}/test/tools/nfsForge.py`;

    /**
     * The hostile NFS client (test/tools/nfsForge.py) against EXPORT: an honest read of .disk/info, then
     * forgeries. `serverSide`: where the server reads the export from, in the mounts of process `pid`.
     */
    function forge(exportPath: string, serverSide: string, pid: number | null): { honest: NfsRead; layout?: boolean; forged_file?: NfsRead; forged_folder?: NfsRead } {
        const where = pid === null ? [] : ['nsenter', '-t', String(pid), '-m', '--'];
        const handle = sh([...where, '/usr/bin/python3', FORGE, 'handle', `${serverSide}/.disk/info`]).stdout.trim();
        const r = nsTry(CLIENT, ['/usr/bin/python3', FORGE, 'forge', SRV_IP, exportPath, '.disk/info', handle, `${hostDir.path}/host.txt`]);
        expect(r.status).withContext(r.stderr).toBe(0);
        return JSON.parse(r.stdout) as ReturnType<typeof forge>;
    }

    it('reaches no file of the host\'s disk with forged NFS handles: a medium that is a folder of that disk is served from a packed copy', () => {
        const got = forge(`${RUNTIME}/nfs`, `${RUNTIME}/nfs`, Number(share.proc.get_identifier()));
        expect(got.honest).toEqual({ status: 0, data: sh(['cat', `${medium}/.disk/info`]).stdout });
        expect(got.layout).toBeTrue(); // the forgery was made as on a plain export (below)
        for (const forged of [got.forged_file, got.forged_folder])
            expect(forged?.data ?? '').not.toContain(HOST_WORDS);
        expect(sh(['nsenter', '-t', String(share.proc.get_identifier()), '-m', '--', 'findmnt', '-n', '-o', 'FSTYPE,OPTIONS', `${RUNTIME}/nfs`]).stdout).toMatch(/^squashfs\s+ro,nosuid,nodev,noexec/);
    });

    it('stops and leaves nothing behind', async () => {
        share.signal(2);
        expect(await share.ended()).withContext(share.output).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
        expect(sh(['sh', '-c', 'ls -d /var/tmp/share-this-cd-* 2>/dev/null || true']).stdout.trim()).toBe('');
    });

    it('(the control) the same forgeries read the host\'s file from nfs-ganesha exporting the folder itself, as it did before', async () => {
        const dir = GLib.dir_make_tmp('share-this-cd-plain-ganesha-XXXXXX');
        const config = renderGanesha({ path: medium, subnet: '10.77.0.0/24', address: SRV_IP, stateDir: dir }).replace(/Protocols = [^;]*;/, 'Protocols = 4;');
        GLib.file_set_contents(`${dir}/ganesha.conf`, config);
        const ganesha = new LabProcess(['ip', 'netns', 'exec', SRV, 'unshare', '-m', '--propagation', 'private', ...ganeshaArgv(`${dir}/ganesha.conf`, `${dir}/ganesha.pid`)]);
        try {
            for (let i = 0; i < 150 && nsTry(CLIENT, ['bash', '-c', `exec 3<>/dev/tcp/${SRV_IP}/2049`]).status !== 0; i++)
                await sleep(100);
            // (ganesha answers NFS4ERR_GRACE for a while after it starts)
            let got = forge(medium, medium, null);
            for (let i = 0; i < 100 && got.honest.status !== 0; i++) {
                await sleep(200);
                got = forge(medium, medium, null);
            }
            expect(got.honest.status).withContext(ganesha.output).toBe(0);
            expect(got.layout).toBeTrue();
            expect(`${got.forged_file?.data}${got.forged_folder?.data}`).toContain(HOST_WORDS);
        } finally {
            ganesha.signal(15);
            await ganesha.ended(15000);
            removeTree(dir);
        }
    });
});

interface NfsRead {
    status: number;
    data: string | null;
}
