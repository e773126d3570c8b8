/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"

/* The states culvertd has (STATUS_STATE_*): a stateset lists them all.  A
 * state a newer daemon adds is shown as well, after them. */
static const char *const metrics_states[] = {
    STATUS_STATE_LISTENING,   STATUS_STATE_CONNECTING,  STATUS_STATE_CONNECTED,
    STATUS_STATE_HANDSHAKING, STATUS_STATE_ESTABLISHED, STATUS_STATE_NO_PEER,
};

/* Counters of the status document's list that have a family of their own;
 * the rest go to culvert_events_total. */
static const char *const metrics_own_counters[] = {"handshakes", "rekeys", "reconnects"};

enum metrics_type {
	METRICS_GAUGE,
	METRICS_COUNTER,
	METRICS_STATESET,
	METRICS_INFO,
};

/* Where samples go: @f, or nowhere when NULL (only counted). */
struct metrics_out {
	FILE *f;
	const char *name;        /* the sample name, suffix included */
	const struct status *st; /* the tunnel: its base labels */
	const char *peer;        /* the peer label's value; NULL: none */
	size_t count;
};

/* Writes @s as a label value, escaped: backslash, double quote and line
 * feed (both formats' rules; every other byte as it is). */
static void metrics_put_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else {
			fputc(*s, f);
		}
	}
}

/* Writes one label, ,@name="@value" (no comma when @first). */
static void metrics_put_label(FILE *f, const char *name, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	metrics_put_value(f, value);
	fputc('"', f);
}

/* Writes NAME{device="...",netns="...",peer="..." of a sample: the
 * tunnel's labels, and the peer's in a per-peer family. */
static void metrics_begin(struct metrics_out *o)
{
	fprintf(o->f, "%s{", o->name);
	metrics_put_label(o->f, "device", o->st->device, true);
	if (o->st->netns[0])
		metrics_put_label(o->f, "netns", o->st->netns, false);
	if (o->peer)
		metrics_put_label(o->f, "peer", o->peer, false);
}

/* Writes one sample: NAME{LABELS[,@lname="@lvalue"]} VALUE; @lname may be
 * NULL. */
static void metrics_sample(struct metrics_out *o, const char *lname, const char *lvalue,
			   const char *value)
{
	o->count++;
	if (!o->f)
		return;
	metrics_begin(o);
	if (lname)
		metrics_put_label(o->f, lname, lvalue, false);
	fprintf(o->f, "} %s\n", value);
}

/* metrics_sample() for an unsigned value. */
static void metrics_u64(struct metrics_out *o, const char *lname, const char *lvalue, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	metrics_sample(o, lname, lvalue, num);
}

/* metrics_sample() for a signed value. */
static void metrics_i64(struct metrics_out *o, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	metrics_sample(o, NULL, NULL, num);
}

/* Looks up counter @name in @st's counter list; false when absent. */
static bool metrics_counter(const struct status *st, const char *name, uint64_t *v)
{
	size_t i;

	for (i = 0; i < st->n_counters; i++) {
		if (!strcmp(st->counters[i].name, name)) {
			*v = st->counters[i].value;
			return true;
		}
	}
	return false;
}

/* The samples of each family for one tunnel @st at Unix time @now. */

static void fam_tunnel(struct metrics_out *o, const struct status *st, int64_t now)
{
	o->count++;
	if (!o->f)
		return;
	metrics_begin(o);
	fprintf(o->f, ",mode=\"%s\",transport=\"%s\",sealed=\"%s\",role=\"%s\"", st->mode,
		st->transport, st->sealed ? "true" : "false", st->listen ? "listen" : "connect");
	if (st->public_key[0])
		metrics_put_label(o->f, "public_key", st->public_key, false);
	fputs("} 1\n", o->f);
}

static void fam_start_time(struct metrics_out *o, const struct status *st, int64_t now)
{
	/* A clock before the epoch, or set back past the start: 0, never a
	 * negative time (nor an overflow). */
	metrics_i64(o, now <= 0 || st->uptime >= (uint64_t)now ? 0 : now - (int64_t)st->uptime);
}

static void fam_state(struct metrics_out *o, const struct status *st, int64_t now)
{
	bool known = false;
	size_t i;

	for (i = 0; i < sizeof(metrics_states) / sizeof(metrics_states[0]); i++) {
		bool on = !strcmp(st->state, metrics_states[i]);

		known |= on;
		metrics_sample(o, "culvert_session_state", metrics_states[i], on ? "1" : "0");
	}
	if (!known)
		metrics_sample(o, "culvert_session_state", st->state, "1");
}

