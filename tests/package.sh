#!/bin/bash
# SPDX-License-Identifier: MIT
# The Debian package, end to end (Debian 12, as root):
#   1. builds it with dpkg-buildpackage from a clean copy of this tree (the
#      files git knows, so ./build and the like cannot leak in);
#   2. checks it with lintian: no error and no warning (info and pedantic
#      tags are shown, not fatal); the .deb, .changes and .buildinfo are
#      left in build-deb/;
#   3. installs it with apt-get and checks what it installed: the culvert
#      system user, /etc/culvert root:culvert 0750, nothing world-writable,
#      nothing enabled or running;
#   4. runs a sealed tunnel over UDP between two network namespaces with
#      the installed /usr/sbin/culvertd and /usr/sbin/culvertctl only: one
#      side exactly as culvertd@.service runs it (user culvert, ambient
#      CAP_NET_ADMIN only, its configuration and key in /etc/culvert), the
#      other started as root and dropping to culvert; ping both ways;
#   5. purges the package and proves nothing is left behind: no file it
#      listed (directories other packages own aside), no /etc/culvert, no
#      statoverride, no unit, no process.  The culvert user stays, as
#      Debian keeps system users.
#
#   tests/package.sh               all of it
#   tests/package.sh --build-only  steps 1 and 2 (no root needed)
#
# It refuses to run where culvert is already installed, since it purges it.
# Addresses: 198.18.0.0/15 only, inside the namespaces it makes (cvPID-a
# and cvPID-b), which a trap deletes.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD

build_only=no
case "${1:-}" in
"") ;;
--build-only) build_only=yes ;;
*)
	echo "usage: tests/package.sh [--build-only]" >&2
	exit 2
	;;
esac

log() { printf '# %s\n' "$*"; }
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

if [ "$build_only" = no ]; then
	[ "$(id -u)" = 0 ] || die "needs root (installs the package, makes namespaces); --build-only does not"
	if dpkg-query -W -f='${db:Status-Status}\n' culvert 2>/dev/null | grep -v '^not-installed$' >/dev/null; then
		die "culvert is installed here and this test purges it: apt-get purge culvert first"
	fi
fi

version=$(dpkg-parsechangelog -S Version)
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
[ "$version" = "$meson_version" ] ||
	die "debian/changelog says $version, meson.build $meson_version: add a changelog entry (dch -v $meson_version)"
arch=$(dpkg --print-architecture)

WORK=$(mktemp -d /tmp/culvert-package.XXXXXX)
PFX="cv$$"
NAMESPACES=()
DAEMONS=()
INSTALLED=no
TUN_MODE=

