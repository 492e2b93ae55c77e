/*
 * store_view.c: a record's state as a set of writes (docs/FORMAT.md s.4),
 * the children index, and the packed reads built on them: export and
 * conflicts. (The typed views, status and show, are store_status.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "text.h"

/* ---- msgpack helpers ---------------------------------------------------- */

int cairn__store_obj_str(const msgpack_object *o, const char **s, size_t *len) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return 0;
  *s = o->via.str.ptr;
  *len = o->via.str.size;
  return 1;
}

int cairn__store_obj_num(const msgpack_object *o, double *v) {
  if (o == NULL)
    return 0;
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    *v = (double)o->via.u64;
    return 1;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    *v = (double)o->via.i64;
    return 1;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    *v = o->via.f64;
    return 1;
  default:
    return 0;
  }
}

int cairn__store_obj_true(const msgpack_object *o) {
  return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len) {
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

static void pack_cstr(msgpack_packer *pk, const char *s) { pack_str(pk, s, strlen(s)); }

static void pack_hex(msgpack_packer *pk, const uint8_t *bin, size_t n) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, bin, n);
  pack_str(pk, hex, 2 * n);
}

/* ---- record state ------------------------------------------------------- */

size_t cairn__store_rec_key(uint8_t *key, int type, const char *id, size_t idlen) {
  key[0] = (uint8_t)type;
  memcpy(key + 1, id, idlen);
  return 1 + idlen;
}

void cairn__store_rec_free(cairn__store_rec *r) {
  free(r->w);
  r->w = NULL;
  r->n = r->cap = 0;
}

int cairn__store_rec_parse(const void *data, size_t len, msgpack_zone *z, cairn__store_rec *r) {
  msgpack_object root;
  size_t off = 0;
  r->n = 0;
  if (msgpack_unpack(data, len, &off, z, &root) != MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_ARRAY)
    return CAIRN_ECORRUPT;
  if (root.via.array.size > r->cap) {
    cairn__store_write *w = realloc(r->w, root.via.array.size * sizeof *w);
    if (w == NULL)
      return CAIRN_ENOMEM;
    r->w = w;
    r->cap = root.via.array.size;
  }
  for (uint32_t i = 0; i < root.via.array.size; i++) {
    const msgpack_object *o = &root.via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7)
      return CAIRN_ECORRUPT;
    const msgpack_object *a = o->via.array.ptr;
    const msgpack_object *sc = &a[6];
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].type != MSGPACK_OBJECT_BIN ||
        a[1].via.bin.size != CAIRN_KEY_BYTES || a[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a[3].type != MSGPACK_OBJECT_MAP ||
        (a[4].type != MSGPACK_OBJECT_MAP && a[4].type != MSGPACK_OBJECT_NIL) ||
        (a[5].type != MSGPACK_OBJECT_STR && a[5].type != MSGPACK_OBJECT_NIL) ||
        !cairn__store_scope_valid(sc))
      return CAIRN_ECORRUPT;
    cairn__store_write *w = &r->w[i];
    w->hlc = a[0].via.u64;
    w->author = (const uint8_t *)a[1].via.bin.ptr;
    w->seq = a[2].via.u64;
    w->set = &a[3];
    w->base = a[4].type == MSGPACK_OBJECT_MAP ? &a[4] : NULL;
    w->why = a[5].type == MSGPACK_OBJECT_STR ? &a[5] : NULL;
    w->scope = sc;
    w->obj = o;
  }
  r->n = root.via.array.size;
  return 0;
}

int cairn__store_rec_load(MDB_txn *txn, MDB_dbi records, int type, const char *id,
                          size_t idlen, msgpack_zone *z, cairn__store_rec *r) {
  uint8_t key[CAIRN__STORE_KEY_MAX];
  if (idlen == 0 || idlen > CAIRN__STORE_ID_MAX)
    return CAIRN_ENOTFOUND;
  MDB_val k = {cairn__store_rec_key(key, type, id, idlen), key}, v;
  int rc = mdb_get(txn, records, &k, &v);
  if (rc == MDB_NOTFOUND)
    return CAIRN_ENOTFOUND;
  if (rc != 0)
    return CAIRN_EIO;
  return cairn__store_rec_read(txn, &v, z, r);
}

