/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acl/sel_parse.c and sel_eval.c against random Calico selectors. An
 * expression tree over the whole language (==, !=, in, not in, has(),
 * all(), global(), contains, starts with, ends with, !, &&, ||) is drawn
 * with label names and values from a small alphabet, so that labels
 * match often: prefixed names ("projectcalico.org/name"), a 512-byte one
 * (the longest Calico takes), values holding either quote, spaces,
 * operator characters or nothing. The tree is written as text the ways
 * calico-model.md §3 allows (random spacing, either quote, redundant
 * parentheses, "startswith", runs of '!') and parsed; the selector, its
 * canonical form and its prefixed copies (acl_sel_prefixed) must select
 * what ref_eval(), written from calico-model.md §3 and not from kdp,
 * says on random label sets.
 *
 * Then the texts are edited at random (cut, bytes changed, operators
 * and quotes inserted, brackets thousands deep): parsing must succeed
 * or fail with a message, and what parses must evaluate and its
 * canonical form parse and select the same.
 *
 * sel_k8s.c the same way: random valid Kubernetes LabelSelectors
 * (matchLabels, matchExpressions with In, NotIn, Exists, DoesNotExist)
 * must convert to text that parses and selects what k8s_match(), from
 * the Kubernetes API and labels documentation, says; edited ones (members
 * of other types or gone, unknown operators, values missing or extra,
 * keys and values with quotes, spaces or 1000 bytes) must be refused
 * with a message where k8s_judge() says Kubernetes refuses them and the
 * text could not say the same, else converted faithfully.
 *
 * Under ASan/UBSan (the unit suite's second run) a leak, overflow or
 * recursion too deep fails too. Fixed cases first: the bugs this test
 * found.
 *
 * SEL_SEED=N and SEL_ITERS=N replay or lengthen a run.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/selector.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_fuzz.h"
#include "tutil.h"

#define NS_LABEL "projectcalico.org/namespace"

/* ---- label sets ---- */

#define LS_MAX 32

struct lset {
	const char *k[LS_MAX], *v[LS_MAX];
	unsigned int n;
};

static const char *lget(const struct lset *ls, const char *key)
{
	for (unsigned int i = 0; i < ls->n; i++)
		if (strcmp(ls->k[i], key) == 0)
			return ls->v[i];
	return NULL;
}

static void lset_add(struct lset *ls, const char *k, const char *v)
{
	if (ls->n < LS_MAX && !lget(ls, k)) {
		ls->k[ls->n] = k;
		ls->v[ls->n++] = v;
	}
}

static const char *lookup(const void *arg, const char *key)
{
	return lget(arg, key);
}

/* A label set seen through a prefix: "pcns.a" is label a. With ns, the
 * endpoint is namespaced (carries NS_LABEL), which a ns_scope copy
 * turns all() and global() into a test of. */
struct pview {
	const struct lset *ls;
	const char *prefix;
	bool ns;
};

static const char *lookup_prefixed(const void *arg, const char *key)
{
	const struct pview *p = arg;
	size_t lp = strlen(p->prefix);

	if (strcmp(key, NS_LABEL) == 0)
		return p->ns ? "ns1" : NULL;
	return strncmp(key, p->prefix, lp) ? NULL : lget(p->ls, key + lp);
}

static void lset_print(const struct lset *ls)
{
	fprintf(stderr, "  labels {");
	for (unsigned int i = 0; i < ls->n; i++)
		fprintf(stderr, "%s%.40s=<%s>", i ? ", " : "", ls->k[i], ls->v[i]);
	fprintf(stderr, "}\n");
}

/* ---- the alphabet ---- */

/* Label names: [A-Za-z0-9_./-]+ (calico-model.md §3), none a keyword
 * or beginning with one, so that the tokenizer's choice between a label
 * and an operator is never in question. keys[0] becomes 512 bytes. */
static char long_key[513];
static const char *keys[] = {
	long_key, "a", "b", "app", "k8s-app", "projectcalico.org/name",
	"x.y/z_1", "9", "A-_./b",
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Values: never both quotes (a literal has no escapes, so such a value
 * cannot be written); spaces and operator characters inside quotes. */
static const char *const vals[] = {
	"", "a", "b", "ab", "ba", "aba", "a'b", "a\"b", "x y", "&& || (",
	"}{,", "\xc3\xa9", "'", "\"", "b a",
};
#define N_VALS (sizeof(vals) / sizeof(vals[0]))

static const char *pick_key(void)
{
	/* The long name now and then only: it makes texts hard to read. */
	return keys[rand() % 40 ? 1 + rand() % (N_KEYS - 1) : 0];
}

static const char *pick_val(void)
{
	return vals[rand() % N_VALS];
}

static void gen_labels(struct lset *ls)
{
	ls->n = 0;
	for (unsigned int i = 0; i < N_KEYS; i++)
		if (rand() % 2)
			lset_add(ls, keys[i], pick_val());
}

/* ---- expression trees and the reference ---- */

enum rop {
	R_ALL, R_GLOBAL, R_HAS, R_EQ, R_NE, R_IN, R_NOT_IN, R_CONTAINS,
	R_STARTS, R_ENDS, R_NOT, R_AND, R_OR,
};

struct rnode {
	enum rop op;
	const char *key, *val;
	const char *set[3];
	unsigned int nset;
	struct rnode *kid[2];
};

static struct rnode *gen_tree(int depth)
{
	struct rnode *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	if (depth > 0 && rand() % 2) {
		n->op = R_NOT + rand() % 3;
		n->kid[0] = gen_tree(depth - 1);
		if (n->op != R_NOT)
			n->kid[1] = gen_tree(depth - 1);
		return n;
	}
	/* all() and global() match everything here: keep them rare. */
	n->op = rand() % 12 ? R_HAS + rand() % (R_NOT - R_HAS) : rand() % 2;
	n->key = pick_key();
	n->val = pick_val();
	n->nset = 1 + rand() % 3;
	for (unsigned int i = 0; i < n->nset; i++)
		n->set[i] = pick_val();
	return n;
}

static void tree_free(struct rnode *n)
{
	if (n == NULL)
		return;
	tree_free(n->kid[0]);
	tree_free(n->kid[1]);
	free(n);
}

static bool in_set(const struct rnode *n, const char *v)
{
	for (unsigned int i = 0; i < n->nset; i++)
		if (strcmp(n->set[i], v) == 0)
			return true;
	return false;
}

/*
 * What calico-model.md §3 says @p n selects. "!=" and "not in" are also
 * true when the label is absent; every other label test needs it. With
 * @p ns_scope the tree is read as a namespaceSelector turned into an
 * endpoint selector (§3 "Namespacing of selectors"): all() is
 * has(projectcalico.org/namespace) and global() its negation, the
 * endpoint being @p namespaced or not; else both match every label set
 * here (the sets never hold that label, and global() selects the
 * non-namespaced).
 */
static bool ref_eval(const struct rnode *n, const struct lset *ls,
		     bool ns_scope, bool namespaced)
{
	const char *v = n->key ? lget(ls, n->key) : NULL;

	switch (n->op) {
	case R_ALL:
		return !ns_scope || namespaced;
	case R_GLOBAL:
		return !ns_scope || !namespaced;
	case R_HAS:
		return v;
	case R_EQ:
		return v && strcmp(v, n->val) == 0;
	case R_NE:
		return !v || strcmp(v, n->val) != 0;
	case R_IN:
		return v && in_set(n, v);
	case R_NOT_IN:
		return !v || !in_set(n, v);
	case R_CONTAINS:
		return v && strstr(v, n->val);
	case R_STARTS:
		return v && strncmp(v, n->val, strlen(n->val)) == 0;
	case R_ENDS:
		return v && strlen(v) >= strlen(n->val) &&
		       strcmp(v + strlen(v) - strlen(n->val), n->val) == 0;
	case R_NOT:
		return !ref_eval(n->kid[0], ls, ns_scope, namespaced);
	case R_AND:
		return ref_eval(n->kid[0], ls, ns_scope, namespaced) &&
		       ref_eval(n->kid[1], ls, ns_scope, namespaced);
	case R_OR:
		return ref_eval(n->kid[0], ls, ns_scope, namespaced) ||
		       ref_eval(n->kid[1], ls, ns_scope, namespaced);
	}
	abort();
}

/* ---- writing a tree as text ---- */

struct tbuf {
	char *s;
	size_t len, cap;
};

static void tb_put(struct tbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
			abort();
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* At least @p min spaces, sometimes more. Between a label and a word
 * operator one is needed (the word would extend the label); after a
 * word operator one is written too, as in every Calico example. */
static void tb_ws(struct tbuf *b, int min)
{
	int n = min + (rand() % 3 ? 0 : 1 + rand() % 2);

	while (n-- > 0)
		tb_put(b, " ");
}

/* A literal: '…' or "…" with no escapes, so a value holding one quote
 * must be written with the other. */
static void tb_quoted(struct tbuf *b, const char *v)
{
	const char *q = strchr(v, '\'') ? "\"" : strchr(v, '"') ? "'" :
		rand() % 2 ? "'" : "\"";

	tb_put(b, q);
	tb_put(b, v);
	tb_put(b, q);
}

static int prec(const struct rnode *n)
{
	return n->op == R_OR ? 1 : n->op == R_AND ? 2 : 3;
}

/* Write @p n where an operand of precedence @p ctx is expected: '||'
 * binds weakest, then '&&', then '!' (calico-model.md §3), so a weaker
 * operand needs parentheses; any operand may have them. */
static void write_tree(struct tbuf *b, const struct rnode *n, int ctx)
{
	static const char *const words[] = {
		[R_CONTAINS] = "contains", [R_STARTS] = "starts",
		[R_ENDS] = "ends",
	};
	bool paren = prec(n) < ctx || rand() % 8 == 0;

	if (paren) {
		tb_put(b, "(");
		tb_ws(b, 0);
	}
	switch (n->op) {
	case R_ALL:
		tb_put(b, "all()");
		break;
	case R_GLOBAL:
		tb_put(b, "global()");
		break;
	case R_HAS:
		tb_put(b, "has(");
		tb_ws(b, 0);
		tb_put(b, n->key);
		tb_ws(b, 0);
		tb_put(b, ")");
		break;
	case R_EQ:
	case R_NE:
		tb_put(b, n->key);
		tb_ws(b, 0);
		tb_put(b, n->op == R_EQ ? "==" : "!=");
		tb_ws(b, 0);
		tb_quoted(b, n->val);
		break;
	case R_IN:
	case R_NOT_IN:
		tb_put(b, n->key);
		tb_ws(b, 1);
		if (n->op == R_NOT_IN) {
			tb_put(b, "not");
			tb_ws(b, 1);
		}
		tb_put(b, "in");
		tb_ws(b, 1);
		tb_put(b, "{");
		for (unsigned int i = 0; i < n->nset; i++) {
			tb_ws(b, 0);
			if (i) {
				tb_put(b, ",");
				tb_ws(b, 0);
			}
			tb_quoted(b, n->set[i]);
		}
		tb_ws(b, 0);
		tb_put(b, "}");
		break;
	case R_CONTAINS:
	case R_STARTS:
	case R_ENDS:
		tb_put(b, n->key);
		tb_ws(b, 1);
		tb_put(b, words[n->op]);
		if (n->op != R_CONTAINS) {
			/* "startswith" is Calico's too (selectors.json). */
			tb_ws(b, 0);
			tb_put(b, "with");
		}
		tb_ws(b, 1);
		tb_quoted(b, n->val);
		break;
	case R_NOT:
		tb_put(b, "!");
		tb_ws(b, 0);
		write_tree(b, n->kid[0], 3);
		break;
	case R_AND:
	case R_OR:
		/* Both operators are associative, so writing a right-nested
		 * pair without parentheses changes the tree, not its
		 * meaning. */
		write_tree(b, n->kid[0], prec(n));
		tb_ws(b, 0);
		tb_put(b, n->op == R_AND ? "&&" : "||");
		tb_ws(b, 0);
		write_tree(b, n->kid[1], prec(n));
		break;
	}
	if (paren) {
		tb_ws(b, 0);
		tb_put(b, ")");
	}
}

static char *tree_text(const struct rnode *n)
{
	struct tbuf b = { 0 };

	tb_ws(&b, 0);
	write_tree(&b, n, 1);
	tb_ws(&b, 0);
	return b.s;
}

/* ---- checks ---- */

static unsigned int seed, iter;
/* How much the run saw: label-set evaluations and matches, edited texts
 * and those that still parsed (so a run that tests little shows). */
static unsigned int n_evals, n_matched, n_edited, n_edit_parsed;

#define FAIL_IF(cond, ...)                                                  \
	do {                                                                \
		if (cond) {                                                 \
			TU_CHECK(0, __VA_ARGS__);                           \
			fprintf(stderr, "  (SEL_SEED=%u, iteration %u)\n",  \
				seed, iter);                                \
		}                                                           \
	} while (0)

/* @p s, its canonical form and its prefixed copies must select what the
 * reference says of @p t, on several label sets. The canonical form need
 * not be a fixed point: it writes !(!x) as "!!x" (test_selector.c wants
 * "!!has(…)" too), which parses as x, a run of '!' collapsing. */
static void check_tree(const struct rnode *t, const struct acl_sel *s,
		       const char *text)
{
	struct acl_sel *c = acl_sel_parse(acl_sel_str(s), NULL, 0);
	struct acl_sel *p = acl_sel_prefixed(s, "pcns.", ACL_SEL_SCOPE_NONE);
	struct acl_sel *q = acl_sel_prefixed(s, "pcns.", ACL_SEL_SCOPE_RULE);

	FAIL_IF(!c, "'%s': canonical form '%s' does not parse", text,
		acl_sel_str(s));
	FAIL_IF(!p || !q, "'%s': acl_sel_prefixed failed", text);
	for (int i = 0; i < 8 && c && p && q; i++) {
		struct lset ls;
		struct pview pv = { &ls, "pcns.", rand() % 2 };
		int failed = tu_failures;
		bool want, got;

		gen_labels(&ls);
		want = ref_eval(t, &ls, false, false);
		got = acl_sel_eval(s, lookup, &ls);
		n_evals++;
		n_matched += want;
		FAIL_IF(got != want, "'%s' (canonical '%s') gave %d, want %d",
			text, acl_sel_str(s), got, want);
		FAIL_IF(acl_sel_eval(c, lookup, &ls) != want,
			"canonical '%s' gave %d, want %d", acl_sel_str(c), !want,
			want);
		FAIL_IF(acl_sel_eval(p, lookup_prefixed, &pv) != want,
			"prefixed '%s' gave %d, want %d", acl_sel_str(p), !want,
			want);
		want = ref_eval(t, &ls, true, pv.ns);
		FAIL_IF(acl_sel_eval(q, lookup_prefixed, &pv) != want,
			"namespace-scoped '%s' (namespaced %d) gave %d, want %d",
			acl_sel_str(q), pv.ns, !want, want);
		if (tu_failures != failed)
			lset_print(&ls);
	}
	acl_sel_free(c);
	acl_sel_free(p);
	acl_sel_free(q);
}

/* What the parser says of any text: a selector, or NULL and a message.
 * A selector must evaluate, and its canonical form parse and select the
 * same. */
static void check_any(const char *text)
{
	char err[256] = "";
	struct acl_sel *s = acl_sel_parse(text, err, sizeof(err)), *c;
	struct lset ls;

	n_edited++;
	if (s == NULL) {
		FAIL_IF(err[0] == '\0', "'%.200s' rejected without a message",
			text);
		return;
	}
	n_edit_parsed++;
	gen_labels(&ls);
	c = acl_sel_parse(acl_sel_str(s), err, sizeof(err));
	FAIL_IF(!c, "'%.200s': canonical form '%.200s' does not parse: %s",
		text, acl_sel_str(s), err);
	FAIL_IF(c && acl_sel_eval(c, lookup, &ls) != acl_sel_eval(s, lookup, &ls),
		"'%.200s': canonical form selects otherwise", text);
	acl_sel_free(c);
	acl_sel_free(s);
}

/* Selector syntax for the edits: operators whole and in part, quotes,
 * keywords, whitespace Calico may not take, bytes that are not text. */
static const char *const sel_tokens[] = {
	"(", ")", "!", "&&", "||", "==", "!=", " in ", " not in ", "{", "}",
	",", "'", "\"", "has(", "all()", "global()", " contains ",
	" starts with ", " ends with ", "=", "&", "|", "!==", "=~", " ",
	"\t", "\n", "\\", "\x01", "\xff", "a", "-", "/", "startswith", "not",
	"with", "has", "all(", "global", "in", "{}", "()",
};

/* @p open @p n times, @p mid, @p close @p n times (malloc'd). */
static char *nested(const char *open, size_t n, const char *mid,
		    const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + lm + 1), *w = s;

	if (s == NULL)
		abort();
	for (size_t i = 0; i < n; i++, w += lo)
		memcpy(w, open, lo);
	memcpy(w, mid, lm);
	w += lm;
	for (size_t i = 0; i < n; i++, w += lc)
		memcpy(w, close, lc);
	*w = '\0';
	return s;
}

/* One random edit of @p s (malloc'd; the result replaces it). */
static char *sel_edit(char *s)
{
	static const char *const opens[] = { "(", "!(", "!", "(has(a)||" };
	size_t len = strlen(s), at = len ? (size_t)rand() % (len + 1) : 0;
	const char *ins;
	char *out;

	if (rand() % 40 == 0) {
		/* Nesting deeper than a parser should recurse, closed or
		 * not: it must be refused, not overflow the stack. */
		const char *o = opens[rand() % 4];

		out = nested(o, 1 + (size_t)rand() % 20000, s,
			     rand() % 2 && o[0] != '!' ? ")" : "");
		free(s);
		return out;
	}
	if (rand() % 2)
		return fuzz_text_edit(s);
	ins = sel_tokens[rand() % (sizeof(sel_tokens) / sizeof(sel_tokens[0]))];
	out = malloc(len + strlen(ins) + 1);
	if (out == NULL)
		abort();
	memcpy(out, s, at);
	strcpy(out + at, ins);
	strcat(out, s + at);
	free(s);
	return out;
}

/* ---- Kubernetes LabelSelectors (sel_k8s.c) ---- */

#define ORCH_LABEL "projectcalico.org/orchestrator"

/* Keys and values Kubernetes takes (see k8s_key_ok()). */
static const char *const k8s_keys[] = {
	"a", "app", "k8s-app", "projectcalico.org/name", "x.y/z_1", "A.b-c",
};
#define N_K8S_KEYS (sizeof(k8s_keys) / sizeof(k8s_keys[0]))
static const char *const k8s_vals[] = { "", "a", "b", "v-1", "A.b_c" };
#define N_K8S_VALS (sizeof(k8s_vals) / sizeof(k8s_vals[0]))
static const char *const k8s_ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };

/* Kubernetes' label name (kubernetes.io/docs/concepts/overview/
 * working-with-objects/labels, "Syntax and character set"): "63
 * characters or less, beginning and ending with an alphanumeric
 * character ([a-z0-9A-Z]) with dashes (-), underscores (_), dots (.),
 * and alphanumerics between"; @p n bytes of @p s. */
static bool k8s_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A key: a name, after an optional prefix "must be a DNS subdomain: a
 * series of DNS labels separated by dots (.), not longer than 253
 * characters in total, followed by a slash (/)". */
static bool k8s_key_ok(const char *s)
{
	const char *slash = strchr(s, '/'), *l = s;

	if (slash == NULL)
		return k8s_name_ok(s, strlen(s));
	if (slash - s > 253 || !k8s_name_ok(slash + 1, strlen(slash + 1)) ||
	    strchr(slash + 1, '/'))
		return false;
	for (const char *c = s; c <= slash; c++) {
		if (c < slash && (islower((unsigned char)*c) ||
				  isdigit((unsigned char)*c) || *c == '-'))
			continue;
		if ((c < slash && *c != '.') || c == l ||
		    !isalnum((unsigned char)l[0]) || !isalnum((unsigned char)c[-1]))
			return false;
		l = c + 1;
	}
	return true;
}

/* A value: "63 characters or less (can be empty)", else as a name. */
static bool k8s_value_ok(const char *s)
{
	return s[0] == '\0' || k8s_name_ok(s, strlen(s));
}

/* A Calico label name, [A-Za-z0-9_./-]{1,512} (calico-model.md §3,
 * selectors.json): what a converted selector can name. */
static bool calico_label_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_./-");

	return n > 0 && n <= 512 && s[n] == '\0';
}

