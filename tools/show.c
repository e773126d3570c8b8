/* SPDX-License-Identifier: MIT */
/*
 * culvertctl show: the status of running tunnels, as `wg show` prints
 * interfaces.  Each culvertd serves one JSON document (lib/status.h) on
 * $CULVERT_RUNDIR/NAME.sock (default CULVERT_RUNSTATEDIR) to whoever
 * connects, then closes; nothing is sent.  UNIX path sockets do not belong
 * to a network namespace, so this works from any of them and takes no -n.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "metrics.h"
#include "status.h"

/* How long one daemon may take to connect and send its whole document. */
#define SHOW_TIMEOUT_MS 2000
#define SHOW_SUFFIX     ".sock"

void show_usage(FILE *f)
{
	fprintf(f, "Usage: %s show [NAME] [--json | --openmetrics | --prometheus]\n", CTL_PROG);
}

/* The directory of the status sockets: $CULVERT_RUNDIR if set, for tests
 * and unprivileged daemons, else the one culvertd was built with. */
static const char *show_rundir(void)
{
	const char *dir = getenv("CULVERT_RUNDIR");

	return dir && *dir ? dir : CULVERT_RUNSTATEDIR;
}

/*
 * Is @name a tunnel name, DEVICE or DEVICE@NETNS (a daemon in a named
 * network namespace), so that NAME.sock stays in the directory?
 */
static bool show_name_ok(const char *name)
{
	const char *at = strchr(name, '@');
	size_t dev = at ? (size_t)(at - name) : strlen(name);

	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	if (dev == 0 || dev >= STATUS_DEVICE_SIZE)
		return false;
	return !at || (at[1] && strlen(at + 1) < STATUS_NETNS_SIZE && !strchr(at + 1, '@'));
}

/* Milliseconds on the monotonic clock. */
static int64_t show_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Connects to the status socket @path and reads what the daemon writes
 * until it closes, within SHOW_TIMEOUT_MS in all (a daemon that trickles
 * cannot hold us), into @buf (@size bytes).  Returns the length, or
 * -errno: -ENOENT/-ECONNREFUSED when nobody serves @path, -ETIMEDOUT,
 * -EMSGSIZE when the document does not fit; *@op names what failed.
 */
static ssize_t show_fetch(const char *path, char *buf, size_t size, const char **op)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = SHOW_TIMEOUT_MS / 1000,
			     .tv_usec = SHOW_TIMEOUT_MS % 1000 * 1000};
	int64_t deadline = show_now_ms() + SHOW_TIMEOUT_MS;
	size_t len = 0;
	ssize_t ret;
	int fd;

	*op = "connect";
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect(2) on a UNIX socket waits while the backlog is full; bound it. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		goto out;
	}
	*op = "read";
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - show_now_ms();

		if (left <= 0) {
			ret = -ETIMEDOUT;
			goto out;
		}
		ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			ret = -errno;
			goto out;
		}
		if (!ret)
			continue; /* the deadline check above ends it */
		/* One byte more than fits tells "too long" from "just fits". */
		ret = read(fd, buf + len, size - len);
		if (ret < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (ret < 0) {
			ret = -errno;
			goto out;
		}
		if (!ret)
			break;
		len += (size_t)ret;
		if (len == size) {
			ret = -EMSGSIZE;
			goto out;
		}
	}
	ret = (ssize_t)len;
out:
	close(fd);
	return ret;
}

/* What show_one() found. */
#define SHOW_OK    0
#define SHOW_STALE 1 /* nobody serves the socket: reported only if asked */
#define SHOW_ERROR 2 /* any other failure, reported */

/*
 * Fetches and parses tunnel @name's status (socket NAME.sock in @dir) into
 * *@st.  Returns SHOW_OK (the caller releases *@st with status_cleanup()),
 * SHOW_STALE (a message too when @must) or SHOW_ERROR after printing why;
 * *@st holds no peers then.
 */
static int show_one(const char *dir, const char *name, bool must, struct status *st)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char err[256];
	const char *op;
	char *buf;
	ssize_t len;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, name, SHOW_SUFFIX) >=
	    sizeof(path)) {
		ctl_fail(-ENAMETOOLONG, NULL, "show %s: %s/%s%s", name, dir, name, SHOW_SUFFIX);
		return SHOW_ERROR;
	}
	/* One byte more than a document may have: show_fetch()'s "too long". */
	buf = malloc(STATUS_JSON_MAX + 1);
	if (!buf) {
		ctl_fail(-ENOMEM, NULL, "show %s", name);
		return SHOW_ERROR;
	}
	len = show_fetch(path, buf, STATUS_JSON_MAX + 1, &op);
	if (len == -ENOENT || len == -ECONNREFUSED) {
		/* A socket left by a culvertd that died, or one that just went. */
		if (must)
			fprintf(stderr, "%s: show %s: no culvertd is serving %s\n", CTL_PROG, name,
				path);
		ret = SHOW_STALE;
	} else if (len == -EACCES) {
		fprintf(stderr, "%s: show %s: %s %s: %s (need root or culvertd's user)\n", CTL_PROG,
			name, op, path, strerror(EACCES));
		ret = SHOW_ERROR;
	} else if (len == -EMSGSIZE) {
		fprintf(stderr, "%s: show %s: %s: status longer than %d bytes\n", CTL_PROG, name,
			path, STATUS_JSON_MAX);
		ret = SHOW_ERROR;
	} else if (len < 0) {
		ctl_fail((int)len, NULL, "show %s: %s %s", name, op, path);
		ret = SHOW_ERROR;
	} else if (status_from_json(buf, (size_t)len, st, err, sizeof(err))) {
		fprintf(stderr, "%s: show %s: %s: bad status document: %s\n", CTL_PROG, name, path,
			err);
		ret = SHOW_ERROR;
	} else {
		ret = SHOW_OK;
	}
	free(buf);
	return ret;
}

