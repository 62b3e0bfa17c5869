/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "control/netlink.h"
#include "control/podport.h"
#include "control/store.h"
#include "dp/log.h"
#include "dp/vport.h"

#define STATE_FILE "ports.json"

void ctl_pods_init(struct ctl_pods *r, const struct ctl_config *cfg,
		   struct rte_mempool *mp, unsigned int n_workers)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->mp = mp;
	r->n_workers = n_workers;
}

const char *ctl_pp_kind_name(enum ctl_pp_kind k)
{
	switch (k) {
	case CTL_PP_TAP:
		return "tap";
	case CTL_PP_VHOST:
		return "vhost-user";
	case CTL_PP_VHOST_CLIENT:
		return "vhost-user-client";
	default:
		return "config";
	}
}

static struct ctl_pp *pp_new(const char *pod, enum ctl_pp_kind kind)
{
	struct ctl_pp *pp = calloc(1, sizeof(*pp));

	if (pp == NULL)
		return NULL;
	snprintf(pp->pod, sizeof(pp->pod), "%s", pod);
	pp->kind = kind;
	pp->base_worker = UINT16_MAX;
	return pp;
}

int ctl_pods_add_config(struct ctl_pods *r, size_t i, char *err,
			size_t errlen)
{
	const struct ctl_pod_port_conf *pc = &r->cfg->pod_ports[i];
	char what[48];
	int rc;

	/* ctl_config_load() checked pc->pod (ctl_pod_key_ok()). */
	struct ctl_pp *pp = pp_new(pc->pod, CTL_PP_CONFIG);
	if (pp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(what, sizeof(what), "pod_ports[%zu]", i);
	if (pc->vhost_socket) {
		char name[32];

		struct stat sb;

		/* Server: a socket left by a previous run would make bind()
		 * fail; anything else there is not kdp's to remove. */
		if (!pc->vhost_client && lstat(pc->vhost_socket, &sb) == 0 &&
		    S_ISSOCK(sb.st_mode))
			unlink(pc->vhost_socket);
		snprintf(name, sizeof(name), "kdpvhost%u", r->next_id++);
		rc = dp_vport_open_vhost(what, name, pc->vhost_socket,
					 pc->vhost_client, r->n_workers, r->mp,
					 &pp->port, err, errlen);
	} else {
		rc = dp_port_open(what, pc->devargs, r->n_workers, r->mp,
				  ctl_pods_mtu(r), 0, NULL, &pp->port, err,
				  errlen);
	}
	if (rc == 0 && ctl_pods_find_port(r, pp->port.id)) {
		snprintf(err, errlen, "%s: device %s is already used", what,
			 pp->port.name);
		rc = -EEXIST;
	}
	if (rc) {
		free(pp);
		return rc;
	}
	pp->has_mac = pc->has_mac;
	pp->mac = pc->mac;
	HASH_ADD_STR(r->by_pod, pod, pp);
	return 0;
}

int ctl_pods_start_all(struct ctl_pods *r)
{
	struct ctl_pp *pp, *tmp;

	HASH_ITER(hh, r->by_pod, pp, tmp)
		if (pp->kind == CTL_PP_CONFIG && dp_port_start(&pp->port) != 0)
			return -EIO;
	return 0;
}

struct ctl_pp *ctl_pods_find(const struct ctl_pods *r, const char *pod)
{
	struct ctl_pp *pp;

	HASH_FIND_STR(r->by_pod, pod, pp);
	return pp;
}

struct ctl_pp *ctl_pods_find_port(const struct ctl_pods *r, uint16_t port)
{
	struct ctl_pp *pp, *tmp;

	HASH_ITER(hh, r->by_pod, pp, tmp)
		if (pp->port.id == port)
			return pp;
	return NULL;
}

/* Container ids name a file: only [A-Za-z0-9_.-], no leading dot. Up to
 * what a ctl_pp keeps: runtimes' ids are 64 hex digits (containerd,
 * CRI-O), which a limit of 63 refused. The socket path's own limit is
 * checked after. */
static bool cid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= sizeof(((struct ctl_pp *)0)->container_id) ||
	    s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

int ctl_pp_check_cid(const char *cid, char *err, size_t errlen)
{
	if (cid_ok(cid))
		return 0;
	snprintf(err, errlen, "container_id: \"%.200s\" must be 1-127 "
		 "characters of [A-Za-z0-9_.-], not starting with '.'",
		 cid ? cid : "");
	return -EINVAL;
}

bool ctl_pp_cid_match(const struct ctl_pp *pp, const char *cid)
{
	return cid == NULL || pp->container_id[0] == '\0' ||
	       strcmp(pp->container_id, cid) == 0;
}

/* The API kind names; CTL_PP_CONFIG when @p name is none of them. */
static enum ctl_pp_kind kind_of(const char *name)
{
	static const enum ctl_pp_kind api[] = {CTL_PP_TAP, CTL_PP_VHOST,
					       CTL_PP_VHOST_CLIENT};

	for (size_t i = 0; name && i < RTE_DIM(api); i++)
		if (strcmp(name, ctl_pp_kind_name(api[i])) == 0)
			return api[i];
	return CTL_PP_CONFIG;
}

/* "a.b.c.d" or "a.b.c.d/32" (what kdp-cni has at hand). 0 or -EINVAL. */
static int parse_pod_ip(const char *s, uint32_t *ip)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf) || (slash && strcmp(slash, "/32") != 0))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ctl_parse_ipv4(buf, ip) != 0 || *ip == 0)
		return -EINVAL;
	return 0;
}

