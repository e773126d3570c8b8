/* SPDX-License-Identifier: MIT */
/*
 * A reference model of lib/mactable.h for the unit test and the fuzz
 * target: an array searched linearly, with the header's rules written
 * again plainly (bounds, ageing, moves, counters).  Peers are numbered
 * 0..MODEL_PEERS-1.  What it cannot know is where the hash puts a MAC, so:
 *   - a new MAC refused for want of a free slot near its home
 *     (MACTABLE_REFUSED_PROBE) is the caller's to tell it (@probe_refused);
 *   - mactable_expire() with a budget removes some of the aged entries:
 *     model_drop() removes the ones the table no longer holds, after
 *     model_expire_ok() has checked that each of them was aged.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mactable.h"

#define MODEL_PEERS 8

/* The model's loops give the fuzzer no coverage worth having and cost most
 * of its time: built without coverage instrumentation (clang), and not
 * inlined into instrumented callers. */
#if defined(__clang__) && __clang_major__ >= 13
#define MODEL_FN static __attribute__((no_sanitize("coverage"), noinline, unused))
#else
#define MODEL_FN static inline
#endif

struct model_entry {
	uint64_t key; /* the MAC as a number, for a quick search */
	uint8_t mac[MACTABLE_MAC_LEN];
	int owner;
	uint64_t seen_ms;
};

struct model {
	struct mactable_config cfg;
	struct model_entry *e; /* cfg.max_entries of them, n in use */
	size_t n;
	struct mactable_peer peer[MODEL_PEERS]; /* the counts each peer should have */
	struct mactable_stats stats;
};

/* @e must have room for cfg->max_entries entries. */
MODEL_FN void model_init(struct model *m, const struct mactable_config *cfg, struct model_entry *e)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->e = e;
}

MODEL_FN bool model_aged(const struct model *m, const struct model_entry *e, uint64_t now_ms)
{
	return now_ms >= e->seen_ms && now_ms - e->seen_ms >= m->cfg.ageing_ms;
}

MODEL_FN uint64_t model_key(const uint8_t *mac)
{
	uint64_t k = 0;

	for (int i = 0; i < MACTABLE_MAC_LEN; i++)
		k = k << 8 | mac[i];
	return k;
}

MODEL_FN struct model_entry *model_find(struct model *m, const uint8_t *mac)
{
	uint64_t k = model_key(mac);

	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].key == k)
			return &m->e[i];
	return NULL;
}

MODEL_FN enum mactable_learn_result model_refuse(struct model *m, int p,
						 enum mactable_learn_result why)
{
	m->peer[p].refused++;
	if (why == MACTABLE_REFUSED_PEER)
		m->stats.refused_peer++;
	else if (why == MACTABLE_REFUSED_TABLE)
		m->stats.refused_table++;
	else
		m->stats.refused_probe++;
	return why;
}

MODEL_FN enum mactable_learn_result model_learn(struct model *m, const uint8_t *mac, int p,
						uint64_t now_ms, bool probe_refused)
{
	static const uint8_t zero[MACTABLE_MAC_LEN];
	struct model_entry *e;

	if ((mac[0] & 1) || memcmp(mac, zero, sizeof(zero)) == 0) {
		m->stats.invalid_src++;
		return MACTABLE_INVALID_SRC;
	}
	e = model_find(m, mac);
	if (e) {
		bool aged = model_aged(m, e, now_ms);

		if (e->owner == p) {
			e->seen_ms = now_ms;
			if (!aged)
				return MACTABLE_REFRESHED;
			m->stats.learned++;
			return MACTABLE_LEARNED;
		}
		if (m->peer[p].entries >= m->cfg.max_per_peer)
			return model_refuse(m, p, MACTABLE_REFUSED_PEER);
		m->peer[e->owner].entries--;
		m->peer[p].entries++;
		e->owner = p;
		e->seen_ms = now_ms;
		if (aged) {
			m->stats.learned++;
			return MACTABLE_LEARNED;
		}
		m->stats.moves++;
		return MACTABLE_MOVED;
	}
	if (m->peer[p].entries >= m->cfg.max_per_peer)
		return model_refuse(m, p, MACTABLE_REFUSED_PEER);
	if (m->n >= m->cfg.max_entries)
		return model_refuse(m, p, MACTABLE_REFUSED_TABLE);
	if (probe_refused)
		return model_refuse(m, p, MACTABLE_REFUSED_PROBE);
	e = &m->e[m->n++];
	e->key = model_key(mac);
	memcpy(e->mac, mac, MACTABLE_MAC_LEN);
	e->owner = p;
	e->seen_ms = now_ms;
	m->peer[p].entries++;
	m->stats.entries++;
	m->stats.learned++;
	return MACTABLE_LEARNED;
}

