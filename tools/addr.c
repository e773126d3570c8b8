/* SPDX-License-Identifier: MIT */
/* culvertctl addr: IPv4 and IPv6 addresses on links. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void addr_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s addr { add | del } ADDR/PLEN dev NAME\n"
		"       %s addr [ show [ dev NAME ] ]\n"
		"IPv6 addresses are added with nodad: usable at once, no duplicate detection.\n",
		CTL_PROG, CTL_PROG);
}

/* Every address of the dump, so they can be printed under their link. */
struct addr_set {
	struct nl_addr *v;
	size_t n, cap;
};

static int collect_addr(const struct nl_addr *a, void *data)
{
	struct addr_set *s = data;
	struct nl_addr *v;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		v = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
	}
	s->v[s->n++] = *a;
	return 0;
}

static const char *scope_name(unsigned char scope, char buf[8])
{
	switch (scope) {
	case RT_SCOPE_UNIVERSE:
		return "global";
	case RT_SCOPE_SITE:
		return "site";
	case RT_SCOPE_LINK:
		return "link";
	case RT_SCOPE_HOST:
		return "host";
	case RT_SCOPE_NOWHERE:
		return "nowhere";
	}
	snprintf(buf, 8, "%u", scope);
	return buf;
}

/* IFA_F_* as `ip addr` names them; "permanent" is the default and not shown. */
static const struct {
	uint32_t flag;
	const char *name;
} addr_flags[] = {
    {IFA_F_SECONDARY, "secondary"},   {IFA_F_NODAD, "nodad"},
    {IFA_F_OPTIMISTIC, "optimistic"}, {IFA_F_DADFAILED, "dadfailed"},
    {IFA_F_HOMEADDRESS, "home"},      {IFA_F_DEPRECATED, "deprecated"},
    {IFA_F_TENTATIVE, "tentative"},   {IFA_F_NOPREFIXROUTE, "noprefixroute"},
};

static void print_addr(const struct nl_addr *a)
{
	char text[INET6_ADDRSTRLEN], scope[8];
	size_t i;

	inet_ntop(a->family, a->addr, text, sizeof(text));
	printf("    %s %s", a->family == AF_INET ? "inet" : "inet6", text);
	if (a->has_peer) {
		inet_ntop(a->family, a->peer, text, sizeof(text));
		printf(" peer %s", text);
	}
	printf("/%u scope %s", a->plen, scope_name(a->scope, scope));
	for (i = 0; i < sizeof(addr_flags) / sizeof(addr_flags[0]); i++)
		if (a->flags & addr_flags[i].flag)
			printf(" %s", addr_flags[i].name);
	if (*a->label)
		printf(" %s", a->label);
	putchar('\n');
}

/* Print a link header, then its addresses, IPv4 first as `ip addr` does. */
static int print_link_addrs(const struct nl_link *l, void *data)
{
	const struct addr_set *s = data;
	int family;
	size_t i;

	link_print_header(stdout, l);
	for (family = AF_INET;; family = AF_INET6) {
		for (i = 0; i < s->n; i++)
			if (s->v[i].index == l->index && s->v[i].family == family)
				print_addr(&s->v[i]);
		if (family == AF_INET6)
			break;
	}
	return 0;
}

static int do_show(struct nl_handle *nl, int argc, char **argv)
{
	struct addr_set s = {0};
	const char *dev = NULL;
	int ifindex = 0, ret, status = CTL_EXIT_OK;

	if (argc >= 1 && strcmp(argv[0], "dev"))
		return ctl_usage("addr", "addr show: unexpected '%s'", argv[0]);
	if (argc == 1 || argc > 2)
		return ctl_usage("addr", "addr show: expected 'dev NAME'");
	if (argc == 2) {
		dev = argv[1];
		ifindex = nl_ifindex(dev);
		if (ifindex < 0)
			return ctl_fail(ifindex, NULL, "addr show dev %s", dev);
	}
	ret = nl_addr_list(nl, ifindex, collect_addr, &s);
	if (ret < 0) {
		status = ctl_fail(ret, nl->extack, "addr show");
		goto out;
	}
	ret = nl_link_list(nl, dev, print_link_addrs, &s);
	if (ret < 0)
		status = ctl_fail(ret, nl->extack, "addr show");
out:
	free(s.v);
	return status;
}

static int do_change(struct nl_handle *nl, int add, int argc, char **argv)
{
	unsigned char addr[NL_ADDR_LEN];
	const char *verb = add ? "add" : "del";
	unsigned int plen;
	int family, ifindex, ret;

	if (argc != 3 || strcmp(argv[1], "dev"))
		return ctl_usage("addr", "addr %s: expected 'ADDR/PLEN dev NAME'", verb);
	if (nl_addr_parse(argv[0], &family, addr, &plen))
		return ctl_usage("addr", "addr %s: invalid address '%s'", verb, argv[0]);
	ifindex = nl_ifindex(argv[2]);
	if (ifindex < 0)
		return ctl_fail(ifindex, NULL, "addr %s %s dev %s", verb, argv[0], argv[2]);
	ret = nl_addr_change(nl, add, ifindex, family, addr, plen);
	if (ret)
		return ctl_fail(ret, nl->extack, "addr %s %s dev %s", verb, argv[0], argv[2]);
	return CTL_EXIT_OK;
}

int addr_main(int argc, char **argv)
{
	char extack[NL_EXTACK_LEN];
	struct nl_handle nl;
	const char *verb = argc > 1 ? argv[1] : "show";
	int ret;

	if (ctl_is_help(verb)) {
		addr_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(verb, "add") && strcmp(verb, "del") && strcmp(verb, "delete") &&
	    strcmp(verb, "show") && strcmp(verb, "list"))
		return ctl_usage("addr", "addr: unknown verb '%s'", verb);

	ret = ctl_nl_open(&nl, extack);
	if (ret)
		return ret;
	argc -= argc > 1 ? 2 : 1;
	argv += 2;
	if (!strcmp(verb, "add"))
		ret = do_change(&nl, 1, argc, argv);
	else if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		ret = do_change(&nl, 0, argc, argv);
	else
		ret = do_show(&nl, argc, argv);
	nl_close(&nl);
	return ret;
}
