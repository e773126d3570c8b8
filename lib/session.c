/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "index_table.h"
#include "noise.h"
#include "replay.h"
#include "session.h"
#include "tai64n.h"

/* Noise message 1 of IKpsk2 with a TAI64N payload: e, s + tag, ts + tag. */
#define SESSION_NOISE1_LEN                                                                         \
	(NOISE_PUBLIC_KEY_LEN + NOISE_PUBLIC_KEY_LEN + NOISE_TAG_LEN + TAI64N_LEN + NOISE_TAG_LEN)
/* Noise message 2: e, empty payload + tag. */
#define SESSION_NOISE2_LEN     (NOISE_PUBLIC_KEY_LEN + NOISE_TAG_LEN)
#define SESSION_INIT_NOISE_OFF 8
#define SESSION_RESP_NOISE_OFF 12

_Static_assert(SESSION_INIT_NOISE_OFF + SESSION_NOISE1_LEN + COOKIE_MACS_LEN ==
		   SESSION_INITIATION_LEN,
	       "initiation layout");
_Static_assert(SESSION_RESP_NOISE_OFF + SESSION_NOISE2_LEN + COOKIE_MACS_LEN ==
		   SESSION_RESPONSE_LEN,
	       "response layout");
_Static_assert(SESSION_COOKIE_REPLY_LEN == COOKIE_REPLY_LEN, "cookie reply layout");
_Static_assert(SESSION_MAC1_LEN == COOKIE_MAC_LEN, "mac1");
_Static_assert(SESSION_REKEY_AFTER_MESSAGES < NOISE_REJECT_AFTER_MESSAGES,
	       "rekey before the cipher refuses");

/*
 * One keypair: the two transport ciphers of one completed handshake (Noise
 * Split(), spec section 5.2), the indices that name it on the wire and the
 * receive state.  Valid iff valid: a zeroed slot is empty.  The ciphers
 * live here, inside the session's one sodium_malloc'd block (lib/noise.h).
 */
struct session_keypair {
	struct noise_cipher send;
	struct noise_cipher recv;
	bool valid;
	struct replay_window replay; /* datagram mode only */
	uint64_t created_ms;
	uint32_t local_index;  /* peers put it in messages to us */
	uint32_t remote_index; /* we put it in messages to the peer */
	bool initiator;        /* we sent the initiation of this keypair */
	/* Made by a handshake that arrived over a stream (TCP): its transport
	 * messages must arrive over a stream, with counters without gaps;
	 * otherwise over datagrams, through the replay window. */
	bool stream;
};

/* The whole struct is sodium_malloc'd: it holds the static private key and PSK. */
struct session {
	uint8_t local_private[NOISE_PRIVATE_KEY_LEN];
	uint8_t local_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t peer_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t psk[NOISE_PSK_LEN];
	/* mac1 of what we receive (mac2 is the caller's); mac1, mac2 and the
	 * peer's cookie for what we send (lib/cookie.h). */
	struct cookie_checker mac_rx;
	struct cookie_maker mac_tx;
	bool stream;    /* how session_receive() says messages arrive */
	bool rx_stream; /* how the message being received arrived */
	uint64_t rekey_after_ms;
	uint64_t reject_after_ms;
	uint64_t rekey_timeout_ms;
	uint64_t rekey_attempt_ms;

	/* Keypair slots (WireGuard paper section 6.3). */
	struct session_keypair current;
	struct session_keypair previous;
	struct session_keypair next;

	/* Our pending initiation and its series of retries. */
	struct noise_handshake *hs;
	uint32_t hs_index;
	uint64_t hs_sent_ms;
	uint64_t hs_jitter_ms;
	bool hs_cookie;  /* a cookie reply answered it: no second one */
	bool attempting; /* a series started and has not completed */
	uint64_t attempt_start_ms;

	bool handshake_sent; /* last_handshake_sent_ms is meaningful */
	uint64_t last_handshake_sent_ms;
	bool traffic_pending; /* session_seal() refused a packet: no keypair */
	uint64_t traffic_ms;
	uint64_t last_handshake_ms;
	/* Paper section 6.5: data sealed since the last authenticated message
	 * received (from unanswered_ms); a keepalive owed at keepalive_ms for
	 * data received, unless we send something first. */
	bool unanswered;
	uint64_t unanswered_ms;
	bool keepalive_owed;
	uint64_t keepalive_ms;

	bool ts_sent;
	uint8_t last_ts_sent[TAI64N_LEN];
	bool ts_accepted;
	uint8_t last_ts_accepted[TAI64N_LEN];

	/* Ephemeral keys of the latest initiations processed, a ring. */
	uint8_t seen[SESSION_SEEN_EPHEMERALS][NOISE_PUBLIC_KEY_LEN];
	unsigned seen_next;
	unsigned seen_len; /* entries filled, up to SESSION_SEEN_EPHEMERALS */

	/* The interface's receiver-index table and our owner in it, or NULL
	 * (lib/index_table.h). */
	struct index_table *indices;
	void *index_owner;

	struct session_stats stats;
};

/* sodium_malloc() gives the block its own pages, a canary (16 bytes)
 * before it and a header page: within one page a session costs a hub two
 * resident pages per peer, not three. */
_Static_assert(sizeof(struct session) + 16 <= 4096, "a session fits one page");

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* a + b, saturating: timer sums never wrap past UINT64_MAX. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool keypair_valid(const struct session_keypair *kp)
{
	return kp->valid;
}

