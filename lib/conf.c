/* SPDX-License-Identifier: MIT */
/*
 * The configuration file parser.  libinih splits each line into a key and a
 * value; everything around it is ours: a reader (inih's ini_reader) feeds
 * inih one line per call, so inih's line numbers and ours agree, and on the
 * way it counts lines, strips comments, indentation, CR and a byte order
 * mark, bounds the line length and the file size, and parses the section
 * headers itself, so that each [Peer] starts a new peer and an empty unknown
 * section is caught too (Debian's inih reports neither line numbers nor
 * sections to the handler).  None of inih's process-wide settings are touched.
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
#include "inifile.h"
#include "netns.h"

/* Room for one message before it is copied to the caller's buffer. */
#define CONF_MSG_SIZE INIFILE_MSG_SIZE

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
    [CONF_KEY_TRANSPORTS] = {"Transports", CONF_SECTION_INTERFACE},
    [CONF_KEY_PEER_TO_PEER] = {"PeerToPeer", CONF_SECTION_INTERFACE},
    [CONF_KEY_HUB] = {"Hub", CONF_SECTION_INTERFACE},
    [CONF_KEY_DEVICE_NETNS] = {"DeviceNetns", CONF_SECTION_INTERFACE},
    [CONF_KEY_NAME] = {"Name", CONF_SECTION_PEER},
    [CONF_KEY_ALLOWED_IPS] = {"AllowedIPs", CONF_SECTION_PEER},
    [CONF_KEY_PUBLIC_KEY] = {"PublicKey", CONF_SECTION_PEER},
    [CONF_KEY_PRESHARED_KEY_FILE] = {"PresharedKeyFile", CONF_SECTION_PEER},
    [CONF_KEY_ENDPOINT] = {"Endpoint", CONF_SECTION_PEER},
    [CONF_KEY_TRANSPORT] = {"Transport", CONF_SECTION_PEER},
    [CONF_KEY_KEEPALIVE] = {"Keepalive", CONF_SECTION_PEER},
    [CONF_KEY_PLAIN_KEEPALIVE] = {"PlainKeepalive", CONF_SECTION_PEER},
    [CONF_KEY_PLAIN_OFFLOAD] = {"PlainOffload", CONF_SECTION_PEER},
    [CONF_KEY_DEAD_PEER_TIMEOUT] = {"DeadPeerTimeout", CONF_SECTION_PEER},
};

/* The state of one parse, shared by the reader and the handler. */
struct conf_parse {
	struct inifile in; /* the source, the line number, the first error */
	struct conf *c;    /* the values parsed so far (a scratch struct) */
	enum conf_section section;
	unsigned section_line[3]; /* where each section started, 0: not yet */
	unsigned allowed_ips;     /* AllowedIPs prefixes in all peers so far */
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

/* The room an array of @n elements has: the next power of two from 4 (the
 * arrays grow in such steps, so the room need not be stored). */
static size_t conf_room(size_t n)
{
	size_t room = 4;

	while (room < n)
		room *= 2;
	return room;
}

/* Splits the comma-separated @value into items without their surrounding
 * blanks, calling @fn(@arg, item) on each until it returns < 0. */
static int conf_each_item(const char *value, int (*fn)(void *arg, const char *item), void *arg)
{
	char item[CONF_LINE_MAX + 1];
	const char *p = value;
	int rc;

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
		rc = fn(arg, item);
		if (rc < 0)
			return rc;
		p = end ? end + 1 : NULL;
	} while (p);
	return 0;
}

/* The state of one AllowFrom or AllowedIPs value being parsed. */
struct conf_prefix_list {
	struct conf *c;         /* AllowFrom: into c->allow_from */
	struct conf_peer *peer; /* AllowedIPs: into peer->allowed_ips */
	unsigned others;        /* AllowedIPs prefixes in the other peers */
	unsigned line;          /* the line given with each AllowedIPs prefix */
	char *msg;
	size_t size;
};

/* AllowFrom: one prefix, added to c->allow_from. */
static int conf_allow_from_item(void *arg, const char *item)
{
	struct conf_prefix_list *l = arg;
	char q[INIFILE_QUOTE_MAX * 4 + 8];

	if (l->c->n_allow_from == CONF_ALLOW_FROM_MAX) {
		conf_errf(l->msg, l->size, "AllowFrom: more than %d prefixes", CONF_ALLOW_FROM_MAX);
		return -EINVAL;
	}
	if (endpoint_prefix_parse(item, &l->c->allow_from[l->c->n_allow_from]) < 0) {
		conf_errf(l->msg, l->size,
			  "AllowFrom: '%s' is not an address prefix (ADDR or ADDR/LEN, "
			  "no host bits set after LEN)",
			  inifile_quote(q, sizeof(q), item));
		return -EINVAL;
	}
	l->c->n_allow_from++;
	return 0;
}

/*
 * Whether @item is "ADDR/LEN" with a good address and length but host bits
 * set past LEN; if so writes the prefix it was likely meant to be, host
 * bits cleared, into @buf (@size bytes).
 */
