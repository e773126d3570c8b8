/* SPDX-License-Identifier: MIT */
/* The topology file parser (lib/topology.c): what it makes of good files,
 * and that every error names FILE:LINE (FILE alone for the whole file). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check_run.h"
#include "topology.h"

#ifndef TOPOLOGY_EXAMPLES_DIR
#error "TOPOLOGY_EXAMPLES_DIR must name doc/topologies"
#endif

static struct topology t;
static char err[1024];

static void teardown(void)
{
	topology_cleanup(&t);
}

/* Loads @text as "lab.ini". */
static int load(const char *text)
{
	err[0] = '\0';
	return topology_load_string(&t, "lab.ini", text, err, sizeof(err));
}

/* Loads @text, which must fail with -EINVAL and exactly @msg. */
static void load_fails(const char *text, const char *msg)
{
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_str_eq(err, msg);
	ck_assert_uint_eq(t.n_netns, 0);
	ck_assert_ptr_null(t.netns);
}

static const char full[] = "[topology]\n"                                    /* 1 */
			   "name = full\n"                                   /* 2 */
			   "[netns a]\n"                                     /* 3 */
			   "forward = yes\n"                                 /* 4 */
			   "route = default via 198.18.0.2\n"                /* 5 */
			   "route = 2001:db8:1::/64 dev veth0\n"             /* 6 */
			   "nat = masquerade out veth0 from 198.18.1.0/24\n" /* 7 */
			   "[netns b]\n"                                     /* 8 */
			   "exec = sleep 1000\n"                             /* 9 */
			   "[link br0]\n"                                    /* 10 */
			   "netns = a\n"                                     /* 11 */
			   "type = bridge\n"                                 /* 12 */
			   "[link veth0]\n"                                  /* 13 */
			   "netns = a\n"                                     /* 14 */
			   "type = veth\n"                                   /* 15 */
			   "peer = veth0\n"                                  /* 16 */
			   "peer-netns = b\n"                                /* 17 */
			   "master = br0\n"                                  /* 18 */
			   "mtu = 1400\n"                                    /* 19 */
			   "address = 198.18.0.1/24   # the underlay\n"      /* 20 */
			   "address = 2001:db8:18::1/64\n"                   /* 21 */
			   "[link veth0]\n"                                  /* 22 */
			   "netns = b\n"                                     /* 23 */
			   "up = no\n"                                       /* 24 */
			   "[exec dns]\n"                                    /* 25 */
			   "netns = a\n"                                     /* 26 */
			   "command = dnsmasq \"--x=a b\" 'c\"d'\n"          /* 27 */
			   "command = --more\n"                              /* 28 */
			   "[tunnel vpn]\n"                                  /* 29 */
			   "netns = a\n"                                     /* 30 */
			   "device-netns = b\n"                              /* 31 */
			   "config = vpn.conf\n"                             /* 32 */
			   "[exec web]\n"                                    /* 33 */
			   "netns = b\n"                                     /* 34 */
			   "ready = tcp 8000 5\n"                            /* 35 */
			   "command = httpd\n";                              /* 36 */

