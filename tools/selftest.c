/* SPDX-License-Identifier: MIT */
/*
 * culvertctl selftest: can this host run culvert?  It checks what culvertd
 * needs, then builds two network namespaces of its own joined by a veth
 * pair, runs a culvertd in each for every mode (plain and sealed, TCP and
 * UDP, TUN and TAP) and moves traffic across with its own generator: the
 * median of UDP round trips, and a TCP stream checked byte by byte.
 *
 *     culvert-selftest-PID-a                    culvert-selftest-PID-b
 *   +-------------------------+               +-------------------------+
 *   | tun0|tap0 198.19.0.1/24 |               | tun0|tap0 198.19.0.2/24 |
 *   |   culvertd --listen     |===============|   culvertd --connect    |
 *   | veth0 198.18.0.1/24     +---------------+ veth0 198.18.0.2/24     |
 *   +-------------------------+               +-------------------------+
 *
 * A socket belongs to the namespace it was created in (socket(7)), so this
 * one process has a socket in each namespace and is both ends of every
 * flow.  Whatever it made (namespaces, daemons, keys, logs) goes on every
 * exit path, SIGINT, SIGTERM and SIGHUP included.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "key.h"
#include "netlink.h"
#include "netns.h"

/* Names of what a run makes: namespaces NAME-a and NAME-b, NAME-XXXXXX in $TMPDIR. */
#define ST_PREFIX "culvert-selftest-"

/* The underlay (veth0) and the overlay (the tunnel's device), /24 each. */
#define ST_UNDERLAY_A "198.18.0.1/24"
#define ST_UNDERLAY_B "198.18.0.2/24"
#define ST_SERVER     "198.18.0.1"
#define ST_OVERLAY_A  "198.19.0.1"
#define ST_OVERLAY_B  "198.19.0.2"

/* culvertd's port, plus the mode's index: no mode meets the last one's sockets. */
#define ST_PORT 55555
/* On the overlay: UDP echo (RFC 862), served in a, and the TCP stream's
 * port (discard, RFC 863), in b. */
#define ST_ECHO_PORT   7
#define ST_STREAM_PORT 9

/* Every wait is bounded (milliseconds). */
#define ST_READY_MS  5000 /* culvertd: sd_notify READY=1 */
#define ST_UP_MS     8000 /* first round trip across a new tunnel */
#define ST_PROBE_MS  200  /* one probe while waiting for it */
#define ST_ROUND_MS  1000 /* one measured round trip */
#define ST_STREAM_MS 500  /* the stream sends this long... */
#define ST_DRAIN_MS  3000 /* ...then must arrive whole within this */
#define ST_STOP_MS   3000 /* culvertd: exit after SIGTERM */
#define ST_SLICE_MS  20   /* how often a wait looks at the daemons */

#define ST_ROUNDS      20
#define ST_ROUNDS_LOST 5 /* round trips that may be lost before the mode fails */
#define ST_MSG_LEN     16
#define ST_CHUNK       65536
/* The stream's byte at offset N is N mod 251: a prime, so a chunk lost,
 * repeated or moved shifts the pattern and fails the comparison. */
#define ST_PERIOD 251

#define ST_REASON_LEN 320
#define ST_LINE_LEN   160

/* One mode: a row of the table. */
struct st_mode {
	const char *name;
	int sealed;
	const char *transport; /* culvertd --transport */
	const char *dev_mode;  /* culvertd --mode */
	const char *dev;
};

static const struct st_mode st_modes[] = {
    {"plain tcp tun", 0, "tcp", "tun", "tun0"},  {"plain tcp tap", 0, "tcp", "tap", "tap0"},
    {"plain udp tun", 0, "udp", "tun", "tun0"},  {"plain udp tap", 0, "udp", "tap", "tap0"},
    {"sealed tcp tun", 1, "tcp", "tun", "tun0"}, {"sealed tcp tap", 1, "tcp", "tap", "tap0"},
    {"sealed udp tun", 1, "udp", "tun", "tun0"}, {"sealed udp tap", 1, "udp", "tap", "tap0"},
};

#define ST_N_MODES (sizeof(st_modes) / sizeof(st_modes[0]))

/* One side of the test tunnel: a namespace, its culvertd and its files. */
struct st_side {
	char role; /* 'a' (listens) or 'b' (connects) */
	char netns[64];
	int netns_made;
	int netns_fd;
	struct nl_handle nl;
	char extack[NL_EXTACK_LEN];
	/* culvertd's NOTIFY_SOCKET: an abstract socket, which belongs to a
	 * network namespace as an IP socket does, so it is made in this one. */
	int notify_fd;
	char notify_name[80];
	char key_path[PATH_MAX];
	char log_path[PATH_MAX];
	char public_key[KEY_BASE64_SIZE];
	pid_t pid; /* its culvertd, 0 when none runs */
};

/* Everything a run made, for st_cleanup() to remove. */
struct st_run {
	const char *culvertd;
	const char *user; /* culvertd --user, or NULL for --no-drop */
	char dir[PATH_MAX];
	int dir_made;
	struct st_side side[2];
	unsigned char *pattern; /* ST_CHUNK + ST_PERIOD bytes of the stream */
	unsigned char *buf;     /* ST_CHUNK bytes to receive into */
};

/* What one mode measured, or why it failed (the first reason only). */
struct st_result {
	double rtt_ms; /* < 0: not measured */
	double mbps;   /* < 0: not measured */
	int ok;
	char reason[ST_REASON_LEN];
};