static bool conf_prefix_host_bits(const char *item, char *buf, size_t size)
{
	const char *slash = strchr(item, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	struct endpoint_prefix p = {0};
	unsigned long len;
	unsigned i;

	if (!slash || (size_t)(slash - item) >= sizeof(addr))
		return false;
	memcpy(addr, item, (size_t)(slash - item));
	addr[slash - item] = '\0';
	if (inet_pton(AF_INET, addr, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, p.addr) == 1)
		p.family = AF_INET6;
	else
		return false;
	if ((slash[1] == '0' && slash[2]) ||
	    !conf_parse_uint(slash + 1, 0, p.family == AF_INET ? 32 : 128, &len))
		return false;
	p.len = (unsigned)len;
	for (i = 0; i < sizeof(p.addr); i++) {
		unsigned keep = p.len > i * 8 ? p.len - i * 8 : 0;

		if (keep < 8)
			p.addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	endpoint_prefix_format(&p, buf, size);
	return true;
}

/* AllowedIPs: one prefix, added to peer->allowed_ips (grown as needed). */
static int conf_allowed_ips_item(void *arg, const char *item)
{
	struct conf_prefix_list *l = arg;
	struct conf_peer *peer = l->peer;
	char q[INIFILE_QUOTE_MAX * 4 + 8], fixed[ENDPOINT_PREFIX_STRLEN];
	struct endpoint_prefix prefix;

	if (endpoint_prefix_parse(item, &prefix) < 0) {
		inifile_quote(q, sizeof(q), item);
		if (conf_prefix_host_bits(item, fixed, sizeof(fixed)))
			conf_errf(l->msg, l->size,
				  "AllowedIPs: '%s' has host bits set after the prefix length "
				  "(the prefix is %s)",
				  q, fixed);
		else
			conf_errf(l->msg, l->size,
				  "AllowedIPs: '%s' is not an address prefix (ADDR or ADDR/LEN, "
				  "IPv4 or IPv6)",
				  q);
		return -EINVAL;
	}
	if (peer->n_allowed_ips == CONF_ALLOWED_IPS_MAX) {
		conf_errf(l->msg, l->size, "AllowedIPs: more than %d prefixes in one [Peer]",
			  CONF_ALLOWED_IPS_MAX);
		return -EINVAL;
	}
	if (l->others + peer->n_allowed_ips >= CONF_ALLOWED_IPS_TOTAL) {
		conf_errf(l->msg, l->size, "AllowedIPs: more than %d prefixes in all peers",
			  CONF_ALLOWED_IPS_TOTAL);
		return -EINVAL;
	}
	if (!peer->allowed_ips || peer->n_allowed_ips == conf_room(peer->n_allowed_ips)) {
		struct conf_allowed_ip *a =
		    realloc(peer->allowed_ips, conf_room(peer->n_allowed_ips + 1) * sizeof(*a));

		if (!a) {
			conf_errf(l->msg, l->size, "AllowedIPs: out of memory");
			return -ENOMEM;
		}
		peer->allowed_ips = a;
	}
	peer->allowed_ips[peer->n_allowed_ips].prefix = prefix;
	peer->allowed_ips[peer->n_allowed_ips].line = l->line;
	peer->n_allowed_ips++;
	return 0;
}

/* Transports: one of tcp and udp, added to c->transports. */
static int conf_transports_item(void *arg, const char *item)
{
	static const char *const transports[] = {"tcp", "udp", NULL};
	struct conf_prefix_list *l = arg;
	int i = conf_word(item, transports);

	if (i < 0)
		return -EINVAL;
	l->c->transports |= 1u << (i ? CONF_TRANSPORT_UDP : CONF_TRANSPORT_TCP);
	return 0;
}

/* Checks a peer's Name: 1 to CONF_NAME_MAX of [A-Za-z0-9._-]. */
static bool conf_valid_name(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > CONF_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/*
 * Parses @value for @key into @c ([Interface] keys) or @peer ([Peer] keys;
 * scratch structs: on error a field may be half set, never leaked) and sets
 * the key's bit there.  @line is the line of the value (for AllowedIPs),
 * @others the AllowedIPs prefixes held by peers other than @peer.  On error
 * writes "KEY: 'VALUE' is not ..." into @msg (@size bytes) and returns
 * -EINVAL, or -ENOMEM.
 */
static int conf_parse_value(struct conf *c, struct conf_peer *peer, enum conf_key key,
			    const char *value, unsigned line, unsigned others, char *msg,
			    size_t size)
{
	static const char *const modes[] = {"tun", "tap", NULL};
	static const char *const transports[] = {"tcp", "udp", "auto", NULL};
	static const char *const levels[] = {"warn", "info", "debug", "trace", NULL};
	static const char *const no_yes[] = {"no", "yes", "false", "true", "off", "on", NULL};
	const char *name = conf_keys[key].name;
	struct conf_prefix_list list = {
	    .c = c, .peer = peer, .others = others, .line = line, .msg = msg, .size = size};
	uint8_t pub[KEY_LEN];
	char q[INIFILE_QUOTE_MAX * 4 + 8];
	unsigned long v;
	int i, rc = 0;

	inifile_quote(q, sizeof(q), value);
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
		rc = conf_set_string(&peer->preshared_key_file, value);
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
		rc = conf_set_string(&peer->endpoint, value);
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
		memcpy(peer->public_key, value, KEY_BASE64_SIZE);
		break;
	case CONF_KEY_TRANSPORT:
		if ((i = conf_word(value, transports)) < 0) {
			conf_errf(msg, size, "%s: '%s' is not tcp, udp or auto", name, q);
			return -EINVAL;
		}
		peer->transport = i == 0   ? CONF_TRANSPORT_TCP
				  : i == 1 ? CONF_TRANSPORT_UDP
					   : CONF_TRANSPORT_AUTO;
		break;
	case CONF_KEY_KEEPALIVE:
		if (!conf_parse_uint(value, 0, CONF_KEEPALIVE_MAX, &v)) {
			conf_errf(msg, size, "%s: '%s' is not a number of seconds from 0 to %d",
				  name, q, CONF_KEEPALIVE_MAX);
			return -EINVAL;
		}
		peer->keepalive = (unsigned)v;
		break;
	case CONF_KEY_DEAD_PEER_TIMEOUT:
		if (!conf_parse_uint(value, 0, CONF_DEAD_PEER_TIMEOUT_MAX, &v)) {
			conf_errf(msg, size, "%s: '%s' is not a number of seconds from 0 to %d",
				  name, q, CONF_DEAD_PEER_TIMEOUT_MAX);
			return -EINVAL;
		}
		peer->dead_peer_timeout = (unsigned)v;
		break;
	case CONF_KEY_PLAIN_KEEPALIVE:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		peer->plain_keepalive = i % 2;
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
		peer->plain_offload = i % 2;
		break;
	case CONF_KEY_ALLOW_FROM:
		rc = conf_each_item(value, conf_allow_from_item, &list);
		if (rc < 0)
			return rc;
		break;
	case CONF_KEY_ALLOWED_IPS:
		rc = conf_each_item(value, conf_allowed_ips_item, &list);
		if (rc < 0)
			return rc;
		break;
	case CONF_KEY_TRANSPORTS:
		c->transports = 0;
		if (conf_each_item(value, conf_transports_item, &list) < 0) {
			conf_errf(msg, size, "%s: '%s' is not tcp, udp or both (udp, tcp)", name,
				  q);
			return -EINVAL;
		}
		break;
	case CONF_KEY_PEER_TO_PEER:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->peer_to_peer = i % 2;
		break;
	case CONF_KEY_HUB:
		if ((i = conf_word(value, no_yes)) < 0) {
			conf_errf(msg, size, "%s: '%s' is neither yes nor no", name, q);
			return -EINVAL;
		}
		c->hub = i % 2;
		break;
	case CONF_KEY_NAME:
		if (!conf_valid_name(value)) {
			conf_errf(msg, size,
				  "%s: '%s' is not 1 to %d letters, digits, '.', '_' or '-'", name,
				  q, CONF_NAME_MAX);
			return -EINVAL;
		}
		strcpy(peer->name, value);
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
	case CONF_KEY_DEVICE_NETNS:
		if (value[0] != '/' && netns_name_check(value) < 0) {
			conf_errf(msg, size,
				  "%s: '%s' is neither a namespace name (as ip netns gives them: "
				  "no '/', not . or ..) nor an absolute nsfs path",
				  name, q);
			return -EINVAL;
		}
		rc = conf_set_string(&c->device_netns, value);
		break;
	default:
		conf_errf(msg, size, "no such key");
		return -EINVAL;
	}
	if (rc < 0) {
		conf_errf(msg, size, "%s: out of memory", name);
		return rc;
	}
	if (conf_keys[key].section == CONF_SECTION_PEER)
		peer->set |= 1u << key;
	else
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

/* Fills @peer with a peer's defaults: nothing set, TCP. */
static void conf_peer_init(struct conf_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	peer->transport = CONF_TRANSPORT_TCP;
}

/* Frees what @peer owns and leaves it as conf_peer_init() does. */
static void conf_peer_cleanup(struct conf_peer *peer)
{
	free(peer->preshared_key_file);
	free(peer->endpoint);
	free(peer->allowed_ips);
	conf_peer_init(peer);
}

/* Appends a peer (defaults, its header on @section_line) to @c, growing
 * the array as needed.  Returns it, or NULL when out of memory.  The caller
 * keeps n_peers below CONF_PEERS_MAX. */
static struct conf_peer *conf_peer_add(struct conf *c, unsigned section_line)
{
	struct conf_peer *peer;

	if (!c->peers || c->n_peers == conf_room(c->n_peers)) {
		peer = realloc(c->peers, conf_room(c->n_peers + 1) * sizeof(*peer));
		if (!peer)
			return NULL;
		c->peers = peer;
	}
	peer = &c->peers[c->n_peers++];
	conf_peer_init(peer);
	peer->section_line = section_line;
	return peer;
}

/* Moves the [Peer] key @key's value, bit and line from @src to @dst (what
 * @src owns changes hands; @src's pointer is left NULL). */
static void conf_peer_move(struct conf_peer *dst, struct conf_peer *src, enum conf_key key)
{
	unsigned bit = 1u << key;
	char **ds = NULL, **ss = NULL;

	switch (key) {
	case CONF_KEY_NAME:
		memcpy(dst->name, src->name, sizeof(dst->name));
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
	case CONF_KEY_ALLOWED_IPS:
		free(dst->allowed_ips);
		dst->allowed_ips = src->allowed_ips;
		dst->n_allowed_ips = src->n_allowed_ips;
		src->allowed_ips = NULL;
		src->n_allowed_ips = 0;
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
	case CONF_KEY_PLAIN_OFFLOAD:
		dst->plain_offload = src->plain_offload;
		break;
	case CONF_KEY_DEAD_PEER_TIMEOUT:
		dst->dead_peer_timeout = src->dead_peer_timeout;
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

/* Moves the [Interface] key @key's value, bit and line from @src to @dst
 * (the string fields change hands; @src's is left NULL). */
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
	case CONF_KEY_OFFLOAD:
		dst->offload = src->offload;
		break;
	case CONF_KEY_SECCOMP:
		dst->seccomp = src->seccomp;
		break;
	case CONF_KEY_METRICS_LISTEN:
		ds = &dst->metrics_listen, ss = &src->metrics_listen;
		break;
	case CONF_KEY_DEVICE_NETNS:
		ds = &dst->device_netns, ss = &src->device_netns;
		break;
	case CONF_KEY_CLAMP_MSS:
		dst->clamp_mss = src->clamp_mss;
		break;
	case CONF_KEY_ALLOW_FROM:
		memcpy(dst->allow_from, src->allow_from, sizeof(dst->allow_from));
		dst->n_allow_from = src->n_allow_from;
		break;
	case CONF_KEY_TRANSPORTS:
		dst->transports = src->transports;
		break;
	case CONF_KEY_PEER_TO_PEER:
		dst->peer_to_peer = src->peer_to_peer;
		break;
	case CONF_KEY_HUB:
		dst->hub = src->hub;
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
static void conf_parse_section(void *user, const char *line)
{
	struct conf_parse *p = user;
	const char *close = strchr(line, ']');
	char name[CONF_LINE_MAX + 1], q[INIFILE_QUOTE_MAX * 4 + 8];
	size_t len;
	int s;

	if (!close) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno, "'%s' has no closing ']'",
			     inifile_quote(q, sizeof(q), line));
		return;
	}
	len = (size_t)(close - line - 1);
	memcpy(name, line + 1, len);
	name[len] = '\0';
	if (close[1]) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno, "text after [%s]",
			     inifile_quote(q, sizeof(q), name));
		return;
	}
	for (s = CONF_SECTION_INTERFACE; s <= CONF_SECTION_PEER; s++)
		if (strcasecmp(name, conf_section_names[s]) == 0)
			break;
	if (s > CONF_SECTION_PEER) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     "unknown section [%s] (expected [Interface] or [Peer])",
			     inifile_quote(q, sizeof(q), name));
		return;
	}
	if (s == CONF_SECTION_INTERFACE && p->section_line[s]) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     "only one [Interface] is allowed (the first is on line %u)",
			     p->section_line[s]);
		return;
	}
	if (s == CONF_SECTION_PEER) {
		if (p->c->n_peers == CONF_PEERS_MAX) {
			inifile_fail(&p->in, -EINVAL, p->in.lineno, "more than %d [Peer] sections",
				     CONF_PEERS_MAX);
			return;
		}
		if (!conf_peer_add(p->c, p->in.lineno)) {
			inifile_fail(&p->in, -ENOMEM, p->in.lineno, "out of memory");
			return;
		}
	}
	p->section_line[s] = p->in.lineno;
	p->section = (enum conf_section)s;
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
	char q[INIFILE_QUOTE_MAX * 4 + 8], msg[CONF_MSG_SIZE];
	struct conf_peer *peer = NULL;
	unsigned *set, *line, others = 0;
	enum conf_key key;
	int rc;

	(void)section; /* ours is p->section, which also starts each peer */
	if (p->in.error)
		return 0;
	if (!value) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno, "'%s' has no value",
			     inifile_quote(q, sizeof(q), name));
		return 0;
	}
	key = conf_find_key(name);
	if (p->section == CONF_SECTION_NONE) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     "key '%s' is outside any section (put it under %s)",
			     inifile_quote(q, sizeof(q), name),
			     key == CONF_KEY_COUNT                         ? "[Interface] or [Peer]"
			     : conf_keys[key].section == CONF_SECTION_PEER ? "[Peer]"
									   : "[Interface]");
		return 0;
	}
	if (key == CONF_KEY_COUNT || conf_keys[key].section != p->section) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno, "unknown key '%s' in [%s]",
			     inifile_quote(q, sizeof(q), name), conf_section_names[p->section]);
		return 0;
	}
	set = &p->c->set;
	line = p->c->line;
	if (p->section == CONF_SECTION_PEER) {
		/* The section's peer: the last one added. */
		peer = &p->c->peers[p->c->n_peers - 1];
		set = &peer->set;
		line = peer->line;
		others = p->allowed_ips - peer->n_allowed_ips;
	}
	if ((*set & (1u << key)) && key != CONF_KEY_ALLOW_FROM && key != CONF_KEY_ALLOWED_IPS) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     "duplicate key %s (first given on line %u)", conf_keys[key].name,
			     line[key]);
		return 0;
	}
	rc = conf_parse_value(p->c, peer, key, value, p->in.lineno, others, msg, sizeof(msg));
	if (rc < 0) {
		inifile_fail(&p->in, rc, p->in.lineno, "%s", msg);
		return 0;
	}
	line[key] = p->in.lineno; /* AllowFrom, AllowedIPs: the last line */
	if (peer)
		p->allowed_ips = others + peer->n_allowed_ips;
	return 1;
}

