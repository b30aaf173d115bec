// The applet's windows: Computers (the clients, live), Settings (how to share), Help (how to start another
// computer from the network) and the ISO file chooser. Labels have mnemonics bound to their widgets, and
// widgets have accessible names, so everything works from the keyboard and with a screen reader.
import GObject from 'gi://GObject';
import Gtk from 'gi://Gtk?version=3.0';

import { _, format } from '../shared/i18n.ts';
import type { NetInterface } from '../backend/network/interfaces.ts';
import { DEFAULT_MENU_TIMEOUT, MAX_MENU_TIMEOUT, type RequestedMode } from '../shared/options.ts';
import { type Access, MAX_NAME_LENGTH } from '../shared/computers.ts';
import type { ClientRow } from './model.ts';
import { type AppletPrefs, wantedDefaultEntry } from './prefs.ts';

const COLUMNS: [keyof ClientRow, string][] = [
    ['name', _("Computer")], ['ip', _("Address")], ['firmware', _("Firmware")], ['stage', _("Stage")], ['allowed', _("Allowed")], ['since', _("Since")],
];

/** What the Computers window's buttons do, for the selected computer (by its MAC address). */
export interface ComputerActions {
    allow(mac: string): void;
    ignore(mac: string): void;
    forget(mac: string): void;
    rename(mac: string, name: string): void;
}

export class ClientsWindow {
    private window!: Gtk.Window;
    private store!: Gtk.ListStore;
    private stack!: Gtk.Stack;
    private view!: Gtk.TreeView;
    private accessLine!: Gtk.Label;
    private buttons: Gtk.Button[] = [];
    private rows: ClientRow[] = [];
    private access = 'any';
    /** Its X window was destroyed from outside (it hides itself when closed): built again when next shown. */
    private destroyed = false;

    constructor(private readonly actions: ComputerActions) {
        this.build();
    }

