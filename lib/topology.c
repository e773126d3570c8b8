/* SPDX-License-Identifier: MIT */
#include "topology.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inifile.h"
#include "netlink.h"
#include "netns.h"

enum topology_section {
	TOPOLOGY_SECTION_NONE,
	TOPOLOGY_SECTION_TOPOLOGY,
	TOPOLOGY_SECTION_NETNS,
	TOPOLOGY_SECTION_LINK,
	TOPOLOGY_SECTION_EXEC,
	TOPOLOGY_SECTION_TUNNEL,
};

/* The state of one parse, shared by the section callback and the handler. */
struct topology_parse {
	struct inifile in;
	struct topology *t;
	enum topology_section section;
	unsigned name_line; /* [topology] name, 0: not given */
};

void topology_words_free(char **words)
{
	if (!words)
		return;
	for (char **w = words; *w; w++)
		free(*w);
	free(words);
}

int topology_split(const char *s, char ***words, unsigned *n)
{
	size_t len = strlen(s);
	char *word = malloc(len + 1);
	int rc = 0;

	if (!word)
		return -ENOMEM;
	while (*s && rc == 0) {
		size_t w = 0;
		char **grown;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		while (*s && *s != ' ' && *s != '\t') {
			char quote = *s;

			if (quote != '\'' && quote != '"') {
				word[w++] = *s++;
				continue;
			}
			for (s++; *s && *s != quote; s++) {
				if (quote == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				word[w++] = *s;
			}
			if (!*s) {
				rc = -EINVAL; /* unclosed quote */
				break;
			}
			s++;
		}
		if (rc)
			break;
		if (*n >= TOPOLOGY_WORDS_MAX) {
			rc = -EINVAL;
			break;
		}
		grown = realloc(*words, (*n + 2) * sizeof(**words));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		*words = grown;
		word[w] = '\0';
		grown[*n] = strdup(word);
		if (!grown[*n]) {
			grown[*n] = NULL;
			rc = -ENOMEM;
			break;
		}
		grown[++*n] = NULL;
	}
	free(word);
	return rc;
}

void topology_cleanup(struct topology *t)
{
	for (unsigned i = 0; t->netns && i < t->n_netns; i++)
		for (unsigned k = 0; k < t->netns[i].n_nats; k++)
			topology_words_free(t->netns[i].nats[k].words);
	for (unsigned i = 0; t->procs && i < t->n_procs; i++) {
		topology_words_free(t->procs[i].words);
		free(t->procs[i].config);
	}
	free(t->netns);
	free(t->links);
	free(t->procs);
	memset(t, 0, sizeof(*t));
}

/* Is @s a name for a file under /run/netns or /run/culvert/topology? */
static bool topology_name_ok(const char *s)
{
	return netns_name_check(s) == 0 && strlen(s) <= TOPOLOGY_NAME_MAX;
}

/* Is @s a network device name, as the kernel's dev_valid_name() says? */
static bool topology_dev_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || *s == '\n')
			return false;
	return true;
}

/* Grows the array *@v of @n @size-byte elements by one zeroed element, at
 * most @max.  Returns the new element or NULL (-ENOMEM or full: @full). */
