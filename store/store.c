/*
 * store.c: the LMDB environment, the one apply path (apply_entry), local
 * write batches, received entries (trusted and synced, with authorization
 * and quarantine), token redemption, the log readers and the self-check.
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

#define DEFAULT_MAP_SIZE (64u * 1024 * 1024)
/* log, heads, records, children, meta, quarantine, tokens, receipts, peers,
 * held, restamps, and the check's scratch databases. */
#define CHECK_DBS 4 /* the check's scratch databases */
#define MAX_DBS 16
#define WHY_MAX 1000

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

static void log_key(uint8_t key[CAIRN_KEY_BYTES + 8], const uint8_t *author, uint64_t seq) {
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
static uint64_t hlc_ceiling(const cairn_store *s) {
  int64_t ms = (int64_t)cairn_store_wall_ms(s) + s->central_offset_ms + s->clock_tolerance_ms;
  return clamp_ms(ms) << 16 | 0xffff;
}

/* The HLC of this device's next entry: later than everything it folded
 * (last), but never beyond the ceiling for that; later than
 * its own last entry (own), so that its own edits keep their order; and
 * at least its wall clock. Saturates instead of wrapping. */
static uint64_t hlc_next(const cairn_store *s, uint64_t last, uint64_t own) {
  uint64_t ceiling = hlc_ceiling(s);
  uint64_t h = cairn_store_wall_ms(s) << 16;
  uint64_t after = last < ceiling ? last + 1 : ceiling;
  if (after > h)
    h = after;
  if (own >= h)
    h = own == UINT64_MAX ? own : own + 1;
  return h;
}

/* How far (ms) hlc is ahead of the reference clock, or 0. */
static int64_t ahead_ms(const cairn_store *s, uint64_t hlc) {
  int64_t ref = (int64_t)cairn_store_wall_ms(s) + s->central_offset_ms;
  int64_t ms = (int64_t)(hlc >> 16);
  return ms > ref ? ms - ref : 0;
}

static void author_tag(const uint8_t *author, char out[9]) {
  sodium_bin2hex(out, 9, author, 4);
}

/* Compares writes by (hlc, author, seq). */
static int write_cmp(uint64_t hlc, const uint8_t *author, uint64_t seq,
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
static int mp_skip(const uint8_t *p, size_t len, size_t *off) {
  size_t used;
  if (*off > len || cairn_mpcheck(p + *off, len - *off, &used) != 0)
    return -1;
  *off += used;
  return 0;
}

/* ---- the apply path ------------------------------------------------------ */

typedef cairn__store_head head;

/* How apply_entry treats an entry's write. */
typedef enum apply_mode {
  APPLY_TRUSTED, /* local writes and cairn_store_apply_entries: fold every write */
  APPLY_SYNCED,  /* from a peer: fold only authorized writes, quarantine the rest */
  APPLY_REPLAY   /* the check's rebuild from the log: skip quarantined entries */
} apply_mode;

/* A run of one author's entries the central re-dates at the end of the
 * transaction (FORMAT.md section 1, "Time"). */
typedef struct stamp_run {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t from, to;
} stamp_run;

/* One transaction's application of entries. The current author's head is
 * cached and written back once when the author changes or at the end. */
typedef struct apply_ctx {
  cairn_store *s;
  MDB_txn *txn;
  MDB_dbi heads, records, children, restamps;
  apply_mode mode;
  int write_log; /* 0 when rebuilding from the log itself */
  /* APPLY_SYNCED: the author of the run being applied. */
  int author_is_central;
  cairn_scope author_scope;
  uint64_t revoked_after; /* the author's device is revoked after this seq (UINT64_MAX: not) */
  int64_t author_number;  /* the author's device number (0: the central; -1: none) */
  uint64_t refused;     /* entries refused or quarantined in this txn */
  uint64_t quarantined; /* of which quarantined (stored, not folded) */
  int have_head, head_dirty;
  head cur;
  /* Time. */
  uint64_t ceiling;     /* hlc_ceiling() when the transaction began */
  int is_central;       /* this node is the central: it re-dates, others hold */
  uint64_t cur_eff;     /* effective HLC of the current author's head (the central) */
  int cur_restamped;    /* the current author's run is being re-dated from here on */
  int author_has_stamps; /* some restamp record names the current author */
  uint64_t held;        /* entries held in this txn */
  uint64_t released;    /* held entries folded in this txn (re-dated or due) */
  int64_t ahead_ms;     /* the most an entry held or re-dated here was ahead */
  stamp_run *stamps;    /* the central's runs to re-date at the end */
  size_t nstamps, stamps_cap;
  int restamped;        /* a restamp record was folded in this txn */
  uint64_t max_hlc;
  int own_changed;
  head own; /* this device's head after the txn, when own_changed */
  char *why;
  size_t whylen;
} apply_ctx;

/* Writes "author TAG seq N: what" into c->why (when given); returns rc. */
static int set_why(apply_ctx *c, const cairn_entry *e, int rc, const char *what) {
  if (c->why != NULL && c->whylen > 0) {
    char tag[9];
    author_tag(e->author, tag);
    snprintf(c->why, c->whylen, "author %s seq %llu: %s", tag, (unsigned long long)e->seq, what);
  }
  return rc;
}

/* Records a refusal of entry e: counted, and its reason kept when it is the
 * first of the transaction. */
static void note_refusal(apply_ctx *c, const cairn_entry *e, uint64_t n, const char *what) {
  if (c->refused == 0)
    (void)set_why(c, e, 0, what);
  c->refused += n;
}

static int head_flush(apply_ctx *c) {
  if (!c->head_dirty)
    return 0;
  msgpack_sbuffer *b = &c->s->rec_buf;
  msgpack_sbuffer_clear(b);
  msgpack_packer pk;
  msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint64(&pk, c->cur.seq);
  msgpack_pack_bin(&pk, CAIRN_HASH_BYTES);
  msgpack_pack_bin_body(&pk, c->cur.hash, CAIRN_HASH_BYTES);
  msgpack_pack_uint64(&pk, c->cur.hlc);
  MDB_val k = {CAIRN_KEY_BYTES, c->cur.author}, v = {b->size, b->data};
  int rc = mdb_put(c->txn, c->heads, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  if (memcmp(c->cur.author, c->s->pk, CAIRN_KEY_BYTES) == 0) {
    c->own = c->cur;
    c->own_changed = 1;
  }
  c->head_dirty = 0;
  return 0;
}

int cairn__store_head_parse(const MDB_val *v, cairn__store_head *h) {
  msgpack_zone z;
  msgpack_object o;
  size_t off = 0;
  if (!msgpack_zone_init(&z, 256))
    return CAIRN_ENOMEM;
  int ok = msgpack_unpack(v->mv_data, v->mv_size, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS &&
           o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size == 3 &&
           o.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
           o.via.array.ptr[1].type == MSGPACK_OBJECT_BIN &&
           o.via.array.ptr[1].via.bin.size == CAIRN_HASH_BYTES &&
           o.via.array.ptr[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
  if (ok) {
    h->seq = o.via.array.ptr[0].via.u64;
    memcpy(h->hash, o.via.array.ptr[1].via.bin.ptr, CAIRN_HASH_BYTES);
    h->hlc = o.via.array.ptr[2].via.u64;
  }
  msgpack_zone_destroy(&z);
  return ok ? 0 : CAIRN_ECORRUPT;
}

static int head_get(MDB_txn *txn, MDB_dbi dbi, const cairn_store *s, const uint8_t *author,
                    head *h) {
  memset(h, 0, sizeof *h);
  memcpy(h->author, author, CAIRN_KEY_BYTES);
  MDB_val k = {CAIRN_KEY_BYTES, (void *)author}, v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  return cairn__store_head_parse(&v, h);
}

static int author_time_load(apply_ctx *c);

static int head_load(apply_ctx *c, const uint8_t *author) {
  if (c->have_head && memcmp(c->cur.author, author, CAIRN_KEY_BYTES) == 0)
    return 0;
  int rc = head_flush(c);
  if (rc == 0)
    rc = head_get(c->txn, c->heads, c->s, author, &c->cur);
  c->have_head = rc == 0;
  if (rc == 0)
    rc = author_time_load(c);
  return rc;
}

/* The decoded body of an entry (borrowed from the apply zone). */
typedef struct body {
  const char *id;
  size_t idlen;
  const msgpack_object *set, *base, *why;
  const msgpack_object *scope; /* [campus, classroom, ...] strings */
  int is_new; /* the entry creates its record ("new": true) */
  const uint8_t *set_raw; /* the set's encoded bytes inside the body */
  size_t set_raw_len;
} body;

/* Finds the encoded bytes of the body's `set` value. Returns 0 or -1. */
static int body_set_span(const cairn_entry *e, body *b) {
  const uint8_t *p = e->body;
  size_t len = e->body_len, off = 0;
  uint64_t n;
  if (len == 0)
    return -1;
  if (p[0] >= 0x80 && p[0] <= 0x8f) {
    n = p[0] & 0x0f;
    off = 1;
  } else if (p[0] == 0xde && len >= 3) {
    n = (uint64_t)p[1] << 8 | p[2];
    off = 3;
  } else {
    return -1;
  }
  for (uint64_t i = 0; i < n; i++) {
    size_t k = off;
    if (mp_skip(p, len, &off) != 0)
      return -1;
    int is_set = off - k == 4 && memcmp(p + k, "\xa3set", 4) == 0;
    size_t v = off;
    if (mp_skip(p, len, &off) != 0)
      return -1;
    if (is_set) {
      b->set_raw = p + v;
      b->set_raw_len = off - v;
      return 0;
    }
  }
  return -1;
}

static int body_parse(apply_ctx *c, const cairn_entry *e, body *b) {
  msgpack_object root;
  size_t off = 0;
  if (cairn_mpcheck(e->body, e->body_len, &off) != 0 || off != e->body_len)
    return set_why(c, e, CAIRN_EMALFORMED, "body is not one msgpack map");
  off = 0;
  if (msgpack_unpack((const char *)e->body, e->body_len, &off, &c->s->apply_zone, &root) !=
          MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_MAP)
    return set_why(c, e, CAIRN_EMALFORMED, "body is not one msgpack map");
  const msgpack_object *id = cairn_record_map_get(&root, "id");
  const msgpack_object *scope = cairn_record_map_get(&root, "scope");
  b->scope = scope;
  b->set = cairn_record_map_get(&root, "set");
  b->base = cairn_record_map_get(&root, "base");
  b->why = cairn_record_map_get(&root, "why");
  const msgpack_object *is_new = cairn_record_map_get(&root, "new");
  if (is_new != NULL && is_new->type != MSGPACK_OBJECT_BOOLEAN)
    return set_why(c, e, CAIRN_EMALFORMED, "new: not a boolean");
  b->is_new = is_new != NULL && is_new->via.boolean;
  if (!cairn__store_obj_str(id, &b->id, &b->idlen) || !cairn_text_id_logged(b->id, b->idlen))
    return set_why(c, e, CAIRN_EMALFORMED, "id: missing or not a valid id");
  if (b->set == NULL || b->set->type != MSGPACK_OBJECT_MAP || body_set_span(e, b) != 0)
    return set_why(c, e, CAIRN_EMALFORMED, "set: missing or not a map");
  if (b->base != NULL && b->base->type == MSGPACK_OBJECT_NIL)
    b->base = NULL;
  if (b->base != NULL && b->base->type != MSGPACK_OBJECT_MAP)
    return set_why(c, e, CAIRN_EMALFORMED, "base: not a map");
  if (b->base != NULL && b->base->via.map.size == 0)
    b->base = NULL;
  for (uint32_t i = 0; b->base != NULL && i < b->base->via.map.size; i++) {
    const msgpack_object *v = &b->base->via.map.ptr[i].val;
    if (b->base->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_ARRAY)
      return set_why(c, e, CAIRN_EMALFORMED, "base: not a map of field to versions");
    for (uint32_t k = 0; k < v->via.array.size; k++) {
      const msgpack_object *ver = &v->via.array.ptr[k];
      if (ver->type != MSGPACK_OBJECT_ARRAY || ver->via.array.size != 2 ||
          ver->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
          ver->via.array.ptr[0].via.bin.size != CAIRN_KEY_BYTES ||
          ver->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return set_why(c, e, CAIRN_EMALFORMED, "base: a version is not [author, seq]");
    }
  }
  if (b->why != NULL && b->why->type == MSGPACK_OBJECT_NIL)
    b->why = NULL;
  if (b->why != NULL &&
      (b->why->type != MSGPACK_OBJECT_STR || b->why->via.str.size > WHY_MAX ||
       !cairn_text_utf8_valid(b->why->via.str.ptr, b->why->via.str.size)))
    return set_why(c, e, CAIRN_EMALFORMED, "why: not a string of at most 1000 bytes");
  if (!cairn__store_scope_valid(scope))
    return set_why(c, e, CAIRN_EMALFORMED, "scope: not [campus, classroom, ...]");
  return 0;
}

/* Writes into key the children key of the record's PARENT-flagged ref
 * when the write sets it (only creations do: the field is fixed) and
 * returns its length; 0 when it has none. */
static size_t child_key(int type, const body *b, uint8_t key[2 * CAIRN__STORE_KEY_MAX + 1]) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  for (size_t i = 0; i < nf; i++) {
    if (!(fd[i].flags & CAIRN_F_PARENT))
      continue;
    const char *pid;
    size_t plen;
    if (!cairn__store_obj_str(cairn_record_map_get(b->set, fd[i].name), &pid, &plen) ||
        !cairn_text_id_logged(pid, plen))
      return 0;
    size_t n = cairn__store_rec_key(key, (int)fd[i].ref_type, pid, plen);
    key[n++] = 0;
    return n + cairn__store_rec_key(key + n, type, b->id, b->idlen);
  }
  return 0;
}

/* Adds the record's children key, if it has one. */
static int index_child(apply_ctx *c, int type, const body *b) {
  uint8_t key[2 * CAIRN__STORE_KEY_MAX + 1];
  MDB_val k = {child_key(type, b, key), key}, v = {0, ""};
  int rc = k.mv_size > 0 ? mdb_put(c->txn, c->children, &k, &v, 0) : 0;
  return rc != 0 ? cairn__store_err(c->s, rc, 0) : 0;
}

/* Removes the children key index_child added for a creation. */
static int index_child_del(apply_ctx *c, int type, const body *b) {
  uint8_t key[2 * CAIRN__STORE_KEY_MAX + 1];
  MDB_val k = {child_key(type, b, key), key};
  int rc = k.mv_size > 0 ? mdb_del(c->txn, c->children, &k, NULL) : 0;
  return rc != 0 && rc != MDB_NOTFOUND ? cairn__store_err(c->s, rc, 0) : 0;
}

/* Packs into s->rec_buf a record state: the n stored writes of olds (the
 * record's current bytes, NULL when there are none) as they are, but for
 * the one at index skip (SIZE_MAX: none), with the write of entry e at
 * effective HLC eff inserted before old index pos; e's set is copied from
 * its body, so nothing is re-encoded. Returns 0 or CAIRN_ECORRUPT. */
static int pack_state(cairn_store *s, const cairn_entry *e, const body *b, uint64_t eff,
                      const uint8_t *olds, size_t oldlen, size_t n, size_t pos, size_t skip) {
  size_t off = n == 0 ? 0 : (olds[0] & 0xf0) == 0x90 ? 1 : olds[0] == 0xdc ? 3 : 5;
  msgpack_sbuffer *out = &s->rec_buf;
  msgpack_packer pk;

  msgpack_sbuffer_clear(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, n + 1 - (skip < n));
  for (size_t i = 0; i <= n; i++) {
    if (i == pos) {
      msgpack_pack_array(&pk, 7);
      msgpack_pack_uint64(&pk, eff);
      msgpack_pack_bin(&pk, CAIRN_KEY_BYTES);
      msgpack_pack_bin_body(&pk, e->author, CAIRN_KEY_BYTES);
      msgpack_pack_uint64(&pk, e->seq);
      msgpack_sbuffer_write(out, (const char *)b->set_raw, b->set_raw_len);
      if (b->base != NULL)
        msgpack_pack_object(&pk, *b->base);
      else
        msgpack_pack_nil(&pk);
      if (b->why != NULL)
        msgpack_pack_object(&pk, *b->why);
      else
        msgpack_pack_nil(&pk);
      msgpack_pack_object(&pk, *b->scope);
    }
    if (i < n) {
      size_t from = off;
      if (mp_skip(olds, oldlen, &off) != 0)
        return CAIRN_ECORRUPT;
      if (i != skip)
        msgpack_sbuffer_write(out, (const char *)olds + from, off - from);
    }
  }
  return 0;
}

/* Why an authorized author's entry may still not be folded (PROTOCOL.md
 * section 1), or NULL when it may. */
static const char *unauthorized_write(const apply_ctx *c, const cairn_entry *e, const body *b) {
  if (memcmp(e->author, c->s->pk, CAIRN_KEY_BYTES) == 0)
    return NULL;
  cairn_entry_gen_id g;
  if (b->is_new && cairn_record_generated_id((int)e->kind) &&
      (cairn_entry_id_parse(b->id, b->idlen, &g) != 0 ||
       !cairn_entry_id_names(&g, e->author, c->author_number, e->seq)))
    return "a generated id must name its author and the entry that creates it";
  if (c->author_is_central)
    return NULL;
  if (e->seq > c->revoked_after)
    return "the author's device is revoked";
  if (e->kind == CAIRN_REC_DEVICE)
    return "device records are written by the central";
  if (e->kind == CAIRN_REC_RESTAMP)
    return "restamp records are written by the central";
  if (e->kind == CAIRN_REC_TEMPLATE || e->kind == CAIRN_REC_STANDARD)
    return "templates and standards are written by the central";
  if (e->kind == CAIRN_REC_CAMPUS || e->kind == CAIRN_REC_CLASSROOM)
    return "campuses and classrooms are written by the central";
  if (!cairn__store_in_scope(&c->author_scope, (int)e->kind, b->scope))
    return "the record's scope is outside the author's";
  return NULL;
}

/* Returns 1 when (author, seq) is a key of dbi in txn, 0 when not, or an
 * error. */
static int has_entry_key(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                         uint64_t seq) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  log_key(key, author, seq);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_get(txn, dbi, &k, &v);
  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* Returns 1 when entry e is in the quarantine, 0 when not, or an error. */
static int is_quarantined(cairn_store *s, MDB_txn *txn, const cairn_entry *e) {
  return has_entry_key(s, txn, s->quarantine, e->author, e->seq);
}

/* Keeps entry e (already in the log) out of state, with the reason. */
static int quarantine(apply_ctx *c, const cairn_entry *e, const char *why) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  log_key(key, e->author, e->seq);
  MDB_val k = {sizeof key, key}, v = {strlen(why), (void *)why};
  int rc = mdb_put(c->txn, c->s->quarantine, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  note_refusal(c, e, 1, why);
  c->quarantined++;
  return 0;
}

/* ---- time: restamps and held entries (FORMAT.md section 1, "Time") ---- */

/* Looks up, in the restamp index dbi, the restamp record that covers entry
 * (author, seq). Returns 1 and its HLC in *eff, 0 when none does, or an
 * error. */
static int stamp_lookup(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                        uint64_t seq, uint64_t *eff) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  MDB_cursor *cur;
  log_key(key, author, seq);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && !(k.mv_size == sizeof key && memcmp(k.mv_data, key, sizeof key) == 0))
    rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
  else if (rc == MDB_NOTFOUND)
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  int found = 0;
  if (rc == 0 && k.mv_size == sizeof key && memcmp(k.mv_data, author, CAIRN_KEY_BYTES) == 0 &&
      v.mv_size == 16) {
    uint64_t from = cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES);
    uint64_t to = cairn__store_get_be64(v.mv_data);
    if (from <= seq && seq <= to) {
      *eff = cairn__store_get_be64((const uint8_t *)v.mv_data + 8);
      found = 1;
    }
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return cairn__store_err(s, rc, 0);
  return found;
}

/* Loads what the time rules need of the current author (c->cur): whether
 * any restamp names it (most authors: none, and then no entry of theirs
 * needs a lookup) and, on the central, the effective HLC of its head. */
static int author_time_load(apply_ctx *c) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  MDB_cursor *cur;
  log_key(key, c->cur.author, 0);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_cursor_open(c->txn, c->restamps, &cur);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  c->author_has_stamps =
      rc == 0 && k.mv_size == sizeof key && memcmp(k.mv_data, c->cur.author, CAIRN_KEY_BYTES) == 0;
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return cairn__store_err(c->s, rc, 0);
  c->cur_restamped = 0;
  c->cur_eff = c->cur.hlc;
  if (c->author_has_stamps && c->cur.seq > 0 &&
      (rc = stamp_lookup(c->s, c->txn, c->restamps, c->cur.author, c->cur.seq, &c->cur_eff)) < 0)
    return rc;
  return 0;
}

/* Whether the central re-dates entry e of the current run: it is dated
 * beyond the central's clock bound, or not after the entry before it in its
 * author's chain as ordered here, or an earlier entry of the run was
 * re-dated (a chain keeps its order). */
static int central_redates(apply_ctx *c, const cairn_entry *e) {
  return c->is_central && c->mode == APPLY_SYNCED &&
         memcmp(e->author, c->s->pk, CAIRN_KEY_BYTES) != 0 &&
         (c->cur_restamped || e->hlc > c->ceiling || e->hlc <= c->cur_eff);
}

/* Appends run to the runs the central re-dates at the end. */
static int stamp_push(apply_ctx *c, const stamp_run *run) {
  int rc = cairn__store_grow((void **)&c->stamps, &c->stamps_cap, c->nstamps + 1,
                             sizeof *c->stamps, 8);
  if (rc == 0)
    c->stamps[c->nstamps++] = *run;
  return rc;
}

/* The central: adds entry e to the runs it re-dates at the end; the rest
 * of its run follows it. */
static int stamp_add(apply_ctx *c, const cairn_entry *e) {
  stamp_run *last = c->nstamps > 0 ? &c->stamps[c->nstamps - 1] : NULL;
  c->cur_restamped = 1;
  if (last != NULL && memcmp(last->author, e->author, CAIRN_KEY_BYTES) == 0 &&
      last->to + 1 == e->seq) {
    last->to = e->seq;
    return 0;
  }
  stamp_run run;
  memcpy(run.author, e->author, CAIRN_KEY_BYTES);
  run.from = run.to = e->seq;
  return stamp_push(c, &run);
}

/* Keeps entry e (stored in the log) out of state until a restamp of the
 * central orders it or this node's clock reaches its date: held. The
 * central re-dates what it holds before the transaction ends. */
static int hold(apply_ctx *c, const cairn_entry *e) {
  uint8_t key[CAIRN_KEY_BYTES + 8], hlc[8];
  log_key(key, e->author, e->seq);
  cairn__store_put_be64(hlc, e->hlc);
  MDB_val k = {sizeof key, key}, v = {sizeof hlc, hlc};
  int rc = mdb_put(c->txn, c->s->held, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  c->held++;
  int64_t ahead = ahead_ms(c->s, e->hlc);
  if (ahead > c->ahead_ms)
    c->ahead_ms = ahead;
  return c->is_central ? stamp_add(c, e) : 0;
}

static int fold_restamp(apply_ctx *c, const cairn_entry *e, const body *b);

/* Folds entry e's write (body b) into its record at effective HLC eff. A
 * write folded before at another HLC (re-dated since) moves to its new
 * place. */
static int fold_write(apply_ctx *c, const cairn_entry *e, const body *b, uint64_t eff) {
  cairn_store *s = c->s;
  int type = (int)e->kind, rc;
  cairn__store_rec *r = &s->apply_rec;
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {cairn__store_rec_key(key, type, b->id, b->idlen), key}, old = {0, NULL}, v;
  if (eff > c->max_hlc && eff <= c->ceiling)
    c->max_hlc = eff;
  if (b->is_new) {
    /* Most creations create: try the one-write state with a single tree
     * descent; LMDB hands back the stored state when there is one. */
    if ((rc = pack_state(s, e, b, eff, NULL, 0, 0, 0, SIZE_MAX)) != 0)
      return rc;
    v = (MDB_val){s->rec_buf.size, s->rec_buf.data};
    rc = mdb_put(c->txn, c->records, &k, &v, MDB_NOOVERWRITE);
    if (rc == 0)
      return index_child(c, type, b);
    if (rc != MDB_KEYEXIST)
      return cairn__store_err(s, rc, 0);
    old = v;
  } else {
    rc = mdb_get(c->txn, c->records, &k, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return cairn__store_err(s, rc, 0);
  }
  r->n = 0;
  if (old.mv_data != NULL &&
      (rc = cairn__store_rec_parse(old.mv_data, old.mv_size, &s->apply_zone, r)) != 0)
    return rc;
  size_t at = SIZE_MAX;
  for (size_t i = 0; i < r->n && at == SIZE_MAX; i++)
    if (r->w[i].seq == e->seq && memcmp(r->w[i].author, e->author, CAIRN_KEY_BYTES) == 0)
      at = i;
  if (at != SIZE_MAX && r->w[at].hlc == eff)
    return 0; /* already folded */
  size_t pos = r->n;
  while (pos > 0 && write_cmp(eff, e->author, e->seq, &r->w[pos - 1]) < 0)
    pos--;
  if ((rc = pack_state(s, e, b, eff, old.mv_data, old.mv_size, r->n, pos, at)) != 0)
    return rc;
  v = (MDB_val){s->rec_buf.size, s->rec_buf.data};
  rc = mdb_put(c->txn, c->records, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  return index_child(c, type, b);
}

/* Takes the write of entry e (body b) back out of its record; the record
 * goes when it was its only write. */
static int unfold(apply_ctx *c, const cairn_entry *e, const body *b) {
  cairn_store *s = c->s;
  cairn__store_rec *r = &s->apply_rec;
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {cairn__store_rec_key(key, (int)e->kind, b->id, b->idlen), key}, old;
  int rc = mdb_get(c->txn, c->records, &k, &old);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = cairn__store_rec_parse(old.mv_data, old.mv_size, &s->apply_zone, r)) != 0)
    return rc;
  size_t at = SIZE_MAX;
  for (size_t i = 0; i < r->n && at == SIZE_MAX; i++)
    if (r->w[i].seq == e->seq && memcmp(r->w[i].author, e->author, CAIRN_KEY_BYTES) == 0)
      at = i;
  if (at == SIZE_MAX)
    return 0;
  if (r->n == 1) {
    if ((rc = mdb_del(c->txn, c->records, &k, NULL)) != 0)
      return cairn__store_err(s, rc, 0);
    return index_child_del(c, (int)e->kind, b);
  }
  msgpack_sbuffer *out = &s->rec_buf;
  msgpack_packer pk;
  size_t off = (((const uint8_t *)old.mv_data)[0] & 0xf0) == 0x90 ? 1
               : ((const uint8_t *)old.mv_data)[0] == 0xdc        ? 3
                                                                  : 5;
  msgpack_sbuffer_clear(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, r->n - 1);
  for (size_t i = 0; i < r->n; i++) {
    size_t from = off;
    if (mp_skip(old.mv_data, old.mv_size, &off) != 0)
      return CAIRN_ECORRUPT;
    if (i != at)
      msgpack_sbuffer_write(out, (const char *)old.mv_data + from, off - from);
  }
  MDB_val v = {out->size, out->data};
  rc = mdb_put(c->txn, c->records, &k, &v, 0);
  return rc != 0 ? cairn__store_err(s, rc, 0) : 0;
}

/* A revocation folded here says that the device's entries after seq after
 * are not to be trusted: those this node folded before it knew are taken
 * back out and quarantined, as every node does, so that records converge
 * whatever reached this node first. */
static int unfold_revoked(apply_ctx *c, const cairn_entry *e, const body *b, void *arg) {
  (void)arg;
  int rc = unfold(c, e, b);
  return rc != 0 ? rc : quarantine(c, e, "the author's device is revoked");
}

static int each_held_entry(apply_ctx *c, const uint8_t *author, uint64_t from, uint64_t to,
                           int (*fn)(apply_ctx *, const cairn_entry *, const body *, void *),
                           void *arg);

static int revoke_after(apply_ctx *c, const body *b, uint64_t after) {
  uint8_t dev[CAIRN_KEY_BYTES];
  if (c->mode == APPLY_REPLAY || after == UINT64_MAX || b->idlen != 2 * CAIRN_KEY_BYTES ||
      sodium_hex2bin(dev, sizeof dev, b->id, b->idlen, NULL, NULL, NULL) != 0)
    return 0;
  return each_held_entry(c, dev, after + 1, UINT64_MAX, unfold_revoked, NULL);
}

/* APPLY_SYNCED: whether a received write breaks the rules for what enters
 * a node (FORMAT.md section 3.3), which cairn_record_check_set leaves to
 * new input: 1 with msg naming the field, else 0. */
static int input_refused(const body *b, int type, char *msg, size_t msglen) {
  const msgpack_object *sc = b->scope->via.array.ptr;
  for (uint32_t i = 0; i < b->scope->via.array.size; i++)
    if (cairn_text_check("scope", sc[i].via.str.ptr, sc[i].via.str.size, 0, msg, msglen) != 0)
      return 1;
  return cairn_text_id_check("id", b->id, b->idlen, msg, msglen) != 0 ||
         (b->why != NULL &&
          cairn_text_check("why", b->why->via.str.ptr, b->why->via.str.size, 0, msg, msglen)) ||
         cairn_record_check_input(type, b->set, msg, msglen) != 0;
}

/* Folds the write of entry e into its record's state, unless the mode
 * keeps it out: quarantined (not authorized), or held (dated beyond this
 * node's clock and not yet ordered by the central). */
static int legacy_id_taken(apply_ctx *c, const cairn_entry *e, const body *b);

static int fold(apply_ctx *c, const cairn_entry *e) {
  cairn_store *s = c->s;
  body b;
  int rc;
  if (c->mode == APPLY_REPLAY && (rc = is_quarantined(s, c->txn, e)) != 0)
    return rc < 0 ? rc : 0;
  msgpack_zone_clear(&s->apply_zone);
  if ((rc = body_parse(c, e, &b)) != 0)
    return rc;
  const char *denied = c->mode == APPLY_SYNCED ? unauthorized_write(c, e, &b) : NULL;
  if (denied != NULL)
    return quarantine(c, e, denied);
  if (c->mode == APPLY_SYNCED && b.is_new && (rc = legacy_id_taken(c, e, &b)) != 0)
    return rc < 0 ? rc
                  : quarantine(c, e, "another device created a record with this id first");
  int type = (int)e->kind;
  /* The entry itself says whether it creates the record, so the check does
   * not depend on arrival order: an edit may arrive before the creation it
   * edits (another author's), and two devices may create the same student
   * id. An edit may never carry a fixed field. */
  char msg[200];
  if (cairn_record_check_set(type, b.set, b.is_new, msg, sizeof msg) != 0)
    return set_why(c, e, CAIRN_EMALFORMED, msg);
  if (c->mode == APPLY_SYNCED && input_refused(&b, type, msg, sizeof msg))
    return quarantine(c, e, msg);
  uint64_t eff = e->hlc;
  int covered = 0;
  if (c->author_has_stamps &&
      (covered = stamp_lookup(s, c->txn, c->restamps, e->author, e->seq, &eff)) < 0)
    return covered;
  if (!covered) {
    if (c->mode == APPLY_SYNCED && memcmp(e->author, s->pk, CAIRN_KEY_BYTES) != 0 &&
        (e->hlc > c->ceiling || central_redates(c, e)))
      return hold(c, e);
    if (c->mode == APPLY_REPLAY && (rc = has_entry_key(s, c->txn, s->held, e->author, e->seq)) != 0)
      return rc < 0 ? rc : 0;
  }
  if ((rc = fold_write(c, e, &b, eff)) != 0)
    return rc;
  c->cur_eff = eff;
  if (type == CAIRN_REC_RESTAMP)
    return fold_restamp(c, e, &b);
  const msgpack_object *after = cairn_record_map_get(b.set, "revoked_after");
  if (type == CAIRN_REC_DEVICE && after != NULL &&
      cairn__store_obj_true(cairn_record_map_get(b.set, "revoked")))
    return revoke_after(c, &b, after->via.u64);
  return 0;
}

/* An id an older cairn generated ("3fa2c1d9-42") names only 4 bytes of
 * its author's key: a creation of one whose record another author (with
 * the same 4 bytes) created first is not merged into it. Returns 1 when
 * that is so for entry e (body b), 0 when not, or an error. */
static int legacy_id_taken(apply_ctx *c, const cairn_entry *e, const body *b) {
  cairn_entry_gen_id g;
  if (!cairn_record_generated_id((int)e->kind) ||
      cairn_entry_id_parse(b->id, b->idlen, &g) != 0 || g.form != CAIRN_ID_LEGACY)
    return 0;
  msgpack_zone z;
  cairn__store_rec r = {0};
  if (!msgpack_zone_init(&z, 1024))
    return CAIRN_ENOMEM;
  int rc = cairn__store_rec_load(c->txn, c->records, (int)e->kind, b->id, b->idlen, &z, &r);
  int taken = 0;
  for (size_t i = 0; rc == 0 && i < r.n && !taken; i++)
    taken = r.w[i].seq == g.seq && memcmp(r.w[i].author, g.key, 4) == 0 &&
            memcmp(r.w[i].author, e->author, CAIRN_KEY_BYTES) != 0;
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc == 0 || rc == CAIRN_ENOTFOUND ? taken : rc;
}

/* Calls fn for each entry from..to of author in this node's log that is
 * neither redacted nor quarantined, with its body parsed (in the apply
 * zone); outside a replay, the entry first leaves the held set. Stops at
 * the end of the author's log, at to, or at fn's first non-zero return. */
static int each_held_entry(apply_ctx *c, const uint8_t *author, uint64_t from, uint64_t to,
                           int (*fn)(apply_ctx *, const cairn_entry *, const body *, void *),
                           void *arg) {
  cairn_store *s = c->s;
  uint8_t key[CAIRN_KEY_BYTES + 8];
  int rc = 0;
  for (uint64_t seq = from; rc == 0 && seq <= to && seq != 0; seq++) {
    cairn_entry e;
    body b;
    size_t used;
    log_key(key, author, seq);
    MDB_val k = {sizeof key, key}, v;
    if ((rc = mdb_get(c->txn, s->log, &k, &v)) != 0)
      return rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
    /* A private copy: fn writes to this transaction. */
    msgpack_sbuffer_clear(&s->release_buf);
    if (msgpack_sbuffer_write(&s->release_buf, v.mv_data, v.mv_size) != 0)
      return CAIRN_ENOMEM;
    if (cairn_entry_decode((const uint8_t *)s->release_buf.data, s->release_buf.size, &e,
                           &used) != 0)
      return CAIRN_ECORRUPT;
    if (e.redacted || (rc = is_quarantined(s, c->txn, &e)) != 0) {
      rc = rc < 0 ? rc : 0;
      continue;
    }
    if (c->mode != APPLY_REPLAY) {
      rc = mdb_del(c->txn, s->held, &k, NULL);
      if (rc == 0)
        c->released++;
      else if (rc != MDB_NOTFOUND)
        return cairn__store_err(s, rc, 0);
    }
    msgpack_zone_clear(&s->apply_zone);
    if ((rc = body_parse(c, &e, &b)) == 0)
      rc = fn(c, &e, &b, arg);
  }
  return rc;
}

static int fold_at(apply_ctx *c, const cairn_entry *e, const body *b, void *arg) {
  char msg[200];
  if (cairn_record_check_set((int)e->kind, b->set, b->is_new, msg, sizeof msg) != 0)
    return set_why(c, e, CAIRN_EMALFORMED, msg);
  return fold_write(c, e, b, *(const uint64_t *)arg);
}

/* Folds, at effective HLC eff, the entries from..to of author that this
 * node holds, not redacted and not quarantined: the held ones leave the
 * held set, and those folded before at their own date move. */
static int release(apply_ctx *c, const uint8_t *author, uint64_t from, uint64_t to,
                   uint64_t eff) {
  return each_held_entry(c, author, from, to, fold_at, &eff);
}

/* A restamp record was folded: index it, and order the entries it names
 * that this node holds. One whose date is after its own entry's is kept out
 * (quarantined): the central orders nothing in its own future. */
static int fold_restamp(apply_ctx *c, const cairn_entry *e, const body *b) {
  const msgpack_object *author = cairn_record_map_get(b->set, "author");
  const msgpack_object *from = cairn_record_map_get(b->set, "from");
  const msgpack_object *to = cairn_record_map_get(b->set, "to");
  const msgpack_object *hlc = cairn_record_map_get(b->set, "hlc");
  uint8_t key[CAIRN_KEY_BYTES + 8], val[16], who[CAIRN_KEY_BYTES];
  if (author == NULL || from == NULL || to == NULL || hlc == NULL || !b->is_new)
    return 0; /* an edit: restamp records never change */
  if (sodium_hex2bin(who, sizeof who, author->via.str.ptr, author->via.str.size, NULL, NULL,
                     NULL) != 0 ||
      from->via.u64 < 1 || to->via.u64 < from->via.u64 || hlc->via.u64 > e->hlc)
    return set_why(c, e, CAIRN_EMALFORMED, "restamp: not a run of an author's entries dated "
                                           "at or before itself");
  uint64_t f = from->via.u64, t = to->via.u64, h = hlc->via.u64;
  log_key(key, who, f);
  cairn__store_put_be64(val, t);
  cairn__store_put_be64(val + 8, h);
  MDB_val k = {sizeof key, key}, v = {sizeof val, val};
  int rc = mdb_put(c->txn, c->restamps, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  c->restamped = 1;
  if (c->have_head && memcmp(c->cur.author, who, CAIRN_KEY_BYTES) == 0)
    c->author_has_stamps = 1;
  return release(c, who, f, t, h);
}

/* A held entry that has come due: its key (author || seq) and HLC. */
typedef struct held_due {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  uint64_t hlc;
} held_due;

/* Held entries this node's clock has reached since they arrived are folded
 * at their own date. */
static int release_due(apply_ctx *c) {
  cairn_store *s = c->s;
  MDB_cursor *cur;
  MDB_val k, v;
  held_due *due = NULL;
  size_t n = 0, cap = 0;
  if (s->held_count == 0 || c->mode == APPLY_REPLAY)
    return 0;
  int rc = mdb_cursor_open(c->txn, s->held, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    uint64_t h = v.mv_size == 8 ? cairn__store_get_be64(v.mv_data) : UINT64_MAX;
    if (h > c->ceiling || k.mv_size != CAIRN_KEY_BYTES + 8)
      continue;
    if ((rc = cairn__store_grow((void **)&due, &cap, n + 1, sizeof *due, 16)) != 0)
      break;
    memcpy(due[n].key, k.mv_data, sizeof due[n].key);
    due[n++].hlc = h;
  }
  mdb_cursor_close(cur);
  rc = rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : cairn__store_err(s, rc, 0);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint64_t seq = cairn__store_get_be64(due[i].key + CAIRN_KEY_BYTES);
    rc = release(c, due[i].key, seq, seq, due[i].hlc);
  }
  free(due);
  return rc;
}

/* THE apply path: every entry, local or received, goes through here.
 * Returns 1 when stored (and folded, unless redacted, quarantined or held),
 * 0 when already held, or a negative code (with c->why set for chain and
 * body problems). */
static int apply_entry(apply_ctx *c, const uint8_t *bytes, size_t len, const cairn_entry *e) {
  int rc = head_load(c, e->author);
  if (rc != 0)
    return rc;
  if (e->seq <= c->cur.seq)
    return 0;
  if (e->kind < 1 || e->kind > CAIRN_REC_MAX)
    return set_why(c, e, CAIRN_EMALFORMED, "unknown record kind");
  if (c->cur.seq == 0) {
    rc = cairn_entry_follows(e, NULL);
  } else {
    cairn_entry prev;
    memcpy(prev.author, c->cur.author, CAIRN_KEY_BYTES);
    prev.seq = c->cur.seq;
    memcpy(prev.hash, c->cur.hash, CAIRN_HASH_BYTES);
    rc = cairn_entry_follows(e, &prev);
  }
  if (rc == CAIRN_EGAP)
    return set_why(c, e, rc, "seq does not follow the last entry held");
  if (rc != 0)
    return set_why(c, e, rc, "prev does not match the hash of the last entry held");
  if (c->write_log) {
    uint8_t key[CAIRN_KEY_BYTES + 8];
    log_key(key, e->author, e->seq);
    MDB_val k = {sizeof key, key}, v = {len, (void *)bytes};
    /* A run usually extends the log's last author: appending then skips
     * the search and packs pages full. */
    rc = mdb_put(c->txn, c->s->log, &k, &v, MDB_APPEND);
    if (rc == MDB_KEYEXIST)
      rc = mdb_put(c->txn, c->s->log, &k, &v, 0);
    if (rc != 0)
      return cairn__store_err(c->s, rc, 0);
  }
  if (!e->redacted) {
    if ((rc = fold(c, e)) != 0)
      return rc;
  } else if (central_redates(c, e)) {
    /* a redacted entry has nothing to fold, but keeps its run's order */
    if ((rc = stamp_add(c, e)) != 0)
      return rc;
  } else {
    if (e->hlc > c->max_hlc && e->hlc <= c->ceiling)
      c->max_hlc = e->hlc;
    c->cur_eff = e->hlc;
  }
  c->cur.seq = e->seq;
  memcpy(c->cur.hash, e->hash, CAIRN_HASH_BYTES);
  c->cur.hlc = e->hlc;
  c->head_dirty = 1;
  return 1;
}

static void apply_init(apply_ctx *c, cairn_store *s, MDB_txn *txn, apply_mode mode) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->txn = txn;
  c->mode = mode;
  c->heads = s->heads;
  c->records = s->records;
  c->children = s->children;
  c->restamps = s->restamps;
  c->write_log = 1;
  c->max_hlc = s->last_hlc;
  c->ceiling = hlc_ceiling(s);
  c->is_central = s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0;
  c->revoked_after = UINT64_MAX;
  c->author_number = -1;
}

/* Frees what c allocated (not the transaction). */
static void apply_free(apply_ctx *c) {
  free(c->stamps);
  c->stamps = NULL;
  c->nstamps = c->stamps_cap = 0;
}

/* Commits txn (with the refusal counter) and, when that succeeded,
 * publishes what it changed. Frees c either way. */
static int apply_commit(apply_ctx *c) {
  cairn_store *s = c->s;
  uint64_t own_hlc = s->own_hlc;
  int rc = head_flush(c);
  if (rc == 0 && c->refused > 0) {
    uint8_t n[8];
    cairn__store_put_be64(n, s->refused + c->refused);
    MDB_val k = {7, "refused"}, v = {sizeof n, n};
    if ((rc = mdb_put(c->txn, s->meta, &k, &v, 0)) != 0)
      rc = cairn__store_err(s, rc, 0);
  }
  if (rc == 0 && c->own_changed)
    own_hlc = c->own.hlc;
  if (rc == 0 && c->restamped) { /* this device's own last entry may have been re-dated */
    uint64_t seq = c->own_changed ? c->own.seq : s->own_seq, eff;
    int found = seq > 0 ? stamp_lookup(s, c->txn, c->restamps, s->pk, seq, &eff) : 0;
    if (found < 0)
      rc = found;
    else if (found)
      own_hlc = eff;
  }
  apply_free(c);
  if (rc != 0) {
    mdb_txn_abort(c->txn);
    return rc;
  }
  rc = mdb_txn_commit(c->txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 1);
  s->last_hlc = c->max_hlc;
  s->own_hlc = own_hlc;
  s->refused += c->refused;
  s->held_count = s->held_count + c->held - (c->released < s->held_count + c->held
                                                 ? c->released
                                                 : s->held_count + c->held);
  if (c->own_changed) {
    s->own_seq = c->own.seq;
    memcpy(s->own_hash, c->own.hash, CAIRN_HASH_BYTES);
  }
  return 0;
}

/* ---- open / close -------------------------------------------------------- */

static int open_dbs(cairn_store *s, MDB_txn *txn) {
  static const char *const names[] = {"log",        "heads",  "records",  "children",
                                      "meta",       "quarantine", "tokens", "receipts",
                                      "peers",      "held",   "restamps", "staged"};
  MDB_dbi *dbis[] = {&s->log,        &s->heads,  &s->records,  &s->children,
                     &s->meta,       &s->quarantine, &s->tokens, &s->receipts,
                     &s->peers,      &s->held,   &s->restamps, &s->staged};
  _Static_assert(sizeof names / sizeof names[0] + CHECK_DBS == MAX_DBS,
                 "MAX_DBS counts every database");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    int rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
    if (rc != 0)
      return cairn__store_err(s, rc, 0);
  }
  MDB_val k = {6, "format"}, v;
  int rc = mdb_get(txn, s->meta, &k, &v);
  if (rc == MDB_NOTFOUND) {
    uint8_t one = 1;
    MDB_val fv = {1, &one}, sk = {4, "self"}, sv = {CAIRN_KEY_BYTES, s->pk};
    MDB_val tk = {4, "time"}; /* a new store holds nothing dated by an older cairn */
    if ((rc = mdb_put(txn, s->meta, &k, &fv, 0)) != 0 ||
        (rc = mdb_put(txn, s->meta, &sk, &sv, 0)) != 0 ||
        (rc = mdb_put(txn, s->meta, &tk, &fv, 0)) != 0)
      return cairn__store_err(s, rc, 0);
  } else if (rc != 0) {
    return cairn__store_err(s, rc, 0);
  } else {
    if (v.mv_size != 1 || *(const uint8_t *)v.mv_data != 1)
      return CAIRN_EVERSION;
    MDB_val sk = {4, "self"};
    if (mdb_get(txn, s->meta, &sk, &v) != 0 || v.mv_size != CAIRN_KEY_BYTES ||
        memcmp(v.mv_data, s->pk, CAIRN_KEY_BYTES) != 0)
      return CAIRN_ECORRUPT; /* another device's store */
  }
  MDB_val ck = {7, "central"}, rk = {7, "refused"}, ok = {6, "offset"}, tk = {4, "time"};
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
  head own;
  if ((rc = head_get(txn, s->heads, s, s->pk, &own)) != 0)
    return rc;
  s->own_seq = own.seq;
  memcpy(s->own_hash, own.hash, CAIRN_HASH_BYTES);
  s->own_hlc = own.hlc;
  if (own.seq > 0 && (rc = stamp_lookup(s, txn, s->restamps, s->pk, own.seq, &s->own_hlc)) < 0)
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
  uint64_t ceiling = hlc_ceiling(s);
  int bad = 0;
  while (!bad && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    head h = {0};
    uint64_t eff;
    if (k.mv_size != CAIRN_KEY_BYTES || (bad = cairn__store_head_parse(&v, &h)) != 0)
      break;
    int covered = stamp_lookup(s, txn, s->restamps, k.mv_data, h.seq, &eff);
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

int cairn_store_open(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                     const cairn_store_opts *opts) {
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
  s->sk = sk;
  crypto_sign_ed25519_sk_to_pk(s->pk, sk);
  s->clock_offset_ms = opts != NULL ? opts->clock_offset_ms : 0;
  s->clock_tolerance_ms = opts != NULL && opts->clock_tolerance_ms > 0
                              ? opts->clock_tolerance_ms
                              : CAIRN_STORE_CLOCK_TOLERANCE_MS;
  msgpack_sbuffer_init(&s->body_buf);
  msgpack_sbuffer_init(&s->entry_buf);
  msgpack_sbuffer_init(&s->rec_buf);
  msgpack_sbuffer_init(&s->last_body);
  msgpack_sbuffer_init(&s->release_buf);
  msgpack_sbuffer_init(&s->stage_buf);
  int rc = 0;
  if (!msgpack_zone_init(&s->apply_zone, 16384) || !msgpack_zone_init(&s->check_zone, 16384))
    rc = CAIRN_ENOMEM;
  if (rc == 0 && mkdir(path, 0750) != 0 && errno != EEXIST)
    rc = cairn_err_from_errno(errno);
  if (rc == 0 && (rc = mdb_env_create(&s->env)) != 0)
    rc = cairn__store_err(s, rc, 0);
  if (rc == 0) {
    uint64_t map = opts != NULL && opts->map_size != 0 ? opts->map_size : DEFAULT_MAP_SIZE;
    int r = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (r == 0)
      r = mdb_env_set_mapsize(s->env, (size_t)map);
    if (r == 0)
      r = mdb_env_open(s->env, path, MDB_NOTLS, 0640);
    rc = cairn__store_err(s, r, 0);
  }
  MDB_txn *txn = NULL;
  if (rc == 0 && (rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
    rc = cairn__store_err(s, rc, 0);
  if (rc == 0) {
    rc = open_dbs(s, txn);
    if (rc == 0)
      rc = cairn__store_err(s, mdb_txn_commit(txn), 1);
    else
      mdb_txn_abort(txn);
  }
  free(path);
  if (rc != 0) {
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
  msgpack_zone_destroy(&s->apply_zone);
  msgpack_zone_destroy(&s->check_zone);
  msgpack_sbuffer_destroy(&s->body_buf);
  msgpack_sbuffer_destroy(&s->entry_buf);
  msgpack_sbuffer_destroy(&s->rec_buf);
  msgpack_sbuffer_destroy(&s->last_body);
  msgpack_sbuffer_destroy(&s->release_buf);
  msgpack_sbuffer_destroy(&s->stage_buf);
  free(s->run);
  cairn__store_rec_free(&s->apply_rec);
  free(s->ents);
  free(s->dir);
  free(s);
}

const uint8_t *cairn_store_device(const cairn_store *s) { return s->pk; }

uint64_t cairn_store_own_seq(const cairn_store *s) { return s->own_seq; }

int cairn_store_grow(cairn_store *s) {
  MDB_envinfo info;
  int rc = mdb_env_info(s->env, &info);
  if (rc == 0)
    rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
  return rc == 0 ? 0 : rc == ENOMEM ? CAIRN_ENOMEM : CAIRN_EIO;
}

/* ---- local writes -------------------------------------------------------- */

typedef struct batch {
  cairn_store *s;
  apply_ctx ac;
  uint64_t seq; /* this device's head while the batch is built */
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn__store_rec rec, ref; /* the put's record; a record it refers to */
  size_t *idx;
  size_t idx_cap;
  /* The last milestone looked up (many evidence puts name the same one);
   * dropped when a student or milestone is written. */
  int ms_valid;
  char ms_id[CAIRN__STORE_ID_MAX];
  size_t ms_idlen;
  cairn_scale ms_scale;
  int32_t ms_start, ms_end; /* its timeframe; ms_end < ms_start when unreadable */
  cairn__store_where ms_where; /* its student's campus and classrooms */
  /* The put being built. */
  cairn__store_where where; /* the scope its entry carries */
  char gen_id[CAIRN_ENTRY_ID_MAX];
  char showed[256];
  int set_revoked_after;  /* the put revokes a device: revoked_after is added */
  uint64_t revoked_after;
  int set_number;         /* the put gives a device its number */
  uint64_t number;
  int64_t own_number;     /* this device's number; -1 none; -2 not read yet */
  uint64_t own_hlc;       /* the HLC of this device's last entry so far */
  int commit_anyway;      /* commit though this device wrote nothing (received entries) */
  cairn_entry last;
  int have_last;
  size_t unsigned_n, unsigned_bytes; /* entries (and body bytes) since the last signed */
} batch;

static int refuse(cairn_put *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(cairn_put *p, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->message, sizeof p->message, fmt, ap);
  va_end(ap);
  p->result = code;
  return code;
}

/* Refuses p with code and the message msg a check wrote; returns code. */
static int refuse_with(cairn_put *p, int code, const char *msg) {
  return code == 0 ? 0 : refuse(p, code, "%s", msg);
}

static int date_of(const msgpack_object *v, int32_t *day) {
  const char *s;
  size_t len;
  return cairn__store_obj_str(v, &s, &len) ? cairn_text_date_parse(s, len, day) : CAIRN_EDATE;
}

/* Loads student sid into b->ref: it must exist, not be deleted, and not
 * be withdrawn (their records are read-only). Sets the scope of the put
 * being built: the student's campus and classrooms. */
static int student_lookup(batch *b, cairn_put *p, const char *sid, size_t sidlen) {
  char msg[sizeof p->message];
  int rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_STUDENT, sid, sidlen,
                                 &b->s->check_zone, &b->ref);
  if (rc == CAIRN_ENOTFOUND ||
      (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL))))
    return refuse(p, CAIRN_ENOTFOUND, "student %.*s: no such student", (int)sidlen, sid);
  if (rc != 0)
    return refuse(p, rc, "student %.*s: %s", (int)sidlen, sid, cairn_strerror(rc));
  if ((rc = cairn__store_student_readonly(&b->ref, sid, sidlen, msg, sizeof msg)) != 0)
    return refuse_with(p, rc, msg);
  if ((rc = cairn__store_where_of(&b->ref, &b->s->check_zone, &b->where)) != 0)
    return refuse(p, rc, "student %.*s: %s", (int)sidlen, sid, cairn_strerror(rc));
  return 0;
}

/* Looks up milestone mid named by field: it must exist and not be deleted.
 * Caches its scale and its student's scope; sets the put's scope. */
static int milestone_lookup(batch *b, cairn_put *p, const char *field, const char *mid,
                            size_t midlen) {
  if (!b->ms_valid || b->ms_idlen != midlen || memcmp(b->ms_id, mid, midlen) != 0) {
    b->ms_valid = 0;
    int rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_MILESTONE, mid, midlen,
                                   &b->s->check_zone, &b->ref);
    const char *sc, *sid;
    size_t sclen, sidlen;
    if (rc == CAIRN_ENOTFOUND ||
        (rc == 0 && (cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL)) ||
                     !cairn__store_obj_str(cairn__store_rec_value(&b->ref, "scale", NULL), &sc,
                                           &sclen) ||
                     !cairn__store_obj_str(cairn__store_rec_value(&b->ref, "student", NULL),
                                           &sid, &sidlen))))
      return refuse(p, CAIRN_ENOTFOUND, "%s %.*s: no such milestone", field, (int)midlen, mid);
    if (rc != 0)
      return refuse(p, rc, "%s %.*s: %s", field, (int)midlen, mid, cairn_strerror(rc));
    if (cairn_record_scale_parse(sc, sclen, cairn__store_rec_value(&b->ref, "levels", NULL),
                                 &b->ms_scale) != 0)
      return refuse(p, CAIRN_ECORRUPT, "%s %.*s: its scale is unreadable", field, (int)midlen,
                    mid);
    if (date_of(cairn__store_rec_value(&b->ref, "start", NULL), &b->ms_start) != 0 ||
        date_of(cairn__store_rec_value(&b->ref, "end", NULL), &b->ms_end) != 0)
      b->ms_end = b->ms_start - 1;
    if ((rc = student_lookup(b, p, sid, sidlen)) != 0)
      return rc;
    b->ms_where = b->where;
    memcpy(b->ms_id, mid, midlen);
    b->ms_idlen = midlen;
    b->ms_valid = 1;
  }
  b->where = b->ms_where;
  return 0;
}

