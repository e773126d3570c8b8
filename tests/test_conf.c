/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "check_run.h"

#ifndef CONF_EXAMPLES_DIR
#error "CONF_EXAMPLES_DIR must name doc/examples"
#endif

/* RFC 7748 section 6.1: Alice's and Bob's public keys, in base64. */
#define PUB_A "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define PUB_B "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="

static struct conf c;
static char err[512];
static char tmpdir[64];

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	conf_init(&c);
	err[0] = '\0';
	strcpy(tmpdir, "/tmp/test_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	conf_cleanup(&c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Loads @text as "t.conf" into c. */
static int load(const char *text)
{
	err[0] = '\0';
	return conf_load_string(&c, "t.conf", text, err, sizeof(err));
}

/* Loads @text, which must fail with -EINVAL and exactly @msg. */
static void load_fails(const char *text, const char *msg)
{
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_str_eq(err, msg);
}

/* Loads @text, which must parse, and validates it into err. */
static int load_validate(const char *text)
{
	ck_assert_msg(load(text) == 0, "load: %s", err);
	return conf_validate(&c, "t.conf", err, sizeof(err));
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* The smallest valid file: a device and somewhere to go. */
#define MINIMAL "[Interface]\nDevice = tun0\n[Peer]\nEndpoint = 198.18.0.1:55555\n"

START_TEST(test_defaults)
{
	ck_assert_str_eq(c.device, "");
	ck_assert_int_eq(c.mode, TUN_MODE_TUN);
	ck_assert_int_eq(c.mtu, 0);
	ck_assert_ptr_null(c.private_key_file);
	ck_assert_ptr_null(c.listen);
	ck_assert_ptr_null(c.user);
	ck_assert_ptr_null(c.group);
	ck_assert_int_eq(c.log_level, CONF_LOG_INFO);
	ck_assert_uint_eq(c.transports, 0);
	ck_assert(c.peer_to_peer);
	ck_assert_uint_eq(c.n_peers, 0);
	ck_assert_ptr_null(c.peers);
	ck_assert_uint_eq(c.set, 0);

	/* A minimal file keeps every other default. */
	ck_assert_int_eq(load_validate(MINIMAL), 0);
	ck_assert_uint_eq(c.set, CONF_SET_DEVICE);
	ck_assert_uint_eq(c.n_peers, 1);
	ck_assert_uint_eq(c.peers[0].set, CONF_SET_ENDPOINT);
	ck_assert_uint_eq(c.peers[0].section_line, 3);
	ck_assert_str_eq(c.device, "tun0");
	ck_assert_str_eq(c.peers[0].endpoint, "198.18.0.1:55555");
	ck_assert_uint_eq(c.line[CONF_KEY_DEVICE], 2);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_ENDPOINT], 4);
	ck_assert_uint_eq(c.line[CONF_KEY_ENDPOINT], 0);
	ck_assert_uint_eq(c.line[CONF_KEY_MTU], 0);
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_TCP);
	ck_assert_str_eq(c.peers[0].name, "");
	ck_assert_str_eq(c.peers[0].public_key, "");
	ck_assert_ptr_null(c.peers[0].preshared_key_file);
	ck_assert_uint_eq(c.peers[0].keepalive, 0);
	ck_assert(!c.peers[0].plain_keepalive);
	ck_assert_uint_eq(c.peers[0].dead_peer_timeout, 0);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 0);
	ck_assert(c.peer_to_peer);
	ck_assert_uint_eq(c.transports, 0);
	ck_assert_int_eq(c.log_level, CONF_LOG_INFO);
	ck_assert(c.offload);
	ck_assert(!c.peers[0].plain_offload);
	ck_assert(c.seccomp);
	ck_assert(!c.clamp_mss);
}
END_TEST

START_TEST(test_every_key)
{
	ck_assert_int_eq(load_validate("[Interface]\n"
				       "Device = tap7\n"
				       "Mode = tap\n"
				       "MTU = 65517\n"
				       "PrivateKeyFile = /etc/culvert/private.key\n"
				       "Listen = [2001:db8::1]:443\n"
				       "User = culvert\n"
				       "Group = nogroup\n"
				       "LogLevel = trace\n"
				       "Offload = no\n"
				       "AllowFrom = 2001:db8::/32\n"
				       "Seccomp = no\n"
				       "MetricsListen = 127.0.0.1:9587\n"
				       "ClampMSS = yes\n"
				       "Transports = udp\n"
				       "PeerToPeer = no\n"
				       "Hub = no\n"
				       "DeviceNetns = blue\n"
				       "[Peer]\n"
				       "PublicKey = " PUB_A "\n"
				       "PresharedKeyFile = /etc/culvert/psk.key\n"
				       "Endpoint = peer.example.net:55555\n"
				       "Transport = udp\n"
				       "Keepalive = 3600\n"
				       "PlainKeepalive = no\n"
				       "DeadPeerTimeout = 86400\n"
				       "PlainOffload = no\n"
				       "Name = site-a.example_1\n"),
			 0);
	/* Every key but AllowedIPs (TUN only; test_allowed_ips). */
	ck_assert_uint_eq(c.set | c.peers[0].set,
			  ((1u << CONF_KEY_COUNT) - 1) & ~CONF_SET_ALLOWED_IPS);
	ck_assert_uint_eq(c.set & c.peers[0].set, 0);
	ck_assert_uint_eq(c.transports, CONF_TRANSPORTS_UDP);
	ck_assert_uint_eq(c.line[CONF_KEY_TRANSPORTS], 15);
	ck_assert(!c.peer_to_peer);
	ck_assert_uint_eq(c.line[CONF_KEY_PEER_TO_PEER], 16);
	ck_assert_str_eq(c.peers[0].name, "site-a.example_1");
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_NAME], 28);
	ck_assert_str_eq(c.device_netns, "blue");
	ck_assert_uint_eq(c.line[CONF_KEY_DEVICE_NETNS], 18);
	ck_assert(!c.hub);
	ck_assert_uint_eq(c.line[CONF_KEY_HUB], 17);
	ck_assert_str_eq(c.device, "tap7");
	ck_assert_int_eq(c.mode, TUN_MODE_TAP);
	ck_assert_int_eq(c.mtu, 65517);
	ck_assert_str_eq(c.private_key_file, "/etc/culvert/private.key");
	ck_assert_str_eq(c.listen, "[2001:db8::1]:443");
	ck_assert_str_eq(c.user, "culvert");
	ck_assert_str_eq(c.group, "nogroup");
	ck_assert_int_eq(c.log_level, CONF_LOG_TRACE);
	ck_assert_str_eq(c.peers[0].public_key, PUB_A);
	ck_assert_str_eq(c.peers[0].preshared_key_file, "/etc/culvert/psk.key");
	ck_assert_str_eq(c.peers[0].endpoint, "peer.example.net:55555");
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_UDP);
	ck_assert_uint_eq(c.peers[0].keepalive, 3600);
	ck_assert(!c.peers[0].plain_keepalive);
	ck_assert_uint_eq(c.peers[0].dead_peer_timeout, 86400);
	ck_assert_uint_eq(c.line[CONF_KEY_DEVICE], 2);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_DEAD_PEER_TIMEOUT], 26);
	ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9587");
	ck_assert_uint_eq(c.line[CONF_KEY_METRICS_LISTEN], 13);
	ck_assert(!c.offload);
	ck_assert_uint_eq(c.line[CONF_KEY_OFFLOAD], 10);
	ck_assert_uint_eq(c.n_allow_from, 1);
	ck_assert_uint_eq(c.line[CONF_KEY_ALLOW_FROM], 11);
	ck_assert(!c.peers[0].plain_offload);
	ck_assert(!c.seccomp);
	ck_assert_uint_eq(c.line[CONF_KEY_SECCOMP], 12);
	ck_assert(c.clamp_mss);
	ck_assert_uint_eq(c.line[CONF_KEY_CLAMP_MSS], 14);
}
END_TEST

