/* SPDX-License-Identifier: MIT */
/* culvertctl selftest: stub, being written. */
#include "ctl.h"

void selftest_usage(FILE *f)
{
	fprintf(f, "Usage: %s selftest ...\n", CTL_PROG);
}

int selftest_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_usage("selftest", "not yet");
}
