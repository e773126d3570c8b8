/* SPDX-License-Identifier: MIT */
/*
 * The interface (doc/design.md section 8): the TUN/TAP device and its
 * batched reads and writes, device-side MTU (ICMP "too big", MSS clamping),
 * handshake admission against the static key, AllowFrom, and the tunnel's
 * set-up and tear-down (daemon/tunnel.h).
 */
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "interface.h"
#include "netns.h"

/* Device-side batch buffer: at least this many bytes of frames per wakeup. */
/* A number as a string literal, for messages. */
#define TUNNEL_STR_(x) #x
#define TUNNEL_STR(x)  TUNNEL_STR_(x)

#define TUNNEL_DEV_BUF_MIN (256 * 1024)
/* With offloads: the largest read (a 64 KiB IPv6 TSO packet behind an
 * Ethernet header with two VLAN tags), bytes after the virtio-net header ... */
#define TUNNEL_VNET_READ_MAX (65535 + 40 + 14 + 2 * 4)
/* ... the room one read may need for its frames (a 64 KiB packet cut into
 * segments of 536 bytes needs 78 KiB), and the batch buffer. */
#define TUNNEL_VNET_ROOM    (160 * 1024)
#define TUNNEL_VNET_SEGS    256
#define TUNNEL_VNET_DEV_BUF (1024 * 1024)
/* Initiations that passed mac1, interface-wide: past this rate (after the
 * burst) the tunnel is under load for TUNNEL_LOAD_HOLD_MS and an initiation
 * over UDP needs a valid mac2, else it gets a cookie reply (WireGuard paper
 * section 5.3).  One honest peer initiates every few seconds at most; the
 * rate stays below RATELIMIT_PER_SECOND so that a flood trips the cookies
 * before it drains the bucket of the address it claims. */
#define TUNNEL_LOAD_PER_SECOND 10
#define TUNNEL_LOAD_BURST      16
#define TUNNEL_LOAD_HOLD_MS    1000
/* Frames from the peer are taken up to the larger of our own maximum and
 * this (a 9000-byte jumbo MTU on TAP with a VLAN tag), bytes: a peer whose
 * default MTU came out larger (another route, doc/design.md section 10) is
 * not refused. */
#define TUNNEL_RX_MIN (9000 + TUN_TAP_HDR_LEN)
/* ICMP "too big" messages written into the device, at most per second
 * after a burst of as many (RFC 1812 section 4.3.2.8). */
#define TUNNEL_ICMP_PER_SECOND 100

/* Stops the loop after a runtime failure that leaves nothing to serve. */
void tunnel_fail(struct tunnel *t)
{
	t->failed = true;
	event_base_loopbreak(t->base);
}

/* Packets and bytes a packet of @len bytes under @h stands for once cut into
 * segments: what the counters count, whether or not it was cut. */
static void tunnel_count(const struct vnet_hdr *h, size_t len, uint64_t *packets, uint64_t *bytes)
{
	unsigned segs = vnet_gso_segments(h, len);

	*packets += segs;
	*bytes += len + (size_t)(segs - 1) * h->hdr_len;
}

/* Writes one packet behind the virtio-net header @hdr (NULL on a device
 * without one) to the device, in one writev(2): the kernel takes it whole
 * or not at all. */
void tunnel_dev_writev(struct tunnel *t, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)hdr, .iov_len = VNET_HDR_LEN},
	    {.iov_base = (void *)pkt, .iov_len = len},
	};
	struct vnet_hdr h = {0};
	ssize_t n;

	if (hdr)
		n = writev(t->dev.fd, iov, 2);
	else
		n = write(t->dev.fd, pkt, len);
	if (n < 0) {
		t->stats.drop_dev_write++;
		log_trace("write %s: %s (%zu bytes dropped)", t->dev.name, strerror(errno), len);
		return;
	}
	if (hdr) {
		vnet_hdr_get(hdr, &h);
		if (h.gso_type != VNET_GSO_NONE)
			t->stats.rx_offload++;
	}
	tunnel_count(&h, len, &t->stats.rx_packets, &t->stats.rx_bytes);
}

/* The coalescer's output (lib/vnet.h): one device write. */
void tunnel_gro_write(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	tunnel_dev_writev(ctx, hdr, pkt, len);
}

/* Delivers an offload frame from the peer (doc/PROTOCOL.md "Offload
 * frames"): @len bytes, a virtio-net header and a packet, checked before
 * the kernel sees the header.  Anything held is written first, in order. */
