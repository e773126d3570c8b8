/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for lib/vnet.c: the virtio-net header of IFF_VNET_HDR devices,
 * checksum completion, TSO segmentation and the GRO coalescer.  Packets are
 * built here from scratch (198.18.0.0/15, 2001:db8::/32) and every checksum
 * is verified with this file's own RFC 1071 code, not the library's.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnet.h"
#include "check_run.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80

#define GRO_MAX (65535 + 40 + 22)
#define STRIDE  (22 + 60 + 60 + 1448)

/* ---- independent checksum (RFC 1071), two bytes at a time ---- */

static uint32_t t_sum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t t_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t t_pseudo(const uint8_t *ip, bool v6, size_t tcp_len, uint8_t proto)
{
	uint32_t s = v6 ? t_sum(0, ip + 8, 32) : t_sum(0, ip + 12, 8);

	return s + proto + (uint32_t)(tcp_len >> 16) + (uint32_t)(tcp_len & 0xffff);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* Whether the L4 checksum of the packet (IP header at @l3, L4 at @l4) verifies. */
static bool l4_csum_ok(const uint8_t *pkt, size_t len, size_t l3, size_t l4, uint8_t proto)
{
	bool v6 = (pkt[l3] >> 4) == 6;

	return t_fold(t_pseudo(pkt + l3, v6, len - l4, proto) + t_sum(0, pkt + l4, len - l4)) ==
	       0xffff;
}

static bool ip4_csum_ok(const uint8_t *ip)
{
	return t_fold(t_sum(0, ip, (size_t)(ip[0] & 0x0f) * 4)) == 0xffff;
}

/* ---- packet builder ---- */

/* The payload byte at offset @pos of a flow's byte stream. */
static uint8_t stream_byte(size_t pos, uint8_t seed)
{
	return (uint8_t)(pos * 131 + (pos >> 8) * 7 + seed);
}

struct spec {
	bool v6, tap;
	int vlans;      /* VLAN tags behind the Ethernet header (TAP) */
	uint8_t proto;  /* 6 TCP, 17 UDP */
	size_t optlen;  /* TCP option bytes, multiple of 4 */
	size_t payload; /* payload bytes */
	size_t pos;     /* stream offset of the first payload byte */
	uint32_t isn;   /* sequence number of stream offset 0 */
	uint32_t ack;
	uint8_t flags;
	uint16_t id, win;
	uint8_t tos, ttl;
	bool df;
	uint32_t flow; /* IPv6 flow label */
	uint16_t sport, dport;
	uint8_t seed;  /* payload pattern */
	bool partial;  /* checksum field holds the pseudo-header sum */
	size_t ip4opt; /* IPv4 option bytes */
};

static struct spec spec_default(bool v6, bool tap)
{
	struct spec s = {
	    .v6 = v6,
	    .tap = tap,
	    .proto = 6,
	    .optlen = 12,
	    .payload = 1448,
	    .isn = 0xfffff000, /* wraps inside a 64 KB packet */
	    .ack = 0x12345678,
	    .flags = F_ACK,
	    .id = 0xfff0,
	    .win = 502,
	    .ttl = 64,
	    .df = true,
	    .flow = 0x12345,
	    .sport = 40000,
	    .dport = 5201,
	    .seed = 3,
	};
	return s;
}

/* Builds the packet @sp describes into @buf; returns its length and stores
 * the offsets of its IP and L4 headers. */
static size_t build(uint8_t *buf, const struct spec *sp, size_t *l3p, size_t *l4p)
{
	static const uint8_t src4[4] = {198, 18, 0, 1}, dst4[4] = {198, 19, 255, 2};
	static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 2};
	size_t l3 = 0, l4, hl4 = sp->proto == 6 ? 20 + sp->optlen : 8, len;
	uint8_t *ip, *th;
	uint32_t sum;

	if (sp->tap) {
		static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};

		memcpy(buf, macs, 12);
		l3 = 12;
		for (int i = 0; i < sp->vlans; i++) {
			wr16(buf + l3, i == 0 && sp->vlans == 2 ? 0x88a8 : 0x8100);
			wr16(buf + l3 + 2, (uint16_t)(100 + i));
			l3 += 4;
		}
		wr16(buf + l3, sp->v6 ? 0x86dd : 0x0800);
		l3 += 2;
	}
	ip = buf + l3;
	if (sp->v6) {
		l4 = l3 + 40;
		len = l4 + hl4 + sp->payload;
		wr32(ip, 6u << 28 | (uint32_t)sp->tos << 20 | sp->flow);
		wr16(ip + 4, (uint16_t)(len - l4));
		ip[6] = sp->proto;
		ip[7] = sp->ttl;
		memcpy(ip + 8, src6, 16);
		memcpy(ip + 24, dst6, 16);
	} else {
		l4 = l3 + 20 + sp->ip4opt;
		len = l4 + hl4 + sp->payload;
		ip[0] = (uint8_t)(0x40 | (5 + sp->ip4opt / 4));
		ip[1] = sp->tos;
		wr16(ip + 2, (uint16_t)(len - l3));
		wr16(ip + 4, sp->id);
		wr16(ip + 6, sp->df ? 0x4000 : 0);
		ip[8] = sp->ttl;
		ip[9] = sp->proto;
		wr16(ip + 10, 0);
		memcpy(ip + 12, src4, 4);
		memcpy(ip + 16, dst4, 4);
		for (size_t i = 0; i < sp->ip4opt; i++)
			ip[20 + i] = 1; /* NOP */
		wr16(ip + 10, (uint16_t)~t_fold(t_sum(0, ip, l4 - l3)));
	}
	th = buf + l4;
	wr16(th, sp->sport);
	wr16(th + 2, sp->dport);
	if (sp->proto == 6) {
		wr32(th + 4, sp->isn + (uint32_t)sp->pos);
		wr32(th + 8, sp->ack);
		th[12] = (uint8_t)(hl4 / 4 << 4);
		th[13] = sp->flags;
		wr16(th + 14, sp->win);
		wr16(th + 16, 0);
		wr16(th + 18, 0);
		/* NOP, NOP, timestamps; the rest NOPs. */
		for (size_t i = 0; i < sp->optlen; i++)
			th[20 + i] = 1;
		if (sp->optlen >= 12) {
			th[22] = 8;
			th[23] = 10;
			wr32(th + 24, 0xa0b0c0d0);
			wr32(th + 28, 0x01020304);
		}
	} else {
		wr16(th + 4, (uint16_t)(len - l4));
		wr16(th + 6, 0);
	}
	for (size_t i = 0; i < sp->payload; i++)
		buf[l4 + hl4 + i] = stream_byte(sp->pos + i, sp->seed);
	sum = t_pseudo(ip, sp->v6, len - l4, sp->proto);
	if (sp->partial) {
		wr16(th + (sp->proto == 6 ? 16 : 6), t_fold(sum));
	} else {
		uint16_t c = (uint16_t)~t_fold(sum + t_sum(0, th, len - l4));

		wr16(th + (sp->proto == 6 ? 16 : 6), c ? c : 0xffff);
	}
	if (l3p)
		*l3p = l3;
	if (l4p)
		*l4p = l4;
	return len;
}

/* The vnet header the kernel gives a TSO packet built from @sp. */
static struct vnet_hdr tso_hdr(const struct spec *sp, size_t l4, uint16_t mss)
{
	struct vnet_hdr h = {
	    .flags = VNET_F_NEEDS_CSUM,
	    .gso_type = sp->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
	    .hdr_len = (uint16_t)(l4 + 20 + sp->optlen),
	    .gso_size = mss,
	    .csum_start = (uint16_t)l4,
	    .csum_offset = 16,
	};
	return h;
}

/* ---- flush collector ---- */

struct out {
	uint8_t hdr[VNET_HDR_LEN];
	uint8_t *pkt;
	size_t len;
};

struct sink {
	struct out o[512];
	size_t n;
};

static void sink_cb(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	struct sink *k = ctx;
	struct out *o;

	ck_assert_uint_lt(k->n, 512);
	o = &k->o[k->n++];
	memcpy(o->hdr, hdr, VNET_HDR_LEN);
	o->pkt = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(o->pkt);
	if (len)
		memcpy(o->pkt, pkt, len);
	o->len = len;
}

static void sink_free(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->o[i].pkt);
	k->n = 0;
}

static bool hdr_is_zero(const uint8_t *hdr)
{
	for (int i = 0; i < VNET_HDR_LEN; i++)
		if (hdr[i])
			return false;
	return true;
}

/* Checks that output @o is the input packet @pkt, passed through untouched. */
static void assert_passed(const struct out *o, const uint8_t *pkt, size_t len)
{
	ck_assert(hdr_is_zero(o->hdr));
	ck_assert_uint_eq(o->len, len);
	ck_assert(len == 0 || memcmp(o->pkt, pkt, len) == 0);
}

/* ---- header ---- */

START_TEST(test_hdr_little_endian)
{
	static const uint8_t want[VNET_HDR_LEN] = {0x01, 0x81, 0x42, 0x00, 0xa8,
						   0x05, 0x22, 0x00, 0x10, 0x00};
	struct vnet_hdr h = {
	    .flags = VNET_F_NEEDS_CSUM,
	    .gso_type = VNET_GSO_TCPV4 | VNET_GSO_ECN,
	    .hdr_len = 66,
	    .gso_size = 1448,
	    .csum_start = 34,
	    .csum_offset = 16,
	};
	struct vnet_hdr g;
	uint8_t b[VNET_HDR_LEN];

	vnet_hdr_put(b, &h);
	ck_assert_mem_eq(b, want, VNET_HDR_LEN);
	vnet_hdr_get(want, &g);
	ck_assert_uint_eq(g.flags, h.flags);
	ck_assert_uint_eq(g.gso_type, h.gso_type);
	ck_assert_uint_eq(g.hdr_len, 66);
	ck_assert_uint_eq(g.gso_size, 1448);
	ck_assert_uint_eq(g.csum_start, 34);
	ck_assert_uint_eq(g.csum_offset, 16);
	/* High bytes land second. */
	h.hdr_len = 0xbeef;
	vnet_hdr_put(b, &h);
	ck_assert_uint_eq(b[2], 0xef);
	ck_assert_uint_eq(b[3], 0xbe);
}
END_TEST

/* ---- checksum completion ---- */

START_TEST(test_csum_complete_tcp_and_udp)
{
	static uint8_t pkt[2048];
	for (int v6 = 0; v6 < 2; v6++) {
		for (int udp = 0; udp < 2; udp++) {
			struct spec sp = spec_default(v6, false);
			struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM};
			size_t l3, l4, len;

			sp.proto = udp ? 17 : 6;
			sp.payload = 1001; /* odd: the last byte is padded */
			sp.partial = true;
			len = build(pkt, &sp, &l3, &l4);
			h.csum_start = (uint16_t)l4;
			h.csum_offset = udp ? 6 : 16;
			ck_assert(!l4_csum_ok(pkt, len, l3, l4, sp.proto));
			ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
			ck_assert_int_eq(vnet_csum_complete(&h, pkt, len), 0);
			ck_assert(l4_csum_ok(pkt, len, l3, l4, sp.proto));
		}
	}
}
END_TEST

