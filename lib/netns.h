/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Named network namespaces, kept exactly where and how iproute2 keeps them
 * (ip/ipnetns.c, lib/namespace.c): /run/netns/NAME is a bind mount of a
 * namespace's nsfs file, and /run/netns is a shared mount point so unmounts
 * propagate.  `ip netns` and these functions therefore see the same set.
 *
 * Wherever a NAME is taken, a string containing '/' is used as a path to an
 * nsfs file instead (e.g. /proc/PID/ns/net), as `ip -n` allows.
 *
 * Nothing here prints or exits; functions return 0, a count, an fd, or
 * -errno.  They act on the calling thread (setns(2) and unshare(2) are
 * per-thread), so call them before starting threads.
 */

#include <stddef.h>

#define NETNS_RUN_DIR "/run/netns"
/* The calling thread's own network namespace (nsfs). */
#define NETNS_SELF "/proc/thread-self/ns/net"
/* Per-namespace overrides of /etc files, bind-mounted by netns_switch(). */
#define NETNS_ETC_DIR "/etc/netns"

/*
 * Check that @name can be a file under NETNS_RUN_DIR: non-empty, at most
 * NAME_MAX bytes, no '/', not "." or "..".  Returns 0 or -EINVAL.
 */
int netns_name_check(const char *name);

/*
 * Write the nsfs path for @name (see above) into @buf of @len bytes.
 * Returns 0, -EINVAL (bad name) or -ENAMETOOLONG.
 */
int netns_path(const char *name, char *buf, size_t len);

/*
 * Create a new network namespace and pin it at NETNS_RUN_DIR/@name, as
 * `ip netns add` does: make the directory a shared mount point (binding it
 * to itself first if it is not one), create the file, unshare(CLONE_NEWNET),
 * bind-mount /proc/self/ns/net on the file, then setns() back.  The caller
 * stays in its original namespace.  Returns 0, -EEXIST, -EINVAL, or -errno
 * (e.g. -EPERM without CAP_SYS_ADMIN); on failure nothing is left behind.
 */
int netns_add(const char *name);

/*
 * Unpin @name: lazily unmount (MNT_DETACH) and unlink the file, as `ip netns
 * del` does.  The namespace itself lives on while processes or fds use it.
 * Returns 0, -ENOENT or -errno.
 */
int netns_del(const char *name);

/*
 * Call @cb with the name of every entry in NETNS_RUN_DIR (readdir order, like
 * `ip netns list`, skipping dot files).  @cb returns 0 to go on or -errno to
 * stop.  Returns the number of names, 0 if the directory does not exist, or
 * -errno.
 */
int netns_list(int (*cb)(const char *name, void *data), void *data);

/*
 * Finds the name of the network namespace this process is in, as
 * `ip netns identify` does: the entry of NETNS_RUN_DIR whose nsfs file is
 * the same inode as /proc/self/ns/net.  Writes it into @name (@len bytes,
 * NUL-terminated).  Returns 0, -ENOENT when the namespace has no name (the
 * initial namespace, usually), -ENAMETOOLONG, or -errno.
 */
int netns_identify(char *name, size_t len);

/*
 * As netns_identify(), for the namespace whose nsfs file @fd is open (from
 * netns_open(), TUNGETDEVNETNS, /proc/PID/ns/net).  Returns the same.
 */
int netns_identify_fd(int fd, char *name, size_t len);

/*
 * Whether the nsfs file @fd is the calling thread's network namespace
 * (same device and inode, as nsfs(7) says namespaces are compared).
 * Returns 1, 0, or -errno.
 */
int netns_is_current(int fd);

/*
 * Runs @fn(@arg) with the calling thread inside the network namespace of
 * the nsfs fd @fd (setns(2) CLONE_NEWNET; needs CAP_SYS_ADMIN), then puts
 * the thread back where it was; sockets and TUN/TAP fds opened by @fn stay
 * in @fd's namespace (socket(7): a socket belongs to the namespace it was
 * created in).  @fd < 0 runs @fn where the thread is.  Returns what @fn
 * returned, or -errno when the thread could not enter (-EPERM without
 * CAP_SYS_ADMIN, -EINVAL when @fd is no network namespace).  Aborts when
 * the thread cannot get back: it must never go on in the wrong one.
 */
int netns_run_in(int fd, int (*fn)(void *arg), void *arg);

/*
 * Open @name's nsfs file, O_RDONLY|O_CLOEXEC.  Returns the fd (caller
 * closes it) or -errno (-ENOENT: no such namespace).
 */
int netns_open(const char *name);

/*
 * Move the calling thread into network namespace @name (setns(2)
 * CLONE_NEWNET only: enough for netlink, /dev/net/tun and /proc/sys/net,
 * which all follow the thread's namespace).  Returns 0 or -errno.
 */
int netns_enter(const char *name);

/*
 * Prepare to exec a program "inside" @name, as `ip netns exec` does
 * (iproute2 netns_switch()): setns(CLONE_NEWNET), unshare(CLONE_NEWNS), make
 * / recursively a slave so nothing propagates back, remount /sys so it shows
 * the new namespace's devices, and bind NETNS_ETC_DIR/@name/X over /etc/X
 * for every X there.  Changes the calling process for good.  Returns 0 or
 * -errno of the first step that failed (later /etc binds are best effort).
 */
int netns_switch(const char *name);
