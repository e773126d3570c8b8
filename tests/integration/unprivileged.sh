#!/bin/bash
# SPDX-License-Identifier: MIT
# Privileges: culvertd started as an unprivileged user on a persistent device
# made for that user carries traffic without ever holding a capability; a
# culvertd started as root with --user ends up the same.
#
#     namespace a                              namespace b
#   +------------------------------+       +------------------------------+
#   | tun0 (persistent, user       |       | tun0 (persistent)            |
#   |   nobody) 198.19.0.1/24      |       |   198.19.0.2/24              |
#   | culvertd started AS nobody   |       | culvertd started as root,    |
#   |   --listen                   |       |   --user nobody --connect    |
#   | veth0 198.18.0.1/24          +-------+ veth0 198.18.0.2/24          |
#   +------------------------------+       +------------------------------+
source "$(dirname "$0")/lib.sh"

# Debian makes /dev/net/tun 0666 (the kernel checks who may attach to which
# device); some sandboxes make it 0600, which would stop any unprivileged
# user before culvertd's own checks.  Open it up for this test only.
tun_mode=$(stat -c %a /dev/net/tun)
if [ "$tun_mode" != 666 ]; then
	chmod 0666 /dev/net/tun
	AT_EXIT+=("chmod $tun_mode /dev/net/tun")
fi

netns_add a b
veth_pair a veth0 b veth0
addr a veth0 198.18.0.1/24
addr b veth0 198.18.0.2/24
ctl -n "$(ns a)" link add tun0 type tun user nobody
ctl -n "$(ns a)" link set tun0 up
ctl -n "$(ns b)" link add tun0 type tun
addr a tun0 198.19.0.1/24
addr b tun0 198.19.0.2/24

# setpriv execs culvertd in place, so $! is the daemon.  Nothing is kept:
# no capability in any set, not even in the bounding set.
"$CULVERTCTL" netns exec "$(ns a)" -- setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$CULVERTD" -v --dev tun0 --listen :55555 \
	>"$WORK/srv.log" 2>&1 &
PID_srv=$!
DAEMONS+=("$PID_srv")
wait_log srv "listening"
culvertd_start b cli --dev tun0 --connect 198.18.0.1:55555
wait_log cli "connected to"
wait_log cli "running as user nobody"

ping_ok b 198.19.0.1
ping_ok a 198.19.0.2
iperf_ok b a 198.19.0.1 2

# /proc/PID/status of both daemons: uid nobody everywhere, no capability
# (inheritable, permitted, effective, bounding, ambient), no groups.
for d in srv cli; do
	pid=$(eval echo "\$PID_$d")
	st=$(cat "/proc/$pid/status")
	grep -qE "^Uid:\s+65534\s+65534\s+65534\s+65534$" <<<"$st" || die "$d: not uid nobody"
	grep -qE "^Groups:\s*$" <<<"$st" || die "$d: kept supplementary groups"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -qE "^$cap:\s+0000000000000000$" <<<"$st" ||
			die "$d: $cap is $(grep "^$cap" <<<"$st")"
	done
	log "$d (pid $pid): uid 65534, no capabilities"
done

# Without the privilege to create a device, culvertd says so and exits 2...
rc=0
"$CULVERTCTL" netns exec "$(ns a)" -- setpriv --reuid=nobody --regid=nogroup --clear-groups \
	-- "$CULVERTD" --dev tun9 --listen :55556 >"$WORK/denied.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || [ "$rc" = 2 ] || die "unprivileged create of tun9 exited $rc"
grep -q "need CAP_NET_ADMIN" "$WORK/denied.log" || die "no hint about CAP_NET_ADMIN"
# ...and as root without --user or --no-drop it refuses to serve at all.
rc=0
n a "$CULVERTD" --dev tun9 --listen :55556 >"$WORK/root.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || die "root without --user exited $rc, not 2"
grep -q "refusing to serve as root" "$WORK/root.log" || die "no reason given for refusing root"
has_link a tun9 && die "tun9 was created although culvertd refused to start"

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: unprivileged"
