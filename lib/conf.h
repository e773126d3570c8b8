/* SPDX-License-Identifier: MIT */
/*
 * The culvertd configuration file: an INI file in the style of wg-quick(8)'s
 * (WireGuard) configuration, read with libinih, with one [Interface] section
 * and any number of [Peer] sections (at most CONF_PEERS_MAX):
 *
 *   [Interface]
 *   Device = tun0               required; 1..15 characters
 *   Mode = tun | tap            default tun
 *   MTU = 1400                  68..65517; default: the route's less the overhead
 *   PrivateKeyFile = /path      sealed mode (with [Peer] PublicKey)
 *   Listen = [ADDR]:PORT | :PORT
 *   AllowFrom = PREFIX, ...     with Listen: only these sources may connect
 *                               or send (repeatable; CONF_ALLOW_FROM_MAX)
 *   User = culvert              drop to this user after set-up
 *   Group = culvert             (needs User)
 *   LogLevel = warn | info | debug | trace    default info
 *   Offload = yes | no          default yes
 *   Seccomp = yes | no          default yes
 *   MetricsListen = ADDR:PORT   Prometheus metrics over HTTP (default off)
 *   ClampMSS = yes | no         default no (lower TCP SYNs' MSS to fit)
 *   Transports = udp, tcp       with Listen: what it serves (one or both);
 *                               default: what its peers' Transport say
 *   PeerToPeer = yes | no       forward between peers (default yes)
 *   Hub = yes | no              plain, with Listen: every connection is a
 *                               peer of its own (default no)
 *
 *   [Peer]                      (repeatable: one section per peer)
 *   Name = site-a               optional, [A-Za-z0-9._-]{1,32}, unique
 *   PublicKey = <base64>        sealed mode: every peer's, each unique
 *   PresharedKeyFile = /path    sealed mode only
 *   Endpoint = HOST:PORT | [IPV6]:PORT
 *   AllowedIPs = PREFIX, ...    Mode = tun: the inner addresses routed to
 *                               this peer, IPv4 and IPv6 (repeatable;
 *                               CONF_ALLOWED_IPS_MAX, CONF_ALLOWED_IPS_TOTAL)
 *   Transport = tcp | udp | auto   default tcp; auto (needs Endpoint):
 *                               UDP first, then TCP
 *   Keepalive = 25              seconds, 0..3600, 0 = off (default)
 *   PlainKeepalive = yes | no   plain mode: allow Keepalive (default no)
 *   DeadPeerTimeout = 120       seconds, 0..86400, 0 = off (default)
 *
 * Several [Peer] sections make culvertd a hub (doc/design.md section 8,
 * "Many peers").  Without PrivateKeyFile every peer is plain; with it every
 * peer is sealed and needs its PublicKey.  The command line is a
 * configuration with at most one peer: conf_set() on a [Peer] key sets the
 * first peer's (making it when there is none).
 *
 * Section and key names are case-insensitive, as in WireGuard; so are the
 * words tun/tap, tcp/udp/auto, warn/info/debug/trace and yes/no.  A '#' or ';'
 * at the start of a line or after white space starts a comment that runs
 * to the end of the line ("/a#b" keeps its '#').  Lines may be indented and
 * end in LF or CRLF; a UTF-8 byte order mark at the start is skipped.
 *
 * The parser streams: it holds one line at a time (at most CONF_LINE_MAX
 * characters before any comment) and reads at most CONF_FILE_MAX bytes.
 * It never resolves names, opens the key files or looks up users: checking
 * a configuration does not touch the system.
 *
 * This module is named "conf", not "config", because the build generates
 * a config.h (the version and paths) that the daemon and tools include.
 *
 * All functions that can fail return 0 or -errno and never print.  Error
 * messages go to a caller's buffer (@err, @errlen bytes, always
 * NUL-terminated, truncated if needed; @err may be NULL), one line each:
 *   "FILE:LINE: ..."  a problem on a line of the file;
 *   "FILE: ..."       a problem with the whole file (a missing key), or with
 *                     a value that came from elsewhere (line 0).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "endpoint.h"
#include "inifile.h"
#include "key.h"
#include "tun.h"

/* Longest line accepted, in characters, not counting the line end and any
 * comment (lib/inifile.h). */
