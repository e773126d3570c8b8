/* SPDX-License-Identifier: MIT */
/*
 * Checks lib/noise.c against cacophony-format test vectors
 * (https://github.com/haskell-cryptography/cacophony, vectors/cacophony.txt):
 * every Noise_IK and Noise_IKpsk2 vector with the 25519_ChaChaPoly_BLAKE2b
 * suite, both sides, every message and the handshake hash.  Read as other
 * implementations write the format too (snow, noise-c): "psks" arrays that
 * are empty for patterns without a PSK, vectors without "handshake_hash"
 * (then everything else is checked), "name" for "protocol_name".  Vectors
 * of other patterns, DH functions, ciphers or hashes are skipped, each
 * reported on a "skip" line.
 *
 * Usage: noise_vectors FILE.json [--expect-skipped=N]
 * Prints one line per vector checked or skipped; exits 1 if any fails, if
 * the file holds none of those vectors, or if N is given and not the
 * number skipped; 2 on a usage or file error.
 *
 * Message order, as cacophony generates it: the handshake messages
 * alternate from the initiator, and the transport messages after them keep
 * alternating (initiator, responder, ...), each side using its own counter
 * per direction from 0.  Each side writes the payload and must produce the
 * vector's ciphertext exactly; the other side reads the vector's ciphertext
 * (not the writer's output) and must recover the payload.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "noise.h"

#define MAX_BYTES 65536

struct bytes {
	uint8_t b[MAX_BYTES];
	size_t len;
};

/* One side of a vector: its handshake, then its transport ciphers. */
struct side {
	const char *name;
	struct noise_handshake *hs;
	struct noise_cipher send, recv;
};

/* Decodes the JSON hex string @v into @out; false if it is not one. */
static bool hex_value(json_object *v, struct bytes *out)
{
	const char *end;

	out->len = 0;
	if (!v || !json_object_is_type(v, json_type_string))
		return false;
	if (sodium_hex2bin(out->b, sizeof(out->b), json_object_get_string(v),
			   (size_t)json_object_get_string_len(v), NULL, &out->len, &end) != 0)
		return false;
	return *end == '\0';
}

/* Decodes the hex string field @key of @obj; false if absent or bad. */
static bool get_hex(json_object *obj, const char *key, struct bytes *out)
{
	json_object *v;

	out->len = 0;
	if (!json_object_object_get_ex(obj, key, &v))
		return false;
	return hex_value(v, out);
}

/* The PSK in array field @key, if present (out->len 0 if not): cacophony
 * lists PSKs as an array, empty (or absent) for patterns without one, and
 * psk2 patterns use exactly one. */
