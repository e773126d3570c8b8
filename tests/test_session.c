/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "index_table.h"
#include "key.h"
#include "session.h"
#include "check_run.h"

/*
 * Two peers A and B, each a session configured with the other's public key;
 * time is a fake monotonic clock in milliseconds that the tests advance.
 * A message "sent" is just a buffer handed to the other side's
 * session_receive(), in whatever order, as often as a test likes.
 */
#define T0 1000000

struct msg {
	uint8_t buf[SESSION_MAX_MESSAGE_LEN];
	size_t len;
};

struct peers {
	uint8_t a_priv[KEY_LEN], a_pub[KEY_LEN];
	uint8_t b_priv[KEY_LEN], b_pub[KEY_LEN];
	struct session *a, *b;
};

static struct peers P;
static uint64_t now;
static uint8_t out[SESSION_MAX_MESSAGE_LEN];
static size_t out_len;
static enum session_action action;

static const uint8_t *u(const char *text)
{
	return (const uint8_t *)text;
}

static void keys(uint8_t *priv, uint8_t *pub)
{
	key_generate_private(priv);
	ck_assert_int_eq(key_public_from_private(pub, priv), 0);
}

static struct session *mk(const uint8_t *priv, const uint8_t *peer, const uint8_t *psk, bool stream)
{
	struct session_config cfg = {
	    .local_private = priv,
	    .peer_public = peer,
	    .psk = psk,
	    .stream = stream,
	};
	struct session *s;

	ck_assert_int_eq(session_new(&s, &cfg), 0);
	return s;
}

static void setup_mode(bool stream)
{
	ck_assert_int_ge(sodium_init(), 0);
	keys(P.a_priv, P.a_pub);
	keys(P.b_priv, P.b_pub);
	P.a = mk(P.a_priv, P.b_pub, NULL, stream);
	P.b = mk(P.b_priv, P.a_pub, NULL, stream);
	now = T0;
}

static void setup(void)
{
	setup_mode(false);
}

static void teardown(void)
{
	session_free(P.a);
	session_free(P.b);
	P.a = P.b = NULL;
}

/* Fresh sessions in the mode a loop test asks for (0 datagram, 1 stream). */
static void mode(int i)
{
	teardown();
	setup_mode(i != 0);
}

static struct session_stats stats(const struct session *s)
{
	struct session_stats st;

	session_get_stats(s, &st);
	return st;
}

static void initiate(struct session *s, struct msg *m)
{
	ck_assert_int_eq(session_initiate(s, now, m->buf, sizeof(m->buf), &m->len), 0);
	ck_assert_uint_eq(m->len, SESSION_INITIATION_LEN);
}

/* Delivers @m to @to; returns session_receive()'s result, output in out. */
static int recv_msg(struct session *to, const struct msg *m)
{
	return session_receive(to, now, m->buf, m->len, out, sizeof(out), &out_len, &action);
}

/* @to answers @m; the response goes into @reply. */
static void respond(struct session *to, const struct msg *m, struct msg *reply)
{
	ck_assert_int_eq(recv_msg(to, m), 0);
	ck_assert_int_eq(action, SESSION_REPLY);
	ck_assert_uint_eq(out_len, SESSION_RESPONSE_LEN);
	memcpy(reply->buf, out, out_len);
	reply->len = out_len;
}

static void seal(struct session *s, const void *data, size_t len, struct msg *m)
{
	ck_assert_int_eq(session_seal(s, now, data, len, m->buf, sizeof(m->buf), &m->len), 0);
	ck_assert_uint_eq(m->len, len + SESSION_TRANSPORT_OVERHEAD);
}

static void expect_deliver(struct session *to, const struct msg *m, const void *data, size_t len)
{
	ck_assert_int_eq(recv_msg(to, m), 0);
	ck_assert_int_eq(action, SESSION_DELIVER);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, data, len);
}

static void expect_error(struct session *to, const struct msg *m, int err)
{
	int r = recv_msg(to, m);

	ck_assert_int_eq(r, err);
	ck_assert_int_eq(action, SESSION_NONE);
	ck_assert_uint_eq(out_len, 0);
}

/* @i initiates to @r, then confirms with a keepalive, as the daemon does. */
static void handshake(struct session *i, struct session *r)
{
	struct msg m1, m2, ka;

	initiate(i, &m1);
	respond(r, &m1, &m2);
	ck_assert_int_eq(recv_msg(i, &m2), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
	ck_assert(session_is_up(i, now));
	seal(i, NULL, 0, &ka);
	ck_assert_int_eq(recv_msg(r, &ka), 0);
	ck_assert_int_eq(action, SESSION_KEEPALIVE);
	ck_assert(session_is_up(r, now));
}

/* @from sends @text to @to, which must deliver it intact. */
static void data_ok(struct session *from, struct session *to, const char *text)
{
	struct msg m;

	seal(from, text, strlen(text), &m);
	expect_deliver(to, &m, text, strlen(text));
}

START_TEST(test_handshake_and_data)
{
	uint8_t big[SESSION_MAX_PACKET_LEN + 1];
	struct msg m;

	mode(_i);
	ck_assert(!session_is_up(P.a, now));
	ck_assert_uint_eq(session_last_handshake_ms(P.a), 0);
	handshake(P.a, P.b);
	ck_assert_uint_eq(session_last_handshake_ms(P.a), T0);
	ck_assert_uint_eq(session_last_handshake_ms(P.b), T0);
	for (int k = 0; k < 20; k++) {
		now += 10;
		data_ok(P.a, P.b, "ping from A");
		data_ok(P.b, P.a, "pong from B");
	}
	/* The largest packet. */
	randombytes_buf(big, SESSION_MAX_PACKET_LEN);
	seal(P.a, big, SESSION_MAX_PACKET_LEN, &m);
	ck_assert_uint_eq(m.len, SESSION_MAX_MESSAGE_LEN);
	expect_deliver(P.b, &m, big, SESSION_MAX_PACKET_LEN);
	ck_assert_int_eq(session_seal(P.a, now, big, sizeof(big), m.buf, sizeof(m.buf), &m.len),
			 -EMSGSIZE);
	ck_assert_uint_eq(stats(P.a).handshakes_completed, 1);
	ck_assert_uint_eq(stats(P.b).handshakes_completed, 1);
	ck_assert_uint_eq(stats(P.b).packets_delivered, 21);
	ck_assert_uint_eq(stats(P.b).keepalives_received, 1);
	ck_assert_uint_eq(stats(P.a).handshake_dh, 1);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 1);
}
END_TEST

