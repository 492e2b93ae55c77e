/*
 * store_apply.c: the one apply path (cairn__store_apply_entry): an entry's body
 * decoded, authorized or quarantined, held or re-dated, folded into its
 * record's state; restamps and held entries (FORMAT.md section 1, "Time").
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
#include "keystore.h"
#include "record.h"
#include "store.h"
#include "store_int.h"
#include "mpcheck.h"
#include "text.h"

/* ---- the apply path ------------------------------------------------------ */

typedef cairn__store_head head;

/* Writes "author TAG seq N: what" into c->why (when given); returns rc. */
int cairn__store_set_why(cairn__store_apply *c, const cairn_entry *e, int rc, const char *what) {
  if (c->why != NULL && c->whylen > 0) {
    char tag[9];
    cairn__store_author_tag(e->author, tag);
    snprintf(c->why, c->whylen, "author %s seq %llu: %s", tag, (unsigned long long)e->seq, what);
  }
  return rc;
}

/* Records a refusal of entry e: counted, and its reason kept when it is the
 * first of the transaction. */
void cairn__store_note_refusal(cairn__store_apply *c, const cairn_entry *e, uint64_t n, const char *what) {
  if (c->refused == 0)
    (void)cairn__store_set_why(c, e, 0, what);
  c->refused += n;
}

int cairn__store_head_flush(cairn__store_apply *c) {
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

int cairn__store_head_get(MDB_txn *txn, MDB_dbi dbi, const cairn_store *s, const uint8_t *author,
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

static int author_time_load(cairn__store_apply *c);

int cairn__store_head_load(cairn__store_apply *c, const uint8_t *author) {
  if (c->have_head && memcmp(c->cur.author, author, CAIRN_KEY_BYTES) == 0)
    return 0;
  int rc = cairn__store_head_flush(c);
  if (rc == 0)
    rc = cairn__store_head_get(c->txn, c->heads, c->s, author, &c->cur);
  c->have_head = rc == 0;
  if (rc == 0)
    rc = author_time_load(c);
  return rc;
}

/* The decoded body of an entry (its objects in the apply zone). */
typedef cairn_body body;

/* Decodes entry e's body into b, once (protocol/body.h); a malformed body
 * is refused with c->why naming the field. */
static int body_parse(cairn__store_apply *c, const cairn_entry *e, body *b) {
  const char *why = NULL;
  int rc = cairn_body_decode((int)e->kind, e->body, e->body_len, &c->s->apply_zone, b, &why);
  return rc != 0 ? cairn__store_set_why(c, e, rc, why) : 0;
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
static int index_child(cairn__store_apply *c, int type, const body *b) {
  uint8_t key[2 * CAIRN__STORE_KEY_MAX + 1];
  MDB_val k = {child_key(type, b, key), key}, v = {0, ""};
  int rc = k.mv_size > 0 ? mdb_put(c->txn, c->children, &k, &v, 0) : 0;
  return rc != 0 ? cairn__store_err(c->s, rc, 0) : 0;
}

/* Removes the children key index_child added for a creation. */
static int index_child_del(cairn__store_apply *c, int type, const body *b) {
  uint8_t key[2 * CAIRN__STORE_KEY_MAX + 1];
  MDB_val k = {child_key(type, b, key), key};
  int rc = k.mv_size > 0 ? mdb_del(c->txn, c->children, &k, NULL) : 0;
  return rc != 0 && rc != MDB_NOTFOUND ? cairn__store_err(c->s, rc, 0) : 0;
}

void cairn__store_pack_write(msgpack_packer *pk, uint64_t eff, const uint8_t *author, uint64_t seq,
                             const cairn_body *b) {
  msgpack_pack_array(pk, 7);
  msgpack_pack_uint64(pk, eff);
  msgpack_pack_bin(pk, CAIRN_KEY_BYTES);
  msgpack_pack_bin_body(pk, author, CAIRN_KEY_BYTES);
  msgpack_pack_uint64(pk, seq);
  pk->callback(pk->data, (const char *)b->set_raw, b->set_raw_len);
  if (b->base_raw != NULL)
    pk->callback(pk->data, (const char *)b->base_raw, b->base_raw_len);
  else
    msgpack_pack_nil(pk);
  if (b->why_raw != NULL)
    pk->callback(pk->data, (const char *)b->why_raw, b->why_raw_len);
  else
    msgpack_pack_nil(pk);
  pk->callback(pk->data, (const char *)b->scope_raw, b->scope_raw_len);
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
    if (i == pos)
      cairn__store_pack_write(&pk, eff, e->author, e->seq, b);
    if (i < n) {
      size_t from = off;
      if (cairn__store_mp_skip(olds, oldlen, &off) != 0)
        return CAIRN_ECORRUPT;
      if (i != skip)
        msgpack_sbuffer_write(out, (const char *)olds + from, off - from);
    }
  }
  return 0;
}

/* Why an authorized author's entry may still not be folded (PROTOCOL.md
 * section 1), or NULL when it may. */
static const char *unauthorized_write(const cairn__store_apply *c, const cairn_entry *e, const body *b) {
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
  if (e->kind == CAIRN_REC_ERASURE)
    return "erasures are written by the central";
  if (!cairn__store_in_scope(&c->author_scope, (int)e->kind, b->scope))
    return "the record's scope is outside the author's";
  return NULL;
}

/* Returns 1 when (author, seq) is a key of dbi in txn, 0 when not, or an
 * error. */
int cairn__store_has_entry_key(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                         uint64_t seq) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, author, seq);
  MDB_val k = {sizeof key, key}, v;
  int rc = mdb_get(txn, dbi, &k, &v);
  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* Returns 1 when entry e is in the quarantine, 0 when not, or an error. */
int cairn__store_is_quarantined(cairn_store *s, MDB_txn *txn, const cairn_entry *e) {
  return cairn__store_has_entry_key(s, txn, s->quarantine, e->author, e->seq);
}

/* Keeps entry e (already in the log) out of state, with the reason. */
static int quarantine(cairn__store_apply *c, const cairn_entry *e, const char *why) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, e->author, e->seq);
  MDB_val k = {sizeof key, key}, v = {strlen(why), (void *)why};
  int rc = mdb_put(c->txn, c->s->quarantine, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  cairn__store_note_refusal(c, e, 1, why);
  c->quarantined++;
  return 0;
}

