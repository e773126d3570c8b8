/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the TAP forwarding table (lib/mactable.h) against the
 * reference model of tests/mactable_model.h (an array searched linearly),
 * with the model compared to the table after every operation: the same
 * MACs, owners and times, each held MAC found by a lookup, the same counts
 * per peer and stats, and both bounds held.  The hash key comes from a
 * deterministic random source (fuzz_rng_install()), reseeded for every
 * input, so an input replays exactly; half of the MACs the operations use
 * are chosen to hash to the last two or first two slots, so that probes
 * run long, wrap round the end of the slots and meet the probe bound.
 *
 * Input: [entries: 1][per peer: 1][ageing: 1] then records [op: 1]...
 *   max_entries = 1 + entries % 64 (4 to 256 slots), max_per_peer =
 *   1 + per peer % max_entries, ageing_ms = 1 + ageing * 4.
 *   op & 7 = 0..2  [arg: 1] mactable_learn() for peer arg & 7 of MAC
 *                  (arg >> 3) + (op & 8 ? 32 : 0) of the pool (0..43
 *                  colliding, 44..59 scattered, 60..63 broadcast,
 *                  multicast, all-zero, I/G and U/L both set)
 *            3     [mac: 1] mactable_lookup() of MAC mac % 64 of the pool
 *            4     [dt: 2] time moves on by dt ms (op & 8: dt * 16)
 *            5     [budget: 2] mactable_expire(), budget % (slots + 1)
 *                  (op & 8: all the slots, after which nothing aged stays)
 *            6     [peer: 1] mactable_remove_peer()
 *            7     [peer: 1][len: 1][frame: len % 24 bytes] the frame's
 *                  source learned for the peer, its destination looked up,
 *                  as the hub will do; under 14 bytes both helpers refuse
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../mactable_model.h"
#include "fuzz.h"
#include "mactable.h"

#define POOL      64
#define COLLIDING 44

#define MAX_ENTRIES 64

static void init_once(void)
{
	static bool done;

	if (done)
		return;
	fuzz_rng_install();
	if (sodium_init() < 0)
		abort();
	done = true;
}

/*
 * The pool of MACs for a table: 0..43 with homes in the two last and two
 * first slots, 44..59 anywhere, then the four never learned.  The key is
 * the same for every input, so the pools are made once per table size.
 */
static const uint8_t (*make_pool(const struct mactable *t))[MACTABLE_MAC_LEN]
{
	static const uint8_t never[4][MACTABLE_MAC_LEN] = {
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	    {0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01},
	    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	    {0x03, 0x00, 0x00, 0x00, 0x00, 0x02},
	};
	static uint8_t pools[16][POOL][MACTABLE_MAC_LEN], key[16];
	static bool made[16], have_key;
	uint32_t mask = (uint32_t)mactable_slots(t) - 1, n = 0;
	int k = __builtin_ctz(mask + 1);
	uint8_t(*pool)[MACTABLE_MAC_LEN] = pools[k];

	if (!have_key) {
		memcpy(key, t->hash_key, sizeof(key));
		have_key = true;
	}
	FUZZ_ASSERT(memcmp(key, t->hash_key, sizeof(key)) == 0);
	if (made[k])
		return (const uint8_t(*)[MACTABLE_MAC_LEN])pool;
	for (int i = 0; i < COLLIDING; i++) {
		uint32_t want = (uint32_t)(i % 4 - 2) & mask;

		do {
			n++;
			pool[i][0] = 0x02;
			pool[i][1] = 0x00;
			memcpy(pool[i] + 2, &n, 4);
		} while (mactable_home(t, pool[i]) != want);
	}
	for (int i = COLLIDING; i < POOL - 4; i++) {
		const uint8_t m[MACTABLE_MAC_LEN] = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)i};

		memcpy(pool[i], m, sizeof(m));
	}
	memcpy(pool[POOL - 4], never, sizeof(never));
	made[k] = true;
	return (const uint8_t(*)[MACTABLE_MAC_LEN])pool;
}

static void check(struct model *m, const struct mactable *t, const struct mactable_peer *peers)
{
	const char *why = model_compare(m, t, peers);

	if (why)
		fuzz_fail(why, __FILE__, __LINE__);
}

static void learn(struct model *m, struct mactable *t, struct mactable_peer *peers,
		  const uint8_t *mac, int p, uint64_t now)
{
	enum mactable_learn_result got = mactable_learn(t, mac, &peers[p], now);

	if (got == MACTABLE_REFUSED_PROBE)
		FUZZ_ASSERT(model_probe_refusal_ok(m, t, mac));
	FUZZ_ASSERT(model_learn(m, mac, p, now, got == MACTABLE_REFUSED_PROBE) == got);
	if (got == MACTABLE_REFRESHED || got == MACTABLE_LEARNED || got == MACTABLE_MOVED)
		FUZZ_ASSERT(mactable_lookup(t, mac, now) == &peers[p]);
}

