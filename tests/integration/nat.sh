#!/bin/bash
# SPDX-License-Identifier: MIT
# culvertctl nat: masquerading and port forwarding through a router, in
# nftables' table inet culvert, made with libnftables.
#
#   namespace c ("container")       namespace r (router)              namespace o (outside)
#   veth0 198.18.1.2/24 --------- vc 198.18.1.1/24   vo 198.18.2.1/24 --------- veth0 198.18.2.2/24
#         2001:db8:1::2/64           2001:db8:1::1/64   2001:db8:2::1/64              2001:db8:2::2/64
#   default via 198.18.1.1,         forward on;                        no route back to c's
#   default via 2001:db8:1::1       culvertctl -n r nat ...            networks
#
# Without NAT c cannot reach o (o cannot answer); masquerading out vo
# makes c reach o as 198.18.2.1 (and 2001:db8:2::1); a DNAT of r's TCP
# port 8080 on vo reaches a server on c port 80.  Then: show prints the
# canonical words, adding twice is one rule, each rule deleted takes the
# table with the last, flush, and misuse (injections included) refused
# with exit 2 and the reason before nftables sees anything.
source "$(dirname "$0")/lib.sh"

netns_add c r o
veth_pair c veth0 r vc
veth_pair r vo o veth0
addr c veth0 198.18.1.2/24 2001:db8:1::2/64
addr r vc 198.18.1.1/24 2001:db8:1::1/64
addr r vo 198.18.2.1/24 2001:db8:2::1/64
addr o veth0 198.18.2.2/24 2001:db8:2::2/64
ctl -n "$(ns c)" route add default via 198.18.1.1
ctl -n "$(ns c)" route add default via 2001:db8:1::1
ctl -n "$(ns r)" forward on >/dev/null

# rnat ARGS...: culvertctl nat in r.
rnat() { ctl -n "$(ns r)" nat "$@"; }

# culvert_rules: how many rules r's table inet culvert holds, by nft itself.
culvert_rules() { n r timeout 10 nft list table inet culvert | grep -c ' comment "' || true; }

# has_table: r has a table inet culvert (nft list tables says).
has_table() { n r timeout 10 nft list tables | grep -x 'table inet culvert' >/dev/null; }

# tcp_server ROLE ADDR PORT NAME: a one-shot TCP server in ROLE's
# namespace on ADDR:PORT that reads a line and answers "ok:LINE:PEER"
# (PEER the address the connection came from, also written to
# $WORK/NAME.peer).  Returns once it listens.
tcp_server() {
	local role=$1 addr=$2 port=$3 name=$4
	rm -f "$WORK/$name.ready" "$WORK/$name.peer"
	n "$role" timeout 30 python3 -c '
import socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
open(out + ".ready", "w").close()
c, peer = s.accept()
c.settimeout(10)
line = c.makefile().readline().strip()
open(out + ".peer", "w").write(peer[0])
c.sendall(("ok:%s:%s\n" % (line, peer[0])).encode())
c.close()' "$addr" "$port" "$WORK/$name" >"$WORK/$name.log" 2>&1 &
	DAEMONS+=("$!")
	wait_for 10 test -e "$WORK/$name.ready" || die "server $name did not listen on $addr:$port"
}

# tcp_ask ROLE ADDR PORT TOKEN: connects from ROLE's namespace to
# ADDR:PORT, sends TOKEN and prints the answer line.
tcp_ask() {
	n "$1" timeout 15 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall((sys.argv[3] + "\n").encode())
print(s.makefile().readline().strip())' "$2" "$3" "$4"
}

# refused CODE PATTERN ARGS...: culvertctl -n r nat ARGS exits CODE with
# PATTERN (grep -F) in its message.
refused() {
	local code=$1 pattern=$2 rc=0
	shift 2
	rnat "$@" >"$WORK/refused.out" 2>&1 || rc=$?
	[ "$rc" = "$code" ] || die "nat $* exited $rc, not $code: $(cat "$WORK/refused.out")"
	grep -qF -- "$pattern" "$WORK/refused.out" ||
		die "nat $*: no '$pattern' in: $(cat "$WORK/refused.out")"
}

ctl nat help | grep 'masquerade out DEV' >/dev/null || die "nat help does not describe masquerade"
ctl --help | grep 'dnat { tcp | udp } PORT to ADDR\[:PORT\] in DEV' >/dev/null ||
	die "culvertctl --help does not describe nat"

