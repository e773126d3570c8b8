/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the virtio-net header checks and TSO segmentation
 * (lib/vnet.h): a header and a packet as they come from the peer in an
 * offload frame, or from the kernel.  vnet_check(), vnet_csum_complete()
 * and vnet_gso_split() must never read or write outside their buffers, and:
 *
 *   - vnet_csum_complete() leaves a checksum that verifies: the
 *     one's-complement sum from csum_start, plus the pseudo-header sum the
 *     field held before, is 0xffff (for an even csum_offset; an odd one
 *     puts the field across words, where no sum can be right);
 *   - a packet vnet_check() accepts, its hdr_len set to the real header
 *     length as culvertd does, is cut into exactly vnet_gso_segments()
 *     segments (-EINVAL only for a segment over 65535 bytes, never
 *     -ENOSPC); with a hint outside what a TCP header allows that count is
 *     not lower; each segment is the headers plus gso_size bytes of
 *     payload but the last, carrying the payload in order, the sequence
 *     numbers, IP lengths and checksums right (checked with this
 *     directory's own RFC 1071 code);
 *   - with one segment too few allowed it returns -ENOSPC and writes
 *     nothing;
 *   - vnet_check_peer(), the stricter check of what a peer sends, accepts
 *     only what vnet_check() accepts too, never DATA_VALID, and only
 *     payloads frame_payload_check() takes; a GSO packet it accepts (its
 *     hdr_len, a hint, left as the peer sent it) splits into as many
 *     segments as the TCP header gives, and they add up to less
 *     than 2P + H bytes (P payload bytes behind H header bytes: the bound
 *     its gso_size floor promises), so less than twice the packet;
 *   - frame_payload_check() (lib/frame.h) agrees with a model: TUN, IP
 *     version 4 and 20 bytes or 6 and 40; TAP, 14 bytes;
 *   - frame_first_check(), the probation check, accepts only what
 *     frame_payload_check() accepts.
 *
 * Input: [options: 1][virtio-net header: 10 bytes, little-endian][packet]
 *   options & 1: TAP (an Ethernet header leads the packet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "frame.h"
#include "fuzz_net.h"
#include "vnet.h"

/* Segments times stride above this are not attempted (memory, time). */
#define MAX_OUT (16u << 20)

static void check_csum_complete(const struct vnet_hdr *h, const uint8_t *pkt, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	size_t at = (size_t)h->csum_start + h->csum_offset;
	int rc;

	if (!copy)
		abort();
	memcpy(copy, pkt, len);
	rc = vnet_csum_complete(h, copy, len);
	if (!(h->flags & VNET_F_NEEDS_CSUM)) {
		FUZZ_ASSERT(rc == 0 && memcmp(copy, pkt, len) == 0);
	} else if (at + 2 > len) {
		FUZZ_ASSERT(rc == -EINVAL && memcmp(copy, pkt, len) == 0);
	} else {
		FUZZ_ASSERT(rc == 0);
		/* Only the field changed. */
		FUZZ_ASSERT(memcmp(copy, pkt, at) == 0 &&
			    memcmp(copy + at + 2, pkt + at + 2, len - at - 2) == 0);
		if (h->csum_offset % 2 == 0)
			FUZZ_ASSERT(net_fold(net_sum(net_get16(pkt + at), copy + h->csum_start,
						     len - h->csum_start)) == 0xffff);
	}
	free(copy);
}

/* frame_payload_check() against its documented rule. */
static bool payload_model(const uint8_t *p, size_t len, bool tap)
{
	if (tap)
		return len >= 14;
	if (len == 0)
		return false;
	return (p[0] >> 4 == 4 && len >= 20) || (p[0] >> 4 == 6 && len >= 40);
}

/* What vnet_check_peer() lets through: vnet_check() takes it, and a GSO
 * packet splits into less than 2P + H bytes (lib/vnet.h). */
static void check_peer(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap)
{
	size_t hlen, payload, stride, total = 0;
	struct vnet_hdr hh;
	uint16_t *seg_len;
	unsigned nmax;
	uint8_t *out;
	int rc;

	rc = vnet_check_peer(h, pkt, len, tap);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	if (rc < 0)
		return;
	FUZZ_ASSERT(vnet_check(h, pkt, len, tap) == 0);
	FUZZ_ASSERT(!(h->flags & VNET_F_DATA_VALID));
	FUZZ_ASSERT(frame_payload_check(pkt, len, tap) == 0);
	if (h->gso_type == VNET_GSO_NONE)
		return;
	FUZZ_ASSERT(h->flags & VNET_F_NEEDS_CSUM);
	FUZZ_ASSERT(h->gso_size >= VNET_GSO_SIZE_MIN && h->gso_size != 0xffff);
	hlen = h->csum_start + (size_t)(pkt[h->csum_start + 12] >> 4) * 4;
	FUZZ_ASSERT(hlen < len && h->gso_size >= hlen);
	payload = len - hlen;
	/* hdr_len is only a hint, which a peer may get wrong inside the range
	 * vnet_gso_segments() trusts: the kernel cuts by the TCP header, and
	 * so does this count once hdr_len is set to it. */
	hh = *h;
	hh.hdr_len = (uint16_t)hlen;
	nmax = vnet_gso_segments(&hh, len);
	FUZZ_ASSERT(nmax >= 1 && nmax <= 65535 / VNET_GSO_SIZE_MIN + 1);
	stride = (size_t)h->csum_start + 60 + h->gso_size;
	out = malloc(nmax * stride);
	seg_len = malloc(nmax * sizeof(*seg_len));
	if (!out || !seg_len)
		abort();
	rc = vnet_gso_split(h, pkt, len, tap, out, stride, nmax, seg_len);
	FUZZ_ASSERT(rc >= 1 && (unsigned)rc == nmax);
	for (int i = 0; i < rc; i++)
		total += seg_len[i];
	FUZZ_ASSERT(total == (size_t)rc * hlen + payload);
	FUZZ_ASSERT(total < 2 * payload + hlen);
	FUZZ_ASSERT(total < 2 * len + h->hdr_len);
	free(out);
	free(seg_len);
}

/* Checks the segments vnet_gso_split() made of the GSO packet @pkt. */
static void check_segments(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap,
			   const uint8_t *out, size_t stride, const uint16_t *seg_len, int n)
{
	size_t hlen = h->csum_start + (size_t)(pkt[h->csum_start + 12] >> 4) * 4;
	size_t payload = len - hlen, done = 0;
	uint32_t seq = net_get32(pkt + h->csum_start + 4);

	for (int i = 0; i < n; i++) {
		const uint8_t *s = out + (size_t)i * stride;
		size_t slen = seg_len[i], chunk = slen - hlen;
		struct net_tcp t;

		FUZZ_ASSERT(slen >= hlen && slen <= stride);
		FUZZ_ASSERT(i + 1 == n ? chunk == payload - done : chunk == h->gso_size);
		FUZZ_ASSERT(chunk <= h->gso_size);
		FUZZ_ASSERT(memcmp(s + hlen, pkt + hlen + done, chunk) == 0);
		FUZZ_ASSERT(net_parse_tcp(s, slen, tap, &t));
		FUZZ_ASSERT(t.l4 == h->csum_start && t.hlen == hlen);
		FUZZ_ASSERT(net_get32(s + t.l4 + 4) == seq + (uint32_t)done);
		if (t.v6)
			FUZZ_ASSERT(net_get16(s + t.l3 + 4) == slen - t.l3 - 40);
		else
			FUZZ_ASSERT(net_get16(s + t.l3 + 2) == slen - t.l3);
		FUZZ_ASSERT(net_csums_ok(s, slen, &t));
		done += chunk;
	}
	FUZZ_ASSERT(done == payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	bool tap = fuzz_u8(&in) & 1;
	uint8_t hbytes[VNET_HDR_LEN] = {0};
	struct vnet_hdr h;
	const uint8_t *p;
	uint8_t *pkt, *out;
	uint16_t *seg_len;
	size_t len, got, stride;
	unsigned nmax, nhint;
	bool hint_trusted;
	int rc;

	p = fuzz_bytes(&in, VNET_HDR_LEN, &got);
	memcpy(hbytes, p, got);
	vnet_hdr_get(hbytes, &h);
	p = fuzz_bytes(&in, in.left, &len);
	/* An exact-size copy, so that ASan sees any access past the end. */
	pkt = malloc(len ? len : 1);
	if (!pkt)
		abort();
	memcpy(pkt, p, len);

	check_csum_complete(&h, pkt, len);
	FUZZ_ASSERT((frame_payload_check(pkt, len, tap) == 0) == payload_model(pkt, len, tap));
	/* The probation check is stricter, never looser, and reads only
	 * inside the exact-size copy. */
	rc = frame_first_check(pkt, len, tap);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	FUZZ_ASSERT(rc < 0 || frame_payload_check(pkt, len, tap) == 0);
	check_peer(&h, pkt, len, tap);
	rc = vnet_check(&h, pkt, len, tap);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	if (rc < 0)
		goto out;
	/* hdr_len is a hint: with one outside what a TCP header allows the
	 * count may be too high, never too low.  Then it is set to the real
	 * header length, as culvertd does, and the count must be exact. */
	nhint = vnet_gso_segments(&h, len);
	hint_trusted = h.hdr_len > h.csum_start + 20 && h.hdr_len <= h.csum_start + 60;
	if (h.gso_type != VNET_GSO_NONE)
		h.hdr_len = (uint16_t)(h.csum_start + (pkt[h.csum_start + 12] >> 4) * 4);
	nmax = vnet_gso_segments(&h, len);
	FUZZ_ASSERT(nmax >= 1);
	FUZZ_ASSERT(hint_trusted || nhint >= nmax);
	if (h.gso_type == VNET_GSO_NONE)
		stride = len ? len : 1;
	else
		stride = (size_t)h.csum_start + 60 + h.gso_size;
	if ((uint64_t)nmax * stride > MAX_OUT)
		goto out;
	out = malloc(nmax * stride + 1);
	seg_len = malloc(nmax * sizeof(*seg_len));
	if (!out || !seg_len)
		abort();
	rc = vnet_gso_split(&h, pkt, len, tap, out, stride, nmax, seg_len);
	FUZZ_ASSERT(rc == -EINVAL || (rc >= 1 && (unsigned)rc == nmax));
	if (rc == -EINVAL) {
		/* Only for a result that cannot be an IP packet. */
		FUZZ_ASSERT(len > 0xffff || h.gso_type != VNET_GSO_NONE);
	} else if (h.gso_type == VNET_GSO_NONE) {
		uint8_t *want = malloc(len ? len : 1);

		if (!want)
			abort();
		memcpy(want, pkt, len);
		vnet_csum_complete(&h, want, len);
		FUZZ_ASSERT(rc == 1 && seg_len[0] == len && memcmp(out, want, len) == 0);
		free(want);
	} else {
		check_segments(&h, pkt, len, tap, out, stride, seg_len, rc);
		if (rc > 1) {
			memset(out, 0x5a, nmax * stride);
			FUZZ_ASSERT(vnet_gso_split(&h, pkt, len, tap, out, stride, (unsigned)rc - 1,
						   seg_len) == -ENOSPC);
			for (size_t i = 0; i < nmax * stride; i++)
				FUZZ_ASSERT(out[i] == 0x5a);
		}
	}
	free(out);
	free(seg_len);
out:
	free(pkt);
	return 0;
}

/* The TCP pseudo-header sum (RFC 9293 section 3.1, RFC 8200 section 8.1)
 * a sender leaves in the checksum field of a NEEDS_CSUM packet. */
static void put_pseudo_sum(uint8_t *pkt, size_t len, const struct net_tcp *t)
{
	uint64_t sum = 6 + (uint64_t)(len - t->l4);

	sum = net_sum(sum, pkt + t->l3 + (t->v6 ? 8 : 12), t->v6 ? 32 : 8);
	net_put16(pkt + t->l4 + 16, net_fold(sum));
}

/* A change that makes a seed one vnet_check_peer() refuses (the hostile
 * packets of tests/test_vnet.c), or none. */
enum hostile {
	GENUINE,
	MSS_8,          /* kernel takes it, twice the bytes or more out */
	MSS_BELOW_HDR,  /* gso_size one below the header bytes */
	MSS_BY_FRAGS,   /* 0xffff */
	DATA_VALID,     /* a flag only a receiver may set */
	NO_NEEDS_CSUM,  /* GSO without it */
	SYN,            /* never cut */
	IP_LEN_PLUS_1,  /* IP length field one too many */
	WRONG_GSO_TYPE, /* TCPV6 for IPv4 or the other way */
	NO_PAYLOAD,     /* headers only, lengths right */
};

/* Seeds: TSO packets over TUN and TAP, IPv4 and IPv6, and a packet that
 * only needs its checksum finished, as a Linux sender hands them over
 * (pseudo-header sum in the field), then hostile variants of them. */
int fuzz_generate(const char *dir)
{
	static const struct {
		const char *name;
		struct net_seg s;
		uint16_t mss;
		enum hostile bad;
	} seeds[] = {
	    {"tso-v4-tun", {.payload = 3000, .flags = 0x18, .id = 7, .df = true}, 1000, GENUINE},
	    {"tso-v6-tun", {.v6 = true, .payload = 2500, .flags = 0x99}, 1200, GENUINE},
	    {"tso-v4-tap-vlan",
	     {.tap = true, .vlans = 1, .payload = 700, .flags = 0x11},
	     300,
	     GENUINE},
	    {"tso-v6-tap-qinq", {.tap = true, .vlans = 2, .v6 = true, .payload = 90}, 32, GENUINE},
	    {"tso-v6-tap-qinq-floor",
	     {.tap = true, .vlans = 2, .v6 = true, .payload = 900, .flags = 0x10},
	     82,
	     GENUINE},
	    {"tso-v4-options",
	     {.optlen = 12, .payload = 400, .flags = 0x10, .seq = 0xfffffff0},
	     100,
	     GENUINE},
	    {"tso-v4-tun-mss48", {.payload = 6000, .flags = 0x10}, 48, GENUINE},
	    {"csum-v4", {.payload = 33, .flags = 0x18}, 0, GENUINE},
	    {"bad-mss-8", {.payload = 3000, .flags = 0x10}, 8, MSS_8},
	    {"bad-mss-below-hdr",
	     {.optlen = 40, .payload = 3000, .flags = 0x10},
	     79,
	     MSS_BELOW_HDR},
	    {"bad-mss-by-frags",
	     {.v6 = true, .payload = 3000, .flags = 0x10},
	     0xffff,
	     MSS_BY_FRAGS},
	    {"bad-data-valid", {.payload = 3000, .flags = 0x10}, 1000, DATA_VALID},
	    {"bad-gso-no-csum", {.tap = true, .payload = 3000, .flags = 0x10}, 1000, NO_NEEDS_CSUM},
	    {"bad-gso-syn", {.v6 = true, .payload = 3000, .flags = 0x12}, 1000, SYN},
	    {"bad-ip-len",
	     {.tap = true, .vlans = 1, .payload = 3000, .flags = 0x10},
	     1000,
	     IP_LEN_PLUS_1},
	    {"bad-gso-type", {.payload = 3000, .flags = 0x10}, 1000, WRONG_GSO_TYPE},
	    {"bad-no-payload", {.v6 = true, .payload = 0, .flags = 0x10}, 1000, NO_PAYLOAD},
	};
	static uint8_t buf[1 + VNET_HDR_LEN + 22 + 40 + 60 + 8000];
	int ret = 0;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]) && ret == 0; i++) {
		const struct net_seg *s = &seeds[i].s;
		uint8_t *pkt = buf + 1 + VNET_HDR_LEN;
		size_t len = net_build(pkt, s);
		struct vnet_hdr h = {.flags = VNET_F_NEEDS_CSUM};
		struct net_tcp t;
		bool want;

		if (!net_parse_tcp(pkt, len, s->tap, &t))
			return -EINVAL;
		buf[0] = s->tap;
		h.csum_start = (uint16_t)t.l4;
		h.csum_offset = 16;
		h.hdr_len = (uint16_t)t.hlen;
		put_pseudo_sum(pkt, len, &t);
		if (seeds[i].mss) {
			h.gso_type = s->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
			if (s->flags & 0x80)
				h.gso_type |= VNET_GSO_ECN;
			h.gso_size = seeds[i].mss;
		}
		switch (seeds[i].bad) {
		case DATA_VALID:
			h.flags |= VNET_F_DATA_VALID;
			break;
		case NO_NEEDS_CSUM:
			h.flags = 0;
			break;
		case IP_LEN_PLUS_1:
			if (t.v6)
				net_put16(pkt + t.l3 + 4,
					  (uint16_t)(net_get16(pkt + t.l3 + 4) + 1));
			else
				net_put16(pkt + t.l3 + 2,
					  (uint16_t)(net_get16(pkt + t.l3 + 2) + 1));
			break;
		case WRONG_GSO_TYPE:
			h.gso_type = s->v6 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
			break;
		default:
			break;
		}
		/* The seeds are what they say they are. */
		want = seeds[i].bad == GENUINE &&
		       (!seeds[i].mss ||
			(seeds[i].mss >= VNET_GSO_SIZE_MIN && seeds[i].mss >= t.hlen));
		if ((vnet_check_peer(&h, pkt, len, s->tap) == 0) != want)
			return -EPROTO;
		vnet_hdr_put(buf + 1, &h);
		ret = fuzz_write_seed(dir, seeds[i].name, buf, 1 + VNET_HDR_LEN + len);
	}
	return ret;
}
