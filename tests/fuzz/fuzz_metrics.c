/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for metrics_write() (lib/metrics.h): the text culvertd's
 * metrics endpoint and `culvertctl show --prometheus/--openmetrics` print
 * from status documents, which come from a daemon (or, for culvertctl,
 * from whatever answers on a status socket).  Up to three statuses are
 * filled from the bytes, strings included (any bytes: quotes, backslashes,
 * line feeds, invalid UTF-8), with any current time.  Properties:
 *   - a status status_check() refuses is refused (-EINVAL) and nothing is
 *     written;
 *   - otherwise both formats pass the reference checker
 *     (tests/metrics_check.h: line syntax, one TYPE and HELP per family,
 *     families together and never twice, suffixes, escapes, no label set
 *     twice, integer values, # EOF last in OpenMetrics only), and the
 *     label values read back through the escapes are exactly the
 *     statuses' device, netns, peer and drop names (a status repeating an
 *     earlier one's device and netns is left out whole).
 *
 * Input: byte 0: how many statuses (0-3) and flags; then per status the
 * fields in struct order (strings as a length byte and bytes), then the
 * current time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../metrics_check.h"
#include "fuzz.h"
#include "metrics.h"
#include "status.h"

/* Copies a length-prefixed string from @in into @dst (@size bytes). */
static void take_string(struct fuzz_input *in, char *dst, size_t size)
{
	size_t want = fuzz_u8(in) % size, got;
	const uint8_t *p = fuzz_bytes(in, want, &got);

	memcpy(dst, p, got);
	dst[got] = '\0';
}

/* A counter name from @in: mostly valid, sometimes not. */
static void take_name(struct fuzz_input *in, char *dst)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	size_t len = fuzz_u8(in) % STATUS_COUNTER_NAME_SIZE, i;

	for (i = 0; i < len; i++) {
		uint8_t c = fuzz_u8(in);

		/* One byte in 64 is not from the alphabet. */
		dst[i] = c < 252 ? alphabet[c % (sizeof(alphabet) - 1)] : (char)(c & 0x7f);
	}
	dst[len] = '\0';
}

static void fill(struct fuzz_input *in, struct status *st)
{
	static const char *const words[] = {"tun", "tap", "tcp", "udp", "x", ""};
	uint8_t flags = fuzz_u8(in);
	size_t i, n;

	status_init(st);
	take_string(in, st->device, sizeof(st->device));
	if (flags & 1)
		take_string(in, st->netns, sizeof(st->netns));
	strcpy(st->mode, words[fuzz_u8(in) % 6]);
	strcpy(st->transport, words[fuzz_u8(in) % 6]);
	st->sealed = flags & 2;
	st->listen = flags & 4;
	if (flags & 8)
		take_string(in, st->public_key, sizeof(st->public_key));
	take_string(in, st->local, sizeof(st->local));
	take_string(in, st->peer, sizeof(st->peer));
	take_string(in, st->state, sizeof(st->state));
	st->pid = (int32_t)fuzz_u32(in);
	st->uptime = fuzz_u64(in);
	st->latest_handshake = (int64_t)fuzz_u64(in);
	st->rx_bytes = fuzz_u64(in);
	st->rx_packets = fuzz_u64(in);
	st->tx_bytes = fuzz_u64(in);
	st->tx_packets = fuzz_u64(in);
	/* The lists are filled directly, as a parser might leave them. */
	n = fuzz_u8(in) % 8;
	for (i = 0; i < n; i++) {
		take_name(in, st->drops[i].name);
		st->drops[i].value = fuzz_u64(in);
	}
	st->n_drops = n;
	n = fuzz_u8(in) % 8;
	for (i = 0; i < n; i++) {
		take_name(in, st->counters[i].name);
		st->counters[i].value = fuzz_u64(in);
	}
	st->n_counters = n;
}

/* What the checker read back for one label name. */
struct seen {
	const char *name;
	char values[64][STATUS_ENDPOINT_SIZE];
	size_t n;
};

static void on_label(const char *name, const char *value, void *arg)
{
	struct seen *s = arg;
	size_t i;

	if (strcmp(name, s->name))
		return;
	FUZZ_ASSERT(strlen(value) < sizeof(s->values[0]));
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->values[i], value))
			return;
	FUZZ_ASSERT(s->n < 64);
	strcpy(s->values[s->n++], value);
}