int cairn__store_rec_read(MDB_txn *txn, const MDB_val *v, msgpack_zone *z, cairn__store_rec *r) {
  MDB_val plain;
  r->n = 0;
  int rc = cairn__store_open_rec(txn, v, z, &plain);
  return rc != 0 ? rc : cairn__store_rec_parse(plain.mv_data, plain.mv_size, z, r);
}

const msgpack_object *cairn__store_rec_value(const cairn__store_rec *r, const char *field,
                                             size_t *wi) {
  for (size_t i = r->n; i-- > 0;) {
    const msgpack_object *v = cairn_record_map_get(r->w[i].set, field);
    if (v != NULL) {
      if (wi != NULL)
        *wi = i;
      return v;
    }
  }
  return NULL;
}

const msgpack_object *cairn__store_field_of(const msgpack_object *set, const cairn__store_rec *r,
                                            const char *field) {
  const msgpack_object *v = set != NULL ? cairn_record_map_get(set, field) : NULL;
  return v != NULL || r == NULL ? v : cairn__store_rec_value(r, field, NULL);
}

/* ---- sets (FORMAT.md section 4) ------------------------------------------ */

int cairn__store_field_is_lww(const cairn_field_def *f) {
  return f->type != CAIRN_FT_SET && !(f->flags & CAIRN_F_LEGACY);
}

/* The legacy field of type read into set field, or NULL. */
static const char *legacy_of(int type, const char *field) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  for (size_t i = 0; fd != NULL && i < nf; i++)
    if ((fd[i].flags & CAIRN_F_LEGACY) && fd[i].into != NULL && strcmp(fd[i].into, field) == 0)
      return fd[i].name;
  return NULL;
}

/* One operation on one element of a set: the write (wi) and position
 * (pos) that made it. */
typedef struct set_op {
  const char *s;
  uint32_t len;
  uint32_t wi, pos;
  int add;
} set_op;

static int op_by_element(const void *a, const void *b) {
  const set_op *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c != 0 || x->len != y->len)
    return c != 0 ? c : x->len < y->len ? -1 : 1;
  if (x->wi != y->wi)
    return x->wi < y->wi ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int op_by_place(const void *a, const void *b) {
  const set_op *x = a, *y = b;
  if (x->wi != y->wi)
    return x->wi < y->wi ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Appends the strings of list as operations of write wi, removes first
 * (pos 0..), adds after them. */
static int ops_add(set_op **ops, size_t *n, size_t *cap, const msgpack_object *list, uint32_t wi,
                   int add) {
  uint32_t n_list = list != NULL && list->type == MSGPACK_OBJECT_ARRAY ? list->via.array.size : 0;
  for (uint32_t i = 0; i < n_list; i++) {
    const msgpack_object *o = &list->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_STR)
      continue;
    if (cairn__store_grow((void **)ops, cap, *n + 1, sizeof **ops, 16) != 0)
      return CAIRN_ENOMEM;
    (*ops)[(*n)++] = (set_op){o->via.str.ptr, o->via.str.size, wi,
                              (uint32_t)(add ? (1u << 30) : 0) + i, add};
  }
  return 0;
}

/* The value of set field in write set map (the field itself, else its
 * legacy single value as a whole set): its operations. Returns 1 when
 * the write touches the set, else 0. */
static int write_ops(const msgpack_object *set, const char *field, const char *legacy,
                     const msgpack_object **add, const msgpack_object **remove, int *whole,
                     msgpack_object *one) {
  const msgpack_object *v = cairn_record_map_get(set, field);
  if (v != NULL)
    return cairn_record_set_ops(v, add, remove, whole) == 0;
  v = legacy != NULL ? cairn_record_map_get(set, legacy) : NULL;
  if (v == NULL || v->type != MSGPACK_OBJECT_STR)
    return 0;
  /* a classroom of a write from before: the set exactly {it}, or {} for "" */
  one->type = MSGPACK_OBJECT_ARRAY;
  one->via.array.size = v->via.str.size > 0;
  one->via.array.ptr = (msgpack_object *)v;
  *add = one;
  *remove = NULL;
  *whole = 1;
  return 1;
}

