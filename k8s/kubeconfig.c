/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "k8s/kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "dp/log.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One parsed kubeconfig file of a merge list. */
struct kc_file {
	const char *path;
	char *dir; /* for relative paths */
	yaml_document_t doc;
	bool loaded;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map,
			    const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A scalar value (NUL-terminated by libyaml), NULL if absent or not scalar. */
static const char *map_str(yaml_document_t *doc, yaml_node_t *map,
			   const char *key)
{
	yaml_node_t *n = map_get(doc, map, key);

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	/* A YAML null ("~", "null" or empty plain scalar) means unset. */
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (n->data.scalar.length == 0 ||
	     strcmp((const char *)n->data.scalar.value, "~") == 0 ||
	     strcmp((const char *)n->data.scalar.value, "null") == 0))
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* YAML 1.1 booleans, as Go's yaml.v2 (used by client-go) reads them. */
static bool map_bool(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes",
					  "Yes",  "YES",  "on",   "On",
					  "ON",   "y",    "Y"};
	const char *v = map_str(doc, map, key);
	size_t i;

	if (v == NULL)
		return false;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcmp(v, yes[i]) == 0)
			return true;
	return false;
}

/*
 * Find the entry named @p name in the list @p list ("clusters", …) of the
 * file's root, and return its @p inner mapping ("cluster", …).
 */
static yaml_node_t *find_named(struct kc_file *f, const char *list,
			       const char *name, const char *inner)
{
	yaml_node_t *root = yaml_document_get_root_node(&f->doc);
	yaml_node_t *seq = map_get(&f->doc, root, list);
	yaml_node_item_t *it;

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&f->doc, *it);
		const char *n = map_str(&f->doc, e, "name");

		if (n != NULL && strcmp(n, name) == 0) {
			yaml_node_t *in = map_get(&f->doc, e, inner);

			/* An entry with an empty body is still "found". */
			return in != NULL ? in : e;
		}
	}
	return NULL;
}

/* asprintf that leaves NULL (not garbage) behind on failure. */
static char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	return rc < 0 ? NULL : s;
}

static char *xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static char *resolve_path(const char *dir, const char *p)
{
	if (p == NULL)
		return NULL;
	if (p[0] == '/' || dir == NULL)
		return strdup(p);
	return xasprintf("%s/%s", dir, p);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The base64 alphabet (in ASCII, whatever the locale). */
static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int k8s_base64_decode(const char *in, struct k8s_blob *out)
{
	size_t n = strlen(in), clean_len = 0, pad = 0, i;
	char *clean = malloc(n + 1);
	unsigned char *buf;
	int got;

	if (clean == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)in[i]))
			clean[clean_len++] = in[i];
	clean[clean_len] = '\0';
	if (clean_len == 0 || clean_len % 4 != 0 || clean_len > INT32_MAX) {
		free(clean);
		return -EINVAL;
	}
	/* EVP_DecodeBlock() counts padding as output bytes: take them off. */
	if (clean[clean_len - 1] == '=')
		pad++;
	if (pad && clean[clean_len - 2] == '=')
		pad++;
	/* Only the alphabet before the padding: EVP_DecodeBlock() reads an
	 * '=' anywhere as zero bits ("AB=C", "====", "aGk=aGk=" decoded) and
	 * drops characters it skips at the end ("aGk=----"). */
	for (i = 0; i < clean_len - pad; i++)
		if (!b64_char(clean[i])) {
			free(clean);
			return -EINVAL;
		}
	buf = malloc(clean_len / 4 * 3 + 1);
	if (buf == NULL) {
		free(clean);
		return -ENOMEM;
	}
	got = EVP_DecodeBlock(buf, (const unsigned char *)clean,
			      (int)clean_len);
	free(clean);
	if (got < 0 || (size_t)got < pad) {
		free(buf);
		return -EINVAL;
	}
	buf[got - pad] = '\0';
	out->data = (char *)buf;
	out->len = (size_t)got - pad;
	return 0;
}

