/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "allowedips.h"

/*
 * One node: a prefix, the key, as two 64-bit words in host byte order
 * (key[0] holds the first 8 address bytes, an IPv4 address its top 32
 * bits), host bits past cidr clear.  A child's prefix is longer than its
 * node's and inside it; it hangs on the side of its key's bit number
 * @cidr of the node (bit 0: the most significant of key[0]).  @peer NULL:
 * a branch point, which always has both children.  @parent makes removal
 * and walking loops without a stack.  56 bytes on LP64, which glibc's
 * malloc serves from a 64-byte chunk.
 */
struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;
	void *peer;
	uint64_t key[2];
	uint8_t cidr;
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct allowedips_node) == ALLOWEDIPS_NODE_SIZE,
	       "ALLOWEDIPS_NODE_SIZE is the node's size on LP64");
_Static_assert(ALLOWEDIPS_NODE_SIZE <= 64, "a node fits in a cache line");

/* The bits of key word @word (0 or 1) that lie in the first @cidr bits. */
static inline uint64_t mask_word(unsigned cidr, unsigned word)
{
	int n = (int)cidr - 64 * (int)word;

	if (n <= 0)
		return 0;
	if (n >= 64)
		return ~UINT64_C(0);
	return ~UINT64_C(0) << (64 - n);
}

/* Whether @a and @b agree on their first @cidr bits. */
static inline bool key_match(const uint64_t a[2], const uint64_t b[2], unsigned cidr)
{
	return ((a[0] ^ b[0]) & mask_word(cidr, 0)) == 0 &&
	       ((a[1] ^ b[1]) & mask_word(cidr, 1)) == 0;
}

/* Bit number @i (0..127, 0 the most significant) of @k. */
static inline unsigned key_bit(const uint64_t k[2], unsigned i)
{
	return (unsigned)(k[i >> 6] >> (63 - (i & 63))) & 1;
}

/* How many leading bits @a and @b share, 0..128. */
static unsigned key_common(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a[1] ^ b[1];
	if (x)
		return 64 + (unsigned)__builtin_clzll(x);
	return 128;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void key_from_addr(uint64_t k[2], int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		k[0] = (uint64_t)addr[0] << 56 | (uint64_t)addr[1] << 48 | (uint64_t)addr[2] << 40 |
		       (uint64_t)addr[3] << 32;
		k[1] = 0;
	} else {
		k[0] = load_be64(addr);
		k[1] = load_be64(addr + 8);
	}
}

static void key_to_addr(const uint64_t k[2], int family, uint8_t *addr)
{
	uint8_t b[16];

	store_be64(b, k[0]);
	store_be64(b + 8, k[1]);
	memcpy(addr, b, family == AF_INET ? 4 : 16);
}

/* The root for @family and its address length in bits, or NULL. */
static struct allowedips_node **root_of(struct allowedips *t, int family, unsigned *bits)
{
	if (family == AF_INET) {
		*bits = 32;
		return &t->root4;
	}
	if (family == AF_INET6) {
		*bits = 128;
		return &t->root6;
	}
	return NULL;
}

/* Puts @new (may be NULL) where @old hangs: under @parent, or at *@root. */
static void replace(struct allowedips_node **root, struct allowedips_node *parent,
		    struct allowedips_node *old, struct allowedips_node *new)
{
	if (!parent)
		*root = new;
	else
		parent->child[parent->child[1] == old] = new;
	if (new)
		new->parent = parent;
}

static struct allowedips_node *node_new(const uint64_t k[2], unsigned cidr, void *peer)
{
	struct allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key[0] = k[0] & mask_word(cidr, 0);
	n->key[1] = k[1] & mask_word(cidr, 1);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	return n;
}

int allowedips_init(struct allowedips *t, size_t max_entries)
{
	memset(t, 0, sizeof(*t));
	if (max_entries == 0 || max_entries > ALLOWEDIPS_MAX_ENTRIES)
		return -EINVAL;
	t->max_entries = max_entries;
	return 0;
}

/* Frees the tree under *@root without recursion: down to a leaf, free it,
 * back to its parent. */
static void free_root(struct allowedips_node **root)
{
	struct allowedips_node *n = *root, *p;

	while (n) {
		if (n->child[0]) {
			n = n->child[0];
		} else if (n->child[1]) {
			n = n->child[1];
		} else {
			p = n->parent;
			if (p)
				p->child[p->child[1] == n] = NULL;
			free(n);
			n = p;
		}
	}
	*root = NULL;
}

