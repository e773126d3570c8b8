/* SPDX-License-Identifier: MIT */
/*
 * culvertd: carries every packet of a TUN/TAP device to one peer over TCP or
 * UDP.  Start-up order (DESIGN.md section 4): parse and validate the whole
 * command line, open the device and the socket, then serve.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "config.h"
#include "endpoint.h"
#include "key.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"
#include "session.h"
#include "tunnel.h"

#define CULVERTD_DEFAULT_PORT 55555

/* Exit statuses: 0 clean exit, 1 runtime failure, 2 usage or configuration. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: culvertd --dev NAME [--mode tun|tap] [--transport tcp|udp]\n"
	    "                (--listen [ADDR]:PORT | --connect HOST:PORT) [--mtu N] [-v]...\n"
	    "                [--private-key FILE --peer-public-key KEY [--preshared-key FILE]]\n"
	    "\n"
	    "Carries every packet of a TUN (layer 3) or TAP (layer 2) device to one peer\n"
	    "over TCP or UDP, each framed with a 2-byte big-endian length (the simpletun\n"
	    "format).\n"
	    "\n"
	    "  -d, --dev NAME          device to attach to; created (and removed at exit)\n"
	    "                          when it does not exist\n"
	    "  -m, --mode tun|tap      layer 3 (default) or layer 2\n"
	    "  -t, --transport tcp|udp underlay transport (default tcp)\n"
	    "  -l, --listen [ADDR]:PORT  wait for the peer; ADDR defaults to every address\n"
	    "                          (IPv6 and IPv4); PORT defaults to %d\n"
	    "  -c, --connect HOST:PORT connect to the peer (IPv6 literals in brackets)\n"
	    "  -M, --mtu N             set the device MTU to N bytes (both ends must agree;\n"
	    "                          frames longer than MTU, plus 18 for TAP, are invalid)\n"
	    "\n"
	    "Sealed mode (Noise IKpsk2, ChaCha20-Poly1305; both keys select it):\n"
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
	    "\n"
	    "Other options:\n"
	    "      --out-buffer BYTES  TCP output buffer high-water mark (default %d)\n"
	    "  -v, --verbose           more log output (-v debug, -vv per packet)\n"
	    "  -q, --quiet             warnings and errors only\n"
	    "      --syslog            log to syslog (facility daemon) instead of stderr\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n"
	    "\n"
	    "Signals: SIGINT/SIGTERM stop cleanly, SIGUSR1 logs the counters.\n"
	    "Exit status: 0 clean exit, 1 runtime failure, 2 usage or configuration error.\n",
	    CULVERTD_DEFAULT_PORT, TUNNEL_OUT_HIGH_DEFAULT);
}

/* Prints a one-line configuration error and exits with status 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "culvertd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see culvertd --help)\n");
	exit(EXIT_USAGE);
}

/* Reads a key file into @key (sodium_malloc'd, 32 bytes), or exits with
 * status 2 and the reason. */
static void read_key_file(const char *opt, const char *path, uint8_t *key)
{
	char err[256];

	if (key_read_file(path, key, err, sizeof(err)) < 0) {
		fprintf(stderr, "culvertd: %s: %s\n", opt, err);
		exit(EXIT_USAGE);
	}
}

static long parse_number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage_error("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
	return v;
}

static void log_stats(const struct tunnel *t)
{
	const struct tunnel_stats *s = tunnel_get_stats(t);
	struct session_stats ss;
	char sealed[640] = "";

	if (tunnel_get_session_stats(t, &ss))
		snprintf(sealed, sizeof(sealed),
			 "; sealed: handshakes %" PRIu64 " rekeys %" PRIu64 " bad_mac1 %" PRIu64
			 " bad_handshake %" PRIu64 " unknown_key %" PRIu64
			 " replayed_initiation %" PRIu64 " rate_limited %" PRIu64
			 " bad_tag %" PRIu64 " replayed %" PRIu64 " stale %" PRIu64
			 " out_of_order %" PRIu64 " expired %" PRIu64 " unknown_index %" PRIu64
			 " malformed %" PRIu64 " no_session %" PRIu64,
			 ss.handshakes_completed, ss.rekeys, ss.rx_bad_mac1, ss.rx_bad_handshake,
			 ss.rx_unknown_peer, ss.rx_replayed_initiation, ss.rx_rate_limited,
			 ss.rx_bad_tag, ss.rx_replayed, ss.rx_stale, ss.rx_out_of_order,
			 ss.rx_expired, ss.rx_unknown_index, ss.rx_malformed, s->drop_no_session);

	log_warnx("%s: rx %" PRIu64 " packets %" PRIu64 " bytes, tx %" PRIu64 " packets %" PRIu64
		  " bytes; drops: bad_frame %" PRIu64 " dev_write %" PRIu64 " backpressure %" PRIu64
		  " no_peer %" PRIu64 " oversize %" PRIu64 " send_error %" PRIu64
		  " unknown_peer %" PRIu64 "; device pauses %" PRIu64 "; connections %" PRIu64
		  " reconnects %" PRIu64 " bad_connections %" PRIu64 "; keepalives_sent %" PRIu64
		  " keepalives_received %" PRIu64 " dead_peer %" PRIu64 "%s",
		  tunnel_dev_name(t), s->rx_packets, s->rx_bytes, s->tx_packets, s->tx_bytes,
		  s->drop_bad_frame, s->drop_dev_write, s->drop_backpressure, s->drop_no_peer,
		  s->drop_oversize, s->drop_send_error, s->drop_unknown_peer, s->dev_pauses,
		  s->connections, s->reconnects, s->bad_connections, s->keepalives_sent,
		  s->keepalives_received, s->dead_peer, sealed);
}

