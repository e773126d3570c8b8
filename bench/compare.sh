#!/bin/bash
# SPDX-License-Identifier: MIT
# Side-by-side benchmark: culvert and other userspace tunnels, each run in the
# same two-namespace topology, measured the same way.
#
#     namespace a (server side)               namespace b (client side)
#   +--------------------------+            +--------------------------+
#   | overlay 198.19.0.1/24    |            | overlay 198.19.0.2/24    |
#   |   (MTU 1400)  daemon  ===|== tunnel ==|===  daemon  (MTU 1400)   |
#   | veth0 198.18.0.1/24      +------------+ veth0 198.18.0.2/24      |
#   +--------------------------+  underlay  +--------------------------+
#
# For every system and mode: fresh namespaces, the two daemons started, then
#   ping   200 pings (-i 0.01) over the bare veth and over the tunnel;
#          added RTT = tunnel avg - bare avg, both taken in the same topology
#   iperf3 b -> a, one stream for --seconds (default 10), then 4 streams
#          (-P 4); the receiver's rate
#   CPU    utime+stime of both daemons (and their children), from
#          /proc/PID/stat before and after the single-stream run, divided by
#          the GB (10^9 bytes) the receiver got
#   RSS    the largest VmHWM of the daemons at the end
# then everything in both namespaces is stopped (SIGTERM, SIGKILL after 5 s)
# and the namespaces are deleted.  A system that does not carry traffic in
# time is reported "failed" and the others still run.  Last come culvert's
# hub rows (hub-1, hub-2, hub-4): bench/hub.sh's throughput part, 1, 2 and 4
# sites sending at once into one sealed UDP hub, the receivers' sum.
#
# Writes bench/results/compare-DATE.tsv and .png and prints a table.
#
# Usage: bench/compare.sh [--quick] [--only SYSTEM] [--seconds N] [--logs DIR]
#   --quick      a 2 s smoke of each culvert mode only, no other package
#                installed, no file written; exits non-zero if any culvert
#                mode fails to carry traffic (what CI runs)
#   --only S     one system: veth culvert vtun quicktun fastd openvpn
#                wireguard-go tinc
#   --seconds N  iperf3 duration per run (default 10)
#   --logs DIR   keep each system's logs and configurations in DIR
set -euo pipefail

usage() {
	sed -n '/^# Usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
	exit "${1:-2}"
}