static void fam_handshake_time(struct metrics_out *o, const struct status *st, int64_t now)
{
	if (!st->sealed)
		return;
	if (st->latest_handshake < 0 || st->latest_handshake > now)
		metrics_i64(o, 0);
	else
		metrics_i64(o, now - st->latest_handshake);
}

static void fam_rx_bytes(struct metrics_out *o, const struct status *st, int64_t now)
{
	metrics_u64(o, NULL, NULL, st->rx_bytes);
}

static void fam_tx_bytes(struct metrics_out *o, const struct status *st, int64_t now)
{
	metrics_u64(o, NULL, NULL, st->tx_bytes);
}

static void fam_rx_packets(struct metrics_out *o, const struct status *st, int64_t now)
{
	metrics_u64(o, NULL, NULL, st->rx_packets);
}

static void fam_tx_packets(struct metrics_out *o, const struct status *st, int64_t now)
{
	metrics_u64(o, NULL, NULL, st->tx_packets);
}

static void fam_drops(struct metrics_out *o, const struct status *st, int64_t now)
{
	size_t i;

	for (i = 0; i < st->n_drops; i++)
		metrics_u64(o, "reason", st->drops[i].name, st->drops[i].value);
}

/* One counter of the list with a family of its own (@name). */
static void fam_one_counter(struct metrics_out *o, const struct status *st, const char *name)
{
	uint64_t v;

	if (metrics_counter(st, name, &v))
		metrics_u64(o, NULL, NULL, v);
}

static void fam_handshakes(struct metrics_out *o, const struct status *st, int64_t now)
{
	fam_one_counter(o, st, "handshakes");
}

static void fam_rekeys(struct metrics_out *o, const struct status *st, int64_t now)
{
	fam_one_counter(o, st, "rekeys");
}

static void fam_reconnects(struct metrics_out *o, const struct status *st, int64_t now)
{
	fam_one_counter(o, st, "reconnects");
}

static void fam_events(struct metrics_out *o, const struct status *st, int64_t now)
{
	size_t i, j;

	for (i = 0; i < st->n_counters; i++) {
		bool own = false;

		for (j = 0; j < sizeof(metrics_own_counters) / sizeof(metrics_own_counters[0]); j++)
			own |= !strcmp(st->counters[i].name, metrics_own_counters[j]);
		if (!own)
			metrics_u64(o, "event", st->counters[i].name, st->counters[i].value);
	}
}

/*
 * The per-peer families: each calls @fn for every peer of @st whose label
 * (metrics_peer_label()) no earlier peer of @st has, with o->peer set.
 */
static const char *metrics_peer_label(const struct status_peer *p)
{
	return p->public_key[0] ? p->public_key : p->name[0] ? p->name : p->endpoint;
}

static void metrics_each_peer(struct metrics_out *o, const struct status *st, int64_t now,
			      void (*fn)(struct metrics_out *o, const struct status *st,
					 const struct status_peer *p, int64_t now))
{
	size_t i, j;

	for (i = 0; i < st->n_peers; i++) {
		const char *label = metrics_peer_label(&st->peers[i]);
		bool dup = false;

		/* Two series with one label set would make the whole text
		 * invalid: a repeated label keeps its first peer only. */
		for (j = 0; j < i && !dup; j++)
			dup = !strcmp(label, metrics_peer_label(&st->peers[j]));
		if (dup)
			continue;
		o->peer = label;
		fn(o, st, &st->peers[i], now);
	}
	o->peer = NULL;
}

static void peer_info(struct metrics_out *o, const struct status *st, const struct status_peer *p,
		      int64_t now)
{
	o->count++;
	if (!o->f)
		return;
	metrics_begin(o);
	if (p->name[0])
		metrics_put_label(o->f, "name", p->name, false);
	if (p->endpoint[0])
		metrics_put_label(o->f, "endpoint", p->endpoint, false);
	fprintf(o->f, ",transport=\"%s\"} 1\n", p->transport);
}

