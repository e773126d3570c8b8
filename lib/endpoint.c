/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int endpoint_parse(const char *str, uint16_t default_port, bool passive, int family,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *port_str = NULL;
	uint16_t port = default_port;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (strlen(str) >= sizeof(host))
		return -EINVAL;
	if (str[0] == '[') {
		const char *close = strchr(str, ']');

		if (!close || close == str + 1)
			return -EINVAL;
		memcpy(host, str + 1, (size_t)(close - str - 1));
		host[close - str - 1] = '\0';
		if (close[1] == ':')
			port_str = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = strrchr(str, ':');

		/* More than one colon without brackets: a bare IPv6 literal. */
		if (colon && strchr(str, ':') != colon)
			colon = NULL;
		if (colon) {
			memcpy(host, str, (size_t)(colon - str));
			host[colon - str] = '\0';
			port_str = colon + 1;
		} else {
			strcpy(host, str);
		}
	}
	if (port_str && parse_port(port_str, &port) < 0)
		return -EINVAL;
	if (port == 0)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (host[0] == '\0') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (!passive)
			return -EINVAL;
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			*len = sizeof(*sin);
			return 0;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_any;
		*len = sizeof(*sin6);
		return 0;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		return rc == EAI_ADDRFAMILY || rc == EAI_FAMILY ? -EAFNOSUPPORT : -ENOENT;
	if (res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return -EAFNOSUPPORT;
	return 0;
}

const char *endpoint_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr, sizeof(addr));
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, size, IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) ? "%s:%u" : "[%s]:%u",
			 addr, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}

bool endpoint_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

socklen_t endpoint_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

int endpoint_prefix_parse(const char *str, struct endpoint_prefix *p)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(str, '/');
	size_t alen = slash ? (size_t)(slash - str) : strlen(str);
	struct endpoint_prefix q = {0};
	unsigned max, bits, i;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, str, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, q.addr) == 1) {
		q.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, q.addr) == 1) {
		q.family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	q.len = max;
	if (slash) {
		const char *s = slash + 1;

		if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 3)
			return -EINVAL;
		for (q.len = 0; *s; s++) {
			if (*s < '0' || *s > '9')
				return -EINVAL;
			q.len = q.len * 10 + (unsigned)(*s - '0');
		}
		if (q.len > max)
			return -EINVAL;
	}
	for (bits = q.len, i = 0; i<max / 8; i++, bits = bits> 8 ? bits - 8 : 0) {
		uint8_t host = bits >= 8 ? 0 : (uint8_t)(0xff >> bits);

		if (q.addr[i] & host)
			return -EINVAL;
	}
	*p = q;
	return 0;
}

const char *endpoint_prefix_format(const struct endpoint_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, p->len);
	return buf;
}

bool endpoint_prefix_match(const struct endpoint_prefix *p, const struct sockaddr *sa)
{
	const uint8_t *addr;
	unsigned bits = p->len, i;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		addr = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	if (family != p->family)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (addr[i] != p->addr[i])
			return false;
	return bits == 0 || ((addr[i] ^ p->addr[i]) & (uint8_t)(0xff << (8 - bits))) == 0;
}
