#!/bin/bash
# SPDX-License-Identifier: MIT
# Running culvertd as a service: configuration files, --check-config, the
# status socket (culvertctl show) against what iperf3 moved, and SIGHUP.
#
#     namespace a                          namespace b
#   +--------------------------+       +--------------------------+
#   | tun0 198.19.0.1/24       |       | tun0 198.19.0.2/24       |
#   | culvertd -c a.conf       |       | culvertd -c b.conf       |
#   |   (Listen, TCP)          |       |   (Endpoint, TCP)        |
#   | veth0 198.18.0.1/24      +-------+ veth0 198.18.0.2/24      |
#   +--------------------------+       +--------------------------+
source "$(dirname "$0")/lib.sh"

two_hosts

# culvertd re-reads its file on SIGHUP as nobody: let nobody read it.
chmod o+x "$WORK"
cat >"$WORK/a.conf" <<CONF
# The listening side.
[Interface]
Device = tun0
MTU = 1400
Listen = :55555
User = nobody
Group = nogroup

[Peer]
Transport = tcp
PlainKeepalive = yes
Keepalive = 0
CONF
sed -e 's/^Listen = .*/# no Listen: b connects/' -e 's/^\[Peer\]/[Peer]\nEndpoint = 198.18.0.1:55555/' \
	"$WORK/a.conf" >"$WORK/b.conf"
chmod 0644 "$WORK/a.conf" "$WORK/b.conf"

log "--check-config"
"$CULVERTD" --check-config -c "$WORK/a.conf" >/dev/null || die "a.conf does not validate"
"$CULVERTD" --check-config -c "$WORK/b.conf" >/dev/null || die "b.conf does not validate"
printf '[Interface]\nDevice = tun0\nMTU = 9x\n' >"$WORK/bad.conf"
rc=0
"$CULVERTD" --check-config -c "$WORK/bad.conf" 2>"$WORK/bad.out" || rc=$?
[ "$rc" = 2 ] || die "--check-config of a bad file exited $rc, not 2"
grep -q "bad.conf:3: MTU: '9x' is not a number" "$WORK/bad.out" ||
	die "no FILE:LINE: KEY in: $(cat "$WORK/bad.out")"
has_link a tun1 && die "--check-config touched the system"

# A hub file (issue 13) checks as a format, but this culvertd serves many
# peers, both transports and Transport = auto only sealed
# (tests/integration/hub.sh, hub_tcp.sh, hub_mixed.sh, auto.sh): of a plain
# TCP file it names the line of what it cannot do, with status 2.
refused() {
	local file=$1 want=$2 rc=0
	"$CULVERTD" --check-config -c "$WORK/$file" 2>"$WORK/refused.out" || rc=$?
	[ "$rc" = 2 ] || die "--check-config of $file exited $rc, not 2"
	grep -qF "$file:$want" "$WORK/refused.out" || die "not '$file:$want' in: $(cat "$WORK/refused.out")"
}
log "--check-config refuses the hub's keys in plain TCP"
cp "$WORK/b.conf" "$WORK/hub.conf"
printf '\n[Peer]\nName = second\nEndpoint = 198.18.0.9:55555\n' >>"$WORK/hub.conf"
refused hub.conf "$(grep -c '' "$WORK/b.conf" | awk '{print $1 + 2}'): a second [Peer]: this culvertd serves many peers only sealed"
sed 's/^Keepalive = 0/AllowedIPs = 198.19.0.2/' "$WORK/a.conf" >"$WORK/allowed.conf"
refused allowed.conf "12: AllowedIPs: this culvertd routes by address only sealed"
sed 's/^Listen = .*/&\nTransports = udp, tcp/' "$WORK/a.conf" >"$WORK/both.conf"
refused both.conf "6: Transports = udp,tcp: this culvertd serves both only sealed (PrivateKeyFile)"
sed 's/^Listen = .*/&\nPeerToPeer = no/' "$WORK/a.conf" >"$WORK/p2p.conf"
refused p2p.conf "6: PeerToPeer = no: this culvertd serves one peer"
sed 's/^Transport = tcp/Transport = auto/' "$WORK/b.conf" >"$WORK/auto.conf"
refused auto.conf "$(grep -n '^Transport' "$WORK/b.conf" | cut -d: -f1): Transport = auto: only a sealed one-peer client (PrivateKeyFile, Endpoint, no Listen) falls back from UDP to TCP"
# One listener transport named in [Interface] is today's Transport.
sed -e 's/^Listen = .*/&\nTransports = tcp/' -e '/^Transport = tcp/d' "$WORK/a.conf" >"$WORK/one.conf"
"$CULVERTD" --check-config -c "$WORK/one.conf" >/dev/null || die "one.conf does not validate"

# culvertd_start adds --user nobody; the files say so too, and agree.
culvertd_start a srv -c "$WORK/a.conf"
wait_log srv "listening"
culvertd_start b cli -c "$WORK/b.conf"
wait_log cli "connected to"
ping_ok b 198.19.0.1

log "culvertctl show"
ctl show >"$WORK/show.txt"
grep -q "^interface: tun0 (netns $(ns a))" "$WORK/show.txt" || die "show lists no tun0 in a"
grep -q "^interface: tun0 (netns $(ns b))" "$WORK/show.txt" || die "show lists no tun0 in b"
grep -q "state: connected" "$WORK/show.txt" || die "show: not connected"

# The counters culvertd serves against what iperf3 moved: the device bytes
# are whole IP packets, so they exceed iperf3's payload by the headers only.
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
ctl show "tun0@$(ns a)" --json >"$WORK/before.json"
iperf_ok b a 198.19.0.1 3
moved=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"])' "$WORK/iperf3.json")
ctl show "tun0@$(ns a)" --json >"$WORK/after.json"
rx=$(($(json_field "$WORK/after.json" rx_bytes) - $(json_field "$WORK/before.json" rx_bytes)))
log "iperf3 moved $moved bytes; culvertd a received $rx bytes of packets"
[ "$rx" -ge "$moved" ] || die "culvertd counted $rx bytes, less than iperf3's $moved"
[ "$rx" -le $((moved * 110 / 100 + 1000000)) ] || die "culvertd counted $rx bytes, far above $moved"
[ "$(json_field "$WORK/after.json" state)" = connected ] || die "state not connected"

log "SIGHUP with a changed keepalive"
[ "$(counter cli keepalives_sent)" = 0 ] || die "keepalives sent while Keepalive = 0"
sed -i 's/^Keepalive = 0/Keepalive = 1/' "$WORK/b.conf"
kill -HUP "$PID_cli"
wait_log cli "SIGHUP: configuration re-read (keepalive 1 s"
wait_counter_above srv keepalives_received 0
[ "$(counter cli keepalives_sent)" -gt 0 ] || die "client counted no keepalive"

log "SIGHUP with a broken file changes nothing"
echo "Bogus = 1" >>"$WORK/b.conf"
kill -HUP "$PID_cli"
wait_log cli "keeping the running configuration"
ping_ok b 198.19.0.1

log "SIGHUP with a second [Peer] changes nothing"
sed -i '/^Bogus = 1$/d' "$WORK/b.conf"
printf '[Peer]\nEndpoint = 198.18.0.9:55555\n' >>"$WORK/b.conf"
kill -HUP "$PID_cli"
wait_log cli "a second \[Peer\]: this culvertd serves many peers only sealed (PrivateKeyFile); keeping the running configuration"
ping_ok b 198.19.0.1

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: service"
