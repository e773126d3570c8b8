/* SPDX-License-Identifier: MIT */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

/* Parses a whole decimal id; false when @s is not one. */
static bool privdrop_number(const char *s, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *v < (unsigned long)-1 / 2;
}

int privdrop_resolve(const char *user, const char *group, struct privdrop_target *target, char *err,
		     size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	unsigned long v;

	if (pw) {
		target->uid = pw->pw_uid;
		target->gid = pw->pw_gid;
	} else if (privdrop_number(user, &v)) {
		target->uid = (uid_t)v;
		target->gid = (gid_t)v;
	} else {
		snprintf(err, errlen, "no such user '%s'", user);
		return -ENOENT;
	}
	snprintf(target->user, sizeof(target->user), "%s", user);
	if (group) {
		struct group *gr = getgrnam(group);

		if (gr) {
			target->gid = gr->gr_gid;
		} else if (privdrop_number(group, &v)) {
			target->gid = (gid_t)v;
		} else {
			snprintf(err, errlen, "no such group '%s'", group);
			return -ENOENT;
		}
	}
	return 0;
}

bool privdrop_have_caps(void)
{
	capng_get_caps_process();
	return capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE;
}

int privdrop_clear_caps(char *err, size_t errlen)
{
	/* The bounding set stays: changing it needs CAP_SETPCAP, and with
	 * the permitted set empty nothing can be regained (no setuid
	 * binaries under NoNewPrivileges). Emptying permitted and
	 * inheritable empties the ambient set too (capabilities(7)). */
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0 || privdrop_have_caps()) {
		snprintf(err, errlen, "could not give up capabilities");
		return -EPERM;
	}
	return 0;
}

int privdrop_apply(const struct privdrop_target *target, char *err, size_t errlen)
{
	gid_t groups[1];
	int rc;

	capng_clear(CAPNG_SELECT_BOTH);
	rc = capng_change_id((int)target->uid, (int)target->gid,
			     CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc != 0) {
		snprintf(err, errlen,
			 "drop privileges to user %s (uid %u, gid %u): capng_change_id "
			 "failed (%d)",
			 target->user, (unsigned)target->uid, (unsigned)target->gid, rc);
		return -EPERM;
	}
	/* Trust, but verify: no way back to root, no capability left, no
	 * supplementary group. */
	if (getuid() != target->uid || geteuid() != target->uid || getgid() != target->gid ||
	    getegid() != target->gid || setuid(0) == 0 || getgroups(1, groups) > 0 ||
	    privdrop_have_caps()) {
		snprintf(err, errlen, "drop privileges to user %s: still privileged afterwards",
			 target->user);
		return -EPERM;
	}
	return 0;
}
