/* SPDX-License-Identifier: MIT */
/*
 * The handshake's guards (doc/design.md section 3 "DoS"): the rate limit per
 * source address (lib/ratelimit.h), checked against a slow reference model
 * on random input; the MACs and cookie replies (lib/cookie.h); and the
 * address prefixes of AllowFrom (lib/endpoint.h).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include "check_run.h"
#include "cookie.h"
#include "endpoint.h"
#include "ratelimit.h"

static struct sockaddr_in v4(const char *a, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};

	ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6 v6(const char *a, uint16_t port)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	return sin6;
}

#define SA(x) ((const struct sockaddr *)&(x)), sizeof(x)

/* ---- ratelimit ----------------------------------------------------------- */

START_TEST(test_bucket)
{
	struct ratelimit_bucket b = {0};
	int i;

	/* Starts full: the burst passes, the next does not. */
	for (i = 0; i < 5; i++)
		ck_assert(ratelimit_bucket_take(&b, 1000, 20, 5));
	ck_assert(!ratelimit_bucket_take(&b, 1000, 20, 5));
	/* 20 a second: one token per 50 ms, not before. */
	ck_assert(!ratelimit_bucket_take(&b, 1049, 20, 5));
	ck_assert(ratelimit_bucket_take(&b, 1050, 20, 5));
	ck_assert(!ratelimit_bucket_take(&b, 1050, 20, 5));
	/* A long pause refills to the burst, no more. */
	for (i = 0; i < 5; i++)
		ck_assert(ratelimit_bucket_take(&b, 1000000, 20, 5));
	ck_assert(!ratelimit_bucket_take(&b, 1000000, 20, 5));
	/* The clock going back changes nothing. */
	ck_assert(!ratelimit_bucket_take(&b, 5, 20, 5));
}
END_TEST

START_TEST(test_per_source)
{
	struct ratelimit rl;
	struct sockaddr_in a = v4("198.18.0.1", 1), a2 = v4("198.18.0.1", 2);
	struct sockaddr_in b = v4("198.18.0.2", 1);
	struct sockaddr_in6 m = v6("::ffff:198.18.0.1", 3);
	struct sockaddr_in6 c = v6("2001:db8:1:2::1", 1), c2 = v6("2001:db8:1:2::ffff", 1);
	struct sockaddr_in6 d = v6("2001:db8:1:3::1", 1);
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} u = {.family = AF_UNIX};
	int i;

	ck_assert_int_eq(ratelimit_init(&rl), 0);
	for (i = 0; i < RATELIMIT_BURST; i++)
		ck_assert(ratelimit_allow(&rl, SA(a), 0));
	/* Another port, or the IPv4-mapped form, is the same source. */
	ck_assert(!ratelimit_allow(&rl, SA(a2), 0));
	ck_assert(!ratelimit_allow(&rl, SA(m), 0));
	/* Another address has its own bucket. */
	ck_assert(ratelimit_allow(&rl, SA(b), 0));
	/* IPv6: one /64 is one source. */
	for (i = 0; i < RATELIMIT_BURST; i++)
		ck_assert(ratelimit_allow(&rl, SA(c), 0));
	ck_assert(!ratelimit_allow(&rl, SA(c2), 0));
	ck_assert(ratelimit_allow(&rl, SA(d), 0));
	/* Other families are refused. */
	ck_assert(!ratelimit_allow(&rl, (const struct sockaddr *)&u, sizeof(u), 0));
	/* Refill. */
	ck_assert(ratelimit_allow(&rl, SA(a), 1000 / RATELIMIT_PER_SECOND));
	ratelimit_cleanup(&rl);
	ratelimit_cleanup(&rl);
}
END_TEST

/*
 * Random sources and times against a model that keeps one bucket per
 * source without bound: while the table never fills (few sources), both
 * must agree on every message.
 */
START_TEST(test_against_model)
{
	enum { SOURCES = 40, STEPS = 20000 };
	struct ratelimit rl;
	struct ratelimit_bucket model[SOURCES];
	uint64_t now = 0;
	int i;

	memset(model, 0, sizeof(model));
	ck_assert_int_eq(ratelimit_init(&rl), 0);
	for (i = 0; i < STEPS; i++) {
		unsigned src = randombytes_uniform(SOURCES);
		struct sockaddr_in sin = {.sin_family = AF_INET};
		bool got, want;

		now += randombytes_uniform(8);
		sin.sin_addr.s_addr = htonl(0xc6120000 + src);
		got = ratelimit_allow(&rl, SA(sin), now);
		want =
		    ratelimit_bucket_take(&model[src], now, RATELIMIT_PER_SECOND, RATELIMIT_BURST);
		/* A source whose set is busy is refused: never more than the
		 * model allows. */
		if (got != want)
			ck_assert(!got && rl.refused_full > 0);
	}
	ck_assert_uint_lt(rl.refused_full, STEPS / 100);
	ratelimit_cleanup(&rl);
}
END_TEST

/* A flood from many sources cannot grow memory: the table is fixed, and
 * sources that went idle make room for new ones. */
