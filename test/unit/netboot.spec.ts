import { renderGrub, grubQuote } from '../../src/backend/bootmenu/grubRenderer.ts';
import { type Menu, type MenuEntry, type Submenu, flatEntries, newEntry, splitKernelArgs } from '../../src/backend/bootmenu/model.ts';
import { netbootArgs } from '../../src/backend/bootmenu/netboot.ts';
import { ipxeText, ipxeWritable, renderIpxe } from '../../src/backend/bootmenu/ipxeRenderer.ts';
import { renderPxelinux } from '../../src/backend/bootmenu/pxelinuxRenderer.ts';
import type { FileSource } from '../../src/backend/bootmenu/render.ts';
import { chooseDefault, entryLabels, menuTimeout } from '../../src/backend/bootPlan.ts';
import { DEFAULT_MENU_TIMEOUT } from '../../src/shared/options.ts';

const target = { server: '192.168.1.20', nfsRoot: '/cdrom' };
const casper = (cmdline: string) => netbootArgs('casper', splitKernelArgs(cmdline), target).join(' ');
const live = (cmdline: string) => netbootArgs('live-boot', splitKernelArgs(cmdline), target).join(' ');

describe('netboot translation', () => {
    it('puts the casper netboot arguments before --- (what follows is for the installed system)', () => {
        expect(casper('file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash ---'))
            .toBe('file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp ---');
        expect(casper('--- quiet splash')).toBe('netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp --- quiet splash');
        expect(casper('boot=casper quiet splash --')).toBe('boot=casper quiet splash netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp --');
    });

    it('appends at the end when there is no separator', () => {
        expect(casper('boot=casper quiet')).toBe('boot=casper quiet netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp');
    });

    it('adds boot=live for live-boot unless present, keeping its place', () => {
        expect(live('boot=live components quiet splash')).toBe('boot=live components quiet splash netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp');
        expect(live('components quiet')).toBe('components quiet boot=live netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp');
    });

    it('drops what only makes sense for a local ISO or that we replace', () => {
        expect(casper('file=/cdrom/preseed/ubuntu.seed iso-scan/filename=${iso_path} quiet ---')).toBe('file=/cdrom/preseed/ubuntu.seed quiet netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp ---');
        expect(live('boot=live findiso=/x.iso fromiso=/dev/sda1/x.iso components')).toBe('boot=live components netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp');
        expect(live('boot=live findiso= ip=frommedia netboot=cifs nfsroot=1.2.3.4:/x initrd=/live/initrd.img')).toBe('boot=live netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp');
    });

    it('keeps the preseed file (casper mounts the NFS root at /cdrom) and quoted arguments', () => {
        expect(casper('file=/cdrom/preseed/ubuntu.seed foo="a b" ---')).toBe('file=/cdrom/preseed/ubuntu.seed foo="a b" netboot=nfs nfsroot=192.168.1.20:/cdrom ip=dhcp ---');
    });

    it('splits kernel command lines like Linux: on spaces except inside double quotes', () => {
        expect(splitKernelArgs('  a  b="c d" e ')).toEqual(['a', 'b="c d"', 'e']);
        expect(splitKernelArgs('')).toEqual([]);
    });
});

const menu = (): Menu => ({
    title: null,
    timeout: 5,
    warnings: [],
    items: [
        newEntry({ label: 'Try Ubuntu', name: 'live', hotkey: 't', kernel: 'casper/vmlinuz', initrds: ['casper/initrd'], args: ['quiet', '---'], default: true, help: ['Start the live system.'] }),
        { type: 'submenu', label: 'Advanced', hotkey: 'a', items: [
            newEntry({ label: 'Memory test', kind: 'memtest', kernel: 'install/mt86plus' }),
        ] },
        newEntry({ label: 'Boot from first hard disk', kind: 'localdisk' }),
        newEntry({ label: 'UEFI Firmware Settings', kind: 'fwsetup' }),
    ],
});
const http: FileSource = { server: '10.0.0.1', prefix: 'medium', http: { port: 80 } };
const tftp: FileSource = { server: '10.0.0.1', prefix: 'medium', http: null };