quick=0 only='' secs=10 logs=''
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 secs=2 ;;
	--only)
		[ $# -ge 2 ] || usage
		only=$2
		shift
		;;
	--seconds)
		[ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
		secs=$2
		shift
		;;
	--logs)
		[ $# -ge 2 ] || usage
		logs=$(mkdir -p "$2" && cd "$2" && pwd)
		shift
		;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
	shift
done

BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$BENCH/.." && pwd)
MTU=1400
PINGS=200
UP_TIMEOUT=20 # seconds for a system to carry its first ping
[ $quick = 0 ] || PINGS=50

# The systems and modes, in table order: system, mode, transport, sealing.
# The sealing column says what protects the data packets.
ROWS=(
	"veth bare - none"
	"culvert plain-udp udp none"
	"culvert plain-tcp tcp none"
	"culvert offload-tcp tcp none"
	"culvert sealed-udp udp noise-ikpsk2+chacha20poly1305"
	"culvert sealed-tcp tcp noise-ikpsk2+chacha20poly1305"
	"vtun udp udp none"
	"vtun tcp tcp none"
	"quicktun raw udp none"
	"quicktun nacltai udp nacl-curve25519+xsalsa20poly1305"
	"fastd null udp none"
	"fastd salsa2012+umac udp salsa2012+umac"
	"openvpn udp-none udp none"
	"openvpn udp-tls-gcm udp tls+aes-256-gcm"
	"openvpn tcp-static tcp static-key+aes-256-cbc+hmac-sha256"
	"wireguard-go udp udp noise-ikpsk2+chacha20poly1305"
	"tinc udp udp rsa+aes-256-cbc+hmac-sha256"
)
PEER_PACKAGES=(openvpn openssl quicktun fastd vtun wireguard-go wireguard-tools tinc gnuplot-nox)

if [ -n "$only" ]; then
	printf '%s\n' "${ROWS[@]}" | cut -d' ' -f1 | grep -x -- "$only" >/dev/null || {
		echo "compare.sh: unknown system '$only'" >&2
		usage
	}
fi
if [ $quick = 1 ] && [ -n "$only" ] && [ "$only" != culvert ] && [ "$only" != veth ]; then
	echo "compare.sh: --quick runs culvert only" >&2
	exit 2
fi

# Under meson test the binaries under test are given; otherwise build our
# own optimised ones (a debug build would understate culvert).
if [ -z "${CULVERTD:-}" ] || [ -z "${CULVERTCTL:-}" ]; then
	if [ ! -f "$SRC/build-bench/build.ninja" ]; then
		out=$(meson setup "$SRC/build-bench" "$SRC" -Dwerror=true --buildtype=release 2>&1) || {
			printf '%s\ncompare.sh: meson setup failed\n' "$out" | tail -n 30 >&2
			exit 1
		}
	fi
	out=$(ninja -C "$SRC/build-bench" 2>&1) || {
		printf '%s\ncompare.sh: the build failed\n' "$out" | tail -n 30 >&2
		exit 1
	}
	export CULVERTD=$SRC/build-bench/daemon/culvertd CULVERTCTL=$SRC/build-bench/tools/culvertctl
fi

# Root check, $WORK, ns/n/ctl/netns_add/veth_pair/addr/wait_for and the
# trap that deletes every namespace and $WORK on any exit.
source "$SRC/tests/integration/lib.sh"

if [ $quick = 0 ]; then
	missing=()
	for p in "${PEER_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "Installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		timeout 300 apt-get update -qq
		timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
			die "apt-get install failed: $(tail -n 5 "$WORK/apt.log")"
	fi
fi

# wireguard-go's control sockets live in the shared /run/wireguard, so its
# devices get names unique to this run, removed even after a SIGKILL.
WG_A=${PFX}wa WG_B=${PFX}wb
AT_EXIT+=("rm -f /run/wireguard/$WG_A.sock /run/wireguard/$WG_B.sock")

# ---------------------------------------------------------------------------
# Topology and process helpers

topo_up() {
	netns_add a b
	veth_pair a veth0 b veth0
	addr a veth0 198.18.0.1/24
	addr b veth0 198.18.0.2/24
}

# topo_down: stops everything in both namespaces (SIGTERM, then SIGKILL
# after 5 s) and deletes them.
topo_down() {
	local pids deadline=$((SECONDS + 5)) side
	pids=$( (ip netns pids "$(ns a)" && ip netns pids "$(ns b)") 2>/dev/null || true)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	while [ -n "$pids" ] && [ $SECONDS -lt $deadline ]; do
		pids=$(for p in $pids; do [ ! -d /proc/$p ] || echo "$p"; done)
		[ -z "$pids" ] || sleep 0.1
	done
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
	for side in a b; do
		ip netns pids "$(ns $side)" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		timeout 20 "$CULVERTCTL" netns del "$(ns $side)" 2>/dev/null || true
	done
	NAMESPACES=()
}

# start_daemon ROLE NAME CMD...: starts CMD in ROLE's namespace, logging to
# $RUN/NAME.log, and counts it as a daemon of this system.
DPIDS=()
start_daemon() {
	local role=$1 name=$2
	shift 2
	# The exact command goes with the results (throwaway keys elided).
	printf '#   %s: %s\n' "$name" "$*" | sed 's/PRIVATE_KEY=[^ ]*/PRIVATE_KEY=.../' >>"$RUN/configs.txt"
	# A simple command: culvertctl execs CMD in place, so $! is the daemon.
	"$CULVERTCTL" netns exec "$(ns "$role")" -- "$@" >"$RUN/$name.log" 2>&1 &
	DPIDS+=($!)
}

# tun_dev ROLE DEV ADDR/PLEN: a persistent TUN device, up, MTU $MTU.
tun_dev() {
	ctl -n "$(ns "$1")" link add "$2" type tun
	ctl -n "$(ns "$1")" link set "$2" mtu $MTU up
	addr "$1" "$2" "$3"
}

# tcp_listening ROLE PORT: something listens on TCP PORT in ROLE's namespace.
tcp_listening() { [ -n "$(n "$1" ss -Hltn "sport = :$2")" ]; }
udp_listening() { [ -n "$(n "$1" ss -Hlun "sport = :$2")" ]; }

# keep_config FILE: stdin to FILE, and a copy into the row's log (the exact
# configuration each system ran with).
keep_config() {
	tee "$1" | sed "s|^|#   $(basename "$1"): |" >>"$RUN/configs.txt"
}

# ---------------------------------------------------------------------------
# One function per system.  Each starts a server side in namespace a and a
# client side in namespace b, overlay 198.19.0.1 <-> 198.19.0.2, MTU $MTU,
# and returns once both are started (the caller waits for the first ping).

up_veth() { :; }

# culvert: the build under test, dropping to nobody after set-up as it must.
up_culvert() {
	local mode=$1 transport=${1#*-} seal_a=() seal_b=() extra=() side
	# offload-tcp: plain TCP with offload frames (--plain-offload), whole
	# 64 KiB TSO packets per frame; the other modes use the defaults.
	if [ "$mode" = offload-tcp ]; then
		transport=tcp
		extra=(--plain-offload)
	fi
	tun_dev a tun0 198.19.0.1/24
	tun_dev b tun0 198.19.0.2/24
	if [ "${mode%-*}" = sealed ]; then
		for side in a b; do
			culvert_keypair "$RUN/$side.key" >"$RUN/$side.pub"
		done
		seal_a=(--private-key "$RUN/a.key" --peer-public-key "$(cat "$RUN/b.pub")")
		seal_b=(--private-key "$RUN/b.key" --peer-public-key "$(cat "$RUN/a.pub")")
	fi
	start_daemon a culvertd-a "$CULVERTD" --dev tun0 --transport "$transport" --mtu $MTU \
		--listen 198.18.0.1:55555 --user nobody --group nogroup "${seal_a[@]}" "${extra[@]}"
	wait_for 10 grep -q listening "$RUN/culvertd-a.log" || die "culvertd-a is not listening"
	start_daemon b culvertd-b "$CULVERTD" --dev tun0 --transport "$transport" --mtu $MTU \
		--connect 198.18.0.1:55555 --user nobody --group nogroup "${seal_b[@]}" "${extra[@]}"
}

# culvert_keypair FILE: writes a private key to FILE (0600), prints the public
# key.  culvertctl genkey/pubkey when this build has them, else the same
# format (base64 X25519) from libsodium, which ./bootstrap installs.
culvert_keypair() {
	if "$CULVERTCTL" genkey >/dev/null 2>&1; then
		(umask 077 && ctl genkey >"$1")
		ctl pubkey <"$1"
		return
	fi
	(umask 077 && python3 - "$1" <<-'EOF'
		import base64, ctypes, ctypes.util, os, sys
		na = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
		assert na.sodium_init() >= 0
		sk = bytearray(os.urandom(32))
		sk[0] &= 248; sk[31] &= 127; sk[31] |= 64
		pk = ctypes.create_string_buffer(32)
		assert na.crypto_scalarmult_base(pk, bytes(sk)) == 0
		open(sys.argv[1], "w").write(base64.b64encode(bytes(sk)).decode() + "\n")
		print(base64.b64encode(pk.raw).decode())
	EOF
	)
}

# vtun: session "bench" on TCP port 5000; with "proto udp" the data moves
# over UDP once the TCP handshake is done.  The devices are made and set up
# beforehand: a packet written to a device that vtund's "up" commands have
# not yet set up fails with EIO, which ends the session.  vtund keeps its pid
# and lock files in the shared /run: each runs with a private tmpfs there.
up_vtun() {
	local proto=$1 side
	tun_dev a tun0 198.19.0.1/24
	tun_dev b tun0 198.19.0.2/24
	for side in a b; do
		keep_config "$RUN/vtund-$side.conf" <<-EOF
			options {
			  port 5000;
			  timeout 10;
			}
			bench {
			  passwd bench-only-secret;
			  type tun;
			  device tun0;
			  proto $proto;
			  encrypt no;
			  compress no;
			  keepalive no;
			  stat no;
			  multi killold;
			}
		EOF
	done
	local private_run=(unshare -m --propagation private sh -c
		'mount -t tmpfs bench /run && mkdir -p /run/lock/vtund && exec "$@"' sh)
	start_daemon a vtund-a "${private_run[@]}" vtund -n -s -f "$RUN/vtund-a.conf"
	wait_for 10 tcp_listening a 5000 || die "vtund-a is not listening"
	start_daemon b vtund-b "${private_run[@]}" vtund -n -f "$RUN/vtund-b.conf" bench 198.18.0.1
}

# quicktun: configured by environment, in the IF_QT_ names of its ifupdown
# hook (Debian's build reads no other); devices made beforehand.
up_quicktun() {
	local protocol=$1 keys_a=() keys_b=() side
	tun_dev a tun0 198.19.0.1/24
	tun_dev b tun0 198.19.0.2/24
	if [ "$protocol" != raw ]; then
		for side in a b; do
			command keypair >"$RUN/qt-$side.keys"
		done
		keys_a=(IF_QT_PRIVATE_KEY="$(sed -n 's/^SECRET: //p' "$RUN/qt-a.keys")"
			IF_QT_PUBLIC_KEY="$(sed -n 's/^PUBLIC: //p' "$RUN/qt-b.keys")")
		keys_b=(IF_QT_PRIVATE_KEY="$(sed -n 's/^SECRET: //p' "$RUN/qt-b.keys")"
			IF_QT_PUBLIC_KEY="$(sed -n 's/^PUBLIC: //p' "$RUN/qt-a.keys")")
	fi
	local common=(IFACE=tun0 IF_QT_TUN_MODE=1 IF_QT_PROTOCOL="$protocol"
		IF_QT_LOCAL_PORT=2998 IF_QT_REMOTE_PORT=2998)
	local a=(IF_QT_LOCAL_ADDRESS=198.18.0.1 IF_QT_REMOTE_ADDRESS=198.18.0.2)
	local b=(IF_QT_LOCAL_ADDRESS=198.18.0.2 IF_QT_REMOTE_ADDRESS=198.18.0.1)
	start_daemon a quicktun-a env "${common[@]}" "${a[@]}" "${keys_a[@]}" quicktun
	start_daemon b quicktun-b env "${common[@]}" "${b[@]}" "${keys_b[@]}" quicktun
}

# fastd: TUN mode, one peer each, UDP port 10000; fastd makes the device.
up_fastd() {
	local method=$1 side other me you
	for side in a b; do
		fastd --generate-key 2>/dev/null >"$RUN/fastd-$side.keys"
	done
	for side in a b; do
		if [ $side = a ]; then other=b me=1 you=2; else other=a me=2 you=1; fi
		keep_config "$RUN/fastd-$side.conf" <<-EOF
			log to stderr level info;
			mode tun;
			interface "tun0";
			method "$method";
			bind 198.18.0.$me:10000;
			secret "$(sed -n 's/^Secret: //p' "$RUN/fastd-$side.keys")";
			mtu $MTU;
			on up sync "ip link set \$INTERFACE up && ip addr add 198.19.0.$me/24 dev \$INTERFACE";
			peer "$other" {
			  key "$(sed -n 's/^Public: //p' "$RUN/fastd-$other.keys")";
			  remote 198.18.0.$you:10000;
			}
		EOF
	done
	start_daemon a fastd-a fastd --config "$RUN/fastd-a.conf"
	# b's first handshake must find a, or the retry comes many seconds later.
	wait_for 10 udp_listening a 10000 || die "fastd-a is not listening"
	start_daemon b fastd-b fastd --config "$RUN/fastd-b.conf"
}

# fingerprint CERT: its SHA-256 fingerprint, as --peer-fingerprint wants it.
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# OpenVPN 2.6, peer to peer, no DCO (the kernel data path would not be a
# userspace tunnel).  udp-none: no crypto at all; udp-tls-gcm: TLS with
# self-signed certificates pinned by fingerprint, data channel AES-256-GCM;
# tcp-static: a static key (AES-256-CBC + HMAC-SHA256) over TCP.
up_openvpn() {
	local mode=$1 side
	local common=(openvpn --dev tun0 --dev-type tun --tun-mtu "$MTU" --disable-dco --verb 3)
	local a=(--ifconfig 198.19.0.1 198.19.0.2) b=(--ifconfig 198.19.0.2 198.19.0.1)
	case "$mode" in
	udp-none)
		a+=(--proto udp --local 198.18.0.1 --lport 1194 --remote 198.18.0.2 --rport 1194)
		b+=(--proto udp --local 198.18.0.2 --lport 1194 --remote 198.18.0.1 --rport 1194)
		;;
	udp-tls-gcm)
		for side in a b; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$RUN/ovpn-$side.key" -out "$RUN/ovpn-$side.crt" -subj "/CN=$side" \
				-days 2 2>/dev/null
		done
		a+=(--proto udp --local 198.18.0.1 --lport 1194 --remote 198.18.0.2 --rport 1194
			--tls-server --dh none --cert "$RUN/ovpn-a.crt" --key "$RUN/ovpn-a.key"
			--peer-fingerprint "$(fingerprint "$RUN/ovpn-b.crt")" --data-ciphers AES-256-GCM)
		b+=(--proto udp --local 198.18.0.2 --lport 1194 --remote 198.18.0.1 --rport 1194
			--tls-client --cert "$RUN/ovpn-b.crt" --key "$RUN/ovpn-b.key"
			--peer-fingerprint "$(fingerprint "$RUN/ovpn-a.crt")" --data-ciphers AES-256-GCM)
		;;
	tcp-static)
		openvpn --genkey secret "$RUN/ovpn-static.key" >/dev/null
		a+=(--proto tcp-server --local 198.18.0.1 --lport 1194
			--secret "$RUN/ovpn-static.key" 0 --cipher AES-256-CBC --auth SHA256)
		b+=(--proto tcp-client --remote 198.18.0.1 1194
			--secret "$RUN/ovpn-static.key" 1 --cipher AES-256-CBC --auth SHA256)
		;;
	esac
	start_daemon a openvpn-a "${common[@]}" "${a[@]}"
	[ "$mode" != tcp-static ] || wait_for 10 tcp_listening a 1194 ||
		die "openvpn-a is not listening"
	start_daemon b openvpn-b "${common[@]}" "${b[@]}"
}

