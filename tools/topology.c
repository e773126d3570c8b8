/* SPDX-License-Identifier: MIT */
/*
 * culvertctl topology up|down|show FILE: makes a lab of namespaces, links,
 * addresses, routes, forwarding, NAT rules and processes from one file
 * (lib/topology.h, doc/topology.md), records everything it made in a
 * journal under $CULVERT_RUNDIR/topology/NAME (default
 * /run/culvert/topology/NAME), and removes exactly that again.
 *
 * The journal is a text file, one line per thing made, written as soon as
 * it is made, so that `down` undoes a failed `up` as well:
 *   netns NS | link NS DEV | addr NS DEV ADDR/LEN | route NS ROUTE |
 *   forward NS OLD4 OLD6 | nat NS WORDS... | proc NAME PID STARTTIME
 * `down` works through it backwards.  Things that already existed are
 * used, never recorded, so never removed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "nat.h"
#include "netlink.h"
#include "netns.h"
#include "topology.h"
#include "tun.h"

/* How long a tunnel may take to say READY=1, and how long an [exec] must
 * stay up to count as started, ms. */
#define TOPO_READY_MS  15000
#define TOPO_SETTLE_MS 300
#define TOPO_STOP_MS   5000
#define TOPO_JOURNAL   "made"
#define TOPO_LINE_MAX  4096

/* One run of a verb: the file, its parse, where its state lives. */
struct topo {
	const char *path;
	char dir[PATH_MAX]; /* the file's directory: processes run there */
	const char *prefix; /* --prefix: added to every namespace name */
	struct topology t;
	char state[PATH_MAX]; /* the state directory */
	FILE *journal;        /* open for append during up */
	/* The journal's lines (down, show), and whether each is undone. */
	char **lines;
	unsigned n_lines;
};

void topology_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s topology { up | down | show } FILE [--prefix PREFIX]\n"
		"       (up: make what FILE declares, idempotent; down: remove exactly what\n"
		"       up made; show: the state, and what is missing.  --prefix: put\n"
		"       PREFIX before every namespace name)\n",
		CTL_PROG);
}

/* Formats a path or a line into @buf (@len bytes), cut if it must be (the
 * paths here are far below PATH_MAX unless $CULVERT_RUNDIR is). */