START_TEST(test_wire_layout)
{
	struct msg m1, m2, t;

	initiate(P.a, &m1);
	ck_assert_uint_eq(m1.buf[0], 1);
	ck_assert_uint_eq(m1.buf[1] | m1.buf[2] | m1.buf[3], 0);
	respond(P.b, &m1, &m2);
	ck_assert_uint_eq(m2.len, SESSION_RESPONSE_LEN);
	ck_assert_uint_eq(m2.buf[0], 2);
	ck_assert_uint_eq(m2.buf[1] | m2.buf[2] | m2.buf[3], 0);
	/* The response names the initiation's sender index as its receiver. */
	ck_assert_mem_eq(m2.buf + 8, m1.buf + 4, 4);
	ck_assert_int_eq(recv_msg(P.a, &m2), 0);
	seal(P.a, "xyz", 3, &t);
	ck_assert_uint_eq(t.len, 16 + 3 + 16);
	ck_assert_uint_eq(t.buf[0], 4);
	/* Transport to B carries B's index (the response's sender index) and
	 * counter 0, then 1, big-endian. */
	ck_assert_mem_eq(t.buf + 4, m2.buf + 4, 4);
	for (int k = 8; k < 16; k++)
		ck_assert_uint_eq(t.buf[k], 0);
	seal(P.a, "xyz", 3, &t);
	for (int k = 8; k < 15; k++)
		ck_assert_uint_eq(t.buf[k], 0);
	ck_assert_uint_eq(t.buf[15], 1);
}
END_TEST

