#!/bin/bash
# The main job (npm run demo): set up this machine (Debian packages, npm packages, build), then run
# `share-this-cd demo`: the lab live image is built (first run) or reused, an isolated lab network is made
# of network namespaces, the real engine shares the image, and a virtual computer boots it over the network.
# Options are passed on: npm run demo -- --clients 3 --uefi   (see share-this-cd --help).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup.sh >/dev/null
exec ./bin/share-this-cd demo "$@"
