#!/bin/bash
# SPDX-License-Identifier: MIT
# A sealed UDP TAP hub joining three L2 segments (issue 13): a learning
# switch inside culvertd.  ARP and neighbour discovery cross it (broadcast
# and multicast flooded to every site), a broadcast ping reaches every
# station, unicast goes only where the MAC is, 4 MB arrive byte-identical
# from a host behind site a's bridge to site c, iperf3 runs between two
# sites, the hub lists each peer's learned MACs, a frame from a group or
# all-zero source MAC never reaches the hub's device, and PeerToPeer = no
# keeps the sites apart.
#
#                     namespace h: the hub, hub.conf, tap0 198.19.0.1/24
#                 va 198.18.1.1   vb 198.18.2.1   vc 198.18.3.1
#                      |               |               |
#   a: veth0 198.18.1.2          b: veth0 198.18.2.2   c: veth0 198.18.3.2
#      br0 198.19.0.2 = tap0 + lan --- ha: eth0 198.19.0.12 (a host on a's segment)
#                                   b: tap0 198.19.0.3    c: tap0 198.19.0.4
# Every overlay address has an IPv6 twin, 2001:db8:19::N/64.
source "$(dirname "$0")/lib.sh"

hub_sites
netns_add ha
for role in h a b c; do
	ctl -n "$(ns $role)" link add tap0 type tap
	keypair $role
done
addr h tap0 198.19.0.1/24 2001:db8:19::1/64
addr b tap0 198.19.0.3/24 2001:db8:19::3/64
addr c tap0 198.19.0.4/24 2001:db8:19::4/64
# Site a is a segment: a bridge with the tunnel's tap0 and a host on it.
ctl -n "$(ns a)" link add br0 type bridge
veth_pair a lan ha eth0
ctl -n "$(ns a)" link set lan mtu 1400 master br0
ctl -n "$(ns ha)" link set eth0 mtu 1400
ctl -n "$(ns a)" link set tap0 master br0
ctl -n "$(ns a)" link set br0 up
addr a br0 198.19.0.2/24 2001:db8:19::2/64
addr ha eth0 198.19.0.12/24 2001:db8:19::12/64
keypair x # a stranger's
head -c 4M /dev/urandom >"$WORK/data"

# hub_conf [EXTRA]: the hub's file, EXTRA lines in [Interface].
hub_conf() {
	cat >"$WORK/hub.conf" <<CONF
[Interface]
Device = tap0
Mode = tap
MTU = 1400
PrivateKeyFile = $WORK/h.key
Listen = :55555
Transports = udp
${1:-}

[Peer]
Name = site-a
PublicKey = $(cat "$WORK/a.pub")

[Peer]
Name = site-b
PublicKey = $(cat "$WORK/b.pub")

[Peer]
Name = site-c
PublicKey = $(cat "$WORK/c.pub")
CONF
}

# start_all: the hub, then the three sites; every site's session comes up.
start_all() {
	culvertd_start h hub -c "$WORK/hub.conf"
	wait_log hub "3 peers"
	for s in a b c; do
		local i
		case $s in a) i=1 ;; b) i=2 ;; c) i=3 ;; esac
		culvertd_start $s $s --dev tap0 --mode tap --transport udp --mtu 1400 \
			--connect "198.18.$i.1:55555" \
			--private-key "$WORK/$s.key" --peer-public-key "$(cat "$WORK/h.pub")"
	done
	for s in a b c; do
		wait_log $s "session established with" 15
	done
}

mac() { n "$1" cat "/sys/class/net/$2/address"; }

log "--check-config: a TAP hub has no AllowedIPs"
hub_conf
"$CULVERTD" --check-config -c "$WORK/hub.conf" >/dev/null || die "hub.conf does not validate"
printf 'AllowedIPs = 198.19.0.3/32\n' >>"$WORK/hub.conf"
rc=0
"$CULVERTD" --check-config -c "$WORK/hub.conf" 2>"$WORK/check.out" || rc=$?
[ "$rc" = 2 ] && grep -q "hub.conf:[0-9]*: .*AllowedIPs" "$WORK/check.out" ||
	die "AllowedIPs on a TAP hub: exit $rc, $(cat "$WORK/check.out")"

log "three L2 sites meet at the hub: ARP and ND through the switch"
hub_conf
start_all
ping_ok b 198.19.0.1
ping_ok a 198.19.0.3
ping_ok b 198.19.0.4
ping_ok c 198.19.0.12
ping_ok ha 198.19.0.3
ping_ok c 2001:db8:19::2
ping_ok ha 2001:db8:19::4
ping_ok b 2001:db8:19::1
# a learned b's MAC by ARP through the hub.
n a ip neigh show 198.19.0.3 dev br0 | grep -i "lladdr $(mac b tap0)" >/dev/null ||
	die "a has no ARP entry for b's MAC $(mac b tap0): $(n a ip neigh show dev br0)"

log "a broadcast reaches every station"
for role in h b c ha; do
	n $role sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done