/* Refuses p when v, given for field, is a number off the scale sc. */
static int on_scale(cairn_put *p, const char *field, const msgpack_object *v,
                    const cairn_scale *sc) {
  double d;
  if (v == NULL || v->type == MSGPACK_OBJECT_NIL || !cairn__store_obj_num(v, &d) ||
      cairn_record_scale_check(sc, d) == 0)
    return 0; /* not a number: cairn_record_check_set refused it already */
  cairn_record_scale_refusal(sc, field, d, p->message, sizeof p->message);
  p->result = CAIRN_ERANGE;
  return CAIRN_ERANGE;
}

/* A milestone's parent: an existing milestone of the same student, not
 * the milestone itself. */
static int check_parent(batch *b, cairn_put *p, const msgpack_object *set, const char *sid,
                        size_t sidlen) {
  char msg[sizeof p->message];
  return refuse_with(p,
                     cairn__store_check_sibling(b->ac.txn, b->s->records, &b->s->check_zone,
                                                "parent", cairn_record_map_get(set, "parent"),
                                                p->id, "a milestone cannot lead to itself", sid,
                                                sidlen, msg, sizeof msg),
                     msg);
}

/* The milestone as it will be (set over r) must be one cairn can reason
 * about (cairn_progress_params_check), and each if/then rule readable and
 * right for its scale. */
