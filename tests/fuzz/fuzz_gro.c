/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the GRO coalescer (lib/vnet.h vnet_gro_add() and
 * vnet_gro_flush()): packets from the peer, offered one by one.  Property:
 * every packet the coalescer flushes passes vnet_check(), and cut again
 * with vnet_gso_split() gives back exactly the packets that went in, in
 * order, with the kernel's leeway: a segment of a coalesced packet gets a
 * fresh IPv4 header checksum and TCP checksum (checked to verify); with DF
 * set its IPv4 identification is free (RFC 6864 section 4.1); without URG
 * its urgent pointer is the first segment's.
 *
 * Input: [options: 1] then records [op: 1][...]:
 *   options & 1: TAP; options >> 1: the coalescer's capacity, small to
 *   large.
 *   op & 3 = 0: a packet [len: 2][bytes], its IPv4 and TCP checksums fixed
 *               when op & 4 and it parses as TCP;
 *            1: the segment that follows the last packet: [payload: 2]
 *               [flags xor: 1], sequence number and IPv4 ID carried on,
 *               lengths and checksums right, payload bytes from the input;
 *            2: vnet_gro_flush() (the end of a batch);
 *            3: as 1 with the payload length of the last one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_net.h"
#include "vnet.h"

#define MAX_PKT (65535 + 40 + 22)
#define MAX_IN  64

struct pkts {
	uint8_t *p[MAX_IN];
	size_t len[MAX_IN];
	size_t n;
};

struct ctx {
	bool tap;
	struct pkts in;
	size_t next; /* the input packet the next output must equal */
};

/* Zeroes what a re-cut segment may legitimately change: the checksums,
 * the IPv4 ID when DF is set, and the urgent pointer when URG is not (the
 * kernel's tcp_gro_receive() does not compare it either: it means nothing
 * then, RFC 9293 section 3.1, and every segment gets the first one's). */
static void normalise(uint8_t *p, size_t len, bool tap)
{
	struct net_tcp t;

	if (!net_parse_tcp(p, len, tap, &t))
		return;
	if (!t.v6) {
		net_put16(p + t.l3 + 10, 0);
		if (p[t.l3 + 6] & 0x40)
			net_put16(p + t.l3 + 4, 0);
	}
	net_put16(p + t.l4 + 16, 0);
	if (!(p[t.l4 + 13] & 0x20))
		net_put16(p + t.l4 + 18, 0);
}

/* One output segment: it must be the next input packet. */
static void expect(struct ctx *c, const uint8_t *seg, size_t len, bool recut)
{
	uint8_t *a, *b;

	FUZZ_ASSERT(c->next < c->in.n);
	FUZZ_ASSERT(len == c->in.len[c->next]);
	if (!recut) {
		FUZZ_ASSERT(memcmp(seg, c->in.p[c->next], len) == 0);
	} else {
		struct net_tcp t;

		FUZZ_ASSERT(net_parse_tcp(seg, len, c->tap, &t) && net_csums_ok(seg, len, &t));
		a = malloc(len);
		b = malloc(len);
		if (!a || !b)
			abort();
		memcpy(a, seg, len);
		memcpy(b, c->in.p[c->next], len);
		normalise(a, len, c->tap);
		normalise(b, len, c->tap);
		FUZZ_ASSERT(memcmp(a, b, len) == 0);
		free(a);
		free(b);
	}
	c->next++;
}

static void on_flush(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	static const uint8_t zero[VNET_HDR_LEN];
	struct ctx *c = ctx;
	struct vnet_hdr h;
	unsigned nmax;
	size_t stride;
	uint16_t *seg_len;
	uint8_t *out;
	int n;

	vnet_hdr_get(hdr, &h);
	FUZZ_ASSERT(vnet_check(&h, pkt, len, c->tap) == 0);
	if (h.gso_type == VNET_GSO_NONE) {
		FUZZ_ASSERT(memcmp(hdr, zero, VNET_HDR_LEN) == 0);
		expect(c, pkt, len, false);
		return;
	}
	FUZZ_ASSERT(h.flags == VNET_F_NEEDS_CSUM && h.csum_offset == 16);
	nmax = vnet_gso_segments(&h, len);
	stride = (size_t)h.csum_start + 60 + h.gso_size;
	out = malloc(nmax * stride);
	seg_len = malloc(nmax * sizeof(*seg_len));
	if (!out || !seg_len)
		abort();
	n = vnet_gso_split(&h, pkt, len, c->tap, out, stride, nmax, seg_len);
	FUZZ_ASSERT(n >= 2);
	for (int i = 0; i < n; i++)
		expect(c, out + (size_t)i * stride, seg_len[i], true);
	free(out);
	free(seg_len);
}

/* Appends a copy of @len bytes to the inputs, or NULL when full. */
static uint8_t *keep(struct pkts *in, const uint8_t *p, size_t len)
{
	uint8_t *copy;

	if (in->n == MAX_IN)
		return NULL;
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, p, len);
	in->p[in->n] = copy;
	in->len[in->n++] = len;
	return copy;
}

/* Builds in @buf the segment that follows @prev (@plen bytes, TCP as @t). */
static size_t follow(uint8_t *buf, const uint8_t *prev, size_t plen, const struct net_tcp *t,
		     struct fuzz_input *in, bool same_size)
{
	size_t last = plen - t->hlen, payload, got;
	uint8_t xflags;
	const uint8_t *p;
	size_t len;