# wireguard-go, configured with wg; each side knows the other's endpoint.
up_wireguard-go() {
	local side dev me you other
	for side in a b; do
		(umask 077 && wg genkey >"$RUN/wg-$side.key")
		wg pubkey <"$RUN/wg-$side.key" >"$RUN/wg-$side.pub"
	done
	for side in a b; do
		if [ $side = a ]; then dev=$WG_A other=b me=1 you=2; else dev=$WG_B other=a me=2 you=1; fi
		# The Debian kernel has WireGuard built in; we measure the userspace one.
		start_daemon $side wg-$side env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
			wireguard-go -f "$dev"
		wait_for 10 test -S "/run/wireguard/$dev.sock" || die "wireguard-go ($side) made no socket"
		printf '#   wg-%s: wg set %s listen-port 51820 private-key wg-%s.key peer %s allowed-ips 198.19.0.%s/32 endpoint 198.18.0.%s:51820\n' \
			$side "$dev" $side "$(cat "$RUN/wg-$other.pub")" $you $you >>"$RUN/configs.txt"
		n $side wg set "$dev" listen-port 51820 private-key "$RUN/wg-$side.key" \
			peer "$(cat "$RUN/wg-$other.pub")" allowed-ips 198.19.0.$you/32 \
			endpoint 198.18.0.$you:51820
		ctl -n "$(ns $side)" link set "$dev" mtu $MTU up
		addr $side "$dev" 198.19.0.$me/24
	done
}

