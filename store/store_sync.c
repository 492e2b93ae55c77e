/*
 * store_sync.c: what the store keeps for sync (docs/PROTOCOL.md): scopes,
 * the central's key, device records as authority, the version vector,
 * enrollment tokens, receipts, peers and the refusal counter. The apply
 * path that uses them is in store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "store.h"
#include "store_int.h"

#define RECEIPT_CONTEXT "cairn-receipt-v1"
#define RECEIPT_CONTEXT_LEN (sizeof RECEIPT_CONTEXT - 1)
#define TOKEN_SECRET_BYTES 16

void cairn__store_put_be64(uint8_t out[8], uint64_t v) {
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t cairn__store_get_be64(const uint8_t in[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | in[i];
  return v;
}

int cairn__store_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : first;
  while (n < need)
    n *= 2;
  void *grown = realloc(*arr, n * elem);
  if (grown == NULL)
    return CAIRN_ENOMEM;
  *arr = grown;
  *cap = n;
  return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

void cairn__store_copy_str(const msgpack_object *o, char out[65]) {
  const char *v;
  size_t len;
  out[0] = '\0';
  if (cairn__store_obj_str(o, &v, &len) && len <= 64) {
    memcpy(out, v, len);
    out[len] = '\0';
  }
}

static int str_is(const msgpack_object *o, const char *s) {
  return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
         memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* Runs fn(txn, arg) in one write transaction and commits it durably. */
static int write_txn(cairn_store *s, int (*fn)(cairn_store *s, MDB_txn *txn, void *arg),
                     void *arg) {
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = fn(s, txn, arg)) != 0) {
    mdb_txn_abort(txn);
    return rc;
  }
  return cairn__store_err(s, mdb_txn_commit(txn), 1);
}

/* One key/value put, the body of write_txn for the simple setters. */
typedef struct kv {
  MDB_dbi dbi;
  MDB_val k, v;
} kv;

static int put_kv(cairn_store *s, MDB_txn *txn, void *arg) {
  kv *p = arg;
  return cairn__store_err(s, mdb_put(txn, p->dbi, &p->k, &p->v, 0), 0);
}

/* ---- scopes and devices -------------------------------------------------- */

int cairn_scope_overlaps(const cairn_scope *a, const cairn_scope *b) {
  if (a->campus[0] == '\0' || b->campus[0] == '\0')
    return 1;
  if (strcmp(a->campus, b->campus) != 0)
    return 0;
  return a->classroom[0] == '\0' || b->classroom[0] == '\0' ||
         strcmp(a->classroom, b->classroom) == 0;
}

int cairn__store_scope_valid(const msgpack_object *scope) { return cairn_body_scope_valid(scope); }

int cairn__store_in_scope(const cairn_scope *sc, int kind, const msgpack_object *scope) {
  if (sc == NULL || sc->campus[0] == '\0' || kind == CAIRN_REC_RESTAMP ||
      kind == CAIRN_REC_TEMPLATE || kind == CAIRN_REC_STANDARD || kind == CAIRN_REC_ERASURE)
    return 1;
  if (!cairn__store_scope_valid(scope) || !str_is(&scope->via.array.ptr[0], sc->campus))
    return 0;
  if (kind == CAIRN_REC_DEVICE || kind == CAIRN_REC_CAMPUS || sc->classroom[0] == '\0')
    return 1;
  for (uint32_t i = 1; i < scope->via.array.size; i++)
    if (str_is(&scope->via.array.ptr[i], sc->classroom))
      return 1;
  return 0;
}

