/* SPDX-License-Identifier: BSD-3-Clause */
/* The CNI_* environment of ADD, DEL and CHECK (CNI spec, "Parameters"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/netlink.h"
#include "k8s/cni/cni.h"

static const char *getenv_ne(const char *k)
{
	const char *v = getenv(k);

	return v && v[0] ? v : NULL;
}

/* The spec's container ID: an alphanumeric, then alphanumerics, '_', '.'
 * and '-'. It names files (the vhost-user share file, which DEL removes),
 * so "../x" must never pass. */
static bool cid_ok(const char *s)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = strlen(s);

	if (n == 0 || n > CNI_MAX_CID || strchr(alnum, s[0]) == NULL)
		return false;
	for (size_t i = 1; i < n; i++)
		if (strchr(alnum, s[i]) == NULL && strchr("_.-", s[i]) == NULL)
			return false;
	return true;
}

/* A DNS-1123 label: [a-z0-9-], alphanumeric at both ends, 63 at most
 * (Kubernetes namespaces; the labels of a pod name). */
static bool dns_label_ok(const char *s, size_t n)
{
	const char *an = "abcdefghijklmnopqrstuvwxyz0123456789";

	if (n == 0 || n > 63 || !strchr(an, s[0]) || !strchr(an, s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr(an, s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A DNS-1123 subdomain (Kubernetes pod names): labels joined by dots. */
static bool dns_subdomain_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CNI_MAX_K8S_NAME)
		return false;
	for (const char *dot; (dot = strchr(s, '.')) != NULL; s = dot + 1)
		if (!dns_label_ok(s, (size_t)(dot - s)))
			return false;
	return dns_label_ok(s, strlen(s));
}

/* @p v (@p n bytes), the value of K8S_POD_NAMESPACE (@p ns) or of
 * K8S_POD_NAME, into @p dst of @p size bytes. */
static int set_name(char *dst, size_t size, bool ns, const char *v, size_t n,
		    char *err, size_t errlen)
{
	char s[CNI_MAX_K8S_NAME];

	snprintf(s, sizeof(s), "%.*s", (int)(n < size ? n : 0), v);
	if (n >= size || !(ns ? dns_label_ok(s, n) : dns_subdomain_ok(s))) {
		snprintf(err, errlen, "CNI_ARGS: %s is not a Kubernetes %s",
			 ns ? "K8S_POD_NAMESPACE" : "K8S_POD_NAME",
			 ns ? "namespace" : "pod name");
		return CNI_ERR_ENV;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/*
 * K8S_POD_NAMESPACE and K8S_POD_NAME out of "K=V;K=V" (other keys are the
 * runtime's and ignored; a later value replaces an earlier one). Both
 * name the Pod in API paths and kdp's "ns/name": anything a Kubernetes
 * name cannot hold ('/' above all) is refused, as is a pair with no '='.
 */
static int parse_args(const char *args, struct cni_env *e, char *err,
		      size_t errlen)
{
	for (const char *p = args; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ";");
		const char *eq = memchr(p, '=', n);
		int rc = 0;

		if (n > 0 && eq == NULL) {
			snprintf(err, errlen, "CNI_ARGS: \"%.*s\" is not "
				 "KEY=VALUE", (int)(n > 64 ? 64 : n), p);
			return CNI_ERR_ENV;
		}
		if (eq != NULL) {
			size_t kl = (size_t)(eq - p), vl = n - kl - 1;

			if (kl == 17 && !strncmp(p, "K8S_POD_NAMESPACE", kl))
				rc = set_name(e->pod_ns, sizeof(e->pod_ns),
					      true, eq + 1, vl, err, errlen);
			else if (kl == 12 && !strncmp(p, "K8S_POD_NAME", kl))
				rc = set_name(e->pod_name, sizeof(e->pod_name),
					      false, eq + 1, vl, err, errlen);
			if (rc)
				return rc;
		}
		p += n;
		if (*p == ';')
			p++;
	}
	return 0;
}

int cni_env_parse(struct cni_env *e, char *err, size_t errlen)
{
	bool del = strcmp(e->command, "DEL") == 0;
	int rc;

	e->cid = getenv_ne("CNI_CONTAINERID");
	e->ifname = getenv_ne("CNI_IFNAME");
	e->netns = getenv_ne("CNI_NETNS");
	e->pod_ns[0] = e->pod_name[0] = '\0';
	if (e->cid == NULL || e->ifname == NULL ||
	    (e->netns == NULL && !del)) {
		snprintf(err, errlen, "CNI_CONTAINERID, CNI_IFNAME and "
			 "CNI_NETNS are required");
		return CNI_ERR_ENV;
	}
	if (!cid_ok(e->cid)) {
		snprintf(err, errlen, "CNI_CONTAINERID: \"%.64s\" is not "
			 "[A-Za-z0-9][A-Za-z0-9_.-]* (%d at most)", e->cid,
			 CNI_MAX_CID);
		return CNI_ERR_ENV;
	}
	/* The spec: "if the plugin is unable to use this interface name it
	 * must return an error". */
	if (!ctl_link_name_ok(e->ifname)) {
		snprintf(err, errlen, "CNI_IFNAME: \"%.64s\" is not an "
			 "interface name", e->ifname);
		return CNI_ERR_ENV;
	}
	if ((rc = parse_args(getenv("CNI_ARGS"), e, err, errlen)) != 0)
		return rc;
	if (!del && (e->pod_ns[0] == '\0' || e->pod_name[0] == '\0')) {
		snprintf(err, errlen, "CNI_ARGS must name K8S_POD_NAMESPACE "
			 "and K8S_POD_NAME");
		return CNI_ERR_ENV;
	}
	return 0;
}
