/* SPDX-License-Identifier: MIT */
/*
 * UDP transport (doc/design.md sections 1 and 10): batched receive
 * (recvmmsg, UDP GRO) and send (sendmmsg, UDP GSO), roaming of a plain
 * peer, and path MTU discovery (the route's MTU, IP_RECVERR).
 */
#include <limits.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <linux/errqueue.h>
#include <sodium.h>
#include <unistd.h>

#include "interface.h"

/* UDP socket buffers, bytes each way (the kernel doubles it for overhead). */
#define TUNNEL_UDP_SOCKBUF (4 * 1024 * 1024)
/* UDP GSO (UDP_SEGMENT): datagrams one send carries at most (the kernel's
 * UDP_MAX_SEGMENTS) and their bytes (one IP packet's worth). */
#define TUNNEL_UDP_GSO_SEGS  64
#define TUNNEL_UDP_GSO_BYTES 65000
/* A datagram from the peer carries at most this many frames (culvert sends
 * one a datagram): a datagram of tiny frames cannot cost thousands of
 * device writes. */
#define TUNNEL_DGRAM_FRAMES_MAX TUNNEL_BATCH

static void tunnel_pmtu_errqueue(struct tunnel *t);

/* Sets the UDP socket's options (udp(7), ip(7)). */
void tunnel_udp_setopts(struct tunnel *t, int fd)
{
	int one = 1;

	/* A burst from the device must not overflow the default
	 * ~200 KiB of socket buffer: above the sysctl caps when we may
	 * (CAP_NET_ADMIN), within them otherwise. */
	int size = TUNNEL_UDP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* With offloads, the segments of a TSO packet leave in one
	 * send (UDP_SEGMENT) and arrive in one receive (UDP_GRO). */
	if (t->dev.vnet) {
		t->udp_gso = true;
		t->udp_gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	}
	/* Path MTU discovery (doc/design.md section 10): DF on every
	 * datagram (UDP GSO ones too, which IP_PMTUDISC_WANT sends
	 * without), so routers report the path MTU; the errors come
	 * to the error queue (tunnel_pmtu_errqueue()). */
	int do4 = IP_PMTUDISC_DO, do6 = IPV6_PMTUDISC_DO;

	setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &do4, sizeof(do4));
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	if (t->cfg.addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &do6, sizeof(do6));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	}
}

/*
 * Makes the messages for sendmmsg(2) of frames @from..@n - 1: one per
 * frame, or with UDP GSO one per run of back-to-back frames of one size (the
 * segments of one TSO packet; the last may be shorter), which the kernel
 * sends as that many datagrams (UDP_SEGMENT, udp(7)).  Returns the number
 * of messages.
 */
static unsigned tunnel_udp_messages(struct peer *p, unsigned from, unsigned n)
{
	struct tunnel *t = p->t;
	unsigned i = from, m = 0;

	while (i < n) {
		size_t seg = t->tx_iov[i].iov_len, total = seg;
		unsigned j = i + 1;

		while (t->udp_gso && j < n && j - i < TUNNEL_UDP_GSO_SEGS &&
		       t->tx_iov[j].iov_base == (uint8_t *)t->tx_iov[j - 1].iov_base + seg &&
		       t->tx_iov[j].iov_len <= seg &&
		       total + t->tx_iov[j].iov_len <= TUNNEL_UDP_GSO_BYTES) {
			total += t->tx_iov[j++].iov_len;
			if (t->tx_iov[j - 1].iov_len < seg)
				break; /* a short datagram ends a run */
		}
		t->tx_run[m] = (struct iovec){.iov_base = t->tx_iov[i].iov_base, .iov_len = total};
		t->tx_first[m] = (uint16_t)i;
		t->tx_count[m] = (uint16_t)(j - i);
		t->tx_msg[m].msg_hdr = (struct msghdr){
		    .msg_name = &p->addr,
		    .msg_namelen = p->addr_len,
		    .msg_iov = &t->tx_run[m],
		    .msg_iovlen = 1,
		};
		if (j - i > 1) {
			struct cmsghdr *cm = &t->tx_ctl[m].align;
			uint16_t size = (uint16_t)seg;

			t->tx_msg[m].msg_hdr.msg_control = t->tx_ctl[m].buf;
			t->tx_msg[m].msg_hdr.msg_controllen = sizeof(t->tx_ctl[m].buf);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(cm), &size, sizeof(size));
		}
		m++;
		i = j;
	}
	return m;
}