/* The overlay sockets of one mode; -1 when closed. */
struct st_flows {
	int echo_server; /* UDP, in a */
	int echo_client; /* UDP, in b */
	int listener;    /* TCP, in b */
	int rx;          /* accepted from it */
	int tx;          /* TCP, in a */
};

/* The signal that asked us to stop, 0 while none did. */
static volatile sig_atomic_t st_stop;

void selftest_usage(FILE *f)
{
	fprintf(f, "Usage: %s selftest\n", CTL_PROG);
}

/* Microseconds on the monotonic clock. */
static int64_t st_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds left until @deadline (microseconds), at most @cap; 0 when past it. */
static int st_left_ms(int64_t deadline, int cap)
{
	int64_t left = (deadline - st_now_us() + 999) / 1000;

	if (left <= 0)
		return 0;
	return left < cap ? (int)left : cap;
}

/* A handler that only notes the signal: every wait looks at it. */
static void st_signal_cb(int sig)
{
	st_stop = sig;
}

/*
 * Catch SIGINT, SIGTERM and SIGHUP (without SA_RESTART, so a wait returns
 * EINTR at once), and ignore SIGPIPE: a closed stdout or TCP peer must not
 * kill us with the namespaces still there.
 */
static void st_signals_catch(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = st_signal_cb;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Records the first reason a mode failed (printf-style) and returns @err,
 * a -errno, so that callers can `return st_fail(...)`.
 */
static int __attribute__((format(printf, 3, 4)))
st_fail(struct st_result *res, int err, const char *fmt, ...)
{
	va_list ap;

	if (!res->reason[0]) {
		va_start(ap, fmt);
		vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * The last non-empty line of @side's culvertd log into @out (@len bytes),
 * control characters blanked, or "(no output)": the usual answer to why a
 * mode failed.
 */
static void st_log_tail(const struct st_side *side, char *out, size_t len)
{
	char buf[1024], *start, *end, *p;
	ssize_t n = -1;
	off_t size;
	int fd;

	snprintf(out, len, "(no output)");
	fd = open(side->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0)
		n = pread(fd, buf, sizeof(buf) - 1,
			  size > (off_t)sizeof(buf) - 1 ? size - (off_t)(sizeof(buf) - 1) : 0);
	close(fd);
	if (n <= 0)
		return;
	end = buf + n;
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start ? start + 1 : buf;
	/* Without log.c's time stamp and name: the row says which daemon. */
	if (end - start > 24 && start[4] == '-' && start[7] == '-' && start[10] == ' ' &&
	    start[13] == ':' && (p = strchr(start + 11, ' ')))
		start = p + 1;
	if (!strncmp(start, "culvertd: ", 10))
		start += 10;
	if (!*start)
		return;
	for (p = start; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = (ssize_t)strnlen(start, len - 1);
	memcpy(out, start, (size_t)n);
	out[n] = '\0';
}

/* "exited with status N" or "killed by signal N (NAME)" for a wait(2) status. */
static void st_status_text(int status, char *out, size_t len)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "stopped (wait status %#x)", (unsigned)status);
}

/*
 * Whether this host lets us make a network namespace: unshare(2) in a
 * child, which then exits with 0 or the errno.  Returns 0 or -errno.
 */
static int st_netns_usable(void)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) < 0 ? (errno & 0xff) : 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/*
 * Checks everything a run needs, naming each missing thing on a line of
 * its own; finds culvertd into @culvertd (PATH_MAX bytes).  Returns how
 * many are missing.
 */
static int st_prereqs(char *culvertd)
{
	bool net_admin = ctl_have_cap(CAP_NET_ADMIN), sys_admin = ctl_have_cap(CAP_SYS_ADMIN);
	int missing = 0, fd, ret;

	if (!net_admin || !sys_admin) {
		fprintf(stderr, "%s: selftest: not privileged: %s%s%s missing (run it as root)\n",
			CTL_PROG, !net_admin ? "CAP_NET_ADMIN" : "",
			!net_admin && !sys_admin ? " and " : "", !sys_admin ? "CAP_SYS_ADMIN" : "");
		missing++;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		fprintf(stderr, "%s: selftest: open /dev/net/tun: %s%s\n", CTL_PROG, strerror(ret),
			ret == EACCES || ret == EPERM ? "" : " (modprobe tun loads the driver)");
		missing++;
	} else {
		close(fd);
	}
	ret = st_netns_usable();
	if (ret) {
		fprintf(stderr, "%s: selftest: network namespaces: unshare(CLONE_NEWNET): %s\n",
			CTL_PROG, strerror(-ret));
		missing++;
	}
	if (ctl_find_culvertd("selftest", culvertd))
		missing++;
	return missing;
}

/* netns_run_in() callback: opens the side's rtnetlink socket in its namespace. */
static int st_nl_open_cb(void *arg)
{
	struct st_side *side = arg;

	return nl_open(&side->nl, side->extack, sizeof(side->extack));
}

/* netns_run_in() callback: a socket of type *@arg (SOCK_DGRAM/SOCK_STREAM), IPv4. */
static int st_socket_cb(void *arg)
{
	int fd = socket(AF_INET, *(int *)arg | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/* netns_run_in() callback: the side's sd_notify socket (ctl_notify_open()). */
static int st_notify_open_cb(void *arg)
{
	struct st_side *side = arg;

	return ctl_notify_open(side->notify_name);
}

/* Brings link @name of @side up.  Returns 0 or -errno. */
static int st_link_up(struct st_side *side, const char *name)
{
	struct nl_link_change c;

	nl_link_change_init(&c);
	c.flags = IFF_UP;
	c.flags_mask = IFF_UP;
	return nl_link_set(&side->nl, name, &c);
}

/* nl_link_list() callback: keeps the link's index. */
static int st_ifindex_cb(const struct nl_link *link, void *data)
{
	*(int *)data = link->index;
	return 0;
}

/*
 * The index of link @name in @side's namespace (if_nametoindex(3) would
 * ask ours).  Returns it, or -ENODEV or -errno.
 */
static int st_ifindex(struct st_side *side, const char *name)
{
	int ifindex = 0, ret;

	ret = nl_link_list(&side->nl, name, st_ifindex_cb, &ifindex);
	if (ret < 0)
		return ret;
	return ifindex > 0 ? ifindex : -ENODEV;
}

/* Adds "ADDR/PLEN" @cidr to link @ifindex of @side.  Returns 0 or -errno. */
static int st_addr_add(struct st_side *side, int ifindex, const char *cidr)
{
	unsigned char addr[NL_ADDR_LEN];
	unsigned int plen;
	int family, ret;

	ret = nl_addr_parse(cidr, &family, addr, &plen);
	if (ret)
		return ret;
	return nl_addr_change(&side->nl, 1, ifindex, family, addr, plen);
}
/* Writes all of @len bytes of @buf to @fd.  Returns 0 or -errno. */
static int st_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A key pair per side, made here (lib/key.h): the private key into the
 * side's key file, mode 0600 as culvertd demands, the public key kept for
 * the other side's --peer-public-key.  Returns 0 or -errno.
 */
static int st_keys(struct st_run *run)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char b64[KEY_BASE64_SIZE + 1];
	int i, fd, ret = 0;

	if (sodium_init() < 0)
		return -EIO;
	for (i = 0; i < 2 && !ret; i++) {
		struct st_side *side = &run->side[i];

		key_generate_private(priv);
		ret = key_public_from_private(pub, priv);
		if (ret)
			break;
		key_to_base64(side->public_key, pub);
		key_to_base64(b64, priv);
		strcat(b64, "\n");
		fd = open(side->key_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		ret = st_write_all(fd, b64, strlen(b64));
		if (close(fd) < 0 && !ret)
			ret = -errno;
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

/* Sets @run up empty, so that st_cleanup() may run at any point after. */
static void st_run_init(struct st_run *run, const char *culvertd)
{
	int i;

	memset(run, 0, sizeof(*run));
	run->culvertd = culvertd;
	/* Every integration test proves the privilege drop; so do we, if we can. */
	run->user = getpwnam("nobody") ? "nobody" : NULL;
	for (i = 0; i < 2; i++) {
		run->side[i].role = (char)('a' + i);
		run->side[i].netns_fd = -1;
		run->side[i].notify_fd = -1;
	}
}

/*
 * netns_list() callback: removes a namespace "culvert-selftest-PID-a|b" of
 * a run whose PID no longer exists (one killed with SIGKILL, which had no
 * chance to clean up; its daemons died with it, PR_SET_PDEATHSIG).  A PID
 * that exists, whoever it is now, keeps its namespaces: never remove what
 * a running selftest uses.  Counts what it removed in *@data.
 */
static int st_sweep_cb(const char *name, void *data)
{
	unsigned int *removed = data;
	const char *p = name + strlen(ST_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, ST_PREFIX, strlen(ST_PREFIX)) || *p < '1' || *p > '9')
		return 0;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || (strcmp(end, "-a") && strcmp(end, "-b")))
		return 0;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	if (netns_del(name) == 0) {
		printf("removed namespace %s, left by a selftest that was killed\n", name);
		(*removed)++;
	}
	return 0;
}

/*
 * Makes the temporary directory, the namespaces and the veth pair between
 * them, the keys and the notify sockets.  Prints what failed; returns a
 * CTL_EXIT_* code.  Whatever was made is recorded for st_cleanup().
 */
static int st_setup(struct st_run *run)
{
	const char *tmp = getenv("TMPDIR");
	const char *underlay[2] = {ST_UNDERLAY_A, ST_UNDERLAY_B};
	struct st_side *a = &run->side[0], *b = &run->side[1];
	long pid = (long)getpid();
	int i, n, ret, ifindex;

	run->pattern = malloc(ST_CHUNK + ST_PERIOD);
	run->buf = malloc(ST_CHUNK);
	if (!run->pattern || !run->buf)
		return ctl_fail(ENOMEM, NULL, "selftest");
	for (i = 0; i < ST_CHUNK + ST_PERIOD; i++)
		run->pattern[i] = (unsigned char)(i % ST_PERIOD);

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(run->dir, sizeof(run->dir), "%s/" ST_PREFIX "%ld-XXXXXX", tmp, pid);
	if (n < 0 || (size_t)n >= sizeof(run->dir))
		return ctl_fail(ENAMETOOLONG, NULL, "selftest: TMPDIR %s", tmp);
	if (!mkdtemp(run->dir))
		return ctl_fail(errno, NULL, "selftest: mkdtemp %s", run->dir);
	run->dir_made = 1;

	for (i = 0; i < 2; i++) {
		struct st_side *side = &run->side[i];

		snprintf(side->netns, sizeof(side->netns), ST_PREFIX "%ld-%c", pid, side->role);
		snprintf(side->notify_name, sizeof(side->notify_name), "@%s", side->netns);
		n = snprintf(side->key_path, sizeof(side->key_path), "%s/%c.key", run->dir,
			     side->role);
		if (n < 0 || (size_t)n >= sizeof(side->key_path) ||
		    snprintf(side->log_path, sizeof(side->log_path), "%s/%c.log", run->dir,
			     side->role) >= (int)sizeof(side->log_path))
			return ctl_fail(ENAMETOOLONG, NULL, "selftest: %s", run->dir);

		ret = netns_add(side->netns);
		if (ret)
			return ctl_fail(ret, NULL, "selftest: netns add %s%s", side->netns,
					ret == -EEXIST ? " (left by a run that was killed? "
							 "culvertctl netns del NAME)"
						       : "");
		side->netns_made = 1;
		side->netns_fd = netns_open(side->netns);
		if (side->netns_fd < 0)
			return ctl_fail(side->netns_fd, NULL, "selftest: open netns %s",
					side->netns);
		ret = netns_run_in(side->netns_fd, st_nl_open_cb, side);
		if (ret)
			return ctl_fail(ret, NULL, "selftest: rtnetlink in %s", side->netns);
		ret = st_link_up(side, "lo");
		if (ret)
			return ctl_fail(ret, side->extack, "selftest: %s: link set lo up",
					side->netns);
		side->notify_fd = netns_run_in(side->netns_fd, st_notify_open_cb, side);
		if (side->notify_fd < 0)
			return ctl_fail(side->notify_fd, NULL, "selftest: %s: notify socket %s",
					side->netns, side->notify_name);
	}

	ret = nl_link_add_veth(&a->nl, "veth0", "veth0", b->netns_fd);
	if (ret)
		return ctl_fail(ret, a->extack, "selftest: link add veth0 type veth peer veth0");
	for (i = 0; i < 2; i++) {
		struct st_side *side = &run->side[i];

		ifindex = st_ifindex(side, "veth0");
		if (ifindex < 0)
			return ctl_fail(ifindex, side->extack, "selftest: %s: veth0", side->netns);
		ret = st_addr_add(side, ifindex, underlay[i]);
		if (ret)
			return ctl_fail(ret, side->extack, "selftest: %s: addr add %s dev veth0",
					side->netns, underlay[i]);
		ret = st_link_up(side, "veth0");
		if (ret)
			return ctl_fail(ret, side->extack, "selftest: %s: link set veth0 up",
					side->netns);
	}
	ret = st_keys(run);
	if (ret)
		return ctl_fail(ret, NULL, "selftest: keys in %s", run->dir);
	return CTL_EXIT_OK;
}

/*
 * Waits up to @ms for @side's culvertd to exit, then kills it (SIGKILL);
 * stores its wait status in *@status.  Returns 0 when it exited on its
 * own, -ETIMEDOUT when it had to be killed.  Ignores st_stop: this is what
 * stopping does.
 */
static int st_reap(struct st_side *side, int ms, int *status)
{
	int64_t deadline = st_now_us() + (int64_t)ms * 1000;
	pid_t r;

	*status = 0;
	for (;;) {
		r = waitpid(side->pid, status, WNOHANG);
		if (r == side->pid || (r < 0 && errno == ECHILD)) {
			side->pid = 0;
			return 0;
		}
		if (st_now_us() >= deadline)
			break;
		poll(NULL, 0, st_left_ms(deadline, ST_SLICE_MS / 2));
	}
	kill(side->pid, SIGKILL);
	while (waitpid(side->pid, status, 0) < 0 && errno == EINTR)
		;
	side->pid = 0;
	return -ETIMEDOUT;
}

/* Removes every entry of the temporary directory (keys, logs, sockets), then it. */
static void st_dir_remove(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	d = opendir(dir);
	if (d) {
		dfd = dirfd(d);
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dfd, de->d_name, 0);
		closedir(d);
	}
	if (rmdir(dir) < 0)
		fprintf(stderr, "%s: selftest: rmdir %s: %s\n", CTL_PROG, dir, strerror(errno));
}

/*
 * Removes everything @run made, whatever point it got to: the daemons
 * (SIGTERM, then SIGKILL), the sockets that hold the namespaces, the
 * namespaces (their veth pair and devices go with them), the directory.
 */
static void st_cleanup(struct st_run *run)
{
	int i, ret, status;

	for (i = 0; i < 2; i++)
		if (run->side[i].pid > 0)
			kill(run->side[i].pid, SIGTERM);
	for (i = 0; i < 2; i++)
		if (run->side[i].pid > 0)
			st_reap(&run->side[i], ST_STOP_MS, &status);
	for (i = 0; i < 2; i++) {
		struct st_side *side = &run->side[i];

		if (side->notify_fd >= 0)
			close(side->notify_fd);
		side->notify_fd = -1;
		nl_close(&side->nl);
		if (side->netns_fd >= 0)
			close(side->netns_fd);
		side->netns_fd = -1;
		if (side->netns_made) {
			ret = netns_del(side->netns);
			if (ret)
				ctl_fail(ret, NULL, "selftest: netns del %s", side->netns);
			side->netns_made = 0;
		}
	}
	if (run->dir_made)
		st_dir_remove(run->dir);
	run->dir_made = 0;
	free(run->pattern);
	free(run->buf);
	run->pattern = run->buf = NULL;
}

/*
 * In the child, after fork(): into @side's namespace, stdout and stderr to
 * @log_fd, nothing else open, culvertd's environment, then exec @argv.
 * Never returns.
 */
static void __attribute__((noreturn))
st_child_exec(const struct st_run *run, const struct st_side *side, char *const *argv, int log_fd)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	sigset_t none;
	int null_fd, fd;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* If we die without cleaning up, the daemon goes too (until it drops
	 * privileges, which clears this: then st_cleanup() is the one way). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	/* Above 2 first, so that dup2() onto 0-2 always clears FD_CLOEXEC. */
	fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 3);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || null_fd < 0)
		_exit(126);
	null_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(126);
	if (setns(side->netns_fd, CLONE_NEWNET) < 0) {
		dprintf(STDERR_FILENO, "%s selftest: setns %s: %s\n", CTL_PROG, side->netns,
			strerror(errno));
		_exit(126);
	}
	close_range(3, ~0u, 0);

	setenv("NOTIFY_SOCKET", side->notify_name, 1);
	/* Status sockets in our directory, not the system's. */
	setenv("CULVERT_RUNDIR", run->dir, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("JOURNAL_STREAM");
	execv(run->culvertd, argv);
	dprintf(STDERR_FILENO, "%s selftest: exec %s: %s\n", CTL_PROG, run->culvertd,
		strerror(errno));
	_exit(127);
}

