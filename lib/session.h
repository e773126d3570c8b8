/* SPDX-License-Identifier: MIT */
/*
 * One peer's sealed-mode session (doc/design.md section 3): the handshake
 * messages, the transport messages, the three keypair slots and the timers,
 * in WireGuard's protocol shape (WireGuard paper, J. A. Donenfeld, NDSS
 * 2017, sections 5.4 and 6) over Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b
 * (Noise spec rev. 34, via lib/noise.h).  Pure library code: no I/O, no
 * clock of its own (every call takes a monotonic time in milliseconds, so
 * tests drive time), no logging.  The daemon reads and writes the messages;
 * see doc/sealed.md for the design and the exact byte layouts.
 *
 * Message layouts (all integers big-endian; "reserved" must be zero):
 *
 *   initiation, 148 bytes
 *     0 type=1 | 1 reserved[3] | 4 sender_index | 8 ephemeral[32] |
 *     40 encrypted static[32+16] | 88 encrypted TAI64N[12+16] | 116 mac1[16] |
 *     132 mac2[16]
 *   response, 92 bytes
 *     0 type=2 | 1 reserved[3] | 4 sender_index | 8 receiver_index |
 *     12 ephemeral[32] | 44 encrypted empty payload[16] | 60 mac1[16] |
 *     76 mac2[16]
 *   cookie reply, 64 bytes (lib/cookie.h)
 *     0 type=3 | 1 reserved[3] | 4 receiver_index | 8 nonce[24] |
 *     32 encrypted cookie[16+16]
 *   transport, 32..65535 bytes
 *     0 type=4 | 1 reserved[3] | 4 receiver_index | 8 counter (64 bits) |
 *     16 ChaCha20-Poly1305 ciphertext of the packet, tag[16] last
 *     The 16-byte header is the AEAD associated data; the AEAD nonce is
 *     4 zero bytes then the counter little-endian (Noise spec section 13.1,
 *     done by lib/noise.c).  An empty packet is a keepalive.
 *
 * mac1 and mac2 are WireGuard's (paper sections 5.4.4 and 5.4.7; lib/cookie.h):
 * session_receive() checks mac1 of every handshake message before any
 * Diffie-Hellman work, and refuses an initiation whose ephemeral key it has
 * already seen (an exact replay) before any either.  mac2, the cookie reply
 * and the rate limit per source address are the caller's, who knows the
 * source and the load (daemon/interface.c; doc/design.md section 3 "DoS").
 *
 * Return convention: 0 or -errno, never both kinds in one function.  The
 * caller must have called sodium_init().  Not thread-safe: one session is
 * used by one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise.h"

/* Message types (byte 0), as WireGuard numbers them. */
#define SESSION_TYPE_INITIATION   1
#define SESSION_TYPE_RESPONSE     2
#define SESSION_TYPE_COOKIE_REPLY 3
#define SESSION_TYPE_TRANSPORT    4
/* culvert's extension: a transport message whose plaintext is a virtio-net
 * header and a packet (lib/vnet.h; doc/PROTOCOL.md "Offload frames").
 * Empty, it tells the peer that we take such messages. */
#define SESSION_TYPE_TRANSPORT_OFFLOAD 5

/* Message sizes in bytes. */
#define SESSION_MAC1_LEN             16
#define SESSION_INITIATION_LEN       148
#define SESSION_RESPONSE_LEN         92
#define SESSION_COOKIE_REPLY_LEN     64
#define SESSION_TRANSPORT_HEADER_LEN 16
/* Bytes a transport message adds to a packet: header and AEAD tag. */
#define SESSION_TRANSPORT_OVERHEAD (SESSION_TRANSPORT_HEADER_LEN + NOISE_TAG_LEN)
/* Longest message: it must fit the 2-byte TCP framing. */
#define SESSION_MAX_MESSAGE_LEN 65535
/* Longest packet one transport message carries (65503 bytes). */
#define SESSION_MAX_PACKET_LEN (SESSION_MAX_MESSAGE_LEN - SESSION_TRANSPORT_OVERHEAD)
/* Longest message session_initiate() or session_receive() writes for the peer. */
#define SESSION_HANDSHAKE_MAX_LEN SESSION_INITIATION_LEN

/* Noise prologue (spec section 6), both sides; no NUL. */
#define SESSION_PROLOGUE "culvert v1"

