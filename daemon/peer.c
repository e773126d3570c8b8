/* SPDX-License-Identifier: MIT */
/*
 * The peer (doc/design.md section 8): its sealed session (handshakes,
 * keypairs, the session timer), messages to it, liveness (keepalives, dead
 * peer), endpoint changes, and the status the control socket reports.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "status.h"

#include "interface.h"

/* A cookie reply makes us initiate again at once, at most this often;
 * otherwise the retry waits for the session's own timer. */
#define TUNNEL_COOKIE_RETRY_MS SESSION_REKEY_TIMEOUT_MS

/* Re-arms the session timer for its next deadline (retry, rekey, expiry). */
void tunnel_sess_schedule(struct peer *p, uint64_t now)
{
	uint64_t at = session_next_deadline(p->sess, now);
	struct timeval tv;

	if (at == UINT64_MAX) {
		event_del(p->sess_ev);
		return;
	}
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	event_add(p->sess_ev, &tv);
}

/* Tells the peer, under a keypair that just became current, that we take
 * offload frames (an empty type 5 message): only over TCP, and only with a
 * device that has offloads. */
static void tunnel_sess_offer(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;
	size_t len;

	if (!t->dev.vnet || t->cfg.transport != TUNNEL_TCP || !session_is_up(p->sess, now))
		return;
	if (session_seal_offload(p->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &len) == 0)
		tunnel_send_msg(p, t->msg, len);
}

/* Transport = auto: a handshake completed, or the peer moved: the peer's
 * initiations answered so far are no sign of a one-way path
 * (tunnel_auto_check() counts from here). */
static void tunnel_auto_mark(struct peer *p)
{
	struct session_stats ss;

	if (!p->t->cfg.auto_transport)
		return;
	session_get_stats(p->sess, &ss);
	p->auto_responses = ss.responses_sent;
}

/* Notices a keypair that became current since the last look (a completed
 * handshake on either side) and says so. */
static void tunnel_sess_check_new(struct peer *p, uint64_t now)
{
	uint64_t last = session_last_handshake_ms(p->sess);

	if (last == p->last_handshake)
		return;
	p->last_handshake = last;
	tunnel_auto_mark(p);
	if (p->sessions++ == 0 && p->handshake_us)
		log_info("session established with %s (handshake round trip %.3f ms)", p->str,
			 (double)p->handshake_us / 1000);
	else if (p->sessions == 1)
		log_info("session established with %s", p->str);
	else
		log_debug("session rekeyed with %s", p->str);
	tunnel_sess_offer(p, now);
	tunnel_sess_schedule(p, now);
}

/* Forgets every keypair (a new stream, a dead peer), so the next session
 * starts from a handshake and is logged again at info level. */
void tunnel_sess_restart(struct peer *p)
{
	session_reset(p->sess);
	p->sessions = 0;
	p->handshake_us = 0;
	p->offload = false;
}

/* Sends a handshake initiation, when there is a way to the peer. */
void tunnel_sess_initiate(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;
	size_t len;

	if (!tunnel_peer_reachable(p))
		return;
	if (session_initiate(p->sess, now, t->msg, TUNNEL_DGRAM_MAX, &len) == 0) {
		log_debug("handshake initiation to %s", p->str);
		p->initiated_us = tunnel_now_us();
		/* Transport = auto: the wait for an answer over UDP starts. */
		if (t->cfg.auto_transport && p->transport == TUNNEL_UDP && !p->auto_wait_ms)
			p->auto_wait_ms = now;
		tunnel_send_msg(p, t->msg, len);
	}
	tunnel_sess_schedule(p, now);
}

/*
 * Peer @p, on TCP, proved over UDP that UDP works both ways (doc/design.md
 * section 8): a Transport = auto client got the answer to its probe, a
 * listener serving both got a transport message under a keypair its
 * handshake over UDP made.  It moves to UDP at @src (@srclen bytes) and
 * its connection is closed (a client does not reconnect).
 */
static void tunnel_peer_to_udp(struct peer *p, const struct sockaddr_storage *src, socklen_t srclen,
			       uint64_t now)
{
	p->transport = TUNNEL_UDP;
	tunnel_tcp_close(p);
	event_del(p->retry_ev);
	p->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	memcpy(&p->addr, src, srclen);
	p->addr_len = srclen;
	endpoint_format((const struct sockaddr *)src, p->str, sizeof(p->str));
	p->auto_wait_ms = 0;
	p->auto_back_ms = now;
	tunnel_auto_mark(p);
	tunnel_peer_moved(p);
}

void tunnel_peer_moved(const struct peer *p)
{
	bool udp = p->transport == TUNNEL_UDP;

	log_info("peer%s%s moves to %s%s%s", p->name[0] ? " " : "", p->name,
		 tunnel_transport_name(p->transport), udp ? " " : "", udp ? p->str : "");
}

/* Transport = auto (the one peer, over UDP): falls back to TCP towards the
 * same address and port (doc/design.md section 8); @why says what showed
 * that UDP does not work, for the log. */
static void tunnel_auto_fallback(struct peer *p, uint64_t now, const char *why)
{
	p->auto_fallbacks++;
	/* Flapping (back on UDP only briefly): probe less often. */
	if (p->auto_back_ms && now - p->auto_back_ms < TUNNEL_AUTO_FLAP_MS)
		p->auto_probe_every_ms = p->auto_probe_every_ms * 2 > TUNNEL_AUTO_PROBE_MAX_MS
					     ? TUNNEL_AUTO_PROBE_MAX_MS
					     : p->auto_probe_every_ms * 2;
	else
		p->auto_probe_every_ms = TUNNEL_AUTO_PROBE_MS;
	log_info("%s %s: falling back to tcp (udp probed every %" PRIu64 " s)", why, p->str,
		 p->auto_probe_every_ms / 1000);
	p->auto_wait_ms = 0;
	p->auto_probe_ms = now + p->auto_probe_every_ms;
	tunnel_auto_mark(p);
	p->transport = TUNNEL_TCP;
	tunnel_sess_restart(p);
	p->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_connect_start(p);
}

void tunnel_wrong_transport(struct peer *p, enum tunnel_transport tr, const char *from,
			    uint64_t now)
{
	struct tunnel *t = p->t;

	t->stats.hs_wrong_transport++;
	if (tunnel_warn_due(t, TUNNEL_WARN_AUTH, now))
		log_warnx("initiation over %s from %s, peer %s: its Transport is %s; dropped",
			  tunnel_transport_name(tr), from, p->name[0] ? p->name : "(unnamed)",
			  tunnel_transport_name(tr == TUNNEL_TCP ? TUNNEL_UDP : TUNNEL_TCP));
}

/* Transport = auto over UDP, once a second: our initiation unanswered for
 * TUNNEL_AUTO_WAIT_MS, or TUNNEL_AUTO_LOST_RESPONSES of the peer's
 * initiations answered with none completing (our datagrams do not reach
 * it, although its reach us) mean UDP does not work both ways. */