void tunnel_dev_write_offload(struct tunnel *t, const uint8_t *buf, size_t len)
{
	struct vnet_hdr h;

	if (!t->dev.vnet || len <= VNET_HDR_LEN) {
		t->stats.drop_bad_offload++;
		log_trace("%zu-byte offload frame dropped: %s", len,
			  t->dev.vnet ? "too short" : "the device has no offloads");
		return;
	}
	vnet_hdr_get(buf, &h);
	if (vnet_check_peer(&h, buf + VNET_HDR_LEN, len - VNET_HDR_LEN,
			    t->dev.mode == TUN_MODE_TAP) < 0) {
		t->stats.drop_bad_offload++;
		log_trace("offload frame with a bad virtio-net header dropped (%zu bytes)", len);
		return;
	}
	if (t->cfg.clamp_mss && mtu_clamp_mss((uint8_t *)buf + VNET_HDR_LEN, len - VNET_HDR_LEN,
					      t->dev.mode == TUN_MODE_TAP, t->inner_mtu,
					      (h.flags & VNET_F_NEEDS_CSUM) != 0) > 0)
		t->stats.mss_clamped++;
	tunnel_dev_flush(t);
	tunnel_dev_writev(t, buf, buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
}

/*
 * A device packet @pkt of @len bytes does not fit the path to the peer
 * (len > fit_len): answers it as a router would (doc/design.md section 10),
 * with an ICMP "fragmentation needed" or ICMPv6 "packet too big" carrying
 * inner_mtu, written back into the device, at most TUNNEL_ICMP_PER_SECOND.
 * Returns true when the packet is to be dropped (answered, or over the
 * rate); false when no answer is due (IPv4 without DF, an IPv6 packet of at
 * most 1280 bytes, an ICMP error, multicast...; lib/mtu.h) and @can_frag:
 * then it is sent on alone, the underlay fragmenting the datagram
 * (tunnel_udp_send_frag()).  Without @can_frag (a TSO packet) such a
 * packet is dropped too.
 */
static bool tunnel_too_big(struct tunnel *t, const uint8_t *pkt, size_t len, bool can_frag)
{
	static const uint8_t zero[VNET_HDR_LEN];
	bool tap = t->dev.mode == TUN_MODE_TAP;
	struct iovec iov[2] = {
	    {.iov_base = (void *)zero, .iov_len = VNET_HDR_LEN},
	    {.iov_base = t->icmp_buf, .iov_len = 0},
	};
	int n;

	/* Below the floor (inner_mtu above what fits): no ICMP may ask for
	 * less; the underlay fragments. */
	if (can_frag && len <= t->inner_mtu + (tap ? MTU_ETH_HDR : 0))
		return false;
	n = mtu_icmp_too_big(pkt, len, tap, t->inner_mtu, t->icmp_buf, sizeof(t->icmp_buf));
	if (n == 0 && can_frag)
		return false;
	t->stats.drop_too_big++;
	if (n <= 0 || !ratelimit_bucket_take(&t->icmp_bucket, tunnel_now_ms(),
					     TUNNEL_ICMP_PER_SECOND, TUNNEL_ICMP_PER_SECOND))
		return true;
	iov[1].iov_len = (size_t)n;
	/* One write: the kernel takes the whole message or none of it. */
	if ((t->dev.vnet ? writev(t->dev.fd, iov, 2) : write(t->dev.fd, t->icmp_buf, (size_t)n)) <
	    0) {
		t->stats.drop_dev_write++;
		return true;
	}
	t->stats.icmp_sent++;
	return true;
}

/*
 * Turns the packet of @n bytes at slot + pkt_off into a frame at @slot: in
 * plain mode by writing the length prefix before it; in sealed mode by
 * sealing it in place behind a transport header first (the tag takes the
 * NOISE_TAG_LEN bytes after the packet; over UDP the message is the
 * datagram, without a prefix).  With peer_offload the "packet" starts with
 * its virtio-net header.  Returns the frame's length (prefix included), or
 * 0 when the packet was dropped (no session yet: a handshake is started).
 */
static size_t tunnel_wrap(struct tunnel *t, struct peer *p, uint8_t *slot, size_t n)
{
	uint64_t now;
	size_t mlen;
	int rc;

	if (!p->sess) {
		/* Only a packet of 65,526 bytes or more behind an offload
		 * header can be too long: never send a stale length. */
		if (frame_put_header(slot, n) < 0) {
			t->stats.drop_oversize++;
			return 0;
		}
		return FRAME_HDR_LEN + n;
	}
	now = tunnel_now_ms();
	/* An offload frame is a type 5 message (lib/session.h). */
	rc = (p->offload ? session_seal_offload
			 : session_seal)(p->sess, now, slot + t->pkt_off, n, slot + t->frame_hdr,
					 n + SESSION_TRANSPORT_OVERHEAD, &mlen);
	if (rc < 0) {
		t->stats.drop_no_session++;
		if (session_wants_handshake(p->sess, now))
			tunnel_sess_initiate(p, now);
		return 0;
	}
	/* mlen <= n + SESSION_TRANSPORT_OVERHEAD <= SESSION_MAX_MESSAGE_LEN:
	 * the prefix always fits (offload_max). */
	if (t->frame_hdr && frame_put_header(slot, mlen) < 0) {
		t->stats.drop_oversize++;
		return 0;
	}
	return t->frame_hdr + mlen;
}

/* Notes the frame of @flen bytes at @frame, carrying @pkts packets of
 * @bytes bytes in all, for the send: in tx_iov (UDP sends one datagram per
 * frame) and the drain's totals. */
static void tunnel_note_frame(struct tunnel *t, const struct peer *p, uint8_t *frame, size_t flen,
			      unsigned pkts, size_t bytes, struct tunnel_drain *d)
{
	/* A sealed datagram leaves out the prefix a two-transport interface
	 * makes room for (tunnel_peer_frame_hdr()). */
	size_t skip = t->frame_hdr - tunnel_peer_frame_hdr(p);

	t->tx_iov[d->frames].iov_base = frame + skip;
	t->tx_iov[d->frames].iov_len = flen - skip;
	t->tx_pktlen[d->frames] = (uint32_t)bytes;
	d->frames++;
	d->packets += pkts;
	d->payload += bytes;
	d->len += flen;
}

/*
 * Reads one packet from a device with offloads and makes frames of it at
 * @slot, which has @room bytes: one frame for the whole packet (its
 * virtio-net header first) when the peer takes offload frames and it fits
 * one, otherwise one frame per segment (vnet_gso_split()), each behind a
 * header of zeros when the peer takes offload frames.  Returns 1 when a
 * packet was read (its frames noted in @d; none if it was dropped), 0 when
 * the device is drained, -1 when it failed.
 */
static int tunnel_dev_read_vnet(struct tunnel *t, struct peer *p, uint8_t *slot, size_t room,
				struct tunnel_drain *d)
{
	bool tap = t->dev.mode == TUN_MODE_TAP;
	size_t hroom = p->offload ? VNET_HDR_LEN : 0;
	size_t tail = t->cfg.sealed ? NOISE_TAG_LEN : 0;
	uint8_t *hdr = p->offload ? slot + t->pkt_off : t->vhdr;
	uint8_t *pkt = p->offload ? hdr + VNET_HDR_LEN : t->gso_buf;
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = VNET_HDR_LEN},
	    {.iov_base = pkt, .iov_len = TUNNEL_VNET_READ_MAX},
	};
	struct vnet_hdr h;
	size_t len, stride, off = 0, flen;
	unsigned max;
	bool frag = false;
	ssize_t n = readv(t->dev.fd, iov, 2);
	int segs, i;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		log_warn("read %s (device deleted?)", t->dev.name);
		tunnel_fail(t);
		return -1;
	}
	if (n == 0)
		return 0;
	len = (size_t)n - VNET_HDR_LEN;
	vnet_hdr_get(hdr, &h);
	if ((size_t)n <= VNET_HDR_LEN || vnet_check(&h, pkt, len, tap) < 0) {
		t->stats.drop_bad_offload++;
		log_trace("%s: %zd-byte read with a bad virtio-net header dropped", t->dev.name, n);
		return 1;
	}
	/* The kernel's hdr_len is only a hint (skb_headlen() on the forward
	 * path); the segments' layout needs the real one: up to the end of
	 * the TCP header, which vnet_check() found inside the packet. */
	if (h.gso_type != VNET_GSO_NONE)
		h.hdr_len = (uint16_t)(h.csum_start + (pkt[h.csum_start + 12] >> 4) * 4);
	/* DATA_VALID means nothing on the way out. */
	h.flags &= VNET_F_NEEDS_CSUM;
	/* What must fit the path is a segment, not the TSO packet. */
	if ((h.gso_type != VNET_GSO_NONE ? (size_t)h.hdr_len + h.gso_size : len) > t->fit_len) {
		if (tunnel_too_big(
			t, pkt, h.gso_type != VNET_GSO_NONE ? (size_t)h.hdr_len + h.gso_size : len,
			h.gso_type == VNET_GSO_NONE))
			return 1;
		frag = true;
	}
	if (t->cfg.clamp_mss &&
	    mtu_clamp_mss(pkt, len, tap, t->inner_mtu, (h.flags & VNET_F_NEEDS_CSUM) != 0) > 0)
		t->stats.mss_clamped++;
	/* The whole packet in one frame, checksum and all left to the peer's
	 * kernel, when the peer will take it (vnet_check_peer(): e.g. not a
	 * gso_size below 48); otherwise it is cut like for any other peer. */
	if (p->offload && VNET_HDR_LEN + len <= t->offload_max &&
	    vnet_check_peer(&h, pkt, len, tap) == 0) {
		vnet_hdr_put(hdr, &h);
		flen = tunnel_wrap(t, p, slot, VNET_HDR_LEN + len);
		if (flen > 0) {
			struct tunnel_drain one = {0};

			tunnel_count(&h, len, &one.packets, &one.payload);
			tunnel_note_frame(t, p, slot, flen, (unsigned)one.packets, one.payload, d);
			if (h.gso_type != VNET_GSO_NONE)
				t->stats.tx_offload++;
		}
		return 1;
	}
	if (p->offload) {
		/* Too long for one frame: cut it like for any other peer. */
		memmove(t->gso_buf, pkt, len);
		pkt = t->gso_buf;
	}
	if (h.gso_type == VNET_GSO_NONE)
		stride = t->pkt_off + hroom + len + tail;
	else
		stride = t->pkt_off + hroom + h.hdr_len + h.gso_size + tail;
	max = (unsigned)(room / stride);
	if (max > TUNNEL_TX_MAX - d->frames)
		max = TUNNEL_TX_MAX - d->frames;
	segs =
	    vnet_gso_split(&h, pkt, len, tap, slot + t->pkt_off + hroom, stride, max, t->seg_len);
	if (segs < 0) {
		t->stats.drop_bad_offload++;
		log_trace("%s: %zu-byte packet (segments of %u bytes) not cut: %s", t->dev.name,
			  len, h.gso_size, strerror(-segs));
		return 1;
	}
	if (h.gso_type != VNET_GSO_NONE)
		t->stats.tx_segmented++;
	/* Every segment but the last fills its stride exactly, so the frames
	 * lie back to back, as TCP sends them. */
	for (i = 0; i < segs; i++) {
		uint8_t *frame = slot + off;

		if (hroom)
			memset(frame + t->pkt_off, 0, VNET_HDR_LEN);
		flen = tunnel_wrap(t, p, frame, hroom + t->seg_len[i]);
		if (flen == 0)
			break; /* no session: all of them dropped, counted */
		tunnel_note_frame(t, p, frame, flen, 1, t->seg_len[i], d);
		off += flen;
		d->frag_last = frag;
	}
	return 1;
}

/*
 * Reads packets from the device into dev_buf, each made into a frame (or,
 * with offloads, into several or carried whole), until the device is
 * drained or a batch is full.  Returns 0 with @d filled, or -1 when the
 * device failed (the tunnel has been stopped then).  Each frame is also
 * noted in tx_iov and tx_pktlen, for UDP, which sends one datagram per
 * frame.
 */
/* What tunnel_switch_out() returns for a frame every peer gets. */
#define TUNNEL_FLOOD ((struct peer *)&tunnel_flood_marker)
static const char tunnel_flood_marker;

/* A TUN hub: the peer whose allowed IPs hold the destination of @pkt
 * (@len bytes, from the device), or NULL: dropped and counted. */
static struct peer *tunnel_route_out(struct tunnel *t, const uint8_t *pkt, size_t len)
{
	struct peer *q = allowedips_lookup_dst(&t->aips, pkt, len);

	if (!q && tunnel_link_scope(pkt, len)) {
		t->stats.drop_link_local++;
		return NULL;
	}
	if (!q) {
		t->stats.drop_no_route++;
		log_trace("%s: %zu-byte packet to no peer's allowed IPs dropped", t->dev.name, len);
	}
	return q;
}

