#!/bin/bash
# SPDX-License-Identifier: MIT
# A hub's peers change on SIGHUP under load (issue 13): while site a runs
# iperf3 and a ping to the hub, reloads add site c (with a preshared key),
# give site a one more allowed IP, remove site b, and try a peer whose
# preshared key culvertd cannot read (refused, nothing changes).  Site a's
# session is never restarted, its ping loses nothing, its iperf3 runs to
# the end; c comes up and reaches a through the hub; b is cut off.
#
#                      namespace h: the hub, hub.conf (as nobody)
#                 tun0 198.19.0.1/24 2001:db8:19::1/64
#          va 198.18.1.1   vb 198.18.2.1   vc 198.18.3.1
#              |               |               |
#   a: veth0 198.18.1.2  b: veth0 198.18.2.2  c: veth0 198.18.3.2
#   tun0 198.19.0.2       tun0 198.19.0.3       tun0 198.19.0.4
source "$(dirname "$0")/lib.sh"

# culvertd re-reads its file (and a new peer's key file) on SIGHUP as nobody.
chmod o+x "$WORK"
hub_sites
hub_tun keys
keypair d
ctl genpsk >"$WORK/c.psk"
chmod 0600 "$WORK/c.psk"
chown nobody "$WORK/c.psk"
ctl genpsk >"$WORK/d.psk"
chmod 0600 "$WORK/d.psk" # root's: the hub, as nobody, cannot read it

# hub_conf PEER...: the hub's file with these peers (a, b, c, d).
hub_conf() {
	local p
	{
		printf '[Interface]\nDevice = tun0\nMTU = 1400\nPrivateKeyFile = %s\n' "$WORK/h.key"
		printf 'Listen = :55555\nTransports = udp\n'
		for p in "$@"; do
			printf '\n[Peer]\nName = site-%s\nPublicKey = %s\n' "${p:0:1}" \
				"$(cat "$WORK/${p:0:1}.pub")"
			case $p in
			a) printf 'AllowedIPs = 198.19.0.2/32, 2001:db8:19::2/128\n' ;;
			a+) printf 'AllowedIPs = 198.19.0.2/32, 198.19.0.22/32, 2001:db8:19::2/128\n' ;;
			b) printf 'AllowedIPs = 198.19.0.3/32, 2001:db8:19::3/128\n' ;;
			c) printf 'AllowedIPs = 198.19.0.4/32, 2001:db8:19::4/128\nPresharedKeyFile = %s\n' \
				"$WORK/c.psk" ;;
			d) printf 'AllowedIPs = 198.19.0.5/32\nPresharedKeyFile = %s\n' "$WORK/d.psk" ;;
			esac
		done
	} >"$WORK/hub.conf.new"
	chmod 0644 "$WORK/hub.conf.new"
	mv "$WORK/hub.conf.new" "$WORK/hub.conf"
}

# reload PATTERN: SIGHUP to the hub; waits until it logs PATTERN.
reload() {
	local before
	before=$(grep -c "SIGHUP" "$WORK/hub.log" || true)
	kill -HUP "$PID_hub"
	wait_for 10 sh -c "[ \$(grep -c SIGHUP '$WORK/hub.log') -gt $before ]" ||
		die "the hub logged nothing on SIGHUP"
	wait_log hub "$1"
}

# peers_are NAME...: the hub's status lists exactly these peers, established.
peers_are() {
	ctl show "tun0@$(ns h)" --json >"$WORK/hub.json"
	python3 - "$WORK/hub.json" "$@" <<'PY' || die "hub peers: $(cat "$WORK/hub.json")"
import json, sys
st = json.load(open(sys.argv[1]))
names = sorted(p["name"] for p in st["peers"])
assert names == sorted(sys.argv[2:]), names
PY
}

site_up() {
	local i
	case $1 in a) i=1 ;; b) i=2 ;; c) i=3 ;; esac
	culvertd_start $1 $1 --dev tun0 --transport udp --mtu 1400 --connect "198.18.$i.1:55555" \
		--private-key "$WORK/$1.key" --peer-public-key "$(cat "$WORK/h.pub")" "${@:2}"
}