static void tunnel_auto_check(struct peer *p, uint64_t now)
{
	struct session_stats ss;

	session_get_stats(p->sess, &ss);
	if (p->auto_wait_ms && now - p->auto_wait_ms >= TUNNEL_AUTO_WAIT_MS)
		tunnel_auto_fallback(p, now, "no answer over udp for 15 s from");
	else if (ss.responses_sent - p->auto_responses >= TUNNEL_AUTO_LOST_RESPONSES)
		tunnel_auto_fallback(p, now, "handshakes answered over udp never complete with");
}

/* Transport = auto over TCP: one initiation over UDP to the configured
 * endpoint; its answer over UDP moves the peer back (tunnel_peer_to_udp()).
 * Unanswered, the session's retry goes over TCP as usual. */
static void tunnel_auto_probe(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;
	size_t len;

	p->auto_probe_ms = now + p->auto_probe_every_ms;
	/* Not while a handshake over TCP is under way: one pending
	 * initiation at a time. */
	if (!session_is_up(p->sess, now) || session_wants_handshake(p->sess, now))
		return;
	if (session_initiate(p->sess, now, t->msg, TUNNEL_DGRAM_MAX, &len) < 0)
		return;
	p->auto_probes++;
	p->initiated_us = tunnel_now_us();
	log_debug("probing udp %s with an initiation", p->str);
	if (sendto(t->udp_fd, t->msg, len, MSG_DONTWAIT, (const struct sockaddr *)&t->cfg.addr,
		   t->cfg.addr_len) < 0)
		log_trace("probe to udp: %s", strerror(errno));
	tunnel_sess_schedule(p, now);
}

void tunnel_sess_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	uint64_t now = tunnel_now_ms();

	session_expire(p->sess, now);
	if (session_wants_handshake(p->sess, now))
		tunnel_sess_initiate(p, now);
	tunnel_sess_schedule(p, now);
}

/* Says why a handshake message was refused (rate-limited warnings). */
void tunnel_sess_refused(struct peer *p, int rc, uint8_t type, const char *from, uint64_t now)
{
	struct tunnel *t = p->t;
	struct session_stats st;
	bool mac1, auth;

	session_get_stats(p->sess, &st);
	mac1 = st.rx_bad_mac1 != p->seen_bad_mac1;
	auth = st.rx_bad_handshake != p->seen_bad_handshake;
	p->seen_bad_mac1 = st.rx_bad_mac1;
	p->seen_bad_handshake = st.rx_bad_handshake;
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

/*
 * Opens one sealed message (@len bytes: a TCP frame's payload, or a UDP
 * datagram from @src) and acts on it: a packet goes to the device, a
 * handshake is answered.  An authenticated UDP datagram also moves the
 * peer's endpoint to its source (roaming).  Returns 0, or the negative
 * errno of session_receive(); -EPROTO over TCP has closed the connection.
 */
int tunnel_open(struct peer *p, const uint8_t *msg, size_t len, const struct sockaddr_storage *src,
		socklen_t srclen)
{
	if (len > 0 && msg[0] == SESSION_TYPE_INITIATION) {
		/* Only initiations can make us spend Diffie-Hellman on a
		 * stranger's say: they pass the admission first. */
		const struct sockaddr_storage *who = src ? src : &p->addr;
		char from[ENDPOINT_STRLEN];

		endpoint_format((const struct sockaddr *)who, from, sizeof(from));
		if (!tunnel_admit(p->t, msg, len, who, src ? srclen : p->addr_len, !src, from,
				  tunnel_now_ms()))
			return -EAGAIN;
	}
	return tunnel_open_admitted(p, msg, len, src, srclen);
}

bool tunnel_send_one(struct tunnel *t, struct peer *q, const uint8_t *pkt, size_t len)
{
	uint64_t now = tunnel_now_ms();
	size_t hdr = tunnel_peer_frame_hdr(q), mlen;

	if (!tunnel_peer_reachable(q)) {
		t->stats.drop_no_peer++;
		return false;
	}
	if (tunnel_tcp_congested(q))
		return false;
	if (!q->sess) {
		/* A plain hub: the frame as it is (len <= the frame maximum). */
		memcpy(t->fwd_buf + hdr, pkt, len);
		mlen = len;
	} else if (session_seal(q->sess, now, pkt, len, t->fwd_buf + hdr, SESSION_MAX_MESSAGE_LEN,
				&mlen) < 0) {
		t->stats.drop_no_session++;
		q->drop_no_session++;
		if (session_wants_handshake(q->sess, now))
			tunnel_sess_initiate(q, now);
		return false;
	}
	/* mlen <= SESSION_MAX_MESSAGE_LEN: the prefix always fits. */
	if (hdr)
		frame_put_header(t->fwd_buf, mlen);
	mlen += hdr;
	if (q->transport == TUNNEL_TCP)
		return tunnel_tcp_send_peer(q, t->fwd_buf, mlen, 1, len);
	if (sendto(t->udp_fd, t->fwd_buf, mlen, MSG_DONTWAIT, (struct sockaddr *)&q->addr,
		   q->addr_len) < 0) {
		if (errno == EAGAIN || errno == ENOBUFS)
			t->stats.drop_backpressure++;
		else
			t->stats.drop_send_error++;
		return false;
	}
	q->last_tx_ms = now;
	q->tx_packets++;
	q->tx_bytes += len;
	return true;
}

void tunnel_flood(struct tunnel *t, const struct peer *from, const uint8_t *frame, size_t len)
{
	uint64_t now = tunnel_now_ms();
	bool sent = false;

	/* Peers that are away (no endpoint, no session) are skipped rather
	 * than counted: a broadcast is nobody's loss. */
	for (unsigned i = 0; i < t->n_peers; i++) {
		struct peer *q = t->peers[i];

		if (q != from && tunnel_peer_reachable(q) &&
		    (!q->sess || session_is_up(q->sess, now)))
			sent |= tunnel_send_one(t, q, frame, len);
	}
	t->stats.flooded++;
	if (sent && !from) {
		t->stats.tx_packets++;
		t->stats.tx_bytes += len;
	}
}

/* True when @addr (@family's length) is one of the device's own addresses
 * (tunnel_local_addrs()). */
static bool tunnel_is_local(const struct tunnel *t, int family, const uint8_t *addr)
{
	size_t alen = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < t->n_local_addrs; i++)
		if (t->local_addrs[i].family == family &&
		    memcmp(t->local_addrs[i].addr, addr, alen) == 0)
			return true;
	return false;
}

/* True when @pkt (@len bytes, an IP packet) is for one of the device's
 * own addresses. */
static bool tunnel_for_us(const struct tunnel *t, const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return tunnel_is_local(t, AF_INET, pkt + 16);
	if (len >= 40 && pkt[0] >> 4 == 6)
		return tunnel_is_local(t, AF_INET6, pkt + 24);
	return false;
}