describe('pxelinux renderer', () => {
    it('writes a menu.c32 menu with title, default, timeout in tenths, hotkeys, help and submenus', () => {
        const text = renderPxelinux(menu(), tftp, 'Ubuntu 24.04');
        expect(text).toContain('UI menu.c32\nPROMPT 0\nTIMEOUT 50\nMENU TITLE Ubuntu 24.04\nDEFAULT live\n');
        expect(text).toContain([
            'LABEL live', '  MENU LABEL ^Try Ubuntu', '  MENU DEFAULT', '  KERNEL medium/casper/vmlinuz',
            '  INITRD medium/casper/initrd', '  APPEND quiet ---', '  IPAPPEND 2', '  TEXT HELP', '  Start the live system.', '  ENDTEXT',
        ].join('\n'));
        expect(text).toContain('MENU BEGIN\n  MENU TITLE Advanced\n  MENU LABEL ^Advanced\n');
        expect(text).toContain('  LABEL Memory-test\n    MENU LABEL Memory test\n    KERNEL medium/install/mt86plus\n');
        expect(text).toContain('  LABEL back\n    MENU LABEL Back\n    MENU EXIT\nMENU END');
        expect(text).toContain('LABEL Boot-from-first-hard-disk\n  MENU LABEL Boot from first hard disk\n  LOCALBOOT 0');
    });

    it('fetches kernels and initrds over HTTP when the fast path is on', () => {
        const text = renderPxelinux(menu(), http, 'x');
        expect(text).toContain('KERNEL http://10.0.0.1/medium/casper/vmlinuz\n  INITRD http://10.0.0.1/medium/casper/initrd\n');
        expect(renderPxelinux(menu(), { ...http, http: { port: 8080 } }, 'x')).toContain('KERNEL http://10.0.0.1:8080/medium/casper/vmlinuz');
    });

    it('waits for the user when the medium has no timeout', () => {
        expect(renderPxelinux({ ...menu(), timeout: null }, tftp, 'x')).toContain('TIMEOUT 0\n');
    });

    it('cannot be injected into: a label or argument with line breaks stays on its line', () => {
        const m = menu();
        const evil = newEntry({ label: 'x\nLABEL evil\nKERNEL /etc/passwd', name: 'a\nb', kernel: 'casper/vmlinuz', args: ['a\nAPPEND evil'] });
        m.items = [evil];
        const text = renderPxelinux(m, tftp, 'Title\nUI evil.c32');
        const lines = text.split('\n');
        expect(lines.filter(l => /^\s*LABEL /.test(l)).length).toBe(1);
        expect(lines.filter(l => /^\s*KERNEL /.test(l))).toEqual(['  KERNEL medium/casper/vmlinuz']);
        expect(lines.filter(l => /^\s*UI /.test(l))).toEqual(['UI menu.c32']);
        expect(lines.filter(l => /^\s*APPEND /.test(l))).toEqual(['  APPEND a APPEND evil']);
    });

    it('gives unique, typeable label names', () => {
        const m = menu();
        m.items = [newEntry({ label: 'Same', kernel: 'k' }), newEntry({ label: 'Same', kernel: 'k' }), newEntry({ label: '***', kernel: 'k' })];
        const names = renderPxelinux(m, tftp, 'x').split('\n').filter(l => l.startsWith('LABEL ')).map(l => l.slice(6));
        expect(names).toEqual(['Same', 'Same-2', 'entry3']);
    });
});

describe('GRUB renderer', () => {
    it('fetches over HTTP when GRUB can read a file over HTTP, else TFTP, from the server address', () => {
        const text = renderGrub(menu(), http, 'Ubuntu');
        expect(text).toContain('if [ -e (http,10.0.0.1)/grub/grub.cfg ]; then\n\tset sharecd=(http,10.0.0.1)/medium\nelse\n\tset sharecd=(tftp,10.0.0.1)/medium\nfi\nexport sharecd\n');
        expect(renderGrub(menu(), tftp, 'Ubuntu')).toContain('\nset sharecd=(tftp,10.0.0.1)/medium\nexport sharecd\n');
    });

    it('writes a hotkey only when it is a letter or digit, whatever the menu model holds', () => {
        const m = menu();
        (m.items[0] as MenuEntry).hotkey = ';';
        (m.items[1] as Submenu).hotkey = '{';
        const text = renderGrub(m, tftp, 'Ubuntu');
        expect(text).not.toContain('--hotkey');
        expect(text).toContain("menuentry 'Try Ubuntu' {");
    });

    it('writes entries, submenus, hotkeys, default and timeout', () => {
        const text = renderGrub(menu(), tftp, 'Ubuntu');
        expect(text).toContain('set timeout=5\nset default=0\n');
        expect(text).toContain("menuentry 'Try Ubuntu' --hotkey=t {\n\tlinux $sharecd/casper/vmlinuz quiet ---\n\tinitrd $sharecd/casper/initrd\n}");
        expect(text).toContain("submenu Advanced --hotkey=a {\n\n\tmenuentry 'Memory test' {\n\t\tlinux $sharecd/install/mt86plus\n\t}\n}");
        expect(text).toContain("menuentry 'Boot from first hard disk' {\n\texit 1\n}");
        expect(text).toContain("menuentry 'UEFI Firmware Settings' {\n\tfwsetup\n}");
    });

    it('points default into submenus with a > path', () => {
        const m = menu();
        const first = m.items[0];
        if (first.type === 'entry')
            first.default = false;
        const sub = m.items[1];
        if (sub.type === 'submenu' && sub.items[0].type === 'entry')
            sub.items[0].default = true;
        expect(renderGrub(m, tftp, 'x')).toContain("set default='1>0'\n");
    });

    it('quotes words so that titles and arguments cannot run commands or add lines', () => {
        expect(grubQuote('quiet')).toBe('quiet');
        expect(grubQuote("It's $root; reboot")).toBe("'It'\\''s $root; reboot'");
        expect(grubQuote('a\n}\nmenuentry evil {')).toBe("'a } menuentry evil {'");
        const m = menu();
        m.items = [newEntry({ label: "x' }\nmenuentry 'evil", kernel: 'casper/vmlinuz', args: ['$(reboot)', 'a;reboot'] })];
        const text = renderGrub(m, tftp, 'x\nset evil=1');
        expect(text.split('\n').filter(l => l.startsWith('menuentry'))).toEqual(["menuentry 'x'\\'' } menuentry '\\''evil' {"]);
        expect(text).toContain("\tlinux $sharecd/casper/vmlinuz '$(reboot)' 'a;reboot'\n");
        expect(text.split('\n').filter(l => l.startsWith('set evil'))).toEqual([]);
    });
});

