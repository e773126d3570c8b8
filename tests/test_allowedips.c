/* SPDX-License-Identifier: MIT */
/* lib/allowedips: hand cases, then random operations against
 * tests/allowedips_model.h with allowedips_verify() after every step. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowedips.h"
#include "allowedips_model.h"
#include "check_run.h"

/* Peers are opaque to the table: any distinct addresses will do. */
static char peers[8];
#define PEER(i) ((void *)&peers[i])

/* Parses a test address (198.18.0.0/15 or 2001:db8::/32) into @buf, for
 * either family, and returns its family. */
static int addr_of(const char *s, uint8_t buf[16])
{
	memset(buf, 0, 16);
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	ck_assert_msg(inet_pton(AF_INET6, s, buf) == 1, "bad test address %s", s);
	return AF_INET6;
}

static int insert(struct allowedips *t, const char *s, unsigned cidr, void *peer)
{
	uint8_t a[16];
	int family = addr_of(s, a);

	return allowedips_insert(t, family, a, cidr, peer);
}

static int remove_(struct allowedips *t, const char *s, unsigned cidr)
{
	uint8_t a[16];
	int family = addr_of(s, a);

	return allowedips_remove(t, family, a, cidr);
}

static void *lookup(const struct allowedips *t, const char *s)
{
	uint8_t a[16];
	int family = addr_of(s, a);

	return allowedips_lookup(t, family, a);
}

static void verify(const struct allowedips *t)
{
	const char *why = NULL;
	int r = allowedips_verify(t, &why);

	ck_assert_msg(r == 0, "allowedips_verify: %d (%s)", r, why ? why : "?");
}

static size_t nodes_of(const struct allowedips *t)
{
	size_t nodes;

	allowedips_stats(t, NULL, &nodes, NULL);
	return nodes;
}

static size_t entries_of(const struct allowedips *t)
{
	size_t entries;

	allowedips_stats(t, &entries, NULL, NULL);
	return entries;
}

START_TEST(test_init_bounds)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 0), -EINVAL);
	ck_assert_int_eq(allowedips_init(&t, ALLOWEDIPS_MAX_ENTRIES + 1), -EINVAL);
	ck_assert_int_eq(allowedips_init(&t, ALLOWEDIPS_MAX_ENTRIES), 0);
	ck_assert_ptr_null(lookup(&t, "198.18.0.1"));
	ck_assert_ptr_null(lookup(&t, "2001:db8::1"));
	verify(&t);
	allowedips_free(&t);
	/* A freed table keeps its bound and takes prefixes again. */
	ck_assert_int_eq(allowedips_init(&t, 1), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.1", 32, PEER(1)), 0);
	allowedips_free(&t);
	verify(&t);
	ck_assert_ptr_null(lookup(&t, "198.18.0.1"));
	ck_assert_int_eq(insert(&t, "198.18.0.2", 32, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.3", 32, PEER(1)), -ENOSPC);
	ck_assert_ptr_eq(lookup(&t, "198.18.0.2"), PEER(1));
	allowedips_free(&t);
}
END_TEST

START_TEST(test_default_routes)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(1)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.0.1"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "198.19.255.255"), PEER(1));
	/* The IPv4 default route says nothing about IPv6. */
	ck_assert_ptr_null(lookup(&t, "2001:db8::1"));
	ck_assert_int_eq(insert(&t, "::", 0, PEER(2)), 0);
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "198.18.0.1"), PEER(1));
	ck_assert_int_eq(insert(&t, "198.18.0.0", 15, PEER(3)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.19.1.1"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "198.20.0.0"), PEER(1));
	verify(&t);
	ck_assert_int_eq(remove_(&t, "0.0.0.0", 0), 0);
	ck_assert_ptr_null(lookup(&t, "198.20.0.0"));
	ck_assert_ptr_eq(lookup(&t, "198.19.1.1"), PEER(3));
	ck_assert_int_eq(remove_(&t, "0.0.0.0", 0), -ENOENT);
	verify(&t);
	ck_assert_uint_eq(nodes_of(&t), 2);
	allowedips_free(&t);
}
END_TEST

START_TEST(test_host_routes)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.1", 32, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.2", 32, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 128, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::", 128, PEER(4)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.0.1"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "198.18.0.2"), PEER(2));
	ck_assert_ptr_null(lookup(&t, "198.18.0.3"));
	ck_assert_ptr_null(lookup(&t, "198.18.0.0"));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::"), PEER(4));
	ck_assert_ptr_null(lookup(&t, "2001:db8::2"));
	ck_assert_ptr_null(lookup(&t, "2001:db8:0:0:8000::1"));
	/* Two IPv4 hosts and a branch point; two IPv6 hosts and one. */
	ck_assert_uint_eq(entries_of(&t), 4);
	ck_assert_uint_eq(nodes_of(&t), 6);
	verify(&t);
	/* Lengths past the family and unknown families. */
	ck_assert_int_eq(insert(&t, "198.18.0.1", 33, PEER(1)), -EINVAL);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 129, PEER(1)), -EINVAL);
	ck_assert_int_eq(insert(&t, "198.18.0.1", 24, NULL), -EINVAL);
	ck_assert_int_eq(allowedips_insert(&t, AF_UNIX, (const uint8_t *)"abcd", 8, PEER(1)),
			 -EINVAL);
	ck_assert_int_eq(remove_(&t, "198.18.0.1", 33), -EINVAL);
	ck_assert_int_eq(allowedips_remove(&t, AF_UNIX, (const uint8_t *)"abcd", 8), -EINVAL);
	ck_assert_ptr_null(allowedips_lookup(&t, AF_UNIX, (const uint8_t *)"abcd"));
	ck_assert_uint_eq(entries_of(&t), 4);
	verify(&t);
	allowedips_free(&t);
}
END_TEST