static void *topology_push(void **v, unsigned *n, size_t size, unsigned max, bool *full)
{
	char *grown;

	*full = *n >= max;
	if (*full)
		return NULL;
	grown = realloc(*v, (*n + 1) * size);
	if (!grown)
		return NULL;
	*v = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

/* Parses a section header line and starts the section it names. */
static void topology_section_cb(void *user, const char *line)
{
	static const char *const kinds[] = {"", "topology", "netns", "link", "exec", "tunnel"};
	struct topology_parse *p = user;
	struct topology *t = p->t;
	char q[INIFILE_QUOTE_SIZE], kind[16] = "", name[INIFILE_LINE_MAX + 1] = "";
	const char *close = strchr(line, ']');
	size_t len;
	unsigned k;
	bool full = false;
	void *made = NULL;

	if (!close || close[1]) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     close ? "text after ']'" : "'%s' has no closing ']'",
			     inifile_quote(q, sizeof(q), line));
		return;
	}
	len = (size_t)(close - line - 1);
	if (sscanf(line + 1, "%15[a-z] %197[^]]", kind, name) < 1)
		kind[0] = '\0';
	for (k = 1; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(kind, kinds[k]))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		memcpy(name, line + 1, len);
		name[len] = '\0';
		inifile_fail(
		    &p->in, -EINVAL, p->in.lineno,
		    "unknown section [%s] (expected [topology], [netns NAME], [link NAME], "
		    "[exec NAME] or [tunnel NAME])",
		    inifile_quote(q, sizeof(q), name));
		return;
	}
	p->section = (enum topology_section)k;
	if (p->section == TOPOLOGY_SECTION_TOPOLOGY) {
		if (name[0])
			inifile_fail(&p->in, -EINVAL, p->in.lineno,
				     "[topology] takes no name (give it as name = NAME)");
		return;
	}
	if (p->section == TOPOLOGY_SECTION_LINK ? !topology_dev_ok(name)
						: !topology_name_ok(name)) {
		inifile_fail(&p->in, -EINVAL, p->in.lineno,
			     p->section == TOPOLOGY_SECTION_LINK
				 ? "[link %s]: not a device name (1 to 15 characters, no '/', ':' "
				   "or space)"
				 : "[%s %s]: not a name (1 to 63 characters, no '/', not . or ..)",
			     p->section == TOPOLOGY_SECTION_LINK ? inifile_quote(q, sizeof(q), name)
								 : kind,
			     inifile_quote(q, sizeof(q), name));
		return;
	}
	switch (p->section) {
	case TOPOLOGY_SECTION_NETNS:
		for (k = 0; k < t->n_netns; k++)
			if (!strcmp(t->netns[k].name, name)) {
				inifile_fail(&p->in, -EINVAL, p->in.lineno,
					     "[netns %s] again (first on line %u)", name,
					     t->netns[k].line);
				return;
			}
		made = topology_push((void **)&t->netns, &t->n_netns, sizeof(*t->netns),
				     TOPOLOGY_NETNS_MAX, &full);
		if (made) {
			struct topology_netns *ns = made;

			strcpy(ns->name, name);
			ns->line = p->in.lineno;
			ns->forward = -1;
		}
		break;
	case TOPOLOGY_SECTION_LINK:
		made = topology_push((void **)&t->links, &t->n_links, sizeof(*t->links),
				     TOPOLOGY_LINKS_MAX, &full);
		if (made) {
			struct topology_link *l = made;

			strcpy(l->name, name);
			l->line = p->in.lineno;
			l->up = true;
		}
		break;
	default:
		for (k = 0; k < t->n_procs; k++)
			if (!strcmp(t->procs[k].name, name)) {
				inifile_fail(&p->in, -EINVAL, p->in.lineno,
					     "[%s %s] again (first on line %u)", kind, name,
					     t->procs[k].line);
				return;
			}
		made = topology_push((void **)&t->procs, &t->n_procs, sizeof(*t->procs),
				     TOPOLOGY_PROCS_MAX, &full);
		if (made) {
			struct topology_proc *pr = made;

			strcpy(pr->name, name);
			pr->line = p->in.lineno;
			pr->tunnel = p->section == TOPOLOGY_SECTION_TUNNEL;
			pr->device_netns = -1;
		}
		break;
	}
	if (full)
		inifile_fail(&p->in, -EINVAL, p->in.lineno, "too many [%s] sections (at most %u)",
			     kind,
			     p->section == TOPOLOGY_SECTION_NETNS  ? TOPOLOGY_NETNS_MAX
			     : p->section == TOPOLOGY_SECTION_LINK ? TOPOLOGY_LINKS_MAX
								   : TOPOLOGY_PROCS_MAX);
	else if (!made)
		inifile_fail(&p->in, -ENOMEM, p->in.lineno, "out of memory");
}

/* Parses yes/no (true/false, on/off) into *@out; false if it is neither. */
static bool topology_bool(const char *v, bool *out)
{
	static const char *const words[] = {"no", "yes", "false", "true", "off", "on"};

	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(v, words[i])) {
			*out = i % 2;
			return true;
		}
	return false;
}

