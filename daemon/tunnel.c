/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "frame.h"
#include "log.h"
#include "tunnel.h"

/* Room for the largest UDP datagram, so recv() never truncates one. */
#define TUNNEL_DGRAM_MAX 65536
/* UDP socket buffers, bytes each way (the kernel doubles it for overhead). */
#define TUNNEL_UDP_SOCKBUF (4 * 1024 * 1024)
/* Device-side batch buffer: at least this many bytes of frames per wakeup. */
#define TUNNEL_DEV_BUF_MIN (256 * 1024)

struct tunnel {
	struct event_base *base;
	struct tunnel_config cfg;
	struct tun_device dev;
	size_t max_len; /* largest payload in either direction, bytes */

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
	uint8_t *dgram; /* UDP receive buffer, TUNNEL_DGRAM_MAX bytes */

	struct sockaddr_storage peer; /* the peer's endpoint, once known */
	socklen_t peer_len;
	char peer_str[ENDPOINT_STRLEN];

	struct event *retry_ev; /* TCP client reconnect timer */
	unsigned backoff_ms;

	bool failed;
	struct tunnel_stats stats;
};

static void tunnel_dev_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_tcp_write_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_connect_start(struct tunnel *t);
static void tunnel_tcp_close(struct tunnel *t);

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

/* Writes one packet to the device; the kernel takes it whole or not at all. */
static void tunnel_dev_write(struct tunnel *t, const uint8_t *pkt, size_t len)
{
	ssize_t n = write(t->dev.fd, pkt, len);

	if (n < 0) {
		t->stats.drop_dev_write++;
		log_trace("write %s: %s (%zu bytes dropped)", t->dev.name, strerror(errno), len);
		return;
	}
	t->stats.rx_packets++;
	t->stats.rx_bytes += len;
}

/*
 * Reads up to TUNNEL_BATCH packets from the device into dev_buf, each behind
 * its length prefix.  Returns the number of bytes of frames, or -1 when the
 * device failed (the tunnel has been stopped then); *@npkts is the number of
 * frames.  For UDP each packet is sent as it is read; @send_each says so.
 */
static void tunnel_udp_send(struct tunnel *t, const uint8_t *frame, size_t len);

static ssize_t tunnel_dev_drain(struct tunnel *t, bool send_each, unsigned *npkts)
{
	size_t off = 0;
	int i;

	*npkts = 0;
	for (i = 0; i < TUNNEL_BATCH; i++) {
		/* Reading max_len + 1 bytes tells an oversize packet (the
		 * kernel reports its full length) from a maximal one. */
		size_t room = FRAME_HDR_LEN + t->max_len + 1;
		uint8_t *slot = t->dev_buf + (send_each ? 0 : off);
		ssize_t n;

		if (!send_each && t->dev_buf_len - off < room)
			break;
		n = read(t->dev.fd, slot + FRAME_HDR_LEN, t->max_len + 1);
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
		frame_put_header(slot, (size_t)n);
		if (send_each) {
			tunnel_udp_send(t, slot, FRAME_HDR_LEN + (size_t)n);
			if (t->dev_paused)
				break;
		} else {
			off += FRAME_HDR_LEN + (size_t)n;
			(*npkts)++;
		}
	}
	return (ssize_t)off;
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

static void tunnel_tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
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
		while ((rc = frame_reader_next(&t->reader, &pkt, &len)) == 1)
			tunnel_dev_write(t, pkt, len);
		if (rc < 0) {
			const uint8_t *hdr = t->reader.buf + t->reader.head;

			t->stats.drop_bad_frame++;
			t->stats.bad_connections++;
			log_warnx(
			    "connection to %s: bad frame length %zu (valid: 1..%zu); closing it",
			    t->peer_str, frame_get_length(hdr), t->max_len);
			tunnel_tcp_close(t);
			return;
		}
		if ((size_t)n < avail)
			return; /* the socket is drained */
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
	if (t->sock_fd >= 0) {
		/* A peer that restarted without closing (power loss) must not
		 * be locked out until TCP notices: the newest connection wins. */
		log_info("connection from %s replaces the one from %s", who, t->peer_str);
		tunnel_tcp_close(t);
	} else {
		log_info("connection from %s", who);
	}
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
	tunnel_connect_start(arg);
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

/* Sends one frame as one datagram.  When the socket is full the datagram is
 * dropped and the device paused until the socket drains. */
static void tunnel_udp_send(struct tunnel *t, const uint8_t *frame, size_t len)
{
	ssize_t n;

	if (t->peer_len == 0) {
		t->stats.drop_no_peer++;
		return;
	}
	n = sendto(t->sock_fd, frame, len, MSG_DONTWAIT, (struct sockaddr *)&t->peer, t->peer_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == ENOBUFS) {
			t->stats.drop_backpressure++;
			tunnel_dev_pause(t);
			event_add(t->sock_wr_ev, NULL);
		} else {
			t->stats.drop_send_error++;
			log_trace("send to %s: %s", t->peer_str, strerror(errno));
		}
		return;
	}
	t->stats.tx_packets++;
	t->stats.tx_bytes += len - FRAME_HDR_LEN;
}

static void tunnel_udp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	event_del(t->sock_wr_ev);
	tunnel_dev_resume(t);
}

