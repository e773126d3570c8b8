/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "status.h"
#include "check_run.h"

/* A sealed UDP listener with a peer, as in the README's example. */
static void sample(struct status *st)
{
	status_init(st);
	strcpy(st->device, "tun0");
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
	st->rx_bytes = 1268776; /* 1.21 MiB */
	st->rx_packets = 1234;
	st->tx_bytes = 3650722202ULL; /* 3.40 GiB */
	st->tx_packets = 5678;
	ck_assert_int_eq(status_add_drop(st, "bad_frame", 0), 0);
	ck_assert_int_eq(status_add_drop(st, "dev_write", 1), 0);
	ck_assert_int_eq(status_add_drop(st, "no_peer", 17), 0);
	ck_assert_int_eq(status_add_counter(st, "reconnects", 2), 0);
	ck_assert_int_eq(status_add_counter(st, "connections", 3), 0);
	ck_assert_int_eq(status_add_counter(st, "handshakes", 5), 0);
	ck_assert_int_eq(status_add_counter(st, "bad_tag", UINT64_MAX - 1), 0);
}

/* Appends a peer to @st and returns it. */
static struct status_peer *add_peer(struct status *st)
{
	struct status_peer *p;

	ck_assert_int_eq(status_add_peer(st, &p), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

/*
 * The sample hub with three peers: one named and established, one that
 * has more allowed IPs than are listed, one never heard from.  The caller
 * releases it with status_cleanup().
 */
static void sample_peers(struct status *st)
{
	struct status_peer *p;
	char addr[STATUS_ADDRESS_SIZE];
	int i;

	sample(st);
	p = add_peer(st);
	strcpy(p->name, "branch-1");
	strcpy(p->public_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
	strcpy(p->endpoint, "198.18.0.2:47758");
	strcpy(p->transport, STATUS_TRANSPORT_UDP);
	strcpy(p->state, STATUS_STATE_ESTABLISHED);
	ck_assert_int_eq(status_peer_add_address(p, "198.18.1.0/24"), 0);
	ck_assert_int_eq(status_peer_add_address(p, "2001:db8:1::/48"), 0);
	p->latest_handshake = 12;
	p->keepalive = 25;
	p->rx_bytes = 1268776;
	p->rx_packets = 1200;
	p->tx_bytes = 3650722202ULL;
	p->tx_packets = 5600;
	ck_assert_int_eq(status_peer_add_drop(p, "bad_frame", 0), 0);
	ck_assert_int_eq(status_peer_add_drop(p, "backpressure", 4), 0);
	ck_assert_int_eq(status_peer_add_counter(p, "handshakes", 5), 0);
	ck_assert_int_eq(status_peer_add_counter(p, "bad_tag", UINT64_MAX - 1), 0);

	p = add_peer(st);
	strcpy(p->public_key, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=");
	strcpy(p->endpoint, "[2001:db8::3]:51820");
	strcpy(p->transport, STATUS_TRANSPORT_UDP);
	strcpy(p->state, STATUS_STATE_HANDSHAKING);
	for (i = 0; i < STATUS_ADDRESSES_MAX + 3; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.0/24", 16 + i);
		ck_assert_int_eq(status_peer_add_address(p, addr), 0);
	}
	p->rx_packets = 34;
	p->tx_bytes = 1024;
	p->tx_packets = 78;
	ck_assert_int_eq(status_peer_add_counter(p, "handshakes", 0), 0);

	p = add_peer(st);
	strcpy(p->public_key, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
	strcpy(p->transport, STATUS_TRANSPORT_UDP);
	strcpy(p->state, STATUS_STATE_NO_PEER);
}

/* A plain TCP client that has not connected yet. */
static void sample_plain(struct status *st)
{
	status_init(st);
	strcpy(st->device, "tap7");
	/* The device in a container, the sockets in the initial namespace. */
	strcpy(st->netns, "red");
	strcpy(st->underlay_netns, "net:[4026531840]");
	strcpy(st->mode, STATUS_MODE_TAP);
	strcpy(st->transport, STATUS_TRANSPORT_TCP);
	strcpy(st->local, "0.0.0.0:0");
	strcpy(st->state, STATUS_STATE_CONNECTING);
	st->pid = 1;
	st->tx_bytes = 1023;
	st->rx_bytes = 1024;
	st->uptime = 1;
	ck_assert_int_eq(status_add_drop(st, "no_peer", 1), 0);
	ck_assert_int_eq(status_add_counter(st, "reconnects", 0), 0);
}

/* Field-by-field equality of two peers. */
static void assert_peer_eq(const struct status_peer *a, const struct status_peer *b)
{
	size_t i;

	ck_assert_str_eq(a->name, b->name);
	ck_assert_str_eq(a->public_key, b->public_key);
	ck_assert_str_eq(a->endpoint, b->endpoint);
	ck_assert_str_eq(a->transport, b->transport);
	ck_assert_str_eq(a->state, b->state);
	ck_assert_uint_eq(a->n_addresses, b->n_addresses);
	for (i = 0; i < a->n_addresses; i++)
		ck_assert_str_eq(a->addresses[i], b->addresses[i]);
	ck_assert_uint_eq(a->addresses_more, b->addresses_more);
	ck_assert_int_eq(a->latest_handshake, b->latest_handshake);
	ck_assert_uint_eq(a->keepalive, b->keepalive);
	ck_assert_uint_eq(a->rx_bytes, b->rx_bytes);
	ck_assert_uint_eq(a->rx_packets, b->rx_packets);
	ck_assert_uint_eq(a->tx_bytes, b->tx_bytes);
	ck_assert_uint_eq(a->tx_packets, b->tx_packets);
	ck_assert_uint_eq(a->n_drops, b->n_drops);
	for (i = 0; i < a->n_drops; i++) {
		ck_assert_str_eq(a->drops[i].name, b->drops[i].name);
		ck_assert_uint_eq(a->drops[i].value, b->drops[i].value);
	}
	ck_assert_uint_eq(a->n_counters, b->n_counters);
	for (i = 0; i < a->n_counters; i++) {
		ck_assert_str_eq(a->counters[i].name, b->counters[i].name);
		ck_assert_uint_eq(a->counters[i].value, b->counters[i].value);
	}
}

/* Field-by-field equality: padding and unused bytes do not count. */
static void assert_status_eq(const struct status *a, const struct status *b)
{
	size_t i;

	ck_assert_str_eq(a->device, b->device);
	ck_assert_str_eq(a->netns, b->netns);
	ck_assert_str_eq(a->underlay_netns, b->underlay_netns);
	ck_assert_str_eq(a->mode, b->mode);
	ck_assert_str_eq(a->transport, b->transport);
	ck_assert_int_eq(a->sealed, b->sealed);
	ck_assert_int_eq(a->listen, b->listen);
	ck_assert_str_eq(a->public_key, b->public_key);
	ck_assert_str_eq(a->local, b->local);
	ck_assert_str_eq(a->state, b->state);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->uptime, b->uptime);
	ck_assert_int_eq(a->latest_handshake, b->latest_handshake);
	ck_assert_uint_eq(a->rx_bytes, b->rx_bytes);
	ck_assert_uint_eq(a->rx_packets, b->rx_packets);
	ck_assert_uint_eq(a->tx_bytes, b->tx_bytes);
	ck_assert_uint_eq(a->tx_packets, b->tx_packets);
	ck_assert_uint_eq(a->n_drops, b->n_drops);
	for (i = 0; i < a->n_drops; i++) {
		ck_assert_str_eq(a->drops[i].name, b->drops[i].name);
		ck_assert_uint_eq(a->drops[i].value, b->drops[i].value);
	}
	ck_assert_uint_eq(a->n_counters, b->n_counters);
	for (i = 0; i < a->n_counters; i++) {
		ck_assert_str_eq(a->counters[i].name, b->counters[i].name);
		ck_assert_uint_eq(a->counters[i].value, b->counters[i].value);
	}
	ck_assert_uint_eq(a->n_peers, b->n_peers);
	for (i = 0; i < a->n_peers; i++)
		assert_peer_eq(&a->peers[i], &b->peers[i]);
}

/* status_from_json() of a NUL-terminated @text; returns its result. */
static int parse(const char *text, struct status *st)
{
	char err[256];

	return status_from_json(text, strlen(text), st, err, sizeof(err));
}

/* The sample's JSON with member @key replaced by the raw JSON @value, or
 * removed when @value is NULL; the caller frees the result. */
static char *edited(const char *key, const char *value)
{
	struct status st;
	json_object *obj;
	char *json, *out;

	sample(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	obj = json_tokener_parse(json);
	ck_assert_ptr_nonnull(obj);
	free(json);
	json_object_object_del(obj, key);
	if (!value) {
		out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	} else {
		/* Append raw text, so that values json-c would not write (huge
		 * numbers, bad escapes) can be tried. */
		const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
		size_t len = strlen(s);

		ck_assert_int_ge(asprintf(&out, "%.*s,\"%s\":%s}", (int)len - 1, s, key, value), 0);
	}
	json_object_put(obj);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Expects the sample with @key set to @value to parse with result @want. */
static void expect_edit(const char *key, const char *value, int want)
{
	struct status st;
	char err[256] = "", *text = edited(key, value);
	int ret = status_from_json(text, strlen(text), &st, err, sizeof(err));

	if (ret != want)
		ck_abort_msg("%s = %s: got %d (%s), want %d", key, value ? value : "(missing)", ret,
			     err, want);
	if (want)
		ck_assert_str_ne(err, "");
	status_cleanup(&st);
	free(text);
}

/* The hub sample's JSON with member @key of peer @idx replaced by the raw
 * JSON @value, or removed when @value is NULL; the caller frees it. */
static char *edited_peer(size_t idx, const char *key, const char *value)
{
	json_object *obj, *peer, *val = NULL;
	struct status st;
	char *json, *out;

	sample_peers(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	status_cleanup(&st);
	obj = json_tokener_parse(json);
	ck_assert_ptr_nonnull(obj);
	free(json);
	ck_assert(json_object_object_get_ex(obj, "peers", &peer));
	peer = json_object_array_get_idx(peer, idx);
	ck_assert_ptr_nonnull(peer);
	json_object_object_del(peer, key);
	if (value) {
		/* A placeholder, replaced by the raw text below. */
		val = json_object_new_string("@@VALUE@@");
		ck_assert_int_eq(json_object_object_add(peer, key, val), 0);
	}
	json = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	ck_assert_ptr_nonnull(json);
	if (value) {
		char *at = strstr(json, "\"@@VALUE@@\"");

		ck_assert_ptr_nonnull(at);
		*at = '\0';
		ck_assert_int_ge(asprintf(&out, "%s%s%s", json, value, at + 11), 0);
		free(json);
		return out;
	}
	return json;
}

/* Expects the hub sample with peer @idx's @key set to @value to parse with
 * result @want. */
static void expect_peer_edit(size_t idx, const char *key, const char *value, int want)
{
	struct status st;
	char err[256] = "", *text = edited_peer(idx, key, value);
	int ret = status_from_json(text, strlen(text), &st, err, sizeof(err));

	if (ret != want)
		ck_abort_msg("peers[%zu].%s = %s: got %d (%s), want %d", idx, key,
			     value ? value : "(missing)", ret, err, want);
	if (want) {
		ck_assert_str_ne(err, "");
		ck_assert_uint_eq(st.n_peers, 0);
		ck_assert_ptr_null(st.peers);
	}
	status_cleanup(&st);
	free(text);
}

START_TEST(test_round_trip)
{
	struct status a, b;
	char err[256], *json;
	int pretty;

	for (pretty = 0; pretty < 2; pretty++) {
		sample_peers(&a);
		ck_assert_int_eq(status_to_json(&a, &json, pretty), 0);
		ck_assert_int_eq(status_from_json(json, strlen(json), &b, err, sizeof(err)), 0);
		ck_assert_uint_eq(b.n_peers, 3);
		assert_status_eq(&a, &b);
		/* Written again, the same text. */
		{
			char *again;

			ck_assert_int_eq(status_to_json(&b, &again, pretty), 0);
			ck_assert_str_eq(again, json);
			free(again);
		}
		status_cleanup(&a);
		status_cleanup(&b);
		free(json);
		sample_plain(&a);
		ck_assert_int_eq(status_to_json(&a, &json, pretty), 0);
		ck_assert_int_eq(status_from_json(json, strlen(json), &b, err, sizeof(err)), 0);
		assert_status_eq(&a, &b);
		status_cleanup(&a);
		status_cleanup(&b);
		/* Base64 keys hold '/': written as is, not "\/". */
		free(json);
	}
	sample(&a);
	ck_assert_int_eq(status_to_json(&a, &json, false), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"public_key\":\"j7D8h3J+Qp0RyvIdH/8jMQ"));
	ck_assert_ptr_null(strchr(json, '\n'));
	free(json);
	ck_assert_int_eq(status_to_json(&a, &json, true), 0);
	ck_assert_ptr_nonnull(strstr(json, "\n  \"device\": \"tun0\",\n"));
	free(json);
}
END_TEST

/* The members of a peer. */
static const char *const peer_fields[] = {
    "name",       "public_key",     "endpoint",         "transport", "state",
    "addresses",  "addresses_more", "latest_handshake", "keepalive", "rx_bytes",
    "rx_packets", "tx_bytes",       "tx_packets",       "drops",     "counters",
};

START_TEST(test_schema_names)
{
	static const char *const fields[] = {
	    "version",    "device",     "mode",     "transport",  "sealed", "listen",
	    "public_key", "local",      "state",    "pid",        "uptime", "latest_handshake",
	    "rx_bytes",   "rx_packets", "tx_bytes", "tx_packets", "drops",  "counters",
	    "peers",
	};
	struct status st;
	json_object *obj, *v;
	char *json;
	size_t i;

	sample(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	obj = json_tokener_parse(json);
	ck_assert_int_eq(json_object_object_length(obj), sizeof(fields) / sizeof(fields[0]));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ck_assert_msg(json_object_object_get_ex(obj, fields[i], &v), "%s", fields[i]);
	/* Counter lists keep their order. */
	ck_assert_ptr_nonnull(
	    strstr(json, "\"drops\":{\"bad_frame\":0,\"dev_write\":1,\"no_peer\":17}"));
	ck_assert_ptr_nonnull(strstr(json, "\"peers\":[]"));
	json_object_put(obj);
	free(json);

	/* A peer's members, as the header lists them. */
	sample_peers(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	status_cleanup(&st);
	obj = json_tokener_parse(json);
	ck_assert(json_object_object_get_ex(obj, "peers", &v));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	v = json_object_array_get_idx(v, 0);
	ck_assert_int_eq(json_object_object_length(v),
			 sizeof(peer_fields) / sizeof(peer_fields[0]));
	for (i = 0; i < sizeof(peer_fields) / sizeof(peer_fields[0]); i++)
		ck_assert_msg(json_object_object_get_ex(v, peer_fields[i], NULL), "%s",
			      peer_fields[i]);
	ck_assert_ptr_nonnull(strstr(json, "\"name\":\"branch-1\",\"public_key\":\"xTIBA5rb"));
	ck_assert_ptr_nonnull(strstr(
	    json, "\"addresses\":[\"198.18.1.0/24\",\"2001:db8:1::/48\"],\"addresses_more\":0"));
	ck_assert_ptr_nonnull(strstr(json, "\"addresses_more\":3,"));
	json_object_put(obj);
	free(json);
}
END_TEST

START_TEST(test_every_field_required)
{
	static const char *const fields[] = {
	    "version",    "device",     "mode",     "transport",  "sealed", "listen",
	    "public_key", "local",      "state",    "pid",        "uptime", "latest_handshake",
	    "rx_bytes",   "rx_packets", "tx_bytes", "tx_packets", "drops",  "counters",
	    "peers",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		expect_edit(fields[i], NULL, -EINVAL);
	for (i = 0; i < sizeof(peer_fields) / sizeof(peer_fields[0]); i++) {
		expect_peer_edit(0, peer_fields[i], NULL, -EINVAL);
		expect_peer_edit(2, peer_fields[i], NULL, -EINVAL);
	}
	expect_peer_edit(1, "future_field", "\"x\"", 0);
	expect_peer_edit(1, "future_field", "[]", 0);
	/* Unknown fields are a newer daemon's: ignored. */
	expect_edit("future_field", "{\"a\":{\"b\":{\"c\":[1]}}}", -EINVAL); /* too deep */
	expect_edit("future_field", "{\"a\":{\"b\":[1]}}", 0); /* as deep as a peer's list */
	expect_edit("future_field", "\"x\"", 0);
	expect_edit("future_field", "[]", 0);
}
END_TEST

START_TEST(test_not_an_object)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "hello",
	    "[]",
	    "[{\"device\":\"tun0\"}]",
	    "42",
	    "\"tun0\"",
	    "null",
	    "true",
	    "{}",
	    "{",
	    "}",
	    "{\"device\":}",
	    "{'device':'tun0'}",
	};
	struct status st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &st) == -EINVAL, "accepted <%s>", bad[i]);
}
END_TEST

START_TEST(test_wrong_types)
{
	expect_edit("device", "7", -EINVAL);
	expect_edit("device", "null", -EINVAL);
	expect_edit("device", "[\"tun0\"]", -EINVAL);
	expect_edit("sealed", "1", -EINVAL);
	expect_edit("sealed", "\"true\"", -EINVAL);
	expect_edit("listen", "null", -EINVAL);
	expect_edit("pid", "\"4242\"", -EINVAL);
	expect_edit("pid", "4242.0", -EINVAL);
	expect_edit("uptime", "1e3", -EINVAL);
	expect_edit("uptime", "true", -EINVAL);
	expect_edit("rx_bytes", "\"12\"", -EINVAL);
	expect_edit("drops", "[]", -EINVAL);
	expect_edit("drops", "{\"bad_frame\":\"0\"}", -EINVAL);
	expect_edit("drops", "{\"bad_frame\":null}", -EINVAL);
	expect_edit("drops", "{\"bad_frame\":0.5}", -EINVAL);
	expect_edit("counters", "7", -EINVAL);
	expect_edit("version", "\"1\"", -EINVAL);
	/* Right type, right range. */
	expect_edit("drops", "{}", 0);
	expect_edit("pid", "2147483647", 0);
	expect_edit("latest_handshake", "-1", 0);
	expect_edit("latest_handshake", "0", 0);
}
END_TEST

START_TEST(test_ranges)
{
	/* json-c saturates anything past 64 bits to UINT64_MAX: refused. */
	expect_edit("rx_bytes", "18446744073709551614", 0);
	expect_edit("rx_bytes", "18446744073709551615", -EINVAL);
	expect_edit("rx_bytes", "18446744073709551616", -EINVAL);
	expect_edit("rx_bytes", "99999999999999999999999999999999", -EINVAL);
	expect_edit("rx_bytes", "-1", -EINVAL);
	expect_edit("tx_packets", "-99999999999999999999999999", -EINVAL);
	expect_edit("uptime", "-0", 0);
	expect_edit("pid", "0", -EINVAL);
	expect_edit("pid", "-4242", -EINVAL);
	expect_edit("pid", "2147483648", -EINVAL);
	expect_edit("latest_handshake", "-2", -EINVAL);
	expect_edit("latest_handshake", "9223372036854775806", 0);
	expect_edit("latest_handshake", "9223372036854775807", -EINVAL);
	expect_edit("latest_handshake", "18446744073709551614", -EINVAL);
	expect_edit("drops", "{\"bad_frame\":-1}", -EINVAL);
	expect_edit("drops", "{\"bad_frame\":18446744073709551616}", -EINVAL);
	expect_edit("version", "1", -EPROTONOSUPPORT); /* before peers */
	expect_edit("version", "3", -EPROTONOSUPPORT);
	expect_edit("version", "0", -EPROTONOSUPPORT);
	expect_edit("version", "-1", -EINVAL);
}
END_TEST

START_TEST(test_strings)
{
	expect_edit("device", "\"\"", -EINVAL);
	expect_edit("device", "\"123456789012345\"", 0);
	expect_edit("device", "\"1234567890123456\"", -EINVAL);
	expect_edit("device", "\"a/b\"", -EINVAL);
	expect_edit("device", "\"..\"", -EINVAL);
	expect_edit("device", "\"t\\u00fcn0\"", 0); /* UTF-8 names are names */
	expect_edit("device", "\"\\u001b[2J\"", -EINVAL);
	expect_edit("device", "\"tun\\u0000x\"", -EINVAL);
	expect_peer_edit(0, "endpoint", "\"\\u0085\"", -EINVAL); /* C1 control */
	expect_peer_edit(0, "endpoint", "\"a\\u007f\"", -EINVAL);
	expect_peer_edit(0, "endpoint", "\"\\ud800\"", 0);            /* json-c makes it U+FFFD */
	expect_peer_edit(0, "endpoint", "\"\xed\xa0\x80\"", -EINVAL); /* a surrogate, raw */
	expect_peer_edit(0, "endpoint", "\"\xff\xfe\"", -EINVAL);     /* not UTF-8 */
	expect_peer_edit(0, "endpoint", "\"\xc0\xaf\"", -EINVAL);     /* overlong '/' */
	expect_peer_edit(0, "endpoint", "\"\"", 0);
	expect_edit("local", "\"\"", -EINVAL);
	expect_edit("local", "\"0123456789012345678901234567890123456789012345678901234567890123\"",
		    -EINVAL);
	expect_edit("mode", "\"tan\"", -EINVAL);
	expect_edit("mode", "\"TUN\"", -EINVAL);
	expect_edit("transport", "\"sctp\"", -EINVAL);
	expect_edit("state", "\"\"", -EINVAL);
	expect_edit("state", "\"Established\"", -EINVAL);
	expect_edit("state", "\"est ablished\"", -EINVAL);
	expect_edit("state", "\"rekeying-2\"", 0); /* a newer daemon's state */
	expect_edit("public_key", "\"\"", 0);
}
END_TEST

START_TEST(test_counter_lists)
{
	char buf[2048];
	size_t len;
	int i;

	expect_edit("drops", "{\"Bad\":0}", -EINVAL);
	expect_edit("drops", "{\"\":0}", -EINVAL);
	expect_edit("drops", "{\"a-b\":0}", -EINVAL);
	expect_edit("drops", "{\"abcdefghijklmnopqrstuvwxyz01234\":0}", 0);
	expect_edit("drops", "{\"abcdefghijklmnopqrstuvwxyz012345\":0}", -EINVAL);
	/* A repeated key: json-c keeps the last one. */
	expect_edit("drops", "{\"a\":1,\"a\":2}", 0);
	for (i = 0, len = 1, buf[0] = '{'; i < STATUS_COUNTERS_MAX + 1; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"c%d\":%d", i ? "," : "",
					i, i);
	strcpy(buf + len, "}");
	expect_edit("counters", buf, -EINVAL);
	/* Exactly the maximum is fine. */
	*strstr(buf, ",\"c32\"") = '\0';
	strcat(buf, "}");
	expect_edit("counters", buf, 0);
}
END_TEST

START_TEST(test_peer_fields)
{
	char buf[2048];
	size_t len;
	int i;

	/* Types. */
	expect_edit("peers", "{}", -EINVAL);
	expect_edit("peers", "null", -EINVAL);
	expect_edit("peers", "[7]", -EINVAL);
	expect_edit("peers", "[[]]", -EINVAL);
	expect_peer_edit(0, "name", "7", -EINVAL);
	expect_peer_edit(0, "addresses", "\"198.18.1.0/24\"", -EINVAL);
	expect_peer_edit(0, "addresses", "[7]", -EINVAL);
	expect_peer_edit(0, "addresses", "[[]]", -EINVAL);
	expect_peer_edit(0, "keepalive", "\"25\"", -EINVAL);
	expect_peer_edit(0, "drops", "[]", -EINVAL);
	expect_peer_edit(0, "counters", "{\"x\":{}}", -EINVAL);
	/* Ranges. */
	expect_peer_edit(0, "keepalive", "4294967295", 0);
	expect_peer_edit(0, "keepalive", "4294967296", -EINVAL);
	expect_peer_edit(0, "keepalive", "-1", -EINVAL);
	expect_peer_edit(0, "latest_handshake", "-2", -EINVAL);
	expect_peer_edit(0, "latest_handshake", "-1", 0);
	expect_peer_edit(0, "addresses_more", "18446744073709551614", 0);
	expect_peer_edit(0, "addresses_more", "18446744073709551615", -EINVAL);
	expect_peer_edit(2, "rx_bytes", "18446744073709551615", -EINVAL);
	expect_peer_edit(2, "tx_packets", "-1", -EINVAL);
	expect_peer_edit(1, "drops", "{\"bad_frame\":18446744073709551615}", -EINVAL);
	/* Strings. */
	expect_peer_edit(0, "name", "\"\"", 0);
	expect_peer_edit(0, "name", "\"a\\u001bb\"", -EINVAL);
	expect_peer_edit(0, "name",
			 "\"012345678901234567890123456789012345678901234567890123456789012\"", 0);
	expect_peer_edit(0, "name",
			 "\"0123456789012345678901234567890123456789012345678901234567890123\"",
			 -EINVAL);
	expect_peer_edit(1, "name", "\"branch-1\"", -EINVAL); /* peer 0's */
	expect_peer_edit(1, "public_key", "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"",
			 -EINVAL);
	expect_peer_edit(1, "public_key", "\"\"", -EINVAL); /* sealed: every peer has one */
	expect_peer_edit(0, "endpoint", "\"\"", 0);
	expect_peer_edit(0, "transport", "\"sctp\"", -EINVAL);
	expect_peer_edit(0, "transport", "\"tcp\"", 0);
	expect_peer_edit(0, "state", "\"Up\"", -EINVAL);
	expect_peer_edit(0, "state", "\"rekeying-2\"", 0);
	/* Allowed IPs of a TUN interface. */
	expect_peer_edit(0, "addresses", "[]", 0);
	expect_peer_edit(0, "addresses", "[\"0.0.0.0/0\",\"::/0\",\"2001:db8::1/128\"]", 0);
	expect_peer_edit(0, "addresses", "[\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128\"]",
			 0); /* the longest */
	expect_peer_edit(0, "addresses", "[\"198.18.0.0\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"198.18.0.0/\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"198.18.0.0/33\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"198.18.0.0/024\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"198.18.0.0/1x\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"198.18.0/16\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"2001:db8::/129\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"2001:db8::/1280\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"/24\"]", -EINVAL);
	expect_peer_edit(0, "addresses", "[\"02:00:00:00:00:01\"]", -EINVAL); /* a MAC on TUN */
	expect_peer_edit(0, "addresses", "[\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1280\"]",
			 -EINVAL); /* too long */
	/* At most STATUS_ADDRESSES_MAX. */
	for (i = 0, len = 1, buf[0] = '['; i < STATUS_ADDRESSES_MAX + 1; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"198.18.%d.0/24\"",
					i ? "," : "", i);
	strcpy(buf + len, "]");
	expect_peer_edit(0, "addresses", buf, -EINVAL);
	*strrchr(buf, ',') = '\0';
	strcat(buf, "]");
	expect_peer_edit(0, "addresses", buf, 0);
}
END_TEST

/* Plain TAP peers: no key, learned MACs, names unique when given. */
START_TEST(test_peer_plain_tap)
{
	struct status st;
	struct status_peer *p;
	char err[128];

	sample_plain(&st);
	p = add_peer(&st);
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), 0);
	strcpy(p->public_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "peers[0].public_key: set on a plain interface");
	p->public_key[0] = '\0';
	/* Learned MACs: lower-case xx:xx:xx:xx:xx:xx only. */
	ck_assert_int_eq(status_peer_add_address(p, "02:00:5e:10:00:01"), 0);
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), 0);
	strcpy(p->addresses[0], "02:00:5E:10:00:01");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "peers[0].addresses[0]: not a MAC address");
	strcpy(p->addresses[0], "02:00:5e:10:00:0");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(p->addresses[0], "02:00:5e:10:00:011");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(p->addresses[0], "02-00-5e-10-00-01");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(p->addresses[0], "198.18.0.0/24");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(p->addresses[0], "02:00:5e:10:00:01");
	/* Plain peers may share an empty name, but not a name. */
	p = add_peer(&st);
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), 0);
	strcpy(st.peers[0].name, "left");
	strcpy(st.peers[1].name, "left");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "peers[1].name: the same as peers[0]'s");
	st.n_peers = STATUS_PEERS_MAX + 1;
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	st.n_peers = 2;
	status_cleanup(&st);
	ck_assert_ptr_null(st.peers);
	ck_assert_uint_eq(st.n_peers, 0);
	status_cleanup(&st); /* twice is harmless */
}
END_TEST