/* A keypair is usable while younger than reject_after_ms (paper section 6.2). */
static bool keypair_usable(const struct session *s, const struct session_keypair *kp,
			   uint64_t now_ms)
{
	return keypair_valid(kp) && now_ms < sat_add(kp->created_ms, s->reject_after_ms);
}

/* Erases a keypair slot: its index released, the slot (both ciphers with
 * it) zeroed. */
static void keypair_clear(struct session *s, struct session_keypair *kp)
{
	if (keypair_valid(kp) && s->indices)
		index_table_remove(s->indices, kp->local_index);
	sodium_memzero(kp, sizeof(*kp));
}

static bool session_index_in_use(const struct session *s, uint32_t index)
{
	const struct session_keypair *slots[] = {&s->current, &s->previous, &s->next};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (keypair_valid(slots[i]) && slots[i]->local_index == index)
			return true;
	return s->hs != NULL && s->hs_index == index;
}

/*
 * A random 32-bit index distinct from every live one (paper section 5.4.1),
 * of this session and, with an index table, of every session on the
 * interface: then it is recorded there.  Returns 0, or -ENOSPC when the
 * table is full (sized too small for its sessions).
 */
static int session_new_index(struct session *s, uint32_t *out)
{
	uint32_t index;
	int ret;

	for (;;) {
		index = randombytes_random();
		if (session_index_in_use(s, index))
			continue;
		ret = s->indices ? index_table_add(s->indices, index, s->index_owner) : 0;
		if (ret == -EEXIST)
			continue;
		if (ret < 0)
			return ret;
		*out = index;
		return 0;
	}
}

/* Gives back an index session_new_index() made that was never used. */
static void session_release_index(struct session *s, uint32_t index)
{
	if (s->indices)
		index_table_remove(s->indices, index);
}

/* Checks the mac1 of the handshake message @msg (@len bytes), in constant time. */
static bool session_mac1_ok(struct session *s, const uint8_t *msg, size_t len)
{
	return cookie_checker_validate(&s->mac_rx, msg, len, false, NULL, 0, 0) != COOKIE_BAD_MAC1;
}

/* True when an initiation with the ephemeral key @e was processed lately. */
static bool session_seen(const struct session *s, const uint8_t *e)
{
	for (unsigned i = 0; i < s->seen_len; i++)
		if (memcmp(s->seen[i], e, NOISE_PUBLIC_KEY_LEN) == 0)
			return true;
	return false;
}

/* Remembers the ephemeral key @e of an initiation that cost Diffie-Hellman. */
static void session_remember(struct session *s, const uint8_t *e)
{
	memcpy(s->seen[s->seen_next], e, NOISE_PUBLIC_KEY_LEN);
	s->seen_next = (s->seen_next + 1) % SESSION_SEEN_EPHEMERALS;
	if (s->seen_len < SESSION_SEEN_EPHEMERALS)
		s->seen_len++;
}

/* Our initiation is still worth answering: sent in the current series. */
static bool session_attempt_live(const struct session *s, uint64_t now_ms)
{
	return s->attempting && s->hs != NULL &&
	       now_ms < sat_add(s->attempt_start_ms, s->rekey_attempt_ms);
}

/* Frees our pending initiation's handshake state; its index lives on in
 * the keypair it made, or dies by session_drop_handshake(). */
static void session_forget_handshake(struct session *s)
{
	noise_handshake_free(s->hs);
	s->hs = NULL;
	s->hs_index = 0;
	s->hs_cookie = false;
}

/* Abandons our pending initiation, index and all. */
static void session_drop_handshake(struct session *s)
{
	if (s->hs != NULL)
		session_release_index(s, s->hs_index);
	session_forget_handshake(s);
}

/*
 * The next TAI64N timestamp to send: now, or one nanosecond past the last
 * one sent when the clock (rounded to TAI64N_NOW_GRANULARITY_NS) has not
 * moved, so that our own quick retries are never refused as replays.
 */
static int session_timestamp(struct session *s, uint8_t *ts)
{
	int ret = tai64n_now(ts);

	if (ret < 0)
		return ret;
	if (s->ts_sent && tai64n_compare(ts, s->last_ts_sent) <= 0) {
		uint64_t sec = get_be64(s->last_ts_sent);
		uint32_t nsec = get_be32(s->last_ts_sent + 8) + 1;

		if (nsec >= 1000000000U) {
			nsec = 0;
			sec++;
		}
		put_be64(ts, sec);
		put_be32(ts + 8, nsec);
	}
	return 0;
}