static void tunnel_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	int i;

	for (i = 0; i < TUNNEL_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		ssize_t n = recvfrom(fd, t->dgram, TUNNEL_DGRAM_MAX, MSG_DONTWAIT,
				     (struct sockaddr *)&ss, &sslen);
		const uint8_t *pkt;
		size_t off = 0, len;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP errors from an earlier send (the peer is not
			 * up yet) surface here; they are no reason to stop. */
			log_trace("recv: %s", strerror(errno));
			continue;
		}
		if (frame_datagram_check(t->dgram, (size_t)n, t->max_len) < 0) {
			t->stats.drop_bad_frame++;
			log_trace("bad %zd-byte datagram dropped", n);
			continue;
		}
		if (!t->cfg.listen &&
		    !endpoint_equal((struct sockaddr *)&ss, (struct sockaddr *)&t->peer)) {
			t->stats.drop_unknown_peer++;
			log_trace("datagram from a stranger dropped");
			continue;
		}
		if (t->cfg.listen &&
		    (t->peer_len == 0 ||
		     !endpoint_equal((struct sockaddr *)&ss, (struct sockaddr *)&t->peer))) {
			/* The listening side learns, and follows, the source of
			 * the latest valid datagram (OpenVPN's --float). */
			memcpy(&t->peer, &ss, sslen);
			t->peer_len = sslen;
			endpoint_format((struct sockaddr *)&ss, t->peer_str, sizeof(t->peer_str));
			log_info("peer is %s", t->peer_str);
		}
		while (frame_datagram_next(t->dgram, (size_t)n, &off, &pkt, &len))
			tunnel_dev_write(t, pkt, len);
	}
}

/* ---- device ------------------------------------------------------------- */

static void tunnel_dev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	unsigned npkts;
	ssize_t len;

	if (t->cfg.transport == TUNNEL_UDP) {
		tunnel_dev_drain(t, true, &npkts);
		return;
	}
	len = tunnel_dev_drain(t, false, &npkts);
	if (len <= 0)
		return;
	if (t->sock_fd < 0 || t->connecting) {
		/* Not connected: nobody to send to. */
		t->stats.drop_no_peer += npkts;
		return;
	}
	t->stats.tx_packets += npkts;
	t->stats.tx_bytes += (size_t)len - npkts * FRAME_HDR_LEN;
	tunnel_tcp_send(t, t->dev_buf, (size_t)len);
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
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	if (t->cfg.out_high == 0)
		t->cfg.out_high = TUNNEL_OUT_HIGH_DEFAULT;

	rc = tun_open(&t->dev, cfg->dev_name, cfg->mode);
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
	if (cfg->mtu > 0) {
		rc = tun_get_mtu(t->dev.name, &mtu);
		if (rc == 0 && mtu != cfg->mtu)
			rc = tun_set_mtu(t->dev.name, cfg->mtu);
		if (rc < 0) {
			snprintf(err, errlen, "set MTU of %s to %d: %s", t->dev.name, cfg->mtu,
				 strerror(-rc));
			*usage = rc == -EINVAL;
			goto fail;
		}
		mtu = cfg->mtu;
	} else if ((rc = tun_get_mtu(t->dev.name, &mtu)) < 0) {
		snprintf(err, errlen, "get MTU of %s: %s", t->dev.name, strerror(-rc));
		goto fail;
	}
	rc = tun_set_up(t->dev.name);
	if (rc < 0) {
		snprintf(err, errlen, "set %s up: %s", t->dev.name, strerror(-rc));
		goto fail;
	}
	t->max_len = (size_t)mtu + (cfg->mode == TUN_MODE_TAP ? TUN_TAP_HDR_LEN : 0);
	if (t->max_len > FRAME_MAX_LEN) {
		snprintf(err, errlen, "MTU %d of %s is above the frame maximum %d", mtu,
			 t->dev.name, FRAME_MAX_LEN);
		*usage = true;
		goto fail;
	}

	t->dev_buf_len = 2 * (FRAME_HDR_LEN + t->max_len + 1);
	if (t->dev_buf_len < TUNNEL_DEV_BUF_MIN)
		t->dev_buf_len = TUNNEL_DEV_BUF_MIN;
	t->dev_buf = malloc(t->dev_buf_len);
	t->out = evbuffer_new();
	t->dev_ev = event_new(base, t->dev.fd, EV_READ | EV_PERSIST, tunnel_dev_read_cb, t);
	t->retry_ev = evtimer_new(base, tunnel_retry_cb, t);
	if (!t->dev_buf || !t->out || !t->dev_ev || !t->retry_ev ||
	    frame_reader_init(&t->reader, t->max_len) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

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
		t->dgram = malloc(TUNNEL_DGRAM_MAX);
		t->sock_rd_ev =
		    event_new(base, t->sock_fd, EV_READ | EV_PERSIST, tunnel_udp_read_cb, t);
		t->sock_wr_ev =
		    event_new(base, t->sock_fd, EV_WRITE | EV_PERSIST, tunnel_udp_write_cb, t);
		if (!t->dgram || !t->sock_rd_ev || !t->sock_wr_ev) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		event_add(t->sock_rd_ev, NULL);
		if (cfg->listen) {
			log_info("%s: listening on udp %s", t->dev.name, t->peer_str);
			snprintf(t->peer_str, sizeof(t->peer_str), "(none)");
		} else {
			memcpy(&t->peer, &cfg->addr, cfg->addr_len);
			t->peer_len = cfg->addr_len;
			log_info("%s: sending to udp %s", t->dev.name, t->peer_str);
		}
	}
	event_add(t->dev_ev, NULL);
	log_info("%s: %s device%s, MTU %d, frames up to %zu bytes", t->dev.name,
		 cfg->mode == TUN_MODE_TAP ? "TAP" : "TUN", t->dev.created ? " (created)" : "", mtu,
		 t->max_len);
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
	free(t->dgram);
	free(t->dev_buf);
	tun_close(&t->dev);
	free(t);
}

const struct tunnel_stats *tunnel_get_stats(const struct tunnel *t)
{
	return &t->stats;
}

const char *tunnel_dev_name(const struct tunnel *t)
{
	return t->dev.name;
}

bool tunnel_failed(const struct tunnel *t)
{
	return t->failed;
}