cleanup() {
	local rc=$? pid ns
	set +e
	for pid in "${DAEMONS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${DAEMONS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/etc/culvert/$PFX-a.conf" "/etc/culvert/$PFX-a.key"
	[ -n "$TUN_MODE" ] && chmod "$TUN_MODE" /dev/net/tun
	if [ "$rc" != 0 ]; then
		for f in "$WORK"/*.log; do
			[ -e "$f" ] || continue
			echo "---- $(basename "$f")"
			tail -n 40 "$f"
		done
	fi
	# A failed run leaves no package behind either.
	if [ "$INSTALLED" = yes ]; then
		apt-get purge -y culvert >"$WORK/purge.log" 2>&1 || cat "$WORK/purge.log"
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1. build from a clean copy --------------------------------------------
src="$WORK/src/culvert-$version"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and new files as they are in the work tree (a file deleted
	# there but not in git is skipped), nothing git ignores.
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -c 2>/dev/null | tar -x -C "$src"
else
	tar -c --exclude='./build*' --exclude='./obj-*' --exclude='./debian/culvert' \
		--exclude='./debian/.debhelper' . | tar -x -C "$src"
fi
log "dpkg-buildpackage -us -uc -b (culvert $version, log in build-deb/build.log)"
mkdir -p build-deb
rm -f build-deb/culvert_* build-deb/culvert-dbgsym_*
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >build-deb/build.log 2>&1; then
	tail -n 40 build-deb/build.log
	die "dpkg-buildpackage failed (build-deb/build.log)"
fi
grep -E '^(Ok|Fail|Skipped):' build-deb/build.log | tr -s ' ' | paste -sd' ' |
	sed 's/^/# unit tests at build time: /'
cp "$WORK/src/culvert_${version}_$arch".{deb,changes,buildinfo} \
	"$WORK/src/culvert-dbgsym_${version}_$arch.deb" build-deb/
deb="$TOP/build-deb/culvert_${version}_$arch.deb"

# ---- 2. lintian ------------------------------------------------------------
log "lintian --fail-on error,warning (info and pedantic shown)"
lintian_rc=0
lintian --fail-on error,warning --display-info --pedantic \
	"build-deb/culvert_${version}_$arch.changes" >build-deb/lintian.txt 2>&1 || lintian_rc=$?
cat build-deb/lintian.txt
for level in E W I P; do
	printf '%s: %s  ' "$level" "$(grep -c "^$level: " build-deb/lintian.txt || true)"
done
echo
[ "$lintian_rc" = 0 ] || die "lintian: errors or warnings (build-deb/lintian.txt)"

if [ "$build_only" = yes ]; then
	log "built: build-deb/$(basename "$deb")"
	exit 0
fi

# ---- 3. install ------------------------------------------------------------
log "apt-get install $deb"
INSTALLED=yes
DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$WORK/install.log" 2>&1 ||
	die "apt-get install failed: $(tail -n 20 "$WORK/install.log")"
[ "$(dpkg-query -W -f='${db:Status-Status}' culvert)" = installed ] || die "culvert is not installed"

for f in /usr/sbin/culvertd /usr/sbin/culvertctl \
	/usr/share/man/man8/culvertd.8.gz /usr/share/man/man8/culvertctl.8.gz \
	/usr/share/man/man5/culvert.conf.5.gz \
	/usr/share/bash-completion/completions/culvertd \
	/usr/share/bash-completion/completions/culvertctl \
	/lib/systemd/system/culvertd@.service /usr/lib/sysusers.d/culvert.conf \
	/usr/share/doc/culvert/copyright /usr/share/doc/culvert/examples/p2p-vpn.conf; do
	dpkg-query -S "$f" 2>/dev/null | grep '^culvert:' >/dev/null || die "the package does not install $f"
	[ -e "$f" ] || die "$f is missing"
done
/usr/sbin/culvertd --help >/dev/null || die "the installed culvertd does not run"

# The system user sysusers made: a system uid, no login shell.
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd culvert) || die "no user culvert"
[ "$uid" -lt 1000 ] || die "culvert has uid $uid, not a system uid"
case "$shell" in */nologin | /bin/false) ;; *) die "culvert has the shell $shell" ;; esac
[ "$(getent group culvert | cut -d: -f3)" = "$gid" ] || die "culvert's primary group is not culvert"
log "user culvert: uid $uid gid $gid home $home shell $shell"

# /etc/culvert: a real directory, root:culvert 0750, by statoverride.
if [ ! -d /etc/culvert ] || [ -L /etc/culvert ]; then
	die "/etc/culvert is not a directory"
fi
[ "$(stat -c '%U:%G %a' /etc/culvert)" = "root:culvert 750" ] ||
	die "/etc/culvert is $(stat -c '%U:%G %a' /etc/culvert), not root:culvert 750"
[ "$(dpkg-statoverride --list /etc/culvert)" = "root culvert 750 /etc/culvert" ] ||
	die "no statoverride root culvert 750 for /etc/culvert: $(dpkg-statoverride --list /etc/culvert)"
# Someone outside the group cannot even list it.
if setpriv --reuid=nobody --regid=nogroup --clear-groups ls /etc/culvert >/dev/null 2>&1; then
	die "nobody can list /etc/culvert"
fi
log "/etc/culvert: $(stat -c '%U:%G %a' /etc/culvert), closed to others"

# Every file the package installed: owned by root, nothing writable by
# group or others, no setuid or setgid bit.
while read -r f; do
	[ -L "$f" ] && continue
	bad=$(find "$f" -maxdepth 0 \( -perm /022 -o -perm /6000 -o ! -user root \) -print)
	[ -z "$bad" ] || die "$f: $(stat -c '%U:%G %a' "$f")"
done < <(dpkg -L culvert | grep -v '^/etc/culvert$')
[ "$(stat -c '%U:%G %a' /lib/systemd/system/culvertd@.service)" = "root:root 644" ] ||
	die "culvertd@.service is $(stat -c '%U:%G %a' /lib/systemd/system/culvertd@.service)"

# The installed unit, as an instance: its ExecStart= is the installed
# culvertd and its Documentation= the installed manual pages.
mkdir "$WORK/unit"
cp /lib/systemd/system/culvertd@.service "$WORK/unit/culvertd@pkgtest.service"
if ! systemd-analyze verify "$WORK/unit/culvertd@pkgtest.service" >"$WORK/verify.out" 2>&1 ||
	grep culvert "$WORK/verify.out"; then
	cat "$WORK/verify.out"
	die "systemd-analyze verify: the installed unit"
