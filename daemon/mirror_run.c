/* mirror_run.c: the PostgreSQL mirror's thread in cairnd. */
#include "mirror_run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "error.h"
#include "log.h"
#include "mirror.h"
#include "progress.h"
#include "text.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 10000
/* The derived status is written again once the mirror has caught up with
 * new entries, at most this often; and when the day changes, which the
 * thread looks at this often while idle. */
#define STATUS_EVERY_MS 5000
#define IDLE_CHECK_MS 60000

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
  /* The derived status: the day it is as of (CAIRN_PROGRESS_NO_DAY: not
   * written since cairnd started), its milestones, and whether entries
   * were applied (or the tables emptied) since. */
  int32_t status_day;
  size_t status_milestones;
  int status_stale;
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

/* Writes the derived status when the mirror has caught up and it is
 * stale (entries applied since, or another day), at most every
 * STATUS_EVERY_MS. Called without mu. Returns 0, the milliseconds until
 * it may be written (it is stale), or -1 (failed: why says so). */
static int64_t refresh_status(cairn_mirror_run *r, uint64_t *last_ms, char *why, size_t whylen) {
  int32_t today = cairn_store_today(r->store);
  uint64_t now = uv_hrtime() / 1000000u;
  size_t n;
  int stale;

  uv_mutex_lock(&r->mu);
  stale = r->status_stale || r->status_day != today;
  uv_mutex_unlock(&r->mu);
  if (!stale)
    return 0;
  if (*last_ms != 0 && now - *last_ms < STATUS_EVERY_MS)
    return (int64_t)(*last_ms + STATUS_EVERY_MS - now);
  *last_ms = now;
  uv_mutex_lock(&r->mu);
  r->status_stale = 0; /* entries applied from here on make it stale again */
  uv_mutex_unlock(&r->mu);
  if (cairn_mirror_refresh_status(r->mirror, r->store, today, &n, why, whylen) != 0) {
    uv_mutex_lock(&r->mu);
    r->status_stale = 1;
    uv_mutex_unlock(&r->mu);
    return -1;
  }
  uv_mutex_lock(&r->mu);
  r->status_day = today;
  r->status_milestones = n;
  uv_mutex_unlock(&r->mu);
  return 0;
}

static void run(void *arg) {
  cairn_mirror_run *r = arg;
  uint64_t backoff = 0, behind, status_ms = 0;
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
      if (rebuild) {
        r->rebuild = 0;
        r->status_stale = 1;
      }
      if (!r->connected || backoff > 0)
        cairn_log_info("mirror: connected to PostgreSQL, %llu entries behind",
                       (unsigned long long)behind);
      r->connected = 1;
      backoff = 0;
      if (applied > 0) {
        r->applied += applied;
        r->last_applied_at = (int64_t)time(NULL);
        r->status_stale = 1;
        continue; /* catch up before sleeping */
      }
      if (behind == 0) {
        int64_t wait;
        uv_mutex_unlock(&r->mu);
        wait = refresh_status(r, &status_ms, why, sizeof why);
        uv_mutex_lock(&r->mu);
        if (wait > 0) {
          wait_locked(r, (uint64_t)wait);
          continue;
        }
        if (wait == 0) {
          wait_locked(r, IDLE_CHECK_MS);
          continue;
        }
        rc = CAIRN_EIO; /* the status could not be written: as a failed step */
      } else {
        wait_locked(r, IDLE_CHECK_MS);
        continue;
      }
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
  r->status_day = CAIRN_PROGRESS_NO_DAY;
  r->status_stale = 1;
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
  msgpack_pack_map(pk, 11);
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
  pack_cstr(pk, "status_as_of");
  if (r->status_day != CAIRN_PROGRESS_NO_DAY) {
    char day[11];
    cairn_text_date_format(r->status_day, day);
    pack_cstr(pk, day);
  } else {
    msgpack_pack_nil(pk);
  }
  pack_cstr(pk, "status_milestones");
  msgpack_pack_uint64(pk, r->status_milestones);
  pack_cstr(pk, "status_current");
  r->status_stale || r->status_day != cairn_store_today(r->store) ? msgpack_pack_false(pk)
                                                                  : msgpack_pack_true(pk);
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
