/* SPDX-License-Identifier: MIT */
#include "netwatch.h"

#include <errno.h>
#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"

/* Notifications are a few hundred bytes each; the kernel fills up to the
 * reader's buffer, so this takes a burst in one recv. */
#define NETWATCH_BUFSIZE 32768

struct netwatch {
	struct mnl_socket *sock;
	struct event *ev;
	netwatch_cb cb;
	void *arg;
};

/* One notification: sets *(bool *)@data when it says a link came up or an
 * address was added. */
static int netwatch_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	bool *changed = data;

	if (nlh->nlmsg_type == RTM_NEWLINK) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi) &&
		    (ifi->ifi_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING))
			*changed = true;
	} else if (nlh->nlmsg_type == RTM_NEWADDR) {
		*changed = true;
	}
	return MNL_CB_OK;
}

/* Reads every notification queued; a lost one (ENOBUFS: the socket
 * overflowed) counts as a change, since it may have been one. */
static void netwatch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netwatch *nw = arg;
	char buf[NETWATCH_BUFSIZE];
	bool changed = false;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			changed = true;
			continue;
		}
		if (n <= 0)
			break;
		mnl_cb_run(buf, (size_t)n, 0, 0, netwatch_msg_cb, &changed);
	}
	if (changed) {
		log_debug("underlay: a link came up or an address was added");
		nw->cb(nw->arg);
	}
}

int netwatch_open(struct event_base *base, netwatch_cb cb, void *arg, struct netwatch **out)
{
	struct netwatch *nw = calloc(1, sizeof(*nw));
	int ret;

	if (!nw)
		return -ENOMEM;
	nw->cb = cb;
	nw->arg = arg;
	nw->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nw->sock) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(nw->sock, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	nw->ev = event_new(base, mnl_socket_get_fd(nw->sock), EV_READ | EV_PERSIST,
			   netwatch_read_cb, nw);
	if (!nw->ev || event_add(nw->ev, NULL) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = nw;
	return 0;
fail:
	netwatch_close(nw);
	return ret;
}

void netwatch_close(struct netwatch *nw)
{
	if (!nw)
		return;
	if (nw->ev)
		event_free(nw->ev);
	if (nw->sock)
		mnl_socket_close(nw->sock);
	free(nw);
}
