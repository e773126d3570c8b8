/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exporter.h"
#include "log.h"

/* The only path served. */
#define EXPORTER_PATH "/metrics"

/* One client connection, watched from outside evhttp (which keeps no
 * count and has no total deadline in libevent 2.1): the bufferevent
 * evhttp serves it on, with a reference of ours, and when it came. */
struct exporter_conn {
	struct bufferevent *bev;
	time_t since; /* CLOCK_MONOTONIC seconds */
};

struct exporter {
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *tick;
	exporter_render_fn render;
	void *arg;
	struct exporter_conn conns[EXPORTER_MAX_CONNS];
	size_t n_conns;
	bool paused; /* the listener is off: EXPORTER_MAX_CONNS are open */
};

/* Monotonic seconds. */
static time_t exporter_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Forgets the connections evhttp is done with and cuts the ones older than
 * EXPORTER_LIFETIME_S; turns the listener back on when there is room.
 *
 * Why this works: our bufferevents have BEV_OPT_CLOSE_ON_FREE, so evhttp
 * leaves closing the socket to the bufferevent (http.c,
 * evhttp_connection_free), and our extra reference keeps both alive until
 * we drop it here: an fd of ours cannot be closed and reused behind our
 * back.  evhttp is done with a bufferevent once it has cleared its
 * callbacks (bufferevent_free, evhttp_connection_reset_) or its fd.  A
 * connection cut with shutdown(2) is seen by evhttp as closed by the
 * client, and freed by it.
 */
static void exporter_reap(struct exporter *e)
{
	time_t now = exporter_now();
	size_t i = 0;

	while (i < e->n_conns) {
		struct exporter_conn *c = &e->conns[i];
		bufferevent_data_cb rcb, wcb;
		bufferevent_event_cb ecb;
		void *cbarg;
		int fd = bufferevent_getfd(c->bev);

		bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
		if (fd < 0 || (!rcb && !wcb && !ecb)) {
			bufferevent_decref(c->bev); /* closes the fd when evhttp's is gone too */
			*c = e->conns[--e->n_conns];
			continue;
		}
		if (now - c->since >= EXPORTER_LIFETIME_S)
			shutdown(fd, SHUT_RDWR);
		i++;
	}
	if (e->paused && e->n_conns < EXPORTER_MAX_CONNS &&
	    evconnlistener_enable(evhttp_bound_socket_get_listener(e->bound)) == 0)
		e->paused = false;
}

/* Once a second: see exporter_reap(). */
static void exporter_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	exporter_reap(arg);
}

/*
 * evhttp's hook for the bufferevent of each new connection: counts it
 * and, at EXPORTER_MAX_CONNS, stops accepting (further clients wait in the
 * kernel's backlog, holding no fd of ours).  Reads stop at twice the
 * header limit, so no connection buffers more than that.
 */
static struct bufferevent *exporter_bev_cb(struct event_base *base, void *arg)
{
	struct exporter *e = arg;
	struct bufferevent *bev;

	exporter_reap(e);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL; /* evhttp tries its own, or drops the connection */
	bufferevent_setwatermark(bev, EV_READ, 0, 2 * EXPORTER_MAX_HEADERS);
	if (e->n_conns < EXPORTER_MAX_CONNS) {
		bufferevent_incref(bev);
		e->conns[e->n_conns].bev = bev;
		e->conns[e->n_conns].since = exporter_now();
		e->n_conns++;
	}
	if (e->n_conns == EXPORTER_MAX_CONNS && !e->paused &&
	    evconnlistener_disable(evhttp_bound_socket_get_listener(e->bound)) == 0)
		e->paused = true;
	return bev;
}

/* evbuffer_add_reference()'s cleanup: the rendered text is freed with
 * the buffer that sent it. */
static void exporter_free_text(const void *data, size_t len, void *extra)
{
	free(extra);
}

