/* SPDX-License-Identifier: MIT */
/*
 * Watching the network for changes that may bring the underlay back: an
 * rtnetlink socket subscribed to link and address events (rtnetlink(7):
 * RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), read from the event
 * loop.  A link that comes up (IFF_UP and IFF_RUNNING) or an address that is
 * added calls the callback, at most once per batch of messages.
 */
#pragma once

struct event_base;
struct netwatch;

/* Called on a change; @arg is what netwatch_open() was given. */
typedef void (*netwatch_cb)(void *arg);

/*
 * Opens the rtnetlink socket in the current network namespace (no
 * privileges needed to receive these groups) and watches it on @base,
 * calling @cb(@arg) on a change.  Returns 0 with *@out set (free it with
 * netwatch_close()), or -errno: from socket(2)/bind(2), or -ENOMEM.
 */
int netwatch_open(struct event_base *base, netwatch_cb cb, void *arg, struct netwatch **out);

/* Stops watching and closes the socket.  NULL is ignored. */
void netwatch_close(struct netwatch *nw);