int session_new(struct session **out, const struct session_config *cfg)
{
	static const uint8_t zero_psk[NOISE_PSK_LEN];
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	struct session *s;
	/* sodium_malloc puts the block just below a guard page: round the size
	 * up so the struct stays aligned. */
	size_t size = (sizeof(*s) + 15) & ~(size_t)15;
	int ret = -EINVAL;

	*out = NULL;
	if (cfg == NULL || cfg->local_private == NULL || cfg->peer_public == NULL ||
	    (cfg->indices != NULL && cfg->index_owner == NULL))
		return -EINVAL;
	s = sodium_malloc(size);
	if (s == NULL)
		return -ENOMEM;
	memset(s, 0, size);
	memcpy(s->local_private, cfg->local_private, sizeof(s->local_private));
	memcpy(s->peer_public, cfg->peer_public, sizeof(s->peer_public));
	memcpy(s->psk, cfg->psk ? cfg->psk : zero_psk, sizeof(s->psk));
	if (sodium_is_zero(s->local_private, sizeof(s->local_private)) ||
	    crypto_scalarmult_base(s->local_public, s->local_private) != 0)
		goto fail;
	if (sodium_memcmp(s->local_public, s->peer_public, NOISE_PUBLIC_KEY_LEN) == 0)
		goto fail;
	/* A low-order peer key would fail every handshake: say so now. */
	if (crypto_scalarmult(dh, s->local_private, s->peer_public) != 0)
		goto fail;
	sodium_memzero(dh, sizeof(dh));
	cookie_checker_init(&s->mac_rx, s->local_public);
	cookie_maker_init(&s->mac_tx, s->peer_public);
	s->stream = cfg->stream;
	s->indices = cfg->indices;
	s->index_owner = cfg->index_owner;
	s->rekey_after_ms = cfg->rekey_after_ms ? cfg->rekey_after_ms : SESSION_REKEY_AFTER_TIME_MS;
	s->reject_after_ms =
	    cfg->reject_after_ms ? cfg->reject_after_ms : SESSION_REJECT_AFTER_TIME_MS;
	s->rekey_timeout_ms =
	    cfg->rekey_timeout_ms ? cfg->rekey_timeout_ms : SESSION_REKEY_TIMEOUT_MS;
	s->rekey_attempt_ms =
	    cfg->rekey_attempt_ms ? cfg->rekey_attempt_ms : SESSION_REKEY_ATTEMPT_TIME_MS;
	*out = s;
	return 0;
fail:
	sodium_memzero(dh, sizeof(dh));
	sodium_free(s);
	return ret;
}

void session_reset(struct session *s)
{
	keypair_clear(s, &s->current);
	keypair_clear(s, &s->previous);
	keypair_clear(s, &s->next);
	session_drop_handshake(s);
	s->attempting = false;
	s->traffic_pending = false;
	s->unanswered = false;
	s->keepalive_owed = false;
}

void session_new_stream(struct session *s)
{
	keypair_clear(s, &s->current);
	keypair_clear(s, &s->previous);
	session_drop_handshake(s);
	s->attempting = false;
	s->traffic_pending = false;
	s->unanswered = false;
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_reset(s);
	sodium_free(s); /* wipes the keys */
}

void session_expire(struct session *s, uint64_t now_ms)
{
	struct session_keypair *slots[] = {&s->current, &s->previous, &s->next};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (keypair_valid(slots[i]) && !keypair_usable(s, slots[i], now_ms))
			keypair_clear(s, slots[i]);
	if (s->hs != NULL && !session_attempt_live(s, now_ms)) {
		session_drop_handshake(s);
		s->stats.handshake_giveups++;
	}
}

/* A keypair became current: the handshake is confirmed on this side. */
static void session_confirmed(struct session *s, bool had_current, uint64_t now_ms)
{
	s->last_handshake_ms = now_ms;
	s->traffic_pending = false;
	s->stats.handshakes_completed++;
	if (had_current)
		s->stats.rekeys++;
}

/*
 * Installs a new keypair as the kernel's add_new_keypair() does (WireGuard
 * paper section 6.3).  Initiator: the peer already uses it, so it becomes
 * current at once; a pending "next" (the peer's crossing initiation, which
 * the peer may be sending under) moves to previous, else current does.
 * Responder: "next" until the peer proves it has it.  Unlike the kernel we
 * keep "previous" here: packets in flight under it still decrypt.
 */
static void session_install(struct session *s, const struct session_keypair *kp, uint64_t now_ms)
{
	if (kp->initiator) {
		bool had_current = keypair_usable(s, &s->current, now_ms);

		keypair_clear(s, &s->previous);
		if (keypair_valid(&s->next)) {
			s->previous = s->next;
			memset(&s->next, 0, sizeof(s->next));
			keypair_clear(s, &s->current);
		} else {
			s->previous = s->current;
		}
		s->current = *kp;
		session_confirmed(s, had_current, now_ms);
	} else {
		keypair_clear(s, &s->next);
		s->next = *kp;
	}
}

/* The peer sent under "next": it has the keypair, so it becomes current. */
static void session_promote_next(struct session *s, uint64_t now_ms)
{
	bool had_current = keypair_usable(s, &s->current, now_ms);

	keypair_clear(s, &s->previous);
	s->previous = s->current;
	s->current = s->next;
	memset(&s->next, 0, sizeof(s->next));
	session_confirmed(s, had_current, now_ms);
}