void allowedips_free(struct allowedips *t)
{
	free_root(&t->root4);
	free_root(&t->root6);
	t->entries = 0;
	t->nodes = 0;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, unsigned cidr,
		      void *peer)
{
	struct allowedips_node **root, *parent = NULL, *cur, *node, *mid = NULL;
	uint64_t k[2];
	unsigned bits, common = 0;
	int masked;

	root = root_of(t, family, &bits);
	if (!root || cidr > bits || !peer || !addr)
		return -EINVAL;
	key_from_addr(k, family, addr);
	masked = (k[0] & ~mask_word(cidr, 0)) || (k[1] & ~mask_word(cidr, 1));
	k[0] &= mask_word(cidr, 0);
	k[1] &= mask_word(cidr, 1);

	/* Down to the longest node that is a prefix of the new one. */
	cur = *root;
	while (cur && cur->cidr <= cidr && key_match(cur->key, k, cur->cidr)) {
		if (cur->cidr == cidr) {
			if (!cur->peer) {
				/* A branch point becomes an entry. */
				if (t->entries >= t->max_entries)
					return -ENOSPC;
				t->entries++;
			}
			cur->peer = peer;
			return masked;
		}
		parent = cur;
		cur = cur->child[key_bit(k, cur->cidr)];
	}
	if (t->entries >= t->max_entries)
		return -ENOSPC;
	/*
	 * The new node goes between @parent and @cur.  Either it is a prefix
	 * of @cur (they share at least cidr bits) and becomes its parent, or
	 * they part at bit @common, below both lengths and past
	 * parent->cidr (@cur hangs on the side of the new key's bit there),
	 * where a branch point holds the two.
	 */
	if (cur) {
		common = key_common(cur->key, k);
		if (common < cidr) {
			mid = node_new(k, common, NULL);
			if (!mid)
				return -ENOMEM;
		}
	}
	node = node_new(k, cidr, peer);
	if (!node) {
		free(mid);
		return -ENOMEM;
	}
	if (!cur) {
		if (parent)
			parent->child[key_bit(k, parent->cidr)] = node;
		else
			*root = node;
		node->parent = parent;
	} else if (!mid) {
		replace(root, parent, cur, node);
		node->child[key_bit(cur->key, cidr)] = cur;
		cur->parent = node;
	} else {
		replace(root, parent, cur, mid);
		mid->child[key_bit(k, common)] = node;
		mid->child[key_bit(cur->key, common)] = cur;
		node->parent = mid;
		cur->parent = mid;
		t->nodes++;
	}
	t->nodes++;
	t->entries++;
	return masked;
}

/*
 * Frees @n if it is no longer needed (no peer and fewer than two
 * children), hanging its one child in its place; then its parent, if that
 * was a branch point just left with one child.
 */
static void prune(struct allowedips *t, struct allowedips_node **root, struct allowedips_node *n)
{
	struct allowedips_node *p, *c;

	while (n && !n->peer && !(n->child[0] && n->child[1])) {
		p = n->parent;
		c = n->child[0] ? n->child[0] : n->child[1];
		replace(root, p, n, c);
		free(n);
		t->nodes--;
		/* With a child in its place, @p keeps two children. */
		n = c ? NULL : p;
	}
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, unsigned cidr)
{
	struct allowedips_node **root, *cur;
	uint64_t k[2];
	unsigned bits;

	root = root_of(t, family, &bits);
	if (!root || cidr > bits || !addr)
		return -EINVAL;
	key_from_addr(k, family, addr);
	for (cur = *root; cur && cur->cidr <= cidr && key_match(cur->key, k, cur->cidr);
	     cur = cur->child[key_bit(k, cur->cidr)]) {
		if (cur->cidr < cidr)
			continue;
		if (!cur->peer)
			return -ENOENT;
		cur->peer = NULL;
		t->entries--;
		prune(t, root, cur);
		return 0;
	}
	return -ENOENT;
}

/* The first node of the subtree @n in post-order: its deepest, leftmost
 * leaf. */
static struct allowedips_node *first_postorder(struct allowedips_node *n)
{
	while (n->child[0] || n->child[1])
		n = n->child[0] ? n->child[0] : n->child[1];
	return n;
}

/*
 * One post-order pass: children before their parent, so that when a node
 * is looked at its subtrees are already as they will stay, and whether it
 * is still needed is known.  The next node is found before this one may
 * be freed.
 */
static size_t remove_by_peer_root(struct allowedips *t, struct allowedips_node **root,
				  const void *peer)
{
	struct allowedips_node *n, *p, *next, *c;
	size_t removed = 0;

	n = *root ? first_postorder(*root) : NULL;
	while (n) {
		p = n->parent;
		if (!p)
			next = NULL;
		else if (p->child[0] == n && p->child[1])
			next = first_postorder(p->child[1]);
		else
			next = p;
		if (n->peer == peer) {
			n->peer = NULL;
			t->entries--;
			removed++;
		}
		if (!n->peer && !(n->child[0] && n->child[1])) {
			c = n->child[0] ? n->child[0] : n->child[1];
			replace(root, p, n, c);
			free(n);
			t->nodes--;
		}
		n = next;
	}
	return removed;
}

size_t allowedips_remove_by_peer(struct allowedips *t, const void *peer)
{
	if (!peer)
		return 0;
	return remove_by_peer_root(t, &t->root4, peer) + remove_by_peer_root(t, &t->root6, peer);
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	const struct allowedips_node *n;
	void *best = NULL;
	uint64_t k[2];
	unsigned bits;

	if (family == AF_INET) {
		n = t->root4;
		bits = 32;
	} else if (family == AF_INET6) {
		n = t->root6;
		bits = 128;
	} else {
		return NULL;
	}
	key_from_addr(k, family, addr);
	while (n && key_match(n->key, k, n->cidr)) {
		if (n->peer)
			best = n->peer;
		if (n->cidr == bits)
			break;
		n = n->child[key_bit(k, n->cidr)];
	}
	return best;
}

