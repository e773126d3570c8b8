#!/bin/bash
# SPDX-License-Identifier: MIT
# A plain hub (Hub = yes, issue 13): over TCP, three clients with no keys, a
# culvertd and two simpletun.py (tests/integration/simpletun.py, an
# independent implementation of the plain frame format, as the classic
# simpletun), meet at one culvertd and reach each other through it.  Each
# connection is a peer of its own: the hub learns the source addresses it
# sends from, shows them per peer, moves an address to the peer that sends
# from it last, bounds how many one peer may teach, and forgets them all
# when the connection closes.  Then the same over UDP (each source
# endpoint a peer, forgotten after its silence) and a TAP hub switching
# two simpletun.py -a clients.
#
#                      namespace h: the hub, culvertd --hub
#                 tun0 198.19.0.1/24 2001:db8:19::1/64
#          va 198.18.1.1   vb 198.18.2.1   vc 2001:db8:18:3::1
#              |               |               |
#   a: veth0 198.18.1.2  b: veth0 198.18.2.2  c: veth0 2001:db8:18:3::2
#   tun0 .2, ::2          tun0 .3, ::3          tun0 .4, ::4
#   culvertd --connect    simpletun.py -c       simpletun.py -c (IPv6)
source "$(dirname "$0")/lib.sh"

hub_sites 6
hub_tun
# simpletun.py, like simpletun, leaves the device as it finds it.
for role in h a b c; do
	ctl -n "$(ns $role)" link set tun0 mtu 1400 up
done
head -c 4M /dev/urandom >"$WORK/data"

# peers_json: the hub's status, as JSON, in $WORK/hub.json.
peers_json() { ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"; }

log "--check-config: Hub = yes is plain, with Listen"
cat >"$WORK/hub.conf" <<CONF
[Interface]
Device = tun0
MTU = 1400
Listen = :55555
Hub = yes
CONF
"$CULVERTD" --check-config -c "$WORK/hub.conf" >/dev/null || die "hub.conf does not validate"
sed '/^Listen/d' "$WORK/hub.conf" >"$WORK/nolisten.conf"
printf '\n[Peer]\nEndpoint = 198.18.1.1:55555\n' >>"$WORK/nolisten.conf"
config_refused nolisten.conf "nolisten.conf:4: \[Interface\] Hub needs Listen"
keypair h
sed "s|^Listen = .*|&\nPrivateKeyFile = $WORK/h.key|" "$WORK/hub.conf" >"$WORK/sealed.conf"
printf '\n[Peer]\nPublicKey = %s\n' "$(cat "$WORK/h.pub")" >>"$WORK/sealed.conf"
config_refused sealed.conf "sealed.conf:6: \[Interface\] Hub is for plain mode"
printf '\n[Peer]\nAllowedIPs = 198.19.0.2/32\n' | cat "$WORK/hub.conf" - >"$WORK/pinned.conf"
config_refused pinned.conf "pinned.conf:7: \[Peer\] of a plain hub (Hub = yes) needs Endpoint"

log "three plain clients meet at the hub"
culvertd_start h hub -c "$WORK/hub.conf"
wait_log hub "listening on tcp"
culvertd_start a a --dev tun0 --mtu 1400 --connect 198.18.1.1:55555
simpletun_start b b -i tun0 -c 198.18.2.1:55555
simpletun_start c c -i tun0 -c "[2001:db8:18:3::1]:55555"
wait_log a "connected to"
# Each client speaks first: the hub learns where its addresses are.
for s in a b c; do
	ping_ok $s 198.19.0.1
done
ping_ok c 2001:db8:19::1
ping_ok a 2001:db8:19::1
log "client to client through the hub"
ping_ok a 198.19.0.3
ping_ok b 198.19.0.4
ping_ok c 198.19.0.2
ping_ok c 2001:db8:19::2
transfer_ok a b 198.19.0.3 "$WORK/data"
transfer_ok b c 198.19.0.4 "$WORK/data"
[ "$(counter hub forwarded)" -gt 1000 ] || die "the hub forwarded too few packets"
# A full output buffer on the hub may drop whole frames for a client
# (backpressure, a router queue's drop that TCP inside recovers from); a
# dropped frame must never break a client's stream (bad_frame).
counters_zero hub spoofed no_route learn_full peers_refused bad_frame
log "hub forwarded $(counter_last hub forwarded) packets between clients"

log "culvertctl show: each connection a peer with the addresses it sent from"
peers_json
python3 - "$WORK/hub.json" <<'PY' || die "hub status: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
peers = {p["endpoint"].rsplit(":", 1)[0]: p for p in st["peers"]}
want = {"198.18.1.2": ["198.19.0.2/32", "2001:db8:19::2/128"],
        "198.18.2.2": ["198.19.0.3/32"],
        "[2001:db8:18:3::2]": ["198.19.0.4/32", "2001:db8:19::4/128"]}
assert sorted(peers) == sorted(want), sorted(peers)
for ep, p in peers.items():
    assert sorted(p["addresses"]) == want[ep], (ep, p["addresses"])
    assert p["transport"] == "tcp" and p["state"] == "connected", (ep, p["state"])
    assert p["rx_packets"] > 0 and p["tx_packets"] > 0, (ep, p)
assert peers["198.18.1.2"]["rx_bytes"] > 4 << 20
assert peers["198.18.2.2"]["tx_bytes"] > 4 << 20
PY

log "a stranger who opens 300 connections fills the hub, but takes no one's place"
rm -f "$WORK/flood.ready"
n h timeout 60 python3 -c '
import socket, sys, time
socks = [socket.create_connection(("198.18.2.1", 55555), timeout=20) for i in range(300)]
open(sys.argv[1], "w").close()
time.sleep(6)' "$WORK/flood.ready" &
FLOOD=$!
wait_for 40 test -e "$WORK/flood.ready" || die "the connection flood did not get its connections"
# 3 clients and 253 of the stranger's: 256 peers; the other 47 refused.
[ "$(counter hub peers_refused)" = 47 ] || die "peers_refused is $(counter_last hub peers_refused), not 47"
ping_ok a 198.19.0.3
ping_ok c 198.19.0.2
wait "$FLOOD" || die "the connection flood failed"
peer_count() {
	peers_json
	python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["peers"]))' "$WORK/hub.json"
}
peers_are() { [ "$(peer_count)" = "$1" ]; }
wait_for 20 peers_are 3 || die "the stranger's connections are not forgotten: $(peer_count) peers"