# tinc 1.0: router mode over a TUN device, b connects to a (TCP meta
# connection, UDP data).  Debian's OpenSSL 3 has no Blowfish, tinc 1.0's
# default: AES-256-CBC and SHA-256 are set explicitly.
up_tinc() {
	local side me dir
	for side in a b; do
		if [ $side = a ]; then me=1; else me=2; fi
		dir=$RUN/tinc-$side
		mkdir -p "$dir/hosts"
		{
			printf 'Name = %s\nMode = router\nDeviceType = tun\nDevice = /dev/net/tun\n' $side
			printf 'Interface = tun0\nAddressFamily = ipv4\nBindToAddress = 198.18.0.%s\nPort = 655\n' $me
			[ $side = a ] || printf 'ConnectTo = a\n'
		} | keep_config "$dir/tinc.conf"
		printf 'Address = 198.18.0.%s\nPort = 655\nSubnet = 198.19.0.%s/32\nCipher = aes-256-cbc\nDigest = sha256\n' \
			$me $me | keep_config "$dir/hosts/$side"
		printf '#!/bin/sh\nip link set "$INTERFACE" mtu %s up\nip addr add 198.19.0.%s/24 dev "$INTERFACE"\n' \
			$MTU $me | keep_config "$dir/tinc-up"
		chmod +x "$dir/tinc-up"
		# Appends the public key to hosts/$side.
		tincd -c "$dir" -K2048 </dev/null >"$RUN/tinc-keygen-$side.log" 2>&1
	done
	cp "$RUN/tinc-a/hosts/a" "$RUN/tinc-b/hosts/a"
	cp "$RUN/tinc-b/hosts/b" "$RUN/tinc-a/hosts/b"
	for side in a b; do
		start_daemon $side tincd-$side tincd -c "$RUN/tinc-$side" -D -d 1 \
			--pidfile="$RUN/tinc-$side.pid" --logfile="$RUN/tinc-$side.log"
		# b's first connection must find a, or the retry comes seconds later.
		[ $side = b ] || wait_for 10 tcp_listening a 655 || die "tincd-a is not listening"
	done
}

