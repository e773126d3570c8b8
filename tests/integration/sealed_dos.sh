#!/bin/bash
# SPDX-License-Identifier: MIT
# A stranger with no key attacks a sealed tunnel while real traffic crosses
# it; the tunnel must not notice beyond its counters (doc/design.md section
# 3 "DoS").
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24          |
#   |   culvertd --listen   |                 |   culvertd --connect        |
#   |   (:55555)            |                 |   python3: the attacker,    |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24         |
#   +-----------------------+    underlay     +-----------------------------+
#
# The attacker runs beside the real peer, from the same address (only its
# ports differ): the hardest case for limits kept per source address.
#
# tcp: a connect storm of 20 connections a second (connect and close; random
#      bytes; a well-formed frame of initiation size with a bad mac1; one
#      byte and then silence) for 15 s.  No connection may replace the
#      established one; ping loss through the tunnel stays under 5 %.  Then
#      the real peer is killed and restarted during a second storm: its new
#      connection completes a handshake and takes over within 5 s.
# udp: with --rekey-after 5, so handshakes must keep succeeding, a flood of
#      one captured genuine initiation (50 a second) and of random
#      initiation-sized datagrams (50 a second) for 20 s: ping loss under
#      5 %, at least two handshakes during the flood, cookie replies sent;
#      then the real peer, restarted during the flood, is back within 5 s.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed_dos.sh tcp|udp}

two_hosts
for side in a b; do
	keypair $side
done

start_srv() {
	culvertd_start a srv --dev tun0 --transport "$transport" --listen :55555 \
		--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")" "$@"
	wait_log srv "listening"
}
# start_cli NAME ARGS...: the real peer, logging to $WORK/NAME.log.
start_cli() {
	local name=$1
	shift
	culvertd_start b "$name" --dev tun0 --transport "$transport" \
		--connect 198.18.0.1:55555 --private-key "$WORK/b.key" \
		--peer-public-key "$(cat "$WORK/a.pub")" "$@"
}

