/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for session_receive() (lib/session.h), in stream (TCP) and
 * datagram (UDP) mode: every message a peer or an attacker on the path can
 * send to a sealed tunnel.  The session under test, B, has fixed keys and
 * a deterministic random source (libsodium's randombytes_set_implementation(),
 * reseeded for every input), so that replaying the same input makes B draw
 * the same ephemeral keys and indices, and a message recorded once under
 * B's keys gets past mac1 and the AEAD tag again.  A second session, A
 * (the peer, with its own random stream), makes genuine messages at run
 * time through the public API: nothing here knows a message length or
 * layout, so the target follows wire format changes by itself.
 *
 * Input: [config: 1] then records [op: 1][length: 2, big-endian][data]:
 *   config & 1: stream mode, else datagram;  config & 2: a PSK;
 *   config & 4: mixed arrivals (session_receive_on(), a listener serving
 *   both transports): each record's op & 0x40 says its messages arrive
 *   over a stream, else as datagrams, to A and to B alike.
 *   op 0  RAW      data goes to B as one message
 *      1  A_INIT   A initiates; to B
 *      2  B_INIT   B initiates; to A, whose answer goes to B
 *      3  A_SEAL   A seals data (op & 0x80: as an offload message); to B
 *      4  B_SEAL   B seals data; to A
 *      5  TIME     the clock moves on by data's first 4 bytes, in ms
 *      6  RESET    data[0] & 1: session_reset(B), & 2: session_reset(A)
 *      7  TIMERS   session_expire(), _wants_handshake(), _next_deadline()
 *      8  REPLAY   the last message B was given, again
 *      9  HOLD     A makes a message that is held back, not sent:
 *                  data[0] & 1 an initiation, else a sealed data[1...]
 *     10  RELEASE  held message number data[0] goes to B
 *     11  COOKIE   B's cookie checker (lib/cookie.h, keyed with B's public
 *                  key, as culvertd runs it under load) answers A's latest
 *                  initiation, seen from 198.18.0.2 (data[0] & 1:
 *                  2001:db8::2) port data[1..2], with a genuine cookie
 *                  reply; A is given it twice
 *   (op values are taken modulo 12, but for the offload and arrival bits.)
 * Replies go back and forth as the daemon sends them: a response to the
 * initiator, a keepalive after SESSION_ESTABLISHED.
 *
 * Properties, for everything B is given:
 *   - 0 with an action, or a documented error with SESSION_NONE and
 *     nothing to deliver; every error is counted in session_stats (all
 *     its counters summed, so a new counter needs no change here);
 *   - a delivered packet is as long as the message less the transport
 *     overhead, and equal to what A sealed when A sealed it here;
 *   - no message is accepted twice (replay protection, both modes);
 *   - B runs as a hub would (doc/design.md section 8): its indices live in
 *     an index table (at most SESSION_MAX_INDICES, none left after
 *     session_free()), every message it takes names it there by its
 *     receiver index (session_message_receiver()), every initiation is
 *     first identified by session_identify(), which authenticates only
 *     A's key and never accepts what the session refuses as malformed;
 *   - A takes a cookie reply (SESSION_COOKIE) at most once per initiation,
 *     and exactly once when nothing happened to A since the initiation
 *     (the second copy gives -ENOKEY); A's initiations after that carry
 *     mac2, which B's checker finds right for that source
 *     (COOKIE_MAC1_AND_COOKIE) while the cookie and B's secret are fresh.
 *
 * CULVERT_FUZZ_GEN / --gen-corpus writes two kinds of seed: scripts of the
 * ops above (valid whatever the wire format), and the same scripts
 * recorded as RAW messages (A's genuine messages as B received them, which
 * replay byte for byte thanks to B's fixed random stream).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "index_table.h"
#include "fuzz.h"
#include "session.h"

enum {
	OP_RAW,
	OP_A_INIT,
	OP_B_INIT,
	OP_A_SEAL,
	OP_B_SEAL,
	OP_TIME,
	OP_RESET,
	OP_TIMERS,
	OP_REPLAY,
	OP_HOLD,
	OP_RELEASE,
	OP_COOKIE,
	OP_COUNT,
};
#define OP_OFFLOAD 0x80
#define OP_ARRIVAL 0x40 /* config & 4: this record's messages arrive over a stream */

#define T0         1000000
#define MAX_HELD   8
#define MAX_ACCEPT 4096
#define MAX_DEPTH  6

_Static_assert(sizeof(struct session_stats) % sizeof(uint64_t) == 0,
	       "session_stats holds only 64-bit counters");

/* The two sessions' random streams (fuzz.h). */
enum { RNG_B, RNG_A, RNG_ID };
_Static_assert(RNG_ID < FUZZ_RNG_STREAMS, "a stream each");

/* ---- the two sessions ---- */

struct held {
	uint8_t msg[SESSION_MAX_MESSAGE_LEN];
	size_t len;
	uint8_t plain[SESSION_MAX_PACKET_LEN];
	size_t plain_len; /* SIZE_MAX: not a sealed packet */
	bool offload;
};

struct world {
	struct session *a, *b;
	uint64_t now;
	bool stream;
	bool mixed, arrive; /* config & 4; how the current record's messages arrive */
	struct held last;   /* the last message B was given */
	struct held held[MAX_HELD];
	size_t n_held;
	uint8_t accepted[MAX_ACCEPT][16]; /* hashes of transport messages B took */
	size_t n_accepted;
	int depth;
	/* The cookie exchange: B's checker, A's latest initiation. */
	struct cookie_checker checker;
	uint8_t a_init[SESSION_INITIATION_LEN];
	size_t a_init_len;
	unsigned a_init_id;  /* initiations A made; 0: none yet */
	bool a_init_fresh;   /* nothing happened to A since it */
	unsigned cookied_id; /* the initiation A took a cookie for */
	bool a_has_cookie;   /* since then A's mac2 must be right for: */
	struct sockaddr_storage cookie_src;
	socklen_t cookie_src_len;
	uint64_t cookie_ms;
	/* B as a hub would run it: its session's indices in an index table,
	 * and initiations identified first (lib/index_table.h,
	 * session_identify()). */
	struct index_table table;
	struct session_responder *resp;
	/* Recording (seed generation): B's inputs as a RAW script. */
	uint8_t *rec;
	size_t rec_len, rec_cap;
};

static uint8_t a_priv[32], b_priv[32], a_pub[32], b_pub[32], psk[32];
static struct world W;
/* CULVERT_FUZZ_VERBOSE=1: one line per message B is given, for debugging. */
static bool verbose;

static void init_once(void)
{
	static bool done;

	if (done)
		return;
	verbose = getenv("CULVERT_FUZZ_VERBOSE") != NULL;
	fuzz_rng_install();
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 32; i++) {
		a_priv[i] = (uint8_t)(0x21 + 5 * i);
		b_priv[i] = (uint8_t)(0x93 ^ (7 * i));
		psk[i] = (uint8_t)(0xc0 + i);
	}
	if (crypto_scalarmult_base(a_pub, a_priv) != 0 ||
	    crypto_scalarmult_base(b_pub, b_priv) != 0)
		abort();
	done = true;
}