before=$(counter hub flooded)
n a ping -b -c 3 -i 0.3 -W 2 198.19.0.255 >"$WORK/bcast.out" 2>&1 || true
for host in 198.19.0.1 198.19.0.3 198.19.0.4 198.19.0.12; do
	grep -q "from $host:" "$WORK/bcast.out" || die "the broadcast ping got no answer from $host: $(cat "$WORK/bcast.out")"
done
[ "$(counter hub flooded)" -ge $((before + 3)) ] || die "the hub flooded no broadcast"

log "unicast between sites: iperf3, and 4 MB byte-identical from a host behind a's bridge"
iperf_ok b c 198.19.0.4 3
transfer_ok ha c 198.19.0.4 "$WORK/data"
transfer_ok c ha 2001:db8:19::12 "$WORK/data"
[ "$(counter hub forwarded)" -gt 1000 ] || die "hub forwarded too few frames"
counters_zero hub bad_src_mac macs_refused unknown_key bad_tag replayed bad_mac1
log "hub forwarded $(counter_last hub forwarded) frames, flooded $(counter_last hub flooded), holds $(counter_last hub macs) MACs"

log "a frame with a group or all-zero source MAC is dropped at the hub"
# Site b's kernel sends three frames of a local experimental EtherType
# (0x88b5) to the hub's tap0: one from b's own MAC, one from a multicast
# and one from the all-zero MAC.  Only the first may reach the hub's
# device; the others are counted as bad_src_mac and taught the switch
# nothing (no station can own a group address).
capture_start h tap0 "$WORK/src.pcap" ether proto 0x88b5
n b python3 - "$(mac h tap0)" "$(mac b tap0)" <<'PY'
import socket, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
for src in (sys.argv[2].replace(":", ""), "01005e000001", "000000000000"):
    s.send(dst + bytes.fromhex(src) + b"\x88\xb5" + b"culvert source MAC test".ljust(46, b"\0"))
PY
wait_counter hub bad_src_mac 2
wait_for 5 capture_has "$WORK/src.pcap" || die "the frame from b's own MAC never reached the hub's tap0"
sleep 0.5
capture_stop
srcs=$(n h tcpdump -r "$WORK/src.pcap" -n -e 2>/dev/null | awk '/ethertype/ { print $2 }' | sort | tr '\n' ' ')
[ "$srcs" = "$(mac b tap0) " ] || die "the hub's tap0 saw frames from: $srcs (only $(mac b tap0) may pass)"

log "culvertctl show: each peer's learned MACs and traffic"
ctl show "tap0@$(ns h)" --json >"$WORK/hub.json"
python3 - "$WORK/hub.json" "$(mac a br0)" "$(mac ha eth0)" "$(mac b tap0)" "$(mac c tap0)" <<'PY' ||
import json, sys
st = json.load(open(sys.argv[1]))
mac_a, mac_ha, mac_b, mac_c = sys.argv[2:6]
peers = {p["name"]: p for p in st["peers"]}
assert sorted(peers) == ["site-a", "site-b", "site-c"], sorted(peers)
assert mac_a in peers["site-a"]["addresses"], peers["site-a"]["addresses"]
assert mac_ha in peers["site-a"]["addresses"], peers["site-a"]["addresses"]
assert peers["site-b"]["addresses"] == [mac_b], peers["site-b"]["addresses"]
assert peers["site-c"]["addresses"] == [mac_c], peers["site-c"]["addresses"]
for name, p in peers.items():
    assert p["state"] == "established", (name, p["state"])
    assert p["rx_packets"] > 0 and p["tx_packets"] > 0, (name, p)
assert peers["site-a"]["rx_bytes"] > 4 << 20 and peers["site-c"]["tx_bytes"] > 4 << 20
PY
	die "hub status: $(cat "$WORK/hub.json")"

log "a key no [Peer] has is refused"
ctl -n "$(ns b)" link add tap1 type tap
culvertd_start b x --dev tap1 --mode tap --transport udp --mtu 1400 --connect 198.18.2.1:55555 \
	--private-key "$WORK/x.key" --peer-public-key "$(cat "$WORK/h.pub")"
wait_log hub "is no \[Peer\]'s"
culvertd_stop "$PID_x"
ping_ok b 198.19.0.4

for s in c b a hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done

log "PeerToPeer = no: each site reaches the hub only"
hub_conf "PeerToPeer = no"
start_all
ping_ok a 198.19.0.1
ping_ok b 198.19.0.1
# ARP for another site is not flooded now; with b's MAC known to a, the
# unicast reaches the hub, which knows b's MAC and drops it.
n a ip neigh replace 198.19.0.3 lladdr "$(mac b tap0)" dev br0 nud permanent
if n a ping -c 3 -i 0.2 -W 1 198.19.0.3 >/dev/null; then
	die "site-a reached site-b with PeerToPeer = no"
fi
wait_counter_above hub peer_to_peer 2
[ "$(counter_last hub forwarded)" = 0 ] || die "hub forwarded with PeerToPeer = no"
for s in c b a hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done
echo "PASS: hub_tap"