int session_initiate(struct session *s, uint64_t now_ms, uint8_t *out, size_t out_size,
		     size_t *out_len)
{
	const struct noise_handshake_config hc = {
	    .pattern = NOISE_PATTERN_IKPSK2,
	    .role = NOISE_INITIATOR,
	    .prologue = (const uint8_t *)SESSION_PROLOGUE,
	    .prologue_len = sizeof(SESSION_PROLOGUE) - 1,
	    .local_private = s->local_private,
	    .remote_public = s->peer_public,
	    .psk = s->psk,
	};
	struct noise_handshake *hs = NULL;
	uint8_t ts[TAI64N_LEN];
	bool continuing;
	uint32_t index;
	size_t n;
	int ret;

	*out_len = 0;
	if (out_size < SESSION_INITIATION_LEN)
		return -EMSGSIZE;
	session_expire(s, now_ms);
	continuing = session_attempt_live(s, now_ms);
	ret = session_timestamp(s, ts);
	if (ret < 0)
		return ret;
	ret = noise_handshake_new(&hs, &hc);
	if (ret < 0)
		return ret;
	/* A new index, also distinct from the initiation this one replaces. */
	ret = session_new_index(s, &index);
	if (ret < 0) {
		noise_handshake_free(hs);
		return ret;
	}
	out[0] = SESSION_TYPE_INITIATION;
	memset(out + 1, 0, 3);
	put_be32(out + 4, index);
	ret = noise_handshake_write_message(hs, ts, sizeof(ts), out + SESSION_INIT_NOISE_OFF,
					    SESSION_NOISE1_LEN, &n);
	if (ret == 0 && n != SESSION_NOISE1_LEN)
		ret = -EINVAL;
	if (ret < 0) {
		session_release_index(s, index);
		noise_handshake_free(hs);
		sodium_memzero(out, SESSION_INITIATION_LEN);
		return ret;
	}
	cookie_maker_add_macs(&s->mac_tx, out, SESSION_INITIATION_LEN, now_ms);

	session_drop_handshake(s);
	s->hs = hs;
	s->hs_index = index;
	s->hs_sent_ms = now_ms;
	s->hs_jitter_ms = randombytes_uniform(SESSION_REKEY_JITTER_MS);
	if (!continuing) {
		s->attempting = true;
		s->attempt_start_ms = now_ms;
	}
	memcpy(s->last_ts_sent, ts, sizeof(ts));
	s->ts_sent = true;
	s->unanswered = false; /* this handshake is the answer to silence */
	s->keepalive_owed = false;
	s->handshake_sent = true;
	s->last_handshake_sent_ms = now_ms;
	s->stats.initiations_sent++;
	*out_len = SESSION_INITIATION_LEN;
	return 0;
}

/* Type 1: answer the peer's initiation (WireGuard paper sections 5.4.2-5.4.3). */
static int session_receive_initiation(struct session *s, uint64_t now_ms, const uint8_t *in,
				      size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
				      enum session_action *action)
{
	const struct noise_handshake_config hc = {
	    .pattern = NOISE_PATTERN_IKPSK2,
	    .role = NOISE_RESPONDER,
	    .prologue = (const uint8_t *)SESSION_PROLOGUE,
	    .prologue_len = sizeof(SESSION_PROLOGUE) - 1,
	    .local_private = s->local_private,
	};
	struct session_keypair kp = {0};
	struct noise_handshake *hs = NULL;
	uint8_t who[NOISE_PUBLIC_KEY_LEN];
	uint8_t ts[TAI64N_LEN + NOISE_TAG_LEN];
	size_t n;
	int ret;

	if (in_len != SESSION_INITIATION_LEN) {
		s->stats.rx_malformed++;
		return -EPROTO;
	}
	if (out_size < SESSION_RESPONSE_LEN)
		return -EMSGSIZE;
	if (!session_mac1_ok(s, in, in_len)) {
		s->stats.rx_bad_mac1++;
		return -EBADMSG;
	}
	/* An exact copy of an initiation costs no Diffie-Hellman: its
	 * ephemeral key is the cleartext first field of the Noise message. */
	if (session_seen(s, in + SESSION_INIT_NOISE_OFF)) {
		s->stats.rx_replayed_initiation++;
		return -ETIME;
	}
	session_expire(s, now_ms);
	ret = noise_handshake_new(&hs, &hc);
	if (ret < 0)
		return ret;
	s->stats.handshake_dh++;
	session_remember(s, in + SESSION_INIT_NOISE_OFF);
	ret = noise_handshake_read_message(hs, in + SESSION_INIT_NOISE_OFF, SESSION_NOISE1_LEN, ts,
					   sizeof(ts), &n);
	if (ret == 0 && n != TAI64N_LEN)
		ret = -EBADMSG;
	if (ret < 0) {
		if (ret == -EBADMSG)
			s->stats.rx_bad_handshake++;
		goto out;
	}
	/* IK: the initiator's static key is authenticated by now (spec 7.5). */
	ret = noise_handshake_remote_static(hs, who);
	if (ret < 0)
		goto out;
	if (sodium_memcmp(who, s->peer_public, sizeof(who)) != 0) {
		s->stats.rx_unknown_peer++;
		ret = -EACCES;
		goto out;
	}
	if (s->ts_accepted && tai64n_compare(ts, s->last_ts_accepted) <= 0) {
		s->stats.rx_replayed_initiation++;
		ret = -ETIME;
		goto out;
	}
	ret = noise_handshake_set_psk(hs, s->psk);
	if (ret < 0)
		goto out;

