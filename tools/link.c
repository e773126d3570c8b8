/* SPDX-License-Identifier: MIT */
/* culvertctl link: create, change, delete and show network devices. */
#include <errno.h>
#include <grp.h>
#include <net/if.h> /* before linux/if.h, which then adds IFF_LOWER_UP */
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "netns.h"
#include "tun.h"

void link_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s link add NAME type { tun | tap } [ user USER ] [ group GROUP ]\n"
		"       %s link add NAME type veth peer [ name ] PEER [ netns NETNS ]\n"
		"       %s link add NAME type bridge\n"
		"       %s link set NAME { up | down | mtu MTU | master BRIDGE | nomaster |\n"
		"                          netns NETNS } ...\n"
		"       %s link del NAME\n"
		"       %s link [ show [ [ dev ] NAME ] ]\n",
		CTL_PROG, CTL_PROG, CTL_PROG, CTL_PROG, CTL_PROG, CTL_PROG);
}

/* Resolve a user name or number; returns 0 or -EINVAL. */
static int parse_user(const char *s, long *uid)
{
	struct passwd *pw;
	unsigned long v;

	if (!ctl_parse_ulong(s, (uid_t)-2, &v)) {
		*uid = (long)v;
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return -EINVAL;
	*uid = (long)pw->pw_uid;
	return 0;
}

/* Resolve a group name or number; returns 0 or -EINVAL. */
static int parse_group(const char *s, long *gid)
{
	struct group *gr;
	unsigned long v;

	if (!ctl_parse_ulong(s, (gid_t)-2, &v)) {
		*gid = (long)v;
		return 0;
	}
	gr = getgrnam(s);
	if (!gr)
		return -EINVAL;
	*gid = (long)gr->gr_gid;
	return 0;
}

/* `link add NAME type tun|tap [user U] [group G]`: a persistent device via /dev/net/tun. */
static int add_tuntap(const char *name, enum tun_mode mode, int argc, char **argv)
{
	long owner = TUN_NO_OWNER, group = TUN_NO_OWNER;
	int i, ret;

	for (i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			return ctl_usage("link", "link add %s: '%s' needs a value", name, argv[i]);
		if (!strcmp(argv[i], "user")) {
			if (parse_user(argv[i + 1], &owner))
				return ctl_usage("link", "link add %s: no such user '%s'", name,
						 argv[i + 1]);
		} else if (!strcmp(argv[i], "group")) {
			if (parse_group(argv[i + 1], &group))
				return ctl_usage("link", "link add %s: no such group '%s'", name,
						 argv[i + 1]);
		} else {
			return ctl_usage("link", "link add %s: unexpected '%s'", name, argv[i]);
		}
	}
	ret = tun_create_persistent(name, mode, owner, group);
	return ret ? ctl_fail(ret, NULL, "link add %s", name) : CTL_EXIT_OK;
}

/* `link add NAME type veth peer [name] PEER [netns NS]`. */
static int add_veth(struct nl_handle *nl, const char *name, int argc, char **argv)
{
	const char *peer = NULL, *ns = NULL;
	int i = 0, fd = -1, ret;

	if (i < argc && !strcmp(argv[i], "peer"))
		i++;
	else
		return ctl_usage("link", "link add %s: veth needs 'peer PEER'", name);
	if (i < argc && !strcmp(argv[i], "name"))
		i++;
	if (i >= argc)
		return ctl_usage("link", "link add %s: peer name missing", name);
	peer = argv[i++];
	if (i < argc && !strcmp(argv[i], "netns")) {
		if (i + 1 >= argc)
			return ctl_usage("link", "link add %s: netns needs a name", name);
		ns = argv[i + 1];
		i += 2;
	}
	if (i < argc)
		return ctl_usage("link", "link add %s: unexpected '%s'", name, argv[i]);
	if (strlen(peer) >= IFNAMSIZ)
		return ctl_usage("link", "link add %s: peer name '%s' too long", name, peer);

	if (ns) {
		fd = netns_open(ns);
		if (fd < 0)
			return ctl_fail(fd, NULL, "link add %s: netns %s", name, ns);
	}
	ret = nl_link_add_veth(nl, name, peer, fd);
	if (fd >= 0)
		close(fd);
	return ret ? ctl_fail(ret, nl->extack, "link add %s", name) : CTL_EXIT_OK;
}

static int do_add(struct nl_handle *nl, int argc, char **argv)
{
	const char *name, *kind;
	int ret;

	if (argc < 3 || strcmp(argv[1], "type"))
		return ctl_usage("link", "link add: expected 'NAME type KIND'");
	name = argv[0];
	kind = argv[2];
	if (strlen(name) >= IFNAMSIZ || !*name)
		return ctl_usage("link", "link add: invalid name '%s'", name);
	argc -= 3;
	argv += 3;

	if (!strcmp(kind, "tun"))
		return add_tuntap(name, TUN_MODE_TUN, argc, argv);
	if (!strcmp(kind, "tap"))
		return add_tuntap(name, TUN_MODE_TAP, argc, argv);
	if (!strcmp(kind, "veth"))
		return add_veth(nl, name, argc, argv);
	if (!strcmp(kind, "bridge")) {
		if (argc)
			return ctl_usage("link", "link add %s: unexpected '%s'", name, argv[0]);
		ret = nl_link_add(nl, name, "bridge");
		return ret ? ctl_fail(ret, nl->extack, "link add %s", name) : CTL_EXIT_OK;
	}
	return ctl_usage("link", "link add %s: unknown type '%s'", name, kind);
}

static int do_set(struct nl_handle *nl, int argc, char **argv)
{
	struct nl_link_change c;
	const char *name;
	unsigned long mtu;
	int i, ret, status;

	if (argc < 2)
		return ctl_usage("link", "link set: expected 'NAME' and what to change");
	name = argv[0];
	nl_link_change_init(&c);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "up") || !strcmp(arg, "down")) {
			c.flags_mask |= IFF_UP;
			c.flags = !strcmp(arg, "up") ? IFF_UP : 0;
			continue;
		}
		if (!strcmp(arg, "nomaster")) {
			c.master = 0;
			continue;
		}
		if (strcmp(arg, "mtu") && strcmp(arg, "master") && strcmp(arg, "netns"))
			return ctl_usage("link", "link set %s: unknown '%s'", name, arg);
		if (!val)
			return ctl_usage("link", "link set %s: '%s' needs a value", name, arg);
		i++;
		if (!strcmp(arg, "mtu")) {
			if (ctl_parse_ulong(val, UINT32_MAX, &mtu))
				return ctl_usage("link", "link set %s: invalid mtu '%s'", name,
						 val);
			c.mtu = (long)mtu;
		} else if (!strcmp(arg, "master")) {
			ret = nl_ifindex(val);
			if (ret < 0) {
				status = ctl_fail(ret, NULL, "link set %s: master %s", name, val);
				goto out;
			}
			c.master = ret;
		} else {
			if (c.netns_fd >= 0)
				close(c.netns_fd);
			c.netns_fd = netns_open(val);
			if (c.netns_fd < 0) {
				status =
				    ctl_fail(c.netns_fd, NULL, "link set %s: netns %s", name, val);
				goto out;
			}
		}
	}
	ret = nl_link_set(nl, name, &c);
	status = ret ? ctl_fail(ret, nl->extack, "link set %s", name) : CTL_EXIT_OK;