/*
 * A TAP hub, a learning switch (doc/design.md section 8): the source MAC of
 * @frame (@len bytes, from the device) is learned as a station on this
 * host's side; the frame goes to the peer that owns its destination MAC,
 * or to every peer (TUNNEL_FLOOD) when it is broadcast, multicast or
 * unknown.  NULL: dropped and counted (a group or zero source; a
 * destination on this host's side, which the local bridge should have
 * kept).
 */
static struct peer *tunnel_switch_out(struct tunnel *t, const uint8_t *frame, size_t len)
{
	uint64_t now = tunnel_now_ms();
	struct mactable_peer *owner;

	if (len < MACTABLE_ETH_HLEN) {
		t->stats.drop_bad_frame++;
		return NULL;
	}
	if (mactable_learn(&t->macs, frame + 6, &t->dev_macs, now) == MACTABLE_INVALID_SRC) {
		t->stats.drop_bad_src_mac++;
		return NULL;
	}
	owner = mactable_lookup(&t->macs, frame, now);
	if (!owner)
		return TUNNEL_FLOOD;
	if (owner == &t->dev_macs) {
		t->stats.drop_no_route++;
		return NULL;
	}
	return (struct peer *)((char *)owner - offsetof(struct peer, macs));
}

static int tunnel_dev_drain(struct tunnel *t, struct peer *p, struct tunnel_drain *d)
{
	struct peer *q = NULL;
	int i, rc;

	memset(d, 0, sizeof(*d));
	if (t->dev.vnet) {
		while (t->dev_buf_len - d->len >= TUNNEL_VNET_ROOM &&
		       TUNNEL_TX_MAX - d->frames >= TUNNEL_VNET_SEGS) {
			rc = tunnel_dev_read_vnet(t, p, t->dev_buf + d->len,
						  t->dev_buf_len - d->len, d);
			if (rc <= 0 || d->frag_last)
				return rc < 0 ? rc : 0;
		}
		return 0;
	}
	for (i = 0; i < TUNNEL_BATCH; i++) {
		uint8_t *slot = t->dev_buf + d->len;
		size_t flen;
		ssize_t n;

		if (t->dev_buf_len - d->len < t->slot_len)
			break;
		if (t->carry_len) {
			/* Read for the previous batch, for another peer: it
			 * lies at dev_buf + pkt_off, where this batch begins. */
			n = (ssize_t)t->carry_len;
			t->carry_len = 0;
			goto carried;
		}
		/* Reading max_len + 1 bytes tells an oversize packet (the
		 * kernel reports its full length) from a maximal one. */
		n = read(t->dev.fd, slot + t->pkt_off, t->max_len + 1);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_warn("read %s (device deleted?)", t->dev.name);
			tunnel_fail(t);
			return -1;
		}
		if (n == 0)
			break;
		if ((size_t)n > t->max_len) {
			t->stats.drop_oversize++;
			log_trace("%s: %zd-byte packet above the %zu-byte maximum dropped",
				  t->dev.name, n, t->max_len);
			continue;
		}
	carried:
		if (t->routed) {
			/* A hub: the peer the packet is for; one batch is
			 * for one peer.  A TAP hub floods what has no owner,
			 * once it has passed the checks below. */
			q = t->dev.mode == TUN_MODE_TAP
				? tunnel_switch_out(t, slot + t->pkt_off, (size_t)n)
				: tunnel_route_out(t, slot + t->pkt_off, (size_t)n);
			if (!q)
				continue;
			if (q != TUNNEL_FLOOD) {
				/* Dropped before it is sealed and before it
				 * would end this batch. */
				if (tunnel_tcp_congested(q))
					continue;
				if (d->peer && q != d->peer) {
					t->carry_len = (size_t)n;
					break;
				}
				d->peer = p = q;
			}
		}
		/* One comparison per packet while everything fits. */
		if ((size_t)n > t->fit_len) {
			if (tunnel_too_big(t, slot + t->pkt_off, (size_t)n, true))
				continue;
			d->frag_last = true;
		}
		if (t->cfg.clamp_mss &&
		    mtu_clamp_mss(slot + t->pkt_off, (size_t)n, t->dev.mode == TUN_MODE_TAP,
				  t->inner_mtu, false) > 0)
			t->stats.mss_clamped++;
		if (q == TUNNEL_FLOOD) {
			tunnel_flood(t, NULL, slot + t->pkt_off, (size_t)n);
			d->frag_last = false;
			continue;
		}
		flen = tunnel_wrap(t, p, slot, (size_t)n);
		if (flen > 0)
			tunnel_note_frame(t, p, slot, flen, 1, (size_t)n, d);
		if (d->frag_last) {
			d->frag_last = flen > 0;
			break;
		}
	}
	return 0;
}

/*
 * A hub's device drain (doc/design.md section 8): batches for one peer each,
 * TUNNEL_BATCH packets in all at most; a packet read for another peer than
 * its batch's begins the next batch, moved to its start.  One left over
 * when the budget is spent is read again at once (event_active()).
 */
static void tunnel_dev_read_routed(struct tunnel *t)
{
	struct tunnel_drain d;

	for (unsigned round = 0; round < TUNNEL_BATCH; round++) {
		uint8_t *carry;

		if (tunnel_dev_drain(t, t->peer, &d) < 0)
			return;
		if (d.frames && d.peer && d.peer->transport == TUNNEL_UDP)
			tunnel_udp_send_batch(d.peer, d.frames, d.frag_last);
		else if (d.frames && d.peer &&
			 tunnel_tcp_send_peer(d.peer, t->dev_buf, d.len, d.packets, d.payload)) {
			t->stats.tx_packets += d.packets;
			t->stats.tx_bytes += d.payload;
		}
		if (!t->carry_len)
			break;
		/* The carried packet sits in the slot after the last frame:
		 * it begins the next batch, now or after a pause. */
		carry = t->dev_buf + d.len + t->pkt_off;
		memmove(t->dev_buf + t->pkt_off, carry, t->carry_len);
		if (t->dev_paused)
			break;
	}
	if (t->carry_len && !t->dev_paused)
		event_active(t->dev_ev, EV_READ, 0);
}

static void tunnel_dev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	/* The one peer; a hub's routes each packet (tunnel_dev_read_routed()). */
	struct peer *p = t->peer;
	struct tunnel_drain d;

	if (t->routed) {
		tunnel_dev_read_routed(t);
		return;
	}
	if (tunnel_dev_drain(t, p, &d) < 0)
		return;
	if (p->transport == TUNNEL_UDP) {
		if (d.frames)
			tunnel_udp_send_batch(p, d.frames, d.frag_last);
		return;
	}
	if (d.len == 0)
		return;
	if (p->fd < 0 || p->connecting) {
		/* Not connected: nobody to send to. */
		t->stats.drop_no_peer += d.packets;
		return;
	}
	t->stats.tx_packets += d.packets;
	t->stats.tx_bytes += d.payload;
	p->last_tx_ms = tunnel_now_ms();
	tunnel_tcp_send(p, t->dev_buf, d.len);
}

/* Once a second: each peer's liveness (tunnel_peer_tick()): timers that
 * depend on every packet are looked at here rather than re-armed per
 * packet (WireGuard paper section 6.5). */
static void tunnel_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	uint64_t now = tunnel_now_ms();

	for (unsigned i = 0; i < t->n_peers; i++)
		if (!t->peers[i]->gone)
			tunnel_peer_tick(t->peers[i], now);
	/* A TAP hub: aged MACs go, a bounded sweep per tick. */
	if (t->macs.slots)
		mactable_expire(&t->macs, now, TUNNEL_MAC_EXPIRE_BUDGET);
}

/* Handshake failures are what an operator needs to see (a wrong key, a
 * wrong PSK), but a flood of them must not flood the log: one warning per
 * reason every 10 s, the rest are counted. */
bool tunnel_warn_due(struct tunnel *t, enum tunnel_warning w, uint64_t now)
{
	if (t->warned_at[w] && now - t->warned_at[w] < 10000)
		return false;
	t->warned_at[w] = now ? now : 1;
	return true;
}

/* Says once in a while that handshakes are being flooded. */
static void tunnel_warn_load(struct tunnel *t, const char *what, const char *from, uint64_t now)
{
	if (tunnel_warn_due(t, TUNNEL_WARN_LOAD, now))
		log_warnx(
		    "handshake initiations from %s %s (a flood? counted, see culvertctl show)",
		    from, what);
}

/*
 * Decides whether the initiation @msg (@len bytes) from @src may cost
 * Diffie-Hellman (doc/design.md section 3 "DoS"; WireGuard paper section
 * 5.3): mac1 first, one hash; under load, over UDP, a valid mac2 too, else
 * the sender gets a cookie reply; then the rate limit of its source
 * address.  Over a stream (@stream) TCP has proven the address, so no
 * cookie is asked.  Messages that are not well-formed initiations pass to
 * session_receive(), which refuses and counts them.  Returns true when
 * the message may go on to the session.
 */
