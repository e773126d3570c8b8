#!/bin/bash
# SPDX-License-Identifier: MIT
# The systemd unit, the manual pages and the bash completion, checked
# offline (no systemd as PID 1 needed, nor root):
#
#   culvertd@.service ── systemd-analyze verify ────────── loads, ExecStart runs
#                     └─ systemd-analyze security --offline  exposure < 2.0
#   culvertd.8 culvertctl.8 culvert.conf.5 ── groff -ww, man --warnings: silent
#                                          └─ every option of --help documented
#   culvertctl.bash ── completes objects, verbs and keywords
#   culvertd.bash ──── completes every option of --help, and their words
#
# lib.sh is not sourced: it skips unless root, and none of this needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CULVERTD=${CULVERTD:-$SRC/build/daemon/culvertd}
CULVERTCTL=${CULVERTCTL:-$SRC/build/tools/culvertctl}
# The build directory, where meson configured the unit and the pages.
BUILD=$(cd "$(dirname "$CULVERTD")/.." && pwd)
# Below 2.0 is what systemd-analyze calls "OK"; --threshold counts tenths.
MAX_EXPOSURE=19

log() { printf '# %s\n' "$*"; }
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

command -v systemd-analyze >/dev/null || {
	echo "SKIP: no systemd-analyze (Debian package systemd)"
	exit 77
}
sd_version=$(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
[ "${sd_version:-0}" -ge 250 ] || {
	echo "SKIP: systemd ${sd_version:-?} has no 'systemd-analyze security --offline' (250+)"
	exit 77
}
[ -x "$CULVERTD" ] || die "no culvertd at $CULVERTD (build first, or set CULVERTD)"
[ -x "$CULVERTCTL" ] || die "no culvertctl at $CULVERTCTL (build first, or set CULVERTCTL)"

WORK=$(mktemp -d "/tmp/culvert-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# configured SRC_FILE BUILT_FILE: the file meson configured, or failing
# that (a build without this subdir) the template with typical paths in.
configured() {
	if [ -e "$2" ]; then
		cat "$2"
	else
		sed -e 's|@sbindir@|/usr/sbin|g' -e 's|@sysconfdir@|/etc|g' \
			-e 's|@runstatedir@|/run/culvert|g' -e 's|@runtimedirectory@|culvert|g' \
			-e 's|@VERSION@|0|g' "$1"
	fi
}

# ---- the unit -------------------------------------------------------------

unit_src=$(configured "$SRC/systemd/culvertd@.service.in" "$BUILD/systemd/culvertd@.service")
if grep -n '@[A-Za-z_]*@' <<<"$unit_src"; then
	die "unit: placeholders left unsubstituted"
fi
sbindir=$(sed -n 's|^ExecStart=\(/.*\)/culvertd .*|\1|p' <<<"$unit_src")
[ -n "$sbindir" ] || die "unit: no ExecStart=/.../culvertd line"
grep -q '^Type=notify$' <<<"$unit_src" || die "unit: not Type=notify"

# The installed binary may not exist yet: verify checks that ExecStart is
# executable, so point it at the binary just built, under a path of ours.
mkdir -p "$WORK/sbin" "$WORK/unit" "$WORK/man/man5" "$WORK/man/man8"
cp "$CULVERTD" "$WORK/sbin/culvertd"
# An instance, so that %i is resolved as for a real tunnel.
unit="$WORK/unit/culvertd@tun0.service"
sed "s|$sbindir/culvertd|$WORK/sbin/culvertd|g" <<<"$unit_src" >"$unit"

# verify also runs man(1) for every Documentation= page: give it ours.
for page in culvertd.8 culvertctl.8 culvert.conf.5; do
	configured "$SRC/doc/$page.in" "$BUILD/doc/$page" >"$WORK/man/man${page##*.}/$page"
done
export MANPATH="$WORK/man"

if ! systemd-analyze verify "$unit" >"$WORK/verify.out" 2>&1; then
	cat "$WORK/verify.out"
	die "systemd-analyze verify rejects the unit"
fi
# Warnings about other units on this machine are not ours; any about ours are.
if grep culvertd "$WORK/verify.out"; then
	die "systemd-analyze verify warns about the unit"
fi
log "systemd-analyze verify: clean"

# And verify does catch a unit that cannot start.
mkdir -p "$WORK/bad"
sed "s|^ExecStart=[^ ]*|ExecStart=$WORK/nonexistent/culvertd|" "$unit" >"$WORK/bad/culvertd@tun0.service"
if systemd-analyze verify "$WORK/bad/culvertd@tun0.service" >/dev/null 2>&1; then
	die "systemd-analyze verify accepts an ExecStart that does not exist"
fi

rc=0
systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" --no-pager "$unit" \
	>"$WORK/security.out" 2>&1 || rc=$?
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$WORK/security.out")
if [ -z "$score" ]; then
	cat "$WORK/security.out"
	die "systemd-analyze security printed no overall exposure level"
fi
log "systemd-analyze security: overall exposure $score (must be below 2.0)"
if [ "$rc" != 0 ] || ! awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'; then
	grep '✗' "$WORK/security.out" || true
	die "exposure $score is not below 2.0 (systemd-analyze exit status $rc)"
fi

# The user the unit runs as is one sysusers.d makes.
user=$(sed -n 's/^User=//p' "$unit")
[ -n "$user" ] || die "unit: no User="
grep -Eq "^u[[:space:]]+$user[[:space:]]" "$SRC/systemd/culvert.sysusers" ||
	die "systemd/culvert.sysusers does not create user $user"
mkdir -p "$WORK/root/etc"
systemd-sysusers --root="$WORK/root" "$SRC/systemd/culvert.sysusers" >/dev/null 2>&1 ||
	die "systemd-sysusers cannot apply systemd/culvert.sysusers"
grep -q "^$user:" "$WORK/root/etc/passwd" || die "systemd-sysusers made no user $user"
log "sysusers.d creates user $user"

# ---- the manual pages -----------------------------------------------------

for f in "$WORK"/man/man*/*; do
	page=$(basename "$f")
	out=$(groff -z -man -ww -t "$f" 2>&1) || die "groff fails on $page: $out"
	[ -z "$out" ] || die "groff warns about $page: $out"
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l -Tutf8 "$f" 2>&1 >/dev/null) ||
			die "man fails on $page: $out"
		[ -z "$out" ] || die "man warns about $page: $out"
	fi
	grep -q "^\.SH EXIT STATUS" "$f" || [ "${page##*.}" = 5 ] || die "$page: no EXIT STATUS"
	for section in 'SEE ALSO' EXAMPLES FILES; do
		grep -q "^\.SH $section" "$f" || die "$page: no $section section"
	done
done

# Every long option culvertd --help knows is in culvertd(8) (written \-\-).
for opt in $("$CULVERTD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "${opt//-/\\-}" "$WORK/man/man8/culvertd.8" || die "culvertd.8 lacks $opt"
done
# Every object culvertctl --help lists has its own subsection.
for obj in $("$CULVERTCTL" --help | sed -n '/^Objects:/,/^$/s/^  \([a-z]*\) .*/\1/p'); do
	grep -q "^\.SS .*\b$obj\b" "$WORK/man/man8/culvertctl.8" || die "culvertctl.8 lacks object $obj"
done
log "manual pages: no warnings, every option and object documented"

# ---- bash completion --------------------------------------------------------

configured "$SRC/completions/culvertctl.bash" "$BUILD/completions/culvertctl" >"$WORK/culvertctl.bash"
bash -n "$WORK/culvertctl.bash" || die "completions/culvertctl.bash: syntax"
bash -n "$SRC/completions/culvertd.bash" || die "completions/culvertd.bash: syntax"
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	# A tunnel for show to offer: a socket in a directory of ours.
	export CULVERT_RUNDIR="$WORK/run"
	mkdir "$CULVERT_RUNDIR"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$CULVERT_RUNDIR/tun7.sock"
	# complete LINE: what completion offers for LINE (the last word is the
	# one being completed), one line, sorted.
	cat >"$WORK/complete.sh" <<EOF
source $bc
source $WORK/culvertctl.bash
source $SRC/completions/culvertd.bash
read -r -a COMP_WORDS <<<"\$1"
[[ \$1 == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
COMP_LINE=\$1
COMP_POINT=\${#1}
# culvertd's completion runs culvertd --help: the one just built.
PATH=$WORK/sbin:\$PATH
# As bash calls a completion function: command, current word, previous one.
"_\${COMP_WORDS[0]}" "\${COMP_WORDS[0]}" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "\${COMPREPLY[@]}" | sort | tr '\n' ' '
EOF
	expect_completion() {
		local got
		got=$(bash "$WORK/complete.sh" "$1" 2>&1)
		[ "$got" = "$2" ] || die "completing '$1': got '$got', expected '$2'"
	}
	expect_completion 'culvertctl li' 'link '
	expect_completion 'culvertctl -n x fo' 'forward '
	expect_completion 'culvertctl forward ' 'help off on show '
	expect_completion 'culvertctl link add t0 type ' 'bridge tap tun veth '
	expect_completion 'culvertctl link add t0 type tun ' 'group user '
	expect_completion 'culvertctl link set lo m' 'master mtu '
	expect_completion 'culvertctl link del l' 'lo '
	expect_completion 'culvertctl addr add 198.18.0.1/24 ' 'dev '
	expect_completion 'culvertctl route add default ' 'dev via '
	expect_completion 'culvertctl --v' '--version '
	expect_completion 'culvertctl sh' 'show '
	expect_completion 'culvertctl show ' 'help tun7 '
	expect_completion 'culvertctl show tun7 --' '--json --openmetrics --prometheus '
	expect_completion 'culvertctl show --pr' '--prometheus '
	expect_completion 'culvertctl show --json ' 'tun7 '
	# culvertd: every long option of --help, and the words of some.
	expect_completion 'culvertd --' "$("$CULVERTD" --help | grep -o -- '--[a-z][a-z-]*' |
		sort -u | tr '\n' ' ')"
	expect_completion 'culvertd --no-s' '--no-seccomp '
	expect_completion 'culvertd -c x.conf --mode ' 'tap tun '
	expect_completion 'culvertd --transport u' 'udp '
	log "bash completion: objects, verbs and keywords; culvertd's options"
else
	log "bash completion: syntax only (no bash-completion installed)"
fi

log "PASS"
