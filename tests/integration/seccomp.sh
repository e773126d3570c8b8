#!/bin/bash
# SPDX-License-Identifier: MIT
# culvertd under its own seccomp filter (daemon/sandbox.c): every mode keeps
# working with the filter on, and --no-seccomp / Seccomp = no turn it off.
#
#     namespace a                                 namespace b
#   +-----------------------+                 +-----------------------+
#   | tun0 198.19.0.1/24    |                 | tun0 198.19.0.2/24    |
#   | tap0 198.19.1.1/24    |                 | tap0 198.19.1.2/24    |
#   |   culvertd --listen   |                 |   culvertd -c b.conf  |
#   |   DNS server on :53   |                 |   Endpoint = NAME     |
#   | veth0 198.18.0.1/24   +-----------------+ veth0 198.18.0.2/24   |
#   +-----------------------+                 +-----------------------+
#
# For TUN and TAP, TCP and UDP, plain and sealed (rekeying every 2 s): the
# filter is on in both daemons (Seccomp: 2 in /proc/PID/status), pings and
# iperf3 cross, culvertctl show reads the status socket, sealed sessions
# rekey, and two SIGHUPs re-read the client's file and resolve its Endpoint
# name anew, once over DNS (a server in namespace a; the resolver also sorts
# the two addresses it answers, RFC 6724, netlink included) and once from
# /etc/hosts (/etc/netns/NAME/, bound by culvertctl netns exec); then both
# daemons must exit 0 on SIGTERM.  Any call outside the filter would have
# killed a daemon with SIGSYS on the way.
#
# That a refused call kills is tests/test_sandbox.c's part: from outside
# nothing makes a serving culvertd call what the filter refuses.
source "$(dirname "$0")/lib.sh"

# seccomp_of PID: "MODE FILTERS" from /proc/PID/status (FILTERS 0 on a
# kernel before 5.9, which does not count them).
seccomp_of() {
	awk '/^Seccomp:/ { m = $2 } /^Seccomp_filters:/ { f = $2 } END { print m, f + 0 }' \
		"/proc/$1/status"
}
# Whatever runs this test may be under a filter already (a container, a
# service): the daemon's own is one more.
read -r base_mode base_filters < <(seccomp_of $$)

# start ROLE NAME ARGS...: culvertd_start, after removing NAME's old log,
# which the new daemon's shell truncates only when it gets round to it.
start() {
	rm -f "$WORK/$2.log"
	culvertd_start "$@"
}

# filter_on NAME: daemon NAME runs under exactly one filter more than we do.
filter_on() {
	local pid mode filters
	pid=$(eval echo "\$PID_$1")
	# Logged right after the filter went on.
	wait_log "$1" "seccomp filter on"
	read -r mode filters < <(seccomp_of "$pid")
	[ "$mode" = 2 ] || die "$1: Seccomp: $mode, not 2 (filter)"
	[ "$filters" = 0 ] || [ "$filters" = $((base_filters + 1)) ] ||
		die "$1: $filters seccomp filters, not $((base_filters + 1))"
}

# filter_off NAME: daemon NAME runs under no filter of its own.
filter_off() {
	local pid mode filters
	pid=$(eval echo "\$PID_$1")
	# Logged where the filter would have gone on.
	wait_log "$1" "no seccomp filter"
	read -r mode filters < <(seccomp_of "$pid")
	[ "$mode" = "$base_mode" ] && [ "$filters" = "$base_filters" ] ||
		die "$1: Seccomp: $mode with $filters filters, not $base_mode with $base_filters"
}

# alive NAME: daemon NAME still runs (a filter kill would show here first).
alive() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" && rc=0 || rc=$?
		die "$1 died (exit status $rc; 159 is SIGSYS, the filter)"
	}
}

# rereads NAME: how often daemon NAME has re-read its file on SIGHUP.
rereads() { grep -c "SIGHUP: configuration re-read" "$WORK/$1.log" || true; }
# rereads_above NAME N: true once daemon NAME has re-read it more than N times.
rereads_above() { [ "$(rereads "$1")" -gt "$2" ]; }

# hup NAME PATTERN: SIGHUP to daemon NAME, then waits for its next
# "configuration re-read" line; PATTERN must not be logged meanwhile.
hup() {
	local pid before
	pid=$(eval echo "\$PID_$1")
	before=$(rereads "$1")
	kill -HUP "$pid"
	wait_for 20 rereads_above "$1" "$before" || die "$1 did not re-read its file on SIGHUP"
	alive "$1"
	if grep -q "$2" "$WORK/$1.log"; then
		die "$1 logged: $(grep "$2" "$WORK/$1.log" | tail -n 1)"
	fi
}

two_hosts
for side in a b; do
	ctl -n "$(ns $side)" link add tap0 type tap
done
addr a tap0 198.19.1.1/24
addr b tap0 198.19.1.2/24
keypair a
keypair b

