// The applet's windows: Computers (the clients, live), Settings (how to share), Help (how to start another
// computer from the network) and the ISO file chooser. Labels have mnemonics bound to their widgets, and
// widgets have accessible names, so everything works from the keyboard and with a screen reader.
import GObject from 'gi://GObject';
import Gtk from 'gi://Gtk?version=3.0';

import { _, format } from '../shared/i18n.ts';
import type { NetInterface } from '../backend/network/interfaces.ts';
import { DEFAULT_MENU_TIMEOUT, MAX_MENU_TIMEOUT, type RequestedMode } from '../shared/options.ts';
import type { ClientRow } from './model.ts';
import { type AppletPrefs, wantedDefaultEntry } from './prefs.ts';

const COLUMNS: [keyof ClientRow, string][] = [
    ['name', _("Computer")], ['ip', _("Address")], ['firmware', _("Firmware")], ['stage', _("Stage")], ['since', _("Since")],
];

export class ClientsWindow {
    readonly window: Gtk.Window;
    private readonly store: Gtk.ListStore;
    private readonly stack: Gtk.Stack;

    constructor() {
        this.window = new Gtk.Window({ title: _("Computers booting from this CD"), default_width: 640, default_height: 320 });
        this.window.connect('delete-event', () => {
            this.window.hide();
            return true;
        });
        this.store = new Gtk.ListStore();
        this.store.set_column_types(COLUMNS.map(() => GObject.TYPE_STRING));
        const view = new Gtk.TreeView({ model: this.store });
        view.get_accessible().set_name(_("Computers booting from this CD"));
        COLUMNS.forEach(([, title], i) => {
            const col = new Gtk.TreeViewColumn({ title, resizable: true });
            const cell = new Gtk.CellRendererText();
            col.pack_start(cell, true);
            col.add_attribute(cell, 'text', i);
            view.append_column(col);
        });
        const scroller = new Gtk.ScrolledWindow({ hexpand: true, vexpand: true });
        scroller.add(view);
        const empty = new Gtk.Label({ label: _("No computer has started from this CD yet.\nStart another computer from the network: see Help."), justify: Gtk.Justification.CENTER });
        this.stack = new Gtk.Stack();
        this.stack.add_named(empty, 'empty');
        this.stack.add_named(scroller, 'list');
        this.window.add(this.stack);
        this.stack.show_all();
    }

    update(rows: ClientRow[]): void {
        this.store.clear();
        for (const r of rows)
            this.store.set(this.store.append(), COLUMNS.map((_c, i) => i), COLUMNS.map(([key]) => r[key]));
        this.stack.set_visible_child_name(rows.length === 0 ? 'empty' : 'list');
    }

    present(): void {
        this.window.show();
        this.window.present();
    }
}

const MODES: [RequestedMode, string, string][] = [
    ['auto', _("_Automatic"), _("Hand out addresses only when no other DHCP server answers (recommended).")],
    ['proxy', _("_Next to the network's router"), _("Never hand out addresses: the router's DHCP server does; this computer only adds the network-boot answers.")],
    ['dhcp', _("_Hand out addresses"), _("For a cable between two computers or a network without a router: this computer hands out addresses itself.")],
];

/** The Settings dialog; resolves with the new settings, or null when cancelled. */
export function editSettings(parent: Gtk.Window | null, prefs: AppletPrefs, interfaces: NetInterface[]): Promise<AppletPrefs | null> {
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
    ifaceLabel.set_mnemonic_widget(iface);
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
    entryLabel.set_mnemonic_widget(entry);
    const entryHelp = new Gtk.Label({ xalign: 0, wrap: true, max_width_chars: 60,
        label: known === null ? _("Share once to choose among the medium's boot entries.")
            : format(_("The boot entries of “{medium}”, the medium shared last."), { medium: known.medium }) });
    entryHelp.get_style_context().add_class('dim-label');
    grid.attach(http, 0, 8, 2, 1);
    grid.attach(resume, 0, 9, 2, 1);
    grid.attach(wait, 0, 10, 2, 1);
    grid.attach(entryLabel, 0, 11, 1, 1);
    grid.attach(entry, 1, 11, 1, 1);
    grid.attach(entryHelp, 0, 12, 2, 1);
    dialog.get_content_area().add(grid);
    dialog.show_all();
    return new Promise(resolve => {
        dialog.connect('response', (_d, response: number) => {
            const result: AppletPrefs | null = response === Gtk.ResponseType.OK ? {
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
            dialog.destroy();
            resolve(result);
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
