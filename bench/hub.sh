#!/bin/bash
# SPDX-License-Identifier: MIT
# The hub benchmark (issue 13): one sealed hub and its sites (over UDP, or
# TCP with --transport tcp), each site a one-peer culvertd with its own
# namespace and TUN device.
#
#                   namespace h: hub, br0 198.18.0.1/16, tun0 198.19.0.1/16
#                    /          |                 \
#   s1: veth0 198.18.1.1   s2: 198.18.1.2   ...   sN: 198.18.1.N
#       tun0 198.19.1.1        198.19.1.2             198.19.1.N
#
# The hub's [Peer] for site k has AllowedIPs = 198.19.1.k/32; every site
# sends its whole 198.19.0.0/16 to the hub, so sites reach one another
# through it.  Reported:
#   throughput  iperf3 from 1, 2 and 4 sites at once to the hub, one stream
#               each, for --seconds; the sum of the receivers' rates; then
#               one site to another through the hub (forwarded inside it),
#               and the hub to one site (its device drain toward a peer)
#   scale       --peers sites (default 100) started at once: the time until
#               the hub shows every peer established; the hub's RSS with the
#               peers configured, after culvertctl show, and with every peer
#               established and idle, each per peer against a hub with one
#               peer; the ping RTT site to hub and site to site through it
# Figures, not a test: nothing here fails on a time.  --throughput-only
# stops after the throughput (bench/compare.sh's hub rows).
#
# Usage: bench/hub.sh [--peers N] [--seconds N] [--transport udp|tcp]
#                     [--throughput-only]   (root; 4 <= N <= 250)
set -euo pipefail

peers=100
seconds=5
scale=1
transport=udp
while [ $# -gt 0 ]; do
	case $1 in
	--peers) peers=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--transport) transport=$2; shift ;;
	--throughput-only) scale=0 ;;
	*)
		echo "usage: bench/hub.sh [--peers N] [--seconds N] [--transport udp|tcp]" \
			"[--throughput-only]" >&2
		exit 2
		;;
	esac
	shift
done
[ "$peers" -ge 4 ] && [ "$peers" -le 250 ] || {
	echo "bench/hub.sh: --peers must be 4..250" >&2
	exit 2
}
case $transport in
udp | tcp) ;;
*)
	echo "bench/hub.sh: --transport must be udp or tcp" >&2
	exit 2
	;;
esac

SRC=$(cd "$(dirname "$0")/.." && pwd)
# An optimised build unless the binaries are given (a debug build would
# understate the hub).
if [ -z "${CULVERTD:-}" ] || [ -z "${CULVERTCTL:-}" ]; then
	[ -f "$SRC/build-bench/build.ninja" ] ||
		meson setup "$SRC/build-bench" "$SRC" -Dwerror=true --buildtype=release >/dev/null
	ninja -C "$SRC/build-bench" >/dev/null
	export CULVERTD=$SRC/build-bench/daemon/culvertd CULVERTCTL=$SRC/build-bench/tools/culvertctl
fi
# Root check, $WORK, namespaces, keys and the trap that removes them all.
source "$SRC/tests/integration/lib.sh"
MTU=1400

# sites N: namespaces h and s1..sN, the bridge, devices and keys.
sites() {
	local k
	netns_add h
	ctl -n "$(ns h)" link add br0 type bridge
	ctl -n "$(ns h)" link set br0 up
	addr h br0 198.18.0.1/16
	ctl -n "$(ns h)" link add tun0 type tun
	ctl -n "$(ns h)" link set tun0 mtu $MTU up
	addr h tun0 198.19.0.1/16
	keypair h
	for k in $(seq 1 "$1"); do
		netns_add "s$k"
		veth_pair h "v$k" "s$k" veth0
		ctl -n "$(ns h)" link set "v$k" master br0
		addr "s$k" veth0 "198.18.1.$k/16"
		ctl -n "$(ns "s$k")" link add tun0 type tun
		ctl -n "$(ns "s$k")" link set tun0 mtu $MTU up
		addr "s$k" tun0 "198.19.1.$k/16"
		keypair "s$k"
	done
}

# hub_up N: the hub with the first N sites as its peers.
hub_up() {
	local k
	{
		printf '[Interface]\nDevice = tun0\nMTU = %s\nPrivateKeyFile = %s\n' $MTU "$WORK/h.key"
		printf 'Listen = :55555\nTransports = %s\n' "$transport"
		for k in $(seq 1 "$1"); do
			printf '\n[Peer]\nName = s%s\nPublicKey = %s\nAllowedIPs = 198.19.1.%s/32\n' \
				"$k" "$(cat "$WORK/s$k.pub")" "$k"
		done
	} >"$WORK/hub.conf"
	culvertd_start h hub -c "$WORK/hub.conf"
	wait_for 10 listening h 55555 || die "the hub does not listen"
}
listening() { [ -n "$(n "$1" ss -Hl --"$transport" -n "sport = :$2")" ]; }

