// A mutation fuzzer for what a hostile medium or a hostile D-Bus caller controls: the medium's isolinux and GRUB
// menus (through the whole pure pipeline: inspect the medium → parse its menus → plan → render pxelinux.cfg and
// grub.cfg) and Start's a{sv} options. Inputs are the real fixtures (test/fixtures/media), mutated with a
// seeded generator, so a run is repeatable from its seed. Every case must end in a result or in a clear refusal
// (ShareError / InvalidArgs), within CASE_LIMIT_MS, and what is rendered must be well-formed: one line per
// value, quoting intact, nothing a line of the medium could inject.
import GLib from 'gi://GLib';

import { planFromReader } from '../../src/backend/bootPlan.ts';
import { InvalidArgs, type WireValue, parseStartOptions } from '../../src/backend/dbus/options.ts';
import { MemoryReader } from '../../src/backend/medium/reader.ts';
import { isShareError } from '../../src/shared/errors.ts';
import { listDir } from '../../src/shared/fsutil.ts';

/** The most a case may take (ms). */
export const CASE_LIMIT_MS = 100;

/** A small, fast, seedable generator (mulberry32). */
export class Random {
    private state: number;

    constructor(seed: number) {
        this.state = seed >>> 0;
    }

    next(): number {
        this.state = (this.state + 0x6d2b79f5) >>> 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }

    int(n: number): number {
        return Math.floor(this.next() * n);
    }

    pick<T>(list: readonly T[]): T {
        return list[this.int(list.length)];
    }
}

/** Words of both menu languages and of shells, and characters that break quoting, lines or paths. */
const TOKENS = ['\n', '\r\n', '\r', '"', "'", '\\', '\\\n', '{', '}', ';', '$', '${', '$(', '`', '^', '&&', '||', '|', '#', '<', '>',
    '\t', ' ', '\0', '\x1b[2J', 'é', '\u202e', '\ufeff', '../../', '/../../../etc/passwd', '%00', ',', '=',
    'menuentry ', 'submenu ', 'linux ', 'linuxefi ', 'initrd ', 'initrdefi ', 'source ', 'configfile ', 'set ', 'export ',
    'if ', 'then ', 'else ', 'elif ', 'fi', 'function ', 'for ', 'do ', 'done', '--hotkey=', '--class ', 'insmod ', 'search ',
    'LABEL ', 'KERNEL ', 'LINUX ', 'APPEND ', 'INITRD ', 'INCLUDE ', 'CONFIG ', 'MENU LABEL ', 'MENU BEGIN', 'MENU END',
    'DEFAULT ', 'TIMEOUT ', 'TEXT HELP', 'ENDTEXT', 'LOCALBOOT 0', 'COM32 ', 'UI ', 'menu.c32', 'vesamenu.c32', 'IPAPPEND 2',
    'default=', 'timeout=', '0', '-1', '99999999999999999999', 'initrd=', 'boot=casper', 'boot=live', 'file=/cdrom/preseed/x.seed',
    '/casper/vmlinuz', '/live/vmlinuz', '/casper/initrd', '($root)', '(hd0,1)', '$prefix/', '${root}', 'x'.repeat(300)];

/** A text with 1–4 mutations: characters, tokens, deletions, duplicated or swapped lines, lines of another file. */
export function mutate(r: Random, text: string, others: readonly string[]): string {
    let t = text;
    const rounds = 1 + r.int(4);
    for (let i = 0; i < rounds; i++) {
        const at = r.int(t.length + 1);
        switch (r.int(7)) {
        case 0:
            t = t.slice(0, at) + String.fromCharCode(r.int(4) === 0 ? r.int(0x3000) : r.int(128)) + t.slice(at + 1);
            break;
        case 1:
        case 2:
            t = t.slice(0, at) + r.pick(TOKENS) + t.slice(at);
            break;
        case 3:
            t = t.slice(0, at) + t.slice(at + 1 + r.int(200));
            break;
        case 4: {
            const lines = t.split('\n');
            const l = r.int(lines.length);
            lines.splice(r.int(lines.length), 0, lines[l]);
            t = lines.join('\n');
            break;
        }
        case 5: {
            const lines = t.split('\n');
            const a = r.int(lines.length);
            const b = r.int(lines.length);
            [lines[a], lines[b]] = [lines[b], lines[a]];
            t = lines.join('\n');
            break;
        }
        default: {
            const other = r.pick(others).split('\n');
            const lines = t.split('\n');
            lines.splice(r.int(lines.length + 1), 0, ...other.slice(r.int(other.length), r.int(other.length) + 1 + r.int(4)));
            t = lines.join('\n');
        }
        }
    }
    return t;
}