START_TEST(test_case_insensitive)
{
	ck_assert_int_eq(load_validate("[INTERFACE]\n"
				       "device = tun0\n"
				       "MODE = TAP\n"
				       "mtu = 1400\n"
				       "privatekeyfile = /k\n"
				       "LISTEN = :1\n"
				       "loglevel = Debug\n"
				       "[peer]\n"
				       "PUBLICKEY = " PUB_B "\n"
				       "tRaNsPoRt = UDP\n"
				       "keepalive = 5\n"
				       "plainkeepalive = YES\n"),
			 0);
	ck_assert_int_eq(c.mode, TUN_MODE_TAP);
	ck_assert_int_eq(c.mtu, 1400);
	ck_assert_int_eq(c.log_level, CONF_LOG_DEBUG);
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_UDP);
	ck_assert(c.peers[0].plain_keepalive);
	/* Values other than the fixed words keep their case. */
	ck_assert_str_eq(c.peers[0].public_key, PUB_B);
}
END_TEST

START_TEST(test_comments_and_blanks)
{
	/* A '#' after no white space is part of the value. */
	ck_assert_int_eq(load("[Interface]\nMTU=1400#x\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: MTU: '1400#x' is not a number from 68 to 65517");

	conf_cleanup(&c);
	ck_assert_int_eq(load("# a comment\n"
			      "; another\n"
			      "\n"
			      "   \t\n"
			      "  # indented comment\n"
			      "[Interface] # the interface\n"
			      "\tDevice = tun0 ; trailing\n"
			      "    MTU=1400 #comment\n"
			      "PrivateKeyFile = /etc/a#b;c   # '#' inside a path stays\n"
			      "[Peer]    ; x\n"
			      "PublicKey = " PUB_A "# glued comment\n"
			      "Endpoint = 198.18.0.1:55555\n"),
			 -EINVAL);
	/* "PUB_A#..." is not a comment either: the key check catches it. */
	ck_assert_str_eq(err, "t.conf:11: PublicKey: '" PUB_A "# gl...' is not a base64 32-byte "
			      "key");
	ck_assert_uint_eq(strlen(PUB_A), 44);

	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("# a comment\n"
				       "; another\n"
				       "\n"
				       "   \t\n"
				       "  # indented comment\n"
				       "[Interface] # the interface\n"
				       "\tDevice = tun0 ; trailing\n"
				       "    MTU=1400 #comment\n"
				       "PrivateKeyFile = /etc/a#b;c   # '#' inside a path stays\n"
				       "[Peer]    ; x\n"
				       "PublicKey = " PUB_A " # a comment\n"
				       "Endpoint = 198.18.0.1:55555\n"
				       "# the end, without a newline"),
			 0);
	ck_assert_str_eq(c.device, "tun0");
	ck_assert_int_eq(c.mtu, 1400);
	ck_assert_str_eq(c.private_key_file, "/etc/a#b;c");
	ck_assert_str_eq(c.peers[0].public_key, PUB_A);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_ENDPOINT], 12);
}
END_TEST

START_TEST(test_crlf_and_bom)
{
	ck_assert_int_eq(load_validate("\xef\xbb\xbf[Interface]\r\n"
				       "Device = tun0\r\n"
				       "\r\n"
				       "Listen = :55555 \r\n"
				       "Mode = tap\r\n"),
			 0);
	ck_assert_str_eq(c.device, "tun0");
	ck_assert_str_eq(c.listen, ":55555");
	ck_assert_int_eq(c.mode, TUN_MODE_TAP);
	ck_assert_uint_eq(c.line[CONF_KEY_MODE], 5);

	/* A byte order mark anywhere else is just a bad byte. */
	load_fails("[Interface]\n\xef\xbb\xbf"
		   "Device = tun0\n",
		   "t.conf:2: unknown key '\\xef\\xbb\\xbfDevice' in [Interface]");
	/* Half a mark at the start is kept, and cannot be parsed. */
	load_fails("\xef\xbb[Interface]\n", "t.conf:1: cannot parse the line (expected "
					    "[Section], Key = Value or a comment)");
}
END_TEST

START_TEST(test_long_lines)
{
	char text[4096], line[1024];
	size_t n;

	/* Exactly CONF_LINE_MAX characters (with indentation and a trailing
	 * comment of any length not counted) is fine... */
	n = (size_t)snprintf(line, sizeof(line), "PrivateKeyFile = /");
	memset(line + n, 'k', CONF_LINE_MAX - n);
	line[CONF_LINE_MAX] = '\0';
	snprintf(text, sizeof(text), "[Interface]\n    %s    # %0600d\n", line, 0);
	ck_assert_msg(load(text) == 0, "%s", err);
	ck_assert_uint_eq(strlen(c.private_key_file), CONF_LINE_MAX - strlen("PrivateKeyFile = "));

	/* ...one more is not. */
	conf_cleanup(&c);
	snprintf(text, sizeof(text), "[Interface]\n%sk\nDevice = tun0\n", line);
	load_fails(text, "t.conf:2: line longer than 197 characters");
	ck_assert_uint_eq(c.set, 0);

	/* A long comment line is read to its end and skipped. */
	snprintf(text, sizeof(text), "# %03000d\n[Interface]\nDevice = tun0\n", 0);
	ck_assert_int_eq(load(text), 0);
	ck_assert_uint_eq(c.line[CONF_KEY_DEVICE], 3);
}
END_TEST

START_TEST(test_sections)
{
	load_fails("[Interface]\nDevice = tun0\n[Wireguard]\n",
		   "t.conf:3: unknown section [Wireguard] (expected [Interface] or [Peer])");
	/* Each [Peer] is a peer of its own (test_many_peers). */
	ck_assert_int_eq(load("[Interface]\nDevice = tun0\n[Peer]\nEndpoint = a:1\n\n[Peer]\n"), 0);
	ck_assert_uint_eq(c.n_peers, 2);
	ck_assert_uint_eq(c.peers[1].section_line, 6);
	ck_assert_uint_eq(c.peers[1].set, 0);
	conf_cleanup(&c);
	load_fails("[Interface]\n[Peer]\n[interface]\n",
		   "t.conf:3: only one [Interface] is allowed (the first is on line 1)");
	load_fails("[Interface\nDevice = tun0\n", "t.conf:1: '[Interface' has no closing ']'");
	load_fails("[Peer] x = 1\n", "t.conf:1: text after [Peer]");
	load_fails("Device = tun0\n[Interface]\n",
		   "t.conf:1: key 'Device' is outside any section (put it under [Interface])");
	load_fails("\n\nKeepalive = 1\n",
		   "t.conf:3: key 'Keepalive' is outside any section (put it under [Peer])");
	load_fails("; c\nFoo = 1\n",
		   "t.conf:2: key 'Foo' is outside any section (put it under [Interface] or "
		   "[Peer])");
	/* Sections may come in either order, and be empty. */
	ck_assert_int_eq(load("[Peer]\nEndpoint = a:1\n[Interface]\nDevice = x\n"), 0);
	ck_assert_int_eq(load("[Peer]\n"), 0);
	ck_assert_int_eq(load(""), 0);
}
END_TEST

START_TEST(test_unknown_and_duplicate_keys)
{
	load_fails("[Interface]\nDevice = tun0\nAddress = 10.0.0.1/24\n",
		   "t.conf:3: unknown key 'Address' in [Interface]");
	/* A key of the other section is unknown here. */
	load_fails("[Interface]\nEndpoint = a:1\n",
		   "t.conf:2: unknown key 'Endpoint' in [Interface]");
	load_fails("[Peer]\nDevice = tun0\n", "t.conf:2: unknown key 'Device' in [Peer]");
	load_fails("[Peer]\n= 1\n", "t.conf:2: unknown key '' in [Peer]");
	load_fails("[Interface]\nMTU = 1400\n\nmtu = 1500\n",
		   "t.conf:4: duplicate key MTU (first given on line 2)");
	load_fails("[Peer]\nEndpoint=a:1\n[Interface]\nDevice=x\nDEVICE=y\n",
		   "t.conf:5: duplicate key Device (first given on line 4)");
	/* Unknown bytes are shown escaped. */
	load_fails("[Interface]\n\x01\x7f\xff = 1\n",
		   "t.conf:2: unknown key '\\x01\\x7f\\xff' in [Interface]");
}
END_TEST