static int check_milestone_rules(cairn_put *p, const msgpack_object *set,
                                 const cairn__store_rec *r) {
  cairn_milestone_params mp;
  int32_t checks[CAIRN__STORE_CHECKS_MAX];
  char why[200];
  if (cairn__store_milestone_params(set, r, &mp, checks, why, sizeof why) != 0 ||
      cairn_progress_params_check(&mp, why, sizeof why) != 0)
    return refuse(p, CAIRN_EINVAL, "%s", why);
  const msgpack_object *rules = cairn__store_field_of(set, r, "if_then");
  for (uint32_t i = 0; rules != NULL && rules->type == MSGPACK_OBJECT_ARRAY &&
                       i < rules->via.array.size;
       i++) {
    const msgpack_object *t = &rules->via.array.ptr[i];
    char text[1001];
    cairn_ifthen rule;
    if (t->type != MSGPACK_OBJECT_STR || t->via.str.size >= sizeof text)
      return refuse(p, CAIRN_EINVAL, "if_then: rule %u is not a string", i + 1);
    memcpy(text, t->via.str.ptr, t->via.str.size);
    text[t->via.str.size] = '\0';
    if (cairn_progress_ifthen_parse(text, &rule, why, sizeof why) != 0 ||
        cairn_progress_ifthen_check(&rule, &mp, why, sizeof why) != 0)
      return refuse(p, CAIRN_EINVAL, "if_then: rule %u: %s", i + 1, why);
  }
  return 0;
}

