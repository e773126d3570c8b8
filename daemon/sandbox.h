/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filter culvertd puts itself under once set-up is done (issue
 * 11, "least privilege inside the process"), built with libseccomp.  Named
 * "sandbox", not "seccomp": libseccomp owns the seccomp_ prefix.
 */
#pragma once

#include <stddef.h>

/*
 * Confines this process for good to the system calls a serving culvertd
 * makes: the event loop (epoll, signals, timers), the data path (TUN/TAP
 * reads and writes, TCP and UDP sockets, reconnects), the status socket,
 * SIGHUP (re-reading the configuration file, getaddrinfo(3) with
 * /etc/hosts, DNS over UDP and TCP and the address sorting of RFC 6724,
 * netlink included), logging (stderr, syslog(3), sd_notify(3)), libsodium
 * (getrandom, sodium_malloc) and a clean exit.  Some are narrowed by their
 * arguments: socket() to AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK;
 * openat() to read-only opens; mmap() and mprotect() to mappings that are
 * not both writable and executable; ioctl() to FIONREAD and the TUN
 * offload reset (TUNSETOFFLOAD); tgkill() to this process (abort(3)).
 *
 * Any other call kills the whole process with SIGSYS
 * (SECCOMP_RET_KILL_PROCESS, seccomp(2)), as does any call made through
 * another architecture's entry point (i386 or x32 on x86-64).  Sets
 * no_new_privs first (PR_SET_NO_NEW_PRIVS, prctl(2)), which the kernel
 * demands of a process without CAP_SYS_ADMIN; it cannot be undone.  The
 * process must have one thread: the filter is not synchronised to others.
 *
 * Built with sanitizers (-DCULVERT_SANITIZE, from meson's b_sanitize), also
 * allows what LeakSanitizer's check at exit makes: clone, prctl, ptrace,
 * wait4, sched_yield, getppid, sigaltstack, open and getdents.
 *
 * Returns 0, or a negative errno with the reason in @err (@errlen bytes,
 * NUL-terminated): -ENOSYS when libseccomp cannot make a filter that kills
 * the process (Linux before 4.14, or the seccomp() system call refused by
 * a filter already in place, such as a systemd unit's SystemCallFilter=),
 * -ENOMEM, -EINVAL (a rule libseccomp refused), or the error loading the
 * filter met.
 */
int sandbox_enter(char *err, size_t errlen);
