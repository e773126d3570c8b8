/* SPDX-License-Identifier: MIT */
/*
 * Underlay endpoints: parsing "HOST:PORT", "[V6ADDR]:PORT", ":PORT" and
 * printing socket addresses the same way (RFC 3986 section 3.2.2 brackets
 * for IPv6 literals).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for the longest string endpoint_format() writes, NUL included. */
#define ENDPOINT_STRLEN 64

/*
 * Resolves @str into a socket address.  Accepted forms: "HOST:PORT",
 * "[IPV6]:PORT", "HOST" (port @default_port), ":PORT" and "" (only with
 * @passive: the wildcard address, IPv6 "::" which also accepts IPv4 on a
 * dual-stack socket).  HOST is an address literal or a name looked up with
 * getaddrinfo(3) (blocking; the first result wins).  PORT is 1..65535.
 * @family is AF_UNSPEC, AF_INET or AF_INET6 to restrict the lookup.
 * Returns 0 with *@ss and *@len filled (network byte order inside), -EINVAL
 * for a malformed string or port, -ENOENT when the name does not resolve,
 * -EAFNOSUPPORT when it resolves only to another family.
 */
int endpoint_parse(const char *str, uint16_t default_port, bool passive, int family,
		   struct sockaddr_storage *ss, socklen_t *len);

/*
 * Writes @sa as "198.18.0.1:55555" or "[2001:db8::1]:55555" into @buf of
 * @size bytes (ENDPOINT_STRLEN is always enough).  Returns @buf; an unknown
 * family prints as "?".
 */
const char *endpoint_format(const struct sockaddr *sa, char *buf, size_t size);

/* Returns true when @a and @b hold the same family, address and port. */
bool endpoint_equal(const struct sockaddr *a, const struct sockaddr *b);

/* Returns the length of a sockaddr of @sa's family (sizeof sockaddr_in or
 * sockaddr_in6), or 0 for another family. */
socklen_t endpoint_len(const struct sockaddr *sa);

/* An address prefix, as AllowFrom gives it: family AF_INET or AF_INET6,
 * the address in network byte order (4 or 16 bytes of @addr), its length
 * in bits (0..32 or 0..128). */
struct endpoint_prefix {
	int family;
	uint8_t addr[16];
	unsigned len;
};

/* Room for the longest string endpoint_prefix_format() writes, NUL
 * included ("ffff:...:ffff/128"). */
#define ENDPOINT_PREFIX_STRLEN 48

/*
 * Parses "ADDR/LEN" or "ADDR" (a host: /32 or /128), ADDR a numeric IPv4 or
 * IPv6 address (inet_pton(3): no names, no brackets), LEN decimal without
 * sign or leading zeros.  Bits of ADDR past LEN must be zero, as iproute2
 * demands of a route (a typo then shows instead of widening the prefix).
 * Returns 0 with *@p filled, or -EINVAL (then *@p is unchanged).
 */
int endpoint_prefix_parse(const char *str, struct endpoint_prefix *p);

/* Writes @p as "198.18.0.0/15" into @buf of @size bytes
 * (ENDPOINT_PREFIX_STRLEN is enough).  Returns @buf. */
const char *endpoint_prefix_format(const struct endpoint_prefix *p, char *buf, size_t size);

/*
 * True when the address of @sa (sockaddr_in or sockaddr_in6; the port does
 * not count) lies in @p.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a
 * dual-stack socket reports IPv4 peers, RFC 4291 section 2.5.5.2) matches
 * as the IPv4 address it maps.
 */
bool endpoint_prefix_match(const struct endpoint_prefix *p, const struct sockaddr *sa);
