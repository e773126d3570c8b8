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
#   | tun2 offloads       (tcp :55557) |      | python3 raw clients       |
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

log "datagrams of frames too short for IPv4, of more than 64 frames"
udp_send b 198.18.0.1 55556 "0001ff" "$(python3 -c '
import struct
# 65 frames of 20 bytes, each a bare IPv4 header: one frame too many.
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20, 1, 0, 64, 253, 0, bytes(4), bytes(4))
print((struct.pack("!H", 20) + hdr).hex() * 65)')"
wait_counter usrv bad_frame 5
[ "$(rx_packets tun1)" = "$tun1_rx" ] || die "a short or crowded datagram reached tun1"
grep -q "peer is" "$WORK/usrv.log" && die "UDP server learned a peer from them"

log "offload frames with hostile virtio-net headers (plain TCP, --plain-offload)"
culvertd_start a osrv --dev tun2 --listen :55557 --plain-offload
wait_log osrv "listening"
tun2_rx=$(rx_packets tun2)
# Over one connection: four frames a kernel must never see (a 64 KiB TSO
# packet with gso_size 1; DATA_VALID; NEEDS_CSUM with csum_offset 17; an
# IPv4 total length that disagrees with the frame), then one good frame
# (no offload, a complete ICMP echo), which must arrive.
n b timeout 10 python3 -c '
import socket, struct
def csum(b):
	if len(b) % 2:
		b += b"\0"
	s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	s = (s >> 16) + (s & 0xffff)
	return ~(s + (s >> 16)) & 0xffff
def ipv4(proto, l4, total=None):
	ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(l4), 1, 0x4000, 64,
		proto, 0, socket.inet_aton("198.19.0.2"), socket.inet_aton("198.19.0.1")))
	ip[10:12] = struct.pack("!H", csum(bytes(ip)))
	return bytes(ip) + l4
def tcp(n, flags=0x10):
	return struct.pack("!HHIIBBHHH", 40000, 9, 1, 1, 5 << 4, flags, 65535, 0, 0) + b"x" * n
def vnet(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, off=0):
	return struct.pack("<BBHHHH", flags, gso, hdr_len, gso_size, start, off)
icmp = bytearray(b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"offload!" * 4)
icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
frames = [
	vnet(1, 1, 40, 1, 20, 16) + ipv4(6, tcp(60000)),
	vnet(2) + ipv4(1, bytes(icmp)),
	vnet(1, 0, 0, 0, 20, 17) + ipv4(6, tcp(100)),
	vnet() + ipv4(1, bytes(icmp), total=20 + len(icmp) + 8),
	vnet() + ipv4(1, bytes(icmp)),
]
s = socket.create_connection(("198.18.0.1", 55557), timeout=5)
for f in frames:
	s.sendall(struct.pack("!H", len(f)) + f)
s.shutdown(socket.SHUT_WR)
s.recv(1)'
wait_counter osrv bad_offload 4
wait_for 10 test "$(rx_packets tun2)" = $((tun2_rx + 1)) ||
	die "tun2 got $(($(rx_packets tun2) - tun2_rx)) packets, not the one good one"

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
culvertd_stop "$PID_usrv"
culvertd_stop "$PID_osrv"
echo "PASS: bad input"
