// The maker of a network card, from its MAC address and the IEEE's registry of assignments as Debian ships it
// (package ieee-data: /usr/share/ieee-data/{oui36,mam,oui}.csv). The lookup in a file's bytes is pure; the files
// are mapped into memory (not read, not decoded: 3 MB would take 100 ms from gjs) only when a computer of a new
// prefix appears, and not kept: what was found is.
import GLib from 'gi://GLib';

export const IEEE_DATA_DIR = '/usr/share/ieee-data';

/**
 * The registries: MA-L (24-bit prefixes, most cards); a MA-L block the IEEE's Registration Authority holds
 * itself is split into MA-M (28-bit) and MA-S (36-bit) assignments.
 */
const MA_L = { file: 'oui.csv', registry: 'MA-L', hexDigits: 6 };
const SMALLER = [{ file: 'mam.csv', registry: 'MA-M', hexDigits: 7 }, { file: 'oui36.csv', registry: 'MA-S', hexDigits: 9 }];
const REGISTRATION_AUTHORITY = /^IEEE Registration Authority$/i;

/** New prefixes looked up in the files at most this often a second (a flood of made-up MACs must not make us read megabytes for each). */
export const LOOKUPS_PER_SECOND = 4;

/** A locally administered address (virtual machines, randomised Wi-Fi addresses): no maker is registered for it. */
export function isLocallyAdministered(mac: string): boolean {
    return (Number.parseInt(mac.slice(0, 2), 16) & 2) === 2;
}

/**
 * The organisation registered for the assignment `hex` (upper case hex digits) of `registry` (MA-L, MA-M, MA-S)
 * in a registry's CSV file ("Registry,Assignment,Organization Name,Organization Address"), or null.
 */
export function organisationIn(csv: Uint8Array, registry: string, hex: string): string | null {
    const key = new TextEncoder().encode(`${registry},${hex},`);
    // Line by line (the file's lines are not in order): a line that starts with the key.
    for (let start = 0; start < csv.length;) {
        const end = csv.indexOf(10, start);
        let k = 0;
        while (k < key.length && csv[start + k] === key[k])
            k++;
        if (k === key.length) {
            const fields = parseCsvLine(new TextDecoder().decode(csv.subarray(start, end < 0 ? csv.length : end)));
            if (fields.length < 3)
                return null;
            const name = fields[2].replace(/\s+/g, ' ').trim();
            // "Private": the maker asked not to be named.
            return name === '' || /^private$/i.test(name) ? null : name;
        }
        if (end < 0)
            break;
        start = end + 1;
    }
    return null;
}

/** A file mapped into memory (read-only), or null when it cannot be opened. */
function mapFile(path: string): Uint8Array | null {
    try {
        return new GLib.MappedFile(path, false).get_bytes().toArray();
    } catch {
        return null;
    }
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
    /** Every address asked about, with its answer (asked for each computer at each publication of the list). */
    private readonly byMac = new Map<string, string>();
    private window = { second: -1, lookups: 0 };

    /** @param now seconds (monotonic), for the rate limit. */
    constructor(private readonly dir = IEEE_DATA_DIR, private readonly read: (path: string) => Uint8Array | null = mapFile,
        private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {}

    /**
     * The maker of `mac`'s card: "" when not registered, locally administered, ieee-data is not installed, or
     * more than LOOKUPS_PER_SECOND new prefixes came this second (then asked again next time).
     */
    vendorOf(mac: string | null): string {
        if (mac === null)
            return '';
        const seen = this.byMac.get(mac);
        if (seen !== undefined)
            return seen;
        const vendor = this.lookUp(mac);
        if (vendor !== null) {
            if (this.byMac.size >= 1024)
                this.byMac.clear();
            this.byMac.set(mac, vendor);
        }
        return vendor ?? '';
    }

    /** The maker, '' for none, null when not looked up now (too many this second). */
    private lookUp(mac: string): string | null {
        if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || isLocallyAdministered(mac))
            return '';
        const hex = mac.replace(/:/g, '').toUpperCase();
        const known = this.found.get(hex.slice(0, 6)) ?? this.found.get(hex.slice(0, 9));
        if (known !== undefined)
            return known;
        const second = this.now();
        if (second !== this.window.second)
            this.window = { second, lookups: 0 };
        if (++this.window.lookups > LOOKUPS_PER_SECOND)
            return null;
        const lookup = (r: { file: string; registry: string; hexDigits: number }): string | null => {
            const bytes = this.read(`${this.dir}/${r.file}`);
            return bytes === null ? null : organisationIn(bytes, r.registry, hex.slice(0, r.hexDigits));
        };
        let vendor = lookup(MA_L) ?? '';
        // The Registration Authority's own blocks: the maker is in a smaller registry (remembered by 36 bits).
        let key = hex.slice(0, 6);
        if (REGISTRATION_AUTHORITY.test(vendor)) {
            vendor = '';
            for (const r of SMALLER) {
                const name = lookup(r);
                if (name !== null) {
                    vendor = name;
                    break;
                }
            }
            key = hex.slice(0, 9);
        }
        if (this.found.size >= 1024)
            this.found.clear();
        this.found.set(key, vendor);
        return vendor;
    }
}
