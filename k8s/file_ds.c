/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The file datastore: a directory of *.json files, each holding one object or
 * a List. Any change re-reads the whole directory as one resync of every
 * resource: simple, and objects removed from a file are deleted for free.
 *
 * Each file remembers its last good parse. A file that currently fails to
 * parse (an editor mid-save, a typo) contributes that last good content, so
 * its objects keep their state instead of disappearing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_telemetry.h>
#include <uthash.h>

#include "control/ds.h"
#include "control/store.h"
#include "dp/log.h"
#include "k8s/decode.h"
#include "k8s/jsonkeys.h"

#define FDS_MAX_FILE (256u << 20) /* larger is surely not a manifest */

/*
 * What identifies a file version without reading it again. Only a shortcut
 * for files inotify said nothing about: an event naming a file clears its
 * stamp, so two same-size writes within one mtime tick are still seen.
 */
struct fds_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct fds_file {
	UT_hash_handle hh;
	char *name;  /* basename inside the directory */
	cJSON *good; /* last successful parse, NULL if never */
	struct fds_stamp stamp; /* of the version last read */
	bool present;
	bool fresh;  /* good was parsed in this reload */
};

struct file_ds {
	struct ctl_ds ds;
	char *dir;
	int ifd;
	bool synced;
	struct fds_file *files;
	/* guards what status() reads from the telemetry thread */
	pthread_mutex_t lock;
	size_t counts[CTL_RES_MAX];
	char last_error[RTE_TEL_MAX_STRING_LEN];
	uint64_t reloads;
};

static struct file_ds *fds_of(const struct ctl_ds *ds)
{
	return ds->priv;
}