fi
grep -qx 'ExecStart=/usr/sbin/culvertd -c /etc/culvert/%i.conf' /lib/systemd/system/culvertd@.service ||
	die "the installed unit does not run /usr/sbin/culvertd -c /etc/culvert/%i.conf"
log "installed unit: systemd-analyze verify clean"

# culvertd processes started from the installed binary (other culvertd
# processes on this machine, from build directories, do not count).
installed_daemons() {
	local p
	for p in /proc/[0-9]*; do
		readlink "$p/exe" 2>/dev/null || true
	done | grep -c '^/usr/sbin/culvertd' || true
}
# Installing enabled and started nothing.
[ "$(installed_daemons)" = 0 ] || die "a culvertd is running after installation"
if find /etc/systemd/system -name 'culvertd@*' 2>/dev/null | grep . >/dev/null; then
	die "installation enabled a culvertd@ unit: $(find /etc/systemd/system -name 'culvertd@*')"
fi
if [ -d /run/systemd/system ] && systemctl list-units --all --no-legend 'culvertd@*' | grep . >/dev/null; then
	die "a culvertd@ unit is loaded after installation"
fi
log "installed: nothing enabled, nothing running"

# ---- 4. a sealed tunnel with the installed binaries ------------------------
D=/usr/sbin/culvertd
C=/usr/sbin/culvertctl
ctl() { timeout 20 "$C" "$@"; }
n() {
	local role=$1
	shift
	"$C" netns exec "$PFX-$role" -- "$@"
}
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
ping_ok() {
	wait_for 15 n "$1" ping -c 1 -W 1 "$2" || die "$1 cannot reach $2 through the tunnel"
	n "$1" ping -c 3 -i 0.2 -W 2 "$2" >"$WORK/ping.out" || {
		cat "$WORK/ping.out"
		die "$1: pings to $2 lost"
	}
	log "$1 -> $2: $(grep -o 'rtt.*' "$WORK/ping.out")"
}

for side in a b; do
	ctl netns add "$PFX-$side"
	NAMESPACES+=("$PFX-$side")
	ctl -n "$PFX-$side" link set lo up
done
ctl -n "$PFX-a" link add veth0 type veth peer veth0 netns "$PFX-b"
ctl -n "$PFX-a" addr add 198.18.0.1/24 dev veth0
ctl -n "$PFX-b" addr add 198.18.0.2/24 dev veth0
ctl -n "$PFX-a" link set veth0 up
ctl -n "$PFX-b" link set veth0 up
ctl -n "$PFX-a" link add tun0 type tun
ctl -n "$PFX-b" link add tun0 type tun
ctl -n "$PFX-a" addr add 198.19.0.1/24 dev tun0
ctl -n "$PFX-b" addr add 198.19.0.2/24 dev tun0

# Status sockets in directories of the test's own, owned by the user the
# daemon is when it opens its socket (culvertd refuses anything else): a
# starts as culvert, as under the unit (whose RuntimeDirectory= is
# culvert's); b starts as root.
chmod 0711 "$WORK"
install -d -o culvert -g culvert -m 0700 "$WORK/run-a"
install -d -m 0700 "$WORK/run-b"