static uint64_t stats_total(const struct session *s)
{
	uint64_t v[sizeof(struct session_stats) / sizeof(uint64_t)], sum = 0;
	struct session_stats st;

	session_get_stats(s, &st);
	memcpy(v, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		sum += v[i];
	return sum;
}

static void rec_append(struct world *w, const void *p, size_t n)
{
	if (!w->rec || !n)
		return;
	if (w->rec_len + n > w->rec_cap) {
		w->rec_cap = (w->rec_len + n) * 2;
		w->rec = realloc(w->rec, w->rec_cap);
		if (!w->rec)
			abort();
	}
	memcpy(w->rec + w->rec_len, p, n);
	w->rec_len += n;
}

static void rec_op(struct world *w, uint8_t op, const uint8_t *data, size_t len)
{
	uint8_t hdr[3] = {op, (uint8_t)(len >> 8), (uint8_t)len};

	rec_append(w, hdr, sizeof(hdr));
	rec_append(w, data, len);
}

static void to_a(struct world *w, const uint8_t *msg, size_t len, const struct held *sealed);
static void to_b(struct world *w, const uint8_t *msg, size_t len, const struct held *sealed);

/* A confirmed keypair is announced with a keepalive (lib/session.h). */
static void keepalive(struct world *w, bool from_a)
{
	static uint8_t out[SESSION_TRANSPORT_OVERHEAD];
	size_t n;

	fuzz_rng_stream = from_a ? RNG_A : RNG_B;
	if (session_seal(from_a ? w->a : w->b, w->now, NULL, 0, out, sizeof(out), &n) != 0)
		return;
	if (from_a)
		to_b(w, out, n, NULL);
	else
		to_a(w, out, n, NULL);
}

/* Gives B one message and checks what it makes of it.  @sealed: what A
 * sealed into it, when known. */
static void to_b(struct world *w, const uint8_t *msg, size_t len, const struct held *sealed)
{
	static uint8_t out[MAX_DEPTH][SESSION_MAX_MESSAGE_LEN];
	enum session_action action = SESSION_DELIVER;
	uint64_t before = stats_total(w->b);
	uint8_t *o, *copy, hash[16], who[32];
	size_t out_len = 1;
	uint32_t index = 0;
	int rc, kind, id = 1;

	if (w->depth >= MAX_DEPTH || len > SESSION_MAX_MESSAGE_LEN)
		return;
	o = out[w->depth++];
	rec_op(w, OP_RAW | (w->arrive ? OP_ARRIVAL : 0), msg, len);
	if (msg != w->last.msg) {
		memcpy(w->last.msg, msg, len);
		w->last.len = len;
	}
	/* An exact-size copy, so that ASan sees any read past the end. */
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, msg, len);
	kind = session_message_receiver(copy, len, &index);
	FUZZ_ASSERT(kind == 0 || kind == 1 || kind == -EPROTO);
	if (kind == 0) {
		/* Its own random stream, so B's draws stay as recorded. */
		fuzz_rng_stream = RNG_ID;
		id = session_identify(w->resp, copy, len, who);
		FUZZ_ASSERT(id == 0 || id == -EPROTO || id == -EBADMSG || id == -ETIME ||
			    id == -ENOMEM);
		/* Only A's key makes an initiation that authenticates. */
		FUZZ_ASSERT(id != 0 || memcmp(who, a_pub, sizeof(who)) == 0);
	}
	fuzz_rng_stream = RNG_B;
	rc = w->mixed ? session_receive_on(w->b, w->arrive, w->now, copy, len, o,
					   SESSION_MAX_MESSAGE_LEN, &out_len, &action)
		      : session_receive(w->b, w->now, copy, len, o, SESSION_MAX_MESSAGE_LEN,
					&out_len, &action);
	FUZZ_ASSERT(w->table.entries <= SESSION_MAX_INDICES);
	/* What the header check refuses, the session refuses too. */
	FUZZ_ASSERT(kind != -EPROTO || rc == -EPROTO);
	/* A message B took names B in the table by its receiver index;
	 * an initiation B answered was identified (or seen before). */
	if (rc == 0 && action != SESSION_NONE && action != SESSION_REPLY)
		FUZZ_ASSERT(kind == 1 && index_table_lookup(&w->table, index) == &w->b);
	if (rc == 0 && action == SESSION_REPLY)
		FUZZ_ASSERT(kind == 0 && (id == 0 || id == -ETIME));
	if (verbose)
		fprintf(stderr,
			"B <- type %u, %zu bytes at %llu ms: %s, action %d, %zu bytes out\n",
			len ? msg[0] : 0, len, (unsigned long long)w->now,
			rc ? strerror(-rc) : "ok", (int)action, out_len);
	if (rc < 0) {
		FUZZ_ASSERT(rc == -EPROTO || rc == -EBADMSG || rc == -EACCES || rc == -ETIME ||
			    rc == -ENOKEY || rc == -EKEYEXPIRED || rc == -EALREADY ||
			    rc == -ESTALE || rc == -ENOMEM || (w->mixed && rc == -EPROTOTYPE));
		FUZZ_ASSERT(action == SESSION_NONE && out_len == 0);
		if (rc != -ENOMEM)
			FUZZ_ASSERT(stats_total(w->b) > before);
		goto out;
	}
	FUZZ_ASSERT(rc == 0);
	switch (action) {
	case SESSION_DELIVER:
	case SESSION_DELIVER_OFFLOAD:
	case SESSION_KEEPALIVE:
	case SESSION_OFFLOAD_OFFER:
		FUZZ_ASSERT(out_len + SESSION_TRANSPORT_OVERHEAD == len);
		FUZZ_ASSERT((out_len > 0) ==
			    (action == SESSION_DELIVER || action == SESSION_DELIVER_OFFLOAD));
		if (sealed && sealed->plain_len != SIZE_MAX) {
			FUZZ_ASSERT(out_len == sealed->plain_len &&
				    memcmp(o, sealed->plain, out_len) == 0);
			FUZZ_ASSERT(sealed->offload == (action == SESSION_DELIVER_OFFLOAD ||
							action == SESSION_OFFLOAD_OFFER));
		}
		/* Never the same message twice. */
		crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
		for (size_t i = 0; i < w->n_accepted; i++)
			FUZZ_ASSERT(memcmp(w->accepted[i], hash, sizeof(hash)) != 0);
		if (w->n_accepted < MAX_ACCEPT)
			memcpy(w->accepted[w->n_accepted++], hash, sizeof(hash));
		break;
	case SESSION_REPLY:
		FUZZ_ASSERT(out_len > 0 && out_len <= SESSION_MAX_MESSAGE_LEN);
		to_a(w, o, out_len, NULL);
		break;
	case SESSION_ESTABLISHED:
		FUZZ_ASSERT(out_len == 0 && session_is_up(w->b, w->now));
		keepalive(w, false);
		break;
	case SESSION_COOKIE:
		FUZZ_ASSERT(out_len == 0);
		break;
	default:
		FUZZ_ASSERT(action == SESSION_NONE && out_len == 0);
		break;
	}
out:
	free(copy);
	w->depth--;
}

