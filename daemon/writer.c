/* writer.c: group commit on the libuv thread pool. */
#include "writer.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "metrics.h"

struct cairn_writer {
  uv_loop_t *loop;
  cairn_store *store;
  cairn_write_req *head, *tail; /* queued, not yet in a batch */
  cairn_write_req **batch;      /* the batch in flight */
  cairn_put *puts;              /* its puts, contiguous for the store */
  size_t batch_n;
  int running;
  int rc;                       /* result of the batch in flight */
  uv_work_t work;
  uv_work_t compact_work;       /* an erasure's compacted copy, after its batch */
  /* The copy's result: stored on the pool thread, loaded on the loop
   * thread (atomic for ThreadSanitizer, as elapsed_ns). */
  _Atomic int compact_rc;
  void (*drain_cb)(void *);
  void *drain_arg;
  void (*commit_cb)(void *);
  void *commit_arg;
  uint64_t batches, written;
  /* The batch in flight took this long (ns): stored on the writer thread,
   * loaded in after_work_cb on the loop thread. Atomic: ThreadSanitizer
   * cannot see libuv's ordering of the two (uninstrumented). */
  _Atomic uint64_t elapsed_ns;
  cairn_metrics *metrics;       /* borrowed; NULL: none */
  int compact_failed;           /* a compaction's copy failed: the next start retries */
};

int cairn_writer_init(cairn_writer **out, uv_loop_t *loop, cairn_store *store) {
  cairn_writer *w = calloc(1, sizeof *w);

  if (w == NULL)
    return CAIRN_ENOMEM;
  w->batch = calloc(CAIRN_WRITER_BATCH, sizeof *w->batch);
  w->puts = calloc(CAIRN_WRITER_BATCH, sizeof *w->puts);
  if (w->batch == NULL || w->puts == NULL) {
    cairn_writer_free(w);
    return CAIRN_ENOMEM;
  }
  w->loop = loop;
  w->store = store;
  w->work.data = w->compact_work.data = w;
  *out = w;
  return 0;
}

void cairn_writer_free(cairn_writer *w) {
  if (w == NULL)
    return;
  free(w->batch);
  free(w->puts);
  free(w);
}

cairn_write_req *cairn_writer_req_new(int type, const char *id, int edit, const uint8_t *set,
                                      size_t set_len, const char *why) {
  size_t id_len = id ? strlen(id) + 1 : 0;
  size_t why_len = why ? strlen(why) + 1 : 0;
  cairn_write_req *req = calloc(1, sizeof *req + id_len + why_len + set_len);
  char *p;

  if (req == NULL)
    return NULL;
  p = (char *)(req + 1);
  req->put.type = type;
  req->put.edit = edit;
  if (id) {
    memcpy(p, id, id_len);
    req->put.id = p;
    p += id_len;
  }
  if (why) {
    memcpy(p, why, why_len);
    req->put.why = p;
    p += why_len;
  }
  memcpy(p, set, set_len);
  req->put.set = (const uint8_t *)p;
  req->put.set_len = set_len;
  return req;
}

static void start_batch(cairn_writer *w);

