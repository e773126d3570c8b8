/* SPDX-License-Identifier: MIT */
/*
 * TCP transport (doc/design.md sections 1 and 3): connect with backoff,
 * listen and accept, connections on probation, the framed stream reader,
 * output buffering and device backpressure.
 */
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
void tunnel_sock_events_free(struct tunnel *t)
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
void tunnel_tcp_close(struct tunnel *t)
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
int tunnel_tcp_flush(struct tunnel *t)
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
void tunnel_tcp_send(struct tunnel *t, const uint8_t *buf, size_t len)
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
void tunnel_pending_close(struct tunnel_pending *p)
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

void tunnel_accept_cb(evutil_socket_t lfd, short what, void *arg)
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

void tunnel_retry_cb(evutil_socket_t fd, short what, void *arg)
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
void tunnel_connect_start(struct tunnel *t)
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
