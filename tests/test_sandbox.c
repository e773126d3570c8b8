/* SPDX-License-Identifier: MIT */
/*
 * culvertd's seccomp filter (daemon/sandbox.c), in forked children: what the
 * daemon needs still works under it, and each kind of call it refuses kills
 * the process with SIGSYS before the call has any effect.  The integration
 * test seccomp.sh runs the daemon itself under it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "sandbox.h"

/* The child's exit status when sandbox_enter() failed. */
#define ENTER_FAILED 100

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/test_sandbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs @fn(@arg) in a child under the filter; returns its wait status.  The
 * child leaves with _exit(): no atexit handler runs under the filter. */
static int run_sandboxed(int (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];

		if (sandbox_enter(err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			_exit(ENTER_FAILED);
		}
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* What the serving daemon does, each checked: 0 when all worked, else the
 * number of the step that failed. */
static int allowed_calls(const char *dir)
{
	char path[128], buf[64];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	struct timespec ts;
	int fd, avail;
	void *p;

	/* A datagram to ourselves over loopback: the UDP data path. */
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, len) != 1 ||
	    recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL) != 1)
		return 1;
	close(fd);
	if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return 2;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 3;
	/* The underlay, the resolver, sd_notify and syslog, rtnetlink. */
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 4;
	if (ioctl(fd, FIONREAD, &avail) < 0)
		return 5;
	close(fd);
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return 6;
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
		return 7;
	close(fd);
	if ((fd = socket(AF_NETLINK, SOCK_RAW, 0)) < 0)
		return 8;
	close(fd);
	/* Re-reading a file (the configuration on SIGHUP). */
	snprintf(path, sizeof(path), "%s/conf", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || read(fd, buf, sizeof(buf)) != 4)
		return 9;
	close(fd);
	/* Memory: malloc's mappings, sodium_malloc()'s guard pages. */
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_NONE) < 0 ||
	    mlock((char *)p + 4096, 4096) < 0 || madvise(p, 65536, MADV_DONTDUMP) < 0 ||
	    munlock((char *)p + 4096, 4096) < 0 || munmap(p, 65536) < 0)
		return 10;
	free(malloc(1 << 20));
	return 0;
}

START_TEST(test_allowed)
{
	char path[128];
	int fd, status;

	snprintf(path, sizeof(path), "%s/conf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "conf", 4), 4);
	close(fd);
	status = run_sandboxed(allowed_calls, tmpdir);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "allowed calls failed: status %#x (exit %d: the step, %d: no filter)",
		      (unsigned)status, WIFEXITED(status) ? WEXITSTATUS(status) : -1, ENTER_FAILED);
}
END_TEST

/* One call the filter refuses; each returns 0 if it was let through. */
static int call_socket_packet(const char *dir)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return 0;
}

static int call_open_write(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/created", dir);
	open(path, O_WRONLY | O_CREAT, 0600);
	return 0;
}

static int call_mmap_wx(const char *dir)
{
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int call_mprotect_wx(const char *dir)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 1;
	mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	return 0;
}

static int call_ioctl_tunsetiff(const char *dir)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return 1;
	ioctl(fd, TUNSETIFF, &ifr);
	return 0;
}

static int call_mkdir(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/made", dir);
	mkdir(path, 0700);
	return 0;
}

static int call_execve(const char *dir)
{
	char *const argv[] = {"true", NULL};

	execve("/bin/true", argv, NULL);
	return 0;
}

static int call_setuid(const char *dir)
{
	/* Not reached under the filter: SIGSYS comes first. */
	int r = setuid(65534);

	return r;
}

static int call_kill_parent(const char *dir)
{
	/* tgkill() is for abort(3): this process only.  Signal 0 to the
	 * parent would be harmless if it went through. */
	syscall(SYS_tgkill, getppid(), getppid(), 0);
	return 0;
}

#ifdef __x86_64__
static int call_x32(const char *dir)
{
	/* getpid, allowed, but through the x32 entry point (bit 30). */
	syscall(0x40000000 | SYS_getpid);
	return 0;
}
#endif

static const struct {
	const char *name;
	int (*fn)(const char *);
} refused[] = {
    {"socket(AF_PACKET)", call_socket_packet},
    {"open(O_WRONLY | O_CREAT)", call_open_write},
    {"mmap(PROT_WRITE | PROT_EXEC)", call_mmap_wx},
    {"mprotect(PROT_WRITE | PROT_EXEC)", call_mprotect_wx},
    {"ioctl(TUNSETIFF)", call_ioctl_tunsetiff},
    {"mkdir", call_mkdir},
    {"execve", call_execve},
    {"setuid", call_setuid},
    {"tgkill(parent)", call_kill_parent},
#ifdef __x86_64__
    {"x32 getpid", call_x32},
#endif
};

START_TEST(test_refused)
{
	char path[128];
	int status = run_sandboxed(refused[_i].fn, tmpdir);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "%s: status %#x, not killed by SIGSYS", refused[_i].name, (unsigned)status);
	/* Killed before the call did anything. */
	snprintf(path, sizeof(path), "%s/created", tmpdir);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/made", tmpdir);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_allowed);
	tcase_add_loop_test(tc, test_refused, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(sandbox_suite());
}