/* Parses "ADDR/LEN" (@need_len) or "ADDR" into @a. */
static bool topology_addr(const char *v, bool need_len, struct topology_addr *a)
{
	uint8_t buf[NL_ADDR_LEN];

	if ((need_len && !strchr(v, '/')) || nl_addr_parse(v, &a->family, buf, &a->plen) < 0)
		return false;
	memcpy(a->addr, buf, sizeof(a->addr));
	return true;
}

bool topology_parse_route(const char *v, struct topology_route *r, const char **why)
{
	char **w = NULL;
	unsigned n = 0, i;
	bool ok = false;

	*why = "expected PREFIX|default [via ADDR] [dev DEV]";
	if (topology_split(v, &w, &n) < 0 || n < 3)
		goto out;
	if (!strcmp(w[0], "default")) {
		r->dst.family = AF_UNSPEC; /* the gateway's, below */
		r->dst.plen = 0;
	} else if (!topology_addr(w[0], true, &r->dst)) {
		*why = "the destination is not PREFIX/LEN or default";
		goto out;
	}
	for (i = 1; i + 1 < n; i += 2) {
		if (!strcmp(w[i], "via") && !r->has_via) {
			if (!topology_addr(w[i + 1], false, &r->via) ||
			    r->via.plen != (r->via.family == AF_INET ? 32u : 128u)) {
				*why = "via: not an address";
				goto out;
			}
			r->has_via = true;
		} else if (!strcmp(w[i], "dev") && !r->dev[0]) {
			if (!topology_dev_ok(w[i + 1])) {
				*why = "dev: not a device name";
				goto out;
			}
			strcpy(r->dev, w[i + 1]);
		} else {
			goto out;
		}
	}
	if (i != n)
		goto out;
	if (r->dst.family == AF_UNSPEC) {
		if (!r->has_via) {
			*why = "a default route needs via ADDR (its family)";
			goto out;
		}
		r->dst.family = r->via.family;
	}
	if (r->has_via && r->via.family != r->dst.family) {
		*why = "via: another address family than the destination's";
		goto out;
	}
	ok = true;
out:
	topology_words_free(w);
	return ok;
}

/* A decimal number in 1..@max, digits only; 0 when it is not one. */
static unsigned long topology_number(const char *v, unsigned long max)
{
	unsigned long n = 0;

	if (!*v || strlen(v) > 9)
		return 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return 0;
		n = n * 10 + (unsigned long)(*v - '0');
	}
	return n <= max ? n : 0;
}

bool topology_parse_ready(const char *v, struct topology_proc *pr, const char **why)
{
	char **w = NULL;
	unsigned n = 0;
	unsigned long port, secs = TOPOLOGY_READY_DEFAULT;
	int proto;
	bool ok = false;

	*why = "expected tcp|udp PORT [SECONDS]";
	if (topology_split(v, &w, &n) < 0 || n < 2 || n > 3)
		goto out;
	if (!strcmp(w[0], "tcp")) {
		proto = IPPROTO_TCP;
	} else if (!strcmp(w[0], "udp")) {
		proto = IPPROTO_UDP;
	} else {
		*why = "the protocol is not tcp or udp";
		goto out;
	}
	port = topology_number(w[1], 65535);
	if (!port) {
		*why = "the port is not a number in 1..65535";
		goto out;
	}
	if (n == 3 && !(secs = topology_number(w[2], TOPOLOGY_READY_MAX))) {
		*why = "the wait is not a number of seconds in 1..600";
		goto out;
	}
	pr->ready_proto = proto;
	pr->ready_port = (uint16_t)port;
	pr->ready_secs = (unsigned)secs;
	ok = true;
out:
	topology_words_free(w);
	return ok;
}

/* Copies a name value into @dst (@size bytes), checking it. */
static bool topology_copy_name(char *dst, size_t size, const char *v, bool dev)
{
	if (dev ? !topology_dev_ok(v) : !topology_name_ok(v))
		return false;
	snprintf(dst, size, "%s", v);
	return true;
}

