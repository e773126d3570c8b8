/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_progname = "culvertd";
static int log_level = LOG_LEVEL_INFO;
static bool log_syslog;
static bool log_timestamps;

/* True when stderr is the stream journald gave us (systemd.exec(5),
 * $JOURNAL_STREAM is "DEVICE:INODE" of it). */
static bool log_to_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(const char *progname, int level, bool use_syslog)
{
	log_progname = progname;
	log_level = level;
	log_syslog = use_syslog;
	log_timestamps = !use_syslog && !log_to_journal();
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int level)
{
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

	static const int priority[] = {LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
	char stamp[40] = "";

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (errnum)
			syslog(priority[level], "%s: %s", msg, strerror(errnum));
		else
			syslog(priority[level], "%s", msg);
		return;
	}
	if (log_timestamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%03ld ",
			 (long)tv.tv_usec / 1000);
	}
	if (errnum)
		fprintf(stderr, "%s%s: %s: %s\n", stamp, log_progname, msg, strerror(errnum));
	else
		fprintf(stderr, "%s%s: %s\n", stamp, log_progname, msg);
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
