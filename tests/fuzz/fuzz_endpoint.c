/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for endpoint_parse() (lib/endpoint.h), the parser of --remote,
 * --local, Endpoint and Listen.  Numeric only: this program's own
 * getaddrinfo() adds AI_NUMERICHOST before calling the C library's, so no
 * input ever reaches DNS, /etc/hosts or the network.  Properties: the result
 * is 0 or one of the documented errors; an accepted endpoint has a family,
 * length and non-zero port that agree, and what endpoint_format() prints
 * for it parses back to an equal endpoint.
 *
 * Input: [options: 1][default port: 2] then the text (up to its first NUL).
 *   options & 1: passive; options >> 1 & 3: 0 AF_UNSPEC, 1 AF_INET,
 *   2 AF_INET6, 3 AF_UNSPEC.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "fuzz.h"

/* Interposes the C library's (and a sanitizer's) getaddrinfo() for this
 * program: every lookup is numeric. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h = {0};

	if (!real) {
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
		if (!real)
			abort();
	}
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	return real(node, service, &h, res);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNSPEC};
	struct fuzz_input in = {data, size};
	uint8_t opt = fuzz_u8(&in);
	uint16_t dport = fuzz_u16(&in);
	bool passive = opt & 1;
	int family = families[opt >> 1 & 3];
	struct sockaddr_storage ss, ss2;
	socklen_t len = 0, len2 = 0;
	char *text, buf[ENDPOINT_STRLEN];
	const uint8_t *p;
	size_t n;
	int rc;

	p = fuzz_bytes(&in, in.left, &n);
	text = malloc(n + 1);
	if (!text)
		abort();
	memcpy(text, p, n);
	text[n] = '\0';
	rc = endpoint_parse(text, dport, passive, family, &ss, &len);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOENT || rc == -EAFNOSUPPORT);
	if (rc == 0) {
		FUZZ_ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
		FUZZ_ASSERT(family == AF_UNSPEC || ss.ss_family == family);
		FUZZ_ASSERT(len == endpoint_len((const struct sockaddr *)&ss));
		FUZZ_ASSERT(port_of(&ss) != 0);
		endpoint_format((const struct sockaddr *)&ss, buf, sizeof(buf));
		FUZZ_ASSERT(strlen(buf) < sizeof(buf) - 1);
		/* A v4-mapped IPv6 address prints as IPv4: it parses back
		 * as AF_INET, which is not the same sockaddr. */
		if (!(ss.ss_family == AF_INET6 &&
		      IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)&ss)->sin6_addr))) {
			rc = endpoint_parse(buf, 1, passive, family, &ss2, &len2);
			FUZZ_ASSERT(rc == 0);
			FUZZ_ASSERT(len2 == len);
			FUZZ_ASSERT(endpoint_equal((const struct sockaddr *)&ss,
						   (const struct sockaddr *)&ss2));
		}
	}
	free(text);
	return 0;
}