#define CONF_LINE_MAX INIFILE_LINE_MAX
/* Largest file read, in bytes; the rest is refused, not ignored. */
#define CONF_FILE_MAX (1024 * 1024)
/* Longest device name (IFNAMSIZ - 1). */
#define CONF_DEVICE_MAX 15
/* Value ranges, the same as culvertd's command-line options. */
#define CONF_MTU_MIN               68
#define CONF_MTU_MAX               (65535 - TUN_TAP_HDR_LEN)
#define CONF_KEEPALIVE_MAX         3600
#define CONF_DEAD_PEER_TIMEOUT_MAX 86400
/* Prefixes AllowFrom takes, in all its lines together. */
#define CONF_ALLOW_FROM_MAX 32
/* [Peer] sections in a file. */
#define CONF_PEERS_MAX 1024
/* Longest peer Name, in characters. */
#define CONF_NAME_MAX 32
/* AllowedIPs prefixes: in one [Peer] (all its lines together), and in all
 * the peers of a file together. */
#define CONF_ALLOWED_IPS_MAX   256
#define CONF_ALLOWED_IPS_TOTAL 65536

/* One bit of @set and one slot of @line per key: [Interface] keys in
 * struct conf's, [Peer] keys in each struct conf_peer's. */
enum conf_key {
	CONF_KEY_DEVICE,
	CONF_KEY_MODE,
	CONF_KEY_MTU,
	CONF_KEY_PRIVATE_KEY_FILE,
	CONF_KEY_LISTEN,
	CONF_KEY_USER,
	CONF_KEY_GROUP,
	CONF_KEY_LOG_LEVEL,
	CONF_KEY_PUBLIC_KEY,
	CONF_KEY_PRESHARED_KEY_FILE,
	CONF_KEY_ENDPOINT,
	CONF_KEY_TRANSPORT,
	CONF_KEY_KEEPALIVE,
	CONF_KEY_PLAIN_KEEPALIVE,
	CONF_KEY_DEAD_PEER_TIMEOUT,
	CONF_KEY_OFFLOAD,
	CONF_KEY_PLAIN_OFFLOAD,
	CONF_KEY_ALLOW_FROM,
	CONF_KEY_SECCOMP,
	CONF_KEY_METRICS_LISTEN,
	CONF_KEY_CLAMP_MSS,
	CONF_KEY_TRANSPORTS,
	CONF_KEY_PEER_TO_PEER,
	CONF_KEY_HUB,
	CONF_KEY_DEVICE_NETNS,
	CONF_KEY_NAME,
	CONF_KEY_ALLOWED_IPS,
	CONF_KEY_COUNT,
};

#define CONF_SET_DEVICE             (1u << CONF_KEY_DEVICE)
#define CONF_SET_MODE               (1u << CONF_KEY_MODE)
#define CONF_SET_MTU                (1u << CONF_KEY_MTU)
#define CONF_SET_PRIVATE_KEY_FILE   (1u << CONF_KEY_PRIVATE_KEY_FILE)
#define CONF_SET_LISTEN             (1u << CONF_KEY_LISTEN)
#define CONF_SET_USER               (1u << CONF_KEY_USER)
#define CONF_SET_GROUP              (1u << CONF_KEY_GROUP)
#define CONF_SET_LOG_LEVEL          (1u << CONF_KEY_LOG_LEVEL)
#define CONF_SET_PUBLIC_KEY         (1u << CONF_KEY_PUBLIC_KEY)
#define CONF_SET_PRESHARED_KEY_FILE (1u << CONF_KEY_PRESHARED_KEY_FILE)
#define CONF_SET_ENDPOINT           (1u << CONF_KEY_ENDPOINT)
#define CONF_SET_TRANSPORT          (1u << CONF_KEY_TRANSPORT)
#define CONF_SET_KEEPALIVE          (1u << CONF_KEY_KEEPALIVE)
#define CONF_SET_PLAIN_KEEPALIVE    (1u << CONF_KEY_PLAIN_KEEPALIVE)
#define CONF_SET_DEAD_PEER_TIMEOUT  (1u << CONF_KEY_DEAD_PEER_TIMEOUT)
#define CONF_SET_OFFLOAD            (1u << CONF_KEY_OFFLOAD)
#define CONF_SET_PLAIN_OFFLOAD      (1u << CONF_KEY_PLAIN_OFFLOAD)
#define CONF_SET_ALLOW_FROM         (1u << CONF_KEY_ALLOW_FROM)
#define CONF_SET_SECCOMP            (1u << CONF_KEY_SECCOMP)
#define CONF_SET_METRICS_LISTEN     (1u << CONF_KEY_METRICS_LISTEN)
#define CONF_SET_CLAMP_MSS          (1u << CONF_KEY_CLAMP_MSS)
#define CONF_SET_TRANSPORTS         (1u << CONF_KEY_TRANSPORTS)
#define CONF_SET_PEER_TO_PEER       (1u << CONF_KEY_PEER_TO_PEER)
#define CONF_SET_HUB                (1u << CONF_KEY_HUB)
#define CONF_SET_DEVICE_NETNS       (1u << CONF_KEY_DEVICE_NETNS)
#define CONF_SET_NAME               (1u << CONF_KEY_NAME)
#define CONF_SET_ALLOWED_IPS        (1u << CONF_KEY_ALLOWED_IPS)

