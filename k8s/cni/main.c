/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp-cni entry point: the CNI 1.0.0 protocol (environment in, netconf on
 * stdin, result or error JSON on stdout) and the ADD/DEL/CHECK flows. Logs
 * go to stderr; stdout carries only the result.
 *
 * Also a small admin entry, `kdp-cni ipam ...`, for the node agent (IPIP
 * tunnel address) and for operators.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "control/netlink.h"
#include "k8s/cni/cni.h"

#define ERRLEN 1536
#define ANNOT_KIND "kdp.io/port-kind"
#define ANNOT_TUNNEL "projectcalico.org/IPv4IPIPTunnelAddr"

/* Version stamped on the output: the netconf's when it parsed. */
static const char *out_version = "1.0.0";

static int fail(int code, const char *msg, const char *details)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "cniVersion", out_version);
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddStringToObject(o, "msg", msg);
	if (details != NULL && details[0] != '\0')
		cJSON_AddStringToObject(o, "details", details);
	text = cJSON_Print(o);
	if (text != NULL)
		printf("%s\n", text);
	fflush(stdout);
	fprintf(stderr, "kdp-cni: error %d: %s%s%s\n", code, msg,
		details && details[0] ? ": " : "", details ? details : "");
	free(text);
	cJSON_Delete(o);
	return 1;
}

static int print_json(cJSON *o)
{
	char *text = cJSON_Print(o);

	cJSON_Delete(o);
	if (text == NULL)
		return fail(CNI_ERR_IO, "out of memory", NULL);
	printf("%s\n", text);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

static char *read_stdin(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf != NULL) {
		size_t r = fread(buf + len, 1, cap - len - 1, stdin);

		len += r;
		if (r == 0)
			break;
		if (len + 1 == cap) {
			char *nb = cap < (16u << 20) ? realloc(buf, cap * 2)
						      : NULL;

			if (nb == NULL)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

static const char *getenv_ne(const char *k)
{
	const char *v = getenv(k);

	return v && v[0] ? v : NULL;
}

/* API / transport errors as CNI codes: unreachable means try again. */
static int api_code(int rc)
{
	switch (rc) {
	case -EIO:
	case -EAGAIN:
	case -ETIMEDOUT:
		return CNI_ERR_AGAIN;
	case -ENOSPC:
		return CNI_ERR_IPAM;
	default:
		return CNI_ERR_API;
	}
}

static int kdp_code(int rc)
{
	return rc == -EPROTO ? CNI_ERR_KDP : CNI_ERR_AGAIN;
}

/* A request about this attachment's port: the pod and the container,
 * which kdp needs to tell the pod's sandboxes apart (a late DEL for an old
 * sandbox must leave the new one's port alone). */
static cJSON *pod_req(const char *op, const struct cni_env *e)
{
	cJSON *r = cJSON_CreateObject();
	char pod[520];

	snprintf(pod, sizeof(pod), "%s/%s", e->pod_ns, e->pod_name);
	cJSON_AddStringToObject(r, "op", op);
	cJSON_AddStringToObject(r, "pod", pod);
	cJSON_AddStringToObject(r, "container_id", e->cid);
	return r;
}

/* The port kind the Pod asks for through its annotation. */
static int pod_kind(struct cni_api *a, const struct cni_env *e,
		    const char **kind, char *err, size_t errlen)
{
	char path[600];
	cJSON *pod = NULL;
	const cJSON *v;
	long http = 0;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s",
		 e->pod_ns, e->pod_name);
	rc = cni_api_call(a, "GET", path, NULL, NULL, &http, &pod, err,
			  errlen);
	if (rc < 0)
		return rc;
	if (http != 200) {
		cni_api_describe(http, pod, err, errlen);
		cJSON_Delete(pod);
		return http == 404 ? -ENOENT : -EPROTO;
	}
	v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pod, "metadata"),
			"annotations"),
		ANNOT_KIND);
	*kind = "tap";
	rc = 0;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "vhost-user") == 0)
		*kind = "vhost-user";
	else if (cJSON_IsString(v) &&
		 strcmp(v->valuestring, "vhost-user-client") == 0)
		*kind = "vhost-user-client";
	else if (v != NULL && !(cJSON_IsString(v) &&
				strcmp(v->valuestring, "tap") == 0)) {
		snprintf(err, errlen, "annotation %s must be \"tap\", "
			 "\"vhost-user\" or \"vhost-user-client\"",
			 ANNOT_KIND);
		rc = -EINVAL;
	}
	cJSON_Delete(pod);
	return rc;
}