/* The address at offset @off4 (IPv4) or @off6 (IPv6) of @pkt. */
static void *lookup_packet(const struct allowedips *t, const uint8_t *pkt, size_t len, size_t off4,
			   size_t off6)
{
	unsigned ihl;

	if (!pkt || len < 1)
		return NULL;
	switch (pkt[0] >> 4) {
	case 4:
		ihl = pkt[0] & 0xf;
		if (len < 20 || ihl < 5 || ihl * 4 > len)
			return NULL;
		return allowedips_lookup(t, AF_INET, pkt + off4);
	case 6:
		if (len < 40)
			return NULL;
		return allowedips_lookup(t, AF_INET6, pkt + off6);
	default:
		return NULL;
	}
}

/* RFC 791 section 3.1: source at byte 12, destination at 16; RFC 8200
 * section 3: source at byte 8, destination at 24. */
void *allowedips_lookup_dst(const struct allowedips *t, const uint8_t *pkt, size_t len)
{
	return lookup_packet(t, pkt, len, 16, 24);
}

void *allowedips_lookup_src(const struct allowedips *t, const uint8_t *pkt, size_t len)
{
	return lookup_packet(t, pkt, len, 12, 8);
}

/* The node after @n in pre-order (node, child 0's subtree, child 1's),
 * or NULL: address order, shorter prefix first. */
static const struct allowedips_node *next_preorder(const struct allowedips_node *n)
{
	if (n->child[0])
		return n->child[0];
	if (n->child[1])
		return n->child[1];
	while (n->parent && (n->parent->child[1] == n || !n->parent->child[1]))
		n = n->parent;
	return n->parent ? n->parent->child[1] : NULL;
}

int allowedips_walk(const struct allowedips *t, const void *peer, allowedips_walk_fn cb, void *arg)
{
	static const int families[2] = {AF_INET, AF_INET6};
	const struct allowedips_node *roots[2] = {t->root4, t->root6};
	const struct allowedips_node *n;
	uint8_t addr[16];
	int r;

	for (int f = 0; f < 2; f++) {
		for (n = roots[f]; n; n = next_preorder(n)) {
			if (!n->peer || (peer && n->peer != peer))
				continue;
			key_to_addr(n->key, families[f], addr);
			r = cb(arg, families[f], addr, n->cidr, n->peer);
			if (r)
				return r;
		}
	}
	return 0;
}

void allowedips_stats(const struct allowedips *t, size_t *entries, size_t *nodes, size_t *bytes)
{
	if (entries)
		*entries = t->entries;
	if (nodes)
		*nodes = t->nodes;
	if (bytes)
		*bytes = t->nodes * sizeof(struct allowedips_node);
}

/* Checks one root's tree, adding its entries and nodes to the counts.
 * Returns NULL or the invariant broken. */
static const char *verify_root(const struct allowedips_node *root, unsigned bits, size_t limit,
			       size_t *entries, size_t *nodes)
{
	const struct allowedips_node *n, *c;

	if (root && root->parent)
		return "a root has a parent";
	for (n = root; n; n = next_preorder(n)) {
		if (++*nodes > limit)
			return "more nodes reachable than counted";
		if (n->cidr > bits)
			return "prefix longer than the address";
		if ((n->key[0] & ~mask_word(n->cidr, 0)) || (n->key[1] & ~mask_word(n->cidr, 1)))
			return "host bits set past the prefix";
		if (n->peer)
			++*entries;
		else if (!n->child[0] || !n->child[1])
			return "branch point without two children";
		if (n->cidr == bits && (n->child[0] || n->child[1]))
			return "full-length prefix with children";
		for (unsigned s = 0; s < 2; s++) {
			c = n->child[s];
			if (!c)
				continue;
			if (c->parent != n)
				return "child's parent link wrong";
			if (c->cidr <= n->cidr)
				return "child's prefix not longer than its parent's";
			if (!key_match(c->key, n->key, n->cidr))
				return "child's prefix outside its parent's";
			if (key_bit(c->key, n->cidr) != s)
				return "child on the wrong side";
		}
	}
	return NULL;
}

int allowedips_verify(const struct allowedips *t, const char **why)
{
	size_t entries = 0, nodes = 0;
	const char *w;

	w = verify_root(t->root4, 32, t->nodes, &entries, &nodes);
	if (!w)
		w = verify_root(t->root6, 128, t->nodes, &entries, &nodes);
	if (!w && nodes != t->nodes)
		w = "node count wrong";
	if (!w && entries != t->entries)
		w = "entry count wrong";
	if (!w && t->entries > t->max_entries)
		w = "more entries than the bound";
	if (!w && t->nodes > 2 * t->entries)
		w = "more than two nodes per entry";
	if (why)
		*why = w;
	return w ? -EUCLEAN : 0;
}
