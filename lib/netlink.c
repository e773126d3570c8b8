/* SPDX-License-Identifier: MIT */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Requests are a few hundred bytes; a page is plenty. */
#define NL_REQ_BUFSIZE 4096
/*
 * Dump replies: the kernel fills up to the reader's buffer (at most 32 KiB
 * by default), so a smaller buffer would truncate messages.
 */
#define NL_RECV_BUFSIZE 32768

/* State shared by the data and control callbacks of one request. */
struct nl_req {
	struct nl_handle *nl;
	mnl_cb_t cb;
	void *data;
	int err;   /* -errno a data callback asked to stop with */
	int count; /* messages the data callback accepted */
};

/* Table filled by nl_attr_table_cb(): tb[type] = last attribute of that type. */
struct nl_attr_table {
	const struct nlattr **tb;
	unsigned int max;
};

int nl_open(struct nl_handle *nl, char *extack, size_t extack_len)
{
	int one = 1;
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->extack = extack;
	nl->extack_len = extack ? extack_len : 0;
	if (nl->extack_len)
		nl->extack[0] = '\0';

	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return -errno;
	/* Both are best effort: before Linux 4.12 we just get bare errnos. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
out:
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
	return ret;
}

void nl_close(struct nl_handle *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

int nl_ifindex(const char *name)
{
	unsigned int idx;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	idx = if_nametoindex(name);
	if (!idx)
		return errno ? -errno : -ENODEV;
	return (int)idx;
}

int nl_addr_parse(const char *s, int *family, void *addr, unsigned int *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long n;
	unsigned int max;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';

	memset(addr, 0, NL_ADDR_LEN);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}

	if (!slash) {
		*plen = max;
		return 0;
	}
	if (*slash < '0' || *slash > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(slash, &end, 10);
	if (errno || *end || n > max)
		return -EINVAL;
	*plen = (unsigned int)n;
	return 0;
}

/* mnl_attr_parse() callback that files attributes by type, ignoring unknown ones. */
static int nl_attr_table_cb(const struct nlattr *attr, void *data)
{
	struct nl_attr_table *t = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

/* Read a u32 attribute if present and well-formed; returns 0 or -1. */
static int nl_attr_u32(const struct nlattr *attr, uint32_t *out)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return -1;
	*out = mnl_attr_get_u32(attr);
	return 0;
}

/* Read a u8 attribute if present and well-formed; returns 0 or -1. */
static int nl_attr_u8(const struct nlattr *attr, uint8_t *out)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return -1;
	*out = mnl_attr_get_u8(attr);
	return 0;
}

/* Copy a string attribute into @buf (always NUL-terminated); "" if absent. */
static void nl_attr_str(const struct nlattr *attr, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_STRING) < 0)
		return;
	snprintf(buf, len, "%.*s",
		 (int)strnlen(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr)),
		 (const char *)mnl_attr_get_payload(attr));
}

/* Pick NLMSGERR_ATTR_MSG out of an ack's TLVs into the caller's buffer. */
static int nl_extack_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl_handle *nl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
		nl_attr_str(attr, nl->extack, nl->extack_len);
	return MNL_CB_OK;
}

/* Parse extended-ack TLVs that start @offset bytes into @nlh's payload. */
static void nl_extack_parse(struct nl_handle *nl, const struct nlmsghdr *nlh, size_t offset)
{
	if (!nl->extack_len || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (offset > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, (unsigned int)offset, nl_extack_attr_cb, nl);
}

/*
 * NLMSG_ERROR: error 0 is the ack that ends a request.  The TLVs follow the
 * echoed request, which is just its header when NLM_F_CAPPED (we asked for
 * that with NETLINK_CAP_ACK); see "Extended ACK" in the kernel's
 * Documentation/userspace-api/netlink/intro.rst.
 */
static int nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req *req = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*err);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > sizeof(struct nlmsghdr))
		offset += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nl_extack_parse(req->nl, nlh, offset);
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; a dump that failed midway says so in its payload. */
static int nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req *req = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	nl_extack_parse(req->nl, nlh, sizeof(int));
	if (err < 0) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