/* Runs inih over @p's source into a scratch struct, then moves every key
 * found into @c, or leaves @c alone on error. */
static int conf_load(struct conf *c, struct conf_parse *p, char *err, size_t errlen)
{
	unsigned n_peers = c->n_peers, i;
	struct conf tmp;
	int k;

	conf_init(&tmp);
	p->c = &tmp;
	p->in.file_max = CONF_FILE_MAX;
	p->in.section = conf_parse_section;
	p->in.user = p;
	if (inifile_parse(&p->in, conf_handler, p) < 0) {
		conf_errf(err, errlen, "%s", p->in.msg);
		conf_cleanup(&tmp);
		return p->in.error;
	}
	/* The file's peers go onto @c's in order, the Nth onto the Nth;
	 * room for all first, so that running out leaves @c as it was. */
	while (c->n_peers < tmp.n_peers)
		if (!conf_peer_add(c, 0)) {
			c->n_peers = n_peers; /* the added ones own nothing */
			conf_cleanup(&tmp);
			conf_errf(err, errlen, "%s: out of memory", p->in.name);
			return -ENOMEM;
		}
	for (k = 0; k < CONF_KEY_COUNT; k++)
		if (tmp.set & (1u << k))
			conf_move(c, &tmp, (enum conf_key)k);
	for (i = 0; i < tmp.n_peers; i++) {
		c->peers[i].section_line = tmp.peers[i].section_line;
		for (k = 0; k < CONF_KEY_COUNT; k++)
			if (tmp.peers[i].set & (1u << k))
				conf_peer_move(&c->peers[i], &tmp.peers[i], (enum conf_key)k);
	}
	conf_cleanup(&tmp);
	return 0;
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = TUN_MODE_TUN;
	c->offload = true;
	c->peer_to_peer = true;
	c->seccomp = true;
	c->log_level = CONF_LOG_INFO;
}

