/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rtnetlink(7) over libmnl: links, addresses and routes in the calling
 * thread's network namespace.  Functions are prefixed nl_ (this file is
 * netlink.c).  Nothing here prints or exits: every call returns 0, a count,
 * or -errno, and copies the kernel's extended-ack message (if any) into the
 * buffer given to nl_open() so the caller can show it next to strerror().
 *
 * Addresses are in network byte order, interface indexes and lengths in host
 * byte order.  Requests follow what iproute2's `ip` sends for the same verb.
 */

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/* Enough for any NLMSGERR_ATTR_MSG the kernel sends (NL_SET_ERR_MSG strings are short). */
#define NL_EXTACK_LEN 256
/* Room for an IPv6 address; IPv4 uses the first 4 bytes. */
#define NL_ADDR_LEN 16
/* Largest link-layer address kept by nl_link_list() (IFLA_ADDRESS). */
#define NL_LLADDR_LEN 32
#define NL_KIND_LEN   32

/* One rtnetlink socket; embed it, nl_open() it, nl_close() it. */
struct nl_handle {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char *extack;
	size_t extack_len;
};

/*
 * Open and bind a NETLINK_ROUTE socket in the current network namespace,
 * with NETLINK_EXT_ACK and NETLINK_CAP_ACK set (best effort: kernels without
 * them still work, just without messages).  @extack (@extack_len bytes,
 * caller-owned, may be NULL/0) is cleared at the start of every request and
 * receives the kernel's NLMSGERR_ATTR_MSG text, NUL-terminated and truncated
 * to fit.  Returns 0 or -errno from socket()/bind().
 */
int nl_open(struct nl_handle *nl, char *extack, size_t extack_len);

/* Close the socket; safe on a handle nl_open() failed on or already closed. */
void nl_close(struct nl_handle *nl);

/*
 * Interface index of @name in the current namespace (if_nametoindex(3)).
 * Returns the index (> 0), or -ENODEV if no such device, -EINVAL if @name
 * does not fit IFNAMSIZ.
 */
int nl_ifindex(const char *name);

/*
 * Parse "ADDR[/PLEN]" (IPv4 dotted quad or IPv6, inet_pton(3) syntax) into
 * @family (AF_INET or AF_INET6), @addr (NL_ADDR_LEN bytes, network order)
 * and @plen (defaults to 32 or 128 when "/PLEN" is absent).  Returns 0 or
 * -EINVAL.
 */
int nl_addr_parse(const char *s, int *family, void *addr, unsigned int *plen);

/* A link as RTM_NEWLINK describes it; filled by nl_link_list(). */
struct nl_link {
	int index;
	char name[IFNAMSIZ];
	unsigned int flags;      /* IFF_* (ifi_flags), incl. IFF_LOWER_UP */
	unsigned short type;     /* ARPHRD_* */
	unsigned int mtu;        /* bytes; 0 if not reported */
	int master;              /* ifindex of the master (bridge), 0 if none */
	int link;                /* IFLA_LINK, e.g. veth peer index; 0 if none */
	int link_netnsid;        /* namespace id of @link as seen from here; -1 if local */
	unsigned char operstate; /* IF_OPER_* (RFC 2863) */
	unsigned char lladdr[NL_LLADDR_LEN];
	size_t lladdr_len;            /* 0 if the device has no link-layer address */
	char kind[NL_KIND_LEN];       /* IFLA_INFO_KIND ("veth", "bridge", "tun"); "" if none */
	char slave_kind[NL_KIND_LEN]; /* IFLA_INFO_SLAVE_KIND ("bridge" for a port) */
	/* Only for kind "tun" (IFLA_TUN_*, Linux >= 4.15); -1 where not reported. */
	int tun_type;    /* IFF_TUN or IFF_TAP */
	long tun_owner;  /* uid, -1 if none */
	long tun_group;  /* gid, -1 if none */
	int tun_persist; /* 0/1 */
};

/*
 * Called once per link; return 0 to go on, or -errno to stop the walk
 * (nl_link_list() then returns that value).
 */
typedef int (*nl_link_cb)(const struct nl_link *link, void *data);

/*
 * Dump all links (@name NULL) or get the one named @name (RTM_GETLINK with
 * IFLA_IFNAME, as `ip link show NAME`).  Returns the number of links passed
 * to @cb, -ENODEV if @name does not exist, or -errno.
 */
int nl_link_list(struct nl_handle *nl, const char *name, nl_link_cb cb, void *data);

/*
 * Create a link of a kind that needs no IFLA_INFO_DATA, e.g. "bridge" or
 * "dummy" (RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL).  Returns 0, -EEXIST,
 * -EOPNOTSUPP (kind's module missing) or -errno.
 */
int nl_link_add(struct nl_handle *nl, const char *name, const char *kind);

/*
 * Create a veth pair @name <-> @peer (RTM_NEWLINK kind "veth" with
 * VETH_INFO_PEER, see veth(4)).  If @peer_netns_fd >= 0 (an nsfs fd, not
 * consumed) the peer is created directly in that namespace via
 * IFLA_NET_NS_FD.  Returns 0, -EEXIST or -errno.
 */
int nl_link_add_veth(struct nl_handle *nl, const char *name, const char *peer, int peer_netns_fd);

/*
 * Delete link @name (RTM_DELLINK by IFLA_IFNAME).  Returns 0, -ENODEV,
 * -EOPNOTSUPP (device not created by rtnetlink, e.g. old persistent tun) or
 * -errno.
 */