log "unprivileged: one line of ours, not libnftables' own"
rc=0
n r setpriv --reuid=nobody --regid=nogroup --clear-groups "$CULVERTCTL" nat show \
	>"$WORK/nobody.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || die "nat show as nobody exited $rc, not 1: $(cat "$WORK/nobody.out")"
[ "$(cat "$WORK/nobody.out")" = "culvertctl: nat show: nftables needs CAP_NET_ADMIN (run it as root)" ] ||
	die "nat show as nobody said: $(cat "$WORK/nobody.out")"

log "without NAT: r reaches both sides, c cannot reach o"
ping_ok c 198.18.1.1
ping_ok r 198.18.2.2
ping_ok r 2001:db8:2::2
[ -z "$(rnat show)" ] || die "nat show is not empty before any rule"
! has_table || die "a culvert table before any rule"
! n c ping -c 2 -i 0.2 -W 1 198.18.2.2 >/dev/null 2>&1 || die "c reaches o without NAT"
! n c ping -c 2 -i 0.2 -W 1 2001:db8:2::2 >/dev/null 2>&1 || die "c reaches o over IPv6 without NAT"

log "masquerade out vo from 198.18.1.0/24"
rnat add masquerade out vo from 198.18.1.0/24
has_table || die "no culvert table after the first add"
ping_ok c 198.18.2.2
tcp_server o 198.18.2.2 5001 srv4
answer=$(tcp_ask c 198.18.2.2 5001 hello4) || die "c could not talk TCP to o"
[ "$answer" = "ok:hello4:198.18.2.1" ] || die "o answered '$answer', not ok:hello4:198.18.2.1"
[ "$(cat "$WORK/srv4.peer")" = 198.18.2.1 ] || die "o saw c as $(cat "$WORK/srv4.peer")"
log "o sees c's connection from $(cat "$WORK/srv4.peer")"
[ "$(rnat show)" = "masquerade out vo from 198.18.1.0/24" ] ||
	die "nat show printed '$(rnat show)'"

out=$(rnat add masquerade out vo from 198.18.1.0/24 2>&1) || die "adding the rule again failed: $out"
[ -z "$out" ] || die "adding the rule again printed '$out'"
[ "$(culvert_rules)" = 1 ] || die "adding the rule again left $(culvert_rules) rules"
[ "$(rnat show | wc -l)" = 1 ] || die "adding the rule again: show has $(rnat show | wc -l) lines"

log "masquerade out vo from 2001:db8:1::/64"
rnat add masquerade out vo from 2001:db8:1::/64
ping_ok c 2001:db8:2::2
tcp_server o 2001:db8:2::2 5002 srv6
answer=$(tcp_ask c 2001:db8:2::2 5002 hello6) || die "c could not talk TCP to o over IPv6"
[ "$answer" = "ok:hello6:2001:db8:2::1" ] || die "o answered '$answer', not ok:hello6:2001:db8:2::1"
log "o sees c's IPv6 connection from $(cat "$WORK/srv6.peer")"

log "dnat tcp 8080 to 198.18.1.2:80 in vo"
rnat add dnat tcp 8080 to 198.18.1.2:80 in vo
token="culvert-$RANDOM$RANDOM"
tcp_server c 198.18.1.2 80 web
answer=$(tcp_ask o 198.18.2.1 8080 "$token") || die "o could not reach 198.18.2.1:8080"
# c sees o itself: only what leaves through vo is masqueraded.
[ "$answer" = "ok:$token:198.18.2.2" ] || die "through the DNAT: '$answer', not ok:$token:198.18.2.2"
log "o -> 198.18.2.1:8080 reached c:80 ($answer)"

printf '%s\n' "dnat tcp 8080 to 198.18.1.2:80 in vo" "masquerade out vo from 198.18.1.0/24" \
	"masquerade out vo from 2001:db8:1::/64" >"$WORK/want.show"
rnat show | sort >"$WORK/got.show"
diff -u "$WORK/want.show" "$WORK/got.show" || die "nat show differs"
[ "$(culvert_rules)" = 3 ] || die "nft lists $(culvert_rules) rules, not 3"

log "misuse is refused before nftables sees it"
n r timeout 10 nft list ruleset >"$WORK/ruleset.before"
refused 2 "'70000' is not a port (1 to 65535)" add dnat tcp 70000 to 198.18.1.2:80 in vo
refused 2 "'foo' is not a port (1 to 65535)" add dnat udp foo to 198.18.1.2 in vo
refused 2 "'0' is not a port (1 to 65535)" add dnat tcp 8080 to 198.18.1.2:0 in vo
refused 2 "'sctp' is not a protocol (tcp or udp)" add dnat sctp 80 to 198.18.1.2 in vo
refused 2 "'198.18.1.1/24' has host bits set (did you mean 198.18.1.0/24?)" \
	add masquerade out vo from 198.18.1.1/24