int cairn__store_device_get(cairn_store *s, MDB_txn *txn, const uint8_t key[CAIRN_KEY_BYTES],
                            msgpack_zone *z, cairn__store_rec *r, cairn_scope *scope,
                            char role[16]) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, key, CAIRN_KEY_BYTES);
  int rc = cairn__store_rec_load(txn, s->records, CAIRN_REC_DEVICE, hex, 2 * CAIRN_KEY_BYTES, z,
                                 r);
  if (rc != 0)
    return rc;
  if (scope != NULL) {
    cairn__store_copy_str(cairn__store_rec_value(r, "campus", NULL), scope->campus);
    cairn__store_copy_str(cairn__store_rec_value(r, "classroom", NULL), scope->classroom);
  }
  if (role != NULL) { /* an enum of the schema: at most "classroom" */
    char v[65];
    cairn__store_copy_str(cairn__store_rec_value(r, "role", NULL), v);
    v[15] = '\0';
    memcpy(role, v, 16);
  }
  return cairn__store_obj_true(cairn__store_rec_value(r, "revoked", NULL)) ? CAIRN_EPERM : 0;
}

int cairn_store_device_scope(cairn_store *s, const uint8_t key[CAIRN_KEY_BYTES],
                             cairn_scope *scope, char role_out[16]) {
  memset(scope, 0, sizeof *scope);
  if (s->have_central && memcmp(key, s->central, CAIRN_KEY_BYTES) == 0) {
    if (role_out != NULL)
      snprintf(role_out, 16, "central");
    return 0;
  }
  MDB_txn *txn;
  msgpack_zone z;
  cairn__store_rec r = {0};
  if (!msgpack_zone_init(&z, 1024))
    return CAIRN_ENOMEM;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc == 0) {
    rc = cairn__store_device_get(s, txn, key, &z, &r, scope, role_out);
    mdb_txn_abort(txn);
  } else {
    rc = cairn__store_err(s, rc, 0);
  }
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc;
}

int cairn_store_devices(cairn_store *s, msgpack_packer *pk) {
  static const char *const strs[] = {"role", "campus", "classroom", "name"};
  MDB_txn *txn;
  MDB_cursor *cur;
  msgpack_zone z;
  cairn__store_rec r = {0};
  msgpack_sbuffer items;
  msgpack_packer ipk;
  size_t count = 0;
  if (!msgpack_zone_init(&z, 4096))
    return CAIRN_ENOMEM;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0) {
    msgpack_zone_destroy(&z);
    return cairn__store_err(s, rc, 0);
  }
  if ((rc = mdb_cursor_open(txn, s->records, &cur)) != 0) {
    mdb_txn_abort(txn);
    msgpack_zone_destroy(&z);
    return cairn__store_err(s, rc, 0);
  }
  msgpack_sbuffer_init(&items);
  msgpack_packer_init(&ipk, &items, msgpack_sbuffer_write);
  uint8_t first = CAIRN_REC_DEVICE;
  MDB_val k = {1, &first}, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size > 1 && *(const uint8_t *)k.mv_data == CAIRN_REC_DEVICE;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    msgpack_zone_clear(&z);
    uint8_t key[CAIRN_KEY_BYTES];
    if (cairn__store_rec_read(txn, &v, &z, &r) != 0 ||
        sodium_hex2bin(key, sizeof key, (const char *)k.mv_data + 1, k.mv_size - 1, NULL, NULL,
                       NULL) != 0) {
      rc = CAIRN_ECORRUPT;
      break;
    }
    msgpack_pack_map(&ipk, 8);
    pack_cstr(&ipk, "id");
    msgpack_pack_str(&ipk, k.mv_size - 1);
    msgpack_pack_str_body(&ipk, (const char *)k.mv_data + 1, k.mv_size - 1);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
      const msgpack_object *o = cairn__store_rec_value(&r, strs[i], NULL);
      pack_cstr(&ipk, strs[i]);
      if (o != NULL)
        msgpack_pack_object(&ipk, *o);
      else
        pack_cstr(&ipk, "");
    }
    pack_cstr(&ipk, "revoked");
    if (cairn__store_obj_true(cairn__store_rec_value(&r, "revoked", NULL)))
      msgpack_pack_true(&ipk);
    else
      msgpack_pack_false(&ipk);
    const msgpack_object *enrolled = cairn__store_rec_value(&r, "enrolled", NULL);
    pack_cstr(&ipk, "enrolled");
    if (enrolled != NULL)
      msgpack_pack_object(&ipk, *enrolled);
    else
      msgpack_pack_nil(&ipk);
    MDB_val pkey = {CAIRN_KEY_BYTES, key}, seen;
    int g = mdb_get(txn, s->peers, &pkey, &seen);
    pack_cstr(&ipk, "last_seen");
    if (g == 0 && seen.mv_size == 8)
      msgpack_pack_int64(&ipk, (int64_t)cairn__store_get_be64(seen.mv_data));
    else
      msgpack_pack_nil(&ipk);
    count++;
  }
  if (rc == MDB_NOTFOUND || rc == 0)
    rc = 0;
  else if (rc > 0)
    rc = cairn__store_err(s, rc, 0);
  if (rc == 0) {
    msgpack_pack_array(pk, count);
    if (items.size > 0)
      pk->callback(pk->data, items.data, items.size);
  }
  msgpack_sbuffer_destroy(&items);
  cairn__store_rec_free(&r);
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  msgpack_zone_destroy(&z);
  return rc;
}