static void handle_of(const char *cid, char *out, size_t n)
{
	snprintf(out, n, "k8s-pod-network.%s", cid);
}

static void share_path(const struct cni_conf *c, const char *cid, char *out,
		       size_t n)
{
	snprintf(out, n, "%s/%s.json", c->vhost_share_dir, cid);
}

/* The file a vhost-user pod reads to configure its virtio device. */
static int write_share(const struct cni_conf *c, const struct cni_env *e,
		       const char *kind, const char *sock, const char *mac,
		       const char *ip, int mtu, char *err, size_t errlen)
{
	char path[1024], tmp[1100];
	cJSON *o = cJSON_CreateObject();
	char *text;
	FILE *f;

	share_path(c, e->cid, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	mkdir(c->vhost_share_dir, 0755);
	cJSON_AddStringToObject(o, "socket", sock);
	/* vhost-user-client: kdp connects, the pod serves the socket
	 * (virtio-user server=1), which survives a kdp restart. */
	cJSON_AddBoolToObject(o, "pod_serves",
			      strcmp(kind, "vhost-user-client") == 0);
	cJSON_AddStringToObject(o, "mac", mac);
	cJSON_AddStringToObject(o, "address", ip);
	cJSON_AddStringToObject(o, "gateway", CTL_POD_GATEWAY);
	cJSON_AddNumberToObject(o, "mtu", mtu);
	cJSON_AddStringToObject(o, "ifname", e->ifname);
	text = cJSON_Print(o);
	cJSON_Delete(o);
	f = text ? fopen(tmp, "w") : NULL;
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) < 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		free(text);
		return -EIO;
	}
	free(text);
	return 0;
}

static cJSON *result(const struct cni_env *e, const char *mac,
		     const char *sock, const char *ip)
{
	cJSON *r = cJSON_CreateObject(), *ifs, *ifc, *ips, *a, *routes, *rt;
	bool old = strcmp(out_version, "1.0.0") != 0;

	cJSON_AddStringToObject(r, "cniVersion", out_version);
	ifs = cJSON_AddArrayToObject(r, "interfaces");
	ifc = cJSON_CreateObject();
	cJSON_AddStringToObject(ifc, "name", e->ifname);
	cJSON_AddStringToObject(ifc, "mac", mac);
	cJSON_AddStringToObject(ifc, "sandbox", e->netns);
	if (sock != NULL)
		cJSON_AddStringToObject(ifc, "socketPath", sock);
	cJSON_AddItemToArray(ifs, ifc);
	ips = cJSON_AddArrayToObject(r, "ips");
	a = cJSON_CreateObject();
	if (old) /* 0.3.x/0.4.0 results name the IP version */
		cJSON_AddStringToObject(a, "version", "4");
	cJSON_AddStringToObject(a, "address", ip);
	cJSON_AddStringToObject(a, "gateway", CTL_POD_GATEWAY);
	cJSON_AddNumberToObject(a, "interface", 0);
	cJSON_AddItemToArray(ips, a);
	routes = cJSON_AddArrayToObject(r, "routes");
	rt = cJSON_CreateObject();
	cJSON_AddStringToObject(rt, "dst", "0.0.0.0/0");
	cJSON_AddStringToObject(rt, "gw", CTL_POD_GATEWAY);
	cJSON_AddItemToArray(routes, rt);
	cJSON_AddObjectToObject(r, "dns");
	return r;
}

