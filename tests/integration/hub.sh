#!/bin/bash
# SPDX-License-Identifier: MIT
# A sealed UDP TUN hub with three sites (issue 13): cryptokey routing by
# AllowedIPs, sites reaching one another through the hub over IPv4 and
# IPv6, a spoofed source and a destination no peer has dropped and counted,
# a key no [Peer] has refused, per-peer status, and PeerToPeer = no.
#
#                      namespace h: the hub, hub.conf
#                 tun0 198.19.0.1/24 2001:db8:19::1/64
#          va 198.18.1.1   vb 198.18.2.1   vc 2001:db8:18:3::1
#              |               |               |
#   a: veth0 198.18.1.2  b: veth0 198.18.2.2  c: veth0 2001:db8:18:3::2
#   tun0 .2, ::2          tun0 .3, ::3          tun0 .4, ::4
#   --connect (one peer,  --connect (one peer,  c.conf: Listen, the hub as
#   every packet to it)   every packet to it)   its one [Peer] with
#                                               AllowedIPs; the hub calls c
#
# The hub's peers: site-a 198.19.0.2/32 2001:db8:19::2/128, site-b .3/::3,
# site-c .4/::4 (with an Endpoint: the hub initiates).
source "$(dirname "$0")/lib.sh"

hub_sites 6
hub_tun keys
keypair x # a stranger's
head -c 4M /dev/urandom >"$WORK/data"

# hub_conf [EXTRA]: the hub's file, EXTRA lines in [Interface].
hub_conf() {
	cat >"$WORK/hub.conf" <<CONF
[Interface]
Device = tun0
MTU = 1400
PrivateKeyFile = $WORK/h.key
Listen = :55555
Transports = udp
User = nobody
Group = nogroup
${1:-}

[Peer]
Name = site-a
PublicKey = $(cat "$WORK/a.pub")
AllowedIPs = 198.19.0.2/32, 2001:db8:19::2/128

[Peer]
Name = site-b
PublicKey = $(cat "$WORK/b.pub")
AllowedIPs = 198.19.0.3/32
AllowedIPs = 2001:db8:19::3/128

[Peer]
Name = site-c
PublicKey = $(cat "$WORK/c.pub")
AllowedIPs = 198.19.0.4/32, 2001:db8:19::4/128
Endpoint = [2001:db8:18:3::2]:55555
CONF
}
cat >"$WORK/c.conf" <<CONF
[Interface]
Device = tun0
MTU = 1400
PrivateKeyFile = $WORK/c.key
Listen = :55555

[Peer]
Name = hub
PublicKey = $(cat "$WORK/h.pub")
Transport = udp
AllowedIPs = 198.19.0.0/24, 2001:db8:19::/64
CONF

log "--check-config: a hub needs sealed UDP"
hub_conf
"$CULVERTD" --check-config -c "$WORK/hub.conf" >/dev/null || die "hub.conf does not validate"
"$CULVERTD" --check-config -c "$WORK/c.conf" >/dev/null || die "c.conf does not validate"
# A plain hub (no keys) is not served yet: refused at its second [Peer].
sed -e '/^PrivateKeyFile/d' -e '/^PublicKey/d' "$WORK/hub.conf" >"$WORK/plainhub.conf"
rc=0
"$CULVERTD" --check-config -c "$WORK/plainhub.conf" 2>"$WORK/plainhub.out" || rc=$?
[ "$rc" = 2 ] || die "--check-config of a plain hub exited $rc, not 2"
grep -q "plainhub.conf:[0-9]*: a second \[Peer\]: this culvertd serves many peers only sealed" \
	"$WORK/plainhub.out" || die "plain hub refused without the reason: $(cat "$WORK/plainhub.out")"

