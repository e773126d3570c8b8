/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus metrics endpoint (MetricsListen, --metrics-listen): an
 * HTTP server (libevent's evhttp) on culvertd's own event loop that
 * answers GET and HEAD /metrics with the exposition of lib/metrics.h,
 * OpenMetrics 1.0.0 when the Accept header asks for it, else the 0.0.4
 * text.  Any other path is 404, any other method on /metrics 405.
 * Nothing a client sends changes the daemon.
 *
 * Bounds, so that a stranger who can reach the port cannot pin memory or
 * file descriptors, nor hold the data path: request headers of
 * EXPORTER_MAX_HEADERS bytes at most (evhttp answers 400), no request
 * body (413), a connection silent for EXPORTER_TIMEOUT_S seconds is
 * closed and any connection is cut after EXPORTER_LIFETIME_S (a client
 * trickling bytes gains nothing), and at most EXPORTER_MAX_CONNS are open:
 * beyond that culvertd stops accepting until one closes.  The exposition
 * is a few KiB rendered at once, so no request holds the loop.
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#include "metrics.h"

struct event_base;
struct exporter;

/* Largest request line and headers, in bytes. */
#define EXPORTER_MAX_HEADERS 8192
/* Seconds a connection may stay silent (reading or writing). */
#define EXPORTER_TIMEOUT_S 5
/* Seconds any connection may last, however busy. */
#define EXPORTER_LIFETIME_S 10
/* Connections open at once, at most. */
#define EXPORTER_MAX_CONNS 16

/*
 * Renders the metrics in @format: a malloc'd buffer of *@len bytes into
 * *@out, freed by the caller.  Returns 0 or -errno.
 */
typedef int (*exporter_render_fn)(void *arg, enum metrics_format format, char **out, size_t *len);

/*
 * Listens on @addr (@len bytes, from endpoint_parse()) and serves metrics
 * from @render on @base.  Bound now, before privileges are dropped, so a
 * port below 1024 works.  Returns the exporter in *@out, or -errno with a
 * reason in @err (@errlen bytes).
 */
int exporter_open(struct exporter **out, struct event_base *base, const struct sockaddr *addr,
		  socklen_t len, exporter_render_fn render, void *arg, char *err, size_t errlen);

/* Stops listening, closes every connection and frees @e.  NULL is ignored. */
void exporter_close(struct exporter *e);