START_TEST(test_csum_complete_bounds)
{
	uint8_t pkt[100], copy[100];
	struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16};

	for (int i = 0; i < 100; i++)
		pkt[i] = (uint8_t)(i * 37);
	memcpy(copy, pkt, sizeof(pkt));
	/* The field must lie wholly inside the packet. */
	ck_assert_int_eq(vnet_csum_complete(&h, pkt, 37), -EINVAL);
	ck_assert_int_eq(vnet_csum_complete(&h, pkt, 36), -EINVAL);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	ck_assert_int_eq(vnet_csum_complete(&h, pkt, 100), -EINVAL);
	ck_assert_mem_eq(pkt, copy, sizeof(pkt));
	/* Without NEEDS_CSUM nothing is touched. */
	h.flags = 0;
	ck_assert_int_eq(vnet_csum_complete(&h, pkt, 100), 0);
	ck_assert_mem_eq(pkt, copy, sizeof(pkt));
	/* Exactly at the end is fine. */
	h.flags = VNET_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 16;
	ck_assert_int_eq(vnet_csum_complete(&h, pkt, 38), 0);
	/* The field's old value was the seed (the pseudo-header sum). */
	ck_assert_uint_eq(t_fold(t_sum(0, pkt + 20, 18) + rd16(copy + 36)), 0xffff);
	ck_assert_mem_eq(pkt, copy, 36);
}
END_TEST

/* ---- vnet_check ---- */

START_TEST(test_check_accepts_and_rejects)
{
	static uint8_t pkt[4096];
	struct spec sp = spec_default(false, false);
	struct vnet_hdr ok, h;
	size_t l3, l4, len;

	sp.payload = 3000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	ok = tso_hdr(&sp, l4, 1448);
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), 0);
	h = ok;
	h.gso_type |= VNET_GSO_ECN;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);

	/* hdr_len is a hint: smaller or larger than the headers is fine... */
	h = ok;
	h.hdr_len = 0;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
	h.hdr_len = (uint16_t)(ok.hdr_len + 1448);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
	/* ...past the end is not. */
	h.hdr_len = (uint16_t)(len + 1);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);

	h = ok;
	h.gso_type = 3; /* UDP (UFO) */
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h.gso_type = 5; /* UDP_L4 */
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h.gso_type = VNET_GSO_ECN; /* the flag alone */
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h.gso_type = VNET_GSO_TCPV6; /* an IPv4 packet */
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);

	h = ok;
	h.gso_size = 0;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.csum_start = (uint16_t)(l4 + 4);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.csum_offset = 6;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.flags |= 0x04; /* unknown flag */
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	/* TAP header on a TUN packet. */
	ck_assert_int_eq(vnet_check(&ok, pkt, len, true), -EINVAL);
	/* Truncated inside the TCP header. */
	ck_assert_int_eq(vnet_check(&ok, pkt, l4 + 30, false), -EINVAL);
	ck_assert_int_eq(vnet_check(&ok, pkt, l4 + 19, false), -EINVAL);
	ck_assert_int_eq(vnet_check(&ok, pkt, 0, false), -EINVAL);
	/* A data offset below 5 words. */
	pkt[l4 + 12] = 0x40;
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), -EINVAL);
	pkt[l4 + 12] = 0x80;
	/* Not TCP; a fragment; not IP at all. */
	pkt[l3 + 9] = 17;
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), -EINVAL);
	pkt[l3 + 9] = 6;
	pkt[l3 + 6] |= 0x20;
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), -EINVAL);
	pkt[l3 + 6] &= (uint8_t)~0x20;
	pkt[l3] = 0x55;
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), -EINVAL);
	pkt[l3] = 0x45;
	ck_assert_int_eq(vnet_check(&ok, pkt, len, false), 0);
	/* A segment too long for the IPv4 total length. */
	h = ok;
	h.gso_size = 0xffff;
	sp.payload = 65535 - 20 - 32 + 1;
	{
		uint8_t *big = malloc(70000);
		size_t blen = build(big, &sp, NULL, NULL);

		ck_assert_int_eq(vnet_check(&h, big, blen, false), -EINVAL);
		h.gso_size = 60000;
		ck_assert_int_eq(vnet_check(&h, big, blen, false), 0);
		free(big);
	}

	/* Without GSO: only the checksum field and hdr_len are checked. */
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(vnet_check(&h, pkt, 1, false), 0);
	h.flags = VNET_F_NEEDS_CSUM;
	h.csum_start = (uint16_t)l4;
	h.csum_offset = 16;
	ck_assert_int_eq(vnet_check(&h, pkt, l4 + 18, false), 0);
	ck_assert_int_eq(vnet_check(&h, pkt, l4 + 17, false), -EINVAL);
	h.csum_offset = 0xfff0;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h.csum_offset = 16;
	h.hdr_len = (uint16_t)(len + 1);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
}
END_TEST

START_TEST(test_check_tap_and_ipv6)
{
	static uint8_t pkt[4096];
	struct spec sp = spec_default(true, true);
	struct vnet_hdr h;
	size_t l3, l4, len;

	sp.vlans = 2;
	sp.payload = 3000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	ck_assert_uint_eq(l3, 22);
	h = tso_hdr(&sp, l4, 1428);
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), 0);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	h.gso_type = VNET_GSO_TCPV4;
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), -EINVAL);
	h.gso_type = VNET_GSO_TCPV6;
	/* A frame cut inside the tags. */
	ck_assert_int_eq(vnet_check(&h, pkt, 16, true), -EINVAL);
	ck_assert_int_eq(vnet_check(&h, pkt, 13, true), -EINVAL);
	/* The ethertype says IPv6, the header is IPv4. */
	pkt[l3] = 0x45;
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), -EINVAL);
	pkt[l3] = 0x60;
	/* ARP. */
	wr16(pkt + 20, 0x0806);
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), -EINVAL);
	wr16(pkt + 20, 0x86dd);
	/* An extension header TCP is not behind. */
	pkt[l3 + 6] = 44; /* fragment */
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), -EINVAL);
	pkt[l3 + 6] = 6;
	ck_assert_int_eq(vnet_check(&h, pkt, len, true), 0);
}
END_TEST

/* ---- segmentation ---- */

/*
 * Checks the @n segments of the split of @orig (a TSO packet built from @sp,
 * IP at @l3, TCP at @l4, payload @payload bytes, MSS @mss) one by one
 * against what tcp_gso_segment() would make.
 */
static void check_segments(const uint8_t *orig, const struct spec *sp, size_t l3, size_t l4,
			   uint16_t mss, const uint8_t *out, size_t stride, const uint16_t *seg_len,
			   int n)
{
	size_t hlen = l4 + 20 + sp->optlen;
	int want = (int)((sp->payload + mss - 1) / mss);

	ck_assert_int_eq(n, want);
	for (int i = 0; i < n; i++) {
		const uint8_t *s = out + (size_t)i * stride;
		const uint8_t *ip = s + l3, *th = s + l4;
		size_t plen = i + 1 < n ? mss : sp->payload - (size_t)(n - 1) * mss;
		uint8_t flags = sp->flags;

		ck_assert_uint_eq(seg_len[i], hlen + plen);
		/* Link header unchanged. */
		ck_assert_mem_eq(s, orig, l3);
		if (sp->v6) {
			ck_assert_uint_eq(rd16(ip + 4), hlen + plen - l3 - 40);
			ck_assert_mem_eq(ip, orig + l3, 4);
			ck_assert_mem_eq(ip + 6, orig + l3 + 6, 34);
		} else {
			ck_assert_uint_eq(rd16(ip + 2), hlen + plen - l3);
			ck_assert_uint_eq(rd16(ip + 4), (uint16_t)(sp->id + i));
			ck_assert_msg(ip4_csum_ok(ip), "segment %d: bad IPv4 checksum", i);
			ck_assert_mem_eq(ip + 6, orig + l3 + 6, 4);
			ck_assert_mem_eq(ip + 12, orig + l3 + 12, l4 - l3 - 12);
		}
		ck_assert_uint_eq(rd32(th + 4), sp->isn + (uint32_t)(sp->pos + (size_t)i * mss));
		if (i > 0)
			flags &= (uint8_t)~F_CWR;
		if (i + 1 < n)
			flags &= (uint8_t) ~(F_FIN | F_PSH);
		ck_assert_uint_eq(th[13], flags);
		ck_assert_mem_eq(th, orig + l4, 4);
		ck_assert_mem_eq(th + 8, orig + l4 + 8, 5);
		ck_assert_mem_eq(th + 14, orig + l4 + 14, 2);
		ck_assert_mem_eq(th + 18, orig + l4 + 18, hlen - l4 - 18);
		ck_assert_msg(l4_csum_ok(s, seg_len[i], l3, l4, 6), "segment %d: bad TCP checksum",
			      i);
		for (size_t j = 0; j < plen; j++)
			ck_assert_uint_eq(s[hlen + j],
					  stream_byte(sp->pos + (size_t)i * mss + j, sp->seed));
	}
}

/* Builds the TSO packet @sp, splits it with MSS @mss and checks the segments. */
static void split_and_check(struct spec *sp, uint16_t mss)
{
	uint8_t *pkt = malloc(70000), *out;
	uint16_t seg_len[256];
	struct vnet_hdr h;
	size_t l3, l4, len;
	unsigned nmax;
	int n;

	sp->partial = true;
	len = build(pkt, sp, &l3, &l4);
	h = tso_hdr(sp, l4, mss);
	ck_assert_int_eq(vnet_check(&h, pkt, len, sp->tap), 0);
	nmax = vnet_gso_segments(&h, len);
	ck_assert_uint_eq(nmax, (sp->payload + mss - 1) / mss);
	ck_assert_uint_le(nmax, 256);
	out = malloc(nmax * STRIDE);
	n = vnet_gso_split(&h, pkt, len, sp->tap, out, STRIDE, nmax, seg_len);
	check_segments(pkt, sp, l3, l4, mss, out, STRIDE, seg_len, n);
	free(out);
	free(pkt);
}

START_TEST(test_split_ipv4_64k)
{
	struct spec sp = spec_default(false, false);

	sp.payload = 64000;
	sp.flags = F_ACK | F_PSH | F_FIN | F_CWR;
	split_and_check(&sp, 1448);
}
END_TEST

START_TEST(test_split_ipv6_tun)
{
	struct spec sp = spec_default(true, false);

	sp.payload = 30001;
	sp.flags = F_ACK | F_PSH | F_CWR | F_ECE;
	split_and_check(&sp, 1428);
}
END_TEST

