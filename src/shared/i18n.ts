// gettext for every user-visible sentence. Strings are written _("double quoted") so xgettext (which reads .ts
// as C) extracts them.
import Gettext from 'gettext';

export const GETTEXT_DOMAIN = 'share-this-cd';

Gettext.bindtextdomain(GETTEXT_DOMAIN, __LOCALEDIR__);
const domain = Gettext.domain(GETTEXT_DOMAIN);

export const _ = (msgid: string): string => domain.gettext(msgid);
export const ngettext = (singular: string, plural: string, n: number): string =>
    domain.ngettext(singular, plural, n);

/** Replaces {name} placeholders: translators can move them around, unlike positional concatenation. */
export function format(template: string, values: Record<string, string | number>): string {
    return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
        Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole);
}
