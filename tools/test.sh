#!/bin/bash
# The test command (npm test): set-up, type check, build, the specs under gjs, then the meson build
# (setup, compile, test, install into a temporary prefix, run the installed command).
# Ends with the runner's closing line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup.sh

echo "== type check (tsc --noEmit)"
node_modules/.bin/tsc --noEmit

echo "== meson: setup, compile, test (the unit specs), install"
work=$(mktemp -d /tmp/share-this-cd-meson.XXXXXX)
trap 'rm -rf "$work"' EXIT
meson setup "$work/build" --prefix="$work/prefix" >/dev/null
meson compile -C "$work/build" >/dev/null
meson test -C "$work/build" --print-errorlogs > "$work/meson-test.out" 2>&1 || { cat "$work/meson-test.out"; exit 1; }
meson install -C "$work/build" >/dev/null
"$work/prefix/bin/share-this-cd" plan --medium test/fixtures/media/ubuntu-24.04-desktop --server 192.168.1.20 >/dev/null
echo "meson: ok (installed command runs)"

echo "== unit and CLI specs (gjs)"
gjs -m build/tests.js
