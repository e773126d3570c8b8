#!/bin/bash
# SPDX-License-Identifier: MIT
# Sealed mode with the wrong keys, over TCP or UDP (first argument): the
# tunnel never comes up, no handshake completes on either side, and the
# daemon that can tell says why.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   |   (responder)         |                 |   (initiator)         |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   +-----------------------+                 +-----------------------+
#
# 1. a expects another peer key than b's: a refuses b's static key.
# 2. b expects another key than a's: b's mac1 is keyed with the wrong
#    public key, so a drops the initiation at the first check.
# 3. The preshared keys differ: IKpsk2 mixes the PSK in last, so a answers
#    and b finds the response unauthenticated.
# Then the right keys, to show that the set-up itself was sound.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed_fail.sh tcp|udp}

two_hosts
keypair a
keypair b
keypair stranger
for k in psk_a psk_b; do
	(umask 077 && ctl genpsk >"$WORK/$k.key")
done

# run CASE A_PEER_KEY B_PEER_KEY A_PSK B_PSK: a tunnel with these keys.
run() {
	local name=$1 a_peer=$2 b_peer=$3 a_psk=$4 b_psk=$5
	log "$name"
	culvertd_start a srv --dev tun0 --transport "$transport" --listen :55555 \
		--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/$a_peer.pub")" \
		${a_psk:+--preshared-key "$WORK/$a_psk.key"}
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport "$transport" --connect 198.18.0.1:55555 \
		--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/$b_peer.pub")" \
		${b_psk:+--preshared-key "$WORK/$b_psk.key"}
}

# refused CASE NAME PATTERN: in the tunnel run() started, daemon NAME logs
# PATTERN, four seconds of pings get no answer (the client retries its
# handshake within that time), and neither side completes a handshake.
refused() {
	local name=$2 pattern=$3 rc=0
	wait_log "$name" "$pattern" 15
	n b ping -c 8 -i 0.5 -w 4 -W 1 198.19.0.1 >"$WORK/ping.out" 2>&1 || rc=$?
	# 1: no reply, as opposed to 2, an error of ping's own.
	[ "$rc" = 1 ] || {
		cat "$WORK/ping.out"
		die "$1: ping exited $rc, not 1 (no reply)"
	}
	for d in srv cli; do
		[ "$(counter $d handshakes)" = 0 ] || die "$1: $d completed a handshake"
		grep -q "session established" "$WORK/$d.log" && die "$1: $d established a session"
	done
	log "$name says: $(grep -m 1 -- "$pattern" "$WORK/$name.log" | sed 's/.*culvertd: //')"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
}

run "a expects another peer" stranger a "" ""
refused "a expects another peer" srv "rejected: its static key is not --peer-public-key"
[ "$(counter_last srv unknown_key)" -ge 1 ] || die "srv counted no unknown_key"

run "b expects another peer" b stranger "" ""
refused "b expects another peer" srv "rejected: bad mac1 (does the peer have our public key?)"
[ "$(counter_last srv bad_mac1)" -ge 1 ] || die "srv counted no bad_mac1"

run "different preshared keys" b a psk_a psk_b
refused "different preshared keys" cli \
	"handshake response from 198.18.0.1:55555 failed authentication (do the preshared keys match?)"
[ "$(counter_last cli bad_handshake)" -ge 1 ] || die "cli counted no bad_handshake"

run "the same preshared key on both sides" b a psk_a psk_a
wait_log cli "session established with"
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: sealed mode refuses wrong keys over $transport"