START_TEST(test_overlapping)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	/* Inserted longest first, so that each shorter one lands above. */
	ck_assert_int_eq(insert(&t, "198.18.1.128", 25, PEER(4)), 0);
	ck_assert_int_eq(insert(&t, "198.18.1.0", 24, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 16, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 15, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.1.7", 32, PEER(5)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.1.7"), PEER(5));
	ck_assert_ptr_eq(lookup(&t, "198.18.1.8"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "198.18.1.200"), PEER(4));
	ck_assert_ptr_eq(lookup(&t, "198.18.2.1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "198.19.1.1"), PEER(1));
	ck_assert_ptr_null(lookup(&t, "198.20.1.1"));
	/* A chain: no branch point needed. */
	ck_assert_uint_eq(nodes_of(&t), 5);
	verify(&t);
	/* Removing a middle one uncovers the next shorter. */
	ck_assert_int_eq(remove_(&t, "198.18.1.0", 24), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.1.8"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "198.18.1.200"), PEER(4));
	ck_assert_ptr_eq(lookup(&t, "198.18.1.7"), PEER(5));
	verify(&t);
	/* 198.18.1.128/25 and 198.18.1.7/32 now part at bit 24: a branch point
	 * replaces the /24 node. */
	ck_assert_uint_eq(nodes_of(&t), 5);
	ck_assert_int_eq(remove_(&t, "198.18.1.7", 32), 0);
	ck_assert_uint_eq(nodes_of(&t), 3);
	verify(&t);

	/* The same in IPv6, shortest first. */
	ck_assert_int_eq(insert(&t, "2001:db8::", 32, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1::", 48, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1:2::", 64, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1:3::", 64, PEER(4)), 0);
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:2::9"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:3::9"), PEER(4));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:4::9"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:2::9"), PEER(1));
	ck_assert_ptr_null(lookup(&t, "2001:db9::"));
	verify(&t);
	allowedips_free(&t);
	ck_assert_uint_eq(nodes_of(&t), 0);
	verify(&t);
}
END_TEST

START_TEST(test_owner_change)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 2), 0);
	ck_assert_int_eq(insert(&t, "198.18.4.0", 22, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.6.0", 24, PEER(2)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.5.1"), PEER(1));
	/* At the bound: a new prefix is refused, a known one changes owner. */
	ck_assert_int_eq(insert(&t, "198.18.5.0", 24, PEER(3)), -ENOSPC);
	ck_assert_int_eq(insert(&t, "198.18.4.0", 22, PEER(3)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.5.1"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "198.18.6.1"), PEER(2));
	ck_assert_uint_eq(entries_of(&t), 2);
	ck_assert_uint_eq(nodes_of(&t), 2);
	verify(&t);
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, PEER(1)), 0);
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, PEER(3)), 1);
	ck_assert_ptr_eq(lookup(&t, "198.18.6.1"), PEER(2));
	ck_assert_ptr_null(lookup(&t, "198.18.5.1"));
	verify(&t);
	allowedips_free(&t);
}
END_TEST

