/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mactable.h"

_Static_assert(crypto_shorthash_KEYBYTES == 16, "hash key size");
_Static_assert(MACTABLE_PROBE_MAX < 255, "probe distance fits a byte");

/* One slot: 24 bytes on LP64. */
struct mactable_slot {
	uint8_t mac[MACTABLE_MAC_LEN];
	uint8_t used;
	uint8_t dist; /* slots past the home slot, < probe_max */
	struct mactable_peer *owner;
	uint64_t seen_ms;
};

int mactable_init(struct mactable *t, const struct mactable_config *cfg)
{
	const struct mactable_config def = {
	    .max_entries = MACTABLE_DEFAULT_MAX_ENTRIES,
	    .max_per_peer = MACTABLE_DEFAULT_MAX_PER_PEER,
	    .ageing_ms = MACTABLE_DEFAULT_AGEING_MS,
	};
	size_t slots = 4;

	memset(t, 0, sizeof(*t));
	if (!cfg)
		cfg = &def;
	if (cfg->max_entries < 1 || cfg->max_entries > MACTABLE_MAX_ENTRIES_LIMIT ||
	    cfg->max_per_peer < 1 || cfg->max_per_peer > cfg->max_entries || cfg->ageing_ms == 0)
		return -EINVAL;
	while (slots < 4 * (size_t)cfg->max_entries)
		slots *= 2;
	t->slots = calloc(slots, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = (uint32_t)(slots - 1);
	t->probe_max = slots < MACTABLE_PROBE_MAX ? (uint32_t)slots : MACTABLE_PROBE_MAX;
	t->cfg = *cfg;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	return 0;
}

void mactable_cleanup(struct mactable *t)
{
	free(t->slots);
	t->slots = NULL;
}

size_t mactable_slots(const struct mactable *t)
{
	return (size_t)t->mask + 1;
}

bool mactable_is_group(const uint8_t *mac)
{
	return mac[0] & 1;
}

static bool mactable_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[MACTABLE_MAC_LEN];

	return memcmp(mac, zero, MACTABLE_MAC_LEN) == 0;
}

int mactable_frame_dst(const uint8_t *frame, size_t len, uint8_t *mac)
{
	if (len < MACTABLE_ETH_HLEN)
		return -EINVAL;
	memcpy(mac, frame, MACTABLE_MAC_LEN);
	return 0;
}

int mactable_frame_src(const uint8_t *frame, size_t len, uint8_t *mac)
{
	if (len < MACTABLE_ETH_HLEN)
		return -EINVAL;
	memcpy(mac, frame + MACTABLE_MAC_LEN, MACTABLE_MAC_LEN);
	return 0;
}

uint32_t mactable_home(const struct mactable *t, const uint8_t *mac)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, mac, MACTABLE_MAC_LEN, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)v & t->mask;
}

/* Aged: not seen for ageing_ms.  A clock behind the entry is not ageing. */
static bool mactable_aged(const struct mactable *t, const struct mactable_slot *s, uint64_t now_ms)
{
	return now_ms >= s->seen_ms && now_ms - s->seen_ms >= t->cfg.ageing_ms;
}

/*
 * The slot holding @mac, or NULL; *@free_slot (when given) is set to the
 * empty slot where @mac would go and *@dist to its distance, or NULL when
 * there is none within probe_max.
 */
static struct mactable_slot *mactable_find(const struct mactable *t, const uint8_t *mac,
					   struct mactable_slot **free_slot, uint32_t *dist)
{
	uint32_t home = mactable_home(t, mac), d;

	if (free_slot)
		*free_slot = NULL;
	for (d = 0; d < t->probe_max; d++) {
		struct mactable_slot *s = &t->slots[(home + d) & t->mask];

		if (!s->used) {
			if (free_slot) {
				*free_slot = s;
				*dist = d;
			}
			return NULL;
		}
		if (memcmp(s->mac, mac, MACTABLE_MAC_LEN) == 0)
			return s;
	}
	return NULL;
}

/*
 * Empties slot @i and shifts back the entries after it that may move
 * (linear probing's deletion, Knuth TAOCP vol. 3, 6.4 algorithm R), so
 * that no lookup stops early at the hole.
 */
static void mactable_delete(struct mactable *t, uint32_t i)
{
	struct mactable_slot *slots = t->slots;
	uint32_t j = i;

	slots[i].owner->entries--;
	t->stats.entries--;
	for (;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (!slots[j].used)
			break;
		home = (j - slots[j].dist) & t->mask;
		/* Stays when its home is cyclically in (i, j]. */
		if (((j - home) & t->mask) < ((j - i) & t->mask))
			continue;
		slots[i] = slots[j];
		slots[i].dist = (uint8_t)((i - home) & t->mask);
		i = j;
	}
	memset(&slots[i], 0, sizeof(slots[i]));
}