describe('iPXE renderer', () => {
    it('writes a menu with default, timeout in ms, hotkeys, submenus with a way back, and kernels over HTTP', () => {
        const text = renderIpxe(menu(), http, 'Ubuntu 24.04') ?? '';
        expect(text.startsWith('#!ipxe\n')).toBeTrue();
        expect(text).toContain('\nset sharecd_timeout 5000\n');
        // BOOTIF= names the card to use only where there is a second one to choose from.
        expect(text).toContain('\nset sharecd_bootif BOOTIF=01-${netX/mac:hexhyp}\nisset ${net1/mac} || clear sharecd_bootif\n');
        expect(text).toContain([':m0', 'menu Ubuntu 24.04', 'item --key t e1 Try Ubuntu', 'item --key a m1 Advanced >', 'item e3 Boot from first hard disk',
            'choose --default e1 --timeout ${sharecd_timeout} sharecd_choice || exit', 'goto ${sharecd_choice}'].join('\n'));
        expect(text).toContain([':m1', 'menu Advanced', 'item e2 Memory test', 'item --gap', 'item m0 < Back',
            'choose --default e2 --timeout ${sharecd_timeout} sharecd_choice || goto m0'].join('\n'));
        expect(text).toContain([':e1', 'imgfree', 'kernel http://10.0.0.1/medium/casper/vmlinuz initrd=sharecd-initrd0 quiet --- ${sharecd_bootif} || goto sharecd_failed',
            'initrd --name sharecd-initrd0 http://10.0.0.1/medium/casper/initrd || goto sharecd_failed', 'boot || goto sharecd_failed'].join('\n'));
        expect(text).toContain(':e2\nimgfree\nchain http://10.0.0.1/medium/install/mt86plus || goto sharecd_failed\n');
        expect(text).toContain(':e3\nexit\n');
        // No firmware settings in iPXE; a failed start shows the menu again, without its timeout.
        expect(text).not.toContain('Firmware');
        expect(text).toContain(':sharecd_failed\necho Could not start this entry.\nset sharecd_timeout 0\n');
        expect(renderIpxe(menu(), tftp, 'x')).toContain('kernel tftp://10.0.0.1/medium/casper/vmlinuz ');
        expect(renderIpxe(menu(), { ...http, http: { port: 8080 } }, 'x')).toContain('initrd --name sharecd-initrd0 http://10.0.0.1:8080/medium/casper/initrd ');
    });

    it('starts the default inside a submenu through that submenu, and waits for a key without a timeout', () => {
        const m = menu();
        (m.items[0] as MenuEntry).default = false;
        const sub: Submenu = { type: 'submenu', label: 'More', hotkey: null, items: [
            newEntry({ label: 'Safe mode', kernel: 'casper/vmlinuz', initrds: ['casper/initrd', 'casper/extra'], args: ['nomodeset'], default: true })] };
        m.items.push(sub);
        m.timeout = null;
        const text = renderIpxe(m, http, 'x') ?? '';
        expect(text).toContain('\nset sharecd_timeout 0\n');
        expect(text).toContain('choose --default m2 --timeout ${sharecd_timeout} sharecd_choice || exit');
        expect(text).toContain('choose --default e4 --timeout ${sharecd_timeout} sharecd_choice || goto m0');
        expect(text).toContain('kernel http://10.0.0.1/medium/casper/vmlinuz initrd=sharecd-initrd0 initrd=sharecd-initrd1 nomodeset ${sharecd_bootif} || goto sharecd_failed');
        expect(renderIpxe({ ...menu(), timeout: 0 }, http, 'x')).toContain('\nset sharecd_timeout 100\n');
    });

    it('leaves out entries whose arguments iPXE would split, expand, comment out or run, and cleans texts of them', () => {
        const ok = newEntry({ label: 'Live', kernel: 'live/vmlinuz', args: ['boot=live', 'a$b', 'x#y'] });
        expect(ipxeWritable(ok)).toBeTrue();
        for (const bad of ['foo="a b"', '${net0/ip}', 'a${x}', '#', '#comment', '||', '&&', ';'])
            expect(ipxeWritable(newEntry({ label: 'x', kernel: 'k', args: ['quiet', bad] }))).withContext(bad).toBeFalse();
        expect(ipxeText('Démarrer ${evil} # || ; && ok\nchain http://x')).toBe('Demarrer $ {evil} ok chain http://x');
        expect(ipxeText('日本')).toBe('??');
        const m: Menu = { title: 'T\nkernel http://evil', timeout: 1, warnings: [], items: [
            newEntry({ label: 'Evil', kernel: 'live/vmlinuz', args: ['a', '${x}'], default: true }),
            newEntry({ label: 'Good #1 ${x}', kernel: 'live/vmlinuz', args: ['quiet'] }),
        ] };
        const text = renderIpxe(m, http, 'x') ?? '';
        expect(text).not.toContain('Evil');
        expect(text).toContain('item e1 Good 1 $ {x}\n');
        expect(text).toContain('menu T kernel http://evil\n');
        expect(text.split('\n').filter(l => l.startsWith('kernel'))).toHaveSize(1);
        // Nothing left to start: no script at all (iPXE clients then boot like other PXE ROMs).
        expect(renderIpxe({ ...m, items: [m.items[0]] }, http, 'x')).toBeNull();
    });
});

