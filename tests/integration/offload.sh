#!/bin/bash
# SPDX-License-Identifier: MIT
# TUN offloads (IFF_VNET_HDR + TSO): the paths a 64 KiB TCP packet can take,
# each proved by traffic and by the counters that say which path it took.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |      2001:db8:19::1/64|                 |      2001:db8:19::2/64|
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   +-----------------------+    underlay     +-----------------------+
#
#  1. plain TCP, --plain-offload on both: TSO packets cross whole, in offload
#     frames, and are written to the device whole;
#  2. sealed TCP: the peers offer offload frames to each other (type 5
#     messages) and use them without being told;
#  3. plain TCP, b with --no-offload (a simpletun-shaped peer): a cuts every
#     TSO packet into MTU-sized frames, which b takes without one oversize
#     or malformed frame, and a coalesces b's packets into TSO writes;
#  4. sealed UDP: cut into datagrams, coalesced again on arrival.
# IPv4 and IPv6 on the overlay each time (TSO4, TSO6).
source "$(dirname "$0")/lib.sh"

two_hosts
addr a tun0 2001:db8:19::1/64
addr b tun0 2001:db8:19::2/64
keypair a
keypair b

sealed_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
sealed_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")

# run NAME TRANSPORT "A OPTIONS" "B OPTIONS": a tunnel, traffic both ways
# on both overlay families, then no bad frame or device write anywhere.
run() {
	local name=$1 transport=$2 d
	log "$name"
	# shellcheck disable=SC2086
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen ":55555" $3
	wait_log srv "listening"
	# shellcheck disable=SC2086
	culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
		--connect 198.18.0.1:55555 $4
	ping_ok b 198.19.0.1
	ping_ok a 2001:db8:19::2
	iperf_ok b a 198.19.0.1 3
	iperf_ok b a 198.19.0.1 3 -R
	iperf_ok b a 2001:db8:19::1 3
	for d in srv cli; do
		counters_zero $d bad_frame dev_write oversize bad_offload bad_connections
	done
}

stop() {
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
}

# at_least NAME FIELD MIN: the counter from the last snapshot is >= MIN.
at_least() {
	local v
	v=$(counter_last "$1" "$2")
	[ -n "$v" ] && [ "$v" -ge "$3" ] || die "$1: $2 is '$v', expected at least $3"
	log "$1: $2 $v"
}

run "plain TCP, offload frames both ways" tcp --plain-offload --plain-offload
for d in srv cli; do
	counter $d rx >/dev/null
	# iperf3's bulk leaves as TSO packets carried whole ...
	at_least $d offload_sent 100
	at_least $d offload_received 100
	# ... and none had to be cut.
	[ "$(counter_last $d offload_segmented)" = 0 ] || die "$d cut TSO packets"
done
stop

run "sealed TCP, offload frames negotiated" tcp "${sealed_a[*]}" "${sealed_b[*]}"
grep -q "takes offload frames" "$WORK/srv.log" || die "srv never saw the offer"
grep -q "takes offload frames" "$WORK/cli.log" || die "cli never saw the offer"
for d in srv cli; do
	counter $d rx >/dev/null
	at_least $d offload_sent 100
	at_least $d offload_received 100
	counters_zero $d bad_tag out_of_order malformed
done
stop

run "plain TCP towards a peer without offloads" tcp "" --no-offload
counter srv rx >/dev/null
# a cut TSO packets for b (which took every frame: counters above) ...
at_least srv offload_segmented 100
# ... and wrote b's segments to its device coalesced.
at_least srv offload_received 10
counter cli rx >/dev/null
# Without offloads the daemon has no offload counters at all (nor a 0).
[ -z "$(counter_last cli offload_sent)" ] || die "cli has offloads with --no-offload"
grep -q "takes offload frames" "$WORK/srv.log" && die "plain mode took an offer"
stop

run "sealed UDP: cut into datagrams, coalesced on arrival" udp "${sealed_a[*]}" "${sealed_b[*]}"
# The segments of a TSO packet leave in one send and arrive in one receive.
grep -q "offloads on: TSO, UDP GSO, UDP GRO" "$WORK/srv.log" || die "no UDP GSO/GRO"
for d in srv cli; do
	counter $d rx >/dev/null
	at_least $d offload_segmented 100
	at_least $d offload_received 10
	[ "$(counter_last $d offload_sent)" = 0 ] || die "$d sent a whole TSO packet over UDP"
	counters_zero $d bad_tag replayed stale malformed
done
stop
echo "PASS: offloads"