static void peer_state(struct metrics_out *o, const struct status *st, const struct status_peer *p,
		       int64_t now)
{
	bool known = false;
	size_t i;

	for (i = 0; i < sizeof(metrics_states) / sizeof(metrics_states[0]); i++) {
		bool on = !strcmp(p->state, metrics_states[i]);

		known |= on;
		metrics_sample(o, "culvert_peer_state", metrics_states[i], on ? "1" : "0");
	}
	if (!known)
		metrics_sample(o, "culvert_peer_state", p->state, "1");
}

static void peer_handshake_time(struct metrics_out *o, const struct status *st,
				const struct status_peer *p, int64_t now)
{
	if (!st->sealed)
		return;
	if (p->latest_handshake < 0 || p->latest_handshake > now)
		metrics_i64(o, 0);
	else
		metrics_i64(o, now - p->latest_handshake);
}

static void peer_rx_bytes(struct metrics_out *o, const struct status *st,
			  const struct status_peer *p, int64_t now)
{
	metrics_u64(o, NULL, NULL, p->rx_bytes);
}

static void peer_tx_bytes(struct metrics_out *o, const struct status *st,
			  const struct status_peer *p, int64_t now)
{
	metrics_u64(o, NULL, NULL, p->tx_bytes);
}

static void peer_rx_packets(struct metrics_out *o, const struct status *st,
			    const struct status_peer *p, int64_t now)
{
	metrics_u64(o, NULL, NULL, p->rx_packets);
}

static void peer_tx_packets(struct metrics_out *o, const struct status *st,
			    const struct status_peer *p, int64_t now)
{
	metrics_u64(o, NULL, NULL, p->tx_packets);
}

static void peer_keepalive(struct metrics_out *o, const struct status *st,
			   const struct status_peer *p, int64_t now)
{
	metrics_u64(o, NULL, NULL, p->keepalive);
}

static void peer_addresses(struct metrics_out *o, const struct status *st,
			   const struct status_peer *p, int64_t now)
{
	/* addresses_more < 2^64 - 1 and n_addresses <= 16: saturate. */
	uint64_t n = p->addresses_more > UINT64_MAX - 1 - p->n_addresses
			 ? UINT64_MAX - 1
			 : p->addresses_more + p->n_addresses;

	metrics_u64(o, NULL, NULL, n);
}

static void peer_drops(struct metrics_out *o, const struct status *st, const struct status_peer *p,
		       int64_t now)
{
	for (size_t i = 0; i < p->n_drops; i++)
		metrics_u64(o, "reason", p->drops[i].name, p->drops[i].value);
}

static void peer_events(struct metrics_out *o, const struct status *st, const struct status_peer *p,
			int64_t now)
{
	for (size_t i = 0; i < p->n_counters; i++)
		metrics_u64(o, "event", p->counters[i].name, p->counters[i].value);
}

/* The family functions of the per-peer families. */
#define METRICS_PER_PEER(fam, fn)                                                                  \
	static void fam(struct metrics_out *o, const struct status *st, int64_t now)               \
	{                                                                                          \
		metrics_each_peer(o, st, now, fn);                                                 \
	}
METRICS_PER_PEER(fam_peer_info, peer_info)
METRICS_PER_PEER(fam_peer_state, peer_state)
METRICS_PER_PEER(fam_peer_handshake_time, peer_handshake_time)
METRICS_PER_PEER(fam_peer_rx_bytes, peer_rx_bytes)
METRICS_PER_PEER(fam_peer_tx_bytes, peer_tx_bytes)
METRICS_PER_PEER(fam_peer_rx_packets, peer_rx_packets)
METRICS_PER_PEER(fam_peer_tx_packets, peer_tx_packets)
METRICS_PER_PEER(fam_peer_keepalive, peer_keepalive)
METRICS_PER_PEER(fam_peer_addresses, peer_addresses)
METRICS_PER_PEER(fam_peer_drops, peer_drops)
METRICS_PER_PEER(fam_peer_events, peer_events)

/* One metric family: its OpenMetrics name (no "_total" or "_info"), type,
 * unit ("" for none) and help text (no backslash, quote or line feed). */