int conf_load_string(struct conf *c, const char *name, const char *text, char *err, size_t errlen)
{
	struct conf_parse p = {.in = {.name = name, .text = text}};

	return conf_load(c, &p, err, errlen);
}

int conf_load_stream(struct conf *c, const char *name, FILE *f, char *err, size_t errlen)
{
	struct conf_parse p = {.in = {.name = name, .file = f}};

	return conf_load(c, &p, err, errlen);
}

int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	f = inifile_open(path, &rc);
	if (!f) {
		conf_errf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = conf_load_stream(c, path, f, err, errlen);
	fclose(f);
	return rc;
}

/* Formats a validation error at @line, "FILE:LINE: " or "FILE: " (@line
 * 0) or nothing (@name NULL) before the text, and returns -EINVAL. */
static int __attribute__((format(printf, 5, 6)))
conf_invalid_at(const char *name, unsigned line, char *err, size_t errlen, const char *fmt, ...)
{
	char text[CONF_MSG_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!name)
		conf_errf(err, errlen, "%s", text);
	else if (line)
		conf_errf(err, errlen, "%s:%u: %s", name, line, text);
	else
		conf_errf(err, errlen, "%s: %s", name, text);
	return -EINVAL;
}

/* As conf_invalid_at(), at [Interface] @key's line (CONF_KEY_COUNT: none). */
#define conf_invalid(c, name, key, err, errlen, ...)                                               \
	conf_invalid_at(name, (key) < CONF_KEY_COUNT ? (c)->line[key] : 0, err, errlen, __VA_ARGS__)

