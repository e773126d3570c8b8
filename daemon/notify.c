/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "notify.h"

static void notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

int notify_init(struct event_base *base, struct event **watchdog)
{
	uint64_t usec = 0;
	struct timeval tv;

	*watchdog = NULL;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* Half the interval, as sd_watchdog_enabled(3) recommends: the loop
	 * is alive when its timers fire. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	*watchdog = event_new(base, -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (!*watchdog)
		return -ENOMEM;
	event_add(*watchdog, &tv);
	return 0;
}

/* Sends "PREFIX" followed by STATUS=<formatted text>. */
static void notify_vsend(const char *prefix, const char *fmt, va_list ap)
{
	char status[256];

	vsnprintf(status, sizeof(status), fmt, ap);
	sd_notifyf(0, "%sSTATUS=%s", prefix, status);
}

void notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_vsend("READY=1\n", fmt, ap);
	va_end(ap);
}

void notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_vsend("", fmt, ap);
	va_end(ap);
}

void notify_stopping(struct event *watchdog)
{
	if (watchdog)
		event_free(watchdog);
	sd_notify(0, "STOPPING=1");
}