/* ---- time: restamps and held entries (FORMAT.md section 1, "Time") ---- */

/* Looks up, in the restamp index dbi, the restamp record that covers entry
 * (author, seq). Returns 1 and its HLC in *eff, 0 when none does, or an
 * error. */
int cairn__store_stamp_lookup(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                        uint64_t seq, uint64_t *eff) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  MDB_cursor *cur;
  cairn__store_log_key(key, author, seq);
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
static int author_time_load(cairn__store_apply *c) {
  uint8_t key[CAIRN_KEY_BYTES + 8];
  MDB_cursor *cur;
  cairn__store_log_key(key, c->cur.author, 0);
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
      (rc = cairn__store_stamp_lookup(c->s, c->txn, c->restamps, c->cur.author, c->cur.seq, &c->cur_eff)) < 0)
    return rc;
  return 0;
}

/* Whether the central re-dates entry e of the current run: it is dated
 * beyond the central's clock bound, or not after the entry before it in its
 * author's chain as ordered here, or an earlier entry of the run was
 * re-dated (a chain keeps its order). */
static int central_redates(cairn__store_apply *c, const cairn_entry *e) {
  return c->is_central && c->mode == CAIRN__STORE_APPLY_SYNCED &&
         memcmp(e->author, c->s->pk, CAIRN_KEY_BYTES) != 0 &&
         (c->cur_restamped || e->hlc > c->ceiling || e->hlc <= c->cur_eff);
}

/* Appends run to the runs the central re-dates at the end. */
int cairn__store_stamp_push(cairn__store_apply *c, const cairn__store_stamp_run *run) {
  int rc = cairn__store_grow((void **)&c->stamps, &c->stamps_cap, c->nstamps + 1,
                             sizeof *c->stamps, 8);
  if (rc == 0)
    c->stamps[c->nstamps++] = *run;
  return rc;
}

/* The central: adds entry e to the runs it re-dates at the end; the rest
 * of its run follows it. */
