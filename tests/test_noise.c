/* SPDX-License-Identifier: MIT */
/*
 * Behaviour of lib/noise.c beyond the test vectors (tests/noise_vectors.c):
 * refusals, atomicity of failed reads, transport ciphers with explicit
 * counters, and TAI64N ordering.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"
#include "tai64n.h"
#include "check_run.h"

static const uint8_t prologue[] = "culvert test";

struct peer {
	uint8_t priv[NOISE_PRIVATE_KEY_LEN];
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
};

static struct peer alice, bob; /* alice initiates, bob responds */
static uint8_t psk[NOISE_PSK_LEN];

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	crypto_box_keypair(alice.pub, alice.priv);
	crypto_box_keypair(bob.pub, bob.priv);
	randombytes_buf(psk, sizeof(psk));
}

static struct noise_handshake *new_initiator(enum noise_pattern pat, const uint8_t *rs,
					     const uint8_t *key)
{
	struct noise_handshake_config cfg = {
	    .pattern = pat,
	    .role = NOISE_INITIATOR,
	    .prologue = prologue,
	    .prologue_len = sizeof(prologue),
	    .local_private = alice.priv,
	    .remote_public = rs,
	    .psk = key,
	};
	struct noise_handshake *hs;

	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), 0);
	return hs;
}

static struct noise_handshake *new_responder(enum noise_pattern pat, const uint8_t *key)
{
	struct noise_handshake_config cfg = {
	    .pattern = pat,
	    .role = NOISE_RESPONDER,
	    .prologue = prologue,
	    .prologue_len = sizeof(prologue),
	    .local_private = bob.priv,
	    .psk = key,
	};
	struct noise_handshake *hs;

	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), 0);
	return hs;
}

/* A complete IKpsk2 handshake; *@m1 and *@m2 keep the messages. */
static void handshake(struct noise_handshake *i, struct noise_handshake *r, uint8_t *m1,
		      size_t *m1_len, uint8_t *m2, size_t *m2_len)
{
	uint8_t ts[TAI64N_LEN], buf[128];
	size_t len;

	ck_assert_int_eq(tai64n_now(ts), 0);
	ck_assert_int_eq(noise_handshake_write_message(i, ts, sizeof(ts), m1, 256, m1_len), 0);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, *m1_len, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(ts));
	ck_assert_mem_eq(buf, ts, sizeof(ts));
	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, m2, 256, m2_len), 0);
	ck_assert_int_eq(noise_handshake_read_message(i, m2, *m2_len, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 0);
}

