/*
 * store_erase.c: erasing a student (docs/FORMAT.md section 3.4): the
 * central's erasure record, folded on any node, withholds the body of every
 * entry about the student in the log (the redacted form: same hash, so
 * every chain and signature still verifies), deletes the student's records
 * and index rows, and remembers the ids erased so that an entry about them
 * that arrives later is kept redacted too. The data file is then compacted
 * (cairn_store_compact, store.c), since LMDB leaves old bytes on freed pages.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_int.h"

/* The erased key type || id into key; returns its length. */
static size_t erased_key(uint8_t *key, int type, const char *id, size_t idlen) {
  return cairn__store_rec_key(key, type, id, idlen);
}

int cairn__store_erased_has(cairn_store *s, MDB_txn *txn, int type, const char *id,
                            size_t idlen) {
  uint8_t key[CAIRN__STORE_KEY_MAX];
  if (idlen == 0 || idlen > CAIRN__STORE_ID_MAX)
    return 0;
  MDB_val k = {erased_key(key, type, id, idlen), key}, v;
  int rc = mdb_get(txn, s->erased, &k, &v);
  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* Notes (type, id) as a record of erased student sid. */
static int erased_put(cairn_store *s, MDB_txn *txn, int type, const char *id, size_t idlen,
                      const char *sid, size_t sidlen) {
  uint8_t key[CAIRN__STORE_KEY_MAX];
  if (idlen == 0 || idlen > CAIRN__STORE_ID_MAX)
    return 0;
  MDB_val k = {erased_key(key, type, id, idlen), key}, v = {sidlen, (void *)sid};
  int rc = mdb_put(txn, s->erased, &k, &v, 0);
  return rc != 0 ? cairn__store_err(s, rc, 0) : 0;
}

/* cairn__store_erased_about's step: stops at the first record erased,
 * which it keeps. */
typedef struct erased_hit {
  cairn_store *s;
  MDB_txn *txn;
  int type;
  const char *id;
  size_t len;
} erased_hit;

static int erased_step(int type, const char *id, size_t len, void *arg) {
  erased_hit *h = arg;
  int rc = cairn__store_erased_has(h->s, h->txn, type, id, len);
  if (rc == 1) {
    h->type = type;
    h->id = id;
    h->len = len;
  }
  return rc;
}

static int erase_under(cairn_store *s, MDB_txn *txn, int type, const char *id, size_t len,
                       const char *sid, size_t sidlen);

int cairn__store_erased_about(cairn_store *s, MDB_txn *txn, msgpack_zone *z, int kind,
                              const char *id, size_t idlen, const msgpack_object *set,
                              int note) {
  if (kind < CAIRN_REC_STUDENT || kind > CAIRN_REC_CELEBRATION)
    return 0;
  erased_hit h = {.s = s, .txn = txn};
  int rc = cairn__store_walk_up(txn, s->records, z, kind, id, idlen, set, 0, erased_step, &h);
  if (rc <= 0 || !note || (h.type == kind && h.len == idlen && memcmp(h.id, id, idlen) == 0))
    return rc;
  /* The record itself is one of the erased student's from now on: its
   * later edits are recognised without its parent. */
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {erased_key(key, h.type, h.id, h.len), key}, v;
  if ((rc = mdb_get(txn, s->erased, &k, &v)) != 0)
    return cairn__store_err(s, rc, 0);
  char sid[CAIRN__STORE_ID_MAX];
  size_t sidlen = v.mv_size <= sizeof sid ? v.mv_size : sizeof sid;
  memcpy(sid, v.mv_data, sidlen);
  rc = erased_put(s, txn, kind, id, idlen, sid, sidlen);
  /* what this node held under it before it came (evidence whose milestone
   * arrives after the erasure) goes as the erasure's did */
  if (rc == 0)
    rc = erase_under(s, txn, kind, id, idlen, sid, sidlen);
  return rc != 0 ? rc : 1;
}

int cairn__store_redact_logged(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                               uint64_t seq) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, author, seq);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  cairn_entry e;
  if (cairn__store_entry_get(s, v.mv_data, v.mv_size, NULL, &e, NULL) != 0)
    return CAIRN_ECORRUPT;
  if (e.redacted && !cairn__store_sealed_tag(v.mv_data, v.mv_size, NULL))
    return 0;
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  rc = cairn_entry_redact(&e, &out);
  if (rc == 0) {
    MDB_val nv = {out.size, out.data};
    rc = mdb_put(txn, dbi, &k, &nv, 0);
    rc = rc != 0 ? cairn__store_err(s, rc, 0) : 0;
  }
  msgpack_sbuffer_destroy(&out);
  return rc;
}