enum conf_transport {
	CONF_TRANSPORT_TCP,
	CONF_TRANSPORT_UDP,
	CONF_TRANSPORT_AUTO, /* a peer's only: UDP, falling back to TCP */
};

/* The bits of struct conf's @transports. */
#define CONF_TRANSPORTS_TCP (1u << CONF_TRANSPORT_TCP)
#define CONF_TRANSPORTS_UDP (1u << CONF_TRANSPORT_UDP)

/* One AllowedIPs prefix and the line it was given on (0: not from a file). */
struct conf_allowed_ip {
	struct endpoint_prefix prefix;
	unsigned line;
};

/*
 * One [Peer].  The strings are NUL-terminated; the pointers are malloc'd,
 * owned by the struct conf holding the peer and freed by conf_cleanup()
 * (NULL when not given).
 */
struct conf_peer {
	char name[CONF_NAME_MAX + 1];     /* "" when not given */
	char public_key[KEY_BASE64_SIZE]; /* canonical base64, "" when not given */
	char *preshared_key_file;
	char *endpoint;                /* "HOST:PORT" or "[IPV6]:PORT", syntax checked */
	enum conf_transport transport; /* default CONF_TRANSPORT_TCP */
	unsigned keepalive;            /* seconds, 0 = off (default) */
	bool plain_keepalive;          /* default false */
	unsigned dead_peer_timeout;    /* seconds, 0 = off (default) */
	/* Plain TCP: frames carry a virtio-net header and whole TSO packets
	 * (doc/PROTOCOL.md "Offload frames"); both peers must agree.
	 * Default false (simpletun's format). */
	bool plain_offload;
	/* The inner prefixes routed to this peer, in the order given; host
	 * bits are never set.  Repeated lines add up. */
	struct conf_allowed_ip *allowed_ips;
	unsigned n_allowed_ips;

	/* CONF_SET_* bits of the [Peer] keys given, and their lines (0: not
	 * given, or from the command line), as struct conf's. */
	unsigned set;
	unsigned line[CONF_KEY_COUNT];
	/* The line of the "[Peer]" header; 0 for a peer the command line made. */
	unsigned section_line;
};

/* The same numbers as daemon/log.h's enum log_level. */
enum conf_log_level {
	CONF_LOG_WARN = 0,
	CONF_LOG_INFO = 1,
	CONF_LOG_DEBUG = 2,
	CONF_LOG_TRACE = 3,
};

/*
 * A configuration: the file's values over the defaults, which the command
 * line may then override.  The strings are NUL-terminated; the char *
 * ones are malloc'd, owned by the struct and freed by conf_cleanup() (NULL
 * when not given).
 */
struct conf {
	/* [Interface] */
	char device[CONF_DEVICE_MAX + 1]; /* "" when not given */
	enum tun_mode mode;               /* default TUN_MODE_TUN */
	int mtu;                          /* bytes; 0: the route's less the overhead */
	/* The network namespace the device is made in or attached to, its
	 * sockets staying in culvertd's (doc/design.md section 11): a name
	 * under /run/netns or an nsfs path ("/proc/PID/ns/net"); NULL: ours. */
	char *device_netns;
	char *private_key_file;
	char *listen; /* "[ADDR]:PORT", "HOST:PORT" or ":PORT", syntax checked */
	char *user;
	char *group;
	enum conf_log_level log_level; /* default CONF_LOG_INFO */
	/* TUN/TAP offloads (IFF_VNET_HDR, TSO; lib/vnet.h), default true */
	bool offload;
	/* The listener's sources: none given, anyone; else only addresses in
	 * one of these prefixes.  The only key that may be repeated: its
	 * lines add up ("AllowFrom = A, B" is the same as two lines). */
	struct endpoint_prefix allow_from[CONF_ALLOW_FROM_MAX];
	unsigned n_allow_from;
	/* culvertd's seccomp filter once set-up is done (daemon/sandbox.h),
	 * default true */
	bool seccomp;
	/* The Prometheus metrics endpoint's address (doc/metrics.md),
	 * "[ADDR]:PORT", "HOST:PORT" or ":PORT", syntax checked; NULL: off */
	char *metrics_listen;
	/* Lower the MSS option of TCP SYNs crossing the tunnel to fit its
	 * MTU (lib/mtu.h), default false */
	bool clamp_mss;
	/* The listener's transports, CONF_TRANSPORTS_* bits (with Listen);
	 * 0 when not given: those its peers' Transport name. */
	unsigned transports;
	/* Frames from one peer to another are forwarded (the hub), default
	 * true; false: each peer talks only to this host. */
	bool peer_to_peer;
	/* A plain hub (doc/design.md section 8): every accepted connection is
	 * a peer of its own, its addresses learned from what it sends;
	 * needs Listen, plain mode only.  Default false. */
	bool hub;
	/* [Peer] sections in file order: n_peers of them (at most
	 * CONF_PEERS_MAX), malloc'd, NULL when there are none. */
	struct conf_peer *peers;
	unsigned n_peers;