/*
 * Timers in milliseconds, WireGuard's values (paper section 6.1).  The
 * first four can be overridden in struct session_config (for tests).
 */
/* The side that initiated the current keypair starts a new handshake once
 * the keypair is this old (paper section 6.3). */
#define SESSION_REKEY_AFTER_TIME_MS 120000
/* Keypairs this old are neither used nor accepted, and are erased. */
#define SESSION_REJECT_AFTER_TIME_MS 180000
/* An unanswered initiation is retried after this plus a random jitter
 * (paper section 6.4). */
#define SESSION_REKEY_TIMEOUT_MS 5000
/* Handshake retries give up this long after the first attempt, until there
 * is traffic to send again (paper section 6.4: 90 s). */
#define SESSION_REKEY_ATTEMPT_TIME_MS 90000
/* WireGuard's Keepalive-Timeout (paper section 6.5): a side that received
 * data and sent nothing for this long sends a keepalive; a side that sent
 * data and heard nothing for this plus the rekey timeout (15 s) starts a
 * new handshake, so a peer that lost its keys (a restart) is found. */
#define SESSION_KEEPALIVE_TIMEOUT_MS 10000
/* Retry jitter is uniform in 0 .. SESSION_REKEY_JITTER_MS - 1 ms. */
#define SESSION_REKEY_JITTER_MS 334
/* The side that did NOT initiate the current keypair starts a handshake
 * only this much later than the initiator would, so both rarely cross. */
#define SESSION_RESPONDER_REKEY_DELAY_MS 10000
/*
 * Rekey after this many messages sent under one keypair.  lib/noise.h
 * refuses counters >= NOISE_REJECT_AFTER_MESSAGES (2^60), so the rekey
 * starts 2^32 messages earlier, leaving the handshake time to finish
 * without dropping traffic (doc/noise.md, "Counter limit").
 */
#define SESSION_REKEY_AFTER_MESSAGES (NOISE_REJECT_AFTER_MESSAGES - (UINT64_C(1) << 32))

/* Ephemeral keys of initiations already processed that are remembered, so a
 * copy of one is refused before any Diffie-Hellman work (doc/design.md
 * section 3 "DoS").  A peer's whole series of retries (REKEY-ATTEMPT-TIME
 * 90 s / REKEY-TIMEOUT 5 s: 18 initiations) fits, and the session stays
 * within one page (4 KiB, checked in lib/session.c), which a hub pays per
 * peer. */
#define SESSION_SEEN_EPHEMERALS 32

struct session;
struct index_table;

/* Parameters of session_new(); every key is copied. */
struct session_config {
	/* This side's static X25519 private key, 32 bytes. */
	const uint8_t *local_private;
	/* The one peer's static X25519 public key, 32 bytes. */
	const uint8_t *peer_public;
	/* Pre-shared key, 32 bytes, or NULL for none (then 32 zero bytes:
	 * the pattern is always IKpsk2). */
	const uint8_t *psk;
	/* true: messages ride a reliable in-order stream (TCP), transport
	 * counters must be exactly the next one; false: datagrams (UDP), a
	 * replay window (lib/replay.h) takes reordering and loss. */
	bool stream;
	/* Timer overrides in milliseconds, 0 = the SESSION_*_MS default. */
	uint64_t rekey_after_ms;
	uint64_t reject_after_ms;
	uint64_t rekey_timeout_ms;
	uint64_t rekey_attempt_ms;
	/* Many peers on one interface (doc/design.md section 8): the
	 * interface's receiver-index table (lib/index_table.h), or NULL for
	 * a session alone.  With it, every local index this session makes
	 * is drawn distinct from all in the table and recorded there with
	 * @index_owner (not NULL; what a lookup of the index returns), and
	 * removed when its handshake or keypair is erased, session_free()
	 * included.  The table must outlive the session and hold
	 * SESSION_MAX_INDICES entries for each session using it. */
	struct index_table *indices;
	void *index_owner;
};

/* Local indices one session holds at most: the current, previous and next
 * keypairs and a pending initiation (WireGuard paper section 6.3). */
#define SESSION_MAX_INDICES 4