/* A record of the student: its type and id. */
typedef struct erased_rec {
  int type;
  size_t idlen;
  char id[CAIRN__STORE_ID_MAX];
} erased_rec;

typedef struct eraser {
  cairn__store_apply *c;
  cairn_store *s;
  MDB_txn *txn;
  const char *sid;
  size_t sidlen;
  msgpack_zone z;
  msgpack_sbuffer body; /* an entry's opened body */
  erased_rec *recs;
  size_t n, cap;
} eraser;

static int recs_add(eraser *x, int type, const char *id, size_t idlen) {
  if (idlen == 0 || idlen > CAIRN__STORE_ID_MAX)
    return 0;
  int rc = cairn__store_grow((void **)&x->recs, &x->cap, x->n + 1, sizeof *x->recs, 16);
  if (rc != 0)
    return rc;
  erased_rec *r = &x->recs[x->n++];
  r->type = type;
  r->idlen = idlen;
  memcpy(r->id, id, idlen);
  return 0;
}

/* Adds every child of (ptype, pid) to the records, and deletes the
 * children index rows under it. */
static int take_children(eraser *x, int ptype, const char *pid, size_t pidlen) {
  uint8_t prefix[CAIRN__STORE_KEY_MAX + 1];
  size_t plen = cairn__store_rec_key(prefix, ptype, pid, pidlen);
  prefix[plen++] = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(x->txn, x->s->children, &cur);
  if (rc != 0)
    return cairn__store_err(x->s, rc, 0);
  MDB_val k = {plen, prefix}, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  int ret = 0;
  while (rc == 0 && k.mv_size > plen + 1 && memcmp(k.mv_data, prefix, plen) == 0) {
    const uint8_t *kd = k.mv_data;
    if ((ret = recs_add(x, kd[plen], (const char *)kd + plen + 1, k.mv_size - plen - 1)) != 0)
      break;
    if ((rc = mdb_cursor_del(cur, 0)) != 0)
      break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* the key after the one deleted */
  }
  mdb_cursor_close(cur);
  if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
    ret = cairn__store_err(x->s, rc, 0);
  return ret;
}

/* 1 when the entry at cursor value v (an encoding) is whole and about the
 * student being erased; 0 when not; or an error. */
static int entry_is_theirs(eraser *x, const MDB_val *v) {
  cairn_entry e;
  size_t off = 0;
  msgpack_object root;
  char sid[CAIRN__STORE_ID_MAX + 1];
  if (cairn__store_entry_get(x->s, v->mv_data, v->mv_size, &x->body, &e, NULL) != 0)
    return CAIRN_ECORRUPT;
  if (e.redacted || e.kind < CAIRN_REC_STUDENT || e.kind > CAIRN_REC_CELEBRATION)
    return 0;
  msgpack_zone_clear(&x->z);
  if (msgpack_unpack((const char *)e.body, e.body_len, &off, &x->z, &root) !=
          MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_MAP)
    return 0;
  int rc = cairn__store_body_student(x->txn, x->s->records, &x->z, (int)e.kind, &root, sid);
  if (rc <= 0)
    return rc;
  return strlen(sid) == x->sidlen && memcmp(sid, x->sid, x->sidlen) == 0;
}

/* The entries kept out of the records (quarantined, held) and those
 * waiting for a signature (staged) about the student: withheld too. Held
 * ones leave the held set for the quarantine: they will never be folded.
 * Runs before the records go: their parents tell whose they are. */
