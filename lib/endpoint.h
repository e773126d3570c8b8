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