typedef struct seen_puts {
  const cairn_peer_seen *seen;
  size_t n;
} seen_puts;

static int put_seen(cairn_store *s, MDB_txn *txn, void *arg) {
  const seen_puts *p = arg;
  int rc = 0;
  for (size_t i = 0; i < p->n && rc == 0; i++) {
    uint8_t t[8];
    cairn__store_put_be64(t, (uint64_t)p->seen[i].when);
    MDB_val k = {CAIRN_KEY_BYTES, (void *)p->seen[i].key}, v = {sizeof t, t};
    rc = cairn__store_err(s, mdb_put(txn, s->peers, &k, &v, 0), 0);
  }
  return rc;
}

int cairn_store_peers_seen(cairn_store *s, const cairn_peer_seen *seen, size_t n) {
  seen_puts p = {seen, n};
  return write_txn(s, put_seen, &p);
}

/* ---- the central, the version vector, the counter ------------------------ */

const uint8_t *cairn_store_central(const cairn_store *s) {
  return s->have_central ? s->central : NULL;
}

int cairn_store_set_central(cairn_store *s, const uint8_t key[CAIRN_KEY_BYTES]) {
  if (s->have_central)
    return memcmp(s->central, key, CAIRN_KEY_BYTES) == 0 ? 0 : CAIRN_EEXISTS;
  kv p = {s->meta, {7, "central"}, {CAIRN_KEY_BYTES, (void *)key}};
  int rc = write_txn(s, put_kv, &p);
  if (rc == 0) {
    memcpy(s->central, key, CAIRN_KEY_BYTES);
    s->have_central = 1;
  }
  return rc;
}

/* ---- the join (meta "join") ---------------------------------------------- */

/* Copies the string o, at most cap - 1 bytes, into out. Returns 0, or -1
 * when o is no string or too long. */
static int join_str(const msgpack_object *o, char *out, size_t cap) {
  const char *v;
  size_t len;
  if (o == NULL || !cairn__store_obj_str(o, &v, &len) || len >= cap)
    return -1;
  memcpy(out, v, len);
  out[len] = '\0';
  return 0;
}

