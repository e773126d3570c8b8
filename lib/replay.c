/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "replay.h"

_Static_assert((REPLAY_BLOCKS & (REPLAY_BLOCKS - 1)) == 0, "ring size must be a power of two");
_Static_assert(REPLAY_WINDOW_SIZE >= 2048, "doc/design.md section 3 asks for at least 2048");

#define REPLAY_RING_MASK (REPLAY_BLOCKS - 1)

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

/* The ring block and the bit in it that record internal counter @t. */
static uint64_t *replay_block(struct replay_window *w, uint64_t t)
{
	return &w->bitmap[(t / REPLAY_BLOCK_BITS) & REPLAY_RING_MASK];
}

static uint64_t replay_bit(uint64_t t)
{
	return UINT64_C(1) << (t % REPLAY_BLOCK_BITS);
}

int replay_check(const struct replay_window *w, uint64_t counter)
{
	uint64_t t;

	if (counter >= REPLAY_REJECT_AFTER_MESSAGES)
		return -ERANGE;
	t = counter + 1;
	if (t > w->next)
		return 0;
	/* w->next - t is how far below the highest counter this one is. */
	if (w->next - t >= REPLAY_WINDOW_SIZE)
		return -ESTALE;
	if (w->bitmap[(t / REPLAY_BLOCK_BITS) & REPLAY_RING_MASK] & replay_bit(t))
		return -EALREADY;
	return 0;
}

int replay_update(struct replay_window *w, uint64_t counter)
{
	uint64_t t, cur, top, i;
	int r;

	r = replay_check(w, counter);
	if (r < 0)
		return r;
	t = counter + 1;
	if (t > w->next) {
		/* Clear the blocks the window slides into (RFC 6479 section
		 * 3): those after the current top block up to the new one, at
		 * most the whole ring. */
		cur = w->next / REPLAY_BLOCK_BITS;
		top = t / REPLAY_BLOCK_BITS - cur;
		if (top > REPLAY_BLOCKS)
			top = REPLAY_BLOCKS;
		for (i = 1; i <= top; i++)
			w->bitmap[(cur + i) & REPLAY_RING_MASK] = 0;
		w->next = t;
	}
	*replay_block(w, t) |= replay_bit(t);
	return 0;
}