	ret = session_new_index(s, &kp.local_index);
	if (ret < 0)
		goto out;
	kp.remote_index = get_be32(in + 4);
	out[0] = SESSION_TYPE_RESPONSE;
	memset(out + 1, 0, 3);
	put_be32(out + 4, kp.local_index);
	put_be32(out + 8, kp.remote_index);
	ret = noise_handshake_write_message(hs, NULL, 0, out + SESSION_RESP_NOISE_OFF,
					    SESSION_NOISE2_LEN, &n);
	if (ret == 0 && n != SESSION_NOISE2_LEN)
		ret = -EINVAL;
	if (ret == 0)
		ret = noise_handshake_split(hs, &kp.send, &kp.recv);
	if (ret < 0) {
		session_release_index(s, kp.local_index);
		sodium_memzero(out, SESSION_RESPONSE_LEN);
		goto out;
	}
	kp.valid = true;
	cookie_maker_add_macs(&s->mac_tx, out, SESSION_RESPONSE_LEN, now_ms);
	kp.created_ms = now_ms;
	kp.initiator = false;
	kp.stream = s->rx_stream;
	replay_init(&kp.replay);
	session_install(s, &kp, now_ms);
	memcpy(s->last_ts_accepted, ts, TAI64N_LEN);
	s->ts_accepted = true;
	s->unanswered = false;
	s->keepalive_owed = false;
	s->handshake_sent = true;
	s->last_handshake_sent_ms = now_ms;
	s->stats.responses_sent++;
	*out_len = SESSION_RESPONSE_LEN;
	*action = SESSION_REPLY;
out:
	noise_handshake_free(hs);
	sodium_memzero(ts, sizeof(ts));
	sodium_memzero(&kp, sizeof(kp)); /* the installed copy lives on */
	return ret;
}

/* Type 2: the response that completes our initiation (paper section 5.4.3). */
static int session_receive_response(struct session *s, uint64_t now_ms, const uint8_t *in,
				    size_t in_len, enum session_action *action)
{
	struct session_keypair kp = {0};
	uint8_t payload[NOISE_TAG_LEN];
	size_t n;
	int ret;

	if (in_len != SESSION_RESPONSE_LEN) {
		s->stats.rx_malformed++;
		return -EPROTO;
	}
	if (!session_mac1_ok(s, in, in_len)) {
		s->stats.rx_bad_mac1++;
		return -EBADMSG;
	}
	session_expire(s, now_ms);
	if (!session_attempt_live(s, now_ms) || get_be32(in + 8) != s->hs_index) {
		s->stats.rx_unknown_index++;
		return -ENOKEY;
	}
	/* No rate limit here: only the holder of our pending initiation's
	 * random index gets this far, and a flood of initiations must not
	 * starve our own handshake (doc/design.md section 3 "DoS"). */
	s->stats.handshake_dh++;
	/* Atomic (lib/noise.h): a forged response leaves our initiation
	 * intact for the genuine one. */
	ret = noise_handshake_read_message(s->hs, in + SESSION_RESP_NOISE_OFF, SESSION_NOISE2_LEN,
					   payload, sizeof(payload), &n);
	if (ret == -EBADMSG)
		s->stats.rx_bad_handshake++;
	if (ret < 0)
		return ret;
	if (n != 0) {
		/* Authenticated, but not our protocol: abandon it. */
		s->stats.rx_bad_handshake++;
		session_drop_handshake(s);
		s->attempting = false;
		return -EBADMSG;
	}
	ret = noise_handshake_split(s->hs, &kp.send, &kp.recv);
	if (ret < 0)
		return ret;
	kp.valid = true;
	kp.local_index = s->hs_index;
	kp.remote_index = get_be32(in + 4);
	kp.created_ms = now_ms;
	kp.initiator = true;
	kp.stream = s->rx_stream;
	replay_init(&kp.replay);
	/* The index passes from the handshake to the keypair. */
	session_forget_handshake(s);
	s->attempting = false;
	session_install(s, &kp, now_ms);
	sodium_memzero(&kp, sizeof(kp)); /* the installed copy lives on */
	s->unanswered = false;
	*action = SESSION_ESTABLISHED;
	return 0;
}

/* Type 3: the peer is under load and wants mac2 (paper section 5.4.7). */
static int session_receive_cookie(struct session *s, uint64_t now_ms, const uint8_t *in,
				  size_t in_len, enum session_action *action)
{
	int ret;

	if (in_len != SESSION_COOKIE_REPLY_LEN) {
		s->stats.rx_malformed++;
		return -EPROTO;
	}
	session_expire(s, now_ms);
	if (!session_attempt_live(s, now_ms) || get_be32(in + 4) != s->hs_index || s->hs_cookie) {
		s->stats.rx_unknown_index++;
		return -ENOKEY;
	}
	ret = cookie_maker_consume(&s->mac_tx, in, in_len, now_ms);
	if (ret < 0) {
		s->stats.rx_bad_cookie++;
		return -EBADMSG;
	}
	s->hs_cookie = true;
	s->stats.cookies_received++;
	*action = SESSION_COOKIE;
	return 0;
}

static struct session_keypair *session_find(struct session *s, uint32_t index)
{
	struct session_keypair *slots[] = {&s->current, &s->previous, &s->next};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (keypair_valid(slots[i]) && slots[i]->local_index == index)
			return slots[i];
	return NULL;
}

/* Type 4: one transport message (paper section 5.4.6; Noise spec 11.4); type
 * 5 the same with a virtio-net header in the plaintext. */
static int session_receive_transport(struct session *s, uint64_t now_ms, const uint8_t *in,
				     size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
				     enum session_action *action)
{
	const uint8_t *ct = in + SESSION_TRANSPORT_HEADER_LEN;
	size_t ct_len = in_len - SESSION_TRANSPORT_HEADER_LEN;
	struct session_keypair *kp;
	uint64_t counter;
	size_t n;
	int ret;

