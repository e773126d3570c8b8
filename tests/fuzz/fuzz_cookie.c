/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the handshake's DoS defences: the MACs and cookie reply
 * of lib/cookie.h and the per-source limiter of lib/ratelimit.h.  Fixed
 * keys and a deterministic random source (libsodium's
 * randombytes_set_implementation(), reseeded for every input, as in
 * fuzz_session.c), so that an input replays exactly.
 *
 * Input: [mode: 1] then, by mode % 3:
 *
 * 0 VALIDATE [flags: 1][port: 2][dt: 2][message: the rest, 32 bytes or more]
 *   cookie_checker_validate() on the message from 198.18.0.1 (flags & 8:
 *   2001:db8::1) and port, dt ms after the start.  flags & 3: 1 mac1 is
 *   set right first, 2 both MACs are added by a maker that holds the
 *   checker's cookie for that source; flags & 4: check mac2.  Properties:
 *   only a message whose mac1 equals the reference (BLAKE2b-128 keyed with
 *   BLAKE2b-256("mac1----" || public key), computed here with
 *   crypto_generichash) gets past COOKIE_BAD_MAC1, and every such message
 *   does; without the mac2 check the answer is COOKIE_MAC1_ONLY; with a
 *   genuine cookie COOKIE_MAC1_AND_COOKIE for its source, COOKIE_MAC1_ONLY
 *   from another port.
 *
 * 1 CONSUME  records [op: 1][length: 1][data]: a maker that has sent one
 *   message, and the checker's reply to it from 198.18.0.1:51820.
 *     op 0  data (length % 101 bytes) to cookie_maker_consume()
 *        1  a genuine reply, data[0] which one (newest first), data[1]
 *           at data[2] (mod 64) XORed in, to cookie_maker_consume()
 *        2  the maker sends data (made at least 32 bytes) as its next message;
 *           the checker must pass its mac1, and replies
 *        3  the checker replies to the latest message again (new nonce)
 *        4  time moves on by data's first 2 bytes x 16 ms
 *   Property: a reply opens exactly when the reference, XChaCha20-Poly1305
 *   computed here with key BLAKE2b-256("cookie--" || public key) and the
 *   maker's latest mac1 as associated data, opens it; anything else gives
 *   -EPROTO (length, type) or -EBADMSG.  The key comes from the checker's
 *   PUBLIC key: anyone who knows it and saw the message can make a reply
 *   that opens (WireGuard's cookie has the same property; the fuzzer
 *   rebuilds such replies from its comparison dictionary), so the maker
 *   cannot tell the checker's replies from those.  Bytes 1..7 (reserved,
 *   receiver index) are the caller's to check (lib/cookie.h) and do not
 *   count.  After the checker's own reply to the latest message opens,
 *   the maker's next message validates COOKIE_MAC1_AND_COOKIE for that
 *   source while the checker's secret is the one the reply was made with,
 *   COOKIE_MAC1_ONLY from another port; after any reply that opens, its
 *   mac2 is the reference MAC under the cookie inside.
 *
 * 2 RATELIMIT records [source: 1][step: 1]: ratelimit_allow() for source
 *   source & 63 (0..31: 198.18.0.N, as sockaddr_in or, source & 64,
 *   IPv4-mapped IPv6; 32..63: 2001:db8:0:N::/64, source >> 6 choosing the
 *   host inside it) after step ms (step & 0x80: (step & 0x7f) x 100 ms).
 *   Property: the limiter never allows a message that a model with one
 *   bucket per source (ratelimit_bucket_take(), as test_guard.c's
 *   test_against_model) refuses; a refusal the model would allow is
 *   counted in refused_full (and the model is not charged for it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "fuzz.h"
#include "ratelimit.h"

#define T0          1000000
#define MAX_MSG     256
#define MAX_REPLIES 8
#define SOURCES     64

/* The checker's static key and the mac1 key derived from it here. */
static uint8_t b_pub[32], ref_mac1_key[32], ref_cookie_key[32];

static void init_once(void)
{
	static bool done;
	uint8_t priv[32], label[8 + 32];

	if (done)
		return;
	fuzz_rng_install();
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(0x93 ^ (7 * i));
	if (crypto_scalarmult_base(b_pub, priv) != 0)
		abort();
	memcpy(label, "mac1----", 8);
	memcpy(label + 8, b_pub, 32);
	crypto_generichash(ref_mac1_key, sizeof(ref_mac1_key), label, sizeof(label), NULL, 0);
	memcpy(label, "cookie--", 8);
	crypto_generichash(ref_cookie_key, sizeof(ref_cookie_key), label, sizeof(label), NULL, 0);
	done = true;
}

/* mac1 of the @len-byte message @msg, as lib/cookie.h defines it. */
static void ref_mac1(const uint8_t *msg, size_t len, uint8_t *mac)
{
	crypto_generichash(mac, COOKIE_MAC_LEN, msg, len - COOKIE_MACS_LEN, ref_mac1_key,
			   sizeof(ref_mac1_key));
}

static struct sockaddr_in6 src6(uint16_t port)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	inet_pton(AF_INET6, "2001:db8::1", &s.sin6_addr);
	return s;
}

