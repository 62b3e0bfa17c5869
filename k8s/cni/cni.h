/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * kdp-cni: the CNI plugin (spec 1.0.0) that plugs a Pod into kdp.
 *
 * Pieces, one file each:
 *  - main.c: command dispatch, result/error JSON;
 *  - conf.c: the network configuration from stdin;
 *  - env.c: the CNI_* environment;
 *  - api.c: synchronous Kubernetes API calls over k8s/client.h;
 *  - ipam.c: Calico-style IPAM through IPAMBlock/BlockAffinity/IPPool;
 *  - ipam_block.c: pure edits of one IPAMBlock (unit tested);
 *  - ipam_config.c: Calico's IPAMConfig, read without I/O (unit tested);
 *  - netcfg.c: address and routes inside the pod netns (control/netlink.h);
 *  - kdpsock.c: kdp's pod-port API (PODAPI.md) over its Unix socket.
 *
 * Errors are 0/-errno plus a message buffer; main.c maps them onto CNI codes.
 *
 * Thread-safety: the plugin is a short-lived single-threaded process.
 */
#ifndef KDP_K8S_CNI_H
#define KDP_K8S_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/** CNI error codes (spec "Error" section) plus kdp-cni's own (100+). */
enum cni_code {
	CNI_ERR_VERSION = 1,    /**< incompatible CNI version */
	CNI_ERR_FIELD = 2,      /**< unsupported field in netconf */
	CNI_ERR_CONTAINER = 3,  /**< container unknown or does not exist */
	CNI_ERR_ENV = 4,        /**< invalid necessary environment variables */
	CNI_ERR_IO = 5,         /**< I/O failure */
	CNI_ERR_DECODE = 6,     /**< failed to decode content */
	CNI_ERR_NETCONF = 7,    /**< invalid network config */
	CNI_ERR_AGAIN = 11,     /**< try again later */
	CNI_ERR_UNAVAILABLE = 50, /**< STATUS: plugin not available (CNI 1.1) */
	CNI_ERR_KDP = 100,      /**< kdp refused or failed the request */
	CNI_ERR_IPAM = 101,     /**< no address (pools exhausted, no pool) */
	CNI_ERR_API = 102,      /**< Kubernetes API error */
	CNI_ERR_NETLINK = 103,  /**< configuring the pod interface failed */
};

#define CNI_DEFAULT_SOCKET "/run/kdp/kdp.sock"
#define CNI_DEFAULT_SHARE_DIR "/run/kdp/vhost-share"

/* ---- conf.c ---- */

struct cni_conf {
	char *cni_version;
	char *name;
	char *kubeconfig;      /**< NULL: $KUBECONFIG/~/.kube, then in-cluster */
	char *kdp_socket;
	char *nodename;
	char *vhost_share_dir;
	int mtu;               /**< 0: take kdp's */
	cJSON *prev_result;    /**< CHECK: the ADD result, or NULL (owned) */
};

/** Versions this plugin speaks, oldest first, NULL-terminated. */
extern const char *const cni_versions[];

/** True when @p v is one of cni_versions. */
bool cni_version_supported(const char *v);

/**
 * Parse the netconf in @p text.
 * @return 0, or a CNI code (CNI_ERR_DECODE, _NETCONF, _VERSION, _FIELD) with
 *   @p err set. cni_conf_free() is needed either way.
 */
int cni_conf_parse(const char *text, struct cni_conf *c, char *err,
		   size_t errlen);
void cni_conf_free(struct cni_conf *c);

/* ---- env.c ---- */

/** Longest CNI_CONTAINERID (kdp keeps 127 bytes of it). */
#define CNI_MAX_CID 127
/** Room for a Kubernetes name: a pod name has 253 bytes at most. */
#define CNI_MAX_K8S_NAME 254

struct cni_env {
	const char *command;   /**< CNI_COMMAND (set by the caller) */
	const char *cid;       /**< CNI_CONTAINERID */
	const char *netns;     /**< CNI_NETNS; NULL for DEL without one */
	const char *ifname;    /**< CNI_IFNAME */
	char pod_ns[64];       /**< K8S_POD_NAMESPACE of CNI_ARGS, or "" */
	char pod_name[CNI_MAX_K8S_NAME]; /**< K8S_POD_NAME, or "" */
};

/**
 * Read and check CNI_CONTAINERID, CNI_IFNAME, CNI_NETNS and CNI_ARGS for
 * @p e->command (ADD, DEL or CHECK; DEL needs no netns nor pod names).
 * @return 0, or CNI_ERR_ENV with @p err naming the variable.
 */
int cni_env_parse(struct cni_env *e, char *err, size_t errlen);

/* ---- api.c ---- */

struct cni_api;

/**
 * Connect to the API server described by @p kubeconfig (NULL: default
 * kubeconfig, else in-cluster).
 * @return the handle, or NULL with @p err set.
 */
struct cni_api *cni_api_open(const char *kubeconfig, char *err, size_t errlen);
void cni_api_free(struct cni_api *a);

/**
 * One request. @p body may be NULL; @p ctype NULL means application/json.
 * @param http the HTTP status.
 * @param resp the decoded JSON answer (caller frees), NULL when not JSON.
 * @return 0 when an HTTP answer came back (any status), -EIO when the
 *   transfer failed (@p err says why), -ENOMEM.
 */
int cni_api_call(struct cni_api *a, const char *method, const char *path,
		 const char *ctype, const cJSON *body, long *http,
		 cJSON **resp, char *err, size_t errlen);

/**
 * JSON merge patch @p patch onto @p path, expecting 200.
 * @return 0, -EPROTO (other status; @p err says which), -EIO, -ENOMEM.
 */