/*
 * Sends the @n frames the last device drain made, one datagram each, in as
 * few sendmmsg(2) calls as the socket allows (with UDP GSO, one message
 * per TSO packet's segments); in sealed mode a datagram is the message,
 * which has no length prefix.  When the socket is full the rest are dropped
 * (counted) and the device paused until the socket drains.
 */
static bool tunnel_udp_send_frames(struct peer *p, unsigned n)
{
	struct tunnel *t = p->t;
	unsigned i, m, sent = 0, first = 0;

	m = tunnel_udp_messages(p, 0, n);
	while (sent < m) {
		int r = sendmmsg(t->udp_fd, t->tx_msg + sent, m - sent, MSG_DONTWAIT);

		first = t->tx_first[sent];
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			t->stats.drop_backpressure += n - first;
			tunnel_dev_pause(t);
			event_add(t->udp_wr_ev, NULL);
			return false;
		}
		if (r < 0 && t->tx_count[sent] > 1 && errno == EINVAL &&
		    (tunnel_pmtu_poll_all(t), t->fit_len < t->max_len)) {
			/* The path MTU fell below these segments before we
			 * knew (the kernel refuses GSO segments above it):
			 * this batch one by one, the underlay fragments. */
			t->udp_gso = false;
			m = tunnel_udp_messages(p, first, n);
			t->udp_gso = true;
			sent = 0;
			continue;
		}
		if (r < 0 && t->tx_count[sent] > 1 && (errno == EINVAL || errno == EIO)) {
			/* The underlay cannot take GSO here (a datagram above
			 * its MTU, a driver without it): one by one from now. */
			log_info("UDP GSO refused (%s): sending datagrams one by one",
				 strerror(errno));
			t->udp_gso = false;
			m = tunnel_udp_messages(p, first, n);
			sent = 0;
			continue;
		}
		if (r < 0) {
			/* The first message left failed (EMSGSIZE, an ICMP
			 * error from an earlier one): skip it, send the rest. */
			int e = errno;

			tunnel_pmtu_errqueue(t);
			errno = e;
			t->stats.drop_send_error += t->tx_count[sent];
			log_trace("send to %s: %s", p->str, strerror(errno));
			sent++;
			continue;
		}
		for (; r > 0; r--, sent++)
			for (i = t->tx_first[sent]; i < t->tx_first[sent] + t->tx_count[sent];
			     i++) {
				t->stats.tx_packets++;
				t->stats.tx_bytes += t->tx_pktlen[i];
				p->tx_packets++;
				p->tx_bytes += t->tx_pktlen[i];
			}
		p->last_tx_ms = tunnel_now_ms();
	}
	return true;
}

/* Sets the socket's path MTU discovery (ip(7), ipv6(7)): @frag false
 * (the default) for IP_PMTUDISC_DO, DF on every datagram, one above the
 * kernel's path MTU refused (EMSGSIZE); true for IP_PMTUDISC_WANT, the
 * kernel fragments what does not fit.  An IPv6 socket also carries IPv4
 * (mapped addresses): both options. */
static void tunnel_udp_pmtudisc(struct tunnel *t, bool frag)
{
	int v4 = frag ? IP_PMTUDISC_WANT : IP_PMTUDISC_DO;
	int v6 = frag ? IPV6_PMTUDISC_WANT : IPV6_PMTUDISC_DO;

	setsockopt(t->udp_fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
	if (t->cfg.addr.ss_family == AF_INET6)
		setsockopt(t->udp_fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6));
}

/* Sends frame @i alone with fragmentation allowed (struct tunnel_drain's
 * frag_last): a packet too long for the path that no router would answer
 * still arrives, as it would through a router that fragments. */
