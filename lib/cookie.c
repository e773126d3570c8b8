/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"

#define COOKIE_LABEL_MAC1   "mac1----"
#define COOKIE_LABEL_COOKIE "cookie--"

_Static_assert(COOKIE_REPLY_LEN == 64, "cookie reply layout");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == COOKIE_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == 16, "tag");
_Static_assert(COOKIE_LEN >= crypto_generichash_KEYBYTES_MIN, "a cookie keys mac2");

/* BLAKE2b-256(label || public key): the MAC and cookie keys (paper 5.4.4). */
static void cookie_derive(uint8_t *key, const char *label, const uint8_t *pub)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, COOKIE_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, pub, 32);
	crypto_generichash_final(&st, key, COOKIE_KEY_LEN);
}

/* BLAKE2b-128 keyed with @key (@key_len bytes) over @len bytes of @msg. */
static void cookie_mac(uint8_t *mac, const uint8_t *key, size_t key_len, const uint8_t *msg,
		       size_t len)
{
	crypto_generichash(mac, COOKIE_MAC_LEN, msg, len, key, key_len);
}

/* The cookie @src would get under the current secret: the address and the
 * port, as the paper's "IP address and UDP source port". */
static void cookie_for(const struct cookie_checker *c, const struct sockaddr *src,
		       socklen_t src_len, uint8_t *cookie)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, c->secret, sizeof(c->secret), COOKIE_LEN);
	if (src->sa_family == AF_INET && src_len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;

		crypto_generichash_update(&st, (const uint8_t *)&in->sin_addr, 4);
		crypto_generichash_update(&st, (const uint8_t *)&in->sin_port, 2);
	} else if (src->sa_family == AF_INET6 && src_len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;

		crypto_generichash_update(&st, (const uint8_t *)&in6->sin6_addr, 16);
		crypto_generichash_update(&st, (const uint8_t *)&in6->sin6_port, 2);
	}
	crypto_generichash_final(&st, cookie, COOKIE_LEN);
}

/* A secret older than COOKIE_SECRET_MAX_AGE_MS makes no cookie. */
static bool cookie_secret_fresh(const struct cookie_checker *c, uint64_t now_ms)
{
	return c->secret_set && now_ms - c->secret_ms < COOKIE_SECRET_MAX_AGE_MS;
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t *local_public)
{
	memset(c, 0, sizeof(*c));
	cookie_derive(c->mac1_key, COOKIE_LABEL_MAC1, local_public);
	cookie_derive(c->cookie_key, COOKIE_LABEL_COOKIE, local_public);
}

void cookie_checker_cleanup(struct cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

enum cookie_validity cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					     size_t len, bool check_mac2,
					     const struct sockaddr *src, socklen_t src_len,
					     uint64_t now_ms)
{
	uint8_t mac[COOKIE_MAC_LEN], cookie[COOKIE_LEN];
	size_t mac1_off, mac2_off;

	if (len < COOKIE_MACS_LEN)
		return COOKIE_BAD_MAC1;
	mac1_off = len - COOKIE_MACS_LEN;
	mac2_off = len - COOKIE_MAC_LEN;
	cookie_mac(mac, c->mac1_key, sizeof(c->mac1_key), msg, mac1_off);
	if (sodium_memcmp(mac, msg + mac1_off, COOKIE_MAC_LEN) != 0)
		return COOKIE_BAD_MAC1;
	/* No secret yet, or an old one: we never gave a cookie it can
	 * match (the paper's R_m changes every two minutes). */
	if (!check_mac2 || src == NULL || !cookie_secret_fresh(c, now_ms))
		return COOKIE_MAC1_ONLY;
	cookie_for(c, src, src_len, cookie);
	cookie_mac(mac, cookie, sizeof(cookie), msg, mac2_off);
	sodium_memzero(cookie, sizeof(cookie));
	if (sodium_memcmp(mac, msg + mac2_off, COOKIE_MAC_LEN) != 0)
		return COOKIE_MAC1_ONLY;
	return COOKIE_MAC1_AND_COOKIE;
}

int cookie_checker_reply(struct cookie_checker *c, const uint8_t *msg, size_t len,
			 const struct sockaddr *src, socklen_t src_len, uint64_t now_ms,
			 uint8_t *out)
{
	uint8_t cookie[COOKIE_LEN];
	uint8_t *nonce = out + 8;

	if (len < 8 + COOKIE_MACS_LEN)
		return -EINVAL;
	if (!cookie_secret_fresh(c, now_ms)) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_ms = now_ms;
		c->secret_set = true;
	}
	cookie_for(c, src, src_len, cookie);
	out[0] = COOKIE_TYPE_REPLY;
	memset(out + 1, 0, 3);
	memcpy(out + 4, msg + 4, 4); /* the message's sender index */
	randombytes_buf(nonce, COOKIE_NONCE_LEN);
	/* The answered message's mac1 is the associated data: the reply
	 * opens only for the one who sent that message. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 8 + COOKIE_NONCE_LEN, NULL, cookie,
						   sizeof(cookie), msg + len - COOKIE_MACS_LEN,
						   COOKIE_MAC_LEN, NULL, nonce, c->cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t *peer_public)
{
	memset(m, 0, sizeof(*m));
	cookie_derive(m->mac1_key, COOKIE_LABEL_MAC1, peer_public);
	cookie_derive(m->cookie_key, COOKIE_LABEL_COOKIE, peer_public);
}

void cookie_maker_cleanup(struct cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

bool cookie_maker_has_cookie(const struct cookie_maker *m, uint64_t now_ms)
{
	return m->have_cookie && now_ms - m->cookie_ms < COOKIE_MAX_AGE_MS;
}

void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ms)
{
	size_t mac1_off = len - COOKIE_MACS_LEN, mac2_off = len - COOKIE_MAC_LEN;

	cookie_mac(msg + mac1_off, m->mac1_key, sizeof(m->mac1_key), msg, mac1_off);
	memcpy(m->last_mac1, msg + mac1_off, COOKIE_MAC_LEN);
	m->mac1_sent = true;
	if (cookie_maker_has_cookie(m, now_ms))
		cookie_mac(msg + mac2_off, m->cookie, sizeof(m->cookie), msg, mac2_off);
	else
		memset(msg + mac2_off, 0, COOKIE_MAC_LEN);
}

int cookie_maker_consume(struct cookie_maker *m, const uint8_t *reply, size_t len, uint64_t now_ms)
{
	uint8_t cookie[COOKIE_LEN];
	unsigned long long n;

	if (len != COOKIE_REPLY_LEN || reply[0] != COOKIE_TYPE_REPLY)
		return -EPROTO;
	if (!m->mac1_sent)
		return -ENOKEY;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		cookie, &n, NULL, reply + 8 + COOKIE_NONCE_LEN, COOKIE_LEN + 16, m->last_mac1,
		COOKIE_MAC_LEN, reply + 8, m->cookie_key) != 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, sizeof(cookie));
	sodium_memzero(cookie, sizeof(cookie));
	m->cookie_ms = now_ms;
	m->have_cookie = true;
	return 0;
}