export interface Fixture {
    name: string;
    files: Record<string, string>;
    /** Its menu files (isolinux/syslinux and GRUB configurations). */
    menus: string[];
}

/** Every fixture medium: its files up to 256 KiB, as text. */
export function loadFixtures(top: string): Fixture[] {
    const base = `${top}/test/fixtures/media`;
    const out: Fixture[] = [];
    for (const name of listNames(base).filter(n => GLib.file_test(`${base}/${n}`, GLib.FileTest.IS_DIR)).sort()) {
        const files: Record<string, string> = {};
        const walk = (rel: string): void => {
            const path = rel === '' ? `${base}/${name}` : `${base}/${name}/${rel}`;
            if (GLib.file_test(path, GLib.FileTest.IS_SYMLINK))
                return;
            if (GLib.file_test(path, GLib.FileTest.IS_DIR)) {
                for (const child of listNames(path))
                    walk(rel === '' ? child : `${rel}/${child}`);
                return;
            }
            const [ok, bytes] = GLib.file_get_contents(path);
            if (ok && bytes.length <= 256 * 1024)
                files[rel] = new TextDecoder().decode(bytes);
        };
        walk('');
        const menus = Object.keys(files).filter(p => /\.cfg$/i.test(p)).sort();
        if (menus.length > 0)
            out.push({ name, files, menus });
    }
    return out;
}

function listNames(dir: string): string[] {
    return listDir(dir);
}

/** Makes the files a mutated menu names as kernels and initrds exist, odd names included: they reach the renderers. */
function materialize(text: string, files: Record<string, string>): void {
    for (const line of text.split(/[\r\n]+/)) {
        const words = line.trim().split(/\s+/);
        const key = words[0]?.toLowerCase() ?? '';
        const paths = ['linux', 'linuxefi', 'kernel', 'initrd', 'initrdefi'].includes(key) ? words.slice(1, 3)
            : words.filter(w => /^initrd=/i.test(w)).flatMap(w => w.slice(7).split(','));
        for (const p of paths) {
            const rel = p.replace(/^\([^)]*\)/, '').replace(/^\/+/, '');
            if (rel !== '' && !rel.includes('\0') && !(rel in files) && Object.keys(files).length < 2000)
                files[rel] = 'x';
        }
    }
}

export type Verdict = 'planned' | 'refused';

/** What is wrong with rendered text, or null. */
export function checkPxelinux(text: string): string | null {
    const known = /^(UI|PROMPT|TIMEOUT|MENU (TITLE|LABEL|DEFAULT|BEGIN|END|EXIT)|DEFAULT|LABEL|LOCALBOOT|KERNEL|INITRD|APPEND|IPAPPEND|TEXT HELP|ENDTEXT)\b/;
    let inHelp = false;
    for (const [i, raw] of text.split('\n').entries()) {
        // eslint-disable-next-line no-control-regex
        if (/[\x00-\x08\x0b-\x1f\x7f]/.test(raw))
            return `line ${i + 1} has a control character: ${JSON.stringify(raw)}`;
        const line = raw.trim();
        if (inHelp) {
            inHelp = line !== 'ENDTEXT';
            continue;
        }
        if (line === '' || line.startsWith('#'))
            continue;
        if (!known.test(line))
            return `line ${i + 1} is not a directive we write: ${JSON.stringify(raw)}`;
        if (line === 'TEXT HELP')
            inHelp = true;
        const [word, ...rest] = line.split(/\s+/);
        if ((word === 'KERNEL' || word === 'INITRD' || word === 'DEFAULT' || word === 'LABEL') && rest.length !== 1)
            return `line ${i + 1}: ${word} takes one word: ${JSON.stringify(raw)}`;
    }
    return inHelp ? 'TEXT HELP without ENDTEXT' : null;
}

