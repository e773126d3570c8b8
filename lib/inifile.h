/* SPDX-License-Identifier: MIT */
/*
 * The line reader of culvert's INI files (culvert.conf(5) and topology
 * files), for libinih's ini_parse_stream(): it hands inih one physical line
 * at a time without its line end, comment, indentation and trailing white
 * space, counts lines so every message can name FILE:LINE, and refuses
 * what inih would silently cut or misread.
 *
 * Line rules: '#' or ';' at the start of a line or after white space starts
 * a comment that runs to the end of the line ("/a#b" keeps its '#'); lines
 * may be indented and end in LF or CRLF; a UTF-8 byte order mark at the
 * start is skipped; a NUL byte, a line longer than INIFILE_LINE_MAX
 * characters before its comment, or more than @file_max bytes is an error.
 * A line starting with '[' goes to the owner's @section callback before
 * inih sees it (inih says nothing about where a section starts, and a
 * section name may repeat).
 *
 * Nothing here prints or exits.  Messages go to @msg, one line each:
 * "FILE:LINE: ..." or "FILE: ..." (line 0: about the whole file).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest line, in characters, not counting the line end and any comment
 * (inih's INI_MAX_LINE of 200 less '\r', '\n' and NUL). */
#define INIFILE_LINE_MAX 197
/* Room for one message, bytes. */
#define INIFILE_MSG_SIZE 512
/* Bytes of a quoted value kept in a message (conf_quote()). */
#define INIFILE_QUOTE_MAX 48
/* Room inifile_quote() needs for any input, bytes. */
#define INIFILE_QUOTE_SIZE (INIFILE_QUOTE_MAX * 4 + 8)

struct inifile {
	/* The input: a FILE (not owned) or a NUL-terminated string. */
	FILE *file;
	const char *text;
	size_t pos;
	const char *name; /* the file name for messages */
	size_t file_max;  /* bytes read at most; more is an error */
	/* Called with each line that starts with '[' (@line NUL-terminated,
	 * comment and outer white space gone); it may call inifile_fail(). */
	void (*section)(void *user, const char *line);
	void *user;

	unsigned lineno; /* the line last handed to inih */
	size_t bytes;    /* bytes read so far */
	bool started;    /* past the byte order mark check */
	bool stop;       /* an error: hand inih no more lines */
	int error;       /* 0 or the -errno of the first error */
	unsigned error_line;
	char msg[INIFILE_MSG_SIZE];
};

/*
 * The ini_reader for ini_parse_stream(): @stream is a struct inifile.
 * Returns @buf (@num bytes) holding the next line, or NULL at the end of
 * the input or after an error.
 */
char *inifile_reader(char *buf, int num, void *stream);

/*
 * Records the first error of a parse, "FILE:LINE: ..." (or "FILE: ..."
 * when @line is 0), and stops the reader; later errors are ignored.
 */
void inifile_fail(struct inifile *in, int error, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Runs ini_parse_stream() over @in with @handler(@user, ...), then turns
 * inih's own complaint (a line without '=' or ':') and its out-of-memory
 * into errors like the reader's.  Returns 0 or in->error (-EINVAL,
 * -ENOMEM, -EFBIG, -EIO or what the handler recorded), the message in
 * in->msg.
 */
int inifile_parse(struct inifile *in,
		  int (*handler)(void *user, const char *section, const char *name,
				 const char *value),
		  void *user);

/*
 * Opens @path for reading ("re"), refusing a directory.  Returns the
 * stream, or NULL with -errno in *@error (-EISDIR for a directory).
 */
FILE *inifile_open(const char *path, int *error);

/* Writes @s into @out (@size bytes, at least INIFILE_QUOTE_SIZE for any
 * input) with non-printable bytes as \xNN, cut after INIFILE_QUOTE_MAX
 * bytes, so any value makes a one-line message.  Returns @out. */
const char *inifile_quote(char *out, size_t size, const char *s);
