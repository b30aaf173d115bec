// A lexer and parser for the subset of GRUB's shell language that boot menus use (pure): words with
// '…', "…", \-escapes and $var / ${var}; comments; `;` and newlines; `{ }` blocks; menuentry, submenu,
// function, if/elif/else/fi, while/until/for…done. Evaluation lives in grubParser.ts.

/** One piece of a word: literal text, or a variable to expand at run time. */
export type WordPart = { text: string } | { variable: string };

export interface Word {
    parts: WordPart[];
    /** True when some part of the word was quoted (so `{`, `then`… are not keywords). */
    quoted: boolean;
    /** The word as written, for keyword checks. */
    raw: string;
}

export type Command =
    | { type: 'simple'; words: Word[]; line: number }
    | { type: 'menu'; keyword: 'menuentry' | 'submenu'; args: Word[]; body: Command[]; line: number }
    | { type: 'if'; branches: { condition: Command[]; body: Command[] }[]; otherwise: Command[] | null; line: number }
    | { type: 'function'; name: string; body: Command[]; line: number }
    | { type: 'loop'; line: number };

export class GrubSyntaxError extends Error {
    constructor(readonly line: number, message: string) {
        super(message);
        this.name = 'GrubSyntaxError';
    }
}

type Token =
    | { type: 'word'; word: Word; line: number }
    | { type: 'sep'; line: number }
    | { type: 'lbrace'; line: number }
    | { type: 'rbrace'; line: number }
    | { type: 'eof'; line: number };