/* Gives A, the honest peer, a message from B. */
static void to_a(struct world *w, const uint8_t *msg, size_t len, const struct held *sealed)
{
	static uint8_t out[MAX_DEPTH][SESSION_MAX_MESSAGE_LEN];
	enum session_action action;
	size_t out_len;
	uint8_t *o;
	int rc;

	if (w->depth >= MAX_DEPTH)
		return;
	o = out[w->depth++];
	fuzz_rng_stream = RNG_A;
	/* A response may end the pending initiation, A's own response
	 * changes the mac1 a cookie reply is bound to. */
	w->a_init_fresh = false;
	rc = w->mixed ? session_receive_on(w->a, w->arrive, w->now, msg, len, o,
					   SESSION_MAX_MESSAGE_LEN, &out_len, &action)
		      : session_receive(w->a, w->now, msg, len, o, SESSION_MAX_MESSAGE_LEN,
					&out_len, &action);
	if (rc == 0 && action == SESSION_REPLY)
		to_b(w, o, out_len, NULL);
	else if (rc == 0 && action == SESSION_ESTABLISHED)
		keepalive(w, true);
	else if (rc == 0 && action == SESSION_DELIVER && sealed)
		FUZZ_ASSERT(out_len == sealed->plain_len && memcmp(o, sealed->plain, out_len) == 0);
	w->depth--;
}