START_TEST(test_protocol_names)
{
	char name[NOISE_PROTOCOL_NAME_MAX];
	enum noise_pattern p;

	ck_assert_int_eq(noise_protocol_name(NOISE_PATTERN_IKPSK2, name, sizeof(name)), 37);
	ck_assert_str_eq(name, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b");
	ck_assert_int_eq(noise_protocol_name(NOISE_PATTERN_IK, name, sizeof(name)), 33);
	ck_assert_str_eq(name, "Noise_IK_25519_ChaChaPoly_BLAKE2b");
	ck_assert_int_eq(noise_protocol_name(NOISE_PATTERN_IK, name, 10), -EMSGSIZE);
	ck_assert_int_eq(noise_protocol_lookup("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b", &p), 0);
	ck_assert_int_eq(p, NOISE_PATTERN_IKPSK2);
	ck_assert_int_eq(noise_protocol_lookup("Noise_IK_25519_ChaChaPoly_BLAKE2b", &p), 0);
	ck_assert_int_eq(p, NOISE_PATTERN_IK);
	ck_assert_int_eq(noise_protocol_lookup("Noise_IK_25519_AESGCM_SHA256", &p), -ENOENT);
	ck_assert_int_eq(noise_protocol_lookup("Noise_XX_25519_ChaChaPoly_BLAKE2b", &p), -ENOENT);
}
END_TEST

START_TEST(test_handshake_ikpsk2)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	/* The responder learns who is calling, then picks that peer's PSK. */
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, NULL);
	uint8_t m1[256], m2[256], buf[128], h1[NOISE_HASH_LEN], h2[NOISE_HASH_LEN];
	uint8_t who[NOISE_PUBLIC_KEY_LEN], ts[TAI64N_LEN];
	size_t len, m1_len, m2_len, want;

	ck_assert_int_eq(noise_handshake_next_writer(i), NOISE_INITIATOR);
	ck_assert_int_eq(noise_handshake_remote_static(r, who), -ENOENT);
	ck_assert_int_eq(noise_handshake_message_len(i, TAI64N_LEN, &want), 0);
	/* e, encrypted s, encrypted timestamp. */
	ck_assert_uint_eq(want, 32 + 32 + 16 + TAI64N_LEN + 16);
	ck_assert_int_eq(tai64n_now(ts), 0);
	ck_assert_int_eq(noise_handshake_write_message(i, ts, sizeof(ts), m1, sizeof(m1), &m1_len),
			 0);
	ck_assert_uint_eq(m1_len, want);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, ts, sizeof(ts));
	ck_assert_int_eq(noise_handshake_remote_static(r, who), 0);
	ck_assert_mem_eq(who, alice.pub, sizeof(who));
	ck_assert_int_eq(noise_handshake_next_writer(r), NOISE_RESPONDER);

	/* Without the PSK the responder cannot write message 2 yet. */
	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, m2, sizeof(m2), &m2_len),
			 -EINVAL);
	ck_assert_int_eq(noise_handshake_set_psk(r, psk), 0);
	ck_assert_int_eq(noise_handshake_message_len(r, 0, &want), 0);
	ck_assert_uint_eq(want, 32 + 16);
	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, m2, sizeof(m2), &m2_len), 0);
	ck_assert_uint_eq(m2_len, want);
	ck_assert_int_eq(noise_handshake_read_message(i, m2, m2_len, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 0);

	ck_assert(noise_handshake_is_complete(i));
	ck_assert(noise_handshake_is_complete(r));
	ck_assert_int_eq(noise_handshake_hash(i, h1), 0);
	ck_assert_int_eq(noise_handshake_hash(r, h2), 0);
	ck_assert_mem_eq(h1, h2, sizeof(h1));
	ck_assert_int_eq(noise_handshake_set_psk(r, psk), -EINVAL);
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

START_TEST(test_config_misuse)
{
	struct noise_handshake_config cfg = {
	    .pattern = NOISE_PATTERN_IK,
	    .role = NOISE_INITIATOR,
	    .local_private = alice.priv,
	};
	struct noise_handshake *hs = (void *)1;

	/* IK initiator without the responder's key. */
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), -EINVAL);
	ck_assert_ptr_null(hs);
	/* A PSK for a pattern without psk. */
	cfg.remote_public = bob.pub;
	cfg.psk = psk;
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), -EINVAL);
	/* No static key. */
	cfg.psk = NULL;
	cfg.local_private = NULL;
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), -EINVAL);
	/* An IK responder is told no remote key: it learns it. */
	cfg.local_private = bob.priv;
	cfg.role = NOISE_RESPONDER;
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), -EINVAL);
	cfg.remote_public = NULL;
	cfg.pattern = 99;
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), -EINVAL);
	cfg.pattern = NOISE_PATTERN_IK;
	ck_assert_int_eq(noise_handshake_new(&hs, &cfg), 0);
	ck_assert_int_eq(noise_handshake_set_psk(hs, psk), -EINVAL);
	noise_handshake_free(hs);
	noise_handshake_free(NULL);
}
END_TEST