static int stamp_add(cairn__store_apply *c, const cairn_entry *e) {
  cairn__store_stamp_run *last = c->nstamps > 0 ? &c->stamps[c->nstamps - 1] : NULL;
  c->cur_restamped = 1;
  if (last != NULL && memcmp(last->author, e->author, CAIRN_KEY_BYTES) == 0 &&
      last->to + 1 == e->seq) {
    last->to = e->seq;
    return 0;
  }
  cairn__store_stamp_run run;
  memcpy(run.author, e->author, CAIRN_KEY_BYTES);
  run.from = run.to = e->seq;
  return cairn__store_stamp_push(c, &run);
}

/* Keeps entry e (stored in the log) out of state until a restamp of the
 * central orders it or this node's clock reaches its date: held. The
 * central re-dates what it holds before the transaction ends. */
static int hold(cairn__store_apply *c, const cairn_entry *e) {
  uint8_t key[CAIRN_KEY_BYTES + 8], hlc[8];
  cairn__store_log_key(key, e->author, e->seq);
  cairn__store_put_be64(hlc, e->hlc);
  MDB_val k = {sizeof key, key}, v = {sizeof hlc, hlc};
  int rc = mdb_put(c->txn, c->s->held, &k, &v, 0);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  c->held++;
  int64_t ahead = cairn__store_ahead_ms(c->s, e->hlc);
  if (ahead > c->ahead_ms)
    c->ahead_ms = ahead;
  return c->is_central ? stamp_add(c, e) : 0;
}

static int fold_restamp(cairn__store_apply *c, const cairn_entry *e, const body *b);

/* Folds entry e's write (body b) into its record at effective HLC eff. A
 * write folded before at another HLC (re-dated since) moves to its new
 * place. */
static int fold_record(cairn__store_apply *c, const cairn_entry *e, const body *b, uint64_t eff) {
  cairn_store *s = c->s;
  int type = (int)e->kind, rc;
  cairn__store_rec *r = &s->apply_rec;
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {cairn__store_rec_key(key, type, b->id, b->idlen), key}, old = {0, NULL},
         stored = {0, NULL};
  if (eff > c->max_hlc && eff <= c->ceiling)
    c->max_hlc = eff;
  if (b->is_new) {
    /* Most creations create: try the one-write state, a reference to this
     * entry, with a single tree descent; LMDB hands back the stored state
     * when there is one. */
    rc = cairn__store_put_ref(s, c->txn, c->records, &k, c->tag, eff, e->author, e->seq,
                              MDB_NOOVERWRITE, &stored);
    if (rc == 0)
      return index_child(c, type, b);
    if (rc < 0)
      return rc;
  } else {
    rc = mdb_get(c->txn, c->records, &k, &stored);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return cairn__store_err(s, rc, 0);
  }
  r->n = 0;
  /* a record keeps the key it was first sealed under */
  uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES];
  if (stored.mv_data == NULL || !cairn__store_sealed_tag(stored.mv_data, stored.mv_size, tag))
    memcpy(tag, c->tag, sizeof tag);
  if (stored.mv_data != NULL &&
      ((rc = cairn__store_open_rec(c->txn, &stored, &s->apply_zone, &old)) != 0 ||
       (rc = cairn__store_rec_parse(old.mv_data, old.mv_size, &s->apply_zone, r)) != 0))
    return rc;
  size_t at = SIZE_MAX;
  for (size_t i = 0; i < r->n && at == SIZE_MAX; i++)
    if (r->w[i].seq == e->seq && memcmp(r->w[i].author, e->author, CAIRN_KEY_BYTES) == 0)
      at = i;
  if (at != SIZE_MAX && r->w[at].hlc == eff)
    return 0; /* already folded */
  size_t pos = r->n;
  while (pos > 0 && cairn__store_write_cmp(eff, e->author, e->seq, &r->w[pos - 1]) < 0)
    pos--;
  if ((rc = pack_state(s, e, b, eff, old.mv_data, old.mv_size, r->n, pos, at)) != 0 ||
      (rc = cairn__store_put_rec(s, c->txn, c->records, &k, tag, s->rec_buf.data,
                                 s->rec_buf.size, 0, NULL)) != 0)
    return rc;
  return index_child(c, type, b);
}

/* Folds entry e's write (body b) at eff; an erasure's is then applied to
 * what this node holds of its student (store_erase.c), but in the check's
 * rebuild, whose log holds their entries redacted already. */