describe('unattended boots: the menus never wait forever', () => {
    it('wait what the user asked (0: for a key), else the medium\'s own timeout (0: at once), else 30 s', () => {
        expect(menuTimeout(null, null)).toBe(DEFAULT_MENU_TIMEOUT);
        expect(DEFAULT_MENU_TIMEOUT).toBe(30);
        expect(menuTimeout(5, null)).toBe(5);
        expect(menuTimeout(0, null)).toBe(0);
        expect(menuTimeout(5, 60)).toBe(60);
        expect(menuTimeout(null, 0)).toBeNull();
        expect(menuTimeout(5, 0)).toBeNull();
    });

    it('renders "at once" as pxelinux\'s shortest wait (its TIMEOUT 0 waits for a key) and GRUB\'s 0', () => {
        const menu: Menu = { title: null, timeout: 0, items: [newEntry({ label: 'Live', kernel: 'live/vmlinuz', default: true })], warnings: [] };
        expect(renderPxelinux(menu, tftp, 'Medium')).toContain('\nTIMEOUT 1\n');
        expect(renderGrub(menu, tftp, 'Medium')).toContain('\nset timeout=0\n');
        expect(renderPxelinux({ ...menu, timeout: null }, tftp, 'Medium')).toContain('\nTIMEOUT 0\n');
        expect(renderGrub({ ...menu, timeout: null }, tftp, 'Medium')).toContain('\nset timeout=-1\n');
    });

    it('make the entry the user names the default, by its label or syslinux name, case and spaces aside', () => {
        const items = (): Menu['items'] => [
            newEntry({ label: 'Live system (amd64)', name: 'live-amd64', kernel: 'live/vmlinuz', default: true }),
            { type: 'submenu', label: 'Utilities', hotkey: null, items: [
                newEntry({ label: 'Live system (fail-safe mode)', name: 'live-amd64-failsafe', kernel: 'live/vmlinuz' }),
                newEntry({ label: 'Memory test', kind: 'memtest', kernel: 'live/memtest' }),
            ] },
        ];
        const menu = items();
        expect(chooseDefault(menu, '  live system  (FAIL-SAFE mode) ')).toBeTrue();
        expect(flatEntries(menu).filter(e => e.default).map(e => e.label)).toEqual(['Live system (fail-safe mode)']);
        const byName = items();
        expect(chooseDefault(byName, 'live-amd64-failsafe')).toBeTrue();
        expect(flatEntries(byName).find(e => e.default)?.name).toBe('live-amd64-failsafe');
        const unchanged = items();
        expect(chooseDefault(unchanged, 'Memory test')).toBeFalse(); // not a system to boot
        expect(chooseDefault(unchanged, 'Windows')).toBeFalse();
        expect(flatEntries(unchanged).filter(e => e.default).map(e => e.label)).toEqual(['Live system (amd64)']);
        expect(entryLabels(unchanged)).toEqual(['Live system (amd64)', 'Live system (fail-safe mode)']);
    });
});
