# shellcheck shell=bash
# Shared by the lab scripts (benchmarks, measurements): namespaces are removed after killing, by PID, what
# still runs in them.
teardown_namespaces() {
    local ns p
    for ns in "$@"; do
        ip netns list | grep -qw "$ns" || continue
        for p in $(ip netns pids "$ns"); do kill "$p" 2>/dev/null || true; done
        sleep 0.5
        for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns"
    done
}
