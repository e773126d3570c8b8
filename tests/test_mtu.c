/* SPDX-License-Identifier: MIT */
/* lib/mtu.c: the overhead of every mode, ICMP "too big" messages and the MSS
 * clamp, on hand-built packets whose checksums are verified independently. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "check_run.h"
#include "mtu.h"

/* RFC 1071 over @len bytes, plus @seed; 0 when a packet's checksum is right. */
static uint16_t csum(const uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t s = seed;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The IPv4 pseudo-header sum of a TCP segment (RFC 9293 section 3.1). */
static uint32_t pseudo4(const uint8_t *ip, size_t l4len, uint8_t proto)
{
	uint32_t s = 0;
	int i;

	for (i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	return s + proto + (uint32_t)l4len;
}

/* The IPv6 pseudo-header sum (RFC 8200 section 8.1). */
static uint32_t pseudo6(const uint8_t *ip, size_t l4len, uint8_t nh)
{
	uint32_t s = 0;
	int i;

	for (i = 8; i < 40; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	return s + nh + (uint32_t)l4len;
}

/* An IPv4 TCP packet of @len bytes 198.19.0.2 -> 198.19.0.1, DF per @df,
 * SYN with an MSS option of @mss when @syn, checksums right. */
static size_t ip4_tcp(uint8_t *p, size_t len, bool df, bool syn, uint16_t mss)
{
	uint8_t *t = p + 20;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = df ? 0x40 : 0;
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, (uint8_t[]){198, 19, 0, 2}, 4);
	memcpy(p + 16, (uint8_t[]){198, 19, 0, 1}, 4);
	p[10] = 0;
	p[11] = 0;
	{
		uint16_t c = csum(p, 20, 0);
		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
	}
	t[0] = 0x9c;
	t[1] = 0x40;
	t[2] = 0x00;
	t[3] = 0x50;
	t[12] = 0x80; /* 32-byte header: 12 bytes of options */
	t[13] = syn ? 0x02 : 0x10;
	/* options: NOP, NOP, MSS, SACK permitted, NOP, window scale, pad */
	t[20] = 1;
	t[21] = 1;
	t[22] = 2;
	t[23] = 4;
	t[24] = (uint8_t)(mss >> 8);
	t[25] = (uint8_t)mss;
	t[26] = 4;
	t[27] = 2;
	t[28] = 1;
	t[29] = 3;
	t[30] = 3;
	t[31] = 7;
	for (size_t i = 52; i < len; i++)
		p[i] = (uint8_t)i;
	{
		uint16_t c = csum(t, len - 20, pseudo4(p, len - 20, 6));
		t[16] = (uint8_t)(c >> 8);
		t[17] = (uint8_t)c;
	}
	return len;
}

/* An IPv6 TCP packet of @len bytes 2001:db8:19::2 -> ::1, SYN per @syn. */
static size_t ip6_tcp(uint8_t *p, size_t len, bool syn, uint16_t mss)
{
	uint8_t *t = p + 40;

	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)((len - 40) >> 8);
	p[5] = (uint8_t)(len - 40);
	p[6] = 6;
	p[7] = 64;
	inet_pton(AF_INET6, "2001:db8:19::2", p + 8);
	inet_pton(AF_INET6, "2001:db8:19::1", p + 24);
	t[12] = 0x60; /* 24 bytes: 4 bytes of options */
	t[13] = syn ? 0x12 : 0x10;
	t[20] = 2;
	t[21] = 4;
	t[22] = (uint8_t)(mss >> 8);
	t[23] = (uint8_t)mss;
	for (size_t i = 64; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	{
		uint16_t c = csum(t, len - 40, pseudo6(p, len - 40, 6));
		t[16] = (uint8_t)(c >> 8);
		t[17] = (uint8_t)c;
	}
	return len;
}

START_TEST(test_overhead_every_mode)
{
	/* family, udp, sealed, tap -> bytes (doc/design.md section 6) */
	static const struct {
		int family;
		bool udp, sealed, tap;
		unsigned want;
	} c[] = {
	    {AF_INET, true, false, false, 30},   {AF_INET, true, true, false, 60},
	    {AF_INET, false, false, false, 54},  {AF_INET, false, true, false, 86},
	    {AF_INET6, true, false, false, 50},  {AF_INET6, true, true, false, 80},
	    {AF_INET6, false, false, false, 74}, {AF_INET6, false, true, false, 106},
	    {AF_INET, true, false, true, 44},    {AF_INET, true, true, true, 74},
	    {AF_INET, false, false, true, 68},   {AF_INET, false, true, true, 100},
	    {AF_INET6, true, false, true, 64},   {AF_INET6, true, true, true, 94},
	    {AF_INET6, false, false, true, 88},  {AF_INET6, false, true, true, 120},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		ck_assert_uint_eq(mtu_overhead(c[i].family, c[i].udp, c[i].sealed, c[i].tap),
				  c[i].want);
	/* WireGuard's figure: sealed UDP over IPv6 on a 1500-byte link. */
	ck_assert_uint_eq(1500 - mtu_overhead(AF_INET6, true, true, false), 1420);
	ck_assert_uint_eq(mtu_overhead(AF_UNIX, true, true, false), 0);
}
END_TEST

START_TEST(test_icmp4_frag_needed)
{
	uint8_t pkt[1400], out[MTU_ICMP_MAX];
	int n;

	ip4_tcp(pkt, sizeof(pkt), true, false, 0);
	n = mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out));
	ck_assert_int_eq(n, 576);
	ck_assert_uint_eq(out[0], 0x45);
	ck_assert_uint_eq((unsigned)(out[2] << 8 | out[3]), 576);
	ck_assert_uint_eq(out[9], 1);
	ck_assert_int_eq(csum(out, 20, 0), 0);
	/* source: the packet's destination; destination: its source */
	ck_assert_mem_eq(out + 12, pkt + 16, 4);
	ck_assert_mem_eq(out + 16, pkt + 12, 4);
	ck_assert_uint_eq(out[20], 3);
	ck_assert_uint_eq(out[21], 4);
	ck_assert_uint_eq((unsigned)(out[26] << 8 | out[27]), 1220);
	ck_assert_int_eq(csum(out + 20, 556, 0), 0);
	ck_assert_mem_eq(out + 28, pkt, 548);
	/* the floor */
	n = mtu_icmp_too_big(pkt, sizeof(pkt), false, 300, out, sizeof(out));
	ck_assert_uint_eq((unsigned)(out[26] << 8 | out[27]), MTU_IPV4_FLOOR);
	ck_assert_int_eq(csum(out + 20, (size_t)n - 20, 0), 0);
	/* too small a buffer */
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, 100), -ENOSPC);
}
END_TEST

