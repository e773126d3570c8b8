/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the allowed-IPs trie (lib/allowedips.h): for 1000 and
 * 100000 random prefixes of each family, the memory the table takes per
 * prefix and the rate of longest-prefix lookups.  Not a test: it checks
 * nothing, and its figures depend on the machine.
 *
 *   build/bench/allowedips_bench [LOOKUPS]     (default 4194304 per row)
 *
 * Prefixes: random addresses over the whole space (never sent anywhere),
 * half of them full-length (/32, /128: a peer's own address), half of a
 * random length from /8 (IPv4) or /16 (IPv6) up, owned by one of 256
 * peers.  Lookups: a ring of 65536 addresses, half inside a random
 * inserted prefix (the rest of its bits random) and half random.
 * "node bytes" is allowedips_stats()'s count (ALLOWEDIPS_NODE_SIZE per
 * node); "heap bytes" what glibc's malloc handed out meanwhile
 * (mallinfo2().uordblks, chunk overhead included).  Rates are per second
 * of this process's CPU time (CLOCK_PROCESS_CPUTIME_ID), so that other
 * jobs on a shared machine skew them less; caches are still shared.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allowedips.h"

#define RING 65536

static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

/* xorshift64* (Vigna 2016) */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void random_bytes(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

/* CPU seconds this process has used. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct prefix {
	uint8_t addr[16];
	unsigned cidr;
};

static int run(int family, size_t n, size_t lookups)
{
	static char peers[256];
	size_t alen = family == AF_INET ? 4 : 16;
	unsigned bits = family == AF_INET ? 32 : 128, shortest = family == AF_INET ? 8 : 16;
	struct prefix *pfx = calloc(n, sizeof(*pfx));
	uint8_t(*ring)[16] = calloc(RING, sizeof(*ring));
	struct allowedips t;
	size_t entries, nodes, bytes, heap_before, heap, hits = 0;
	double t0, insert_s, lookup_s;

	if (!pfx || !ring || allowedips_init(&t, n) != 0) {
		fprintf(stderr, "allowedips_bench: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		random_bytes(pfx[i].addr, alen);
		pfx[i].cidr =
		    rnd() % 2 ? bits : shortest + (unsigned)(rnd() % (bits - shortest + 1));
	}
	heap_before = mallinfo2().uordblks;
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		if (allowedips_insert(&t, family, pfx[i].addr, pfx[i].cidr, &peers[i % 256]) < 0) {
			fprintf(stderr, "allowedips_bench: insert failed\n");
			return -1;
		}
	}
	insert_s = now_s() - t0;
	heap = mallinfo2().uordblks - heap_before;
	allowedips_stats(&t, &entries, &nodes, &bytes);

	for (size_t i = 0; i < RING; i++) {
		random_bytes(ring[i], alen);
		if (i % 2 == 0) {
			/* Inside prefix p: its first cidr bits, then random. */
			const struct prefix *p = &pfx[rnd() % n];

			for (unsigned b = 0; b < p->cidr; b++) {
				uint8_t m = (uint8_t)(0x80 >> (b % 8));

				ring[i][b / 8] =
				    (uint8_t)((ring[i][b / 8] & ~m) | (p->addr[b / 8] & m));
			}
		}
	}
	t0 = now_s();
	for (size_t i = 0; i < lookups; i++)
		hits += allowedips_lookup(&t, family, ring[i % RING]) != NULL;
	lookup_s = now_s() - t0;

	printf("%-4s %7zu prefixes %7zu nodes  %5.1f node bytes/prefix %5.1f heap bytes/prefix  "
	       "%6.2f M inserts/s  %6.2f M lookups/s (%.0f ns, %2.0f%% hits)\n",
	       family == AF_INET ? "IPv4" : "IPv6", entries, nodes, (double)bytes / (double)entries,
	       (double)heap / (double)entries, (double)n / insert_s / 1e6,
	       (double)lookups / lookup_s / 1e6, lookup_s / (double)lookups * 1e9,
	       100.0 * (double)hits / (double)lookups);
	allowedips_free(&t);
	free(pfx);
	free(ring);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {1000, 100000};
	size_t lookups = argc > 1 ? strtoul(argv[1], NULL, 0) : 4194304;

	if (lookups == 0) {
		fprintf(stderr, "usage: allowedips_bench [LOOKUPS]\n");
		return 2;
	}
	printf("allowed IPs: %zu-byte nodes, %zu lookups per row\n", (size_t)ALLOWEDIPS_NODE_SIZE,
	       lookups);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(AF_INET, sizes[i], lookups) || run(AF_INET6, sizes[i], lookups))
			return 1;
	return 0;
}
