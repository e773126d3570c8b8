/* SPDX-License-Identifier: MIT */
/*
 * The status document of one tunnel: what culvertd serves on its status
 * socket (daemon/control.h) and what `culvertctl show` prints, as a plain
 * struct, as JSON (json-c) and as wg-show-style text.
 *
 * The JSON form is one object (STATUS_VERSION 2):
 *
 *   {
 *     "version": 2,                    integer, must be STATUS_VERSION
 *     "device": "tun0",                string, 1..15 bytes (IFNAMSIZ - 1)
 *     "netns": "blue",                 optional string: the network
 *                                      namespace the device is in, 1..63
 *                                      bytes, no '/': a name, or
 *                                      "net:[INODE]" for an unnamed one
 *     "underlay_netns": "red",         optional string, as "netns": the
 *                                      namespace of the sockets, present
 *                                      only when not the device's
 *     "mode": "tun",                   "tun" or "tap"
 *     "transport": "udp",              "tcp" or "udp"
 *     "sealed": true,                  boolean
 *     "listen": true,                  boolean: passive side (--listen)
 *     "public_key": "j7D8...=",        string, "" when plain
 *     "local": "[::]:55555",           string, 1..63 bytes
 *     "state": "established",          string, [a-z0-9-]{1,15}
 *     "pid": 1234,                     integer, 1..INT32_MAX
 *     "uptime": 3723,                  seconds, unsigned
 *     "latest_handshake": 12,          seconds ago, -1 = never
 *     "rx_bytes": 0, "rx_packets": 0,  unsigned: the interface's totals
 *     "tx_bytes": 0, "tx_packets": 0,  unsigned
 *     "drops": { "bad_frame": 0, ... },      name -> unsigned, in order
 *     "counters": { "reconnects": 0, ... },  name -> unsigned, in order
 *     "peers": [                       array, at most STATUS_PEERS_MAX
 *       {
 *         "name": "branch-1",          string, 0..63 bytes, "" when none
 *         "public_key": "xTIB...=",    string: 1..63 bytes when the
 *                                      interface is sealed, "" when plain;
 *                                      no two peers share one
 *         "endpoint": "198.18.0.2:47758",  string, 0..63 bytes, "" = none
 *         "transport": "udp",          "tcp" or "udp"
 *         "state": "established",      string, [a-z0-9-]{1,15}
 *         "addresses": ["198.18.1.0/24", ...],  TUN: allowed IPs as
 *                                      ADDR/LEN; TAP: learned MACs as
 *                                      xx:xx:xx:xx:xx:xx (lower case);
 *                                      at most STATUS_ADDRESSES_MAX
 *         "addresses_more": 0,         unsigned: how many more it has
 *         "latest_handshake": 12,      seconds ago, -1 = never
 *         "keepalive": 25,             seconds, 0 = off, 0..UINT32_MAX
 *         "rx_bytes": 0, "rx_packets": 0,  unsigned: from this peer
 *         "tx_bytes": 0, "tx_packets": 0,  unsigned: to this peer
 *         "drops": { ... },            as the interface's lists
 *         "counters": { ... }
 *       }, ...
 *     ]
 *   }
 *
 * Every field is required; unknown fields are ignored, so a newer daemon
 * may add some.  "unsigned" is an integer from 0 to 2^64 - 2: json-c turns
 * any larger integer into 2^64 - 1 without a word, so that value is refused
 * as out of range.  Strings hold no control characters (C0, DEL, C1), so
 * printing them cannot drive a terminal.  The counter lists are generic
 * (names of [a-z0-9_]{1,31}, at most STATUS_COUNTERS_MAX each): a new
 * counter needs no schema change.  Non-empty peer names are unique too.
 *
 * Version 1 had the one peer's endpoint as a top-level "peer" string and
 * no "peers"; culvertd and culvertctl come from one build, so version 2
 * reads only version 2 (issue 13, doc/design.md section 8).
 *
 * Ownership: a struct status owns its peer array (heap, grown by
 * status_add_peer()); every status that status_init() set up must be
 * released with status_cleanup().  Copying a struct status copies the
 * pointer, not the peers: only the original may be cleaned up.
 *
 * Return convention: 0 or -errno.  Nothing here keeps a pointer to its
 * arguments, and only status_print() writes anywhere: to the FILE it is
 * given, which is its job.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The "version" this code writes and the only one it reads. */
