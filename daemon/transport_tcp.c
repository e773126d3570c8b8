/* SPDX-License-Identifier: MIT */
/*
 * TCP transport (doc/design.md sections 1 and 3): connect with backoff,
 * listen and accept, connections on probation, the framed stream reader,
 * output buffering and device backpressure.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "interface.h"

/* How long a connection may stay on probation, ms (TUNNEL_PENDING_MAX). */
#define TUNNEL_PENDING_TIMEOUT_MS 5000

static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_write_cb(evutil_socket_t fd, short what, void *arg);

/* Frees the socket's events (either may be NULL). */
void tunnel_tcp_events_free(struct peer *p)
{
	if (p->rd_ev)
		event_free(p->rd_ev);
	if (p->wr_ev)
		event_free(p->wr_ev);
	p->rd_ev = p->wr_ev = NULL;
}

/* Logs a failed connection attempt (the first at info level, the retries at
 * debug, so a peer that is down for hours does not flood the log) and
 * schedules the next one. */
static void tunnel_connect_failed(struct peer *p, int err)
{
	if (p->backoff_ms == TUNNEL_BACKOFF_MIN_MS)
		log_info("connect to %s: %s (retrying with backoff)", p->str, strerror(err));
	else
		log_debug("connect to %s: %s", p->str, strerror(err));
	tunnel_tcp_close(p);
}

/* Closes the current TCP connection; the client then schedules a reconnect,
 * the server waits for the next one. */
void tunnel_tcp_close(struct peer *p)
{
	struct tunnel *t = p->t;
	if (p->fd < 0)
		return;
	tunnel_tcp_events_free(p);
	close(p->fd);
	p->fd = -1;
	p->connecting = false;
	evbuffer_drain(p->out, evbuffer_get_length(p->out));
	frame_reader_reset(&p->reader);
	tunnel_dev_resume(t);
	if (t->cfg.plain_hub) {
		log_info("%s: peer %s is gone", t->dev.name, p->str);
		tunnel_peer_forget(p);
	}
	/* A client reconnects; one that moved to UDP (Transport = auto)
	 * does not. */
	if (!t->cfg.listen && p->transport == TUNNEL_TCP) {
		unsigned delay = p->backoff_ms;
		struct timeval tv;

		/* Capped exponential backoff with jitter in [delay/2, delay],
		 * so two clients restarted together do not stay in step. */
		delay = delay / 2 + randombytes_uniform(delay / 2 + 1);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		log_debug("reconnecting to %s in %u ms", p->str, delay);
		event_add(p->retry_ev, &tv);
		p->backoff_ms = p->backoff_ms * 2 > TUNNEL_BACKOFF_MAX_MS ? TUNNEL_BACKOFF_MAX_MS
									  : p->backoff_ms * 2;
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
static int tunnel_tcp_attach(struct peer *p, int fd)
{
	struct tunnel *t = p->t;

	p->fd = fd;
	if (p->transport != TUNNEL_TCP) {
		/* Transports = udp, tcp: a handshake over TCP takes the peer
		 * off UDP at once (doc/design.md section 8). */
		p->transport = TUNNEL_TCP;
		tunnel_peer_moved(p);
	}
	p->rd_ev = event_new(t->base, fd, EV_READ | EV_PERSIST, tunnel_tcp_read_cb, p);
	p->wr_ev = event_new(t->base, fd, EV_WRITE | EV_PERSIST, tunnel_tcp_write_cb, p);
	if (!p->rd_ev || !p->wr_ev) {
		log_warnx("out of memory for connection events");
		tunnel_tcp_close(p);
		return -1;
	}
	event_add(p->rd_ev, NULL);
	t->stats.connections++;
	if (t->stats.connections > 1)
		t->stats.reconnects++;
	p->last_rx_ms = p->last_tx_ms = tunnel_now_ms();
	if (p->sess && t->cfg.listen) {
		/* A pending connection that completed a handshake took over
		 * (tunnel_pending_read_cb): its keypair is the session's
		 * "next"; the old stream's are gone, since counters over TCP
		 * must run without gaps. */
		session_new_stream(p->sess);
		p->sessions = 0;
		p->handshake_us = 0;
		p->offload = false;
	} else if (p->sess) {
		/* A new stream starts a new session. */
		tunnel_sess_restart(p);
		tunnel_sess_initiate(p, tunnel_now_ms());
	}
	return 0;
}

/* Hands the output buffer to the kernel; pauses or resumes the device
 * around the high- and low-water marks.  Returns -1 if the connection
 * failed (and was closed). */
int tunnel_tcp_flush(struct peer *p)
{
	struct tunnel *t = p->t;
	size_t left;

	while (evbuffer_get_length(p->out) > 0) {
		int n = evbuffer_write(p->out, p->fd);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_info("connection to %s lost: write: %s", p->str, strerror(errno));
			tunnel_tcp_close(p);
			return -1;
		}
		if (n == 0)
			break;
	}
	left = evbuffer_get_length(p->out);
	if (left > 0)
		event_add(p->wr_ev, NULL);
	else
		event_del(p->wr_ev);
	if (t->routed)
		return 0; /* a hub bounds each peer (tunnel_tcp_congested()) */
	if (left >= t->cfg.out_high)
		tunnel_dev_pause(t);
	else if (left <= t->cfg.out_high / 4)
		tunnel_dev_resume(t);
	return 0;
}

/* Sends a batch of frames: straight from dev_buf when nothing is queued,
 * keeping only what the socket did not take. */
void tunnel_tcp_send(struct peer *p, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (evbuffer_get_length(p->out) == 0) {
		ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			log_info("connection to %s lost: send: %s", p->str, strerror(errno));
			tunnel_tcp_close(p);
			return;
		}
		done = n > 0 ? (size_t)n : 0;
	}
	if (done < len && evbuffer_add(p->out, buf + done, len - done) < 0) {
		log_warnx("out of memory for the output buffer; closing connection");
		tunnel_tcp_close(p);
		return;
	}
	tunnel_tcp_flush(p);
}