static int kdp_mtu(const struct cni_conf *c, const cJSON *port)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(port, "mtu");
	cJSON *req, *st = NULL;
	char err[ERRLEN];
	int mtu = 0;

	if (c->mtu > 0)
		return c->mtu;
	if (cJSON_IsNumber(m))
		return m->valueint;
	req = cJSON_Parse("{\"op\":\"status\"}");
	if (cni_kdp_call(c->kdp_socket, req, &st, err, sizeof(err)) == 0) {
		m = cJSON_GetObjectItemCaseSensitive(st, "mtu");
		mtu = cJSON_IsNumber(m) ? m->valueint : 0;
	}
	cJSON_Delete(req);
	cJSON_Delete(st);
	return mtu;
}

/* Undo a half-done ADD so that a retried ADD starts clean. */
static void rollback(struct cni_api *a, const struct cni_conf *c,
		     const struct cni_env *e, bool port)
{
	char handle[300], err[ERRLEN];

	if (port) {
		cJSON *req = pod_req("port_del", e), *resp = NULL;

		cni_kdp_call(c->kdp_socket, req, &resp, err, sizeof(err));
		cJSON_Delete(req);
		cJSON_Delete(resp);
	}
	handle_of(e->cid, handle, sizeof(handle));
	if (cni_ipam_release(a, handle, err, sizeof(err)) < 0)
		fprintf(stderr, "kdp-cni: rollback: %s\n", err);
}

static int cmd_add(const struct cni_conf *c, struct cni_env *e)
{
	char err[ERRLEN], handle[300], ip[INET_ADDRSTRLEN + 3], ts[64];
	cJSON *secondary = NULL, *req = NULL, *port = NULL;
	struct cni_link link = { 0 };
	const char *kind = "tap", *sock = NULL, *mac;
	struct cni_api *a;
	uint32_t addr;
	int rc, code;

	err[0] = '\0';
	a = cni_api_open(c->kubeconfig, err, sizeof(err));
	if (a == NULL)
		return fail(CNI_ERR_API, "cannot configure the API client",
			    err);
	rc = pod_kind(a, e, &kind, err, sizeof(err));
	if (rc < 0) {
		code = rc == -EINVAL ? CNI_ERR_NETCONF : api_code(rc);
		rc = fail(code, "cannot read the Pod", err);
		goto out;
	}
	handle_of(e->cid, handle, sizeof(handle));
	cni_timestamp(ts, sizeof(ts));
	secondary = cJSON_CreateObject();
	cJSON_AddStringToObject(secondary, "namespace", e->pod_ns);
	cJSON_AddStringToObject(secondary, "node", c->nodename);
	cJSON_AddStringToObject(secondary, "pod", e->pod_name);
	cJSON_AddStringToObject(secondary, "timestamp", ts);
	rc = cni_ipam_alloc(a, c->nodename, CNI_IPAM_WORKLOAD, handle,
			    secondary, &addr, err, sizeof(err));
	if (rc < 0) {
		rc = fail(api_code(rc), "IPAM: no address", err);
		goto out;
	}
	cni_ip_str(addr, ip);
	strcat(ip, "/32");

	req = pod_req("port_add", e);
	cJSON_AddStringToObject(req, "kind", kind);
	cJSON_AddStringToObject(req, "ifname", e->ifname);
	cJSON_AddStringToObject(req, "netns", e->netns);
	/* kdp re-creates a tap with this address after a restart. */
	if (strcmp(kind, "tap") == 0)
		cJSON_AddStringToObject(req, "ip", ip);
	rc = cni_kdp_call(c->kdp_socket, req, &port, err, sizeof(err));
	if (rc < 0) {
		rollback(a, c, e, false);
		rc = fail(kdp_code(rc), "kdp port_add failed", err);
		goto out;
	}
	mac = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(port,
								    "mac"));
	if (strcmp(kind, "tap") != 0) {
		sock = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(port, "socket"));
		if (sock == NULL || mac == NULL) {
			rollback(a, c, e, true);
			rc = fail(CNI_ERR_KDP, "kdp gave no vhost-user socket "
				  "or MAC", NULL);
			goto out;
		}
		rc = write_share(c, e, kind, sock, mac, ip, kdp_mtu(c, port), err,
				 sizeof(err));
		if (rc < 0) {
			rollback(a, c, e, true);
			rc = fail(CNI_ERR_IO, "vhost-user share file", err);
			goto out;
		}
	} else {
		rc = cni_net_setup(e->netns, e->ifname, addr, kdp_mtu(c, port),
				   &link, err, sizeof(err));
		if (rc < 0) {
			rollback(a, c, e, true);
			rc = fail(rc == -ENOENT ? CNI_ERR_CONTAINER
						: CNI_ERR_NETLINK,
				  "configuring the pod interface", err);
			goto out;
		}
		mac = link.mac;
	}
	rc = print_json(result(e, mac, sock, ip));
