/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the topology file parser (lib/topology.c): any bytes in,
 * the parser must return 0 or -errno with a one-line message naming the
 * file, never crash, overrun or leak; what it accepts must hold the
 * invariants tools/topology.c relies on (every reference resolved, every
 * list within its bound, every word list NULL-terminated).  Inputs go in as
 * a string up to their first NUL; the word splitter gets them too.
 *
 * Built as every target in this directory is (tests/fuzz/fuzz.h); its
 * corpus is tests/fuzz/corpus/topology and doc/topologies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "topology.h"

/* Aborts unless @words holds @n non-NULL words and a NULL after them. */
static void check_words(char **words, unsigned n)
{
	if (n > TOPOLOGY_WORDS_MAX || (n && !words))
		abort();
	for (unsigned i = 0; i < n; i++)
		if (!words[i])
			abort();
	if (words && words[n])
		abort();
}

/* Aborts if @t breaks what the tool relies on. */
static void check_topology(const struct topology *t)
{
	if (!t->name[0] || strchr(t->name, '/') || t->n_netns == 0 ||
	    t->n_netns > TOPOLOGY_NETNS_MAX || t->n_links > TOPOLOGY_LINKS_MAX ||
	    t->n_procs > TOPOLOGY_PROCS_MAX)
		abort();
	for (unsigned i = 0; i < t->n_netns; i++) {
		const struct topology_netns *n = &t->netns[i];

		if (n->n_routes > TOPOLOGY_LIST_MAX || n->n_nats > TOPOLOGY_LIST_MAX)
			abort();
		for (unsigned k = 0; k < n->n_routes; k++)
			if (n->routes[k].dst.family != AF_INET &&
			    n->routes[k].dst.family != AF_INET6)
				abort();
		for (unsigned k = 0; k < n->n_nats; k++)
			check_words(n->nats[k].words, n->nats[k].n_words);
	}
	for (unsigned i = 0; i < t->n_links; i++) {
		const struct topology_link *l = &t->links[i];

		if (l->netns >= t->n_netns || l->peer_netns >= t->n_netns ||
		    l->n_addrs > TOPOLOGY_LIST_MAX || !l->name[0] ||
		    (l->type == TOPOLOGY_LINK_VETH && !l->peer[0]))
			abort();
	}
	for (unsigned i = 0; i < t->n_procs; i++) {
		const struct topology_proc *p = &t->procs[i];

		if (p->netns >= t->n_netns || p->device_netns >= (int)t->n_netns ||
		    (!p->tunnel && !p->n_words) || (p->tunnel && !p->n_words == !p->config))
			abort();
		check_words(p->words, p->n_words);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topology t;
	char err[1024], *text, **words = NULL;
	unsigned n = 0;
	int rc;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = topology_load_string(&t, "fuzz.ini", text, err, sizeof(err));
	if (rc > 0 || (rc < 0 && (!err[0] || strchr(err, '\n') || strncmp(err, "fuzz.ini", 8))))
		abort();
	if (rc == 0)
		check_topology(&t);
	topology_cleanup(&t);
	if (size < 4096) {
		rc = topology_split(text, &words, &n);
		if (rc > 0)
			abort();
		if (rc == 0)
			check_words(words, n);
		topology_words_free(words);
	}
	free(text);
	return 0;
}
