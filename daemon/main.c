/* SPDX-License-Identifier: MIT */
/*
 * culvertd: carries every packet of a TUN/TAP device to one peer over TCP or
 * UDP.  Start-up order (doc/design.md section 4): read and validate the whole
 * configuration (file, then command-line overrides), open the device and
 * the sockets, drop privileges, then serve.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "config.h"
#include "control.h"
#include "endpoint.h"
#include "exporter.h"
#include "key.h"
#include "log.h"
#include "metrics.h"
#include "netns.h"
#include "netwatch.h"
#include "notify.h"
#include "privdrop.h"
#include "sandbox.h"
#include "session.h"
#include "status.h"
#include "tunnel.h"

#define CULVERTD_DEFAULT_PORT 55555

/* Exit statuses: 0 clean exit, 1 runtime failure, 2 usage or configuration. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

_Static_assert(TUNNEL_ALLOW_FROM_MAX >= CONF_ALLOW_FROM_MAX, "AllowFrom fits the tunnel");

/* Most command-line options that override the configuration file. */
#define MAX_OVERRIDES 64

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: culvertd [-c FILE] [--check-config] [--dev NAME] [--mode tun|tap]\n"
	    "                [--netns NS | --dev-fd N]\n"
	    "                [--transport tcp|udp|auto] [--transports udp,tcp]\n"
	    "                [--listen [ADDR]:PORT [--hub]]\n"
	    "                [--connect HOST:PORT] [--mtu N]\n"
	    "                [--private-key FILE --peer-public-key KEY\n"
	    "                [--preshared-key FILE]] [--user USER [--group GROUP] | --no-drop]\n"
	    "                [--no-seccomp] [--metrics-listen ADDR:PORT] [-v]...\n"
	    "\n"
	    "Carries every packet of a TUN (layer 3) or TAP (layer 2) device to one peer\n"
	    "over TCP or UDP, each framed with a 2-byte big-endian length (the simpletun\n"
	    "format), optionally sealed (Noise IKpsk2, ChaCha20-Poly1305).\n"
	    "\n"
	    "Configuration (command-line options override the file; see culvert.conf(5)):\n"
	    "  -c, --config FILE       read the configuration from FILE (INI)\n"
	    "      --check-config      validate the configuration (and key files) and exit:\n"
	    "                          0 when valid, 2 with the reason otherwise\n"
	    "\n"
	    "Tunnel:\n"
	    "  -d, --dev NAME          device to attach to; created (and removed at exit)\n"
	    "                          when it does not exist\n"
	    "  -m, --mode tun|tap      layer 3 (default) or layer 2\n"
	    "      --netns NS          the device lives in network namespace NS (a name\n"
	    "                          under /run/netns, or an nsfs path); the sockets\n"
	    "                          stay in culvertd's (needs CAP_SYS_ADMIN at start)\n"
	    "      --dev-fd N          use TUN/TAP descriptor N, already attached (by a\n"
	    "                          container runtime, a parent): device, mode and\n"
	    "                          namespace are the descriptor's\n"
	    "  -t, --transport tcp|udp|auto  underlay transport (default tcp); auto, a\n"
	    "                          sealed client: UDP, falling back to TCP to the same\n"
	    "                          port when no handshake completes over UDP in 15 s,\n"
	    "                          back to UDP when a probe (every 30 s) is answered\n"
	    "      --transports udp,tcp  sealed, with --listen: serve both on one port\n"
	    "  -l, --listen [ADDR]:PORT  wait for the peer; no ADDR: every IPv6 and IPv4\n"
	    "                          address (default port %d)\n"
	    "  -C, --connect HOST:PORT go to the peer (IPv6 literals in brackets); over UDP\n"
	    "                          it may be combined with --listen\n"
	    "  -A, --allow-from PREFIX with --listen: only sources in PREFIX (198.18.0.0/15,\n"
	    "                          2001:db8::/32, or one address) may connect or send;\n"
	    "                          repeatable (plain mode has no other authentication)\n"
	    "      --hub               plain, with --listen: every TCP connection (UDP:\n"
	    "                          source endpoint) is a peer of its own, so simpletun\n"
	    "                          clients meet; TUN learns their source addresses,\n"
	    "                          TAP their MACs\n"
	    "  -M, --mtu N             set the device MTU to N bytes (default: the underlay\n"
	    "                          route's MTU toward the peer less the exact overhead,\n"
	    "                          logged; frames from the peer up to the larger of\n"
	    "                          MTU+18 and 9018 bytes are taken)\n"
	    "      --clamp-mss         lower the MSS option of TCP SYNs crossing the tunnel\n"
	    "                          (both ways) to fit its MTU and the path MTU\n"
	    "      --no-offload        no TUN/TAP offloads: read and write packets one by\n"
	    "                          one (default: TCP packets of up to 64 KiB whole)\n"
	    "      --plain-offload     plain TCP: frames carry whole 64 KiB TCP packets\n"
	    "                          behind a 10-byte header (both peers culvert with it;\n"
	    "                          not understood by simpletun)\n"
	    "\n"
	    "Sealed mode (both keys select it):\n"
	    "  -k, --private-key FILE  our X25519 private key, base64 (culvertctl genkey);\n"
	    "                          refused if group or others may read it\n"
	    "  -p, --peer-public-key KEY  the peer's public key, base64 (culvertctl pubkey)\n"
	    "      --preshared-key FILE  optional 32-byte pre-shared key (culvertctl genpsk)\n"
	    "      --rekey-after SECONDS  new handshake after this long (default 120)\n"
	    "\n"
	    "Liveness:\n"
	    "      --keepalive SECONDS  send a keepalive after this long without sending\n"
	    "                          (default 0: off; plain mode needs --plain-keepalive)\n"
	    "      --plain-keepalive   plain mode: send and accept empty frames as\n"
	    "                          keepalives (not understood by simpletun)\n"
	    "      --dead-peer-timeout SECONDS  restart the session after this long\n"
	    "                          without hearing from the peer (default 0: off)\n"
	    "\n"
	    "Privileges (culvertd refuses to serve as root without one of these):\n"
	    "  -u, --user USER         after opening the device and sockets, become USER\n"
	    "                          with no capabilities at all\n"
	    "  -g, --group GROUP       and GROUP (default: USER's primary group)\n"
	    "      --no-drop           keep running as root\n"
	    "      --no-seccomp        no seccomp filter (for debugging; by default any\n"
	    "                          system call culvertd does not need kills it)\n"
	    "\n"
	    "Other options:\n"
	    "      --out-buffer BYTES  TCP output buffer high-water mark (default %d)\n"
	    "      --metrics-listen ADDR:PORT  serve Prometheus metrics over HTTP at\n"
	    "                          http://ADDR:PORT/metrics (default off; keep it on\n"
	    "                          loopback or a management network)\n"
	    "  -v, --verbose           more log output (-v debug, -vv per packet)\n"
	    "  -q, --quiet             warnings and errors only\n"
	    "      --syslog            log to syslog (facility daemon) instead of stderr\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n"
	    "\n"
	    "Status: `culvertctl show` reads %s/DEVICE.sock (DEVICE@NETNS.sock in a\n"
	    "named network namespace; $CULVERT_RUNDIR overrides the directory).\n"
	    "Signals: SIGINT/SIGTERM stop cleanly, SIGHUP re-reads the configuration file\n"
	    "(peer endpoint, allowed sources, keepalive, dead-peer timeout and log level\n"
	    "take effect),\n"
	    "SIGUSR1 logs the counters.\n"
	    "Exit status: 0 clean exit, 1 runtime failure, 2 usage or configuration error.\n",
	    CULVERTD_DEFAULT_PORT, TUNNEL_OUT_HIGH_DEFAULT, CULVERT_RUNSTATEDIR);
}

