/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <json-c/json.h>

#include "status.h"

/* The schema nests three levels below the top object (the peers array,
 * a peer, its lists); json-c's depth limit counts one more than that. */
#define STATUS_JSON_DEPTH 5
/* status_print() wraps counter lists before this column. */
#define STATUS_PRINT_WIDTH 100

/* Writes a one-line reason into @err (if any) and returns @ret. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int ret,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

void status_init(struct status *st)
{
	memset(st, 0, sizeof(*st));
	st->latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
}

void status_cleanup(struct status *st)
{
	free(st->peers);
	status_init(st);
}

int status_add_peer(struct status *st, struct status_peer **peer)
{
	struct status_peer *p;

	*peer = NULL;
	if (st->n_peers >= STATUS_PEERS_MAX)
		return -ENOSPC;
	if (st->n_peers == st->peers_cap) {
		size_t cap = st->peers_cap ? 2 * st->peers_cap : 4;

		if (cap > STATUS_PEERS_MAX)
			cap = STATUS_PEERS_MAX;
		p = realloc(st->peers, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->peers = p;
		st->peers_cap = cap;
	}
	p = &st->peers[st->n_peers++];
	memset(p, 0, sizeof(*p));
	p->latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
	*peer = p;
	return 0;
}

/* Is @name a counter name, [a-z0-9_]{1,31}? */
static bool counter_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++) {
		if (i >= STATUS_COUNTER_NAME_SIZE - 1)
			return false;
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	}
	return i > 0;
}

/* Appends to one of the two lists; see status_add_drop(). */
static int list_add(struct status_counter *list, size_t *n, const char *name, uint64_t value)
{
	size_t i;

	if (!counter_name_ok(name) || value == UINT64_MAX)
		return -EINVAL;
	for (i = 0; i < *n; i++)
		if (!strcmp(list[i].name, name))
			return -EEXIST;
	if (*n >= STATUS_COUNTERS_MAX)
		return -ENOSPC;
	strcpy(list[*n].name, name);
	list[*n].value = value;
	(*n)++;
	return 0;
}

int status_add_drop(struct status *st, const char *name, uint64_t value)
{
	return list_add(st->drops, &st->n_drops, name, value);
}

int status_add_counter(struct status *st, const char *name, uint64_t value)
{
	return list_add(st->counters, &st->n_counters, name, value);
}

int status_peer_add_drop(struct status_peer *p, const char *name, uint64_t value)
{
	return list_add(p->drops, &p->n_drops, name, value);
}

int status_peer_add_counter(struct status_peer *p, const char *name, uint64_t value)
{
	return list_add(p->counters, &p->n_counters, name, value);
}

int status_peer_add_address(struct status_peer *p, const char *address)
{
	if (strnlen(address, STATUS_ADDRESS_SIZE) == STATUS_ADDRESS_SIZE)
		return -EINVAL;
	if (p->n_addresses >= STATUS_ADDRESSES_MAX) {
		if (p->addresses_more < UINT64_MAX - 1)
			p->addresses_more++;
		return 0;
	}
	strcpy(p->addresses[p->n_addresses++], address);
	return 0;
}

/*
 * Is the NUL-terminated @s (within @size bytes) well-formed UTF-8 without
 * control characters (C0, DEL, C1), and at least @min bytes long?  Checked
 * on both sides so that what the daemon writes is what the client accepts,
 * and so that a printed field cannot send escape sequences to a terminal.
 */
static bool text_ok(const char *s, size_t size, size_t min)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, size), i = 0;
	uint32_t cp;
	int more;

	if (len == size || len < min)
		return false;
	while (i < len) {
		unsigned char c = p[i++];

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			cp = c & 0x1f;
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			cp = c & 0x0f;
			more = 2;
		} else if (c >= 0xf0 && c <= 0xf4) {
			cp = c & 0x07;
			more = 3;
		} else {
			return false; /* continuation byte, overlong lead or > U+10FFFF */
		}
		if (len - i < (size_t)more)
			return false;
		while (more--) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i++] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode, and C1 controls. */
		if ((cp < 0x800 && c >= 0xe0) || (cp < 0x10000 && c >= 0xf0) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
			return false;
	}
	return true;
}

