/* SPDX-License-Identifier: MIT */
/*
 * The TAP forwarding table (lib/mactable.h): hand cases for each rule, then
 * random operation sequences against the reference model
 * (tests/mactable_model.h).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mactable.h"
#include "mactable_model.h"
#include "check_run.h"

#define T0 1000000 /* ms: the clock does not start at 0 */

/* A locally administered unicast MAC 02:00:00:00:hi:lo. */
static void mac_n(uint8_t *mac, unsigned n)
{
	mac[0] = 0x02;
	mac[1] = 0;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
}

static struct mactable_config small(uint32_t entries, uint32_t per_peer)
{
	struct mactable_config c = {entries, per_peer, MACTABLE_DEFAULT_AGEING_MS};

	return c;
}

START_TEST(test_init)
{
	struct mactable t;
	struct mactable_config c;

	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	ck_assert_uint_eq(t.cfg.max_entries, 4096);
	ck_assert_uint_eq(t.cfg.max_per_peer, 1024);
	ck_assert_uint_eq(t.cfg.ageing_ms, 300000);
	ck_assert_uint_eq(mactable_slots(&t), 16384);
	mactable_cleanup(&t);
	mactable_cleanup(&t);

	c = small(0, 0);
	ck_assert_int_eq(mactable_init(&t, &c), -EINVAL);
	c = small(10, 0);
	ck_assert_int_eq(mactable_init(&t, &c), -EINVAL);
	c = small(10, 11);
	ck_assert_int_eq(mactable_init(&t, &c), -EINVAL);
	c = small(MACTABLE_MAX_ENTRIES_LIMIT + 1, 1);
	ck_assert_int_eq(mactable_init(&t, &c), -EINVAL);
	c = small(10, 10);
	c.ageing_ms = 0;
	ck_assert_int_eq(mactable_init(&t, &c), -EINVAL);
	ck_assert_ptr_null(t.slots);

	/* The smallest table: one MAC, four slots. */
	c = small(1, 1);
	ck_assert_int_eq(mactable_init(&t, &c), 0);
	ck_assert_uint_eq(mactable_slots(&t), 4);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_group_not_learned)
{
	static const uint8_t bad[][6] = {
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* broadcast */
	    {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, /* IPv4 multicast */
	    {0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, /* IPv6 multicast */
	    {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00}, /* STP */
	    {0x03, 0x00, 0x00, 0x00, 0x00, 0x00}, /* I/G and U/L both set */
	    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* all zero */
	};
	const uint8_t uni[6] = {0x02, 0, 0, 0, 0, 1},
		      uni2[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct mactable t;
	struct mactable_peer a = {0};

	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(mactable_is_group(bad[i]) == (i < 5));
		ck_assert_int_eq(mactable_learn(&t, bad[i], &a, T0), MACTABLE_INVALID_SRC);
		ck_assert_ptr_null(mactable_lookup(&t, bad[i], T0));
	}
	ck_assert_uint_eq(t.stats.invalid_src, 6);
	ck_assert_uint_eq(t.stats.entries, 0);
	ck_assert_uint_eq(a.entries, 0);
	ck_assert_uint_eq(a.refused, 0);
	ck_assert(!mactable_is_group(uni));
	ck_assert(!mactable_is_group(uni2));
	ck_assert_int_eq(mactable_learn(&t, uni2, &a, T0), MACTABLE_LEARNED);
	ck_assert_ptr_eq(mactable_lookup(&t, uni2, T0), &a);
	ck_assert_ptr_null(mactable_lookup(&t, uni, T0));
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_ageing_exact)
{
	struct mactable t;
	struct mactable_peer a = {0};
	uint8_t mac[6];

	mac_n(mac, 1);
	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_LEARNED);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 299999), &a);
	ck_assert_uint_eq(mactable_expire(&t, T0 + 299999, mactable_slots(&t)), 0);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 299999), &a);
	/* 300 s to the ms: aged (br_fdb.c: updated + hold_time <= now). */
	ck_assert_ptr_null(mactable_lookup(&t, mac, T0 + 300000));
	ck_assert_uint_eq(t.stats.entries, 1);
	ck_assert_uint_eq(mactable_expire(&t, T0 + 300000, mactable_slots(&t)), 1);
	ck_assert_uint_eq(t.stats.entries, 0);
	ck_assert_uint_eq(t.stats.expired, 1);
	ck_assert_uint_eq(a.entries, 0);
	/* A clock behind the entry does not age it. */
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_LEARNED);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 - 1), &a);
	ck_assert_uint_eq(mactable_expire(&t, 0, mactable_slots(&t)), 0);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_refresh)
{
	struct mactable t;
	struct mactable_peer a = {0};
	uint8_t mac[6];

	mac_n(mac, 7);
	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_LEARNED);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0 + 200000), MACTABLE_REFRESHED);
	ck_assert_uint_eq(a.entries, 1);
	ck_assert_uint_eq(t.stats.learned, 1);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 499999), &a);
	ck_assert_uint_eq(mactable_expire(&t, T0 + 499999, mactable_slots(&t)), 0);
	ck_assert_ptr_null(mactable_lookup(&t, mac, T0 + 500000));
	/* Aged but not yet removed: the owner seeing it again learns it anew. */
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0 + 600000), MACTABLE_LEARNED);
	ck_assert_uint_eq(t.stats.learned, 2);
	ck_assert_uint_eq(t.stats.entries, 1);
	ck_assert_uint_eq(a.entries, 1);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 600000), &a);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_station_move)
{
	struct mactable t;
	struct mactable_peer a = {0}, b = {0};
	uint8_t mac[6];

	mac_n(mac, 9);
	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_LEARNED);
	ck_assert_int_eq(mactable_learn(&t, mac, &b, T0 + 10), MACTABLE_MOVED);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 10), &b);
	ck_assert_uint_eq(a.entries, 0);
	ck_assert_uint_eq(b.entries, 1);
	ck_assert_uint_eq(t.stats.moves, 1);
	ck_assert_uint_eq(t.stats.entries, 1);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0 + 20), MACTABLE_MOVED);
	ck_assert_uint_eq(t.stats.moves, 2);
	/* Taking an aged MAC is learning it, not a move. */
	ck_assert_int_eq(mactable_learn(&t, mac, &b, T0 + 20 + 300000), MACTABLE_LEARNED);
	ck_assert_uint_eq(t.stats.moves, 2);
	ck_assert_uint_eq(a.entries, 0);
	ck_assert_uint_eq(b.entries, 1);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 20 + 300000), &b);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_bounds)
{
	struct mactable t;
	struct mactable_config c = small(10, 4);
	struct mactable_peer a = {0}, b = {0}, d = {0};
	uint8_t mac[6];
	unsigned n = 0;

	ck_assert_int_eq(mactable_init(&t, &c), 0);
	for (int i = 0; i < 4; i++) {
		mac_n(mac, ++n);
		ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_LEARNED);
	}
	/* A's fifth MAC: its bound. */
	mac_n(mac, 100);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0), MACTABLE_REFUSED_PEER);
	ck_assert_ptr_null(mactable_lookup(&t, mac, T0));
	ck_assert_uint_eq(a.refused, 1);
	ck_assert_uint_eq(t.stats.refused_peer, 1);
	/* Refreshing what A has still works. */
	mac_n(mac, 1);
	ck_assert_int_eq(mactable_learn(&t, mac, &a, T0 + 1), MACTABLE_REFRESHED);
	for (int i = 0; i < 4; i++) {
		mac_n(mac, ++n);
		ck_assert_int_eq(mactable_learn(&t, mac, &b, T0), MACTABLE_LEARNED);
	}
	/* B at its bound cannot take A's live MAC either: it stays A's. */
	mac_n(mac, 2);
	ck_assert_int_eq(mactable_learn(&t, mac, &b, T0), MACTABLE_REFUSED_PEER);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0), &a);
	ck_assert_uint_eq(b.refused, 1);
	ck_assert_uint_eq(t.stats.moves, 0);
	for (int i = 0; i < 2; i++) {
		mac_n(mac, ++n);
		ck_assert_int_eq(mactable_learn(&t, mac, &d, T0), MACTABLE_LEARNED);
	}
	/* Ten in all: D is under its bound but the table is full. */
	mac_n(mac, 200);
	ck_assert_int_eq(mactable_learn(&t, mac, &d, T0), MACTABLE_REFUSED_TABLE);
	ck_assert_uint_eq(d.refused, 1);
	ck_assert_uint_eq(t.stats.refused_table, 1);
	ck_assert_uint_eq(t.stats.entries, 10);
	/* A full table still lets a station move to a peer under its bound. */
	mac_n(mac, 1);
	ck_assert_int_eq(mactable_learn(&t, mac, &d, T0 + 2), MACTABLE_MOVED);
	ck_assert_uint_eq(d.entries, 3);
	ck_assert_uint_eq(a.entries, 3);
	/* Aged entries count until removed, then make room. */
	mac_n(mac, 200);
	ck_assert_int_eq(mactable_learn(&t, mac, &d, T0 + 300000), MACTABLE_REFUSED_TABLE);
	ck_assert_uint_eq(mactable_expire(&t, T0 + 300000, mactable_slots(&t)), 9);
	ck_assert_int_eq(mactable_learn(&t, mac, &d, T0 + 300000), MACTABLE_LEARNED);
	ck_assert_uint_eq(t.stats.entries, 2);
	ck_assert_uint_eq(d.entries, 2);
	ck_assert_uint_eq(a.entries + b.entries, 0);
	ck_assert_uint_eq(t.stats.refused_table, 2);
	ck_assert_uint_eq(t.stats.refused_probe, 0);
	mactable_cleanup(&t);
}
END_TEST