/** GRUB: quotes close on their line, braces balance, nothing outside quotes chains or substitutes commands. */
export function checkGrub(text: string): string | null {
    let depth = 0;
    for (const [i, raw] of text.split('\n').entries()) {
        // eslint-disable-next-line no-control-regex
        if (/[\x00-\x08\x0b-\x1f\x7f]/.test(raw))
            return `line ${i + 1} has a control character: ${JSON.stringify(raw)}`;
        if (raw.trimStart().startsWith('#'))
            continue;
        let quote: '' | "'" | '"' = '';
        let outside = '';
        for (let k = 0; k < raw.length; k++) {
            const c = raw[k];
            if (quote === "'") {
                if (c === "'")
                    quote = '';
            } else if (quote === '"') {
                if (c === '\\')
                    k++;
                else if (c === '"')
                    quote = '';
            } else if (c === "'" || c === '"') {
                quote = c;
                outside += ' ';
            } else if (c === '\\') {
                k++;
                outside += '_';
            } else {
                outside += c;
            }
        }
        if (quote !== '')
            return `line ${i + 1}: a quote does not close: ${JSON.stringify(raw)}`;
        // Our own test of the HTTP path is the one line with a `;`.
        const ownTest = /^if \[ -e \(http,[\d.:]+\)\/grub\/grub\.cfg \]; then$/.test(outside.trim());
        if (!ownTest && /[;|&<>`]/.test(outside))
            return `line ${i + 1}: a shell operator outside quotes: ${JSON.stringify(raw)}`;
        for (const m of outside.matchAll(/\$\{?([A-Za-z_0-9]*)/g)) {
            if (m[1] !== 'sharecd')
                return `line ${i + 1}: a variable other than $sharecd outside quotes: ${JSON.stringify(raw)}`;
        }
        for (const word of outside.trim().split(/\s+/)) {
            if (word === '{')
                depth++;
            else if (word === '}')
                depth--;
            else if (word.includes('{') || word.includes('}'))
                return `line ${i + 1}: a brace inside a word: ${JSON.stringify(raw)}`;
            if (depth < 0)
                return `line ${i + 1}: a brace closes what is not open`;
        }
    }
    return depth === 0 ? null : `${depth} brace(s) left open`;
}

export interface FuzzFailure {
    target: 'menus' | 'options';
    seed: number;
    index: number;
    problem: string;
    input: string;
}

export interface FuzzReport {
    seed: number;
    cases: number;
    menus: { planned: number; refused: number };
    options: { accepted: number; refused: number };
    slowestMs: number;
    totalSeconds: number;
    /** Cases that failed; the first 20 of them in `failures`. */
    failed: number;
    failures: FuzzFailure[];
}

/** One menus case: a fixture with one menu mutated, through inspect → plan → render. */
export function menusCase(r: Random, fixtures: readonly Fixture[], allMenus: readonly string[]): { verdict: Verdict; problem: string | null; input: string } {
    const fixture = r.pick(fixtures);
    const files = { ...fixture.files };
    const menu = r.pick(fixture.menus);
    files[menu] = mutate(r, files[menu], allMenus);
    materialize(files[menu], files);
    const input = `${fixture.name}:${menu}\n${files[menu]}`;
    try {
        const plan = planFromReader(new MemoryReader(`/media/fuzz/${fixture.name}`, files),
            { server: '10.77.0.1', http: r.int(2) === 0, httpPort: r.pick([80, 8080]) });
        const pxe = plan.files['pxelinux.cfg/default'];
        const problem = (pxe === undefined ? null : checkPxelinux(pxe)) ?? checkGrub(plan.files['grub/grub.cfg']);
        return { verdict: 'planned', problem: problem === null ? null : `rendered: ${problem}`, input };
    } catch (e) {
        if (isShareError(e))
            return { verdict: 'refused', problem: e.message.trim() === '' ? 'a refusal without a sentence' : null, input };
        return { verdict: 'refused', problem: `crash: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, input };
    }
}

const OPTION_KEYS = ['medium', 'iso', 'interface', 'mode', 'http', 'http-port', 'remember', 'x', '', 'Medium', 'medium\0'];
const TYPES = ['s', 'b', 'q', 'u', 'i', 'o', 'as', 'v', 'ay', 'x'];

function randomValue(r: Random, type: string): unknown {
    switch (type) {
    case 'b': return r.int(2) === 0;
    case 'q': return r.int(65536);
    case 'u': case 'i': case 'x': return r.pick([0, -1, 1, 65535, 65536, 2 ** 31, -(2 ** 31), 80, 8080]);
    case 'as': return [r.pick(TOKENS), '/cdrom'];
    default: return r.pick(['', '/', '/cdrom', '/media/ann/Ubuntu 24.04', 'auto', 'proxy', 'dhcp', 'br0', 'eth0', 'x'.repeat(5000),
        '../../etc', '/run/live/medium/../../etc', 'a\nb', '\0', 'é', r.pick(TOKENS), `/tmp/${r.pick(TOKENS)}`]);
    }
}

/** One options case: Start's a{sv} with random keys, types and values. */
export function optionsCase(r: Random): { verdict: 'accepted' | 'refused'; problem: string | null; input: string } {
    const wire: Record<string, WireValue> = {};
    for (let n = r.int(5); n > 0; n--) {
        const key = r.pick(OPTION_KEYS);
        const type = r.int(4) === 0 ? r.pick(TYPES) : ({ medium: 's', iso: 's', interface: 's', mode: 's', http: 'b', 'http-port': 'q', remember: 'b' } as Record<string, string>)[key] ?? 's';
        wire[key] = { type, value: randomValue(r, type) };
    }
    const input = JSON.stringify(wire);
    try {
        const request = parseStartOptions(wire, ['br0', 'eth0']);
        const o = request.options;
        const bad = o.medium !== null && o.iso !== null ? 'both a medium and an ISO accepted'
            : ![o.medium, o.iso, o.interface].every(v => v === null || (typeof v === 'string' && !/[\0\n]/.test(v))) ? 'a path or name with a NUL or newline accepted'
                : !['auto', 'proxy', 'dhcp'].includes(o.mode) ? `mode ${o.mode} accepted`
                    : !(Number.isInteger(o.httpPort) && o.httpPort >= 1 && o.httpPort <= 65535) ? `port ${o.httpPort} accepted` : null;
        return { verdict: 'accepted', problem: bad, input };
    } catch (e) {
        if (e instanceof InvalidArgs || isShareError(e))
            return { verdict: 'refused', problem: (e as Error).message.trim() === '' ? 'a refusal without a sentence' : null, input };
        return { verdict: 'refused', problem: `crash: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, input };
    }
}

/**
 * Runs `cases` cases from `seed` (about nine in ten of the menus, one in ten of the options). A case over
 * CASE_LIMIT_MS is timed twice more and fails only when it is slow every time (a pause of the machine is not
 * the parser's).
 */
export function runFuzz(top: string, seed: number, cases: number, onProgress?: (done: number) => void): FuzzReport {
    const fixtures = loadFixtures(top);
    const allMenus = fixtures.flatMap(f => f.menus.map(m => f.files[m]));
    const report: FuzzReport = { seed, cases, menus: { planned: 0, refused: 0 }, options: { accepted: 0, refused: 0 }, slowestMs: 0, totalSeconds: 0, failed: 0, failures: [] };
    const t0 = GLib.get_monotonic_time();
    for (let index = 0; index < cases; index++) {
        const caseSeed = (seed * 1000003 + index) >>> 0;
        const target = index % 10 === 9 ? 'options' : 'menus';
        const once = (): { ms: number; verdict: string; problem: string | null; input: string } => {
            const r = new Random(caseSeed);
            const start = GLib.get_monotonic_time();
            const result = target === 'options' ? optionsCase(r) : menusCase(r, fixtures, allMenus);
            return { ...result, ms: (GLib.get_monotonic_time() - start) / 1000 };
        };
        let result = once();
        let ms = result.ms;
        for (let again = 0; again < 2 && ms > CASE_LIMIT_MS; again++) {
            result = once();
            ms = Math.min(ms, result.ms);
        }
        report.slowestMs = Math.max(report.slowestMs, ms);
        if (target === 'options')
            report.options[result.verdict as 'accepted' | 'refused']++;
        else
            report.menus[result.verdict as Verdict]++;
        const problem = result.problem ?? (ms > CASE_LIMIT_MS ? `took ${ms.toFixed(1)} ms (limit ${CASE_LIMIT_MS})` : null);
        if (problem !== null)
            report.failed++;
        if (problem !== null && report.failures.length < 20)
            report.failures.push({ target, seed: caseSeed, index, problem, input: result.input.slice(0, 4000) });
        if (onProgress && index % 10000 === 9999)
            onProgress(index + 1);
    }
    report.totalSeconds = (GLib.get_monotonic_time() - t0) / 1e6;
    return report;
}
