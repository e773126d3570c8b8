#!/bin/bash
# SPDX-License-Identifier: MIT
# Soak test: a sealed tunnel under mixed load for a set time, with peer
# restarts and loss bursts, sampled every 10 s.
#
#     namespace a (server side)               namespace b (client side)
#   +--------------------------+            +--------------------------+
#   | tun0 198.19.0.1/24       |            | tun0 198.19.0.2/24       |
#   |   culvertd --listen      |== sealed ==|   culvertd --connect     |
#   |   iperf3 -s (x2)         |            |   iperf3 TCP, UDP; ping  |
#   | veth0 198.18.0.1/24      +------------+ veth0 198.18.0.2/24      |
#   +--------------------------+  underlay  +--------------------------+
#
# Load, for the whole run: iperf3 TCP b -> a capped at 200 Mbit/s, iperf3
# UDP a -> b at 20 Mbit/s in 200-byte datagrams, and a ping every 0.2 s
# (both daemons: --keepalive 1 --dead-peer-timeout 3).  Events, one a
# minute (--every) in turn: the server killed (SIGKILL) and restarted, a 10 s burst
# of 20 % underlay loss each way, the client killed and restarted, a 10 s
# burst of 5 %.  iperf3 runs that die with a restart are started again.
#
# Every 10 s, per daemon: RSS and peak RSS (KiB), open fds, CPU % over the
# interval (utime+stime from /proc/PID/stat), packets and drops
# (culvertctl show --json), handshakes; and the pings lost in the interval.
# Writes bench/results/soak-DATE.csv and .png and prints a summary.
#
# Usage: bench/soak.sh [--minutes N] [--every S] [--transport udp|tcp]
#   --minutes N      how long (default 10)
#   --every S        seconds from one event to the next (default 60)
#   --transport T    the tunnel's transport (default udp)
set -euo pipefail

usage() {
	sed -n '/^# Usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
	exit "${1:-2}"
}