START_TEST(test_add_peers)
{
	struct status st;
	struct status_peer *p;
	char addr[STATUS_ADDRESS_SIZE + 1];
	size_t i;

	status_init(&st);
	for (i = 0; i < STATUS_PEERS_MAX; i++) {
		ck_assert_int_eq(status_add_peer(&st, &p), 0);
		ck_assert_ptr_eq(p, &st.peers[i]);
		ck_assert_int_eq(p->latest_handshake, -1);
		ck_assert_uint_eq(p->n_addresses + p->n_drops + p->n_counters, 0);
		/* Earlier peers survive the array's growth. */
		snprintf(p->name, sizeof(p->name), "p%zu", i);
		ck_assert_str_eq(st.peers[i / 2].name,
				 (snprintf(addr, sizeof(addr), "p%zu", i / 2), addr));
	}
	ck_assert_uint_le(st.peers_cap, STATUS_PEERS_MAX);
	p = (struct status_peer *)1;
	ck_assert_int_eq(status_add_peer(&st, &p), -ENOSPC);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(st.n_peers, STATUS_PEERS_MAX);

	/* Addresses past the bound are counted, not listed. */
	p = &st.peers[0];
	for (i = 0; i < STATUS_ADDRESSES_MAX + 5; i++) {
		snprintf(addr, sizeof(addr), "198.18.%zu.0/24", i);
		ck_assert_int_eq(status_peer_add_address(p, addr), 0);
	}
	ck_assert_uint_eq(p->n_addresses, STATUS_ADDRESSES_MAX);
	ck_assert_uint_eq(p->addresses_more, 5);
	ck_assert_str_eq(p->addresses[STATUS_ADDRESSES_MAX - 1], "198.18.15.0/24");
	memset(addr, 'a', STATUS_ADDRESS_SIZE);
	addr[STATUS_ADDRESS_SIZE] = '\0';
	ck_assert_int_eq(status_peer_add_address(&st.peers[1], addr), -EINVAL);
	ck_assert_uint_eq(st.peers[1].n_addresses, 0);
	ck_assert_int_eq(status_peer_add_drop(p, "x", 1), 0);
	ck_assert_int_eq(status_peer_add_drop(p, "x", 1), -EEXIST);
	ck_assert_int_eq(status_peer_add_counter(p, "X", 1), -EINVAL);
	ck_assert_int_eq(status_peer_add_counter(p, "x", UINT64_MAX), -EINVAL);
	status_cleanup(&st);
}
END_TEST

