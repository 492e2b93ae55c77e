/* bench_lmdb.c: the baselines, measured in the same run on the same disk:
 * what raw LMDB costs with its default, durable flags (no MDB_NOSYNC, no
 * MDB_WRITEMAP), so that cairn's figures read as a ratio to the floor. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

/* Room for the bulk phase's entries plus LMDB's own pages. */
#define RAW_MAP_SIZE ((size_t)4 << 30)
#define RAW_VALUE_BYTES 300

typedef struct raw_env {
  char dir[PATH_MAX];
  MDB_env *env;
  MDB_dbi dbi;
} raw_env;

static int lmdb_fail(const char *what, int rc) {
  fprintf(stderr, "bench: raw LMDB %s: %s\n", what, mdb_strerror(rc));
  return rc == MDB_MAP_FULL ? CAIRN_EMAPFULL : CAIRN_EIO;
}

static void raw_close(raw_env *r) {
  if (r->env != NULL)
    mdb_env_close(r->env);
  bench_tmp_remove(r->dir);
}

/* Opens a fresh environment in a new temporary directory. raw_close
 * undoes it, also after a failure. */
static int raw_open(raw_env *r) {
  MDB_txn *txn;
  int rc;

  r->env = NULL;
  if ((rc = bench_tmpdir(r->dir)) != 0)
    return rc;
  if ((rc = mdb_env_create(&r->env)) != 0)
    return lmdb_fail("env_create", rc);
  if ((rc = mdb_env_set_mapsize(r->env, RAW_MAP_SIZE)) != 0 ||
      (rc = mdb_env_open(r->env, r->dir, 0, 0600)) != 0)
    return lmdb_fail("env_open", rc);
  if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
    return lmdb_fail("txn_begin", rc);
  if ((rc = mdb_dbi_open(txn, NULL, 0, &r->dbi)) != 0) {
    mdb_txn_abort(txn);
    return lmdb_fail("dbi_open", rc);
  }
  return (rc = mdb_txn_commit(txn)) != 0 ? lmdb_fail("commit", rc) : 0;
}

/* One write transaction: puts n key/value pairs, commits (fsync). */
static int raw_commit(raw_env *r, MDB_val *keys, MDB_val *vals, size_t n) {
  MDB_txn *txn;
  size_t i;
  int rc = mdb_txn_begin(r->env, NULL, 0, &txn);

  if (rc != 0)
    return lmdb_fail("txn_begin", rc);
  for (i = 0; i < n; i++)
    if ((rc = mdb_put(txn, r->dbi, &keys[i], &vals[i], 0)) != 0) {
      mdb_txn_abort(txn);
      return lmdb_fail("put", rc);
    }
  return (rc = mdb_txn_commit(txn)) != 0 ? lmdb_fail("commit", rc) : 0;
}

int bench_lmdb_commit_latency(const bench_sizes *z, bench_stats *out) {
  raw_env r;
  uint8_t value[RAW_VALUE_BYTES], key[8];
  double *ms = malloc(z->latency_n * sizeof *ms), *per = malloc(3 * z->reps * sizeof *per);
  uint64_t seq = 0;
  size_t rep, i;
  int rc = ms == NULL || per == NULL ? CAIRN_ENOMEM : raw_open(&r);

  memset(value, 'v', sizeof value);
  for (rep = 0; rep < z->reps && rc == 0; rep++) {
    bench_stats st;
    fprintf(stderr, "bench: latency: %zu raw LMDB commits, repetition %zu/%zu\n", z->latency_n,
            rep + 1, z->reps);
    for (i = 0; i < z->latency_n && rc == 0; i++) {
      MDB_val k = {sizeof key, key}, v = {sizeof value, value};
      uint64_t t0 = bench_now_ns();
      int b;
      seq++;
      for (b = 0; b < 8; b++)
        key[b] = (uint8_t)(seq >> (56 - 8 * b));
      rc = bench_interrupted ? CAIRN_EINTERNAL : raw_commit(&r, &k, &v, 1);
      ms[i] = (double)(bench_now_ns() - t0) / 1e6;
    }
    st = bench_summarize(ms, z->latency_n);
    per[rep] = st.p50, per[z->reps + rep] = st.p99, per[2 * z->reps + rep] = st.mean;
  }
  if (rc == 0) {
    out->p50 = bench_median(per, z->reps);
    out->p99 = bench_median(per + z->reps, z->reps);
    out->mean = bench_median(per + 2 * z->reps, z->reps);
  }
  if (ms != NULL && per != NULL)
    raw_close(&r);
  free(ms);
  free(per);
  return rc;
}

int bench_lmdb_insert(const bench_entry_ref *entries, const size_t *chunk_end, size_t nchunks,
                      double *seconds) {
  raw_env r;
  MDB_val *keys, *vals;
  size_t c, i, first = 0, most = 1;
  uint64_t t0;
  int rc;

  for (c = 0; c < nchunks; c++) {
    if (chunk_end[c] - first > most)
      most = chunk_end[c] - first;
    first = chunk_end[c];
  }
  keys = malloc(most * sizeof *keys);
  vals = malloc(most * sizeof *vals);
  if (keys == NULL || vals == NULL) {
    free(keys);
    free(vals);
    return CAIRN_ENOMEM;
  }
  rc = raw_open(&r);
  first = 0;
  t0 = bench_now_ns();
  for (c = 0; c < nchunks && rc == 0; c++) {
    size_t n = chunk_end[c] - first;
    for (i = 0; i < n; i++) {
      const bench_entry_ref *e = &entries[first + i];
      keys[i].mv_size = sizeof e->key, keys[i].mv_data = (void *)e->key;
      vals[i].mv_size = e->len, vals[i].mv_data = (void *)e->bytes;
    }
    rc = bench_interrupted ? CAIRN_EINTERNAL : raw_commit(&r, keys, vals, n);
    first = chunk_end[c];
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  raw_close(&r);
  free(keys);
  free(vals);
  return rc;
}
