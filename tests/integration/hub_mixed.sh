#!/bin/bash
# SPDX-License-Identifier: MIT
# A sealed TUN hub serving UDP and TCP on one port (Transports = udp, tcp;
# issue 13): sites over UDP (IPv4 and IPv6 underlay) and over TCP reach the
# hub and one another through it, files arrive intact between a UDP and a
# TCP site, and a site that comes back over the other transport moves its
# peer there (UDP -> TCP -> UDP) while the others go on, and a [Peer]
# Transport, set by SIGHUP, pins a peer: the other transport is refused.
# A sealed message copied off site-b's TCP stream and sent to the hub as a
# datagram (an attacker on the path) is refused before decryption
# (wrong_transport): it is neither decrypted nor moves the peer nor costs
# site-b its connection.
#
#                 namespace h: the hub, hub.conf (Transports = udp, tcp)
#                 tun0 198.19.0.1/24 2001:db8:19::1/64
#          va 198.18.1.1   vb 198.18.2.1   vc 2001:db8:18:3::1
#              |               |               |
#   a: veth0 198.18.1.2  b: veth0 198.18.2.2  c: veth0 2001:db8:18:3::2
#   tun0 .2, ::2          tun0 .3, ::3          tun0 .4, ::4
#   --transport udp       --transport tcp       --transport udp
source "$(dirname "$0")/lib.sh"

hub_sites 6
hub_tun keys
head -c 4M /dev/urandom >"$WORK/data"

hub_site_conf "udp, tcp" >"$WORK/hub.conf"
"$CULVERTD" --check-config -c "$WORK/hub.conf" >/dev/null || die "hub.conf does not validate"

# site ROLE TRANSPORT HUB_ADDR [NAME]: a site's culvertd, one peer (the hub).
site() {
	culvertd_start "$1" "${4:-$1}" --dev tun0 --transport "$2" --mtu 1400 --connect "$3" \
		--private-key "$WORK/$1.key" --peer-public-key "$(cat "$WORK/h.pub")"
}

# transports: the hub's interface transport, then each peer's, by name.
transports() {
	ctl show "tun0@$(ns h)" --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
print(st["transport"], " ".join("%s=%s" % (p["name"], p["transport"]) for p in st["peers"]))'
}

log "sites over udp and tcp meet at one port"
culvertd_start h hub -c "$WORK/hub.conf"
wait_log hub "listening on tcp"
wait_log hub "listening on udp"
site a udp 198.18.1.1:55555
site b tcp 198.18.2.1:55555
site c udp "[2001:db8:18:3::1]:55555"
for s in a b c; do
	wait_log $s "session established with" 15
done
hub_mesh_ok
want="udp,tcp site-a=udp site-b=tcp site-c=udp"
[ "$(transports)" = "$want" ] || die "hub: '$(transports)', not '$want'"
counters_zero hub spoofed no_route unknown_key bad_tag replayed bad_mac1 bad_frame \
	out_of_order wrong_transport

log "a message copied off site-b's TCP stream into a datagram is refused"
# The first TCP segment from b to the hub whose payload begins with a frame
# holding a transport message (type 4 after the 2-byte length).
capture_start h vb "$WORK/stream.pcap" \
	'tcp and src host 198.18.2.2 and dst port 55555 and tcp[((tcp[12] & 0xf0) >> 2) + 2] == 4'
