/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "key.h"
#include "check_run.h"

/* RFC 7748 section 6.1: Alice's private and public keys. */
static const char alice_private_hex[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_public_hex[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

static char tmpdir[64];

static void hex(uint8_t *out, const char *h)
{
	size_t len;

	ck_assert_int_eq(sodium_hex2bin(out, KEY_LEN, h, strlen(h), NULL, &len, NULL), 0);
	ck_assert_uint_eq(len, KEY_LEN);
}

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	strcpy(tmpdir, "/tmp/test_key.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes @content to a new file in tmpdir with @mode; returns its path. */
static const char *write_file(const char *name, const char *content, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(test_rfc7748_public)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN], want[KEY_LEN];

	hex(priv, alice_private_hex);
	hex(want, alice_public_hex);
	ck_assert_int_eq(key_public_from_private(pub, priv), 0);
	ck_assert_mem_eq(pub, want, KEY_LEN);
}
END_TEST

START_TEST(test_generate_clamped)
{
	uint8_t a[KEY_LEN], b[KEY_LEN], pub[KEY_LEN];

	for (int i = 0; i < 64; i++) {
		key_generate_private(a);
		ck_assert_uint_eq(a[0] & 7, 0);
		ck_assert_uint_eq(a[31] & 0xc0, 0x40);
		ck_assert_int_eq(key_public_from_private(pub, a), 0);
	}
	key_generate_private(b);
	ck_assert_mem_ne(a, b, KEY_LEN);
}
END_TEST

START_TEST(test_zero_private_refused)
{
	uint8_t zero[KEY_LEN] = {0}, pub[KEY_LEN];

	memset(pub, 0xaa, sizeof(pub));
	ck_assert_int_eq(key_public_from_private(pub, zero), -EINVAL);
	ck_assert_mem_eq(pub, zero, KEY_LEN);
}
END_TEST

START_TEST(test_base64_round_trip)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_BASE64_SIZE], padded[KEY_BASE64_SIZE + 8];

	for (int i = 0; i < 256; i++) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		ck_assert_uint_eq(strlen(b64), KEY_BASE64_LEN);
		ck_assert_int_eq(b64[KEY_BASE64_LEN - 1], '=');
		ck_assert_int_eq(key_from_base64(back, b64), 0);
		ck_assert_mem_eq(back, key, KEY_LEN);
	}
	/* Surrounding whitespace and a trailing newline are fine. */
	snprintf(padded, sizeof(padded), "%s\n", b64);
	ck_assert_int_eq(key_from_base64(back, padded), 0);
	ck_assert_mem_eq(back, key, KEY_LEN);
	snprintf(padded, sizeof(padded), " \t%s \r\n", b64);
	ck_assert_int_eq(key_from_base64(back, padded), 0);
	ck_assert_mem_eq(back, key, KEY_LEN);
}
END_TEST