/* Data messages go to the request's parser, which returns 0 or -errno. */
static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req *req = data;
	int ret;

	if (!req->cb)
		return MNL_CB_OK;
	ret = req->cb(nlh, req->data);
	if (ret < 0) {
		req->err = ret;
		errno = -ret;
		return MNL_CB_ERROR;
	}
	req->count += ret;
	return MNL_CB_OK;
}

/*
 * Send @nlh and read replies until the ack (or NLMSG_DONE for a dump).
 * @cb gets each data message and returns how many objects it accepted (0 or
 * 1) or -errno to stop.  Returns that count or -errno.
 */
static int nl_request(struct nl_handle *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_RECV_BUFSIZE];
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
	    [NLMSG_ERROR] = nl_error_cb,
	    [NLMSG_DONE] = nl_done_cb,
	};
	struct nl_req req = {.nl = nl, .cb = cb, .data = data};
	unsigned int seq;
	ssize_t n;
	int ret;

	if (!nl->sock)
		return -EBADF;
	if (nl->extack_len)
		nl->extack[0] = '\0';
	seq = ++nl->seq;
	nlh->nlmsg_seq = seq;
	/*
	 * Dumps end with NLMSG_DONE; everything else asks for an explicit ack.
	 * Compare both bits: NLM_F_MATCH shares its value with NLM_F_EXCL.
	 */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run2(buf, (size_t)n, seq, nl->portid, nl_data_cb, &req, ctl,
				  MNL_ARRAY_SIZE(ctl));
		if (ret == MNL_CB_ERROR)
			return req.err ? req.err : -errno;
		if (ret == MNL_CB_STOP)
			return req.count;
	}
}

/* Start a request message of @type in @buf. */
static struct nlmsghdr *nl_msg_new(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* Validate a link or peer name the way the kernel will (dev_valid_name). */
static int nl_name_check(const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	return 0;
}

/* Parse IFLA_INFO_DATA of a tun/tap device (drivers/net/tun.c tun_fill_info). */
static void nl_link_parse_tun(const struct nlattr *nest, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_TUN_MAX + 1] = {0};
	struct nl_attr_table t = {tb, IFLA_TUN_MAX};
	uint32_t v32;
	uint8_t v8;

	if (mnl_attr_parse_nested(nest, nl_attr_table_cb, &t) < 0)
		return;
	if (!nl_attr_u8(tb[IFLA_TUN_TYPE], &v8))
		l->tun_type = v8;
	if (!nl_attr_u32(tb[IFLA_TUN_OWNER], &v32))
		l->tun_owner = v32;
	if (!nl_attr_u32(tb[IFLA_TUN_GROUP], &v32))
		l->tun_group = v32;
	if (!nl_attr_u8(tb[IFLA_TUN_PERSIST], &v8))
		l->tun_persist = v8;
}

/* Parse IFLA_LINKINFO: kind, slave kind and per-kind data we know. */
static void nl_link_parse_info(const struct nlattr *nest, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1] = {0};
	struct nl_attr_table t = {tb, IFLA_INFO_MAX};

	if (mnl_attr_parse_nested(nest, nl_attr_table_cb, &t) < 0)
		return;
	nl_attr_str(tb[IFLA_INFO_KIND], l->kind, sizeof(l->kind));
	nl_attr_str(tb[IFLA_INFO_SLAVE_KIND], l->slave_kind, sizeof(l->slave_kind));
	if (!strcmp(l->kind, "tun") && tb[IFLA_INFO_DATA])
		nl_link_parse_tun(tb[IFLA_INFO_DATA], l);
}

struct nl_link_walk {
	nl_link_cb cb;
	void *data;
};

