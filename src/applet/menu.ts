// The indicator's menu: the "Share this CD" switch, a status line, the windows, Quit. Every item has a
// mnemonic (keyboard use); sync() sets the switch without triggering its action.
import Gtk from 'gi://Gtk?version=3.0';
import Pango from 'gi://Pango';

import { _ } from '../shared/i18n.ts';
import type { Presentation } from './model.ts';

export interface MenuActions {
    toggle(on: boolean): void;
    computers(): void;
    shareIso(): void;
    settings(): void;
    help(): void;
    quit(): void;
}

export class AppletMenu {
    readonly menu: Gtk.Menu;
    private readonly shareItem: Gtk.CheckMenuItem;
    private readonly statusItem: Gtk.MenuItem;
    private syncing = false;

    constructor(actions: MenuActions) {
        this.menu = new Gtk.Menu();
        this.shareItem = Gtk.CheckMenuItem.new_with_mnemonic(_("_Share this CD"));
        this.shareItem.connect('toggled', () => {
            if (!this.syncing)
                actions.toggle(this.shareItem.get_active());
        });
        this.statusItem = new Gtk.MenuItem({ label: '' });
        this.statusItem.set_sensitive(false);
        // A long sentence (an error) is cut in the menu; the whole of it is in the tooltip and the notification.
        const label = this.statusItem.get_child() as Gtk.Label;
        label.set_ellipsize(Pango.EllipsizeMode.END);
        label.set_max_width_chars(52);
        const item = (label: string, action: () => void): Gtk.MenuItem => {
            const i = Gtk.MenuItem.new_with_mnemonic(label);
            i.connect('activate', action);
            return i;
        };
        for (const i of [
            this.shareItem, this.statusItem, new Gtk.SeparatorMenuItem(),
            item(_("_Computers…"), () => actions.computers()),
            item(_("Share an _ISO file…"), () => actions.shareIso()),
            item(_("S_ettings…"), () => actions.settings()),
            item(_("_Help"), () => actions.help()),
            new Gtk.SeparatorMenuItem(),
            item(_("_Quit"), () => actions.quit()),
        ])
            this.menu.append(i);
        this.menu.show_all();
    }

    sync(p: Presentation): void {
        this.syncing = true;
        try {
            this.shareItem.set_active(p.switchActive);
            this.shareItem.set_sensitive(p.switchSensitive);
            this.statusItem.set_label(p.statusLine);
            this.statusItem.set_tooltip_text(p.statusLine);
        } finally {
            this.syncing = false;
        }
    }
}