START_TEST(test_responder_waits_for_confirmation)
{
	struct msg m1, m2, m;

	initiate(P.a, &m1);
	respond(P.b, &m1, &m2);
	/* B cannot know A has the keys until A uses them (paper 6.3). */
	ck_assert_int_eq(session_seal(P.b, now, u("x"), 1, m.buf, sizeof(m.buf), &m.len), -ENOKEY);
	ck_assert_uint_eq(stats(P.b).seal_no_key, 1);
	ck_assert_int_eq(recv_msg(P.a, &m2), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
	data_ok(P.a, P.b, "first");
	ck_assert(session_is_up(P.b, now));
	data_ok(P.b, P.a, "reply");
}
END_TEST

START_TEST(test_in_place)
{
	static uint8_t buf[64 + SESSION_TRANSPORT_OVERHEAD];
	const char text[] = "in place, with headroom";
	size_t len, plen;

	handshake(P.a, P.b);
	memcpy(buf + SESSION_TRANSPORT_HEADER_LEN, text, sizeof(text));
	ck_assert_int_eq(session_seal(P.a, now, buf + SESSION_TRANSPORT_HEADER_LEN, sizeof(text),
				      buf, sizeof(buf), &len),
			 0);
	ck_assert_int_eq(session_receive(P.b, now, buf, len, buf + SESSION_TRANSPORT_HEADER_LEN,
					 sizeof(buf) - SESSION_TRANSPORT_HEADER_LEN, &plen,
					 &action),
			 0);
	ck_assert_int_eq(action, SESSION_DELIVER);
	ck_assert_uint_eq(plen, sizeof(text));
	ck_assert_mem_eq(buf + SESSION_TRANSPORT_HEADER_LEN, text, sizeof(text));
}
END_TEST

/* Type 5 (offload) messages: the empty one is the offer, a full one is
 * delivered as SESSION_DELIVER_OFFLOAD; the type byte is authenticated, so
 * turning a type 4 into a type 5 (which would make the receiver read a
 * packet as a virtio-net header) fails the tag. */
START_TEST(test_offload_type)
{
	const char text[] = "0123456789 header, then a packet";
	struct msg m;

	handshake(P.a, P.b);
	ck_assert_int_eq(session_seal_offload(P.a, now, NULL, 0, m.buf, sizeof(m.buf), &m.len), 0);
	ck_assert_uint_eq(m.buf[0], SESSION_TYPE_TRANSPORT_OFFLOAD);
	ck_assert_int_eq(recv_msg(P.b, &m), 0);
	ck_assert_int_eq(action, SESSION_OFFLOAD_OFFER);
	ck_assert_int_eq(session_seal_offload(P.a, now, (const uint8_t *)text, sizeof(text), m.buf,
					      sizeof(m.buf), &m.len),
			 0);
	ck_assert_int_eq(recv_msg(P.b, &m), 0);
	ck_assert_int_eq(action, SESSION_DELIVER_OFFLOAD);
	ck_assert_uint_eq(out_len, sizeof(text));
	ck_assert_mem_eq(out, text, sizeof(text));
	seal(P.a, text, sizeof(text), &m);
	m.buf[0] = SESSION_TYPE_TRANSPORT_OFFLOAD;
	expect_error(P.b, &m, -EBADMSG);
	m.buf[0] = 6;
	expect_error(P.b, &m, -EPROTO);
	data_ok(P.a, P.b, "still in step");
}
END_TEST

/*
 * Every single-byte change to a transport message is refused and delivers
 * nothing; the header bytes that route the message give their own errors
 * before the tag is checked, every other byte fails the tag.  The genuine
 * message still decrypts afterwards: forgeries move no state.
 */
START_TEST(test_tamper_transport)
{
	const char text[] = "tamper with me";
	struct msg m, bad;

	mode(_i);
	handshake(P.a, P.b);
	seal(P.a, text, sizeof(text), &m);
	for (size_t pos = 0; pos < m.len; pos++) {
		int want;

		if (pos < 4)
			want = -EPROTO; /* type, reserved */
		else if (pos < 8)
			want = -ENOKEY; /* receiver index */
		else if (pos < 16)
			want = _i ? -EPROTO : -EBADMSG; /* counter */
		else
			want = -EBADMSG; /* ciphertext, tag */
		bad = m;
		bad.buf[pos] ^=
		    pos == 8 ? 0x80 : 0x02; /* 0x01 would make counter 1 the keepalive's 0 */
		expect_error(P.b, &bad, want);
	}
	ck_assert_uint_eq(stats(P.b).rx_bad_tag, _i ? m.len - 16 : m.len - 8);
	/* Truncated and extended. */
	bad = m;
	bad.len--;
	expect_error(P.b, &bad, -EBADMSG);
	bad = m;
	bad.buf[bad.len++] = 0;
	expect_error(P.b, &bad, -EBADMSG);
	expect_deliver(P.b, &m, text, sizeof(text));
}
END_TEST

START_TEST(test_replay_datagram)
{
	struct msg m[10], first;

	handshake(P.a, P.b);
	for (int k = 0; k < 10; k++)
		seal(P.a, &k, sizeof(k), &m[k]);
	/* Reordered within the window: all accepted, once. */
	for (int k = 9; k >= 0; k--)
		expect_deliver(P.b, &m[k], &k, sizeof(k));
	for (int k = 0; k < 10; k++)
		expect_error(P.b, &m[k], -EALREADY);
	ck_assert_uint_eq(stats(P.b).rx_replayed, 10);
	/* Older than the window (REPLAY_WINDOW_SIZE counters). */
	seal(P.a, "old", 3, &first);
	for (int k = 0; k < 5000; k++) {
		struct msg x;

		seal(P.a, "", 0, &x);
		if (k == 4999)
			ck_assert_int_eq(recv_msg(P.b, &x), 0);
	}
	expect_error(P.b, &first, -ESTALE);
	ck_assert_uint_eq(stats(P.b).rx_stale, 1);
}
END_TEST

START_TEST(test_order_stream)
{
	struct msg m0, m1, m2;

	mode(1);
	handshake(P.a, P.b);
	seal(P.a, "zero", 4, &m0);
	seal(P.a, "one", 3, &m1);
	seal(P.a, "two", 3, &m2);
	expect_error(P.b, &m1, -EPROTO);
	expect_deliver(P.b, &m0, "zero", 4);
	expect_error(P.b, &m0, -EPROTO); /* a replay is out of order too */
	expect_error(P.b, &m2, -EPROTO);
	expect_deliver(P.b, &m1, "one", 3);
	expect_deliver(P.b, &m2, "two", 3);
	ck_assert_uint_eq(stats(P.b).rx_out_of_order, 3);
}
END_TEST

/* Delivers @m to @to as arriving over a stream (@stream) or as a datagram. */
static int recv_on(struct session *to, bool stream, const struct msg *m)
{
	return session_receive_on(to, stream, now, m->buf, m->len, out, sizeof(out), &out_len,
				  &action);
}

/* @i initiates to @r, every message arriving over a stream (@stream) or as
 * a datagram; @i's keypair is current after it. */
static void handshake_on(struct session *i, struct session *r, bool stream)
{
	struct msg m1, m2;

	initiate(i, &m1);
	ck_assert_int_eq(recv_on(r, stream, &m1), 0);
	ck_assert_int_eq(action, SESSION_REPLY);
	memcpy(m2.buf, out, out_len);
	m2.len = out_len;
	ck_assert_int_eq(recv_on(i, stream, &m2), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
}

/*
 * A session serving both transports (Transports = udp, tcp): each keypair
 * takes the transport its handshake arrived over, and a transport message
 * copied to the other transport is refused before decryption without
 * harming the genuine one.
 */
START_TEST(test_transport_per_keypair)
{
	struct msg ka, d0, d1, u0, u1;

	/* A handshake over a stream: counters without gaps. */
	handshake_on(P.a, P.b, true);
	seal(P.a, NULL, 0, &ka);
	ck_assert_int_eq(recv_on(P.b, true, &ka), 0);
	ck_assert_int_eq(action, SESSION_KEEPALIVE);
	seal(P.a, "zero", 4, &d0);
	seal(P.a, "one", 3, &d1);
	/* Copied into a datagram: refused, not decrypted, not counted as
	 * received, and the stream goes on as if nothing happened. */
	ck_assert_int_eq(recv_on(P.b, false, &d0), -EPROTOTYPE);
	ck_assert_int_eq(action, SESSION_NONE);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_int_eq(recv_on(P.b, true, &d0), 0);
	ck_assert_int_eq(action, SESSION_DELIVER);
	ck_assert_mem_eq(out, "zero", 4);
	/* Over the stream a gap is still corruption. */
	ck_assert_int_eq(recv_on(P.b, true, &d0), -EPROTO);
	ck_assert_int_eq(recv_on(P.b, true, &d1), 0);
	ck_assert_mem_eq(out, "one", 3);

	/* A new handshake over datagrams: its keypair takes reordering and
	 * refuses replays, and refuses a copy sent over the stream. */
	now += 1000;
	handshake_on(P.a, P.b, false);
	seal(P.a, "u0", 2, &u0);
	seal(P.a, "u1", 2, &u1);
	ck_assert_int_eq(recv_on(P.b, true, &u1), -EPROTOTYPE);
	ck_assert_int_eq(recv_on(P.b, false, &u1), 0);
	ck_assert_int_eq(action, SESSION_DELIVER);
	ck_assert_int_eq(recv_on(P.b, false, &u0), 0); /* reordered: fine */
	ck_assert_mem_eq(out, "u0", 2);
	ck_assert_int_eq(recv_on(P.b, false, &u0), -EALREADY);
	/* The responder answers under the new keypair: only as a datagram. */
	seal(P.b, "back", 4, &d0);
	ck_assert_int_eq(recv_on(P.a, true, &d0), -EPROTOTYPE);
	ck_assert_int_eq(recv_on(P.a, false, &d0), 0);
	ck_assert_mem_eq(out, "back", 4);
	ck_assert_uint_eq(stats(P.b).rx_wrong_transport, 2);
	ck_assert_uint_eq(stats(P.a).rx_wrong_transport, 1);
}
END_TEST

START_TEST(test_replayed_initiation)
{
	struct msg i1, i2, r;

	initiate(P.a, &i1);
	initiate(P.a, &i2);
	respond(P.b, &i2, &r);
	/* The same initiation again, and an older one. */
	expect_error(P.b, &i2, -ETIME);
	expect_error(P.b, &i1, -ETIME);
	ck_assert_uint_eq(stats(P.b).rx_replayed_initiation, 2);
	/* The answered one still completes. */
	ck_assert_int_eq(recv_msg(P.a, &r), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
	data_ok(P.a, P.b, "ok");
	/* After a reset (a new TCP connection, say) old initiations stay refused. */
	session_reset(P.b);
	expect_error(P.b, &i2, -ETIME);
}
END_TEST

START_TEST(test_wrong_peer_key)
{
	uint8_t c_priv[KEY_LEN], c_pub[KEY_LEN];
	struct session *b_expects_c, *a_thinks_b_is_c;
	struct msg m;

	keys(c_priv, c_pub);
	/* B only accepts C: A's initiation authenticates A, not C. */
	b_expects_c = mk(P.b_priv, c_pub, NULL, false);
	initiate(P.a, &m);
	expect_error(b_expects_c, &m, -EACCES);
	ck_assert_uint_eq(stats(b_expects_c).rx_unknown_peer, 1);
	ck_assert(!session_is_up(b_expects_c, now));
	/* A uses the wrong key for B: mac1 is keyed with it, so B drops the
	 * initiation before any DH. */
	a_thinks_b_is_c = mk(P.a_priv, c_pub, NULL, false);
	initiate(a_thinks_b_is_c, &m);
	expect_error(P.b, &m, -EBADMSG);
	ck_assert_uint_eq(stats(P.b).rx_bad_mac1, 1);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 0);
	session_free(b_expects_c);
	session_free(a_thinks_b_is_c);
}
END_TEST

START_TEST(test_psk)
{
	uint8_t psk1[32], psk2[32];
	struct session *a, *b;
	struct msg m1, m2;

	randombytes_buf(psk1, sizeof(psk1));
	randombytes_buf(psk2, sizeof(psk2));
	/* Same PSK: works. */
	a = mk(P.a_priv, P.b_pub, psk1, false);
	b = mk(P.b_priv, P.a_pub, psk1, false);
	handshake(a, b);
	data_ok(a, b, "with psk");
	session_free(a);
	session_free(b);
	/* Different PSKs, or one side without: B answers (the psk is mixed in
	 * at the end of message 2), A can never read the answer. */
	for (int k = 0; k < 2; k++) {
		a = mk(P.a_priv, P.b_pub, psk1, false);
		b = mk(P.b_priv, P.a_pub, k ? NULL : psk2, false);
		initiate(a, &m1);
		respond(b, &m1, &m2);
		expect_error(a, &m2, -EBADMSG);
		ck_assert_uint_eq(stats(a).rx_bad_handshake, 1);
		ck_assert(!session_is_up(a, now));
		ck_assert_int_eq(session_seal(a, now, u("x"), 1, m1.buf, sizeof(m1.buf), &m1.len),
				 -ENOKEY);
		session_free(a);
		session_free(b);
	}
}
END_TEST

START_TEST(test_mac1)
{
	struct msg m, bad, r;
	uint8_t junk[SESSION_INITIATION_LEN];

	initiate(P.a, &m);
	/* Any byte of an initiation up to mac2 changed: mac1 fails, no DH is
	 * spent.  mac2 is not the session's to check (lib/cookie.h). */
	for (size_t pos = 4; pos < m.len - COOKIE_MAC_LEN; pos++) {
		bad = m;
		bad.buf[pos] ^= 0x01;
		expect_error(P.b, &bad, -EBADMSG);
	}
	memset(junk, 0, sizeof(junk));
	randombytes_buf(junk + 4, sizeof(junk) - 4);
	junk[0] = SESSION_TYPE_INITIATION;
	memcpy(bad.buf, junk, sizeof(junk));
	bad.len = sizeof(junk);
	expect_error(P.b, &bad, -EBADMSG);
	ck_assert_uint_eq(stats(P.b).rx_bad_mac1, m.len - COOKIE_MAC_LEN - 4 + 1);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 0);
	/* The same for a response; a forged response does not kill A's
	 * pending initiation. */
	respond(P.b, &m, &r);
	for (size_t pos = 4; pos < r.len - COOKIE_MAC_LEN; pos++) {
		bad = r;
		bad.buf[pos] ^= 0x01;
		ck_assert_int_lt(recv_msg(P.a, &bad), 0);
	}
	ck_assert_uint_eq(stats(P.a).handshake_dh, 0);
	ck_assert_int_eq(recv_msg(P.a, &r), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
}
END_TEST

/* A response with a valid mac1 but forged Noise content leaves A waiting. */
START_TEST(test_forged_response_keeps_handshake)
{
	struct msg m, r, bad;
	uint8_t b_mac1_key_in[8 + KEY_LEN], key[32];

	initiate(P.a, &m);
	respond(P.b, &m, &r);
	bad = r;
	bad.buf[20] ^= 1; /* inside the ephemeral key */
	memcpy(b_mac1_key_in, "mac1----", 8);
	memcpy(b_mac1_key_in + 8, P.a_pub, KEY_LEN);
	crypto_generichash(key, 32, b_mac1_key_in, sizeof(b_mac1_key_in), NULL, 0);
	crypto_generichash(bad.buf + 60, 16, bad.buf, 60, key, 32);
	expect_error(P.a, &bad, -EBADMSG);
	ck_assert_uint_eq(stats(P.a).handshake_dh, 1);
	ck_assert_uint_eq(stats(P.a).rx_bad_handshake, 1);
	ck_assert_int_eq(recv_msg(P.a, &r), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
}
END_TEST

START_TEST(test_malformed)
{
	struct msg m1, m2, t, bad;
	int types[] = {0, 6, 255};

	initiate(P.a, &m1);
	respond(P.b, &m1, &m2);
	ck_assert_int_eq(recv_msg(P.a, &m2), 0);
	seal(P.a, "abc", 3, &t);
	const struct msg *all[] = {&m1, &m2, &t};
	for (size_t k = 0; k < 3; k++) {
		for (int r = 1; r < 4; r++) {
			bad = *all[k];
			bad.buf[r] = 1;
			expect_error(k == 1 ? P.a : P.b, &bad, -EPROTO);
		}
		for (size_t t_ = 0; t_ < sizeof(types) / sizeof(types[0]); t_++) {
			bad = *all[k];
			bad.buf[0] = (uint8_t)types[t_];
			expect_error(P.b, &bad, -EPROTO);
		}
	}
	bad = m1;
	bad.len = SESSION_INITIATION_LEN - 1;
	expect_error(P.b, &bad, -EPROTO);
	bad.len = SESSION_INITIATION_LEN + 1;
	expect_error(P.b, &bad, -EPROTO);
	bad = m2;
	bad.len = SESSION_RESPONSE_LEN - 1;
	expect_error(P.a, &bad, -EPROTO);
	bad.len = SESSION_RESPONSE_LEN + 1;
	expect_error(P.a, &bad, -EPROTO);
	/* A cookie reply of the length of the others. */
	bad = m2;
	bad.buf[0] = SESSION_TYPE_COOKIE_REPLY;
	expect_error(P.a, &bad, -EPROTO);
	bad = t;
	bad.len = SESSION_TRANSPORT_OVERHEAD - 1;
	expect_error(P.b, &bad, -EPROTO);
	bad.len = 0;
	expect_error(P.b, &bad, -EPROTO);
	bad.len = SESSION_MAX_MESSAGE_LEN + 1;
	ck_assert_int_eq(
	    session_receive(P.b, now, bad.buf, bad.len, out, sizeof(out), &out_len, &action),
	    -EPROTO);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 1);
	/* The genuine messages were not disturbed. */
	ck_assert_int_eq(recv_msg(P.b, &t), 0);
	ck_assert_int_eq(action, SESSION_DELIVER);
}
END_TEST

/*
 * No global bucket: a hundred distinct initiations all reach Noise (the
 * rate limit is per source, the caller's), while copies of one are refused
 * before any Diffie-Hellman (doc/design.md section 3 "DoS").
 */
START_TEST(test_replay_before_dh)
{
	static struct msg m[100];
	struct msg r;
	int replies = 0;

	for (int k = 0; k < 100; k++)
		initiate(P.a, &m[k]);
	for (int k = 0; k < 100; k++)
		if (recv_msg(P.b, &m[k]) == 0)
			replies++;
	ck_assert_int_eq(replies, 100);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 100);
	/* Copies of the latest (inside the ring) and of the first (pushed
	 * out of it: refused by the timestamp, after DH) are replays. */
	for (int k = 0; k < 1000; k++)
		expect_error(P.b, &m[99], -ETIME);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 100);
	expect_error(P.b, &m[0], -ETIME);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 101);
	expect_error(P.b, &m[0], -ETIME);
	ck_assert_uint_eq(stats(P.b).handshake_dh, 101);
	ck_assert_uint_eq(stats(P.b).rx_replayed_initiation, 1002);
	/* A fresh initiation still completes. */
	initiate(P.a, &m[0]);
	respond(P.b, &m[0], &r);
	ck_assert_int_eq(recv_msg(P.a, &r), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
}
END_TEST

