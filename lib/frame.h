/* SPDX-License-Identifier: MIT */
/*
 * The plain frame format, byte-for-byte the one simpletun uses (doc/design.md
 * section 2; doc/PROTOCOL.md):
 *
 *	[length: 2 bytes, big-endian][payload: length bytes]
 *
 * The payload is one IP packet (TUN, IFF_NO_PI) or one Ethernet frame without
 * FCS (TAP).  Length 0 and lengths above the configured maximum are invalid.
 * Over TCP the frames form a byte stream, reassembled by struct frame_reader;
 * over UDP a datagram holds whole frames only (frame_datagram_next()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Size of the length prefix, in bytes. */
#define FRAME_HDR_LEN 2
/* Largest payload a 16-bit length prefix can describe, in bytes. */
#define FRAME_MAX_LEN 65535

/*
 * Writes the length prefix for a payload of @len bytes into @hdr
 * (FRAME_HDR_LEN bytes, big-endian).  Returns 0, or -EMSGSIZE when @len is 0
 * or above FRAME_MAX_LEN (nothing is written then).
 */
int frame_put_header(uint8_t *hdr, size_t len);

/* Returns the payload length (bytes) announced by the prefix at @hdr, which
 * must hold FRAME_HDR_LEN readable bytes (big-endian). */
static inline size_t frame_get_length(const uint8_t *hdr)
{
	return (size_t)hdr[0] << 8 | hdr[1];
}

/*
 * Reassembles frames from a byte stream (TCP).  The reader owns one
 * contiguous buffer of at least two maximal frames, so a complete frame is
 * always handed out in place, without copying, and memory stays bounded
 * whatever the peer sends.
 */
struct frame_reader {
	uint8_t *buf;
	size_t cap;     /* bytes allocated at buf */
	size_t head;    /* first unconsumed byte */
	size_t tail;    /* one past the last received byte */
	size_t max_len; /* largest valid payload, bytes (1..FRAME_MAX_LEN) */
	/* Length 0 is a valid (empty) frame: the plain-mode keepalive, only
	 * between culvert peers that both enable it (doc/PROTOCOL.md). */
	bool allow_empty;
};

/*
 * Allocates the reader's buffer for payloads of at most @max_len bytes
 * (1..FRAME_MAX_LEN).  Returns 0, -EINVAL for a bad @max_len, or -ENOMEM.
 * Release with frame_reader_cleanup().
 */
int frame_reader_init(struct frame_reader *r, size_t max_len);

/* Frees the buffer; safe on a zeroed or already cleaned-up reader. */
void frame_reader_cleanup(struct frame_reader *r);

/* Forgets any buffered bytes, as after the stream was closed. */
void frame_reader_reset(struct frame_reader *r);

/*
 * Returns where the next bytes read from the stream go and stores in *@avail
 * how many fit (always at least one byte while a frame is incomplete, since
 * the buffer holds two maximal frames; compacts the buffer when needed).
 * Call frame_reader_commit() with the count actually read.
 */
uint8_t *frame_reader_space(struct frame_reader *r, size_t *avail);

/* Accounts @n bytes written at the pointer frame_reader_space() returned;
 * @n must not exceed the *avail it gave. */
void frame_reader_commit(struct frame_reader *r, size_t n);

/*
 * Takes the next complete frame.  Returns 1 and points *@payload at its
 * payload (valid until the next call on @r) with *@len its size in bytes;
 * 0 when more bytes are needed; -EBADMSG when the next length prefix is 0
 * (unless allow_empty: then *@len is 0) or above max_len.  A byte stream cannot be resynchronised
 * after a bad prefix, so the caller must close the connection (and reset the reader).
 */
int frame_reader_next(struct frame_reader *r, const uint8_t **payload, size_t *len);

/* Returns the number of bytes buffered but not yet handed out. */
static inline size_t frame_reader_pending(const struct frame_reader *r)
{
	return r->tail - r->head;
}

/*
 * Validates a whole UDP datagram of @len bytes: it must consist of one or
 * more frames whose payloads are 1..@max_len bytes and whose sizes add up to
 * exactly @len.  Returns the number of frames (>= 1), or -EBADMSG (the whole
 * datagram must then be dropped; nothing of it is valid).
 */
int frame_datagram_check(const uint8_t *dgram, size_t len, size_t max_len);

/*
 * Iterates over the frames of a datagram that frame_datagram_check()
 * accepted.  *@off starts at 0.  Returns 1 with *@payload and *@len set and
 * *@off advanced, or 0 at the end.
 */
int frame_datagram_next(const uint8_t *dgram, size_t len, size_t *off, const uint8_t **payload,
			size_t *plen);

/*
 * Shortest payload a device can take, in bytes: an IPv4 header (20 bytes,
 * RFC 791 section 3.1) on TUN, an Ethernet header (14 bytes, IEEE 802.3) on
 * TAP (@tap).
 */
size_t frame_payload_min(bool tap);

/*
 * Checks the payload @p of @len bytes of a plain frame from the peer before
 * it is written to the device: on TUN an IP version of 4 with at least 20
 * bytes or 6 with at least 40 (RFC 8200 section 3; tun_get_user() takes no
 * other version), on TAP at least frame_payload_min(true) bytes.  Length
 * fields inside are not checked (the kernel trims or drops what disagrees).
 * Returns 0 or -EINVAL.
 */
int frame_payload_check(const uint8_t *p, size_t len, bool tap);

/*
 * The stricter check for the first frame of a plain TCP connection on
 * probation (doc/design.md section 3), which decides whether a stranger's
 * connection takes over from the established one: frame_payload_check()
 * and also, on TUN, an IPv4 header (RFC 791 section 3.1) whose IHL is at
 * least 5, whose total length is exactly @len and whose header checksum
 * (RFC 1071) is right, or an IPv6 header (RFC 8200 section 3) whose payload
 * length is exactly @len - 40.  On TAP, a frame from a unicast, non-zero
 * source MAC with one of the types a host sends first: IPv4 or IPv6 holding
 * such a packet (padded past it when the frame is 60 bytes or less), ARP
 * for IPv4 over Ethernet (RFC 826), a VLAN tag (IEEE 802.1Q/802.1ad), LLDP,
 * or an IEEE 802.3 length (LLC, as STP uses) that matches the frame.  A
 * peer that reads its device and frames each packet whole passes (on TAP,
 * unless its first frame is of another type: it is refused, and a culvertd
 * client reconnects); random bytes pass about once in 2^15 tries on TAP
 * and far less often on TUN.  Returns 0 or -EINVAL.
 */
int frame_first_check(const uint8_t *p, size_t len, bool tap);