int ctl_pods_check(const struct ctl_pods *r, const struct ctl_pp_req *q,
		   char *err, size_t errlen)
{
	enum ctl_pp_kind kind = kind_of(q->kind);
	uint32_t ip;

	if (q->not_string) {
		snprintf(err, errlen, "%s: must be a string", q->not_string);
		return -EINVAL;
	}
	if (!ctl_pod_key_ok(q->pod)) {
		snprintf(err, errlen, "pod: \"%s\" is not \"namespace/name\" "
			 "(a namespace of %u characters at most, a name of %u)",
			 q->pod ? q->pod : "", CTL_NS_MAX, CTL_POD_NAME_MAX);
		return -EINVAL;
	}
	if (kind == CTL_PP_CONFIG) {
		snprintf(err, errlen, "kind: must be \"tap\", \"vhost-user\" "
			 "or \"vhost-user-client\"");
		return -EINVAL;
	}
	if (q->ip && (kind != CTL_PP_TAP || parse_pod_ip(q->ip, &ip) != 0)) {
		snprintf(err, errlen, kind != CTL_PP_TAP ?
			 "ip: only for a tap port" :
			 "ip: \"%s\" is not an IPv4 address (or one /32)",
			 q->ip);
		return -EINVAL;
	}
	if (kind == CTL_PP_TAP) {
		if (!ctl_link_name_ok(q->ifname)) {
			snprintf(err, errlen, "ifname: \"%s\" is not an "
				 "interface name", q->ifname ? q->ifname : "");
			return -EINVAL;
		}
		if (q->netns == NULL || q->netns[0] != '/' ||
		    strlen(q->netns) >= sizeof(((struct ctl_pp *)0)->netns)) {
			snprintf(err, errlen, "netns: an absolute path is "
				 "required for a tap port");
			return -EINVAL;
		}
		if (access(q->netns, R_OK) != 0) {
			snprintf(err, errlen, "netns: %s: %s", q->netns,
				 strerror(errno));
			return -ENOENT;
		}
	} else if (ctl_pp_check_cid(q->container_id, err, errlen) != 0) {
		return -EINVAL;
	} else if (strlen(r->cfg->vhost_dir) + strlen(q->container_id) +
		   sizeof("/.sock") > sizeof(((struct ctl_pp *)0)->socket)) {
		snprintf(err, errlen, "container_id: too long for a socket "
			 "path in %s", r->cfg->vhost_dir);
		return -EINVAL;
	}
	/* Optional for a tap (older clients), but when given it tells the
	 * pod's sandboxes apart (port_add, port_del), so the same rules. */
	if (kind == CTL_PP_TAP && q->container_id &&
	    ctl_pp_check_cid(q->container_id, err, errlen) != 0)
		return -EINVAL;
	/* A port replaced gives its place to the new one. */
	if (r->n_api - (q->replaces ? 1 : 0) >= r->cfg->max_api_ports) {
		snprintf(err, errlen, "max_api_ports (%u) reached",
			 r->cfg->max_api_ports);
		return -ENOSPC;
	}
	return 0;
}