const CLOSERS = ['then', 'elif', 'else', 'fi', 'do', 'done'] as const;
const NAME_CHAR = /[A-Za-z0-9_?#@*]/;

/** Splits GRUB script text into tokens. */
export function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    let line = 1;
    const n = text.length;
    while (i < n) {
        const c = text[i];
        if (c === '\\' && text[i + 1] === '\n') {
            i += 2;
            line++;
            continue;
        }
        if (c === ' ' || c === '\t' || c === '\r') {
            i++;
            continue;
        }
        if (c === '\n' || c === ';') {
            tokens.push({ type: 'sep', line });
            if (c === '\n')
                line++;
            i++;
            continue;
        }
        if (c === '#') {
            while (i < n && text[i] !== '\n')
                i++;
            continue;
        }
        // A word.
        const startLine = line;
        const parts: WordPart[] = [];
        let literal = '';
        let quoted = false;
        let raw = '';
        const flush = (): void => {
            if (literal !== '') {
                parts.push({ text: literal });
                literal = '';
            }
        };
        const readVariable = (): void => {
            // text[i] === '$'
            if (text[i + 1] === '{') {
                const end = text.indexOf('}', i + 2);
                if (end < 0)
                    throw new GrubSyntaxError(line, 'unterminated ${');
                flush();
                parts.push({ variable: text.slice(i + 2, end) });
                raw += text.slice(i, end + 1);
                i = end + 1;
            } else if (i + 1 < n && NAME_CHAR.test(text[i + 1])) {
                let j = i + 1;
                if (/[0-9?#@*]/.test(text[j]))
                    j++;
                else
                    while (j < n && /[A-Za-z0-9_]/.test(text[j]))
                        j++;
                flush();
                parts.push({ variable: text.slice(i + 1, j) });
                raw += text.slice(i, j);
                i = j;
            } else {
                literal += '$';
                raw += '$';
                i++;
            }
        };
        while (i < n) {
            const ch = text[i];
            if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === ';')
                break;
            if (ch === '\\') {
                if (text[i + 1] === '\n') {
                    i += 2;
                    line++;
                    continue;
                }
                if (i + 1 < n) {
                    literal += text[i + 1];
                    raw += text.slice(i, i + 2);
                    i += 2;
                    quoted = true;
                } else {
                    i++;
                }
            } else if (ch === "'") {
                const end = text.indexOf("'", i + 1);
                if (end < 0)
                    throw new GrubSyntaxError(startLine, "a ' quote is never closed");
                const inner = text.slice(i + 1, end);
                literal += inner;
                raw += text.slice(i, end + 1);
                line += inner.split('\n').length - 1;
                quoted = true;
                i = end + 1;
            } else if (ch === '"') {
                quoted = true;
                raw += '"';
                i++;
                let closed = false;
                while (i < n) {
                    const d = text[i];
                    if (d === '"') {
                        raw += '"';
                        i++;
                        closed = true;
                        break;
                    }
                    if (d === '\\' && i + 1 < n && '$"\\\n'.includes(text[i + 1])) {
                        if (text[i + 1] === '\n')
                            line++;
                        else
                            literal += text[i + 1];
                        raw += text.slice(i, i + 2);
                        i += 2;
                    } else if (d === '$') {
                        readVariable();
                    } else {
                        if (d === '\n')
                            line++;
                        literal += d;
                        raw += d;
                        i++;
                    }
                }
                if (!closed)
                    throw new GrubSyntaxError(startLine, 'a " quote is never closed');
            } else if (ch === '$') {
                readVariable();
            } else {
                literal += ch;
                raw += ch;
                i++;
            }
        }
        flush();
        if (!quoted && raw === '{')
            tokens.push({ type: 'lbrace', line: startLine });
        else if (!quoted && raw === '}')
            tokens.push({ type: 'rbrace', line: startLine });
        else if (!quoted && raw.endsWith('{') && raw.length > 1 && !raw.includes('$')) {
            // `menuentry 'x'{` glued: split off the brace.
            tokens.push({ type: 'word', word: { parts: [{ text: raw.slice(0, -1) }], quoted, raw: raw.slice(0, -1) }, line: startLine });
            tokens.push({ type: 'lbrace', line: startLine });
        } else
            tokens.push({ type: 'word', word: { parts, quoted, raw }, line: startLine });
    }
    tokens.push({ type: 'eof', line });
    return tokens;
}

/** Parses GRUB script text into commands; throws GrubSyntaxError on unbalanced blocks or quotes. */
export function parseGrubScript(text: string): Command[] {
    const tokens = tokenize(text);
    let pos = 0;
    const peek = (): Token => tokens[pos];
    const isKeyword = (t: Token, words: readonly string[]): boolean =>
        t.type === 'word' && !t.word.quoted && words.includes(t.word.raw);

    const parseList = (terminators: readonly string[], closer: 'rbrace' | null): Command[] => {
        const commands: Command[] = [];
        for (;;) {
            while (peek().type === 'sep')
                pos++;
            const t = peek();
            if (t.type === 'eof')
                return commands;
            if (t.type === 'rbrace') {
                if (closer === 'rbrace')
                    return commands;
                throw new GrubSyntaxError(t.line, 'a } closes nothing');
            }
            if (isKeyword(t, terminators))
                return commands;
            if (isKeyword(t, CLOSERS))
                throw new GrubSyntaxError(t.line, `“${(t as { word: Word }).word.raw}” closes nothing`);
            if (t.type === 'lbrace')
                throw new GrubSyntaxError(t.line, 'a { opens nothing');
            commands.push(parseCommand());
        }
    };

    const expectKeyword = (word: string, opener: Token): void => {
        const t = peek();
        if (!isKeyword(t, [word]))
            throw new GrubSyntaxError(opener.line, `“${(opener as { word: Word }).word.raw}” is never closed by “${word}”`);
        pos++;
    };

    const parseBlock = (opener: Token): Command[] => {
        if (peek().type !== 'lbrace')
            throw new GrubSyntaxError(opener.line, 'a { was expected');
        pos++;
        const body = parseList([], 'rbrace');
        if (peek().type !== 'rbrace')
            throw new GrubSyntaxError(opener.line, 'a { is never closed');
        pos++;
        return body;
    };

    const parseCommand = (): Command => {
        const first = peek() as Extract<Token, { type: 'word' }>;
        const kw = first.word.quoted ? '' : first.word.raw;
        if (kw === 'menuentry' || kw === 'submenu') {
            pos++;
            const args: Word[] = [];
            for (let t = peek(); t.type === 'word'; t = peek()) {
                args.push((t as Extract<Token, { type: 'word' }>).word);
                pos++;
            }
            const body = parseBlock(first);
            return { type: 'menu', keyword: kw, args, body, line: first.line };
        }
        if (kw === 'function') {
            pos++;
            const nameTok = peek();
            if (nameTok.type !== 'word')
                throw new GrubSyntaxError(first.line, 'a function needs a name');
            pos++;
            const body = parseBlock(first);
            return { type: 'function', name: nameTok.word.raw, body, line: first.line };
        }
        if (kw === 'if') {
            pos++;
            const branches: { condition: Command[]; body: Command[] }[] = [];
            let otherwise: Command[] | null = null;
            const condition = parseList(['then'], null);
            expectKeyword('then', first);
            let body = parseList(['elif', 'else', 'fi'], null);
            branches.push({ condition, body });
            while (isKeyword(peek(), ['elif'])) {
                pos++;
                const c = parseList(['then'], null);
                expectKeyword('then', first);
                body = parseList(['elif', 'else', 'fi'], null);
                branches.push({ condition: c, body });
            }
            if (isKeyword(peek(), ['else'])) {
                pos++;
                otherwise = parseList(['fi'], null);
            }
            expectKeyword('fi', first);
            return { type: 'if', branches, otherwise, line: first.line };
        }
        if (kw === 'while' || kw === 'until' || kw === 'for') {
            pos++;
            parseList(['do'], null);
            expectKeyword('do', first);
            parseList(['done'], null);
            expectKeyword('done', first);
            return { type: 'loop', line: first.line };
        }
        const words: Word[] = [];
        for (let t = peek(); t.type === 'word' || t.type === 'lbrace'; t = peek()) {
            if (t.type === 'lbrace')
                throw new GrubSyntaxError(t.line, `a { after “${kw}” opens nothing`);
            words.push(t.word);
            pos++;
        }
        return { type: 'simple', words, line: first.line };
    };

    const commands = parseList([], null);
    const t = peek();
    if (t.type !== 'eof') {
        const what = t.type === 'word' ? `“${t.word.raw}”` : 'this';
        throw new GrubSyntaxError(t.line, `${what} does not belong here`);
    }
    return commands;
}
