/* SPDX-License-Identifier: BSD-3-Clause */
/* Selector internals shared by the parser and the evaluator. */
#ifndef KDP_ACL_SEL_PRIV_H
#define KDP_ACL_SEL_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "acl/selector.h"

enum sel_op {
	SEL_ALL,
	SEL_GLOBAL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_IN,
	SEL_NOT_IN,
	SEL_CONTAINS,
	SEL_STARTS,
	SEL_ENDS,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

struct sel_node {
	enum sel_op op;
	char *label;  /**< label ops */
	char *value;  /**< ==, !=, contains, starts/ends with */
	size_t n;     /**< values of in/not in (sorted, unique), or kids */
	char **vals;
	struct sel_node **kids; /**< NOT: 1; AND/OR: n >= 2 */
};

struct acl_sel {
	struct sel_node *root;
	char *str; /**< canonical form */
};

void sel_node_free(struct sel_node *n);
/** Render @p root and wrap it in a selector; consumes @p root. */
struct acl_sel *sel_wrap(struct sel_node *root);
/** Whether @p s is a label name as a selector may write it:
 * [A-Za-z0-9_./-], 1 to 512 of them. */
bool sel_is_label(const char *s);
/** Sort and de-duplicate a value set in place; returns the new count. */
size_t sel_set_normalise(char **vals, size_t n);

/**
 * The namespace every endpoint matching @p s must be in, when the selector
 * says so at its top (a namespace == 'x' term, alone or in a chain of ANDs),
 * else NULL. Lets IP-set resolution skip other namespaces' pods without
 * evaluating the whole selector for each.
 */
const char *sel_required_ns(const struct acl_sel *s);

#endif /* KDP_ACL_SEL_PRIV_H */
