/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/frame.c: the simpletun frame format (doc/PROTOCOL.md). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "check_run.h"

START_TEST(test_header_big_endian)
{
	uint8_t hdr[FRAME_HDR_LEN];

	ck_assert_int_eq(frame_put_header(hdr, 0x0102), 0);
	ck_assert_uint_eq(hdr[0], 0x01);
	ck_assert_uint_eq(hdr[1], 0x02);
	ck_assert_uint_eq(frame_get_length(hdr), 0x0102);
	ck_assert_int_eq(frame_put_header(hdr, FRAME_MAX_LEN), 0);
	ck_assert_uint_eq(hdr[0], 0xff);
	ck_assert_uint_eq(hdr[1], 0xff);
}
END_TEST

START_TEST(test_header_rejects_bad_lengths)
{
	uint8_t hdr[FRAME_HDR_LEN] = {0xaa, 0xbb};

	ck_assert_int_eq(frame_put_header(hdr, 0), -EMSGSIZE);
	ck_assert_int_eq(frame_put_header(hdr, FRAME_MAX_LEN + 1), -EMSGSIZE);
	/* Nothing written on error. */
	ck_assert_uint_eq(hdr[0], 0xaa);
	ck_assert_uint_eq(hdr[1], 0xbb);
}
END_TEST

/* Builds a stream of frames with payload sizes @sizes; payload byte j of
 * frame i is (i * 31 + j) & 0xff.  Returns the stream length. */
static size_t build_stream(uint8_t *buf, const size_t *sizes, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		frame_put_header(buf + off, sizes[i]);
		off += FRAME_HDR_LEN;
		for (size_t j = 0; j < sizes[i]; j++)
			buf[off + j] = (uint8_t)(i * 31 + j);
		off += sizes[i];
	}
	return off;
}

static void check_payload(const uint8_t *p, size_t len, size_t i, size_t want_len)
{
	size_t j;

	ck_assert_uint_eq(len, want_len);
	for (j = 0; j < len; j++)
		if (p[j] != (uint8_t)(i * 31 + j))
			break;
	ck_assert_msg(j == len, "frame %zu: payload byte %zu differs", i, j);
}

/* Feeds @stream into a reader in the chunks [0,a), [a,b), [b,len) and checks
 * every frame comes out whole, in order, exactly once. */
static void feed_split(struct frame_reader *r, const uint8_t *stream, size_t len, size_t a,
		       size_t b, const size_t *sizes, size_t n)
{
	size_t cuts[] = {0, a, b, len};
	size_t got = 0;

	for (int c = 0; c < 3; c++) {
		size_t chunk = cuts[c + 1] - cuts[c];
		size_t avail;
		uint8_t *space = frame_reader_space(r, &avail);
		const uint8_t *p;
		size_t plen;
		int rc;

		ck_assert_uint_ge(avail, chunk);
		memcpy(space, stream + cuts[c], chunk);
		frame_reader_commit(r, chunk);
		while ((rc = frame_reader_next(r, &p, &plen)) == 1) {
			ck_assert_uint_lt(got, n);
			check_payload(p, plen, got, sizes[got]);
			got++;
		}
		ck_assert_int_eq(rc, 0);
	}
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(frame_reader_pending(r), 0);
}

START_TEST(test_reader_every_split)
{
	static const size_t sizes[] = {1, 2, 60, 1500, 3, 1518};
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t *stream = malloc(8192);
	size_t len = build_stream(stream, sizes, n);
	struct frame_reader r;

	/* Every first cut point, each with second cut points one byte later,
	 * two bytes later (a whole prefix) and across the rest of the stream:
	 * covers splits inside each length prefix, between prefix and
	 * payload, inside payloads and at frame edges. */
	ck_assert_int_eq(frame_reader_init(&r, 1518), 0);
	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b += (b - a < 3) ? 1 : 61)
			feed_split(&r, stream, len, a, b, sizes, n);
		feed_split(&r, stream, len, a, len, sizes, n);
	}
	frame_reader_cleanup(&r);
	free(stream);
}
END_TEST

START_TEST(test_reader_byte_at_a_time)
{
	static const size_t sizes[] = {40, 1, 1400, 2, 40};
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t stream[4096];
	size_t len = build_stream(stream, sizes, n);
	struct frame_reader r;
	size_t got = 0;

	ck_assert_int_eq(frame_reader_init(&r, 1500), 0);
	for (size_t i = 0; i < len; i++) {
		size_t avail;
		uint8_t *space = frame_reader_space(&r, &avail);
		const uint8_t *p;
		size_t plen;

		ck_assert_uint_ge(avail, 1);
		*space = stream[i];
		frame_reader_commit(&r, 1);
		while (frame_reader_next(&r, &p, &plen) == 1) {
			check_payload(p, plen, got, sizes[got]);
			got++;
		}
	}
	ck_assert_uint_eq(got, n);
	frame_reader_cleanup(&r);
}
END_TEST

