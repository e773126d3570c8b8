#!/bin/bash
# SPDX-License-Identifier: MIT
# Transport = auto (issue 13): a sealed client starts over UDP, falls back to
# TCP when nftables drops the UDP port on the server (both ways, then one
# way), and returns to UDP when the drop is lifted; data arrives intact on
# every leg.
#
#     namespace a (server)                       namespace b (client)
#   +-----------------------------+          +-----------------------------+
#   | tun0 198.19.0.1/24          |          | tun0 198.19.0.2/24          |
#   | culvertd --listen :55555    |          | culvertd --transport auto   |
#   |   --transports udp,tcp      |          |   --connect 198.18.0.1:55555|
#   | nftables: udp 55555 dropped |          |                             |
#   |   (the middle of the test)  |          |                             |
#   | veth0 198.18.0.1/24         +----------+ veth0 198.18.0.2/24         |
#   +-----------------------------+          +-----------------------------+
#
# The drop is on both directions of the server's UDP port, as a firewall that
# lets only TCP through does.  The client falls back after its initiation
# over UDP goes unanswered for 15 s (the WireGuard timers first notice that
# data goes unanswered: 10 + 5 s), and returns at its next probe (every
# 30 s) once UDP answers.  Then UDP is dropped one way only (the client's
# datagrams): the client answers the server's initiations and none
# completes, which also makes it fall back, and since it had been back on
# UDP for less than 2 min it probes every 60 s.  Bounded by those timers:
# about 3 min.
source "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || die "nft (nftables) is not installed"
two_hosts
for side in a b; do
	keypair $side
done
head -c 4M /dev/urandom >"$WORK/data"

# peer_transport ROLE NAME: the transport `culvertctl show --json` gives the
# one peer of daemon NAME in ROLE's namespace.
peer_transport() {
	ctl show "tun0@$(ns "$1")" --json | python3 -c '
import json, sys
st = json.load(sys.stdin)
print(st["transport"], st["peers"][0]["transport"])'
}

# udp_drop in [out]: nftables in the server's namespace drops datagrams to
# its UDP port (in) and from it (out), in table inet culvert_auto.
udp_drop() {
	local rules="" dir
	for dir in "$@"; do
		if [ "$dir" = in ]; then
			rules+="chain input { type filter hook input priority 0; udp dport 55555 drop; };"
		else
			rules+="chain output { type filter hook output priority 0; udp sport 55555 drop; };"
		fi
	done
	n a nft -f - <<<"table inet culvert_auto { $rules }"
}

log "--check-config: auto is for a sealed one-peer client"
"$CULVERTD" --check-config --dev tun0 --transport auto --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")" >/dev/null ||
	die "a sealed auto client does not validate"
rc=0
"$CULVERTD" --check-config --dev tun0 --transport auto --connect 198.18.0.1:55555 \
	2>"$WORK/refused.out" || rc=$?
[ "$rc" = 2 ] && grep -q "Transport = auto: only a sealed one-peer client" "$WORK/refused.out" ||
	die "a plain auto client was not refused: $rc $(cat "$WORK/refused.out")"

culvertd_start a srv --dev tun0 --mtu 1400 --listen :55555 --transports udp,tcp \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log srv "listening on tcp"
culvertd_start b cli --dev tun0 --mtu 1400 --transport auto --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
wait_log cli "session established with"

log "over udp while udp works"
ping_ok b 198.19.0.1
transfer_ok b a 198.19.0.1 "$WORK/data"
[ "$(peer_transport b)" = "udp,tcp udp" ] || die "client: $(peer_transport b), not udp"
[ "$(peer_transport a)" = "udp,tcp udp" ] || die "server: $(peer_transport a), not udp"

log "nftables drops udp port 55555 on the server: the client falls back to tcp"
udp_drop in out
# Traffic the client must see unanswered (keepalives alone would not show a
# dead path before the dead-peer timer).
n b ping -q -i 0.5 -w 80 198.19.0.1 >/dev/null 2>&1 &
pinger=$!
wait_log cli "falling back to tcp" 60
wait_log srv "peer moves to tcp" 20
kill "$pinger" 2>/dev/null || true
wait "$pinger" 2>/dev/null || true
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
transfer_ok b a 198.19.0.1 "$WORK/data"
transfer_ok a b 198.19.0.2 "$WORK/data"
[ "$(peer_transport b)" = "udp,tcp tcp" ] || die "client: $(peer_transport b), not tcp"
[ "$(peer_transport a)" = "udp,tcp tcp" ] || die "server: $(peer_transport a), not tcp"
[ "$(counter srv accepted)" -ge 1 ] || die "the server accepted no connection"

log "the drop is lifted: the next probe over udp brings both back"
n a nft delete table inet culvert_auto
wait_log cli "moves to udp" 45
wait_log srv "peer moves to udp" 20
ping_ok b 198.19.0.1
transfer_ok a b 198.19.0.2 "$WORK/data"
[ "$(peer_transport b)" = "udp,tcp udp" ] || die "client: $(peer_transport b), not udp"
[ "$(peer_transport a)" = "udp,tcp udp" ] || die "server: $(peer_transport a), not udp"
ctl show "tun0@$(ns b)" --json >"$WORK/cli.json"
python3 - "$WORK/cli.json" <<'PY' || die "client counters: $(cat "$WORK/cli.json")"
import json, sys
p = json.load(open(sys.argv[1]))["peers"][0]
assert p["counters"]["auto_fallbacks"] == 1, p["counters"]
assert p["counters"]["auto_probes"] >= 1, p["counters"]
PY
[ "$(grep -c 'falling back to tcp' "$WORK/cli.log")" = 1 ] || die "more than one fallback"

# log_count NAME PATTERN N [SECONDS]: waits until daemon NAME logged PATTERN
# N times.
log_count() {
	wait_for "${4:-10}" sh -c '[ "$(grep -c -- "$1" "$2")" -ge "$3" ]' - "$2" "$WORK/$1.log" "$3" ||
		die "$1 logged '$2' $(grep -c -- "$2" "$WORK/$1.log") times, not $3"
}

log "udp one way only (the client's datagrams dropped): the server's handshakes never complete"
udp_drop in
# The server's data goes unanswered, so it initiates; the client answers
# each initiation, and no answer arrives.
n a ping -q -i 0.5 -w 80 198.19.0.2 >/dev/null 2>&1 &
pinger=$!
wait_log cli "handshakes answered over udp never complete" 60
# Back on udp for less than 2 min: the probe interval doubles.
wait_log cli "probed every 60 s" 1
log_count srv "peer moves to tcp" 2 20
kill "$pinger" 2>/dev/null || true
wait "$pinger" 2>/dev/null || true
ping_ok a 198.19.0.2
transfer_ok a b 198.19.0.2 "$WORK/data"
n a nft delete table inet culvert_auto
log_count cli "moves to udp" 2 80
log_count srv "peer moves to udp" 2 20
ping_ok b 198.19.0.1
[ "$(peer_transport a)" = "udp,tcp udp" ] || die "server: $(peer_transport a), not udp"

for d in srv cli; do
	counters_zero $d bad_frame dev_write bad_mac1 bad_handshake unknown_key bad_tag \
		out_of_order
done
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
log "OK"