/* The default bounds, full: four peers of 1024, a fifth finds no room. */
START_TEST(test_default_bounds)
{
	struct mactable t;
	struct mactable_peer p[5] = {{0}};
	uint8_t mac[6];
	unsigned n = 0;

	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 1024; j++) {
			mac_n(mac, ++n);
			if (mactable_learn(&t, mac, &p[i], T0) != MACTABLE_LEARNED)
				ck_abort_msg("MAC %u not learned", n);
		}
		mac_n(mac, ++n);
		ck_assert_int_eq(mactable_learn(&t, mac, &p[i], T0), MACTABLE_REFUSED_PEER);
	}
	mac_n(mac, ++n);
	ck_assert_int_eq(mactable_learn(&t, mac, &p[4], T0), MACTABLE_REFUSED_TABLE);
	ck_assert_uint_eq(t.stats.entries, 4096);
	ck_assert_uint_eq(t.stats.refused_peer, 4);
	ck_assert_uint_eq(t.stats.refused_table, 1);
	ck_assert_uint_eq(t.stats.refused_probe, 0);
	for (unsigned i = 1; i < n; i++) {
		mac_n(mac, i);
		if (mactable_lookup(&t, mac, T0) != (i % 1025 ? &p[(i - 1) / 1025] : NULL))
			ck_abort_msg("MAC %u: wrong owner", i);
	}
	mac_n(mac, n);
	ck_assert_ptr_null(mactable_lookup(&t, mac, T0));
	ck_assert_uint_eq(mactable_remove_peer(&t, &p[2]), 1024);
	ck_assert_int_eq(mactable_learn(&t, mac, &p[4], T0), MACTABLE_LEARNED);
	ck_assert_ptr_eq(mactable_lookup(&t, mac, T0), &p[4]);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_remove_peer)
{
	struct mactable t;
	struct mactable_peer a = {0}, b = {0};
	uint8_t mac[6];

	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	for (unsigned i = 0; i < 300; i++) {
		mac_n(mac, i + 1);
		ck_assert_int_eq(mactable_learn(&t, mac, i % 3 ? &a : &b, T0), MACTABLE_LEARNED);
	}
	ck_assert_uint_eq(a.entries, 200);
	ck_assert_uint_eq(mactable_remove_peer(&t, &a), 200);
	ck_assert_uint_eq(a.entries, 0);
	ck_assert_uint_eq(b.entries, 100);
	ck_assert_uint_eq(t.stats.entries, 100);
	ck_assert_uint_eq(t.stats.removed, 200);
	for (unsigned i = 0; i < 300; i++) {
		mac_n(mac, i + 1);
		ck_assert_ptr_eq(mactable_lookup(&t, mac, T0), i % 3 ? NULL : &b);
	}
	ck_assert_uint_eq(mactable_remove_peer(&t, &a), 0);
	ck_assert_uint_eq(mactable_remove_peer(&t, &b), 100);
	ck_assert_uint_eq(t.stats.entries, 0);
	mactable_cleanup(&t);
}
END_TEST

