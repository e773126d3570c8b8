/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target in tests/fuzz shares (tests/fuzz/README).  A target
 * defines LLVMFuzzerTestOneInput() and, when its seeds are made by code
 * rather than by hand, fuzz_generate().  It is built two ways:
 *
 *   - with libFuzzer (tests/meson.build sees -fsanitize=fuzzer-no-link in
 *     c_args and links with -fsanitize=fuzzer): libFuzzer's main() runs;
 *   - otherwise with fuzz_main.c, whose main() runs the files and the files
 *     in the directories named on its command line once each: the unit test
 *     that replays a corpus.
 *
 * Either way, CULVERT_FUZZ_GEN=DIR in the environment (or --gen-corpus DIR
 * without libFuzzer) writes the target's generated seeds into DIR and exits.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Writes the target's generated seed inputs into the existing directory
 * @dir, one file each.  Returns 0 or -errno.  Targets whose seeds are all
 * checked in by hand keep the default, which writes nothing.
 */
int fuzz_generate(const char *dir);

/* Writes the @len bytes at @data to the file @dir/@name (replacing it).
 * Returns 0 or -errno. */
int fuzz_write_seed(const char *dir, const char *name, const void *data, size_t len);

/* Reports a broken property on stderr and aborts, so that libFuzzer saves
 * the input and the replay test fails. */
_Noreturn void fuzz_fail(const char *what, const char *file, int line);

/* Aborts unless @cond holds: an assert() that NDEBUG cannot remove. */
#define FUZZ_ASSERT(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

/*
 * A reader over the fuzzer's bytes: each call takes what it needs from the
 * front, and returns zeros once the input is used up, so a target never
 * reads past it.
 */
struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in); /* big-endian */
uint32_t fuzz_u32(struct fuzz_input *in); /* big-endian */
uint64_t fuzz_u64(struct fuzz_input *in); /* big-endian */
/* Takes up to @want bytes; returns where they are and stores the count
 * actually taken in *@got. */
const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t want, size_t *got);

/*
 * A deterministic random source for libsodium, so that keys, indices and
 * nonces, and so the messages, are the same on every run of an input:
 * splitmix64 (Steele, Lea, Flood 2014) over fuzz_rng_state[fuzz_rng_stream],
 * one stream per simulated party.  A target seeds the streams for every
 * input; fuzz_rng_install() hands the source to randombytes_set_implementation().
 * Good enough for keys nobody needs to keep secret, nothing more.
 */
#define FUZZ_RNG_STREAMS 3
extern uint64_t fuzz_rng_state[FUZZ_RNG_STREAMS];
extern int fuzz_rng_stream;
void fuzz_rng_install(void);
