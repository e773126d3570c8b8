/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the receiver-index table (lib/index_table.h) against a
 * reference model (an array searched end to end).  A stranger chooses the
 * indices looked up; the daemon chooses those stored, but the table must
 * stay right for any sequence, so here the input chooses both.
 *
 * Input: [bound: 1] then records [op: 1][index: 4, big-endian]:
 *   bound: the table's max_entries, 1..256;
 *   op % 3: 0 add (owner op / 3 % 4), 1 remove, 2 look up;
 *   op & 0x80: the index is masked to 0..63, so probes collide.
 * After every step the entry counts agree, and now and then every stored
 * index is looked up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "index_table.h"

#define MODEL_MAX 256

static struct {
	uint32_t index[MODEL_MAX];
	void *owner[MODEL_MAX];
	size_t n;
} M;
static char owners[4];

static size_t model_find(uint32_t index)
{
	for (size_t i = 0; i < M.n; i++)
		if (M.index[i] == index)
			return i;
	return SIZE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct index_table t;
	size_t max = (size_t)fuzz_u8(&in) % MODEL_MAX + 1, i, steps = 0;

	M.n = 0;
	if (index_table_init(&t, max) != 0)
		abort();
	while (in.left) {
		uint8_t op = fuzz_u8(&in);
		uint32_t index = fuzz_u32(&in);
		void *owner = &owners[op / 3 % 4];
		int rc;

		if (op & 0x80)
			index &= 63;
		i = model_find(index);
		switch (op % 3) {
		case 0:
			rc = index_table_add(&t, index, owner);
			if (i != SIZE_MAX) {
				FUZZ_ASSERT(rc == -EEXIST);
			} else if (M.n >= max) {
				FUZZ_ASSERT(rc == -ENOSPC);
			} else {
				FUZZ_ASSERT(rc == 0);
				M.index[M.n] = index;
				M.owner[M.n++] = owner;
			}
			break;
		case 1:
			rc = index_table_remove(&t, index);
			FUZZ_ASSERT(rc == (i == SIZE_MAX ? -ENOENT : 0));
			if (i != SIZE_MAX) {
				M.index[i] = M.index[--M.n];
				M.owner[i] = M.owner[M.n];
			}
			break;
		default:
			FUZZ_ASSERT(index_table_lookup(&t, index) ==
				    (i == SIZE_MAX ? NULL : M.owner[i]));
		}
		FUZZ_ASSERT(t.entries == M.n);
		if (++steps % 64 == 0 || !in.left)
			for (i = 0; i < M.n; i++)
				FUZZ_ASSERT(index_table_lookup(&t, M.index[i]) == M.owner[i]);
	}
	index_table_free(&t);
	return 0;
}

int fuzz_generate(const char *dir)
{
	/* Adds that collide, a remove in the middle of a run, lookups. */
	static const uint8_t seed[] = {
	    8,    0x80, 0, 0, 0, 1,    0x80, 0, 0, 0, 2,    0x83, 0, 0, 0, 3,    0x81, 0, 0, 0, 2,
	    0x82, 0,    0, 0, 3, 0x82, 0,    0, 0, 1, 0x80, 0,    0, 0, 2, 0x82, 0,    0, 0, 2,
	};
	return fuzz_write_seed(dir, "collide", seed, sizeof(seed));
}
