/* SPDX-License-Identifier: MIT */
/*
 * Private to culvertd's data path: what daemon/interface.c, daemon/peer.c,
 * daemon/transport_tcp.c and daemon/transport_udp.c share (doc/design.md
 * section 8).  The interface (struct tunnel) owns the device, the listening
 * or UDP socket, the static key and handshake admission; the peer owns its
 * endpoint, its transport state and its session.  Nothing here is global:
 * every function takes the tunnel it works on.  The public API is
 * daemon/tunnel.h.
 */
#pragma once

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "allowedips.h"
#include "cookie.h"
#include "endpoint.h"
#include "index_table.h"
#include "mactable.h"
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

struct evbuffer;

/* Room for the largest UDP datagram, so recv() never truncates one. */
#define TUNNEL_DGRAM_MAX 65536
/* Datagrams one recvmmsg(2) takes at most.  Their buffers are virtual
 * memory until a datagram lands in them: a 1500-byte one touches a page. */
#define TUNNEL_UDP_RX_BATCH 16
/* Frames one device drain makes at most (a TSO packet is cut into up to 45
 * at a 1500-byte MTU); also the most sendmmsg(2) takes at once. */
#define TUNNEL_TX_MAX 1024

/* Sealed TCP listener: connections that have not yet completed a handshake
 * are held apart from the established one, at most this many (the oldest
 * makes room for a new one), each for at most TUNNEL_PENDING_TIMEOUT_MS
 * (daemon/transport_tcp.c; doc/design.md section 3 "DoS"). */
#define TUNNEL_PENDING_MAX 8
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
	/* A hub: the peer every frame is for (NULL: none made). */
	struct peer *peer;
	/* The last frame carries a packet too long for the path that no
	 * router would answer (IPv4 without DF, IPv6 of at most 1280 bytes,
	 * ICMP errors, multicast): it goes alone, fragmented by the underlay
	 * (tunnel_udp_send_frag()); the drain ends with it. */
	bool frag_last;
};

/*
 * A peer (doc/design.md section 8): its endpoint, its transport state (over
 * TCP its connection; over UDP only the endpoint, the socket is the
 * interface's), its session and timers.  The one-peer tunnel is an
 * interface with one peer; every path that acts for a peer takes it.
 */
struct peer {
	struct tunnel *t; /* the interface it belongs to */
	char name[64];    /* a hub peer's Name, "" when none */

	/* The transport it is on now: the interface's, or with udp_and_tcp
	 * or auto_transport the one its latest handshake ran over. */
	enum tunnel_transport transport;
	/* The transports it may use (tunnel_peer_config's transports; 0:
	 * either): tunnel_peer_may_use(). */
	unsigned transports;
	/* Transport = auto (the one peer): when the first initiation over
	 * UDP since the last authenticated datagram left (0: none waits),
	 * when the next probe over UDP is due while on TCP and its interval,
	 * when it last came back to UDP, ms; fallbacks and probes made. */
	uint64_t auto_wait_ms;
	uint64_t auto_probe_ms;
	uint64_t auto_probe_every_ms;
	uint64_t auto_back_ms;
	uint64_t auto_responses; /* the session's responses_sent at the last
				  * completed handshake or move */
	uint64_t auto_fallbacks, auto_probes;

	struct sockaddr_storage addr; /* its endpoint, once known */
	socklen_t addr_len;           /* 0: not known */
	char str[ENDPOINT_STRLEN];    /* addr as text, for the log */

	/* TCP: the connection (-1 if none), its events, the output buffer
	 * (bytes the socket has not taken yet) and the frame reader; a
	 * client's reconnect timer and backoff. */
	int fd;
	struct event *rd_ev;
	struct event *wr_ev;
	bool connecting;            /* TCP client: connect() under way */
	struct evbuffer *out;       /* NULL over UDP */
	struct frame_reader reader; /* empty over UDP */
	struct event *retry_ev;
	unsigned backoff_ms;
	uint64_t underlay_kick_ms; /* tunnel_underlay_changed() acted, ms */