/*
 * Under load the responder answers with a cookie reply (lib/cookie.h); the
 * initiator keeps the cookie, and its next initiation carries a mac2 that
 * the responder's checker accepts for the same source only.
 */
/*
 * WireGuard paper section 6.5: data sent and nothing heard back for 15 s
 * (Keepalive-Timeout + Rekey-Timeout) starts a handshake, so a peer that
 * restarted and lost its keys is found; anything authenticated from the
 * peer, a keepalive too, resets that clock.
 */
START_TEST(test_unanswered_data)
{
	struct msg m, ka;
	uint64_t t0;

	handshake(P.a, P.b);
	now += 1000;
	ck_assert(!session_wants_handshake(P.a, now));
	seal(P.a, "lost", 4, &m);
	t0 = now;
	now = t0 + SESSION_KEEPALIVE_TIMEOUT_MS + SESSION_REKEY_TIMEOUT_MS - 1;
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert_uint_le(session_next_deadline(P.a, now), now + 1);
	now++;
	ck_assert(session_wants_handshake(P.a, now));
	/* B answering anything, even a keepalive, was enough. */
	seal(P.b, NULL, 0, &ka);
	ck_assert_int_eq(recv_msg(P.a, &ka), 0);
	ck_assert(!session_wants_handshake(P.a, now));
	/* Keepalives alone never ask for an answer. */
	seal(P.a, NULL, 0, &ka);
	now += 60000;
	ck_assert(!session_wants_handshake(P.a, now));
	/* The handshake it starts clears the wish. */
	seal(P.a, "x", 1, &m);
	now += SESSION_KEEPALIVE_TIMEOUT_MS + SESSION_REKEY_TIMEOUT_MS;
	ck_assert(session_wants_handshake(P.a, now));
	initiate(P.a, &m);
	ck_assert(!session_wants_handshake(P.a, now));
}
END_TEST