/* Prints a one-line configuration error and exits with status 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) config_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "culvertd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static long parse_number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		config_error("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
	return v;
}

/* One command-line option that maps to a configuration key. */
struct override {
	enum conf_key key;
	const char *value;
	const char *option;
};

/* Everything the command line says, kept for SIGHUP: the file is re-read
 * and the same overrides applied on top. */
struct cmdline {
	const char *config_file;
	bool check_config;
	struct override overrides[MAX_OVERRIDES];
	size_t n_overrides;
	unsigned cli_set; /* CONF_SET_* bits the command line gave */
	int verbosity;    /* -v count minus -q; INT_MIN: not given */
	size_t out_high;
	uint64_t rekey_after_ms;
	bool no_drop;
	bool use_syslog;
	/* --dev-fd: an attached TUN/TAP descriptor (-1: none) and what
	 * tun_from_fd() read of it. */
	int dev_fd;
	struct tun_device dev;
};

/* The one peer this culvertd serves: the configuration's first, or a
 * peer with the defaults when it has none (a listener for whoever comes). */
static const struct conf_peer *conf_peer0(const struct conf *c)
{
	static const struct conf_peer none = {.transport = CONF_TRANSPORT_TCP};

	return c->n_peers ? &c->peers[0] : &none;
}

/* The transport of @peer: its own, else the listener's (Transports; tcp
 * when it serves both), else tcp. */
static enum conf_transport conf_peer_transport(const struct conf *c, const struct conf_peer *peer)
{
	if (c->transports && !(peer->set & CONF_SET_TRANSPORT))
		return c->transports & CONF_TRANSPORTS_TCP ? CONF_TRANSPORT_TCP
							   : CONF_TRANSPORT_UDP;
	return peer->transport;
}

/* The one transport this culvertd uses: its first peer's. */
static enum conf_transport conf_transport(const struct conf *c)
{
	return conf_peer_transport(c, conf_peer0(c));
}

/* True when the configuration makes a hub (doc/design.md section 8): more
 * than one [Peer], AllowedIPs routing packets by address, or Hub = yes (a
 * plain hub). */
static bool conf_is_hub(const struct conf *c)
{
	if (c->hub)
		return true;
	if (c->n_peers > 1)
		return true;
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].n_allowed_ips)
			return true;
	return false;
}

/*
 * Refuses what the file may say but this culvertd cannot do yet
 * (doc/design.md section 8): many plain peers without Hub = yes, a plain
 * hub's PlainOffload, a TCP hub that does not listen, a hub whose peers use
 * different transports, Transport = auto, a listener serving two
 * transports, PeerToPeer = no without a hub.  Returns 0, or -EINVAL with
 * "FILE:LINE: ..." in @err.
 */
static int conf_check_support(const struct conf *c, const char *name, char *err, size_t errlen)
{
	const struct conf_peer *peer = conf_peer0(c);
	enum conf_transport transport = conf_transport(c);
	bool hub = conf_is_hub(c);
	unsigned line = 0;
	const char *what = NULL;

	bool both = c->transports == (CONF_TRANSPORTS_TCP | CONF_TRANSPORTS_UDP);

	for (size_t i = 0; i < c->n_peers && !what; i++)
		if (c->peers[i].transport == CONF_TRANSPORT_AUTO &&
		    (hub || c->listen || !c->private_key_file)) {
			line = c->peers[i].line[CONF_KEY_TRANSPORT];
			what = "Transport = auto: only a sealed one-peer client (PrivateKeyFile, "
			       "Endpoint, no Listen) falls back from UDP to TCP";
		}
	if (what) {
		/* reported below */
	} else if (c->hub && peer->plain_offload) {
		line = peer->line[CONF_KEY_PLAIN_OFFLOAD];
		what = "PlainOffload: not in a hub (a hub routes every packet on its own)";
	} else if (hub && !c->private_key_file && !c->hub) {
		line = c->n_peers > 1 ? c->peers[1].section_line : peer->line[CONF_KEY_ALLOWED_IPS];
		what = c->n_peers > 1 ? "a second [Peer]: this culvertd serves many peers only "
					"sealed (PrivateKeyFile)"
				      : "AllowedIPs: this culvertd routes by address only sealed "
					"(PrivateKeyFile)";
	} else if (hub && transport == CONF_TRANSPORT_TCP && !c->listen) {
		line = c->n_peers > 1 ? c->peers[1].section_line : peer->line[CONF_KEY_ALLOWED_IPS];
		what = c->n_peers > 1
			   ? "a second [Peer]: a hub over TCP needs Listen (its peers "
			     "connect to it)"
			   : "AllowedIPs: a hub over TCP needs Listen (its peers connect "
			     "to it; a site of a TCP hub needs no AllowedIPs)";
	} else if (both && !c->private_key_file) {
		line = c->line[CONF_KEY_TRANSPORTS];
		what = "Transports = udp,tcp: this culvertd serves both only sealed "
		       "(PrivateKeyFile)";
	} else if (c->transports && (peer->set & CONF_SET_TRANSPORT) &&
		   !(c->transports & (1u << peer->transport))) {
		line = peer->line[CONF_KEY_TRANSPORT];
		what = "Transport differs from [Interface] Transports: this culvertd serves one "
		       "transport at a time";
	} else if (!c->peer_to_peer && !hub) {
		line = c->line[CONF_KEY_PEER_TO_PEER];
		what = "PeerToPeer = no: this culvertd serves one peer";
	}
	for (size_t i = 1; i < c->n_peers && !what && !both; i++)
		if (conf_peer_transport(c, &c->peers[i]) != transport) {
			line = c->peers[i].line[CONF_KEY_TRANSPORT]
				   ? c->peers[i].line[CONF_KEY_TRANSPORT]
				   : c->peers[i].section_line;
			what = transport == CONF_TRANSPORT_UDP
				   ? "Transport: a hub's peers all use one transport (udp here) in "
				     "this culvertd"
				   : "Transport: a hub's peers all use one transport (tcp here) in "
				     "this culvertd";
		}
	if (!what)
		return 0;
	if (line)
		snprintf(err, errlen, "%s:%u: %s", name, line, what);
	else
		snprintf(err, errlen, "%s: %s", name, what);
	return -EINVAL;
}