/* Turn one RTM_NEWLINK into a struct nl_link for the caller. */
static int nl_link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link_walk *w = data;
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	struct nl_attr_table t = {tb, IFLA_MAX};
	const struct ifinfomsg *ifi;
	struct nl_link l;
	uint32_t v32;
	uint8_t v8;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return 0;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifi), nl_attr_table_cb, &t) < 0)
		return -EBADMSG;

	memset(&l, 0, sizeof(l));
	l.index = ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	l.type = ifi->ifi_type;
	l.link_netnsid = -1;
	l.tun_type = -1;
	l.tun_owner = -1;
	l.tun_group = -1;
	l.tun_persist = -1;
	nl_attr_str(tb[IFLA_IFNAME], l.name, sizeof(l.name));
	if (!nl_attr_u32(tb[IFLA_MTU], &v32))
		l.mtu = v32;
	if (!nl_attr_u32(tb[IFLA_MASTER], &v32))
		l.master = (int)v32;
	if (!nl_attr_u32(tb[IFLA_LINK], &v32))
		l.link = (int)v32;
	if (!nl_attr_u32(tb[IFLA_LINK_NETNSID], &v32))
		l.link_netnsid = (int)v32;
	if (!nl_attr_u8(tb[IFLA_OPERSTATE], &v8))
		l.operstate = v8;
	if (tb[IFLA_ADDRESS]) {
		size_t len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);

		if (len <= sizeof(l.lladdr)) {
			memcpy(l.lladdr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), len);
			l.lladdr_len = len;
		}
	}
	if (tb[IFLA_LINKINFO])
		nl_link_parse_info(tb[IFLA_LINKINFO], &l);

	ret = w->cb ? w->cb(&l, w->data) : 0;
	return ret < 0 ? ret : 1;
}

int nl_link_list(struct nl_handle *nl, const char *name, nl_link_cb cb, void *data)
{
	char buf[NL_REQ_BUFSIZE];
	struct nl_link_walk w = {cb, data};
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (name && nl_name_check(name))
		return -EINVAL;
	nlh = nl_msg_new(buf, RTM_GETLINK, name ? 0 : NLM_F_DUMP);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Without this, old kernels leave out VF info only; harmless either way. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_request(nl, nlh, nl_link_msg_cb, &w);
}

int nl_link_add(struct nl_handle *nl, const char *name, const char *kind)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *linkinfo;
	int ret;

	if (nl_name_check(name) || !kind || !*kind)
		return -EINVAL;
	nlh = nl_msg_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, linkinfo);
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

int nl_link_add_veth(struct nl_handle *nl, const char *name, const char *peer, int peer_netns_fd)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi, *peer_ifi;
	struct nlattr *linkinfo, *infodata, *peerinfo;
	int ret;

	if (nl_name_check(name) || nl_name_check(peer))
		return -EINVAL;
	nlh = nl_msg_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	infodata = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER carries a whole ifinfomsg + IFLA_* for the peer (veth_newlink). */
	peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer_ifi = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
	memset(peer_ifi, 0, sizeof(*peer_ifi));
	peer_ifi->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer_ifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, infodata);
	mnl_attr_nest_end(nlh, linkinfo);
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

int nl_link_del(struct nl_handle *nl, const char *name)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	if (nl_name_check(name))
		return -EINVAL;
	nlh = nl_msg_new(buf, RTM_DELLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

void nl_link_change_init(struct nl_link_change *c)
{
	memset(c, 0, sizeof(*c));
	c->mtu = NL_LINK_KEEP;
	c->master = NL_LINK_KEEP;
	c->netns_fd = NL_LINK_KEEP;
}

int nl_link_set(struct nl_handle *nl, const char *name, const struct nl_link_change *c)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	if (nl_name_check(name))
		return -EINVAL;
	if (c->mtu != NL_LINK_KEEP && (c->mtu < 0 || c->mtu > UINT32_MAX))
		return -EINVAL;
	nlh = nl_msg_new(buf, RTM_NEWLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = c->flags & c->flags_mask;
	ifi->ifi_change = c->flags_mask;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (c->mtu != NL_LINK_KEEP)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)c->mtu);
	if (c->master != NL_LINK_KEEP)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
	if (c->netns_fd != NL_LINK_KEEP)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)c->netns_fd);
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

