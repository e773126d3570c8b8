/* SPDX-License-Identifier: MIT */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

int netns_name_check(const char *name)
{
	if (!name || !*name || strlen(name) > NAME_MAX || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

int netns_path(const char *name, char *buf, size_t len)
{
	int n;

	if (!name || !*name)
		return -EINVAL;
	if (strchr(name, '/'))
		n = snprintf(buf, len, "%s", name);
	else if (netns_name_check(name))
		return -EINVAL;
	else
		n = snprintf(buf, len, "%s/%s", NETNS_RUN_DIR, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Make NETNS_RUN_DIR a shared mount point, so that a later unmount of a
 * namespace file in one mount namespace unmounts it in all of them and the
 * namespace can be freed (ipnetns.c netns_add()).  MS_SHARED on a directory
 * that is not a mount point fails with EINVAL: bind it onto itself first.
 */
static int netns_run_dir_prepare(void)
{
	int bound = 0;

	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || bound)
			return -errno;
		if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return -errno;
		bound = 1;
	}
	return 0;
}

int netns_add(const char *name)
{
	char path[PATH_MAX];
	int saved = -1, fd, ret;

	ret = netns_name_check(name);
	if (ret)
		return ret;
	ret = netns_path(name, path, sizeof(path));
	if (ret)
		return ret;
	ret = netns_run_dir_prepare();
	if (ret)
		return ret;

	/* Mode 0 like iproute2: the file is only ever a mount point. */
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);

	saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	/* The bind mount is what keeps the namespace alive once we leave it. */
	if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
		ret = -errno;
	if (setns(saved, CLONE_NEWNET) < 0 && !ret)
		ret = -errno;
	if (ret)
		goto out_umount;
	close(saved);
	return 0;

out_umount:
	umount2(path, MNT_DETACH);
out_unlink:
	unlink(path);
	if (saved >= 0)
		close(saved);
	return ret;
}

int netns_del(const char *name)
{
	char path[PATH_MAX];
	int ret;

	ret = netns_name_check(name);
	if (ret)
		return ret;
	ret = netns_path(name, path, sizeof(path));
	if (ret)
		return ret;
	/* Not mounted (EINVAL) is fine: a stale file from a crash is removed too. */
	umount2(path, MNT_DETACH);
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

int netns_list(int (*cb)(const char *name, void *data), void *data)
{
	struct dirent *de;
	DIR *dir;
	int count = 0, ret = 0;

	dir = opendir(NETNS_RUN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			ret = errno ? -errno : 0;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		count++;
		if (cb) {
			ret = cb(de->d_name, data);
			if (ret < 0)
				break;
		}
	}
	closedir(dir);
	return ret < 0 ? ret : count;
}

struct netns_identify_ctx {
	struct stat self;
	char *name;
	size_t len;
	bool found;
};

/* netns_list() callback: stops at the entry that is our namespace. */
static int netns_identify_cb(const char *name, void *data)
{
	struct netns_identify_ctx *ctx = data;
	char path[PATH_MAX];
	struct stat st;

	if (netns_path(name, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return 0;
	if (st.st_dev != ctx->self.st_dev || st.st_ino != ctx->self.st_ino)
		return 0;
	if (strlen(name) >= ctx->len)
		return -ENAMETOOLONG;
	strcpy(ctx->name, name);
	ctx->found = true;
	return -EEXIST; /* found: stop */
}

int netns_identify_fd(int fd, char *name, size_t len)
{
	struct netns_identify_ctx ctx = {.name = name, .len = len};
	int ret;

	if (fstat(fd, &ctx.self) < 0)
		return -errno;
	ret = netns_list(netns_identify_cb, &ctx);
	if (ctx.found)
		return 0;
	return ret < 0 ? ret : -ENOENT;
}

int netns_identify(char *name, size_t len)
{
	int fd = open(NETNS_SELF, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = netns_identify_fd(fd, name, len);
	close(fd);
	return ret;
}

int netns_is_current(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat(NETNS_SELF, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int netns_run_in(int fd, int (*fn)(void *arg), void *arg)
{
	int self, ret;

	if (fd < 0)
		return fn(arg);
	self = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		close(self);
		return ret;
	}
	ret = fn(arg);
	/* Our own namespace, through an fd we hold: only a kernel bug makes
	 * this fail, and a thread left in the wrong namespace must not go
	 * on. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	close(self);
	return ret;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd, ret;

	ret = netns_path(name, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_enter(const char *name)
{
	int fd, ret = 0;

	fd = netns_open(name);
	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Bind NETNS_ETC_DIR/@name/X over /etc/X, best effort (iproute2 bind_etc()). */
static void netns_bind_etc(const char *name)
{
	char etc_dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int n;

	n = snprintf(etc_dir, sizeof(etc_dir), "%s/%s", NETNS_ETC_DIR, name);
	if (n < 0 || (size_t)n >= sizeof(etc_dir))
		return;
	dir = opendir(etc_dir);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = snprintf(src, sizeof(src), "%s/%s", etc_dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(src))
			continue;
		n = snprintf(dst, sizeof(dst), "/etc/%s", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(dst))
			continue;
		mount(src, dst, "none", MS_BIND, NULL);
	}
	closedir(dir);
}

int netns_switch(const char *name)
{
	unsigned long sys_flags = 0;
	struct statvfs st;
	int ret;

	ret = netns_enter(name);
	if (ret)
		return ret;
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* Keep our /sys remount and /etc binds from propagating to the parent. */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		return -errno;
	/*
	 * sysfs shows the devices of the namespace of whoever mounts it, so
	 * mount a fresh one.  If the old one cannot be unmounted we overlay it,
	 * and a read-only sysfs cannot be shadowed by a read-write one.
	 */
	if (umount2("/sys", MNT_DETACH) < 0 && statvfs("/sys", &st) == 0 && (st.f_flag & ST_RDONLY))
		sys_flags = MS_RDONLY;
	if (mount(name, "/sys", "sysfs", sys_flags, NULL) < 0)
		return -errno;
	if (!strchr(name, '/'))
		netns_bind_etc(name);
	return 0;
}