/* mkdir -p, the last level with @p mode. */
static int mkdirs(const char *path, mode_t mode)
{
	char buf[256];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Undo a failed dp_port_open(): the device may have been probed. */
static void remove_dev(const char *devargs)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	const char *comma = strchr(devargs, ',');
	uint16_t pid;

	snprintf(name, sizeof(name), "%.*s",
		 (int)(comma ? comma - devargs : (long)strlen(devargs)), devargs);
	if (rte_eth_dev_get_port_by_name(name, &pid) == 0) {
		struct dp_port p = {.id = pid};
		dp_port_close(&p);
	}
}

/* Probe, configure and start an API device; on failure nothing is left. */
static int open_start(struct ctl_pods *r, struct ctl_pp *pp,
		      const char *devargs, char *err, size_t errlen)
{
	int rc = dp_port_open(pp->pod, devargs, r->n_workers, r->mp,
			      ctl_pods_mtu(r), CTL_PP_NB_DESC, NULL, &pp->port,
			      err, errlen);
	if (rc) {
		remove_dev(devargs);
		return rc;
	}
	if ((rc = dp_port_start(&pp->port)) != 0) {
		snprintf(err, errlen, "%s: cannot start %s: %s", pp->pod,
			 pp->port.name, strerror(-rc));
		dp_port_close(&pp->port);
	}
	return rc;
}

static int open_tap(struct ctl_pods *r, struct ctl_pp *pp, unsigned int id,
		    char *err, size_t errlen)
{
	char devargs[256], tmp[IF_NAMESIZE];
	int rc;

	/* A temporary name in kdp's namespace, unique across kdp instances. */
	snprintf(tmp, sizeof(tmp), "kt%x_%u", (unsigned)getpid() & 0xfffff, id);
	/* Native: kdp's own tap (dp/vport.h), no ethdev, so no limit of 32. */
	if (r->cfg->tap_native) {
		char name[32];

		snprintf(name, sizeof(name), "kdptap%u", id);
		rc = dp_vport_open_tap(pp->pod, name, tmp, r->n_workers, r->mp,
				       &pp->port, err, errlen);
	} else {
		/* Where the kernel offers vhost-net, virtio-user is the faster
		 * exception path (the kernel side is again a tap interface).
		 * Untested here: the test machine has no /dev/vhost-net. */
		if (access("/dev/vhost-net", R_OK | W_OK) == 0)
			snprintf(devargs, sizeof(devargs),
				 "net_virtio_user_kdp%u,path=/dev/vhost-net,"
				 "iface=%s,queues=%u,queue_size=%u", id, tmp,
				 r->n_workers, CTL_PP_NB_DESC);
		else
			snprintf(devargs, sizeof(devargs),
				 "net_tap_kdp%u,iface=%s", id, tmp);
		rc = open_start(r, pp, devargs, err, errlen);
	}
	if (rc != 0)
		return rc;
	rc = ctl_link_move(tmp, pp->netns, pp->ifname, &pp->mac,
			   ctl_pods_mtu(r), err, errlen);
	if (rc)
		dp_port_close(&pp->port);
	return rc;
}

/* Address and routes of a tap pod whose IP is known. */
static int pod_net(struct ctl_pods *r, struct ctl_pp *pp, char *err,
		   size_t errlen)
{
	int rc = ctl_pod_net_setup(pp->netns, pp->ifname, pp->ip,
				   ctl_pods_mtu(r), NULL, err, errlen);

	pp->net_pending = rc != 0;
	if (rc == 0) {
		struct in_addr a = {.s_addr = htonl(pp->ip)};
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		KDP_LOG(INFO, "pod %s: %s configured with %s/32", pp->pod,
			pp->ifname, ip);
	}
	return rc;
}