log "a hub with sites a and b"
hub_conf a b
culvertd_start h hub -c "$WORK/hub.conf"
wait_log hub "2 peers"
site_up a
site_up b
wait_log a "session established with" 15
wait_log b "session established with" 15
ping_ok a 198.19.0.3
peers_are site-a site-b

log "under load: iperf3 and a ping from a to the hub through every reload"
n h iperf3 -s -1 -D -I "$WORK/iperf3.pid" -B 198.19.0.1 >/dev/null
wait_for 5 test -s "$WORK/iperf3.pid" || die "iperf3 server did not start"
sleep 0.2
n a timeout 60 iperf3 -c 198.19.0.1 -t 25 -J >"$WORK/iperf.json" 2>&1 &
iperf_pid=$!
n a timeout 60 ping -c 250 -i 0.1 -W 2 198.19.0.1 >"$WORK/ping.txt" 2>&1 &
ping_pid=$!
sleep 1

log "SIGHUP adds site c (with a preshared key)"
hub_conf a b c
reload "3 peers (2 kept, 1 added, 0 removed)"
site_up c --preshared-key "$WORK/c.psk"
wait_log c "session established with" 15
ping_ok c 198.19.0.2
ping_ok c 2001:db8:19::3
peers_are site-a site-b site-c

log "SIGHUP gives site a one more allowed IP"
addr a tun0 198.19.0.22/32
if n a ping -c 1 -W 1 -I 198.19.0.22 198.19.0.1 >/dev/null; then
	die "198.19.0.22 was answered before it was site a's"
fi
hub_conf a+ b c
reload "3 peers (3 kept, 0 added, 0 removed)"
ping_ok a 198.19.0.1 # from its main address, then from the new one
n a ping -c 3 -i 0.2 -W 2 -I 198.19.0.22 198.19.0.1 >/dev/null ||
	die "198.19.0.22 is not site a's after the reload"

log "SIGHUP with a preshared key culvertd cannot read changes nothing"
hub_conf a+ b c d
reload "the peers stay as they were"
grep -q "must be able to read a new peer's PresharedKeyFile" "$WORK/hub.log" ||
	die "the refusal does not say what to fix"
peers_are site-a site-b site-c
ping_ok b 198.19.0.4

log "SIGHUP removes site b"
hub_conf a+ c
reload "2 peers (2 kept, 0 added, 1 removed)"
wait_log hub "peer site-b removed"
peers_are site-a site-c
if n b ping -c 3 -i 0.2 -W 1 198.19.0.1 >/dev/null; then
	die "site b still reaches the hub"
fi
ping_ok c 198.19.0.2

log "site a was never disturbed"
wait "$iperf_pid" || die "iperf3 from a failed across the reloads: $(tail -n 5 "$WORK/iperf.json")"
wait "$ping_pid" || true
python3 - "$WORK/iperf.json" <<'PY' || die "iperf3: $(tail -n 20 "$WORK/iperf.json")"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
assert end["sum_received"]["bytes"] > 10 << 20, end["sum_received"]
print("# iperf3 a -> hub across four reloads: %.1f Mbit/s, %d retransmits"
      % (end["sum_received"]["bits_per_second"] / 1e6, end["sum_sent"].get("retransmits", -1)))
PY
grep -q " 0% packet loss" "$WORK/ping.txt" || die "a's pings were lost: $(tail -n 3 "$WORK/ping.txt")"
log "ping a -> hub: $(grep -o '[0-9]* received' "$WORK/ping.txt") of 250"
[ "$(grep -c "session established with" "$WORK/a.log")" = 1 ] ||
	die "site a's session was restarted: $(grep "session established" "$WORK/a.log")"

for s in c b a hub; do
	culvertd_stop "$(eval echo "\$PID_$s")"
done
echo "PASS: hub_reload"
