/* SPDX-License-Identifier: MIT */
/*
 * TAI64N timestamps (D. J. Bernstein, https://cr.yp.to/libtai/tai64.html),
 * carried in the initiator's first handshake payload so that a responder
 * refuses an initiation not newer than the last one it accepted from that
 * peer: a replayed initiation (WireGuard paper sections 5.1 and 5.4.2).
 *
 * Layout, 12 bytes: seconds + 2^62 + 10 as a big-endian 64-bit integer (the
 * "+ 10" approximates the TAI - UTC offset exactly as WireGuard does), then
 * nanoseconds as a big-endian 32-bit integer.  Big-endian makes byte order
 * equal to time order.
 */
#pragma once

#include <stdint.h>
#include <time.h>

#define TAI64N_LEN 12
/* 2^62 + 10: TAI64 label of the UNIX epoch, plus WireGuard's 10 s offset. */
#define TAI64N_EPOCH_BASE (UINT64_C(0x4000000000000000) + 10)
/*
 * tai64n_now() rounds nanoseconds down to a multiple of this (2^24 ns, about
 * 16.8 ms), as WireGuard does, so the timestamp does not leak the
 * sender's fine-grained clock; initiations are rate-limited more coarsely
 * anyway.
 */
#define TAI64N_NOW_GRANULARITY_NS (UINT32_C(1) << 24)

/*
 * Encodes @ts (UNIX time; tv_sec >= 0, 0 <= tv_nsec < 10^9) into @out,
 * TAI64N_LEN bytes.  Returns 0, or -EINVAL when @ts is out of range.
 */
int tai64n_from_timespec(uint8_t *out, const struct timespec *ts);

/*
 * Writes the current CLOCK_REALTIME time into @out (TAI64N_LEN bytes),
 * nanoseconds rounded down to TAI64N_NOW_GRANULARITY_NS.  Returns 0 or
 * -errno from clock_gettime(2).
 */
int tai64n_now(uint8_t *out);

/*
 * Compares two TAI64N_LEN-byte timestamps.  Returns a negative value, 0 or
 * a positive value as @a is older than, equal to, or newer than @b.  Not
 * constant-time: timestamps are not secret.
 */
int tai64n_compare(const uint8_t *a, const uint8_t *b);
