/* SPDX-License-Identifier: MIT */
/*
 * The configuration file parser.  libinih splits each line into a key and a
 * value; everything around it is ours: a reader (inih's ini_reader) feeds
 * inih one line per call, so inih's line numbers and ours agree, and on the
 * way it counts lines, strips comments, indentation, CR and a byte order
 * mark, bounds the line length and the file size, and parses the section
 * headers itself, so that a second [Peer] or an empty unknown section is
 * caught too (Debian's inih reports neither line numbers nor sections to
 * the handler).  None of inih's process-wide settings are touched.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf.h"

/* Quoted values in messages are cut to this many bytes. */
#define CONF_QUOTE_MAX 48
/* Room for one message before it is copied to the caller's buffer. */
#define CONF_MSG_SIZE 512

enum conf_section {
	CONF_SECTION_NONE,
	CONF_SECTION_INTERFACE,
	CONF_SECTION_PEER,
};

static const char *const conf_section_names[] = {
    [CONF_SECTION_NONE] = "",
    [CONF_SECTION_INTERFACE] = "Interface",
    [CONF_SECTION_PEER] = "Peer",
};

static const struct {
	const char *name;
	enum conf_section section;
} conf_keys[CONF_KEY_COUNT] = {
    [CONF_KEY_DEVICE] = {"Device", CONF_SECTION_INTERFACE},
    [CONF_KEY_MODE] = {"Mode", CONF_SECTION_INTERFACE},
    [CONF_KEY_MTU] = {"MTU", CONF_SECTION_INTERFACE},
    [CONF_KEY_PRIVATE_KEY_FILE] = {"PrivateKeyFile", CONF_SECTION_INTERFACE},
    [CONF_KEY_LISTEN] = {"Listen", CONF_SECTION_INTERFACE},
    [CONF_KEY_USER] = {"User", CONF_SECTION_INTERFACE},
    [CONF_KEY_GROUP] = {"Group", CONF_SECTION_INTERFACE},
    [CONF_KEY_LOG_LEVEL] = {"LogLevel", CONF_SECTION_INTERFACE},
    [CONF_KEY_OFFLOAD] = {"Offload", CONF_SECTION_INTERFACE},
    [CONF_KEY_ALLOW_FROM] = {"AllowFrom", CONF_SECTION_INTERFACE},
    [CONF_KEY_SECCOMP] = {"Seccomp", CONF_SECTION_INTERFACE},
    [CONF_KEY_METRICS_LISTEN] = {"MetricsListen", CONF_SECTION_INTERFACE},
    [CONF_KEY_CLAMP_MSS] = {"ClampMSS", CONF_SECTION_INTERFACE},
    [CONF_KEY_PUBLIC_KEY] = {"PublicKey", CONF_SECTION_PEER},
    [CONF_KEY_PRESHARED_KEY_FILE] = {"PresharedKeyFile", CONF_SECTION_PEER},
    [CONF_KEY_ENDPOINT] = {"Endpoint", CONF_SECTION_PEER},
    [CONF_KEY_TRANSPORT] = {"Transport", CONF_SECTION_PEER},
    [CONF_KEY_KEEPALIVE] = {"Keepalive", CONF_SECTION_PEER},
    [CONF_KEY_PLAIN_KEEPALIVE] = {"PlainKeepalive", CONF_SECTION_PEER},
    [CONF_KEY_PLAIN_OFFLOAD] = {"PlainOffload", CONF_SECTION_PEER},
    [CONF_KEY_DEAD_PEER_TIMEOUT] = {"DeadPeerTimeout", CONF_SECTION_PEER},
};

/* Where the reader takes its bytes from: a FILE or a string. */
struct conf_source {
	FILE *file;
	const char *text;
	size_t pos;
};

/* The state of one parse, shared by the reader and the handler. */
struct conf_parse {
	struct conf_source src;
	const char *name; /* the file name for messages */
	struct conf *c;   /* the values parsed so far (a scratch struct) */
	unsigned lineno;  /* the line last handed to inih */
	size_t bytes;     /* bytes read so far */
	enum conf_section section;
	unsigned section_line[3]; /* where each section started, 0: not yet */
	bool started;             /* past the byte order mark check */
	bool stop;                /* an error: hand inih no more lines */
	int error;                /* 0 or the -errno of the first error */
	unsigned error_line;      /* its line (0: not about a line) */
	char msg[CONF_MSG_SIZE];
};

