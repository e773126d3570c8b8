/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for status_from_json() (lib/status.h): what `culvertctl show`
 * reads from a daemon's status socket.  Any bytes in: the parser returns 0
 * or a documented error with a one-line reason, and never reads past the
 * input (it gets an exact-size copy without a NUL).  Round trip: a document
 * it accepts passes status_check(), serialises (pretty and compact) and
 * parses again to an equal struct (peers, their addresses and lists
 * included), and status_print() renders it.  What is accepted holds at most
 * STATUS_PEERS_MAX peers of at most STATUS_ADDRESSES_MAX addresses; a
 * refused document leaves no peers behind (LeakSanitizer checks the rest).
 *
 * Input: the JSON text.  status.dict holds the schema's words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "status.h"

static void same_list(const struct status_counter *a, size_t na, const struct status_counter *b,
		      size_t nb)
{
	FUZZ_ASSERT(na == nb && na <= STATUS_COUNTERS_MAX);
	for (size_t i = 0; i < na; i++) {
		FUZZ_ASSERT(strcmp(a[i].name, b[i].name) == 0);
		FUZZ_ASSERT(a[i].value == b[i].value);
	}
}

static void same_peer(const struct status_peer *a, const struct status_peer *b)
{
	FUZZ_ASSERT(strcmp(a->name, b->name) == 0);
	FUZZ_ASSERT(strcmp(a->public_key, b->public_key) == 0);
	FUZZ_ASSERT(strcmp(a->endpoint, b->endpoint) == 0);
	FUZZ_ASSERT(strcmp(a->transport, b->transport) == 0);
	FUZZ_ASSERT(strcmp(a->state, b->state) == 0);
	FUZZ_ASSERT(a->n_addresses == b->n_addresses && a->n_addresses <= STATUS_ADDRESSES_MAX);
	for (size_t i = 0; i < a->n_addresses; i++)
		FUZZ_ASSERT(strcmp(a->addresses[i], b->addresses[i]) == 0);
	FUZZ_ASSERT(a->addresses_more == b->addresses_more);
	FUZZ_ASSERT(a->latest_handshake == b->latest_handshake && a->keepalive == b->keepalive);
	FUZZ_ASSERT(a->rx_bytes == b->rx_bytes && a->rx_packets == b->rx_packets);
	FUZZ_ASSERT(a->tx_bytes == b->tx_bytes && a->tx_packets == b->tx_packets);
	same_list(a->drops, a->n_drops, b->drops, b->n_drops);
	same_list(a->counters, a->n_counters, b->counters, b->n_counters);
}

/* Field by field: the structs may differ in bytes past a string's NUL. */
static void same_status(const struct status *a, const struct status *b)
{
	FUZZ_ASSERT(strcmp(a->device, b->device) == 0);
	FUZZ_ASSERT(strcmp(a->netns, b->netns) == 0);
	FUZZ_ASSERT(strcmp(a->mode, b->mode) == 0);
	FUZZ_ASSERT(strcmp(a->transport, b->transport) == 0);
	FUZZ_ASSERT(a->sealed == b->sealed && a->listen == b->listen);
	FUZZ_ASSERT(strcmp(a->public_key, b->public_key) == 0);
	FUZZ_ASSERT(strcmp(a->local, b->local) == 0);
	FUZZ_ASSERT(strcmp(a->state, b->state) == 0);
	FUZZ_ASSERT(a->pid == b->pid && a->uptime == b->uptime);
	FUZZ_ASSERT(a->latest_handshake == b->latest_handshake);
	FUZZ_ASSERT(a->rx_bytes == b->rx_bytes && a->rx_packets == b->rx_packets);
	FUZZ_ASSERT(a->tx_bytes == b->tx_bytes && a->tx_packets == b->tx_packets);
	same_list(a->drops, a->n_drops, b->drops, b->n_drops);
	same_list(a->counters, a->n_counters, b->counters, b->n_counters);
	FUZZ_ASSERT(a->n_peers == b->n_peers && a->n_peers <= STATUS_PEERS_MAX);
	for (size_t i = 0; i < a->n_peers; i++)
		same_peer(&a->peers[i], &b->peers[i]);
}

static void one_line(int rc, const char *err)
{
	FUZZ_ASSERT(rc == -EINVAL || rc == -EMSGSIZE || rc == -EPROTONOSUPPORT || rc == -ENOMEM);
	FUZZ_ASSERT(err[0] != '\0' && strchr(err, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct status *st = malloc(3 * sizeof(*st)), *again = st + 1;
	char err[256], *text, *json;
	FILE *f;
	int rc;

	if (!st)
		abort();
	text = malloc(size ? size : 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	rc = status_from_json(text, size, st, err, sizeof(err));
	if (rc < 0) {
		one_line(rc, err);
		FUZZ_ASSERT(st->peers == NULL && st->n_peers == 0);
		goto out;
	}
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(status_check(st, err, sizeof(err)) == 0);
	for (int pretty = 0; pretty < 2; pretty++) {
		FUZZ_ASSERT(status_to_json(st, &json, pretty) == 0);
		FUZZ_ASSERT(pretty || strlen(json) <= STATUS_JSON_MAX);
		rc = status_from_json(json, strlen(json), again, err, sizeof(err));
		FUZZ_ASSERT(rc == 0);
		same_status(st, again);
		status_cleanup(again);
		free(json);
	}
	/* An array of it too, as `culvertctl show --json` writes: the copies
	 * share st's peers, so only st is cleaned up. */
	st[1] = *st;
	st[2] = *st;
	FUZZ_ASSERT(status_array_to_json(st + 1, 2, &json, false) == 0);
	free(json);
	f = fopen("/dev/null", "w");
	if (!f)
		abort();
	FUZZ_ASSERT(status_print(f, st) == 0);
	fclose(f);
	status_cleanup(st);
out:
	free(text);
	free(st);
	return 0;
}