minutes=10 transport=udp every=60
while [ $# -gt 0 ]; do
	case "$1" in
	--minutes)
		[ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
		minutes=$2
		shift
		;;
	--every)
		[ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -ge 15 ] || usage
		every=$2
		shift
		;;
	--transport)
		[ $# -ge 2 ] && [[ $2 =~ ^(udp|tcp)$ ]] || usage
		transport=$2
		shift
		;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
	shift
done

BENCH=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$BENCH/.." && pwd)
SAMPLE_S=10
EVENT_S=$every

# The binaries to soak: CULVERTD and CULVERTCTL when given, else an
# optimised build of our own (as bench/compare.sh).
if [ -z "${CULVERTD:-}" ] || [ -z "${CULVERTCTL:-}" ]; then
	if [ ! -f "$SRC/build-bench/build.ninja" ]; then
		out=$(meson setup "$SRC/build-bench" "$SRC" -Dwerror=true --buildtype=release 2>&1) || {
			printf '%s\nsoak.sh: meson setup failed\n' "$out" | tail -n 30 >&2
			exit 1
		}
	fi
	out=$(ninja -C "$SRC/build-bench" 2>&1) || {
		printf '%s\nsoak.sh: the build failed\n' "$out" | tail -n 30 >&2
		exit 1
	}
	export CULVERTD=$SRC/build-bench/daemon/culvertd CULVERTCTL=$SRC/build-bench/tools/culvertctl
fi

# Root check, $WORK, namespaces, daemons and the trap that removes them;
# loss_set, vm_kib, fd_count.
source "$SRC/tests/integration/lib.sh"
source "$SRC/tests/integration/faults_lib.sh"

if ! command -v gnuplot >/dev/null; then
	echo "Installing: gnuplot-nox"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq
	timeout 600 apt-get install -y -qq --no-install-recommends gnuplot-nox >"$WORK/apt.log" 2>&1 ||
		die "apt-get install failed: $(tail -n 5 "$WORK/apt.log")"
fi

two_hosts
keypair a
keypair b
LIVE=(--keepalive 1 --dead-peer-timeout 3)
SRV_ARGS=(--dev tun0 --transport "$transport" --mtu 1400 --listen :55555 "${LIVE[@]}"
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
CLI_ARGS=(--dev tun0 --transport "$transport" --mtu 1400 --connect 198.18.0.1:55555 "${LIVE[@]}"
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
# Log names per incarnation: srv0, srv1, ... (culvertd_start sets PID_NAME).
gen_srv=0 gen_cli=0
culvertd_start a srv0 "${SRV_ARGS[@]}"
SRV=$DAEMON_PID
wait_log srv0 "listening"
culvertd_start b cli0 "${CLI_ARGS[@]}"
CLI=$DAEMON_PID
ping_ok b 198.19.0.1

end=$((SECONDS + minutes * 60))
# Load.  The iperf3 servers are restarted by the loop below when a client
# run ends (-1: one client each).
# $! of `n ROLE CMD &` is CMD itself: culvertctl execs it in place.
start_tcp() {
	n a iperf3 -s -1 -p 5301 >/dev/null 2>&1 &
	TCP_SRV=$!
	sleep 0.3
	n b iperf3 -c 198.19.0.1 -p 5301 -b 200M -t $((end - SECONDS + 5)) >>"$WORK/iperf-tcp.log" 2>&1 &
	TCP_PID=$!
}
start_udp() {
	n b iperf3 -s -1 -p 5302 >/dev/null 2>&1 &
	UDP_SRV=$!
	sleep 0.3
	n a iperf3 -c 198.19.0.2 -p 5302 -u -b 20M -l 200 -t $((end - SECONDS + 5)) >>"$WORK/iperf-udp.log" 2>&1 &
	UDP_PID=$!
}
start_tcp
start_udp
iperf_restarts=0
n b ping -n -D -O -i 0.2 198.19.0.1 >"$WORK/ping.log" 2>&1 &
PING_PID=$!

# cpu_ticks PID: utime + stime of PID, clock ticks (0 once it is gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# show_fields ROLE: "rx_packets drops handshakes" of ROLE's tun0.
show_fields() {
	ctl show "tun0@$(ns "$1")" --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["rx_packets"], sum(d["drops"].values()), d["counters"].get("handshakes", 0))' ||
		echo "0 0 0"
}

mkdir -p "$BENCH/results"
stamp=$(date +%Y%m%d-%H%M%S)
csv=$BENCH/results/soak-$stamp.csv
png=$BENCH/results/soak-$stamp.png
echo "t_s,event,srv_rss_kib,srv_hwm_kib,srv_fds,srv_cpu_pct,cli_rss_kib,cli_hwm_kib,cli_fds,cli_cpu_pct,srv_rx_packets,cli_rx_packets,srv_drops,cli_drops,srv_handshakes,cli_handshakes,pings,pings_lost" >"$csv"

t0=$SECONDS
next_sample=$((t0 + SAMPLE_S))
next_event=$((t0 + EVENT_S))
event_no=0
event=""
loss_until=0
srv_ticks=$(cpu_ticks "$SRV") cli_ticks=$(cpu_ticks "$CLI")
ping_seen=0 lost_seen=0
peak_srv=0 peak_cli=0 fds_min=999 fds_max=0
declare -a recoveries=()

# recover_ms: waits (up to 20 s) for a ping through the tunnel; prints ms.
recover_ms() {
	ping_resume b 198.19.0.1 20 >/dev/null 2>&1 && echo "$RESUME_MS" || echo "none"
}

while [ $SECONDS -lt "$end" ]; do
	sleep 1
	if [ "$loss_until" -gt 0 ] && [ $SECONDS -ge "$loss_until" ]; then
		loss_set a 0
		loss_set b 0
		loss_until=0
	fi
	if [ $SECONDS -ge "$next_event" ]; then
		case $((event_no % 4)) in
		0)
			event="server-restart"
			kill -9 "$SRV"
			wait "$SRV" 2>/dev/null || true
			gen_srv=$((gen_srv + 1))
			culvertd_start a "srv$gen_srv" "${SRV_ARGS[@]}"
			SRV=$DAEMON_PID srv_ticks=0
			recoveries+=("server:$(recover_ms)")
			;;
		1)
			event="loss-20%"
			loss_set a 20
			loss_set b 20
			loss_until=$((SECONDS + 10))
			;;
		2)
			event="client-restart"
			kill -9 "$CLI"
			wait "$CLI" 2>/dev/null || true
			gen_cli=$((gen_cli + 1))
			culvertd_start b "cli$gen_cli" "${CLI_ARGS[@]}"
			CLI=$DAEMON_PID cli_ticks=0
			recoveries+=("client:$(recover_ms)")
			;;
		3)
			event="loss-5%"
			loss_set a 5
			loss_set b 5
			loss_until=$((SECONDS + 10))
			;;
		esac
		log "$((SECONDS - t0)) s: $event"
		event_no=$((event_no + 1))
		next_event=$((next_event + EVENT_S))
	fi
	# A load generator that died (its connection broke) starts again.
	if ! kill -0 "$TCP_PID" 2>/dev/null; then
		wait "$TCP_PID" 2>/dev/null || true
		kill "$TCP_SRV" 2>/dev/null || true
		wait "$TCP_SRV" 2>/dev/null || true
		start_tcp
		iperf_restarts=$((iperf_restarts + 1))
	fi
	if ! kill -0 "$UDP_PID" 2>/dev/null; then
		wait "$UDP_PID" 2>/dev/null || true
		kill "$UDP_SRV" 2>/dev/null || true
		wait "$UDP_SRV" 2>/dev/null || true
		start_udp
		iperf_restarts=$((iperf_restarts + 1))
	fi
	[ $SECONDS -ge "$next_sample" ] || continue
	next_sample=$((next_sample + SAMPLE_S))
	st=$(cpu_ticks "$SRV") ct=$(cpu_ticks "$CLI")
	srv_cpu=$(awk -v d=$((st - srv_ticks)) -v hz="$HZ" -v s=$SAMPLE_S 'BEGIN { printf "%.1f", 100 * d / hz / s }')
	cli_cpu=$(awk -v d=$((ct - cli_ticks)) -v hz="$HZ" -v s=$SAMPLE_S 'BEGIN { printf "%.1f", 100 * d / hz / s }')
	srv_ticks=$st cli_ticks=$ct
	read -r srx sdrops shs < <(show_fields a)
	read -r crx cdrops chs < <(show_fields b)
	pings=$(grep -c 'bytes from\|no answer yet' "$WORK/ping.log" || true)
	lost=$(grep -c 'no answer yet' "$WORK/ping.log" || true)
	srss=$(vm_kib "$SRV" VmRSS) shwm=$(vm_kib "$SRV" VmHWM) sfd=$(fd_count "$SRV")
	crss=$(vm_kib "$CLI" VmRSS) chwm=$(vm_kib "$CLI" VmHWM) cfd=$(fd_count "$CLI")
	echo "$((SECONDS - t0)),${event:-},$srss,$shwm,$sfd,$srv_cpu,$crss,$chwm,$cfd,$cli_cpu,$srx,$crx,$sdrops,$cdrops,$shs,$chs,$((pings - ping_seen)),$((lost - lost_seen))" >>"$csv"
	ping_seen=$pings lost_seen=$lost event=""
	[ "$shwm" -le "$peak_srv" ] || peak_srv=$shwm
	[ "$chwm" -le "$peak_cli" ] || peak_cli=$chwm
	for f in $sfd $cfd; do
		[ "$f" -ge "$fds_min" ] || fds_min=$f
		[ "$f" -le "$fds_max" ] || fds_max=$f
	done
