/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "culvertd";
static int log_level = LOG_LEVEL_INFO;

void log_init(const char *progname, int level)
{
	log_progname = progname;
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

/* Writes one line to stderr: "culvertd: message[: strerror]". */
static void log_vwrite(int level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "%s: %s: %s\n", log_progname, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s\n", log_progname, msg);
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, with_errno ? saved : 0, fmt, ap);                                \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_trace, LOG_LEVEL_TRACE, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