out:
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	return status;
}

static int do_del(struct nl_handle *nl, int argc, char **argv)
{
	int ret;

	if (argc != 1)
		return ctl_usage("link", "link del: expected exactly one NAME");
	ret = nl_link_del(nl, argv[0]);
	/* Kernels before rtnl_link_ops had dellink for tun refuse; un-persist instead. */
	if (ret == -EOPNOTSUPP && !tun_delete_persistent(argv[0]))
		ret = 0;
	return ret ? ctl_fail(ret, nl->extack, "link del %s", argv[0]) : CTL_EXIT_OK;
}

/* Flag names in the order `ip link` prints them (print_link_flags()). */
static const struct {
	unsigned int flag;
	const char *name;
} flag_names[] = {
    {IFF_LOOPBACK, "LOOPBACK"},
    {IFF_BROADCAST, "BROADCAST"},
    {IFF_POINTOPOINT, "POINTOPOINT"},
    {IFF_MULTICAST, "MULTICAST"},
    {IFF_NOARP, "NOARP"},
    {IFF_ALLMULTI, "ALLMULTI"},
    {IFF_PROMISC, "PROMISC"},
    {IFF_MASTER, "MASTER"},
    {IFF_SLAVE, "SLAVE"},
    {IFF_UP, "UP"},
    {IFF_LOWER_UP, "LOWER_UP"},
    {IFF_DORMANT, "DORMANT"},
    {IFF_ECHO, "ECHO"},
};

