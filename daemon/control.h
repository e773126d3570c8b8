/* SPDX-License-Identifier: MIT */
/*
 * The status socket: a UNIX stream socket on which culvertd hands every
 * client one status document (JSON, lib/status.h) and closes the
 * connection.  `culvertctl show` is the client.  Nothing is read from
 * clients, so the socket offers no way to change the daemon.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct control;

/*
 * Renders the current status document: returns a malloc'd NUL-terminated
 * string the caller frees, or NULL when out of memory.
 */
typedef char *(*control_render_fn)(void *arg);

/*
 * Listens on @path (at most 107 bytes), replacing a stale socket there but
 * never a live one (another culvertd answering on it: -EADDRINUSE).  The
 * directory of @path must be a directory (not a symlink) owned by root or
 * by us and writable by nobody else (-ENOTDIR, -EPERM).  The socket gets
 * mode 0600 and owner @uid:@gid (the user culvertd will run as; -1 keeps
 * ours), set without following a symlink.  Returns the control in *@out, or -errno with a reason in
 * @err (@errlen bytes).
 */
int control_open(struct control **out, struct event_base *base, const char *path, uid_t uid,
		 gid_t gid, control_render_fn render, void *arg, char *err, size_t errlen);

/* Stops listening, removes the socket file (when we still may) and frees
 * @c.  NULL is ignored. */
void control_close(struct control *c);
