/* SPDX-License-Identifier: MIT */
/*
 * main() of a fuzz target built without libFuzzer (tests/fuzz/fuzz.h): runs
 * each file named on the command line, and each regular file in each
 * directory named there (in name order), once through
 * LLVMFuzzerTestOneInput(), as libFuzzer does with file arguments.  Fails
 * when it ran no input at all, so an empty or misnamed corpus cannot pass.
 *
 *   fuzz_TARGET FILE|DIR...          replay
 *   fuzz_TARGET --gen-corpus DIR     write the generated seeds into DIR
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads the whole file @path into a malloc'd buffer; 0 or -errno. */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	do {
		if (len == cap) {
			uint8_t *nbuf = realloc(buf, cap = cap ? 2 * cap : 4096);

			if (!nbuf) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*out = buf;
	*out_len = len;
	return 0;
}

/* Runs the file @path once; 0 or -errno. */
static int run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = read_file(path, &buf, &len);

	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-ret));
		return ret;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("%s: ok (%zu bytes)\n", path, len);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs @path, or every regular file in it when it is a directory; adds the
 * inputs run to *@count.  0 or -errno. */
static int run_path(const char *path, unsigned *count)
{
	struct dirent **names;
	struct stat st;
	int n, ret = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = run_file(path);
		*count += ret == 0;
		return ret;
	}
	n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char file[4096];

		if (ret == 0 && names[i]->d_name[0] != '.' &&
		    (size_t)snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name) <
			sizeof(file) &&
		    stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
			ret = run_file(file);
			*count += ret == 0;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	if (argc == 3 && strcmp(argv[1], "--gen-corpus") == 0) {
		int ret = fuzz_generate(argv[2]);

		if (ret < 0) {
			fprintf(stderr, "%s: %s\n", argv[2], strerror(-ret));
			return 1;
		}
		return 0;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			return 1;
	printf("%u input(s)\n", count);
	if (count == 0) {
		fprintf(stderr, "%s: no input to run\n", argv[0]);
		return 1;
	}
	return 0;
}
