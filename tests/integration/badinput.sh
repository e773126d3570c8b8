#!/bin/bash
# SPDX-License-Identifier: MIT
# Bad input: raw clients send malformed frames; the daemon logs, drops the
# connection (TCP) or the datagram (UDP), writes nothing to its device, and
# goes on serving.
#
#     namespace a                                 namespace b
#   +---------------------------------+       +---------------------------+
#   | tun0 198.19.0.1/24  (tcp :55555) |      | raw bash /dev/tcp clients |
#   | tun1                (udp :55556) |      | tun0 198.19.0.2/24        |
#   | veth0 198.18.0.1/24              +------+ veth0 198.18.0.2/24       |
#   +---------------------------------+       +---------------------------+
source "$(dirname "$0")/lib.sh"

netns_add a b
veth_pair a veth0 b veth0
addr a veth0 198.18.0.1/24
addr b veth0 198.18.0.2/24
ctl -n "$(ns a)" link add tun0 type tun
ctl -n "$(ns a)" link add tun1 type tun
ctl -n "$(ns b)" link add tun0 type tun
addr a tun0 198.19.0.1/24
addr b tun0 198.19.0.2/24

culvertd_start a srv --dev tun0 --listen :55555
culvertd_start a usrv --dev tun1 --transport udp --listen :55556
wait_log srv "listening"
wait_log usrv "listening"

rx_packets() { n a cat "/sys/class/net/$1/statistics/rx_packets"; }
tun0_rx=$(rx_packets tun0)

# raw_tcp NAME: sends what printf makes of the remaining arguments to the
# server, then waits for the server to close the connection.
raw_tcp() {
	local name=$1
	shift
	n b timeout 10 bash -c '
		exec 3<>/dev/tcp/198.18.0.1/55555 || exit 3
		printf "$@" >&3
		# The server must close the connection: read sees EOF (status 0)
		# or a reset (status 1), not the timeout (124).
		timeout 5 cat <&3 >/dev/null
		rc=$?
		[ $rc = 124 ] && exit 4
		exit 0' raw "$@" || die "$name: the server did not close the connection"
}

log "frame with length 0"
raw_tcp zero '\x00\x00\x45\x00'
wait_log srv "bad frame length 0"
log "frame with length 65535 and garbage"
raw_tcp oversize '\xff\xff%s' "$(head -c 3000 /dev/zero | tr '\0' 'x')"
wait_log srv "bad frame length 65535"
[ "$(rx_packets tun0)" = "$tun0_rx" ] || die "a bad frame reached tun0"
[ "$(counter srv bad_frame)" = 2 ] || die "server did not count 2 bad frames"
[ "$(counter srv bad_connections)" = 2 ] || die "server did not count 2 bad connections"

log "half a frame, then the connection closes"
n b timeout 10 bash -c 'exec 3<>/dev/tcp/198.18.0.1/55555; printf "\x00\x64%050d" 0 >&3; exec 3>&-'
wait_log srv "mid-frame"
[ "$(rx_packets tun0)" = "$tun0_rx" ] || die "a partial frame reached tun0"

log "the next client is served"
culvertd_start b cli --dev tun0 --connect 198.18.0.1:55555
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2

log "malformed UDP datagrams"
tun1_rx=$(rx_packets tun1)
n b bash -c '
	printf "\x00\x00" >/dev/udp/198.18.0.1/55556
	printf "\x00\x10short" >/dev/udp/198.18.0.1/55556
	printf "\x00\x01A\x00" >/dev/udp/198.18.0.1/55556'
wait_counter usrv bad_frame 3
[ "$(rx_packets tun1)" = "$tun1_rx" ] || die "a bad datagram reached tun1"
grep -q "peer is" "$WORK/usrv.log" && die "UDP server learned a peer from garbage"

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
culvertd_stop "$PID_usrv"
echo "PASS: bad input"
