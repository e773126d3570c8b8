/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "vnet.h"

/* TCP flags (RFC 9293 section 3.1, RFC 3168 section 6.1). */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Offset of the checksum in the TCP and the UDP header. */
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define UDP_HLEN     8

#define ETH_HLEN      14
#define ETH_ZLEN      60 /* shortest frame: minFrameSize (IEEE 802.3) less the FCS */
#define VLAN_HLEN     4
#define ETH_P_IP      0x0800
#define ETH_P_IPV6    0x86dd
#define ETH_P_8021Q   0x8100
#define ETH_P_8021AD  0x88a8
#define IP6_HLEN      40
#define IP4_DF        0x4000
#define IP6_NH_HOPOPT 0
#define IP6_NH_DSTOPT 60

/* Largest packet the coalescer can hold: an IPv6 header with a full 16-bit
 * payload behind an Ethernet header with two VLAN tags. */
#define VNET_GRO_MAX_CAP (65535 + IP6_HLEN + ETH_HLEN + 2 * VLAN_HLEN)

/* Where the headers of a TCP packet are, found by vnet_gso_parse() and
 * vnet_gro_parse(). */
struct vnet_tcp {
	size_t l3;   /* IP header */
	size_t l4;   /* TCP header */
	size_t hlen; /* TCP payload: the length of all headers */
	bool v6;
};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * Stores the checksum for the sum @sum at @p.  A result of 0 is sent as
 * 0xffff, its other one's-complement form, as the kernel's
 * skb_checksum_help() does: UDP reserves 0 for "no checksum".
 */
static void csum_store(uint8_t *p, uint64_t sum)
{
	uint16_t c = (uint16_t)~csum_fold(sum);

	put16(p, c ? c : 0xffff);
}

/* Sum of the TCP pseudo-header (RFC 9293 section 3.1; RFC 8200 section 8.1)
 * for @tcp_len bytes of TCP behind the IP header @ip. */
static uint64_t pseudo_sum(const uint8_t *ip, bool v6, size_t tcp_len)
{
	uint64_t sum = v6 ? csum_add(0, ip + 8, 32) : csum_add(0, ip + 12, 8);

	return sum + IPPROTO_TCP + tcp_len;
}

/* Stores the header checksum of the IPv4 header @ip of @ihl bytes. */
static void ip4_csum_set(uint8_t *ip, size_t ihl)
{
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, ihl)));
}

void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = get16le(p + 2);
	h->gso_size = get16le(p + 4);
	h->csum_start = get16le(p + 6);
	h->csum_offset = get16le(p + 8);
}

void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	put16le(p + 2, h->hdr_len);
	put16le(p + 4, h->gso_size);
	put16le(p + 6, h->csum_start);
	put16le(p + 8, h->csum_offset);
}

/*
 * Reads the ethertype of the Ethernet frame @pkt (@len bytes), looking behind
 * at most two 802.1Q/802.1ad tags (IEEE 802.1Q clause 9).  Stores it in
 * *@type and the offset of what follows in *@off; returns 0, or -EINVAL when
 * the frame is shorter than its Ethernet header and tags.
 */
static int vnet_ethertype(const uint8_t *pkt, size_t len, size_t *off, uint16_t *type)
{
	size_t o = ETH_HLEN;
	uint16_t t;

	if (len < ETH_HLEN)
		return -EINVAL;
	t = get16(pkt + 12);
	for (int tags = 0; tags < 2 && (t == ETH_P_8021Q || t == ETH_P_8021AD); tags++) {
		if (len - o < VLAN_HLEN)
			return -EINVAL;
		t = get16(pkt + o + 2);
		o += VLAN_HLEN;
	}
	*off = o;
	*type = t;
	return 0;
}

/*
 * Finds the IP header of @pkt: at offset 0 (TUN), or behind an Ethernet
 * header and at most two 802.1Q/802.1ad tags (TAP).  Stores its offset in
 * *@l3 and whether it is IPv6 in *@v6; returns 0, or -EINVAL when the packet
 * is neither IPv4 nor IPv6.
 */
