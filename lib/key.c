/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "key.h"

_Static_assert(KEY_LEN == crypto_scalarmult_BYTES, "X25519 public key size");
_Static_assert(KEY_LEN == crypto_scalarmult_SCALARBYTES, "X25519 private key size");
_Static_assert(KEY_BASE64_SIZE ==
		   sodium_base64_ENCODED_LEN(KEY_LEN, sodium_base64_VARIANT_ORIGINAL),
	       "base64 size");

void key_generate_private(uint8_t *out)
{
	randombytes_buf(out, KEY_LEN);
	/* RFC 7748 section 5, decodeScalar25519; the same as wg genkey. */
	out[0] &= 248;
	out[31] &= 127;
	out[31] |= 64;
}

int key_public_from_private(uint8_t *pub, const uint8_t *priv)
{
	/* All zeros clamps to a valid scalar, but is never a generated key:
	 * it is an uninitialised buffer. */
	if (sodium_is_zero(priv, KEY_LEN) || crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(pub, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void key_to_base64(char *out, const uint8_t *key)
{
	sodium_bin2base64(out, KEY_BASE64_SIZE, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static int key_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses exactly @len characters at @b64 (no surrounding whitespace). */
static int key_decode(uint8_t *out, const char *b64, size_t len)
{
	uint8_t tmp[KEY_LEN];
	char canon[KEY_BASE64_SIZE];
	size_t bin_len = 0;
	const char *end = NULL;
	int ret = -EINVAL;

	if (len != KEY_BASE64_LEN)
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), b64, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (bin_len != KEY_LEN || end != b64 + len)
		goto out;
	/*
	 * One key, one text: refuse encodings with non-zero padding bits,
	 * which a lenient decoder maps to the same bytes.  Compared in
	 * constant time, as the text is a secret.
	 */
	key_to_base64(canon, tmp);
	if (sodium_memcmp(canon, b64, KEY_BASE64_LEN) != 0)
		goto out;
	memcpy(out, tmp, KEY_LEN);
	ret = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	sodium_memzero(canon, sizeof(canon));
	return ret;
}

int key_from_base64(uint8_t *out, const char *b64)
{
	size_t start = 0, len = strlen(b64);

	while (start < len && key_is_space(b64[start]))
		start++;
	while (len > start && key_is_space(b64[len - 1]))
		len--;
	return key_decode(out, b64 + start, len - start);
}

__attribute__((format(printf, 3, 4))) static void key_error(char *err, size_t errlen,
							    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int key_read_file(const char *path, uint8_t *key, char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO must not hang; fstat refuses it below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		key_error(err, errlen, "open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		key_error(err, errlen, "stat %s: %s", path, strerror(-ret));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		key_error(err, errlen, "%s: is a directory, not a key file", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		key_error(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* As ssh does for private keys: no bit at all for group or others. */
	if (st.st_mode & 077) {
		ret = -EACCES;
		key_error(err, errlen, "permissions %04o for '%s' are too open",
			  (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	/* Read until EOF; one byte more than allowed tells "too long". */
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			key_error(err, errlen, "read %s: %s", path, strerror(-ret));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf))
			break;
	}
	ret = -EINVAL;
	if (len > KEY_FILE_MAX || memchr(buf, '\0', len) != NULL) {
		key_error(err, errlen, "%s: not a base64 32-byte key", path);
		goto out;
	}
	buf[len] = '\0';
	ret = key_from_base64(key, buf);
	if (ret < 0)
		key_error(err, errlen, "%s: not a base64 32-byte key", path);
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}