struct signal_ctx {
	struct event_base *base;
	struct tunnel *tunnel;
};

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct signal_ctx *ctx = arg;

	if (sig == SIGUSR1) {
		log_stats(ctx->tunnel);
		return;
	}
	log_info("%s: stopping on %s", tunnel_dev_name(ctx->tunnel), strsignal((int)sig));
	event_base_loopbreak(ctx->base);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"dev", required_argument, NULL, 'd'},
	    {"mode", required_argument, NULL, 'm'},
	    {"transport", required_argument, NULL, 't'},
	    {"listen", required_argument, NULL, 'l'},
	    {"connect", required_argument, NULL, 'c'},
	    {"mtu", required_argument, NULL, 'M'},
	    {"out-buffer", required_argument, NULL, 'B'},
	    {"private-key", required_argument, NULL, 'k'},
	    {"peer-public-key", required_argument, NULL, 'p'},
	    {"preshared-key", required_argument, NULL, 'P'},
	    {"rekey-after", required_argument, NULL, 'R'},
	    {"keepalive", required_argument, NULL, 'K'},
	    {"dead-peer-timeout", required_argument, NULL, 'D'},
	    {"plain-keepalive", no_argument, NULL, 'E'},
	    {"user", required_argument, NULL, 'u'},
	    {"group", required_argument, NULL, 'g'},
	    {"no-drop", no_argument, NULL, 'N'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct tunnel_config cfg = {.mode = TUN_MODE_TUN, .transport = TUNNEL_TCP};
	const char *listen_str = NULL, *connect_str = NULL;
	const char *key_file = NULL, *peer_key = NULL, *psk_file = NULL;
	uint8_t *keys = NULL; /* private key, peer public key, psk: 32 bytes each */
	const char *user = NULL, *group = NULL;
	bool no_drop = false, use_syslog = false;
	struct privdrop_target target;
	int level = LOG_LEVEL_INFO, opt, rc, status = 0;
	struct event_base *base;
	struct event *sigev[4];
	int signals[4] = {SIGINT, SIGTERM, SIGUSR1, SIGHUP};
	struct signal_ctx sctx;
	struct tunnel *t;
	char err[256] = "";
	bool is_usage;
	size_t i;

	while ((opt = getopt_long(argc, argv, "d:m:t:l:c:M:k:p:u:g:vqhV", options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			cfg.dev_name = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "tun") == 0)
				cfg.mode = TUN_MODE_TUN;
			else if (strcmp(optarg, "tap") == 0)
				cfg.mode = TUN_MODE_TAP;
			else
				usage_error("--mode: '%s' is neither tun nor tap", optarg);
			break;
		case 't':
			if (strcmp(optarg, "tcp") == 0)
				cfg.transport = TUNNEL_TCP;
			else if (strcmp(optarg, "udp") == 0)
				cfg.transport = TUNNEL_UDP;
			else
				usage_error("--transport: '%s' is neither tcp nor udp", optarg);
			break;
		case 'l':
			listen_str = optarg;
			break;
		case 'c':
			connect_str = optarg;
			break;
		case 'M':
			cfg.mtu = (int)parse_number("--mtu", optarg, 68, 65535 - TUN_TAP_HDR_LEN);
			break;
		case 'B':
			cfg.out_high =
			    (size_t)parse_number("--out-buffer", optarg, 65536, 64L * 1024 * 1024);
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'p':
			peer_key = optarg;
			break;
		case 'P':
			psk_file = optarg;
			break;
		case 'R':
			cfg.rekey_after_ms =
			    (uint64_t)parse_number("--rekey-after", optarg, 1, 120) * 1000;
			break;
		case 'K':
			cfg.keepalive_ms =
			    (uint64_t)parse_number("--keepalive", optarg, 0, 3600) * 1000;
			break;
		case 'D':
			cfg.dead_peer_ms =
			    (uint64_t)parse_number("--dead-peer-timeout", optarg, 0, 86400) * 1000;
			break;
		case 'E':
			cfg.plain_keepalive = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'N':
			no_drop = true;
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'v':
			level++;
			break;
		case 'q':
			level = LOG_LEVEL_WARN;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("culvertd %s\n", CULVERT_VERSION);
			return 0;
		default:
			fprintf(stderr, "culvertd: see culvertd --help\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg.dev_name)
		usage_error("--dev NAME is required");
	if (!listen_str == !connect_str)
		usage_error("give exactly one of --listen and --connect");
	cfg.listen = listen_str != NULL;
	rc = endpoint_parse(cfg.listen ? listen_str : connect_str, CULVERTD_DEFAULT_PORT,
			    cfg.listen, AF_UNSPEC, &cfg.addr, &cfg.addr_len);
	if (rc < 0)
		usage_error("%s '%s': %s", cfg.listen ? "--listen" : "--connect",
			    cfg.listen ? listen_str : connect_str,
			    rc == -ENOENT ? "host not found" : "not [ADDR]:PORT");

	if (sodium_init() < 0) {
		fprintf(stderr, "culvertd: libsodium failed to initialise\n");
		return EXIT_RUNTIME;
	}
	if (!key_file != !peer_key)
		usage_error("sealed mode needs both --private-key and --peer-public-key");
	if (psk_file && !key_file)
		usage_error("--preshared-key needs --private-key and --peer-public-key");
	if (cfg.rekey_after_ms && !key_file)
		usage_error("--rekey-after needs sealed mode");
	if (cfg.keepalive_ms && !key_file && !cfg.plain_keepalive)
		usage_error("--keepalive in plain mode needs --plain-keepalive (simpletun would "
			    "write keepalives to its device)");
	if (key_file) {
		struct rlimit no_core = {0, 0};

		/* No core dump may ever hold the keys (DESIGN.md section 3). */
		setrlimit(RLIMIT_CORE, &no_core);
		prctl(PR_SET_DUMPABLE, 0);
		keys = sodium_malloc(3 * 32);
		if (!keys) {
			fprintf(stderr, "culvertd: out of memory for keys\n");
			return EXIT_RUNTIME;
		}
		read_key_file("--private-key", key_file, keys);
		if (key_from_base64(keys + 32, peer_key) < 0)
			usage_error("--peer-public-key: '%s' is not a base64 32-byte key",
				    peer_key);
		if (psk_file)
			read_key_file("--preshared-key", psk_file, keys + 64);
		cfg.sealed = true;
		cfg.private_key = keys;
		cfg.peer_public_key = keys + 32;
		cfg.psk = psk_file ? keys + 64 : NULL;
	}

	if (group && !user)
		usage_error("--group needs --user");
	if (user && no_drop)
		usage_error("--user and --no-drop contradict each other");
	if (user && privdrop_resolve(user, group, &target, err, sizeof(err)) < 0)
		usage_error("--user/--group: %s", err);
	if (user && geteuid() != 0 && geteuid() != target.uid)
		usage_error("--user %s: only root can change user", user);
	if (!user && !no_drop && geteuid() == 0)
		usage_error("refusing to serve as root: give --user USER [--group GROUP] to drop "
			    "privileges after set-up, or --no-drop to keep them");

	log_init("culvertd", level, use_syslog);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "culvertd: event_base_new failed\n");
		return EXIT_RUNTIME;
	}
	t = tunnel_new(base, &cfg, err, sizeof(err), &is_usage);
	/* The session holds its own copies now. */
	sodium_free(keys);
	if (!t) {
		fprintf(stderr, "culvertd: %s\n", err);
		event_base_free(base);
		return is_usage ? EXIT_USAGE : EXIT_RUNTIME;
	}
	/* Everything privileged is done: the device and the sockets are open. */
	if (user && geteuid() == 0) {
		if (privdrop_apply(&target, err, sizeof(err)) < 0)
			fatalx("%s", err);
		log_info("running as user %s (uid %u, gid %u) with no capabilities", target.user,
			 (unsigned)target.uid, (unsigned)target.gid);
	} else if (no_drop) {
		log_info("--no-drop: keeping root privileges");
	}
	if (notify_init(base) < 0)
		fatalx("out of memory for the watchdog timer");
	sctx.base = base;
	sctx.tunnel = t;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		/* SIGHUP is reserved for reloading the configuration; until
		 * there is one, it is ignored rather than fatal. */
		sigev[i] = evsignal_new(base, signals[i], signal_cb, &sctx);
		if (signals[i] == SIGHUP) {
			event_free(sigev[i]);
			sigev[i] = NULL;
			signal(SIGHUP, SIG_IGN);
			continue;
		}
		if (!sigev[i] || event_add(sigev[i], NULL) < 0)
			fatalx("cannot watch signal %d", signals[i]);
	}

	notify_ready("%s: serving", tunnel_dev_name(t));
	event_base_dispatch(base);
	notify_stopping();

	if (tunnel_failed(t))
		status = EXIT_RUNTIME;
	log_stats(t);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (sigev[i])
			event_free(sigev[i]);
	tunnel_free(t);
	event_base_free(base);
	return status;
}