# Name service for b: /etc/hosts knows peer-hosts.culvert.test, and the DNS
# server in a answers peer-dns.culvert.test with 198.18.0.1, twice.
etc="/etc/netns/$(ns b)"
mkdir -p "$etc"
AT_EXIT+=("rm -rf '$etc'")
printf '127.0.0.1 localhost\n198.18.0.1 peer-hosts.culvert.test\n' >"$etc/hosts"
printf 'nameserver 198.18.0.1\noptions timeout:2 attempts:3\n' >"$etc/resolv.conf"
chmod 0644 "$etc/hosts" "$etc/resolv.conf"
n a python3 -c '
import socket, struct, sys
log = open(sys.argv[1], "a", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 53))
log.write("ready\n")
while True:
	q, peer = s.recvfrom(512)
	if len(q) < 12:
		continue
	i, labels = 12, []
	while i < len(q) and q[i]:
		labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
		i += 1 + q[i]
	name, qtype = ".".join(labels).lower(), struct.unpack(">H", q[i + 1:i + 3])[0]
	question = q[12:i + 5]
	log.write("query %s %d\n" % (name, qtype))
	if name != "peer-dns.culvert.test":
		s.sendto(q[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question, peer)
		continue
	answers = [b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + socket.inet_aton("198.18.0.1")] * 2 if qtype == 1 else []
	s.sendto(q[:2] + struct.pack(">HHHHH", 0x8180, 1, len(answers), 0, 0) + question + b"".join(answers), peer)
' "$WORK/dns.log" &
wait_for 10 grep -q ready "$WORK/dns.log" || die "the DNS server did not start"

# b reads its file again on SIGHUP, as nobody.
chmod o+x "$WORK"
endpoint() {
	printf '[Interface]\nDevice = tun0\n[Peer]\nEndpoint = %s:55555\n' "$1" >"$WORK/b.conf"
	chmod 0644 "$WORK/b.conf"
}

for mode in tun tap; do
	if [ "$mode" = tun ]; then o=198.19.0; else o=198.19.1; fi
	for transport in tcp udp; do
		for kind in plain sealed; do
			log "$mode over $transport, $kind"
			common=(--dev "${mode}0" --mode "$mode" --transport "$transport" --mtu 1400)
			sealed_a=() sealed_b=()
			if [ "$kind" = sealed ]; then
				sealed_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
					--rekey-after 2)
				sealed_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
					--rekey-after 2)
			fi
			endpoint peer-hosts.culvert.test
			start a srv "${common[@]}" --listen :55555 "${sealed_a[@]}"
			wait_log srv "listening"
			start b cli -c "$WORK/b.conf" "${common[@]}" "${sealed_b[@]}"
			if [ "$kind" = sealed ]; then
				wait_log cli "session established with"
			elif [ "$transport" = tcp ]; then
				wait_log cli "connected to"
			fi
			filter_on srv
			filter_on cli

			ping_ok b "$o.1"
			ping_ok a "$o.2"
			iperf_ok b a "$o.1" 2
			ctl show >"$WORK/show.txt"
			grep -q "^interface: ${mode}0 (netns $(ns a))" "$WORK/show.txt" ||
				die "culvertctl show lists no ${mode}0 in a"
			if [ "$kind" = sealed ]; then
				n b timeout 30 ping -c 100 -i 0.2 "$o.1" >/dev/null 2>&1 &
				pinger=$!
				wait_counter_above cli rekeys 0 20
				kill "$pinger" 2>/dev/null || true
				wait "$pinger" 2>/dev/null || true
			fi

			# Both names give 198.18.0.1: the endpoint stays.
			endpoint peer-dns.culvert.test
			hup cli "keeping the old endpoint"
			grep -q "query peer-dns.culvert.test 1" "$WORK/dns.log" ||
				die "SIGHUP asked the DNS server nothing"
			endpoint peer-hosts.culvert.test
			hup cli "keeping the old endpoint"
			ping_ok b "$o.1"
			alive srv
			filter_on cli

			culvertd_stop "$PID_cli"
			culvertd_stop "$PID_srv"
			: >"$WORK/dns.log"
		done
	done
done

log "sd_notify under the filter: watchdog pings and STOPPING=1"
# A notification socket of ours, as systemd's for Type=notify with
# WatchdogSec=: culvertd (nobody by then) must be able to write to it.
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
log = open(sys.argv[2], "a", buffering=1)
log.write("ready\n")
while True:
	log.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$WORK/notify.sock" "$WORK/notify.log" &
notify_pid=$!
AT_EXIT+=("kill $notify_pid 2>/dev/null")
wait_for 10 grep -q ready "$WORK/notify.log" || die "the notification socket did not open"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=200000 \
	start a srv --dev tun0 --transport udp --listen :55555
filter_on srv
# The pings come from the event loop every 0.1 s, the filter on.
: >"$WORK/notify.log"
wait_for 10 eval '[ "$(grep -c "^WATCHDOG=1" "$WORK/notify.log")" -ge 3 ]' ||
	die "no watchdog pings under the filter"
culvertd_stop "$PID_srv"
grep -q "^STOPPING=1" "$WORK/notify.log" || die "no STOPPING=1 under the filter"

log "--no-seccomp and Seccomp = no"
start a srv --dev tun0 --transport udp --mtu 1400 --listen :55555 --no-seccomp
wait_log srv "listening"
printf '[Interface]\nDevice = tun0\nSeccomp = no\n[Peer]\nEndpoint = 198.18.0.1:55555\n' >"$WORK/b.conf"
start b cli -c "$WORK/b.conf" --transport udp --mtu 1400
ping_ok b 198.19.0.1
filter_off srv
filter_off cli
# Turning it on takes a restart.
sed -i 's/^Seccomp = no/Seccomp = yes/' "$WORK/b.conf"
kill -HUP "$PID_cli"
wait_log cli "Seccomp changed; that takes a restart"
filter_off cli
culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: seccomp"
