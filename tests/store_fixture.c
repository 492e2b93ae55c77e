/* store_fixture.c: the helpers of store_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_fixture.h"

/* ---- fixtures ------------------------------------------------------------- */


void device_open(device *d, const cairn_store_opts *opts) {
  assert_int_equal(cairn_store_open(&d->s, d->dir, d->sk, opts), 0);
}

void device_new(device *d, const cairn_store_opts *opts) {
  snprintf(d->dir, sizeof d->dir, "/tmp/cairn-test-store-XXXXXX");
  assert_non_null(mkdtemp(d->dir));
  crypto_sign_keypair(d->pk, d->sk);
  device_open(d, opts);
}

void device_free(device *d) {
  char path[128];
  cairn_store_close(d->s);
  d->s = NULL;
  snprintf(path, sizeof path, "%s/store/data.mdb", d->dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/store/lock.mdb", d->dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/store/keys", d->dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/store", d->dir);
  rmdir(path);
  assert_int_equal(rmdir(d->dir), 0);
}


void set_begin(setb *b, uint32_t n) {
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
  msgpack_pack_map(&b->pk, n);
}

void pack_s(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

void set_str(setb *b, const char *k, const char *v) {
  pack_s(&b->pk, k);
  pack_s(&b->pk, v);
}

void set_num(setb *b, const char *k, double v) {
  pack_s(&b->pk, k);
  msgpack_pack_double(&b->pk, v);
}

void set_true(setb *b, const char *k) {
  pack_s(&b->pk, k);
  msgpack_pack_true(&b->pk);
}

/* Writes one put; returns its result. id_out (may be NULL) gets the id,
 * message (may be NULL) the refusal. */
int put1(cairn_store *s, int type, const char *id, int edit, setb *b, const char *why,
         char *id_out, char *message) {
  cairn_put p = {.type = type, .id = id, .set = (const uint8_t *)b->sb.data,
                                                 .set_len = b->sb.size, .why = why, .edit = edit};
  assert_int_equal(cairn_store_write_batch(s, &p, 1), 0);
  if (id_out != NULL)
    strcpy(id_out, p.id_out);
  if (message != NULL)
    strcpy(message, p.message);
  msgpack_sbuffer_destroy(&b->sb);
  return p.result;
}

void add_student(cairn_store *s, const char *id) {
  setb b;
  set_begin(&b, 4);
  set_str(&b, "name", "Ava");
  set_str(&b, "grade", "8");
  set_str(&b, "campus", "North");
  set_str(&b, "classroom", "8B");
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, id, 0, &b, NULL, NULL, NULL), 0);
}

/* The seed's 8th-grade ELA milestone: 0-4 rubric, 1.5 -> 3, 4 of 5, 6 weeks. */
void add_milestone(cairn_store *s, const char *student, char *id) {
  setb b;
  set_begin(&b, 11);
  set_str(&b, "student", student);
  set_str(&b, "type", "academic");
  set_str(&b, "statement",
          "I will include a clear claim and at least 2 pieces of evidence in a 3-paragraph response.");
  set_str(&b, "scale", "0-4");
  set_num(&b, "baseline", 1.5);
  set_num(&b, "target", 3);
  set_str(&b, "rule", "4 of 5");
  set_str(&b, "start", "2026-03-02");
  set_str(&b, "end", "2026-04-13");
  set_str(&b, "cadence", "weekly");
  pack_s(&b.pk, "if_then");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, "If a student scores below the target on the next check-in, then add a "
         "20-minute small-group session twice weekly.");
  assert_int_equal(put1(s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, id, NULL), 0);
}

int add_evidence(cairn_store *s, const char *milestone, const char *observed, double v,
                 char *id, char *message) {
  setb b;
  set_begin(&b, 3);
  set_str(&b, "milestone", milestone);
  set_str(&b, "observed", observed);
  set_num(&b, "value", v);
  return put1(s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, id, message);
}

void edit_statement(cairn_store *s, const char *milestone, const char *text) {
  setb b;
  set_begin(&b, 1);
  set_str(&b, "statement", text);
  assert_int_equal(put1(s, CAIRN_REC_MILESTONE, milestone, 1, &b, NULL, NULL, NULL), 0);
}


const msgpack_object *reply_decode(reply *r) {
  msgpack_unpacked_init(&r->u);
  size_t off = 0;
  assert_int_equal(msgpack_unpack_next(&r->u, r->sb.data, r->sb.size, &off),
                   MSGPACK_UNPACK_SUCCESS);
  return &r->u.data;
}

void reply_free(reply *r) {
  msgpack_unpacked_destroy(&r->u);
  msgpack_sbuffer_destroy(&r->sb);
}

