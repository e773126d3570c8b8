#!/bin/bash
# SPDX-License-Identifier: MIT
# Liveness over a sealed UDP tunnel: roaming, keepalives, dead-peer detection.
#
#     namespace a                          namespace b
#   +--------------------------+       +-------------------------------+
#   | tun0 198.19.0.1/24       |       | tun0 198.19.0.2/24            |
#   | culvertd --listen        |       | culvertd --connect            |
#   | veth0 198.18.0.1/24      +-------+ veth0 198.18.0.2/24           |
#   +--------------------------+       |   then 198.18.0.3/24 (roams)  |
#                                      +-------------------------------+
#
# 1. b's underlay address changes: the server follows the source of the
#    latest authenticated datagram and traffic resumes.
# 2. b goes silent (SIGSTOP): a's dead-peer detection fires; b comes back
#    (SIGCONT) and so does the session.
source "$(dirname "$0")/lib.sh"

two_hosts
keypair a
keypair b

culvertd_start a srv --dev tun0 --transport udp --mtu 1400 --listen :55555 \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")" \
	--keepalive 1 --dead-peer-timeout 3
wait_log srv "listening"
culvertd_start b cli --dev tun0 --transport udp --mtu 1400 --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")" --keepalive 1
wait_log cli "session established"
ping_ok b 198.19.0.1
grep -q "peer is 198.18.0.2:" "$WORK/srv.log" || die "server did not learn b's endpoint"

log "b roams to 198.18.0.3"
# Deleted first: deleting a primary address also deletes the secondary
# addresses of its subnet (unless promote_secondaries is set).
ctl -n "$(ns b)" addr del 198.18.0.2/24 dev veth0
ctl -n "$(ns b)" addr add 198.18.0.3/24 dev veth0
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
wait_log srv "peer is 198.18.0.3:"

log "keepalives flow while idle"
ka=$(counter cli keepalives_sent)
sleep 2.5
[ "$(counter cli keepalives_sent)" -gt "$ka" ] || die "no keepalive sent in 2.5 s of idleness"
[ "$(counter srv keepalives_received)" -gt 0 ] || die "server received no keepalive"

log "b goes silent"
kill -STOP "$PID_cli"
wait_log srv "no sign of life from 198.18.0.3" 10
[ "$(counter srv dead_peer)" -ge 1 ] || die "server counted no dead peer"
kill -CONT "$PID_cli"
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: roaming and liveness"