bool tunnel_admit(struct tunnel *t, const uint8_t *msg, size_t len,
		  const struct sockaddr_storage *src, socklen_t srclen, bool stream,
		  const char *from, uint64_t now)
{
	bool load = now < t->under_load_until;
	enum cookie_validity v;

	if (len != SESSION_INITIATION_LEN || msg[0] != SESSION_TYPE_INITIATION)
		return true;
	v = cookie_checker_validate(&t->cookie, msg, len, load && !stream,
				    (const struct sockaddr *)src, srclen, now);
	if (v == COOKIE_BAD_MAC1) {
		t->stats.hs_bad_mac1++;
		if (tunnel_warn_due(t, TUNNEL_WARN_MAC1, now))
			log_warnx("handshake from %s rejected: bad mac1 (does the peer have our "
				  "public key?)",
				  from);
		return false;
	}
	if (!ratelimit_bucket_take(&t->load, now, TUNNEL_LOAD_PER_SECOND, TUNNEL_LOAD_BURST))
		t->under_load_until = now + TUNNEL_LOAD_HOLD_MS;
	if (load && !stream && v != COOKIE_MAC1_AND_COOKIE) {
		uint8_t reply[COOKIE_REPLY_LEN];

		/* 64 bytes for 148: a reply amplifies nothing. */
		if (cookie_checker_reply(&t->cookie, msg, len, (const struct sockaddr *)src, srclen,
					 now, reply) == 0 &&
		    sendto(t->udp_fd, reply, sizeof(reply), MSG_DONTWAIT,
			   (const struct sockaddr *)src, srclen) == (ssize_t)sizeof(reply))
			t->stats.cookies_sent++;
		tunnel_warn_load(t, "answered with cookies: under load", from, now);
		return false;
	}
	if (!ratelimit_allow(&t->rl, (const struct sockaddr *)src, srclen, now)) {
		t->stats.hs_rate_limited++;
		tunnel_warn_load(t, "over the rate limit of their address", from, now);
		return false;
	}
	return true;
}

struct peer *tunnel_initiator(struct tunnel *t, const uint8_t *msg, size_t len,
			      const struct sockaddr_storage *src, socklen_t srclen, bool stream,
			      const char *from, uint64_t now)
{
	uint8_t pub[KEY_LEN];
	struct peer *p = NULL;
	int rc;

	if (!tunnel_admit(t, msg, len, src, srclen, stream, from, now))
		return NULL;
	rc = session_identify(t->responder, msg, len, pub);
	if (rc < 0) {
		if (rc == -EBADMSG && tunnel_warn_due(t, TUNNEL_WARN_AUTH, now))
			log_warnx("handshake initiation from %s failed authentication (does the "
				  "peer have our public key?)",
				  from);
		else if (rc == -ETIME && tunnel_warn_due(t, TUNNEL_WARN_REPLAY, now))
			log_warnx("handshake from %s rejected: replayed initiation", from);
		else
			log_debug("handshake initiation from %s dropped: %s", from, strerror(-rc));
		return NULL;
	}
	for (unsigned i = 0; i < t->n_peers && !p; i++)
		if (sodium_memcmp(session_peer_public_key(t->peers[i]->sess), pub, KEY_LEN) == 0)
			p = t->peers[i];
	if (!p) {
		char b64[KEY_BASE64_SIZE];

		t->stats.hs_unknown_key++;
		key_to_base64(b64, pub);
		if (tunnel_warn_due(t, TUNNEL_WARN_KEY, now))
			log_warnx("handshake from %s rejected: its static key %s is no [Peer]'s",
				  from, b64);
	}
	sodium_memzero(pub, sizeof(pub));
	return p;
}

/* True when a listener may hear from @sa: no AllowFrom, or inside one. */
bool tunnel_allowed(const struct tunnel *t, const struct sockaddr_storage *sa)
{
	unsigned i;

	if (!t->cfg.listen || t->n_allow_from == 0)
		return true;
	for (i = 0; i < t->n_allow_from; i++)
		if (endpoint_prefix_match(&t->allow_from[i], (const struct sockaddr *)sa))
			return true;
	return false;
}

void tunnel_set_allow_from(struct tunnel *t, const struct endpoint_prefix *allow, unsigned n)
{
	struct peer *p = t->peer; /* NULL while tunnel_new() starts */

	if (n > TUNNEL_ALLOW_FROM_MAX)
		n = TUNNEL_ALLOW_FROM_MAX;
	if (n)
		memcpy(t->allow_from, allow, n * sizeof(*allow));
	t->n_allow_from = n;
	if ((t->cfg.transport != TUNNEL_TCP && !t->cfg.udp_and_tcp) || !t->cfg.listen || !p)
		return;
	for (unsigned i = 0; i < t->n_peers; i++) {
		p = t->peers[i];
		if (p->fd >= 0 && !tunnel_allowed(t, &p->addr)) {
			log_info("connection from %s is outside AllowFrom now: closing it", p->str);
			tunnel_tcp_close(p);
		}
	}
}

void tunnel_set_peer_to_peer(struct tunnel *t, bool on)
{
	t->cfg.peer_to_peer = on;
}

/* Makes the listening TCP socket (@type SOCK_STREAM) or the UDP socket,
 * bound to cfg.addr when listening.  An IPv6 wildcard socket also takes
 * IPv4 (dual stack). */
