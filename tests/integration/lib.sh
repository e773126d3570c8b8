# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests (sourced, not run).
#
# Every test builds its own network namespaces with culvertctl, named
# "cv<pid>-<role>", and a trap deletes them and every daemon it started on
# any exit.  Addresses come only from 198.18.0.0/15 and 2001:db8::/32.
# Waits poll with a deadline instead of sleeping; a test never fails on a
# time, only on a deadline for something that should happen at all.

set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CULVERTD=${CULVERTD:-$HERE/../../build/daemon/culvertd}
CULVERTCTL=${CULVERTCTL:-$HERE/../../build/tools/culvertctl}
PFX="cv$$"
WORK=$(mktemp -d "/tmp/culvert-test.XXXXXX")
# Status sockets of this test's daemons (culvertctl show reads the same).
export CULVERT_RUNDIR="$WORK/run"
mkdir -p "$CULVERT_RUNDIR"
NAMESPACES=()
DAEMONS=()
AT_EXIT=() # commands cleanup runs last, e.g. to restore what a test changed

log() { printf '# %s\n' "$*"; }
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	local rc=$? pid ns cmd
	set +e
	for pid in "${DAEMONS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${DAEMONS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		# Whatever still runs in the namespace (iperf3 servers) goes too.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		"$CULVERTCTL" netns del "$ns" 2>/dev/null || ip netns del "$ns" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		for f in "$WORK"/*.log; do
			[ -e "$f" ] || continue
			echo "---- $(basename "$f")"
			tail -n 40 "$f"
		done
	fi
	for cmd in "${AT_EXIT[@]}"; do
		eval "$cmd"
	done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ctl ARGS...: culvertctl, bounded in time like everything here.
ctl() { timeout 20 "$CULVERTCTL" "$@"; }

# ns ROLE: the full namespace name of ROLE.
ns() { printf '%s-%s' "$PFX" "$1"; }

# n ROLE CMD...: runs CMD inside ROLE's namespace.
n() {
	local role=$1
	shift
	"$CULVERTCTL" netns exec "$(ns "$role")" -- "$@"
}

# netns_add ROLE...: makes namespaces with loopback up.
netns_add() {
	local role
	for role in "$@"; do
		ctl netns add "$(ns "$role")"
		NAMESPACES+=("$(ns "$role")")
		ctl -n "$(ns "$role")" link set lo up
	done
}

# veth_pair ROLE_A DEV_A ROLE_B DEV_B: a veth from ROLE_A's namespace to
# ROLE_B's, both ends up.
veth_pair() {
	ctl -n "$(ns "$1")" link add "$2" type veth peer "$4" netns "$(ns "$3")"
	ctl -n "$(ns "$1")" link set "$2" up
	ctl -n "$(ns "$3")" link set "$4" up
}

# two_hosts: the usual topology: namespaces a and b joined by veth0
# (198.18.0.1/24 and .2/24, the underlay), each with a persistent tun0
# (198.19.0.1/24 and .2/24, the overlay) for culvertd to attach to.
two_hosts() {
	local side
	netns_add a b
	veth_pair a veth0 b veth0
	addr a veth0 198.18.0.1/24
	addr b veth0 198.18.0.2/24
	for side in a b; do
		ctl -n "$(ns $side)" link add tun0 type tun
	done
	addr a tun0 198.19.0.1/24
	addr b tun0 198.19.0.2/24
}

# hub_sites [6]: a hub's topology: namespaces h (the hub) and its sites a,
# b and c, each joined to h by a veth pair (h's end va, vb or vc, the
# site's veth0): a on 198.18.1.0/24, b on 198.18.2.0/24, c on
# 198.18.3.0/24, or with 6 on 2001:db8:18:3::/64 (h .1 or ::1, the site
# .2 or ::2).
hub_sites() {
	local i=1 role
	netns_add h a b c
	for role in a b c; do
		veth_pair h v$role $role veth0
		if [ $role = c ] && [ "${1:-}" = 6 ]; then
			addr h vc 2001:db8:18:3::1/64
			addr c veth0 2001:db8:18:3::2/64
		else
			addr h v$role 198.18.$i.1/24
			addr $role veth0 198.18.$i.2/24
		fi
		i=$((i + 1))
	done
}

# hub_tun [keys]: a persistent tun0 in h, a, b and c (hub_sites) with the
# overlay addresses 198.19.0.1 .. .4/24 and 2001:db8:19::1 .. ::4/64, in
# that order; with "keys", a key pair each (keypair).
hub_tun() {
	local i=1 role
	for role in h a b c; do
		ctl -n "$(ns $role)" link add tun0 type tun
		addr $role tun0 198.19.0.$i/24 2001:db8:19::$i/64
		[ "${1:-}" != keys ] || keypair $role
		i=$((i + 1))
	done
}

