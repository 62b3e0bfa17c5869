/* SPDX-License-Identifier: BSD-3-Clause */
/* File datastore: initial load, inotify-driven reloads, broken files,
 * random edits against a model. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "control/ds.h"
#include "control/store.h"
#include "k8s/decode.h"
#include "tests/unit/ctl_check.h"

static char dir[] = "/tmp/kdp-file-ds-XXXXXX";

/* Write @p json (single quotes become double quotes) to dir/name. */
static void write_file(const char *name, const char *json)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	for (const char *p = json; *p; p++)
		fputc(*p == '\'' ? '"' : *p, f);
	fclose(f);
}

/* Write through a temporary and rename, like editors and kubectl do. */
static void replace_file(const char *name, const char *json)
{
	char from[512], to[512];

	write_file(".tmp-write", json);
	snprintf(from, sizeof(from), "%s/.tmp-write", dir);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if (rename(from, to) < 0) {
		perror(to);
		exit(2);
	}
}

static void remove_file(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_file(de->d_name);
	if (d)
		closedir(d);
	rmdir(dir);
}

static const struct ctl_node *node(struct ctl_store *st, const char *name)
{
	return ctl_store_get(st, CTL_RES_NODE, NULL, name);
}

static const struct ctl_pool *pool(struct ctl_store *st, const char *name)
{
	return ctl_store_get(st, CTL_RES_IPPOOL, NULL, name);
}

/*
 * Random edits of five files, each write of up to four Namespaces of its
 * own (wN-nsJ, N the write, label v): written in place or through a
 * rename, broken,
 * emptied, deleted, renamed over one another, one to three edits between
 * polls. After each poll the store holds, for every file name, the last
 * good content polling found there (a broken or empty file keeps it; a
 * deleted name loses it), and nothing else.
 */
#define NF 5
#define NNS 4

struct fcontent {
	enum { F_NONE, F_GOOD, F_BROKEN, F_EMPTY } kind;
	unsigned int mask;     /* F_GOOD: which namespaces */
	unsigned int v[NNS];   /* and their label values */
	unsigned int owner;    /* the write that made them: names never
				* meet in two files, renames included */
};

