#!/bin/bash
# SPDX-License-Identifier: MIT
# culvertctl and iproute2 agree: whatever one of them makes (namespaces,
# links, addresses, routes, forwarding), the other sees, field by field.
# Then a ping crosses a veth between two namespaces built only with
# culvertctl.
#
#   ctl-PID-a (culvertctl)                    ctl-PID-b (culvertctl)
#  +-----------------------------------+     +--------------------------+
#  | br0 bridge, 198.18.0.1/30,         |     |                          |
#  |     2001:db8::1/64                 |     |                          |
#  |  `- va veth, mtu 1400 -------------+-----+- vb 198.18.0.2/30,       |
#  | tun0 tun, user nobody              |     |      2001:db8::2/64      |
#  | tap0 tap, user 1000, group 100     |     | vy (moved here by        |
#  | vx veth ---------------------------+-----+-    `link set netns`)    |
#  +-----------------------------------+     +--------------------------+
#
#   ctl-PID-i (ip netns add, links made with ip)
#  +-----------------------------------------------+
#  | br1 bridge, 198.18.1.1/24, 2001:db8:1::1/64    |
#  |  `- ia veth, mtu 1300 --- ib veth              |
#  | tun1 (ip tuntap), user 65534                   |
#  +-----------------------------------------------+
#
#   ctl-PID-d, ctl-PID-e: made by one tool, deleted by the other.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root"
	exit 77
fi

HERE=$(cd "$(dirname "$0")" && pwd)
CULVERTCTL=${CULVERTCTL:-$HERE/../../build/tools/culvertctl}
A=ctl-$$-a
B=ctl-$$-b
I=ctl-$$-i
D=ctl-$$-d
E=ctl-$$-e

log() { echo "# $*"; }
die() {
	echo "FAIL: $*" >&2
	exit 1
}

cleanup() {
	local ns
	for ns in "$A" "$B" "$I" "$D" "$E"; do
		if [ -e "/run/netns/$ns" ]; then
			timeout 10 ip netns del "$ns" 2>/dev/null ||
				{ umount -l "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"; }
		fi
	done
}
trap cleanup EXIT

# Everything that talks to the kernel is bounded in time.
ctl() { timeout 10 "$CULVERTCTL" "$@"; }
ipx() { timeout 10 ip "$@"; }
# nsrun NS CMD...: run CMD in namespace NS (entered by iproute2, the reference).
nsrun() {
	local ns=$1
	shift
	timeout 10 ip netns exec "$ns" "$@"
}

# has TEXT REGEX WHAT: TEXT must match extended REGEX.
has() { grep -Eq -- "$2" <<<"$1" || die "$3: no /$2/ in:"$'\n'"$1"; }
# lacks TEXT REGEX WHAT: TEXT must not match.
lacks() { ! grep -Eq -- "$2" <<<"$1" || die "$3: unexpected /$2/ in:"$'\n'"$1"; }

# wait_for WHAT CMD...: poll CMD until it succeeds, for at most 10 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "timed out waiting for $what"
}

# expect_exit CODE REGEX WHAT -- CMD...: CMD must exit CODE with stderr matching REGEX.
expect_exit() {
	local code=$1 regex=$2 what=$3 rc=0 err
	shift 4
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = "$code" ] || die "$what: exit $rc, want $code (stderr: $err)"
	has "$err" "$regex" "$what"
}

# User and group names as `ip -d link` prints them (it resolves ids).
uname_of() { getent passwd "$1" | cut -d: -f1 | grep . || echo "$1"; }
gname_of() { getent group "$1" | cut -d: -f1 | grep . || echo "$1"; }

[ -x "$CULVERTCTL" ] || die "no culvertctl at $CULVERTCTL"

log "global options and usage errors"
has "$(ctl --version)" '^culvertctl [0-9]+\.[0-9]+' "--version"
has "$(ctl --help)" 'netns' "--help"
has "$(ctl link help)" 'link add NAME type' "link help"
expect_exit 2 "unknown object" "unknown object" -- ctl frobnicate
expect_exit 2 "link add" "link add without a name" -- ctl link add
expect_exit 2 "unknown verb" "unknown verb" -- ctl route frob
expect_exit 2 "invalid address" "bad address" -- ctl addr add 198.18.0.300/24 dev lo
expect_exit 2 "option" "-n without a value" -- ctl -n