/* What the conversion of a LabelSelector must do. */
enum k8s_verdict {
	K_ACCEPT, /* a valid selector: converted */
	K_MAY,    /* one Kubernetes refuses, that the text can still carry:
		   * converted faithfully, or refused */
	K_UNSPEC, /* a JSON object repeating a key (RFC 8259 leaves its
		   * meaning open; Go keeps the last): refused, or converted
		   * to a selector that parses */
	K_REJECT, /* refused with a message */
};

static void worse(enum k8s_verdict *v, enum k8s_verdict w)
{
	if (w > *v)
		*v = w;
}

/* A key Kubernetes refuses may still be a Calico label; one that is not
 * cannot be written into the selector text. */
static void judge_key(const char *k, enum k8s_verdict *v)
{
	worse(v, !calico_label_ok(k) ? K_REJECT : !k8s_key_ok(k) ? K_MAY :
							     K_ACCEPT);
}

/* A value goes between single quotes, with no escapes. */
static void judge_value(const cJSON *it, enum k8s_verdict *v)
{
	if (cJSON_IsNull(it)) /* Go decodes a null string as "" */
		worse(v, K_MAY);
	else if (!cJSON_IsString(it) || strchr(it->valuestring, '\''))
		worse(v, K_REJECT);
	else if (!k8s_value_ok(it->valuestring))
		worse(v, K_MAY);
}

