/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "csum.h"
#include "mtu.h"

#define MTU_ETH_P_IPV4   0x0800
#define MTU_ETH_P_IPV6   0x86dd
#define MTU_PROTO_ICMP   1
#define MTU_PROTO_TCP    6
#define MTU_PROTO_ICMPV6 58
/* Longest IPv4 ICMP error, bytes (RFC 1812 section 4.3.2.3). */
#define MTU_ICMP4_MAX 576

/* culvert's framing: the length prefix and the sealed transport message
 * header and tag (lib/frame.h, lib/session.h; kept literal so that this
 * module needs neither). */
#define MTU_FRAME_PREFIX 2
#define MTU_SEALED       32

unsigned mtu_overhead(int family, bool udp, bool sealed, bool tap)
{
	unsigned n;

	if (family == AF_INET)
		n = MTU_IPV4_HDR;
	else if (family == AF_INET6)
		n = MTU_IPV6_HDR;
	else
		return 0;
	n += udp ? MTU_UDP_HDR : MTU_TCP_HDR;
	/* Sealed UDP: the datagram is the message, no prefix. */
	if (!(sealed && udp))
		n += MTU_FRAME_PREFIX;
	if (sealed)
		n += MTU_SEALED;
	if (tap)
		n += MTU_ETH_HDR;
	return n;
}

static uint16_t mtu_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void mtu_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* True for an IPv4 address no ICMP error may come from or go to as a
 * source: 0/8, 127/8, 224/4 and above (multicast, reserved, broadcast). */
static bool mtu_ip4_bad_src(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

/* ICMPv4 errors (RFC 792, RFC 1812 section 4.3.2.7): unreachable, source
 * quench, redirect, time exceeded, parameter problem. */
static bool mtu_icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* Writes the IPv4 "fragmentation needed" for @ip (@len bytes, checked). */
static int mtu_icmp4(const uint8_t *ip, size_t len, unsigned mtu, uint8_t *out, size_t room)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t quote = len, total;
	uint16_t tot = mtu_get16(ip + 2);

	if (!(ip[6] & 0x40))
		return 0; /* no DF: not ours to answer (the underlay fragments) */
	if ((mtu_get16(ip + 6) & 0x1fff) != 0)
		return 0; /* not the first fragment */
	if (mtu_ip4_bad_src(ip + 12) || ip[16] >= 224)
		return 0;
	if (ip[9] == MTU_PROTO_ICMP && (len <= ihl || mtu_icmp4_is_error(ip[ihl])))
		return 0;
	if (tot >= ihl && tot < quote)
		quote = tot; /* what the header says is the packet */
	if (quote > MTU_ICMP4_MAX - MTU_IPV4_HDR - 8)
		quote = MTU_ICMP4_MAX - MTU_IPV4_HDR - 8;
	total = MTU_IPV4_HDR + 8 + quote;
	if (room < total)
		return -ENOSPC;
	if (mtu < MTU_IPV4_FLOOR)
		mtu = MTU_IPV4_FLOOR;
	if (mtu > 0xffff)
		mtu = 0xffff;
	memset(out, 0, MTU_IPV4_HDR + 8);
	out[0] = 0x45;
	out[1] = 0xc0; /* internetwork control (RFC 1812 section 4.3.2.5) */
	mtu_put16(out + 2, (uint16_t)total);
	out[8] = 64;
	out[9] = MTU_PROTO_ICMP;
	memcpy(out + 12, ip + 16, 4);
	memcpy(out + 16, ip + 12, 4);
	mtu_put16(out + 10, (uint16_t)~csum_fold(csum_add(0, out, MTU_IPV4_HDR)));
	out[20] = 3; /* destination unreachable */
	out[21] = 4; /* fragmentation needed and DF set */
	mtu_put16(out + 26, (uint16_t)mtu);
	memcpy(out + 28, ip, quote);
	mtu_put16(out + 22, (uint16_t)~csum_fold(csum_add(0, out + 20, 8 + quote)));
	return (int)total;
}

/* True for an IPv6 address no error may come from: :: , ::1, ff00::/8. */
static bool mtu_ip6_bad_src(const uint8_t *a)
{
	static const uint8_t zero[15];

	if (a[0] == 0xff)
		return true;
	return memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1);
}

/* Writes the ICMPv6 "packet too big" for @ip (@len bytes, checked). */
static int mtu_icmp6(const uint8_t *ip, size_t len, unsigned mtu, uint8_t *out, size_t room)
{
	size_t off = MTU_IPV6_HDR, quote, total;
	uint8_t nh = ip[6];
	uint64_t sum;
	unsigned hops;

	if (len <= MTU_IPV6_FLOOR)
		return 0; /* fits the minimum MTU: send it on */
	if (mtu_ip6_bad_src(ip + 8) || ip[24] == 0xff)
		return 0;
	/* Walk the extension headers to the upper layer (RFC 8200 section
	 * 4): a non-first fragment or an ICMPv6 error gets no answer. */
	for (hops = 0; hops < 8; hops++) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (off + 2 > len)
				return 0;
			nh = ip[off];
			off += ((size_t)ip[off + 1] + 1) * 8;
		} else if (nh == 44) {
			if (off + 8 > len)
				return 0;
			if ((mtu_get16(ip + off + 2) & 0xfff8) != 0)
				return 0;
			nh = ip[off];
			off += 8;
		} else {
			break;
		}
	}
	if (hops == 8)
		return 0;
	if (nh == MTU_PROTO_ICMPV6 && (off >= len || ip[off] < 128))
		return 0;
	quote = len;
	if (quote > MTU_IPV6_FLOOR - MTU_IPV6_HDR - 8)
		quote = MTU_IPV6_FLOOR - MTU_IPV6_HDR - 8;
	total = MTU_IPV6_HDR + 8 + quote;
	if (room < total)
		return -ENOSPC;
	if (mtu < MTU_IPV6_FLOOR)
		mtu = MTU_IPV6_FLOOR;
	memset(out, 0, MTU_IPV6_HDR + 8);
	out[0] = 0x60;
	mtu_put16(out + 4, (uint16_t)(8 + quote));
	out[6] = MTU_PROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, ip + 24, 16);
	memcpy(out + 24, ip + 8, 16);
	out[40] = 2; /* packet too big */
	out[44] = (uint8_t)(mtu >> 24);
	out[45] = (uint8_t)(mtu >> 16);
	out[46] = (uint8_t)(mtu >> 8);
	out[47] = (uint8_t)mtu;
	memcpy(out + 48, ip, quote);
	/* Pseudo-header (RFC 8200 section 8.1): addresses, length, next header. */
	sum = csum_add(0, out + 8, 32);
	sum += (uint32_t)(8 + quote) + MTU_PROTO_ICMPV6;
	sum = csum_add(sum, out + 40, 8 + quote);
	mtu_put16(out + 42, (uint16_t)~csum_fold(sum));
	return (int)total;
}

