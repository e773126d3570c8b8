/* SPDX-License-Identifier: MIT */
#include "inifile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *inifile_quote(char *out, size_t size, const char *s)
{
	size_t o = 0, i;

	for (i = 0; s[i] && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == INIFILE_QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			out[o++] = (char)ch;
		} else {
			snprintf(out + o, size - o, "\\x%02x", ch);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}

/* Formats into @out (@size bytes), truncating as needed. */
static void __attribute__((format(printf, 3, 4)))
inifile_msgf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
}

void inifile_fail(struct inifile *p, int error, unsigned line, const char *fmt, ...)
{
	char text[INIFILE_MSG_SIZE];
	va_list ap;

	if (p->error)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line)
		inifile_msgf(p->msg, sizeof(p->msg), "%s:%u: %s", p->name, line, text);
	else
		inifile_msgf(p->msg, sizeof(p->msg), "%s: %s", p->name, text);
	p->error = error;
	p->error_line = line;
	p->stop = true;
}

/* Returns the next byte of the source, or EOF. */
static int inifile_getc(struct inifile *src)
{
	if (src->file)
		return getc(src->file);
	if (!src->text[src->pos])
		return EOF;
	return (unsigned char)src->text[src->pos++];
}

char *inifile_reader(char *buf, int num, void *arg)
{
	static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};
	struct inifile *p = arg;
	size_t limit = INIFILE_LINE_MAX, len = 0;
	unsigned char pending[3];
	size_t npending = 0, i = 0;
	bool comment = false, overlong = false, nul = false, any = false;
	int ch, prev = ' ';

	if (p->stop || num < 4)
		return NULL;
	if ((size_t)num - 3 < limit)
		limit = (size_t)num - 3;
	/* A UTF-8 byte order mark at the very start is skipped; anything
	 * else read while looking for it is the start of the first line. */
	if (!p->started) {
		p->started = true;
		while (npending < 3 && (ch = inifile_getc(p)) != EOF) {
			pending[npending++] = (unsigned char)ch;
			if (pending[npending - 1] != bom[npending - 1])
				break;
		}
		p->bytes += npending;
		if (npending == 3 && !memcmp(pending, bom, 3))
			npending = 0;
	}
	for (;;) {
		if (i < npending) {
			ch = pending[i++];
		} else {
			ch = inifile_getc(p);
			if (ch == EOF)
				break;
			if (++p->bytes > p->file_max) {
				inifile_fail(p, -EFBIG, 0, "larger than %zu bytes", p->file_max);
				return NULL;
			}
		}
		any = true;
		if (ch == '\n')
			break;
		if (ch == '\0')
			nul = true;
		if (comment)
			continue;
		if ((ch == '#' || ch == ';') && isspace(prev)) {
			comment = true;
			continue;
		}
		prev = ch;
		if (len == 0 && isspace(ch))
			continue;
		/* White space past the limit is fine if nothing but a comment
		 * follows: it would be stripped. */
		if (len < limit)
			buf[len++] = (char)ch;
		else if (!isspace(ch))
			overlong = true;
	}
	if (p->file && ferror(p->file)) {
		inifile_fail(p, -errno ? -errno : -EIO, 0, "read: %s",
			     strerror(errno ? errno : EIO));
		return NULL;
	}
	if (!any)
		return NULL;
	p->lineno++;
	if (nul) {
		inifile_fail(p, -EINVAL, p->lineno, "NUL byte in the line");
		return NULL;
	}
	if (overlong) {
		inifile_fail(p, -EINVAL, p->lineno, "line longer than %zu characters", limit);
		return NULL;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (buf[0] == '[' && p->section) {
		p->section(p->user, buf);
		if (p->stop)
			return NULL;
	}
	return buf;
}

int inifile_parse(struct inifile *in,
		  int (*handler)(void *user, const char *section, const char *name,
				 const char *value),
		  void *user)
{
	int rc = ini_parse_stream(inifile_reader, in, handler, user);

	if (rc > 0 && (!in->error || !in->error_line || (unsigned)rc < in->error_line)) {
		/* inih's own complaint: no '=' or ':' on the line.  (An
		 * earlier error of ours would have stopped the parse.) */
		in->error = 0;
		in->stop = false;
		inifile_fail(in, -EINVAL, (unsigned)rc,
			     "cannot parse the line (expected [Section], Key = Value or a "
			     "comment)");
	} else if (rc < 0 && !in->error) {
		inifile_fail(in, -ENOMEM, 0, "out of memory");
	}
	return in->error;
}

FILE *inifile_open(const char *path, int *error)
{
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f) {
		*error = -errno;
		return NULL;
	}
	/* fopen(3) opens a directory for reading; say so now rather than
	 * fail at the first read. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		*error = -EISDIR;
		return NULL;
	}
	return f;
}