# ---------------------------------------------------------------------------
# Measurements

# ping_avg ROLE DST COUNT: average RTT in ms (empty when no reply came back).
ping_avg() {
	timeout 60 "$CULVERTCTL" netns exec "$(ns "$1")" -- \
		ping -c "$3" -i 0.01 -W 1 -q "$2" 2>/dev/null |
		sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' || true
}

# iperf_run STREAMS OUTFILE: one iperf3 run b -> 198.19.0.1 (or the bare veth);
# prints "bytes_received bits_per_second".
iperf_run() {
	local streams=$1 out=$2 pidf=$RUN/iperf3.pid
	rm -f "$pidf"
	n a iperf3 -s -1 -D -I "$pidf" >/dev/null
	wait_for 5 test -s "$pidf" || die "iperf3 server did not start"
	sleep 0.2
	timeout $((secs + 20)) "$CULVERTCTL" netns exec "$(ns b)" -- \
		iperf3 -c "$DST" -t "$secs" -P "$streams" --connect-timeout 5000 -J >"$out" 2>&1 || true
	kill "$(cat "$pidf" 2>/dev/null)" 2>/dev/null || true
	python3 - "$out" <<-'EOF'
		import json, sys
		try:
		    r = json.load(open(sys.argv[1]))["end"]["sum_received"]
		    print(int(r["bytes"]), r["bits_per_second"])
		except Exception:
		    print(0, 0)
	EOF
}