out:
	cJSON_Delete(secondary);
	cJSON_Delete(req);
	cJSON_Delete(port);
	cni_api_free(a);
	return rc;
}

static int cmd_del(const struct cni_conf *c, struct cni_env *e)
{
	char err[ERRLEN], handle[300], path[1100];
	struct cni_api *a;
	int rc;

	err[0] = '\0';
	if (e->pod_ns[0] && e->pod_name[0]) {
		cJSON *req = pod_req("port_del", e), *resp = NULL;

		rc = cni_kdp_call(c->kdp_socket, req, &resp, err, sizeof(err));
		cJSON_Delete(req);
		cJSON_Delete(resp);
		/* kdp down: its ports are gone with it; go on releasing. */
		if (rc == -EPROTO)
			return fail(CNI_ERR_KDP, "kdp port_del failed", err);
		if (rc < 0)
			fprintf(stderr, "kdp-cni: DEL: %s (ignored)\n", err);
	}
	share_path(c, e->cid, path, sizeof(path));
	unlink(path);
	a = cni_api_open(c->kubeconfig, err, sizeof(err));
	if (a == NULL)
		return fail(CNI_ERR_API, "cannot configure the API client",
			    err);
	handle_of(e->cid, handle, sizeof(handle));
	rc = cni_ipam_release(a, handle, err, sizeof(err));
	cni_api_free(a);
	if (rc < 0)
		return fail(api_code(rc), "IPAM release failed", err);
	return 0;
}

/* The first ips[].address of prevResult, as a host-order address. */
static int prev_ip(const cJSON *prev, uint32_t *ip, const char **sock)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(prev, "ips");
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(prev, "interfaces");
	const char *addr = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ips, 0),
						 "address"));
	unsigned plen;

	*sock = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(ifs, 0), "socketPath"));
	if (cni_cidr_parse(addr, ip, &plen) < 0 || plen != 32)
		return -EINVAL;
	return 0;
}

static int cmd_check(const struct cni_conf *c, struct cni_env *e)
{
	char err[ERRLEN], handle[300];
	cJSON *req, *resp = NULL;
	const cJSON *it;
	struct cni_api *a;
	const char *sock;
	uint32_t ip, held;
	bool found = false;
	struct stat st;
	char pod[520];
	int rc;

	err[0] = '\0';
	if (strcmp(c->cni_version, "0.4.0") < 0)
		return fail(CNI_ERR_VERSION, "CHECK needs cniVersion 0.4.0 or "
			    "later", c->cni_version);
	if (c->prev_result == NULL || prev_ip(c->prev_result, &ip, &sock) < 0)
		return fail(CNI_ERR_NETCONF, "CHECK needs a prevResult with "
			    "an ips[0].address of the form IP/32", NULL);
	a = cni_api_open(c->kubeconfig, err, sizeof(err));
	if (a == NULL)
		return fail(CNI_ERR_API, "cannot configure the API client",
			    err);
	handle_of(e->cid, handle, sizeof(handle));
	rc = cni_ipam_lookup(a, handle, &held, err, sizeof(err));
	cni_api_free(a);
	if (rc == -ENOENT)
		return fail(CNI_ERR_CONTAINER, "IPAM holds no address for "
			    "this container", handle);
	if (rc < 0)
		return fail(api_code(rc), "IPAM lookup failed", err);
	if (held != ip)
		return fail(CNI_ERR_IPAM, "IPAM address differs from "
			    "prevResult", NULL);

	req = cJSON_Parse("{\"op\":\"port_list\"}");
	rc = cni_kdp_call(c->kdp_socket, req, &resp, err, sizeof(err));
	cJSON_Delete(req);
	if (rc < 0)
		return fail(kdp_code(rc), "kdp port_list failed", err);
	snprintf(pod, sizeof(pod), "%s/%s", e->pod_ns, e->pod_name);
	/* The pod's port, of this container: another sandbox's (the pod's
	 * new one) is not this attachment's. kdp leaves out an unknown one
	 * (a port of an older kdp). */
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(resp, "ports")) {
		const char *p = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(it, "pod"));
		const char *cid = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(it, "container_id"));

		if (p != NULL && strcmp(p, pod) == 0 &&
		    (cid == NULL || strcmp(cid, e->cid) == 0))
			found = true;
	}
	cJSON_Delete(resp);
	if (!found)
		return fail(CNI_ERR_KDP, "kdp has no port for the pod's "
			    "container", pod);

	if (sock != NULL) {
		if (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
			return fail(CNI_ERR_KDP, "vhost-user socket missing",
				    sock);
		return 0;
	}
	rc = cni_net_check(e->netns, e->ifname, ip, err, sizeof(err));
	if (rc == -ENOENT)
		return fail(CNI_ERR_CONTAINER, "pod interface missing", err);
	if (rc < 0)
		return fail(CNI_ERR_NETLINK, "pod interface not as configured",
			    err);
	return 0;
}