/*
 * The largest document status_check() accepts: every string at its longest
 * and made of characters JSON escapes (a quote or a backslash takes two
 * bytes), every list full, every number 20 digits, STATUS_PEERS_MAX peers.
 * Its compact JSON fits STATUS_JSON_MAX, and each peer
 * STATUS_JSON_PEER_MAX; and it parses back.
 */
static void fill_quotes(char *dst, size_t size, size_t unique)
{
	memset(dst, '"', size - 1);
	dst[size - 1] = '\0';
	snprintf(dst + size - 6, 6, "%05zu", unique);
}

static void fill_lists(struct status_counter *drops, size_t *n_drops,
		       struct status_counter *counters, size_t *n_counters)
{
	for (size_t i = 0; i < STATUS_COUNTERS_MAX; i++) {
		snprintf(drops[i].name, sizeof(drops[i].name), "%031zu", i);
		drops[i].value = UINT64_MAX - 1;
		counters[i] = drops[i];
	}
	*n_drops = *n_counters = STATUS_COUNTERS_MAX;
}

START_TEST(test_json_max)
{
	struct status st, back;
	char err[256], *json;
	size_t i, j, len, one;

	sample(&st);
	fill_quotes(st.netns, sizeof(st.netns), 0);
	fill_quotes(st.underlay_netns, sizeof(st.underlay_netns), 0);
	fill_quotes(st.public_key, sizeof(st.public_key), 0);
	fill_quotes(st.local, sizeof(st.local), 0);
	strcpy(st.state, "abcdefghijklmno");
	st.pid = INT32_MAX;
	st.uptime = st.rx_bytes = st.rx_packets = st.tx_bytes = st.tx_packets = UINT64_MAX - 1;
	st.latest_handshake = INT64_MAX - 1;
	fill_lists(st.drops, &st.n_drops, st.counters, &st.n_counters);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	len = strlen(json);
	ck_assert_uint_le(len, 64 * 1024 - STATUS_JSON_PEER_MAX);
	free(json);
	for (i = 0; i < STATUS_PEERS_MAX; i++) {
		struct status_peer *p = add_peer(&st);

		fill_quotes(p->name, sizeof(p->name), i);
		fill_quotes(p->public_key, sizeof(p->public_key), i);
		fill_quotes(p->endpoint, sizeof(p->endpoint), i);
		strcpy(p->transport, STATUS_TRANSPORT_TCP);
		strcpy(p->state, "abcdefghijklmno");
		for (j = 0; j < STATUS_ADDRESSES_MAX; j++)
			ck_assert_int_eq(
			    status_peer_add_address(
				p, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"),
			    0);
		p->addresses_more = UINT64_MAX - 1;
		p->latest_handshake = INT64_MAX - 1;
		p->keepalive = UINT32_MAX;
		p->rx_bytes = p->rx_packets = p->tx_bytes = p->tx_packets = UINT64_MAX - 1;
		fill_lists(p->drops, &p->n_drops, p->counters, &p->n_counters);
		if (i == 0) {
			ck_assert_int_eq(status_to_json(&st, &json, false), 0);
			one = strlen(json) - len;
			free(json);
			ck_assert_uint_le(one, STATUS_JSON_PEER_MAX);
		}
	}
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), 0);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	len = strlen(json);
	ck_assert_uint_le(len, STATUS_JSON_MAX);
	/* Not far below it either: the bound is not much looser than needed. */
	ck_assert_uint_gt(len, STATUS_JSON_MAX - STATUS_JSON_MAX / 8);
	ck_assert_int_eq(status_from_json(json, len, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n_peers, STATUS_PEERS_MAX);
	assert_peer_eq(&st.peers[STATUS_PEERS_MAX - 1], &back.peers[STATUS_PEERS_MAX - 1]);
	status_cleanup(&back);
	free(json);
	status_cleanup(&st);
}
END_TEST

