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

#include "config.h"
#include "endpoint.h"
#include "log.h"
#include "tunnel.h"

#define CULVERTD_DEFAULT_PORT 55555

/* Exit statuses: 0 clean exit, 1 runtime failure, 2 usage or configuration. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: culvertd --dev NAME [--mode tun|tap] [--transport tcp|udp]\n"
		"                (--listen [ADDR]:PORT | --connect HOST:PORT) [--mtu N] [-v]...\n"
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
		"      --out-buffer BYTES  TCP output buffer high-water mark (default %d)\n"
		"  -v, --verbose           more log output (-v debug, -vv per packet)\n"
		"  -q, --quiet             warnings and errors only\n"
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

	log_warnx("%s: rx %" PRIu64 " packets %" PRIu64 " bytes, tx %" PRIu64 " packets %" PRIu64
		  " bytes; drops: bad_frame %" PRIu64 " dev_write %" PRIu64 " backpressure %" PRIu64
		  " no_peer %" PRIu64 " oversize %" PRIu64 " send_error %" PRIu64
		  " unknown_peer %" PRIu64 "; device pauses %" PRIu64 "; connections %" PRIu64
		  " reconnects %" PRIu64 " bad_connections %" PRIu64,
		  tunnel_dev_name(t), s->rx_packets, s->rx_bytes, s->tx_packets, s->tx_bytes,
		  s->drop_bad_frame, s->drop_dev_write, s->drop_backpressure, s->drop_no_peer,
		  s->drop_oversize, s->drop_send_error, s->drop_unknown_peer, s->dev_pauses,
		  s->connections, s->reconnects, s->bad_connections);
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
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct tunnel_config cfg = {.mode = TUN_MODE_TUN, .transport = TUNNEL_TCP};
	const char *listen_str = NULL, *connect_str = NULL;
	int level = LOG_LEVEL_INFO, opt, rc, status = 0;
	struct event_base *base;
	struct event *sigev[4];
	int signals[4] = {SIGINT, SIGTERM, SIGUSR1, SIGHUP};
	struct signal_ctx sctx;
	struct tunnel *t;
	char err[256] = "";
	bool is_usage;
	size_t i;

	while ((opt = getopt_long(argc, argv, "d:m:t:l:c:M:vqhV", options, NULL)) != -1) {
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

	log_init("culvertd", level);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "culvertd: libsodium failed to initialise\n");
		return EXIT_RUNTIME;
	}
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "culvertd: event_base_new failed\n");
		return EXIT_RUNTIME;
	}
	t = tunnel_new(base, &cfg, err, sizeof(err), &is_usage);
	if (!t) {
		fprintf(stderr, "culvertd: %s\n", err);
		event_base_free(base);
		return is_usage ? EXIT_USAGE : EXIT_RUNTIME;
	}
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

	event_base_dispatch(base);

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
