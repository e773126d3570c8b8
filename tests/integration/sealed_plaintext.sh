#!/bin/bash
# SPDX-License-Identifier: MIT
# No plaintext on the wire, over TCP or UDP (first argument): pings with a
# known payload cross the tunnel while tcpdump records the underlay; the
# payload must be absent from a sealed run's capture and present in a
# plain run's (so the search itself is shown to work).
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   |   tcpdump -w          |    underlay     |   ping -p PATTERN     |
#   +-----------------------+                 +-----------------------+
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed_plaintext.sh tcp|udp}
# "culvert-secret!!": 16 bytes, the most ping -p repeats through a payload.
pattern=63756c766572742d7365637265742121
pings=20

two_hosts
keypair a
keypair b

# pcap_has FILE HEX: true when the capture FILE holds the bytes HEX anywhere.
pcap_has() {
	python3 -c 'import sys; sys.exit(bytes.fromhex(sys.argv[2]) not in open(sys.argv[1], "rb").read())' "$1" "$2"
}

# run NAME CULVERTD_ARGS...: a tunnel, $pings pings each way with the
# pattern while $WORK/NAME.pcap records the underlay, then the daemons stop.
run() {
	local name=$1 srv_args=() cli_args=() tunnel_pkts
	shift
	if [ "$name" = sealed ]; then
		srv_args=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		cli_args=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	fi
	culvertd_start a srv --dev tun0 --transport "$transport" --listen :55555 "${srv_args[@]}"
	wait_log srv "listening"
	capture_start a veth0 "$WORK/$name.pcap"
	culvertd_start b cli --dev tun0 --transport "$transport" --connect 198.18.0.1:55555 \
		"${cli_args[@]}"
	ping_ok b 198.19.0.1
	n b ping -c "$pings" -i 0.05 -s 200 -p "$pattern" -W 2 198.19.0.1 >"$WORK/ping.out" ||
		die "$name: pings with the pattern lost"
	n a ping -c "$pings" -i 0.05 -s 200 -p "$pattern" -W 2 198.19.0.2 >"$WORK/ping.out" ||
		die "$name: pings with the pattern lost"
	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
	capture_stop
	# The capture really holds the tunnel: at least every pattern ping
	# and its answer went through port 55555.
	tunnel_pkts=$(tcpdump -r "$WORK/$name.pcap" -n "$transport port 55555" 2>/dev/null | wc -l)
	[ "$tunnel_pkts" -ge $((4 * pings)) ] ||
		die "$name: only $tunnel_pkts $transport packets to or from port 55555 captured"
	log "$name: $tunnel_pkts $transport packets of the tunnel captured," \
		"$(stat -c %s "$WORK/$name.pcap") bytes"
}

run plain
pcap_has "$WORK/plain.pcap" "$pattern" || die "plain: the pattern is not in the capture: the search is broken"
log "plain: the pattern is on the wire, as it must be"

run sealed
pcap_has "$WORK/sealed.pcap" "$pattern" && die "sealed: the pattern crossed the underlay in the clear"
grep -q "session established" "$WORK/cli.log" || die "sealed: no session was established"
log "sealed: the pattern is nowhere on the wire"
echo "PASS: sealed $transport carries no plaintext"