START_TEST(test_unparseable)
{
	load_fails("[Interface]\nDevice tun0\n", "t.conf:2: cannot parse the line (expected "
						 "[Section], Key = Value or a comment)");
	/* inih's first complaint wins over a later one of ours. */
	load_fails("[Interface]\njunk\nMTU = 1\n", "t.conf:2: cannot parse the line (expected "
						   "[Section], Key = Value or a comment)");
	/* ...and ours over a later one of inih's. */
	load_fails("[Interface]\nMTU = 1\njunk\n",
		   "t.conf:2: MTU: '1' is not a number from 68 to 65517");
	/* inih also takes ':' for '=', as Python's configparser does. */
	ck_assert_int_eq(load("[Interface]\nDevice: tun0\n"), 0);
	ck_assert_str_eq(c.device, "tun0");
}
END_TEST

START_TEST(test_bad_values)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"[Interface]\nDevice =\n", "t.conf:2: Device: '' is not a device name (1 to 15 "
					"characters, no '/', ':' or space)"},
	    {"[Interface]\nDevice = abcdefghijklmnop\n",
	     "t.conf:2: Device: 'abcdefghijklmnop' is not a device name (1 to 15 characters, no "
	     "'/', ':' or space)"},
	    {"[Interface]\nDevice = a/b\n", "t.conf:2: Device: 'a/b' is not a device name (1 to "
					    "15 characters, no '/', ':' or space)"},
	    {"[Interface]\nDevice = tun 0\n", "t.conf:2: Device: 'tun 0' is not a device name (1 "
					      "to 15 characters, no '/', ':' or space)"},
	    {"[Interface]\nDevice = ..\n", "t.conf:2: Device: '..' is not a device name (1 to 15 "
					   "characters, no '/', ':' or space)"},
	    {"[Interface]\nMode = tunnel\n", "t.conf:2: Mode: 'tunnel' is neither tun nor tap"},
	    {"[Interface]\nDeviceNetns = a/b\n",
	     "t.conf:2: DeviceNetns: 'a/b' is neither a namespace name (as ip netns gives them: "
	     "no '/', not . or ..) nor an absolute nsfs path"},
	    {"[Interface]\nDeviceNetns = ..\n",
	     "t.conf:2: DeviceNetns: '..' is neither a namespace name (as ip netns gives them: "
	     "no '/', not . or ..) nor an absolute nsfs path"},
	    {"[Interface]\nDeviceNetns =\n",
	     "t.conf:2: DeviceNetns: '' is neither a namespace name (as ip netns gives them: "
	     "no '/', not . or ..) nor an absolute nsfs path"},
	    {"[Interface]\nMTU = 9x\n", "t.conf:2: MTU: '9x' is not a number from 68 to 65517"},
	    {"[Interface]\nMTU = 67\n", "t.conf:2: MTU: '67' is not a number from 68 to 65517"},
	    {"[Interface]\nMTU = 65518\n",
	     "t.conf:2: MTU: '65518' is not a number from 68 to 65517"},
	    {"[Interface]\nMTU = -1400\n",
	     "t.conf:2: MTU: '-1400' is not a number from 68 to 65517"},
	    {"[Interface]\nMTU = 99999999999999999999\n",
	     "t.conf:2: MTU: '99999999999999999999' is not a number from 68 to 65517"},
	    {"[Interface]\nPrivateKeyFile =\n", "t.conf:2: PrivateKeyFile: '' is not a file name"},
	    {"[Interface]\nListen = 55555\n",
	     "t.conf:2: Listen: '55555' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 "
	     "address or [IPv6], PORT 1 to 65535)"},
	    {"[Interface]\nListen = :0\n",
	     "t.conf:2: Listen: ':0' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 address "
	     "or [IPv6], PORT 1 to 65535)"},
	    {"[Interface]\nListen = :65536\n",
	     "t.conf:2: Listen: ':65536' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 "
	     "address or [IPv6], PORT 1 to 65535)"},
	    {"[Interface]\nListen = 2001:db8::1:80\n",
	     "t.conf:2: Listen: '2001:db8::1:80' is not [ADDR]:PORT or :PORT (ADDR a name, an "
	     "IPv4 address or [IPv6], PORT 1 to 65535)"},
	    {"[Interface]\nMetricsListen = 9587\n",
	     "t.conf:2: MetricsListen: '9587' is not [ADDR]:PORT or :PORT (ADDR a name, an IPv4 "
	     "address or [IPv6], PORT 1 to 65535)"},
	    {"[Interface]\nUser = a b\n", "t.conf:2: User: 'a b' is not a user or group name"},
	    {"[Interface]\nGroup =\n", "t.conf:2: Group: '' is not a user or group name"},
	    {"[Interface]\nLogLevel = verbose\n",
	     "t.conf:2: LogLevel: 'verbose' is not warn, info, debug or trace"},
	    {"[Peer]\nPublicKey = abc\n", "t.conf:2: PublicKey: 'abc' is not a base64 32-byte key"},
	    {"[Peer]\nPresharedKeyFile =\n", "t.conf:2: PresharedKeyFile: '' is not a file name"},
	    {"[Peer]\nEndpoint = :55555\n",
	     "t.conf:2: Endpoint: ':55555' is not HOST:PORT (HOST a name, an IPv4 address or "
	     "[IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nEndpoint = host\n",
	     "t.conf:2: Endpoint: 'host' is not HOST:PORT (HOST a name, an IPv4 address or "
	     "[IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nEndpoint = [198.18.0.1]:80\n",
	     "t.conf:2: Endpoint: '[198.18.0.1]:80' is not HOST:PORT (HOST a name, an IPv4 "
	     "address or [IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nEndpoint = [::1]\n",
	     "t.conf:2: Endpoint: '[::1]' is not HOST:PORT (HOST a name, an IPv4 address or "
	     "[IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nEndpoint = host:+80\n",
	     "t.conf:2: Endpoint: 'host:+80' is not HOST:PORT (HOST a name, an IPv4 address or "
	     "[IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nEndpoint = ho$t:80\n",
	     "t.conf:2: Endpoint: 'ho$t:80' is not HOST:PORT (HOST a name, an IPv4 address or "
	     "[IPv6], PORT 1 to 65535)"},
	    {"[Peer]\nTransport = sctp\n", "t.conf:2: Transport: 'sctp' is not tcp, udp or auto"},
	    {"[Peer]\nKeepalive = 3601\n",
	     "t.conf:2: Keepalive: '3601' is not a number of seconds from 0 to 3600"},
	    {"[Peer]\nKeepalive = 2.5\n",
	     "t.conf:2: Keepalive: '2.5' is not a number of seconds from 0 to 3600"},
	    {"[Peer]\nPlainKeepalive = maybe\n",
	     "t.conf:2: PlainKeepalive: 'maybe' is neither yes nor no"},
	    {"[Interface]\nOffload = auto\n", "t.conf:2: Offload: 'auto' is neither yes nor no"},
	    {"[Interface]\nSeccomp = 0\n", "t.conf:2: Seccomp: '0' is neither yes nor no"},
	    {"[Peer]\nSeccomp = no\n", "t.conf:2: unknown key 'Seccomp' in [Peer]"},
	    {"[Peer]\nPlainOffload = 1\n", "t.conf:2: PlainOffload: '1' is neither yes nor no"},
	    {"[Peer]\nDeadPeerTimeout = 86401\n",
	     "t.conf:2: DeadPeerTimeout: '86401' is not a number of seconds from 0 to 86400"},
	    /* A long value is cut short in the message. */
	    {"[Interface]\nMode = "
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	     "t.conf:2: Mode: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is neither "
	     "tun nor tap"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf_cleanup(&c);
		ck_assert_msg(load(cases[i].text) == -EINVAL, "accepted: %s", cases[i].text);
		ck_assert_str_eq(err, cases[i].msg);
		ck_assert_uint_eq(c.set, 0);
	}
}
END_TEST

