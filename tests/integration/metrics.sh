#!/bin/bash
# SPDX-License-Identifier: MIT
# The Prometheus metrics endpoint (--metrics-listen, MetricsListen) and
# culvertctl show --prometheus/--openmetrics, with the seccomp filter on:
#
#     namespace a                                  namespace b
#   +------------------------------+           +-----------------------+
#   | tun0 198.19.0.1/24           |           | tun0 198.19.0.2/24    |
#   | culvertd --listen, sealed    |           | culvertd --connect    |
#   |   metrics 198.18.0.1:9587    |           |   (config file,       |
#   | prometheus 198.18.0.1:9090   |           |    metrics :9588)     |
#   | veth0 198.18.0.1/24          +-----------+ veth0 198.18.0.2/24   |
#   +------------------------------+  underlay +-----------------------+
#
#  1. promtool check metrics passes on the endpoint's text and on
#     culvertctl show --prometheus; promtool's OpenMetrics parser reads
#     the endpoint's OpenMetrics and culvertctl show --openmetrics;
#  2. a real Prometheus scrapes the endpoint every second (in OpenMetrics,
#     as it asks for) while iperf3 crosses the tunnel; the increase of
#     culvert_receive_bytes_total it reports is at least half of what
#     iperf3 says it sent;
#  3. bad requests: another path 404, POST 405, a huge header or body
#     refused, a trickling client cut after 10 s, 40 slow clients held to
#     16 file descriptors and closed after the idle timeout while the
#     tunnel carries packets; the daemon still serves metrics after;
#  4. SIGHUP with a new MetricsListen says it takes a restart.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || {
	echo "SKIP: no promtool (Debian package prometheus)"
	exit 77
}
command -v prometheus >/dev/null || {
	echo "SKIP: no prometheus (Debian package prometheus)"
	exit 77
}

two_hosts
keypair a
keypair b
METRICS=198.18.0.1:9587

culvertd_start a srv --dev tun0 --transport tcp --listen :55555 --metrics-listen "$METRICS" \
	--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")"
wait_log srv "metrics on http://$METRICS/metrics"
cat >"$WORK/cli.conf" <<EOF
[Interface]
Device = tun0
PrivateKeyFile = $WORK/b.key
MetricsListen = 198.18.0.2:9588
[Peer]
PublicKey = $(cat "$WORK/a.pub")
Endpoint = 198.18.0.1:55555
EOF
# SIGHUP re-reads it as nobody.
chmod o+x "$WORK"
chmod 0644 "$WORK/cli.conf"
culvertd_start b cli -c "$WORK/cli.conf"
wait_log cli "session established with"
wait_log srv "seccomp filter on"
grep -q '^Seccomp:[[:space:]]*2' "/proc/$PID_srv/status" || die "no seccomp filter on the server"
ping_ok b 198.19.0.1

# http ROLE URL [ACCEPT]: GET URL from ROLE's namespace; prints the
# status, the Content-Type and the body, one after the other.
http() {
	local role=$1
	shift
	n "$role" timeout 10 python3 -c '
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
	req.add_header("Accept", sys.argv[2])
try:
	r = urllib.request.urlopen(req, timeout=5)
	code, ctype, body = r.status, r.headers.get("Content-Type"), r.read()
except urllib.error.HTTPError as e:
	code, ctype, body = e.code, e.headers.get("Content-Type"), e.read()
print(code)
print(ctype)
sys.stdout.write(body.decode())' "$@"
}

# 1. promtool on every output.
http a "http://$METRICS/metrics" >"$WORK/text.http"
[ "$(sed -n 1p "$WORK/text.http")" = 200 ] || die "GET /metrics: $(head -n 2 "$WORK/text.http")"
[ "$(sed -n 2p "$WORK/text.http")" = "text/plain; version=0.0.4; charset=utf-8" ] ||
	die "GET /metrics: Content-Type $(sed -n 2p "$WORK/text.http")"
tail -n +3 "$WORK/text.http" >"$WORK/text.prom"
# The daemons run in named namespaces: their labels say which.
LBL="device=\"tun0\",netns=\"$(ns a)\""
grep -qx "culvert_session_state{$LBL,culvert_session_state=\"established\"} 1" \
	"$WORK/text.prom" || die "the endpoint does not say established"
