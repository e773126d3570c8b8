/* SPDX-License-Identifier: MIT */
/*
 * `culvertctl show` end to end, unprivileged: fake daemons serve status
 * documents on UNIX sockets in a temporary directory named by
 * CULVERT_RUNDIR, and the real culvertctl binary (argv[1]) reads them.
 *
 *   $CULVERT_RUNDIR/
 *     tun0.sock     a sealed tunnel's document
 *     tun1.sock     a plain tunnel's document
 *     stale.sock    a socket nobody listens on (a dead culvertd's)
 *     notes.sock    a regular file, not a socket: ignored
 *   and, per test, bad.sock (garbage), mute.sock (accepts, never answers),
 *   huge.sock (more than STATUS_JSON_MAX bytes).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "status.h"
#include "check_run.h"

#define MAX_SERVED 8

static const char *culvertctl;
static char dir[64];
static pid_t server = -1;

/* One fake daemon: a listening socket and what it answers. */
static struct served {
	const char *name;
	int fd;
	char *doc; /* NULL: accept and say nothing, ever */
	size_t len;
} served[MAX_SERVED];
static size_t n_served;

/* Binds NAME.sock in the directory; returns the listening fd. */
static int listen_on(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir, name);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* Serves @doc (@len bytes; NULL for a mute daemon) on NAME.sock. */
static void serve(const char *name, char *doc, size_t len)
{
	ck_assert_uint_lt(n_served, MAX_SERVED);
	served[n_served++] = (struct served){name, listen_on(name), doc, len};
}

/* Serves @st's JSON on NAME.sock. */
static void serve_status(const char *name, const struct status *st)
{
	char *json;

	ck_assert_int_eq(status_to_json(st, &json, false), 0);
	serve(name, json, strlen(json));
}

/* Forks the process that answers every socket served so far, one
 * connection at a time, as culvertd does: write the document, close. */
static void start_server(void)
{
	server = fork();
	ck_assert_int_ge(server, 0);
	if (server)
		return;
	/* Gone with the test, even when an assertion ends it early. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd pfd[MAX_SERVED];
		size_t i;

		for (i = 0; i < n_served; i++)
			pfd[i] = (struct pollfd){.fd = served[i].fd, .events = POLLIN};
		if (poll(pfd, n_served, -1) < 0)
			_exit(1);
		for (i = 0; i < n_served; i++) {
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			c = accept(served[i].fd, NULL, NULL);
			if (c < 0)
				continue;
			/* Mute: the connection stays open, and nothing is said. */
			if (!served[i].doc)
				continue;
			/* A client that stops reading makes this fail: fine. */
			if (send(c, served[i].doc, served[i].len, MSG_NOSIGNAL) < 0)
				(void)0;
			close(c);
		}
	}
}

/* Appends a peer of @transport and @state to @st and returns it. */
static struct status_peer *add_peer(struct status *st, const char *transport, const char *state)
{
	struct status_peer *p;

	ck_assert_int_eq(status_add_peer(st, &p), 0);
	strcpy(p->transport, transport);
	strcpy(p->state, state);
	return p;
}

/* A sealed hub of three peers and a plain tunnel of one; the caller
 * releases it with status_cleanup(). */
