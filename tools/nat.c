/* SPDX-License-Identifier: MIT */
/*
 * culvertctl nat: masquerading and port forwarding in nftables' table inet
 * culvert, through libnftables (tools/nat.h is the API behind it).  Every
 * word is checked here before it goes into nftables' command text, and
 * then only into places nftables reads literally (numbers, addresses and
 * quoted strings without '"', '\\' or '*'), so nothing typed is syntax.
 */
#include "nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <limits.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"

/* Room for a word quoted in a message: 40 bytes, then "...". */
#define SHOWN_LEN 48

/* The table and its chains, made (or left as they are) before every add. */
#define NAT_TABLE_CMDS                                                                             \
	"add table inet " NAT_TABLE "\n"                                                           \
	"add chain inet " NAT_TABLE " " NAT_CHAIN_DNAT                                             \
	" { type nat hook prerouting priority dstnat; policy accept; }\n"                          \
	"add chain inet " NAT_TABLE " " NAT_CHAIN_MASQUERADE                                       \
	" { type nat hook postrouting priority srcnat; policy accept; }\n"

void nat_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s nat { add | del } masquerade out DEV [ from PREFIX ]\n"
		"       %s nat { add | del } dnat { tcp | udp } PORT to ADDR[:PORT] in DEV\n"
		"       %s nat [ show ]\n"
		"       %s nat flush\n"
		"Rules live in nftables' table inet culvert, made with the first rule and\n"
		"deleted with the last; IPv6 with a port is written [ADDR]:PORT.\n",
		CTL_PROG, CTL_PROG, CTL_PROG, CTL_PROG);
}

/* Writes the reason into @err (if any room) and returns @ret. */
static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* @w as a message may show it: printable ASCII, others as '?', cut after 40 bytes. */
static const char *shown(const char *w, char buf[static SHOWN_LEN])
{
	size_t i, o = 0;

	for (i = 0; w[i] && o < SHOWN_LEN - 8; i++)
		buf[o++] = w[i] >= 0x20 && w[i] < 0x7f ? w[i] : '?';
	if (w[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * An interface name the kernel accepts (net/core/dev.c dev_valid_name():
 * 1..15 bytes, not "." or "..", no '/', ':' or isspace(), whose kernel
 * table also has 0xa0) that nftables also reads literally between quotes:
 * no '"' (ends the string), '\\' (escapes), '*' (a wildcard) or control
 * characters; and no '\'', which would open a quote in the canonical words
 * when a topology file's nat = line is read back (topology_split()).
 */
static bool dev_ok(const char *s)
{
	size_t n = strnlen(s, IFNAMSIZ);
	const unsigned char *c;

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r') ||
		    *c == 0xa0 || *c == '"' || *c == '\'' || *c == '\\' || *c == '*' || *c < 0x20 ||
		    *c == 0x7f)
			return false;
	}
	return true;
}

static int dev_fail(const char *dev, char *err, size_t errlen)
{
	char sb[SHOWN_LEN];

	return fail(err, errlen, -EINVAL,
		    "'%s' is not an interface name (1 to 15 characters, none of / : \" ' \\ * "
		    "or white space)",
		    shown(dev, sb));
}

/* Decimal digits only, at most 5 of them, 1..65535.  Returns 0 or -EINVAL. */
static int port_parse(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int port_fail(const char *s, char *err, size_t errlen)
{
	char sb[SHOWN_LEN];

	return fail(err, errlen, -EINVAL, "'%s' is not a port (1 to 65535)", shown(s, sb));
}

/*
 * A prefix as endpoint_prefix_parse() takes it; when the only fault is a
 * bit set past the length, the reason says so and names the prefix meant.
 */
static int prefix_parse(const char *s, struct endpoint_prefix *p, char *err, size_t errlen)
{
	char sb[SHOWN_LEN], addr[INET6_ADDRSTRLEN], meant[ENDPOINT_PREFIX_STRLEN];
	const char *slash = strchr(s, '/');
	struct endpoint_prefix q;
	unsigned len = 0, i;
	const char *l;

	if (!endpoint_prefix_parse(s, p))
		return 0;
	if (slash && (size_t)(slash - s) < sizeof(addr)) {
		memcpy(addr, s, (size_t)(slash - s));
		addr[slash - s] = '\0';
		l = slash + 1;
		/* The address alone parses as a host; is the length well formed? */
		if (!endpoint_prefix_parse(addr, &q) && *l && strlen(l) <= 3 &&
		    strspn(l, "0123456789") == strlen(l) && (l[0] != '0' || !l[1])) {
			for (; *l; l++)
				len = len * 10 + (unsigned)(*l - '0');
			if (len <= q.len) {
				for (i = 0; i < 16; i++) {
					unsigned keep = len > i * 8 ? len - i * 8 : 0;

					if (keep < 8)
						q.addr[i] &= (uint8_t)(0xff00 >> keep);
				}
				q.len = len;
				return fail(err, errlen, -EINVAL,
					    "'%s' has host bits set (did you mean %s?)",
					    shown(s, sb),
					    endpoint_prefix_format(&q, meant, sizeof(meant)));
			}
		}
	}
	return fail(err, errlen, -EINVAL, "'%s' is not an IPv4 or IPv6 prefix", shown(s, sb));
}

/* "198.18.1.2", "198.18.1.2:80", "2001:db8::5", "[2001:db8::5]" or "[2001:db8::5]:80". */
static int to_parse(const char *s, struct nat_rule *q, char *err, size_t errlen)
{
	char sb[SHOWN_LEN], buf[INET6_ADDRSTRLEN];
	const char *a = s, *port = NULL, *colon;
	int family;
	size_t alen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		a = s + 1;
		alen = (size_t)(close - a);
		if (close[1] == ':')
			port = close + 2;
		family = AF_INET6;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		alen = (size_t)(colon - s);
		port = colon + 1;
		family = AF_INET;
	} else {
		alen = strlen(s);
		family = colon ? AF_INET6 : AF_INET;
	}
	if (alen == 0 || alen >= sizeof(buf))
		goto bad;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inet_pton(family, buf, q->to_addr) != 1)
		goto bad;
	if (port && port_parse(port, &q->to_port))
		return port_fail(port, err, errlen);
	q->to_family = family;
	return 0;
bad:
	return fail(err, errlen, -EINVAL,
		    "'%s' is not an address (IPv4[:PORT], IPv6 or [IPv6]:PORT)", shown(s, sb));
}

