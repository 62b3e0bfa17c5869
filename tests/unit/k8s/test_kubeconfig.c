/* SPDX-License-Identifier: BSD-3-Clause */
/* kubeconfig / in-cluster loading: contexts, *-data, paths, merges, flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"
#include "test.h"

static char tmp[256];

static char *path_in(const char *sub)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, 512, "%s/%s", tmp, sub);
	return p;
}

static void write_file(const char *sub, const char *text)
{
	FILE *f = fopen(path_in(sub), "w");

	fputs(text, f);
	fclose(f);
}

/* "-----BEGIN X-----\nabc\n" and "hello world" in base64. */
#define B64_PEM "LS0tLS1CRUdJTiBYLS0tLS0KYWJjCg=="
#define PEM "-----BEGIN X-----\nabc\n"

static void test_base64(void)
{
	struct k8s_blob b;

	CHECK(k8s_base64_decode("aGk=", &b) == 0);
	CHECK(b.len == 2 && memcmp(b.data, "hi", 2) == 0);
	free(b.data);
	CHECK(k8s_base64_decode(" aGVs\nbG8g d29y\nbGQ=\n", &b) == 0);
	CHECK(b.len == 11 && memcmp(b.data, "hello world", 11) == 0);
	free(b.data);
	CHECK(k8s_base64_decode("aGk", &b) == -EINVAL);
	CHECK(k8s_base64_decode("a*k=", &b) == -EINVAL);
	CHECK(k8s_base64_decode("", &b) == -EINVAL);
}

static void test_contexts_and_paths(void)
{
	struct k8s_conn c;
	char err[256];
	char *want;

	mkdir(path_in("one"), 0700);
	write_file("one/config",
		   "apiVersion: v1\n"
		   "kind: Config\n"
		   "current-context: prod\n"
		   "clusters:\n"
		   "- name: dev\n"
		   "  cluster: {server: 'https://dev:6443'}\n"
		   "- name: prodc\n"
		   "  cluster:\n"
		   "    server: https://10.0.0.1:6443/\n"
		   "    certificate-authority: pki/ca.crt\n"
		   "contexts:\n"
		   "- name: dev\n"
		   "  context: {cluster: dev, user: devu}\n"
		   "- name: prod\n"
		   "  context:\n"
		   "    cluster: prodc\n"
		   "    user: produ\n"
		   "    namespace: kube-system\n"
		   "users:\n"
		   "- name: devu\n"
		   "  user: {token: devtoken}\n"
		   "- name: produ\n"
		   "  user:\n"
		   "    client-certificate-data: " B64_PEM "\n"
		   "    client-key: /abs/key.pem\n"
		   "    token: tok-inline\n"
		   "    tokenFile: tokfile\n");
	CHECK(k8s_kubeconfig_load(path_in("one/config"), &c, err,
				  sizeof(err)) == 0);
	CHECK_STR(c.server, "https://10.0.0.1:6443");
	want = path_in("one/pki/ca.crt");
	CHECK_STR(c.ca_file, want);
	CHECK(c.ca.data == NULL);
	CHECK(c.cert.len == strlen(PEM) && memcmp(c.cert.data, PEM, c.cert.len) == 0);
	CHECK(c.cert_file == NULL);
	CHECK_STR(c.key_file, "/abs/key.pem");
	/* token takes precedence over tokenFile */
	CHECK_STR(c.token, "tok-inline");
	CHECK(c.token_file == NULL);
	CHECK_STR(c.ns, "kube-system");
	CHECK(!c.insecure);
	CHECK(c.tls_server_name == NULL);
	k8s_conn_clear(&c);
	k8s_conn_clear(NULL);
}

static void test_flags_and_tokenfile(void)
{
	struct k8s_conn c;
	char err[256];

	write_file("flags",
		   "current-context: x\n"
		   "clusters:\n"
		   "- name: c\n"
		   "  cluster:\n"
		   "    server: https://[fd00::1]:6443\n"
		   "    insecure-skip-tls-verify: true\n"
		   "    tls-server-name: kubernetes.default\n"
		   "    certificate-authority-data: " B64_PEM "\n"
		   "    certificate-authority: ignored.crt\n"
		   "contexts:\n"
		   "- name: x\n"
		   "  context: {cluster: c, user: u}\n"
		   "users:\n"
		   "- name: u\n"
		   "  user:\n"
		   "    tokenFile: sub/token\n"
		   "    client-key-data: aGk=\n");
	CHECK(k8s_kubeconfig_load(path_in("flags"), &c, err, sizeof(err)) ==
	      0);
	CHECK(c.insecure);
	CHECK_STR(c.tls_server_name, "kubernetes.default");
	CHECK_STR(c.server, "https://[fd00::1]:6443");
	CHECK(c.ca.len == strlen(PEM) && c.ca_file == NULL);
	CHECK(c.key.len == 2 && memcmp(c.key.data, "hi", 2) == 0);
	CHECK(c.token == NULL);
	CHECK_STR(c.token_file, path_in("sub/token"));
	k8s_conn_clear(&c);
}

