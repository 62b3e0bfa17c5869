/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Selector tokenizer and recursive-descent parser. The grammar and the
 * token rules follow libcalico-go/lib/selector so that kdp accepts and
 * rejects exactly the selectors Calico does:
 *
 *   or   := and ('||' and)*
 *   and  := op ('&&' op)*
 *   op   := '!'* ( has(L) | all() | global() | '(' or ')'
 *               | L ('=='|'!='|contains|starts with|ends with) STR
 *               | L ('in'|'not in') '{' [STR (',' STR)*] '}' )
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/sel_priv.h"

#define SEL_LABEL_MAX 512 /* Calico's LabelKeyMatcher {1,512} */
/* Parentheses nested deeper are refused (Calico sets no limit). Each
 * level recurses through parse_or/parse_and/parse_op here and through up
 * to three tree levels in evaluation, rendering, copying and freeing:
 * 50000 levels overflowed an 8 MiB stack, and any policy's selector is
 * parsed. No real selector nests more than a few levels. */
#define SEL_DEPTH_MAX 256

enum tok_kind {
	TOK_LABEL,
	TOK_STR,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_COMMA,
	TOK_EQ,
	TOK_NE,
	TOK_IN,
	TOK_NOT_IN,
	TOK_NOT,
	TOK_CONTAINS,
	TOK_STARTS,
	TOK_ENDS,
	TOK_ALL,
	TOK_GLOBAL,
	TOK_HAS,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_AND,
	TOK_OR,
	TOK_EOF,
};

static const char *const tok_names[] = {
	[TOK_LABEL] = "label",        [TOK_STR] = "string",
	[TOK_LBRACE] = "'{'",         [TOK_RBRACE] = "'}'",
	[TOK_COMMA] = "','",          [TOK_EQ] = "'=='",
	[TOK_NE] = "'!='",            [TOK_IN] = "'in'",
	[TOK_NOT_IN] = "'not in'",    [TOK_NOT] = "'!'",
	[TOK_CONTAINS] = "'contains'", [TOK_STARTS] = "'starts with'",
	[TOK_ENDS] = "'ends with'",   [TOK_ALL] = "'all()'",
	[TOK_GLOBAL] = "'global()'",  [TOK_HAS] = "'has()'",
	[TOK_LPAREN] = "'('",         [TOK_RPAREN] = "')'",
	[TOK_AND] = "'&&'",           [TOK_OR] = "'||'",
	[TOK_EOF] = "end of selector",
};

struct tok {
	enum tok_kind kind;
	size_t pos;  /* byte offset in the input */
	const char *text; /* label / string / has() label: points into input */
	size_t len;
};

struct parser {
	const char *in;
	struct tok *toks;
	size_t n, cap, i;
	unsigned int depth; /* of '(' being parsed */
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen,
			 "invalid selector at position %zu: %s (in \"%s\")",
			 pos, msg, p->in);
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' ||
	       c == '-';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static size_t ident_len(const char *s)
{
	size_t n = 0;

	while (is_ident(s[n]))
		n++;
	return n;
}

bool sel_is_label(const char *s)
{
	size_t n = ident_len(s);

	return n > 0 && n <= SEL_LABEL_MAX && s[n] == '\0';
}

static size_t skip_ws(const char *s, size_t i)
{
	while (is_ws(s[i]))
		i++;
	return i;
}

static bool push(struct parser *p, enum tok_kind k, size_t pos,
		 const char *text, size_t len)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct tok *t = realloc(p->toks, cap * sizeof(*t));

		if (!t) {
			fail(p, pos, "out of memory");
			return false;
		}
		p->toks = t;
		p->cap = cap;
	}
	p->toks[p->n++] = (struct tok){ k, pos, text, len };
	return true;
}

static bool starts(const char *s, const char *word)
{
	return strncmp(s, word, strlen(word)) == 0;
}

/* After a label only an operator may follow; Calico matches the operator
 * words as plain prefixes, and so do we. */
