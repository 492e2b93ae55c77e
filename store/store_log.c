/*
 * store_log.c: reading the log: an author's runs, whole or scoped (with
 * what a peer may not see redacted).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_int.h"
#include "mpcheck.h"
#include "text.h"

/* ---- reading the log ------------------------------------------------------ */

/* Returns 1 when entry e must leave this node redacted: quarantined here,
 * or its body outside scope (or unreadable), unless it is about a student
 * whose classrooms, as this node knows them now, lie inside scope, on the
 * entry's own campus: a student's history follows them to a classroom that
 * newly teaches them (docs/PROTOCOL.md section 2, "Moves"). 0 when not, or
 * an error. */
static int must_redact(cairn_store *s, MDB_txn *txn, msgpack_zone *z, const cairn_entry *e,
                       const cairn_scope *scope) {
  int rc = cairn__store_is_quarantined(s, txn, e);
  if (rc != 0 || scope == NULL)
    return rc;
  msgpack_object root;
  size_t off = 0;
  msgpack_zone_clear(z);
  if (msgpack_unpack((const char *)e->body, e->body_len, &off, z, &root) != MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_MAP)
    return 1;
  const msgpack_object *where = cairn_record_map_get(&root, "scope");
  if (cairn__store_in_scope(scope, (int)e->kind, where))
    return 0;
  /* Another campus's devices are not known to the peer: their entries
   * could not be checked there, so they stay redacted. */
  if (!cairn__store_scope_valid(where) || scope->campus[0] == '\0' ||
      where->via.array.ptr[0].via.str.size != strlen(scope->campus) ||
      memcmp(where->via.array.ptr[0].via.str.ptr, scope->campus, strlen(scope->campus)) != 0)
    return 1;
  char sid[CAIRN__STORE_ID_MAX + 1];
  rc = cairn__store_body_student(txn, s->records, z, (int)e->kind, &root, sid);
  if (rc == 1)
    rc = cairn__store_student_within(txn, s->records, z, sid, strlen(sid), scope);
  else if (rc == 0)
    return 1;
  return rc < 0 ? rc : !rc;
}

/* Counts into *n and *bytes the entries of author's log before seq `from`
 * back to its last signed entry, stopping once past what a receiver keeps
 * unsigned (FORMAT.md section 1, "Signature"). */
static int unsigned_before(cairn_store *s, MDB_cursor *cur, const uint8_t *author, uint64_t from,
                           size_t *n, size_t *bytes) {
  *n = *bytes = 0;
  if (from <= 1)
    return 0;
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, author, from - 1);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
  while (rc == 0 && memcmp(k.mv_data, author, CAIRN_KEY_BYTES) == 0) {
    cairn_entry e;
    if (cairn__store_entry_get(s, v.mv_data, v.mv_size, NULL, &e, NULL) != 0)
      return CAIRN_ECORRUPT;
    if (e.has_sig || *n > CAIRN_ENTRY_UNSIGNED_MAX || *bytes > CAIRN_ENTRY_UNSIGNED_BYTES)
      return 0;
    (*n)++;
    *bytes += v.mv_size;
    rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
  }
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* Appends author's entries from seq `from` to out until max entries or
 * max_bytes (0: no limit) of output, then takes the run back to the last
 * signed entry it holds: a receiver applies it whole and keeps nothing
 * waiting for a signature. A run that holds no signed entry within the
 * limits is at least one entry: it ends unsigned while a receiver can keep
 * what follows the last signed entry waiting (FORMAT.md section 1,
 * "Signature"); otherwise it extends to the next signed entry. When
 * redact, entries that must not leave in full go redacted. */
