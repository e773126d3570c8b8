/* SPDX-License-Identifier: MIT */
/* culvertctl nat: stub, being written. */
#include "ctl.h"

void nat_usage(FILE *f)
{
	fprintf(f, "Usage: %s nat ...\n", CTL_PROG);
}

int nat_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_usage("nat", "not yet");
}