/*
 * The Kubernetes API (LabelSelector, LabelSelectorRequirement in
 * kubernetes.io/docs/reference/kubernetes-api): matchLabels is a map of
 * strings, matchExpressions a list of {key, operator, values}; "Valid
 * operators are In, NotIn, Exists and DoesNotExist"; "If the operator is
 * In or NotIn, the values array must be non-empty. If the operator is
 * Exists or DoesNotExist, the values array must be empty." Unknown
 * members are ignored, as the API server's decoder does.
 */
static enum k8s_verdict k8s_judge(const cJSON *sel)
{
	enum k8s_verdict v = K_ACCEPT;
	const cJSON *ml, *me, *it, *e;

	if (sel == NULL || cJSON_IsNull(sel))
		return K_ACCEPT;
	if (!cJSON_IsObject(sel))
		return K_REJECT;
	ml = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
	me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions");
	if ((ml && !cJSON_IsNull(ml) && !cJSON_IsObject(ml)) ||
	    (me && !cJSON_IsNull(me) && !cJSON_IsArray(me)))
		return K_REJECT;
	cJSON_ArrayForEach(it, ml) {
		judge_key(it->string, &v);
		judge_value(it, &v);
		for (const cJSON *o = ml->child; o != it; o = o->next)
			if (strcmp(o->string, it->string) == 0)
				worse(&v, K_UNSPEC);
	}
	cJSON_ArrayForEach(e, me) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values");
		int o = 0, n = 0;