    private build(): void {
        this.destroyed = false;
        this.buttons = [];
        this.window = new Gtk.Window({ title: _("Computers booting from this CD"), default_width: 720, default_height: 360 });
        this.window.connect('delete-event', () => {
            this.window.hide();
            return true;
        });
        this.window.connect('destroy', () => {
            this.destroyed = true;
        });
        this.store = new Gtk.ListStore();
        // (the MAC address, not shown, is the last column)
        this.store.set_column_types([...COLUMNS.map(() => GObject.TYPE_STRING), GObject.TYPE_STRING]);
        this.view = new Gtk.TreeView({ model: this.store });
        this.view.get_accessible().set_name(_("Computers booting from this CD"));
        COLUMNS.forEach(([, title], i) => {
            const col = new Gtk.TreeViewColumn({ title, resizable: true });
            const cell = new Gtk.CellRendererText();
            col.pack_start(cell, true);
            col.add_attribute(cell, 'text', i);
            this.view.append_column(col);
        });
        this.view.get_selection().connect('changed', () => this.syncButtons());
        const scroller = new Gtk.ScrolledWindow({ hexpand: true, vexpand: true });
        scroller.add(this.view);
        const empty = new Gtk.Label({ label: _("No computer has started from this CD yet.\nStart another computer from the network: see Help."), justify: Gtk.Justification.CENTER, vexpand: true });
        this.stack = new Gtk.Stack();
        this.stack.add_named(empty, 'empty');
        this.stack.add_named(scroller, 'list');
        this.accessLine = new Gtk.Label({ xalign: 0, wrap: true, margin_start: 6 });
        const bar = new Gtk.Box({ orientation: Gtk.Orientation.HORIZONTAL, spacing: 6, margin: 6 });
        const button = (label: string, tooltip: string, act: (mac: string) => void): void => {
            const b = Gtk.Button.new_with_mnemonic(label);
            b.set_tooltip_text(tooltip);
            b.connect('clicked', () => {
                const mac = this.selectedMac();
                if (mac !== null)
                    act(mac);
            });
            bar.pack_start(b, false, false, 0);
            this.buttons.push(b);
        };
        button(_("_Allow"), _("This computer may start from this CD."), mac => this.actions.allow(mac));
        button(_("_Ignore"), _("This computer may not start from this CD when only allowed computers may, and nobody is asked about it."), mac => this.actions.ignore(mac));
        button(_("_Name…"), _("Give this computer a name (its desk, its room)."), mac => this.askName(mac));
        button(_("_Forget"), _("Forget what was said of this computer: its name, and whether it may start."), mac => this.actions.forget(mac));
        const box = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 0 });
        box.pack_start(this.stack, true, true, 0);
        box.pack_start(this.accessLine, false, false, 4);
        box.pack_start(bar, false, false, 0);
        this.window.add(box);
        box.show_all();
        this.fill();
    }

    update(rows: ClientRow[], access: string): void {
        this.rows = rows;
        this.access = access;
        if (!this.destroyed)
            this.fill();
    }

    private fill(): void {
        const selected = this.selectedMac();
        this.store.clear();
        for (const r of this.rows) {
            const iter = this.store.append();
            this.store.set(iter, [...COLUMNS.map((_c, i) => i), COLUMNS.length], [...COLUMNS.map(([key]) => r[key]), r.mac]);
            if (selected !== null && r.mac === selected)
                this.view.get_selection().select_iter(iter);
        }
        this.stack.set_visible_child_name(this.rows.length === 0 ? 'empty' : 'list');
        this.accessLine.set_label(this.access === 'allowed' ? _("Only the computers allowed may start from this CD (Settings).")
            : _("Any computer of the network may start from this CD (Settings)."));
        this.syncButtons();
    }

    private selectedMac(): string | null {
        const selection = this.view.get_selection();
        if (selection === null)
            return null;
        const [ok, model, iter] = selection.get_selected();
        if (!ok || model === null || iter === null)
            return null;
        const mac = model.get_value(iter, COLUMNS.length) as string;
        return mac === '' ? null : mac;
    }

    private syncButtons(): void {
        const sensitive = this.selectedMac() !== null;
        for (const b of this.buttons)
            b.set_sensitive(sensitive);
    }

    /** Asks for a computer's name (empty: no name). */
    private askName(mac: string): void {
        const row = this.rows.find(r => r.mac === mac);
        const dialog = new Gtk.Dialog({ title: _("Name a Computer"), transient_for: this.window, modal: true, use_header_bar: 0 });
        dialog.add_button(_("_Cancel"), Gtk.ResponseType.CANCEL);
        dialog.add_button(_("_Save"), Gtk.ResponseType.OK);
        dialog.set_default_response(Gtk.ResponseType.OK);
        const grid = new Gtk.Grid({ row_spacing: 8, column_spacing: 12, margin: 12 });
        const label = new Gtk.Label({ label: format(_("_Name of {computer}:"), { computer: mac }), use_underline: true, xalign: 0 });
        const entry = new Gtk.Entry({ max_length: MAX_NAME_LENGTH, activates_default: true, width_chars: 32 });
        const current = row?.name ?? '';
        // (an unnamed computer's row shows its address: the entry starts empty)
        entry.set_text(current.startsWith(mac) ? '' : current.replace(` (${mac})`, ''));
        label.set_mnemonic_widget(entry);
        grid.attach(label, 0, 0, 1, 1);
        grid.attach(entry, 1, 0, 1, 1);
        dialog.get_content_area().add(grid);
        dialog.show_all();
        dialog.connect('response', (_d, response: number) => {
            const name = entry.get_text().trim();
            dialog.destroy();
            if (response === Gtk.ResponseType.OK)
                this.actions.rename(mac, name);
        });
    }

    present(): void {
        if (this.destroyed)
            this.build();
        this.window.show();
        this.window.present();
    }
}

/** The question before stopping while computers run from the share; resolves true to stop. */
export function askToStop(question: string, names: string[]): Promise<boolean> {
    const dialog = new Gtk.MessageDialog({ title: _("Stop Sharing?"), modal: true, message_type: Gtk.MessageType.WARNING, buttons: Gtk.ButtonsType.NONE,
        text: question, secondary_text: names.join('\n') });
    dialog.add_button(_("_Keep Sharing"), Gtk.ResponseType.CANCEL);
    dialog.add_button(_("_Stop Sharing"), Gtk.ResponseType.OK);
    dialog.set_default_response(Gtk.ResponseType.CANCEL);
    dialog.show();
    dialog.present();
    return new Promise(resolve => {
        dialog.connect('response', (_d, response: number) => {
            dialog.destroy();
            resolve(response === Gtk.ResponseType.OK);
        });
    });
}

const MODES: [RequestedMode, string, string][] = [
    ['auto', _("_Automatic"), _("Hand out addresses only when no other DHCP server answers (recommended).")],
    ['proxy', _("_Next to the network's router"), _("Never hand out addresses: the router's DHCP server does; this computer only adds the network-boot answers.")],
    ['dhcp', _("_Hand out addresses"), _("For a cable between two computers or a network without a router: this computer hands out addresses itself.")],
];

/**
 * `label` names `widget`: its mnemonic, and its accessible name (a combo box's own is the item it shows: a screen
 * reader would say "br0", not what it is for).
 */
function labelFor(widget: Gtk.Widget, label: Gtk.Label): void {
    label.set_mnemonic_widget(widget);
    widget.get_accessible().set_name(label.get_text().replace(/[\s\u00a0]*:$/, ''));
}