int cairn__store_rec_members(const cairn__store_rec *r, int type, const char *field,
                             const msgpack_object *pending, msgpack_zone *z,
                             const msgpack_object **out) {
  const char *legacy = legacy_of(type, field);
  const msgpack_object *add, *remove;
  msgpack_object ones[2];
  int whole;
  size_t from = 0, n = 0, cap = 0, nw = r->n + (pending != NULL);
  set_op *ops = NULL;
  int rc = 0;

  /* Nothing before the last whole write counts: it set the whole set. */
  for (size_t i = 0; i < nw; i++) {
    const msgpack_object *set = i < r->n ? r->w[i].set : NULL;
    int touched = set != NULL ? write_ops(set, field, legacy, &add, &remove, &whole, &ones[0])
                              : cairn_record_set_ops(pending, &add, &remove, &whole) == 0;
    if (touched && whole)
      from = i;
  }
  for (size_t i = from; rc == 0 && i < nw; i++) {
    const msgpack_object *set = i < r->n ? r->w[i].set : NULL;
    int touched = set != NULL ? write_ops(set, field, legacy, &add, &remove, &whole, &ones[1])
                              : cairn_record_set_ops(pending, &add, &remove, &whole) == 0;
    if (!touched)
      continue;
    rc = ops_add(&ops, &n, &cap, remove, (uint32_t)i, 0);
    if (rc == 0)
      rc = ops_add(&ops, &n, &cap, add, (uint32_t)i, 1);
  }
  if (rc == 0 && n > 0) {
    /* An element is present when its latest operation is an add. */
    size_t kept = 0;
    qsort(ops, n, sizeof *ops, op_by_element);
    for (size_t i = 0; i < n; i++) {
      int last = i + 1 == n || ops[i + 1].len != ops[i].len ||
                 memcmp(ops[i + 1].s, ops[i].s, ops[i].len) != 0;
      if (last && ops[i].add)
        ops[kept++] = ops[i];
    }
    n = kept;
    qsort(ops, n, sizeof *ops, op_by_place);
  }
  msgpack_object *arr =
      rc == 0 ? msgpack_zone_malloc(z, sizeof *arr + (n ? n : 1) * sizeof *arr) : NULL;
  if (arr == NULL)
    rc = rc != 0 ? rc : CAIRN_ENOMEM;
  if (rc == 0) {
    msgpack_object *items = arr + 1;
    for (size_t i = 0; i < n; i++) {
      items[i].type = MSGPACK_OBJECT_STR;
      items[i].via.str.ptr = ops[i].s;
      items[i].via.str.size = ops[i].len;
    }
    arr->type = MSGPACK_OBJECT_ARRAY;
    arr->via.array.size = (uint32_t)n;
    arr->via.array.ptr = items;
    *out = arr;
  }
  free(ops);
  return rc;
}

int cairn__store_rec_has(const cairn__store_rec *r, int type, const char *field) {
  const char *legacy = legacy_of(type, field);
  return cairn__store_rec_value(r, field, NULL) != NULL ||
         (legacy != NULL && cairn__store_rec_value(r, legacy, NULL) != NULL);
}

