// The command line with bad and hostile input: real directories on disk, the real built command.
import GLib from 'gi://GLib';

import { FIXTURES, makeTree, readText, removeTree, runCli } from '../support/helpers.ts';

interface PlanJson {
    entries: { label: string; kernel: string; initrd: string[]; cmdline: string; default: boolean }[];
    files: Record<string, string>;
}

const CASPER = { 'casper/filesystem.squashfs': '', 'casper/vmlinuz': '', 'casper/initrd': '' };
const plan = (dir: string, ...extra: string[]) => runCli(['plan', '--medium', dir, '--server', '10.1.2.3', '--json', ...extra]);

describe('share-this-cd plan with bad input', () => {
    const trees: string[] = [];
    const tree = (files: Record<string, string | Uint8Array | null>): string => {
        const dir = makeTree(files);
        trees.push(dir);
        return dir;
    };
    afterAll(() => trees.forEach(removeTree));

    const expectOneSentence = (result: { status: number; stdout: string; stderr: string }, status: number, text: string): void => {
        expect(result.status).withContext(result.stderr).toBe(status);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(text);
        expect(result.stderr).not.toMatch(/at .*\.js:\d+|Error:|TypeError/);
    };

    it('a missing directory', () => {
        expectOneSentence(plan('/nonexistent/medium'), 1, 'share-this-cd: /nonexistent/medium does not exist. Choose the folder where a live CD/USB or its ISO is mounted.');
    });

    it('a file instead of a directory', () => {
        expectOneSentence(plan('/etc/hostname'), 1, '/etc/hostname is not a folder.');
    });

    it('an empty directory', () => {
        const dir = tree({});
        expectOneSentence(plan(dir), 1, `${dir} is empty.`);
    });

    it('a Windows-like tree', () => {
        const dir = tree({ 'sources/install.wim': '', 'bootmgr': '', 'boot/bcd': '', 'efi/boot/bootx64.efi': '' });
        expectOneSentence(plan(dir), 1, 'looks like a Windows installation medium, not a Linux live system.');
    });

    it('a directory that is not a live medium', () => {
        const dir = tree({ 'Documents/notes.txt': 'hello', 'casper/README': '' });
        expectOneSentence(plan(dir), 1, 'looked for casper/*.squashfs (Ubuntu, Mint) and live/*.squashfs (Debian live)');
    });

    it('a live medium whose only menu has an unterminated brace: warned, and a menu made from its kernels', () => {
        const dir = tree({ ...CASPER, '.disk/info': 'Remix 1.0', 'boot/grub/grub.cfg': 'menuentry "Broken" {\n  linux /casper/vmlinuz boot=casper\n' });
        const result = plan(dir);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain('note: Skipped /boot/grub/grub.cfg: line 1: a { is never closed.');
        const json = JSON.parse(result.stdout) as PlanJson;
        expect(json.entries).toEqual([{ label: 'Start Remix 1.0', kernel: 'casper/vmlinuz', initrd: ['casper/initrd'],
            cmdline: `boot=casper quiet splash netboot=nfs nfsroot=10.1.2.3:${dir} ip=dhcp`, default: true }]);
    });

    it('an include loop: warned, nothing hangs, the entries are kept once', () => {
        const dir = tree({ ...CASPER,
            'isolinux/isolinux.cfg': 'include a.cfg\nlabel live\n kernel /casper/vmlinuz\n append initrd=/casper/initrd boot=casper ---',
            'isolinux/a.cfg': 'include isolinux.cfg' });
        const result = plan(dir);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain('Skipped /isolinux/isolinux.cfg: it includes itself (an include loop).');
        expect((JSON.parse(result.stdout) as PlanJson).entries.length).toBe(1);
    });

    it('includes and symlinks that escape the medium are not followed', () => {
        const dir = tree({ ...CASPER,
            'isolinux/isolinux.cfg': 'include ../../etc/passwd\ninclude /../../../../etc/passwd\ninclude evil.cfg\nlabel live\n kernel /casper/vmlinuz\n append initrd=/casper/initrd boot=casper ---\nlabel leak\n kernel /casper/leak\n append initrd=/casper/initrd' });
        GLib.spawn_command_line_sync(`ln -s /etc/passwd ${dir}/isolinux/evil.cfg`);
        GLib.spawn_command_line_sync(`ln -s /etc/hostname ${dir}/casper/leak`);
        const result = plan(dir);
        expect(result.status).toBe(0);
        const json = JSON.parse(result.stdout) as PlanJson;
        expect(json.entries.map(e => e.kernel)).toEqual(['casper/vmlinuz']);
        expect(result.stdout).not.toContain('root:x:0');
        expect(result.stderr).toContain('Skipped ../../etc/passwd: it is outside the medium.');
        expect(result.stderr).toContain('Skipped /isolinux/evil.cfg: it is outside the medium.');
        expect(result.stderr).toContain('Left out “leak”: /casper/leak is not on the medium.');
    });

    it('a medium folder that is itself a symlink is followed, and its real path is what gets exported', () => {
        const dir = tree({});
        GLib.spawn_command_line_sync(`ln -s ${FIXTURES}/ubuntu-24.04-desktop ${dir}/cd`);
        const result = runCli(['plan', '--medium', `${dir}/cd`, '--server', '10.1.2.3', '--json']);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(`nfsroot=10.1.2.3:${FIXTURES}/ubuntu-24.04-desktop ip=dhcp`);
    });

    it('a 10 MB config file: refused quickly with a note, the other menu still used', () => {
        const dir = tree({ ...CASPER, 'isolinux/isolinux.cfg': new Uint8Array(10 * 1024 * 1024).fill(0x23),
            'boot/grub/grub.cfg': 'menuentry "Try" {\n linux /casper/vmlinuz boot=casper ---\n initrd /casper/initrd\n}' });
        const t0 = GLib.get_monotonic_time();
        const result = plan(dir);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain('Skipped /isolinux/isolinux.cfg: it is too large to be a boot menu.');
        expect((JSON.parse(result.stdout) as PlanJson).entries.map(e => e.label)).toEqual(['Try']);
        expect(GLib.get_monotonic_time() - t0).toBeLessThan(20e6); // no hang (a generous bound, not a benchmark)
    });

    it('labels and arguments with line breaks cannot add lines to the rendered menus', () => {
        const dir = tree({ ...CASPER, 'boot/grub/grub.cfg': [
            'menuentry "Try\nLABEL evil\nKERNEL /etc/passwd" {',
            '  linux /casper/vmlinuz boot=casper "a\nAPPEND x" ---',
            '  initrd /casper/initrd',
            '}',
        ].join('\n') });
        const json = JSON.parse(plan(dir).stdout) as PlanJson;
        const pxe = json.files['pxelinux.cfg/default'].split('\n');
        expect(pxe.filter(l => /^\s*LABEL /.test(l)).length).toBe(1);
        expect(pxe.filter(l => /^\s*KERNEL /.test(l))).toEqual(['  KERNEL http://10.1.2.3/medium/casper/vmlinuz']);
        const grub = json.files['grub/grub.cfg'].split('\n');
        expect(grub.filter(l => /^\s*menuentry /.test(l))).toEqual(["menuentry 'Try LABEL evil KERNEL /etc/passwd' {"]);
    });

    it('non-UTF-8 (Latin-1) bytes in a menu become readable UTF-8 text', () => {
        const latin1 = Uint8Array.from('label live\n menu label D\xe9marrer Ubuntu\n kernel /casper/vmlinuz\n append initrd=/casper/initrd boot=casper ---\n', c => c.charCodeAt(0));
        const dir = tree({ ...CASPER, 'isolinux/isolinux.cfg': latin1 });
        const json = JSON.parse(plan(dir).stdout) as PlanJson;
        expect(json.entries[0].label).toBe('Démarrer Ubuntu');
    });

    it('a medium path that cannot be written on a kernel command line is exported under an alias', () => {
        const dir = tree({ 'Ubuntu 24.04 amd64': null });
        GLib.spawn_command_line_sync(`cp -r ${FIXTURES}/ubuntu-24.04-desktop/. '${dir}/Ubuntu 24.04 amd64/'`);
        const json = JSON.parse(plan(`${dir}/Ubuntu 24.04 amd64`).stdout) as PlanJson;
        expect(json.entries[0].cmdline).toBe('netboot=nfs nfsroot=10.1.2.3:/run/share-this-cd/medium ip=dhcp --- quiet splash');
    });
});

