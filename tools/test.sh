#!/bin/bash
# The test command (npm test): set-up, type check, build, then every test under gjs.
# Ends with the runner's closing line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup.sh
echo "== type check (tsc --noEmit)"
node_modules/.bin/tsc --noEmit
echo "== unit and CLI specs (gjs)"
gjs -m build/tests.js