static int vnet_l3(const uint8_t *pkt, size_t len, bool tap, size_t *l3, bool *v6)
{
	size_t off = 0;
	unsigned version;

	if (tap) {
		uint16_t type;

		if (vnet_ethertype(pkt, len, &off, &type) < 0)
			return -EINVAL;
		if (type != ETH_P_IP && type != ETH_P_IPV6)
			return -EINVAL;
		*v6 = type == ETH_P_IPV6;
	}
	if (len <= off)
		return -EINVAL;
	version = pkt[off] >> 4;
	if (version != 4 && version != 6)
		return -EINVAL;
	if (tap && (version == 6) != *v6)
		return -EINVAL;
	*v6 = version == 6;
	*l3 = off;
	return 0;
}

/*
 * Finds the upper-layer header behind the IPv6 header at @l3, skipping
 * hop-by-hop and destination options (which leave the pseudo-header as it
 * is; a routing header would not, so it ends the walk like any other).
 * Returns 0 with its offset in *@l4 and its protocol in *@proto, or -EINVAL
 * when the headers run past the packet.
 */
static int vnet_ip6_l4(const uint8_t *pkt, size_t len, size_t l3, size_t *l4, uint8_t *proto)
{
	size_t off = l3 + IP6_HLEN;
	uint8_t nh;

	if (len < off)
		return -EINVAL;
	nh = pkt[l3 + 6];
	for (int i = 0; i < 4 && (nh == IP6_NH_HOPOPT || nh == IP6_NH_DSTOPT); i++) {
		size_t ext;

		if (len - off < 8)
			return -EINVAL;
		ext = ((size_t)pkt[off + 1] + 1) * 8;
		if (len - off < ext)
			return -EINVAL;
		nh = pkt[off];
		off += ext;
	}
	*l4 = off;
	*proto = nh;
	return 0;
}

/*
 * Checks the headers of the TSO packet @pkt against @h and finds them.  The
 * header length comes from the TCP header, not from hdr_len: the kernel
 * stores skb_headlen() there (virtio_net_hdr_from_skb(), a hint "as to how
 * much should be linear"), which on the forward path can be the whole first
 * segment or only the IP header.
 */
static int vnet_gso_parse(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap,
			  struct vnet_tcp *t)
{
	unsigned type = h->gso_type & ~VNET_GSO_ECN;
	size_t doff, payload, seg;

	if (type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6)
		return -EINVAL;
	if (vnet_l3(pkt, len, tap, &t->l3, &t->v6) < 0)
		return -EINVAL;
	if (type != (t->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4))
		return -EINVAL;
	if (t->v6) {
		uint8_t proto;

		if (vnet_ip6_l4(pkt, len, t->l3, &t->l4, &proto) < 0 || proto != IPPROTO_TCP)
			return -EINVAL;
	} else {
		const uint8_t *ip = pkt + t->l3;

		/* Fragments are not segmented; MF or an offset is bad. */
		if (len - t->l3 < 20 || (ip[0] & 0x0f) < 5 || ip[9] != IPPROTO_TCP ||
		    (get16(ip + 6) & 0x3fff))
			return -EINVAL;
		t->l4 = t->l3 + (size_t)(ip[0] & 0x0f) * 4;
	}
	if (h->csum_start != t->l4 || h->csum_offset != TCP_CSUM_OFF || h->gso_size == 0)
		return -EINVAL;
	if (len < t->l4 + 20)
		return -EINVAL;
	doff = (size_t)(pkt[t->l4 + 12] >> 4) * 4;
	if (doff < 20 || len - t->l4 < doff)
		return -EINVAL;
	t->hlen = t->l4 + doff;
	/* The largest segment's IP length must fit its 16-bit field. */
	payload = len - t->hlen;
	seg = t->hlen + (payload < h->gso_size ? payload : h->gso_size);
	if (seg - t->l3 - (t->v6 ? IP6_HLEN : 0) > 0xffff)
		return -EINVAL;
	return 0;
}

