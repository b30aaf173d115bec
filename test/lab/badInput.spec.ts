// Bad input to `share-this-cd start` in the lab: each gets one clear sentence, and nothing is left running.
import GLib from 'gi://GLib';

import { CLI, makeTree, removeTree } from '../support/helpers.ts';
import {
    CLIENT, NOTHING_LEFT, RunningShare, SRV, SRV_IP, cliInServer, leftovers, makeMedium, ns, nsTry, setupNet, sh, sha256, sleep,
    startShare, teardownNet,
} from '../support/lab.ts';

const TIMEOUT = 90000;

/**
 * Runs `start` expecting failure: returns its output after checking the exit status and the leftovers
 * (`held`: a port the test itself holds, which may still listen).
 */
async function refused(args: string[], status = 1, held: number | null = null): Promise<string> {
    const share = new RunningShare(args);
    const code = await share.ended(30000);
    expect(code).withContext(share.output).toBe(status);
    expect(share.output).not.toMatch(/Sharing .* ready in/);
    expect(share.output).not.toMatch(/internal error|TypeError|at .*\.js:\d+/);
    const left = leftovers();
    if (held !== null)
        left.listening = left.listening.split('\n').filter(l => !l.includes(`:${held} `)).join('\n');
    expect(left).toEqual(NOTHING_LEFT);
    return share.output;
}