ping_ok b 198.19.0.1
wait_for 5 capture_has "$WORK/stream.pcap" || true
capture_stop
# The segment's payload begins with the frame: its 2-byte length, then
# the message (sed, not head: no SIGPIPE for the writer under pipefail).
seg=$(pcap_payloads tcp "$WORK/stream.pcap" | sed -n 1p)
[ "${#seg}" -ge 4 ] || die "captured no segment off b's stream ('$seg')"
flen=$((16#${seg:0:4}))
msg=${seg:4:$((flen * 2))}
[ "$flen" -ge 32 ] && [ "${#msg}" = $((flen * 2)) ] ||
	die "captured no whole frame off b's stream ('$seg')"
[ "${msg:0:8}" = 04000000 ] || die "captured no transport message off b's stream ('$msg')"
before=$(counter hub wrong_transport)
udp_send b 198.18.2.1 55555 "$msg"
# Refused before decryption: counted once, under this reason alone.
wait_counter_above hub wrong_transport "$before"
[ "$(counter_last hub wrong_transport)" = $((before + 1)) ] ||
	die "wrong_transport went from $before to $(counter_last hub wrong_transport), not by 1"
want="udp,tcp site-a=udp site-b=tcp site-c=udp"
[ "$(transports)" = "$want" ] || die "hub: '$(transports)', not '$want'"
counters_zero hub bad_tag replayed out_of_order
counters_zero b reconnects out_of_order
ping_ok b 198.19.0.1
log "refused: wrong_transport $(counter_last hub wrong_transport); site-b keeps its tcp connection"

log "site-a comes back over tcp: its peer moves; the others go on"
culvertd_stop "$PID_a"
site a tcp 198.18.1.1:55555 a2
wait_log hub "peer site-a moves to tcp" 15
ping_ok a 198.19.0.3
ping_ok c 198.19.0.2
transfer_ok b a 198.19.0.2 "$WORK/data"
want="udp,tcp site-a=tcp site-b=tcp site-c=udp"
[ "$(transports)" = "$want" ] || die "hub: '$(transports)', not '$want'"

log "and back over udp: the first datagram under its new keypair moves it"
culvertd_stop "$PID_a2"
site a udp 198.18.1.1:55555 a3
wait_log hub "peer site-a moves to udp" 15
ping_ok a 198.19.0.4
transfer_ok a b 198.19.0.3 "$WORK/data"
want="udp,tcp site-a=udp site-b=tcp site-c=udp"
[ "$(transports)" = "$want" ] || die "hub: '$(transports)', not '$want'"
counters_zero hub spoofed unknown_key bad_tag replayed bad_mac1 bad_frame out_of_order

log "[Peer] Transport pins a peer: SIGHUP pins site-c to udp, site-b to tcp"
chmod o+x "$WORK"
sed -e '/^Name = site-c/a Transport = udp' -e '/^Name = site-b/a Transport = tcp' \
	"$WORK/hub.conf" >"$WORK/hub.conf.new"
chmod 0644 "$WORK/hub.conf.new"
mv "$WORK/hub.conf.new" "$WORK/hub.conf"
"$CULVERTD" --check-config -c "$WORK/hub.conf" >/dev/null || die "the pinned hub.conf does not validate"
kill -HUP "$PID_hub"
wait_log hub "SIGHUP"
sleep 1
ping_ok b 198.19.0.4
# A second daemon with site-c's key over tcp (and one with site-b's over
# udp): refused, counted; the pinned peers keep their sessions.
ctl -n "$(ns c)" link add tun1 type tun
culvertd_start c c2 --dev tun1 --transport tcp --mtu 1400 --connect "[2001:db8:18:3::1]:55555" \
	--private-key "$WORK/c.key" --peer-public-key "$(cat "$WORK/h.pub")"
ctl -n "$(ns b)" link add tun1 type tun
culvertd_start b b2 --dev tun1 --transport udp --mtu 1400 --connect 198.18.2.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/h.pub")"
wait_counter_above hub wrong_transport_initiations 1 20
wait_counter_above hub pending_refused 0
culvertd_stop "$PID_c2"
culvertd_stop "$PID_b2"
want="udp,tcp site-a=udp site-b=tcp site-c=udp"
[ "$(transports)" = "$want" ] || die "hub: '$(transports)', not '$want'"
ping_ok c 198.19.0.3
ping_ok b 198.19.0.2

for s in c b a3 hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done
log "OK"