static void __attribute__((format(printf, 3, 4)))
topo_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Prints "culvertctl: topology NAME: ..." to stderr. */
static void __attribute__((format(printf, 2, 3)))
topo_warn(const struct topo *tp, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: topology %s: ", CTL_PROG, tp->t.name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The full name of namespace @name (the prefix added) into @buf. */
static const char *topo_ns(const struct topo *tp, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", tp->prefix ? tp->prefix : "", name);
	return buf;
}

/* Appends one line to the journal, at once on disk. */
static void __attribute__((format(printf, 2, 3)))
topo_journal(struct topo *tp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(tp->journal, fmt, ap);
	va_end(ap);
	fputc('\n', tp->journal);
	fflush(tp->journal);
	fsync(fileno(tp->journal));
}

/* What topo_in_ns() runs: @fn(@arg) inside namespace @ns. */
struct topo_call {
	int (*fn)(void *arg);
	void *arg;
};

/* Does the named namespace (or nsfs path) @ns exist? */
static bool topo_ns_exists(const char *ns)
{
	char path[PATH_MAX];

	return netns_path(ns, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* Runs @fn(@arg) inside the named namespace @ns (netns_run_in()).
 * Returns what @fn returned, or -errno (the namespace is missing). */
static int topo_in_ns(const char *ns, int (*fn)(void *arg), void *arg)
{
	int fd = netns_open(ns), rc;

	if (fd < 0)
		return fd;
	rc = netns_run_in(fd, fn, arg);
	close(fd);
	return rc;
}

/* Formats @a as ADDR/LEN into @buf. */
static const char *topo_addr_str(const struct topology_addr *a, bool with_len, char *buf,
				 size_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->addr, s, sizeof(s));
	if (with_len)
		snprintf(buf, len, "%s/%u", s, a->plen);
	else
		snprintf(buf, len, "%s", s);
	return buf;
}

/* Formats @r as topology_parse_route() reads it. */
static const char *topo_route_str(const struct topology_route *r, char *buf, size_t len)
{
	char dst[INET6_ADDRSTRLEN + 8], via[INET6_ADDRSTRLEN + 8];

	if (r->dst.plen == 0)
		snprintf(dst, sizeof(dst), "default");
	else
		topo_addr_str(&r->dst, true, dst, sizeof(dst));
	snprintf(buf, len, "%s%s%s%s%s", dst, r->has_via ? " via " : "",
		 r->has_via ? topo_addr_str(&r->via, false, via, sizeof(via)) : "",
		 r->dev[0] ? " dev " : "", r->dev);
	return buf;
}

/* ---- namespace-side operations (run inside the namespace) -------------- */

/* One link to make or change, or an address or route; see topo_link_cb(). */
struct topo_op {
	const struct topology_link *link;
	int peer_ns_fd; /* veth: the far end's namespace, -1: the same */
	const struct topology_addr *addr;
	const struct topology_route *route;
	bool add;
	bool made; /* out: the operation made something */
	char extack[NL_EXTACK_LEN];
};

/* Makes @op->link unless it exists. */
static int topo_link_make_cb(void *arg)
{
	struct topo_op *op = arg;
	const struct topology_link *l = op->link;
	struct nl_handle nl;
	int rc;

	if (if_nametoindex(l->name))
		return 0;
	if (l->type == TOPOLOGY_LINK_TUN || l->type == TOPOLOGY_LINK_TAP) {
		rc = tun_create_persistent(
		    l->name, l->type == TOPOLOGY_LINK_TAP ? TUN_MODE_TAP : TUN_MODE_TUN,
		    TUN_NO_OWNER, TUN_NO_OWNER);
	} else {
		rc = nl_open(&nl, op->extack, sizeof(op->extack));
		if (rc < 0)
			return rc;
		if (l->type == TOPOLOGY_LINK_VETH)
			rc = nl_link_add_veth(&nl, l->name, l->peer, op->peer_ns_fd);
		else
			rc = nl_link_add(&nl, l->name, "bridge");
		nl_close(&nl);
	}
	op->made = rc == 0;
	return rc;
}

/* Sets @op->link's master, MTU and state (lo comes up in every namespace). */
static int topo_link_set_cb(void *arg)
{
	struct topo_op *op = arg;
	const struct topology_link *l = op->link;
	struct nl_link_change c;
	struct nl_handle nl;
	int rc = nl_open(&nl, op->extack, sizeof(op->extack));

	if (rc < 0)
		return rc;
	nl_link_change_init(&c);
	if (!l) {
		c.flags = c.flags_mask = IFF_UP;
		rc = nl_link_set(&nl, "lo", &c);
		nl_close(&nl);
		return rc;
	}
	if (l->master[0]) {
		c.master = (int)if_nametoindex(l->master);
		if (!c.master) {
			nl_close(&nl);
			return -ENODEV;
		}
	}
	if (l->mtu)
		c.mtu = l->mtu;
	if (l->up) {
		c.flags = IFF_UP;
		c.flags_mask = IFF_UP;
	}
	rc = nl_link_set(&nl, l->name, &c);
	nl_close(&nl);
	return rc;
}

/* Adds or deletes @op->addr on @op->link (-EEXIST: already there). */
static int topo_addr_cb(void *arg)
{
	struct topo_op *op = arg;
	int ifindex = (int)if_nametoindex(op->link->name);
	struct nl_handle nl;
	int rc;

	if (!ifindex)
		return -ENODEV;
	rc = nl_open(&nl, op->extack, sizeof(op->extack));
	if (rc < 0)
		return rc;
	rc =
	    nl_addr_change(&nl, op->add, ifindex, op->addr->family, op->addr->addr, op->addr->plen);
	nl_close(&nl);
	op->made = op->add && rc == 0;
	return rc;
}

/* Adds or deletes @op->route (-EEXIST: already there). */
static int topo_route_cb(void *arg)
{
	struct topo_op *op = arg;
	const struct topology_route *r = op->route;
	struct nl_route nr = {.family = r->dst.family, .dst_len = r->dst.plen};
	struct nl_handle nl;
	int rc;

	memcpy(nr.dst, r->dst.addr, sizeof(r->dst.addr));
	if (r->has_via) {
		nr.has_gateway = 1;
		memcpy(nr.gateway, r->via.addr, sizeof(r->via.addr));
	}
	if (r->dev[0]) {
		nr.oif = (int)if_nametoindex(r->dev);
		if (!nr.oif)
			return -ENODEV;
	}
	rc = nl_open(&nl, op->extack, sizeof(op->extack));
	if (rc < 0)
		return rc;
	rc = nl_route_change(&nl, op->add, &nr);
	nl_close(&nl);
	op->made = op->add && rc == 0;
	return rc;
}

/* Deletes link @arg (a name), a persistent TUN/TAP one too. */
static int topo_link_del_cb(void *arg)
{
	const char *name = arg;
	struct nl_handle nl;
	int rc = nl_open(&nl, NULL, 0);

	if (rc < 0)
		return rc;
	rc = nl_link_del(&nl, name);
	nl_close(&nl);
	if (rc == -EOPNOTSUPP)
		rc = tun_delete_persistent(name);
	return rc;
}

/* /proc/sys/net knobs: IPv4 and IPv6 forwarding. */
static const char *const topo_forward_knobs[2] = {
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
};

/* Reads (@set < 0) or writes the forwarding knobs; @vals in and out. */
struct topo_forward {
	int vals[2];
	bool write;
};

static int topo_forward_cb(void *arg)
{
	struct topo_forward *f = arg;

	for (int i = 0; i < 2; i++) {
		int fd = open(topo_forward_knobs[i],
			      f->write ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
		char c = '0';

		if (fd < 0)
			return -errno;
		if (f->write) {
			c = f->vals[i] ? '1' : '0';
			if (write(fd, &c, 1) != 1) {
				int rc = -errno;

				close(fd);
				return rc;
			}
		} else if (read(fd, &c, 1) == 1) {
			f->vals[i] = c != '0';
		}
		close(fd);
	}
	return 0;
}

/* A NAT rule to add (-EEXIST: there already), delete or look for. */
struct topo_nat {
	struct nat_rule rule;
	int what; /* 1 add, 0 del, 2 exists */
	char err[256];
};

static int topo_nat_cb(void *arg)
{
	struct topo_nat *n = arg;

	if (n->what == 1)
		return nat_rule_add(&n->rule, n->err, sizeof(n->err));
	if (n->what == 0)
		return nat_rule_del(&n->rule, n->err, sizeof(n->err));
	return nat_rule_exists(&n->rule, n->err, sizeof(n->err));
}

/* ---- processes ---------------------------------------------------------- */

/* The start time of process @pid (/proc/PID/stat field 22, clock ticks
 * since boot), which tells it from a later process with the same PID; 0
 * when there is no such process (or it is a zombie). */
static unsigned long long topo_starttime(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	topo_fmt(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold anything, ')' too: the last one ends it. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z')
		return 0;
	p += 2; /* field 3, the state */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

/* Starts [exec]/[tunnel] @pr in its namespace, the state directory's
 * NAME.log as its output; a tunnel with NOTIFY_SOCKET set to @notify.
 * Returns the PID or -errno. */
static long topo_spawn(const struct topo *tp, const struct topology_proc *pr, const char *notify)
{
	char ns[TOPOLOGY_NAME_MAX * 2 + 2], devns[TOPOLOGY_NAME_MAX * 2 + 2], log[PATH_MAX],
	    culvertd[PATH_MAX];
	char **argv;
	unsigned n = 0;
	pid_t pid;
	int fd;

	topo_ns(tp, tp->t.netns[pr->netns].name, ns, sizeof(ns));
	topo_fmt(log, sizeof(log), "%s/%s.log", tp->state, pr->name);
	if (pr->tunnel && ctl_find_culvertd("topology", culvertd) < 0)
		return -ENOENT;
	argv = calloc(pr->n_words + 6, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	if (pr->tunnel) {
		argv[n++] = culvertd;
		if (pr->config) {
			argv[n++] = (char *)"-c";
			argv[n++] = pr->config;
		}
		if (pr->device_netns >= 0) {
			argv[n++] = (char *)"--netns";
			argv[n++] = (char *)topo_ns(tp, tp->t.netns[pr->device_netns].name, devns,
						    sizeof(devns));
		}
	}
	for (unsigned i = 0; i < pr->n_words; i++)
		argv[n++] = pr->words[i];
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(argv);
		return -errno;
	}
	if (pid == 0) {
		/* The child: a session of its own (no signal of ours reaches
		 * it), inside the namespace as `ip netns exec` puts it. */
		setsid();
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			_exit(126);
		if (netns_switch(ns) < 0) {
			fprintf(stderr, "culvertctl topology: cannot enter netns %s\n", ns);
			_exit(126);
		}
		if (chdir(tp->dir) < 0)
			_exit(126);
		if (notify)
			setenv("NOTIFY_SOCKET", notify, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		execvp(argv[0], argv);
		fprintf(stderr, "culvertctl topology: exec %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	free(argv);
	return pid;
}

/* Milliseconds on the monotonic clock. */
static long long topo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes into @out (@len bytes) @why and the last line of process
 * @name's log, and where the log is. */
static void topo_log_tail(const struct topo *tp, const char *name, const char *why, char *out,
			  size_t len)
{
	char path[PATH_MAX], line[512], last[512] = "";
	FILE *f;

	topo_fmt(path, sizeof(path), "%s/%s.log", tp->state, name);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(last, sizeof(last), "%s", line);
	if (f)
		fclose(f);
	last[strcspn(last, "\n")] = '\0';
	topo_fmt(out, len, "%s%s%s (log: %s)", why, last[0] ? ": " : "", last, path);
}

/*
 * Is a socket of @proto (IPPROTO_TCP: listening; IPPROTO_UDP: bound) on
 * local port @port in the network namespace of process @pid?  Reads
 * /proc/PID/net/{tcp,tcp6} or {udp,udp6} (proc(5)), which show PID's
 * namespace: after a header, one socket a line, "SL: LOCAL:PORT REMOTE:PORT
 * ST ...", the port and the state (0A: LISTEN) in hex.
 */
static bool topo_listening(pid_t pid, int proto, unsigned port)
{
	static const char *const files[2][2] = {{"tcp", "tcp6"}, {"udp", "udp6"}};
	bool udp = proto == IPPROTO_UDP;

	for (unsigned i = 0; i < 2; i++) {
		char path[64], line[512];
		bool found = false;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%ld/net/%s", (long)pid, files[udp][i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f)) {
			unsigned lport, st;

			if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport,
				   &st) == 2 &&
			    lport == port && (udp || st == 0x0A))
				found = true;
		}
		fclose(f);
		if (found)
			return true;
	}
	return false;
}

/*
 * Waits for process @pid (our child) to be ready: a tunnel until it sends
 * READY=1 on @notify_fd; an [exec] with ready = until it listens there
 * (topo_listening()), at most its ready_secs; any other [exec] until it
 * has run TOPO_SETTLE_MS without exiting.  Returns 0, or with why in @why
 * (@len bytes) -1 when it exited or never said READY=1, -2 when it never
 * listened.
 */
static int topo_wait_ready(const struct topo *tp, const struct topology_proc *pr, pid_t pid,
			   int notify_fd, char *why, size_t len)
{
	long long deadline = topo_now_ms() + (notify_fd >= 0    ? TOPO_READY_MS
					      : pr->ready_proto ? (long long)pr->ready_secs * 1000
								: TOPO_SETTLE_MS);
	char how[96];
	int status;

	for (;;) {
		long long left = deadline - topo_now_ms();
		struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};

		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (WIFEXITED(status))
				snprintf(how, sizeof(how), "exited with status %d",
					 WEXITSTATUS(status));
			else
				snprintf(how, sizeof(how), "was killed by signal %d",
					 WTERMSIG(status));
			topo_log_tail(tp, pr->name, how, why, len);
			return -1;
		}
		if (pr->ready_proto && topo_listening(pid, pr->ready_proto, pr->ready_port))
			return 0;
		if (left <= 0)
			break;
		if (poll(&pfd, notify_fd >= 0 ? 1 : 0, left < 50 ? (int)left : 50) > 0 &&
		    ctl_notify_ready(notify_fd))
			return 0;
	}
	if (pr->ready_proto) {
		snprintf(how, sizeof(how), "did not %s on %s port %u within %u s",
			 pr->ready_proto == IPPROTO_TCP ? "listen" : "bind",
			 pr->ready_proto == IPPROTO_TCP ? "tcp" : "udp", pr->ready_port,
			 pr->ready_secs);
		topo_log_tail(tp, pr->name, how, why, len);
		return -2;
	}
	if (notify_fd < 0)
		return 0; /* still running: started */
	topo_log_tail(tp, pr->name, "culvertd did not say READY=1 within 15 s", why, len);
	return -1;
}

/* Is [exec]/[tunnel] @name running as the journal says?  Its PID, or 0. */
static long topo_running(const struct topo *tp, const char *name)
{
	long found = 0;

	for (unsigned i = 0; i < tp->n_lines; i++) {
		char what[16], n[TOPOLOGY_NAME_MAX + 1];
		long pid;
		unsigned long long start;

		if (sscanf(tp->lines[i], "%15s %63s %ld %llu", what, n, &pid, &start) == 4 &&
		    !strcmp(what, "proc") && !strcmp(n, name))
			found = topo_starttime(pid) == start && start ? pid : 0;
	}
	return found;
}

/* netns_run_in() callback: ctl_notify_open(@arg). */
static int topo_notify_cb(void *arg)
{
	return ctl_notify_open(arg);
}

/*
 * Makes the socket a tunnel says READY=1 on: an abstract one,
 * "@culvert-topology-PID-NAME", in the namespace @ns the tunnel runs in, so
 * culvertd reaches it whatever user it has become.  Returns the fd (the
 * NOTIFY_SOCKET value in @env) or -errno (then there is no waiting for it).
 */
static int topo_notify_open(const char *ns, const char *name, char *env, size_t len)
{
	snprintf(env, len, "@culvert-topology-%ld-%s", (long)getpid(), name);
	return topo_in_ns(ns, topo_notify_cb, env);
}

/* ---- state -------------------------------------------------------------- */

/* Reads the journal into tp->lines (none when there is none). */
static int topo_read_journal(struct topo *tp)
{
	char path[PATH_MAX], line[TOPO_LINE_MAX];
	FILE *f;

	topo_fmt(path, sizeof(path), "%s/%s", tp->state, TOPO_JOURNAL);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char **grown = realloc(tp->lines, (tp->n_lines + 1) * sizeof(*tp->lines));

		line[strcspn(line, "\n")] = '\0';
		if (!grown || !(grown[tp->n_lines] = strdup(line))) {
			if (grown)
				tp->lines = grown;
			fclose(f);
			return -ENOMEM;
		}
		tp->lines = grown;
		tp->n_lines++;
	}
	fclose(f);
	return 0;
}

/* Does the journal hold exactly @line? */
static bool topo_journal_has(const struct topo *tp, const char *line)
{
	for (unsigned i = 0; i < tp->n_lines; i++)
		if (!strcmp(tp->lines[i], line))
			return true;
	return false;
}

/* Is @path a directory (not a symlink) that belongs to us and that no one
 * else may write? */
static bool topo_trusted(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* Sets up tp->state: $CULVERT_RUNDIR (default CULVERT_RUNSTATEDIR)
 * /topology/NAME; with @make, makes it and opens the journal. */
static int topo_state(struct topo *tp, bool make)
{
	const char *run = getenv("CULVERT_RUNDIR");
	char path[PATH_MAX];
	int fd;

	if (!run || !*run)
		run = CULVERT_RUNSTATEDIR;
	topo_fmt(path, sizeof(path), "%s/topology", run);
	topo_fmt(tp->state, sizeof(tp->state), "%s/%s%s", path, tp->prefix ? tp->prefix : "",
		 tp->t.name);
	if (make) {
		struct stat st;

		if ((mkdir(run, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(path, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(tp->state, 0755) < 0 && errno != EEXIST))
			return -errno;
		/* down acts on what the journal says: only a journal nobody
		 * else could have written is believed. */
		if (!topo_trusted(path) || !topo_trusted(tp->state)) {
			topo_warn(tp, "%s or %s is not a directory of ours that only we may write",
				  path, tp->state);
			return -EPERM;
		}
		topo_fmt(path, sizeof(path), "%s/%s", tp->state, TOPO_JOURNAL);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & (S_IWGRP | S_IWOTH))) {
			close(fd);
			topo_warn(tp, "%s is not a file of ours that only we may write", path);
			return -EPERM;
		}
		/* One up or down at a time. */
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return -errno;
		}
		tp->journal = fdopen(fd, "a");
		if (!tp->journal) {
			close(fd);
			return -ENOMEM;
		}
	}
	return topo_read_journal(tp);
}

/* ---- up ------------------------------------------------------------------ */

/* Has veth @l's far end a [link] section of its own? */
static bool topo_has_section(const struct topology *t, const struct topology_link *l)
{
	for (unsigned i = 0; i < t->n_links; i++)
		if (t->links[i].netns == l->peer_netns && !strcmp(t->links[i].name, l->peer))
			return true;
	return false;
}

/* Checks what the parser leaves to this tool: the NAT rules' words.  Returns
 * 0 or -1 after printing FILE:LINE: reason. */
static int topo_check_nat(const struct topo *tp)
{
	for (unsigned i = 0; i < tp->t.n_netns; i++)
		for (unsigned k = 0; k < tp->t.netns[i].n_nats; k++) {
			const struct topology_nat *n = &tp->t.netns[i].nats[k];
			struct nat_rule r;
			char err[256];

			if (nat_rule_parse((int)n->n_words, n->words, &r, err, sizeof(err)) < 0) {
				fprintf(stderr, "%s: %s:%u: nat: %s\n", CTL_PROG, tp->path, n->line,
					err);
				return -1;
			}
		}
	return 0;
}

/* Reports a failed step of up, "FILE:LINE: what: reason". */
static int topo_up_fail(const struct topo *tp, unsigned line, int rc, const char *extack,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int topo_up_fail(const struct topo *tp, unsigned line, int rc, const char *extack,
			const char *fmt, ...)
{
	char what[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s:%u: %s%s%s%s%s%s\n", CTL_PROG, tp->path, line, what, rc ? ": " : "",
		rc ? strerror(-rc) : "", extack && extack[0] ? " (kernel: " : "",
		extack && extack[0] ? extack : "", extack && extack[0] ? ")" : "");
	fprintf(stderr, "%s: topology %s: `%s topology down %s%s%s` removes what was made\n",
		CTL_PROG, tp->t.name, CTL_PROG, tp->path, tp->prefix ? " --prefix " : "",
		tp->prefix ? tp->prefix : "");
	return CTL_EXIT_FAIL;
}

static int topo_up(struct topo *tp)
{
	const struct topology *t = &tp->t;
	char ns[TOPOLOGY_NAME_MAX * 2 + 2], buf[512], line[TOPO_LINE_MAX];
	unsigned made = 0, i, k;
	int rc;

	if (topo_check_nat(tp) < 0)
		return CTL_EXIT_USAGE;
	rc = topo_state(tp, true);
	if (rc < 0)
		return ctl_fail(rc, NULL, "topology %s: state in %s", t->name, tp->state);

	/* Namespaces, with lo up. */
	for (i = 0; i < t->n_netns; i++) {
		topo_ns(tp, t->netns[i].name, ns, sizeof(ns));
		if (!topo_ns_exists(ns)) {
			rc = netns_add(ns);
			if (rc < 0)
				return topo_up_fail(tp, t->netns[i].line, rc, NULL, "netns add %s",
						    ns);
			topo_journal(tp, "netns %s", ns);
			made++;
		}
		struct topo_op op = {0};

		rc = topo_in_ns(ns, topo_link_set_cb, &op);
		if (rc < 0)
			return topo_up_fail(tp, t->netns[i].line, rc, op.extack, "netns %s: lo up",
					    ns);
	}
	/* Links: made first, then enslaved, sized and set up. */
	for (i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i];
		struct topo_op op = {.link = l, .peer_ns_fd = -1};
		char pns[sizeof(ns)];

		if (l->type == TOPOLOGY_LINK_PEER)
			continue;
		topo_ns(tp, t->netns[l->netns].name, ns, sizeof(ns));
		if (l->type == TOPOLOGY_LINK_VETH && l->peer_netns != l->netns) {
			op.peer_ns_fd =
			    netns_open(topo_ns(tp, t->netns[l->peer_netns].name, pns, sizeof(pns)));
			if (op.peer_ns_fd < 0)
				return topo_up_fail(tp, l->peer_netns_line, op.peer_ns_fd, NULL,
						    "netns %s", pns);
		}
		rc = topo_in_ns(ns, topo_link_make_cb, &op);
		if (op.peer_ns_fd >= 0)
			close(op.peer_ns_fd);
		if (rc < 0)
			return topo_up_fail(tp, l->line, rc, op.extack, "link add %s in netns %s",
					    l->name, ns);
		if (op.made) {
			topo_journal(tp, "link %s %s", ns, l->name);
			made++;
		}
	}
	for (i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i];
		struct topo_op op = {.link = l, .peer_ns_fd = -1};

		topo_ns(tp, t->netns[l->netns].name, ns, sizeof(ns));
		rc = topo_in_ns(ns, topo_link_set_cb, &op);
		if (rc < 0)
			return topo_up_fail(tp, l->line, rc, op.extack, "link set %s in netns %s",
					    l->name, ns);
		/* A veth's far end without a section of its own comes up
		 * with it, as `ip link add ... type veth` users expect. */
		if (l->type == TOPOLOGY_LINK_VETH && l->up && !topo_has_section(t, l)) {
			struct topology_link far = {.up = true};

			snprintf(far.name, sizeof(far.name), "%s", l->peer);
			op.link = &far;
			topo_ns(tp, t->netns[l->peer_netns].name, ns, sizeof(ns));
			rc = topo_in_ns(ns, topo_link_set_cb, &op);
			if (rc < 0)
				return topo_up_fail(tp, l->line, rc, op.extack,
						    "link set %s in netns %s up", far.name, ns);
		}
	}
	/* Addresses. */
	for (i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i];

		topo_ns(tp, t->netns[l->netns].name, ns, sizeof(ns));
		for (k = 0; k < l->n_addrs; k++) {
			struct topo_op op = {.link = l, .addr = &l->addrs[k], .add = true};

			rc = topo_in_ns(ns, topo_addr_cb, &op);
			if (rc < 0 && rc != -EEXIST)
				return topo_up_fail(
				    tp, l->addrs[k].line, rc, op.extack,
				    "addr add %s dev %s in netns %s",
				    topo_addr_str(&l->addrs[k], true, buf, sizeof(buf)), l->name,
				    ns);
			if (op.made) {
				topo_journal(tp, "addr %s %s %s", ns, l->name,
					     topo_addr_str(&l->addrs[k], true, buf, sizeof(buf)));
				made++;
			}
		}
	}
	/* Routes, forwarding and NAT, namespace by namespace. */
	for (i = 0; i < t->n_netns; i++) {
		const struct topology_netns *n = &t->netns[i];

		topo_ns(tp, n->name, ns, sizeof(ns));
		for (k = 0; k < n->n_routes; k++) {
			struct topo_op op = {.route = &n->routes[k], .add = true};

			rc = topo_in_ns(ns, topo_route_cb, &op);
			if (rc < 0 && rc != -EEXIST)
				return topo_up_fail(tp, n->routes[k].line, rc, op.extack,
						    "route add %s in netns %s",
						    topo_route_str(&n->routes[k], buf, sizeof(buf)),
						    ns);
			if (op.made) {
				topo_journal(tp, "route %s %s", ns,
					     topo_route_str(&n->routes[k], buf, sizeof(buf)));
				made++;
			}
		}
		if (n->forward >= 0) {
			struct topo_forward f = {{0, 0}, false};

			rc = topo_in_ns(ns, topo_forward_cb, &f);
			if (rc == 0 && (f.vals[0] != n->forward || f.vals[1] != n->forward)) {
				struct topo_forward w = {{n->forward, n->forward}, true};

				rc = topo_in_ns(ns, topo_forward_cb, &w);
				if (rc == 0) {
					topo_journal(tp, "forward %s %d %d", ns, f.vals[0],
						     f.vals[1]);
					made++;
				}
			}
			if (rc < 0)
				return topo_up_fail(tp, n->line, rc, NULL, "forward in netns %s",
						    ns);
		}
		for (k = 0; k < n->n_nats; k++) {
			struct topo_nat nat = {.what = 1};
			char words[TOPO_LINE_MAX];

			nat_rule_parse((int)n->nats[k].n_words, n->nats[k].words, &nat.rule,
				       nat.err, sizeof(nat.err));
			nat_rule_format(&nat.rule, words, sizeof(words));
			rc = topo_in_ns(ns, topo_nat_cb, &nat);
			if (rc < 0 && rc != -EEXIST)
				return topo_up_fail(tp, n->nats[k].line, -rc == EEXIST ? 0 : rc,
						    NULL, "nat add %s in netns %s: %s", words, ns,
						    nat.err);
			if (rc == 0) {
				topo_journal(tp, "nat %s %s", ns, words);
				made++;
			}
		}
	}
	/* Processes, in file order, each waited for. */
	for (i = 0; i < t->n_procs; i++) {
		const struct topology_proc *pr = &t->procs[i];
		char notify[128], why[1024];
		int nfd = -1;
		long pid;

		if (topo_running(tp, pr->name))
			continue;
		if (pr->tunnel)
			nfd =
			    topo_notify_open(topo_ns(tp, t->netns[pr->netns].name, ns, sizeof(ns)),
					     pr->name, notify, sizeof(notify));
		pid = topo_spawn(tp, pr, nfd >= 0 ? notify : NULL);
		if (pid < 0) {
			if (nfd >= 0)
				close(nfd);
			return topo_up_fail(tp, pr->line, (int)pid, NULL, "start %s", pr->name);
		}
		snprintf(line, sizeof(line), "proc %s %ld %llu", pr->name, pid,
			 topo_starttime(pid));
		topo_journal(tp, "%s", line);
		made++;
		rc = topo_wait_ready(tp, pr, (pid_t)pid, nfd, why, sizeof(why));
		if (nfd >= 0)
			close(nfd);
		if (rc < 0)
			return topo_up_fail(tp,
					    rc == -2         ? pr->ready_line
					    : pr->words_line ? pr->words_line
							     : pr->line,
					    0, NULL, "%s %s: %s", pr->tunnel ? "tunnel" : "exec",
					    pr->name, why);
	}
	printf("topology %s: up (%u made, state in %s)\n", t->name, made, tp->state);
	return CTL_EXIT_OK;
}