log "a peer teaches at most 16 addresses"
for i in $(seq 100 116); do
	addr a tun0 198.19.0.$i/32
	n a ping -c 1 -W 1 -I 198.19.0.$i 198.19.0.1 >/dev/null || true
done
wait_counter_above hub learn_full 0
peers_json
python3 - "$WORK/hub.json" <<'PY' || die "learn bound: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
a = [p for p in st["peers"] if p["endpoint"].startswith("198.18.1.2:")][0]
assert len(a["addresses"]) == 16, a["addresses"]
assert a["drops"]["learn_full"] >= 1, a["drops"]
PY

log "a closed connection is forgotten; its client comes back"
# (PID_b is the subshell: the client itself is found by its arguments.)
pkill -f "simpletun.py -i tun0 -c 198.18.2.1:55555"
wait_log hub "peer 198.18.2.2:[0-9]* is gone"
peers_json
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
assert len(st["peers"]) == 2, [p["endpoint"] for p in st["peers"]]' "$WORK/hub.json" ||
	die "the gone peer is still listed"
if n h ping -c 2 -i 0.2 -W 1 198.19.0.3 >/dev/null; then
	die "198.19.0.3 answered with its client gone"
fi
wait_counter_above hub no_route 0
simpletun_start b b -i tun0 -c 198.18.2.1:55555
ping_ok b 198.19.0.1
ping_ok a 198.19.0.3

log "an address moves to the peer that sends from it last"
addr c tun0 198.19.0.3/32
n c ping -c 1 -W 1 -I 198.19.0.3 198.19.0.1 >/dev/null || true
wait_counter hub addr_moves 1
wait_log hub "198.19.0.3/32 moves from 198.18.2.2:[0-9]* to \[2001:db8:18:3::2\]"

culvertd_stop "$PID_a"
culvertd_stop "$PID_hub"
# The hub closed their connections: the simpletun.py clients exit.
for pid in "$PID_b" "$PID_c"; do
	wait "$pid" || die "simpletun.py exited $? when the hub closed its connection"
done

log "a plain UDP hub: each source endpoint a peer, forgotten after its silence"
culvertd_start h hubu --dev tun0 --mtu 1400 --transport udp --listen :55555 --hub \
	--dead-peer-timeout 3
wait_log hubu "listening on udp"
culvertd_start a au --dev tun0 --mtu 1400 --transport udp --connect 198.18.1.1:55555
culvertd_start c cu --dev tun0 --mtu 1400 --transport udp --connect "[2001:db8:18:3::1]:55555"
ping_ok a 198.19.0.1
ping_ok a 2001:db8:19::1
ping_ok c 198.19.0.1
ping_ok a 198.19.0.4
ping_ok c 2001:db8:19::2
transfer_ok c a 198.19.0.2 "$WORK/data"
counters_zero hubu spoofed learn_full peers_refused bad_frame
wait_log hubu "peer 198.18.1.2:[0-9]* is gone" 20
ping_ok a 198.19.0.1
[ "$(grep -c 'peer 198.18.1.2:[0-9]* (udp)' "$WORK/hubu.log")" = 2 ] ||
	die "the UDP client was not made a peer again after it was forgotten"