static const char *const oper_names[] = {
    "UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP",
};

void link_print_header(FILE *f, const struct nl_link *l)
{
	char buf[IFNAMSIZ + 8];
	const char *sep = "";
	size_t i;

	fprintf(f, "%d: %s", l->index, l->name);
	if (l->link > 0) {
		/* Like ip: the peer's name if it is here, its index if it is elsewhere. */
		if (l->link_netnsid < 0)
			fprintf(f, "@%s", ctl_ifname(l->link, buf));
		else
			fprintf(f, "@if%d", l->link);
	}
	fprintf(f, ": <");
	if ((l->flags & IFF_UP) && !(l->flags & IFF_RUNNING)) {
		fprintf(f, "NO-CARRIER");
		sep = ",";
	}
	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (l->flags & flag_names[i].flag) {
			fprintf(f, "%s%s", sep, flag_names[i].name);
			sep = ",";
		}
	}
	fprintf(f, "> mtu %u", l->mtu);
	if (l->master > 0)
		fprintf(f, " master %s", ctl_ifname(l->master, buf));
	if (l->operstate < sizeof(oper_names) / sizeof(oper_names[0]))
		fprintf(f, " state %s", oper_names[l->operstate]);
	else
		fprintf(f, " state %u", l->operstate);
	fputc('\n', f);
}

/* Print one link in roughly `ip -d link` form. */
static int print_link(const struct nl_link *l, void *data)
{
	size_t i;

	link_print_header(stdout, l);
	printf("    link/");
	switch (l->type) {
	case ARPHRD_ETHER:
		printf("ether");
		break;
	case ARPHRD_LOOPBACK:
		printf("loopback");
		break;
	case ARPHRD_NONE:
		printf("none");
		break;
	default:
		printf("%u", l->type);
	}
	for (i = 0; i < l->lladdr_len; i++)
		printf("%c%02x", i ? ':' : ' ', l->lladdr[i]);
	if (l->link_netnsid >= 0)
		printf(" link-netnsid %d", l->link_netnsid);
	putchar('\n');
	if (*l->kind) {
		printf("    %s", l->kind);
		if (!strcmp(l->kind, "tun")) {
			if (l->tun_type >= 0)
				printf(" type %s", l->tun_type == IFF_TAP ? "tap" : "tun");
			if (l->tun_owner >= 0)
				printf(" user %ld", l->tun_owner);
			if (l->tun_group >= 0)
				printf(" group %ld", l->tun_group);
			if (l->tun_persist >= 0)
				printf(" persist %s", l->tun_persist ? "on" : "off");
		}
		putchar('\n');
	}
	if (*l->slave_kind)
		printf("    %s_slave\n", l->slave_kind);
	return 0;
}

static int do_show(struct nl_handle *nl, int argc, char **argv)
{
	const char *name = NULL;
	int ret;

	if (argc > 0 && !strcmp(argv[0], "dev")) {
		argc--;
		argv++;
		if (!argc)
			return ctl_usage("link", "link show: dev needs a NAME");
	}
	if (argc > 1)
		return ctl_usage("link", "link show: unexpected '%s'", argv[1]);
	if (argc)
		name = argv[0];
	ret = nl_link_list(nl, name, print_link, NULL);
	if (ret < 0)
		return ctl_fail(ret, nl->extack, "link show%s%s", name ? " " : "",
				name ? name : "");
	return CTL_EXIT_OK;
}

int link_main(int argc, char **argv)
{
	char extack[NL_EXTACK_LEN];
	struct nl_handle nl;
	const char *verb = argc > 1 ? argv[1] : "show";
	int ret;

	if (ctl_is_help(verb)) {
		link_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(verb, "add") && strcmp(verb, "set") && strcmp(verb, "del") &&
	    strcmp(verb, "delete") && strcmp(verb, "show") && strcmp(verb, "list"))
		return ctl_usage("link", "link: unknown verb '%s'", verb);

	ret = ctl_nl_open(&nl, extack);
	if (ret)
		return ret;
	argc -= argc > 1 ? 2 : 1;
	argv += 2;
	if (!strcmp(verb, "add"))
		ret = do_add(&nl, argc, argv);
	else if (!strcmp(verb, "set"))
		ret = do_set(&nl, argc, argv);
	else if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		ret = do_del(&nl, argc, argv);
	else
		ret = do_show(&nl, argc, argv);
	nl_close(&nl);
	return ret;
}
