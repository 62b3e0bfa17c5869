/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The background build of a set's rte_acl forms and their attach (see
 * acl/acl.h "Background rte_acl build").
 *
 * Threads: the owner (control thread) calls acl_bg_start(),
 * acl_set_fast_poll() and acl_bg_release(); the builder is a detached
 * pthread per set. What they share in the set:
 *  - the programs, immutable once built: the builder only reads them;
 *  - s->fast[], fast_err, fast_ms: written by the builder, read by the
 *    owner only after an acquire load of fast_done (or after taking the
 *    last reference, whose acq_rel decrement orders them too);
 *  - fast_cancel: the owner's "nobody wants this any more";
 *  - refs: the owner's reference and the running builder's.
 * rte_acl works from a non-EAL thread: rte_acl_create() takes the EAL
 * tailq lock and allocates with rte_zmalloc_socket(SOCKET_ID_ANY), which
 * picks a socket with memory for threads without one; rte_acl_build()
 * only touches its own context.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "acl/acl_priv.h"
#include "dp/log.h"

/* One build at a time: a superseded builder finishes the context it is in
 * before the next builder starts, so builds never pile up on the CPUs. */
static pthread_mutex_t bg_build_lock = PTHREAD_MUTEX_INITIALIZER;

/* Running builders, for acl_fast_drain(). */
static pthread_mutex_t bg_run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_run_cond = PTHREAD_COND_INITIALIZER;
static unsigned int bg_running;

/* Contexts built, for acl_bg_built(). */
static uint64_t bg_built;

/* The builder yields to the control thread it may share a CPU with. */
#define BG_NICE 5

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *acl_fast_state_str(enum acl_fast_state st)
{
	switch (st) {
	case ACL_FAST_BUILDING:
		return "building";
	case ACL_FAST_READY:
		return "ready";
	case ACL_FAST_FAILED:
		return "failed";
	default:
		return "none";
	}
}

static bool cancelled(const struct acl_set *s)
{
	return __atomic_load_n(&s->fast_cancel, __ATOMIC_ACQUIRE) != 0;
}

/* Drop one reference; the last one frees the set. */
static void set_put(struct acl_set *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		acl_set_destroy(s);
}

/* A builder has ended (or never started). */
static void run_done(void)
{
	pthread_mutex_lock(&bg_run_lock);
	if (--bg_running == 0)
		pthread_cond_broadcast(&bg_run_cond);
	pthread_mutex_unlock(&bg_run_lock);
}

static void *bg_main(void *arg)
{
	struct acl_set *s = arg;
	double t0 = mono_s();
	char name[16];

	snprintf(name, sizeof(name), "kdp-acl%u", s->gen % 10000);
	pthread_setname_np(pthread_self(), name);
	/* Best effort: a thread's nice value is per thread on Linux. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BG_NICE);
	pthread_mutex_lock(&bg_build_lock);
	for (uint32_t g = 0; g < s->n_fast && !cancelled(s); g++) {
		const struct acl_prog *pg = &s->prog[s->grp_prog[g]];

		if (s->fast[g]) /* kept from the previous set */
			continue;
		int rc = acl_fast_build(pg, s->grp_scope ? &s->grp_scope[g] :
						   NULL, &s->fast[g]);

		if (rc == 0)
			__atomic_add_fetch(&bg_built, 1, __ATOMIC_RELAXED);
		/* Any failure leaves the group on the linear walk, which is
		 * always correct; only unexpected ones make the state
		 * "failed". */
		if (rc == 0 || rc == -ENOTSUP || cancelled(s))
			continue;
		KDP_LOG(WARNING, "policy program of %u rules stays linear: %s",
			pg->n, strerror(-rc));
		if (rc != -E2BIG && s->fast_err == 0)
			s->fast_err = rc;
	}
	pthread_mutex_unlock(&bg_build_lock);
	s->fast_ms = (mono_s() - t0) * 1e3;
	__atomic_store_n(&s->fast_done, 1, __ATOMIC_RELEASE);
	set_put(s);
	run_done();
	return NULL;
}