culvertd_stop "$PID_au"
culvertd_stop "$PID_cu"
culvertd_stop "$PID_hubu"

log "a [Peer] pins its AllowedIPs to the client that connects from its Endpoint"
cat >"$WORK/pinned.conf" <<CONF
[Interface]
Device = tun0
MTU = 1400
Listen = :55555
Hub = yes

[Peer]
Name = site-a
# Over TCP the port is the client's to choose: only the address counts.
Endpoint = 198.18.1.2:1
AllowedIPs = 198.19.0.2/32, 2001:db8:19::2/128
CONF
culvertd_start h hubp -c "$WORK/pinned.conf"
wait_log hubp "listening on tcp"
# Pinned before it connects: the hub knows where 198.19.0.2 is, but there
# is no way to it yet.
if n h ping -c 2 -i 0.2 -W 1 198.19.0.2 >/dev/null; then
	die "198.19.0.2 answered before site-a connected"
fi
wait_counter_above hubp no_peer 0
culvertd_start a ap --dev tun0 --mtu 1400 --connect 198.18.1.1:55555
simpletun_start b bp -i tun0 -c 198.18.2.1:55555
wait_log hubp "connection from 198.18.1.2:[0-9]*, peer site-a"
ping_ok h 198.19.0.2
ping_ok h 2001:db8:19::2
ping_ok b 198.19.0.1
ping_ok b 198.19.0.2
# site-a's sources outside its AllowedIPs are not learned but dropped.
if n a ping -c 2 -i 0.2 -W 1 -I 198.19.0.100 198.19.0.1 >/dev/null; then
	die "site-a's packet from outside its AllowedIPs was answered"
fi
wait_counter_above hubp spoofed 1
# Another client cannot claim site-a's address.
addr b tun0 198.19.0.2/32
if n b ping -c 2 -i 0.2 -W 1 -I 198.19.0.2 198.19.0.1 >/dev/null; then
	die "b's packets from site-a's pinned address were answered"
fi
wait_counter_above hubp spoofed 3
ping_ok a 198.19.0.1
ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"
python3 - "$WORK/hub.json" <<'PY' || die "pinned status: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
a = [p for p in st["peers"] if p["name"] == "site-a"][0]
assert a["addresses"] == ["198.19.0.2/32", "2001:db8:19::2/128"], a["addresses"]
assert a["endpoint"].startswith("198.18.1.2:") and a["state"] == "connected", a
assert a["drops"]["spoofed"] >= 2 and a["drops"]["learn_full"] == 0, a["drops"]
b = [p for p in st["peers"] if p["endpoint"].startswith("198.18.2.2:")][0]
assert b["addresses"] == ["198.19.0.3/32"], b["addresses"]
assert b["drops"]["spoofed"] >= 2, b["drops"]
PY
culvertd_stop "$PID_ap"
wait_log hubp "peer 198.18.1.2:[0-9]* is gone"
# A [Peer] stays when its client goes, with its AllowedIPs.
ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
a = [p for p in st["peers"] if p["name"] == "site-a"][0]
assert a["addresses"] == ["198.19.0.2/32", "2001:db8:19::2/128"], a["addresses"]' "$WORK/hub.json" ||
	die "site-a lost its AllowedIPs with its connection"
culvertd_stop "$PID_hubp"
wait "$PID_bp" || die "simpletun.py exited $? when the hub closed its connection"

log "a plain TAP hub: two simpletun.py -a clients switched through it"
for role in h b c; do
	ctl -n "$(ns $role)" link add tap0 type tap
	ctl -n "$(ns $role)" link set tap0 mtu 1400 up
done
addr h tap0 198.19.1.1/24
addr b tap0 198.19.1.3/24
addr c tap0 198.19.1.4/24
culvertd_start h hubt --dev tap0 --mode tap --mtu 1400 --listen :55556 --hub
wait_log hubt "listening on tcp"
simpletun_start b bt -i tap0 -a -c 198.18.2.1:55556
simpletun_start c ct -i tap0 -a -c "[2001:db8:18:3::1]:55556"
ping_ok b 198.19.1.1
ping_ok b 198.19.1.4
ping_ok c 198.19.1.3
[ "$(counter hubt forwarded)" -gt 0 ] || die "the TAP hub forwarded nothing between clients"
[ "$(counter_last hubt flooded)" -gt 0 ] || die "the TAP hub flooded no broadcast (ARP)"
peers_json() { ctl show "tap0@$(ns h)" --json >"$WORK/hub.json"; }
peers_json
python3 - "$WORK/hub.json" "$(n b cat /sys/class/net/tap0/address)" \
	"$(n c cat /sys/class/net/tap0/address)" <<'PY' || die "TAP hub status: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
macs = sorted(a for p in st["peers"] for a in p["addresses"])
assert macs == sorted(sys.argv[2:]), (macs, sys.argv[2:])
PY
culvertd_stop "$PID_hubt"
log "OK"
