#!/bin/bash
# SPDX-License-Identifier: MIT
# The TCP server is killed (SIGKILL: no goodbye) and started again; the
# client reconnects on its own and traffic flows again.  Then the client
# is killed and restarted, and the server takes the new connection.
# Last, the server's device is deleted under it: it exits with status 1.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |         |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24   |
#   +-----------------------+         +-----------------------+
source "$(dirname "$0")/lib.sh"

two_hosts

# The client starts first: the server is not up yet, so it must retry.
culvertd_start b cli --dev tun0 --connect 198.18.0.1:55555
wait_log cli "retrying"
culvertd_start a srv --dev tun0 --listen :55555
wait_log cli "connected to" 15
ping_ok b 198.19.0.1

log "killing the server"
kill -9 "$PID_srv"
wait "$PID_srv" 2>/dev/null || true
# SIGKILL closes the server's socket: a FIN, or a RST when bytes the client
# sent (router solicitations, a ping) were still unread in it.
wait_log cli "closed by the peer\|recv: Connection reset by peer"
! n b ping -c 1 -W 1 198.19.0.1 >/dev/null || die "ping answered with the server dead"
culvertd_start a srv2 --dev tun0 --listen :55555
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
[ "$(counter cli reconnects)" -ge 1 ] || die "client counted no reconnect"

log "killing the client"
kill -9 "$PID_cli"
wait "$PID_cli" 2>/dev/null || true
culvertd_start b cli2 --dev tun0 --connect 198.18.0.1:55555
wait_log cli2 "connected to" 15
ping_ok a 198.19.0.2
[ "$(counter srv2 connections)" -ge 2 ] || die "server did not take the new connection"

log "deleting the server's device under it"
ctl -n "$(ns a)" link del tun0
rc=0
timeout 10 tail --pid="$PID_srv2" -f /dev/null || die "server survived losing its device"
wait "$PID_srv2" || rc=$?
[ "$rc" = 1 ] || die "server exited $rc, not 1, after losing its device"
grep -q "read tun0" "$WORK/srv2.log" || die "server did not say why it stopped"
culvertd_stop "$PID_cli2"
echo "PASS: restart"