grep -q "^culvert_handshakes_total{$LBL} [1-9]" "$WORK/text.prom" ||
	die "the endpoint counts no handshake"
promtool check metrics <"$WORK/text.prom" >"$WORK/promtool.out" 2>&1 || {
	cat "$WORK/promtool.out"
	die "promtool check metrics: the endpoint's text"
}
[ ! -s "$WORK/promtool.out" ] || die "promtool warns: $(cat "$WORK/promtool.out")"
log "promtool check metrics: endpoint text OK, $(grep -vc '^#' "$WORK/text.prom") samples"

ctl show --prometheus >"$WORK/ctl.prom"
promtool check metrics <"$WORK/ctl.prom" >"$WORK/promtool.out" 2>&1 || {
	cat "$WORK/promtool.out"
	die "promtool check metrics: culvertctl show --prometheus"
}
[ ! -s "$WORK/promtool.out" ] || die "promtool warns: $(cat "$WORK/promtool.out")"
# Both daemons, each family once.
for dev in "tun0\",netns=\"$(ns a)" "tun0\",netns=\"$(ns b)"; do
	grep -qF "culvert_receive_bytes_total{device=\"$dev\"}" "$WORK/ctl.prom" ||
		die "culvertctl show --prometheus lacks $dev"
done
[ "$(grep -c '^# TYPE culvert_receive_bytes_total counter$' "$WORK/ctl.prom")" = 1 ] ||
	die "a family printed twice"
log "promtool check metrics: culvertctl show --prometheus OK, $(grep -vc '^#' "$WORK/ctl.prom") samples"

# OpenMetrics: promtool has no checker for it, but its block importer
# parses it with Prometheus's own OpenMetrics parser, and refuses what
# that parser refuses.  The importer wants a timestamp on every sample
# (culvert writes none): one is added to a copy.
om_ok() {
	rm -rf "$WORK/blocks"
	sed "/^#/!s/\$/ $(date +%s)/" "$1" >"$1.ts"
	promtool tsdb create-blocks-from openmetrics "$1.ts" "$WORK/blocks" >"$WORK/om.out" 2>&1 || {
		cat "$WORK/om.out"
		die "promtool cannot parse $1 as OpenMetrics"
	}
}
http a "http://$METRICS/metrics" \
	"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5" >"$WORK/om.http"
[ "$(sed -n 2p "$WORK/om.http")" = "application/openmetrics-text; version=1.0.0; charset=utf-8" ] ||
	die "OpenMetrics asked, got $(sed -n 2p "$WORK/om.http")"
tail -n +3 "$WORK/om.http" >"$WORK/endpoint.om"
[ "$(tail -n 1 "$WORK/endpoint.om")" = "# EOF" ] || die "the OpenMetrics text does not end in # EOF"
om_ok "$WORK/endpoint.om"
ctl show --openmetrics >"$WORK/ctl.om"
om_ok "$WORK/ctl.om"
# The parser does refuse: without "# EOF" the same text is not OpenMetrics.
grep -v '^# EOF$' "$WORK/ctl.om" >"$WORK/broken.om"
sed "/^#/!s/\$/ $(date +%s)/" "$WORK/broken.om" >"$WORK/broken.om.ts"
! promtool tsdb create-blocks-from openmetrics "$WORK/broken.om.ts" "$WORK/blocks2" \
	>/dev/null 2>&1 || die "promtool accepts OpenMetrics without # EOF: the check proves nothing"
log "OpenMetrics: endpoint and culvertctl show --openmetrics parsed by promtool"
# Never a private key: the file's base64 text appears nowhere.
for f in text.prom ctl.prom endpoint.om ctl.om; do
	! grep -qF "$(cat "$WORK/a.key")" "$WORK/$f" || die "$f holds a private key"
	! grep -qF "$(cat "$WORK/b.key")" "$WORK/$f" || die "$f holds a private key"
done

# 2. A real Prometheus, scraping every second.
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: culvert
    static_configs:
      - targets: ['$METRICS']