/* Returns 1 when write j names version (author, seq) in its base for field. */
static int base_names(const cairn__store_write *wj, const char *field, const uint8_t *author,
                      uint64_t seq) {
  if (wj->base == NULL)
    return 0;
  const msgpack_object *b = cairn_record_map_get(wj->base, field);
  if (b == NULL || b->type != MSGPACK_OBJECT_ARRAY)
    return 0;
  for (uint32_t k = 0; k < b->via.array.size; k++) {
    const msgpack_object *v = &b->via.array.ptr[k];
    if (v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 2 &&
        v->via.array.ptr[0].type == MSGPACK_OBJECT_BIN &&
        v->via.array.ptr[0].via.bin.size == CAIRN_KEY_BYTES &&
        v->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        v->via.array.ptr[1].via.u64 == seq &&
        memcmp(v->via.array.ptr[0].via.bin.ptr, author, CAIRN_KEY_BYTES) == 0)
      return 1;
  }
  return 0;
}

size_t cairn__store_rec_heads(const cairn__store_rec *r, const char *field, size_t *idx) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (cairn_record_map_get(r->w[i].set, field) == NULL)
      continue;
    int named = 0;
    for (size_t j = 0; j < r->n && !named; j++)
      named = j != i && base_names(&r->w[j], field, r->w[i].author, r->w[i].seq);
    if (!named)
      idx[n++] = i;
  }
  return n;
}

int cairn__store_rec_conflicted(const cairn__store_rec *r, const char *field, size_t *idx) {
  size_t nh = cairn__store_rec_heads(r, field, idx);
  if (nh < 2)
    return 0;
  const msgpack_object *win = cairn__store_rec_value(r, field, NULL);
  for (size_t k = 0; k < nh; k++)
    if (!msgpack_object_equal(*cairn_record_map_get(r->w[idx[k]].set, field), *win))
      return 1;
  return 0;
}