log "namespaces: culvertctl -> ip, ip -> culvertctl"
ctl netns add "$A"
ctl netns add "$B"
ipx netns add "$I"
has "$(ipx netns list | awk '{print $1}')" "^$A\$" "ip netns list shows culvertctl's namespace"
has "$(ctl netns list)" "^$I\$" "culvertctl netns list shows ip's namespace"
expect_exit 1 "netns add $A: File exists" "adding an existing namespace" -- ctl netns add "$A"
expect_exit 1 "No such file" "-n with a missing namespace" -- ctl -n "ctl-$$-none" link show

ipx netns add "$D"
ctl netns del "$D"
lacks "$(ipx netns list)" "^$D( |\$)" "ip still lists namespace deleted by culvertctl"
[ ! -e "/run/netns/$D" ] || die "/run/netns/$D left behind"
ctl netns add "$E"
ipx netns del "$E"
lacks "$(ctl netns list)" "^$E\$" "culvertctl still lists namespace deleted by ip"
expect_exit 1 "netns del $E: No such file" "deleting a missing namespace" -- ctl netns del "$E"

log "links made by culvertctl, seen by ip -d link"
ctl -n "$A" link set lo up
ctl -n "$B" link set lo up
ctl -n "$A" link add va type veth peer vb netns "$B"
ctl -n "$A" link add br0 type bridge
ctl -n "$A" link set va mtu 1400 master br0 up
ctl -n "$A" link set br0 up
ctl -n "$B" link set vb up
ctl -n "$A" link add tun0 type tun user nobody
ctl -n "$A" link add tap0 type tap user 1000 group 100
ctl -n "$A" link add vx type veth peer vy
ctl -n "$A" link set vy netns "$B"

wait_for "va to come up" sh -c "ip -n $A link show va | grep -q 'state UP'"
out=$(ipx -n "$A" -d link show va)
has "$out" '^[0-9]+: va@' "va exists"
has "$out" 'mtu 1400 ' "va mtu"
has "$out" ' master br0 ' "va master"
has "$out" ' state UP ' "va state"
has "$out" "link-netns $B" "va's peer namespace"
has "$out" '^    veth' "va kind"
has "$out" 'bridge_slave' "va is a bridge port"
out=$(ipx -n "$B" -d link show vb)
has "$out" '^    veth' "vb (peer) made in namespace b"
out=$(ipx -n "$A" -d link show br0)
has "$out" '^    bridge ' "br0 kind"
out=$(ipx -n "$A" -d link show tun0)
has "$out" "tun type tun .*persist on user $(uname_of 65534)( |\$)" "tun0 kind/owner"
has "$out" 'state DOWN' "tun0 state"
out=$(ipx -n "$A" -d link show tap0)
has "$out" "tun type tap .*persist on user $(uname_of 1000) group $(gname_of 100)( |\$)" \
	"tap0 kind/owner/group"
has "$(ipx -n "$B" link show vy)" '^[0-9]+: vy@' "link set netns moved vy to b"
lacks "$(ipx -n "$A" link show)" ' vy@' "vy still in a"

log "culvertctl link show agrees with itself"
out=$(ctl -n "$A" link show va)
has "$out" '^[0-9]+: va@if[0-9]+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 master br0 state UP' \
	"culvertctl link show va"
has "$(ctl -n "$A" link show tun0)" "tun type tun user 65534 persist on" "culvertctl link show tun0"

log "links made by ip, seen by culvertctl"
ipx -n "$I" link set lo up
ipx -n "$I" link add ia mtu 1300 type veth peer name ib
ipx -n "$I" link add br1 type bridge
ipx -n "$I" link set ia master br1
ipx -n "$I" link set ia up
ipx -n "$I" link set ib up
ipx -n "$I" link set br1 up
ipx -n "$I" tuntap add mode tun name tun1 user 65534
wait_for "ia to come up" sh -c "'$CULVERTCTL' -n $I link show ia | grep -q 'state UP'"
out=$(ctl -n "$I" link show ia)
has "$out" '^[0-9]+: ia@ib: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1300 master br1 state UP' "ia"
has "$out" '^    veth$' "ia kind"
has "$out" '^    bridge_slave$' "ia slave kind"
has "$(ctl -n "$I" link show br1)" '^    bridge$' "br1 kind"
has "$(ctl -n "$I" link show tun1)" 'tun type tun user 65534 persist on' "tun1 kind/owner"
has "$(ctl -n "$I" link show)" ': ib@ia: ' "link show lists all"