describe('share-this-cd options', () => {
    const medium = `${FIXTURES}/ubuntu-24.04-desktop`;

    it('refuses a server address that is not a usable IPv4 address', () => {
        for (const bad of ['999.1.1.1', '10.0.0', 'fe80::1', '0.0.0.0', '127.0.0.1', '224.0.0.1', 'router.lan'])
            expect(runCli(['plan', '--medium', medium, '--server', bad]).stderr).withContext(bad).toContain('is not a usable IPv4 address');
    });

    it('refuses option values with a newline or control character, and paths with ..', () => {
        const nl = runCli(['plan', '--medium', medium, '--server', '10.0.0.1\nAPPEND evil']);
        expect(nl.status).toBe(1);
        expect(nl.stderr).toContain('The value of --server contains a line break or control character: "10.0.0.1\\nAPPEND evil".');
        const dots = runCli(['plan', '--medium', `${medium}/../ubuntu-24.04-desktop`, '--server', '10.0.0.1']);
        expect(dots.status).toBe(1);
        expect(dots.stderr).toContain('contains “..”');
    });

    it('refuses unknown, repeated and incomplete options with usage help (exit 2)', () => {
        for (const args of [['plan', '--bogus'], ['plan', '--server', '1.2.3.4', '--server', '1.2.3.5'], ['plan', '--server'],
            ['plan', '--medium', medium], ['frobnicate'], [], ['plan', 'extra', 'words']]) {
            const r = runCli(args);
            expect(r.status).withContext(args.join(' ')).toBe(2);
            expect(r.stderr).toContain('Try “share-this-cd --help”.');
            expect(r.stdout).toBe('');
        }
    });

    it('demo: takes its flags, refuses bad counts and options of other commands, and changes nothing', () => {
        for (const [args, message] of [
            [['demo', '--uefi', '--clients', '99'], '--clients takes a number from 1 to 8, not “99”.'],
            [['demo', '--proxy', '--secure-boot', '--clients', '0'], '--clients takes a number from 1 to 8, not “0”.'],
            [['demo', '--timeout', '5'], '--timeout takes a number from 30 to 3600, not “5”.'],
            [['demo', '--clients', '2\n'], 'contains a line break or control character'],
        ] as [string[], string][]) {
            const r = runCli(args);
            expect(r.status).withContext(args.join(' ')).toBe(1);
            expect(r.stderr).withContext(args.join(' ')).toContain(message);
            expect(r.stdout).toBe('');
        }
        const other = runCli(['demo', '--medium', medium]);
        expect(other.status).toBe(2);
        expect(other.stderr).toContain('The option --medium does not go with “demo”.');
        expect(GLib.file_test('/run/share-this-cd', GLib.FileTest.EXISTS)).toBeFalse();
    });

    it('boots the default entry after the medium\'s own timeout, else 30 s; --menu-timeout and --default-entry change that', () => {
        // live-build's menus wait for a key (isolinux "timeout 0", no GRUB timeout): a netboot nobody attends never starts.
        const live = `${FIXTURES}/debian-live-12`;
        const show = (...extra: string[]): string[] => ['pxelinux.cfg/default', 'grub/grub.cfg']
            .map(f => runCli(['plan', '--medium', live, '--server', '10.0.0.1', '--show', f, ...extra]).stdout);
        const [bios, uefi] = show();
        expect(bios).toContain('\nTIMEOUT 300\nMENU TITLE');
        expect(bios).toContain('\nDEFAULT live-amd64\n');
        expect(uefi).toContain('\nset timeout=30\n');
        const [waits, waitsToo] = show('--menu-timeout', '0');
        expect(waits).toContain('\nTIMEOUT 0\n');
        expect(waitsToo).toContain('\nset timeout=-1\n');
        const [failsafe, failsafeUefi] = show('--menu-timeout', '5', '--default-entry', 'Live system (amd64 fail-safe mode)');
        expect(failsafe).toContain('\nTIMEOUT 50\n');
        expect(failsafe).toContain('\nDEFAULT live-amd64-failsafe\n');
        expect(failsafeUefi).toContain('\nset timeout=5\nset default=');
        // The medium's own timeout stays (Ubuntu's 30 s in isolinux's tenths).
        expect(runCli(['plan', '--medium', `${FIXTURES}/ubuntu-20.04-desktop`, '--server', '10.0.0.1', '--show', 'grub/grub.cfg']).stdout).toContain('\nset timeout=5\n');
        for (const [args, message] of [
            [['--default-entry', 'Windows'], 'The medium has no boot entry “Windows”; its entries: “Live system (amd64)”, “Live system (amd64 fail-safe mode)”.'],
            [['--menu-timeout', '3601'], '“3601” is not a menu timeout'],
            [['--menu-timeout', '-1'], '“-1” is not a menu timeout'],
        ] as [string[], string][]) {
            const r = runCli(['plan', '--medium', live, '--server', '10.0.0.1', ...args]);
            expect(r.status).withContext(args.join(' ')).toBe(1);
            expect(r.stderr).withContext(args.join(' ')).toContain(message);
        }
    });

    it('refuses a bad --http-port', () => {
        expect(runCli(['plan', '--medium', medium, '--server', '10.0.0.1', '--http-port', '70000']).stderr).toContain('is not a valid HTTP port');
    });

    it('serves TFTP only with --no-http, and a chosen HTTP port', () => {
        const tftp = runCli(['plan', '--medium', medium, '--server', '10.0.0.1', '--no-http', '--show', 'pxelinux.cfg/default']);
        expect(tftp.stdout).toContain('KERNEL medium/casper/vmlinuz\n');
        const grub = runCli(['plan', '--medium', medium, '--server', '10.0.0.1', '--no-http', '--show', 'grub/grub.cfg']);
        expect(grub.stdout).toContain('\nset sharecd=(tftp,10.0.0.1)/medium\n');
        expect(grub.stdout).not.toContain('http');
        const port = runCli(['plan', '--medium', medium, '--server', '10.0.0.1', '--http-port', '8080', '--show', 'pxelinux.cfg/default']);
        expect(port.stdout).toContain('KERNEL http://10.0.0.1:8080/medium/casper/vmlinuz\n');
    });

    it('prints a readable summary without --json', () => {
        const r = runCli(['plan', '--medium', medium, '--server', '10.0.0.1']);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain('Medium: Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n');
        expect(r.stdout).toContain('* Try or Install Ubuntu\n');
    });

    it('without --medium uses the running live medium, or says that this is not a live session', () => {
        const cmdline = readText('/proc/cmdline');
        const r = runCli(['plan', '--server', '10.0.0.1']);
        if (/(^|\s)boot=(casper|live)(\s|$)/.test(cmdline)) {
            expect(r.status).toBe(0);
        } else {
            expect(r.status).toBe(1);
            expect(r.stderr).toContain('No live medium found: this computer was not started from a live CD/USB');
        }
    });

    it('shows help and version', () => {
        expect(runCli(['--help']).stdout).toContain('Usage: share-this-cd COMMAND [OPTIONS]');
        expect(runCli(['--version']).stdout).toMatch(/^share-this-cd \d+\.\d+\.\d+\n$/);
    });
});
