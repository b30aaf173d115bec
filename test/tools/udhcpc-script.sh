#!/bin/sh
# udhcpc event script for the lab client: put the lease on the interface (no routes, no DNS).
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        ip route replace default dev "$interface"
        ;;
    deconfig)
        ip addr flush dev "$interface"
        ;;
esac
exit 0
