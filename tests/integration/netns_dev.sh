#!/bin/bash
# SPDX-License-Identifier: MIT
# The device in one namespace, the sockets in another (issue 14): a sealed
# TUN tunnel over UDP between two namespaces that have nothing but lo and
# the tunnel.
#
#   namespace da (lo, tun0 198.19.0.1)     namespace db (lo, tun0 198.19.0.2)
#            ^ --netns da                           ^ --dev-fd 3 (made in db
#            |                                      |  by a parent process)
#   namespace ua: culvertd                 namespace ub: culvertd
#     veth0 198.18.0.1/24  +--------------------+  veth0 198.18.0.2/24
#
# Side a makes its device in da with --netns; side b takes a descriptor
# that a parent attached in db (as a container runtime would) and learns
# device, mode and namespace from it.  Pings and a file byte for byte both
# ways, the MTU set in the device's namespace from the underlay's route,
# the status naming both namespaces, nothing but lo and tun0 in da and db,
# the devices gone with the daemons, a hub answering for its device's own
# address (read in the device's namespace), and the misuses refused.
source "$(dirname "$0")/lib.sh"

netns_add ua ub da db
veth_pair ua veth0 ub veth0
addr ua veth0 198.18.0.1/24
addr ub veth0 198.18.0.2/24
keypair a
keypair b

# devfd_start DEV_ROLE UNDERLAY_ROLE NAME MODE ARGS...: a parent in
# DEV_ROLE's namespace attaches tun0 (MODE tun or tap, IFF_NO_PI) as fd 3,
# then becomes culvertd in UNDERLAY_ROLE's namespace with --dev-fd 3.
devfd_start() {
	local devns=$1 uns=$2 name=$3 mode=$4
	shift 4
	"$CULVERTCTL" netns exec "$(ns "$devns")" -- python3 -c '
import fcntl, os, struct, sys
TUNSETIFF, IFF_TUN, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0001, 0x0002, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
flags = (IFF_TAP if sys.argv[1] == "tap" else IFF_TUN) | IFF_NO_PI
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", flags))
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.set_inheritable(3, True)
os.execvp(sys.argv[2], sys.argv[2:])' "$mode" "$CULVERTCTL" netns exec "$(ns "$uns")" -- \
		"$CULVERTD" -v --user nobody --group nogroup --dev-fd 3 "$@" >"$WORK/$name.log" 2>&1 &
	DAEMON_PID=$!
	DAEMONS+=("$DAEMON_PID")
	eval "PID_$name=$DAEMON_PID"
}

# only_lo_and_tun ROLE: the namespace has no interface but lo and tun0.
only_lo_and_tun() {
	local links
	links=$(n "$1" ls /sys/class/net | sort | tr '\n' ' ')
	[ "$links" = "lo tun0 " ] || die "$1 has interfaces '$links', not just lo and tun0"
}

log "side a: --netns $(ns da); side b: --dev-fd 3 attached in $(ns db)"
culvertd_start ua a --netns "$(ns da)" --dev tun0 --transport udp --listen ":55555" \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log a "listening"
devfd_start db ub b tun --transport udp --connect "198.18.0.1:55555" \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
wait_log b "session established with"

# The devices are where they were asked to be, and only there.
has_link da tun0 || die "no tun0 in da"
has_link db tun0 || die "no tun0 in db"
! has_link ua tun0 || die "tun0 was made in the sockets' namespace ua"
! has_link ub tun0 || die "tun0 appeared in the sockets' namespace ub"
only_lo_and_tun da
only_lo_and_tun db
addr da tun0 198.19.0.1/24 2001:db8:19::1/64
addr db tun0 198.19.0.2/24 2001:db8:19::2/64

# The default MTU comes from the underlay's route toward the peer (in ub,
# through veth0), and was set on the device in db: 1500 less IPv4 20, UDP
# 8 and sealed 32.  The listener, with no peer known, assumes 1500 over
# IPv6: 1420.
grep -q "mtu 1440: route mtu 1500 via veth0 " "$WORK/b.log" ||
	die "b did not take its MTU from ub's route: $(grep 'mtu' "$WORK/b.log")"
mtu=$(n db cat /sys/class/net/tun0/mtu)
[ "$mtu" = 1440 ] || die "tun0 in db has MTU $mtu, not 1440 (1500 - 20 - 8 - 32)"
mtu=$(n da cat /sys/class/net/tun0/mtu)
[ "$mtu" = 1420 ] || die "tun0 in da has MTU $mtu, not 1420 (1500 - 40 - 8 - 32)"

ping_ok da 198.19.0.2
ping_ok db 198.19.0.1
ping_ok da 2001:db8:19::2
head -c 4000000 /dev/urandom >"$WORK/blob"
transfer_ok da db 198.19.0.2 "$WORK/blob"
transfer_ok db da 198.19.0.1 "$WORK/blob"