	if (in_len < SESSION_TRANSPORT_OVERHEAD || in_len > SESSION_MAX_MESSAGE_LEN) {
		s->stats.rx_malformed++;
		return -EPROTO;
	}
	if (out_size < in_len - SESSION_TRANSPORT_OVERHEAD)
		return -EMSGSIZE;
	kp = session_find(s, get_be32(in + 4));
	if (kp == NULL) {
		s->stats.rx_unknown_index++;
		return -ENOKEY;
	}
	if (!keypair_usable(s, kp, now_ms)) {
		s->stats.rx_expired++;
		session_expire(s, now_ms);
		return -EKEYEXPIRED;
	}
	/* A message that crossed to the other transport (copied by someone
	 * on the path, or late from a transport the peer left) is refused
	 * before any work: each keypair serves the transport its handshake
	 * ran over (doc/design.md section 8). */
	if (kp->stream != s->rx_stream) {
		s->stats.rx_wrong_transport++;
		return -EPROTOTYPE;
	}
	counter = get_be64(in + 8);
	if (kp->stream) {
		/* TCP delivers in order and loses nothing: any gap is corruption. */
		if (counter != noise_cipher_counter(&kp->recv)) {
			s->stats.rx_out_of_order++;
			return -EPROTO;
		}
		ret = noise_cipher_decrypt(&kp->recv, in, SESSION_TRANSPORT_HEADER_LEN, ct, ct_len,
					   out, out_size, &n);
	} else {
		/* The window first, so replays cost no decryption (RFC 6479). */
		ret = replay_check(&kp->replay, counter);
		if (ret == -EALREADY) {
			s->stats.rx_replayed++;
			return ret;
		}
		if (ret == -ESTALE) {
			s->stats.rx_stale++;
			return ret;
		}
		if (ret < 0) {
			/* >= 2^60: no honest sender uses it. */
			s->stats.rx_bad_tag++;
			return -EBADMSG;
		}
		ret = noise_cipher_decrypt_at(&kp->recv, counter, in, SESSION_TRANSPORT_HEADER_LEN,
					      ct, ct_len, out, out_size, &n);
		/* Only an authenticated counter moves the window; its result
		 * decides (lib/replay.h). */
		if (ret == 0) {
			ret = replay_update(&kp->replay, counter);
			if (ret < 0) {
				sodium_memzero(out, n);
				s->stats.rx_replayed++;
				return -EALREADY;
			}
		}
	}
	if (ret == -EBADMSG || ret == -EKEYEXPIRED) {
		s->stats.rx_bad_tag++;
		return -EBADMSG;
	}
	if (ret < 0)
		return ret;
	if (kp == &s->next)
		session_promote_next(s, now_ms);
	session_expire(s, now_ms);
	s->unanswered = false;
	if (n > 0 && !s->keepalive_owed) {
		s->keepalive_owed = true;
		s->keepalive_ms = sat_add(now_ms, SESSION_KEEPALIVE_TIMEOUT_MS);
	}
	*out_len = n;
	if (n == 0) {
		s->stats.keepalives_received++;
		*action =
		    in[0] == SESSION_TYPE_TRANSPORT ? SESSION_KEEPALIVE : SESSION_OFFLOAD_OFFER;
	} else {
		s->stats.packets_delivered++;
		*action =
		    in[0] == SESSION_TYPE_TRANSPORT ? SESSION_DELIVER : SESSION_DELIVER_OFFLOAD;
	}
	return 0;
}

int session_receive(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len,
		    uint8_t *out, size_t out_size, size_t *out_len, enum session_action *action)
{
	return session_receive_on(s, s->stream, now_ms, in, in_len, out, out_size, out_len, action);
}

int session_receive_on(struct session *s, bool stream, uint64_t now_ms, const uint8_t *in,
		       size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
		       enum session_action *action)
{
	s->rx_stream = stream;
	*out_len = 0;
	*action = SESSION_NONE;
	if (in_len < SESSION_TRANSPORT_HEADER_LEN || in[1] != 0 || in[2] != 0 || in[3] != 0) {
		s->stats.rx_malformed++;
		return -EPROTO;
	}
	switch (in[0]) {
	case SESSION_TYPE_INITIATION:
		return session_receive_initiation(s, now_ms, in, in_len, out, out_size, out_len,
						  action);
	case SESSION_TYPE_RESPONSE:
		return session_receive_response(s, now_ms, in, in_len, action);
	case SESSION_TYPE_COOKIE_REPLY:
		return session_receive_cookie(s, now_ms, in, in_len, action);
	case SESSION_TYPE_TRANSPORT:
	case SESSION_TYPE_TRANSPORT_OFFLOAD:
		return session_receive_transport(s, now_ms, in, in_len, out, out_size, out_len,
						 action);
	default:
		s->stats.rx_malformed++;
		return -EPROTO;
	}
}