static int count_cb(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms, void *arg)
{
	int *n = arg;

	(void)mac;
	(void)owner;
	ck_assert_uint_eq(seen_ms, T0);
	return ++*n == 5 ? 42 : 0;
}

START_TEST(test_walk)
{
	struct mactable t;
	struct mactable_peer a = {0}, b = {0};
	uint8_t mac[6];
	int n = 0;

	ck_assert_int_eq(mactable_init(&t, NULL), 0);
	ck_assert_int_eq(mactable_walk(&t, NULL, count_cb, &n), 0);
	ck_assert_int_eq(n, 0);
	for (unsigned i = 0; i < 7; i++) {
		mac_n(mac, i + 1);
		mactable_learn(&t, mac, i < 3 ? &a : &b, T0);
	}
	ck_assert_int_eq(mactable_walk(&t, &a, count_cb, &n), 0);
	ck_assert_int_eq(n, 3);
	n = 0;
	ck_assert_int_eq(mactable_walk(&t, NULL, count_cb, &n), 42);
	ck_assert_int_eq(n, 5);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_expire_budget)
{
	struct mactable t;
	struct mactable_config c = small(64, 64);
	struct mactable_peer a = {0};
	uint8_t mac[6];
	size_t slots, total = 0, first;

	ck_assert_int_eq(mactable_init(&t, &c), 0);
	slots = mactable_slots(&t);
	ck_assert_uint_eq(slots, 256);
	for (unsigned i = 0; i < 64; i++) {
		mac_n(mac, i + 1);
		ck_assert_int_eq(mactable_learn(&t, mac, &a, i < 32 ? T0 : T0 + 1000),
				 MACTABLE_LEARNED);
	}
	ck_assert_uint_eq(mactable_expire(&t, T0 + 300000, 0), 0);
	/* A quarter of the slots per call: a full sweep takes four calls,
	 * and removes exactly the 32 aged entries. */
	first = mactable_expire(&t, T0 + 300000, slots / 4);
	ck_assert_uint_lt(first, 32);
	total = first;
	for (int i = 0; i < 3; i++)
		total += mactable_expire(&t, T0 + 300000, slots / 4);
	ck_assert_uint_eq(total, 32);
	ck_assert_uint_eq(t.stats.entries, 32);
	ck_assert_uint_eq(t.stats.expired, 32);
	for (unsigned i = 0; i < 64; i++) {
		mac_n(mac, i + 1);
		ck_assert_ptr_eq(mactable_lookup(&t, mac, T0 + 300000), i < 32 ? NULL : &a);
	}
	/* One slot at a time: still every entry once round. */
	total = 0;
	for (size_t i = 0; i < slots; i++) {
		size_t r = mactable_expire(&t, T0 + 301000, 1);

		total += r;
	}
	ck_assert_uint_eq(total, 32);
	ck_assert_uint_eq(t.stats.entries, 0);
	ck_assert_uint_eq(a.entries, 0);
	mactable_cleanup(&t);
}
END_TEST

