/* SPDX-License-Identifier: MIT */
/*
 * Telling systemd how culvertd is doing (sd_notify(3)): READY=1 once the
 * tunnel serves, STATUS= lines as its state changes, STOPPING=1 at the end,
 * and WATCHDOG=1 at half the interval WatchdogSec= asks for.  Without
 * systemd (no $NOTIFY_SOCKET) every call does nothing.
 */
#pragma once

struct event;
struct event_base;

/* Starts the watchdog timer on @base when systemd asked for one
 * (sd_watchdog_enabled(3)): *@watchdog is then that timer, the caller's to
 * hand to notify_stopping(), else NULL.  Returns 0 or -ENOMEM. */
int notify_init(struct event_base *base, struct event **watchdog);

/* Sends READY=1 with a STATUS= line. */
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends a STATUS= line. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends STOPPING=1 and frees the watchdog timer notify_init() made (NULL:
 * none). */
void notify_stopping(struct event *watchdog);
