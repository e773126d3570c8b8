/* SPDX-License-Identifier: MIT */
/*
 * Noise handshakes and transport ciphers for the suite
 * 25519_ChaChaPoly_BLAKE2b, following "The Noise Protocol Framework",
 * revision 34 (2018-07-11), built only from libsodium primitives:
 * crypto_scalarmult (X25519), crypto_aead_chacha20poly1305_ietf (AEAD) and
 * crypto_generichash (BLAKE2b-512, with HMAC and HKDF exactly as spec
 * section 4.3 defines them).
 *
 * Two objects:
 *   struct noise_handshake  a HandshakeState (spec section 5.3) running one
 *                           pattern, message by message;
 *   struct noise_cipher     a transport CipherState (spec section 5.1)
 *                           that noise_handshake_split() fills in.
 * A handshake lives entirely in sodium_malloc'd memory (guard pages,
 * mlock'd where the system allows it) and is wiped when freed; a cipher
 * lives in its owner's memory, which must be as guarded, and is wiped with
 * noise_cipher_wipe().  Neither is thread-safe.
 * The caller must have called sodium_init() first.
 *
 * All functions return 0 or -errno.  Common errors:
 *   -EINVAL    misuse: wrong role's turn, handshake already complete, a key
 *              the pattern needs is missing or one it forbids is given;
 *   -EMSGSIZE  an output buffer is too small, or a message would exceed
 *              NOISE_MAX_MESSAGE_LEN;
 *   -EBADMSG   a received message failed authentication, is truncated, or
 *              carries a public key that gives an all-zero X25519 result;
 *   -ENOMEM    sodium_malloc() failed.
 * See doc/noise.md for the design rationale.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X25519 key sizes in bytes (spec section 12.1: DHLEN = 32). */
#define NOISE_PUBLIC_KEY_LEN  32
#define NOISE_PRIVATE_KEY_LEN 32
/* ChaChaPoly key and tag sizes in bytes (spec section 13.1). */
#define NOISE_KEY_LEN 32
#define NOISE_TAG_LEN 16
/* Pre-shared key size in bytes (spec section 9.1). */
#define NOISE_PSK_LEN 32
/* BLAKE2b (spec section 14.4): HASHLEN and BLOCKLEN in bytes. */
#define NOISE_HASH_LEN  64
#define NOISE_BLOCK_LEN 128
/* Every Noise message, handshake or transport, is at most 65535 bytes
 * (spec section 3). */
#define NOISE_MAX_MESSAGE_LEN 65535
/* Longest protocol name, NUL included ("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
 * is 38 bytes with its NUL). */
#define NOISE_PROTOCOL_NAME_MAX 64
/*
 * A transport cipher refuses counters at or above this (2^60), the limit
 * doc/design.md section 3 sets for one key: the sender must have rekeyed long
 * before.  The same value as REPLAY_REJECT_AFTER_MESSAGES, so a counter the
 * sender may use is always one the receiver's replay window accepts.
 */
#define NOISE_REJECT_AFTER_MESSAGES (UINT64_C(1) << 60)

/* The handshake patterns this implementation knows (spec sections 7.5 and 9). */
enum noise_pattern {
	NOISE_PATTERN_IK,     /* <- s  ...  -> e, es, s, ss  <- e, ee, se */
	NOISE_PATTERN_IKPSK2, /* as IK, with psk appended to the second message */
};

enum noise_role {
	NOISE_INITIATOR,
	NOISE_RESPONDER,
};

struct noise_handshake;

/*
 * A transport CipherState (spec section 5.1): the key k and the counter n
 * of the next message.  It lives where its owner puts it, so that many
 * (three keypairs of each of a hub's peers) share one guarded allocation
 * rather than costing pages each: keep it in memory that holds keys
 * (sodium_malloc'd, as lib/session.c does) and erase it with
 * noise_cipher_wipe().  Read and change it only through noise_cipher_*().
 */
struct noise_cipher {
	uint8_t k[NOISE_KEY_LEN];
	uint64_t n;
};

/*
 * Parameters for noise_handshake_new().  Every key is copied; the caller
 * keeps ownership of its buffers and may wipe them as soon as the call
 * returns.  Pointers the pattern does not need must be NULL.
 */
