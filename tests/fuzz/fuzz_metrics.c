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
 *     statuses' device, netns, peer labels, endpoints and drop names (a
 *     status repeating an earlier one's device and netns is left out
 *     whole, and so is a peer repeating an earlier peer's label).
 *
 * Input: byte 0: how many statuses (0-3) and flags; then per status the
 * fields in struct order (strings as a length byte and bytes), then its
 * peers (0-3, each in struct order), then the current time.
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

/* Appends a peer to @st, its fields from @in in struct order. */
static void fill_peer(struct fuzz_input *in, struct status *st)
{
	static const char *const words[] = {"tun", "tap", "tcp", "udp", "x", ""};
	struct status_peer *p;
	uint8_t flags = fuzz_u8(in);
	size_t i, n;

	if (status_add_peer(st, &p))
		abort();
	take_string(in, p->name, sizeof(p->name));
	if (flags & 1)
		take_string(in, p->public_key, sizeof(p->public_key));
	take_string(in, p->endpoint, sizeof(p->endpoint));
	strcpy(p->transport, words[fuzz_u8(in) % 6]);
	take_string(in, p->state, sizeof(p->state));
	n = fuzz_u8(in) % 4;
	for (i = 0; i < n; i++)
		take_string(in, p->addresses[i], sizeof(p->addresses[i]));
	p->n_addresses = n;
	p->addresses_more = fuzz_u64(in);
	p->latest_handshake = (int64_t)fuzz_u64(in);
	p->keepalive = fuzz_u32(in);
	p->rx_bytes = fuzz_u64(in);
	p->rx_packets = fuzz_u64(in);
	p->tx_bytes = fuzz_u64(in);
	p->tx_packets = fuzz_u64(in);
	n = fuzz_u8(in) % 4;
	for (i = 0; i < n; i++) {
		take_name(in, p->drops[i].name);
		p->drops[i].value = fuzz_u64(in);
	}
	p->n_drops = n;
	n = fuzz_u8(in) % 4;
	for (i = 0; i < n; i++) {
		take_name(in, p->counters[i].name);
		p->counters[i].value = fuzz_u64(in);
	}
	p->n_counters = n;
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
	n = fuzz_u8(in) % 4;
	for (i = 0; i < n; i++)
		fill_peer(in, st);
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

/* The peer label metrics gives peer @i of @st, or NULL when an earlier
 * peer has it (left out). */
static const char *peer_label(const struct status *st, size_t i)
{
	const struct status_peer *p = &st->peers[i];
	const char *l = p->public_key[0] ? p->public_key : p->name[0] ? p->name : p->endpoint;

	for (size_t j = 0; j < i; j++) {
		const struct status_peer *q = &st->peers[j];

		if (!strcmp(l, q->public_key[0] ? q->public_key
			       : q->name[0]     ? q->name
						: q->endpoint))
			return NULL;
	}
	return l;
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
				   endpoint = {.name = "endpoint"}, peer = {.name = "peer"},
				   reason = {.name = "reason"};
		struct seen *labels[] = {&ns, &endpoint, &peer, &reason};
		char *text, err[256];
		size_t len;
		long samples;
		int rc = metrics_render(sts, n, now, format, &text, &len);

		if (!valid) {
			FUZZ_ASSERT(rc == -EINVAL && text == NULL);
			break;
		}
		FUZZ_ASSERT(rc == 0 && text && strlen(text) == len);
		dev.n = ns.n = endpoint.n = peer.n = reason.n = 0;
		samples = metrics_check(text, len, om, err, sizeof(err), on_label, &dev);
		if (samples < 0)
			fprintf(stderr, "%s\n%s", err, text);
		FUZZ_ASSERT(samples >= 0);
		FUZZ_ASSERT(n == 0 || samples > 0);
		for (size_t k = 0; k < sizeof(labels) / sizeof(labels[0]); k++)
			FUZZ_ASSERT(metrics_check(text, len, om, err, sizeof(err), on_label,
						  labels[k]) == samples);
		for (i = 0; i < n; i++) {
			bool dup = false;

			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(sts[i].device, sts[j].device) &&
				       !strcmp(sts[i].netns, sts[j].netns);
			FUZZ_ASSERT(seen_has(&dev, sts[i].device));
			if (dup)
				continue;
			FUZZ_ASSERT(!sts[i].netns[0] || seen_has(&ns, sts[i].netns));
			for (size_t j = 0; j < sts[i].n_drops; j++)
				FUZZ_ASSERT(seen_has(&reason, sts[i].drops[j].name));
			for (size_t j = 0; j < sts[i].n_peers; j++) {
				const struct status_peer *p = &sts[i].peers[j];
				const char *l = peer_label(&sts[i], j);

				if (!l)
					continue;
				FUZZ_ASSERT(seen_has(&peer, l));
				FUZZ_ASSERT(!p->endpoint[0] || seen_has(&endpoint, p->endpoint));
				for (size_t k = 0; k < p->n_drops; k++)
					FUZZ_ASSERT(seen_has(&reason, p->drops[k].name));
			}
		}
		FUZZ_ASSERT(dev.n <= n);
		free(text);
	}
	for (i = 0; i < n; i++)
		status_cleanup(&sts[i]);
	return 0;
}