/* True when @addr (IPv4 or IPv6 by @family) may be a host's own unicast
 * address: not unspecified, loopback, multicast, broadcast or (IPv4)
 * "this network" (RFC 6890). */
static bool tunnel_unicast(int family, const uint8_t *addr)
{
	static const uint8_t zero[16], loop6[16] = {[15] = 1};

	if (family == AF_INET)
		return addr[0] != 0 && addr[0] != 127 && addr[0] < 224;
	return memcmp(addr, zero, 16) != 0 && memcmp(addr, loop6, 16) != 0 && addr[0] != 0xff;
}

/*
 * A plain hub (doc/design.md section 8): peer @p sent @pkt (@len bytes)
 * from a source no peer, or another peer, has: the source becomes a host
 * route to @p (moving from the other peer: an address goes where it was
 * last seen, as a station on a switch).  Returns false, with the reason
 * counted, for a source that cannot be a host's (not unicast, one of this
 * host's own: spoofed) or one past @p's bound (learn_full).
 */
static bool tunnel_learn(struct peer *p, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = p->t;
	char buf[ENDPOINT_PREFIX_STRLEN];
	struct endpoint_prefix pfx = {0};
	struct peer *q;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		pfx.family = AF_INET, pfx.len = 32;
		memcpy(pfx.addr, pkt + 12, 4);
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		pfx.family = AF_INET6, pfx.len = 128;
		memcpy(pfx.addr, pkt + 8, 16);
	} else {
		t->stats.drop_bad_frame++;
		return false;
	}
	if (!tunnel_unicast(pfx.family, pfx.addr) || tunnel_is_local(t, pfx.family, pfx.addr)) {
		t->stats.drop_spoofed++;
		p->drop_spoofed++;
		return false;
	}
	if (p->n_learned >= TUNNEL_LEARNED_ADDRS_MAX) {
		t->stats.drop_learn_full++;
		p->drop_learn_full++;
		return false;
	}
	endpoint_prefix_format(&pfx, buf, sizeof(buf));
	q = allowedips_lookup(&t->aips, pfx.family, pfx.addr);
	if (q && !q->learns) {
		/* Inside a [Peer]'s AllowedIPs: that peer's alone. */
		t->stats.drop_spoofed++;
		p->drop_spoofed++;
		return false;
	}
	if (q && allowedips_remove(&t->aips, pfx.family, pfx.addr, pfx.len) == 0) {
		q->n_learned--;
		t->stats.addr_moves++;
		log_info("%s moves from %s to %s", buf, q->str, p->str);
	}
	if (allowedips_insert(&t->aips, pfx.family, pfx.addr, pfx.len, p) < 0) {
		t->stats.drop_learn_full++;
		p->drop_learn_full++;
		return false;
	}
	p->n_learned++;
	log_debug("%s: %s is behind %s", t->dev.name, buf, p->str);
	return true;
}

/* A hub: what peer @p sent for another peer @q goes to it, sealed again,
 * unless PeerToPeer = no (then dropped and counted against @p). */
static void tunnel_peer_to_peer(struct peer *p, struct peer *q, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = p->t;

	if (!t->cfg.peer_to_peer) {
		t->stats.drop_peer_to_peer++;
		p->drop_peer_to_peer++;
		return;
	}
	if (tunnel_send_one(t, q, pkt, len))
		t->stats.forwarded++;
}

/*
 * A packet a TUN hub's peer @p sent (doc/design.md section 8): its source
 * must lie in @p's allowed IPs (cryptokey routing: a key speaks only for
 * its prefixes; a plain hub's peer, which has no key, teaches its sources
 * instead, tunnel_learn()); then it goes to the peer whose allowed IPs
 * hold its destination (unless that is this host's own address), or to
 * the device.
 */
static void tunnel_route_in(struct peer *p, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = p->t;
	struct peer *q;

	if (allowedips_lookup_src(&t->aips, pkt, len) != p) {
		if (tunnel_link_scope(pkt, len)) {
			t->stats.drop_link_local++;
			return;
		}
		if (p->learns) {
			/* A plain hub's peer teaches its addresses. */
			if (!tunnel_learn(p, pkt, len))
				return;
		} else {
			t->stats.drop_spoofed++;
			p->drop_spoofed++;
			log_trace("%zu-byte packet from %s dropped: its source is outside the "
				  "peer's allowed IPs",
				  len, p->str);
			return;
		}
	}
	p->rx_packets++;
	p->rx_bytes += len;
	q = allowedips_lookup_dst(&t->aips, pkt, len);
	if (q && q != p && !tunnel_for_us(t, pkt, len))
		tunnel_peer_to_peer(p, q, pkt, len);
	else
		tunnel_dev_write(t, pkt, len);
}

/*
 * A frame a TAP hub's peer @p sent (doc/design.md section 8, a learning
 * switch): its source MAC is learned for @p; a frame for a MAC another
 * peer owns goes to that peer (PeerToPeer), one for this host's side or
 * the sender's own to the device; broadcast, multicast and unknown unicast
 * go to the device and every other peer.
 */
static void tunnel_switch_in(struct peer *p, const uint8_t *frame, size_t len)
{
	struct tunnel *t = p->t;
	uint64_t now = tunnel_now_ms();
	struct mactable_peer *owner;

	if (len < MACTABLE_ETH_HLEN) {
		t->stats.drop_bad_frame++;
		return;
	}
	if (mactable_learn(&t->macs, frame + 6, &p->macs, now) == MACTABLE_INVALID_SRC) {
		t->stats.drop_bad_src_mac++;
		p->drop_bad_src_mac++;
		return;
	}
	p->rx_packets++;
	p->rx_bytes += len;
	owner = mactable_lookup(&t->macs, frame, now);
	if (owner && owner != &t->dev_macs && owner != &p->macs) {
		tunnel_peer_to_peer(p, (struct peer *)((char *)owner - offsetof(struct peer, macs)),
				    frame, len);
		return;
	}
	tunnel_dev_write(t, frame, len);
	if (!owner && t->cfg.peer_to_peer)
		tunnel_flood(t, p, frame, len);
}

void tunnel_deliver(struct peer *p, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = p->t;

	if (t->routed && t->dev.mode == TUN_MODE_TAP)
		tunnel_switch_in(p, pkt, len);
	else if (t->routed)
		tunnel_route_in(p, pkt, len);
	else
		tunnel_dev_write(t, pkt, len);
}