static void tunnel_udp_send_frag(struct peer *p, unsigned i)
{
	struct tunnel *t = p->t;
	ssize_t r;

	tunnel_udp_pmtudisc(t, true);
	r = sendto(t->udp_fd, t->tx_iov[i].iov_base, t->tx_iov[i].iov_len, MSG_DONTWAIT,
		   (struct sockaddr *)&p->addr, p->addr_len);
	tunnel_udp_pmtudisc(t, false);
	if (r < 0) {
		if (errno == EAGAIN || errno == ENOBUFS)
			t->stats.drop_backpressure++;
		else
			t->stats.drop_send_error++;
		return;
	}
	t->stats.pmtu_fragmented++;
	t->stats.tx_packets++;
	t->stats.tx_bytes += t->tx_pktlen[i];
	p->tx_packets++;
	p->tx_bytes += t->tx_pktlen[i];
}

/*
 * Sends the @n frames of a device drain (tunnel_udp_send_frames()); with
 * @frag_last the last one alone, fragmentable (tunnel_udp_send_frag()).
 */
void tunnel_udp_send_batch(struct peer *p, unsigned n, bool frag_last)
{
	struct tunnel *t = p->t;
	if (p->addr_len == 0) {
		t->stats.drop_no_peer += n;
		return;
	}
	if (frag_last)
		n--;
	if (!tunnel_udp_send_frames(p, n)) {
		t->stats.drop_backpressure += frag_last;
		return;
	}
	if (frag_last)
		tunnel_udp_send_frag(p, n);
}

void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	event_del(t->udp_wr_ev);
	tunnel_dev_resume(t);
}

/*
 * A hub (doc/design.md section 8): whose is the sealed datagram @msg (@n
 * bytes) from @ss?  A response, a cookie reply and a transport message name
 * one of our receiver indices (lib/index_table.h); an initiation names
 * none: tunnel_initiator() tells whose it is.  Returns the peer, or NULL
 * with the reason counted.
 */
static struct peer *tunnel_udp_whose(struct tunnel *t, const uint8_t *msg, size_t n,
				     const struct sockaddr_storage *ss, socklen_t sslen)
{
	char from[ENDPOINT_STRLEN];
	uint32_t index;
	struct peer *p;
	int rc = session_message_receiver(msg, n, &index);

	if (rc < 0) {
		t->stats.rx_malformed++;
		log_trace("malformed %zu-byte sealed datagram dropped", n);
		return NULL;
	}
	if (rc == 1) {
		p = index_table_lookup(&t->indices, index);
		if (!p) {
			t->stats.rx_unknown_index++;
			log_trace("sealed datagram for no session of ours (index %08x) dropped",
				  index);
		}
		return p;
	}
	endpoint_format((const struct sockaddr *)ss, from, sizeof(from));
	return tunnel_initiator(t, msg, n, ss, sslen, false, from, tunnel_now_ms());
}

/* Plain mode: true when the datagram @dgram (@n bytes) is the plain
 * keepalive, one empty frame, and keepalives are on (PlainKeepalive). */
static bool tunnel_udp_plain_keepalive(const struct tunnel *t, const uint8_t *dgram, size_t n)
{
	return n == FRAME_HDR_LEN && t->cfg.plain_keepalive && dgram[0] == 0 && dgram[1] == 0;
}

/* Plain mode: checks every frame of the datagram @dgram (@n bytes) before
 * any is written, since the datagram teaches the listener a peer: all of
 * it is valid or none.  Returns the number of frames, or a negative errno
 * with the datagram counted as bad_frame. */
static int tunnel_udp_plain_check(struct tunnel *t, const uint8_t *dgram, size_t n)
{
	const uint8_t *pkt;
	size_t off = 0, len;
	int frames = frame_datagram_check(dgram, n, tunnel_frame_max(t));

	if (frames > TUNNEL_DGRAM_FRAMES_MAX)
		frames = -E2BIG;
	while (frames > 0 && frame_datagram_next(dgram, n, &off, &pkt, &len))
		if (frame_payload_check(pkt, len, t->dev.mode == TUN_MODE_TAP) < 0)
			frames = -EBADMSG;
	if (frames < 0) {
		t->stats.drop_bad_frame++;
		log_trace("bad %zu-byte datagram (%d frames) dropped", n, frames);
	}
	return frames;
}

