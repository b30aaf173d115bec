// The helper's D-Bus values: its properties (their types, the values of a stopped share, a client as the
// Clients property carries it) and their emission, Probe's reply, and the D-Bus error reply for an exception.
// Pure but for the emission.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { ERROR_PREFIX } from '../../shared/dbus.ts';
import { isShareError } from '../../shared/errors.ts';
import { _, format } from '../../shared/i18n.ts';
import type { Client } from '../clients.ts';
import type { KnownComputer } from '../../shared/computers.ts';
import type { NetInterface } from '../network/interfaces.ts';
import type { ProbeResult } from '../network/mode.ts';
import { InvalidArgs } from './options.ts';
import { DBusFailure } from './polkit.ts';

export type HelperState = 'stopped' | 'starting' | 'sharing' | 'stopping' | 'failed';

export interface Props {
    State: HelperState;
    LastError: string;
    /** The last error's code (shared/errors.ts: its clients say it in their user's language), '' when none. */
    LastErrorCode: string;
    /** While starting: the step under way; '' otherwise. */
    Progress: string;
    Interface: string;
    Address: string;
    Mode: string;
    Medium: string;
    MediumLabel: string;
    Entries: string[];
    DefaultEntry: string;
    ClientCount: number;
    Clients: Client[];
    Notices: string[];
    /** any | allowed: which computers may start from the share (a setting: the same whether sharing or not). */
    Access: string;
    /** The computers the user allowed, ignored or named (a setting). */
    Computers: KnownComputer[];
}

export const STOPPED_PROPS: Omit<Props, 'State' | 'LastError' | 'LastErrorCode' | 'Access' | 'Computers'> = { Progress: '', Interface: '', Address: '', Mode: '', Medium: '', MediumLabel: '', Entries: [], DefaultEntry: '', ClientCount: 0, Clients: [], Notices: [] };

export const SIGNATURES: Record<keyof Props, string> = {
    State: 's', LastError: 's', LastErrorCode: 's', Progress: 's', Interface: 's', Address: 's', Mode: 's', Medium: 's', MediumLabel: 's', Entries: 'as', DefaultEntry: 's', ClientCount: 'u', Clients: 'aa{sv}', Notices: 'as',
    Access: 's', Computers: 'aa{sv}',
};

/** A computer as the Computers property carries it. */
export function computerDict(c: KnownComputer): Record<string, GLib.Variant> {
    return { mac: new GLib.Variant('s', c.mac), name: new GLib.Variant('s', c.name), allowed: new GLib.Variant('b', c.allowed) };
}

/** The Computers property's value. */
export function computersVariant(list: KnownComputer[]): GLib.Variant {
    const text = list.map(c => `{'mac': <${variantTextString(c.mac)}>, 'name': <${variantTextString(c.name)}>, 'allowed': <${c.allowed ? 'true' : 'false'}>}`).join(', ');
    return GLib.Variant.parse(new GLib.VariantType('aa{sv}'), `[${text}]`, null, null);
}

/** A client as the Clients property carries it. */
export function clientDict(c: Client): Record<string, GLib.Variant> {
    return {
        mac: new GLib.Variant('s', c.mac ?? ''),
        ip: new GLib.Variant('s', c.ip ?? ''),
        arch: new GLib.Variant('s', c.arch),
        stage: new GLib.Variant('s', c.stage),
        detail: new GLib.Variant('s', c.detail),
        first_seen: new GLib.Variant('t', Math.floor(c.firstSeen)),
        last_seen: new GLib.Variant('t', Math.floor(c.lastSeen)),
        nfs_bytes: new GLib.Variant('t', Math.floor(c.nfsBytes)),
        // (a status file of an older version has none of these)
        name: new GLib.Variant('s', c.name ?? ''),
        access: new GLib.Variant('s', c.access ?? ''),
        vendor: new GLib.Variant('s', c.vendor ?? ''),
    };
}