		if (!cJSON_IsObject(e) || !cJSON_IsString(key) ||
		    !cJSON_IsString(op))
			return K_REJECT;
		while (o < 4 && strcmp(op->valuestring, k8s_ops[o]))
			o++;
		if (o == 4 || (vals && !cJSON_IsNull(vals) && !cJSON_IsArray(vals)))
			return K_REJECT;
		cJSON_ArrayForEach(it, vals) {
			judge_value(it, &v);
			n++;
		}
		if ((o < 2) != (n > 0))
			return K_REJECT;
		judge_key(key->valuestring, &v);
	}
	return v;
}

/* A string member as Go reads it (null is ""). */
static const char *k8s_str(const cJSON *it)
{
	return cJSON_IsString(it) ? it->valuestring : "";
}

/*
 * Whether the Kubernetes selector @p sel (one k8s_judge() does not
 * reject) selects @p ls: every matchLabels pair holds, In needs the key
 * with one of the values, NotIn "selects all resources with key not
 * equal to ... and all resources with no labels with the key" (labels
 * doc, "Set-based requirement"), Exists and DoesNotExist test the key.
 * A pod selector is also ANDed with projectcalico.org/orchestrator ==
 * 'k8s' (calico-model.md §3, "Kubernetes NetworkPolicy → Calico").
 */
