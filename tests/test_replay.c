/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "check_run.h"

/*
 * ck_assert_* reports to the parent process on every call, which makes
 * loops over thousands of counters slow; this only calls Check on failure.
 */
#define EXPECT(expr, want)                                                                         \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ != (want))                                                                  \
			ck_abort_msg("%s = %d, want %d", #expr, r_, (want));                       \
	} while (0)

/* check then update, as the receive path does once the tag verified. */
static int accept(struct replay_window *w, uint64_t c)
{
	int r = replay_check(w, c);

	if (r < 0)
		return r;
	return replay_update(w, c);
}

START_TEST(test_in_order)
{
	struct replay_window w;

	replay_init(&w);
	for (uint64_t c = 0; c < 3 * REPLAY_WINDOW_SIZE; c++)
		EXPECT(accept(&w, c), 0);
	for (uint64_t c = 2 * REPLAY_WINDOW_SIZE + 1; c < 3 * REPLAY_WINDOW_SIZE; c++)
		EXPECT(replay_check(&w, c), -EALREADY);
}
END_TEST

START_TEST(test_counter_zero)
{
	struct replay_window w;

	replay_init(&w);
	ck_assert_int_eq(replay_check(&w, 0), 0);
	ck_assert_int_eq(replay_update(&w, 0), 0);
	ck_assert_int_eq(replay_check(&w, 0), -EALREADY);
	ck_assert_int_eq(replay_update(&w, 0), -EALREADY);
	ck_assert_int_eq(accept(&w, 1), 0);
}
END_TEST

START_TEST(test_first_counter_not_zero)
{
	struct replay_window w;

	/* Counter 0 lost: a later one first, then 0 arrives late. */
	replay_init(&w);
	ck_assert_int_eq(accept(&w, 5), 0);
	ck_assert_int_eq(accept(&w, 0), 0);
	ck_assert_int_eq(accept(&w, 0), -EALREADY);
	ck_assert_int_eq(accept(&w, 3), 0);
}
END_TEST

START_TEST(test_reordered_within_window)
{
	struct replay_window w;
	static const uint64_t order[] = {10, 3, 7, 0, 9, 1, 2, 8, 4, 6, 5, 70, 64, 63, 65, 11};

	replay_init(&w);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		ck_assert_int_eq(accept(&w, order[i]), 0);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		ck_assert_int_eq(replay_check(&w, order[i]), -EALREADY);
	ck_assert_int_eq(replay_check(&w, 12), 0);
	ck_assert_int_eq(replay_check(&w, 69), 0);
	ck_assert_int_eq(replay_check(&w, 71), 0);
}
END_TEST

START_TEST(test_duplicates)
{
	struct replay_window w;

	replay_init(&w);
	ck_assert_int_eq(accept(&w, 100), 0);
	ck_assert_int_eq(accept(&w, 100), -EALREADY);
	ck_assert_int_eq(accept(&w, 99), 0);
	ck_assert_int_eq(accept(&w, 99), -EALREADY);
	ck_assert_int_eq(accept(&w, 100), -EALREADY);
}
END_TEST

/* Two copies of one packet in a batch both pass check; only one update wins. */
START_TEST(test_update_rechecks)
{
	struct replay_window w;

	replay_init(&w);
	ck_assert_int_eq(replay_check(&w, 42), 0);
	ck_assert_int_eq(replay_check(&w, 42), 0);
	ck_assert_int_eq(replay_update(&w, 42), 0);
	ck_assert_int_eq(replay_update(&w, 42), -EALREADY);

	/* A packet checked before the window moved past it. */
	ck_assert_int_eq(replay_check(&w, 1), 0);
	ck_assert_int_eq(replay_update(&w, 42 + REPLAY_WINDOW_SIZE + 10), 0);
	ck_assert_int_eq(replay_update(&w, 1), -ESTALE);
}
END_TEST

START_TEST(test_window_edge)
{
	struct replay_window w;
	const uint64_t top = 10000;

	replay_init(&w);
	ck_assert_int_eq(accept(&w, top), 0);
	/* The window holds top - REPLAY_WINDOW_SIZE + 1 .. top. */
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW_SIZE + 1), 0);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW_SIZE), -ESTALE);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW_SIZE - 1), -ESTALE);
	ck_assert_int_eq(replay_check(&w, 0), -ESTALE);
	ck_assert_int_eq(accept(&w, top - REPLAY_WINDOW_SIZE + 1), 0);
	ck_assert_int_eq(accept(&w, top - REPLAY_WINDOW_SIZE + 1), -EALREADY);
	ck_assert_int_eq(accept(&w, top - REPLAY_WINDOW_SIZE), -ESTALE);

	/* Moving up by one pushes the edge counter out. */
	ck_assert_int_eq(accept(&w, top + 1), 0);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW_SIZE + 1), -ESTALE);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW_SIZE + 2), 0);
}
END_TEST

/* Every block alignment of the top counter keeps the whole window. */
START_TEST(test_window_edge_every_alignment)
{
	struct replay_window w;

	for (uint64_t top = 5000; top < 5000 + 2 * REPLAY_BLOCK_BITS; top++) {
		uint64_t edge = top - REPLAY_WINDOW_SIZE + 1;

		replay_init(&w);
		for (uint64_t c = edge - 70; c <= top; c++)
			EXPECT(accept(&w, c), 0);
		for (uint64_t c = edge; c <= top; c++)
			EXPECT(replay_check(&w, c), -EALREADY);
		ck_assert_int_eq(replay_check(&w, edge - 1), -ESTALE);
		ck_assert_int_eq(replay_check(&w, top + 1), 0);
	}
}
END_TEST

