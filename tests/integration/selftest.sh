#!/bin/bash
# SPDX-License-Identifier: MIT
# culvertctl selftest, what a user runs first on a new host: every mode
# must pass here, and no run, passed, failed or interrupted, may leave
# anything behind.
#
#     culvert-selftest-PID-a                    culvert-selftest-PID-b
#   +-------------------------+               +-------------------------+
#   | tun0|tap0 198.19.0.1/24 |               | tun0|tap0 198.19.0.2/24 |
#   |   culvertd --listen     |===============|   culvertd --connect    |
#   | veth0 198.18.0.1/24     +---------------+ veth0 198.18.0.2/24     |
#   +-------------------------+               +-------------------------+
#
# 1. A full run: 8 rows (plain|sealed x tcp|udp x tun|tap), each with a
#    round trip in ms, a rate in Mbit/s and OK; exit 0.
# 2. CULVERTD=/bin/false: every row FAIL, exit 1.
# 3. Without CULVERTD it finds the build tree's culvertd; SIGTERM while its
#    daemons run stops it, and it dies of the signal.
# 4. A run killed with SIGKILL leaves its namespaces; the next run removes
#    them, and keeps those of a PID that still exists.
# After each: no culvert-selftest-PID-* namespace, temporary directory or
# process (its daemons carry NOTIFY_SOCKET=@culvert-selftest-PID-a|b).
source "$(dirname "$0")/lib.sh"

MODES=("plain tcp tun" "plain tcp tap" "plain udp tun" "plain udp tap"
	"sealed tcp tun" "sealed tcp tap" "sealed udp tun" "sealed udp tap")

# selftest_procs PID: the processes that culvertctl selftest PID started.
selftest_procs() {
	grep -lsa "NOTIFY_SOCKET=@culvert-selftest-$1-" /proc/[0-9]*/environ | cut -d/ -f3 || true
}

# leftovers PID: whatever run PID left behind, one line each.
leftovers() {
	local p
	for p in /run/netns/culvert-selftest-"$1"-* "${TMPDIR:-/tmp}/culvert-selftest-$1-"*; do
		[ ! -e "$p" ] || echo "$p"
	done
	for p in $(selftest_procs "$1"); do
		echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}

# sweep PID: removes what run PID left, so that a failing test leaves
# nothing either.
sweep() {
	local p n
	for p in $(selftest_procs "$1"); do
		kill -9 "$p" 2>/dev/null
	done
	for n in /run/netns/culvert-selftest-"$1"-*; do
		[ ! -e "$n" ] || "$CULVERTCTL" netns del "${n##*/}" 2>/dev/null
	done
	rm -rf "${TMPDIR:-/tmp}/culvert-selftest-$1-"*
}

# selftest NAME [ENV...]: runs culvertctl selftest (with ENV) in the
# background, output in $WORK/NAME.out; sets ST_PID.
selftest() {
	local name=$1
	shift
	env "$@" "$CULVERTCTL" selftest >"$WORK/$name.out" 2>&1 &
	ST_PID=$!
	AT_EXIT+=("sweep $ST_PID")
}

# finished NAME: waits for the run (bounded), prints its output, sets RC,
# and fails the test if it left anything.
finished() {
	local left
	RC=0
	timeout 60 tail -s 0.1 --pid="$ST_PID" -f /dev/null || die "$1: culvertctl selftest still runs after 60 s"
	wait "$ST_PID" || RC=$?
	sed 's/^/  | /' "$WORK/$1.out"
	left=$(leftovers "$ST_PID")
	[ -z "$left" ] || die "$1: culvertctl selftest left behind: $left"
}

log "a full run"
start=$SECONDS
selftest full CULVERTD="$CULVERTD"
finished full
[ "$RC" = 0 ] || die "culvertctl selftest exited $RC"
log "took $((SECONDS - start)) s"
grep -qx "culvertd: $CULVERTD" "$WORK/full.out" || die "it does not say it used $CULVERTD"
for mode in "${MODES[@]}"; do
	n=$(grep -cE "^$mode +[0-9]+\.[0-9]+ ms +[0-9]+\.[0-9]+ Mbit/s +OK$" "$WORK/full.out" || true)
	[ "$n" = 1 ] || die "no single OK row with figures for '$mode'"
