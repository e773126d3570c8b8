/* SPDX-License-Identifier: MIT */
/*
 * One tunnel: a TUN/TAP device joined to one peer over a TCP connection or a
 * UDP socket, with the plain frame format (doc/design.md sections 1 and 2).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tun.h"

struct event_base;
struct endpoint_prefix;

/*
 * One peer of a hub (doc/design.md section 8): sealed, over UDP.  The
 * tunnel copies what it keeps (keys into its session, prefixes into its
 * allowed-IPs table); the pointers need to live only through tunnel_new().
 */
struct tunnel_peer_config {
	const char *name;          /* for the log and the status; NULL or "": none */
	const uint8_t *public_key; /* 32 bytes */
	const uint8_t *psk;        /* 32 bytes, or NULL */
	/* Where to send before the peer is heard from (0 length: wait). */
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	/* TUN: its allowed IPs: inner destinations routed to it, and the
	 * only sources taken from it; host bits may be set (they are
	 * cleared).  TAP: none (its MAC addresses are learned). */
	const struct endpoint_prefix *allowed_ips;
	unsigned n_allowed_ips;
	/* Liveness, ms, 0 = off: as tunnel_config's, for this peer. */
	uint64_t keepalive_ms;
	uint64_t dead_peer_ms;
	/* tunnel_hub_update() only: the peer's preshared key is the one it
	 * has (psk is not looked at), so its session goes on. */
	bool same_psk;
	/* With udp_and_tcp: the transports it may use, bits 1 << TUNNEL_TCP
	 * and 1 << TUNNEL_UDP ([Peer] Transport pins one); 0: either. */
	unsigned transports;
};

/* Peers of one hub, at most: every one costs a session (a few pages of
 * sodium_malloc'd memory) and SESSION_MAX_INDICES receiver indices. */
#define TUNNEL_PEERS_MAX 4096
/* Prefixes of a hub's allowed-IPs table, at most, all peers together. */
#define TUNNEL_ALLOWED_IPS_MAX 65536

/* A plain hub's peers (connections), at most: one more is refused and
 * counted (peers_refused). */
#define TUNNEL_PLAIN_PEERS_MAX 256
/* Host addresses one plain hub peer may teach, at most: a packet from one
 * more is dropped and counted against it (learn_full). */
#define TUNNEL_LEARNED_ADDRS_MAX 16
/* A plain UDP hub forgets a peer (an endpoint) silent this long, ms,
 * unless DeadPeerTimeout says otherwise. */
#define TUNNEL_PLAIN_UDP_SILENCE_MS (180 * 1000)

/* Prefixes a listener takes in allow_from, at most. */
#define TUNNEL_ALLOW_FROM_MAX 32

enum tunnel_transport {
	TUNNEL_TCP,
	TUNNEL_UDP,
};