START_TEST(test_split_tap_vlan_ipv4)
{
	struct spec sp = spec_default(false, true);

	sp.vlans = 1;
	sp.payload = 20000;
	sp.flags = F_ACK | F_PSH;
	sp.optlen = 0;
	sp.ip4opt = 4; /* options are copied to every segment */
	split_and_check(&sp, 1400);
}
END_TEST

START_TEST(test_split_tap_qinq_ipv6)
{
	struct spec sp = spec_default(true, true);

	sp.vlans = 2;
	sp.payload = 9000;
	sp.flags = F_ACK | F_FIN;
	split_and_check(&sp, 1000); /* exactly 9 full segments */
}
END_TEST

START_TEST(test_split_odd_mss_single_and_tiny)
{
	struct spec sp = spec_default(false, false);

	sp.payload = 5000;
	split_and_check(&sp, 777);
	/* An exact multiple of the MSS, with timestamps: counted exactly. */
	sp.payload = 44 * 1448;
	split_and_check(&sp, 1448);
	/* Payload no bigger than the MSS: one segment, flags kept. */
	sp.payload = 1448;
	sp.flags = F_ACK | F_PSH | F_CWR;
	split_and_check(&sp, 1448);
	sp.payload = 1;
	split_and_check(&sp, 1448);
}
END_TEST

/* The IPv6 TSO packet with a hop-by-hop header: it is copied into each
 * segment and the payload length covers it. */
START_TEST(test_split_ipv6_hop_by_hop)
{
	struct spec sp = spec_default(true, false);
	uint8_t *pkt = malloc(8192), *out = malloc(8 * STRIDE);
	uint16_t seg_len[8];
	struct vnet_hdr h;
	size_t l3, l4, len;
	int n;

	sp.payload = 4000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	/* Insert 8 bytes of hop-by-hop options (PadN) after the IPv6 header. */
	memmove(pkt + l4 + 8, pkt + l4, len - l4);
	pkt[l4] = 6;
	pkt[l4 + 1] = 0;
	pkt[l4 + 2] = 1;
	pkt[l4 + 3] = 4;
	memset(pkt + l4 + 4, 0, 4);
	pkt[l3 + 6] = 0;
	len += 8;
	l4 += 8;
	wr16(pkt + l3 + 4, (uint16_t)(len - l3 - 40));
	h = tso_hdr(&sp, l4, 1440);
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
	n = vnet_gso_split(&h, pkt, len, false, out, STRIDE, 8, seg_len);
	ck_assert_int_eq(n, 3);
	for (int i = 0; i < n; i++) {
		const uint8_t *s = out + (size_t)i * STRIDE;

		ck_assert_uint_eq(s[l3 + 6], 0);
		ck_assert_uint_eq(rd16(s + l3 + 4), seg_len[i] - l3 - 40);
		ck_assert(l4_csum_ok(s, seg_len[i], l3, l4, 6));
	}
	/* A routing header changes the pseudo-header: refused. */
	pkt[l3 + 6] = 43;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), -EINVAL);
	/* An extension header running past the end. */
	pkt[l3 + 6] = 0;
	pkt[l3 + 40 + 1] = 200;
	ck_assert_int_eq(vnet_check(&h, pkt, l3 + 40 + 1000, false), -EINVAL);
	free(out);
	free(pkt);
}
END_TEST

/* hdr_len from the kernel is a hint: the split is the same whatever it says. */
START_TEST(test_split_ignores_hdr_len)
{
	struct spec sp = spec_default(false, false);
	uint8_t *pkt = malloc(70000), *a = malloc(40 * STRIDE), *b = malloc(40 * STRIDE);
	uint16_t la[40], lb[40];
	static const uint16_t hints[] = {0, 20, 52, 52 + 1448, 52 + 2000};
	struct vnet_hdr h;
	size_t l4, len;
	int na, nb;

	sp.payload = 40000;
	sp.partial = true;
	sp.optlen = 12;
	len = build(pkt, &sp, NULL, &l4);
	h = tso_hdr(&sp, l4, 1448);
	na = vnet_gso_split(&h, pkt, len, false, a, STRIDE, 40, la);
	ck_assert_int_eq(na, 28);
	for (size_t k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
		h.hdr_len = hints[k];
		ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
		memset(b, 0, 40 * STRIDE);
		nb = vnet_gso_split(&h, pkt, len, false, b, STRIDE, 40, lb);
		ck_assert_int_eq(nb, na);
		for (int i = 0; i < na; i++) {
			ck_assert_uint_eq(la[i], lb[i]);
			ck_assert_mem_eq(a + (size_t)i * STRIDE, b + (size_t)i * STRIDE, la[i]);
		}
	}
	free(a);
	free(b);
	free(pkt);
}
END_TEST

START_TEST(test_split_non_gso)
{
	struct spec sp = spec_default(false, false);
	uint8_t pkt[2048], out[2048];
	uint16_t seg_len[1];
	struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM, .csum_offset = 16};
	size_t l3, l4, len;

	sp.payload = 999;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	h.csum_start = (uint16_t)l4;
	ck_assert_uint_eq(vnet_gso_segments(&h, len), 1);
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, len - 1, 1, seg_len), -ENOSPC);
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, len, 0, seg_len), -ENOSPC);
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, len, 1, seg_len), 1);
	ck_assert_uint_eq(seg_len[0], len);
	ck_assert(l4_csum_ok(out, len, l3, l4, 6));
	/* Everything but the checksum is the packet. */
	ck_assert_mem_eq(out, pkt, l4 + 16);
	ck_assert_mem_eq(out + l4 + 18, pkt + l4 + 18, len - l4 - 18);
	/* The input is not touched. */
	ck_assert(!l4_csum_ok(pkt, len, l3, l4, 6));
	/* A bad header. */
	h.csum_offset = 0xfff0;
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, len, 1, seg_len), -EINVAL);
}
END_TEST

START_TEST(test_split_enospc)
{
	struct spec sp = spec_default(false, false);
	uint8_t *pkt = malloc(70000), *out = malloc(64 * STRIDE);
	uint16_t seg_len[64];
	struct vnet_hdr h;
	size_t l4, len;

	sp.payload = 64000;
	sp.partial = true;
	sp.optlen = 0;
	len = build(pkt, &sp, NULL, &l4);
	h = tso_hdr(&sp, l4, 1448);
	/* Without options the count is exact. */
	ck_assert_uint_eq(vnet_gso_segments(&h, len), 45);
	memset(out, 0xaa, 64 * STRIDE);
	memset(seg_len, 0xaa, sizeof(seg_len));
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, STRIDE, 44, seg_len), -ENOSPC);
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, 40 + 1447, 45, seg_len), -ENOSPC);
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, STRIDE, 0, seg_len), -ENOSPC);
	/* Nothing written. */
	for (size_t i = 0; i < 64 * STRIDE; i++)
		ck_assert_uint_eq(out[i], 0xaa);
	ck_assert_uint_eq(seg_len[0], 0xaaaa);
	/* The tightest stride works. */
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, 40 + 1448, 45, seg_len), 45);
	ck_assert_uint_eq(seg_len[44], 40 + 64000 - 44 * 1448);
	/* A bad packet is -EINVAL before anything else. */
	h.gso_size = 0;
	ck_assert_int_eq(vnet_gso_split(&h, pkt, len, false, out, STRIDE, 64, seg_len), -EINVAL);
	free(out);
	free(pkt);
}
END_TEST

START_TEST(test_segments_count)
{
	struct vnet_hdr h = {.gso_type = VNET_GSO_TCPV4, .gso_size = 1000, .csum_start = 20};

	ck_assert_uint_eq(vnet_gso_segments(&h, 40 + 1000), 1);
	ck_assert_uint_eq(vnet_gso_segments(&h, 40 + 1001), 2);
	ck_assert_uint_eq(vnet_gso_segments(&h, 40 + 5000), 5);
	ck_assert_uint_eq(vnet_gso_segments(&h, 40), 1);
	ck_assert_uint_eq(vnet_gso_segments(&h, 3), 1);
	/* hdr_len 0 is a hint: counted as if the TCP header had no options. */
	ck_assert_uint_eq(vnet_gso_segments(&h, 52 + 5000), 6);
	/* hdr_len that can be the headers is trusted: exact with options. */
	h.hdr_len = 52;
	ck_assert_uint_eq(vnet_gso_segments(&h, 52 + 5000), 5);
	ck_assert_uint_eq(vnet_gso_segments(&h, 52 + 5001), 6);
	ck_assert_uint_eq(vnet_gso_segments(&h, 52), 1);
	h.hdr_len = 80;
	ck_assert_uint_eq(vnet_gso_segments(&h, 80 + 5000), 5);
	/* Above csum_start + 60 it is not the headers (the forward path). */
	h.hdr_len = 52 + 1000;
	ck_assert_uint_eq(vnet_gso_segments(&h, 52 + 5000), 6);
	h.hdr_len = 0;
	h.gso_size = 0;
	ck_assert_uint_eq(vnet_gso_segments(&h, 40 + 5000), 1);
	h.gso_type = VNET_GSO_NONE;
	h.gso_size = 1000;
	ck_assert_uint_eq(vnet_gso_segments(&h, 40 + 5000), 1);
}
END_TEST

/* ---- coalescing ---- */

/* Splits the TSO packet @sp (MSS @mss) into segments: returns their count
 * and stores them at *@outp (stride STRIDE), their lengths in @seg_len. */
static int make_segments(struct spec *sp, uint16_t mss, uint8_t **outp, uint16_t *seg_len,
			 unsigned max)
{
	uint8_t *pkt = malloc(70000);
	struct vnet_hdr h;
	size_t l4, len;
	int n;

	sp->partial = true;
	len = build(pkt, sp, NULL, &l4);
	h = tso_hdr(sp, l4, mss);
	*outp = malloc((size_t)max * STRIDE);
	n = vnet_gso_split(&h, pkt, len, sp->tap, *outp, STRIDE, max, seg_len);
	ck_assert_int_gt(n, 0);
	free(pkt);
	return n;
}

/*
 * The round trip: a TSO packet split into segments, the segments coalesced
 * into one packet again, that packet checked against the original and split
 * again into byte-identical segments.
 */
