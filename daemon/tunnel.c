/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/errqueue.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cookie.h"
#include "endpoint.h"
#include "frame.h"
#include "key.h"
#include "log.h"
#include "mtu.h"
#include "netlink.h"
#include "ratelimit.h"
#include "session.h"
#include "status.h"
#include "tunnel.h"
#include "vnet.h"

/* Room for the largest UDP datagram, so recv() never truncates one. */
#define TUNNEL_DGRAM_MAX 65536
/* Datagrams one recvmmsg(2) takes at most.  Their buffers are virtual
 * memory until a datagram lands in them: a 1500-byte one touches a page. */
#define TUNNEL_UDP_RX_BATCH 16
/* UDP socket buffers, bytes each way (the kernel doubles it for overhead). */
#define TUNNEL_UDP_SOCKBUF (4 * 1024 * 1024)
/* Device-side batch buffer: at least this many bytes of frames per wakeup. */
#define TUNNEL_DEV_BUF_MIN (256 * 1024)
/* Frames one device drain makes at most (a TSO packet is cut into up to 45
 * at a 1500-byte MTU); also the most sendmmsg(2) takes at once. */
#define TUNNEL_TX_MAX 1024
/* With offloads: the largest read (a 64 KiB IPv6 TSO packet behind an
 * Ethernet header with two VLAN tags), bytes after the virtio-net header ... */
#define TUNNEL_VNET_READ_MAX (65535 + 40 + 14 + 2 * 4)
/* ... the room one read may need for its frames (a 64 KiB packet cut into
 * segments of 536 bytes needs 78 KiB), and the batch buffer. */
#define TUNNEL_VNET_ROOM    (160 * 1024)
#define TUNNEL_VNET_SEGS    256
#define TUNNEL_VNET_DEV_BUF (1024 * 1024)
/* UDP GSO (UDP_SEGMENT): datagrams one send carries at most (the kernel's
 * UDP_MAX_SEGMENTS) and their bytes (one IP packet's worth). */
#define TUNNEL_UDP_GSO_SEGS  64
#define TUNNEL_UDP_GSO_BYTES 65000

/* Sealed TCP listener: connections that have not yet completed a handshake
 * are held apart from the established one, at most this many (the oldest
 * makes room for a new one), each for at most this long (doc/design.md
 * section 3 "DoS"). */
#define TUNNEL_PENDING_MAX        8
#define TUNNEL_PENDING_TIMEOUT_MS 5000
/* Initiations that passed mac1, interface-wide: past this rate (after the
 * burst) the tunnel is under load for TUNNEL_LOAD_HOLD_MS and an initiation
 * over UDP needs a valid mac2, else it gets a cookie reply (WireGuard paper
 * section 5.3).  One honest peer initiates every few seconds at most; the
 * rate stays below RATELIMIT_PER_SECOND so that a flood trips the cookies
 * before it drains the bucket of the address it claims. */
#define TUNNEL_LOAD_PER_SECOND 10
#define TUNNEL_LOAD_BURST      16
#define TUNNEL_LOAD_HOLD_MS    1000
/* A cookie reply makes us initiate again at once, at most this often;
 * otherwise the retry waits for the session's own timer. */
#define TUNNEL_COOKIE_RETRY_MS SESSION_REKEY_TIMEOUT_MS
/* A datagram from the peer carries at most this many frames (culvert sends
 * one a datagram): a datagram of tiny frames cannot cost thousands of
 * device writes. */
#define TUNNEL_DGRAM_FRAMES_MAX TUNNEL_BATCH
/* Frames from the peer are taken up to the larger of our own maximum and
 * this (a 9000-byte jumbo MTU on TAP with a VLAN tag), bytes: a peer whose
 * default MTU came out larger (another route, doc/design.md section 10) is
 * not refused. */
#define TUNNEL_RX_MIN (9000 + TUN_TAP_HDR_LEN)
/* ICMP "too big" messages written into the device, at most per second
 * after a burst of as many (RFC 1812 section 4.3.2.8). */
#define TUNNEL_ICMP_PER_SECOND 100
/* How often the path MTU toward a UDP peer is read from the kernel's route
 * (and its path MTU cache), ms. */
#define TUNNEL_PMTU_POLL_MS 1000

/* A TCP connection on probation beside the established one: before its
 * deadline its first frame must prove it, in sealed mode an initiation
 * that completes a handshake, in plain mode any valid packet. */
struct tunnel_pending {
	struct tunnel *t;
	int fd; /* -1: free */
	struct event *ev;
	uint64_t deadline_ms;
	size_t have; /* bytes of buf received */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint8_t *buf; /* one whole frame: pending_cap bytes, made at first use */
};

/* What one device drain made: frames, back to back from dev_buf. */
struct tunnel_drain {
	unsigned frames;  /* frames, each noted in tx_iov */
	uint64_t packets; /* packets they carry (a TSO packet counts its segments) */
	uint64_t payload; /* bytes of those packets */
	size_t len;       /* bytes of frames */
	/* The last frame carries a packet too long for the path that no
	 * router would answer (IPv4 without DF, IPv6 of at most 1280 bytes,
	 * ICMP errors, multicast): it goes alone, fragmented by the underlay
	 * (tunnel_udp_send_frag()); the drain ends with it. */
	bool frag_last;
};

struct tunnel {
	struct event_base *base;
	struct tunnel_config cfg;
	struct tun_device dev;
	size_t max_len; /* largest payload read from the device, bytes */
	size_t rx_max;  /* largest payload taken from the peer, bytes */

	/* MTU and path MTU (doc/design.md section 10): the device MTU; over
	 * UDP the underlay path MTU toward the peer (0: not known), read from
	 * the kernel's route every TUNNEL_PMTU_POLL_MS; the largest inner IP
	 * packet that fits it (never above dev_mtu, never below
	 * MTU_IPV4_FLOOR) and the largest device read that goes out without
	 * a check (fit_len: max_len while everything fits). */
	int dev_mtu;
	unsigned pmtu;
	unsigned inner_mtu;
	size_t fit_len;
	struct nl_handle nl;
	struct event *pmtu_ev;
	struct ratelimit_bucket icmp_bucket;
	uint8_t icmp_buf[MTU_ICMP_MAX];

	struct event *dev_ev;
	bool dev_paused;
	uint8_t *dev_buf; /* frames read from the device: [hdr|packet]... */
	size_t dev_buf_len;

	int listen_fd; /* TCP server only */
	struct event *listen_ev;
	int sock_fd; /* the connection (TCP) or the socket (UDP); -1 if none */
	struct event *sock_rd_ev;
	struct event *sock_wr_ev;
	bool connecting;      /* TCP client: connect() under way */
	struct evbuffer *out; /* TCP bytes the socket has not taken yet */
	struct frame_reader reader;
	/* UDP: TUNNEL_UDP_RX_BATCH receive buffers of TUNNEL_DGRAM_MAX bytes
	 * for recvmmsg(2), and the datagrams of one device drain for
	 * sendmmsg(2). */
	uint8_t *dgram;
	struct mmsghdr rx_msg[TUNNEL_UDP_RX_BATCH];
	struct iovec rx_iov[TUNNEL_UDP_RX_BATCH];
	struct sockaddr_storage rx_src[TUNNEL_UDP_RX_BATCH];
	struct mmsghdr tx_msg[TUNNEL_TX_MAX];
	struct iovec tx_iov[TUNNEL_TX_MAX];
	uint32_t tx_pktlen[TUNNEL_TX_MAX];
	/* UDP GSO: each message of tx_msg sends the frames tx_first[i] ..
	 * tx_first[i] + tx_count[i] - 1 through tx_run[i], a UDP_SEGMENT
	 * control message in tx_ctl[i] when more than one; UDP GRO on receive,
	 * the segment size in rx_ctl. */
	bool udp_gso, udp_gro;
	struct iovec tx_run[TUNNEL_TX_MAX];
	uint16_t tx_first[TUNNEL_TX_MAX], tx_count[TUNNEL_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} tx_ctl[TUNNEL_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} rx_ctl[TUNNEL_UDP_RX_BATCH];

	/* Offloads (lib/vnet.h), when the device has the virtio-net header:
	 * peer_offload when frames to the peer carry the header and whole TSO
	 * packets (PlainOffload, or the peer's offer in sealed mode, over
	 * TCP only); otherwise a read goes to gso_buf and is cut into
	 * segments.  Packets from the peer are coalesced by gro. */
	bool peer_offload;
	size_t offload_max; /* largest header + packet one frame carries */
	uint8_t vhdr[VNET_HDR_LEN];
	uint8_t *gso_buf;
	uint16_t seg_len[TUNNEL_TX_MAX];
	struct vnet_gro gro;

	struct sockaddr_storage peer; /* the peer's endpoint, once known */
	socklen_t peer_len;
	char peer_str[ENDPOINT_STRLEN];

	struct event *retry_ev; /* TCP client reconnect timer */
	unsigned backoff_ms;

	/* Sealed mode (doc/design.md section 3); sess is NULL in plain mode. */
	struct session *sess;
	struct event *sess_ev;   /* the session's next deadline */
	uint8_t *msg;            /* a decrypted packet or a handshake message */
	size_t frame_hdr;        /* FRAME_HDR_LEN; 0 for sealed UDP (datagrams) */
	size_t pkt_off;          /* where a device packet is read in a slot */
	size_t slot_len;         /* room for one frame in dev_buf */
	uint64_t last_handshake; /* session_last_handshake_ms() seen last */
	uint64_t initiated_us;   /* when our latest initiation left, µs */
	uint64_t handshake_us;   /* its round trip, once answered, µs */
	uint64_t sessions;       /* keypairs that became current */
	uint64_t seen_bad_mac1, seen_bad_handshake;
	uint64_t warned_at[5]; /* ms of the last warning, by enum tunnel_warning */
	/* Handshake admission (doc/design.md section 3 "DoS"): mac1 and mac2
	 * of initiations, cookie replies, a rate limit per source address,
	 * the load meter; pending TCP connections. */
	struct cookie_checker cookie;
	struct ratelimit rl;
	struct ratelimit_bucket load;
	uint64_t under_load_until;
	uint64_t cookie_retry_ms; /* our last initiation sent for a cookie */
	struct tunnel_pending pending[TUNNEL_PENDING_MAX];
	size_t pending_cap; /* bytes of each pending buf: the largest first frame */
	/* A listener's allowed sources; none: anyone. */
	struct endpoint_prefix allow_from[TUNNEL_ALLOW_FROM_MAX];
	unsigned n_allow_from;

	/* Liveness (keepalive, dead-peer detection); ms of the last frame
	 * sent to and received from the peer, updated once per batch. */
	struct event *tick_ev;
	uint64_t last_tx_ms;
	uint64_t last_rx_ms;

