/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "index_table.h"
#include "check_run.h"

/* The reference model: an array searched from end to end. */
#define MODEL_MAX 512
struct model {
	uint32_t index[MODEL_MAX];
	void *owner[MODEL_MAX];
	size_t n;
};

static void *model_lookup(const struct model *m, uint32_t index)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->index[i] == index)
			return m->owner[i];
	return NULL;
}

static int model_add(struct model *m, size_t max, uint32_t index, void *owner)
{
	if (model_lookup(m, index))
		return -EEXIST;
	if (m->n >= max)
		return -ENOSPC;
	m->index[m->n] = index;
	m->owner[m->n++] = owner;
	return 0;
}

static int model_remove(struct model *m, uint32_t index)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->index[i] == index) {
			m->index[i] = m->index[--m->n];
			m->owner[i] = m->owner[m->n];
			return 0;
		}
	return -ENOENT;
}

static char owners[8];

START_TEST(test_basics)
{
	struct index_table t;

	ck_assert_int_eq(index_table_init(&t, 0), -EINVAL);
	ck_assert_int_eq(index_table_init(&t, INDEX_TABLE_MAX + 1), -EINVAL);
	ck_assert_int_eq(index_table_init(&t, 3), 0);
	ck_assert_ptr_null(index_table_lookup(&t, 7));
	ck_assert_int_eq(index_table_add(&t, 7, NULL), -EINVAL);
	ck_assert_int_eq(index_table_add(&t, 7, &owners[0]), 0);
	ck_assert_int_eq(index_table_add(&t, 7, &owners[1]), -EEXIST);
	ck_assert_ptr_eq(index_table_lookup(&t, 7), &owners[0]);
	/* Index 0 is an index like any other. */
	ck_assert_int_eq(index_table_add(&t, 0, &owners[1]), 0);
	ck_assert_int_eq(index_table_add(&t, UINT32_MAX, &owners[2]), 0);
	ck_assert_int_eq(index_table_add(&t, 9, &owners[3]), -ENOSPC);
	ck_assert_uint_eq(t.entries, 3);
	ck_assert_ptr_eq(index_table_lookup(&t, 0), &owners[1]);
	ck_assert_ptr_eq(index_table_lookup(&t, UINT32_MAX), &owners[2]);
	ck_assert_int_eq(index_table_remove(&t, 9), -ENOENT);
	ck_assert_int_eq(index_table_remove(&t, 7), 0);
	ck_assert_int_eq(index_table_remove(&t, 7), -ENOENT);
	ck_assert_ptr_null(index_table_lookup(&t, 7));
	ck_assert_int_eq(index_table_add(&t, 9, &owners[3]), 0);
	index_table_free(&t);
	index_table_free(&t);
	ck_assert_ptr_null(index_table_lookup(&t, 9));
}
END_TEST

/*
 * Random adds, removes and lookups against the model.  Indices come from a
 * small range so that probes collide and removals shift runs back; the
 * loop index picks the range.
 */
START_TEST(test_random_against_model)
{
	const uint32_t ranges[] = {64, 1024, UINT32_MAX};
	uint32_t range = ranges[_i];
	struct index_table t;
	struct model m = {0};
	size_t max = 300;

	srand(42 + _i);
	ck_assert_int_eq(index_table_init(&t, max), 0);
	for (int step = 0; step < 200000; step++) {
		uint32_t index = (uint32_t)rand() % range;
		void *owner = &owners[rand() % 8];

		switch (rand() % 3) {
		case 0:
			ck_assert_int_eq(index_table_add(&t, index, owner),
					 model_add(&m, max, index, owner));
			break;
		case 1:
			ck_assert_int_eq(index_table_remove(&t, index), model_remove(&m, index));
			break;
		default:
			ck_assert_ptr_eq(index_table_lookup(&t, index), model_lookup(&m, index));
		}
		ck_assert_uint_eq(t.entries, m.n);
		/* Now and then, every stored index is found. */
		if (step % 10000 == 0)
			for (size_t i = 0; i < m.n; i++)
				ck_assert_ptr_eq(index_table_lookup(&t, m.index[i]), m.owner[i]);
	}
	index_table_free(&t);
}
END_TEST

/* Full, then emptied in another order: nothing is lost by the shifts. */
START_TEST(test_fill_and_drain)
{
	struct index_table t;
	uint32_t idx[MODEL_MAX];
	size_t max = MODEL_MAX;

	ck_assert_int_eq(index_table_init(&t, max), 0);
	for (size_t i = 0; i < max; i++) {
		idx[i] = (uint32_t)(i * 7919u) << 8; /* clustered low bits */
		ck_assert_int_eq(index_table_add(&t, idx[i], &owners[i % 8]), 0);
	}
	ck_assert_int_eq(index_table_add(&t, 1, &owners[0]), -ENOSPC);
	for (size_t i = 0; i < max; i += 2)
		ck_assert_int_eq(index_table_remove(&t, idx[i]), 0);
	for (size_t i = 1; i < max; i += 2)
		ck_assert_ptr_eq(index_table_lookup(&t, idx[i]), &owners[i % 8]);
	for (size_t i = max - 1; i < max; i -= 2)
		ck_assert_int_eq(index_table_remove(&t, idx[i]), 0);
	ck_assert_uint_eq(t.entries, 0);
	for (size_t i = 0; i <= t.mask; i++)
		ck_assert_ptr_null(t.slots[i].owner);
	index_table_free(&t);
}
END_TEST

/* Growing keeps every entry and its owner, and makes room for more. */
START_TEST(test_grow)
{
	struct index_table t;
	size_t max = 64;

	ck_assert_int_eq(index_table_init(&t, max), 0);
	for (size_t i = 0; i < max; i++)
		ck_assert_int_eq(index_table_add(&t, (uint32_t)(i * 2654435761u), &owners[i % 8]),
				 0);
	ck_assert_int_eq(index_table_add(&t, 7, &owners[0]), -ENOSPC);
	ck_assert_int_eq(index_table_grow(&t, max / 2), 0); /* no smaller */
	ck_assert_uint_eq(t.max, max);
	ck_assert_int_eq(index_table_grow(&t, INDEX_TABLE_MAX + 1), -EINVAL);
	ck_assert_uint_eq(t.max, max);
	ck_assert_int_eq(index_table_grow(&t, 4 * max), 0);
	ck_assert_uint_eq(t.max, 4 * max);
	ck_assert_uint_eq(t.entries, max);
	for (size_t i = 0; i < max; i++)
		ck_assert_ptr_eq(index_table_lookup(&t, (uint32_t)(i * 2654435761u)),
				 &owners[i % 8]);
	ck_assert_int_eq(index_table_add(&t, (uint32_t)(5 * 2654435761u), &owners[1]), -EEXIST);
	for (size_t i = max; i < 4 * max; i++)
		ck_assert_int_eq(index_table_add(&t, (uint32_t)(i * 2654435761u), &owners[i % 8]),
				 0);
	ck_assert_int_eq(index_table_add(&t, 7, &owners[0]), -ENOSPC);
	index_table_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("index_table");
	TCase *tc = tcase_create("index_table");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_basics);
	tcase_add_loop_test(tc, test_random_against_model, 0, 3);
	tcase_add_test(tc, test_fill_and_drain);
	tcase_add_test(tc, test_grow);
	suite_add_tcase(s, tc);
	return check_run(s);
}
