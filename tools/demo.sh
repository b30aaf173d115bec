#!/bin/bash
# The main job for now: set up, then plan the netboot of the bundled Ubuntu 24.04-style sample medium and
# show the menus BIOS and UEFI clients would get. (Later issues make this the full lab demo.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup.sh >/dev/null
medium=test/fixtures/media/ubuntu-24.04-desktop
echo "== share-this-cd plan --medium $medium --server 192.168.1.20"
./bin/share-this-cd plan --medium "$medium" --server 192.168.1.20
for f in pxelinux.cfg/default grub/grub.cfg; do
    echo
    echo "== $f"
    ./bin/share-this-cd plan --medium "$medium" --server 192.168.1.20 --show "$f"
done