START_TEST(test_table_bounded)
{
	struct ratelimit rl;
	uint32_t i, refused = 0;

	ck_assert_int_eq(ratelimit_init(&rl), 0);
	for (i = 0; i < 100000; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		sin.sin_addr.s_addr = htonl(0xc6120000 + i);
		if (!ratelimit_allow(&rl, SA(sin), 0))
			refused++;
	}
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_eq(refused, rl.refused_full);
	/* A second later they are all idle: a new source gets in. */
	{
		struct sockaddr_in sin = v4("198.19.255.255", 1);

		ck_assert(ratelimit_allow(&rl, SA(sin), 1000));
	}
	ratelimit_cleanup(&rl);
}
END_TEST

/* ---- cookie -------------------------------------------------------------- */

static uint8_t resp_pub[32], resp_priv[32];

static void msg_make(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now)
{
	randombytes_buf(msg, len - COOKIE_MACS_LEN);
	msg[0] = 1;
	cookie_maker_add_macs(m, msg, len, now);
}

START_TEST(test_cookie_roundtrip)
{
	struct cookie_checker c;
	struct cookie_maker m;
	struct sockaddr_in src = v4("198.18.0.2", 4000), other = v4("198.18.0.2", 4001);
	uint8_t msg[148], reply[COOKIE_REPLY_LEN];

	crypto_box_keypair(resp_pub, resp_priv);
	cookie_checker_init(&c, resp_pub);
	cookie_maker_init(&m, resp_pub);
	msg_make(&m, msg, sizeof(msg), 0);
	/* mac2 is zero without a cookie; no secret yet: MAC1_ONLY. */
	ck_assert(sodium_is_zero(msg + sizeof(msg) - COOKIE_MAC_LEN, COOKIE_MAC_LEN));
	ck_assert_int_eq(cookie_checker_validate(&c, msg, sizeof(msg), true, SA(src), 0),
			 COOKIE_MAC1_ONLY);
	ck_assert_int_eq(cookie_checker_reply(&c, msg, sizeof(msg), SA(src), 0, reply), 0);
	ck_assert_int_eq(reply[0], COOKIE_TYPE_REPLY);
	ck_assert_mem_eq(reply + 4, msg + 4, 4);
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 10), 0);
	ck_assert(cookie_maker_has_cookie(&m, 10));
	msg_make(&m, msg, sizeof(msg), 20);
	ck_assert_int_eq(cookie_checker_validate(&c, msg, sizeof(msg), true, SA(src), 20),
			 COOKIE_MAC1_AND_COOKIE);
	/* Bound to the address and port. */
	ck_assert_int_eq(cookie_checker_validate(&c, msg, sizeof(msg), true, SA(other), 20),
			 COOKIE_MAC1_ONLY);
	/* Not asked for: mac1 only. */
	ck_assert_int_eq(cookie_checker_validate(&c, msg, sizeof(msg), false, SA(src), 20),
			 COOKIE_MAC1_ONLY);
	/* Any byte before mac2 changed: mac1 fails. */
	for (size_t i = 0; i < sizeof(msg) - COOKIE_MAC_LEN; i++) {
		msg[i] ^= 0x80;
		ck_assert_int_eq(cookie_checker_validate(&c, msg, sizeof(msg), true, SA(src), 20),
				 COOKIE_BAD_MAC1);
		msg[i] ^= 0x80;
	}
	/* The maker stops using a cookie at COOKIE_MAX_AGE_MS. */
	ck_assert(!cookie_maker_has_cookie(&m, 10 + COOKIE_MAX_AGE_MS));
	msg_make(&m, msg, sizeof(msg), 10 + COOKIE_MAX_AGE_MS);
	ck_assert(sodium_is_zero(msg + sizeof(msg) - COOKIE_MAC_LEN, COOKIE_MAC_LEN));
	cookie_checker_cleanup(&c);
	cookie_maker_cleanup(&m);
}
END_TEST

START_TEST(test_cookie_reply_forged)
{
	struct cookie_checker c, wrong;
	struct cookie_maker m;
	struct sockaddr_in src = v4("198.18.0.2", 4000);
	uint8_t msg[148], reply[COOKIE_REPLY_LEN], pub2[32], priv2[32];

	crypto_box_keypair(resp_pub, resp_priv);
	crypto_box_keypair(pub2, priv2);
	cookie_checker_init(&c, resp_pub);
	cookie_checker_init(&wrong, pub2);
	cookie_maker_init(&m, resp_pub);
	/* Nothing sent yet: no reply can be ours. */
	ck_assert_int_eq(cookie_checker_reply(&c, msg, sizeof(msg), SA(src), 0, reply), 0);
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 0), -ENOKEY);
	msg_make(&m, msg, sizeof(msg), 0);
	/* From someone else's key, to another message, altered, cut. */
	ck_assert_int_eq(cookie_checker_reply(&wrong, msg, sizeof(msg), SA(src), 0, reply), 0);
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 0), -EBADMSG);
	ck_assert_int_eq(cookie_checker_reply(&c, msg, sizeof(msg), SA(src), 0, reply), 0);
	msg_make(&m, msg, sizeof(msg), 0);
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 0), -EBADMSG);
	ck_assert_int_eq(cookie_checker_reply(&c, msg, sizeof(msg), SA(src), 0, reply), 0);
	reply[63] ^= 1;
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 0), -EBADMSG);
	reply[63] ^= 1;
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply) - 1, 0), -EPROTO);
	ck_assert(!cookie_maker_has_cookie(&m, 0));
	ck_assert_int_eq(cookie_maker_consume(&m, reply, sizeof(reply), 0), 0);
	ck_assert_int_eq(cookie_checker_reply(&c, msg, 8, SA(src), 0, reply), -EINVAL);
	ck_assert_int_eq(cookie_checker_validate(&c, msg, 3, true, SA(src), 0), COOKIE_BAD_MAC1);
}
END_TEST