/*
 * --dev-fd: the descriptor names the device, its mode and its namespace;
 * Device and Mode, where given, must agree, and DeviceNetns must not be
 * given.  Sets Device and Mode to the descriptor's.  Returns 0 or -EINVAL
 * with the reason in @err.
 */
static int conf_take_dev_fd(struct conf *c, const struct cmdline *cl, char *err, size_t errlen)
{
	const char *mode = cl->dev.mode == TUN_MODE_TAP ? "tap" : "tun";
	char why[256];

	if ((c->set & CONF_SET_DEVICE) && strcmp(c->device, cl->dev.name) != 0)
		snprintf(err, errlen, "--dev-fd %d is device %s, not Device %s", cl->dev_fd,
			 cl->dev.name, c->device);
	else if ((c->set & CONF_SET_MODE) && c->mode != cl->dev.mode)
		snprintf(err, errlen, "--dev-fd %d is a %s device, not Mode %s", cl->dev_fd, mode,
			 c->mode == TUN_MODE_TAP ? "tap" : "tun");
	else if (c->set & CONF_SET_DEVICE_NETNS)
		snprintf(err, errlen,
			 "--dev-fd and DeviceNetns: the device's namespace is the "
			 "descriptor's own");
	else if (conf_set(c, CONF_KEY_DEVICE, cl->dev.name, why, sizeof(why)) < 0 ||
		 conf_set(c, CONF_KEY_MODE, mode, why, sizeof(why)) < 0)
		snprintf(err, errlen, "--dev-fd %d: %s", cl->dev_fd, why);
	else
		return 0;
	return -EINVAL;
}

/*
 * Builds the configuration: the file (when given), then the command line on
 * top.  A role given on the command line replaces the file's other role
 * (--connect drops the file's Listen, --listen its Endpoint).  Returns 0, or
 * -EINVAL with a reason naming the file, line and key in @err.
 */
