/* SPDX-License-Identifier: MIT */
/*
 * Static X25519 keys as culvert keeps them on disk: the 32 raw bytes in
 * standard base64 with padding (RFC 4648 section 4), 44 characters, exactly
 * as wg(8) writes them, so `culvertctl genkey` / `culvertctl pubkey` behave
 * like `wg genkey` / `wg pubkey` (doc/design.md section 3).
 *
 * All functions return 0 or -errno and never print.  The caller must have
 * called sodium_init() first.  Private keys should live in sodium_malloc'd
 * memory; nothing here keeps a copy, and every temporary is wiped.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Raw key size in bytes (X25519, RFC 7748 section 5). */
#define KEY_LEN 32
/* base64 of KEY_LEN bytes: 43 significant characters and one '='. */
#define KEY_BASE64_LEN 44
/* Size of a buffer that holds the base64 text and its NUL. */
#define KEY_BASE64_SIZE (KEY_BASE64_LEN + 1)
/* A key file longer than this is refused without being parsed. */
#define KEY_FILE_MAX 256

/*
 * Draws a new X25519 private key (KEY_LEN bytes into @out) from
 * randombytes_buf() and clamps it as RFC 7748 section 5 and wg genkey do
 * (clear bits 0-2 and 255, set bit 254), so the stored key is the scalar
 * actually used.  Cannot fail.
 */
void key_generate_private(uint8_t *out);

/*
 * Computes the X25519 public key (KEY_LEN bytes into @pub) of the private
 * key @priv (KEY_LEN bytes; clamped internally as RFC 7748 requires, so an
 * unclamped key gives the same result as its clamped form).  Returns 0, or
 * -EINVAL for an all-zero private key (clamping would make it a valid
 * scalar, but it is never a generated key: it is an unset buffer) or an
 * all-zero result; @pub is then zeroed.
 */
int key_public_from_private(uint8_t *pub, const uint8_t *priv);

/*
 * Writes the base64 form of @key (KEY_LEN bytes) into @out, which must hold
 * KEY_BASE64_SIZE bytes: KEY_BASE64_LEN characters and a NUL.  Cannot fail.
 * For a private key, wipe @out after use (sodium_memzero).
 */
void key_to_base64(char *out, const uint8_t *key);

/*
 * Parses a NUL-terminated base64 key into @out (KEY_LEN bytes).  Accepted:
 * optional ASCII whitespace (space, tab, CR, LF) before and after, and in
 * between exactly KEY_BASE64_LEN characters of the standard alphabet with
 * its '=' padding, in the canonical encoding of exactly KEY_LEN bytes.
 * Anything else (43 or 45 characters, 31 or 33 decoded bytes, URL-safe
 * alphabet, embedded whitespace, non-zero padding bits) returns -EINVAL and
 * leaves @out untouched: no partial output.  Returns 0 or -EINVAL.
 */
int key_from_base64(uint8_t *out, const char *b64);

/*
 * Reads a base64 key file (as key_from_base64(); typically one line with a
 * trailing newline) into @key (KEY_LEN bytes, sodium_malloc'd by the
 * caller).  Opens first and checks the opened file with fstat(2), so the
 * file checked is the file read.  Refused, like ssh refuses a private key:
 *   -ENOENT   no such file (and other open(2) errors as -errno);
 *   -EISDIR   a directory; -EINVAL any other non-regular file;
 *   -EACCES   any permission bit for group or others (mode & 077), with the
 *             message "permissions 0644 for 'FILE' are too open";
 *   -EINVAL   content that is not a base64 32-byte key, or longer than
 *             KEY_FILE_MAX bytes;
 *   -errno    from read(2).
 * On error, @key is untouched and, if @err is not NULL, a one-line message
 * naming @path is written to @err (@errlen bytes, NUL-terminated,
 * truncated if needed).  Every buffer that held file content is wiped.
 */
int key_read_file(const char *path, uint8_t *key, char *err, size_t errlen);