/* What session_receive() asks the caller to do with its output. */
enum session_action {
	SESSION_NONE = 0,
	/* @out holds a decrypted packet (at least 1 byte): deliver it. */
	SESSION_DELIVER,
	/* @out holds a handshake response: send it to the peer. */
	SESSION_REPLY,
	/* A response completed our handshake: a new keypair is current.  Send
	 * queued packets, or a keepalive (session_seal() of 0 bytes) if none,
	 * so the peer can start using it (paper section 6.5). */
	SESSION_ESTABLISHED,
	/* An authenticated empty transport message: refresh timers only. */
	SESSION_KEEPALIVE,
	/* @out holds the plaintext of a type 5 message: a virtio-net header
	 * and a packet (lib/vnet.h), at least 1 byte; check and deliver it. */
	SESSION_DELIVER_OFFLOAD,
	/* An authenticated empty type 5 message: a keepalive that also says
	 * the peer takes type 5 messages. */
	SESSION_OFFLOAD_OFFER,
	/* A cookie reply to our pending initiation: the peer is under load
	 * and wants mac2.  The cookie is kept; send a new initiation now
	 * (session_initiate() adds mac2).  At most once per initiation. */
	SESSION_COOKIE,
};

/* Counters; every rejection reason of session_receive() has its own. */
struct session_stats {
	uint64_t initiations_sent;
	uint64_t responses_sent;
	uint64_t packets_sealed; /* keepalives included */
	uint64_t keepalives_sealed;
	uint64_t seal_no_key;         /* session_seal() returned -ENOKEY */
	uint64_t packets_delivered;   /* SESSION_DELIVER */
	uint64_t keepalives_received; /* SESSION_KEEPALIVE */
	/* Handshake messages that passed mac1 and the replay check and so
	 * reached Diffie-Hellman: what an attacker can make us spend. */
	uint64_t handshake_dh;
	uint64_t cookies_received; /* SESSION_COOKIE */
	/* A keypair became current: a response arrived (initiator), or the
	 * first transport message under "next" (responder). */
	uint64_t handshakes_completed;
	uint64_t rekeys;            /* ...of them, replacing a usable keypair */
	uint64_t handshake_giveups; /* SESSION_REKEY_ATTEMPT_TIME_MS elapsed */
	/* Rejections. */
	uint64_t rx_malformed;           /* -EPROTO: type, length, reserved */
	uint64_t rx_bad_mac1;            /* -EBADMSG before any DH */
	uint64_t rx_bad_cookie;          /* -EBADMSG: a cookie reply that does not open */
	uint64_t rx_bad_handshake;       /* -EBADMSG: Noise authentication */
	uint64_t rx_unknown_peer;        /* -EACCES */
	uint64_t rx_replayed_initiation; /* -ETIME: seen ephemeral or old timestamp */
	uint64_t rx_unknown_index;       /* -ENOKEY */
	uint64_t rx_expired;             /* -EKEYEXPIRED */
	uint64_t rx_bad_tag;             /* -EBADMSG: transport tag or counter */
	uint64_t rx_replayed;            /* -EALREADY (datagram mode) */
	uint64_t rx_stale;               /* -ESTALE (datagram mode) */
	uint64_t rx_out_of_order;        /* -EPROTO (stream mode) */
	uint64_t rx_wrong_transport;     /* -EPROTOTYPE */
};

/*
 * Creates a session with no keypair.  Copies the keys into sodium_malloc'd
 * memory (the caller may wipe its copies at once) and precomputes the mac1
 * keys.  On success *@out owns the session; free it with session_free().
 * Returns 0, -EINVAL when a required key is missing, the local private key
 * is all zeros, the peer's public key equals ours or gives an all-zero
 * X25519 result (Noise spec section 12.1) or an index table comes without
 * an owner, or -ENOMEM.
 */
int session_new(struct session **out, const struct session_config *cfg);

/* Erases every key, keypair and handshake and frees @s.  NULL is a no-op. */
void session_free(struct session *s);

/*
 * Erases every keypair and any pending handshake, as when a TCP connection
 * is replaced: the counters of a new stream start again with a new
 * handshake.  Keeps the configuration, the statistics, the ephemeral keys
 * seen and the last accepted initiation timestamp (so old initiations stay
 * refused).
 */
void session_reset(struct session *s);

/*
 * Starts a new stream (a TCP connection that took over from another after
 * completing a handshake on it): erases every keypair but "next" (the one
 * the initiation on the new stream just made) and any pending initiation
 * of ours, since counters over a stream must run without gaps.  Keeps what
 * session_reset() keeps.
 */
