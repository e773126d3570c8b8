/* SPDX-License-Identifier: MIT */
/*
 * Dropping root after set-up (doc/design.md section 4), with libcap-ng.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop_target {
	uid_t uid;
	gid_t gid;
	char user[64]; /* for messages */
};

/*
 * Resolves @user (a name or a number) and @group (a name or a number; NULL
 * for @user's primary group) into @target, without changing anything.
 * Returns 0, or -ENOENT with a reason in @err (@errlen bytes).
 */
int privdrop_resolve(const char *user, const char *group, struct privdrop_target *target, char *err,
		     size_t errlen);

/*
 * Becomes @target's user and group for good: supplementary groups dropped,
 * every capability cleared from the permitted, effective, inheritable and
 * ambient sets and from the bounding set (capng_change_id() with
 * CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING), then checks the result.
 * Returns 0, or -EPERM with a reason in @err.  Needs CAP_SETUID, CAP_SETGID
 * and CAP_SETPCAP (root has them).
 */
int privdrop_apply(const struct privdrop_target *target, char *err, size_t errlen);

/*
 * Gives up every capability this (non-root) process holds, e.g. the
 * CAP_NET_ADMIN systemd handed it as an ambient capability for set-up.
 * Returns 0, or -EPERM with a reason in @err.
 */
int privdrop_clear_caps(char *err, size_t errlen);

/* Returns true when this process holds any capability in its effective or
 * permitted set. */
bool privdrop_have_caps(void);