int nat_rule_parse(int argc, char *const argv[], struct nat_rule *r, char *err, size_t errlen)
{
	const char *dev_kw, *dev = NULL, *from = NULL, *to = NULL;
	char sb[SHOWN_LEN];
	struct nat_rule q;
	int i, ret;

	memset(&q, 0, sizeof(q));
	if (argc < 1)
		return fail(err, errlen, -EINVAL, "the rule is missing (masquerade or dnat)");
	if (!strcmp(argv[0], "masquerade")) {
		q.kind = NAT_MASQUERADE;
		dev_kw = "out";
		i = 1;
	} else if (!strcmp(argv[0], "dnat")) {
		q.kind = NAT_DNAT;
		dev_kw = "in";
		if (argc < 2)
			return fail(err, errlen, -EINVAL,
				    "dnat: the protocol is missing (tcp or udp)");
		if (!strcmp(argv[1], "tcp"))
			q.proto = IPPROTO_TCP;
		else if (!strcmp(argv[1], "udp"))
			q.proto = IPPROTO_UDP;
		else
			return fail(err, errlen, -EINVAL, "'%s' is not a protocol (tcp or udp)",
				    shown(argv[1], sb));
		if (argc < 3)
			return fail(err, errlen, -EINVAL, "dnat %s: the port is missing", argv[1]);
		if (port_parse(argv[2], &q.port))
			return port_fail(argv[2], err, errlen);
		i = 3;
	} else {
		return fail(err, errlen, -EINVAL, "unknown rule kind '%s' (masquerade or dnat)",
			    shown(argv[0], sb));
	}
	for (; i < argc; i += 2) {
		const char **slot;

		if (!strcmp(argv[i], dev_kw))
			slot = &dev;
		else if (q.kind == NAT_MASQUERADE && !strcmp(argv[i], "from"))
			slot = &from;
		else if (q.kind == NAT_DNAT && !strcmp(argv[i], "to"))
			slot = &to;
		else
			return fail(err, errlen, -EINVAL, "%s: unexpected '%s'", argv[0],
				    shown(argv[i], sb));
		if (i + 1 >= argc)
			return fail(err, errlen, -EINVAL, "%s: '%s' needs a value", argv[0],
				    argv[i]);
		if (*slot)
			return fail(err, errlen, -EINVAL, "%s: '%s' given twice", argv[0], argv[i]);
		*slot = argv[i + 1];
	}
	if (!dev)
		return fail(err, errlen, -EINVAL, "%s needs '%s DEV'", argv[0], dev_kw);
	if (q.kind == NAT_DNAT && !to)
		return fail(err, errlen, -EINVAL, "dnat needs 'to ADDR[:PORT]'");
	if (!dev_ok(dev))
		return dev_fail(dev, err, errlen);
	memcpy(q.dev, dev, strlen(dev) + 1);
	if (from) {
		ret = prefix_parse(from, &q.from, err, errlen);
		if (ret)
			return ret;
		q.has_from = true;
	}
	if (to) {
		ret = to_parse(to, &q, err, errlen);
		if (ret)
			return ret;
		if (q.to_port == q.port)
			q.to_port = 0;
	}
	*r = q;
	return 0;
}

