/*
 * store.c: the LMDB environment: errors, time, opening and closing a store.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "keystore.h"
#include "record.h"
#include "store.h"
#include "store_int.h"
#include "mpcheck.h"
#include "text.h"


#define DEFAULT_MAP_SIZE (64u * 1024 * 1024)
/* log, heads, records, children, meta, quarantine, tokens, receipts, peers,
 * held, restamps, staged, arrivals, histories, reach, erased, and the
 * check's scratch databases. */
#define MAX_DBS 20

/* The compacted copy cairn_store_compact writes beside data.mdb, then
 * renames over it. */
#define COMPACT_TMP "data.mdb.compact"


/* ---- errors -------------------------------------------------------------- */

/* LMDB reports a short write on a full disk as EIO: tell the two apart by
 * the space left for unprivileged users. */
static int disk_full(const char *dir) {
  struct statvfs st;
  return statvfs(dir, &st) == 0 && (uint64_t)st.f_bavail * st.f_frsize < 64u * 1024;
}

int cairn__store_err(const cairn_store *s, int rc, int committing) {
  switch (rc) {
  case 0:
    return 0;
  case MDB_MAP_FULL:
    return CAIRN_EMAPFULL;
  case MDB_NOTFOUND:
    return CAIRN_ENOTFOUND;
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
    return CAIRN_ECORRUPT;
  case MDB_VERSION_MISMATCH:
    return CAIRN_EVERSION;
  case EIO:
    return committing && disk_full(s->dir) ? CAIRN_ENOSPC : CAIRN_EIO;
  default:
    return rc > 0 ? cairn_err_from_errno(rc) : CAIRN_EIO;
  }
}

/* ---- small helpers ------------------------------------------------------- */

void cairn__store_log_key(uint8_t key[CAIRN_KEY_BYTES + 8], const uint8_t *author, uint64_t seq) {
  memcpy(key, author, CAIRN_KEY_BYTES);
  cairn__store_put_be64(key + CAIRN_KEY_BYTES, seq);
}

/* ---- time (FORMAT.md section 1, "Time") ------------------------------------ */

/* The physical part of an HLC is 48 bits of unix milliseconds; it is kept
 * one below its maximum, so that a ceiling (all 16 counter bits set) is
 * never UINT64_MAX and one more than it never wraps. */
#define HLC_MS_MAX ((UINT64_C(1) << 48) - 2)

static uint64_t clamp_ms(int64_t ms) {
  return ms < 0 ? 0 : (uint64_t)ms > HLC_MS_MAX ? HLC_MS_MAX : (uint64_t)ms;
}

