/* metrics.c: the counters behind /metrics and the verdict behind /health
 * (metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "health.h"

struct cairn_metrics {
  cairn_store *store;   /* borrowed */
  cairn_writer *writer; /* borrowed */
  cairn_links *links;   /* borrowed; NULL: none */
  cairn_mirror_run *mirror; /* borrowed; NULL: none */
  char *data_dir;       /* owned */
  uint64_t commits, bundle_imports;
  cairn_metrics_histogram commit_seconds, batch_entries;
};

static const double commit_bounds[CAIRN_METRICS_COMMIT_BUCKETS] = CAIRN_METRICS_COMMIT_BOUNDS;
static const double batch_bounds[CAIRN_METRICS_BATCH_BUCKETS] = CAIRN_METRICS_BATCH_BOUNDS;

int cairn_metrics_new(cairn_metrics **out, cairn_store *store, cairn_writer *writer,
                      const char *data_dir) {
  cairn_metrics *m = calloc(1, sizeof *m);

  if (m == NULL || (m->data_dir = strdup(data_dir)) == NULL) {
    free(m);
    return CAIRN_ENOMEM;
  }
  m->store = store;
  m->writer = writer;
  *out = m;
  return 0;
}

void cairn_metrics_set_links(cairn_metrics *m, cairn_links *links) { m->links = links; }

void cairn_metrics_set_mirror(cairn_metrics *m, cairn_mirror_run *mirror) { m->mirror = mirror; }

void cairn_metrics_free(cairn_metrics *m) {
  if (m == NULL)
    return;
  free(m->data_dir);
  free(m);
}

static void observe(cairn_metrics_histogram *h, const double *bounds, size_t n, double v) {
  size_t i = 0;

  while (i < n && v > bounds[i])
    i++;
  h->counts[i]++;
  h->count++;
  h->sum += v;
}

void cairn_metrics_commit(cairn_metrics *m, double seconds, size_t puts) {
  if (m == NULL)
    return;
  m->commits++;
  observe(&m->commit_seconds, commit_bounds, CAIRN_METRICS_COMMIT_BUCKETS, seconds);
  if (puts > 0)
    observe(&m->batch_entries, batch_bounds, CAIRN_METRICS_BATCH_BUCKETS, (double)puts);
}

void cairn_metrics_bundle_import(cairn_metrics *m) {
  if (m != NULL)
    m->bundle_imports++;
}

void cairn_metrics_gather(cairn_metrics *m, cairn_metrics_sample *out) {
  uint64_t batches;

  memset(out, 0, sizeof *out);
  cairn_writer_stats(m->writer, &batches, &out->entries_written);
  out->commits = m->commits;
  out->commit_seconds = m->commit_seconds;
  out->batch_entries = m->batch_entries;
  out->bundle_imports = m->bundle_imports;
  if (m->links != NULL)
    cairn_links_counts_get(m->links, &out->links);
  out->space_known = cairn_store_space(m->store, &out->map_bytes, &out->used_bytes) == 0;
  out->disk_known = cairn_health_disk_free(m->data_dir, &out->disk_free) == 0;
  out->mirror_known = cairn_mirror_run_counts(m->mirror, &out->mirror_connected,
                                              &out->mirror_behind, &out->mirror_applied);
}

int cairn_metrics_health(cairn_metrics *m, int64_t within, char *text, size_t len) {
  cairn_health_facts f = {0};
  cairn_links_counts c;

  f.disk_known = cairn_health_disk_free(m->data_dir, &f.disk_free) == 0;
  if (m->links != NULL) {
    cairn_links_counts_get(m->links, &c);
    f.has_upstream = c.has_upstream;
    f.upstream_success = c.upstream_success;
  }
  f.now = (int64_t)time(NULL);
  f.within = within;
  return cairn_health_judge(&f, m->data_dir, text, len);
}

/* ---- the text (pure) ---- */