	/* CONF_SET_* bits: which [Interface] keys were given (a field without
	 * its bit holds the default).  The [Peer] keys are each peer's. */
	unsigned set;
	/* The line each key was given on, 0 when not given or not from a file
	 * (conf_set()); used to point validation errors at the line. */
	unsigned line[CONF_KEY_COUNT];
};

/* Fills @c with the defaults: nothing set, tun, log level info, no MTU
 * change, PeerToPeer on, no peers (a peer's defaults: TCP, keepalive and
 * dead-peer detection off).  Cannot fail. */
void conf_init(struct conf *c);

/*
 * Reads the file @path into @c (initialised by conf_init()), on top of
 * what @c holds: every key in the file replaces the field and sets its
 * CONF_SET_* bit and line; the file's Nth [Peer] goes onto @c's Nth peer
 * (made when @c has fewer).  Parsing stops at the first error, and then @c
 * is left exactly as it was.  Messages name @path as given.  Returns:
 *   0         parsed (not yet validated: call conf_validate());
 *   -ENOENT, -EACCES, -EISDIR, other -errno from fopen(3)/read(2):
 *             "FILE: No such file or directory" etc.;
 *   -EINVAL   a bad file: "FILE:LINE: ..." (see conf_load_string());
 *   -EFBIG    more than CONF_FILE_MAX bytes;
 *   -ENOMEM   out of memory.
 */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);

/*
 * As conf_load_file(), from the open stream @f (read to its end or to the
 * first error, not closed) named @name in messages: for standard input and
 * for the fuzzer, which feeds it NUL bytes.  A read error is -errno with
 * "FILE: read: ...".
 */
int conf_load_stream(struct conf *c, const char *name, FILE *f, char *err, size_t errlen);

/*
 * As conf_load_file(), for the NUL-terminated @text named @name in
 * messages (for tests and the fuzzer).  The errors, one line each:
 *   FILE:LINE: unknown section [Foo] (expected [Interface] or [Peer])
 *   FILE:LINE: only one [Interface] is allowed (the first is on line N)
 *   FILE:LINE: more than 1024 [Peer] sections
 *   FILE:LINE: '[Peer' has no closing ']'
 *   FILE:LINE: text after [Peer]
 *   FILE:LINE: unknown key 'Foo' in [Interface]
 *   FILE:LINE: key 'MTU' is outside any section (put it under [Interface])
 *   FILE:LINE: duplicate key MTU (first given on line N)   (in one section;
 *              not AllowFrom or AllowedIPs, whose lines add up)
 *   FILE:LINE: AllowFrom: '198.18.0.1/8' is not an address prefix (ADDR or
 *              ADDR/LEN, no host bits set after LEN)
 *   FILE:LINE: AllowFrom: more than 32 prefixes
 *   FILE:LINE: AllowedIPs: '198.18.0.1/15' has host bits set after the prefix
 *              length (the prefix is 198.18.0.0/15)
 *   FILE:LINE: AllowedIPs: 'x' is not an address prefix (ADDR or ADDR/LEN,
 *              IPv4 or IPv6)
 *   FILE:LINE: AllowedIPs: more than 256 prefixes in one [Peer]
 *   FILE:LINE: AllowedIPs: more than 65536 prefixes in all peers
 *   FILE:LINE: Name: 'a b' is not 1 to 32 letters, digits, '.', '_' or '-'
 *   FILE:LINE: Transports: 'x' is not tcp, udp or both (udp, tcp)
 *   FILE:LINE: MTU: '9x' is not a number from 68 to 65517   (and the like)
 *   FILE:LINE: cannot parse the line (expected [Section], Key = Value or a comment)
 *   FILE:LINE: line longer than 197 characters
 *   FILE:LINE: NUL byte in the line
 *   FILE: larger than 1048576 bytes
 * Values are quoted with non-printable bytes as \xNN, and cut short.
 */
