/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "frame.h"

int frame_put_header(uint8_t *hdr, size_t len)
{
	if (len == 0 || len > FRAME_MAX_LEN)
		return -EMSGSIZE;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return 0;
}

int frame_reader_init(struct frame_reader *r, size_t max_len)
{
	memset(r, 0, sizeof(*r));
	if (max_len == 0 || max_len > FRAME_MAX_LEN)
		return -EINVAL;
	/* Two maximal frames: one being completed while the previous one's
	 * remainder still sits at the front, and room for large reads. */
	r->cap = 2 * (FRAME_HDR_LEN + max_len);
	if (r->cap < 65536)
		r->cap = 65536;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return -ENOMEM;
	r->max_len = max_len;
	return 0;
}

void frame_reader_cleanup(struct frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void frame_reader_reset(struct frame_reader *r)
{
	r->head = r->tail = 0;
}

uint8_t *frame_reader_space(struct frame_reader *r, size_t *avail)
{
	if (r->head == r->tail) {
		r->head = r->tail = 0;
	} else if (r->cap - r->head < FRAME_HDR_LEN + r->max_len) {
		/* The frame under way might not fit behind head: move the
		 * remainder (less than one frame) to the front. */
		memmove(r->buf, r->buf + r->head, r->tail - r->head);
		r->tail -= r->head;
		r->head = 0;
	}
	*avail = r->cap - r->tail;
	return r->buf + r->tail;
}

void frame_reader_commit(struct frame_reader *r, size_t n)
{
	r->tail += n;
}

int frame_reader_next(struct frame_reader *r, const uint8_t **payload, size_t *len)
{
	size_t have = r->tail - r->head;
	size_t n;

	if (have < FRAME_HDR_LEN)
		return 0;
	n = frame_get_length(r->buf + r->head);
	if ((n == 0 && !r->allow_empty) || n > r->max_len)
		return -EBADMSG;
	if (have < FRAME_HDR_LEN + n)
		return 0;
	*payload = r->buf + r->head + FRAME_HDR_LEN;
	*len = n;
	r->head += FRAME_HDR_LEN + n;
	return 1;
}

int frame_datagram_check(const uint8_t *dgram, size_t len, size_t max_len)
{
	size_t off = 0;
	int count = 0;

	if (len == 0)
		return -EBADMSG;
	while (off < len) {
		size_t n;

		if (len - off < FRAME_HDR_LEN)
			return -EBADMSG;
		n = frame_get_length(dgram + off);
		if (n == 0 || n > max_len || n > len - off - FRAME_HDR_LEN)
			return -EBADMSG;
		off += FRAME_HDR_LEN + n;
		count++;
	}
	return count;
}

int frame_datagram_next(const uint8_t *dgram, size_t len, size_t *off, const uint8_t **payload,
			size_t *plen)
{
	if (*off + FRAME_HDR_LEN > len)
		return 0;
	*plen = frame_get_length(dgram + *off);
	*payload = dgram + *off + FRAME_HDR_LEN;
	*off += FRAME_HDR_LEN + *plen;
	return 1;
}

size_t frame_payload_min(bool tap)
{
	return tap ? 14 : 20;
}

int frame_payload_check(const uint8_t *p, size_t len, bool tap)
{
	if (len < frame_payload_min(tap))
		return -EINVAL;
	if (tap)
		return 0;
	if ((p[0] >> 4) == 4)
		return 0;
	return (p[0] >> 4) == 6 && len >= 40 ? 0 : -EINVAL;
}

/* An IP packet that fills exactly its @len bytes (@pad: or is followed by
 * padding up to @len, as an Ethernet frame's minimum size requires). */
static bool frame_ip_exact(const uint8_t *p, size_t len, bool pad)
{
	size_t ihl, total;

	if (len >= 20 && p[0] >> 4 == 4) {
		ihl = (size_t)(p[0] & 0x0f) * 4;
		total = (size_t)p[2] << 8 | p[3];
		if (ihl < 20 || ihl > total || (pad ? total > len : total != len))
			return false;
		return csum_fold(csum_add(0, p, ihl)) == 0xffff;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		total = 40 + ((size_t)p[4] << 8 | p[5]);
		return pad ? total <= len : total == len;
	}
	return false;
}

int frame_first_check(const uint8_t *p, size_t len, bool tap)
{
	unsigned type;

	if (frame_payload_check(p, len, tap) < 0)
		return -EINVAL;
	if (!tap)
		return frame_ip_exact(p, len, false) ? 0 : -EINVAL;
	/* Source MAC at bytes 6..11: not a group address (I/G bit), not zero. */
	if ((p[6] & 1) || !(p[6] | p[7] | p[8] | p[9] | p[10] | p[11]))
		return -EINVAL;
	type = (unsigned)p[12] << 8 | p[13];
	switch (type) {
	case 0x0800: /* IPv4 */
	case 0x86dd: /* IPv6 */
		/* frame_ip_exact() reads p[14] only after checking the length. */
		return frame_ip_exact(p + 14, len - 14, len <= 60) &&
			       (p[14] >> 4) == (type == 0x0800 ? 4 : 6)
			   ? 0
			   : -EINVAL;
	case 0x0806: /* ARP for IPv4 over Ethernet (RFC 826) */
		return len >= 42 && !memcmp(p + 14, "\x00\x01\x08\x00\x06\x04", 6) ? 0 : -EINVAL;
	case 0x8100: /* IEEE 802.1Q */
	case 0x88a8: /* IEEE 802.1ad */
		return len >= 18 ? 0 : -EINVAL;
	case 0x88cc: /* LLDP */
		return 0;
	default:
		/* An IEEE 802.3 length (LLC: STP, say): the frame's, or
		 * less with padding up to 60 bytes. */
		return type < 0x0600 && (type == len - 14 || (len <= 60 && type < len - 14))
			   ? 0
			   : -EINVAL;
	}
}