typedef struct text_buf {
  char *p;
  size_t len, cap;
  int failed;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *b, const char *fmt, ...) {
  va_list ap;
  int n;

  if (b->failed)
    return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if ((size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap * 2 + (size_t)n;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->failed = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* The family's HELP and TYPE lines. HELP text escapes '\' and line feed. */
static void family(text_buf *b, const char *name, const char *type, const char *help) {
  put(b, "# HELP %s ", name);
  for (const char *c = help; *c; c++)
    put(b, "%s", *c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : (char[2]){*c, 0});
  put(b, "\n# TYPE %s %s\n", name, type);
}

/* A label's value as the format escapes it: '\', '"' and line feed. */
static void label_value(text_buf *b, const char *v) {
  for (const char *c = v; *c; c++)
    put(b, "%s",
        *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : (char[2]){*c, 0});
}

static void sample_u64(text_buf *b, const char *name, const char *label, const char *value,
                       uint64_t v) {
  if (label == NULL) {
    put(b, "%s %llu\n", name, (unsigned long long)v);
    return;
  }
  put(b, "%s{%s=\"", name, label);
  label_value(b, value);
  put(b, "\"} %llu\n", (unsigned long long)v);
}

static void counter(text_buf *b, const char *name, const char *help, uint64_t v) {
  family(b, name, "counter", help);
  sample_u64(b, name, NULL, NULL, v);
}

static void gauge(text_buf *b, const char *name, const char *help, int known, uint64_t v) {
  family(b, name, "gauge", help);
  if (known)
    sample_u64(b, name, NULL, NULL, v);
}

static void histogram(text_buf *b, const char *name, const char *help,
                      const cairn_metrics_histogram *h, const double *bounds, size_t n) {
  uint64_t cumulative = 0;

  family(b, name, "histogram", help);
  for (size_t i = 0; i < n; i++) {
    cumulative += h->counts[i];
    put(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)cumulative);
  }
  put(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
  put(b, "%s_sum %.9g\n", name, h->sum);
  put(b, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static const char *const refusal_names[] = {
#define AS_NAME(id, name, what) name,
    CAIRN_SYNC_REFUSALS(AS_NAME)
#undef AS_NAME
};

int cairn_metrics_render(const cairn_metrics_sample *s, char **text, size_t *len) {
  text_buf b = {malloc(4096), 0, 4096, 0};

  if (b.p == NULL)
    return CAIRN_ENOMEM;
  counter(&b, "cairn_entries_written_total", "Entries this node wrote (local records committed).",
          s->entries_written);
  counter(&b, "cairn_entries_applied_total",
          "Entries received over sync links and applied to this store.", s->links.applied);
  counter(&b, "cairn_commits_total", "Store transactions that wrote something.", s->commits);
  histogram(&b, "cairn_commit_duration_seconds",
            "Time one store transaction took on the writer thread, fsync included.",
            &s->commit_seconds, commit_bounds, CAIRN_METRICS_COMMIT_BUCKETS);
  histogram(&b, "cairn_group_commit_entries", "Local records written per group commit.",
            &s->batch_entries, batch_bounds, CAIRN_METRICS_BATCH_BUCKETS);
  family(&b, "cairn_links_connected", "gauge", "Sync links in session, by the peer's role.");
  for (int r = CAIRN_ROLE_CLASSROOM; r <= CAIRN_ROLE_CENTRAL; r++)
    sample_u64(&b, "cairn_links_connected", "role", cairn_config_role_name((cairn_role)r),
               s->links.connected[r]);
  family(&b, "cairn_sync_pending_entries", "gauge",
         "Entries waiting on the links in session: out, peers lack them or have not "
         "acknowledged them; in, peers offered them and they are not applied yet.");
  sample_u64(&b, "cairn_sync_pending_entries", "direction", "out", s->links.pending_out);
  sample_u64(&b, "cairn_sync_pending_entries", "direction", "in", s->links.pending_in);
  family(&b, "cairn_sync_refusals_total", "counter",
         "Sync attempts refused, by reason (cairn sync status explains each).");
  for (size_t i = 0; i < sizeof refusal_names / sizeof refusal_names[0]; i++)
    sample_u64(&b, "cairn_sync_refusals_total", "reason", refusal_names[i], s->links.refusals[i]);
  counter(&b, "cairn_bundle_imports_total", "Offline bundles imported.", s->bundle_imports);
  gauge(&b, "cairn_lmdb_map_size_bytes", "Size of the LMDB map (grown when full).",
        s->space_known, s->map_bytes);
  gauge(&b, "cairn_lmdb_used_bytes", "Bytes of the LMDB map in use.", s->space_known,
        s->used_bytes);
  gauge(&b, "cairn_disk_free_bytes", "Bytes free on the data directory's file system.",
        s->disk_known, s->disk_free);
  if (s->mirror_known) { /* only where [mirror] postgres is set */
    gauge(&b, "cairn_mirror_connected", "1 while the PostgreSQL mirror is connected, else 0.", 1,
          (uint64_t)(s->mirror_connected != 0));
    gauge(&b, "cairn_mirror_lag_entries",
          "Entries the store holds that the PostgreSQL mirror has not applied yet.", 1,
          s->mirror_behind);
    counter(&b, "cairn_mirror_applied_entries_total",
            "Entries the PostgreSQL mirror applied since cairnd started.", s->mirror_applied);
  }
  if (b.failed) {
    free(b.p);
    return CAIRN_ENOMEM;
  }
  *text = b.p;
  *len = b.len;
  return 0;
}