void nat_rule_format(const struct nat_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], p[ENDPOINT_PREFIX_STRLEN];
	int dlen = (int)strnlen(r->dev, IFNAMSIZ - 1);
	const char *proto;

	if (!len)
		return;
	if (r->kind == NAT_MASQUERADE) {
		if (r->has_from)
			snprintf(buf, len, "masquerade out %.*s from %s", dlen, r->dev,
				 endpoint_prefix_format(&r->from, p, sizeof(p)));
		else
			snprintf(buf, len, "masquerade out %.*s", dlen, r->dev);
		return;
	}
	proto = r->proto == IPPROTO_TCP ? "tcp" : r->proto == IPPROTO_UDP ? "udp" : "?";
	if (!inet_ntop(r->to_family, r->to_addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (!r->to_port || r->to_port == r->port)
		snprintf(buf, len, "dnat %s %u to %s in %.*s", proto, r->port, a, dlen, r->dev);
	else if (r->to_family == AF_INET6)
		snprintf(buf, len, "dnat %s %u to [%s]:%u in %.*s", proto, r->port, a, r->to_port,
			 dlen, r->dev);
	else
		snprintf(buf, len, "dnat %s %u to %s:%u in %.*s", proto, r->port, a, r->to_port,
			 dlen, r->dev);
}

/* Checks a rule that may not come from nat_rule_parse() as that checks words. */
static int rule_check(const struct nat_rule *r, char *err, size_t errlen)
{
	char p[ENDPOINT_PREFIX_STRLEN];
	struct endpoint_prefix q;

	if (r->kind != NAT_MASQUERADE && r->kind != NAT_DNAT)
		return fail(err, errlen, -EINVAL, "unknown rule kind %d", (int)r->kind);
	if (!memchr(r->dev, '\0', sizeof(r->dev)) || !dev_ok(r->dev))
		return dev_fail(memchr(r->dev, '\0', sizeof(r->dev)) ? r->dev : "?", err, errlen);
	if (r->kind == NAT_MASQUERADE) {
		if (!r->has_from)
			return 0;
		/* Well formed exactly when its text parses back to it. */
		if ((r->from.family != AF_INET && r->from.family != AF_INET6) ||
		    endpoint_prefix_parse(endpoint_prefix_format(&r->from, p, sizeof(p)), &q) ||
		    q.len != r->from.len ||
		    memcmp(q.addr, r->from.addr, r->from.family == AF_INET ? 4 : 16))
			return fail(err, errlen, -EINVAL, "the source prefix is malformed");
		return 0;
	}
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return fail(err, errlen, -EINVAL, "protocol %d is neither tcp nor udp", r->proto);
	if (!r->port)
		return fail(err, errlen, -EINVAL, "port 0 is not a port (1 to 65535)");
	if (r->to_family != AF_INET && r->to_family != AF_INET6)
		return fail(err, errlen, -EINVAL, "the new destination is neither IPv4 nor IPv6");
	return 0;
}

/* The chain a rule of @kind lives in. */
static const char *rule_chain(enum nat_kind kind)
{
	return kind == NAT_MASQUERADE ? NAT_CHAIN_MASQUERADE : NAT_CHAIN_DNAT;
}

/* The nftables command adding @r (checked) into @buf of @len bytes: 0 or -ENAMETOOLONG. */
static int rule_cmd(const struct nat_rule *r, char *buf, size_t len)
{
	char words[NAT_RULE_STRLEN], a[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN + 8];
	char p[ENDPOINT_PREFIX_STRLEN];
	bool v6 = r->to_family == AF_INET6;
	int n;

	nat_rule_format(r, words, sizeof(words));
	if (r->kind == NAT_MASQUERADE) {
		const char *saddr = "";

		p[0] = '\0';
		if (r->has_from) {
			endpoint_prefix_format(&r->from, p, sizeof(p));
			saddr = r->from.family == AF_INET ? " ip saddr " : " ip6 saddr ";
		}
		n = snprintf(buf, len,
			     "add rule inet " NAT_TABLE " " NAT_CHAIN_MASQUERADE
			     " oifname \"%s\"%s%s masquerade comment \"%s\"\n",
			     r->dev, saddr, p, words);
	} else {
		inet_ntop(r->to_family, r->to_addr, a, sizeof(a));
		if (!r->to_port || r->to_port == r->port)
			snprintf(to, sizeof(to), "%s", a);
		else
			snprintf(to, sizeof(to), v6 ? "[%s]:%u" : "%s:%u", a, r->to_port);
		n = snprintf(buf, len,
			     "add rule inet " NAT_TABLE " " NAT_CHAIN_DNAT
			     " iifname \"%s\" meta nfproto %s %s dport %u dnat %s to %s"
			     " comment \"%s\"\n",
			     r->dev, v6 ? "ipv6" : "ipv4", r->proto == IPPROTO_UDP ? "udp" : "tcp",
			     r->port, v6 ? "ip6" : "ip", to, words);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A new libnftables context, its output and errors kept in buffers. */
static int nft_open(struct nft_ctx **out, char *err, size_t errlen)
{
	struct nft_ctx *ctx;

	/* libnftables would print its own "you must be root" to stderr. */
	if (!ctl_have_cap(CAP_NET_ADMIN))
		return fail(err, errlen, -EPERM, "nftables needs CAP_NET_ADMIN (run it as root)");
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return fail(err, errlen, -ENOMEM, "nftables: cannot make a context");
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		nft_ctx_free(ctx);
		return fail(err, errlen, -ENOMEM, "nftables: cannot buffer its output");
	}
	*out = ctx;
	return 0;
}

/*
 * libnftables' message @msg as a reason, its first line without "Error: ",
 * and the system error it names as -errno (-EIO when it names none known).
 */
static int nft_failed(const char *msg, char *err, size_t errlen)
{
	static const int known[] = {EPERM,   ENOENT, EEXIST,     EBUSY,        ENOMEM,
				    ENOBUFS, ENOSPC, EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT,
				    ENODEV,  EACCES, EMSGSIZE,   ERANGE,       EINVAL};
	const char *s = msg ? msg : "", *e;
	char line[NAT_ERRLEN];
	size_t n, i;
	int ret = -EIO;

	n = strcspn(s, "\n");
	e = strstr(s, "Error: ");
	if (e && (size_t)(e - s) < n) {
		n -= (size_t)(e - s) + 7;
		s = e + 7;
	}
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strstr(line, strerror(known[i]))) {
			ret = -known[i];
			break;
		}
	}
	return fail(err, errlen, ret, "nftables: %s", n ? line : "failed without a message");
}

