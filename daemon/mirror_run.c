/* mirror_run.c: the PostgreSQL mirror's thread in cairnd. */
#include "mirror_run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "error.h"
#include "log.h"
#include "mirror.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 10000

struct cairn_mirror_run {
  cairn_store *store;
  cairn_mirror *mirror; /* the thread's own */
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cond;
  /* Under mu: */
  int stop, woken, rebuild, connected;
  uint64_t behind, applied;
  int64_t last_error_at, last_applied_at;
  char last_error[256];
};

static void pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* Sleeps until woken, stopped, or ms (0: forever) passed. Called with mu
 * held. */
static void wait_locked(cairn_mirror_run *r, uint64_t ms) {
  if (r->stop || r->woken || r->rebuild)
    return;
  if (ms == 0)
    uv_cond_wait(&r->cond, &r->mu);
  else
    (void)uv_cond_timedwait(&r->cond, &r->mu, ms * 1000000u);
}

static void run(void *arg) {
  cairn_mirror_run *r = arg;
  uint64_t backoff = 0, behind;
  char why[256];

  uv_mutex_lock(&r->mu);
  while (!r->stop) {
    int rebuild = r->rebuild, rc = 0;
    size_t applied = 0;
    r->woken = 0;
    uv_mutex_unlock(&r->mu);
    if (rebuild && (rc = cairn_mirror_reset(r->mirror, why, sizeof why)) == 0)
      cairn_log_info("mirror: rebuilding from the store");
    if (rc == 0)
      rc = cairn_mirror_step(r->mirror, r->store, 0, &applied, &behind, why, sizeof why);
    else
      (void)cairn_mirror_behind(r->mirror, r->store, &behind);
    uv_mutex_lock(&r->mu);
    r->behind = behind;
    if (rc == 0) {
      if (rebuild)
        r->rebuild = 0;
      if (!r->connected || backoff > 0)
        cairn_log_info("mirror: connected to PostgreSQL, %llu entries behind",
                       (unsigned long long)behind);
      r->connected = 1;
      backoff = 0;
      if (applied > 0) {
        r->applied += applied;
        r->last_applied_at = (int64_t)time(NULL);
      }
      if (applied > 0)
        continue; /* catch up before sleeping */
      wait_locked(r, 0);
      continue;
    }
    if (r->connected || strcmp(r->last_error, why) != 0)
      cairn_log_warn("mirror: %s; trying again", why[0] ? why : cairn_strerror(rc));
    r->connected = 0;
    snprintf(r->last_error, sizeof r->last_error, "%s", why[0] ? why : cairn_strerror(rc));
    r->last_error_at = (int64_t)time(NULL);
    backoff = backoff == 0 ? BACKOFF_FIRST_MS : backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                                             : backoff * 2;
    /* Commits meanwhile only move `behind`: no new attempt before the
     * backoff ends. */
    {
      uint64_t until = uv_hrtime() + backoff * 1000000u;
      while (!r->stop && uv_hrtime() < until) {
        (void)uv_cond_timedwait(&r->cond, &r->mu, until - uv_hrtime());
        if (r->woken && !r->stop) {
          r->woken = 0;
          uv_mutex_unlock(&r->mu);
          (void)cairn_mirror_behind(r->mirror, r->store, &behind);
          uv_mutex_lock(&r->mu);
          r->behind = behind;
        }
      }
    }
  }
  uv_mutex_unlock(&r->mu);
}

int cairn_mirror_run_start(cairn_mirror_run **out, cairn_store *store, const char *conninfo) {
  cairn_mirror_run *r = calloc(1, sizeof *r);
  int rc;

  if (r == NULL)
    return CAIRN_ENOMEM;
  if ((rc = cairn_mirror_new(&r->mirror, conninfo)) != 0) {
    free(r);
    return rc;
  }
  r->store = store;
  (void)cairn_mirror_behind(r->mirror, store, &r->behind);
  if (uv_mutex_init(&r->mu) != 0) {
    cairn_mirror_free(r->mirror);
    free(r);
    return CAIRN_EINTERNAL;
  }
  if (uv_cond_init(&r->cond) != 0) {
    uv_mutex_destroy(&r->mu);
    cairn_mirror_free(r->mirror);
    free(r);
    return CAIRN_EINTERNAL;
  }
  if (uv_thread_create(&r->thread, run, r) != 0) {
    uv_cond_destroy(&r->cond);
    uv_mutex_destroy(&r->mu);
    cairn_mirror_free(r->mirror);
    free(r);
    return CAIRN_EINTERNAL;
  }
  *out = r;
  return 0;
}

/* Sets *flag (a field of r under mu) and wakes the thread. */
static void raise_flag(cairn_mirror_run *r, int *flag) {
  uv_mutex_lock(&r->mu);
  *flag = 1;
  uv_cond_signal(&r->cond);
  uv_mutex_unlock(&r->mu);
}

void cairn_mirror_run_wake(cairn_mirror_run *r) {
  if (r != NULL)
    raise_flag(r, &r->woken);
}

void cairn_mirror_run_rebuild(cairn_mirror_run *r) {
  raise_flag(r, &r->rebuild);
}

void cairn_mirror_run_status(cairn_mirror_run *r, msgpack_packer *pk) {
  if (r == NULL) {
    msgpack_pack_map(pk, 1);
    pack_cstr(pk, "configured");
    msgpack_pack_false(pk);
    return;
  }
  uv_mutex_lock(&r->mu);
  msgpack_pack_map(pk, 8);
  pack_cstr(pk, "configured");
  msgpack_pack_true(pk);
  pack_cstr(pk, "connected");
  r->connected ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  pack_cstr(pk, "behind");
  msgpack_pack_uint64(pk, r->behind);
  pack_cstr(pk, "applied");
  msgpack_pack_uint64(pk, r->applied);
  pack_cstr(pk, "rebuilding");
  r->rebuild ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  pack_cstr(pk, "last_error");
  if (r->last_error[0])
    pack_cstr(pk, r->last_error);
  else
    msgpack_pack_nil(pk);
  pack_cstr(pk, "last_error_at");
  if (r->last_error_at)
    msgpack_pack_int64(pk, r->last_error_at);
  else
    msgpack_pack_nil(pk);
  pack_cstr(pk, "last_applied_at");
  if (r->last_applied_at)
    msgpack_pack_int64(pk, r->last_applied_at);
  else
    msgpack_pack_nil(pk);
  uv_mutex_unlock(&r->mu);
}

int cairn_mirror_run_counts(cairn_mirror_run *r, int *connected, uint64_t *behind,
                            uint64_t *applied) {
  if (r == NULL)
    return 0;
  uv_mutex_lock(&r->mu);
  *connected = r->connected;
  *behind = r->behind;
  *applied = r->applied;
  uv_mutex_unlock(&r->mu);
  return 1;
}

void cairn_mirror_run_stop(cairn_mirror_run *r) {
  if (r == NULL)
    return;
  raise_flag(r, &r->stop);
  uv_thread_join(&r->thread);
  uv_cond_destroy(&r->cond);
  uv_mutex_destroy(&r->mu);
  cairn_mirror_free(r->mirror);
  free(r);
}
