#!/bin/bash
# SPDX-License-Identifier: MIT
# Plain mode has no authentication: --allow-from / AllowFrom fences the
# listener.  A stranger outside it can neither take the TCP connection over
# nor redirect a UDP tunnel; each refusal is counted (not_allowed), and a
# SIGHUP with a new AllowFrom takes effect at once.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24          |
#   |   culvertd --listen   |                 |   culvertd --connect        |
#   |   --allow-from        |                 |   (from 198.18.0.2)         |
#   |      198.18.0.2/32    |                 |   python3 stranger          |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24         |
#   +-----------------------+    underlay     |       198.18.0.3/24 too     |
#                                             +-----------------------------+
source "$(dirname "$0")/lib.sh"

two_hosts
addr b veth0 198.18.0.3/24
# culvertd re-reads its file on SIGHUP as nobody.
chmod o+x "$WORK"
for side in a b; do
	n $side sysctl -qw net.ipv6.conf.tun0.disable_ipv6=1
done

# The command line: a bad prefix is a usage error naming the option;
# without --listen there is nothing to fence.
rc=0
out=$("$CULVERTD" --check-config --dev tun9 --listen :1 --allow-from 198.18.0.1/33 2>&1) || rc=$?
[ "$rc" = 2 ] || die "--allow-from 198.18.0.1/33: exit $rc, not 2"
[ "$out" = "culvertd: --allow-from: '198.18.0.1/33' is not an address prefix (ADDR or ADDR/LEN, no host bits set after LEN)" ] ||
	die "unexpected message: $out"
rc=0
out=$("$CULVERTD" --check-config --dev tun9 --connect 198.18.0.1:1 --allow-from 198.18.0.0/15 2>&1) || rc=$?
[ "$rc" = 2 ] && [ "$out" = "culvertd: command line: [Interface] AllowFrom needs Listen (it fences the listener)" ] ||
	die "--allow-from without --listen: exit $rc: $out"
"$CULVERTD" --check-config --dev tun9 --listen :1 --allow-from 198.18.0.0/15 \
	--allow-from 2001:db8::/32 >/dev/null || die "two --allow-from refused"

rx_packets() { n a cat /sys/class/net/tun0/statistics/rx_packets; }

# stranger tcp|udp: from 198.18.0.3, a connection (which sends a frame
# holding an ICMP echo to 198.19.0.1) or the same frame as a datagram.
stranger() {
	n b timeout 10 python3 -c '
import socket, struct, sys
def csum(b):
	s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	s = (s >> 16) + (s & 0xffff)
	return ~(s + (s >> 16)) & 0xffff
icmp = bytearray(b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"stranger" * 4)
icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
	socket.inet_aton("198.19.0.99"), socket.inet_aton("198.19.0.1")))
ip[10:12] = struct.pack("!H", csum(bytes(ip)))
pkt = bytes(ip) + bytes(icmp)
frame = struct.pack("!H", len(pkt)) + pkt
dst = ("198.18.0.1", 55555)
if sys.argv[1] == "tcp":
	s = socket.socket()
	s.bind(("198.18.0.3", 0))
	s.settimeout(5)
	s.connect(dst)
	try:
		s.sendall(frame)
		# The listener closes it at once: EOF (or a reset).
		print("closed" if s.recv(1) == b"" else "open")
	except OSError:
		print("closed")
else:
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("198.18.0.3", 0))
	for i in range(10):
		s.sendto(frame, dst)
	print("sent")
' "$1"
}

for transport in tcp udp; do
	log "plain $transport, --allow-from 198.18.0.2/32"
	cat >"$WORK/a.conf" <<-EOF
		[Interface]
		Device = tun0
		Listen = :55555
		AllowFrom = 198.18.0.2/32
		[Peer]
		Transport = $transport
	EOF
	chmod 0644 "$WORK/a.conf"
	culvertd_start a srv -c "$WORK/a.conf"
	wait_log srv "listening"
	culvertd_start b cli --dev tun0 --transport $transport --connect 198.18.0.1:55555
	ping_ok b 198.19.0.1
	rx=$(rx_packets)
	out=$(stranger $transport)
	if [ "$transport" = tcp ]; then
		[ "$out" = closed ] || die "the stranger's connection was not closed: $out"
		wait_counter srv not_allowed 1
	else
		wait_counter srv not_allowed 10
	fi
	[ "$(rx_packets)" = "$rx" ] || die "the stranger's packet reached tun0"
	# The real peer is still served: no takeover, no redirection.
	ping_ok b 198.19.0.1
	[ "$(counter srv connections)" = "$([ $transport = tcp ] && echo 1 || echo 0)" ] ||
		die "connections changed"
	grep -q "peer is 198.18.0.3" "$WORK/srv.log" && die "the tunnel followed the stranger"

	log "SIGHUP: AllowFrom = 198.18.0.3/32 shuts the real peer out"
	sed -i 's|^AllowFrom = .*|AllowFrom = 198.18.0.3/32, 2001:db8::/32|' "$WORK/a.conf"
	before=$(counter srv not_allowed)
	kill -HUP "$PID_srv"
	wait_log srv "SIGHUP: configuration re-read"
	if [ "$transport" = tcp ]; then
		wait_log srv "outside AllowFrom now: closing it"
	fi
	n b ping -c 3 -i 0.2 -W 1 198.19.0.1 >/dev/null 2>&1 && die "pings crossed after SIGHUP"
	[ "$(counter srv not_allowed)" -gt "$before" ] || die "the refused peer was not counted"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
	log "srv: not_allowed $(counter_last srv not_allowed)"
done
echo "PASS: AllowFrom fences plain TCP and UDP listeners"