static int session_seal_type(struct session *s, uint64_t now_ms, uint8_t type, const uint8_t *in,
			     size_t in_len, uint8_t *out, size_t out_size, size_t *out_len)
{
	struct session_keypair *kp = &s->current;
	uint64_t counter, used;
	size_t n;
	int ret;

	*out_len = 0;
	if (in_len > SESSION_MAX_PACKET_LEN || out_size < in_len + SESSION_TRANSPORT_OVERHEAD)
		return -EMSGSIZE;
	session_expire(s, now_ms);
	if (!keypair_usable(s, kp, now_ms) ||
	    noise_cipher_counter(&kp->send) >= NOISE_REJECT_AFTER_MESSAGES)
		goto nokey;
	/* The header is the associated data, so it is written first, with the
	 * counter the cipher is about to use. */
	counter = noise_cipher_counter(&kp->send);
	out[0] = type;
	memset(out + 1, 0, 3);
	put_be32(out + 4, kp->remote_index);
	put_be64(out + 8, counter);
	ret = noise_cipher_encrypt(&kp->send, &used, out, SESSION_TRANSPORT_HEADER_LEN, in, in_len,
				   out + SESSION_TRANSPORT_HEADER_LEN,
				   out_size - SESSION_TRANSPORT_HEADER_LEN, &n);
	if (ret == -EKEYEXPIRED)
		goto nokey;
	if (ret < 0)
		return ret;
	if (used != counter) /* cannot happen: one thread, one cipher */
		return -EINVAL;
	s->stats.packets_sealed++;
	if (in_len == 0)
		s->stats.keepalives_sealed++;
	else if (!s->unanswered) {
		s->unanswered = true;
		s->unanswered_ms = now_ms;
	}
	s->keepalive_owed = false;
	*out_len = SESSION_TRANSPORT_HEADER_LEN + n;
	return 0;
nokey:
	s->stats.seal_no_key++;
	s->traffic_pending = true;
	s->traffic_ms = now_ms;
	return -ENOKEY;
}

int session_seal(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len, uint8_t *out,
		 size_t out_size, size_t *out_len)
{
	return session_seal_type(s, now_ms, SESSION_TYPE_TRANSPORT, in, in_len, out, out_size,
				 out_len);
}

int session_seal_offload(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len,
			 uint8_t *out, size_t out_size, size_t *out_len)
{
	return session_seal_type(s, now_ms, SESSION_TYPE_TRANSPORT_OFFLOAD, in, in_len, out,
				 out_size, out_len);
}

bool session_current_stream(const struct session *s)
{
	return keypair_valid(&s->current) && s->current.stream;
}

/* When the current keypair is due for rekeying, UINT64_MAX if never. */
static uint64_t session_rekey_time(const struct session *s, uint64_t now_ms)
{
	const struct session_keypair *kp = &s->current;
	uint64_t t;

	if (!keypair_usable(s, kp, now_ms))
		return UINT64_MAX;
	/* The peer already started a newer handshake: nothing to do. */
	if (keypair_usable(s, &s->next, now_ms))
		return UINT64_MAX;
	if (noise_cipher_counter(&kp->send) >= SESSION_REKEY_AFTER_MESSAGES)
		return now_ms;
	t = sat_add(kp->created_ms, s->rekey_after_ms);
	if (!kp->initiator)
		t = sat_add(t, SESSION_RESPONDER_REKEY_DELAY_MS);
	return t;
}

/* End of the quiet time after any handshake message we sent. */
static uint64_t session_quiet_until(const struct session *s)
{
	return s->handshake_sent ? sat_add(s->last_handshake_sent_ms, s->rekey_timeout_ms) : 0;
}

/* session_seal() refused a packet that still counts as wanting a handshake. */
static bool session_traffic_waits(const struct session *s, uint64_t now_ms)
{
	if (!s->traffic_pending || keypair_usable(s, &s->current, now_ms))
		return false;
	/* After a give-up, only traffic since then restarts (paper 6.4). */
	if (s->attempting && s->traffic_ms < sat_add(s->attempt_start_ms, s->rekey_attempt_ms))
		return false;
	return true;
}

/* When unanswered data asks for a handshake (UINT64_MAX: it does not). */
static uint64_t session_unanswered_time(const struct session *s)
{
	if (!s->unanswered)
		return UINT64_MAX;
	return sat_add(s->unanswered_ms, SESSION_KEEPALIVE_TIMEOUT_MS + s->rekey_timeout_ms);
}

bool session_wants_handshake(const struct session *s, uint64_t now_ms)
{
	if (session_attempt_live(s, now_ms))
		return now_ms >= sat_add(s->hs_sent_ms, s->rekey_timeout_ms + s->hs_jitter_ms);
	if (now_ms < session_quiet_until(s))
		return false;
	if (now_ms >= session_rekey_time(s, now_ms) || now_ms >= session_unanswered_time(s))
		return true;
	return session_traffic_waits(s, now_ms);
}

bool session_wants_keepalive(const struct session *s, uint64_t now_ms)
{
	return s->keepalive_owed && now_ms >= s->keepalive_ms && session_is_up(s, now_ms);
}

static void deadline_min(uint64_t *d, uint64_t t)
{
	if (t < *d)
		*d = t;
}

uint64_t session_next_deadline(const struct session *s, uint64_t now_ms)
{
	const struct session_keypair *slots[] = {&s->current, &s->previous, &s->next};
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (keypair_valid(slots[i]))
			deadline_min(&d, sat_add(slots[i]->created_ms, s->reject_after_ms));
	if (session_attempt_live(s, now_ms)) {
		deadline_min(&d, sat_add(s->hs_sent_ms, s->rekey_timeout_ms + s->hs_jitter_ms));
		deadline_min(&d, sat_add(s->attempt_start_ms, s->rekey_attempt_ms));
		return d;
	}
	if (s->hs != NULL) /* given up, not yet erased */
		deadline_min(&d, now_ms);
	{
		uint64_t quiet = session_quiet_until(s);
		uint64_t rekey = session_rekey_time(s, now_ms);

		uint64_t silent = session_unanswered_time(s);

		if (rekey != UINT64_MAX)
			deadline_min(&d, rekey > quiet ? rekey : quiet);
		if (silent != UINT64_MAX)
			deadline_min(&d, silent > quiet ? silent : quiet);
		if (s->keepalive_owed)
			deadline_min(&d, s->keepalive_ms);
		if (session_traffic_waits(s, now_ms))
			deadline_min(&d, quiet > now_ms ? quiet : now_ms);
	}
	return d;
}