START_TEST(test_wrong_turn)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, psk);
	struct noise_cipher c[2], *s = &c[0], *rc = &c[1];
	uint8_t m1[256], m2[256], buf[256], h[NOISE_HASH_LEN];
	size_t m1_len, m2_len, len;

	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, buf, sizeof(buf), &len),
			 -EINVAL);
	ck_assert_int_eq(noise_handshake_read_message(i, buf, 64, buf, sizeof(buf), &len), -EINVAL);
	ck_assert_int_eq(noise_handshake_split(i, s, rc), -EINVAL);
	ck_assert_int_eq(noise_handshake_hash(i, h), -EINVAL);
	handshake(i, r, m1, &m1_len, m2, &m2_len);
	ck_assert_int_eq(noise_handshake_write_message(i, NULL, 0, buf, sizeof(buf), &len),
			 -EINVAL);
	ck_assert_int_eq(noise_handshake_read_message(r, m2, m2_len, buf, sizeof(buf), &len),
			 -EINVAL);
	ck_assert_int_eq(noise_handshake_message_len(i, 0, &len), -EINVAL);
	ck_assert_int_eq(noise_handshake_split(i, s, rc), 0);
	noise_cipher_wipe(s);
	noise_cipher_wipe(rc);
	ck_assert_int_eq(noise_handshake_split(i, s, rc), -EINVAL);
	/* The hash stays readable after the split. */
	ck_assert_int_eq(noise_handshake_hash(i, h), 0);
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

/*
 * Every single-bit flip anywhere in either message is refused, and a
 * refused message leaves the reader able to take the genuine one.
 */
START_TEST(test_tampered_messages)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, psk);
	uint8_t m1[256], m2[256], bad[256], buf[256], who[NOISE_PUBLIC_KEY_LEN];
	size_t m1_len, m2_len, len, pos;
	int bit;
	uint8_t ts[TAI64N_LEN] = {0};

	ck_assert_int_eq(noise_handshake_write_message(i, ts, sizeof(ts), m1, sizeof(m1), &m1_len),
			 0);
	for (pos = 0; pos < m1_len; pos++) {
		for (bit = 0; bit < 8; bit += 7) {
			memcpy(bad, m1, m1_len);
			bad[pos] ^= (uint8_t)(1 << bit);
			memset(buf, 0xaa, sizeof(buf));
			ck_assert_int_eq(
			    noise_handshake_read_message(r, bad, m1_len, buf, sizeof(buf), &len),
			    -EBADMSG);
			/* The output was wiped, and nothing was learnt. */
			ck_assert(sodium_is_zero(buf, sizeof(buf)));
			ck_assert_int_eq(noise_handshake_remote_static(r, who), -ENOENT);
			ck_assert_int_eq(noise_handshake_next_writer(r), NOISE_INITIATOR);
		}
	}
	/* Truncated at every length, and one byte too long. */
	for (len = 0; len < m1_len; len++)
		ck_assert_int_eq(noise_handshake_read_message(r, m1, len, buf, sizeof(buf), &pos),
				 -EBADMSG);
	memcpy(bad, m1, m1_len);
	bad[m1_len] = 0;
	ck_assert_int_eq(noise_handshake_read_message(r, bad, m1_len + 1, buf, sizeof(buf), &len),
			 -EBADMSG);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len), 0);

	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, m2, sizeof(m2), &m2_len), 0);
	for (pos = 0; pos < m2_len; pos++) {
		memcpy(bad, m2, m2_len);
		bad[pos] ^= 0x80;
		ck_assert_int_eq(
		    noise_handshake_read_message(i, bad, m2_len, buf, sizeof(buf), &len), -EBADMSG);
		ck_assert(!noise_handshake_is_complete(i));
	}
	ck_assert_int_eq(noise_handshake_read_message(i, m2, m2_len, buf, sizeof(buf), &len), 0);
	ck_assert(noise_handshake_is_complete(i));
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

/* A low-order ephemeral key (all-zero X25519 result) is refused. */
START_TEST(test_low_order_ephemeral)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, psk);
	uint8_t m1[256], buf[256];
	size_t m1_len, len;

	ck_assert_int_eq(noise_handshake_write_message(i, NULL, 0, m1, sizeof(m1), &m1_len), 0);
	memset(m1, 0, NOISE_PUBLIC_KEY_LEN); /* the identity point */
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len),
			 -EBADMSG);
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