static int conf_build(struct conf *c, const struct cmdline *cl, char *err, size_t errlen)
{
	size_t i;
	int rc;

	conf_init(c);
	if (cl->config_file) {
		rc = conf_load_file(c, cl->config_file, err, errlen);
		if (rc < 0)
			return rc;
	}
	if ((cl->cli_set & CONF_SET_ENDPOINT) && !(cl->cli_set & CONF_SET_LISTEN))
		conf_unset(c, CONF_KEY_LISTEN);
	if ((cl->cli_set & CONF_SET_LISTEN) && !(cl->cli_set & CONF_SET_ENDPOINT))
		conf_unset(c, CONF_KEY_ENDPOINT);
	/* --allow-from replaces the file's list; repeated, it adds up. */
	if (cl->cli_set & CONF_SET_ALLOW_FROM)
		conf_unset(c, CONF_KEY_ALLOW_FROM);
	for (i = 0; i < cl->n_overrides; i++) {
		char why[256];

		rc = conf_set(c, cl->overrides[i].key, cl->overrides[i].value, why, sizeof(why));
		if (rc < 0) {
			const char *key = conf_key_name(cl->overrides[i].key);
			const char *msg = why;

			/* conf_set() names the file's key; name the option. */
			if (strncmp(why, key, strlen(key)) == 0 && why[strlen(key)] == ':')
				msg = why + strlen(key) + 2;
			snprintf(err, errlen, "--%s: %s", cl->overrides[i].option, msg);
			return rc;
		}
	}
	if (cl->dev_fd >= 0) {
		rc = conf_take_dev_fd(c, cl, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = conf_validate(c, cl->config_file ? cl->config_file : "command line", err, errlen);
	if (rc < 0)
		return rc;
	return conf_check_support(c, cl->config_file ? cl->config_file : "command line", err,
				  errlen);
}

/* The log level: -v/-q on the command line win over LogLevel. */
static int conf_log_level(const struct conf *c, const struct cmdline *cl)
{
	int level = cl->verbosity == INT_MIN ? (int)c->log_level : LOG_LEVEL_INFO + cl->verbosity;

	return level < LOG_LEVEL_WARN ? LOG_LEVEL_WARN : level;
}

/* Reads a key file into @key (32 bytes, sodium_malloc'd), or exits with
 * status 2 and the reason. */
static void read_key_file(const char *what, const char *path, uint8_t *key)
{
	char err[256];

	if (key_read_file(path, key, err, sizeof(err)) < 0)
		config_error("%s: %s", what, err);
}

/* Resolves an endpoint string from the configuration (DNS for names). */
static int resolve(const char *what, const char *str, bool passive, struct sockaddr_storage *ss,
		   socklen_t *len, char *err, size_t errlen)
{
	int rc = endpoint_parse(str, CULVERTD_DEFAULT_PORT, passive, AF_UNSPEC, ss, len);

	if (rc < 0)
		snprintf(err, errlen, "%s '%s': %s", what, str,
			 rc == -ENOENT         ? "host not found"
			 : rc == -EAFNOSUPPORT ? "no address of a usable family"
					       : "not [ADDR]:PORT");
	return rc;
}

/* Two optional strings are equal (both absent, or the same text). */
static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A hub's peers as tunnel_new() and tunnel_hub_update() take them, and
 * what they point to. */
struct hub_peers {
	struct tunnel_peer_config *peers;
	struct endpoint_prefix *prefixes;
	uint8_t *keys; /* sodium_malloc'd: each peer's public key, then its PSK */
};

static void hub_peers_free(struct hub_peers *h)
{
	free(h->peers);
	free(h->prefixes);
	sodium_free(h->keys);
	memset(h, 0, sizeof(*h));
}

/*
 * Fills @h with the [Peer] sections of @c (doc/design.md section 8): keys,
 * preshared keys (read from their files), allowed IPs, timers, endpoints
 * (resolved).  With @prev (SIGHUP), a peer whose public key and
 * PresharedKeyFile are as in @prev is marked same_psk and its file is not
 * read again: after the privilege drop it may be closed to culvertd.
 * Returns 0, or -1 with the reason in @err (@h freed).
 */
static int hub_peers_make(const struct conf *c, const struct conf *prev, struct hub_peers *h,
			  char *err, size_t errlen)
{
	size_t n_prefixes = 0, at = 0;
	char why[256];

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < c->n_peers; i++)
		n_prefixes += c->peers[i].n_allowed_ips;
	h->peers = calloc(c->n_peers, sizeof(*h->peers));
	h->prefixes = calloc(n_prefixes ? n_prefixes : 1, sizeof(*h->prefixes));
	h->keys = sodium_malloc(2 * c->n_peers * KEY_LEN);
	if (!h->peers || !h->prefixes || !h->keys) {
		snprintf(err, errlen, "out of memory for peers");
		goto fail;
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct conf_peer *pi = &c->peers[i];
		struct tunnel_peer_config *pc = &h->peers[i];
		uint8_t *pub = h->keys + 2 * i * KEY_LEN, *psk = pub + KEY_LEN;

		if (!c->hub && key_from_base64(pub, pi->public_key) < 0) {
			snprintf(err, errlen, "PublicKey '%s': not a base64 32-byte key",
				 pi->public_key);
			goto fail;
		}
		pc->public_key = c->hub ? NULL : pub; /* a plain hub's peers have none */
		for (size_t j = 0; prev && j < prev->n_peers && !pc->same_psk; j++)
			pc->same_psk =
			    strcmp(prev->peers[j].public_key, pi->public_key) == 0 &&
			    same_str(prev->peers[j].preshared_key_file, pi->preshared_key_file);
		if (pi->preshared_key_file && !pc->same_psk) {
			if (key_read_file(pi->preshared_key_file, psk, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "PresharedKeyFile: %s", why);
				goto fail;
			}
			pc->psk = psk;
		}
		pc->name = pi->name;
		/* Transports = udp, tcp: a [Peer] Transport pins the peer. */
		if (c->transports == (CONF_TRANSPORTS_TCP | CONF_TRANSPORTS_UDP) &&
		    (pi->set & CONF_SET_TRANSPORT))
			pc->transports =
			    1u << (pi->transport == CONF_TRANSPORT_TCP ? TUNNEL_TCP : TUNNEL_UDP);
		pc->keepalive_ms = (uint64_t)pi->keepalive * 1000;
		pc->dead_peer_ms = (uint64_t)pi->dead_peer_timeout * 1000;
		pc->allowed_ips = h->prefixes + at;
		pc->n_allowed_ips = pi->n_allowed_ips;
		for (unsigned k = 0; k < pi->n_allowed_ips; k++)
			h->prefixes[at++] = pi->allowed_ips[k].prefix;
		if (pi->endpoint && resolve("Endpoint", pi->endpoint, false, &pc->endpoint,
					    &pc->endpoint_len, err, errlen) < 0)
			goto fail;
	}
	return 0;
fail:
	hub_peers_free(h);
	return -1;
}

/* Logs every counter (SIGUSR1, exit): the same names and values as the
 * status socket, from the same tunnel_fill_status(), so none is missed. */
static void log_stats(const struct tunnel *t)
{
	/* On the heap: the status is large for the stack, and a static one
	 * would be mutable state shared by every caller. */
	struct status *st = malloc(sizeof(*st));
	char line[4096];
	size_t i, off;

	if (!st) {
		log_warnx("%s: out of memory for the counters", tunnel_dev_name(t));
		return;
	}
	status_init(st);
	tunnel_fill_status(t, st);
	off = (size_t)snprintf(line, sizeof(line),
			       "%s: rx %" PRIu64 " packets %" PRIu64 " bytes, tx %" PRIu64
			       " packets %" PRIu64 " bytes; drops:",
			       tunnel_dev_name(t), st->rx_packets, st->rx_bytes, st->tx_packets,
			       st->tx_bytes);
	for (i = 0; i < st->n_drops && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s %" PRIu64,
					st->drops[i].name, st->drops[i].value);
	if (off < sizeof(line))
		off += (size_t)snprintf(line + off, sizeof(line) - off, ";");
	for (i = 0; i < st->n_counters && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s %" PRIu64,
					st->counters[i].name, st->counters[i].value);
	status_cleanup(st);
	free(st);
	log_warnx("%s", line);
}

struct daemon {
	struct event_base *base;
	struct tunnel *tunnel;
	struct control *control;
	struct exporter *exporter; /* MetricsListen, or NULL */
	struct netwatch *netwatch; /* TCP client: underlay changes */
	/* A hub whose device is in another namespace: its address changes */
	struct netwatch *dev_netwatch;
	const struct cmdline *cmdline;
	struct event *watchdog; /* notify_init(), or NULL */
	struct conf conf;       /* as applied */
};

/* Whether @key has the same value in @a and @b. */
static bool conf_same(const struct conf *a, const struct conf *b, enum conf_key key)
{
	switch (key) {
	case CONF_KEY_DEVICE:
		return strcmp(a->device, b->device) == 0;
	case CONF_KEY_MODE:
		return a->mode == b->mode;
	case CONF_KEY_MTU:
		return a->mtu == b->mtu;
	case CONF_KEY_TRANSPORT:
		return conf_transport(a) == conf_transport(b);
	case CONF_KEY_TRANSPORTS:
		return a->transports == b->transports;
	case CONF_KEY_PUBLIC_KEY:
		return strcmp(conf_peer0(a)->public_key, conf_peer0(b)->public_key) == 0;
	case CONF_KEY_PLAIN_KEEPALIVE:
		return conf_peer0(a)->plain_keepalive == conf_peer0(b)->plain_keepalive;
	case CONF_KEY_OFFLOAD:
		return a->offload == b->offload;
	case CONF_KEY_PLAIN_OFFLOAD:
		return conf_peer0(a)->plain_offload == conf_peer0(b)->plain_offload;
	case CONF_KEY_SECCOMP:
		return a->seccomp == b->seccomp;
	case CONF_KEY_METRICS_LISTEN:
		return same_str(a->metrics_listen, b->metrics_listen);
	case CONF_KEY_DEVICE_NETNS:
		return same_str(a->device_netns, b->device_netns);
	case CONF_KEY_CLAMP_MSS:
		return a->clamp_mss == b->clamp_mss;
	case CONF_KEY_HUB:
		return a->hub == b->hub;
	case CONF_KEY_LISTEN:
		return same_str(a->listen, b->listen);
	case CONF_KEY_USER:
		return same_str(a->user, b->user);
	case CONF_KEY_GROUP:
		return same_str(a->group, b->group);
	case CONF_KEY_PRIVATE_KEY_FILE:
		return same_str(a->private_key_file, b->private_key_file);
	case CONF_KEY_PRESHARED_KEY_FILE:
		return same_str(conf_peer0(a)->preshared_key_file,
				conf_peer0(b)->preshared_key_file);
	default:
		return true;
	}
}

/* True when @a and @b give a plain hub the same [Peer]s: names,
 * endpoints and allowed IPs, in order. */
static bool conf_same_plain_peers(const struct conf *a, const struct conf *b)
{
	if (a->n_peers != b->n_peers)
		return false;
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct conf_peer *x = &a->peers[i], *y = &b->peers[i];

		if (strcmp(x->name, y->name) != 0 || !same_str(x->endpoint, y->endpoint) ||
		    x->n_allowed_ips != y->n_allowed_ips)
			return false;
		for (unsigned k = 0; k < x->n_allowed_ips; k++)
			if (memcmp(&x->allowed_ips[k].prefix, &y->allowed_ips[k].prefix,
				   sizeof(x->allowed_ips[k].prefix)) != 0)
				return false;
	}
	return true;
}

/* SIGHUP: re-reads the file and applies what can change without a restart
 * (peer endpoint, keepalive, dead-peer timeout, log level, AllowFrom; a
 * hub's peers and PeerToPeer); says which other changes wait for a
 * restart.  A broken file changes nothing. */