/* ---- down ---------------------------------------------------------------- */

/* Stops process @pid if it still is the one started (@start): SIGTERM,
 * then SIGKILL after TOPO_STOP_MS.  Returns 0 or -errno. */
static int topo_stop(long pid, unsigned long long start)
{
	long long deadline = topo_now_ms() + TOPO_STOP_MS;

	if (!start || topo_starttime(pid) != start)
		return 0; /* gone already */
	kill((pid_t)pid, SIGTERM);
	while (topo_starttime(pid) == start) {
		if (topo_now_ms() > deadline) {
			kill((pid_t)pid, SIGKILL);
			deadline = topo_now_ms() + TOPO_STOP_MS;
		}
		/* Our own child (up and down in one process never happens,
		 * but a reaped zombie must not linger if it does). */
		waitpid((pid_t)pid, NULL, WNOHANG);
		usleep(20 * 1000);
	}
	return 0;
}

/* Undoes one journal line.  Returns 0 (also when it is gone already) or
 * -errno after printing why. */
static int topo_undo(const struct topo *tp, const char *line)
{
	char what[16], ns[TOPOLOGY_NAME_MAX * 2 + 2], rest[TOPO_LINE_MAX] = "", a[128];
	long pid;
	unsigned long long start;
	int rc = 0, n;

	if (sscanf(line, "%15s %127s %n", what, ns, &n) < 2)
		return 0;
	snprintf(rest, sizeof(rest), "%s", line + n);
	if (!strcmp(what, "proc")) {
		if (sscanf(rest, "%ld %llu", &pid, &start) == 2)
			rc = topo_stop(pid, start);
	} else if (!strcmp(what, "netns")) {
		rc = netns_del(ns);
		if (rc == -ENOENT)
			rc = 0;
	} else if (!topo_ns_exists(ns)) {
		return 0; /* its namespace is gone, and with it the rest */
	} else if (!strcmp(what, "link")) {
		rc = topo_in_ns(ns, topo_link_del_cb, rest);
		if (rc == -ENODEV)
			rc = 0;
	} else if (!strcmp(what, "addr")) {
		struct topology_link l = {0};
		struct topology_addr addr;
		struct topo_op op = {.link = &l, .addr = &addr, .add = false};
		uint8_t raw[NL_ADDR_LEN];

		if (sscanf(rest, "%15s %127s", l.name, a) == 2 &&
		    nl_addr_parse(a, &addr.family, raw, &addr.plen) == 0) {
			memcpy(addr.addr, raw, sizeof(addr.addr));
			rc = topo_in_ns(ns, topo_addr_cb, &op);
			if (rc == -ENODEV || rc == -EADDRNOTAVAIL)
				rc = 0;
		}
	} else if (!strcmp(what, "route")) {
		struct topology_route r = {0};
		struct topo_op op = {.route = &r, .add = false};
		const char *why;

		if (topology_parse_route(rest, &r, &why)) {
			rc = topo_in_ns(ns, topo_route_cb, &op);
			if (rc == -ESRCH || rc == -ENODEV || rc == -ENOENT)
				rc = 0;
		}
	} else if (!strcmp(what, "forward")) {
		struct topo_forward f = {{0, 0}, true};

		if (sscanf(rest, "%d %d", &f.vals[0], &f.vals[1]) == 2)
			rc = topo_in_ns(ns, topo_forward_cb, &f);
	} else if (!strcmp(what, "nat")) {
		struct topo_nat nat = {.what = 0};
		char **words = NULL;
		unsigned nw = 0;

		if (topology_split(rest, &words, &nw) == 0 &&
		    nat_rule_parse((int)nw, words, &nat.rule, nat.err, sizeof(nat.err)) == 0) {
			rc = topo_in_ns(ns, topo_nat_cb, &nat);
			if (rc == -ENOENT)
				rc = 0;
		}
		topology_words_free(words);
	}
	if (rc < 0)
		topo_warn(tp, "undo '%s': %s", line, strerror(-rc));
	return rc;
}