int nl_link_del(struct nl_handle *nl, const char *name);

/* Leave a field of struct nl_link_change as it is. */
#define NL_LINK_KEEP (-1)

/* What nl_link_set() changes; start from nl_link_change_init(). */
struct nl_link_change {
	unsigned int flags;      /* new values of the IFF_* bits in @flags_mask */
	unsigned int flags_mask; /* IFF_* bits to change (ifi_change); 0 = none */
	long mtu;                /* bytes, or NL_LINK_KEEP */
	int master;              /* ifindex, 0 to leave the master, or NL_LINK_KEEP */
	int netns_fd;            /* nsfs fd to move the link to (not consumed), or NL_LINK_KEEP */
};

/* Reset @c so that nl_link_set() changes nothing. */
void nl_link_change_init(struct nl_link_change *c);

/*
 * Apply @c to link @name in one RTM_NEWLINK (as `ip link set` does, so
 * `mtu 1400 up` is atomic from userspace's view).  Returns 0, -ENODEV or
 * -errno.
 */
int nl_link_set(struct nl_handle *nl, const char *name, const struct nl_link_change *c);

/* An address as RTM_NEWADDR describes it; filled by nl_addr_list(). */
struct nl_addr {
	int family;                      /* AF_INET or AF_INET6 */
	int index;                       /* ifindex */
	unsigned int plen;               /* prefix length in bits */
	unsigned char scope;             /* RT_SCOPE_* */
	uint32_t flags;                  /* IFA_F_* (IFA_FLAGS if present) */
	unsigned char addr[NL_ADDR_LEN]; /* IFA_LOCAL, else IFA_ADDRESS; network order */
	int has_peer;                    /* v4 point-to-point: IFA_ADDRESS != IFA_LOCAL */
	unsigned char peer[NL_ADDR_LEN];
	char label[IFNAMSIZ]; /* IFA_LABEL (IPv4 only), "" if none */
};

/* Called once per address; 0 to go on, -errno to stop. */
typedef int (*nl_addr_cb)(const struct nl_addr *addr, void *data);

/*
 * Add (@add != 0) or delete address @addr/@plen of @family on @ifindex.
 * IPv4 sends IFA_LOCAL and IFA_ADDRESS (both the address, as `ip addr add`
 * without `peer`); IPv6 sends IFA_ADDRESS with IFA_F_NODAD so the address is
 * usable at once instead of "tentative" for the DAD period (RFC 4862 5.4):
 * callers that bind or ping right after adding rely on that.  Returns 0,
 * -EEXIST, -EADDRNOTAVAIL (delete of a missing address) or -errno.
 */
int nl_addr_change(struct nl_handle *nl, int add, int ifindex, int family, const void *addr,
		   unsigned int plen);

/*
 * Dump addresses of both families, only those on @ifindex if it is > 0.
 * Returns the number passed to @cb or -errno.
 */
int nl_addr_list(struct nl_handle *nl, int ifindex, nl_addr_cb cb, void *data);

/* A route in the main table; input of nl_route_change(), output of nl_route_list(). */
struct nl_route {
	int family;                     /* AF_INET or AF_INET6 */
	unsigned int dst_len;           /* prefix length; 0 = default */
	unsigned char dst[NL_ADDR_LEN]; /* network order */
	int has_gateway;
	unsigned char gateway[NL_ADDR_LEN];
	int oif; /* output ifindex, 0 if none */
	/* Below: filled by nl_route_list(), ignored by nl_route_change(). */
	uint32_t table;
	unsigned char protocol; /* RTPROT_* */
	unsigned char scope;    /* RT_SCOPE_* */
	unsigned char type;     /* RTN_* */
	uint32_t priority;      /* metric */
	int has_prefsrc;
	unsigned char prefsrc[NL_ADDR_LEN];
};

/* Called once per route; 0 to go on, -errno to stop. */
typedef int (*nl_route_cb)(const struct nl_route *route, void *data);

/*
 * Add (@add != 0) or delete a unicast route in the main table, as `ip route
 * add|del` does: protocol "boot", scope universe with a gateway and link
 * without one (add); scope "nowhere" so any scope matches (delete).  At
 * least one of @r->has_gateway and @r->oif must be set for add.  Returns 0,
 * -EEXIST, -ESRCH (delete: no such route), -ENETUNREACH (gateway not on a
 * connected network) or -errno.
 */
int nl_route_change(struct nl_handle *nl, int add, const struct nl_route *r);

/*
 * Dump unicast routes of the main table, IPv4 then IPv6 (@family AF_UNSPEC)
 * or one family, skipping cached clones.  Returns the number passed to @cb
 * or -errno.
 */
int nl_route_list(struct nl_handle *nl, int family, nl_route_cb cb, void *data);

/*
 * The MTU toward @dst (@family AF_INET or AF_INET6; @dst 4 or 16 bytes,
 * network order), as `ip route get` finds it (RTM_GETROUTE for the one
 * address): RTAX_MTU in RTA_METRICS when the route or the kernel's path MTU
 * cache (RFC 1191/8201, a route exception) gives one, else the MTU of the
 * output device (RTM_GETLINK of RTA_OIF).  Stores it in *@mtu (bytes) and
 * the output interface's index in *@oif.  Needs no privilege.  Returns 0,
 * -ENETUNREACH (no route), -EAFNOSUPPORT or -errno.
 */
int nl_route_get_mtu(struct nl_handle *nl, int family, const void *dst, unsigned int *mtu,
		     int *oif);