struct tunnel_config {
	const char *dev_name;
	enum tun_mode mode;
	/* The device and its namespace (doc/design.md section 11): @dev,
	 * when not NULL, is one already attached (tun_from_fd(), --dev-fd),
	 * which the tunnel takes over, dev_name and mode being its own;
	 * otherwise dev_name is attached to or made.  @dev_netns_fd, when
	 * >= 0, is the nsfs fd of the network namespace the device is in or
	 * is made in (DeviceNetns, or the fd's own), which the tunnel also
	 * takes over; -1: the caller's.  The sockets stay in the caller's
	 * namespace either way. */
	const struct tun_device *dev;
	int dev_netns_fd;
	enum tunnel_transport transport;
	/* Sealed only, with transport TUNNEL_UDP (doc/design.md section 8):
	 * udp_and_tcp, a listener that also accepts TCP on the same port
	 * (Transports = udp, tcp), each peer on the transport it last
	 * completed a handshake over; auto_transport, a one-peer client that
	 * starts over UDP, falls back to TCP when no handshake completes over
	 * UDP for TUNNEL_AUTO_WAIT_MS and returns when a probe over UDP is
	 * answered (Transport = auto). */
	bool udp_and_tcp;
	bool auto_transport;
	bool listen;                  /* passive side: wait for the peer */
	struct sockaddr_storage addr; /* listen address, or the peer to connect to */
	socklen_t addr_len;
	/* UDP with listen: the peer to send to before it is heard from (0
	 * length: wait for it). */
	struct sockaddr_storage peer_addr;
	socklen_t peer_addr_len;
	/* Listener: only sources in one of these prefixes may connect or
	 * send; none (0) lets anyone.  Copied. */
	const struct endpoint_prefix *allow_from;
	unsigned n_allow_from;
	int mtu;         /* device MTU to set, bytes; 0: the route's less the overhead */
	size_t out_high; /* TCP output buffer high-water mark, bytes */
	/* Sealed mode: keys of 32 bytes each (the tunnel copies them), psk
	 * NULL for none; rekey_after_ms 0 for the default (120 s). */
	bool sealed;
	const uint8_t *private_key;
	const uint8_t *peer_public_key;
	const uint8_t *psk;
	uint64_t rekey_after_ms;
	/* Liveness: a keepalive after keepalive_ms without sending (sealed
	 * mode, or plain mode with plain_keepalive), and a session restart
	 * after dead_peer_ms without hearing from the peer; 0 = off. */
	uint64_t keepalive_ms;
	uint64_t dead_peer_ms;
	bool plain_keepalive;
	/* TUN/TAP offloads (lib/vnet.h): TSO packets read whole, cut into
	 * segments or (plain_offload, or negotiated in sealed mode; TCP
	 * only) carried whole in offload frames (doc/PROTOCOL.md). */
	bool offload;
	bool plain_offload;
	/* ClampMSS: lower the MSS option of TCP SYNs both ways to fit the
	 * inner MTU (lib/mtu.h). */
	bool clamp_mss;
	/* A hub (doc/design.md section 8): @n_peers peers (1 ..
	 * TUNNEL_PEERS_MAX) in place of peer_public_key, psk, peer_addr and
	 * the liveness above, each packet routed by allowed IPs (TUN) or
	 * learned MAC addresses (TAP).  Sealed mode, over UDP, or over TCP
	 * with listen; 0: the one peer above, which every packet goes to.
	 * peer_to_peer false (PeerToPeer = no) drops what one peer sends to
	 * another instead of forwarding it. */
	const struct tunnel_peer_config *peers;
	unsigned n_peers;
	bool peer_to_peer;
	/* A plain hub (Hub = yes; plain TCP with listen, n_peers 0): every
	 * accepted connection that sends a valid frame is a peer of its own,
	 * at most TUNNEL_PLAIN_PEERS_MAX; TUN learns the source addresses it
	 * sends from as host routes (TUNNEL_LEARNED_ADDRS_MAX each), TAP its
	 * MACs; all of it forgotten when the connection closes. */
	bool plain_hub;
};

/* Default TCP output buffer high-water mark: above it the device is no
 * longer read; reading resumes below a quarter of it. */
#define TUNNEL_OUT_HIGH_DEFAULT (256 * 1024)
/* Packets read from one fd per wakeup at most (doc/design.md section 1). */
#define TUNNEL_BATCH 64
/* TCP reconnect backoff: first delay and cap, milliseconds. */
#define TUNNEL_BACKOFF_MIN_MS 200
#define TUNNEL_BACKOFF_MAX_MS 10000
/* Transport = auto (doc/design.md section 8): over UDP, an initiation
 * unanswered this long (ms) falls back to TCP (or see below); over TCP, a probe
 * initiation goes over UDP every TUNNEL_AUTO_PROBE_MS, doubled up to
 * TUNNEL_AUTO_PROBE_MAX_MS while the path flaps (a fallback within
 * TUNNEL_AUTO_FLAP_MS of returning to UDP). */
#define TUNNEL_AUTO_WAIT_MS      (15 * 1000)
#define TUNNEL_AUTO_PROBE_MS     (30 * 1000)
#define TUNNEL_AUTO_PROBE_MAX_MS (8 * 60 * 1000)
#define TUNNEL_AUTO_FLAP_MS      (2 * 60 * 1000)
/* Over UDP, this many of the peer's initiations answered with none
 * completing also fall back (our datagrams do not reach it). */
#define TUNNEL_AUTO_LOST_RESPONSES 3

/* Counters since start.  rx: from the peer to the device; tx: from the
 * device to the peer.  Bytes count payload (packet) bytes, not framing. */