# hub_site_peers: the [Peer] sections of a hub's file for sites a, b and c
# (hub_tun's keys and addresses, each site's IPv4 and IPv6 host route).
hub_site_peers() {
	local i=2 role
	for role in a b c; do
		printf '\n[Peer]\nName = site-%s\nPublicKey = %s\nAllowedIPs = 198.19.0.%s/32, 2001:db8:19::%s/128\n' \
			$role "$(cat "$WORK/$role.pub")" $i $i
		i=$((i + 1))
	done
}

# hub_site_conf TRANSPORTS: a sealed TUN hub's file for sites a, b and c
# (hub_tun's keys and addresses) on stdout, listening on :55555 with
# Transports = TRANSPORTS.
hub_site_conf() {
	printf '[Interface]\nDevice = tun0\nMTU = 1400\nPrivateKeyFile = %s\nListen = :55555\nTransports = %s\n' \
		"$WORK/h.key" "$1"
	hub_site_peers
}

# hub_mesh_ok: sites a, b and c (hub_tun's addresses) reach the hub (the
# daemon named "hub") and one another through it over IPv4 and IPv6, and
# $WORK/data arrives intact from a to b and from c to a (over IPv6).
hub_mesh_ok() {
	local s
	for s in a b c; do
		ping_ok $s 198.19.0.1
		ping_ok $s 2001:db8:19::1
	done
	log "site to site through the hub"
	ping_ok a 198.19.0.3
	ping_ok a 198.19.0.4
	ping_ok b 198.19.0.4
	ping_ok c 198.19.0.2
	ping_ok b 2001:db8:19::2
	ping_ok c 2001:db8:19::3
	transfer_ok a b 198.19.0.3 "$WORK/data"
	transfer_ok c a 2001:db8:19::2 "$WORK/data"
	[ "$(counter hub forwarded)" -gt 1000 ] || die "hub forwarded too few packets"
	log "hub forwarded $(counter_last hub forwarded) packets between sites"
}

# config_refused FILE PATTERN: culvertd --check-config of $WORK/FILE exits
# 2 with PATTERN (grep) in its message.
config_refused() {
	local rc=0
	"$CULVERTD" --check-config -c "$WORK/$1" 2>"$WORK/refused.out" >/dev/null || rc=$?
	[ "$rc" = 2 ] || die "--check-config of $1 exited $rc, not 2"
	grep -q -- "$2" "$WORK/refused.out" || die "$1 refused without the reason: $(cat "$WORK/refused.out")"
}

# simpletun_start ROLE NAME ARGS...: tests/integration/simpletun.py (a
# second, independent implementation of the plain frame format) in ROLE's
# namespace, logging to $WORK/NAME.log; sets PID_NAME (the subshell: the
# client exits when its connection closes).
simpletun_start() {
	local role=$1 name=$2
	shift 2
	n "$role" python3 -u "$HERE/simpletun.py" "$@" >"$WORK/$name.log" 2>&1 &
	DAEMONS+=("$!")
	eval "PID_$name=$!"
}

# addr ROLE DEV ADDR/PLEN...: adds addresses (IPv6 ones are usable at once).
addr() {
	local role=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		ctl -n "$(ns "$role")" addr add "$a" dev "$dev"
	done
}

# culvertd_start ROLE NAME ARGS...: starts culvertd in ROLE's namespace, as
# nobody after set-up (so every test also proves the privilege drop),
# logging to $WORK/NAME.log; sets DAEMON_PID.
culvertd_start() {
	local role=$1 name=$2
	shift 2
	# A simple command, not a function, so $! is culvertctl, which execs
	# culvertd in place: signals go to the daemon itself.
	"$CULVERTCTL" netns exec "$(ns "$role")" -- "$CULVERTD" -v --user nobody --group nogroup "$@" \
		>"$WORK/$name.log" 2>&1 &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
	eval "PID_$name=$DAEMON_PID"
}