void assert_str(const msgpack_object *o, const char *want) {
  assert_non_null(o);
  assert_int_equal(o->type, MSGPACK_OBJECT_STR);
  assert_int_equal(o->via.str.size, strlen(want));
  assert_memory_equal(o->via.str.ptr, want, strlen(want));
}

double num_of(const msgpack_object *o) {
  assert_non_null(o);
  assert_true(o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
  return o->type == MSGPACK_OBJECT_FLOAT64 ? o->via.f64 : (double)o->via.u64;
}

/* The whole log of author held by s. */
void log_of(cairn_store *s, const uint8_t *author, uint64_t from, msgpack_sbuffer *out) {
  size_t count;
  msgpack_sbuffer_init(out);
  assert_int_equal(cairn_store_read_log(s, author, from, SIZE_MAX, out, &count), 0);
}

size_t apply(cairn_store *s, const msgpack_sbuffer *b) {
  size_t applied = 99;
  char why[200];
  assert_int_equal(cairn_store_apply_entries(s, (const uint8_t *)b->data, b->size, &applied, why,
                   sizeof why),
                   0);
  return applied;
}

/* The whole export of the records inside scope (NULL: all) into out. */
void export_scoped(cairn_store *s, const cairn_scope *scope, msgpack_sbuffer *out) {
  msgpack_sbuffer_init(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  uint8_t next[CAIRN_STORE_CURSOR_MAX];
  size_t next_len;
  assert_int_equal(cairn_store_export(s, scope, NULL, 0, 0, &pk, next, &next_len), 0);
  assert_int_equal(next_len, 0);
}

void export_of(cairn_store *s, msgpack_sbuffer *out) { export_scoped(s, NULL, out); }

void count_line(const char *line, void *arg) {
  print_message("check: %s\n", line);
  (*(int *)arg)++;
}

void assert_check_clean(cairn_store *s) {
  int lines = 0;
  assert_int_equal(cairn_store_check(s, count_line, &lines), 0);
  assert_int_equal(lines, 0);
}

void hex_of(const uint8_t *key, char out[2 * CAIRN_KEY_BYTES + 1]) {
  sodium_bin2hex(out, 2 * CAIRN_KEY_BYTES + 1, key, CAIRN_KEY_BYTES);
}

cairn_scope scope_of(const char *campus, const char *classroom) {
  cairn_scope sc;
  memset(&sc, 0, sizeof sc);
  snprintf(sc.campus, sizeof sc.campus, "%s", campus);
  snprintf(sc.classroom, sizeof sc.classroom, "%s", classroom);
  return sc;
}

/* The central (s) enrolls a classroom device key at campus/classroom. */
int enroll(cairn_store *s, const uint8_t *key, const char *campus, const char *classroom,
           char *message) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  setb b;
  hex_of(key, hex);
  set_begin(&b, 4);
  set_str(&b, "key", hex);
  set_str(&b, "role", "classroom");
  set_str(&b, "campus", campus);
  set_str(&b, "classroom", classroom);
  return put1(s, CAIRN_REC_DEVICE, hex, 0, &b, NULL, NULL, message);
}

void revoke_device(cairn_store *s, const uint8_t *key) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  setb b;
  hex_of(key, hex);
  set_begin(&b, 1);
  set_true(&b, "revoked");
  assert_int_equal(put1(s, CAIRN_REC_DEVICE, hex, 1, &b, "lost laptop", NULL, NULL), 0);
}

void add_student_at(cairn_store *s, const char *id, const char *campus,
                    const char *classroom) {
  setb b;
  set_begin(&b, 3);
  set_str(&b, "name", "Bo");
  set_str(&b, "campus", campus);
  set_str(&b, "classroom", classroom);
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, id, 0, &b, NULL, NULL, NULL), 0);
}

/* What `from` holds and `to` lacks, as read_scoped sends it for scope:
 * author by author, in from's version-vector order (the central first). */
void sync_batch(cairn_store *from, cairn_store *to, const cairn_scope *scope,
                msgpack_sbuffer *out) {
  cairn_vv_item *mine, *theirs;
  size_t nm, nt;
  assert_int_equal(cairn_store_version_vector(from, &mine, &nm), 0);
  assert_int_equal(cairn_store_version_vector(to, &theirs, &nt), 0);
  msgpack_sbuffer_init(out);
  for (size_t i = 0; i < nm; i++) {
    uint64_t have = 0;
    for (size_t j = 0; j < nt; j++)
      if (memcmp(theirs[j].author, mine[i].author, CAIRN_KEY_BYTES) == 0)
        have = theirs[j].seq;
    if (mine[i].seq <= have)
      continue;
    size_t count;
    uint64_t last;
    assert_int_equal(cairn_store_read_scoped(from, mine[i].author, have + 1, 1000, 0, scope, out,
                     &count, &last),
                     0);
    assert_true(last == mine[i].seq);
    assert_int_equal(count, mine[i].seq - have);
  }
  free(mine);
  free(theirs);
}

