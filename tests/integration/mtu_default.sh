#!/bin/bash
# SPDX-License-Identifier: MIT
# The default device MTU (doc/design.md section 10): without --mtu, culvertd
# sets the device to the underlay route's MTU toward the peer less the
# exact overhead of transport and mode, and logs the sum; a route with
# `mtu lock 1400` counts instead of the device's; --mtu wins; a listener
# that knows no peer assumes 1500 over IPv6.  Then, with the default on both
# sides, sealed over UDP, a full-size packet with DF crosses (the issue 12
# black hole: a 1500-byte device on a 1500-byte underlay).
source "$(dirname "$0")/lib.sh"

two_hosts
addr a veth0 2001:db8:18::1/64
addr b veth0 2001:db8:18::2/64
keypair a
keypair b
sealed_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")

# expect NAME DEV WANT ARGS...: starts culvertd in b with ARGS, waits for
# its "mtu N:" line and checks that N and the device's MTU are WANT.
expect() {
	local name=$1 dev=$2 want=$3 got
	shift 3
	culvertd_start b "$name" --dev "$dev" "$@"
	wait_log "$name" "MTU [0-9]*, frames"
	got=$(n b cat "/sys/class/net/$dev/mtu")
	[ "$got" = "$want" ] || die "$name: device MTU $got, not $want"
	log "$name: $(grep -o 'mtu [0-9]*: .*' "$WORK/$name.log" || echo "MTU $got (given)")"
	culvertd_stop "$(eval echo "\$PID_$name")"
}

# 1500-byte veth, IPv4 underlay: 20 + 8 + 2 (plain UDP), + 32 - 2 (sealed
# UDP has no prefix), TCP 20 + 12 of timestamps, TAP + 14.
expect udp_plain tun0 1470 --transport udp --connect 198.18.0.1:55555
grep -q "mtu 1470: route mtu 1500 via veth0 minus 30 (ipv4 20 + udp 8 + length 2)" \
	"$WORK/udp_plain.log" || die "udp_plain: the sum is not logged"
expect udp_sealed tun0 1440 --transport udp --connect 198.18.0.1:55555 "${sealed_b[@]}"
expect tcp_plain tun0 1446 --transport tcp --connect 198.18.0.1:55555
expect tcp_sealed tun0 1414 --transport tcp --connect 198.18.0.1:55555 "${sealed_b[@]}"
expect tap_udp_plain tap7 1456 --mode tap --transport udp --connect 198.18.0.1:55555
# IPv6 underlay: WireGuard's 1420.
expect udp_sealed6 tun0 1420 --transport udp --connect '[2001:db8:18::1]:55555' "${sealed_b[@]}"
# A listener without a peer: 1500 over IPv6.
expect listener tun0 1450 --transport udp --listen :55555
# --mtu wins.
expect given tun0 1300 --transport udp --connect 198.18.0.1:55555 --mtu 1300
# A route with a locked MTU of 1400 toward the peer.
n b ip route add 198.18.0.1/32 dev veth0 mtu lock 1400
expect locked tun0 1340 --transport udp --connect 198.18.0.1:55555 "${sealed_b[@]}"
grep -q "mtu 1340: route mtu 1400 via veth0 minus 60" "$WORK/locked.log" ||
	die "locked: the route's MTU is not what counted"
n b ip route del 198.18.0.1/32 dev veth0

log "default MTU on both sides, sealed over UDP"
culvertd_start a srv --dev tun0 --transport udp --listen :55555 \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log srv "listening"
culvertd_start b cli --dev tun0 --transport udp --connect 198.18.0.1:55555 "${sealed_b[@]}"
wait_log cli "mtu 1440:"
ping_ok b 198.19.0.1
# The listener assumed 1420 (no peer yet, sealed UDP over IPv6): full-size
# packets of the client (1440) are still taken (frames up to max(MTU + 18,
# 9018)), and its own full-size packets cross too.
grep -q "mtu 1420: assumed path mtu 1500" "$WORK/srv.log" || die "srv did not assume 1420"
n b ping -c 3 -i 0.2 -W 2 -M do -s $((1440 - 28)) 198.19.0.1 >/dev/null ||
	die "a 1440-byte packet with DF did not cross"
n a ping -c 3 -i 0.2 -W 2 -M do -s $((1420 - 28)) 198.19.0.2 >/dev/null ||
	die "a 1420-byte packet with DF did not cross"
iperf_ok b a 198.19.0.1 3
for d in srv cli; do
	counters_zero $d bad_frame send_error oversize
done
echo "PASS: default MTU"
