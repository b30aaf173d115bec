#!/bin/bash
# Installs everything Share This CD needs on a fresh Debian 12 / Ubuntu machine (as root), then builds.
# Idempotent and quick when all is there: Debian packages with apt-get, npm packages from the lock file.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Runtime: gjs, dnsmasq (DHCP/proxy-DHCP + TFTP), pxelinux + syslinux modules (BIOS), shim + signed GRUB
# network image (UEFI) and grub-mkimage (the proxy-DHCP UEFI image), nginx-light (HTTP fast path), nfs-ganesha +
# rpcbind (NFS where the kernel has no nfsd), fuseiso (ISO files without iso9660 in the kernel), iproute2.
# Build: meson, ninja, gettext. Tests: DHCP/TFTP/HTTP/NFS clients (udhcpc, isc-dhcp-client, tftp-hpa, curl,
# libnfs-utils; python3 for a hostile NFS client that forges file handles, and for bench:share's clients,
# servers and libnfs readers), xorriso (test
# ISO), tcpdump, nftables, firewalld and ufw (firewalls of the sharing machine, which the share opens; the lab
# runs them in its namespaces only: firewalld is not left enabled on a machine that boots with systemd).
# The lab (e2e tests, demo, boot benchmark): qemu with SeaBIOS/iPXE and OVMF (with the Secure Boot images), and
# what the lab live image is built from: Debian's signed kernel, initramfs-tools + live-boot, busybox-static,
# squashfs-tools, zstd, isolinux, mtools + dosfstools (the ISO's UEFI image); sbsigntool (an unsigned kernel for the
# Secure Boot test). ARM64 clients: qemu-system-arm (qemu-system-aarch64) and AAVMF (qemu-efi-aarch64); the ARM64 lab
# medium's Debian arm64 packages are downloaded with apt-get into a private apt state (src/lab/arm64.ts).
# The helper: the system bus (dbus-daemon) and polkitd; its tests run a private bus with the real polkitd and
# check the shipped data with xmllint (libxml2-utils), pkaction (polkitd) and systemd-analyze (systemd).
# The package and its system test: dpkg-buildpackage (build-essential, debhelper), lintian; a Debian 12 root
# (debootstrap) booted with systemd as PID 1 (systemd-nspawn from systemd-container). Real live images: Debian's
# live-build (src/lab/liveBuild.ts).
# The applet: GTK 3 and the Ayatana indicator library (and a font); its tests run a desktop session (Xvfb,
# xdpyinfo, the trayer tray, xdotool, the dunst notification server), take screenshots (ImageMagick), read them
# (tesseract) and validate the desktop files (desktop-file-utils) and the metainfo (appstream). Real polkit
# authentication agents for the applet's password dialog (test/lab/agent.spec.ts): lxpolkit and polkit-gnome's
# (policykit-1-gnome); openssl makes the password of the lab session's root.
# The makers of network cards: the IEEE's list (ieee-data). A real StatusNotifier host for the applet's lab
# specs: xfce4-panel (its Status Tray plugin); the accessibility tree read over AT-SPI: python3-pyatspi.
PACKAGES=(gjs meson ninja-build gettext libglib2.0-bin
    dnsmasq-base pxelinux syslinux-common shim-signed grub-efi-amd64-signed grub-efi-amd64-bin nginx-light radvd ndisc6
    nfs-ganesha nfs-ganesha-vfs rpcbind fuseiso fuse3 iproute2 kmod util-linux
    udhcpc isc-dhcp-client tftp-hpa curl libnfs-utils python3 xorriso tcpdump nftables firewalld ufw
    qemu-system-x86 qemu-system-arm qemu-efi-aarch64 ipxe-qemu seabios ovmf linux-image-amd64 initramfs-tools live-boot live-boot-initramfs-tools
    busybox-static squashfs-tools zstd isolinux mtools dosfstools sbsigntool
    dbus-daemon polkitd libxml2-utils systemd
    build-essential debhelper lintian debootstrap systemd-container live-build
    gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 fonts-dejavu-core
    xvfb x11-utils trayer xdotool dunst imagemagick tesseract-ocr tesseract-ocr-eng desktop-file-utils appstream
    lxpolkit policykit-1-gnome openssl
    ieee-data xfce4-panel python3-pyatspi)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "setup: run as root to install: ${missing[*]}" >&2; exit 1; }
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Packages such as nginx, rpcbind and nfs-ganesha start their system service when installed; we run our
    # own instances, so forbid service starts during the install (policy-rc.d), unless one is already in place.
    own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    # firewalld installed here is the lab's, not this machine's firewall: it must not start at the next boot.
    if printf '%s\n' "${missing[@]}" | grep -qx firewalld && [ -d /run/systemd/system ]; then
        systemctl disable --quiet firewalld.service 2>/dev/null || true
    fi
fi

command -v node >/dev/null || { echo "setup: Node.js 18+ with npm is needed (apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
fi

node tools/build.mjs
