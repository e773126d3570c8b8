/* SPDX-License-Identifier: MIT */
/* culvertctl netns: named network namespaces shared with `ip netns`. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "netns.h"

void netns_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s netns { add | del } NAME\n"
		"       %s netns [ list ]\n"
		"       %s netns exec NAME [--] COMMAND [ARGS...]\n",
		CTL_PROG, CTL_PROG, CTL_PROG);
}

/* Print one namespace name per line, like `ip netns list` without ids. */
static int print_name(const char *name, void *data)
{
	printf("%s\n", name);
	return 0;
}

/*
 * Run COMMAND in namespace @name as `ip netns exec` does.  On success this
 * never returns; exec failures exit 127 (not found) or 126 (not runnable),
 * as shells do.
 */
static int do_exec(const char *name, int argc, char **argv)
{
	int ret;

	if (argc > 0 && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return ctl_usage("netns", "netns exec %s: no command given", name);
	ret = netns_switch(name);
	if (ret)
		return ctl_fail(ret, NULL, "netns exec %s", name);
	fflush(NULL);
	execvp(argv[0], argv);
	ret = errno;
	ctl_fail(ret, NULL, "netns exec %s: %s", name, argv[0]);
	return ret == ENOENT ? 127 : 126;
}

int netns_main(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "list";
	int ret;

	if (ctl_is_help(verb)) {
		netns_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (!strcmp(verb, "list") || !strcmp(verb, "show")) {
		if (argc > 2)
			return ctl_usage("netns", "netns list: unexpected '%s'", argv[2]);
		ret = netns_list(print_name, NULL);
		return ret < 0 ? ctl_fail(ret, NULL, "netns list") : CTL_EXIT_OK;
	}
	if (strcmp(verb, "add") && strcmp(verb, "del") && strcmp(verb, "delete") &&
	    strcmp(verb, "exec"))
		return ctl_usage("netns", "netns: unknown verb '%s'", verb);
	if (argc < 3)
		return ctl_usage("netns", "netns %s: NAME missing", verb);
	if (netns_name_check(argv[2]))
		return ctl_usage("netns", "netns %s: invalid name '%s'", verb, argv[2]);

	if (!strcmp(verb, "exec"))
		return do_exec(argv[2], argc - 3, argv + 3);
	if (argc > 3)
		return ctl_usage("netns", "netns %s: unexpected '%s'", verb, argv[3]);
	if (!strcmp(verb, "add"))
		ret = netns_add(argv[2]);
	else
		ret = netns_del(argv[2]);
	return ret ? ctl_fail(ret, NULL, "netns %s %s", verb, argv[2]) : CTL_EXIT_OK;
}
