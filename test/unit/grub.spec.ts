import { parseGrub } from '../../src/backend/bootmenu/grubParser.ts';
import { GrubSyntaxError, parseGrubScript } from '../../src/backend/bootmenu/grubScript.ts';
import { type Submenu, flatEntries } from '../../src/backend/bootmenu/model.ts';
import { MemoryReader } from '../../src/backend/medium/reader.ts';

const CFG = 'boot/grub/grub.cfg';
const parse = (files: Record<string, string | Uint8Array>, platform: 'pc' | 'efi' = 'efi') =>
    parseGrub(new MemoryReader('/m', files), CFG, platform);
const entries = (text: string, platform: 'pc' | 'efi' = 'efi') => flatEntries(parse({ [CFG]: text }, platform).items);

describe('GRUB menu parsing', () => {
    it('reads menuentry titles in single and double quotes, linux and initrd lines with tabs', () => {
        const list = entries([
            'menuentry "Try or Install Ubuntu" {',
            '\tset gfxpayload=keep',
            '\tlinux\t/casper/vmlinuz  file=/cdrom/preseed/ubuntu.seed maybe-ubiquity quiet splash --- ',
            '\tinitrd\t/casper/initrd',
            '}',
            "menuentry 'Ubuntu (safe graphics)' {",
            '\tlinux /casper/vmlinuz nomodeset --- quiet splash',
            '\tinitrd /casper/initrd',
            '}',
        ].join('\n'));
        expect(list.map(e => e.label)).toEqual(['Try or Install Ubuntu', 'Ubuntu (safe graphics)']);
        expect(list[0].kernel).toBe('casper/vmlinuz');
        expect(list[0].initrds).toEqual(['casper/initrd']);
        expect(list[0].args).toEqual(['file=/cdrom/preseed/ubuntu.seed', 'maybe-ubiquity', 'quiet', 'splash', '---']);
        expect(list[1].args).toEqual(['nomodeset', '---', 'quiet', 'splash']);
    });

    it('understands menuentry options: --hotkey (both forms), --class, --id, --unrestricted', () => {
        const list = entries([
            'menuentry "Live system" --hotkey=l --class debian --id live --unrestricted {',
            '  linux /live/vmlinuz boot=live', '}',
            'menuentry "Start Linux Mint" --class linuxmint --hotkey S { linux /casper/vmlinuz }',
        ].join('\n'));
        expect(list.map(e => [e.label, e.hotkey])).toEqual([['Live system', 'l'], ['Start Linux Mint', 's']]);
    });

    it('accepts linuxefi/initrdefi (Fedora, old Ubuntu) and linux16 for memtest', () => {
        const list = entries('menuentry a { linuxefi /k x\ninitrdefi /i }\nmenuentry m { linux16 /boot/memtest86+.bin }');
        expect(list[0]).toEqual(jasmine.objectContaining({ kernel: 'k', initrds: ['i'], args: ['x'], kind: 'linux' }));
        expect(list[1]).toEqual(jasmine.objectContaining({ kernel: 'boot/memtest86+.bin', kind: 'memtest' }));
    });

    it('evaluates if [ "$grub_platform" = "efi" ] … else … fi for the platform asked', () => {
        const text = [
            'grub_platform',
            'if [ "$grub_platform" = "efi" ]; then',
            "menuentry 'Boot from next volume' {", '\texit 1', '}',
            "menuentry 'UEFI Firmware Settings' {", '\tfwsetup', '}',
            'else',
            "menuentry 'Test memory' {", '\tlinux16 /boot/memtest86+.bin', '}',
            'fi',
        ].join('\n');
        expect(entries(text, 'efi').map(e => `${e.label}:${e.kind}`)).toEqual(['Boot from next volume:exit', 'UEFI Firmware Settings:fwsetup']);
        expect(entries(text, 'pc').map(e => `${e.label}:${e.kind}`)).toEqual(['Test memory:memtest']);
    });

    it('evaluates elif chains, ${braced} variables, ==, !=, -z/-n, ! and true/false', () => {
        const text = [
            'set flavour=desktop',
            'if [ "${grub_platform}" == "pc" ]; then menuentry A { linux /a }',
            'elif [ x$flavour != xdesktop ]; then menuentry B { linux /b }',
            'elif [ -z "$unset_var" -a -n "$flavour" ]; then menuentry C { linux /c }',
            'else menuentry D { linux /d }',
            'fi',
            'if ! false; then menuentry E { linux /e }; fi',
            'if false; then menuentry F { linux /f }; fi',
        ].join('\n');
        expect(entries(text, 'efi').map(e => e.label)).toEqual(['C', 'E']);
        expect(entries(text, 'pc').map(e => e.label)).toEqual(['A', 'E']);
    });

    it('tests files on the medium with [ -e … ] / [ -f … ] / [ -d … ]', () => {
        const menu = parse({
            [CFG]: 'if [ -e /casper/vmlinuz ]; then menuentry yes { linux /casper/vmlinuz }; fi\nif [ -f /nope ]; then menuentry no { linux /x }; fi\nif [ -d /casper ]; then menuentry dir { linux /y }; fi',
            'casper/vmlinuz': '',
        });
        expect(flatEntries(menu.items).map(e => e.label)).toEqual(['yes', 'dir']);
    });

    it('follows source and configfile, with $prefix and (device) prefixes', () => {
        const menu = parse({
            [CFG]: 'source /boot/grub/config.cfg\nsource ($root)/boot/grub/live.cfg\nconfigfile $prefix/more.cfg',
            'boot/grub/config.cfg': 'set timeout=5\nset default=1',
            'boot/grub/live.cfg': 'menuentry one { linux /one }',
            'boot/grub/more.cfg': 'menuentry two { linux (cd0)/two }',
        });
        expect(flatEntries(menu.items).map(e => `${e.label}:${e.kernel}:${e.default}`)).toEqual(['one:one:false', 'two:two:true']);
        expect(menu.timeout).toBe(5);
    });

    it('reads submenus (with --hotkey), nested, and sources inside them (Debian live)', () => {
        const menu = parse({
            [CFG]: [
                "submenu 'Utilities...' --hotkey=u {",
                '\tsource /boot/grub/theme.cfg',
                '\tif true; then source /boot/grub/memtest.cfg; fi',
                '\tsubmenu "Deeper" { menuentry "Deep" { linux /deep } }',
                '}',
            ].join('\n'),
            'boot/grub/theme.cfg': 'set color_normal=light-gray/black',
            'boot/grub/memtest.cfg': 'menuentry "Memory Diagnostic Tool (memtest86+)" --hotkey=m {\n\tlinux16 /live/memtest\n}',
        }, 'pc');
        const sub = menu.items[0] as Submenu;
        expect(sub.type).toBe('submenu');
        expect(sub.label).toBe('Utilities...');
        expect(sub.hotkey).toBe('u');
        expect(sub.items.map(i => i.label)).toEqual(['Memory Diagnostic Tool (memtest86+)', 'Deeper']);
    });

    it('treats an entry that opens another menu file with configfile as a submenu of it', () => {
        const menu = parse({
            [CFG]: 'menuentry "More options" { configfile /boot/grub/more.cfg }',
            'boot/grub/more.cfg': 'menuentry hidden { linux /h }',
        });
        expect(menu.items[0].type).toBe('submenu');
        expect(flatEntries(menu.items)[0].label).toBe('hidden');
    });

    it('expands variables in kernel arguments; unset ones are empty like in GRUB', () => {
        const [e] = entries([
            'set bootargs="boot=live components"',
            'menuentry x {',
            '  linux /live/vmlinuz $bootargs findiso=${iso_path} "${loopback}" quiet',
            '}',
        ].join('\n'));
        expect(e.args).toEqual(['boot=live', 'components', 'findiso=', 'quiet']);
    });

    it('keeps `set` inside an entry local to it', () => {
        const menu = parse({ [CFG]: 'set a=1\nmenuentry x { set a=2\nlinux /k $a }\nmenuentry y { linux /k $a }' });
        expect(flatEntries(menu.items).map(e => e.args.join(' '))).toEqual(['2', '1']);
    });

    it('honours set default by index, by title and by submenu path, and timeout', () => {
        const text = (d: string) => `set default=${d}\nset timeout=10\nmenuentry a { linux /a }\nsubmenu s { menuentry b { linux /b }\nmenuentry c { linux /c } }\nmenuentry d { linux /d }`;
        const def = (d: string) => flatEntries(parse({ [CFG]: text(d) }).items).filter(e => e.default).map(e => e.label);
        expect(def('0')).toEqual(['a']);
        expect(def('2')).toEqual(['d']);
        expect(def('"d"')).toEqual(['d']);
        expect(def('1>1')).toEqual(['c']);
        expect(def('1')).toEqual(['b']);
        expect(def('99')).toEqual(['a']);
        expect(parse({ [CFG]: text('0') }).timeout).toBe(10);
        expect(parse({ [CFG]: 'set timeout=-1' }).timeout).toBeNull();
    });

    it('classifies chainloader to a disk as local boot, other chainloaders as not bootable over the network', () => {
        const list = entries('menuentry disk { set root=(hd0)\nchainloader +1 }\nmenuentry efi { chainloader /EFI/x/shim.efi }\nmenuentry r { reboot }');
        expect(list.map(e => e.kind)).toEqual(['localdisk', 'other', 'other']);
    });

    it('handles comments, line continuations, escapes and semicolons', () => {
        const list = entries([
            '# a comment with a { brace',
            'menuentry "Quote \\" and \\$dollar" --class a \\',
            '    --class b { linux /k a\\ b; initrd /i # trailing comment',
            '}',
        ].join('\n'));
        expect(list[0].label).toBe('Quote " and $dollar');
        expect(list[0].args).toEqual(['a', 'b']);
        expect(list[0].initrds).toEqual(['i']);
    });

    it('skips functions and loops without running them', () => {
        const list = entries('function f { menuentry no { linux /no } }\nfor x in a b; do menuentry no2 { linux /no } ; done\nmenuentry yes { linux /yes }');
        expect(list.map(e => e.label)).toEqual(['yes']);
    });

    describe('with broken or hostile input', () => {
        it('rejects an unterminated brace with the line, and the reader skips the file with a warning', () => {
            expect(() => parseGrubScript('menuentry a {\n linux /k\n')).toThrowMatching(e => e instanceof GrubSyntaxError && /never closed/.test(e.message) && e.line === 1);
            const menu = parse({ [CFG]: 'menuentry a {\n linux /k\n' });
            expect(menu.items).toEqual([]);
            expect(menu.warnings).toEqual(['Skipped /boot/grub/grub.cfg: line 1: a { is never closed.']);
        });

        it('rejects unbalanced if/fi, stray closers and unclosed quotes', () => {
            expect(() => parseGrubScript('if true; then\nmenuentry a { linux /k }\n')).toThrowError(GrubSyntaxError);
            expect(() => parseGrubScript('fi')).toThrowError(GrubSyntaxError);
            expect(() => parseGrubScript('}')).toThrowError(GrubSyntaxError);
            expect(() => parseGrubScript('menuentry "a { }')).toThrowError(GrubSyntaxError);
        });

        it('stops a source loop and reports it', () => {
            const menu = parse({
                [CFG]: 'source /boot/grub/a.cfg\nmenuentry top { linux /k }',
                'boot/grub/a.cfg': 'source /boot/grub/grub.cfg\nmenuentry a { linux /a }',
            });
            expect(flatEntries(menu.items).map(e => e.label)).toEqual(['a', 'top']);
            expect(menu.warnings.join()).toContain('includes itself');
        });

        it('never reads outside the medium', () => {
            const menu = parse({ [CFG]: 'source /../../etc/passwd\nmenuentry x { linux /../../vmlinuz }\nmenuentry y { linux /k }' });
            expect(flatEntries(menu.items).map(e => e.label)).toEqual(['y']);
            expect(menu.warnings.length).toBe(2);
        });

        it('keeps a title with a newline on one line', () => {
            const [e] = entries('menuentry "two\nlines" { linux /k }');
            expect(e.label).toBe('two lines');
        });

        it('refuses a 10 MB grub.cfg quickly, with a warning', () => {
            const huge = `${'menuentry x { linux /k }\n'.repeat(420000)}`;
            const menu = parse({ [CFG]: huge });
            expect(menu.items).toEqual([]);
            expect(menu.warnings).toEqual(['Skipped /boot/grub/grub.cfg: it is too large to be a boot menu.']);
        });

        it('keeps at most 500 entries of a config just under the size limit', () => {
            const many = 'menuentry x { linux /k }\n'.repeat(40000);
            const menu = parse({ [CFG]: many });
            expect(flatEntries(menu.items).length).toBe(500);
            expect(menu.warnings).toEqual(['Only the first 500 menu entries are kept.']);
        });
    });
});