uint64_t cairn_store_wall_ms(const cairn_store *s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return clamp_ms((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + s->clock_offset_ms);
}

/* The highest HLC this node takes as dated "now": its reference clock (the
 * wall clock corrected by the offset to the central's clock it last
 * learned) plus the tolerance, every counter bit set. */
uint64_t cairn__store_hlc_ceiling(const cairn_store *s) {
  int64_t ms = (int64_t)cairn_store_wall_ms(s) + s->central_offset_ms + s->clock_tolerance_ms;
  return clamp_ms(ms) << 16 | 0xffff;
}

/* The HLC of this device's next entry: later than everything it folded
 * (last), but never beyond the ceiling for that; later than
 * its own last entry (own), so that its own edits keep their order; and
 * at least its wall clock. Saturates instead of wrapping. */
uint64_t cairn__store_hlc_next(const cairn_store *s, uint64_t last, uint64_t own) {
  uint64_t ceiling = cairn__store_hlc_ceiling(s);
  uint64_t h = cairn_store_wall_ms(s) << 16;
  uint64_t after = last < ceiling ? last + 1 : ceiling;
  if (after > h)
    h = after;
  if (own >= h)
    h = own == UINT64_MAX ? own : own + 1;
  return h;
}

/* How far (ms) hlc is ahead of the reference clock, or 0. */
int64_t cairn__store_ahead_ms(const cairn_store *s, uint64_t hlc) {
  int64_t ref = (int64_t)cairn_store_wall_ms(s) + s->central_offset_ms;
  int64_t ms = (int64_t)(hlc >> 16);
  return ms > ref ? ms - ref : 0;
}

void cairn__store_author_tag(const uint8_t *author, char out[9]) {
  sodium_bin2hex(out, 9, author, 4);
}

/* Compares writes by (hlc, author, seq). */
int cairn__store_write_cmp(uint64_t hlc, const uint8_t *author, uint64_t seq,
                     const cairn__store_write *w) {
  if (hlc != w->hlc)
    return hlc < w->hlc ? -1 : 1;
  int c = memcmp(author, w->author, CAIRN_KEY_BYTES);
  if (c != 0)
    return c;
  return seq == w->seq ? 0 : seq < w->seq ? -1 : 1;
}

/* Skips one msgpack value at p[*off..len); returns 0, or -1 when it is
 * truncated or not msgpack. Used to copy spans of a body without
 * re-encoding them (the body was decoded already). */
int cairn__store_mp_skip(const uint8_t *p, size_t len, size_t *off) {
  size_t used;
  if (*off > len || cairn_mpcheck(p + *off, len - *off, &used) != 0)
    return -1;
  *off += used;
  return 0;
}

/* ---- open / close -------------------------------------------------------- */

/* Opens (creating) every database of the store in txn into s's handles. */
static int open_handles(cairn_store *s, MDB_txn *txn) {
  static const char *const names[] = {"log",        "heads",  "records",  "children",
                                      "meta",       "quarantine", "tokens", "receipts",
                                      "peers",      "held",   "restamps", "staged",
                                      "arrivals",   "histories", "reach", "erased"};
  MDB_dbi *dbis[] = {&s->log,        &s->heads,  &s->records,  &s->children,
                     &s->meta,       &s->quarantine, &s->tokens, &s->receipts,
                     &s->peers,      &s->held,   &s->restamps, &s->staged,
                     &s->arrivals,   &s->histories, &s->reach, &s->erased};
  _Static_assert(sizeof names / sizeof names[0] + CAIRN__STORE_CHECK_DBS == MAX_DBS,
                 "MAX_DBS counts every database");
  _Static_assert(sizeof names / sizeof names[0] == sizeof dbis / sizeof dbis[0],
                 "one handle per database");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    int rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
    if (rc != 0)
      return cairn__store_err(s, rc, 0);
  }
  return 0;
}

