/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/api.h"
#include "dp/log.h"

struct ctl_api {
	int fd;
	ctl_api_handler handler;
	void *arg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

cJSON *ctl_api_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddBoolToObject(o, "ok", 0) == NULL ||
	    cJSON_AddStringToObject(o, "error", msg) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* mkdir -p of @p path's directory; the last level is made 0700. */
static int make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True when something accepts connections at @p sa. */
static int live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (const struct sockaddr *)sa,
				    sizeof(*sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

struct ctl_api *ctl_api_create(const char *path, ctl_api_handler h, void *arg,
			       char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_api *a;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((rc = make_dir(path)) != 0) {
		snprintf(err, errlen, "%s: cannot create its directory: %s",
			 path, strerror(-rc));
		errno = -rc;
		return NULL;
	}
	if (live(&sa)) {
		snprintf(err, errlen, "%s: another process serves it", path);
		errno = EADDRINUSE;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->handler = h;
	a->arg = arg;
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		goto fail;
	unlink(path); /* a stale socket of a previous run */
	/* Bind with a umask, so the socket is never reachable with wider
	 * permissions, not even between bind and chmod. */
	mode_t old = umask(0177);
	rc = bind(a->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(a->fd, 16) != 0)
		goto fail;
	return a;
fail:
	rc = errno;
	snprintf(err, errlen, "%s: %s", path, strerror(rc));
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	errno = rc;
	return NULL;
}

/* Read one request: until EOF, a newline after the object, or the limit. */
static char *read_request(int fd, char *why, size_t whylen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, CTL_API_READ_MS);
		/* Signals do arrive here: the tap PMD asks for SIGIO. */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, r == 0 ? "timed out reading "
				 "the request" : "poll: %s", strerror(errno));
			break;
		}
		if (len + 1 == cap) {
			if (cap >= CTL_API_MAX_REQ) {
				snprintf(why, whylen, "request longer than %d "
					 "bytes", CTL_API_MAX_REQ);
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				snprintf(why, whylen, "out of memory");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			break;
		}
		if (n == 0 || memchr(buf + len, '\n', (size_t)n)) {
			len += (size_t)n;
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

static void answer(int fd, cJSON *ans)
{
	char *s = ans ? cJSON_PrintUnformatted(ans) : NULL;
	const char *out = s ? s : "{\"ok\":false,\"error\":\"out of memory\"}";
	size_t len = strlen(out), off = 0;

	while (off < len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int r = poll(&p, 1, CTL_API_READ_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = send(fd, out + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == len)
		(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
	free(s);
	cJSON_Delete(ans);
}

static void serve(struct ctl_api *a, int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char why[128];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    cred.uid != 0) {
		KDP_LOG(WARNING, "api: refused a client with uid %d",
			cl == sizeof(cred) ? (int)cred.uid : -1);
		answer(fd, ctl_api_error("permission denied: root only"));
		return;
	}
	char *req = read_request(fd, why, sizeof(why));
	if (req == NULL) {
		answer(fd, ctl_api_error("%s", why));
		return;
	}
	cJSON *j = cJSON_Parse(req);
	free(req);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		answer(fd, ctl_api_error("request is not a JSON object"));
		return;
	}
	answer(fd, a->handler(a->arg, j));
	cJSON_Delete(j);
}

void ctl_api_poll(struct ctl_api *a)
{
	for (int i = 0; i < CTL_API_PER_POLL; i++) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		serve(a, fd);
		close(fd);
	}
}

void ctl_api_free(struct ctl_api *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	unlink(a->path);
	free(a);
}