# all_pids PID...: the PIDs and all their descendants still alive (vtund's
# server forks one child per session, which does the work).
all_pids() {
	local p
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		echo "$p"
		all_pids $(pgrep -P "$p" || true)
	done
}

# cpu_ticks PID...: utime+stime (clock ticks, all threads) summed.
cpu_ticks() {
	local p t=0 f
	for p in "$@"; do
		# Fields after "(comm) ": state is 1, utime 12, stime 13.
		f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $f
		t=$((t + ${12} + ${13}))
	done
	echo $t
}

# rss_max PID...: the largest VmHWM, KiB.
rss_max() {
	local p m=0 v
	for p in "$@"; do
		v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status" 2>/dev/null) || continue
		[ -z "$v" ] || [ "$v" -le "$m" ] || m=$v
	done
	echo $m
}

# run_row SYSTEM MODE TRANSPORT SEALING: brings the system up in the fresh
# topology, measures, appends one TSV line to $WORK/rows.tsv.  Runs in a
# subshell: any failure ends the row, not the benchmark.
run_row() {
	local system=$1 mode=$2 transport=$3 sealing=$4 t0 bare rtt added
	local pids c0 c1 b1 r1 b4 r4 cpu_gb rss
	DST=198.19.0.1
	[ "$system" != veth ] || DST=198.18.0.1
	t0=$SECONDS
	"up_$system" "$mode"
	wait_for $UP_TIMEOUT n b ping -c 1 -W 1 "$DST" ||
		die "no ping across the tunnel within ${UP_TIMEOUT}s"
	log "$system $mode: up in $((SECONDS - t0)) s"
	# Lets late set-up (tinc's path MTU discovery, rekeys) settle.
	n b ping -c 20 -i 0.05 -q "$DST" >/dev/null 2>&1 || true
	bare=$(ping_avg b 198.18.0.1 $PINGS)
	rtt=$(ping_avg b "$DST" $PINGS)
	[ -n "$rtt" ] && [ -n "$bare" ] || die "$PINGS pings got no reply"
	added=$(awk -v a="$rtt" -v b="$bare" 'BEGIN { printf "%.3f", a - b }')

	pids=$(all_pids "${DPIDS[@]}")
	c0=$(cpu_ticks $pids)
	read -r b1 r1 < <(iperf_run 1 "$RUN/iperf-1.json")
	c1=$(cpu_ticks $pids)
	[ "$b1" -gt 1000000 ] || die "iperf3 (1 stream) moved only $b1 bytes: $(tail -c 300 "$RUN/iperf-1.json")"
	read -r b4 r4 < <(iperf_run 4 "$RUN/iperf-4.json")
	[ "$b4" -gt 1000000 ] || die "iperf3 (4 streams) moved only $b4 bytes: $(tail -c 300 "$RUN/iperf-4.json")"

	if [ -n "$pids" ]; then
		cpu_gb=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v b="$b1" \
			'BEGIN { printf "%.2f", t / hz / (b / 1e9) }')
		rss=$(rss_max $(all_pids "${DPIDS[@]}"))
	else
		cpu_gb=- rss=-
	fi
	printf '%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\t%s\t%s\n' "$system" "$mode" "$transport" "$sealing" \
		"$(awk -v r="$r1" 'BEGIN { print r / 1e9 }')" "$(awk -v r="$r4" 'BEGIN { print r / 1e9 }')" \
		"$rtt" "$added" "$cpu_gb" "$rss" >>"$WORK/rows.tsv"
	log "$system $mode: $(tail -n 1 "$WORK/rows.tsv" | cut -f5- | tr '\t' ' ')"
}