/* Answers @req with @code and a one-line plain-text body. */
static void exporter_reply_text(struct evhttp_request *req, int code, const char *reason,
				const char *body)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(out, "Connection", "close");
	if (buf)
		evbuffer_add(buf, body, strlen(body));
	evhttp_send_reply(req, code, reason, buf);
	if (buf)
		evbuffer_free(buf);
}

/* Every request: only GET and HEAD of /metrics get the exposition. */
static void exporter_request_cb(struct evhttp_request *req, void *arg)
{
	struct exporter *e = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	enum metrics_format format;
	struct evbuffer *buf;
	char *text;
	size_t len;

	if (!path || strcmp(path, EXPORTER_PATH)) {
		exporter_reply_text(req, HTTP_NOTFOUND, "Not Found",
				    "Not found: culvertd serves /metrics only.\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		exporter_reply_text(req, 405, "Method Not Allowed", "Only GET and HEAD.\n");
		return;
	}
	format =
	    metrics_negotiate(evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"));
	buf = evbuffer_new();
	if (!buf || e->render(e->arg, format, &text, &len) < 0) {
		if (buf)
			evbuffer_free(buf);
		log_warnx("metrics: out of memory");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* The buffer takes the text over: no copy, freed with it. */
	if (evbuffer_add_reference(buf, text, len, exporter_free_text, text) < 0) {
		free(text);
		evbuffer_free(buf);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type",
			  format == METRICS_OPENMETRICS ? METRICS_CONTENT_TYPE_OPENMETRICS
							: METRICS_CONTENT_TYPE_PROMETHEUS);
	evhttp_add_header(out, "Cache-Control", "no-store");
	/* One request per connection, as on the status socket: nothing is
	 * kept open between scrapes, so the lifetime cut never meets a
	 * scraper's idle connection. */
	evhttp_add_header(out, "Connection", "close");
	/* evhttp sends Content-Length and no body for HEAD. */
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

int exporter_open(struct exporter **out, struct event_base *base, const struct sockaddr *addr,
		  socklen_t len, exporter_render_fn render, void *arg, char *err, size_t errlen)
{
	struct exporter *e = calloc(1, sizeof(*e));
	int fd = -1, one = 1, rc;

	if (!e) {
		snprintf(err, errlen, "metrics: out of memory");
		return -ENOMEM;
	}
	e->render = render;
	e->arg = arg;
	e->http = evhttp_new(base);
	if (!e->http) {
		rc = -ENOMEM;
		snprintf(err, errlen, "metrics: out of memory");
		goto fail;
	}
	evhttp_set_max_headers_size(e->http, EXPORTER_MAX_HEADERS);
	evhttp_set_max_body_size(e->http, 0);
	evhttp_set_timeout(e->http, EXPORTER_TIMEOUT_S);
	/* Every method reaches the callback, which answers 405 itself
	 * (evhttp would answer 501 for the ones not allowed). */
	evhttp_set_allowed_methods(e->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(e->http, exporter_request_cb, e);
	evhttp_set_bevcb(e->http, exporter_bev_cb, e);

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, addr, len) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "MetricsListen: %s", strerror(errno));
		goto fail;
	}
	e->bound = evhttp_accept_socket_with_handle(e->http, fd);
	e->tick = event_new(base, -1, EV_PERSIST, exporter_tick_cb, e);
	if (!e->bound || !e->tick || event_add(e->tick, &(struct timeval){1, 0}) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "metrics: out of memory");
		if (e->bound)
			fd = -1; /* evhttp_free() closes it */
		goto fail;
	}
	*out = e;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	exporter_close(e);
	return rc;
}

void exporter_close(struct exporter *e)
{
	if (!e)
		return;
	if (e->tick)
		event_free(e->tick);
	if (e->http)
		evhttp_free(e->http); /* closes the listener, frees the connections */
	/* Our references: the last ones now, so the sockets close. */
	while (e->n_conns)
		bufferevent_decref(e->conns[--e->n_conns].bev);
	free(e);
}