int tunnel_open_admitted(struct peer *p, const uint8_t *msg, size_t len,
			 const struct sockaddr_storage *src, socklen_t srclen)
{
	struct tunnel *t = p->t;
	enum session_action action;
	uint64_t now = tunnel_now_ms();
	char from[ENDPOINT_STRLEN];
	size_t out_len;
	int rc;

	if (src && len > 0 && msg[0] == SESSION_TYPE_INITIATION &&
	    !tunnel_peer_may_use(p, TUNNEL_UDP)) {
		endpoint_format((const struct sockaddr *)src, from, sizeof(from));
		tunnel_wrong_transport(p, TUNNEL_UDP, from, now);
		return -EPROTOTYPE;
	}
	/* A TCP frame comes with no source, a datagram with its own. */
	rc = session_receive_on(p->sess, src == NULL, now, msg, len, t->msg, TUNNEL_DGRAM_MAX,
				&out_len, &action);
	if (rc < 0) {
		if (src)
			endpoint_format((const struct sockaddr *)src, from, sizeof(from));
		else
			memcpy(from, p->str, sizeof(from));
		if (len > 0 && msg[0] >= SESSION_TYPE_INITIATION &&
		    msg[0] <= SESSION_TYPE_COOKIE_REPLY)
			tunnel_sess_refused(p, rc, msg[0], from, now);
		else
			log_trace("sealed message from %s dropped: %s", from, strerror(-rc));
		if (rc == -EPROTO && !src) {
			t->stats.bad_connections++;
			log_warnx("connection to %s: malformed or out-of-order sealed message; "
				  "closing it",
				  p->str);
			tunnel_tcp_close(p);
		}
		return rc;
	}
	if (action == SESSION_COOKIE) {
		/* Anyone who saw our initiation and knows the peer's public
		 * key can make a cookie reply: it proves no liveness and moves
		 * no endpoint.  It only earns a prompt retry, now and then. */
		if (now - p->cookie_retry_ms >= TUNNEL_COOKIE_RETRY_MS) {
			p->cookie_retry_ms = now;
			log_debug("cookie reply from %s: the peer is under load; initiating again",
				  p->str);
			tunnel_sess_initiate(p, now);
		}
		return 0;
	}
	p->last_rx_ms = now;
	if (action == SESSION_KEEPALIVE || action == SESSION_OFFLOAD_OFFER)
		t->stats.keepalives_received++;
	if (src && p->transport == TUNNEL_TCP) {
		/* A datagram from a peer on TCP (two transports): it moves
		 * only when UDP is proven both ways and its current keypair
		 * is UDP's (doc/design.md section 8); an initiation is
		 * answered where it came from; anything else is taken as it
		 * is and moves nothing. */
		bool proven =
		    t->cfg.auto_transport ? action == SESSION_ESTABLISHED : action != SESSION_REPLY;

		if (proven && !session_current_stream(p->sess)) {
			tunnel_peer_to_udp(p, src, srclen, now);
		} else if (action == SESSION_REPLY) {
			if (sendto(t->udp_fd, t->msg, out_len, MSG_DONTWAIT,
				   (const struct sockaddr *)src, srclen) < 0)
				log_trace("reply over udp: %s", strerror(errno));
			tunnel_sess_schedule(p, now);
			return 0;
		}
	}
	/* Our datagrams arrive: a transport message or the answer to our
	 * initiation (the peer's own initiation proves nothing of ours). */
	if (src && action != SESSION_REPLY)
		p->auto_wait_ms = 0;
	if (src && p->transport == TUNNEL_UDP &&
	    (p->addr_len == 0 ||
	     !endpoint_equal((const struct sockaddr *)src, (struct sockaddr *)&p->addr))) {
		memcpy(&p->addr, src, srclen);
		p->addr_len = srclen;
		endpoint_format((const struct sockaddr *)src, p->str, sizeof(p->str));
		if (p->name[0])
			log_info("peer %s is %s", p->name, p->str);
		else
			log_info("peer is %s", p->str);
	}
	switch (action) {
	case SESSION_DELIVER:
		tunnel_deliver(p, t->msg, out_len);
		break;
	case SESSION_DELIVER_OFFLOAD:
		tunnel_dev_write_offload(t, t->msg, out_len);
		break;
	case SESSION_OFFLOAD_OFFER:
		/* Over UDP a TSO packet in one message would be IP-fragmented:
		 * there the offer changes nothing. */
		if (t->dev.vnet && t->cfg.transport == TUNNEL_TCP && !p->offload) {
			p->offload = true;
			log_debug("%s takes offload frames: TSO packets go whole", p->str);
		}
		break;
	case SESSION_REPLY:
		tunnel_send_msg(p, t->msg, out_len);
		tunnel_sess_schedule(p, now);
		break;
	case SESSION_ESTABLISHED:
		p->handshake_us = tunnel_now_us() - p->initiated_us;
		/* Confirm the new keypair to the responder at once. */
		if (session_seal(p->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &out_len) == 0)
			tunnel_send_msg(p, t->msg, out_len);
		break;
	case SESSION_KEEPALIVE:
	case SESSION_COOKIE:
	case SESSION_NONE:
		break;
	}
	tunnel_sess_check_new(p, now);
	return 0;
}

/* Sends one message that did not come from the device (a handshake message
 * or a keepalive): framed into the TCP output, or as one datagram. */
void tunnel_send_msg(struct peer *p, const uint8_t *msg, size_t len)
{
	struct tunnel *t = p->t;
	uint8_t hdr[FRAME_HDR_LEN];

	p->last_tx_ms = tunnel_now_ms();
	if (p->transport == TUNNEL_UDP) {
		ssize_t n;

		if (p->addr_len == 0)
			return;
		n = sendto(t->udp_fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&p->addr,
			   p->addr_len);
		if (n < 0)
			log_trace("send to %s: %s", p->str, strerror(errno));
		return;
	}
	if (p->fd < 0 || p->connecting)
		return;
	/* A hub's slow peer: a handshake message is bounded like its data.
	 * A sealed one (a keepalive, a confirmation, an offer; a few per
	 * keypair at most) is queued all the same: its counter is spent
	 * (tunnel_tcp_congested()). */
	if (len > 0 && msg[0] != SESSION_TYPE_TRANSPORT &&
	    msg[0] != SESSION_TYPE_TRANSPORT_OFFLOAD && tunnel_tcp_congested(p))
		return;
	frame_put_header(hdr, len);
	/* Both pieces leave in one writev() from the output buffer. */
	if (evbuffer_add(p->out, hdr, sizeof(hdr)) < 0 || evbuffer_add(p->out, msg, len) < 0) {
		log_warnx("out of memory for the output buffer; closing connection");
		tunnel_tcp_close(p);
		return;
	}
	tunnel_tcp_flush(p);
}

/* Sends one keepalive: an empty sealed message, or in plain mode (only when
 * enabled: simpletun would write it to its device) an empty frame. */
static void tunnel_keepalive(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;
	static const uint8_t empty[FRAME_HDR_LEN];
	size_t len;

	if (p->sess) {
		if (session_seal(p->sess, now, NULL, 0, t->msg, TUNNEL_DGRAM_MAX, &len) < 0) {
			if (session_wants_handshake(p->sess, now))
				tunnel_sess_initiate(p, now);
			return;
		}
		tunnel_send_msg(p, t->msg, len);
	} else if (p->transport == TUNNEL_UDP) {
		if (p->addr_len == 0)
			return;
		if (sendto(t->udp_fd, empty, sizeof(empty), MSG_DONTWAIT,
			   (struct sockaddr *)&p->addr, p->addr_len) < 0)
			return;
		p->last_tx_ms = now;
	} else {
		if (p->fd < 0 || p->connecting || evbuffer_add(p->out, empty, sizeof(empty)) < 0)
			return;
		p->last_tx_ms = now;
		tunnel_tcp_flush(p);
	}
	t->stats.keepalives_sent++;
}