static size_t nl_family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int nl_addr_change(struct nl_handle *nl, int add, int ifindex, int family, const void *addr,
		   unsigned int plen)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen = nl_family_len(family);
	int ret;

	if (!alen || plen > alen * 8 || ifindex <= 0)
		return -EINVAL;
	nlh = nl_msg_new(buf, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (family == AF_INET) {
		/* IFA_LOCAL is the address; IFA_ADDRESS the peer, equal unless point-to-point. */
		mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
		mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	} else {
		mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
		if (add) {
			ifa->ifa_flags = IFA_F_NODAD;
			mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
		}
	}
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

struct nl_addr_walk {
	int ifindex;
	nl_addr_cb cb;
	void *data;
};

/* Turn one RTM_NEWADDR into a struct nl_addr, filtering by interface. */
static int nl_addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_addr_walk *w = data;
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	struct nl_attr_table t = {tb, IFA_MAX};
	const struct ifaddrmsg *ifa;
	const struct nlattr *local, *address;
	struct nl_addr a;
	size_t alen;
	uint32_t flags;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return 0;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (w->ifindex > 0 && (int)ifa->ifa_index != w->ifindex)
		return 0;
	alen = nl_family_len(ifa->ifa_family);
	if (!alen)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifa), nl_attr_table_cb, &t) < 0)
		return -EBADMSG;

	memset(&a, 0, sizeof(a));
	a.family = ifa->ifa_family;
	a.index = (int)ifa->ifa_index;
	a.plen = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.flags = ifa->ifa_flags;
	if (!nl_attr_u32(tb[IFA_FLAGS], &flags))
		a.flags = flags;
	local =
	    tb[IFA_LOCAL] && mnl_attr_get_payload_len(tb[IFA_LOCAL]) == alen ? tb[IFA_LOCAL] : NULL;
	address = tb[IFA_ADDRESS] && mnl_attr_get_payload_len(tb[IFA_ADDRESS]) == alen
		      ? tb[IFA_ADDRESS]
		      : NULL;
	if (!local)
		local = address;
	if (!local)
		return 0;
	memcpy(a.addr, mnl_attr_get_payload(local), alen);
	if (address && address != local && memcmp(mnl_attr_get_payload(address), a.addr, alen)) {
		a.has_peer = 1;
		memcpy(a.peer, mnl_attr_get_payload(address), alen);
	}
	nl_attr_str(tb[IFA_LABEL], a.label, sizeof(a.label));

	ret = w->cb ? w->cb(&a, w->data) : 0;
	return ret < 0 ? ret : 1;
}

int nl_addr_list(struct nl_handle *nl, int ifindex, nl_addr_cb cb, void *data)
{
	char buf[NL_REQ_BUFSIZE];
	struct nl_addr_walk w = {ifindex, cb, data};
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	nlh = nl_msg_new(buf, RTM_GETADDR, NLM_F_DUMP);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return nl_request(nl, nlh, nl_addr_msg_cb, &w);
}

int nl_route_change(struct nl_handle *nl, int add, const struct nl_route *r)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	size_t alen = nl_family_len(r->family);
	int ret;

	if (!alen || r->dst_len > alen * 8 || r->oif < 0)
		return -EINVAL;
	if (add && !r->has_gateway && !r->oif)
		return -EINVAL;
	nlh =
	    nl_msg_new(buf, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)r->family;
	rtm->rtm_dst_len = (unsigned char)r->dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* iproute_modify(): delete matches any scope/protocol, add is boot/unicast. */
	if (add) {
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_type = RTN_UNICAST;
		rtm->rtm_scope = r->has_gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, alen, r->dst);
	if (r->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gateway);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->oif);
	ret = nl_request(nl, nlh, NULL, NULL);
	return ret < 0 ? ret : 0;
}

struct nl_route_walk {
	nl_route_cb cb;
	void *data;
};

/* Turn one RTM_NEWROUTE into a struct nl_route; skip other tables and types. */
static int nl_route_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_route_walk *w = data;
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	struct nl_attr_table t = {tb, RTA_MAX};
	const struct rtmsg *rtm;
	struct nl_route r;
	size_t alen;
	uint32_t v32;
	int ret;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	rtm = mnl_nlmsg_get_payload(nlh);
	alen = nl_family_len(rtm->rtm_family);
	if (!alen || rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*rtm), nl_attr_table_cb, &t) < 0)
		return -EBADMSG;

	memset(&r, 0, sizeof(r));
	r.family = rtm->rtm_family;
	r.dst_len = rtm->rtm_dst_len;
	r.table = rtm->rtm_table;
	if (!nl_attr_u32(tb[RTA_TABLE], &v32))
		r.table = v32;
	if (r.table != RT_TABLE_MAIN)
		return 0;
	r.protocol = rtm->rtm_protocol;
	r.scope = rtm->rtm_scope;
	r.type = rtm->rtm_type;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) == alen)
		memcpy(r.dst, mnl_attr_get_payload(tb[RTA_DST]), alen);
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == alen) {
		r.has_gateway = 1;
		memcpy(r.gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
	}
	if (tb[RTA_PREFSRC] && mnl_attr_get_payload_len(tb[RTA_PREFSRC]) == alen) {
		r.has_prefsrc = 1;
		memcpy(r.prefsrc, mnl_attr_get_payload(tb[RTA_PREFSRC]), alen);
	}
	if (!nl_attr_u32(tb[RTA_OIF], &v32))
		r.oif = (int)v32;
	if (!nl_attr_u32(tb[RTA_PRIORITY], &v32))
		r.priority = v32;

	ret = w->cb ? w->cb(&r, w->data) : 0;
	return ret < 0 ? ret : 1;
}