/*
 * A plain UDP hub (doc/design.md section 8): each source endpoint is a
 * peer of its own, made by its first valid datagram (tunnel_plain_peer_for(),
 * bounded; a [Peer] whose Endpoint has its address takes it) and forgotten after
 * tunnel_plain_dead_peer_ms() of silence.
 */
static void tunnel_udp_plain_hub(struct tunnel *t, const uint8_t *dgram, size_t n,
				 const struct sockaddr_storage *ss, socklen_t sslen)
{
	bool keepalive = tunnel_udp_plain_keepalive(t, dgram, n);
	struct peer *p = NULL;
	const uint8_t *pkt;
	size_t off = 0, len;

	if (!keepalive && tunnel_udp_plain_check(t, dgram, n) < 0)
		return;
	for (unsigned i = 0; i < t->n_peers && !p; i++)
		if (!t->peers[i]->gone && endpoint_equal((const struct sockaddr *)ss,
							 (struct sockaddr *)&t->peers[i]->addr))
			p = t->peers[i];
	if (!p && keepalive)
		return;
	if (!p) {
		p = tunnel_plain_peer_for(t, ss);
		if (!p)
			return;
		memcpy(&p->addr, ss, sslen);
		p->addr_len = sslen;
		endpoint_format((const struct sockaddr *)ss, p->str, sizeof(p->str));
		log_info("%s: peer %s%s%s (udp)", t->dev.name, p->str, p->name[0] ? ", " : "",
			 p->name);
	}
	p->last_rx_ms = tunnel_now_ms();
	if (keepalive) {
		t->stats.keepalives_received++;
		return;
	}
	while (frame_datagram_next(dgram, n, &off, &pkt, &len))
		tunnel_deliver(p, pkt, len);
}

/* Handles one received datagram of @n bytes at @dgram from @ss. */
static void tunnel_udp_handle(struct tunnel *t, const uint8_t *dgram, size_t n,
			      const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct peer *p = t->peer;
	const uint8_t *pkt;
	size_t off = 0, len;

	if (!tunnel_allowed(t, ss)) {
		t->stats.drop_not_allowed++;
		log_trace("datagram from outside AllowFrom dropped");
		return;
	}
	if (t->cfg.plain_hub) {
		tunnel_udp_plain_hub(t, dgram, n, ss, sslen);
		return;
	}
	if (t->routed) {
		p = tunnel_udp_whose(t, dgram, n, ss, sslen);
		if (p)
			tunnel_open_admitted(p, dgram, n, ss, sslen);
		return;
	}
	if (t->cfg.sealed) {
		tunnel_open(p, dgram, n, ss, sslen);
		return;
	}
	if (tunnel_udp_plain_keepalive(t, dgram, n)) {
		if (t->cfg.listen ||
		    endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)&p->addr)) {
			t->stats.keepalives_received++;
			p->last_rx_ms = tunnel_now_ms();
		}
		return;
	}
	if (tunnel_udp_plain_check(t, dgram, n) < 0)
		return;
	if (!t->cfg.listen &&
	    !endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)&p->addr)) {
		t->stats.drop_unknown_peer++;
		log_trace("datagram from a stranger dropped");
		return;
	}
	if (t->cfg.listen && (p->addr_len == 0 || !endpoint_equal((const struct sockaddr *)ss,
								  (struct sockaddr *)&p->addr))) {
		/* The listening side learns, and follows, the source of the
		 * latest valid datagram (OpenVPN's --float). */
		memcpy(&p->addr, ss, sslen);
		p->addr_len = sslen;
		endpoint_format((const struct sockaddr *)ss, p->str, sizeof(p->str));
		log_info("peer is %s", p->str);
	}
	p->last_rx_ms = tunnel_now_ms();
	while (frame_datagram_next(dgram, n, &off, &pkt, &len))
		tunnel_dev_write(t, pkt, len);
}