START_TEST(test_good_endpoints)
{
	static const char *const listens[] = {
	    ":1",
	    ":65535",
	    "0.0.0.0:55555",
	    "[::]:55555",
	    "[fe80::1%eth0]:80",
	    "localhost:8080",
	    "198.18.0.1:1",
	    "[2001:db8::1]:443",
	};
	static const char *const endpoints[] = {
	    "198.18.0.1:55555", "[2001:db8::2]:55555",   "peer.example.net:1",
	    "a-b_c.d:65535",    "[::ffff:198.18.0.1]:9",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
		conf_cleanup(&c);
		snprintf(text, sizeof(text), "[Interface]\nListen = %s\n", listens[i]);
		ck_assert_msg(load(text) == 0, "%s", err);
		ck_assert_str_eq(c.listen, listens[i]);
	}
	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		conf_cleanup(&c);
		snprintf(text, sizeof(text), "[Peer]\nEndpoint = %s\n", endpoints[i]);
		ck_assert_msg(load(text) == 0, "%s", err);
		ck_assert_str_eq(c.peers[0].endpoint, endpoints[i]);
	}
}
END_TEST

START_TEST(test_validate)
{
	/* Every rule, with the line of the key it names. */
	ck_assert_int_eq(load_validate("[Peer]\nEndpoint = a:1\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf: [Interface] Device is required");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf: give [Interface] Listen or [Peer] Endpoint");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "[Peer]\nEndpoint = a:1\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: [Peer] Endpoint and [Interface] Listen (line 3) "
			      "conflict over TCP: give exactly one");
	/* Over UDP both make sense: a fixed port and a known peer. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "[Peer]\nEndpoint = a:1\nTransport = udp\n"),
			 0);
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nPrivateKeyFile = /k\n"
				       "[Peer]\nEndpoint = a:1\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:3: [Interface] PrivateKeyFile needs [Peer] PublicKey "
			      "(sealed mode needs both)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "PublicKey = " PUB_A "\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: [Peer] PublicKey needs [Interface] PrivateKeyFile "
			      "(sealed mode needs both)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "PresharedKeyFile = /psk\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: [Peer] PresharedKeyFile needs sealed mode ([Interface] "
			      "PrivateKeyFile and [Peer] PublicKey)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "Keepalive = 10\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: [Peer] Keepalive in plain mode needs PlainKeepalive = "
			      "yes (simpletun would write keepalives to its device)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "Keepalive = 10\nPlainKeepalive = true\n"), 0);
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "Keepalive = 0\n"), 0);
	conf_cleanup(&c);
	/* Offload frames: plain TCP with offloads only. */
	ck_assert_int_eq(load_validate(MINIMAL "PlainOffload = yes\n"), 0);
	ck_assert(c.offload && c.peers[0].plain_offload);
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate(MINIMAL "PlainOffload = yes\nTransport = udp\n"), -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: [Peer] PlainOffload needs Transport = tcp (over UDP a "
			      "64 KiB frame would be IP-fragmented)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nOffload = no\n"
				       "[Peer]\nEndpoint = a:1\nPlainOffload = yes\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:6: [Peer] PlainOffload needs [Interface] Offload = yes");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nPrivateKeyFile = /k\n"
				       "[Peer]\nEndpoint = a:1\nPublicKey = " PUB_A "\n"
				       "PlainOffload = yes\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:7: [Peer] PlainOffload is for plain mode (sealed mode "
			      "negotiates offload frames itself)");
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nGroup = g\n"
				       "[Peer]\nEndpoint = a:1\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:3: [Interface] Group needs User");
	/* Sealed with a PSK and a keepalive: all fine. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nPrivateKeyFile = /k\n"
				       "User = u\nGroup = g\n"
				       "[Peer]\nEndpoint = a:1\nPublicKey = " PUB_A "\n"
				       "PresharedKeyFile = /p\nKeepalive = 25\n"),
			 0);
	/* Without a file name the message starts with the key. */
	conf_unset(&c, CONF_KEY_PUBLIC_KEY);
	ck_assert_int_eq(conf_validate(&c, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "[Interface] PrivateKeyFile needs [Peer] PublicKey (sealed mode "
			      "needs both)");
}
END_TEST

/* Three peers: each holds its own values, bits and lines. */
#define HUB                                                                                        \
	"[Interface]\n"                                              /* 1 */                       \
	"Device = tun0\n"                                            /* 2 */                       \
	"Listen = :55555\n"                                          /* 3 */                       \
	"Transports = udp, tcp\n"                                    /* 4 */                       \
	"PrivateKeyFile = /k\n"                                      /* 5 */                       \
	"PeerToPeer = no\n"                                          /* 6 */                       \
	"[Peer]\n"                                                   /* 7 */                       \
	"Name = a\n"                                                 /* 8 */                       \
	"PublicKey = " PUB_A "\n"                                    /* 9 */                       \
	"AllowedIPs = 198.18.1.0/24\n"                               /* 10 */                      \
	"AllowedIPs = 2001:db8:1::/48\n"                             /* 11 */                      \
	"[Peer]\n"                                                   /* 12 */                      \
	"Name = b\n"                                                 /* 13 */                      \
	"PublicKey = " PUB_B "\n"                                    /* 14 */                      \
	"Endpoint = b.example.net:55555\n"                           /* 15 */                      \
	"Transport = auto\n"                                         /* 16 */                      \
	"Keepalive = 25\n"                                           /* 17 */                      \
	"AllowedIPs = 198.18.2.0/24, 2001:db8:2::/48, 198.19.0.1\n"  /* 18 */                      \
	"[Peer]\n"                                                   /* 19 */                      \
	"PublicKey = 6nTLPSNnnGsS4w1WGu8JESIcOpqVqljZ0r2bXqR6G0k=\n" /* 20 */                      \
	"Transport = udp\n"                                          /* 21 */                      \
	"DeadPeerTimeout = 120\n"                                    /* 22 */

START_TEST(test_many_peers)
{
	char buf[ENDPOINT_PREFIX_STRLEN];

	ck_assert_int_eq(load_validate(HUB), 0);
	ck_assert_uint_eq(c.n_peers, 3);
	ck_assert_uint_eq(c.transports, CONF_TRANSPORTS_UDP | CONF_TRANSPORTS_TCP);
	ck_assert_uint_eq(c.line[CONF_KEY_TRANSPORTS], 4);
	ck_assert(!c.peer_to_peer);
	ck_assert_uint_eq(c.peers[0].section_line, 7);
	ck_assert_uint_eq(c.peers[1].section_line, 12);
	ck_assert_uint_eq(c.peers[2].section_line, 19);
	ck_assert_str_eq(c.peers[0].name, "a");
	ck_assert_str_eq(c.peers[1].name, "b");
	ck_assert_str_eq(c.peers[2].name, "");
	ck_assert_str_eq(c.peers[0].public_key, PUB_A);
	ck_assert_str_eq(c.peers[1].public_key, PUB_B);
	ck_assert_ptr_null(c.peers[0].endpoint);
	ck_assert_str_eq(c.peers[1].endpoint, "b.example.net:55555");
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_TCP);
	ck_assert_int_eq(c.peers[1].transport, CONF_TRANSPORT_AUTO);
	ck_assert_int_eq(c.peers[2].transport, CONF_TRANSPORT_UDP);
	ck_assert_uint_eq(c.peers[0].keepalive, 0);
	ck_assert_uint_eq(c.peers[1].keepalive, 25);
	ck_assert_uint_eq(c.peers[2].dead_peer_timeout, 120);
	ck_assert_uint_eq(c.peers[0].set,
			  CONF_SET_NAME | CONF_SET_PUBLIC_KEY | CONF_SET_ALLOWED_IPS);
	ck_assert_uint_eq(c.peers[2].set,
			  CONF_SET_PUBLIC_KEY | CONF_SET_TRANSPORT | CONF_SET_DEAD_PEER_TIMEOUT);
	ck_assert_uint_eq(c.peers[1].line[CONF_KEY_TRANSPORT], 16);
	ck_assert_uint_eq(c.peers[2].line[CONF_KEY_TRANSPORT], 21);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_ALLOWED_IPS], 11);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 2);
	ck_assert_uint_eq(c.peers[1].n_allowed_ips, 3);
	ck_assert_uint_eq(c.peers[2].n_allowed_ips, 0);
	ck_assert_str_eq(
	    endpoint_prefix_format(&c.peers[0].allowed_ips[1].prefix, buf, sizeof(buf)),
	    "2001:db8:1::/48");
	ck_assert_uint_eq(c.peers[0].allowed_ips[0].line, 10);
	ck_assert_uint_eq(c.peers[0].allowed_ips[1].line, 11);
	ck_assert_str_eq(
	    endpoint_prefix_format(&c.peers[1].allowed_ips[2].prefix, buf, sizeof(buf)),
	    "198.19.0.1/32");
	ck_assert_uint_eq(c.peers[1].allowed_ips[2].line, 18);

	/* A file on top: its Nth peer's keys onto the Nth peer, and a broken
	 * one changes nothing. */
	ck_assert_int_eq(
	    load("[Peer]\nKeepalive = 7\n[Peer]\nName = c\n[Peer]\n[Peer]\nName = d\n"), 0);
	ck_assert_uint_eq(c.n_peers, 4);
	ck_assert_uint_eq(c.peers[0].keepalive, 7);
	ck_assert_str_eq(c.peers[0].public_key, PUB_A);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_KEEPALIVE], 2);
	ck_assert_str_eq(c.peers[1].name, "c");
	ck_assert_str_eq(c.peers[1].endpoint, "b.example.net:55555");
	ck_assert_uint_eq(c.peers[2].section_line, 5);
	ck_assert_str_eq(c.peers[3].name, "d");
	load_fails("[Peer]\n[Peer]\n[Peer]\n[Peer]\n[Peer]\nName = e\nName = f\n",
		   "t.conf:7: duplicate key Name (first given on line 6)");
	ck_assert_uint_eq(c.n_peers, 4);
	ck_assert_str_eq(c.peers[3].name, "d");

	/* A key given again in another peer is no duplicate. */
	conf_cleanup(&c);
	ck_assert_int_eq(load("[Peer]\nEndpoint = a:1\n[Peer]\nEndpoint = b:1\nEndpoint = c:1\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:5: duplicate key Endpoint (first given on line 4)");
}
END_TEST