/* Restarts the session after the peer went silent for dead_peer_ms: a TCP
 * connection is closed (the client reconnects), a UDP session handshakes
 * again; the session comes back when the peer answers. */
static void tunnel_dead_peer(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;
	log_info("no sign of life from %s for %" PRIu64 " s: restarting the session", p->str,
		 (now - p->last_rx_ms) / 1000);
	t->stats.dead_peer++;
	p->last_rx_ms = now; /* the next restart after another full silence */
	if (t->cfg.plain_hub && t->cfg.transport == TUNNEL_UDP) {
		/* A plain UDP hub's peer is its endpoint: silence ends it. */
		log_info("%s: peer %s is gone", t->dev.name, p->str);
		tunnel_peer_forget(p);
		p->addr_len = 0;
		return;
	}
	if (p->transport == TUNNEL_TCP) {
		tunnel_tcp_close(p);
	} else if (p->sess) {
		tunnel_sess_restart(p);
		tunnel_sess_initiate(p, now);
	}
	/* A TCP client calls it before its reconnect. */
	if (t->lost_cb && p->transport == TUNNEL_UDP && !t->routed)
		t->lost_cb(t->lost_arg);
}

/* Once a second: keepalive due? peer dead?  In sealed mode also the
 * session's own keepalive and handshake wishes (WireGuard paper section
 * 6.5), which depend on every packet and so are looked at here rather than
 * by re-arming a timer per packet. */
void tunnel_peer_tick(struct peer *p, uint64_t now)
{
	struct tunnel *t = p->t;

	if (t->cfg.auto_transport && p->transport == TUNNEL_UDP)
		tunnel_auto_check(p, now);
	else if (t->cfg.auto_transport && p->transport == TUNNEL_TCP && now >= p->auto_probe_ms)
		tunnel_auto_probe(p, now);
	if (p->sess) {
		if (session_wants_handshake(p->sess, now))
			tunnel_sess_initiate(p, now);
		else if (session_wants_keepalive(p->sess, now))
			tunnel_keepalive(p, now);
	}
	if (!tunnel_peer_reachable(p))
		return;
	if (p->dead_peer_ms && now - p->last_rx_ms >= p->dead_peer_ms) {
		tunnel_dead_peer(p, now);
		return;
	}
	if (p->keepalive_ms && now - p->last_tx_ms >= p->keepalive_ms &&
	    (p->sess || t->cfg.plain_keepalive))
		tunnel_keepalive(p, now);
}