static int open_vhost(struct ctl_pods *r, struct ctl_pp *pp, unsigned int id,
		      bool client, char *err, size_t errlen)
{
	char devargs[384];
	int rc;

	if ((rc = mkdirs(r->cfg->vhost_dir, 0755)) != 0) {
		snprintf(err, errlen, "vhost_dir %s: %s", r->cfg->vhost_dir,
			 strerror(-rc));
		return rc;
	}
	if (snprintf(pp->socket, sizeof(pp->socket), "%s/%s.sock",
		     r->cfg->vhost_dir, pp->container_id) >=
	    (int)sizeof(pp->socket)) {
		snprintf(err, errlen, "vhost socket path too long");
		return -ENAMETOOLONG;
	}
	/* Server: a socket left by a previous run would make bind() fail.
	 * Client: the socket is the pod's; the vhost library connects to it
	 * and reconnects every second whenever it is not (yet) there. */
	if (!client)
		unlink(pp->socket);
	/* Native: driven through the vhost library directly (dp/vport.h),
	 * no ethdev, so no limit of 32. */
	if (r->cfg->vhost_native) {
		char name[32];

		snprintf(name, sizeof(name), "kdpvhost%u", id);
		return dp_vport_open_vhost(pp->pod, name, pp->socket, client,
					   r->n_workers, r->mp, &pp->port, err,
					   errlen);
	}
	snprintf(devargs, sizeof(devargs),
		 "net_vhost_kdp%u,iface=%s,client=%d,queues=%u", id, pp->socket,
		 client, r->n_workers);
	return open_start(r, pp, devargs, err, errlen);
}

int ctl_pods_open(struct ctl_pods *r, const struct ctl_pp_req *q,
		  struct ctl_pp **out, char *err, size_t errlen)
{
	enum ctl_pp_kind kind = kind_of(q->kind);
	struct ctl_pp *pp = pp_new(q->pod, kind);
	unsigned int id = r->next_id++;
	int rc;

	if (pp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (q->container_id)
		snprintf(pp->container_id, sizeof(pp->container_id), "%s",
			 q->container_id);
	/* kdp picks the pod's MAC, so it is a static neighbor: a tap gets it
	 * from kdp, a vhost-user pod (whose DPDK app answers no ARP) is told
	 * it in the answer and sets it on its virtio-user device. */
	pp->has_mac = true;
	if (q->mac)
		pp->mac = *q->mac;
	else
		rte_eth_random_addr(pp->mac.addr_bytes);
	if (kind == CTL_PP_TAP) {
		snprintf(pp->ifname, sizeof(pp->ifname), "%s", q->ifname);
		snprintf(pp->netns, sizeof(pp->netns), "%s", q->netns);
		if (q->ip)
			parse_pod_ip(q->ip, &pp->ip); /* checked */
		rc = open_tap(r, pp, id, err, errlen);
		/* A restored pod keeps its port even if its configuration
		 * fails (logged; retried with the next datastore change). */
		if (rc == 0 && pp->ip && pod_net(r, pp, err, errlen) != 0) {
			KDP_LOG(ERR, "pod %s: %s", pp->pod, err);
			if (!q->restore) {
				dp_port_close(&pp->port);
				rc = -EIO;
			}
		}
		if (q->restore && pp->ip == 0)
			pp->net_pending = true; /* ctl_pods_learn() will */
	} else {
		rc = open_vhost(r, pp, id, kind == CTL_PP_VHOST_CLIENT, err,
				errlen);
	}
	if (rc == -ENOSPC && !(kind == CTL_PP_TAP ? r->cfg->tap_native :
			       r->cfg->vhost_native)) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "; set \"%s_ports\": \"native\" "
			 "for more %s pods", kind == CTL_PP_TAP ? "tap" :
			 "vhost", kind == CTL_PP_TAP ? "kernel" : "DPDK");
	}
	if (rc) {
		free(pp);
		return rc;
	}
	HASH_ADD_STR(r->by_pod, pod, pp);
	r->n_api++;
	KDP_LOG(NOTICE, "pod %s: %s port %u (%s) added", pp->pod,
		ctl_pp_kind_name(pp->kind), pp->port.id, pp->port.name);
	*out = pp;
	return 0;
}

