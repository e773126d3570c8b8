#!/bin/bash
# SPDX-License-Identifier: MIT
# Path MTU over UDP (doc/design.md section 10): a router in the underlay
# whose far link has MTU 1280, a tunnel with MTU 1420, a TCP transfer of
# 8 MB through it each way, plain and sealed.
#
#   namespace a            namespace r (router)            namespace b
#   veth0 198.18.0.1/24 -- ra 198.18.0.254 | rb 198.18.1.254 -- veth0 198.18.1.2/24
#   MTU 1500                  MTU 1500     | MTU 1280           MTU 1280
#   tun0 198.19.0.1/24 (MTU 1420)                      tun0 198.19.0.2/24 (MTU 1420)
#
# Datagrams from a that carry a full 1420-byte packet do not fit rb: r
# answers them with ICMP "fragmentation needed" (DF is set), a's kernel
# notes the path MTU, culvertd reads it from the route and answers the next
# too-long packets from tun0 with ICMP itself, so the sender's TCP lowers its
# segment size and nothing is fragmented or lost for good.  From b the path
# MTU is known at once (its own link).  The transfer must arrive byte for
# byte (sha256), and the counters must show the ICMP messages culvertd sent
# (on one side or both: the first answer also lowers the MSS the other side
# is offered).
#
# PMTU_EXPECT_ICMP=0 runs the same transfer without asserting the counter
# (to measure a build without path MTU handling, bench/README.md).
source "$(dirname "$0")/lib.sh"

expect_icmp=${PMTU_EXPECT_ICMP:-1}

netns_add a r b
veth_pair a veth0 r ra
veth_pair r rb b veth0
ctl -n "$(ns r)" link set rb mtu 1280
ctl -n "$(ns b)" link set veth0 mtu 1280
addr a veth0 198.18.0.1/24
addr r ra 198.18.0.254/24
addr r rb 198.18.1.254/24
addr b veth0 198.18.1.2/24
n a ip route add default via 198.18.0.254
n b ip route add default via 198.18.1.254
n r sysctl -qw net.ipv4.ip_forward=1
for side in a b; do
	ctl -n "$(ns $side)" link add tun0 type tun
done
addr a tun0 198.19.0.1/24
addr b tun0 198.19.0.2/24
keypair a
keypair b
head -c 8M /dev/urandom >"$WORK/data"
want=$(sha256sum <"$WORK/data" | cut -d' ' -f1)

# transfer FROM TO_ROLE TO_ADDR: sends $WORK/data over TCP from FROM to a
# receiver in TO_ROLE; the receiver's byte count and sha256 must match.
transfer() {
	local from=$1 to=$2 dst=$3 got
	rm -f "$WORK/recv.out"
	n "$to" timeout 90 python3 -c '
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001))
s.listen(1)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while True:
	d = c.recv(65536)
	if not d:
		break
	h.update(d)
	n += len(d)
open(sys.argv[2], "w").write("%d %s\n" % (n, h.hexdigest()))' "$dst" "$WORK/recv.out" &
	local rpid=$!
	wait_for 10 test -e "$WORK/recv.out.ready" || die "receiver did not start"
	rm -f "$WORK/recv.out.ready"
	if ! n "$from" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 5001), timeout=30)
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
s.recv(1)' "$dst" "$WORK/data"; then
		kill "$rpid" 2>/dev/null || true
		log "send_error: a $(counter srv send_error), b $(counter cli send_error)"
		die "$from -> $to: the transfer stalled or failed"
	fi
	wait "$rpid" || die "$from -> $to: the receiver failed"
	got=$(cat "$WORK/recv.out")
	[ "$got" = "8388608 $want" ] || die "$from -> $to: received '$got', not 8388608 $want"
	log "$from -> $to: 8 MB arrived intact"
}

for mode in plain sealed; do
	log "udp $mode"
	args=(--dev tun0 --transport udp --mtu 1420)
	a_args=() b_args=()
	if [ "$mode" = sealed ]; then
		a_args=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		b_args=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	fi
	# A fresh path MTU cache: r's ICMP must be needed again.
	n a ip route flush cache
	culvertd_start a srv "${args[@]}" --listen :55555 "${a_args[@]}"
	wait_log srv "listening"
	culvertd_start b cli "${args[@]}" --connect 198.18.0.1:55555 "${b_args[@]}"
	ping_ok b 198.19.0.1
	transfer a b 198.19.0.2
	transfer b a 198.19.0.1
	if [ "$expect_icmp" = 1 ]; then
		a_icmp=$(counter srv pmtu_icmp_sent)
		b_icmp=$(counter cli pmtu_icmp_sent)
		log "ICMP too-big sent into the device: a $a_icmp, b $b_icmp; too_big drops: a $(counter srv too_big), b $(counter cli too_big)"
		# Whichever side first sends a full-size packet answers it;
		# its ICMP then lowers the other side's MSS too.
		[ $((a_icmp + b_icmp)) -gt 0 ] || die "no ICMP fragmentation needed was sent"
		# The path MTU came from r's ICMP: the route shows it cached.
		n a ip route get 198.18.1.2 | grep 'mtu 1280' >/dev/null || die "a's kernel has no path MTU 1280 cached"
	fi
	log "send_error: a $(counter srv send_error), b $(counter cli send_error)"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
done
echo "PASS: path MTU over udp, plain and sealed"
