#!/bin/bash
# SPDX-License-Identifier: MIT
# The example labs, doc/topologies/LAB.ini (culvertctl topology), each run
# as its comment says it works:
#
#   topologies.sh veth-pair|dhcp-bridge|router|nat|bridged-sites|netns-tunnel
#
# A copy of the file (beside keys/, when it has sealed tunnels: their
# public keys go in place of A_PUBLIC_KEY and B_PUBLIC_KEY, as the file
# says) goes up with --prefix "$PFX-", so its namespaces are this test's;
# show finds nothing missing; the lab's own check; up again makes nothing;
# down, after which nothing of the lab may be left: no namespace with the
# prefix, no process the journal recorded or that still holds one of the
# lab's namespaces or names the prefix or $WORK, no table inet culvert on
# the host that was not there before, no file under
# $CULVERT_RUNDIR/topology, nothing new beside the file.  With router, a
# broken copy too: up fails with exit 1 naming FILE:LINE, and down then
# removes what it had made.  With nat, the same for an [exec] that never
# listens where its ready = says.
source "$(dirname "$0")/lib.sh"

LAB=${1:-}
LABS=$(cd "$HERE/../../doc/topologies" && pwd)
if [ -z "$LAB" ] || [ ! -f "$LABS/$LAB.ini" ]; then
	die "usage: topologies.sh LAB, LAB one of: $(cd "$LABS" && ls -- *.ini | sed 's/\.ini$//' | tr '\n' ' ')"
fi
DIR=$WORK/lab
FILE=$DIR/$LAB.ini
STATE=$CULVERT_RUNDIR/topology/$PFX-$LAB
UDHCPC_SCRIPT=$LABS/udhcpc.script
mkdir "$DIR"
cp "$LABS/$LAB.ini" "$FILE"
if grep -q '_PUBLIC_KEY' "$FILE"; then
	mkdir -m 700 "$DIR/keys"
	for side in a b; do
		(umask 077 && ctl genkey >"$DIR/keys/$side.key")
	done
	sed -i "s|A_PUBLIC_KEY|$(ctl pubkey <"$DIR/keys/a.key")|; s|B_PUBLIC_KEY|$(ctl pubkey <"$DIR/keys/b.key")|" "$FILE"
fi
# The namespaces the file declares, prefixed: lib.sh's trap deletes them
# (and kills what runs in them) if this test fails halfway.
LAB_NS=()
while read -r name; do
	LAB_NS+=("$PFX-$name")
	NAMESPACES+=("$PFX-$name")
done < <(sed -n 's/^\[netns \([^] ]*\)\]$/\1/p' "$FILE")
[ "${#LAB_NS[@]}" -gt 0 ] || die "$LAB.ini declares no [netns]"
ls -A "$DIR" | sort >"$WORK/dir.before"
nft list tables 2>/dev/null | sort >"$WORK/nft.before" || true

# topo VERB [FILE]: culvertctl topology VERB FILE --prefix "$PFX-", its
# output in $WORK/VERB.out; returns its exit status.
topo() {
	local rc=0
	timeout 60 "$CULVERTCTL" topology "$1" "${2:-$FILE}" --prefix "$PFX-" >"$WORK/$1.out" 2>&1 || rc=$?
	return "$rc"
}