/* Formats a message into @err (@errlen bytes, may be NULL/0). */
static void __attribute__((format(printf, 3, 4)))
conf_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Writes @s into @out (@size bytes) with non-printable bytes as \xNN and
 * cut after CONF_QUOTE_MAX bytes, so any input makes a one-line message. */
static const char *conf_quote(char *out, size_t size, const char *s)
{
	size_t o = 0, i;

	for (i = 0; s[i] && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == CONF_QUOTE_MAX) {
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

/* Records the first error of a parse, "FILE:LINE: ..." (or "FILE: ..."
 * when @line is 0), and stops the reader. */
static void __attribute__((format(printf, 4, 5)))
conf_parse_fail(struct conf_parse *p, int error, unsigned line, const char *fmt, ...)
{
	char text[CONF_MSG_SIZE];
	va_list ap;

	if (p->error)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line)
		conf_errf(p->msg, sizeof(p->msg), "%s:%u: %s", p->name, line, text);
	else
		conf_errf(p->msg, sizeof(p->msg), "%s: %s", p->name, text);
	p->error = error;
	p->error_line = line;
	p->stop = true;
}

/* Parses a decimal number from @min to @max: 1 to 9 digits, no sign, no
 * space (inih has stripped the value). */
static bool conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!s[0] || strlen(s) > 9)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Checks a port: 1..65535, digits only. */
static bool conf_valid_port(const char *s)
{
	unsigned long v;

	return strlen(s) <= 5 && conf_parse_uint(s, 1, 65535, &v);
}

/* Checks the shape of a host name or IPv4 literal: letters, digits, '-',
 * '.' and '_', at most 253 characters (RFC 1035 section 2.3.4).  Nothing
 * is looked up. */
static bool conf_valid_host(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

/*
 * Checks the syntax of an underlay address as endpoint_parse() will read
 * it, without resolving it: "[IPV6]:PORT" (an IPv6 literal, optionally
 * with a %zone), "HOST:PORT" (a name or an IPv4 literal) and, with
 * @passive, ":PORT".  Unlike on the command line, the port is required.
 */
static bool conf_valid_endpoint(const char *s, bool passive)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char addr[INET6_ADDRSTRLEN + 1 + CONF_DEVICE_MAX + 1];
		struct in6_addr in6;
		size_t len;
		char *zone;

		if (!close || close[1] != ':')
			return false;
		len = (size_t)(close - s - 1);
		if (len == 0 || len >= sizeof(addr))
			return false;
		memcpy(addr, s + 1, len);
		addr[len] = '\0';
		zone = strchr(addr, '%');
		if (zone) {
			*zone++ = '\0';
			if (!zone[0] || strlen(zone) > CONF_DEVICE_MAX || strchr(zone, '/'))
				return false;
		}
		if (inet_pton(AF_INET6, addr, &in6) != 1)
			return false;
		return conf_valid_port(close + 2);
	}
	colon = strrchr(s, ':');
	if (!colon)
		return false;
	if (colon == s)
		return passive && conf_valid_port(colon + 1);
	/* A colon in the host: an IPv6 literal without its brackets. */
	if (memchr(s, ':', (size_t)(colon - s)))
		return false;
	return conf_valid_host(s, (size_t)(colon - s)) && conf_valid_port(colon + 1);
}

/* Checks a network device name as the kernel's dev_valid_name() does:
 * 1..15 bytes, not "." or "..", no '/', ':' or white space. */
static bool conf_valid_device(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > CONF_DEVICE_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    !isprint((unsigned char)s[i]))
			return false;
	return true;
}

/* Returns the index of @s in the NULL-terminated @words (ignoring case),
 * or -1. */