/* qsort(3) comparator for an array of strings. */
static int show_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Lists the tunnel names that have a socket in @dir, sorted, into *@names
 * (*@n of them; free each and the array).  A missing directory means no
 * tunnel.  Returns 0 or -errno.
 */
static int show_list(const char *dir, char ***names, size_t *n)
{
	size_t cap = 0, sfx = strlen(SHOW_SUFFIX);
	struct dirent *de;
	char **v = NULL, **nv;
	DIR *d;
	int ret = 0;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			ret = -errno;
			break;
		}
		len = strlen(de->d_name);
		if (de->d_type != DT_SOCK && de->d_type != DT_UNKNOWN)
			continue;
		if (len <= sfx || strcmp(de->d_name + len - sfx, SHOW_SUFFIX))
			continue;
		de->d_name[len - sfx] = '\0';
		if (!show_name_ok(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[*n] = strdup(de->d_name);
		if (!v[*n]) {
			ret = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), show_cmp);
	*names = v;
	return ret;
}

/* Prints @n documents of @sts as JSON: one object for a named tunnel, else an array. */
static int show_json(const struct status *sts, size_t n, bool one)
{
	char *json;
	int ret;

	ret = one ? status_to_json(sts, &json, true) : status_array_to_json(sts, n, &json, true);
	if (ret)
		return ctl_fail(ret, NULL, "show: render JSON");
	printf("%s\n", json);
	free(json);
	return CTL_EXIT_OK;
}

/* Prints @n documents of @sts as Prometheus metrics (lib/metrics.h):
 * every family once, every tunnel a label set. */
static int show_metrics(const struct status *sts, size_t n, enum metrics_format format)
{
	int ret = metrics_write(stdout, sts, n, (int64_t)time(NULL), format);

	return ret ? ctl_fail(ret, NULL, "show: write metrics") : CTL_EXIT_OK;
}

int show_main(int argc, char **argv)
{
	const char *dir = show_rundir(), *name = NULL;
	struct status *sts = NULL;
	size_t n_names = 0, n = 0, i;
	char **names = NULL;
	bool json = false, metrics = false;
	enum metrics_format format = METRICS_PROMETHEUS;
	int ret, status = CTL_EXIT_OK;

	for (i = 1; i < (size_t)argc; i++) {
		if (ctl_is_help(argv[i])) {
			show_usage(stdout);
			return CTL_EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--openmetrics") || !strcmp(argv[i], "--prometheus")) {
			metrics = true;
			format = argv[i][2] == 'o' ? METRICS_OPENMETRICS : METRICS_PROMETHEUS;
		} else if (argv[i][0] == '-') {
			return ctl_usage("show", "show: unknown option '%s'", argv[i]);
		} else if (name) {
			return ctl_usage("show", "show: unexpected '%s'", argv[i]);
		} else if (!show_name_ok(argv[i])) {
			return ctl_usage("show", "show: '%s' is not a tunnel name", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (json && metrics)
		return ctl_usage("show",
				 "show: --json and --openmetrics/--prometheus exclude each other");

	if (name) {
		struct status st;

		if (show_one(dir, name, true, &st))
			return CTL_EXIT_FAIL;
		if (metrics)
			status = show_metrics(&st, 1, format);
		else if (json)
			status = show_json(&st, 1, true);
		else if (status_print(stdout, &st))
			status = CTL_EXIT_FAIL;
		status_cleanup(&st);
		goto flush;
	}

	ret = show_list(dir, &names, &n_names);
	if (ret)
		status = ctl_fail(ret, NULL, "show: read directory %s", dir);
	if (n_names) {
		sts = calloc(n_names, sizeof(*sts));
		if (!sts) {
			status = ctl_fail(-ENOMEM, NULL, "show");
			goto out;
		}
	}
	for (i = 0; i < n_names; i++) {
		ret = show_one(dir, names[i], false, &sts[n]);
		if (ret == SHOW_ERROR)
			status = CTL_EXIT_FAIL;
		if (ret)
			continue;
		/* Text goes out as each daemon answers; JSON and metrics need
		 * them all. */
		if (!json && !metrics) {
			if (n)
				putchar('\n');
			if (status_print(stdout, &sts[n]))
				status = CTL_EXIT_FAIL;
		}
		n++;
	}
	/* No tunnel: no text at all (as wg show), but "[]" for a script. */
	if (json || metrics) {
		ret = metrics ? show_metrics(sts, n, format) : show_json(sts, n, false);
		if (ret)
			status = ret;
	}
out:
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	for (i = 0; i < n; i++)
		status_cleanup(&sts[i]);
	free(sts);
flush:
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		status = ctl_fail(errno ? -errno : -EIO, NULL, "show: write standard output");
	return status;
}