void k8s_conn_clear(struct k8s_conn *c)
{
	if (c == NULL)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca.data);
	free(c->cert_file);
	free(c->cert.data);
	free(c->key_file);
	free(c->key.data);
	free(c->token);
	free(c->token_file);
	free(c->tls_server_name);
	free(c->ns);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

/* Decode field @p key (a *-data field) into @p blob if present. */
static int load_data(struct kc_file *f, yaml_node_t *m, const char *key,
		     struct k8s_blob *blob, char *err, size_t errlen)
{
	const char *v = map_str(&f->doc, m, key);
	int rc;

	if (v == NULL)
		return 0;
	rc = k8s_base64_decode(v, blob);
	if (rc < 0)
		seterr(err, errlen, "%s: %s is not valid base64", f->path, key);
	return rc;
}

static int load_cluster(struct kc_file *f, yaml_node_t *c, struct k8s_conn *o,
			char *err, size_t errlen)
{
	const char *server = map_str(&f->doc, c, "server");
	size_t len;

	if (server == NULL) {
		seterr(err, errlen, "%s: cluster has no server", f->path);
		return -EINVAL;
	}
	len = strncmp(server, "https://", 8) == 0 ? 8 :
	      strncmp(server, "http://", 7) == 0 ? 7 : 0;
	/* A host must follow: "https://" alone became "https:" once its
	 * trailing '/' were cut, and every request went to "https:/api…". */
	if (len == 0 || server[len] == '\0' || server[len] == '/') {
		seterr(err, errlen, "%s: server '%s' is not an http(s) URL",
		       f->path, server);
		return -EINVAL;
	}
	o->server = strdup(server);
	if (o->server == NULL)
		return -ENOMEM;
	len = strlen(o->server);
	while (len > 0 && o->server[len - 1] == '/')
		o->server[--len] = '\0';
	o->insecure = map_bool(&f->doc, c, "insecure-skip-tls-verify");
	o->tls_server_name = xstrdup(map_str(&f->doc, c, "tls-server-name"));
	if (map_str(&f->doc, c, "proxy-url") != NULL)
		KDP_LOG(WARNING, "%s: proxy-url is not supported, ignored",
			f->path);
	/* The inline data wins over the file, as in client-go. */
	if (map_str(&f->doc, c, "certificate-authority-data") != NULL)
		return load_data(f, c, "certificate-authority-data", &o->ca,
				 err, errlen);
	o->ca_file = resolve_path(f->dir,
				  map_str(&f->doc, c, "certificate-authority"));
	return 0;
}

static int load_user(struct kc_file *f, yaml_node_t *u, struct k8s_conn *o,
		     char *err, size_t errlen)
{
	const char *tok;
	int rc;

	if (map_get(&f->doc, u, "exec") != NULL ||
	    map_get(&f->doc, u, "auth-provider") != NULL) {
		seterr(err, errlen,
		       "%s: exec/auth-provider credentials are not supported",
		       f->path);
		return -EINVAL;
	}
	if (map_str(&f->doc, u, "username") != NULL)
		KDP_LOG(WARNING, "%s: basic auth (username) is not supported",
			f->path);
	if (map_str(&f->doc, u, "client-certificate-data") != NULL)
		rc = load_data(f, u, "client-certificate-data", &o->cert, err,
			       errlen);
	else {
		o->cert_file = resolve_path(
			f->dir, map_str(&f->doc, u, "client-certificate"));
		rc = 0;
	}
	if (rc < 0)
		return rc;
	if (map_str(&f->doc, u, "client-key-data") != NULL)
		rc = load_data(f, u, "client-key-data", &o->key, err, errlen);
	else
		o->key_file = resolve_path(f->dir,
					   map_str(&f->doc, u, "client-key"));
	if (rc < 0)
		return rc;
	/* token takes precedence over tokenFile. */
	tok = map_str(&f->doc, u, "token");
	if (tok != NULL)
		o->token = strdup(tok);
	else
		o->token_file = resolve_path(f->dir,
					     map_str(&f->doc, u, "tokenFile"));
	return 0;
}