START_TEST(test_masking)
{
	struct allowedips t;

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	ck_assert_int_eq(insert(&t, "198.18.7.9", 24, PEER(1)), 1);
	ck_assert_int_eq(insert(&t, "198.18.7.0", 24, PEER(2)), 0);
	ck_assert_uint_eq(entries_of(&t), 1);
	ck_assert_ptr_eq(lookup(&t, "198.18.7.200"), PEER(2));
	ck_assert_int_eq(insert(&t, "2001:db8::ffff", 112, PEER(3)), 1);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 0, PEER(4)), 1);
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1:1"), PEER(4));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(3));
	verify(&t);
	/* Removal ignores host bits the same way. */
	ck_assert_int_eq(remove_(&t, "198.18.7.77", 24), 0);
	ck_assert_int_eq(remove_(&t, "2001:db8::5", 112), 0);
	ck_assert_ptr_null(lookup(&t, "198.18.7.200"));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(4));
	/* The stored prefix is the masked one. */
	ck_assert_int_eq(insert(&t, "198.19.255.255", 15, PEER(5)), 1);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 15, PEER(6)), 0);
	ck_assert_uint_eq(entries_of(&t), 2);
	ck_assert_ptr_eq(lookup(&t, "198.19.0.1"), PEER(6));
	verify(&t);
	allowedips_free(&t);
}
END_TEST

/* Records what allowedips_walk() hands over, as text. */
struct walk_log {
	char text[1024];
	size_t len;
	int stop_after;
};

static int log_prefix(void *arg, int family, const uint8_t *addr, unsigned cidr, void *peer)
{
	struct walk_log *w = arg;
	char s[INET6_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(family, addr, s, sizeof(s)));
	w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "%s%s/%u=%d",
				   w->len ? " " : "", s, cidr, (int)((char *)peer - peers));
	ck_assert_uint_lt(w->len, sizeof(w->text));
	return --w->stop_after == 0 ? 42 : 0;
}

START_TEST(test_walk)
{
	struct allowedips t;
	struct walk_log w = {.stop_after = -1};

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::", 32, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.3.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 15, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.1.0", 24, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 16, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:8000::", 33, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(1)), 0);
	ck_assert_int_eq(allowedips_walk(&t, PEER(1), log_prefix, &w), 0);
	ck_assert_str_eq(w.text, "0.0.0.0/0=1 198.18.0.0/15=1 198.18.0.0/16=1 198.18.3.0/24=1 "
				 "2001:db8::/32=1 2001:db8:8000::/33=1");
	memset(&w, 0, sizeof(w));
	w.stop_after = -1;
	ck_assert_int_eq(allowedips_walk(&t, PEER(2), log_prefix, &w), 0);
	ck_assert_str_eq(w.text, "198.18.1.0/24=2");
	memset(&w, 0, sizeof(w));
	w.stop_after = -1;
	ck_assert_int_eq(allowedips_walk(&t, PEER(3), log_prefix, &w), 0);
	ck_assert_str_eq(w.text, "");
	/* NULL: every prefix; a non-zero return stops the walk. */
	memset(&w, 0, sizeof(w));
	w.stop_after = 5;
	ck_assert_int_eq(allowedips_walk(&t, NULL, log_prefix, &w), 42);
	ck_assert_str_eq(
	    w.text, "0.0.0.0/0=1 198.18.0.0/15=1 198.18.0.0/16=1 198.18.1.0/24=2 198.18.3.0/24=1");
	allowedips_free(&t);
}
END_TEST