	/* Offloads: frames to the peer carry the virtio-net header and whole
	 * TSO packets (PlainOffload, or the peer's offer in sealed mode, over
	 * TCP only). */
	bool offload;

	/* Sealed mode (doc/design.md section 3); sess is NULL in plain mode. */
	struct session *sess;
	struct event *sess_ev;   /* the session's next deadline */
	uint64_t last_handshake; /* session_last_handshake_ms() seen last */
	uint64_t initiated_us;   /* when our latest initiation left, µs */
	uint64_t handshake_us;   /* its round trip, once answered, µs */
	uint64_t sessions;       /* keypairs that became current */
	uint64_t seen_bad_mac1, seen_bad_handshake;
	uint64_t cookie_retry_ms; /* our last initiation sent for a cookie */

	/* Liveness (keepalive, dead-peer detection): ms of the last frame
	 * sent to and received from the peer, updated once per batch. */
	uint64_t last_tx_ms;
	uint64_t last_rx_ms;
	/* Its liveness timers, ms, 0 = off (tunnel_set_liveness() for the
	 * one peer; a hub's from each [Peer]). */
	uint64_t keepalive_ms;
	uint64_t dead_peer_ms;

	/* A hub's per-peer counters (the one peer's are the interface's):
	 * packets and bytes from it to the device (or forwarded) and from
	 * the device (or another peer) to it; packets from it with a source
	 * outside its allowed IPs, or for another peer under PeerToPeer = no. */
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t drop_spoofed;
	uint64_t drop_peer_to_peer;
	uint64_t drop_no_session;
	uint64_t drop_bad_src_mac;
	/* A TCP hub: frames for it dropped because its output buffer held
	 * cfg.out_high bytes already (it reads too slowly). */
	uint64_t drop_backpressure;
	/* A plain hub's peer (cfg.plain_hub): made for one connection and
	 * gone with it (@gone: closed, freed by tunnel_reap_cb() once the
	 * callbacks that may still hold it have returned); @n_learned host
	 * addresses in the allowed-IPs table are its (TUN); packets from an
	 * address past TUNNEL_LEARNED_ADDRS_MAX dropped. */
	bool learned;
	bool gone;
	unsigned n_learned;
	uint64_t drop_learn_full;
	/* A plain hub's peer that teaches its addresses (tunnel_learn()):
	 * every one made for a connection, and a [Peer] without AllowedIPs;
	 * one with AllowedIPs holds them strictly, as a sealed peer does. */
	bool learns;
	/* A plain hub's [Peer]: the address its connections or datagrams
	 * come from (its Endpoint's, the port aside), a host prefix; len 0
	 * for any other peer. */
	struct endpoint_prefix source;
	/* A TAP hub: this peer's share of the MAC table (lib/mactable.h). */
	struct mactable_peer macs;
	/* A hub peer's Endpoint as configured (0 length: none), so that a
	 * reload moves it only when the file moved it. */
	struct sockaddr_storage cfg_addr;
	socklen_t cfg_addr_len;
};

/* A hub's buffer for one packet sealed for another peer: the frame
 * header (TCP) and the largest sealed message, bytes. */
#define TUNNEL_FWD_BUF_LEN (FRAME_HDR_LEN + SESSION_MAX_MESSAGE_LEN)

/* Addresses of the device a hub remembers, at most (tunnel_local_addrs()):
 * a packet to one of them is for this host, never forwarded to a peer. */
#define TUNNEL_LOCAL_ADDRS_MAX 16
/* Slots of the MAC table a timer tick looks at for aged entries: the
 * default table (16384 slots) is swept in 16 ticks. */
#define TUNNEL_MAC_EXPIRE_BUDGET 1024

/* Warnings a stranger can cause, each logged at most once per 10 s
 * (tunnel_warn_due()). */
