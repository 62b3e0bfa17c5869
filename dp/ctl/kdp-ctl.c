/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp-ctl: the pod-port API (PODAPI.md) for humans.
 *
 *   kdp-ctl [--socket PATH] status
 *   kdp-ctl [--socket PATH] port list
 *   kdp-ctl [--socket PATH] port add NS/NAME tap IFNAME NETNS [CONTAINER_ID]
 *   kdp-ctl [--socket PATH] port add NS/NAME vhost-user CONTAINER_ID
 *   kdp-ctl [--socket PATH] port del NS/NAME [CONTAINER_ID]
 *
 * Prints kdp's JSON answer; exits 0 when it says "ok", 1 when kdp refused,
 * 2 on usage or connection errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define DEFAULT_SOCKET "/run/kdp/kdp.sock"

static int usage(void)
{
	fprintf(stderr,
		"usage: kdp-ctl [--socket PATH] status\n"
		"       kdp-ctl [--socket PATH] port list\n"
		"       kdp-ctl [--socket PATH] port add NS/NAME tap IFNAME NETNS "
		"[CONTAINER_ID]\n"
		"       kdp-ctl [--socket PATH] port add NS/NAME vhost-user "
		"CONTAINER_ID\n"
		"       kdp-ctl [--socket PATH] port del NS/NAME "
		"[CONTAINER_ID]\n");
	return 2;
}

/* The request for argv, or NULL (usage). */
static cJSON *build(int argc, char **argv)
{
	cJSON *r = cJSON_CreateObject();

	if (r == NULL)
		return NULL;
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		cJSON_AddStringToObject(r, "op", "status");
	} else if (argc == 2 && strcmp(argv[0], "port") == 0 &&
		   strcmp(argv[1], "list") == 0) {
		cJSON_AddStringToObject(r, "op", "port_list");
	} else if ((argc == 3 || argc == 4) && strcmp(argv[0], "port") == 0 &&
		   strcmp(argv[1], "del") == 0) {
		cJSON_AddStringToObject(r, "op", "port_del");
		cJSON_AddStringToObject(r, "pod", argv[2]);
		/* only that container's port (docs/podapi.md) */
		if (argc == 4)
			cJSON_AddStringToObject(r, "container_id", argv[3]);
	} else if (argc >= 5 && strcmp(argv[0], "port") == 0 &&
		   strcmp(argv[1], "add") == 0) {
		const char *kind = argv[3];
		cJSON_AddStringToObject(r, "op", "port_add");
		cJSON_AddStringToObject(r, "pod", argv[2]);
		cJSON_AddStringToObject(r, "kind", kind);
		if (strcmp(kind, "tap") == 0 && (argc == 6 || argc == 7)) {
			cJSON_AddStringToObject(r, "ifname", argv[4]);
			cJSON_AddStringToObject(r, "netns", argv[5]);
			if (argc == 7)
				cJSON_AddStringToObject(r, "container_id",
							argv[6]);
		} else if (strcmp(kind, "vhost-user") == 0 && argc == 5) {
			cJSON_AddStringToObject(r, "container_id", argv[4]);
		} else {
			cJSON_Delete(r);
			return NULL;
		}
	} else {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[65536];
	size_t len = 0;

	argc--, argv++;
	if (argc >= 2 && strcmp(argv[0], "--socket") == 0) {
		path = argv[1];
		argc -= 2, argv += 2;
	}
	cJSON *req = argc > 0 ? build(argc, argv) : NULL;
	if (req == NULL)
		return usage();
	char *s = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (s == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kdp-ctl: %s\n", s ? "socket path too long" :
			"out of memory");
		free(s);
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "kdp-ctl: %s: %s\n", path, strerror(errno));
		free(s);
		return 2;
	}
	size_t n = strlen(s), off = 0;
	while (off < n) {
		/* kdp may answer and close before it reads the request (it
		 * refuses a non-root peer at once): that answer is waiting
		 * in the socket, so a closed peer is not an error here, and
		 * must not raise SIGPIPE. */
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (w <= 0) {
			fprintf(stderr, "kdp-ctl: write: %s\n", strerror(errno));
			free(s);
			close(fd);
			return 2;
		}
		off += (size_t)w;
	}
	free(s);
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	cJSON *ans = cJSON_Parse(buf);
	if (ans == NULL) {
		fprintf(stderr, "kdp-ctl: no valid answer from %s\n", path);
		return 2;
	}
	char *pretty = cJSON_Print(ans);
	if (pretty)
		printf("%s\n", pretty);
	free(pretty);
	int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"));
	cJSON_Delete(ans);
	return ok ? 0 : 1;
}
