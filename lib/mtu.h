/* SPDX-License-Identifier: MIT */
/*
 * MTU arithmetic and the packets a tunnel sends because of it (doc/design.md
 * section 10):
 *
 *  - mtu_overhead(): the bytes the underlay adds to one device packet, for
 *    every transport and mode, so the default device MTU is the route's MTU
 *    less exactly that (WireGuard's 1420 = 1500 - 80 rule, made exact);
 *  - mtu_icmp_too_big(): the ICMP "fragmentation needed" (RFC 792, RFC 1191)
 *    or ICMPv6 "packet too big" (RFC 4443 section 3.2, RFC 8201) a router
 *    sends back for a packet that does not fit the next hop, written as a
 *    packet for the device, under the rules of RFC 1812 section 4.3.2.7;
 *  - mtu_clamp_mss(): tinc's ClampMSS, the MSS option of a TCP SYN lowered
 *    to fit the tunnel, the checksum updated incrementally (RFC 1624).
 *
 * Packets are IP packets (TUN) or Ethernet frames without FCS (TAP), their
 * fields big-endian.  Nothing here allocates, prints or reads outside the
 * buffers given.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header sizes, bytes: IPv4 without options (RFC 791), IPv6 (RFC 8200),
 * UDP (RFC 768), TCP with the timestamp option Linux sends on every segment
 * (20 + 10, padded to 32; RFC 9293, RFC 7323), Ethernet without VLAN tag. */
#define MTU_IPV4_HDR 20
#define MTU_IPV6_HDR 40
#define MTU_UDP_HDR  8
#define MTU_TCP_HDR  32
#define MTU_ETH_HDR  14

/* The smallest MTU an IPv4 host must accept in one piece (RFC 791: 576
 * bytes) and the IPv6 minimum link MTU (RFC 8200 section 5): the inner
 * limit never goes below them. */
#define MTU_IPV4_FLOOR 576
#define MTU_IPV6_FLOOR 1280

/* Path MTU assumed when no route says better (Ethernet). */
#define MTU_PATH_FALLBACK 1500

/* The largest packet mtu_icmp_too_big() writes, bytes: an ICMPv6 message
 * fills at most the IPv6 minimum MTU, behind an Ethernet header on TAP. */
#define MTU_ICMP_MAX (MTU_IPV6_FLOOR + MTU_ETH_HDR)

/*
 * Bytes one packet from the device costs on the underlay beyond its own
 * length: the outer IP header (@family AF_INET: 20, AF_INET6: 40), UDP 8 or
 * TCP MTU_TCP_HDR (@udp), culvert's 2-byte length prefix (not on sealed UDP,
 * where the datagram is the message: doc/PROTOCOL.md), in @sealed mode the
 * transport message header and AEAD tag (SESSION_TRANSPORT_OVERHEAD, 32; no
 * padding, lib/session.c), and on TAP (@tap) the 14-byte Ethernet header the
 * device MTU does not count.  Returns 0 for an unknown @family.
 */
unsigned mtu_overhead(int family, bool udp, bool sealed, bool tap);

/*
 * Tells whether a router would answer the too-long packet @pkt (@len bytes;
 * Ethernet frame when @tap) with an ICMP "too big" message, and if so writes
 * that message to @out (@out_size bytes, MTU_ICMP_MAX always enough): on
 * TUN a bare IP packet, on TAP an Ethernet frame with the MAC addresses
 * swapped.  Its source is the packet's destination (the address that could
 * not be reached in one piece: culvert has no address of its own inside the
 * tunnel), its destination the packet's source, TTL/hop limit 64.
 *
 *  - IPv4 (RFC 792, RFC 1191, RFC 1812 section 4.3.2.3): type 3 code 4 with
 *    the next-hop MTU @mtu (at least MTU_IPV4_FLOOR), only for a packet with
 *    DF set; quoting its header and as much of the rest as keeps the message
 *    within 576 bytes; the IP and ICMP checksums computed (RFC 1071).
 *  - IPv6 (RFC 4443 section 3.2, RFC 8201): type 2 code 0 with the MTU
 *    max(@mtu, 1280), only for a packet longer than 1280 bytes (a shorter one
 *    fits any IPv6 link: the caller sends it on and lets the underlay
 *    fragment); quoting as much as fits in 1280 bytes; the checksum over the
 *    pseudo-header.
 *
 * None is due (RFC 1812 section 4.3.2.7, RFC 4443 section 2.4 e) for a
 * packet that is itself an ICMP or ICMPv6 error (or too short to tell), a
 * fragment other than the first, from an unspecified, loopback, multicast or
 * broadcast source, to a multicast or broadcast destination (IPv4 224/4 and
 * above, IPv6 ff00::/8, a group MAC address on TAP), a VLAN-tagged frame, or
 * anything that is not a well-formed IPv4/IPv6 header.
 *
 * Returns the length written (> 0), 0 when no message is due (nothing
 * written), or -ENOSPC when @out_size is too small.
 */
int mtu_icmp_too_big(const uint8_t *pkt, size_t len, bool tap, unsigned mtu, uint8_t *out,
		     size_t out_size);

/*
 * Lowers the MSS option (RFC 9293 section 3.7.1) of a TCP SYN (or SYN-ACK)
 * in @pkt (@len bytes, an Ethernet frame when @tap; changed in place) to at
 * most @mtu - 40 (IPv4) or @mtu - 60 (IPv6), @mtu being the inner MTU in
 * bytes (IP packet, no Ethernet header), and updates the TCP checksum
 * incrementally (RFC 1624 eqn. 3) unless @csum_partial: then the field holds
 * only the pseudo-header sum (a virtio-net header with VNET_F_NEEDS_CSUM,
 * lib/vnet.h), which the MSS is no part of.  Only unfragmented TCP directly
 * behind the IP header (IPv4 with or without options; IPv6 without extension
 * headers), no VLAN tag, options walked within the TCP header and the packet.
 * Returns 1 when the option was lowered, 0 when the packet was left alone.
 */
int mtu_clamp_mss(uint8_t *pkt, size_t len, bool tap, unsigned mtu, bool csum_partial);