/* Copies the bin o of exactly n bytes into out. Returns 0 or -1. */
static int join_bin(const msgpack_object *o, uint8_t *out, size_t n) {
  if (o == NULL || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
    return -1;
  memcpy(out, o->via.bin.ptr, n);
  return 0;
}

/* Decodes a meta "join" value (p, n) into *out. Pure. Returns 0 or
 * CAIRN_ECORRUPT. */
static int join_decode(const uint8_t *p, size_t n, cairn_store_join *out) {
  msgpack_unpacked u;
  size_t off = 0;
  int rc = CAIRN_ECORRUPT;

  memset(out, 0, sizeof *out);
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS && off == n &&
      u.data.type == MSGPACK_OBJECT_MAP &&
      join_str(cairn_record_map_get(&u.data, "campus"), out->scope.campus,
               sizeof out->scope.campus) == 0 &&
      join_str(cairn_record_map_get(&u.data, "classroom"), out->scope.classroom,
               sizeof out->scope.classroom) == 0 &&
      join_bin(cairn_record_map_get(&u.data, "network"), out->network, sizeof out->network) == 0 &&
      join_str(cairn_record_map_get(&u.data, "upstream"), out->upstream,
               sizeof out->upstream) == 0 &&
      out->upstream[0] != '\0' &&
      join_bin(cairn_record_map_get(&u.data, "upstream_key"), out->upstream_key,
               sizeof out->upstream_key) == 0)
    rc = 0;
  msgpack_unpacked_destroy(&u);
  return rc;
}

int cairn_store_join_get(cairn_store *s, cairn_store_join *out) {
  MDB_txn *txn;
  MDB_val k = {4, "join"}, v;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_get(txn, s->meta, &k, &v);
  if (rc == 0)
    rc = join_decode(v.mv_data, v.mv_size, out);
  else
    rc = rc == MDB_NOTFOUND ? CAIRN_ENOTFOUND : cairn__store_err(s, rc, 0);
  mdb_txn_abort(txn);
  return rc;
}

/* The body of cairn_store_join_record's transaction. */
typedef struct join_put {
  const uint8_t *central; /* NULL: leave it */
  msgpack_sbuffer value;
} join_put;

static int put_join(cairn_store *s, MDB_txn *txn, void *arg) {
  join_put *p = arg;
  MDB_val k = {4, "join"}, v = {p->value.size, p->value.data};
  MDB_val ck = {7, "central"}, cv = {CAIRN_KEY_BYTES, (void *)p->central};
  int rc = 0;

  if (p->central != NULL && !s->have_central)
    rc = mdb_put(txn, s->meta, &ck, &cv, 0);
  if (rc == 0)
    rc = mdb_put(txn, s->meta, &k, &v, 0);
  return cairn__store_err(s, rc, 0);
}

static void pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n) {
  msgpack_pack_bin(pk, n);
  msgpack_pack_bin_body(pk, p, n);
}