log "link set and del by culvertctl, seen by ip"
ctl -n "$I" link set ia nomaster down
out=$(ipx -n "$I" link show ia)
lacks "$out" 'master' "ia nomaster"
lacks "$out" '<[^>]*UP' "ia down"
ctl -n "$I" link del tun1
lacks "$(ipx -n "$I" link show)" 'tun1' "tun1 deleted"
ctl -n "$A" link del tun0
lacks "$(ipx -n "$A" link show)" 'tun0' "tun0 deleted"

log "link errors carry the name and the kernel's message"
expect_exit 1 "link add va: File exists" "adding an existing veth" -- \
	ctl -n "$A" link add va type veth peer vz
expect_exit 1 "link add tap0: File exists" "adding an existing tap" -- \
	ctl -n "$A" link add tap0 type tap
expect_exit 1 "link set va: Invalid argument \(kernel: .+\)" "mtu below minimum" -- \
	ctl -n "$A" link set va mtu 10
expect_exit 1 "link del nosuch0: No such device" "deleting a missing link" -- \
	ctl -n "$A" link del nosuch0
expect_exit 2 "unknown type" "unknown link type" -- ctl -n "$A" link add x0 type frob

log "addresses: culvertctl -> ip"
ctl -n "$A" addr add 198.18.0.1/30 dev br0
ctl -n "$A" addr add 2001:db8::1/64 dev br0
ctl -n "$B" addr add 198.18.0.2/30 dev vb
ctl -n "$B" addr add 2001:db8::2/64 dev vb
ctl -n "$B" addr add 198.18.0.9/32 dev vb
out=$(ipx -n "$A" addr show dev br0)
has "$out" 'inet 198.18.0.1/30 scope global br0' "IPv4 address on br0"
has "$out" 'inet6 2001:db8::1/64 scope global nodad' "IPv6 address on br0, without DAD"
lacks "$out" '2001:db8::1/64 .*tentative' "IPv6 address is not tentative"
ctl -n "$B" addr del 198.18.0.9/32 dev vb
lacks "$(ipx -n "$B" addr show dev vb)" '198.18.0.9' "address deleted"
expect_exit 1 "addr add 198.18.0.1/30 dev br0: File exists" "adding an existing address" -- \
	ctl -n "$A" addr add 198.18.0.1/30 dev br0
expect_exit 1 "addr del 2001:db8::7/64 dev br0: .*\(kernel: .+\)" "deleting a missing address" -- \
	ctl -n "$A" addr del 2001:db8::7/64 dev br0

log "addresses: ip -> culvertctl"
ipx -n "$I" addr add 198.18.1.1/24 dev br1
ipx -n "$I" -6 addr add 2001:db8:1::1/64 dev br1 nodad
out=$(ctl -n "$I" addr show dev br1)
has "$out" '^[0-9]+: br1: ' "addr show header"
has "$out" '^    inet 198.18.1.1/24 scope global br1$' "ip's IPv4 address"
has "$out" '^    inet6 2001:db8:1::1/64 scope global nodad$' "ip's IPv6 address"
lacks "$out" '127.0.0.1' "addr show dev filters"
has "$(ctl -n "$I" addr show)" 'inet 127.0.0.1/8 scope host lo' "addr show lists all"

log "routes: culvertctl -> ip"
ctl -n "$A" route add default via 198.18.0.2
ctl -n "$A" route add 198.18.4.0/24 dev br0
ctl -n "$A" route add 198.18.5.0/24 via 198.18.0.2 dev br0
ctl -n "$A" route add 2001:db8:4::/48 via 2001:db8::2
ctl -n "$A" route add 2001:db8:5::/48 dev br0
ctl -n "$A" route add default via 2001:db8::2
out=$(ipx -n "$A" -4 route show)
has "$out" '^default via 198.18.0.2 dev br0' "IPv4 default route"
has "$out" '^198.18.4.0/24 dev br0 .*scope link' "IPv4 device route"
has "$out" '^198.18.5.0/24 via 198.18.0.2 dev br0' "IPv4 route via and dev"
out=$(ipx -n "$A" -6 route show)
has "$out" '^2001:db8:4::/48 via 2001:db8::2 dev br0' "IPv6 route via"
has "$out" '^2001:db8:5::/48 dev br0' "IPv6 device route"
has "$out" '^default via 2001:db8::2 dev br0' "IPv6 default route"
ctl -n "$A" route del 198.18.4.0/24
ctl -n "$A" route del 2001:db8:5::/48 dev br0
lacks "$(ipx -n "$A" route show)" '198.18.4.0/24' "IPv4 route deleted"
lacks "$(ipx -n "$A" -6 route show)" '2001:db8:5::/48' "IPv6 route deleted"
expect_exit 1 "route add default: File exists" "adding an existing route" -- \
	ctl -n "$A" route add default via 198.18.0.2