/* The template or standard named by field of set (when the put sets it)
 * must exist and not be deleted. */
static int check_catalog_ref(batch *b, cairn_put *p, const msgpack_object *set, const char *field,
                             int type) {
  const char *v;
  size_t len;
  if (!cairn__store_obj_str(cairn_record_map_get(set, field), &v, &len))
    return 0;
  int rc = cairn__store_rec_load(b->ac.txn, b->s->records, type, v, len, &b->s->check_zone,
                                 &b->ref);
  if (rc == CAIRN_ENOTFOUND ||
      (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL))))
    return refuse(p, CAIRN_ENOTFOUND, "%s %.*s: no such %s (the central publishes them)", field,
                  (int)len, v, cairn_record_type_name(type));
  return rc != 0 ? refuse(p, rc, "%s %.*s: %s", field, (int)len, v, cairn_strerror(rc)) : 0;
}

static int check_milestone(batch *b, cairn_put *p, const msgpack_object *set,
                           const cairn__store_rec *r) {
  const char *v, *sid;
  size_t len, sidlen;
  int rc;
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "student"), &sid, &sidlen))
    return refuse(p, CAIRN_EINVAL, "student: required");
  if ((rc = student_lookup(b, p, sid, sidlen)) != 0)
    return rc;
  cairn_scale sc;
  char msg[sizeof p->message];
  if ((rc = cairn__store_milestone_year(b->ac.txn, b->s->records, &b->s->check_zone, set, r,
                                        p->id, sid, sidlen, msg, sizeof msg)) != 0)
    return refuse_with(p, rc, msg);
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "scale"), &v, &len) ||
      cairn_record_scale_parse(v, len, cairn__store_field_of(set, r, "levels"), &sc) != 0)
    return refuse(p, CAIRN_EINVAL, "scale: " CAIRN_RECORD_SCALE_RULE);
  if ((rc = on_scale(p, "baseline", cairn__store_field_of(set, r, "baseline"), &sc)) != 0 ||
      (rc = on_scale(p, "target", cairn__store_field_of(set, r, "target"), &sc)) != 0)
    return rc;
  int32_t start, end;
  if (date_of(cairn__store_field_of(set, r, "start"), &start) == 0 &&
      date_of(cairn__store_field_of(set, r, "end"), &end) == 0 && end < start)
    return refuse(p, CAIRN_EINVAL, "end: before start");
  if ((rc = check_milestone_rules(p, set, r)) != 0 ||
      (rc = check_parent(b, p, set, sid, sidlen)) != 0 ||
      (rc = check_catalog_ref(b, p, set, "template", CAIRN_REC_TEMPLATE)) != 0 ||
      (rc = check_catalog_ref(b, p, set, "standard", CAIRN_REC_STANDARD)) != 0)
    return rc;
  b->ms_valid = 0;
  return 0;
}

/* New evidence of the milestone b caches: observed no later than tomorrow
 * by this device's clock (a time zone ahead is tomorrow already), and,
 * unless the put forces it, not before the start by more than the
 * timeframe's length: 1999 or 2030 on a 2026 milestone is a typo. */
static int observed_plausible(batch *b, cairn_put *p, const msgpack_object *set) {
  /* "Tomorrow" by the central's clock when this node has learned that its
   * own is off by days (a dead battery, a wrong year): the date the
   * teacher's machine fills in is then refused, and says why. */
  int32_t shift = b->s->offset_known ? (int32_t)(b->s->central_offset_ms / 86400000) : 0;
  int32_t day, tomorrow = cairn_text_today() + shift + 1;
  char when[11], limit[11];
  if (date_of(cairn_record_map_get(set, "observed"), &day) != 0)
    return 0; /* cairn_record_check_set refused it already */
  cairn_text_date_format(day, when);
  if (day > tomorrow) {
    char off[CAIRN_TEXT_DURATION_MAX];
    cairn_text_date_format(tomorrow, limit);
    cairn_text_duration(b->s->central_offset_ms, off);
    if (shift != 0)
      return refuse(p, CAIRN_EDATE,
                    "observed: %s is after tomorrow (%s by the central's clock; this machine's "
                    "clock is %s %s the central's: set its date and time)",
                    when, limit, off, shift < 0 ? "ahead of" : "behind");
    return refuse(p, CAIRN_EDATE,
                  "observed: %s is after tomorrow (%s) by this device's clock: check the date, "
                  "and the clock",
                  when, limit);
  }
  if (b->ms_end < b->ms_start || p->force || day >= b->ms_start - (b->ms_end - b->ms_start))
    return 0;
  cairn_text_date_format(b->ms_start, limit);
  return refuse(p, CAIRN_EDATE,
                "observed: %s is more than the milestone's timeframe (%d days) before its start "
                "(%s): check the date; if it is right, record it with --force",
                when, (int)(b->ms_end - b->ms_start), limit);
}

static int check_evidence(batch *b, cairn_put *p, const msgpack_object *set,
                          const cairn__store_rec *r) {
  const char *mid;
  size_t midlen;
  int rc;
  if (r != NULL) {
    for (uint32_t i = 0; i < set->via.map.size; i++) {
      const msgpack_object_kv *kv = &set->via.map.ptr[i];
      const msgpack_object_str *k = &kv->key.via.str;
      int is_value = k->size == 5 && memcmp(k->ptr, "value", 5) == 0;
      int is_retract = k->size == 9 && memcmp(k->ptr, "retracted", 9) == 0 &&
                       cairn__store_obj_true(&kv->val);
      if (!is_value && !is_retract)
        return refuse(p, CAIRN_EINVAL,
                      "%.*s: evidence is never overwritten; amend its value or retract it",
                      (int)k->size, k->ptr);
    }
    if (p->why == NULL || p->why[0] == '\0')
      return refuse(p, CAIRN_EINVAL, "reason: required to %s evidence",
                    cairn_record_map_get(set, "value") != NULL ? "amend" : "retract");
  }
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "milestone"), &mid, &midlen))
    return refuse(p, CAIRN_EINVAL, "milestone: required");
  if ((rc = milestone_lookup(b, p, "milestone", mid, midlen)) != 0)
    return rc;
  if ((rc = on_scale(p, "value", cairn_record_map_get(set, "value"), &b->ms_scale)) != 0)
    return rc;
  return r == NULL ? observed_plausible(b, p, set) : 0;
}

/* A review, support change or celebration: its milestone must exist. A
 * review given without `showed` gets the milestone's derived status as of
 * the review's date. */