static void daemon_reload(struct daemon *d)
{
	static const enum conf_key fixed[] = {
	    CONF_KEY_DEVICE,
	    CONF_KEY_DEVICE_NETNS,
	    CONF_KEY_MODE,
	    CONF_KEY_MTU,
	    CONF_KEY_LISTEN,
	    CONF_KEY_USER,
	    CONF_KEY_GROUP,
	    CONF_KEY_TRANSPORT,
	    CONF_KEY_TRANSPORTS,
	    CONF_KEY_PUBLIC_KEY,
	    CONF_KEY_PRIVATE_KEY_FILE,
	    CONF_KEY_PRESHARED_KEY_FILE,
	    CONF_KEY_PLAIN_KEEPALIVE,
	    CONF_KEY_OFFLOAD,
	    CONF_KEY_PLAIN_OFFLOAD,
	    CONF_KEY_SECCOMP,
	    CONF_KEY_METRICS_LISTEN,
	    CONF_KEY_CLAMP_MSS,
	    CONF_KEY_HUB,
	};
	struct conf next;
	char err[512];
	size_t i;
	int rc;

	if (!d->cmdline->config_file) {
		log_info("SIGHUP: no configuration file to re-read");
		return;
	}
	rc = conf_build(&next, d->cmdline, err, sizeof(err));
	if (rc < 0) {
		/* After the privilege drop the file is read as that user. */
		log_warnx("SIGHUP: %s%s; keeping the running configuration", err,
			  rc == -EACCES ? " (culvertd's user must be able to read it)" : "");
		conf_cleanup(&next);
		return;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		/* A hub's peers (their keys included) change in place. */
		if (conf_is_hub(&d->conf) && conf_is_hub(&next) &&
		    (fixed[i] == CONF_KEY_PUBLIC_KEY || fixed[i] == CONF_KEY_PRESHARED_KEY_FILE))
			continue;
		if (!conf_same(&d->conf, &next, fixed[i]))
			log_warnx("SIGHUP: %s changed; that takes a restart",
				  conf_key_name(fixed[i]));
	}
	if (conf_is_hub(&d->conf) != conf_is_hub(&next)) {
		log_set_level(conf_log_level(&next, d->cmdline));
		tunnel_set_allow_from(d->tunnel, next.allow_from, next.n_allow_from);
		log_warnx("SIGHUP: %s; that takes a restart (the peers stay as they were)",
			  conf_is_hub(&next) ? "one peer became a hub" : "the hub became one peer");
		conf_cleanup(&next);
		return;
	}
	if (conf_is_hub(&d->conf) && !d->conf.hub) {
		/* A hub: peers added, removed and changed in place; the others
		 * go on undisturbed (doc/design.md section 8). */
		struct hub_peers h;
		unsigned kept = 0, added = 0, removed = 0;

		log_set_level(conf_log_level(&next, d->cmdline));
		tunnel_set_allow_from(d->tunnel, next.allow_from, next.n_allow_from);
		rc = hub_peers_make(&next, &d->conf, &h, err, sizeof(err));
		if (rc == 0) {
			rc = tunnel_hub_update(d->tunnel, h.peers, (unsigned)next.n_peers,
					       next.peer_to_peer, &kept, &added, &removed, err,
					       sizeof(err));
			hub_peers_free(&h);
		}
		if (rc < 0) {
			/* The running peers keep the file they came from. */
			log_warnx("SIGHUP: %s; the peers stay as they were%s", err,
				  strstr(err, "ermission") ? " (culvertd's user must be able to "
							     "read a new peer's PresharedKeyFile)"
							   : "");
			conf_cleanup(&next);
			return;
		}
		log_info("SIGHUP: configuration re-read: %u peers (%u kept, %u added, %u "
			 "removed), log level %d",
			 kept + added, kept, added, removed, conf_log_level(&next, d->cmdline));
		conf_cleanup(&d->conf);
		d->conf = next;
		return;
	}
	log_set_level(conf_log_level(&next, d->cmdline));
	tunnel_set_allow_from(d->tunnel, next.allow_from, next.n_allow_from);
	if (next.hub)
		tunnel_set_peer_to_peer(d->tunnel, next.peer_to_peer);
	if (next.hub && !conf_same_plain_peers(&d->conf, &next))
		log_warnx("SIGHUP: the plain hub's [Peer] sections changed; that takes a restart");
	tunnel_set_liveness(d->tunnel, (uint64_t)conf_peer0(&next)->keepalive * 1000,
			    (uint64_t)conf_peer0(&next)->dead_peer_timeout * 1000);
	if (conf_peer0(&next)->endpoint) {
		/* Resolved again even when unchanged: a name may now point
		 * elsewhere.  tunnel_set_endpoint() ignores no-ops. */
		struct sockaddr_storage ss;
		socklen_t len;

		if (resolve("Endpoint", conf_peer0(&next)->endpoint, false, &ss, &len, err,
			    sizeof(err)) < 0)
			log_warnx("SIGHUP: %s; keeping the old endpoint", err);
		else
			tunnel_set_endpoint(d->tunnel, &ss, len);
	}
	log_info("SIGHUP: configuration re-read (keepalive %u s, dead-peer timeout %u s, log "
		 "level %d)",
		 conf_peer0(&next)->keepalive, conf_peer0(&next)->dead_peer_timeout,
		 conf_log_level(&next, d->cmdline));
	conf_cleanup(&d->conf);
	d->conf = next;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGUSR1) {
		log_stats(d->tunnel);
		return;
	}
	if (sig == SIGHUP) {
		daemon_reload(d);
		return;
	}
	log_info("%s: stopping on %s", tunnel_dev_name(d->tunnel), strsignal((int)sig));
	event_base_loopbreak(d->base);
}

/* A link came up or an address was added: the underlay may be back. */
static void daemon_underlay_changed(void *arg)
{
	struct daemon *d = arg;

	tunnel_underlay_changed(d->tunnel);
}

/* netns_run_in() callback: watches the device's namespace (a hub's own
 * addresses come and go there). */
static int daemon_watch_dev_netns(void *arg)
{
	struct daemon *d = arg;

	return netwatch_open(d->base, daemon_underlay_changed, d, &d->dev_netwatch);
}

/* The peer seems lost (a TCP reconnect, a dead peer over UDP): the
 * endpoint's name is resolved again, since it may now point elsewhere.
 * getaddrinfo() blocks the loop, as on SIGHUP; nothing flows meanwhile. */
static void daemon_peer_lost(void *arg)
{
	struct daemon *d = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[512];

	if (!conf_peer0(&d->conf)->endpoint)
		return;
	if (resolve("Endpoint", conf_peer0(&d->conf)->endpoint, false, &ss, &len, err,
		    sizeof(err)) < 0) {
		log_debug("%s; keeping the old endpoint", err);
		return;
	}
	tunnel_set_endpoint(d->tunnel, &ss, len);
}

/* Renders the status document for the status socket. */
static char *daemon_render_status(void *arg)
{
	struct daemon *d = arg;
	struct status st;
	char *json = NULL;

	status_init(&st);
	tunnel_fill_status(d->tunnel, &st);
	if (status_to_json(&st, &json, false) < 0)
		json = NULL;
	status_cleanup(&st);
	return json;
}

/* Renders the metrics for the metrics endpoint: the same status document
 * as the status socket's, so culvertctl show --openmetrics prints the same. */