static int read_run(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                    size_t max, size_t max_bytes, int redact, const cairn_scope *scope,
                    msgpack_sbuffer *out, size_t *count, uint64_t *last) {
  *count = 0;
  *last = 0;
  MDB_txn *txn;
  MDB_cursor *cur;
  msgpack_zone zone;
  msgpack_sbuffer body; /* an entry's opened body */
  if (!msgpack_zone_init(&zone, 4096))
    return CAIRN_ENOMEM;
  msgpack_sbuffer_init(&body);
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc == 0 && (rc = mdb_cursor_open(txn, s->log, &cur)) != 0)
    mdb_txn_abort(txn);
  if (rc != 0) {
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&body);
    return cairn__store_err(s, rc, 0);
  }
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, author, from);
  MDB_val k = {sizeof key, key}, v;
  size_t start = out->size;
  /* the run up to its last signed entry so far: entries, out's size, seq */
  size_t signed_count = 0, signed_size = start;
  uint64_t signed_last = 0;
  int before_known = 0;
  size_t wait = 0, wait_bytes = 0; /* while nothing is signed: the unsigned entries */
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key && memcmp(k.mv_data, author, CAIRN_KEY_BYTES) == 0) {
    int full = *count >= max || (max_bytes > 0 && out->size - start >= max_bytes);
    if (full && *count > 0 && signed_count > 0) {
      /* back to the last signed entry: what was read past it is read
       * again by the next run */
      out->size = signed_size;
      *count = signed_count;
      *last = signed_last;
      break;
    }
    if (full && *count > 0 && !before_known) {
      /* nothing signed in this run: the wait began before it */
      MDB_cursor *back;
      size_t n = 0, b = 0;
      if ((rc = mdb_cursor_open(txn, s->log, &back)) != 0) {
        rc = cairn__store_err(s, rc, 0);
        break;
      }
      rc = unsigned_before(s, back, author, from, &n, &b);
      mdb_cursor_close(back);
      if (rc != 0)
        break;
      wait += n;
      wait_bytes += b;
      before_known = 1;
    }
    if (full && *count > 0 && wait <= CAIRN_ENTRY_UNSIGNED_MAX &&
        wait_bytes <= CAIRN_ENTRY_UNSIGNED_BYTES)
      break;
    cairn_entry e;
    uint8_t tag[16];
    int sealed = cairn__store_sealed_tag(v.mv_data, v.mv_size, tag);
    if ((rc = cairn__store_entry_get(s, v.mv_data, v.mv_size, &body, &e, NULL)) != 0)
      break;
    int r = redact && !e.redacted ? must_redact(s, txn, &zone, &e, scope) : 0;
    if (r < 0) {
      rc = r;
      break;
    }
    /* it leaves as it travels: opened (or withheld when its key was
     * forgotten), or redacted for the peer */
    if (r ? cairn_entry_redact(&e, out) != 0
          : sealed ? cairn_entry_encode(&e, out) != 0
                   : msgpack_sbuffer_write(out, v.mv_data, v.mv_size) != 0) {
      rc = CAIRN_ENOMEM;
      break;
    }
    *last = e.seq;
    (*count)++;
    if (e.has_sig) {
      signed_count = *count;
      signed_size = out->size;
      signed_last = e.seq;
    } else {
      wait++;
      wait_bytes += v.mv_size;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  msgpack_zone_destroy(&zone);
  msgpack_sbuffer_destroy(&body);
  if (rc == 0 || rc == MDB_NOTFOUND)
    return 0;
  return rc < 0 && rc >= -CAIRN__P_COUNT ? rc : cairn__store_err(s, rc, 0);
}

int cairn_store_read_log(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                         size_t max, msgpack_sbuffer *out, size_t *count) {
  uint64_t last;
  cairn__store_grow_lock(s, 0);
  int rc = read_run(s, author, from, max, 0, 0, NULL, out, count, &last);
  cairn__store_grow_unlock(s);
  return rc;
}

int cairn_store_read_scoped(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                            size_t max, size_t max_bytes, const cairn_scope *scope,
                            msgpack_sbuffer *out, size_t *count, uint64_t *last) {
  cairn__store_grow_lock(s, 0);
  int rc = read_run(s, author, from, max, max_bytes, 1, scope, out, count, last);
  cairn__store_grow_unlock(s);
  return rc;
}
