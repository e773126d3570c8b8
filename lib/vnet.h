/* SPDX-License-Identifier: MIT */
/*
 * TUN/TAP offloads: the virtio-net header (VIRTIO 1.2, section 5.1.6
 * "Device Operation", struct virtio_net_hdr without num_buffers) that a
 * device opened with IFF_VNET_HDR puts before every packet, and what
 * userspace must do with the packets TUNSETOFFLOAD lets the kernel hand over
 * unfinished (kernel Documentation/networking/segmentation-offloads.rst and
 * checksum-offloads.rst):
 *
 *  - a TSO packet (gso_type TCPV4/TCPV6) of up to 64 KiB is one TCP
 *    segment per gso_size bytes of payload, not yet cut: vnet_gso_split()
 *    cuts it as the kernel's tcp_gso_segment() would;
 *  - a packet with VNET_F_NEEDS_CSUM carries only the pseudo-header sum in
 *    its checksum field: vnet_csum_complete() finishes it (RFC 1071).
 *
 * In the other direction vnet_gro_*() coalesces consecutive TCP segments of
 * one flow into one TSO packet for a single device write, under the rules of
 * the kernel's tcp_gro_receive() (and wireguard-go's tun/offload_linux.go).
 *
 * The header is 10 bytes, little-endian (the device is set to it with
 * TUNSETVNETLE), and it travels in that form between culvert peers too
 * (doc/PROTOCOL.md, "Offload frames").  Packets are IPv4 or IPv6 at offset 0
 * (TUN) or behind an Ethernet header with at most two VLAN tags (TAP).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Size of the header on the device and on the wire, bytes. */
#define VNET_HDR_LEN 10

/* flags */
#define VNET_F_NEEDS_CSUM 1 /* checksum from csum_start to the end missing */
#define VNET_F_DATA_VALID 2 /* checksum already verified (receive only) */
/* gso_type */
#define VNET_GSO_NONE  0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4
#define VNET_GSO_ECN   0x80 /* flag: the segments carry CWR (RFC 3168) */

/* The header in host order. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;     /* bytes of headers up to the TCP payload */
	uint16_t gso_size;    /* payload bytes per segment (the MSS) */
	uint16_t csum_start;  /* offset of the L4 header, bytes */
	uint16_t csum_offset; /* offset of the checksum field from csum_start */
};

/* Reads the VNET_HDR_LEN bytes at @p (little-endian) into @h. */
void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h);

/* Writes @h as VNET_HDR_LEN bytes at @p (little-endian). */
void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h);

/*
 * Smallest gso_size, in bytes, vnet_check_peer() lets through: Linux's
 * tcp_min_snd_mss default (Documentation/networking/ip-sysctl.rst), the MSS
 * below which it goes whatever the other end advertises only by its own TCP
 * options (a connection whose peer advertised so small an MSS: its packets
 * are cut by the sender instead, see vnet_check_peer()).
 */
#define VNET_GSO_SIZE_MIN 48

/*
 * Checks that the header @h describes the packet @pkt of @len bytes: known
 * flags and gso_type, hdr_len within @len, a TCP header where it says
 * (csum_start is the L4 offset, csum_offset 16, gso_size not 0, the IP
 * version that of gso_type, no segment too long for its IP length field)
 * when GSO is on, a checksum field inside the packet when VNET_F_NEEDS_CSUM
 * is set.  hdr_len is only a hint (the kernel stores skb_headlen() there,
 * which on the forward path may be the IP header alone or the whole first
 * segment), so it need not match the headers.  @tap: an Ethernet header
 * leads the packet.  Returns 0 or -EINVAL.  Used on the kernel's headers
 * (device reads) before vnet_gso_split(); what comes from a peer needs the
 * stricter vnet_check_peer().
 */
int vnet_check(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap);