	bool failed;
	struct tunnel_stats stats;
	uint64_t started_ms;
	char public_key[KEY_BASE64_SIZE]; /* ours, sealed mode; "" plain */

	/* tunnel_set_lost_cb(): before a TCP client reconnects, after a
	 * dead peer over UDP. */
	void (*lost_cb)(void *arg);
	void *lost_arg;
	uint64_t underlay_kick_ms; /* tunnel_underlay_changed() acted, ms */
};

static void tunnel_dev_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_write_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_connect_start(struct tunnel *t);
static void tunnel_tick_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_close(struct tunnel *t);
static void tunnel_send_msg(struct tunnel *t, const uint8_t *msg, size_t len);
static int tunnel_tcp_flush(struct tunnel *t);
static void tunnel_sess_initiate(struct tunnel *t, uint64_t now);
static void tunnel_pmtu_poll(struct tunnel *t);
static void tunnel_pmtu_errqueue(struct tunnel *t);

/* The largest frame payload either side may send, bytes: a packet, in
 * sealed mode with the transport header and tag around it (and never less
 * than a handshake initiation); with offload frames over TCP, any length. */
static size_t tunnel_frame_max(const struct tunnel *t)
{
	size_t n = t->rx_max;

	/* Offload frames over TCP: a TSO packet, up to the 16-bit limit. */
	if (t->dev.vnet && t->cfg.transport == TUNNEL_TCP &&
	    (t->cfg.sealed || t->cfg.plain_offload))
		return FRAME_MAX_LEN;

	if (t->cfg.sealed) {
		n += SESSION_TRANSPORT_OVERHEAD;
		if (n < SESSION_HANDSHAKE_MAX_LEN)
			n = SESSION_HANDSHAKE_MAX_LEN;
	}
	return n;
}

/* Microseconds of CLOCK_MONOTONIC. */
static uint64_t tunnel_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds of CLOCK_MONOTONIC: the session's clock. */
static uint64_t tunnel_now_ms(void)
{
	return tunnel_now_us() / 1000;
}

/* Stops the loop after a runtime failure that leaves nothing to serve. */
static void tunnel_fail(struct tunnel *t)
{
	t->failed = true;
	event_base_loopbreak(t->base);
}

/* Stops reading the device: the kernel then drops at the device queue, as a
 * congested NIC does, instead of culvertd buffering without bound. */
static void tunnel_dev_pause(struct tunnel *t)
{
	if (t->dev_paused)
		return;
	event_del(t->dev_ev);
	t->dev_paused = true;
	t->stats.dev_pauses++;
}