static void lookup(struct model *m, const struct mactable *t, const struct mactable_peer *peers,
		   const uint8_t *mac, uint64_t now)
{
	int want = model_lookup(m, mac, now);

	FUZZ_ASSERT(mactable_lookup(t, mac, now) == (want < 0 ? NULL : &peers[want]));
}

/* The MACs the table holds, gathered by a walk. */
struct held {
	uint64_t key[MAX_ENTRIES]; /* model_key() of each */
	size_t n;
};

static int held_add(const uint8_t *mac, struct mactable_peer *owner, uint64_t seen_ms, void *arg)
{
	struct held *h = arg;

	(void)owner;
	(void)seen_ms;
	FUZZ_ASSERT(h->n < MAX_ENTRIES);
	h->key[h->n++] = model_key(mac);
	return 0;
}

static bool held_has(const uint8_t *mac, void *arg)
{
	const struct held *h = arg;
	uint64_t k = model_key(mac);

	for (size_t i = 0; i < h->n; i++)
		if (h->key[i] == k)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct mactable_config cfg;
	struct mactable t;
	struct mactable_peer peers[MODEL_PEERS] = {{0}};
	static struct model_entry me[MAX_ENTRIES];
	static struct held held;
	struct model m;
	const uint8_t(*pool)[MACTABLE_MAC_LEN];
	uint64_t now = 1000000;

	init_once();
	cfg.max_entries = 1 + fuzz_u8(&in) % MAX_ENTRIES;
	cfg.max_per_peer = 1 + fuzz_u8(&in) % cfg.max_entries;
	cfg.ageing_ms = 1 + (uint64_t)fuzz_u8(&in) * 4;
	fuzz_rng_state[0] = UINT64_C(0x6d61637461626c65);
	fuzz_rng_stream = 0;
	if (mactable_init(&t, &cfg) != 0)
		abort();
	model_init(&m, &cfg, me);
	pool = make_pool(&t);
	while (in.left) {
		uint8_t op = fuzz_u8(&in);

		switch (op & 7) {
		case 0:
		case 1:
		case 2: {
			uint8_t arg = fuzz_u8(&in);

			learn(&m, &t, peers, pool[(arg >> 3) | (op & 8) << 2], arg & 7, now);
			break;
		}
		case 3:
			lookup(&m, &t, peers, pool[fuzz_u8(&in) % POOL], now);
			break;
		case 4:
			now += (uint64_t)fuzz_u16(&in) * (op & 8 ? 16 : 1);
			break;
		case 5: {
			size_t slots = mactable_slots(&t);
			size_t budget = op & 8 ? slots : fuzz_u16(&in) % (slots + 1);
			size_t got = mactable_expire(&t, now, budget);
			long dropped;

			held.n = 0;
			mactable_walk(&t, NULL, held_add, &held);
			dropped = model_drop(&m, now, held_has, &held);
			FUZZ_ASSERT(dropped >= 0 && (size_t)dropped == got);
			if (budget == slots)
				FUZZ_ASSERT(model_expire_all(&m, now) == 0);
			break;
		}
		case 6: {
			int p = fuzz_u8(&in) % MODEL_PEERS;

			FUZZ_ASSERT(mactable_remove_peer(&t, &peers[p]) ==
				    model_remove_peer(&m, p));
			FUZZ_ASSERT(peers[p].entries == 0);
			break;
		}
		default: {
			int p = fuzz_u8(&in) % MODEL_PEERS;
			size_t want = fuzz_u8(&in) % 24, len;
			const uint8_t *frame = fuzz_bytes(&in, want, &len);
			uint8_t src[MACTABLE_MAC_LEN], dst[MACTABLE_MAC_LEN];
			int rs = mactable_frame_src(frame, len, src);
			int rd = mactable_frame_dst(frame, len, dst);

			if (len < MACTABLE_ETH_HLEN) {
				FUZZ_ASSERT(rs == -EINVAL && rd == -EINVAL);
				break;
			}
			FUZZ_ASSERT(rs == 0 && rd == 0);
			FUZZ_ASSERT(memcmp(dst, frame, 6) == 0 && memcmp(src, frame + 6, 6) == 0);
			FUZZ_ASSERT(mactable_is_group(dst) == (frame[0] & 1));
			learn(&m, &t, peers, src, p, now);
			lookup(&m, &t, peers, dst, now);
			break;
		}
		}
		check(&m, &t, peers);
	}
	mactable_cleanup(&t);
	return 0;
}