enum tunnel_warning {
	TUNNEL_WARN_MAC1,
	TUNNEL_WARN_AUTH,
	TUNNEL_WARN_KEY,
	TUNNEL_WARN_REPLAY,
	TUNNEL_WARN_LOAD,
	TUNNEL_WARN_PEERS, /* a plain hub is full */
	TUNNEL_WARN_COUNT,
};

/*
 * The interface (doc/design.md section 8): the device, the listening TCP
 * socket or the UDP socket, the static key and handshake admission, the
 * device-side batch buffers, and its peer.  The counters are the
 * interface's (and so, with one peer, the peer's).
 */
struct tunnel {
	struct event_base *base;
	struct tunnel_config cfg;
	struct tun_device dev;
	size_t max_len;    /* largest payload read from the device, bytes */
	size_t rx_max;     /* largest payload taken from the peer, bytes */
	struct peer *peer; /* the one peer (a hub's first), never NULL once made */

	/* A hub (doc/design.md section 8; cfg.n_peers > 0): its peers, the
	 * allowed-IPs table that routes packets between them and the device,
	 * the receiver indices of all their sessions, and the responder that
	 * tells whose an initiation is.  Otherwise peers is &peer, n_peers 1
	 * and routed false. */
	bool routed;
	struct peer **peers;
	unsigned n_peers;
	struct allowedips aips;
	struct index_table indices;
	struct session_responder *responder;
	/* A device packet read for a peer other than the batch's: it waits
	 * at dev_buf + pkt_off (@carry_len bytes, 0: none) for the next batch. */
	size_t carry_len;
	uint8_t *fwd_buf; /* a packet sealed for another peer: TUNNEL_FWD_BUF_LEN */
	struct endpoint_prefix local_addrs[TUNNEL_LOCAL_ADDRS_MAX];
	unsigned n_local_addrs;
	/* A TAP hub: the learning switch's MAC table; the device is a port
	 * of its own (dev_macs: the stations on this host's side). */
	struct mactable macs;
	struct mactable_peer dev_macs;
	/* A hub's static private key (sodium_malloc'd, KEY_LEN bytes), for
	 * the sessions of peers a reload adds; cfg.private_key points here. */
	uint8_t *private_key;

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

