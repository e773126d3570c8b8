/* SPDX-License-Identifier: MIT */
/*
 * The receiver-index table of one interface: which peer's session a
 * sealed message is for.  Every handshake and keypair has a local index,
 * a random 32-bit number that the peer puts in each response, cookie reply
 * and transport message it sends us (WireGuard paper, J. A. Donenfeld,
 * NDSS 2017, section 5.4.1; the kernel module's index_hashtable in
 * peerlookup.c).  With many peers on one interface the indices must be
 * distinct across all their sessions, and a message must find its session
 * in constant time whatever index a stranger writes into it.
 *
 * Open addressing with linear probing and backward-shift deletion over a
 * power-of-two array at least twice the bound, so a probe ends at an empty
 * slot within a few steps.  The keys are chosen by us at random
 * (randombytes_random), so a multiplicative hash of the index spreads
 * them; a stranger chooses only what is looked up, never what is stored.
 * Memory is allocated at index_table_init(), and again only when
 * index_table_grow() raises the bound.  Pure library code, not
 * thread-safe.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One slot: an index and its owner (NULL: empty). */
struct index_table_slot {
	uint32_t index;
	void *owner;
};

struct index_table {
	struct index_table_slot *slots;
	size_t mask;    /* slots - 1 */
	size_t max;     /* entries allowed */
	size_t entries; /* entries now */
};

/* Largest bound index_table_init() takes: 2^24 entries (256 MiB of slots). */
#define INDEX_TABLE_MAX (1u << 24)

/*
 * Allocates a table for at most @max_entries indices (1 ..
 * INDEX_TABLE_MAX): SESSION_MAX_INDICES per session (lib/session.h) times
 * the peers; 16 bytes a slot, at least two slots an entry.  Returns 0,
 * -EINVAL for a bound of 0 or above the maximum, or -ENOMEM.
 */
int index_table_init(struct index_table *t, size_t max_entries);

/*
 * Raises the bound to @max_entries (a hub given more peers on SIGHUP):
 * allocates slots for it, as index_table_init(), moves every entry over
 * and frees the old slots.  A bound no larger than the present one changes
 * nothing.  Returns 0, -EINVAL above INDEX_TABLE_MAX, or -ENOMEM (the table
 * as it was).  Lookups, owners and indices are the same afterwards.
 */
int index_table_grow(struct index_table *t, size_t max_entries);

/* Frees the slots; safe on a zeroed or freed table. */
void index_table_free(struct index_table *t);

/*
 * Records that @index (host byte order) names a handshake or keypair of
 * @owner (not NULL; the table does not own it).  Returns 0, -EEXIST when
 * @index is taken (by anyone: draw another), -ENOSPC when the table holds
 * max_entries already, -EINVAL for a NULL owner; on error nothing changed.
 */
int index_table_add(struct index_table *t, uint32_t index, void *owner);

/* Forgets @index.  Returns 0, or -ENOENT when it is not in the table. */
int index_table_remove(struct index_table *t, uint32_t index);

/* The owner of @index, or NULL.  Never allocates; at most a few probes. */
void *index_table_lookup(const struct index_table *t, uint32_t index);