static int open_dbs(cairn_store *s, MDB_txn *txn, const cairn__store_migration *steps,
                    unsigned found, unsigned format) {
  int rc = open_handles(s, txn);
  if (rc != 0)
    return rc;
  MDB_val k, v;
  unsigned now;
  rc = cairn__store_format_get(txn, s->meta, &now);
  if (rc != 0)
    return rc;
  if (now != found) /* changed since it was read: another process */
    return CAIRN_ELOCKED;
  if (found == 0) {
    uint8_t f = (uint8_t)format, one = 1;
    MDB_val fk = {6, "format"}, fv = {1, &f}, sk = {4, "self"}, sv = {CAIRN_KEY_BYTES, s->pk};
    MDB_val tk = {4, "time"}, tv = {1, &one}; /* a new store holds nothing dated by an older cairn */
    if ((rc = mdb_put(txn, s->meta, &fk, &fv, 0)) != 0 ||
        (rc = mdb_put(txn, s->meta, &sk, &sv, 0)) != 0 ||
        (rc = mdb_put(txn, s->meta, &tk, &tv, 0)) != 0)
      return cairn__store_err(s, rc, 0);
  } else {
    if (found < format && (rc = cairn__store_migrate(s, txn, steps, found, format)) != 0)
      return rc;
    MDB_val sk = {4, "self"};
    if (mdb_get(txn, s->meta, &sk, &v) != 0 || v.mv_size != CAIRN_KEY_BYTES ||
        memcmp(v.mv_data, s->pk, CAIRN_KEY_BYTES) != 0)
      return CAIRN_ECORRUPT; /* another device's store */
  }
  MDB_val ck = {7, "central"}, rk = {7, "refused"}, ok = {6, "offset"}, tk = {4, "time"};
  MDB_val rsk = {8, "restored"}, cpk = {7, "compact"};
  if ((rc = mdb_get(txn, s->meta, &rsk, &v)) == 0)
    s->restored = 1;
  else if (rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_get(txn, s->meta, &cpk, &v)) == 0)
    s->compact_wanted = 1;
  else if (rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_get(txn, s->meta, &tk, &v)) == MDB_NOTFOUND)
    s->time_unchecked = 1;
  else if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_get(txn, s->meta, &ok, &v)) == 0) {
    if (v.mv_size != 8)
      return CAIRN_ECORRUPT;
    s->central_offset_ms = (int64_t)cairn__store_get_be64(v.mv_data);
    s->offset_known = 1;
  } else if (rc != MDB_NOTFOUND) {
    return cairn__store_err(s, rc, 0);
  }
  if ((rc = mdb_get(txn, s->meta, &ck, &v)) == 0) {
    if (v.mv_size != CAIRN_KEY_BYTES)
      return CAIRN_ECORRUPT;
    memcpy(s->central, v.mv_data, CAIRN_KEY_BYTES);
    s->have_central = 1;
  } else if (rc != MDB_NOTFOUND) {
    return cairn__store_err(s, rc, 0);
  }
  if ((rc = mdb_get(txn, s->meta, &rk, &v)) == 0) {
    if (v.mv_size != 8)
      return CAIRN_ECORRUPT;
    s->refused = cairn__store_get_be64(v.mv_data);
  } else if (rc != MDB_NOTFOUND) {
    return cairn__store_err(s, rc, 0);
  }
  cairn__store_head own;
  if ((rc = cairn__store_head_get(txn, s->heads, s, s->pk, &own)) != 0)
    return rc;
  s->own_seq = own.seq;
  memcpy(s->own_hash, own.hash, CAIRN_HASH_BYTES);
  s->own_hlc = own.hlc;
  if (own.seq > 0 && (rc = cairn__store_stamp_lookup(s, txn, s->restamps, s->pk, own.seq, &s->own_hlc)) < 0)
    return rc;
  MDB_stat st;
  if ((rc = mdb_stat(txn, s->held, &st)) != 0)
    return cairn__store_err(s, rc, 0);
  s->held_count = st.ms_entries;
  /* The clock goes on from the latest head as this node orders it: a
   * head dated beyond the bound (held, or from before the bound) counts
   * only once a restamp orders it. */
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(txn, s->heads, &cur)) != 0)
    return cairn__store_err(s, rc, 0);
  uint64_t ceiling = cairn__store_hlc_ceiling(s);
  int bad = 0;
  while (!bad && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    cairn__store_head h = {0};
    uint64_t eff;
    if (k.mv_size != CAIRN_KEY_BYTES || (bad = cairn__store_head_parse(&v, &h)) != 0)
      break;
    int covered = cairn__store_stamp_lookup(s, txn, s->restamps, k.mv_data, h.seq, &eff);
    if (covered < 0) {
      bad = covered;
      break;
    }
    if (covered)
      h.hlc = eff;
    if (h.hlc > s->last_hlc && h.hlc <= ceiling)
      s->last_hlc = h.hlc;
  }
  mdb_cursor_close(cur);
  if (bad != 0)
    return bad;
  return rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* Creates and opens s->env on the store directory path with a map of
 * map bytes. Returns 0 or an error (s->env may then be set: close it). */