START_TEST(test_frame_helpers)
{
	uint8_t frame[60], mac[6];

	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	memset(mac, 0xaa, sizeof(mac));
	for (size_t len = 0; len < MACTABLE_ETH_HLEN; len++) {
		ck_assert_int_eq(mactable_frame_dst(frame, len, mac), -EINVAL);
		ck_assert_int_eq(mactable_frame_src(frame, len, mac), -EINVAL);
	}
	ck_assert_int_eq(mactable_frame_dst(NULL, 0, mac), -EINVAL);
	for (size_t i = 0; i < 6; i++)
		ck_assert_uint_eq(mac[i], 0xaa);
	ck_assert_int_eq(mactable_frame_dst(frame, MACTABLE_ETH_HLEN, mac), 0);
	ck_assert_mem_eq(mac, frame, 6);
	ck_assert_int_eq(mactable_frame_src(frame, MACTABLE_ETH_HLEN, mac), 0);
	ck_assert_mem_eq(mac, frame + 6, 6);
	ck_assert_int_eq(mactable_frame_src(frame, sizeof(frame), mac), 0);
	ck_assert_mem_eq(mac, frame + 6, 6);
}
END_TEST

/* @count MACs (from 02:00:00:00:00:01 on) whose home slot is @home. */
static void macs_at(const struct mactable *t, uint32_t home, uint8_t (*macs)[6], size_t count)
{
	unsigned n = 0;

	for (size_t i = 0; i < count; i++) {
		do
			mac_n(macs[i], ++n);
		while (mactable_home(t, macs[i]) != home);
	}
}

