/* SPDX-License-Identifier: MIT */
/* Packet helpers for the vnet and GRO fuzz targets (tests/fuzz/fuzz_net.h). */
#include <string.h>

#include "fuzz_net.h"

uint16_t net_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t net_get32(const uint8_t *p)
{
	return (uint32_t)net_get16(p) << 16 | net_get16(p + 2);
}

void net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void net_put32(uint8_t *p, uint32_t v)
{
	net_put16(p, (uint16_t)(v >> 16));
	net_put16(p + 2, (uint16_t)v);
}

uint64_t net_sum(uint64_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += net_get16(p + i);
	if (n & 1)
		sum += (uint64_t)p[n - 1] << 8;
	return sum;
}

uint16_t net_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

bool net_parse_tcp(const uint8_t *pkt, size_t len, bool tap, struct net_tcp *t)
{
	size_t off = 0, doff;
	uint16_t type = 0;

	if (tap) {
		if (len < 14)
			return false;
		type = net_get16(pkt + 12);
		off = 14;
		for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); i++) {
			if (len < off + 4)
				return false;
			type = net_get16(pkt + off + 2);
			off += 4;
		}
		if (type != 0x0800 && type != 0x86dd)
			return false;
	}
	if (len <= off)
		return false;
	t->l3 = off;
	t->v6 = pkt[off] >> 4 == 6;
	if (tap && t->v6 != (type == 0x86dd))
		return false;
	if (t->v6) {
		if (len < off + 40 || pkt[off + 6] != 6)
			return false;
		t->l4 = off + 40;
	} else {
		if (pkt[off] >> 4 != 4 || len < off + 20 || (pkt[off] & 15) < 5 ||
		    pkt[off + 9] != 6 || len < off + (size_t)(pkt[off] & 15) * 4)
			return false;
		t->l4 = off + (size_t)(pkt[off] & 15) * 4;
	}
	if (len < t->l4 + 20)
		return false;
	doff = (size_t)(pkt[t->l4 + 12] >> 4) * 4;
	if (doff < 20 || len < t->l4 + doff)
		return false;
	t->hlen = t->l4 + doff;
	return true;
}

/* The TCP pseudo-header sum (RFC 9293 section 3.1, RFC 8200 section 8.1). */
static uint64_t pseudo(const uint8_t *ip, bool v6, size_t tcp_len)
{
	uint64_t s = v6 ? net_sum(0, ip + 8, 32) : net_sum(0, ip + 12, 8);

	return s + 6 + (tcp_len >> 16) + (tcp_len & 0xffff);
}

void net_fix_csums(uint8_t *pkt, size_t len, const struct net_tcp *t)
{
	uint8_t *ip = pkt + t->l3, *th = pkt + t->l4;

	if (!t->v6) {
		net_put16(ip + 10, 0);
		net_put16(ip + 10, (uint16_t)~net_fold(net_sum(0, ip, t->l4 - t->l3)));
	}
	net_put16(th + 16, 0);
	net_put16(th + 16, (uint16_t)~net_fold(pseudo(ip, t->v6, len - t->l4) +
					       net_sum(0, th, len - t->l4)));
}

bool net_csums_ok(const uint8_t *pkt, size_t len, const struct net_tcp *t)
{
	const uint8_t *ip = pkt + t->l3, *th = pkt + t->l4;

	if (!t->v6 && net_fold(net_sum(0, ip, t->l4 - t->l3)) != 0xffff)
		return false;
	return net_fold(pseudo(ip, t->v6, len - t->l4) + net_sum(0, th, len - t->l4)) == 0xffff;
}

size_t net_build(uint8_t *buf, const struct net_seg *s)
{
	size_t off = 0, iphl = s->v6 ? 40 : 20, len;
	struct net_tcp t;
	uint8_t *ip, *th;

	if (s->tap) {
		static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

		memcpy(buf, macs, 12);
		off = 12;
		for (int i = 0; i < s->vlans && i < 2; i++) {
			net_put16(buf + off, i == 0 && s->vlans == 2 ? 0x88a8 : 0x8100);
			net_put16(buf + off + 2, (uint16_t)(100 + i));
			off += 4;
		}
		net_put16(buf + off, s->v6 ? 0x86dd : 0x0800);
		off += 2;
	}
	ip = buf + off;
	th = ip + iphl;
	len = off + iphl + 20 + s->optlen + s->payload;
	memset(ip, 0, iphl + 20 + s->optlen);
	if (s->v6) {
		static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
		static const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

		ip[0] = 0x60;
		net_put16(ip + 4, (uint16_t)(len - off - 40));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, a, 16);
		memcpy(ip + 24, b, 16);
	} else {
		ip[0] = 0x45;
		net_put16(ip + 2, (uint16_t)(len - off));
		net_put16(ip + 4, s->id);
		net_put16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = 64;
		ip[9] = 6;
		net_put32(ip + 12, 0xc6120001); /* 198.18.0.1 */
		net_put32(ip + 16, 0xc6120002); /* 198.18.0.2 */
	}
	net_put16(th, 47758);
	net_put16(th + 2, 5201);
	net_put32(th + 4, s->seq);
	net_put32(th + 8, 0x01020304);
	th[12] = (uint8_t)(((20 + s->optlen) / 4) << 4);
	th[13] = s->flags;
	net_put16(th + 14, 501);
	for (size_t i = 0; i < s->optlen; i++)
		th[20 + i] = 1; /* NOP */
	for (size_t i = 0; i < s->payload; i++)
		th[20 + s->optlen + i] = (uint8_t)(s->seed + i);
	t.l3 = off;
	t.l4 = off + iphl;
	t.hlen = t.l4 + 20 + s->optlen;
	t.v6 = s->v6;
	net_fix_csums(buf, len, &t);
	return len;
}