describe('start with bad input, in the lab', () => {
    let medium: string;
    const holders: number[] = [];

    beforeAll(() => {
        jasmine.DEFAULT_TIMEOUT_INTERVAL = TIMEOUT;
        medium = makeMedium({ kernel: 100_000, initrd: 100_000, squashfs: 100_000 });
        setupNet();
        // A second interface that is down, for the "interface down" case.
        ns(SRV, ['ip', 'link', 'add', 'eth9', 'type', 'veth', 'peer', 'name', 'eth9p']);
    });
    afterAll(() => {
        teardownNet();
        removeTree(medium);
    });
    afterEach(async () => {
        for (const pid of holders.splice(0))
            sh(['kill', String(pid)]);
        await sleep(100);
        if (GLib.file_test('/run/share-this-cd/journal.json', GLib.FileTest.EXISTS))
            cliInServer(['stop', '--force']);
    });

    /** Holds a port inside the server namespace with the lab's hold-port tool. */
    async function hold(proto: 'tcp' | 'udp', address: string, port: number): Promise<void> {
        const pid = sh(['sh', '-c', `ip netns exec ${SRV} gjs -m ${GLib.path_get_dirname(CLI)}/hold-port.js ${proto} ${address} ${port} > /dev/null 2>&1 & echo $!`]).stdout.trim();
        holders.push(Number(pid));
        for (let i = 0; i < 50; i++) {
            const listening = nsTry(SRV, ['ss', '-Hlun' + (proto === 'tcp' ? 't' : ''), `sport = :${port}`]).stdout;
            if (listening.includes(`:${port}`))
                return;
            await sleep(50);
        }
        throw new Error(`could not hold ${proto} ${port}`);
    }

    it('an unknown interface', async () => {
        expect(await refused(['--medium', medium, '--interface', 'eth7'])).toContain('There is no network interface called “eth7”. Usable interfaces: br0.');
    });

    it('an interface that is down', async () => {
        expect(await refused(['--medium', medium, '--interface', 'eth9'])).toContain('“eth9” is down (not connected or switched off). Plug in the network cable or switch the interface on, then try again.');
    });

    it('the loopback interface', async () => {
        expect(await refused(['--medium', medium, '--interface', 'lo'])).toContain('“lo” is the loopback interface: other computers cannot reach it.');
    });

    it('a bridge port instead of the bridge', async () => {
        expect(await refused(['--medium', medium, '--interface', 's-cli'])).toContain('“s-cli” is part of “br0”: share through “br0” instead.');
    });

    it('a medium that is not a live system', async () => {
        const dir = makeTree({ 'notes.txt': 'hello' });
        try {
            expect(await refused(['--medium', dir])).toContain('No Linux live system found in');
        } finally {
            removeTree(dir);
        }
    });

    it('an ISO file that is not an ISO image', async () => {
        const dir = makeTree({ 'fake.iso': new Uint8Array(100000).fill(7) });
        try {
            expect(await refused(['--iso', `${dir}/fake.iso`])).toContain('fake.iso is not an ISO image (no ISO 9660 file system in it).');
            expect(await refused(['--iso', `${dir}/missing.iso`])).toContain('missing.iso does not exist.');
        } finally {
            removeTree(dir);
        }
    });

    it('option values with a newline or ..', async () => {
        expect(await refused(['--medium', `${medium}\nx`])).toContain('contains a line break or control character');
        expect(await refused(['--medium', `${medium}/../x`])).toContain('contains “..”');
        expect(await refused(['--interface', 'br0\nAPPEND'])).toContain('contains a line break or control character');
        expect(await refused(['--medium', medium, '--mode', 'rogue'], 1)).toContain('“rogue” is not a mode: use auto, proxy or dhcp.');
        expect(await refused(['--medium', medium, '--interface', '../etc'])).toContain('is not a network interface name');
    });

    it('a second start while sharing', async () => {
        const first = await startShare(['--medium', medium]);
        const second = new RunningShare(['--medium', medium]);
        expect(await second.ended()).toBe(1);
        expect(second.output).toMatch(/This computer is already sharing \(process \d+\)\. Stop that first: share-this-cd stop\./);
        // The first share is untouched and still serves.
        expect(first.running).toBeTrue();
        ns(CLIENT, ['ip', 'addr', 'add', '10.77.0.202/24', 'dev', 'eth0']);
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}/medium/casper/vmlinuz`]);
        first.signal(2);
        expect(await first.ended()).toBe(0);
        expect(leftovers()).toEqual(NOTHING_LEFT);
        ns(CLIENT, ['ip', 'addr', 'flush', 'dev', 'eth0']);
    });

    it('port 80 taken by another web server: the HTTP fast path moves to 8080, and clients fetch over it', async () => {
        await hold('tcp', SRV_IP, 80);
        const share = await startShare(['--medium', medium]);
        expect(share.output).toContain('Port 80 is used by another web server on this computer: the HTTP fast path uses port 8080.');
        expect(share.output).toMatch(/HTTP on port 8080; ready in/);
        ns(CLIENT, ['ip', 'addr', 'add', '10.77.0.204/24', 'dev', 'eth0']);
        ns(CLIENT, ['curl', '-sSf', '-o', '/dev/null', `http://${SRV_IP}:8080/medium/casper/vmlinuz`]);
        ns(CLIENT, ['ip', 'addr', 'flush', 'dev', 'eth0']);
        share.signal(2);
        expect(await share.ended()).toBe(0);
        const left = leftovers();
        left.listening = left.listening.split('\n').filter(l => !l.includes(':80 ')).join('\n');
        expect(left).toEqual(NOTHING_LEFT);
    });

    it('a chosen HTTP port already taken is refused, not moved', async () => {
        await hold('tcp', SRV_IP, 8090);
        expect(await refused(['--medium', medium, '--http-port', '8090'], 1, 8090)).toContain('Port 8090 (HTTP) is already used by another program on this computer');
    });

    for (const [proto, port, address, text] of [
        ['tcp', 2049, SRV_IP, 'Port 2049 (NFS) is already used by another program on this computer'],
        ['udp', 69, SRV_IP, 'Port 69 (TFTP) is already used by another program on this computer'],
        ['udp', 67, '0.0.0.0', 'port 67 (DHCP) is already used by another program on this computer'],
    ] as const) {
        it(`port ${port} already taken`, async () => {
            await hold(proto, address, port);
            expect(await refused(['--medium', medium], 1, port)).toContain(text);
        });
    }

    it('shares an ISO file (mounted read-only with FUSE here: no iso9660 in this kernel) and unmounts it at stop', async () => {
        const dir = makeTree({});
        const iso = `${dir}/live.iso`;
        try {
            const made = sh(['xorriso', '-as', 'mkisofs', '-R', '-J', '-V', 'LIVE', '-o', iso, medium]);
            expect(made.status).withContext(made.stderr).toBe(0);
            const share = await startShare(['--iso', iso]);
            // `ip netns exec` gives the engine its own mount namespace: look at its mounts.
            expect(sh(['cat', `/proc/${share.pid}/mounts`]).stdout).toMatch(/ \/run\/share-this-cd\/iso fuse\.fuseiso ro,/);
            ns(CLIENT, ['ip', 'addr', 'add', '10.77.0.203/24', 'dev', 'eth0']);
            ns(CLIENT, ['tftp', '-m', 'binary', SRV_IP, '-c', 'get', 'medium/casper/vmlinuz', `${dir}/k`]);
            expect(sha256(`${dir}/k`)).toBe(sha256(`${medium}/casper/vmlinuz`));
            sh(['sh', '-c', `ip netns exec ${CLIENT} nfs-cat nfs://${SRV_IP}/run/share-this-cd/iso/casper/minimal.standard.live.squashfs > ${dir}/sq`]);
            expect(sha256(`${dir}/sq`)).toBe(sha256(`${medium}/casper/minimal.standard.live.squashfs`));
            share.signal(2);
            expect(await share.ended()).toBe(0);
            expect(leftovers()).toEqual(NOTHING_LEFT); // fuseiso included
        } finally {
            ns(CLIENT, ['ip', 'addr', 'flush', 'dev', 'eth0']);
            removeTree(dir);
        }
    });
});
