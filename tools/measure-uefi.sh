#!/bin/bash
# Measures which UEFI network-boot chains reach our GRUB menu and fetch the kernel, with the real engine and
# a qemu/OVMF client (TCG), Secure Boot off and on, full DHCP and proxy-DHCP (a router runs DHCP).
# Prints one verdict line per scenario. Run as root after tools/setup.sh (+ qemu-system-x86 ovmf).
# The kernel on the test medium is random bytes: the measurement stops where the kernel is fetched
# (a full boot to the live system is the next issue's test, with a real signed kernel).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/netns-lib.sh
SRV=uefisrv CLI=uefirtr IP=10.79.0.1 RTR=10.79.0.254
work=$(mktemp -d /tmp/share-this-cd-uefi.XXXXXX)
chmod 755 "$work"
share_pid= qemu_pid=

teardown_ns() {
    teardown_namespaces $CLI $SRV
}
trap 'teardown_ns; rm -rf "$work"' EXIT INT TERM

medium=$work/medium
cp -r test/fixtures/media/ubuntu-24.04-desktop "$medium"
head -c 2000000 /dev/urandom > "$medium/casper/vmlinuz"
head -c 2000000 /dev/urandom > "$medium/casper/initrd"
chmod -R a+rX "$medium"

scenario() { # name mode(full|proxy) secureboot(on|off)
    local name=$1 mode=$2 sb=$3
    teardown_ns
    ip netns add $SRV
    ip -n $SRV link set lo up
    ip -n $SRV link add br0 type bridge stp_state 0 forward_delay 0
    ip -n $SRV addr add $IP/24 dev br0
    ip -n $SRV link set br0 up
    ip -n $SRV tuntap add dev tap0 mode tap
    ip -n $SRV link set tap0 master br0 up
    # A second port with carrier: a bridge whose only port is qemu's (not yet open) tap has no carrier, and the
    # engine rightly refuses an interface without one.
    ip -n $SRV link add s-lan type veth peer name lan-peer
    ip -n $SRV link set s-lan master br0 up
    ip -n $SRV link set lan-peer up
    if [ "$mode" = proxy ]; then
        ip netns add $CLI
        ip -n $CLI link set lo up
        ip -n $SRV link add s-rtr type veth peer name eth0 netns $CLI
        ip -n $SRV link set s-rtr master br0 up
        ip -n $CLI addr add $RTR/24 dev eth0
        ip -n $CLI link set eth0 up
        ip netns exec $CLI dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --port=0 --interface=eth0 \
            --bind-interfaces --dhcp-range=10.79.0.50,10.79.0.99,255.255.255.0,1h --dhcp-leasefile="$work/rtr.leases"
    fi
    ip netns exec $SRV gjs -m build/share-this-cd.js start --medium "$medium" > "$work/$name.share" 2>&1 &
    share_pid=$!
    for _ in $(seq 300); do grep -q 'ready in' "$work/$name.share" && break; sleep 0.05; done
    local code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
    if [ "$sb" = on ]; then code=/usr/share/OVMF/OVMF_CODE_4M.ms.fd; vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd; fi
    cp "$vars" "$work/vars.fd"
    ip netns exec $SRV qemu-system-x86_64 -accel tcg,thread=multi -machine q35 -m 1024 -smp 1 -nographic \
        -drive if=pflash,format=raw,unit=0,readonly=on,file=$code -drive if=pflash,format=raw,unit=1,file="$work/vars.fd" \
        -serial file:"$work/$name.serial" -monitor none \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:12:34:99 \
        -boot n -no-reboot < /dev/null > "$work/$name.qemu" 2>&1 &
    qemu_pid=$!
    local t0 fetched=""
    t0=$(date +%s)
    while [ $(( $(date +%s) - t0 )) -lt "${UEFI_TIMEOUT:-150}" ]; do
        fetched=$(ip netns exec $SRV gjs -m build/share-this-cd.js clients --json \
            | tr -d ' \n' | grep -o '"fetched":\[[^]]*\]' | head -1 || true)
        case $fetched in *kernel*) break;; esac
        sleep 2
    done
    kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true
    kill -INT "$share_pid"; wait "$share_pid" || true
    local verdict="did NOT reach our menu"
    case $fetched in *kernel*) verdict="reached our GRUB menu and fetched the kernel";; *menu*) verdict="read our menu but fetched no kernel";; esac
    local refused="" errors
    grep -aqiE 'verification failed|security violation|access denied' "$work/$name.serial" && refused=" (firmware/shim refused an image: Secure Boot enforced)"
    errors=$(strings "$work/$name.serial" | grep -aoE 'error: [^.]*' | sort -u | head -3 | paste -sd ';' || true)
    printf '%-36s %s in %ss; fetched %s%s%s\n' "$name:" "$verdict" "$(( $(date +%s) - t0 ))" "${fetched#\"fetched\":}" "$refused" "${errors:+; GRUB said: $errors}"
}

want=${UEFI_SCENARIOS:-full-off full-on proxy-off proxy-on}
for s in $want; do
    mode=${s%-*} sb=${s#*-}
    scenario "UEFI, $([ "$mode" = full ] && echo 'full DHCP' || echo 'proxy-DHCP'), Secure Boot $sb" "$mode" "$sb"
done
