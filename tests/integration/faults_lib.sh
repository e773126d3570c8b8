# SPDX-License-Identifier: MIT
# Helpers for the fault tests (sourced after lib.sh, not run): underlay
# loss with nftables, a checked file transfer through the tunnel, recovery
# times measured with ping, and a daemon's memory and file descriptors.
#
# Loss comes from nftables (`numgen random`), not netem, which some
# kernels lack: a table of the test's own in the namespace, which goes
# with it.

# loss_set ROLE PERCENT: drops PERCENT % of what ROLE receives on veth0
# (its underlay), at random; 0 removes the rule.  On the receiving side, as
# a wire loses packets: a drop in the sender's output hook would fail its
# send(2) with EPERM instead.  nftables sees an skb, which with TSO or UDP
# GSO is a burst of up to 64 wire packets, lost together.
loss_set() {
	local role=$1 pct=$2
	n "$role" nft delete table inet culvert_faults 2>/dev/null || true
	[ "$pct" -gt 0 ] || return 0
	n "$role" nft -f - <<-EOF
		table inet culvert_faults {
			chain in {
				type filter hook prerouting priority -300; policy accept;
				iifname "veth0" numgen random mod 100 < $pct counter drop
			}
		}
	EOF
}

# loss_dropped ROLE: packets ROLE's loss rule has dropped so far.
loss_dropped() {
	n "$1" nft list table inet culvert_faults | grep -o 'packets [0-9]*' | head -n 1 | cut -d' ' -f2
}

# now_ms: milliseconds of the monotonic clock (bash's EPOCHREALTIME is
# wall-clock; /proc/uptime is monotonic but only to 10 ms).
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

# xfer_ok FROM TO DST MIB SECONDS: sends a file of MIB MiB of random data
# over TCP from FROM's namespace to a receiver at DST:5201 in TO's, through
# the tunnel; fails unless it arrives whole and byte-identical (sha256)
# within SECONDS.  Prints the time it took and the rate.
xfer_ok() {
	local from=$1 to=$2 dst=$3 mib=$4 secs=$5 t0 t1 sent got
	head -c "$((mib * 1024 * 1024))" /dev/urandom >"$WORK/xfer.in"
	rm -f "$WORK/xfer.out" "$WORK/xfer.ready"
	# The receiver says when it listens, then writes what one connection
	# brings to xfer.out.
	n "$to" timeout "$secs" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201))
s.listen(1)
open(sys.argv[3], "w").close()
c, _ = s.accept()
with open(sys.argv[2], "wb") as f:
	while True:
		b = c.recv(1 << 16)
		if not b:
			break
		f.write(b)' "$dst" "$WORK/xfer.out" "$WORK/xfer.ready" &
	local rx=$!
	wait_for 10 test -e "$WORK/xfer.ready" || die "receiver did not start"
	t0=$(now_ms)
	n "$from" timeout "$secs" python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 5201), timeout=30)
c.settimeout(None)
with open(sys.argv[2], "rb") as f:
	c.sendfile(f)
c.shutdown(socket.SHUT_WR)
c.recv(1)' "$dst" "$WORK/xfer.in" || die "sender failed or timed out ($secs s)"
	wait "$rx" || die "receiver failed or timed out ($secs s)"
	t1=$(now_ms)
	sent=$(sha256sum <"$WORK/xfer.in" | cut -d' ' -f1)
	got=$(sha256sum <"$WORK/xfer.out" | cut -d' ' -f1)
	[ "$sent" = "$got" ] || die "the file arrived changed ($(stat -c %s "$WORK/xfer.out") of $((mib * 1048576)) bytes)"
	XFER_MS=$((t1 - t0))
	log "$mib MiB $from -> $to byte-identical in $XFER_MS ms ($(python3 -c "print('%.1f' % ($mib * 8 * 1.048576 / max($XFER_MS, 1) * 1000))") Mbit/s)"
}

# ping_resume ROLE DST SECONDS: pings DST from ROLE every 0.1 s until one
# answers; sets RESUME_MS to the time that took (from the call) and fails
# after SECONDS.
ping_resume() {
	local role=$1 dst=$2 secs=$3 t0 t
	t0=$(now_ms)
	n "$role" timeout "$((secs + 2))" python3 -c '
import subprocess, sys, time
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
	t = time.monotonic()
	if subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", "0.3", sys.argv[1]],
			  stdout=subprocess.DEVNULL).returncode == 0:
		sys.exit(0)
	time.sleep(max(0, 0.1 - (time.monotonic() - t)))
sys.exit(1)' "$dst" "$secs" || die "$role: no answer from $dst within $secs s"
	t=$(now_ms)
	RESUME_MS=$((t - t0))
}

# ping_loss ROLE DST COUNT: COUNT pings, 0.1 s apart, from ROLE to DST;
# prints the loss in percent (an integer).
ping_loss() {
	n "$1" ping -n -q -c "$3" -i 0.1 -W 1 "$2" 2>/dev/null |
		grep -o '[0-9.]*% packet loss' | cut -d% -f1 | cut -d. -f1
}

# vm_kib PID FIELD: a field of /proc/PID/status in KiB (VmRSS, VmHWM).
vm_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# fd_count PID: open file descriptors of PID.
fd_count() { ls "/proc/$1/fd" | wc -l; }

# status_json NAME: culvertctl show --json for device NAME of namespace
# ROLE (tun0@cv<pid>-ROLE).
status_json() { ctl show "$1" --json; }