	payload = same_size ? last : fuzz_u16(in);
	xflags = same_size ? 0 : fuzz_u8(in);
	if (payload > MAX_PKT - t->hlen)
		payload = MAX_PKT - t->hlen;
	len = t->hlen + payload;
	memcpy(buf, prev, t->hlen);
	p = fuzz_bytes(in, payload, &got);
	memcpy(buf + t->hlen, p, got);
	memset(buf + t->hlen + got, 0x33, payload - got);
	net_put32(buf + t->l4 + 4, net_get32(prev + t->l4 + 4) + (uint32_t)last);
	buf[t->l4 + 13] ^= xflags;
	if (t->v6) {
		net_put16(buf + t->l3 + 4, (uint16_t)(len - t->l3 - 40));
	} else {
		net_put16(buf + t->l3 + 2, (uint16_t)(len - t->l3));
		net_put16(buf + t->l3 + 4, (uint16_t)(net_get16(prev + t->l3 + 4) + 1));
	}
	net_fix_csums(buf, len, t);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {MAX_PKT, 65535 + 40, 1500, 200, 9000, 3000, 64, 1};
	static uint8_t buf[MAX_PKT];
	struct fuzz_input in = {data, size};
	uint8_t opt = fuzz_u8(&in);
	struct ctx c = {.tap = opt & 1};
	struct vnet_gro g;

	if (vnet_gro_init(&g, caps[opt >> 1 & 7], c.tap) < 0)
		abort();
	while (in.left && c.in.n < MAX_IN) {
		uint8_t op = fuzz_u8(&in);
		struct net_tcp t;
		const uint8_t *p;
		uint8_t *pkt;
		size_t len, got;

		switch (op & 3) {
		case 0:
			len = fuzz_u16(&in);
			p = fuzz_bytes(&in, len, &got);
			pkt = keep(&c.in, p, got);
			if ((op & 4) && net_parse_tcp(pkt, got, c.tap, &t))
				net_fix_csums(pkt, got, &t);
			vnet_gro_add(&g, pkt, got, on_flush, &c);
			break;
		case 2:
			vnet_gro_flush(&g, on_flush, &c);
			FUZZ_ASSERT(c.next == c.in.n);
			break;
		default:
			if (c.in.n == 0)
				break;
			pkt = c.in.p[c.in.n - 1];
			len = c.in.len[c.in.n - 1];
			if (!net_parse_tcp(pkt, len, c.tap, &t))
				break;
			len = follow(buf, pkt, len, &t, &in, (op & 3) == 3);
			pkt = keep(&c.in, buf, len);
			vnet_gro_add(&g, pkt, len, on_flush, &c);
			break;
		}
	}
	vnet_gro_flush(&g, on_flush, &c);
	FUZZ_ASSERT(c.next == c.in.n);
	vnet_gro_free(&g);
	for (size_t i = 0; i < c.in.n; i++)
		free(c.in.p[i]);
	return 0;
}

/* Writes one seed: options, then a first segment and @n followers of the
 * same size, the last @last_flags xor'ed in. */
static int seed(const char *dir, const char *name, const struct net_seg *s, uint8_t cap, int n,
		uint8_t last_flags)
{
	static uint8_t b[1 + 3 + MAX_PKT + 64];
	size_t len = 0, plen;

	b[len++] = (uint8_t)(s->tap | cap << 1);
	b[len++] = 4; /* a packet, checksums fixed */
	plen = net_build(b + len + 2, s);
	net_put16(b + len, (uint16_t)plen);
	len += 2 + plen;
	for (int i = 0; i < n; i++) {
		if (i + 1 < n || !last_flags) {
			b[len++] = 3;
			continue;
		}
		b[len++] = 1;
		net_put16(b + len, (uint16_t)(s->payload / 2));
		b[len + 2] = last_flags;
		len += 3;
		for (size_t k = 0; k < s->payload / 2; k++)
			b[len++] = (uint8_t)k;
	}
	b[len++] = 2;
	return fuzz_write_seed(dir, name, b, len);
}

int fuzz_generate(const char *dir)
{
	const struct net_seg v4 = {.payload = 200, .flags = 0x10, .id = 9, .seq = 1000};
	const struct net_seg v4df = {.payload = 100, .flags = 0x90, .df = true, .seq = ~0u - 150};
	const struct net_seg v6 = {.v6 = true, .payload = 120, .flags = 0x50, .optlen = 12};
	const struct net_seg tap = {.tap = true, .vlans = 2, .payload = 64, .flags = 0x10};
	int ret;

	ret = seed(dir, "v4-run", &v4, 0, 5, 0);
	ret = ret ?: seed(dir, "v4-psh-end", &v4, 0, 3, 0x08);
	ret = ret ?: seed(dir, "v4-df-cwr-wrap", &v4df, 1, 4, 0);
	ret = ret ?: seed(dir, "v6-options", &v6, 0, 4, 0x08);
	ret = ret ?: seed(dir, "tap-qinq", &tap, 0, 3, 0);
	ret = ret ?: seed(dir, "small-cap", &v4, 5, 20, 0);
	return ret;
}