/* A made the initiation @msg (@len bytes): the one a cookie reply answers
 * now.  After a cookie, it must carry mac2 for the cookie's source. */
static void a_initiated(struct world *w, const uint8_t *msg, size_t len)
{
	enum cookie_validity v;

	memcpy(w->a_init, msg, len);
	w->a_init_len = len;
	w->a_init_id++;
	w->a_init_fresh = true;
	if (!w->a_has_cookie)
		return;
	fuzz_rng_stream = RNG_B;
	v = cookie_checker_validate(&w->checker, msg, len, true,
				    (const struct sockaddr *)&w->cookie_src, w->cookie_src_len,
				    w->now);
	FUZZ_ASSERT(v != COOKIE_BAD_MAC1);
	if (w->now - w->cookie_ms < COOKIE_MAX_AGE_MS &&
	    w->now - w->checker.secret_ms < COOKIE_SECRET_MAX_AGE_MS)
		FUZZ_ASSERT(v == COOKIE_MAC1_AND_COOKIE);
}

/* B's checker answers A's latest initiation, seen from the source @d
 * chooses, with a cookie reply, given to A twice. */
static void cookie_exchange(struct world *w, const uint8_t *d, size_t got)
{
	uint8_t reply[COOKIE_REPLY_LEN], out[SESSION_MAX_MESSAGE_LEN];
	uint16_t port = (uint16_t)((got > 1 ? d[1] << 8 : 0) | (got > 2 ? d[2] : 0));
	struct sockaddr_storage ss = {0};
	enum session_action action;
	socklen_t slen;
	size_t out_len;
	bool fresh;
	int rc;

	if (!w->a_init_id)
		return;
	/* The first copy must be taken unless A took one already. */
	fresh = w->a_init_fresh && w->cookied_id != w->a_init_id;
	if (got > 0 && (d[0] & 1)) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr.s6_addr[0] = 0x20;
		a->sin6_addr.s6_addr[1] = 0x01;
		a->sin6_addr.s6_addr[2] = 0x0d;
		a->sin6_addr.s6_addr[3] = 0xb8;
		a->sin6_addr.s6_addr[15] = 2;
		slen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(0xc6120002);
		slen = sizeof(*a);
	}
	fuzz_rng_stream = RNG_B;
	FUZZ_ASSERT(cookie_checker_validate(&w->checker, w->a_init, w->a_init_len, false,
					    (const struct sockaddr *)&ss, slen,
					    w->now) == COOKIE_MAC1_ONLY);
	FUZZ_ASSERT(cookie_checker_reply(&w->checker, w->a_init, w->a_init_len,
					 (const struct sockaddr *)&ss, slen, w->now, reply) == 0);
	for (int copy = 0; copy < 2; copy++) {
		fuzz_rng_stream = RNG_A;
		rc = session_receive(w->a, w->now, reply, sizeof(reply), out, sizeof(out), &out_len,
				     &action);
		if (rc == 0) {
			FUZZ_ASSERT(action == SESSION_COOKIE && out_len == 0);
			/* Once per initiation. */
			FUZZ_ASSERT(w->cookied_id != w->a_init_id);
			w->cookied_id = w->a_init_id;
			w->a_has_cookie = true;
			memcpy(&w->cookie_src, &ss, sizeof(ss));
			w->cookie_src_len = slen;
			w->cookie_ms = w->now;
		} else {
			FUZZ_ASSERT(rc == -ENOKEY || rc == -EBADMSG);
			FUZZ_ASSERT(action == SESSION_NONE);
		}
		/* Nothing happened to A since its initiation: the first copy
		 * is taken, the second is not. */
		if (fresh)
			FUZZ_ASSERT(copy == 0 ? rc == 0 : rc == -ENOKEY);
	}
}