/* CONF_PEERS_MAX peers parse; one more is refused at its header. */
START_TEST(test_peers_bound)
{
	size_t size = 64 + (CONF_PEERS_MAX + 1) * 48, len;
	char *text = malloc(size);
	unsigned i;

	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, size, "[Interface]\nDevice = tun0\nListen = :1\n");
	for (i = 0; i < CONF_PEERS_MAX; i++)
		len += (size_t)snprintf(text + len, size - len,
					"[Peer]\nName = p%u\nAllowedIPs = 198.18.%u.%u\n", i,
					i / 256, i % 256);
	ck_assert_int_eq(load_validate(text), 0);
	ck_assert_uint_eq(c.n_peers, CONF_PEERS_MAX);
	ck_assert_str_eq(c.peers[CONF_PEERS_MAX - 1].name, "p1023");
	ck_assert_uint_eq(c.peers[CONF_PEERS_MAX - 1].section_line, 3 + 3 * CONF_PEERS_MAX - 2);
	conf_cleanup(&c);
	snprintf(text + len, size - len, "[Peer]\n");
	load_fails(text, "t.conf:3076: more than 1024 [Peer] sections");
	ck_assert_uint_eq(c.n_peers, 0);
	free(text);
}
END_TEST

START_TEST(test_new_values)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"[Peer]\nName = \n",
	     "t.conf:2: Name: '' is not 1 to 32 letters, digits, '.', '_' or '-'"},
	    {"[Peer]\nName = a b\n",
	     "t.conf:2: Name: 'a b' is not 1 to 32 letters, digits, '.', '_' or '-'"},
	    {"[Peer]\nName = a/b\n",
	     "t.conf:2: Name: 'a/b' is not 1 to 32 letters, digits, '.', '_' or '-'"},
	    {"[Peer]\nName = 0123456789abcdef0123456789abcdefX\n",
	     "t.conf:2: Name: '0123456789abcdef0123456789abcdefX' is not 1 to 32 letters, "
	     "digits, '.', '_' or '-'"},
	    {"[Peer]\nTransport = udp,tcp\n",
	     "t.conf:2: Transport: 'udp,tcp' is not tcp, udp or auto"},
	    {"[Interface]\nTransports = udp tcp\n",
	     "t.conf:2: Transports: 'udp tcp' is not tcp, udp or both (udp, tcp)"},
	    {"[Interface]\nTransports = udp,\n",
	     "t.conf:2: Transports: 'udp,' is not tcp, udp or both (udp, tcp)"},
	    {"[Interface]\nTransports = auto\n",
	     "t.conf:2: Transports: 'auto' is not tcp, udp or both (udp, tcp)"},
	    {"[Interface]\nPeerToPeer = maybe\n",
	     "t.conf:2: PeerToPeer: 'maybe' is neither yes nor no"},
	    {"[Interface]\nHub = sometimes\n", "t.conf:2: Hub: 'sometimes' is neither yes nor no"},
	    {"[Peer]\nTransports = udp\n", "t.conf:2: unknown key 'Transports' in [Peer]"},
	    {"[Interface]\nAllowedIPs = 198.18.0.0/15\n",
	     "t.conf:2: unknown key 'AllowedIPs' in [Interface]"},
	    {"[Peer]\n\nAllowedIPs = 198.18.0.1/15\n",
	     "t.conf:3: AllowedIPs: '198.18.0.1/15' has host bits set after the prefix length "
	     "(the prefix is 198.18.0.0/15)"},
	    {"[Peer]\nAllowedIPs = 2001:db8::/32, 2001:db8:1::1/47\n",
	     "t.conf:2: AllowedIPs: '2001:db8:1::1/47' has host bits set after the prefix "
	     "length (the prefix is 2001:db8::/47)"},
	    {"[Peer]\nAllowedIPs = 198.18.0.0/33\n",
	     "t.conf:2: AllowedIPs: '198.18.0.0/33' is not an address prefix (ADDR or "
	     "ADDR/LEN, IPv4 or IPv6)"},
	    {"[Peer]\nAllowedIPs = 198.18.0.1/015\n",
	     "t.conf:2: AllowedIPs: '198.18.0.1/015' is not an address prefix (ADDR or "
	     "ADDR/LEN, IPv4 or IPv6)"},
	    {"[Peer]\nAllowedIPs = vpn.example.net\n",
	     "t.conf:2: AllowedIPs: 'vpn.example.net' is not an address prefix (ADDR or "
	     "ADDR/LEN, IPv4 or IPv6)"},
	    {"[Peer]\nAllowedIPs = 198.18.0.0/15,\n",
	     "t.conf:2: AllowedIPs: '' is not an address prefix (ADDR or ADDR/LEN, IPv4 or "
	     "IPv6)"},
	    {"[Peer]\nAllowedIPs = [2001:db8::]/32\n",
	     "t.conf:2: AllowedIPs: '[2001:db8::]/32' is not an address prefix (ADDR or "
	     "ADDR/LEN, IPv4 or IPv6)"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf_cleanup(&c);
		load_fails(cases[i].text, cases[i].msg);
		ck_assert_uint_eq(c.n_peers, 0);
	}
	conf_cleanup(&c);
	ck_assert_int_eq(load("[Interface]\nTransports = TCP\n[Peer]\nName = A.b_c-9\n"
			      "Transport = AUTO\nAllowedIPs = 0.0.0.0/0, ::/0\n"),
			 0);
	ck_assert_uint_eq(c.transports, CONF_TRANSPORTS_TCP);
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_AUTO);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 2);
	ck_assert_uint_eq(c.peers[0].allowed_ips[1].prefix.len, 0);
	ck_assert_int_eq(c.peers[0].allowed_ips[1].prefix.family, AF_INET6);
	/* Transports given again is a duplicate, not a union. */
	conf_cleanup(&c);
	load_fails("[Interface]\nTransports = tcp\nTransports = udp\n",
		   "t.conf:3: duplicate key Transports (first given on line 2)");
}
END_TEST