static int fold_write(cairn__store_apply *c, const cairn_entry *e, const body *b, uint64_t eff) {
  int rc = fold_record(c, e, b, eff);
  if (rc != 0 || e->kind != CAIRN_REC_ERASURE || c->mode == CAIRN__STORE_APPLY_REPLAY)
    return rc;
  c->erasure = 1;
  return cairn__store_erase_student(c, b->id, b->idlen);
}

/* Takes the write of entry e (body b) back out of its record; the record
 * goes when it was its only write. */
static int unfold(cairn__store_apply *c, const cairn_entry *e, const body *b) {
  cairn_store *s = c->s;
  cairn__store_rec *r = &s->apply_rec;
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {cairn__store_rec_key(key, (int)e->kind, b->id, b->idlen), key}, stored, old;
  uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES];
  int rc = mdb_get(c->txn, c->records, &k, &stored);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if (!cairn__store_sealed_tag(stored.mv_data, stored.mv_size, tag))
    memcpy(tag, cairn__store_node_tag(s), sizeof tag);
  if ((rc = cairn__store_open_rec(c->txn, &stored, &s->apply_zone, &old)) != 0 ||
      (rc = cairn__store_rec_parse(old.mv_data, old.mv_size, &s->apply_zone, r)) != 0)
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
    if (cairn__store_mp_skip(old.mv_data, old.mv_size, &off) != 0)
      return CAIRN_ECORRUPT;
    if (i != at)
      msgpack_sbuffer_write(out, (const char *)old.mv_data + from, off - from);
  }
  return cairn__store_put_rec(s, c->txn, c->records, &k, tag, out->data, out->size, 0, NULL);
}

/* A revocation folded here says that the device's entries after seq after
 * are not to be trusted: those this node folded before it knew are taken
 * back out and quarantined, as every node does, so that records converge
 * whatever reached this node first. */
static int unfold_revoked(cairn__store_apply *c, const cairn_entry *e, const body *b, void *arg) {
  (void)arg;
  int rc = unfold(c, e, b);
  return rc != 0 ? rc : quarantine(c, e, "the author's device is revoked");
}

static int each_held_entry(cairn__store_apply *c, const uint8_t *author, uint64_t from, uint64_t to,
                           int (*fn)(cairn__store_apply *, const cairn_entry *, const body *, void *),
                           void *arg);

static int revoke_after(cairn__store_apply *c, const body *b, uint64_t after) {
  uint8_t dev[CAIRN_KEY_BYTES];
  if (c->mode == CAIRN__STORE_APPLY_REPLAY || after == UINT64_MAX || b->idlen != 2 * CAIRN_KEY_BYTES ||
      sodium_hex2bin(dev, sizeof dev, b->id, b->idlen, NULL, NULL, NULL) != 0)
    return 0;
  return each_held_entry(c, dev, after + 1, UINT64_MAX, unfold_revoked, NULL);
}

/* CAIRN__STORE_APPLY_SYNCED: whether a received write breaks the rules for what enters
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
static int legacy_id_taken(cairn__store_apply *c, const cairn_entry *e, const body *b);

/* Puts into *tag the tag of stored record (type, id) when it is sealed;
 * returns 1 then, 0 when it is absent or not sealed, or an error. */
static int stored_tag(cairn__store_apply *c, int type, const char *id, size_t idlen,
                      uint8_t *tag) {
  uint8_t key[CAIRN__STORE_KEY_MAX];
  MDB_val k = {cairn__store_rec_key(key, type, id, idlen), key}, v;
  int rc = mdb_get(c->txn, c->records, &k, &v);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  return cairn__store_sealed_tag(v.mv_data, v.mv_size, tag);
}

/* Sets c->tag to the tag of the key entry e's body (b) is sealed under at
 * rest (FORMAT.md section 8): a student's, for the student and what hangs
 * from them (found through the record or its parent, as this node holds
 * them); the node's for the rest, and for an edit that came before the
 * record it edits. Returns 0 or an error. */