START_TEST(test_wrong_psk)
{
	uint8_t other[NOISE_PSK_LEN];
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r;
	uint8_t m1[256], m2[256], buf[256];
	size_t m1_len, m2_len, len;

	memcpy(other, psk, sizeof(other));
	other[31] ^= 1;
	r = new_responder(NOISE_PATTERN_IKPSK2, other);
	ck_assert_int_eq(noise_handshake_write_message(i, NULL, 0, m1, sizeof(m1), &m1_len), 0);
	/* psk2 only enters with message 2: message 1 still reads. */
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(noise_handshake_write_message(r, NULL, 0, m2, sizeof(m2), &m2_len), 0);
	ck_assert_int_eq(noise_handshake_read_message(i, m2, m2_len, buf, sizeof(buf), &len),
			 -EBADMSG);
	ck_assert(!noise_handshake_is_complete(i));
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

START_TEST(test_wrong_responder_key_or_prologue)
{
	uint8_t m1[256], buf[256], fake[NOISE_PUBLIC_KEY_LEN], fake_priv[NOISE_PRIVATE_KEY_LEN];
	struct noise_handshake *i, *r;
	size_t m1_len, len;

	/* The initiator believes bob's key is another one. */
	crypto_box_keypair(fake, fake_priv);
	i = new_initiator(NOISE_PATTERN_IK, fake, NULL);
	r = new_responder(NOISE_PATTERN_IK, NULL);
	ck_assert_int_eq(noise_handshake_write_message(i, NULL, 0, m1, sizeof(m1), &m1_len), 0);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len),
			 -EBADMSG);
	noise_handshake_free(i);
	noise_handshake_free(r);

	/* Different prologues. */
	struct noise_handshake_config cfg = {
	    .pattern = NOISE_PATTERN_IK,
	    .role = NOISE_RESPONDER,
	    .prologue = (const uint8_t *)"other",
	    .prologue_len = 5,
	    .local_private = bob.priv,
	};
	i = new_initiator(NOISE_PATTERN_IK, bob.pub, NULL);
	ck_assert_int_eq(noise_handshake_new(&r, &cfg), 0);
	ck_assert_int_eq(noise_handshake_write_message(i, NULL, 0, m1, sizeof(m1), &m1_len), 0);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(buf), &len),
			 -EBADMSG);
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

START_TEST(test_buffer_sizes)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, psk);
	uint8_t m1[256], buf[256], payload[20] = "twenty bytes payload";
	size_t m1_len, len, want;

	ck_assert_int_eq(noise_handshake_message_len(i, sizeof(payload), &want), 0);
	ck_assert_int_eq(
	    noise_handshake_write_message(i, payload, sizeof(payload), m1, want - 1, &m1_len),
	    -EMSGSIZE);
	ck_assert_int_eq(noise_handshake_message_len(i, NOISE_MAX_MESSAGE_LEN, &want), -EMSGSIZE);
	ck_assert_int_eq(
	    noise_handshake_write_message(i, payload, sizeof(payload), m1, sizeof(m1), &m1_len), 0);
	/* A payload buffer one byte short is refused without consuming the
	 * message; the right size then works. */
	ck_assert_int_eq(
	    noise_handshake_read_message(r, m1, m1_len, buf, sizeof(payload) - 1, &len), -EMSGSIZE);
	ck_assert_int_eq(noise_handshake_read_message(r, m1, m1_len, buf, sizeof(payload), &len),
			 0);
	ck_assert_mem_eq(buf, payload, sizeof(payload));
	noise_handshake_free(i);
	noise_handshake_free(r);
}
END_TEST

