#!/bin/bash
# SPDX-License-Identifier: MIT
# The peer's host name comes to resolve to a new address, over TCP or UDP
# (first argument), plain and sealed: the server moves from 198.18.0.1 to
# 198.18.0.5 and the name follows; the client's dead-peer detection (or its
# reconnect) resolves the name again and traffic resumes, with no SIGHUP.
#
#     namespace a                         namespace b
#   +-----------------------+         +------------------------------+
#   | tun0 198.19.0.1/24    |         | tun0 198.19.0.2/24           |
#   |   culvertd --listen   |         |   culvertd --connect         |
#   |                       |         |     peer.culvert.test:55555  |
#   | veth0 198.18.0.1/24   +---------+ veth0 198.18.0.2/24          |
#   |   then 198.18.0.5/24  |         | /etc/netns/<ns b>/hosts      |
#   +-----------------------+         +------------------------------+
#
# The name lives in /etc/netns/NAME/hosts, which `ip netns exec` mounts
# over /etc/hosts for the client (culvertctl netns exec does not), so the
# real /etc/hosts is never touched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults_lib.sh"

transport=${1:?usage: resolve.sh tcp|udp}
NAME=peer.culvert.test

two_hosts
keypair a
keypair b
HOSTS_DIR=/etc/netns/$(ns b)
mkdir -p "$HOSTS_DIR"
AT_EXIT+=("rm -rf '$HOSTS_DIR'")

# hosts_point ADDR: the name resolves to ADDR from now on.  Written in
# place: the bind mount holds the file's inode.
hosts_point() { printf '%s %s\n' "$1" "$NAME" >"$HOSTS_DIR/hosts"; }

for mode in plain sealed; do
	keys_a=() keys_b=() live=(--keepalive 1 --dead-peer-timeout 3)
	if [ "$mode" = sealed ]; then
		keys_a=(--private-key "$WORK/a.key" --peer-public-key "$(cat "$WORK/b.pub")")
		keys_b=(--private-key "$WORK/b.key" --peer-public-key "$(cat "$WORK/a.pub")")
	else
		live+=(--plain-keepalive)
	fi
	log "$mode over $transport"
	hosts_point 198.18.0.1
	# The server listens on every address, so it serves on the new one.
	culvertd_start a srv --dev tun0 --transport "$transport" --mtu 1400 --listen :55555 \
		"${live[@]}" "${keys_a[@]}"
	wait_log srv "listening"
	ip netns exec "$(ns b)" "$CULVERTD" -v --user nobody --group nogroup --dev tun0 \
		--transport "$transport" --mtu 1400 --connect "$NAME:55555" "${live[@]}" "${keys_b[@]}" \
		>"$WORK/cli.log" 2>&1 &
	PID_cli=$!
	DAEMONS+=("$PID_cli")
	ping_ok b 198.19.0.1
	grep -q "198.18.0.1:55555" "$WORK/cli.log" || die "the client did not resolve $NAME"

	log "the server moves to 198.18.0.5"
	# Deleted first: deleting a primary address also deletes the
	# secondary ones of its subnet.
	ctl -n "$(ns a)" addr del 198.18.0.1/24 dev veth0
	addr a veth0 198.18.0.5/24
	hosts_point 198.18.0.5
	ping_resume b 198.19.0.1 15
	log "$mode over $transport: pings answer again $RESUME_MS ms after the move"
	ping_ok a 198.19.0.2
	# Sealed UDP: the server's own dead-peer handshake from the new
	# address may come first, and the client roams to it.
	grep -q "peer endpoint is now 198.18.0.5:55555\|peer is 198.18.0.5:55555" "$WORK/cli.log" ||
		die "the client did not follow the name"
	log "$(grep -o "peer endpoint is now 198.18.0.5:55555\|peer is 198.18.0.5:55555" "$WORK/cli.log" | head -n 1)"

	culvertd_stop "$PID_cli"
	culvertd_stop "$PID_srv"
	# Back for the next mode.
	ctl -n "$(ns a)" addr del 198.18.0.5/24 dev veth0
	addr a veth0 198.18.0.1/24
done
echo "PASS: the peer's name re-resolved over $transport"
