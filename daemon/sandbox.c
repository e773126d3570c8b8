/* SPDX-License-Identifier: MIT */
/*
 * The allow-list comes from the calls culvertd was seen to make once
 * serving (strace -f on the integration tests: TUN and TAP, TCP and UDP,
 * plain and sealed with rekeys, offloads, reconnects, roaming, the status
 * socket, SIGHUP with names resolved from /etc/hosts and over DNS,
 * sd_notify), plus what glibc may do on other paths (getaddrinfo's TCP
 * fallback, clock calls where the vDSO cannot answer) and what is planned
 * (runtime re-resolving, rtnetlink link events: socket(AF_NETLINK), bind,
 * recvmsg).  The sanitizer runtime's calls were found under
 * SECCOMP_RET_LOG in the kernel's audit log.  Syscalls are named with
 * libseccomp's SCMP_SYS(), which maps them for the architecture built for;
 * one that architecture lacks (poll, open on arm64) is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox.h"

/* Allowed whatever their arguments. */
static const int sandbox_calls[] = {
    /* The event loop (libevent's epoll back end) and its clock. */
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime),
    /* Signals: libevent's handlers and its socketpair, and restoring the
     * old handlers at exit. */
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    /* The data path: the device, the TCP connection or the UDP socket,
     * TCP reconnects and accepts, the status socket, the metrics
     * endpoint (evhttp: accept4, read, writev, shutdown, close). */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(recvmmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(sendmmsg),
    SCMP_SYS(accept4),
    SCMP_SYS(connect),
    SCMP_SYS(bind),
    SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(close),
    SCMP_SYS(fcntl),
    /* getaddrinfo(3) waits for the resolver's answers with poll. */
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    /* Files: the configuration on SIGHUP; /etc/hosts, /etc/resolv.conf
     * and /etc/nsswitch.conf (glibc stats them to notice changes). */
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(lseek),
    /* control_close() removes the status socket at exit. */
    SCMP_SYS(unlink),
    SCMP_SYS(unlinkat),
    /* Memory: malloc, and libsodium's guarded sodium_malloc() for keys. */
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(mlock),
    SCMP_SYS(munlock),
    /* libsodium's randombytes; and the process itself. */
    SCMP_SYS(getrandom),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    /* sd_notify() compares real and effective ids to decide whether to
     * send credentials. */
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getgid),
    SCMP_SYS(getegid),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    /* glibc's pthread_once() wakes waiters with futex even in a process
     * of one thread (getaddrinfo's first sort reads /etc/gai.conf). */
    SCMP_SYS(futex),
};

#ifdef CULVERT_SANITIZE
/* LeakSanitizer's check at exit, as seen under SECCOMP_RET_LOG: it stops
 * the process from a clone()d tracer (prctl PR_SET_PTRACER, ptrace, wait4,
 * sched_yield) that lists /proc/self/task with open and getdents
 * (openat and getdents64 elsewhere). */
static const int sandbox_sanitizer_calls[] = {
    SCMP_SYS(clone),       SCMP_SYS(prctl),      SCMP_SYS(ptrace),      SCMP_SYS(wait4),
    SCMP_SYS(sched_yield), SCMP_SYS(getppid),    SCMP_SYS(sigaltstack), SCMP_SYS(open),
    SCMP_SYS(getdents),    SCMP_SYS(getdents64),
};
#endif

/* Adds one allow rule with @n argument comparisons; false on failure,
 * with the reason in @err. */
static bool sandbox_allow(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *cmp,
			  int *rc, char *err, size_t errlen)
{
	char *name;

	/* A pseudo number: the architecture has no such call (open on
	 * arm64), so nothing can make it. */
	if (nr < 0)
		return true;
	*rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
	if (*rc == 0)
		return true;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	snprintf(err, errlen, "seccomp: cannot allow %s: %s", name ? name : "a system call",
		 strerror(-*rc));
	free(name);
	return false;
}

int sandbox_enter(char *err, size_t errlen)
{
	/* Protections that may map: anything but writable and executable
	 * at once (what systemd's MemoryDenyWriteExecute= refuses too). */
	static const int prots[] = {0, PROT_WRITE, PROT_EXEC};
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
	/* libevent sizes its reads with FIONREAD; tun_close() resets the
	 * offloads of a persistent device. */
	static const unsigned long ioctls[] = {FIONREAD, TUNSETOFFLOAD};
	scmp_filter_ctx ctx;
	struct scmp_arg_cmp cmp;
	int rc = 0;
	size_t i;

	/* Fails when libseccomp finds no SECCOMP_RET_KILL_PROCESS: before
	 * Linux 4.14, or when seccomp(2) itself is refused (a systemd unit
	 * whose SystemCallFilter= does not list it). */
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, errlen,
			 "seccomp: cannot make a filter (it needs Linux 4.14 or later and the "
			 "seccomp() system call)");
		return -ENOSYS;
	}
	/* Calls through another architecture's entry point die too. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: cannot set the action for other architectures: %s",
			 strerror(-rc));
		goto out;
	}
	for (i = 0; i < sizeof(sandbox_calls) / sizeof(sandbox_calls[0]); i++)
		if (!sandbox_allow(ctx, sandbox_calls[i], 0, NULL, &rc, err, errlen))
			goto out;
#ifdef CULVERT_SANITIZE
	for (i = 0; i < sizeof(sandbox_sanitizer_calls) / sizeof(sandbox_sanitizer_calls[0]); i++)
		if (!sandbox_allow(ctx, sandbox_sanitizer_calls[i], 0, NULL, &rc, err, errlen))
			goto out;
#endif
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]);
		if (!sandbox_allow(ctx, SCMP_SYS(socket), 1, &cmp, &rc, err, errlen))
			goto out;
	}
	for (i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		cmp = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, (scmp_datum_t)prots[i]);
		if (!sandbox_allow(ctx, SCMP_SYS(mmap), 1, &cmp, &rc, err, errlen) ||
		    !sandbox_allow(ctx, SCMP_SYS(mprotect), 1, &cmp, &rc, err, errlen))
			goto out;
	}
	/* Opens for reading only: nothing is created, truncated or written. */
	cmp = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY);
	if (!sandbox_allow(ctx, SCMP_SYS(openat), 1, &cmp, &rc, err, errlen))
		goto out;
	/* The request is an unsigned int to the kernel: compare 32 bits. */
	for (i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]);
		if (!sandbox_allow(ctx, SCMP_SYS(ioctl), 1, &cmp, &rc, err, errlen))
			goto out;
	}
	/* abort(3) raises SIGABRT with tgkill: to this process only. */
	cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
	if (!sandbox_allow(ctx, SCMP_SYS(tgkill), 1, &cmp, &rc, err, errlen))
		goto out;

	rc = seccomp_load(ctx);
	if (rc < 0)
		snprintf(err, errlen, "seccomp: cannot load the filter: %s", strerror(-rc));
out:
	seccomp_release(ctx);
	return rc < 0 ? rc : 0;
}
