#!/bin/bash
# SPDX-License-Identifier: MIT
# Sealed TAP over TCP or UDP (first argument): two remote L2 segments
# bridged through a sealed tunnel, over an IPv6 underlay (sealed.sh covers
# both underlay families for TUN).
#
#  namespace ha          namespace a                      namespace b          namespace hb
# +-------------+   +-----------------------+      +-----------------------+   +-------------+
# | eth0        |   | br0 [ tap0, port0 ]   |      | br0 [ tap0, port0 ]   |   | eth0        |
# | 198.19.1.1  +---+ port0                 |      |                 port0 +---+ 198.19.1.2  |
# | 2001:db8:   |   |   culvertd --listen   |      |   culvertd --connect  |   | 2001:db8:   |
# |   1901::1   |   |   a.key, b.pub        |      |   b.key, a.pub        |   |   1901::2   |
# |             |   | veth0 2001:db8:18::1  +------+ veth0 2001:db8:18::2  |   |             |
# +-------------+   +-----------------------+      +-----------------------+   +-------------+
#
# ha and hb share one /24 and one /64: ARP, neighbour discovery, pings and
# iperf3 cross the tunnel as sealed Ethernet frames.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed_tap.sh tcp|udp}

netns_add ha a b hb
veth_pair a veth0 b veth0
addr a veth0 2001:db8:18::1/64
addr b veth0 2001:db8:18::2/64
for side in a b; do
	ctl -n "$(ns $side)" link add br0 type bridge
	ctl -n "$(ns $side)" link add tap0 type tap
	ctl -n "$(ns $side)" link set tap0 master br0
	ctl -n "$(ns $side)" link set br0 up
	keypair $side
done
veth_pair ha eth0 a port0
veth_pair hb eth0 b port0
ctl -n "$(ns a)" link set port0 master br0
ctl -n "$(ns b)" link set port0 master br0
# The end hosts' MTU must fit the tunnel's.
ctl -n "$(ns ha)" link set eth0 mtu 1400
ctl -n "$(ns hb)" link set eth0 mtu 1400
addr ha eth0 198.19.1.1/24 2001:db8:1901::1/64
addr hb eth0 198.19.1.2/24 2001:db8:1901::2/64

culvertd_start a srv --dev tap0 --mode tap --transport "$transport" --mtu 1400 \
	--listen '[2001:db8:18::1]:55555' \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log srv "listening"
culvertd_start b cli --dev tap0 --mode tap --transport "$transport" --mtu 1400 \
	--connect '[2001:db8:18::1]:55555' \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
wait_log cli "session established with"

ping_ok ha 198.19.1.2
ping_ok hb 198.19.1.1
ping_ok ha 2001:db8:1901::2
ping_ok hb 2001:db8:1901::1

# ARP resolved across the tunnel: ha knows hb's real MAC address.
mac_hb=$(n hb cat /sys/class/net/eth0/address)
n ha ip neigh show 198.19.1.2 | grep -i "$mac_hb" >/dev/null || die "ha has no ARP entry for hb ($mac_hb)"

iperf_ok ha hb 198.19.1.2 5
iperf_ok ha hb 198.19.1.2 5 -R

for d in srv cli; do
	counters_zero $d bad_frame oversize dev_write bad_mac1 bad_handshake unknown_key \
		replayed_initiation bad_tag replayed stale out_of_order expired
	hs=$(counter_last $d handshakes)
	[ "$hs" -ge 1 ] || die "$d completed no handshake"
	log "$d: handshakes $hs, rx $(counter_last $d rx) packets"
done
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: sealed tap over $transport"
