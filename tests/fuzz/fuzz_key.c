/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for key_from_base64() (lib/key.h), the parser of key files
 * and of PublicKey/PrivateKey/PresharedKey in configuration files, against
 * a reference decoder written here from RFC 4648 section 4: after trimming
 * space, tab, CR and LF at both ends, the text must be 43 characters of the
 * standard alphabet whose last one carries two zero padding bits, then one
 * '='.  Accepted inputs must decode to the reference's bytes and re-encode
 * to the same text (key_to_base64()); refused ones must leave the output
 * untouched.
 *
 * Input: the text (up to its first NUL, as the C string it is).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "key.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The reference decoder: true with @out filled iff @s (@len bytes) is the
 * canonical encoding of 32 bytes. */
static bool model_decode(const char *s, size_t len, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (len != KEY_BASE64_LEN || s[43] != '=')
		return false;
	for (size_t i = 0; i < 43; i++) {
		const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;

		if (!p)
			return false;
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* 258 bits: the last two must be zero. */
	return n == KEY_LEN && bits == 2 && (acc & 3) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[KEY_LEN], want[KEY_LEN];
	char *text, again[KEY_BASE64_SIZE];
	size_t start = 0, end;
	bool ok;
	int rc;

	if (sodium_init() < 0)
		abort();
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	end = strlen(text);
	while (start < end && space(text[start]))
		start++;
	while (end > start && space(text[end - 1]))
		end--;
	ok = model_decode(text + start, end - start, want);

	memset(key, 0xa5, sizeof(key));
	rc = key_from_base64(key, text);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	FUZZ_ASSERT((rc == 0) == ok);
	if (ok) {
		FUZZ_ASSERT(memcmp(key, want, KEY_LEN) == 0);
		key_to_base64(again, key);
		FUZZ_ASSERT(memcmp(again, text + start, KEY_BASE64_LEN) == 0 &&
			    again[KEY_BASE64_LEN] == '\0');
	} else {
		for (size_t i = 0; i < KEY_LEN; i++)
			FUZZ_ASSERT(key[i] == 0xa5);
	}
	free(text);
	return 0;
}
