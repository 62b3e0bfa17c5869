/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pod decoder: the pod as a workload endpoint (calico-model.md §1.5, after
 * Calico's conversion.go getPodIPs/IsFinished).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/decode.h"
#include "k8s/decode_priv.h"

#define ANN_POD_IP "cni.projectcalico.org/podIP"
#define ANN_POD_IPS "cni.projectcalico.org/podIPs"
#define ANN_PORT_KIND "kdp.io/port-kind"

/*
 * Add one pod IP. Calico parses each with ParseCIDROrIP and fails the whole
 * pod on garbage; IPv6 entries are valid but kdp keeps IPv4 only.
 */
static int add_ip(struct ctl_pod *p, const char *s, size_t len,
		  struct dj_err *e)
{
	char buf[64];
	char *slash;
	uint32_t ip;

	while (len > 0 && *s == ' ') {
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return dj_fail(e, "bad pod IP '%.*s'", (int)len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strchr(buf, ':') != NULL)
		return 0; /* IPv6 */
	slash = strchr(buf, '/');
	if (slash != NULL) {
		uint8_t plen;

		if (k8s_parse_cidr(buf, &ip, &plen) < 0)
			return dj_fail(e, "bad pod IP '%s'", buf);
	} else if (k8s_parse_ipv4(buf, &ip) < 0) {
		return dj_fail(e, "bad pod IP '%s'", buf);
	}
	for (size_t i = 0; i < p->n_ips; i++)
		if (p->ips[i] == ip)
			return 0;
	if (p->n_ips < CTL_POD_MAX_IPS)
		p->ips[p->n_ips++] = ip;
	return 0;
}

static int add_ip_list(struct ctl_pod *p, const char *csv, struct dj_err *e)
{
	const char *s = csv;

	for (;;) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (add_ip(p, s, len, e) < 0)
			return -EINVAL;
		if (c == NULL)
			return 0;
		s = c + 1;
	}
}

/* §1.5: finished pods, and pods whose IP Calico CNI already released. */
static bool pod_finished(const cJSON *md, const cJSON *ann, const char *phase)
{
	const cJSON *ip = dj_get(ann, ANN_POD_IP);

	if (dj_get(md, "deletionTimestamp") != NULL && cJSON_IsString(ip) &&
	    ip->valuestring[0] == '\0')
		return true;
	return phase != NULL && (strcmp(phase, "Succeeded") == 0 ||
				 strcmp(phase, "Failed") == 0 ||
				 strcmp(phase, "Completed") == 0);
}

/* IPs from the first source that is set, in Calico's order. */
static int pod_ips(struct ctl_pod *p, const cJSON *status, const cJSON *ann,
		   struct dj_err *e)
{
	const cJSON *ips, *x;
	const char *ip, *csv;

	if (dj_array(status, "podIPs", &ips, e) < 0 ||
	    dj_str(status, "podIP", &ip, e) < 0 ||
	    dj_str(ann, ANN_POD_IPS, &csv, e) < 0)
		return -EINVAL;
	if (cJSON_GetArraySize(ips) > 0) {
		cJSON_ArrayForEach(x, ips) {
			const char *s;

			if (dj_str(x, "ip", &s, e) < 0)
				return -EINVAL;
			if (s == NULL)
				return dj_fail(e, "status.podIPs[].ip missing");
			if (add_ip(p, s, strlen(s), e) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (ip != NULL && *ip != '\0')
		return add_ip(p, ip, strlen(ip), e);
	if (csv != NULL && *csv != '\0')
		return add_ip_list(p, csv, e);
	if (dj_str(ann, ANN_POD_IP, &ip, e) < 0)
		return -EINVAL;
	if (ip != NULL && *ip != '\0')
		return add_ip(p, ip, strlen(ip), e);
	return 0;
}

static int parse_proto(const char *s, uint8_t *proto)
{
	if (s == NULL || strcmp(s, "TCP") == 0)
		*proto = CTL_PROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*proto = CTL_PROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*proto = CTL_PROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* Named ports of one containers[]/initContainers[] list. */
static int pod_ports(struct ctl_pod *p, const cJSON *containers,
		     const char *what, struct dj_err *e)
{
	const cJSON *c, *ports, *x;

	cJSON_ArrayForEach(c, containers) {
		if (dj_array(c, "ports", &ports, e) < 0)
			return -EINVAL;
		cJSON_ArrayForEach(x, ports) {
			const char *name, *proto;
			const cJSON *num = dj_get(x, "containerPort");
			struct ctl_named_port *np;

			if (dj_str(x, "name", &name, e) < 0 ||
			    dj_str(x, "protocol", &proto, e) < 0)
				return -EINVAL;
			if (name == NULL || *name == '\0')
				continue;
			if (!cJSON_IsNumber(num) || num->valuedouble < 1 ||
			    num->valuedouble > 65535 ||
			    num->valuedouble != (double)num->valueint)
				return dj_fail(e, "%s port %s: bad containerPort",
					       what, name);
			np = realloc(p->ports, (p->n_ports + 1) * sizeof(*np));
			if (np == NULL)
				return dj_fail(e, "out of memory");
			p->ports = np;
			np = &p->ports[p->n_ports];
			if (parse_proto(proto, &np->proto) < 0)
				return dj_fail(e, "%s port %s: bad protocol '%s'",
					       what, name, proto);
			np->port = (uint16_t)num->valueint;
			np->name = strdup(name);
			if (np->name == NULL)
				return dj_fail(e, "out of memory");
			p->n_ports++;
		}
	}
	return 0;
}

void *k8s_decode_pod(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	const cJSON *md = dj_get(obj, "metadata"), *ann, *spec, *status;
	const cJSON *cs, *ics;
	const char *node, *sa, *phase, *kind;
	struct ctl_pod *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, true, &p->ns, &p->name, &e) < 0 ||
	    dj_labels(dj_get(md, "labels"), "metadata.labels", &p->labels, &e) < 0 ||
	    dj_object(md, "annotations", &ann, &e) < 0 ||
	    dj_object(obj, "spec", &spec, &e) < 0 ||
	    dj_object(obj, "status", &status, &e) < 0 ||
	    dj_str(spec, "nodeName", &node, &e) < 0 ||
	    dj_str(spec, "serviceAccountName", &sa, &e) < 0 ||
	    dj_bool(spec, "hostNetwork", &p->host_network, &e) < 0 ||
	    dj_array(spec, "containers", &cs, &e) < 0 ||
	    dj_array(spec, "initContainers", &ics, &e) < 0 ||
	    dj_str(status, "phase", &phase, &e) < 0 ||
	    dj_str(ann, ANN_PORT_KIND, &kind, &e) < 0)
		goto out_err;
	if (dj_dup(node && *node ? node : NULL, &p->node, &e) < 0 ||
	    dj_dup(sa && *sa ? sa : "default", &p->sa, &e) < 0 ||
	    dj_dup(kind, &p->port_kind, &e) < 0)
		goto out_err;
	if (pod_ports(p, cs, "containers", &e) < 0 ||
	    pod_ports(p, ics, "initContainers", &e) < 0)
		goto out_err;
	/* parse the IPs even when unused, so garbage is reported */
	if (pod_ips(p, status, ann, &e) < 0)
		goto out_err;
	if (pod_finished(md, ann, phase))
		p->n_ips = 0;
	return p;

out_err:
	ctl_pod_free(p);
	return NULL;
}
