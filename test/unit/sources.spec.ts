// Checks on the project's own sources that the compiler cannot make.
import Gio from 'gi://Gio';

import { TOP, readText } from '../support/helpers.ts';

function tsFiles(dir: string): string[] {
    const out: string[] = [];
    const children = Gio.File.new_for_path(dir).enumerate_children('standard::name,standard::type', Gio.FileQueryInfoFlags.NONE, null);
    for (let info = children.next_file(null); info !== null; info = children.next_file(null)) {
        const path = `${dir}/${info.get_name()}`;
        if (info.get_file_type() === Gio.FileType.DIRECTORY)
            out.push(...tsFiles(path));
        else if (path.endsWith('.ts'))
            out.push(path);
    }
    return out.sort();
}

describe('project sources', () => {
    const sources = tsFiles(`${TOP}/src`);

    it('write translatable strings as _("double quoted") so xgettext finds them', () => {
        for (const file of sources) {
            const text = readText(file);
            expect(text).withContext(file).not.toMatch(/\b_\(\s*['`]/);
            expect(text).withContext(file).not.toMatch(/\bngettext\(\s*['`]/);
        }
    });

    it('list every file with translatable strings in po/POTFILES', () => {
        const listed = readText(`${TOP}/po/POTFILES`).split('\n').filter(l => l.trim() !== '' && !l.startsWith('#'));
        const needed = sources.filter(f => /\b_\("/.test(readText(f))).map(f => f.slice(TOP.length + 1));
        // The polkit action, the desktop files and the metainfo (xgettext reads them by their kind).
        needed.push('data/io.github.ShareThisCD1.policy.in', 'data/io.github.ShareThisCD.desktop.in', 'data/io.github.ShareThisCD-autostart.desktop.in',
            'data/io.github.ShareThisCD.metainfo.xml.in');
        expect(listed.sort()).toEqual(needed.sort());
    });

    it('log through console.* and print user text only from the command line', () => {
        for (const file of sources) {
            const text = readText(file);
            if (!file.includes('/src/cli/'))
                expect(text).withContext(file).not.toMatch(/\b(print|printerr|log)\(/);
        }
    });
});
