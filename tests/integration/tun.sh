#!/bin/bash
# SPDX-License-Identifier: MIT
# TUN over TCP or UDP (first argument), IPv4 and IPv6 underlay and overlay.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |      2001:db8:19::1/64|                 |      2001:db8:19::2/64|
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   |       2001:db8:18::1  |    underlay     |       2001:db8:18::2  |
#   +-----------------------+                 +-----------------------+
#
# For each underlay family: ping both ways over both overlay families, then
# iperf3 both ways; the tunnel's devices are persistent (culvertctl link add)
# and survive the daemons, which are restarted for the second underlay.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: tun.sh tcp|udp}

netns_add a b
veth_pair a veth0 b veth0
addr a veth0 198.18.0.1/24 2001:db8:18::1/64
addr b veth0 198.18.0.2/24 2001:db8:18::2/64
for side in a b; do
	ctl -n "$(ns $side)" link add tun0 type tun
done
addr a tun0 198.19.0.1/24 2001:db8:19::1/64
addr b tun0 198.19.0.2/24 2001:db8:19::2/64

for underlay in 198.18.0.1 '[2001:db8:18::1]'; do
	log "$transport over underlay $underlay"
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen ":55555"
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
		--connect "$underlay:55555"
	[ "$transport" = udp ] || wait_log cli "connected to"

	overlay_traffic "$underlay"

	# Nothing malformed crossed, and every frame reached its device.
	for d in srv cli; do
		[ "$(counter $d bad_frame)" = 0 ] || die "$d counted bad frames"
		[ "$(counter $d dev_write)" = 0 ] || die "$d failed device writes"
	done
	[ "$(counter srv rx)" -gt 1000 ] || die "server received too few packets"
	[ "$(counter cli rx)" -gt 1000 ] || die "client received too few packets"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
	grep -q "stopping on" "$WORK/srv.log" || die "server did not stop cleanly"
	# The persistent devices stay, with their addresses, for the next run.
	has_link a tun0 || die "persistent tun0 vanished with the daemon"
done
echo "PASS: tun over $transport"