static void roundtrip(bool v6, bool tap, int vlans)
{
	struct spec sp = spec_default(v6, tap);
	uint8_t *orig = malloc(70000), *segs, *again;
	uint16_t seg_len[64], again_len[64];
	struct vnet_gro g;
	struct sink k = {.n = 0};
	struct vnet_hdr h;
	size_t l3, l4, olen, hlen;
	uint16_t mss = v6 ? 1428 : 1448;
	int n, m;

	sp.vlans = vlans;
	sp.payload = v6 ? 64000 - 40 : 64000;
	sp.flags = F_ACK | F_PSH;
	olen = build(orig, &sp, &l3, &l4);
	hlen = l4 + 20 + sp.optlen;
	n = make_segments(&sp, mss, &segs, seg_len, 64);
	ck_assert_int_gt(n, 40);

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, tap), 0);
	for (int i = 0; i < n; i++)
		vnet_gro_add(&g, segs + (size_t)i * STRIDE, seg_len[i], sink_cb, &k);
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 1);

	/* The header. */
	vnet_hdr_get(k.o[0].hdr, &h);
	ck_assert_uint_eq(h.flags, VNET_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.gso_type, v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4);
	ck_assert_uint_eq(h.hdr_len, hlen);
	ck_assert_uint_eq(h.gso_size, mss);
	ck_assert_uint_eq(h.csum_start, l4);
	ck_assert_uint_eq(h.csum_offset, 16);
	ck_assert_uint_eq(vnet_gso_segments(&h, k.o[0].len), (unsigned)n);

	/* The packet: the original's length, headers and payload; the
	 * checksum field holds the folded pseudo-header sum. */
	ck_assert_uint_eq(k.o[0].len, olen);
	ck_assert_mem_eq(k.o[0].pkt + hlen, orig + hlen, olen - hlen);
	ck_assert_mem_eq(k.o[0].pkt, orig, l4 + 16);
	ck_assert_mem_eq(k.o[0].pkt + l4 + 18, orig + l4 + 18, hlen - l4 - 18);
	ck_assert_uint_eq(rd16(k.o[0].pkt + l4 + 16),
			  t_fold(t_pseudo(orig + l3, v6, olen - l4, 6)));
	if (!v6)
		ck_assert(ip4_csum_ok(k.o[0].pkt + l3));

	/* Cut again: the same segments, byte for byte. */
	ck_assert_int_eq(vnet_check(&h, k.o[0].pkt, k.o[0].len, tap), 0);
	ck_assert_int_eq(vnet_check_peer(&h, k.o[0].pkt, k.o[0].len, tap), 0);
	again = malloc(64 * STRIDE);
	m = vnet_gso_split(&h, k.o[0].pkt, k.o[0].len, tap, again, STRIDE, 64, again_len);
	ck_assert_int_eq(m, n);
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(again_len[i], seg_len[i]);
		ck_assert_mem_eq(again + (size_t)i * STRIDE, segs + (size_t)i * STRIDE, seg_len[i]);
	}
	/* And completing its checksum gives a valid packet. */
	ck_assert_int_eq(vnet_csum_complete(&h, k.o[0].pkt, k.o[0].len), 0);
	ck_assert(l4_csum_ok(k.o[0].pkt, k.o[0].len, l3, l4, 6));

	sink_free(&k);
	vnet_gro_free(&g);
	vnet_gro_free(&g);
	free(again);
	free(segs);
	free(orig);
}

START_TEST(test_gro_roundtrip_ipv4)
{
	roundtrip(false, false, 0);
}
END_TEST

START_TEST(test_gro_roundtrip_ipv6)
{
	roundtrip(true, false, 0);
}
END_TEST

START_TEST(test_gro_roundtrip_tap)
{
	roundtrip(false, true, 1);
	roundtrip(true, true, 2);
}
END_TEST

START_TEST(test_gro_single_segment_untouched)
{
	struct spec sp = spec_default(false, false);
	uint8_t pkt[2048];
	struct vnet_gro g;
	struct sink k = {.n = 0};
	size_t len = build(pkt, &sp, NULL, NULL);

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	vnet_gro_add(&g, pkt, len, sink_cb, &k);
	ck_assert_uint_eq(k.n, 0); /* held */
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 1);
	assert_passed(&k.o[0], pkt, len);
	/* Flushing again writes nothing. */
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 1);
	/* A PSH segment that would start a packet ends it too: written at once. */
	sp.flags = F_ACK | F_PSH;
	len = build(pkt, &sp, NULL, NULL);
	vnet_gro_add(&g, pkt, len, sink_cb, &k);
	ck_assert_uint_eq(k.n, 2);
	assert_passed(&k.o[1], pkt, len);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

/* A segment out of order ends the held packet and is not coalesced past. */
START_TEST(test_gro_out_of_order)
{
	struct spec sp = spec_default(false, false);
	static const size_t order[] = {0, 1, 3, 2, 4};
	uint8_t pkt[5][2048];
	size_t len[5];
	struct vnet_gro g;
	struct sink k = {.n = 0};
	struct vnet_hdr h;

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int i = 0; i < 5; i++) {
		sp.pos = order[i] * 1448;
		sp.id = (uint16_t)(100 + order[i]);
		len[i] = build(pkt[i], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[i], len[i], sink_cb, &k);
	}
	vnet_gro_flush(&g, sink_cb, &k);
	/* [0 1] [3] [2] [4]: 3 does not follow 1, 2 does not follow 3, and 4
	 * does not follow 2. */
	ck_assert_uint_eq(k.n, 4);
	vnet_hdr_get(k.o[0].hdr, &h);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV4);
	ck_assert_uint_eq(k.o[0].len, len[0] + 1448);
	assert_passed(&k.o[1], pkt[2], len[2]);
	assert_passed(&k.o[2], pkt[3], len[3]);
	assert_passed(&k.o[3], pkt[4], len[4]);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

START_TEST(test_gro_flows_interleaved)
{
	struct spec a = spec_default(false, false), b = spec_default(false, false);
	uint8_t pkt[6][2048];
	size_t len[6];
	struct vnet_gro g;
	struct sink k = {.n = 0};

	b.sport = 40001;
	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int i = 0; i < 6; i++) {
		struct spec *sp = i % 2 ? &b : &a;

		sp->pos = (size_t)(i / 2) * 1448;
		sp->id = (uint16_t)(i / 2);
		len[i] = build(pkt[i], sp, NULL, NULL);
		vnet_gro_add(&g, pkt[i], len[i], sink_cb, &k);
	}
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 6);
	for (int i = 0; i < 6; i++)
		assert_passed(&k.o[i], pkt[i], len[i]);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

/* PSH ends the held packet and is carried by it; a short segment ends it. */
START_TEST(test_gro_psh_and_short)
{
	struct spec sp = spec_default(true, false);
	static const size_t sizes[] = {1428, 1428, 1428, 1428, 1428, 500, 1428};
	static const uint8_t flags[] = {F_ACK, F_ACK | F_PSH, F_ACK, F_ACK, F_ACK, F_ACK, F_ACK};
	uint8_t pkt[7][2048];
	size_t len[7], pos = 0;
	struct vnet_gro g;
	struct sink k = {.n = 0};
	struct vnet_hdr h;

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int i = 0; i < 7; i++) {
		sp.pos = pos;
		sp.payload = sizes[i];
		sp.flags = flags[i];
		len[i] = build(pkt[i], &sp, NULL, NULL);
		pos += sizes[i];
		vnet_gro_add(&g, pkt[i], len[i], sink_cb, &k);
	}
	vnet_gro_flush(&g, sink_cb, &k);
	/* [0 1+PSH] [2 3 4 5(short)] [6] */
	ck_assert_uint_eq(k.n, 3);
	vnet_hdr_get(k.o[0].hdr, &h);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV6);
	ck_assert_uint_eq(k.o[0].len, len[0] + 1428);
	ck_assert_uint_eq(k.o[0].pkt[40 + 13], F_ACK | F_PSH);
	ck_assert_uint_eq(rd16(k.o[0].pkt + 4), k.o[0].len - 40);
	vnet_hdr_get(k.o[1].hdr, &h);
	ck_assert_uint_eq(h.gso_size, 1428);
	ck_assert_uint_eq(k.o[1].len, len[2] + 2 * 1428 + 500);
	ck_assert_uint_eq(k.o[1].pkt[40 + 13], F_ACK);
	assert_passed(&k.o[2], pkt[6], len[6]);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

/* UDP, SYN, FIN, RST, URG, a pure ACK and a bad checksum go through as they
 * are, after what is held, in order. */
START_TEST(test_gro_passthrough)
{
	struct spec sp = spec_default(false, false);
	uint8_t pkt[16][2048];
	size_t len[16], n = 0, pos = 0;
	struct vnet_gro g;
	struct sink k = {.n = 0};
	static const uint8_t odd_flags[] = {F_SYN | F_ACK, F_FIN | F_ACK, F_RST | F_ACK,
					    F_URG | F_ACK, F_PSH,         0};

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	/* Two good segments, then a UDP packet. */
	for (int i = 0; i < 2; i++, pos += 1448) {
		sp.pos = pos;
		len[n] = build(pkt[n], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[n], len[n], sink_cb, &k);
		n++;
	}
	sp.proto = 17;
	len[n] = build(pkt[n], &sp, NULL, NULL);
	vnet_gro_add(&g, pkt[n], len[n], sink_cb, &k);
	n++;
	sp.proto = 6;
	ck_assert_uint_eq(k.n, 2);
	assert_passed(&k.o[1], pkt[2], len[2]);
	/* Each odd one after a held segment. */
	for (size_t f = 0; f < sizeof(odd_flags); f++) {
		size_t before = k.n;

		sp.flags = F_ACK;
		sp.pos = pos;
		len[n] = build(pkt[n], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[n], len[n], sink_cb, &k);
		ck_assert_uint_eq(k.n, before);
		pos += 1448;
		sp.pos = pos;
		sp.flags = odd_flags[f];
		len[n + 1] = build(pkt[n + 1], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[n + 1], len[n + 1], sink_cb, &k);
		ck_assert_uint_eq(k.n, before + 2);
		assert_passed(&k.o[before], pkt[n], len[n]);
		assert_passed(&k.o[before + 1], pkt[n + 1], len[n + 1]);
		pos += 1448;
	}
	/* A pure ACK of the same flow. */
	sp.flags = F_ACK;
	sp.payload = 0;
	len[0] = build(pkt[0], &sp, NULL, NULL);
	vnet_gro_add(&g, pkt[0], len[0], sink_cb, &k);
	assert_passed(&k.o[k.n - 1], pkt[0], len[0]);
	/* A segment with a corrupt payload byte, after a good one. */
	sp.payload = 1448;
	sp.pos = pos;
	len[0] = build(pkt[0], &sp, NULL, NULL);
	vnet_gro_add(&g, pkt[0], len[0], sink_cb, &k);
	sp.pos = pos + 1448;
	len[1] = build(pkt[1], &sp, NULL, NULL);
	pkt[1][len[1] - 7] ^= 0x10;
	n = k.n;
	vnet_gro_add(&g, pkt[1], len[1], sink_cb, &k);
	ck_assert_uint_eq(k.n, n + 2);
	assert_passed(&k.o[n], pkt[0], len[0]);
	assert_passed(&k.o[n + 1], pkt[1], len[1]);
	/* Nothing left held. */
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, n + 2);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