static size_t lex_operator(struct parser *p, size_t i)
{
	const char *s = p->in + i;
	size_t j;

	if (starts(s, "contains")) {
		push(p, TOK_CONTAINS, i, NULL, 0);
		return i + 8;
	}
	if (starts(s, "starts") || starts(s, "ends")) {
		bool st = s[0] == 's';

		j = skip_ws(p->in, i + (st ? 6 : 4));
		if (starts(p->in + j, "with")) {
			push(p, st ? TOK_STARTS : TOK_ENDS, i, NULL, 0);
			return j + 4;
		}
	} else if (starts(s, "not")) {
		j = skip_ws(p->in, i + 3);
		if (starts(p->in + j, "in")) {
			push(p, TOK_NOT_IN, i, NULL, 0);
			return j + 2;
		}
	} else if (starts(s, "in")) {
		push(p, TOK_IN, i, NULL, 0);
		return i + 2;
	}
	fail(p, i, "expected an operator after label '%.*s'",
	     (int)p->toks[p->n - 1].len, p->toks[p->n - 1].text);
	return i;
}

/* "has(", "all(", "global(" followed by their arguments and ')'. */
static size_t lex_call(struct parser *p, size_t i, bool *matched)
{
	const char *s = p->in + i;
	size_t j, n;

	*matched = true;
	if (starts(s, "has(")) {
		j = skip_ws(p->in, i + 4);
		n = ident_len(p->in + j);
		if (n == 0) {
			fail(p, j, "no label name in has( expression");
			return i;
		}
		if (n > SEL_LABEL_MAX) {
			fail(p, j, "label longer than %d characters",
			     SEL_LABEL_MAX);
			return i;
		}
		size_t k = skip_ws(p->in, j + n);
		if (p->in[k] != ')') {
			fail(p, k, "no closing ')' after has(");
			return i;
		}
		push(p, TOK_HAS, i, p->in + j, n);
		return k + 1;
	}
	if (starts(s, "all(") || starts(s, "global(")) {
		bool all = s[0] == 'a';

		j = skip_ws(p->in, i + (all ? 4 : 7));
		if (p->in[j] != ')') {
			fail(p, j, "no closing ')' after %s(",
			     all ? "all" : "global");
			return i;
		}
		push(p, all ? TOK_ALL : TOK_GLOBAL, i, NULL, 0);
		return j + 1;
	}
	*matched = false;
	return i;
}

static bool tokenize(struct parser *p)
{
	size_t i = 0;

	for (;;) {
		i = skip_ws(p->in, i);
		char c = p->in[i];
		size_t start = i;

		if (c == '\0')
			return push(p, TOK_EOF, i, NULL, 0);
		switch (c) {
		case '(': push(p, TOK_LPAREN, i++, NULL, 0); break;
		case ')': push(p, TOK_RPAREN, i++, NULL, 0); break;
		case '{': push(p, TOK_LBRACE, i++, NULL, 0); break;
		case '}': push(p, TOK_RBRACE, i++, NULL, 0); break;
		case ',': push(p, TOK_COMMA, i++, NULL, 0); break;
		case '"':
		case '\'': {
			const char *end = strchr(p->in + i + 1, c);

			if (!end) {
				fail(p, i, "unterminated string");
				return false;
			}
			push(p, TOK_STR, i, p->in + i + 1,
			     (size_t)(end - (p->in + i + 1)));
			i = (size_t)(end - p->in) + 1;
			break;
		}
		case '=':
		case '&':
		case '|':
			if (p->in[i + 1] != c) {
				fail(p, i, "expected '%c%c'", c, c);
				return false;
			}
			push(p, c == '=' ? TOK_EQ : c == '&' ? TOK_AND : TOK_OR,
			     i, NULL, 0);
			i += 2;
			break;
		case '!':
			if (p->in[i + 1] == '=') {
				push(p, TOK_NE, i, NULL, 0);
				i += 2;
			} else {
				push(p, TOK_NOT, i++, NULL, 0);
			}
			break;
		default: {
			bool call;
			size_t n;

			if (p->n && p->toks[p->n - 1].kind == TOK_LABEL) {
				i = lex_operator(p, i);
				break;
			}
			i = lex_call(p, i, &call);
			if (call)
				break;
			n = ident_len(p->in + i);
			if (n == 0) {
				fail(p, i, "unexpected character '%c'", c);
				return false;
			}
			if (n > SEL_LABEL_MAX) {
				fail(p, i, "label longer than %d characters",
				     SEL_LABEL_MAX);
				return false;
			}
			push(p, TOK_LABEL, i, p->in + i, n);
			i += n;
		}
		}
		if (p->failed)
			return false;
		if (i == start) { /* cannot happen; guards against a loop */
			fail(p, i, "tokenizer made no progress");
			return false;
		}
	}
}