void ctl_pods_unlink(struct ctl_pods *r, struct ctl_pp *pp)
{
	HASH_DEL(r->by_pod, pp);
	if (pp->kind != CTL_PP_CONFIG)
		r->n_api--;
	pp->next_dying = r->dying;
	r->dying = pp;
}

void ctl_pods_relink(struct ctl_pods *r, struct ctl_pp *pp)
{
	RTE_VERIFY(r->dying == pp);
	r->dying = pp->next_dying;
	pp->next_dying = NULL;
	HASH_ADD_STR(r->by_pod, pod, pp);
	if (pp->kind != CTL_PP_CONFIG)
		r->n_api++;
}

static void pp_close(struct ctl_pp *pp)
{
	dp_port_close(&pp->port);
	if (pp->kind == CTL_PP_VHOST) /* not the pod's (vhost-user-client) */
		unlink(pp->socket);
	free(pp);
}

void ctl_pods_discard(struct ctl_pods *r, struct ctl_pp *pp)
{
	HASH_DEL(r->by_pod, pp);
	if (pp->kind != CTL_PP_CONFIG)
		r->n_api--;
	KDP_LOG(NOTICE, "pod %s: port %u (%s) closed", pp->pod, pp->port.id,
		pp->port.name);
	pp_close(pp);
}

void ctl_pods_reap(struct ctl_pods *r)
{
	while (r->dying) {
		struct ctl_pp *pp = r->dying;
		r->dying = pp->next_dying;
		KDP_LOG(NOTICE, "pod %s: port %u (%s) closed", pp->pod,
			pp->port.id, pp->port.name);
		pp_close(pp);
	}
}

void ctl_pods_fini(struct ctl_pods *r)
{
	struct ctl_pp *pp, *tmp;

	ctl_pods_reap(r);
	HASH_ITER(hh, r->by_pod, pp, tmp) {
		HASH_DEL(r->by_pod, pp);
		pp_close(pp);
	}
	r->n_api = 0;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v) ? 0 : -ENOMEM;
}

cJSON *ctl_pp_json(const struct ctl_pods *r, const struct ctl_pp *pp)
{
	cJSON *o = cJSON_CreateObject();
	const uint8_t *b = pp->mac.addr_bytes;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	int rc;

	if (o == NULL)
		return NULL;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5]);
	rc = add_str(o, "pod", pp->pod) |
	     add_str(o, "kind", ctl_pp_kind_name(pp->kind)) |
	     (cJSON_AddNumberToObject(o, "port", pp->port.id) ? 0 : -ENOMEM) |
	     (cJSON_AddNumberToObject(o, "mtu", ctl_pods_mtu(r)) ? 0 : -ENOMEM);
	if (pp->has_mac)
		rc |= add_str(o, "mac", mac);
	if (pp->ifname[0])
		rc |= add_str(o, "ifname", pp->ifname);
	if (pp->netns[0])
		rc |= add_str(o, "netns", pp->netns);
	if (pp->ip) {
		struct in_addr a = {.s_addr = htonl(pp->ip)};
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		rc |= add_str(o, "ip", ip);
	}
	if (pp->socket[0])
		rc |= add_str(o, "socket", pp->socket);
	if (pp->container_id[0])
		rc |= add_str(o, "container_id", pp->container_id);
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

