/* SPDX-License-Identifier: MIT */
/*
 * TUN/TAP devices through /dev/net/tun (kernel Documentation/networking/
 * tuntap.rst).  Packets carry no extra header (IFF_NO_PI): a TUN read
 * returns one IP packet, a TAP read one Ethernet frame without FCS.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>

enum tun_mode {
	TUN_MODE_TUN, /* layer 3: IFF_TUN */
	TUN_MODE_TAP, /* layer 2: IFF_TAP */
};

/* Room an Ethernet header with one VLAN tag adds to the MTU, bytes. */
#define TUN_TAP_HDR_LEN 18

struct tun_device {
	int fd;              /* non-blocking, close-on-exec; -1 when closed */
	char name[IFNAMSIZ]; /* the kernel's name for the device */
	enum tun_mode mode;
	bool created; /* the device did not exist before tun_open() */
	bool vnet;    /* every read and write starts with a virtio-net header */
};

/*
 * Attaches to the TUN or TAP device @name (1..IFNAMSIZ-1 bytes), creating it
 * when it does not exist; a device created here is not persistent, so the
 * kernel removes it when the descriptor is closed.  Needs CAP_NET_ADMIN
 * unless the device is persistent and owned by the caller's user or group.
 * Returns 0 with @dev filled, or -errno: -EPERM (no CAP_NET_ADMIN / not the
 * owner), -EBUSY (another process has the device open), -EINVAL (@name
 * exists as another kind of device, or is not TUN when TAP was asked or
 * vice versa), -ENAMETOOLONG, -ENOENT (no /dev/net/tun).
 */
int tun_open(struct tun_device *dev, const char *name, enum tun_mode mode);

/*
 * As tun_open(), and when @offload is set also turns on the offloads
 * (kernel Documentation/networking/tuntap.rst, "Multiqueue tuntap
 * interface" and drivers/net/tun.c): IFF_VNET_HDR, so every read and write
 * starts with a VNET_HDR_LEN-byte little-endian virtio-net header
 * (lib/vnet.h; TUNSETVNETLE, TUNSETVNETHDRSZ), and TUNSETOFFLOAD with
 * TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, so the kernel hands
 * over TCP packets of up to 64 KiB with partial checksums and takes them
 * back the same way.  dev->vnet tells whether that worked; a kernel that
 * refuses the offloads leaves a plain device (not an error).  Without
 * @offload, turns off offloads an earlier holder left on a persistent
 * device.  Returns as tun_open().
 */
int tun_open_offload(struct tun_device *dev, const char *name, enum tun_mode mode, bool offload);

/*
 * Takes over @fd, a TUN/TAP descriptor another process attached with
 * TUNSETIFF (a container runtime, a parent that passed it on): reads the
 * device's name and flags with TUNGETIFF, the mode from IFF_TUN/IFF_TAP,
 * and makes @fd non-blocking and close-on-exec.  The device must have been
 * attached with IFF_NO_PI.  One attached with IFF_VNET_HDR gets the
 * offloads as tun_open_offload() sets them (dev->vnet), which needs
 * @offload; without IFF_VNET_HDR the offloads are turned off.
 * dev->created is false: the device is not ours to remove.  Returns 0, or
 * -ENOTTY (@fd is no attached TUN/TAP descriptor), -EBADF, -EPROTO (no
 * IFF_NO_PI), -EPROTONOSUPPORT (IFF_VNET_HDR where @offload is false, or
 * the kernel refused the offloads); on failure @fd stays the caller's.
 */
int tun_from_fd(struct tun_device *dev, int fd, bool offload);

/*
 * The network namespace the device of TUN/TAP fd @fd is in, which may not
 * be the caller's (TUNGETDEVNETNS, Linux 5.2; needs CAP_NET_ADMIN over that
 * namespace).  Returns a new nsfs fd (O_CLOEXEC; the caller closes it) or
 * -errno (-ENOTTY: a kernel without the ioctl).
 */
int tun_dev_netns(int fd);

/* Closes the descriptor (removing a device tun_open() created), turning
 * the offloads off first (a persistent device stays).  Safe to call twice. */
void tun_close(struct tun_device *dev);

/* "No owner" for tun_create_persistent(). */
#define TUN_NO_OWNER ((long)-1)

/*
 * Makes @name a persistent TUN/TAP device, as `ip tuntap add` does
 * (iproute2 ip/iptuntap.c; TUNSETOWNER, TUNSETGROUP, then TUNSETPERSIST):
 * it outlives the descriptor that made it, and the user @uid or group @gid
 * (either may be TUN_NO_OWNER) may attach to it without CAP_NET_ADMIN.
 * Returns 0, -EEXIST when a device of that name exists, -EINVAL for a bad
 * name or mode, or another -errno from /dev/net/tun (-EPERM without
 * CAP_NET_ADMIN).
 */
int tun_create_persistent(const char *name, enum tun_mode mode, long uid, long gid);

/*
 * Clears the persistent flag of TUN/TAP device @name, which the kernel then
 * removes once no descriptor holds it (the fallback for `link del` where
 * RTM_DELLINK is not supported).  Returns 0, -ENODEV when there is no such
 * device, -EINVAL when it is not a TUN/TAP device, or another -errno.
 */
int tun_delete_persistent(const char *name);

/*
 * Reads the MTU of interface @name (bytes) into *@mtu.  Returns 0 or -errno
 * (-ENODEV when no such interface).
 */
int tun_get_mtu(const char *name, int *mtu);

/* Sets the MTU of interface @name to @mtu bytes (SIOCSIFMTU).  Returns 0 or
 * -errno (-EPERM without CAP_NET_ADMIN, -EINVAL for an MTU out of range). */
int tun_set_mtu(const char *name, int mtu);

/* Sets interface @name administratively up, unless it already is.  Returns
 * 0 or -errno (-EPERM without CAP_NET_ADMIN). */
int tun_set_up(const char *name);