static int env_open(cairn_store *s, const char *path, uint64_t map) {
  int r = mdb_env_create(&s->env);
  if (r != 0) {
    s->env = NULL;
    return cairn__store_err(s, r, 0);
  }
  r = mdb_env_set_maxdbs(s->env, MAX_DBS);
  if (r == 0)
    r = mdb_env_set_mapsize(s->env, (size_t)map);
  if (r == 0) /* a value's reader finds the key store from its transaction */
    r = mdb_env_set_userctx(s->env, s);
  if (r == 0)
    r = mdb_env_open(s->env, path, MDB_NOTLS, 0640);
  if (r == 0)
    s->map_size = map;
  return cairn__store_err(s, r, 0);
}

int cairn_store_open(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                     const cairn_store_opts *opts) {
  return cairn__store_open_at(out, dir, sk, opts, cairn__store_migrations,
                              cairn__store_format_now);
}

int cairn__store_open_at(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                         const cairn_store_opts *opts, const cairn__store_migration *steps,
                         unsigned format) {
  *out = NULL;
  struct stat st;
  if (stat(dir, &st) != 0)
    return cairn_err_from_errno(errno);
  if (!S_ISDIR(st.st_mode))
    return CAIRN_ENOTFOUND;
  if (sodium_init() < 0)
    return CAIRN_EINTERNAL;
  cairn_store *s = calloc(1, sizeof *s);
  size_t plen = strlen(dir) + sizeof "/store";
  char *path = malloc(plen);
  if (s == NULL || path == NULL || (s->dir = strdup(dir)) == NULL) {
    free(path);
    free(s);
    return CAIRN_ENOMEM;
  }
  snprintf(path, plen, "%s/store", dir);
  s->grow_lock_made = pthread_rwlock_init(&s->grow_lock, NULL) == 0;
  s->sk = sk;
  crypto_sign_ed25519_sk_to_pk(s->pk, sk);
  s->clock_offset_ms = opts != NULL ? opts->clock_offset_ms : 0;
  s->clock_tolerance_ms = opts != NULL && opts->clock_tolerance_ms > 0
                              ? opts->clock_tolerance_ms
                              : CAIRN_STORE_CLOCK_TOLERANCE_MS;
  msgpack_sbuffer_init(&s->body_buf);
  msgpack_sbuffer_init(&s->rec_buf);
  msgpack_sbuffer_init(&s->last_body);
  msgpack_sbuffer_init(&s->release_buf);
  msgpack_sbuffer_init(&s->stage_buf);
  msgpack_sbuffer_init(&s->seal_buf);
  msgpack_sbuffer_init(&s->open_buf);
  msgpack_sbuffer_init(&s->pack_buf);
  s->unpack_lock_made = pthread_mutex_init(&s->unpack_lock, NULL) == 0;
  int rc = 0;
  if (!msgpack_zone_init(&s->apply_zone, 16384) || !msgpack_zone_init(&s->check_zone, 16384))
    rc = CAIRN_ENOMEM;
  if (rc == 0 && mkdir(path, 0750) != 0 && errno != EEXIST)
    rc = cairn_err_from_errno(errno);
  if (rc == 0) { /* a compacted copy a crash left before its rename */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/%s", path, COMPACT_TMP) < (int)sizeof tmp)
      (void)unlink(tmp);
  }
  if (opts != NULL) {
    s->compact_stage = opts->compact_stage;
    s->compact_arg = opts->compact_arg;
  }
  if (rc == 0)
    rc = env_open(s, path, opts != NULL && opts->map_size != 0 ? opts->map_size
                                                               : DEFAULT_MAP_SIZE);
  /* The format is read first, in a read transaction: a store of a newer
   * format is refused before anything could write to it, and an older
   * one is handed to before_upgrade (cairnd's backup) before it changes. */
  if (rc == 0) /* before anything may open a sealed value (a migration step) */
    rc = cairn__store_seal_init(s);
  unsigned found = 0;
  if (rc == 0 && (rc = cairn__store_format_read(s->env, &found)) == 0 && found != format &&
      found != 0 && (rc = cairn__store_migration_check(steps, found, format)) == 0 &&
      opts != NULL && opts->before_upgrade != NULL)
    rc = opts->before_upgrade(s, found, format, opts->upgrade_arg);
  MDB_txn *txn = NULL;
  if (rc == 0 && (rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
    rc = cairn__store_err(s, rc, 0);
  if (rc == 0) {
    rc = open_dbs(s, txn, steps, found, format);
    if (rc == 0)
      rc = cairn__store_err(s, mdb_txn_commit(txn), 1);
    else
      mdb_txn_abort(txn);
  }
  /* What an older format kept in clear is sealed now, and then goes with
   * a compaction; an erasure's compaction that did not finish (a crash)
   * is finished now; a copy left half-written by one is dropped first. */
  if (rc == 0)
    rc = cairn__store_seal_check(s);
  if (rc == 0)
    rc = cairn__store_reseal(s);
  if (rc == 0 && s->compact_wanted)
    rc = cairn_store_compact(s);
  free(path);
  if (rc != 0) {
    cairn__store_seal_abandon(s);
    cairn_store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void cairn_store_close(cairn_store *s) {
  if (s == NULL)
    return;
  if (s->env != NULL)
    mdb_env_close(s->env);
  if (s->grow_lock_made)
    pthread_rwlock_destroy(&s->grow_lock);
  msgpack_zone_destroy(&s->apply_zone);
  msgpack_zone_destroy(&s->check_zone);
  msgpack_sbuffer_destroy(&s->body_buf);
  msgpack_sbuffer_destroy(&s->rec_buf);
  msgpack_sbuffer_destroy(&s->last_body);
  msgpack_sbuffer_destroy(&s->release_buf);
  msgpack_sbuffer_destroy(&s->stage_buf);
  msgpack_sbuffer_destroy(&s->seal_buf);
  msgpack_sbuffer_destroy(&s->open_buf);
  cairn__store_pack_free(s);
  cairn_keystore_close(s->keys);
  sodium_memzero(s->tag_key, sizeof s->tag_key);
  free(s->run);
  cairn__store_rec_free(&s->apply_rec);
  free(s->ents);
  free(s->dir);
  free(s);
}

const uint8_t *cairn_store_device(const cairn_store *s) { return s->pk; }

uint64_t cairn_store_own_seq(const cairn_store *s) { return s->own_seq; }

int cairn_store_space(cairn_store *s, uint64_t *map_bytes, uint64_t *used_bytes) {
  MDB_envinfo info;
  MDB_stat st;

  if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
    return CAIRN_EIO;
  *map_bytes = (uint64_t)info.me_mapsize;
  *used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
  return 0;
}

void cairn__store_grow_lock(cairn_store *s, int grow) {
  if (s->grow_lock_made)
    (void)(grow ? pthread_rwlock_wrlock(&s->grow_lock) : pthread_rwlock_rdlock(&s->grow_lock));
}

void cairn__store_grow_unlock(cairn_store *s) {
  if (s->grow_lock_made)
    (void)pthread_rwlock_unlock(&s->grow_lock);
}

int cairn_store_grow(cairn_store *s) {
  MDB_envinfo info;
  int rc = mdb_env_info(s->env, &info);
  if (rc == 0) {
    cairn__store_grow_lock(s, 1);
    rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
    if (rc == 0)
      s->map_size = (uint64_t)info.me_mapsize * 2;
    cairn__store_grow_unlock(s);
  }
  return rc == 0 ? 0 : rc == ENOMEM ? CAIRN_ENOMEM : CAIRN_EIO;
}

/* ---- compaction (an erasure's old bytes) --------------------------------- */

int cairn_store_compaction_wanted(const cairn_store *s) { return s->compact_wanted; }

static void compact_stage(cairn_store *s, const char *stage) {
  if (s->compact_stage != NULL)
    s->compact_stage(stage, s->compact_arg);
}

/* fsyncs the directory path (a rename in it is durable after). */
static int sync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  int rc = fsync(fd) == 0 ? 0 : cairn_err_from_errno(errno);
  close(fd);
  return rc;
}

/* The three paths of a compaction, in one allocation: DATA/store, the
 * copy and the data file. Returns 0 or CAIRN_ENOMEM; p->dir owns
 * the block (free it alone). */
typedef struct {
  char *dir, *tmp, *data;
} compact_paths;

static int compact_paths_make(const cairn_store *s, compact_paths *p) {
  size_t n = strlen(s->dir) + sizeof "/store/" + sizeof COMPACT_TMP;
  char *b = malloc(3 * n);
  if (b == NULL)
    return CAIRN_ENOMEM;
  p->dir = b;
  p->tmp = b + n;
  p->data = b + 2 * n;
  snprintf(p->dir, n, "%s/store", s->dir);
  snprintf(p->tmp, n, "%s/store/%s", s->dir, COMPACT_TMP);
  snprintf(p->data, n, "%s/store/data.mdb", s->dir);
  return 0;
}

int cairn_store_compact_copy(cairn_store *s) {
  compact_paths p;
  int rc = cairn__store_forget_erased(s);
  if (rc != 0 || (rc = compact_paths_make(s, &p)) != 0)
    return rc;
  /* A compacted copy beside the file, durable: until the rename, the old
   * file (still marked) is the store. */
  int fd = open(p.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    rc = cairn_err_from_errno(errno);
    free(p.dir);
    return rc;
  }
  int r = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
  rc = r != 0 ? cairn__store_err(s, r, 1) : fsync(fd) != 0 ? cairn_err_from_errno(errno) : 0;
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc != 0)
    unlink(p.tmp);
  else
    compact_stage(s, "copied");
  free(p.dir);
  return rc;
}

int cairn_store_compact_swap(cairn_store *s) {
  compact_paths p;
  if (compact_paths_make(s, &p) != 0)
    return CAIRN_ENOMEM;
  /* The copy replaces the file: no read transaction may be open (the lock
   * keeps another thread's out), and none of this thread's is. From here
   * on a failure leaves the store closed. */
  int rc = 0, r;
  cairn__store_grow_lock(s, 1);
  mdb_env_close(s->env);
  s->env = NULL;
  if (rename(p.tmp, p.data) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0)
    rc = sync_dir(p.dir);
  if (rc == 0)
    compact_stage(s, "renamed");
  /* Reopened on the copy, which still holds the mark (it was taken after
   * the erasure committed): cleared now. */
  if (rc == 0)
    rc = env_open(s, p.dir, s->map_size);
  MDB_txn *txn = NULL;
  if (rc == 0 && (rc = cairn__store_err(s, mdb_txn_begin(s->env, NULL, 0, &txn), 0)) == 0) {
    MDB_val k = {7, "compact"};
    rc = open_handles(s, txn);
    if (rc == 0 && (r = mdb_del(txn, s->meta, &k, NULL)) != 0 && r != MDB_NOTFOUND)
      rc = cairn__store_err(s, r, 0);
    if (rc == 0)
      rc = cairn__store_err(s, mdb_txn_commit(txn), 1);
    else
      mdb_txn_abort(txn);
  }
  cairn__store_grow_unlock(s);
  free(p.dir);
  if (rc != 0)
    return CAIRN_ECLOSED;
  s->compact_wanted = 0;
  /* "sealed": the compaction that follows the sealing of an older store */
  compact_stage(s, s->sealing ? "sealed" : "done");
  s->sealing = 0;
  return 0;
}

int cairn_store_compact(cairn_store *s) {
  int rc = cairn_store_compact_copy(s);
  return rc != 0 ? rc : cairn_store_compact_swap(s);
}
