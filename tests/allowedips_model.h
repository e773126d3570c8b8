/* SPDX-License-Identifier: MIT */
/*
 * A reference model of lib/allowedips.h for tests/test_allowedips.c and
 * tests/fuzz/fuzz_allowedips.c: a plain array of (family, prefix, length,
 * peer), longest match by scanning all of it.  Slow and obviously right;
 * it shares no code with the trie.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct model_prefix {
	int family;
	uint8_t addr[16]; /* network byte order, host bits clear */
	unsigned cidr;
	void *peer;
};

struct model {
	struct model_prefix *v;
	size_t n, cap, max;
};

static inline void model_init(struct model *m, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->max = max;
}

static inline void model_free(struct model *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static inline unsigned model_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

/* Bit @i of @addr, bit 0 the most significant of byte 0. */
static inline unsigned model_bit(const uint8_t *addr, unsigned i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

/* Copies @addr's first @cidr bits into @out (@len bytes), clearing the
 * rest; returns whether any bit was cleared. */
static inline bool model_mask(uint8_t *out, const uint8_t *addr, size_t len, unsigned cidr)
{
	bool cleared = false;

	memset(out, 0, 16);
	for (unsigned i = 0; i < len * 8; i++) {
		if (!model_bit(addr, i))
			continue;
		if (i < cidr)
			out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		else
			cleared = true;
	}
	return cleared;
}

/* Whether @addr lies in @p. */
static inline bool model_holds(const struct model_prefix *p, int family, const uint8_t *addr)
{
	if (p->family != family)
		return false;
	for (unsigned i = 0; i < p->cidr; i++)
		if (model_bit(addr, i) != model_bit(p->addr, i))
			return false;
	return true;
}

static inline struct model_prefix *model_find(struct model *m, int family, const uint8_t *addr,
					      unsigned cidr)
{
	uint8_t key[16];

	model_mask(key, addr, family == AF_INET ? 4 : 16, cidr);
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].family == family && m->v[i].cidr == cidr &&
		    memcmp(m->v[i].addr, key, 16) == 0)
			return &m->v[i];
	return NULL;
}

/* As allowedips_insert(), without -ENOMEM (aborts instead). */
static inline int model_insert(struct model *m, int family, const uint8_t *addr, unsigned cidr,
			       void *peer)
{
	struct model_prefix *p;
	bool cleared;

	if (!model_bits(family) || cidr > model_bits(family) || !peer)
		return -EINVAL;
	p = model_find(m, family, addr, cidr);
	if (!p) {
		if (m->n >= m->max)
			return -ENOSPC;
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 16;
			m->v = realloc(m->v, m->cap * sizeof(*m->v));
			if (!m->v)
				abort();
		}
		p = &m->v[m->n++];
		p->family = family;
		p->cidr = cidr;
	}
	cleared = model_mask(p->addr, addr, family == AF_INET ? 4 : 16, cidr);
	p->peer = peer;
	return cleared;
}

static inline int model_remove(struct model *m, int family, const uint8_t *addr, unsigned cidr)
{
	struct model_prefix *p;

	if (!model_bits(family) || cidr > model_bits(family))
		return -EINVAL;
	p = model_find(m, family, addr, cidr);
	if (!p)
		return -ENOENT;
	*p = m->v[--m->n];
	return 0;
}

static inline size_t model_remove_by_peer(struct model *m, const void *peer)
{
	size_t removed = 0;

	if (!peer)
		return 0;
	for (size_t i = 0; i < m->n;) {
		if (m->v[i].peer == peer) {
			m->v[i] = m->v[--m->n];
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static inline void *model_lookup(const struct model *m, int family, const uint8_t *addr)
{
	const struct model_prefix *best = NULL;

	for (size_t i = 0; i < m->n; i++)
		if (model_holds(&m->v[i], family, addr) && (!best || m->v[i].cidr > best->cidr))
			best = &m->v[i];
	return best ? best->peer : NULL;
}

/* The order allowedips_walk() promises: IPv4 first, then address, then
 * the shorter prefix. */
static inline int model_cmp(const void *a, const void *b)
{
	const struct model_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return (x->cidr > y->cidr) - (x->cidr < y->cidr);
}

/* Sorts the model's prefixes into walk order (it keeps no order otherwise). */
static inline void model_sort(struct model *m)
{
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), model_cmp);
}