START_TEST(test_full)
{
	const struct topology_link *l;
	const struct topology_proc *p;

	ck_assert_msg(load(full) == 0, "%s", err);
	ck_assert_str_eq(t.name, "full");
	ck_assert_uint_eq(t.n_netns, 2);
	ck_assert_str_eq(t.netns[0].name, "a");
	ck_assert_int_eq(t.netns[0].forward, 1);
	ck_assert_int_eq(t.netns[1].forward, -1);
	ck_assert_uint_eq(t.netns[0].n_routes, 2);
	ck_assert_int_eq(t.netns[0].routes[0].dst.family, AF_INET);
	ck_assert_uint_eq(t.netns[0].routes[0].dst.plen, 0);
	ck_assert(t.netns[0].routes[0].has_via);
	ck_assert_uint_eq(t.netns[0].routes[0].line, 5);
	ck_assert_int_eq(t.netns[0].routes[1].dst.family, AF_INET6);
	ck_assert_str_eq(t.netns[0].routes[1].dev, "veth0");
	ck_assert_uint_eq(t.netns[0].n_nats, 1);
	ck_assert_uint_eq(t.netns[0].nats[0].n_words, 5);
	ck_assert_str_eq(t.netns[0].nats[0].words[4], "198.18.1.0/24");
	ck_assert_ptr_null(t.netns[0].nats[0].words[5]);

	ck_assert_uint_eq(t.n_links, 3);
	l = &t.links[1];
	ck_assert_str_eq(l->name, "veth0");
	ck_assert_int_eq(l->type, TOPOLOGY_LINK_VETH);
	ck_assert_uint_eq(l->netns, 0);
	ck_assert_uint_eq(l->peer_netns, 1);
	ck_assert_str_eq(l->master, "br0");
	ck_assert_int_eq(l->mtu, 1400);
	ck_assert(l->up);
	ck_assert_uint_eq(l->n_addrs, 2);
	ck_assert_uint_eq(l->addrs[0].plen, 24);
	ck_assert_uint_eq(l->addrs[1].line, 21);
	l = &t.links[2];
	ck_assert_int_eq(l->type, TOPOLOGY_LINK_PEER);
	ck_assert_uint_eq(l->netns, 1);
	ck_assert(!l->up);

	ck_assert_uint_eq(t.n_procs, 4);
	p = &t.procs[0];
	ck_assert_str_eq(p->name, "b-9");
	ck_assert_uint_eq(p->netns, 1);
	ck_assert_uint_eq(p->n_words, 2);
	ck_assert_str_eq(p->words[1], "1000");
	p = &t.procs[1];
	ck_assert(!p->tunnel);
	ck_assert_uint_eq(p->n_words, 4);
	ck_assert_str_eq(p->words[0], "dnsmasq");
	ck_assert_str_eq(p->words[1], "--x=a b");
	ck_assert_str_eq(p->words[2], "c\"d");
	ck_assert_str_eq(p->words[3], "--more");
	ck_assert_ptr_null(p->words[4]);
	p = &t.procs[2];
	ck_assert(p->tunnel);
	ck_assert_int_eq(p->device_netns, 1);
	ck_assert_str_eq(p->config, "vpn.conf");
	ck_assert_uint_eq(p->n_words, 0);
	ck_assert_int_eq(p->ready_proto, 0);
	ck_assert_int_eq(t.procs[1].ready_proto, 0);
	p = &t.procs[3];
	ck_assert_int_eq(p->ready_proto, IPPROTO_TCP);
	ck_assert_uint_eq(p->ready_port, 8000);
	ck_assert_uint_eq(p->ready_secs, 5);
	ck_assert_uint_eq(p->ready_line, 35);
}
END_TEST

