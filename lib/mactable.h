/* SPDX-License-Identifier: MIT */
/*
 * The TAP forwarding table: a learning switch's table of MAC addresses,
 * each owned by the peer it was last seen behind (doc/design.md section 8,
 * issue 13).  As the Linux bridge's forwarding database
 * (net/bridge/br_fdb.c, Documentation/networking/bridge.rst) and tinc's and
 * fastd's switch mode: the source MAC of every frame a peer sends is learned
 * for that peer; a frame goes to the peer that owns its destination MAC,
 * and broadcast, multicast and unknown unicast frames are flooded to every
 * peer but the one they came from (the caller does the forwarding; this
 * table only answers "who owns this MAC").
 *
 * Bounded: at most max_entries MACs in all and max_per_peer per peer; a new
 * MAC past either bound is refused and counted, against the peer and in the
 * table's stats.  No live entry is ever evicted to make room, so a peer that
 * floods the table with made-up source MACs stops at its own bound and
 * cannot push out another peer's stations.  Group MACs (the I/G bit,
 * broadcast included) and the all-zero MAC are never learned.
 *
 * Ageing: an entry not refreshed for ageing_ms (default 300 s, the
 * bridge's and IEEE 802.1D's default ageing time) is absent for lookups at
 * once, and removed by mactable_expire(), which the caller runs from a
 * timer with a budget of slots per call.  Until removed, an aged entry
 * still counts against the bounds.
 *
 * Layout: open addressing with linear probing, slots a power of two at
 * least 4 times max_entries (load at most 1/4), indexed by SipHash-2-4
 * (libsodium's crypto_shorthash) of the MAC under a random key drawn at
 * mactable_init(), so that a stranger cannot choose MACs that collide.  A
 * MAC lives at most MACTABLE_PROBE_MAX slots past its home slot; deletion
 * shifts the following entries back (no tombstones).  24 bytes per slot,
 * 96 bytes per MAC of max_entries: 384 KiB for the default 4096.
 *
 * Pure library code: the clock is a parameter (monotonic milliseconds, the
 * caller's), memory is allocated once, at mactable_init().  No global
 * state.  Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MACTABLE_MAC_LEN 6
/* An Ethernet header: destination MAC, source MAC, EtherType (IEEE 802.3). */
#define MACTABLE_ETH_HLEN 14

#define MACTABLE_DEFAULT_MAX_ENTRIES  4096
#define MACTABLE_DEFAULT_MAX_PER_PEER 1024
#define MACTABLE_DEFAULT_AGEING_MS    300000
/* The largest max_entries mactable_init() accepts (6 MiB of slots). */
#define MACTABLE_MAX_ENTRIES_LIMIT 65536
/* How far past its home slot a MAC may be placed (and a lookup looks). */
#define MACTABLE_PROBE_MAX 32

/*
 * What the table knows of one peer.  The caller embeds it in its peer,
 * zeroed, and passes its address as the owner of what that peer sends;
 * the table keeps that pointer in each entry, so the caller must call
 * mactable_remove_peer() before the struct goes away.  A caller may also
 * give the local TAP device one, as a switch port of its own.
 */
struct mactable_peer {
	uint32_t entries; /* MACs the table holds for this peer (aged included) */
	uint64_t refused; /* new MACs refused: this peer's or the table's bound */
};

struct mactable_config {
	uint32_t max_entries;  /* 1..MACTABLE_MAX_ENTRIES_LIMIT MACs in all */
	uint32_t max_per_peer; /* 1..max_entries MACs per peer */
	uint64_t ageing_ms;    /* > 0: an entry this old (now - last seen) is aged */
};

struct mactable_stats {
	uint64_t entries;       /* MACs held now, aged ones not yet removed included */
	uint64_t learned;       /* new MACs learned (or an aged one taken again) */
	uint64_t moves;         /* live MACs that moved to another peer (station moved) */
	uint64_t refused_peer;  /* new MACs or moves refused: the peer was at its bound */
	uint64_t refused_table; /* new MACs refused: the table was at max_entries */
	uint64_t refused_probe; /* new MACs refused: no free slot in MACTABLE_PROBE_MAX */
	uint64_t invalid_src;   /* learn calls with a group or all-zero source MAC */
	uint64_t expired;       /* entries removed by mactable_expire() */
	uint64_t removed;       /* entries removed by mactable_remove_peer() */
};

struct mactable_slot;

struct mactable {
	struct mactable_slot *slots; /* mask + 1 of them */
	uint32_t mask;               /* slots - 1 (slots: a power of two) */
	uint32_t probe_max;          /* MACTABLE_PROBE_MAX, or fewer in a small table */
	uint32_t cursor;             /* where mactable_expire() goes on */
	struct mactable_config cfg;
	struct mactable_stats stats;
	uint8_t hash_key[16]; /* crypto_shorthash_KEYBYTES, random */
};

