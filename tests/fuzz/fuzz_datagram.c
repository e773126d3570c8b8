/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for datagram frames (lib/frame.h frame_datagram_check() and
 * frame_datagram_next()): any bytes as one UDP datagram, checked against a
 * reference parser.  A datagram is accepted iff it is made of whole frames
 * of 1..max_len bytes that fill it exactly, the count must be right, and
 * the iteration must visit exactly those frames, inside the datagram.
 *
 * Input: [max_len: 2 bytes] then the datagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

/* The reference: the number of frames, or -EBADMSG. */
static int model_check(const uint8_t *d, size_t len, size_t max_len)
{
	size_t off = 0;
	int count = 0;

	if (len == 0)
		return -EBADMSG;
	while (off != len) {
		size_t n;

		if (len - off < 2)
			return -EBADMSG;
		n = (size_t)d[off] << 8 | d[off + 1];
		if (n < 1 || n > max_len || len - off - 2 < n)
			return -EBADMSG;
		off += 2 + n;
		count++;
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	size_t max_len = fuzz_u16(&in), len, off = 0, sum = 0, plen;
	const uint8_t *d, *payload;
	uint8_t *copy;
	int rc, count = 0;

	max_len = max_len % FRAME_MAX_LEN + 1;
	/* A copy of the exact size, so that ASan sees any read past it. */
	d = fuzz_bytes(&in, in.left, &len);
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, d, len);
	rc = frame_datagram_check(copy, len, max_len);
	FUZZ_ASSERT(rc == model_check(copy, len, max_len));
	if (rc > 0) {
		while (frame_datagram_next(copy, len, &off, &payload, &plen) == 1) {
			FUZZ_ASSERT(plen >= 1 && plen <= max_len);
			FUZZ_ASSERT(payload == copy + off - plen);
			FUZZ_ASSERT(off <= len);
			sum += 2 + plen;
			count++;
		}
		FUZZ_ASSERT(count == rc && sum == len && off == len);
	}
	free(copy);
	return 0;
}