void session_new_stream(struct session *s);

/*
 * Builds a handshake initiation (WireGuard paper section 5.4.2; Noise spec
 * sections 5.3, 7.5 and 9: message 1 of IKpsk2 with the TAI64N time as
 * payload) into @out (@out_size bytes, at least SESSION_INITIATION_LEN) and
 * its size, SESSION_INITIATION_LEN, into *@out_len.  Any previous pending
 * initiation is forgotten (a late response to it gets -ENOKEY): each retry
 * is a fresh handshake with a new ephemeral key and a new random sender
 * index.  The first call after a completed handshake or a give-up starts
 * a new series of attempts (SESSION_REKEY_ATTEMPT_TIME_MS).  mac1 and mac2
 * are added (lib/cookie.h: mac2 from the peer's latest cookie, if fresh,
 * else zeros).  The timestamp is strictly greater than any this session
 * sent before, even within one tai64n_now() granule.  Returns 0, -EMSGSIZE
 * (@out too small), -ENOMEM, -ENOSPC (the index table is full), or -errno
 * from clock_gettime(2); on error nothing changed.
 */
int session_initiate(struct session *s, uint64_t now_ms, uint8_t *out, size_t out_size,
		     size_t *out_len);

/*
 * Processes one received message @in (@in_len bytes: one datagram, or one
 * frame's payload over TCP).  Checks, in this order and so that the cheap
 * ones protect the costly ones: type, reserved bytes and exact length;
 * then mac1 for handshake messages, then for an initiation that its
 * ephemeral key is not one of the last SESSION_SEEN_EPHEMERALS processed,
 * for a response or cookie reply that it answers our pending initiation,
 * then Noise (WireGuard paper sections 5.3, 5.4; doc/design.md "DoS").
 * mac2 is not checked here (lib/cookie.h: the caller does it under load).
 *
 * On success returns 0 and sets *@action (see enum session_action) and
 * *@out_len: the packet's length for SESSION_DELIVER (@out_size must be at
 * least @in_len - SESSION_TRANSPORT_OVERHEAD), SESSION_RESPONSE_LEN for
 * SESSION_REPLY (@out_size at least that), 0 otherwise.  @out may be
 * exactly @in + SESSION_TRANSPORT_HEADER_LEN (decrypt in place); no other
 * overlap is allowed.
 *
 * Errors (*@action is SESSION_NONE, nothing is delivered, every one is
 * counted in struct session_stats; per-packet errors, never fatal except
 * -EPROTO in stream mode, which means the stream is corrupt):
 *   -EPROTO      unknown type, nonzero reserved byte, wrong length; in
 *                stream mode also a transport counter that is not exactly
 *                the next one for its keypair: close the connection;
 *   -EBADMSG     bad mac1, a handshake message failing Noise
 *                authentication (a wrong PSK shows here, at the
 *                initiator), a cookie reply that does not open, a
 *                transport tag that does not verify (header, counter,
 *                ciphertext or tag altered), a counter >= 2^60;
 *   -EACCES      an initiation from a static key other than the peer's;
 *   -ETIME       an initiation whose ephemeral key was seen before, or
 *                whose timestamp is not newer than the last one accepted
 *                from the peer (a replay, paper section 5.1);
 *   -ENOKEY      a response or cookie reply to no pending initiation (or
 *                a second cookie reply to one), or a transport message
 *                for no known keypair;
 *   -EKEYEXPIRED a transport message for a keypair older than
 *                reject_after_ms (the keypair is erased now);
 *   -EPROTOTYPE  a transport message that arrived over the other
 *                transport than its keypair's handshake (see
 *                session_receive_on()); never decrypted;
 *   -EALREADY    datagram mode: a counter already received (RFC 6479);
 *   -ESTALE      datagram mode: a counter older than the replay window;
 *   -EMSGSIZE    @out_size too small (a caller bug; not counted);
 *   -ENOMEM      sodium_malloc() failed;
 *   -ENOSPC      the index table is full (an initiation not answered; a
 *                table sized as session_config says never is).
 *
 * Keypair rotation follows the paper (section 6.3 and the kernel's
 * add_new_keypair()): a response makes the new keypair current at once;
 * an initiation we answer makes it "next", which becomes current (the old
 * current becoming "previous") on the first transport message under it.
 * "previous" keeps decrypting until it is reject_after_ms old, so nothing
 * in flight is lost across a rekey.
 */