/* MACs that all hash to one slot: the probe bound, and deletion that
 * shifts entries back across the end of the slots. */
START_TEST(test_collisions)
{
	struct mactable t;
	struct mactable_config c = small(64, 64);
	struct mactable_peer a = {0}, b = {0};
	uint8_t macs[MACTABLE_PROBE_MAX + 1][6];
	uint32_t last;

	ck_assert_int_eq(mactable_init(&t, &c), 0);
	last = (uint32_t)mactable_slots(&t) - 1;
	macs_at(&t, last - 2, macs, MACTABLE_PROBE_MAX + 1);
	for (int i = 0; i < MACTABLE_PROBE_MAX; i++)
		ck_assert_int_eq(mactable_learn(&t, macs[i], i % 2 ? &a : &b, T0),
				 MACTABLE_LEARNED);
	ck_assert_int_eq(mactable_learn(&t, macs[MACTABLE_PROBE_MAX], &a, T0),
			 MACTABLE_REFUSED_PROBE);
	ck_assert_uint_eq(t.stats.refused_probe, 1);
	ck_assert_uint_eq(a.refused, 1);
	ck_assert_ptr_null(mactable_lookup(&t, macs[MACTABLE_PROBE_MAX], T0));
	/* Remove the first three (at the end of the slots): the rest shift
	 * back round the end and are all still found. */
	ck_assert_int_eq(mactable_learn(&t, macs[0], &a, T0 + 1), MACTABLE_MOVED);
	ck_assert_int_eq(mactable_learn(&t, macs[2], &a, T0 + 1), MACTABLE_MOVED);
	ck_assert_uint_eq(mactable_remove_peer(&t, &a), 18);
	for (int i = 0; i < MACTABLE_PROBE_MAX; i++)
		ck_assert_ptr_eq(mactable_lookup(&t, macs[i], T0 + 1),
				 i % 2 || i == 0 || i == 2 ? NULL : &b);
	/* Now there is room for the one refused. */
	ck_assert_int_eq(mactable_learn(&t, macs[MACTABLE_PROBE_MAX], &a, T0 + 2),
			 MACTABLE_LEARNED);
	ck_assert_uint_eq(mactable_expire(&t, T0 + 300001, mactable_slots(&t)), 14);
	ck_assert_ptr_eq(mactable_lookup(&t, macs[MACTABLE_PROBE_MAX], T0 + 300001), &a);
	mactable_cleanup(&t);
}
END_TEST

/* splitmix64 (Steele, Lea, Flood 2014): reproducible sequences. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The MACs the table holds, gathered by a walk. */
struct held {
	uint8_t (*mac)[6];
	size_t n;
};

static int held_add(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms, void *arg)
{
	struct held *h = arg;

	(void)owner;
	(void)seen_ms;
	memcpy(h->mac[h->n++], mac, 6);
	return 0;
}

static bool held_has(const uint8_t *mac, void *arg)
{
	const struct held *h = arg;

	for (size_t i = 0; i < h->n; i++)
		if (memcmp(h->mac[i], mac, 6) == 0)
			return true;
	return false;
}

/*
 * Random operations on a table and the model: learn (from a pool of MACs,
 * some of them group MACs, many colliding), lookups, time passing, expire
 * with a random budget, peers leaving; compared after every step.
 */