int vnet_check(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap)
{
	struct vnet_tcp t;

	if (h->flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))
		return -EINVAL;
	/* The kernel refuses these too (tun_get_user()). */
	if (h->hdr_len > len)
		return -EINVAL;
	if ((h->flags & VNET_F_NEEDS_CSUM) && (size_t)h->csum_start + h->csum_offset + 2 > len)
		return -EINVAL;
	if (h->gso_type == VNET_GSO_NONE)
		return 0;
	return vnet_gso_parse(h, pkt, len, tap, &t);
}

/*
 * Checks the IP header at @l3 of the frame @pkt (@len bytes) for
 * vnet_check_peer(): version @v6 ? 6 : 4; IPv4 with an IHL of at least 5
 * and the header inside the frame; the IPv4 total length or the IPv6 payload
 * length (plus 40) exactly the @len - @l3 bytes that follow, or, with @pad
 * (a TAP frame of at most ETH_ZLEN bytes plus its tags), shorter: Ethernet
 * padding.  Returns 0 or -EINVAL.
 */
static int vnet_peer_ip(const uint8_t *pkt, size_t len, size_t l3, bool v6, bool pad)
{
	const uint8_t *ip = pkt + l3;
	size_t rest = len - l3, hl, iplen;

	if (v6) {
		if (rest < IP6_HLEN || (ip[0] >> 4) != 6)
			return -EINVAL;
		hl = IP6_HLEN;
		iplen = IP6_HLEN + (size_t)get16(ip + 4);
	} else {
		if (rest < 20 || (ip[0] >> 4) != 4)
			return -EINVAL;
		hl = (size_t)(ip[0] & 0x0f) * 4;
		iplen = get16(ip + 2);
		if (hl < 20 || hl > rest || iplen < hl)
			return -EINVAL;
	}
	if (iplen == rest)
		return 0;
	return pad && iplen < rest && len <= ETH_ZLEN + (l3 - ETH_HLEN) ? 0 : -EINVAL;
}

/*
 * Checks the L4 header that the checksum of a VNET_F_NEEDS_CSUM packet from
 * the peer starts at: found behind the IP header at @l3 (IPv4: not a
 * fragment; IPv6: behind hop-by-hop and destination options), TCP with
 * csum_offset 16 and its header (data offset 5 to 15 words) inside the
 * packet, or UDP with csum_offset 6 and its length field exactly the rest of
 * the packet (the caller refuses it with GSO); csum_start exactly there.
 * Stores the protocol in *@proto and the L4 offset in *@l4.  Returns 0 or
 * -EINVAL.
 */