int session_receive(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len,
		    uint8_t *out, size_t out_size, size_t *out_len, enum session_action *action);

/*
 * As session_receive(), for a session whose messages may arrive over either
 * transport (a listener with Transports = udp, tcp; a Transport = auto
 * client): @stream tells how this one arrived (true: a TCP frame's
 * payload, false: a UDP datagram) instead of session_config's stream.  A
 * keypair takes the mode of the handshake message that made it (the
 * initiation we answer, or the response to ours), so its transport
 * messages must arrive the same way: counters without gaps over a stream,
 * the replay window over datagrams.  One that arrives the other way is
 * refused before decryption with -EPROTOTYPE (rx_wrong_transport): a
 * message copied from one transport into the other can neither be
 * decrypted twice, nor move the peer, nor break its stream
 * (doc/design.md section 8).
 */
int session_receive_on(struct session *s, bool stream, uint64_t now_ms, const uint8_t *in,
		       size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
		       enum session_action *action);

/* True when the current keypair (the one session_seal() uses) was made by
 * a handshake that arrived over a stream (session_receive_on()); false
 * when it came over datagrams or there is none. */
bool session_current_stream(const struct session *s);

/*
 * Seals one packet @in (@in_len bytes, 0..SESSION_MAX_PACKET_LEN; 0 is a
 * keepalive; @in may be NULL then) as a transport message (WireGuard paper
 * section 5.4.6) under the current keypair with its next counter, into
 * @out (@out_size bytes, at least @in_len + SESSION_TRANSPORT_OVERHEAD),
 * its size into *@out_len.  @in may be exactly @out +
 * SESSION_TRANSPORT_HEADER_LEN (encrypt in place, with headroom); no other
 * overlap is allowed.  Returns 0, -EMSGSIZE, or -ENOKEY when there is no
 * usable keypair (none yet, the responder still awaits confirmation, or
 * the current one is too old or used up): the caller drops the packet and
 * starts a handshake if session_wants_handshake() says so.
 */
int session_seal(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len, uint8_t *out,
		 size_t out_size, size_t *out_len);

/*
 * As session_seal(), but as a type 5 message (SESSION_TYPE_TRANSPORT_OFFLOAD):
 * @in is a virtio-net header and a packet, or empty (the offer).  Only for
 * a peer that sent an offer under the current session.  Same counters,
 * keys and errors as session_seal().
 */
int session_seal_offload(struct session *s, uint64_t now_ms, const uint8_t *in, size_t in_len,
			 uint8_t *out, size_t out_size, size_t *out_len);

/*
 * Tells whether the caller should call session_initiate() now (WireGuard
 * paper sections 6.2-6.4): an unanswered initiation is due for a retry
 * (rekey_timeout_ms plus jitter after the last one, for at most
 * rekey_attempt_ms); or, outside rekey_timeout_ms of our last handshake
 * message: the current keypair is due for rekeying (rekey_after_ms old if
 * we initiated it, SESSION_RESPONDER_REKEY_DELAY_MS more if the peer did,
 * or SESSION_REKEY_AFTER_MESSAGES sent) and the peer did not already start
 * a newer one; or there is no usable keypair and session_seal() refused a
 * packet (after a give-up: since the give-up); or we sealed data and
 * nothing authenticated came back for SESSION_KEEPALIVE_TIMEOUT_MS +
 * rekey_timeout_ms (paper section 6.5: the peer may have lost its keys).
 * Idle sessions rekey too, so a configured tunnel stays up (WireGuard
 * instead lets an idle session lapse).
 */
bool session_wants_handshake(const struct session *s, uint64_t now_ms);

/*
 * Tells whether the caller should send a keepalive (session_seal() of 0
 * bytes) now: data arrived SESSION_KEEPALIVE_TIMEOUT_MS ago or more and
 * nothing was sent since (WireGuard's passive keepalive, paper section
 * 6.5), so the peer knows the session works both ways.
 */
bool session_wants_keepalive(const struct session *s, uint64_t now_ms);

/*
 * Returns the earliest absolute time (ms) at which the session's state
 * changes on its own: a retry or give-up, a rekey becoming due, a keypair
 * expiring, a passive keepalive or an unanswered-data handshake due.  At that time, call
 * session_expire() and session_wants_handshake().  A value <= @now_ms means "now"; UINT64_MAX means
 * nothing is scheduled.
 */