static bool k8s_match(const cJSON *sel, enum acl_k8s_sel_kind kind,
		      const struct lset *ls)
{
	const char *orch = lget(ls, ORCH_LABEL), *v;
	const cJSON *it, *e, *x;

	if (kind == ACL_K8S_SEL_POD && (!orch || strcmp(orch, "k8s")))
		return false;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sel, "matchLabels")) {
		v = lget(ls, it->string);
		if (!v || strcmp(v, k8s_str(it)))
			return false;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions")) {
		const char *op = k8s_str(cJSON_GetObjectItemCaseSensitive(e, "operator"));
		bool in = false;

		v = lget(ls, k8s_str(cJSON_GetObjectItemCaseSensitive(e, "key")));
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "values"))
			in |= v && strcmp(v, k8s_str(x)) == 0;
		if (strcmp(op, "In") == 0 ? !in : strcmp(op, "NotIn") == 0 ? in :
		    strcmp(op, "Exists") == 0 ? !v : v != NULL)
			return false;
	}
	return true;
}

/* Every string of @p j, member names too, at most @p max. */
static void k8s_strings(const cJSON *j, const char **out, unsigned int *n,
			unsigned int max)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, j) {
		if (c->string && *n < max)
			out[(*n)++] = c->string;
		if (cJSON_IsString(c) && *n < max)
			out[(*n)++] = c->valuestring;
		k8s_strings(c, out, n, max);
	}
}