void acl_bg_start(struct acl_set *s)
{
	pthread_attr_t attr;
	uint32_t todo = 0;
	pthread_t th;
	int rc;

	s->info.fast_state = ACL_FAST_BUILDING;
	acl_fast_count(s); /* the forms kept from the previous set */
	for (uint32_t g = 0; g < s->n_fast; g++)
		todo += s->fast[g] == NULL;
	if (todo == 0) {
		/* Nothing to build: no program, or all kept. */
		s->fast_done = 1;
		return;
	}
	s->refs = 2; /* the owner's, the builder's */
	pthread_mutex_lock(&bg_run_lock);
	bg_running++;
	pthread_mutex_unlock(&bg_run_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, bg_main, s);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return;
	s->refs = 1;
	run_done();
	KDP_LOG(ERR, "policy: cannot start the rte_acl build: %s; the "
		"programs stay linear", strerror(rc));
	s->info.fast_state = ACL_FAST_FAILED;
}

void acl_bg_release(struct acl_set *s)
{
	__atomic_store_n(&s->fast_cancel, 1, __ATOMIC_RELEASE);
	set_put(s);
}

void acl_fast_count(struct acl_set *s)
{
	struct acl_set_info *in = &s->info;

	in->contexts = in->acl_rules = in->fast_programs = 0;
	for (uint32_t g = 0; g < s->n_fast; g++)
		if (s->fast[g]) {
			in->contexts++;
			in->acl_rules += s->fast[g]->n_rules;
		}
	for (uint32_t i = 0; s->prog_grp && i < s->n_ep * ACL_DIR_MAX; i++) {
		uint32_t g = s->prog_grp[i];

		in->fast_programs += g != UINT32_MAX && s->fast[g];
	}
}

/* Give the programs their group's form; count what was attached. */
static void attach(struct acl_set *s)
{
	struct acl_set_info *in = &s->info;

	for (uint32_t i = 0; s->prog_grp && i < s->n_ep * ACL_DIR_MAX; i++) {
		uint32_t g = s->prog_grp[i];

		if (g == UINT32_MAX || !s->fast[g] || s->prog[i].fast)
			continue;
		/* Workers may be classifying with this program right now:
		 * they see NULL (the linear walk) or the whole form. */
		__atomic_store_n(&s->prog[i].fast, s->fast[g],
				 __ATOMIC_RELEASE);
	}
	acl_fast_count(s);
	in->fast_build_ms = s->fast_ms;
	in->fast_ready_mono = mono_s();
	in->fast_state = s->fast_err ? ACL_FAST_FAILED : ACL_FAST_READY;
	if (s->n_fast)
		KDP_LOG(INFO, "policy generation %u: rte_acl forms attached to "
			"%u of %u programs (%u contexts, %u rules) after "
			"%.1f ms", s->gen, in->fast_programs, in->programs,
			in->contexts, in->acl_rules, s->fast_ms);
}

enum acl_fast_state acl_set_fast_poll(struct acl_set *s)
{
	if (!s)
		return ACL_FAST_NONE;
	if (s->info.fast_state == ACL_FAST_BUILDING &&
	    __atomic_load_n(&s->fast_done, __ATOMIC_ACQUIRE))
		attach(s);
	return s->info.fast_state;
}

enum acl_fast_state acl_set_fast_wait(struct acl_set *s)
{
	const struct timespec ms = { 0, 1000000 };
	enum acl_fast_state st;

	while ((st = acl_set_fast_poll(s)) == ACL_FAST_BUILDING)
		nanosleep(&ms, NULL);
	return st;
}

uint64_t acl_bg_built(void)
{
	return __atomic_load_n(&bg_built, __ATOMIC_RELAXED);
}

void acl_fast_drain(void)
{
	pthread_mutex_lock(&bg_run_lock);
	while (bg_running)
		pthread_cond_wait(&bg_run_cond, &bg_run_lock);
	pthread_mutex_unlock(&bg_run_lock);
}
