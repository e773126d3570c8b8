#!/bin/bash
# SPDX-License-Identifier: MIT
# Replayed, forged and garbage datagrams against a sealed UDP tunnel: each
# is dropped and counted under its own reason, none reaches the device, and
# the tunnel goes on working.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24          |
#   |   culvertd --listen   |                 |   culvertd --connect        |
#   |   (udp :55555)        |                 |   python3: replays, forgeries|
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24         |
#   |   tcpdump, nft        |    underlay     |                             |
#   +-----------------------+                 +-----------------------------+
#
# tcpdump on a's veth0 captures b's sealed transport datagrams (type byte
# 4) before a's firewall sees them, so a datagram can be captured and held
# back from the daemon at once.  Only IPv4 runs over the tunnel: IPv6 is off
# on tun0, so nothing but the test's own packets reaches the devices and
# a's rx_packets is exact.
source "$(dirname "$0")/lib.sh"

two_hosts
for side in a b; do
	n $side sysctl -qw net.ipv6.conf.tun0.disable_ipv6=1
	keypair $side
done

culvertd_start a srv --dev tun0 --transport udp --listen :55555 \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log srv "listening"
culvertd_start b cli --dev tun0 --transport udp --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
wait_log cli "session established with"
ping_ok b 198.19.0.1

rx_packets() { n a cat /sys/class/net/tun0/statistics/rx_packets; }
# A transport message from b to a: type 4 in the first payload byte.
filter='udp and dst port 55555 and udp[8] == 4'

# capture_one NAME: one ping from b through the tunnel, its sealed datagram
# captured on the underlay into $WORK/NAME.pcap; prints the datagram in hex.
# The ping may get no answer (when the test holds the datagram back).
capture_one() {
	capture_start a veth0 "$WORK/$1.pcap" "$filter"
	n b ping -c 1 -W 1 198.19.0.1 >/dev/null || true
	wait_for 5 capture_has "$WORK/$1.pcap" || true
	capture_stop
	pcap_udp_payloads "$WORK/$1.pcap" | head -n 1
}

# flip HEX OFFSET: HEX with the byte at OFFSET xor 0x01.
flip() {
	python3 -c 'import sys; b = bytearray.fromhex(sys.argv[1]); b[int(sys.argv[2])] ^= 1; print(b.hex())' "$1" "$2"
}

# rejected_total: replayed and stale together (a replay inside the window
# is "replayed", one behind it "stale": either is the right answer).
rejected_total() { echo $(($(counter srv replayed) + $(counter_last srv stale))); }
rejected_is() { [ "$(rejected_total)" = "$1" ]; }
rx_is() { [ "$(rx_packets)" = "$1" ]; }

log "replay of a datagram the daemon already took"
msg=$(capture_one delivered)
# 16-byte header, at least a 20-byte IPv4 packet, 16-byte tag.
[ "${#msg}" -ge $(((16 + 20 + 16) * 2)) ] || die "captured no transport datagram ('$msg')"
[ "${msg:0:8}" = 04000000 ] || die "captured datagram is not a transport message: ${msg:0:8}"
log "captured ${#msg} hex digits, counter 0x${msg:16:16}"
rx=$(rx_packets)
before=$(rejected_total)
udp_send b 198.18.0.1 55555 "$msg"
wait_for 10 rejected_is $((before + 1)) || die "the replay was not counted once"
[ "$(rx_packets)" = "$rx" ] || die "a replayed datagram reached tun0"
log "replayed $(counter_last srv replayed) stale $(counter_last srv stale)"

log "forged datagrams"
# Hold one datagram back from the daemon, so its counter is fresh: then
# only the tag can tell a forgery from the real thing.
n a nft add table inet hold
n a nft add chain inet hold input '{ type filter hook input priority 0; }'
n a nft add rule inet hold input udp dport 55555 drop
held=$(capture_one held)
n a nft delete table inet hold
[ "${held:0:8}" = 04000000 ] || die "captured no held-back transport datagram"
rx=$(rx_packets)
bad_tag=$(counter srv bad_tag)
# One bit of the ciphertext (byte 20: inside the IPv4 header) ...
udp_send b 198.18.0.1 55555 "$(flip "$held" 20)"
wait_counter srv bad_tag $((bad_tag + 1))
# ... one bit of the last tag byte ...
udp_send b 198.18.0.1 55555 "$(flip "$held" $((${#held} / 2 - 1)))"
wait_counter srv bad_tag $((bad_tag + 2))
# ... and bit 16 of the counter (byte 13), authenticated as associated
# data and used as the nonce: a counter ahead of the window, so only the
# tag can refuse it.
udp_send b 198.18.0.1 55555 "$(flip "$msg" 13)"
wait_counter srv bad_tag $((bad_tag + 3))
[ "$(rx_packets)" = "$rx" ] || die "a forged datagram reached tun0"
# The forgeries did not move the replay window: the genuine held-back
# datagram, late but inside the window, still gets through, once.
udp_send b 198.18.0.1 55555 "$held"
wait_for 10 rx_is $((rx + 1)) || die "the genuine held-back datagram did not arrive"
before=$(rejected_total)
udp_send b 198.18.0.1 55555 "$held"
wait_for 10 rejected_is $((before + 1)) || die "the second copy was not counted"
[ "$(rx_packets)" = $((rx + 1)) ] || die "a replayed datagram reached tun0"
log "bad_tag $(counter srv bad_tag), replayed $(counter_last srv replayed)," \
	"stale $(counter_last srv stale); the held-back datagram arrived once"

log "garbage: 50 initiations with random bytes, 10 transport messages to no session"
mac1=$(counter srv bad_mac1)
unknown=$(counter_last srv unknown_index)
rx=$(rx_packets)
garbage=()
for i in $(seq 50); do
	# Type 1, three reserved zero bytes, then 144 random bytes: the
	# length of an initiation, so it gets as far as the mac1 check.
	garbage+=("01000000$(head -c 144 /dev/urandom | od -An -v -tx1 | tr -d ' \n')")
done
udp_send b 198.18.0.1 55555 "${garbage[@]}"
wait_counter srv bad_mac1 $((mac1 + 50))
# Type 4 to the complement of the live receiver index: an index the
# daemon does not have (it holds one keypair, no rekey has happened).
index=$(printf '%08x' $((0x${msg:8:8} ^ 0xffffffff)))
garbage=()
for i in $(seq 10); do
	garbage+=("04000000$index$(head -c 80 /dev/urandom | od -An -v -tx1 | tr -d ' \n')")
done
udp_send b 198.18.0.1 55555 "${garbage[@]}"
wait_counter srv unknown_index $((unknown + 10))
[ "$(rx_packets)" = "$rx" ] || die "garbage reached tun0"
log "bad_mac1 $(counter srv bad_mac1) unknown_index $(counter_last srv unknown_index)" \
	"rate_limited $(counter_last srv rate_limited) malformed $(counter_last srv malformed)"
grep -q "handshake from 198.18.0.2:[0-9]* rejected: bad mac1" "$WORK/srv.log" ||
	die "server did not warn about the bad mac1"
[ "$(grep -c 'rejected: bad mac1' "$WORK/srv.log")" = 1 ] ||
	die "server warned more than once in 10 s about bad mac1"
# None of it was the peer: the session and its endpoint are untouched.
ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
[ "$(counter srv handshakes)" = 1 ] || die "garbage caused a new handshake"

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: sealed replay, forgery and garbage"