START_TEST(test_icmp4_short_quote)
{
	uint8_t pkt[100], out[MTU_ICMP_MAX];
	int n;

	/* A 100-byte packet quoted whole; the header's length wins over
	 * trailing bytes. */
	ip4_tcp(pkt, 100, true, false, 0);
	n = mtu_icmp_too_big(pkt, 100, false, 576, out, sizeof(out));
	ck_assert_int_eq(n, 128);
	ck_assert_int_eq(csum(out + 20, 108, 0), 0);
	pkt[3] = 60;
	n = mtu_icmp_too_big(pkt, 100, false, 576, out, sizeof(out));
	ck_assert_int_eq(n, 88);
}
END_TEST

START_TEST(test_icmp4_not_due)
{
	uint8_t pkt[1400], out[MTU_ICMP_MAX];

	/* no DF */
	ip4_tcp(pkt, sizeof(pkt), false, false, 0);
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	/* a non-first fragment */
	ip4_tcp(pkt, sizeof(pkt), true, false, 0);
	pkt[7] = 10;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	/* multicast and broadcast destinations, bad sources */
	ip4_tcp(pkt, sizeof(pkt), true, false, 0);
	pkt[16] = 224;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	memset(pkt + 16, 255, 4);
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	ip4_tcp(pkt, sizeof(pkt), true, false, 0);
	memset(pkt + 12, 0, 4);
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	pkt[12] = 127;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	/* an ICMP error; an echo request does get one */
	ip4_tcp(pkt, sizeof(pkt), true, false, 0);
	pkt[9] = 1;
	pkt[20] = 3;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	pkt[20] = 11;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	pkt[20] = 8;
	ck_assert_int_gt(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	/* malformed: IHL below 5, beyond the packet; too short */
	pkt[0] = 0x44;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
	pkt[0] = 0x4f;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, 40, false, 1220, out, sizeof(out)), 0);
	ck_assert_int_eq(mtu_icmp_too_big(pkt, 19, false, 1220, out, sizeof(out)), 0);
	pkt[0] = 0x55;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1220, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_icmp6_packet_too_big)
{
	uint8_t pkt[1400], out[MTU_ICMP_MAX];
	int n;

	ip6_tcp(pkt, sizeof(pkt), false, 0);
	n = mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out));
	ck_assert_int_eq(n, 1280);
	ck_assert_uint_eq(out[0] >> 4, 6);
	ck_assert_uint_eq((unsigned)(out[4] << 8 | out[5]), 1240);
	ck_assert_uint_eq(out[6], 58);
	ck_assert_mem_eq(out + 8, pkt + 24, 16);
	ck_assert_mem_eq(out + 24, pkt + 8, 16);
	ck_assert_uint_eq(out[40], 2);
	ck_assert_uint_eq(out[41], 0);
	ck_assert_uint_eq((unsigned)(out[46] << 8 | out[47]), 1300);
	ck_assert_int_eq(csum(out + 40, 1240, pseudo6(out, 1240, 58)), 0);
	ck_assert_mem_eq(out + 48, pkt, 1232);
	/* never below 1280 */
	n = mtu_icmp_too_big(pkt, sizeof(pkt), false, 1200, out, sizeof(out));
	ck_assert_uint_eq((unsigned)(out[46] << 8 | out[47]), 1280);
	ck_assert_int_eq(csum(out + 40, 1240, pseudo6(out, 1240, 58)), 0);
	/* a packet of 1280 bytes or less fits every IPv6 link: none */
	ip6_tcp(pkt, 1280, false, 0);
	ck_assert_int_eq(mtu_icmp_too_big(pkt, 1280, false, 1200, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_icmp6_not_due)
{
	uint8_t pkt[1400], out[MTU_ICMP_MAX];

	ip6_tcp(pkt, sizeof(pkt), false, 0);
	pkt[24] = 0xff; /* multicast destination */
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	ip6_tcp(pkt, sizeof(pkt), false, 0);
	memset(pkt + 8, 0, 16); /* unspecified source */
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	/* an ICMPv6 error; an echo request (128) gets one */
	ip6_tcp(pkt, sizeof(pkt), false, 0);
	pkt[6] = 58;
	pkt[40] = 1;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	pkt[40] = 128;
	ck_assert_int_gt(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	/* behind a hop-by-hop header, an ICMPv6 error */
	pkt[6] = 0;
	pkt[40] = 58;
	pkt[41] = 0;
	pkt[48] = 2;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	/* a fragment: the first gets one, the others none */
	pkt[6] = 44;
	pkt[40] = 6;
	pkt[42] = 0;
	pkt[43] = 1; /* offset 0, M set */
	ck_assert_int_gt(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
	pkt[42] = 0x05;
	pkt[43] = 0x00;
	ck_assert_int_eq(mtu_icmp_too_big(pkt, sizeof(pkt), false, 1300, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_icmp_tap)
{
	uint8_t frame[14 + 1400], out[MTU_ICMP_MAX];
	int n;

	memcpy(frame, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	ip4_tcp(frame + 14, 1400, true, false, 0);
	n = mtu_icmp_too_big(frame, sizeof(frame), true, 1220, out, sizeof(out));
	ck_assert_int_eq(n, 14 + 576);
	ck_assert_mem_eq(out, frame + 6, 6);
	ck_assert_mem_eq(out + 6, frame, 6);
	ck_assert_uint_eq(out[12], 0x08);
	ck_assert_uint_eq(out[13], 0x00);
	ck_assert_int_eq(csum(out + 14, 20, 0), 0);
	ck_assert_int_eq(csum(out + 34, 556, 0), 0);
	/* a group MAC, a VLAN tag, a mismatched ethertype: none */
	frame[0] = 0x01;
	ck_assert_int_eq(mtu_icmp_too_big(frame, sizeof(frame), true, 1220, out, sizeof(out)), 0);
	frame[0] = 0x02;
	frame[12] = 0x81;
	ck_assert_int_eq(mtu_icmp_too_big(frame, sizeof(frame), true, 1220, out, sizeof(out)), 0);
	frame[12] = 0x86;
	frame[13] = 0xdd;
	ck_assert_int_eq(mtu_icmp_too_big(frame, sizeof(frame), true, 1220, out, sizeof(out)), 0);
	/* IPv6 in a frame */
	ip6_tcp(frame + 14, 1400, false, 0);
	n = mtu_icmp_too_big(frame, sizeof(frame), true, 1300, out, sizeof(out));
	ck_assert_int_eq(n, 14 + 1280);
	ck_assert_int_eq(csum(out + 54, 1240, pseudo6(out + 14, 1240, 58)), 0);
}
END_TEST

START_TEST(test_clamp_ipv4)
{
	uint8_t pkt[60];

	ip4_tcp(pkt, sizeof(pkt), true, true, 1460);
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 1);
	ck_assert_uint_eq((unsigned)(pkt[44] << 8 | pkt[45]), 1240);
	ck_assert_int_eq(csum(pkt + 20, 40, pseudo4(pkt, 40, 6)), 0);
	/* already small enough */
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 0);
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1400, false), 0);
	/* not a SYN */
	ip4_tcp(pkt, sizeof(pkt), true, false, 1460);
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 0);
	/* a fragment */
	ip4_tcp(pkt, sizeof(pkt), true, true, 1460);
	pkt[6] |= 0x20;
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 0);
	/* options running past the header: left alone */
	ip4_tcp(pkt, sizeof(pkt), true, true, 1460);
	pkt[41] = 40;
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 0);
	/* truncated */
	ip4_tcp(pkt, sizeof(pkt), true, true, 1460);
	ck_assert_int_eq(mtu_clamp_mss(pkt, 50, false, 1280, false), 0);
}
END_TEST