static int conf_word(const char *s, const char *const *words)
{
	int i;

	for (i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return i;
	return -1;
}

/* Replaces the string *@field with a copy of @value. */
static int conf_set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/*
 * Parses @value for @key into @c (a scratch struct: on error the field may
 * be half set, never leaked) and sets the key's bit.  On error writes
 * "KEY: 'VALUE' is not ..." into @msg (@size bytes) and returns -EINVAL,
 * or -ENOMEM.
 */
/* AllowFrom: a comma-separated list of prefixes, added to @c's. */
static int conf_parse_prefixes(struct conf *c, const char *value, char *msg, size_t size)
{
	char q[CONF_QUOTE_MAX * 4 + 8], item[CONF_LINE_MAX + 1];
	const char *p = value;

	do {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(item))
			len = sizeof(item) - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		if (c->n_allow_from == CONF_ALLOW_FROM_MAX) {
			conf_errf(msg, size, "AllowFrom: more than %d prefixes",
				  CONF_ALLOW_FROM_MAX);
			return -EINVAL;
		}
		if (endpoint_prefix_parse(item, &c->allow_from[c->n_allow_from]) < 0) {
			conf_errf(msg, size,
				  "AllowFrom: '%s' is not an address prefix (ADDR or ADDR/LEN, "
				  "no host bits set after LEN)",
				  conf_quote(q, sizeof(q), item));
			return -EINVAL;
		}
		c->n_allow_from++;
		p = end ? end + 1 : NULL;
	} while (p);
	return 0;
}

