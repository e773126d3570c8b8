/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the configuration parser (lib/conf.c), after
 * wireguard-tools' src/fuzz/config.c: any bytes in, the parser must return
 * 0 or -errno with a one-line message, never crash, overrun or leak.  Each
 * input goes through both entries: as a stream (so NUL bytes reach the
 * reader) and as a string (up to its first NUL), then through validation.
 *
 * Built two ways from the same file:
 *
 *   - a normal program (every build), whose main() runs the files named on
 *     its command line once each, as libFuzzer does with file arguments.
 *     tests/meson.build runs it as the unit test "fuzz_conf" over
 *     the examples in doc/examples and the inputs in tests/fuzz/corpus;
 *
 *   - a libFuzzer target, when the build's c_args hold
 *     -fsanitize=fuzzer-no-link (tests/meson.build then links this program
 *     alone with -fsanitize=fuzzer and leaves our main() out):
 *
 *       CC=clang meson setup build-fuzz -Db_sanitize=address,undefined \
 *             -Dc_args=-fsanitize=fuzzer-no-link
 *       ninja -C build-fuzz tests/fuzz_conf
 *       mkdir -p /tmp/conf-corpus
 *       build-fuzz/tests/fuzz_conf -max_total_time=60 -max_len=4096 \
 *             -dict=tests/fuzz/conf.dict /tmp/conf-corpus \
 *             tests/fuzz/corpus doc/examples
 *
 *     (Debian 12: apt-get install clang libclang-rt-14-dev.)  New inputs go
 *     to the first directory; a crash leaves crash-<sha1> in the current
 *     directory, to be rerun with build-fuzz/tests/fuzz_conf crash-<sha1>
 *     and then added to tests/fuzz/corpus/ once fixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless @err holds a non-empty single line (when @rc < 0) that
 * starts with @name. */
static void check_message(int rc, const char *err, const char *name)
{
	if (rc == 0)
		return;
	if (rc > 0 || !err[0] || strchr(err, '\n') || strncmp(err, name, strlen(name)) != 0)
		abort();
}

/* Aborts if @c breaks the invariants the daemon relies on. */
static void check_conf(const struct conf *c)
{
	if (strnlen(c->device, sizeof(c->device)) == sizeof(c->device) ||
	    strnlen(c->public_key, sizeof(c->public_key)) == sizeof(c->public_key))
		abort();
	if ((c->set & CONF_SET_MTU) && (c->mtu < CONF_MTU_MIN || c->mtu > CONF_MTU_MAX))
		abort();
	if (!(c->set & CONF_SET_LISTEN) != !c->listen ||
	    !(c->set & CONF_SET_ENDPOINT) != !c->endpoint)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *text;
	struct conf c;
	FILE *f;
	int rc;

	if (sodium_init() < 0)
		abort();
	conf_init(&c);
	if (size) {
		f = fmemopen((void *)data, size, "r");
		if (!f)
			return 0;
		rc = conf_load_stream(&c, "fuzz.conf", f, err, sizeof(err));
		fclose(f);
		check_message(rc, err, "fuzz.conf");
		check_conf(&c);
		if (rc == 0)
			check_message(conf_validate(&c, "fuzz.conf", err, sizeof(err)), err,
				      "fuzz.conf");
	}
	conf_cleanup(&c);

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = conf_load_string(&c, "s.conf", text, err, sizeof(err));
	check_message(rc, err, "s.conf");
	check_conf(&c);
	if (rc == 0)
		check_message(conf_validate(&c, "s.conf", err, sizeof(err)), err, "s.conf");
	/* Loading on top of a loaded configuration frees what it replaces. */
	rc = conf_load_string(&c, "s.conf", text, err, sizeof(err));
	check_message(rc, err, "s.conf");
	conf_cleanup(&c);
	free(text);
	return 0;
}

#ifndef CONF_FUZZ_LIBFUZZER
/* Without libFuzzer: runs each file named on the command line once. */
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0, n;
		FILE *f = fopen(argv[i], "rb");

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		do {
			if (len == cap) {
				uint8_t *nbuf = realloc(buf, cap = cap ? 2 * cap : 4096);

				if (!nbuf) {
					fprintf(stderr, "%s: out of memory\n", argv[i]);
					return 1;
				}
				buf = nbuf;
			}
			n = fread(buf + len, 1, cap - len, f);
			len += n;
		} while (n > 0);
		if (ferror(f)) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("%s: ok (%zu bytes)\n", argv[i], len);
	}
	return 0;
}
#endif