static int parse_file(struct kc_file *f, char *err, size_t errlen)
{
	yaml_parser_t parser;
	FILE *fp;
	int rc = 0;

	fp = fopen(f->path, "r");
	if (fp == NULL)
		return -errno;
	if (!yaml_parser_initialize(&parser)) {
		fclose(fp);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &f->doc)) {
		seterr(err, errlen, "%s: YAML error at line %zu: %s", f->path,
		       parser.problem_mark.line + 1,
		       parser.problem ? parser.problem : "unknown");
		rc = -EINVAL;
	} else {
		f->loaded = true;
		if (yaml_document_get_root_node(&f->doc) != NULL &&
		    yaml_document_get_root_node(&f->doc)->type !=
			    YAML_MAPPING_NODE) {
			seterr(err, errlen, "%s: top level is not a mapping",
			       f->path);
			rc = -EINVAL;
		}
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	return rc;
}

/* First file (in priority order) defining @p name in @p list. */
static yaml_node_t *merged_find(struct kc_file *files, size_t n,
				const char *list, const char *name,
				const char *inner, struct kc_file **which)
{
	size_t i;

	for (i = 0; i < n; i++) {
		yaml_node_t *e;

		if (!files[i].loaded)
			continue;
		e = find_named(&files[i], list, name, inner);
		if (e != NULL) {
			*which = &files[i];
			return e;
		}
	}
	return NULL;
}

int k8s_kubeconfig_load_list(const char *const *paths, size_t n,
			     struct k8s_conn *out, char *err, size_t errlen)
{
	struct kc_file *files, *cf = NULL, *uf = NULL, *xf = NULL;
	const char *cur = NULL, *cluster, *user;
	yaml_node_t *ctx, *cl, *us = NULL;
	size_t i, nloaded = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	files = calloc(n ? n : 1, sizeof(*files));
	if (files == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		files[i].path = paths[i];
		rc = parse_file(&files[i], err, errlen);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			if (rc != -EINVAL)
				seterr(err, errlen, "%s: %s", paths[i],
				       strerror(-rc));
			goto out;
		}
		files[i].dir = dir_of(paths[i]);
		nloaded++;
	}
	if (nloaded == 0) {
		seterr(err, errlen, "no kubeconfig file found (%s%s)",
		       n ? paths[0] : "none", n > 1 ? ", …" : "");
		rc = -ENOENT;
		goto out;
	}
	for (i = 0; i < n && cur == NULL; i++)
		if (files[i].loaded)
			cur = map_str(&files[i].doc,
				      yaml_document_get_root_node(&files[i].doc),
				      "current-context");
	if (cur == NULL) {
		seterr(err, errlen, "%s: no current-context", paths[0]);
		rc = -EINVAL;
		goto out;
	}
	ctx = merged_find(files, n, "contexts", cur, "context", &xf);
	if (ctx == NULL) {
		seterr(err, errlen, "context '%s' not found", cur);
		rc = -EINVAL;
		goto out;
	}
	cluster = map_str(&xf->doc, ctx, "cluster");
	user = map_str(&xf->doc, ctx, "user");
	cl = cluster ? merged_find(files, n, "clusters", cluster, "cluster",
				   &cf)
		     : NULL;
	if (cl == NULL) {
		seterr(err, errlen, "context '%s': cluster '%s' not found", cur,
		       cluster ? cluster : "");
		rc = -EINVAL;
		goto out;
	}
	if (user != NULL) {
		us = merged_find(files, n, "users", user, "user", &uf);
		if (us == NULL) {
			seterr(err, errlen, "context '%s': user '%s' not found",
			       cur, user);
			rc = -EINVAL;
			goto out;
		}
	}
	rc = load_cluster(cf, cl, out, err, errlen);
	if (rc == 0 && us != NULL)
		rc = load_user(uf, us, out, err, errlen);
	if (rc < 0)
		goto out;
	out->ns = xstrdup(map_str(&xf->doc, ctx, "namespace"));
	out->source = xasprintf("kubeconfig %s (context %s)", xf->path, cur);
	if (out->source == NULL)
		rc = -ENOMEM;