/* The ini_handler: one "name = value" of the current section. */
static int topology_handler(void *user, const char *section, const char *name, const char *value)
{
	struct topology_parse *p = user;
	struct topology *t = p->t;
	unsigned line = p->in.lineno;
	char q[INIFILE_QUOTE_SIZE], q2[INIFILE_QUOTE_SIZE];
	const char *why = NULL;
	bool b;
	int rc;

	(void)section;
	if (p->in.error)
		return 0;
	if (!value)
		value = "";
	inifile_quote(q, sizeof(q), name);
	inifile_quote(q2, sizeof(q2), value);
	switch (p->section) {
	case TOPOLOGY_SECTION_NONE:
		inifile_fail(&p->in, -EINVAL, line, "key '%s' is outside any section", q);
		return 0;
	case TOPOLOGY_SECTION_TOPOLOGY:
		if (strcmp(name, "name") != 0)
			goto unknown;
		if (p->name_line) {
			inifile_fail(&p->in, -EINVAL, line, "name again (first on line %u)",
				     p->name_line);
			return 0;
		}
		if (!topology_copy_name(t->name, sizeof(t->name), value, false)) {
			why = "not a name (1 to 63 characters, no '/', not . or ..)";
			goto bad;
		}
		p->name_line = line;
		return 1;
	case TOPOLOGY_SECTION_NETNS: {
		struct topology_netns *ns = &t->netns[t->n_netns - 1];

		if (!strcmp(name, "forward")) {
			if (!topology_bool(value, &b)) {
				why = "neither yes nor no";
				goto bad;
			}
			ns->forward = b;
		} else if (!strcmp(name, "route")) {
			struct topology_route *r = &ns->routes[ns->n_routes];

			if (ns->n_routes == TOPOLOGY_LIST_MAX) {
				why = "too many routes in one [netns]";
				goto bad;
			}
			memset(r, 0, sizeof(*r));
			if (!topology_parse_route(value, r, &why))
				goto bad;
			r->line = line;
			ns->n_routes++;
		} else if (!strcmp(name, "nat")) {
			struct topology_nat *nat = &ns->nats[ns->n_nats];

			if (ns->n_nats == TOPOLOGY_LIST_MAX) {
				why = "too many NAT rules in one [netns]";
				goto bad;
			}
			rc = topology_split(value, &nat->words, &nat->n_words);
			ns->n_nats++; /* its words are freed with the rest */
			if (rc == -ENOMEM)
				goto nomem;
			if (rc < 0 || nat->n_words == 0) {
				why = "expected culvertctl nat add's words";
				goto bad;
			}
			nat->line = line;
		} else if (!strcmp(name, "exec")) {
			/* Short for [exec NS-LINE] with netns = NS. */
			struct topology_proc *pr;
			bool full;
			unsigned ns_index = t->n_netns - 1;

			pr = topology_push((void **)&t->procs, &t->n_procs, sizeof(*t->procs),
					   TOPOLOGY_PROCS_MAX, &full);
			if (!pr && !full)
				goto nomem;
			if (!pr) {
				why = "too many programs";
				goto bad;
			}
			snprintf(pr->name, sizeof(pr->name), "%.40s-%u", t->netns[ns_index].name,
				 line);
			pr->line = pr->netns_line = pr->words_line = line;
			pr->device_netns = -1;
			strcpy(pr->netns_name, t->netns[ns_index].name);
			rc = topology_split(value, &pr->words, &pr->n_words);
			if (rc == -ENOMEM)
				goto nomem;
			if (rc < 0 || !pr->n_words) {
				why = "an unclosed quote, more than 256 words, or none";
				goto bad;
			}
		} else {
			goto unknown;
		}
		return 1;
	}
	case TOPOLOGY_SECTION_LINK: {
		static const char *const types[] = {"", "veth", "bridge", "tun", "tap"};
		struct topology_link *l = &t->links[t->n_links - 1];
		unsigned k;

		if (!strcmp(name, "netns")) {
			if (l->netns_line ||
			    !topology_copy_name(l->netns_name, sizeof(l->netns_name), value,
						false)) {
				why = l->netns_line ? "given twice" : "not a namespace name";
				goto bad;
			}
			l->netns_line = line;
		} else if (!strcmp(name, "type")) {
			for (k = 1; k < sizeof(types) / sizeof(types[0]); k++)
				if (!strcmp(value, types[k]))
					break;
			if (l->type_line || k == sizeof(types) / sizeof(types[0])) {
				why = l->type_line ? "given twice"
						   : "neither veth, bridge, tun nor tap";
				goto bad;
			}
			l->type = (enum topology_link_type)k;
			l->type_line = line;
		} else if (!strcmp(name, "peer")) {
			if (l->peer_line ||
			    !topology_copy_name(l->peer, sizeof(l->peer), value, true)) {
				why = l->peer_line ? "given twice" : "not a device name";
				goto bad;
			}
			l->peer_line = line;
		} else if (!strcmp(name, "peer-netns")) {
			if (l->peer_netns_line ||
			    !topology_copy_name(l->peer_netns_name, sizeof(l->peer_netns_name),
						value, false)) {
				why = l->peer_netns_line ? "given twice" : "not a namespace name";
				goto bad;
			}
			l->peer_netns_line = line;
		} else if (!strcmp(name, "master")) {
			if (l->master_line ||
			    !topology_copy_name(l->master, sizeof(l->master), value, true)) {
				why = l->master_line ? "given twice" : "not a device name";
				goto bad;
			}
			l->master_line = line;
		} else if (!strcmp(name, "mtu")) {
			char *end;
			long v = strtol(value, &end, 10);

			if (!*value || *end || v < 68 || v > 65535 || l->mtu) {
				why = l->mtu ? "given twice" : "not a number from 68 to 65535";
				goto bad;
			}
			l->mtu = (int)v;
		} else if (!strcmp(name, "up")) {
			if (!topology_bool(value, &l->up)) {
				why = "neither yes nor no";
				goto bad;
			}
		} else if (!strcmp(name, "address")) {
			struct topology_addr *a = &l->addrs[l->n_addrs];

			if (l->n_addrs == TOPOLOGY_LIST_MAX) {
				why = "too many addresses in one [link]";
				goto bad;
			}
			if (!topology_addr(value, true, a)) {
				why = "not ADDR/LEN (IPv4 or IPv6)";
				goto bad;
			}
			a->line = line;
			l->n_addrs++;
		} else {
			goto unknown;
		}
		return 1;
	}
	case TOPOLOGY_SECTION_EXEC:
	case TOPOLOGY_SECTION_TUNNEL: {
		struct topology_proc *pr = &t->procs[t->n_procs - 1];

		if (!strcmp(name, "netns")) {
			if (pr->netns_line ||
			    !topology_copy_name(pr->netns_name, sizeof(pr->netns_name), value,
						false)) {
				why = pr->netns_line ? "given twice" : "not a namespace name";
				goto bad;
			}
			pr->netns_line = line;
		} else if (pr->tunnel && !strcmp(name, "device-netns")) {
			if (pr->device_netns_line ||
			    !topology_copy_name(pr->device_netns_name,
						sizeof(pr->device_netns_name), value, false)) {
				why =
				    pr->device_netns_line ? "given twice" : "not a namespace name";
				goto bad;
			}
			pr->device_netns_line = line;
		} else if (pr->tunnel && !strcmp(name, "config")) {
			if (pr->config || !*value) {
				why = pr->config ? "given twice" : "not a file name";
				goto bad;
			}
			pr->config = strdup(value);
			if (!pr->config)
				goto nomem;
			pr->config_line = line;
		} else if (!pr->tunnel && !strcmp(name, "ready")) {
			if (pr->ready_line) {
				why = "given twice";
				goto bad;
			}
			if (!topology_parse_ready(value, pr, &why))
				goto bad;
			pr->ready_line = line;
		} else if (!strcmp(name, pr->tunnel ? "args" : "command")) {
			rc = topology_split(value, &pr->words, &pr->n_words);
			if (rc == -ENOMEM)
				goto nomem;
			if (rc < 0) {
				why = "an unclosed quote, or more than 256 words";
				goto bad;
			}
			if (!pr->words_line)
				pr->words_line = line;
		} else {
			goto unknown;
		}
		return 1;
	}
	}
unknown:
	inifile_fail(&p->in, -EINVAL, line, "unknown key '%s' in this section", q);
	return 0;
bad:
	inifile_fail(&p->in, -EINVAL, line, "%s = %s: %s", q, q2, why);
	return 0;
nomem:
	inifile_fail(&p->in, -ENOMEM, line, "out of memory");
	return 0;
}

