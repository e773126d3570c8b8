/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

#define RATELIMIT_TOKEN 1000

_Static_assert(crypto_shorthash_KEYBYTES == 16, "hash key size");
_Static_assert((RATELIMIT_SETS & (RATELIMIT_SETS - 1)) == 0, "sets: a power of two");

/* One source: its family, its address (/32 or /64, zero-padded) and bucket. */
struct ratelimit_entry {
	uint8_t family; /* 0: free */
	uint8_t addr[8];
	struct ratelimit_bucket bucket;
};

bool ratelimit_bucket_take(struct ratelimit_bucket *b, uint64_t now_ms, unsigned per_second,
			   unsigned burst)
{
	const uint64_t cap = (uint64_t)burst * RATELIMIT_TOKEN;

	if (!b->used) {
		b->used = true;
		b->tokens = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		uint64_t elapsed = now_ms - b->last_ms;

		/* per_second * RATELIMIT_TOKEN / 1000 ms: thousandths per ms */
		if (elapsed >= cap)
			b->tokens = cap;
		else
			b->tokens += elapsed * per_second;
		if (b->tokens > cap)
			b->tokens = cap;
		b->last_ms = now_ms;
	}
	if (b->tokens < RATELIMIT_TOKEN)
		return false;
	b->tokens -= RATELIMIT_TOKEN;
	return true;
}

/* The key of @src: family and /32 or /64; false for other families. */
static bool ratelimit_key(const struct sockaddr *src, socklen_t len, uint8_t *family, uint8_t *addr)
{
	memset(addr, 0, 8);
	if (src->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(addr, &((const struct sockaddr_in *)src)->sin_addr, 4);
		*family = AF_INET;
		return true;
	}
	if (src->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)src)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(addr, a->s6_addr + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(addr, a->s6_addr, 8);
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

int ratelimit_init(struct ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->table = calloc((size_t)RATELIMIT_SETS * RATELIMIT_WAYS, sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	return 0;
}

void ratelimit_cleanup(struct ratelimit *rl)
{
	free(rl->table);
	rl->table = NULL;
}

/* True when @e's bucket would be full again now: the source went idle. */
static bool ratelimit_idle(const struct ratelimit_entry *e, uint64_t now_ms)
{
	const uint64_t cap = (uint64_t)RATELIMIT_BURST * RATELIMIT_TOKEN;
	uint64_t elapsed = now_ms > e->bucket.last_ms ? now_ms - e->bucket.last_ms : 0;

	return e->bucket.tokens + elapsed * RATELIMIT_PER_SECOND >= cap;
}

bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, socklen_t src_len,
		     uint64_t now_ms)
{
	uint8_t key[9], h[crypto_shorthash_BYTES];
	struct ratelimit_entry *set, *slot = NULL;
	uint64_t idx;
	int i;

	if (!ratelimit_key(src, src_len, &key[0], key + 1))
		return false;
	crypto_shorthash(h, key, sizeof(key), rl->hash_key);
	memcpy(&idx, h, sizeof(idx));
	set = rl->table + (idx & (RATELIMIT_SETS - 1)) * RATELIMIT_WAYS;
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		struct ratelimit_entry *e = &set[i];

		if (e->family == key[0] && memcmp(e->addr, key + 1, sizeof(e->addr)) == 0)
			return ratelimit_bucket_take(&e->bucket, now_ms, RATELIMIT_PER_SECOND,
						     RATELIMIT_BURST);
		if (!slot && (e->family == 0 || ratelimit_idle(e, now_ms)))
			slot = e;
	}
	if (!slot) {
		rl->refused_full++;
		return false;
	}
	memset(slot, 0, sizeof(*slot));
	slot->family = key[0];
	memcpy(slot->addr, key + 1, sizeof(slot->addr));
	return ratelimit_bucket_take(&slot->bucket, now_ms, RATELIMIT_PER_SECOND, RATELIMIT_BURST);
}
