/* SPDX-License-Identifier: MIT */
/*
 * Logging for culvertd, after OpenBSD's log.c: log_warn() appends
 * strerror(errno), log_warnx() does not; fatal()/fatalx() are for start-up
 * and broken invariants only.  Per-packet events log at debug level only.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_WARN = 0,  /* warnings and errors only */
	LOG_LEVEL_INFO = 1,  /* default: state changes (connected, closed) */
	LOG_LEVEL_DEBUG = 2, /* -v: per-connection detail */
	LOG_LEVEL_TRACE = 3, /* -vv: per-packet detail */
};

/*
 * Sets the program name printed before each line and the level threshold.
 * With @use_syslog, lines go to syslog(3) (facility daemon) instead of
 * stderr.  On stderr, lines carry a local timestamp unless journald reads
 * them ($JOURNAL_STREAM names our stderr), which adds its own.
 */
void log_init(const char *progname, int level, bool use_syslog);

/* Changes the level threshold (SIGHUP). */
void log_set_level(int level);
/* Returns the current threshold. */
int log_get_level(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with status 1 (runtime failure). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
