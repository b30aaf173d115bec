// Reading boot config files for the parsers: size limits, decoding, include loops and depth (pure over a
// MediumReader). Every refusal becomes a warning sentence; parsing goes on with what could be read.
import { _, format } from '../../shared/i18n.ts';
import { decodeText } from '../../shared/text.ts';
import type { MediumReader } from '../medium/reader.ts';
import { MAX_CONFIG_BYTES, MAX_CONFIG_FILES, MAX_INCLUDE_DEPTH } from './limits.ts';

export class ConfigFiles {
    readonly warnings: string[] = [];
    private readonly stack: string[] = [];
    private count = 0;

    constructor(private readonly reader: MediumReader) {}

    /**
     * Text of a medium path (already resolved inside the medium), or null with a warning. `from` names the file
     * that asked for it, for the message.
     */
    open(path: string, from: string | null): string | null {
        const shown = `/${path}`;
        if (this.stack.includes(path)) {
            this.warn(format(_("Skipped {file}: it includes itself (an include loop)."), { file: shown }));
            return null;
        }
        if (this.stack.length >= MAX_INCLUDE_DEPTH) {
            this.warn(format(_("Skipped {file}: includes are nested too deeply."), { file: shown }));
            return null;
        }
        if (++this.count > MAX_CONFIG_FILES) {
            this.warn(format(_("Skipped {file}: too many boot config files."), { file: shown }));
            return null;
        }
        const result = this.reader.read(path, MAX_CONFIG_BYTES);
        if (!result.ok) {
            const reasons: Record<typeof result.reason, string> = {
                missing: _("Skipped {file}: the file is not on the medium."),
                'too-large': _("Skipped {file}: it is too large to be a boot menu."),
                'not-a-file': _("Skipped {file}: it is not a file."),
                outside: _("Skipped {file}: it is outside the medium."),
                unreadable: _("Skipped {file}: it cannot be read."),
            };
            // A missing optional file named by nobody (probing for grub.cfg) is not worth a warning.
            if (result.reason !== 'missing' || from !== null)
                this.warn(format(reasons[result.reason], { file: shown }));
            return null;
        }
        return decodeText(result.bytes);
    }

    /** Warning for a path that resolved outside the medium (e.g. `include ../../etc/passwd`). */
    outside(raw: string): void {
        this.warn(format(_("Skipped {file}: it is outside the medium."), { file: raw }));
    }

    /** Runs `body` with `path` on the include stack (for loop detection). */
    within<T>(path: string, body: () => T): T {
        this.stack.push(path);
        try {
            return body();
        } finally {
            this.stack.pop();
        }
    }

    warn(message: string): void {
        if (!this.warnings.includes(message))
            this.warnings.push(message);
    }
}
