/* test_trust.c: what a node trusts about another's entries beyond their
 * signatures: the time they claim (docs/FORMAT.md section 1, "Time"), and
 * the revocations and joins that decide who may write. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_fixture.h"
#include "text.h"

#define YEAR_MS (365LL * 24 * 3600 * 1000)

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t hlc_at(uint64_t ms) { return ms << 16; }

/* The current value of string field of record id in s, into out (asserts
 * the record and field exist). */
static void field_of(cairn_store *s, const char *id, const char *field, char *out, size_t n) {
  cairn_store_history *h = NULL;
  const cairn_store_value *v = NULL;
  assert_int_equal(cairn_store_show(s, id, &h), 0);
  for (size_t i = 0; i < h->nfields; i++)
    if (strcmp(h->fields[i].name, field) == 0)
      v = &h->fields[i].value;
  assert_non_null(v);
  assert_int_equal(v->kind, CAIRN_STORE_STR);
  snprintf(out, n, "%s", v->u.str.s);
  cairn_store_history_free(h);
}

/* An edit of student id's name, as a body. */
static void name_edit_body(const char *id, const char *name, msgpack_sbuffer *out) {
  setb b;
  set_begin(&b, 3);
  set_str(&b, "id", id);
  pack_s(&b.pk, "set");
  msgpack_pack_map(&b.pk, 1);
  set_str(&b, "name", name);
  pack_s(&b.pk, "scope");
  msgpack_pack_array(&b.pk, 2);
  pack_s(&b.pk, "North");
  pack_s(&b.pk, "8B");
  *out = b.sb;
}

/* The HLC of the last entry of author in s. */
static uint64_t last_hlc_of(cairn_store *s, const uint8_t *author) {
  cairn_vv_item *vv;
  size_t n;
  uint64_t seq = 0;
  assert_int_equal(cairn_store_version_vector(s, &vv, &n), 0);
  for (size_t i = 0; i < n; i++)
    if (memcmp(vv[i].author, author, CAIRN_KEY_BYTES) == 0)
      seq = vv[i].seq;
  free(vv);
  msgpack_sbuffer b;
  size_t count, used;
  cairn_entry e;
  msgpack_sbuffer_init(&b);
  assert_int_equal(cairn_store_read_log(s, author, seq, 1, &b, &count), 0);
  assert_int_equal(cairn_entry_decode((const uint8_t *)b.data, b.size, &e, &used), 0);
  msgpack_sbuffer_destroy(&b);
  return e.hlc;
}

/* A central and a classroom k it enrolled at North/8B, both holding the
 * student ava-8 ("Bo"). */
static void central_classroom_and_student(device *c, device *k) {
  central_and_classroom(c, k);
  assert_int_equal(enroll(c->s, k->pk, "North", "8B", NULL), 0);
  add_student_at(c->s, "ava-8", "North", "8B");
  sync_to(c->s, k->s, NULL);
}

/* An enrolled classroom sends an edit dated at the very end of time. The
 * central's later edit must still win, its clock must not move, and the
 * store stays consistent. */
static void test_entry_from_the_end_of_time_cannot_win(void **state) {
  (void)state;
  device c, k;
  central_classroom_and_student(&c, &k);

  msgpack_sbuffer body, bad;
  name_edit_body("ava-8", "Mallory", &body);
  msgpack_sbuffer_init(&bad);
  craft_entry(&k, CAIRN_REC_STUDENT, &body, UINT64_MAX, &bad);
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)bad.data, bad.size, &res), 0);

  setb b;
  set_begin(&b, 1);
  set_str(&b, "name", "Ana");
  assert_int_equal(put1(c.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, "her name", NULL, NULL), 0);
  char name[64];
  field_of(c.s, "ava-8", "name", name, sizeof name);
  assert_string_equal(name, "Ana");
  /* The central's own clock did not move: its new entry is dated now. */
  uint64_t own = last_hlc_of(c.s, c.pk);
  assert_true(own >= hlc_at(now_ms() - 60000) && own <= hlc_at(now_ms() + 60000));
  assert_check_clean(c.s);

  /* And after a restart. */
  cairn_store_close(c.s);
  device_open(&c, NULL);
  set_begin(&b, 1);
  set_str(&b, "name", "Ana L.");
  assert_int_equal(put1(c.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, "her name", NULL, NULL), 0);
  field_of(c.s, "ava-8", "name", name, sizeof name);
  assert_string_equal(name, "Ana L.");
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&bad);
  device_free(&c);
  device_free(&k);
}

/* The exports of two stores for scope, byte for byte. */
static void assert_same_export(cairn_store *a, cairn_store *b, const cairn_scope *scope) {
  msgpack_sbuffer ea, eb;
  export_scoped(a, scope, &ea);
  export_scoped(b, scope, &eb);
  assert_int_equal(ea.size, eb.size);
  assert_memory_equal(ea.data, eb.data, ea.size);
  msgpack_sbuffer_destroy(&ea);
  msgpack_sbuffer_destroy(&eb);
}