static void tunnel_dev_resume(struct tunnel *t)
{
	if (!t->dev_paused)
		return;
	event_add(t->dev_ev, NULL);
	t->dev_paused = false;
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
static void tunnel_dev_writev(struct tunnel *t, const uint8_t *hdr, const uint8_t *pkt, size_t len)
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
static void tunnel_gro_write(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len)
{
	tunnel_dev_writev(ctx, hdr, pkt, len);
}

/* Delivers one packet from the peer to the device: through the coalescer
 * on a device with offloads (tunnel_dev_flush() ends the batch). */
static void tunnel_dev_write(struct tunnel *t, const uint8_t *pkt, size_t len)
{
	if (frame_payload_check(pkt, len, t->dev.mode == TUN_MODE_TAP) < 0) {
		t->stats.drop_bad_frame++;
		log_trace("%zu-byte packet from the peer dropped: no IP packet or frame", len);
		return;
	}
	/* The packet lies in one of our own receive buffers (const only for
	 * the readers' sake): the MSS is lowered in place. */
	if (t->cfg.clamp_mss && mtu_clamp_mss((uint8_t *)pkt, len, t->dev.mode == TUN_MODE_TAP,
					      t->inner_mtu, false) > 0)
		t->stats.mss_clamped++;
	if (t->dev.vnet)
		vnet_gro_add(&t->gro, pkt, len, tunnel_gro_write, t);
	else
		tunnel_dev_writev(t, NULL, pkt, len);
}

/* Writes what the coalescer holds: the end of a batch from the peer. */
static void tunnel_dev_flush(struct tunnel *t)
{
	if (t->dev.vnet)
		vnet_gro_flush(&t->gro, tunnel_gro_write, t);
}

/* Delivers an offload frame from the peer (doc/PROTOCOL.md "Offload
 * frames"): @len bytes, a virtio-net header and a packet, checked before
 * the kernel sees the header.  Anything held is written first, in order. */
static void tunnel_dev_write_offload(struct tunnel *t, const uint8_t *buf, size_t len)
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

static int tunnel_open(struct tunnel *t, const uint8_t *msg, size_t len,
		       const struct sockaddr_storage *src, socklen_t srclen);

/*
 * Turns the packet of @n bytes at slot + pkt_off into a frame at @slot: in
 * plain mode by writing the length prefix before it; in sealed mode by
 * sealing it in place behind a transport header first (the tag takes the
 * NOISE_TAG_LEN bytes after the packet; over UDP the message is the
 * datagram, without a prefix).  With peer_offload the "packet" starts with
 * its virtio-net header.  Returns the frame's length (prefix included), or
 * 0 when the packet was dropped (no session yet: a handshake is started).
 */
static size_t tunnel_wrap(struct tunnel *t, uint8_t *slot, size_t n)
{
	uint64_t now;
	size_t mlen;
	int rc;

	if (!t->sess) {
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
	rc = (t->peer_offload ? session_seal_offload : session_seal)(
	    t->sess, now, slot + t->pkt_off, n, slot + t->frame_hdr, n + SESSION_TRANSPORT_OVERHEAD,
	    &mlen);
	if (rc < 0) {
		t->stats.drop_no_session++;
		if (session_wants_handshake(t->sess, now))
			tunnel_sess_initiate(t, now);
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
static void tunnel_note_frame(struct tunnel *t, uint8_t *frame, size_t flen, unsigned pkts,
			      size_t bytes, struct tunnel_drain *d)
{
	t->tx_iov[d->frames].iov_base = frame;
	t->tx_iov[d->frames].iov_len = flen;
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
static int tunnel_dev_read_vnet(struct tunnel *t, uint8_t *slot, size_t room,
				struct tunnel_drain *d)
{
	bool tap = t->dev.mode == TUN_MODE_TAP;
	size_t hroom = t->peer_offload ? VNET_HDR_LEN : 0;
	size_t tail = t->sess ? NOISE_TAG_LEN : 0;
	uint8_t *hdr = t->peer_offload ? slot + t->pkt_off : t->vhdr;
	uint8_t *pkt = t->peer_offload ? hdr + VNET_HDR_LEN : t->gso_buf;
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
	if (t->peer_offload && VNET_HDR_LEN + len <= t->offload_max &&
	    vnet_check_peer(&h, pkt, len, tap) == 0) {
		vnet_hdr_put(hdr, &h);
		flen = tunnel_wrap(t, slot, VNET_HDR_LEN + len);
		if (flen > 0) {
			struct tunnel_drain one = {0};

			tunnel_count(&h, len, &one.packets, &one.payload);
			tunnel_note_frame(t, slot, flen, (unsigned)one.packets, one.payload, d);
			if (h.gso_type != VNET_GSO_NONE)
				t->stats.tx_offload++;
		}
		return 1;
	}
	if (t->peer_offload) {
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
		flen = tunnel_wrap(t, frame, hroom + t->seg_len[i]);
		if (flen == 0)
			break; /* no session: all of them dropped, counted */
		tunnel_note_frame(t, frame, flen, 1, t->seg_len[i], d);
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
static int tunnel_dev_drain(struct tunnel *t, struct tunnel_drain *d)
{
	int i, rc;

	memset(d, 0, sizeof(*d));
	if (t->dev.vnet) {
		while (t->dev_buf_len - d->len >= TUNNEL_VNET_ROOM &&
		       TUNNEL_TX_MAX - d->frames >= TUNNEL_VNET_SEGS) {
			rc = tunnel_dev_read_vnet(t, t->dev_buf + d->len, t->dev_buf_len - d->len,
						  d);
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
		flen = tunnel_wrap(t, slot, (size_t)n);
		if (flen > 0)
			tunnel_note_frame(t, slot, flen, 1, (size_t)n, d);
		if (d->frag_last) {
			d->frag_last = flen > 0;
			break;
		}
	}
	return 0;
}

/* ---- sealed mode -------------------------------------------------------- */

enum tunnel_warning {
	TUNNEL_WARN_MAC1,
	TUNNEL_WARN_AUTH,
	TUNNEL_WARN_KEY,
	TUNNEL_WARN_REPLAY,
	TUNNEL_WARN_LOAD,
};

/* Handshake failures are what an operator needs to see (a wrong key, a
 * wrong PSK), but a flood of them must not flood the log: one warning per
 * reason every 10 s, the rest are counted. */
static bool tunnel_warn_due(struct tunnel *t, enum tunnel_warning w, uint64_t now)
{
	if (t->warned_at[w] && now - t->warned_at[w] < 10000)
		return false;
	t->warned_at[w] = now ? now : 1;
	return true;
}

/* Re-arms the session timer for its next deadline (retry, rekey, expiry). */
static void tunnel_sess_schedule(struct tunnel *t, uint64_t now)
{
	uint64_t at = session_next_deadline(t->sess, now);
	struct timeval tv;

	if (at == UINT64_MAX) {
		event_del(t->sess_ev);
		return;
	}
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	event_add(t->sess_ev, &tv);
}

/* Tells the peer, under a keypair that just became current, that we take
 * offload frames (an empty type 5 message): only over TCP, and only with a
 * device that has offloads. */
static void tunnel_sess_offer(struct tunnel *t, uint64_t now)
{
	size_t len;

	if (!t->dev.vnet || t->cfg.transport != TUNNEL_TCP || !session_is_up(t->sess, now))
		return;
	if (session_seal_offload(t->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &len) == 0)
		tunnel_send_msg(t, t->msg, len);
}

/* Notices a keypair that became current since the last look (a completed
 * handshake on either side) and says so. */
static void tunnel_sess_check_new(struct tunnel *t, uint64_t now)
{
	uint64_t last = session_last_handshake_ms(t->sess);

	if (last == t->last_handshake)
		return;
	t->last_handshake = last;
	if (t->sessions++ == 0 && t->handshake_us)
		log_info("session established with %s (handshake round trip %.3f ms)", t->peer_str,
			 (double)t->handshake_us / 1000);
	else if (t->sessions == 1)
		log_info("session established with %s", t->peer_str);
	else
		log_debug("session rekeyed with %s", t->peer_str);
	tunnel_sess_offer(t, now);
	tunnel_sess_schedule(t, now);
}

/* Forgets every keypair (a new stream, a dead peer), so the next session
 * starts from a handshake and is logged again at info level. */
static void tunnel_sess_restart(struct tunnel *t)
{
	session_reset(t->sess);
	t->sessions = 0;
	t->handshake_us = 0;
	t->peer_offload = false;
}

/* Sends a handshake initiation, when there is a way to the peer. */
static void tunnel_sess_initiate(struct tunnel *t, uint64_t now)
{
	size_t len;

	if (t->cfg.transport == TUNNEL_TCP ? t->sock_fd < 0 || t->connecting : t->peer_len == 0)
		return;
	if (session_initiate(t->sess, now, t->msg, TUNNEL_DGRAM_MAX, &len) == 0) {
		log_debug("handshake initiation to %s", t->peer_str);
		t->initiated_us = tunnel_now_us();
		tunnel_send_msg(t, t->msg, len);
	}
	tunnel_sess_schedule(t, now);
}

static void tunnel_sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	uint64_t now = tunnel_now_ms();

	session_expire(t->sess, now);
	if (session_wants_handshake(t->sess, now))
		tunnel_sess_initiate(t, now);
	tunnel_sess_schedule(t, now);
}

/* Says why a handshake message was refused (rate-limited warnings). */
static void tunnel_sess_refused(struct tunnel *t, int rc, uint8_t type, const char *from,
				uint64_t now)
{
	struct session_stats st;
	bool mac1, auth;

	session_get_stats(t->sess, &st);
	mac1 = st.rx_bad_mac1 != t->seen_bad_mac1;
	auth = st.rx_bad_handshake != t->seen_bad_handshake;
	t->seen_bad_mac1 = st.rx_bad_mac1;
	t->seen_bad_handshake = st.rx_bad_handshake;
	if (rc == -EBADMSG && mac1) {
		if (tunnel_warn_due(t, TUNNEL_WARN_MAC1, now))
			log_warnx("handshake from %s rejected: bad mac1 (does the peer have our "
				  "public key?)",
				  from);
	} else if (rc == -EBADMSG && auth) {
		if (tunnel_warn_due(t, TUNNEL_WARN_AUTH, now))
			log_warnx("handshake %s from %s failed authentication (do the preshared "
				  "keys match?)",
				  type == SESSION_TYPE_RESPONSE ? "response" : "initiation", from);
	} else if (rc == -EACCES) {
		if (tunnel_warn_due(t, TUNNEL_WARN_KEY, now))
			log_warnx("handshake from %s rejected: its static key is not "
				  "--peer-public-key",
				  from);
	} else if (rc == -ETIME) {
		if (tunnel_warn_due(t, TUNNEL_WARN_REPLAY, now))
			log_warnx("handshake from %s rejected: replayed initiation", from);
	} else if (rc == -EBADMSG && type == SESSION_TYPE_COOKIE_REPLY) {
		log_debug("cookie reply from %s does not open: dropped", from);
	} else {
		log_debug("handshake message from %s dropped: %s", from, strerror(-rc));
	}
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
static bool tunnel_admit(struct tunnel *t, const uint8_t *msg, size_t len,
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
		    sendto(t->sock_fd, reply, sizeof(reply), MSG_DONTWAIT,
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

/*
 * Opens one sealed message (@len bytes: a TCP frame's payload, or a UDP
 * datagram from @src) and acts on it: a packet goes to the device, a
 * handshake is answered.  An authenticated UDP datagram also moves the
 * peer's endpoint to its source (roaming).  Returns 0, or the negative
 * errno of session_receive(); -EPROTO over TCP has closed the connection.
 */
static int tunnel_open(struct tunnel *t, const uint8_t *msg, size_t len,
		       const struct sockaddr_storage *src, socklen_t srclen)
{
	enum session_action action;
	uint64_t now = tunnel_now_ms();
	char from[ENDPOINT_STRLEN];
	size_t out_len;
	int rc;

	if (len > 0 && msg[0] == SESSION_TYPE_INITIATION) {
		/* Only initiations can make us spend Diffie-Hellman on a
		 * stranger's say: they pass the admission first. */
		const struct sockaddr_storage *who = src ? src : &t->peer;

		endpoint_format((const struct sockaddr *)who, from, sizeof(from));
		if (!tunnel_admit(t, msg, len, who, src ? srclen : t->peer_len, !src, from, now))
			return -EAGAIN;
	}
	rc = session_receive(t->sess, now, msg, len, t->msg, TUNNEL_DGRAM_MAX, &out_len, &action);
	if (rc < 0) {
		if (src)
			endpoint_format((const struct sockaddr *)src, from, sizeof(from));
		else
			memcpy(from, t->peer_str, sizeof(from));
		if (len > 0 && msg[0] >= SESSION_TYPE_INITIATION &&
		    msg[0] <= SESSION_TYPE_COOKIE_REPLY)
			tunnel_sess_refused(t, rc, msg[0], from, now);
		else
			log_trace("sealed message from %s dropped: %s", from, strerror(-rc));
		if (rc == -EPROTO && t->cfg.transport == TUNNEL_TCP) {
			t->stats.bad_connections++;
			log_warnx("connection to %s: malformed or out-of-order sealed message; "
				  "closing it",
				  t->peer_str);
			tunnel_tcp_close(t);
		}
		return rc;
	}
	if (action == SESSION_COOKIE) {
		/* Anyone who saw our initiation and knows the peer's public
		 * key can make a cookie reply: it proves no liveness and moves
		 * no endpoint.  It only earns a prompt retry, now and then. */
		if (now - t->cookie_retry_ms >= TUNNEL_COOKIE_RETRY_MS) {
			t->cookie_retry_ms = now;
			log_debug("cookie reply from %s: the peer is under load; initiating again",
				  t->peer_str);
			tunnel_sess_initiate(t, now);
		}
		return 0;
	}
	t->last_rx_ms = now;
	if (action == SESSION_KEEPALIVE || action == SESSION_OFFLOAD_OFFER)
		t->stats.keepalives_received++;
	if (src && (t->peer_len == 0 ||
		    !endpoint_equal((const struct sockaddr *)src, (struct sockaddr *)&t->peer))) {
		memcpy(&t->peer, src, srclen);
		t->peer_len = srclen;
		endpoint_format((const struct sockaddr *)src, t->peer_str, sizeof(t->peer_str));
		log_info("peer is %s", t->peer_str);
	}
	switch (action) {
	case SESSION_DELIVER:
		tunnel_dev_write(t, t->msg, out_len);
		break;
	case SESSION_DELIVER_OFFLOAD:
		tunnel_dev_write_offload(t, t->msg, out_len);
		break;
	case SESSION_OFFLOAD_OFFER:
		/* Over UDP a TSO packet in one message would be IP-fragmented:
		 * there the offer changes nothing. */
		if (t->dev.vnet && t->cfg.transport == TUNNEL_TCP && !t->peer_offload) {
			t->peer_offload = true;
			log_debug("%s takes offload frames: TSO packets go whole", t->peer_str);
		}
		break;
	case SESSION_REPLY:
		tunnel_send_msg(t, t->msg, out_len);
		tunnel_sess_schedule(t, now);
		break;
	case SESSION_ESTABLISHED:
		t->handshake_us = tunnel_now_us() - t->initiated_us;
		/* Confirm the new keypair to the responder at once. */
		if (session_seal(t->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &out_len) == 0)
			tunnel_send_msg(t, t->msg, out_len);
		break;
	case SESSION_KEEPALIVE:
	case SESSION_COOKIE:
	case SESSION_NONE:
		break;
	}
	tunnel_sess_check_new(t, now);
	return 0;
}

/* Sends one message that did not come from the device (a handshake message
 * or a keepalive): framed into the TCP output, or as one datagram. */
static void tunnel_send_msg(struct tunnel *t, const uint8_t *msg, size_t len)
{
	uint8_t hdr[FRAME_HDR_LEN];

	t->last_tx_ms = tunnel_now_ms();
	if (t->cfg.transport == TUNNEL_UDP) {
		ssize_t n;

		if (t->peer_len == 0)
			return;
		n = sendto(t->sock_fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&t->peer,
			   t->peer_len);
		if (n < 0)
			log_trace("send to %s: %s", t->peer_str, strerror(errno));
		return;
	}
	if (t->sock_fd < 0 || t->connecting)
		return;
	frame_put_header(hdr, len);
	/* Both pieces leave in one writev() from the output buffer. */
	if (evbuffer_add(t->out, hdr, sizeof(hdr)) < 0 || evbuffer_add(t->out, msg, len) < 0) {
		log_warnx("out of memory for the output buffer; closing connection");
		tunnel_tcp_close(t);
		return;
	}
	tunnel_tcp_flush(t);
}

/* ---- TCP ---------------------------------------------------------------- */

/* Frees the socket's events (either may be NULL). */
static void tunnel_sock_events_free(struct tunnel *t)
{
	if (t->sock_rd_ev)
		event_free(t->sock_rd_ev);
	if (t->sock_wr_ev)
		event_free(t->sock_wr_ev);
	t->sock_rd_ev = t->sock_wr_ev = NULL;
}

/* Logs a failed connection attempt (the first at info level, the retries at
 * debug, so a peer that is down for hours does not flood the log) and
 * schedules the next one. */
static void tunnel_connect_failed(struct tunnel *t, int err)
{
	if (t->backoff_ms == TUNNEL_BACKOFF_MIN_MS)
		log_info("connect to %s: %s (retrying with backoff)", t->peer_str, strerror(err));
	else
		log_debug("connect to %s: %s", t->peer_str, strerror(err));
	tunnel_tcp_close(t);
}

/* Closes the current TCP connection; the client then schedules a reconnect,
 * the server waits for the next one. */
static void tunnel_tcp_close(struct tunnel *t)
{
	if (t->sock_fd < 0)
		return;
	tunnel_sock_events_free(t);
	close(t->sock_fd);
	t->sock_fd = -1;
	t->connecting = false;
	evbuffer_drain(t->out, evbuffer_get_length(t->out));
	frame_reader_reset(&t->reader);
	tunnel_dev_resume(t);
	if (!t->cfg.listen) {
		unsigned delay = t->backoff_ms;
		struct timeval tv;

		/* Capped exponential backoff with jitter in [delay/2, delay],
		 * so two clients restarted together do not stay in step. */
		delay = delay / 2 + randombytes_uniform(delay / 2 + 1);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		log_debug("reconnecting to %s in %u ms", t->peer_str, delay);
		event_add(t->retry_ev, &tv);
		t->backoff_ms = t->backoff_ms * 2 > TUNNEL_BACKOFF_MAX_MS ? TUNNEL_BACKOFF_MAX_MS
									  : t->backoff_ms * 2;
	}
}

/* Sets the per-connection socket options: no Nagle delay (a frame is sent as
 * soon as it is read; simpletun pays ~40 ms per packet without this). */
static void tunnel_tcp_setopts(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Starts serving an established connection on fd. */
static int tunnel_tcp_attach(struct tunnel *t, int fd)
{
	t->sock_fd = fd;
	t->sock_rd_ev = event_new(t->base, fd, EV_READ | EV_PERSIST, tunnel_tcp_read_cb, t);
	t->sock_wr_ev = event_new(t->base, fd, EV_WRITE | EV_PERSIST, tunnel_tcp_write_cb, t);
	if (!t->sock_rd_ev || !t->sock_wr_ev) {
		log_warnx("out of memory for connection events");
		tunnel_tcp_close(t);
		return -1;
	}
	event_add(t->sock_rd_ev, NULL);
	t->stats.connections++;
	if (t->stats.connections > 1)
		t->stats.reconnects++;
	t->last_rx_ms = t->last_tx_ms = tunnel_now_ms();
	if (t->sess && t->cfg.listen) {
		/* A pending connection that completed a handshake took over
		 * (tunnel_pending_read_cb): its keypair is the session's
		 * "next"; the old stream's are gone, since counters over TCP
		 * must run without gaps. */
		session_new_stream(t->sess);
		t->sessions = 0;
		t->handshake_us = 0;
		t->peer_offload = false;
	} else if (t->sess) {
		/* A new stream starts a new session. */
		tunnel_sess_restart(t);
		tunnel_sess_initiate(t, tunnel_now_ms());
	}
	return 0;
}

/* Hands the output buffer to the kernel; pauses or resumes the device
 * around the high- and low-water marks.  Returns -1 if the connection
 * failed (and was closed). */
static int tunnel_tcp_flush(struct tunnel *t)
{
	size_t left;

	while (evbuffer_get_length(t->out) > 0) {
		int n = evbuffer_write(t->out, t->sock_fd);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_info("connection to %s lost: write: %s", t->peer_str, strerror(errno));
			tunnel_tcp_close(t);
			return -1;
		}
		if (n == 0)
			break;
	}
	left = evbuffer_get_length(t->out);
	if (left > 0)
		event_add(t->sock_wr_ev, NULL);
	else
		event_del(t->sock_wr_ev);
	if (left >= t->cfg.out_high)
		tunnel_dev_pause(t);
	else if (left <= t->cfg.out_high / 4)
		tunnel_dev_resume(t);
	return 0;
}

/* Sends a batch of frames: straight from dev_buf when nothing is queued,
 * keeping only what the socket did not take. */
static void tunnel_tcp_send(struct tunnel *t, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (evbuffer_get_length(t->out) == 0) {
		ssize_t n = send(t->sock_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			log_info("connection to %s lost: send: %s", t->peer_str, strerror(errno));
			tunnel_tcp_close(t);
			return;
		}
		done = n > 0 ? (size_t)n : 0;
	}
	if (done < len && evbuffer_add(t->out, buf + done, len - done) < 0) {
		log_warnx("out of memory for the output buffer; closing connection");
		tunnel_tcp_close(t);
		return;
	}
	tunnel_tcp_flush(t);
}

static void tunnel_tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	tunnel_tcp_flush(arg);
}

/* Takes what the connection has, up to TUNNEL_BATCH reads. */
static void tunnel_tcp_read(struct tunnel *t, int fd)
{
	uint64_t now = tunnel_now_ms();
	int i;

	for (i = 0; i < TUNNEL_BATCH; i++) {
		size_t avail;
		uint8_t *space = frame_reader_space(&t->reader, &avail);
		ssize_t n = recv(fd, space, avail, MSG_DONTWAIT);
		const uint8_t *pkt;
		size_t len;
		int rc;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			log_info("connection to %s lost: recv: %s", t->peer_str, strerror(errno));
			tunnel_tcp_close(t);
			return;
		}
		if (n == 0) {
			if (frame_reader_pending(&t->reader))
				log_info("connection to %s closed by the peer mid-frame (%zu bytes "
					 "discarded)",
					 t->peer_str, frame_reader_pending(&t->reader));
			else
				log_info("connection to %s closed by the peer", t->peer_str);
			tunnel_tcp_close(t);
			return;
		}
		frame_reader_commit(&t->reader, (size_t)n);
		while ((rc = frame_reader_next(&t->reader, &pkt, &len)) == 1) {
			if (!t->sess)
				t->last_rx_ms = now;
			if (!t->sess && len == 0)
				t->stats.keepalives_received++;
			else if (!t->sess && t->cfg.plain_offload)
				tunnel_dev_write_offload(t, pkt, len);
			else if (!t->sess)
				tunnel_dev_write(t, pkt, len);
			else
				tunnel_open(t, pkt, len, NULL, 0);
			if (t->sock_fd != fd)
				return; /* closed (a corrupt stream, a failed send) */
		}
		if (rc < 0) {
			const uint8_t *hdr = t->reader.buf + t->reader.head;

			t->stats.drop_bad_frame++;
			t->stats.bad_connections++;
			log_warnx(
			    "connection to %s: bad frame length %zu (valid: 1..%zu); closing it",
			    t->peer_str, frame_get_length(hdr), t->reader.max_len);
			tunnel_tcp_close(t);
			return;
		}
		if ((size_t)n < avail)
			return; /* the socket is drained */
	}
}

static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	tunnel_tcp_read(t, fd);
	tunnel_dev_flush(t);
}

/* Closes a pending connection; its slot (and buffer) stays for the next. */
static void tunnel_pending_close(struct tunnel_pending *p)
{
	if (p->fd < 0)
		return;
	event_free(p->ev);
	p->ev = NULL;
	close(p->fd);
	p->fd = -1;
}

/* Re-arms a pending connection's read event for what is left of its time. */
static void tunnel_pending_wait(struct tunnel_pending *p, uint64_t now)
{
	uint64_t left = p->deadline_ms > now ? p->deadline_ms - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(left / 1000),
			     .tv_usec = (suseconds_t)(left % 1000) * 1000};

	event_add(p->ev, &tv);
}

/* The pending connection @p has proven itself: it replaces the established
 * one (if any) and is served from now on.  Returns its fd, or -1 if it
 * could not be attached (closed). */
static int tunnel_pending_promote(struct tunnel *t, struct tunnel_pending *p, const char *who)
{
	int fd = p->fd;

	if (t->sock_fd >= 0) {
		log_info("connection from %s %s: it replaces the one from %s", who,
			 t->sess ? "completed a handshake" : "sent a valid frame", t->peer_str);
		tunnel_tcp_close(t);
	} else {
		log_info("connection from %s", who);
	}
	event_free(p->ev);
	p->ev = NULL;
	p->fd = -1;
	memcpy(&t->peer, &p->addr, p->addr_len);
	t->peer_len = p->addr_len;
	snprintf(t->peer_str, sizeof(t->peer_str), "%s", who);
	tunnel_tcp_setopts(fd);
	return tunnel_tcp_attach(t, fd) < 0 ? -1 : fd;
}

/* Sealed: the first frame (@len bytes at @msg) must be an initiation that
 * completes a handshake with the peer's key; then the connection takes
 * over and gets the response. */
static void tunnel_pending_sealed(struct tunnel *t, struct tunnel_pending *p, const uint8_t *msg,
				  size_t len, const char *who, uint64_t now)
{
	enum session_action action = SESSION_NONE;
	size_t out_len = 0;
	int rc = -EAGAIN;

	if (tunnel_admit(t, msg, len, &p->addr, p->addr_len, true, who, now))
		rc = session_receive(t->sess, now, msg, len, t->msg, TUNNEL_DGRAM_MAX, &out_len,
				     &action);
	if (rc < 0 || action != SESSION_REPLY) {
		t->stats.pending_refused++;
		if (rc != -EAGAIN)
			tunnel_sess_refused(t, rc, msg[0], who, now);
		tunnel_pending_close(p);
		return;
	}
	if (tunnel_pending_promote(t, p, who) < 0)
		return;
	tunnel_send_msg(t, t->msg, out_len);
	tunnel_sess_schedule(t, now);
}

/* Plain: the first frame (@len bytes at @pkt) must hold a packet the device
 * would take (or, with PlainOffload, an offload frame that passes
 * vnet_check_peer(); an empty frame with PlainKeepalive); then the
 * connection takes over and the packet is delivered. */
static void tunnel_pending_plain(struct tunnel *t, struct tunnel_pending *p, const uint8_t *pkt,
				 size_t len, const char *who)
{
	bool tap = t->dev.mode == TUN_MODE_TAP;
	bool ok;

	if (len == 0) {
		ok = t->reader.allow_empty;
	} else if (t->cfg.plain_offload) {
		struct vnet_hdr h;

		ok = len > VNET_HDR_LEN;
		if (ok) {
			vnet_hdr_get(pkt, &h);
			ok = vnet_check_peer(&h, pkt + VNET_HDR_LEN, len - VNET_HDR_LEN, tap) == 0;
		}
	} else {
		ok = frame_payload_check(pkt, len, tap) == 0;
	}
	if (!ok) {
		t->stats.pending_refused++;
		log_debug("connection from %s: its first frame (%zu bytes) holds no valid packet; "
			  "closed",
			  who, len);
		tunnel_pending_close(p);
		return;
	}
	if (tunnel_pending_promote(t, p, who) < 0)
		return;
	t->last_rx_ms = tunnel_now_ms();
	if (len == 0)
		t->stats.keepalives_received++;
	else if (t->cfg.plain_offload)
		tunnel_dev_write_offload(t, pkt, len);
	else
		tunnel_dev_write(t, pkt, len);
	tunnel_dev_flush(t);
}

/*
 * Reads a pending connection's first frame, exactly its bytes (what follows
 * stays in the socket for the established reader), and hands it to
 * tunnel_pending_sealed() or tunnel_pending_plain().  A length no first
 * frame may have, the deadline, or the peer closing ends it.
 */
static void tunnel_pending_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel_pending *p = arg;
	struct tunnel *t = p->t;
	uint64_t now = tunnel_now_ms();
	char who[ENDPOINT_STRLEN];
	size_t need, flen;
	ssize_t n;

	endpoint_format((struct sockaddr *)&p->addr, who, sizeof(who));
	if (what & EV_TIMEOUT) {
		t->stats.pending_timeouts++;
		log_debug("connection from %s: no %s in %d ms; closed", who,
			  t->sess ? "handshake" : "valid frame", TUNNEL_PENDING_TIMEOUT_MS);
		tunnel_pending_close(p);
		return;
	}
	flen = p->have < FRAME_HDR_LEN ? 0 : frame_get_length(p->buf);
	need = p->have < FRAME_HDR_LEN ? FRAME_HDR_LEN - p->have : FRAME_HDR_LEN + flen - p->have;
	n = need ? recv(fd, p->buf + p->have, need, MSG_DONTWAIT) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		tunnel_pending_wait(p, now);
		return;
	}
	if (n <= 0 && need) {
		log_debug("connection from %s closed on probation", who);
		tunnel_pending_close(p);
		return;
	}
	p->have += (size_t)n;
	if (p->have < FRAME_HDR_LEN) {
		tunnel_pending_wait(p, now);
		return;
	}
	flen = frame_get_length(p->buf);
	if (t->sess
		? flen != SESSION_INITIATION_LEN
		: FRAME_HDR_LEN + flen > t->pending_cap || (flen == 0 && !t->reader.allow_empty)) {
		t->stats.pending_refused++;
		log_debug("connection from %s: a first frame of %zu bytes; closed", who, flen);
		tunnel_pending_close(p);
		return;
	}
	if (p->have < FRAME_HDR_LEN + flen) {
		tunnel_pending_wait(p, now);
		return;
	}
	if (t->sess)
		tunnel_pending_sealed(t, p, p->buf + FRAME_HDR_LEN, flen, who, now);
	else
		tunnel_pending_plain(t, p, p->buf + FRAME_HDR_LEN, flen, who);
}

/*
 * Holds a new connection apart until its first frame proves it, in a free
 * slot or in the one of the oldest pending connection, which is dropped: a
 * stranger's connections can crowd each other out, never the established
 * one.
 */
static void tunnel_pending_add(struct tunnel *t, int fd, const struct sockaddr_storage *ss,
			       socklen_t len, const char *who)
{
	struct tunnel_pending *p = NULL;
	uint64_t now = tunnel_now_ms();
	unsigned i;

	for (i = 0; i < TUNNEL_PENDING_MAX && !p; i++)
		if (t->pending[i].fd < 0)
			p = &t->pending[i];
	if (!p) {
		p = &t->pending[0];
		for (i = 1; i < TUNNEL_PENDING_MAX; i++)
			if (t->pending[i].deadline_ms < p->deadline_ms)
				p = &t->pending[i];
		t->stats.pending_evicted++;
		log_debug("%d connections are on probation: the oldest makes room",
			  TUNNEL_PENDING_MAX);
		tunnel_pending_close(p);
	}
	if (!p->buf)
		p->buf = malloc(t->pending_cap);
	p->ev = p->buf ? event_new(t->base, fd, EV_READ, tunnel_pending_read_cb, p) : NULL;
	if (!p->ev) {
		log_warnx("out of memory for a new connection; refused");
		close(fd);
		return;
	}
	p->t = t;
	p->fd = fd;
	p->have = 0;
	p->deadline_ms = now + TUNNEL_PENDING_TIMEOUT_MS;
	memcpy(&p->addr, ss, len);
	p->addr_len = len;
	log_debug("connection from %s: on probation", who);
	tunnel_pending_wait(p, now);
}

/* True when a listener may hear from @sa: no AllowFrom, or inside one. */
static bool tunnel_allowed(const struct tunnel *t, const struct sockaddr_storage *sa)
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
	if (n > TUNNEL_ALLOW_FROM_MAX)
		n = TUNNEL_ALLOW_FROM_MAX;
	if (n)
		memcpy(t->allow_from, allow, n * sizeof(*allow));
	t->n_allow_from = n;
	if (t->cfg.transport == TUNNEL_TCP && t->sock_fd >= 0 && t->cfg.listen &&
	    !tunnel_allowed(t, &t->peer)) {
		log_info("connection from %s is outside AllowFrom now: closing it", t->peer_str);
		tunnel_tcp_close(t);
	}
}

static void tunnel_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char who[ENDPOINT_STRLEN];
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	endpoint_format((struct sockaddr *)&ss, who, sizeof(who));
	t->stats.accepted++;
	if (!tunnel_allowed(t, &ss)) {
		t->stats.drop_not_allowed++;
		log_debug("connection from %s refused: not in AllowFrom", who);
		close(fd);
		return;
	}
	if (t->sess || t->sock_fd >= 0) {
		/* Sealed: a connection counts only once it has completed a
		 * handshake with the peer's key (doc/design.md section 3).
		 * Plain mode has no key: a peer that restarted without closing
		 * (power loss) must not be locked out until TCP notices, so a
		 * connection that sends a valid frame takes over; one that
		 * sends garbage or nothing cannot (--allow-from fences who may
		 * connect at all). */
		tunnel_pending_add(t, fd, &ss, len, who);
		return;
	}
	log_info("connection from %s", who);
	memcpy(&t->peer, &ss, len);
	t->peer_len = len;
	memcpy(t->peer_str, who, sizeof(who));
	tunnel_tcp_setopts(fd);
	tunnel_tcp_attach(t, fd);
}

/* The non-blocking connect() finished: check how. */
static void tunnel_connect_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	t->connecting = false;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		tunnel_connect_failed(t, err);
		return;
	}
	log_info("connected to %s", t->peer_str);
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_sock_events_free(t);
	tunnel_tcp_attach(t, fd);
}