/*
 * Runs the nftables commands @cmd.  With @json, the output is JSON with
 * handles and *@out points to it (valid until the next command).
 */
static int nft_do(struct nft_ctx *ctx, const char *cmd, bool json, const char **out, char *err,
		  size_t errlen)
{
	const char *o, *e;
	int rc;

	nft_ctx_output_set_flags(ctx, json ? NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE : 0);
	rc = nft_run_cmd_from_buffer(ctx, cmd);
	o = nft_ctx_get_output_buffer(ctx);
	e = nft_ctx_get_error_buffer(ctx);
	if (rc)
		return nft_failed(e, err, errlen);
	if (out)
		*out = o ? o : "";
	return 0;
}

/* The "nftables" array of libnftables' JSON @text; *@root is to be put. */
static struct json_object *nft_json(const char *text, struct json_object **root, char *err,
				    size_t errlen)
{
	struct json_object *arr;

	*root = json_tokener_parse(text);
	if (!*root || !json_object_object_get_ex(*root, "nftables", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(*root);
		*root = NULL;
		fail(err, errlen, -EPROTO, "nftables: output is not the JSON expected");
		return NULL;
	}
	return arr;
}

/* String member @key of @o, or NULL. */
static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Whether @o is @kind ("table", "rule") of table inet culvert; returns its body or NULL. */
static struct json_object *ours(struct json_object *o, const char *kind)
{
	struct json_object *body;
	const char *family, *table;

	if (!json_object_object_get_ex(o, kind, &body))
		return NULL;
	family = json_str(body, "family");
	table = json_str(body, !strcmp(kind, "table") ? "name" : "table");
	if (!family || !table || strcmp(family, "inet") || strcmp(table, NAT_TABLE))
		return NULL;
	return body;
}

/* Is there a table inet culvert?  1, 0 or -errno. */
static int table_exists(struct nft_ctx *ctx, char *err, size_t errlen)
{
	struct json_object *root, *arr;
	const char *out;
	size_t i, n;
	int ret;

	ret = nft_do(ctx, "list tables inet", true, &out, err, errlen);
	if (ret)
		return ret;
	arr = nft_json(out, &root, err, errlen);
	if (!arr)
		return -EPROTO;
	n = json_object_array_length(arr);
	for (i = 0; i < n && !ret; i++)
		ret = ours(json_object_array_get_idx(arr, i), "table") != NULL;
	json_object_put(root);
	return ret;
}

/*
 * Calls @cb(chain, handle, comment or NULL, @data) for every rule of table
 * inet culvert, stopping when @cb returns non-zero.  Returns the number of
 * rules seen, -ENOENT when there is no table, or -errno (of @cb too).
 */
static int scan_rules(struct nft_ctx *ctx,
		      int (*cb)(const char *chain, int64_t handle, const char *comment, void *data),
		      void *data, char *err, size_t errlen)
{
	struct json_object *root, *arr, *body, *h;
	const char *out, *chain;
	int ret, count = 0;
	size_t i, n;

	ret = table_exists(ctx, err, errlen);
	if (ret <= 0)
		return ret ? ret : -ENOENT;
	ret = nft_do(ctx, "list table inet " NAT_TABLE, true, &out, err, errlen);
	if (ret)
		return ret;
	arr = nft_json(out, &root, err, errlen);
	if (!arr)
		return -EPROTO;
	n = json_object_array_length(arr);
	for (i = 0; i < n && ret >= 0; i++) {
		body = ours(json_object_array_get_idx(arr, i), "rule");
		if (!body)
			continue;
		chain = json_str(body, "chain");
		if (!chain || !json_object_object_get_ex(body, "handle", &h) ||
		    !json_object_is_type(h, json_type_int)) {
			ret =
			    fail(err, errlen, -EPROTO, "nftables: a rule without chain or handle");
			break;
		}
		count++;
		ret = cb(chain, json_object_get_int64(h), json_str(body, "comment"), data);
	}
	json_object_put(root);
	return ret < 0 ? ret : count;
}

/* What find_cb() looks for, and what it found. */
struct find {
	const char *chain;
	char words[NAT_RULE_STRLEN];
	int64_t handle;
	bool found;
};

static int find_cb(const char *chain, int64_t handle, const char *comment, void *data)
{
	struct find *f = data;

	if (!f->found && comment && !strcmp(chain, f->chain) && !strcmp(comment, f->words)) {
		f->found = true;
		f->handle = handle;
	}
	return 0;
}

/*
 * Looks for @r (checked) in the table: fills *@f, returns the number of
 * rules in the table (0 when there is none) or -errno.
 */
static int find_rule(struct nft_ctx *ctx, const struct nat_rule *r, struct find *f, char *err,
		     size_t errlen)
{
	int ret;

	memset(f, 0, sizeof(*f));
	f->chain = rule_chain(r->kind);
	nat_rule_format(r, f->words, sizeof(f->words));
	ret = scan_rules(ctx, find_cb, f, err, errlen);
	return ret == -ENOENT ? 0 : ret;
}

/*
 * One look-then-change at a time among culvertctl processes: an exclusive
 * flock(2) on $CULVERT_RUNDIR/nat.lock (default CULVERT_RUNSTATEDIR),
 * held until the returned fd is closed (or the process ends).  nftables
 * has no lock of its own to offer.  The file must be a regular file of
 * ours that only we may write, or someone else could hold its lock
 * forever; when it is not (or cannot be made), the change goes ahead
 * unlocked, as it would have before: -1.
 */
static int nat_lock(void)
{
	const char *run = getenv("CULVERT_RUNDIR");
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (!run || !*run)
		run = CULVERT_RUNSTATEDIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/nat.lock", run) >= sizeof(path))
		return -1;
	if (mkdir(run, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Checks @r, opens a context into *@ctx and looks for @r in it (@f).
 * Returns what find_rule() does, or -errno; *@ctx (NULL until opened) is
 * the caller's to free either way.
 */
static int find_open(const struct nat_rule *r, struct nft_ctx **ctx, struct find *f, char *err,
		     size_t errlen)
{
	int ret = rule_check(r, err, errlen);

	if (ret)
		return ret;
	ret = nft_open(ctx, err, errlen);
	if (ret)
		return ret;
	return find_rule(*ctx, r, f, err, errlen);
}

int nat_rule_add(const struct nat_rule *r, char *err, size_t errlen)
{
	char cmd[sizeof(NAT_TABLE_CMDS) + 512];
	struct nft_ctx *ctx = NULL;
	struct find f;
	int ret, lock = nat_lock();

	ret = find_open(r, &ctx, &f, err, errlen);
	if (ret >= 0 && f.found) {
		ret = fail(err, errlen, -EEXIST, "the rule is already there");
	} else if (ret >= 0) {
		/* @r is checked: its words may go into nft text. */
		memcpy(cmd, NAT_TABLE_CMDS, sizeof(NAT_TABLE_CMDS));
		ret = rule_cmd(r, cmd + sizeof(NAT_TABLE_CMDS) - 1,
			       sizeof(cmd) - sizeof(NAT_TABLE_CMDS) + 1);
		if (ret)
			ret = fail(err, errlen, ret, "the rule is too long for nftables");
		else
			ret = nft_do(ctx, cmd, false, NULL, err, errlen);
	}
	if (ctx)
		nft_ctx_free(ctx);
	if (lock >= 0)
		close(lock);
	return ret < 0 ? ret : 0;
}

int nat_rule_del(const struct nat_rule *r, char *err, size_t errlen)
{
	char cmd[128];
	struct nft_ctx *ctx = NULL;
	struct find f;
	int ret, lock = nat_lock();

	ret = find_open(r, &ctx, &f, err, errlen);
	if (ret >= 0 && !f.found) {
		ret = fail(err, errlen, -ENOENT, "no such rule");
	} else if (ret >= 0) {
		/* The last rule takes the table with it. */
		if (ret == 1)
			snprintf(cmd, sizeof(cmd), "delete table inet " NAT_TABLE "\n");
		else
			snprintf(cmd, sizeof(cmd),
				 "delete rule inet " NAT_TABLE " %s handle %" PRId64 "\n", f.chain,
				 f.handle);
		ret = nft_do(ctx, cmd, false, NULL, err, errlen);
	}
	if (ctx)
		nft_ctx_free(ctx);
	if (lock >= 0)
		close(lock);
	return ret < 0 ? ret : 0;
}

int nat_rule_exists(const struct nat_rule *r, char *err, size_t errlen)
{
	struct nft_ctx *ctx = NULL;
	struct find f;
	int ret;

	ret = find_open(r, &ctx, &f, err, errlen);
	if (ctx)
		nft_ctx_free(ctx);
	return ret < 0 ? ret : f.found;
}

/* What list_cb() passes each rule to. */
struct list {
	int (*cb)(const struct nat_rule *r, void *data);
	void *data;
	int count;
};

static int list_cb(const char *chain, int64_t handle, const char *comment, void *data)
{
	char buf[NAT_RULE_STRLEN], again[NAT_RULE_STRLEN], *argv[NAT_RULE_MAXWORDS + 1], *save;
	struct list *l = data;
	struct nat_rule r;
	int argc = 0;
	char *w;

	(void)handle;
	if (!comment || strlen(comment) >= sizeof(buf))
		return 0;
	memcpy(buf, comment, strlen(comment) + 1);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (argc == NAT_RULE_MAXWORDS + 1)
			return 0;
		argv[argc++] = w;
	}
	/* Only a rule's canonical words, in the chain of its kind, are ours. */
	if (nat_rule_parse(argc, argv, &r, NULL, 0) || strcmp(chain, rule_chain(r.kind)))
		return 0;
	nat_rule_format(&r, again, sizeof(again));
	if (strcmp(again, comment))
		return 0;
	l->count++;
	return l->cb(&r, l->data);
}

int nat_rule_list(int (*cb)(const struct nat_rule *r, void *data), void *data, char *err,
		  size_t errlen)
{
	struct list l = {cb, data, 0};
	struct nft_ctx *ctx = NULL;
	int ret;

	ret = nft_open(&ctx, err, errlen);
	if (ret)
		return ret;
	ret = scan_rules(ctx, list_cb, &l, err, errlen);
	nft_ctx_free(ctx);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : l.count;
}

int nat_flush(char *err, size_t errlen)
{
	struct nft_ctx *ctx = NULL;
	int ret;

	ret = nft_open(&ctx, err, errlen);
	if (ret)
		return ret;
	ret = table_exists(ctx, err, errlen);
	if (ret > 0) {
		ret = nft_do(ctx, "delete table inet " NAT_TABLE "\n", false, NULL, err, errlen);
		/* Gone meanwhile: as asked. */
		if (ret == -ENOENT)
			ret = 0;
	}
	nft_ctx_free(ctx);
	return ret < 0 ? ret : 0;
}

/* "culvertctl: WHAT: REASON", the reason from the API or else strerror(-@ret). */
static int __attribute__((format(printf, 3, 4)))
nat_fail(int ret, const char *reason, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", reason && *reason ? reason : strerror(-ret));
	return CTL_EXIT_FAIL;
}

static int print_rule(const struct nat_rule *r, void *data)
{
	char words[NAT_RULE_STRLEN];

	(void)data;
	nat_rule_format(r, words, sizeof(words));
	printf("%s\n", words);
	return 0;
}

int nat_main(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "show";
	char err[NAT_ERRLEN] = "", words[NAT_RULE_STRLEN];
	struct nat_rule r;
	int ret;

	if (ctl_is_help(verb)) {
		nat_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (!strcmp(verb, "add") || !strcmp(verb, "del") || !strcmp(verb, "delete")) {
		if (nat_rule_parse(argc - 2, argv + 2, &r, err, sizeof(err)))
			return ctl_usage("nat", "nat: %s", err);
		nat_rule_format(&r, words, sizeof(words));
		if (verb[0] == 'a') {
			ret = nat_rule_add(&r, err, sizeof(err));
			/* Already there: what was asked for holds. */
			if (ret == -EEXIST)
				ret = 0;
		} else {
			ret = nat_rule_del(&r, err, sizeof(err));
		}
		if (ret)
			return nat_fail(ret, err, "nat %s %s", verb, words);
		return CTL_EXIT_OK;
	}
	if (strcmp(verb, "show") && strcmp(verb, "list") && strcmp(verb, "flush"))
		return ctl_usage("nat", "nat: unknown verb '%s'", verb);
	if (argc > 2)
		return ctl_usage("nat", "nat %s: unexpected '%s'", verb, argv[2]);
	if (!strcmp(verb, "flush")) {
		ret = nat_flush(err, sizeof(err));
		if (ret)
			return nat_fail(ret, err, "nat flush");
		return CTL_EXIT_OK;
	}
	ret = nat_rule_list(print_rule, NULL, err, sizeof(err));
	if (ret < 0)
		return nat_fail(ret, err, "nat show");
	return CTL_EXIT_OK;
}