static int check_milestone_child(batch *b, cairn_put *p, const msgpack_object *set,
                                 const cairn__store_rec *r) {
  const char *mid;
  size_t midlen;
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "milestone"), &mid, &midlen))
    return refuse(p, CAIRN_EINVAL, "milestone: required");
  int rc = milestone_lookup(b, p, "milestone", mid, midlen);
  if (rc != 0 || p->type != CAIRN_REC_REVIEW || r != NULL ||
      cairn_record_map_get(set, "showed") != NULL)
    return rc;
  /* as of the review's date: what was known then */
  int32_t day;
  if (date_of(cairn_record_map_get(set, "date"), &day) != 0)
    day = cairn_text_today();
  rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_MILESTONE, mid, midlen,
                             &b->s->check_zone, &b->ref);
  if (rc == 0)
    rc = cairn__store_milestone_summary(b->s, b->ac.txn, &b->ref, mid, midlen, day, b->showed,
                                        sizeof b->showed);
  return rc != 0 ? refuse(p, rc, "showed: could not derive the status: %s", cairn_strerror(rc))
                 : 0;
}

/* A device record: written by the central only, its id the lowercase hex
 * of its key; its scope is the device's. */
/* This device's number, which the ids it generates name (entry.h): the
 * central's is 0; another device's is in its device record, once the
 * central's log has brought it; -1 until then. Read once per batch.
 * Returns it, or a negative code below -1. */
static int64_t own_number(batch *b) {
  cairn_store *s = b->s;
  if (b->own_number != -2)
    return b->own_number;
  if (s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0)
    return b->own_number = 0;
  msgpack_zone z;
  cairn__store_rec r = {0};
  if (!msgpack_zone_init(&z, 1024))
    return CAIRN_ENOMEM;
  int rc = cairn__store_device_get(s, b->ac.txn, s->pk, &z, &r, NULL, NULL);
  const msgpack_object *n = rc == 0 || rc == CAIRN_EPERM ? cairn__store_rec_value(&r, "number", NULL)
                                                        : NULL;
  b->own_number = n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                          n->via.u64 <= INT64_MAX
                      ? (int64_t)n->via.u64
                      : -1;
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc == 0 || rc == CAIRN_EPERM || rc == CAIRN_ENOTFOUND ? b->own_number : rc;
}

/* The number the central gives the next device: one more than the
 * greatest any device record holds. Sets *next; returns 0 or an error. */
static int next_device_number(batch *b, uint64_t *next) {
  cairn_store *s = b->s;
  MDB_cursor *cur;
  uint8_t key[1] = {(uint8_t)CAIRN_REC_DEVICE};
  MDB_val k = {1, key}, v;
  msgpack_zone z;
  cairn__store_rec r = {0};
  *next = 1;
  int rc = mdb_cursor_open(b->ac.txn, s->records, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if (!msgpack_zone_init(&z, 1024)) {
    mdb_cursor_close(cur);
    return CAIRN_ENOMEM;
  }
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size > 0 && ((const uint8_t *)k.mv_data)[0] == CAIRN_REC_DEVICE) {
    msgpack_zone_clear(&z);
    if ((rc = cairn__store_rec_parse(v.mv_data, v.mv_size, &z, &r)) != 0)
      break;
    const msgpack_object *n = cairn__store_rec_value(&r, "number", NULL);
    if (n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER && n->via.u64 >= *next)
      *next = n->via.u64 + 1;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : cairn__store_err(s, rc, 0);
}

static int check_device(batch *b, cairn_put *p, const msgpack_object *set,
                        const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "device records are written by the central");
  if (r == NULL) {
    const char *key;
    size_t len;
    uint8_t bin[CAIRN_KEY_BYTES];
    char hex[2 * CAIRN_KEY_BYTES + 1];
    if (!cairn__store_obj_str(cairn_record_map_get(set, "key"), &key, &len) ||
        len != 2 * CAIRN_KEY_BYTES ||
        sodium_hex2bin(bin, sizeof bin, key, len, NULL, NULL, NULL) != 0)
      return refuse(p, CAIRN_EINVAL, "key: not the hex of a device key");
    sodium_bin2hex(hex, sizeof hex, bin, sizeof bin);
    if (memcmp(hex, key, len) != 0 || strcmp(p->id, hex) != 0)
      return refuse(p, CAIRN_EINVAL, "key: must be lowercase hex and equal the id");
  }
  /* Its number is the central's to give, in the entry that creates the
   * record: so every node that can check the device's entries knows it.
   * A device enrolled by an older cairn has none and writes key ids. */
  if (cairn_record_map_get(set, "number") != NULL)
    return refuse(p, CAIRN_EPERM, "number: given by the central when it enrolls; not set by hand");
  if (r == NULL) {
    int rc = next_device_number(b, &b->number);
    if (rc != 0)
      return refuse(p, rc, "number: %s", cairn_strerror(rc));
    b->set_number = 1;
  }
  char campus[65], classroom[65];
  cairn__store_copy_str(cairn__store_field_of(set, r, "campus"), campus);
  cairn__store_copy_str(cairn__store_field_of(set, r, "classroom"), classroom);
  cairn__store_where_set(&b->where, campus, classroom);
  /* A revocation says from which of the device's entries on it applies:
   * those this central does not hold yet (PROTOCOL.md section 1). */
  if (cairn__store_obj_true(cairn_record_map_get(set, "revoked")) &&
      cairn_record_map_get(set, "revoked_after") == NULL) {
    uint8_t key[CAIRN_KEY_BYTES];
    head h;
    int rc;
    if (sodium_hex2bin(key, sizeof key, p->id, strlen(p->id), NULL, NULL, NULL) != 0)
      return refuse(p, CAIRN_EINVAL, "id: not the hex of a device key");
    if ((rc = head_get(b->ac.txn, s->heads, s, key, &h)) != 0)
      return refuse(p, rc, "revoked: %s", cairn_strerror(rc));
    b->set_revoked_after = 1;
    b->revoked_after = h.seq;
  }
  return 0;
}

/* A restamp record: the store's own, on the central only; in every scope. */
static int check_restamp(batch *b, cairn_put *p) {
  const cairn_store *s = b->s;
  if (!p->system)
    return refuse(p, CAIRN_EPERM, "restamp records are written by cairnd itself");
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "restamp records are written by the central");
  return 0;
}

/* A template or a standard: the central's only (like device records), in
 * every node's scope; a template's target lies on its scale and its
 * standard exists. */
static int check_catalog(batch *b, cairn_put *p, const msgpack_object *set,
                         const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "%ss are published by the central",
                  cairn_record_type_name(p->type));
  if (p->type != CAIRN_REC_TEMPLATE)
    return 0;
  const char *v;
  size_t len;
  cairn_scale sc;
  /* a template has no levels of its own: a levels scale is refused */
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "scale"), &v, &len) ||
      cairn_record_scale_parse(v, len, NULL, &sc) != 0)
    return refuse(p, CAIRN_EINVAL, "scale: not MIN-MAX, percent, count, yesno or letter");
  int rc = on_scale(p, "target", cairn__store_field_of(set, r, "target"), &sc);
  return rc != 0 ? rc : check_catalog_ref(b, p, set, "standard", CAIRN_REC_STANDARD);
}

/* A campus or a classroom (roster import): the central's only. A
 * campus's entries carry [campus, ""] and reach every node of the campus;
 * a classroom's [its campus, itself], and its campus must exist. */
static int check_place(batch *b, cairn_put *p, const msgpack_object *set,
                       const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  char campus[65];
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "%s are written by the central (cairn roster import)",
                  p->type == CAIRN_REC_CAMPUS ? "campuses" : "classrooms");
  if (p->type == CAIRN_REC_CAMPUS) {
    cairn__store_where_set(&b->where, p->id, "");
    return 0;
  }
  cairn__store_copy_str(cairn__store_field_of(set, r, "campus"), campus);
  cairn__store_where_set(&b->where, campus, p->id);
  return check_catalog_ref(b, p, set, "campus", CAIRN_REC_CAMPUS);
}

/* Where a put by a device with scope p->within may not write: refuses it
 * naming the field (PROTOCOL.md section 1: the same rule as for a
 * received entry). */
static int check_within(batch *b, cairn_put *p, const msgpack_object *set,
                        const cairn__store_rec *r) {
  const cairn_scope *in = p->within;
  const char *sid;
  size_t sidlen;
  if (in == NULL || cairn__store_where_within(in, p->type, &b->where))
    return 0;
  if (strcmp(b->where.campus, in->campus) != 0)
    return refuse(p, CAIRN_EPERM, "campus: outside this device's scope (campus %s)", in->campus);
  if (p->type == CAIRN_REC_STUDENT)
    return refuse(p, CAIRN_EPERM,
                  "classrooms: outside this device's scope: it writes only for students of its "
                  "classroom (%s)",
                  in->classroom);
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "student"), &sid, &sidlen))
    sid = "", sidlen = 0;
  return refuse(p, CAIRN_EPERM,
                "%s: its student%s%.*s is outside this device's scope: not in its classroom (%s)",
                p->type == CAIRN_REC_MILESTONE ? "student" : "milestone", sidlen ? " " : "",
                (int)sidlen, sid, in->classroom);
}

/* Validates put p (its set decoded into *set, which the checks may
 * rewrite: FORMAT.md section 3.2). On success *r is the current record
 * (NULL when creating) and *id its id. */
static int put_check(batch *b, cairn_put *p, msgpack_object *set, const cairn__store_rec **r,
                     const char **id) {
  const char *tname = cairn_record_type_name(p->type);
  char msg[sizeof p->message];
  *r = NULL;
  b->showed[0] = '\0';
  b->set_revoked_after = 0;
  b->set_number = 0;
  memset(&b->where, 0, sizeof b->where);
  if (tname == NULL)
    return refuse(p, CAIRN_EINVAL, "type: unknown record type %d", p->type);
  if (p->edit || !cairn_record_generated_id(p->type)) {
    if (p->id == NULL)
      return refuse(p, CAIRN_EINVAL, "id: required to %s a %s", p->edit ? "edit" : "create",
                    tname);
    int rc = cairn_text_id_check("id", p->id, strlen(p->id), msg, sizeof msg);
    if (rc != 0)
      return refuse(p, rc, "%s", msg);
    rc = cairn__store_rec_load(b->ac.txn, b->s->records, p->type, p->id, strlen(p->id),
                               &b->s->check_zone, &b->rec);
    if (rc != 0 && rc != CAIRN_ENOTFOUND)
      return refuse(p, rc, "%s %s: %s", tname, p->id, cairn_strerror(rc));
    if (rc == 0 && !p->edit)
      return refuse(p, CAIRN_EEXISTS, "%s %s already exists", tname, p->id);
    if (rc != 0 && p->edit)
      return refuse(p, CAIRN_ENOTFOUND, "%s %s: no such %s", tname, p->id, tname);
    *id = p->id;
    *r = p->edit ? &b->rec : NULL;
  } else if (p->id != NULL) {
    return refuse(p, CAIRN_EINVAL, "id: a %s's id is generated; leave it out", tname);
  } else {
    int64_t number = own_number(b);
    if (number < -1)
      return refuse(p, (int)number, "id: %s", cairn_strerror((int)number));
    if (number >= 0)
      cairn_entry_id_number((uint64_t)number, b->seq + 1, b->gen_id);
    else
      cairn_entry_id_key(b->s->pk, b->seq + 1, b->gen_id);
    *id = b->gen_id;
  }
  if (p->why != NULL && strlen(p->why) > WHY_MAX)
    return refuse(p, CAIRN_ETOOBIG, "reason: longer than %d bytes", WHY_MAX);
  int rc = p->why != NULL ? cairn_text_check("reason", p->why, strlen(p->why), 0, msg, sizeof msg)
                          : 0;
  if (rc != 0)
    return refuse(p, rc, "%s", msg);
  rc = cairn_record_check_set(p->type, set, !p->edit, msg, sizeof msg);
  if (rc == 0)
    rc = cairn_record_check_input(p->type, set, msg, sizeof msg);
  if (rc != 0)
    return refuse(p, rc, "%s", msg);
  switch (p->type) {
  case CAIRN_REC_STUDENT:
    b->ms_valid = 0;
    rc = refuse_with(p, cairn__store_student_put(&b->s->check_zone, *r, *id, set, &b->where, msg,
                                                 sizeof msg),
                     msg);
    break;
  case CAIRN_REC_DEVICE:
    return check_device(b, p, set, *r);
  case CAIRN_REC_RESTAMP:
    return check_restamp(b, p);
  case CAIRN_REC_TEMPLATE:
  case CAIRN_REC_STANDARD:
    return check_catalog(b, p, set, *r);
  case CAIRN_REC_CAMPUS:
  case CAIRN_REC_CLASSROOM:
    return check_place(b, p, set, *r);
  case CAIRN_REC_MILESTONE:
    rc = check_milestone(b, p, set, *r);
    break;
  case CAIRN_REC_EVIDENCE:
    rc = check_evidence(b, p, set, *r);
    break;
  default:
    rc = check_milestone_child(b, p, set, *r);
    break;
  }
  return rc != 0 ? rc : check_within(b, p, set, *r);
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* The heads of field key (a string) of record r of type, into idx, as a
 * write's base names them; 0 for a set field (merged by its operations,
 * never in conflict). f is scratch for the name. */
static size_t based(int type, const cairn__store_rec *r, const msgpack_object *key, size_t *idx,
                    char f[64]) {
  const cairn_field_def *fd;
  snprintf(f, 64, "%.*s", (int)key->via.str.size, key->via.str.ptr);
  fd = cairn_record_field(type, f, strlen(f));
  return fd != NULL && cairn__store_field_is_lww(fd) ? cairn__store_rec_heads(r, f, idx) : 0;
}

/* Packs the entry body for put p into s->body_buf: id, set (plus the
 * derived `showed`), base (the heads of each field written), why, scope. */