static void work_cb(uv_work_t *work) {
  cairn_writer *w = work->data;
  cairn_write_req *first = w->batch[0];
  struct timespec t0, t1;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (first->job != NULL) /* a job always runs alone */
    first->job_rc = w->rc = first->job(w->store, first->job_arg);
  else
    w->rc = cairn_store_write_batch(w->store, w->puts, w->batch_n);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  atomic_store_explicit(&w->elapsed_ns,
                        (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
                            (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec,
                        memory_order_relaxed);
}

static void finish(cairn_writer *w) {
  void (*cb)(void *) = w->drain_cb;

  if (w->running || w->head != NULL || cb == NULL)
    return;
  w->drain_cb = NULL;
  cb(w->drain_arg);
}

static void finish_batch(cairn_writer *w, int status);

/* An erasure's old bytes are on free pages of the file: compacted after
 * its batch committed and before anyone is told it is done. The copy runs
 * on the thread pool, so the loop goes on answering reads meanwhile; the
 * writer stays busy (running), so nothing is written until the swap. */
static void compact_work_cb(uv_work_t *work) {
  cairn_writer *w = work->data;
  atomic_store_explicit(&w->compact_rc, cairn_store_compact_copy(w->store),
                        memory_order_relaxed);
}

static void compact_after_cb(uv_work_t *work, int status) {
  cairn_writer *w = work->data;
  /* The swap, on the loop thread between callbacks: no read transaction
   * of its own is open, and the writer is idle. */
  int rc = status != 0 ? CAIRN_EINTERNAL /* cancelled: only at loop teardown */
                        : atomic_load_explicit(&w->compact_rc, memory_order_relaxed);
  if (rc == 0)
    rc = cairn_store_compact_swap(w->store);
  if (rc == CAIRN_ECLOSED) {
    cairn_log_err("erasure: compacting the store failed after the old file was closed; "
                  "cairnd stops, and finishes the compaction when it starts again");
    abort();
  }
  if (rc != 0) {
    w->compact_failed = 1;
    cairn_log_err("erasure: the store could not be compacted (%s): the erased student's old "
                  "bytes stay on free pages of data.mdb until cairnd starts again",
                  cairn_strerror(rc));
  }
  finish_batch(w, 0);
}

static void after_work_cb(uv_work_t *work, int status) {
  cairn_writer *w = work->data;
  size_t n = w->batch_n;
  int is_job = w->batch[0]->job != NULL;

  if (status == 0 && w->rc == CAIRN_EMAPFULL) {
    /* No read transaction is open on the loop thread between callbacks,
     * and the writer thread is idle: the one moment the map may grow. */
    int rc = cairn_store_grow(w->store);
    if (rc == 0) {
      cairn_log_info("database map full: grown, retrying %zu %s", n, is_job ? "job" : "writes");
      for (size_t i = 0; i < n; i++)
        w->puts[i].result = 0;
      uv_queue_work(w->loop, &w->work, work_cb, after_work_cb);
      return;
    }
    cairn_log_err("database map full and cannot grow: %s", cairn_strerror(rc));
  }
  if (status == 0 && w->rc == 0 && !w->compact_failed &&
      cairn_store_compaction_wanted(w->store)) {
    if (uv_queue_work(w->loop, &w->compact_work, compact_work_cb, compact_after_cb) == 0)
      return;
    cairn_log_err("erasure: the store's compaction could not be started: the erased student's "
                  "old bytes stay on free pages of data.mdb until cairnd starts again");
    w->compact_failed = 1;
  }
  finish_batch(w, status);
}

/* The batch's end: each request is answered, the commit announced, and the
 * next batch started. */
static void finish_batch(cairn_writer *w, int status) {
  size_t i, n = w->batch_n, puts = 0;
  int is_job = w->batch[0]->job != NULL, wrote = 0;

  if (status != 0) { /* the work was cancelled: only at loop teardown */
    w->rc = CAIRN_EINTERNAL;
    for (i = 0; i < n; i++)
      w->puts[i].result = CAIRN_EINTERNAL;
  }
  if (w->rc != 0 && !is_job)
    cairn_log_err("write of %zu records failed: %s", n, cairn_strerror(w->rc));

  w->running = 0;
  w->batch_n = 0;
  for (i = 0; i < n; i++) {
    cairn_write_req *req = w->batch[i];
    if (is_job) {
      req->job_rc = w->rc;
      wrote |= w->rc == 0;
    } else {
      req->put = w->puts[i];
      if (req->put.result == 0) {
        w->written++;
        puts++;
        wrote = 1;
      }
    }
    req->done(req, req->arg);
    free(req);
  }
  w->batches += wrote; /* a batch whose puts were all refused committed nothing */
  if (wrote)
    cairn_metrics_commit(w->metrics,
                         (double)atomic_load_explicit(&w->elapsed_ns, memory_order_relaxed) / 1e9,
                         puts);
  if (wrote && w->commit_cb)
    w->commit_cb(w->commit_arg);
  start_batch(w);
  finish(w);
}

static void start_batch(cairn_writer *w) {
  size_t n = 0;

  if (w->running || w->head == NULL)
    return;
  /* Puts group together; a job runs alone. */
  while (w->head != NULL && n < CAIRN_WRITER_BATCH && (n == 0 || w->head->job == NULL) &&
         (n == 0 || w->batch[0]->job == NULL)) {
    cairn_write_req *req = w->head;
    w->head = req->next;
    req->next = NULL;
    w->batch[n] = req;
    w->puts[n] = req->put;
    n++;
  }
  if (w->head == NULL)
    w->tail = NULL;
  w->batch_n = n;
  w->running = 1;
  uv_queue_work(w->loop, &w->work, work_cb, after_work_cb);
}

cairn_write_req *cairn_writer_job_new(cairn_writer_job_fn fn, void *job_arg) {
  cairn_write_req *req = calloc(1, sizeof *req);

  if (req != NULL) {
    req->job = fn;
    req->job_arg = job_arg;
  }
  return req;
}

void cairn_writer_on_commit(cairn_writer *w, void (*cb)(void *arg), void *arg) {
  w->commit_cb = cb;
  w->commit_arg = arg;
}

void cairn_writer_submit(cairn_writer *w, cairn_write_req *req, cairn_writer_done_cb done,
                         void *arg) {
  req->done = done;
  req->arg = arg;
  req->next = NULL;
  if (w->tail)
    w->tail->next = req;
  else
    w->head = req;
  w->tail = req;
  start_batch(w);
}

void cairn_writer_drain(cairn_writer *w, void (*cb)(void *arg), void *arg) {
  w->drain_cb = cb;
  w->drain_arg = arg;
  finish(w);
}

void cairn_writer_stats(const cairn_writer *w, uint64_t *batches, uint64_t *puts) {
  *batches = w->batches;
  *puts = w->written;
}

void cairn_writer_set_metrics(cairn_writer *w, cairn_metrics *m) { w->metrics = m; }
