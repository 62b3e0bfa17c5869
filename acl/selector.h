/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Calico label selectors (calico-model.md §3, libcalico-go/lib/selector).
 *
 * A selector is parsed once into an opaque handle; evaluation walks the tree
 * against a label lookup callback so callers can present computed label sets
 * (a pod's effective labels, §1.5) without materialising them.
 *
 * The canonical string form is Calico's String(): "&&"/"||" groups are always
 * parenthesised, string literals use double quotes unless the value holds a
 * double quote, and set literals are sorted and de-duplicated. Two selectors
 * with the same canonical string select the same endpoints.
 *
 * Thread-safety: a parsed selector is immutable; evaluating it from several
 * threads is safe. Parse/free are control-thread operations.
 */
#ifndef KDP_ACL_SELECTOR_H
#define KDP_ACL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "control/model.h"

struct acl_sel;

/** Label lookup: the value of @p key, or NULL when the label is absent. */
typedef const char *(*acl_sel_lookup_fn)(const void *arg, const char *key);

/**
 * Parse @p text. The empty (or blank) selector is all(). Parentheses
 * nested more than 256 deep are refused (Calico has no limit; kdp's
 * parser and evaluator recurse).
 * @return the selector, or NULL with a message naming the byte position and
 *   the problem written to @p err (and errno EINVAL / ENOMEM).
 */
struct acl_sel *acl_sel_parse(const char *text, char *err, size_t errlen);

/** Free a selector. NULL is a no-op. */
void acl_sel_free(struct acl_sel *s);

/** Evaluate against labels presented by @p fn. */
bool acl_sel_eval(const struct acl_sel *s, acl_sel_lookup_fn fn,
		  const void *arg);

/** Evaluate against a plain label set. */
bool acl_sel_eval_labels(const struct acl_sel *s, const struct ctl_labels *l);

/** Canonical string form; owned by the selector. */
const char *acl_sel_str(const struct acl_sel *s);

/** True when the selector is all() (it then matches every label set). */
bool acl_sel_is_all(const struct acl_sel *s);

/** How acl_sel_prefixed() reads all() and global(). */
enum acl_sel_scope {
	ACL_SEL_SCOPE_NONE,   /**< left as they are */
	/** A rule's namespaceSelector (rules.go): all() becomes
	 * has(projectcalico.org/namespace), global() its negation. */
	ACL_SEL_SCOPE_RULE,
	/** A GlobalNetworkPolicy's spec.namespaceSelector
	 * (globalnetworkpolicyprocessor.go): only all() is rewritten;
	 * global() stays, and is true. */
	ACL_SEL_SCOPE_POLICY,
};

/**
 * Copy @p s with every label name prefixed by @p prefix (Calico's
 * PrefixVisitor), all() and global() rewritten as @p scope says: that is
 * how a namespaceSelector is turned into an endpoint selector (§3
 * "Namespacing of selectors").
 * @return the new selector, or NULL on allocation failure.
 */
struct acl_sel *acl_sel_prefixed(const struct acl_sel *s, const char *prefix,
				 enum acl_sel_scope scope);

/**
 * The conjunction of @p a and @p b (either may be NULL = no constraint).
 * @return a new selector (all() when both are NULL), or NULL on allocation
 *   failure.
 */
struct acl_sel *acl_sel_and(const struct acl_sel *a, const struct acl_sel *b);

/** Kind of Kubernetes LabelSelector being converted. */
enum acl_k8s_sel_kind {
	ACL_K8S_SEL_POD,       /**< ANDs in projectcalico.org/orchestrator == 'k8s' */
	ACL_K8S_SEL_NAMESPACE, /**< {} means all(), absent means "" (none) */
};

/**
 * Convert a Kubernetes metav1.LabelSelector (@p k8s may be NULL or JSON null
 * for an absent selector) to Calico selector text, exactly as Calico's
 * k8sSelectorToCalico writes it (matchLabels sorted by key, then
 * matchExpressions in order).
 * @return a malloc'd string (possibly ""), or NULL with @p err set for an
 *   unknown operator or malformed selector: In/NotIn without values,
 *   Exists/DoesNotExist with values, a key that is no label name or a
 *   value holding a single quote (the text could not say it; Kubernetes
 *   refuses those keys and values too).
 */
char *acl_sel_from_k8s(const cJSON *k8s, enum acl_k8s_sel_kind kind, char *err,
		       size_t errlen);

#endif /* KDP_ACL_SELECTOR_H */
