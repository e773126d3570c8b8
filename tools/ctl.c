/* SPDX-License-Identifier: MIT */
#include "ctl.h"

#include <cap-ng.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdarg.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

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

/* Is @path a regular file we may execute? */
static int ctl_is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/* Where an installed culvertd is (meson's sbindir). */
static const char *const ctl_sbindirs[] = {CULVERT_SBINDIR};

int ctl_find_culvertd(const char *object, char *out)
{
	const char *env = getenv("CULVERTD");
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	const char *tails[] = {"/culvertd", "/../daemon/culvertd"};
	ssize_t n;
	size_t i;
	char *slash;

	if (env && *env) {
		if (strlen(env) >= PATH_MAX || !ctl_is_exec(env)) {
			fprintf(stderr, "%s: %s: CULVERTD=%s is not an executable file\n", CTL_PROG,
				object, env);
			return -EACCES;
		}
		strcpy(out, env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; slash && i < sizeof(tails) / sizeof(tails[0]); i++) {
		if (snprintf(cand, sizeof(cand), "%s%s", exe, tails[i]) >= (int)sizeof(cand))
			continue;
		if (ctl_is_exec(cand) && realpath(cand, out))
			return 0;
	}
	for (i = 0; i < sizeof(ctl_sbindirs) / sizeof(ctl_sbindirs[0]); i++) {
		if (snprintf(cand, sizeof(cand), "%s/culvertd", ctl_sbindirs[i]) >=
		    (int)sizeof(cand))
			continue;
		if (ctl_is_exec(cand) && strlen(cand) < PATH_MAX) {
			strcpy(out, cand);
			return 0;
		}
	}
	fprintf(stderr,
		"%s: %s: culvertd not found next to %s/%s, in %s/../daemon or in %s "
		"(set CULVERTD=PATH)\n",
		CTL_PROG, object, exe, CTL_PROG, exe, ctl_sbindirs[0]);
	return -ENOENT;
}

int ctl_notify_open(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	int fd, ret;

	if (name[0] != '@' || len < 2 || len > sizeof(sun.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* sd_notify(3) reads a leading '@' as the abstract namespace's NUL. */
	memcpy(sun.sun_path + 1, name + 1, len - 1);
	if (bind(fd, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int ctl_notify_ready(int fd)
{
	char msg[512];
	int ready = 0;
	ssize_t n;

	while ((n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT)) > 0) {
		const char *p = msg, *end = msg + n, *nl;

		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
			if (nl - p == 7 && !memcmp(p, "READY=1", 7))
				ready = 1;
		}
	}
	return ready;
}

bool ctl_have_cap(unsigned int cap)
{
	if (capng_get_caps_process() < 0)
		return false;
	return capng_have_capability(CAPNG_EFFECTIVE, cap) != 0;
}