/* Many maximal frames through a reader: the buffer compacts and never
 * grows, and the space offered always fits the rest of a frame. */
START_TEST(test_reader_bounded)
{
	struct frame_reader r;
	uint8_t frame[FRAME_HDR_LEN + 1500];
	size_t got = 0, cap;

	ck_assert_int_eq(frame_reader_init(&r, 1500), 0);
	cap = r.cap;
	frame_put_header(frame, 1500);
	memset(frame + FRAME_HDR_LEN, 0x5a, 1500);
	for (int i = 0; i < 1000; i++) {
		size_t off = 0;

		/* Deliver each frame in two uneven pieces. */
		while (off < sizeof(frame)) {
			size_t avail, take;
			uint8_t *space = frame_reader_space(&r, &avail);
			const uint8_t *p;
			size_t plen;

			take = off == 0 ? 777 : sizeof(frame) - off;
			ck_assert_uint_ge(avail, take);
			memcpy(space, frame + off, take);
			frame_reader_commit(&r, take);
			off += take;
			while (frame_reader_next(&r, &p, &plen) == 1) {
				ck_assert_uint_eq(plen, 1500);
				got++;
			}
		}
	}
	ck_assert_uint_eq(got, 1000);
	ck_assert_uint_eq(r.cap, cap);
	frame_reader_cleanup(&r);
}
END_TEST

START_TEST(test_reader_rejects_zero_and_oversize)
{
	static const uint8_t zero[] = {0x00, 0x00, 0x45};
	static const uint8_t big[] = {0x05, 0xdd}; /* 1501 */
	static const uint8_t huge[] = {0xff, 0xff, 0xde, 0xad};
	const uint8_t *inputs[] = {zero, big, huge};
	size_t lens[] = {sizeof(zero), sizeof(big), sizeof(huge)};

	for (int i = 0; i < 3; i++) {
		struct frame_reader r;
		size_t avail;
		const uint8_t *p;
		size_t plen;

		ck_assert_int_eq(frame_reader_init(&r, 1500), 0);
		memcpy(frame_reader_space(&r, &avail), inputs[i], lens[i]);
		frame_reader_commit(&r, lens[i]);
		ck_assert_int_eq(frame_reader_next(&r, &p, &plen), -EBADMSG);
		/* The bad prefix stays bad: the stream cannot resynchronise. */
		ck_assert_int_eq(frame_reader_next(&r, &p, &plen), -EBADMSG);
		frame_reader_reset(&r);
		ck_assert_uint_eq(frame_reader_pending(&r), 0);
		frame_reader_cleanup(&r);
	}
}
END_TEST

START_TEST(test_reader_good_frames_before_bad_one)
{
	static const size_t sizes[] = {10, 20};
	uint8_t stream[64];
	size_t len = build_stream(stream, sizes, 2);
	struct frame_reader r;
	size_t avail;
	const uint8_t *p;
	size_t plen;

	stream[len++] = 0;
	stream[len++] = 0;
	ck_assert_int_eq(frame_reader_init(&r, 1500), 0);
	memcpy(frame_reader_space(&r, &avail), stream, len);
	frame_reader_commit(&r, len);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), 1);
	check_payload(p, plen, 0, 10);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), 1);
	check_payload(p, plen, 1, 20);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), -EBADMSG);
	frame_reader_cleanup(&r);
}
END_TEST

/* With allow_empty (the plain keepalive, doc/PROTOCOL.md) a zero length is
 * an empty frame between others; oversize stays invalid. */
START_TEST(test_reader_allow_empty)
{
	static const uint8_t stream[] = {0x00, 0x00, 0x00, 0x02, 0xab,
					 0xcd, 0x00, 0x00, 0x05, 0xdd};
	struct frame_reader r;
	const uint8_t *p;
	size_t avail, plen;

	ck_assert_int_eq(frame_reader_init(&r, 1500), 0);
	r.allow_empty = true;
	memcpy(frame_reader_space(&r, &avail), stream, sizeof(stream));
	frame_reader_commit(&r, sizeof(stream));
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), 1);
	ck_assert_uint_eq(plen, 0);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), 1);
	ck_assert_uint_eq(plen, 2);
	ck_assert_uint_eq(p[0], 0xab);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), 1);
	ck_assert_uint_eq(plen, 0);
	ck_assert_int_eq(frame_reader_next(&r, &p, &plen), -EBADMSG); /* 1501 */
	frame_reader_cleanup(&r);
}
END_TEST