static int pack_body(batch *b, const cairn_put *p, const char *id, const msgpack_object *set,
                     const cairn__store_rec *r) {
  char f[64];
  msgpack_sbuffer *out = &b->s->body_buf;
  msgpack_sbuffer_clear(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  uint32_t nbase = 0;
  if (r != NULL) {
    if (r->n > b->idx_cap) {
      size_t *idx = realloc(b->idx, r->n * sizeof *idx);
      if (idx == NULL)
        return CAIRN_ENOMEM;
      b->idx = idx;
      b->idx_cap = r->n;
    }
    for (uint32_t i = 0; i < set->via.map.size; i++)
      nbase += based(p->type, r, &set->via.map.ptr[i].key, b->idx, f) > 0;
  }
  msgpack_pack_map(&pk, 3 + (nbase > 0) + (p->why != NULL) + !p->edit);
  pack_cstr(&pk, "id");
  pack_cstr(&pk, id);
  if (!p->edit) {
    pack_cstr(&pk, "new");
    msgpack_pack_true(&pk);
  }
  pack_cstr(&pk, "set");
  if (b->showed[0] != '\0') {
    msgpack_pack_map(&pk, set->via.map.size + 1);
    for (uint32_t i = 0; i < set->via.map.size; i++) {
      msgpack_pack_object(&pk, set->via.map.ptr[i].key);
      msgpack_pack_object(&pk, set->via.map.ptr[i].val);
    }
    pack_cstr(&pk, "showed");
    pack_cstr(&pk, b->showed);
  } else {
    msgpack_pack_object(&pk, *set);
  }
  if (nbase > 0) {
    pack_cstr(&pk, "base");
    msgpack_pack_map(&pk, nbase);
    for (uint32_t i = 0; i < set->via.map.size; i++) {
      size_t nh = based(p->type, r, &set->via.map.ptr[i].key, b->idx, f);
      if (nh == 0)
        continue;
      msgpack_pack_object(&pk, set->via.map.ptr[i].key);
      msgpack_pack_array(&pk, nh);
      for (size_t h = 0; h < nh; h++) {
        msgpack_pack_array(&pk, 2);
        msgpack_pack_bin(&pk, CAIRN_KEY_BYTES);
        msgpack_pack_bin_body(&pk, r->w[b->idx[h]].author, CAIRN_KEY_BYTES);
        msgpack_pack_uint64(&pk, r->w[b->idx[h]].seq);
      }
    }
  }
  if (p->why != NULL) {
    pack_cstr(&pk, "why");
    pack_cstr(&pk, p->why);
  }
  pack_cstr(&pk, "scope");
  cairn__store_where_pack(&pk, &b->where);
  return 0;
}

/* Validates, builds and applies one put. Returns 0 (applied, or refused
 * with p->result set) or a negative code that fails the whole batch. */
static int write_one(batch *b, cairn_put *p) {
  cairn_store *s = b->s;
  p->result = 0;
  p->message[0] = '\0';
  p->id_out[0] = '\0';
  msgpack_zone_clear(&s->check_zone);
  msgpack_object set;
  size_t off = 0;
  if (p->set == NULL ||
      msgpack_unpack((const char *)p->set, p->set_len, &off, &s->check_zone, &set) !=
          MSGPACK_UNPACK_SUCCESS ||
      set.type != MSGPACK_OBJECT_MAP) {
    refuse(p, CAIRN_EMALFORMED, "set: not one msgpack map");
    return 0;
  }
  const cairn__store_rec *r;
  const char *id = NULL;
  int rc = 0;
  /* A milestone carried forward takes what it leaves out from the old one. */
  if (p->type == CAIRN_REC_MILESTONE && !p->edit &&
      (rc = cairn__store_carry_forward(s, b->ac.txn, &s->check_zone, &set, p->message,
                                       sizeof p->message)) != 0) {
    p->result = rc;
    return rc == CAIRN_ENOMEM || rc == CAIRN_EIO ? rc : 0;
  }
  if (put_check(b, p, &set, &r, &id) != 0)
    return 0;
  if (b->set_revoked_after) {
    msgpack_object after = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    after.via.u64 = b->revoked_after;
    if ((rc = cairn__store_set_put(&s->check_zone, &set, "revoked_after", &after)) != 0)
      return rc;
  }
  if (b->set_number) {
    msgpack_object number = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    number.via.u64 = b->number;
    if ((rc = cairn__store_set_put(&s->check_zone, &set, "number", &number)) != 0)
      return rc;
  }
  rc = pack_body(b, p, id, &set, r);
  if (rc != 0)
    return rc;
  cairn_entry e;
  memset(&e, 0, sizeof e);
  memcpy(e.author, s->pk, CAIRN_KEY_BYTES);
  e.seq = b->seq + 1;
  e.hlc = hlc_next(s, b->ac.max_hlc, b->own_hlc);
  memcpy(e.prev, b->hash, CAIRN_HASH_BYTES);
  e.kind = (uint32_t)p->type;
  e.body = (const uint8_t *)s->body_buf.data;
  e.body_len = s->body_buf.size;
  if ((rc = cairn_entry_seal(&e)) != 0) {
    refuse(p, rc, "set: the entry is %s", cairn_strerror(rc));
    return rc == CAIRN_ETOOBIG ? 0 : rc;
  }
  /* A long batch is signed along the way too, so that a receiver never
   * waits for a signature beyond its bound (batch_finish signs the last). */
  b->unsigned_n++;
  b->unsigned_bytes += e.body_len;
  if (b->unsigned_n >= CAIRN_ENTRY_SIGN_EVERY || b->unsigned_bytes >= CAIRN_ENTRY_SIGN_BYTES / 2) {
    cairn_entry_sign(&e, s->sk);
    b->unsigned_n = b->unsigned_bytes = 0;
  }
  msgpack_sbuffer_clear(&s->entry_buf);
  if ((rc = cairn_entry_encode(&e, &s->entry_buf)) != 0)
    return rc;
  rc = apply_entry(&b->ac, (const uint8_t *)s->entry_buf.data, s->entry_buf.size, &e);
  if (rc < 0)
    return rc;
  b->seq = e.seq;
  b->own_hlc = e.hlc;
  memcpy(b->hash, e.hash, CAIRN_HASH_BYTES);
  msgpack_sbuffer_clear(&s->last_body);
  msgpack_sbuffer_write(&s->last_body, (const char *)e.body, e.body_len);
  b->last = e;
  b->have_last = 1;
  snprintf(p->id_out, sizeof p->id_out, "%s", id);
  return 0;
}

/* Starts a batch of writes: one write transaction, in which held entries
 * that have come due are folded first. Returns 0 or an error; either way
 * the caller ends it with batch_finish. */
static int batch_begin(batch *b, cairn_store *s) {
  memset(b, 0, sizeof *b);
  b->s = s;
  b->own_number = -2;
  b->seq = s->own_seq;
  b->own_hlc = s->own_hlc;
  memcpy(b->hash, s->own_hash, CAIRN_HASH_BYTES);
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  apply_init(&b->ac, s, txn, APPLY_TRUSTED);
  /* Held entries whose date this node's clock has reached are folded now;
   * that commits with the batch. */
  if ((rc = release_due(&b->ac)) != 0)
    return rc;
  b->commit_anyway = b->ac.released > 0;
  return 0;
}

/* Ends a batch begun with result rc: when rc is 0 and something was
 * written, signs the last entry (its signature covers the chain) and
 * commits durably; otherwise aborts. Frees the batch. Returns the outcome. */
static int batch_finish(batch *b, int rc) {
  cairn_store *s = b->s;
  if (b->ac.txn != NULL) {
    if (rc == 0 && b->have_last) {
      b->last.body = (const uint8_t *)s->last_body.data;
      cairn_entry_sign(&b->last, s->sk);
      msgpack_sbuffer_clear(&s->entry_buf);
      rc = cairn_entry_encode(&b->last, &s->entry_buf);
      uint8_t key[CAIRN_KEY_BYTES + 8];
      log_key(key, s->pk, b->last.seq);
      MDB_val k = {sizeof key, key}, v = {s->entry_buf.size, s->entry_buf.data};
      if (rc == 0 && (rc = mdb_put(b->ac.txn, s->log, &k, &v, 0)) != 0)
        rc = cairn__store_err(s, rc, 0);
    }
    if (rc == 0 && (b->have_last || b->commit_anyway)) {
      rc = apply_commit(&b->ac);
    } else {
      apply_free(&b->ac);
      mdb_txn_abort(b->ac.txn);
    }
  }
  cairn__store_rec_free(&b->rec);
  cairn__store_rec_free(&b->ref);
  free(b->idx);
  return rc;
}

/* Sets every put's result to rc: nothing was written. */
static void none_written(cairn_put *puts, size_t n, int rc) {
  for (size_t i = 0; i < n; i++) {
    puts[i].result = rc;
    puts[i].id_out[0] = '\0';
    snprintf(puts[i].message, sizeof puts[i].message, "not written: %s", cairn_strerror(rc));
  }
}

int cairn_store_write_batch(cairn_store *s, cairn_put *puts, size_t n) {
  batch b;
  int rc = batch_begin(&b, s);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = write_one(&b, &puts[i]);
  rc = batch_finish(&b, rc);
  if (rc != 0)
    none_written(puts, n, rc);
  return rc;
}

int cairn_store_write_all(cairn_store *s, cairn_put *puts, size_t n, int check_only,
                          size_t *refused) {
  batch b;
  int rc = batch_begin(&b, s);
  *refused = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if ((rc = write_one(&b, &puts[i])) == 0 && puts[i].result != 0)
      (*refused)++;
  /* One refused, or only checking: the transaction is aborted, nothing of
   * the batch stays. */
  if (rc == 0 && (*refused > 0 || check_only)) {
    b.have_last = 0;
    b.commit_anyway = 0;
  }
  rc = batch_finish(&b, rc);
  if (rc != 0) {
    *refused = 0;
    none_written(puts, n, rc);
  } else if (*refused > 0 || check_only) {
    for (size_t i = 0; i < n; i++)
      puts[i].id_out[0] = '\0';
  }
  return rc;
}

int cairn_store_token_redeem(cairn_store *s, const uint8_t secret[16],
                             const uint8_t device[CAIRN_KEY_BYTES], const char *name,
                             int64_t now_unix, cairn_scope *scope, char role_out[16], char *why,
                             size_t whylen) {
  char role[16], hex[2 * CAIRN_KEY_BYTES + 1], day[11];
  if (why != NULL && whylen > 0)
    why[0] = '\0';
  batch b;
  int rc = batch_begin(&b, s);
  int again = 0, enrolled_rc = 0;
  if (rc == 0)
    rc = cairn__store_token_take(s, b.ac.txn, secret, device, now_unix, role, scope, &again, why,
                                 whylen);
  if (rc == 0) {
    /* Enrolled already (the answer to an earlier join was lost, or a new
     * token for the same device): the answer is the device record's. */
    char enrolled_role[16];
    cairn_scope enrolled;
    msgpack_zone_clear(&s->check_zone);
    enrolled_rc = cairn__store_device_get(s, b.ac.txn, device, &s->check_zone, &b.rec,
                                          &enrolled, enrolled_role);
    if (enrolled_rc == 0) {
      *scope = enrolled;
      memcpy(role, enrolled_role, sizeof role);
      b.commit_anyway = !again; /* the new token is used up all the same */
    } else if (enrolled_rc != CAIRN_ENOTFOUND) {
      rc = enrolled_rc;
      if (rc == CAIRN_EPERM && why != NULL)
        snprintf(why, whylen, "this device has been revoked");
    }
  }
  if (rc == 0 && enrolled_rc == CAIRN_ENOTFOUND) {
    sodium_bin2hex(hex, sizeof hex, device, CAIRN_KEY_BYTES);
    cairn_text_date_format((int32_t)(now_unix / 86400 - (now_unix % 86400 < 0)), day);
    msgpack_sbuffer set;
    msgpack_packer pk;
    msgpack_sbuffer_init(&set);
    msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4 + (scope->classroom[0] != '\0') + (name != NULL));
    pack_cstr(&pk, "key");
    pack_cstr(&pk, hex);
    pack_cstr(&pk, "role");
    pack_cstr(&pk, role);
    pack_cstr(&pk, "campus");
    pack_cstr(&pk, scope->campus);
    if (scope->classroom[0] != '\0') {
      pack_cstr(&pk, "classroom");
      pack_cstr(&pk, scope->classroom);
    }
    if (name != NULL) {
      pack_cstr(&pk, "name");
      pack_cstr(&pk, name);
    }
    pack_cstr(&pk, "enrolled");
    pack_cstr(&pk, day);
    cairn_put p = {.type = CAIRN_REC_DEVICE, .id = hex, .set = (const uint8_t *)set.data,
                   .set_len = set.size};
    rc = write_one(&b, &p);
    if (rc == 0 && p.result != 0) { /* the token stays unused */
      rc = p.result;
      if (why != NULL)
        snprintf(why, whylen, "%s", p.message);
    }
    msgpack_sbuffer_destroy(&set);
  }
  rc = batch_finish(&b, rc);
  if (rc == 0 && role_out != NULL)
    memcpy(role_out, role, sizeof role);
  return rc;
}

/* ---- received entries ---------------------------------------------------- */

/* Decodes buf into s->ents; *n entries. Returns 0 or an error (why says
 * which entry). */
static int decode_all(cairn_store *s, const uint8_t *buf, size_t len, size_t *n, char *why,
                      size_t whylen) {
  size_t off = 0;
  *n = 0;
  while (off < len) {
    if (*n == s->ents_cap) {
      size_t cap = s->ents_cap ? 2 * s->ents_cap : 256;
      cairn__store_decoded *d = realloc(s->ents, cap * sizeof *d);
      if (d == NULL)
        return CAIRN_ENOMEM;
      s->ents = d;
      s->ents_cap = cap;
    }
    size_t used;
    int rc = cairn_entry_decode(buf + off, len - off, &s->ents[*n].e, &used);
    if (rc != 0) {
      if (why != NULL)
        snprintf(why, whylen, "entry %zu (byte %zu): %s", *n + 1, off,
                 rc == CAIRN_EAGAIN ? "truncated" : cairn_strerror(rc));
      return rc == CAIRN_EAGAIN ? CAIRN_EMALFORMED : rc;
    }
    s->ents[*n].bytes = buf + off;
    s->ents[*n].len = used;
    s->ents[*n].staged = 0;
    off += used;
    (*n)++;
  }
  return 0;
}

/* Makes room for n entries in s->run. */
static int run_room(cairn_store *s, size_t n) {
  if (n <= s->run_cap)
    return 0;
  size_t cap = s->run_cap ? s->run_cap : 256;
  while (cap < n)
    cap *= 2;
  cairn__store_decoded *d = realloc(s->run, cap * sizeof *d);
  if (d == NULL)
    return CAIRN_ENOMEM;
  s->run = d;
  s->run_cap = cap;
  return 0;
}

/* Deletes the current author's staged entries from seq `from` to `to`. */
static int stage_delete(apply_ctx *c, uint64_t from, uint64_t to) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(c->txn, c->s->staged, &cur);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  uint8_t key[CAIRN_KEY_BYTES + 8];
  log_key(key, c->cur.author, from);
  MDB_val k = {sizeof key, key}, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key &&
         memcmp(k.mv_data, c->cur.author, CAIRN_KEY_BYTES) == 0 &&
         cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES) <= to &&
         (rc = mdb_cursor_del(cur, 0)) == 0)
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
  mdb_cursor_close(cur);
  /* after deleting the last key, GET_CURRENT finds none */
  return rc == 0 || rc == MDB_NOTFOUND || rc == EINVAL ? 0 : cairn__store_err(c->s, rc, 0);
}

/* Reads the current author's staged entries that continue its chain from
 * the head c->cur into s->run[0..*n) (their bytes copied to s->stage_buf).
 * Staged entries the head has passed, and any that do not continue the
 * chain, are deleted. */