static int cmd_version(const char *in)
{
	cJSON *o = cJSON_CreateObject(), *arr, *conf = cJSON_Parse(in);
	const char *v = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(conf, "cniVersion"));

	/* Stamped with the caller's version when it is one we speak; else
	 * our newest (a result's cniVersion is one of its writer's). */
	bool known = false;
	for (size_t i = 0; v != NULL && cni_versions[i] != NULL; i++)
		known |= strcmp(v, cni_versions[i]) == 0;
	cJSON_AddStringToObject(o, "cniVersion", known ? v : "1.0.0");
	cJSON_Delete(conf);
	arr = cJSON_AddArrayToObject(o, "supportedVersions");
	for (size_t i = 0; cni_versions[i] != NULL; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(cni_versions[i]));
	return print_json(o);
}

static int cmd_status(const struct cni_conf *c)
{
	cJSON *req = cJSON_Parse("{\"op\":\"status\"}"), *resp = NULL;
	char err[ERRLEN] = "";
	int rc = cni_kdp_call(c->kdp_socket, req, &resp, err, sizeof(err));

	cJSON_Delete(req);
	cJSON_Delete(resp);
	if (rc < 0)
		return fail(CNI_ERR_UNAVAILABLE, "kdp does not answer", err);
	return 0;
}

static int cni_main(void)
{
	char *in = NULL, err[ERRLEN] = "";
	struct cni_conf conf = { 0 };
	struct cni_env e = { 0 };
	int rc, code;

	e.command = getenv_ne("CNI_COMMAND");
	if (e.command == NULL)
		return fail(CNI_ERR_ENV, "CNI_COMMAND is not set", NULL);
	in = read_stdin();
	if (in == NULL)
		return fail(CNI_ERR_IO, "cannot read stdin", NULL);
	if (strcmp(e.command, "VERSION") == 0) {
		rc = cmd_version(in);
		goto out;
	}
	code = cni_conf_parse(in, &conf, err, sizeof(err));
	if (conf.cni_version != NULL && code != CNI_ERR_VERSION)
		out_version = conf.cni_version;
	if (code != 0) {
		rc = fail(code, "invalid network configuration", err);
		goto out;
	}
	if (strcmp(e.command, "STATUS") == 0) {
		rc = cmd_status(&conf);
		goto out;
	}
	if (strcmp(e.command, "ADD") && strcmp(e.command, "DEL") &&
	    strcmp(e.command, "CHECK")) {
		rc = fail(CNI_ERR_ENV, "unknown CNI_COMMAND", e.command);
		goto out;
	}
	code = cni_env_parse(&e, err, sizeof(err));
	if (code != 0) {
		rc = fail(code, "invalid CNI environment", err);
		goto out;
	}
	if (e.netns != NULL && strcmp(e.command, "DEL") != 0 &&
	    access(e.netns, R_OK) < 0) {
		rc = fail(CNI_ERR_CONTAINER, "network namespace not found",
			  e.netns);
		goto out;
	}
	if (strcmp(e.command, "ADD") == 0)
		rc = cmd_add(&conf, &e);
	else if (strcmp(e.command, "DEL") == 0)
		rc = cmd_del(&conf, &e);
	else
		rc = cmd_check(&conf, &e);
out:
	free(in);
	cni_conf_free(&conf);
	return rc;
}

