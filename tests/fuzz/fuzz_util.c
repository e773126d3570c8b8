/* SPDX-License-Identifier: MIT */
/* Helpers every fuzz target links (tests/fuzz/fuzz.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"

_Noreturn void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

/* The default for targets without generated seeds: nothing to write. */
__attribute__((weak)) int fuzz_generate(const char *dir)
{
	(void)dir;
	return 0;
}

int fuzz_write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;
	int ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	if (len && fwrite(data, 1, len, f) != len)
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* libFuzzer calls this once before the first input; fuzz_main.c too. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("CULVERT_FUZZ_GEN");
	int ret;

	(void)argc;
	(void)argv;
	if (!dir || !*dir)
		return 0;
	ret = fuzz_generate(dir);
	if (ret < 0) {
		fprintf(stderr, "generating seeds in %s: %s\n", dir, strerror(-ret));
		exit(1);
	}
	exit(0);
}

uint8_t fuzz_u8(struct fuzz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

uint16_t fuzz_u16(struct fuzz_input *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t hi = fuzz_u16(in);

	return hi << 16 | fuzz_u16(in);
}

uint64_t fuzz_u64(struct fuzz_input *in)
{
	uint64_t hi = fuzz_u32(in);

	return hi << 32 | fuzz_u32(in);
}

const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;

	*got = want < in->left ? want : in->left;
	in->p += *got;
	in->left -= *got;
	return p;
}

uint64_t fuzz_rng_state[FUZZ_RNG_STREAMS];
int fuzz_rng_stream;

static uint64_t fuzz_rng_next(void)
{
	uint64_t z = (fuzz_rng_state[fuzz_rng_stream] += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *fuzz_rng_name(void)
{
	return "culvert-fuzz";
}

static uint32_t fuzz_rng_random(void)
{
	return (uint32_t)(fuzz_rng_next() >> 32);
}

static void fuzz_rng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = fuzz_rng_next();

		memcpy(p + i, &v, size - i < 8 ? size - i : 8);
	}
}

void fuzz_rng_install(void)
{
	static struct randombytes_implementation impl = {
	    .implementation_name = fuzz_rng_name,
	    .random = fuzz_rng_random,
	    .buf = fuzz_rng_buf,
	};

	randombytes_set_implementation(&impl);
}
