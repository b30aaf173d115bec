// Start's a{sv} options → engine options (pure). Wrong types, unknown keys and unsafe values are refused with a
// sentence naming the option; the helper answers them with org.freedesktop.DBus.Error.InvalidArgs before it
// asks polkit or changes anything.
import { _, format } from '../../shared/i18n.ts';
import { START_OPTIONS } from '../../shared/dbus.ts';
import { isShareError } from '../../shared/errors.ts';
import { DEFAULT_OPTIONS, type RequestedMode, type ShareOptions, validateOptions } from '../../shared/options.ts';

/** One option as it came over the bus: its D-Bus type signature and its unpacked value. */
export interface WireValue {
    type: string;
    value: unknown;
}

export interface StartRequest {
    options: ShareOptions;
    /** Share again with these options when the computer starts again. */
    remember: boolean;
    /** The caller's uid (null: not known yet, before the caller's identity is asked). */
    owner?: number | null;
}

export class InvalidArgs extends Error {}

/** Validates and converts Start's options; throws InvalidArgs with a specific sentence. */
export function parseStartOptions(wire: Record<string, WireValue>, interfaceNames: readonly string[]): StartRequest {
    for (const [key, { type }] of Object.entries(wire)) {
        const expected = START_OPTIONS[key];
        if (expected === undefined)
            throw new InvalidArgs(format(_("Unknown option “{key}”; the options are: {keys}."), { key: JSON.stringify(key).slice(1, -1), keys: Object.keys(START_OPTIONS).join(', ') }));
        if (type !== expected)
            throw new InvalidArgs(format(_("The option “{key}” must have the D-Bus type “{expected}”, not “{type}”."), { key, expected, type }));
    }
    const text = (key: string): string | null => (wire[key]?.value as string | undefined) ?? null;
    const flag = (key: string, fallback: boolean): boolean => (wire[key]?.value as boolean | undefined) ?? fallback;
    const options: ShareOptions = {
        medium: text('medium'),
        iso: text('iso'),
        interface: text('interface'),
        mode: (text('mode') ?? DEFAULT_OPTIONS.mode) as RequestedMode,
        http: flag('http', DEFAULT_OPTIONS.http),
        httpPort: (wire['http-port']?.value as number | undefined) ?? DEFAULT_OPTIONS.httpPort,
        menuTimeout: (wire['menu-timeout']?.value as number | undefined) ?? DEFAULT_OPTIONS.menuTimeout,
        defaultEntry: text('default-entry'),
    };
    try {
        // The helper does not know the caller's working directory: paths must be absolute.
        validateOptions(options, { absolutePaths: true });
    } catch (e) {
        if (isShareError(e))
            throw new InvalidArgs(e.message);
        throw e;
    }
    if (options.interface !== null && !interfaceNames.includes(options.interface))
        throw new InvalidArgs(format(_("There is no network interface called “{name}”. Interfaces: {names}."), { name: options.interface, names: interfaceNames.join(', ') || _("none") }));
    return { options, remember: flag('remember', false) };
}
