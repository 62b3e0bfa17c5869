/* SPDX-License-Identifier: BSD-3-Clause */
/* The network configuration kdp-cni reads from stdin (README of k8s/cni). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s/cni/cni.h"
#include "k8s/jsonkeys.h"

const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0",
				     NULL };

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; cni_versions[i] != NULL; i++)
		if (strcmp(cni_versions[i], v) == 0)
			return true;
	return false;
}

void cni_conf_free(struct cni_conf *c)
{
	free(c->cni_version);
	free(c->name);
	free(c->kubeconfig);
	free(c->kdp_socket);
	free(c->nodename);
	free(c->vhost_share_dir);
	cJSON_Delete(c->prev_result);
	memset(c, 0, sizeof(*c));
}

/*
 * Copy string key @p key into @p dst (default @p def when absent).
 * @return 0, or CNI_ERR_NETCONF when present but not a non-empty string.
 */
static int str_key(const cJSON *root, const char *key, const char *def,
		   char **dst, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (v == NULL || cJSON_IsNull(v)) {
		if (def != NULL && (*dst = strdup(def)) == NULL)
			goto nomem;
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		snprintf(err, errlen, "netconf: \"%s\" must be a non-empty "
			 "string", key);
		return CNI_ERR_NETCONF;
	}
	if (k8s_json_has_nul(v->valuestring)) {
		snprintf(err, errlen, "netconf: \"%s\" holds U+0000 (or "
			 "U+FDD0)", key);
		return CNI_ERR_NETCONF;
	}
	if ((*dst = strdup(v->valuestring)) == NULL)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return CNI_ERR_IO;
}

static int parse_ipam(const cJSON *root, char *err, size_t errlen)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(root, "ipam");
	const cJSON *type;

	if (ipam == NULL)
		return 0;
	if (!cJSON_IsObject(ipam)) {
		snprintf(err, errlen, "netconf: \"ipam\" must be an object");
		return CNI_ERR_NETCONF;
	}
	type = cJSON_GetObjectItemCaseSensitive(ipam, "type");
	/* IPAM is built in; an explicit other plugin would be silently
	 * ignored, so say it is unsupported instead. */
	if (type != NULL &&
	    (!cJSON_IsString(type) || (strcmp(type->valuestring, "kdp-ipam") &&
				       strcmp(type->valuestring, "builtin")))) {
		snprintf(err, errlen, "netconf: ipam.type must be \"kdp-ipam\" "
			 "or \"builtin\" (IPAM is built into kdp-cni)");
		return CNI_ERR_FIELD;
	}
	return 0;
}

int cni_conf_parse(const char *text, struct cni_conf *c, char *err,
		   size_t errlen)
{
	/* One object and nothing after it: cJSON_Parse() stops after the
	 * first value, so '{...} garbage' was taken; and \u0000 marked, not
	 * cutting a string short (str_key() refuses it). */
	cJSON *root = k8s_json_parse(text, strlen(text), NULL);
	const cJSON *v;
	char host[256];
	int rc;

	memset(c, 0, sizeof(*c));
	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(err, errlen, "netconf: stdin is not a JSON object");
		rc = CNI_ERR_DECODE;
		goto out;
	}
	/* cJSON would take the first of two equal keys without a word. */
	const char *dup = k8s_json_dup_key(root);
	if (dup != NULL) {
		snprintf(err, errlen, "netconf: key \"%.64s\" given twice", dup);
		rc = CNI_ERR_DECODE;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "cniVersion");
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "netconf: \"cniVersion\" missing");
		rc = CNI_ERR_NETCONF;
		goto out;
	}
	c->cni_version = strdup(v->valuestring);
	if (!cni_version_supported(v->valuestring)) {
		snprintf(err, errlen, "netconf: cniVersion %s not supported "
			 "(0.3.0, 0.3.1, 0.4.0, 1.0.0)", v->valuestring);
		rc = CNI_ERR_VERSION;
		goto out;
	}
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((rc = str_key(root, "name", NULL, &c->name, err, errlen)) ||
	    (rc = str_key(root, "kubeconfig", NULL, &c->kubeconfig, err,
			  errlen)) ||
	    (rc = str_key(root, "kdp_socket", CNI_DEFAULT_SOCKET,
			  &c->kdp_socket, err, errlen)) ||
	    (rc = str_key(root, "nodename", host, &c->nodename, err,
			  errlen)) ||
	    (rc = str_key(root, "vhost_share_dir", CNI_DEFAULT_SHARE_DIR,
			  &c->vhost_share_dir, err, errlen)))
		goto out;
	if (c->name == NULL) {
		snprintf(err, errlen, "netconf: \"name\" missing");
		rc = CNI_ERR_NETCONF;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "mtu");
	if (v != NULL) {
		/* An integer: 1400.5 was taken as 1400. */
		if (!cJSON_IsNumber(v) || v->valuedouble < 576 ||
		    v->valuedouble > 65535 ||
		    v->valuedouble != (double)(int)v->valuedouble) {
			snprintf(err, errlen, "netconf: \"mtu\" must be an "
				 "integer in 576..65535");
			rc = CNI_ERR_NETCONF;
			goto out;
		}
		c->mtu = v->valueint;
	}
	rc = parse_ipam(root, err, errlen);
	if (rc)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(root, "prevResult");
	if (cJSON_IsObject(v))
		c->prev_result = cJSON_Duplicate(v, true);
out:
	cJSON_Delete(root);
	return rc;
}