static void test_merge(void)
{
	struct k8s_conn c;
	char err[256], *env;

	mkdir(path_in("a"), 0700);
	mkdir(path_in("b"), 0700);
	/* a: wins current-context and cluster c1; b: context and user. */
	write_file("a/config", "current-context: from-a\n"
			       "clusters:\n"
			       "- name: c1\n"
			       "  cluster: {server: 'https://first:1'}\n");
	write_file("b/config", "current-context: from-b\n"
			       "clusters:\n"
			       "- name: c1\n"
			       "  cluster: {server: 'https://second:2'}\n"
			       "contexts:\n"
			       "- name: from-a\n"
			       "  context: {cluster: c1, user: u1}\n"
			       "users:\n"
			       "- name: u1\n"
			       "  user: {tokenFile: tok}\n");
	if (asprintf(&env, "%s:%s:%s", path_in("a/config"), path_in("nope"),
		     path_in("b/config")) < 0)
		abort();
	setenv("KUBECONFIG", env, 1);
	CHECK(k8s_kubeconfig_load_default(&c, err, sizeof(err)) == 0);
	CHECK_STR(c.server, "https://first:1");
	/* relative to the file that defined the user */
	CHECK_STR(c.token_file, path_in("b/tok"));
	k8s_conn_clear(&c);

	/* Empty $KUBECONFIG: $HOME/.kube/config. */
	setenv("KUBECONFIG", "", 1);
	setenv("HOME", tmp, 1);
	mkdir(path_in(".kube"), 0700);
	write_file(".kube/config", "current-context: h\n"
				   "clusters: [{name: hc, cluster: {server: 'https://home:3'}}]\n"
				   "contexts: [{name: h, context: {cluster: hc}}]\n");
	CHECK(k8s_kubeconfig_load_default(&c, err, sizeof(err)) == 0);
	CHECK_STR(c.server, "https://home:3");
	CHECK(c.token == NULL && c.token_file == NULL);
	k8s_conn_clear(&c);
	free(env);
	unsetenv("KUBECONFIG");
}

static void test_errors(void)
{
	struct k8s_conn c;
	char err[256];

	err[0] = '\0';
	CHECK(k8s_kubeconfig_load(path_in("missing"), &c, err, sizeof(err)) ==
	      -ENOENT);
	CHECK(err[0] != '\0');

	write_file("badyaml", "clusters: [\n  - {name: x\n");
	CHECK(k8s_kubeconfig_load(path_in("badyaml"), &c, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "YAML") != NULL);

	write_file("noctx", "current-context: gone\nclusters: []\n");
	CHECK(k8s_kubeconfig_load(path_in("noctx"), &c, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "gone") != NULL);

	write_file("nocur", "clusters: []\n");
	CHECK(k8s_kubeconfig_load(path_in("nocur"), &c, err, sizeof(err)) ==
	      -EINVAL);

	write_file("badb64",
		   "current-context: x\n"
		   "clusters: [{name: c, cluster: {server: 'https://s:1', "
		   "certificate-authority-data: '!!!'}}]\n"
		   "contexts: [{name: x, context: {cluster: c}}]\n");
	CHECK(k8s_kubeconfig_load(path_in("badb64"), &c, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "certificate-authority-data") != NULL);

	write_file("noserver",
		   "current-context: x\n"
		   "clusters: [{name: c, cluster: {}}]\n"
		   "contexts: [{name: x, context: {cluster: c}}]\n");
	CHECK(k8s_kubeconfig_load(path_in("noserver"), &c, err, sizeof(err)) ==
	      -EINVAL);

	write_file("exec",
		   "current-context: x\n"
		   "clusters: [{name: c, cluster: {server: 'https://s:1'}}]\n"
		   "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		   "users: [{name: u, user: {exec: {command: aws}}}]\n");
	CHECK(k8s_kubeconfig_load(path_in("exec"), &c, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "exec") != NULL);

	write_file("nouser",
		   "current-context: x\n"
		   "clusters: [{name: c, cluster: {server: 'https://s:1'}}]\n"
		   "contexts: [{name: x, context: {cluster: c, user: u}}]\n");
	CHECK(k8s_kubeconfig_load(path_in("nouser"), &c, err, sizeof(err)) ==
	      -EINVAL);

	write_file("scalar", "just a string\n");
	CHECK(k8s_kubeconfig_load(path_in("scalar"), &c, err, sizeof(err)) ==
	      -EINVAL);
}

static void test_incluster(void)
{
	struct k8s_conn c;
	char err[256], *tok;

	mkdir(path_in("sa"), 0700);
	write_file("sa/token", "  eyJtoken\n\n");
	write_file("sa/namespace", "kdp-system");
	CHECK(k8s_incluster_load_from("fd00::1", "443", path_in("sa"), &c, err,
				      sizeof(err)) == 0);
	CHECK_STR(c.server, "https://[fd00::1]:443");
	CHECK_STR(c.ca_file, path_in("sa/ca.crt"));
	CHECK_STR(c.token_file, path_in("sa/token"));
	CHECK_STR(c.ns, "kdp-system");
	tok = k8s_read_token_file(c.token_file);
	CHECK_STR(tok, "eyJtoken");
	free(tok);
	k8s_conn_clear(&c);

	CHECK(k8s_incluster_load_from("10.96.0.1", "6443", path_in("sa"), &c,
				      err, sizeof(err)) == 0);
	CHECK_STR(c.server, "https://10.96.0.1:6443");
	k8s_conn_clear(&c);

	CHECK(k8s_incluster_load_from(NULL, "443", path_in("sa"), &c, err,
				      sizeof(err)) == -ENOENT);
	CHECK(k8s_incluster_load_from("h", "1", path_in("nosa"), &c, err,
				      sizeof(err)) == -ENOENT);
	write_file("sa/empty", " \n");
	CHECK(k8s_read_token_file(path_in("sa/empty")) == NULL);
}

int main(void)
{
	char cmd[300];
	int rc;

	snprintf(tmp, sizeof(tmp), "/tmp/kdp-kubeconfig-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return 1;
	test_base64();
	test_contexts_and_paths();
	test_flags_and_tokenfile();
	test_merge();
	test_errors();
	test_incluster();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	rc = system(cmd);
	(void)rc;
	TEST_DONE("kubeconfig");
}
