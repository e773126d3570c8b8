/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs: the TUN forwarding table of an interface with many peers
 * (doc/design.md section 8), WireGuard's "cryptokey routing" (WireGuard
 * paper, J. A. Donenfeld, NDSS 2017, section 2; the kernel module's
 * allowedips.c).  It maps IP prefixes to a peer: a packet read from the TUN
 * device goes to the peer owning the longest prefix that holds its
 * destination, and a packet received from a peer is delivered only if the
 * longest prefix holding its source is owned by that same peer.
 *
 * The table is a binary trie with path compression, one root for IPv4 and
 * one for IPv6.  A node holds a prefix (address and length); a node with a
 * peer is an entry, a node without is a branch point and always has two
 * children, so that nodes <= 2 * entries.  Children have strictly longer
 * prefixes than their parent, so a path from a root holds at most 33 (IPv4)
 * or 129 (IPv6) nodes, whatever the prefixes inserted; every walk is a loop,
 * no function recurses.  A peer is an opaque pointer the table never
 * dereferences; the caller owns it and must remove its prefixes
 * (allowedips_remove_by_peer()) before freeing it.
 *
 * Memory is bounded by max_entries (allowedips_init()): at most
 * 2 * max_entries - 1 nodes of ALLOWEDIPS_NODE_SIZE bytes.  Lookups never
 * allocate.  Addresses are in network byte order, 4 bytes for AF_INET and
 * 16 for AF_INET6.  Not thread-safe: one writer, and no reader while it
 * writes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* sizeof(struct allowedips_node) on LP64 (a _Static_assert in allowedips.c
 * keeps it so): two children, parent, peer, a 128-bit key, the length. */
#define ALLOWEDIPS_NODE_SIZE 56
/* The largest max_entries allowedips_init() takes: 2^24 prefixes, about
 * 1.8 GB of nodes at most. */
#define ALLOWEDIPS_MAX_ENTRIES (1u << 24)

struct allowedips_node;

struct allowedips {
	struct allowedips_node *root4, *root6;
	size_t entries;     /* prefixes held (nodes with a peer) */
	size_t nodes;       /* nodes allocated, entries and branch points */
	size_t max_entries; /* bound on entries, from allowedips_init() */
};

/*
 * Makes @t an empty table that will hold at most @max_entries prefixes
 * (IPv4 and IPv6 together).  Allocates nothing.  Returns 0, or -EINVAL when
 * @max_entries is 0 or above ALLOWEDIPS_MAX_ENTRIES.
 */
int allowedips_init(struct allowedips *t, size_t max_entries);

/* Frees every node; @t is then empty, with the same bound, and may be
 * reused.  Safe on a zeroed table. */
void allowedips_free(struct allowedips *t);

/*
 * Gives the prefix @addr/@cidr to @peer: @family AF_INET (@addr 4 bytes,
 * @cidr 0..32) or AF_INET6 (16 bytes, 0..128), @addr in network byte order.
 * Host bits of @addr past @cidr are cleared (198.18.0.1/24 is stored as
 * 198.18.0.0/24), as WireGuard does.  If the prefix is already in the table
 * it changes owner to @peer; that takes no new memory and works at the bound.
 *
 * Returns 1 when host bits were cleared, 0 when there were none, or a
 * negative errno, leaving @t unchanged: -EINVAL for another family, a @cidr
 * too long, or a NULL @peer; -ENOSPC when the table already holds
 * max_entries prefixes; -ENOMEM.
 */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, unsigned cidr,
		      void *peer);

/*
 * Removes the prefix @addr/@cidr (host bits past @cidr are ignored, as in
 * allowedips_insert()), whichever peer owns it, freeing its node and a
 * branch point left with one child.  Returns 0, -ENOENT when the prefix is
 * not in the table, or -EINVAL as allowedips_insert().
 */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, unsigned cidr);

/*
 * Removes every prefix @peer owns, in one pass over the table that also
 * frees the branch points no longer needed, so that the table is as if
 * those prefixes had never been inserted.  Returns how many were removed
 * (0 for a NULL @peer).  Call it before freeing a peer.
 */
size_t allowedips_remove_by_peer(struct allowedips *t, const void *peer);

/*
 * Longest-prefix match: the peer owning the longest prefix that holds
 * @addr (@family and @addr as in allowedips_insert()), or NULL when no
 * prefix holds it or @family is neither AF_INET nor AF_INET6.  Never
 * allocates; at most 33 or 129 nodes visited.
 */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);

/*
 * allowedips_lookup() on the destination (_dst: where a packet read from
 * TUN goes) or the source (_src: the check on a packet a peer sent) of the
 * IP packet @pkt, @len bytes, as the TUN device hands it over (no link
 * header, no virtio-net header).  The version nibble chooses the family.
 * Returns NULL when @len is shorter than the fixed header (20 bytes for
 * IPv4, 40 for IPv6), for another version, or for an IPv4 header length
 * (IHL) below 5 words or past @len.  Nothing else of the packet is checked.
 */
void *allowedips_lookup_dst(const struct allowedips *t, const uint8_t *pkt, size_t len);
void *allowedips_lookup_src(const struct allowedips *t, const uint8_t *pkt, size_t len);

/*
 * Called by allowedips_walk() for each prefix: @family, @addr (network
 * byte order, 4 or 16 bytes, host bits clear, valid during the call only),
 * @cidr and its @peer.  Return 0 to go on, anything else to stop the walk.
 * It must not change the table.
 */
typedef int (*allowedips_walk_fn)(void *arg, int family, const uint8_t *addr, unsigned cidr,
				  void *peer);

/*
 * Calls @cb(@arg, ...) for every prefix owned by @peer, or for every
 * prefix when @peer is NULL (for `allowed ips:` in a status), in a stable
 * order: IPv4 before IPv6, then by address, then shorter prefix first.
 * Returns 0 when every prefix was visited, or the first non-zero value @cb
 * returned.  A pass over the whole table, without recursion or allocation.
 */
int allowedips_walk(const struct allowedips *t, const void *peer, allowedips_walk_fn cb, void *arg);

/*
 * Counts: prefixes held (*@entries), nodes allocated (*@nodes), and bytes
 * of nodes (*@bytes: nodes * ALLOWEDIPS_NODE_SIZE, without the allocator's
 * own overhead).  Any pointer may be NULL.
 */
void allowedips_stats(const struct allowedips *t, size_t *entries, size_t *nodes, size_t *bytes);

/*
 * Checks every invariant of @t, for tests and fuzzers: parent links, each
 * child's prefix longer than its parent's and inside it, on the side given
 * by its next bit, host bits clear, lengths within the family, branch
 * points with two children, and the counts (entries <= max_entries,
 * nodes <= 2 * entries).  Returns 0, or -EUCLEAN with *@why (when @why is
 * not NULL) naming the first invariant broken.  O(nodes), no recursion.
 */
int allowedips_verify(const struct allowedips *t, const char **why);