#define STATUS_VERSION 2

/* Field sizes in bytes, NUL included. */
#define STATUS_DEVICE_SIZE       16 /* IFNAMSIZ */
#define STATUS_WORD_SIZE         16 /* mode, transport, state */
#define STATUS_ENDPOINT_SIZE     64 /* "[v6%scope]:port" fits */
#define STATUS_KEY_SIZE          64 /* base64 of 32 bytes is 44 characters */
#define STATUS_COUNTER_NAME_SIZE 32
#define STATUS_NETNS_SIZE        64 /* a named network namespace */
#define STATUS_NAME_SIZE         64 /* a peer's name */
#define STATUS_ADDRESS_SIZE      50 /* "ADDR/LEN": INET6_ADDRSTRLEN + "/128" */
/* Entries in each of the two counter lists, at most. */
#define STATUS_COUNTERS_MAX 64
/* Addresses listed per peer, at most; the rest are only counted. */
#define STATUS_ADDRESSES_MAX 16
/*
 * Peers of one interface, at most.  A hub of a thousand sites or road
 * warriors fits; so does the worst-case document below in a few MiB, which
 * culvertctl reads in one piece.  A daemon with more peers than this lists
 * the first STATUS_PEERS_MAX; the interface totals count them all.
 */
#define STATUS_PEERS_MAX 1024
/*
 * A JSON document longer than this is refused without being parsed.  The
 * compact rendering of the largest document status_check() accepts fits
 * (test_status's test_json_max builds it): the interface part is below
 * 9 KiB (two lists of 64 entries of at most 56 bytes each, 31-byte names
 * and 20-digit values, plus the fields) and each peer below 9 KiB (its two
 * lists, 16 addresses of at most 52 bytes, three 63-byte strings that
 * escaping may double, and the field names): 8.40 MiB in all for 1024
 * peers, under the bound of 64 KiB + 9 KiB per peer, 9.06 MiB.  A typical
 * peer takes under 1 KiB.
 */
#define STATUS_JSON_PEER_MAX (9 * 1024)
#define STATUS_JSON_MAX      (64 * 1024 + STATUS_PEERS_MAX * STATUS_JSON_PEER_MAX)

/* Values of "mode", "transport" and "state". */
#define STATUS_MODE_TUN      "tun"
#define STATUS_MODE_TAP      "tap"
#define STATUS_TRANSPORT_TCP "tcp"
#define STATUS_TRANSPORT_UDP "udp"
/* An interface's only: a listener serving both (Transports = udp, tcp) or a
 * Transport = auto client; each peer gives the one it is on. */
#define STATUS_TRANSPORT_BOTH         "udp,tcp"
#define STATUS_STATE_LISTENING        "listening"   /* TCP server, no connection */
#define STATUS_STATE_CONNECTING       "connecting"  /* TCP client, not yet */
#define STATUS_STATE_CONNECTED        "connected"   /* plain TCP, connection up */
#define STATUS_STATE_HANDSHAKING      "handshaking" /* sealed, no session yet */
#define STATUS_STATE_ESTABLISHED      "established" /* sealed session, or plain UDP peer */
#define STATUS_STATE_NO_PEER          "no-peer"     /* UDP server, no peer heard yet */
#define STATUS_LATEST_HANDSHAKE_NEVER (-1)

/* One named counter, e.g. {"bad_frame", 3}. */
struct status_counter {
	char name[STATUS_COUNTER_NAME_SIZE];
	uint64_t value;
};

/*
 * One peer of the interface, as `wg show` prints a peer.  Self-contained
 * (no pointers), about 6 KiB.  Fill the lists with status_peer_add_*().
 */