# lease ROLE [UDHCPC_ARGS...]: busybox udhcpc on eth0 in ROLE's namespace
# with the lab's udhcpc.script; prints the ADDR/LEN it applied, which must
# be in dnsmasq's range 198.18.1.100 .. 198.18.1.199 and on eth0.
lease() {
	local role=$1 got ip
	shift
	n "$role" timeout 30 busybox udhcpc -i eth0 -n -q -f -t 5 -T 2 -s "$UDHCPC_SCRIPT" "$@" \
		>"$WORK/udhcpc-$role.out" 2>&1 || die "$role got no lease: $(cat "$WORK/udhcpc-$role.out")"
	got=$(sed -n 's/^lease eth0 \([^ ]*\) .*/\1/p' "$WORK/udhcpc-$role.out")
	ip=${got%/*}
	if ! [[ "$got" =~ ^198\.18\.1\.([0-9]+)/24$ ]] || [ "${BASH_REMATCH[1]}" -lt 100 ] ||
		[ "${BASH_REMATCH[1]}" -gt 199 ]; then
		die "$role leased '$got', not 198.18.1.100-199/24"
	fi
	n "$role" ip -4 -o addr show dev eth0 | grep -F " $got " >/dev/null || die "$role: $got is not on eth0"
	printf '%s\n' "$ip"
}

# resolve ROLE NAME SERVER: NAME's IPv4 address as SERVER answers ROLE.
resolve() {
	n "$1" timeout 10 busybox nslookup -type=a "$2" "$3" >"$WORK/nslookup.out" 2>&1 ||
		die "$1 cannot resolve $2 through $3: $(cat "$WORK/nslookup.out")"
	awk '/^Name:/ { name = 1 } name && /^Address/ { print $2; exit }' "$WORK/nslookup.out"
}

# resolves_to ROLE NAME SERVER ADDR: NAME resolves to ADDR.
resolves_to() {
	local got
	got=$(resolve "$1" "$2" "$3")
	[ "$got" = "$4" ] || die "$1: $2 resolves to '$got', not $4"
	log "$1 resolves $2 -> $4 through $3"
}

# only_lo_and_tun ROLE: the namespace has no interface but lo and tun0.
only_lo_and_tun() {
	local links
	links=$(n "$1" ls /sys/class/net | sort | tr '\n' ' ')
	[ "$links" = "lo tun0 " ] || die "$1 has interfaces '$links', not just lo and tun0"
}

check_veth_pair() {
	ping_ok left 198.18.0.2
	ping_ok right 198.18.0.1
	ping_ok left 2001:db8:18::2
	ping_ok right 2001:db8:18::1
}

check_dhcp_bridge() {
	local c1 c2
	c1=$(lease client1 -x hostname:client1)
	log "client1 leased $c1"
	c2=$(lease client2)
	log "client2 leased $c2"
	[ "$c1" != "$c2" ] || die "both clients leased $c1"
	resolves_to client2 server.lab.test 198.18.1.1 198.18.1.1
	# A name dnsmasq learnt from client1's request (its hostname option).
	resolves_to client2 client1.lab.test 198.18.1.1 "$c1"
	ping_ok client2 "$c1"
}

check_router() {
	local out
	ping_ok left 198.18.2.2
	ping_ok right 198.18.1.2
	ping_ok left 2001:db8:18:2::2
	ping_ok right 2001:db8:18:1::2
	out=$(n left ping -c 1 -t 1 -W 2 198.18.2.2 2>&1 || true)
	grep -q "^From 198.18.1.1 .*Time to live exceeded" <<<"$out" ||
		die "TTL 1 from left did not die at the router: $out"
	log "left -> 198.18.2.2 with TTL 1: $(grep '^From' <<<"$out")"
	out=$(n right ping -c 1 -t 1 -W 2 2001:db8:18:1::2 2>&1 || true)
	grep -q "^From 2001:db8:18:2::1 .*Time exceeded" <<<"$out" ||
		die "hop limit 1 from right did not die at the router: $out"
	log "right -> 2001:db8:18:1::2 with hop limit 1: $(grep '^From' <<<"$out")"
}

check_nat() {
	local from
	n outside ip route get 198.18.1.2 >/dev/null 2>&1 && die "outside has a route back to the container"
	n gateway nft list table inet culvert | grep 'masquerade' >/dev/null ||
		die "no masquerade rule in the gateway's table inet culvert"
	ping_ok container 198.18.2.2
	# No retry: up returned once web listened (ready = tcp 8000).
	n container busybox wget -q -O /dev/null http://198.18.2.2:8000/ ||
		die "the container cannot fetch http://198.18.2.2:8000/"
	from=$(awk '/"GET \/ / { a = $1 } END { print a }' "$STATE/web.log")
	[ "$from" = 198.18.2.1 ] || die "web saw the request from '$from', not the gateway's 198.18.2.1"
	log "web in outside saw the container's request from $from (masqueraded)"
}

check_bridged_sites() {
	local b mac
	b=$(lease host-b -x hostname:host-b)
	log "host-b (site B) leased $b from dnsmasq on site A, through the tunnel"
	resolves_to host-b server.lab.test 198.18.1.1 198.18.1.1
	ping_ok host-b 198.18.1.1
	resolves_to host-a host-b.lab.test 198.18.1.1 "$b"
	mac=$(n host-b cat /sys/class/net/eth0/address)
	n router-a bridge fdb show br br0 | grep "^$mac dev tap0 " >/dev/null ||
		die "router-a's br0 did not learn host-b's $mac on tap0"
	log "router-a's br0 learned host-b's $mac on tap0"
}

check_netns_tunnel() {
	local side
	for side in a b; do
		only_lo_and_tun "dev-$side"
		! has_link "under-$side" tun0 || die "tun0 in the underlay namespace under-$side"
	done
	ping_ok dev-a 198.19.0.2
	ping_ok dev-b 198.19.0.1
	ping_ok dev-a 2001:db8:19::2
	ping_ok dev-b 2001:db8:19::1
	ctl show >"$WORK/show.out" || die "culvertctl show failed"
	for side in a b; do
		grep -q "^interface: tun0 (netns $PFX-dev-$side)$" "$WORK/show.out" ||
			die "show does not name dev-$side: $(cat "$WORK/show.out")"
		grep -q "^  underlay netns: $PFX-under-$side$" "$WORK/show.out" ||
			die "show does not name under-$side"
	done
	log "show: tun0 in $PFX-dev-a and $PFX-dev-b, sockets in $PFX-under-a and $PFX-under-b"
}

# lab_ns_inodes: the inode of each of the lab's namespaces, one a line.
lab_ns_inodes() {
	local ns
	for ns in "${LAB_NS[@]}"; do
		stat -L -c %i "/run/netns/$ns"
	done
}

# nothing_left PROCS INODES: after down, nothing of the lab remains.  PROCS
# holds the journal's "PID STARTTIME" lines, INODES lab_ns_inodes' output.
nothing_left() {
	local procs=$1 inodes=$2 pid start stat p ino left
	left=$(ip netns list | awk -v p="$PFX-" 'index($1, p) == 1 { print $1 }')
	[ -z "$left" ] || die "namespaces left: $left"
	while read -r pid start; do
		[ -n "$pid" ] || continue
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# A zombie has been stopped; whoever reaps it is not the lab.
		[ "${stat%% *}" != Z ] || continue
		[ "$(cut -d' ' -f20 <<<"$stat")" != "$start" ] ||
			die "process $pid of the lab still runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	done <<<"$procs"
	for p in /proc/[0-9]*; do
		ino=$(readlink "$p/ns/net" 2>/dev/null) || continue
		ino=${ino#net:[}
		! grep -qx "${ino%]}" <<<"$inodes" ||
			die "process ${p#/proc/} still holds a namespace of the lab: $(tr '\0' ' ' <"$p/cmdline")"
	done
	left=$(pgrep -a -f -- "$PFX-|$WORK" || true)
	[ -z "$left" ] || die "processes of the lab left: $left"
	if nft list tables 2>/dev/null | grep -x 'table inet culvert' >/dev/null &&
		! grep -qx 'table inet culvert' "$WORK/nft.before"; then
		die "the host has a table inet culvert it did not have before"
	fi
	left=$(find "$CULVERT_RUNDIR/topology" -mindepth 1 2>/dev/null || true)
	[ -z "$left" ] || die "left under $CULVERT_RUNDIR/topology: $left"
	left=$(ls -A "$DIR" | sort | comm -13 "$WORK/dir.before" -)
	[ -z "$left" ] || die "left beside $LAB.ini: $left"
}

start=$SECONDS
topo up || die "up failed: $(cat "$WORK/up.out")"
log "$(cat "$WORK/up.out")"
# The programs' logs, shown by lib.sh's trap if the test fails.
for f in "$STATE"/*.log; do
	[ ! -e "$f" ] || ln -s "$f" "$WORK/lab-$(basename "$f")"
done
topo show || die "show exited $?: $(cat "$WORK/show.out")"
grep -q MISSING "$WORK/show.out" && die "show finds something missing: $(cat "$WORK/show.out")"
log "show: $(grep -c ': present' "$WORK/show.out") present, $(grep -c ': running' "$WORK/show.out") running"

"check_${LAB//-/_}"

topo up || die "up again failed: $(cat "$WORK/up.out")"
grep -q "^topology $LAB: up (0 made," "$WORK/up.out" || die "up again made something: $(cat "$WORK/up.out")"
log "up again: $(cat "$WORK/up.out")"
procs=$(awk '$1 == "proc" { print $3, $4 }' "$STATE/made")
inodes=$(lab_ns_inodes)
topo down || die "down failed: $(cat "$WORK/down.out")"
log "$(cat "$WORK/down.out")"
nothing_left "$procs" "$inodes"
log "nothing left: no namespace, process, nft table or state file of the lab"

# failed_up COPY WANT: up of COPY (a broken copy of the lab beside it)
# exits 1 and prints WANT (FILE:LINE: ...).
failed_up() {
	local rc=0
	topo up "$1" || rc=$?
	[ "$rc" = 1 ] || die "up of $1 exited $rc, not 1: $(cat "$WORK/up.out")"
	grep -F "$2" "$WORK/up.out" >/dev/null || die "up of $1 does not say '$2': $(cat "$WORK/up.out")"
	log "$(basename "$1"): $(grep -F "$2" "$WORK/up.out")"
}

# down_after COPY: down of COPY after its failed up leaves nothing.
down_after() {
	local procs inodes
	procs=$(awk '$1 == "proc" { print $3, $4 }' "$STATE/made")
	inodes=$(lab_ns_inodes)
	topo down "$1" || die "down after a failed up failed: $(cat "$WORK/down.out")"
	log "after the failed up: $(cat "$WORK/down.out")"
	basename "$1" >>"$WORK/dir.before"
	sort -o "$WORK/dir.before" "$WORK/dir.before"
	nothing_left "$procs" "$inodes"
	log "nothing left after the failed up of $(basename "$1") either"
}

if [ "$LAB" = router ]; then
	# A broken copy: an [exec] whose program does not exist, last.
	broken=$DIR/broken.ini
	cp "$FILE" "$broken"
	printf '\n[exec missing]\nnetns = router\ncommand = ./no-such-program --version\n' >>"$broken"
	line=$(grep -n '^command = ./no-such-program' "$broken" | cut -d: -f1)
	failed_up "$broken" "$broken:$line: exec missing"
	for ns in "${LAB_NS[@]}"; do
		[ -e "/run/netns/$ns" ] || die "the failed up did not make $ns (nothing to remove?)"
	done
	rc=0
	topo show "$broken" || rc=$?
	if [ "$rc" != 1 ] || ! grep -q "exec missing in netns $PFX-router: NOT RUNNING" "$WORK/show.out"; then
		die "show after a failed up exited $rc: $(cat "$WORK/show.out")"
	fi
	down_after "$broken"
fi
if [ "$LAB" = nat ]; then
	# An [exec] that never listens where its ready = says: up fails
	# after the wait, naming the ready = line, and down removes it all.
	deaf=$DIR/deaf.ini
	cp "$FILE" "$deaf"
	printf '\n[exec deaf]\nnetns = outside\nready = tcp 9 1\ncommand = sleep 60\n' >>"$deaf"
	line=$(grep -n '^ready = tcp 9 1$' "$deaf" | cut -d: -f1)
	failed_up "$deaf" "$deaf:$line: exec deaf: did not listen on tcp port 9 within 1 s"
	down_after "$deaf"
fi
if [ "$LAB" = veth-pair ]; then
	# A journal someone else could have written is not believed: down
	# would remove and kill what it lists.
	mkdir -p "$STATE"
	chown nobody "$STATE"
	rc=0
	topo down || rc=$?
	[ "$rc" = 1 ] || die "down with a state directory of nobody's exited $rc, not 1"
	grep -q "is not a directory of ours that only we may write" "$WORK/down.out" ||
		die "down with a foreign state directory: $(cat "$WORK/down.out")"
	log "a state directory of nobody's: $(head -n 1 "$WORK/down.out")"
	rmdir "$STATE"
fi
log "lab $LAB: $((SECONDS - start)) s"
echo "PASS: lab $LAB (doc/topologies/$LAB.ini)"
