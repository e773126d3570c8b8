/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"
#include "replay.h"

_Static_assert(NOISE_REJECT_AFTER_MESSAGES == REPLAY_REJECT_AFTER_MESSAGES,
	       "a counter the sender may use must be one the receiver accepts");
_Static_assert(NOISE_PUBLIC_KEY_LEN == crypto_scalarmult_BYTES, "DHLEN");
_Static_assert(NOISE_PRIVATE_KEY_LEN == crypto_scalarmult_SCALARBYTES, "DHLEN");
_Static_assert(NOISE_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(NOISE_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "nonce size");
_Static_assert(NOISE_HASH_LEN <= crypto_generichash_BYTES_MAX, "HASHLEN");
_Static_assert(NOISE_HASH_LEN <= NOISE_BLOCK_LEN, "HMAC keys are never hashed first");

#define NOISE_SUITE "25519_ChaChaPoly_BLAKE2b"
/* Noise reserves the nonce 2^64-1 (spec section 5.1). */
#define NOISE_NONCE_RESERVED UINT64_MAX

/* Message pattern tokens (spec sections 7.1 and 9.2). */
enum noise_token {
	TOK_END = 0,
	TOK_E,
	TOK_S,
	TOK_EE,
	TOK_ES,
	TOK_SE,
	TOK_SS,
	TOK_PSK,
};

#define NOISE_MAX_MESSAGES 4
#define NOISE_MAX_TOKENS   8

/*
 * A handshake pattern as token lists (spec section 7.1): pre-messages of
 * each side, then the messages, alternating from the initiator.  Adding a
 * pattern is adding a row; the engine below knows no pattern by name.
 */
struct noise_pattern_def {
	const char *name;
	bool psk; /* a psk modifier: "e" also runs MixKey (spec section 9.2) */
	enum noise_token pre_initiator[2];
	enum noise_token pre_responder[2];
	unsigned int n_messages;
	enum noise_token messages[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS];
};

/* clang-format off */
static const struct noise_pattern_def noise_patterns[] = {
	[NOISE_PATTERN_IK] = {
		.name = "IK",
		.psk = false,
		.pre_initiator = {TOK_END},
		.pre_responder = {TOK_S, TOK_END},
		.n_messages = 2,
		.messages = {
			{TOK_E, TOK_ES, TOK_S, TOK_SS, TOK_END},
			{TOK_E, TOK_EE, TOK_SE, TOK_END},
		},
	},
	/* Spec section 9.4: "psk2" puts the token at the end of message 2. */
	[NOISE_PATTERN_IKPSK2] = {
		.name = "IKpsk2",
		.psk = true,
		.pre_initiator = {TOK_END},
		.pre_responder = {TOK_S, TOK_END},
		.n_messages = 2,
		.messages = {
			{TOK_E, TOK_ES, TOK_S, TOK_SS, TOK_END},
			{TOK_E, TOK_EE, TOK_SE, TOK_PSK, TOK_END},
		},
	},
};
/* clang-format on */

#define NOISE_N_PATTERNS (sizeof(noise_patterns) / sizeof(noise_patterns[0]))

/* CipherState (spec section 5.1). */
struct noise_cipherstate {
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
	bool has_key;
};

/* SymmetricState (spec section 5.2). */
struct noise_symmetric {
	struct noise_cipherstate cs;
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
};

/*
 * Everything a message may change, so that a message can be processed on a
 * scratch copy and committed whole or not at all.
 */
struct noise_hs_core {
	struct noise_symmetric ss;
	uint8_t e_priv[NOISE_PRIVATE_KEY_LEN];
	uint8_t e_pub[NOISE_PUBLIC_KEY_LEN];
	uint8_t re[NOISE_PUBLIC_KEY_LEN];
	uint8_t rs[NOISE_PUBLIC_KEY_LEN];
	uint8_t psk[NOISE_PSK_LEN];
	bool has_e, has_re, has_rs, has_psk, psk_used;
	unsigned int msg_index;
};

/* HandshakeState (spec section 5.3); the whole struct is sodium_malloc'd. */
struct noise_handshake {
	const struct noise_pattern_def *pattern;
	enum noise_role role;
	bool split_done;
	bool has_fixed_e;
	uint8_t s_priv[NOISE_PRIVATE_KEY_LEN];
	uint8_t s_pub[NOISE_PUBLIC_KEY_LEN];
	uint8_t fixed_e[NOISE_PRIVATE_KEY_LEN];
	struct noise_hs_core cur;
	struct noise_hs_core scratch;
};

/* HASH(a || b) with BLAKE2b-512 (spec section 14.4); @b may be empty. */
static void noise_hash2(uint8_t *out, const uint8_t *a, size_t a_len, const uint8_t *b,
			size_t b_len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_update(&st, a, a_len);
	if (b_len)
		crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, out, NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/*
 * HMAC-HASH(key, d1 || d2) per RFC 2104 over BLAKE2b with BLOCKLEN 128, as
 * spec section 4.3 requires (not BLAKE2b's keyed mode, which would give
 * other values).  Noise only ever uses HASHLEN-byte keys, which fit a block,
 * so the key is zero-padded and never hashed first.
 */
static void noise_hmac(uint8_t *out, const uint8_t *key, size_t key_len, const uint8_t *d1,
		       size_t d1_len, const uint8_t *d2, size_t d2_len)
{
	uint8_t pad[NOISE_BLOCK_LEN];
	uint8_t inner[NOISE_HASH_LEN];
	crypto_generichash_state st;
	size_t i;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, key_len);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	if (d1_len)
		crypto_generichash_update(&st, d1, d1_len);
	if (d2_len)
		crypto_generichash_update(&st, d2, d2_len);
	crypto_generichash_final(&st, inner, sizeof(inner));

	/* 0x36 ^ 0x5c turns the inner pad into the outer one. */
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, NOISE_HASH_LEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/*
 * HKDF(chaining_key, input_key_material, num_outputs) (spec section 4.3):
 * two outputs, or three when @out3 is not NULL.  Each output is HASHLEN
 * bytes; @ikm may be empty (Split).
 */
static void noise_hkdf(uint8_t *out1, uint8_t *out2, uint8_t *out3, const uint8_t *ck,
		       const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t one = 0x01, two = 0x02, three = 0x03;
	uint8_t temp_key[NOISE_HASH_LEN];
	uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN];

	noise_hmac(temp_key, ck, NOISE_HASH_LEN, ikm, ikm_len, NULL, 0);
	noise_hmac(o1, temp_key, sizeof(temp_key), &one, 1, NULL, 0);
	noise_hmac(o2, temp_key, sizeof(temp_key), o1, sizeof(o1), &two, 1);
	if (out3)
		noise_hmac(out3, temp_key, sizeof(temp_key), o2, sizeof(o2), &three, 1);
	/* Outputs may alias @ck, so they are written only at the end. */
	memcpy(out1, o1, sizeof(o1));
	memcpy(out2, o2, sizeof(o2));
	sodium_memzero(temp_key, sizeof(temp_key));
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}

/* The 96-bit nonce: 32 zero bits, then n little-endian (spec section 13.1). */
static void noise_nonce(uint8_t nonce[12], uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, plaintext) (spec section 13.1); @out may equal @in. */
static void noise_aead_encrypt(const uint8_t *k, uint64_t n, const uint8_t *ad, size_t ad_len,
			       const uint8_t *in, size_t in_len, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long clen;

	noise_nonce(nonce, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, in, in_len, ad, ad_len, NULL, nonce,
						  k);
}

/* DECRYPT(k, n, ad, ciphertext); on failure libsodium wipes @out. */
static int noise_aead_decrypt(const uint8_t *k, uint64_t n, const uint8_t *ad, size_t ad_len,
			      const uint8_t *in, size_t in_len, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long mlen;

	if (in_len < NOISE_TAG_LEN)
		return -EBADMSG;
	noise_nonce(nonce, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, in_len, ad, ad_len,
						      nonce, k) != 0)
		return -EBADMSG;
	return 0;
}