bool tunnel_tcp_congested(struct peer *p)
{
	struct tunnel *t = p->t;

	if (!t->routed || p->transport != TUNNEL_TCP || !p->out ||
	    evbuffer_get_length(p->out) < t->cfg.out_high)
		return false;
	t->stats.drop_backpressure++;
	p->drop_backpressure++;
	log_trace("%s: a packet dropped: its output buffer is full", p->str);
	return true;
}

bool tunnel_tcp_send_peer(struct peer *p, const uint8_t *buf, size_t len, uint64_t packets,
			  uint64_t payload)
{
	struct tunnel *t = p->t;

	if (!tunnel_peer_reachable(p)) {
		t->stats.drop_no_peer += packets;
		return false;
	}
	/* No backpressure test here: the frames may be sealed, and their
	 * counters are spent (tunnel_tcp_congested() came first). */
	p->tx_packets += packets;
	p->tx_bytes += payload;
	p->last_tx_ms = tunnel_now_ms();
	tunnel_tcp_send(p, buf, len);
	return true;
}

static void tunnel_tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	tunnel_tcp_flush(arg);
}

/* Takes what the connection has, up to TUNNEL_BATCH reads. */
static void tunnel_tcp_read(struct peer *p, int fd)
{
	struct tunnel *t = p->t;
	uint64_t now = tunnel_now_ms();
	int i;

	for (i = 0; i < TUNNEL_BATCH; i++) {
		size_t avail;
		uint8_t *space = frame_reader_space(&p->reader, &avail);
		ssize_t n = recv(fd, space, avail, MSG_DONTWAIT);
		const uint8_t *pkt;
		size_t len;
		int rc;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			log_info("connection to %s lost: recv: %s", p->str, strerror(errno));
			tunnel_tcp_close(p);
			return;
		}
		if (n == 0) {
			if (frame_reader_pending(&p->reader))
				log_info("connection to %s closed by the peer mid-frame (%zu bytes "
					 "discarded)",
					 p->str, frame_reader_pending(&p->reader));
			else
				log_info("connection to %s closed by the peer", p->str);
			tunnel_tcp_close(p);
			return;
		}
		frame_reader_commit(&p->reader, (size_t)n);
		while ((rc = frame_reader_next(&p->reader, &pkt, &len)) == 1) {
			if (!p->sess)
				p->last_rx_ms = now;
			if (!p->sess && len == 0)
				t->stats.keepalives_received++;
			else if (!p->sess && t->cfg.plain_offload)
				tunnel_dev_write_offload(t, pkt, len);
			else if (!p->sess)
				tunnel_deliver(p, pkt, len);
			else
				tunnel_open(p, pkt, len, NULL, 0);
			if (p->fd != fd)
				return; /* closed (a corrupt stream, a failed send) */
		}
		if (rc < 0) {
			const uint8_t *hdr = p->reader.buf + p->reader.head;

			t->stats.drop_bad_frame++;
			t->stats.bad_connections++;
			log_warnx(
			    "connection to %s: bad frame length %zu (valid: 1..%zu); closing it",
			    p->str, frame_get_length(hdr), p->reader.max_len);
			tunnel_tcp_close(p);
			return;
		}
		if ((size_t)n < avail)
			return; /* the socket is drained */
	}
}