/* Removes the state directory's files and the directory. */
static void topo_state_remove(const struct topo *tp)
{
	char path[PATH_MAX];

	topo_fmt(path, sizeof(path), "%s/%s", tp->state, TOPO_JOURNAL);
	unlink(path);
	for (unsigned i = 0; i < tp->t.n_procs; i++) {
		topo_fmt(path, sizeof(path), "%s/%s.log", tp->state, tp->t.procs[i].name);
		unlink(path);
	}
	/* Logs of processes the file no longer names: the journal names them. */
	for (unsigned i = 0; i < tp->n_lines; i++) {
		char what[16], name[TOPOLOGY_NAME_MAX + 1];

		if (sscanf(tp->lines[i], "%15s %63s", what, name) == 2 && !strcmp(what, "proc")) {
			topo_fmt(path, sizeof(path), "%s/%s.log", tp->state, name);
			unlink(path);
		}
	}
	if (rmdir(tp->state) < 0 && errno != ENOENT)
		topo_warn(tp, "rmdir %s: %s (files of someone else's in it?)", tp->state,
			  strerror(errno));
}

static int topo_down(struct topo *tp)
{
	int rc, failed = 0;
	unsigned i;

	rc = topo_state(tp, true);
	if (rc < 0)
		return ctl_fail(rc, NULL, "topology %s: state in %s", tp->t.name, tp->state);
	for (i = tp->n_lines; i-- > 0;)
		if (topo_undo(tp, tp->lines[i]) < 0)
			failed++;
	if (failed) {
		topo_warn(tp, "%d things could not be removed; the journal stays in %s", failed,
			  tp->state);
		return CTL_EXIT_FAIL;
	}
	fclose(tp->journal);
	tp->journal = NULL;
	topo_state_remove(tp);
	printf("topology %s: down (%u removed)\n", tp->t.name, tp->n_lines);
	return CTL_EXIT_OK;
}