/* Handles what one receive gave: one datagram of @len bytes, or with UDP
 * GRO several of the same size back to back (the size in a UDP_GRO
 * control message, udp(7)), the last possibly shorter. */
static void tunnel_udp_segments(struct tunnel *t, const struct msghdr *mh, size_t len)
{
	const uint8_t *p = mh->msg_iov[0].iov_base;
	const struct sockaddr_storage *src = mh->msg_name;
	size_t seg = len, off;
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR((struct msghdr *)mh, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;

			memcpy(&size, CMSG_DATA(cm), sizeof(size));
			if (size > 0 && (size_t)size < len)
				seg = (size_t)size;
		}
	for (off = 0; off < len; off += seg)
		tunnel_udp_handle(t, p + off, len - off < seg ? len - off : seg, src,
				  mh->msg_namelen);
}

/* Takes up to TUNNEL_BATCH datagrams, TUNNEL_UDP_RX_BATCH per recvmmsg(2). */
static void tunnel_udp_read(struct tunnel *t, int fd)
{
	int got = 0;

	while (got < TUNNEL_BATCH) {
		int i, n;

		for (i = 0; i < TUNNEL_UDP_RX_BATCH; i++) {
			t->rx_iov[i].iov_base = t->dgram + (size_t)i * TUNNEL_DGRAM_MAX;
			t->rx_iov[i].iov_len = TUNNEL_DGRAM_MAX;
			t->rx_msg[i].msg_hdr = (struct msghdr){
			    .msg_name = &t->rx_src[i],
			    .msg_namelen = sizeof(t->rx_src[i]),
			    .msg_iov = &t->rx_iov[i],
			    .msg_iovlen = 1,
			    .msg_control = t->udp_gro ? t->rx_ctl[i].buf : NULL,
			    .msg_controllen = t->udp_gro ? sizeof(t->rx_ctl[i].buf) : 0,
			};
		}
		n = recvmmsg(fd, t->rx_msg, TUNNEL_UDP_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* Woken with nothing to read, or by the socket error
			 * an ICMP message set: its error queue. */
			int e = errno;

			tunnel_pmtu_errqueue(t);
			errno = e;
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP errors from an earlier send (the peer is not
			 * up yet) surface here; they are no reason to stop. */
			log_trace("recv: %s", strerror(errno));
			got++;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (t->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				t->stats.drop_bad_frame++;
				continue;
			}
			tunnel_udp_segments(t, &t->rx_msg[i].msg_hdr, t->rx_msg[i].msg_len);
		}
		got += n;
		if (n < TUNNEL_UDP_RX_BATCH)
			return; /* the socket is drained */
	}
}

void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	tunnel_udp_read(t, fd);
	tunnel_dev_flush(t);
}

/* The address family of the underlay toward @ss: an IPv4-mapped IPv6
 * address (a dual-stack socket) travels as IPv4; stores its address bytes
 * (4 or 16) in @addr. */