int cni_api_merge_patch(struct cni_api *a, const char *path,
			const cJSON *patch, char *err, size_t errlen);

/** Describe a non-2xx answer: "HTTP 409 Conflict: message". */
void cni_api_describe(long http, const cJSON *resp, char *out, size_t n);

/* ---- ipam_block.c ---- */

/** Parse "a.b.c.d/n" into a host-order network (host bits must be 0). */
int cni_cidr_parse(const char *s, uint32_t *net, unsigned *plen);

/** "a.b.c.d" of a host-order address; @p out holds 16 bytes. */
void cni_ip_str(uint32_t ip, char *out);

/** Calico's object name for a CIDR: "10-244-104-0-26". */
void cni_block_name(uint32_t net, unsigned plen, char *out, size_t n);

/**
 * A new, empty IPAMBlock object for @p net/@p plen with affinity
 * "host:@p node" (all ordinals free, in order).
 */
cJSON *cni_block_new(uint32_t net, unsigned plen, const char *node,
		     const char *claim_time);

/**
 * Allocate one address in block @p spec (an IPAMBlock "spec"), recording
 * @p handle and a copy of @p secondary: the first valid entry of
 * "unallocated", else the lowest free ordinal.
 * @return 0 with @p ip set, -ENOSPC when full, -EINVAL for a malformed spec.
 */
int cni_block_alloc(cJSON *spec, const char *handle, const cJSON *secondary,
		    uint32_t *ip);

/** The first address held by @p handle in @p spec: 0, or -ENOENT. */
int cni_block_find(const cJSON *spec, const char *handle, uint32_t *ip);

/**
 * Free every ordinal held by @p handle and drop attributes nobody points to
 * any more (indexes are renumbered).
 * @return how many addresses were freed, or -EINVAL.
 */
int cni_block_release(cJSON *spec, const char *handle);

/** Go's time.String() of now in UTC, as Calico writes "timestamp". */
void cni_timestamp(char *out, size_t n);

/* ---- ipam_config.c ---- */

/** Calico's autoAssign cap on a node's blocks when maxBlocksPerHost is 0. */
#define CNI_IPAM_DEFAULT_MAX_BLOCKS 20

/** The IPAMConfig "default" fields cni_ipam_alloc() honours. */
struct cni_ipam_config {
	bool strict_affinity;      /**< never borrow from other blocks */
	bool auto_allocate_blocks; /**< claim new blocks for the node */
	unsigned max_blocks_per_host; /**< blocks affine to a node, at most */
};

/** Calico's defaults, as when no IPAMConfig exists. */
void cni_ipam_config_default(struct cni_ipam_config *cfg);

/**
 * Read IPAMConfig @p obj (a GET answer; NULL: there is none, so defaults).
 * @return 0, or -EINVAL with @p err naming the field that is missing or of
 *   the wrong type or range (@p cfg then holds the defaults, unused).
 */
int cni_ipam_config_parse(const cJSON *obj, struct cni_ipam_config *cfg,
			  char *err, size_t errlen);

/* ---- ipam.c ---- */

enum cni_ipam_use {
	CNI_IPAM_WORKLOAD,
	CNI_IPAM_TUNNEL, /**< IPIP tunnel address: IPIP pools only */
};

/**
 * Give @p handle one IPv4 address on @p node (idempotent: an address the
 * handle already holds is returned). @p secondary is recorded as is. As
 * Calico does: a block affine to @p node, else a newly claimed block, else
 * (unless IPAMConfig strictAffinity) an address borrowed from any other
 * block of the pools.
 * @return 0 with @p ip set; -ENOSPC (no pool, all full, or the IPAMConfig
 *   forbids what is left), -EINVAL (malformed IPAMConfig), -EIO (API
 *   unreachable), -EPROTO (API refused), -EAGAIN (too many conflicts).
 */
int cni_ipam_alloc(struct cni_api *a, const char *node, enum cni_ipam_use use,
		   const char *handle, const cJSON *secondary, uint32_t *ip,
		   char *err, size_t errlen);

/** Release everything @p handle holds. @return count (>= 0) or -errno. */
int cni_ipam_release(struct cni_api *a, const char *handle, char *err,
		     size_t errlen);

/** The address @p handle holds: 0, -ENOENT, or another -errno. */
int cni_ipam_lookup(struct cni_api *a, const char *handle, uint32_t *ip,
		    char *err, size_t errlen);

/* ---- netcfg.c ---- */

struct cni_link {
	int ifindex;
	char mac[18];
	int mtu;
};

/**
 * In netns @p netns: bring @p ifname up (with @p mtu when > 0), give it
 * @p ip/32, a link route to 169.254.1.1 and a default route via it (onlink).
 * Idempotent (replaces existing entries).
 * @return 0, -ENOENT (netns or interface missing), other -errno.
 */
int cni_net_setup(const char *netns, const char *ifname, uint32_t ip, int mtu,
		  struct cni_link *out, char *err, size_t errlen);

/**
 * Verify what cni_net_setup() did.
 * @return 0, -ENOENT (netns/interface missing), -ENXIO (address or route
 *   missing; @p err says which), other -errno.
 */
int cni_net_check(const char *netns, const char *ifname, uint32_t ip,
		  char *err, size_t errlen);

/* ---- kdpsock.c ---- */

/**
 * Send @p req to kdp at @p path and read its answer.
 * @return 0 with @p resp (caller frees), -ECONNREFUSED/-ENOENT (kdp not
 *   there), -ETIMEDOUT, -EPROTO (not JSON, or "ok":false: @p err has kdp's
 *   message), other -errno.
 */
int cni_kdp_call(const char *path, const cJSON *req, cJSON **resp, char *err,
		 size_t errlen);

#endif /* KDP_K8S_CNI_H */
