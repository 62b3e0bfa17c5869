/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pod-port API operations (PODAPI.md), on the control thread with the
 * control lock held (ctl_step serves the socket). Every change is published
 * before the answer, so when the CNI plugin hears "ok" the pod's port is in
 * the tables (or gone from them and closed).
 */
#include <errno.h>
#include <string.h>

#include "control/ctl_priv.h"
#include "dp/log.h"

static const char *str(const cJSON *req, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *ok_with(cJSON *o)
{
	if (o && cJSON_AddBoolToObject(o, "ok", 1) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* A port_add for a pod that has a port, of the same sandbox: a retried
 * ADD, which gets that port. The container id is checked first: "../x"
 * matches an unknown one, but must never pass. */
static bool same_sandbox(const struct ctl_pp *pp, const struct ctl_pp_req *q)
{
	char err[256];

	return q->not_string == NULL && q->kind &&
	       strcmp(q->kind, ctl_pp_kind_name(pp->kind)) == 0 &&
	       (q->container_id == NULL ||
		ctl_pp_check_cid(q->container_id, err, sizeof(err)) == 0) &&
	       ctl_pp_cid_match(pp, q->container_id);
}

static cJSON *op_add(struct ctl *c, const cJSON *req)
{
	struct ctl_pp_req q;
	struct ctl_pp *pp, *old = NULL;
	char err[512];

	ctl_pp_req_from_json(req, &q);
	if (q.pod)
		old = ctl_pods_find(&c->pods, q.pod);
	if (old && (old->kind == CTL_PP_CONFIG || same_sandbox(old, &q)))
		return ok_with(ctl_pp_json(&c->pods, old)); /* idempotent */
	/* Another sandbox of the pod (a runtime's ADD for a new sandbox
	 * while the old one's port is there: its DEL may come late, or
	 * never) gets the pod's port: the old sandbox is being torn down,
	 * and it would otherwise fail the new one for good. */
	q.replaces = old != NULL;
	if (ctl_pods_check(&c->pods, &q, err, sizeof(err)) != 0)
		return ctl_api_error("%s", err);
	if (old) {
		KDP_LOG(NOTICE, "pod %s: container %s replaces port %u of "
			"container %s", q.pod, q.container_id ?
			q.container_id : "?", old->port.id,
			old->container_id[0] ? old->container_id : "?");
		ctl_pods_unlink(&c->pods, old);
	}
	if (ctl_pods_open(&c->pods, &q, &pp, err, sizeof(err)) != 0) {
		if (old) /* a failed port_add changes nothing */
			ctl_pods_relink(&c->pods, old);
		return ctl_api_error("%s", err);
	}
	if (ctl_publish_now(c) != 0) {
		/* Never published: it can close at once. Not the dying ones
		 * (ctl_pods_reap()): the tables still published may use a
		 * port unlinked before this failed publish. */
		ctl_pods_discard(&c->pods, pp);
		if (old) /* still in the tables in force */
			ctl_pods_relink(&c->pods, old);
		return ctl_api_error("tables not published: %s",
				     c->last_error);
	}
	ctl_pods_save(&c->pods);
	return ok_with(ctl_pp_json(&c->pods, pp));
}

static cJSON *del_answer(bool deleted)
{
	cJSON *o = cJSON_CreateObject();

	if (o && cJSON_AddBoolToObject(o, "deleted", deleted) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return ok_with(o);
}

static cJSON *op_del(struct ctl *c, const cJSON *req)
{
	const char *pod = str(req, "pod");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "container_id");
	const char *cid = cJSON_IsString(v) ? v->valuestring : NULL;
	struct ctl_pp *pp;
	char err[512];

	if (pod == NULL)
		return ctl_api_error("pod: missing");
	if (v != NULL && cid == NULL)
		return ctl_api_error("container_id: must be a string");
	if (cid && ctl_pp_check_cid(cid, err, sizeof(err)) != 0)
		return ctl_api_error("%s", err);
	pp = ctl_pods_find(&c->pods, pod);
	if (pp == NULL)
		return del_answer(false); /* idempotent */
	if (pp->kind == CTL_PP_CONFIG)
		return ctl_api_error("%s: its port is in kdp's configuration "
				     "(pod_ports)", pod);
	/* A runtime sends DEL for a pod's old sandbox after its new one was
	 * added (kubelet retries, restarts): that must not take the new
	 * sandbox's port. Done, as far as that sandbox is concerned. */
	if (!ctl_pp_cid_match(pp, cid)) {
		KDP_LOG(INFO, "pod %s: port_del for container %s: port %u is "
			"container %s's, kept", pod, cid, pp->port.id,
			pp->container_id);
		return del_answer(false);
	}
	KDP_LOG(NOTICE, "pod %s: removing port %u", pod, pp->port.id);
	ctl_pods_unlink(&c->pods, pp);
	ctl_pods_save(&c->pods);
	/* The port closes after the tables and rx lists without it are
	 * published; if publishing fails it closes with the next publish. */
	if (ctl_publish_now(c) != 0)
		return ctl_api_error("tables not published (the port closes "
				     "with the next publish): %s",
				     c->last_error);
	return del_answer(true);
}

static cJSON *op_list(struct ctl *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "ports") : NULL;
	struct ctl_pp *pp, *tmp;

	if (arr == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	HASH_ITER(hh, c->pods.by_pod, pp, tmp) {
		cJSON *e = ctl_pp_json(&c->pods, pp);
		if (e == NULL) {
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToArray(arr, e);
	}
	return ok_with(o);
}

static cJSON *op_status(struct ctl *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddStringToObject(o, "node", c->p.cfg->node) ||
	    !cJSON_AddNumberToObject(o, "mtu", ctl_pods_mtu(&c->pods)) ||
	    !cJSON_AddBoolToObject(o, "published", c->published) ||
	    !cJSON_AddNumberToObject(o, "ports", HASH_COUNT(c->pods.by_pod)) ||
	    !cJSON_AddBoolToObject(o, "state_saved", !c->pods.save_failed)) {
		cJSON_Delete(o);
		return NULL;
	}
	return ok_with(o);
}

cJSON *ctl_api_handle(void *arg, const cJSON *req)
{
	struct ctl *c = arg;
	const char *op = str(req, "op");

	if (op == NULL)
		return ctl_api_error("op: missing");
	if (strcmp(op, "port_add") == 0)
		return op_add(c, req);
	if (strcmp(op, "port_del") == 0)
		return op_del(c, req);
	if (strcmp(op, "port_list") == 0)
		return op_list(c);
	if (strcmp(op, "status") == 0)
		return op_status(c);
	return ctl_api_error("op: unknown operation \"%s\"", op);
}