static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	struct tunnel *t = p->t;

	tunnel_tcp_read(p, fd);
	tunnel_dev_flush(t);
}

/* Closes a pending connection; its slot (and buffer) stays for the next. */
void tunnel_pending_close(struct tunnel_pending *pend)
{
	if (pend->fd < 0)
		return;
	event_free(pend->ev);
	pend->ev = NULL;
	close(pend->fd);
	pend->fd = -1;
}

/* Re-arms a pending connection's read event for what is left of its time. */
static void tunnel_pending_wait(struct tunnel_pending *pend, uint64_t now)
{
	uint64_t left = pend->deadline_ms > now ? pend->deadline_ms - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(left / 1000),
			     .tv_usec = (suseconds_t)(left % 1000) * 1000};

	event_add(pend->ev, &tv);
}

/* The pending connection @pend has proven itself: it replaces the established
 * one (if any) and is served from now on.  Returns its fd, or -1 if it
 * could not be attached (closed). */
static int tunnel_pending_promote(struct tunnel *t, struct peer *p, struct tunnel_pending *pend,
				  const char *who)
{
	int fd = pend->fd;

	if (p->fd >= 0) {
		log_info("connection from %s%s%s %s: it replaces the one from %s", who,
			 p->name[0] ? ", peer " : "", p->name,
			 t->cfg.sealed ? "completed a handshake" : "sent a valid frame", p->str);
		tunnel_tcp_close(p);
	} else {
		log_info("connection from %s%s%s", who, p->name[0] ? ", peer " : "", p->name);
	}
	event_free(pend->ev);
	pend->ev = NULL;
	pend->fd = -1;
	memcpy(&p->addr, &pend->addr, pend->addr_len);
	p->addr_len = pend->addr_len;
	snprintf(p->str, sizeof(p->str), "%s", who);
	tunnel_tcp_setopts(fd);
	return tunnel_tcp_attach(p, fd) < 0 ? -1 : fd;
}

/* Sealed: the first frame (@len bytes at @msg) must be an initiation that
 * completes a handshake with the peer's key (a hub's: with the key of one
 * of its peers, tunnel_initiator()); then the connection takes over that
 * peer's, the last authenticated one winning as a roaming UDP endpoint
 * does, and gets the response. */
static void tunnel_pending_sealed(struct tunnel *t, struct tunnel_pending *pend, const uint8_t *msg,
				  size_t len, const char *who, uint64_t now)
{
	struct peer *p = t->peer;
	enum session_action action = SESSION_NONE;
	size_t out_len = 0;
	int rc = -EAGAIN;

	if (t->routed)
		p = msg[0] == SESSION_TYPE_INITIATION
			? tunnel_initiator(t, msg, len, &pend->addr, pend->addr_len, true, who, now)
			: NULL;
	else if (!tunnel_admit(t, msg, len, &pend->addr, pend->addr_len, true, who, now))
		p = NULL;
	if (p && !tunnel_peer_may_use(p, TUNNEL_TCP)) {
		tunnel_wrong_transport(p, TUNNEL_TCP, who, now);
		p = NULL;
	}
	if (p)
		rc = session_receive_on(p->sess, true, now, msg, len, t->msg, TUNNEL_DGRAM_MAX,
					&out_len, &action);
	if (rc < 0 || action != SESSION_REPLY) {
		t->stats.pending_refused++;
		if (rc != -EAGAIN)
			tunnel_sess_refused(p, rc, msg[0], who, now);
		tunnel_pending_close(pend);
		return;
	}
	if (tunnel_pending_promote(t, p, pend, who) < 0)
		return;
	tunnel_send_msg(p, t->msg, out_len);
	tunnel_sess_schedule(p, now);
}