# ---------------------------------------------------------------------------
# The run

ROW_LIMIT=$((3 * secs + 90)) # seconds for one system, start to stop
started=$SECONDS
: >"$WORK/rows.tsv"
: >"$WORK/failed.txt"
[ $quick = 0 ] || echo "Quick smoke: culvert only, ${secs} s per iperf3 run, $PINGS pings."
echo "Overlay MTU $MTU for every tunnel; underlay veth MTU 1500."
for row in "${ROWS[@]}"; do
	set -- $row
	system=$1 mode=$2
	[ -z "$only" ] || [ "$only" = "$system" ] || continue
	[ $quick = 0 ] || [ "$system" = culvert ] || [ "$system" = veth ] || continue
	RUN=$WORK/$system-$mode
	mkdir -p "$RUN"
	topo_up
	(
		set -e
		run_row "$@"
	) >"$RUN/row.out" 2>&1 &
	row_pid=$!
	DAEMONS=("$row_pid") # so the exit trap stops it too
	deadline=$((SECONDS + ROW_LIMIT))
	while kill -0 "$row_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		sleep 0.2
	done
	kill -0 "$row_pid" 2>/dev/null && {
		echo "FAIL: timed out after ${ROW_LIMIT}s" >>"$RUN/row.out"
		kill "$row_pid" 2>/dev/null
	}
	rc=0
	wait "$row_pid" || rc=$?
	DAEMONS=()
	topo_down
	grep '^#' "$RUN/row.out" || true
	if [ $rc != 0 ]; then
		why=$(grep -h '^FAIL: ' "$RUN/row.out" | tail -n 1 | sed 's/^FAIL: //' || true)
		[ -n "$why" ] || why="exit $rc: $(tail -n 1 "$RUN/row.out")"
		echo "FAILED: $system $mode: $why"
		for f in "$RUN"/*.log; do
			[ -e "$f" ] || continue
			echo "---- $(basename "$f")"
			tail -n 15 "$f"
		done
		printf '%s\t%s\t%s\t%s\tfailed\tfailed\tfailed\tfailed\tfailed\tfailed\n' "$@" >>"$WORK/rows.tsv"
		printf '%s %s: %s\n' "$system" "$mode" "$why" >>"$WORK/failed.txt"
	fi
	# The exact configuration of each system is kept with the results.
	if [ -s "$RUN/configs.txt" ]; then
		echo "# [$system $mode]" >>"$WORK/configs.txt"
		cat "$RUN/configs.txt" >>"$WORK/configs.txt"
	fi
	if [ -n "$logs" ]; then
		rm -f "$RUN"/*.key "$RUN"/*.keys "$RUN"/tinc-?/rsa_key.priv
		cp -r "$RUN" "$logs/"
	fi
done
# The hub rows: bench/hub.sh's throughput part, N sites (one-peer culvertd
# each, in namespaces of their own) sending at once into one sealed UDP
# TUN hub, one iperf3 stream per site; gbps_1 is the receivers' sum.
if [ $quick = 0 ] && { [ -z "$only" ] || [ "$only" = culvert ]; }; then
	hub_out=$WORK/hub.out
	if timeout $((8 * secs + 120)) bash "$BENCH/hub.sh" --throughput-only --seconds "$secs" >"$hub_out" 2>&1; then
		for k in 1 2 4; do
			g=$(sed -n "s/^  $k site(s): \([0-9.]*\) Gbit\/s$/\1/p" "$hub_out")
			printf 'culvert	hub-%d	udp	noise-ikpsk2+chacha20poly1305	%s	-	-	-	-	-
' \
				"$k" "${g:-failed}" >>"$WORK/rows.tsv"
		done
		log "culvert hub: $(grep -E 'site\(s\)|site to site' "$hub_out" | tr -s ' ' | tr '\n' ';')"
	else
		echo "FAILED: culvert hub: $(tail -n 3 "$hub_out")"
		for k in 1 2 4; do
			printf 'culvert	hub-%d	udp	noise-ikpsk2+chacha20poly1305	failed	failed	failed	failed	failed	failed
' \
				"$k" >>"$WORK/rows.tsv"
		done
		echo "culvert hub: $(tail -n 1 "$hub_out")" >>"$WORK/failed.txt"
	fi
fi
elapsed=$((SECONDS - started))

# ---------------------------------------------------------------------------
# Report

COLUMNS_TSV="system	mode	transport	sealing	gbps_1	gbps_4	rtt_ms	added_rtt_ms	cpu_s_per_gb	rss_kib_max"
echo
printf '%-13s %-15s %-4s %9s %9s %8s %9s %9s %9s\n' system mode tx "Gbit/s 1" "Gbit/s 4" "RTT ms" "+RTT ms" "CPU s/GB" "RSS KiB"
while IFS=$'\t' read -r s m t _ g1 g4 r ar c k; do
	printf '%-13s %-15s %-4s %9s %9s %8s %9s %9s %9s\n' "$s" "$m" "$t" "$g1" "$g4" "$r" "$ar" "$c" "$k"
done <"$WORK/rows.tsv"
echo "(iperf3 ${secs} s b->a, receiver rate; RTT: avg of $PINGS pings; +RTT: over the bare veth; CPU: both daemons, single-stream run, per 10^9 bytes; RSS: largest VmHWM)"
[ $quick = 1 ] || echo "(hub-N: N sites at once into one sealed UDP hub, one stream each, the receivers' sum; bench/hub.sh)"
echo "Took ${elapsed} s."

if [ $quick = 1 ]; then
	if [ -s "$WORK/failed.txt" ]; then
		echo "FAIL: culvert modes that did not carry traffic:" >&2
		cat "$WORK/failed.txt" >&2
		exit 1
	fi
	echo "All culvert modes carried traffic."
	exit 0
fi

mkdir -p "$BENCH/results"
stamp=$(date +%Y%m%d-%H%M%S)
tsv=$BENCH/results/compare-$stamp.tsv
png=$BENCH/results/compare-$stamp.png
{
	echo "# culvert bench/compare.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), source $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "# $("$CULVERTD" --version | head -n 1) at $CULVERTD"
	echo "# kernel $(uname -sr); $(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "# overlay MTU $MTU for every tunnel, underlay veth MTU 1500; iperf3 -t $secs (1 and 4 streams), b->a, receiver rate"
	echo "# rtt: avg of $PINGS pings -i 0.01; added_rtt: minus the bare veth RTT in the same topology"
	echo "# cpu_s_per_gb: utime+stime of both daemons over the single-stream run per 10^9 bytes received; rss_kib_max: largest VmHWM"
	echo "# culvert hub-N: bench/hub.sh --throughput-only, N sites at once into one sealed UDP TUN hub, one iperf3 stream each; gbps_1 is the receivers' sum"
	echo "# packages: $(dpkg-query -W -f='${Package} ${Version}, ' iperf3 "${PEER_PACKAGES[@]}" 2>/dev/null | sed 's/, $//')"
	sed 's/^/# failed: /' "$WORK/failed.txt"
	echo "$COLUMNS_TSV"
	cat "$WORK/rows.tsv"
	echo "# configurations:"
	cat "$WORK/configs.txt" 2>/dev/null || true
} >"$tsv"

# The chart leaves out the bare veth (an order of magnitude above any
# tunnel, it would flatten the bars) and names its rate in the title.
veth_rate=$(awk -F'\t' '$1 == "veth" { print $5 " / " $6 }' "$WORK/rows.tsv")
awk -F'\t' '$1 != "veth" && $5 != "failed" { print $1 " " $2 "\t" $5 "\t" $6 "\t" $9 }' \
	"$WORK/rows.tsv" >"$WORK/plot.tsv"
if [ -s "$WORK/plot.tsv" ]; then
	timeout 60 gnuplot <<-EOF
		set terminal pngcairo size 1400,1000 font ",10"
		set output "$png"
		set datafile separator "\t"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.85 border -1
		set xtics rotate by -30 scale 0 nomirror
		set grid ytics
		set yrange [0:*]
		set key top right
		set multiplot layout 2,1 title "Userspace tunnels between two namespaces (veth), overlay MTU $MTU, iperf3 ${secs} s\\n$(uname -r), $(nproc) CPUs; bare veth ${veth_rate:-not measured} Gbit/s, 1 / 4 streams (not drawn)"
		set ylabel "Gbit/s (iperf3 receiver)"
		plot "$WORK/plot.tsv" using 2:xtic(1) title "1 stream", "" using 3 title "4 streams"
		set ylabel "CPU s per GB, both daemons, 1 stream"
		plot "$WORK/plot.tsv" using 4:xtic(1) notitle lc rgb "#8a2be2"
		unset multiplot
	EOF
fi
echo "Wrote $tsv${png:+ and $png}"
