// Text helpers shared by the boot-menu parsers and renderers (pure).

/**
 * Decodes a config file: UTF-8 when the bytes are valid UTF-8, else Latin-1 (old syslinux menus and help
 * screens are often ISO-8859-1/CP437). Never throws, never yields replacement garbage for Latin-1 text.
 */
export function decodeText(bytes: Uint8Array): string {
    try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
        let out = '';
        const CHUNK = 0x8000;
        for (let i = 0; i < bytes.length; i += CHUNK)
            out += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
        return out;
    }
}

/**
 * Makes a value safe to place on one line of a generated config: control characters (C0, DEL, C1 — newline
 * and carriage return included) become spaces, runs of white space collapse, ends are trimmed. A label or
 * argument can therefore never add a line to a rendered menu.
 */
export function oneLine(value: string): string {
    // eslint-disable-next-line no-control-regex
    return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** True when the value contains a character that would end a config line or confuse a parser. */
export function hasControlChars(value: string): boolean {
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value);
}