/* The passive keepalive: data received and nothing sent for 10 s owes the
 * peer a keepalive; anything sent meanwhile pays it. */
START_TEST(test_passive_keepalive)
{
	struct msg m, r;

	handshake(P.a, P.b);
	ck_assert(!session_wants_keepalive(P.b, now));
	seal(P.a, "one way", 7, &m);
	ck_assert_int_eq(recv_msg(P.b, &m), 0);
	now += SESSION_KEEPALIVE_TIMEOUT_MS - 1;
	ck_assert(!session_wants_keepalive(P.b, now));
	ck_assert_uint_le(session_next_deadline(P.b, now), now + 1);
	now++;
	ck_assert(session_wants_keepalive(P.b, now));
	seal(P.b, NULL, 0, &r);
	ck_assert(!session_wants_keepalive(P.b, now));
	/* Owed, then paid by a reply with data before the time. */
	seal(P.a, "again", 5, &m);
	ck_assert_int_eq(recv_msg(P.b, &m), 0);
	seal(P.b, "reply", 5, &r);
	now += SESSION_KEEPALIVE_TIMEOUT_MS;
	ck_assert(!session_wants_keepalive(P.b, now));
	/* A keepalive received owes nothing. */
	seal(P.a, NULL, 0, &m);
	ck_assert_int_eq(recv_msg(P.b, &m), 0);
	now += SESSION_KEEPALIVE_TIMEOUT_MS;
	ck_assert(!session_wants_keepalive(P.b, now));
}
END_TEST

START_TEST(test_cookie_reply)
{
	struct cookie_checker c;
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons(4242)};
	struct sockaddr_in other = src;
	uint8_t reply[COOKIE_REPLY_LEN];
	struct msg m, cr, r;

	src.sin_addr.s_addr = htonl(0xc6120002);
	other.sin_addr.s_addr = htonl(0xc6120003);
	cookie_checker_init(&c, P.b_pub);
	initiate(P.a, &m);
	ck_assert_int_eq(cookie_checker_validate(&c, m.buf, m.len, true, (struct sockaddr *)&src,
						 sizeof(src), now),
			 COOKIE_MAC1_ONLY);
	ck_assert_int_eq(cookie_checker_reply(&c, m.buf, m.len, (struct sockaddr *)&src,
					      sizeof(src), now, reply),
			 0);
	memcpy(cr.buf, reply, sizeof(reply));
	cr.len = sizeof(reply);
	/* A forged reply (a flipped bit) does not open; the genuine one does,
	 * once. */
	cr.buf[40] ^= 1;
	expect_error(P.a, &cr, -EBADMSG);
	ck_assert_uint_eq(stats(P.a).rx_bad_cookie, 1);
	cr.buf[40] ^= 1;
	ck_assert_int_eq(recv_msg(P.a, &cr), 0);
	ck_assert_int_eq(action, SESSION_COOKIE);
	ck_assert_uint_eq(stats(P.a).cookies_received, 1);
	expect_error(P.a, &cr, -ENOKEY);
	/* The next initiation carries mac2 for this source. */
	now += 10;
	initiate(P.a, &m);
	ck_assert_int_eq(cookie_checker_validate(&c, m.buf, m.len, true, (struct sockaddr *)&src,
						 sizeof(src), now),
			 COOKIE_MAC1_AND_COOKIE);
	ck_assert_int_eq(cookie_checker_validate(&c, m.buf, m.len, true, (struct sockaddr *)&other,
						 sizeof(other), now),
			 COOKIE_MAC1_ONLY);
	/* The secret is replaced after two minutes: the old cookie is void. */
	ck_assert_int_eq(cookie_checker_validate(&c, m.buf, m.len, true, (struct sockaddr *)&src,
						 sizeof(src), now + COOKIE_SECRET_MAX_AGE_MS),
			 COOKIE_MAC1_ONLY);
	respond(P.b, &m, &r);
	ck_assert_int_eq(recv_msg(P.a, &r), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
	/* A cookie reply to no pending initiation is refused. */
	expect_error(P.a, &cr, -ENOKEY);
	cookie_checker_cleanup(&c);
}
END_TEST

START_TEST(test_rekey)
{
	struct msg a_old, b_old, m1, m2, a_new, b_new;

	mode(_i);
	handshake(P.a, P.b);
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert_uint_eq(session_next_deadline(P.a, now), T0 + SESSION_REKEY_AFTER_TIME_MS);
	now = T0 + SESSION_REKEY_AFTER_TIME_MS - 1;
	ck_assert(!session_wants_handshake(P.a, now));
	now = T0 + SESSION_REKEY_AFTER_TIME_MS;
	ck_assert(session_wants_handshake(P.a, now));
	/* The responder waits longer, so the two rarely cross. */
	ck_assert(!session_wants_handshake(P.b, now));
	/* Packets sealed under the old keypair, still in flight. */
	seal(P.a, "old from A", 10, &a_old);
	seal(P.b, "old from B", 10, &b_old);
	initiate(P.a, &m1);
	ck_assert(!session_wants_handshake(P.a, now));
	respond(P.b, &m1, &m2);
	ck_assert_int_eq(recv_msg(P.a, &m2), 0);
	ck_assert_int_eq(action, SESSION_ESTABLISHED);
	ck_assert_uint_eq(stats(P.a).rekeys, 1);
	/* Both old packets still decrypt: B's current, A's previous. */
	expect_deliver(P.b, &a_old, "old from A", 10);
	expect_deliver(P.a, &b_old, "old from B", 10);
	/* A seals under the new keypair at once; its first message confirms it. */
	seal(P.a, "new from A", 10, &a_new);
	ck_assert_mem_ne(a_new.buf + 4, a_old.buf + 4, 4);
	expect_deliver(P.b, &a_new, "new from A", 10);
	ck_assert_uint_eq(stats(P.b).rekeys, 1);
	seal(P.b, "new from B", 10, &b_new);
	ck_assert_mem_ne(b_new.buf + 4, b_old.buf + 4, 4);
	expect_deliver(P.a, &b_new, "new from B", 10);
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert(!session_wants_handshake(P.b, now));
	/* The old keypair ages out with its own clock. */
	now = T0 + SESSION_REJECT_AFTER_TIME_MS;
	expect_error(P.b, &a_old, -EKEYEXPIRED);
	expect_error(P.b, &a_old, -ENOKEY);
	data_ok(P.a, P.b, "still fine");
	data_ok(P.b, P.a, "still fine");
}
END_TEST