static void content_json(const struct fcontent *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{'kind':'List','apiVersion':'v1','items':[");
	bool first = true;

	for (unsigned int j = 0; j < NNS; j++) {
		if (!(c->mask & (1u << j)))
			continue;
		n += snprintf(buf + n, len - (size_t)n,
			      "%s{'apiVersion':'v1','kind':'Namespace','metadata':"
			      "{'name':'w%u-ns%u','labels':{'v':'%u'}}}",
			      first ? "" : ",", c->owner, j, c->v[j]);
		first = false;
	}
	snprintf(buf + n, len - (size_t)n, "]}");
}

/* The store holds the union of the files' good contents: a name in two
 * files (content renamed away while the old name kept its last good one)
 * once, with either file's label. */
static int check_store(struct ctl_store *st, const struct fcontent *good,
		       int step)
{
	unsigned int owner[NF * NNS], j_of[NF * NNS], v[NF * NNS];
	size_t n = 0, want = 0;
	int bad = 0;

	for (unsigned int i = 0; i < NF; i++)
		for (unsigned int j = 0; good[i].kind == F_GOOD && j < NNS; j++)
			if (good[i].mask & (1u << j)) {
				owner[n] = good[i].owner;
				j_of[n] = j;
				v[n++] = good[i].v[j];
			}
	for (size_t k = 0; k < n; k++) {
		char name[32];
		bool first = true, label_ok = false;
		const struct ctl_namespace *ns;

		for (size_t q = 0; q < k; q++)
			first = first && !(owner[q] == owner[k] &&
					   j_of[q] == j_of[k]);
		if (!first)
			continue;
		want++;
		snprintf(name, sizeof(name), "w%u-ns%u", owner[k], j_of[k]);
		ns = ctl_store_get(st, CTL_RES_NAMESPACE, NULL, name);
		for (size_t q = k; ns && q < n; q++) {
			const char *l = ctl_labels_get(&ns->labels, "v");

			label_ok = label_ok ||
				   (owner[q] == owner[k] && j_of[q] == j_of[k] &&
				    l && (unsigned int)atoi(l) == v[q]);
		}
		if (!label_ok) {
			fprintf(stderr, "step %d: %s %s\n", step, name,
				ns ? "has another label" : "missing");
			bad++;
		}
	}
	if (ctl_store_count(st, CTL_RES_NAMESPACE) != want) {
		fprintf(stderr, "step %d: %zu namespaces, want %zu\n", step,
			ctl_store_count(st, CTL_RES_NAMESPACE), want);
		bad++;
	}
	return bad;
}

static void test_random(void)
{
	struct ctl_store *st = ctl_store_create();
	struct fcontent cur[NF] = {0}, good[NF] = {0};
	char buf[2048];
	int bad = 0;

	k8s_decode_register(st);
	strcpy(dir, "/tmp/kdp-file-ds-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	struct ctl_ds *ds = k8s_file_ds_create(dir, st);
	CHECK(ds != NULL);
	srand(getenv("FDS_SEED") ? (unsigned int)atoi(getenv("FDS_SEED")) : 5);
	for (int step = 0; ds && step < 300 && !bad; step++) {
		for (int e = 1 + rand() % 3; e > 0; e--) {
			unsigned int i = (unsigned int)rand() % NF;
			char name[16], other[16];
			int op = rand() % 10;

			snprintf(name, sizeof(name), "f%u.json", i);
			if (op < 5) {
				struct fcontent c = {.kind = F_GOOD,
						     .owner = (unsigned)step * 4 +
							      (unsigned)e,
						     .mask = (unsigned)rand() % 16};

				for (unsigned int j = 0; j < NNS; j++)
					c.v[j] = (unsigned int)rand() % 3;
				content_json(&c, buf, sizeof(buf));
				if (rand() % 2)
					write_file(name, buf);
				else
					replace_file(name, buf);
				cur[i] = c;
			} else if (op < 6) {
				write_file(name, "{'kind':'List','items':[");
				cur[i] = (struct fcontent){.kind = F_BROKEN};
			} else if (op < 7) {
				write_file(name, "");
				cur[i] = (struct fcontent){.kind = F_EMPTY};
			} else if (op < 8) {
				remove_file(name);
				cur[i] = (struct fcontent){0};
			} else {
				/* renamed over fK: fK is now what fI was */
				unsigned int k = (i + 1 + (unsigned)rand() % (NF - 1)) % NF;
				char from[512], to[512];

				if (cur[i].kind == F_NONE)
					continue;
				snprintf(other, sizeof(other), "f%u.json", k);
				snprintf(from, sizeof(from), "%s/%s", dir, name);
				snprintf(to, sizeof(to), "%s/%s", dir, other);
				if (rename(from, to) < 0) {
					perror(to);
					exit(2);
				}
				cur[k] = cur[i];
				cur[i] = (struct fcontent){0};
			}
		}
		/* The edits' events are queued: a poll takes them in; a
		 * second, timing out, finds nothing more. */
		for (int p = 0; p < 2; p++)
			ds->ops->poll(ds, 5);
		/* What the datastore saw: each name's content now. A broken
		 * or empty one keeps the last good content polling saw (not
		 * one written and overwritten between two polls). */
		for (unsigned int i = 0; i < NF; i++)
			if (cur[i].kind == F_GOOD || cur[i].kind == F_NONE)
				good[i] = cur[i];
		bad += check_store(st, good, step);
	}
	CHECK(bad == 0);
	if (ds)
		ds->ops->destroy(ds);
	remove_dir();
	ctl_store_free(st);
}

int main(void)
{
	struct ctl_store *st = ctl_store_create();
	struct rte_tel_data *td;
	struct ctl_ds *ds;
	uint64_t gen;

	k8s_decode_register(st);
	errno = 0;
	CHECK(k8s_file_ds_create("/nonexistent/kdp", st) == NULL && errno == ENOENT);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}

	/* a NodeList whose items omit kind/apiVersion */
	write_file("nodes.json",
		   "{'kind':'NodeList','apiVersion':'v1','metadata':{'resourceVersion':'1'},'items':["
		   "{'metadata':{'name':'n1','annotations':{'projectcalico.org/IPv4Address':'192.168.10.11/24'}}},"
		   "{'metadata':{'name':'n2'},'status':{'addresses':[{'type':'InternalIP','address':'192.168.10.12'}]}}]}");
	write_file("pool.json",
		   "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPPool','metadata':{'name':'p'},"
		   "'spec':{'cidr':'10.244.0.0/16','ipipMode':'Always'}}");
	/* a generic List: items name their own kinds; unknown kinds ignored */
	write_file("calico.json",
		   "{'kind':'List','apiVersion':'v1','items':["
		   "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPAMBlock','metadata':{'name':'b'},"
		   "'spec':{'cidr':'10.244.1.0/26','affinity':'host:n1'}},"
		   "{'apiVersion':'crd.projectcalico.org/v1','kind':'BlockAffinity','metadata':{'name':'a'},"
		   "'spec':{'cidr':'10.244.1.0/26','node':'n1','state':'confirmed','deleted':'false'}},"
		   "{'apiVersion':'v1','kind':'Service','metadata':{'name':'svc','namespace':'x'}}]}");
	write_file("pods.json",
		   "{'kind':'PodList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'web','namespace':'default'},'spec':{'nodeName':'n1'},'status':{'podIP':'10.244.1.5'}}]}");
	/* ignored: dotfiles and other extensions */
	write_file(".hidden.json", "{'apiVersion':'v1','kind':'Node','metadata':{'name':'hidden'}}");
	write_file("notes.txt", "{'apiVersion':'v1','kind':'Node','metadata':{'name':'txt'}}");

	ds = k8s_file_ds_create(dir, st);
	CHECK(ds != NULL);
	if (ds == NULL) {
		remove_dir();
		ctl_store_free(st);
		CHECK_DONE();
	}
	CHECK_STR(ds->ops->type, "file");
	CHECK(ds->ops->synced(ds));
	CHECK_EQ(ctl_store_count(st, CTL_RES_NODE), 2);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPPOOL), 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPAMBLOCK), 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_BLOCKAFFINITY), 1);
	CHECK_EQ(ctl_store_count(st, CTL_RES_POD), 1);
	CHECK(node(st, "n1") && node(st, "n1")->ip == IP4(192, 168, 10, 11));
	CHECK(node(st, "n2") && node(st, "n2")->ip == IP4(192, 168, 10, 12));
	CHECK(node(st, "hidden") == NULL && node(st, "txt") == NULL);

	/* nothing changed: poll times out, nothing happens */
	gen = ctl_store_generation(st);
	CHECK_EQ(ds->ops->poll(ds, 10), 0);
	CHECK_EQ(ctl_store_generation(st), gen);

	/* edit in place: n2 removed from the list, n1 moved */
	write_file("nodes.json",
		   "{'kind':'NodeList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'n1','annotations':{'projectcalico.org/IPv4Address':'192.168.10.21/24'}}}]}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_NODE), 1);
	CHECK(node(st, "n2") == NULL);
	CHECK(node(st, "n1") && node(st, "n1")->ip == IP4(192, 168, 10, 21));

	/* two same-size writes in a row: the second one still counts */
	write_file("nodes.json",
		   "{'kind':'NodeList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'n1','annotations':{'projectcalico.org/IPv4Address':'192.168.10.22/24'}}}]}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	write_file("nodes.json",
		   "{'kind':'NodeList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'n1','annotations':{'projectcalico.org/IPv4Address':'192.168.10.23/24'}}}]}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK(node(st, "n1") && node(st, "n1")->ip == IP4(192, 168, 10, 23));

	/* a broken file keeps its objects' last good state */
	gen = ctl_store_generation(st);
	replace_file("pool.json", "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPPool',");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK(pool(st, "p") && pool(st, "p")->net == IP4(10, 244, 0, 0));
	CHECK_EQ(ctl_store_generation(st), gen);
	/* other files still apply meanwhile */
	write_file("extra.json", "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'prod'}}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_NAMESPACE), 1);
	CHECK(pool(st, "p") != NULL);
	/* fixed: the new content applies */
	replace_file("pool.json",
		     "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPPool','metadata':{'name':'p'},"
		     "'spec':{'cidr':'10.250.0.0/16'}}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK(pool(st, "p") && pool(st, "p")->net == IP4(10, 250, 0, 0));

	/* a rejected object keeps its previous version too */
	write_file("pods.json",
		   "{'kind':'PodList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'web','namespace':'default'},'spec':{'nodeName':'n1'},'status':{'podIP':'bogus'}}]}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_POD), 1);
	{
		const struct ctl_pod *p = ctl_store_get(st, CTL_RES_POD, "default", "web");

		CHECK(p && p->n_ips == 1 && p->ips[0] == IP4(10, 244, 1, 5));
	}
	/* and so does one whose string holds U+0000: cJSON alone would read
	 * the pod IP as 10.244.1.9, a value the API server never had */
	write_file("pods.json",
		   "{'kind':'PodList','apiVersion':'v1','items':["
		   "{'metadata':{'name':'web','namespace':'default'},'spec':{'nodeName':'n1'},"
		   "'status':{'podIP':'10.244.1.9\\u0000.7'}},"
		   "{'metadata':{'name':'db','namespace':'default'},'spec':{'nodeName':'n1'},"
		   "'status':{'podIP':'10.244.1.6'}}]}");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_POD), 2);
	{
		const struct ctl_pod *p = ctl_store_get(st, CTL_RES_POD, "default", "web");
		const struct ctl_pod *q = ctl_store_get(st, CTL_RES_POD, "default", "db");

		CHECK(p && p->n_ips == 1 && p->ips[0] == IP4(10, 244, 1, 5));
		CHECK(q && q->n_ips == 1 && q->ips[0] == IP4(10, 244, 1, 6));
	}
	/* a raw NUL byte: not JSON, the file keeps its last good state */
	write_file("pods.json", "{'kind':'PodList','apiVersion':'v1','items':[]}");
	{
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/pods.json", dir);
		f = fopen(path, "r+");
		CHECK(f != NULL);
		if (f != NULL) {
			fseek(f, 10, SEEK_SET); /* inside "PodList" */
			fputc('\0', f);
			fclose(f);
		}
	}
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_POD), 2);

	/* deleting a file deletes its objects */
	remove_file("calico.json");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_IPAMBLOCK), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_BLOCKAFFINITY), 0);
	CHECK_EQ(ctl_store_count(st, CTL_RES_NODE), 1);

	/* a deleted broken file loses its last good state as well */
	replace_file("pool.json", "not json");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK(pool(st, "p") != NULL);
	remove_file("pool.json");
	CHECK_EQ(ds->ops->poll(ds, 1000), 0);
	CHECK(pool(st, "p") == NULL);

	/* editor temporaries do not trigger anything */
	gen = ctl_store_generation(st);
	write_file(".nodes.json.swp", "garbage");
	write_file("nodes.json~", "garbage");
	CHECK_EQ(ds->ops->poll(ds, 10), 0);
	CHECK_EQ(ctl_store_generation(st), gen);

	td = rte_tel_data_alloc();
	CHECK(td != NULL);
	if (td != NULL) {
		ds->ops->status(ds, td);
		rte_tel_data_free(td);
	}

	ds->ops->destroy(ds);
	remove_dir();
	ctl_store_free(st);
	test_random();
	CHECK_DONE();
}
