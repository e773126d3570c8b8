#!/bin/bash
# SPDX-License-Identifier: MIT
# Rekeying under load, over TCP or UDP (first argument): with a new
# handshake every 5 s, a 30 s iperf3 run crosses six or so key changes
# without an error, then pings on the idle tunnel cross two more without a
# loss.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   |   culvertd --listen   |                 |   culvertd --connect  |
#   |   --rekey-after 5     |                 |   --rekey-after 5     |
#   |   iperf3 -s           |                 |   iperf3 -c, ping     |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   +-----------------------+                 +-----------------------+
#
# The old keypair keeps decrypting for a while after each handshake
# (doc/design.md section 3), so nothing in flight is refused at a key change:
# bad_tag and the other failure counters stay 0.
source "$(dirname "$0")/lib.sh"

transport=${1:?usage: sealed_rekey.sh tcp|udp}
secs=30

two_hosts
keypair a
keypair b

culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen :55555 \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")" --rekey-after 5
wait_log srv "listening"
culvertd_start b cli --dev tun0 --transport "$transport" --mtu 1400 --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")" --rekey-after 5
wait_log cli "session established with"
ping_ok b 198.19.0.1

# Pings every 0.2 s beside iperf3's full load, for information only: a
# saturated tunnel drops at the device queue (doc/design.md section 1), so a
# lost ping here says nothing about the key changes.
n b timeout $((secs + 30)) ping -c $((secs * 5)) -i 0.2 -W 2 198.19.0.1 >"$WORK/load-ping.out" 2>&1 &
ping_pid=$!
iperf_ok b a 198.19.0.1 "$secs"
wait "$ping_pid" || true
log "pings under load: $(grep -o '[0-9]* received, [0-9.]*% packet loss' "$WORK/load-ping.out")"

# On an idle tunnel, 11 s of pings cross two key changes: every one must
# come back, so neither side drops a packet while keys change.
before=$(counter cli rekeys)
n b ping -c 110 -i 0.1 -W 2 198.19.0.1 >"$WORK/idle-ping.out" 2>&1 || {
	tail -n 3 "$WORK/idle-ping.out"
	die "pings were lost across key changes"
}
log "pings across key changes: $(grep -o '[0-9]* received, [0-9.]*% packet loss' "$WORK/idle-ping.out")"
[ "$(counter cli rekeys)" -ge $((before + 2)) ] || die "no two rekeys during 11 s of pings"

for d in srv cli; do
	counters_zero $d bad_frame dev_write bad_mac1 bad_handshake unknown_key \
		replayed_initiation bad_tag replayed stale out_of_order
	hs=$(counter_last $d handshakes)
	rk=$(counter_last $d rekeys)
	log "$d: handshakes $hs rekeys $rk expired $(counter_last $d expired)" \
		"unknown_index $(counter_last $d unknown_index) no_session $(counter_last $d no_session)"
	# About 45 s at one handshake per 5 s: 9; the timers' jitter may
	# cost one.
	[ "$hs" -ge 7 ] || die "$d: only $hs handshakes in about 45 s with --rekey-after 5"
	[ "$rk" -ge 6 ] || die "$d: only $rk rekeys"
done
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: sealed rekeying under load over $transport"
