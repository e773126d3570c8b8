/* SPDX-License-Identifier: MIT */
/*
 * Topology files (culvertctl topology, doc/topology.md): one INI file that
 * declares a lab of network namespaces, the links in them (veth pairs,
 * bridges, TUN/TAP devices) with their addresses, routes, forwarding, NAT
 * rules, culvertd tunnels and other programs, each section naming its
 * namespace.  This module only parses and checks; tools/topology.c makes
 * and removes what a file declares.
 *
 *   [topology]        name = NAME
 *   [netns NAME]      forward = yes|no; route = ROUTE...; nat = RULE...;
 *                     exec = WORDS... (each short for an [exec NAME-LINE])
 *   [link NAME]       netns = NS; type = veth|bridge|tun|tap; peer = NAME;
 *                     peer-netns = NS; master = BRIDGE; mtu = N;
 *                     address = ADDR/LEN...; up = yes|no
 *   [exec NAME]       netns = NS; command = WORDS...;
 *                     ready = tcp|udp PORT [SECONDS]
 *   [tunnel NAME]     netns = NS; device-netns = NS; args = WORDS... |
 *                     config = FILE
 *
 * The lines follow culvert.conf's rules (lib/inifile.h: comments, at most
 * INIFILE_LINE_MAX characters); keys marked "..." may repeat and add up,
 * so a long command continues on further "command =" lines.  A [link]
 * without a type configures the far end of a veth pair another [link]
 * makes.  Every error names FILE:LINE.  Nothing here touches the system.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest topology or namespace name, bytes (file names under
 * /run/netns and /run/culvert/topology). */
#define TOPOLOGY_NAME_MAX 63
/* Bounds on one file, so any input takes bounded memory. */
#define TOPOLOGY_FILE_MAX  (256 * 1024)
#define TOPOLOGY_NETNS_MAX 64
#define TOPOLOGY_LINKS_MAX 256
#define TOPOLOGY_PROCS_MAX 64
#define TOPOLOGY_LIST_MAX  64  /* routes, NAT rules, addresses of one section */
#define TOPOLOGY_WORDS_MAX 256 /* words of one command */

enum topology_link_type {
	TOPOLOGY_LINK_PEER, /* no type: the far end of another [link]'s veth */
	TOPOLOGY_LINK_VETH,
	TOPOLOGY_LINK_BRIDGE,
	TOPOLOGY_LINK_TUN,
	TOPOLOGY_LINK_TAP,
};

/* An address or prefix: @family AF_INET or AF_INET6, @addr in network
 * order (4 or 16 bytes used), @plen bits. */
struct topology_addr {
	int family;
	uint8_t addr[16];
	unsigned plen;
	unsigned line;
};

/* "PREFIX|default [via ADDR] [dev DEV]", at least one of via and dev. */
struct topology_route {
	struct topology_addr dst; /* plen 0 for default */
	bool has_via;
	struct topology_addr via;
	char dev[IFNAMSIZ]; /* "" when not given */
	unsigned line;
};

/* A NAT rule as `culvertctl nat add` takes its words; checked by the tool. */
struct topology_nat {
	char **words; /* NULL-terminated, malloc'd */
	unsigned n_words;
	unsigned line;
};

struct topology_netns {
	char name[TOPOLOGY_NAME_MAX + 1];
	unsigned line;
	int forward; /* -1: not given, 0 or 1 */
	struct topology_route routes[TOPOLOGY_LIST_MAX];
	unsigned n_routes;
	struct topology_nat nats[TOPOLOGY_LIST_MAX];
	unsigned n_nats;
};

struct topology_link {
	char name[IFNAMSIZ];
	unsigned line;
	char netns_name[TOPOLOGY_NAME_MAX + 1];
	unsigned netns; /* index into topology.netns */
	enum topology_link_type type;
	char peer[IFNAMSIZ]; /* veth: the far end's name */
	char peer_netns_name[TOPOLOGY_NAME_MAX + 1];
	unsigned peer_netns;   /* veth: its namespace (index); default the link's */
	char master[IFNAMSIZ]; /* a bridge in the same namespace, "" none */
	int mtu;               /* bytes, 0: not given */
	bool up;               /* default true */
	struct topology_addr addrs[TOPOLOGY_LIST_MAX];
	unsigned n_addrs;
	/* Where each key was given, for messages (0: not given). */
	unsigned netns_line, type_line, peer_line, peer_netns_line, master_line;
};

