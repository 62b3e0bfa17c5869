/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/api.h"
#include "dp/log.h"
#include "k8s/jsonkeys.h"

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

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Milliseconds left until @p end (mono_ms()), 0 when past. A request has
 * one bound for all its reads, and its answer one for all its writes: a
 * bound per wait let a client writing or reading a byte at a time hold
 * the control thread for as long as it liked. */
static int left_ms(uint64_t end)
{
	uint64_t now = mono_ms();

	return now < end ? (int)(end - now) : 0;
}

/* Read one request: until EOF, a newline after the object, or the limit.
 * @p lenp gets its length: a NUL byte read may come before. */
static char *read_request(int fd, size_t *lenp, char *why, size_t whylen)
{
	/* CTL_API_MAX_REQ bytes, one more to tell a longer request from
	 * one of that size, and the NUL */
	const size_t max_cap = CTL_API_MAX_REQ + 2;
	uint64_t end = mono_ms() + CTL_API_READ_MS;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (;;) {
		if (len > CTL_API_MAX_REQ) {
			snprintf(why, whylen, "request longer than %d bytes",
				 CTL_API_MAX_REQ);
			break;
		}
		if (len + 1 == cap) {
			size_t nc = cap * 2 < max_cap ? cap * 2 : max_cap;
			char *nb = realloc(buf, nc);
			if (nb == NULL) {
				snprintf(why, whylen, "out of memory");
				break;
			}
			buf = nb;
			cap = nc;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, left_ms(end));
		/* Signals do arrive here: the tap PMD asks for SIGIO. */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, r == 0 ? "timed out reading "
				 "the request" : "poll: %s", strerror(errno));
			break;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			break;
		}
		len += (size_t)n;
		if (len <= CTL_API_MAX_REQ &&
		    (n == 0 || memchr(buf + len - n, '\n', (size_t)n))) {
			buf[len] = '\0';
			*lenp = len;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

static void answer(int fd, cJSON *ans)
{
	char *s = ans ? cJSON_PrintUnformatted(ans) : NULL;
	const char *out = s ? s : "{\"ok\":false,\"error\":\"out of memory\"}";
	size_t len = strlen(out), off = 0;
	uint64_t end = mono_ms() + CTL_API_READ_MS; /* see left_ms() */

	while (off < len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int r = poll(&p, 1, left_ms(end));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Never blocking: the socket is, and a send() larger than
		 * the room left waited for a client that may never read. */
		ssize_t n = send(fd, out + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == len)
		(void)!send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
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
	size_t len;
	char *req = read_request(fd, &len, why, sizeof(why));
	if (req == NULL) {
		answer(fd, ctl_api_error("%s", why));
		return;
	}
	/* One object and nothing after it but blanks: cJSON_Parse() stops
	 * after the first value, and at a NUL byte, so whatever followed
	 * (a second request, say) was silently ignored. k8s_json_parse()
	 * refuses both, and marks \u0000, which would cut a string short. */
	cJSON *j = k8s_json_parse(req, len, NULL);
	free(req);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		answer(fd, ctl_api_error("request is not a JSON object"));
		return;
	}
	/* cJSON would take the first of two equal keys without a word. */
	const char *dup = k8s_json_dup_key(j);
	if (dup != NULL) {
		answer(fd, ctl_api_error("request: key \"%.64s\" given twice",
					 dup));
		cJSON_Delete(j);
		return;
	}
	const char *nul = k8s_json_nul_key(j);
	if (nul != NULL) {
		answer(fd, ctl_api_error("request: key \"%.64s\" holds U+0000 "
					 "(or U+FDD0)", nul));
		cJSON_Delete(j);
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
