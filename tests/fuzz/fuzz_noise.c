/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for noise_handshake_read_message() (lib/noise.h), both
 * messages of IK and IKpsk2: the responder reading message 1, or the
 * initiator reading message 2 after its own message 1.  Every key is fixed
 * (the ephemeral ones through the test-vector hook fixed_ephemeral), so the
 * genuine message for a payload length is one fixed byte string, built
 * here at run time through the public API: no length or layout is written
 * into this file or its corpus.
 *
 * Properties:
 *   - the read returns 0 or a documented error, and on error wipes the
 *     payload buffer;
 *   - success only for the genuine message (nobody but the fixed peer can
 *     make another) with the genuine payload;
 *   - atomicity: after any failed read the genuine message still reads,
 *     and the handshake then completes into transport ciphers that talk
 *     to the peer's in both directions.
 *
 * Input: [selector: 1][message]
 *   selector & 1: 0 message 1 (responder reads), 1 message 2 (initiator);
 *   selector & 2: IKpsk2, else IK;
 *   selector & 4: IKpsk2 responder: the PSK given only after message 1;
 *                 initiator: not yet given at the fuzzed read (which
 *                 must then fail), set before the genuine one;
 *   selector & 8: a payload buffer one byte short of the genuine payload.
 * The genuine payload has as many bytes as the input's message has beyond
 * an empty-payload message, at most MAX_PAYLOAD.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "noise.h"

#define MAX_PAYLOAD 1024

static const uint8_t prologue[] = "culvert fuzz";
static uint8_t i_priv[32], r_priv[32], i_eph[32], r_eph[32], r_pub[32], i_pub[32], psk[32];

static void init_keys(void)
{
	static bool done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 32; i++) {
		i_priv[i] = (uint8_t)(0x11 + i);
		r_priv[i] = (uint8_t)(0x71 + 3 * i);
		i_eph[i] = (uint8_t)(0xa0 ^ i);
		r_eph[i] = (uint8_t)(0x5c + 5 * i);
		psk[i] = (uint8_t)(0xe0 + i);
	}
	if (crypto_scalarmult_base(r_pub, r_priv) != 0 ||
	    crypto_scalarmult_base(i_pub, i_priv) != 0)
		abort();
	done = true;
}

static struct noise_handshake *side(enum noise_pattern pat, enum noise_role role, bool with_psk)
{
	struct noise_handshake_config cfg = {
	    .pattern = pat,
	    .role = role,
	    .prologue = prologue,
	    .prologue_len = sizeof(prologue) - 1,
	    .local_private = role == NOISE_INITIATOR ? i_priv : r_priv,
	    .remote_public = role == NOISE_INITIATOR ? r_pub : NULL,
	    .psk = pat == NOISE_PATTERN_IKPSK2 && with_psk ? psk : NULL,
	    .fixed_ephemeral = role == NOISE_INITIATOR ? i_eph : r_eph,
	};
	struct noise_handshake *hs;

	if (noise_handshake_new(&hs, &cfg) < 0)
		abort();
	return hs;
}

