/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

#define TUN_PATH "/dev/net/tun"

/* Opens /dev/net/tun and binds it to @name with TUNSETIFF; the ifreq comes
 * back with the name the kernel chose. */
static int tun_attach(const char *name, enum tun_mode mode, struct ifreq *ifr)
{
	int fd;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if (name[0] == '\0')
		return -EINVAL;
	fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = (mode == TUN_MODE_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int tun_open(struct tun_device *dev, const char *name, enum tun_mode mode)
{
	struct ifreq ifr;
	bool existed = if_nametoindex(name) != 0;
	int fd = tun_attach(name, mode, &ifr);

	dev->fd = -1;
	if (fd < 0)
		return fd;
	dev->fd = fd;
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	dev->mode = mode;
	dev->created = !existed;
	return 0;
}

void tun_close(struct tun_device *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

int tun_create_persistent(const char *name, enum tun_mode mode, uid_t uid, gid_t gid)
{
	struct ifreq ifr;
	int fd, err = 0;

	if (if_nametoindex(name) != 0)
		return -EEXIST;
	fd = tun_attach(name, mode, &ifr);
	if (fd < 0)
		return fd;
	if (uid != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0)
		err = -errno;
	else if (gid != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)
		err = -errno;
	else if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Runs one SIOC* interface ioctl on a throwaway datagram socket. */
static int tun_ifioctl(unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int tun_ifreq(struct ifreq *ifr, const char *name)
{
	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	memset(ifr, 0, sizeof(*ifr));
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	return 0;
}

int tun_get_mtu(const char *name, int *mtu)
{
	struct ifreq ifr;
	int err = tun_ifreq(&ifr, name);

	if (!err)
		err = tun_ifioctl(SIOCGIFMTU, &ifr);
	if (!err)
		*mtu = ifr.ifr_mtu;
	return err;
}

int tun_set_mtu(const char *name, int mtu)
{
	struct ifreq ifr;
	int err = tun_ifreq(&ifr, name);

	if (err)
		return err;
	ifr.ifr_mtu = mtu;
	return tun_ifioctl(SIOCSIFMTU, &ifr);
}

int tun_set_up(const char *name)
{
	struct ifreq ifr;
	int err = tun_ifreq(&ifr, name);

	if (!err)
		err = tun_ifioctl(SIOCGIFFLAGS, &ifr);
	if (err || (ifr.ifr_flags & IFF_UP))
		return err;
	ifr.ifr_flags |= IFF_UP;
	return tun_ifioctl(SIOCSIFFLAGS, &ifr);
}