# site_up K: site K's culvertd, calling the hub.
site_up() {
	culvertd_start "s$1" "s$1" --dev tun0 --transport "$transport" --mtu $MTU \
		--connect 198.18.0.1:55555 --private-key "$WORK/s$1.key" \
		--peer-public-key "$(cat "$WORK/h.pub")"
}

# established: how many of the hub's peers are established.
established() {
	ctl show "tun0@$(ns h)" --json | python3 -c '
import json, sys
print(sum(p["state"] == "established" for p in json.load(sys.stdin)["peers"]))'
}

# wait_established N: until the hub shows N peers established (60 s).
wait_established() {
	local deadline=$((SECONDS + 60))
	while [ "$(established)" -lt "$1" ]; do
		[ $SECONDS -lt $deadline ] || die "only $(established) of $1 peers established"
		sleep 0.05
	done
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$PID_hub/status"; }

# ping_avg FROM DST: the average RTT in ms of 200 pings.
ping_avg() {
	n "$1" ping -q -c 200 -i 0.01 -W 1 "$2" | awk -F/ '/^rtt/ { print $5 }'
}

# stop_all: every daemon, then every namespace.
stop_all() {
	local pid
	for pid in "${DAEMONS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${DAEMONS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	DAEMONS=()
}

echo "# hub benchmark: $("$CULVERTD" --version | head -n 1), $(nproc) CPUs, MTU $MTU," \
	"over $transport, $seconds s per iperf3 run"
[ $scale = 1 ] || peers=4
sites "$peers"

echo "## throughput to the hub (iperf3, one stream per site, receivers' sum)"
hub_up 4
for k in 1 2 3 4; do
	site_up "$k"
	n h iperf3 -s -1 -D -p $((5200 + k)) -B 198.19.0.1
done
wait_established 4
ping_avg s1 198.19.0.1 >/dev/null # warms every path
for k in 1 2 3 4; do
	ping_ok "s$k" 198.19.0.1
done
for active in 1 2 4; do
	clients=()
	for k in $(seq 1 $active); do
		n "s$k" iperf3 -c 198.19.0.1 -p $((5200 + k)) -t "$seconds" -J >"$WORK/iperf$k.json" &
		clients+=($!)
	done
	for pid in "${clients[@]}"; do
		wait "$pid" || die "an iperf3 client failed"
	done
	sum=$(for k in $(seq 1 $active); do
		python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"])' "$WORK/iperf$k.json"
	done | awk '{ s += $1 } END { printf "%.2f", s / 1e9 }')
	printf '  %d site(s): %s Gbit/s\n' $active "$sum"
	for k in $(seq 1 $active); do
		n h iperf3 -s -1 -D -p $((5200 + k)) -B 198.19.0.1
	done
done
# through PORT FROM SERVER_ROLE SERVER_ADDR LABEL: one iperf3 stream.
through() {
	n "$3" iperf3 -s -1 -D -p "$1" -B "$4"
	sleep 0.3
	n "$2" iperf3 -c "$4" -p "$1" -t "$seconds" -J >"$WORK/one.json"
	printf '  %s: %s Gbit/s\n' "$5" "$(python3 -c 'import json, sys
print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' \
		"$WORK/one.json")"
}
through 5300 s1 s2 198.19.1.2 "site to site through the hub"
through 5301 h s1 198.19.1.1 "hub to one site"
stop_all
for r in h s1 s2; do
	n $r pkill iperf3 2>/dev/null || true
done
[ $scale = 1 ] || exit 0

echo "## scale: one hub, $peers sites"
hub_up 1
site_up 1
wait_established 1
ping_ok s1 198.19.0.1
sleep 1
rss1=$(rss_kib)
stop_all

hub_up "$peers"
sleep 0.5
rss0=$(rss_kib)
# What rendering the status document of N peers leaves in the heap (the
# allocator keeps its high water; a second render reaches it).
established >/dev/null
established >/dev/null
rss_show=$(rss_kib)
start=$(date +%s%N)
for k in $(seq 1 "$peers"); do
	site_up "$k"
done
started=$(date +%s%N)
wait_established "$peers"
done_at=$(date +%s%N)
printf '  sites started in %d ms; all %d established %d ms after the first start\n' \
	$(((started - start) / 1000000)) "$peers" $(((done_at - start) / 1000000))
for k in 1 2 $peers; do
	ping_ok "s$k" 198.19.0.1
done
printf '  ping RTT site to hub: %s ms; site to site through the hub: %s ms\n' \
	"$(ping_avg s1 198.19.0.1)" "$(ping_avg s1 198.19.1.$peers)"
sleep 2
rss=$(rss_kib)
printf '  hub RSS: 1 peer %d KiB; %d peers configured %d KiB, after culvertctl show %d KiB,' \
	"$rss1" "$peers" "$rss0" "$rss_show"
printf ' established and idle %d KiB\n' "$rss"
printf '  per peer: configured %d bytes, established and idle %d bytes (of which %d the' \
	$(((rss0 - rss1) * 1024 / (peers - 1))) $(((rss - rss1) * 1024 / (peers - 1))) \
	$(((rss_show - rss0) * 1024 / (peers - 1)))
printf ' status document left in the heap)\n'
stop_all