START_TEST(test_base64_known)
{
	uint8_t priv[KEY_LEN], back[KEY_LEN];
	char b64[KEY_BASE64_SIZE];

	hex(priv, alice_private_hex);
	key_to_base64(b64, priv);
	ck_assert_str_eq(b64, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=");
	ck_assert_int_eq(key_from_base64(back, b64), 0);
	ck_assert_mem_eq(back, priv, KEY_LEN);
}
END_TEST

/* Every bad input leaves the output exactly as it was. */
static void expect_bad(const char *text)
{
	uint8_t out[KEY_LEN], canary[KEY_LEN];

	memset(canary, 0x5a, sizeof(canary));
	memcpy(out, canary, sizeof(out));
	if (key_from_base64(out, text) != -EINVAL)
		ck_abort_msg("accepted \"%s\"", text);
	ck_assert_mem_eq(out, canary, KEY_LEN);
}

START_TEST(test_base64_bad)
{
	const char *good = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
	char buf[128], enc[64];
	uint8_t raw[40];

	/* 43 and 45 characters. */
	snprintf(buf, sizeof(buf), "%.43s", good);
	expect_bad(buf);
	snprintf(buf, sizeof(buf), "%sA", good);
	expect_bad(buf);
	snprintf(buf, sizeof(buf), "A%s", good);
	expect_bad(buf);
	/* 31 and 33 decoded bytes, each in 44 well-formed characters. */
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(enc, sizeof(enc), raw, 31, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_uint_eq(strlen(enc), 44);
	expect_bad(enc);
	sodium_bin2base64(enc, sizeof(enc), raw, 33, sodium_base64_VARIANT_ORIGINAL);
	ck_assert_uint_eq(strlen(enc), 44);
	expect_bad(enc);
	/* No padding, or URL-safe alphabet, or a foreign character. */
	sodium_bin2base64(enc, sizeof(enc), raw, 32, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	expect_bad(enc);
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC-=");
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC_=");
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC*=");
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo.");
	/* Non-zero padding bits: 'p' instead of 'o' decodes to the same bytes
	 * in a lenient decoder. */
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=");
	/* Embedded whitespace. */
	expect_bad("dwdtCnMYpX08FsFyUbJm Rd9ML4frwJkqsXf7pR25LCo=");
	expect_bad("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L\nCo=");
	/* Two keys, trailing junk, empty. */
	snprintf(buf, sizeof(buf), "%s\n%s\n", good, good);
	expect_bad(buf);
	snprintf(buf, sizeof(buf), "%s x", good);
	expect_bad(buf);
	expect_bad("");
	expect_bad(" \n");
}
END_TEST

START_TEST(test_file_ok)
{
	uint8_t *key = sodium_malloc(KEY_LEN), want[KEY_LEN];
	char err[256] = "";
	const char *path;

	ck_assert_ptr_nonnull(key);
	hex(want, alice_private_hex);
	path = write_file("k", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 0600);
	ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), 0);
	ck_assert_mem_eq(key, want, KEY_LEN);
	path = write_file("k2", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", 0400);
	ck_assert_int_eq(key_read_file(path, key, NULL, 0), 0);
	ck_assert_mem_eq(key, want, KEY_LEN);
	sodium_free(key);
}
END_TEST

START_TEST(test_file_too_open)
{
	static const mode_t modes[] = {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0666};
	uint8_t *key = sodium_malloc(KEY_LEN);
	char err[256], want[256];
	const char *path;

	ck_assert_ptr_nonnull(key);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		path = write_file("k", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", modes[i]);
		memset(key, 0x5a, KEY_LEN);
		ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -EACCES);
		snprintf(want, sizeof(want), "permissions %04o for '%s' are too open",
			 (unsigned int)modes[i], path);
		ck_assert_str_eq(err, want);
		for (int j = 0; j < KEY_LEN; j++)
			ck_assert_uint_eq(key[j], 0x5a);
	}
	sodium_free(key);
}
END_TEST

START_TEST(test_file_not_regular)
{
	uint8_t *key = sodium_malloc(KEY_LEN);
	char err[256], path[128];

	ck_assert_ptr_nonnull(key);
	ck_assert_int_eq(key_read_file(tmpdir, key, err, sizeof(err)), -EISDIR);
	ck_assert_ptr_nonnull(strstr(err, tmpdir));
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	sodium_free(key);
}
END_TEST

START_TEST(test_file_missing)
{
	uint8_t *key = sodium_malloc(KEY_LEN);
	char err[256], path[128];

	ck_assert_ptr_nonnull(key);
	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	sodium_free(key);
}
END_TEST

START_TEST(test_file_bad_content)
{
	static const char *bad[] = {
	    "",
	    "\n",
	    "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo\n",
	    "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
	    "\ndwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n",
	    "# comment\ndwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n",
	};
	uint8_t *key = sodium_malloc(KEY_LEN);
	char err[256], want[256], big[KEY_FILE_MAX + 64];
	const char *path;

	ck_assert_ptr_nonnull(key);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_file("k", bad[i], 0600);
		ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "%s: not a base64 32-byte key", path);
		ck_assert_str_eq(err, want);
	}
	/* A long file is refused without parsing: key then lots of blanks. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", KEY_BASE64_LEN);
	path = write_file("k", big, 0600);
	ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -EINVAL);
	/* A NUL byte in the middle. */
	path = write_file("k", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", 0600);
	{
		int fd = open(path, O_WRONLY | O_APPEND);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "\0junk", 5), 5);
		close(fd);
	}
	ck_assert_int_eq(key_read_file(path, key, err, sizeof(err)), -EINVAL);
	/* A short error buffer is truncated, not overrun. */
	path = write_file("k", "nope", 0600);
	ck_assert_int_eq(key_read_file(path, key, err, 8), -EINVAL);
	ck_assert_uint_eq(strlen(err), 7);
	sodium_free(key);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("key");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rfc7748_public);
	tcase_add_test(tc, test_generate_clamped);
	tcase_add_test(tc, test_zero_private_refused);
	tcase_add_test(tc, test_base64_round_trip);
	tcase_add_test(tc, test_base64_known);
	tcase_add_test(tc, test_base64_bad);
	tcase_add_test(tc, test_file_ok);
	tcase_add_test(tc, test_file_too_open);
	tcase_add_test(tc, test_file_not_regular);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_bad_content);
	suite_add_tcase(s, tc);
	return check_run(s);
}