# ping_loss COUNT: COUNT pings from b through the tunnel, 10 a second;
# prints the loss in whole percent (rounded up).
ping_loss() {
	n b timeout $(($1 / 10 + 20)) ping -c "$1" -i 0.1 -W 1 198.19.0.1 >"$WORK/loss.out" 2>&1 || true
	python3 -c '
import re, sys
m = re.search(r"(\d+) packets transmitted, (\d+) received", open(sys.argv[1]).read())
sent, got = int(m.group(1)), int(m.group(2))
print(-(-(sent - got) * 100 // sent))' "$WORK/loss.out"
}

# attack SECONDS MODE [HEX]: the attacker, in b's namespace, in the
# background (ATTACK_PID).  MODE tcp: the connect storm; udp: floods of HEX
# (a captured initiation) and of random initiation-sized datagrams.
attack() {
	"$CULVERTCTL" netns exec "$(ns b)" -- timeout $(($1 + 10)) python3 -c '
import os, socket, sys, time
secs, mode = float(sys.argv[1]), sys.argv[2]
dst = ("198.18.0.1", 55555)
end = time.monotonic() + secs
held, sent, i = [], 0, 0
if mode == "tcp":
	while time.monotonic() < end:
		i += 1
		try:
			s = socket.create_connection(dst, timeout=1)
		except OSError:
			time.sleep(0.05)
			continue
		kind = i % 4
		try:
			if kind == 1:
				s.send(os.urandom(200))
			elif kind == 2:
				# Type 1, reserved, random: a frame of initiation size.
				s.send(bytes([0, 148, 1, 0, 0, 0]) + os.urandom(144))
			elif kind == 3:
				s.send(b"\x00")
				held.append(s)
				s = None
		except OSError:
			pass
		if s:
			s.close()
		sent += 1
		time.sleep(0.05)
else:
	replay = bytes.fromhex(sys.argv[3])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	while time.monotonic() < end:
		s.sendto(replay, dst)
		s.sendto(bytes([1, 0, 0, 0]) + os.urandom(144), dst)
		sent += 2
		time.sleep(0.02)
print("attacker sent", sent, flush=True)
' "$1" "$2" "${3:-}" >"$WORK/attack.out" 2>&1 &
	ATTACK_PID=$!
}

# wait_rejoin SECONDS: after the real peer restarted, polls (10 a second)
# until a ping crosses the tunnel; prints the time it took, in ms.
wait_rejoin() {
	local start=$EPOCHREALTIME
	wait_for "$1" n b ping -c 1 -W 1 198.19.0.1 || return 1
	python3 -c 'import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' \
		"$start" "$EPOCHREALTIME"
}

if [ "$transport" = tcp ]; then
	start_srv
	start_cli cli
	wait_log cli "session established with"
	ping_ok b 198.19.0.1

	log "connect storm, 15 s, while 120 pings cross the tunnel"
	attack 15 tcp
	loss=$(ping_loss 120)
	wait "$ATTACK_PID" || die "the attacker failed: $(cat "$WORK/attack.out")"
	log "$(cat "$WORK/attack.out"); ping loss during the storm: $loss %"
	[ "$loss" -lt 5 ] || die "ping loss $loss % during the connect storm"
	[ "$(counter srv connections)" = 1 ] || die "a stranger's connection took over"
	[ "$(counter_last srv handshakes)" = 1 ] || die "the storm caused a new handshake"
	refused=$(counter_last srv pending_refused)
	timeouts=$(counter_last srv pending_timeouts)
	evicted=$(counter_last srv pending_evicted)
	mac1=$(counter_last srv bad_mac1)
	log "srv: pending_refused $refused pending_timeouts $timeouts pending_evicted $evicted" \
		"bad_mac1 $mac1"
	[ "$refused" -gt 0 ] || die "no connection was refused for a bad first frame"
	[ "$mac1" -gt 0 ] || die "no bad mac1 counted"
	[ $((timeouts + evicted)) -gt 0 ] || die "silent connections were neither timed out nor evicted"

	log "the real peer killed and restarted during a second storm"
	attack 12 tcp
	sleep 2
	kill -9 "$PID_cli"
	wait "$PID_cli" 2>/dev/null || true
	start_cli cli2
	ms=$(wait_rejoin 10) || die "the restarted peer did not get back in during the storm"
	log "restarted peer back in $ms ms"
	[ "$ms" -le 5000 ] || die "the restarted peer needed $ms ms (more than 5 s)"
	wait "$ATTACK_PID" || die "the attacker failed: $(cat "$WORK/attack.out")"
	[ "$(counter srv connections)" = 2 ] || die "srv: not exactly one takeover"
	culvertd_stop "$PID_cli2"
	culvertd_stop "$PID_srv"
	echo "PASS: sealed TCP under a connect storm"
	exit 0
fi

# udp: capture a genuine initiation from b to a (type 1 in the first byte).
capture_start a veth0 "$WORK/init.pcap" 'udp and dst port 55555 and udp[8] == 1'
start_srv --rekey-after 5
start_cli cli --rekey-after 5
wait_log cli "session established with"
wait_for 5 capture_has "$WORK/init.pcap" || die "no initiation captured"
capture_stop
init=$(pcap_udp_payloads "$WORK/init.pcap" | head -n 1)
[ "${#init}" = 296 ] || die "captured initiation is ${#init} hex digits, not 296 (148 bytes)"
ping_ok b 198.19.0.1

hs=$(counter srv handshakes)
log "flood, 20 s: one captured initiation and random ones, 50 a second each"
attack 20 udp "$init"
loss=$(ping_loss 180)
wait "$ATTACK_PID" || die "the attacker failed: $(cat "$WORK/attack.out")"
log "$(cat "$WORK/attack.out"); ping loss during the flood: $loss %"
[ "$loss" -lt 5 ] || die "ping loss $loss % during the flood"
hs2=$(counter srv handshakes)
cookies=$(counter_last srv cookies_sent)
log "srv: handshakes $hs -> $hs2, cookies_sent $cookies," \
	"replayed_initiation $(counter_last srv replayed_initiation)," \
	"rate_limited $(counter_last srv rate_limited), bad_mac1 $(counter_last srv bad_mac1)"
[ "$hs2" -ge $((hs + 2)) ] || die "only $((hs2 - hs)) handshakes during 20 s with --rekey-after 5"
[ "$cookies" -gt 0 ] || die "no cookie reply under load"
[ "$(counter_last srv bad_mac1)" -ge 500 ] || die "random initiations not counted as bad_mac1"
log "cli: cookies_received $(counter cli cookies_received)"

log "the real peer killed and restarted during a second flood"
attack 12 udp "$init"
sleep 2
kill -9 "$PID_cli"
wait "$PID_cli" 2>/dev/null || true
start_cli cli2 --rekey-after 5
ms=$(wait_rejoin 10) || die "the restarted peer did not get back in during the flood"
log "restarted peer back in $ms ms"
[ "$ms" -le 5000 ] || die "the restarted peer needed $ms ms (more than 5 s)"
wait "$ATTACK_PID" || die "the attacker failed: $(cat "$WORK/attack.out")"
culvertd_stop "$PID_cli2"
culvertd_stop "$PID_srv"
echo "PASS: sealed UDP under a flood of replayed and random initiations"