/* Is @value among what the checker read back for its label? */
static bool seen_has(const struct seen *s, const char *value)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->values[i], value))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct status sts[3];
	uint8_t head = fuzz_u8(&in);
	size_t n = head % 4, i;
	bool valid = true;
	int64_t now;

	for (i = 0; i < n; i++) {
		fill(&in, &sts[i]);
		valid &= status_check(&sts[i], NULL, 0) == 0;
	}
	now = (int64_t)fuzz_u64(&in);
	for (int om = 0; om < 2; om++) {
		enum metrics_format format = om ? METRICS_OPENMETRICS : METRICS_PROMETHEUS;
		static struct seen dev = {.name = "device"}, ns = {.name = "netns"},
				   peer = {.name = "endpoint"}, reason = {.name = "reason"};
		char *text, err[256];
		size_t len;
		long samples;
		int rc = metrics_render(sts, n, now, format, &text, &len);

		if (!valid) {
			FUZZ_ASSERT(rc == -EINVAL && text == NULL);
			return 0;
		}
		FUZZ_ASSERT(rc == 0 && text && strlen(text) == len);
		dev.n = ns.n = peer.n = reason.n = 0;
		samples = metrics_check(text, len, om, err, sizeof(err), on_label, &dev);
		if (samples < 0)
			fprintf(stderr, "%s\n%s", err, text);
		FUZZ_ASSERT(samples >= 0);
		FUZZ_ASSERT(n == 0 || samples > 0);
		FUZZ_ASSERT(metrics_check(text, len, om, err, sizeof(err), on_label, &ns) ==
			    samples);
		FUZZ_ASSERT(metrics_check(text, len, om, err, sizeof(err), on_label, &peer) ==
			    samples);
		FUZZ_ASSERT(metrics_check(text, len, om, err, sizeof(err), on_label, &reason) ==
			    samples);
		for (i = 0; i < n; i++) {
			bool dup = false;

			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(sts[i].device, sts[j].device) &&
				       !strcmp(sts[i].netns, sts[j].netns);
			FUZZ_ASSERT(seen_has(&dev, sts[i].device));
			if (dup)
				continue;
			FUZZ_ASSERT(!sts[i].netns[0] || seen_has(&ns, sts[i].netns));
			FUZZ_ASSERT(!sts[i].peer[0] || seen_has(&peer, sts[i].peer));
			for (size_t j = 0; j < sts[i].n_drops; j++)
				FUZZ_ASSERT(seen_has(&reason, sts[i].drops[j].name));
		}
		FUZZ_ASSERT(dev.n <= n);
		free(text);
	}
	return 0;
}

int fuzz_generate(const char *dir)
{
	/* Two statuses: a sealed listener in a namespace with a quote and a
	 * backslash in its names, and a plain client.  Bytes grouped by field,
	 * not one a line. */
	/* clang-format off */
	static const uint8_t two[] = {
	    2,
	    /* status 1: flags netns|sealed|listen|key */
	    0x0f, 4, 't', 'u', 'n', '"', 4, 'b', '\\', 'l', 'u', 0, 2, 8, 'A', 'B', 'C', 'D', 'E',
	    'F', 'G', '=', 7, '[', ':', ':', ']', ':', '5', '5', 16, '1', '9', '8', '.', '1', '8',
	    '.', '0', '.', '2', ':', '4', '7', '7', '5', '8', 11, 'e', 's', 't', 'a', 'b', 'l', 'i',
	    's', 'h', 'e', 'd', 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 14, 0x8b, 0, 0, 0, 0, 0, 0, 0, 12,
	    0, 0, 0, 0, 0, 0x13, 0x5c, 0x28, 0, 0, 0, 0, 0, 0, 4, 0xd2, 0, 0, 0, 0, 0xd9, 0x98,
	    0x9a, 0x1a, 0, 0, 0, 0, 0, 0, 0x16, 0x2e,
	    /* drops: 2 */
	    2, 9, 'b', 'a', 'd', '_', 'f', 'r', 'a', 'm', 'e', 0, 0, 0, 0, 0, 0, 0, 0, 10, 'n',
	    'o', '_', 's', 'e', 's', 's', 'i', 'o', 'n', 0, 0, 0, 0, 0, 0, 0, 17,
	    /* counters: 3 */
	    3, 10, 'h', 'a', 'n', 'd', 's', 'h', 'a', 'k', 'e', 's', 0, 0, 0, 0, 0, 0, 0, 5, 6,
	    'r', 'e', 'k', 'e', 'y', 's', 0, 0, 0, 0, 0, 0, 0, 4, 7, 'b', 'a', 'd', '_', 't', 'a',
	    'g', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	    /* status 2: plain tap client, connecting */
	    0x00, 4, 't', 'a', 'p', '7', 1, 2, 9, '0', '.', '0', '.', '0', '.', '0', ':', '0', 0,
	    10, 'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'n', 'g', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	    1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7, 'n', 'o', '_',
	    'p', 'e', 'e', 'r', 0, 0, 0, 0, 0, 0, 0, 1, 1, 10, 'r', 'e', 'c', 'o', 'n', 'n', 'e',
	    'c', 't', 's', 0, 0, 0, 0, 0, 0, 0, 0,
	    /* now: 2026-12-01 06:00:00 UTC */
	    0, 0, 0, 0, 0x6b, 0x0e, 0x4a, 0x60,
	};
	/* clang-format on */
	static const uint8_t none[] = {0};
	int ret = fuzz_write_seed(dir, "two-tunnels", two, sizeof(two));

	return ret ?: fuzz_write_seed(dir, "none", none, sizeof(none));
}