START_TEST(test_responder_rekeys_later)
{
	handshake(P.a, P.b);
	now = T0 + SESSION_REKEY_AFTER_TIME_MS + SESSION_RESPONDER_REKEY_DELAY_MS - 1;
	ck_assert(!session_wants_handshake(P.b, now));
	ck_assert_uint_eq(session_next_deadline(P.b, now),
			  T0 + SESSION_REKEY_AFTER_TIME_MS + SESSION_RESPONDER_REKEY_DELAY_MS);
	now++;
	ck_assert(session_wants_handshake(P.b, now));
	/* B initiates; roles swap. */
	handshake(P.b, P.a);
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert(!session_wants_handshake(P.b, now));
	data_ok(P.a, P.b, "after role swap");
	data_ok(P.b, P.a, "after role swap");
}
END_TEST

START_TEST(test_expiry)
{
	struct msg a_msg, b_msg, m;

	mode(_i);
	handshake(P.a, P.b);
	now = T0 + 1;
	seal(P.a, "late", 4, &a_msg);
	seal(P.b, "late", 4, &b_msg);
	now = T0 + SESSION_REJECT_AFTER_TIME_MS - 1;
	ck_assert(session_is_up(P.a, now));
	/* The data A sealed at T0 + 1 went unanswered: that handshake is
	 * due before the rekey (paper section 6.5). */
	ck_assert_uint_eq(session_next_deadline(P.a, T0 + SESSION_REKEY_AFTER_TIME_MS + 5),
			  T0 + 1 + SESSION_KEEPALIVE_TIMEOUT_MS + SESSION_REKEY_TIMEOUT_MS);
	now = T0 + SESSION_REJECT_AFTER_TIME_MS;
	ck_assert(!session_is_up(P.a, now));
	ck_assert(!session_is_up(P.b, now));
	ck_assert_int_eq(session_seal(P.a, now, u("x"), 1, m.buf, sizeof(m.buf), &m.len), -ENOKEY);
	expect_error(P.b, &a_msg, -EKEYEXPIRED);
	ck_assert_uint_eq(stats(P.b).rx_expired, 1);
	expect_error(P.b, &a_msg, -ENOKEY);
	ck_assert_int_eq(session_seal(P.b, now, u("x"), 1, m.buf, sizeof(m.buf), &m.len), -ENOKEY);
	/* A already erased its keypair when it tried to seal. */
	expect_error(P.a, &b_msg, -ENOKEY);
	/* Both have traffic waiting and no keypair: both want a handshake. */
	ck_assert(session_wants_handshake(P.a, now));
	ck_assert(session_wants_handshake(P.b, now));
	ck_assert_uint_le(session_next_deadline(P.b, now), now);
	handshake(P.a, P.b);
	data_ok(P.a, P.b, "back");
}
END_TEST

/* Both sides initiate at once: each answers the other's, and either order
 * of arrival leaves both with keypairs that carry data both ways. */
START_TEST(test_simultaneous)
{
	struct msg ia, ib, ra, rb;

	mode(_i / 2);
	initiate(P.a, &ia);
	initiate(P.b, &ib);
	if (_i % 2 == 0) {
		respond(P.a, &ib, &ra);
		respond(P.b, &ia, &rb);
		ck_assert_int_eq(recv_msg(P.a, &rb), 0);
		ck_assert_int_eq(action, SESSION_ESTABLISHED);
		ck_assert_int_eq(recv_msg(P.b, &ra), 0);
		ck_assert_int_eq(action, SESSION_ESTABLISHED);
	} else {
		/* B's initiation is answered and completed before A's arrives. */
		respond(P.a, &ib, &ra);
		ck_assert_int_eq(recv_msg(P.b, &ra), 0);
		ck_assert_int_eq(action, SESSION_ESTABLISHED);
		respond(P.b, &ia, &rb);
		ck_assert_int_eq(recv_msg(P.a, &rb), 0);
		ck_assert_int_eq(action, SESSION_ESTABLISHED);
	}
	ck_assert(session_is_up(P.a, now));
	ck_assert(session_is_up(P.b, now));
	for (int k = 0; k < 3; k++) {
		now += 1000;
		data_ok(P.a, P.b, "crossed A");
		data_ok(P.b, P.a, "crossed B");
	}
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert(!session_wants_handshake(P.b, now));
	/* And the next rekey still works. */
	now += SESSION_REKEY_AFTER_TIME_MS;
	ck_assert(session_wants_handshake(P.a, now) || session_wants_handshake(P.b, now));
	handshake(P.a, P.b);
	data_ok(P.a, P.b, "rekeyed A");
	data_ok(P.b, P.a, "rekeyed B");
}
END_TEST

START_TEST(test_retry_and_giveup)
{
	struct msg m1, m2, r1, x;
	uint64_t d;

	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert_uint_eq(session_next_deadline(P.a, now), UINT64_MAX);
	initiate(P.a, &m1);
	/* Unanswered: retry after REKEY_TIMEOUT plus 0..333 ms of jitter. */
	d = session_next_deadline(P.a, now);
	ck_assert_uint_ge(d, T0 + SESSION_REKEY_TIMEOUT_MS);
	ck_assert_uint_lt(d, T0 + SESSION_REKEY_TIMEOUT_MS + SESSION_REKEY_JITTER_MS);
	now = d - 1;
	ck_assert(!session_wants_handshake(P.a, now));
	now = d;
	ck_assert(session_wants_handshake(P.a, now));
	respond(P.b, &m1, &r1); /* B's answer to the first try comes late */
	initiate(P.a, &m2);
	expect_error(P.a, &r1, -ENOKEY);
	/* Keep retrying until 90 s after the first attempt, then give up. */
	while (now < T0 + SESSION_REKEY_ATTEMPT_TIME_MS) {
		now = session_next_deadline(P.a, now);
		if (session_wants_handshake(P.a, now))
			initiate(P.a, &m2);
	}
	ck_assert_uint_eq(now, T0 + SESSION_REKEY_ATTEMPT_TIME_MS);
	ck_assert(!session_wants_handshake(P.a, now));
	ck_assert_uint_ge(stats(P.a).initiations_sent, 17);
	session_expire(P.a, now);
	ck_assert_uint_eq(stats(P.a).handshake_giveups, 1);
	ck_assert_uint_eq(session_next_deadline(P.a, now), UINT64_MAX);
	now += 60000;
	ck_assert(!session_wants_handshake(P.a, now));
	/* Traffic restarts it. */
	ck_assert_int_eq(session_seal(P.a, now, u("x"), 1, x.buf, sizeof(x.buf), &x.len), -ENOKEY);
	ck_assert(session_wants_handshake(P.a, now));
	ck_assert_uint_le(session_next_deadline(P.a, now), now);
	handshake(P.a, P.b);
	ck_assert(!session_wants_handshake(P.a, now));
	data_ok(P.a, P.b, "finally");
}
END_TEST

