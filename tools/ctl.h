/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by culvertctl's object files (netns.c, link.c, addr.c, route.c,
 * forward.c): exit codes, error reporting and the per-object entry points
 * that tools/culvertctl.c dispatches to.  Only tools/ print and exit.
 */

#include <stdbool.h>
#include <stdio.h>

#include "netlink.h"

#define CTL_PROG "culvertctl"

/* Exit codes: runtime failure (kernel said no) vs. a command line we cannot parse. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2

/*
 * Print "culvertctl: WHAT: strerror(-err) (kernel: EXTACK)" to stderr, the
 * kernel part only if @extack is non-empty.  Returns CTL_EXIT_FAIL so callers
 * can `return ctl_fail(...)`.
 */
int ctl_fail(int err, const char *extack, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Print "culvertctl: MESSAGE" and a hint to run `culvertctl OBJECT help` to
 * stderr.  Returns CTL_EXIT_USAGE.
 */
int ctl_usage(const char *object, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Is @arg one of "help", "-h", "--help"? */
int ctl_is_help(const char *arg);

/* Parse a decimal unsigned number <= @max; returns 0 or -EINVAL. */
int ctl_parse_ulong(const char *s, unsigned long max, unsigned long *out);

/* Open rtnetlink with @extack (NL_EXTACK_LEN bytes), reporting failure; returns an exit code. */
int ctl_nl_open(struct nl_handle *nl, char *extack);

/* Name of @ifindex in the current namespace, or "ifN" if it has none here. */
const char *ctl_ifname(int ifindex, char buf[static IFNAMSIZ + 8]);

/*
 * Finds the culvertd that topology and selftest run: $CULVERTD if set;
 * else next to this culvertctl (both installed in sbin); else
 * ../daemon/culvertd from it (the build tree); else CULVERT_SBINDIR.
 * Writes the path into @out (PATH_MAX bytes) and returns 0, or prints
 * "culvertctl: OBJECT: why" and returns -ENOENT or -EACCES.
 */
int ctl_find_culvertd(const char *object, char *out);

/*
 * Binds the datagram socket a culvertd started by culvertctl says READY=1
 * on (sd_notify(3)): @name is the NOTIFY_SOCKET value, "@..." for an
 * abstract socket, which belongs to the calling thread's network namespace
 * and needs no file a dropped user could not reach (so call it inside the
 * daemon's namespace, netns_run_in()).  Non-blocking, close-on-exec.
 * Returns the fd or -errno (-EINVAL: @name is not "@..." or too long).
 */
int ctl_notify_open(const char *name);

/* Reads every datagram waiting on notify socket @fd; returns 1 when one of
 * them holds the line "READY=1", else 0. */
int ctl_notify_ready(int fd);

/* Whether this process has capability @cap (CAP_*, linux/capability.h) in
 * its effective set, asked through libcap-ng (capng_have_capability()). */
bool ctl_have_cap(unsigned int cap);

/* First line of `link show` for @l, also used by `addr show`. */
void link_print_header(FILE *f, const struct nl_link *l);

/*
 * Object entry points: @argv[0] is the object's name, the verb follows.
 * Each returns a CTL_EXIT_* code; the *_usage() functions print the
 * object's synopsis.
 */
int netns_main(int argc, char **argv);
void netns_usage(FILE *f);
int link_main(int argc, char **argv);
void link_usage(FILE *f);
int addr_main(int argc, char **argv);
void addr_usage(FILE *f);
int route_main(int argc, char **argv);
void route_usage(FILE *f);
int forward_main(int argc, char **argv);
void forward_usage(FILE *f);
int show_main(int argc, char **argv);
void show_usage(FILE *f);
int genkey_main(int argc, char **argv);
void genkey_usage(FILE *f);
int pubkey_main(int argc, char **argv);
void pubkey_usage(FILE *f);
int genpsk_main(int argc, char **argv);
void genpsk_usage(FILE *f);
int nat_main(int argc, char **argv);
void nat_usage(FILE *f);
int topology_main(int argc, char **argv);
void topology_usage(FILE *f);
int selftest_main(int argc, char **argv);
void selftest_usage(FILE *f);