	int listen_fd; /* TCP server only (udp_and_tcp: beside the UDP socket) */
	struct event *listen_ev;
	/* UDP (and with udp_and_tcp the TCP listener above): the socket (-1 if none) and its
	 * events; TUNNEL_UDP_RX_BATCH receive buffers of TUNNEL_DGRAM_MAX bytes for recvmmsg(2),
	 * and the datagrams of one device drain for sendmmsg(2). */
	int udp_fd;
	struct event *udp_rd_ev;
	struct event *udp_wr_ev;
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
	 * a read goes whole into one frame when the peer takes offload frames
	 * (struct peer's offload), otherwise to gso_buf to be cut into
	 * segments.  Packets from the peer are coalesced by gro. */
	size_t offload_max; /* largest header + packet one frame carries */
	uint8_t vhdr[VNET_HDR_LEN];
	uint8_t *gso_buf;
	uint16_t seg_len[TUNNEL_TX_MAX];
	struct vnet_gro gro;

	/* Sealed mode (doc/design.md section 3). */
	uint8_t *msg;     /* a decrypted packet or a handshake message */
	size_t frame_hdr; /* FRAME_HDR_LEN; 0 for sealed UDP only (datagrams) */
	size_t pkt_off;   /* where a device packet is read in a slot */
	size_t slot_len;  /* room for one frame in dev_buf */
	uint64_t warned_at[TUNNEL_WARN_COUNT]; /* ms of the last warning, by kind */
	/* Handshake admission (doc/design.md section 3 "DoS"): mac1 and mac2
	 * of initiations, cookie replies, a rate limit per source address,
	 * the load meter; pending TCP connections. */
	struct cookie_checker cookie;
	struct ratelimit rl;
	struct ratelimit_bucket load;
	uint64_t under_load_until;
	struct tunnel_pending pending[TUNNEL_PENDING_MAX];
	size_t pending_cap; /* bytes of each pending buf: the largest first frame */
	/* A listener's allowed sources; none: anyone. */
	struct endpoint_prefix allow_from[TUNNEL_ALLOW_FROM_MAX];
	unsigned n_allow_from;

	struct event *tick_ev; /* the one-second liveness tick */
	struct event *reap_ev; /* a plain hub: frees the peers that are gone */

	bool failed;
	struct tunnel_stats stats;
	uint64_t started_ms;
	char public_key[KEY_BASE64_SIZE]; /* ours, sealed mode; "" plain */

	/* tunnel_set_lost_cb(): before a TCP client reconnects, after a
	 * dead peer over UDP. */
	void (*lost_cb)(void *arg);
	void *lost_arg;

	/* The device's namespace when it is not the sockets' (doc/design.md
	 * section 11): its nsfs fd (-1: the same), an rtnetlink socket in it
	 * for the device's addresses, and both namespaces' names as the
	 * status gives them (tunnel_dev_netns()). */
	int dev_netns_fd;
	int dev_ifindex;
	struct nl_handle dev_nl;
	char dev_netns[STATUS_NETNS_SIZE];
	char underlay_netns[STATUS_NETNS_SIZE];
};

/* ---- daemon/interface.c: the device, handshake admission, set-up ---- */

/* Stops the loop after a runtime failure that leaves nothing to serve. */
void tunnel_fail(struct tunnel *t);

/* Writes one packet of @len bytes behind the virtio-net header @hdr (NULL on
 * a device without one) to the device in one write, counting it (rx). */
void tunnel_dev_writev(struct tunnel *t, const uint8_t *hdr, const uint8_t *pkt, size_t len);

/* The coalescer's output (lib/vnet.h, vnet_gro_add()): one device write;
 * @ctx is the struct tunnel. */
void tunnel_gro_write(void *ctx, const uint8_t *hdr, const uint8_t *pkt, size_t len);

/* Delivers an offload frame from the peer (doc/PROTOCOL.md "Offload
 * frames"): @len bytes, a virtio-net header and a packet, checked before
 * the kernel sees the header; a bad one is dropped and counted. */
void tunnel_dev_write_offload(struct tunnel *t, const uint8_t *buf, size_t len);

/* True when a warning of kind @w may be logged at @now (ms): one per kind
 * every 10 s, so that a flood does not flood the log. */
bool tunnel_warn_due(struct tunnel *t, enum tunnel_warning w, uint64_t now);

/* Handshake admission (doc/design.md section 3 "DoS"; WireGuard paper
 * section 5.3): true when the initiation @msg (@len bytes) from @src
 * (@srclen bytes; @from its text) may cost Diffie-Hellman at @now (ms).
 * Over a stream (@stream) no cookie is asked.  Other messages pass. */
bool tunnel_admit(struct tunnel *t, const uint8_t *msg, size_t len,
		  const struct sockaddr_storage *src, socklen_t srclen, bool stream,
		  const char *from, uint64_t now);

/*
 * A hub (doc/design.md section 8): whose is the initiation @msg (@len
 * bytes, its first byte SESSION_TYPE_INITIATION) from @src?  It passes
 * handshake admission first (tunnel_admit(), @stream as there), then
 * session_identify() authenticates the initiator's static key (Noise IK's
 * first message, WireGuard paper section 5.4.2), which must be a [Peer]'s.
 * @from is @src as text for the log.  Returns the peer, or NULL with the
 * reason counted (hs_bad_mac1, hs_rate_limited, hs_unknown_key, ...).
 */
struct peer *tunnel_initiator(struct tunnel *t, const uint8_t *msg, size_t len,
			      const struct sockaddr_storage *src, socklen_t srclen, bool stream,
			      const char *from, uint64_t now);

/* A hub: re-reads the device's own addresses (getifaddrs(3)), at most
 * TUNNEL_LOCAL_ADDRS_MAX, into local_addrs: a packet from a peer to one of
 * them goes to the device even when a peer's allowed IPs hold it. */
void tunnel_local_addrs(struct tunnel *t);

/* True when a listener may hear from @sa: no AllowFrom, or inside one. */
bool tunnel_allowed(const struct tunnel *t, const struct sockaddr_storage *sa);

/* ---- daemon/peer.c: the session, liveness, the peer's endpoint ---- */

/* Re-arms the session timer for its next deadline after @now (ms). */
void tunnel_sess_schedule(struct peer *p, uint64_t now);

/* Forgets every keypair (a new stream, a dead peer): the next session
 * starts from a handshake. */
void tunnel_sess_restart(struct peer *p);

/* Sends a handshake initiation at @now (ms), when there is a way to the
 * peer, and re-arms the session timer. */
void tunnel_sess_initiate(struct peer *p, uint64_t now);

/* The session timer (libevent callback; @arg the struct peer). */
void tunnel_sess_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Says why a handshake message of @type from @from was refused with the
 * negative errno @rc (warnings at most every 10 s per reason). */
void tunnel_sess_refused(struct peer *p, int rc, uint8_t type, const char *from, uint64_t now);

/* Opens one sealed message (@len bytes: a TCP frame's payload with @src
 * NULL, or a UDP datagram from @src of @srclen bytes) and acts on it.
 * Returns 0, or the negative errno of session_receive(); -EPROTO over TCP
 * has closed the connection. */
int tunnel_open(struct peer *p, const uint8_t *msg, size_t len, const struct sockaddr_storage *src,
		socklen_t srclen);

/* As tunnel_open(), for an initiation that has passed handshake admission
 * already (a hub's, before session_identify()). */
int tunnel_open_admitted(struct peer *p, const uint8_t *msg, size_t len,
			 const struct sockaddr_storage *src, socklen_t srclen);

/*
 * A hub: seals the packet or frame @pkt (@len bytes) for its peer @q into
 * fwd_buf (a plain hub: frames it as it is) and sends it, as one datagram
 * or one frame into @q's TCP output (a packet forwarded between peers, or
 * a frame flooded).  Counts @q's tx and, failing, the reason.  Returns
 * true when sent; false with no way to @q, no session (a handshake is
 * begun when due), a full output buffer or a failed send.
 */
bool tunnel_send_one(struct tunnel *t, struct peer *q, const uint8_t *pkt, size_t len);

/* A TAP hub floods @frame (@len bytes) to every peer with a session (a
 * plain hub: a connection) but @from (NULL: the frame came from the
 * device); counted in stats.flooded. */
void tunnel_flood(struct tunnel *t, const struct peer *from, const uint8_t *frame, size_t len);

/* What peer @p sent, opened (@len bytes at @pkt, a packet or frame): to
 * the device, or in a hub routed (TUN, allowed IPs) or switched (TAP, MAC
 * table) to the device or another peer (doc/design.md section 8). */
void tunnel_deliver(struct peer *p, const uint8_t *pkt, size_t len);

/* A plain hub (cfg.plain_hub; doc/design.md section 8): the peer for a
 * connection or datagram from @src: the [Peer] whose Endpoint has @src's
 * address (the port aside), else a new peer of its own, added to t->peers
 * and freed when its connection closes or its endpoint falls silent
 * (tunnel_peer_forget()).  NULL when TUNNEL_PLAIN_PEERS_MAX are there
 * (peers_refused) or memory ran out. */
struct peer *tunnel_plain_peer_for(struct tunnel *t, const struct sockaddr_storage *src);

/* A plain hub's peer @p whose connection closed or whose endpoint fell
 * silent: what it taught (host routes, MACs) is forgotten at once; one
 * made for the connection is freed from the event loop (t->reap_ev) once
 * no callback can hold it any more, a [Peer] stays. */
void tunnel_peer_forget(struct peer *p);

/* A plain hub's peers' dead-peer timeout, ms: DeadPeerTimeout, and over
 * UDP, where a peer is only an endpoint, TUNNEL_PLAIN_UDP_SILENCE_MS when
 * none is given, so that silent endpoints do not hold their slots. */
static inline uint64_t tunnel_plain_dead_peer_ms(const struct tunnel *t)
{
	if (t->cfg.dead_peer_ms || t->cfg.transport != TUNNEL_UDP)
		return t->cfg.dead_peer_ms;
	return TUNNEL_PLAIN_UDP_SILENCE_MS;
}

/* t->reap_ev's callback: frees a plain hub's peers that are gone and
 * closes the gaps in t->peers. */
void tunnel_reap_cb(evutil_socket_t fd, short what, void *arg);

/* Sends one message that did not come from the device (a handshake message
 * or a keepalive, @len bytes): framed into the TCP output, or as one
 * datagram.  Dropped when there is no way to the peer. */
void tunnel_send_msg(struct peer *p, const uint8_t *msg, size_t len);

/* The peer's share of the one-second tick at @now (ms): the session's
 * handshake and keepalive wishes, dead-peer detection, keepalives. */
void tunnel_peer_tick(struct peer *p, uint64_t now);

/* Makes a peer of @t (endpoint unset, no connection; in sealed mode its
 * session): a hub's from @pc, the one peer from t->cfg (@pc NULL).  On
 * failure returns NULL, with a reason in @err (@errlen bytes) and *@usage
 * set for a configuration error, as tunnel_new(). */
struct peer *tunnel_peer_new(struct tunnel *t, const struct tunnel_peer_config *pc, char *err,
			     size_t errlen, bool *usage);

/* Frees @p (its connection, if still open, is closed; NULL is ignored). */
void tunnel_peer_free(struct peer *p);

/* ---- daemon/transport_tcp.c: connect, listen, probation, streams ---- */

/* Frees the connection's read and write events (either may be NULL). */
void tunnel_tcp_events_free(struct peer *p);

/* Closes the TCP connection, if any; a client then schedules a reconnect
 * (capped exponential backoff, TUNNEL_BACKOFF_MIN_MS..MAX_MS). */
void tunnel_tcp_close(struct peer *p);

/* Hands the output buffer to the kernel; pauses or resumes the device
 * around cfg.out_high.  Returns 0, or -1 when the connection failed (and
 * was closed). */
int tunnel_tcp_flush(struct peer *p);

/* Sends a batch of frames (@len bytes at @buf): straight to the socket when
 * nothing is queued, keeping what the socket did not take. */
void tunnel_tcp_send(struct peer *p, const uint8_t *buf, size_t len);

/*
 * A TCP hub (doc/design.md section 8, "Backpressure is per peer"): queues
 * @len bytes of whole frames at @buf, carrying @packets packets of @payload
 * bytes, for hub peer @p.  A peer with no connection gets nothing
 * (drop_no_peer).  A full output buffer is the caller's to test, with
 * tunnel_tcp_congested() before each packet is sealed.  Counts @p's tx; the
 * interface's is the caller's (a flooded frame is one packet, however many
 * peers get it).  Returns true when queued.
 */
bool tunnel_tcp_send_peer(struct peer *p, const uint8_t *buf, size_t len, uint64_t packets,
			  uint64_t payload);

/*
 * A hub's peer @p over TCP whose output buffer already holds cfg.out_high
 * bytes or more (doc/design.md section 8, "Backpressure is per peer"): the
 * packet for it is to be dropped, and this counts it (drop_backpressure,
 * @p's and the interface's).  Called before the packet is sealed: a sealed
 * message dropped would leave a gap in its counters, which a TCP receiver
 * takes for corruption and closes the connection over (lib/session.h,
 * session_receive()).  A slow peer never pauses the device for the others,
 * and what waits for it is bounded: out_high plus one batch
 * (TUNNEL_BATCH frames).  False for every other peer and for a tunnel with
 * one peer, which pauses its device instead (tunnel_tcp_flush()).
 */
bool tunnel_tcp_congested(struct peer *p);

/* True when @p can be sent to now: over TCP it has a connection (not
 * connecting), over UDP a known endpoint. */
static inline bool tunnel_peer_reachable(const struct peer *p)
{
	return p->transport == TUNNEL_TCP ? p->fd >= 0 && !p->connecting : p->addr_len != 0;
}

/* True when the interface may carry its peers over both transports
 * (udp_and_tcp, auto_transport): a frame then has room for the length
 * prefix, which a sealed datagram leaves out. */
static inline bool tunnel_two_transports(const struct tunnel_config *cfg)
{
	return cfg->udp_and_tcp || cfg->auto_transport;
}

/* True when @p may complete a handshake over @tr: not pinned to the other
 * transport by its [Peer] Transport. */
static inline bool tunnel_peer_may_use(const struct peer *p, enum tunnel_transport tr)
{
	return !p->transports || (p->transports & (1u << tr));
}

/* Counts and (rate-limited) logs an initiation from @p refused because its
 * [Peer] Transport pins it to the other transport than @tr; @from is the
 * sender's address as text. */
void tunnel_wrong_transport(struct peer *p, enum tunnel_transport tr, const char *from,
			    uint64_t now);

/* "tcp" or "udp", for the log. */
static inline const char *tunnel_transport_name(enum tunnel_transport tr)
{
	return tr == TUNNEL_TCP ? "tcp" : "udp";
}

/* @p has just moved to the transport in p->transport: logs it, with the
 * endpoint when that is UDP. */
void tunnel_peer_moved(const struct peer *p);

/* Bytes of length prefix a frame to @p carries: FRAME_HDR_LEN over TCP and
 * in plain mode, none for a sealed datagram (doc/PROTOCOL.md). */
static inline size_t tunnel_peer_frame_hdr(const struct peer *p)
{
	return p->t->cfg.sealed && p->transport == TUNNEL_UDP ? 0 : FRAME_HDR_LEN;
}

/* Closes a connection on probation; its slot and buffer stay. */
void tunnel_pending_close(struct tunnel_pending *p);

/* The listener is readable (libevent callback; @arg the struct tunnel). */
void tunnel_accept_cb(evutil_socket_t lfd, short what, void *arg);

/* The reconnect timer (libevent callback; @arg the struct peer). */
void tunnel_retry_cb(evutil_socket_t fd, short what, void *arg);

/* Starts a non-blocking connect() to cfg.addr; a failure schedules a
 * retry, or stops the loop when no socket can be made. */
void tunnel_connect_start(struct peer *p);

/* ---- daemon/transport_udp.c: datagrams, GSO/GRO, path MTU ---- */

/* Sends the @n frames of a device drain (tx_iov), one datagram each, with
 * UDP GSO where it can; with @frag_last the last one alone, to be
 * fragmented by the underlay.  Drops and counts what cannot go. */
void tunnel_udp_send_batch(struct peer *p, unsigned n, bool frag_last);

/* The UDP socket takes datagrams again (libevent callback; @arg the
 * struct tunnel): the device is read again. */
void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg);