static int daemon_render_metrics(void *arg, enum metrics_format format, char **out, size_t *len)
{
	struct daemon *d = arg;
	struct status st;
	int ret;

	status_init(&st);
	tunnel_fill_status(d->tunnel, &st);
	ret = metrics_render(&st, 1, (int64_t)time(NULL), format, out, len);
	status_cleanup(&st);
	return ret;
}

/*
 * The nsfs fd of the namespace the device is in or is made in, when not
 * ours: DeviceNetns's, or --dev-fd's device's (TUNGETDEVNETNS); -1 when it
 * is ours.  Exits with the reason when DeviceNetns cannot be opened.
 */
static int daemon_dev_netns(const struct conf *c, const struct cmdline *cl)
{
	int fd;

	if (cl->dev_fd >= 0) {
		fd = tun_dev_netns(cl->dev_fd);
		/* A kernel before 5.2 cannot say: the device is taken to be
		 * where its name resolves, ours. */
		if (fd < 0)
			log_debug("--dev-fd %d: TUNGETDEVNETNS: %s; taking the device to be in "
				  "our namespace",
				  cl->dev_fd, strerror(-fd));
	} else if (c->device_netns) {
		fd = netns_open(c->device_netns);
		if (fd < 0)
			fatalx("DeviceNetns %s: %s%s", c->device_netns, strerror(-fd),
			       fd == -ENOENT ? " (culvertctl netns add NAME makes one)" : "");
	} else {
		return -1;
	}
	if (fd >= 0 && netns_is_current(fd) == 1) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Opens the status socket at $CULVERT_RUNDIR (default CULVERT_RUNSTATEDIR)
 * / DEVICE[@NETNS].sock, owned by the user culvertd will run as.  Failing
 * is no reason not to serve: it is logged. */
static void daemon_open_control(struct daemon *d, uid_t uid, gid_t gid)
{
	const char *dir = getenv("CULVERT_RUNDIR");
	const char *netns = tunnel_dev_netns(d->tunnel);
	char path[PATH_MAX], err[PATH_MAX + 128];

	if (!dir || !*dir)
		dir = CULVERT_RUNSTATEDIR;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_warn("status socket: mkdir %s", dir);
		return;
	}
	/* Namespaces may each have a tun0: the socket name tells them apart
	 * by the device's. */
	if (netns[0])
		snprintf(path, sizeof(path), "%s/%s@%s.sock", dir, tunnel_dev_name(d->tunnel),
			 netns);
	else
		snprintf(path, sizeof(path), "%s/%s.sock", dir, tunnel_dev_name(d->tunnel));
	if (control_open(&d->control, d->base, path, uid, gid, daemon_render_status, d, err,
			 sizeof(err)) < 0)
		log_warnx("%s; no status for culvertctl show", err);
	else
		log_debug("status on %s", path);
}

/*
 * An endpoint from the command line with the default port added when it has
 * none ("198.18.0.1", "[2001:db8::1]", a bare IPv6 literal, a name); the
 * configuration file always names the port.  Returns @s itself or a
 * malloc'd string that lives as long as the process.
 */
static const char *with_default_port(const char *s)
{
	const char *close = strchr(s, ']');
	const char *colon = strchr(s, ':');
	char *out;

	if (s[0] == '[' ? (close && close[1] == ':') : (colon && colon == strrchr(s, ':')))
		return s; /* has a port, or is malformed: conf_set() says which */
	if (asprintf(&out, s[0] == '[' || !colon ? "%s:%d" : "[%s]:%d", s, CULVERTD_DEFAULT_PORT) <
	    0)
		config_error("out of memory");
	return out;
}

/* The long name of option @val, for messages ("mtu"). */
static const char *option_name(const struct option *options, int val)
{
	for (; options->name; options++)
		if (options->val == val)
			return options->name;
	return "option";
}

static void parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'T'},
	    {"dev", required_argument, NULL, 'd'},
	    {"mode", required_argument, NULL, 'm'},
	    {"netns", required_argument, NULL, 'n'},
	    {"dev-fd", required_argument, NULL, 'F'},
	    {"transport", required_argument, NULL, 't'},
	    {"transports", required_argument, NULL, 'U'},
	    {"listen", required_argument, NULL, 'l'},
	    {"connect", required_argument, NULL, 'C'},
	    {"allow-from", required_argument, NULL, 'A'},
	    {"mtu", required_argument, NULL, 'M'},
	    {"out-buffer", required_argument, NULL, 'B'},
	    {"private-key", required_argument, NULL, 'k'},
	    {"peer-public-key", required_argument, NULL, 'p'},
	    {"preshared-key", required_argument, NULL, 'P'},
	    {"rekey-after", required_argument, NULL, 'R'},
	    {"keepalive", required_argument, NULL, 'K'},
	    {"dead-peer-timeout", required_argument, NULL, 'D'},
	    {"plain-keepalive", no_argument, NULL, 'E'},
	    {"no-offload", no_argument, NULL, 'O'},
	    {"plain-offload", no_argument, NULL, 'G'},
	    {"user", required_argument, NULL, 'u'},
	    {"group", required_argument, NULL, 'g'},
	    {"no-drop", no_argument, NULL, 'N'},
	    {"no-seccomp", no_argument, NULL, 'Z'},
	    {"metrics-listen", required_argument, NULL, 'X'},
	    {"clamp-mss", no_argument, NULL, 'Y'},
	    {"hub", no_argument, NULL, 'H'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(cl, 0, sizeof(*cl));
	cl->verbosity = INT_MIN;
	cl->dev_fd = -1;
	while ((opt = getopt_long(argc, argv, "c:d:m:t:l:C:A:M:k:p:u:g:vqhV", options, NULL)) !=
	       -1) {
		enum conf_key key;
		const char *value = optarg;

		switch (opt) {
		case 'c':
			cl->config_file = optarg;
			continue;
		case 'T':
			cl->check_config = true;
			continue;
		case 'B':
			cl->out_high =
			    (size_t)parse_number("--out-buffer", optarg, 65536, 64L * 1024 * 1024);
			continue;
		case 'R':
			cl->rekey_after_ms =
			    (uint64_t)parse_number("--rekey-after", optarg, 1, 120) * 1000;
			continue;
		case 'N':
			cl->no_drop = true;
			continue;
		case 'F':
			cl->dev_fd = (int)parse_number("--dev-fd", optarg, 0, INT_MAX);
			continue;
		case 'S':
			cl->use_syslog = true;
			continue;
		case 'v':
			cl->verbosity = (cl->verbosity == INT_MIN ? 0 : cl->verbosity) + 1;
			continue;
		case 'q':
			cl->verbosity = -1;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("culvertd %s\n", CULVERT_VERSION);
			exit(0);
		case 'd':
			key = CONF_KEY_DEVICE;
			break;
		case 'm':
			key = CONF_KEY_MODE;
			break;
		case 'n':
			key = CONF_KEY_DEVICE_NETNS;
			break;
		case 't':
			key = CONF_KEY_TRANSPORT;
			break;
		case 'U':
			key = CONF_KEY_TRANSPORTS;
			break;
		case 'l':
			key = CONF_KEY_LISTEN;
			value = with_default_port(optarg);
			break;
		case 'C':
			key = CONF_KEY_ENDPOINT;
			value = with_default_port(optarg);
			break;
		case 'A':
			key = CONF_KEY_ALLOW_FROM;
			break;
		case 'M':
			key = CONF_KEY_MTU;
			break;
		case 'k':
			key = CONF_KEY_PRIVATE_KEY_FILE;
			break;
		case 'p':
			key = CONF_KEY_PUBLIC_KEY;
			break;
		case 'P':
			key = CONF_KEY_PRESHARED_KEY_FILE;
			break;
		case 'K':
			key = CONF_KEY_KEEPALIVE;
			break;
		case 'D':
			key = CONF_KEY_DEAD_PEER_TIMEOUT;
			break;
		case 'E':
			key = CONF_KEY_PLAIN_KEEPALIVE;
			value = "yes";
			break;
		case 'O':
			key = CONF_KEY_OFFLOAD;
			value = "no";
			break;
		case 'G':
			key = CONF_KEY_PLAIN_OFFLOAD;
			value = "yes";
			break;
		case 'Z':
			key = CONF_KEY_SECCOMP;
			value = "no";
			break;
		case 'X':
			key = CONF_KEY_METRICS_LISTEN;
			break;
		case 'Y':
			key = CONF_KEY_CLAMP_MSS;
			value = "yes";
			break;
		case 'H':
			key = CONF_KEY_HUB;
			value = "yes";
			break;
		case 'u':
			key = CONF_KEY_USER;
			break;
		case 'g':
			key = CONF_KEY_GROUP;
			break;
		default:
			fprintf(stderr, "culvertd: see culvertd --help\n");
			exit(EXIT_USAGE);
		}
		if (cl->n_overrides == MAX_OVERRIDES)
			config_error("too many options");
		cl->overrides[cl->n_overrides].key = key;
		cl->overrides[cl->n_overrides].value = value;
		cl->overrides[cl->n_overrides].option = option_name(options, opt);
		cl->n_overrides++;
		cl->cli_set |= 1u << key;
	}
	if (optind < argc)
		config_error("unexpected argument '%s' (see culvertd --help)", argv[optind]);
	if (cl->rekey_after_ms && !(cl->cli_set & CONF_SET_PRIVATE_KEY_FILE) && !cl->config_file)
		config_error("--rekey-after needs sealed mode");
}