static int tunnel_socket_open(struct tunnel *t, int type, char *err, size_t errlen)
{
	int fd = socket(t->cfg.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	char where[ENDPOINT_STRLEN];

	endpoint_format((struct sockaddr *)&t->cfg.addr, where, sizeof(where));
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (t->cfg.addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (type == SOCK_DGRAM)
		tunnel_udp_setopts(t, fd);
	if (t->cfg.listen) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&t->cfg.addr, t->cfg.addr_len) < 0) {
			snprintf(err, errlen, "bind %s: %s", where, strerror(errno));
			close(fd);
			return -1;
		}
		if (type == SOCK_STREAM && listen(fd, 8) < 0) {
			snprintf(err, errlen, "listen %s: %s", where, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Makes the TCP listener on cfg.addr and starts accepting (tunnel_accept_cb());
 * logs it.  Returns 0, or -1 with the reason in @err. */
static int tunnel_listen_tcp(struct tunnel *t, char *err, size_t errlen)
{
	char where[ENDPOINT_STRLEN];

	t->listen_fd = tunnel_socket_open(t, SOCK_STREAM, err, errlen);
	if (t->listen_fd < 0)
		return -1;
	t->listen_ev = event_new(t->base, t->listen_fd, EV_READ | EV_PERSIST, tunnel_accept_cb, t);
	if (!t->listen_ev)
		return -1;
	event_add(t->listen_ev, NULL);
	endpoint_format((struct sockaddr *)&t->cfg.addr, where, sizeof(where));
	log_info("%s: listening on tcp %s", t->dev.name, where);
	return 0;
}

/*
 * The device MTU when none is given (doc/design.md section 10): the MTU of
 * the underlay route toward the peer (RTA_MTU, else the output device's)
 * less the exact overhead of transport and mode (mtu_overhead()), as
 * WireGuard's 1420 is 1500 less 80.  A listener that knows no peer yet
 * cannot look a route up: it assumes MTU_PATH_FALLBACK over the family of
 * its socket (IPv6 for the wildcard, the worst case).  Logs the sum.
 */
static int tunnel_default_mtu(struct tunnel *t, const struct tunnel_config *cfg)
{
	const struct sockaddr_storage *peer = NULL;
	/* Two transports: the larger overhead (TCP's), so that a packet
	 * fits either way. */
	bool udp = cfg->transport == TUNNEL_UDP && !tunnel_two_transports(cfg);
	bool tap = cfg->mode == TUN_MODE_TAP;
	char dev[IF_NAMESIZE] = "", why[96];
	unsigned path = MTU_PATH_FALLBACK, ov;
	uint8_t addr[16];
	int family, oif = 0, mtu;

	if (!cfg->listen)
		peer = &cfg->addr;
	else if (cfg->peer_addr_len)
		peer = &cfg->peer_addr;
	family = tunnel_underlay_family(peer ? peer : &cfg->addr, addr);
	if (family == AF_UNSPEC)
		family = AF_INET6;
	if (peer && t->nl.sock && nl_route_get_mtu(&t->nl, family, addr, &path, &oif) == 0 &&
	    if_indextoname((unsigned)oif, dev))
		snprintf(why, sizeof(why), "route mtu %u via %s", path, dev);
	else
		snprintf(why, sizeof(why), "%s mtu %u (%s)", peer ? "assumed" : "assumed path",
			 path, peer ? "no route to the peer" : "no peer known yet");
	ov = mtu_overhead(family, udp, cfg->sealed, tap);
	/* 68: the least IPv4 takes (RFC 791); 65000: room for the framing
	 * of any mode within a 64 KiB frame (a route over lo says 65536). */
	mtu = path > ov + 68 ? (int)(path - ov) : 68;
	if (mtu > 65000)
		mtu = 65000;
	log_info("mtu %d: %s minus %u (%s %u + %s %u%s%s%s)", mtu, why, ov,
		 family == AF_INET ? "ipv4" : "ipv6",
		 family == AF_INET ? MTU_IPV4_HDR : MTU_IPV6_HDR, udp ? "udp" : "tcp",
		 udp ? MTU_UDP_HDR : MTU_TCP_HDR, cfg->sealed && udp ? "" : " + length 2",
		 cfg->sealed ? " + sealed 32" : "", tap ? " + ethernet 14" : "");
	return mtu;
}

/* nl_addr_list() callback: keeps one address of the device. */
static int tunnel_local_addr_cb(const struct nl_addr *a, void *data)
{
	struct tunnel *t = data;
	struct endpoint_prefix *p = &t->local_addrs[t->n_local_addrs];

	if (t->n_local_addrs == TUNNEL_LOCAL_ADDRS_MAX)
		return 0;
	p->family = a->family;
	p->len = a->family == AF_INET ? 32 : 128;
	memcpy(p->addr, a->addr, a->family == AF_INET ? 4 : 16);
	t->n_local_addrs++;
	return 0;
}

void tunnel_local_addrs(struct tunnel *t)
{
	struct nl_handle *nl = t->dev_nl.sock ? &t->dev_nl : &t->nl;

	/* rtnetlink in the device's namespace (getifaddrs(3) would ask the
	 * sockets' one). */
	t->n_local_addrs = 0;
	if (nl->sock && t->dev_ifindex > 0)
		nl_addr_list(nl, t->dev_ifindex, tunnel_local_addr_cb, t);
}

/*
 * Builds in @aips (made here) the allowed IPs of @peers (@n), each owned by
 * the struct peer at the same place in @next.  A prefix given twice
 * belongs to the later peer, as in WireGuard, with a warning.  Returns 0,
 * or a negative errno with the reason in @err and @aips freed.
 */
static int tunnel_hub_aips(struct allowedips *aips, const struct tunnel_peer_config *peers,
			   struct peer **next, unsigned n, char *err, size_t errlen)
{
	int rc = allowedips_init(aips, TUNNEL_ALLOWED_IPS_MAX);

	for (unsigned i = 0; i < n && rc >= 0; i++)
		for (unsigned k = 0; k < peers[i].n_allowed_ips && rc >= 0; k++) {
			const struct endpoint_prefix *a = &peers[i].allowed_ips[k];
			char buf[ENDPOINT_PREFIX_STRLEN];
			void *prev = allowedips_lookup(aips, a->family, a->addr);

			endpoint_prefix_format(a, buf, sizeof(buf));
			if (allowedips_remove(aips, a->family, a->addr, a->len) == 0 &&
			    prev != next[i])
				log_warnx("AllowedIPs %s is given to more than one peer: the last "
					  "(%s) has it",
					  buf, next[i]->name[0] ? next[i]->name : "unnamed");
			/* 1: host bits were cleared, as tunnel_peer_config allows. */
			rc = allowedips_insert(aips, a->family, a->addr, a->len, next[i]);
			if (rc < 0)
				snprintf(err, errlen, "AllowedIPs %s: %s", buf,
					 rc == -ENOSPC ? "too many prefixes" : strerror(-rc));
		}
	if (rc >= 0)
		return 0;
	allowedips_free(aips);
	return rc;
}

/*
 * Makes a hub's peers from cfg.peers (doc/design.md section 8): the table of
 * allowed IPs, the receiver indices of their sessions, the responder that
 * identifies initiators, and one struct peer each.  Two peers may not share
 * a public key; a prefix given twice belongs to the later peer, as in
 * WireGuard (a warning says so).  Returns 0, or -1 with a reason in @err
 * (and *@usage for a configuration error).
 */
static int tunnel_hub_new(struct tunnel *t, char *err, size_t errlen, bool *usage)
{
	const struct tunnel_config *cfg = &t->cfg;
	int rc;

	t->peers = calloc(cfg->n_peers, sizeof(*t->peers));
	t->fwd_buf = malloc(TUNNEL_FWD_BUF_LEN);
	t->private_key = sodium_malloc(KEY_LEN);
	if (t->private_key) {
		memcpy(t->private_key, cfg->private_key, KEY_LEN);
		t->cfg.private_key = t->private_key;
	}
	if (!t->peers || !t->fwd_buf || !t->private_key ||
	    index_table_init(&t->indices, (size_t)cfg->n_peers * SESSION_MAX_INDICES) < 0 ||
	    session_responder_new(&t->responder, cfg->private_key) < 0 ||
	    (cfg->mode == TUN_MODE_TAP && mactable_init(&t->macs, NULL) < 0)) {
		t->n_peers = 0;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->n_peers = 0;
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		const struct tunnel_peer_config *pc = &cfg->peers[i];
		struct peer *p;

		for (unsigned j = 0; j < i; j++)
			if (sodium_memcmp(cfg->peers[j].public_key, pc->public_key, KEY_LEN) == 0) {
				snprintf(err, errlen, "peers %u and %u have the same public key",
					 j + 1, i + 1);
				*usage = true;
				return -1;
			}
		p = tunnel_peer_new(t, pc, err, errlen, usage);
		if (!p)
			return -1;
		t->peers[t->n_peers++] = p;
		snprintf(p->str, sizeof(p->str), "(none)");
		memcpy(&p->cfg_addr, &pc->endpoint, pc->endpoint_len);
		p->cfg_addr_len = pc->endpoint_len;
	}
	rc = tunnel_hub_aips(&t->aips, cfg->peers, t->peers, t->n_peers, err, errlen);
	if (rc < 0) {
		*usage = rc != -ENOMEM;
		return -1;
	}
	t->peer = t->peers[0];
	tunnel_local_addrs(t);
	return 0;
}

/* The host prefix of @ss's address (an IPv4-mapped IPv6 one as IPv4), as
 * endpoint_prefix_match() compares it. */
static void tunnel_host_prefix(const struct sockaddr_storage *ss, struct endpoint_prefix *pfx)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;

	memset(pfx, 0, sizeof(*pfx));
	if (ss->ss_family == AF_INET) {
		pfx->family = AF_INET, pfx->len = 32;
		memcpy(pfx->addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		pfx->family = AF_INET, pfx->len = 32;
		memcpy(pfx->addr, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		pfx->family = AF_INET6, pfx->len = 128;
		memcpy(pfx->addr, &s6->sin6_addr, 16);
	}
}

/*
 * Makes a plain hub (cfg.plain_hub; doc/design.md section 8): room for
 * TUNNEL_PLAIN_PEERS_MAX peers, its [Peer]s (each with the address its
 * connections come from and, pinned, its AllowedIPs) and none else yet
 * (each other connection makes its own, tunnel_plain_peer_for()), the
 * table of the addresses (TUN) or the MAC table (TAP), and t->peer: the
 * listener's, which no packet goes to.  Returns 0, or -1 with a reason in
 * @err (and *@usage for a configuration error).
 */
static int tunnel_plain_hub_new(struct tunnel *t, char *err, size_t errlen, bool *usage)
{
	const struct tunnel_config *cfg = &t->cfg;

	if (cfg->n_peers > TUNNEL_PLAIN_PEERS_MAX) {
		snprintf(err, errlen, "%u peers: a plain hub holds at most %d", cfg->n_peers,
			 TUNNEL_PLAIN_PEERS_MAX);
		*usage = true;
		return -1;
	}
	t->peers = calloc(TUNNEL_PLAIN_PEERS_MAX, sizeof(*t->peers));
	t->n_peers = 0;
	t->fwd_buf = malloc(TUNNEL_FWD_BUF_LEN);
	t->reap_ev = event_new(t->base, -1, 0, tunnel_reap_cb, t);
	if (!t->peers || !t->fwd_buf || !t->reap_ev ||
	    (cfg->mode == TUN_MODE_TAP && mactable_init(&t->macs, NULL) < 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		const struct tunnel_peer_config *pc = &cfg->peers[i];
		struct peer *p = tunnel_peer_new(t, pc, err, errlen, usage);

		if (!p)
			return -1;
		t->peers[t->n_peers++] = p;
		p->learns = pc->n_allowed_ips == 0;
		tunnel_host_prefix(&pc->endpoint, &p->source);
		memcpy(&p->cfg_addr, &pc->endpoint, pc->endpoint_len);
		p->cfg_addr_len = pc->endpoint_len;
		snprintf(p->str, sizeof(p->str), "(none)");
	}
	if (tunnel_hub_aips(&t->aips, cfg->peers, t->peers, t->n_peers, err, errlen) < 0) {
		*usage = true;
		return -1;
	}
	t->peer = tunnel_peer_new(t, NULL, err, errlen, usage);
	if (!t->peer)
		return -1;
	tunnel_local_addrs(t);
	return 0;
}

/* Points hub peer @p at its configured Endpoint (@pc) and starts a
 * handshake there. */
static void tunnel_hub_call(struct peer *p, const struct tunnel_peer_config *pc, uint64_t now)
{
	memcpy(&p->addr, &pc->endpoint, pc->endpoint_len);
	p->addr_len = pc->endpoint_len;
	endpoint_format((struct sockaddr *)&p->addr, p->str, sizeof(p->str));
	log_info("%s: peer %s at udp %s", p->t->dev.name, p->name[0] ? p->name : "(unnamed)",
		 p->str);
	if (p->sess)
		tunnel_sess_initiate(p, now);
}

/* Points each hub peer that has an Endpoint there and starts its
 * handshake; the others wait to be heard from. */
static void tunnel_hub_start(struct tunnel *t)
{
	const struct tunnel_config *cfg = &t->cfg;
	uint64_t now = tunnel_now_ms();

	for (unsigned i = 0; i < t->n_peers; i++) {
		struct peer *p = t->peers[i];
		const struct tunnel_peer_config *pc = &cfg->peers[i];

		if (pc->endpoint_len)
			tunnel_hub_call(p, pc, now);
	}
	/* Only tunnel_new()'s copy of cfg, not the caller's peers, lives on. */
	t->cfg.peers = NULL;
}

/* The peer of @t whose public key is @key (KEY_LEN bytes), or NULL. */
static struct peer *tunnel_peer_by_key(const struct tunnel *t, const uint8_t *key)
{
	for (unsigned i = 0; i < t->n_peers; i++)
		if (sodium_memcmp(session_peer_public_key(t->peers[i]->sess), key, KEY_LEN) == 0)
			return t->peers[i];
	return NULL;
}

int tunnel_hub_update(struct tunnel *t, const struct tunnel_peer_config *peers, unsigned n,
		      bool peer_to_peer, unsigned *kept, unsigned *added, unsigned *removed,
		      char *err, size_t errlen)
{
	struct peer **next = NULL;
	bool *fresh = NULL, usage = false;
	struct allowedips aips;
	unsigned n_kept = 0, n_added = 0, n_removed = 0;
	uint64_t now = tunnel_now_ms();

	err[0] = '\0';
	if (!t->routed || n == 0 || n > TUNNEL_PEERS_MAX) {
		snprintf(err, errlen, "%u peers: a hub serves 1 to " TUNNEL_STR(TUNNEL_PEERS_MAX),
			 n);
		return -1;
	}
	next = calloc(n, sizeof(*next));
	fresh = calloc(n, sizeof(*fresh));
	if (!next || !fresh || index_table_grow(&t->indices, (size_t)n * SESSION_MAX_INDICES) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* First what may fail: new sessions, the new table.  Nothing of the
	 * running hub changes until both are made. */
	for (unsigned i = 0; i < n; i++) {
		struct peer *p = tunnel_peer_by_key(t, peers[i].public_key);

		for (unsigned j = 0; j < i; j++)
			if (sodium_memcmp(peers[j].public_key, peers[i].public_key, KEY_LEN) == 0) {
				snprintf(err, errlen, "peers %u and %u have the same public key",
					 j + 1, i + 1);
				goto fail;
			}
		if (p && peers[i].same_psk) {
			next[i] = p;
			continue;
		}
		next[i] = tunnel_peer_new(t, &peers[i], err, errlen, &usage);
		if (!next[i])
			goto fail;
		fresh[i] = true;
		snprintf(next[i]->str, sizeof(next[i]->str), "(none)");
	}
	if (tunnel_hub_aips(&aips, peers, next, n, err, errlen) < 0)
		goto fail;

	/* Then the change, which cannot fail.  Peers that go: */
	for (unsigned i = 0; i < t->n_peers; i++) {
		struct peer *p = t->peers[i];
		bool stays = false;

		for (unsigned j = 0; j < n && !stays; j++)
			stays = next[j] == p;
		if (stays)
			continue;
		log_info("%s: peer %s removed", t->dev.name, p->name[0] ? p->name : p->str);
		if (t->macs.slots)
			mactable_remove_peer(&t->macs, &p->macs);
		tunnel_peer_free(p); /* its session gives its indices back */
		n_removed++;
	}
	allowedips_free(&t->aips);
	t->aips = aips;
	free(t->peers);
	t->peers = next;
	t->n_peers = n;
	t->peer = next[0];
	t->cfg.peer_to_peer = peer_to_peer;
	for (unsigned i = 0; i < n; i++) {
		const struct tunnel_peer_config *pc = &peers[i];
		struct peer *p = next[i];
		bool moved =
		    pc->endpoint_len && (pc->endpoint_len != p->cfg_addr_len ||
					 !endpoint_equal((const struct sockaddr *)&pc->endpoint,
							 (const struct sockaddr *)&p->cfg_addr));

		snprintf(p->name, sizeof(p->name), "%s", pc->name ? pc->name : "");
		p->keepalive_ms = pc->keepalive_ms;
		p->dead_peer_ms = pc->dead_peer_ms;
		/* A new pin takes effect from the next handshake; the one on
		 * the other transport goes at once. */
		p->transports = pc->transports;
		if (!tunnel_peer_may_use(p, p->transport)) {
			log_info("%s: peer %s is no longer served over %s", t->dev.name,
				 p->name[0] ? p->name : "(unnamed)",
				 tunnel_transport_name(p->transport));
			tunnel_tcp_close(p);
			/* Unreachable until it completes a handshake over
			 * the other transport. */
			p->addr_len = 0;
			p->transport = p->transport == TUNNEL_TCP ? TUNNEL_UDP : TUNNEL_TCP;
		}
		memcpy(&p->cfg_addr, &pc->endpoint, pc->endpoint_len);
		p->cfg_addr_len = pc->endpoint_len;
		if (fresh[i])
			n_added++;
		else
			n_kept++;
		if (fresh[i] && !pc->endpoint_len)
			log_info("%s: peer %s added", t->dev.name,
				 p->name[0] ? p->name : "(unnamed)");
		if (moved)
			tunnel_hub_call(p, pc, now);
	}
	free(fresh);
	if (kept)
		*kept = n_kept;
	if (added)
		*added = n_added;
	if (removed)
		*removed = n_removed;
	return 0;
fail:
	for (unsigned i = 0; next && fresh && i < n; i++)
		if (fresh[i])
			tunnel_peer_free(next[i]);
	free(next);
	free(fresh);
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	return -1;
}

/* What tunnel_dev_setup() works on, in the device's namespace. */
struct tunnel_dev_setup {
	struct tunnel *t;
	const struct tunnel_config *cfg;
	char *err;
	size_t errlen;
	bool *usage;
	int default_mtu; /* with cfg->mtu 0: from the underlay's route, bytes */
	int mtu;         /* out: the device MTU, bytes */
};

/* Writes into @buf (@len bytes) the calling thread's namespace as the
 * status names it (tunnel_dev_netns()): its name, else "net:[INODE]" when
 * @unnamed, else "". */
static void tunnel_netns_label(char *buf, size_t len, bool unnamed)
{
	struct stat st;

	if (netns_identify(buf, len) == 0)
		return;
	buf[0] = '\0';
	if (unnamed && stat(NETNS_SELF, &st) == 0)
		snprintf(buf, len, "net:[%llu]", (unsigned long long)st.st_ino);
}

/*
 * Attaches to (or makes) the device, sets its MTU and sets it up: in the
 * device's namespace (netns_run_in()), where ioctl sockets and rtnetlink
 * see it.  Returns 0 with s->mtu set, or -1 with the reason in s->err.
 */
static int tunnel_dev_setup(void *arg)
{
	struct tunnel_dev_setup *s = arg;
	struct tunnel *t = s->t;
	const struct tunnel_config *cfg = s->cfg;
	char *err = s->err;
	size_t errlen = s->errlen;
	bool *usage = s->usage;
	int rc, mtu = 0;

	if (t->routed && cfg->offload)
		log_info("%s: offloads off: a hub routes every packet on its own", cfg->dev_name);
	if (cfg->dev) {
		t->dev = *cfg->dev;
		rc = 0;
		if (t->dev.vnet && (t->routed || !cfg->offload)) {
			snprintf(err, errlen,
				 "%s: the descriptor was attached with IFF_VNET_HDR, which %s "
				 "cannot take",
				 t->dev.name, t->routed ? "a hub" : "Offload = no");
			*usage = true;
			return -1;
		}
	} else {
		rc =
		    tun_open_offload(&t->dev, cfg->dev_name, cfg->mode, cfg->offload && !t->routed);
	}
	if (rc < 0) {
		const char *hint = "";

		if (rc == -EPERM)
			hint = " (need CAP_NET_ADMIN, or a persistent device owned by this user)";
		else if (rc == -EBUSY)
			hint = " (another process has it open)";
		else if (rc == -EACCES)
			hint = " (/dev/net/tun is closed to this user: udev makes it mode 0666, "
			       "chmod 0666 /dev/net/tun where no udev runs)";
		else if (rc == -EINVAL)
			hint = cfg->mode == TUN_MODE_TAP ? " (exists, but is not a TAP device)"
							 : " (exists, but is not a TUN device)";
		snprintf(err, errlen, "open %s %s: %s%s", cfg->mode == TUN_MODE_TAP ? "TAP" : "TUN",
			 cfg->dev_name, strerror(-rc), hint);
		*usage = rc == -EINVAL || rc == -ENAMETOOLONG;
		return -1;
	}
	if (cfg->mtu == 0) {
		mtu = s->default_mtu;
		rc = tun_get_mtu(t->dev.name, &t->dev_mtu);
		if (rc == 0 && t->dev_mtu != mtu)
			rc = tun_set_mtu(t->dev.name, mtu);
		if (rc == -EPERM) {
			log_warnx("cannot set the MTU of %s to %d (%s): keeping %d", t->dev.name,
				  mtu, strerror(-rc), t->dev_mtu);
			mtu = t->dev_mtu;
		} else if (rc < 0) {
			snprintf(err, errlen, "set MTU of %s to %d: %s", t->dev.name, mtu,
				 strerror(-rc));
			return -1;
		}
	} else if (cfg->mtu > 0) {
		rc = tun_get_mtu(t->dev.name, &mtu);
		if (rc == 0 && mtu != cfg->mtu)
			rc = tun_set_mtu(t->dev.name, cfg->mtu);
		if (rc < 0) {
			snprintf(err, errlen, "set MTU of %s to %d: %s%s", t->dev.name, cfg->mtu,
				 strerror(-rc),
				 rc == -EPERM ? " (need CAP_NET_ADMIN; or set it beforehand and "
						"leave --mtu out)"
					      : "");
			*usage = rc == -EINVAL;
			return -1;
		}
		mtu = cfg->mtu;
	} else if ((rc = tun_get_mtu(t->dev.name, &mtu)) < 0) {
		snprintf(err, errlen, "get MTU of %s: %s", t->dev.name, strerror(-rc));
		return -1;
	}
	rc = tun_set_up(t->dev.name);
	if (rc == -EPERM && !t->dev.created) {
		/* An unprivileged culvertd on a persistent device: whoever made
		 * the device sets it up; say so, but serve. */
		log_warnx("cannot set %s up (%s): set it up beforehand (culvertctl link set %s up)",
			  t->dev.name, strerror(-rc), t->dev.name);
	} else if (rc < 0) {
		snprintf(err, errlen, "set %s up: %s", t->dev.name, strerror(-rc));
		return -1;
	}
	t->dev_ifindex = (int)if_nametoindex(t->dev.name);
	if (t->dev_netns_fd >= 0) {
		tunnel_netns_label(t->dev_netns, sizeof(t->dev_netns), true);
		/* The device's addresses are read there (a hub's own
		 * addresses); without, a hub answers nothing for itself. */
		if (nl_open(&t->dev_nl, NULL, 0) < 0)
			t->dev_nl.sock = NULL;
	}
	s->mtu = mtu;
	return 0;
}

struct tunnel *tunnel_new(struct event_base *base, const struct tunnel_config *cfg, char *err,
			  size_t errlen, bool *usage)
{
	struct tunnel *t = calloc(1, sizeof(*t));
	struct tunnel_dev_setup setup = {t, cfg, err, errlen, usage, 0, 0};
	struct peer *p;
	int rc, mtu = 0;

	*usage = false;
	if (!t) {
		if (cfg->dev_netns_fd >= 0)
			close(cfg->dev_netns_fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = base;
	t->cfg = *cfg;
	t->listen_fd = t->udp_fd = -1;
	t->dev.fd = -1;
	t->dev_netns_fd = cfg->dev_netns_fd;
	for (unsigned i = 0; i < TUNNEL_PENDING_MAX; i++)
		t->pending[i].fd = -1;
	tunnel_set_allow_from(t, cfg->allow_from, cfg->n_allow_from);
	t->cfg.allow_from = NULL; /* copied into allow_from */
	if (t->cfg.out_high == 0)
		t->cfg.out_high = TUNNEL_OUT_HIGH_DEFAULT;

	t->routed = cfg->n_peers > 0 || cfg->plain_hub;
	t->peers = &t->peer;
	t->n_peers = 1;
	if (cfg->plain_hub && (cfg->sealed || !cfg->listen || cfg->plain_offload)) {
		snprintf(err, errlen, "a plain hub is plain, with a listener");
		*usage = true;
		goto fail;
	}
	if ((cfg->udp_and_tcp || cfg->auto_transport) &&
	    (!cfg->sealed || cfg->transport != TUNNEL_UDP || cfg->plain_hub ||
	     (cfg->udp_and_tcp && !cfg->listen) ||
	     (cfg->auto_transport && (cfg->listen || cfg->n_peers)))) {
		snprintf(err, errlen,
			 cfg->udp_and_tcp ? "both transports: a sealed listener only"
					  : "Transport = auto: a sealed one-peer client only");
		*usage = true;
		goto fail;
	}
	if (cfg->n_peers && !cfg->plain_hub &&
	    (!cfg->sealed || (cfg->transport == TUNNEL_TCP && !cfg->listen) ||
	     cfg->n_peers > TUNNEL_PEERS_MAX)) {
		snprintf(
		    err, errlen,
		    cfg->n_peers > TUNNEL_PEERS_MAX
			? "%u peers: at most " TUNNEL_STR(TUNNEL_PEERS_MAX) " on one interface"
			: "a hub (%u peers, AllowedIPs) needs sealed mode, and over TCP a listener",
		    cfg->n_peers);
		*usage = true;
		goto fail;
	}
	/* Errors are no reason to stop: without rtnetlink, no route
	 * lookups (the fallbacks apply).  Opened here: the underlay's. */
	if (nl_open(&t->nl, NULL, 0) < 0)
		t->nl.sock = NULL;
	tunnel_netns_label(t->underlay_netns, sizeof(t->underlay_netns), t->dev_netns_fd >= 0);
	if (t->dev_netns_fd < 0)
		memcpy(t->dev_netns, t->underlay_netns, sizeof(t->dev_netns));
	/* The route toward the peer is the underlay's: looked up here. */
	if (cfg->mtu == 0)
		setup.default_mtu = tunnel_default_mtu(t, cfg);
	err[0] = '\0';
	rc = netns_run_in(t->dev_netns_fd, tunnel_dev_setup, &setup);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "enter the device's network namespace: %s%s",
				 strerror(-rc),
				 rc == -EPERM ? " (need CAP_SYS_ADMIN at start-up)" : "");
		goto fail;
	}
	mtu = setup.mtu;
	t->max_len = (size_t)mtu + (cfg->mode == TUN_MODE_TAP ? TUN_TAP_HDR_LEN : 0);
	t->rx_max = t->max_len > TUNNEL_RX_MIN ? t->max_len : TUNNEL_RX_MIN;
	t->dev_mtu = mtu;
	t->inner_mtu = (unsigned)mtu;
	t->fit_len = t->max_len;
	if (t->max_len > FRAME_MAX_LEN) {
		snprintf(err, errlen, "MTU %d of %s is above the frame maximum %d", mtu,
			 t->dev.name, FRAME_MAX_LEN);
		*usage = true;
		goto fail;
	}

	/* A slot holds one frame: the length prefix, in sealed mode the
	 * transport header, the packet (one byte more, to tell oversize
	 * ones), and in sealed mode the tag. */
	t->frame_hdr = cfg->sealed && cfg->transport == TUNNEL_UDP && !tunnel_two_transports(cfg)
			   ? 0
			   : FRAME_HDR_LEN;
	t->pkt_off = t->frame_hdr + (cfg->sealed ? SESSION_TRANSPORT_HEADER_LEN : 0);
	t->slot_len = t->pkt_off + t->max_len + 1 + (cfg->sealed ? NOISE_TAG_LEN : 0);
	t->dev_buf_len = 2 * t->slot_len;
	if (t->dev_buf_len < TUNNEL_DEV_BUF_MIN)
		t->dev_buf_len = TUNNEL_DEV_BUF_MIN;
	if (cfg->offload && !t->dev.vnet && cfg->dev && !t->routed)
		log_info("%s: the descriptor was attached without IFF_VNET_HDR: no offloads",
			 t->dev.name);
	else if (cfg->offload && !t->dev.vnet && !t->routed)
		log_warnx("%s: the kernel refused TUN/TAP offloads; going without", t->dev.name);
	if (t->dev.vnet) {
		t->dev_buf_len = TUNNEL_VNET_DEV_BUF;
		t->offload_max = cfg->sealed ? SESSION_MAX_PACKET_LEN : FRAME_MAX_LEN;
		t->gso_buf = malloc(TUNNEL_VNET_READ_MAX);
		if (!t->gso_buf ||
		    vnet_gro_init(&t->gro, TUNNEL_VNET_READ_MAX, cfg->mode == TUN_MODE_TAP) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	} else if (cfg->plain_offload) {
		snprintf(err, errlen, "PlainOffload: %s has no offloads", t->dev.name);
		goto fail;
	}
	if (cfg->sealed) {
		uint8_t pub[KEY_LEN];

		if (key_public_from_private(pub, cfg->private_key) == 0)
			key_to_base64(t->public_key, pub);
		cookie_checker_init(&t->cookie, pub);
		if (ratelimit_init(&t->rl) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		t->msg = malloc(TUNNEL_DGRAM_MAX);
		if (!t->msg) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (cfg->plain_hub) {
		if (tunnel_plain_hub_new(t, err, errlen, usage) < 0)
			goto fail;
		p = t->peer;
	} else if (t->routed) {
		if (tunnel_hub_new(t, err, errlen, usage) < 0)
			goto fail;
		p = t->peer;
	} else {
		t->peer = p = tunnel_peer_new(t, NULL, err, errlen, usage);
		if (!p)
			goto fail;
	}
	t->dev_buf = malloc(t->dev_buf_len);
	t->dev_ev = event_new(base, t->dev.fd, EV_READ | EV_PERSIST, tunnel_dev_read_cb, t);
	if (!t->dev_buf || !t->dev_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->pending_cap =
	    FRAME_HDR_LEN + (cfg->sealed ? SESSION_INITIATION_LEN : tunnel_frame_max(t));
	t->tick_ev = event_new(base, -1, EV_PERSIST, tunnel_tick_cb, t);
	if (!t->tick_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->started_ms = tunnel_now_ms();
	tunnel_set_liveness(t, cfg->keepalive_ms, cfg->dead_peer_ms);

	endpoint_format((struct sockaddr *)&cfg->addr, p->str, sizeof(p->str));
	if (cfg->transport == TUNNEL_TCP && cfg->listen) {
		if (tunnel_listen_tcp(t, err, errlen) < 0)
			goto fail;
		snprintf(p->str, sizeof(p->str), "(none)");
	} else if (cfg->transport == TUNNEL_TCP) {
		log_info("%s: connecting to tcp %s", t->dev.name, p->str);
		tunnel_connect_start(p);
	} else {
		t->udp_fd = tunnel_socket_open(t, SOCK_DGRAM, err, errlen);
		if (t->udp_fd < 0)
			goto fail;
		/* Transports = udp, tcp: the same port over TCP too. */
		if (cfg->udp_and_tcp && tunnel_listen_tcp(t, err, errlen) < 0)
			goto fail;
		t->dgram = malloc((size_t)TUNNEL_UDP_RX_BATCH * TUNNEL_DGRAM_MAX);
		t->udp_rd_ev =
		    event_new(base, t->udp_fd, EV_READ | EV_PERSIST, tunnel_udp_read_cb, t);
		t->udp_wr_ev =
		    event_new(base, t->udp_fd, EV_WRITE | EV_PERSIST, tunnel_udp_write_cb, t);
		if (!t->dgram || !t->udp_rd_ev || !t->udp_wr_ev) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		event_add(t->udp_rd_ev, NULL);
		t->pmtu_ev = event_new(base, -1, EV_PERSIST, tunnel_pmtu_cb, t);
		if (!t->pmtu_ev) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		struct timeval poll = {TUNNEL_PMTU_POLL_MS / 1000,
				       (TUNNEL_PMTU_POLL_MS % 1000) * 1000};

		event_add(t->pmtu_ev, &poll);
		if (t->routed) {
			log_info("%s: %s udp %s, %u peers", t->dev.name,
				 cfg->listen ? "listening on" : "sending from", p->str, t->n_peers);
			tunnel_hub_start(t);
		} else if (cfg->listen && cfg->peer_addr_len) {
			log_info("%s: listening on udp %s", t->dev.name, p->str);
			memcpy(&p->addr, &cfg->peer_addr, cfg->peer_addr_len);
			p->addr_len = cfg->peer_addr_len;
			endpoint_format((struct sockaddr *)&p->addr, p->str, sizeof(p->str));
			log_info("%s: sending to udp %s until the peer speaks", t->dev.name,
				 p->str);
			if (p->sess)
				tunnel_sess_initiate(p, tunnel_now_ms());
		} else if (cfg->listen) {
			log_info("%s: listening on udp %s", t->dev.name, p->str);
			snprintf(p->str, sizeof(p->str), "(none)");
		} else {
			memcpy(&p->addr, &cfg->addr, cfg->addr_len);
			p->addr_len = cfg->addr_len;
			log_info("%s: sending to udp %s", t->dev.name, p->str);
			if (p->sess)
				tunnel_sess_initiate(p, tunnel_now_ms());
		}
	}
	t->cfg.peers = NULL; /* the caller's: only their copies live on */
	event_add(t->dev_ev, NULL);
	if (cfg->transport == TUNNEL_UDP)
		tunnel_pmtu_poll_all(t);
	if (t->dev.vnet)
		log_info("%s: offloads on: TSO%s%s", t->dev.name, t->udp_gso ? ", UDP GSO" : "",
			 t->udp_gro ? ", UDP GRO" : "");
	log_info("%s: %s device%s, MTU %d, frames up to %zu bytes, %s", t->dev.name,
		 cfg->mode == TUN_MODE_TAP ? "TAP" : "TUN", t->dev.created ? " (created)" : "", mtu,
		 tunnel_frame_max(t), cfg->sealed ? "sealed" : "plain");
	return t;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	tunnel_free(t);
	return NULL;
}

void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	if ((t->cfg.transport == TUNNEL_TCP || tunnel_two_transports(&t->cfg)) && t->peer) {
		t->cfg.listen = true; /* no reconnect timer from the close */
		tunnel_tcp_close(t->peer);
	}
	if (t->routed) {
		/* The sessions give their indices back to the table first. */
		for (unsigned i = 0; t->peers && i < t->n_peers; i++)
			tunnel_peer_free(t->peers[i]);
		free(t->peers);
		allowedips_free(&t->aips);
		mactable_cleanup(&t->macs);
		index_table_free(&t->indices);
		session_responder_free(t->responder);
		if (t->fwd_buf)
			sodium_memzero(t->fwd_buf, TUNNEL_FWD_BUF_LEN);
		free(t->fwd_buf);
		sodium_free(t->private_key);
		if (t->cfg.plain_hub)
			tunnel_peer_free(t->peer); /* the listener's, in no slot */
		if (t->reap_ev)
			event_free(t->reap_ev);
	} else {
		tunnel_peer_free(t->peer);
	}
	if (t->udp_rd_ev)
		event_free(t->udp_rd_ev);
	if (t->udp_wr_ev)
		event_free(t->udp_wr_ev);
	if (t->udp_fd >= 0)
		close(t->udp_fd);
	for (unsigned i = 0; i < TUNNEL_PENDING_MAX; i++) {
		tunnel_pending_close(&t->pending[i]);
		free(t->pending[i].buf);
	}
	if (t->listen_ev)
		event_free(t->listen_ev);
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->dev_ev)
		event_free(t->dev_ev);
	if (t->tick_ev)
		event_free(t->tick_ev);
	if (t->pmtu_ev)
		event_free(t->pmtu_ev);
	nl_close(&t->nl);
	nl_close(&t->dev_nl);
	if (t->dev_netns_fd >= 0)
		close(t->dev_netns_fd);
	cookie_checker_cleanup(&t->cookie);
	ratelimit_cleanup(&t->rl);
	if (t->msg)
		sodium_memzero(t->msg, TUNNEL_DGRAM_MAX);
	free(t->msg);
	free(t->dgram);
	free(t->dev_buf);
	free(t->gso_buf);
	vnet_gro_free(&t->gro);
	tun_close(&t->dev);
	free(t);
}

const char *tunnel_dev_name(const struct tunnel *t)
{
	return t->dev.name;
}

const char *tunnel_dev_netns(const struct tunnel *t)
{
	return t->dev_netns;
}

int tunnel_dev_netns_fd(const struct tunnel *t)
{
	return t->dev_netns_fd;
}

bool tunnel_failed(const struct tunnel *t)
{
	return t->failed;
}