int tunnel_underlay_family(const struct sockaddr_storage *ss, uint8_t *addr)
{
	if (ss->ss_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(addr, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(addr, a->s6_addr, 16);
		return AF_INET6;
	}
	return AF_UNSPEC;
}

/* Takes @path (bytes, 0: unknown) as the path MTU toward the peer over UDP
 * and derives from it what fits (fit_len: path less the overhead) and the
 * MTU announced in ICMP (inner_mtu: the same, never above the device MTU
 * nor below MTU_IPV4_FLOOR, so a forged ICMP to the underlay socket cannot
 * push senders lower; a packet between the two is sent to be fragmented,
 * tunnel_too_big()). */
static void tunnel_pmtu_set(struct peer *p, unsigned path)
{
	struct tunnel *t = p->t;
	bool tap = t->dev.mode == TUN_MODE_TAP;
	uint8_t addr[16];
	unsigned ov, inner = (unsigned)t->dev_mtu, fit;

	ov = mtu_overhead(tunnel_underlay_family(&p->addr, addr), true, t->cfg.sealed, tap) -
	     (tap ? MTU_ETH_HDR : 0);
	if (path && path > ov && path - ov < inner)
		inner = path - ov;
	fit = inner;
	if (inner < MTU_IPV4_FLOOR && (unsigned)t->dev_mtu >= MTU_IPV4_FLOOR)
		inner = MTU_IPV4_FLOOR;
	if (path != t->pmtu && t->pmtu && path)
		log_debug("path MTU to %s: %u (was %u): inner packets up to %u bytes", p->str, path,
			  t->pmtu, inner);
	t->pmtu = path;
	t->inner_mtu = inner;
	t->fit_len = fit >= (unsigned)t->dev_mtu ? t->max_len : fit + (tap ? MTU_ETH_HDR : 0);
}

/* Reads the path MTU toward the UDP peer from the kernel's route (its path
 * MTU cache included, which ICMP "fragmentation needed" and "packet too big"
 * from the underlay fill, RFC 1191/8201, and which expires after
 * ip_rt_mtu_expires, 10 min: the limit then rises again by itself). */
void tunnel_pmtu_poll(struct peer *p)
{
	struct tunnel *t = p->t;
	uint8_t addr[16];
	unsigned mtu = 0;
	int family, oif;

	/* Over TCP the kernel's own path MTU discovery serves the stream. */
	if (p->addr_len == 0 || !t->nl.sock || p->transport != TUNNEL_UDP)
		return;
	family = tunnel_underlay_family(&p->addr, addr);
	if (nl_route_get_mtu(&t->nl, family, addr, &mtu, &oif) < 0)
		return;
	if (mtu != t->pmtu)
		tunnel_pmtu_set(p, mtu);
}

/* Drains the UDP socket's error queue (IP_RECVERR, IPV6_RECVERR; ip(7)):
 * an ICMP "fragmentation needed" or "packet too big" from the underlay
 * (EMSGSIZE, ee_info the MTU) makes us read the path MTU at once rather
 * than at the next poll.  Draining also clears the socket error and the
 * EPOLLERR it raises.  Other errors (port unreachable) are only dropped. */
static void tunnel_pmtu_errqueue(struct tunnel *t)
{
	bool too_big = false;
	int i;

	for (i = 0; i < 16; i++) {
		union {
			char buf[256];
			struct cmsghdr align;
		} ctl;
		uint8_t b[1];
		struct iovec iov = {.iov_base = b, .iov_len = sizeof(b)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm;

		if (recvmsg(t->udp_fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			struct sock_extended_err ee;

			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)) ||
			    cm->cmsg_len < CMSG_LEN(sizeof(ee)))
				continue;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (ee.ee_errno == EMSGSIZE)
				too_big = true;
		}
	}
	if (too_big)
		tunnel_pmtu_poll_all(t);
}

void tunnel_pmtu_poll_all(struct tunnel *t)
{
	struct peer *low = NULL;
	unsigned low_mtu = 0, low_inner = UINT_MAX;
	bool tap = t->dev.mode == TUN_MODE_TAP;

	if (!t->routed) {
		tunnel_pmtu_poll(t->peer);
		return;
	}
	if (!t->nl.sock)
		return;
	for (unsigned i = 0; i < t->n_peers; i++) {
		struct peer *p = t->peers[i];
		uint8_t addr[16];
		unsigned mtu = 0, ov;
		int family, oif;

		if (p->addr_len == 0 || p->transport != TUNNEL_UDP)
			continue;
		family = tunnel_underlay_family(&p->addr, addr);
		if (nl_route_get_mtu(&t->nl, family, addr, &mtu, &oif) < 0 || mtu == 0)
			continue;
		ov = mtu_overhead(family, true, t->cfg.sealed, tap) - (tap ? MTU_ETH_HDR : 0);
		if (mtu > ov && mtu - ov < low_inner) {
			low_inner = mtu - ov;
			low_mtu = mtu;
			low = p;
		}
	}
	if (low && low_mtu != t->pmtu)
		tunnel_pmtu_set(low, low_mtu);
}

void tunnel_pmtu_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	tunnel_pmtu_poll_all(t);
}
