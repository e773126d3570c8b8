/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics of running tunnels, built from their status documents
 * (lib/status.h) so that culvertd's metrics endpoint and `culvertctl show
 * --openmetrics`/`--prometheus` print exactly the same thing.
 *
 * Two renderings of the same families and samples:
 *   METRICS_OPENMETRICS  the OpenMetrics 1.0.0 text format
 *                        (github.com/OpenObservability/OpenMetrics,
 *                        specification/OpenMetrics.md): "# TYPE", "# UNIT"
 *                        and "# HELP" per family, counter families named
 *                        without their "_total", stateset and info types,
 *                        "# EOF" last;
 *   METRICS_PROMETHEUS   the Prometheus text format 0.0.4 (what node
 *                        exporter's textfile collector and `promtool check
 *                        metrics` parse): "# HELP" and "# TYPE" named as
 *                        the samples (counters with "_total"), statesets
 *                        and infos as gauges, no "# UNIT", no "# EOF".
 *
 * Every family appears once, with one label set per tunnel (labels
 * device="tun0", and netns="blue" when the device is in a named network
 * namespace), all of a family's samples together, families in a fixed
 * order; a family none of the tunnels has (handshakes of plain tunnels) is
 * left out, and so is a tunnel whose device and netns repeat an earlier
 * one's (two series with one label set would make the whole text invalid).  Label values are
 * escaped as both formats require (\\, \", \n). No sample carries a timestamp.  The document
 * (doc/metrics.md) lists every family.  Never a private key: the status document holds none.
 *
 * Return convention: 0 or -errno.  Only metrics_write() writes anywhere:
 * to the FILE it is given, which is its job.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

enum metrics_format {
	METRICS_PROMETHEUS,  /* text format 0.0.4 */
	METRICS_OPENMETRICS, /* OpenMetrics 1.0.0 */
};

/* The Content-Type of each format (HTTP, RFC 9110 section 8.3). */
#define METRICS_CONTENT_TYPE_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_CONTENT_TYPE_OPENMETRICS                                                           \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Family prefix: every metric name starts with it. */
#define METRICS_PREFIX "culvert_"

/*
 * Writes the metrics of the @n tunnels at @sts (@n may be 0: an empty
 * exposition, "# EOF" alone in OpenMetrics) to @f in @format.  @now is the
 * current time in seconds since the Unix epoch (time(2)): the status
 * document counts uptime and the latest handshake in seconds ago, the
 * metrics give them as Unix timestamps (culvert_start_time_seconds,
 * culvert_latest_handshake_timestamp_seconds).  Each status must pass
 * status_check().  Returns 0, -EINVAL for a status status_check() refuses
 * or an unknown @format (nothing written then), or -EIO when @f reports a
 * write error (ferror).
 */
int metrics_write(FILE *f, const struct status *sts, size_t n, int64_t now,
		  enum metrics_format format);

/*
 * As metrics_write(), into *@out: a malloc'd buffer of *@len bytes plus a
 * NUL, which the caller frees.  Returns 0, -EINVAL, or -ENOMEM; *@out is
 * NULL on error.
 */
int metrics_render(const struct status *sts, size_t n, int64_t now, enum metrics_format format,
		   char **out, size_t *len);

/*
 * Picks the format for an HTTP Accept header (RFC 9110 section 12.5.1;
 * NULL when the request had none): OpenMetrics when it names
 * "application/openmetrics-text" (any version parameter, as Prometheus
 * sends it) with a q-value above 0, else the 0.0.4 text format, which
 * every scraper reads.
 */
enum metrics_format metrics_negotiate(const char *accept);