int conf_load_string(struct conf *c, const char *name, const char *text, char *err, size_t errlen);

/*
 * Checks the whole of @c (from the file @name; NULL for none: the messages
 * then start with the key) for what no single line can show, across
 * sections and peers.  Does not touch the system (whether a PublicKey is
 * our own is the daemon's to check, once it has read the private key).
 * Returns 0, -ENOMEM ("FILE: out of memory", for the sort of the
 * AllowedIPs), or -EINVAL with the first problem:
 *   FILE: [Interface] Device is required
 *   FILE: give [Interface] Listen or [Peer] Endpoint
 *   FILE:LINE: [Interface] PrivateKeyFile needs [Peer] PublicKey (sealed mode
 *              needs both)                           (no peer, or the only one)
 * then, for each peer in file order:
 *   FILE:LINE: [Peer] Endpoint and [Interface] Listen (line N) conflict over
 *              TCP: give exactly one     (UDP, or Transports without tcp: fine)
 *   FILE:LINE: [Peer] has no PublicKey ([Interface] PrivateKeyFile on line N
 *              seals every peer)                     (LINE: the [Peer] header)
 *   FILE:LINE: [Peer] PublicKey needs [Interface] PrivateKeyFile (...)
 *   FILE:LINE: [Peer] PresharedKeyFile needs sealed mode ([Interface]
 *              PrivateKeyFile and [Peer] PublicKey)
 *   FILE:LINE: [Peer] Keepalive in plain mode needs PlainKeepalive = yes
 *              (simpletun would write keepalives to its device)
 *   FILE:LINE: [Peer] PlainOffload is for plain mode (...), needs Transport =
 *              tcp (...), needs [Interface] Offload = yes
 *   FILE:LINE: [Peer] Transport = auto needs Endpoint (it tries UDP towards
 *              it, then TCP)
 *   FILE:LINE: [Peer] Transport = udp, but [Interface] Transports (line N)
 *              serves only tcp and the peer has no Endpoint
 *   FILE:LINE: [Peer] needs Endpoint: without [Interface] Listen nothing
 *              reaches it                            (LINE: the [Peer] header)
 *   FILE:LINE: [Peer] AllowedIPs needs Mode = tun (over TAP the peers' MAC
 *              addresses are learned)
 *   FILE:LINE: plain [Peer] with neither Endpoint nor AllowedIPs (with
 *              several peers it could be any of them)   (one plain peer may)
 * then:
 *   FILE:LINE: [Interface] Group needs User
 *   FILE:LINE: [Interface] AllowFrom needs Listen (it fences the listener)
 *   FILE:LINE: [Interface] Transports needs Listen (it says what the
 *              listener serves)
 *   FILE:LINE: Name a is also the [Peer] on line N's
 *   FILE:LINE: PublicKey is also the [Peer] on line N's: one key, one peer
 *   FILE: AllowedIPs: more than 65536 prefixes in all peers
 *   FILE:LINE: AllowedIPs: P is also the [Peer] on line N's (line M): a
 *              prefix routes to one peer
 *   FILE:LINE: AllowedIPs: P is given twice in this [Peer] (line M)
 * LINE is the line of the key named first (of the later one for a
 * duplicate, the earliest such in the file); "FILE:" alone when it is 0.
 */
int conf_validate(const struct conf *c, const char *name, char *err, size_t errlen);

/*
 * Sets @key from the string @value with the same checks as in a file (for
 * a command-line override): the field is replaced (AllowFrom, AllowedIPs:
 * the prefixes are added to those @c holds; conf_unset() first to replace
 * them), its CONF_SET_* bit set and its line made 0.  A [Peer] key is the
 * first peer's; with no peer, one is made (section_line 0).  On error @c
 * is unchanged.  Returns 0, -EINVAL ("MTU: '9x' is not a number from 68 to
 * 65517") or -ENOMEM.
 */
int conf_set(struct conf *c, enum conf_key key, const char *value, char *err, size_t errlen);

/* Forgets @key: back to its default, bit and line cleared (for example
 * Listen when the command line says --connect); a [Peer] key in the first
 * peer, if there is one.  Cannot fail. */
void conf_unset(struct conf *c, enum conf_key key);

/* Returns the key's name as written in the file ("PrivateKeyFile"), or
 * NULL for a value outside the enum. */
const char *conf_key_name(enum conf_key key);

/* Frees the strings and peers of @c and leaves it as conf_init() does;
 * safe to call twice. */
void conf_cleanup(struct conf *c);