static int entry_tag(cairn__store_apply *c, int type, const body *b) {
  memcpy(c->tag, cairn__store_node_tag(c->s), sizeof c->tag);
  if (type == CAIRN_REC_STUDENT) {
    cairn__store_student_tag(c->s, b->id, b->idlen, c->tag);
    return 0;
  }
  if (type < CAIRN_REC_MILESTONE || type > CAIRN_REC_CELEBRATION)
    return 0;
  int rc = b->is_new ? 0 : stored_tag(c, type, b->id, b->idlen, c->tag);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  for (size_t i = 0; i < nf; i++) {
    const char *pid;
    size_t plen;
    if (!(fd[i].flags & CAIRN_F_PARENT) ||
        !cairn__store_obj_str(cairn_record_map_get(b->set, fd[i].name), &pid, &plen) ||
        !cairn_text_id_logged(pid, plen))
      continue;
    if (fd[i].ref_type == CAIRN_REC_STUDENT) {
      cairn__store_student_tag(c->s, pid, plen, c->tag);
      return 0;
    }
    /* many entries in a row hang from one parent: its tag is kept (a
     * record's tag never changes once it is sealed) */
    if (c->parent_tag_valid && c->parent_type == (int)fd[i].ref_type &&
        c->parent_len == plen && memcmp(c->parent_id, pid, plen) == 0) {
      memcpy(c->tag, c->parent_tag, sizeof c->tag);
      return 0;
    }
    rc = stored_tag(c, (int)fd[i].ref_type, pid, plen, c->tag);
    if (rc == 1) {
      c->parent_tag_valid = 1;
      c->parent_type = (int)fd[i].ref_type;
      c->parent_len = plen;
      memcpy(c->parent_id, pid, plen);
      memcpy(c->parent_tag, c->tag, sizeof c->tag);
    }
    return rc < 0 ? rc : 0;
  }
  return 0;
}

int cairn__store_entry_tag(cairn__store_apply *c, const cairn_entry *e, uint8_t tag[16]) {
  body b;
  msgpack_zone_clear(&c->s->apply_zone);
  memcpy(c->tag, cairn__store_node_tag(c->s), sizeof c->tag);
  int rc = body_parse(c, e, &b);
  rc = rc == CAIRN_EMALFORMED ? 0 : rc != 0 ? rc : entry_tag(c, (int)e->kind, &b);
  memcpy(tag, c->tag, sizeof c->tag);
  return rc;
}

#ifdef CAIRN_TEST_HOOKS
/* Test builds: 1 when a local write's typed body t is what a decode of the
 * bytes it was encoded to (e's body) gives: every field, object and span,
 * since the fold uses the one in place of the other. */
static int typed_as_decoded(const cairn_body *t, const cairn_entry *e) {
  msgpack_zone z;
  cairn_body d;
  const char *why;
  if (!msgpack_zone_init(&z, 4096))
    return 0;
  int same = cairn_body_decode((int)e->kind, e->body, e->body_len, &z, &d, &why) == 0 &&
             d.type == t->type && d.idlen == t->idlen && memcmp(d.id, t->id, d.idlen) == 0 &&
             d.is_new == t->is_new && cairn_record_same_packed(d.set, t->set) &&
             cairn_record_same_packed(d.base, t->base) && cairn_record_same_packed(d.why, t->why) &&
             cairn_record_same_packed(d.scope, t->scope) && d.set_raw == t->set_raw &&
             d.set_raw_len == t->set_raw_len && d.base_raw == t->base_raw &&
             d.base_raw_len == t->base_raw_len && d.why_raw == t->why_raw &&
             d.why_raw_len == t->why_raw_len && d.scope_raw == t->scope_raw &&
             d.scope_raw_len == t->scope_raw_len;
  msgpack_zone_destroy(&z);
  return same;
}
#endif

