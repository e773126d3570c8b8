/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for lib/mtu.h: mtu_icmp_too_big() and mtu_clamp_mss() on any
 * packet a device could hand over.  Properties, checked with the
 * independent helpers of fuzz_net.c:
 *
 *  - an ICMP message, when one is made, is well-formed: IPv4 header and
 *    ICMP checksums verify (or the ICMPv6 one over its pseudo-header), type
 *    3 code 4 / type 2 code 0, lengths match what was written, the MTU at
 *    least 576 / 1280, at most 576 / 1280 bytes of IP, addresses swapped,
 *    the quote a prefix of the packet; none for an ICMP error, a non-first
 *    IPv4 fragment, IPv4 without DF, IPv6 of 1280 bytes or less; a buffer
 *    one byte short is never overrun (-ENOSPC or nothing);
 *  - the clamp changes nothing or exactly the MSS value (and the checksum
 *    unless the checksum is partial), to at most mtu - 40 / - 60, lowering
 *    it; a packet whose checksums verified still verifies;
 *  - nothing reads outside the input (the packet is copied into a buffer of
 *    exactly its size, for ASan).
 *
 * Input: [flags: 1][mtu: 2, big-endian][packet...]; flags bit 0: TAP (an
 * Ethernet header leads), bit 1: the checksum is partial, bit 2: make the
 * TCP checksums right before clamping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_net.h"
#include "mtu.h"

/* Checks one ICMP message @out (@n bytes) made for @pkt (@len bytes). */
static void check_icmp(const uint8_t *pkt, size_t len, bool tap, const uint8_t *out, size_t n)
{
	size_t l3 = tap ? 14 : 0;
	const uint8_t *ip = pkt + l3, *o = out + l3;

	FUZZ_ASSERT(n > l3 && n <= MTU_ICMP_MAX);
	if (tap) {
		FUZZ_ASSERT(memcmp(out, pkt + 6, 6) == 0 && memcmp(out + 6, pkt, 6) == 0);
		FUZZ_ASSERT(memcmp(out + 12, pkt + 12, 2) == 0);
	}
	if (o[0] == 0x45) {
		size_t total = n - l3, ihl = (size_t)(ip[0] & 15) * 4;

		FUZZ_ASSERT(ip[0] >> 4 == 4 && (ip[6] & 0x40) && (net_get16(ip + 6) & 0x1fff) == 0);
		FUZZ_ASSERT(total >= 28 && total <= 576 && net_get16(o + 2) == total);
		FUZZ_ASSERT(o[9] == 1 && net_fold(net_sum(0, o, 20)) == 0xffff);
		FUZZ_ASSERT(net_fold(net_sum(0, o + 20, total - 20)) == 0xffff);
		FUZZ_ASSERT(o[20] == 3 && o[21] == 4 && net_get16(o + 26) >= MTU_IPV4_FLOOR);
		FUZZ_ASSERT(memcmp(o + 12, ip + 16, 4) == 0 && memcmp(o + 16, ip + 12, 4) == 0);
		FUZZ_ASSERT(total - 28 <= len - l3 && memcmp(o + 28, ip, total - 28) == 0);
		FUZZ_ASSERT(total - 28 >= ihl);
		/* Never for an ICMP error. */
		FUZZ_ASSERT(!(ip[9] == 1 && len - l3 > ihl &&
			      (ip[ihl] == 3 || ip[ihl] == 4 || ip[ihl] == 5 || ip[ihl] == 11 ||
			       ip[ihl] == 12)));
	} else {
		size_t plen = net_get16(o + 4);
		uint64_t sum;

		FUZZ_ASSERT(o[0] == 0x60 && ip[0] >> 4 == 6 && len - l3 > 1280);
		FUZZ_ASSERT(n - l3 == 40 + plen && n - l3 <= 1280 && o[6] == 58);
		FUZZ_ASSERT(o[40] == 2 && o[41] == 0 && net_get32(o + 44) >= MTU_IPV6_FLOOR);
		sum = net_sum(0, o + 8, 32) + plen + 58;
		FUZZ_ASSERT(net_fold(net_sum(sum, o + 40, plen)) == 0xffff);
		FUZZ_ASSERT(memcmp(o + 8, ip + 24, 16) == 0 && memcmp(o + 24, ip + 8, 16) == 0);
		FUZZ_ASSERT(memcmp(o + 48, ip, plen - 8) == 0);
		FUZZ_ASSERT(ip[8] != 0xff && ip[24] != 0xff);
	}
}