/* AllowedIPs: bounded per peer and in all peers together. */
START_TEST(test_allowed_ips_bounds)
{
	size_t size = 1100 * 1024, len;
	char *text = malloc(size);
	unsigned i;

	ck_assert_ptr_nonnull(text);
	/* 256 in one peer, the 257th refused on its line. */
	len = (size_t)snprintf(text, size, "[Interface]\nDevice = tun0\nListen = :1\n[Peer]\n");
	for (i = 0; i < CONF_ALLOWED_IPS_MAX; i++)
		len += (size_t)snprintf(text + len, size - len, "AllowedIPs = 198.18.0.%u\n", i);
	ck_assert_int_eq(load_validate(text), 0);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, CONF_ALLOWED_IPS_MAX);
	ck_assert_uint_eq(c.peers[0].allowed_ips[255].line, 4 + 256);
	conf_cleanup(&c);
	snprintf(text + len, size - len, "AllowedIPs = 198.18.1.0\n");
	load_fails(text, "t.conf:261: AllowedIPs: more than 256 prefixes in one [Peer]");

	/* CONF_ALLOWED_IPS_TOTAL in 256 peers, all different: they validate
	 * (the check for duplicates sorts them all). */
	conf_cleanup(&c);
	len = (size_t)snprintf(text, size, "[Interface]\nDevice = tun0\nListen = :1\n");
	for (i = 0; i < CONF_ALLOWED_IPS_TOTAL; i++) {
		unsigned j = i % CONF_ALLOWED_IPS_MAX;

		if (j == 0)
			len += (size_t)snprintf(text + len, size - len, "[Peer]");
		len += (size_t)snprintf(text + len, size - len, j % 12 ? "," : "\nAllowedIPs=");
		len += (size_t)snprintf(text + len, size - len, "198.%u.%u.%u%s", 18 + i / 65536,
					i / 256 % 256, i % 256,
					j == CONF_ALLOWED_IPS_MAX - 1 ? "\n" : "");
	}
	ck_assert_uint_lt(len, CONF_FILE_MAX);
	ck_assert_msg(load_validate(text) == 0, "%s", err);
	ck_assert_uint_eq(c.n_peers, 256);
	ck_assert_uint_eq(c.peers[255].n_allowed_ips, 256);
	/* One more, in a peer of its own, is one too many. */
	conf_cleanup(&c);
	snprintf(text + len, size - len, "\n[Peer]\nAllowedIPs = 198.19.0.0\n");
	ck_assert_int_eq(load(text), -EINVAL);
	ck_assert_msg(strstr(err, ": AllowedIPs: more than 65536 prefixes in all peers"), "%s",
		      err);
	ck_assert_uint_eq(c.n_peers, 0);
	free(text);
}
END_TEST

START_TEST(test_validate_peers)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"[Interface]\nDevice = tun0\n[Peer]\nEndpoint = a:1\nTransport = auto\n[Peer]\n"
	     "Name = x\nTransport = udp\n",
	     "t.conf:6: [Peer] needs Endpoint: without [Interface] Listen nothing reaches it"},
	    {"[Interface]\nDevice = tun0\nListen = :1\n[Peer]\nTransport = auto\n",
	     "t.conf:5: [Peer] Transport = auto needs Endpoint (it tries UDP towards it, then "
	     "TCP)"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nPrivateKeyFile = /k\n[Peer]\nPublicKey "
	     "= " PUB_A "\n[Peer]\nEndpoint = a:1\nTransport = udp\n",
	     "t.conf:7: [Peer] has no PublicKey ([Interface] PrivateKeyFile on line 4 seals "
	     "every peer)"},
	    {"[Interface]\nDevice = tun0\nListen = :1\n[Peer]\nAllowedIPs = 198.18.0.0/24\n"
	     "[Peer]\nName = lost\nKeepalive = 5\nPlainKeepalive = yes\n",
	     "t.conf:6: plain [Peer] with neither Endpoint nor AllowedIPs (with several peers "
	     "it could be any of them)"},
	    {"[Interface]\nDevice = tun0\nTransports = udp\n[Peer]\nEndpoint = a:1\n",
	     "t.conf:3: [Interface] Transports needs Listen (it says what the listener serves)"},
	    {"[Interface]\nDevice = tun0\nHub = yes\n[Peer]\nEndpoint = a:1\n",
	     "t.conf:3: [Interface] Hub needs Listen (its peers are the connections it accepts)"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nHub = yes\n[Peer]\nAllowedIPs = "
	     "198.18.0.0/24\n",
	     "t.conf:5: [Peer] of a plain hub (Hub = yes) needs Endpoint: the address its "
	     "connections or datagrams come from"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nTransports = udp\n[Peer]\n"
	     "Transport = tcp\n",
	     "t.conf:6: [Peer] Transport = tcp, but [Interface] Transports (line 4) serves only "
	     "udp and the peer has no Endpoint"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nTransports = tcp\n[Peer]\n"
	     "Transport = udp\n",
	     "t.conf:6: [Peer] Transport = udp, but [Interface] Transports (line 4) serves only "
	     "tcp and the peer has no Endpoint"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nTransports = tcp, udp\n[Peer]\n"
	     "AllowedIPs = 198.18.0.0/24\n[Peer]\nEndpoint = b:1\n",
	     "t.conf:8: [Peer] Endpoint and [Interface] Listen (line 3) conflict over TCP: give "
	     "exactly one"},
	    {"[Interface]\nDevice = tap0\nMode = tap\nListen = :1\n[Peer]\n"
	     "AllowedIPs = 198.18.0.0/24\n",
	     "t.conf:6: [Peer] AllowedIPs needs Mode = tun (over TAP the peers' MAC addresses "
	     "are learned)"},
	    {"[Interface]\nDevice = tun0\nListen = :1\n[Peer]\nName = a\nEndpoint = a:1\n"
	     "Transport = udp\n[Peer]\nEndpoint = b:1\nTransport = udp\nName = a\n",
	     "t.conf:11: Name a is also the [Peer] on line 4's"},
	    {"[Interface]\nDevice = tun0\nListen = :1\nPrivateKeyFile = /k\n[Peer]\n"
	     "PublicKey = " PUB_A "\n[Peer]\nPublicKey = " PUB_B "\n[Peer]\n\nPublicKey = " PUB_A
	     "\n",
	     "t.conf:11: PublicKey is also the [Peer] on line 5's: one key, one peer"},
	    {"[Interface]\nDevice = tun0\nListen = :1\n[Peer]\nAllowedIPs = 198.18.0.0/24, "
	     "2001:db8::/32\n[Peer]\nAllowedIPs = 198.18.1.0/24\nAllowedIPs = 2001:db8::/32\n",
	     "t.conf:8: AllowedIPs: 2001:db8::/32 is also the [Peer] on line 4's (line 5): a "
	     "prefix routes to one peer"},
	    {"[Interface]\nDevice = tun0\nListen = :1\n[Peer]\nAllowedIPs = 198.18.0.0/24, "
	     "198.18.0.0/24\n",
	     "t.conf:5: AllowedIPs: 198.18.0.0/24 is given twice in this [Peer] (line 5)"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf_cleanup(&c);
		ck_assert_int_eq(load_validate(cases[i].text), -EINVAL);
		ck_assert_str_eq(err, cases[i].msg);
	}
	/* The same prefix length over both families, and overlapping
	 * prefixes (longest match decides), are fine. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n[Peer]\n"
				       "AllowedIPs = 198.18.0.0/15\n[Peer]\n"
				       "AllowedIPs = 198.18.0.0/16, 2001:db8::/32\n[Peer]\n"
				       "AllowedIPs = 198.18.0.0/17\n"),
			 0);
	/* A single peer needs neither (today's listener for anyone); a UDP
	 * peer with an Endpoint may use what the listener does not serve. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "Transports = tcp\n[Peer]\nEndpoint = a:1\n"
				       "Transport = udp\n"),
			 0);
	/* A peer's Transport not given follows the listener. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "Transports = udp\n[Peer]\nKeepalive = 0\n"),
			 0);
	/* Zero peers: sealed mode needs one. */
	conf_cleanup(&c);
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "PrivateKeyFile = /k\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:4: [Interface] PrivateKeyFile needs [Peer] PublicKey "
			      "(sealed mode needs both)");
}
END_TEST

/* Reference: the pair of equal prefixes whose later line is smallest. */
static unsigned ref_dup_line(const unsigned *peer, const unsigned *pfx, const unsigned *line,
			     unsigned n, unsigned *first)
{
	unsigned best = 0, i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (pfx[i] == pfx[j] && (!best || line[i] < best)) {
				best = line[i];
				*first = line[j];
			}
	(void)peer;
	return best;
}

/* The check for duplicate AllowedIPs against a quadratic model, over
 * random files: small pools of prefixes make duplicates likely. */