/* The index of [netns @name] in @t, or -1. */
static int topology_find_netns(const struct topology *t, const char *name)
{
	for (unsigned i = 0; i < t->n_netns; i++)
		if (!strcmp(t->netns[i].name, name))
			return (int)i;
	return -1;
}

/* The link @name in namespace @ns, or NULL. */
static const struct topology_link *topology_find_link(const struct topology *t, unsigned ns,
						      const char *name)
{
	for (unsigned i = 0; i < t->n_links; i++)
		if (t->links[i].netns == ns && !strcmp(t->links[i].name, name))
			return &t->links[i];
	return NULL;
}

/* Checks what no single line can: references between sections.  Returns 0
 * or -EINVAL with the message in @in. */
static int topology_check(struct topology_parse *p)
{
	struct topology *t = p->t;
	struct inifile *in = &p->in;
	unsigned i, k;
	int ns;

	if (t->n_netns == 0) {
		inifile_fail(in, -EINVAL, 0, "no [netns NAME] section: nothing to make");
		return in->error;
	}
	for (i = 0; i < t->n_links; i++) {
		struct topology_link *l = &t->links[i];

		if (!l->netns_line) {
			inifile_fail(in, -EINVAL, l->line, "[link %s] needs netns = NS", l->name);
			return in->error;
		}
		ns = topology_find_netns(t, l->netns_name);
		if (ns < 0) {
			inifile_fail(in, -EINVAL, l->netns_line,
				     "netns = %s: no [netns %s] section", l->netns_name,
				     l->netns_name);
			return in->error;
		}
		l->netns = (unsigned)ns;
		l->peer_netns = l->netns;
		if (l->peer_netns_line) {
			ns = topology_find_netns(t, l->peer_netns_name);
			if (ns < 0) {
				inifile_fail(in, -EINVAL, l->peer_netns_line,
					     "peer-netns = %s: no [netns %s] section",
					     l->peer_netns_name, l->peer_netns_name);
				return in->error;
			}
			l->peer_netns = (unsigned)ns;
		}
		if (l->type == TOPOLOGY_LINK_VETH && !l->peer_line) {
			inifile_fail(in, -EINVAL, l->line, "[link %s]: a veth needs peer = NAME",
				     l->name);
			return in->error;
		}
		if (l->type != TOPOLOGY_LINK_VETH && (l->peer_line || l->peer_netns_line)) {
			inifile_fail(in, -EINVAL, l->peer_line ? l->peer_line : l->peer_netns_line,
				     "peer and peer-netns are a veth's (type = veth)");
			return in->error;
		}
	}
	for (i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i], *other;

		for (k = 0; k < i; k++)
			if (t->links[k].netns == l->netns && !strcmp(t->links[k].name, l->name)) {
				inifile_fail(in, -EINVAL, l->line,
					     "[link %s] in netns %s again (first on line %u)",
					     l->name, t->netns[l->netns].name, t->links[k].line);
				return in->error;
			}
		if (l->type == TOPOLOGY_LINK_VETH) {
			other = topology_find_link(t, l->peer_netns, l->peer);
			if ((other && other->type != TOPOLOGY_LINK_PEER) ||
			    (l->peer_netns == l->netns && !strcmp(l->peer, l->name))) {
				inifile_fail(in, -EINVAL, l->peer_line,
					     "peer = %s: that name in netns %s is taken", l->peer,
					     t->netns[l->peer_netns].name);
				return in->error;
			}
		}
		if (l->type == TOPOLOGY_LINK_PEER) {
			for (k = 0; k < t->n_links; k++)
				if (t->links[k].type == TOPOLOGY_LINK_VETH &&
				    t->links[k].peer_netns == l->netns &&
				    !strcmp(t->links[k].peer, l->name))
					break;
			if (k == t->n_links) {
				inifile_fail(
				    in, -EINVAL, l->line,
				    "[link %s] has no type, and no veth in the file has it "
				    "as its peer in netns %s",
				    l->name, t->netns[l->netns].name);
				return in->error;
			}
		}
		if (l->master_line) {
			other = topology_find_link(t, l->netns, l->master);
			if (!other || other->type != TOPOLOGY_LINK_BRIDGE) {
				inifile_fail(
				    in, -EINVAL, l->master_line,
				    "master = %s: no [link %s] with type = bridge in netns %s",
				    l->master, l->master, t->netns[l->netns].name);
				return in->error;
			}
		}
	}
	for (i = 0; i < t->n_procs; i++) {
		struct topology_proc *pr = &t->procs[i];
		const char *kind = pr->tunnel ? "tunnel" : "exec";

		if (!pr->netns_line) {
			inifile_fail(in, -EINVAL, pr->line, "[%s %s] needs netns = NS", kind,
				     pr->name);
			return in->error;
		}
		ns = topology_find_netns(t, pr->netns_name);
		if (ns < 0) {
			inifile_fail(in, -EINVAL, pr->netns_line,
				     "netns = %s: no [netns %s] section", pr->netns_name,
				     pr->netns_name);
			return in->error;
		}
		pr->netns = (unsigned)ns;
		if (pr->device_netns_line) {
			pr->device_netns = topology_find_netns(t, pr->device_netns_name);
			if (pr->device_netns < 0) {
				inifile_fail(in, -EINVAL, pr->device_netns_line,
					     "device-netns = %s: no [netns %s] section",
					     pr->device_netns_name, pr->device_netns_name);
				return in->error;
			}
		}
		if (!pr->tunnel && !pr->n_words) {
			inifile_fail(in, -EINVAL, pr->line, "[exec %s] needs command = ...",
				     pr->name);
			return in->error;
		}
		if (pr->tunnel && !pr->n_words == !pr->config) {
			inifile_fail(in, -EINVAL, pr->config_line ? pr->config_line : pr->line,
				     "[tunnel %s] needs either args = ... or config = FILE",
				     pr->name);
			return in->error;
		}
	}
	return 0;
}