static void tunnel_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	/* The callback may move the endpoint, which connects there (or
	 * schedules the retry when that failed at once). */
	if (t->lost_cb)
		t->lost_cb(t->lost_arg);
	if (t->sock_fd < 0 && !evtimer_pending(t->retry_ev, NULL))
		tunnel_connect_start(t);
}

/* Starts a non-blocking connect() to the configured peer. */
static void tunnel_connect_start(struct tunnel *t)
{
	int fd = socket(t->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_warn("socket");
		tunnel_fail(t);
		return;
	}
	tunnel_tcp_setopts(fd);
	t->sock_fd = fd;
	t->connecting = true;
	t->sock_wr_ev = event_new(t->base, fd, EV_WRITE, tunnel_connect_done_cb, t);
	if (!t->sock_wr_ev) {
		log_warnx("out of memory for connection events");
		tunnel_fail(t);
		return;
	}
	if (connect(fd, (struct sockaddr *)&t->cfg.addr, t->cfg.addr_len) < 0 &&
	    errno != EINPROGRESS) {
		tunnel_connect_failed(t, errno);
		return;
	}
	event_add(t->sock_wr_ev, NULL);
}

/* ---- UDP ---------------------------------------------------------------- */

/*
 * Makes the messages for sendmmsg(2) of frames @from..@n - 1: one per
 * frame, or with UDP GSO one per run of back-to-back frames of one size (the
 * segments of one TSO packet; the last may be shorter), which the kernel
 * sends as that many datagrams (UDP_SEGMENT, udp(7)).  Returns the number
 * of messages.
 */