# start_all: the hub, then the three sites; every site's session comes up.
start_all() {
	culvertd_start h hub -c "$WORK/hub.conf"
	wait_log hub "3 peers"
	for s in a b; do
		culvertd_start $s $s --dev tun0 --transport udp --mtu 1400 \
			--connect "198.18.$([ $s = a ] && echo 1 || echo 2).1:55555" \
			--private-key "$WORK/$s.key" --peer-public-key "$(cat "$WORK/h.pub")"
	done
	culvertd_start c c -c "$WORK/c.conf" --user nobody
	for s in a b c; do
		wait_log $s "session established with" 15
	done
}

log "three sites meet at the hub"
start_all
hub_mesh_ok
counters_zero hub spoofed no_route peer_to_peer unknown_key bad_tag replayed bad_mac1 \
	bad_handshake

log "culvertctl show: every peer, its allowed IPs and its traffic"
ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"
python3 - "$WORK/hub.json" <<'PY' || die "hub status: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
peers = {p["name"]: p for p in st["peers"]}
assert sorted(peers) == ["site-a", "site-b", "site-c"], sorted(peers)
want = {"site-a": ["198.19.0.2/32", "2001:db8:19::2/128"],
        "site-b": ["198.19.0.3/32", "2001:db8:19::3/128"],
        "site-c": ["198.19.0.4/32", "2001:db8:19::4/128"]}
for name, p in peers.items():
    assert p["addresses"] == want[name], (name, p["addresses"])
    assert p["state"] == "established", (name, p["state"])
    assert p["endpoint"], name
    assert p["latest_handshake"] >= 0, name
    assert p["rx_packets"] > 0 and p["tx_packets"] > 0, (name, p)
# site-a sent 4 MB to site-b: at least that much from a and to b.
assert peers["site-a"]["rx_bytes"] > 4 << 20, peers["site-a"]["rx_bytes"]
assert peers["site-b"]["tx_bytes"] > 4 << 20, peers["site-b"]["tx_bytes"]
assert sum(p["rx_packets"] for p in peers.values()) >= st["rx_packets"]
PY
ctl show "tun0@$(ns h)" >"$WORK/hub.txt"
for s in site-a site-b site-c; do
	grep -q "$s" "$WORK/hub.txt" || die "culvertctl show does not name $s"
done

log "a spoofed source is dropped and counted"
addr a tun0 198.19.0.99/32
if n a ping -c 3 -i 0.2 -W 1 -I 198.19.0.99 198.19.0.1 >/dev/null; then
	die "a packet from 198.19.0.99 (not site-a's) was answered"
fi
wait_counter_above hub spoofed 2
ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
a = [p for p in st["peers"] if p["name"] == "site-a"][0]
assert a["drops"]["spoofed"] >= 3, a["drops"]' "$WORK/hub.json" || die "site-a counts no spoofed drop"

log "a destination no peer holds is dropped and counted"
if n h ping -c 2 -i 0.2 -W 1 198.19.0.77 >/dev/null; then
	die "198.19.0.77 answered"
fi
wait_counter_above hub no_route 1

log "a key no [Peer] has is refused"
ctl -n "$(ns a)" link add tun1 type tun
culvertd_start a x --dev tun1 --transport udp --mtu 1400 --connect 198.18.1.1:55555 \
	--private-key "$WORK/x.key" --peer-public-key "$(cat "$WORK/h.pub")"
wait_log hub "is no \[Peer\]'s"
wait_counter_above hub unknown_key 0
culvertd_stop "$PID_x"
ping_ok b 198.19.0.2

for s in c b a hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done

log "PeerToPeer = no: each site reaches the hub only"
hub_conf "PeerToPeer = no"
start_all
ping_ok a 198.19.0.1
ping_ok b 198.19.0.1
if n a ping -c 3 -i 0.2 -W 1 198.19.0.3 >/dev/null; then
	die "site-a reached site-b with PeerToPeer = no"
fi
wait_counter_above hub peer_to_peer 2
[ "$(counter_last hub forwarded)" = 0 ] || die "hub forwarded with PeerToPeer = no"
for s in c b a hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done
echo "PASS: hub"
