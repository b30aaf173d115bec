// The maker of a network card, from its MAC address and the IEEE's registry of assignments as Debian ships it
// (package ieee-data: /usr/share/ieee-data/{oui36,mam,oui}.csv). The lookup in a file's text is pure; the files
// are read only when a computer of a new prefix appears, and not kept (3 MB): what was found is.
import { readTextFile } from '../shared/fsutil.ts';

export const IEEE_DATA_DIR = '/usr/share/ieee-data';

/**
 * The registries: MA-L (24-bit prefixes, most cards); a MA-L block the IEEE's Registration Authority holds
 * itself is split into MA-M (28-bit) and MA-S (36-bit) assignments.
 */
const MA_L = { file: 'oui.csv', registry: 'MA-L', hexDigits: 6 };
const SMALLER = [{ file: 'mam.csv', registry: 'MA-M', hexDigits: 7 }, { file: 'oui36.csv', registry: 'MA-S', hexDigits: 9 }];
const REGISTRATION_AUTHORITY = /^IEEE Registration Authority$/i;

/** New prefixes looked up in the files at most this often a second (a flood of made-up MACs must not make us read megabytes for each). */
export const LOOKUPS_PER_SECOND = 8;

/** A locally administered address (virtual machines, randomised Wi-Fi addresses): no maker is registered for it. */
export function isLocallyAdministered(mac: string): boolean {
    return (Number.parseInt(mac.slice(0, 2), 16) & 2) === 2;
}

/**
 * The organisation registered for the assignment `hex` (upper case hex digits) of `registry` (MA-L, MA-M, MA-S)
 * in a registry's CSV text ("Registry,Assignment,Organization Name,Organization Address"), or null.
 */
export function organisationIn(csv: string, registry: string, hex: string): string | null {
    const key = `\n${registry},${hex},`;
    const at = csv.indexOf(key);
    if (at < 0)
        return null;
    const lineEnd = csv.indexOf('\n', at + 1);
    const fields = parseCsvLine(csv.slice(at + 1, lineEnd < 0 ? undefined : lineEnd));
    if (fields.length < 3)
        return null;
    const name = fields[2].replace(/\s+/g, ' ').trim();
    // "Private": the maker asked not to be named.
    return name === '' || /^private$/i.test(name) ? null : name;
}

function parseCsvLine(line: string): string[] {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
        const ch = line[i];
        if (quoted) {
            if (ch === '"' && line[i + 1] === '"') {
                field += '"';
                i++;
            } else if (ch === '"') {
                quoted = false;
            } else {
                field += ch;
            }
        } else if (ch === '"') {
            quoted = true;
        } else if (ch === ',') {
            fields.push(field);
            field = '';
        } else if (ch !== '\r') {
            field += ch;
        }
    }
    fields.push(field);
    return fields;
}

/** Looks makers up, remembering every answer (by prefix: a room of thin clients shares a few). */
export class VendorLookup {
    private readonly found = new Map<string, string>();
    private window = { second: -1, lookups: 0 };

    /** @param now seconds (monotonic), for the rate limit. */
    constructor(private readonly dir = IEEE_DATA_DIR, private readonly read: (path: string) => string | null = readTextFile,
        private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {}

    /**
     * The maker of `mac`'s card: "" when not registered, locally administered, ieee-data is not installed, or
     * more than LOOKUPS_PER_SECOND new prefixes came this second (then asked again next time).
     */
    vendorOf(mac: string | null): string {
        if (mac === null || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || isLocallyAdministered(mac))
            return '';
        const hex = mac.replace(/:/g, '').toUpperCase();
        const known = this.found.get(hex.slice(0, 6)) ?? this.found.get(hex.slice(0, 9));
        if (known !== undefined)
            return known;
        const second = this.now();
        if (second !== this.window.second)
            this.window = { second, lookups: 0 };
        if (++this.window.lookups > LOOKUPS_PER_SECOND)
            return '';
        const lookup = (r: { file: string; registry: string; hexDigits: number }): string | null => {
            const text = this.read(`${this.dir}/${r.file}`);
            return text === null ? null : organisationIn(text, r.registry, hex.slice(0, r.hexDigits));
        };
        let vendor = lookup(MA_L) ?? '';
        // The Registration Authority's own blocks: the maker is in a smaller registry (remembered by 36 bits).
        let key = hex.slice(0, 6);
        if (REGISTRATION_AUTHORITY.test(vendor)) {
            vendor = SMALLER.map(lookup).find(n => n !== null) ?? '';
            key = hex.slice(0, 9);
        }
        if (this.found.size >= 1024)
            this.found.clear();
        this.found.set(key, vendor);
        return vendor;
    }
}
