#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile clients against a plain TCP listener while the real peer is
# connected: slowloris (one byte a second), a valid length prefix and then
# nothing, and connections that send random bytes.  Pings through the
# tunnel keep being answered while each runs, and the server ends up
# serving the real peer again; the loss is printed.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24          |
#   |   culvertd --listen   |         |   culvertd --connect        |
#   |                       |         |   hostile python3 clients   |
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24         |
#   +-----------------------+         +-----------------------------+
#
# A plain listener cannot tell a peer from anyone else by a key, but a new
# connection is on probation beside the established one until its first
# frame holds a valid packet (doc/design.md section 3): none of these
# ever sends one, so none takes over (connections stays as it was), each
# is closed at its deadline, crowded out, or refused for its first frame
# (counted), and the peer loses (almost) no ping.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

HOSTILE_S=10
MAX_LOSS=${HOSTILE_MAX_LOSS:-5}

two_hosts
culvertd_start a srv --dev tun0 --mtu 1400 --listen :55555
wait_log srv "listening"
culvertd_start b cli --dev tun0 --mtu 1400 --connect 198.18.0.1:55555
ping_ok b 198.19.0.1

# hostile NAME PYTHON: runs PYTHON (s is a socket connected to the
# listener, secs the time to go on) in b for HOSTILE_S seconds while b
# pings a through the tunnel every 0.1 s.
hostile() {
	local name=$1 code=$2 loss conns
	conns=$(counter srv connections)
	n b timeout $((HOSTILE_S + 10)) python3 -c '
import os, random, socket, sys, time
secs = float(sys.argv[1])
end = time.monotonic() + secs
def connect():
	return socket.create_connection(("198.18.0.1", 55555), timeout=5)
'"$code" "$HOSTILE_S" >"$WORK/hostile-$name.log" 2>&1 &
	local pid=$!
	loss=$(ping_loss b 198.19.0.1 $((HOSTILE_S * 10)))
	wait "$pid" || {
		cat "$WORK/hostile-$name.log"
		die "$name: the hostile client failed"
	}
	log "$name: $(($(counter srv connections) - conns)) connections, ping loss $loss %"
	[ "$(counter_last srv connections)" = "$conns" ] || die "$name: a hostile connection took over"
	[ "$loss" -le "$MAX_LOSS" ] || die "$name: the peer lost $loss % of its pings"
	ping_ok b 198.19.0.1
}

log "slowloris: a byte a second"
hostile slowloris '
s = connect()
while time.monotonic() < end:
	try:
		s.send(b"\x01")
	except OSError:
		s = connect()
	time.sleep(1)'

log "a valid length prefix (1280 bytes), then nothing"
hostile stall '
socks = []
while time.monotonic() < end:
	s = connect()
	s.send(b"\x05\x00")
	socks.append(s)
	time.sleep(2)'

log "random bytes, a new connection every 0.5 s"
hostile random '
while time.monotonic() < end:
	s = connect()
	try:
		s.sendall(os.urandom(4096))
	except OSError:
		pass
	s.close()
	time.sleep(0.5)'

refused=$(counter srv pending_refused)
timeouts=$(counter_last srv pending_timeouts)
evicted=$(counter_last srv pending_evicted)
log "srv: pending_refused $refused pending_timeouts $timeouts pending_evicted $evicted"
[ "$refused" -ge 1 ] || die "no random first frame was refused"
[ $((timeouts + evicted)) -ge 1 ] || die "no silent connection was timed out or crowded out"
ping_ok a 198.19.0.2
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: hostile clients"