int cairn__store_each_child(cairn_store *s, MDB_txn *txn, int ptype, const char *pid,
                            size_t pidlen, int ctype, int (*fn)(const char *, size_t, void *),
                            void *arg) {
  uint8_t prefix[CAIRN__STORE_KEY_MAX + 2];
  size_t plen = cairn__store_rec_key(prefix, ptype, pid, pidlen);
  prefix[plen++] = 0;
  prefix[plen++] = (uint8_t)ctype;
  MDB_cursor *cur;
  if (mdb_cursor_open(txn, s->children, &cur) != 0)
    return CAIRN_EIO;
  MDB_val k = {plen, prefix}, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  int ret = 0;
  while (rc == 0 && k.mv_size > plen && memcmp(k.mv_data, prefix, plen) == 0) {
    ret = fn((const char *)k.mv_data + plen, k.mv_size - plen, arg);
    if (ret != 0)
      break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
    ret = CAIRN_EIO;
  mdb_cursor_close(cur);
  return ret;
}

uint64_t cairn_store_generation(cairn_store *s) {
  MDB_envinfo info;
  return mdb_env_info(s->env, &info) == 0 ? (uint64_t)info.me_last_txnid : 0;
}

/* ---- export / conflicts ------------------------------------------ */

/* A field shown by an export: its definition and current value. */
typedef struct shown_field {
  const cairn_field_def *def;
  const msgpack_object *value;
} shown_field;

static int shown_cmp(const void *a, const void *b) {
  return strcmp(((const shown_field *)a)->def->name, ((const shown_field *)b)->def->name);
}

/* Packs one record {type, id, fields, history, conflicts?}. idx has room
 * for r->n; a set field's members are read into z. A legacy field is
 * shown as the set it is read into. Returns 0 or CAIRN_ENOMEM. */
static int pack_record(msgpack_packer *pk, int type, const char *id, size_t idlen,
                       const cairn__store_rec *r, size_t *idx, msgpack_zone *z) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  shown_field f[64];
  size_t nset = 0, nconf = 0;
  for (size_t i = 0; i < nf && nset < 64; i++) {
    if ((fd[i].flags & CAIRN_F_LEGACY) || !cairn__store_rec_has(r, type, fd[i].name))
      continue;
    f[nset].def = &fd[i];
    if (fd[i].type != CAIRN_FT_SET)
      f[nset].value = cairn__store_rec_value(r, fd[i].name, NULL);
    else if (cairn__store_rec_members(r, type, fd[i].name, NULL, z, &f[nset].value) != 0)
      return CAIRN_ENOMEM;
    nset++;
  }
  qsort(f, nset, sizeof *f, shown_cmp);
  for (size_t i = 0; i < nset; i++)
    nconf += cairn__store_field_is_lww(f[i].def) &&
             cairn__store_rec_conflicted(r, f[i].def->name, idx);

  msgpack_pack_map(pk, nconf > 0 ? 5 : 4);
  pack_cstr(pk, "type");
  pack_cstr(pk, cairn_record_type_name(type));
  pack_cstr(pk, "id");
  pack_str(pk, id, idlen);
  pack_cstr(pk, "fields");
  msgpack_pack_map(pk, nset);
  for (size_t i = 0; i < nset; i++) {
    pack_cstr(pk, f[i].def->name);
    msgpack_pack_object(pk, *f[i].value);
  }
  pack_cstr(pk, "history");
  msgpack_pack_array(pk, r->n);
  for (size_t i = 0; i < r->n; i++) {
    const cairn__store_write *w = &r->w[i];
    msgpack_pack_map(pk, 4 + (w->base != NULL) + (w->why != NULL));
    pack_cstr(pk, "author");
    pack_hex(pk, w->author, CAIRN_KEY_BYTES);
    pack_cstr(pk, "seq");
    msgpack_pack_uint64(pk, w->seq);
    pack_cstr(pk, "hlc");
    msgpack_pack_uint64(pk, w->hlc);
    pack_cstr(pk, "set");
    msgpack_pack_object(pk, *w->set);
    if (w->base != NULL) {
      pack_cstr(pk, "base");
      msgpack_pack_object(pk, *w->base);
    }
    if (w->why != NULL) {
      pack_cstr(pk, "why");
      msgpack_pack_object(pk, *w->why);
    }
  }
  if (nconf == 0)
    return 0;
  pack_cstr(pk, "conflicts");
  msgpack_pack_map(pk, nconf);
  for (size_t i = 0; i < nset; i++) {
    const char *name = f[i].def->name;
    if (!cairn__store_field_is_lww(f[i].def) || !cairn__store_rec_conflicted(r, name, idx))
      continue;
    size_t win, nh = cairn__store_rec_heads(r, name, idx);
    cairn__store_rec_value(r, name, &win);
    size_t losers = 0;
    for (size_t k = 0; k < nh; k++)
      losers += idx[k] != win;
    pack_cstr(pk, name);
    msgpack_pack_array(pk, losers);
    for (size_t k = 0; k < nh; k++)
      if (idx[k] != win)
        msgpack_pack_object(pk, *cairn_record_map_get(r->w[idx[k]].set, name));
  }
  return 0;
}

/* A record visitor over the records db in key order. */
/* Called per record in key order: returns 0 to go on, 1 to stop after this
 * record (a page is full), or a negative code. */
typedef int (*record_fn)(int type, const char *id, size_t idlen, const cairn__store_rec *r,
                         size_t *idx, msgpack_zone *z, void *arg);

/* Runs fn over the records whose key comes after `after` (after_len 0: all
 * of them), in one read transaction. When fn stops early, copies the last
 * record's key into last and sets *last_len; else *last_len = 0. */