/* IP header fields that differ, IPv4 options and fragments keep segments
 * apart, as inet_gro_receive() does. */
START_TEST(test_gro_ip_fields)
{
	struct spec base = spec_default(false, false);
	uint8_t a[2048], b[2048];
	struct vnet_gro g;
	struct sink k = {.n = 0};

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int c = 0; c < 7; c++) {
		struct spec s1 = base, s2 = base;
		size_t la, lb, l3;
		bool merge = false;

		s2.pos = 1448;
		s2.id = (uint16_t)(base.id + 1);
		switch (c) {
		case 0:
			s2.ttl = 63;
			break;
		case 1:
			s2.tos = 0x03; /* CE */
			break;
		case 2:
			s2.df = false;
			break;
		case 3: /* without DF the ID must count up */
			s1.df = s2.df = false;
			s2.id = (uint16_t)(base.id + 5);
			break;
		case 4:
			s1.df = s2.df = false;
			merge = true;
			break;
		case 5: /* with DF it need not */
			s2.id = 7;
			merge = true;
			break;
		case 6:
			s2.ip4opt = 4;
			break;
		}
		la = build(a, &s1, &l3, NULL);
		lb = build(b, &s2, NULL, NULL);
		vnet_gro_add(&g, a, la, sink_cb, &k);
		vnet_gro_add(&g, b, lb, sink_cb, &k);
		vnet_gro_flush(&g, sink_cb, &k);
		if (merge) {
			ck_assert_msg(k.n == 1, "case %d: %zu packets", c, k.n);
			ck_assert_uint_eq(k.o[0].len, la + 1448);
			ck_assert(ip4_csum_ok(k.o[0].pkt + l3));
		} else {
			ck_assert_msg(k.n == 2, "case %d: %zu packets", c, k.n);
			assert_passed(&k.o[0], a, la);
			assert_passed(&k.o[1], b, lb);
		}
		sink_free(&k);
	}
	/* A fragment (MF) is passed through. */
	{
		size_t l3, la = build(a, &base, &l3, NULL);

		a[l3 + 6] |= 0x20;
		wr16(a + l3 + 10, 0);
		wr16(a + l3 + 10, (uint16_t)~t_fold(t_sum(0, a + l3, 20)));
		vnet_gro_add(&g, a, la, sink_cb, &k);
		ck_assert_uint_eq(k.n, 1);
		assert_passed(&k.o[0], a, la);
		/* So is a bad IPv4 header checksum. */
		a[l3 + 6] &= (uint8_t)~0x20;
		vnet_gro_add(&g, a, la, sink_cb, &k);
		ck_assert_uint_eq(k.n, 2);
		sink_free(&k);
	}
	vnet_gro_free(&g);
}
END_TEST

/* TCP fields: ACK number, window, options must match. */
START_TEST(test_gro_tcp_fields)
{
	struct spec base = spec_default(true, false);
	uint8_t a[2048], b[2048];
	struct vnet_gro g;
	struct sink k = {.n = 0};

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int c = 0; c < 6; c++) {
		struct spec s1 = base, s2 = base;
		size_t la, lb, l4;

		s2.pos = 1448;
		switch (c) {
		case 0:
			s2.ack++;
			break;
		case 1:
			s2.win++;
			break;
		case 2: /* the TSval differs (below) */
			break;
		case 3:
			s2.flow = 0x54321;
			break;
		case 4:
			s2.payload = 1449; /* larger than the first */
			break;
		case 5:
			s2.flags = F_ACK | F_ECE;
			break;
		}
		la = build(a, &s1, NULL, &l4);
		lb = build(b, &s2, NULL, NULL);
		if (c == 2) {
			b[l4 + 27] ^= 1;
			wr16(b + l4 + 16, 0);
			wr16(b + l4 + 16, (uint16_t)~t_fold(t_pseudo(b, true, lb - l4, 6) +
							    t_sum(0, b + l4, lb - l4)));
		}
		vnet_gro_add(&g, a, la, sink_cb, &k);
		vnet_gro_add(&g, b, lb, sink_cb, &k);
		vnet_gro_flush(&g, sink_cb, &k);
		ck_assert_msg(k.n == 2, "case %d: %zu packets", c, k.n);
		assert_passed(&k.o[0], a, la);
		assert_passed(&k.o[1], b, lb);
		sink_free(&k);
	}
	vnet_gro_free(&g);
}
END_TEST

/* CWR may start a coalesced packet (its header then says ECN), but not join
 * one; ECE segments coalesce with each other. */
/* On TAP the Ethernet header and VLAN tags must match too. */
START_TEST(test_gro_tap_link_header)
{
	struct spec sp = spec_default(false, true);
	uint8_t a[2048], b[2048];
	struct vnet_gro g;
	struct sink k = {.n = 0};
	size_t la, lb;

	sp.vlans = 1;
	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, true), 0);
	for (int c = 0; c < 3; c++) {
		la = build(a, &sp, NULL, NULL);
		sp.pos = 1448;
		lb = build(b, &sp, NULL, NULL);
		sp.pos = 0;
		if (c == 1)
			b[5] ^= 1; /* destination MAC */
		if (c == 2)
			b[15] ^= 1; /* VLAN ID */
		vnet_gro_add(&g, a, la, sink_cb, &k);
		vnet_gro_add(&g, b, lb, sink_cb, &k);
		vnet_gro_flush(&g, sink_cb, &k);
		if (c == 0) {
			ck_assert_uint_eq(k.n, 1);
			ck_assert_uint_eq(k.o[0].len, la + 1448);
		} else {
			ck_assert_uint_eq(k.n, 2);
			assert_passed(&k.o[0], a, la);
			assert_passed(&k.o[1], b, lb);
		}
		sink_free(&k);
	}
	vnet_gro_free(&g);
}
END_TEST

START_TEST(test_gro_ecn)
{
	struct spec sp = spec_default(false, false);
	uint8_t pkt[4][2048];
	size_t len[4];
	struct vnet_gro g;
	struct sink k = {.n = 0};
	struct vnet_hdr h;
	static const uint8_t flags[] = {F_ACK | F_CWR, F_ACK, F_ACK | F_CWR, F_ACK};

	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, false), 0);
	for (int i = 0; i < 4; i++) {
		sp.pos = (size_t)i * 1448;
		sp.id = (uint16_t)(sp.id + 1);
		sp.flags = flags[i];
		len[i] = build(pkt[i], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[i], len[i], sink_cb, &k);
	}
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 2);
	vnet_hdr_get(k.o[0].hdr, &h);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV4 | VNET_GSO_ECN);
	ck_assert_uint_eq(k.o[0].len, len[0] + 1448);
	vnet_hdr_get(k.o[1].hdr, &h);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV4 | VNET_GSO_ECN);
	sink_free(&k);

	sp.flags = F_ACK | F_ECE;
	for (int i = 0; i < 3; i++) {
		sp.pos = (size_t)(10 + i) * 1448;
		sp.id = (uint16_t)(sp.id + 1);
		len[i] = build(pkt[i], &sp, NULL, NULL);
		vnet_gro_add(&g, pkt[i], len[i], sink_cb, &k);
	}
	vnet_gro_flush(&g, sink_cb, &k);
	ck_assert_uint_eq(k.n, 1);
	vnet_hdr_get(k.o[0].hdr, &h);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV4);
	ck_assert_uint_eq(k.o[0].len, len[0] + 2 * 1448);
	sink_free(&k);
	vnet_gro_free(&g);
}
END_TEST

/* The held packet never grows beyond cap, nor beyond what the IP length
 * fields can say; all payload still comes out, in order.  Segments of SEG
 * bytes: 44 of them and the headers are more than 65535 bytes of IPv4 (or of
 * IPv6 payload) but less than the largest cap. */
#define SEG 1489
START_TEST(test_gro_cap)
{
	static const size_t caps[] = {1, 100, 1500, 10000, 30001, GRO_MAX};

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct spec sp = spec_default(v6, false);
			uint8_t *segs, *stream = malloc(200000);
			uint16_t seg_len[160];
			struct vnet_gro g;
			struct sink k = {.n = 0};
			size_t got = 0, hlen = (v6 ? 40 : 20) + 32;
			int n;

			/* More than 64 KB of segments: two TSO packets' worth. */
			sp.payload = 130000;
			sp.df = true;
			sp.optlen = 12;
			{
				/* Build the segments directly, a TSO packet
				 * cannot hold this much. */
				n = 0;
				segs = malloc(160 * STRIDE);
				for (size_t pos = 0; pos < 130000; pos += SEG, n++) {
					struct spec s = sp;

					s.pos = pos;
					s.payload = 130000 - pos < SEG ? 130000 - pos : SEG;
					s.id = (uint16_t)(sp.id + n);
					seg_len[n] = (uint16_t)build(segs + (size_t)n * STRIDE, &s,
								     NULL, NULL);
				}
			}
			ck_assert_int_eq(vnet_gro_init(&g, caps[c], false), 0);
			for (int i = 0; i < n; i++)
				vnet_gro_add(&g, segs + (size_t)i * STRIDE, seg_len[i], sink_cb,
					     &k);
			vnet_gro_flush(&g, sink_cb, &k);
			for (size_t i = 0; i < k.n; i++) {
				const uint8_t *p = k.o[i].pkt;

				ck_assert_msg(k.o[i].len <= caps[c] || hdr_is_zero(k.o[i].hdr),
					      "cap %zu: %zu bytes coalesced", caps[c], k.o[i].len);
				if (v6)
					ck_assert_uint_le(k.o[i].len - 40, 65535);
				else
					ck_assert_uint_le(k.o[i].len, 65535);
				ck_assert_uint_eq(rd32(p + (v6 ? 40 : 20) + 4),
						  sp.isn + (uint32_t)got);
				memcpy(stream + got, p + hlen, k.o[i].len - hlen);
				got += k.o[i].len - hlen;
			}
			ck_assert_uint_eq(got, 130000);
			for (size_t j = 0; j < got; j++)
				ck_assert_uint_eq(stream[j], stream_byte(j, sp.seed));
			if (caps[c] == GRO_MAX)
				ck_assert_uint_eq(k.n, 3);
			if (caps[c] < hlen + SEG)
				ck_assert_uint_eq(k.n, (size_t)n);
			sink_free(&k);
			vnet_gro_free(&g);
			free(segs);
			free(stream);
		}
	}
}
END_TEST

/* Deterministic noise for the garbage tests (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes and every truncation of real packets go through whole, in
 * order, and nothing reads out of bounds (run under ASan). */
