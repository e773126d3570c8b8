/* SPDX-License-Identifier: MIT */
/* culvertctl route: IPv4 and IPv6 routes in the main table. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "ctl.h"

void route_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s route { add | del } { PREFIX | default } [ via GATEWAY ] [ dev NAME ]\n"
		"       %s route [ show ]\n"
		"'default' is IPv4 unless GATEWAY is IPv6; write ::/0 for an IPv6 default via a\n"
		"device only.\n",
		CTL_PROG, CTL_PROG);
}

static const char *proto_name(unsigned char proto, char buf[8])
{
	switch (proto) {
	case RTPROT_KERNEL:
		return "kernel";
	case RTPROT_BOOT:
		return "boot";
	case RTPROT_STATIC:
		return "static";
	case RTPROT_RA:
		return "ra";
	case RTPROT_DHCP:
		return "dhcp";
	}
	snprintf(buf, 8, "%u", proto);
	return buf;
}

/* Print one route in `ip route` form. */
static int print_route(const struct nl_route *r, void *data)
{
	char text[INET6_ADDRSTRLEN], ifname[IFNAMSIZ + 8], proto[8];

	if (!r->dst_len) {
		printf("default");
	} else {
		inet_ntop(r->family, r->dst, text, sizeof(text));
		printf("%s/%u", text, r->dst_len);
	}
	if (r->has_gateway) {
		inet_ntop(r->family, r->gateway, text, sizeof(text));
		printf(" via %s", text);
	}
	if (r->oif)
		printf(" dev %s", ctl_ifname(r->oif, ifname));
	printf(" proto %s", proto_name(r->protocol, proto));
	if (r->scope == RT_SCOPE_LINK)
		printf(" scope link");
	else if (r->scope == RT_SCOPE_HOST)
		printf(" scope host");
	if (r->has_prefsrc) {
		inet_ntop(r->family, r->prefsrc, text, sizeof(text));
		printf(" src %s", text);
	}
	if (r->priority)
		printf(" metric %u", r->priority);
	putchar('\n');
	return 0;
}

static int do_change(struct nl_handle *nl, int add, int argc, char **argv)
{
	const char *verb = add ? "add" : "del";
	const char *prefix, *via = NULL, *dev = NULL;
	struct nl_route r;
	unsigned int plen;
	int gw_family, i, ret;

	if (argc < 1)
		return ctl_usage("route", "route %s: PREFIX missing", verb);
	prefix = argv[0];
	for (i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return ctl_usage("route", "route %s: '%s' needs a value", verb, argv[i]);
		if (!strcmp(argv[i], "via"))
			via = argv[i + 1];
		else if (!strcmp(argv[i], "dev"))
			dev = argv[i + 1];
		else
			return ctl_usage("route", "route %s: unexpected '%s'", verb, argv[i]);
	}
	if (add && !via && !dev)
		return ctl_usage("route", "route add %s: needs 'via GATEWAY' or 'dev NAME'",
				 prefix);

	memset(&r, 0, sizeof(r));
	if (via) {
		if (nl_addr_parse(via, &gw_family, r.gateway, &plen) || strchr(via, '/'))
			return ctl_usage("route", "route %s: invalid gateway '%s'", verb, via);
		r.has_gateway = 1;
	}
	if (!strcmp(prefix, "default")) {
		r.family = via ? gw_family : AF_INET;
		r.dst_len = 0;
	} else if (nl_addr_parse(prefix, &r.family, r.dst, &r.dst_len)) {
		return ctl_usage("route", "route %s: invalid prefix '%s'", verb, prefix);
	}
	if (via && gw_family != r.family)
		return ctl_usage("route", "route %s %s: gateway %s is of another family", verb,
				 prefix, via);
	if (dev) {
		r.oif = nl_ifindex(dev);
		if (r.oif < 0)
			return ctl_fail(r.oif, NULL, "route %s %s: dev %s", verb, prefix, dev);
	}
	ret = nl_route_change(nl, add, &r);
	if (ret)
		return ctl_fail(ret, nl->extack, "route %s %s", verb, prefix);
	return CTL_EXIT_OK;
}

int route_main(int argc, char **argv)
{
	char extack[NL_EXTACK_LEN];
	struct nl_handle nl;
	const char *verb = argc > 1 ? argv[1] : "show";
	int ret;

	if (ctl_is_help(verb)) {
		route_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(verb, "add") && strcmp(verb, "del") && strcmp(verb, "delete") &&
	    strcmp(verb, "show") && strcmp(verb, "list"))
		return ctl_usage("route", "route: unknown verb '%s'", verb);
	if ((!strcmp(verb, "show") || !strcmp(verb, "list")) && argc > 2)
		return ctl_usage("route", "route show: unexpected '%s'", argv[2]);

	ret = ctl_nl_open(&nl, extack);
	if (ret)
		return ret;
	if (!strcmp(verb, "add"))
		ret = do_change(&nl, 1, argc - 2, argv + 2);
	else if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		ret = do_change(&nl, 0, argc - 2, argv + 2);
	else if ((ret = nl_route_list(&nl, AF_UNSPEC, print_route, NULL)) < 0)
		ret = ctl_fail(ret, nl.extack, "route show");
	else
		ret = CTL_EXIT_OK;
	nl_close(&nl);
	return ret;
}