static int each_record(cairn_store *s, const uint8_t *after, size_t after_len, record_fn fn,
                       void *arg, uint8_t *last, size_t *last_len) {
  MDB_txn *txn;
  *last_len = 0;
  if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
    return CAIRN_EIO;
  MDB_cursor *cur;
  if (mdb_cursor_open(txn, s->records, &cur) != 0) {
    mdb_txn_abort(txn);
    return CAIRN_EIO;
  }
  msgpack_zone zone;
  if (!msgpack_zone_init(&zone, 8192)) {
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return CAIRN_ENOMEM;
  }
  cairn__store_rec r = {0};
  size_t *idx = NULL, idx_cap = 0;
  MDB_val k = {after_len, (void *)after}, v;
  MDB_cursor_op op = after_len > 0 ? MDB_SET_RANGE : MDB_FIRST;
  int rc = 0, g;
  while (rc == 0 && (g = mdb_cursor_get(cur, &k, &v, op)) == 0) {
    if (op == MDB_SET_RANGE && k.mv_size == after_len && memcmp(k.mv_data, after, after_len) == 0) {
      op = MDB_NEXT; /* the cursor itself was the last record of the page before */
      continue;
    }
    op = MDB_NEXT;
    msgpack_zone_clear(&zone);
    if (k.mv_size < 2 || k.mv_size > CAIRN__STORE_KEY_MAX ||
        (rc = cairn__store_rec_read(txn, &v, &zone, &r)) != 0) {
      rc = CAIRN_ECORRUPT;
      break;
    }
    if (r.n > idx_cap) {
      size_t *p = realloc(idx, r.n * sizeof *p);
      if (p == NULL) {
        rc = CAIRN_ENOMEM;
        break;
      }
      idx = p;
      idx_cap = r.n;
    }
    const uint8_t *key = k.mv_data;
    rc = fn(key[0], (const char *)key + 1, k.mv_size - 1, &r, idx, &zone, arg);
    if (rc == 1) { /* page full: a cursor only when a record follows */
      size_t len = k.mv_size;
      memcpy(last, k.mv_data, len);
      rc = 0;
      g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      if (g == 0) {
        *last_len = len;
        g = MDB_NOTFOUND;
      }
      break;
    }
  }
  if (rc == 0 && g != MDB_NOTFOUND)
    rc = CAIRN_EIO;
  free(idx);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&zone);
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  return rc;
}

typedef struct export_ctx {
  msgpack_sbuffer items;
  msgpack_packer ipk;
  size_t count;
  size_t max_bytes; /* 0: no page limit */
  const cairn_scope *scope; /* export: only records inside it (NULL: all) */
  int type;                 /* export: only records of this type (0: all) */
  int past_type;            /* set when the walk reached the next type */
} export_ctx;

static int export_one(int type, const char *id, size_t idlen, const cairn__store_rec *r,
                      size_t *idx, msgpack_zone *z, void *arg) {
  export_ctx *c = arg;
  if (c->type != 0 && type != c->type) {
    c->past_type = 1;
    return 1; /* records are keyed by type first: none of c->type follows */
  }
  /* A record's scope is that of its latest write. */
  if (r->n == 0 || !cairn__store_in_scope(c->scope, type, r->w[r->n - 1].scope))
    return 0;
  int rc = pack_record(&c->ipk, type, id, idlen, r, idx, z);
  if (rc != 0)
    return rc;
  c->count++;
  return c->max_bytes > 0 && c->items.size >= c->max_bytes;
}

/* Runs fn over the records after `after`, packing into a side buffer, then
 * packs the array header and the items into pk. */
static int pack_array_of(cairn_store *s, record_fn fn, export_ctx *c, const uint8_t *after,
                         size_t after_len, msgpack_packer *pk, uint8_t *last, size_t *last_len) {
  msgpack_sbuffer_init(&c->items);
  msgpack_packer_init(&c->ipk, &c->items, msgpack_sbuffer_write);
  int rc = each_record(s, after, after_len, fn, c, last, last_len);
  if (rc == 0) {
    msgpack_pack_array(pk, c->count);
    if (c->items.size > 0)
      pk->callback(pk->data, c->items.data, c->items.size);
  }
  msgpack_sbuffer_destroy(&c->items);
  return rc;
}

int cairn_store_export_type(cairn_store *s, int type, const cairn_scope *scope,
                            const uint8_t *after, size_t after_len, size_t max_bytes,
                            msgpack_packer *pk, uint8_t next[CAIRN_STORE_CURSOR_MAX],
                            size_t *next_len) {
  export_ctx c = {.max_bytes = max_bytes, .scope = scope, .type = type};
  uint8_t first = (uint8_t)type;
  if (after_len > CAIRN_STORE_CURSOR_MAX || type < 0 || type > CAIRN_REC_MAX)
    return CAIRN_EINVAL;
  if (type != 0 && after_len == 0) { /* records are keyed type || id: start at the type */
    after = &first;
    after_len = 1;
  }
  int rc = pack_array_of(s, export_one, &c, after, after_len, pk, next, next_len);
  if (c.past_type)
    *next_len = 0;
  return rc;
}

