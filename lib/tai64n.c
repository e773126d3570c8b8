/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "tai64n.h"

int tai64n_from_timespec(uint8_t *out, const struct timespec *ts)
{
	uint64_t sec;
	uint32_t nsec;
	int i;

	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return -EINVAL;
	sec = TAI64N_EPOCH_BASE + (uint64_t)ts->tv_sec;
	nsec = (uint32_t)ts->tv_nsec;
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
	return 0;
}

int tai64n_now(uint8_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	ts.tv_nsec -= ts.tv_nsec % TAI64N_NOW_GRANULARITY_NS;
	return tai64n_from_timespec(out, &ts);
}

int tai64n_compare(const uint8_t *a, const uint8_t *b)
{
	/* Big-endian fields: byte order is time order. */
	return memcmp(a, b, TAI64N_LEN);
}
