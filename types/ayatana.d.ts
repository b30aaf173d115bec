// AyatanaAppIndicator3 0.1 (libayatana-appindicator3, gir1.2-ayatanaappindicator3-0.1): the members the applet
// uses, as the GIR (AyatanaAppIndicator3-0.1.gir) describes them. No @girs package of it is published.
declare module 'gi://AyatanaAppIndicator3?version=0.1' {
    import type GObject from 'gi://GObject';
    import type Gtk from 'gi://Gtk?version=3.0';

    export enum IndicatorCategory { APPLICATION_STATUS = 0, COMMUNICATIONS = 1, SYSTEM_SERVICES = 2, HARDWARE = 3, OTHER = 4 }
    export enum IndicatorStatus { PASSIVE = 0, ACTIVE = 1, ATTENTION = 2 }

    export class Indicator extends GObject.Object {
        static new(id: string, iconName: string, category: IndicatorCategory): Indicator;
        set_status(status: IndicatorStatus): void;
        set_menu(menu: Gtk.Menu): void;
        set_title(title: string): void;
        set_label(label: string, guide: string): void;
        set_icon_full(iconName: string, iconDesc: string): void;
        set_attention_icon_full(iconName: string, iconDesc: string): void;
        set_icon_theme_path(path: string): void;
        set_secondary_activate_target(menuitem: Gtk.Widget | null): void;
    }

    const AyatanaAppIndicator3: {
        Indicator: typeof Indicator;
        IndicatorCategory: typeof IndicatorCategory;
        IndicatorStatus: typeof IndicatorStatus;
    };
    export default AyatanaAppIndicator3;
}