static void set_error(struct file_ds *f, bool log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the last error for status(); @p log is false when already logged. */
static void set_error(struct file_ds *f, bool log, const char *fmt, ...)
{
	char buf[sizeof(f->last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log)
		KDP_LOG(ERR, "file datastore: %s", buf);
	pthread_mutex_lock(&f->lock);
	memcpy(f->last_error, buf, sizeof(buf));
	pthread_mutex_unlock(&f->lock);
}

/* Editors write dotfiles and *.swp/~ temporaries: only "x.json" counts. */
static bool relevant_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/*
 * Read @p name unless its stamp equals @p stamp (then it is unchanged).
 * @return 1 and a buffer, 0 when the file is unchanged, not a regular file
 *   or empty (being written: keep the last state), or -errno.
 */
static int read_file(int dfd, const char *name, struct fds_stamp *stamp,
		     char **buf, size_t *len)
{
	struct fds_stamp now;
	struct stat sb;
	size_t got = 0;
	int fd, rc = 0;
	char *b;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
		goto out_close;
	memset(&now, 0, sizeof(now));
	now.dev = sb.st_dev;
	now.ino = sb.st_ino;
	now.size = sb.st_size;
	now.mtime = sb.st_mtim;
	if (memcmp(&now, stamp, sizeof(now)) == 0)
		goto out_close;
	*stamp = now;
	if ((uint64_t)sb.st_size > FDS_MAX_FILE) {
		rc = -EFBIG;
		goto out_close;
	}
	b = malloc((size_t)sb.st_size + 1);
	if (b == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, b + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* truncated meanwhile: parse what we have */
		got += (size_t)r;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	rc = 1;
out_close:
	close(fd);
	return rc;
}

static struct fds_file *file_get(struct file_ds *f, const char *name)
{
	struct fds_file *ff;

	HASH_FIND_STR(f->files, name, ff);
	if (ff != NULL)
		return ff;
	ff = calloc(1, sizeof(*ff)); /* zeroed stamp: read it the first time */
	if (ff == NULL || (ff->name = strdup(name)) == NULL) {
		free(ff);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, f->files, ff->name, strlen(ff->name), ff);
	return ff;
}

static void file_free(struct fds_file *ff)
{
	cJSON_Delete(ff->good);
	free(ff->name);
	free(ff);
}

/* Re-read one file; on failure its last good content stays. */
static void scan_file(struct file_ds *f, int dfd, const char *name)
{
	struct fds_file *ff = file_get(f, name);
	char *buf = NULL;
	size_t len = 0;
	cJSON *root;
	int rc;

	if (ff == NULL) {
		set_error(f, true, "%s: out of memory", name);
		return;
	}
	ff->present = true;
	rc = read_file(dfd, name, &ff->stamp, &buf, &len);
	if (rc < 0) {
		set_error(f, true, "%s: %s", name, strerror(-rc));
		return;
	}
	if (rc == 0)
		return;
	size_t at = 0;

	root = k8s_json_parse(buf, len, &at);
	if (root == NULL) {
		set_error(f, true, "%s: invalid JSON near offset %zu; keeping its last good state",
			  name, at);
	} else {
		cJSON_Delete(ff->good);
		ff->good = root;
		ff->fresh = true;
	}
	free(buf);
}

/* Upsert one object; @p api / @p kind are inferred defaults (list items). */
static void apply_object(struct file_ds *f, const struct fds_file *ff,
			 const cJSON *obj, const char *api, const char *kind)
{
	const char *file = ff->name;
	const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	enum ctl_res res;
	int rc;

	if (!cJSON_IsObject(obj)) {
		set_error(f, true, "%s: list item is not an object", file);
		return;
	}
	rc = k8s_res_from_kind(a ? a : api, k ? k : kind, &res);
	if (rc == -ENOENT) {
		KDP_LOG(DEBUG, "file datastore: %s: ignoring %s %s", file,
			a ? a : api, k ? k : kind);
		return;
	}
	if (rc < 0) {
		set_error(f, true, "%s: object without apiVersion/kind", file);
		return;
	}
	/* An unchanged file's objects were delivered from these very trees:
	 * a relist need not compare them again (10k objects per reload). */
	if (!ff->fresh && ctl_store_redeliver(f->ds.store, res, obj))
		return;
	if (ctl_store_upsert(f->ds.store, res, obj) < 0)
		set_error(f, false, "%s: %s object rejected (see log)", file,
			  ctl_res_name(res));
}

/* A file's root: one object, or a List whose items may omit kind. */
static void apply_root(struct file_ds *f, const struct fds_file *ff,
		       const cJSON *root)
{
	const char *file = ff->name;
	const char *api = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "apiVersion"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "kind"));
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	size_t kl = kind ? strlen(kind) : 0;
	char item_kind[128] = "";
	const cJSON *it;

	if (kl < 4 || strcmp(kind + kl - 4, "List") != 0) {
		apply_object(f, ff, root, NULL, NULL);
		return;
	}
	if (!cJSON_IsArray(items)) {
		if (!cJSON_IsNull(items) && items != NULL)
			set_error(f, true, "%s: %s.items is not an array", file, kind);
		return;
	}
	/* "NodeList" items are Nodes; a plain "List" names nothing */
	if (kl > 4 && kl - 4 < sizeof(item_kind))
		snprintf(item_kind, sizeof(item_kind), "%.*s", (int)(kl - 4), kind);
	cJSON_ArrayForEach(it, items)
		apply_object(f, ff, it, api, item_kind[0] ? item_kind : NULL);
}

static int cmp_file(struct fds_file *a, struct fds_file *b)
{
	return strcmp(a->name, b->name);
}

static int reload(struct file_ds *f)
{
	struct ctl_store *st = f->ds.store;
	struct fds_file *ff, *tmp;
	struct dirent *de;
	size_t counts[CTL_RES_MAX];
	DIR *d = opendir(f->dir);

	if (d == NULL) {
		int rc = -errno;

		set_error(f, true, "%s: %s", f->dir, strerror(-rc));
		return rc;
	}
	HASH_ITER(hh, f->files, ff, tmp)
		ff->present = false;
	while ((de = readdir(d)) != NULL)
		if (relevant_name(de->d_name))
			scan_file(f, dirfd(d), de->d_name);
	closedir(d);
	HASH_ITER(hh, f->files, ff, tmp) {
		if (!ff->present) {
			HASH_DEL(f->files, ff);
			file_free(ff);
		}
	}
	/* later files win for an object defined twice: name order is stable */
	HASH_SORT(f->files, cmp_file);

	for (int r = 0; r < CTL_RES_MAX; r++)
		ctl_store_resync_begin(st, (enum ctl_res)r);
	HASH_ITER(hh, f->files, ff, tmp) {
		if (ff->good != NULL)
			apply_root(f, ff, ff->good);
		ff->fresh = false;
	}
	for (int r = 0; r < CTL_RES_MAX; r++) {
		ctl_store_resync_end(st, (enum ctl_res)r);
		counts[r] = ctl_store_count(st, (enum ctl_res)r);
	}

	pthread_mutex_lock(&f->lock);
	memcpy(f->counts, counts, sizeof(counts));
	f->reloads++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void forget_stamp(struct file_ds *f, const char *name)
{
	struct fds_file *ff, *tmp;

	if (name == NULL) {
		HASH_ITER(hh, f->files, ff, tmp)
			memset(&ff->stamp, 0, sizeof(ff->stamp));
		return;
	}
	HASH_FIND_STR(f->files, name, ff);
	if (ff != NULL)
		memset(&ff->stamp, 0, sizeof(ff->stamp));
}

/* Drain inotify; true when something that matters changed. */
static bool drain_events(struct file_ds *f)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	for (;;) {
		ssize_t n = read(f->ifd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return changed;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF |
					IN_MOVE_SELF | IN_IGNORED)) {
				forget_stamp(f, NULL); /* events were lost */
				changed = true;
			} else if (ev->len > 0 && relevant_name(ev->name)) {
				forget_stamp(f, ev->name);
				changed = true;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int fds_poll(struct ctl_ds *ds, int timeout_ms)
{
	struct file_ds *f = fds_of(ds);
	struct pollfd pfd = {.fd = f->ifd, .events = POLLIN};
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0 || !drain_events(f))
		return 0;
	return reload(f);
}

static bool fds_synced(const struct ctl_ds *ds)
{
	return fds_of(ds)->synced;
}

static void fds_status(struct ctl_ds *ds, struct rte_tel_data *d)
{
	struct file_ds *f = fds_of(ds);

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "type", ds->ops->type);
	rte_tel_data_add_dict_string(d, "dir", f->dir);
	pthread_mutex_lock(&f->lock);
	rte_tel_data_add_dict_int(d, "synced", f->synced);
	rte_tel_data_add_dict_u64(d, "reloads", f->reloads);
	rte_tel_data_add_dict_string(d, "last_error", f->last_error);
	for (int r = 0; r < CTL_RES_MAX; r++)
		rte_tel_data_add_dict_u64(d, ctl_res_name((enum ctl_res)r),
					  f->counts[r]);
	pthread_mutex_unlock(&f->lock);
}

static void fds_destroy(struct ctl_ds *ds)
{
	struct file_ds *f;
	struct fds_file *ff, *tmp;

	if (ds == NULL)
		return;
	f = fds_of(ds);
	HASH_ITER(hh, f->files, ff, tmp) {
		HASH_DEL(f->files, ff);
		file_free(ff);
	}
	if (f->ifd >= 0)
		close(f->ifd);
	pthread_mutex_destroy(&f->lock);
	free(f->dir);
	free(f);
}

static const struct ctl_ds_ops file_ds_ops = {
	.type = "file",
	.poll = fds_poll,
	.synced = fds_synced,
	.status = fds_status,
	.destroy = fds_destroy,
};

struct ctl_ds *k8s_file_ds_create(const char *dir, struct ctl_store *st)
{
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
			      IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF |
			      IN_MOVE_SELF | IN_ONLYDIR;
	struct file_ds *f;
	int err;

	if (dir == NULL || st == NULL) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->ifd = -1;
	pthread_mutex_init(&f->lock, NULL);
	f->ds.ops = &file_ds_ops;
	f->ds.store = st;
	f->ds.priv = f;
	f->dir = strdup(dir);
	if (f->dir == NULL)
		goto out_err;
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* watch before the first load so no change slips in between */
	if (f->ifd < 0 || inotify_add_watch(f->ifd, dir, mask) < 0)
		goto out_err;
	errno = -reload(f);
	if (errno != 0)
		goto out_err;
	pthread_mutex_lock(&f->lock);
	f->synced = true;
	pthread_mutex_unlock(&f->lock);
	KDP_LOG(INFO, "file datastore: loaded %s", dir);
	return &f->ds;

out_err:
	err = errno;
	KDP_LOG(ERR, "file datastore: cannot watch %s: %s", dir, strerror(err));
	fds_destroy(&f->ds);
	errno = err;
	return NULL;
}
