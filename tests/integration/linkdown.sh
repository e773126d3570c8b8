#!/bin/bash
# SPDX-License-Identifier: MIT
# The underlay link goes down for 5 s and comes back, over TCP or UDP
# (first argument), plain and sealed: traffic resumes by itself, and the
# time it takes after the link is up again is printed.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |         |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +----X----+ veth0 198.18.0.2/24   |
#   +-----------------------+  down   +-----------------------+
#                             for 5 s
#
# Liveness is on (--keepalive 1 --dead-peer-timeout 2): both ends give up
# on the silent peer during the outage, so a TCP client is in its reconnect
# backoff (its connects fail at once without a route) when the link comes
# back; the netlink watch (daemon/netwatch.c) must make it reconnect then,
# not when its timer runs out.  Over UDP nothing needs reconnecting.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

transport=${1:?usage: linkdown.sh tcp|udp}
DOWN_S=5

two_hosts
keypair a
keypair b

for mode in plain sealed; do
	keys_a=() keys_b=() live=(--keepalive 1 --dead-peer-timeout 2)
	if [ "$mode" = sealed ]; then
		keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	else
		live+=(--plain-keepalive)
	fi
	log "$mode over $transport"
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen :55555 \
		"${live[@]}" "${keys_a[@]}"
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 \
		--connect 198.18.0.1:55555 "${live[@]}" "${keys_b[@]}"
	ping_ok b 198.19.0.1

	ctl -n "$(ns b)" link set veth0 down
	sleep "$DOWN_S"
	wait_for 5 grep -q "no sign of life" "$WORK/cli.log" || die "the client never noticed the outage"
	ctl -n "$(ns b)" link set veth0 up
	ping_resume b 198.19.0.1 20
	log "$mode over $transport: pings answer again $RESUME_MS ms after the link came up"
	ping_ok a 198.19.0.2
	if [ "$transport" = tcp ]; then
		grep -q "underlay changed: reconnecting" "$WORK/cli.log" ||
			die "the client did not reconnect on the link event"
		[ "$(counter cli reconnects)" -ge 1 ] || die "the client counted no reconnect"
	fi
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
done
echo "PASS: underlay link down and up over $transport"
