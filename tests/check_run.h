/* SPDX-License-Identifier: MIT */
/* The one way every Check suite here is run. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Runs every test of @s (forking per test, so a crash fails one test, not
 * the program), prints Check's summary, frees @s and returns the exit
 * status: EXIT_SUCCESS when all passed. */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
