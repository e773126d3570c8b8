/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the allowed-IPs trie (lib/allowedips.h) against the
 * linear model of tests/allowedips_model.h.  After every operation:
 * allowedips_verify() passes, the entry count is the model's, and the
 * operation returned what the model's did; lookups (by address and by
 * packet, destination and source) give the model's peer; a walk gives the
 * model's prefixes in order.  At the end, removing every peer leaves no
 * node.
 *
 * Input: [bound: 1] (max_entries = 1 + bound % 64), then records
 * [op: 1][operands], F the family (op & 8: IPv6, else IPv4), ADDR 4 or 16
 * bytes, PEER a byte (% 9: 8 is NULL), CIDR a byte (% (bits + 2): one past
 * the longest is refused):
 *   op & 7 = 0, 1: insert ADDR CIDR PEER
 *            2:    remove ADDR CIDR
 *            3:    remove_by_peer PEER
 *            4:    lookup ADDR
 *            5:    near an entry: [index: 1][bit: 1][cidr: 1][peer: 1], the
 *                  entry's address with one bit flipped (bit % (bits + 1):
 *                  bits flips none), then op & 16: remove, else insert;
 *                  and a lookup of the flipped address
 *            6:    packet: [len: 1] then len % 64 bytes, looked up by
 *                  destination and source
 *            7:    walk PEER
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../allowedips_model.h"
#include "allowedips.h"
#include "fuzz.h"

static char peers[8];

static void *peer_of(uint8_t b)
{
	b %= 9;
	return b == 8 ? NULL : &peers[b];
}

static int family_of(uint8_t op, size_t *len, unsigned *bits)
{
	*len = op & 8 ? 16 : 4;
	*bits = op & 8 ? 128 : 32;
	return op & 8 ? AF_INET6 : AF_INET;
}

static void take_addr(struct fuzz_input *in, uint8_t a[16], size_t len)
{
	const uint8_t *p;
	size_t got;

	memset(a, 0, 16);
	p = fuzz_bytes(in, len, &got);
	memcpy(a, p, got);
}

/*
 * The packet rules of allowedips_lookup_dst/_src, written from their
 * comment: version 4 with at least 20 bytes and 5 <= IHL, IHL * 4 <= len;
 * version 6 with at least 40 bytes.
 */
static void *model_packet(const struct model *m, const uint8_t *pkt, size_t len, bool dst)
{
	if (len >= 20 && pkt[0] >> 4 == 4 && (pkt[0] & 15) >= 5 && (size_t)(pkt[0] & 15) * 4 <= len)
		return model_lookup(m, AF_INET, pkt + (dst ? 16 : 12));
	if (len >= 40 && pkt[0] >> 4 == 6)
		return model_lookup(m, AF_INET6, pkt + (dst ? 24 : 8));
	return NULL;
}

struct collect {
	struct model_prefix *v;
	size_t n, cap;
};

static int collect(void *arg, int family, const uint8_t *addr, unsigned cidr, void *peer)
{
	struct collect *c = arg;

	FUZZ_ASSERT(c->n < c->cap);
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].family = family;
	memcpy(c->v[c->n].addr, addr, family == AF_INET ? 4 : 16);
	c->v[c->n].cidr = cidr;
	c->v[c->n].peer = peer;
	c->n++;
	return 0;
}

static void check_walk(const struct allowedips *t, struct model *m, const void *peer)
{
	struct collect c = {calloc(m->n + 1, sizeof(*c.v)), 0, m->n};
	size_t j = 0;

	if (!c.v)
		abort();
	FUZZ_ASSERT(allowedips_walk(t, peer, collect, &c) == 0);
	model_sort(m);
	for (size_t i = 0; i < m->n; i++) {
		if (peer && m->v[i].peer != peer)
			continue;
		FUZZ_ASSERT(j < c.n);
		FUZZ_ASSERT(model_cmp(&m->v[i], &c.v[j]) == 0);
		FUZZ_ASSERT(m->v[i].peer == c.v[j].peer);
		j++;
	}
	FUZZ_ASSERT(j == c.n);
	free(c.v);
}

