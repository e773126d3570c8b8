/* SPDX-License-Identifier: MIT */
/*
 * culvertctl: set up what a culvert tunnel needs (namespaces, tun/tap and
 * veth devices, bridges, addresses, routes, forwarding) over rtnetlink,
 * with iproute2's nouns and verbs.  This file parses global options and
 * dispatches to one file per object, wireguard-tools style.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "netns.h"

/* One entry per object; later objects (show, genkey, ...) slot in here. */
static const struct ctl_object {
	const char *name;
	int (*main)(int argc, char **argv);
	void (*usage)(FILE *f);
	const char *description;
	int in_netns; /* does -n NETNS apply? */
} objects[] = {
    {"netns", netns_main, netns_usage, "named network namespaces (as `ip netns`)", 0},
    {"link", link_main, link_usage, "tun, tap, veth and bridge devices", 1},
    {"addr", addr_main, addr_usage, "IPv4 and IPv6 addresses", 1},
    {"route", route_main, route_usage, "routes in the main table", 1},
    {"forward", forward_main, forward_usage, "IPv4 and IPv6 forwarding", 1},
    {"nat", nat_main, nat_usage, "masquerading and port forwarding (nftables)", 1},
    {"topology", topology_main, topology_usage, "a whole lab of namespaces from one file", 0},
    {"show", show_main, show_usage, "running tunnels' status (as `wg show`)", 0},
    {"genkey", genkey_main, genkey_usage, "a new private key for sealed mode (as `wg genkey`)", 0},
    {"pubkey", pubkey_main, pubkey_usage, "the public key of a private key on stdin", 0},
    {"genpsk", genpsk_main, genpsk_usage, "a new pre-shared key for sealed mode", 0},
    {"selftest", selftest_main, selftest_usage, "can this host run culvert? every mode, measured",
     0},
};

#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))

/* Print the top-level help: global options and every object's synopsis. */
static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s [-n NETNS] OBJECT VERB [ARGS...]\n"
		"       %s OBJECT help\n"
		"       %s { --help | --version }\n"
		"\n"
		"Options:\n"
		"  -n, --netns NETNS  run the command inside named namespace NETNS\n"
		"                     (or the nsfs file at NETNS if it contains '/')\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Objects:\n",
		CTL_PROG, CTL_PROG, CTL_PROG);
	for (i = 0; i < N_OBJECTS; i++)
		fprintf(f, "  %-9s %s\n", objects[i].name, objects[i].description);
	fputc('\n', f);
	for (i = 0; i < N_OBJECTS; i++)
		objects[i].usage(f);
	fprintf(f, "\nExit status: 0 on success, 1 on failure, 2 on bad usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
	    {"netns", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *netns = NULL;
	const struct ctl_object *obj = NULL;
	size_t i;
	int c, ret;

	opterr = 0;
	/* '+': stop at the object, so verbs' own arguments are never reordered. */
	while ((c = getopt_long(argc, argv, "+n:hV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("%s %s\n", CTL_PROG, CULVERT_VERSION);
			return CTL_EXIT_OK;
		default:
			if (optopt == 'n')
				return ctl_usage(NULL, "option -n needs a namespace");
			return ctl_usage(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc < 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl_is_help(argv[0])) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	for (i = 0; i < N_OBJECTS; i++) {
		if (!strcmp(argv[0], objects[i].name)) {
			obj = &objects[i];
			break;
		}
	}
	if (!obj)
		return ctl_usage(NULL, "unknown object '%s'", argv[0]);

	if (netns) {
		if (!obj->in_netns)
			return ctl_usage(obj->name, "-n does not apply to '%s'", obj->name);
		/* Before any socket or file is opened: they bind to the namespace at open. */
		ret = netns_enter(netns);
		if (ret)
			return ctl_fail(ret, NULL, "netns %s", netns);
	}
	return obj->main(argc, argv);
}