int cairn_store_join_record(cairn_store *s, const uint8_t central[CAIRN_KEY_BYTES],
                            const cairn_store_join *j) {
  join_put p = {central, {0}};
  msgpack_packer pk;
  int rc;

  if (central != NULL && s->have_central && memcmp(s->central, central, CAIRN_KEY_BYTES) != 0)
    return CAIRN_EEXISTS;
  if (j->upstream[0] == '\0' || memchr(j->upstream, '\0', sizeof j->upstream) == NULL ||
      memchr(j->scope.campus, '\0', sizeof j->scope.campus) == NULL ||
      memchr(j->scope.classroom, '\0', sizeof j->scope.classroom) == NULL)
    return CAIRN_EINVAL;
  msgpack_sbuffer_init(&p.value);
  msgpack_packer_init(&pk, &p.value, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  pack_cstr(&pk, "campus");
  pack_cstr(&pk, j->scope.campus);
  pack_cstr(&pk, "classroom");
  pack_cstr(&pk, j->scope.classroom);
  pack_cstr(&pk, "network");
  pack_bin(&pk, j->network, sizeof j->network);
  pack_cstr(&pk, "upstream");
  pack_cstr(&pk, j->upstream);
  pack_cstr(&pk, "upstream_key");
  pack_bin(&pk, j->upstream_key, sizeof j->upstream_key);
  rc = write_txn(s, put_join, &p);
  msgpack_sbuffer_destroy(&p.value);
  if (rc == 0 && central != NULL && !s->have_central) {
    memcpy(s->central, central, CAIRN_KEY_BYTES);
    s->have_central = 1;
  }
  return rc;
}

uint64_t cairn_store_refused_count(const cairn_store *s) { return s->refused; }

int cairn_store_central_offset(const cairn_store *s, int64_t *ms) {
  *ms = s->central_offset_ms;
  return s->offset_known;
}

static int del_kv(cairn_store *s, MDB_txn *txn, void *arg) {
  kv *p = arg;
  int rc = mdb_del(txn, p->dbi, &p->k, NULL);
  return rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

int cairn_store_restored(const cairn_store *s) { return s->restored; }

int cairn_store_set_restored(cairn_store *s, int on) {
  uint8_t one = 1;
  kv p = {s->meta, {8, "restored"}, {1, &one}};
  if (s->restored == (on != 0))
    return 0;
  int rc = write_txn(s, on ? put_kv : del_kv, &p);
  if (rc == 0)
    s->restored = on != 0;
  return rc;
}

int cairn_store_copy(cairn_store *s, int fd) {
  int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
  return rc == 0 ? 0 : cairn__store_err(s, rc, 0);
}

int cairn_store_set_central_offset(cairn_store *s, int64_t offset_ms) {
  uint8_t v[8];
  if (s->offset_known && offset_ms == s->central_offset_ms)
    return 0;
  cairn__store_put_be64(v, (uint64_t)offset_ms);
  kv p = {s->meta, {6, "offset"}, {sizeof v, v}};
  int rc = write_txn(s, put_kv, &p);
  if (rc == 0) {
    s->central_offset_ms = offset_ms;
    s->offset_known = 1;
  }
  return rc;
}

/* One reason of the quarantine and its count. */
typedef struct reason_count {
  char reason[128];
  uint64_t n;
} reason_count;

static int reason_cmp(const void *a, const void *b) {
  const reason_count *x = a, *y = b;
  return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->reason, y->reason);
}

int cairn_store_kept_out(cairn_store *s, msgpack_packer *pk) {
  enum { REASONS = 8 };
  reason_count seen[REASONS];
  uint64_t other = 0;
  size_t n = 0;
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_stat st;
  MDB_val k, v;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_stat(txn, s->held, &st)) != 0 || (rc = mdb_cursor_open(txn, s->quarantine, &cur)) != 0) {
    mdb_txn_abort(txn);
    return cairn__store_err(s, rc, 0);
  }
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    size_t len = v.mv_size < sizeof seen[0].reason - 1 ? v.mv_size : sizeof seen[0].reason - 1;
    size_t i = 0;
    while (i < n && !(strlen(seen[i].reason) == len && memcmp(seen[i].reason, v.mv_data, len) == 0))
      i++;
    if (i == n && n == REASONS) {
      other++;
      continue;
    }
    if (i == n) {
      memcpy(seen[n].reason, v.mv_data, len);
      seen[n].reason[len] = '\0';
      seen[n++].n = 0;
    }
    seen[i].n++;
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  qsort(seen, n, sizeof *seen, reason_cmp);
  msgpack_pack_map(pk, 2);
  pack_cstr(pk, "held");
  msgpack_pack_uint64(pk, st.ms_entries);
  pack_cstr(pk, "quarantined");
  msgpack_pack_array(pk, n + (other > 0));
  for (size_t i = 0; i <= n; i++) {
    if (i == n && other == 0)
      break;
    msgpack_pack_map(pk, 2);
    pack_cstr(pk, "reason");
    pack_cstr(pk, i < n ? seen[i].reason : "other reasons");
    pack_cstr(pk, "entries");
    msgpack_pack_uint64(pk, i < n ? seen[i].n : other);
  }
  return 0;
}

static int version_vector(cairn_store *s, cairn_vv_item **out, size_t *n);

int cairn_store_version_vector(cairn_store *s, cairn_vv_item **out, size_t *n) {
  cairn__store_grow_lock(s, 0);
  int rc = version_vector(s, out, n);
  cairn__store_grow_unlock(s);
  return rc;
}

