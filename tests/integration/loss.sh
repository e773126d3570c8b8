#!/bin/bash
# SPDX-License-Identifier: MIT
# Underlay loss over TCP or UDP (first argument), plain and sealed: with 5 %
# and then 20 % of the underlay's packets lost each way at random
# (nftables, on the receiving side), a file of random data sent through the
# tunnel over TCP arrives byte-identical.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   |   receiver :5201      |                 |   sender              |
#   | veth0 198.18.0.1/24   +--- N % lost ----+ veth0 198.18.0.2/24   |
#   +-----------------------+   each way      +-----------------------+
#
# Over TCP the underlay's own retransmissions hide the loss from the
# tunnel; over UDP the tunnel loses packets and the inner TCP recovers
# them.  Either way nothing may arrive changed, and no loss may show as a
# bad frame or a failed authentication.
#
# UDP at 20 % runs with --no-offload: nftables drops a UDP GSO send (up to
# 64 datagrams, a whole TSO packet) as one skb, which no wire does, and the
# inner TCP's recovery from 20 % of such bursts each way took from 0.2 s
# to over 120 s for 2 MiB in trials.  At 5 % the default offloads stay on.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

transport=${1:?usage: loss.sh tcp|udp}
MIB=${LOSS_MIB:-4}

two_hosts
keypair a
keypair b

for mode in plain sealed; do
	keys_a=() keys_b=()
	if [ "$mode" = sealed ]; then
		keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	fi
	for pct in 5 20; do
		extra=()
		[ "$transport$pct" = udp20 ] && extra=(--no-offload)
		log "$mode over $transport, $pct % loss each way ${extra[*]}"
		culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 \
			--listen :55555 "${extra[@]}" "${keys_a[@]}"
		wait_log srv "listening"
		culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
			--connect 198.18.0.1:55555 "${extra[@]}" "${keys_b[@]}"
		ping_ok b 198.19.0.1
		# The inner TCP's retransmission timeout starts at 20 ms, not
		# 200 ms, on this sub-millisecond path: its exponential backoff
		# would otherwise make the run's length a matter of luck.
		for side in a b; do
			n $side ip route replace 198.19.0.0/24 dev tun0 rto_min 20ms
		done
		loss_set a "$pct"
		loss_set b "$pct"
		log "ping: $(ping_loss b 198.19.0.1 50) % lost"
		xfer_ok b a 198.19.0.1 "$MIB" 100
		log "underlay packets dropped: a $(loss_dropped a), b $(loss_dropped b)"
		[ "$(loss_dropped a)" -gt 0 ] && [ "$(loss_dropped b)" -gt 0 ] ||
			die "the loss rule dropped nothing"
		loss_set a 0
		loss_set b 0
		# A datagram the tunnel lost is gone; none may have arrived
		# broken.
		for d in srv cli; do
			v=$(counter $d bad_frame)
			[ "$v" = 0 ] || die "$d counted $v bad frames"
			[ "$(counter_last $d dev_write)" = 0 ] || die "$d failed device writes"
			if [ "$mode" = sealed ]; then
				for f in bad_tag replayed bad_handshake; do
					v=$(counter_last $d $f)
					[ "$v" = 0 ] || die "$d: $f is $v"
				done
			fi
		done
		culvertd_stop "$PID_cli"
		culvertd_stop "$PID_srv"
	done
done
echo "PASS: loss over $transport"