START_TEST(test_remove_by_peer_shrinks)
{
	struct allowedips t;
	uint8_t a[16] = {198, 18};
	size_t nodes_before, bytes;

	ck_assert_int_eq(allowedips_init(&t, 1024), 0);
	/* Peer 1 holds every other /32 of 198.18.0.0/24, and a /24 above. */
	for (unsigned i = 0; i < 256; i += 2) {
		a[3] = (uint8_t)i;
		ck_assert_int_eq(allowedips_insert(&t, AF_INET, a, 32, PEER(1)), 0);
	}
	ck_assert_int_eq(insert(&t, "198.18.0.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::", 64, PEER(1)), 0);
	nodes_before = nodes_of(&t);
	verify(&t);
	/* Peer 2 holds the odd ones: every pair now needs a branch point. */
	for (unsigned i = 1; i < 256; i += 2) {
		a[3] = (uint8_t)i;
		ck_assert_int_eq(allowedips_insert(&t, AF_INET, a, 32, PEER(2)), 0);
	}
	ck_assert_int_eq(insert(&t, "2001:db8::1", 128, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1::", 48, PEER(2)), 0);
	ck_assert_uint_gt(nodes_of(&t), nodes_before + 128);
	verify(&t);
	ck_assert_ptr_eq(lookup(&t, "198.18.0.3"), PEER(2));
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, PEER(2)), 128 + 2);
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, PEER(2)), 0);
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, NULL), 0);
	verify(&t);
	/* Back to exactly the nodes before peer 2 came. */
	ck_assert_uint_eq(nodes_of(&t), nodes_before);
	ck_assert_ptr_eq(lookup(&t, "198.18.0.3"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "198.18.0.4"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(1));
	ck_assert_ptr_null(lookup(&t, "2001:db8:1::1"));
	ck_assert_uint_eq(allowedips_remove_by_peer(&t, PEER(1)), 128 + 2);
	allowedips_stats(&t, NULL, NULL, &bytes);
	ck_assert_uint_eq(nodes_of(&t), 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_ptr_null(t.root4);
	ck_assert_ptr_null(t.root6);
	verify(&t);
	allowedips_free(&t);
}
END_TEST

START_TEST(test_enospc)
{
	struct allowedips t;
	uint8_t a[4] = {198, 18, 0, 0};

	ck_assert_int_eq(allowedips_init(&t, 100), 0);
	for (unsigned i = 0; i < 100; i++) {
		a[2] = (uint8_t)(i * 37);
		a[3] = (uint8_t)i;
		ck_assert_int_eq(allowedips_insert(&t, AF_INET, a, 32, PEER(i % 8)), 0);
	}
	ck_assert_int_eq(insert(&t, "198.19.0.1", 32, PEER(1)), -ENOSPC);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 128, PEER(1)), -ENOSPC);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(1)), -ENOSPC);
	ck_assert_ptr_null(lookup(&t, "198.19.0.1"));
	ck_assert_uint_eq(entries_of(&t), 100);
	ck_assert_uint_le(nodes_of(&t), 2 * 100 - 1);
	verify(&t);
	/* Removing one makes room for one. */
	ck_assert_int_eq(remove_(&t, "198.18.37.1", 32), 0);
	ck_assert_int_eq(insert(&t, "198.19.0.1", 32, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.19.0.2", 32, PEER(1)), -ENOSPC);
	verify(&t);
	allowedips_free(&t);
}
END_TEST

START_TEST(test_enospc_branch_point)
{
	struct allowedips t;

	/* 198.18.0.0/24 and 198.18.1.0/24 part at bit 23: a branch point at
	 * 198.18.0.0/23 that inserting /23 turns into an entry. */
	ck_assert_int_eq(allowedips_init(&t, 2), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.1.0", 24, PEER(2)), 0);
	ck_assert_uint_eq(nodes_of(&t), 3);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 23, PEER(3)), -ENOSPC);
	ck_assert_uint_eq(entries_of(&t), 2);
	verify(&t);
	ck_assert_int_eq(remove_(&t, "198.18.0.0", 23), -ENOENT);
	ck_assert_int_eq(remove_(&t, "198.18.1.0", 24), 0);
	ck_assert_int_eq(insert(&t, "198.18.0.0", 23, PEER(3)), 0);
	ck_assert_ptr_eq(lookup(&t, "198.18.1.1"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "198.18.0.1"), PEER(1));
	verify(&t);
	allowedips_free(&t);
}
END_TEST

/* A minimal IPv4 header (RFC 791) or IPv6 header (RFC 8200). */
static size_t packet(uint8_t *p, const char *src, const char *dst)
{
	uint8_t s[16], d[16];
	int family = addr_of(src, s);

	ck_assert_int_eq(addr_of(dst, d), family);
	memset(p, 0, 60);
	if (family == AF_INET) {
		p[0] = 0x45;
		p[3] = 28; /* total length: header and 8 bytes of UDP */
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, s, 4);
		memcpy(p + 16, d, 4);
		return 28;
	}
	p[0] = 0x60;
	p[5] = 8;
	p[6] = 17;
	p[7] = 64;
	memcpy(p + 8, s, 16);
	memcpy(p + 24, d, 16);
	return 48;
}