EOF
mkdir -p "$WORK/tsdb"
n a prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address=198.18.0.1:9090 --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
AT_EXIT+=("kill $PROM_PID 2>/dev/null; timeout 10 tail --pid=$PROM_PID -f /dev/null")

# query EXPR: one instant query through the HTTP API; prints the first
# value, or nothing when the result is empty.
query() {
	n a timeout 10 python3 -c '
import json, sys, urllib.parse, urllib.request
url = "http://198.18.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[1]})
r = json.load(urllib.request.urlopen(url, timeout=5))
assert r["status"] == "success", r
res = r["data"]["result"]
if res:
	print(res[0]["value"][1])' "$1"
}
has_value() { [ -n "$(query "$1" 2>/dev/null)" ]; }
wait_for 60 has_value 'culvert_receive_bytes_total{device="tun0"}' ||
	die "Prometheus never scraped culvert_receive_bytes_total"
# Two scrapes before the traffic, so increase() has a base.
sleep 2
[ "$(query 'up{job="culvert"}')" = 1 ] || die "Prometheus: up is not 1"
# It asked for OpenMetrics and got it: only that format carries units.
unit=$(n a timeout 10 python3 -c '
import json, urllib.request
r = json.load(urllib.request.urlopen(
	"http://198.18.0.1:9090/api/v1/metadata?metric=culvert_receive_bytes", timeout=5))
m = r["data"]["culvert_receive_bytes"][0]
print(m["type"], m["unit"])')
[ "$unit" = "counter bytes" ] || die "Prometheus metadata of culvert_receive_bytes: '$unit'"
log "Prometheus scrapes: $(query 'scrape_samples_scraped{job="culvert"}') samples a scrape"

iperf_ok b a 198.19.0.1 4
sent=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_sent"]["bytes"]))' \
	"$WORK/iperf3.json")
# Two more scrapes after it.
sleep 2.5
inc=$(query 'increase(culvert_receive_bytes_total{device="tun0"}[30s])')
[ -n "$inc" ] || die "increase() gave no result"
log "iperf3 sent $sent bytes; Prometheus: increase(culvert_receive_bytes_total[30s]) = $inc"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= int(sys.argv[2]) / 2 else 1)' \
	"$inc" "$sent" || die "the increase $inc is below half of the $sent bytes sent"
[ "$(query 'culvert_session_state{culvert_session_state="established"}')" = 1 ] ||
	die "Prometheus does not see the session established"
hs=$(query 'culvert_latest_handshake_timestamp_seconds{device="tun0"}')
python3 -c 'import sys,time; sys.exit(0 if abs(time.time() - float(sys.argv[1])) < 300 else 1)' \
	"$hs" || die "latest handshake timestamp $hs is not recent"

