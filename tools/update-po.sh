#!/bin/bash
# Brings the translations in step with the sources: extracts po/share-this-cd.pot from po/POTFILES (as meson's
# share-this-cd-pot target does) and merges it into each po/LANG.po; then lists what each still lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
xgettext --from-code=UTF-8 --keyword=_ --keyword=ngettext:1,2 --add-comments=Translators: --package-name=share-this-cd \
    -o po/share-this-cd.pot $(cat po/POTFILES) 2> >(grep -v "extension 'ts' is unknown" >&2)
for lang in $(grep -v '^#' po/LINGUAS); do
    msgmerge --quiet --no-fuzzy-matching --update --backup=off "po/$lang.po" po/share-this-cd.pot
    msgattrib --no-obsolete -o "po/$lang.po" "po/$lang.po"
    echo "po/$lang.po: $(msgfmt --check --statistics -o /dev/null "po/$lang.po" 2>&1)"
    msgattrib --untranslated --no-wrap "po/$lang.po" | grep '^msgid' | sed 1d || true
done
