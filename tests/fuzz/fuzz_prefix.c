/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the address prefixes of AllowFrom and --allow-from
 * (lib/endpoint.h): endpoint_prefix_parse(), _format() and _match().
 * Properties:
 *
 *   - parse agrees with a reference written here from its comment: split
 *     at the first '/', ADDR through inet_pton(3) (IPv4 first, then IPv6),
 *     LEN decimal without sign or leading zeros and at most the address
 *     width, no host bits set; a refused string leaves the struct as it was;
 *   - what format prints for an accepted prefix parses back to the same
 *     family, length and address;
 *   - match agrees with a bitwise comparison of the first LEN bits, for an
 *     IPv4, IPv6 or IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2: it
 *     counts as the IPv4 address it maps, and for nothing else).
 *
 * Input: [options: 1][keep: 1][address: 16] then the text (up to its first
 * NUL).  options & 3: the address is 0 sockaddr_in (its first 4 bytes),
 * 1 or 3 sockaddr_in6, 2 sockaddr_in6 ::ffff: and the first 4 bytes;
 * options & 4: the first keep bits of the address are taken from the
 * parsed prefix (so that matches happen), the rest from the input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "fuzz.h"

/* endpoint_prefix_parse() as its comment describes it. */
static int ref_parse(const char *str, struct endpoint_prefix *p)
{
	const char *slash = strchr(str, '/');
	size_t alen = slash ? (size_t)(slash - str) : strlen(str);
	char *a = malloc(alen + 1);
	unsigned max, len = 0;
	int ret = -EINVAL;

	if (!a)
		abort();
	memcpy(a, str, alen);
	a[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, a, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, a, p->addr) == 1)
		p->family = AF_INET6;
	else
		goto out;
	max = p->family == AF_INET ? 32 : 128;
	len = max;
	if (slash) {
		const char *s = slash + 1;
		size_t n = strlen(s);

		if (n == 0 || n > 3 || (s[0] == '0' && n > 1) || strspn(s, "0123456789") != n)
			goto out;
		len = (unsigned)atoi(s);
		if (len > max)
			goto out;
	}
	for (unsigned bit = len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			goto out;
	p->len = len;
	ret = 0;
out:
	free(a);
	return ret;
}

/* The first @bits bits of @a and @b are equal. */
static bool ref_bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	for (unsigned bit = 0; bit < bits; bit++)
		if ((a[bit / 8] ^ b[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static void check_match(const struct endpoint_prefix *p, uint8_t opt, unsigned keep,
			const uint8_t *raw)
{
	uint8_t a[16];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
	const struct sockaddr *sa;
	const uint8_t *v4 = NULL, *v6 = NULL;
	unsigned kind = opt & 3;
	bool want;

	memcpy(a, raw, 16);
	if (opt & 4) {
		/* The prefix's first keep bits (kinds 0 and 2 take an IPv4
		 * address from the first 4 bytes). */
		for (unsigned bit = 0; bit < keep && bit < 128; bit++) {
			uint8_t m = (uint8_t)(0x80 >> (bit % 8));

			a[bit / 8] = (uint8_t)((a[bit / 8] & ~m) | (p->addr[bit / 8] & m));
		}
	}
	if (kind == 0) {
		memcpy(&sin.sin_addr, a, 4);
		sa = (const struct sockaddr *)&sin;
		v4 = a;
	} else if (kind == 2) {
		memset(sin6.sin6_addr.s6_addr, 0, 10);
		memset(sin6.sin6_addr.s6_addr + 10, 0xff, 2);
		memcpy(sin6.sin6_addr.s6_addr + 12, a, 4);
		sa = (const struct sockaddr *)&sin6;
		v4 = a;
	} else {
		memcpy(sin6.sin6_addr.s6_addr, a, 16);
		sa = (const struct sockaddr *)&sin6;
		/* Input bytes can spell ::ffff:a.b.c.d too. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
			v4 = a + 12;
		else
			v6 = a;
	}
	if (p->family == AF_INET)
		want = v4 && ref_bits_equal(v4, p->addr, p->len);
	else
		want = v6 && ref_bits_equal(v6, p->addr, p->len);
	FUZZ_ASSERT(endpoint_prefix_match(p, sa) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	uint8_t opt = fuzz_u8(&in), keep = fuzz_u8(&in), raw[16] = {0};
	struct endpoint_prefix p, q, r;
	char *text, buf[ENDPOINT_PREFIX_STRLEN];
	const uint8_t *b;
	size_t n;
	int rc, want;

	b = fuzz_bytes(&in, sizeof(raw), &n);
	memcpy(raw, b, n);
	b = fuzz_bytes(&in, in.left, &n);
	text = malloc(n + 1);
	if (!text)
		abort();
	memcpy(text, b, n);
	text[n] = '\0';

	memset(&p, 0xa5, sizeof(p));
	memset(&q, 0xa5, sizeof(q));
	rc = endpoint_prefix_parse(text, &p);
	want = ref_parse(text, &r);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	FUZZ_ASSERT(rc == want);
	if (rc < 0) {
		FUZZ_ASSERT(memcmp(&p, &q, sizeof(p)) == 0);
		free(text);
		return 0;
	}
	FUZZ_ASSERT(p.family == r.family && p.len == r.len);
	FUZZ_ASSERT(memcmp(p.addr, r.addr, p.family == AF_INET ? 4 : 16) == 0);

	memset(buf, 0x5a, sizeof(buf));
	FUZZ_ASSERT(endpoint_prefix_format(&p, buf, sizeof(buf)) == buf);
	FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
	FUZZ_ASSERT(endpoint_prefix_parse(buf, &q) == 0);
	FUZZ_ASSERT(q.family == p.family && q.len == p.len);
	FUZZ_ASSERT(memcmp(q.addr, p.addr, p.family == AF_INET ? 4 : 16) == 0);

	check_match(&p, opt, keep, raw);
	free(text);
	return 0;
}
