/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp-cni's input against bad values: the network configuration on stdin
 * (k8s/cni/conf.c) and the CNI_* environment (k8s/cni/env.c).
 *
 * Netconfs: valid ones (the conflist's plugin as the runtime hands it over,
 * the required keys alone, one for CHECK with a prevResult) mutated at
 * random: keys deleted, renamed or given twice; values of another JSON
 * type, null, unsupported versions, empty, long, non-integer or
 * out-of-range MTUs, other IPAM plugins; the text cut short, bytes
 * changed, brackets thousands deep, text after the object. A reading of
 * cni.h written for this test (spec_conf()) says what each must give:
 * the CNI error code (decode, netconf, version, unsupported field) with a
 * message, or the values as written and the defaults.
 *
 * Environments: CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS and CNI_ARGS as a
 * runtime sets them, mutated: unset, empty, ids with '/' or "..", long,
 * interface names the kernel refuses, K8S_POD_NAMESPACE and K8S_POD_NAME
 * missing, repeated, not Kubernetes names (checked here with the API
 * server's regular expressions, regex.h), pairs without '=', empty pairs.
 * spec_env() says whether each is valid for ADD, CHECK and DEL: an
 * invalid one must give CNI_ERR_ENV (4) and a message naming the
 * variable, a valid one the values as set.
 *
 * The plugin itself (build/kdp-cni, $KDP_CNI) runs for the fixed cases and
 * a few random ones, always with a network namespace that does not exist,
 * so that it stops before talking to kdp or an API server: it must print
 * one CNI error object (cniVersion, code, msg) with the expected code and
 * exit 1 (VERSION: the versions, exit 0).
 *
 * Under ASan/UBSan (the unit suite's second run) a leak or overflow on
 * any of these paths fails the run too. Fixed cases first: the bugs this
 * test found.
 *
 * CNI_SEED=N and CNI_ITERS=N replay or lengthen a run, CNI_RUNS=N runs
 * the plugin N times (40).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k8s/cni/cni.h"
#include "k8s/jsonkeys.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_fuzz.h"
#include "tests/unit/json_dups.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(v) (v)[rand() % (int)DIM(v)]

static unsigned int reported;

static bool str_is(const char *got, const char *want)
{
	return got == want || (got && want && strcmp(got, want) == 0);
}

/* ------------------------------------------------------------ netconfs */

static const char *const seeds[] = {
	/* 10-kdp.conflist's plugin, with what the runtime adds */
	"{'cniVersion':'1.0.0','name':'kdp','type':'kdp-cni','kubeconfig':"
	"'/etc/cni/net.d/kdp-kubeconfig','kdp_socket':'/run/kdp/kdp.sock',"
	"'vhost_share_dir':'/run/kdp/vhost-share','ipam':{'type':'kdp-ipam'},"
	"'runtimeConfig':{'portMappings':[]},'args':{'cni':{}}}",
	"{'cniVersion':'0.3.1','name':'k'}",
	/* CHECK */
	"{'cniVersion':'0.4.0','name':'k','type':'kdp-cni','mtu':1400,"
	"'nodename':'worker-1','ipam':{'type':'builtin'},'prevResult':{"
	"'cniVersion':'0.4.0','interfaces':[{'name':'eth0','sandbox':"
	"'/var/run/netns/x'}],'ips':[{'version':'4','address':"
	"'10.244.1.5/32','gateway':'169.254.1.1','interface':0}]}}",
	"{'cniVersion':'0.3.0','name':'n','mtu':65535,'kdp_socket':'/k.sock',"
	"'nodename':'n','vhost_share_dir':'/s','kubeconfig':'/kc',"
	"'ipam':{}}",
};

static const char *const strs[] = {
	"", " ", "1.0.0", "0.4.0", "0.3.1", "0.3.0", "0.2.0", "1.1.0", "1.0",
	"1.0.0 ", "v1.0.0", "kdp-ipam", "builtin", "host-local", "calico-ipam",
	"KDP-IPAM", "/run/kdp/kdp.sock", "relative", "\xff\xfe", "%s%n",
};

static const char *const raws[] = {
	"1e999", "-1e999", "1400.5", "576", "575", "65535", "65536", "-1",
	"1e3", "\"1400\"", "\"\\u0000x\"", "[1,]", "{\"a\" 1}",
};

static const double nums[] = {0, 1, 575, 576, 1500, 65535, 65536, 575.5,
			      1400.25, -1, 1e308};

static const char *const conf_keys[] = {
	"cniVersion", "name", "type", "kubeconfig", "kdp_socket", "nodename",
	"vhost_share_dir", "mtu", "ipam", "prevResult", "x", "Name",
};

static cJSON *random_value(void)
{
	switch (rand() % 9) {
	case 0:
	case 1:
	case 2:
	case 3: /* "type" for an "ipam" */
		return jf_non_string(nums, DIM(nums), "type", PICK(strs));
	case 4:
		return jf_long_string(1 + (size_t)rand() % 5000);
	case 5:
		return cJSON_CreateRaw(PICK(raws));
	default:
		return cJSON_CreateString(PICK(strs));
	}
}

static const char *random_key(void)
{
	return PICK(conf_keys);
}

/* The string keys, their defaults (NULL: none) and where cni_conf keeps
 * them. */
static const struct {
	const char *key;
	const char *def;
	size_t off;
} str_keys[] = {
	{"name", NULL, offsetof(struct cni_conf, name)},
	{"kubeconfig", NULL, offsetof(struct cni_conf, kubeconfig)},
	{"kdp_socket", CNI_DEFAULT_SOCKET,
	 offsetof(struct cni_conf, kdp_socket)},
	{"nodename", "(host)", offsetof(struct cni_conf, nodename)},
	{"vhost_share_dir", CNI_DEFAULT_SHARE_DIR,
	 offsetof(struct cni_conf, vhost_share_dir)},
};

static bool version_ok(const char *v)
{
	static const char *const ok[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

	for (size_t i = 0; i < DIM(ok); i++)
		if (strcmp(v, ok[i]) == 0)
			return true;
	return false;
}

/*
 * What cni.h says of netconf @p text: 0, or the CNI code of the first
 * thing wrong, in the order conf.c documents none of but a user sees:
 * the text, the version, the string keys, the name, the MTU, the IPAM.
 * A key given twice in any object is a decode error: cJSON would read
 * the first without a word (k8s/jsonkeys.h).
 */
static int spec_conf(const char *text)
{
	cJSON *root = k8s_json_parse(text, strlen(text), NULL);
	const cJSON *v, *t;
	int code = 0;

	if (!cJSON_IsObject(root) || json_has_dup(root)) {
		code = CNI_ERR_DECODE;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "cniVersion");
	if (!cJSON_IsString(v)) {
		code = CNI_ERR_NETCONF;
		goto out;
	}
	if (!version_ok(v->valuestring)) {
		code = CNI_ERR_VERSION;
		goto out;
	}
	for (size_t i = 0; i < DIM(str_keys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(root, str_keys[i].key);
		if (v && !cJSON_IsNull(v) &&
		    !(cJSON_IsString(v) && v->valuestring[0] &&
		      !k8s_json_has_nul(v->valuestring))) {
			code = CNI_ERR_NETCONF;
			goto out;
		}
	}
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "name"))) {
		code = CNI_ERR_NETCONF;
		goto out;
	}
	/* an integer in 576..65535 */
	v = cJSON_GetObjectItemCaseSensitive(root, "mtu");
	if (v && !(cJSON_IsNumber(v) && v->valuedouble >= 576 &&
		   v->valuedouble <= 65535 &&
		   v->valuedouble == floor(v->valuedouble))) {
		code = CNI_ERR_NETCONF;
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "ipam");
	t = cJSON_GetObjectItemCaseSensitive(v, "type");
	if (v && !cJSON_IsObject(v))
		code = CNI_ERR_NETCONF;
	else if (t && !(cJSON_IsString(t) &&
			(strcmp(t->valuestring, "kdp-ipam") == 0 ||
			 strcmp(t->valuestring, "builtin") == 0)))
		code = CNI_ERR_FIELD; /* IPAM is built in */
out:
	cJSON_Delete(root);
	return code;
}

/* A parsed netconf holds what @p text says, or the defaults. */
static bool conf_is(const struct cni_conf *c, const char *text)
{
	cJSON *root = k8s_json_parse(text, strlen(text), NULL);
	const cJSON *v;
	char host[256];
	bool ok;

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	v = cJSON_GetObjectItemCaseSensitive(root, "cniVersion");
	ok = c->cni_version && strcmp(c->cni_version, v->valuestring) == 0;
	for (size_t i = 0; i < DIM(str_keys); i++) {
		const char *got = *(char *const *)((const char *)c +
						   str_keys[i].off);
		const char *want = str_keys[i].def;

		v = cJSON_GetObjectItemCaseSensitive(root, str_keys[i].key);
		if (cJSON_IsString(v))
			want = v->valuestring;
		else if (want && strcmp(want, "(host)") == 0)
			want = host;
		ok &= want ? got && strcmp(got, want) == 0 : got == NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "mtu");
	ok &= c->mtu == (v ? (int)v->valuedouble : 0);
	v = cJSON_GetObjectItemCaseSensitive(root, "prevResult");
	if (cJSON_IsObject(v)) {
		/* as text: cJSON_Compare() finds the first of a key given
		 * twice for both */
		char *a = cJSON_PrintUnformatted(v);
		char *b = cJSON_PrintUnformatted(c->prev_result);

		ok &= a && b && strcmp(a, b) == 0;
		free(a);
		free(b);
	} else {
		ok &= c->prev_result == NULL;
	}
	cJSON_Delete(root);
	return ok;
}

static unsigned int confs_ok;

static void check_conf(const char *text)
{
	struct cni_conf c;
	char err[512] = "";
	int want = spec_conf(text);
	int got = cni_conf_parse(text, &c, err, sizeof(err));
	/* a refusal says why */
	bool ok = got == want && (got ? strncmp(err, "netconf: ", 9) == 0 :
					conf_is(&c, text));

	if (!ok) {
		check_failures++;
		if (reported++ < 10)
			fprintf(stderr, "netconf \"%.600s\"\n  code %d (want "
				"%d): \"%s\"\n", text, got, want, err);
	}
	confs_ok += got == 0;
	cni_conf_free(&c);
}

/* -------------------------------------------------------- environments */

static regex_t re_cid, re_label, re_subdomain;

/* The CNI spec's container ID, 127 bytes at most (what kdp keeps). */
static bool cid_ok(const char *s)
{
	return strlen(s) <= 127 && regexec(&re_cid, s, 0, NULL, 0) == 0;
}

/* The API server's IsDNS1123Label() (namespaces) and
 * IsDNS1123Subdomain() (pod names). */
static bool ns_ok(const char *s)
{
	return strlen(s) <= 63 && regexec(&re_label, s, 0, NULL, 0) == 0;
}

static bool pod_name_ok(const char *s)
{
	return strlen(s) <= 253 && regexec(&re_subdomain, s, 0, NULL, 0) == 0;
}

static char name253[254], name254[255], label63[64], label64[65],
	cid127[128], cid128[129];

static const char *const cids[] = {
	"f5c6d0b0a9e81f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2",
	"abc", "a", "A_b.c-1", cid127, "", "-abc", ".abc", "_a", "../x",
	"a/b", "a b", "abc\n", cid128, "\xc3\xa9t\xc3\xa9", "x;y",
};
static const char *const ifnames[] = {
	"eth0", "net1", "a23456789012345", "", "a234567890123456", ".", "..",
	"a/b", "a:b", "a b", "\x01x", "x\x7f", "\xc3\xa9th0", "eth0\n",
};
static const char *const netnses[] = {
	"/var/run/netns/cni-1234", "/proc/1/ns/net", "",
};
static const char *const namespaces[] = {
	"default", "kube-system", "ns-1", "a", label63, "", "Default", "-a",
	"a-", "a.b", "a/b", "..", label64, "a_b", "ns\n",
};
static const char *const pod_names[] = {
	"web-0", "coredns-5d78c9869d-x8x7k", "a.b.c", "a", name253, "",
	"Web", "a..b", ".a", "a.", "a/b", "../../secrets/x", "-a", name254,
	"a b", "a%2Fb", "a=b",
};
static const char *const other_args[] = {
	"IgnoreUnknown=1", "K8S_POD_INFRA_CONTAINER_ID=abc",
	"K8S_POD_UID=0d3f-11", "", "FOO", "=", "K8S_POD_NAMESPACE",
	"K8S_POD_NAMES=x", "k8s_pod_name=x",
};

struct env_case {
	const char *command;
	const char *var[3]; /* CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS */
	char args[2048];    /* CNI_ARGS */
	bool has_args;
};

static const char *const env_vars[] = {"CNI_CONTAINERID", "CNI_IFNAME",
				       "CNI_NETNS"};

/* How many values each pool starts with that are valid. */
#define N_OK_CIDS 5
#define N_OK_IFNAMES 3
#define N_OK_NETNS 2
#define N_OK_NS 5
#define N_OK_NAMES 5

/* A value of @p pool: mostly a valid one. */
static const char *pick_value(const char *const *pool, size_t n, size_t ok)
{
	/* one rand() a statement: the order of two in an expression is the
	 * compiler's, and a seed would not replay across builds */
	size_t of = rand() % 4 ? ok : n;

	return pool[(size_t)rand() % of];
}

static void gen_env(struct env_case *ec)
{
	static const char *const cmds[] = {"ADD", "DEL", "CHECK"};
	size_t o = 0;

	memset(ec, 0, sizeof(*ec));
	ec->command = PICK(cmds);
	ec->var[0] = pick_value(cids, DIM(cids), N_OK_CIDS);
	ec->var[1] = pick_value(ifnames, DIM(ifnames), N_OK_IFNAMES);
	ec->var[2] = pick_value(netnses, DIM(netnses), N_OK_NETNS);
	for (int i = 0; i < 3; i++)
		if (rand() % 16 == 0)
			ec->var[i] = NULL;
	ec->has_args = rand() % 16 != 0;
	if (ec->has_args && rand() % 2) { /* as kubelet and containerd */
		const char *ns = pick_value(namespaces, DIM(namespaces),
					    N_OK_NS);
		const char *name = pick_value(pod_names, DIM(pod_names),
					      N_OK_NAMES);

		o = (size_t)snprintf(ec->args, sizeof(ec->args),
			"IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
			"K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=0d3f-11",
			ns, name, cids[0]);
	}
	for (int p = o ? -1 : rand() % 6; ec->has_args && p >= 0; p--) {
		const char *pair;
		char buf[600];

		switch (rand() % 4) {
		case 0:
			pair = PICK(other_args);
			break;
		case 1:
		case 2:
			snprintf(buf, sizeof(buf), "K8S_POD_NAME=%s",
				 pick_value(pod_names, DIM(pod_names),
					    N_OK_NAMES));
			pair = buf;
			break;
		default:
			snprintf(buf, sizeof(buf), "K8S_POD_NAMESPACE=%s",
				 pick_value(namespaces, DIM(namespaces),
					    N_OK_NS));
			pair = buf;
			break;
		}
		o += (size_t)snprintf(ec->args + o, sizeof(ec->args) - o,
				      "%s%s", o ? ";" : "", pair);
		if (o >= sizeof(ec->args))
			abort();
	}
	if (rand() % 8 == 0 && o + 1 < sizeof(ec->args))
		strcat(ec->args, ";");
}

static void set_env(const struct env_case *ec)
{
	for (int i = 0; i < 3; i++)
		if (ec->var[i])
			setenv(env_vars[i], ec->var[i], 1);
		else
			unsetenv(env_vars[i]);
	if (ec->has_args)
		setenv("CNI_ARGS", ec->args, 1);
	else
		unsetenv("CNI_ARGS");
}

/* What the CNI spec says of @p ec: valid, with these pod names. */
static bool spec_env(const struct env_case *ec, char *ns, char *name)
{
	bool del = strcmp(ec->command, "DEL") == 0;
	const char *cid = ec->var[0], *ifn = ec->var[1], *netns = ec->var[2];
	char *args = strdup(ec->args), *save = NULL;

	ns[0] = name[0] = '\0';
	if (!cid || !*cid || !ifn || !*ifn || (!del && (!netns || !*netns)) ||
	    !cid_ok(cid) || !fuzz_ifname_ok(ifn)) {
		free(args);
		return false;
	}
	/* "Alphanumeric key-value pairs separated by semicolons" */
	for (char *p = strtok_r(args, ";", &save); p;
	     p = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(p, '=');

		if (eq == NULL)
			goto bad;
		*eq++ = '\0';
		if (strcmp(p, "K8S_POD_NAMESPACE") == 0) {
			if (!ns_ok(eq))
				goto bad;
			strcpy(ns, eq);
		} else if (strcmp(p, "K8S_POD_NAME") == 0) {
			if (!pod_name_ok(eq))
				goto bad;
			strcpy(name, eq);
		}
	}
	free(args);
	return del || (*ns && *name);
bad:
	free(args);
	return false;
}

static unsigned int envs_ok;

static void check_env(const struct env_case *ec)
{
	char ns[256], name[256], err[512] = "";
	struct cni_env e = {.command = ec->command};
	bool want = spec_env(ec, ns, name);
	int got;
	bool ok;

	set_env(ec);
	got = cni_env_parse(&e, err, sizeof(err));
	if (got == 0)
		ok = want && str_is(e.cid, ec->var[0]) &&
		     str_is(e.ifname, ec->var[1]) &&
		     str_is(e.netns, ec->var[2] && *ec->var[2] ? ec->var[2] :
								NULL) &&
		     strcmp(e.pod_ns, ns) == 0 && strcmp(e.pod_name, name) == 0;
	else /* the message names the variable */
		ok = !want && got == CNI_ERR_ENV &&
		     strncmp(err, "CNI_", 4) == 0;
	if (!ok) {
		check_failures++;
		if (reported++ < 10)
			fprintf(stderr, "env %s CNI_CONTAINERID=\"%s\" "
				"CNI_IFNAME=\"%s\" CNI_NETNS=\"%s\" CNI_ARGS="
				"\"%s\"\n  code %d (want %s): \"%s\"\n",
				ec->command, ec->var[0] ? ec->var[0] : "-",
				ec->var[1] ? ec->var[1] : "-",
				ec->var[2] ? ec->var[2] : "-",
				ec->has_args ? ec->args : "-", got,
				want ? "valid" : "4", err);
	}
	envs_ok += got == 0;
}

/* ---------------------------------------------------------- the plugin */

static const char *cni_bin;
static char tmpdir[64];
static unsigned int runs;

/*
 * Run kdp-cni with @p ec (command @p cmd, NULL: unset) and netconf
 * @p conf on stdin: it must print one CNI error object with code
 * @p want and exit 1, or for VERSION the versions and exit 0.
 */
static void check_plugin(const char *cmd, const struct env_case *ec,
			 const char *conf, int want)
{
	static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS",
					   "LSAN_OPTIONS", "PATH"};
	char inp[96], outp[96], errp[96], *envp[16], *out, *err;
	char *argv[] = {"kdp-cni", NULL};
	unsigned int n = 0;
	int st = -1;
	pid_t pid;

	snprintf(inp, sizeof(inp), "%s/in", tmpdir);
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	fuzz_write_file(inp, conf);
	if (cmd && asprintf(&envp[n++], "CNI_COMMAND=%s", cmd) < 0)
		abort();
	for (int i = 0; i < 3; i++)
		if (ec->var[i] && asprintf(&envp[n++], "%s=%s", env_vars[i],
					   ec->var[i]) < 0)
			abort();
	if (ec->has_args && asprintf(&envp[n++], "CNI_ARGS=%s", ec->args) < 0)
		abort();
	for (size_t i = 0; i < DIM(pass); i++)
		if (getenv(pass[i]) && asprintf(&envp[n++], "%s=%s", pass[i],
						getenv(pass[i])) < 0)
			abort();
	envp[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int i = open(inp, O_RDONLY);
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 ||
		    dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execve(cni_bin, argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		abort();
	for (unsigned int i = 0; i < n; i++)
		free(envp[i]);
	runs++;

	FILE *f = fopen(outp, "r");
	size_t len = 0;

	out = NULL;
	if (f == NULL || getdelim(&out, &len, '\0', f) < 0) {
		free(out);
		out = strdup("");
	}
	if (f)
		fclose(f);
	cJSON *j = cJSON_ParseWithOpts(out, NULL, true);
	const cJSON *code = cJSON_GetObjectItem(j, "code");
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg"));
	bool ok = cJSON_IsString(cJSON_GetObjectItem(j, "cniVersion"));

	if (want == 0) /* VERSION */
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		      cJSON_IsArray(cJSON_GetObjectItem(j,
							"supportedVersions"));
	else
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
		      cJSON_IsNumber(code) && code->valuedouble == want &&
		      msg && msg[0];
	if (!ok) {
		check_failures++;
		f = fopen(errp, "r");
		err = NULL;
		len = 0;
		if (f == NULL || getdelim(&err, &len, '\0', f) < 0) {
			free(err);
			err = strdup("");
		}
		if (f)
			fclose(f);
		if (reported++ < 10)
			fprintf(stderr, "kdp-cni %s (status %d, want code %d) "
				"netconf \"%.300s\" CNI_ARGS \"%s\"\n  stdout: "
				"%.400s\n  stderr: %.2000s\n", cmd ? cmd : "-",
				st, want, conf, ec->args, out, err);
		free(err);
	}
	cJSON_Delete(j);
	free(out);
}

/* A random run that never reaches kdp or an API server: ADD and CHECK
 * stop at the missing network namespace at the latest. */
static void random_plugin(const char *conf, struct env_case *ec)
{
	static const char *const cmds[] = {"ADD", "CHECK", "VERSION", "", NULL,
					   "BOGUS", "add"};
	const char *cmd = PICK(cmds);
	char ns[256], name[256];
	int want;

	ec->var[2] = rand() % 8 ? "/nonexistent/kdp-cni-fuzz" : NULL;
	ec->command = cmd && (!strcmp(cmd, "ADD") || !strcmp(cmd, "CHECK")) ?
		      cmd : "ADD";
	if (cmd == NULL || cmd[0] == '\0')
		want = CNI_ERR_ENV;
	else if (strcmp(cmd, "VERSION") == 0)
		want = 0;
	else if ((want = spec_conf(conf)) != 0)
		;
	else if (strcmp(cmd, "ADD") && strcmp(cmd, "CHECK"))
		want = CNI_ERR_ENV;
	else if (!spec_env(ec, ns, name))
		want = CNI_ERR_ENV;
	else
		want = CNI_ERR_CONTAINER; /* no such netns */
	check_plugin(cmd, ec, conf, want);
}

/* ------------------------------------------------------------ the cases */

/* The bugs this test found, cut down: each netconf was taken. */
static const struct {
	const char *json;
	int code;
} conf_cases[] = {
	/* text after the object was ignored */
	{"{'cniVersion':'1.0.0','name':'k'} {'mtu':1}", CNI_ERR_DECODE},
	{"{'cniVersion':'1.0.0','name':'k'}}", CNI_ERR_DECODE},
	/* an MTU that is no integer was cut to one */
	{"{'cniVersion':'1.0.0','name':'k','mtu':1400.5}", CNI_ERR_NETCONF},
};

/* The bugs this test found: each environment was taken. */
static const struct env_case env_cases[] = {
	/* a container id naming another directory: DEL removes
	 * <vhost_share_dir>/<id>.json */
	{"DEL", {"../../../etc/x", "eth0", NULL}, "", false},
	{"ADD", {"a/b", "eth0", "/n"}, "K8S_POD_NAMESPACE=a;K8S_POD_NAME=b",
	 true},
	/* pod names that are no Kubernetes names, put into API paths and
	 * kdp's "ns/name" */
	{"ADD", {"abc", "eth0", "/n"},
	 "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=../../nodes/n1", true},
	{"CHECK", {"abc", "eth0", "/n"},
	 "K8S_POD_NAMESPACE=a/b;K8S_POD_NAME=c", true},
	/* a value too long for the buffer was dropped without a word (DEL
	 * went on without removing the port) */
	{"DEL", {"abc", "eth0", NULL}, "K8S_POD_NAMESPACE=%300;"
	 "K8S_POD_NAME=x", true},
	/* a pair that is no KEY=VALUE was skipped */
	{"ADD", {"abc", "eth0", "/n"},
	 "K8S_POD_NAMESPACE=a;K8S_POD_NAME;K8S_POD_NAME=b", true},
	/* "if the plugin is unable to use this interface name it must
	 * return an error" */
	{"ADD", {"abc", "a/b", "/n"}, "K8S_POD_NAMESPACE=a;K8S_POD_NAME=b",
	 true},
	{"ADD", {"abc", "a234567890123456", "/n"},
	 "K8S_POD_NAMESPACE=a;K8S_POD_NAME=b", true},
};

static void test_cases(void)
{
	for (size_t i = 0; i < DIM(conf_cases); i++) {
		char *t = tdq(conf_cases[i].json), err[256] = "";
		struct cni_conf c;
		int code = cni_conf_parse(t, &c, err, sizeof(err));

		if (code != conf_cases[i].code) {
			fprintf(stderr, "netconf case %zu: %s\n  code %d, not "
				"%d\n", i, t, code, conf_cases[i].code);
			check_failures++;
		}
		cni_conf_free(&c);
		check_conf(t);
		if (cni_bin)
			check_plugin("ADD", &env_cases[1], t,
				     conf_cases[i].code);
		free(t);
	}
	for (size_t i = 0; i < DIM(env_cases); i++) {
		struct env_case ec = env_cases[i];
		struct cni_env e = {.command = ec.command};
		char err[256] = "";
		int code;

		/* %300: a namespace of 300 letters */
		if (strncmp(ec.args, "K8S_POD_NAMESPACE=%300", 22) == 0) {
			char *l = fuzz_long_str(300);

			snprintf(ec.args, sizeof(ec.args), "K8S_POD_NAMESPACE="
				 "%s%s", l, env_cases[i].args + 22);
			free(l);
		}
		set_env(&ec);
		code = cni_env_parse(&e, err, sizeof(err));
		if (code != CNI_ERR_ENV) {
			fprintf(stderr, "env case %zu: %s %s %s\n  code %d, "
				"not 4\n", i, ec.command, ec.var[0], ec.args,
				code);
			check_failures++;
		}
		check_env(&ec);
		if (cni_bin && strcmp(ec.command, "DEL") != 0) {
			ec.var[2] = "/nonexistent/kdp-cni-fuzz";
			check_plugin(ec.command, &ec, "{\"cniVersion\":"
				     "\"1.0.0\",\"name\":\"k\"}", CNI_ERR_ENV);
		}
	}
	/* a runtime's container id, and the longest names, are valid */
	struct env_case ok = {"ADD", {cids[0], "eth0", "/n"}, "", true};

	snprintf(ok.args, sizeof(ok.args), "K8S_POD_NAMESPACE=%s;"
		 "K8S_POD_NAME=%s", label63, name253);
	check_env(&ok);
	CHECK(envs_ok == 1);
}

static void fill(char *s, size_t n, size_t label)
{
	for (size_t i = 0; i < n; i++)
		s[i] = label && i % (label + 1) == label ? '.' : 'a';
	s[n] = '\0';
}

int main(void)
{
	unsigned int seed = fuzz_env("CNI_SEED", 1);
	unsigned int iters = fuzz_env("CNI_ITERS", 20000);
	/* forks of the plugin: a few milliseconds each */
	unsigned int plugin_runs = fuzz_env("CNI_RUNS", 40);
	cJSON *base[DIM(seeds)];
	char cmd[96];

	if (regcomp(&re_cid, "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
		    REG_EXTENDED | REG_NOSUB) ||
	    regcomp(&re_label, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
		    REG_EXTENDED | REG_NOSUB) ||
	    regcomp(&re_subdomain, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
		    "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
		    REG_EXTENDED | REG_NOSUB))
		abort();
	fill(name253, 253, 63);
	fill(name254, 254, 63);
	fill(label63, 63, 0);
	fill(label64, 64, 0);
	fill(cid127, 127, 0);
	fill(cid128, 128, 0);
	cni_bin = getenv("KDP_CNI");
	if (cni_bin == NULL || access(cni_bin, X_OK) != 0) {
		printf("no $KDP_CNI: the plugin itself is not run\n");
		cni_bin = NULL;
	}
	strcpy(tmpdir, "/tmp/kdp-cni-fuzz-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	test_cases();
	srand(seed);
	for (size_t i = 0; i < DIM(seeds); i++) {
		base[i] = tj(seeds[i]);
		char *t = cJSON_PrintUnformatted(base[i]);

		check_conf(t);
		free(t);
	}
	confs_ok = envs_ok = 0;
	for (unsigned int it = 0; it < iters; it++) {
		cJSON *j = cJSON_Duplicate(base[rand() % (int)DIM(seeds)],
					   true);
		struct env_case ec;
		char *t;

		for (int m = rand() % 3; m >= 0; m--) {
			cJSON *parent, *it = jf_pick(j, &parent);

			if (it)
				jf_mutate(parent, it, random_value, random_key,
					  "0.1/ -aZ");
		}
		t = cJSON_PrintUnformatted(j);
		if (t == NULL)
			abort();
		if (rand() % 4 == 0)
			t = fuzz_text_edit(t);
		check_conf(t);
		gen_env(&ec);
		check_env(&ec);
		if (cni_bin && it % (iters / plugin_runs + 1) == 0)
			random_plugin(t, &ec);
		free(t);
		cJSON_Delete(j);
	}
	printf("cni fuzz: %u netconfs, %u valid; %u environments, %u valid; "
	       "%u plugin runs (seed %u)\n", iters, confs_ok, iters, envs_ok,
	       runs, seed);
	/* The mutations are not all refused, nor all harmless. */
	CHECK(confs_ok > iters / 20 && confs_ok < iters - iters / 20);
	CHECK(envs_ok > iters / 20 && envs_ok < iters - iters / 20);
	for (size_t i = 0; i < DIM(seeds); i++)
		cJSON_Delete(base[i]);
	regfree(&re_cid);
	regfree(&re_label);
	regfree(&re_subdomain);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	CHECK_DONE();
}