START_TEST(test_packets)
{
	struct allowedips t;
	uint8_t p[64];
	size_t len;

	ck_assert_int_eq(allowedips_init(&t, 16), 0);
	ck_assert_int_eq(insert(&t, "198.18.1.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "198.18.2.0", 24, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1::", 48, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:2::", 48, PEER(4)), 0);

	len = packet(p, "198.18.1.5", "198.18.2.9");
	ck_assert_ptr_eq(allowedips_lookup_src(&t, p, len), PEER(1));
	ck_assert_ptr_eq(allowedips_lookup_dst(&t, p, len), PEER(2));
	ck_assert_ptr_eq(allowedips_lookup_dst(&t, p, 20), PEER(2));
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, 19));
	ck_assert_ptr_null(allowedips_lookup_src(&t, p, 19));
	/* Options (IHL 6) need 24 bytes; IHL below 5 is no header at all. */
	p[0] = 0x46;
	ck_assert_ptr_eq(allowedips_lookup_dst(&t, p, 24), PEER(2));
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, 23));
	p[0] = 0x44;
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, len));
	/* Version 6 with an IPv4 header's bytes is read as IPv6. */
	p[0] = 0x65;
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, 19));
	p[0] = 0x45;
	/* Neither 4 nor 6. */
	for (unsigned v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		p[0] = (uint8_t)(v << 4 | 5);
		ck_assert_ptr_null(allowedips_lookup_dst(&t, p, len));
		ck_assert_ptr_null(allowedips_lookup_src(&t, p, len));
	}
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, 0));
	ck_assert_ptr_null(allowedips_lookup_dst(&t, NULL, 0));

	len = packet(p, "2001:db8:2::1", "2001:db8:1::1");
	ck_assert_ptr_eq(allowedips_lookup_src(&t, p, len), PEER(4));
	ck_assert_ptr_eq(allowedips_lookup_dst(&t, p, len), PEER(3));
	ck_assert_ptr_eq(allowedips_lookup_dst(&t, p, 40), PEER(3));
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, 39));
	ck_assert_ptr_null(allowedips_lookup_src(&t, p, 39));
	len = packet(p, "2001:db8:3::1", "2001:db8:1::1");
	ck_assert_ptr_null(allowedips_lookup_src(&t, p, len));
	/* An IPv6 packet's address bytes are not looked up as IPv4. */
	p[0] = 0x45;
	ck_assert_ptr_null(allowedips_lookup_dst(&t, p, len));
	allowedips_free(&t);
}
END_TEST

/*
 * Random operations, checked against the model after each.  Addresses are
 * drawn from few bits so that prefixes overlap and repeat: IPv4 inside
 * 198.18.0.0/15, IPv6 inside 2001:db8::/32 with bits set here and there.
 */
static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64* (Vigna 2016) */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static int random_addr(uint8_t a[16])
{
	memset(a, 0, 16);
	if (rnd() % 2) {
		uint32_t low = rnd() & 0x1ffff;

		/* Mostly near each other: keep few of the free bits. */
		if (rnd() % 2)
			low &= 0x1f0f;
		a[0] = 198;
		a[1] = (uint8_t)(18 | (low >> 16));
		a[2] = (uint8_t)(low >> 8);
		a[3] = (uint8_t)low;
		return AF_INET;
	}
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	for (unsigned i = 0; i < 3; i++) {
		unsigned bit = 32 + rnd() % 96;

		a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	return AF_INET6;
}

static unsigned random_cidr(int family)
{
	unsigned bits = family == AF_INET ? 32 : 128;

	switch (rnd() % 4) {
	case 0:
		return rnd() % (bits + 1);
	case 1:
		return bits;
	default:
		return bits - rnd() % (family == AF_INET ? 18 : 97);
	}
}

struct collect {
	struct model_prefix v[512];
	size_t n;
};

static int collect_prefix(void *arg, int family, const uint8_t *addr, unsigned cidr, void *peer)
{
	struct collect *c = arg;

	ck_assert_uint_lt(c->n, 512);
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].family = family;
	memcpy(c->v[c->n].addr, addr, family == AF_INET ? 4 : 16);
	c->v[c->n].cidr = cidr;
	c->v[c->n].peer = peer;
	c->n++;
	return 0;
}

/* allowedips_walk() for @peer gives the model's prefixes of @peer in
 * order. */
