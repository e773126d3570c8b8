/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the TCP frame reader (lib/frame.h frame_reader_*): a byte
 * stream that arrives in chunks the fuzzer chooses, checked against a
 * reference model, a plain parser over the same bytes kept in a second
 * buffer.  Every frame the reader hands out must be the model's next one,
 * byte for byte; -EBADMSG must come exactly where the model finds a bad
 * length prefix; and while a frame is incomplete a whole maximal frame must
 * still fit (the reader's promise of bounded memory without stalls).
 *
 * Input: [max_len: 2 bytes][flags: 1] then records [op: 1][bytes...]:
 *   op 0      take every complete frame
 *   op 1      reset the reader (the connection was replaced)
 *   op 2      toggle allow_empty (both ends enable the plain keepalive)
 *   op n >= 3 write the next n - 2 bytes of the input (and up to 4 times
 *             more with flag bit 0) into frame_reader_space(), as one read
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

/* The model: the bytes received and not yet consumed, and the rules of
 * lib/frame.h spelled out once more. */
struct model {
	uint8_t *buf;
	size_t len;
	size_t max_len;
	bool allow_empty;
};

/* The model's answer to frame_reader_next(). */
static int model_next(struct model *m, size_t *flen)
{
	size_t n;

	if (m->len < 2)
		return 0;
	n = (size_t)m->buf[0] << 8 | m->buf[1];
	if ((n == 0 && !m->allow_empty) || n > m->max_len)
		return -EBADMSG;
	if (m->len < 2 + n)
		return 0;
	*flen = n;
	return 1;
}

static void model_consume(struct model *m, size_t n)
{
	memmove(m->buf, m->buf + n, m->len - n);
	m->len -= n;
}

/* Takes frames until the reader wants more bytes or fails, as the daemon
 * does after each read; compares each with the model. */
static void drain(struct frame_reader *r, struct model *m)
{
	for (;;) {
		const uint8_t *payload;
		size_t len = 0, mlen = 0;
		int rc = frame_reader_next(r, &payload, &len);
		int mrc = model_next(m, &mlen);

		FUZZ_ASSERT(rc == mrc);
		FUZZ_ASSERT(frame_reader_pending(r) + (rc == 1 ? 2 + len : 0) == m->len);
		if (rc < 0) {
			/* The stream cannot be resynchronised: the caller
			 * closes it and resets the reader. */
			frame_reader_reset(r);
			m->len = 0;
			return;
		}
		if (rc == 0)
			return;
		FUZZ_ASSERT(len == mlen);
		FUZZ_ASSERT(payload >= r->buf && payload + len <= r->buf + r->cap);
		FUZZ_ASSERT(memcmp(payload, m->buf + 2, len) == 0);
		model_consume(m, 2 + len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct frame_reader r;
	struct model m = {0};
	size_t max_len = fuzz_u16(&in);
	uint8_t flags = fuzz_u8(&in);

	/* Mostly small maxima, so that limits are reached with small inputs. */
	max_len = flags & 2 ? max_len % 64 + 1 : max_len ? max_len : FRAME_MAX_LEN;
	if (frame_reader_init(&r, max_len) < 0)
		abort();
	/* The model never holds more than the reader can. */
	m.buf = malloc(r.cap);
	if (!m.buf)
		abort();
	m.max_len = max_len;
	while (in.left) {
		uint8_t op = fuzz_u8(&in);

		if (op == 0) {
			drain(&r, &m);
		} else if (op == 1) {
			frame_reader_reset(&r);
			FUZZ_ASSERT(frame_reader_pending(&r) == 0);
			m.len = 0;
		} else if (op == 2) {
			r.allow_empty = m.allow_empty = !m.allow_empty;
		} else {
			size_t want = (size_t)(op - 2) * (flags & 1 ? 5 : 1), avail, got;
			uint8_t *space = frame_reader_space(&r, &avail);
			const uint8_t *bytes;
			size_t flen;

			FUZZ_ASSERT(avail <= r.cap && space + avail == r.buf + r.cap);
			/* While a frame is incomplete, all of a maximal one fits. */
			if (model_next(&m, &flen) == 0)
				FUZZ_ASSERT(frame_reader_pending(&r) + avail >= 2 + max_len);
			if (want > avail)
				want = avail;
			bytes = fuzz_bytes(&in, want, &got);
			memcpy(space, bytes, got);
			frame_reader_commit(&r, got);
			memcpy(m.buf + m.len, bytes, got);
			m.len += got;
			FUZZ_ASSERT(frame_reader_pending(&r) == m.len);
			/* The daemon drains after every read; without flag bit 2
			 * so do we, with it frames may pile up first. */
			if (!(flags & 4))
				drain(&r, &m);
		}
	}
	drain(&r, &m);
	frame_reader_cleanup(&r);
	free(m.buf);
	return 0;
}