static struct sockaddr_in src4(uint16_t port)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, "198.18.0.1", &s.sin_addr);
	return s;
}

/* A source address of either family. */
struct src {
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct src make_src(bool v6, uint16_t port)
{
	struct src s = {0};

	if (v6) {
		struct sockaddr_in6 a = src6(port);

		memcpy(&s.ss, &a, sizeof(a));
		s.len = sizeof(a);
	} else {
		struct sockaddr_in a = src4(port);

		memcpy(&s.ss, &a, sizeof(a));
		s.len = sizeof(a);
	}
	return s;
}

#define SA(s) ((const struct sockaddr *)&(s).ss), (s).len

/* Gives the maker the checker's cookie for @s at @now. */
static void get_cookie(struct cookie_maker *m, struct cookie_checker *c, const struct src *s,
		       uint64_t now)
{
	uint8_t msg[148] = {1}, reply[COOKIE_REPLY_LEN];

	cookie_maker_add_macs(m, msg, sizeof(msg), now);
	FUZZ_ASSERT(cookie_checker_validate(c, msg, sizeof(msg), false, SA(*s), now) ==
		    COOKIE_MAC1_ONLY);
	FUZZ_ASSERT(cookie_checker_reply(c, msg, sizeof(msg), SA(*s), now, reply) == 0);
	FUZZ_ASSERT(cookie_maker_consume(m, reply, sizeof(reply), now) == 0);
}

static void run_validate(struct fuzz_input *in)
{
	uint8_t flags = fuzz_u8(in), mac[COOKIE_MAC_LEN], *msg;
	uint16_t port = fuzz_u16(in);
	uint64_t now = T0 + fuzz_u16(in);
	struct src s = make_src(flags & 8, port), other = make_src(flags & 8, port + 1);
	bool check_mac2 = flags & 4, good;
	struct cookie_checker c;
	struct cookie_maker m;
	enum cookie_validity v;
	const uint8_t *p;
	size_t len;

	p = fuzz_bytes(in, in->left, &len);
	if (len < COOKIE_MACS_LEN)
		return;
	/* An exact-size copy, so that ASan sees any read past the end. */
	msg = malloc(len);
	if (!msg)
		abort();
	memcpy(msg, p, len);
	cookie_checker_init(&c, b_pub);
	cookie_maker_init(&m, b_pub);
	if ((flags & 3) == 1) {
		ref_mac1(msg, len, msg + len - COOKIE_MACS_LEN);
	} else if ((flags & 3) == 2) {
		get_cookie(&m, &c, &s, T0);
		cookie_maker_add_macs(&m, msg, len, now);
	}
	ref_mac1(msg, len, mac);
	good = memcmp(mac, msg + len - COOKIE_MACS_LEN, COOKIE_MAC_LEN) == 0;
	v = cookie_checker_validate(&c, msg, len, check_mac2, SA(s), now);
	FUZZ_ASSERT(v == COOKIE_BAD_MAC1 || v == COOKIE_MAC1_ONLY || v == COOKIE_MAC1_AND_COOKIE);
	FUZZ_ASSERT((v != COOKIE_BAD_MAC1) == good);
	if (!check_mac2)
		FUZZ_ASSERT(v != COOKIE_MAC1_AND_COOKIE);
	if ((flags & 3) == 2) {
		/* dt is under COOKIE_MAX_AGE_MS: the cookie is fresh. */
		FUZZ_ASSERT(v == (check_mac2 ? COOKIE_MAC1_AND_COOKIE : COOKIE_MAC1_ONLY));
		FUZZ_ASSERT(cookie_checker_validate(&c, msg, len, true, SA(other), now) ==
			    COOKIE_MAC1_ONLY);
	}
	cookie_checker_cleanup(&c);
	cookie_maker_cleanup(&m);
	free(msg);
}

/* A reply the checker made: to which mac1, with which secret. */
struct genuine {
	uint8_t reply[COOKIE_REPLY_LEN];
	uint8_t mac1[COOKIE_MAC_LEN];
	uint64_t secret_ms;
};

struct consume_world {
	struct cookie_checker c;
	struct cookie_maker m;
	struct src s, other;
	uint64_t now;
	uint8_t msg[MAX_MSG];
	size_t msg_len;
	uint8_t mac1[COOKIE_MAC_LEN]; /* of msg, by the reference */
	struct genuine g[MAX_REPLIES];
	size_t n_g; /* ring: g[(n_g - 1) % MAX_REPLIES] is the newest */
	/* Every genuine reply of this input: one older than the ring, to a
	 * message with the same mac1 as the latest, opens too (the fuzzer
	 * rebuilds such replies from its comparison dictionary). */
	struct genuine *all;
	size_t n_all;
};

/* The checker answers the maker's latest message. */
static void reply(struct consume_world *w)
{
	struct genuine *g = &w->g[w->n_g++ % MAX_REPLIES];

	FUZZ_ASSERT(cookie_checker_reply(&w->c, w->msg, w->msg_len, SA(w->s), w->now, g->reply) ==
		    0);
	memcpy(g->mac1, w->mac1, sizeof(g->mac1));
	g->secret_ms = w->c.secret_ms;
	w->all = realloc(w->all, (w->n_all + 1) * sizeof(*w->all));
	if (!w->all)
		abort();
	w->all[w->n_all++] = *g;
}

/* The maker sends @len bytes of @data (padded to hold an index and the
 * MACs); the checker must pass its mac1. */
static void send_msg(struct consume_world *w, const uint8_t *data, size_t len)
{
	size_t n = len < 8 + COOKIE_MACS_LEN ? 8 + COOKIE_MACS_LEN : len;

	if (n > MAX_MSG)
		n = MAX_MSG;
	memset(w->msg, 0, n);
	memcpy(w->msg, data, len < n ? len : n);
	w->msg_len = n;
	cookie_maker_add_macs(&w->m, w->msg, n, w->now);
	ref_mac1(w->msg, n, w->mac1);
	FUZZ_ASSERT(memcmp(w->mac1, w->msg + n - COOKIE_MACS_LEN, COOKIE_MAC_LEN) == 0);
	FUZZ_ASSERT(cookie_checker_validate(&w->c, w->msg, n, false, SA(w->s), w->now) ==
		    COOKIE_MAC1_ONLY);
}

/* Offers @r (@len bytes) to the maker and checks the answer. */
static void consume(struct consume_world *w, const uint8_t *r, size_t len)
{
	const struct genuine *match = NULL;
	uint8_t *copy = malloc(len ? len : 1);
	static const uint8_t next[148] = {1, 0, 0, 0, 0x42};
	uint8_t cookie[COOKIE_LEN], mac2[COOKIE_MAC_LEN];
	bool opens;
	int rc;

	if (!copy)
		abort();
	memcpy(copy, r, len);
	if (len == COOKIE_REPLY_LEN && r[0] == COOKIE_TYPE_REPLY) {
		for (size_t i = 0; i < w->n_all; i++) {
			const struct genuine *g = &w->all[i];

			if (memcmp(g->mac1, w->mac1, COOKIE_MAC_LEN) == 0 &&
			    memcmp(g->reply + 8, r + 8, COOKIE_REPLY_LEN - 8) == 0)
				match = g;
		}
	}
	rc = cookie_maker_consume(&w->m, copy, len, w->now);
	free(copy);
	if (len != COOKIE_REPLY_LEN || r[0] != COOKIE_TYPE_REPLY) {
		FUZZ_ASSERT(rc == -EPROTO);
		return;
	}
	opens =
	    crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, r + 32, 32, w->mac1,
						       COOKIE_MAC_LEN, r + 8, ref_cookie_key) == 0;
	FUZZ_ASSERT(opens ? rc == 0 : rc == -EBADMSG);
	FUZZ_ASSERT(!match || opens);
	if (!opens)
		return;
	FUZZ_ASSERT(cookie_maker_has_cookie(&w->m, w->now));
	/* The maker's next message carries the cookie in mac2. */
	send_msg(w, next, sizeof(next));
	crypto_generichash(mac2, sizeof(mac2), w->msg, w->msg_len - COOKIE_MAC_LEN, cookie,
			   sizeof(cookie));
	FUZZ_ASSERT(memcmp(mac2, w->msg + w->msg_len - COOKIE_MAC_LEN, COOKIE_MAC_LEN) == 0);
	if (!match)
		return;
	FUZZ_ASSERT(cookie_checker_validate(&w->c, w->msg, w->msg_len, true, SA(w->other),
					    w->now) == COOKIE_MAC1_ONLY);
	if (match->secret_ms == w->c.secret_ms &&
	    w->now - w->c.secret_ms < COOKIE_SECRET_MAX_AGE_MS)
		FUZZ_ASSERT(cookie_checker_validate(&w->c, w->msg, w->msg_len, true, SA(w->s),
						    w->now) == COOKIE_MAC1_AND_COOKIE);
}

