// The panel icon: an AyatanaAppIndicator3 indicator (the Ubuntu panel's tray, also KDE, XFCE, MATE, Budgie
// through StatusNotifierItem, and XEmbed trays as a fallback inside the library), or a Gtk.StatusIcon when
// the indicator library is not installed. Both show the same menu, icon, title and label.
import Gtk from 'gi://Gtk?version=3.0';

import type { Presentation } from './model.ts';

export interface Tray {
    readonly kind: 'indicator' | 'statusicon';
    show(p: Presentation): void;
}

type AyatanaModule = typeof import('gi://AyatanaAppIndicator3?version=0.1').default;

async function loadAyatana(): Promise<AyatanaModule | null> {
    try {
        return (await import('gi://AyatanaAppIndicator3?version=0.1')).default;
    } catch (e) {
        console.info(`AyatanaAppIndicator3 is not available (${(e as Error).message}): using Gtk.StatusIcon`);
        return null;
    }
}

class IndicatorTray implements Tray {
    readonly kind = 'indicator';
    private readonly indicator;

    constructor(ai: AyatanaModule, id: string, menu: Gtk.Menu, iconDir: string | null, first: Presentation) {
        this.indicator = ai.Indicator.new(id, first.icon, ai.IndicatorCategory.COMMUNICATIONS);
        if (iconDir !== null)
            this.indicator.set_icon_theme_path(iconDir);
        this.indicator.set_menu(menu);
        this.indicator.set_status(ai.IndicatorStatus.ACTIVE);
        this.show(first);
    }

    show(p: Presentation): void {
        this.indicator.set_icon_full(p.icon, p.title);
        this.indicator.set_title(p.title);
        this.indicator.set_label(p.label, '99');
    }
}

/** Gtk.StatusIcon is deprecated in GTK 3 but the only tray left when the indicator library is missing. */
class StatusIconTray implements Tray {
    readonly kind = 'statusicon';
    private readonly icon: Gtk.StatusIcon;

    constructor(menu: Gtk.Menu, first: Presentation) {
        this.icon = Gtk.StatusIcon.new_from_icon_name(first.icon);
        const popup = (): void => menu.popup_at_pointer(null);
        this.icon.connect('activate', popup);
        this.icon.connect('popup-menu', popup);
        this.icon.set_visible(true);
        this.show(first);
    }

    show(p: Presentation): void {
        this.icon.set_from_icon_name(p.icon);
        this.icon.set_title(p.title);
        this.icon.set_tooltip_text(p.tooltip);
    }
}

/** The indicator when its library loads (unless `prefer` says statusicon), else a status icon. */
export async function createTray(id: string, menu: Gtk.Menu, iconDir: string | null, first: Presentation, prefer: 'indicator' | 'statusicon'): Promise<Tray> {
    const ai = prefer === 'indicator' ? await loadAyatana() : null;
    return ai !== null ? new IndicatorTray(ai, id, menu, iconDir, first) : new StatusIconTray(menu, first);
}