static const struct metrics_family {
	const char *name;
	enum metrics_type type;
	const char *unit;
	const char *help;
	void (*samples)(struct metrics_out *o, const struct status *st, int64_t now);
} metrics_families[] = {
    {"culvert_tunnel", METRICS_INFO, "",
     "A running tunnel: its mode (tun or tap), transport (tcp, udp, or udp,tcp for both), whether "
     "it is sealed, its role (listen or connect) and, when sealed, its own public key.",
     fam_tunnel},
    {"culvert_start_time_seconds", METRICS_GAUGE, "seconds",
     "When culvertd started serving the tunnel, in seconds since the Unix epoch.", fam_start_time},
    {"culvert_session_state", METRICS_STATESET, "",
     "The state of the tunnel towards its peer (culvertctl show's state): 1 for the current one.",
     fam_state},
    {"culvert_latest_handshake_timestamp_seconds", METRICS_GAUGE, "seconds",
     "Sealed tunnels: when the latest handshake completed, in seconds since the Unix epoch; 0 "
     "when none has.",
     fam_handshake_time},
    {"culvert_receive_bytes", METRICS_COUNTER, "bytes",
     "Bytes received from the peer and written to the device (inner packets, without framing).",
     fam_rx_bytes},
    {"culvert_transmit_bytes", METRICS_COUNTER, "bytes",
     "Bytes read from the device and sent to the peer (inner packets, without framing).",
     fam_tx_bytes},
    {"culvert_receive_packets", METRICS_COUNTER, "",
     "Packets received from the peer and written to the device.", fam_rx_packets},
    {"culvert_transmit_packets", METRICS_COUNTER, "",
     "Packets read from the device and sent to the peer.", fam_tx_packets},
    {"culvert_drops", METRICS_COUNTER, "",
     "Packets, frames or datagrams dropped, by reason (culvertctl show's drops).", fam_drops},
    {"culvert_handshakes", METRICS_COUNTER, "",
     "Sealed tunnels: handshakes completed (the first and every rekey).", fam_handshakes},
    {"culvert_rekeys", METRICS_COUNTER, "",
     "Sealed tunnels: handshakes that replaced an established session.", fam_rekeys},
    {"culvert_reconnects", METRICS_COUNTER, "",
     "TCP: connections after the first one, made or accepted when the previous one was lost.",
     fam_reconnects},
    {"culvert_events", METRICS_COUNTER, "",
     "Every other counter of culvertctl show, by name: connections, keepalives, offloads and, "
     "when sealed, cookies and every rejection reason.",
     fam_events},
    {"culvert_peer", METRICS_INFO, "",
     "A peer of the tunnel, labelled by its public key (sealed), else its name, else its "
     "endpoint: its name and current underlay endpoint when it has them, and its transport.",
     fam_peer_info},
    {"culvert_peer_state", METRICS_STATESET, "",
     "The state of the tunnel towards this peer: 1 for the current one.", fam_peer_state},
    {"culvert_peer_latest_handshake_timestamp_seconds", METRICS_GAUGE, "seconds",
     "Sealed tunnels: when the latest handshake with this peer completed, in seconds since the "
     "Unix epoch; 0 when none has.",
     fam_peer_handshake_time},
    {"culvert_peer_receive_bytes", METRICS_COUNTER, "bytes",
     "Bytes received from this peer and written to the device.", fam_peer_rx_bytes},
    {"culvert_peer_transmit_bytes", METRICS_COUNTER, "bytes",
     "Bytes read from the device and sent to this peer.", fam_peer_tx_bytes},
    {"culvert_peer_receive_packets", METRICS_COUNTER, "",
     "Packets received from this peer and written to the device.", fam_peer_rx_packets},
    {"culvert_peer_transmit_packets", METRICS_COUNTER, "",
     "Packets read from the device and sent to this peer.", fam_peer_tx_packets},
    {"culvert_peer_keepalive_interval_seconds", METRICS_GAUGE, "seconds",
     "The keepalive interval towards this peer, in seconds; 0 when off.", fam_peer_keepalive},
    {"culvert_peer_addresses", METRICS_GAUGE, "",
     "TUN: allowed IPs of this peer; TAP: MAC addresses learned behind it.", fam_peer_addresses},
    {"culvert_peer_drops", METRICS_COUNTER, "",
     "Packets, frames or datagrams of this peer dropped, by reason.", fam_peer_drops},
    {"culvert_peer_events", METRICS_COUNTER, "",
     "Every counter culvertctl show lists under this peer, by name.", fam_peer_events},
};

/* The sample name of @fam: the family name plus the suffix its type
 * gives the samples. */
static void metrics_sample_name(char *buf, size_t size, const struct metrics_family *fam)
{
	snprintf(buf, size, "%s%s", fam->name,
		 fam->type == METRICS_COUNTER ? "_total"
		 : fam->type == METRICS_INFO  ? "_info"
					      : "");
}