/* What mactable_learn() did. */
enum mactable_learn_result {
	MACTABLE_REFRESHED,     /* the MAC was this peer's: last seen is now */
	MACTABLE_LEARNED,       /* a new MAC (or an aged one) is now this peer's */
	MACTABLE_MOVED,         /* a live MAC of another peer is now this peer's */
	MACTABLE_INVALID_SRC,   /* group or all-zero MAC: not learned, counted */
	MACTABLE_REFUSED_PEER,  /* the peer holds max_per_peer MACs: refused, counted */
	MACTABLE_REFUSED_TABLE, /* the table holds max_entries MACs: refused, counted */
	MACTABLE_REFUSED_PROBE, /* no free slot near the MAC's home: refused, counted */
};

/*
 * Allocates the slots for @cfg (NULL: the defaults above) and draws the
 * hash key (randombytes_buf; sodium_init() must have run).  Returns 0,
 * -EINVAL for a configuration outside the ranges in struct mactable_config
 * (nothing allocated) or -ENOMEM.
 */
int mactable_init(struct mactable *t, const struct mactable_config *cfg);

/* Frees the slots; safe on a zeroed or cleaned-up table.  The peers'
 * counts are not touched. */
void mactable_cleanup(struct mactable *t);

/*
 * Learns that the station with source MAC @mac (6 bytes, as on the wire)
 * is behind @peer, at @now_ms (monotonic ms).  A MAC @peer owns is
 * refreshed.  A new MAC, or an aged one (whoever owned it), becomes
 * @peer's if @peer holds fewer than max_per_peer MACs and the table fewer
 * than max_entries; else it is refused and counted in @peer->refused and
 * the stats.  A live MAC owned by another peer moves to @peer (the station
 * moved, counted in stats.moves), unless @peer is at its bound (then it
 * stays where it was until it ages).  A group or all-zero @mac is not
 * learned: the caller should drop the frame, as the Linux bridge does
 * (br_handle_frame(): !is_valid_ether_addr()).  Returns what was done.
 */
enum mactable_learn_result mactable_learn(struct mactable *t, const uint8_t *mac,
					  struct mactable_peer *peer, uint64_t now_ms);

/*
 * The peer that owns @mac (6 bytes) at @now_ms, or NULL: not learned, aged
 * (now_ms - last seen >= ageing_ms) or a group MAC.  NULL means flood.
 * Changes nothing.
 */
struct mactable_peer *mactable_lookup(const struct mactable *t, const uint8_t *mac,
				      uint64_t now_ms);

/*
 * Removes aged entries, scanning at most @budget slots from where the
 * previous call stopped (wrapping), so that a timer tick's work is bounded;
 * a call with @budget >= mactable_slots(t) removes every aged entry.  A
 * slot refilled by the removal (a later entry shifted back) is looked at
 * again without using budget.  Returns the number of entries removed
 * (also counted in stats.expired).
 */
size_t mactable_expire(struct mactable *t, uint64_t now_ms, size_t budget);

/*
 * Forgets every MAC @peer owns (the peer is gone), scanning the slots until
 * @peer's count is 0.  Afterwards @peer->entries is 0 and the table holds
 * no pointer to @peer.  Returns the number removed (stats.removed).
 */
size_t mactable_remove_peer(struct mactable *t, struct mactable_peer *peer);

/*
 * Calls @cb for each MAC held (aged ones not yet removed included), or only
 * for @peer's when @peer is not NULL, in slot order: @mac (6 bytes, valid
 * during the call), its owner and when it was last seen (ms).  @cb must not
 * change the table.  A non-zero return from @cb stops the walk and is
 * returned; else 0.  For the status document's "learned MACs".
 */
int mactable_walk(const struct mactable *t, const struct mactable_peer *peer,
		  int (*cb)(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms,
			    void *arg),
		  void *arg);

/* The number of slots (a power of two): the budget for a full sweep. */
size_t mactable_slots(const struct mactable *t);

/* The home slot of @mac (6 bytes), 0..slots-1, where its probe starts:
 * SipHash-2-4 under the table's key, the first 8 bytes of the hash as a
 * host-order integer, masked.  For tests that need MACs to collide. */
uint32_t mactable_home(const struct mactable *t, const uint8_t *mac);

/* True when @mac (6 bytes) is a group address: the I/G bit, the least
 * significant bit of the first byte, is set (IEEE 802-2014 section 8.2);
 * broadcast ff:ff:ff:ff:ff:ff is one. */
bool mactable_is_group(const uint8_t *mac);

/*
 * The destination (bytes 0..5) or source (bytes 6..11) MAC of the Ethernet
 * frame @frame of @len bytes, copied to @mac (6 bytes).  Returns 0, or
 * -EINVAL when @len is less than MACTABLE_ETH_HLEN (@mac untouched).
 */
int mactable_frame_dst(const uint8_t *frame, size_t len, uint8_t *mac);
int mactable_frame_src(const uint8_t *frame, size_t len, uint8_t *mac);