int cairn_store_export(cairn_store *s, const cairn_scope *scope, const uint8_t *after,
                       size_t after_len, size_t max_bytes, msgpack_packer *pk,
                       uint8_t next[CAIRN_STORE_CURSOR_MAX], size_t *next_len) {
  return cairn_store_export_type(s, 0, scope, after, after_len, max_bytes, pk, next, next_len);
}

static int conflicts_one(int type, const char *id, size_t idlen, const cairn__store_rec *r,
                         size_t *idx, msgpack_zone *z, void *arg) {
  export_ctx *c = arg;
  msgpack_packer *pk = &c->ipk;
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  (void)z;
  for (size_t i = 0; i < nf; i++) {
    if (!cairn__store_field_is_lww(&fd[i]) || !cairn__store_rec_conflicted(r, fd[i].name, idx))
      continue;
    size_t win, nh = cairn__store_rec_heads(r, fd[i].name, idx), losers = 0;
    const msgpack_object *value = cairn__store_rec_value(r, fd[i].name, &win);
    for (size_t k = 0; k < nh; k++)
      losers += idx[k] != win;
    msgpack_pack_map(pk, 5);
    pack_cstr(pk, "type");
    pack_cstr(pk, cairn_record_type_name(type));
    pack_cstr(pk, "id");
    pack_str(pk, id, idlen);
    pack_cstr(pk, "field");
    pack_cstr(pk, fd[i].name);
    pack_cstr(pk, "value");
    msgpack_pack_object(pk, *value);
    pack_cstr(pk, "losers");
    msgpack_pack_array(pk, losers);
    for (size_t k = 0; k < nh; k++) {
      const cairn__store_write *w = &r->w[idx[k]];
      if (idx[k] == win)
        continue;
      msgpack_pack_map(pk, 4);
      pack_cstr(pk, "value");
      msgpack_pack_object(pk, *cairn_record_map_get(w->set, fd[i].name));
      pack_cstr(pk, "author");
      pack_hex(pk, w->author, CAIRN_KEY_BYTES);
      pack_cstr(pk, "seq");
      msgpack_pack_uint64(pk, w->seq);
      pack_cstr(pk, "hlc");
      msgpack_pack_uint64(pk, w->hlc);
    }
    c->count++;
  }
  return 0;
}

int cairn_store_conflicts(cairn_store *s, msgpack_packer *pk) {
  export_ctx c = {.max_bytes = 0};
  uint8_t last[CAIRN_STORE_CURSOR_MAX];
  size_t last_len;
  return pack_array_of(s, conflicts_one, &c, NULL, 0, pk, last, &last_len);
}

/* ---- children ------------------------------------------------------------ */

typedef struct children_ctx {
  cairn_store *s;
  MDB_txn *txn;
  int type;
  msgpack_zone zone;
  cairn__store_rec r;
  size_t *idx, idx_cap;
  msgpack_packer *pk; /* into items */
  size_t count;
} children_ctx;

static int children_one(const char *id, size_t idlen, void *arg) {
  children_ctx *c = arg;
  msgpack_zone_clear(&c->zone);
  int rc = cairn__store_rec_load(c->txn, c->s->records, c->type, id, idlen, &c->zone, &c->r);
  if (rc != 0)
    return rc == CAIRN_ENOTFOUND ? CAIRN_ECORRUPT : rc;
  if ((rc = cairn__store_grow((void **)&c->idx, &c->idx_cap, c->r.n, sizeof *c->idx, 16)) != 0)
    return rc;
  if ((rc = pack_record(c->pk, c->type, id, idlen, &c->r, c->idx, &c->zone)) != 0)
    return rc;
  c->count++;
  return 0;
}

