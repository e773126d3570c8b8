#!/bin/bash
# SPDX-License-Identifier: MIT
# ClampMSS (--clamp-mss): the MSS option of TCP SYNs crossing the tunnel is
# lowered to fit its MTU, both ways, and the checksum stays right.
#
# Both tunnel devices have MTU 1400 (MSS 1360 fits), but the overlay routes
# carry `advmss 1460`, so both kernels offer 1460.  Only b's culvertd clamps:
# the SYN b sends (device -> peer) must reach a's tun0 with MSS 1360, and the
# SYN-ACK from a (peer -> device) must reach b's tun0 with 1360 too; the
# captures are read with tcpdump -v, which also checks the TCP checksums.
# Without --clamp-mss the SYN arrives with 1460.
source "$(dirname "$0")/lib.sh"

two_hosts

# connect_once: a TCP connection from b to a (port 5002), accepted and closed.
connect_once() {
	n a timeout 20 python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.19.0.1", 5002))
s.listen(1)
c, _ = s.accept()
c.close()' &
	local spid=$!
	wait_for 10 n b python3 -c '
import socket
socket.create_connection(("198.19.0.1", 5002), timeout=2).close()' ||
		die "no TCP connection through the tunnel"
	wait "$spid" || true
}

# syn_mss FILE FLAGS: the MSS of the packets with exactly these TCP flags
# ("S" or "S.") in the capture FILE, as tcpdump -v reads them; "bad" when
# tcpdump finds its checksum wrong (each is captured where culvertd wrote it,
# so its checksum is complete).
syn_mss() {
	local line
	line=$(tcpdump -r "$1" -n -v 2>/dev/null | grep "Flags \[$2\]," | head -n 1)
	if grep -q "incorrect" <<<"$line"; then
		echo bad
		return
	fi
	grep -o 'mss [0-9]*' <<<"$line" | cut -d' ' -f2
}

for clamp in yes no; do
	log "--clamp-mss: $clamp"
	extra=()
	[ "$clamp" = yes ] && extra=(--clamp-mss)
	culvertd_start a srv --dev tun0 --transport udp --mtu 1400 --listen :55555
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport udp --mtu 1400 \
		--connect 198.18.0.1:55555 "${extra[@]}"
	ping_ok b 198.19.0.1
	n a ip route replace 198.19.0.0/24 dev tun0 advmss 1460
	n b ip route replace 198.19.0.0/24 dev tun0 advmss 1460
	capture_start a tun0 "$WORK/a.pcap" tcp port 5002
	capture_start b tun0 "$WORK/b.pcap" tcp port 5002
	b_capture=$CAPTURE_PID
	connect_once
	capture_stop
	CAPTURE_PID=$b_capture
	capture_stop
	syn_a=$(syn_mss "$WORK/a.pcap" S)
	synack_b=$(syn_mss "$WORK/b.pcap" S.)
	log "SYN at a: mss $syn_a; SYN-ACK at b: mss $synack_b"
	if [ "$clamp" = yes ]; then
		[ "$syn_a" = 1360 ] || die "the SYN was not clamped to 1360 (mss '$syn_a')"
		[ "$synack_b" = 1360 ] || die "the SYN-ACK was not clamped to 1360 (mss '$synack_b')"
		[ "$(counter cli mss_clamped)" -ge 2 ] || die "mss_clamped did not count both"
	else
		[ "$syn_a" = 1460 ] || die "the SYN was changed without --clamp-mss (mss '$syn_a')"
		[ "$synack_b" = 1460 ] || die "the SYN-ACK was changed without --clamp-mss"
		[ "$(counter cli mss_clamped)" = 0 ] || die "mss_clamped counted without --clamp-mss"
	fi
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
done
echo "PASS: MSS clamp"