/* The UDP socket is readable (libevent callback; @arg the struct tunnel). */
void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg);

/* Sets the UDP socket @fd's options: buffers of TUNNEL_UDP_SOCKBUF bytes,
 * UDP GRO (and GSO on send) when the device has offloads, path MTU
 * discovery with the errors on the error queue (doc/design.md section 10). */
void tunnel_udp_setopts(struct tunnel *t, int fd);

/* The address family the underlay carries @ss over (AF_INET for an
 * IPv4-mapped IPv6 address; AF_UNSPEC if neither); stores its address
 * bytes (4 or 16) in @addr. */
int tunnel_underlay_family(const struct sockaddr_storage *ss, uint8_t *addr);

/* Reads the path MTU toward @p over UDP from the kernel's route and derives
 * what fits (the interface's fit_len, inner_mtu) when it changed. */
void tunnel_pmtu_poll(struct peer *p);

/* tunnel_pmtu_poll() for the one peer; a hub takes the smallest inner MTU
 * over all peers whose endpoint is known (one device MTU serves them all). */
void tunnel_pmtu_poll_all(struct tunnel *t);

/* The path MTU poll timer (libevent callback; @arg the struct tunnel). */
void tunnel_pmtu_cb(evutil_socket_t fd, short what, void *arg);