/* Reads and drops whatever waits on @side's notify socket. */
static void st_notify_drain(struct st_side *side)
{
	char buf[512];

	while (recv(side->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/*
 * Starts @side's culvertd for mode @m on underlay port @port: a listens, b
 * connects.  Returns 0 or -errno (recorded in @res).
 */
static int st_daemon_start(struct st_run *run, struct st_side *side, const struct st_mode *m,
			   unsigned int port, struct st_result *res)
{
	const struct st_side *peer = side == &run->side[0] ? &run->side[1] : &run->side[0];
	char endpoint[64];
	const char *argv[24];
	int n = 0, log_fd, ret;
	pid_t pid;

	if (side->role == 'a')
		snprintf(endpoint, sizeof(endpoint), ":%u", port);
	else
		snprintf(endpoint, sizeof(endpoint), "%s:%u", ST_SERVER, port);
	argv[n++] = run->culvertd;
	argv[n++] = "--dev";
	argv[n++] = m->dev;
	argv[n++] = "--mode";
	argv[n++] = m->dev_mode;
	argv[n++] = "--transport";
	argv[n++] = m->transport;
	argv[n++] = side->role == 'a' ? "--listen" : "--connect";
	argv[n++] = endpoint;
	if (run->user) {
		argv[n++] = "--user";
		argv[n++] = run->user;
	} else {
		argv[n++] = "--no-drop";
	}
	if (m->sealed) {
		argv[n++] = "--private-key";
		argv[n++] = side->key_path;
		argv[n++] = "--peer-public-key";
		argv[n++] = peer->public_key;
	}
	argv[n] = NULL;

	st_notify_drain(side);
	log_fd = open(side->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return st_fail(res, -errno, "open %s: %s", side->log_path, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(log_fd);
		return st_fail(res, ret, "fork: %s", strerror(-ret));
	}
	if (pid == 0)
		st_child_exec(run, side, (char *const *)argv, log_fd);
	close(log_fd);
	side->pid = pid;
	return 0;
}

/*
 * Has any culvertd exited?  Reaps it and records why as the mode's
 * failure.  Returns 0 while both run, -ECHILD when one did not, -EINTR
 * when we were asked to stop.
 */
static int st_daemons_check(struct st_run *run, struct st_result *res)
{
	char how[64], tail[ST_LINE_LEN];
	int i, status;

	if (st_stop)
		return st_fail(res, -EINTR, "interrupted");
	for (i = 0; i < 2; i++) {
		struct st_side *side = &run->side[i];

		if (side->pid <= 0 || waitpid(side->pid, &status, WNOHANG) != side->pid)
			continue;
		side->pid = 0;
		st_status_text(status, how, sizeof(how));
		st_log_tail(side, tail, sizeof(tail));
		return st_fail(res, -ECHILD, "%c: culvertd %s: %s", side->role, how, tail);
	}
	return 0;
}

/*
 * Waits for @side's culvertd to tell sd_notify READY=1, which it does
 * once its device and sockets are open and it handles signals, then for
 * its device; gives the device its overlay address @cidr.  Returns 0 or
 * -errno (recorded in @res).
 */
static int st_daemon_ready(struct st_run *run, struct st_side *side, const struct st_mode *m,
			   const char *cidr, struct st_result *res)
{
	int64_t deadline = st_now_us() + (int64_t)ST_READY_MS * 1000;
	struct pollfd pfd = {.fd = side->notify_fd, .events = POLLIN};
	char tail[ST_LINE_LEN];
	int ready = 0, ifindex = -ENODEV, ret;

	for (;;) {
		ret = st_daemons_check(run, res);
		if (ret)
			return ret;
		if (!ready)
			ready = ctl_notify_ready(side->notify_fd);
		if (ready) {
			ifindex = st_ifindex(side, m->dev);
			if (ifindex > 0)
				break;
		}
		if (!st_left_ms(deadline, 1)) {
			st_log_tail(side, tail, sizeof(tail));
			if (ready)
				return st_fail(res, -ETIMEDOUT, "%c: no device %s: %s", side->role,
					       m->dev, tail);
			return st_fail(res, -ETIMEDOUT, "%c: culvertd not ready within %d s: %s",
				       side->role, ST_READY_MS / 1000, tail);
		}
		/* Once ready, only the device is awaited: the socket may hold more. */
		poll(&pfd, ready ? 0 : 1, st_left_ms(deadline, ST_SLICE_MS));
	}
	ret = st_addr_add(side, ifindex, cidr);
	if (ret)
		return st_fail(res, ret, "%c: addr add %s dev %s: %s%s%s", side->role, cidr, m->dev,
			       strerror(-ret), side->extack[0] ? ": " : "", side->extack);
	return 0;
}

/*
 * Stops @side's culvertd with SIGTERM; it must exit with status 0 within
 * ST_STOP_MS.  Returns 0 or -errno (recorded in @res).
 */
static int st_daemon_stop(struct st_side *side, struct st_result *res)
{
	char how[64], tail[ST_LINE_LEN];
	int status;

	if (side->pid <= 0)
		return 0;
	kill(side->pid, SIGTERM);
	if (st_reap(side, ST_STOP_MS, &status) < 0)
		return st_fail(res, -ETIMEDOUT, "%c: culvertd still ran %d s after SIGTERM",
			       side->role, ST_STOP_MS / 1000);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	st_status_text(status, how, sizeof(how));
	st_log_tail(side, tail, sizeof(tail));
	return st_fail(res, -ECHILD, "%c: culvertd %s on SIGTERM: %s", side->role, how, tail);
}

/* An IPv4 socket address of @addr (dotted quad) and @port. */
static struct sockaddr_in st_sin(const char *addr, unsigned int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	inet_pton(AF_INET, addr, &sin.sin_addr);
	return sin;
}

/* A socket of @type (SOCK_DGRAM/SOCK_STREAM) in @side's namespace, bound to
 * @port (0: not bound).  Returns the fd or -errno. */
static int st_socket(struct st_side *side, int type, unsigned int port)
{
	struct sockaddr_in sin = st_sin("0.0.0.0", port);
	int fd, one = 1, ret;

	fd = netns_run_in(side->netns_fd, st_socket_cb, &type);
	if (fd < 0 || !port)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1) < 0)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Closes every socket of @f. */
static void st_flows_close(struct st_flows *f)
{
	int *fds[] = {&f->echo_server, &f->echo_client, &f->listener, &f->rx, &f->tx};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Opens the echo server (a) and client (b) and the stream's listener (b). */
static int st_flows_open(struct st_run *run, struct st_flows *f, struct st_result *res)
{
	struct st_side *a = &run->side[0], *b = &run->side[1];

	f->echo_server = st_socket(a, SOCK_DGRAM, ST_ECHO_PORT);
	if (f->echo_server < 0)
		return st_fail(res, f->echo_server, "a: UDP socket on port %d: %s", ST_ECHO_PORT,
			       strerror(-f->echo_server));
	f->echo_client = st_socket(b, SOCK_DGRAM, 0);
	if (f->echo_client < 0)
		return st_fail(res, f->echo_client, "b: UDP socket: %s", strerror(-f->echo_client));
	f->listener = st_socket(b, SOCK_STREAM, ST_STREAM_PORT);
	if (f->listener < 0)
		return st_fail(res, f->listener, "b: TCP listener on port %d: %s", ST_STREAM_PORT,
			       strerror(-f->listener));
	return 0;
}

/*
 * One UDP round trip b -> a -> b across the overlay: message @seq from the
 * client, echoed by the server (both ours), within @ms.  Stores the time
 * it took in *@rtt_ms.  Returns 0, -ETIMEDOUT (lost: a tunnel not up yet
 * also answers with EHOSTUNREACH or ECONNREFUSED, taken as lost), -EINTR,
 * or -errno.
 */
static int st_round(struct st_flows *f, uint32_t seq, int ms, double *rtt_ms)
{
	struct sockaddr_in dst = st_sin(ST_OVERLAY_A, ST_ECHO_PORT), from;
	unsigned char msg[ST_MSG_LEN] = "culvert", got[ST_MSG_LEN + 1];
	struct pollfd pfd[2] = {{.fd = f->echo_server, .events = POLLIN},
				{.fd = f->echo_client, .events = POLLIN}};
	int64_t start = st_now_us(), deadline = start + (int64_t)ms * 1000;
	socklen_t from_len;
	ssize_t n;

	memcpy(msg + 8, &seq, sizeof(seq));
	if (sendto(f->echo_client, msg, sizeof(msg), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EHOSTUNREACH && errno != ENETUNREACH && errno != ECONNREFUSED &&
	    errno != EAGAIN && errno != ENOBUFS)
		return -errno;
	for (;;) {
		if (st_stop)
			return -EINTR;
		if (!st_left_ms(deadline, 1))
			return -ETIMEDOUT;
		if (poll(pfd, 2, st_left_ms(deadline, ms)) <= 0)
			continue;
		from_len = sizeof(from);
		n = recvfrom(f->echo_server, got, sizeof(got), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &from_len);
		if (n > 0)
			sendto(f->echo_server, got, (size_t)n, 0, (struct sockaddr *)&from,
			       from_len);
		n = recv(f->echo_client, got, sizeof(got), MSG_DONTWAIT);
		if (n == ST_MSG_LEN && !memcmp(got, msg, sizeof(msg))) {
			*rtt_ms = (double)(st_now_us() - start) / 1000.0;
			return 0;
		}
	}
}

/* qsort() order of doubles. */
static int st_cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/*
 * Waits for the tunnel to carry a round trip (probing every ST_PROBE_MS,
 * up to ST_UP_MS: a TCP connection, a handshake, ARP across a TAP tunnel),
 * then takes the median of ST_ROUNDS round trips into @res.  Returns 0 or
 * -errno (recorded in @res).
 */
static int st_rtt(struct st_run *run, struct st_flows *f, struct st_result *res)
{
	int64_t deadline = st_now_us() + (int64_t)ST_UP_MS * 1000;
	double rtt[ST_ROUNDS], one;
	char tail_a[120], tail_b[120];
	uint32_t seq = 0;
	int got = 0, lost = 0, ret;

	for (;;) {
		ret = st_daemons_check(run, res);
		if (ret)
			return ret;
		ret = st_round(f, seq++, ST_PROBE_MS, &one);
		if (!ret)
			break;
		if (ret != -ETIMEDOUT)
			return st_fail(res, ret, "UDP across the tunnel: %s", strerror(-ret));
		if (!st_left_ms(deadline, 1)) {
			/* Either side may know why: a refused handshake, no connection. */
			st_log_tail(&run->side[0], tail_a, sizeof(tail_a));
			st_log_tail(&run->side[1], tail_b, sizeof(tail_b));
			return st_fail(res, ret, "no round trip within %d s: a: %s; b: %s",
				       ST_UP_MS / 1000, tail_a, tail_b);
		}
	}
	while (got < ST_ROUNDS) {
		ret = st_round(f, seq++, ST_ROUND_MS, &rtt[got]);
		if (!ret) {
			got++;
			continue;
		}
		if (ret != -ETIMEDOUT)
			return st_fail(res, ret, "UDP across the tunnel: %s", strerror(-ret));
		if (++lost > ST_ROUNDS_LOST)
			return st_fail(res, ret, "%d of %d round trips lost", lost, got + lost);
		ret = st_daemons_check(run, res);
		if (ret)
			return ret;
	}
	qsort(rtt, ST_ROUNDS, sizeof(rtt[0]), st_cmp_double);
	res->rtt_ms = (rtt[(ST_ROUNDS - 1) / 2] + rtt[ST_ROUNDS / 2]) / 2;
	return 0;
}

/* Connects the stream: a's client to b's listener, accepted.  Returns 0 or -errno. */
static int st_stream_connect(struct st_run *run, struct st_flows *f, struct st_result *res)
{
	struct sockaddr_in dst = st_sin(ST_OVERLAY_B, ST_STREAM_PORT);
	int64_t deadline = st_now_us() + (int64_t)ST_DRAIN_MS * 1000;
	int err = 0, connected = 0;
	socklen_t len;

	f->tx = st_socket(&run->side[0], SOCK_STREAM, 0);
	if (f->tx < 0)
		return st_fail(res, f->tx, "a: TCP socket: %s", strerror(-f->tx));
	if (connect(f->tx, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)
		return st_fail(res, -errno, "TCP connect a -> b: %s", strerror(errno));
	while (!connected || f->rx < 0) {
		struct pollfd pfd[2] = {{.fd = f->tx, .events = POLLOUT},
					{.fd = f->listener, .events = POLLIN}};

		if (st_stop)
			return st_fail(res, -EINTR, "interrupted");
		if (!st_left_ms(deadline, 1))
			return st_fail(res, -ETIMEDOUT, "TCP connect a -> b: no answer in %d s",
				       ST_DRAIN_MS / 1000);
		poll(pfd, 2, st_left_ms(deadline, ST_SLICE_MS));
		if (!connected && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
			len = sizeof(err);
			if (getsockopt(f->tx, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (err)
				return st_fail(res, -err, "TCP connect a -> b: %s", strerror(err));
			connected = 1;
		}
		if (f->rx < 0 && (pfd[1].revents & POLLIN))
			f->rx = accept4(f->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	return 0;
}

/*
 * The throughput: a TCP stream a -> b across the overlay for ST_STREAM_MS,
 * then closed; every byte is checked against the pattern as it arrives,
 * and all of it must, within ST_DRAIN_MS more.  Mbit/s into @res, over the
 * time from the first byte sent to the end of the stream received.
 * Returns 0 or -errno (recorded in @res).
 */
static int st_stream(struct st_run *run, struct st_flows *f, struct st_result *res)
{
	uint64_t sent = 0, got = 0;
	int64_t start, stop, deadline, now;
	int sending = 1, ret;
	ssize_t n;

	ret = st_stream_connect(run, f, res);
	if (ret)
		return ret;
	start = st_now_us();
	stop = start + (int64_t)ST_STREAM_MS * 1000;
	deadline = stop + (int64_t)ST_DRAIN_MS * 1000;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = f->rx, .events = POLLIN},
					{.fd = f->tx, .events = POLLOUT}};

		ret = st_daemons_check(run, res);
		if (ret)
			return ret;
		now = st_now_us();
		if (sending && now >= stop) {
			shutdown(f->tx, SHUT_WR);
			sending = 0;
		}
		if (now >= deadline)
			return st_fail(res, -ETIMEDOUT,
				       "TCP stream: %llu of %llu bytes arrived in %d s",
				       (unsigned long long)got, (unsigned long long)sent,
				       (ST_STREAM_MS + ST_DRAIN_MS) / 1000);
		poll(pfd, sending ? 2 : 1, st_left_ms(sending ? stop : deadline, ST_SLICE_MS));
		if (sending && (pfd[1].revents & (POLLOUT | POLLERR))) {
			n = send(f->tx, run->pattern + sent % ST_PERIOD, ST_CHUNK,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return st_fail(res, -errno, "TCP stream: send: %s",
					       strerror(errno));
			if (n > 0)
				sent += (uint64_t)n;
		}
		if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		n = recv(f->rx, run->buf, ST_CHUNK, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return st_fail(res, -errno, "TCP stream: recv: %s", strerror(errno));
		if (n == 0)
			break;
		if (memcmp(run->buf, run->pattern + got % ST_PERIOD, (size_t)n))
			return st_fail(res, -EBADMSG, "TCP stream: wrong bytes at offset %llu",
				       (unsigned long long)got);
		got += (uint64_t)n;
	}
	now = st_now_us();
	if (sending || got != sent)
		return st_fail(res, -EPIPE, "TCP stream: ended after %llu of %llu bytes",
			       (unsigned long long)got, (unsigned long long)sent);
	res->mbps = (double)got * 8 / (double)(now - start);
	return 0;
}

/*
 * Runs mode @idx from start to end: both daemons, their addresses, the
 * round trips, the stream, and both daemons stopped again whatever
 * happened.  Fills @res.
 */
static void st_mode_run(struct st_run *run, unsigned int idx, struct st_result *res)
{
	const struct st_mode *m = &st_modes[idx];
	struct st_side *a = &run->side[0], *b = &run->side[1];
	struct st_flows f = {-1, -1, -1, -1, -1};
	unsigned int port = ST_PORT + idx;
	int ret, stop_a, stop_b;

	memset(res, 0, sizeof(*res));
	res->rtt_ms = res->mbps = -1;
	/* The server first, ready before its client calls. */
	ret = st_daemon_start(run, a, m, port, res);
	if (!ret)
		ret = st_daemon_ready(run, a, m, ST_OVERLAY_A "/24", res);
	if (!ret)
		ret = st_daemon_start(run, b, m, port, res);
	if (!ret)
		ret = st_daemon_ready(run, b, m, ST_OVERLAY_B "/24", res);
	if (!ret)
		ret = st_flows_open(run, &f, res);
	if (!ret)
		ret = st_rtt(run, &f, res);
	if (!ret)
		ret = st_stream(run, &f, res);
	st_flows_close(&f);
	/* A clean exit on SIGTERM is part of every mode. */
	stop_b = st_daemon_stop(b, res);
	stop_a = st_daemon_stop(a, res);
	res->ok = !ret && !stop_a && !stop_b;
}

/* Prints the table's row of mode @m. */
static void st_print_row(const struct st_mode *m, const struct st_result *res)
{
	char rtt[32] = "-", rate[32] = "-";

	if (res->rtt_ms >= 0)
		snprintf(rtt, sizeof(rtt), "%.3f ms", res->rtt_ms);
	if (res->mbps >= 0)
		snprintf(rate, sizeof(rate), "%.1f Mbit/s", res->mbps);
	printf("%-15s %10s %15s  %s%s%s\n", m->name, rtt, rate, res->ok ? "OK" : "FAIL",
	       res->ok ? "" : ": ", res->ok ? "" : res->reason);
	fflush(stdout);
}

int selftest_main(int argc, char **argv)
{
	char culvertd[PATH_MAX];
	struct st_result res;
	struct st_run run;
	unsigned int i, ok = 0, done = 0, swept = 0;
	int64_t start = st_now_us();
	int ret, sig;

	if (argc == 2 && ctl_is_help(argv[1])) {
		selftest_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (argc > 1)
		return ctl_usage("selftest", "selftest: unexpected '%s'", argv[1]);

	if (st_prereqs(culvertd))
		return CTL_EXIT_FAIL;
	printf("culvertd: %s\n", culvertd);
	fflush(stdout);

	netns_list(st_sweep_cb, &swept);
	st_signals_catch();
	st_run_init(&run, culvertd);
	ret = st_setup(&run);
	if (ret == CTL_EXIT_OK && !st_stop) {
		printf("%-15s %10s %15s  %s\n", "mode", "rtt", "throughput", "result");
		for (i = 0; i < ST_N_MODES && !st_stop; i++) {
			st_mode_run(&run, i, &res);
			if (st_stop)
				break;
			st_print_row(&st_modes[i], &res);
			ok += (unsigned int)res.ok;
			done++;
		}
	}
	st_cleanup(&run);

	sig = st_stop;
	if (sig) {
		fprintf(stderr, "%s: selftest: stopping on %s; removed what it made\n", CTL_PROG,
			strsignal(sig));
		/* Die of the signal, as the shell that sent it expects. */
		fflush(NULL);
		signal(sig, SIG_DFL);
		raise(sig);
		return CTL_EXIT_FAIL;
	}
	if (ret != CTL_EXIT_OK)
		return ret;
	printf("%u of %u modes OK in %.1f s\n", ok, done,
	       (double)(st_now_us() - start) / 1000000.0);
	return ok == ST_N_MODES ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
