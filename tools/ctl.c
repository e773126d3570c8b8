/* SPDX-License-Identifier: MIT */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int ctl_fail(int err, const char *extack, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	if (extack && *extack)
		fprintf(stderr, " (kernel: %s)", extack);
	fputc('\n', stderr);
	return CTL_EXIT_FAIL;
}

int ctl_usage(const char *object, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (object)
		fprintf(stderr, "\nTry '%s %s help'.\n", CTL_PROG, object);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", CTL_PROG);
	return CTL_EXIT_USAGE;
}

int ctl_is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int ctl_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_nl_open(struct nl_handle *nl, char *extack)
{
	int ret = nl_open(nl, extack, NL_EXTACK_LEN);

	if (ret)
		return ctl_fail(ret, NULL, "open rtnetlink socket");
	return CTL_EXIT_OK;
}

const char *ctl_ifname(int ifindex, char buf[static IFNAMSIZ + 8])
{
	if (ifindex <= 0 || !if_indextoname((unsigned int)ifindex, buf))
		snprintf(buf, IFNAMSIZ + 8, "if%d", ifindex);
	return buf;
}