static void set_name(cairn_store *s, const char *id, const char *name) {
  setb b;
  set_begin(&b, 1);
  set_str(&b, "name", name);
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, id, 1, &b, "her name", NULL, NULL), 0);
}

static void assert_name(cairn_store *s, const char *id, const char *want) {
  char name[64];
  field_of(s, id, "name", name, sizeof name);
  assert_string_equal(name, want);
}

/* A classroom whose clock is three years ahead writes; another node of its
 * campus holds the entry (it does not move that node's clock or win) until
 * the central, which orders it at its arrival, says when it happened. An
 * edit made at the central after that wins, and every node agrees. */
static void test_a_classroom_three_years_ahead(void **state) {
  (void)state;
  device c, k, h;
  cairn_store_opts ahead = {.clock_offset_ms = 3 * YEAR_MS};
  central_and_classroom(&c, &h); /* h: another device of the campus, e.g. a hub */
  device_new(&k, &ahead);
  assert_int_equal(cairn_store_set_central(k.s, c.pk), 0);
  cairn_scope north = scope_of("North", "8B");
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  assert_int_equal(enroll(c.s, h.pk, "North", "8B", NULL), 0);
  add_student_at(c.s, "ava-8", "North", "8B");
  sync_to(c.s, k.s, NULL);
  sync_to(c.s, h.s, NULL);

  set_name(k.s, "ava-8", "Ava (from the fast clock)");
  uint64_t fast = last_hlc_of(k.s, k.pk);
  assert_true(fast > hlc_at(now_ms() + 2 * YEAR_MS));

  /* h holds it: not folded, h's clock not moved. */
  cairn_apply_result res = sync_to(k.s, h.s, &north);
  assert_int_equal(res.held, 1);
  assert_int_equal(res.applied, 0);
  assert_true(res.ahead_ms > 2 * YEAR_MS);
  assert_name(h.s, "ava-8", "Bo");
  set_name(h.s, "ava-8", "Bo (h)");
  assert_true(last_hlc_of(h.s, h.pk) < hlc_at(now_ms() + 60000));
  assert_check_clean(h.s);

  /* The central orders it at its arrival. */
  res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.redated, 1);
  assert_int_equal(res.held, 0);
  assert_int_equal(res.applied, 1);
  assert_name(c.s, "ava-8", "Ava (from the fast clock)");
  assert_true(last_hlc_of(c.s, c.pk) < hlc_at(now_ms() + 60000));
  set_name(c.s, "ava-8", "Ana");
  assert_name(c.s, "ava-8", "Ana");
  assert_check_clean(c.s);

  /* Everyone converges, and the edit made after wins everywhere. */
  sync_to(h.s, c.s, NULL);
  sync_to(c.s, h.s, &north);
  sync_to(c.s, k.s, &north);
  assert_name(h.s, "ava-8", "Ana");
  assert_name(k.s, "ava-8", "Ana");
  assert_same_export(c.s, h.s, &north);
  assert_same_export(c.s, k.s, &north);
  assert_check_clean(h.s);
  assert_check_clean(k.s);
  device_free(&c);
  device_free(&k);
  device_free(&h);
}

/* A classroom three years behind holds nothing that is only ahead of its own
 * wrong clock once it knows the central's; its edits after what it received
 * still win. */
static void test_a_classroom_three_years_behind(void **state) {
  (void)state;
  device c, k;
  cairn_store_opts behind = {.clock_offset_ms = -3 * YEAR_MS};
  device_new(&c, NULL);
  device_new(&k, &behind);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  assert_int_equal(cairn_store_set_central(k.s, c.pk), 0);
  cairn_scope north = scope_of("North", "8B");
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(c.s, "ava-8", "North", "8B");

  /* Before it knows: everything from the central is "years ahead". */
  cairn_apply_result res = sync_to(c.s, k.s, NULL);
  assert_int_equal(res.held, 2); /* the device record and the student */
  assert_false(export_has(k.s, "ava-8"));
  /* At the next connection it learns the offset; the held entries come due. */
  assert_int_equal(cairn_store_set_central_offset(k.s, 3 * YEAR_MS), 0);
  set_name(c.s, "ava-8", "Ana");
  res = sync_to(c.s, k.s, NULL);
  assert_int_equal(res.held, 0);
  assert_int_equal(res.released, 2);
  assert_name(k.s, "ava-8", "Ana");
  set_name(k.s, "ava-8", "Ana K.");
  sync_to(k.s, c.s, NULL);
  assert_name(c.s, "ava-8", "Ana K.");
  assert_same_export(c.s, k.s, &north);
  assert_check_clean(k.s);
  assert_check_clean(c.s);
  /* The offset survives a restart. */
  cairn_store_close(k.s);
  device_open(&k, &behind);
  set_name(k.s, "ava-8", "Ana K. L.");
  sync_to(k.s, c.s, NULL);
  assert_name(c.s, "ava-8", "Ana K. L.");
  device_free(&c);
  device_free(&k);
}