/* A seed being written: fields appended as fill() reads them. */
struct seed {
	uint8_t buf[1024];
	size_t len;
};

static void put_u8(struct seed *s, uint8_t v)
{
	if (s->len < sizeof(s->buf))
		s->buf[s->len++] = v;
}

static void put_be(struct seed *s, uint64_t v, int bytes)
{
	while (bytes--)
		put_u8(s, (uint8_t)(v >> (8 * bytes)));
}

static void put_str(struct seed *s, const char *str)
{
	put_u8(s, (uint8_t)strlen(str));
	while (*str)
		put_u8(s, (uint8_t)*str++);
}

/* Word indexes of fill()'s table. */
enum { W_TUN, W_TAP, W_TCP, W_UDP };

int fuzz_generate(const char *dir)
{
	static const uint8_t none[] = {0};
	struct seed s = {.len = 0};
	int ret;

	/* Two statuses: a sealed listener in a namespace with a quote and a
	 * backslash in its names and two peers, and a plain client whose
	 * peer is known by its endpoint. */
	put_u8(&s, 2);
	put_u8(&s, 0x0f); /* netns, sealed, listen, key */
	put_str(&s, "tun\"");
	put_str(&s, "b\\lu");
	put_u8(&s, W_TUN);
	put_u8(&s, W_UDP);
	put_str(&s, "ABCDEFG=");
	put_str(&s, "[::]:55");
	put_str(&s, "established");
	put_be(&s, 42, 4);         /* pid */
	put_be(&s, 3723, 8);       /* uptime */
	put_be(&s, 12, 8);         /* latest handshake */
	put_be(&s, 1268776, 8);    /* rx bytes */
	put_be(&s, 1234, 8);       /* rx packets */
	put_be(&s, 3650722202, 8); /* tx bytes */
	put_be(&s, 5678, 8);       /* tx packets */
	put_u8(&s, 2);
	put_str(&s, "bad_frame");
	put_be(&s, 0, 8);
	put_str(&s, "no_session");
	put_be(&s, 17, 8);
	put_u8(&s, 3);
	put_str(&s, "handshakes");
	put_be(&s, 5, 8);
	put_str(&s, "rekeys");
	put_be(&s, 4, 8);
	put_str(&s, "bad_tag");
	put_be(&s, UINT64_MAX - 1, 8);
	put_u8(&s, 2); /* peers */
	for (int i = 0; i < 2; i++) {
		put_u8(&s, 1); /* key */
		put_str(&s, i ? "" : "branch-\"1\"");
		put_str(&s, i ? "HIJKLMN=" : "OPQRSTU=");
		put_str(&s, i ? "" : "198.18.0.2:47758");
		put_u8(&s, W_UDP);
		put_str(&s, i ? "handshaking" : "established");
		put_u8(&s, 2 - i);
		put_str(&s, "198.18.1.0/24");
		put_str(&s, "2001:db8:1::/48");
		put_be(&s, (uint64_t)i, 8);         /* addresses more */
		put_be(&s, i ? UINT64_MAX : 12, 8); /* latest handshake: -1 */
		put_be(&s, 25, 4);                  /* keepalive */
		put_be(&s, 1000, 8);
		put_be(&s, 10, 8);
		put_be(&s, 2000, 8);
		put_be(&s, 20, 8);
		put_u8(&s, 1);
		put_str(&s, "backpressure");
		put_be(&s, 3, 8);
		put_u8(&s, 1);
		put_str(&s, "handshakes");
		put_be(&s, 5, 8);
	}
	put_u8(&s, 0x00); /* plain TAP client, connecting */
	put_str(&s, "tap7");
	put_u8(&s, W_TAP);
	put_u8(&s, W_TCP);
	put_str(&s, "0.0.0.0:0");
	put_str(&s, "connecting");
	put_be(&s, 1, 4);
	put_be(&s, 1, 8);
	put_be(&s, UINT64_MAX, 8); /* latest handshake: -1 */
	put_be(&s, 1024, 8);
	put_be(&s, 0, 8);
	put_be(&s, 1023, 8);
	put_be(&s, 0, 8);
	put_u8(&s, 1);
	put_str(&s, "no_peer");
	put_be(&s, 1, 8);
	put_u8(&s, 1);
	put_str(&s, "reconnects");
	put_be(&s, 0, 8);
	put_u8(&s, 1); /* peers */
	put_u8(&s, 0);
	put_str(&s, "");
	put_str(&s, "198.18.0.9:55555");
	put_u8(&s, W_TCP);
	put_str(&s, "connecting");
	put_u8(&s, 1);
	put_str(&s, "02:00:5e:10:00:01");
	put_be(&s, 0, 8);
	put_be(&s, UINT64_MAX, 8);
	put_be(&s, 0, 4);
	for (int i = 0; i < 4; i++)
		put_be(&s, 0, 8);
	put_u8(&s, 0);
	put_u8(&s, 0);
	put_be(&s, 1796104800, 8); /* now: 2026-12-01 06:00:00 UTC */
	ret = fuzz_write_seed(dir, "two-tunnels", s.buf, s.len);
	return ret ?: fuzz_write_seed(dir, "none", none, sizeof(none));
}
