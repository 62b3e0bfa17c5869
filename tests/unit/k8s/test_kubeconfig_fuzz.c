/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * k8s/kubeconfig.c against bad kubeconfig files. Valid kubeconfigs (one to
 * three clusters, users and contexts, with inline *-data or files, tokens,
 * flags) are built as a tree and mutated at random: a key deleted, renamed
 * or given twice; a value of another kind (a sequence for a mapping, a
 * null), wrapped one level deeper, or shared with another place through an
 * anchor and aliases; names that match nothing; *-data that is not base64;
 * a server that is no URL; exec and auth-provider users; long strings; now
 * and then a top level that is no mapping. A quarter are split into two
 * files loaded as a $KUBECONFIG list. Each file is written as block YAML
 * (some collections in flow style), flow YAML or JSON, and loaded.
 * resolve() reads the tree the way kubeconfig.h documents it (the first
 * file, key or entry of a name wins, as kubeconfig.c looks up), and the
 * connection must be the one it expects: the same server, blobs, files,
 * token and flags, or -EINVAL with a message. A quarter of the loads have
 * a file edited as text (cut short, bytes changed, tabs, brackets
 * thousands deep): those must load, with an http(s) server, or fail with
 * -EINVAL and a message. Under ASan/UBSan (the unit suite's second run) a
 * leak or overflow fails the run too. Fixed cases first: the bugs this
 * test found.
 *
 * KC_SEED=N and KC_ITERS=N replay or lengthen a run.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "dp/log.h"
#include "k8s/kubeconfig.h"
#include "test.h"
#include "tests/unit/fuzz.h"

enum tk { T_STR, T_NULL, T_MAP, T_SEQ };

/* A YAML node. Nodes may be shared (written once with an anchor, then as
 * aliases); all live in the arena, freed together. */
struct tn {
	enum tk k;
	char *s;         /* T_STR */
	struct tn **kid; /* T_MAP: key, value, key, value…; T_SEQ: items */
	size_t n;
	unsigned int uses;  /* references, counted before writing */
	unsigned int anchor; /* while writing: its anchor once written */
};

static struct tn **arena;
static size_t n_arena, cap_arena;

static struct tn *tn_new(enum tk k, const char *s)
{
	struct tn *t = calloc(1, sizeof(*t));

	if (n_arena == cap_arena) {
		cap_arena = cap_arena ? cap_arena * 2 : 256;
		arena = realloc(arena, cap_arena * sizeof(*arena));
	}
	if (t == NULL || arena == NULL || (s && (t->s = strdup(s)) == NULL))
		abort();
	t->k = k;
	arena[n_arena++] = t;
	return t;
}

static void arena_free(void)
{
	for (size_t i = 0; i < n_arena; i++) {
		free(arena[i]->s);
		free(arena[i]->kid);
		free(arena[i]);
	}
	n_arena = 0;
}

static void tn_add(struct tn *c, struct tn *kid)
{
	c->kid = realloc(c->kid, (c->n + 1) * sizeof(*c->kid));
	if (c->kid == NULL)
		abort();
	c->kid[c->n++] = kid;
}

static void tn_put(struct tn *m, const char *key, struct tn *v)
{
	tn_add(m, tn_new(T_STR, key));
	tn_add(m, v);
}

static struct tn *tn_copy(const struct tn *t)
{
	struct tn *c = tn_new(t->k, t->s);

	for (size_t i = 0; i < t->n; i++)
		tn_add(c, tn_copy(t->kid[i]));
	return c;
}

/* ---- what kubeconfig.h says ---- */

/* The value of the first @p key of mapping @p m, as kubeconfig.c looks. */
static struct tn *get(const struct tn *m, const char *key)
{
	for (size_t i = 0; m && m->k == T_MAP && i < m->n; i += 2)
		if (m->kid[i]->k == T_STR && strcmp(m->kid[i]->s, key) == 0)
			return m->kid[i + 1];
	return NULL;
}

/* A string value; a YAML null is none. */
static const char *str(const struct tn *m, const char *key)
{
	const struct tn *v = get(m, key);

	return v && v->k == T_STR ? v->s : NULL;
}

/* The files of a load, in priority order. */
struct kc {
	struct tn *root[2];
	size_t n;
};

/* The @p inner body of the first entry named @p name in the @p list
 * sequences of the files (the entry itself when it has none). */
static struct tn *named(const struct kc *kc, const char *list,
			const char *name, const char *inner)
{
	for (size_t f = 0; name && f < kc->n; f++) {
		const struct tn *seq = get(kc->root[f], list);

		for (size_t i = 0; seq && seq->k == T_SEQ && i < seq->n; i++) {
			const char *n = str(seq->kid[i], "name");

			if (n && strcmp(n, name) == 0)
				return get(seq->kid[i], inner) ?: seq->kid[i];
		}
	}
	return NULL;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64, whitespace ignored, '=' only as the last one or two
 * characters. -1 if not that, or empty. */
static int b64_decode(const char *in, struct k8s_blob *out)
{
	size_t n = 0, pad = 0, len = strlen(in);
	char *q = malloc(len + 1);
	unsigned char *o = malloc(len / 4 * 3 + 1);
	uint32_t acc = 0;

	if (q == NULL || o == NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)in[i]))
			q[n++] = in[i];
	while (pad < n && pad < 2 && q[n - 1 - pad] == '=')
		pad++;
	out->len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = q[i] ? strchr(b64, q[i]) : NULL;

		if (d == NULL && !(q[i] == '=' && i >= n - pad))
			goto bad;
		acc = acc << 6 | (uint32_t)(d ? d - b64 : 0);
		if (i % 4 == 3) {
			o[out->len++] = (unsigned char)(acc >> 16);
			o[out->len++] = (unsigned char)(acc >> 8);
			o[out->len++] = (unsigned char)acc;
		}
	}
	if (n == 0 || n % 4 != 0)
		goto bad;
	free(q);
	out->len -= pad;
	out->data = (char *)o;
	return 0;
