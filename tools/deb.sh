#!/bin/bash
# npm run deb: builds the Debian package from this checkout (its tracked and new files, with uncommitted
# changes) with dpkg-buildpackage -us -uc -b in build/deb/src, then checks it with lintian (--fail-on error).
# Leaves build/deb/share-this-cd_<version>_all.deb. Needs debhelper, lintian (tools/setup.sh installs them).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out="$top/build/deb"
rm -rf "$out"
mkdir -p "$out/src"
# The source: what git knows of (tracked files and new ones not ignored), as they are in the work tree.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$out/src"
# The locked npm packages already installed here (hard links): debian/rules runs npm ci only without them.
if [ -f node_modules/.package-lock.json ]; then cp -al node_modules "$out/src/node_modules"; fi
(cd "$out/src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
deb=$(ls "$out"/share-this-cd_*_all.deb)
echo "== lintian $(basename "$deb")"
lintian --fail-on error --info "$out"/share-this-cd_*.changes
rm -rf "$out/src"
echo "deb: $deb"