# culvertd_stop PID: stops one daemon with SIGTERM; it must exit 0.
culvertd_stop() {
	local rc=0
	kill "$1"
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || die "culvertd (pid $1) exited $rc on SIGTERM"
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_log NAME PATTERN [SECONDS]: waits until daemon NAME logged PATTERN.
wait_log() {
	wait_for "${3:-10}" grep -q -- "$2" "$WORK/$1.log" || die "$1 never logged '$2'"
}

# has_link ROLE DEV: true when DEV exists in ROLE's namespace.
has_link() { n "$1" test -e "/sys/class/net/$2"; }

# ping_ok ROLE ADDR: three pings that must all come back; the first may
# have to wait for ARP/ND and a connection, so wait_for retries it.
ping_ok() {
	local role=$1 dst=$2
	wait_for 15 n "$role" ping -c 1 -W 1 "$dst" || die "$role cannot reach $dst"
	n "$role" ping -c 3 -i 0.2 -W 2 "$dst" >"$WORK/ping.out" || {
		cat "$WORK/ping.out"
		die "$role: pings to $dst lost"
	}
	log "$role -> $dst: $(grep -o 'rtt.*' "$WORK/ping.out")"
}

# iperf_ok CLIENT SERVER_ROLE SERVER_ADDR SECONDS [-R]: one iperf3 TCP run
# across the tunnel; fails unless data arrived.  Prints the rate.
iperf_ok() {
	local client=$1 server=$2 dst=$3 secs=$4 rev=${5:-} out bytes
	n "$server" iperf3 -s -1 -D -I "$WORK/iperf3.pid" >/dev/null
	wait_for 5 test -s "$WORK/iperf3.pid" || die "iperf3 server did not start"
	# The server may take a moment to bind.
	sleep 0.2
	out="$WORK/iperf3.json"
	if ! timeout $((secs + 20)) "$CULVERTCTL" netns exec "$(ns "$client")" -- \
		iperf3 -c "$dst" -t "$secs" -J $rev >"$out" 2>&1; then
		tail -n 20 "$out"
		die "iperf3 $client -> $dst failed"
	fi
	bytes=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' "$out")
	[ "$bytes" -gt 1000000 ] || die "iperf3 $client -> $dst moved only $bytes bytes"
	log "iperf3 $client -> $dst${rev:+ (reverse)}: $(python3 -c 'import json,sys; print("%.1f Mbit/s" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e6))' "$out")"
	rm -f "$WORK/iperf3.pid"
}

# stats_lines NAME: how many counter lines daemon NAME has logged.
stats_lines() { grep -c ' rx .* packets' "$WORK/$1.log" || true; }

# counter NAME FIELD: asks daemon NAME for its counters (SIGUSR1) and prints
# one of them from the line it logs ("... FIELD N ...").  Run inside $(),
# so a failure prints FAIL and an empty value, which no test accepts.
counter() {
	local pid before
	pid=$(eval echo "\$PID_$1")
	before=$(stats_lines "$1")
	kill -USR1 "$pid"
	local deadline=$((SECONDS + 10))
	until [ "$(stats_lines "$1")" -gt "$before" ]; do
		[ "$SECONDS" -lt "$deadline" ] || die "$1 did not log its counters"
		sleep 0.1
	done
	counter_last "$1" "$2"
}

# wait_counter NAME FIELD VALUE [SECONDS]: polls daemon NAME's counter FIELD
# until it equals VALUE.
wait_counter() {
	local deadline=$((SECONDS + ${4:-10})) v
	while v=$(counter "$1" "$2") && [ "$v" != "$3" ]; do
		[ "$SECONDS" -lt "$deadline" ] || die "$1: $2 is $v, not $3"
		sleep 0.2
	done
}

# keypair ROLE: a new sealed-mode key pair, $WORK/ROLE.key (mode 0600, as
# culvertd demands of key files) and $WORK/ROLE.pub.
keypair() {
	(umask 077 && ctl genkey >"$WORK/$1.key")
	ctl pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}

# overlay_traffic UNDERLAY: over a tunnel between a (198.19.0.1,
# 2001:db8:19::1) and b (.2, ::2), pings both ways on both
# overlay families, then iperf3 both ways on the overlay family of UNDERLAY
# (an IPv4 underlay carries IPv4, an IPv6 one IPv6).
overlay_traffic() {
	ping_ok b 198.19.0.1
	ping_ok a 198.19.0.2
	ping_ok b 2001:db8:19::1
	ping_ok a 2001:db8:19::2
	if [ "$1" = 198.18.0.1 ]; then
		iperf_ok b a 198.19.0.1 5
		iperf_ok b a 198.19.0.1 5 -R
	else
		iperf_ok b a 2001:db8:19::1 5
		iperf_ok b a 2001:db8:19::1 5 -R
	fi
}

# counter_last NAME FIELD: FIELD from the counter line daemon NAME logged
# last, without asking for a new one: after one `counter`, the other fields
# of the same snapshot.
counter_last() {
	grep ' rx .* packets' "$WORK/$1.log" | tail -n 1 | grep -o " $2 [0-9]*" | head -n 1 | cut -d' ' -f3
}

# counters_zero NAME FIELD...: one snapshot of daemon NAME's counters in
# which every FIELD is 0.
counters_zero() {
	local name=$1 f v
	shift
	counter "$name" rx >/dev/null
	for f in "$@"; do
		v=$(counter_last "$name" "$f")
		[ "$v" = 0 ] || die "$name: $f is '$v', not 0"
	done
}

# capture_start ROLE DEV FILE [FILTER...]: tcpdump on DEV in ROLE's
# namespace, whole packets into FILE (pcap); returns once it listens and
# sets CAPTURE_PID.  --immediate-mode: no packet may wait in the kernel's
# ring buffer when the capture stops.  -Z root: tcpdump would otherwise write FILE as user
# tcpdump, who may not enter $WORK.
capture_start() {
	local role=$1 dev=$2 file=$3
	shift 3
	"$CULVERTCTL" netns exec "$(ns "$role")" -- \
		tcpdump -Z root --immediate-mode -U -n -s 0 -i "$dev" -w "$file" "$@" 2>"$file.err" &
	CAPTURE_PID=$!
	wait_for 10 grep -q "listening on" "$file.err" || die "tcpdump on $role $dev did not start"
}

# capture_has FILE: true once the capture in FILE holds a packet (more than
# the 24-byte pcap header).
capture_has() { [ "$(stat -c %s "$1")" -gt 24 ]; }

# capture_stop: stops the capture capture_start began (its file stays whole:
# with --immediate-mode and -U, every packet was written as it came).
capture_stop() {
	kill -INT "$CAPTURE_PID" 2>/dev/null || true
	timeout 10 tail --pid="$CAPTURE_PID" -f /dev/null || die "tcpdump did not stop"
	wait "$CAPTURE_PID" 2>/dev/null || true
}

# pcap_payloads udp|tcp FILE: the payload of every UDP datagram (or TCP
# segment) over IPv4 in the Ethernet pcap FILE, in hex, one per line.
pcap_payloads() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
proto = {"udp": 17, "tcp": 6}[sys.argv[1]]
data = open(sys.argv[2], "rb").read()
# Global header: 24 bytes; the magic number tells the byte order.
end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
if struct.unpack(end + "I", data[20:24])[0] != 1:
	sys.exit("not an Ethernet capture")
off = 24
while off + 16 <= len(data):
	incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
	pkt = data[off + 16:off + 16 + incl]
	off += 16 + incl
	# Ethernet (14 bytes), IPv4 (IHL * 4), then UDP (8 bytes) or TCP
	# (its data offset * 4).
	if len(pkt) < 14 + 20 or pkt[12:14] != b"\x08\x00" or pkt[14 + 9] != proto:
		continue
	l4 = 14 + (pkt[14] & 0x0F) * 4
	if proto == 17:
		ulen = struct.unpack(">H", pkt[l4 + 4:l4 + 6])[0]
		print(pkt[l4 + 8:l4 + ulen].hex())
	else:
		print(pkt[l4 + (pkt[l4 + 12] >> 4) * 4:].hex())
PY
}