/* Does tunnel @i repeat the device and namespace of an earlier one?  Its
 * samples would repeat label sets, which makes the whole exposition
 * invalid (a status socket that lies could do it): it is left out. */
static bool metrics_duplicate(const struct status *sts, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(sts[i].device, sts[j].device) && !strcmp(sts[i].netns, sts[j].netns))
			return true;
	return false;
}

/* Writes family @fam (header and samples) for the @n tunnels, or nothing
 * when none of them has a sample of it. */
static void metrics_family_write(FILE *f, const struct metrics_family *fam,
				 const struct status *sts, size_t n, int64_t now,
				 enum metrics_format format)
{
	static const char *const om_types[] = {"gauge", "counter", "stateset", "info"};
	char sample[128];
	struct metrics_out o = {.f = NULL, .name = sample};
	size_t i;

	metrics_sample_name(sample, sizeof(sample), fam);
	for (i = 0; i < n; i++) {
		if (metrics_duplicate(sts, i))
			continue;
		o.st = &sts[i];
		fam->samples(&o, &sts[i], now);
	}
	if (!o.count)
		return;
	if (format == METRICS_OPENMETRICS) {
		fprintf(f, "# TYPE %s %s\n", fam->name, om_types[fam->type]);
		if (fam->unit[0])
			fprintf(f, "# UNIT %s %s\n", fam->name, fam->unit);
		fprintf(f, "# HELP %s %s\n", fam->name, fam->help);
	} else {
		fprintf(f, "# HELP %s %s\n", sample, fam->help);
		fprintf(f, "# TYPE %s %s\n", sample,
			fam->type == METRICS_COUNTER ? "counter" : "gauge");
	}
	o.f = f;
	for (i = 0; i < n; i++) {
		if (metrics_duplicate(sts, i))
			continue;
		o.st = &sts[i];
		fam->samples(&o, &sts[i], now);
	}
}

int metrics_write(FILE *f, const struct status *sts, size_t n, int64_t now,
		  enum metrics_format format)
{
	size_t i;

	if (format != METRICS_PROMETHEUS && format != METRICS_OPENMETRICS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (status_check(&sts[i], NULL, 0))
			return -EINVAL;
	for (i = 0; i < sizeof(metrics_families) / sizeof(metrics_families[0]); i++)
		metrics_family_write(f, &metrics_families[i], sts, n, now, format);
	if (format == METRICS_OPENMETRICS)
		fputs("# EOF\n", f);
	return ferror(f) ? -EIO : 0;
}

int metrics_render(const struct status *sts, size_t n, int64_t now, enum metrics_format format,
		   char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int ret;

	*out = NULL;
	*len = 0;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	ret = metrics_write(f, sts, n, now, format);
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (ret) {
		free(buf);
		return ret == -EIO ? -ENOMEM : ret;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* Is the media range @s (@len bytes, up to its ',') application/openmetrics-text
 * with a q-value above 0? */
static bool metrics_accepts_om(const char *s, size_t len)
{
	static const char om[] = "application/openmetrics-text";
	const char *p, *end = s + len;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if ((size_t)(end - s) < sizeof(om) - 1 || strncasecmp(s, om, sizeof(om) - 1))
		return false;
	p = s + sizeof(om) - 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p != ';')
		return false; /* a longer type name */
	/* Parameters: only q matters; "q=0", "q=0.0" and the like refuse. */
	while (p < end) {
		const char *semi = memchr(p + 1, ';', (size_t)(end - p - 1));
		const char *param = p + 1, *pend = semi ? semi : end;

		while (param < pend && (*param == ' ' || *param == '\t'))
			param++;
		if (pend - param >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
			bool zero = true;

			for (param += 2; param < pend && *param != ' ' && *param != '\t'; param++)
				if (*param != '0' && *param != '.')
					zero = false;
			if (zero)
				return false;
		}
		p = pend;
	}
	return true;
}

enum metrics_format metrics_negotiate(const char *accept)
{
	const char *p = accept;

	if (!accept)
		return METRICS_PROMETHEUS;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (metrics_accepts_om(p, len))
			return METRICS_OPENMETRICS;
		if (!comma)
			return METRICS_PROMETHEUS;
		p = comma + 1;
	}
}