static void run_consume(struct fuzz_input *in)
{
	static struct consume_world w;
	static const uint8_t first[148] = {1};

	memset(&w, 0, sizeof(w));
	cookie_checker_init(&w.c, b_pub);
	cookie_maker_init(&w.m, b_pub);
	w.s = make_src(false, 51820);
	w.other = make_src(false, 51821);
	w.now = T0;
	send_msg(&w, first, sizeof(first));
	reply(&w);
	while (in->left) {
		uint8_t op = fuzz_u8(in) % 5;
		size_t len = fuzz_u8(in), got;
		const uint8_t *d = fuzz_bytes(in, len, &got);
		uint8_t r[COOKIE_REPLY_LEN];

		switch (op) {
		case 0:
			consume(&w, d, got % 101);
			break;
		case 1: {
			size_t n = w.n_g < MAX_REPLIES ? w.n_g : MAX_REPLIES;
			size_t back = (got > 0 ? d[0] : 0) % n;

			memcpy(r, w.g[(w.n_g - 1 - back) % MAX_REPLIES].reply, sizeof(r));
			if (got > 2)
				r[d[2] % COOKIE_REPLY_LEN] ^= d[1];
			consume(&w, r, sizeof(r));
			break;
		}
		case 2:
			send_msg(&w, d, got);
			reply(&w);
			break;
		case 3:
			reply(&w);
			break;
		default:
			w.now += (uint64_t)(got > 0 ? d[0] << 8 | (got > 1 ? d[1] : 0) : 0) * 16;
			break;
		}
	}
	cookie_checker_cleanup(&w.c);
	cookie_maker_cleanup(&w.m);
	free(w.all);
	w.all = NULL;
}