START_TEST(test_allowed_ips_duplicates_model)
{
	static const char *const pool[] = {"198.18.0.0/15", "198.18.0.0/16", "198.19.0.0/16",
					   "198.18.0.1",    "2001:db8::/32", "2001:db8::/48",
					   "2001:db8::1",   "198.18.0.0/24"};
	unsigned peer[64], pfx[64], line[64];
	char text[4096];
	unsigned round, n, i, ln, np, first, want;
	size_t len;

	srandom(13);
	for (round = 0; round < 2000; round++) {
		conf_cleanup(&c);
		len = (size_t)snprintf(text, sizeof(text),
				       "[Interface]\nDevice = tun0\nListen = :1\n");
		ln = 3;
		np = 0;
		n = (unsigned)(random() % 6);
		for (i = 0; i < n; i++) {
			if (i == 0 || random() % 3 == 0) {
				len += (size_t)snprintf(text + len, sizeof(text) - len, "[Peer]\n");
				ln++, np++;
			}
			peer[i] = np - 1;
			pfx[i] = (unsigned)(random() % (sizeof(pool) / sizeof(pool[0])));
			line[i] = ++ln;
			len += (size_t)snprintf(text + len, sizeof(text) - len, "AllowedIPs = %s\n",
						pool[pfx[i]]);
		}
		want = ref_dup_line(peer, pfx, line, n, &first);
		ck_assert_msg(load(text) == 0, "%s", err);
		if (!want) {
			ck_assert_msg(conf_validate(&c, "t.conf", err, sizeof(err)) == 0, "%s\n%s",
				      err, text);
			continue;
		}
		ck_assert_int_eq(conf_validate(&c, "t.conf", err, sizeof(err)), -EINVAL);
		{
			char head[32], tail[32];

			snprintf(head, sizeof(head), "t.conf:%u: AllowedIPs: ", want);
			snprintf(tail, sizeof(tail), "(line %u)", first);
			ck_assert_msg(strncmp(err, head, strlen(head)) == 0 && strstr(err, tail),
				      "%s\n%s", err, text);
		}
	}
}
END_TEST

/* conf_set() and conf_unset() on [Peer] keys: the first peer's. */
START_TEST(test_set_peer_keys)
{
	/* Unsetting with no peer does nothing; setting makes the peer. */
	conf_unset(&c, CONF_KEY_ENDPOINT);
	ck_assert_uint_eq(c.n_peers, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_TRANSPORT, "sctp", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(c.n_peers, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_TRANSPORT, "auto", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_peers, 1);
	ck_assert_uint_eq(c.peers[0].section_line, 0);
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_AUTO);
	ck_assert_uint_eq(c.peers[0].set, CONF_SET_TRANSPORT);
	ck_assert_uint_eq(c.set, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ALLOWED_IPS, "198.18.0.0/24", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    conf_set(&c, CONF_KEY_ALLOWED_IPS, "2001:db8::/32, 198.18.1.0/24", err, sizeof(err)),
	    0);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 3);
	ck_assert_uint_eq(c.peers[0].allowed_ips[2].line, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ALLOWED_IPS, "198.18.0.1/24", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "AllowedIPs: '198.18.0.1/24' has host bits set after the prefix "
			      "length (the prefix is 198.18.0.0/24)");
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 3);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_TRANSPORTS, "udp", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_PEER_TO_PEER, "off", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.set, CONF_SET_TRANSPORTS | CONF_SET_PEER_TO_PEER);
	ck_assert(!c.peer_to_peer);
	conf_unset(&c, CONF_KEY_ALLOWED_IPS);
	ck_assert_uint_eq(c.peers[0].n_allowed_ips, 0);
	ck_assert_ptr_null(c.peers[0].allowed_ips);
	conf_unset(&c, CONF_KEY_PEER_TO_PEER);
	ck_assert(c.peer_to_peer);
	/* A file's later peers are left alone. */
	conf_cleanup(&c);
	ck_assert_int_eq(load("[Peer]\nEndpoint = a:1\n[Peer]\nEndpoint = b:1\n"), 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ENDPOINT, "c:1", err, sizeof(err)), 0);
	conf_unset(&c, CONF_KEY_ENDPOINT);
	ck_assert_ptr_null(c.peers[0].endpoint);
	ck_assert_uint_eq(c.peers[0].line[CONF_KEY_ENDPOINT], 0);
	ck_assert_str_eq(c.peers[1].endpoint, "b:1");
	ck_assert_str_eq(conf_key_name(CONF_KEY_ALLOWED_IPS), "AllowedIPs");
	ck_assert_str_eq(conf_key_name(CONF_KEY_PEER_TO_PEER), "PeerToPeer");
	/* Hub: a plain listener's, from the file or --hub. */
	conf_cleanup(&c);
	ck_assert_int_eq(load("[Interface]\nDevice = tun0\nListen = :1\n\nHub = on\n"), 0);
	ck_assert(c.hub);
	ck_assert_uint_eq(c.line[CONF_KEY_HUB], 5);
	conf_unset(&c, CONF_KEY_HUB);
	ck_assert(!c.hub);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_HUB, "yes", err, sizeof(err)), 0);
	ck_assert(c.hub && (c.set & CONF_SET_HUB));
	ck_assert_str_eq(conf_key_name(CONF_KEY_HUB), "Hub");
	/* A plain hub's [Peer] Endpoint names a client, beside Listen over TCP. */
	conf_cleanup(&c);
	ck_assert_int_eq(
	    load_validate("[Interface]\nDevice = tun0\nListen = :1\nHub = yes\n"
			  "[Peer]\nEndpoint = 198.18.1.2:1\nAllowedIPs = 198.19.0.2/32\n"),
	    0);
	ck_assert_str_eq(c.peers[0].endpoint, "198.18.1.2:1");
}
END_TEST