/* ready = tcp|udp PORT [SECONDS]: the forms, the default wait, the bounds. */
START_TEST(test_ready)
{
	static const struct {
		const char *v;
		int proto;
		unsigned port, secs;
	} good[] = {
	    {"udp 67", IPPROTO_UDP, 67, TOPOLOGY_READY_DEFAULT},
	    {"tcp 1", IPPROTO_TCP, 1, TOPOLOGY_READY_DEFAULT},
	    {"tcp 65535 600", IPPROTO_TCP, 65535, 600},
	    {"  udp\t53   1 ", IPPROTO_UDP, 53, 1},
	};
	static const char *const bad[] = {
	    "",          "tcp",        "sctp 80",   "TCP 80",     "tcp 0",
	    "tcp 65536", "tcp 80x",    "tcp -1",    "tcp +80",    "tcp 0x50",
	    "tcp 80 0",  "tcp 80 601", "tcp 80 5s", "tcp 80 5 6", "tcp 99999999999999999999",
	    "tcp \"80",  "udp 1e3",
	};
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct topology_proc pr = {0};

		ck_assert_msg(topology_parse_ready(good[i].v, &pr, &why), "'%s': %s", good[i].v,
			      why);
		ck_assert_int_eq(pr.ready_proto, good[i].proto);
		ck_assert_uint_eq(pr.ready_port, good[i].port);
		ck_assert_uint_eq(pr.ready_secs, good[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct topology_proc pr = {0};

		ck_assert_msg(!topology_parse_ready(bad[i], &pr, &why), "'%s' parsed", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(pr.ready_proto, 0);
	}
}
END_TEST

/* Without [topology] name, the file's base name less ".ini". */
START_TEST(test_default_name)
{
	ck_assert_int_eq(
	    topology_load_string(&t, "/x/y/two-hosts.ini", "[netns a]\n", err, sizeof(err)), 0);
	ck_assert_str_eq(t.name, "two-hosts");
	topology_cleanup(&t);
	ck_assert_int_eq(topology_load_string(&t, "lab", "[netns a]\n", err, sizeof(err)), 0);
	ck_assert_str_eq(t.name, "lab");
	topology_cleanup(&t);
	ck_assert_int_eq(topology_load_string(&t, "/x/..", "[netns a]\n", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "/x/..: the file's name is no topology name: give [topology] "
			      "name = NAME");
}
END_TEST

/* Every error names the file and the line it is about. */
START_TEST(test_errors)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"name = x\n", "lab.ini:1: key 'name' is outside any section"},
	    {"[netns a]\n[bogus b]\n",
	     "lab.ini:2: unknown section [bogus b] (expected [topology], [netns NAME], [link "
	     "NAME], [exec NAME] or [tunnel NAME])"},
	    {"[netns a\n", "lab.ini:1: '[netns a' has no closing ']'"},
	    {"[netns a] x\n", "lab.ini:1: text after ']'"},
	    {"[topology x]\n", "lab.ini:1: [topology] takes no name (give it as name = NAME)"},
	    {"[netns]\n",
	     "lab.ini:1: [netns ]: not a name (1 to 63 characters, no '/', not . or ..)"},
	    {"[netns a/b]\n",
	     "lab.ini:1: [netns a/b]: not a name (1 to 63 characters, no '/', not . or ..)"},
	    {"[netns a]\n[link 0123456789abcdef]\n",
	     "lab.ini:2: [link 0123456789abcdef]: not a device name (1 to 15 characters, no '/', "
	     "':' or space)"},
	    {"[netns a]\n\n[netns a]\n", "lab.ini:3: [netns a] again (first on line 1)"},
	    {"[netns a]\nforward = maybe\n", "lab.ini:2: forward = maybe: neither yes nor no"},
	    {"[netns a]\ncolour = blue\n", "lab.ini:2: unknown key 'colour' in this section"},
	    {"[netns a]\nroute = 198.18.0.0/24\n",
	     "lab.ini:2: route = 198.18.0.0/24: expected PREFIX|default [via ADDR] [dev DEV]"},
	    {"[netns a]\nroute = default dev eth0\n",
	     "lab.ini:2: route = default dev eth0: a default route needs via ADDR (its family)"},
	    {"[netns a]\nroute = 198.18.0.0/24 via 2001:db8::1\n",
	     "lab.ini:2: route = 198.18.0.0/24 via 2001:db8::1: via: another address family than "
	     "the destination's"},
	    {"[netns a]\nroute = 198.18.0.0/33 via 198.18.0.1\n",
	     "lab.ini:2: route = 198.18.0.0/33 via 198.18.0.1: the destination is not "
	     "PREFIX/LEN or default"},
	    {"[netns a]\nnat =\n", "lab.ini:2: nat = : expected culvertctl nat add's words"},
	    {"[netns a]\n[link x]\ntype = veth\npeer = y\n",
	     "lab.ini:2: [link x] needs netns = NS"},
	    {"[netns a]\n[link x]\nnetns = b\ntype = bridge\n",
	     "lab.ini:3: netns = b: no [netns b] section"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = veth\n",
	     "lab.ini:2: [link x]: a veth needs peer = NAME"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = veth\npeer = x\n",
	     "lab.ini:5: peer = x: that name in netns a is taken"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = bridge\npeer = y\n",
	     "lab.ini:5: peer and peer-netns are a veth's (type = veth)"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = dummy\n",
	     "lab.ini:4: type = dummy: neither veth, bridge, tun nor tap"},
	    {"[netns a]\n[link x]\nnetns = a\n",
	     "lab.ini:2: [link x] has no type, and no veth in the file has it as its peer in "
	     "netns a"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = tun\nmaster = x\n",
	     "lab.ini:5: master = x: no [link x] with type = bridge in netns a"},
	    {"[netns a]\n[link x]\nnetns = a\ntype = tun\n[link x]\nnetns = a\ntype = tap\n",
	     "lab.ini:5: [link x] in netns a again (first on line 2)"},
	    {"[netns a]\n[link x]\nnetns = a\nmtu = 67\n",
	     "lab.ini:4: mtu = 67: not a number from 68 to 65535"},
	    {"[netns a]\n[link x]\nnetns = a\naddress = 198.18.0.1\n",
	     "lab.ini:4: address = 198.18.0.1: not ADDR/LEN (IPv4 or IPv6)"},
	    {"[netns a]\n[link x]\nnetns = a\nnetns = a\n", "lab.ini:4: netns = a: given twice"},
	    {"[netns a]\n[exec e]\nnetns = a\n", "lab.ini:2: [exec e] needs command = ..."},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = \"x\n",
	     "lab.ini:4: command = \"x: an unclosed quote, or more than 256 words"},
	    {"[netns a]\n[exec e]\nnetns = a\nconfig = x\n",
	     "lab.ini:4: unknown key 'config' in this section"},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = x\nready = tcp 70000\n",
	     "lab.ini:5: ready = tcp 70000: the port is not a number in 1..65535"},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = x\nready = smtp 25\n",
	     "lab.ini:5: ready = smtp 25: the protocol is not tcp or udp"},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = x\nready = udp 67 0\n",
	     "lab.ini:5: ready = udp 67 0: the wait is not a number of seconds in 1..600"},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = x\nready = udp\n",
	     "lab.ini:5: ready = udp: expected tcp|udp PORT [SECONDS]"},
	    {"[netns a]\n[exec e]\nnetns = a\nready = udp 67\nready = udp 68\n",
	     "lab.ini:5: ready = udp 68: given twice"},
	    {"[netns a]\n[tunnel v]\nnetns = a\nargs = -v\nready = udp 67\n",
	     "lab.ini:5: unknown key 'ready' in this section"},
	    {"[netns a]\n[tunnel v]\nnetns = a\nargs = -v\nconfig = v.conf\n",
	     "lab.ini:5: [tunnel v] needs either args = ... or config = FILE"},
	    {"[netns a]\n[tunnel v]\nnetns = a\n",
	     "lab.ini:2: [tunnel v] needs either args = ... or config = FILE"},
	    {"[netns a]\n[tunnel v]\nnetns = a\ndevice-netns = c\nargs = -v\n",
	     "lab.ini:4: device-netns = c: no [netns c] section"},
	    {"[netns a]\n[exec e]\nnetns = a\ncommand = x\n[exec e]\n",
	     "lab.ini:5: [exec e] again (first on line 2)"},
	    {"[topology]\nname = a\nname = b\n", "lab.ini:3: name again (first on line 2)"},
	    {"[topology]\nname = ..\n",
	     "lab.ini:2: name = ..: not a name (1 to 63 characters, no '/', not . or ..)"},
	    {"[topology]\n", "lab.ini: no [netns NAME] section: nothing to make"},
	    {"[netns a]\nno equals sign\n",
	     "lab.ini:2: cannot parse the line (expected [Section], Key = Value or a comment)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(load(cases[i].text) == -EINVAL, "case %zu parsed", i);
		ck_assert_msg(!strcmp(err, cases[i].msg), "case %zu: '%s'", i, err);
		ck_assert_uint_eq(t.n_netns, 0);
	}
	load_fails("[netns a]\n[link x]\nnetns = a\nmtu = 1x\n",
		   "lab.ini:4: mtu = 1x: not a number from 68 to 65535");
}
END_TEST