cairn_apply_result sync_to(cairn_store *from, cairn_store *to, const cairn_scope *scope) {
  msgpack_sbuffer b;
  cairn_apply_result res;
  sync_batch(from, to, scope, &b);
  assert_int_equal(cairn_store_apply_synced(to, (const uint8_t *)b.data, b.size, &res), 0);
  msgpack_sbuffer_destroy(&b);
  return res;
}

int export_has(cairn_store *s, const char *id) {
  reply r;
  export_of(s, &r.sb);
  const msgpack_object *recs = reply_decode(&r);
  int found = 0;
  for (uint32_t i = 0; i < recs->via.array.size; i++) {
    const msgpack_object *o = cairn_record_map_get(&recs->via.array.ptr[i], "id");
    found |= o->via.str.size == strlen(id) && memcmp(o->via.str.ptr, id, o->via.str.size) == 0;
  }
  reply_free(&r);
  return found;
}

/* A central and a classroom at North/8B that knows it; the central's key
 * sorts after the classroom's, so "central first" is not key order. */
void central_and_classroom(device *c, device *k) {
  device_new(c, NULL);
  device_new(k, NULL);
  if (memcmp(c->pk, k->pk, CAIRN_KEY_BYTES) < 0) { /* a store borrows its key: reopen */
    device t = *c;
    *c = *k;
    *k = t;
    cairn_store_close(c->s);
    cairn_store_close(k->s);
    device_open(c, NULL);
    device_open(k, NULL);
  }
  assert_null(cairn_store_central(c->s));
  assert_int_equal(cairn_store_set_central(c->s, c->pk), 0);
  assert_int_equal(cairn_store_set_central(k->s, c->pk), 0);
  assert_memory_equal(cairn_store_central(k->s), c->pk, CAIRN_KEY_BYTES);
}


void craft_entry(device *k, int kind, const msgpack_sbuffer *body, uint64_t hlc,
                 msgpack_sbuffer *out) {
  msgpack_sbuffer last;
  size_t count, used;
  cairn_entry prev, e;
  uint64_t seq = cairn_store_own_seq(k->s);
  memset(&e, 0, sizeof e);
  if (seq > 0) {
    msgpack_sbuffer_init(&last);
    assert_int_equal(cairn_store_read_log(k->s, k->pk, seq, 1, &last, &count), 0);
    assert_int_equal(cairn_entry_decode((const uint8_t *)last.data, last.size, &prev, &used), 0);
    memcpy(e.prev, prev.hash, CAIRN_HASH_BYTES);
    msgpack_sbuffer_destroy(&last);
  }
  memcpy(e.author, k->pk, CAIRN_KEY_BYTES);
  e.seq = seq + 1;
  e.hlc = hlc;
  e.kind = (uint32_t)kind;
  e.body = (const uint8_t *)body->data;
  e.body_len = body->size;
  assert_int_equal(cairn_entry_seal(&e), 0);
  cairn_entry_sign(&e, k->sk);
  assert_int_equal(cairn_entry_encode(&e, out), 0);
}

void craft_next_entry(device *k, int kind, const msgpack_sbuffer *body, msgpack_sbuffer *out) {
  msgpack_sbuffer last;
  size_t count, used;
  cairn_entry prev;
  uint64_t seq = cairn_store_own_seq(k->s), hlc = (uint64_t)1 << 40;
  if (seq > 0) {
    msgpack_sbuffer_init(&last);
    assert_int_equal(cairn_store_read_log(k->s, k->pk, seq, 1, &last, &count), 0);
    assert_int_equal(cairn_entry_decode((const uint8_t *)last.data, last.size, &prev, &used), 0);
    hlc = prev.hlc + 1;
    msgpack_sbuffer_destroy(&last);
  }
  craft_entry(k, kind, body, hlc, out);
}

void dated_milestone(setb *b, const char *student, const char *start, const char *end) {
  set_begin(b, 8);
  set_str(b, "student", student);
  set_str(b, "type", "academic");
  set_str(b, "statement", "x");
  set_str(b, "scale", "0-4");
  set_num(b, "baseline", 1);
  set_num(b, "target", 3);
  set_str(b, "start", start);
  set_str(b, "end", end);
}

void minimal_milestone(setb *b, const char *student) {
  dated_milestone(b, student, "2026-03-02", "2026-04-13");
}