START_TEST(test_jump_past_window)
{
	struct replay_window w;
	const uint64_t far = 3 * REPLAY_WINDOW_SIZE + 17;

	replay_init(&w);
	for (uint64_t c = 0; c < 200; c++)
		EXPECT(accept(&w, c), 0);
	ck_assert_int_eq(accept(&w, far), 0);
	for (uint64_t c = 0; c < 200; c++)
		EXPECT(replay_check(&w, c), -ESTALE);
	/* Bits left over from before the jump must not read as seen: every
	 * counter inside the new window but below far is still acceptable. */
	for (uint64_t c = far - REPLAY_WINDOW_SIZE + 1; c < far; c++)
		EXPECT(replay_check(&w, c), 0);
	ck_assert_int_eq(replay_check(&w, far), -EALREADY);
}
END_TEST

/* A jump by less than the ring, so stale blocks are cleared one by one. */
START_TEST(test_jump_within_ring)
{
	struct replay_window w;

	replay_init(&w);
	for (uint64_t c = 0; c < REPLAY_WINDOW_SIZE; c++)
		EXPECT(accept(&w, c), 0);
	ck_assert_int_eq(accept(&w, REPLAY_WINDOW_SIZE + 1000), 0);
	for (uint64_t c = REPLAY_WINDOW_SIZE; c < REPLAY_WINDOW_SIZE + 1000; c++)
		EXPECT(replay_check(&w, c), 0);
	/* The new edge is (W + 1000) - W + 1 = 1001. */
	for (uint64_t c = 1001; c < REPLAY_WINDOW_SIZE; c++)
		EXPECT(replay_check(&w, c), -EALREADY);
	ck_assert_int_eq(replay_check(&w, 1000), -ESTALE);
}
END_TEST

START_TEST(test_limits)
{
	struct replay_window w;
	const uint64_t last = REPLAY_REJECT_AFTER_MESSAGES - 1;

	replay_init(&w);
	ck_assert_int_eq(replay_check(&w, REPLAY_REJECT_AFTER_MESSAGES), -ERANGE);
	ck_assert_int_eq(replay_check(&w, REPLAY_REJECT_AFTER_MESSAGES + 1), -ERANGE);
	ck_assert_int_eq(replay_check(&w, UINT64_MAX), -ERANGE);
	ck_assert_int_eq(replay_check(&w, UINT64_MAX - 1), -ERANGE);
	ck_assert_int_eq(replay_update(&w, UINT64_MAX), -ERANGE);
	ck_assert_int_eq(replay_update(&w, REPLAY_REJECT_AFTER_MESSAGES), -ERANGE);

	ck_assert_int_eq(accept(&w, last - 1), 0);
	ck_assert_int_eq(accept(&w, last), 0);
	ck_assert_int_eq(accept(&w, last), -EALREADY);
	ck_assert_int_eq(accept(&w, last - 1), -EALREADY);
	ck_assert_int_eq(accept(&w, last - 2), 0);
	ck_assert_int_eq(replay_check(&w, last - REPLAY_WINDOW_SIZE), -ESTALE);
	ck_assert_int_eq(replay_check(&w, REPLAY_REJECT_AFTER_MESSAGES), -ERANGE);
	ck_assert_int_eq(replay_check(&w, UINT64_MAX), -ERANGE);
}
END_TEST

START_TEST(test_check_does_not_mutate)
{
	struct replay_window w, copy;
	static const uint64_t probes[] = {0, 1, 63, 64, 65, 500, 4000, 100000, UINT64_MAX};

	replay_init(&w);
	for (uint64_t c = 0; c < 300; c += 3)
		EXPECT(accept(&w, c), 0);
	memcpy(&copy, &w, sizeof(w));
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		(void)replay_check(&w, probes[i]);
	ck_assert_mem_eq(&copy, &w, sizeof(w));

	/* A failed update leaves the window unchanged too. */
	ck_assert_int_eq(replay_update(&w, 3), -EALREADY);
	ck_assert_int_eq(replay_update(&w, UINT64_MAX), -ERANGE);
	ck_assert_mem_eq(&copy, &w, sizeof(w));
}
END_TEST

START_TEST(test_init_resets)
{
	struct replay_window w;

	replay_init(&w);
	ck_assert_int_eq(accept(&w, 7), 0);
	replay_init(&w);
	ck_assert_int_eq(accept(&w, 7), 0);
	ck_assert_int_eq(accept(&w, 0), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_counter_zero);
	tcase_add_test(tc, test_first_counter_not_zero);
	tcase_add_test(tc, test_reordered_within_window);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_update_rechecks);
	tcase_add_test(tc, test_window_edge);
	tcase_add_test(tc, test_window_edge_every_alignment);
	tcase_add_test(tc, test_jump_past_window);
	tcase_add_test(tc, test_jump_within_ring);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_check_does_not_mutate);
	tcase_add_test(tc, test_init_resets);
	suite_add_tcase(s, tc);
	return check_run(s);
}