/* The bounds: lines, words, sections. */
START_TEST(test_bounds)
{
	char *text = malloc(64 * 1024);
	size_t o = 0;

	ck_assert_ptr_nonnull(text);
	/* A line of 198 characters. */
	o = (size_t)sprintf(text, "[netns a]\nforward = ");
	memset(text + o, 'y', 198 - 10);
	strcpy(text + o + 188, "\n");
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_str_eq(err, "lab.ini:2: line longer than 197 characters");
	/* TOPOLOGY_NETNS_MAX + 1 namespaces. */
	o = 0;
	for (int i = 0; i <= TOPOLOGY_NETNS_MAX; i++)
		o += (size_t)sprintf(text + o, "[netns n%d]\n", i);
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_str_eq(err, "lab.ini:65: too many [netns] sections (at most 64)");
	/* 257 words, on several command lines. */
	o = (size_t)sprintf(text, "[netns a]\n[exec e]\nnetns = a\n");
	for (int line = 0; line < 9; line++) {
		o += (size_t)sprintf(text + o, "command =");
		for (int w = 0; w < 30; w++)
			o += (size_t)sprintf(text + o, " w");
		o += (size_t)sprintf(text + o, "\n");
	}
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_str_eq(err, "lab.ini:12: command = w w w w w w w w w w w w w w w w w w w w w w w "
			      "w ...: an unclosed quote, or more than 256 words");
	free(text);
}
END_TEST

START_TEST(test_split)
{
	char **w = NULL;
	unsigned n = 0;

	ck_assert_int_eq(topology_split("  a 'b c'  \"d \\\" e\"f\tg ''", &w, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(w[0], "a");
	ck_assert_str_eq(w[1], "b c");
	ck_assert_str_eq(w[2], "d \" ef");
	ck_assert_str_eq(w[3], "g");
	ck_assert_str_eq(w[4], "");
	ck_assert_ptr_null(w[5]);
	ck_assert_int_eq(topology_split("'open", &w, &n), -EINVAL);
	topology_words_free(w);
}
END_TEST

/* Every example under doc/topologies parses. */
START_TEST(test_examples)
{
	static const char *const names[] = {"veth-pair.ini",     "dhcp-bridge.ini",
					    "router.ini",        "nat.ini",
					    "bridged-sites.ini", "netns-tunnel.ini"};
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", TOPOLOGY_EXAMPLES_DIR, names[i]);
		ck_assert_msg(topology_load_file(&t, path, err, sizeof(err)) == 0, "%s", err);
		topology_cleanup(&t);
	}
	ck_assert_int_eq(topology_load_file(&t, "/nonexistent.ini", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "/nonexistent.ini: No such file or directory");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_default_name);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_ready);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_examples);
	suite_add_tcase(s, tc);
	return check_run(s);
}
