/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "metrics.h"
#include "metrics_check.h"
#include "status.h"

/* 2026-12-01 06:00:00 UTC. */
#define NOW 1796104800

/* Appends a peer to @st and returns it. */
static struct status_peer *add_peer(struct status *st)
{
	struct status_peer *p;

	ck_assert_int_eq(status_add_peer(st, &p), 0);
	return p;
}

/* Two peers of a sealed hub: a named one that is up, and one that has
 * never been heard from (no name, no endpoint): both labelled by key. */
static void add_sealed_peers(struct status *st)
{
	struct status_peer *p = add_peer(st);

	strcpy(p->name, "branch-1");
	strcpy(p->public_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
	strcpy(p->endpoint, "198.18.0.2:47758");
	strcpy(p->transport, STATUS_TRANSPORT_UDP);
	strcpy(p->state, STATUS_STATE_ESTABLISHED);
	ck_assert_int_eq(status_peer_add_address(p, "198.18.1.0/24"), 0);
	ck_assert_int_eq(status_peer_add_address(p, "2001:db8:1::/48"), 0);
	p->addresses_more = 1;
	p->latest_handshake = 12;
	p->keepalive = 25;
	p->rx_bytes = 1268000;
	p->rx_packets = 1230;
	p->tx_bytes = 3650722000ULL;
	p->tx_packets = 5670;
	ck_assert_int_eq(status_peer_add_drop(p, "backpressure", 3), 0);
	ck_assert_int_eq(status_peer_add_counter(p, "handshakes", 5), 0);
	p = add_peer(st);
	strcpy(p->public_key, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=");
	strcpy(p->transport, STATUS_TRANSPORT_UDP);
	strcpy(p->state, STATUS_STATE_HANDSHAKING);
}

/* A sealed UDP listener with two peers, in a named namespace; the caller
 * releases it with status_cleanup(). */
static void sample_sealed(struct status *st)
{
	status_init(st);
	strcpy(st->device, "tun0");
	strcpy(st->netns, "blue");
	strcpy(st->mode, STATUS_MODE_TUN);
	strcpy(st->transport, STATUS_TRANSPORT_UDP);
	st->sealed = true;
	st->listen = true;
	strcpy(st->public_key, "j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=");
	strcpy(st->local, "[::]:55555");
	strcpy(st->state, STATUS_STATE_ESTABLISHED);
	st->pid = 4242;
	st->uptime = 3723;
	st->latest_handshake = 12;
	st->rx_bytes = 1268776;
	st->rx_packets = 1234;
	st->tx_bytes = 3650722202ULL;
	st->tx_packets = 5678;
	ck_assert_int_eq(status_add_drop(st, "bad_frame", 0), 0);
	ck_assert_int_eq(status_add_drop(st, "no_session", 17), 0);
	ck_assert_int_eq(status_add_counter(st, "connections", 3), 0);
	ck_assert_int_eq(status_add_counter(st, "reconnects", 2), 0);
	ck_assert_int_eq(status_add_counter(st, "handshakes", 5), 0);
	ck_assert_int_eq(status_add_counter(st, "rekeys", 4), 0);
	ck_assert_int_eq(status_add_counter(st, "bad_tag", UINT64_MAX - 1), 0);
	add_sealed_peers(st);
}

/* A plain TCP client that has not connected yet: its peer is known by
 * its endpoint. */
static void sample_plain(struct status *st)
{
	struct status_peer *p;

	status_init(st);
	strcpy(st->device, "tap7");
	strcpy(st->mode, STATUS_MODE_TAP);
	strcpy(st->transport, STATUS_TRANSPORT_TCP);
	strcpy(st->local, "0.0.0.0:0");
	strcpy(st->state, STATUS_STATE_CONNECTING);
	st->pid = 1;
	st->uptime = 1;
	st->rx_bytes = 1024;
	st->tx_bytes = 1023;
	ck_assert_int_eq(status_add_drop(st, "no_peer", 1), 0);
	ck_assert_int_eq(status_add_counter(st, "reconnects", 0), 0);
	p = add_peer(st);
	strcpy(p->endpoint, "198.18.0.9:55555");
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
}

/* Renders @n statuses in @format; fails the test on error. */
static char *render(const struct status *sts, size_t n, enum metrics_format format)
{
	char *out;
	size_t len;

	ck_assert_int_eq(metrics_render(sts, n, NOW, format, &out, &len), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

/* The checker accepts @text as @format; returns its sample count. */
static long check_ok(const char *text, enum metrics_format format)
{
	char err[256] = "";
	long n = metrics_check(text, strlen(text), format == METRICS_OPENMETRICS, err, sizeof(err),
			       NULL, NULL);

	ck_assert_msg(n >= 0, "%s\n%s", err, text);
	return n;
}

static const char golden_om[] =
    "# TYPE culvert_tunnel info\n"
    "# HELP culvert_tunnel A running tunnel: its mode (tun or tap), transport (tcp, udp, or "
    "udp,tcp for both), whether it is sealed, its role (listen or connect) and, when sealed, its "
    "own public key.\n"
    "culvert_tunnel_info{device=\"tun0\",netns=\"blue\",mode=\"tun\",transport=\"udp\",sealed="
    "\"true\",role=\"listen\",public_key=\"j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=\"} 1\n"
    "culvert_tunnel_info{device=\"tap7\",mode=\"tap\",transport=\"tcp\",sealed=\"false\",role="
    "\"connect\"} 1\n"
    "# TYPE culvert_start_time_seconds gauge\n"
    "# UNIT culvert_start_time_seconds seconds\n"
    "# HELP culvert_start_time_seconds When culvertd started serving the tunnel, in seconds since "
    "the Unix epoch.\n"
    "culvert_start_time_seconds{device=\"tun0\",netns=\"blue\"} 1796101077\n"
    "culvert_start_time_seconds{device=\"tap7\"} 1796104799\n"
    "# TYPE culvert_session_state stateset\n"
    "# HELP culvert_session_state The state of the tunnel towards its peer (culvertctl show's "
    "state): 1 for the current one.\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"listening\"} 0\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"connecting\"} 0\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"connected\"} 0\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"handshaking\"} "
    "0\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"established\"} "
    "1\n"
    "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state=\"no-peer\"} 0\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"listening\"} 0\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"connecting\"} 1\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"connected\"} 0\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"handshaking\"} 0\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"established\"} 0\n"
    "culvert_session_state{device=\"tap7\",culvert_session_state=\"no-peer\"} 0\n"
    "# TYPE culvert_latest_handshake_timestamp_seconds gauge\n"
    "# UNIT culvert_latest_handshake_timestamp_seconds seconds\n"
    "# HELP culvert_latest_handshake_timestamp_seconds Sealed tunnels: when the latest handshake "
    "completed, in seconds since the Unix epoch; 0 when none has.\n"
    "culvert_latest_handshake_timestamp_seconds{device=\"tun0\",netns=\"blue\"} 1796104788\n"
    "# TYPE culvert_receive_bytes counter\n"
    "# UNIT culvert_receive_bytes bytes\n"
    "# HELP culvert_receive_bytes Bytes received from the peer and written to the device (inner "
    "packets, without framing).\n"
    "culvert_receive_bytes_total{device=\"tun0\",netns=\"blue\"} 1268776\n"
    "culvert_receive_bytes_total{device=\"tap7\"} 1024\n"
    "# TYPE culvert_transmit_bytes counter\n"
    "# UNIT culvert_transmit_bytes bytes\n"
    "# HELP culvert_transmit_bytes Bytes read from the device and sent to the peer (inner packets, "
    "without framing).\n"
    "culvert_transmit_bytes_total{device=\"tun0\",netns=\"blue\"} 3650722202\n"
    "culvert_transmit_bytes_total{device=\"tap7\"} 1023\n"
    "# TYPE culvert_receive_packets counter\n"
    "# HELP culvert_receive_packets Packets received from the peer and written to the device.\n"
    "culvert_receive_packets_total{device=\"tun0\",netns=\"blue\"} 1234\n"
    "culvert_receive_packets_total{device=\"tap7\"} 0\n"
    "# TYPE culvert_transmit_packets counter\n"
    "# HELP culvert_transmit_packets Packets read from the device and sent to the peer.\n"
    "culvert_transmit_packets_total{device=\"tun0\",netns=\"blue\"} 5678\n"
    "culvert_transmit_packets_total{device=\"tap7\"} 0\n"
    "# TYPE culvert_drops counter\n"
    "# HELP culvert_drops Packets, frames or datagrams dropped, by reason (culvertctl show's "
    "drops).\n"
    "culvert_drops_total{device=\"tun0\",netns=\"blue\",reason=\"bad_frame\"} 0\n"
    "culvert_drops_total{device=\"tun0\",netns=\"blue\",reason=\"no_session\"} 17\n"
    "culvert_drops_total{device=\"tap7\",reason=\"no_peer\"} 1\n"
    "# TYPE culvert_handshakes counter\n"
    "# HELP culvert_handshakes Sealed tunnels: handshakes completed (the first and every rekey).\n"
    "culvert_handshakes_total{device=\"tun0\",netns=\"blue\"} 5\n"
    "# TYPE culvert_rekeys counter\n"
    "# HELP culvert_rekeys Sealed tunnels: handshakes that replaced an established session.\n"
    "culvert_rekeys_total{device=\"tun0\",netns=\"blue\"} 4\n"
    "# TYPE culvert_reconnects counter\n"
    "# HELP culvert_reconnects TCP: connections after the first one, made or accepted when the "
    "previous one was lost.\n"
    "culvert_reconnects_total{device=\"tun0\",netns=\"blue\"} 2\n"
    "culvert_reconnects_total{device=\"tap7\"} 0\n"
    "# TYPE culvert_events counter\n"
    "# HELP culvert_events Every other counter of culvertctl show, by name: connections, "
    "keepalives, offloads and, when sealed, cookies and every rejection reason.\n"
    "culvert_events_total{device=\"tun0\",netns=\"blue\",event=\"connections\"} 3\n"
    "culvert_events_total{device=\"tun0\",netns=\"blue\",event=\"bad_tag\"} 18446744073709551614\n"
    "# TYPE culvert_peer info\n"
    "# HELP culvert_peer A peer of the tunnel, labelled by its public key (sealed), else its name, "
    "else its endpoint: its name and current underlay endpoint when it has them, and its "
    "transport.\n"
    "culvert_peer_info{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",name=\"branch-1\",endpoint=\"198.18.0.2:"
    "47758\",transport=\"udp\"} 1\n"
    "culvert_peer_info{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",transport=\"udp\"} 1\n"
    "culvert_peer_info{device=\"tap7\",peer=\"198.18.0.9:55555\",endpoint=\"198.18.0.9:55555\","
    "transport=\"tcp\"} 1\n"
    "# TYPE culvert_peer_state stateset\n"
    "# HELP culvert_peer_state The state of the tunnel towards this peer: 1 for the current one.\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"listening\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"connecting\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"connected\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"handshaking\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"established\"} 1\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",culvert_peer_state=\"no-peer\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"listening\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"connecting\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"connected\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"handshaking\"} 1\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"established\"} 0\n"
    "culvert_peer_state{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\",culvert_peer_state=\"no-peer\"} 0\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state=\"listening\"}"
    " 0\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state="
    "\"connecting\"} 1\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state=\"connected\"}"
    " 0\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state="
    "\"handshaking\"} 0\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state="
    "\"established\"} 0\n"
    "culvert_peer_state{device=\"tap7\",peer=\"198.18.0.9:55555\",culvert_peer_state=\"no-peer\"} "
    "0\n"
    "# TYPE culvert_peer_latest_handshake_timestamp_seconds gauge\n"
    "# UNIT culvert_peer_latest_handshake_timestamp_seconds seconds\n"
    "# HELP culvert_peer_latest_handshake_timestamp_seconds Sealed tunnels: when the latest "
    "handshake with this peer completed, in seconds since the Unix epoch; 0 when none has.\n"
    "culvert_peer_latest_handshake_timestamp_seconds{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 1796104788\n"
    "culvert_peer_latest_handshake_timestamp_seconds{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "# TYPE culvert_peer_receive_bytes counter\n"
    "# UNIT culvert_peer_receive_bytes bytes\n"
    "# HELP culvert_peer_receive_bytes Bytes received from this peer and written to the device.\n"
    "culvert_peer_receive_bytes_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 1268000\n"
    "culvert_peer_receive_bytes_total{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "culvert_peer_receive_bytes_total{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_transmit_bytes counter\n"
    "# UNIT culvert_peer_transmit_bytes bytes\n"
    "# HELP culvert_peer_transmit_bytes Bytes read from the device and sent to this peer.\n"
    "culvert_peer_transmit_bytes_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 3650722000\n"
    "culvert_peer_transmit_bytes_total{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "culvert_peer_transmit_bytes_total{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_receive_packets counter\n"
    "# HELP culvert_peer_receive_packets Packets received from this peer and written to the "
    "device.\n"
    "culvert_peer_receive_packets_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 1230\n"
    "culvert_peer_receive_packets_total{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "culvert_peer_receive_packets_total{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_transmit_packets counter\n"
    "# HELP culvert_peer_transmit_packets Packets read from the device and sent to this peer.\n"
    "culvert_peer_transmit_packets_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 5670\n"
    "culvert_peer_transmit_packets_total{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "culvert_peer_transmit_packets_total{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_keepalive_interval_seconds gauge\n"
    "# UNIT culvert_peer_keepalive_interval_seconds seconds\n"
    "# HELP culvert_peer_keepalive_interval_seconds The keepalive interval towards this peer, in "
    "seconds; 0 when off.\n"
    "culvert_peer_keepalive_interval_seconds{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 25\n"
    "culvert_peer_keepalive_interval_seconds{device=\"tun0\",netns=\"blue\",peer="
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"} 0\n"
    "culvert_peer_keepalive_interval_seconds{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_addresses gauge\n"
    "# HELP culvert_peer_addresses TUN: allowed IPs of this peer; TAP: MAC addresses learned "
    "behind it.\n"
    "culvert_peer_addresses{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 3\n"
    "culvert_peer_addresses{device=\"tun0\",netns=\"blue\",peer=\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+"
    "y71lOWWXX0=\"} 0\n"
    "culvert_peer_addresses{device=\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"
    "# TYPE culvert_peer_drops counter\n"
    "# HELP culvert_peer_drops Packets, frames or datagrams of this peer dropped, by reason.\n"
    "culvert_peer_drops_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",reason=\"backpressure\"} 3\n"
    "# TYPE culvert_peer_events counter\n"
    "# HELP culvert_peer_events Every counter culvertctl show lists under this peer, by name.\n"
    "culvert_peer_events_total{device=\"tun0\",netns=\"blue\",peer="
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\",event=\"handshakes\"} 5\n"
    "# EOF\n";

/* The whole OpenMetrics exposition of two tunnels, byte for byte. */
START_TEST(test_golden_openmetrics)
{
	struct status sts[2];
	char *out;

	sample_sealed(&sts[0]);
	sample_plain(&sts[1]);
	out = render(sts, 2, METRICS_OPENMETRICS);
	ck_assert_str_eq(out, golden_om);
	ck_assert_int_eq(check_ok(out, METRICS_OPENMETRICS), 77);
	free(out);
	status_cleanup(&sts[0]);
	status_cleanup(&sts[1]);
}
END_TEST

/* The 0.0.4 text is the same samples with Prometheus's metadata: TYPE and
 * HELP named as the samples, gauges for statesets and infos, no UNIT, no
 * EOF.  Derived from the golden OpenMetrics text line by line. */
START_TEST(test_golden_prometheus)
{
	static const struct {
		const char *family, *sample, *type;
	} map[] = {
	    {"culvert_tunnel", "culvert_tunnel_info", "gauge"},
	    {"culvert_start_time_seconds", "culvert_start_time_seconds", "gauge"},
	    {"culvert_session_state", "culvert_session_state", "gauge"},
	    {"culvert_latest_handshake_timestamp_seconds",
	     "culvert_latest_handshake_timestamp_seconds", "gauge"},
	    {"culvert_receive_bytes", "culvert_receive_bytes_total", "counter"},
	    {"culvert_transmit_bytes", "culvert_transmit_bytes_total", "counter"},
	    {"culvert_receive_packets", "culvert_receive_packets_total", "counter"},
	    {"culvert_transmit_packets", "culvert_transmit_packets_total", "counter"},
	    {"culvert_drops", "culvert_drops_total", "counter"},
	    {"culvert_handshakes", "culvert_handshakes_total", "counter"},
	    {"culvert_rekeys", "culvert_rekeys_total", "counter"},
	    {"culvert_reconnects", "culvert_reconnects_total", "counter"},
	    {"culvert_events", "culvert_events_total", "counter"},
	    {"culvert_peer", "culvert_peer_info", "gauge"},
	    {"culvert_peer_state", "culvert_peer_state", "gauge"},
	    {"culvert_peer_latest_handshake_timestamp_seconds",
	     "culvert_peer_latest_handshake_timestamp_seconds", "gauge"},
	    {"culvert_peer_receive_bytes", "culvert_peer_receive_bytes_total", "counter"},
	    {"culvert_peer_transmit_bytes", "culvert_peer_transmit_bytes_total", "counter"},
	    {"culvert_peer_receive_packets", "culvert_peer_receive_packets_total", "counter"},
	    {"culvert_peer_transmit_packets", "culvert_peer_transmit_packets_total", "counter"},
	    {"culvert_peer_keepalive_interval_seconds", "culvert_peer_keepalive_interval_seconds",
	     "gauge"},
	    {"culvert_peer_addresses", "culvert_peer_addresses", "gauge"},
	    {"culvert_peer_drops", "culvert_peer_drops_total", "counter"},
	    {"culvert_peer_events", "culvert_peer_events_total", "counter"},
	};
	struct status sts[2];
	char *out, *want, *dup, *line, *save = NULL;
	size_t wlen = 0, i, cap = sizeof(golden_om) * 2;

	sample_sealed(&sts[0]);
	sample_plain(&sts[1]);
	want = calloc(1, cap);
	dup = strdup(golden_om);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(dup);
	for (line = strtok_r(dup, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# UNIT ", 7) || !strcmp(line, "# EOF"))
			continue;
		if (!strncmp(line, "# TYPE ", 7))
			continue; /* written after HELP */
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", name);
			for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
				if (!strcmp(map[i].family, name))
					break;
			ck_assert_uint_lt(i, sizeof(map) / sizeof(map[0]));
			wlen += (size_t)snprintf(
			    want + wlen, cap - wlen, "# HELP %s %s\n# TYPE %s %s\n", map[i].sample,
			    line + 8 + strlen(name), map[i].sample, map[i].type);
			continue;
		}
		wlen += (size_t)snprintf(want + wlen, cap - wlen, "%s\n", line);
	}
	out = render(sts, 2, METRICS_PROMETHEUS);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(check_ok(out, METRICS_PROMETHEUS), 77);
	free(out);
	free(want);
	free(dup);
	status_cleanup(&sts[0]);
	status_cleanup(&sts[1]);
}
END_TEST

/* Collects the values of label @arg->name. */
struct found {
	const char *name;
	char values[8][512];
	size_t n;
};

static void collect(const char *name, const char *value, void *arg)
{
	struct found *f = arg;
	size_t i;

	if (strcmp(name, f->name))
		return;
	for (i = 0; i < f->n; i++)
		if (!strcmp(f->values[i], value))
			return;
	ck_assert_uint_lt(f->n, 8);
	snprintf(f->values[f->n++], sizeof(f->values[0]), "%s", value);
}

/* Quotes, backslashes and UTF-8 in label values are escaped so that a
 * parser gets back exactly the original. */
START_TEST(test_escaping)
{
	const enum metrics_format formats[] = {METRICS_PROMETHEUS, METRICS_OPENMETRICS};
	struct status st;
	size_t i;

	sample_sealed(&st);
	strcpy(st.device, "a\"b\\c");
	strcpy(st.netns, "n\\\"s\xc3\xa9");
	strcpy(st.peers[0].endpoint, "\\\\\"\"");
	ck_assert_int_eq(status_check(&st, NULL, 0), 0);
	for (i = 0; i < 2; i++) {
		struct found dev = {.name = "device"}, ns = {.name = "netns"},
			     peer = {.name = "endpoint"};
		char err[256] = "", *out = render(&st, 1, formats[i]);
		long n;

		ck_assert_ptr_nonnull(
		    strstr(out, "device=\"a\\\"b\\\\c\",netns=\"n\\\\\\\"s\xc3\xa9\""));
		n = metrics_check(out, strlen(out), formats[i] == METRICS_OPENMETRICS, err,
				  sizeof(err), collect, &dev);
		ck_assert_msg(n > 0, "%s", err);
		metrics_check(out, strlen(out), formats[i] == METRICS_OPENMETRICS, err, sizeof(err),
			      collect, &ns);
		metrics_check(out, strlen(out), formats[i] == METRICS_OPENMETRICS, err, sizeof(err),
			      collect, &peer);
		ck_assert_uint_eq(dev.n, 1);
		ck_assert_str_eq(dev.values[0], st.device);
		ck_assert_uint_eq(ns.n, 1);
		ck_assert_str_eq(ns.values[0], st.netns);
		ck_assert_uint_eq(peer.n, 1);
		ck_assert_str_eq(peer.values[0], st.peers[0].endpoint);
		free(out);
	}
	status_cleanup(&st);
}
END_TEST

/* Every family line of both formats: HELP and TYPE for each, counters'
 * samples end in _total, # EOF last in OpenMetrics only. */
START_TEST(test_structure)
{
	struct status sts[2];
	char *om, *txt;

	sample_sealed(&sts[0]);
	sample_plain(&sts[1]);
	om = render(sts, 2, METRICS_OPENMETRICS);
	txt = render(sts, 2, METRICS_PROMETHEUS);
	ck_assert_uint_ge(strlen(om), 6);
	ck_assert_str_eq(om + strlen(om) - 6, "# EOF\n");
	ck_assert_ptr_eq(strstr(om, "# EOF"), om + strlen(om) - 6);
	ck_assert_ptr_null(strstr(txt, "# EOF"));
	ck_assert_ptr_null(strstr(txt, "# UNIT"));
	ck_assert_ptr_nonnull(strstr(txt, "# TYPE culvert_receive_bytes_total counter\n"));
	ck_assert_ptr_nonnull(strstr(om, "# TYPE culvert_receive_bytes counter\n"));
	ck_assert_ptr_nonnull(strstr(om, "# UNIT culvert_receive_bytes bytes\n"));
	/* Nothing of a private key: the document has none; the public key is
	 * the only key. */
	ck_assert_ptr_null(strstr(om, "private"));
	/* The checker itself refuses what the rules refuse. */
	{
		char err[128];

		ck_assert_int_lt(
		    metrics_check("# TYPE a_total counter\n# HELP a_total x\na_total 1\n", 45, true,
				  err, sizeof(err), NULL, NULL),
		    0);
		ck_assert_int_lt(metrics_check("# TYPE a counter\n# HELP a x\na_total 1\n", 37,
					       false, err, sizeof(err), NULL, NULL),
				 0);
		ck_assert_int_lt(metrics_check("# TYPE a gauge\n# HELP a x\na 1\n# EOF\na 2\n", 40,
					       true, err, sizeof(err), NULL, NULL),
				 0);
		ck_assert_int_lt(
		    metrics_check("# TYPE a gauge\na 1\n", 19, false, err, sizeof(err), NULL, NULL),
		    0);
		ck_assert_int_lt(metrics_check("# TYPE a gauge\n# HELP a x\na{l=\"\\t\"} 1\n", 40,
					       false, err, sizeof(err), NULL, NULL),
				 0);
	}
	free(om);
	free(txt);
	status_cleanup(&sts[0]);
	status_cleanup(&sts[1]);
}
END_TEST

/* Unknown states (a newer daemon) are shown; a never-handshaken sealed
 * tunnel reports 0; plain tunnels have no handshake families. */
START_TEST(test_values)
{
	struct status st;
	char *out;

	sample_sealed(&st);
	strcpy(st.state, "rekeying-soon");
	st.latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
	out = render(&st, 1, METRICS_OPENMETRICS);
	check_ok(out, METRICS_OPENMETRICS);
	ck_assert_ptr_nonnull(strstr(
	    out, "culvert_session_state{device=\"tun0\",netns=\"blue\",culvert_session_state="
		 "\"rekeying-soon\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    out, "culvert_latest_handshake_timestamp_seconds{device=\"tun0\",netns=\"blue\"} 0\n"));
	free(out);
	status_cleanup(&st);

	sample_plain(&st);
	st.uptime = (uint64_t)NOW + 5; /* a clock set back: never negative */
	out = render(&st, 1, METRICS_PROMETHEUS);
	check_ok(out, METRICS_PROMETHEUS);
	ck_assert_ptr_null(strstr(out, "handshake"));
	ck_assert_ptr_null(strstr(out, "rekeys"));
	ck_assert_ptr_nonnull(strstr(out, "culvert_start_time_seconds{device=\"tap7\"} 0\n"));
	free(out);
	/* No peer: no per-peer family at all. */
	st.n_peers = 0;
	out = render(&st, 1, METRICS_PROMETHEUS);
	check_ok(out, METRICS_PROMETHEUS);
	ck_assert_ptr_null(strstr(out, "culvert_peer"));
	free(out);
	status_cleanup(&st);
}
END_TEST

/* A second status with the same device and netns (a lying status socket)
 * is left out: its series would repeat the first one's label sets. */
START_TEST(test_duplicate)
{
	struct status sts[3];
	char *one, *three;

	sample_sealed(&sts[0]);
	sample_plain(&sts[1]);
	sample_sealed(&sts[2]);
	sts[2].rx_bytes = 1;
	strcpy(sts[2].mode, STATUS_MODE_TAP);
	sts[2].peers[0].n_addresses = 0; /* allowed IPs are no MACs */
	one = render(sts, 2, METRICS_OPENMETRICS);
	three = render(sts, 3, METRICS_OPENMETRICS);
	ck_assert_str_eq(three, one);
	check_ok(three, METRICS_OPENMETRICS);
	free(one);
	free(three);
	for (size_t i = 0; i < 3; i++)
		status_cleanup(&sts[i]);
}
END_TEST

/* No tunnel: an empty exposition; a bad status or format: -EINVAL and
 * nothing written. */
START_TEST(test_empty_and_errors)
{
	struct status st;
	char *out;
	size_t len;

	out = render(NULL, 0, METRICS_OPENMETRICS);
	ck_assert_str_eq(out, "# EOF\n");
	free(out);
	out = render(NULL, 0, METRICS_PROMETHEUS);
	ck_assert_str_eq(out, "");
	free(out);
	sample_plain(&st);
	strcpy(st.mode, "tan");
	ck_assert_int_eq(metrics_render(&st, 1, NOW, METRICS_OPENMETRICS, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
	strcpy(st.mode, STATUS_MODE_TAP);
	strcpy(st.peers[0].transport, "sctp"); /* a bad peer is a bad status */
	ck_assert_int_eq(metrics_render(&st, 1, NOW, METRICS_OPENMETRICS, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
	status_cleanup(&st);
	sample_plain(&st);
	ck_assert_int_eq(metrics_render(&st, 1, NOW, (enum metrics_format)7, &out, &len), -EINVAL);
	ck_assert_ptr_null(out);
	status_cleanup(&st);
}

/* The peer label: the public key of a sealed peer; a plain peer's name,
 * else its endpoint; a label a peer of the same tunnel already has is
 * left out (its series would repeat); escaped as every label. */
START_TEST(test_peer_labels)
{
	struct status st;
	struct status_peer *p;
	char *out;
	long n;

	sample_plain(&st);
	p = add_peer(&st);
	strcpy(p->name, "le\"ft\\");
	strcpy(p->endpoint, "198.18.0.9:55555"); /* the first peer's endpoint */
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTED);
	p->rx_bytes = 7;
	p = add_peer(&st);
	strcpy(p->endpoint, "198.18.0.9:55555"); /* the same label as the first */
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTED);
	p->rx_bytes = 99;
	p = add_peer(&st); /* nothing to name it by: peer="" */
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
	p->rx_bytes = 5;
	p = add_peer(&st); /* a second one: left out */
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
	p->rx_bytes = 6;
	ck_assert_int_eq(status_check(&st, NULL, 0), 0);
	for (int om = 0; om < 2; om++) {
		struct found peer = {.name = "peer"};
		char err[256];

		out = render(&st, 1, om ? METRICS_OPENMETRICS : METRICS_PROMETHEUS);
		n = check_ok(out, om ? METRICS_OPENMETRICS : METRICS_PROMETHEUS);
		ck_assert_int_gt(n, 0);
		ck_assert_ptr_nonnull(strstr(out, "culvert_peer_receive_bytes_total{device="
						  "\"tap7\",peer=\"198.18.0.9:55555\"} 0\n"));
		ck_assert_ptr_nonnull(strstr(
		    out,
		    "culvert_peer_receive_bytes_total{device=\"tap7\",peer=\"le\\\"ft\\\\\"} 7\n"));
		ck_assert_ptr_nonnull(
		    strstr(out, "culvert_peer_receive_bytes_total{device=\"tap7\",peer=\"\"} 5\n"));
		ck_assert_ptr_null(strstr(out, "} 99\n"));
		ck_assert_ptr_null(strstr(out, "} 6\n"));
		ck_assert_int_eq(
		    metrics_check(out, strlen(out), om, err, sizeof(err), collect, &peer), n);
		ck_assert_uint_eq(peer.n, 3);
		ck_assert_str_eq(peer.values[0], "198.18.0.9:55555");
		ck_assert_str_eq(peer.values[1], "le\"ft\\");
		ck_assert_str_eq(peer.values[2], "");
		free(out);
	}
	status_cleanup(&st);

	/* Sealed: the key, even when the peer has a name. */
	sample_sealed(&st);
	out = render(&st, 1, METRICS_PROMETHEUS);
	ck_assert_ptr_nonnull(strstr(out, "peer=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\","
					  "name=\"branch-1\""));
	ck_assert_ptr_null(strstr(out, "peer=\"branch-1\""));
	free(out);
	status_cleanup(&st);
}
END_TEST

/* Content negotiation: Prometheus's own Accept header picks OpenMetrics;
 * q=0, look-alike types and no header pick the 0.0.4 text. */
START_TEST(test_negotiate)
{
	ck_assert_int_eq(metrics_negotiate(NULL), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate(""), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate("*/*"), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate("text/plain;version=0.0.4"), METRICS_PROMETHEUS);
	/* Prometheus 2.42's scrape Accept header. */
	ck_assert_int_eq(metrics_negotiate("application/openmetrics-text;version=1.0.0,application/"
					   "openmetrics-text;version=0.0.1;q=0.75,text/"
					   "plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			 METRICS_OPENMETRICS);
	ck_assert_int_eq(metrics_negotiate("text/plain, Application/OpenMetrics-Text ; q=0.5"),
			 METRICS_OPENMETRICS);
	ck_assert_int_eq(metrics_negotiate("application/openmetrics-text; q=0"),
			 METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate("application/openmetrics-text;version=1.0.0;q=0.000"),
			 METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate("application/openmetrics-textual"), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate("application/openmetrics"), METRICS_PROMETHEUS);
	ck_assert_int_eq(metrics_negotiate(",,;application/openmetrics-text"), METRICS_PROMETHEUS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, test_golden_openmetrics);
	tcase_add_test(tc, test_golden_prometheus);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_empty_and_errors);
	tcase_add_test(tc, test_negotiate);
	tcase_add_test(tc, test_peer_labels);
	suite_add_tcase(s, tc);
	return check_run(s);
}