# The unit's user opens /dev/net/tun with CAP_NET_ADMIN only, which does
# not bypass file permissions: it needs the mode 0666 that Debian's udev
# gives the node.  A container without udev (CI machines) leaves it 0600:
# make it what udev would for the test, and put it back afterwards.
if [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	TUN_MODE=$(stat -c %a /dev/net/tun)
	chmod 0666 /dev/net/tun
fi

# Side a as the administrator sets up an instance (culvert.conf(5)): the
# key culvert:culvert 0600, the configuration root:culvert 0640.
key_a="/etc/culvert/$PFX-a.key"
conf_a="/etc/culvert/$PFX-a.conf"
(umask 077 && ctl genkey >"$key_a")
chown culvert:culvert "$key_a"
(umask 077 && ctl genkey >"$WORK/b.key")
pub_a=$(ctl pubkey <"$key_a")
pub_b=$(ctl pubkey <"$WORK/b.key")
cat >"$conf_a" <<EOF
[Interface]
Device = tun0
PrivateKeyFile = $key_a
Listen = 198.18.0.1:55555
LogLevel = info

[Peer]
PublicKey = $pub_b
Transport = udp
EOF
chown root:culvert "$conf_a"
chmod 0640 "$conf_a"

# As culvertd@.service runs it (User=, Group=, AmbientCapabilities=,
# CapabilityBoundingSet=): user and group culvert, CAP_NET_ADMIN its only
# capability.
as_unit=(setpriv --reuid=culvert --regid=culvert --init-groups
	'--inh-caps=-all,+net_admin' '--ambient-caps=-all,+net_admin'
	'--bounding-set=-all,+net_admin')
"${as_unit[@]}" "$D" --check-config -c "$conf_a" >"$WORK/check.log" 2>&1 ||
	die "culvertd --check-config as culvert: $(cat "$WORK/check.log")"
# A simple command, not the function n, so that $! is culvertctl, which
# execs setpriv, which execs culvertd: signals go to the daemon itself.
CULVERT_RUNDIR="$WORK/run-a" "$C" netns exec "$PFX-a" -- "${as_unit[@]}" "$D" -c "$conf_a" \
	>"$WORK/a.log" 2>&1 &
pid_a=$!
DAEMONS+=("$pid_a")
# Side b started as root, dropping to culvert after set-up.
CULVERT_RUNDIR="$WORK/run-b" "$C" netns exec "$PFX-b" -- \
	"$D" --dev tun0 --transport udp --connect 198.18.0.1:55555 \
	--private-key "$WORK/b.key" --peer-public-key "$pub_a" \
	--user culvert --group culvert >"$WORK/b.log" 2>&1 &
pid_b=$!
DAEMONS+=("$pid_b")

ping_ok b 198.19.0.1
ping_ok a 198.19.0.2

# Both daemons run as culvert, with no capability left after set-up.
for pid in "$pid_a" "$pid_b"; do
	[ "$(readlink "/proc/$pid/exe")" = "$D" ] || die "pid $pid is not $D"
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$uid" ] || die "pid $pid does not run as culvert"
	[ "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" = 0000000000000000 ] ||
		die "pid $pid kept capabilities: $(grep Cap "/proc/$pid/status")"
done
# SIGHUP: the user culvert re-reads its configuration in /etc/culvert.
kill -HUP "$pid_a"
wait_for 10 grep -q 'SIGHUP: configuration re-read' "$WORK/a.log" ||
	die "side a did not re-read $conf_a on SIGHUP"
for side in a b; do
	CULVERT_RUNDIR="$WORK/run-$side" ctl show >"$WORK/show-$side.out" ||
		die "culvertctl show failed on side $side"
done
for side in a b; do
	pub=pub_$side
	if ! grep -q "public key: ${!pub}" "$WORK/show-$side.out" ||
		! grep -q "state: established" "$WORK/show-$side.out"; then
		cat "$WORK/show-$side.out"
		die "culvertctl show: side $side is not its established tunnel"
	fi
done
ping_ok b 198.19.0.1
log "sealed tunnel over UDP: up, both daemons as culvert without capabilities"

for pid in "$pid_a" "$pid_b"; do
	kill "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || die "culvertd (pid $pid) exited $rc on SIGTERM"
done
DAEMONS=()
rm -f "$conf_a" "$key_a"

# ---- 5. purge: nothing left behind -----------------------------------------
dpkg -L culvert >"$WORK/files"
log "apt-get purge culvert"
DEBIAN_FRONTEND=noninteractive apt-get purge -y culvert >"$WORK/purge.log" 2>&1 ||
	die "apt-get purge failed: $(tail -n 20 "$WORK/purge.log")"
INSTALLED=no
status=$(dpkg-query -W -f='${db:Status-Status}' culvert 2>/dev/null || echo not-installed)
[ "$status" = not-installed ] || die "culvert is $status after purge"
left=0
while read -r f; do
	[ "$f" != /. ] || continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	# Directories such as /usr/sbin stay: other packages own them.
	if [ -d "$f" ] && dpkg-query -S "$f" >/dev/null 2>&1; then
		continue
	fi
	echo "left behind: $f" >&2
	left=$((left + 1))
done <"$WORK/files"
[ "$left" = 0 ] || die "$left paths of the package left behind"
if [ -e /etc/culvert ] || [ -L /etc/culvert ]; then
	die "/etc/culvert is left behind"
fi
if dpkg-statoverride --list /etc/culvert >/dev/null 2>&1; then
	die "the statoverride of /etc/culvert is left behind"
fi
if find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -name '*culvert*' 2>/dev/null | grep . >/dev/null; then
	die "systemd state of culvert is left behind"
fi
[ "$(installed_daemons)" = 0 ] || die "a culvertd from the package still runs"
log "purged: none of its $(wc -l <"$WORK/files") paths left (shared directories aside)," \
	"no /etc/culvert, no statoverride, no unit, no process;" \
	"the system user culvert stays ($(getent passwd culvert | cut -d: -f1,3))"
echo "PASS: Debian package culvert $version"