START_TEST(test_reader_init_limits)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 0), -EINVAL);
	ck_assert_int_eq(frame_reader_init(&r, FRAME_MAX_LEN + 1), -EINVAL);
	ck_assert_int_eq(frame_reader_init(&r, FRAME_MAX_LEN), 0);
	ck_assert_uint_ge(r.cap, 2 * (FRAME_HDR_LEN + FRAME_MAX_LEN));
	frame_reader_cleanup(&r);
	frame_reader_cleanup(&r); /* twice is harmless */
}
END_TEST

START_TEST(test_datagram_valid)
{
	static const size_t sizes[] = {100, 1, 1400};
	uint8_t d[2048];
	size_t len = build_stream(d, sizes, 3), off = 0, i = 0, plen;
	const uint8_t *p;

	ck_assert_int_eq(frame_datagram_check(d, len, 1500), 3);
	while (frame_datagram_next(d, len, &off, &p, &plen)) {
		check_payload(p, plen, i, sizes[i]);
		i++;
	}
	ck_assert_uint_eq(i, 3);
	ck_assert_int_eq(frame_datagram_check(d, FRAME_HDR_LEN + 100, 1500), 1);
}
END_TEST

START_TEST(test_datagram_invalid)
{
	static const size_t sizes[] = {100, 50};
	uint8_t d[512];
	size_t len = build_stream(d, sizes, 2);

	ck_assert_int_eq(frame_datagram_check(d, 0, 1500), -EBADMSG);
	/* One byte short, one byte long, a lone prefix byte at the end. */
	ck_assert_int_eq(frame_datagram_check(d, len - 1, 1500), -EBADMSG);
	ck_assert_int_eq(frame_datagram_check(d, len + 1, 1500), -EBADMSG);
	d[len] = 0;
	ck_assert_int_eq(frame_datagram_check(d, len + 2, 1500), -EBADMSG);
	/* Above the maximum. */
	ck_assert_int_eq(frame_datagram_check(d, len, 99), -EBADMSG);
	/* A zero length in the middle. */
	d[0] = 0;
	d[1] = 0;
	ck_assert_int_eq(frame_datagram_check(d, len, 1500), -EBADMSG);
	/* Prefix claims more than the datagram holds. */
	frame_put_header(d, 60000);
	ck_assert_int_eq(frame_datagram_check(d, len, FRAME_MAX_LEN), -EBADMSG);
}
END_TEST

/* Builds a 28-byte IPv4 header and UDP header (no payload) at @p with a
 * right header checksum (RFC 1071), computed here independently. */