static int erase_unfolded(eraser *x) {
  cairn_store *s = x->s;
  MDB_dbi dbis[3] = {s->quarantine, s->held, s->staged};
  for (int d = 0; d < 3; d++) {
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t (*keys)[CAIRN_KEY_BYTES + 8] = NULL;
    size_t n = 0, cap = 0;
    int rc = mdb_cursor_open(x->txn, dbis[d], &cur);
    if (rc != 0)
      return cairn__store_err(s, rc, 0);
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
      if (k.mv_size != CAIRN_KEY_BYTES + 8)
        continue;
      MDB_val entry = v;
      if (dbis[d] != s->staged && (rc = mdb_get(x->txn, s->log, &k, &entry)) != 0)
        break;
      int theirs = entry_is_theirs(x, &entry);
      if (theirs < 0) {
        rc = theirs;
        break;
      }
      if (!theirs)
        continue;
      if ((rc = cairn__store_grow((void **)&keys, &cap, n + 1, sizeof *keys, 16)) != 0)
        break;
      memcpy(keys[n++], k.mv_data, CAIRN_KEY_BYTES + 8);
    }
    mdb_cursor_close(cur);
    rc = rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : cairn__store_err(s, rc, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
      const uint8_t *author = keys[i];
      uint64_t seq = cairn__store_get_be64(keys[i] + CAIRN_KEY_BYTES);
      rc = cairn__store_redact_logged(s, x->txn, dbis[d] == s->staged ? s->staged : s->log,
                                      author, seq);
      if (rc == 0 && dbis[d] == s->held) {
        MDB_val hk = {CAIRN_KEY_BYTES + 8, keys[i]};
        MDB_val why = {sizeof CAIRN__STORE_ERASED_WHY - 1, (void *)CAIRN__STORE_ERASED_WHY};
        if ((rc = mdb_del(x->txn, s->held, &hk, NULL)) == 0)
          rc = mdb_put(x->txn, s->quarantine, &hk, &why, 0);
        rc = rc != 0 ? cairn__store_err(s, rc, 0) : 0;
        x->c->unheld += rc == 0;
      }
    }
    free(keys);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Withholds the body of every write of record r in the log, then deletes
 * the record and notes its id as erased. */
static int erase_record(eraser *x, const erased_rec *er) {
  cairn_store *s = x->s;
  cairn__store_rec r = {0};
  msgpack_zone_clear(&x->z);
  int rc = cairn__store_rec_load(x->txn, s->records, er->type, er->id, er->idlen, &x->z, &r);
  for (size_t i = 0; rc == 0 && i < r.n; i++)
    rc = cairn__store_redact_logged(s, x->txn, s->log, r.w[i].author, r.w[i].seq);
  cairn__store_rec_free(&r);
  if (rc == 0) {
    uint8_t key[CAIRN__STORE_KEY_MAX];
    MDB_val k = {cairn__store_rec_key(key, er->type, er->id, er->idlen), key};
    if ((rc = mdb_del(x->txn, s->records, &k, NULL)) != 0)
      return cairn__store_err(s, rc, 0);
  } else if (rc != CAIRN_ENOTFOUND) {
    return rc;
  }
  return erased_put(s, x->txn, er->type, er->id, er->idlen, x->sid, x->sidlen);
}

/* The records under (type, id), a record of erased student sid that came
 * after the erasure: erased as the erasure erased theirs. */
static int erase_under(cairn_store *s, MDB_txn *txn, int type, const char *id, size_t len,
                       const char *sid, size_t sidlen) {
  if (type != CAIRN_REC_MILESTONE || len == 0 || len > CAIRN__STORE_ID_MAX)
    return 0;
  eraser x = {.s = s, .txn = txn, .sid = sid, .sidlen = sidlen};
  msgpack_sbuffer_init(&x.body);
  if (!msgpack_zone_init(&x.z, 4096))
    return CAIRN_ENOMEM;
  int rc = take_children(&x, type, id, len);
  for (size_t i = 0; rc == 0 && i < x.n; i++)
    rc = erase_record(&x, &x.recs[i]);
  free(x.recs);
  msgpack_zone_destroy(&x.z);
  msgpack_sbuffer_destroy(&x.body);
  return rc;
}

/* Deletes the student's rows of the arrivals (campus NUL classroom NUL
 * student) and histories (student) indexes. */
static int erase_indexes(eraser *x) {
  cairn_store *s = x->s;
  MDB_val k = {x->sidlen, (void *)x->sid}, v;
  int rc = mdb_del(x->txn, s->histories, &k, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(x->txn, s->arrivals, &cur)) != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    const char *kd = k.mv_data;
    const char *nul1 = memchr(kd, 0, k.mv_size);
    const char *nul2 = nul1 != NULL ? memchr(nul1 + 1, 0, k.mv_size - (size_t)(nul1 + 1 - kd))
                                    : NULL;
    size_t at = nul2 != NULL ? (size_t)(nul2 + 1 - kd) : k.mv_size;
    if (k.mv_size - at == x->sidlen && memcmp(kd + at, x->sid, x->sidlen) == 0 &&
        (rc = mdb_cursor_del(cur, 0)) != 0)
      break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

int cairn__store_erase_student(cairn__store_apply *c, const char *sid, size_t sidlen) {
  cairn_store *s = c->s;
  eraser x = {.c = c, .s = s, .txn = c->txn, .sid = sid, .sidlen = sidlen};
  msgpack_sbuffer_init(&x.body);
  if (!msgpack_zone_init(&x.z, 4096))
    return CAIRN_ENOMEM;
  int rc = erase_unfolded(&x);
  if (rc == 0)
    rc = recs_add(&x, CAIRN_REC_STUDENT, sid, sidlen);
  if (rc == 0)
    rc = take_children(&x, CAIRN_REC_STUDENT, sid, sidlen);
  /* take_children appends each milestone's children while this walks */
  for (size_t i = 1; rc == 0 && i < x.n; i++)
    if (x.recs[i].type == CAIRN_REC_MILESTONE)
      rc = take_children(&x, CAIRN_REC_MILESTONE, x.recs[i].id, x.recs[i].idlen);
  for (size_t i = 0; rc == 0 && i < x.n; i++)
    rc = erase_record(&x, &x.recs[i]);
  if (rc == 0)
    rc = erase_indexes(&x);
  if (rc == 0) {
    uint8_t one = 1;
    MDB_val k = {7, "compact"}, v = {1, &one};
    if ((rc = mdb_put(c->txn, s->meta, &k, &v, 0)) != 0)
      rc = cairn__store_err(s, rc, 0);
  }
  free(x.recs);
  msgpack_zone_destroy(&x.z);
  msgpack_sbuffer_destroy(&x.body);
  return rc;
}

int cairn_store_student_erased(cairn_store *s, const char *sid) {
  MDB_txn *txn;
  cairn__store_grow_lock(s, 0);
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc == 0) {
    rc = cairn__store_erased_has(s, txn, CAIRN_REC_STUDENT, sid, strlen(sid));
    mdb_txn_abort(txn);
  } else {
    rc = cairn__store_err(s, rc, 0);
  }
  cairn__store_grow_unlock(s);
  return rc < 0 ? CAIRN_EIO : rc;
}

int cairn__store_erased_begin(cairn_store *s, MDB_txn *txn) {
  (void)s;
  (void)txn;
  return 0;
}

int cairn__store_forget_erased(cairn_store *s) {
  MDB_txn *txn;
  MDB_cursor *cur;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_cursor_open(txn, s->erased, &cur)) != 0) {
    mdb_txn_abort(txn);
    return cairn__store_err(s, rc, 0);
  }
  /* each erased student's own record is noted under their id */
  uint8_t first = CAIRN_REC_STUDENT;
  MDB_val k = {1, &first}, v;
  int r = 0;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (r == 0 && rc == 0 && ((const uint8_t *)k.mv_data)[0] == CAIRN_REC_STUDENT) {
    r = cairn__store_forget_student(s, (const char *)k.mv_data + 1, k.mv_size - 1);
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (r != 0)
    return r;
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}