START_TEST(test_too_many_peers)
{
	struct status st;
	char err[256], *json, *text, *at;
	size_t i, len, cap;

	/* STATUS_PEERS_MAX + 1 copies of a small plain peer. */
	sample_plain(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	at = strstr(json, "\"peers\":[]");
	ck_assert_ptr_nonnull(at);
	cap = strlen(json) + (STATUS_PEERS_MAX + 1) * 300;
	text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	len = (size_t)(at - json) + 9;
	memcpy(text, json, len);
	for (i = 0; i < STATUS_PEERS_MAX + 1; i++)
		len += (size_t)snprintf(
		    text + len, cap - len,
		    "%s{\"name\":\"p%zu\",\"public_key\":\"\",\"endpoint\":\"\",\"transport\":"
		    "\"tcp\","
		    "\"state\":\"connecting\",\"addresses\":[],\"addresses_more\":0,"
		    "\"latest_handshake\":-1,\"keepalive\":0,\"rx_bytes\":0,\"rx_packets\":0,"
		    "\"tx_bytes\":0,\"tx_packets\":0,\"drops\":{},\"counters\":{}}",
		    i ? "," : "", i);
	len += (size_t)snprintf(text + len, cap - len, "%s", at + 9);
	ck_assert_int_eq(status_from_json(text, len, &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "peers: 1025 entries, at most 1024");
	ck_assert_ptr_null(st.peers);
	/* One fewer is fine. */
	at = strstr(text, ",{\"name\":\"p1024\"");
	ck_assert_ptr_nonnull(at);
	{
		const char *end = strstr(at, "\"counters\":{}}") + strlen("\"counters\":{}}");

		memmove(at, end, strlen(end) + 1);
	}
	ck_assert_int_eq(status_from_json(text, strlen(text), &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.n_peers, STATUS_PEERS_MAX);
	ck_assert_str_eq(st.peers[STATUS_PEERS_MAX - 1].name, "p1023");
	status_cleanup(&st);
	free(text);
	free(json);
}
END_TEST

START_TEST(test_add)
{
	struct status st;
	char name[8];
	int i;

	status_init(&st);
	ck_assert_int_eq(st.latest_handshake, -1);
	ck_assert_int_eq(status_add_drop(&st, "bad_frame", 1), 0);
	ck_assert_int_eq(status_add_drop(&st, "bad_frame", 2), -EEXIST);
	ck_assert_int_eq(status_add_counter(&st, "bad_frame", 2), 0);
	ck_assert_int_eq(status_add_drop(&st, "", 0), -EINVAL);
	ck_assert_int_eq(status_add_drop(&st, "Bad", 0), -EINVAL);
	ck_assert_int_eq(status_add_drop(&st, "x", UINT64_MAX), -EINVAL);
	ck_assert_int_eq(status_add_drop(&st, "abcdefghijklmnopqrstuvwxyz012345", 0), -EINVAL);
	for (i = 1; i < STATUS_COUNTERS_MAX; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		ck_assert_int_eq(status_add_drop(&st, name, (uint64_t)i), 0);
	}
	ck_assert_int_eq(status_add_drop(&st, "one_more", 0), -ENOSPC);
	ck_assert_uint_eq(st.n_drops, STATUS_COUNTERS_MAX);
	ck_assert_uint_eq(st.n_counters, 1);
}
END_TEST

START_TEST(test_to_json_checks)
{
	struct status st;
	char err[128], *json = (char *)1;

	sample(&st);
	st.device[0] = '\0';
	ck_assert_int_eq(status_to_json(&st, &json, true), -EINVAL);
	ck_assert_ptr_null(json);
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "device: not an interface name");
	sample(&st);
	memset(st.local, 'a', sizeof(st.local)); /* no NUL */
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	/* The writer's side refuses what the reader would: bad UTF-8, C1. */
	sample_peers(&st);
	strcpy(st.peers[1].endpoint, "\xed\xa0\x80");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(st.peers[1].endpoint, "\xc2\x85");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(st.peers[1].endpoint, "\xe0\x80\xaf"); /* overlong */
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(st.peers[1].endpoint, "\xf4\x90\x80\x80"); /* past U+10FFFF */
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	strcpy(st.peers[1].endpoint,
	       "\xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xbc"); /* euro, emoji, u-umlaut */
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), 0);
	strcpy(st.peers[1].endpoint, "\xe2\x82"); /* cut short */
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "peers[1].endpoint: not printable text");
	status_cleanup(&st);
	sample(&st);
	st.pid = 0;
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	sample(&st);
	st.rx_packets = UINT64_MAX;
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "rx_packets: out of range");
	sample(&st);
	st.n_counters = STATUS_COUNTERS_MAX + 1;
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	sample(&st);
	strcpy(st.counters[1].name, st.counters[0].name);
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "counters: reconnects: listed twice");
	sample(&st);
	ck_assert_int_eq(status_check(&st, err, 4), 0);
	/* Errors are truncated to the buffer. */
	st.pid = -1;
	ck_assert_int_eq(status_check(&st, err, 4), -EINVAL);
	ck_assert_str_eq(err, "pid");
}
END_TEST