# The status names both namespaces, by the device's in the socket's name.
ctl show >"$WORK/show.out" || die "culvertctl show failed"
grep -q "^interface: tun0 (netns $(ns da))$" "$WORK/show.out" ||
	die "show does not name da: $(cat "$WORK/show.out")"
grep -q "^interface: tun0 (netns $(ns db))$" "$WORK/show.out" ||
	die "show does not name db: $(cat "$WORK/show.out")"
grep -q "^  underlay netns: $(ns ua)$" "$WORK/show.out" || die "show does not name ua"
grep -q "^  underlay netns: $(ns ub)$" "$WORK/show.out" || die "show does not name ub"
test -S "$CULVERT_RUNDIR/tun0@$(ns da).sock" || die "no status socket tun0@$(ns da)"
ctl show --json "tun0@$(ns db)" >"$WORK/show.json" || die "culvertctl show --json failed"
python3 - "$WORK/show.json" "$(ns db)" "$(ns ub)" <<'EOF' || die "JSON status: wrong namespaces"
import json, sys
st = json.load(open(sys.argv[1]))
st = st[0] if isinstance(st, list) else st
assert st["netns"] == sys.argv[2], st
assert st["underlay_netns"] == sys.argv[3], st
assert st["mode"] == "tun", st
EOF
log "show: $(grep -c '^interface' "$WORK/show.out") interfaces, both namespaces named"

# A device culvertd made goes with it; so does one held only by its fd.
culvertd_stop "$PID_a"
culvertd_stop "$PID_b"
! has_link da tun0 || die "tun0 outlived culvertd in da"
! has_link db tun0 || die "tun0 outlived the descriptor in db"

# A hub whose device is in da answers for the device's own address, read
# over rtnetlink in da and added after start (the netlink watch there): a
# packet from site-b for 198.19.0.1 goes to the device even though peer
# "elsewhere" owns 198.19.0.0/24; were the address unknown, it would be
# forwarded there and lost.
keypair x
cat >"$WORK/hub.conf" <<CONF
[Interface]
Device = tun0
DeviceNetns = $(ns da)
PrivateKeyFile = $WORK/a.key
Listen = :55555
Transports = udp

[Peer]
Name = site-b
PublicKey = $(cat "$WORK/b.pub")
AllowedIPs = 198.19.0.2/32

[Peer]
Name = elsewhere
PublicKey = $(cat "$WORK/x.pub")
AllowedIPs = 198.19.0.0/24
CONF
chmod o+r "$WORK/hub.conf"
culvertd_start ua hub -c "$WORK/hub.conf"
wait_log hub "listening"
culvertd_start ub site --netns "$(ns db)" --dev tun0 --transport udp \
	--connect "198.18.0.1:55555" \
	--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")"
wait_log site "session established with"
addr da tun0 198.19.0.1/24
addr db tun0 198.19.0.2/24
ping_ok db 198.19.0.1
culvertd_stop "$PID_site"
culvertd_stop "$PID_hub"

# Misuse: each refused at start with exit status STATUS (2: the
# configuration, 1: the host) and the reason.
refused() {
	local status=$1 why=$2 rc=0
	shift 2
	"$@" >"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = "$status" ] ||
		die "exit status $rc, not $status, for: $* ($(cat "$WORK/refused.out"))"
	grep -q -- "$why" "$WORK/refused.out" || die "no '$why' in: $(cat "$WORK/refused.out")"
}
refused 1 "DeviceNetns $PFX-nowhere: No such file" n ua "$CULVERTD" --no-drop \
	--netns "$PFX-nowhere" --dev tun1 --listen :55556
refused 2 "not a TUN/TAP descriptor" n ua "$CULVERTD" --no-drop --dev-fd 0 --listen :55556 </dev/null
refused 2 "is neither a namespace name" "$CULVERTD" --check-config --netns "a/b" --dev tun1 \
	--listen :55556
devfd_start db ub tapfd tap --mode tun --listen :55556
wait "$PID_tapfd" && die "a TAP descriptor was taken for --mode tun" || true
grep -q "is a tap device, not Mode tun" "$WORK/tapfd.log" || die "TAP fd: $(cat "$WORK/tapfd.log")"
devfd_start db ub both tun --netns "$(ns da)" --listen :55556
wait "$PID_both" && die "--dev-fd with --netns was taken" || true
grep -q "the device's namespace is the descriptor's own" "$WORK/both.log" ||
	die "--dev-fd with --netns: $(cat "$WORK/both.log")"
echo "PASS: the device in its own namespace (--netns, --dev-fd)"
