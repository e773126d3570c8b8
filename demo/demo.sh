#!/bin/bash
# SPDX-License-Identifier: MIT
# The culvert demo: two namespaces joined by a veth "underlay", a culvertd
# tunnel between them (plain and sealed, over TCP and UDP), pings and iperf3
# across it; prints the figures and removes everything it made.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |=========|   culvertd --connect  |
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24   |
#   +-----------------------+         +-----------------------+
#
# Usage: demo/demo.sh [SECONDS]   (iperf3 duration per run, default 5)
source "$(dirname "$0")/../tests/integration/lib.sh"

secs=${1:-5}
results=()

# measure LABEL DST: 20 pings and one iperf3 run from b to DST.
measure() {
	local label=$1 dst=$2 rtt rate
	n a iperf3 -s -1 -D -I "$WORK/iperf3.pid" >/dev/null
	wait_for 5 test -s "$WORK/iperf3.pid"
	sleep 0.2
	rtt=$(n b ping -c 20 -i 0.05 -q "$dst" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	rate=$(timeout $((secs + 20)) "$CULVERTCTL" netns exec "$(ns b)" -- \
		iperf3 -c "$dst" -t "$secs" -J |
		python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
	rm -f "$WORK/iperf3.pid"
	results+=("$(printf '%-24s %10s ms %10s Gbit/s' "$label" "$rtt" "$rate")")
	echo "${results[-1]}"
}

echo "Building the topology with culvertctl..."
netns_add a b
veth_pair a veth0 b veth0
addr a veth0 198.18.0.1/24
addr b veth0 198.18.0.2/24
ctl -n "$(ns a)" link add tun0 type tun
ctl -n "$(ns b)" link add tun0 type tun
addr a tun0 198.19.0.1/24
addr b tun0 198.19.0.2/24

printf '\n%-24s %13s %17s\n' "path" "ping avg" "iperf3 (${secs} s)"
measure "bare veth (no tunnel)" 198.18.0.1

# Keys for the sealed runs, made as a user would.
for side in a b; do
	(umask 077 && ctl genkey >"$WORK/$side.key")
	ctl pubkey <"$WORK/$side.key" >"$WORK/$side.pub"
done
sealed_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
sealed_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")

handshakes=()
for mode in plain sealed; do
	for transport in tcp udp; do
		extra_a=() extra_b=()
		if [ $mode = sealed ]; then
			extra_a=("${sealed_a[@]}") extra_b=("${sealed_b[@]}")
		fi
		culvertd_start a srv --dev tun0 --transport $transport --mtu 1400 --listen :55555 \
			"${extra_a[@]}"
		wait_log srv listening
		culvertd_start b cli --dev tun0 --transport $transport --mtu 1400 \
			--connect 198.18.0.1:55555 "${extra_b[@]}"
		wait_for 15 n b ping -c 1 -W 1 198.19.0.1 || die "the $transport tunnel did not come up"
		measure "culvert $mode $transport" 198.19.0.1
		if [ $mode = sealed ]; then
			handshakes+=("$transport: $(grep -o 'handshake round trip [0-9.]* ms' "$WORK/cli.log")")
		fi
		culvertd_stop "$PID_cli"
		culvertd_stop "$PID_srv"
	done
done
echo
for h in "${handshakes[@]}"; do
	echo "sealed $h"
done
echo
echo "Done; removing the namespaces."
