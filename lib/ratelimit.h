/* SPDX-License-Identifier: MIT */
/*
 * Token buckets: one alone (struct ratelimit_bucket), and one per source
 * address in a bounded table (struct ratelimit), as WireGuard limits
 * handshake initiations per source (WireGuard paper, J. A. Donenfeld, NDSS
 * 2017, section 5.3; the kernel module's ratelimiter.c): an IPv4 source
 * is its /32, an IPv6 source its /64 (one host's share of a subnet), an
 * IPv4-mapped IPv6 address counts as its IPv4 address.  doc/design.md
 * section 3 "DoS": never one global bucket an attacker can drain.
 *
 * Pure library code: the clock is a parameter (monotonic milliseconds);
 * memory is allocated once, at ratelimit_init().  The table is
 * set-associative (RATELIMIT_SETS sets of RATELIMIT_WAYS entries), indexed
 * by a keyed hash (SipHash-2-4, crypto_shorthash) with a random key, so a
 * stranger cannot aim sources at one set.  Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Per source: this many messages a second, after a burst of this many. */
#define RATELIMIT_PER_SECOND 20
#define RATELIMIT_BURST      5
/* Table size: RATELIMIT_SETS * RATELIMIT_WAYS sources at once. */
#define RATELIMIT_SETS 256
#define RATELIMIT_WAYS 4

/* One token bucket; tokens in thousandths, so slow rates refill smoothly. */
struct ratelimit_bucket {
	uint64_t tokens;  /* thousandths of a token */
	uint64_t last_ms; /* last refill */
	bool used;        /* false: full, never touched */
};

/*
 * Takes one token from @b if it has one, after refilling it at
 * @per_second tokens a second up to @burst tokens since the last call
 * (an untouched bucket starts full).  Returns true when a token was taken:
 * the message may pass.
 */
bool ratelimit_bucket_take(struct ratelimit_bucket *b, uint64_t now_ms, unsigned per_second,
			   unsigned burst);

struct ratelimit_entry;

/* Buckets per source address. */
struct ratelimit {
	struct ratelimit_entry *table; /* RATELIMIT_SETS * RATELIMIT_WAYS */
	uint8_t hash_key[16];          /* crypto_shorthash_KEYBYTES */
	uint64_t refused_full;         /* sources refused: their set was busy */
};

/* Allocates the table and draws the hash key.  Returns 0 or -ENOMEM. */
int ratelimit_init(struct ratelimit *rl);

/* Frees the table; safe on a zeroed or cleaned-up limiter. */
void ratelimit_cleanup(struct ratelimit *rl);

/*
 * Charges one message to the source @src (@src_len bytes of sockaddr_in or
 * sockaddr_in6): RATELIMIT_PER_SECOND a second after a burst of
 * RATELIMIT_BURST.  A source not in the table takes a free entry of its
 * set, or one whose bucket has refilled (an idle source); when every entry
 * of the set is busy the message is refused and counted in refused_full.
 * Other address families are refused.  Returns true when the message may
 * pass.
 */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, socklen_t src_len,
		     uint64_t now_ms);
