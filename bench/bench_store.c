/* bench_store.c: phase 3, the store API without a daemon. Store A writes
 * evidence in batches through cairn_store_write_batch (the local writer
 * path); its log, read out with cairn_store_read_log, is applied to a fresh
 * store B with cairn_store_apply_entries (the sync path); the same bytes go
 * into raw LMDB as the baseline. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "record.h"
#include "store.h"

/* Large enough that neither store grows during a timed phase. */
#define STORE_MAP_SIZE ((uint64_t)4 << 30)

/* A store on a fresh temporary directory with its own new key. */
typedef struct bench_node {
  char dir[PATH_MAX];
  uint8_t sk[CAIRN_SECRET_BYTES];
  cairn_store *s;
} bench_node;

static int node_open(bench_node *n) {
  const cairn_store_opts opts = {.map_size = STORE_MAP_SIZE};
  uint8_t pk[CAIRN_KEY_BYTES];
  int rc;

  n->s = NULL;
  crypto_sign_keypair(pk, n->sk);
  if ((rc = bench_tmpdir(n->dir)) != 0)
    return rc;
  if ((rc = cairn_store_open(&n->s, n->dir, n->sk, &opts)) != 0)
    fprintf(stderr, "bench: store in %s: %s\n", n->dir, cairn_strerror(rc));
  return rc;
}

/* Closes and removes a node; harmless on one node_open never reached
 * (dir empty). */
static void node_close(bench_node *n) {
  cairn_store_close(n->s);
  n->s = NULL;
  sodium_memzero(n->sk, sizeof n->sk);
  if (n->dir[0] != '\0')
    bench_tmp_remove(n->dir);
}

/* Writes puts[0..n) in one batch; any refused put is a failure. */
static int write_all(cairn_store *s, cairn_put *puts, size_t n) {
  size_t i;
  int rc = cairn_store_write_batch(s, puts, n);

  for (i = 0; i < n && rc == 0; i++)
    if ((rc = puts[i].result) != 0)
      fprintf(stderr, "bench: write_batch: %s: %s\n", cairn_strerror(rc), puts[i].message);
  if (rc != 0 && i == 0)
    fprintf(stderr, "bench: write_batch: %s\n", cairn_strerror(rc));
  return rc;
}

/* Writes the student and milestone, then k evidence entries in batches of
 * BENCH_BATCH; *seconds covers the evidence batches only. */