static int stage_read(apply_ctx *c, size_t *n) {
  cairn_store *s = c->s;
  *n = 0;
  msgpack_sbuffer_clear(&s->stage_buf);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(c->txn, s->staged, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  uint8_t key[CAIRN_KEY_BYTES + 8];
  log_key(key, c->cur.author, 0);
  MDB_val k = {sizeof key, key}, v;
  size_t count = 0;
  uint64_t stale_to = 0;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key &&
         memcmp(k.mv_data, c->cur.author, CAIRN_KEY_BYTES) == 0) {
    uint64_t seq = cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES);
    if (seq <= c->cur.seq) {
      stale_to = seq;
    } else {
      if (msgpack_sbuffer_write(&s->stage_buf, v.mv_data, v.mv_size) != 0) {
        rc = CAIRN_ENOMEM;
        break;
      }
      count++;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc < 0 ? rc : cairn__store_err(s, rc, 0);
  if ((rc = run_room(s, count)) != 0)
    return rc;
  /* Decoded from the copy: pointers into LMDB's pages would not survive
   * this transaction's writes. */
  const uint8_t *p = (const uint8_t *)s->stage_buf.data;
  size_t off = 0, len = s->stage_buf.size;
  cairn_entry prev;
  memcpy(prev.author, c->cur.author, CAIRN_KEY_BYTES);
  prev.seq = c->cur.seq;
  memcpy(prev.hash, c->cur.hash, CAIRN_HASH_BYTES);
  while (off < len) {
    cairn__store_decoded *d = &s->run[*n];
    size_t used;
    if (cairn_entry_decode(p + off, len - off, &d->e, &used) != 0 ||
        cairn_entry_follows(&d->e, c->cur.seq == 0 && *n == 0 ? NULL : &prev) != 0)
      break;
    d->bytes = p + off;
    d->len = used;
    d->staged = 1;
    prev = d->e;
    off += used;
    (*n)++;
  }
  rc = 0;
  /* the head passed them, or they do not chain: gone */
  if (*n < count)
    rc = stage_delete(c, c->cur.seq + 1 + *n, UINT64_MAX);
  if (rc == 0 && stale_to > 0)
    rc = stage_delete(c, 0, stale_to);
  return rc;
}

/* APPLY_SYNCED: may the author of the run d[0..n) (past the head c->cur)
 * write at all? Sets c's author fields and returns 1 when so (or when
 * every new entry of the run is redacted); returns 0 after refusing the
 * run's new entries (not enrolled, or revoked with no revoked_after); or
 * an error. A device revoked after seq N may still have written 1..N:
 * those apply, later ones are quarantined by fold. */
static int authorize_run(apply_ctx *c, const cairn__store_decoded *d, size_t n,
                         cairn__store_rec *r) {
  cairn_store *s = c->s;
  const cairn_entry *e = &d[0].e;
  c->revoked_after = UINT64_MAX;
  c->author_is_central = s->have_central && memcmp(e->author, s->central, CAIRN_KEY_BYTES) == 0;
  c->author_number = c->author_is_central ? 0 : -1;
  if (c->author_is_central)
    return 1;
  msgpack_zone_clear(&s->check_zone);
  int rc = cairn__store_device_get(s, c->txn, e->author, &s->check_zone, r, &c->author_scope,
                                   NULL);
  const msgpack_object *number = rc == 0 || rc == CAIRN_EPERM
                                     ? cairn__store_rec_value(r, "number", NULL)
                                     : NULL;
  if (number != NULL && number->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      number->via.u64 <= INT64_MAX)
    c->author_number = (int64_t)number->via.u64;
  if (rc == 0)
    return 1;
  if (rc == CAIRN_EPERM) {
    const msgpack_object *after = cairn__store_rec_value(r, "revoked_after", NULL);
    if (after != NULL && after->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
      c->revoked_after = after->via.u64;
      return 1;
    }
  }
  if (rc != CAIRN_ENOTFOUND && rc != CAIRN_EPERM)
    return rc;
  /* Redacted entries carry no record, only a verified link of the author's
   * chain: they need no authorization. A node outside an author's campus
   * cannot even see that author's device record. */
  size_t m = 0;
  while (m < n && d[m].e.redacted)
    m++;
  if (m == n)
    return 1;
  note_refusal(c, &d[0].e, (uint64_t)n,
               rc == CAIRN_EPERM ? "the author's device is revoked"
                                 : "the author is not an enrolled device");
  return 0;
}

/* The central re-dates, in its own log, each run it held in this
 * transaction: one restamp record per run, at its current HLC. The folds
 * release the held entries in order. */
static int write_restamps(batch *b) {
  apply_ctx *c = &b->ac;
  int rc = 0;
  c->author_is_central = 1;
  c->revoked_after = UINT64_MAX;
  for (size_t i = 0; rc == 0 && i < c->nstamps; i++) {
    const stamp_run *run = &c->stamps[i];
    char hex[2 * CAIRN_KEY_BYTES + 1];
    msgpack_sbuffer set;
    msgpack_packer pk;
    sodium_bin2hex(hex, sizeof hex, run->author, CAIRN_KEY_BYTES);
    msgpack_sbuffer_init(&set);
    msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_cstr(&pk, "author");
    pack_cstr(&pk, hex);
    pack_cstr(&pk, "from");
    msgpack_pack_uint64(&pk, run->from);
    pack_cstr(&pk, "to");
    msgpack_pack_uint64(&pk, run->to);
    /* The run is ordered at H; the restamp entry itself comes after it. */
    uint64_t h = hlc_next(b->s, c->max_hlc, b->own_hlc);
    pack_cstr(&pk, "hlc");
    msgpack_pack_uint64(&pk, h);
    if (h > c->max_hlc)
      c->max_hlc = h;
    cairn_put p = {.type = CAIRN_REC_RESTAMP, .set = (const uint8_t *)set.data,
                   .set_len = set.size, .system = 1,
                   .why = "dated beyond the central's clock, or before the entry it follows: "
                          "ordered at its arrival"};
    rc = write_one(b, &p);
    if (rc == 0 && p.result != 0) {
      rc = p.result;
      if (c->why != NULL)
        snprintf(c->why, c->whylen, "re-dating: %s", p.message);
    }
    msgpack_sbuffer_destroy(&set);
  }
  c->nstamps = 0;
  return rc;
}

/* What one author's run of a received buffer came to. */
typedef struct run_result {
  size_t applied;  /* entries apply_entry stored */
  size_t staged;   /* entries of the buffer staged, awaiting a signature */
  size_t unstaged; /* entries staged before, applied now */
} run_result;

/* Applies one author's run in[0..n) of a received buffer: with the
 * entries staged before it, the run continues the author's chain; every
 * signature in it must verify; what the last signed entry covers is
 * applied, and what follows it is staged until a signature covers it
 * (FORMAT.md section 1, "Signature"). */
static int apply_run(apply_ctx *c, const cairn__store_decoded *in, size_t n,
                     cairn__store_rec *device, run_result *out) {
  cairn_store *s = c->s;
  memset(out, 0, sizeof *out);
  int rc = head_load(c, in[0].e.author);
  if (rc != 0 || in[n - 1].e.seq <= c->cur.seq)
    return rc;
  size_t ns;
  if ((rc = stage_read(c, &ns)) != 0)
    return rc;
  /* Skip what is held or staged already; a received entry that differs
   * from the staged one at its seq replaces the staged ones from there. */
  uint64_t top = c->cur.seq + ns;
  size_t k = 0;
  for (; k < n && in[k].e.seq <= top; k++) {
    if (in[k].e.seq <= c->cur.seq)
      continue;
    size_t at = (size_t)(in[k].e.seq - c->cur.seq - 1);
    if (memcmp(s->run[at].e.hash, in[k].e.hash, CAIRN_HASH_BYTES) != 0) {
      ns = at;
      if ((rc = stage_delete(c, in[k].e.seq, UINT64_MAX)) != 0)
        return rc;
      break;
    }
  }
  if ((rc = run_room(s, ns + (n - k))) != 0)
    return rc;
  memcpy(s->run + ns, in + k, (n - k) * sizeof *in);
  const cairn__store_decoded *d = s->run;
  size_t m = ns + (n - k);
  if (m == ns)
    return 0; /* nothing new */
  /* Consecutive seqs: then the signed entry's hash covers, through the
   * prev links apply_entry checks, every entry before it. Without this, an
   * unsigned entry placed before a genuine signed one at the same seq
   * would be stored, and the genuine one skipped as held. */
  if (d[0].e.seq != c->cur.seq + 1)
    return set_why(c, &d[0].e, CAIRN_EGAP, "seq does not follow the last entry held");
  cairn_entry held;
  memcpy(held.author, c->cur.author, CAIRN_KEY_BYTES);
  held.seq = c->cur.seq;
  memcpy(held.hash, c->cur.hash, CAIRN_HASH_BYTES);
  size_t signed_to = 0; /* d[0..signed_to) is covered by a signature */
  for (size_t i = 0; i < m; i++) {
    if (i > 0 && d[i].e.seq != d[i - 1].e.seq + 1)
      return set_why(c, &d[i].e, CAIRN_EGAP, "seqs within the run are not consecutive");
    const cairn_entry *prev = i > 0 ? &d[i - 1].e : c->cur.seq > 0 ? &held : NULL;
    if (cairn_entry_follows(&d[i].e, prev) != 0) {
      if (i == 0 || !d[i - 1].staged || d[i].staged)
        return set_why(c, &d[i].e, CAIRN_EBADCHAIN,
                       "prev does not match the hash of the entry before it");
      /* What waited for a signature is not what this run continues: one
       * of them is forged. The waiting entries go; the run is refused
       * softly, and sent again on the next connection. */
      note_refusal(c, &d[i].e, (uint64_t)(m - ns),
                   "does not continue the entries waiting for a signature, which were "
                   "dropped: they will be sent again");
      return stage_delete(c, 0, UINT64_MAX);
    }
    if (d[i].e.has_sig) {
      if (cairn_entry_verify_sig(&d[i].e) != 0)
        return set_why(c, &d[i].e, CAIRN_EBADSIG, "signature does not verify");
      signed_to = i + 1;
    }
  }
  /* The rest waits for a signature, within a bound: an honest writer signs
   * more often than that. */
  size_t wait_bytes = 0;
  for (size_t i = signed_to; i < m; i++)
    wait_bytes += d[i].len;
  if (m - signed_to > CAIRN_ENTRY_UNSIGNED_MAX || wait_bytes > CAIRN_ENTRY_UNSIGNED_BYTES)
    return set_why(c, &d[m - 1].e, CAIRN_EBADSIG,
                   "more entries without a signature than a receiver keeps waiting for one");
  if (c->mode == APPLY_SYNCED) {
    int a = authorize_run(c, d, m, device);
    if (a <= 0)
      return a; /* refused, or an error */
  }
  for (size_t i = 0; i < signed_to; i++) {
    int a = apply_entry(c, d[i].bytes, d[i].len, &d[i].e);
    if (a < 0)
      return a;
    out->applied += (size_t)a;
    out->unstaged += d[i].staged ? 1 : 0;
  }
  /* What is held now must be exactly the signed entry (unless refused). */
  if (signed_to > 0 && c->have_head && c->cur.seq == d[signed_to - 1].e.seq &&
      memcmp(c->cur.hash, d[signed_to - 1].e.hash, CAIRN_HASH_BYTES) != 0)
    return set_why(c, &d[signed_to - 1].e, CAIRN_EBADCHAIN,
                   "the entry held differs from the signed one");
  if (out->unstaged > 0 && (rc = stage_delete(c, 0, d[signed_to - 1].e.seq)) != 0)
    return rc;
  /* The rest waits, chained from the head as checked above. */
  for (size_t i = signed_to; i < m; i++) {
    if (d[i].staged)
      continue;
    uint8_t key[CAIRN_KEY_BYTES + 8];
    log_key(key, d[i].e.author, d[i].e.seq);
    MDB_val kv = {sizeof key, key}, vv = {d[i].len, (void *)d[i].bytes};
    if ((rc = mdb_put(c->txn, s->staged, &kv, &vv, 0)) != 0)
      return cairn__store_err(s, rc, 0);
    out->staged++;
  }
  return 0;
}

/* The one received-entries path: buf holds entries in author/seq order;
 * each author's run is checked (signatures, chain) and applied in one
 * transaction according to mode (apply_run). Sets *res: the new entries
 * stored (minus the quarantined and the held), refused, quarantined, held,
 * re-dated by this central, and staged. */
static int apply_buffer(cairn_store *s, const uint8_t *buf, size_t len, apply_mode mode,
                        cairn_apply_result *res) {
  memset(res, 0, sizeof *res);
  size_t n;
  int rc = decode_all(s, buf, len, &n, res->reason, sizeof res->reason);
  res->entries = n;
  if (rc != 0 || n == 0)
    return rc;
  batch b;
  if ((rc = batch_begin(&b, s)) != 0)
    return batch_finish(&b, rc);
  apply_ctx *c = &b.ac;
  c->mode = mode;
  c->why = res->reason;
  c->whylen = sizeof res->reason;
  b.commit_anyway = 1;
  uint64_t released_due = c->released;
  cairn__store_rec device = {0};
  size_t count = 0, staged = 0, unstaged = 0;
  for (size_t i = 0; i < n && rc == 0;) {
    size_t j = i + 1;
    while (j < n && memcmp(s->ents[j].e.author, s->ents[i].e.author, CAIRN_KEY_BYTES) == 0)
      j++;
    run_result r;
    rc = apply_run(c, s->ents + i, j - i, &device, &r);
    count += r.applied;
    staged += r.staged;
    unstaged += r.unstaged;
    i = j;
  }
  cairn__store_rec_free(&device);
  uint64_t held = c->held, redated = 0;
  if (rc == 0 && c->nstamps > 0) {
    uint64_t before = c->released;
    rc = write_restamps(&b);
    redated = c->released - before;
  }
  if (rc == 0) {
    res->entries = n;
    res->applied = count - (size_t)c->quarantined - (size_t)(held - redated);
    res->refused = (size_t)c->refused;
    res->quarantined = (size_t)c->quarantined;
    res->held = (size_t)(held - redated);
    res->redated = (size_t)redated;
    res->released = (size_t)released_due;
    res->ahead_ms = c->ahead_ms;
    res->staged = staged;
    res->unstaged = unstaged;
  }
  rc = batch_finish(&b, rc);
  if (rc != 0) {
    size_t keep = sizeof res->reason;
    char why[sizeof res->reason];
    memcpy(why, res->reason, keep);
    memset(res, 0, sizeof *res);
    memcpy(res->reason, why, keep);
    res->entries = n;
  }
  return rc;
}

int cairn_store_apply_entries(cairn_store *s, const uint8_t *buf, size_t len, size_t *applied,
                              char *why, size_t whylen) {
  cairn_apply_result res;
  int rc = apply_buffer(s, buf, len, APPLY_TRUSTED, &res);
  *applied = res.applied;
  if (why != NULL && whylen > 0)
    snprintf(why, whylen, "%s", res.reason);
  return rc;
}

int cairn_store_apply_synced(cairn_store *s, const uint8_t *buf, size_t len,
                             cairn_apply_result *res) {
  return apply_buffer(s, buf, len, APPLY_SYNCED, res);
}

/* ---- repairing dates left by an older cairn ------------------------------- */

/* A run to re-date, and its rank: runs that start beyond the bound come
 * first (what a wrapped clock wrote came after such an entry was folded),
 * the central's own run last (it grows to cover the restamps written
 * before it, so that its chain stays in order). */
typedef struct repair_run {
  stamp_run run;
  int rank; /* 0 beyond, 1 wrapped, 2 the central's own */
} repair_run;

static int repair_run_cmp(const void *a, const void *b) {
  const repair_run *x = a, *y = b;
  return x->rank - y->rank;
}

/* Returns 1 when some author's head is dated beyond the bound and nothing
 * orders it otherwise (a clock that went back), 0 when none, or an error. */
static int head_beyond(cairn_store *s, MDB_txn *txn) {
  MDB_cursor *cur;
  MDB_val k, v;
  uint64_t ceiling = hlc_ceiling(s), eff;
  int rc = mdb_cursor_open(txn, s->heads, &cur), found = 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  while (!found && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    head h;
    if (k.mv_size != CAIRN_KEY_BYTES || cairn__store_head_parse(&v, &h) != 0)
      continue;
    found = h.hlc > ceiling && stamp_lookup(s, txn, s->restamps, k.mv_data, h.seq, &eff) == 0;
  }
  mdb_cursor_close(cur);
  return rc != 0 && rc != MDB_NOTFOUND ? cairn__store_err(s, rc, 0) : found;
}

/* Walks every chain and lists the runs to re-date: from the first entry
 * dated beyond the bound or not after the entry before it (as ordered) to
 * the end of the chain, or to the next entry a restamp already orders. */
static int repair_scan(batch *b, repair_run **out, size_t *n) {
  cairn_store *s = b->s;
  MDB_txn *txn = b->ac.txn;
  MDB_cursor *cur;
  MDB_val k, v;
  size_t cap = 0;
  uint64_t prev_eff = 0;
  repair_run *runs = NULL, *open = NULL;
  uint8_t author[CAIRN_KEY_BYTES] = {0};
  int rc = mdb_cursor_open(txn, s->log, &cur);
  *out = NULL;
  *n = 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    size_t used;
    uint64_t eff;
    if (cairn_entry_decode(v.mv_data, v.mv_size, &e, &used) != 0)
      continue; /* cairn check reports it */
    int first = memcmp(e.author, author, CAIRN_KEY_BYTES) != 0 || e.seq == 1;
    if (first) {
      memcpy(author, e.author, CAIRN_KEY_BYTES);
      open = NULL;
      prev_eff = 0;
    }
    int covered = stamp_lookup(s, txn, s->restamps, e.author, e.seq, &eff);
    if (covered < 0) {
      rc = covered;
      break;
    }
    if (covered) {
      open = NULL;
      prev_eff = eff;
      continue;
    }
    if (open != NULL) {
      open->run.to = e.seq;
      continue;
    }
    int beyond = e.hlc > b->ac.ceiling;
    if (!beyond && (first || e.hlc > prev_eff)) {
      prev_eff = e.hlc;
      continue;
    }
    if ((rc = cairn__store_grow((void **)&runs, &cap, *n + 1, sizeof *runs, 16)) != 0)
      break;
    open = &runs[(*n)++];
    memcpy(open->run.author, e.author, CAIRN_KEY_BYTES);
    open->run.from = open->run.to = e.seq;
    open->rank = memcmp(e.author, s->pk, CAIRN_KEY_BYTES) == 0 ? 2 : beyond ? 0 : 1;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND && rc != 0) {
    free(runs);
    *n = 0;
    return rc < 0 ? rc : cairn__store_err(s, rc, 0);
  }
  *out = runs;
  return 0;
}