/* ---- inline: called per packet or per batch from more than one file ---- */

/* True when an empty frame is a plain keepalive (PlainKeepalive, plain
 * mode): what the stream reader and a connection on probation accept. */
static inline bool tunnel_plain_keepalive(const struct tunnel *t)
{
	return t->cfg.plain_keepalive && !t->cfg.sealed;
}

/* The largest frame payload either side may send, bytes: a packet, in
 * sealed mode with the transport header and tag around it (and never less
 * than a handshake initiation); with offload frames over TCP, any length. */
static inline size_t tunnel_frame_max(const struct tunnel *t)
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

/* True when @pkt (@len bytes, an IP packet from TUN or a peer) is IPv6 of
 * link scope: source unspecified (::) or link-local (fe80::/10), or
 * destination link-local unicast or link-local multicast (ff02::/16).  A
 * hub routes by address and so, like any router (RFC 4291 section 2.5.6),
 * carries none of them: they are dropped and counted, not taken for
 * spoofing or for want of a route. */
static inline bool tunnel_link_scope(const uint8_t *pkt, size_t len)
{
	static const uint8_t unspecified[16];

	if (len < 40 || pkt[0] >> 4 != 6)
		return false;
	return (pkt[8] == 0xfe && (pkt[9] & 0xc0) == 0x80) ||
	       memcmp(pkt + 8, unspecified, 16) == 0 ||
	       (pkt[24] == 0xfe && (pkt[25] & 0xc0) == 0x80) ||
	       (pkt[24] == 0xff && (pkt[25] & 0x0f) == 0x02);
}