struct status_peer {
	char name[STATUS_NAME_SIZE];         /* "" when it has none */
	char public_key[STATUS_KEY_SIZE];    /* base64, sealed only; "" plain */
	char endpoint[STATUS_ENDPOINT_SIZE]; /* its underlay address, "" none */
	char transport[STATUS_WORD_SIZE];    /* STATUS_TRANSPORT_* */
	char state[STATUS_WORD_SIZE];        /* STATUS_STATE_* */
	/* TUN: allowed IPs ("198.18.1.0/24"); TAP: learned MACs. */
	char addresses[STATUS_ADDRESSES_MAX][STATUS_ADDRESS_SIZE];
	size_t n_addresses;
	uint64_t addresses_more;                          /* not listed, beyond the bound */
	int64_t latest_handshake;                         /* seconds ago, or -1 never */
	uint32_t keepalive;                               /* seconds, 0 = off */
	uint64_t rx_bytes, rx_packets;                    /* from this peer to the device */
	uint64_t tx_bytes, tx_packets;                    /* from the device to this peer */
	struct status_counter drops[STATUS_COUNTERS_MAX]; /* by reason */
	size_t n_drops;
	struct status_counter counters[STATUS_COUNTERS_MAX];
	size_t n_counters;
};

/*
 * Everything `culvertctl show` prints about one tunnel (an interface and
 * its peers).  The interface part is self-contained; the peers are a heap
 * array the struct owns (see "Ownership" above): status_init() first,
 * status_cleanup() last.  Fill the lists with status_add_drop()/
 * status_add_counter(), the peers with status_add_peer().
 */
struct status {
	char device[STATUS_DEVICE_SIZE];
	/* The network namespace the device is in: its name, "net:[INODE]"
	 * for an unnamed one other than the sockets', "" for the initial one
	 * (or an unnamed one the sockets share).  Optional in JSON ("netns"). */
	char netns[STATUS_NETNS_SIZE];
	/* The namespace of the underlay sockets, the same way, when it is
	 * not the device's (DeviceNetns, --dev-fd); "" otherwise.  Optional
	 * in JSON ("underlay_netns"). */
	char underlay_netns[STATUS_NETNS_SIZE];
	char mode[STATUS_WORD_SIZE];      /* STATUS_MODE_* */
	char transport[STATUS_WORD_SIZE]; /* STATUS_TRANSPORT_* */
	bool sealed;
	bool listen;                      /* passive side: "listening on" rather than "local" */
	char public_key[STATUS_KEY_SIZE]; /* ours, base64; "" when plain */
	char local[STATUS_ENDPOINT_SIZE]; /* our socket's address */
	char state[STATUS_WORD_SIZE];     /* STATUS_STATE_* */
	int32_t pid;                      /* culvertd's process */
	uint64_t uptime;                  /* seconds since culvertd started */
	int64_t latest_handshake;         /* seconds ago, or -1 never */
	uint64_t rx_bytes, rx_packets;    /* from all peers to the device */
	uint64_t tx_bytes, tx_packets;    /* from the device to all peers */
	struct status_counter drops[STATUS_COUNTERS_MAX]; /* by reason */
	size_t n_drops;
	/* reconnects, connections, bad_connections; sealed: handshakes,
	 * rekeys and every rejection reason. */
	struct status_counter counters[STATUS_COUNTERS_MAX];
	size_t n_counters;
	struct status_peer *peers; /* n_peers of them, owned; NULL when none */
	size_t n_peers;
	size_t peers_cap; /* entries allocated at peers */
};

/* Zeroes *@st: empty strings and lists, latest_handshake -1 (never), no
 * peers.  Overwrites without freeing: @st must hold no peers. */
void status_init(struct status *st);

/* Frees @st's peers and sets it up again as status_init() does.  Safe to
 * call twice. */
void status_cleanup(struct status *st);

/*
 * Appends a peer to @st (the array grows by doubling, up to
 * STATUS_PEERS_MAX entries, about 6 KiB each) and points *@peer at it:
 * empty strings and lists, latest_handshake -1, transport and state "".
 * *@peer stays valid until the next status_add_peer() or status_cleanup().
 * Returns 0, -ENOSPC when @st holds STATUS_PEERS_MAX peers, or -ENOMEM;
 * on error @st is unchanged and *@peer NULL.
 */
int status_add_peer(struct status *st, struct status_peer **peer);

/* As status_add_drop()/status_add_counter(), for one peer's lists. */
int status_peer_add_drop(struct status_peer *p, const char *name, uint64_t value);
int status_peer_add_counter(struct status_peer *p, const char *name, uint64_t value);