int cairn_store_clock_repair(cairn_store *s, size_t *redated) {
  *redated = 0;
  int central = s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0;
  batch b;
  int rc = batch_begin(&b, s);
  int needed = rc == 0 ? s->time_unchecked : 0;
  if (rc == 0 && !needed && central && (rc = head_beyond(s, b.ac.txn)) > 0)
    needed = 1, rc = 0;
  if (rc != 0 || !needed)
    return batch_finish(&b, rc);
  b.commit_anyway = 1;
  repair_run *runs = NULL;
  size_t n = 0;
  if (central && (rc = repair_scan(&b, &runs, &n)) == 0 && n > 0) {
    qsort(runs, n, sizeof *runs, repair_run_cmp);
    int own = runs[n - 1].rank == 2;
    for (size_t i = 0; rc == 0 && i < n - (size_t)own; i++) {
      rc = stamp_push(&b.ac, &runs[i].run);
      *redated += (size_t)(runs[i].run.to - runs[i].run.from + 1);
    }
    if (rc == 0)
      rc = write_restamps(&b);
    if (rc == 0 && own) {
      runs[n - 1].run.to = b.seq; /* through the restamps just written */
      *redated += (size_t)(runs[n - 1].run.to - runs[n - 1].run.from + 1);
      if ((rc = stamp_push(&b.ac, &runs[n - 1].run)) == 0)
        rc = write_restamps(&b);
    }
  }
  free(runs);
  MDB_val tk = {4, "time"}, one = {1, "\1"};
  if (rc == 0 && (rc = mdb_put(b.ac.txn, s->meta, &tk, &one, 0)) != 0)
    rc = cairn__store_err(s, rc, 0);
  rc = batch_finish(&b, rc);
  if (rc == 0)
    s->time_unchecked = 0;
  return rc;
}

/* ---- reading the log ------------------------------------------------------ */

/* Returns 1 when entry e must leave this node redacted: quarantined here,
 * or its body outside scope (or unreadable). 0 when not, or an error. */
static int must_redact(cairn_store *s, MDB_txn *txn, msgpack_zone *z, const cairn_entry *e,
                       const cairn_scope *scope) {
  int rc = is_quarantined(s, txn, e);
  if (rc != 0 || scope == NULL)
    return rc;
  msgpack_object root;
  size_t off = 0;
  msgpack_zone_clear(z);
  if (msgpack_unpack((const char *)e->body, e->body_len, &off, z, &root) != MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_MAP)
    return 1;
  return !cairn__store_in_scope(scope, (int)e->kind, cairn_record_map_get(&root, "scope"));
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
  log_key(key, author, from - 1);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
  while (rc == 0 && memcmp(k.mv_data, author, CAIRN_KEY_BYTES) == 0) {
    cairn_entry e;
    size_t used;
    if (cairn_entry_decode(v.mv_data, v.mv_size, &e, &used) != 0)
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
 * max_bytes (0: no limit) of output (at least one entry). A batch may end
 * unsigned while a receiver can keep what follows the last signed entry
 * waiting for a signature; otherwise it extends to the next signed entry.
 * When redact, entries that must not leave in full go redacted. */
static int read_run(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                    size_t max, size_t max_bytes, int redact, const cairn_scope *scope,
                    msgpack_sbuffer *out, size_t *count, uint64_t *last) {
  *count = 0;
  *last = 0;
  MDB_txn *txn;
  MDB_cursor *cur;
  msgpack_zone zone;
  if (!msgpack_zone_init(&zone, 4096))
    return CAIRN_ENOMEM;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0) {
    msgpack_zone_destroy(&zone);
    return cairn__store_err(s, rc, 0);
  }
  if ((rc = mdb_cursor_open(txn, s->log, &cur)) != 0) {
    mdb_txn_abort(txn);
    msgpack_zone_destroy(&zone);
    return cairn__store_err(s, rc, 0);
  }
  uint8_t key[CAIRN_KEY_BYTES + 8];
  log_key(key, author, from);
  MDB_val k = {sizeof key, key}, v;
  size_t start = out->size;
  int last_signed = 0, before_known = 0;
  size_t wait = 0, wait_bytes = 0; /* unsigned entries since the last signed one */
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key && memcmp(k.mv_data, author, CAIRN_KEY_BYTES) == 0) {
    int full = *count >= max || (max_bytes > 0 && out->size - start >= max_bytes);
    if (full && *count > 0 && !last_signed && !before_known) {
      /* nothing signed in this batch: the wait began before it */
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
    if (full && *count > 0 &&
        (last_signed ||
         (wait <= CAIRN_ENTRY_UNSIGNED_MAX && wait_bytes <= CAIRN_ENTRY_UNSIGNED_BYTES)))
      break;
    cairn_entry e;
    size_t used;
    if (cairn_entry_decode(v.mv_data, v.mv_size, &e, &used) != 0) {
      rc = CAIRN_ECORRUPT;
      break;
    }
    int r = redact && !e.redacted ? must_redact(s, txn, &zone, &e, scope) : 0;
    if (r < 0) {
      rc = r;
      break;
    }
    if (r ? cairn_entry_redact(&e, out) != 0 : msgpack_sbuffer_write(out, v.mv_data, v.mv_size) != 0) {
      rc = CAIRN_ENOMEM;
      break;
    }
    last_signed = e.has_sig;
    if (e.has_sig) {
      wait = wait_bytes = 0;
      before_known = 1;
    } else {
      wait++;
      wait_bytes += v.mv_size;
    }
    *last = e.seq;
    (*count)++;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  msgpack_zone_destroy(&zone);
  if (rc == 0 || rc == MDB_NOTFOUND)
    return 0;
  return rc < 0 && rc >= -CAIRN__P_COUNT ? rc : cairn__store_err(s, rc, 0);
}

int cairn_store_read_log(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                         size_t max, msgpack_sbuffer *out, size_t *count) {
  uint64_t last;
  return read_run(s, author, from, max, 0, 0, NULL, out, count, &last);
}

int cairn_store_read_scoped(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                            size_t max, size_t max_bytes, const cairn_scope *scope,
                            msgpack_sbuffer *out, size_t *count, uint64_t *last) {
  return read_run(s, author, from, max, max_bytes, 1, scope, out, count, last);
}

/* ---- the self-check ---------------------------------------------------------- */

typedef struct checker {
  cairn_store *s;
  MDB_txn *txn;
  void (*report)(const char *line, void *arg);
  void *arg;
  int problems;
} checker;

static void problem(checker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *k, const char *fmt, ...) {
  char line[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  k->problems++;
  if (k->report != NULL)
    k->report(line, k->arg);
}

/* One author's chain as the check walks it. */
typedef struct chain {
  int active;
  cairn_entry last;
  uint64_t covered;  /* highest seq covered by a verified signature */
  uint64_t last_eff; /* effective HLC of the last entry (0: held, or none) */
} chain;

/* Reports an entry whose date nothing corrects: one beyond this node's
 * clock bound, or one not after the entry before it (a clock that went
 * back, or wrapped in an older cairn). Held entries and those a restamp
 * orders are fine. Sets ch->last_eff. */
static void check_time(checker *k, chain *ch, const cairn_entry *e, int first) {
  cairn_store *s = k->s;
  uint64_t eff;
  char tag[9];
  author_tag(e->author, tag);
  int covered = stamp_lookup(s, k->txn, s->restamps, e->author, e->seq, &eff);
  int held = has_entry_key(s, k->txn, s->held, e->author, e->seq);
  if (covered < 0 || held < 0) {
    problem(k, "Author %s: the order of entry %llu could not be read.", tag,
            (unsigned long long)e->seq);
    return;
  }
  uint64_t prev_eff = ch->last_eff;
  ch->last_eff = covered ? eff : held ? 0 : e->hlc;
  if (covered || held || e->redacted)
    return;
  if (e->hlc > hlc_ceiling(s)) {
    char day[11];
    cairn_text_date_format((int32_t)((e->hlc >> 16) / 86400000), day);
    problem(k, "Author %s: entry %llu is dated %s, beyond this node's clock and its tolerance "
               "of %lld s, and nothing orders it otherwise: edits made after it lose to it "
               "until the central re-dates it (cairnd on the central does when it starts).",
            tag, (unsigned long long)e->seq, day, (long long)(s->clock_tolerance_ms / 1000));
  } else if (!first && prev_eff != 0 && e->hlc <= prev_eff) {
    problem(k, "Author %s: entry %llu is dated before the entry it follows (a clock that went "
               "back, or an older cairn's clock that wrapped); the central re-dates such runs "
               "when it starts.",
            tag, (unsigned long long)e->seq);
  }
}

static void chain_finish(checker *k, chain *ch) {
  if (!ch->active)
    return;
  char tag[9];
  author_tag(ch->last.author, tag);
  if (ch->covered < ch->last.seq)
    problem(k, "Author %s: entries %llu to %llu are not covered by a verified signature.", tag,
            (unsigned long long)ch->covered + 1, (unsigned long long)ch->last.seq);
  head h;
  if (head_get(k->txn, k->s->heads, k->s, ch->last.author, &h) != 0 ||
      h.seq != ch->last.seq || memcmp(h.hash, ch->last.hash, CAIRN_HASH_BYTES) != 0)
    problem(k, "Author %s: the recorded head is not the last entry of the log (seq %llu).", tag,
            (unsigned long long)ch->last.seq);
  ch->active = 0;
}

/* Walks every author's chain: links from seq 1, signatures verify, every
 * entry is covered, heads match. Returns the number of authors seen. */
static size_t check_chains(checker *k, MDB_cursor *cur) {
  chain ch = {0};
  size_t authors = 0;
  MDB_val key, v;
  int rc;
  while ((rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    size_t used;
    char tag[9];
    author_tag(key.mv_data, tag);
    if (key.mv_size != CAIRN_KEY_BYTES + 8 ||
        cairn_entry_decode(v.mv_data, v.mv_size, &e, &used) != 0 || used != v.mv_size ||
        memcmp(e.author, key.mv_data, CAIRN_KEY_BYTES) != 0) {
      problem(k, "Author %s: a stored log entry does not decode.", tag);
      continue;
    }
    if (!ch.active || memcmp(ch.last.author, e.author, CAIRN_KEY_BYTES) != 0) {
      chain_finish(k, &ch);
      authors++;
      ch.active = 1;
      ch.covered = 0;
      ch.last_eff = 0;
      if (cairn_entry_follows(&e, NULL) != 0)
        problem(k, "Author %s: the log does not start at seq 1 with an empty prev.", tag);
      check_time(k, &ch, &e, 1);
    } else {
      if (cairn_entry_follows(&e, &ch.last) != 0)
        problem(k, "Author %s: entry %llu does not follow entry %llu.", tag,
                (unsigned long long)e.seq, (unsigned long long)ch.last.seq);
      check_time(k, &ch, &e, 0);
    }
    if (e.has_sig) {
      if (cairn_entry_verify_sig(&e) == 0)
        ch.covered = e.seq;
      else
        problem(k, "Author %s: the signature on entry %llu does not verify.", tag,
                (unsigned long long)e.seq);
    }
    ch.last = e;
  }
  chain_finish(k, &ch);
  if (rc != MDB_NOTFOUND)
    problem(k, "The log could not be read to the end (%s).", mdb_strerror(rc));
  return authors;
}

/* Compares two databases key by key; name says what they hold, and
 * record_keys whether their keys are records' (type || id) or an author and
 * a seq. */
static void compare_dbs(checker *k, MDB_dbi a, MDB_dbi b, const char *name, int record_keys) {
  MDB_cursor *ca, *cb;
  if (mdb_cursor_open(k->txn, a, &ca) != 0 || mdb_cursor_open(k->txn, b, &cb) != 0) {
    problem(k, "The %s could not be read.", name);
    return;
  }
  MDB_val ka, va, kb, vb;
  int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
  int shown = 0;
  while ((ra == 0 || rb == 0) && shown < 10) {
    int c = ra != 0 ? 1 : rb != 0 ? -1 : 0;
    if (c == 0) {
      size_t m = ka.mv_size < kb.mv_size ? ka.mv_size : kb.mv_size;
      c = memcmp(ka.mv_data, kb.mv_data, m);
      if (c == 0 && ka.mv_size != kb.mv_size)
        c = ka.mv_size < kb.mv_size ? -1 : 1;
    }
    const MDB_val *kk = c <= 0 ? &ka : &kb;
    const uint8_t *kd = kk->mv_data;
    const char *tname = cairn_record_type_name(kd[0]);
    int idlen = (int)strnlen((const char *)kd + 1, kk->mv_size - 1);
    const char *verdict = c < 0 ? "is missing from" : c > 0 ? "is not produced by" : "differs from";
    if (c != 0 || va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0) {
      if (!record_keys) { /* author || seq */
        char tag[9];
        author_tag(kd, tag);
        problem(k, "The %s for author %s seq %llu %s a rebuild from the log.", name, tag,
                kk->mv_size == CAIRN_KEY_BYTES + 8
                    ? (unsigned long long)cairn__store_get_be64(kd + CAIRN_KEY_BYTES)
                    : 0ULL,
                verdict);
      } else {
        problem(k, "The %s of %s %.*s %s a rebuild from the log.", name,
                tname != NULL ? tname : "record", idlen, (const char *)kd + 1, verdict);
      }
      shown++;
    }
    if (c <= 0)
      ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
    if (c >= 0)
      rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
  }
  mdb_cursor_close(ca);
  mdb_cursor_close(cb);
}

/* Rebuilds records and children from the log into scratch databases of
 * this (to be aborted) transaction and compares them with the stored ones. */
static int check_rebuild(checker *k, MDB_cursor *cur) {
  static const char *const names[] = {"check.heads", "check.records", "check.children",
                                      "check.restamps"};
  MDB_dbi dbi[CHECK_DBS];
  _Static_assert(sizeof names / sizeof names[0] == CHECK_DBS, "one name per scratch database");
  for (int i = 0; i < CHECK_DBS; i++) {
    int rc = mdb_dbi_open(k->txn, names[i], MDB_CREATE, &dbi[i]);
    if (rc == 0)
      rc = mdb_drop(k->txn, dbi[i], 0);
    if (rc != 0)
      return cairn__store_err(k->s, rc, 0);
  }
  apply_ctx c;
  char why[200] = "";
  apply_init(&c, k->s, k->txn, APPLY_REPLAY);
  c.heads = dbi[0];
  c.records = dbi[1];
  c.children = dbi[2];
  c.restamps = dbi[3];
  c.write_log = 0;
  c.why = why;
  c.whylen = sizeof why;
  MDB_val key, v;
  int rc;
  while ((rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    size_t used;
    if (cairn_entry_decode(v.mv_data, v.mv_size, &e, &used) != 0)
      continue; /* reported by check_chains */
    int a = apply_entry(&c, v.mv_data, v.mv_size, &e);
    if (a == CAIRN_EMAPFULL || a == CAIRN_ENOSPC || a == CAIRN_ENOMEM) {
      apply_free(&c);
      return a; /* room to rebuild in, not a problem of the data */
    }
    if (a < 0 && a != CAIRN_EGAP && a != CAIRN_EBADCHAIN) {
      problem(k, "The log cannot be replayed: %s (%s).", why[0] ? why : "error",
              cairn_strerror(a));
      apply_free(&c);
      return 0;
    }
  }
  apply_free(&c);
  if (rc != MDB_NOTFOUND)
    return cairn__store_err(k->s, rc, 0);
  if ((rc = head_flush(&c)) != 0)
    return rc;
  compare_dbs(k, k->s->records, dbi[1], "state", 1);
  compare_dbs(k, k->s->children, dbi[2], "child index entry", 1);
  compare_dbs(k, k->s->restamps, dbi[3], "restamp index entry", 0);
  return 0;
}

int cairn_store_check(cairn_store *s, void (*report)(const char *line, void *arg), void *arg) {
  checker k = {.s = s, .report = report, .arg = arg};
  int rc = mdb_txn_begin(s->env, NULL, 0, &k.txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(k.txn, s->log, &cur)) != 0) {
    mdb_txn_abort(k.txn);
    return cairn__store_err(s, rc, 0);
  }
  size_t authors = check_chains(&k, cur);
  MDB_stat st;
  if (mdb_stat(k.txn, s->heads, &st) == 0 && st.ms_entries != authors)
    problem(&k, "The heads table names %zu authors but the log holds %zu.",
            (size_t)st.ms_entries, authors);
  mdb_cursor_close(cur);
  if ((rc = mdb_cursor_open(k.txn, s->log, &cur)) == 0) {
    rc = check_rebuild(&k, cur);
    mdb_cursor_close(cur);
  } else {
    rc = cairn__store_err(s, rc, 0);
  }
  mdb_txn_abort(k.txn); /* the rebuild is scratch: nothing changes */
  if (rc != 0)
    return rc;
  return k.problems > 0 ? CAIRN_ECORRUPT : 0;
}
