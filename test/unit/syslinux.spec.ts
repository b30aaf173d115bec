import { type MenuEntry, type Submenu, flatEntries } from '../../src/backend/bootmenu/model.ts';
import { parseSyslinux } from '../../src/backend/bootmenu/syslinuxParser.ts';
import { MemoryReader } from '../../src/backend/medium/reader.ts';

const parse = (files: Record<string, string | Uint8Array>, main = 'isolinux/isolinux.cfg') =>
    parseSyslinux(new MemoryReader('/m', files), main);
const entries = (files: Record<string, string | Uint8Array>) => flatEntries(parse(files).items);

describe('isolinux/syslinux menu parsing', () => {
    it('reads labels, kernels, initrd= inside append, and menu labels with ^ hotkeys', () => {
        const [e] = entries({ 'isolinux/isolinux.cfg': [
            'label live',
            '  menu label ^Try Ubuntu without installing',
            '  kernel /casper/vmlinuz',
            '  append  file=/cdrom/preseed/ubuntu.seed boot=casper initrd=/casper/initrd quiet splash ---',
        ].join('\n') });
        expect(e.name).toBe('live');
        expect(e.label).toBe('Try Ubuntu without installing');
        expect(e.hotkey).toBe('t');
        expect(e.kernel).toBe('casper/vmlinuz');
        expect(e.initrds).toEqual(['casper/initrd']);
        expect(e.args).toEqual(['file=/cdrom/preseed/ubuntu.seed', 'boot=casper', 'quiet', 'splash', '---']);
        expect(e.kind).toBe('linux');
    });

    it('takes a hotkey only when it is a letter or digit: a medium\'s "^;" or "^{" gives none (it would go unquoted into grub.cfg)', () => {
        const labels = ['^Try', 'Install ^2', 'Evil ^; reboot', 'Open ^{', 'Space ^ here', 'End^', 'Dots ^.', 'Ümlaut ^Ä'];
        const list = entries({ 'isolinux/isolinux.cfg': labels.map((l, i) => `label e${i}\n  menu label ${l}\n  kernel /casper/vmlinuz`).join('\n') });
        expect(list.map(e => e.hotkey)).toEqual(['t', '2', null, null, null, null, null, null]);
        expect(list.map(e => e.label)).toEqual(['Try', 'Install 2', 'Evil ; reboot', 'Open {', 'Space  here', 'End', 'Dots .', 'Ümlaut Ä']);
    });

    it('takes keywords in any case and the linux/initrd keywords (Debian live style)', () => {
        const [e] = entries({ 'isolinux/isolinux.cfg': [
            'LABEL Live',
            '\tMENU LABEL Live system (amd64)',
            '\tLINUX /live/vmlinuz',
            '\tINITRD /live/initrd.img',
            '\tAPPEND boot=live components quiet splash',
        ].join('\n') });
        expect(e.kernel).toBe('live/vmlinuz');
        expect(e.initrds).toEqual(['live/initrd.img']);
        expect(e.args).toEqual(['boot=live', 'components', 'quiet', 'splash']);
    });

    it('joins the INITRD keyword and several comma-separated initrd= files in order', () => {
        const [e] = entries({ 'isolinux/isolinux.cfg': 'label a\nkernel /k\ninitrd /i1\nappend initrd=/i2,/i3 x' });
        expect(e.initrds).toEqual(['i1', 'i2', 'i3']);
        expect(e.args).toEqual(['x']);
    });

    it('follows include and menu include relative to the main config directory', () => {
        const menu = parse({
            'isolinux/isolinux.cfg': 'include menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 50\nui gfxboot bootlogo',
            'isolinux/menu.cfg': 'menu title Installer boot menu\nmenu include txt.cfg',
            'isolinux/txt.cfg': 'default live\nlabel live\n  menu label ^Try\n  kernel /casper/vmlinuz\n  append initrd=/casper/initrd ---',
        });
        expect(menu.title).toBe('Installer boot menu');
        expect(menu.timeout).toBe(5);
        const [e] = flatEntries(menu.items);
        expect(e.label).toBe('Try');
        expect(e.default).toBeTrue();
        expect(menu.warnings).toEqual([]);
    });

    it('resolves relative kernel paths from the config directory', () => {
        const [e] = entries({ 'isolinux/isolinux.cfg': 'label memtest\nkernel memtest\nappend -' });
        expect(e.kernel).toBe('isolinux/memtest');
        expect(e.kind).toBe('memtest');
        expect(e.args).toEqual([]);
    });

    it('applies the global APPEND to labels without their own, and `append -` to none', () => {
        const list = entries({ 'isolinux/isolinux.cfg': 'append boot=casper quiet\nlabel a\nkernel /k\nlabel b\nkernel /k\nappend -' });
        expect(list[0].args).toEqual(['boot=casper', 'quiet']);
        expect(list[1].args).toEqual([]);
    });

    it('marks the default: MENU DEFAULT wins over DEFAULT, which wins over ONTIMEOUT', () => {
        const files = (extra: string) => ({ 'isolinux/isolinux.cfg': `${extra}\nlabel a\nkernel /k\nlabel b\nkernel /k\nlabel c\nkernel /k\nappend x` });
        const def = (extra: string) => entries(files(extra)).filter(e => e.default).map(e => e.name);
        expect(def('default b')).toEqual(['b']);
        expect(def('ontimeout c')).toEqual(['c']);
        expect(def('default b\nontimeout c')).toEqual(['b']);
        const withMenuDefault = entries({ 'isolinux/isolinux.cfg': 'default a\nlabel a\nkernel /k\nlabel b\nmenu default\nkernel /k' });
        expect(withMenuDefault.filter(e => e.default).map(e => e.name)).toEqual(['b']);
    });

    it('keeps a bare `menu default` line between labels with the label above it (Mint)', () => {
        const list = entries({ 'isolinux/isolinux.cfg': 'label live\n  menu label Start\n  kernel /k\nmenu default\nlabel xforcevesa\n  kernel /k' });
        expect(list.map(e => e.default)).toEqual([true, false]);
    });

    it('turns a top-level DEFAULT kernel + APPEND (Ubuntu 6.10) into the default of the identical label', () => {
        const list = entries({ 'isolinux/isolinux.cfg': [
            'DEFAULT /casper/vmlinuz',
            'APPEND  boot=casper initrd=/casper/initrd.gz quiet splash --',
            'LABEL live',
            '  menu label ^Start or install Ubuntu',
            '  kernel /casper/vmlinuz',
            '  append  boot=casper initrd=/casper/initrd.gz quiet splash --',
            'LABEL check',
            '  kernel /casper/vmlinuz',
            '  append  boot=casper integrity-check initrd=/casper/initrd.gz --',
        ].join('\n') });
        expect(list.length).toBe(2);
        expect(list[0].default).toBeTrue();
        expect(list[0].name).toBe('live');
    });

    it('makes an entry of its own from a DEFAULT kernel command line that no label repeats', () => {
        const list = entries({ 'isolinux/isolinux.cfg': 'DEFAULT /casper/vmlinuz boot=casper initrd=/casper/initrd.gz\nPROMPT 0' });
        expect(list.length).toBe(1);
        expect(list[0]).toEqual(jasmine.objectContaining({ kernel: 'casper/vmlinuz', initrds: ['casper/initrd.gz'], args: ['boot=casper'], default: true }));
    });

    it('treats DEFAULT vesamenu.c32 / UI / gfxboot / DISPLAY / F-keys as presentation, not entries', () => {
        const menu = parse({ 'isolinux/isolinux.cfg': [
            'DEFAULT vesamenu.c32', 'UI gfxboot bootlogo', 'GFXBOOT bootlogo', 'DISPLAY isolinux.txt',
            'F1 f1.txt', 'F0 f10.txt', 'PROMPT 1', 'label a', 'kernel /k',
        ].join('\n') });
        expect(flatEntries(menu.items).map(e => e.name)).toEqual(['a']);
        expect(flatEntries(menu.items)[0].default).toBeFalse(); // the plan picks the first when none is marked
    });

    it('builds submenus from menu begin/end, with the title as label and "Back" exits dropped', () => {
        const menu = parse({ 'isolinux/isolinux.cfg': [
            'label a', 'kernel /k',
            'menu begin advanced', '  menu title Advanced options',
            '  label mainmenu', '    menu label ^Back..', '    menu exit',
            '  label b', '    kernel /k2',
            '  menu begin deeper', '    menu label E^xpert', '    label c', '      kernel /k3', '  menu end',
            'menu end',
            'label d', 'kernel /k4',
        ].join('\n') });
        expect(menu.items.map(i => i.label)).toEqual(['a', 'Advanced options', 'd']);
        const sub = menu.items[1] as Submenu;
        expect(sub.items.map(i => i.label)).toEqual(['b', 'Expert']);
        expect((sub.items[1] as Submenu).hotkey).toBe('x');
        expect(flatEntries(menu.items).map(e => e.kernel)).toEqual(['k', 'k2', 'k3', 'k4']);
    });

    it('reads `include file tag` as a submenu holding that file', () => {
        const menu = parse({
            'isolinux/isolinux.cfg': 'label a\nkernel /k\ninclude more.cfg More things',
            'isolinux/more.cfg': 'label b\nkernel /k2',
        });
        expect(menu.items.map(i => `${i.type}:${i.label}`)).toEqual(['entry:a', 'submenu:More things']);
    });

    it('keeps text help blocks with their entry', () => {
        const [e] = entries({ 'isolinux/isolinux.cfg': 'label a\nkernel /k\ntext help\n   Start the live system.\n   Nothing is installed.\nendtext\nlabel b\nkernel /k' });
        expect(e.help).toEqual(['Start the live system.', 'Nothing is installed.']);
    });

    it('classifies localboot, chain.c32, com32 modules, config and memtest entries', () => {
        const list = entries({ 'isolinux/isolinux.cfg': [
            'label hd', '  localboot 0x80',
            'label chain', '  COM32 chain.c32', '  APPEND hd0 0',
            'label hdt', '  com32 hdt.c32',
            'label hdt2', '  kernel hdt.c32',
            'label help', '  config prompt.cfg',
            'label memtest', '  kernel /install/mt86plus',
            'label memtest2', '  linux /live/memtest',
        ].join('\n') });
        expect(list.map(e => `${e.name}:${e.kind}`)).toEqual([
            'hd:localdisk', 'chain:localdisk', 'hdt:other', 'hdt2:other', 'help:other', 'memtest:memtest', 'memtest2:memtest',
        ]);
    });

    it('leaves out hidden entries unless they are the default', () => {
        const list = entries({ 'isolinux/isolinux.cfg': 'default b\nlabel a\nmenu hide\nkernel /k\nlabel b\nmenu hide\nkernel /k\nlabel c\nkernel /k' });
        expect(list.map(e => e.name)).toEqual(['b', 'c']);
    });

    it('reports and survives an include loop', () => {
        const menu = parse({
            'isolinux/isolinux.cfg': 'include a.cfg\nlabel top\nkernel /k',
            'isolinux/a.cfg': 'include b.cfg\nlabel a\nkernel /k',
            'isolinux/b.cfg': 'include a.cfg\nlabel b\nkernel /k',
        });
        expect(flatEntries(menu.items).map(e => e.name)).toEqual(['b', 'a', 'top']);
        expect(menu.warnings.join('\n')).toContain('includes itself');
    });

    it('never reads outside the medium: an include of ../../etc/passwd is skipped with a warning', () => {
        const menu = parse({ 'isolinux/isolinux.cfg': 'include ../../etc/passwd\nlabel a\nkernel /k' });
        expect(flatEntries(menu.items).length).toBe(1);
        expect(menu.warnings).toEqual(['Skipped ../../etc/passwd: it is outside the medium.']);
    });

    it('skips an entry whose kernel path climbs out of the medium', () => {
        const menu = parse({ 'isolinux/isolinux.cfg': 'label bad\nkernel ../../../boot/vmlinuz\nlabel good\nkernel /k' });
        expect(flatEntries(menu.items).map(e => e.name)).toEqual(['good']);
        expect(menu.warnings[0]).toContain('outside the medium');
    });

    it('refuses a config file that is too large, with a warning instead of a hang', () => {
        const big = new Uint8Array(10 * 1024 * 1024).fill(0x61);
        const menu = parse({ 'isolinux/isolinux.cfg': 'include big.cfg\nlabel a\nkernel /k', 'isolinux/big.cfg': big });
        expect(flatEntries(menu.items).length).toBe(1);
        expect(menu.warnings).toEqual(['Skipped /isolinux/big.cfg: it is too large to be a boot menu.']);
    });

    it('reads Latin-1 labels and strips control characters (a BEL in Debian\'s menu title)', () => {
        const bytes = new TextEncoder().encode('menu title Boot menu\x07\nlabel a\nkernel /k\n');
        const latin1 = Uint8Array.from('label a\nmenu label D\xe9marrer\nkernel /k\n', c => c.charCodeAt(0));
        expect(parse({ 'isolinux/isolinux.cfg': bytes }).title).toBe('Boot menu');
        expect(entries({ 'isolinux/isolinux.cfg': latin1 })[0].label).toBe('Démarrer');
    });

    it('cannot be made to produce a label with a line break', () => {
        const [e]: MenuEntry[] = entries({ 'isolinux/isolinux.cfg': 'label a\rkernel /evil\nkernel /k\nmenu label x\u2028y' });
        expect(e.label).not.toMatch(/[\n\r\u2028]/);
    });
});
