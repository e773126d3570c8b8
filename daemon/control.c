/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

/* A client that has not taken its document within this time is dropped. */
#define CONTROL_CLIENT_TIMEOUT_S 5

struct control {
	struct event_base *base;
	int fd;
	struct event *ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_render_fn render;
	void *arg;
};

/* The document is out (or the client went away): done with it. */
static void control_client_done_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void control_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control *c = arg;
	struct timeval timeout = {CONTROL_CLIENT_TIMEOUT_S, 0};
	struct bufferevent *bev;
	char *doc;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	doc = c->render(c->arg);
	bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!doc || !bev) {
		log_warnx("status: out of memory");
		free(doc);
		if (bev)
			bufferevent_free(bev);
		else
			close(fd);
		return;
	}
	bufferevent_setcb(bev, NULL, control_client_done_cb, control_client_event_cb, c);
	bufferevent_set_timeouts(bev, NULL, &timeout);
	bufferevent_write(bev, doc, strlen(doc));
	bufferevent_write(bev, "\n", 1);
	bufferevent_enable(bev, EV_WRITE);
	free(doc);
}

/* True when something answers on @sun (a live daemon, not a stale file). */
static bool control_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/*
 * Refuses a directory for the socket that someone else could change under
 * us: it must be a real directory (not a symlink), owned by root or by us,
 * and writable by nobody else.  Returns 0 or -errno with a reason in @err.
 */
static int control_check_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "status socket directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "status socket directory %s: not a directory (a symlink?)",
			 dir);
		return -ENOTDIR;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "status socket directory %s: owned by uid %u, not by root",
			 dir, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "status socket directory %s: writable by group or others (mode %04o)", dir,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int control_open(struct control **out, struct event_base *base, const char *path, uid_t uid,
		 gid_t gid, control_render_fn render, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct control *c;
	mode_t old_umask;
	int rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "status socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	rc = control_check_dir(path, err, errlen);
	if (rc < 0)
		return rc;
	if (control_in_use(&sun)) {
		snprintf(err, errlen, "status socket %s: another culvertd serves it", path);
		return -EADDRINUSE;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "status socket: out of memory");
		return -ENOMEM;
	}
	c->base = base;
	c->render = render;
	c->arg = arg;
	strcpy(c->path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail_errno;
	unlink(path); /* stale: nobody answered on it */
	/* Created 0600 from the start, not chmod'ed after: no window in
	 * which others could connect. */
	old_umask = umask(0177);
	rc = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc < 0)
		goto fail_errno;
	/* Never through a symlink: the name is ours, in a directory only we
	 * may write, but lchown() keeps it so whatever happens to it. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(path, uid, gid) < 0)
		goto fail_errno;
	if (listen(c->fd, 8) < 0)
		goto fail_errno;
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, control_accept_cb, c);
	if (!c->ev || event_add(c->ev, NULL) < 0) {
		errno = ENOMEM;
		goto fail_errno;
	}
	*out = c;
	return 0;
fail_errno:
	rc = -errno;
	snprintf(err, errlen, "status socket %s: %s", path, strerror(errno));
	control_close(c);
	return rc;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path); /* may fail once privileges are gone: harmless */
	}
	free(c);
}
