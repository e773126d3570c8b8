#!/bin/bash
# SPDX-License-Identifier: MIT
# Sealed TUN over TCP or UDP (first argument): keys from culvertctl, a Noise
# handshake, then real traffic both ways over IPv4 and IPv6.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |      2001:db8:19::1/64|                 |      2001:db8:19::2/64|
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   |   a.key, b.pub        |                 |   b.key, a.pub        |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   |       2001:db8:18::1  |    underlay     |       2001:db8:18::2  |
#   +-----------------------+                 +-----------------------+
#
# Once per underlay family (the daemons restart in between, so each run has
# its own first handshake): pings both ways over both overlay families,
# iperf3 both ways, then no forged, replayed or failed message counted.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed.sh tcp|udp}

netns_add a b
veth_pair a veth0 b veth0
addr a veth0 198.18.0.1/24 2001:db8:18::1/64
addr b veth0 198.18.0.2/24 2001:db8:18::2/64
for side in a b; do
	ctl -n "$(ns $side)" link add tun0 type tun
	keypair $side
done
addr a tun0 198.19.0.1/24 2001:db8:19::1/64
addr b tun0 198.19.0.2/24 2001:db8:19::2/64

for underlay in 198.18.0.1 '[2001:db8:18::1]'; do
	log "sealed $transport over underlay $underlay"
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen ":55555" \
		--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
		--connect "$underlay:55555" \
		--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
	# The connecting side starts the handshake on its own, without traffic.
	wait_log cli "session established with"

	overlay_traffic "$underlay"

	# Nothing on this clean underlay may fail authentication, replay or
	# arrive out of order; every frame reached its device.
	for d in srv cli; do
		counters_zero $d bad_frame dev_write bad_mac1 bad_handshake unknown_key \
			replayed_initiation bad_tag replayed stale out_of_order expired
		hs=$(counter_last $d handshakes)
		[ "$hs" -ge 1 ] || die "$d completed no handshake"
		log "$d: handshakes $hs, rx $(counter_last $d rx) packets"
	done
	[ "$(counter srv rx)" -gt 1000 ] || die "server received too few packets"
	[ "$(counter cli rx)" -gt 1000 ] || die "client received too few packets"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
done
echo "PASS: sealed tun over $transport"
