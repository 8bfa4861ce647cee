#!/usr/bin/env bash
# testlan.sh - throwaway test LAN built from Linux network namespaces.
# (lanchat's own copy of shared/testlan.sh; tests/lan.rs drives it with its own
# TESTLAN_PREFIX so concurrent runs never share namespaces.)
#
#   testlan.sh up N          create hosts tl-lan0..tl-lan{N-1} (10.77.0.(10+i)/24)
#   testlan.sh down          delete everything this script created
#   testlan.sh exec I CMD..  run CMD inside host I (tl-lanI)
#   testlan.sh status        show what exists
#   testlan.sh routed [A [B]] two subnets joined by a router (below)
#
# Topology: the bridge lives in its own namespace (tl-lanbr), so NOTHING is
# added to the root namespace and no packet can reach the real NIC. Each host
# namespace gets an interface "eth0" (veth) whose peer "tl-vI" is enslaved to
# bridge "tl-br0" in tl-lanbr. Subnet broadcast address: 10.77.0.255.
# Idempotent: "up N" twice is a no-op; "up M" with M<N removes the extra hosts;
# "down" twice is fine. Needs root and iproute2.
#
# "routed A B" (default 1 1): two subnets, each a bridge, joined by a router namespace
# (tl-lanrt, ip_forward on) that holds both bridges. Hosts tl-lan0..tl-lan{A-1} are
# 10.78.1.(10+i)/24 (gateway 10.78.1.1); the next B hosts are 10.78.2.(10+j)/24
# (gateway 10.78.2.1): with the default, tl-lan0 is 10.78.1.10 and tl-lan1 10.78.2.10.
# Broadcasts stay on their subnet; unicast crosses the router. Again nothing in the
# root namespace.
set -euo pipefail

PREFIX="${TESTLAN_PREFIX:-tl-lan}"   # all namespace names start with this
BRNS="${PREFIX}br"                   # namespace holding the bridge
BR="tl-br0"                          # bridge device (inside $BRNS only)
NET="10.77.0"                        # /24, hosts get .(10+i)

die() { echo "testlan: $*" >&2; exit 1; }
ns_exists() { [[ -e "/run/netns/$1" ]]; }
host_ns() { echo "${PREFIX}$1"; }
# host namespaces currently present (tl-lan<digits>), one per line
list_hosts() { ip netns list | awk '{print $1}' | grep -E "^${PREFIX}[0-9]+$" | sort -V || true; }

kill_ns_pids() {   # end processes still living in namespace $1, by PID
  local ns=$1 pids
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [[ -z "$pids" ]]; then return 0; fi
  echo "testlan: stopping PIDs in $ns: $(echo $pids)" >&2
  kill $pids 2>/dev/null || true
  sleep 0.3
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [[ -n "$pids" ]]; then kill -9 $pids 2>/dev/null || true; fi
}

del_host() {
  local ns=$1 i=${1#"$PREFIX"}
  kill_ns_pids "$ns"
  # deleting the namespace destroys its veth end; the peer goes with it
  ip netns del "$ns" 2>/dev/null || true
  if ns_exists "$BRNS"; then ip -n "$BRNS" link del "tl-v$i" 2>/dev/null || true; fi
}

cmd_up() {
  local n=${1:-}
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 200 ]] || die "usage: up N (1..200)"
  [[ $EUID -eq 0 ]] || die "must run as root"

  if ! ns_exists "$BRNS"; then ip netns add "$BRNS"; fi
  ip -n "$BRNS" link set lo up
  if ! ip -n "$BRNS" link show "$BR" >/dev/null 2>&1; then
    ip -n "$BRNS" link add "$BR" type bridge
  fi
  ip -n "$BRNS" link set "$BR" up

  local i ns
  for ((i = 0; i < n; i++)); do
    ns=$(host_ns "$i")
    if ! ns_exists "$ns"; then ip netns add "$ns"; fi
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
      ip -n "$BRNS" link del "tl-v$i" 2>/dev/null || true   # stale half
      ip -n "$BRNS" link add "tl-v$i" type veth peer name eth0 netns "$ns"
    fi
    ip -n "$BRNS" link set "tl-v$i" master "$BR"
    ip -n "$BRNS" link set "tl-v$i" up
    if ! ip -n "$ns" -4 addr show dev eth0 | grep -q "inet ${NET}.$((10 + i))/24"; then
      ip -n "$ns" addr flush dev eth0
      ip -n "$ns" addr add "${NET}.$((10 + i))/24" brd + dev eth0
    fi
    ip -n "$ns" link set eth0 up
  done
  # shrink: remove hosts with index >= n
  for ns in $(list_hosts); do
    i=${ns#"$PREFIX"}
    if (( i >= n )); then del_host "$ns"; fi
  done
  cmd_status
}