START_TEST(test_gro_garbage)
{
	uint32_t seed = 0x9e3779b9;

	for (int tap = 0; tap < 2; tap++) {
		struct vnet_gro g;
		struct sink k = {.n = 0};
		struct spec sp = spec_default(false, tap);
		uint8_t good[2048];
		size_t glen;

		ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, tap), 0);
		for (int round = 0; round < 2000; round++) {
			size_t len = rnd(&seed) % 101;
			uint8_t *p = len ? malloc(len) : NULL;

			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)rnd(&seed);
			/* Make some of them look like IP or Ethernet + IP. */
			if (len > 0 && round % 3 == 0)
				p[tap ? len / 2 : 0] = round % 2 ? 0x45 : 0x60;
			if (tap && len > 14 && round % 5 == 0) {
				p[12] = round % 2 ? 0x08 : 0x86;
				p[13] = round % 2 ? 0x00 : 0xdd;
			}
			vnet_gro_add(&g, p, len, sink_cb, &k);
			ck_assert_uint_eq(k.n, 1);
			assert_passed(&k.o[0], p, len);
			sink_free(&k);
			free(p);
		}
		/* Every prefix of a real segment and of a real frame with two
		 * tags, with a held segment before each. */
		for (int v = 0; v < 2; v++) {
			sp.vlans = tap ? 2 : 0;
			sp.v6 = v;
			sp.payload = 60;
			glen = build(good, &sp, NULL, NULL);
			for (size_t len = 0; len < glen; len++) {
				uint8_t *p = malloc(len ? len : 1);

				memcpy(p, good, len);
				vnet_gro_add(&g, good, glen, sink_cb, &k);
				vnet_gro_add(&g, p, len, sink_cb, &k);
				ck_assert_uint_eq(k.n, 2);
				assert_passed(&k.o[0], good, glen);
				assert_passed(&k.o[1], p, len);
				sink_free(&k);
				free(p);
			}
		}
		vnet_gro_free(&g);
	}
}
END_TEST

/* Bad headers and packets never make the splitter crash or write. */
START_TEST(test_split_garbage)
{
	uint32_t seed = 12345;
	uint8_t *out = malloc(64 * STRIDE);
	uint16_t seg_len[64];

	for (int round = 0; round < 20000; round++) {
		uint8_t pkt[200];
		size_t len = rnd(&seed) % 201;
		struct vnet_hdr h;
		uint8_t hb[VNET_HDR_LEN];
		int rc;

		for (size_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)rnd(&seed);
		for (int i = 0; i < VNET_HDR_LEN; i++)
			hb[i] = (uint8_t)rnd(&seed);
		vnet_hdr_get(hb, &h);
		/* Plausible values now and then. */
		if (round % 2) {
			h.flags &= 3;
			h.gso_type = round % 4 == 1 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
			h.csum_start = (uint16_t)(rnd(&seed) % 64);
			h.csum_offset = 16;
			h.gso_size = (uint16_t)(rnd(&seed) % 100);
			h.hdr_len = 0;
			if (len)
				pkt[0] = (uint8_t)((h.gso_type == VNET_GSO_TCPV4 ? 0x40 : 0x60) |
						   (pkt[0] & 0x0f));
			if (len > 9)
				pkt[9] = 6;
			if (len > 6)
				pkt[6] = 6;
		}
		rc = vnet_gso_split(&h, pkt, len, round % 3 == 0, out, STRIDE, 64, seg_len);
		ck_assert(rc == -EINVAL || rc == -ENOSPC || (rc >= 1 && rc <= 64));
		/* Whatever vnet_check() refuses is refused. */
		if (vnet_check(&h, pkt, len, round % 3 == 0) < 0)
			ck_assert_int_eq(rc, -EINVAL);
		for (int i = 0; i < rc; i++)
			ck_assert_uint_le(seg_len[i], STRIDE);
	}
	free(out);
}
END_TEST

START_TEST(test_gro_init_limits)
{
	struct vnet_gro g;
	uint8_t pkt[2048];
	struct spec sp = spec_default(false, false);
	struct sink k = {.n = 0};
	size_t len = build(pkt, &sp, NULL, NULL);

	ck_assert_int_eq(vnet_gro_init(&g, 0, false), -EINVAL);
	ck_assert_ptr_null(g.buf);
	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX + 1, false), -EINVAL);
	ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, true), 0);
	ck_assert_uint_eq(g.len, 0);
	vnet_gro_free(&g);
	vnet_gro_free(&g);
	/* A freed coalescer holds nothing and passes everything. */
	vnet_gro_add(&g, pkt, len, sink_cb, &k);
	ck_assert_uint_eq(k.n, 1);
	assert_passed(&k.o[0], pkt, len);
	sink_free(&k);
}
END_TEST

/* ---- vnet_check_peer ---- */

/* Bytes of all the segments vnet_gso_split() makes of @pkt under @h, which
 * must split; their count in *@segs. */
static size_t split_bytes(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap,
			  int *segs)
{
	size_t stride = (size_t)h->csum_start + 60 + h->gso_size, total = 0;
	unsigned max = vnet_gso_segments(h, len) + 1;
	uint8_t *out = malloc(stride * max);
	uint16_t *sl = malloc(max * sizeof(*sl));
	int n;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(sl);
	n = vnet_gso_split(h, pkt, len, tap, out, stride, max, sl);
	ck_assert_int_gt(n, 0);
	for (int i = 0; i < n; i++)
		total += sl[i];
	if (segs)
		*segs = n;
	free(out);
	free(sl);
	return total;
}

/* Puts 8 bytes of hop-by-hop options (PadN) between the IPv6 header at @l3
 * and the L4 header at *@l4 of the packet of *@len bytes. */
static void add_hop_by_hop(uint8_t *pkt, size_t *len, size_t l3, size_t *l4)
{
	memmove(pkt + *l4 + 8, pkt + *l4, *len - *l4);
	pkt[*l4] = pkt[l3 + 6];
	pkt[*l4 + 1] = 0;
	pkt[*l4 + 2] = 1;
	pkt[*l4 + 3] = 4;
	memset(pkt + *l4 + 4, 0, 4);
	pkt[l3 + 6] = 0;
	*len += 8;
	*l4 += 8;
	wr16(pkt + l3 + 4, (uint16_t)(*len - l3 - 40));
}

/* The header the kernel gives a packet whose L4 checksum it left to the
 * device (CHECKSUM_PARTIAL, not GSO). */
static struct vnet_hdr csum_hdr(size_t l4, uint8_t proto)
{
	struct vnet_hdr h = {
	    .flags = VNET_F_NEEDS_CSUM,
	    .csum_start = (uint16_t)l4,
	    .csum_offset = proto == 6 ? 16 : 6,
	};
	return h;
}

/* What a Linux sender hands over passes: TSO packets over IPv4 and IPv6, on
 * TUN and on TAP with 0, 1 or 2 VLAN tags, with and without ECN and with any
 * hdr_len hint; partial TCP and UDP checksums; complete packets behind a
 * header of zeros. */
START_TEST(test_peer_accepts_genuine)
{
	static uint8_t pkt[70000];
	static const struct vnet_hdr zero;

	for (int v6 = 0; v6 < 2; v6++) {
		for (int link = 0; link < 4; link++) {
			bool tap = link > 0;
			struct spec sp = spec_default(v6, tap);
			struct vnet_hdr h;
			size_t l3, l4, len;

			sp.vlans = tap ? link - 1 : 0;
			sp.payload = 60000;
			sp.partial = true;
			len = build(pkt, &sp, &l3, &l4);
			h = tso_hdr(&sp, l4, v6 ? 1428 : 1448);
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);
			h.gso_type |= VNET_GSO_ECN;
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);
			/* An older culvert passes the kernel's hint on. */
			h.hdr_len = 0;
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);
			h.hdr_len = (uint16_t)len;
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);
			/* FIN and PSH belong on the last segment: fine. */
			pkt[l4 + 13] |= F_FIN | F_PSH;
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);

			/* One segment's worth under a GSO header: the kernel
			 * takes it as a plain partial-checksum packet. */
			sp.payload = 1000;
			len = build(pkt, &sp, &l3, &l4);
			h = tso_hdr(&sp, l4, 1448);
			ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);

			for (int udp = 0; udp < 2; udp++) {
				sp.proto = udp ? 17 : 6;
				sp.flags = udp ? 0 : F_SYN; /* a SYN needs no GSO */
				sp.payload = 1001;
				sp.partial = true;
				len = build(pkt, &sp, &l3, &l4);
				h = csum_hdr(l4, sp.proto);
				ck_assert_int_eq(vnet_check_peer(&h, pkt, len, tap), 0);
				sp.partial = false;
				len = build(pkt, &sp, &l3, &l4);
				ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), 0);
				/* With no payload at all. */
				sp.payload = 0;
				len = build(pkt, &sp, &l3, &l4);
				ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), 0);
			}
		}
	}
}
END_TEST

/* IPv4 options and IPv6 hop-by-hop options in front of the L4 header. */
START_TEST(test_peer_accepts_options)
{
	static uint8_t pkt[8192];
	struct spec sp = spec_default(false, false);
	struct vnet_hdr h;
	size_t l3, l4, len;

	sp.ip4opt = 40;
	sp.optlen = 40;
	sp.payload = 5000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	ck_assert_uint_eq(l4, 60);
	h = tso_hdr(&sp, l4, 1400);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), 0);
	h.csum_start = 20;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);

	for (int udp = 0; udp < 2; udp++) {
		sp = spec_default(true, true);
		sp.proto = udp ? 17 : 6;
		sp.payload = 5000;
		sp.partial = true;
		len = build(pkt, &sp, &l3, &l4);
		add_hop_by_hop(pkt, &len, l3, &l4);
		h = udp ? csum_hdr(l4, 17) : tso_hdr(&sp, l4, 1420);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, true), 0);
		/* csum_start at the extension header, not the L4 header. */
		h.csum_start = (uint16_t)(l4 - 8);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, true), -EINVAL);
		/* A routing header: not walked, so not found. */
		h.csum_start = (uint16_t)l4;
		pkt[l3 + 6] = 43;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, true), -EINVAL);
	}
}
END_TEST

/* What culvert itself sends passes: the coalescer's output, and each
 * segment vnet_gso_split() cuts, behind a header of zeros. */
