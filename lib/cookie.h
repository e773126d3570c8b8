/* SPDX-License-Identifier: MIT */
/*
 * The MACs that guard the handshake, and the cookie reply that answers a
 * flood (WireGuard paper, J. A. Donenfeld, NDSS 2017, sections 5.3 and
 * 5.4.4 to 5.4.7; doc/design.md section 3 "DoS"; doc/PROTOCOL.md "mac1,
 * mac2 and the cookie reply").
 *
 * Every handshake message ends with two 16-byte MACs:
 *
 *   mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" || receiver's static
 *          public key), every byte before mac1)
 *   mac2 = BLAKE2b-128(key = cookie, every byte before mac2), or 16 zero
 *          bytes when the sender holds no cookie younger than
 *          COOKIE_MAX_AGE_MS
 *
 * mac1 proves the sender knows our public key, for the price of one hash.
 * Under load the receiver also wants mac2: a sender without a valid one
 * gets a cookie reply instead of Diffie-Hellman work, and must come back
 * with the cookie, which proves it receives at its source address:
 *
 *   cookie = BLAKE2b-128(key = secret, source address and port), the
 *            secret random and replaced every COOKIE_SECRET_MAX_AGE_MS
 *   reply  = type 3 | reserved[3] | receiver index (the sender index of
 *            the message answered) | nonce[24] | XChaCha20-Poly1305(key =
 *            BLAKE2b-256("cookie--" || the replier's static public key),
 *            nonce, plaintext = cookie, associated data = the answered
 *            message's mac1): 64 bytes
 *
 * The checker (struct cookie_checker) is the receiving side's: one per
 * interface, since it depends only on our own key.  The maker (struct
 * cookie_maker) is the sending side's: one per peer.  Pure library code:
 * the clock is a parameter (monotonic milliseconds), nothing is logged.
 * The caller must have called sodium_init().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* MAC, cookie and key sizes in bytes. */
#define COOKIE_MAC_LEN   16
#define COOKIE_LEN       16
#define COOKIE_KEY_LEN   32
#define COOKIE_NONCE_LEN 24
/* Both MACs at the end of a handshake message. */
#define COOKIE_MACS_LEN (2 * COOKIE_MAC_LEN)
/* Message type of the cookie reply, as WireGuard numbers it. */
#define COOKIE_TYPE_REPLY 3
/* The cookie reply: type, reserved, receiver index, nonce, cookie + tag. */
#define COOKIE_REPLY_LEN (4 + 4 + COOKIE_NONCE_LEN + COOKIE_LEN + 16)
/* The checker's secret is replaced this often (paper section 5.4.7). */
#define COOKIE_SECRET_MAX_AGE_MS 120000
/* A received cookie is used this long: the secret's lifetime less a
 * margin for the time the reply spent on the way (WireGuard's
 * COOKIE_SECRET_LATENCY). */
#define COOKIE_MAX_AGE_MS (COOKIE_SECRET_MAX_AGE_MS - 5000)

/* What cookie_checker_validate() found. */
enum cookie_validity {
	COOKIE_BAD_MAC1 = 0,    /* drop: the sender does not know our key */
	COOKIE_MAC1_ONLY,       /* mac1 good, mac2 absent or not ours */
	COOKIE_MAC1_AND_COOKIE, /* both good: the source address is proven */
};

/* The receiving side: one per interface. */
struct cookie_checker {
	uint8_t mac1_key[COOKIE_KEY_LEN];   /* from our public key */
	uint8_t cookie_key[COOKIE_KEY_LEN]; /* encrypts our cookie replies */
	uint8_t secret[COOKIE_KEY_LEN];
	uint64_t secret_ms; /* when the secret was made */
	bool secret_set;
};

/* The sending side: one per peer. */
struct cookie_maker {
	uint8_t mac1_key[COOKIE_KEY_LEN];   /* from the peer's public key */
	uint8_t cookie_key[COOKIE_KEY_LEN]; /* opens the peer's cookie replies */
	uint8_t cookie[COOKIE_LEN];         /* the latest cookie from the peer */
	uint64_t cookie_ms;                 /* when it arrived */
	bool have_cookie;
	uint8_t last_mac1[COOKIE_MAC_LEN]; /* of our latest handshake message */
	bool mac1_sent;
};

/*
 * Derives the checker's keys from our static public key @local_public (32
 * bytes, X25519).  The secret is made at the first cookie reply.  Wipe
 * with cookie_checker_cleanup().
 */
void cookie_checker_init(struct cookie_checker *c, const uint8_t *local_public);

/* Wipes every key and the secret. */
void cookie_checker_cleanup(struct cookie_checker *c);

/*
 * Checks the two MACs that end the handshake message @msg (@len bytes, at
 * least COOKIE_MACS_LEN): mac1 against our key, then, only when
 * @check_mac2, mac2 against the cookie we would give @src (@src_len bytes
 * of sockaddr_in or sockaddr_in6; the address and port count).  Costs one
 * hash for a bad mac1, two when mac2 is checked.  Returns the result;
 * with !@check_mac2 a good mac1 gives COOKIE_MAC1_ONLY.
 */
enum cookie_validity cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					     size_t len, bool check_mac2,
					     const struct sockaddr *src, socklen_t src_len,
					     uint64_t now_ms);

/*
 * Writes into @out (COOKIE_REPLY_LEN bytes) the cookie reply to the
 * handshake message @msg (@len bytes; its mac1 must have passed
 * cookie_checker_validate()) from @src: the receiver index is the
 * message's sender index (bytes 4..7).  Makes a new secret first when it
 * is COOKIE_SECRET_MAX_AGE_MS old.  A reply is shorter than any message
 * it answers, so it amplifies nothing.  Returns 0, or -EINVAL when @len is
 * too short to hold a sender index and the MACs.
 */
int cookie_checker_reply(struct cookie_checker *c, const uint8_t *msg, size_t len,
			 const struct sockaddr *src, socklen_t src_len, uint64_t now_ms,
			 uint8_t *out);

/* Derives the maker's keys from the peer's static public key @peer_public
 * (32 bytes).  Wipe with cookie_maker_cleanup(). */
void cookie_maker_init(struct cookie_maker *m, const uint8_t *peer_public);

/* Wipes the keys and the cookie. */
void cookie_maker_cleanup(struct cookie_maker *m);

/*
 * Writes mac1 and mac2 into the last COOKIE_MACS_LEN bytes of the
 * handshake message @msg (@len bytes, the rest already written): mac2
 * from the peer's cookie when we hold one younger than COOKIE_MAX_AGE_MS,
 * zeros otherwise.  Remembers mac1 to open the reply it may provoke.
 */
void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ms);

/*
 * Opens the cookie reply @reply (@len bytes) to our latest handshake
 * message and keeps its cookie for the next ones.  The caller has checked
 * that the receiver index is the one of that message.  Returns 0, -EPROTO
 * for a wrong length or type, -ENOKEY when no handshake message was sent,
 * or -EBADMSG when it does not authenticate (forged, or an answer to an
 * older message of ours).
 */
int cookie_maker_consume(struct cookie_maker *m, const uint8_t *reply, size_t len, uint64_t now_ms);

/* True when @m holds a cookie younger than COOKIE_MAX_AGE_MS. */
bool cookie_maker_has_cookie(const struct cookie_maker *m, uint64_t now_ms);