struct noise_handshake_config {
	enum noise_pattern pattern;
	enum noise_role role;
	/* Bytes mixed into the handshake hash before anything else (spec
	 * section 6); both sides must use the same.  May be NULL if 0 long. */
	const uint8_t *prologue;
	size_t prologue_len;
	/* Local static private key, NOISE_PRIVATE_KEY_LEN bytes (X25519,
	 * clamped by crypto_scalarmult as RFC 7748 requires).  Required for
	 * IK and IKpsk2 on both sides. */
	const uint8_t *local_private;
	/* Remote static public key, NOISE_PUBLIC_KEY_LEN bytes.  Required for
	 * an IK initiator (the responder's key is a pre-message); must be NULL
	 * for an IK responder, which learns it from the first message. */
	const uint8_t *remote_public;
	/* Pre-shared key, NOISE_PSK_LEN bytes, for psk patterns only.  May be
	 * NULL here and given later with noise_handshake_set_psk() (an IK
	 * responder only knows which peer, and so which PSK, after reading
	 * the first message); the "psk" token fails with -EINVAL until it is
	 * set.  A peer without a configured PSK uses 32 zero bytes (doc/design.md
	 * section 3), passed explicitly, so that a forgotten PSK is an error
	 * rather than a silent downgrade. */
	const uint8_t *psk;
	/* Fixed ephemeral private key, NOISE_PRIVATE_KEY_LEN bytes, FOR TEST
	 * VECTORS ONLY; NULL draws a fresh one from randombytes_buf() when the
	 * "e" token is written, as the protocol requires. */
	const uint8_t *fixed_ephemeral;
};

/*
 * Writes "Noise_<pattern>_25519_ChaChaPoly_BLAKE2b" (spec section 8) into
 * @buf of @size bytes (NOISE_PROTOCOL_NAME_MAX is always enough).  Returns
 * the length without the NUL, -EINVAL for an unknown pattern, -EMSGSIZE if
 * @buf is too small.
 */
int noise_protocol_name(enum noise_pattern pattern, char *buf, size_t size);

/*
 * Looks up a full protocol name such as "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"
 * (spec section 8).  Returns 0 with *@pattern set, or -ENOENT when the name
 * is not one this implementation supports (other pattern, DH, cipher or hash).
 */
int noise_protocol_lookup(const char *name, enum noise_pattern *pattern);

/*
 * Creates a HandshakeState and runs Initialize() (spec section 5.3):
 * InitializeSymmetric(protocol_name), MixHash(prologue), then MixHash() of
 * the pre-message public keys.  On success *@out owns sodium_malloc'd
 * memory; release it with noise_handshake_free().  Returns 0, -EINVAL when a
 * key the pattern needs is missing, one it forbids is given, or the local
 * private key gives an all-zero public key, or -ENOMEM.
 */
int noise_handshake_new(struct noise_handshake **out, const struct noise_handshake_config *cfg);

/* Wipes and frees @hs (sodium_free zeroes it).  NULL is a no-op. */
void noise_handshake_free(struct noise_handshake *hs);

/*
 * Sets the pre-shared key (NOISE_PSK_LEN bytes, copied) of a psk pattern.
 * Allowed until the "psk" token has been processed.  Returns 0, or -EINVAL
 * when the pattern has no psk or the token was already processed.
 */
int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);

/*
 * Returns the role that must write the next handshake message (the
 * initiator writes messages 1, 3, ..., the responder 2, 4, ...).  Only
 * meaningful while !noise_handshake_is_complete().
 */
enum noise_role noise_handshake_next_writer(const struct noise_handshake *hs);

/* True once the last handshake message was written or read successfully. */
bool noise_handshake_is_complete(const struct noise_handshake *hs);

/*
 * Stores in *@len the size in bytes of the next handshake message if it
 * carries a payload of @payload_len bytes (public keys, encrypted static
 * key and tags included).  Returns 0, -EINVAL when the handshake is
 * complete, -EMSGSIZE when the message would exceed NOISE_MAX_MESSAGE_LEN.
 */
int noise_handshake_message_len(const struct noise_handshake *hs, size_t payload_len, size_t *len);

/*
 * WriteMessage(payload, message_buffer) (spec section 5.3): processes the
 * tokens of the next message, then EncryptAndHash(payload).  Writes the
 * message to @out (@out_size bytes available), its size to *@out_len.
 * @payload may be NULL when @payload_len is 0; @payload and @out must not
 * overlap.  Atomic: on error @hs is left exactly as before the call (a
 * generated ephemeral key is discarded) and @out is wiped.  Returns 0,
 * -EINVAL when it is not this side's turn, the handshake is complete, or a
 * key is missing (a psk not yet set, a remote key giving an all-zero DH
 * result), -EMSGSIZE when @out is too small (see
 * noise_handshake_message_len()) or the message would exceed
 * NOISE_MAX_MESSAGE_LEN.
 */
int noise_handshake_write_message(struct noise_handshake *hs, const uint8_t *payload,
				  size_t payload_len, uint8_t *out, size_t out_size,
				  size_t *out_len);