done
kill "$PING_PID" 2>/dev/null || true
wait "$PING_PID" 2>/dev/null || true

timeout 60 gnuplot <<-EOF
	set terminal pngcairo size 1400,1100 font ",10"
	set output "$png"
	set datafile separator ","
	set key top left
	set grid
	set xlabel "seconds"
	set multiplot layout 4,1 title "culvert soak: sealed $transport, $minutes min, $(uname -r), $(nproc) CPUs\\nserver/client restarts and 20 % / 5 % loss bursts in turn, one every $every s"
	set ylabel "RSS KiB"
	plot "$csv" every ::1 using 1:3 with linespoints title "server RSS", "" every ::1 using 1:7 with linespoints title "client RSS", "" every ::1 using 1:4 with lines dt 2 title "server peak", "" every ::1 using 1:8 with lines dt 2 title "client peak"
	set ylabel "open fds"
	plot "$csv" every ::1 using 1:5 with linespoints title "server", "" every ::1 using 1:9 with linespoints title "client"
	set ylabel "CPU %"
	plot "$csv" every ::1 using 1:6 with linespoints title "server", "" every ::1 using 1:10 with linespoints title "client"
	set ylabel "pings lost / 10 s"
	plot "$csv" every ::1 using 1:18 with impulses lw 3 title "lost", "" every ::1 using 1:(strcol(2) ne "" ? 0 : 1/0):(strcol(2)) with labels rotate by 90 offset 0,3 notitle
	unset multiplot
EOF

total=$(grep -c 'bytes from\|no answer yet' "$WORK/ping.log" || true)
lost=$(grep -c 'no answer yet' "$WORK/ping.log" || true)
echo "soak: sealed $transport, $minutes min, $event_no events, $iperf_restarts iperf3 restarts"
echo "  peak RSS (VmHWM): server $peak_srv KiB, client $peak_cli KiB (last incarnations)"
echo "  open fds per daemon: $fds_min .. $fds_max"
echo "  pings: $total sent, $lost lost ($(awk -v l="$lost" -v t="$total" 'BEGIN { printf "%.1f", t ? 100 * l / t : 0 }') %)"
echo "  recovery after restarts (ms to the first ping answer): ${recoveries[*]:-none}"
echo "  CPU % (server, client), mean over samples: $(awk -F, 'NR > 1 { s += $6; c += $10; n++ } END { if (n) printf "%.1f, %.1f", s / n, c / n }' "$csv")"
echo "Wrote $csv and $png"