/* A makes a message into @h: an initiation, or @data sealed. */
static bool a_make(struct world *w, bool init, bool offload, const uint8_t *data, size_t len,
		   struct held *h)
{
	int rc;

	fuzz_rng_stream = RNG_A;
	h->offload = offload;
	h->plain_len = SIZE_MAX;
	if (init) {
		if (session_initiate(w->a, w->now, h->msg, sizeof(h->msg), &h->len) != 0)
			return false;
		a_initiated(w, h->msg, h->len);
		return true;
	}
	if (len > SESSION_MAX_PACKET_LEN)
		len = SESSION_MAX_PACKET_LEN;
	if (offload)
		rc = session_seal_offload(w->a, w->now, data, len, h->msg, sizeof(h->msg), &h->len);
	else
		rc = session_seal(w->a, w->now, data, len, h->msg, sizeof(h->msg), &h->len);
	if (rc != 0)
		return false;
	memcpy(h->plain, data, len);
	h->plain_len = len;
	return true;
}

static void timers(struct session *s, uint64_t now)
{
	uint64_t d;

	session_expire(s, now);
	d = session_next_deadline(s, now);
	(void)session_wants_handshake(s, now);
	if (d != UINT64_MAX)
		(void)session_wants_handshake(s, d);
	(void)session_is_up(s, now);
	FUZZ_ASSERT(session_last_handshake_ms(s) <= now);
}