void tunnel_set_liveness(struct tunnel *t, uint64_t keepalive_ms, uint64_t dead_peer_ms)
{
	struct timeval second = {1, 0};

	t->cfg.keepalive_ms = keepalive_ms;
	t->cfg.dead_peer_ms = dead_peer_ms;
	/* A hub's peers keep their own (tunnel_peer_new()), but a plain
	 * hub's, which have no [Peer], take the interface's. */
	if (!t->routed && t->peer) {
		t->peer->keepalive_ms = keepalive_ms;
		t->peer->dead_peer_ms = dead_peer_ms;
	}
	for (unsigned i = 0; t->cfg.plain_hub && i < t->n_peers; i++) {
		t->peers[i]->keepalive_ms = keepalive_ms;
		t->peers[i]->dead_peer_ms = tunnel_plain_dead_peer_ms(t);
	}
	if (keepalive_ms || dead_peer_ms || t->cfg.sealed || t->routed)
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
	struct peer *p = t->peer;
	char str[ENDPOINT_STRLEN];

	if ((t->cfg.listen && t->cfg.transport == TUNNEL_TCP) || t->routed)
		return false;
	if (*conf_len == len &&
	    endpoint_equal((const struct sockaddr *)ss, (struct sockaddr *)conf))
		return false;
	endpoint_format((const struct sockaddr *)ss, str, sizeof(str));
	if (t->cfg.transport == TUNNEL_UDP && t->udp_fd >= 0) {
		struct sockaddr_storage mine;
		socklen_t mine_len = sizeof(mine);

		/* A datagram socket sends to its own family only (an IPv6 one
		 * also to IPv4-mapped addresses, which getaddrinfo does not
		 * give). */
		if (getsockname(t->udp_fd, (struct sockaddr *)&mine, &mine_len) == 0 &&
		    mine.ss_family != ss->ss_family) {
			log_warnx("new endpoint %s is of another address family: that takes a "
				  "restart",
				  str);
			return false;
		}
	}
	memcpy(conf, ss, len);
	*conf_len = len;
	/* A listener's peer on TCP now (Transports = udp, tcp): the new
	 * endpoint serves once it is back on UDP. */
	if (p->transport == TUNNEL_TCP && t->cfg.listen)
		return true;
	memcpy(p->str, str, sizeof(str));
	if (p->transport == TUNNEL_TCP) {
		log_info("peer endpoint is now %s: reconnecting", p->str);
		if (p->fd >= 0) {
			tunnel_tcp_close(p);
		} else {
			event_del(p->retry_ev);
			tunnel_connect_start(p);
		}
		return true;
	}
	memcpy(&p->addr, ss, len);
	p->addr_len = len;
	log_info("peer endpoint is now %s", p->str);
	if (p->sess)
		tunnel_sess_initiate(p, tunnel_now_ms());
	return true;
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

/* The state word of peer @p (STATUS_STATE_*); *@up says whether it has a
 * way to it (a connection, a known endpoint). */
static const char *tunnel_peer_state(const struct peer *p, uint64_t now, bool *up)
{
	const struct tunnel *t = p->t;
	const char *state;

	if (p->transport == TUNNEL_TCP) {
		*up = p->fd >= 0 && !p->connecting;
		state = *up             ? STATUS_STATE_CONNECTED
			: t->cfg.listen ? STATUS_STATE_LISTENING
					: STATUS_STATE_CONNECTING;
	} else {
		*up = p->addr_len != 0;
		state = *up ? STATUS_STATE_ESTABLISHED : STATUS_STATE_NO_PEER;
	}
	if (*up && p->sess)
		state = session_is_up(p->sess, now) ? STATUS_STATE_ESTABLISHED
						    : STATUS_STATE_HANDSHAKING;
	return state;
}

/* Seconds since @p's latest handshake, or STATUS_LATEST_HANDSHAKE_NEVER. */
static int64_t tunnel_peer_handshake_age(const struct peer *p, uint64_t now)
{
	if (!p->sess || !session_last_handshake_ms(p->sess))
		return STATUS_LATEST_HANDSHAKE_NEVER;
	return (int64_t)((now - session_last_handshake_ms(p->sess)) / 1000);
}

/* allowedips_walk() callback: lists one prefix under a status peer. */
static int tunnel_status_prefix(void *arg, int family, const uint8_t *addr, unsigned cidr,
				void *peer)
{
	struct endpoint_prefix pfx = {.family = family, .len = cidr};
	char buf[ENDPOINT_PREFIX_STRLEN];

	(void)peer;
	memcpy(pfx.addr, addr, family == AF_INET ? 4 : 16);
	endpoint_prefix_format(&pfx, buf, sizeof(buf));
	status_peer_add_address(arg, buf);
	return 0;
}

/* mactable_walk() callback: lists one live learned MAC under a status peer. */
struct tunnel_status_macs {
	struct status_peer *sp;
	const struct mactable *macs;
	uint64_t now;
};

static int tunnel_status_mac(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms,
			     void *arg)
{
	const struct tunnel_status_macs *m = arg;
	char buf[18];

	(void)owner;
	if (m->now - seen_ms >= m->macs->cfg.ageing_ms)
		return 0;
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	status_peer_add_address(m->sp, buf);
	return 0;
}

/* Adds @p to @st as one peer: its identity, endpoint, addresses, traffic
 * and the drops and counters that belong to a peer. */
static void tunnel_status_peer(const struct peer *p, struct status *st, uint64_t now)
{
	const struct tunnel *t = p->t;
	const struct tunnel_stats *s = &t->stats;
	struct status_peer *sp = NULL;
	struct session_stats ss;
	const char *state;
	bool up;

	if (status_add_peer(st, &sp) < 0)
		return;
	state = tunnel_peer_state(p, now, &up);
	snprintf(sp->name, sizeof(sp->name), "%s", p->name);
	if (p->sess) {
		key_to_base64(sp->public_key, session_peer_public_key(p->sess));
		session_get_stats(p->sess, &ss);
	}
	if ((up || p->transport == TUNNEL_UDP) && p->addr_len)
		snprintf(sp->endpoint, sizeof(sp->endpoint), "%s", p->str);
	snprintf(sp->transport, sizeof(sp->transport), "%s",
		 p->transport == TUNNEL_TCP ? STATUS_TRANSPORT_TCP : STATUS_TRANSPORT_UDP);
	snprintf(sp->state, sizeof(sp->state), "%s", state);
	if (t->routed) {
		/* A hub's peer: its allowed IPs or learned MACs, its own
		 * traffic. */
		if (t->dev.mode == TUN_MODE_TAP) {
			struct tunnel_status_macs m = {.sp = sp, .macs = &t->macs, .now = now};

			mactable_walk(&t->macs, &p->macs, tunnel_status_mac, &m);
		} else {
			allowedips_walk(&t->aips, p, tunnel_status_prefix, sp);
		}
		sp->rx_bytes = p->rx_bytes;
		sp->rx_packets = p->rx_packets;
		sp->tx_bytes = p->tx_bytes;
		sp->tx_packets = p->tx_packets;
		status_peer_add_drop(sp, "no_session", p->drop_no_session);
		status_peer_add_drop(sp, "spoofed", p->drop_spoofed);
		status_peer_add_drop(sp, "peer_to_peer", p->drop_peer_to_peer);
		if (t->cfg.transport == TUNNEL_TCP || t->cfg.udp_and_tcp)
			status_peer_add_drop(sp, "backpressure", p->drop_backpressure);
		if (t->cfg.plain_hub && t->dev.mode == TUN_MODE_TUN)
			status_peer_add_drop(sp, "learn_full", p->drop_learn_full);
		if (t->dev.mode == TUN_MODE_TAP) {
			status_peer_add_drop(sp, "bad_src_mac", p->drop_bad_src_mac);
			status_peer_add_counter(sp, "macs_refused", p->macs.refused);
		}
	} else {
		/* The one peer: every packet from the device goes to it, and
		 * any source is taken from it (TUN); its traffic is the
		 * totals; TAP: no MAC is learned yet. */
		if (t->cfg.mode != TUN_MODE_TAP) {
			status_peer_add_address(sp, "0.0.0.0/0");
			status_peer_add_address(sp, "::/0");
		}
		sp->rx_bytes = s->rx_bytes;
		sp->rx_packets = s->rx_packets;
		sp->tx_bytes = s->tx_bytes;
		sp->tx_packets = s->tx_packets;
		status_peer_add_drop(sp, "bad_frame", s->drop_bad_frame);
		status_peer_add_drop(sp, "dev_write", s->drop_dev_write);
		status_peer_add_drop(sp, "backpressure", s->drop_backpressure);
		status_peer_add_drop(sp, "oversize", s->drop_oversize);
		status_peer_add_drop(sp, "send_error", s->drop_send_error);
		status_peer_add_drop(sp, "no_session", s->drop_no_session);
		status_peer_add_drop(sp, "bad_offload", s->drop_bad_offload);
		status_peer_add_drop(sp, "too_big", s->drop_too_big);
		status_peer_add_counter(sp, "connections", s->connections);
		status_peer_add_counter(sp, "reconnects", s->reconnects);
		status_peer_add_counter(sp, "keepalives_sent", s->keepalives_sent);
		status_peer_add_counter(sp, "keepalives_received", s->keepalives_received);
		status_peer_add_counter(sp, "dead_peer", s->dead_peer);
		if (t->cfg.auto_transport) {
			status_peer_add_counter(sp, "auto_fallbacks", p->auto_fallbacks);
			status_peer_add_counter(sp, "auto_probes", p->auto_probes);
		}
	}
	sp->latest_handshake = tunnel_peer_handshake_age(p, now);
	if (p->sess || t->cfg.plain_keepalive)
		sp->keepalive = p->keepalive_ms / 1000 > UINT32_MAX
				    ? UINT32_MAX
				    : (uint32_t)(p->keepalive_ms / 1000);
	if (p->sess) {
		status_peer_add_counter(sp, "handshakes", ss.handshakes_completed);
		status_peer_add_counter(sp, "rekeys", ss.rekeys);
		status_peer_add_counter(sp, "cookies_received", ss.cookies_received);
		status_peer_add_counter(sp, "bad_tag", ss.rx_bad_tag);
		status_peer_add_counter(sp, "replayed", ss.rx_replayed);
		status_peer_add_counter(sp, "stale", ss.rx_stale);
		status_peer_add_counter(sp, "out_of_order", ss.rx_out_of_order);
		status_peer_add_counter(sp, "wrong_transport", ss.rx_wrong_transport);
		status_peer_add_counter(sp, "expired", ss.rx_expired);
	}
}

/* Adds the session counters of every peer of @t into *@sum. */
static void tunnel_session_totals(const struct tunnel *t, struct session_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < t->n_peers; i++) {
		struct session_stats one;
		const uint64_t *a = (const uint64_t *)&one;
		uint64_t *b = (uint64_t *)sum;

		if (!t->peers[i]->sess)
			continue;
		session_get_stats(t->peers[i]->sess, &one);
		/* struct session_stats is all uint64_t counters. */
		for (size_t k = 0; k < sizeof(one) / sizeof(uint64_t); k++)
			b[k] += a[k];
	}
}