START_TEST(test_peer_accepts_culvert_output)
{
	static const struct vnet_hdr zero;

	for (int v = 0; v < 4; v++) {
		bool v6 = v & 1, tap = v & 2;
		struct spec sp = spec_default(v6, tap);
		struct vnet_gro g;
		struct sink k = {.n = 0};
		struct vnet_hdr h;
		uint16_t seg_len[64];
		uint8_t *segs;
		int n;

		sp.vlans = tap ? 1 : 0;
		sp.payload = 20000;
		n = make_segments(&sp, 1348, &segs, seg_len, 64);
		ck_assert_int_eq(n, 15);
		ck_assert_int_eq(vnet_gro_init(&g, GRO_MAX, tap), 0);
		for (int i = 0; i < n; i++) {
			const uint8_t *s = segs + (size_t)i * STRIDE;

			ck_assert_int_eq(vnet_check_peer(&zero, s, seg_len[i], tap), 0);
			vnet_gro_add(&g, s, seg_len[i], sink_cb, &k);
		}
		vnet_gro_flush(&g, sink_cb, &k);
		ck_assert_uint_eq(k.n, 1);
		vnet_hdr_get(k.o[0].hdr, &h);
		ck_assert_uint_ne(h.gso_type, VNET_GSO_NONE);
		ck_assert_int_eq(vnet_check_peer(&h, k.o[0].pkt, k.o[0].len, tap), 0);
		sink_free(&k);
		vnet_gro_free(&g);
		free(segs);
	}
}
END_TEST

/*
 * The floor on gso_size: VNET_GSO_SIZE_MIN, or the header bytes each
 * segment repeats when they are more; at the floor the segments add up to
 * less than twice the packet, below it they would not.
 */
START_TEST(test_peer_gso_size_floor)
{
	static uint8_t pkt[70000];
	static const struct {
		bool v6, tap;
		int vlans;
		size_t ip4opt, optlen, floor;
	} cases[] = {
	    {false, false, 0, 0, 0, 48},    /* 40 header bytes: the constant */
	    {false, false, 0, 0, 8, 48},    /* 48 */
	    {false, false, 0, 0, 12, 52},   /* timestamps: 52 */
	    {true, false, 0, 0, 0, 60},     /* IPv6: 60 */
	    {false, false, 0, 40, 40, 120}, /* every option there is */
	    {true, true, 2, 0, 32, 114},    /* QinQ, IPv6, 32 option bytes */
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct spec sp = spec_default(cases[c].v6, cases[c].tap);
		struct vnet_hdr h;
		size_t l3, l4, len, total;
		int n;

		sp.vlans = cases[c].vlans;
		sp.ip4opt = cases[c].ip4opt;
		sp.optlen = cases[c].optlen;
		sp.payload = 60000;
		sp.partial = true;
		len = build(pkt, &sp, &l3, &l4);
		h = tso_hdr(&sp, l4, (uint16_t)cases[c].floor);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), 0);
		total = split_bytes(&h, pkt, len, sp.tap, &n);
		ck_assert_int_ge(n, 60000 / (int)cases[c].floor);
		ck_assert_uint_lt(total, 2 * len);
		h.gso_size = (uint16_t)(cases[c].floor - 1);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), -EINVAL);
		/* The kernel would take it (vnet_check() does too), and make
		 * twice the bytes or more out of it with the smallest MSS. */
		h.gso_size = 8;
		ck_assert_int_eq(vnet_check(&h, pkt, len, sp.tap), 0);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), -EINVAL);
		ck_assert_uint_ge(split_bytes(&h, pkt, len, sp.tap, NULL), 2 * len);
		h.gso_size = 1;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), -EINVAL);
		h.gso_size = 0;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), -EINVAL);
		/* GSO_BY_FRAGS. */
		h.gso_size = 0xffff;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), -EINVAL);
		h.gso_size = 0xfffe;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, sp.tap), 0);
	}
}
END_TEST

/* The header's own fields: flags, types, and what must be zero. */
START_TEST(test_peer_rejects_header_fields)
{
	static uint8_t pkt[8192];
	struct spec sp = spec_default(false, false);
	struct vnet_hdr ok, h;
	size_t l3, l4, len;

	sp.payload = 5000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	ok = tso_hdr(&sp, l4, 1448);
	ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), 0);

	/* DATA_VALID, alone or with NEEDS_CSUM; RSC_INFO and other flags. */
	for (unsigned f = 2; f < 256; f++) {
		h = ok;
		h.flags = (uint8_t)f;
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	}
	/* GSO without NEEDS_CSUM (vnet_check() takes it), with the checksum
	 * offsets left or zeroed. */
	h = ok;
	h.flags = 0;
	ck_assert_int_eq(vnet_check(&h, pkt, len, false), 0);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h.csum_start = 0;
	h.csum_offset = 0;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	/* Every gso_type but TCPV4 (and with ECN). */
	for (unsigned t = 1; t < 256; t++) {
		h = ok;
		h.gso_type = (uint8_t)t;
		ck_assert_int_eq(
		    vnet_check_peer(&h, pkt, len, false),
		    t == VNET_GSO_TCPV4 || t == (VNET_GSO_TCPV4 | VNET_GSO_ECN) ? 0 : -EINVAL);
	}
	/* hdr_len past the packet. */
	h = ok;
	h.hdr_len = (uint16_t)(len + 1);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h.hdr_len = (uint16_t)len;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), 0);

	/* A complete packet: the header must be all zeros but hdr_len. */
	sp.payload = 1000;
	sp.partial = false;
	len = build(pkt, &sp, &l3, &l4);
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), 0);
	h = ok;
	h.csum_start = (uint16_t)l4;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.csum_offset = 16;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.gso_size = 1448;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h = ok;
	h.hdr_len = 40;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), 0);
	h.hdr_len = (uint16_t)(len + 1);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
}
END_TEST

/* What the TCP header of a TSO packet may not be. */
START_TEST(test_peer_rejects_gso_packets)
{
	static uint8_t pkt[8192], copy[8192];
	struct spec sp = spec_default(true, false);
	struct vnet_hdr ok, h;
	size_t l3, l4, len;

	sp.payload = 5000;
	sp.partial = true;
	len = build(pkt, &sp, &l3, &l4);
	memcpy(copy, pkt, len);
	ok = tso_hdr(&sp, l4, 1428);
	ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), 0);

	/* SYN, RST, and both with the usual flags. */
	static const uint8_t bad[] = {F_SYN, F_RST, F_SYN | F_ACK, F_RST | F_ACK, F_SYN | F_FIN};
	for (size_t i = 0; i < sizeof(bad); i++) {
		pkt[l4 + 13] = bad[i];
		ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
		/* Fine without GSO. */
		h = csum_hdr(l4, 6);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), 0);
	}
	memcpy(pkt, copy, len);
	/* No payload: nothing to cut. */
	ck_assert_int_eq(vnet_check_peer(&ok, pkt, l4 + 32, false), -EINVAL);
	wr16(pkt + l3 + 4, 32);
	ck_assert_int_eq(vnet_check_peer(&ok, pkt, l4 + 32, false), -EINVAL);
	h = csum_hdr(l4, 6);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, l4 + 32, false), 0);
	memcpy(pkt, copy, len);
	/* The IP version of the other GSO type. */
	h = ok;
	h.gso_type = VNET_GSO_TCPV4;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	/* UDP under a TCP GSO type, with either checksum offset. */
	sp.proto = 17;
	len = build(pkt, &sp, &l3, &l4);
	h = ok;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h.csum_offset = 6;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
	h = csum_hdr(l4, 17);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), 0);
}
END_TEST

/* NEEDS_CSUM without GSO: the offsets, the protocol, the L4 header. */
START_TEST(test_peer_rejects_csum)
{
	static uint8_t pkt[4096], copy[4096];

	for (int v6 = 0; v6 < 2; v6++) {
		for (int udp = 0; udp < 2; udp++) {
			struct spec sp = spec_default(v6, false);
			uint8_t proto = udp ? 17 : 6;
			struct vnet_hdr ok, h;
			size_t l3, l4, len;

			sp.proto = proto;
			sp.payload = 999;
			sp.partial = true;
			len = build(pkt, &sp, &l3, &l4);
			memcpy(copy, pkt, len);
			ok = csum_hdr(l4, proto);
			ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), 0);
			/* csum_start anywhere but the L4 header. */
			for (int d = -(int)l4; d < 40; d++) {
				if (d == 0)
					continue;
				h = ok;
				h.csum_start = (uint16_t)((int)l4 + d);
				ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
			}
			/* csum_offset anything but the protocol's. */
			for (unsigned o = 0; o < 64; o++) {
				h = ok;
				h.csum_offset = (uint16_t)o;
				ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false),
						 o == (udp ? 6u : 16u) ? 0 : -EINVAL);
			}
			/* Another protocol with inet checksums (ICMP: 1 or 58). */
			pkt[v6 ? l3 + 6 : l3 + 9] = v6 ? 58 : 1;
			for (unsigned o = 0; o < 20; o += 2) {
				h = ok;
				h.csum_offset = (uint16_t)o;
				ck_assert_int_eq(vnet_check_peer(&h, pkt, len, false), -EINVAL);
			}
			memcpy(pkt, copy, len);
			if (udp) {
				/* The UDP length disagrees with the packet. */
				wr16(pkt + l4 + 4, (uint16_t)(len - l4 - 1));
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
				wr16(pkt + l4 + 4, (uint16_t)(len - l4 + 1));
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
			} else {
				/* A data offset below 5 words or past the end. */
				pkt[l4 + 12] = 0x40;
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
				pkt[l4 + 12] = copy[l4 + 12];
				/* 60 bytes of TCP header in a 50-byte segment. */
				wr16(pkt + l3 + (v6 ? 4 : 2),
				     (uint16_t)(l4 + 50 - l3 - (v6 ? 40 : 0)));
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, l4 + 50, false), 0);
				pkt[l4 + 12] = 0xf0;
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, l4 + 50, false),
						 -EINVAL);
			}
			memcpy(pkt, copy, len);
			if (!v6) {
				/* Fragments: MF, or an offset. */
				pkt[l3 + 6] |= 0x20;
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
				pkt[l3 + 6] = 0x40;
				pkt[l3 + 7] = 1;
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
			} else {
				/* A fragment header. */
				pkt[l3 + 6] = 44;
				ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), -EINVAL);
			}
			memcpy(pkt, copy, len);
			ck_assert_int_eq(vnet_check_peer(&ok, pkt, len, false), 0);
		}
	}
}
END_TEST