static int conf_parse_value(struct conf *c, enum conf_key key, const char *value, char *msg,
			    size_t size)
{
	static const char *const modes[] = {"tun", "tap", NULL};
	static const char *const transports[] = {"tcp", "udp", NULL};
	static const char *const levels[] = {"warn", "info", "debug", "trace", NULL};
	static const char *const no_yes[] = {"no", "yes", "false", "true", "off", "on", NULL};
	const char *name = conf_keys[key].name;
	uint8_t pub[KEY_LEN];
	char q[CONF_QUOTE_MAX * 4 + 8];
	unsigned long v;
	int i, rc = 0;

	conf_quote(q, sizeof(q), value);
	switch (key) {
	case CONF_KEY_DEVICE:
		if (!conf_valid_device(value))
			goto bad_device;
		strcpy(c->device, value);
		break;
	case CONF_KEY_MODE:
		if ((i = conf_word(value, modes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither tun nor tap", name, q);
			return -EINVAL;
		}
		c->mode = i ? TUN_MODE_TAP : TUN_MODE_TUN;
		break;
	case CONF_KEY_MTU:
		if (!conf_parse_uint(value, CONF_MTU_MIN, CONF_MTU_MAX, &v)) {
			conf_errf(msg, size, "%s: '%s' is not a number from %d to %d", name, q,
				  CONF_MTU_MIN, CONF_MTU_MAX);
			return -EINVAL;
		}
		c->mtu = (int)v;
		break;
	case CONF_KEY_PRIVATE_KEY_FILE:
		if (!value[0])
			goto bad_path;
		rc = conf_set_string(&c->private_key_file, value);
		break;
	case CONF_KEY_PRESHARED_KEY_FILE:
		if (!value[0])
			goto bad_path;
		rc = conf_set_string(&c->preshared_key_file, value);
		break;
	case CONF_KEY_LISTEN:
		if (!conf_valid_endpoint(value, true)) {
			conf_errf(msg, size,
				  "%s: '%s' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 "
				  "address or [IPv6], PORT 1 to 65535)",
				  name, q);
			return -EINVAL;
		}
		rc = conf_set_string(&c->listen, value);
		break;
	case CONF_KEY_ENDPOINT:
		if (!conf_valid_endpoint(value, false)) {
			conf_errf(msg, size,
				  "%s: '%s' is not HOST:PORT (HOST a name, an IPv4 address or "
				  "[IPv6], PORT 1 to 65535)",
				  name, q);
			return -EINVAL;
		}
		rc = conf_set_string(&c->endpoint, value);
		break;
	case CONF_KEY_USER:
	case CONF_KEY_GROUP:
		/* Looked up only when the daemon drops privileges; here just a
		 * name or number without white space or ':'. */
		if (!value[0] || strlen(value) > 255 || strpbrk(value, " \t:")) {
			conf_errf(msg, size, "%s: '%s' is not a user or group name", name, q);
			return -EINVAL;
		}
		rc = conf_set_string(key == CONF_KEY_USER ? &c->user : &c->group, value);
		break;
	case CONF_KEY_LOG_LEVEL:
		if ((i = conf_word(value, levels)) < 0) {
			conf_errf(msg, size, "%s: '%s' is not warn, info, debug or trace", name, q);
			return -EINVAL;
		}
		c->log_level = (enum conf_log_level)i;
		break;
	case CONF_KEY_PUBLIC_KEY:
		if (strlen(value) != KEY_BASE64_LEN || key_from_base64(pub, value) < 0) {
			conf_errf(msg, size, "%s: '%s' is not a base64 32-byte key", name, q);
			return -EINVAL;
		}
		memcpy(c->public_key, value, KEY_BASE64_SIZE);
		break;
	case CONF_KEY_TRANSPORT:
		if ((i = conf_word(value, transports)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither tcp nor udp", name, q);
			return -EINVAL;
		}
		c->transport = i ? CONF_TRANSPORT_UDP : CONF_TRANSPORT_TCP;
		break;
	case CONF_KEY_KEEPALIVE:
		if (!conf_parse_uint(value, 0, CONF_KEEPALIVE_MAX, &v)) {
			conf_errf(msg, size, "%s: '%s' is not a number of seconds from 0 to %d",
				  name, q, CONF_KEEPALIVE_MAX);
			return -EINVAL;
		}
		c->keepalive = (unsigned)v;
		break;
	case CONF_KEY_DEAD_PEER_TIMEOUT:
		if (!conf_parse_uint(value, 0, CONF_DEAD_PEER_TIMEOUT_MAX, &v)) {
			conf_errf(msg, size, "%s: '%s' is not a number of seconds from 0 to %d",
				  name, q, CONF_DEAD_PEER_TIMEOUT_MAX);
			return -EINVAL;
		}
		c->dead_peer_timeout = (unsigned)v;
		break;
	case CONF_KEY_PLAIN_KEEPALIVE:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->plain_keepalive = i % 2;
		break;
	case CONF_KEY_OFFLOAD:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->offload = i % 2;
		break;
	case CONF_KEY_PLAIN_OFFLOAD:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->plain_offload = i % 2;
		break;
	case CONF_KEY_ALLOW_FROM:
		rc = conf_parse_prefixes(c, value, msg, size);
		if (rc < 0)
			return rc;
		break;
	case CONF_KEY_SECCOMP:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->seccomp = i % 2;
		break;
	case CONF_KEY_METRICS_LISTEN:
		if (!conf_valid_endpoint(value, true)) {
			conf_errf(msg, size,
				  "%s: '%s' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 "
				  "address or [IPv6], PORT 1 to 65535)",
				  name, q);
			return -EINVAL;
		}
		rc = conf_set_string(&c->metrics_listen, value);
		break;
	case CONF_KEY_CLAMP_MSS:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->clamp_mss = i % 2;
		break;
	default:
		conf_errf(msg, size, "no such key");
		return -EINVAL;
	}
	if (rc < 0) {
		conf_errf(msg, size, "%s: out of memory", name);
		return rc;
	}
	c->set |= 1u << key;
	return 0;

bad_device:
	conf_errf(msg, size,
		  "%s: '%s' is not a device name (1 to %d characters, no '/', ':' or space)", name,
		  q, CONF_DEVICE_MAX);
	return -EINVAL;
bad_path:
	conf_errf(msg, size, "%s: '' is not a file name", name);
	return -EINVAL;
}

/* Moves @key's value, bit and line from @src to @dst (the string fields
 * change hands; @src's is left NULL). */
static void conf_move(struct conf *dst, struct conf *src, enum conf_key key)
{
	unsigned bit = 1u << key;
	char **ds = NULL, **ss = NULL;

	switch (key) {
	case CONF_KEY_DEVICE:
		memcpy(dst->device, src->device, sizeof(dst->device));
		break;
	case CONF_KEY_MODE:
		dst->mode = src->mode;
		break;
	case CONF_KEY_MTU:
		dst->mtu = src->mtu;
		break;
	case CONF_KEY_PRIVATE_KEY_FILE:
		ds = &dst->private_key_file, ss = &src->private_key_file;
		break;
	case CONF_KEY_LISTEN:
		ds = &dst->listen, ss = &src->listen;
		break;
	case CONF_KEY_USER:
		ds = &dst->user, ss = &src->user;
		break;
	case CONF_KEY_GROUP:
		ds = &dst->group, ss = &src->group;
		break;
	case CONF_KEY_LOG_LEVEL:
		dst->log_level = src->log_level;
		break;
	case CONF_KEY_PUBLIC_KEY:
		memcpy(dst->public_key, src->public_key, sizeof(dst->public_key));
		break;
	case CONF_KEY_PRESHARED_KEY_FILE:
		ds = &dst->preshared_key_file, ss = &src->preshared_key_file;
		break;
	case CONF_KEY_ENDPOINT:
		ds = &dst->endpoint, ss = &src->endpoint;
		break;
	case CONF_KEY_TRANSPORT:
		dst->transport = src->transport;
		break;
	case CONF_KEY_KEEPALIVE:
		dst->keepalive = src->keepalive;
		break;
	case CONF_KEY_PLAIN_KEEPALIVE:
		dst->plain_keepalive = src->plain_keepalive;
		break;
	case CONF_KEY_OFFLOAD:
		dst->offload = src->offload;
		break;
	case CONF_KEY_PLAIN_OFFLOAD:
		dst->plain_offload = src->plain_offload;
		break;
	case CONF_KEY_SECCOMP:
		dst->seccomp = src->seccomp;
		break;
	case CONF_KEY_METRICS_LISTEN:
		ds = &dst->metrics_listen, ss = &src->metrics_listen;
		break;
	case CONF_KEY_CLAMP_MSS:
		dst->clamp_mss = src->clamp_mss;
		break;
	case CONF_KEY_DEAD_PEER_TIMEOUT:
		dst->dead_peer_timeout = src->dead_peer_timeout;
		break;
	case CONF_KEY_ALLOW_FROM:
		memcpy(dst->allow_from, src->allow_from, sizeof(dst->allow_from));
		dst->n_allow_from = src->n_allow_from;
		break;
	default:
		return;
	}
	if (ds) {
		free(*ds);
		*ds = *ss;
		*ss = NULL;
	}
	dst->set = (dst->set & ~bit) | (src->set & bit);
	dst->line[key] = src->line[key];
}

/* Parses a section header line (comments and white space already gone)
 * and makes it the current section. */
static void conf_parse_section(struct conf_parse *p, const char *line)
{
	const char *close = strchr(line, ']');
	char name[CONF_LINE_MAX + 1], q[CONF_QUOTE_MAX * 4 + 8];
	size_t len;
	int s;

	if (!close) {
		conf_parse_fail(p, -EINVAL, p->lineno, "'%s' has no closing ']'",
				conf_quote(q, sizeof(q), line));
		return;
	}
	len = (size_t)(close - line - 1);
	memcpy(name, line + 1, len);
	name[len] = '\0';
	if (close[1]) {
		conf_parse_fail(p, -EINVAL, p->lineno, "text after [%s]",
				conf_quote(q, sizeof(q), name));
		return;
	}
	for (s = CONF_SECTION_INTERFACE; s <= CONF_SECTION_PEER; s++)
		if (strcasecmp(name, conf_section_names[s]) == 0)
			break;
	if (s > CONF_SECTION_PEER) {
		conf_parse_fail(p, -EINVAL, p->lineno,
				"unknown section [%s] (expected [Interface] or [Peer])",
				conf_quote(q, sizeof(q), name));
		return;
	}
	if (p->section_line[s]) {
		if (s == CONF_SECTION_PEER)
			conf_parse_fail(p, -EINVAL, p->lineno,
					"only one [Peer] is supported (the first is on line %u)",
					p->section_line[s]);
		else
			conf_parse_fail(p, -EINVAL, p->lineno,
					"only one [Interface] is allowed (the first is on line %u)",
					p->section_line[s]);
		return;
	}
	p->section_line[s] = p->lineno;
	p->section = (enum conf_section)s;
}

/* Returns the next byte of the source, or EOF. */
static int conf_getc(struct conf_source *src)
{
	if (src->file)
		return getc(src->file);
	if (!src->text[src->pos])
		return EOF;
	return (unsigned char)src->text[src->pos++];
}

/*
 * The ini_reader: hands inih the next physical line in @buf (@num bytes)
 * without its line end, comment, indentation and trailing white space.
 * Returns NULL at the end of the input or after an error.  Too long lines,
 * NUL bytes and the file size limit are errors here; a comment may be of
 * any length.
 */
static char *conf_reader(char *buf, int num, void *arg)
{
	static const unsigned char bom[3] = {0xef, 0xbb, 0xbf};
	struct conf_parse *p = arg;
	size_t limit = CONF_LINE_MAX, len = 0;
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
		while (npending < 3 && (ch = conf_getc(&p->src)) != EOF) {
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
			ch = conf_getc(&p->src);
			if (ch == EOF)
				break;
			if (++p->bytes > CONF_FILE_MAX) {
				conf_parse_fail(p, -EFBIG, 0, "larger than %d bytes",
						CONF_FILE_MAX);
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
	if (p->src.file && ferror(p->src.file)) {
		conf_parse_fail(p, -errno ? -errno : -EIO, 0, "read: %s",
				strerror(errno ? errno : EIO));
		return NULL;
	}
	if (!any)
		return NULL;
	p->lineno++;
	if (nul) {
		conf_parse_fail(p, -EINVAL, p->lineno, "NUL byte in the line");
		return NULL;
	}
	if (overlong) {
		conf_parse_fail(p, -EINVAL, p->lineno, "line longer than %zu characters", limit);
		return NULL;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (buf[0] == '[') {
		conf_parse_section(p, buf);
		if (p->stop)
			return NULL;
	}
	return buf;
}

/* Returns the key named @name (ignoring case), or CONF_KEY_COUNT. */
static enum conf_key conf_find_key(const char *name)
{
	int k;

	for (k = 0; k < CONF_KEY_COUNT; k++)
		if (strcasecmp(name, conf_keys[k].name) == 0)
			break;
	return (enum conf_key)k;
}

/* The ini_handler: one "name = value" of the current line.  Returns 1 to
 * go on, 0 on an error (recorded in the parse state). */
static int conf_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = arg;
	char q[CONF_QUOTE_MAX * 4 + 8], msg[CONF_MSG_SIZE];
	enum conf_key key;
	int rc;

	(void)section; /* ours is p->section, which also knows a second [Peer] */
	if (p->error)
		return 0;
	if (!value) {
		conf_parse_fail(p, -EINVAL, p->lineno, "'%s' has no value",
				conf_quote(q, sizeof(q), name));
		return 0;
	}
	key = conf_find_key(name);
	if (p->section == CONF_SECTION_NONE) {
		conf_parse_fail(p, -EINVAL, p->lineno,
				"key '%s' is outside any section (put it under %s)",
				conf_quote(q, sizeof(q), name),
				key == CONF_KEY_COUNT ? "[Interface] or [Peer]"
				: conf_keys[key].section == CONF_SECTION_PEER ? "[Peer]"
									      : "[Interface]");
		return 0;
	}
	if (key == CONF_KEY_COUNT || conf_keys[key].section != p->section) {
		conf_parse_fail(p, -EINVAL, p->lineno, "unknown key '%s' in [%s]",
				conf_quote(q, sizeof(q), name), conf_section_names[p->section]);
		return 0;
	}
	if ((p->c->set & (1u << key)) && key != CONF_KEY_ALLOW_FROM) {
		conf_parse_fail(p, -EINVAL, p->lineno, "duplicate key %s (first given on line %u)",
				conf_keys[key].name, p->c->line[key]);
		return 0;
	}
	rc = conf_parse_value(p->c, key, value, msg, sizeof(msg));
	if (rc < 0) {
		conf_parse_fail(p, rc, p->lineno, "%s", msg);
		return 0;
	}
	p->c->line[key] = p->lineno;
	return 1;
}

/* Runs inih over @p's source into a scratch struct, then moves every key
 * found into @c, or leaves @c alone on error. */
static int conf_load(struct conf *c, struct conf_parse *p, char *err, size_t errlen)
{
	struct conf tmp;
	int rc, k;

	conf_init(&tmp);
	p->c = &tmp;
	rc = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (rc > 0 && (!p->error || !p->error_line || (unsigned)rc < p->error_line)) {
		/* inih's own complaint: no '=' or ':' on the line.  (An
		 * earlier error of ours would have stopped the parse.) */
		p->error = 0;
		p->stop = false;
		conf_parse_fail(p, -EINVAL, (unsigned)rc,
				"cannot parse the line (expected [Section], Key = Value or a "
				"comment)");
	} else if (rc < 0 && !p->error) {
		conf_parse_fail(p, -ENOMEM, 0, "out of memory");
	}
	if (p->error) {
		conf_errf(err, errlen, "%s", p->msg);
		conf_cleanup(&tmp);
		return p->error;
	}
	for (k = 0; k < CONF_KEY_COUNT; k++)
		if (tmp.set & (1u << k))
			conf_move(c, &tmp, (enum conf_key)k);
	conf_cleanup(&tmp);
	return 0;
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = TUN_MODE_TUN;
	c->transport = CONF_TRANSPORT_TCP;
	c->offload = true;
	c->seccomp = true;
	c->log_level = CONF_LOG_INFO;
}

int conf_load_string(struct conf *c, const char *name, const char *text, char *err, size_t errlen)
{
	struct conf_parse p = {.name = name, .src = {.text = text}};

	return conf_load(c, &p, err, errlen);
}

int conf_load_stream(struct conf *c, const char *name, FILE *f, char *err, size_t errlen)
{
	struct conf_parse p = {.name = name, .src = {.file = f}};

	return conf_load(c, &p, err, errlen);
}

int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		conf_errf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	/* fopen(3) opens a directory for reading; say so now rather than
	 * fail at the first read. */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		conf_errf(err, errlen, "%s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	rc = conf_load_stream(c, path, f, err, errlen);
	fclose(f);
	return rc;
}

/* Formats a validation error at @key's line, "FILE:LINE: " or "FILE: " or
 * nothing before the text, and returns -EINVAL. */
static int __attribute__((format(printf, 6, 7)))
conf_invalid(const struct conf *c, const char *name, enum conf_key key, char *err, size_t errlen,
	     const char *fmt, ...)
{
	char text[CONF_MSG_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!name)
		conf_errf(err, errlen, "%s", text);
	else if (key < CONF_KEY_COUNT && c->line[key])
		conf_errf(err, errlen, "%s:%u: %s", name, c->line[key], text);
	else
		conf_errf(err, errlen, "%s: %s", name, text);
	return -EINVAL;
}

int conf_validate(const struct conf *c, const char *name, char *err, size_t errlen)
{
	bool priv = c->set & CONF_SET_PRIVATE_KEY_FILE, pub = c->set & CONF_SET_PUBLIC_KEY;
	bool listen = c->set & CONF_SET_LISTEN, endpoint = c->set & CONF_SET_ENDPOINT;

	if (!(c->set & CONF_SET_DEVICE))
		return conf_invalid(c, name, CONF_KEY_COUNT, err, errlen,
				    "[Interface] Device is required");
	if (!listen && !endpoint)
		return conf_invalid(c, name, CONF_KEY_COUNT, err, errlen,
				    "give [Interface] Listen or [Peer] Endpoint");
	if (listen && endpoint && c->transport == CONF_TRANSPORT_TCP) {
		if (c->line[CONF_KEY_LISTEN])
			return conf_invalid(c, name, CONF_KEY_ENDPOINT, err, errlen,
					    "[Peer] Endpoint and [Interface] Listen (line %u) "
					    "conflict over TCP: give exactly one",
					    c->line[CONF_KEY_LISTEN]);
		return conf_invalid(c, name, CONF_KEY_ENDPOINT, err, errlen,
				    "[Peer] Endpoint and [Interface] Listen conflict over TCP: "
				    "give exactly one");
	}
	if (priv && !pub)
		return conf_invalid(c, name, CONF_KEY_PRIVATE_KEY_FILE, err, errlen,
				    "[Interface] PrivateKeyFile needs [Peer] PublicKey (sealed "
				    "mode needs both)");
	if (pub && !priv)
		return conf_invalid(c, name, CONF_KEY_PUBLIC_KEY, err, errlen,
				    "[Peer] PublicKey needs [Interface] PrivateKeyFile (sealed "
				    "mode needs both)");
	if ((c->set & CONF_SET_PRESHARED_KEY_FILE) && !(priv && pub))
		return conf_invalid(c, name, CONF_KEY_PRESHARED_KEY_FILE, err, errlen,
				    "[Peer] PresharedKeyFile needs sealed mode ([Interface] "
				    "PrivateKeyFile and [Peer] PublicKey)");
	if (c->keepalive && !priv && !c->plain_keepalive)
		return conf_invalid(c, name, CONF_KEY_KEEPALIVE, err, errlen,
				    "[Peer] Keepalive in plain mode needs PlainKeepalive = yes "
				    "(simpletun would write keepalives to its device)");
	if (c->plain_offload && priv)
		return conf_invalid(c, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
				    "[Peer] PlainOffload is for plain mode (sealed mode "
				    "negotiates offload frames itself)");
	if (c->plain_offload && c->transport != CONF_TRANSPORT_TCP)
		return conf_invalid(c, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
				    "[Peer] PlainOffload needs Transport = tcp (over UDP a "
				    "64 KiB frame would be IP-fragmented)");
	if (c->plain_offload && !c->offload)
		return conf_invalid(c, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
				    "[Peer] PlainOffload needs [Interface] Offload = yes");
	if ((c->set & CONF_SET_GROUP) && !(c->set & CONF_SET_USER))
		return conf_invalid(c, name, CONF_KEY_GROUP, err, errlen,
				    "[Interface] Group needs User");
	if ((c->set & CONF_SET_ALLOW_FROM) && !listen)
		return conf_invalid(c, name, CONF_KEY_ALLOW_FROM, err, errlen,
				    "[Interface] AllowFrom needs Listen (it fences the listener)");
	return 0;
}

int conf_set(struct conf *c, enum conf_key key, const char *value, char *err, size_t errlen)
{
	char msg[CONF_MSG_SIZE];
	struct conf tmp;
	int rc;

	if ((unsigned)key >= CONF_KEY_COUNT || !value) {
		conf_errf(err, errlen, "no such key");
		return -EINVAL;
	}
	conf_init(&tmp);
	if (key == CONF_KEY_ALLOW_FROM) {
		/* Repeated on the command line, the prefixes add up. */
		memcpy(tmp.allow_from, c->allow_from, sizeof(tmp.allow_from));
		tmp.n_allow_from = c->n_allow_from;
	}
	rc = conf_parse_value(&tmp, key, value, msg, sizeof(msg));
	if (rc == 0)
		conf_move(c, &tmp, key);
	else
		conf_errf(err, errlen, "%s", msg);
	conf_cleanup(&tmp);
	return rc;
}

void conf_unset(struct conf *c, enum conf_key key)
{
	struct conf tmp;

	if ((unsigned)key >= CONF_KEY_COUNT)
		return;
	conf_init(&tmp);
	conf_move(c, &tmp, key);
}

const char *conf_key_name(enum conf_key key)
{
	return (unsigned)key < CONF_KEY_COUNT ? conf_keys[key].name : NULL;
}

void conf_cleanup(struct conf *c)
{
	free(c->private_key_file);
	free(c->listen);
	free(c->user);
	free(c->group);
	free(c->preshared_key_file);
	free(c->endpoint);
	free(c->metrics_listen);
	conf_init(c);
}