bad:
	free(q);
	free(o);
	return -1;
}

static void b64_encode(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 |
			     (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		*out++ = b64[v >> 18];
		*out++ = b64[v >> 12 & 63];
		*out++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*out = '\0';
}

/* yaml.v2's true, as client-go reads insecure-skip-tls-verify. */
static bool yes(const char *v)
{
	static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes",
		"YES", "on", "On", "ON", "y", "Y"};

	for (size_t i = 0; v && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(v, t[i]) == 0)
			return true;
	return false;
}

static char dir[64], files[2][96];

static char *resolved(const char *p)
{
	char *r;

	if (p == NULL)
		return NULL;
	if (asprintf(&r, "%s%s%s", p[0] == '/' ? "" : dir,
		     p[0] == '/' ? "" : "/", p) < 0)
		abort();
	return r;
}

/* The inline @p data field of @p m if set (0, or -1: not base64), else
 * the @p path field resolved. */
static int data_or_file(const struct tn *m, const char *data,
			const char *path, struct k8s_blob *blob, char **file_)
{
	const char *d = str(m, data);

	if (d)
		return b64_decode(d, blob);
	*file_ = resolved(str(m, path));
	return 0;
}

/* The connection the files describe, or -EINVAL. */
static int resolve(const struct kc *kc, struct k8s_conn *w)
{
	const struct tn *ctx, *cl, *us = NULL;
	const char *cur = NULL, *cname, *uname, *server;
	size_t len;

	memset(w, 0, sizeof(*w));
	for (size_t f = 0; f < kc->n; f++)
		if (kc->root[f]->k != T_MAP)
			return -EINVAL;
	for (size_t f = 0; f < kc->n && cur == NULL; f++)
		cur = str(kc->root[f], "current-context");
	ctx = named(kc, "contexts", cur, "context");
	cname = str(ctx, "cluster");
	uname = str(ctx, "user");
	cl = named(kc, "clusters", cname, "cluster");
	if (uname)
		us = named(kc, "users", uname, "user");
	if (cl == NULL || (uname && us == NULL))
		return -EINVAL;
	/* "https://host…" or "http://host…": a URL with a host */
	server = str(cl, "server");
	len = server == NULL ? 0 : strncmp(server, "https://", 8) == 0 ? 8 :
		strncmp(server, "http://", 7) == 0 ? 7 : 0;
	if (len == 0 || server[len] == '\0' || server[len] == '/')
		return -EINVAL;
	w->server = strdup(server);
	for (len = strlen(w->server); w->server[len - 1] == '/'; len--)
		w->server[len - 1] = '\0';
	w->insecure = yes(str(cl, "insecure-skip-tls-verify"));
	w->tls_server_name = str(cl, "tls-server-name") ?
		strdup(str(cl, "tls-server-name")) : NULL;
	if (data_or_file(cl, "certificate-authority-data",
			 "certificate-authority", &w->ca, &w->ca_file))
		return -EINVAL;
	if (us && (get(us, "exec") || get(us, "auth-provider")))
		return -EINVAL;
	if (us && (data_or_file(us, "client-certificate-data",
				"client-certificate", &w->cert,
				&w->cert_file) ||
		   data_or_file(us, "client-key-data", "client-key", &w->key,
				&w->key_file)))
		return -EINVAL;
	if (us && str(us, "token"))
		w->token = strdup(str(us, "token"));
	else if (us)
		w->token_file = resolved(str(us, "tokenFile"));
	w->ns = str(ctx, "namespace") ? strdup(str(ctx, "namespace")) : NULL;
	return 0;
}

