/* SPDX-License-Identifier: BSD-3-Clause */
/* kdp's pod-port API: one JSON request and one answer per connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "k8s/cni/cni.h"

/* kdp creates a port in well under a second; 20 s covers a busy node. */
#define KDP_CALL_TIMEOUT_S 20
#define KDP_ANSWER_MAX (1u << 20)

static int kdp_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = KDP_CALL_TIMEOUT_S };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "kdp socket path too long: %s", path);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "kdp at %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (len + 1 == cap) {
			char *nb = cap < KDP_ANSWER_MAX ? realloc(buf, cap * 2)
							: NULL;

			if (nb == NULL) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = errno == EAGAIN ? -ETIMEDOUT : -errno;

			free(buf);
			return rc;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int cni_kdp_call(const char *path, const cJSON *req, cJSON **resp, char *err,
		 size_t errlen)
{
	char *text = cJSON_PrintUnformatted(req), *answer = NULL;
	const cJSON *ok, *msg;
	int fd, rc;

	*resp = NULL;
	if (text == NULL)
		return -ENOMEM;
	fd = kdp_connect(path, err, errlen);
	if (fd < 0) {
		free(text);
		return fd;
	}
	rc = send_all(fd, text, strlen(text));
	if (rc == 0 && shutdown(fd, SHUT_WR) < 0)
		rc = -errno;
	if (rc == 0)
		rc = recv_all(fd, &answer);
	close(fd);
	free(text);
	if (rc < 0) {
		snprintf(err, errlen, "kdp at %s: %s", path, strerror(-rc));
		return rc;
	}
	*resp = cJSON_Parse(answer);
	free(answer);
	ok = cJSON_GetObjectItemCaseSensitive(*resp, "ok");
	if (cJSON_IsTrue(ok))
		return 0;
	msg = cJSON_GetObjectItemCaseSensitive(*resp, "error");
	snprintf(err, errlen, "kdp: %s",
		 cJSON_IsString(msg) ? msg->valuestring
				     : *resp ? "request failed"
					     : "answer is not JSON");
	cJSON_Delete(*resp);
	*resp = NULL;
	return -EPROTO;
}
