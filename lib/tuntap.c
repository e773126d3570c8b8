/* SPDX-License-Identifier: MIT */
#include "tuntap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUNTAP_DEV "/dev/net/tun"

/* Attach a new fd to (or create) @name with @flags; returns the fd or -errno. */
static int tuntap_attach(const char *name, short flags)
{
	struct ifreq ifr;
	int fd, ret;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	fd = open(TUNTAP_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int tuntap_add(const char *name, enum tuntap_mode mode, long owner, long group)
{
	short flags = (mode == TUNTAP_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	int fd, ret = 0;

	if (mode != TUNTAP_TUN && mode != TUNTAP_TAP)
		return -EINVAL;
	/*
	 * TUNSETIFF on an existing name attaches instead of failing, and with
	 * IFF_TUN_EXCL says EBUSY; check first so callers see EEXIST like every
	 * other "link add".  The flag still closes the race.
	 */
	if (name && *name && if_nametoindex(name))
		return -EEXIST;
	fd = tuntap_attach(name, flags | IFF_TUN_EXCL);
	if (fd < 0)
		return fd;
	if (owner != TUNTAP_NOBODY && ioctl(fd, TUNSETOWNER, (unsigned long)owner) < 0) {
		ret = -errno;
		goto out;
	}
	if (group != TUNTAP_NOBODY && ioctl(fd, TUNSETGROUP, (unsigned long)group) < 0) {
		ret = -errno;
		goto out;
	}
	/* Last, so that any failure above leaves nothing behind when we close. */
	if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}

int tuntap_del(const char *name)
{
	/* TUNSETIFF refuses (EINVAL) a type or queue mode that does not match. */
	static const short modes[] = {
	    IFF_TUN | IFF_NO_PI,
	    IFF_TAP | IFF_NO_PI,
	    IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE,
	    IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE,
	};
	int fd = -EINVAL, ret = 0;
	size_t i;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	if (!if_nametoindex(name))
		return -ENODEV;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fd = tuntap_attach(name, modes[i]);
		if (fd != -EINVAL)
			break;
	}
	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETPERSIST, 0UL) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