/* ---- writing ---- */

enum style { BLOCK, FLOW, JSON };

/* Letters, digits and "._/-" (no ':' or '=', no leading '-') need no
 * quotes anywhere, but for "null", which a plain scalar would mean. */
static bool plain_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]) || strcmp(s, "null") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._/-", *s))
			return false;
	return true;
}

static void put_str(FILE *f, const char *s, enum style st)
{
	if (st != JSON && plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	fputc('"', f);
}

static unsigned int anchors;

/* An anchor or alias before a shared node. @return true if it was
 * written already: the alias is all. */
static bool put_anchor(FILE *f, struct tn *t, enum style st)
{
	if (st == JSON || t->uses < 2)
		return false;
	if (t->anchor) {
		fprintf(f, "*a%u", t->anchor);
		return true;
	}
	t->anchor = ++anchors;
	fprintf(f, "&a%u ", t->anchor);
	return false;
}

static void put_flow(FILE *f, struct tn *t, enum style st)
{
	if (put_anchor(f, t, st))
		return;
	if (t->k == T_STR)
		put_str(f, t->s, st);
	else if (t->k == T_NULL)
		fputs(st == JSON || rand() % 2 ? "null" : "~", f);
	else
		fputc(t->k == T_MAP ? '{' : '[', f);
	for (size_t i = 0; i < t->n; i++) {
		bool key = t->k == T_MAP && i % 2 == 0;

		if (i)
			fputs(key || t->k == T_SEQ ? ", " : ": ", f);
		put_flow(f, t->kid[i], st);
	}
	if (t->k == T_MAP || t->k == T_SEQ)
		fputc(t->k == T_MAP ? '}' : ']', f);
}

/* @p t after "key:" or "-", its lines indented by @p ind. */
static void put_block(FILE *f, struct tn *t, int ind)
{
	bool nested = (t->k == T_MAP || t->k == T_SEQ) && t->n &&
		      rand() % 4 != 0;

	fputc(' ', f);
	if (t->uses > 1 && t->anchor) {
		put_anchor(f, t, BLOCK);
		fputc('\n', f);
		return;
	}
	if (!nested) {
		/* T_NULL: "key: ~", "key: null" or "key:" alone */
		if (t->k == T_NULL && rand() % 3 == 0)
			put_anchor(f, t, BLOCK);
		else
			put_flow(f, t, FLOW);
		fputc('\n', f);
		return;
	}
	put_anchor(f, t, BLOCK);
	fputc('\n', f);
	for (size_t i = 0; i < t->n; i++) {
		fprintf(f, "%*s", ind, "");
		if (t->k == T_SEQ) {
			fputc('-', f);
		} else {
			put_str(f, t->kid[i++]->s, BLOCK);
			fputc(':', f);
		}
		put_block(f, t->kid[i], ind + 2);
	}
}

static void count_uses(struct tn *t)
{
	if (t->uses++)
		return;
	t->anchor = 0;
	for (size_t i = 0; i < t->n; i++)
		count_uses(t->kid[i]);
}

/* @p root as a kubeconfig file in style @p st: a malloc'd text. */
static char *write_tree(struct tn *root, enum style st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	for (size_t i = 0; i < n_arena; i++)
		arena[i]->uses = 0;
	count_uses(root);
	anchors = 0;
	if (st == BLOCK && root->k == T_MAP) {
		for (size_t i = 0; i < root->n; i += 2) {
			put_str(f, root->kid[i]->s, BLOCK);
			fputc(':', f);
			put_block(f, root->kid[i + 1], 2);
		}
	} else {
		put_flow(f, root, st);
		fputc('\n', f);
	}
	fclose(f);
	return buf;
}

/* ---- valid trees and mutations ---- */

static const char *const servers[] = {
	"https://10.0.0.1:6443", "https://kube.example:443/",
	"http://127.0.0.1:8080", "https://[fd00::1]:6443//",
	"https://h/prefix/",
};

static char *random_b64(void)
{
	unsigned char raw[300];
	size_t n = 1 + (size_t)rand() % 200, j = 0;
	char enc[404], *out = malloc(2 * sizeof(enc));

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		raw[i] = (unsigned char)rand();
	b64_encode(raw, n, enc);
	/* wrapped as base64 -w does, or with other whitespace */
	for (size_t i = 0; enc[i]; i++) {
		if (i && rand() % 40 == 0)
			out[j++] = " \n\t\r"[rand() % 4];
		out[j++] = enc[i];
	}
	out[j] = '\0';
	return out;
}

static struct tn *s_(const char *s)
{
	return tn_new(T_STR, s);
}

static struct tn *data_node(void)
{
	char *b = random_b64();
	struct tn *t = s_(b);

	free(b);
	return t;
}

static struct tn *entry(const char *name, const char *inner, struct tn *body)
{
	struct tn *e = tn_new(T_MAP, NULL);

	tn_put(e, "name", s_(name));
	tn_put(e, inner, body);
	return e;
}

static struct tn *gen_valid(void)
{
	static const char *const cn[] = {"c0", "c1", "c2"},
		*const un[] = {"u0", "u1"}, *const xn[] = {"x0", "x1", "x2"};
	struct tn *root = tn_new(T_MAP, NULL), *seq;
	int ncl = 1 + rand() % 3, nus = rand() % 3, nx = 1 + rand() % 3;

	if (rand() % 2)
		tn_put(root, "current-context", s_(xn[rand() % nx]));
	tn_put(root, "apiVersion", s_("v1"));
	tn_put(root, "kind", s_("Config"));
	tn_put(root, "preferences", tn_new(T_MAP, NULL));
	seq = tn_new(T_SEQ, NULL);
	for (int i = 0; i < ncl; i++) {
		struct tn *c = tn_new(T_MAP, NULL);

		tn_put(c, "server", s_(servers[rand() % RTE_DIM(servers)]));
		if (rand() % 2)
			tn_put(c, "certificate-authority-data", data_node());
		if (rand() % 2)
			tn_put(c, "certificate-authority",
			       s_(rand() % 2 ? "pki/ca.crt" : "/etc/ca.crt"));
		if (rand() % 2)
			tn_put(c, "insecure-skip-tls-verify",
			       s_(rand() % 2 ? "true" : "no"));
		if (rand() % 4 == 0)
			tn_put(c, "tls-server-name", s_("kubernetes.default"));
		if (rand() % 8 == 0)
			tn_put(c, "proxy-url", s_("http://proxy:3128"));
		tn_add(seq, entry(cn[i], "cluster", c));
	}
	tn_put(root, "clusters", seq);
	seq = tn_new(T_SEQ, NULL);
	for (int i = 0; i < nus; i++) {
		struct tn *u = tn_new(T_MAP, NULL);

		if (rand() % 2)
			tn_put(u, "token", s_("tok-abc.def"));
		if (rand() % 2)
			tn_put(u, "tokenFile", s_(rand() % 2 ? "tok" : "/t/tok"));
		if (rand() % 2) {
			tn_put(u, "client-certificate-data", data_node());
			tn_put(u, "client-key-data", data_node());
		} else if (rand() % 2) {
			tn_put(u, "client-certificate", s_("cert.pem"));
			tn_put(u, "client-key", s_("/k/key.pem"));
		}
		if (rand() % 8 == 0)
			tn_put(u, "username", s_("admin"));
		tn_add(seq, entry(un[i], "user", u));
	}
	if (nus || rand() % 2)
		tn_put(root, "users", seq);
	seq = tn_new(T_SEQ, NULL);
	for (int i = 0; i < nx; i++) {
		struct tn *x = tn_new(T_MAP, NULL);

		tn_put(x, "cluster", s_(cn[rand() % ncl]));
		if (nus)
			tn_put(x, "user", s_(un[rand() % nus]));
		if (rand() % 2)
			tn_put(x, "namespace", s_("kube-system"));
		tn_add(seq, entry(xn[i], "context", x));
	}
	tn_put(root, "contexts", seq);
	if (get(root, "current-context") == NULL)
		tn_put(root, "current-context", s_(xn[rand() % nx]));
	return root;
}

static const char *const keys[] = {
	"name", "cluster", "user", "context", "clusters", "users", "contexts",
	"current-context", "server", "certificate-authority-data",
	"certificate-authority", "client-certificate-data",
	"client-key-data", "client-key", "client-certificate", "token",
	"tokenFile", "namespace", "insecure-skip-tls-verify",
	"tls-server-name", "exec", "auth-provider", "username", "proxy-url",
	"Server", "x",
};

/* Names, URLs, base64 and booleans, good and bad. */
static const char *const strs[] = {
	"c0", "c1", "c2", "u0", "u1", "x0", "x1", "x2", "gone", "", "~",
	"null", "true", "yes", "on", "Y", "false", "https://", "http://",
	"https:///", "https://h", "https://h:1///", "ftp://h", "HTTPS://h",
	"h:6443", "aGk=", "aGk", "a*k=", "AB=C", "A===", "====", "AA==AAAA",
	"aGVsbG8=\n", " aGk= ", "aGk=aGk=", "AAAA----", "-_-_", "Zm9v",
	"ca.crt", "/abs", "%s%n", "a\tb", "\"'", "- x", "? y", "&a", "*b",
	"key: value", "#c",
};

static struct tn *random_node(void)
{
	struct tn *t;
	char *s;

	switch (rand() % 10) {
	case 0:
		return tn_new(T_NULL, NULL);
	case 1:
		return tn_new(T_MAP, NULL);
	case 2:
		t = tn_new(T_SEQ, NULL);
		if (rand() % 2)
			tn_add(t, entry(strs[rand() % 8], "cluster",
					tn_new(T_MAP, NULL)));
		return t;
	case 3:
		s = fuzz_long_str(1 + (size_t)rand() % 20000);
		t = s_(s);
		free(s);
		return t;
	case 4:
		return data_node();
	default:
		return s_(strs[rand() % RTE_DIM(strs)]);
	}
}

/* Whether @p sub is @p t or below it. */
static bool below(const struct tn *t, const struct tn *sub)
{
	if (t == sub)
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (below(t->kid[i], sub))
			return true;
	return false;
}

/* A random slot (@p *c's kid @p *i, a value or item) of the tree. */
static bool pick(struct tn *root, struct tn **c, size_t *i)
{
	size_t n = 0;

	for (size_t a = 0; a < n_arena; a++)
		if (below(root, arena[a]))
			n += arena[a]->k == T_MAP ? arena[a]->n / 2 : arena[a]->n;
	if (n == 0)
		return false;
	n = (size_t)rand() % n;
	for (size_t a = 0; a < n_arena; a++) {
		struct tn *t = arena[a];
		size_t m = t->k == T_MAP ? t->n / 2 : t->n;

		if (!below(root, t))
			continue;
		if (n < m) {
			*c = t;
			*i = t->k == T_MAP ? 2 * n + 1 : n;
			return true;
		}
		n -= m;
	}
	return false;
}

static void mutate(struct tn *root)
{
	struct tn *c, *w, *other;
	size_t i, j;

	if (!pick(root, &c, &i))
		return;
	bool map = c->k == T_MAP;
	switch (rand() % 9) {
	case 0: /* gone */
		j = map ? i - 1 : i;
		c->n -= map ? 2 : 1;
		memmove(&c->kid[j], &c->kid[j + (map ? 2 : 1)],
			(c->n - j) * sizeof(*c->kid));
		break;
	case 1:
	case 2:
		c->kid[i] = random_node();
		break;
	case 3: /* renamed */
		if (map)
			c->kid[i - 1] = s_(keys[rand() % RTE_DIM(keys)]);
		else
			c->kid[i] = random_node();
		break;
	case 4: /* given twice: the first wins, whatever the second is */
		w = rand() % 2 ? tn_copy(c->kid[i]) : random_node();
		if (map)
			tn_put(c, c->kid[i - 1]->s, w);
		else
			tn_add(c, w);
		break;
	case 5: /* the same node in two places: an anchor and an alias */
		if (pick(root, &other, &j) && !below(other->kid[j], c))
			c->kid[i] = other->kid[j];
		break;
	case 6: /* one level deeper */
		w = tn_new(rand() % 2 ? T_SEQ : T_MAP, NULL);
		if (w->k == T_MAP)
			tn_add(w, s_(map ? c->kid[i - 1]->s : "name"));
		tn_add(w, c->kid[i]);
		c->kid[i] = w;
		break;
	case 7: /* a character changed, or the string cut short */
		w = c->kid[i];
		if (w->k == T_STR && w->s[0]) {
			size_t l = strlen(w->s);

			w->s[rand() % l] = rand() % 2 ? '\0' :
				"=/:-a. \t"[rand() % 8];
		}
		break;
	default: /* a member added */
		w = c->kid[i]->k == T_MAP ? c->kid[i] : c;
		if (w->k == T_MAP)
			tn_put(w, keys[rand() % RTE_DIM(keys)], random_node());
		break;
	}
}

/* ---- checks ---- */

static bool blob_eq(const struct k8s_blob *a, const struct k8s_blob *b)
{
	return a->len == b->len && (a->data == NULL) == (b->data == NULL) &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool conn_eq(const struct k8s_conn *g, const struct k8s_conn *w)
{
	return str_eq(g->server, w->server) && g->insecure == w->insecure &&
	       str_eq(g->tls_server_name, w->tls_server_name) &&
	       blob_eq(&g->ca, &w->ca) && str_eq(g->ca_file, w->ca_file) &&
	       blob_eq(&g->cert, &w->cert) &&
	       str_eq(g->cert_file, w->cert_file) &&
	       blob_eq(&g->key, &w->key) && str_eq(g->key_file, w->key_file) &&
	       str_eq(g->token, w->token) &&
	       str_eq(g->token_file, w->token_file) && str_eq(g->ns, w->ns) &&
	       g->source != NULL;
}

static unsigned int reported;

/*
 * Load the files of @p text; with @p kc (NULL: an edited text, nothing
 * known) the outcome is resolve()'s. @return whether it loaded.
 */
static bool check_one(char *const *text, size_t n, const struct kc *kc)
{
	const char *paths[2] = {files[0], files[1]};
	struct k8s_conn got, want;
	char err[512] = "";
	int rc, wrc = 0;
	bool ok;

	for (size_t f = 0; f < n; f++)
		fuzz_write_file(files[f], text[f]);
	rc = k8s_kubeconfig_load_list(paths, n, &got, err, sizeof(err));
	if (kc)
		wrc = resolve(kc, &want);
	if (rc != 0)
		ok = rc == -EINVAL && err[0] && (kc == NULL || wrc != 0);
	else if (kc)
		ok = wrc == 0 && conn_eq(&got, &want);
	else
		ok = got.source && got.server &&
		     (strncmp(got.server, "https://", 8) == 0 ||
		      strncmp(got.server, "http://", 7) == 0);
	if (!ok) {
		test_failures++;
		if (reported++ < 10)
			fprintf(stderr,
				"kubeconfig (%s): rc %d \"%s\", expected %s\n"
				"---\n%.1500s\n---\n%.1500s\n", kc ? "tree" :
				"edited", rc, err, !kc ? "-EINVAL or a server" :
				wrc ? "-EINVAL" : "a connection", text[0],
				n > 1 ? text[1] : "");
		if (reported <= 10 && rc == 0 && kc && wrc == 0)
			fprintf(stderr, "  got server %s ca %zu cert %zu key %zu "
				"token %s/%s insecure %d; want %s ca %zu cert "
				"%zu key %zu token %s/%s insecure %d\n",
				got.server, got.ca.len, got.cert.len,
				got.key.len, got.token, got.token_file,
				got.insecure, want.server, want.ca.len,
				want.cert.len, want.key.len, want.token,
				want.token_file, want.insecure);
	}
	k8s_conn_clear(&got);
	if (kc)
		k8s_conn_clear(&want);
	return rc == 0;
}

/* Some of @p a's top-level keys moved or copied to a second file. */
static struct tn *split(struct tn *a)
{
	struct tn *b = tn_new(T_MAP, NULL);
	size_t n = 0;

	for (size_t i = 0; i < a->n; i += 2) {
		int r = rand() % 3;

		if (r)
			tn_put(b, a->kid[i]->s,
			       r == 1 ? a->kid[i + 1] : tn_copy(a->kid[i + 1]));
		if (r != 1) {
			a->kid[n++] = a->kid[i];
			a->kid[n++] = a->kid[i + 1];
		}
	}
	a->n = n;
	return b;
}

#define HEAD                                                                  \
	"current-context: x\n"                                                \
	"contexts: [{name: x, context: {cluster: c, user: u}}]\n"             \
	"users: [{name: u, user: {token: t}}]\n"                              \
	"clusters: [{name: c, cluster: {server: "

/* The bugs this test found, cut down: each loaded; the error must name
 * @p what. */
static const struct {
	const char *yaml;
	const char *what;
} cases[] = {
	/* a server without a host: "https:" once its '/' were cut */
	{HEAD "'https://'}}]\n", "server"},
	{HEAD "'http:///api'}}]\n", "server"},
	/* base64 that EVP_DecodeBlock() decodes all the same: an '='
	 * before the end, or characters it skips at the end */
	{HEAD "'https://s', certificate-authority-data: 'A==='}}]\n",
	 "certificate-authority-data"},
	{HEAD "'https://s', certificate-authority-data: 'AB=C'}}]\n",
	 "certificate-authority-data"},
	{HEAD "'https://s', certificate-authority-data: 'aGk=aGk='}}]\n",
	 "certificate-authority-data"},
	{HEAD "'https://s', certificate-authority-data: 'aGk=----'}}]\n",
	 "certificate-authority-data"},
	{"current-context: x\n"
	 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
	 "clusters: [{name: c, cluster: {server: 'https://s'}}]\n"
	 "users: [{name: u, user: {client-key-data: '===='}}]\n",
	 "client-key-data"},
};

static void test_cases(void)
{
	struct k8s_blob b;

	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		struct k8s_conn c;
		char err[512] = "";
		int rc;

		fuzz_write_file(files[0], cases[i].yaml);
		rc = k8s_kubeconfig_load(files[0], &c, err, sizeof(err));
		if (rc != -EINVAL || strstr(err, cases[i].what) == NULL) {
			fprintf(stderr, "case %zu: rc %d \"%s\", not about %s\n"
				"%s", i, rc, err, cases[i].what,
				cases[i].yaml);
			test_failures++;
		}
		k8s_conn_clear(&c);
	}
	/* The padding still comes off valid base64. */
	CHECK(k8s_base64_decode("aGk=", &b) == 0 && b.len == 2);
	free(b.data);
	CHECK(k8s_base64_decode("aA==", &b) == 0 && b.len == 1);
	free(b.data);
	CHECK(k8s_base64_decode("aGV5", &b) == 0 && b.len == 3);
	free(b.data);
}

int main(void)
{
	unsigned int seed = fuzz_env("KC_SEED", 1);
	unsigned int iters = fuzz_env("KC_ITERS", 3000);
	unsigned int loaded = 0;

	rte_log_set_level(kdp_logtype, RTE_LOG_ERR); /* proxy-url warnings */
	strcpy(dir, "/tmp/kdp-kc-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(files[0], sizeof(files[0]), "%s/config", dir);
	snprintf(files[1], sizeof(files[1]), "%s/config2", dir);
	test_cases();
	srand(seed);
	for (unsigned int it = 0; it < iters; it++) {
		struct kc kc = {{gen_valid()}, 1};
		char *text[2];
		bool edited;

		for (int m = rand() % 4; m > 0; m--)
			mutate(kc.root[0]);
		if (rand() % 64 == 0) /* the top level not a mapping */
			kc.root[0] = random_node();
		if (kc.root[0]->k == T_MAP && rand() % 4 == 0)
			kc.root[kc.n++] = split(kc.root[0]);
		for (size_t f = 0; f < kc.n; f++)
			text[f] = write_tree(kc.root[f],
					     (enum style)(rand() % 3));
		edited = rand() % 4 == 0;
		if (edited) {
			size_t f = (size_t)rand() % kc.n;

			text[f] = fuzz_text_edit(text[f]);
		}
		loaded += check_one(text, kc.n, edited ? NULL : &kc);
		for (size_t f = 0; f < kc.n; f++)
			free(text[f]);
		arena_free();
	}
	printf("kubeconfig fuzz: %u files, %u loaded (seed %u)\n", iters,
	       loaded, seed);
	/* The mutations are not all rejected, nor all harmless. */
	CHECK(loaded > iters / 10 && loaded < iters - iters / 10);
	unlink(files[0]);
	unlink(files[1]);
	rmdir(dir);
	free(arena);
	TEST_DONE("kubeconfig_fuzz");
}
