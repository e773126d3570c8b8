/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * NAT rules in nftables through libnftables (it never runs `nft`):
 * masquerading of packets leaving through a device, and port forwarding
 * (DNAT) of packets arriving on one.  Every rule lives in one table that
 * culvert owns,
 *
 *   table inet culvert {
 *     chain prerouting  { type nat hook prerouting priority dstnat; }   DNAT
 *     chain postrouting { type nat hook postrouting priority srcnat; }  masquerade
 *   }
 *
 * made with the first rule and deleted with the last.  Each rule carries
 * its canonical words (nat_rule_format()) as its nftables comment, which is
 * how rules are found again.  Every word is checked before any nftables
 * text is built, so nothing given here is ever read as nftables syntax.
 *
 * Nothing here prints or exits.  Functions act in the calling thread's
 * network namespace (libnftables' netlink socket is opened in it) and
 * return 0, a count, or -errno; on failure they write the reason into @err
 * (@errlen bytes, NUL-terminated, cut when longer; NAT_ERRLEN is enough
 * for any reason they write itself), libnftables' own message after
 * "nftables: ".  Needs CAP_NET_ADMIN in that namespace.
 */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

/* The table culvert owns, and its chains. */
#define NAT_TABLE            "culvert"
#define NAT_CHAIN_DNAT       "prerouting"
#define NAT_CHAIN_MASQUERADE "postrouting"

/* Room for the longest string nat_rule_format() writes, NUL included
 * (a DNAT rule to a 45-character IPv6 address with a port, on a 15-character
 * device: 90 characters).  Also under nftables' 128-character comment limit. */
#define NAT_RULE_STRLEN 96

/* Room for any reason the functions below write (libnftables' longer ones are cut). */
#define NAT_ERRLEN 256

/* Words a rule has at most (dnat PROTO PORT to ADDR in DEV: 7). */
#define NAT_RULE_MAXWORDS 7

enum nat_kind {
	NAT_MASQUERADE, /* source NAT to the address of the outgoing device */
	NAT_DNAT,       /* destination NAT of a TCP or UDP port */
};

struct nat_rule {
	enum nat_kind kind;
	/* The device: outgoing for NAT_MASQUERADE, incoming for NAT_DNAT;
	 * NUL-terminated, 1..IFNAMSIZ-1 bytes, as nat_rule_parse() accepts. */
	char dev[IFNAMSIZ];
	/* NAT_MASQUERADE: only packets from this prefix (host bits zero);
	 * without it, every IPv4 and IPv6 packet leaving through @dev. */
	bool has_from;
	struct endpoint_prefix from;
	/* NAT_DNAT only (zero otherwise): IPPROTO_TCP or IPPROTO_UDP, the
	 * destination port matched (1..65535), the new destination (family
	 * AF_INET or AF_INET6, 4 or 16 bytes of @to_addr in network byte order)
	 * and its port (1..65535, or 0: @port unchanged; nat_rule_parse() turns
	 * a @to_port equal to @port into 0, so both spellings are one rule). */
	int proto;
	uint16_t port;
	int to_family;
	uint8_t to_addr[16];
	uint16_t to_port;
};

/*
 * Parses the words of a rule (what follows `culvertctl nat add` or `del`):
 *
 *   masquerade out DEV [from PREFIX]
 *   dnat {tcp|udp} PORT to ADDR[:PORT] in DEV
 *
 * (keywords with their value in any order after the kind; ADDR is IPv4,
 * or IPv6 written bare or in brackets, in brackets when a port follows:
 * [2001:db8::5]:80).  DEV is a name the kernel allows (1..15 bytes, not
 * "." or "..", no '/', ':' or white space) that nftables can also match
 * literally (no '"', '\\', '*' or control characters).  PREFIX is IPv4 or
 * IPv6 with no bits set past its length; a bare address is a host.  PORT
 * is decimal 1..65535.  @argc words from @argv.  Returns 0 with *@r filled
 * (unused fields zero), or -EINVAL with the reason in @err (the offending
 * word quoted, e.g. "'foo' is not a port (1 to 65535)"); *@r is then
 * unchanged.
 */
int nat_rule_parse(int argc, char *const argv[], struct nat_rule *r, char *err, size_t errlen);

/*
 * Writes the canonical words of @r into @buf of @len bytes
 * (NAT_RULE_STRLEN is enough), space-separated:
 * "masquerade out eth0 from 198.18.1.0/24",
 * "dnat tcp 8080 to 198.18.1.2:80 in veth0", "dnat udp 53 to 2001:db8::5 in
 * veth0".  Parsing them again gives the same rule.
 */
void nat_rule_format(const struct nat_rule *r, char *buf, size_t len);

/*
 * Adds @r (checked as nat_rule_parse() checks words, so a hand-built rule
 * cannot smuggle nftables syntax either), making the table and its chains
 * first if they are missing, all in one nftables transaction.  Returns 0,
 * -EEXIST when the rule is already there (nothing done), -EINVAL for a
 * malformed @r, or -errno (-EPERM without CAP_NET_ADMIN; -EIO when
 * libnftables failed without a system error it names).  Looking and adding
 * are two steps, made one by nat_lock(): of two culvertctl processes adding
 * the same rule at once, one adds it and the other gets -EEXIST.
 */
int nat_rule_add(const struct nat_rule *r, char *err, size_t errlen);

/*
 * Deletes @r (by the handle of the rule carrying its words); deleting the
 * table's last rule deletes the table (under nat_lock(), so a rule another
 * culvertctl adds meanwhile never goes with it).  Returns 0, -ENOENT ("no
 * such rule" in @err), -EINVAL for a malformed @r, or -errno.
 */
int nat_rule_del(const struct nat_rule *r, char *err, size_t errlen);

/* Whether @r is in the table: 1, 0 (also when there is no table), or -errno. */
int nat_rule_exists(const struct nat_rule *r, char *err, size_t errlen);

/*
 * Calls @cb(rule, @data) for every rule of the table, in nftables' order
 * (the DNAT chain first), skipping any whose comment is not a rule's
 * canonical words.  @cb returns 0 to go on, or -errno to stop, which is
 * then returned.  Returns the number of rules passed to @cb (0 also when
 * there is no table), or -errno.
 */
int nat_rule_list(int (*cb)(const struct nat_rule *r, void *data), void *data, char *err,
		  size_t errlen);

/* Deletes the table with all its rules.  Returns 0 (also when there was no table) or -errno. */
int nat_flush(char *err, size_t errlen);