/* Two runs of IK with fresh ephemerals give different messages and hashes. */
START_TEST(test_fresh_ephemerals)
{
	uint8_t a1[256], a2[256], b1[256], b2[256], ha[NOISE_HASH_LEN], hb[NOISE_HASH_LEN];
	size_t a1_len, a2_len, b1_len, b2_len;
	struct noise_handshake *i, *r;

	i = new_initiator(NOISE_PATTERN_IK, bob.pub, NULL);
	r = new_responder(NOISE_PATTERN_IK, NULL);
	handshake(i, r, a1, &a1_len, a2, &a2_len);
	ck_assert_int_eq(noise_handshake_hash(i, ha), 0);
	noise_handshake_free(i);
	noise_handshake_free(r);
	i = new_initiator(NOISE_PATTERN_IK, bob.pub, NULL);
	r = new_responder(NOISE_PATTERN_IK, NULL);
	handshake(i, r, b1, &b1_len, b2, &b2_len);
	ck_assert_int_eq(noise_handshake_hash(r, hb), 0);
	noise_handshake_free(i);
	noise_handshake_free(r);
	ck_assert_int_ne(memcmp(a1, b1, NOISE_PUBLIC_KEY_LEN), 0);
	ck_assert_int_ne(memcmp(ha, hb, sizeof(ha)), 0);
}
END_TEST

/* Runs a handshake and splits both sides. */
static void transport_pair(struct noise_cipher *i_send, struct noise_cipher *i_recv,
			   struct noise_cipher *r_send, struct noise_cipher *r_recv)
{
	struct noise_handshake *i = new_initiator(NOISE_PATTERN_IKPSK2, bob.pub, psk);
	struct noise_handshake *r = new_responder(NOISE_PATTERN_IKPSK2, psk);
	uint8_t m1[256], m2[256];
	size_t m1_len, m2_len;

	handshake(i, r, m1, &m1_len, m2, &m2_len);
	ck_assert_int_eq(noise_handshake_split(i, i_send, i_recv), 0);
	ck_assert_int_eq(noise_handshake_split(r, r_send, r_recv), 0);
	noise_handshake_free(i);
	noise_handshake_free(r);
}

START_TEST(test_transport_explicit_counter)
{
	struct noise_cipher c[4], *is = &c[0], *ir = &c[1], *rs = &c[2], *rr = &c[3];
	uint8_t ct[4][64], pt[64];
	size_t ct_len[4], len;
	uint64_t ctr;
	char msg[] = "packet 0";

	transport_pair(is, ir, rs, rr);
	for (int k = 0; k < 4; k++) {
		msg[7] = (char)('0' + k);
		ck_assert_int_eq(noise_cipher_encrypt(is, &ctr, NULL, 0, (uint8_t *)msg,
						      sizeof(msg), ct[k], sizeof(ct[k]),
						      &ct_len[k]),
				 0);
		ck_assert_uint_eq(ctr, (uint64_t)k);
		ck_assert_uint_eq(ct_len[k], sizeof(msg) + NOISE_TAG_LEN);
	}
	ck_assert_uint_eq(noise_cipher_counter(is), 4);
	/* Out of order with explicit counters; the receiver's state does not move. */
	static const int order[] = {3, 0, 2, 1};
	for (int k = 0; k < 4; k++) {
		int n = order[k];

		ck_assert_int_eq(noise_cipher_decrypt_at(rr, (uint64_t)n, NULL, 0, ct[n], ct_len[n],
							 pt, sizeof(pt), &len),
				 0);
		ck_assert_uint_eq(len, sizeof(msg));
		ck_assert_int_eq(pt[7], '0' + n);
	}
	ck_assert_uint_eq(noise_cipher_counter(rr), 0);
	/* The wrong counter, a flipped tag, ciphertext or length all fail. */
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 1, NULL, 0, ct[0], ct_len[0], pt, sizeof(pt), &len),
	    -EBADMSG);
	ct[0][ct_len[0] - 1] ^= 1;
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 0, NULL, 0, ct[0], ct_len[0], pt, sizeof(pt), &len),
	    -EBADMSG);
	ct[0][ct_len[0] - 1] ^= 1;
	ct[0][0] ^= 1;
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 0, NULL, 0, ct[0], ct_len[0], pt, sizeof(pt), &len),
	    -EBADMSG);
	ct[0][0] ^= 1;
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 0, NULL, 0, ct[0], ct_len[0] - 1, pt, sizeof(pt), &len),
	    -EBADMSG);
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 0, NULL, 0, ct[0], NOISE_TAG_LEN - 1, pt, sizeof(pt), &len),
	    -EBADMSG);
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(rr, 0, NULL, 0, ct[0], ct_len[0], pt, sizeof(msg) - 1, &len),
	    -EMSGSIZE);
	ck_assert_int_eq(noise_cipher_decrypt_at(rr, NOISE_REJECT_AFTER_MESSAGES, NULL, 0, ct[0],
						 ct_len[0], pt, sizeof(pt), &len),
			 -EKEYEXPIRED);
	ck_assert_int_eq(noise_cipher_decrypt_at(rr, UINT64_MAX, NULL, 0, ct[0], ct_len[0], pt,
						 sizeof(pt), &len),
			 -EKEYEXPIRED);
	/* The directions have different keys. */
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(ir, 0, NULL, 0, ct[0], ct_len[0], pt, sizeof(pt), &len),
	    -EBADMSG);

	/* In-order decryption advances only on success. */
	ck_assert_int_eq(noise_cipher_decrypt(rr, NULL, 0, ct[1], ct_len[1], pt, sizeof(pt), &len),
			 -EBADMSG);
	ck_assert_uint_eq(noise_cipher_counter(rr), 0);
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(
		    noise_cipher_decrypt(rr, NULL, 0, ct[k], ct_len[k], pt, sizeof(pt), &len), 0);
	ck_assert_uint_eq(noise_cipher_counter(rr), 4);

	noise_cipher_wipe(is);
	noise_cipher_wipe(ir);
	noise_cipher_wipe(rs);
	noise_cipher_wipe(rr);
}
END_TEST

