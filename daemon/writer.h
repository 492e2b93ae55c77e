/*
 * writer.h: group commit. Puts from every connection queue here; whenever
 * no commit is running, everything queued (up to CAIRN_WRITER_BATCH puts)
 * goes to the thread pool as one cairn_store_write_batch: one LMDB
 * transaction, one fsync, however many clients wrote. The loop thread never
 * waits for the disk.
 *
 * Besides puts, the writer runs jobs: any other store write (applying a
 * batch from a peer, redeeming a join token, storing a receipt) runs alone
 * on the same thread, in queue order, so LMDB always has one writer.
 *
 * Each request's done callback runs on the loop thread after its batch
 * committed (or failed), exactly once; the writer frees the request after
 * the callback returns. A full LMDB map is grown here, on the loop thread
 * between batches when no read transaction is open, and the batch retried.
 */
#ifndef CAIRN_WRITER_H
#define CAIRN_WRITER_H

#include <uv.h>

#include "store.h"

#define CAIRN_WRITER_BATCH 1024

typedef struct cairn_writer cairn_writer;
typedef struct cairn_write_req cairn_write_req;

/* Called once per request on the loop thread; req->put.result, id_out and
 * message hold the outcome; arg is the value given at submit time. */
typedef void (*cairn_writer_done_cb)(cairn_write_req *req, void *arg);

/* A job: runs on the writer's thread with the store; returns a code that
 * lands in job_rc. */
typedef int (*cairn_writer_job_fn)(cairn_store *store, void *job_arg);

struct cairn_write_req {
  cairn_put put; /* put.id, put.set, put.why point into this allocation */
  cairn_scope within; /* what put.within may point to */
  cairn_writer_job_fn job; /* NULL for a put */
  void *job_arg;
  int job_rc;
  cairn_writer_done_cb done;
  void *arg;
  cairn_write_req *next;
};

/* Creates the writer for store on loop. Returns 0 or CAIRN_ENOMEM. The
 * caller owns *out and frees it with cairn_writer_free once it is idle. */
int cairn_writer_init(cairn_writer **out, uv_loop_t *loop, cairn_store *store);

/* Frees an idle writer. NULL is a harmless no-op. */
void cairn_writer_free(cairn_writer *w);

/* Allocates a request with copies of id (may be NULL), set and why (may be
 * NULL). Returns NULL when out of memory. Pass it to cairn_writer_submit,
 * which takes ownership. */
cairn_write_req *cairn_writer_req_new(int type, const char *id, int edit, const uint8_t *set,
                                      size_t set_len, const char *why);

/* Allocates a job request: fn(store, job_arg) will run on the writer
 * thread. Returns NULL when out of memory. */
cairn_write_req *cairn_writer_job_new(cairn_writer_job_fn fn, void *job_arg);

/* Queues req; done(req, arg) is called later, never from inside this call. */
void cairn_writer_submit(cairn_writer *w, cairn_write_req *req, cairn_writer_done_cb done,
                         void *arg);

/* Calls cb(arg) once nothing is queued or running (at once if idle). */
void cairn_writer_drain(cairn_writer *w, void (*cb)(void *arg), void *arg);

/* Calls cb(arg) on the loop thread after every batch or job that wrote
 * something, so that sync links can send the new entries at once. */
void cairn_writer_on_commit(cairn_writer *w, void (*cb)(void *arg), void *arg);

/* Counters for the log: transactions that wrote something, and puts
 * written, so far. */
void cairn_writer_stats(const cairn_writer *w, uint64_t *batches, uint64_t *puts);

/* Each commit that wrote something is counted in m (borrowed; NULL: not
 * counted), with the time it took on the writer thread and its puts. */
struct cairn_metrics;
void cairn_writer_set_metrics(cairn_writer *w, struct cairn_metrics *m);

#endif