/* Checks mtu_clamp_mss() on a copy of @pkt (@len bytes). */
static void check_clamp(const uint8_t *pkt, size_t len, bool tap, unsigned mtu, uint8_t flags)
{
	uint8_t *p = malloc(len ? len : 1), *before = malloc(len ? len : 1);
	struct net_tcp t;
	bool parsed, ok_before = false;
	size_t diff = 0, i;
	int r;

	FUZZ_ASSERT(p && before);
	memcpy(p, pkt, len);
	parsed = net_parse_tcp(p, len, tap, &t);
	if (parsed && (flags & 4))
		net_fix_csums(p, len, &t);
	if (parsed)
		ok_before = net_csums_ok(p, len, &t);
	memcpy(before, p, len);
	r = mtu_clamp_mss(p, len, tap, mtu, flags & 2);
	FUZZ_ASSERT(r == 0 || r == 1);
	for (i = 0; i < len; i++)
		diff += p[i] != before[i];
	if (r == 0) {
		FUZZ_ASSERT(diff == 0);
	} else {
		FUZZ_ASSERT(parsed && diff >= 1 && diff <= 4);
		/* Only the checksum and one option value changed. */
		for (i = 0; i < len; i++)
			if (p[i] != before[i])
				FUZZ_ASSERT(i >= t.l4 + 16 && i < t.hlen);
		if (flags & 2)
			FUZZ_ASSERT(memcmp(p + t.l4 + 16, before + t.l4 + 16, 2) == 0);
		else if (ok_before)
			FUZZ_ASSERT(net_csums_ok(p, len, &t));
		/* The new MSS: the value of a kind 2, length 4 option after
		 * the fixed header, lowered to fit. */
		for (i = t.l4 + 20; i + 4 <= t.hlen; i++)
			if (before[i] == 2 && before[i + 1] == 4 &&
			    memcmp(p + i + 2, before + i + 2, 2) != 0)
				break;
		FUZZ_ASSERT(i + 4 <= t.hlen);
		FUZZ_ASSERT(net_get16(p + i + 2) < net_get16(before + i + 2));
		FUZZ_ASSERT(net_get16(p + i + 2) <= mtu - (t.v6 ? 60 : 40));
	}
	free(p);
	free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[MTU_ICMP_MAX], *pkt;
	size_t len;
	unsigned mtu;
	bool tap;
	int n;

	if (size < 3)
		return 0;
	tap = data[0] & 1;
	mtu = net_get16(data + 1);
	len = size - 3;
	/* Exactly the packet's bytes, so that ASan sees any read past it. */
	pkt = malloc(len ? len : 1);
	FUZZ_ASSERT(pkt);
	memcpy(pkt, data + 3, len);
	n = mtu_icmp_too_big(pkt, len, tap, mtu, out, sizeof(out));
	FUZZ_ASSERT(n >= 0);
	if (n > 0) {
		uint8_t *tight = malloc((size_t)n - 1 ? (size_t)n - 1 : 1);

		check_icmp(pkt, len, tap, out, (size_t)n);
		/* One byte short: refused, nothing written past it. */
		FUZZ_ASSERT(tight);
		FUZZ_ASSERT(mtu_icmp_too_big(pkt, len, tap, mtu, tight, (size_t)n - 1) <= 0);
		free(tight);
	}
	check_clamp(pkt, len, tap, mtu, data[0]);
	free(pkt);
	return 0;
}

/* Seeds: too-long TCP packets over IPv4 (with and without DF) and IPv6, on
 * TUN and TAP, and SYNs whose MSS option a 1280-byte MTU lowers. */
int fuzz_generate(const char *dir)
{
	static uint8_t buf[3 + 14 + 8 + 60 + 60 + 1500];
	static const struct {
		const char *name;
		bool tap, v6, df, syn;
		size_t payload;
	} seeds[] = {
	    {"ip4-df-1400", false, false, true, false, 1340},
	    {"ip4-nodf-1400", false, false, false, false, 1340},
	    {"ip6-1400", false, true, false, false, 1320},
	    {"ip6-1280", false, true, false, false, 1200},
	    {"tap-ip4-df", true, false, true, false, 1340},
	    {"tap-ip6", true, true, false, false, 1320},
	    {"syn4", false, false, true, true, 0},
	    {"syn6", false, true, false, true, 0},
	    {"tap-syn4", true, false, true, true, 0},
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct net_seg s = {.tap = seeds[i].tap,
				    .v6 = seeds[i].v6,
				    .df = seeds[i].df,
				    .payload = seeds[i].payload,
				    .optlen = seeds[i].syn ? 8 : 0,
				    .flags = seeds[i].syn ? 0x02 : 0x10,
				    .seq = 1000,
				    .seed = (uint8_t)i};
		size_t len = net_build(buf + 3, &s);

		if (seeds[i].syn) {
			struct net_tcp t;

			/* MSS 1460, then NOPs. */
			FUZZ_ASSERT(net_parse_tcp(buf + 3, len, s.tap, &t));
			memcpy(buf + 3 + t.l4 + 20, "\x02\x04\x05\xb4", 4);
			net_fix_csums(buf + 3, len, &t);
		}
		buf[0] = (uint8_t)((s.tap ? 1 : 0) | (seeds[i].syn ? 4 : 0));
		net_put16(buf + 1, 1280);
		rc = fuzz_write_seed(dir, seeds[i].name, buf, len + 3);
		if (rc < 0)
			return rc;
	}
	return 0;
}