START_TEST(test_clamp_partial_csum)
{
	uint8_t pkt[60];

	ip4_tcp(pkt, sizeof(pkt), true, true, 1460);
	pkt[36] = 0x12;
	pkt[37] = 0x34; /* a pseudo-header sum: must stay */
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, true), 1);
	ck_assert_uint_eq((unsigned)(pkt[44] << 8 | pkt[45]), 1240);
	ck_assert_uint_eq(pkt[36], 0x12);
	ck_assert_uint_eq(pkt[37], 0x34);
}
END_TEST

START_TEST(test_clamp_ipv6_and_tap)
{
	uint8_t frame[14 + 64];
	uint8_t *p = frame + 14;

	ip6_tcp(p, 64, true, 1440);
	ck_assert_int_eq(mtu_clamp_mss(p, 64, false, 1280, false), 1);
	ck_assert_uint_eq((unsigned)(p[62] << 8 | p[63]), 1220);
	ck_assert_int_eq(csum(p + 40, 24, pseudo6(p, 24, 6)), 0);
	/* TAP: the Ethernet header first; a VLAN tag is left alone */
	memcpy(frame, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x86\xdd", 14);
	ip6_tcp(p, 64, true, 1440);
	ck_assert_int_eq(mtu_clamp_mss(frame, sizeof(frame), true, 1400, false), 1);
	ck_assert_uint_eq((unsigned)(p[62] << 8 | p[63]), 1340);
	ck_assert_int_eq(csum(p + 40, 24, pseudo6(p, 24, 6)), 0);
	ip6_tcp(p, 64, true, 1440);
	frame[12] = 0x81;
	frame[13] = 0x00;
	ck_assert_int_eq(mtu_clamp_mss(frame, sizeof(frame), true, 1280, false), 0);
	/* the RFC 1624 corner: a checksum that becomes 0xffff or 0 stays valid */
	for (unsigned mss = 1400; mss < 1460; mss++) {
		ip6_tcp(p, 64, true, (uint16_t)mss);
		ck_assert_int_eq(mtu_clamp_mss(p, 64, false, 1280, false), 1);
		ck_assert_int_eq(csum(p + 40, 24, pseudo6(p, 24, 6)), 0);
	}
}
END_TEST

START_TEST(test_clamp_odd_offset)
{
	uint8_t pkt[60];

	/* NOP, then MSS: its value at an odd offset straddles two checksum
	 * words (found by fuzz_mtu). */
	ip4_tcp(pkt, sizeof(pkt), true, true, 0);
	memcpy(pkt + 40, "\x01\x02\x04\x05\xb4\x01\x01\x01\x01\x01\x01\x00", 12);
	pkt[36] = pkt[37] = 0;
	{
		uint16_t c = csum(pkt + 20, 40, pseudo4(pkt, 40, 6));
		pkt[36] = (uint8_t)(c >> 8);
		pkt[37] = (uint8_t)c;
	}
	ck_assert_int_eq(mtu_clamp_mss(pkt, sizeof(pkt), false, 1280, false), 1);
	ck_assert_uint_eq((unsigned)(pkt[43] << 8 | pkt[44]), 1240);
	ck_assert_int_eq(csum(pkt + 20, 40, pseudo4(pkt, 40, 6)), 0);
}
END_TEST

static Suite *mtu_suite(void)
{
	Suite *s = suite_create("mtu");
	TCase *tc = tcase_create("overhead");

	tcase_add_test(tc, test_overhead_every_mode);
	suite_add_tcase(s, tc);
	tc = tcase_create("icmp");
	tcase_add_test(tc, test_icmp4_frag_needed);
	tcase_add_test(tc, test_icmp4_short_quote);
	tcase_add_test(tc, test_icmp4_not_due);
	tcase_add_test(tc, test_icmp6_packet_too_big);
	tcase_add_test(tc, test_icmp6_not_due);
	tcase_add_test(tc, test_icmp_tap);
	suite_add_tcase(s, tc);
	tc = tcase_create("clamp");
	tcase_add_test(tc, test_clamp_ipv4);
	tcase_add_test(tc, test_clamp_partial_csum);
	tcase_add_test(tc, test_clamp_ipv6_and_tap);
	tcase_add_test(tc, test_clamp_odd_offset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(mtu_suite());
}