/* As conf_invalid_at(), at @peer's @key's line (CONF_KEY_COUNT: its
 * [Peer] header's). */
#define conf_peer_invalid(peer, name, key, err, errlen, ...)                                       \
	conf_invalid_at(name, (key) < CONF_KEY_COUNT ? (peer)->line[key] : (peer)->section_line,   \
			err, errlen, __VA_ARGS__)

/* Checks one peer against the interface (@c, which holds it) and against
 * the sealed/plain rules.  Returns 0 or -EINVAL with the message. */
static int conf_validate_peer(const struct conf *c, const struct conf_peer *peer, const char *name,
			      char *err, size_t errlen)
{
	bool priv = c->set & CONF_SET_PRIVATE_KEY_FILE, pub = peer->set & CONF_SET_PUBLIC_KEY;
	bool listen = c->set & CONF_SET_LISTEN, endpoint = peer->set & CONF_SET_ENDPOINT;
	bool tcp_listener = !c->transports || (c->transports & CONF_TRANSPORTS_TCP);

	/* A plain hub's Endpoint names where the peer's connections come from. */
	if (listen && endpoint && peer->transport == CONF_TRANSPORT_TCP && tcp_listener &&
	    !c->hub) {
		if (c->line[CONF_KEY_LISTEN])
			return conf_peer_invalid(peer, name, CONF_KEY_ENDPOINT, err, errlen,
						 "[Peer] Endpoint and [Interface] Listen (line %u) "
						 "conflict over TCP: give exactly one",
						 c->line[CONF_KEY_LISTEN]);
		return conf_peer_invalid(peer, name, CONF_KEY_ENDPOINT, err, errlen,
					 "[Peer] Endpoint and [Interface] Listen conflict over "
					 "TCP: give exactly one");
	}
	if (priv && !pub) {
		if (c->n_peers == 1)
			return conf_invalid(c, name, CONF_KEY_PRIVATE_KEY_FILE, err, errlen,
					    "[Interface] PrivateKeyFile needs [Peer] PublicKey "
					    "(sealed mode needs both)");
		if (c->line[CONF_KEY_PRIVATE_KEY_FILE])
			return conf_peer_invalid(peer, name, CONF_KEY_COUNT, err, errlen,
						 "[Peer] has no PublicKey ([Interface] "
						 "PrivateKeyFile on line %u seals every peer)",
						 c->line[CONF_KEY_PRIVATE_KEY_FILE]);
		return conf_peer_invalid(peer, name, CONF_KEY_COUNT, err, errlen,
					 "[Peer] has no PublicKey ([Interface] PrivateKeyFile "
					 "seals every peer)");
	}
	if (pub && !priv)
		return conf_peer_invalid(peer, name, CONF_KEY_PUBLIC_KEY, err, errlen,
					 "[Peer] PublicKey needs [Interface] PrivateKeyFile "
					 "(sealed mode needs both)");
	if ((peer->set & CONF_SET_PRESHARED_KEY_FILE) && !(priv && pub))
		return conf_peer_invalid(peer, name, CONF_KEY_PRESHARED_KEY_FILE, err, errlen,
					 "[Peer] PresharedKeyFile needs sealed mode ([Interface] "
					 "PrivateKeyFile and [Peer] PublicKey)");
	if (peer->keepalive && !priv && !peer->plain_keepalive)
		return conf_peer_invalid(peer, name, CONF_KEY_KEEPALIVE, err, errlen,
					 "[Peer] Keepalive in plain mode needs PlainKeepalive = "
					 "yes (simpletun would write keepalives to its device)");
	if (peer->plain_offload && priv)
		return conf_peer_invalid(peer, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
					 "[Peer] PlainOffload is for plain mode (sealed mode "
					 "negotiates offload frames itself)");
	if (peer->plain_offload && peer->transport != CONF_TRANSPORT_TCP)
		return conf_peer_invalid(peer, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
					 "[Peer] PlainOffload needs Transport = tcp (over UDP a "
					 "64 KiB frame would be IP-fragmented)");
	if (peer->plain_offload && !c->offload)
		return conf_peer_invalid(peer, name, CONF_KEY_PLAIN_OFFLOAD, err, errlen,
					 "[Peer] PlainOffload needs [Interface] Offload = yes");
	if (peer->transport == CONF_TRANSPORT_AUTO && !endpoint)
		return conf_peer_invalid(peer, name, CONF_KEY_TRANSPORT, err, errlen,
					 "[Peer] Transport = auto needs Endpoint (it tries UDP "
					 "towards it, then TCP)");
	/* A peer that only the listener reaches must use what it serves. */
	if (listen && !endpoint && c->transports && (peer->set & CONF_SET_TRANSPORT) &&
	    !(c->transports & (1u << peer->transport)))
		return conf_peer_invalid(peer, name, CONF_KEY_TRANSPORT, err, errlen,
					 "[Peer] Transport = %s, but [Interface] Transports "
					 "(line %u) serves only %s and the peer has no Endpoint",
					 peer->transport == CONF_TRANSPORT_UDP ? "udp" : "tcp",
					 c->line[CONF_KEY_TRANSPORTS],
					 peer->transport == CONF_TRANSPORT_UDP ? "tcp" : "udp");
	if (!listen && !endpoint)
		return conf_peer_invalid(peer, name, CONF_KEY_COUNT, err, errlen,
					 "[Peer] needs Endpoint: without [Interface] Listen "
					 "nothing reaches it");
	if (c->hub && !endpoint && !priv && peer->section_line)
		return conf_peer_invalid(peer, name, CONF_KEY_COUNT, err, errlen,
					 "[Peer] of a plain hub (Hub = yes) needs Endpoint: the "
					 "address its connections or datagrams come from");
	if (peer->n_allowed_ips && c->mode == TUN_MODE_TAP)
		return conf_peer_invalid(peer, name, CONF_KEY_ALLOWED_IPS, err, errlen,
					 "[Peer] AllowedIPs needs Mode = tun (over TAP the "
					 "peers' MAC addresses are learned)");
	/* Plain peers have no key to tell them apart: with several, each
	 * needs an address of its own. */
	if (c->n_peers > 1 && !pub && !endpoint && !peer->n_allowed_ips)
		return conf_peer_invalid(peer, name, CONF_KEY_COUNT, err, errlen,
					 "plain [Peer] with neither Endpoint nor AllowedIPs (with "
					 "several peers it could be any of them)");
	return 0;
}