static int vnet_peer_l4(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, size_t l3,
			bool v6, uint8_t *proto, size_t *l4)
{
	const uint8_t *ip = pkt + l3;
	size_t rest, doff;

	if (v6) {
		if (vnet_ip6_l4(pkt, len, l3, l4, proto) < 0)
			return -EINVAL;
	} else {
		/* A fragment: MF or an offset.  Its checksum covers the
		 * whole datagram, not this piece. */
		if (get16(ip + 6) & 0x3fff)
			return -EINVAL;
		*proto = ip[9];
		*l4 = l3 + (size_t)(ip[0] & 0x0f) * 4;
	}
	if (h->csum_start != *l4 || *l4 > len)
		return -EINVAL;
	rest = len - *l4;
	if (*proto == IPPROTO_TCP) {
		if (h->csum_offset != TCP_CSUM_OFF || rest < 20)
			return -EINVAL;
		doff = (size_t)(pkt[*l4 + 12] >> 4) * 4;
		return doff >= 20 && doff <= rest ? 0 : -EINVAL;
	}
	if (*proto == IPPROTO_UDP) {
		if (h->csum_offset != UDP_CSUM_OFF || rest < UDP_HLEN)
			return -EINVAL;
		return get16(pkt + *l4 + 4) == rest ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int vnet_check_peer(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap)
{
	unsigned type = h->gso_type & ~VNET_GSO_ECN;
	bool gso = h->gso_type != VNET_GSO_NONE;
	bool csum = h->flags & VNET_F_NEEDS_CSUM;
	size_t l3 = 0, l4, hlen, payload;
	uint16_t ethertype = 0;
	uint8_t proto;
	bool v6;

	/* Only NEEDS_CSUM: a sender must not set DATA_VALID (VIRTIO 1.2
	 * section 5.1.6.2.1), a checksum only a receiver can vouch for;
	 * the rest are unknown. */
	if (h->flags & ~VNET_F_NEEDS_CSUM)
		return -EINVAL;
	if (h->hdr_len > len)
		return -EINVAL;
	/* The fields an unused feature leaves zero
	 * (virtio_net_hdr_from_skb() memsets the header). */
	if (!csum && (h->csum_start || h->csum_offset))
		return -EINVAL;
	if (!gso && h->gso_size)
		return -EINVAL;
	/* Every TSO packet is CHECKSUM_PARTIAL: the kernel hands none over
	 * without NEEDS_CSUM. */
	if (gso && (!csum || (type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6)))
		return -EINVAL;
	if (tap) {
		if (vnet_ethertype(pkt, len, &l3, &ethertype) < 0)
			return -EINVAL;
		/* ARP and the rest go untouched, but nothing may be asked
		 * of the kernel for them. */
		if (ethertype != ETH_P_IP && ethertype != ETH_P_IPV6)
			return gso || csum ? -EINVAL : 0;
		v6 = ethertype == ETH_P_IPV6;
	} else {
		/* vnet_peer_ip() refuses any other version, as
		 * tun_get_user() does. */
		if (len == 0)
			return -EINVAL;
		v6 = (pkt[0] >> 4) == 6;
	}
	if (vnet_peer_ip(pkt, len, l3, v6, tap && !gso && !csum) < 0)
		return -EINVAL;
	if (!csum)
		return 0;
	if (vnet_peer_l4(h, pkt, len, l3, v6, &proto, &l4) < 0)
		return -EINVAL;
	if (!gso)
		return 0;
	if (proto != IPPROTO_TCP || type != (v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4))
		return -EINVAL;
	/* TCP never sends a SYN or an RST as several segments. */
	if (pkt[l4 + 13] & (TCP_SYN | TCP_RST))
		return -EINVAL;
	hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
	payload = len - hlen;
	/* Nothing to cut; 0xffff is GSO_BY_FRAGS, which
	 * virtio_net_hdr_to_skb() refuses. */
	if (payload == 0 || h->gso_size == 0xffff)
		return -EINVAL;
	/* Each segment repeats the hlen header bytes: with gso_size at least
	 * that, the segments add up to less than twice the packet. */
	if (h->gso_size < VNET_GSO_SIZE_MIN || h->gso_size < hlen)
		return -EINVAL;
	return 0;
}

int vnet_csum_complete(const struct vnet_hdr *h, uint8_t *pkt, size_t len)
{
	size_t at = (size_t)h->csum_start + h->csum_offset;

	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return 0;
	if (at + 2 > len)
		return -EINVAL;
	csum_store(pkt + at, csum_add(0, pkt + h->csum_start, len - h->csum_start));
	return 0;
}

unsigned vnet_gso_segments(const struct vnet_hdr *h, size_t len)
{
	/* hdr_len is only a hint: trusted when it can be the headers (csum_start
	 * plus a TCP header of 20 to 60 bytes), otherwise the shortest TCP
	 * header is assumed, which leaves the most payload. */
	size_t hdrs = (size_t)h->csum_start + 20;
	size_t n;

	if (h->hdr_len > hdrs && h->hdr_len <= hdrs + 40)
		hdrs = h->hdr_len;
	if (h->gso_type == VNET_GSO_NONE || h->gso_size == 0 || len <= hdrs)
		return 1;
	n = (len - hdrs + h->gso_size - 1) / h->gso_size;
	return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

int vnet_gso_split(const struct vnet_hdr *h, const uint8_t *pkt, size_t len, bool tap, uint8_t *out,
		   size_t stride, unsigned max_segs, uint16_t *seg_len)
{
	struct vnet_tcp t;
	size_t payload, mss = h->gso_size, first, nseg;
	uint32_t seq;
	uint16_t id;
	uint8_t flags;
	int rc;

	rc = vnet_check(h, pkt, len, tap);
	if (rc < 0)
		return rc;
	if (h->gso_type == VNET_GSO_NONE) {
		if (len > 0xffff)
			return -EINVAL;
		if (max_segs < 1 || stride < len)
			return -ENOSPC;
		memcpy(out, pkt, len);
		vnet_csum_complete(h, out, len);
		seg_len[0] = (uint16_t)len;
		return 1;
	}
	vnet_gso_parse(h, pkt, len, tap, &t);
	payload = len - t.hlen;
	first = payload < mss ? payload : mss;
	nseg = payload ? (payload + mss - 1) / mss : 1;
	if (t.hlen + first > 0xffff)
		return -EINVAL;
	if (nseg > max_segs || nseg > INT_MAX || stride < t.hlen + first)
		return -ENOSPC;

	seq = get32(pkt + t.l4 + 4);
	flags = pkt[t.l4 + 13];
	id = get16(pkt + t.l3 + 4);
	/* As tcp_gso_segment() and inet_gso_segment() do: CWR on the first
	 * segment only, FIN and PSH on the last only, the IPv4 ID counting up
	 * from the packet's. */
	for (size_t i = 0; i < nseg; i++) {
		uint8_t *s = out + i * stride;
		uint8_t *ip = s + t.l3, *th = s + t.l4;
		size_t off = i * mss;
		size_t n = payload - off < mss ? payload - off : mss;
		size_t slen = t.hlen + n;
		uint8_t f = flags;

		memcpy(s, pkt, t.hlen);
		memcpy(s + t.hlen, pkt + t.hlen + off, n);
		if (t.v6) {
			put16(ip + 4, (uint16_t)(slen - t.l3 - IP6_HLEN));
		} else {
			put16(ip + 2, (uint16_t)(slen - t.l3));
			put16(ip + 4, (uint16_t)(id + i));
			ip4_csum_set(ip, t.l4 - t.l3);
		}
		if (i > 0)
			f &= (uint8_t)~TCP_CWR;
		if (i + 1 < nseg)
			f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		put32(th + 4, seq + (uint32_t)off);
		th[13] = f;
		put16(th + TCP_CSUM_OFF, 0);
		csum_store(th + TCP_CSUM_OFF,
			   pseudo_sum(ip, t.v6, slen - t.l4) + csum_add(0, th, slen - t.l4));
		seg_len[i] = (uint16_t)slen;
	}
	return (int)nseg;
}

int vnet_gro_init(struct vnet_gro *g, size_t cap, bool tap)
{
	memset(g, 0, sizeof(*g));
	if (cap == 0 || cap > VNET_GRO_MAX_CAP)
		return -EINVAL;
	g->buf = malloc(VNET_HDR_LEN + cap);
	if (!g->buf)
		return -ENOMEM;
	g->cap = cap;
	g->tap = tap;
	return 0;
}

void vnet_gro_free(struct vnet_gro *g)
{
	free(g->buf);
	memset(g, 0, sizeof(*g));
}

/*
 * Whether @pkt is a TCP segment the coalescer may take, and where its
 * headers are: IPv4 without options or fragmentation, or IPv6 with TCP as
 * the next header; IP length exactly the packet's (no Ethernet padding);
 * payload; ACK with at most PSH, CWR and ECE besides (tcp_gro_receive()
 * flushes on SYN, FIN, RST and URG); and valid IPv4 and TCP checksums, as
 * the kernel's GRO demands too: the coalesced packet gets a fresh checksum,
 * which must not cover a corrupt segment.
 */
static bool vnet_gro_parse(const uint8_t *pkt, size_t len, bool tap, struct vnet_tcp *t)
{
	const uint8_t *ip, *th;
	size_t doff;
	uint8_t flags;

	if (vnet_l3(pkt, len, tap, &t->l3, &t->v6) < 0)
		return false;
	ip = pkt + t->l3;
	if (t->v6) {
		if (len - t->l3 < IP6_HLEN || ip[6] != IPPROTO_TCP ||
		    get16(ip + 4) != len - t->l3 - IP6_HLEN)
			return false;
		t->l4 = t->l3 + IP6_HLEN;
	} else {
		if (len - t->l3 < 20 || ip[0] != 0x45 || ip[9] != IPPROTO_TCP ||
		    get16(ip + 2) != len - t->l3 || (get16(ip + 6) & ~IP4_DF) ||
		    csum_fold(csum_add(0, ip, 20)) != 0xffff)
			return false;
		t->l4 = t->l3 + 20;
	}
	if (len - t->l4 < 20)
		return false;
	th = pkt + t->l4;
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || len - t->l4 <= doff)
		return false;
	t->hlen = t->l4 + doff;
	flags = th[13];
	if (!(flags & TCP_ACK) || (flags & ~(TCP_ACK | TCP_PSH | TCP_CWR | TCP_ECE)))
		return false;
	return csum_fold(pseudo_sum(ip, t->v6, len - t->l4) + csum_add(0, th, len - t->l4)) ==
	       0xffff;
}

/*
 * Whether the segment @pkt of @len bytes (@t from vnet_gro_parse()) carries
 * on the held packet, under the rules of tcp_gro_receive() and
 * inet_gro_receive() / ipv6_gro_receive(): the same link header, addresses,
 * ports and IP header fields; the next sequence number; the same ACK number,
 * flags but for PSH (and CWR, allowed on the first segment only), window and
 * option bytes; no more payload than the first segment; and room left.
 */
static bool vnet_gro_can_append(const struct vnet_gro *g, const uint8_t *pkt, size_t len,
				const struct vnet_tcp *t)
{
	const uint8_t *held = g->buf + VNET_HDR_LEN;
	const uint8_t *hip = held + g->l3, *ip = pkt + t->l3;
	const uint8_t *hth = held + g->l4, *th = pkt + t->l4;
	size_t payload = len - t->hlen, iplen;

	if (g->closed || g->segs == 0xffff || t->l3 != g->l3 || t->l4 != g->l4 ||
	    t->hlen != g->hdr_len)
		return false;
	if (memcmp(held, pkt, g->l3))
		return false;
	if (t->v6) {
		/* Version, traffic class and flow label; hop limit; addresses. */
		if ((hip[0] >> 4) != 6 || memcmp(hip, ip, 4) || hip[7] != ip[7] ||
		    memcmp(hip + 8, ip + 8, 32))
			return false;
		iplen = g->len - g->l3 - IP6_HLEN;
	} else {
		/* TOS, TTL, DF; addresses. */
		if ((hip[0] >> 4) != 4 || hip[1] != ip[1] || hip[8] != ip[8] ||
		    ((hip[6] ^ ip[6]) & (IP4_DF >> 8)) || memcmp(hip + 12, ip + 12, 8))
			return false;
		/* Without DF the identification must count up, as it will
		 * again when the packet is cut (RFC 6864 section 4.1). */
		if (!(ip[6] & (IP4_DF >> 8)) &&
		    get16(ip + 4) != (uint16_t)(get16(hip + 4) + g->segs))
			return false;
		iplen = g->len - g->l3;
	}
	/* Ports; sequence number; ACK number, data offset and reserved bits;
	 * window; options. */
	if (memcmp(hth, th, 4) || get32(th + 4) != g->next_seq || memcmp(hth + 8, th + 8, 5) ||
	    memcmp(hth + 14, th + 14, 2) || memcmp(hth + 20, th + 20, g->hdr_len - g->l4 - 20))
		return false;
	if ((th[13] & TCP_CWR) || ((th[13] ^ hth[13]) & ~(TCP_PSH | TCP_CWR)))
		return false;
	return payload <= g->gso_size && payload <= g->cap - g->len && iplen + payload <= 0xffff;
}

/* Makes the segment @pkt (@t from vnet_gro_parse()) the start of a held packet. */
static void vnet_gro_hold(struct vnet_gro *g, const uint8_t *pkt, size_t len,
			  const struct vnet_tcp *t)
{
	memcpy(g->buf + VNET_HDR_LEN, pkt, len);
	g->len = len;
	g->l3 = t->l3;
	g->l4 = t->l4;
	g->hdr_len = t->hlen;
	g->gso_size = (uint16_t)(len - t->hlen);
	g->segs = 1;
	g->next_seq = get32(pkt + t->l4 + 4) + g->gso_size;
	g->closed = false;
}

/* Appends the payload of the segment @pkt to the held packet; a PSH or a
 * short segment ends it (tcp_gro_receive()), and PSH goes on the packet. */
static void vnet_gro_append(struct vnet_gro *g, const uint8_t *pkt, size_t len,
			    const struct vnet_tcp *t)
{
	uint8_t *hth = g->buf + VNET_HDR_LEN + g->l4;
	size_t payload = len - t->hlen;

	memcpy(g->buf + VNET_HDR_LEN + g->len, pkt + t->hlen, payload);
	g->len += payload;
	g->segs++;
	g->next_seq += (uint32_t)payload;
	if (pkt[t->l4 + 13] & TCP_PSH) {
		hth[13] |= TCP_PSH;
		g->closed = true;
	}
	if (payload < g->gso_size)
		g->closed = true;
}

void vnet_gro_add(struct vnet_gro *g, const uint8_t *pkt, size_t len, vnet_gro_flush_fn flush,
		  void *ctx)
{
	static const uint8_t none[VNET_HDR_LEN];
	struct vnet_tcp t;

	if (vnet_gro_parse(pkt, len, g->tap, &t)) {
		if (g->len && vnet_gro_can_append(g, pkt, len, &t)) {
			vnet_gro_append(g, pkt, len, &t);
			return;
		}
		vnet_gro_flush(g, flush, ctx);
		/* A PSH segment would end what it starts: send it now. */
		if (len <= g->cap && !(pkt[t.l4 + 13] & TCP_PSH)) {
			vnet_gro_hold(g, pkt, len, &t);
			return;
		}
	} else {
		vnet_gro_flush(g, flush, ctx);
	}
	flush(ctx, none, pkt, len);
}

void vnet_gro_flush(struct vnet_gro *g, vnet_gro_flush_fn flush, void *ctx)
{
	uint8_t *pkt = g->buf + VNET_HDR_LEN;
	struct vnet_hdr h = {0};
	size_t len = g->len;

	if (!len)
		return;
	if (g->segs > 1) {
		uint8_t *ip = pkt + g->l3, *th = pkt + g->l4;
		bool v6 = (ip[0] >> 4) == 6;

		if (v6) {
			put16(ip + 4, (uint16_t)(len - g->l3 - IP6_HLEN));
		} else {
			put16(ip + 2, (uint16_t)(len - g->l3));
			ip4_csum_set(ip, 20);
		}
		/* The pseudo-header sum, not complemented, as
		 * tcp_gro_complete() leaves it for CHECKSUM_PARTIAL. */
		put16(th + TCP_CSUM_OFF, csum_fold(pseudo_sum(ip, v6, len - g->l4)));
		h.flags = VNET_F_NEEDS_CSUM;
		h.gso_type = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
		if (th[13] & TCP_CWR)
			h.gso_type |= VNET_GSO_ECN;
		h.hdr_len = (uint16_t)g->hdr_len;
		h.gso_size = g->gso_size;
		h.csum_start = (uint16_t)g->l4;
		h.csum_offset = TCP_CSUM_OFF;
	}
	vnet_hdr_put(g->buf, &h);
	g->len = 0;
	g->segs = 0;
	g->closed = false;
	flush(ctx, g->buf, pkt, len);
}
