/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for culvertctl's NAT rule words (tools/nat.c
 * nat_rule_parse()), which come from the command line and from topology
 * files: any words in, the parser returns 0 or -EINVAL with a one-line
 * message, never crashes or overruns; what it accepts formats to canonical
 * words (nat_rule_format()) that parse back to the same rule and format
 * the same again, since `nat del` and `topology down` find rules by them.
 * Nothing reaches nftables.  Words are split as topology files split them.
 *
 * Built as every target in this directory is (tests/fuzz/fuzz.h); its
 * corpus is tests/fuzz/corpus/nat.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nat.h"
#include "topology.h"

/* Parses @words into @r, aborting on a malformed result. */
static int parse(char **words, unsigned n, struct nat_rule *r)
{
	char err[NAT_ERRLEN];
	int rc;

	err[0] = '\0';
	rc = nat_rule_parse((int)n, words, r, err, sizeof(err));
	if (rc > 0 || (rc < 0 && (rc != -EINVAL || !err[0] || strchr(err, '\n'))))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, **words = NULL, **again = NULL, canon[512], canon2[512];
	struct nat_rule r, r2;
	unsigned n = 0, n2 = 0;

	if (size > 1024)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (topology_split(text, &words, &n) == 0 && parse(words, n, &r) == 0) {
		nat_rule_format(&r, canon, sizeof(canon));
		if (topology_split(canon, &again, &n2) < 0 || parse(again, n2, &r2) < 0)
			abort();
		nat_rule_format(&r2, canon2, sizeof(canon2));
		if (strcmp(canon, canon2) != 0 || memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
	}
	topology_words_free(words);
	topology_words_free(again);
	free(text);
	return 0;
}