static int fold(cairn__store_apply *c, const cairn_entry *e) {
  cairn_store *s = c->s;
  body b;
  int rc;
  if (c->mode == CAIRN__STORE_APPLY_REPLAY && (rc = cairn__store_is_quarantined(s, c->txn, e)) != 0)
    return rc < 0 ? rc : 0;
  msgpack_zone_clear(&s->apply_zone);
  if (c->typed != NULL)
    b = *c->typed;
  else if ((rc = body_parse(c, e, &b)) != 0)
    return rc;
#ifdef CAIRN_TEST_HOOKS
  if (c->typed != NULL && !typed_as_decoded(c->typed, e))
    return cairn__store_set_why(c, e, CAIRN_EINTERNAL, "a local write's typed body is not its bytes");
#endif
  if ((rc = entry_tag(c, (int)e->kind, &b)) != 0)
    return rc;
  /* An entry about an erased student: its body is not kept (FORMAT.md
   * section 3.4), whoever wrote it. */
  if (c->mode != CAIRN__STORE_APPLY_REPLAY &&
      (rc = cairn__store_erased_about(s, c->txn, &s->apply_zone, (int)e->kind, b.id, b.idlen,
                                      b.set, 1)) != 0) {
    if (rc < 0 || (rc = cairn__store_redact_logged(s, c->txn, s->log, e->author, e->seq)) != 0)
      return rc;
    c->log_withheld = 1;
    c->erased++;
    return quarantine(c, e, CAIRN__STORE_ERASED_WHY);
  }
  const char *denied = c->mode == CAIRN__STORE_APPLY_SYNCED ? unauthorized_write(c, e, &b) : NULL;
  if (denied != NULL)
    return quarantine(c, e, denied);
  if (c->mode == CAIRN__STORE_APPLY_SYNCED && b.is_new && (rc = legacy_id_taken(c, e, &b)) != 0)
    return rc < 0 ? rc
                  : quarantine(c, e, "another device created a record with this id first");
  int type = (int)e->kind;
  /* The entry itself says whether it creates the record, so the check does
   * not depend on arrival order: an edit may arrive before the creation it
   * edits (another author's), and two devices may create the same student
   * id. An edit may never carry a fixed field. */
  char msg[200];
  if (c->typed == NULL && cairn_record_check_set(type, b.set, b.is_new, msg, sizeof msg) != 0)
    return cairn__store_set_why(c, e, CAIRN_EMALFORMED, msg);
  if (c->mode == CAIRN__STORE_APPLY_SYNCED && input_refused(&b, type, msg, sizeof msg))
    return quarantine(c, e, msg);
  if (type == CAIRN_REC_STUDENT && !b.is_new &&
      (rc = cairn__store_arrival_note(c, b.id, b.idlen, b.scope, e->hlc)) != 0)
    return rc;
  uint64_t eff = e->hlc;
  int covered = 0;
  if (c->author_has_stamps &&
      (covered = cairn__store_stamp_lookup(s, c->txn, c->restamps, e->author, e->seq, &eff)) < 0)
    return covered;
  if (!covered) {
    if (c->mode == CAIRN__STORE_APPLY_SYNCED && memcmp(e->author, s->pk, CAIRN_KEY_BYTES) != 0 &&
        (e->hlc > c->ceiling || central_redates(c, e)))
      return hold(c, e);
    if (c->mode == CAIRN__STORE_APPLY_REPLAY && (rc = cairn__store_has_entry_key(s, c->txn, s->held, e->author, e->seq)) != 0)
      return rc < 0 ? rc : 0;
  }
  if ((rc = fold_write(c, e, &b, eff)) != 0)
    return rc;
  if (type >= CAIRN_REC_STUDENT && type <= CAIRN_REC_CELEBRATION &&
      (rc = cairn__store_reach_note(c, e, b.scope)) != 0)
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
static int legacy_id_taken(cairn__store_apply *c, const cairn_entry *e, const body *b) {
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
static int each_held_entry(cairn__store_apply *c, const uint8_t *author, uint64_t from, uint64_t to,
                           int (*fn)(cairn__store_apply *, const cairn_entry *, const body *, void *),
                           void *arg) {
  cairn_store *s = c->s;
  uint8_t key[CAIRN_KEY_BYTES + 8], tag[sizeof c->tag];
  int rc = 0, withheld = c->log_withheld;
  memcpy(tag, c->tag, sizeof tag); /* the entry being folded keeps its own */
  for (uint64_t seq = from; rc == 0 && seq <= to && seq != 0; seq++) {
    cairn_entry e;
    body b;
    cairn__store_log_key(key, author, seq);
    MDB_val k = {sizeof key, key}, v;
    if ((rc = mdb_get(c->txn, s->log, &k, &v)) != 0)
      return rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
    /* A private copy: fn writes to this transaction. */
    msgpack_sbuffer_clear(&s->release_buf);
    if (msgpack_sbuffer_write(&s->release_buf, v.mv_data, v.mv_size) != 0)
      return CAIRN_ENOMEM;
    if ((rc = cairn__store_entry_get(s, s->release_buf.data, s->release_buf.size, &s->open_buf,
                                     &e, NULL)) != 0)
      break;
    if (e.redacted || (rc = cairn__store_is_quarantined(s, c->txn, &e)) != 0) {
      rc = rc < 0 ? rc : 0;
      continue;
    }
    if (c->mode != CAIRN__STORE_APPLY_REPLAY) {
      rc = mdb_del(c->txn, s->held, &k, NULL);
      if (rc == 0)
        c->released++;
      else if (rc != MDB_NOTFOUND)
        return cairn__store_err(s, rc, 0);
    }
    msgpack_zone_clear(&s->apply_zone);
    if ((rc = body_parse(c, &e, &b)) == 0 && (rc = entry_tag(c, (int)e.kind, &b)) == 0)
      rc = fn(c, &e, &b, arg);
  }
  memcpy(c->tag, tag, sizeof tag);
  c->log_withheld = withheld;
  return rc;
}

static int fold_at(cairn__store_apply *c, const cairn_entry *e, const body *b, void *arg) {
  char msg[200];
  if (cairn_record_check_set((int)e->kind, b->set, b->is_new, msg, sizeof msg) != 0)
    return cairn__store_set_why(c, e, CAIRN_EMALFORMED, msg);
  return fold_write(c, e, b, *(const uint64_t *)arg);
}

/* Folds, at effective HLC eff, the entries from..to of author that this
 * node holds, not redacted and not quarantined: the held ones leave the
 * held set, and those folded before at their own date move. */
static int release(cairn__store_apply *c, const uint8_t *author, uint64_t from, uint64_t to,
                   uint64_t eff) {
  return each_held_entry(c, author, from, to, fold_at, &eff);
}

/* A restamp record was folded: index it, and order the entries it names
 * that this node holds. One whose date is after its own entry's is kept out
 * (quarantined): the central orders nothing in its own future. */
static int fold_restamp(cairn__store_apply *c, const cairn_entry *e, const body *b) {
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
    return cairn__store_set_why(c, e, CAIRN_EMALFORMED, "restamp: not a run of an author's entries dated "
                                           "at or before itself");
  uint64_t f = from->via.u64, t = to->via.u64, h = hlc->via.u64;
  cairn__store_log_key(key, who, f);
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
int cairn__store_release_due(cairn__store_apply *c) {
  cairn_store *s = c->s;
  MDB_cursor *cur;
  MDB_val k, v;
  held_due *due = NULL;
  size_t n = 0, cap = 0;
  if (s->held_count == 0 || c->mode == CAIRN__STORE_APPLY_REPLAY)
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

/* Puts entry e at its log key as stored: bytes (redacted: as they came),
 * or, when bytes is NULL, its body sealed under c->tag, or withheld. */
static int log_put(cairn__store_apply *c, const cairn_entry *e, const uint8_t *bytes, size_t len) {
  cairn_store *s = c->s;
  uint8_t key[CAIRN_KEY_BYTES + 8];
  int rc;
  cairn__store_log_key(key, e->author, e->seq);
  MDB_val k = {sizeof key, key}, v = {len, (void *)bytes};
  if (bytes == NULL) {
    if (c->log_withheld) {
      msgpack_sbuffer_clear(&s->seal_buf);
      rc = cairn_entry_redact(e, &s->seal_buf);
    } else {
      rc = cairn__store_seal_entry(s, c->tag, e, &s->seal_buf);
    }
    if (rc != 0)
      return rc;
    v = (MDB_val){s->seal_buf.size, s->seal_buf.data};
  }
  /* A run usually extends the log's last author: appending then skips
   * the search and packs pages full. */
  rc = mdb_put(c->txn, s->log, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST)
    rc = mdb_put(c->txn, s->log, &k, &v, 0);
  return rc != 0 ? cairn__store_err(s, rc, 0) : 0;
}

int cairn__store_log_put_as(cairn__store_apply *c, const cairn_entry *e, const uint8_t tag[16],
                            int withheld) {
  memcpy(c->tag, tag, sizeof c->tag);
  c->log_withheld = withheld;
  return log_put(c, e, NULL, 0);
}

int cairn__store_fold_logged(cairn__store_apply *c, const cairn_entry *e, int write_log) {
  c->log_withheld = 0;
  memcpy(c->tag, cairn__store_node_tag(c->s), sizeof c->tag);
  /* the record it makes may refer to it before it is in the log */
  cairn__store_unlogged(c->s, c->txn, e);
  int rc = fold(c, e);
  if (rc == 0 && write_log)
    rc = log_put(c, e, NULL, 0);
  if (rc != 0 || write_log || c->typed == NULL)
    cairn__store_unlogged(c->s, NULL, NULL); /* a local write's waits for its batch */
  return rc;
}

/* THE apply path: every entry, local or received, goes through here.
 * Returns 1 when stored (and folded, unless redacted, quarantined or held),
 * 0 when already held, or a negative code (with c->why set for chain and
 * body problems). */
int cairn__store_apply_entry(cairn__store_apply *c, const uint8_t *bytes, size_t len, const cairn_entry *e) {
  int rc = cairn__store_head_load(c, e->author);
  if (rc != 0)
    return rc;
  if (e->seq <= c->cur.seq)
    return 0;
  if (e->kind < 1 || e->kind > CAIRN_REC_MAX)
    return cairn__store_set_why(c, e, CAIRN_EMALFORMED, "unknown record kind");
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
    return cairn__store_set_why(c, e, rc, "seq does not follow the last entry held");
  if (rc != 0)
    return cairn__store_set_why(c, e, rc, "prev does not match the hash of the last entry held");
  if (!e->redacted) {
    if ((rc = cairn__store_fold_logged(c, e, c->write_log)) != 0)
      return rc;
  } else if (c->write_log && (rc = log_put(c, e, bytes, len)) != 0) {
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

void cairn__store_apply_init(cairn__store_apply *c, cairn_store *s, MDB_txn *txn, cairn__store_apply_mode mode) {
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
  c->ceiling = cairn__store_hlc_ceiling(s);
  c->is_central = s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0;
  c->revoked_after = UINT64_MAX;
  c->author_number = -1;
}

/* Frees what c allocated (not the transaction). */
void cairn__store_apply_free(cairn__store_apply *c) {
  free(c->stamps);
  c->stamps = NULL;
  c->nstamps = c->stamps_cap = 0;
}

/* Commits txn (with the refusal counter) and, when that succeeded,
 * publishes what it changed. Frees c either way. */
int cairn__store_apply_commit(cairn__store_apply *c) {
  cairn_store *s = c->s;
  uint64_t own_hlc = s->own_hlc;
  int reach_added = c->reach_added, arrival_added = c->arrival_added;
  int rc = cairn__store_head_flush(c);
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
    int found = seq > 0 ? cairn__store_stamp_lookup(s, c->txn, c->restamps, s->pk, seq, &eff) : 0;
    if (found < 0)
      rc = found;
    else if (found)
      own_hlc = eff;
  }
  cairn__store_apply_free(c);
  if (rc != 0) {
    mdb_txn_abort(c->txn);
    return rc;
  }
  /* the keys made for this transaction's sealed values first */
  if ((rc = cairn_keystore_sync(s->keys)) != 0) {
    mdb_txn_abort(c->txn);
    return rc;
  }
  rc = mdb_txn_commit(c->txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 1);
  s->last_hlc = c->max_hlc;
  s->own_hlc = own_hlc;
  if (reach_added)
    atomic_fetch_add(&s->reach_epoch, 1);
  if (arrival_added)
    atomic_fetch_add(&s->arrival_epoch, 1);
  s->refused += c->refused;
  uint64_t gone = c->released + c->unheld;
  s->held_count = s->held_count + c->held - (gone < s->held_count + c->held
                                                 ? gone
                                                 : s->held_count + c->held);
  if (c->erasure)
    s->compact_wanted = 1;
  if (c->own_changed) {
    s->own_seq = c->own.seq;
    memcpy(s->own_hash, c->own.hash, CAIRN_HASH_BYTES);
  }
  return 0;
}