/*
 * ReadMessage(message, payload_buffer) (spec section 5.3): processes the
 * tokens of the next message from @msg (@msg_len bytes), then
 * DecryptAndHash() of the rest into @payload (@payload_size bytes
 * available), its size to *@payload_len.  @msg and @payload must not
 * overlap.
 *
 * Atomic: the tokens run on a scratch copy of the state that is committed
 * only when the whole message authenticated.  On any error @hs is left
 * bit-for-bit as before the call (so a forged or corrupted message cannot
 * kill a pending handshake: the genuine one may still be read), nothing of
 * the message is kept (no remote ephemeral, no remote static), and
 * @payload is wiped.  A DecryptWithAd() failure leaves the CipherState
 * as it was (spec section 5.1); this extends that to the whole message.
 * Callers that would rather abandon the handshake on any error (a stream
 * transport, where a bad message means the peer is broken) free @hs.
 *
 * Returns 0, -EINVAL when it is not the remote side's turn or the handshake
 * is complete, or the psk is not yet set, -EBADMSG when the message is too
 * short, fails authentication or carries a public key that gives an
 * all-zero X25519 result, -EMSGSIZE when @msg_len exceeds
 * NOISE_MAX_MESSAGE_LEN or @payload_size is smaller than the payload.
 */
int noise_handshake_read_message(struct noise_handshake *hs, const uint8_t *msg, size_t msg_len,
				 uint8_t *payload, size_t payload_size, size_t *payload_len);

/*
 * Copies the remote static public key (NOISE_PUBLIC_KEY_LEN bytes) into
 * @out: for an IK responder, the initiator's identity learnt (and
 * authenticated by the "ss"-keyed tag) from the first message.  Returns 0 or
 * -ENOENT when it is not known yet.
 */
int noise_handshake_remote_static(const struct noise_handshake *hs, uint8_t *out);

/*
 * Copies the handshake hash h (NOISE_HASH_LEN bytes) into @out, for channel
 * binding (spec section 11.2).  Returns 0, or -EINVAL before the handshake
 * is complete (an intermediate h binds nothing useful).
 */
int noise_handshake_hash(const struct noise_handshake *hs, uint8_t *out);

/*
 * Split() (spec section 5.2): derives the two transport ciphers from the
 * chaining key into the caller's @send and @recv, assigned by role: the
 * initiator sends with the first and receives with the second, the
 * responder the other way round; both counters start at 0.  Then @hs
 * erases its chaining key, symmetric key and private keys; only the
 * handshake hash and public keys stay readable.  Returns 0, or -EINVAL
 * before the handshake is complete or after a previous split (@send and
 * @recv untouched).
 */
int noise_handshake_split(struct noise_handshake *hs, struct noise_cipher *send,
			  struct noise_cipher *recv);

/* Erases @c (key and counter, sodium_memzero()).  NULL is a no-op. */
void noise_cipher_wipe(struct noise_cipher *c);

/* The counter (nonce) the next noise_cipher_encrypt() or in-order
 * noise_cipher_decrypt() will use: the number of messages processed so far. */
uint64_t noise_cipher_counter(const struct noise_cipher *c);

/*
 * EncryptWithAd(ad, plaintext) (spec section 5.1) with the cipher's own
 * counter n, which it then increments; the nonce is 4 zero bytes followed by
 * n in little-endian (spec section 13.1).  The caller never chooses the
 * nonce, so it cannot reuse one; the value used is returned in *@counter
 * (may be NULL) to be sent in the clear beside the ciphertext.  Writes
 * @in_len + NOISE_TAG_LEN bytes to @out (@out_size available) and that size
 * to *@out_len.  @out may equal @in (in place); other overlaps are not
 * allowed.  @ad may be NULL when @ad_len is 0.  Returns 0, -EMSGSIZE when
 * @out is too small or the result would exceed NOISE_MAX_MESSAGE_LEN, or
 * -EKEYEXPIRED when the counter reached NOISE_REJECT_AFTER_MESSAGES (rekey).
 */
int noise_cipher_encrypt(struct noise_cipher *c, uint64_t *counter, const uint8_t *ad,
			 size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			 size_t out_size, size_t *out_len);

/*
 * DecryptWithAd(ad, ciphertext) (spec section 5.1) with the cipher's own
 * counter, incremented only on success: for an in-order channel (TCP, the
 * test vectors).  Writes @in_len - NOISE_TAG_LEN bytes to @out and that size
 * to *@out_len; @out may equal @in.  Returns 0, -EBADMSG when @in is shorter
 * than a tag or fails authentication (@out is then wiped, the counter
 * unchanged), -EMSGSIZE when @in_len exceeds NOISE_MAX_MESSAGE_LEN or @out
 * is too small, -EKEYEXPIRED at NOISE_REJECT_AFTER_MESSAGES.
 */
int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
			 const uint8_t *in, size_t in_len, uint8_t *out, size_t out_size,
			 size_t *out_len);

/*
 * As noise_cipher_decrypt(), with the explicit @counter the sender put
 * beside the ciphertext, and without touching the cipher's state: for
 * datagrams that arrive out of order (spec section 11.4).  The caller
 * checks @counter against a replay window (lib/replay.h) before, and marks
 * it seen only after this returned 0.  Returns 0, -EBADMSG, -EMSGSIZE, or
 * -EKEYEXPIRED when @counter >= NOISE_REJECT_AFTER_MESSAGES.
 */
int noise_cipher_decrypt_at(const struct noise_cipher *c, uint64_t counter, const uint8_t *ad,
			    size_t ad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			    size_t out_size, size_t *out_len);