/** A string as a GVariant text literal: every character outside printable ASCII escaped, NUL and lone surrogates replaced. */
export function variantTextString(text: string): string {
    let out = "'";
    for (const ch of text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')) {
        const code = ch.codePointAt(0) as number;
        if (ch === "'" || ch === '\\')
            out += `\\${ch}`;
        else if (code === 0)
            out += '\\ufffd';
        else if (code >= 0x20 && code < 0x7f)
            out += ch;
        else if (code <= 0xffff)
            out += `\\u${code.toString(16).padStart(4, '0')}`;
        else
            out += `\\U${code.toString(16).padStart(8, '0')}`;
    }
    return `${out}'`;
}

/**
 * The Clients property's value. Built from its text form in one step: gjs 1.74 leaks the GVariants it makes
 * when it packs nested JavaScript values (measured: 37 MiB per 40 lists of 256 computers, kept after a full
 * collection), and under a flood of made-up computers the list is sent 4 times a second.
 */
export function clientsVariant(clients: Client[]): GLib.Variant {
    const text = clients.map(c => `{'mac': <${variantTextString(c.mac ?? '')}>, 'ip': <${variantTextString(c.ip ?? '')}>, `
        + `'arch': <${variantTextString(c.arch)}>, 'stage': <${variantTextString(c.stage)}>, 'detail': <${variantTextString(c.detail)}>, `
        + `'first_seen': <uint64 ${Math.max(0, Math.floor(c.firstSeen))}>, 'last_seen': <uint64 ${Math.max(0, Math.floor(c.lastSeen))}>, `
        + `'nfs_bytes': <uint64 ${Math.max(0, Math.floor(c.nfsBytes))}>, 'name': <${variantTextString(c.name ?? '')}>, `
        + `'access': <${variantTextString(c.access ?? '')}>, 'vendor': <${variantTextString(c.vendor ?? '')}>}`).join(', ');
    return GLib.Variant.parse(new GLib.VariantType('aa{sv}'), `[${text}]`, null, null);
}

/** Changes `props` and emits PropertiesChanged on `exported` for those that changed. */
export function setProperties(props: Props, changes: Partial<Props>, exported: Gio.DBusExportedObject | null): void {
    const changed: (keyof Props)[] = [];
    for (const [key, value] of Object.entries(changes) as [keyof Props, Props[keyof Props]][]) {
        if (JSON.stringify(props[key]) === JSON.stringify(value))
            continue;
        (props as unknown as Record<string, unknown>)[key] = value;
        changed.push(key);
    }
    if (exported === null || changed.length === 0)
        return;
    for (const key of changed) {
        exported.emit_property_changed(key, key === 'Clients' ? clientsVariant(props.Clients) : key === 'Computers' ? computersVariant(props.Computers)
            : new GLib.Variant(SIGNATURES[key], props[key]));
    }
    exported.flush();
}

/** The D-Bus error name and sentence for an exception. */
export function errorReply(e: unknown): [string, string] {
    if (e instanceof InvalidArgs)
        return ['org.freedesktop.DBus.Error.InvalidArgs', e.message];
    if (e instanceof DBusFailure)
        return [e.errorName, e.message];
    if (isShareError(e))
        return [`${ERROR_PREFIX}.${e.code}`, e.message];
    return [`${ERROR_PREFIX}.DaemonFailed`, format(_("Internal error of the helper: {error}"), { error: e instanceof Error ? e.message : String(e) })];
}

/** Probe's reply: the interface's addresses, the DHCP servers that answered, the mode to suggest. */
export function probeReply(iface: NetInterface, probe: ProbeResult | null): GLib.Variant {
    const servers = probe?.servers ?? [];
    const error = probe?.error ?? '';
    const result: Record<string, GLib.Variant> = {
        'interface': new GLib.Variant('s', iface.name),
        'addresses': new GLib.Variant('as', iface.ipv4.map(c => `${c.address}/${c.prefix}`)),
        'servers': new GLib.Variant('aa{sv}', servers.map(s => ({ server: new GLib.Variant('s', s.server), offered: new GLib.Variant('s', s.offered) }))),
        'suggested-mode': new GLib.Variant('s', servers.length > 0 || error !== '' ? 'proxy' : 'dhcp'),
    };
    if (error !== '')
        result.error = new GLib.Variant('s', error);
    return new GLib.Variant('(a{sv})', [result]);
}