/* Runs the parse of @in (source set) into @t. */
static int topology_load(struct topology *t, struct topology_parse *p, char *err, size_t errlen)
{
	int rc;

	memset(t, 0, sizeof(*t));
	p->t = t;
	p->in.file_max = TOPOLOGY_FILE_MAX;
	p->in.section = topology_section_cb;
	p->in.user = p;
	rc = inifile_parse(&p->in, topology_handler, p);
	if (rc == 0)
		rc = topology_check(p);
	if (rc == 0 && !t->name[0]) {
		/* The file's base name without ".ini". */
		const char *base = strrchr(p->in.name, '/');
		size_t len;

		base = base ? base + 1 : p->in.name;
		len = strlen(base);
		if (len > 4 && !strcmp(base + len - 4, ".ini"))
			len -= 4;
		snprintf(t->name, sizeof(t->name), "%.*s", (int)len, base);
		if (len > TOPOLOGY_NAME_MAX || !topology_name_ok(t->name)) {
			inifile_fail(&p->in, -EINVAL, 0,
				     "the file's name is no topology name: give [topology] name = "
				     "NAME");
			rc = p->in.error;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", p->in.msg);
		topology_cleanup(t);
	}
	return rc;
}

int topology_load_string(struct topology *t, const char *name, const char *text, char *err,
			 size_t errlen)
{
	struct topology_parse p = {.in = {.name = name, .text = text}};

	return topology_load(t, &p, err, errlen);
}

int topology_load_file(struct topology *t, const char *path, char *err, size_t errlen)
{
	struct topology_parse p = {.in = {.name = path}};
	int rc;

	p.in.file = inifile_open(path, &rc);
	if (!p.in.file) {
		memset(t, 0, sizeof(*t));
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = topology_load(t, &p, err, errlen);
	fclose(p.in.file);
	return rc;
}