/* Labels for @p sel: the orchestrator's mostly k8s, Kubernetes keys, and
 * now and then any string of the selector as a key or a value, so that
 * edited keys and values match too. */
static void gen_k8s_labels(struct lset *ls, const cJSON *sel)
{
	const char *strs[64];
	unsigned int n = 0;

	k8s_strings(sel, strs, &n, 64);
	ls->n = 0;
	if (rand() % 4)
		lset_add(ls, ORCH_LABEL, rand() % 3 ? "k8s" : "openstack");
	for (unsigned int i = 0; i < N_K8S_KEYS; i++)
		if (rand() % 2)
			lset_add(ls, k8s_keys[i], k8s_vals[rand() % N_K8S_VALS]);
	for (unsigned int i = 0; i < n; i++)
		if (rand() % 4 == 0)
			lset_add(ls, strs[i], rand() % 2 ? strs[rand() % n] :
				 k8s_vals[rand() % N_K8S_VALS]);
}

/* A valid LabelSelector: matchLabels and matchExpressions present, null
 * or absent; In and NotIn with one to three values, Exists and
 * DoesNotExist with none, [] or null. */
static cJSON *gen_k8s(void)
{
	cJSON *sel = cJSON_CreateObject(), *ml, *me, *e, *vals;

	if (rand() % 8 == 0) {
		cJSON_AddNullToObject(sel, "matchLabels");
	} else if (rand() % 4) {
		ml = cJSON_AddObjectToObject(sel, "matchLabels");
		for (int i = rand() % 4; i > 0; i--) {
			const char *k = k8s_keys[rand() % N_K8S_KEYS];

			if (!cJSON_GetObjectItemCaseSensitive(ml, k))
				cJSON_AddStringToObject(ml, k,
					k8s_vals[rand() % N_K8S_VALS]);
		}
	}
	if (rand() % 8 == 0) {
		cJSON_AddNullToObject(sel, "matchExpressions");
	} else if (rand() % 4) {
		me = cJSON_AddArrayToObject(sel, "matchExpressions");
		for (int i = rand() % 4; i > 0; i--) {
			int op = rand() % 4;

			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "key",
						k8s_keys[rand() % N_K8S_KEYS]);
			cJSON_AddStringToObject(e, "operator", k8s_ops[op]);
			if (op < 2) {
				vals = cJSON_AddArrayToObject(e, "values");
				for (int j = 1 + rand() % 3; j > 0; j--)
					cJSON_AddItemToArray(vals, cJSON_CreateString(
						k8s_vals[rand() % N_K8S_VALS]));
			} else if (rand() % 3 == 1) {
				cJSON_AddArrayToObject(e, "values");
			} else if (rand() % 2) {
				cJSON_AddNullToObject(e, "values");
			}
			cJSON_AddItemToArray(me, e);
		}
	}
	return sel;
}

/* A JSON value of some kind, mostly not the one expected where it goes. */
static cJSON *k8s_other(void)
{
	static const char *const one[] = { "a" };
	cJSON *o;

	switch (rand() % 8) {
	case 0: return cJSON_CreateNumber(1);
	case 1: return cJSON_CreateTrue();
	case 2: return cJSON_CreateNull();
	case 3: return cJSON_CreateString(k8s_vals[rand() % N_K8S_VALS]);
	case 4: return cJSON_CreateArray();
	case 5: return cJSON_CreateObject();
	case 6: return cJSON_CreateStringArray(one, 1);
	default:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "a", "b");
		return o;
	}
}

/* A random matchExpressions entry of @p sel that is an object, or NULL. */
static cJSON *k8s_expr(cJSON *sel)
{
	cJSON *me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions");
	cJSON *e = cJSON_IsArray(me) && cJSON_GetArraySize(me) ?
		cJSON_GetArrayItem(me, rand() % cJSON_GetArraySize(me)) : NULL;

	return cJSON_IsObject(e) ? e : NULL;
}

/* Characters a label key or value cannot have, and some it can. */
static const char k8s_chars[] = " '\"(){}|&!,=/-._aZ9\t\xff";

