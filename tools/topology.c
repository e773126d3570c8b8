/* SPDX-License-Identifier: MIT */
/* culvertctl topology: stub, being written. */
#include "ctl.h"

void topology_usage(FILE *f)
{
	fprintf(f, "Usage: %s topology ...\n", CTL_PROG);
}

int topology_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ctl_usage("topology", "not yet");
}