static int version_vector(cairn_store *s, cairn_vv_item **out, size_t *n) {
  *out = NULL;
  *n = 0;
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_stat st;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_stat(txn, s->heads, &st)) != 0 || (rc = mdb_cursor_open(txn, s->heads, &cur)) != 0) {
    mdb_txn_abort(txn);
    return cairn__store_err(s, rc, 0);
  }
  cairn_vv_item *items = calloc(st.ms_entries ? st.ms_entries : 1, sizeof *items);
  size_t count = 0;
  MDB_val k, v;
  if (items == NULL)
    rc = CAIRN_ENOMEM;
  while (rc == 0 && count < st.ms_entries && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    cairn__store_head h;
    if (k.mv_size != CAIRN_KEY_BYTES)
      rc = CAIRN_ECORRUPT;
    else if ((rc = cairn__store_head_parse(&v, &h)) == 0) {
      memcpy(items[count].author, k.mv_data, CAIRN_KEY_BYTES);
      items[count++].seq = h.seq;
    }
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  else if (rc > 0)
    rc = cairn__store_err(s, rc, 0);
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != 0) {
    free(items);
    return rc;
  }
  /* The cursor gave author key order; the central goes first. */
  for (size_t i = 1; s->have_central && i < count; i++)
    if (memcmp(items[i].author, s->central, CAIRN_KEY_BYTES) == 0) {
      cairn_vv_item c = items[i];
      memmove(items + 1, items, i * sizeof *items);
      items[0] = c;
      break;
    }
  *out = items;
  *n = count;
  return 0;
}

int cairn_store_vv_with_staged(cairn_store *s, cairn_vv_item *vv, size_t n,
                               cairn_vv_item **out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  MDB_txn *txn;
  MDB_cursor *cur;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_cursor_open(txn, s->staged, &cur)) != 0) {
    mdb_txn_abort(txn);
    return cairn__store_err(s, rc, 0);
  }
  cairn_vv_item *items = malloc((n ? n : 1) * sizeof *items);
  size_t count = n, cap = n ? n : 1;
  MDB_val k, v;
  if (items == NULL)
    rc = CAIRN_ENOMEM;
  else
    memcpy(items, vv, n * sizeof *items);
  /* Keys are author || seq: the last of each author's is its tip. */
  while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    if (k.mv_size != CAIRN_KEY_BYTES + 8) {
      rc = CAIRN_ECORRUPT;
      break;
    }
    uint64_t seq = cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES);
    size_t i = 0;
    while (i < count && memcmp(items[i].author, k.mv_data, CAIRN_KEY_BYTES) != 0)
      i++;
    if (i == count) { /* an author this store holds nothing of yet */
      if (seq != 1)
        continue;
      if (count == cap) {
        cairn_vv_item *grown = realloc(items, 2 * cap * sizeof *items);
        if (grown == NULL) {
          rc = CAIRN_ENOMEM;
          break;
        }
        items = grown;
        cap *= 2;
      }
      memcpy(items[count].author, k.mv_data, CAIRN_KEY_BYTES);
      items[count++].seq = 0;
    }
    if (seq == items[i].seq + 1)
      items[i].seq = seq; /* contiguous from the head */
  }
  if (rc == MDB_NOTFOUND)
    rc = 0;
  else if (rc > 0)
    rc = cairn__store_err(s, rc, 0);
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != 0) {
    free(items);
    return rc;
  }
  *out = items;
  *nout = count;
  return 0;
}

/* ---- enrollment tokens --------------------------------------------------- */

static void token_key(const uint8_t secret[TOKEN_SECRET_BYTES], uint8_t key[CAIRN_HASH_BYTES]) {
  crypto_generichash(key, CAIRN_HASH_BYTES, secret, TOKEN_SECRET_BYTES, NULL, 0);
}

/* Packs a token value [role, campus, classroom, expires, used, device]
 * into b; device is the key that used it, or nil. */
