/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Administration of persistent TUN/TAP devices, as `ip tuntap add|del`
 * does (iproute2 ip/iptuntap.c): the device outlives the fd that made it,
 * owned by a user and/or group who may then attach to it without
 * CAP_NET_ADMIN.  Opening a device for packet I/O is lib/tun.c's job.
 * Nothing here prints or exits; functions return 0 or -errno.  Devices are
 * made in the calling thread's network namespace.
 */

#include <sys/types.h>

enum tuntap_mode {
	TUNTAP_TUN, /* layer 3, IFF_TUN */
	TUNTAP_TAP, /* layer 2, IFF_TAP */
};

/* Pass as @owner or @group to leave it unset. */
#define TUNTAP_NOBODY ((long)-1)

/*
 * Create persistent device @name (< IFNAMSIZ bytes) of @mode with IFF_NO_PI
 * through /dev/net/tun: TUNSETIFF (with IFF_TUN_EXCL), TUNSETOWNER @owner
 * and TUNSETGROUP @group (uid/gid, or TUNTAP_NOBODY), then TUNSETPERSIST 1.
 * See Documentation/networking/tuntap.rst.  Returns 0, -EEXIST if a device of
 * that name exists, -EINVAL, or -errno (-EPERM without CAP_NET_ADMIN); on
 * failure no device is left.
 */
int tuntap_add(const char *name, enum tuntap_mode mode, long owner, long group);

/*
 * Make persistent tun/tap device @name non-persistent (TUNSETPERSIST 0) so
 * it disappears when its last user closes it: the fallback for kernels whose
 * RTM_DELLINK refuses tun.  Returns 0, -ENODEV, -EINVAL (not a tun/tap
 * device) or -errno.
 */
int tuntap_del(const char *name);