# pcap_udp_payloads FILE: pcap_payloads udp FILE.
pcap_udp_payloads() { pcap_payloads udp "$1"; }

# udp_send ROLE HOST PORT HEX...: from ROLE's namespace, one datagram to
# HOST:PORT per HEX argument, all from one socket.
udp_send() {
	local role=$1
	shift
	n "$role" timeout 10 python3 -c '
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
for h in sys.argv[3:]:
	s.sendto(bytes.fromhex(h), (host, port))' "$@"
}

# wait_counter_above NAME FIELD VALUE [SECONDS]: polls daemon NAME's
# counter FIELD until it exceeds VALUE.
wait_counter_above() {
	local deadline=$((SECONDS + ${4:-10})) v
	while v=$(counter "$1" "$2") && ! [ "$v" -gt "$3" ]; do
		[ "$SECONDS" -lt "$deadline" ] || die "$1: $2 is $v, not above $3"
		sleep 0.2
	done
}

# transfer_ok FROM TO_ROLE TO_ADDR FILE: sends FILE over TCP from FROM's
# namespace to a receiver in TO_ROLE listening on TO_ADDR port 5001; the
# receiver's byte count and sha256 must equal FILE's.
transfer_ok() {
	local from=$1 to=$2 dst=$3 file=$4 got want rpid
	want="$(stat -c %s "$file") $(sha256sum <"$file" | cut -d' ' -f1)"
	rm -f "$WORK/recv.out" "$WORK/recv.out.ready"
	n "$to" timeout 90 python3 -c '
import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
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
	rpid=$!
	wait_for 10 test -e "$WORK/recv.out.ready" || die "receiver in $to did not start"
	n "$from" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 5001), timeout=30)
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
s.recv(1)' "$dst" "$file" || {
		kill "$rpid" 2>/dev/null
		die "$from -> $to ($dst): the transfer stalled or failed"
	}
	wait "$rpid" || die "$from -> $to: the receiver failed"
	got=$(cat "$WORK/recv.out")
	[ "$got" = "$want" ] || die "$from -> $to: received '$got', not '$want'"
	log "$from -> $to ($dst): $(stat -c %s "$file") bytes arrived intact"
}