/*
 * Lists @address (an allowed IP as "ADDR/LEN", or a learned MAC as
 * "xx:xx:xx:xx:xx:xx"; status_check() checks the form against the mode)
 * under @p, or counts it in addresses_more once STATUS_ADDRESSES_MAX are
 * listed.  Returns 0 (listed or counted), or -EINVAL when @address does
 * not fit STATUS_ADDRESS_SIZE (@p unchanged).
 */
int status_peer_add_address(struct status_peer *p, const char *address);

/*
 * Appends {@name, @value} to @st's drops or counters.  @name must match
 * [a-z0-9_]{1,31}.  Returns 0, -EINVAL for a bad name or a value of
 * UINT64_MAX, -EEXIST when the list has @name already, -ENOSPC when it
 * holds STATUS_COUNTERS_MAX entries; on error @st is unchanged.
 */
int status_add_drop(struct status *st, const char *name, uint64_t value);
int status_add_counter(struct status *st, const char *name, uint64_t value);

/*
 * Checks @st against the rules of the JSON form above (what
 * status_from_json() would accept), its peers included.  Returns 0 or
 * -EINVAL, with a one-line reason naming the field (and the peer's index)
 * in @err (@errlen bytes, NUL-terminated,
 * truncated if needed; @err may be NULL).
 */
int status_check(const struct status *st, char *err, size_t errlen);

/*
 * Renders @st as a JSON object (pretty: indented over several lines, else
 * one line; no trailing newline) into *@out, a malloc'd NUL-terminated
 * string the caller frees with free(3).  Returns 0, -EINVAL when
 * status_check() refuses @st, or -ENOMEM; *@out is NULL on error.
 */
int status_to_json(const struct status *st, char **out, bool pretty);

/*
 * As status_to_json(), for @n documents (@sts, @n may be 0) in one JSON
 * array, as `culvertctl show --json` prints several tunnels.
 */
int status_array_to_json(const struct status *sts, size_t n, char **out, bool pretty);

/*
 * Parses one JSON status document, @len bytes at @text (no NUL needed;
 * one is not allowed inside), into *@out.  Strict, because the text comes
 * from a socket: the whole input must be exactly one JSON object (trailing
 * whitespace allowed) with every field of the right type and range, as
 * described at the top of this file; nesting deeper than the schema is
 * refused by the parser.  Never reads past @len and never crashes, whatever
 * the input.  Returns 0, -EMSGSIZE when @len > STATUS_JSON_MAX, -EINVAL for
 * anything malformed, -EPROTONOSUPPORT for another "version", or -ENOMEM.
 * *@out is overwritten without being freed (it must hold no peers); on
 * success the caller releases it with status_cleanup(), on error it holds
 * no peers (status_cleanup() is harmless) and a one-line reason is
 * written to @err (@errlen bytes, NUL-terminated,
 * truncated if needed; @err may be NULL).
 */
int status_from_json(const char *text, size_t len, struct status *out, char *err, size_t errlen);

/*
 * Prints @st to @f the way `wg show` prints an interface: an
 * "interface: NAME" line, then one indented "key: value" line each; then
 * per peer a blank line, "peer: ID" (its public key when sealed; else its
 * name, else its endpoint, else "(unknown)") and its indented lines.  Sizes
 * in B/KiB/MiB/GiB/TiB with two decimals, durations as "1 hour, 2 minutes,
 * 3 seconds".  Lines listing counters are wrapped below 100 columns.
 * Returns 0, or -EIO when @f reports a write error (ferror).
 */
int status_print(FILE *f, const struct status *st);

/*
 * Formats @bytes as status_print() does ("1023 B", "1.00 KiB"; a value that
 * would round to 1024.00 of a unit is shown in the next one) into @buf
 * (@size bytes, truncated if needed).  Returns @buf.
 */
const char *status_format_bytes(char *buf, size_t size, uint64_t bytes);

/*
 * Formats @seconds as status_print() does ("0 seconds", "1 day, 1 second")
 * into @buf (@size bytes, truncated if needed).  Returns @buf.
 */
const char *status_format_duration(char *buf, size_t size, uint64_t seconds);