static uint64_t run_random(uint64_t seed, const struct mactable_config *c, unsigned pool_size,
			   unsigned steps)
{
	struct mactable t;
	struct mactable_peer peers[MODEL_PEERS] = {{0}};
	struct model m;
	struct model_entry *me = calloc(c->max_entries, sizeof(*me));
	uint8_t(*pool)[6] = calloc(pool_size, 6);
	struct held held = {calloc(c->max_entries, 6), 0};
	uint64_t now = T0, s = seed, probe_refusals;
	const char *why;

	ck_assert_ptr_nonnull(me);
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_nonnull(held.mac);
	ck_assert_int_eq(mactable_init(&t, c), 0);
	model_init(&m, c, me);
	for (unsigned i = 0; i < pool_size; i++) {
		uint64_t r = rnd(&s);

		memcpy(pool[i], &r, 6);
		if (i % 8)
			pool[i][0] &= 0xfe; /* mostly unicast */
		if (i % 4 == 1)             /* a quarter share the home slot of the first */
			while (mactable_home(&t, pool[i]) != mactable_home(&t, pool[0])) {
				r = rnd(&s);
				memcpy(pool[i] + 2, &r, 4);
			}
	}
	memset(pool[3], 0, 6);
	for (unsigned step = 0; step < steps; step++) {
		uint64_t r = rnd(&s);
		unsigned op = r % 32, p = (unsigned)(r >> 8) % MODEL_PEERS;
		const uint8_t *mac = pool[(r >> 16) % pool_size];

		if (op < 21 || (op == 31 && (r >> 40) % 4)) {
			enum mactable_learn_result got = mactable_learn(&t, mac, &peers[p], now);
			enum mactable_learn_result want =
			    model_learn(&m, mac, (int)p, now, got == MACTABLE_REFUSED_PROBE);

			if (got != want)
				ck_abort_msg("seed %llu step %u: learn %d, want %d",
					     (unsigned long long)seed, step, got, want);
		} else if (op < 25) {
			struct mactable_peer *got = mactable_lookup(&t, mac, now);
			int want = model_lookup(&m, mac, now);

			if (got != (want < 0 ? NULL : &peers[want]))
				ck_abort_msg("seed %llu step %u: lookup", (unsigned long long)seed,
					     step);
		} else if (op < 28) {
			/* Mostly small steps, so that tables fill; now and
			 * then a big one, so that much ages at once. */
			uint64_t most = c->ageing_ms / ((r >> 58) % 16 ? 16 : 1);

			now += (r >> 32) % (most + 1);
		} else if (op < 31) {
			size_t budget = (r >> 32) % (mactable_slots(&t) + 1);
			size_t got = mactable_expire(&t, now, budget);
			long dropped;

			held.n = 0;
			mactable_walk(&t, NULL, held_add, &held);
			dropped = model_drop(&m, now, held_has, &held);

			if (dropped < 0 || (size_t)dropped != got)
				ck_abort_msg("seed %llu step %u: expire removed %zu, model %ld",
					     (unsigned long long)seed, step, got, dropped);
			if (budget == mactable_slots(&t) && model_expire_all(&m, now) != 0)
				ck_abort_msg("seed %llu step %u: a full sweep left aged entries",
					     (unsigned long long)seed, step);
		} else {
			size_t got = mactable_remove_peer(&t, &peers[p]);

			if (got != model_remove_peer(&m, (int)p))
				ck_abort_msg("seed %llu step %u: remove_peer",
					     (unsigned long long)seed, step);
		}
		why = model_compare(&m, &t, peers);
		if (why)
			ck_abort_msg("seed %llu step %u: %s", (unsigned long long)seed, step, why);
	}
	probe_refusals = t.stats.refused_probe;
	mactable_cleanup(&t);
	free(me);
	free(pool);
	free(held.mac);
	return probe_refusals;
}

START_TEST(test_random_small)
{
	/* Four slots to 64: the probe reaches every slot, wrapping. */
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct mactable_config c = {1 + seed % 16, 1 + seed % 5, 8u << seed % 4};

		if (c.max_per_peer > c.max_entries)
			c.max_per_peer = c.max_entries;
		run_random(seed, &c, 64, 3000);
	}
}
END_TEST

START_TEST(test_random_large)
{
	/* Slots beyond the probe bound, a pool twice the table. */
	uint64_t probe_refusals = 0;

	for (uint64_t seed = 100; seed < 104; seed++) {
		struct mactable_config c = {256, 40, 60000};

		probe_refusals += run_random(seed, &c, 512, 8000);
	}
	/* A quarter of the pool shares one home slot: the bound was met. */
	ck_assert_uint_gt(probe_refusals, 0);
}
END_TEST

static Suite *mactable_suite(void)
{
	Suite *s = suite_create("mactable");
	TCase *tc = tcase_create("rules");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_group_not_learned);
	tcase_add_test(tc, test_ageing_exact);
	tcase_add_test(tc, test_refresh);
	tcase_add_test(tc, test_station_move);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_default_bounds);
	tcase_add_test(tc, test_remove_peer);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_expire_budget);
	tcase_add_test(tc, test_frame_helpers);
	tcase_add_test(tc, test_collisions);
	suite_add_tcase(s, tc);
	tc = tcase_create("model");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_small);
	tcase_add_test(tc, test_random_large);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(mactable_suite());
}