static int write_evidence(cairn_store *s, size_t k, double *seconds) {
  msgpack_sbuffer sb[3];
  msgpack_packer pk;
  cairn_put one, *batch = calloc(BENCH_BATCH, sizeof *batch);
  size_t done, i;
  uint64_t t0;
  int rc = batch == NULL ? CAIRN_ENOMEM : 0;

  for (i = 0; i < 3; i++)
    msgpack_sbuffer_init(&sb[i]);
  msgpack_packer_init(&pk, &sb[0], msgpack_sbuffer_write);
  bench_pack_student_set(&pk, "r");
  msgpack_packer_init(&pk, &sb[1], msgpack_sbuffer_write);
  bench_pack_milestone_set(&pk, BENCH_STUDENT_ID);
  memset(&one, 0, sizeof one);
  one.type = CAIRN_REC_STUDENT, one.id = BENCH_STUDENT_ID;
  one.set = (const uint8_t *)sb[0].data, one.set_len = sb[0].size;
  if (rc == 0)
    rc = write_all(s, &one, 1);
  one.type = CAIRN_REC_MILESTONE, one.id = NULL;
  one.set = (const uint8_t *)sb[1].data, one.set_len = sb[1].size;
  if (rc == 0)
    rc = write_all(s, &one, 1);

  msgpack_packer_init(&pk, &sb[2], msgpack_sbuffer_write);
  bench_pack_evidence_set(&pk, one.id_out);
  for (i = 0; i < BENCH_BATCH && rc == 0; i++) {
    batch[i].type = CAIRN_REC_EVIDENCE;
    batch[i].set = (const uint8_t *)sb[2].data, batch[i].set_len = sb[2].size;
  }
  t0 = bench_now_ns();
  for (done = 0; done < k && rc == 0; done += BENCH_BATCH) {
    size_t n = k - done < BENCH_BATCH ? k - done : BENCH_BATCH;
    rc = bench_interrupted ? CAIRN_EINTERNAL : write_all(s, batch, n);
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  for (i = 0; i < 3; i++)
    msgpack_sbuffer_destroy(&sb[i]);
  free(batch);
  return rc;
}

/* Splits the log bytes into entries and into chunks of at least
 * BENCH_BATCH entries that each end at a signed entry (A signed the last
 * entry of every batch). Sets *nentries and *nchunks. */
int bench_split_log(const msgpack_sbuffer *log, bench_entry_ref *entries, size_t max,
                     size_t *chunk_end, size_t *nentries, size_t *nchunks) {
  size_t off = 0, n = 0, since = 0;

  *nchunks = 0;
  while (off < log->size && n < max) {
    cairn_entry e;
    size_t used, b;
    int rc = cairn_entry_decode((const uint8_t *)log->data + off, log->size - off, &e, &used);
    if (rc != 0) {
      fprintf(stderr, "bench: entry %zu of the log: %s\n", n + 1, cairn_strerror(rc));
      return rc;
    }
    entries[n].bytes = (const uint8_t *)log->data + off;
    entries[n].len = used;
    memcpy(entries[n].key, e.author, CAIRN_KEY_BYTES);
    for (b = 0; b < 8; b++)
      entries[n].key[CAIRN_KEY_BYTES + b] = (uint8_t)(e.seq >> (56 - 8 * b));
    off += used, n++, since++;
    if (e.has_sig && since >= BENCH_BATCH) {
      chunk_end[(*nchunks)++] = n;
      since = 0;
    }
  }
  if (since > 0)
    chunk_end[(*nchunks)++] = n;
  *nentries = n;
  return 0;
}

/* Applies the chunks to b; *seconds covers the apply calls only. */
int bench_apply_chunks(cairn_store *b, const bench_entry_ref *entries, const size_t *chunk_end,
                        size_t nchunks, double *seconds) {
  char why[256] = "";
  size_t c, first = 0, total = 0;
  uint64_t t0 = bench_now_ns();
  int rc = 0;

  for (c = 0; c < nchunks && rc == 0; c++) {
    const bench_entry_ref *last = &entries[chunk_end[c] - 1];
    size_t applied = 0;
    rc = bench_interrupted
             ? CAIRN_EINTERNAL
             : cairn_store_apply_entries(b, entries[first].bytes,
                                         (size_t)(last->bytes + last->len - entries[first].bytes),
                                         &applied, why, sizeof why);
    total += applied;
    first = chunk_end[c];
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  if (rc != 0)
    fprintf(stderr, "bench: apply_entries: %s: %s\n", cairn_strerror(rc), why);
  else if (total != first) {
    fprintf(stderr, "bench: apply_entries applied %zu of %zu entries\n", total, first);
    rc = CAIRN_EINTERNAL;
  }
  return rc;
}

int bench_store_make_log(size_t k, msgpack_sbuffer *log, size_t *count, double *seconds) {
  bench_node a;
  int rc;

  a.s = NULL;
  a.dir[0] = '\0';
  if ((rc = node_open(&a)) == 0) {
    fprintf(stderr, "bench: write_batch of %zu evidence entries\n", k);
    rc = write_evidence(a.s, k, seconds);
    if (rc == 0 && (rc = cairn_store_read_log(a.s, cairn_store_device(a.s), 1, k + 2, log,
                                              count)) != 0)
      fprintf(stderr, "bench: read_log: %s\n", cairn_strerror(rc));
  }
  node_close(&a);
  return rc;
}

struct bench_node *bench_evidence_node(size_t k, struct cairn_store **s) {
  bench_node *n = calloc(1, sizeof *n);
  double seconds;

  if (n == NULL)
    return NULL;
  if (node_open(n) != 0 || write_evidence(n->s, k, &seconds) != 0) {
    bench_evidence_node_free(n);
    return NULL;
  }
  *s = n->s;
  return n;
}

void bench_evidence_node_free(struct bench_node *n) {
  if (n == NULL)
    return;
  node_close(n);
  free(n);
}

/* Phase 3 once: rates[0] write, rates[1] apply, rates[2] raw insert. */
static int bulk_once(const bench_sizes *z, double rates[3], size_t *nentries) {
  bench_node b;
  msgpack_sbuffer log;
  size_t max = z->bulk_k + 2, count = 0, nchunks = 0;
  bench_entry_ref *entries = malloc(max * sizeof *entries);
  size_t *chunk_end = malloc(max * sizeof *chunk_end);
  double secs[3] = {0, 0, 0};
  int rc = entries == NULL || chunk_end == NULL ? CAIRN_ENOMEM : 0;

  msgpack_sbuffer_init(&log);
  b.s = NULL;
  b.dir[0] = '\0';
  if (rc == 0)
    rc = bench_store_make_log(z->bulk_k, &log, &count, &secs[0]);
  if (rc == 0)
    rc = bench_split_log(&log, entries, max, chunk_end, nentries, &nchunks);
  if (rc == 0 && *nentries != count) {
    fprintf(stderr, "bench: read_log gave %zu entries, decoded %zu\n", count, *nentries);
    rc = CAIRN_EINTERNAL;
  }
  if (rc == 0 && (rc = node_open(&b)) == 0) {
    fprintf(stderr, "bench: bulk: apply_entries of %zu entries in %zu chunks\n", *nentries,
            nchunks);
    rc = bench_apply_chunks(b.s, entries, chunk_end, nchunks, &secs[1]);
  }
  node_close(&b);
  if (rc == 0) {
    fprintf(stderr, "bench: bulk: raw LMDB insert of the same %zu entries\n", *nentries);
    rc = bench_lmdb_insert(entries, chunk_end, nchunks, &secs[2]);
  }
  if (rc == 0) {
    rates[0] = (double)z->bulk_k / secs[0];
    rates[1] = (double)*nentries / secs[1];
    rates[2] = (double)*nentries / secs[2];
  }
  msgpack_sbuffer_destroy(&log);
  free(entries);
  free(chunk_end);
  return rc;
}

int bench_store_bulk(const bench_sizes *z, bench_bulk *out) {
  double *v = malloc(3 * z->reps * sizeof *v), rates[3];
  size_t i, j;
  int rc = v == NULL ? CAIRN_ENOMEM : 0;

  for (i = 0; i < z->reps && rc == 0; i++) {
    fprintf(stderr, "bench: bulk: repetition %zu/%zu\n", i + 1, z->reps);
    rc = bulk_once(z, rates, &out->entries);
    for (j = 0; j < 3 && rc == 0; j++)
      v[j * z->reps + i] = rates[j];
  }
  if (rc == 0) {
    out->write_rate = bench_median(v, z->reps);
    out->apply_rate = bench_median(v + z->reps, z->reps);
    out->raw_rate = bench_median(v + 2 * z->reps, z->reps);
  }
  free(v);
  return rc;
}
