#!/bin/bash
# SPDX-License-Identifier: MIT
# Sealed-mode keys: culvertctl genkey, pubkey and genpsk behave as wg's do,
# and culvertd refuses, before it opens anything, every key it cannot or
# must not use, with one line that names the culprit and exit status 2.
#
#     namespace a
#   +-------------------------------------------+
#   | culvertd --dev tun0 --listen :55555 ...   |
#   |   (exits at start-up: nothing is made)    |
#   +-------------------------------------------+
source "$(dirname "$0")/lib.sh"

netns_add a

# b64 HEX: the standard base64 of the bytes HEX.
b64() { python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$1"; }
# is_key TEXT: 32 bytes in padded standard base64, as wg writes keys.
is_key() { [[ $1 =~ ^[A-Za-z0-9+/]{43}=$ ]]; }

log "genkey and pubkey"
k1=$(ctl genkey)
k2=$(ctl genkey)
is_key "$k1" || die "genkey printed '$k1'"
[ "$k1" != "$k2" ] || die "two genkeys printed the same key"
[ "$(ctl genkey | wc -l)" = 1 ] || die "genkey did not print exactly one line"
p1=$(printf '%s\n' "$k1" | ctl pubkey)
is_key "$p1" || die "pubkey printed '$p1'"
[ "$p1" = "$(printf '%s\n' "$k1" | ctl pubkey)" ] || die "pubkey is not deterministic"
[ "$p1" != "$k1" ] || die "the public key is the private key"
[ "$p1" != "$(printf '%s\n' "$k2" | ctl pubkey)" ] || die "two private keys, one public key"
# Whitespace around the key is allowed, as in a key file edited by hand.
[ "$(printf '  %s\r\n\n' "$k1" | ctl pubkey)" = "$p1" ] || die "pubkey refused a key with whitespace"

# RFC 7748 section 6.1: Alice's and Bob's X25519 key pairs.
[ "$(b64 77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a | ctl pubkey)" = \
	"$(b64 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a)" ] ||
	die "pubkey disagrees with RFC 7748 for Alice"
[ "$(b64 5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb | ctl pubkey)" = \
	"$(b64 de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f)" ] ||
	die "pubkey disagrees with RFC 7748 for Bob"

log "pubkey refuses what is not a key"
# bad_pubkey NAME INPUT: pubkey fails with status 1, the one-line
# message, and nothing on stdout.
bad_pubkey() {
	local rc=0
	printf '%s' "$2" | ctl pubkey >"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" = 1 ] || die "pubkey on $1: exit status $rc, not 1"
	[ ! -s "$WORK/out" ] || die "pubkey on $1 printed '$(cat "$WORK/out")'"
	[ "$(cat "$WORK/err")" = "culvertctl: pubkey: stdin is not a base64 32-byte key" ] ||
		die "pubkey on $1 said '$(cat "$WORK/err")'"
}
bad_pubkey "nothing" ""
bad_pubkey "garbage" "not a key at all"
bad_pubkey "43 characters" "${k1:0:43}"
bad_pubkey "45 characters" "A$k1"
bad_pubkey "31 bytes" "$(head -c 31 /dev/urandom | base64)"
bad_pubkey "33 bytes" "$(head -c 33 /dev/urandom | base64 -w0)"
bad_pubkey "two keys" "$k1$k2"
bad_pubkey "a long line" "$(head -c 4096 /dev/zero | tr '\0' A)"
bad_pubkey "the URL-safe alphabet" "$(b64 fbffbfa0000000000000000000000000000000000000000000000000000000ff | tr '+/' '-_')"

log "genpsk"
psk1=$(ctl genpsk)
is_key "$psk1" || die "genpsk printed '$psk1'"
[ "${#psk1}" = 44 ] || die "genpsk printed ${#psk1} characters"
[ "$psk1" != "$(ctl genpsk)" ] || die "two genpsks printed the same key"