bool session_is_up(const struct session *s, uint64_t now_ms)
{
	return keypair_usable(s, &s->current, now_ms);
}

uint64_t session_last_handshake_ms(const struct session *s)
{
	return s->last_handshake_ms;
}

const uint8_t *session_peer_public_key(const struct session *s)
{
	return s->peer_public;
}

void session_get_stats(const struct session *s, struct session_stats *out)
{
	*out = s->stats;
}

int session_message_receiver(const uint8_t *in, size_t in_len, uint32_t *index)
{
	if (in_len < SESSION_TRANSPORT_HEADER_LEN || in[1] != 0 || in[2] != 0 || in[3] != 0)
		return -EPROTO;
	switch (in[0]) {
	case SESSION_TYPE_INITIATION:
		return 0;
	case SESSION_TYPE_RESPONSE:
		*index = get_be32(in + 8);
		return 1;
	case SESSION_TYPE_COOKIE_REPLY:
	case SESSION_TYPE_TRANSPORT:
	case SESSION_TYPE_TRANSPORT_OFFLOAD:
		*index = get_be32(in + 4);
		return 1;
	default:
		return -EPROTO;
	}
}

/* sodium_malloc'd: it holds the interface's static private key. */
struct session_responder {
	uint8_t local_private[NOISE_PRIVATE_KEY_LEN];
	uint8_t local_public[NOISE_PUBLIC_KEY_LEN];
	struct cookie_checker mac_rx;
	uint8_t seen[SESSION_RESPONDER_SEEN][NOISE_PUBLIC_KEY_LEN];
	unsigned seen_next;
	unsigned seen_len;
	struct session_responder_stats stats;
};

int session_responder_new(struct session_responder **out, const uint8_t *local_private)
{
	size_t size = (sizeof(struct session_responder) + 15) & ~(size_t)15;
	struct session_responder *r;

	*out = NULL;
	if (local_private == NULL || sodium_is_zero(local_private, NOISE_PRIVATE_KEY_LEN))
		return -EINVAL;
	r = sodium_malloc(size);
	if (r == NULL)
		return -ENOMEM;
	memset(r, 0, size);
	memcpy(r->local_private, local_private, sizeof(r->local_private));
	if (crypto_scalarmult_base(r->local_public, r->local_private) != 0) {
		sodium_free(r);
		return -EINVAL;
	}
	cookie_checker_init(&r->mac_rx, r->local_public);
	*out = r;
	return 0;
}

void session_responder_free(struct session_responder *r)
{
	if (r == NULL)
		return;
	cookie_checker_cleanup(&r->mac_rx);
	sodium_free(r); /* wipes the key */
}

int session_identify(struct session_responder *r, const uint8_t *in, size_t in_len,
		     uint8_t *peer_public)
{
	const struct noise_handshake_config hc = {
	    .pattern = NOISE_PATTERN_IKPSK2,
	    .role = NOISE_RESPONDER,
	    .prologue = (const uint8_t *)SESSION_PROLOGUE,
	    .prologue_len = sizeof(SESSION_PROLOGUE) - 1,
	    .local_private = r->local_private,
	};
	struct noise_handshake *hs = NULL;
	uint8_t ts[TAI64N_LEN + NOISE_TAG_LEN];
	const uint8_t *e = in + SESSION_INIT_NOISE_OFF;
	size_t n;
	int ret;

	if (in_len != SESSION_INITIATION_LEN || in[0] != SESSION_TYPE_INITIATION || in[1] != 0 ||
	    in[2] != 0 || in[3] != 0) {
		r->stats.rx_malformed++;
		return -EPROTO;
	}
	if (cookie_checker_validate(&r->mac_rx, in, in_len, false, NULL, 0, 0) == COOKIE_BAD_MAC1) {
		r->stats.rx_bad_mac1++;
		return -EBADMSG;
	}
	for (unsigned i = 0; i < r->seen_len; i++)
		if (memcmp(r->seen[i], e, NOISE_PUBLIC_KEY_LEN) == 0) {
			r->stats.rx_replayed_initiation++;
			return -ETIME;
		}
	ret = noise_handshake_new(&hs, &hc);
	if (ret < 0)
		return ret;
	r->stats.handshake_dh++;
	memcpy(r->seen[r->seen_next], e, NOISE_PUBLIC_KEY_LEN);
	r->seen_next = (r->seen_next + 1) % SESSION_RESPONDER_SEEN;
	if (r->seen_len < SESSION_RESPONDER_SEEN)
		r->seen_len++;
	ret = noise_handshake_read_message(hs, e, SESSION_NOISE1_LEN, ts, sizeof(ts), &n);
	if (ret == 0 && n != TAI64N_LEN)
		ret = -EBADMSG;
	if (ret == 0)
		ret = noise_handshake_remote_static(hs, peer_public);
	if (ret == -EBADMSG)
		r->stats.rx_bad_handshake++;
	noise_handshake_free(hs);
	sodium_memzero(ts, sizeof(ts));
	return ret;
}

void session_responder_get_stats(const struct session_responder *r,
				 struct session_responder_stats *out)
{
	*out = r->stats;
}