/* ---- kdp-cni ipam ... ---- */

static int usage(void)
{
	fprintf(stderr,
		"usage: kdp-cni                       (CNI plugin: CNI_* env, "
		"netconf on stdin)\n"
		"       kdp-cni ipam tunnel-addr --node N [--kubeconfig F]\n"
		"       kdp-cni ipam alloc --node N --handle H [--kubeconfig F]\n"
		"       kdp-cni ipam release --handle H [--kubeconfig F]\n");
	return 2;
}

static int annotate_node(struct cni_api *a, const char *node, const char *ip,
			 char *err, size_t errlen)
{
	cJSON *patch = cJSON_CreateObject(), *ann;
	char path[512];
	int rc;

	ann = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch,
							      "metadata"),
				      "annotations");
	cJSON_AddStringToObject(ann, ANNOT_TUNNEL, ip);
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	rc = cni_api_merge_patch(a, path, patch, err, errlen);
	cJSON_Delete(patch);
	return rc;
}

static int ipam_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "handle", required_argument, NULL, 'h' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *node = NULL, *handle = NULL, *kc = NULL, *sub;
	char err[ERRLEN] = "", hbuf[300], ip[INET_ADDRSTRLEN], ts[64];
	cJSON *secondary = NULL;
	struct cni_api *a;
	uint32_t addr;
	int opt, rc;

	if (argc < 3)
		return usage();
	sub = argv[2];
	optind = 3;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'n')
			node = optarg;
		else if (opt == 'h')
			handle = optarg;
		else if (opt == 'k')
			kc = optarg;
		else
			return usage();
	}
	if ((strcmp(sub, "release") && node == NULL) ||
	    (strcmp(sub, "tunnel-addr") && handle == NULL))
		return usage();
	a = cni_api_open(kc, err, sizeof(err));
	if (a == NULL) {
		fprintf(stderr, "kdp-cni: %s\n", err);
		return 1;
	}
	if (strcmp(sub, "release") == 0) {
		rc = cni_ipam_release(a, handle, err, sizeof(err));
		if (rc >= 0)
			printf("%d\n", rc);
		goto out;
	}
	secondary = cJSON_CreateObject();
	cJSON_AddStringToObject(secondary, "node", node);
	if (strcmp(sub, "tunnel-addr") == 0) {
		snprintf(hbuf, sizeof(hbuf), "ipip-tunnel-addr-%s", node);
		cJSON_AddStringToObject(secondary, "type", "ipipTunnelAddress");
		rc = cni_ipam_alloc(a, node, CNI_IPAM_TUNNEL, hbuf, secondary,
				    &addr, err, sizeof(err));
		if (rc == 0) {
			cni_ip_str(addr, ip);
			rc = annotate_node(a, node, ip, err, sizeof(err));
		}
	} else if (strcmp(sub, "alloc") == 0) {
		cni_timestamp(ts, sizeof(ts));
		cJSON_AddStringToObject(secondary, "timestamp", ts);
		rc = cni_ipam_alloc(a, node, CNI_IPAM_WORKLOAD, handle,
				    secondary, &addr, err, sizeof(err));
		cni_ip_str(addr, ip);
	} else {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "unknown ipam command %s", sub);
	}
	if (rc == 0)
		printf("%s\n", ip);
out:
	if (rc < 0)
		fprintf(stderr, "kdp-cni: %s\n", err);
	cJSON_Delete(secondary);
	cni_api_free(a);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stderr, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc > 1 && strcmp(argv[1], "ipam") == 0)
		return ipam_main(argc, argv);
	if (argc > 1)
		return usage();
	return cni_main();
}