# 3. Bad requests.  raw REQUEST_PY: sends the bytes the Python expression
# REQUEST_PY evaluates to and prints the status code the daemon answers
# ("closed" when it closes without one).
raw() {
	n a timeout 20 python3 -c '
import socket, sys
s = socket.create_connection(("198.18.0.1", 9587), timeout=10)
try:
	s.sendall(eval(sys.argv[1]))
except (BrokenPipeError, ConnectionResetError):
	pass
data = b""
try:
	while b"\r\n" not in data:
		chunk = s.recv(4096)
		if not chunk:
			break
		data += chunk
except (ConnectionResetError, socket.timeout):
	pass
print(data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.") else "closed")' "$1"
}
[ "$(raw 'b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"')" = 404 ] || die "GET /nope is not 404"
[ "$(raw 'b"GET / HTTP/1.0\r\n\r\n"')" = 404 ] || die "GET / is not 404"
[ "$(raw 'b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"')" = 405 ] ||
	die "POST /metrics is not 405"
[ "$(raw 'b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n"')" = 405 ] || die "DELETE is not 405"
[ "$(raw 'b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"')" = 200 ] || die "HEAD is not 200"
# One request per connection: after the answer, culvertd closes.
n a timeout 20 python3 -c '
import socket, time
s = socket.create_connection(("198.18.0.1", 9587), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
	chunk = s.recv(65536)
	if not chunk:
		break
	data += chunk
head = data.split(b"\r\n\r\n")[0].lower()
assert data.startswith(b"HTTP/1.1 200"), data[:40]
assert b"connection: close" in head, head' || die "GET /metrics: not answered and closed"
code=$(raw 'b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"')
case "$code" in
4* | closed) log "a 64 KiB header: $code" ;;
*) die "a 64 KiB header got $code" ;;
esac
code=$(raw 'b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 100000')
case "$code" in
4* | closed) log "a 1 MB body: $code" ;;
*) die "a 1 MB body got $code" ;;
esac
# A client that trickles a byte a second is cut after the connection
# lifetime (10 s), though it is never silent for the 5 s idle timeout.
n a timeout 40 python3 -c '
import socket, sys, time
s = socket.create_connection(("198.18.0.1", 9587), timeout=10)
t0 = time.time()
try:
	while time.time() - t0 < 30:
		s.sendall(b"G")
		s.settimeout(1)
		try:
			if s.recv(4096) == b"":
				break
		except socket.timeout:
			pass
except (BrokenPipeError, ConnectionResetError):
	pass
print(int(time.time() - t0))' >"$WORK/trickle.out"
[ "$(cat "$WORK/trickle.out")" -lt 20 ] || die "a trickling client held on for $(cat "$WORK/trickle.out") s"
log "a trickling client was cut after $(cat "$WORK/trickle.out") s"

# Slow clients: 40 connections that send half a request line and wait.
# culvertd holds 16 at most (the rest wait in the kernel's backlog), so its
# file descriptors stay bounded; each is closed by the idle timeout; the
# tunnel carries packets meanwhile, and metrics are served once they go.
fds_before=$(ls "/proc/$PID_srv/fd" | wc -l)
n a timeout 60 python3 -c '
import socket, time
conns = []
for i in range(40):
	s = socket.create_connection(("198.18.0.1", 9587), timeout=10)
	s.sendall(b"GET /metr")
	conns.append(s)
time.sleep(1)
open("'"$WORK"'/slow.ready", "w").close()
deadline = time.time() + 40
closed = 0
for s in conns:
	s.settimeout(max(0.1, deadline - time.time()))
	try:
		s.recv(4096)  # the close (or an error reply): either ends it
		closed += 1
	except socket.timeout:
		pass
	except ConnectionResetError:
		closed += 1
print(closed)' >"$WORK/slow.out" &
SLOW_PID=$!
wait_for 15 test -e "$WORK/slow.ready" || die "slow clients did not connect"
fds_during=$(ls "/proc/$PID_srv/fd" | wc -l)
[ "$fds_during" -le $((fds_before + 16)) ] ||
	die "40 slow clients: culvertd has $fds_during fds, $fds_before before"
ping_ok b 198.19.0.1
wait "$SLOW_PID" || die "slow clients: python failed"
[ "$(cat "$WORK/slow.out")" = 40 ] || die "only $(cat "$WORK/slow.out") of 40 slow clients were closed"
log "40 slow clients: culvertd's fds $fds_before -> $fds_during, all closed by the timeout, pings crossed meanwhile"
fds_at_most() { [ "$(ls "/proc/$PID_srv/fd" | wc -l)" -le "$1" ]; }
wait_for 10 fds_at_most "$fds_before" ||
	die "fds left behind: $(ls "/proc/$PID_srv/fd" | wc -l), $fds_before before"
kill -0 "$PID_srv" || die "the server died"
[ "$(http a "http://$METRICS/metrics" | sed -n 1p)" = 200 ] || die "no metrics after the bad requests"

# 4. SIGHUP: MetricsListen is fixed until a restart.
sed -i 's/^MetricsListen = .*/MetricsListen = 198.18.0.2:9599/' "$WORK/cli.conf"
kill -HUP "$PID_cli"
wait_log cli "MetricsListen changed; that takes a restart"
[ "$(http b "http://198.18.0.2:9588/metrics" | sed -n 1p)" = 200 ] ||
	die "the old metrics address stopped serving after SIGHUP"

culvertd_stop "$PID_cli"
culvertd_stop "$PID_srv"
echo "PASS: metrics"