START_TEST(test_timer_overrides)
{
	struct session_config cfg = {
	    .local_private = P.a_priv,
	    .peer_public = P.b_pub,
	    .rekey_after_ms = 1000,
	    .reject_after_ms = 2000,
	    .rekey_timeout_ms = 100,
	    .rekey_attempt_ms = 300,
	};
	struct session *a;
	struct msg m;

	ck_assert_int_eq(session_new(&a, &cfg), 0);
	handshake(a, P.b);
	now = T0 + 1000;
	ck_assert(session_wants_handshake(a, now));
	now = T0 + 2000;
	ck_assert(!session_is_up(a, now));
	ck_assert_int_eq(session_seal(a, now, u("x"), 1, m.buf, sizeof(m.buf), &m.len), -ENOKEY);
	initiate(a, &m);
	now += 300;
	ck_assert(!session_wants_handshake(a, now));
	session_free(a);
}
END_TEST

START_TEST(test_new_invalid)
{
	struct session_config cfg = {0};
	uint8_t zero[KEY_LEN] = {0};
	struct session *s = (struct session *)&cfg;

	ck_assert_int_eq(session_new(&s, &cfg), -EINVAL);
	ck_assert_ptr_null(s);
	cfg.local_private = P.a_priv;
	ck_assert_int_eq(session_new(&s, &cfg), -EINVAL);
	cfg.peer_public = P.a_pub; /* ourselves */
	ck_assert_int_eq(session_new(&s, &cfg), -EINVAL);
	cfg.peer_public = zero; /* low order */
	ck_assert_int_eq(session_new(&s, &cfg), -EINVAL);
	cfg.local_private = zero;
	cfg.peer_public = P.b_pub;
	ck_assert_int_eq(session_new(&s, &cfg), -EINVAL);
	session_free(NULL);
}
END_TEST

START_TEST(test_small_buffers)
{
	struct msg m1, m2;
	uint8_t small[SESSION_RESPONSE_LEN - 1];
	size_t len;

	ck_assert_int_eq(session_initiate(P.a, now, small, sizeof(small), &len), -EMSGSIZE);
	initiate(P.a, &m1);
	ck_assert_int_eq(
	    session_receive(P.b, now, m1.buf, m1.len, small, sizeof(small), &len, &action),
	    -EMSGSIZE);
	respond(P.b, &m1, &m2);
	ck_assert_int_eq(recv_msg(P.a, &m2), 0);
	ck_assert_int_eq(session_seal(P.a, now, u("abcd"), 4, small, 4 + 31, &len), -EMSGSIZE);
	seal(P.a, "abcd", 4, &m1);
	ck_assert_int_eq(session_receive(P.b, now, m1.buf, m1.len, small, 3, &len, &action),
			 -EMSGSIZE);
	expect_deliver(P.b, &m1, "abcd", 4);
}
END_TEST

/* Random bytes of every plausible shape are refused without side effects. */
START_TEST(test_random_garbage)
{
	static const uint8_t types[] = {SESSION_TYPE_INITIATION, SESSION_TYPE_RESPONSE,
					SESSION_TYPE_TRANSPORT};
	struct msg m, t;
	uint64_t dh;

	handshake(P.a, P.b);
	seal(P.a, NULL, 0, &t);
	dh = stats(P.b).handshake_dh;
	for (int k = 0; k < 20000; k++) {
		m.len = randombytes_uniform(200);
		if (k % 3 == 0)
			m.len =
			    (size_t[]){SESSION_INITIATION_LEN, SESSION_RESPONSE_LEN, 32}[k % 9 / 3];
		randombytes_buf(m.buf, m.len);
		if (m.len > 0)
			m.buf[0] = types[k % 3];
		if (m.len > 3 && k % 2)
			m.buf[1] = m.buf[2] = m.buf[3] = 0;
		if (m.len >= 8 && k % 4 == 1)
			memcpy(m.buf + 4, t.buf + 4, 4); /* a live receiver index */
		ck_assert_int_lt(recv_msg(P.b, &m), 0);
		ck_assert_int_eq(action, SESSION_NONE);
	}
	ck_assert_uint_eq(stats(P.b).handshake_dh, dh);
	data_ok(P.a, P.b, "unharmed");
}
END_TEST

/*
 * mac1 pinned by an independent implementation (Python's hashlib.blake2b):
 * an initiation to Alice (RFC 7748 section 6.1 keys) with sender index
 * 0x1a2b3c4d and an all-zero Noise body carries
 *   mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" || Alice's public),
 *                      bytes 0..115)
 *        = 0796784b75d575503570d97db680945a.
 * It passes mac1 and reaches Noise, which refuses the zero ephemeral key.
 */
START_TEST(test_mac1_vector)
{
	static const char alice_priv_hex[] =
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
	static const uint8_t mac1[16] = {0x07, 0x96, 0x78, 0x4b, 0x75, 0xd5, 0x75, 0x50,
					 0x35, 0x70, 0xd9, 0x7d, 0xb6, 0x80, 0x94, 0x5a};
	uint8_t alice[KEY_LEN];
	struct session *s;
	struct msg m = {.len = SESSION_INITIATION_LEN};

	ck_assert_int_eq(sodium_hex2bin(alice, sizeof(alice), alice_priv_hex,
					sizeof(alice_priv_hex) - 1, NULL, NULL, NULL),
			 0);
	s = mk(alice, P.b_pub, NULL, false);
	memset(m.buf, 0, m.len);
	m.buf[0] = SESSION_TYPE_INITIATION;
	m.buf[4] = 0x1a;
	m.buf[5] = 0x2b;
	m.buf[6] = 0x3c;
	m.buf[7] = 0x4d;
	memcpy(m.buf + 116, mac1, sizeof(mac1));
	expect_error(s, &m, -EBADMSG);
	ck_assert_uint_eq(stats(s).rx_bad_mac1, 0);
	ck_assert_uint_eq(stats(s).handshake_dh, 1);
	ck_assert_uint_eq(stats(s).rx_bad_handshake, 1);
	m.buf[131] ^= 1;
	expect_error(s, &m, -EBADMSG);
	ck_assert_uint_eq(stats(s).rx_bad_mac1, 1);
	session_free(s);
}
END_TEST

/*
 * A hub: one interface key H and three peers, the hub's three sessions
 * sharing one index table.  Initiations are told apart by
 * session_identify(), everything else by its receiver index; a stranger's
 * key, a replay and a bad mac1 are refused before they reach a session.
 * Loop index: 0 datagram, 1 stream.
 */