out:
	for (i = 0; i < n; i++) {
		if (files[i].loaded)
			yaml_document_delete(&files[i].doc);
		free(files[i].dir);
	}
	free(files);
	if (rc < 0)
		k8s_conn_clear(out);
	return rc;
}

int k8s_kubeconfig_load(const char *path, struct k8s_conn *out, char *err,
			size_t errlen)
{
	return k8s_kubeconfig_load_list(&path, 1, out, err, errlen);
}

int k8s_kubeconfig_load_default(struct k8s_conn *out, char *err,
				size_t errlen)
{
	const char *env = getenv("KUBECONFIG");
	const char *home = getenv("HOME");
	const char **paths = NULL;
	char *copy = NULL, *save = NULL, *tok, *def = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (env != NULL && env[0] != '\0') {
		copy = strdup(env);
		if (copy == NULL)
			return -ENOMEM;
		for (tok = strtok_r(copy, ":", &save); tok != NULL;
		     tok = strtok_r(NULL, ":", &save)) {
			if (n == cap) {
				const char **np;

				cap = cap ? cap * 2 : 4;
				np = realloc(paths, cap * sizeof(*paths));
				if (np == NULL) {
					rc = -ENOMEM;
					goto out;
				}
				paths = np;
			}
			paths[n++] = tok;
		}
	}
	if (n == 0) {
		def = xasprintf("%s/.kube/config", home ? home : "");
		if (def == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		rc = k8s_kubeconfig_load(def, out, err, errlen);
		goto out;
	}
	rc = k8s_kubeconfig_load_list(paths, n, out, err, errlen);
out:
	free(paths);
	free(copy);
	free(def);
	return rc;
}

char *k8s_read_token_file(const char *path)
{
	char buf[16384];
	size_t n, start = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	while (start < n && isspace((unsigned char)buf[start]))
		start++;
	if (start == n) {
		errno = EINVAL;
		return NULL;
	}
	return strdup(buf + start);
}

int k8s_incluster_load_from(const char *host, const char *port,
			    const char *sa_dir, struct k8s_conn *out,
			    char *err, size_t errlen)
{
	bool v6;
	int rc = -ENOMEM;
	char *ns_file = NULL;

	memset(out, 0, sizeof(*out));
	if (host == NULL || host[0] == '\0' || port == NULL ||
	    port[0] == '\0') {
		seterr(err, errlen,
		       "not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset");
		return -ENOENT;
	}
	v6 = strchr(host, ':') != NULL && host[0] != '[';
	out->server = v6 ? xasprintf("https://[%s]:%s", host, port)
			 : xasprintf("https://%s:%s", host, port);
	out->token_file = xasprintf("%s/token", sa_dir);
	out->ca_file = xasprintf("%s/ca.crt", sa_dir);
	ns_file = xasprintf("%s/namespace", sa_dir);
	if (out->server == NULL || out->token_file == NULL ||
	    out->ca_file == NULL || ns_file == NULL)
		goto fail;
	if (access(out->token_file, R_OK) != 0) {
		rc = -errno;
		seterr(err, errlen, "in-cluster token %s: %s", out->token_file,
		       strerror(errno));
		goto fail;
	}
	out->ns = k8s_read_token_file(ns_file); /* optional */
	out->source = strdup("in-cluster service account");
	if (out->source == NULL)
		goto fail;
	free(ns_file);
	return 0;
fail:
	free(ns_file);
	k8s_conn_clear(out);
	return rc;
}

int k8s_incluster_load(struct k8s_conn *out, char *err, size_t errlen)
{
	return k8s_incluster_load_from(getenv("KUBERNETES_SERVICE_HOST"),
				       getenv("KUBERNETES_SERVICE_PORT"),
				       SA_DIR, out, err, errlen);
}