/* Plain: the first frame (@len bytes at @pkt) must hold a packet the device
 * would take (or, with PlainOffload, an offload frame that passes
 * vnet_check_peer(); an empty frame with PlainKeepalive); then the
 * connection takes over and the packet is delivered. */
static void tunnel_pending_plain(struct tunnel *t, struct tunnel_pending *pend, const uint8_t *pkt,
				 size_t len, const char *who)
{
	struct peer *p = t->peer;
	bool tap = t->dev.mode == TUN_MODE_TAP;
	bool ok;

	if (len == 0) {
		ok = tunnel_plain_keepalive(t);
	} else if (t->cfg.plain_offload) {
		struct vnet_hdr h;

		ok = len > VNET_HDR_LEN;
		if (ok) {
			vnet_hdr_get(pkt, &h);
			ok = vnet_check_peer(&h, pkt + VNET_HDR_LEN, len - VNET_HDR_LEN, tap) == 0;
		}
	} else {
		ok = frame_first_check(pkt, len, tap) == 0;
	}
	if (!ok) {
		t->stats.pending_refused++;
		log_debug("connection from %s: its first frame (%zu bytes) holds no valid packet; "
			  "closed",
			  who, len);
		tunnel_pending_close(pend);
		return;
	}
	if (tunnel_pending_promote(t, p, pend, who) < 0)
		return;
	p->last_rx_ms = tunnel_now_ms();
	if (len == 0)
		t->stats.keepalives_received++;
	else if (t->cfg.plain_offload)
		tunnel_dev_write_offload(t, pkt, len);
	else
		tunnel_deliver(p, pkt, len);
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
	struct tunnel_pending *pend = arg;
	struct tunnel *t = pend->t;
	uint64_t now = tunnel_now_ms();
	char who[ENDPOINT_STRLEN];
	size_t need, flen;
	ssize_t n;

	endpoint_format((struct sockaddr *)&pend->addr, who, sizeof(who));
	if (what & EV_TIMEOUT) {
		t->stats.pending_timeouts++;
		log_debug("connection from %s: no %s in %d ms; closed", who,
			  t->cfg.sealed ? "handshake" : "valid frame", TUNNEL_PENDING_TIMEOUT_MS);
		tunnel_pending_close(pend);
		return;
	}
	flen = pend->have < FRAME_HDR_LEN ? 0 : frame_get_length(pend->buf);
	need = pend->have < FRAME_HDR_LEN ? FRAME_HDR_LEN - pend->have
					  : FRAME_HDR_LEN + flen - pend->have;
	n = need ? recv(fd, pend->buf + pend->have, need, MSG_DONTWAIT) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		tunnel_pending_wait(pend, now);
		return;
	}
	if (n <= 0 && need) {
		log_debug("connection from %s closed on probation", who);
		tunnel_pending_close(pend);
		return;
	}
	pend->have += (size_t)n;
	if (pend->have < FRAME_HDR_LEN) {
		tunnel_pending_wait(pend, now);
		return;
	}
	flen = frame_get_length(pend->buf);
	if (t->cfg.sealed ? flen != SESSION_INITIATION_LEN
			  : FRAME_HDR_LEN + flen > t->pending_cap ||
				(flen == 0 && !tunnel_plain_keepalive(t))) {
		t->stats.pending_refused++;
		log_debug("connection from %s: a first frame of %zu bytes; closed", who, flen);
		tunnel_pending_close(pend);
		return;
	}
	if (pend->have < FRAME_HDR_LEN + flen) {
		tunnel_pending_wait(pend, now);
		return;
	}
	if (t->cfg.sealed)
		tunnel_pending_sealed(t, pend, pend->buf + FRAME_HDR_LEN, flen, who, now);
	else
		tunnel_pending_plain(t, pend, pend->buf + FRAME_HDR_LEN, flen, who);
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
	struct tunnel_pending *pend = NULL;
	uint64_t now = tunnel_now_ms();
	unsigned i;

	for (i = 0; i < TUNNEL_PENDING_MAX && !pend; i++)
		if (t->pending[i].fd < 0)
			pend = &t->pending[i];
	if (!pend) {
		pend = &t->pending[0];
		for (i = 1; i < TUNNEL_PENDING_MAX; i++)
			if (t->pending[i].deadline_ms < pend->deadline_ms)
				pend = &t->pending[i];
		t->stats.pending_evicted++;
		log_debug("%d connections are on probation: the oldest makes room",
			  TUNNEL_PENDING_MAX);
		tunnel_pending_close(pend);
	}
	if (!pend->buf)
		pend->buf = malloc(t->pending_cap);
	pend->ev = pend->buf ? event_new(t->base, fd, EV_READ, tunnel_pending_read_cb, pend) : NULL;
	if (!pend->ev) {
		log_warnx("out of memory for a new connection; refused");
		close(fd);
		return;
	}
	pend->t = t;
	pend->fd = fd;
	pend->have = 0;
	pend->deadline_ms = now + TUNNEL_PENDING_TIMEOUT_MS;
	memcpy(&pend->addr, ss, len);
	pend->addr_len = len;
	log_debug("connection from %s: on probation", who);
	tunnel_pending_wait(pend, now);
}