int main(int argc, char **argv)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGUSR1, SIGHUP};
	struct event *sigev[sizeof(signals) / sizeof(signals[0])];
	struct tunnel_config cfg = {0};
	struct cmdline cl;
	struct daemon d = {0};
	struct privdrop_target target = {.uid = (uid_t)-1, .gid = (gid_t)-1};
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len = 0;
	/* private key, then each peer's public key and psk: 32 bytes each */
	uint8_t *keys = NULL;
	struct hub_peers hp = {0};
	const struct conf_peer *peer;
	bool hub;
	bool drop;
	char err[512] = "";
	bool is_usage;
	int status = 0;
	size_t i;

	/* A fixed threshold (which also fixes the trim threshold, mallopt(3)):
	 * the large and short-lived blocks of a status document or a scrape
	 * (6 KiB per peer of a hub) are mapped and given back when freed.
	 * glibc's default raises the threshold after the first such free and
	 * then keeps the next ones in the heap for good, 10 KiB per peer. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	parse_cmdline(argc, argv, &cl);
	d.cmdline = &cl;
	if (cl.dev_fd >= 0) {
		int rc = tun_from_fd(&cl.dev, cl.dev_fd, true);

		if (rc < 0)
			config_error("--dev-fd %d: %s", cl.dev_fd,
				     rc == -EBADF    ? "not an open descriptor"
				     : rc == -EPROTO ? "attached without IFF_NO_PI (culvert "
						       "reads packets without the "
						       "packet-information header)"
				     : rc == -EPROTONOSUPPORT
					 ? "attached with IFF_VNET_HDR, and the kernel refused "
					   "the offloads"
					 : "not a TUN/TAP descriptor attached to a device "
					   "(TUNSETIFF)");
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "culvertd: libsodium failed to initialise\n");
		return EXIT_RUNTIME;
	}
	if (conf_build(&d.conf, &cl, err, sizeof(err)) < 0)
		config_error("%s", err);
	peer = conf_peer0(&d.conf);
	if (cl.rekey_after_ms && !d.conf.private_key_file)
		config_error("--rekey-after needs sealed mode");

	/* Keys: read (and checked) now, as part of the configuration. */
	if (d.conf.private_key_file) {
		struct rlimit no_core = {0, 0};

		/* No core dump may ever hold the keys (doc/design.md section 3). */
		setrlimit(RLIMIT_CORE, &no_core);
		prctl(PR_SET_DUMPABLE, 0);
		keys = sodium_malloc(3 * KEY_LEN);
		if (!keys) {
			fprintf(stderr, "culvertd: out of memory for keys\n");
			return EXIT_RUNTIME;
		}
		read_key_file("PrivateKeyFile", d.conf.private_key_file, keys);
		if (key_from_base64(keys + KEY_LEN, peer->public_key) < 0)
			config_error("PublicKey: not a base64 32-byte key");
		if (peer->preshared_key_file)
			read_key_file("PresharedKeyFile", peer->preshared_key_file,
				      keys + 2 * KEY_LEN);
		cfg.sealed = true;
		cfg.private_key = keys;
		cfg.peer_public_key = keys + KEY_LEN;
		cfg.psk = peer->preshared_key_file ? keys + 2 * KEY_LEN : NULL;
	}

	/* Privileges: who culvertd becomes after set-up. */
	drop = d.conf.user != NULL;
	if (drop && cl.no_drop)
		config_error("User and --no-drop contradict each other");
	if (drop && privdrop_resolve(d.conf.user, d.conf.group, &target, err, sizeof(err)) < 0)
		config_error("User/Group: %s", err);
	if (drop && geteuid() != 0 && geteuid() != target.uid)
		config_error("User %s: only root can change user", d.conf.user);
	if (!drop && !cl.no_drop && geteuid() == 0 && !cl.check_config)
		config_error("refusing to serve as root: give --user USER [--group GROUP] (or "
			     "User=) to drop privileges after set-up, or --no-drop to keep them");

	/* Endpoints: resolved now, so a typo fails before anything opens. */
	if (d.conf.listen &&
	    resolve("Listen", d.conf.listen, true, &cfg.addr, &cfg.addr_len, err, sizeof(err)) < 0)
		config_error("%s", err);
	if (peer->endpoint) {
		struct sockaddr_storage *ss = d.conf.listen ? &cfg.peer_addr : &cfg.addr;
		socklen_t *len = d.conf.listen ? &cfg.peer_addr_len : &cfg.addr_len;

		if (resolve("Endpoint", peer->endpoint, false, ss, len, err, sizeof(err)) < 0)
			config_error("%s", err);
	}
	hub = conf_is_hub(&d.conf);
	cfg.plain_hub = d.conf.hub;
	cfg.peer_to_peer = d.conf.peer_to_peer;
	/* A plain hub's [Peer]s all have an Endpoint; a peer the command line
	 * made (--dead-peer-timeout) only carries the interface's liveness. */
	if (hub && (!d.conf.hub || conf_peer0(&d.conf)->endpoint)) {
		if (hub_peers_make(&d.conf, NULL, &hp, err, sizeof(err)) < 0)
			config_error("%s", err);
		cfg.peers = hp.peers;
		cfg.n_peers = (unsigned)d.conf.n_peers;
	}
	if (d.conf.metrics_listen && resolve("MetricsListen", d.conf.metrics_listen, true,
					     &metrics_addr, &metrics_len, err, sizeof(err)) < 0)
		config_error("%s", err);
	if (cl.check_config) {
		sodium_free(keys);
		hub_peers_free(&hp);
		printf("%s: configuration OK\n", cl.config_file ? cl.config_file : "command line");
		conf_cleanup(&d.conf);
		return 0;
	}

	cfg.dev_name = d.conf.device;
	cfg.mode = d.conf.mode;
	if (cl.dev_fd >= 0)
		cfg.dev = &cl.dev;
	cfg.listen = d.conf.listen != NULL;
	/* Both transports (doc/design.md section 8): the UDP socket is the
	 * interface's, TCP comes beside it. */
	cfg.auto_transport = conf_transport(&d.conf) == CONF_TRANSPORT_AUTO;
	cfg.udp_and_tcp =
	    cfg.listen && d.conf.transports == (CONF_TRANSPORTS_TCP | CONF_TRANSPORTS_UDP);
	cfg.transport =
	    conf_transport(&d.conf) == CONF_TRANSPORT_UDP || cfg.auto_transport || cfg.udp_and_tcp
		? TUNNEL_UDP
		: TUNNEL_TCP;
	cfg.mtu = d.conf.mtu;
	cfg.out_high = cl.out_high;
	cfg.rekey_after_ms = cl.rekey_after_ms;
	cfg.keepalive_ms = (uint64_t)peer->keepalive * 1000;
	cfg.dead_peer_ms = (uint64_t)peer->dead_peer_timeout * 1000;
	cfg.plain_keepalive = peer->plain_keepalive;
	cfg.offload = d.conf.offload;
	cfg.allow_from = d.conf.allow_from;
	cfg.n_allow_from = d.conf.n_allow_from;
	cfg.plain_offload = peer->plain_offload;
	cfg.clamp_mss = d.conf.clamp_mss;

	log_init("culvertd", conf_log_level(&d.conf, &cl), cl.use_syslog);
	cfg.dev_netns_fd = daemon_dev_netns(&d.conf, &cl);
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (!d.base) {
		fprintf(stderr, "culvertd: event_base_new failed\n");
		return EXIT_RUNTIME;
	}
	d.tunnel = tunnel_new(d.base, &cfg, err, sizeof(err), &is_usage);
	/* The sessions hold their own copies now. */
	sodium_free(keys);
	hub_peers_free(&hp);
	if (!d.tunnel) {
		fprintf(stderr, "culvertd: %s\n", err);
		event_base_free(d.base);
		return is_usage ? EXIT_USAGE : EXIT_RUNTIME;
	}
	daemon_open_control(&d, drop ? target.uid : (uid_t)-1, drop ? target.gid : (gid_t)-1);
	/* Bound now, as root if need be (a port below 1024); refusing to
	 * start is better than serving without the metrics asked for. */
	if (d.conf.metrics_listen) {
		if (exporter_open(&d.exporter, d.base, (struct sockaddr *)&metrics_addr,
				  metrics_len, daemon_render_metrics, &d, err, sizeof(err)) < 0)
			fatalx("%s %s", err, d.conf.metrics_listen);
		log_info("metrics on http://%s/metrics", d.conf.metrics_listen);
	}
	tunnel_set_lost_cb(d.tunnel, daemon_peer_lost, &d);
	/* A TCP client in backoff reconnects as soon as the underlay changes
	 * instead of waiting out its timer; without the watch it still does,
	 * later. */
	if (((cfg.transport == TUNNEL_TCP || cfg.auto_transport) && !cfg.listen) || hub) {
		int rc = netwatch_open(d.base, daemon_underlay_changed, &d, &d.netwatch);

		if (rc < 0)
			log_warnx("netlink watch: %s; reconnecting on the backoff timer only",
				  strerror(-rc));
	}
	if (hub && tunnel_dev_netns_fd(d.tunnel) >= 0) {
		int rc = netns_run_in(tunnel_dev_netns_fd(d.tunnel), daemon_watch_dev_netns, &d);

		if (rc < 0)
			log_warnx("netlink watch in the device's namespace: %s; addresses added "
				  "to %s later are not seen",
				  strerror(-rc), tunnel_dev_name(d.tunnel));
	}

	/* Everything privileged is done: the device and the sockets are open. */
	if (drop && geteuid() == 0) {
		if (privdrop_apply(&target, err, sizeof(err)) < 0)
			fatalx("%s", err);
		log_info("running as user %s (uid %u, gid %u) with no capabilities", target.user,
			 (unsigned)target.uid, (unsigned)target.gid);
	} else if (cl.no_drop) {
		log_info("--no-drop: keeping root privileges");
	} else if (privdrop_have_caps()) {
		/* Started unprivileged with capabilities for set-up (systemd's
		 * AmbientCapabilities=): they are not needed any more. */
		if (privdrop_clear_caps(err, sizeof(err)) < 0)
			fatalx("%s", err);
		log_info("gave up all capabilities");
	}
	if (notify_init(d.base, &d.watchdog) < 0)
		fatalx("out of memory for the watchdog timer");
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		sigev[i] = evsignal_new(d.base, signals[i], signal_cb, &d);
		if (!sigev[i] || event_add(sigev[i], NULL) < 0)
			fatalx("cannot watch signal %d", signals[i]);
	}
	/* Last: from here on any system call the loop does not need kills
	 * the daemon (daemon/sandbox.h). */
	if (d.conf.seccomp) {
		if (sandbox_enter(err, sizeof(err)) < 0)
			fatalx("%s (Seccomp = no or --no-seccomp runs without)", err);
		log_info("seccomp filter on");
	} else {
		log_info("no seccomp filter (Seccomp = no or --no-seccomp)");
	}

	notify_ready("%s: serving", tunnel_dev_name(d.tunnel));
	event_base_dispatch(d.base);
	notify_stopping(d.watchdog);

	if (tunnel_failed(d.tunnel))
		status = EXIT_RUNTIME;
	log_stats(d.tunnel);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		event_free(sigev[i]);
	control_close(d.control);
	exporter_close(d.exporter);
	netwatch_close(d.netwatch);
	netwatch_close(d.dev_netwatch);
	tunnel_free(d.tunnel);
	event_base_free(d.base);
	conf_cleanup(&d.conf);
	return status;
}