/* Microseconds of CLOCK_MONOTONIC. */
static inline uint64_t tunnel_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds of CLOCK_MONOTONIC: the session's clock. */
static inline uint64_t tunnel_now_ms(void)
{
	return tunnel_now_us() / 1000;
}

/* Stops reading the device: the kernel then drops at the device queue, as a
 * congested NIC does, instead of culvertd buffering without bound. */
static inline void tunnel_dev_pause(struct tunnel *t)
{
	if (t->dev_paused)
		return;
	event_del(t->dev_ev);
	t->dev_paused = true;
	t->stats.dev_pauses++;
}

static inline void tunnel_dev_resume(struct tunnel *t)
{
	if (!t->dev_paused)
		return;
	event_add(t->dev_ev, NULL);
	t->dev_paused = false;
	/* A carried packet is read already: the device may stay quiet. */
	if (t->carry_len)
		event_active(t->dev_ev, EV_READ, 0);
}

/* Writes what the coalescer holds: the end of a batch from the peer. */
static inline void tunnel_dev_flush(struct tunnel *t)
{
	if (t->dev.vnet)
		vnet_gro_flush(&t->gro, tunnel_gro_write, t);
}

/* Delivers one packet from the peer to the device: through the coalescer
 * on a device with offloads (tunnel_dev_flush() ends the batch). */
static inline void tunnel_dev_write(struct tunnel *t, const uint8_t *pkt, size_t len)
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