/* allowedips_verify(), the invariant it names on failure. */
static void verify(const struct allowedips *t)
{
	const char *why = NULL;

	if (allowedips_verify(t, &why) != 0)
		fuzz_fail(why ? why : "allowedips_verify", __FILE__, __LINE__);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct allowedips t;
	struct model m;
	size_t max = 1 + fuzz_u8(&in) % 64, len, entries, nodes;
	uint8_t a[16];
	unsigned bits, cidr;
	int family;

	FUZZ_ASSERT(allowedips_init(&t, max) == 0);
	model_init(&m, max);
	while (in.left) {
		uint8_t op = fuzz_u8(&in);

		family = family_of(op, &len, &bits);
		switch (op & 7) {
		case 0:
		case 1: {
			void *peer;

			take_addr(&in, a, len);
			cidr = fuzz_u8(&in) % (bits + 2);
			peer = peer_of(fuzz_u8(&in));
			FUZZ_ASSERT(allowedips_insert(&t, family, a, cidr, peer) ==
				    model_insert(&m, family, a, cidr, peer));
			break;
		}
		case 2:
			take_addr(&in, a, len);
			cidr = fuzz_u8(&in) % (bits + 2);
			FUZZ_ASSERT(allowedips_remove(&t, family, a, cidr) ==
				    model_remove(&m, family, a, cidr));
			break;
		case 3: {
			void *peer = peer_of(fuzz_u8(&in));

			FUZZ_ASSERT(allowedips_remove_by_peer(&t, peer) ==
				    model_remove_by_peer(&m, peer));
			break;
		}
		case 4:
			take_addr(&in, a, len);
			FUZZ_ASSERT(allowedips_lookup(&t, family, a) ==
				    model_lookup(&m, family, a));
			break;
		case 5: {
			const struct model_prefix *p;
			uint8_t idx = fuzz_u8(&in), bit = fuzz_u8(&in), c = fuzz_u8(&in);
			void *peer = peer_of(fuzz_u8(&in));

			if (!m.n)
				break;
			p = &m.v[idx % m.n];
			family = p->family;
			bits = model_bits(family);
			memcpy(a, p->addr, 16);
			if (bit % (bits + 1) < bits)
				a[bit % (bits + 1) / 8] ^=
				    (uint8_t)(0x80 >> (bit % (bits + 1) % 8));
			cidr = c % (bits + 1);
			if (op & 16)
				FUZZ_ASSERT(allowedips_remove(&t, family, a, cidr) ==
					    model_remove(&m, family, a, cidr));
			else
				FUZZ_ASSERT(allowedips_insert(&t, family, a, cidr, peer) ==
					    model_insert(&m, family, a, cidr, peer));
			FUZZ_ASSERT(allowedips_lookup(&t, family, a) ==
				    model_lookup(&m, family, a));
			break;
		}
		case 6: {
			size_t want = fuzz_u8(&in) % 64, got;
			const uint8_t *p = fuzz_bytes(&in, want, &got);
			/* A copy exactly @got bytes long, so that ASan sees any
			 * read past the packet. */
			uint8_t *pkt = malloc(got ? got : 1);

			if (!pkt)
				abort();
			memcpy(pkt, p, got);
			FUZZ_ASSERT(allowedips_lookup_dst(&t, pkt, got) ==
				    model_packet(&m, pkt, got, true));
			FUZZ_ASSERT(allowedips_lookup_src(&t, pkt, got) ==
				    model_packet(&m, pkt, got, false));
			free(pkt);
			break;
		}
		default:
			check_walk(&t, &m, peer_of(fuzz_u8(&in)));
			break;
		}
		verify(&t);
		allowedips_stats(&t, &entries, NULL, NULL);
		FUZZ_ASSERT(entries == m.n);
	}
	check_walk(&t, &m, NULL);
	for (uint8_t i = 0; i < 8; i++)
		allowedips_remove_by_peer(&t, peer_of(i));
	verify(&t);
	allowedips_stats(&t, &entries, &nodes, NULL);
	FUZZ_ASSERT(entries == 0 && nodes == 0);
	allowedips_free(&t);
	model_free(&m);
	return 0;
}
