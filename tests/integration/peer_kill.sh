#!/bin/bash
# SPDX-License-Identifier: MIT
# A peer killed with SIGKILL (no goodbye) and started again, over TCP or UDP
# (first argument), plain and sealed: first the server, then the client.
# The survivor takes the new peer (and its new handshake) at once, and
# pings through the tunnel answer again within RESUME_S seconds of the
# restart; the measured time is printed.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |         |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24   |
#   +-----------------------+         +-----------------------+
#
# Liveness is on (--keepalive 1 --dead-peer-timeout 3, and
# --plain-keepalive in plain mode), as a deployment that cares about
# recovery sets it: a sealed UDP client whose server restarted keeps
# sealing for keys the new server never had, and only its dead-peer
# detection starts the new handshake.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

transport=${1:?usage: peer_kill.sh tcp|udp}
RESUME_S=5

two_hosts
keypair a
keypair b

# restart ROLE NAME NEW ARGS...: kills daemon NAME with SIGKILL, starts NEW
# in ROLE's namespace with ARGS, and waits for pings from b to answer.
restart() {
	local role=$1 old=$2 new=$3 pid
	shift 3
	pid=$(eval echo "\$PID_$old")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	culvertd_start "$role" "$new" "$@"
	ping_resume b 198.19.0.1 "$RESUME_S"
	log "$transport $mode: $old killed: pings answer again $RESUME_MS ms after the restart"
	ping_ok a 198.19.0.2
}

for mode in plain sealed; do
	keys_a=() keys_b=() live=(--keepalive 1 --dead-peer-timeout 3)
	if [ "$mode" = sealed ]; then
		keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	else
		live+=(--plain-keepalive)
	fi
	srv_args=(--dev tun0 --transport "$transport" --mtu 1400 --listen :55555 "${live[@]}" "${keys_a[@]}")
	cli_args=(--dev tun0 --transport "$transport" --mtu 1400 --connect 198.18.0.1:55555 "${live[@]}" "${keys_b[@]}")
	culvertd_start a srv "${srv_args[@]}"
	wait_log srv "listening"
	culvertd_start b cli "${cli_args[@]}"
	ping_ok b 198.19.0.1

	restart a srv srv2 "${srv_args[@]}"
	restart b cli cli2 "${cli_args[@]}"
	if [ "$transport" = tcp ]; then
		[ "$(counter srv2 connections)" -ge 2 ] || die "server did not take the new connection"
	fi
	if [ "$mode" = sealed ]; then
		# The survivor of the client's restart accepted its initiation.
		v=$(counter srv2 replayed_initiation)
		[ "$v" = 0 ] || die "srv2 refused $v initiations as replayed"
		[ "$(counter_last srv2 handshakes)" -ge 2 ] || die "srv2 completed no second handshake"
	fi
	culvertd_stop "$PID_cli2"
	culvertd_stop "$PID_srv2"
done
if [ "$transport" = udp ]; then
	# Without any liveness option, as WireGuard users run it: the client
	# sends data the restarted server cannot open, hears nothing for
	# Keepalive-Timeout + Rekey-Timeout (15 s) and starts a handshake
	# (WireGuard paper section 6.5); the server, which received data and
	# sent none, owed it a passive keepalive meanwhile.
	keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
	keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	srv_args=(--dev tun0 --transport udp --mtu 1400 --listen :55555 "${keys_a[@]}")
	cli_args=(--dev tun0 --transport udp --mtu 1400 --connect 198.18.0.1:55555 "${keys_b[@]}")
	culvertd_start a srv3 "${srv_args[@]}"
	wait_log srv3 "listening"
	culvertd_start b cli3 "${cli_args[@]}"
	ping_ok b 198.19.0.1
	# One-way data for 17 s (pings to an address a's kernel drops
	# without a word: it forwards nothing): the passive keepalives keep
	# it from looking unanswered, so no handshake is started.  a's kernel
	# must stay silent too: the IPv6 router solicitations it sends on
	# tun0 (at 4, 12, 28 s after the carrier came up) are data, and
	# each one rightly cancels the keepalive owed.
	n a sysctl -qw net.ipv6.conf.tun0.disable_ipv6=1
	hs=$(counter cli3 handshakes)
	n b ping -c 170 -i 0.1 -W 1 198.19.0.77 >/dev/null || true
	[ "$(counter cli3 handshakes)" = "$hs" ] || die "a healthy session rehandshook"
	[ "$(counter srv3 keepalives_sent)" -ge 1 ] || die "srv3 sent no passive keepalive"
	RESUME_S=25
	mode="sealed, no liveness options"
	restart a srv3 srv4 "${srv_args[@]}"
	culvertd_stop "$PID_cli3"
	culvertd_stop "$PID_srv4"
fi
echo "PASS: peers killed and restarted over $transport"