cmd_routed() {
  local a=${1:-1} b=${2:-1}
  [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ && "$a" -ge 1 && "$b" -ge 1 && "$a" -le 50 && "$b" -le 50 ]] \
    || die "usage: routed [A [B]] (1..50 hosts on each subnet)"
  [[ $EUID -eq 0 ]] || die "must run as root"
  local rt="${PREFIX}rt" s i ns br host
  if ! ns_exists "$rt"; then ip netns add "$rt"; fi
  ip -n "$rt" link set lo up
  ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
  for s in 1 2; do
    br="tl-rb$s"
    if ! ip -n "$rt" link show "$br" >/dev/null 2>&1; then
      ip -n "$rt" link add "$br" type bridge
    fi
    ip -n "$rt" addr replace "10.78.$s.1/24" dev "$br"
    ip -n "$rt" link set "$br" up
  done
  for ((i = 0; i < a + b; i++)); do
    if ((i < a)); then s=1; host=$((10 + i)); else s=2; host=$((10 + i - a)); fi
    ns=$(host_ns "$i")
    if ! ns_exists "$ns"; then ip netns add "$ns"; fi
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
      ip -n "$rt" link del "tl-rv$i" 2>/dev/null || true   # stale half
      ip -n "$rt" link add "tl-rv$i" type veth peer name eth0 netns "$ns"
    fi
    ip -n "$rt" link set "tl-rv$i" master "tl-rb$s"
    ip -n "$rt" link set "tl-rv$i" up
    ip -n "$ns" addr replace "10.78.$s.$host/24" brd + dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route replace default via "10.78.$s.1"
  done
  cmd_status
}

cmd_down() {
  local ns
  for ns in $(list_hosts); do del_host "$ns"; done
  if ns_exists "${PREFIX}rt"; then kill_ns_pids "${PREFIX}rt"; ip netns del "${PREFIX}rt"; fi
  if ns_exists "$BRNS"; then kill_ns_pids "$BRNS"; ip netns del "$BRNS"; fi
  echo "testlan: down"
}

cmd_exec() {
  local i=${1:-}
  [[ "$i" =~ ^[0-9]+$ ]] || die "usage: exec I CMD..."
  shift
  [[ $# -ge 1 ]] || die "usage: exec I CMD..."
  ns_exists "$(host_ns "$i")" || die "host $i not up"
  exec ip netns exec "$(host_ns "$i")" "$@"
}

cmd_status() {
  local ns
  if ns_exists "$BRNS"; then echo "bridge ns $BRNS: $(ip -n "$BRNS" -br link show master "$BR" 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"; fi
  for ns in $(list_hosts); do
    echo "$ns: $(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4, "brd", $6}')"
  done
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  exec) shift; cmd_exec "$@" ;;
  status) cmd_status ;;
  routed) shift; cmd_routed "$@" ;;
  *) echo "usage: $0 up N | routed [A [B]] | down | exec I CMD... | status" >&2; exit 2 ;;
esac