static void token_pack(msgpack_sbuffer *b, const char *role, const cairn_scope *scope,
                       int64_t expires, const uint8_t *device) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 6);
  pack_cstr(&pk, role);
  pack_cstr(&pk, scope->campus);
  pack_cstr(&pk, scope->classroom);
  msgpack_pack_int64(&pk, expires);
  if (device != NULL) {
    msgpack_pack_true(&pk);
    msgpack_pack_bin(&pk, CAIRN_KEY_BYTES);
    msgpack_pack_bin_body(&pk, device, CAIRN_KEY_BYTES);
  } else {
    msgpack_pack_false(&pk);
    msgpack_pack_nil(&pk);
  }
}

int cairn_store_token_add(cairn_store *s, const uint8_t secret[16], const char *role,
                          const cairn_scope *scope, int64_t expires_unix) {
  if (strcmp(role, "classroom") != 0 && strcmp(role, "hub") != 0)
    return CAIRN_EINVAL;
  if (memchr(scope->campus, '\0', sizeof scope->campus) == NULL || scope->campus[0] == '\0' ||
      memchr(scope->classroom, '\0', sizeof scope->classroom) == NULL)
    return CAIRN_EINVAL;
  uint8_t key[CAIRN_HASH_BYTES];
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  token_key(secret, key);
  token_pack(&b, role, scope, expires_unix, NULL);
  kv p = {s->tokens, {sizeof key, key}, {b.size, b.data}};
  int rc = write_txn(s, put_kv, &p);
  msgpack_sbuffer_destroy(&b);
  return rc;
}