uint64_t session_next_deadline(const struct session *s, uint64_t now_ms);

/*
 * Erases keypairs reject_after_ms old or older (sodium_memzero() wipes
 * them) and abandons an initiation series older than rekey_attempt_ms
 * (counted in handshake_giveups).  session_seal() and session_receive()
 * also do this themselves; calling it at the deadline keeps keys from
 * lingering in memory while the tunnel is idle.
 */
void session_expire(struct session *s, uint64_t now_ms);

/* True when session_seal() can seal now: a current keypair younger than
 * reject_after_ms. */
bool session_is_up(const struct session *s, uint64_t now_ms);

/* Time (ms, the caller's clock) a keypair last became current, 0 if never. */
uint64_t session_last_handshake_ms(const struct session *s);

/* The peer's static public key, NOISE_PUBLIC_KEY_LEN (32) bytes as given
 * to session_new() (the session's copy); valid while @s lives. */
const uint8_t *session_peer_public_key(const struct session *s);

/* Copies the counters into *@out. */
void session_get_stats(const struct session *s, struct session_stats *out);

/*
 * Many peers on one interface (doc/design.md section 8): which session a
 * received message is for.
 */

/*
 * Reads the receiver index of the message @in (@in_len bytes): the
 * response's (bytes 8..11), the cookie reply's or the transport message's
 * (bytes 4..7), big-endian on the wire, into *@index in host byte order.
 * Checks only the type, the reserved bytes and a length of at least
 * SESSION_TRANSPORT_HEADER_LEN (session_receive() checks the rest).
 * Returns 1 with *@index set, 0 for an initiation (it names no receiver:
 * session_identify() tells whose it is), -EPROTO for a malformed header or
 * an unknown type.
 */
int session_message_receiver(const uint8_t *in, size_t in_len, uint32_t *index);

/* Ephemeral keys of the latest initiations session_identify() remembers,
 * so an exact replay is refused before any Diffie-Hellman work. */
#define SESSION_RESPONDER_SEEN 256

/* session_identify()'s counters; every rejection has its own. */
struct session_responder_stats {
	uint64_t handshake_dh;           /* initiations that reached Diffie-Hellman */
	uint64_t rx_malformed;           /* -EPROTO */
	uint64_t rx_bad_mac1;            /* -EBADMSG before any DH */
	uint64_t rx_bad_handshake;       /* -EBADMSG: Noise authentication */
	uint64_t rx_replayed_initiation; /* -ETIME: ephemeral key seen */
};

/* The interface's side of identification: its static key and mac1 key. */
struct session_responder;

/*
 * Creates a responder for the interface whose static X25519 private key is
 * @local_private (32 bytes, copied into sodium_malloc'd memory).  On
 * success *@out owns it; free it with session_responder_free().  Returns
 * 0, -EINVAL for a missing or all-zero key, or -ENOMEM.
 */
int session_responder_new(struct session_responder **out, const uint8_t *local_private);

/* Erases the key and frees @r.  NULL is a no-op. */
void session_responder_free(struct session_responder *r);

/*
 * Tells whose initiation @in is (@in_len bytes): checks the type, the
 * reserved bytes and the exact length, then mac1 (WireGuard paper section
 * 5.4.4), then that its ephemeral key is not one of the last
 * SESSION_RESPONDER_SEEN, and only then reads Noise message 1 of IKpsk2
 * (Noise spec section 7.5: "e, es, s, ss"; the PSK enters only in message
 * 2), which authenticates the initiator's static key and writes it to
 * @peer_public (32 bytes).  The caller then hands @in to that peer's
 * session_receive(), which checks the timestamp against the peer's last
 * one and answers; a key no peer has is dropped and counted by the
 * caller.  mac2 and the rate limit are the caller's, before this call.
 * Returns 0, -EPROTO (malformed), -EBADMSG (bad mac1, or Noise
 * authentication failed), -ETIME (a replayed ephemeral key), or -ENOMEM;
 * each counted in session_responder_get_stats() but -ENOMEM.
 */
int session_identify(struct session_responder *r, const uint8_t *in, size_t in_len,
		     uint8_t *peer_public);

/* Copies @r's counters into *@out. */
void session_responder_get_stats(const struct session_responder *r,
				 struct session_responder_stats *out);