/* One random edit of @p sel (the result replaces it). */
static cJSON *k8s_edit(cJSON *sel)
{
	static const char *const ops[] = {
		"In", "NotIn", "Exists", "DoesNotExist", "in", "Gt", "", "exists",
	};
	cJSON *parent, *it, *e = k8s_expr(sel), *vals;
	char *l;

	switch (rand() % 8) {
	case 0: /* no object at all */
		cJSON_Delete(sel);
		return k8s_other();
	case 1: /* a member of another kind */
		if ((it = jf_pick(sel, &parent)))
			jf_replace(parent, it, k8s_other());
		break;
	case 2: /* a member gone */
		if ((it = jf_pick(sel, &parent)))
			cJSON_Delete(cJSON_DetachItemViaPointer(parent, it));
		break;
	case 3: /* a key or value with a character labels cannot have */
		if ((it = jf_pick(sel, &parent)) && !jf_edit_string(it, k8s_chars) &&
		    it->string && it->string[0]) {
			/* or the name of a member (a matchLabels key) */
			it->string[rand() % strlen(it->string)] =
				k8s_chars[rand() % (sizeof(k8s_chars) - 1)];
		}
		break;
	case 4: /* another operator */
		if (e) {
			cJSON_DeleteItemFromObjectCaseSensitive(e, "operator");
			cJSON_AddStringToObject(e, "operator", ops[rand() % 8]);
		}
		break;
	case 5: /* values missing, empty, or one more */
		if (e == NULL)
			break;
		vals = cJSON_GetObjectItemCaseSensitive(e, "values");
		if (rand() % 2 || !cJSON_IsArray(vals)) {
			cJSON_DeleteItemFromObjectCaseSensitive(e, "values");
			vals = rand() % 2 ? cJSON_AddArrayToObject(e, "values") : NULL;
		}
		if (vals && rand() % 2)
			cJSON_AddItemToArray(vals, cJSON_CreateString(
				k8s_vals[rand() % N_K8S_VALS]));
		break;
	case 6: /* a long key or value: past 63 (Kubernetes) or 512 (Calico) */
		if ((it = jf_pick(sel, &parent)) && cJSON_IsString(it)) {
			l = fuzz_long_str(1 + (size_t)rand() % 1000);
			if (cJSON_IsObject(parent) && rand() % 2 &&
			    !cJSON_GetObjectItemCaseSensitive(parent, l)) {
				cJSON_AddStringToObject(parent, l, it->valuestring);
				cJSON_Delete(cJSON_DetachItemViaPointer(parent, it));
			} else {
				jf_replace(parent, it, cJSON_CreateString(l));
			}
			free(l);
		}
		break;
	default: /* a member Kubernetes does not know: ignored */
		it = rand() % 2 ? sel : e;
		if (cJSON_IsObject(it) &&
		    !cJSON_GetObjectItemCaseSensitive(it, "extra"))
			cJSON_AddNumberToObject(it, "extra", 1);
	}
	return sel;
}

static unsigned int n_k8s, n_k8s_converted, n_k8s_matched;

/* Convert @p sel (NULL: absent) as a @p kind selector and hold the result
 * to k8s_judge() and k8s_match(). */
static void check_k8s(const cJSON *sel, enum acl_k8s_sel_kind kind)
{
	enum k8s_verdict v = k8s_judge(sel);
	char err[256] = "", *text, *js;
	const char *kn = kind == ACL_K8S_SEL_POD ? "pod" : "namespace";
	struct acl_sel *s;

	n_k8s++;
	text = acl_sel_from_k8s(sel, kind, err, sizeof(err));
	js = sel ? cJSON_PrintUnformatted(sel) : strdup("(absent)");
	if (text == NULL) {
		FAIL_IF(v == K_ACCEPT, "%s selector %.300s refused: %s", kn, js,
			err);
		FAIL_IF(err[0] == '\0', "%s selector %.300s refused without a "
			"message", kn, js);
		free(js);
		return;
	}
	n_k8s_converted++;
	FAIL_IF(v == K_REJECT, "%s selector %.300s accepted as '%.300s'", kn,
		js, text);
	if (kind == ACL_K8S_SEL_NAMESPACE && (sel == NULL || cJSON_IsNull(sel))) {
		/* Absent: "" (selects no namespace; selectors.json). */
		FAIL_IF(text[0] != '\0', "absent namespace selector gave '%s'",
			text);
	} else if (v != K_REJECT) {
		s = acl_sel_parse(text, err, sizeof(err));
		FAIL_IF(s == NULL, "%s selector %.300s: '%.300s' does not parse: %s",
			kn, js, text, err);
		for (int i = 0; i < 8 && s && v != K_UNSPEC; i++) {
			struct lset ls;
			bool want;

			gen_k8s_labels(&ls, sel);
			want = k8s_match(sel, kind, &ls);
			n_k8s_matched += want;
			FAIL_IF(acl_sel_eval(s, lookup, &ls) != want,
				"%s selector %.300s as '%.300s' gave %d, want %d",
				kn, js, text, !want, want);
			if (acl_sel_eval(s, lookup, &ls) != want)
				lset_print(&ls);
		}
		acl_sel_free(s);
	}
	free(text);
	free(js);
}

/* ---- fixed cases ---- */

/*
 * Nesting: '(' and "!(" recursed in the parser, and through the tree in
 * evaluation, rendering and freeing; 50000 levels overflowed an 8 MiB
 * stack, far fewer under ASan. Calico sets no limit, but no selector
 * nests more than a few levels: 100 must parse, any depth must parse or
 * be refused with a message. A run of '!' is no nesting (it collapses).
 */