int ctl_pods_save(struct ctl_pods *r)
{
	char path[512], tmp[520];
	struct ctl_pp *pp, *it;
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = root ? cJSON_AddArrayToObject(root, "ports") : NULL;
	char *s = NULL;
	int fd = -1, rc;

	if (arr == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	HASH_ITER(hh, r->by_pod, pp, it) {
		if (pp->kind == CTL_PP_CONFIG)
			continue;
		cJSON *o = ctl_pp_json(r, pp);
		if (o == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
	}
	s = cJSON_Print(root);
	if (s == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = mkdirs(r->cfg->state_dir, 0700)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/" STATE_FILE, r->cfg->state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = write_all(fd, s)) == 0 && fsync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0) {
		/* The rename itself must reach the disk too. */
		int dfd = open(r->cfg->state_dir, O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		unlink(tmp);
	}
out:
	if (rc)
		KDP_LOG(ERR, "state %s/" STATE_FILE ": cannot write: %s",
			r->cfg->state_dir, strerror(-rc));
	r->save_failed = rc != 0;
	free(s);
	cJSON_Delete(root);
	return rc;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    n < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		size_t got = fread(buf, 1, (size_t)n, f);
		buf[got] = '\0';
	}
	fclose(f);
	return buf;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Key @p k of a request: its string, or NULL. A value of another type
 * (null included) is recorded, not taken for an absent key: "ip":167772165
 * would otherwise add a tap without its address, and no error. */
static const char *req_str(const cJSON *o, const char *k, struct ctl_pp_req *q)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v && !cJSON_IsString(v) && q->not_string == NULL)
		q->not_string = k;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void ctl_pp_req_from_json(const cJSON *o, struct ctl_pp_req *q)
{
	memset(q, 0, sizeof(*q));
	q->pod = req_str(o, "pod", q);
	q->kind = req_str(o, "kind", q);
	q->ifname = req_str(o, "ifname", q);
	q->netns = req_str(o, "netns", q);
	q->container_id = req_str(o, "container_id", q);
	q->ip = req_str(o, "ip", q);
}

int ctl_pods_restore(struct ctl_pods *r)
{
	char path[512], err[512];
	int n = 0, dropped = 0;

	snprintf(path, sizeof(path), "%s/" STATE_FILE, r->cfg->state_dir);
	char *s = read_file(path);
	if (s == NULL)
		return 0;
	cJSON *root = cJSON_Parse(s);
	free(s);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "ports");
	if (!cJSON_IsArray(arr)) {
		KDP_LOG(ERR, "state %s: not a kdp state file, ignored", path);
		cJSON_Delete(root);
		return 0;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		struct rte_ether_addr mac;
		const char *m = jstr(it, "mac");
		struct ctl_pp_req q;
		struct ctl_pp *pp;

		ctl_pp_req_from_json(it, &q);
		q.restore = true;
		int rc = ctl_pods_check(r, &q, err, sizeof(err));
		if (rc == 0 && ctl_pods_find(r, q.pod)) {
			snprintf(err, sizeof(err), "pod has a port already");
			rc = -EEXIST;
		}
		/* A pod's MAC must be a host's (as in the configuration): a
		 * group or zero address from a damaged file would be set on
		 * the pod's interface or told to a vhost-user pod. */
		if (m && ctl_parse_mac(m, &mac) == 0 &&
		    rte_is_valid_assigned_ether_addr(&mac))
			q.mac = &mac;
		else if (m && rc == 0)
			KDP_LOG(WARNING, "state: pod %s: mac \"%.40s\" is not "
				"a host's, a new one is chosen", q.pod,
				m ? m : "");
		if (rc == 0)
			rc = ctl_pods_open(r, &q, &pp, err, sizeof(err));
		if (rc) {
			KDP_LOG(ERR, "state: pod %s not restored: %s",
				q.pod ? q.pod : "?", err);
			dropped++;
			continue;
		}
		n++;
	}
	cJSON_Delete(root);
	if (dropped)
		ctl_pods_save(r);
	KDP_LOG(NOTICE, "state: %d pod port(s) restored, %d dropped", n,
		dropped);
	return n;
}

void ctl_pods_learn(struct ctl_pods *r, const struct ctl_store *st)
{
	struct ctl_pp *pp, *tmp;
	char key[sizeof(pp->pod)], err[512];
	bool learnt = false;

	HASH_ITER(hh, r->by_pod, pp, tmp) {
		if (pp->kind != CTL_PP_TAP || (pp->ip && !pp->net_pending))
			continue;
		snprintf(key, sizeof(key), "%s", pp->pod);
		char *name = strchr(key, '/');
		*name++ = '\0'; /* checked at port_add */
		const struct ctl_pod *p = ctl_store_get(st, CTL_RES_POD, key,
							name);
		if (pp->ip == 0) {
			if (p == NULL || p->n_ips == 0)
				continue;
			pp->ip = p->ips[0];
			learnt = true;
		}
		if (pp->net_pending && pod_net(r, pp, err, sizeof(err)) != 0)
			KDP_LOG(ERR, "pod %s: %s", pp->pod, err);
	}
	if (learnt)
		ctl_pods_save(r);
}
