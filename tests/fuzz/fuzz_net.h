/* SPDX-License-Identifier: MIT */
/*
 * Packet helpers for the vnet and GRO fuzz targets, written here from the
 * RFCs rather than taken from lib/vnet.c, so that the targets check the
 * library against something independent: RFC 1071 checksums two bytes at a
 * time, a header walker (Ethernet with up to two VLAN tags, IPv4, IPv6
 * without extension headers, TCP) and a builder of TCP segments with
 * addresses from 198.18.0.0/15 and 2001:db8::/32.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint16_t net_get16(const uint8_t *p);
uint32_t net_get32(const uint8_t *p);
void net_put16(uint8_t *p, uint16_t v);
void net_put32(uint8_t *p, uint32_t v);

/* Adds @n bytes at @p to @sum as big-endian 16-bit words (RFC 1071). */
uint64_t net_sum(uint64_t sum, const uint8_t *p, size_t n);
/* Folds @sum to 16 bits. */
uint16_t net_fold(uint64_t sum);

/* Where the headers of a TCP packet are. */
struct net_tcp {
	size_t l3, l4, hlen; /* IP header, TCP header, payload */
	bool v6;
};

/*
 * Finds the IP and TCP headers of @pkt (@len bytes; @tap: an Ethernet
 * header leads).  True for IPv4 (any IHL) or IPv6 (TCP as next header)
 * carrying a whole TCP header; the IP length fields are not checked.
 */
bool net_parse_tcp(const uint8_t *pkt, size_t len, bool tap, struct net_tcp *t);

/* Recomputes the IPv4 header checksum and the TCP checksum of the packet
 * @t describes, the TCP one over @len - t->l4 bytes. */
void net_fix_csums(uint8_t *pkt, size_t len, const struct net_tcp *t);

/* Whether the IPv4 header checksum (when IPv4) and the TCP checksum verify. */
bool net_csums_ok(const uint8_t *pkt, size_t len, const struct net_tcp *t);

/* A TCP segment to build. */
struct net_seg {
	bool tap, v6;
	int vlans;      /* 0..2 tags (TAP only) */
	size_t optlen;  /* TCP option bytes, a multiple of 4, at most 40 */
	size_t payload; /* bytes */
	uint32_t seq;
	uint8_t flags; /* TCP flags; ACK is 0x10 */
	uint16_t id;   /* IPv4 identification */
	bool df;
	uint8_t seed; /* payload byte i is seed + i */
};

/* Writes the segment @s into @buf (room for 22 + 40 + 60 + payload bytes)
 * with correct lengths and checksums; returns its length. */
size_t net_build(uint8_t *buf, const struct net_seg *s);