static void run(struct world *w, const uint8_t *data, size_t size)
{
	static struct held h;
	struct fuzz_input in = {data, size};
	uint8_t config = fuzz_u8(&in);
	struct session_config ca = {
	    .local_private = a_priv,
	    .peer_public = b_pub,
	    .psk = config & 2 ? psk : NULL,
	    .stream = config & 1,
	};
	struct session_config cb = ca;

	cb.local_private = b_priv;
	cb.peer_public = a_pub;
	cb.indices = &w->table;
	cb.index_owner = &w->b;
	fuzz_rng_state[RNG_B] = UINT64_C(0x0123456789abcdef);
	fuzz_rng_state[RNG_A] = UINT64_C(0xfedcba9876543210);
	fuzz_rng_state[RNG_ID] = UINT64_C(0x5555aaaa5555aaaa);
	w->now = T0;
	w->stream = config & 1;
	w->mixed = config & 4;
	w->arrive = false;
	w->n_held = w->n_accepted = 0;
	w->last.len = 0;
	w->depth = 0;
	w->a_init_len = 0;
	w->a_init_id = w->cookied_id = 0;
	w->a_init_fresh = w->a_has_cookie = false;
	fuzz_rng_stream = RNG_B;
	cookie_checker_init(&w->checker, b_pub);
	if (index_table_init(&w->table, SESSION_MAX_INDICES) != 0 ||
	    session_responder_new(&w->resp, b_priv) != 0 || session_new(&w->a, &ca) != 0 ||
	    session_new(&w->b, &cb) != 0)
		abort();
	rec_append(w, &config, 1);

	while (in.left) {
		uint8_t opb = fuzz_u8(&in), op = (opb & ~(OP_OFFLOAD | OP_ARRIVAL)) % OP_COUNT;
		size_t len = fuzz_u16(&in), got;
		const uint8_t *d = fuzz_bytes(&in, len, &got);
		uint8_t d0 = got ? d[0] : 0;

		w->arrive = w->mixed && (opb & OP_ARRIVAL);

		switch (op) {
		case OP_RAW:
			to_b(w, d, got, NULL);
			break;
		case OP_A_INIT:
		case OP_A_SEAL:
			if (a_make(w, op == OP_A_INIT, opb & OP_OFFLOAD, d, got, &h))
				to_b(w, h.msg, h.len, &h);
			break;
		case OP_B_INIT:
			fuzz_rng_stream = RNG_B;
			if (session_initiate(w->b, w->now, h.msg, sizeof(h.msg), &h.len) == 0)
				to_a(w, h.msg, h.len, NULL);
			break;
		case OP_B_SEAL:
			fuzz_rng_stream = RNG_B;
			h.plain_len = got < SESSION_MAX_PACKET_LEN ? got : SESSION_MAX_PACKET_LEN;
			memcpy(h.plain, d, h.plain_len);
			if (session_seal(w->b, w->now, d, h.plain_len, h.msg, sizeof(h.msg),
					 &h.len) == 0)
				to_a(w, h.msg, h.len, &h);
			break;
		case OP_TIME: {
			uint8_t t[4] = {0};

			memcpy(t, d, got < 4 ? got : 4);
			w->now += (uint64_t)t[0] << 24 | (uint64_t)t[1] << 16 |
				  (uint64_t)t[2] << 8 | t[3];
			/* The attempt may have run out. */
			if (t[0] | t[1] | t[2] | t[3])
				w->a_init_fresh = false;
			rec_op(w, OP_TIME, t, 4);
			break;
		}
		case OP_RESET:
			if (d0 & 1) {
				session_reset(w->b);
				FUZZ_ASSERT(!session_is_up(w->b, w->now));
				rec_op(w, OP_RESET, &(uint8_t){1}, 1);
			}
			if (d0 & 2) {
				session_reset(w->a);
				w->a_init_fresh = w->a_has_cookie = false;
			}
			break;
		case OP_TIMERS:
			w->a_init_fresh = false;
			fuzz_rng_stream = RNG_B;
			timers(w->b, w->now);
			fuzz_rng_stream = RNG_A;
			timers(w->a, w->now);
			rec_op(w, OP_TIMERS, NULL, 0);
			break;
		case OP_REPLAY:
			to_b(w, w->last.msg, w->last.len, NULL);
			break;
		case OP_HOLD:
			if (w->n_held < MAX_HELD &&
			    a_make(w, d0 & 1, opb & OP_OFFLOAD, d + (got ? 1 : 0),
				   got ? got - 1 : 0, &w->held[w->n_held]))
				w->n_held++;
			break;
		case OP_RELEASE:
			if (w->n_held) {
				struct held *r = &w->held[d0 % w->n_held];

				to_b(w, r->msg, r->len, r);
			}
			break;
		case OP_COOKIE:
			cookie_exchange(w, d, got);
			break;
		default:
			break;
		}
	}
	cookie_checker_cleanup(&w->checker);
	session_free(w->a);
	session_free(w->b);
	w->a = w->b = NULL;
	/* B's indices all went with it. */
	FUZZ_ASSERT(w->table.entries == 0);
	index_table_free(&w->table);
	session_responder_free(w->resp);
	w->resp = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	W.rec = NULL;
	run(&W, data, size);
	return 0;
}