static void check_deep(void)
{
	static const size_t depths[] = { 1, 2, 100, 1000, 10000, 100000 };
	struct lset ab = { { "a" }, { "b" }, 1 }, none = { .n = 0 };

	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		size_t d = depths[i];
		const struct {
			const char *open, *close;
			bool balanced, want_ab, want_none;
		} shapes[] = {
			{ "(", ")", true, true, false },
			{ "!(", ")", true, d % 2 == 0, d % 2 == 1 },
			{ "(has(a)||", ")", true, true, false },
			{ "!", "", true, d % 2 == 0, d % 2 == 1 },
			{ "(", "", false, false, false },
			{ "!(", "", false, false, false },
		};

		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
			char *t = nested(shapes[k].open, d, "a == 'b'",
					 shapes[k].close), err[256] = "";
			struct acl_sel *s = acl_sel_parse(t, err, sizeof(err));
			bool must = shapes[k].balanced &&
				    (d <= 100 || strcmp(shapes[k].open, "!") == 0);

			FAIL_IF(!s && err[0] == '\0',
				"%zu x '%s': rejected without a message", d,
				shapes[k].open);
			FAIL_IF(!s && must, "%zu x '%s' rejected: %s", d,
				shapes[k].open, err);
			FAIL_IF(s && !shapes[k].balanced,
				"%zu x '%s' unclosed, accepted", d,
				shapes[k].open);
			FAIL_IF(s && (acl_sel_eval(s, lookup, &ab) !=
					      shapes[k].want_ab ||
				      acl_sel_eval(s, lookup, &none) !=
					      shapes[k].want_none),
				"%zu x '%s': wrong match", d, shapes[k].open);
			if (s)
				check_any(acl_sel_str(s));
			acl_sel_free(s);
			free(t);
		}
	}
}

/*
 * An empty set, "a in {}": evaluating it passed bsearch() a NULL array,
 * which glibc declares nonnull (UBSan: "null pointer passed as argument
 * 2"). calico-model.md does not say whether Calico takes an empty set;
 * taken, nothing is in it, and "not in" holds whether a is there or not.
 */
static void check_empty_set(void)
{
	struct lset ab = { { "a" }, { "b" }, 1 }, none = { .n = 0 };
	const char *const texts[] = { "a in {}", "a not in { }" };

	for (int i = 0; i < 2; i++) {
		char err[256] = "";
		struct acl_sel *s = acl_sel_parse(texts[i], err, sizeof(err));

		FAIL_IF(!s && err[0] == '\0', "'%s' rejected without a message",
			texts[i]);
		FAIL_IF(s && (acl_sel_eval(s, lookup, &ab) != (i == 1) ||
			      acl_sel_eval(s, lookup, &none) != (i == 1)),
			"'%s': wrong match", texts[i]);
		acl_sel_free(s);
	}
}

/*
 * Kubernetes selectors that were converted though its API refuses them,
 * most into selectors that select something else: In or NotIn with no
 * values (or values that are no list) became "k in { '' }"; Exists kept
 * quiet about its values; keys and values went into the text unchecked,
 * so a quote or a parenthesis in them rewrote the selector ("... ||
 * all() || ...") and a space made text that does not parse.
 */
static void check_k8s_fixed(void)
{
	static const char *const bad[] = {
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\"}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"b\"}]}",
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"b\"]}]}",
		"{\"matchLabels\":{\"a\":\"x' || has(b) || a == 'y\"}}",
		"{\"matchExpressions\":[{\"key\":\"x) || all() || has(y\",\"operator\":\"Exists\"}]}",
		"{\"matchLabels\":{\"a b\":\"x\"}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		FAIL_IF(k8s_judge(j) != K_REJECT, "k8s_judge takes %s", bad[i]);
		check_k8s(j, ACL_K8S_SEL_POD);
		check_k8s(j, ACL_K8S_SEL_NAMESPACE);
		cJSON_Delete(j);
	}
}

/* ---- main ---- */

int main(void)
{
	unsigned int iters;

	seed = fuzz_env("SEL_SEED", 1);
	iters = fuzz_env("SEL_ITERS", 20000);
	memset(long_key, 'L', sizeof(long_key) - 1);
	check_deep();
	check_empty_set();
	check_k8s_fixed();
	srand(seed);
	for (iter = 0; iter < iters && tu_failures < 20; iter++) {
		struct rnode *t = gen_tree(rand() % 6);
		char *text = tree_text(t), err[256] = "";
		struct acl_sel *s = acl_sel_parse(text, err, sizeof(err));

		FAIL_IF(s == NULL, "valid '%s' rejected: %s", text, err);
		if (s)
			check_tree(t, s, text);
		acl_sel_free(s);
		/* The same text, edited. */
		for (int e = 1 + rand() % 3; e > 0; e--)
			text = sel_edit(text);
		check_any(text);
		free(text);
		tree_free(t);
	}
	printf("selector fuzz: seed %u, %u selectors, %u of %u label sets "
	       "matched; %u of %u edited texts parsed\n", seed, iter,
	       n_matched, n_evals, n_edit_parsed, n_edited);
	srand(seed);
	for (iter = 0; iter < iters / 2 && tu_failures < 20; iter++) {
		enum acl_k8s_sel_kind kind = rand() % 2 ? ACL_K8S_SEL_POD :
							   ACL_K8S_SEL_NAMESPACE;
		cJSON *sel = gen_k8s();

		check_k8s(rand() % 16 ? sel : NULL, kind);
		for (int e = 1 + rand() % 2; e > 0; e--)
			sel = k8s_edit(sel);
		check_k8s(sel, kind);
		cJSON_Delete(sel);
	}
	printf("k8s selector fuzz: %u of %u converted, %u label sets "
	       "matched; %d failures\n", n_k8s_converted, n_k8s,
	       n_k8s_matched, tu_failures);
	return tu_failures ? 1 : 0;
}