/* Counts a refusal against @peer and the table. */
static enum mactable_learn_result mactable_refuse(struct mactable *t, struct mactable_peer *peer,
						  enum mactable_learn_result why)
{
	peer->refused++;
	if (why == MACTABLE_REFUSED_PEER)
		t->stats.refused_peer++;
	else if (why == MACTABLE_REFUSED_TABLE)
		t->stats.refused_table++;
	else
		t->stats.refused_probe++;
	return why;
}

enum mactable_learn_result mactable_learn(struct mactable *t, const uint8_t *mac,
					  struct mactable_peer *peer, uint64_t now_ms)
{
	struct mactable_slot *s, *free_slot;
	uint32_t dist = 0;

	if (mactable_is_group(mac) || mactable_is_zero(mac)) {
		t->stats.invalid_src++;
		return MACTABLE_INVALID_SRC;
	}
	s = mactable_find(t, mac, &free_slot, &dist);
	if (s) {
		bool aged = mactable_aged(t, s, now_ms);

		if (s->owner == peer) {
			s->seen_ms = now_ms;
			if (!aged)
				return MACTABLE_REFRESHED;
			t->stats.learned++;
			return MACTABLE_LEARNED;
		}
		if (peer->entries >= t->cfg.max_per_peer)
			return mactable_refuse(t, peer, MACTABLE_REFUSED_PEER);
		s->owner->entries--;
		peer->entries++;
		s->owner = peer;
		s->seen_ms = now_ms;
		if (aged) {
			t->stats.learned++;
			return MACTABLE_LEARNED;
		}
		t->stats.moves++;
		return MACTABLE_MOVED;
	}
	if (peer->entries >= t->cfg.max_per_peer)
		return mactable_refuse(t, peer, MACTABLE_REFUSED_PEER);
	if (t->stats.entries >= t->cfg.max_entries)
		return mactable_refuse(t, peer, MACTABLE_REFUSED_TABLE);
	if (!free_slot)
		return mactable_refuse(t, peer, MACTABLE_REFUSED_PROBE);
	memcpy(free_slot->mac, mac, MACTABLE_MAC_LEN);
	free_slot->used = 1;
	free_slot->dist = (uint8_t)dist;
	free_slot->owner = peer;
	free_slot->seen_ms = now_ms;
	peer->entries++;
	t->stats.entries++;
	t->stats.learned++;
	return MACTABLE_LEARNED;
}

struct mactable_peer *mactable_lookup(const struct mactable *t, const uint8_t *mac, uint64_t now_ms)
{
	const struct mactable_slot *s;

	if (mactable_is_group(mac))
		return NULL;
	s = mactable_find(t, mac, NULL, NULL);
	if (!s || mactable_aged(t, s, now_ms))
		return NULL;
	return s->owner;
}

size_t mactable_expire(struct mactable *t, uint64_t now_ms, size_t budget)
{
	size_t removed = 0;
	uint32_t i = t->cursor;

	while (budget > 0 && t->stats.entries > 0) {
		struct mactable_slot *s = &t->slots[i];

		if (s->used && mactable_aged(t, s, now_ms)) {
			/* The slot may be refilled by a shift: look again. */
			mactable_delete(t, i);
			removed++;
			continue;
		}
		i = (i + 1) & t->mask;
		budget--;
	}
	t->cursor = i;
	t->stats.expired += removed;
	return removed;
}

size_t mactable_remove_peer(struct mactable *t, struct mactable_peer *peer)
{
	size_t removed = 0;
	uint32_t i = 0;

	/* Forward over the slots; a removal may shift a later entry back
	 * into i, so i advances only past a slot that stays.  An entry of
	 * @peer wrapped round from slot 0 into the last slot is met there. */
	while (peer->entries > 0 && i <= t->mask) {
		if (t->slots[i].used && t->slots[i].owner == peer) {
			mactable_delete(t, i);
			removed++;
			continue;
		}
		i++;
	}
	t->stats.removed += removed;
	return removed;
}

int mactable_walk(const struct mactable *t, const struct mactable_peer *peer,
		  int (*cb)(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms,
			    void *arg),
		  void *arg)
{
	for (size_t i = 0; i <= t->mask; i++) {
		const struct mactable_slot *s = &t->slots[i];
		int rc;

		if (!s->used || (peer && s->owner != peer))
			continue;
		rc = cb(s->mac, s->owner, s->seen_ms, arg);
		if (rc)
			return rc;
	}
	return 0;
}
