#!/bin/bash
# SPDX-License-Identifier: MIT
# Overload: iperf3 UDP offered at 20 Gbit/s, several times what the tunnel
# carries, for OVERLOAD_S seconds, over UDP sealed and TCP plain.  culvertd's
# peak RSS (VmHWM) stays under 32 MiB, the excess is dropped and counted
# (culvertctl show --json: backpressure, device pauses; and the kernel's
# drops at the device, its qdisc and the sockets, where they mostly happen:
# culvertd cannot read the device as fast as iperf3 writes it), and the
# tunnel carries pings again right after.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   |   iperf3 -s           |                 |   iperf3 -u -b 20G    |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   +-----------------------+                 +-----------------------+
#
# Under AddressSanitizer the RSS is ASan's (shadow memory, quarantine): it
# is printed, not checked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

OVERLOAD_S=${OVERLOAD_S:-10}
LIMIT_KIB=$((32 * 1024))
asan=false
ldd "$CULVERTD" 2>/dev/null | grep libasan >/dev/null && asan=true

two_hosts
keypair a
keypair b

# drops_of ROLE: the drops and counters culvertctl show --json gives for
# ROLE's tun0, as "name value" pairs on one line.
drops_of() {
	ctl show "tun0@$(ns "$1")" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s %d" % kv for kv in sorted(d["drops"].items()) if kv[1]),
      "device_pauses %d" % d["counters"]["device_pauses"])'
}

# kernel_drops: what the kernel dropped so far, as "TUN QDISC RCVBUF
# OTHER": b's tun0 queue (culvertd did not read fast enough), b's tun0
# qdisc, UDP receive buffers in a, and b's veth0 and a's tun0 (backlogs).
kernel_drops() {
	echo "$(n b cat /sys/class/net/tun0/statistics/tx_dropped)" \
		"$(n b tc -s qdisc show dev tun0 | grep -o 'dropped [0-9]*' | awk '{ s += $2 } END { print s + 0 }')" \
		"$(n a nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2 }')" \
		"$(( $(n b cat /sys/class/net/veth0/statistics/tx_dropped) + $(n a cat /sys/class/net/tun0/statistics/rx_dropped) ))"
}

for run in "udp sealed" "tcp plain"; do
	set -- $run
	transport=$1 mode=$2
	keys_a=() keys_b=()
	if [ "$mode" = sealed ]; then
		keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	fi
	log "$mode over $transport, UDP at 20 Gbit/s for $OVERLOAD_S s"
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen :55555 \
		"${keys_a[@]}"
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
		--connect 198.18.0.1:55555 "${keys_b[@]}"
	ping_ok b 198.19.0.1
	before=$(kernel_drops)
	n a iperf3 -s -1 -D -I "$WORK/iperf3.pid" >/dev/null
	wait_for 5 test -s "$WORK/iperf3.pid" || die "iperf3 server did not start"
	sleep 0.2
	timeout $((OVERLOAD_S + 20)) "$CULVERTCTL" netns exec "$(ns b)" -- \
		iperf3 -c 198.19.0.1 -u -b 20G -l 1300 -t "$OVERLOAD_S" -J >"$WORK/iperf3.json" 2>&1 ||
		{
			tail -n 20 "$WORK/iperf3.json"
			die "iperf3 failed"
		}
	rm -f "$WORK/iperf3.pid"
	read -r sent lost pct mbps < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(s["packets"], s["lost_packets"], "%.1f" % s["lost_percent"], "%.0f" % (s["bits_per_second"] / 1e6))' "$WORK/iperf3.json")
	log "iperf3: $sent datagrams offered at $mbps Mbit/s, $lost lost ($pct %)"
	[ "$lost" -gt 0 ] || die "nothing was lost: the tunnel was not overloaded"
	log "cli drops: $(drops_of b)"
	log "srv drops: $(drops_of a)"
	read -r tun qdisc rcvbuf other < <(echo "$(kernel_drops) $before" |
		awk '{ print $1 - $5, $2 - $6, $3 - $7, $4 - $8 }')
	log "kernel: b tun0 tx_dropped $tun, b tun0 qdisc dropped $qdisc, a UDP receive" \
		"buffer errors $rcvbuf (culvertd's socket and iperf3's), backlogs $other;" \
		"$((tun + qdisc + rcvbuf + other)) of $lost lost accounted for"
	for d in cli srv; do
		pid=$(eval echo "\$PID_$d")
		hwm=$(vm_kib "$pid" VmHWM)
		log "$d: peak RSS (VmHWM) $hwm KiB, RSS now $(vm_kib "$pid" VmRSS) KiB"
		$asan || [ "$hwm" -lt "$LIMIT_KIB" ] || die "$d: peak RSS $hwm KiB is not under 32 MiB"
	done
	# The drops are accounted for somewhere: by culvertd or the kernel.
	[ $((tun + qdisc + rcvbuf + other)) -gt 0 ] || [ -n "$(drops_of b | sed 's/device_pauses.*//')" ] ||
		die "no drop counted anywhere"
	ping_ok b 198.19.0.1
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
done
echo "PASS: overload"