int cairn__store_token_take(cairn_store *s, MDB_txn *txn, const uint8_t secret[16],
                            const uint8_t device[CAIRN_KEY_BYTES], int64_t now_unix,
                            char role[16], cairn_scope *scope, int *again, char *why,
                            size_t whylen) {
  uint8_t key[CAIRN_HASH_BYTES];
  *again = 0;
  token_key(secret, key);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_get(txn, s->tokens, &k, &v);
  if (rc == MDB_NOTFOUND) {
    snprintf(why, whylen, "unknown token");
    return CAIRN_ENOTFOUND;
  }
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  msgpack_zone z;
  msgpack_object o;
  size_t off = 0;
  if (!msgpack_zone_init(&z, 512))
    return CAIRN_ENOMEM;
  const msgpack_object *a = NULL;
  /* Tokens made before a join could be repeated have 5 elements and no
   * record of who used them. */
  if (msgpack_unpack(v.mv_data, v.mv_size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS &&
      o.type == MSGPACK_OBJECT_ARRAY && (o.via.array.size == 5 || o.via.array.size == 6))
    a = o.via.array.ptr;
  int64_t expires = 0;
  if (a == NULL || a[0].type != MSGPACK_OBJECT_STR || a[0].via.str.size >= 16 ||
      a[1].type != MSGPACK_OBJECT_STR || a[2].type != MSGPACK_OBJECT_STR ||
      a[4].type != MSGPACK_OBJECT_BOOLEAN ||
      (a[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER && a[3].type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
    rc = CAIRN_ECORRUPT;
  } else {
    int by_device = o.via.array.size == 6 && a[5].type == MSGPACK_OBJECT_BIN &&
                    a[5].via.bin.size == CAIRN_KEY_BYTES &&
                    memcmp(a[5].via.bin.ptr, device, CAIRN_KEY_BYTES) == 0;
    expires = a[3].via.i64;
    memcpy(role, a[0].via.str.ptr, a[0].via.str.size);
    role[a[0].via.str.size] = '\0';
    cairn__store_copy_str(&a[1], scope->campus);
    cairn__store_copy_str(&a[2], scope->classroom);
    if (a[4].via.boolean && !by_device) {
      snprintf(why, whylen, "token already used");
      rc = CAIRN_ENOTFOUND;
    } else if (now_unix >= expires) {
      snprintf(why, whylen, "token expired");
      rc = CAIRN_EPERM;
    } else {
      *again = a[4].via.boolean;
    }
  }
  msgpack_zone_destroy(&z);
  if (rc != 0 || *again)
    return rc;
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  token_pack(&b, role, scope, expires, device);
  MDB_val nv = {b.size, b.data};
  rc = cairn__store_err(s, mdb_put(txn, s->tokens, &k, &nv, 0), 0);
  msgpack_sbuffer_destroy(&b);
  return rc;
}

/* ---- receipts ------------------------------------------------------------ */

static void receipt_message(const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq,
                            uint8_t m[RECEIPT_CONTEXT_LEN + CAIRN_KEY_BYTES + 8]) {
  memcpy(m, RECEIPT_CONTEXT, RECEIPT_CONTEXT_LEN);
  memcpy(m + RECEIPT_CONTEXT_LEN, author, CAIRN_KEY_BYTES);
  cairn__store_put_be64(m + RECEIPT_CONTEXT_LEN + CAIRN_KEY_BYTES, seq);
}

void cairn_store_receipt_sign(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq,
                              uint8_t sig[CAIRN_SIG_BYTES]) {
  uint8_t m[RECEIPT_CONTEXT_LEN + CAIRN_KEY_BYTES + 8];
  receipt_message(author, seq, m);
  crypto_sign_detached(sig, NULL, m, sizeof m, s->sk);
}

/* Stores a receipt unless one for a higher seq is already held. */
static int receipt_store(cairn_store *s, MDB_txn *txn, void *arg) {
  kv *p = arg;
  MDB_val old;
  int rc = mdb_get(txn, s->receipts, &p->k, &old);
  if (rc == 0 && old.mv_size == 8 + CAIRN_SIG_BYTES &&
      cairn__store_get_be64(old.mv_data) > cairn__store_get_be64(p->v.mv_data))
    return 0;
  if (rc != 0 && rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  return put_kv(s, txn, p);
}

int cairn_store_receipt_verify(const cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                               uint64_t seq, const uint8_t central[CAIRN_KEY_BYTES],
                               const uint8_t sig[CAIRN_SIG_BYTES]) {
  uint8_t m[RECEIPT_CONTEXT_LEN + CAIRN_KEY_BYTES + 8];
  if (!s->have_central || memcmp(central, s->central, CAIRN_KEY_BYTES) != 0)
    return CAIRN_EBADSIG; /* not signed by this deployment's central */
  receipt_message(author, seq, m);
  return crypto_sign_verify_detached(sig, m, sizeof m, central) != 0 ? CAIRN_EBADSIG : 0;
}

int cairn_store_receipt_put(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq,
                            const uint8_t central[CAIRN_KEY_BYTES],
                            const uint8_t sig[CAIRN_SIG_BYTES]) {
  uint8_t val[8 + CAIRN_SIG_BYTES];
  int rc = cairn_store_receipt_verify(s, author, seq, central, sig);
  if (rc != 0)
    return rc;
  cairn__store_put_be64(val, seq);
  memcpy(val + 8, sig, CAIRN_SIG_BYTES);
  kv p = {s->receipts, {CAIRN_KEY_BYTES, (void *)author}, {sizeof val, val}};
  return write_txn(s, receipt_store, &p);
}

int cairn_store_receipt_get(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t *seq,
                            uint8_t sig[CAIRN_SIG_BYTES]) {
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  MDB_val k = {CAIRN_KEY_BYTES, (void *)author}, v;
  rc = mdb_get(txn, s->receipts, &k, &v);
  if (rc == 0 && v.mv_size != 8 + CAIRN_SIG_BYTES)
    rc = CAIRN_ECORRUPT;
  else if (rc == 0) {
    *seq = cairn__store_get_be64(v.mv_data);
    memcpy(sig, (const uint8_t *)v.mv_data + 8, CAIRN_SIG_BYTES);
  } else {
    rc = cairn__store_err(s, rc, 0);
  }
  mdb_txn_abort(txn);
  return rc;
}