static void fill_payload(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

/* Writes @w's next message with the genuine payload of @plen bytes. */
static void write_msg(struct noise_handshake *w, size_t plen, uint8_t *msg, size_t *len)
{
	uint8_t payload[MAX_PAYLOAD];

	fill_payload(payload, plen);
	if (noise_handshake_write_message(w, payload, plen, msg, NOISE_MAX_MESSAGE_LEN, len) < 0)
		abort();
}

/* Reads @msg into @rd and checks the payload is the genuine one of @plen bytes. */
static void read_genuine(struct noise_handshake *rd, const uint8_t *msg, size_t len, size_t plen)
{
	uint8_t payload[MAX_PAYLOAD], want[MAX_PAYLOAD];
	size_t n;

	FUZZ_ASSERT(noise_handshake_read_message(rd, msg, len, payload, sizeof(payload), &n) == 0);
	fill_payload(want, plen);
	FUZZ_ASSERT(n == plen && memcmp(payload, want, n) == 0);
}

/* Both sides complete: split, and one message each way must get through. */
static void check_transport(struct noise_handshake *i, struct noise_handshake *r)
{
	struct noise_cipher c[4], *is = &c[0], *ir = &c[1], *rs = &c[2], *rr = &c[3];
	uint8_t ct[64], pt[64];
	size_t n;

	FUZZ_ASSERT(noise_handshake_is_complete(i) && noise_handshake_is_complete(r));
	FUZZ_ASSERT(noise_handshake_split(i, is, ir) == 0);
	FUZZ_ASSERT(noise_handshake_split(r, rs, rr) == 0);
	FUZZ_ASSERT(noise_cipher_encrypt(is, NULL, NULL, 0, prologue, 5, ct, sizeof(ct), &n) == 0);
	FUZZ_ASSERT(noise_cipher_decrypt(rr, NULL, 0, ct, n, pt, sizeof(pt), &n) == 0);
	FUZZ_ASSERT(n == 5 && memcmp(pt, prologue, 5) == 0);
	FUZZ_ASSERT(noise_cipher_encrypt(rs, NULL, NULL, 0, prologue, 7, ct, sizeof(ct), &n) == 0);
	FUZZ_ASSERT(noise_cipher_decrypt(ir, NULL, 0, ct, n, pt, sizeof(pt), &n) == 0);
	FUZZ_ASSERT(n == 7 && memcmp(pt, prologue, 7) == 0);
	noise_cipher_wipe(is);
	noise_cipher_wipe(ir);
	noise_cipher_wipe(rs);
	noise_cipher_wipe(rr);
}

static uint8_t genuine[NOISE_MAX_MESSAGE_LEN], other[NOISE_MAX_MESSAGE_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel = size ? data[0] : 0;
	const uint8_t *msg = data + (size ? 1 : 0);
	size_t msg_len = size ? size - 1 : 0;
	enum noise_pattern pat = sel & 2 ? NOISE_PATTERN_IKPSK2 : NOISE_PATTERN_IK;
	bool second = sel & 1, late = (sel & 4) && pat == NOISE_PATTERN_IKPSK2;
	struct noise_handshake *i, *r, *rd;
	uint8_t payload[MAX_PAYLOAD];
	size_t base, plen, glen, olen, n, psize;
	int rc;

	init_keys();
	i = side(pat, NOISE_INITIATOR, !(second && late));
	r = side(pat, NOISE_RESPONDER, !late || second);
	if (second) {
		write_msg(i, 3, other, &olen);
		read_genuine(r, other, olen, 3);
	}
	rd = second ? i : r;
	/* The genuine message's payload: what the input's length implies. */
	FUZZ_ASSERT(noise_handshake_message_len(second ? r : i, 0, &base) == 0);
	plen = msg_len > base ? msg_len - base : 0;
	if (plen > MAX_PAYLOAD)
		plen = MAX_PAYLOAD;
	write_msg(second ? r : i, plen, genuine, &glen);

	psize = (sel & 8) && plen ? plen - 1 : sizeof(payload);
	memset(payload, 0x77, sizeof(payload));
	rc = noise_handshake_read_message(rd, msg, msg_len, payload, psize, &n);
	FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EINVAL || rc == -EMSGSIZE);
	if (second && late)
		FUZZ_ASSERT(rc != 0);
	if (rc == 0) {
		uint8_t want[MAX_PAYLOAD];

		FUZZ_ASSERT(msg_len == glen && memcmp(msg, genuine, glen) == 0);
		fill_payload(want, plen);
		FUZZ_ASSERT(n == plen && memcmp(payload, want, n) == 0);
	} else {
		/* A message that got as far as the tokens leaves nothing. */
		if (msg_len <= NOISE_MAX_MESSAGE_LEN)
			for (size_t k = 0; k < psize; k++)
				FUZZ_ASSERT(payload[k] == 0);
		/* Atomic: the genuine message still goes through. */
		if (second && late)
			FUZZ_ASSERT(noise_handshake_set_psk(i, psk) == 0);
		read_genuine(rd, genuine, glen, plen);
	}
	if (!second) {
		if (late)
			FUZZ_ASSERT(noise_handshake_set_psk(r, psk) == 0);
		write_msg(r, 0, other, &olen);
		read_genuine(i, other, olen, 0);
	}
	check_transport(i, r);
	noise_handshake_free(i);
	noise_handshake_free(r);
	return 0;
}

/* Seeds: the genuine message of every selector, with a few payload sizes. */
int fuzz_generate(const char *dir)
{
	static const size_t plens[] = {0, 1, 16, 100};
	static uint8_t buf[1 + NOISE_MAX_MESSAGE_LEN];
	int ret = 0;

	init_keys();
	for (unsigned sel = 0; sel < 8 && ret == 0; sel++) {
		enum noise_pattern pat = sel & 2 ? NOISE_PATTERN_IKPSK2 : NOISE_PATTERN_IK;

		if ((sel & 4) && pat != NOISE_PATTERN_IKPSK2)
			continue;
		for (size_t k = 0; k < sizeof(plens) / sizeof(plens[0]) && ret == 0; k++) {
			struct noise_handshake *i = side(pat, NOISE_INITIATOR, true);
			struct noise_handshake *r = side(pat, NOISE_RESPONDER, true);
			char name[64];
			size_t len;

			if (sel & 1) {
				write_msg(i, 3, other, &len);
				read_genuine(r, other, len, 3);
			}
			write_msg(sel & 1 ? r : i, plens[k], buf + 1, &len);
			buf[0] = (uint8_t)sel;
			snprintf(name, sizeof(name), "%s-msg%u%s-payload%zu",
				 pat == NOISE_PATTERN_IK ? "ik" : "ikpsk2", (sel & 1) + 1,
				 sel & 4 ? "-latepsk" : "", plens[k]);
			ret = fuzz_write_seed(dir, name, buf, 1 + len);
			noise_handshake_free(i);
			noise_handshake_free(r);
		}
	}
	return ret;
}