#define HUB_PEERS 3
START_TEST(test_hub)
{
	uint8_t h_priv[KEY_LEN], h_pub[KEY_LEN], x_priv[KEY_LEN], x_pub[KEY_LEN];
	uint8_t priv[HUB_PEERS][KEY_LEN], pub[HUB_PEERS][KEY_LEN], who[KEY_LEN];
	struct session *hub[HUB_PEERS], *peer[HUB_PEERS], *stranger;
	struct session_responder *r;
	struct session_responder_stats rs;
	struct index_table table;
	struct msg m1, m2, ka, d;
	uint32_t index;
	char text[32];
	size_t i, j;

	teardown();
	ck_assert_int_ge(sodium_init(), 0);
	now = T0;
	keys(h_priv, h_pub);
	keys(x_priv, x_pub);
	ck_assert_int_eq(index_table_init(&table, HUB_PEERS * SESSION_MAX_INDICES), 0);
	ck_assert_int_eq(session_responder_new(&r, h_priv), 0);
	for (i = 0; i < HUB_PEERS; i++) {
		struct session_config cfg = {
		    .local_private = h_priv,
		    .stream = _i != 0,
		    .indices = &table,
		};

		keys(priv[i], pub[i]);
		cfg.peer_public = pub[i];
		/* An index table needs an owner. */
		ck_assert_int_eq(session_new(&hub[i], &cfg), -EINVAL);
		cfg.index_owner = &hub[i];
		ck_assert_int_eq(session_new(&hub[i], &cfg), 0);
		peer[i] = mk(priv[i], h_pub, NULL, _i != 0);
	}
	stranger = mk(x_priv, h_pub, NULL, _i != 0);

	for (i = 0; i < HUB_PEERS; i++) {
		initiate(peer[i], &m1);
		ck_assert_int_eq(session_message_receiver(m1.buf, m1.len, &index), 0);
		ck_assert_int_eq(session_identify(r, m1.buf, m1.len, who), 0);
		ck_assert_mem_eq(who, pub[i], KEY_LEN);
		/* An exact replay costs no Diffie-Hellman. */
		session_responder_get_stats(r, &rs);
		ck_assert_int_eq(session_identify(r, m1.buf, m1.len, who), -ETIME);
		ck_assert_uint_eq(rs.handshake_dh, i + 1);
		respond(hub[i], &m1, &m2);
		ck_assert_int_eq(session_message_receiver(m2.buf, m2.len, &index), 1);
		ck_assert_int_eq(recv_msg(peer[i], &m2), 0);
		ck_assert_int_eq(action, SESSION_ESTABLISHED);
		seal(peer[i], NULL, 0, &ka);
		ck_assert_int_eq(session_message_receiver(ka.buf, ka.len, &index), 1);
		ck_assert_ptr_eq(index_table_lookup(&table, index), &hub[i]);
		ck_assert_int_eq(recv_msg(hub[i], &ka), 0);
		ck_assert_int_eq(action, SESSION_KEEPALIVE);
	}
	/* Every peer's data finds its own session, both ways. */
	for (j = 0; j < 3; j++)
		for (i = 0; i < HUB_PEERS; i++) {
			snprintf(text, sizeof(text), "to hub from %zu, %zu", i, j);
			seal(peer[i], text, strlen(text), &d);
			ck_assert_int_eq(session_message_receiver(d.buf, d.len, &index), 1);
			ck_assert_ptr_eq(index_table_lookup(&table, index), &hub[i]);
			expect_deliver(hub[i], &d, text, strlen(text));
			data_ok(hub[i], peer[i], text);
		}
	ck_assert_uint_eq(table.entries, HUB_PEERS);

	/* A key no peer has is identified, and the caller drops it. */
	initiate(stranger, &m1);
	ck_assert_int_eq(session_identify(r, m1.buf, m1.len, who), 0);
	ck_assert_mem_eq(who, x_pub, KEY_LEN);
	for (i = 0; i < HUB_PEERS; i++)
		ck_assert_mem_ne(who, pub[i], KEY_LEN);
	/* A bad mac1 or a malformed initiation stops before any DH. */
	initiate(stranger, &m1);
	m1.buf[120] ^= 1;
	session_responder_get_stats(r, &rs);
	ck_assert_int_eq(session_identify(r, m1.buf, m1.len, who), -EBADMSG);
	ck_assert_int_eq(session_identify(r, m1.buf, m1.len - 1, who), -EPROTO);
	m1.buf[1] = 1;
	ck_assert_int_eq(session_message_receiver(m1.buf, m1.len, &index), -EPROTO);
	{
		struct session_responder_stats rs2;

		session_responder_get_stats(r, &rs2);
		ck_assert_uint_eq(rs2.handshake_dh, rs.handshake_dh);
		ck_assert_uint_eq(rs2.rx_bad_mac1, rs.rx_bad_mac1 + 1);
		ck_assert_uint_eq(rs2.rx_malformed, rs.rx_malformed + 1);
	}

	/* Rekeys in both directions for a while: the table holds at most
	 * SESSION_MAX_INDICES per session, and every index stays its
	 * owner's. */
	for (j = 0; j < 6; j++) {
		now += SESSION_REKEY_AFTER_TIME_MS + 1000;
		for (i = 0; i < HUB_PEERS; i++) {
			if ((i + j) % 2)
				handshake(peer[i], hub[i]);
			else
				handshake(hub[i], peer[i]);
			data_ok(peer[i], hub[i], "after rekey");
			data_ok(hub[i], peer[i], "after rekey");
		}
		ck_assert_uint_le(table.entries, HUB_PEERS * SESSION_MAX_INDICES);
		for (size_t s = 0; s <= table.mask; s++)
			if (table.slots[s].owner) {
				struct session **owner = table.slots[s].owner;

				ck_assert(owner >= hub && owner < hub + HUB_PEERS);
			}
	}
	/* The hub's pending initiation has an index of its own too. */
	initiate(hub[0], &m1);
	ck_assert_ptr_eq(index_table_lookup(&table, (uint32_t)m1.buf[4] << 24 |
							(uint32_t)m1.buf[5] << 16 |
							(uint32_t)m1.buf[6] << 8 | m1.buf[7]),
			 &hub[0]);
	/* Freed sessions leave nothing behind. */
	for (i = 0; i < HUB_PEERS; i++) {
		session_free(hub[i]);
		session_free(peer[i]);
	}
	ck_assert_uint_eq(table.entries, 0);
	session_free(stranger);
	session_responder_free(r);
	index_table_free(&table);
	setup();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	/* Loop index: 0 datagram (UDP), 1 stream (TCP). */
	tcase_add_loop_test(tc, test_handshake_and_data, 0, 2);
	tcase_add_test(tc, test_wire_layout);
	tcase_add_test(tc, test_responder_waits_for_confirmation);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_offload_type);
	tcase_add_loop_test(tc, test_tamper_transport, 0, 2);
	tcase_add_test(tc, test_replay_datagram);
	tcase_add_test(tc, test_order_stream);
	tcase_add_test(tc, test_transport_per_keypair);
	tcase_add_test(tc, test_replayed_initiation);
	tcase_add_test(tc, test_wrong_peer_key);
	tcase_add_test(tc, test_psk);
	tcase_add_test(tc, test_mac1);
	tcase_add_test(tc, test_mac1_vector);
	tcase_add_test(tc, test_forged_response_keeps_handshake);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_replay_before_dh);
	tcase_add_test(tc, test_cookie_reply);
	tcase_add_test(tc, test_unanswered_data);
	tcase_add_test(tc, test_passive_keepalive);
	tcase_add_loop_test(tc, test_rekey, 0, 2);
	tcase_add_test(tc, test_responder_rekeys_later);
	tcase_add_loop_test(tc, test_expiry, 0, 2);
	/* Loop index: mode * 2 + arrival order. */
	tcase_add_loop_test(tc, test_simultaneous, 0, 4);
	tcase_add_test(tc, test_retry_and_giveup);
	tcase_add_test(tc, test_timer_overrides);
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_small_buffers);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_loop_test(tc, test_hub, 0, 2);
	suite_add_tcase(s, tc);
	return check_run(s);
}
