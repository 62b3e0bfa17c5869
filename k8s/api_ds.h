/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The Kubernetes API datastore ("kubernetes"): a struct ctl_ds that lists and
 * watches every resource kdp needs (control/model.h) and feeds the store.
 *
 * Everything runs in the control thread: ops->poll() drives one curl multi
 * handle (discovery, then one reflector per resource, k8s/reflector.h) for at
 * most its timeout. At start GET /apis decides where the Calico resources
 * live: crd.projectcalico.org/v1, or projectcalico.org/v3 when only that
 * group is served (calico-model.md §1.0).
 *
 * Thread-safety: control thread only, except ops->status (telemetry thread).
 */
#ifndef KDP_K8S_API_DS_H
#define KDP_K8S_API_DS_H

#include "control/ds.h"

enum k8s_api_source {
	K8S_API_KUBECONFIG, /**< the file given in kubeconfig */
	K8S_API_INCLUSTER,  /**< service account + KUBERNETES_SERVICE_* */
	K8S_API_DEFAULT,    /**< $KUBECONFIG list, else ~/.kube/config */
};

struct k8s_api_conf {
	/** A kubeconfig path; NULL means in-cluster config. */
	const char *kubeconfig;
	/** Overrides the choice made from @ref kubeconfig when non-zero. */
	enum k8s_api_source source;
};

/**
 * Load the configuration and start (requests go out on the first poll).
 * @return NULL with errno (ENOENT/EINVAL for a bad config, logged).
 */
struct ctl_ds *k8s_api_ds_create(const struct k8s_api_conf *conf,
				 struct ctl_store *st);

#endif /* KDP_K8S_API_DS_H */