START_TEST(test_array)
{
	struct status sts[2], back;
	json_object *arr;
	char err[256], *json;
	const char *elem;
	size_t i;

	ck_assert_int_eq(status_array_to_json(NULL, 0, &json, true), 0);
	arr = json_tokener_parse(json);
	ck_assert(json_object_is_type(arr, json_type_array));
	ck_assert_uint_eq(json_object_array_length(arr), 0);
	json_object_put(arr);
	free(json);

	sample_peers(&sts[0]);
	sample_plain(&sts[1]);
	ck_assert_int_eq(status_array_to_json(sts, 2, &json, true), 0);
	arr = json_tokener_parse(json);
	ck_assert_uint_eq(json_object_array_length(arr), 2);
	for (i = 0; i < 2; i++) {
		elem = json_object_to_json_string(json_object_array_get_idx(arr, i));
		ck_assert_int_eq(status_from_json(elem, strlen(elem), &back, err, sizeof(err)), 0);
		assert_status_eq(&sts[i], &back);
		status_cleanup(&back);
	}
	json_object_put(arr);
	free(json);
	sts[1].mode[0] = '\0';
	ck_assert_int_eq(status_array_to_json(sts, 2, &json, true), -EINVAL);
	ck_assert_ptr_null(json);
	status_cleanup(&sts[0]);
	status_cleanup(&sts[1]);
}
END_TEST