/** The Settings dialog; resolves with the new settings (and which computers may start), or null when cancelled. */
export function editSettings(parent: Gtk.Window | null, prefs: AppletPrefs, interfaces: NetInterface[], access: Access): Promise<{ prefs: AppletPrefs; access: Access } | null> {
    const dialog = new Gtk.Dialog({ title: _("Share This CD Settings"), transient_for: parent, modal: true, use_header_bar: 0 });
    dialog.add_button(_("_Cancel"), Gtk.ResponseType.CANCEL);
    dialog.add_button(_("_Save"), Gtk.ResponseType.OK);
    dialog.set_default_response(Gtk.ResponseType.OK);
    const grid = new Gtk.Grid({ row_spacing: 8, column_spacing: 12, margin: 12 });
    const ifaceLabel = new Gtk.Label({ label: _("Network _interface:"), use_underline: true, xalign: 0 });
    const iface = new Gtk.ComboBoxText();
    iface.append('', _("Automatic (the wired connection)"));
    for (const i of interfaces.filter(x => x.kind !== 'loopback' && x.master === null))
        iface.append(i.name, i.ipv4.length > 0 ? `${i.name} (${i.ipv4[0].address})` : i.name);
    if (prefs.interface !== null && !interfaces.some(i => i.name === prefs.interface))
        iface.append(prefs.interface, prefs.interface);
    iface.set_active_id(prefs.interface ?? '');
    labelFor(iface, ifaceLabel);
    grid.attach(ifaceLabel, 0, 0, 1, 1);
    grid.attach(iface, 1, 0, 1, 1);

    const modeTitle = new Gtk.Label({ label: _("Addresses for the other computers:"), xalign: 0 });
    grid.attach(modeTitle, 0, 1, 2, 1);
    let group: Gtk.RadioButton | null = null;
    const radios = new Map<RequestedMode, Gtk.RadioButton>();
    MODES.forEach(([mode, label, help], i) => {
        // (Gtk.RadioButton.new_with_mnemonic(null, …) aborts gjs 1.74: the group is a GSList; use properties.)
        const radio: Gtk.RadioButton = group === null ? new Gtk.RadioButton({ label, use_underline: true })
            : new Gtk.RadioButton({ label, use_underline: true, group });
        group ??= radio;
        radio.set_active(prefs.mode === mode);
        radios.set(mode, radio);
        const explanation = new Gtk.Label({ label: help, xalign: 0, wrap: true, max_width_chars: 60, margin_start: 24 });
        explanation.get_style_context().add_class('dim-label');
        radio.set_tooltip_text(help); // GTK 3 gives it to screen readers as the accessible description
        grid.attach(radio, 0, 2 + i * 2, 2, 1);
        grid.attach(explanation, 0, 3 + i * 2, 2, 1);
    });
    const http = Gtk.CheckButton.new_with_mnemonic(_("Fast _transfer over HTTP (recommended)"));
    http.set_active(prefs.http);
    const resume = Gtk.CheckButton.new_with_mnemonic(_("Share again at _login (and when the computer restarts)"));
    resume.set_active(prefs.resumeAtLogin);
    // The netboot menu's wait: unticked, it waits for a key; untouched, the medium's own timeout (else 30 s).
    const autoStart = Gtk.CheckButton.new_with_mnemonic(_("Start the default _entry after"));
    autoStart.set_active(prefs.menuTimeout !== 0);
    const seconds = Gtk.SpinButton.new_with_range(1, MAX_MENU_TIMEOUT, 1);
    seconds.set_value(prefs.menuTimeout === null || prefs.menuTimeout === 0 ? DEFAULT_MENU_TIMEOUT : prefs.menuTimeout);
    seconds.set_sensitive(autoStart.get_active());
    seconds.get_accessible().set_name(_("Seconds before the default entry starts"));
    autoStart.connect('toggled', () => seconds.set_sensitive(autoStart.get_active()));
    const wait = new Gtk.Box({ orientation: Gtk.Orientation.HORIZONTAL, spacing: 6 });
    wait.pack_start(autoStart, false, false, 0);
    wait.pack_start(seconds, false, false, 0);
    wait.pack_start(new Gtk.Label({ label: _("seconds (unticked: the boot menu waits for a key)"), xalign: 0 }), false, false, 0);
    // Which entry starts: the medium's own default, or one of the entries of the medium last shared.
    const entryLabel = new Gtk.Label({ label: _("_Default entry:"), use_underline: true, xalign: 0 });
    const entry = new Gtk.ComboBoxText();
    entry.append('', _("The medium's own default"));
    const known = prefs.knownEntries;
    for (const label of known?.entries ?? [])
        entry.append(label, label);
    entry.set_active_id(wantedDefaultEntry(prefs) ?? '');
    entry.set_sensitive(known !== null);
    labelFor(entry, entryLabel);
    const entryHelp = new Gtk.Label({ xalign: 0, wrap: true, max_width_chars: 60,
        label: known === null ? _("Share once to choose among the medium's boot entries.")
            : format(_("The boot entries of “{medium}”, the medium shared last."), { medium: known.medium }) });
    entryHelp.get_style_context().add_class('dim-label');
    // Which computers may start: the helper's setting (kept with the computers' names across restarts).
    const whoLabel = new Gtk.Label({ label: _("Computers that _may start from this CD:"), use_underline: true, xalign: 0 });
    const who = new Gtk.ComboBoxText();
    who.append('any', _("Any computer"));
    who.append('allowed', _("Only the ones I allow"));
    who.set_active_id(access);
    who.set_tooltip_text(_("With “Only the ones I allow”, a computer that asks is listed in Computers and you are asked whether it may start."));
    labelFor(who, whoLabel);
    grid.attach(http, 0, 8, 2, 1);
    grid.attach(resume, 0, 9, 2, 1);
    grid.attach(wait, 0, 10, 2, 1);
    grid.attach(entryLabel, 0, 11, 1, 1);
    grid.attach(entry, 1, 11, 1, 1);
    grid.attach(entryHelp, 0, 12, 2, 1);
    grid.attach(whoLabel, 0, 13, 1, 1);
    grid.attach(who, 1, 13, 1, 1);
    dialog.get_content_area().add(grid);
    dialog.show_all();
    return new Promise(resolve => {
        dialog.connect('response', (_d, response: number) => {
            const next: AppletPrefs | null = response === Gtk.ResponseType.OK ? {
                ...prefs,
                interface: iface.get_active_id() || null,
                mode: [...radios].find(([, r]) => r.get_active())?.[0] ?? 'auto',
                http: http.get_active(),
                resumeAtLogin: resume.get_active(),
                menuTimeout: !autoStart.get_active() ? 0
                    : prefs.menuTimeout === null && seconds.get_value_as_int() === DEFAULT_MENU_TIMEOUT ? null : seconds.get_value_as_int(),
                defaultEntry: known !== null && (entry.get_active_id() ?? '') !== '' ? { medium: known.medium, label: entry.get_active_id() as string }
                    : known !== null ? null : prefs.defaultEntry,
            } : null;
            const chosen: Access = who.get_active_id() === 'allowed' ? 'allowed' : 'any';
            dialog.destroy();
            resolve(next === null ? null : { prefs: next, access: chosen });
        });
    });
}

