// Opening firewalld for the share, through its own D-Bus API and at run time only (nothing is written to its
// permanent configuration: a restart or reload of firewalld drops what we added). firewalld owns its nftables
// tables and rewrites them on every reload, and a rule of ours elsewhere cannot let through what its chains
// reject: so when firewalld runs, it is asked. A rule of firewalld applies to a zone (the interfaces and
// sources bound to it); ours are rich rules in the zone of the shared interface that accept our ports only
// from the shared network (and DHCP's requests from 0.0.0.0, a computer that has no address yet), so another
// interface of the same zone is not opened to other networks. Each rule is a journal entry; a rule that is
// already there (the user's own) is neither added nor, at the end, removed.
// richRules() is pure; the rest are effects.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import type { Ports } from './firewall.ts';

export const FIREWALLD_NAME = 'org.fedoraproject.FirewallD1';
const FIREWALLD_PATH = '/org/fedoraproject/FirewallD1';
const ZONE_INTERFACE = 'org.fedoraproject.FirewallD1.zone';

/** The rich rules that accept `ports` from `network` ("10.77.0.0/24"); DHCP's server port also from 0.0.0.0. */
export function richRules(network: string, ports: Ports): string[] {
    const rules: string[] = [];
    for (const protocol of ['udp', 'tcp'] as const) {
        for (const port of [...new Set(ports[protocol])].filter(p => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b)) {
            const sources = protocol === 'udp' && port === 67 ? ['0.0.0.0', network] : [network];
            for (const source of sources)
                rules.push(`rule family="ipv4" source address="${source}" port port="${port}" protocol="${protocol}" accept`);
        }
    }
    return rules;
}

function systemBus(): Gio.DBusConnection | null {
    try {
        return Gio.bus_get_sync(Gio.BusType.SYSTEM, null);
    } catch {
        return null;
    }
}

function call(bus: Gio.DBusConnection, iface: string, method: string, args: GLib.Variant | null, reply: string | null): unknown[] {
    const v = bus.call_sync(FIREWALLD_NAME, FIREWALLD_PATH, iface, method, args, reply === null ? null : new GLib.VariantType(reply),
        Gio.DBusCallFlags.NONE, 10000, null);
    return v.deepUnpack() as unknown[];
}

/** firewalld runs (its name is on the system bus) and has loaded its rules. */
export function firewalldRunning(): boolean {
    const bus = systemBus();
    if (bus === null)
        return false;
    try {
        const [owned] = bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner',
            new GLib.Variant('(s)', [FIREWALLD_NAME]), new GLib.VariantType('(b)'), Gio.DBusCallFlags.NONE, 5000, null).deepUnpack() as [boolean];
        if (!owned)
            return false;
        const [state] = call(bus, 'org.freedesktop.DBus.Properties', 'Get', new GLib.Variant('(ss)', [FIREWALLD_NAME, 'state']), '(v)') as [GLib.Variant];
        return state.unpack() === 'RUNNING';
    } catch {
        return false;
    }
}

/** The zone that decides for traffic coming in on `iface` (its own, else firewalld's default zone). */
export function zoneOf(iface: string): string {
    const bus = systemBus();
    if (bus === null)
        throw new Error('no system bus');
    const [zone] = call(bus, ZONE_INTERFACE, 'getZoneOfInterface', new GLib.Variant('(s)', [iface]), '(s)') as [string];
    if (zone !== '')
        return zone;
    return (call(bus, FIREWALLD_NAME, 'getDefaultZone', null, '(s)') as [string])[0];
}

/** Whether `zone` has `rule` (added by anyone). */
export function hasRichRule(zone: string, rule: string): boolean {
    const bus = systemBus();
    if (bus === null)
        return false;
    return (call(bus, ZONE_INTERFACE, 'queryRichRule', new GLib.Variant('(ss)', [zone, rule]), '(b)') as [boolean])[0];
}

/** Adds `rule` to `zone` at run time (no timeout); throws with firewalld's words when it refuses. */
export function addRichRule(zone: string, rule: string): void {
    const bus = systemBus();
    if (bus === null)
        throw new Error('no system bus');
    call(bus, ZONE_INTERFACE, 'addRichRule', new GLib.Variant('(ssi)', [zone, rule, 0]), '(s)');
}

/**
 * Removes `rule` from `zone`; false when it was not there (firewalld was reloaded or restarted meanwhile, or
 * does not run any more: then it is gone anyway).
 */
export function removeRichRule(zone: string, rule: string): boolean {
    const bus = systemBus();
    if (bus === null)
        return false;
    try {
        call(bus, ZONE_INTERFACE, 'removeRichRule', new GLib.Variant('(ss)', [zone, rule]), '(s)');
        return true;
    } catch (e) {
        const remote = Gio.DBusError.get_remote_error(e as GLib.Error) ?? '';
        const message = (e as GLib.Error).message ?? '';
        if (/NOT_ENABLED|INVALID_ZONE/.test(message) || remote === 'org.freedesktop.DBus.Error.ServiceUnknown' || remote === 'org.freedesktop.DBus.Error.NameHasNoOwner')
            return false;
        throw e;
    }
}