START_TEST(test_transport_in_place_and_ad)
{
	struct noise_cipher c[4], *is = &c[0], *ir = &c[1], *rs = &c[2], *rr = &c[3];
	uint8_t buf[64] = "reply in place";
	const uint8_t ad[] = "header";
	size_t len;
	uint64_t ctr;

	transport_pair(is, ir, rs, rr);
	ck_assert_int_eq(
	    noise_cipher_encrypt(rs, &ctr, ad, sizeof(ad), buf, 15, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 15 + NOISE_TAG_LEN);
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(ir, ctr, NULL, 0, buf, len, buf, sizeof(buf), &len), -EBADMSG);
	/* The failed attempt wiped buf: encrypt again. */
	memcpy(buf, "reply in place", 15);
	ck_assert_int_eq(
	    noise_cipher_encrypt(rs, &ctr, ad, sizeof(ad), buf, 15, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(ctr, 1);
	ck_assert_int_eq(
	    noise_cipher_decrypt_at(ir, ctr, ad, sizeof(ad), buf, len, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 15);
	ck_assert_str_eq((char *)buf, "reply in place");
	ck_assert_int_eq(
	    noise_cipher_encrypt(rs, NULL, NULL, 0, buf, 15, buf, 15 + NOISE_TAG_LEN - 1, &len),
	    -EMSGSIZE);
	ck_assert_int_eq(noise_cipher_encrypt(rs, NULL, NULL, 0, buf, NOISE_MAX_MESSAGE_LEN, buf,
					      SIZE_MAX, &len),
			 -EMSGSIZE);
	ck_assert_uint_eq(noise_cipher_counter(rs), 2);
	noise_cipher_wipe(is);
	noise_cipher_wipe(ir);
	noise_cipher_wipe(rs);
	noise_cipher_wipe(rr);
}
END_TEST

START_TEST(test_tai64n_encoding)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
	uint8_t t[TAI64N_LEN];
	static const uint8_t epoch[TAI64N_LEN] = {0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0};
	static const uint8_t later[TAI64N_LEN] = {0x40, 0,    0,    0,    0x65, 0x53,
						  0xf1, 0x0a, 0x3b, 0x9a, 0xc9, 0xff};

	ck_assert_int_eq(tai64n_from_timespec(t, &ts), 0);
	ck_assert_mem_eq(t, epoch, sizeof(t));
	ts.tv_sec = 1700000000; /* 0x6553f100 */
	ts.tv_nsec = 999999999; /* 0x3b9ac9ff */
	ck_assert_int_eq(tai64n_from_timespec(t, &ts), 0);
	ck_assert_mem_eq(t, later, sizeof(t));
	ts.tv_nsec = 1000000000;
	ck_assert_int_eq(tai64n_from_timespec(t, &ts), -EINVAL);
	ts.tv_nsec = -1;
	ck_assert_int_eq(tai64n_from_timespec(t, &ts), -EINVAL);
	ts.tv_nsec = 0;
	ts.tv_sec = -1;
	ck_assert_int_eq(tai64n_from_timespec(t, &ts), -EINVAL);
}
END_TEST

START_TEST(test_tai64n_ordering)
{
	struct timespec a = {.tv_sec = 1000, .tv_nsec = 999999999};
	struct timespec b = {.tv_sec = 1001, .tv_nsec = 0};
	struct timespec c = {.tv_sec = 1001, .tv_nsec = 1};
	struct timespec d = {.tv_sec = 0x100000000LL, .tv_nsec = 0};
	uint8_t ta[TAI64N_LEN], tb[TAI64N_LEN], tc[TAI64N_LEN], td[TAI64N_LEN];
	uint8_t n1[TAI64N_LEN], n2[TAI64N_LEN];
	uint32_t ns;

	ck_assert_int_eq(tai64n_from_timespec(ta, &a), 0);
	ck_assert_int_eq(tai64n_from_timespec(tb, &b), 0);
	ck_assert_int_eq(tai64n_from_timespec(tc, &c), 0);
	ck_assert_int_eq(tai64n_from_timespec(td, &d), 0);
	/* Nanoseconds never outweigh a second. */
	ck_assert_int_lt(tai64n_compare(ta, tb), 0);
	ck_assert_int_gt(tai64n_compare(tb, ta), 0);
	ck_assert_int_lt(tai64n_compare(tb, tc), 0);
	ck_assert_int_eq(tai64n_compare(tc, tc), 0);
	/* Seconds beyond 32 bits still order (no truncation). */
	ck_assert_int_gt(tai64n_compare(td, tc), 0);

	/* A replayed initiation carries a timestamp not newer than the last. */
	ck_assert_int_eq(tai64n_now(n1), 0);
	ck_assert_int_eq(tai64n_now(n2), 0);
	ck_assert_int_le(tai64n_compare(n1, n2), 0);
	ck_assert_int_gt(tai64n_compare(n1, tc), 0);
	ns = (uint32_t)n1[8] << 24 | (uint32_t)n1[9] << 16 | (uint32_t)n1[10] << 8 | n1[11];
	ck_assert_uint_eq(ns % TAI64N_NOW_GRANULARITY_NS, 0);
	ck_assert_uint_lt(ns, 1000000000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("noise");
	TCase *hs = tcase_create("handshake");
	TCase *tr = tcase_create("transport");
	TCase *tai = tcase_create("tai64n");

	tcase_add_checked_fixture(hs, setup, NULL);
	tcase_add_test(hs, test_protocol_names);
	tcase_add_test(hs, test_handshake_ikpsk2);
	tcase_add_test(hs, test_config_misuse);
	tcase_add_test(hs, test_wrong_turn);
	tcase_add_test(hs, test_tampered_messages);
	tcase_add_test(hs, test_low_order_ephemeral);
	tcase_add_test(hs, test_wrong_psk);
	tcase_add_test(hs, test_wrong_responder_key_or_prologue);
	tcase_add_test(hs, test_buffer_sizes);
	tcase_add_test(hs, test_fresh_ephemerals);
	suite_add_tcase(s, hs);
	tcase_add_checked_fixture(tr, setup, NULL);
	tcase_add_test(tr, test_transport_explicit_counter);
	tcase_add_test(tr, test_transport_in_place_and_ad);
	suite_add_tcase(s, tr);
	tcase_add_test(tai, test_tai64n_encoding);
	tcase_add_test(tai, test_tai64n_ordering);
	suite_add_tcase(s, tai);
	return check_run(s);
}