static void first_ipv4(uint8_t *p, size_t total)
{
	uint32_t sum = 0;

	memset(p, 0, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[8] = 64;
	p[9] = 17;
	p[12] = 198, p[13] = 19, p[14] = 0, p[15] = 2;
	p[16] = 198, p[17] = 19, p[18] = 0, p[19] = 1;
	for (unsigned i = 0; i < 20; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
}

/* The first frame of a plain TCP connection on probation: only what a
 * peer's device could have produced takes over from the established one. */
START_TEST(test_first_check)
{
	uint8_t p[128], f[128];
	unsigned passed = 0;

	/* TUN, IPv4: exact total length and a right header checksum. */
	first_ipv4(p, 28);
	ck_assert_int_eq(frame_first_check(p, 28, false), 0);
	ck_assert_int_eq(frame_first_check(p, 27, false), -EINVAL);
	ck_assert_int_eq(frame_first_check(p, 29, false), -EINVAL);
	p[11] ^= 1;
	ck_assert_int_eq(frame_first_check(p, 28, false), -EINVAL);
	p[11] ^= 1;
	p[0] = 0x44; /* IHL 4: shorter than a header */
	ck_assert_int_eq(frame_first_check(p, 28, false), -EINVAL);
	/* TUN, IPv6: the payload length must be the rest. */
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 8;
	ck_assert_int_eq(frame_first_check(p, 48, false), 0);
	ck_assert_int_eq(frame_first_check(p, 49, false), -EINVAL);
	ck_assert_int_eq(frame_first_check(p, 40, false), -EINVAL);
	/* TAP: a unicast, non-zero source MAC. */
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	f[6] = 0x02, f[11] = 0x01;
	f[12] = 0x08, f[13] = 0x06;
	memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	ck_assert_int_eq(frame_first_check(f, 42, true), 0);
	ck_assert_int_eq(frame_first_check(f, 60, true), 0);
	ck_assert_int_eq(frame_first_check(f, 41, true), -EINVAL);
	f[6] = 0x03; /* a group source */
	ck_assert_int_eq(frame_first_check(f, 42, true), -EINVAL);
	f[6] = 0, f[11] = 0; /* zero */
	ck_assert_int_eq(frame_first_check(f, 42, true), -EINVAL);
	f[6] = 0x02, f[11] = 0x01;
	f[19] = 0x08; /* ARP for another hardware length */
	ck_assert_int_eq(frame_first_check(f, 42, true), -EINVAL);
	/* TAP, IPv4: the packet exact, or padded when the frame is 60 bytes. */
	f[12] = 0x08, f[13] = 0x00;
	first_ipv4(f + 14, 28);
	ck_assert_int_eq(frame_first_check(f, 42, true), 0);
	ck_assert_int_eq(frame_first_check(f, 60, true), 0);
	ck_assert_int_eq(frame_first_check(f, 61, true), -EINVAL);
	ck_assert_int_eq(frame_first_check(f, 41, true), -EINVAL);
	f[14] = 0x65; /* IPv6 nibble under the IPv4 type */
	ck_assert_int_eq(frame_first_check(f, 42, true), -EINVAL);
	/* The type alone, with no packet behind it (fuzz_vnet found this
	 * read past the end once). */
	ck_assert_int_eq(frame_first_check(f, 14, true), -EINVAL);
	/* TAP, an IEEE 802.3 length: the frame's own. */
	f[12] = 0, f[13] = 50;
	ck_assert_int_eq(frame_first_check(f, 64, true), 0);
	ck_assert_int_eq(frame_first_check(f, 65, true), -EINVAL);
	f[12] = 0x12, f[13] = 0x34; /* a type no host sends first */
	ck_assert_int_eq(frame_first_check(f, 64, true), -EINVAL);
	/* Random bytes: the hostile.sh case that once took over. */
	srand(1);
	for (unsigned i = 0; i < 200000; i++) {
		for (unsigned j = 0; j < sizeof(p); j++)
			p[j] = (uint8_t)rand();
		passed += frame_first_check(p, 20 + (size_t)(rand() % 100), false) == 0;
	}
	ck_assert_uint_eq(passed, 0);
}
END_TEST

/* Plain payloads from the peer: at least an IPv4 header on TUN (and IPv4
 * or IPv6 at that), at least an Ethernet header on TAP. */
START_TEST(test_payload_min)
{
	uint8_t p[64];

	ck_assert_uint_eq(frame_payload_min(false), 20);
	ck_assert_uint_eq(frame_payload_min(true), 14);
	memset(p, 0, sizeof(p));
	p[0] = 0x45;
	ck_assert_int_eq(frame_payload_check(p, 20, false), 0);
	ck_assert_int_eq(frame_payload_check(p, 19, false), -EINVAL);
	ck_assert_int_eq(frame_payload_check(p, 1, false), -EINVAL);
	ck_assert_int_eq(frame_payload_check(p, 0, false), -EINVAL);
	p[0] = 0x60;
	ck_assert_int_eq(frame_payload_check(p, 40, false), 0);
	ck_assert_int_eq(frame_payload_check(p, 39, false), -EINVAL);
	ck_assert_int_eq(frame_payload_check(p, 20, false), -EINVAL);
	/* Every other version: tun_get_user() would refuse the write. */
	for (unsigned v = 0; v < 16; v++) {
		p[0] = (uint8_t)(v << 4 | 5);
		ck_assert_int_eq(frame_payload_check(p, 64, false), v == 4 || v == 6 ? 0 : -EINVAL);
		/* On TAP the first byte is a MAC address byte. */
		ck_assert_int_eq(frame_payload_check(p, 14, true), 0);
	}
	ck_assert_int_eq(frame_payload_check(p, 13, true), -EINVAL);
	ck_assert_int_eq(frame_payload_check(p, 0, true), -EINVAL);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("header");

	tcase_add_test(tc, test_header_big_endian);
	tcase_add_test(tc, test_header_rejects_bad_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reader_every_split);
	tcase_add_test(tc, test_reader_byte_at_a_time);
	tcase_add_test(tc, test_reader_bounded);
	tcase_add_test(tc, test_reader_rejects_zero_and_oversize);
	tcase_add_test(tc, test_reader_good_frames_before_bad_one);
	tcase_add_test(tc, test_reader_allow_empty);
	tcase_add_test(tc, test_reader_init_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("datagram");
	tcase_add_test(tc, test_datagram_valid);
	tcase_add_test(tc, test_datagram_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("payload");
	tcase_add_test(tc, test_payload_min);
	tcase_add_test(tc, test_first_check);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(frame_suite());
}