struct tunnel_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t drop_bad_frame;    /* malformed frame or datagram from the peer */
	uint64_t drop_dev_write;    /* the device refused a packet */
	uint64_t drop_backpressure; /* the socket could not take a datagram */
	uint64_t drop_no_peer;      /* no connection or no known peer yet */
	uint64_t drop_oversize;     /* device packet larger than the frame maximum */
	uint64_t drop_send_error;   /* the underlay refused a datagram */
	uint64_t drop_unknown_peer; /* datagram from an address that is not the peer */
	uint64_t drop_not_allowed;  /* connection or datagram from outside allow_from */
	uint64_t drop_no_session;   /* sealed mode: no keypair to seal with yet */
	uint64_t dev_pauses;        /* times device reading stopped for backpressure */
	uint64_t accepted;          /* TCP listener: connections accepted, on probation or not */
	uint64_t connections;       /* TCP connections established (served) */
	uint64_t reconnects;        /* connections established after the first */
	uint64_t bad_connections;   /* TCP connections closed for a bad frame */
	uint64_t keepalives_sent;
	uint64_t keepalives_received;
	uint64_t dead_peer; /* sessions restarted after the peer went silent */
	/* Offloads: TSO packets sent whole in one offload frame, cut into
	 * segments here, written to the device whole (from offload frames or
	 * coalesced); offload frames or device reads with a bad header. */
	uint64_t tx_offload;
	uint64_t tx_segmented;
	uint64_t rx_offload;
	uint64_t drop_bad_offload;
	/* Sealed mode, handshake admission (doc/design.md section 3 "DoS"):
	 * initiations refused for a bad mac1 before the session saw them,
	 * answered with a cookie reply under load, over their source's rate
	 * limit; TCP connections dropped before completing a handshake: at
	 * their deadline, to make room for a newer one, for a first message
	 * that is no valid initiation. */
	uint64_t hs_bad_mac1;
	uint64_t cookies_sent;
	uint64_t hs_rate_limited;
	uint64_t pending_timeouts;
	uint64_t pending_evicted;
	uint64_t pending_refused;
	/* MTU (doc/design.md section 10): device packets too long for the
	 * path to the peer, dropped as a router drops them; the ICMP "too
	 * big" messages written back into the device for them (at most
	 * TUNNEL_ICMP_PER_SECOND); SYNs whose MSS option was lowered; too
	 * long packets no router answers, sent to be fragmented. */
	uint64_t drop_too_big;
	uint64_t icmp_sent;
	uint64_t mss_clamped;
	uint64_t pmtu_fragmented;
	/* A hub (doc/design.md section 8): device packets whose destination
	 * no peer's allowed IPs hold; packets from a peer whose source is
	 * outside its allowed IPs; packets between peers forwarded inside
	 * culvertd, and those dropped for PeerToPeer = no; initiations whose
	 * static key no [Peer] has; sealed messages naming no receiver index
	 * we hold, or too malformed to name one; IPv6 link-scope packets
	 * (router and neighbour discovery, MLD: link-local or unspecified
	 * source, link-local destination), which a routed hop never carries.
	 */
	uint64_t drop_no_route;
	uint64_t drop_spoofed;
	uint64_t forwarded;
	uint64_t drop_peer_to_peer;
	uint64_t hs_unknown_key;
	/* udp_and_tcp: initiations from a peer pinned to the other transport
	 * ([Peer] Transport), refused. */
	uint64_t hs_wrong_transport;
	uint64_t rx_unknown_index;
	uint64_t rx_malformed;
	uint64_t drop_link_local;
	/* A TAP hub, a learning switch (lib/mactable.h): frames with a group
	 * or all-zero source MAC (never learned, as the Linux bridge drops
	 * them); broadcast, multicast and unknown unicast frames flooded to
	 * the peers (each counted once, however many peers it reached). */
	uint64_t drop_bad_src_mac;
	uint64_t flooded;
	/* A plain hub: connections refused because TUNNEL_PLAIN_PEERS_MAX
	 * peers were connected; packets dropped because their peer had
	 * taught TUNNEL_LEARNED_ADDRS_MAX addresses already (or the table
	 * was full); addresses that moved from one peer to another. */
	uint64_t peers_refused;
	uint64_t drop_learn_full;
	uint64_t addr_moves;
};

struct tunnel;

/*
 * Opens the device and the socket @cfg describes and registers their events
 * on @base; the connection (TCP client) is attempted from the event loop.
 * On failure returns NULL and writes a one-line reason naming the operation
 * into @err (@errlen bytes); *@usage is set when the reason is a
 * configuration error (exit status 2) rather than a runtime one.
 */
struct tunnel *tunnel_new(struct event_base *base, const struct tunnel_config *cfg, char *err,
			  size_t errlen, bool *usage);

/* Closes the socket and the device (which the kernel then removes when
 * culvertd created it) and frees @t.  NULL is ignored. */