START_TEST(test_error_leaves_conf_alone)
{
	ck_assert_int_eq(load("[Interface]\nDevice = tun0\nMTU = 1400\nListen = :1\n"), 0);
	/* A later file overrides what it gives... */
	ck_assert_int_eq(load("[Interface]\nMTU = 1500\nListen = :2\n"), 0);
	ck_assert_str_eq(c.device, "tun0");
	ck_assert_int_eq(c.mtu, 1500);
	ck_assert_str_eq(c.listen, ":2");
	ck_assert_uint_eq(c.line[CONF_KEY_MTU], 2);
	/* ...but a bad one changes nothing, even keys before the error. */
	load_fails("[Interface]\nDevice = tap0\nListen = :3\nMTU = 1\n",
		   "t.conf:4: MTU: '1' is not a number from 68 to 65517");
	ck_assert_str_eq(c.device, "tun0");
	ck_assert_str_eq(c.listen, ":2");
	ck_assert_int_eq(c.mtu, 1500);
	ck_assert_uint_eq(c.set, CONF_SET_DEVICE | CONF_SET_MTU | CONF_SET_LISTEN);
	/* A short error buffer is truncated, not overrun; NULL is fine. */
	ck_assert_int_eq(conf_load_string(&c, "t.conf", "[X]\n", err, 8), -EINVAL);
	ck_assert_str_eq(err, "t.conf:");
	ck_assert_int_eq(conf_load_string(&c, "t.conf", "[X]\n", NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_set_unset)
{
	ck_assert_int_eq(load("[Interface]\nDevice = tun0\nListen = :1\n"), 0);
	/* The command line overrides the file with the file's own checks. */
	ck_assert_int_eq(conf_set(&c, CONF_KEY_MTU, "9x", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "MTU: '9x' is not a number from 68 to 65517");
	ck_assert_uint_eq(c.set & CONF_SET_MTU, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_MTU, "1280", err, sizeof(err)), 0);
	ck_assert_int_eq(c.mtu, 1280);
	ck_assert_uint_eq(c.line[CONF_KEY_MTU], 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ENDPOINT, "[::1]:5", err, sizeof(err)), 0);
	ck_assert_str_eq(c.peers[0].endpoint, "[::1]:5");
	/* --connect given: the file's Listen goes. */
	conf_unset(&c, CONF_KEY_LISTEN);
	ck_assert_ptr_null(c.listen);
	ck_assert_uint_eq(c.set & CONF_SET_LISTEN, 0);
	ck_assert_uint_eq(c.line[CONF_KEY_LISTEN], 0);
	ck_assert_int_eq(conf_validate(&c, "t.conf", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_COUNT, "x", err, sizeof(err)), -EINVAL);
	/* A conflict with a command-line value has no line to point at. */
	ck_assert_int_eq(conf_set(&c, CONF_KEY_GROUP, "g", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_validate(&c, "t.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf: [Interface] Group needs User");

	ck_assert_str_eq(conf_key_name(CONF_KEY_PRIVATE_KEY_FILE), "PrivateKeyFile");
	ck_assert_ptr_null(conf_key_name(CONF_KEY_COUNT));
	conf_cleanup(&c);
	conf_cleanup(&c);
	ck_assert_uint_eq(c.set, 0);
}
END_TEST

/* AllowFrom: repeatable, comma lists add up, strict prefixes, needs Listen,
 * and on the command line (conf_set) it adds to what is there. */
START_TEST(test_allow_from)
{
	char buf[ENDPOINT_PREFIX_STRLEN];

	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nListen = :1\n"
				       "AllowFrom = 198.18.0.0/15, 2001:db8::/32\n"
				       "AllowFrom = 198.19.0.7\n"),
			 0);
	ck_assert_uint_eq(c.n_allow_from, 3);
	ck_assert_uint_eq(c.line[CONF_KEY_ALLOW_FROM], 5);
	ck_assert_str_eq(endpoint_prefix_format(&c.allow_from[1], buf, sizeof(buf)),
			 "2001:db8::/32");
	ck_assert_str_eq(endpoint_prefix_format(&c.allow_from[2], buf, sizeof(buf)),
			 "198.19.0.7/32");
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ALLOW_FROM, "198.18.0.1/8", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "AllowFrom: '198.18.0.1/8' is not an address prefix (ADDR or "
			      "ADDR/LEN, no host bits set after LEN)");
	ck_assert_uint_eq(c.n_allow_from, 3);
	conf_unset(&c, CONF_KEY_ALLOW_FROM);
	ck_assert_uint_eq(c.n_allow_from, 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ALLOW_FROM, "198.18.0.2", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, CONF_KEY_ALLOW_FROM, "198.18.0.3", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_allow_from, 2);
	conf_cleanup(&c);
	load_fails("[Interface]\nAllowFrom = 198.18.0.0/15,\n",
		   "t.conf:2: AllowFrom: '' is not an address prefix (ADDR or ADDR/LEN, no host "
		   "bits set after LEN)");
	load_fails("[Peer]\nAllowFrom = 198.18.0.0/15\n",
		   "t.conf:2: unknown key 'AllowFrom' in [Peer]");
	ck_assert_int_eq(load_validate("[Interface]\nDevice = tun0\nAllowFrom = 198.18.0.0/15\n"
				       "[Peer]\nEndpoint = a:1\n"),
			 -EINVAL);
	ck_assert_str_eq(err, "t.conf:3: [Interface] AllowFrom needs Listen (it fences the "
			      "listener)");
	conf_cleanup(&c);
	{
		char text[2048] = "[Interface]\nAllowFrom = 198.18.0.1";

		for (int i = 2; i <= CONF_ALLOW_FROM_MAX + 1; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "\nAllowFrom = 198.18.0.%d", i);
		strcat(text, "\n");
		load_fails(text, "t.conf:34: AllowFrom: more than 32 prefixes");
	}
}
END_TEST

START_TEST(test_files)
{
	static const char good[] = "[Interface]\nDevice = tun0\nListen = :55555\n";
	static const char nul[] = "[Interface]\nDevice = tun0\nMTU = 14\0"
				  "00\n";
	char path[128], *big;
	const char *p;
	FILE *f;

	p = write_file("good.conf", good, sizeof(good) - 1);
	ck_assert_int_eq(conf_load_file(&c, p, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_validate(&c, p, err, sizeof(err)), 0);
	ck_assert_str_eq(c.listen, ":55555");

	p = write_file("nul.conf", nul, sizeof(nul) - 1);
	ck_assert_int_eq(conf_load_file(&c, p, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s:3: NUL byte in the line", p);
	ck_assert_str_eq(err, path);

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	ck_assert_int_eq(conf_load_file(&c, path, err, sizeof(err)), -ENOENT);
	snprintf(path, sizeof(path), "%s/missing.conf: No such file or directory", tmpdir);
	ck_assert_str_eq(err, path);

	ck_assert_int_eq(conf_load_file(&c, tmpdir, err, sizeof(err)), -EISDIR);
	snprintf(path, sizeof(path), "%s: Is a directory", tmpdir);
	ck_assert_str_eq(err, path);

	if (geteuid() != 0) {
		p = write_file("secret.conf", good, sizeof(good) - 1);
		ck_assert_int_eq(chmod(p, 0), 0);
		ck_assert_int_eq(conf_load_file(&c, p, err, sizeof(err)), -EACCES);
		ck_assert(strstr(err, "Permission denied"));
	}

	/* More than CONF_FILE_MAX bytes, even of comments, is refused. */
	big = malloc(CONF_FILE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, '\n', CONF_FILE_MAX + 1);
	big[0] = '#';
	big[CONF_FILE_MAX + 1] = '\0';
	ck_assert_int_eq(conf_load_string(&c, "big.conf", big, err, sizeof(err)), -EFBIG);
	ck_assert_str_eq(err, "big.conf: larger than 1048576 bytes");
	big[CONF_FILE_MAX] = '\0';
	ck_assert_int_eq(conf_load_string(&c, "big.conf", big, err, sizeof(err)), 0);
	free(big);

	/* A stream: standard input, say. */
	f = fmemopen((void *)good, sizeof(good) - 1, "r");
	ck_assert_ptr_nonnull(f);
	conf_cleanup(&c);
	ck_assert_int_eq(conf_load_stream(&c, "<stdin>", f, err, sizeof(err)), 0);
	ck_assert_str_eq(c.device, "tun0");
	fclose(f);
}
END_TEST

START_TEST(test_examples)
{
	static const char *const names[] = {"p2p-vpn.conf", "tap-bridge.conf", "netns-test.conf"};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		conf_cleanup(&c);
		snprintf(path, sizeof(path), "%s/%s", CONF_EXAMPLES_DIR, names[i]);
		ck_assert_msg(conf_load_file(&c, path, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(conf_validate(&c, path, err, sizeof(err)) == 0, "%s", err);
		ck_assert(c.set & CONF_SET_DEVICE);
	}
	/* The last one is the plain UDP namespace test. */
	ck_assert_str_eq(c.peers[0].public_key, "");
	ck_assert_int_eq(c.peers[0].transport, CONF_TRANSPORT_UDP);
	ck_assert(c.peers[0].plain_keepalive);
	/* The hub: three sealed peers on one UDP port. */
	conf_cleanup(&c);
	snprintf(path, sizeof(path), "%s/hub.conf", CONF_EXAMPLES_DIR);
	ck_assert_msg(conf_load_file(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(conf_validate(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.n_peers, 3);
	ck_assert_uint_eq(c.transports, CONF_TRANSPORTS_UDP | CONF_TRANSPORTS_TCP);
	ck_assert_uint_eq(c.peers[1].section_line, 48);
	ck_assert_str_eq(c.peers[2].name, "laptop");
	ck_assert_uint_eq(
	    c.peers[0].n_allowed_ips + c.peers[1].n_allowed_ips + c.peers[2].n_allowed_ips, 6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_comments_and_blanks);
	tcase_add_test(tc, test_crlf_and_bom);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_sections);
	tcase_add_test(tc, test_unknown_and_duplicate_keys);
	tcase_add_test(tc, test_unparseable);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_good_endpoints);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_error_leaves_conf_alone);
	tcase_add_test(tc, test_set_unset);
	tcase_add_test(tc, test_allow_from);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_many_peers);
	tcase_add_test(tc, test_peers_bound);
	tcase_add_test(tc, test_new_values);
	tcase_add_test(tc, test_allowed_ips_bounds);
	tcase_add_test(tc, test_validate_peers);
	tcase_add_test(tc, test_allowed_ips_duplicates_model);
	tcase_add_test(tc, test_set_peer_keys);
	suite_add_tcase(s, tc);
	return check_run(s);
}