/* ---- seeds ---- */

/* A script being written: ops with their data. */
struct script {
	uint8_t b[4096];
	size_t len;
};

static void op_n(struct script *s, uint8_t code, const char *data, size_t n)
{
	s->b[s->len++] = code;
	s->b[s->len++] = (uint8_t)(n >> 8);
	s->b[s->len++] = (uint8_t)n;
	memcpy(s->b + s->len, data, n);
	s->len += n;
}

/* An op with a string literal as data (which may hold NUL bytes), or none. */
#define op(s, code, ...) op_n(s, code, "" __VA_ARGS__, sizeof("" __VA_ARGS__) - 1)

/* Writes @s as a seed and, when @record, also as the RAW messages B got. */
static int emit(const char *dir, const char *name, const struct script *s, bool record)
{
	char file[128];
	int ret;

	snprintf(file, sizeof(file), "%s-%s", name,
		 s->b[0] & 4   ? "mixed"
		 : s->b[0] & 1 ? "tcp"
			       : "udp");
	ret = fuzz_write_seed(dir, file, s->b, s->len);
	if (ret < 0 || !record)
		return ret;
	W.rec = malloc(W.rec_cap = 4096);
	if (!W.rec)
		return -ENOMEM;
	W.rec_len = 0;
	run(&W, s->b, s->len);
	snprintf(file, sizeof(file), "raw-%s-%s", name,
		 s->b[0] & 4   ? "mixed"
		 : s->b[0] & 1 ? "tcp"
			       : "udp");
	ret = fuzz_write_seed(dir, file, W.rec, W.rec_len);
	free(W.rec);
	W.rec = NULL;
	return ret;
}