/* InitializeKey(k) (spec section 5.1); @k is NOISE_KEY_LEN bytes. */
static void noise_cs_init_key(struct noise_cipherstate *cs, const uint8_t *k)
{
	memcpy(cs->k, k, NOISE_KEY_LEN);
	cs->n = 0;
	cs->has_key = true;
}

/* MixHash(data) (spec section 5.2): h = HASH(h || data). */
static void noise_mix_hash(struct noise_symmetric *ss, const uint8_t *data, size_t len)
{
	noise_hash2(ss->h, ss->h, sizeof(ss->h), data, len);
}

/* MixKey(ikm) (spec section 5.2); temp_k is truncated to 32 bytes. */
static void noise_mix_key(struct noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[NOISE_HASH_LEN];

	noise_hkdf(ss->ck, temp_k, NULL, ss->ck, ikm, len);
	noise_cs_init_key(&ss->cs, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* MixKeyAndHash(ikm) (spec section 5.2), used by the "psk" token. */
static void noise_mix_key_and_hash(struct noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[NOISE_HASH_LEN], temp_k[NOISE_HASH_LEN];

	noise_hkdf(ss->ck, temp_h, temp_k, ss->ck, ikm, len);
	noise_mix_hash(ss, temp_h, sizeof(temp_h));
	noise_cs_init_key(&ss->cs, temp_k);
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* The size EncryptAndHash() gives @len bytes of plaintext. */
static size_t noise_sealed_len(const struct noise_symmetric *ss, size_t len)
{
	return len + (ss->cs.has_key ? NOISE_TAG_LEN : 0);
}

/*
 * EncryptAndHash(plaintext) (spec section 5.2): without a key the plaintext
 * is copied as is.  @out holds noise_sealed_len() bytes; no overlap.
 */
static int noise_encrypt_and_hash(struct noise_symmetric *ss, const uint8_t *in, size_t len,
				  uint8_t *out)
{
	size_t out_len = noise_sealed_len(ss, len);

	if (ss->cs.has_key) {
		if (ss->cs.n == NOISE_NONCE_RESERVED)
			return -EOVERFLOW;
		noise_aead_encrypt(ss->cs.k, ss->cs.n, ss->h, sizeof(ss->h), in, len, out);
		ss->cs.n++;
	} else if (len) {
		memcpy(out, in, len);
	}
	noise_mix_hash(ss, out, out_len);
	return 0;
}

/*
 * DecryptAndHash(ciphertext) (spec section 5.2).  @out holds @len minus the
 * tag if a key is set.  The hash absorbs the ciphertext, so h is updated
 * only after decryption succeeded.
 */
static int noise_decrypt_and_hash(struct noise_symmetric *ss, const uint8_t *in, size_t len,
				  uint8_t *out)
{
	int r;

	if (ss->cs.has_key) {
		if (ss->cs.n == NOISE_NONCE_RESERVED)
			return -EOVERFLOW;
		r = noise_aead_decrypt(ss->cs.k, ss->cs.n, ss->h, sizeof(ss->h), in, len, out);
		if (r < 0)
			return r;
		ss->cs.n++;
	} else if (len) {
		memcpy(out, in, len);
	}
	noise_mix_hash(ss, in, len);
	return 0;
}

/*
 * MixKey(DH(priv, pub)).  crypto_scalarmult() fails when the result is all
 * zeros, i.e. @pub is a low-order point; spec section 4.1 lets DH() signal
 * an error for an invalid key, and accepting it would let the peer force a
 * known shared secret.
 */
static int noise_mix_dh(struct noise_symmetric *ss, const uint8_t *priv, const uint8_t *pub)
{
	uint8_t dh[crypto_scalarmult_BYTES];
	int r = 0;

	if (crypto_scalarmult(dh, priv, pub) != 0)
		r = -1;
	else
		noise_mix_key(ss, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return r;
}

int noise_protocol_name(enum noise_pattern pattern, char *buf, size_t size)
{
	int n;

	if ((unsigned int)pattern >= NOISE_N_PATTERNS)
		return -EINVAL;
	n = snprintf(buf, size, "Noise_%s_" NOISE_SUITE, noise_patterns[pattern].name);
	if (n < 0 || (size_t)n >= size)
		return -EMSGSIZE;
	return n;
}

int noise_protocol_lookup(const char *name, enum noise_pattern *pattern)
{
	char buf[NOISE_PROTOCOL_NAME_MAX];

	for (unsigned int i = 0; i < NOISE_N_PATTERNS; i++) {
		if (noise_protocol_name(i, buf, sizeof(buf)) < 0)
			continue;
		if (strcmp(buf, name) == 0) {
			*pattern = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* Whether a token list contains @tok. */
static bool noise_tokens_have(const enum noise_token *toks, size_t n, enum noise_token tok)
{
	for (size_t i = 0; i < n && toks[i] != TOK_END; i++)
		if (toks[i] == tok)
			return true;
	return false;
}

/*
 * Whether the side @role needs its own static key, and whether it must know
 * the remote one beforehand (a pre-message), by scanning the pattern: so
 * that a missing or superfluous key is refused at creation, not
 * mid-handshake.
 */
static void noise_pattern_needs(const struct noise_pattern_def *p, enum noise_role role,
				bool *need_s, bool *pre_rs)
{
	bool init = role == NOISE_INITIATOR;
	const enum noise_token *own_pre = init ? p->pre_initiator : p->pre_responder;
	const enum noise_token *rem_pre = init ? p->pre_responder : p->pre_initiator;

	*need_s = noise_tokens_have(own_pre, 2, TOK_S);
	*pre_rs = noise_tokens_have(rem_pre, 2, TOK_S);
	for (unsigned int m = 0; m < p->n_messages; m++) {
		const enum noise_token *t = p->messages[m];
		bool own = (m % 2 == 0) == init;

		if (noise_tokens_have(t, NOISE_MAX_TOKENS, TOK_SS))
			*need_s = true;
		if (noise_tokens_have(t, NOISE_MAX_TOKENS, init ? TOK_SE : TOK_ES))
			*need_s = true;
		if (own && noise_tokens_have(t, NOISE_MAX_TOKENS, TOK_S))
			*need_s = true;
	}
}

int noise_handshake_new(struct noise_handshake **out, const struct noise_handshake_config *cfg)
{
	const struct noise_pattern_def *p;
	struct noise_handshake *hs;
	char name[NOISE_PROTOCOL_NAME_MAX];
	bool need_s, pre_rs;
	int n;

	*out = NULL;
	if ((unsigned int)cfg->pattern >= NOISE_N_PATTERNS)
		return -EINVAL;
	if (cfg->role != NOISE_INITIATOR && cfg->role != NOISE_RESPONDER)
		return -EINVAL;
	if (cfg->prologue_len && !cfg->prologue)
		return -EINVAL;
	p = &noise_patterns[cfg->pattern];
	noise_pattern_needs(p, cfg->role, &need_s, &pre_rs);
	if (need_s != (cfg->local_private != NULL))
		return -EINVAL;
	if (pre_rs != (cfg->remote_public != NULL))
		return -EINVAL;
	if (cfg->psk && !p->psk)
		return -EINVAL;

	hs = sodium_malloc(sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	memset(hs, 0, sizeof(*hs));
	hs->pattern = p;
	hs->role = cfg->role;
	if (cfg->local_private) {
		memcpy(hs->s_priv, cfg->local_private, sizeof(hs->s_priv));
		if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0) {
			sodium_free(hs);
			return -EINVAL;
		}
	}
	if (cfg->fixed_ephemeral) {
		memcpy(hs->fixed_e, cfg->fixed_ephemeral, sizeof(hs->fixed_e));
		hs->has_fixed_e = true;
	}
	if (cfg->remote_public) {
		memcpy(hs->cur.rs, cfg->remote_public, sizeof(hs->cur.rs));
		hs->cur.has_rs = true;
	}
	if (cfg->psk) {
		memcpy(hs->cur.psk, cfg->psk, sizeof(hs->cur.psk));
		hs->cur.has_psk = true;
	}

	/* InitializeSymmetric(protocol_name): a name of at most HASHLEN bytes
	 * is zero-padded into h, a longer one hashed (spec section 5.2). */
	n = noise_protocol_name(cfg->pattern, name, sizeof(name));
	if (n < 0) {
		sodium_free(hs);
		return n;
	}
	if ((size_t)n <= NOISE_HASH_LEN)
		memcpy(hs->cur.ss.h, name, (size_t)n);
	else
		noise_hash2(hs->cur.ss.h, (const uint8_t *)name, (size_t)n, NULL, 0);
	memcpy(hs->cur.ss.ck, hs->cur.ss.h, NOISE_HASH_LEN);

	noise_mix_hash(&hs->cur.ss, cfg->prologue, cfg->prologue_len);

	/* Pre-messages: the initiator's keys first, then the responder's
	 * (spec section 5.3).  Only "s" occurs in the supported patterns. */
	if (noise_tokens_have(p->pre_initiator, 2, TOK_S))
		noise_mix_hash(&hs->cur.ss, cfg->role == NOISE_INITIATOR ? hs->s_pub : hs->cur.rs,
			       NOISE_PUBLIC_KEY_LEN);
	if (noise_tokens_have(p->pre_responder, 2, TOK_S))
		noise_mix_hash(&hs->cur.ss, cfg->role == NOISE_RESPONDER ? hs->s_pub : hs->cur.rs,
			       NOISE_PUBLIC_KEY_LEN);
	*out = hs;
	return 0;
}

void noise_handshake_free(struct noise_handshake *hs)
{
	if (hs)
		sodium_free(hs);
}

int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	if (!hs->pattern->psk || hs->cur.psk_used || hs->split_done)
		return -EINVAL;
	memcpy(hs->cur.psk, psk, NOISE_PSK_LEN);
	hs->cur.has_psk = true;
	return 0;
}

enum noise_role noise_handshake_next_writer(const struct noise_handshake *hs)
{
	return hs->cur.msg_index % 2 == 0 ? NOISE_INITIATOR : NOISE_RESPONDER;
}

bool noise_handshake_is_complete(const struct noise_handshake *hs)
{
	return hs->cur.msg_index >= hs->pattern->n_messages;
}

int noise_handshake_message_len(const struct noise_handshake *hs, size_t payload_len, size_t *len)
{
	const enum noise_token *t;
	bool has_key = hs->cur.ss.cs.has_key;
	size_t total = 0;

	if (noise_handshake_is_complete(hs))
		return -EINVAL;
	/* Track when the cipher gets its key, as the token processing will. */
	for (t = hs->pattern->messages[hs->cur.msg_index]; *t != TOK_END; t++) {
		switch (*t) {
		case TOK_E:
			total += NOISE_PUBLIC_KEY_LEN;
			if (hs->pattern->psk)
				has_key = true;
			break;
		case TOK_S:
			total += NOISE_PUBLIC_KEY_LEN + (has_key ? NOISE_TAG_LEN : 0);
			break;
		default:
			has_key = true;
			break;
		}
	}
	if (payload_len > NOISE_MAX_MESSAGE_LEN)
		return -EMSGSIZE;
	total += payload_len + (has_key ? NOISE_TAG_LEN : 0);
	if (total > NOISE_MAX_MESSAGE_LEN)
		return -EMSGSIZE;
	*len = total;
	return 0;
}

/*
 * The private/public pair behind a DH token, for this side: "es" is
 * DH(e, rs) for the initiator and DH(s, re) for the responder, and so on
 * (spec section 5.3).  Returns -EINVAL when a key is missing.
 */
static int noise_dh_keys(const struct noise_handshake *hs, const struct noise_hs_core *c,
			 enum noise_token tok, const uint8_t **priv, const uint8_t **pub)
{
	bool init = hs->role == NOISE_INITIATOR;
	bool local_e, remote_e;

	switch (tok) {
	case TOK_EE:
		local_e = remote_e = true;
		break;
	case TOK_ES:
		local_e = init;
		remote_e = !init;
		break;
	case TOK_SE:
		local_e = !init;
		remote_e = init;
		break;
	case TOK_SS:
		local_e = remote_e = false;
		break;
	default:
		return -EINVAL;
	}
	if (local_e && !c->has_e)
		return -EINVAL;
	if (remote_e ? !c->has_re : !c->has_rs)
		return -EINVAL;
	*priv = local_e ? c->e_priv : hs->s_priv;
	*pub = remote_e ? c->re : c->rs;
	return 0;
}

/* Runs a DH or psk token, shared by writing and reading. */
static int noise_token_mix(struct noise_handshake *hs, struct noise_hs_core *c,
			   enum noise_token tok, int dh_error)
{
	const uint8_t *priv, *pub;
	int r;

	if (tok == TOK_PSK) {
		if (!c->has_psk)
			return -EINVAL;
		noise_mix_key_and_hash(&c->ss, c->psk, NOISE_PSK_LEN);
		c->psk_used = true;
		return 0;
	}
	r = noise_dh_keys(hs, c, tok, &priv, &pub);
	if (r < 0)
		return r;
	return noise_mix_dh(&c->ss, priv, pub) < 0 ? dh_error : 0;
}

/* Copies the scratch state over the current one, then wipes the scratch. */
static void noise_commit(struct noise_handshake *hs)
{
	hs->cur = hs->scratch;
	sodium_memzero(&hs->scratch, sizeof(hs->scratch));
}

int noise_handshake_write_message(struct noise_handshake *hs, const uint8_t *payload,
				  size_t payload_len, uint8_t *out, size_t out_size,
				  size_t *out_len)
{
	struct noise_hs_core *c = &hs->scratch;
	const enum noise_token *t;
	size_t need, len, pos = 0;
	int r;

	if (noise_handshake_is_complete(hs) || noise_handshake_next_writer(hs) != hs->role)
		return -EINVAL;
	if (payload_len && !payload)
		return -EINVAL;
	r = noise_handshake_message_len(hs, payload_len, &need);
	if (r < 0)
		return r;
	if (need > out_size)
		return -EMSGSIZE;

	*c = hs->cur;
	for (t = hs->pattern->messages[c->msg_index]; *t != TOK_END; t++) {
		switch (*t) {
		case TOK_E:
			/* A fresh ephemeral for every handshake; a fixed one
			 * only for reproducing test vectors. */
			if (hs->has_fixed_e)
				memcpy(c->e_priv, hs->fixed_e, sizeof(c->e_priv));
			else
				randombytes_buf(c->e_priv, sizeof(c->e_priv));
			if (crypto_scalarmult_base(c->e_pub, c->e_priv) != 0) {
				r = -EINVAL;
				goto fail;
			}
			c->has_e = true;
			memcpy(out + pos, c->e_pub, NOISE_PUBLIC_KEY_LEN);
			pos += NOISE_PUBLIC_KEY_LEN;
			noise_mix_hash(&c->ss, c->e_pub, NOISE_PUBLIC_KEY_LEN);
			if (hs->pattern->psk)
				noise_mix_key(&c->ss, c->e_pub, NOISE_PUBLIC_KEY_LEN);
			break;
		case TOK_S:
			len = noise_sealed_len(&c->ss, NOISE_PUBLIC_KEY_LEN);
			r = noise_encrypt_and_hash(&c->ss, hs->s_pub, NOISE_PUBLIC_KEY_LEN,
						   out + pos);
			if (r < 0)
				goto fail;
			pos += len;
			break;
		default:
			/* Our own keys and a remote key we already accepted:
			 * an all-zero DH result here means a bad configured
			 * remote key, a caller error. */
			r = noise_token_mix(hs, c, *t, -EINVAL);
			if (r < 0)
				goto fail;
			break;
		}
	}
	len = noise_sealed_len(&c->ss, payload_len);
	r = noise_encrypt_and_hash(&c->ss, payload, payload_len, out + pos);
	if (r < 0)
		goto fail;
	pos += len;
	c->msg_index++;
	noise_commit(hs);
	*out_len = pos;
	return 0;

fail:
	sodium_memzero(&hs->scratch, sizeof(hs->scratch));
	sodium_memzero(out, out_size);
	return r;
}

int noise_handshake_read_message(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
				 uint8_t *payload, size_t payload_size, size_t *payload_len)
{
	struct noise_hs_core *c = &hs->scratch;
	const enum noise_token *t;
	size_t len, plen, pos = 0;
	int r;

	if (noise_handshake_is_complete(hs) || noise_handshake_next_writer(hs) == hs->role)
		return -EINVAL;
	if (msg_len > NOISE_MAX_MESSAGE_LEN)
		return -EMSGSIZE;

	*c = hs->cur;
	for (t = hs->pattern->messages[c->msg_index]; *t != TOK_END; t++) {
		switch (*t) {
		case TOK_E:
			if (msg_len - pos < NOISE_PUBLIC_KEY_LEN) {
				r = -EBADMSG;
				goto fail;
			}
			memcpy(c->re, msg + pos, NOISE_PUBLIC_KEY_LEN);
			c->has_re = true;
			pos += NOISE_PUBLIC_KEY_LEN;
			noise_mix_hash(&c->ss, c->re, NOISE_PUBLIC_KEY_LEN);
			if (hs->pattern->psk)
				noise_mix_key(&c->ss, c->re, NOISE_PUBLIC_KEY_LEN);
			break;
		case TOK_S:
			len = noise_sealed_len(&c->ss, NOISE_PUBLIC_KEY_LEN);
			if (msg_len - pos < len) {
				r = -EBADMSG;
				goto fail;
			}
			r = noise_decrypt_and_hash(&c->ss, msg + pos, len, c->rs);
			if (r < 0)
				goto fail;
			c->has_rs = true;
			pos += len;
			break;
		default:
			/* The remote key came in this or an earlier message:
			 * an all-zero DH result is the peer's doing. */
			r = noise_token_mix(hs, c, *t, -EBADMSG);
			if (r < 0)
				goto fail;
			break;
		}
	}
	len = msg_len - pos;
	if (len < noise_sealed_len(&c->ss, 0)) {
		r = -EBADMSG;
		goto fail;
	}
	plen = len - noise_sealed_len(&c->ss, 0);
	if (plen > payload_size) {
		r = -EMSGSIZE;
		goto fail;
	}
	r = noise_decrypt_and_hash(&c->ss, msg + pos, len, payload);
	if (r < 0)
		goto fail;
	c->msg_index++;
	noise_commit(hs);
	*payload_len = plen;
	return 0;

fail:
	sodium_memzero(&hs->scratch, sizeof(hs->scratch));
	if (payload_size)
		sodium_memzero(payload, payload_size);
	return r;
}

int noise_handshake_remote_static(const struct noise_handshake *hs, uint8_t *out)
{
	if (!hs->cur.has_rs)
		return -ENOENT;
	memcpy(out, hs->cur.rs, NOISE_PUBLIC_KEY_LEN);
	return 0;
}

int noise_handshake_hash(const struct noise_handshake *hs, uint8_t *out)
{
	if (!noise_handshake_is_complete(hs))
		return -EINVAL;
	memcpy(out, hs->cur.ss.h, NOISE_HASH_LEN);
	return 0;
}

/* Makes @c a transport cipher holding the first NOISE_KEY_LEN bytes of
 * @temp_k, counter 0 (spec section 5.2, InitializeKey). */
static void noise_cipher_init(struct noise_cipher *c, const uint8_t *temp_k)
{
	memcpy(c->k, temp_k, NOISE_KEY_LEN);
	c->n = 0;
}

int noise_handshake_split(struct noise_handshake *hs, struct noise_cipher *send,
			  struct noise_cipher *recv)
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];

	if (!noise_handshake_is_complete(hs) || hs->split_done)
		return -EINVAL;
	noise_hkdf(k1, k2, NULL, hs->cur.ss.ck, NULL, 0);
	/* The initiator sends with the first, the responder with the second. */
	noise_cipher_init(send, hs->role == NOISE_INITIATOR ? k1 : k2);
	noise_cipher_init(recv, hs->role == NOISE_INITIATOR ? k2 : k1);
	/* Nothing secret is needed any more (spec section 5.3: "the
	 * HandshakeState should be deleted except for the hash value"). */
	hs->split_done = true;
	sodium_memzero(hs->s_priv, sizeof(hs->s_priv));
	sodium_memzero(hs->fixed_e, sizeof(hs->fixed_e));
	sodium_memzero(hs->cur.ss.ck, sizeof(hs->cur.ss.ck));
	sodium_memzero(&hs->cur.ss.cs, sizeof(hs->cur.ss.cs));
	sodium_memzero(hs->cur.e_priv, sizeof(hs->cur.e_priv));
	sodium_memzero(hs->cur.psk, sizeof(hs->cur.psk));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return 0;
}

void noise_cipher_wipe(struct noise_cipher *c)
{
	if (c)
		sodium_memzero(c, sizeof(*c));
}

uint64_t noise_cipher_counter(const struct noise_cipher *c)
{
	return c->n;
}

int noise_cipher_encrypt(struct noise_cipher *c, uint64_t *counter, const uint8_t *ad,
			 size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			 size_t out_size, size_t *out_len)
{
	if (c->n >= NOISE_REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;
	if (in_len > NOISE_MAX_MESSAGE_LEN - NOISE_TAG_LEN || out_size < in_len + NOISE_TAG_LEN)
		return -EMSGSIZE;
	noise_aead_encrypt(c->k, c->n, ad, ad_len, in, in_len, out);
	if (counter)
		*counter = c->n;
	c->n++;
	*out_len = in_len + NOISE_TAG_LEN;
	return 0;
}

int noise_cipher_decrypt_at(const struct noise_cipher *c, uint64_t counter, const uint8_t *ad,
			    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			    size_t out_size, size_t *out_len)
{
	int r;

	if (counter >= NOISE_REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;
	if (in_len > NOISE_MAX_MESSAGE_LEN)
		return -EMSGSIZE;
	if (in_len < NOISE_TAG_LEN)
		return -EBADMSG;
	if (out_size < in_len - NOISE_TAG_LEN)
		return -EMSGSIZE;
	r = noise_aead_decrypt(c->k, counter, ad, ad_len, in, in_len, out);
	if (r < 0)
		return r;
	*out_len = in_len - NOISE_TAG_LEN;
	return 0;
}

int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
			 const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
			 size_t *out_len)
{
	int r = noise_cipher_decrypt_at(c, c->n, ad, ad_len, in, in_len, out, out_size, out_len);

	if (r == 0)
		c->n++;
	return r;
}