static struct tok *peek(struct parser *p)
{
	/* Never read past the EOF token, even after an error. */
	return &p->toks[p->i < p->n ? p->i : p->n - 1];
}

static struct sel_node *new_node(struct parser *p, enum sel_op op)
{
	struct sel_node *n = calloc(1, sizeof(*n));

	if (!n)
		fail(p, peek(p)->pos, "out of memory");
	else
		n->op = op;
	return n;
}

static char *dup_tok(struct parser *p, const struct tok *t)
{
	char *s = strndup(t->text, t->len);

	if (!s)
		fail(p, t->pos, "out of memory");
	return s;
}

static void unexpected(struct parser *p, const char *want)
{
	struct tok *t = peek(p);

	if (t->kind == TOK_LABEL || t->kind == TOK_STR)
		fail(p, t->pos, "expected %s, found %s '%.*s'", want,
		     tok_names[t->kind], (int)t->len, t->text);
	else
		fail(p, t->pos, "expected %s, found %s", want,
		     tok_names[t->kind]);
}

static struct sel_node *parse_or(struct parser *p);

static struct sel_node *parse_set(struct parser *p, struct sel_node *n)
{
	if (peek(p)->kind != TOK_LBRACE) {
		unexpected(p, "'{'");
		return n;
	}
	p->i++;
	while (peek(p)->kind == TOK_STR) {
		char **v = realloc(n->vals, (n->n + 1) * sizeof(*v));

		if (!v) {
			fail(p, peek(p)->pos, "out of memory");
			return n;
		}
		n->vals = v;
		if (!(n->vals[n->n] = dup_tok(p, peek(p))))
			return n;
		n->n++;
		p->i++;
		if (peek(p)->kind != TOK_COMMA)
			break;
		p->i++;
	}
	if (peek(p)->kind != TOK_RBRACE) {
		unexpected(p, "string or '}'");
		return n;
	}
	p->i++;
	n->n = sel_set_normalise(n->vals, n->n);
	return n;
}

static struct sel_node *parse_label_op(struct parser *p)
{
	struct tok *lab = peek(p);
	struct sel_node *n;
	enum sel_op op;

	p->i++;
	switch (peek(p)->kind) {
	case TOK_EQ: op = SEL_EQ; break;
	case TOK_NE: op = SEL_NE; break;
	case TOK_CONTAINS: op = SEL_CONTAINS; break;
	case TOK_STARTS: op = SEL_STARTS; break;
	case TOK_ENDS: op = SEL_ENDS; break;
	case TOK_IN: op = SEL_IN; break;
	case TOK_NOT_IN: op = SEL_NOT_IN; break;
	default:
		unexpected(p, "an operator");
		return NULL;
	}
	p->i++;
	if (!(n = new_node(p, op)) || !(n->label = dup_tok(p, lab)))
		return n;
	if (op == SEL_IN || op == SEL_NOT_IN)
		return parse_set(p, n);
	if (peek(p)->kind != TOK_STR) {
		unexpected(p, "a quoted string");
		return n;
	}
	n->value = dup_tok(p, peek(p));
	p->i++;
	return n;
}