int cairn_store_children(cairn_store *s, const char *id, msgpack_packer *pk) {
  static const int types[] = {CAIRN_REC_EVIDENCE, CAIRN_REC_REVIEW, CAIRN_REC_SUPPORT_CHANGE,
                              CAIRN_REC_CELEBRATION};
  size_t idlen = strlen(id);
  msgpack_sbuffer items;
  msgpack_packer ipk;
  children_ctx c = {.s = s, .pk = &ipk};
  int rc;

  if (!msgpack_zone_init(&c.zone, 8192))
    return CAIRN_ENOMEM;
  msgpack_sbuffer_init(&items);
  msgpack_packer_init(&ipk, &items, msgpack_sbuffer_write);
  rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &c.txn) != 0 ? CAIRN_EIO : 0;
  if (rc == 0)
    rc = cairn__store_rec_load(c.txn, s->records, CAIRN_REC_MILESTONE, id, idlen, &c.zone, &c.r);
  for (size_t i = 0; rc == 0 && i < sizeof types / sizeof types[0]; i++) {
    c.type = types[i];
    rc = cairn__store_each_child(s, c.txn, CAIRN_REC_MILESTONE, id, idlen, c.type, children_one,
                                 &c);
  }
  if (c.txn != NULL)
    mdb_txn_abort(c.txn);
  if (rc == 0) {
    msgpack_pack_array(pk, c.count);
    if (items.size > 0)
      pk->callback(pk->data, items.data, items.size);
  }
  msgpack_sbuffer_destroy(&items);
  cairn__store_rec_free(&c.r);
  free(c.idx);
  msgpack_zone_destroy(&c.zone);
  return rc;
}

/* ---- the student a record is about -------------------------------------- */

/* Copies the current string value of field of r into out (65 bytes).
 * Returns 0, or CAIRN_ENOTFOUND when unset or too long. */
static int field_id(const cairn__store_rec *r, const char *field, char out[65]) {
  const char *v;
  size_t len;
  if (!cairn__store_obj_str(cairn__store_rec_value(r, field, NULL), &v, &len) || len == 0 ||
      len > 64)
    return CAIRN_ENOTFOUND;
  memcpy(out, v, len);
  out[len] = '\0';
  return 0;
}

static int record_student(cairn_store *s, int type, const char *id, char student[65]);

int cairn_store_record_student(cairn_store *s, int type, const char *id, char student[65]) {
  cairn__store_grow_lock(s, 0);
  int rc = record_student(s, type, id, student);
  cairn__store_grow_unlock(s);
  return rc;
}

static int record_student(cairn_store *s, int type, const char *id, char student[65]) {
  MDB_txn *txn;
  msgpack_zone zone;
  cairn__store_rec r = {0};
  char milestone[65];
  int rc;

  student[0] = '\0';
  if (type == CAIRN_REC_STUDENT) {
    size_t len = strlen(id);
    if (len == 0 || len > 64)
      return CAIRN_ENOTFOUND;
    memcpy(student, id, len + 1);
    return 0;
  }
  if (type < CAIRN_REC_MILESTONE || type > CAIRN_REC_CELEBRATION)
    return CAIRN_ENOTFOUND;
  if (!msgpack_zone_init(&zone, 2048))
    return CAIRN_ENOMEM;
  if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
    msgpack_zone_destroy(&zone);
    return CAIRN_EIO;
  }
  rc = cairn__store_rec_load(txn, s->records, type, id, strlen(id), &zone, &r);
  if (rc == 0 && type != CAIRN_REC_MILESTONE) {
    rc = field_id(&r, "milestone", milestone);
    if (rc == 0) {
      msgpack_zone_clear(&zone);
      rc = cairn__store_rec_load(txn, s->records, CAIRN_REC_MILESTONE, milestone,
                                 strlen(milestone), &zone, &r);
    }
  }
  if (rc == 0)
    rc = field_id(&r, "student", student);
  mdb_txn_abort(txn);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&zone);
  return rc;
}