START_TEST(test_truncated)
{
	struct status st;
	char err[256], *json;
	size_t len, cut;
	int pretty;

	for (pretty = 0; pretty < 2; pretty++) {
		sample_peers(&st);
		ck_assert_int_eq(status_to_json(&st, &json, pretty), 0);
		status_cleanup(&st);
		len = strlen(json);
		/* Every proper prefix is refused; the whole is accepted. */
		for (cut = 0; cut < len; cut++)
			ck_assert_msg(status_from_json(json, cut, &st, err, sizeof(err)) < 0,
				      "prefix of %zu bytes accepted", cut);
		ck_assert_int_eq(status_from_json(json, len, &st, err, sizeof(err)), 0);
		ck_assert_uint_eq(st.n_peers, 3);
		status_cleanup(&st);
		free(json);
	}
}
END_TEST

START_TEST(test_trailing)
{
	struct status st;
	char *json, *text;

	sample_peers(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	status_cleanup(&st);
	ck_assert_int_ge(asprintf(&text, "%s \r\n\t", json), 0);
	ck_assert_int_eq(parse(text, &st), 0);
	status_cleanup(&st);
	free(text);
	ck_assert_int_ge(asprintf(&text, "%s{}", json), 0);
	ck_assert_int_eq(parse(text, &st), -EINVAL);
	free(text);
	ck_assert_int_ge(asprintf(&text, "%s x", json), 0);
	ck_assert_int_eq(parse(text, &st), -EINVAL);
	free(text);
	/* A NUL inside the length is refused, even after a whole document. */
	ck_assert_int_ge(asprintf(&text, "%s?", json), 0);
	text[strlen(json)] = '\0';
	ck_assert_int_eq(status_from_json(text, strlen(json) + 1, &st, NULL, 0), -EINVAL);
	free(text);
	free(json);
}
END_TEST

START_TEST(test_garbage)
{
	size_t big = STATUS_JSON_MAX + 1, i;
	struct status st;
	char err[256];
	char *buf = malloc(big);
	uint32_t x = 12345;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < big; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (char)(x >> 16);
	}
	ck_assert_int_eq(status_from_json(buf, big, &st, err, sizeof(err)), -EMSGSIZE);
	/* Just under the limit, the parser sees it all and says no. */
	for (i = 0; i < STATUS_JSON_MAX; i++)
		if (!buf[i])
			buf[i] = '{';
	ck_assert_int_eq(status_from_json(buf, STATUS_JSON_MAX, &st, err, sizeof(err)), -EINVAL);
	/* Deep nesting stops at the schema's depth. */
	memset(buf, '[', STATUS_JSON_MAX);
	ck_assert_int_eq(status_from_json(buf, STATUS_JSON_MAX, &st, err, sizeof(err)), -EINVAL);
	memset(buf, '{', STATUS_JSON_MAX);
	ck_assert_int_eq(status_from_json(buf, STATUS_JSON_MAX, &st, err, sizeof(err)), -EINVAL);
	buf[0] = '"';
	memset(buf + 1, 'a', STATUS_JSON_MAX - 1);
	ck_assert_int_eq(status_from_json(buf, STATUS_JSON_MAX, &st, err, sizeof(err)), -EINVAL);
	free(buf);
}
END_TEST