/* One AllowedIPs prefix of one peer, for the check for duplicates. */
struct conf_ip_ref {
	const struct endpoint_prefix *prefix;
	unsigned line;
	unsigned peer;
};

/* Orders prefixes by family, length, then address. */
static int conf_prefix_cmp(const struct endpoint_prefix *x, const struct endpoint_prefix *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* Orders by prefix, then line, then peer. */
static int conf_ip_ref_cmp(const void *a, const void *b)
{
	const struct conf_ip_ref *x = a, *y = b;
	int d = conf_prefix_cmp(x->prefix, y->prefix);

	if (d)
		return d;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->peer < y->peer ? -1 : x->peer > y->peer;
}

/* No prefix may be given twice, in one peer or two: the one that comes
 * last in the file is reported.  Sorts copies (O(n log n) in the
 * CONF_ALLOWED_IPS_TOTAL prefixes).  Returns 0, -EINVAL or -ENOMEM. */
static int conf_validate_allowed_ips(const struct conf *c, const char *name, char *err,
				     size_t errlen)
{
	struct conf_ip_ref *refs, *dup = NULL;
	size_t n = 0, i, j;
	char buf[ENDPOINT_PREFIX_STRLEN];
	int rc = 0;

	for (i = 0; i < c->n_peers; i++)
		n += c->peers[i].n_allowed_ips;
	if (n < 2)
		return 0;
	if (n > CONF_ALLOWED_IPS_TOTAL)
		return conf_invalid_at(name, 0, err, errlen,
				       "AllowedIPs: more than %d prefixes in all peers",
				       CONF_ALLOWED_IPS_TOTAL);
	refs = malloc(n * sizeof(*refs));
	if (!refs) {
		conf_errf(err, errlen, "%s%sout of memory", name ? name : "", name ? ": " : "");
		return -ENOMEM;
	}
	n = 0;
	for (i = 0; i < c->n_peers; i++)
		for (j = 0; j < c->peers[i].n_allowed_ips; j++) {
			refs[n].prefix = &c->peers[i].allowed_ips[j].prefix;
			refs[n].line = c->peers[i].allowed_ips[j].line;
			refs[n].peer = (unsigned)i;
			n++;
		}
	qsort(refs, n, sizeof(*refs), conf_ip_ref_cmp);
	for (i = 1; i < n; i++)
		if (conf_prefix_cmp(refs[i - 1].prefix, refs[i].prefix) == 0 &&
		    (!dup || refs[i].line < dup[1].line))
			dup = &refs[i - 1];
	if (dup) {
		endpoint_prefix_format(dup[1].prefix, buf, sizeof(buf));
		if (dup[0].peer == dup[1].peer)
			rc = conf_invalid_at(name, dup[1].line, err, errlen,
					     "AllowedIPs: %s is given twice in this [Peer] (line "
					     "%u)",
					     buf, dup[0].line);
		else
			rc = conf_invalid_at(name, dup[1].line, err, errlen,
					     "AllowedIPs: %s is also the [Peer] on line %u's "
					     "(line %u): a prefix routes to one peer",
					     buf, c->peers[dup[0].peer].section_line, dup[0].line);
	}
	free(refs);
	return rc;
}

int conf_validate(const struct conf *c, const char *name, char *err, size_t errlen)
{
	bool listen = c->set & CONF_SET_LISTEN, endpoint = false;
	unsigned i, j;
	int rc;

	for (i = 0; i < c->n_peers; i++)
		endpoint |= (c->peers[i].set & CONF_SET_ENDPOINT) != 0;
	if (!(c->set & CONF_SET_DEVICE))
		return conf_invalid(c, name, CONF_KEY_COUNT, err, errlen,
				    "[Interface] Device is required");
	if (!listen && !endpoint)
		return conf_invalid(c, name, CONF_KEY_COUNT, err, errlen,
				    "give [Interface] Listen or [Peer] Endpoint");
	if ((c->set & CONF_SET_PRIVATE_KEY_FILE) && c->n_peers == 0)
		return conf_invalid(c, name, CONF_KEY_PRIVATE_KEY_FILE, err, errlen,
				    "[Interface] PrivateKeyFile needs [Peer] PublicKey (sealed "
				    "mode needs both)");
	for (i = 0; i < c->n_peers; i++) {
		rc = conf_validate_peer(c, &c->peers[i], name, err, errlen);
		if (rc < 0)
			return rc;
	}
	if ((c->set & CONF_SET_GROUP) && !(c->set & CONF_SET_USER))
		return conf_invalid(c, name, CONF_KEY_GROUP, err, errlen,
				    "[Interface] Group needs User");
	if ((c->set & CONF_SET_ALLOW_FROM) && !listen)
		return conf_invalid(c, name, CONF_KEY_ALLOW_FROM, err, errlen,
				    "[Interface] AllowFrom needs Listen (it fences the listener)");
	if ((c->set & CONF_SET_TRANSPORTS) && !listen)
		return conf_invalid(c, name, CONF_KEY_TRANSPORTS, err, errlen,
				    "[Interface] Transports needs Listen (it says what the "
				    "listener serves)");
	if (c->hub && !listen)
		return conf_invalid(c, name, CONF_KEY_HUB, err, errlen,
				    "[Interface] Hub needs Listen (its peers are the connections "
				    "it accepts)");
	if (c->hub && c->private_key_file)
		return conf_invalid(c, name, CONF_KEY_HUB, err, errlen,
				    "[Interface] Hub is for plain mode (a sealed hub is made of "
				    "its [Peer] sections)");
	/* Names and keys tell peers apart: each at most once.  Quadratic in
	 * CONF_PEERS_MAX at worst, half a million comparisons. */
	for (i = 1; i < c->n_peers; i++) {
		const struct conf_peer *b = &c->peers[i];

		for (j = 0; j < i; j++) {
			const struct conf_peer *a = &c->peers[j];

			if (b->name[0] && strcmp(a->name, b->name) == 0)
				return conf_peer_invalid(b, name, CONF_KEY_NAME, err, errlen,
							 "Name %s is also the [Peer] on line %u's",
							 b->name, a->section_line);
			if (b->public_key[0] && strcmp(a->public_key, b->public_key) == 0)
				return conf_peer_invalid(b, name, CONF_KEY_PUBLIC_KEY, err, errlen,
							 "PublicKey is also the [Peer] on line "
							 "%u's: one key, one peer",
							 a->section_line);
		}
	}
	return conf_validate_allowed_ips(c, name, err, errlen);
}

int conf_set(struct conf *c, enum conf_key key, const char *value, char *err, size_t errlen)
{
	char msg[CONF_MSG_SIZE];
	struct conf_peer ptmp, *first = c->n_peers ? &c->peers[0] : NULL;
	struct conf tmp;
	unsigned others = 0, i;
	int rc;

	if ((unsigned)key >= CONF_KEY_COUNT || !value) {
		conf_errf(err, errlen, "no such key");
		return -EINVAL;
	}
	conf_init(&tmp);
	conf_peer_init(&ptmp);
	if (key == CONF_KEY_ALLOW_FROM) {
		/* Repeated on the command line, the prefixes add up. */
		memcpy(tmp.allow_from, c->allow_from, sizeof(tmp.allow_from));
		tmp.n_allow_from = c->n_allow_from;
	}
	if (key == CONF_KEY_ALLOWED_IPS && first && first->n_allowed_ips) {
		/* So do the first peer's, into a copy. */
		ptmp.allowed_ips =
		    malloc(conf_room(first->n_allowed_ips) * sizeof(*ptmp.allowed_ips));
		if (!ptmp.allowed_ips) {
			conf_errf(err, errlen, "%s: out of memory", conf_keys[key].name);
			return -ENOMEM;
		}
		memcpy(ptmp.allowed_ips, first->allowed_ips,
		       first->n_allowed_ips * sizeof(*ptmp.allowed_ips));
		ptmp.n_allowed_ips = first->n_allowed_ips;
	}
	for (i = 1; i < c->n_peers; i++)
		others += c->peers[i].n_allowed_ips;
	rc = conf_parse_value(&tmp, &ptmp, key, value, 0, others, msg, sizeof(msg));
	if (rc == 0 && conf_keys[key].section == CONF_SECTION_PEER && !first) {
		first = conf_peer_add(c, 0);
		if (!first) {
			conf_errf(msg, sizeof(msg), "%s: out of memory", conf_keys[key].name);
			rc = -ENOMEM;
		}
	}
	if (rc < 0)
		conf_errf(err, errlen, "%s", msg);
	else if (conf_keys[key].section == CONF_SECTION_PEER)
		conf_peer_move(first, &ptmp, key);
	else
		conf_move(c, &tmp, key);
	conf_cleanup(&tmp);
	conf_peer_cleanup(&ptmp);
	return rc;
}

void conf_unset(struct conf *c, enum conf_key key)
{
	struct conf_peer ptmp;
	struct conf tmp;

	if ((unsigned)key >= CONF_KEY_COUNT)
		return;
	if (conf_keys[key].section == CONF_SECTION_PEER) {
		if (c->n_peers) {
			conf_peer_init(&ptmp);
			conf_peer_move(&c->peers[0], &ptmp, key);
		}
		return;
	}
	conf_init(&tmp);
	conf_move(c, &tmp, key);
}

const char *conf_key_name(enum conf_key key)
{
	return (unsigned)key < CONF_KEY_COUNT ? conf_keys[key].name : NULL;
}

void conf_cleanup(struct conf *c)
{
	unsigned i;

	free(c->private_key_file);
	free(c->listen);
	free(c->user);
	free(c->group);
	free(c->metrics_listen);
	free(c->device_netns);
	for (i = 0; i < c->n_peers; i++)
		conf_peer_cleanup(&c->peers[i]);
	free(c->peers);
	conf_init(c);
}
