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
 * canonical form parse and select the same. Under ASan/UBSan (the unit
 * suite's second run) a leak, overflow or recursion too deep fails too.
 * Fixed cases first: the bugs this test found.
 *
 * SEL_SEED=N and SEL_ITERS=N replay or lengthen a run.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/selector.h"
#include "tests/unit/fuzz.h"
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
	struct acl_sel *p = acl_sel_prefixed(s, "pcns.", false);
	struct acl_sel *q = acl_sel_prefixed(s, "pcns.", true);

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

/* ---- main ---- */

int main(void)
{
	unsigned int iters;

	seed = fuzz_env("SEL_SEED", 1);
	iters = fuzz_env("SEL_ITERS", 20000);
	memset(long_key, 'L', sizeof(long_key) - 1);
	check_deep();
	check_empty_set();
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
	       "matched; %u of %u edited texts parsed; %d failures\n", seed,
	       iter, n_matched, n_evals, n_edit_parsed, n_edited, tu_failures);
	return tu_failures ? 1 : 0;
}