static void run_ratelimit(struct fuzz_input *in)
{
	static struct ratelimit_bucket model[SOURCES];
	struct ratelimit rl;
	uint64_t now = T0;

	memset(model, 0, sizeof(model));
	if (ratelimit_init(&rl) != 0)
		abort();
	while (in->left) {
		uint8_t sb = fuzz_u8(in), step = fuzz_u8(in);
		unsigned i = sb % SOURCES;
		struct sockaddr_storage ss = {0};
		socklen_t slen;
		uint64_t refused = rl.refused_full;
		struct ratelimit_bucket before;
		bool got, want;

		now += step & 0x80 ? (uint64_t)(step & 0x7f) * 100 : step;
		if (i < 32 && !(sb & 64)) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			a->sin_family = AF_INET;
			a->sin_addr.s_addr = htonl(0xc6120000 + i);
			slen = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			a->sin6_family = AF_INET6;
			if (i < 32) {
				a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
				a->sin6_addr.s6_addr[12] = 198;
				a->sin6_addr.s6_addr[13] = 18;
				a->sin6_addr.s6_addr[15] = (uint8_t)i;
			} else {
				inet_pton(AF_INET6, "2001:db8::", &a->sin6_addr);
				a->sin6_addr.s6_addr[7] = (uint8_t)i;
				/* Another host of the same /64. */
				a->sin6_addr.s6_addr[15] = (uint8_t)(sb >> 6);
				a->sin6_addr.s6_addr[9] = (uint8_t)(sb >> 7);
			}
			slen = sizeof(*a);
		}
		got = ratelimit_allow(&rl, (const struct sockaddr *)&ss, slen, now);
		before = model[i];
		want = ratelimit_bucket_take(&model[i], now, RATELIMIT_PER_SECOND, RATELIMIT_BURST);
		FUZZ_ASSERT(!got || want);
		if (got != want) {
			/* Not in the table, so not charged: neither is the
			 * model (an entry leaves the table only full). */
			FUZZ_ASSERT(rl.refused_full == refused + 1);
			model[i] = before;
		}
	}
	ratelimit_cleanup(&rl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};

	init_once();
	fuzz_rng_stream = 0;
	fuzz_rng_state[0] = UINT64_C(0x0123456789abcdef);
	switch (fuzz_u8(&in) % 3) {
	case 0:
		run_validate(&in);
		break;
	case 1:
		run_consume(&in);
		break;
	default:
		run_ratelimit(&in);
		break;
	}
	return 0;
}