log "a warning for key files that group or others can read"
warning="warning: writing a private key to a file readable by group or others"
# written_to CMD MODE: runs culvertctl CMD into a file of MODE; its stderr
# lands in $WORK/err, and the file must hold a key all the same.
written_to() {
	rm -f "$WORK/out.key"
	install -m "$2" /dev/null "$WORK/out.key"
	ctl "$1" >"$WORK/out.key" 2>"$WORK/err" || die "$1 into a $2 file failed"
	is_key "$(cat "$WORK/out.key")" || die "$1 into a $2 file wrote no key"
}
for cmd in genkey genpsk; do
	for mode in 0644 0640 0604 0660; do
		written_to $cmd $mode
		[ "$(cat "$WORK/err")" = "$warning" ] || die "$cmd into a $mode file: stderr '$(cat "$WORK/err")'"
	done
	for mode in 0600 0400 0700; do
		written_to $cmd $mode
		[ ! -s "$WORK/err" ] || die "$cmd into a $mode file warned: $(cat "$WORK/err")"
	done
	# A pipe is no file: nothing to warn about.
	ctl $cmd 2>"$WORK/err" | cat >/dev/null
	[ ! -s "$WORK/err" ] || die "$cmd into a pipe warned: $(cat "$WORK/err")"
done
rc=0
ctl genkey extra >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || die "genkey with an argument: exit status $rc, not 2"
rc=0
ctl -n "$(ns a)" genkey >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || die "genkey with -n: exit status $rc, not 2"

log "culvertd refuses bad keys"
keypair a
keypair b
(umask 077 && ctl genpsk >"$WORK/psk.key")
b_pub=$(cat "$WORK/b.pub")
cp "$WORK/a.key" "$WORK/open.key"
chmod 0644 "$WORK/open.key"
cp "$WORK/a.key" "$WORK/group.key"
chmod 0640 "$WORK/group.key"
cp "$WORK/psk.key" "$WORK/open-psk.key"
chmod 0604 "$WORK/open-psk.key"
(umask 077 && echo "not a key" >"$WORK/garbage.key")
(umask 077 && printf '%s\n' "${b_pub:0:43}" >"$WORK/short.key")

# refused CASE PATTERN ARGS...: culvertd with ARGS exits 2 at start-up,
# with one line on stderr that contains PATTERN.
refused() {
	local what=$1 pattern=$2 rc=0
	shift 2
	n a timeout 10 "$CULVERTD" --dev tun0 --listen :55555 --user nobody --group nogroup "$@" \
		>"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] || die "culvertd with $what: exit status $rc, not 2 ($(cat "$WORK/err"))"
	[ "$(wc -l <"$WORK/err")" = 1 ] || die "culvertd with $what: not one line: $(cat "$WORK/err")"
	grep -qF -- "$pattern" "$WORK/err" || die "culvertd with $what said '$(cat "$WORK/err")', not '$pattern'"
	log "$what: $(cat "$WORK/err")"
}
refused "a 0644 private key" "$WORK/open.key" \
	--private-key "$WORK/open.key" --peer-public-key "$b_pub"
refused "a 0640 private key" "$WORK/group.key" \
	--private-key "$WORK/group.key" --peer-public-key "$b_pub"
refused "a missing private key" "$WORK/missing.key" \
	--private-key "$WORK/missing.key" --peer-public-key "$b_pub"
refused "a private key file that holds no key" "$WORK/garbage.key" \
	--private-key "$WORK/garbage.key" --peer-public-key "$b_pub"
refused "a private key of 43 characters" "$WORK/short.key" \
	--private-key "$WORK/short.key" --peer-public-key "$b_pub"
refused "a directory for a private key" "$WORK" \
	--private-key "$WORK" --peer-public-key "$b_pub"
refused "a bad base64 peer key" "--peer-public-key" \
	--private-key "$WORK/a.key" --peer-public-key "not-a-key"
refused "a peer key of 43 characters" "--peer-public-key" \
	--private-key "$WORK/a.key" --peer-public-key "${b_pub:0:43}"
refused "--private-key without --peer-public-key" "sealed mode needs both" \
	--private-key "$WORK/a.key"
refused "--peer-public-key without --private-key" "sealed mode needs both" \
	--peer-public-key "$b_pub"
refused "a 0604 preshared key" "$WORK/open-psk.key" \
	--private-key "$WORK/a.key" --peer-public-key "$b_pub" --preshared-key "$WORK/open-psk.key"
refused "a missing preshared key" "$WORK/missing-psk.key" \
	--private-key "$WORK/a.key" --peer-public-key "$b_pub" --preshared-key "$WORK/missing-psk.key"
# Refused before the device was opened: culvertd left nothing behind.
has_link a tun0 && die "a refused culvertd created tun0"
echo "PASS: sealed-mode keys"
