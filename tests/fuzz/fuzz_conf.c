/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the configuration parser (lib/conf.c), after
 * wireguard-tools' src/fuzz/config.c: any bytes in, the parser must return
 * 0 or -errno with a one-line message, never crash, overrun or leak.  Each
 * input goes through both entries: as a stream (so NUL bytes reach the
 * reader) and as a string (up to its first NUL), then through validation.
 *
 * Built as every target in this directory is (tests/fuzz/fuzz.h,
 * tests/fuzz/README): a libFuzzer program in a build whose c_args hold
 * -fsanitize=fuzzer-no-link, else a program that replays its corpus
 * (tests/fuzz/corpus/conf and doc/examples: the unit test "fuzz_conf").
 * conf.dict holds the format's words.
 */
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "fuzz.h"

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
	unsigned i, j, total = 0;

	if (strnlen(c->device, sizeof(c->device)) == sizeof(c->device))
		abort();
	if ((c->set & CONF_SET_MTU) && (c->mtu < CONF_MTU_MIN || c->mtu > CONF_MTU_MAX))
		abort();
	if (!(c->set & CONF_SET_LISTEN) != !c->listen)
		abort();
	if (c->n_peers > CONF_PEERS_MAX || !c->n_peers != !c->peers)
		abort();
	for (i = 0; i < c->n_peers; i++) {
		const struct conf_peer *p = &c->peers[i];

		if (strnlen(p->public_key, sizeof(p->public_key)) == sizeof(p->public_key) ||
		    strnlen(p->name, sizeof(p->name)) == sizeof(p->name) ||
		    !(p->set & CONF_SET_ENDPOINT) != !p->endpoint ||
		    p->n_allowed_ips > CONF_ALLOWED_IPS_MAX ||
		    (p->n_allowed_ips && !p->allowed_ips) ||
		    (p->set & ~(CONF_SET_NAME | CONF_SET_PUBLIC_KEY | CONF_SET_PRESHARED_KEY_FILE |
				CONF_SET_ENDPOINT | CONF_SET_ALLOWED_IPS | CONF_SET_TRANSPORT |
				CONF_SET_KEEPALIVE | CONF_SET_PLAIN_KEEPALIVE |
				CONF_SET_DEAD_PEER_TIMEOUT | CONF_SET_PLAIN_OFFLOAD)))
			abort();
		for (j = 0; j < p->n_allowed_ips; j++)
			if (p->allowed_ips[j].prefix.len >
			    (p->allowed_ips[j].prefix.family == AF_INET ? 32u : 128u))
				abort();
		total += p->n_allowed_ips;
	}
	if (total > CONF_ALLOWED_IPS_TOTAL)
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
