/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"
#include "vnet.h"

#define TUN_PATH "/dev/net/tun"

/* The TUNSETIFF flags for @mode, without a packet-information header. */
static short tun_flags(enum tun_mode mode)
{
	return (mode == TUN_MODE_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
}

/* Opens /dev/net/tun and binds it to @name with TUNSETIFF @flags; the ifreq
 * comes back with the name the kernel chose.  Returns the fd or -errno. */
static int tun_attach(const char *name, short flags, struct ifreq *ifr)
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
	ifr->ifr_flags = flags;
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Sets the header to 10 bytes, little-endian, and the offloads on. */
static int tun_offload_on(int fd)
{
	int le = 1, sz = VNET_HDR_LEN;
	unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	if (ioctl(fd, TUNSETVNETLE, &le) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) < 0)
		return -errno;
	return 0;
}

int tun_open_offload(struct tun_device *dev, const char *name, enum tun_mode mode, bool offload)
{
	struct ifreq ifr;
	bool existed = if_nametoindex(name) != 0;
	int fd = tun_attach(name, tun_flags(mode) | (offload ? IFF_VNET_HDR : 0), &ifr);

	dev->fd = -1;
	dev->vnet = false;
	if (fd < 0)
		return fd;
	if (offload && tun_offload_on(fd) < 0) {
		/* Attach again without the header: the flag is the device's,
		 * set by each TUNSETIFF. */
		close(fd);
		fd = tun_attach(name, tun_flags(mode), &ifr);
		if (fd < 0)
			return fd;
		offload = false;
	}
	/* A persistent device keeps the offloads the last holder set (one
	 * that crashed did not clear them): without the header they must be
	 * off, or the kernel would hand over 64 KiB packets. */
	if (!offload)
		ioctl(fd, TUNSETOFFLOAD, 0UL);
	dev->fd = fd;
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	dev->mode = mode;
	dev->created = !existed;
	dev->vnet = offload;
	return 0;
}

int tun_from_fd(struct tun_device *dev, int fd, bool offload)
{
	struct ifreq ifr;
	int fl;

	dev->fd = -1;
	dev->vnet = false;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADF ? -EBADF : -ENOTTY;
	if (!(ifr.ifr_flags & IFF_NO_PI))
		return -EPROTO;
	if ((ifr.ifr_flags & IFF_VNET_HDR) && !offload)
		return -EPROTONOSUPPORT;
	if ((ifr.ifr_flags & IFF_VNET_HDR) && tun_offload_on(fd) < 0)
		return -EPROTONOSUPPORT;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_VNET_HDR))
		ioctl(fd, TUNSETOFFLOAD, 0UL);
	dev->fd = fd;
	memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
	dev->name[IFNAMSIZ - 1] = '\0';
	dev->mode = (ifr.ifr_flags & IFF_TAP) ? TUN_MODE_TAP : TUN_MODE_TUN;
	dev->created = false;
	dev->vnet = (ifr.ifr_flags & IFF_VNET_HDR) != 0;
	return 0;
}

int tun_dev_netns(int fd)
{
#ifdef TUNGETDEVNETNS
	int ns = ioctl(fd, TUNGETDEVNETNS);

	return ns < 0 ? -errno : ns;
#else
	(void)fd;
	return -ENOTTY;
#endif
}

int tun_open(struct tun_device *dev, const char *name, enum tun_mode mode)
{
	return tun_open_offload(dev, name, mode, false);
}

void tun_close(struct tun_device *dev)
{
	/* A persistent device outlives us: leave it without offloads for
	 * whoever attaches next without the header (simpletun). */
	if (dev->fd >= 0 && dev->vnet)
		ioctl(dev->fd, TUNSETOFFLOAD, 0UL);
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

int tun_create_persistent(const char *name, enum tun_mode mode, long uid, long gid)
{
	struct ifreq ifr;
	int fd, err = 0;

	if (mode != TUN_MODE_TUN && mode != TUN_MODE_TAP)
		return -EINVAL;
	/* TUNSETIFF on an existing name attaches instead of failing (and with
	 * IFF_TUN_EXCL says EBUSY): check first so callers see EEXIST like
	 * every other "link add".  The flag still closes the race. */
	if (name[0] && if_nametoindex(name))
		return -EEXIST;
	fd = tun_attach(name, tun_flags(mode) | IFF_TUN_EXCL, &ifr);
	if (fd < 0)
		return fd;
	if (uid != TUN_NO_OWNER && ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0)
		err = -errno;
	else if (gid != TUN_NO_OWNER && ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)
		err = -errno;
	/* Last, so that a failure above leaves nothing behind at close. */
	else if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
		err = -errno;
	close(fd);
	return err;
}

int tun_delete_persistent(const char *name)
{
	/* TUNSETIFF refuses (EINVAL) a type or queue mode that does not match
	 * the device's, so try each. */
	static const short flags[] = {
	    IFF_TUN | IFF_NO_PI,
	    IFF_TAP | IFF_NO_PI,
	    IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE,
	    IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE,
	};
	struct ifreq ifr;
	int fd = -EINVAL, err = 0;
	size_t i;

	if (strlen(name) >= IFNAMSIZ || !name[0])
		return -EINVAL;
	if (!if_nametoindex(name))
		return -ENODEV;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]) && fd == -EINVAL; i++)
		fd = tun_attach(name, flags[i], &ifr);
	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETPERSIST, 0UL) < 0)
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