static int get_psk(json_object *obj, const char *key, struct bytes *out)
{
	json_object *arr;

	out->len = 0;
	if (!json_object_object_get_ex(obj, key, &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -EINVAL;
	if (json_object_array_length(arr) == 0)
		return 0;
	if (json_object_array_length(arr) != 1)
		return -EINVAL;
	if (!hex_value(json_object_array_get_idx(arr, 0), out) || out->len != NOISE_PSK_LEN)
		return -EINVAL;
	return 0;
}

static void fail(const char *vname, int idx, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %d %s: ", idx, vname);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Creates one side's handshake from the vector's "init_" or "resp_" fields. */
static int side_new(struct side *s, json_object *v, enum noise_pattern pat, enum noise_role role)
{
	const char *pfx = role == NOISE_INITIATOR ? "init" : "resp";
	static struct bytes prologue, priv, eph, rs, psk;
	struct noise_handshake_config cfg = {.pattern = pat, .role = role};
	char key[64];

	s->name = role == NOISE_INITIATOR ? "initiator" : "responder";
	snprintf(key, sizeof(key), "%s_prologue", pfx);
	if (get_hex(v, key, &prologue)) {
		cfg.prologue = prologue.b;
		cfg.prologue_len = prologue.len;
	}
	snprintf(key, sizeof(key), "%s_static", pfx);
	if (get_hex(v, key, &priv) && priv.len == NOISE_PRIVATE_KEY_LEN)
		cfg.local_private = priv.b;
	snprintf(key, sizeof(key), "%s_ephemeral", pfx);
	if (get_hex(v, key, &eph) && eph.len == NOISE_PRIVATE_KEY_LEN)
		cfg.fixed_ephemeral = eph.b;
	snprintf(key, sizeof(key), "%s_remote_static", pfx);
	if (get_hex(v, key, &rs) && rs.len == NOISE_PUBLIC_KEY_LEN)
		cfg.remote_public = rs.b;
	snprintf(key, sizeof(key), "%s_psks", pfx);
	if (get_psk(v, key, &psk) < 0)
		return -EINVAL;
	if (psk.len)
		cfg.psk = psk.b;
	return noise_handshake_new(&s->hs, &cfg);
}

static void side_free(struct side *s)
{
	noise_handshake_free(s->hs);
	noise_cipher_wipe(&s->send);
	noise_cipher_wipe(&s->recv);
}

/* Checks one vector; returns true if every message and the hash match. */
static bool check_vector(json_object *v, enum noise_pattern pat, const char *vname, int idx)
{
	static struct bytes payload, ct, out;
	struct side sides[2] = {{0}}; /* [0] initiator, [1] responder */
	json_object *msgs;
	struct bytes hash;
	uint8_t h[NOISE_HASH_LEN];
	size_t i, n, n_hs = 0;
	bool ok = false;
	int r;

	if (!json_object_object_get_ex(v, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array)) {
		fail(vname, idx, "no messages array");
		return false;
	}
	n = json_object_array_length(msgs);
	if ((r = side_new(&sides[0], v, pat, NOISE_INITIATOR)) < 0 ||
	    (r = side_new(&sides[1], v, pat, NOISE_RESPONDER)) < 0) {
		fail(vname, idx, "handshake setup: %s", strerror(-r));
		goto out;
	}

	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(msgs, i);
		/* Handshake and transport alike alternate from the initiator. */
		struct side *w = &sides[i % 2], *rd = &sides[(i + 1) % 2];

		if (!get_hex(m, "payload", &payload) || !get_hex(m, "ciphertext", &ct)) {
			fail(vname, idx, "message %zu: bad payload or ciphertext", i);
			goto out;
		}
		if (!noise_handshake_is_complete(w->hs)) {
			n_hs++;
			r = noise_handshake_write_message(w->hs, payload.b, payload.len, out.b,
							  sizeof(out.b), &out.len);
			if (r < 0) {
				fail(vname, idx, "message %zu: %s write: %s", i, w->name,
				     strerror(-r));
				goto out;
			}
			if (out.len != ct.len || memcmp(out.b, ct.b, ct.len) != 0) {
				fail(vname, idx, "message %zu: %s wrote the wrong ciphertext", i,
				     w->name);
				goto out;
			}
			r = noise_handshake_read_message(rd->hs, ct.b, ct.len, out.b, sizeof(out.b),
							 &out.len);
			if (r < 0) {
				fail(vname, idx, "message %zu: %s read: %s", i, rd->name,
				     strerror(-r));
				goto out;
			}
			if (noise_handshake_is_complete(w->hs) !=
			    noise_handshake_is_complete(rd->hs)) {
				fail(vname, idx, "message %zu: sides disagree on completion", i);
				goto out;
			}
			if (noise_handshake_is_complete(w->hs)) {
				for (int k = 0; k < 2; k++) {
					r = noise_handshake_split(sides[k].hs, &sides[k].send,
								  &sides[k].recv);
					if (r < 0) {
						fail(vname, idx, "%s split: %s", sides[k].name,
						     strerror(-r));
						goto out;
					}
				}
			}
		} else {
			uint64_t ctr;

			r = noise_cipher_encrypt(&w->send, &ctr, NULL, 0, payload.b, payload.len,
						 out.b, sizeof(out.b), &out.len);
			if (r < 0) {
				fail(vname, idx, "message %zu: %s encrypt: %s", i, w->name,
				     strerror(-r));
				goto out;
			}
			if (out.len != ct.len || memcmp(out.b, ct.b, ct.len) != 0) {
				fail(vname, idx,
				     "message %zu: %s encrypted to the wrong ciphertext", i,
				     w->name);
				goto out;
			}
			r = noise_cipher_decrypt(&rd->recv, NULL, 0, ct.b, ct.len, out.b,
						 sizeof(out.b), &out.len);
			if (r < 0) {
				fail(vname, idx, "message %zu: %s decrypt: %s", i, rd->name,
				     strerror(-r));
				goto out;
			}
		}
		if (out.len != payload.len || memcmp(out.b, payload.b, payload.len) != 0) {
			fail(vname, idx, "message %zu: %s read the wrong payload", i, rd->name);
			goto out;
		}
	}
	if (!noise_handshake_is_complete(sides[0].hs)) {
		fail(vname, idx, "vector ends before the handshake does");
		goto out;
	}
	/* Optional in the format: without it, the messages are the check. */
	if (!json_object_object_get_ex(v, "handshake_hash", NULL)) {
		printf("ok %d %s: %zu handshake + %zu transport messages, both sides"
		       " (no handshake_hash in the vector)\n",
		       idx, vname, n_hs, n - n_hs);
		ok = true;
		goto out;
	}
	if (!get_hex(v, "handshake_hash", &hash) || hash.len != NOISE_HASH_LEN) {
		fail(vname, idx, "bad handshake_hash");
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		if (noise_handshake_hash(sides[k].hs, h) < 0 || memcmp(h, hash.b, sizeof(h)) != 0) {
			fail(vname, idx, "%s handshake hash differs", sides[k].name);
			goto out;
		}
	}
	printf("ok %d %s: %zu handshake + %zu transport messages, both sides, handshake hash\n",
	       idx, vname, n_hs, n - n_hs);
	ok = true;
out:
	side_free(&sides[0]);
	side_free(&sides[1]);
	return ok;
}

int main(int argc, char **argv)
{
	json_object *root, *vectors;
	size_t i, n;
	int checked = 0, failed = 0, skipped = 0, expect_skipped = -1;
	char *end;

	if (argc == 3 && strncmp(argv[2], "--expect-skipped=", 17) == 0) {
		expect_skipped = (int)strtol(argv[2] + 17, &end, 10);
		if (*end || end == argv[2] + 17 || expect_skipped < 0)
			argc = 0;
	}
	if (argc != 2 && !(argc == 3 && expect_skipped >= 0)) {
		fprintf(stderr, "usage: %s VECTORS.json [--expect-skipped=N]\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 2;
	}
	root = json_object_from_file(argv[1]);
	if (!root) {
		fprintf(stderr, "%s: %s\n", argv[1], json_util_get_last_err());
		return 2;
	}
	if (!json_object_object_get_ex(root, "vectors", &vectors) ||
	    !json_object_is_type(vectors, json_type_array)) {
		fprintf(stderr, "%s: no \"vectors\" array\n", argv[1]);
		json_object_put(root);
		return 2;
	}
	n = json_object_array_length(vectors);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(vectors, i);
		json_object *name;
		enum noise_pattern pat;
		const char *vname;

		/* Older cacophony files call the field "name". */
		if (!json_object_object_get_ex(v, "protocol_name", &name) &&
		    !json_object_object_get_ex(v, "name", &name)) {
			printf("skip %zu: no protocol_name\n", i);
			skipped++;
			continue;
		}
		vname = json_object_get_string(name);
		if (!vname || noise_protocol_lookup(vname, &pat) < 0) {
			printf("skip %zu %s: not a protocol lib/noise.c implements\n", i,
			       vname ? vname : "?");
			skipped++;
			continue;
		}
		checked++;
		if (!check_vector(v, pat, vname, (int)i))
			failed++;
	}
	json_object_put(root);
	printf("%d vector(s) checked, %d failed, %d skipped\n", checked, failed, skipped);
	if (expect_skipped >= 0 && skipped != expect_skipped) {
		fprintf(stderr, "%s: %d vector(s) skipped, expected %d\n", argv[1], skipped,
			expect_skipped);
		return 1;
	}
	if (checked == 0) {
		fprintf(stderr,
			"%s: no Noise_IK or Noise_IKpsk2 25519_ChaChaPoly_BLAKE2b vectors\n",
			argv[1]);
		return 1;
	}
	return failed ? 1 : 0;
}