/* ---- endpoint prefixes --------------------------------------------------- */

START_TEST(test_prefix_parse)
{
	static const char *const good[] = {
	    "198.18.0.0/15", "198.18.0.1", "0.0.0.0/0",     "2001:db8::/32",
	    "2001:db8::1",   "::/0",       "198.18.0.1/32", "2001:db8::1/128",
	};
	static const char *const bad[] = {
	    "",
	    "/15",
	    "198.18.0.1/15",
	    "198.18.0.0/33",
	    "198.18.0.0/",
	    "198.18.0.0/015",
	    "198.18.0.0/-1",
	    "198.18.0.0/1x",
	    "2001:db8::/129",
	    "2001:db8::1/32",
	    "[2001:db8::]/32",
	    "host.example",
	    "198.18.0.0 /15",
	    "198.18.0.0/1500",
	};
	struct endpoint_prefix p;
	char buf[ENDPOINT_PREFIX_STRLEN];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(endpoint_prefix_parse(good[i], &p) == 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(endpoint_prefix_parse(bad[i], &p) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(endpoint_prefix_parse("198.18.0.1", &p), 0);
	ck_assert_str_eq(endpoint_prefix_format(&p, buf, sizeof(buf)), "198.18.0.1/32");
	ck_assert_int_eq(endpoint_prefix_parse("2001:db8::/32", &p), 0);
	ck_assert_str_eq(endpoint_prefix_format(&p, buf, sizeof(buf)), "2001:db8::/32");
}
END_TEST

START_TEST(test_prefix_match)
{
	struct endpoint_prefix p;
	struct sockaddr_in in = v4("198.19.255.1", 1), out = v4("198.20.0.1", 1);
	struct sockaddr_in6 mapped = v6("::ffff:198.18.3.4", 1), in6 = v6("2001:db8:ff::1", 1);
	struct sockaddr_in6 out6 = v6("2001:db9::1", 1);

	ck_assert_int_eq(endpoint_prefix_parse("198.18.0.0/15", &p), 0);
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&in));
	ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&out));
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&mapped));
	ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&in6));
	ck_assert_int_eq(endpoint_prefix_parse("2001:db8::/32", &p), 0);
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&in6));
	ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&out6));
	ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&in));
	ck_assert_int_eq(endpoint_prefix_parse("0.0.0.0/0", &p), 0);
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&out));
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&mapped));
	ck_assert_int_eq(endpoint_prefix_parse("198.19.255.1", &p), 0);
	ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&in));
	in.sin_addr.s_addr ^= htonl(1);
	ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&in));
	/* Every prefix length of an IPv6 address from /32: the address
	 * matches, one bit changed inside the prefix does not. */
	for (unsigned len = 0; len < 128; len++) {
		struct sockaddr_in6 x = v6("2001:db8::", 1);
		char s[64];

		snprintf(s, sizeof(s), "2001:db8::/%u", len < 32 ? 32 : len);
		ck_assert_int_eq(endpoint_prefix_parse(s, &p), 0);
		ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&x));
		/* The last bit inside the prefix flipped: outside it. */
		x.sin6_addr.s6_addr[(p.len - 1) / 8] ^= (uint8_t)(0x80 >> ((p.len - 1) % 8));
		ck_assert(!endpoint_prefix_match(&p, (struct sockaddr *)&x));
		/* The first bit past it flipped: still inside. */
		x.sin6_addr.s6_addr[(p.len - 1) / 8] ^= (uint8_t)(0x80 >> ((p.len - 1) % 8));
		if (p.len < 128) {
			x.sin6_addr.s6_addr[p.len / 8] ^= (uint8_t)(0x80 >> (p.len % 8));
			ck_assert(endpoint_prefix_match(&p, (struct sockaddr *)&x));
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("guard");

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, test_bucket);
	tcase_add_test(tc, test_per_source);
	tcase_add_test(tc, test_against_model);
	tcase_add_test(tc, test_table_bounded);
	tcase_add_test(tc, test_cookie_roundtrip);
	tcase_add_test(tc, test_cookie_reply_forged);
	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_prefix_match);
	suite_add_tcase(s, tc);
	return check_run(s);
}