expect_exit 1 "route del 198.18.7.0/24: No such process" "deleting a missing route" -- \
	ctl -n "$A" route del 198.18.7.0/24
expect_exit 1 "route add 198.18.9.1/24: .*\(kernel: .+\)" "prefix with host bits" -- \
	ctl -n "$A" route add 198.18.9.1/24 dev br0
expect_exit 2 "another family" "gateway of the wrong family" -- \
	ctl -n "$A" route add 2001:db8:9::/48 via 198.18.0.2

log "routes: ip -> culvertctl"
ipx -n "$I" route add 198.18.6.0/24 via 198.18.1.2
ipx -n "$I" route add default dev br1
ipx -n "$I" -6 route add 2001:db8:6::/48 via 2001:db8:1::2
ipx -n "$I" -6 route add default dev br1
out=$(ctl -n "$I" route show)
has "$out" '^198.18.6.0/24 via 198.18.1.2 dev br1 ' "ip's IPv4 route via"
has "$out" '^default dev br1 .*scope link' "ip's IPv4 default route"
has "$out" '^198.18.1.0/24 dev br1 proto kernel scope link src 198.18.1.1' "connected route"
has "$out" '^2001:db8:6::/48 via 2001:db8:1::2 dev br1 ' "ip's IPv6 route via"
has "$out" '^default dev br1 proto boot metric 1024' "ip's IPv6 default route"

log "forwarding follows -n"
host_v4=$(sysctl -n net.ipv4.ip_forward)
ctl -n "$A" forward on
[ "$(nsrun "$A" sysctl -n net.ipv4.ip_forward)" = 1 ] || die "IPv4 forwarding not on in a"
[ "$(nsrun "$A" sysctl -n net.ipv6.conf.all.forwarding)" = 1 ] || die "IPv6 forwarding not on in a"
[ "$(nsrun "$B" sysctl -n net.ipv4.ip_forward)" = 0 ] || die "forwarding leaked into b"
[ "$(sysctl -n net.ipv4.ip_forward)" = "$host_v4" ] || die "forwarding leaked into the host"
has "$(ctl -n "$A" forward show)" '^ipv6 on$' "forward show"
ctl -n "$A" forward off
[ "$(nsrun "$A" sysctl -n net.ipv4.ip_forward)" = 0 ] || die "IPv4 forwarding not off in a"

log "netns exec runs inside, with its own /sys"
out=$(ctl netns exec "$B" -- ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | xargs)
[ "$out" = "lo vb vy" ] || die "netns exec: ip link shows '$out', want 'lo vb vy'"
out=$(ctl netns exec "$B" ls /sys/class/net | sort | xargs)
[ "$out" = "lo vb vy" ] || die "netns exec: /sys/class/net has '$out', want 'lo vb vy'"
rc=0
ctl netns exec "$B" -- sh -c 'exit 7' || rc=$?
[ "$rc" = 7 ] || die "netns exec: exit status $rc, want 7"
expect_exit 127 "netns exec $B: no-such-cmd-$$: No such file" "exec of a missing command" -- \
	ctl netns exec "$B" -- "no-such-cmd-$$"
expect_exit 1 "netns exec ctl-$$-none" "exec in a missing namespace" -- \
	ctl netns exec "ctl-$$-none" -- true
expect_exit 2 "no command" "exec without a command" -- ctl netns exec "$B" --

log "ping across the veth, namespaces built only with culvertctl"
ctl netns exec "$A" -- ping -c 3 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "IPv4 ping a -> b"
ctl netns exec "$B" -- ping -c 3 -i 0.2 -W 2 198.18.0.1 >/dev/null || die "IPv4 ping b -> a"
ctl netns exec "$A" -- ping -6 -c 3 -i 0.2 -W 2 2001:db8::2 >/dev/null || die "IPv6 ping a -> b"

log "deleting namespaces"
for ns in "$A" "$B" "$I"; do
	ctl netns del "$ns"
done
for ns in "$A" "$B" "$I"; do
	lacks "$(ipx netns list)" "^$ns( |\$)" "ip still lists $ns"
done
echo "PASS"
