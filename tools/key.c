/* SPDX-License-Identifier: MIT */
/*
 * culvertctl genkey, pubkey, genpsk: sealed mode's keys, as `wg genkey`,
 * `wg pubkey` and `wg genpsk` make them: one line of base64 (lib/key.h) and a
 * newline on stdout.  No netlink and no namespace: these take no -n.
 */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "key.h"

void genkey_usage(FILE *f)
{
	fprintf(f, "Usage: %s genkey\n", CTL_PROG);
}

void pubkey_usage(FILE *f)
{
	fprintf(f, "Usage: %s pubkey < PRIVATE_KEY_FILE\n", CTL_PROG);
}

void genpsk_usage(FILE *f)
{
	fprintf(f, "Usage: %s genpsk\n", CTL_PROG);
}

/*
 * The shared argument check: no argument but "help".  Returns -1 to go on,
 * or the exit code to return.
 */
static int key_args(int argc, char **argv, void (*usage)(FILE *f))
{
	if (argc == 1)
		return -1;
	if (argc == 2 && ctl_is_help(argv[1])) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	return ctl_usage(argv[0], "%s: unexpected '%s'", argv[0], argv[1]);
}

/* libsodium must be initialised before randombytes_buf() and crypto_scalarmult(). */
static int key_sodium_init(const char *what)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: %s: cannot initialise libsodium\n", CTL_PROG, what);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/*
 * A secret redirected to a file that group or others can read has already
 * leaked a little; culvertd would refuse that file anyway.  Like wg, warn
 * and still write: the shell made the file, and only the user can fix the
 * umask.
 */
static void key_warn_if_readable(void)
{
	struct stat st;

	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr,
			"warning: writing a private key to a file readable by group or others\n");
}

/*
 * Print @key's base64 and a newline, wiping the text.  Returns an exit
 * code: a full disk or a closed pipe must not look like success.
 */
static int key_print(const char *what, const uint8_t *key)
{
	char b64[KEY_BASE64_SIZE];
	int ret = CTL_EXIT_OK;

	key_to_base64(b64, key);
	errno = 0;
	if (printf("%s\n", b64) < 0 || fflush(stdout) == EOF || ferror(stdout))
		ret = ctl_fail(errno ? errno : EIO, NULL, "%s: write to stdout", what);
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

/* `genkey`: a new clamped X25519 private key. */
int genkey_main(int argc, char **argv)
{
	uint8_t priv[KEY_LEN];
	int ret;

	ret = key_args(argc, argv, genkey_usage);
	if (ret >= 0)
		return ret;
	ret = key_sodium_init("genkey");
	if (ret)
		return ret;
	key_warn_if_readable();
	key_generate_private(priv);
	ret = key_print("genkey", priv);
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

/* `genpsk`: 32 random bytes; a PSK is as secret as a private key. */
int genpsk_main(int argc, char **argv)
{
	uint8_t psk[KEY_LEN];
	int ret;

	ret = key_args(argc, argv, genpsk_usage);
	if (ret >= 0)
		return ret;
	ret = key_sodium_init("genpsk");
	if (ret)
		return ret;
	key_warn_if_readable();
	randombytes_buf(psk, sizeof(psk));
	ret = key_print("genpsk", psk);
	sodium_memzero(psk, sizeof(psk));
	return ret;
}

/*
 * `pubkey`: the public key of the private key on stdin.  Reads at most
 * KEY_FILE_MAX bytes, as culvertd reads a key file: anything longer is not
 * a key.
 */
int pubkey_main(int argc, char **argv)
{
	char buf[KEY_FILE_MAX + 2];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	size_t len = 0;
	ssize_t n;
	int ret;

	ret = key_args(argc, argv, pubkey_usage);
	if (ret >= 0)
		return ret;
	ret = key_sodium_init("pubkey");
	if (ret)
		return ret;

	/* One byte more than KEY_FILE_MAX tells an over-long input from a full one. */
	while (len < KEY_FILE_MAX + 1) {
		n = read(STDIN_FILENO, buf + len, KEY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ctl_fail(errno, NULL, "pubkey: read stdin");
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	/* An embedded NUL would hide the rest from key_from_base64(). */
	if (len > KEY_FILE_MAX || memchr(buf, '\0', len) || key_from_base64(priv, buf) ||
	    key_public_from_private(pub, priv)) {
		fprintf(stderr, "%s: pubkey: stdin is not a base64 32-byte key\n", CTL_PROG);
		ret = CTL_EXIT_FAIL;
		goto out;
	}
	ret = key_print("pubkey", pub);
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(priv, sizeof(priv));
	return ret;
}