void tunnel_fill_status(const struct tunnel *t, struct status *st)
{
	const struct tunnel_stats *s = &t->stats;
	const struct peer *p = t->peer;
	uint64_t now = tunnel_now_ms();
	struct session_stats ss;
	const char *state;
	bool up = false;

	snprintf(st->device, sizeof(st->device), "%s", t->dev.name);
	memcpy(st->netns, t->dev_netns, sizeof(st->netns));
	if (t->dev_netns_fd >= 0)
		memcpy(st->underlay_netns, t->underlay_netns, sizeof(st->underlay_netns));
	snprintf(st->mode, sizeof(st->mode), "%s",
		 t->cfg.mode == TUN_MODE_TAP ? STATUS_MODE_TAP : STATUS_MODE_TUN);
	snprintf(st->transport, sizeof(st->transport), "%s",
		 tunnel_two_transports(&t->cfg)   ? STATUS_TRANSPORT_BOTH
		 : t->cfg.transport == TUNNEL_TCP ? STATUS_TRANSPORT_TCP
						  : STATUS_TRANSPORT_UDP);
	st->sealed = t->cfg.sealed;
	st->listen = t->cfg.listen;
	snprintf(st->public_key, sizeof(st->public_key), "%s", t->public_key);
	tunnel_local_str(t->listen_fd >= 0                ? t->listen_fd
			 : t->cfg.transport == TUNNEL_UDP ? t->udp_fd
							  : p->fd,
			 st->local, sizeof(st->local));
	/* The interface's state: its best peer's (established before
	 * handshaking before no peer), its latest handshake the newest. */
	state = tunnel_peer_state(p, now, &up);
	st->latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
	for (unsigned i = 0; i < t->n_peers; i++) {
		int64_t age = tunnel_peer_handshake_age(t->peers[i], now);
		bool pup;
		const char *ps = tunnel_peer_state(t->peers[i], now, &pup);

		if (age != STATUS_LATEST_HANDSHAKE_NEVER &&
		    (st->latest_handshake == STATUS_LATEST_HANDSHAKE_NEVER ||
		     age < st->latest_handshake))
			st->latest_handshake = age;
		if (strcmp(ps, STATUS_STATE_ESTABLISHED) == 0 ||
		    (strcmp(ps, STATUS_STATE_HANDSHAKING) == 0 &&
		     strcmp(state, STATUS_STATE_ESTABLISHED) != 0))
			state = ps, up = up || pup;
	}
	snprintf(st->state, sizeof(st->state), "%s", state);
	st->pid = (int32_t)getpid();
	st->uptime = (now - t->started_ms) / 1000;
	tunnel_session_totals(t, &ss);
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
	if (t->routed) {
		status_add_drop(st, "no_route", s->drop_no_route);
		status_add_drop(st, "spoofed", s->drop_spoofed);
		status_add_drop(st, "peer_to_peer", s->drop_peer_to_peer);
		status_add_drop(st, "link_local", s->drop_link_local);
		if (t->dev.mode == TUN_MODE_TAP)
			status_add_drop(st, "bad_src_mac", s->drop_bad_src_mac);
		if (t->cfg.plain_hub && t->dev.mode == TUN_MODE_TUN)
			status_add_drop(st, "learn_full", s->drop_learn_full);
	}
	if (t->cfg.plain_hub) {
		status_add_counter(st, "peers_refused", s->peers_refused);
		if (t->dev.mode == TUN_MODE_TUN)
			status_add_counter(st, "addr_moves", s->addr_moves);
	}
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
	if (t->routed)
		status_add_counter(st, "forwarded", s->forwarded);
	if (t->routed && t->dev.mode == TUN_MODE_TAP) {
		status_add_counter(st, "flooded", s->flooded);
		status_add_counter(st, "macs", t->macs.stats.entries);
		status_add_counter(st, "macs_learned", t->macs.stats.learned);
		status_add_counter(st, "mac_moves", t->macs.stats.moves);
		status_add_counter(st, "macs_refused",
				   t->macs.stats.refused_peer + t->macs.stats.refused_table +
				       t->macs.stats.refused_probe);
	}
	if ((t->cfg.transport == TUNNEL_TCP || t->cfg.udp_and_tcp) && t->cfg.listen) {
		status_add_counter(st, "accepted", s->accepted);
		if (t->cfg.udp_and_tcp)
			status_add_counter(st, "wrong_transport_initiations",
					   s->hs_wrong_transport);
		status_add_counter(st, "pending_timeouts", s->pending_timeouts);
		status_add_counter(st, "pending_evicted", s->pending_evicted);
		status_add_counter(st, "pending_refused", s->pending_refused);
	}
	if (t->dev.vnet) {
		status_add_counter(st, "offload_sent", s->tx_offload);
		status_add_counter(st, "offload_segmented", s->tx_segmented);
		status_add_counter(st, "offload_received", s->rx_offload);
	}
	if (t->cfg.sealed) {
		struct session_responder_stats rs = {0};

		if (t->responder)
			session_responder_get_stats(t->responder, &rs);
		status_add_counter(st, "handshakes", ss.handshakes_completed);
		status_add_counter(st, "rekeys", ss.rekeys);
		status_add_counter(st, "bad_mac1",
				   ss.rx_bad_mac1 + s->hs_bad_mac1 + rs.rx_bad_mac1);
		status_add_counter(st, "bad_handshake", ss.rx_bad_handshake + rs.rx_bad_handshake);
		status_add_counter(st, "unknown_key", ss.rx_unknown_peer + s->hs_unknown_key);
		status_add_counter(st, "replayed_initiation",
				   ss.rx_replayed_initiation + rs.rx_replayed_initiation);
		status_add_counter(st, "rate_limited", s->hs_rate_limited);
		status_add_counter(st, "cookies_sent", s->cookies_sent);
		status_add_counter(st, "cookies_received", ss.cookies_received);
		status_add_counter(st, "bad_cookie", ss.rx_bad_cookie);
		status_add_counter(st, "bad_tag", ss.rx_bad_tag);
		status_add_counter(st, "replayed", ss.rx_replayed);
		status_add_counter(st, "stale", ss.rx_stale);
		status_add_counter(st, "out_of_order", ss.rx_out_of_order);
		status_add_counter(st, "wrong_transport", ss.rx_wrong_transport);
		status_add_counter(st, "expired", ss.rx_expired);
		status_add_counter(st, "unknown_index", ss.rx_unknown_index + s->rx_unknown_index);
		status_add_counter(st, "malformed",
				   ss.rx_malformed + s->rx_malformed + rs.rx_malformed);
	}

	/*
	 * The peers (doc/design.md section 8).  A hub lists every one.  The
	 * one peer is known by its key when sealed, by its endpoint when it
	 * is configured (a client) or heard from; a plain listener nobody
	 * has reached has none.  Out of memory: fewer peers.
	 */
	if (t->routed) {
		for (unsigned i = 0; i < t->n_peers; i++)
			tunnel_status_peer(t->peers[i], st, now);
		return;
	}
	if (!p->sess && t->cfg.listen && !(up && p->addr_len))
		return;
	tunnel_status_peer(p, st, now);
}