done
[ "$(grep -cE '^(plain|sealed) (tcp|udp) (tun|tap) ' "$WORK/full.out")" = 8 ] || die "not 8 rows"

log "a culvertd that fails at once"
selftest false CULVERTD=/bin/false
finished false
[ "$RC" = 1 ] || die "with CULVERTD=/bin/false it exited $RC, not 1"
for mode in "${MODES[@]}"; do
	grep -qE "^$mode .* FAIL: .*culvertd exited with status 1" "$WORK/false.out" ||
		die "no FAIL row naming the exit for '$mode'"
done
! grep -qE '^(plain|sealed) .* OK$' "$WORK/false.out" || die "a mode passed without culvertd"

log "found without CULVERTD, stopped by SIGTERM mid-run"
selftest term -u CULVERTD
deadline=$((SECONDS + 20))
until [ -n "$(selftest_procs "$ST_PID")" ]; do
	[ "$SECONDS" -lt "$deadline" ] || die "no culvertd started within 20 s"
	kill -0 "$ST_PID" 2>/dev/null || die "culvertctl selftest ended early: $(cat "$WORK/term.out")"
	sleep 0.05
done
kill -TERM "$ST_PID"
finished term
[ "$RC" = 143 ] || die "after SIGTERM it exited $RC, not 143 (killed by SIGTERM)"
grep -q "stopping on Terminated" "$WORK/term.out" || die "it did not say why it stopped"
sibling=$(dirname "$CULVERTCTL")/../daemon/culvertd
if [ -x "$sibling" ]; then
	grep -qx "culvertd: $(realpath "$sibling")" "$WORK/term.out" ||
		die "it did not find the build tree's culvertd, $(realpath "$sibling")"
fi
log "unprivileged: it names the missing capabilities"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CULVERTCTL" selftest >"$WORK/nobody.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || die "selftest as nobody exited $rc, not 1: $(cat "$WORK/nobody.out")"
grep -Fx "culvertctl: selftest: not privileged: CAP_NET_ADMIN and CAP_SYS_ADMIN missing (run it as root)" \
	"$WORK/nobody.out" >/dev/null || die "selftest as nobody said: $(cat "$WORK/nobody.out")"

log "killed with SIGKILL: the next run removes its namespaces, not a live run's"
selftest killed CULVERTD="$CULVERTD"
killed=$ST_PID
deadline=$((SECONDS + 20))
until [ -n "$(selftest_procs "$killed")" ]; do
	[ "$SECONDS" -lt "$deadline" ] || die "no culvertd started within 20 s"
	sleep 0.05
done
kill -KILL "$killed"
wait "$killed" 2>/dev/null || true
for side in a b; do
	[ -e "/run/netns/culvert-selftest-$killed-$side" ] ||
		die "the killed run left no culvert-selftest-$killed-$side to remove"
done
# The test's own PID stands for a selftest that still runs.
live=culvert-selftest-$$-a
NAMESPACES+=("$live")
"$CULVERTCTL" netns add "$live"
selftest sweep CULVERTD=/bin/false
finished sweep
for side in a b; do
	grep -qx "removed namespace culvert-selftest-$killed-$side, left by a selftest that was killed" \
		"$WORK/sweep.out" || die "it did not say it removed culvert-selftest-$killed-$side"
	[ ! -e "/run/netns/culvert-selftest-$killed-$side" ] ||
		die "culvert-selftest-$killed-$side is still there"
done
[ -e "/run/netns/$live" ] || die "it removed $live, whose PID still exists"
! grep -q "$live" "$WORK/sweep.out" || die "it touched $live"
"$CULVERTCTL" netns del "$live"
echo "PASS: culvertctl selftest"