int mtu_icmp_too_big(const uint8_t *pkt, size_t len, bool tap, unsigned mtu, uint8_t *out,
		     size_t out_size)
{
	size_t l3 = tap ? MTU_ETH_HDR : 0;
	const uint8_t *ip = pkt + l3;
	size_t iplen;
	int n;

	if (len < l3 + MTU_IPV4_HDR || out_size < l3)
		return 0;
	iplen = len - l3;
	if (tap) {
		uint16_t type = mtu_get16(pkt + 12);

		/* A group destination or source MAC (I/G bit), or a VLAN tag
		 * or another ethertype: no answer. */
		if ((pkt[0] & 1) || (pkt[6] & 1))
			return 0;
		if ((type != MTU_ETH_P_IPV4 || ip[0] >> 4 != 4) &&
		    (type != MTU_ETH_P_IPV6 || ip[0] >> 4 != 6))
			return 0;
	}
	if (ip[0] >> 4 == 4) {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

		if (ihl < MTU_IPV4_HDR || ihl > iplen)
			return 0;
		n = mtu_icmp4(ip, iplen, mtu, out + l3, out_size - l3);
	} else if (ip[0] >> 4 == 6 && iplen >= MTU_IPV6_HDR) {
		n = mtu_icmp6(ip, iplen, mtu, out + l3, out_size - l3);
	} else {
		return 0;
	}
	if (n <= 0)
		return n;
	if (tap) {
		memcpy(out, pkt + 6, 6);
		memcpy(out + 6, pkt, 6);
		memcpy(out + 12, pkt + 12, 2);
	}
	return n + (int)l3;
}

int mtu_clamp_mss(uint8_t *pkt, size_t len, bool tap, unsigned mtu, bool csum_partial)
{
	size_t l3 = tap ? MTU_ETH_HDR : 0, l4, doff, off;
	uint8_t *ip = pkt + l3, *tcp;
	unsigned max;

	if (len < l3 + MTU_IPV4_HDR)
		return 0;
	if (tap && mtu_get16(pkt + 12) != (ip[0] >> 4 == 4 ? MTU_ETH_P_IPV4 : MTU_ETH_P_IPV6))
		return 0;
	if (ip[0] >> 4 == 4) {
		l4 = l3 + (size_t)(ip[0] & 0x0f) * 4;
		/* TCP, unfragmented (no MF, offset 0). */
		if (l4 < l3 + MTU_IPV4_HDR || ip[9] != MTU_PROTO_TCP ||
		    (mtu_get16(ip + 6) & 0x3fff) != 0)
			return 0;
		if (mtu < 40 + 1)
			return 0;
		max = mtu - 40;
	} else if (ip[0] >> 4 == 6) {
		l4 = l3 + MTU_IPV6_HDR;
		if (len < l4 || ip[6] != MTU_PROTO_TCP || mtu < 60 + 1)
			return 0;
		max = mtu - 60;
	} else {
		return 0;
	}
	if (max > 0xffff)
		max = 0xffff;
	if (len < l4 + 20)
		return 0;
	tcp = pkt + l4;
	if (!(tcp[13] & 0x02))
		return 0; /* not a SYN */
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || l4 + doff > len)
		return 0;
	for (off = 20; off < doff;) {
		uint8_t kind = tcp[off];

		if (kind == 0)
			break;
		if (kind == 1) {
			off++;
			continue;
		}
		if (off + 1 >= doff || tcp[off + 1] < 2 || off + tcp[off + 1] > doff)
			return 0;
		if (kind == 2 && tcp[off + 1] == 4) {
			uint16_t old = mtu_get16(tcp + off + 2);
			uint32_t sum;

			if (old <= max)
				return 0;
			mtu_put16(tcp + off + 2, (uint16_t)max);
			if (!csum_partial) {
				/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').  A
				 * value at an odd offset straddles two 16-bit
				 * words: its bytes count swapped (RFC 1071
				 * section 2 B). */
				uint16_t m = old, m2 = (uint16_t)max;

				if ((off + 2) & 1) {
					m = (uint16_t)(m << 8 | m >> 8);
					m2 = (uint16_t)(m2 << 8 | m2 >> 8);
				}
				sum = (uint16_t)~mtu_get16(tcp + 16);
				sum += (uint16_t)~m;
				sum += m2;
				mtu_put16(tcp + 16, (uint16_t)~csum_fold(sum));
			}
			return 1;
		}
		off += tcp[off + 1];
	}
	return 0;
}