/* The IP header and its length field against the frame. */
START_TEST(test_peer_rejects_ip_lengths)
{
	static uint8_t pkt[4096], copy[4096];
	static const struct vnet_hdr zero;

	for (int v = 0; v < 6; v++) {
		bool v6 = v & 1, tap = v >= 2;
		struct spec sp = spec_default(v6, tap);
		struct vnet_hdr tso;
		size_t l3, l4, len, lenoff;

		sp.vlans = tap ? v / 2 - 1 : 0;
		sp.payload = 3000;
		sp.partial = true;
		len = build(pkt, &sp, &l3, &l4);
		memcpy(copy, pkt, len);
		tso = tso_hdr(&sp, l4, 1400);
		lenoff = l3 + (v6 ? 4 : 2);
		ck_assert_int_eq(vnet_check_peer(&tso, pkt, len, tap), 0);
		ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), 0);
		/* The length field one off either way, or the frame. */
		for (int d = -1; d <= 1; d += 2) {
			wr16(pkt + lenoff, (uint16_t)(rd16(copy + lenoff) + d));
			ck_assert_int_eq(vnet_check_peer(&tso, pkt, len, tap), -EINVAL);
			ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), -EINVAL);
			memcpy(pkt, copy, len);
			ck_assert_int_eq(vnet_check_peer(&tso, pkt, len + (size_t)d, tap), -EINVAL);
			ck_assert_int_eq(vnet_check_peer(&zero, pkt, len + (size_t)d, tap),
					 -EINVAL);
		}
		/* Not IP, or the other version. */
		pkt[l3] = (uint8_t)((v6 ? 0x40 : 0x60) | (pkt[l3] & 0x0f));
		ck_assert_int_eq(vnet_check_peer(&tso, pkt, len, tap), -EINVAL);
		ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), -EINVAL);
		pkt[l3] = (uint8_t)(0x50 | (pkt[l3] & 0x0f));
		ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), -EINVAL);
		memcpy(pkt, copy, len);
		/* Cut inside the IP header. */
		for (size_t n = 0; n < l3 + (v6 ? 40 : 20); n++)
			ck_assert_int_eq(vnet_check_peer(&zero, pkt, n, tap), -EINVAL);
		if (!v6) {
			/* An IHL below 5, or beyond the packet. */
			for (unsigned ihl = 0; ihl < 5; ihl++) {
				pkt[l3] = (uint8_t)(0x40 | ihl);
				ck_assert_int_eq(vnet_check_peer(&zero, pkt, len, tap), -EINVAL);
			}
			pkt[l3] = 0x4f;
			wr16(pkt + l3 + 2, 40);
			ck_assert_int_eq(vnet_check_peer(&zero, pkt, l3 + 40, tap), -EINVAL);
			memcpy(pkt, copy, len);
		}
		ck_assert_int_eq(vnet_check_peer(&tso, pkt, len, tap), 0);
	}
}
END_TEST

/* TAP: frames that are not IP, and Ethernet padding. */
START_TEST(test_peer_tap_frames)
{
	static const struct vnet_hdr zero;
	uint8_t pkt[256];
	struct vnet_hdr h;
	size_t l3, l4, len;

	/* ARP (42 bytes): fine with a header of zeros, nothing else. */
	memset(pkt, 0, sizeof(pkt));
	memset(pkt, 0xff, 6);
	wr16(pkt + 12, 0x0806);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 42, true), 0);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 14, true), 0);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 13, true), -EINVAL);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 0, true), -EINVAL);
	h = csum_hdr(14, 6);
	ck_assert_int_eq(vnet_check_peer(&h, pkt, 42, true), -EINVAL);
	h = zero;
	h.gso_type = VNET_GSO_TCPV4;
	h.gso_size = 1448;
	ck_assert_int_eq(vnet_check_peer(&h, pkt, 42, true), -EINVAL);
	/* A tag cut short. */
	wr16(pkt + 12, 0x8100);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 16, true), -EINVAL);
	ck_assert_int_eq(vnet_check_peer(&zero, pkt, 18, true), 0);

	/* A bare TCP ACK (54 bytes) padded to 60, and with tags to 64 or
	 * 68: a bridge forwards such frames as they came. */
	for (int vlans = 0; vlans < 3; vlans++) {
		struct spec sp = spec_default(false, true);
		size_t max = 60 + 4 * (size_t)vlans;

		sp.vlans = vlans;
		sp.optlen = 0;
		sp.payload = 0;
		memset(pkt, 0, sizeof(pkt));
		len = build(pkt, &sp, &l3, &l4);
		ck_assert_uint_eq(len, 54 + 4 * (size_t)vlans);
		for (size_t n = len; n <= max; n++)
			ck_assert_int_eq(vnet_check_peer(&zero, pkt, n, true), 0);
		ck_assert_int_eq(vnet_check_peer(&zero, pkt, max + 1, true), -EINVAL);
		/* Not with a checksum to finish: it would cover the pad. */
		sp.partial = true;
		len = build(pkt, &sp, &l3, &l4);
		h = csum_hdr(l4, 6);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len, true), 0);
		ck_assert_int_eq(vnet_check_peer(&h, pkt, len + 1, true), -EINVAL);
		/* Never on TUN. */
		ck_assert_int_eq(vnet_check_peer(&zero, pkt + l3, len - l3, false), 0);
		ck_assert_int_eq(vnet_check_peer(&zero, pkt + l3, len - l3 + 1, false), -EINVAL);
	}
}
END_TEST

/*
 * Genuine packets with random damage to their headers: whatever
 * vnet_check_peer() lets through, vnet_check() lets through too, a TSO
 * packet splits into less than twice its bytes, and nothing is read out of
 * bounds (ASan).
 */
START_TEST(test_peer_mutations)
{
	static uint8_t good[8192], pkt[8192];
	uint32_t seed = 0x2545f491;
	unsigned passed = 0, gso_passed = 0;

	for (int round = 0; round < 4000; round++) {
		bool tap = round & 1, v6 = round & 2;
		struct spec sp = spec_default(v6, tap);
		struct vnet_hdr h;
		uint8_t hb[VNET_HDR_LEN];
		size_t l3, l4, len;
		int kind = (round >> 2) % 3;

		sp.vlans = tap ? (round >> 3) % 3 : 0;
		sp.proto = kind == 2 ? 17 : 6;
		sp.payload = 200 + rnd(&seed) % 3000;
		sp.partial = kind != 0 || round % 5;
		len = build(good, &sp, &l3, &l4);
		if (kind == 0)
			h = sp.partial ? tso_hdr(&sp, l4, (uint16_t)(100 + rnd(&seed) % 1400))
				       : (struct vnet_hdr){0};
		else
			h = csum_hdr(l4, sp.proto);
		for (int tries = 0; tries < 8; tries++) {
			size_t plen = len;

			memcpy(pkt, good, len);
			vnet_hdr_put(hb, &h);
			/* One to three bytes of the header or the packet's
			 * headers changed; sometimes the length too. */
			for (int m = 0, nm = 1 + (int)(rnd(&seed) % 3); m < nm; m++) {
				uint32_t r = rnd(&seed);

				if (r & 1)
					hb[(r >> 1) % VNET_HDR_LEN] = (uint8_t)(r >> 8);
				else
					pkt[(r >> 1) % (l4 + 40)] = (uint8_t)(r >> 8);
			}
			if (rnd(&seed) % 4 == 0)
				plen = rnd(&seed) % (len + 8);
			vnet_hdr_get(hb, &h);
			if (vnet_check_peer(&h, pkt, plen, tap) < 0)
				continue;
			passed++;
			ck_assert_int_eq(vnet_check(&h, pkt, plen, tap), 0);
			if (h.gso_type != VNET_GSO_NONE) {
				gso_passed++;
				ck_assert_uint_lt(split_bytes(&h, pkt, plen, tap, NULL), 2 * plen);
			}
		}
	}
	/* The damage was not always fatal: both kinds were tried. */
	ck_assert_uint_gt(passed, 500);
	ck_assert_uint_gt(gso_passed, 100);
}
END_TEST

/* Random bytes, each in a buffer of exactly its length (ASan sees any read
 * past it, none at all for length 0): vnet_check_peer() never lets through
 * what vnet_check() would not. */
START_TEST(test_peer_garbage)
{
	uint32_t seed = 777;

	for (int round = 0; round < 20000; round++) {
		uint8_t hb[VNET_HDR_LEN];
		size_t len = rnd(&seed) % 129;
		uint8_t *pkt = len ? malloc(len) : NULL;
		bool tap = round & 1;
		struct vnet_hdr h;

		for (size_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)rnd(&seed);
		for (int i = 0; i < VNET_HDR_LEN; i++)
			hb[i] = (uint8_t)rnd(&seed);
		vnet_hdr_get(hb, &h);
		if (round % 2)
			h.flags &= VNET_F_NEEDS_CSUM;
		/* A header of zeros reaches the packet whatever it is. */
		if (round % 3 == 0)
			memset(&h, 0, sizeof(h));
		if (vnet_check_peer(&h, pkt, len, tap) == 0)
			ck_assert_int_eq(vnet_check(&h, pkt, len, tap), 0);
		free(pkt);
	}
}
END_TEST

static Suite *vnet_suite(void)
{
	Suite *s = suite_create("vnet");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, test_hdr_little_endian);
	tcase_add_test(tc, test_csum_complete_tcp_and_udp);
	tcase_add_test(tc, test_csum_complete_bounds);
	tcase_add_test(tc, test_check_accepts_and_rejects);
	tcase_add_test(tc, test_check_tap_and_ipv6);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_peer_accepts_genuine);
	tcase_add_test(tc, test_peer_accepts_options);
	tcase_add_test(tc, test_peer_accepts_culvert_output);
	tcase_add_test(tc, test_peer_gso_size_floor);
	tcase_add_test(tc, test_peer_rejects_header_fields);
	tcase_add_test(tc, test_peer_rejects_gso_packets);
	tcase_add_test(tc, test_peer_rejects_csum);
	tcase_add_test(tc, test_peer_rejects_ip_lengths);
	tcase_add_test(tc, test_peer_tap_frames);
	tcase_add_test(tc, test_peer_mutations);
	tcase_add_test(tc, test_peer_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_split_ipv4_64k);
	tcase_add_test(tc, test_split_ipv6_tun);
	tcase_add_test(tc, test_split_tap_vlan_ipv4);
	tcase_add_test(tc, test_split_tap_qinq_ipv6);
	tcase_add_test(tc, test_split_odd_mss_single_and_tiny);
	tcase_add_test(tc, test_split_ipv6_hop_by_hop);
	tcase_add_test(tc, test_split_ignores_hdr_len);
	tcase_add_test(tc, test_split_non_gso);
	tcase_add_test(tc, test_split_enospc);
	tcase_add_test(tc, test_segments_count);
	tcase_add_test(tc, test_split_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("gro");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gro_roundtrip_ipv4);
	tcase_add_test(tc, test_gro_roundtrip_ipv6);
	tcase_add_test(tc, test_gro_roundtrip_tap);
	tcase_add_test(tc, test_gro_single_segment_untouched);
	tcase_add_test(tc, test_gro_out_of_order);
	tcase_add_test(tc, test_gro_flows_interleaved);
	tcase_add_test(tc, test_gro_psh_and_short);
	tcase_add_test(tc, test_gro_passthrough);
	tcase_add_test(tc, test_gro_ip_fields);
	tcase_add_test(tc, test_gro_tcp_fields);
	tcase_add_test(tc, test_gro_tap_link_header);
	tcase_add_test(tc, test_gro_ecn);
	tcase_add_test(tc, test_gro_cap);
	tcase_add_test(tc, test_gro_garbage);
	tcase_add_test(tc, test_gro_init_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(vnet_suite());
}