void tunnel_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct peer *p = t->peer;
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
	if (t->cfg.plain_hub) {
		/* A plain hub: every connection is a peer of its own at once,
		 * as many as TUNNEL_PLAIN_PEERS_MAX.  Probation would prove
		 * nothing (a valid packet is easy to make without a key) and
		 * would cut off a simpletun client that is quiet for a while;
		 * AllowFrom fences who may connect. */
		p = tunnel_plain_peer_for(t, &ss);
		if (!p) {
			close(fd);
			return;
		}
		if (p->fd >= 0) {
			/* A [Peer]'s: the latest connection from its address. */
			log_info("connection from %s, peer %s: it replaces the one from %s", who,
				 p->name, p->str);
			tunnel_tcp_close(p);
		}
	} else if (t->cfg.sealed || t->routed || p->fd >= 0) {
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
	if (p->name[0])
		log_info("connection from %s, peer %s", who, p->name);
	else
		log_info("connection from %s", who);
	memcpy(&p->addr, &ss, len);
	p->addr_len = len;
	memcpy(p->str, who, sizeof(who));
	tunnel_tcp_setopts(fd);
	tunnel_tcp_attach(p, fd);
}

/* The non-blocking connect() finished: check how. */
static void tunnel_connect_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	p->connecting = false;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		tunnel_connect_failed(p, err);
		return;
	}
	log_info("connected to %s", p->str);
	p->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	tunnel_tcp_events_free(p);
	tunnel_tcp_attach(p, fd);
}

void tunnel_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	struct tunnel *t = p->t;

	/* The callback may move the endpoint, which connects there (or
	 * schedules the retry when that failed at once). */
	if (t->lost_cb)
		t->lost_cb(t->lost_arg);
	if (p->fd < 0 && !evtimer_pending(p->retry_ev, NULL))
		tunnel_connect_start(p);
}

/* Starts a non-blocking connect() to the configured peer. */
void tunnel_connect_start(struct peer *p)
{
	struct tunnel *t = p->t;
	int fd = socket(t->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_warn("socket");
		tunnel_fail(t);
		return;
	}
	tunnel_tcp_setopts(fd);
	p->fd = fd;
	p->connecting = true;
	p->wr_ev = event_new(t->base, fd, EV_WRITE, tunnel_connect_done_cb, p);
	if (!p->wr_ev) {
		log_warnx("out of memory for connection events");
		tunnel_fail(t);
		return;
	}
	if (connect(fd, (struct sockaddr *)&t->cfg.addr, t->cfg.addr_len) < 0 &&
	    errno != EINPROGRESS) {
		tunnel_connect_failed(p, errno);
		return;
	}
	event_add(p->wr_ev, NULL);
}
