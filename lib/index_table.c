/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "index_table.h"

/* Fibonacci hashing: the index times 2^64 / golden ratio, high bits. */
static size_t index_table_home(const struct index_table *t, uint32_t index)
{
	return (size_t)((index * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & t->mask;
}

int index_table_init(struct index_table *t, size_t max_entries)
{
	size_t n = 16;

	t->slots = NULL;
	t->mask = 0;
	t->max = 0;
	t->entries = 0;
	if (max_entries == 0 || max_entries > INDEX_TABLE_MAX)
		return -EINVAL;
	while (n < 2 * max_entries)
		n *= 2;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = n - 1;
	t->max = max_entries;
	return 0;
}

void index_table_free(struct index_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->max = 0;
	t->entries = 0;
}

/* The slot holding @index, or the empty slot that ends its probe. */
static size_t index_table_find(const struct index_table *t, uint32_t index)
{
	size_t i = index_table_home(t, index);

	while (t->slots[i].owner && t->slots[i].index != index)
		i = (i + 1) & t->mask;
	return i;
}

int index_table_add(struct index_table *t, uint32_t index, void *owner)
{
	size_t i;

	if (!owner)
		return -EINVAL;
	i = index_table_find(t, index);
	if (t->slots[i].owner)
		return -EEXIST;
	if (t->entries >= t->max)
		return -ENOSPC;
	t->slots[i].index = index;
	t->slots[i].owner = owner;
	t->entries++;
	return 0;
}

int index_table_grow(struct index_table *t, size_t max_entries)
{
	struct index_table next;
	int rc;

	if (max_entries <= t->max)
		return 0;
	rc = index_table_init(&next, max_entries);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i <= t->mask && t->slots; i++)
		if (t->slots[i].owner) {
			size_t j = index_table_find(&next, t->slots[i].index);

			next.slots[j] = t->slots[i];
			next.entries++;
		}
	index_table_free(t);
	*t = next;
	return 0;
}

int index_table_remove(struct index_table *t, uint32_t index)
{
	size_t i = index_table_find(t, index), j, home;

	if (!t->slots[i].owner)
		return -ENOENT;
	/* Backward shift (Knuth 6.4, algorithm R): move up every later
	 * entry of the run whose home does not lie cyclically in (i, j]. */
	for (j = (i + 1) & t->mask; t->slots[j].owner; j = (j + 1) & t->mask) {
		home = index_table_home(t, t->slots[j].index);
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].owner = NULL;
	t->slots[i].index = 0;
	t->entries--;
	return 0;
}

void *index_table_lookup(const struct index_table *t, uint32_t index)
{
	if (!t->slots)
		return NULL;
	return t->slots[index_table_find(t, index)].owner;
}