/* Random byte changes to a valid document: any result, but no crash, and
 * what is accepted passes status_check() (run under ASan/Valgrind too). */
START_TEST(test_mutations)
{
	struct status st, out;
	char err[256], *json, *copy;
	size_t len, k;
	uint32_t x = 777;
	int round, accepted = 0;

	sample_peers(&st);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	status_cleanup(&st);
	len = strlen(json);
	copy = malloc(len);
	for (round = 0; round < 20000; round++) {
		memcpy(copy, json, len);
		for (k = 0; k < 1 + (size_t)round % 4; k++) {
			x = x * 1103515245 + 12345;
			copy[(x >> 8) % len] = (char)(x >> 24);
		}
		if (!status_from_json(copy, len, &out, err, sizeof(err))) {
			accepted++;
			ck_assert_int_eq(status_check(&out, NULL, 0), 0);
			status_cleanup(&out);
		}
	}
	ck_assert_int_gt(accepted, 0); /* changes to digits, mostly */
	free(copy);
	free(json);
}
END_TEST

START_TEST(test_format_bytes)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
	    {0, "0 B"},
	    {1, "1 B"},
	    {1023, "1023 B"},
	    {1024, "1.00 KiB"},
	    {1536, "1.50 KiB"},
	    {1048570, "1023.99 KiB"},
	    {1048571, "1.00 MiB"}, /* 1023.995 KiB would print as 1024.00 */
	    {1048575, "1.00 MiB"},
	    {1048576, "1.00 MiB"},
	    {1268776, "1.21 MiB"},
	    {3650722202ULL, "3.40 GiB"},
	    {1ULL << 40, "1.00 TiB"},
	    {UINT64_MAX, "16777216.00 TiB"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(status_format_bytes(buf, sizeof(buf), cases[i].bytes),
				 cases[i].want);
	ck_assert_str_eq(status_format_bytes(buf, 4, 1024), "1.0");
}
END_TEST

START_TEST(test_format_duration)
{
	static const struct {
		uint64_t seconds;
		const char *want;
	} cases[] = {
	    {0, "0 seconds"},
	    {1, "1 second"},
	    {2, "2 seconds"},
	    {59, "59 seconds"},
	    {60, "1 minute"},
	    {61, "1 minute, 1 second"},
	    {3600, "1 hour"},
	    {3723, "1 hour, 2 minutes, 3 seconds"},
	    {86400, "1 day"},
	    {86401, "1 day, 1 second"},
	    {90061, "1 day, 1 hour, 1 minute, 1 second"},
	    {2 * 86400 + 2 * 3600 + 2 * 60 + 2, "2 days, 2 hours, 2 minutes, 2 seconds"},
	    {UINT64_MAX, "213503982334601 days, 7 hours, 15 seconds"},
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(status_format_duration(buf, sizeof(buf), cases[i].seconds),
				 cases[i].want);
	ck_assert_str_eq(status_format_duration(buf, 8, 3723), "1 hour,");
}
END_TEST

/* status_print() of @st as a string; the caller frees it. */
static char *printed(const struct status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(status_print(f, st), 0);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

START_TEST(test_print_sealed)
{
	struct status st;
	char *text;

	sample(&st);
	text = printed(&st);
	ck_assert_str_eq(text,
			 "interface: tun0\n"
			 "  mode: tun\n"
			 "  transport: udp, sealed\n"
			 "  public key: j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=\n"
			 "  listening on: [::]:55555\n"
			 "  state: established\n"
			 "  latest handshake: 12 seconds ago\n"
			 "  transfer: 1.21 MiB received, 3.40 GiB sent  (rx 1234 packets, "
			 "tx 5678 packets)\n"
			 "  drops: bad_frame 0, dev_write 1, no_peer 17\n"
			 "  reconnects: 2\n"
			 "  uptime: 1 hour, 2 minutes, 3 seconds\n"
			 "  counters: connections 3, handshakes 5, bad_tag 18446744073709551614\n");
	free(text);

	/* Never handshaked; one second of everything. */
	st.latest_handshake = -1;
	strcpy(st.state, STATUS_STATE_HANDSHAKING);
	st.uptime = 1;
	st.rx_bytes = 0;
	st.tx_bytes = 1024;
	st.n_drops = 0;
	st.n_counters = 0;
	text = printed(&st);
	ck_assert_str_eq(text, "interface: tun0\n"
			       "  mode: tun\n"
			       "  transport: udp, sealed\n"
			       "  public key: j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=\n"
			       "  listening on: [::]:55555\n"
			       "  state: handshaking\n"
			       "  latest handshake: never\n"
			       "  transfer: 0 B received, 1.00 KiB sent  (rx 1234 packets, "
			       "tx 5678 packets)\n"
			       "  uptime: 1 second\n");
	free(text);
	st.latest_handshake = 1;
	st.uptime = 2;
	text = printed(&st);
	ck_assert_ptr_nonnull(strstr(text, "  latest handshake: 1 second ago\n"));
	ck_assert_ptr_nonnull(strstr(text, "  uptime: 2 seconds\n"));
	free(text);
}
END_TEST

/* Both namespaces: the device's on the first line, the sockets' below;
 * a '/' in either is refused. */
START_TEST(test_netns)
{
	struct status st;
	char err[256], *text, *json;

	sample(&st);
	strcpy(st.netns, "red");
	strcpy(st.underlay_netns, "blue");
	text = printed(&st);
	ck_assert_ptr_nonnull(strstr(text, "interface: tun0 (netns red)\n"
					   "  underlay netns: blue\n"
					   "  mode: tun\n"));
	free(text);
	ck_assert_int_eq(status_to_json(&st, &json, false), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"netns\":\"red\",\"underlay_netns\":\"blue\""));
	free(json);
	strcpy(st.underlay_netns, "a/b");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "underlay_netns: not a namespace name");
	st.underlay_netns[0] = '\0';
	strcpy(st.netns, "..\n");
	ck_assert_int_eq(status_check(&st, err, sizeof(err)), -EINVAL);
	status_cleanup(&st);
}
END_TEST