void tunnel_free(struct tunnel *t);

/* Replaces the listener's allowed sources (SIGHUP): @n prefixes at @allow
 * (copied; at most TUNNEL_ALLOW_FROM_MAX, the rest ignored), 0 for anyone.
 * An established TCP connection from outside them is closed. */
void tunnel_set_allow_from(struct tunnel *t, const struct endpoint_prefix *allow, unsigned n);

/* A plain hub (SIGHUP): PeerToPeer, @on false drops what one peer sends to
 * another (doc/design.md section 8).  A sealed hub takes it with its peers
 * (tunnel_hub_update()). */
void tunnel_set_peer_to_peer(struct tunnel *t, bool on);

/* Changes the liveness timers (SIGHUP): keepalive and dead-peer timeouts in
 * ms, 0 = off.  Takes effect at the next one-second tick. */
void tunnel_set_liveness(struct tunnel *t, uint64_t keepalive_ms, uint64_t dead_peer_ms);

/*
 * Points the tunnel at a new peer endpoint (SIGHUP): a TCP client drops its
 * connection and reconnects there; over UDP the next datagram goes there
 * (and sealed mode starts a handshake).  Not for a TCP listener.  Returns
 * true when the endpoint changed.
 */
bool tunnel_set_endpoint(struct tunnel *t, const struct sockaddr_storage *ss, socklen_t len);

/*
 * A hub's reload (SIGHUP; doc/design.md section 8): makes its peers those
 * of @peers (@n, 1 .. TUNNEL_PEERS_MAX; same_psk as the caller knows it),
 * matched by public key.  A peer in both keeps its session, endpoint,
 * timers' state and counters, and takes the new name, keepalive, dead-peer
 * timeout and allowed IPs, and the Endpoint when the file moved it (then a
 * handshake begins there).  A peer only in @peers is added and, with an
 * Endpoint, called at once; a peer whose preshared key changed gets a new
 * session.  A peer not in @peers is removed: its session erased, its
 * allowed IPs and MACs forgotten.  @peer_to_peer replaces PeerToPeer.  The
 * other peers' sessions and packets are not touched.  Returns 0 with what
 * changed in @kept/@added/@removed (may be NULL), or -1 with a reason in
 * @err (@errlen bytes) and the peers as they were (out of memory, too
 * many peers or prefixes, a bad key).
 */
int tunnel_hub_update(struct tunnel *t, const struct tunnel_peer_config *peers, unsigned n,
		      bool peer_to_peer, unsigned *kept, unsigned *added, unsigned *removed,
		      char *err, size_t errlen);

struct status;

/* Fills @st (initialised by the caller with status_init()) with @t's state
 * and counters, for the status socket (lib/status.h): the interface's
 * totals and its one peer, which the caller frees with status_cleanup(). */
void tunnel_fill_status(const struct tunnel *t, struct status *st);

/* Returns the name of @t's device. */
const char *tunnel_dev_name(const struct tunnel *t);

/*
 * The namespace of the device, as the status names it: the name under
 * /run/netns, "net:[INODE]" (nsfs(7)) for an unnamed one that is not the
 * sockets' own, "" for the sockets' own namespace when it has no name.
 */
const char *tunnel_dev_netns(const struct tunnel *t);

/* The nsfs fd of the device's namespace when it is not the sockets' (the
 * tunnel keeps it open), or -1. */
int tunnel_dev_netns_fd(const struct tunnel *t);

/* Returns true once a fatal runtime error stopped the loop (the device went
 * away); the reason was logged. */
bool tunnel_failed(const struct tunnel *t);

/*
 * The underlay changed (a link came up, an address was added; netwatch.h):
 * a TCP client waiting out its reconnect backoff, or still waiting for an
 * earlier connect() to finish, starts over now with the backoff reset (at
 * most once a second).  Anything else is left as it is.
 */
void tunnel_underlay_changed(struct tunnel *t);

/*
 * Calls @cb(@arg) when the peer seems lost and the tunnel is about to look
 * for it again: before every reconnect of a TCP client (from the event
 * loop, no connection open), and over UDP after a dead-peer restart.  The
 * callback may call tunnel_set_endpoint() (main.c resolves the endpoint's
 * name again there, so a peer whose name now points elsewhere is found).
 * NULL @cb turns it off.
 */
void tunnel_set_lost_cb(struct tunnel *t, void (*cb)(void *arg), void *arg);