int fuzz_generate(const char *dir)
{
	int ret = 0;

	init_once();
	for (uint8_t config = 0; config < 2 && ret == 0; config++) {
		/* TCP without a PSK, UDP with one. */
		struct script s = {.b = {config ? 1 : 2}, .len = 1};

		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "hello");
		op(&s, OP_A_SEAL | OP_OFFLOAD);
		op(&s, OP_A_SEAL | OP_OFFLOAD, "0123456789abcdef");
		op(&s, OP_TIME, "\0\0\x03\xe8");
		op(&s, OP_A_SEAL, "later");
		op(&s, OP_TIMERS);
		ret = emit(dir, "traffic", &s, true);

		s.len = 1;
		op(&s, OP_B_INIT);
		op(&s, OP_B_SEAL, "ping");
		op(&s, OP_A_SEAL, "pong");
		op(&s, OP_TIME, "\0\x01\xfb\xd0"); /* 130 s: rekey time */
		op(&s, OP_TIMERS);
		op(&s, OP_B_INIT);
		op(&s, OP_A_SEAL, "after rekey");
		ret = ret ?: emit(dir, "b-initiates", &s, false);

		s.len = 1;
		op(&s, OP_A_INIT);
		op(&s, OP_HOLD, "\0one");
		op(&s, OP_HOLD, "\0two");
		op(&s, OP_HOLD, "\0three");
		op(&s, OP_HOLD, "\0four");
		op(&s, OP_RELEASE, "\2");
		op(&s, OP_RELEASE, "\0");
		op(&s, OP_RELEASE, "\3");
		op(&s, OP_RELEASE, "\1");
		op(&s, OP_RELEASE, "\1");
		op(&s, OP_REPLAY);
		ret = ret ?: emit(dir, "reorder", &s, true);

		s.len = 1;
		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "before");
		op(&s, OP_TIME, "\0\x03\x0d\x40"); /* 200 s: expired */
		op(&s, OP_A_SEAL, "too late");
		op(&s, OP_TIMERS);
		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "again");
		ret = ret ?: emit(dir, "expire", &s, true);

		s.len = 1;
		op(&s, OP_HOLD, "\1");
		op(&s, OP_B_INIT);
		op(&s, OP_RELEASE, "\0");
		op(&s, OP_A_SEAL, "crossed");
		op(&s, OP_B_SEAL, "crossed too");
		ret = ret ?: emit(dir, "crossing", &s, false);

		s.len = 1;
		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "one");
		op(&s, OP_RESET, "\1");
		op(&s, OP_A_SEAL, "lost");
		op(&s, OP_A_INIT);
		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "two");
		ret = ret ?: emit(dir, "reset", &s, true);

		/* Under load: B answers with a cookie, A comes back with mac2. */
		s.len = 1;
		op(&s, OP_HOLD, "\1");
		op(&s, OP_COOKIE, "\0\xca\x6c");
		op(&s, OP_COOKIE, "\0\xca\x6c");
		op(&s, OP_HOLD, "\1");
		op(&s, OP_COOKIE, "\1\xca\x6c");
		op(&s, OP_RELEASE, "\1");
		op(&s, OP_A_SEAL, "after the cookie");
		op(&s, OP_TIME, "\0\0\x03\xe8");
		op(&s, OP_COOKIE);
		ret = ret ?: emit(dir, "cookie", &s, true);
	}
	if (ret == 0) {
		/* Both transports: a session over datagrams, one over the
		 * stream, and messages copied from one to the other. */
		struct script s = {.b = {4}, .len = 1};

		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "over udp");
		op(&s, OP_REPLAY | OP_ARRIVAL);
		op(&s, OP_A_INIT | OP_ARRIVAL);
		op(&s, OP_A_SEAL | OP_ARRIVAL, "over tcp");
		op(&s, OP_REPLAY);
		op(&s, OP_B_SEAL | OP_ARRIVAL, "back over tcp");
		op(&s, OP_TIME, "\0\0\x03\xe8");
		op(&s, OP_A_INIT);
		op(&s, OP_A_SEAL, "udp again");
		op(&s, OP_REPLAY | OP_ARRIVAL);
		ret = emit(dir, "moves", &s, true);
	}
	return ret;
}
