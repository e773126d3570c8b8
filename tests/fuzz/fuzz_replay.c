/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the anti-replay window (lib/replay.h) against a reference
 * model that is a plain set: the counters accepted so far and the highest
 * of them.  For every counter the fuzzer offers, replay_check() and
 * replay_update() must give the answer the rules at the top of
 * lib/replay.h give for the set, and replay_check() must not change the
 * window.
 *
 * Input: records of [op: 1][operand], the counter chosen relative to the
 * highest accepted one H so that the window's edges are reached:
 *   op & 7 = 0: H + 1 + u16     1: H - u16        2: any u64
 *            3: H + 64 * u16    4: H - 4032 + u8 (the window's lower edge)
 *            5: H - 4096 + u16  6: 2^60 - 1 - u8  7: u8 (small counters)
 *   op & 8: replay_check() only, else replay_update()
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replay.h"

/* The set: every counter ever accepted (inputs are small, a list will do). */
struct model {
	uint64_t *seen;
	size_t n, cap;
	bool any;
	uint64_t high;
};

static bool model_has(const struct model *m, uint64_t c)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->seen[i] == c)
			return true;
	return false;
}

/* lib/replay.h's rules, read off the set. */
static int model_check(const struct model *m, uint64_t c)
{
	if (c >= REPLAY_REJECT_AFTER_MESSAGES)
		return -ERANGE;
	if (!m->any || c > m->high)
		return 0;
	if (m->high - c >= REPLAY_WINDOW_SIZE)
		return -ESTALE;
	return model_has(m, c) ? -EALREADY : 0;
}

static void model_add(struct model *m, uint64_t c)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->seen = realloc(m->seen, m->cap * sizeof(*m->seen));
		if (!m->seen)
			abort();
	}
	m->seen[m->n++] = c;
	if (!m->any || c > m->high)
		m->high = c;
	m->any = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct replay_window w, before;
	struct model m = {0};

	replay_init(&w);
	while (in.left) {
		uint8_t op = fuzz_u8(&in);
		uint64_t h = m.high, c;
		int rc, want;

		switch (op & 7) {
		case 0:
			c = h + 1 + fuzz_u16(&in);
			break;
		case 1:
			c = h - fuzz_u16(&in);
			break;
		case 2:
			c = fuzz_u64(&in);
			break;
		case 3:
			c = h + 64 * (uint64_t)fuzz_u16(&in);
			break;
		case 4:
			c = h - REPLAY_WINDOW_SIZE + fuzz_u8(&in);
			break;
		case 5:
			c = h - 4096 + fuzz_u16(&in);
			break;
		case 6:
			c = REPLAY_REJECT_AFTER_MESSAGES - 1 - fuzz_u8(&in);
			break;
		default:
			c = fuzz_u8(&in);
			break;
		}
		want = model_check(&m, c);
		before = w;
		rc = replay_check(&w, c);
		FUZZ_ASSERT(rc == want);
		FUZZ_ASSERT(memcmp(&before, &w, sizeof(w)) == 0);
		if (op & 8)
			continue;
		rc = replay_update(&w, c);
		FUZZ_ASSERT(rc == want);
		if (rc == 0)
			model_add(&m, c);
		else
			FUZZ_ASSERT(memcmp(&before, &w, sizeof(w)) == 0);
		/* Accepted counters are now refused, as long as the window
		 * holds them. */
		if (rc == 0)
			FUZZ_ASSERT(replay_check(&w, c) == -EALREADY);
	}
	free(m.seen);
	return 0;
}