static unsigned tunnel_udp_messages(struct tunnel *t, unsigned from, unsigned n)
{
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
		    .msg_name = &t->peer,
		    .msg_namelen = t->peer_len,
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
static bool tunnel_udp_send_frames(struct tunnel *t, unsigned n)
{
	unsigned i, m, sent = 0, first = 0;

	m = tunnel_udp_messages(t, 0, n);
	while (sent < m) {
		int r = sendmmsg(t->sock_fd, t->tx_msg + sent, m - sent, MSG_DONTWAIT);

		first = t->tx_first[sent];
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			t->stats.drop_backpressure += n - first;
			tunnel_dev_pause(t);
			event_add(t->sock_wr_ev, NULL);
			return false;
		}
		if (r < 0 && t->tx_count[sent] > 1 && errno == EINVAL &&
		    (tunnel_pmtu_poll(t), t->fit_len < t->max_len)) {
			/* The path MTU fell below these segments before we
			 * knew (the kernel refuses GSO segments above it):
			 * this batch one by one, the underlay fragments. */
			t->udp_gso = false;
			m = tunnel_udp_messages(t, first, n);
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
			m = tunnel_udp_messages(t, first, n);
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
			log_trace("send to %s: %s", t->peer_str, strerror(errno));
			sent++;
			continue;
		}
		for (; r > 0; r--, sent++)
			for (i = t->tx_first[sent]; i < t->tx_first[sent] + t->tx_count[sent];
			     i++) {
				t->stats.tx_packets++;
				t->stats.tx_bytes += t->tx_pktlen[i];
			}
		t->last_tx_ms = tunnel_now_ms();
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

	setsockopt(t->sock_fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
	if (t->cfg.addr.ss_family == AF_INET6)
		setsockopt(t->sock_fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6));
}

/* Sends frame @i alone with fragmentation allowed (struct tunnel_drain's
 * frag_last): a packet too long for the path that no router would answer
 * still arrives, as it would through a router that fragments. */
static void tunnel_udp_send_frag(struct tunnel *t, unsigned i)
{
	ssize_t r;

	tunnel_udp_pmtudisc(t, true);
	r = sendto(t->sock_fd, t->tx_iov[i].iov_base, t->tx_iov[i].iov_len, MSG_DONTWAIT,
		   (struct sockaddr *)&t->peer, t->peer_len);
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
}

/*
 * Sends the @n frames of a device drain (tunnel_udp_send_frames()); with
 * @frag_last the last one alone, fragmentable (tunnel_udp_send_frag()).
 */
static void tunnel_udp_send_batch(struct tunnel *t, unsigned n, bool frag_last)
{
	if (t->peer_len == 0) {
		t->stats.drop_no_peer += n;
		return;
	}
	if (frag_last)
		n--;
	if (!tunnel_udp_send_frames(t, n)) {
		t->stats.drop_backpressure += frag_last;
		return;
	}
	if (frag_last)
		tunnel_udp_send_frag(t, n);
}

static void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	event_del(t->sock_wr_ev);
	tunnel_dev_resume(t);
}