/*
 * Checks a header @h and packet @pkt (@len bytes) that came from the peer in
 * an offload frame, before they are written to the device (tun_get_user()
 * and virtio_net_hdr_to_skb() in the kernel accept much more): only what a
 * Linux sender on a device with culvert's offloads (lib/tun.c: TUN_F_CSUM,
 * TSO4, TSO6, TSO_ECN) hands over passes.  @tap: the packet is an Ethernet
 * frame.  All offsets and lengths are bytes from the start of @pkt (the
 * Ethernet header on TAP, the IP header on TUN); multi-byte packet fields are
 * big-endian.  The rules (doc/PROTOCOL.md, "Offload frames"):
 *
 *  - flags: NEEDS_CSUM or nothing; DATA_VALID is refused (a sender must not
 *    set it, VIRTIO 1.2 section 5.1.6.2.1), as is any unknown flag;
 *  - hdr_len at most @len (it is a hint, see vnet_check()); without
 *    NEEDS_CSUM csum_start and csum_offset 0; without GSO gso_size 0;
 *  - TUN: IP version 4 or 6; TAP: an Ethernet header, at most two VLAN
 *    tags; an ethertype other than IPv4 or IPv6 passes as it is with a
 *    header of zeros only;
 *  - IPv4: IHL at least 5, the header inside the packet, total length
 *    exactly the bytes from the IP header to the end (RFC 791 section 3.1);
 *    IPv6: payload length exactly those bytes less 40 (RFC 8200 section 3);
 *    a TAP frame without NEEDS_CSUM or GSO of at most 60 bytes plus its VLAN
 *    tags may be longer than its IP packet (Ethernet padding);
 *  - NEEDS_CSUM: csum_start exactly at the L4 header (behind IPv4 options,
 *    or IPv6 hop-by-hop and destination options; never in a fragment), which
 *    is TCP with csum_offset 16 and its whole header inside the packet, or,
 *    without GSO, UDP with csum_offset 6 and a length field exactly the rest
 *    of the packet; the field holds the pseudo-header sum the receiver's
 *    kernel finishes (RFC 1071), as checksum-offloads.rst describes;
 *  - GSO: gso_type TCPV4 for IPv4 or TCPV6 for IPv6, VNET_GSO_ECN allowed,
 *    nothing else (no UDP); NEEDS_CSUM set; no SYN or RST in the TCP
 *    header; at least one byte of payload; gso_size neither 0xffff
 *    (GSO_BY_FRAGS) nor below VNET_GSO_SIZE_MIN nor below the header bytes
 *    each segment repeats (csum_start plus the TCP header): with n =
 *    ceil(P / gso_size) segments of a P-byte payload behind H header bytes,
 *    n * H + P < (P / gso_size + 1) * H + P <= 2P + H, so the kernel's
 *    segments add up to less than twice the packet
 *    (segmentation-offloads.rst), and at most 65535 / 48 = 1366 of them.
 *
 * Returns 0, or -EINVAL when any rule is broken (the caller drops the frame
 * and counts it as bad_offload).  Reads no byte outside @pkt[0..@len).  A
 * sender calls it on what it means to send whole, and cuts (or finishes the
 * checksum of) what would fail, so nothing genuine is lost.
 */
int vnet_check_peer(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap);

/*
 * Finishes the partial checksum of the packet @pkt (@len bytes) in place:
 * the one's-complement sum (RFC 1071) of bytes csum_start..@len, which the
 * field at csum_start + csum_offset seeds with the pseudo-header sum, is
 * stored there complemented.  Does nothing unless VNET_F_NEEDS_CSUM is set.
 * Returns 0, or -EINVAL when the field lies outside the packet.
 */
int vnet_csum_complete(const struct vnet_hdr *h, uint8_t *pkt, size_t len);

/*
 * Number of segments vnet_gso_split() makes of a @len-byte packet under @h:
 * 1 when it is not a GSO packet.  Exact when hdr_len is the length of the
 * headers (csum_start plus the TCP header), as vnet_gro_flush() writes it
 * and as the kernel does for TCP sent from this host; when hdr_len cannot be
 * that (below csum_start + 20 or above csum_start + 60: the kernel's hint
 * on the forward path) the count assumes a TCP header without options and
 * may be one too many.  Callers that read hdr_len from the kernel should
 * set it to csum_start + the TCP data offset after vnet_check().
 */
unsigned vnet_gso_segments(const struct vnet_hdr *h, size_t len);

