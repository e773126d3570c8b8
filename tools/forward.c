/* SPDX-License-Identifier: MIT */
/* culvertctl forward: IPv4 and IPv6 forwarding in the current (or -n) namespace. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/*
 * /proc/sys/net follows the namespace of the thread that opens it, so after
 * -n these are the target namespace's knobs.  "all/forwarding" for IPv6 also
 * sets every interface's value, as `sysctl -w` on it does.
 */
static const struct {
	const char *family;
	const char *path;
} knobs[] = {
    {"ipv4", "/proc/sys/net/ipv4/ip_forward"},
    {"ipv6", "/proc/sys/net/ipv6/conf/all/forwarding"},
};

#define N_KNOBS (sizeof(knobs) / sizeof(knobs[0]))

void forward_usage(FILE *f)
{
	fprintf(f, "Usage: %s forward { on | off | show }\n", CTL_PROG);
}

/* Write "0" or "1" to @path; returns 0 or -errno. */
static int knob_write(const char *path, int on)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1\n" : "0\n", 2) != 2)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Read a knob's first character; returns 0/1, or -errno. */
static int knob_read(const char *path)
{
	char c = '0';
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, &c, 1) == 1 ? c != '0' : -errno;
	close(fd);
	return ret;
}

int forward_main(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "show";
	int on, ret, status = CTL_EXIT_OK;
	size_t i;

	if (ctl_is_help(verb)) {
		forward_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (argc > 2)
		return ctl_usage("forward", "forward %s: unexpected '%s'", verb, argv[2]);
	if (!strcmp(verb, "show")) {
		for (i = 0; i < N_KNOBS; i++) {
			ret = knob_read(knobs[i].path);
			if (ret < 0)
				status = ctl_fail(ret, NULL, "forward show: %s", knobs[i].path);
			else
				printf("%s %s\n", knobs[i].family, ret ? "on" : "off");
		}
		return status;
	}
	if (!strcmp(verb, "on"))
		on = 1;
	else if (!strcmp(verb, "off"))
		on = 0;
	else
		return ctl_usage("forward", "forward: unknown verb '%s'", verb);
	for (i = 0; i < N_KNOBS; i++) {
		ret = knob_write(knobs[i].path, on);
		if (ret)
			status = ctl_fail(ret, NULL, "forward %s: %s", verb, knobs[i].path);
	}
	return status;
}