/* Handles one received datagram of @n bytes at @dgram from @ss. */
static void tunnel_udp_handle(struct tunnel *t, const uint8_t *dgram, size_t n,
			      const struct sockaddr_storage *ss, socklen_t sslen)
{
	const uint8_t *pkt;
	size_t off = 0, len;
	int frames;

	if (!tunnel_allowed(t, ss)) {
		t->stats.drop_not_allowed++;
		log_trace("datagram from outside AllowFrom dropped");
		return;
	}
	if (t->sess) {
		tunnel_open(t, dgram, n, ss, sslen);
		return;
	}
	if (n == FRAME_HDR_LEN && t->cfg.plain_keepalive && dgram[0] == 0 && dgram[1] == 0) {
		/* The plain keepalive: one empty frame. */
		if (t->cfg.listen ||
		    endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)&t->peer)) {
			t->stats.keepalives_received++;
			t->last_rx_ms = tunnel_now_ms();
		}
		return;
	}
	frames = frame_datagram_check(dgram, n, tunnel_frame_max(t));
	if (frames > TUNNEL_DGRAM_FRAMES_MAX)
		frames = -E2BIG;
	/* Every packet must be one before any is written, or the datagram
	 * teaches the listener a peer: all of it is valid or none. */
	while (frames > 0 && frame_datagram_next(dgram, n, &off, &pkt, &len))
		if (frame_payload_check(pkt, len, t->dev.mode == TUN_MODE_TAP) < 0)
			frames = -EBADMSG;
	off = 0;
	if (frames < 0) {
		t->stats.drop_bad_frame++;
		log_trace("bad %zu-byte datagram (%d frames) dropped", n, frames);
		return;
	}
	if (!t->cfg.listen &&
	    !endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)&t->peer)) {
		t->stats.drop_unknown_peer++;
		log_trace("datagram from a stranger dropped");
		return;
	}
	if (t->cfg.listen && (t->peer_len == 0 || !endpoint_equal((const struct sockaddr *)ss,
								  (struct sockaddr *)&t->peer))) {
		/* The listening side learns, and follows, the source of the
		 * latest valid datagram (OpenVPN's --float). */
		memcpy(&t->peer, ss, sslen);
		t->peer_len = sslen;
		endpoint_format((const struct sockaddr *)ss, t->peer_str, sizeof(t->peer_str));
		log_info("peer is %s", t->peer_str);
	}
	t->last_rx_ms = tunnel_now_ms();
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

static void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	tunnel_udp_read(t, fd);
	tunnel_dev_flush(t);
}

/* ---- path MTU (doc/design.md section 10) --------------------------------- */

/* The address family of the underlay toward @ss: an IPv4-mapped IPv6
 * address (a dual-stack socket) travels as IPv4; stores its address bytes
 * (4 or 16) in @addr. */
static int tunnel_underlay_family(const struct sockaddr_storage *ss, uint8_t *addr)
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
static void tunnel_pmtu_set(struct tunnel *t, unsigned path)
{
	bool tap = t->dev.mode == TUN_MODE_TAP;
	uint8_t addr[16];
	unsigned ov, inner = (unsigned)t->dev_mtu, fit;

	ov = mtu_overhead(tunnel_underlay_family(&t->peer, addr), true, t->sess != NULL, tap) -
	     (tap ? MTU_ETH_HDR : 0);
	if (path && path > ov && path - ov < inner)
		inner = path - ov;
	fit = inner;
	if (inner < MTU_IPV4_FLOOR && (unsigned)t->dev_mtu >= MTU_IPV4_FLOOR)
		inner = MTU_IPV4_FLOOR;
	if (path != t->pmtu && t->pmtu && path)
		log_debug("path MTU to %s: %u (was %u): inner packets up to %u bytes", t->peer_str,
			  path, t->pmtu, inner);
	t->pmtu = path;
	t->inner_mtu = inner;
	t->fit_len = fit >= (unsigned)t->dev_mtu ? t->max_len : fit + (tap ? MTU_ETH_HDR : 0);
}

/* Reads the path MTU toward the UDP peer from the kernel's route (its path
 * MTU cache included, which ICMP "fragmentation needed" and "packet too big"
 * from the underlay fill, RFC 1191/8201, and which expires after
 * ip_rt_mtu_expires, 10 min: the limit then rises again by itself). */
static void tunnel_pmtu_poll(struct tunnel *t)
{
	uint8_t addr[16];
	unsigned mtu = 0;
	int family, oif;

	if (t->peer_len == 0 || !t->nl.sock)
		return;
	family = tunnel_underlay_family(&t->peer, addr);
	if (nl_route_get_mtu(&t->nl, family, addr, &mtu, &oif) < 0)
		return;
	if (mtu != t->pmtu)
		tunnel_pmtu_set(t, mtu);
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

		if (recvmsg(t->sock_fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
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
		tunnel_pmtu_poll(t);
}

static void tunnel_pmtu_cb(evutil_socket_t fd, short what, void *arg)
{
	tunnel_pmtu_poll(arg);
}

/* ---- device ------------------------------------------------------------- */

static void tunnel_dev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct tunnel_drain d;

	if (tunnel_dev_drain(t, &d) < 0)
		return;
	if (t->cfg.transport == TUNNEL_UDP) {
		if (d.frames)
			tunnel_udp_send_batch(t, d.frames, d.frag_last);
		return;
	}
	if (d.len == 0)
		return;
	if (t->sock_fd < 0 || t->connecting) {
		/* Not connected: nobody to send to. */
		t->stats.drop_no_peer += d.packets;
		return;
	}
	t->stats.tx_packets += d.packets;
	t->stats.tx_bytes += d.payload;
	t->last_tx_ms = tunnel_now_ms();
	tunnel_tcp_send(t, t->dev_buf, d.len);
}

/* ---- liveness ----------------------------------------------------------- */

/* Sends one keepalive: an empty sealed message, or in plain mode (only when
 * enabled: simpletun would write it to its device) an empty frame. */
static void tunnel_keepalive(struct tunnel *t, uint64_t now)
{
	static const uint8_t empty[FRAME_HDR_LEN];
	size_t len;

	if (t->sess) {
		if (session_seal(t->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &len) < 0) {
			if (session_wants_handshake(t->sess, now))
				tunnel_sess_initiate(t, now);
			return;
		}
		tunnel_send_msg(t, t->msg, len);
	} else if (t->cfg.transport == TUNNEL_UDP) {
		if (t->peer_len == 0)
			return;
		if (sendto(t->sock_fd, empty, sizeof(empty), MSG_DONTWAIT,
			   (struct sockaddr *)&t->peer, t->peer_len) < 0)
			return;
		t->last_tx_ms = now;
	} else {
		if (t->sock_fd < 0 || t->connecting ||
		    evbuffer_add(t->out, empty, sizeof(empty)) < 0)
			return;
		t->last_tx_ms = now;
		tunnel_tcp_flush(t);
	}
	t->stats.keepalives_sent++;
}

/* Restarts the session after the peer went silent for dead_peer_ms: a TCP
 * connection is closed (the client reconnects), a UDP session handshakes
 * again; the session comes back when the peer answers. */
static void tunnel_dead_peer(struct tunnel *t, uint64_t now)
{
	log_info("no sign of life from %s for %" PRIu64 " s: restarting the session", t->peer_str,
		 (now - t->last_rx_ms) / 1000);
	t->stats.dead_peer++;
	t->last_rx_ms = now; /* the next restart after another full silence */
	if (t->cfg.transport == TUNNEL_TCP) {
		tunnel_tcp_close(t);
	} else if (t->sess) {
		tunnel_sess_restart(t);
		tunnel_sess_initiate(t, now);
	}
	/* A TCP client calls it before its reconnect. */
	if (t->lost_cb && t->cfg.transport == TUNNEL_UDP)
		t->lost_cb(t->lost_arg);
}

/* Once a second: keepalive due? peer dead?  In sealed mode also the
 * session's own keepalive and handshake wishes (WireGuard paper section
 * 6.5), which depend on every packet and so are looked at here rather than
 * by re-arming a timer per packet. */
static void tunnel_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	uint64_t now = tunnel_now_ms();

	if (t->sess) {
		if (session_wants_handshake(t->sess, now))
			tunnel_sess_initiate(t, now);
		else if (session_wants_keepalive(t->sess, now))
			tunnel_keepalive(t, now);
	}
	bool up =
	    t->cfg.transport == TUNNEL_TCP ? t->sock_fd >= 0 && !t->connecting : t->peer_len != 0;

	if (!up)
		return;
	if (t->cfg.dead_peer_ms && now - t->last_rx_ms >= t->cfg.dead_peer_ms) {
		tunnel_dead_peer(t, now);
		return;
	}
	if (t->cfg.keepalive_ms && now - t->last_tx_ms >= t->cfg.keepalive_ms &&
	    (t->sess || t->cfg.plain_keepalive))
		tunnel_keepalive(t, now);
}

void tunnel_set_liveness(struct tunnel *t, uint64_t keepalive_ms, uint64_t dead_peer_ms)
{
	struct timeval second = {1, 0};

	t->cfg.keepalive_ms = keepalive_ms;
	t->cfg.dead_peer_ms = dead_peer_ms;
	if (keepalive_ms || dead_peer_ms || t->sess)
		event_add(t->tick_ev, &second);
	else
		event_del(t->tick_ev);
}

bool tunnel_set_endpoint(struct tunnel *t, const struct sockaddr_storage *ss, socklen_t len)
{
	/* The configured endpoint: what --connect / Endpoint said, which a
	 * roaming UDP peer may since have left. */
	struct sockaddr_storage *conf = t->cfg.listen ? &t->cfg.peer_addr : &t->cfg.addr;
	socklen_t *conf_len = t->cfg.listen ? &t->cfg.peer_addr_len : &t->cfg.addr_len;
	char str[ENDPOINT_STRLEN];

	if (t->cfg.listen && t->cfg.transport == TUNNEL_TCP)
		return false;
	if (*conf_len == len &&
	    endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)conf))
		return false;
	endpoint_format((const struct sockaddr *)ss, str, sizeof(str));
	if (t->cfg.transport == TUNNEL_UDP && t->sock_fd >= 0) {
		struct sockaddr_storage mine;
		socklen_t mine_len = sizeof(mine);

		/* A datagram socket sends to its own family only (an IPv6 one
		 * also to IPv4-mapped addresses, which getaddrinfo does not
		 * give). */
		if (getsockname(t->sock_fd, (struct sockaddr *)&mine, &mine_len) == 0 &&
		    mine.ss_family != ss->ss_family) {
			log_warnx("new endpoint %s is of another address family: that takes a "
				  "restart",
				  str);
			return false;
		}
	}
	memcpy(conf, ss, len);
	*conf_len = len;
	memcpy(t->peer_str, str, sizeof(str));
	if (t->cfg.transport == TUNNEL_TCP) {
		log_info("peer endpoint is now %s: reconnecting", t->peer_str);
		if (t->sock_fd >= 0) {
			tunnel_tcp_close(t);
		} else {
			event_del(t->retry_ev);
			tunnel_connect_start(t);
		}
		return true;
	}
	memcpy(&t->peer, ss, len);
	t->peer_len = len;
	log_info("peer endpoint is now %s", t->peer_str);
	if (t->sess)
		tunnel_sess_initiate(t, tunnel_now_ms());
	return true;
}

/* ---- set-up ------------------------------------------------------------- */

/* Makes the listening TCP socket or the UDP socket, bound to cfg.addr when
 * listening.  An IPv6 wildcard socket also takes IPv4 (dual stack). */
