/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "mock_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store.h"

char *mock_store_log[MOCK_MAX_CALLS];
size_t mock_store_n;

static const char *const res_names[] = {
#define _(sym, plural, kind) plural,
	foreach_ctl_res(_)
#undef _
};

static void record(char *s)
{
	if (s != NULL && mock_store_n < MOCK_MAX_CALLS)
		mock_store_log[mock_store_n++] = s;
	else
		free(s);
}

void mock_store_reset(void)
{
	size_t i;

	for (i = 0; i < mock_store_n; i++)
		free(mock_store_log[i]);
	mock_store_n = 0;
}

int mock_store_find(const char *s)
{
	size_t i;

	for (i = 0; i < mock_store_n; i++)
		if (strcmp(mock_store_log[i], s) == 0)
			return (int)i;
	return -1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int ctl_store_upsert(struct ctl_store *st, enum ctl_res res, const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	char *s = NULL;

	(void)st;
	if (asprintf(&s, "U %s %s/%s kind=%s api=%s", res_names[res],
		     str(md, "namespace"), str(md, "name"), str(obj, "kind"),
		     str(obj, "apiVersion")) < 0)
		s = NULL;
	record(s);
	/* Let tests exercise the store's rejection path. */
	return strcmp(str(md, "name"), "rejected") == 0 ? -EINVAL : 0;
}

/* Records like ctl_store_upsert(); the object is the store's to free. */
int ctl_store_upsert_take(struct ctl_store *st, enum ctl_res res, cJSON *obj)
{
	int rc = ctl_store_upsert(st, res, obj);

	cJSON_Delete(obj);
	return rc;
}

int ctl_store_delete(struct ctl_store *st, enum ctl_res res, const char *ns,
		     const char *name)
{
	char *s = NULL;

	(void)st;
	if (asprintf(&s, "D %s %s/%s", res_names[res], ns ? ns : "",
		     name) < 0)
		s = NULL;
	record(s);
	return 0;
}

void ctl_store_resync_begin(struct ctl_store *st, enum ctl_res res)
{
	char *s = NULL;

	(void)st;
	if (asprintf(&s, "B %s", res_names[res]) < 0)
		s = NULL;
	record(s);
}

void ctl_store_resync_end(struct ctl_store *st, enum ctl_res res)
{
	char *s = NULL;

	(void)st;
	if (asprintf(&s, "E %s", res_names[res]) < 0)
		s = NULL;
	record(s);
}

/* Telemetry's object count (k8s_reflector_status): not recorded. */
size_t ctl_store_count(const struct ctl_store *st, enum ctl_res res)
{
	(void)st;
	(void)res;
	return 0;
}