/* The owner of @mac at @now_ms, or -1 (flood). */
MODEL_FN int model_lookup(struct model *m, const uint8_t *mac, uint64_t now_ms)
{
	struct model_entry *e = model_find(m, mac);

	return e && !model_aged(m, e, now_ms) ? e->owner : -1;
}

MODEL_FN void model_remove_at(struct model *m, size_t i)
{
	m->peer[m->e[i].owner].entries--;
	m->stats.entries--;
	m->e[i] = m->e[--m->n];
}

/* Every aged entry removed: what mactable_expire() does with a full budget. */
MODEL_FN size_t model_expire_all(struct model *m, uint64_t now_ms)
{
	size_t removed = 0, i = 0;

	while (i < m->n) {
		if (model_aged(m, &m->e[i], now_ms)) {
			model_remove_at(m, i);
			removed++;
		} else {
			i++;
		}
	}
	m->stats.expired += removed;
	return removed;
}

/*
 * After a budgeted expire: removes the entries for which @held(mac, arg)
 * is false, counting them as expired; returns how many, or -1 if one of
 * them was not aged at @now_ms (the table removed a live entry).
 */
MODEL_FN long model_drop(struct model *m, uint64_t now_ms,
			 bool (*held)(const uint8_t *mac, void *arg), void *arg)
{
	size_t i = 0;
	long removed = 0;

	while (i < m->n) {
		if (held(m->e[i].mac, arg)) {
			i++;
			continue;
		}
		if (!model_aged(m, &m->e[i], now_ms))
			return -1;
		model_remove_at(m, i);
		removed++;
	}
	m->stats.expired += (uint64_t)removed;
	return removed;
}

MODEL_FN size_t model_remove_peer(struct model *m, int p)
{
	size_t removed = 0, i = 0;

	while (i < m->n) {
		if (m->e[i].owner == p) {
			model_remove_at(m, i);
			removed++;
		} else {
			i++;
		}
	}
	m->stats.removed += removed;
	return removed;
}

/*
 * Compares the table @t, whose peers are @peers[0..MODEL_PEERS-1], with the
 * model: the same MACs with the same owners and times, each found by a
 * lookup, the same counts per peer, the same stats, and the bounds held.
 * Returns NULL when equal, else what differs.
 */
struct model_cmp {
	struct model *m;
	const struct mactable *t;
	const struct mactable_peer *peers;
	size_t seen;
	const char *why;
};

MODEL_FN int model_cmp_one(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms,
			   void *arg)
{
	struct model_cmp *c = arg;
	struct model_entry *e = model_find(c->m, mac);

	c->seen++;
	if (!e)
		c->why = "the table holds a MAC the model does not";
	else if (owner != &c->peers[e->owner])
		c->why = "a MAC's owner differs";
	else if (seen_ms != e->seen_ms)
		c->why = "a MAC's last-seen time differs";
	else if (mactable_lookup(c->t, mac, seen_ms) != owner)
		c->why = "a MAC held is not found by a lookup";
	return c->why != NULL;
}

MODEL_FN const char *model_compare(struct model *m, const struct mactable *t,
				   const struct mactable_peer *peers)
{
	struct model_cmp c = {m, t, peers, 0, NULL};

	if (mactable_walk(t, NULL, model_cmp_one, &c))
		return c.why;
	if (c.seen != m->n)
		return "the model holds a MAC the table does not";
	for (int p = 0; p < MODEL_PEERS; p++)
		if (peers[p].entries != m->peer[p].entries ||
		    peers[p].refused != m->peer[p].refused)
			return "a peer's counts differ";
	if (memcmp(&t->stats, &m->stats, sizeof(m->stats)) != 0)
		return "the stats differ";
	if (t->stats.entries > t->cfg.max_entries)
		return "the table holds more than max_entries";
	for (int p = 0; p < MODEL_PEERS; p++)
		if (peers[p].entries > t->cfg.max_per_peer)
			return "a peer holds more than max_per_peer";
	return NULL;
}

/*
 * Whether the table's MACTABLE_REFUSED_PROBE for @mac can be true: the
 * probe_max slots from its home must all be full, so at least probe_max
 * MACs held (the model's) have their home within probe_max - 1 slots of
 * it, either side.
 */
MODEL_FN bool model_probe_refusal_ok(const struct model *m, const struct mactable *t,
				     const uint8_t *mac)
{
	uint32_t home = mactable_home(t, mac), near = 0;

	for (size_t i = 0; i < m->n; i++) {
		uint32_t h = mactable_home(t, m->e[i].mac);
		uint32_t d = ((h - home) & t->mask) < ((home - h) & t->mask) ? (h - home) & t->mask
									     : (home - h) & t->mask;

		if (d < t->probe_max)
			near++;
	}
	return near >= t->probe_max;
}