static int tunnel_socket_open(struct tunnel *t, char *err, size_t errlen)
{
	int type = t->cfg.transport == TUNNEL_TCP ? SOCK_STREAM : SOCK_DGRAM;
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
	if (type == SOCK_DGRAM) {
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
	bool udp = cfg->transport == TUNNEL_UDP, tap = cfg->mode == TUN_MODE_TAP;
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

struct tunnel *tunnel_new(struct event_base *base, const struct tunnel_config *cfg, char *err,
			  size_t errlen, bool *usage)
{
	struct tunnel *t = calloc(1, sizeof(*t));
	int rc, mtu = 0;

	*usage = false;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = base;
	t->cfg = *cfg;
	t->listen_fd = t->sock_fd = -1;
	t->dev.fd = -1;
	for (unsigned i = 0; i < TUNNEL_PENDING_MAX; i++)
		t->pending[i].fd = -1;
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_set_allow_from(t, cfg->allow_from, cfg->n_allow_from);
	t->cfg.allow_from = NULL; /* copied into allow_from */
	if (t->cfg.out_high == 0)
		t->cfg.out_high = TUNNEL_OUT_HIGH_DEFAULT;

	rc = tun_open_offload(&t->dev, cfg->dev_name, cfg->mode, cfg->offload);
	if (rc < 0) {
		const char *hint = "";

		if (rc == -EPERM)
			hint = " (need CAP_NET_ADMIN, or a persistent device owned by this user)";
		else if (rc == -EBUSY)
			hint = " (another process has it open)";
		else if (rc == -EINVAL)
			hint = cfg->mode == TUN_MODE_TAP ? " (exists, but is not a TAP device)"
							 : " (exists, but is not a TUN device)";
		snprintf(err, errlen, "open %s %s: %s%s", cfg->mode == TUN_MODE_TAP ? "TAP" : "TUN",
			 cfg->dev_name, strerror(-rc), hint);
		*usage = rc == -EINVAL || rc == -ENAMETOOLONG;
		goto fail;
	}
	/* Errors are no reason to stop: without rtnetlink, no route
	 * lookups (the fallbacks apply). */
	if (nl_open(&t->nl, NULL, 0) < 0)
		t->nl.sock = NULL;
	if (cfg->mtu == 0) {
		mtu = tunnel_default_mtu(t, cfg);
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
			goto fail;
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
			goto fail;
		}
		mtu = cfg->mtu;
	} else if ((rc = tun_get_mtu(t->dev.name, &mtu)) < 0) {
		snprintf(err, errlen, "get MTU of %s: %s", t->dev.name, strerror(-rc));
		goto fail;
	}
	rc = tun_set_up(t->dev.name);
	if (rc == -EPERM && !t->dev.created) {
		/* An unprivileged culvertd on a persistent device: whoever made
		 * the device sets it up; say so, but serve. */
		log_warnx("cannot set %s up (%s): set it up beforehand (culvertctl link set %s up)",
			  t->dev.name, strerror(-rc), t->dev.name);
	} else if (rc < 0) {
		snprintf(err, errlen, "set %s up: %s", t->dev.name, strerror(-rc));
		goto fail;
	}
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
	t->frame_hdr = cfg->sealed && cfg->transport == TUNNEL_UDP ? 0 : FRAME_HDR_LEN;
	t->pkt_off = t->frame_hdr + (cfg->sealed ? SESSION_TRANSPORT_HEADER_LEN : 0);
	t->slot_len = t->pkt_off + t->max_len + 1 + (cfg->sealed ? NOISE_TAG_LEN : 0);
	t->dev_buf_len = 2 * t->slot_len;
	if (t->dev_buf_len < TUNNEL_DEV_BUF_MIN)
		t->dev_buf_len = TUNNEL_DEV_BUF_MIN;
	if (cfg->offload && !t->dev.vnet)
		log_warnx("%s: the kernel refused TUN/TAP offloads; going without", t->dev.name);
	if (t->dev.vnet) {
		t->dev_buf_len = TUNNEL_VNET_DEV_BUF;
		t->offload_max = cfg->sealed ? SESSION_MAX_PACKET_LEN : FRAME_MAX_LEN;
		t->peer_offload = cfg->plain_offload && !cfg->sealed;
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
		struct session_config sc = {
		    .local_private = cfg->private_key,
		    .peer_public = cfg->peer_public_key,
		    .psk = cfg->psk,
		    .stream = cfg->transport == TUNNEL_TCP,
		    .rekey_after_ms = cfg->rekey_after_ms,
		};

		uint8_t pub[KEY_LEN];

		if (key_public_from_private(pub, cfg->private_key) == 0)
			key_to_base64(t->public_key, pub);
		cookie_checker_init(&t->cookie, pub);
		if (ratelimit_init(&t->rl) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		rc = session_new(&t->sess, &sc);
		if (rc < 0) {
			snprintf(err, errlen, "sealed session: %s",
				 rc == -EINVAL ? "bad keys (the peer's public key is ours, or weak)"
					       : strerror(-rc));
			*usage = rc == -EINVAL;
			goto fail;
		}
		t->sess_ev = evtimer_new(base, tunnel_sess_timer_cb, t);
		t->msg = malloc(TUNNEL_DGRAM_MAX);
		if (!t->sess_ev || !t->msg) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	t->dev_buf = malloc(t->dev_buf_len);
	t->out = evbuffer_new();
	t->dev_ev = event_new(base, t->dev.fd, EV_READ | EV_PERSIST, tunnel_dev_read_cb, t);
	t->retry_ev = evtimer_new(base, tunnel_retry_cb, t);
	if (!t->dev_buf || !t->out || !t->dev_ev || !t->retry_ev ||
	    frame_reader_init(&t->reader, tunnel_frame_max(t)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->reader.allow_empty = cfg->plain_keepalive && !cfg->sealed;
	t->pending_cap =
	    FRAME_HDR_LEN + (cfg->sealed ? SESSION_INITIATION_LEN : tunnel_frame_max(t));
	t->tick_ev = event_new(base, -1, EV_PERSIST, tunnel_tick_cb, t);
	if (!t->tick_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->started_ms = t->last_rx_ms = t->last_tx_ms = tunnel_now_ms();
	tunnel_set_liveness(t, cfg->keepalive_ms, cfg->dead_peer_ms);

	endpoint_format((struct sockaddr *)&cfg->addr, t->peer_str, sizeof(t->peer_str));
	if (cfg->transport == TUNNEL_TCP && cfg->listen) {
		t->listen_fd = tunnel_socket_open(t, err, errlen);
		if (t->listen_fd < 0)
			goto fail;
		t->listen_ev =
		    event_new(base, t->listen_fd, EV_READ | EV_PERSIST, tunnel_accept_cb, t);
		if (!t->listen_ev)
			goto fail;
		event_add(t->listen_ev, NULL);
		log_info("%s: listening on tcp %s", t->dev.name, t->peer_str);
		snprintf(t->peer_str, sizeof(t->peer_str), "(none)");
	} else if (cfg->transport == TUNNEL_TCP) {
		log_info("%s: connecting to tcp %s", t->dev.name, t->peer_str);
		tunnel_connect_start(t);
	} else {
		t->sock_fd = tunnel_socket_open(t, err, errlen);
		if (t->sock_fd < 0)
			goto fail;
		t->dgram = malloc((size_t)TUNNEL_UDP_RX_BATCH * TUNNEL_DGRAM_MAX);
		t->sock_rd_ev =
		    event_new(base, t->sock_fd, EV_READ | EV_PERSIST, tunnel_udp_read_cb, t);
		t->sock_wr_ev =
		    event_new(base, t->sock_fd, EV_WRITE | EV_PERSIST, tunnel_udp_write_cb, t);
		if (!t->dgram || !t->sock_rd_ev || !t->sock_wr_ev) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		event_add(t->sock_rd_ev, NULL);
		t->pmtu_ev = event_new(base, -1, EV_PERSIST, tunnel_pmtu_cb, t);
		if (!t->pmtu_ev) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		struct timeval poll = {TUNNEL_PMTU_POLL_MS / 1000,
				       (TUNNEL_PMTU_POLL_MS % 1000) * 1000};

		event_add(t->pmtu_ev, &poll);
		if (cfg->listen && cfg->peer_addr_len) {
			log_info("%s: listening on udp %s", t->dev.name, t->peer_str);
			memcpy(&t->peer, &cfg->peer_addr, cfg->peer_addr_len);
			t->peer_len = cfg->peer_addr_len;
			endpoint_format((struct sockaddr *)&t->peer, t->peer_str,
					sizeof(t->peer_str));
			log_info("%s: sending to udp %s until the peer speaks", t->dev.name,
				 t->peer_str);
			if (t->sess)
				tunnel_sess_initiate(t, tunnel_now_ms());
		} else if (cfg->listen) {
			log_info("%s: listening on udp %s", t->dev.name, t->peer_str);
			snprintf(t->peer_str, sizeof(t->peer_str), "(none)");
		} else {
			memcpy(&t->peer, &cfg->addr, cfg->addr_len);
			t->peer_len = cfg->addr_len;
			log_info("%s: sending to udp %s", t->dev.name, t->peer_str);
			if (t->sess)
				tunnel_sess_initiate(t, tunnel_now_ms());
		}
	}
	event_add(t->dev_ev, NULL);
	if (cfg->transport == TUNNEL_UDP)
		tunnel_pmtu_poll(t);
	if (t->dev.vnet)
		log_info("%s: offloads on: TSO%s%s", t->dev.name, t->udp_gso ? ", UDP GSO" : "",
			 t->udp_gro ? ", UDP GRO" : "");
	log_info("%s: %s device%s, MTU %d, frames up to %zu bytes, %s", t->dev.name,
		 cfg->mode == TUN_MODE_TAP ? "TAP" : "TUN", t->dev.created ? " (created)" : "", mtu,
		 tunnel_frame_max(t), t->sess ? "sealed" : "plain");
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
	if (t->cfg.transport == TUNNEL_TCP) {
		t->cfg.listen = true; /* no reconnect timer from the close */
		tunnel_tcp_close(t);
	} else {
		tunnel_sock_events_free(t);
		if (t->sock_fd >= 0)
			close(t->sock_fd);
	}
	for (unsigned i = 0; i < TUNNEL_PENDING_MAX; i++) {
		tunnel_pending_close(&t->pending[i]);
		free(t->pending[i].buf);
	}
	if (t->listen_ev)
		event_free(t->listen_ev);
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->retry_ev)
		event_free(t->retry_ev);
	if (t->dev_ev)
		event_free(t->dev_ev);
	if (t->out)
		evbuffer_free(t->out);
	frame_reader_cleanup(&t->reader);
	if (t->tick_ev)
		event_free(t->tick_ev);
	if (t->pmtu_ev)
		event_free(t->pmtu_ev);
	nl_close(&t->nl);
	if (t->sess_ev)
		event_free(t->sess_ev);
	session_free(t->sess);
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

/* What a peer-facing socket is bound to, as "ADDR:PORT". */
static void tunnel_local_str(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		snprintf(buf, size, "-");
	else
		endpoint_format((struct sockaddr *)&ss, buf, size);
}

void tunnel_fill_status(const struct tunnel *t, struct status *st)
{
	const struct tunnel_stats *s = &t->stats;
	uint64_t now = tunnel_now_ms();
	struct status_peer *p = NULL;
	struct session_stats ss;
	const char *state;
	bool up;

	snprintf(st->device, sizeof(st->device), "%s", t->dev.name);
	snprintf(st->mode, sizeof(st->mode), "%s",
		 t->cfg.mode == TUN_MODE_TAP ? STATUS_MODE_TAP : STATUS_MODE_TUN);
	snprintf(st->transport, sizeof(st->transport), "%s",
		 t->cfg.transport == TUNNEL_TCP ? STATUS_TRANSPORT_TCP : STATUS_TRANSPORT_UDP);
	st->sealed = t->sess != NULL;
	st->listen = t->cfg.listen;
	snprintf(st->public_key, sizeof(st->public_key), "%s", t->public_key);
	tunnel_local_str(t->listen_fd >= 0 ? t->listen_fd : t->sock_fd, st->local,
			 sizeof(st->local));
	if (t->cfg.transport == TUNNEL_TCP) {
		up = t->sock_fd >= 0 && !t->connecting;
		state = up              ? STATUS_STATE_CONNECTED
			: t->cfg.listen ? STATUS_STATE_LISTENING
					: STATUS_STATE_CONNECTING;
	} else {
		up = t->peer_len != 0;
		state = up ? STATUS_STATE_ESTABLISHED : STATUS_STATE_NO_PEER;
	}
	if (up && t->sess)
		state = session_is_up(t->sess, now) ? STATUS_STATE_ESTABLISHED
						    : STATUS_STATE_HANDSHAKING;
	snprintf(st->state, sizeof(st->state), "%s", state);
	st->pid = (int32_t)getpid();
	st->uptime = (now - t->started_ms) / 1000;
	st->latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
	if (t->sess && session_last_handshake_ms(t->sess))
		st->latest_handshake = (int64_t)((now - session_last_handshake_ms(t->sess)) / 1000);
	if (t->sess)
		session_get_stats(t->sess, &ss);
	/* The interface's totals. */
	st->rx_bytes = s->rx_bytes;
	st->rx_packets = s->rx_packets;
	st->tx_bytes = s->tx_bytes;
	st->tx_packets = s->tx_packets;
	status_add_drop(st, "bad_frame", s->drop_bad_frame);
	status_add_drop(st, "dev_write", s->drop_dev_write);
	status_add_drop(st, "backpressure", s->drop_backpressure);
	status_add_drop(st, "no_peer", s->drop_no_peer);
	status_add_drop(st, "oversize", s->drop_oversize);
	status_add_drop(st, "send_error", s->drop_send_error);
	status_add_drop(st, "unknown_peer", s->drop_unknown_peer);
	status_add_drop(st, "not_allowed", s->drop_not_allowed);
	status_add_drop(st, "no_session", s->drop_no_session);
	status_add_drop(st, "bad_offload", s->drop_bad_offload);
	status_add_drop(st, "too_big", s->drop_too_big);
	status_add_counter(st, "connections", s->connections);
	status_add_counter(st, "reconnects", s->reconnects);
	status_add_counter(st, "bad_connections", s->bad_connections);
	status_add_counter(st, "device_pauses", s->dev_pauses);
	status_add_counter(st, "keepalives_sent", s->keepalives_sent);
	status_add_counter(st, "keepalives_received", s->keepalives_received);
	status_add_counter(st, "dead_peer", s->dead_peer);
	status_add_counter(st, "pmtu_icmp_sent", s->icmp_sent);
	status_add_counter(st, "mss_clamped", s->mss_clamped);
	status_add_counter(st, "pmtu_fragmented", s->pmtu_fragmented);
	if (t->cfg.transport == TUNNEL_TCP && t->cfg.listen) {
		status_add_counter(st, "accepted", s->accepted);
		status_add_counter(st, "pending_timeouts", s->pending_timeouts);
		status_add_counter(st, "pending_evicted", s->pending_evicted);
		status_add_counter(st, "pending_refused", s->pending_refused);
	}
	if (t->dev.vnet) {
		status_add_counter(st, "offload_sent", s->tx_offload);
		status_add_counter(st, "offload_segmented", s->tx_segmented);
		status_add_counter(st, "offload_received", s->rx_offload);
	}
	if (t->sess) {
		status_add_counter(st, "handshakes", ss.handshakes_completed);
		status_add_counter(st, "rekeys", ss.rekeys);
		status_add_counter(st, "bad_mac1", ss.rx_bad_mac1 + s->hs_bad_mac1);
		status_add_counter(st, "bad_handshake", ss.rx_bad_handshake);
		status_add_counter(st, "unknown_key", ss.rx_unknown_peer);
		status_add_counter(st, "replayed_initiation", ss.rx_replayed_initiation);
		status_add_counter(st, "rate_limited", s->hs_rate_limited);
		status_add_counter(st, "cookies_sent", s->cookies_sent);
		status_add_counter(st, "cookies_received", ss.cookies_received);
		status_add_counter(st, "bad_cookie", ss.rx_bad_cookie);
		status_add_counter(st, "bad_tag", ss.rx_bad_tag);
		status_add_counter(st, "replayed", ss.rx_replayed);
		status_add_counter(st, "stale", ss.rx_stale);
		status_add_counter(st, "out_of_order", ss.rx_out_of_order);
		status_add_counter(st, "expired", ss.rx_expired);
		status_add_counter(st, "unknown_index", ss.rx_unknown_index);
		status_add_counter(st, "malformed", ss.rx_malformed);
	}

	/*
	 * The one peer (doc/design.md section 8): known by its key when
	 * sealed, by its endpoint when it is configured (a client) or heard
	 * from; a plain listener nobody has reached has none.  Everything the
	 * tunnel carries is this peer's, so its traffic is the totals; the
	 * drops and counters are those that belong to a peer (no_peer,
	 * unknown_peer, not_allowed and the handshake rejections before a
	 * peer is known stay the interface's).  Out of memory: no peer.
	 */
	if (!t->sess && t->cfg.listen && !(up && t->peer_len))
		return;
	if (status_add_peer(st, &p) < 0)
		return;
	if (t->sess)
		key_to_base64(p->public_key, session_peer_public_key(t->sess));
	if ((up || t->cfg.transport == TUNNEL_UDP) && t->peer_len)
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", t->peer_str);
	memcpy(p->transport, st->transport, sizeof(p->transport));
	memcpy(p->state, st->state, sizeof(p->state));
	/* TUN: every packet from the device goes to this peer, and any
	 * source is taken from it; TAP: no MAC is learned yet. */
	if (t->cfg.mode != TUN_MODE_TAP) {
		status_peer_add_address(p, "0.0.0.0/0");
		status_peer_add_address(p, "::/0");
	}
	p->latest_handshake = st->latest_handshake;
	if (t->sess || t->cfg.plain_keepalive)
		p->keepalive = t->cfg.keepalive_ms / 1000 > UINT32_MAX
				   ? UINT32_MAX
				   : (uint32_t)(t->cfg.keepalive_ms / 1000);
	p->rx_bytes = s->rx_bytes;
	p->rx_packets = s->rx_packets;
	p->tx_bytes = s->tx_bytes;
	p->tx_packets = s->tx_packets;
	status_peer_add_drop(p, "bad_frame", s->drop_bad_frame);
	status_peer_add_drop(p, "dev_write", s->drop_dev_write);
	status_peer_add_drop(p, "backpressure", s->drop_backpressure);
	status_peer_add_drop(p, "oversize", s->drop_oversize);
	status_peer_add_drop(p, "send_error", s->drop_send_error);
	status_peer_add_drop(p, "no_session", s->drop_no_session);
	status_peer_add_drop(p, "bad_offload", s->drop_bad_offload);
	status_peer_add_drop(p, "too_big", s->drop_too_big);
	status_peer_add_counter(p, "connections", s->connections);
	status_peer_add_counter(p, "reconnects", s->reconnects);
	status_peer_add_counter(p, "keepalives_sent", s->keepalives_sent);
	status_peer_add_counter(p, "keepalives_received", s->keepalives_received);
	status_peer_add_counter(p, "dead_peer", s->dead_peer);
	if (t->sess) {
		status_peer_add_counter(p, "handshakes", ss.handshakes_completed);
		status_peer_add_counter(p, "rekeys", ss.rekeys);
		status_peer_add_counter(p, "cookies_received", ss.cookies_received);
		status_peer_add_counter(p, "bad_tag", ss.rx_bad_tag);
		status_peer_add_counter(p, "replayed", ss.rx_replayed);
		status_peer_add_counter(p, "stale", ss.rx_stale);
		status_peer_add_counter(p, "out_of_order", ss.rx_out_of_order);
		status_peer_add_counter(p, "expired", ss.rx_expired);
	}
}

const char *tunnel_dev_name(const struct tunnel *t)
{
	return t->dev.name;
}

bool tunnel_failed(const struct tunnel *t)
{
	return t->failed;
}

void tunnel_underlay_changed(struct tunnel *t)
{
	uint64_t now = tunnel_now_ms();

	if (t->cfg.listen || t->cfg.transport != TUNNEL_TCP)
		return;
	if (t->sock_fd >= 0 && !t->connecting)
		return; /* connected: TCP carries on by itself */
	if (t->sock_fd < 0 && !evtimer_pending(t->retry_ev, NULL))
		return;
	/* A host where links come and go all the time (containers) must not
	 * turn the backoff into a reconnect per event: one a second at most,
	 * and the reset backoff brings the next attempts soon anyway. */
	if (now - t->underlay_kick_ms < 1000)
		return;
	t->underlay_kick_ms = now;
	log_info("underlay changed: reconnecting to %s now", t->peer_str);
	/* Closing an attempt under way schedules a retry: not needed. */
	tunnel_tcp_close(t);
	event_del(t->retry_ev);
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_connect_start(t);
}

void tunnel_set_lost_cb(struct tunnel *t, void (*cb)(void *arg), void *arg)
{
	t->lost_cb = cb;
	t->lost_arg = arg;
}