START_TEST(test_print_plain)
{
	struct status st;
	char *text;

	sample_plain(&st);
	text = printed(&st);
	ck_assert_str_eq(text, "interface: tap7 (netns red)\n"
			       "  underlay netns: net:[4026531840]\n"
			       "  mode: tap\n"
			       "  transport: tcp\n"
			       "  local: 0.0.0.0:0\n"
			       "  state: connecting\n"
			       "  transfer: 1.00 KiB received, 1023 B sent  (rx 0 packets, "
			       "tx 0 packets)\n"
			       "  drops: no_peer 1\n"
			       "  reconnects: 0\n"
			       "  uptime: 1 second\n");
	free(text);
}
END_TEST

START_TEST(test_print_wraps)
{
	static const char *const names[] = {
	    "bad_frame", "dev_write",  "backpressure", "no_peer",
	    "oversize",  "send_error", "unknown_peer", "no_session",
	};
	struct status st;
	char *text, *line, *save = NULL;
	size_t i;

	sample_plain(&st);
	st.n_drops = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_int_eq(status_add_drop(&st, names[i], 1000000 * i), 0);
	text = printed(&st);
	ck_assert_ptr_nonnull(strstr(text, "  drops: bad_frame 0, dev_write 1000000, backpressure "
					   "2000000, no_peer 3000000, oversize 4000000,\n"
					   "         send_error 5000000, unknown_peer 6000000, "
					   "no_session 7000000\n"));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ck_assert_int_lt(strlen(line), 100);
	free(text);
}
END_TEST

START_TEST(test_print_peers)
{
	struct status st;
	struct status_peer *p;
	char *text;

	sample_peers(&st);
	text = printed(&st);
	ck_assert_str_eq(text,
			 "interface: tun0\n"
			 "  mode: tun\n"
			 "  transport: udp, sealed\n"
			 "  public key: j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=\n"
			 "  listening on: [::]:55555\n"
			 "  state: established\n"
			 "  latest handshake: 12 seconds ago\n"
			 "  transfer: 1.21 MiB received, 3.40 GiB sent  (rx 1234 packets, "
			 "tx 5678 packets)\n"
			 "  drops: bad_frame 0, dev_write 1, no_peer 17\n"
			 "  reconnects: 2\n"
			 "  uptime: 1 hour, 2 minutes, 3 seconds\n"
			 "  counters: connections 3, handshakes 5, bad_tag 18446744073709551614\n"
			 "\n"
			 "peer: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
			 "  name: branch-1\n"
			 "  endpoint: 198.18.0.2:47758\n"
			 "  transport: udp\n"
			 "  state: established\n"
			 "  allowed ips: 198.18.1.0/24, 2001:db8:1::/48\n"
			 "  latest handshake: 12 seconds ago\n"
			 "  transfer: 1.21 MiB received, 3.40 GiB sent  (rx 1200 packets, "
			 "tx 5600 packets)\n"
			 "  persistent keepalive: every 25 seconds\n"
			 "  drops: bad_frame 0, backpressure 4\n"
			 "  counters: handshakes 5, bad_tag 18446744073709551614\n"
			 "\n"
			 "peer: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\n"
			 "  endpoint: [2001:db8::3]:51820\n"
			 "  transport: udp\n"
			 "  state: handshaking\n"
			 "  allowed ips: 198.18.16.0/24, 198.18.17.0/24, 198.18.18.0/24, "
			 "198.18.19.0/24, 198.18.20.0/24,\n"
			 "               198.18.21.0/24, 198.18.22.0/24, 198.18.23.0/24, "
			 "198.18.24.0/24, 198.18.25.0/24,\n"
			 "               198.18.26.0/24, 198.18.27.0/24, 198.18.28.0/24, "
			 "198.18.29.0/24, 198.18.30.0/24,\n"
			 "               198.18.31.0/24, and 3 more\n"
			 "  latest handshake: never\n"
			 "  transfer: 0 B received, 1.00 KiB sent  (rx 34 packets, tx 78 packets)\n"
			 "  counters: handshakes 0\n"
			 "\n"
			 "peer: HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n"
			 "  transport: udp\n"
			 "  state: no-peer\n"
			 "  allowed ips: (none)\n"
			 "  latest handshake: never\n"
			 "  transfer: 0 B received, 0 B sent  (rx 0 packets, tx 0 packets)\n");
	free(text);
	status_cleanup(&st);

	/* Plain TAP peers are named by their name, else their endpoint. */
	sample_plain(&st);
	p = add_peer(&st);
	strcpy(p->name, "left");
	strcpy(p->endpoint, "198.18.0.7:55555");
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTED);
	ck_assert_int_eq(status_peer_add_address(p, "02:00:5e:10:00:01"), 0);
	p->rx_bytes = 1024;
	p->keepalive = 3600;
	p = add_peer(&st);
	strcpy(p->endpoint, "[2001:db8::9]:40000");
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTED);
	ck_assert_int_eq(status_peer_add_drop(p, "backpressure", 9), 0);
	p = add_peer(&st);
	strcpy(p->transport, STATUS_TRANSPORT_TCP);
	strcpy(p->state, STATUS_STATE_CONNECTING);
	ck_assert_int_eq(status_check(&st, NULL, 0), 0);
	text = printed(&st);
	ck_assert_str_eq(text,
			 "interface: tap7 (netns red)\n"
			 "  underlay netns: net:[4026531840]\n"
			 "  mode: tap\n"
			 "  transport: tcp\n"
			 "  local: 0.0.0.0:0\n"
			 "  state: connecting\n"
			 "  transfer: 1.00 KiB received, 1023 B sent  (rx 0 packets, "
			 "tx 0 packets)\n"
			 "  drops: no_peer 1\n"
			 "  reconnects: 0\n"
			 "  uptime: 1 second\n"
			 "\n"
			 "peer: left\n"
			 "  endpoint: 198.18.0.7:55555\n"
			 "  transport: tcp\n"
			 "  state: connected\n"
			 "  learned macs: 02:00:5e:10:00:01\n"
			 "  transfer: 1.00 KiB received, 0 B sent  (rx 0 packets, tx 0 packets)\n"
			 "  persistent keepalive: every 1 hour\n"
			 "\n"
			 "peer: [2001:db8::9]:40000\n"
			 "  transport: tcp\n"
			 "  state: connected\n"
			 "  learned macs: (none)\n"
			 "  transfer: 0 B received, 0 B sent  (rx 0 packets, tx 0 packets)\n"
			 "  drops: backpressure 9\n"
			 "\n"
			 "peer: (unknown)\n"
			 "  transport: tcp\n"
			 "  state: connecting\n"
			 "  learned macs: (none)\n"
			 "  transfer: 0 B received, 0 B sent  (rx 0 packets, tx 0 packets)\n");
	free(text);
	status_cleanup(&st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("status");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_schema_names);
	tcase_add_test(tc, test_every_field_required);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_counter_lists);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_peer_fields);
	tcase_add_test(tc, test_peer_plain_tap);
	tcase_add_test(tc, test_add_peers);
	tcase_add_test(tc, test_json_max);
	tcase_add_test(tc, test_too_many_peers);
	tcase_add_test(tc, test_to_json_checks);
	tcase_add_test(tc, test_array);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_format_bytes);
	tcase_add_test(tc, test_format_duration);
	tcase_add_test(tc, test_print_sealed);
	tcase_add_test(tc, test_netns);
	tcase_add_test(tc, test_print_plain);
	tcase_add_test(tc, test_print_wraps);
	tcase_add_test(tc, test_print_peers);
	suite_add_tcase(s, tc);
	return check_run(s);
}
