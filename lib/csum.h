/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (RFC 1071): the one's-complement sum of big-endian
 * 16-bit words that IPv4, ICMP, ICMPv6, TCP and UDP headers carry, shared
 * by the offload code (lib/vnet.c) and the ICMP and MSS code (lib/mtu.c).
 * Inline: it runs once per segment on the data path.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Adds the @n bytes at @p to the running one's-complement sum @sum, as
 * big-endian 16-bit words, an odd last byte padded with a zero (RFC 1071
 * section 4.1).  Adding a 32-bit word at once is the same modulo 0xffff, as
 * 2^16 = 1 there; @p must start at an even offset of the summed data.  The
 * 64-bit sum cannot overflow below 2^47 bytes.  Returns the new sum, to be
 * folded by csum_fold().
 */
static inline uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 4; p += 4, n -= 4)
		sum += (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Folds a running sum to 16 bits (not complemented: the checksum field
 * holds ~csum_fold(), RFC 1071 section 4.1). */
static inline uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