void tunnel_underlay_changed(struct tunnel *t)
{
	struct peer *p = t->peer;
	uint64_t now = tunnel_now_ms();

	/* A hub: an address of the device may have come or gone. */
	if (t->routed)
		tunnel_local_addrs(t);
	if (t->cfg.listen || p->transport != TUNNEL_TCP)
		return;
	if (p->fd >= 0 && !p->connecting)
		return; /* connected: TCP carries on by itself */
	if (p->fd < 0 && !evtimer_pending(p->retry_ev, NULL))
		return;
	/* A host where links come and go all the time (containers) must not
	 * turn the backoff into a reconnect per event: one a second at most,
	 * and the reset backoff brings the next attempts soon anyway. */
	if (now - p->underlay_kick_ms < 1000)
		return;
	p->underlay_kick_ms = now;
	log_info("underlay changed: reconnecting to %s now", p->str);
	/* Closing an attempt under way schedules a retry: not needed. */
	tunnel_tcp_close(p);
	event_del(p->retry_ev);
	p->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_connect_start(p);
}

void tunnel_set_lost_cb(struct tunnel *t, void (*cb)(void *arg), void *arg)
{
	t->lost_cb = cb;
	t->lost_arg = arg;
}

struct peer *tunnel_peer_new(struct tunnel *t, const struct tunnel_peer_config *pc, char *err,
			     size_t errlen, bool *usage)
{
	const struct tunnel_config *cfg = &t->cfg;
	struct peer *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->t = t;
	p->fd = -1;
	p->transport = cfg->transport;
	p->auto_probe_every_ms = TUNNEL_AUTO_PROBE_MS;
	p->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	p->offload = t->dev.vnet && cfg->plain_offload && !cfg->sealed;
	if (pc) {
		snprintf(p->name, sizeof(p->name), "%s", pc->name ? pc->name : "");
		p->transports = pc->transports;
		/* Pinned to TCP: no UDP endpoint is ever its way. */
		if (!tunnel_peer_may_use(p, TUNNEL_UDP))
			p->transport = TUNNEL_TCP;
		p->keepalive_ms = pc->keepalive_ms;
		p->dead_peer_ms = pc->dead_peer_ms;
	} else {
		/* The one peer, or a plain hub's: the interface's liveness. */
		p->keepalive_ms = cfg->keepalive_ms;
		p->dead_peer_ms = cfg->plain_hub ? tunnel_plain_dead_peer_ms(t) : cfg->dead_peer_ms;
	}
	if (cfg->sealed) {
		struct session_config sc = {
		    .local_private = cfg->private_key,
		    .peer_public = pc ? pc->public_key : cfg->peer_public_key,
		    .psk = pc ? pc->psk : cfg->psk,
		    .stream = cfg->transport == TUNNEL_TCP,
		    .rekey_after_ms = cfg->rekey_after_ms,
		    .indices = t->routed ? &t->indices : NULL,
		    .index_owner = t->routed ? p : NULL,
		};

		rc = session_new(&p->sess, &sc);
		if (rc < 0) {
			snprintf(err, errlen, "sealed session%s%s: %s", p->name[0] ? " with " : "",
				 p->name,
				 rc == -EINVAL ? "bad keys (the peer's public key is ours, or weak)"
					       : strerror(-rc));
			*usage = rc == -EINVAL;
			goto fail;
		}
		p->sess_ev = evtimer_new(t->base, tunnel_sess_timer_cb, p);
		if (!p->sess_ev)
			goto fail;
	}
	p->retry_ev = evtimer_new(t->base, tunnel_retry_cb, p);
	if (!p->retry_ev)
		goto fail;
	/* The framed stream's output buffer and reader (64 KiB and more):
	 * TCP only, so that a UDP hub's idle peer costs little. */
	if (cfg->transport == TUNNEL_TCP || tunnel_two_transports(cfg)) {
		p->out = evbuffer_new();
		if (!p->out || frame_reader_init(&p->reader, tunnel_frame_max(t)) < 0)
			goto fail;
		p->reader.allow_empty = tunnel_plain_keepalive(t);
	}
	p->last_rx_ms = p->last_tx_ms = tunnel_now_ms();
	return p;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	tunnel_peer_free(p);
	return NULL;
}

struct peer *tunnel_plain_peer_for(struct tunnel *t, const struct sockaddr_storage *src)
{
	char err[256];
	bool usage = false;
	struct peer *p;

	for (unsigned i = 0; i < t->n_peers; i++) {
		p = t->peers[i];
		if (p->source.len &&
		    endpoint_prefix_match(&p->source, (const struct sockaddr *)src))
			return p;
	}
	if (t->n_peers >= TUNNEL_PLAIN_PEERS_MAX) {
		t->stats.peers_refused++;
		if (tunnel_warn_due(t, TUNNEL_WARN_PEERS, tunnel_now_ms()))
			log_warnx("%s: %d peers are connected: a new connection is refused",
				  t->dev.name, TUNNEL_PLAIN_PEERS_MAX);
		return NULL;
	}
	p = tunnel_peer_new(t, NULL, err, sizeof(err), &usage);
	if (!p) {
		log_warnx("a new peer: %s", err);
		return NULL;
	}
	p->learned = p->learns = true;
	t->peers[t->n_peers++] = p;
	return p;
}

void tunnel_peer_forget(struct peer *p)
{
	struct tunnel *t = p->t;

	if (p->gone)
		return;
	if (p->learns) {
		allowedips_remove_by_peer(&t->aips, p);
		p->n_learned = 0;
	}
	if (t->macs.slots)
		mactable_remove_peer(&t->macs, &p->macs);
	if (!p->learned)
		return;
	p->gone = true;
	event_active(t->reap_ev, EV_TIMEOUT, 0);
}

void tunnel_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	unsigned i, n = 0;

	for (i = 0; i < t->n_peers; i++) {
		struct peer *p = t->peers[i];

		if (p->gone)
			tunnel_peer_free(p);
		else
			t->peers[n++] = p;
	}
	t->n_peers = n;
}

void tunnel_peer_free(struct peer *p)
{
	if (!p)
		return;
	if (p->fd >= 0) {
		tunnel_tcp_events_free(p);
		close(p->fd);
	}
	if (p->retry_ev)
		event_free(p->retry_ev);
	if (p->out)
		evbuffer_free(p->out);
	frame_reader_cleanup(&p->reader);
	if (p->sess_ev)
		event_free(p->sess_ev);
	session_free(p->sess);
	free(p);
}