/*
 * Cuts the TSO packet @pkt (@len bytes; @h passed vnet_check()) into
 * complete packets, as many as the payload needs: each gets a copy of the
 * headers (csum_start plus the TCP header's data offset, not hdr_len, which
 * is only a hint) and up to gso_size bytes of payload, with the IPv4 total
 * length, identification (incremented per segment) and header checksum, or
 * the IPv6 payload length, and the TCP sequence number, flags (CWR on the
 * first segment only, FIN and PSH on the last only) and checksum made right.
 * A packet that is not GSO is copied whole, its checksum finished.
 *
 * Segment i is written at @out + i * @stride, @stride being at least the
 * headers' length plus gso_size (csum_start + 60 + gso_size always is
 * enough; @len for a packet that is not GSO), and its length stored in
 * @seg_len[i]; every segment but the last is exactly headers + gso_size
 * bytes long.  Writes at most @max_segs segments.  Returns the number written, or -EINVAL (a bad
 * packet, or a segment longer than 65535 bytes), -ENOSPC (more than @max_segs segments, or @stride
 * too small): nothing is written then.  @out must not overlap
 * @pkt.
 */
int vnet_gso_split(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap, uint8_t *out,
		   size_t stride, unsigned max_segs, uint16_t *seg_len);

/*
 * Coalesces a stream of received packets into as few device writes as
 * possible.  Packets are offered one at a time; a TCP segment that carries
 * on the held TSO packet (same flow, next sequence number, same
 * acknowledgement, window, options and IP header fields, payload no larger
 * than the first segment's, the held packet not yet ended by a short
 * segment or PSH) is appended to it; anything else first flushes what is
 * held.  The held packet never exceeds @cap bytes (at most 65535 + 40).
 */
struct vnet_gro {
	uint8_t *buf;      /* VNET_HDR_LEN + cap bytes: header, then packet */
	size_t cap;        /* largest packet held, bytes */
	size_t len;        /* bytes of the held packet; 0 when none */
	bool tap;          /* packets begin with an Ethernet header */
	size_t l3, l4;     /* offsets of the IP and TCP headers in the packet */
	size_t hdr_len;    /* bytes of headers (up to the TCP payload) */
	uint16_t gso_size; /* payload bytes of the first segment */
	uint16_t segs;     /* segments held */
	uint32_t next_seq; /* the sequence number the next segment must have */
	bool closed;       /* a short segment or PSH ended the held packet */
};

/*
 * Allocates the coalescing buffer for packets of up to @cap bytes (at least
 * 1, at most 65535 + 40 + 22: an Ethernet header with two VLAN tags is 22
 * bytes).  Returns 0, -EINVAL for a bad @cap, or -ENOMEM.
 */
int vnet_gro_init(struct vnet_gro *g, size_t cap, bool tap);

/* Frees the buffer.  Safe to call twice. */
void vnet_gro_free(struct vnet_gro *g);

/*
 * The flush callback: one device write of the VNET_HDR_LEN bytes at @hdr
 * followed by the packet @pkt of @len bytes.  A packet of one segment
 * carries a header of zeros (no GSO, its checksum complete); a coalesced
 * one carries gso_type TCPV4 or TCPV6 (with VNET_GSO_ECN if its first
 * segment had CWR), VNET_F_NEEDS_CSUM, csum_start at the TCP header,
 * csum_offset 16, and the pseudo-header sum in its TCP checksum field; its
 * IPv4 header (total length, checksum) or IPv6 payload length is right for
 * the whole packet.
 */
typedef void (*vnet_gro_flush_fn)(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len);

/*
 * Offers the complete packet @pkt (@len bytes, checksums complete, from the
 * peer) to the coalescer.  It is appended to the held packet, held as the
 * start of a new one, or, when it cannot be coalesced at all (not TCP, IP
 * options, fragments, a SYN, RST, URG...), written through @flush after
 * what is held.  Packets leave in the order they came.  Never fails: a
 * packet it cannot parse is passed through as it is.
 */
void vnet_gro_add(struct vnet_gro *g, const uint8_t *pkt, size_t len, vnet_gro_flush_fn flush,
		  void *ctx);

/* Writes the held packet, if any, through @flush (end of a batch). */
void vnet_gro_flush(struct vnet_gro *g, vnet_gro_flush_fn flush, void *ctx);