static struct sel_node *parse_op(struct parser *p)
{
	struct sel_node *n = NULL, *neg;
	bool negated = false;

	/* A run of leading '!' collapses to one negation or none. */
	while (peek(p)->kind == TOK_NOT) {
		negated = !negated;
		p->i++;
	}
	switch (peek(p)->kind) {
	case TOK_HAS:
		if ((n = new_node(p, SEL_HAS)))
			n->label = dup_tok(p, peek(p));
		p->i++;
		break;
	case TOK_ALL:
	case TOK_GLOBAL:
		n = new_node(p, peek(p)->kind == TOK_ALL ? SEL_ALL : SEL_GLOBAL);
		p->i++;
		break;
	case TOK_LABEL:
		n = parse_label_op(p);
		break;
	case TOK_LPAREN:
		if (p->depth == SEL_DEPTH_MAX) {
			fail(p, peek(p)->pos,
			     "parentheses nested deeper than %d", SEL_DEPTH_MAX);
			return NULL;
		}
		p->depth++;
		p->i++;
		n = parse_or(p);
		p->depth--;
		if (!p->failed && peek(p)->kind != TOK_RPAREN)
			unexpected(p, "')'");
		p->i++;
		break;
	default:
		unexpected(p, "a label, has(), all(), global(), '!' or '('");
		return NULL;
	}
	if (!negated || p->failed)
		return n;
	if (!(neg = new_node(p, SEL_NOT))) {
		sel_node_free(n);
		return NULL;
	}
	neg->kids = malloc(sizeof(*neg->kids));
	if (!neg->kids) {
		fail(p, 0, "out of memory");
		sel_node_free(neg);
		return n;
	}
	neg->kids[0] = n;
	neg->n = 1;
	return neg;
}

/* One level of a left-to-right list of operands joined by @p sep. */
static struct sel_node *parse_list(struct parser *p, enum tok_kind sep,
				   enum sel_op op,
				   struct sel_node *(*sub)(struct parser *))
{
	struct sel_node *first = sub(p), *list;

	if (p->failed || peek(p)->kind != sep)
		return first;
	if (!(list = new_node(p, op))) {
		sel_node_free(first);
		return NULL;
	}
	list->kids = malloc(sizeof(*list->kids));
	if (!list->kids) {
		fail(p, 0, "out of memory");
		sel_node_free(first);
		return list;
	}
	list->kids[list->n++] = first;
	while (!p->failed && peek(p)->kind == sep) {
		struct sel_node **k;

		p->i++;
		k = realloc(list->kids, (list->n + 1) * sizeof(*k));
		if (!k) {
			fail(p, 0, "out of memory");
			break;
		}
		list->kids = k;
		list->kids[list->n] = sub(p);
		if (list->kids[list->n])
			list->n++;
	}
	return list;
}

static struct sel_node *parse_and(struct parser *p)
{
	return parse_list(p, TOK_AND, SEL_AND, parse_op);
}

static struct sel_node *parse_or(struct parser *p)
{
	return parse_list(p, TOK_OR, SEL_OR, parse_and);
}

struct acl_sel *acl_sel_parse(const char *text, char *err, size_t errlen)
{
	struct parser p = { .in = text ? text : "", .err = err,
			    .errlen = errlen };
	struct sel_node *root = NULL;
	struct acl_sel *s = NULL;

	if (!tokenize(&p))
		goto out;
	if (peek(&p)->kind == TOK_EOF) {
		root = new_node(&p, SEL_ALL);
	} else {
		root = parse_or(&p);
		if (!p.failed && peek(&p)->kind != TOK_EOF)
			unexpected(&p, "'&&', '||' or end of selector");
	}
	if (p.failed)
		goto out;
	s = sel_wrap(root);
	root = NULL;
	if (!s)
		fail(&p, 0, "out of memory");
out:
	sel_node_free(root);
	free(p.toks);
	if (!s)
		errno = EINVAL;
	return s;
}