static void sample(struct status *st, int which)
{
	struct status_peer *p;

	status_init(st);
	strcpy(st->mode, "tun");
	strcpy(st->local, "[::]:55555");
	st->pid = 100 + which;
	st->uptime = 61;
	if (which == 0) {
		strcpy(st->device, "tun0");
		strcpy(st->transport, "udp");
		st->sealed = true;
		st->listen = true;
		strcpy(st->public_key, "j7D8h3J+Qp0RyvIdH/8jMQnHqfV1gAoBJDKVR6xNtVI=");
		strcpy(st->state, "established");
		st->latest_handshake = 5;
		st->rx_bytes = 2048;
		ck_assert_int_eq(status_add_counter(st, "handshakes", 1), 0);
		p = add_peer(st, "udp", "established");
		strcpy(p->name, "branch-1");
		strcpy(p->public_key, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
		strcpy(p->endpoint, "198.18.0.2:47758");
		ck_assert_int_eq(status_peer_add_address(p, "198.18.1.0/24"), 0);
		p->latest_handshake = 5;
		p->rx_bytes = 2048;
		p->keepalive = 25;
		p = add_peer(st, "udp", "handshaking");
		strcpy(p->public_key, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=");
		strcpy(p->endpoint, "[2001:db8::3]:51820");
		ck_assert_int_eq(status_peer_add_address(p, "2001:db8:3::/48"), 0);
		p = add_peer(st, "udp", "no-peer");
		strcpy(p->public_key, "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
	} else {
		strcpy(st->device, "tun1");
		strcpy(st->transport, "tcp");
		strcpy(st->state, "connected");
		p = add_peer(st, "tcp", "connected");
		strcpy(p->endpoint, "198.18.0.1:55555");
		ck_assert_int_eq(status_peer_add_address(p, "0.0.0.0/0"), 0);
	}
	ck_assert_int_eq(status_add_drop(st, "bad_frame", 0), 0);
	ck_assert_int_eq(status_add_counter(st, "reconnects", 0), 0);
}

/* status_print() of tunnel @which, as a string the caller frees. */
static char *printed(int which)
{
	struct status st;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	sample(&st, which);
	ck_assert_int_eq(status_print(f, &st), 0);
	fclose(f);
	status_cleanup(&st);
	return text;
}

static void setup(void)
{
	struct status st;
	char path[128];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/culvert-show-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(setenv("CULVERT_RUNDIR", dir, 1), 0);
	n_served = 0;
	sample(&st, 1);
	serve_status("tun1", &st);
	status_cleanup(&st);
	sample(&st, 0);
	serve_status("tun0", &st);
	status_cleanup(&st);
	/* A dead daemon's socket: bound, then closed. */
	close(listen_on("stale"));
	snprintf(path, sizeof(path), "%s/notes.sock", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	char cmd[128];

	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Output of one run. */
struct run {
	int status;
	char *out, *err;
};

/* Reads the whole file @fd into a NUL-terminated string. */
static char *slurp(int fd)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, f);
	fclose(f);
	close(fd);
	return buf;
}

/* Runs culvertctl with the NULL-terminated arguments after "culvertctl". */
static struct run run(const char *arg, ...)
{
	char outp[] = "/tmp/culvert-show-out-XXXXXX", errp[] = "/tmp/culvert-show-err-XXXXXX";
	const char *argv[8] = {culvertctl};
	struct run r;
	int out = mkstemp(outp), err = mkstemp(errp), i = 1, wst;
	va_list ap;
	pid_t pid;

	ck_assert(out >= 0 && err >= 0);
	unlink(outp);
	unlink(errp);
	va_start(ap, arg);
	for (; arg && i < 7; arg = va_arg(ap, const char *))
		argv[i++] = arg;
	va_end(ap);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		dup2(out, 1);
		dup2(err, 2);
		execv(culvertctl, (char **)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
	ck_assert(WIFEXITED(wst));
	r.status = WEXITSTATUS(wst);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

START_TEST(test_all_sorted)
{
	struct run r;
	char *t0 = printed(0), *t1 = printed(1), *want;

	start_server();
	r = run("show", NULL);
	ck_assert_int_eq(asprintf(&want, "%s\n%s", t0, t1), (int)(strlen(t0) + strlen(t1) + 1));
	ck_assert_str_eq(r.err, "");
	ck_assert_str_eq(r.out, want);
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	free(want);
	free(t0);
	free(t1);
}
END_TEST

START_TEST(test_one)
{
	struct run r;
	char *t1 = printed(1);

	start_server();
	r = run("show", "tun1", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, t1);
	ck_assert_str_eq(r.err, "");
	/* A plain peer is named by its endpoint. */
	ck_assert_ptr_nonnull(strstr(r.out, "\n\npeer: 198.18.0.1:55555\n  transport: tcp\n"));
	run_free(&r);
	free(t1);
}
END_TEST

/* A hub's peers follow its interface, each as wg show prints one. */
START_TEST(test_peers)
{
	struct run r;
	char *t0 = printed(0);
	const char *a, *b, *c;

	start_server();
	r = run("show", "tun0", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, t0);
	a = strstr(r.out, "\n\npeer: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
			  "  name: branch-1\n"
			  "  endpoint: 198.18.0.2:47758\n"
			  "  transport: udp\n"
			  "  state: established\n"
			  "  allowed ips: 198.18.1.0/24\n"
			  "  latest handshake: 5 seconds ago\n"
			  "  transfer: 2.00 KiB received, 0 B sent  (rx 0 packets, tx 0 packets)\n"
			  "  persistent keepalive: every 25 seconds\n");
	b = strstr(r.out, "\n\npeer: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\n");
	c = strstr(r.out, "\n\npeer: HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert(a < b && b < c);
	run_free(&r);
	free(t0);
}
END_TEST

START_TEST(test_json)
{
	struct status want, got;
	char err[256];
	struct run r;
	size_t len;

	start_server();
	r = run("show", "tun0", "--json", NULL);
	ck_assert_int_eq(r.status, 0);
	len = strlen(r.out);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(r.out[len - 1], '\n');
	ck_assert_int_eq(status_from_json(r.out, len, &got, err, sizeof(err)), 0);
	sample(&want, 0);
	ck_assert_str_eq(got.public_key, want.public_key);
	ck_assert_uint_eq(got.rx_bytes, 2048);
	/* Every peer, in order. */
	ck_assert_uint_eq(got.n_peers, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_eq(got.peers[i].public_key, want.peers[i].public_key);
	ck_assert_str_eq(got.peers[0].name, "branch-1");
	ck_assert_str_eq(got.peers[1].addresses[0], "2001:db8:3::/48");
	ck_assert_uint_eq(got.peers[0].keepalive, 25);
	status_cleanup(&got);
	status_cleanup(&want);
	run_free(&r);

	r = run("show", "--json", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.out[0], '[');
	/* Both, in order, as an array. */
	ck_assert_ptr_nonnull(strstr(r.out, "\"tun0\""));
	ck_assert_ptr_nonnull(strstr(r.out, "\"tun1\""));
	ck_assert(strstr(r.out, "\"tun0\"") < strstr(r.out, "\"tun1\""));
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

START_TEST(test_stale_named)
{
	char want[256];
	struct run r;

	start_server();
	r = run("show", "stale", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	snprintf(want, sizeof(want),
		 "culvertctl: show stale: no culvertd is serving %s/stale.sock\n", dir);
	ck_assert_str_eq(r.err, want);
	run_free(&r);
	r = run("show", "nothere", "--json", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_nonnull(strstr(r.err, "no culvertd is serving"));
	run_free(&r);
}
END_TEST

START_TEST(test_no_tunnels)
{
	struct run r;
	char sub[128];

	/* An empty directory, then none at all. */
	snprintf(sub, sizeof(sub), "%s/empty", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	setenv("CULVERT_RUNDIR", sub, 1);
	r = run("show", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
	r = run("show", "--json", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "[]\n");
	run_free(&r);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	setenv("CULVERT_RUNDIR", sub, 1);
	r = run("show", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

START_TEST(test_bad_daemons)
{
	char *t0 = printed(0), *t1 = printed(1), *want, *huge;
	struct run r;
	char *bad = strdup("{\"version\":2,\"device\":7}");
	char *old = strdup("{\"version\":1,\"device\":\"tun0\"}");
	char longer[64];

	serve("bad", bad, strlen(bad));
	serve("old", old, strlen(old));
	huge = malloc(STATUS_JSON_MAX + 100);
	memset(huge, ' ', STATUS_JSON_MAX + 100);
	serve("huge", huge, STATUS_JSON_MAX + 100);
	start_server();
	r = run("show", "bad", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_nonnull(strstr(r.err, "bad status document: device: int, want string"));
	run_free(&r);
	r = run("show", "huge", NULL);
	ck_assert_int_eq(r.status, 1);
	snprintf(longer, sizeof(longer), "status longer than %d bytes", STATUS_JSON_MAX);
	ck_assert_ptr_nonnull(strstr(r.err, longer));
	run_free(&r);
	/* A daemon of the one-peer schema: culvertd and culvertctl are one build. */
	r = run("show", "old", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "bad status document: version 1, want 2"));
	run_free(&r);
	/* Without NAME the good ones are still shown, but the exit says 1. */
	r = run("show", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_int_eq(asprintf(&want, "%s\n%s", t0, t1), (int)(strlen(t0) + strlen(t1) + 1));
	ck_assert_str_eq(r.out, want);
	ck_assert_ptr_nonnull(strstr(r.err, "show bad:"));
	ck_assert_ptr_nonnull(strstr(r.err, "show huge:"));
	ck_assert_ptr_null(strstr(r.err, "stale"));
	run_free(&r);
	free(want);
	free(t0);
	free(t1);
}
END_TEST

START_TEST(test_mute_daemon_times_out)
{
	struct run r;

	serve("mute", NULL, 0);
	start_server();
	r = run("show", "mute", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "show mute: read "));
	ck_assert_ptr_nonnull(strstr(r.err, strerror(ETIMEDOUT)));
	run_free(&r);
}
END_TEST

START_TEST(test_usage)
{
	struct run r;

	r = run("show", "tun0", "tun1", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
	r = run("show", "--yaml", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
	r = run("show", "../etc/x", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
	r = run("-n", "foo", "show", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "-n does not apply to 'show'"));
	run_free(&r);
	r = run("show", "help", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
			 "Usage: culvertctl show [NAME] [--json | --openmetrics | --prometheus]\n");
	run_free(&r);
	r = run("show", "--json", "--prometheus", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
}
END_TEST

/* @text without its timestamp lines (they depend on the second the run
 * took), as a malloc'd string; *@stamps counts the lines taken out. */
static char *without_stamps(const char *text, int *stamps)
{
	char *out = calloc(1, strlen(text) + 1), *o = out;
	const char *p = text;

	ck_assert_ptr_nonnull(out);
	*stamps = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (!strncmp(p, "culvert_start_time_seconds{", 27) ||
		    !strncmp(p, "culvert_latest_handshake_timestamp_seconds{", 43) ||
		    !strncmp(p, "culvert_peer_latest_handshake_timestamp_seconds{", 48)) {
			(*stamps)++;
		} else {
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	return out;
}

/* --prometheus and --openmetrics: every tunnel in one exposition, exactly
 * what lib/metrics.c writes for the same documents (culvertd's endpoint
 * prints the same); a named tunnel alone. */
START_TEST(test_metrics)
{
	const enum metrics_format formats[] = {METRICS_PROMETHEUS, METRICS_OPENMETRICS};
	const char *options[] = {"--prometheus", "--openmetrics"};
	struct status sts[2];
	int i, stamps, want_stamps;

	sample(&sts[0], 0);
	sample(&sts[1], 1);
	start_server();
	for (i = 0; i < 2; i++) {
		char *want, *got, *text;
		struct run r;
		size_t len;

		ck_assert_int_eq(metrics_render(sts, 2, 1796104800, formats[i], &text, &len), 0);
		want = without_stamps(text, &want_stamps);
		free(text);
		r = run("show", options[i], NULL);
		ck_assert_int_eq(r.status, 0);
		ck_assert_str_eq(r.err, "");
		got = without_stamps(r.out, &stamps);
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(stamps, want_stamps);
		ck_assert_int_eq(stamps, 6); /* 2 starts, 1 + 3 handshakes */
		free(want);
		free(got);
		run_free(&r);

		ck_assert_int_eq(metrics_render(sts + 1, 1, 1796104800, formats[i], &text, &len),
				 0);
		want = without_stamps(text, &want_stamps);
		free(text);
		r = run("show", "tun1", options[i], NULL);
		ck_assert_int_eq(r.status, 0);
		got = without_stamps(r.out, &stamps);
		ck_assert_str_eq(got, want);
		ck_assert_int_eq(stamps, 1);
		free(want);
		free(got);
		run_free(&r);
	}
	status_cleanup(&sts[0]);
	status_cleanup(&sts[1]);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-CULVERTCTL\n", argv[0]);
		return 2;
	}
	culvertctl = argv[1];

	Suite *s = suite_create("show");
	TCase *tc = tcase_create("show");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_all_sorted);
	tcase_add_test(tc, test_one);
	tcase_add_test(tc, test_peers);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_stale_named);
	tcase_add_test(tc, test_no_tunnels);
	tcase_add_test(tc, test_bad_daemons);
	tcase_add_test(tc, test_mute_daemon_times_out);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);
	return check_run(s);
}