/* A Linux interface name: as dev_valid_name() in net/core/dev.c, printable. */
static bool device_ok(const char *s)
{
	if (!text_ok(s, STATUS_DEVICE_SIZE, 1) || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return !strpbrk(s, "/: \t");
}

/* A state word: [a-z0-9-]{1,15}.  Any such word is accepted, so a newer
 * daemon may add states that an older culvertctl still shows. */
static bool state_ok(const char *s)
{
	size_t i;

	if (!text_ok(s, STATUS_WORD_SIZE, 1))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Is @s NUL-terminated within @size bytes and equal to @a or @b? */
static bool word_is(const char *s, size_t size, const char *a, const char *b)
{
	return strnlen(s, size) < size && (!strcmp(s, a) || !strcmp(s, b));
}

/* Checks one counter list; @what names it in messages. */
static int list_check(const struct status_counter *list, size_t n, const char *what, char *err,
		      size_t errlen)
{
	size_t i, j;

	if (n > STATUS_COUNTERS_MAX)
		return fail(err, errlen, -EINVAL, "%s: %zu entries, at most %d", what, n,
			    STATUS_COUNTERS_MAX);
	for (i = 0; i < n; i++) {
		if (strnlen(list[i].name, STATUS_COUNTER_NAME_SIZE) == STATUS_COUNTER_NAME_SIZE ||
		    !counter_name_ok(list[i].name))
			return fail(err, errlen, -EINVAL, "%s: entry %zu: bad name", what, i);
		if (list[i].value == UINT64_MAX)
			return fail(err, errlen, -EINVAL, "%s: %s: value out of range", what,
				    list[i].name);
		for (j = 0; j < i; j++)
			if (!strcmp(list[i].name, list[j].name))
				return fail(err, errlen, -EINVAL, "%s: %s: listed twice", what,
					    list[i].name);
	}
	return 0;
}

/*
 * Is @s an allowed IP as "ADDR/LEN": an IPv4 or IPv6 address inet_pton(3)
 * reads, a '/', and a decimal prefix length up to 32 or 128 without
 * leading zeros?
 */
static bool prefix_ok(const char *s)
{
	char addr[STATUS_ADDRESS_SIZE];
	const char *slash = strchr(s, '/'), *p;
	unsigned char bin[16];
	unsigned len = 0, max;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		max = 128;
	else
		return false;
	if (slash[1] == '0' && slash[2])
		return false;
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || p - slash > 3)
			return false;
		len = len * 10 + (unsigned)(*p - '0');
	}
	return len <= max;
}

/* Is @s a MAC address as "xx:xx:xx:xx:xx:xx", lower-case hex? */
static bool mac_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':'
			       : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[17] == '\0';
}

/* Checks peer @i of @st (@p); messages name it "peers[I]". */
static int peer_check(const struct status *st, size_t i, char *err, size_t errlen)
{
	const struct status_peer *p = &st->peers[i];
	const struct {
		const char *name;
		uint64_t value;
	} u64s[] = {
	    {"addresses_more", p->addresses_more}, {"rx_bytes", p->rx_bytes},
	    {"rx_packets", p->rx_packets},         {"tx_bytes", p->tx_bytes},
	    {"tx_packets", p->tx_packets},
	};
	bool tap = !strcmp(st->mode, STATUS_MODE_TAP);
	char what[48];
	size_t j;
	int ret;

	if (!text_ok(p->name, sizeof(p->name), 0))
		return fail(err, errlen, -EINVAL, "peers[%zu].name: not printable text", i);
	if (!text_ok(p->public_key, sizeof(p->public_key), st->sealed ? 1 : 0) ||
	    (!st->sealed && p->public_key[0]))
		return fail(err, errlen, -EINVAL, "peers[%zu].public_key: %s", i,
			    st->sealed ? "empty or not printable text"
				       : "set on a plain interface");
	if (!text_ok(p->endpoint, sizeof(p->endpoint), 0))
		return fail(err, errlen, -EINVAL, "peers[%zu].endpoint: not printable text", i);
	if (!word_is(p->transport, sizeof(p->transport), STATUS_TRANSPORT_TCP,
		     STATUS_TRANSPORT_UDP))
		return fail(err, errlen, -EINVAL,
			    "peers[%zu].transport: neither \"tcp\" nor \"udp\"", i);
	if (!state_ok(p->state))
		return fail(err, errlen, -EINVAL, "peers[%zu].state: not a word of [a-z0-9-]", i);
	if (p->n_addresses > STATUS_ADDRESSES_MAX)
		return fail(err, errlen, -EINVAL, "peers[%zu].addresses: %zu entries, at most %d",
			    i, p->n_addresses, STATUS_ADDRESSES_MAX);
	for (j = 0; j < p->n_addresses; j++) {
		const char *a = p->addresses[j];

		if (strnlen(a, STATUS_ADDRESS_SIZE) == STATUS_ADDRESS_SIZE ||
		    (tap ? !mac_ok(a) : !prefix_ok(a)))
			return fail(err, errlen, -EINVAL, "peers[%zu].addresses[%zu]: not %s", i, j,
				    tap ? "a MAC address" : "an ADDR/LEN prefix");
	}
	if (p->latest_handshake < STATUS_LATEST_HANDSHAKE_NEVER || p->latest_handshake == INT64_MAX)
		return fail(err, errlen, -EINVAL, "peers[%zu].latest_handshake: out of range", i);
	for (j = 0; j < sizeof(u64s) / sizeof(u64s[0]); j++)
		if (u64s[j].value == UINT64_MAX)
			return fail(err, errlen, -EINVAL, "peers[%zu].%s: out of range", i,
				    u64s[j].name);
	snprintf(what, sizeof(what), "peers[%zu].drops", i);
	ret = list_check(p->drops, p->n_drops, what, err, errlen);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "peers[%zu].counters", i);
	ret = list_check(p->counters, p->n_counters, what, err, errlen);
	if (ret)
		return ret;
	/* One peer per key, one per name: what metrics label them by. */
	for (j = 0; j < i; j++) {
		if (p->public_key[0] && !strcmp(p->public_key, st->peers[j].public_key))
			return fail(err, errlen, -EINVAL,
				    "peers[%zu].public_key: the same as peers[%zu]'s", i, j);
		if (p->name[0] && !strcmp(p->name, st->peers[j].name))
			return fail(err, errlen, -EINVAL,
				    "peers[%zu].name: the same as peers[%zu]'s", i, j);
	}
	return 0;
}