refused 2 "'2001:db8:1::1/64' has host bits set (did you mean 2001:db8:1::/64?)" \
	del masquerade out vo from 2001:db8:1::1/64
refused 2 "'198.18.1.0/33' is not an IPv4 or IPv6 prefix" add masquerade out vo from 198.18.1.0/33
refused 2 "unknown rule kind 'snat' (masquerade or dnat)" add snat out vo
refused 2 "'0123456789abcdef' is not an interface name" add masquerade out 0123456789abcdef
refused 2 "'v/o' is not an interface name" add masquerade out v/o
refused 2 "'eth0; flush ruleset' is not an interface name" add masquerade out 'eth0; flush ruleset'
refused 2 "is not an interface name" add masquerade out 'vo";flush;"'
refused 2 "'vo*' is not an interface name" add masquerade out 'vo*'
refused 2 "is not an interface name" add masquerade out "v'o"
refused 2 "is not an address" add dnat tcp 8080 to '198.18.1.2"; flush ruleset; "' in vo
refused 2 "'80 comment \"x\"; flush ruleset' is not a port" \
	add dnat tcp 8080 to '198.18.1.2:80 comment "x"; flush ruleset' in vo
refused 2 "is not an address" add dnat tcp 8080 to '[198.18.1.2]:80' in vo
refused 2 "masquerade: unexpected 'in'" add masquerade in vo
refused 2 "dnat needs 'to ADDR[:PORT]'" add dnat tcp 8080 in vo
refused 2 "unknown verb 'frob'" frob
refused 1 "nat del masquerade out vo from 198.18.9.0/24: no such rule" \
	del masquerade out vo from 198.18.9.0/24
refused 1 "no such rule" del dnat tcp 8080 to 198.18.1.2:81 in vo
n r timeout 10 nft list ruleset >"$WORK/ruleset.after"
diff -u "$WORK/ruleset.before" "$WORK/ruleset.after" || die "misuse changed r's ruleset"

log "del each rule; the last takes the table"
rnat del masquerade out vo from 198.18.1.0/24
[ "$(culvert_rules)" = 2 ] || die "after one del: $(culvert_rules) rules"
! n c ping -c 2 -i 0.2 -W 1 198.18.2.2 >/dev/null 2>&1 || die "c reaches o after the masquerade's del"
rnat del dnat tcp 8080 to 198.18.1.2:80 in vo
rnat del masquerade out vo from 2001:db8:1::/64
! has_table || die "the culvert table outlived its last rule: $(n r nft list tables)"
[ -z "$(rnat show)" ] || die "nat show after the last del: $(rnat show)"
refused 1 "no such rule" del masquerade out vo from 2001:db8:1::/64

log "eight culvertctl adding one rule at once: it is there once"
# Each looks, then adds (a rule already there is success); nat.lock makes
# the two steps one.  No table yet: they race to make it too.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	rnat add dnat tcp 2222 to 198.18.1.2:22 in vo >"$WORK/race$i.out" 2>&1 &
	pids+=("$!")
done
for i in 1 2 3 4 5 6 7 8; do
	wait "${pids[$((i - 1))]}" || die "concurrent add $i failed: $(cat "$WORK/race$i.out")"
done
[ "$(culvert_rules)" = 1 ] || die "8 concurrent adds made $(culvert_rules) rules"
rnat del dnat tcp 2222 to 198.18.1.2:22 in vo
! has_table || die "the culvert table outlived its last rule: $(n r nft list tables)"

log "flush"
rnat add masquerade out vo
rnat add dnat udp 5353 to 198.18.1.2 in vo
# The same port written out is the same rule as none.
rnat add dnat udp 5354 to 198.18.1.2:5354 in vo
[ "$(rnat show | sort | tr '\n' '|')" = "dnat udp 5353 to 198.18.1.2 in vo|dnat udp 5354 to 198.18.1.2 in vo|masquerade out vo|" ] ||
	die "nat show: $(rnat show)"
rnat flush
! has_table || die "flush left the culvert table"
rnat flush || die "flush without a table failed"
[ -z "$(rnat show)" ] || die "nat show after flush: $(rnat show)"

echo "PASS: culvertctl nat (masquerade, dnat, show, del, flush, misuse, concurrent adds)"
