/* SPDX-License-Identifier: BSD-3-Clause */
#include "k8s/events.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "control/store.h"
#include "dp/log.h"
#include "k8s/jsonkeys.h"

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void status_from(const cJSON *o, struct k8s_status *s)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");

	memset(s, 0, sizeof(*s));
	if (cJSON_IsNumber(code))
		s->code = code->valueint;
	copy_str(s->reason, sizeof(s->reason), str_field(o, "reason"));
	copy_str(s->message, sizeof(s->message), str_field(o, "message"));
}

void k8s_status_parse(const char *body, size_t len, struct k8s_status *s)
{
	cJSON *o = body ? cJSON_ParseWithLength(body, len) : NULL;

	status_from(o, s);
	cJSON_Delete(o);
}

bool k8s_status_is_expired(const struct k8s_status *s)
{
	return s->code == 410 || strcmp(s->reason, "Expired") == 0 ||
	       strcmp(s->reason, "Gone") == 0 ||
	       strstr(s->message, "Too large resource version") != NULL;
}

/* Identity and RV of an object; NULL fields when absent. */
struct ident {
	const char *kind, *ns, *name, *rv;
};

static void ident_of(const cJSON *obj, struct ident *id)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	id->kind = str_field(obj, "kind");
	id->ns = str_field(md, "namespace");
	id->name = str_field(md, "name");
	id->rv = str_field(md, "resourceVersion");
}

#define BAD_EVENT(what, id, reason)                                           \
	KDP_LOG(WARNING,                                                      \
		"k8s %s: skipping malformed event kind=%s ns=%s name=%s: %s", \
		what, (id)->kind ? (id)->kind : "?",                          \
		(id)->ns ? (id)->ns : "", (id)->name ? (id)->name : "?",      \
		reason)

int k8s_event_apply(struct ctl_store *st, enum ctl_res res, const char *what,
		    const char *line, size_t len, struct k8s_event *ev)
{
	struct ident id = {0};
	const char *type;
	const cJSON *obj;
	cJSON *root;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	root = k8s_json_parse(line, len, NULL);
	if (root == NULL || !cJSON_IsObject(root)) {
		BAD_EVENT(what, &id, "not a JSON object");
		cJSON_Delete(root);
		return -EINVAL;
	}
	type = str_field(root, "type");
	obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (cJSON_IsObject(obj))
		ident_of(obj, &id);
	if (type == NULL) {
		BAD_EVENT(what, &id, "no type");
		rc = -EINVAL;
		goto out;
	}
	if (!cJSON_IsObject(obj)) {
		BAD_EVENT(what, &id, "missing object");
		rc = -EINVAL;
		goto out;
	}
	if (strcmp(type, "ERROR") == 0) {
		ev->type = K8S_EV_ERROR;
		status_from(obj, &ev->status);
		goto out;
	}
	if (id.rv != NULL && strlen(id.rv) >= sizeof(ev->rv)) {
		BAD_EVENT(what, &id, "resourceVersion too long");
		rc = -EINVAL;
		goto out;
	}
	copy_str(ev->rv, sizeof(ev->rv), id.rv);
	if (strcmp(type, "BOOKMARK") == 0) {
		ev->type = K8S_EV_BOOKMARK;
		goto out;
	}
	if (strcmp(type, "ADDED") == 0)
		ev->type = K8S_EV_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		ev->type = K8S_EV_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		ev->type = K8S_EV_DELETED;
	else {
		BAD_EVENT(what, &id, "unknown event type");
		rc = -EINVAL;
		goto out;
	}
	if (id.name == NULL || id.name[0] == '\0') {
		BAD_EVENT(what, &id, "object has no metadata.name");
		rc = -EINVAL;
		goto out;
	}
	snprintf(ev->obj, sizeof(ev->obj), "%s %s%s%s", id.kind ? id.kind : what,
		 id.ns ? id.ns : "", id.ns && id.ns[0] ? "/" : "", id.name);
	if (ev->type == K8S_EV_DELETED)
		ctl_store_delete(st, res, id.ns, id.name); /* -ENOENT is fine */
	else if (ctl_store_upsert(st, res, obj) < 0) /* logged by the store */
		ev->rejected = true;
out:
	cJSON_Delete(root);
	return rc;
}

int k8s_list_apply(struct ctl_store *st, enum ctl_res res, const char *what,
		   const char *body, size_t len, struct k8s_list_page *page)
{
	const cJSON *md, *items;
	cJSON *it, *next;
	char item_kind[128] = "";
	const char *lkind, *api, *cont, *rv;
	cJSON *root;
	int rc = 0;

	memset(page, 0, sizeof(*page));
	root = k8s_json_parse(body, len, NULL);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	md = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	if (!cJSON_IsObject(root) || !(cJSON_IsArray(items) || cJSON_IsNull(items)) ||
	    !cJSON_IsObject(md)) {
		KDP_LOG(WARNING, "k8s %s: list response is not a List", what);
		cJSON_Delete(root);
		return -EINVAL;
	}
	rv = str_field(md, "resourceVersion");
	cont = str_field(md, "continue");
	if (rv != NULL && strlen(rv) >= sizeof(page->rv)) {
		KDP_LOG(WARNING, "k8s %s: list resourceVersion too long", what);
		cJSON_Delete(root);
		return -EINVAL;
	}
	copy_str(page->rv, sizeof(page->rv), rv);
	if (cont != NULL && cont[0] != '\0') {
		page->cont = strdup(cont);
		if (page->cont == NULL) {
			cJSON_Delete(root);
			return -ENOMEM;
		}
	}
	/* Built-in lists leave kind/apiVersion out of their items. */
	lkind = str_field(root, "kind");
	api = str_field(root, "apiVersion");
	if (lkind != NULL && strlen(lkind) > 4 &&
	    strcmp(lkind + strlen(lkind) - 4, "List") == 0)
		snprintf(item_kind, sizeof(item_kind), "%.*s",
			 (int)(strlen(lkind) - 4), lkind);
	/* Each good item is detached and handed to the store, which keeps
	 * it: no copy of 100k Pods at start-up. */
	for (it = items ? items->child : NULL; it != NULL; it = next) {
		struct ident id;

		next = it->next;
		ident_of(it, &id);
		if (!cJSON_IsObject(it) || id.name == NULL ||
		    id.name[0] == '\0') {
			BAD_EVENT(what, &id, "list item has no metadata.name");
			page->n_bad++;
			continue;
		}
		if (id.kind == NULL && item_kind[0] != '\0')
			cJSON_AddStringToObject(it, "kind", item_kind);
		if (str_field(it, "apiVersion") == NULL && api != NULL)
			cJSON_AddStringToObject(it, "apiVersion", api);
		cJSON_DetachItemViaPointer((cJSON *)(uintptr_t)items, it);
		if (ctl_store_upsert_take(st, res, it) < 0)
			page->n_bad++;
		else
			page->n_items++;
	}
	cJSON_Delete(root);
	return rc;
}