int status_check(const struct status *st, char *err, size_t errlen)
{
	const struct {
		const char *name;
		uint64_t value;
	} u64s[] = {
	    {"uptime", st->uptime},         {"rx_bytes", st->rx_bytes},
	    {"rx_packets", st->rx_packets}, {"tx_bytes", st->tx_bytes},
	    {"tx_packets", st->tx_packets},
	};
	size_t i;
	int ret;

	if (st->netns[0] && (!text_ok(st->netns, STATUS_NETNS_SIZE, 1) || strchr(st->netns, '/')))
		return fail(err, errlen, -EINVAL, "netns: not a namespace name");
	if (st->underlay_netns[0] &&
	    (!text_ok(st->underlay_netns, STATUS_NETNS_SIZE, 1) || strchr(st->underlay_netns, '/')))
		return fail(err, errlen, -EINVAL, "underlay_netns: not a namespace name");
	if (!device_ok(st->device))
		return fail(err, errlen, -EINVAL, "device: not an interface name");
	if (!word_is(st->mode, sizeof(st->mode), STATUS_MODE_TUN, STATUS_MODE_TAP))
		return fail(err, errlen, -EINVAL, "mode: neither \"tun\" nor \"tap\"");
	if (!word_is(st->transport, sizeof(st->transport), STATUS_TRANSPORT_TCP,
		     STATUS_TRANSPORT_UDP) &&
	    !word_is(st->transport, sizeof(st->transport), STATUS_TRANSPORT_BOTH,
		     STATUS_TRANSPORT_BOTH))
		return fail(err, errlen, -EINVAL,
			    "transport: neither \"tcp\", \"udp\" nor \"udp,tcp\"");
	if (!text_ok(st->public_key, sizeof(st->public_key), 0))
		return fail(err, errlen, -EINVAL, "public_key: not printable text");
	if (!text_ok(st->local, sizeof(st->local), 1))
		return fail(err, errlen, -EINVAL, "local: empty or not printable text");
	if (!state_ok(st->state))
		return fail(err, errlen, -EINVAL, "state: not a word of [a-z0-9-]");
	if (st->pid < 1)
		return fail(err, errlen, -EINVAL, "pid: out of range");
	if (st->latest_handshake < STATUS_LATEST_HANDSHAKE_NEVER ||
	    st->latest_handshake == INT64_MAX)
		return fail(err, errlen, -EINVAL, "latest_handshake: out of range");
	for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
		if (u64s[i].value == UINT64_MAX)
			return fail(err, errlen, -EINVAL, "%s: out of range", u64s[i].name);
	ret = list_check(st->drops, st->n_drops, "drops", err, errlen);
	if (!ret)
		ret = list_check(st->counters, st->n_counters, "counters", err, errlen);
	if (ret)
		return ret;
	if (st->n_peers > STATUS_PEERS_MAX || (st->n_peers && !st->peers))
		return fail(err, errlen, -EINVAL, "peers: %zu entries, at most %d", st->n_peers,
			    STATUS_PEERS_MAX);
	for (i = 0; i < st->n_peers; i++) {
		ret = peer_check(st, i, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Adds @val (which may be NULL after a failed allocation) to @obj under
 * @key, taking ownership of it either way.  Returns 0 or -ENOMEM.
 */
static int add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

/* Builds the JSON object of one counter list; returns it or NULL (out of memory). */
static json_object *list_to_object(const struct status_counter *list, size_t n)
{
	json_object *obj = json_object_new_object();
	size_t i;

	for (i = 0; obj && i < n; i++) {
		if (add(obj, list[i].name, json_object_new_uint64(list[i].value))) {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

/* Builds the JSON object of peer @p; NULL when out of memory. */
static json_object *peer_object(const struct status_peer *p)
{
	json_object *obj = json_object_new_object(), *addrs;
	size_t i;
	int ret = 0;

	if (!obj)
		return NULL;
	ret = ret ?: add(obj, "name", json_object_new_string(p->name));
	ret = ret ?: add(obj, "public_key", json_object_new_string(p->public_key));
	ret = ret ?: add(obj, "endpoint", json_object_new_string(p->endpoint));
	ret = ret ?: add(obj, "transport", json_object_new_string(p->transport));
	ret = ret ?: add(obj, "state", json_object_new_string(p->state));
	addrs = ret ? NULL : json_object_new_array_ext(p->n_addresses ? (int)p->n_addresses : 1);
	ret = ret ?: add(obj, "addresses", addrs);
	for (i = 0; !ret && i < p->n_addresses; i++) {
		json_object *a = json_object_new_string(p->addresses[i]);

		if (!a || json_object_array_add(addrs, a) < 0) {
			json_object_put(a);
			ret = -ENOMEM;
		}
	}
	ret = ret ?: add(obj, "addresses_more", json_object_new_uint64(p->addresses_more));
	ret = ret ?: add(obj, "latest_handshake", json_object_new_int64(p->latest_handshake));
	ret = ret ?: add(obj, "keepalive", json_object_new_uint64(p->keepalive));
	ret = ret ?: add(obj, "rx_bytes", json_object_new_uint64(p->rx_bytes));
	ret = ret ?: add(obj, "rx_packets", json_object_new_uint64(p->rx_packets));
	ret = ret ?: add(obj, "tx_bytes", json_object_new_uint64(p->tx_bytes));
	ret = ret ?: add(obj, "tx_packets", json_object_new_uint64(p->tx_packets));
	ret = ret ?: add(obj, "drops", list_to_object(p->drops, p->n_drops));
	ret = ret ?: add(obj, "counters", list_to_object(p->counters, p->n_counters));
	if (ret) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Builds the JSON array of @st's peers; NULL when out of memory. */
static json_object *peers_array(const struct status *st)
{
	json_object *arr = json_object_new_array_ext(st->n_peers ? (int)st->n_peers : 1);
	size_t i;

	for (i = 0; arr && i < st->n_peers; i++) {
		json_object *obj = peer_object(&st->peers[i]);

		if (!obj || json_object_array_add(arr, obj) < 0) {
			json_object_put(obj);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* Builds the JSON object of @st, which status_check() accepted; NULL when out of memory. */
static json_object *status_object(const struct status *st)
{
	json_object *obj = json_object_new_object();
	int ret = 0;

	if (!obj)
		return NULL;
	ret = ret ?: add(obj, "version", json_object_new_int(STATUS_VERSION));
	ret = ret ?: add(obj, "device", json_object_new_string(st->device));
	if (st->netns[0])
		ret = ret ?: add(obj, "netns", json_object_new_string(st->netns));
	if (st->underlay_netns[0])
		ret = ret ?: add(obj, "underlay_netns", json_object_new_string(st->underlay_netns));
	ret = ret ?: add(obj, "mode", json_object_new_string(st->mode));
	ret = ret ?: add(obj, "transport", json_object_new_string(st->transport));
	ret = ret ?: add(obj, "sealed", json_object_new_boolean(st->sealed));
	ret = ret ?: add(obj, "listen", json_object_new_boolean(st->listen));
	ret = ret ?: add(obj, "public_key", json_object_new_string(st->public_key));
	ret = ret ?: add(obj, "local", json_object_new_string(st->local));
	ret = ret ?: add(obj, "state", json_object_new_string(st->state));
	ret = ret ?: add(obj, "pid", json_object_new_int64(st->pid));
	ret = ret ?: add(obj, "uptime", json_object_new_uint64(st->uptime));
	ret = ret ?: add(obj, "latest_handshake", json_object_new_int64(st->latest_handshake));
	ret = ret ?: add(obj, "rx_bytes", json_object_new_uint64(st->rx_bytes));
	ret = ret ?: add(obj, "rx_packets", json_object_new_uint64(st->rx_packets));
	ret = ret ?: add(obj, "tx_bytes", json_object_new_uint64(st->tx_bytes));
	ret = ret ?: add(obj, "tx_packets", json_object_new_uint64(st->tx_packets));
	ret = ret ?: add(obj, "drops", list_to_object(st->drops, st->n_drops));
	ret = ret ?: add(obj, "counters", list_to_object(st->counters, st->n_counters));
	ret = ret ?: add(obj, "peers", peers_array(st));
	if (ret) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Serialises and frees @obj (NULL: out of memory) into *@out; 0 or -ENOMEM. */
static int render(json_object *obj, char **out, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *s;

	if (!obj)
		return -ENOMEM;
	/* PRETTY alone writes "key":value; SPACED adds the space after ':'. */
	flags |=
	    pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
	s = json_object_to_json_string_ext(obj, flags);
	*out = s ? strdup(s) : NULL;
	json_object_put(obj);
	return *out ? 0 : -ENOMEM;
}

int status_to_json(const struct status *st, char **out, bool pretty)
{
	int ret;

	*out = NULL;
	ret = status_check(st, NULL, 0);
	if (ret)
		return ret;
	return render(status_object(st), out, pretty);
}

int status_array_to_json(const struct status *sts, size_t n, char **out, bool pretty)
{
	json_object *arr;
	size_t i;
	int ret;

	*out = NULL;
	for (i = 0; i < n; i++) {
		ret = status_check(&sts[i], NULL, 0);
		if (ret)
			return ret;
	}
	/* json-c writes an empty array pretty as "[\n]". */
	if (!n) {
		*out = strdup("[]");
		return *out ? 0 : -ENOMEM;
	}
	arr = json_object_new_array_ext((int)n);
	for (i = 0; arr && i < n; i++) {
		json_object *obj = status_object(&sts[i]);

		if (!obj || json_object_array_add(arr, obj) < 0) {
			json_object_put(obj);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return render(arr, out, pretty);
}

/* Field lookup for status_from_json(): the member @key of @obj, of @type. */
static int get(json_object *obj, const char *key, enum json_type type, json_object **val, char *err,
	       size_t errlen)
{
	if (!json_object_object_get_ex(obj, key, val))
		return fail(err, errlen, -EINVAL, "missing field \"%s\"", key);
	if (!json_object_is_type(*val, type))
		return fail(err, errlen, -EINVAL, "%s: %s, want %s", key,
			    json_type_to_name(json_object_get_type(*val)), json_type_to_name(type));
	return 0;
}

/* Copies string member @key of @obj into @dst (@size bytes). */
static int get_string(json_object *obj, const char *key, char *dst, size_t size, char *err,
		      size_t errlen)
{
	json_object *val;
	const char *s;
	int ret, len;

	ret = get(obj, key, json_type_string, &val, err, errlen);
	if (ret)
		return ret;
	s = json_object_get_string(val);
	len = json_object_get_string_len(val);
	if (len < 0 || (size_t)len >= size)
		return fail(err, errlen, -EINVAL, "%s: longer than %zu bytes", key, size - 1);
	if (memchr(s, '\0', (size_t)len))
		return fail(err, errlen, -EINVAL, "%s: contains a NUL", key);
	memcpy(dst, s, (size_t)len + 1);
	return 0;
}

/*
 * Reads an integer in [@min, @max] from @val.  json-c saturates integers
 * that do not fit 64 bits to INT64_MIN or UINT64_MAX, so callers pass
 * bounds that exclude those.  Returns 0 or -EINVAL.
 */
static int int_value(json_object *val, const char *key, int64_t min, uint64_t max, int64_t *s,
		     uint64_t *u, char *err, size_t errlen)
{
	int64_t i;
	uint64_t v;

	if (!json_object_is_type(val, json_type_int))
		return fail(err, errlen, -EINVAL, "%s: %s, want int", key,
			    json_type_to_name(json_object_get_type(val)));
	i = json_object_get_int64(val);
	v = json_object_get_uint64(val); /* 0 for negative values */
	if (i < min || v > max)
		return fail(err, errlen, -EINVAL, "%s: out of range", key);
	if (s)
		*s = i;
	if (u)
		*u = v;
	return 0;
}

/* Reads unsigned member @key of @obj into *@dst. */
static int get_u64(json_object *obj, const char *key, uint64_t *dst, char *err, size_t errlen)
{
	json_object *val;

	if (!json_object_object_get_ex(obj, key, &val))
		return fail(err, errlen, -EINVAL, "missing field \"%s\"", key);
	return int_value(val, key, 0, UINT64_MAX - 1, NULL, dst, err, errlen);
}

/* Reads signed member @key of @obj, in [@min, @max], into *@dst. */
static int get_i64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *dst,
		   char *err, size_t errlen)
{
	json_object *val;

	if (!json_object_object_get_ex(obj, key, &val))
		return fail(err, errlen, -EINVAL, "missing field \"%s\"", key);
	return int_value(val, key, min, (uint64_t)max, dst, NULL, err, errlen);
}

/* Reads boolean member @key of @obj into *@dst. */
static int get_bool(json_object *obj, const char *key, bool *dst, char *err, size_t errlen)
{
	json_object *val;
	int ret = get(obj, key, json_type_boolean, &val, err, errlen);

	if (!ret)
		*dst = json_object_get_boolean(val);
	return ret;
}

/* Reads the counter list member @key of @obj into @list, *@n entries. */
static int get_list(json_object *obj, const char *key, struct status_counter *list, size_t *n,
		    char *err, size_t errlen)
{
	struct json_object_iterator it, end;
	json_object *val;
	int ret;

	ret = get(obj, key, json_type_object, &val, err, errlen);
	if (ret)
		return ret;
	if (json_object_object_length(val) > STATUS_COUNTERS_MAX)
		return fail(err, errlen, -EINVAL, "%s: %d entries, at most %d", key,
			    json_object_object_length(val), STATUS_COUNTERS_MAX);
	*n = 0;
	it = json_object_iter_begin(val);
	end = json_object_iter_end(val);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);

		/* status_check() checks the names: here, only that they fit. */
		if (strlen(name) >= STATUS_COUNTER_NAME_SIZE)
			return fail(err, errlen, -EINVAL, "%s: a name longer than %d bytes", key,
				    STATUS_COUNTER_NAME_SIZE - 1);
		strcpy(list[*n].name, name);
		ret = int_value(json_object_iter_peek_value(&it), name, 0, UINT64_MAX - 1, NULL,
				&list[*n].value, err, errlen);
		if (ret)
			return ret;
		(*n)++;
	}
	return 0;
}

/* Reads the string array member "addresses" of @obj into @p. */
static int get_addresses(json_object *obj, struct status_peer *p, char *err, size_t errlen)
{
	json_object *val;
	size_t i, n;
	int ret;

	ret = get(obj, "addresses", json_type_array, &val, err, errlen);
	if (ret)
		return ret;
	n = json_object_array_length(val);
	if (n > STATUS_ADDRESSES_MAX)
		return fail(err, errlen, -EINVAL, "addresses: %zu entries, at most %d", n,
			    STATUS_ADDRESSES_MAX);
	for (i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(val, i);
		int len;

		if (!json_object_is_type(a, json_type_string))
			return fail(err, errlen, -EINVAL, "addresses[%zu]: %s, want string", i,
				    json_type_to_name(json_object_get_type(a)));
		len = json_object_get_string_len(a);
		if (len < 0 || (size_t)len >= STATUS_ADDRESS_SIZE)
			return fail(err, errlen, -EINVAL, "addresses[%zu]: longer than %d bytes", i,
				    STATUS_ADDRESS_SIZE - 1);
		if (memchr(json_object_get_string(a), '\0', (size_t)len))
			return fail(err, errlen, -EINVAL, "addresses[%zu]: contains a NUL", i);
		memcpy(p->addresses[i], json_object_get_string(a), (size_t)len + 1);
	}
	p->n_addresses = n;
	return 0;
}

/* Fills @p from the peer object @obj (types and sizes only). */
static int peer_from_object(json_object *obj, struct status_peer *p, char *err, size_t errlen)
{
	int64_t keepalive = 0;
	int ret = 0;

	if (!json_object_is_type(obj, json_type_object))
		return fail(err, errlen, -EINVAL, "%s, want object",
			    json_type_to_name(json_object_get_type(obj)));
	ret = ret ?: get_string(obj, "name", p->name, sizeof(p->name), err, errlen);
	ret =
	    ret ?: get_string(obj, "public_key", p->public_key, sizeof(p->public_key), err, errlen);
	ret = ret ?: get_string(obj, "endpoint", p->endpoint, sizeof(p->endpoint), err, errlen);
	ret = ret ?: get_string(obj, "transport", p->transport, sizeof(p->transport), err, errlen);
	ret = ret ?: get_string(obj, "state", p->state, sizeof(p->state), err, errlen);
	ret = ret ?: get_addresses(obj, p, err, errlen);
	ret = ret ?: get_u64(obj, "addresses_more", &p->addresses_more, err, errlen);
	ret = ret
		  ?: get_i64(obj, "latest_handshake", STATUS_LATEST_HANDSHAKE_NEVER, INT64_MAX - 1,
			     &p->latest_handshake, err, errlen);
	ret = ret ?: get_i64(obj, "keepalive", 0, UINT32_MAX, &keepalive, err, errlen);
	if (!ret)
		p->keepalive = (uint32_t)keepalive;
	ret = ret ?: get_u64(obj, "rx_bytes", &p->rx_bytes, err, errlen);
	ret = ret ?: get_u64(obj, "rx_packets", &p->rx_packets, err, errlen);
	ret = ret ?: get_u64(obj, "tx_bytes", &p->tx_bytes, err, errlen);
	ret = ret ?: get_u64(obj, "tx_packets", &p->tx_packets, err, errlen);
	ret = ret ?: get_list(obj, "drops", p->drops, &p->n_drops, err, errlen);
	ret = ret ?: get_list(obj, "counters", p->counters, &p->n_counters, err, errlen);
	return ret;
}

/* Reads the array member "peers" of @obj into @st. */
static int get_peers(json_object *obj, struct status *st, char *err, size_t errlen)
{
	char why[200];
	json_object *val;
	size_t i, n;
	int ret;

	ret = get(obj, "peers", json_type_array, &val, err, errlen);
	if (ret)
		return ret;
	n = json_object_array_length(val);
	if (n > STATUS_PEERS_MAX)
		return fail(err, errlen, -EINVAL, "peers: %zu entries, at most %d", n,
			    STATUS_PEERS_MAX);
	if (!n)
		return 0;
	st->peers = calloc(n, sizeof(*st->peers));
	if (!st->peers)
		return fail(err, errlen, -ENOMEM, "out of memory");
	st->peers_cap = n;
	for (i = 0; i < n; i++) {
		struct status_peer *p = &st->peers[i];

		p->latest_handshake = STATUS_LATEST_HANDSHAKE_NEVER;
		st->n_peers = i + 1;
		ret = peer_from_object(json_object_array_get_idx(val, i), p, why, sizeof(why));
		if (ret)
			return fail(err, errlen, ret, "peers[%zu]: %s", i, why);
	}
	return 0;
}

/* Fills @st from the parsed top-level object @obj. */
static int from_object(json_object *obj, struct status *st, char *err, size_t errlen)
{
	int64_t version = 0, pid = 0; /* set before use; -O3 cannot tell */
	int ret = 0;

	if (!json_object_is_type(obj, json_type_object))
		return fail(err, errlen, -EINVAL, "not a JSON object but %s",
			    json_type_to_name(json_object_get_type(obj)));
	ret = get_i64(obj, "version", 0, INT32_MAX, &version, err, errlen);
	if (ret)
		return ret;
	if (version != STATUS_VERSION)
		return fail(err, errlen, -EPROTONOSUPPORT, "version %" PRId64 ", want %d", version,
			    STATUS_VERSION);
	ret = ret ?: get_string(obj, "device", st->device, sizeof(st->device), err, errlen);
	if (!ret && json_object_object_get_ex(obj, "netns", NULL))
		ret = get_string(obj, "netns", st->netns, sizeof(st->netns), err, errlen);
	if (!ret && json_object_object_get_ex(obj, "underlay_netns", NULL))
		ret = get_string(obj, "underlay_netns", st->underlay_netns,
				 sizeof(st->underlay_netns), err, errlen);
	ret = ret ?: get_string(obj, "mode", st->mode, sizeof(st->mode), err, errlen);
	ret =
	    ret ?: get_string(obj, "transport", st->transport, sizeof(st->transport), err, errlen);
	ret = ret ?: get_bool(obj, "sealed", &st->sealed, err, errlen);
	ret = ret ?: get_bool(obj, "listen", &st->listen, err, errlen);
	ret = ret
		  ?: get_string(obj, "public_key", st->public_key, sizeof(st->public_key), err,
				errlen);
	ret = ret ?: get_string(obj, "local", st->local, sizeof(st->local), err, errlen);
	ret = ret ?: get_string(obj, "state", st->state, sizeof(st->state), err, errlen);
	ret = ret ?: get_i64(obj, "pid", 1, INT32_MAX, &pid, err, errlen);
	if (!ret)
		st->pid = (int32_t)pid;
	ret = ret ?: get_u64(obj, "uptime", &st->uptime, err, errlen);
	ret = ret
		  ?: get_i64(obj, "latest_handshake", STATUS_LATEST_HANDSHAKE_NEVER, INT64_MAX - 1,
			     &st->latest_handshake, err, errlen);
	ret = ret ?: get_u64(obj, "rx_bytes", &st->rx_bytes, err, errlen);
	ret = ret ?: get_u64(obj, "rx_packets", &st->rx_packets, err, errlen);
	ret = ret ?: get_u64(obj, "tx_bytes", &st->tx_bytes, err, errlen);
	ret = ret ?: get_u64(obj, "tx_packets", &st->tx_packets, err, errlen);
	ret = ret ?: get_list(obj, "drops", st->drops, &st->n_drops, err, errlen);
	ret = ret ?: get_list(obj, "counters", st->counters, &st->n_counters, err, errlen);
	ret = ret ?: get_peers(obj, st, err, errlen);
	/* Types and sizes are right; now the same rules as the writer's. */
	return ret ?: status_check(st, err, errlen);
}

int status_from_json(const char *text, size_t len, struct status *out, char *err, size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *obj;
	size_t end;
	int ret;

	status_init(out);
	if (err && errlen)
		*err = '\0';
	if (len > STATUS_JSON_MAX)
		return fail(err, errlen, -EMSGSIZE, "%zu bytes, more than %d", len,
			    STATUS_JSON_MAX);
	if (memchr(text, '\0', len))
		return fail(err, errlen, -EINVAL, "contains a NUL byte");
	tok = json_tokener_new_ex(STATUS_JSON_DEPTH);
	if (!tok)
		return fail(err, errlen, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			return fail(err, errlen, -EINVAL, "truncated JSON (%zu bytes)", len);
		return fail(err, errlen, -EINVAL, "bad JSON at byte %zu: %s", end,
			    json_tokener_error_desc(jerr));
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", text[end])) {
			json_object_put(obj);
			return fail(err, errlen, -EINVAL, "trailing data at byte %zu", end);
		}
	}
	ret = from_object(obj, out, err, errlen);
	json_object_put(obj);
	if (ret)
		status_cleanup(out);
	return ret;
}

const char *status_format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	char tmp[64];
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", bytes);
		return buf;
	}
	v /= 1024;
	while (u + 1 < sizeof(units) / sizeof(units[0])) {
		/* 1048575 B is 1023.999 KiB: "1024.00 KiB" reads wrong; say 1.00 MiB. */
		snprintf(tmp, sizeof(tmp), "%.2f", v);
		if (v < 1024 && strcmp(tmp, "1024.00") != 0)
			break;
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f %s", v, units[u]);
	return buf;
}

/* Appends "N unit(s)" to @buf (@size bytes, holding @*len) unless @n is 0. */
static void duration_part(char *buf, size_t size, size_t *len, uint64_t n, const char *unit)
{
	int w;

	if (!n || *len >= size)
		return;
	w = snprintf(buf + *len, size - *len, "%s%" PRIu64 " %s%s", *len ? ", " : "", n, unit,
		     n == 1 ? "" : "s");
	if (w > 0)
		*len += (size_t)w;
}

const char *status_format_duration(char *buf, size_t size, uint64_t seconds)
{
	size_t len = 0;

	if (!size)
		return buf;
	buf[0] = '\0';
	if (!seconds) {
		snprintf(buf, size, "0 seconds");
		return buf;
	}
	duration_part(buf, size, &len, seconds / 86400, "day");
	duration_part(buf, size, &len, seconds / 3600 % 24, "hour");
	duration_part(buf, size, &len, seconds / 60 % 60, "minute");
	duration_part(buf, size, &len, seconds % 60, "second");
	return buf;
}

/*
 * A line "  LABEL: item, item, ..." being printed, wrapped before
 * STATUS_PRINT_WIDTH with continuation lines aligned under the first item.
 */
struct wrap {
	FILE *f;
	const char *label;
	size_t indent, col; /* col 0: nothing printed yet */
};

static void wrap_begin(struct wrap *w, FILE *f, const char *label)
{
	*w = (struct wrap){.f = f, .label = label, .indent = strlen(label) + 4};
}

static void wrap_item(struct wrap *w, const char *item)
{
	size_t len = strlen(item);

	if (!w->col) {
		fprintf(w->f, "  %s: %s", w->label, item);
		w->col = w->indent + len;
	} else if (w->col + 2 + len + 1 > STATUS_PRINT_WIDTH) {
		fprintf(w->f, ",\n%*s%s", (int)w->indent, "", item);
		w->col = w->indent + len;
	} else {
		fprintf(w->f, ", %s", item);
		w->col += 2 + len;
	}
}

/* Ends the line, if anything was printed; returns whether it was. */
static bool wrap_end(struct wrap *w)
{
	if (w->col)
		fputc('\n', w->f);
	return w->col != 0;
}

/*
 * Prints "  LABEL: name value, name value, ..." for @list, skipping
 * @skip (may be NULL), wrapped.  Prints nothing when no entry is left.
 */
static void print_list(FILE *f, const char *label, const struct status_counter *list, size_t n,
		       const char *skip)
{
	char item[STATUS_COUNTER_NAME_SIZE + 24];
	struct wrap w;
	size_t i;

	wrap_begin(&w, f, label);
	for (i = 0; i < n; i++) {
		if (skip && !strcmp(list[i].name, skip))
			continue;
		/* The precision bounds the name for gcc -O3, which cannot see
		 * that it is NUL-terminated within its array. */
		snprintf(item, sizeof(item), "%.*s %" PRIu64, (int)(STATUS_COUNTER_NAME_SIZE - 1),
			 list[i].name, list[i].value);
		wrap_item(&w, item);
	}
	wrap_end(&w);
}

/* Prints "  latest handshake: ..." for @seconds ago (-1: never). */
static void print_handshake(FILE *f, int64_t seconds)
{
	char dur[128];

	if (seconds < 0)
		fprintf(f, "  latest handshake: never\n");
	else
		fprintf(f, "  latest handshake: %s ago\n",
			status_format_duration(dur, sizeof(dur), (uint64_t)seconds));
}

/* Prints "  transfer: ..." for the four counters. */
static void print_transfer(FILE *f, uint64_t rx_bytes, uint64_t rx_packets, uint64_t tx_bytes,
			   uint64_t tx_packets)
{
	char rx[32], tx[32];

	fprintf(f,
		"  transfer: %s received, %s sent  (rx %" PRIu64 " packets, tx %" PRIu64
		" packets)\n",
		status_format_bytes(rx, sizeof(rx), rx_bytes),
		status_format_bytes(tx, sizeof(tx), tx_bytes), rx_packets, tx_packets);
}

/* Prints peer @p of interface @st: "peer: ID" and its indented lines. */
static void print_peer(FILE *f, const struct status *st, const struct status_peer *p)
{
	const char *id = p->public_key[0] ? p->public_key
			 : p->name[0]     ? p->name
			 : p->endpoint[0] ? p->endpoint
					  : "(unknown)";
	char item[32], dur[128];
	struct wrap w;
	size_t i;

	fprintf(f, "peer: %s\n", id);
	if (p->public_key[0] && p->name[0])
		fprintf(f, "  name: %s\n", p->name);
	if (p->endpoint[0] && id != p->endpoint)
		fprintf(f, "  endpoint: %s\n", p->endpoint);
	fprintf(f, "  transport: %s\n", p->transport);
	fprintf(f, "  state: %s\n", p->state);
	wrap_begin(&w, f, strcmp(st->mode, STATUS_MODE_TAP) ? "allowed ips" : "learned macs");
	for (i = 0; i < p->n_addresses; i++)
		wrap_item(&w, p->addresses[i]);
	if (p->addresses_more) {
		snprintf(item, sizeof(item), "and %" PRIu64 " more", p->addresses_more);
		wrap_item(&w, item);
	}
	if (!wrap_end(&w))
		fprintf(f, "  %s: (none)\n", w.label);
	if (st->sealed)
		print_handshake(f, p->latest_handshake);
	print_transfer(f, p->rx_bytes, p->rx_packets, p->tx_bytes, p->tx_packets);
	if (p->keepalive)
		fprintf(f, "  persistent keepalive: every %s\n",
			status_format_duration(dur, sizeof(dur), p->keepalive));
	print_list(f, "drops", p->drops, p->n_drops, NULL);
	print_list(f, "counters", p->counters, p->n_counters, NULL);
}

int status_print(FILE *f, const struct status *st)
{
	char dur[128];
	size_t i;

	fprintf(f, "interface: %s", st->device);
	if (st->netns[0])
		fprintf(f, " (netns %s)", st->netns);
	fputc('\n', f);
	if (st->underlay_netns[0])
		fprintf(f, "  underlay netns: %s\n", st->underlay_netns);
	fprintf(f, "  mode: %s\n", st->mode);
	fprintf(f, "  transport: %s%s\n", st->transport, st->sealed ? ", sealed" : "");
	if (st->public_key[0])
		fprintf(f, "  public key: %s\n", st->public_key);
	fprintf(f, "  %s: %s\n", st->listen ? "listening on" : "local", st->local);
	fprintf(f, "  state: %s\n", st->state);
	if (st->sealed)
		print_handshake(f, st->latest_handshake);
	print_transfer(f, st->rx_bytes, st->rx_packets, st->tx_bytes, st->tx_packets);
	print_list(f, "drops", st->drops, st->n_drops, NULL);
	for (i = 0; i < st->n_counters; i++)
		if (!strcmp(st->counters[i].name, "reconnects"))
			fprintf(f, "  reconnects: %" PRIu64 "\n", st->counters[i].value);
	fprintf(f, "  uptime: %s\n", status_format_duration(dur, sizeof(dur), st->uptime));
	print_list(f, "counters", st->counters, st->n_counters, "reconnects");
	for (i = 0; i < st->n_peers; i++) {
		fputc('\n', f);
		print_peer(f, st, &st->peers[i]);
	}
	return ferror(f) ? -EIO : 0;
}
