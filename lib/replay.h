/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay sliding window for transport counters received over UDP:
 * the bitmap ring of RFC 6479 ("IPsec Anti-Replay Algorithm without Bit
 * Shifting"), as WireGuard uses it (WireGuard paper section 5.4.6).
 *
 * Semantics, with H the highest counter accepted so far:
 *   - counters start at 0; before anything is accepted every counter below
 *     REPLAY_REJECT_AFTER_MESSAGES is acceptable;
 *   - a counter above H is acceptable and moves the window forward;
 *   - a counter c <= H is acceptable iff H - c < REPLAY_WINDOW_SIZE (the
 *     window holds the REPLAY_WINDOW_SIZE counters H - REPLAY_WINDOW_SIZE + 1
 *     .. H) and c has not been accepted before;
 *   - a counter >= REPLAY_REJECT_AFTER_MESSAGES is never acceptable.
 * The window only tracks counters; it must be reset (replay_init) with
 * every new key, since counters restart at 0 with each key.
 */
#pragma once

#include <stdint.h>

/* Bits in one bitmap block. */
#define REPLAY_BLOCK_BITS 64
/* Blocks in the ring; a power of two so the ring index is a mask. */
#define REPLAY_BLOCKS 64
/*
 * Counters the window remembers below and including the highest one:
 * RFC 6479 section 2 keeps one block of the ring spare, so that moving to
 * a new block never clears bits still inside the window.  4032 here: above
 * the 2048 doc/design.md section 3 asks for.
 */
#define REPLAY_WINDOW_SIZE ((REPLAY_BLOCKS - 1) * REPLAY_BLOCK_BITS)
/*
 * Counters at or above this (2^60) are refused, whatever the window holds:
 * one key must never carry more messages (doc/design.md section 3: rekey after
 * 2^60 messages).  It also keeps counter + 1 from overflowing below.
 */
#define REPLAY_REJECT_AFTER_MESSAGES (UINT64_C(1) << 60)

/*
 * Embedded in a session; no heap, no secrets.  @next is one more than the
 * highest counter accepted, 0 before the first: so that counter 0 needs no
 * special case.  Bit (t % REPLAY_BLOCK_BITS) of block (t / REPLAY_BLOCK_BITS
 * % REPLAY_BLOCKS) records counter t - 1.
 */
struct replay_window {
	uint64_t next;
	uint64_t bitmap[REPLAY_BLOCKS];
};

/* Empties the window (RFC 6479 initial state): every counter below
 * REPLAY_REJECT_AFTER_MESSAGES becomes acceptable again.  Call with each new
 * key. */
void replay_init(struct replay_window *w);

/*
 * Tells whether @counter (host byte order, as decoded from the message)
 * would be accepted, without changing @w: call it before spending an AEAD
 * decryption on a packet.  Returns 0 if acceptable, -ERANGE when @counter >=
 * REPLAY_REJECT_AFTER_MESSAGES, -ESTALE when it is older than the window,
 * -EALREADY when it was already accepted.
 */
int replay_check(const struct replay_window *w, uint64_t counter);

/*
 * Marks @counter as seen, moving the window forward when it is the newest
 * (RFC 6479 section 3): call it only after the packet's AEAD tag verified,
 * so forged packets cannot move the window.  It re-checks, and its result is
 * the one that counts: between replay_check() and replay_update() another
 * copy of the same packet (in the same batch, say) may have been accepted,
 * or the window moved past it.  Deliver the packet only if this returns 0.
 * Returns 0, or the errors of replay_check(), leaving @w unchanged.
 */
int replay_update(struct replay_window *w, uint64_t counter);
