#!/bin/bash
# SPDX-License-Identifier: MIT
# Wire compatibility with simpletun: culvertd's plain TCP mode against
# tests/integration/simpletun.py, a second, independent implementation of
# the simpletun frame format (a 2-byte big-endian length, then the packet).
# culvertd listens and simpletun.py connects, then the other way round;
# each way a ping, and 4 MiB of random data through the tunnel in both
# directions, byte-identical.  Then a TAP round with pings.
#
#     namespace a                         namespace b
#   +-----------------------+         +-----------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24    |
#   | tap0 198.19.1.1/24    |         | tap0 198.19.1.2/24    |
#   |   culvertd | simpletun.py       |   simpletun.py | culvertd
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24   |
#   +-----------------------+         +-----------------------+
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

# round LABEL NAME: pings and 4 MiB each way through tun0; culvertd NAME
# (the end that is not simpletun.py) counted no bad frame.
round() {
	ping_ok b 198.19.0.1
	ping_ok a 198.19.0.2
	xfer_ok b a 198.19.0.1 4 60
	xfer_ok a b 198.19.0.2 4 60
	[ "$(counter "$2" bad_frame)" = 0 ] || die "$1: culvertd counted bad frames"
	[ "$(counter_last "$2" dev_write)" = 0 ] || die "$1: culvertd failed device writes"
}

two_hosts
for side in a b; do
	ctl -n "$(ns $side)" link add tap0 type tap
done
addr a tap0 198.19.1.1/24
addr b tap0 198.19.1.2/24
# simpletun.py, like simpletun, leaves the device as it finds it: up,
# with the MTU culvertd is given on the other end.
for side in a b; do
	for dev in tun0 tap0; do
		ctl -n "$(ns $side)" link set "$dev" mtu 1400 up
	done
done

log "culvertd listens, simpletun.py connects"
culvertd_start a srv --dev tun0 --mtu 1400 --listen :55555
wait_log srv "listening"
simpletun_start b cli -i tun0 -c 198.18.0.1:55555
round "culvertd server" srv
culvertd_stop "$PID_srv"
# The server went away: simpletun.py sees the connection closed, exits 0.
wait "$PID_cli" || die "simpletun.py exited $? when culvertd closed"

log "simpletun.py listens, culvertd connects"
simpletun_start a srv -i tun0 -s 55555
wait_log srv "listening"
culvertd_start b cli --dev tun0 --mtu 1400 --connect 198.18.0.1:55555
round "simpletun.py server" cli
culvertd_stop "$PID_cli"
wait "$PID_srv" || die "simpletun.py exited $? when culvertd closed"

log "TAP: culvertd listens, simpletun.py -a connects"
culvertd_start a srv --dev tap0 --mode tap --mtu 1400 --listen :55555
wait_log srv "listening"
simpletun_start b cli -i tap0 -a -c 198.18.0.1:55555
ping_ok b 198.19.1.1
ping_ok a 198.19.1.2
[ "$(counter srv bad_frame)" = 0 ] || die "TAP: culvertd counted bad frames"
culvertd_stop "$PID_srv"
wait "$PID_cli" || die "simpletun.py -a exited $? when culvertd closed"
echo "PASS: simpletun wire compatibility"
