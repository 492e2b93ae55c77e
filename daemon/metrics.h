/*
 * metrics.h: what an IT team's monitoring reads of a running cairnd: the
 * counters and histograms behind /metrics (the Prometheus text exposition
 * format, version 0.0.4) and the verdict behind /health, both served by
 * the web listener (daemon/web; docs/ARCHITECTURE.md, "Monitoring").
 *
 * Counts only: no name, id, note or key of anyone appears in a metric,
 * so that /metrics may be served without a sign-in (docs/SECURITY.md).
 *
 * Threads: every cairn_metrics_* call runs on the loop thread. The writer
 * times its commits on its own thread and hands the time over (through an
 * atomic) in its after-work callback on the loop thread, so no counter
 * here is shared between threads. Counts live in memory: a restart of
 * cairnd starts them at 0, which Prometheus's rate() expects of counters.
 */
#ifndef CAIRN_METRICS_H
#define CAIRN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "mirror_run.h"
#include "store.h"
#include "writer.h"

/* Histogram bucket bounds (upper, inclusive), in each metric's unit. */
#define CAIRN_METRICS_COMMIT_BOUNDS                                                                \
  {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
#define CAIRN_METRICS_COMMIT_BUCKETS 14
#define CAIRN_METRICS_BATCH_BOUNDS {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
#define CAIRN_METRICS_BATCH_BUCKETS 11

/* A histogram: counts[i] observations at or below bound i (not cumulative:
 * the text is), counts[n] those above every bound. */
typedef struct cairn_metrics_histogram {
  uint64_t counts[CAIRN_METRICS_COMMIT_BUCKETS + 1];
  uint64_t count;
  double sum;
} cairn_metrics_histogram;

/* Everything one scrape shows, gathered on the loop thread. */
typedef struct cairn_metrics_sample {
  uint64_t entries_written; /* local puts committed (the writer) */
  uint64_t commits;         /* writer transactions that wrote something */
  cairn_metrics_histogram commit_seconds;
  cairn_metrics_histogram batch_entries; /* puts per group commit */
  uint64_t bundle_imports;  /* bundles imported (applied or not) */
  cairn_links_counts links; /* applied entries, links, pending, refusals */
  int space_known;
  uint64_t map_bytes, used_bytes;
  int disk_known;
  uint64_t disk_free;
  int mirror_known; /* a PostgreSQL mirror is configured */
  int mirror_connected;
  uint64_t mirror_behind, mirror_applied;
} cairn_metrics_sample;

typedef struct cairn_metrics cairn_metrics;

/* Makes the counters of a cairnd whose store, writer and links are
 * borrowed (links may be NULL until set with cairn_metrics_set_links) and
 * whose data directory is data_dir (copied). Returns 0 and *out (caller
 * frees with cairn_metrics_free), or CAIRN_ENOMEM / CAIRN_ETOOBIG. */
int cairn_metrics_new(cairn_metrics **out, cairn_store *store, cairn_writer *writer,
                      const char *data_dir);

/* The links to read at each scrape (borrowed; NULL: none). */
void cairn_metrics_set_links(cairn_metrics *m, cairn_links *links);

/* The PostgreSQL mirror to read at each scrape (borrowed; NULL: none). */
void cairn_metrics_set_mirror(cairn_metrics *m, cairn_mirror_run *mirror);

/* Frees m. NULL is a harmless no-op. */
void cairn_metrics_free(cairn_metrics *m);

/* A writer transaction committed, taking seconds on the writer thread;
 * puts is the number of local puts it wrote (0 for a job: a received
 * batch, a join, a receipt). NULL m is a harmless no-op. */
void cairn_metrics_commit(cairn_metrics *m, double seconds, size_t puts);

/* A bundle was imported (bundle_import answered). NULL is harmless. */
void cairn_metrics_bundle_import(cairn_metrics *m);

/* Gathers a sample now: the counters, the links, the store's map and the
 * data directory's disk. */
void cairn_metrics_gather(cairn_metrics *m, cairn_metrics_sample *out);

/* Writes s as Prometheus text (format 0.0.4: HELP and TYPE lines, one
 * family after another, label values escaped). Returns 0 with *text
 * (NUL-terminated, caller frees with free) and *len, or CAIRN_ENOMEM.
 * Pure. */
int cairn_metrics_render(const cairn_metrics_sample *s, char **text, size_t *len);

/* Judges this cairnd's health now (protocol/health.h: the one verdict
 * `cairn health` gives too) with the upstream allowed within seconds.
 * Writes the verdict's lines into text. Returns 1 healthy, 0 not. */
int cairn_metrics_health(cairn_metrics *m, int64_t within, char *text, size_t len);

#endif