/* ---- show ---------------------------------------------------------------- */

/* Whether link @arg exists in the thread's namespace: 1 or 0. */
static int topo_link_exists_cb(void *arg)
{
	return if_nametoindex((const char *)arg) != 0;
}

static int topo_show(struct topo *tp)
{
	const struct topology *t = &tp->t;
	char ns[TOPOLOGY_NAME_MAX * 2 + 2], buf[TOPO_LINE_MAX];
	unsigned missing = 0, i, k;
	int rc;

	rc = topo_state(tp, false);
	if (rc < 0)
		return ctl_fail(rc, NULL, "topology %s: state in %s", t->name, tp->state);
	printf("topology %s (%s): %s\n", t->name, tp->path,
	       tp->n_lines ? "up" : "nothing made by up");
	for (i = 0; i < t->n_netns; i++) {
		const struct topology_netns *n = &t->netns[i];
		bool here;

		topo_ns(tp, n->name, ns, sizeof(ns));
		topo_fmt(buf, sizeof(buf), "netns %s", ns);
		here = topo_in_ns(ns, topo_link_exists_cb, (void *)"lo") >= 0;
		printf("  netns %s: %s%s\n", ns, here ? "present" : "MISSING",
		       here && topo_journal_has(tp, buf) ? " (made by up)" : "");
		missing += !here;
		if (!here)
			continue;
		for (k = 0; k < n->n_nats; k++) {
			struct topo_nat nat = {.what = 2};
			char words[TOPO_LINE_MAX];

			if (nat_rule_parse((int)n->nats[k].n_words, n->nats[k].words, &nat.rule,
					   nat.err, sizeof(nat.err)) < 0)
				continue;
			nat_rule_format(&nat.rule, words, sizeof(words));
			rc = topo_in_ns(ns, topo_nat_cb, &nat);
			printf("    nat %s: %s\n", words, rc == 1 ? "present" : "MISSING");
			missing += rc != 1;
		}
	}
	for (i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i];

		topo_ns(tp, t->netns[l->netns].name, ns, sizeof(ns));
		rc = topo_in_ns(ns, topo_link_exists_cb, (void *)l->name);
		printf("  link %s in netns %s: %s\n", l->name, ns, rc == 1 ? "present" : "MISSING");
		missing += rc != 1;
	}
	for (i = 0; i < t->n_procs; i++) {
		const struct topology_proc *pr = &t->procs[i];
		long pid = topo_running(tp, pr->name);

		topo_ns(tp, t->netns[pr->netns].name, ns, sizeof(ns));
		if (pid)
			printf("  %s %s in netns %s: running, pid %ld\n",
			       pr->tunnel ? "tunnel" : "exec", pr->name, ns, pid);
		else
			printf("  %s %s in netns %s: NOT RUNNING\n", pr->tunnel ? "tunnel" : "exec",
			       pr->name, ns);
		missing += !pid;
	}
	if (missing)
		printf("%u missing\n", missing);
	return missing ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int topology_main(int argc, char **argv)
{
	struct topo tp = {0};
	const char *verb;
	char err[1024], *slash;
	int i, rc;

	if (argc < 2 || ctl_is_help(argv[1])) {
		topology_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
			tp.prefix = argv[++i];
			if (netns_name_check(tp.prefix) < 0 ||
			    strlen(tp.prefix) > TOPOLOGY_NAME_MAX)
				return ctl_usage("topology", "--prefix: '%s' cannot begin a name",
						 tp.prefix);
		} else if (!tp.path && argv[i][0] != '-') {
			tp.path = argv[i];
		} else {
			return ctl_usage("topology", "unexpected '%s'", argv[i]);
		}
	}
	if (strcmp(verb, "up") && strcmp(verb, "down") && strcmp(verb, "show"))
		return ctl_usage("topology", "unknown verb '%s'", verb);
	if (!tp.path)
		return ctl_usage("topology", "%s needs a FILE", verb);
	rc = topology_load_file(&tp.t, tp.path, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", CTL_PROG, err);
		return rc == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_FAIL;
	}
	if (!realpath(tp.path, tp.dir))
		snprintf(tp.dir, sizeof(tp.dir), ".");
	slash = strrchr(tp.dir, '/');
	if (slash && slash != tp.dir)
		*slash = '\0';
	if (!strcmp(verb, "up"))
		rc = topo_up(&tp);
	else if (!strcmp(verb, "down"))
		rc = topo_down(&tp);
	else
		rc = topo_show(&tp);
	if (tp.journal)
		fclose(tp.journal);
	for (unsigned k = 0; k < tp.n_lines; k++)
		free(tp.lines[k]);
	free(tp.lines);
	topology_cleanup(&tp.t);
	return rc;
}