/* A store written by a cairn whose clock wrapped: an entry at the end of
 * time, then the central's own later edits dated 0. cairn check reports
 * both; the central's repair re-dates them so that the later edit wins. */
static void test_repair_of_a_wrapped_clock(void **state) {
  (void)state;
  device c, k;
  central_classroom_and_student(&c, &k);

  msgpack_sbuffer body, bad, wrapped;
  name_edit_body("ava-8", "Mallory", &body);
  msgpack_sbuffer_init(&bad);
  craft_entry(&k, CAIRN_REC_STUDENT, &body, UINT64_MAX, &bad);
  assert_int_equal(apply(c.s, &bad), 1); /* as an older cairn did: folded at its date */
  msgpack_sbuffer_destroy(&body);
  name_edit_body("ava-8", "Ana", &body);
  msgpack_sbuffer_init(&wrapped);
  craft_entry(&c, CAIRN_REC_STUDENT, &body, 0, &wrapped);
  assert_int_equal(apply(c.s, &wrapped), 1);
  assert_name(c.s, "ava-8", "Mallory");
  int lines = 0;
  assert_int_equal(cairn_store_check(c.s, count_line, &lines), CAIRN_ECORRUPT);
  assert_int_equal(lines, 2);

  size_t redated;
  assert_int_equal(cairn_store_clock_repair(c.s, &redated), 0);
  assert_int_equal(redated, 3); /* the two, and the central's restamp of the first */
  assert_name(c.s, "ava-8", "Ana");
  assert_check_clean(c.s);
  assert_int_equal(cairn_store_clock_repair(c.s, &redated), 0);
  assert_int_equal(redated, 0);
  /* A classroom that received the damage recovers from the central's log. */
  assert_int_equal(apply(k.s, &wrapped), 1);
  sync_to(c.s, k.s, NULL);
  assert_name(k.s, "ava-8", "Ana");
  assert_check_clean(k.s);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&bad);
  msgpack_sbuffer_destroy(&wrapped);
  device_free(&c);
  device_free(&k);
}

/* A hub that applied a classroom's entries before it learned that the
 * central had revoked the classroom takes them back out, as the central
 * does: after sync their records for the campus are the same. */
static void test_revocation_reaches_what_came_first(void **state) {
  (void)state;
  device c, k, h;
  central_and_classroom(&c, &k);
  device_new(&h, NULL);
  assert_int_equal(cairn_store_set_central(h.s, c.pk), 0);
  cairn_scope north = scope_of("North", "");
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  assert_int_equal(enroll(c.s, h.pk, "North", "", NULL), 0);
  sync_to(c.s, h.s, &north);
  sync_to(c.s, k.s, NULL);
  add_student_at(k.s, "ava-8", "North", "8B");
  add_student_at(k.s, "cy-8", "North", "8B");

  cairn_apply_result res = sync_to(k.s, h.s, &north); /* a bundle, or a link, to the hub */
  assert_int_equal(res.applied, 2);
  assert_true(export_has(h.s, "ava-8"));
  revoke_device(c.s, k.pk); /* the central holds nothing of k yet */

  res = sync_to(h.s, c.s, NULL);
  assert_int_equal(res.quarantined, 2);
  assert_false(export_has(c.s, "ava-8"));
  res = sync_to(c.s, h.s, &north);
  assert_false(export_has(h.s, "ava-8"));
  assert_false(export_has(h.s, "cy-8"));
  assert_same_export(c.s, h.s, &north);
  assert_check_clean(h.s);
  assert_check_clean(c.s);
  /* And the revoked device cannot join again with a new token. */
  uint8_t secret[16];
  char why[128], role[16];
  cairn_scope sc;
  memset(secret, 5, sizeof secret);
  assert_int_equal(cairn_store_token_add(c.s, secret, "classroom", &north, 2000000000), 0);
  assert_int_equal(cairn_store_token_redeem(c.s, secret, k.pk, "x", 1500, &sc, role, why,
                                            sizeof why),
                   CAIRN_EPERM);
  assert_string_equal(why, "this device has been revoked");
  device_free(&c);
  device_free(&k);
  device_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_from_the_end_of_time_cannot_win),
      cmocka_unit_test(test_a_classroom_three_years_ahead),
      cmocka_unit_test(test_a_classroom_three_years_behind),
      cmocka_unit_test(test_repair_of_a_wrapped_clock),
      cmocka_unit_test(test_revocation_reaches_what_came_first),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