export function showHelp(parent: Gtk.Window | null): void {
    const dialog = new Gtk.MessageDialog({
        title: _("Help: Share This CD"),
        transient_for: parent, modal: false, message_type: Gtk.MessageType.INFO, buttons: Gtk.ButtonsType.CLOSE,
        text: _("How to start another computer from this CD"),
        secondary_text: [
            _("1. Connect the other computer to the same network (or with a cable to this one), and turn “Share this CD” on."),
            _("2. Switch the other computer on and open its boot menu: usually F12, sometimes F11, F10, F8 or Esc, right after power-on. On some computers network boot must first be enabled in the firmware settings (F2 or Del)."),
            _("3. Choose the network: “Network”, “PXE”, “LAN”, “IPv4” or the name of the network card. Newer computers start in UEFI mode; Secure Boot can stay on."),
            _("4. A menu like this CD's appears: choose as you would from the CD. The computer then runs this live system over the network; it may take a minute."),
        ].join('\n\n'),
    });
    dialog.connect('response', () => dialog.destroy());
    dialog.show();
}

/** Asks for an ISO file; resolves with its path, or null. */
export function chooseIso(parent: Gtk.Window | null): Promise<string | null> {
    const chooser = new Gtk.FileChooserDialog({ title: _("Share an ISO File"), transient_for: parent, action: Gtk.FileChooserAction.OPEN, modal: true });
    chooser.add_button(_("_Cancel"), Gtk.ResponseType.CANCEL);
    chooser.add_button(_("_Share"), Gtk.ResponseType.ACCEPT);
    chooser.set_default_response(Gtk.ResponseType.ACCEPT);
    const filter = new Gtk.FileFilter();
    filter.set_name(_("CD/DVD images (*.iso)"));
    filter.add_pattern('*.iso');
    filter.add_pattern('*.ISO');
    filter.add_mime_type('application/x-cd-image');
    chooser.add_filter(filter);
    chooser.show();
    return new Promise(resolve => {
        chooser.connect('response', (_c, response: number) => {
            const path = response === Gtk.ResponseType.ACCEPT ? chooser.get_filename() : null;
            chooser.destroy();
            resolve(path);
        });
    });
}