/* An [exec] (a program) or a [tunnel] (culvertd with @words as its
 * arguments, or -c @config). */
struct topology_proc {
	bool tunnel;
	char name[TOPOLOGY_NAME_MAX + 1];
	unsigned line;
	char netns_name[TOPOLOGY_NAME_MAX + 1];
	unsigned netns;                                /* index */
	char device_netns_name[TOPOLOGY_NAME_MAX + 1]; /* tunnel: "" or a [netns] */
	int device_netns;                              /* tunnel: index, or -1 */
	char **words; /* NULL-terminated, malloc'd; exec: the command */
	unsigned n_words;
	char *config; /* tunnel: the configuration file, or NULL */
	/* exec: ready = tcp|udp PORT [SECONDS] (topology_parse_ready()); a
	 * ready_proto of 0 when not given. */
	int ready_proto;     /* IPPROTO_TCP, IPPROTO_UDP or 0 */
	uint16_t ready_port; /* host byte order, 1..65535 */
	unsigned ready_secs; /* how long to wait, s: 1..TOPOLOGY_READY_MAX */
	unsigned netns_line, device_netns_line, words_line, config_line, ready_line;
};

struct topology {
	char name[TOPOLOGY_NAME_MAX + 1];
	struct topology_netns *netns; /* malloc'd, in file order */
	unsigned n_netns;
	struct topology_link *links;
	unsigned n_links;
	struct topology_proc *procs;
	unsigned n_procs;
};

/*
 * Parses and checks the topology in @text (a NUL-terminated string; @name
 * is the file name for messages, and gives the topology's name when the
 * file has no [topology] name: its base name without ".ini").  On success
 * fills @t (topology_cleanup() frees it) and returns 0; otherwise returns
 * -EINVAL (-ENOMEM, -EFBIG) with "FILE:LINE: reason" in @err (@errlen
 * bytes) and @t empty.
 */
int topology_load_string(struct topology *t, const char *name, const char *text, char *err,
			 size_t errlen);

/* As topology_load_string(), reading the file at @path (at most
 * TOPOLOGY_FILE_MAX bytes); also -ENOENT, -EACCES, -EISDIR. */
int topology_load_file(struct topology *t, const char *path, char *err, size_t errlen);

/* Frees what @t holds and empties it.  Safe on an empty one. */
void topology_cleanup(struct topology *t);

/*
 * Splits @s into words at white space, as a shell would without expanding
 * anything: '...' keeps everything literally, "..." too except \" and \\.
 * Appends them to the NULL-terminated *@words (*@n of them), at most
 * TOPOLOGY_WORDS_MAX in all.  Returns 0, -EINVAL (an unclosed quote, too
 * many words) or -ENOMEM.
 */
int topology_split(const char *s, char ***words, unsigned *n);

/*
 * Parses a route, "PREFIX|default [via ADDR] [dev DEV]" (at least one of
 * via and dev; a default route takes its family from via), into @r
 * (zeroed by the caller).  Returns true, or false with a static reason in
 * *@why.
 */
bool topology_parse_route(const char *v, struct topology_route *r, const char **why);

/* The longest wait a ready = line may ask for, and its default, seconds. */
#define TOPOLOGY_READY_MAX     600
#define TOPOLOGY_READY_DEFAULT 15

/*
 * Parses an [exec]'s readiness, "tcp PORT [SECONDS]" or "udp PORT
 * [SECONDS]": the program counts as started once, in its namespace, a TCP
 * socket listens on PORT or a UDP socket is bound to it (proc(5),
 * /proc/PID/net/tcp), waiting at most SECONDS (1..TOPOLOGY_READY_MAX,
 * default TOPOLOGY_READY_DEFAULT).  Sets @pr's ready_proto (IPPROTO_TCP or
 * IPPROTO_UDP), ready_port (1..65535, host byte order) and ready_secs.
 * Returns true, or false with a static reason in *@why and @pr unchanged.
 */
bool topology_parse_ready(const char *v, struct topology_proc *pr, const char **why);

/* Frees a NULL-terminated word list. */
void topology_words_free(char **words);