/* Dump one family's routes. */
static int nl_route_dump(struct nl_handle *nl, int family, struct nl_route_walk *w)
{
	char buf[NL_REQ_BUFSIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	nlh = nl_msg_new(buf, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	return nl_request(nl, nlh, nl_route_msg_cb, w);
}

int nl_route_list(struct nl_handle *nl, int family, nl_route_cb cb, void *data)
{
	struct nl_route_walk w = {cb, data};
	int n4 = 0, n6 = 0;

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (family != AF_INET6) {
		n4 = nl_route_dump(nl, AF_INET, &w);
		if (n4 < 0)
			return n4;
	}
	if (family != AF_INET) {
		n6 = nl_route_dump(nl, AF_INET6, &w);
		/* A kernel without IPv6 just has no IPv6 routes. */
		if (n6 == -EAFNOSUPPORT && family == AF_UNSPEC)
			n6 = 0;
		if (n6 < 0)
			return n6;
	}
	return n4 + n6;
}

/* What nl_route_get_mtu() collects from the kernel's answer. */
struct nl_route_mtu_req {
	unsigned int mtu; /* RTAX_MTU from RTA_METRICS, 0 if none */
	int oif;
};

/* Takes RTA_OIF and RTA_METRICS/RTAX_MTU from the one RTM_NEWROUTE the
 * kernel answers a route lookup with. */
static int nl_route_mtu_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_route_mtu_req *q = data;
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	struct nl_attr_table t = {tb, RTA_MAX};
	const struct nlattr *m;
	uint32_t v32;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct rtmsg), nl_attr_table_cb, &t) < 0)
		return -EBADMSG;
	if (!nl_attr_u32(tb[RTA_OIF], &v32))
		q->oif = (int)v32;
	if (tb[RTA_METRICS])
		mnl_attr_for_each_nested(m, tb[RTA_METRICS]) if (mnl_attr_get_type(m) == RTAX_MTU &&
								 !nl_attr_u32(m, &v32)) q->mtu =
		    v32;
	return 1;
}

/* Reads the MTU of interface @ifindex into *@mtu (RTM_GETLINK by index). */
static int nl_link_mtu_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	struct nl_attr_table t = {tb, IFLA_MAX};
	unsigned int *mtu = data;
	uint32_t v32;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), nl_attr_table_cb, &t) < 0)
		return -EBADMSG;
	if (!nl_attr_u32(tb[IFLA_MTU], &v32))
		*mtu = v32;
	return 1;
}

int nl_route_get_mtu(struct nl_handle *nl, int family, const void *dst, unsigned int *mtu, int *oif)
{
	char buf[NL_REQ_BUFSIZE];
	struct nl_route_mtu_req q = {0};
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct ifinfomsg *ifi;
	size_t alen = nl_family_len(family);
	unsigned int dev_mtu = 0;
	int ret;

	if (!alen)
		return -EAFNOSUPPORT;
	nlh = nl_msg_new(buf, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, dst);
	ret = nl_request(nl, nlh, nl_route_mtu_cb, &q);
	if (ret < 0)
		return ret;
	if (ret == 0 || q.oif <= 0)
		return -ENETUNREACH;
	*oif = q.oif;
	if (q.mtu) {
		*mtu = q.mtu;
		return 0;
	}
	nlh = nl_msg_new(buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = q.oif;
	ret = nl_request(nl, nlh, nl_link_mtu_cb, &dev_mtu);
	if (ret < 0)
		return ret;
	if (dev_mtu == 0)
		return -ENODEV;
	*mtu = dev_mtu;
	return 0;
}