static void check_walk(const struct allowedips *t, struct model *m, const void *peer)
{
	static struct collect c;
	size_t j = 0;

	c.n = 0;
	ck_assert_int_eq(allowedips_walk(t, peer, collect_prefix, &c), 0);
	model_sort(m);
	for (size_t i = 0; i < m->n; i++) {
		if (peer && m->v[i].peer != peer)
			continue;
		ck_assert_uint_lt(j, c.n);
		ck_assert_int_eq(model_cmp(&m->v[i], &c.v[j]), 0);
		ck_assert_ptr_eq(m->v[i].peer, c.v[j].peer);
		j++;
	}
	ck_assert_uint_eq(j, c.n);
}

/* A table built afresh from the model's prefixes has as many nodes as
 * @t: removals left nothing behind. */
static void check_canonical(const struct allowedips *t, const struct model *m)
{
	struct allowedips fresh;

	ck_assert_int_eq(allowedips_init(&fresh, m->max), 0);
	for (size_t i = 0; i < m->n; i++)
		ck_assert_int_eq(allowedips_insert(&fresh, m->v[i].family, m->v[i].addr,
						   m->v[i].cidr, m->v[i].peer),
				 0);
	verify(&fresh);
	ck_assert_uint_eq(nodes_of(&fresh), nodes_of(t));
	allowedips_free(&fresh);
}

static void random_run(uint64_t seed, size_t max, unsigned steps)
{
	struct allowedips t;
	struct model m;
	uint8_t a[16];
	int family;
	unsigned cidr;

	rng_state = seed;
	ck_assert_int_eq(allowedips_init(&t, max), 0);
	model_init(&m, max);
	for (unsigned step = 0; step < steps; step++) {
		unsigned op = rnd() % 16;

		family = random_addr(a);
		cidr = random_cidr(family);
		if (op < 7) {
			void *peer = PEER(rnd() % 8);
			int want = model_insert(&m, family, a, cidr, peer);

			ck_assert_int_eq(allowedips_insert(&t, family, a, cidr, peer), want);
		} else if (op < 10) {
			ck_assert_int_eq(allowedips_remove(&t, family, a, cidr),
					 model_remove(&m, family, a, cidr));
		} else if (op < 11) {
			void *peer = PEER(rnd() % 8);

			ck_assert_uint_eq(allowedips_remove_by_peer(&t, peer),
					  model_remove_by_peer(&m, peer));
		} else if (op < 12 && m.n) {
			/* Remove one that is there, host bits set. */
			struct model_prefix *p = &m.v[rnd() % m.n];

			memcpy(a, p->addr, 16);
			if (p->cidr < model_bits(p->family))
				a[p->family == AF_INET ? 3 : 15] |= 1;
			ck_assert_int_eq(allowedips_remove(&t, p->family, a, p->cidr), 0);
			ck_assert_int_eq(model_remove(&m, p->family, a, p->cidr), 0);
		}
		verify(&t);
		ck_assert_uint_eq(entries_of(&t), m.n);
		for (unsigned i = 0; i < 8; i++) {
			family = random_addr(a);
			if (allowedips_lookup(&t, family, a) != model_lookup(&m, family, a))
				ck_abort_msg("seed %llu step %u: lookup differs",
					     (unsigned long long)seed, step);
		}
		if (step % 64 == 0) {
			check_walk(&t, &m, PEER(rnd() % 8));
			check_walk(&t, &m, NULL);
			check_canonical(&t, &m);
		}
	}
	check_walk(&t, &m, NULL);
	check_canonical(&t, &m);
	allowedips_free(&t);
	model_free(&m);
}

START_TEST(test_random)
{
	random_run(UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)_i, 200, 3000);
}
END_TEST

START_TEST(test_random_small_bound)
{
	random_run(UINT64_C(0xc0ffee) + (uint64_t)_i, 12, 2000);
}
END_TEST

static Suite *allowedips_suite(void)
{
	Suite *s = suite_create("allowedips");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_bounds);
	tcase_add_test(tc, test_default_routes);
	tcase_add_test(tc, test_host_routes);
	tcase_add_test(tc, test_overlapping);
	tcase_add_test(tc, test_owner_change);
	tcase_add_test(tc, test_masking);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_remove_by_peer_shrinks);
	tcase_add_test(tc, test_enospc);
	tcase_add_test(tc, test_enospc_branch_point);
	tcase_add_test(tc, test_packets);
	tcase_add_loop_test(tc, test_random, 0, 8);
	tcase_add_loop_test(tc, test_random_small_bound, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(allowedips_suite());
}
