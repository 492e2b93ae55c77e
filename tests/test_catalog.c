/* test_catalog.c: the central's shared catalog in the store: milestone
 * templates and standards (record types 9 and 10) are the central's to
 * write, reach every classroom whatever its scope, are quarantined from
 * anyone else; a milestone names them; and the status view carries what
 * the reports read (template, standard, points, supports, evidence dated
 * after tomorrow). Campuses and classrooms (types 11 and 12, the roster's)
 * are the central's too, but travel by scope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_fixture.h"
#include "text.h"

#define DAY_MS (24LL * 3600 * 1000)

static void add_standard(cairn_store *s, const char *code, char *msg, int want) {
  setb b;
  set_begin(&b, 2);
  set_str(&b, "text", "Write arguments to support claims");
  set_str(&b, "guid", "0b4d5b8c-d7cc-11d4-8b1e-0e5b4a4e0c01");
  assert_int_equal(put1(s, CAIRN_REC_STANDARD, code, 0, &b, NULL, NULL, msg), want);
}

/* A template: 0-4, target 3, "4 of 5", weekly, aligned to standard (NULL:
 * none), with the given statement. Returns the put's result. */
static int add_template(cairn_store *s, const char *id, const char *statement,
                        const char *standard, char *msg) {
  setb b;
  set_begin(&b, 7 + (standard != NULL));
  set_str(&b, "title", "Claim and evidence");
  set_str(&b, "type", "academic");
  set_str(&b, "statement", statement);
  set_str(&b, "scale", "0-4");
  set_num(&b, "target", 3);
  set_str(&b, "rule", "4 of 5");
  set_str(&b, "cadence", "weekly");
  if (standard != NULL)
    set_str(&b, "standard", standard);
  return put1(s, CAIRN_REC_TEMPLATE, id, 0, &b, NULL, NULL, msg);
}

/* A milestone of student from template (NULL: none) aligned to standard
 * (NULL: none), 2026-03-02 to 2026-04-13, 0-4 from 1.5 to 3. */
static int add_aligned(cairn_store *s, const char *student, const char *template_id,
                       const char *standard, char *id, char *msg) {
  setb b;
  set_begin(&b, 8 + (template_id != NULL) + (standard != NULL));
  set_str(&b, "student", student);
  set_str(&b, "type", "academic");
  set_str(&b, "statement", "I will write a clear claim.");
  set_str(&b, "scale", "0-4");
  set_num(&b, "baseline", 1.5);
  set_num(&b, "target", 3);
  set_str(&b, "start", "2026-03-02");
  set_str(&b, "end", "2026-04-13");
  if (template_id != NULL)
    set_str(&b, "template", template_id);
  if (standard != NULL)
    set_str(&b, "standard", standard);
  return put1(s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, id, msg);
}

/* Applies at the central c a record of kind that classroom k forged
 * (body: its entry body, consumed) and returns what the apply says. */
static cairn_apply_result forge(device *c, device *k, int kind, setb *body) {
  msgpack_sbuffer batch;
  cairn_apply_result res;
  sync_batch(k->s, c->s, NULL, &batch);
  craft_next_entry(k, kind, &body->sb, &batch);
  msgpack_sbuffer_destroy(&body->sb);
  assert_int_equal(cairn_store_apply_synced(c->s, (const uint8_t *)batch.data, batch.size, &res),
                   0);
  msgpack_sbuffer_destroy(&batch);
  return res;
}

static void test_only_the_central_publishes(void **state) {
  (void)state;
  device c, k;
  char msg[256];
  central_and_classroom(&c, &k);
  add_standard(c.s, "CCSS.ELA-LITERACY.W.8.1", msg, 0);
  assert_int_equal(add_template(c.s, "ela-claim", "I will use {number} pieces of evidence.",
                                "CCSS.ELA-LITERACY.W.8.1", msg),
                   0);
  /* A classroom may not, nor may a template name a standard no one published. */
  assert_int_equal(add_template(k.s, "mine", "I will.", NULL, msg), CAIRN_EPERM);
  assert_string_equal(msg, "templates are published by the central");
  add_standard(k.s, "W.8.1", msg, CAIRN_EPERM);
  assert_string_equal(msg, "standards are published by the central");
  assert_int_equal(cairn_store_own_seq(k.s), 0);
  assert_int_equal(add_template(c.s, "t2", "I will.", "NO.SUCH", msg), CAIRN_ENOTFOUND);
  assert_string_equal(msg, "standard NO.SUCH: no such standard (the central publishes them)");
  /* What the schema refuses, with the field named. */
  assert_int_equal(add_template(c.s, "t3", "I will {read", NULL, msg), CAIRN_EINVAL);
  assert_string_equal(msg, "statement: a '{' with no '}' after it (write {{ for a brace)");
  assert_int_equal(add_template(c.s, "ela-claim", "I will.", NULL, msg), CAIRN_EEXISTS);
  setb b;
  set_begin(&b, 1);
  set_str(&b, "text", "x");
  assert_int_equal(put1(c.s, CAIRN_REC_STANDARD, "bad code!", 0, &b, NULL, NULL, msg),
                   CAIRN_EINVAL);
  assert_non_null(strstr(msg, "'bad code!' is not an id"));
  set_begin(&b, 2);
  set_str(&b, "text", "x");
  set_str(&b, "guid", "not-a-uuid");
  assert_int_equal(put1(c.s, CAIRN_REC_STANDARD, "W.8.2", 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_string_equal(msg, "guid: not a CASE identifier (a UUID: 8-4-4-4-12 hex digits)");
  set_begin(&b, 5);
  set_str(&b, "title", "t");
  set_str(&b, "type", "academic");
  set_str(&b, "statement", "I will.");
  set_str(&b, "scale", "0-4");
  set_num(&b, "target", 5);
  assert_int_equal(put1(c.s, CAIRN_REC_TEMPLATE, "t4", 0, &b, NULL, NULL, msg), CAIRN_ERANGE);
  assert_string_equal(msg, "target: the scale is 0-4: a number from 0 to 4, not 5");
  assert_check_clean(c.s);
  device_free(&c);
  device_free(&k);
}

/* Templates and standards reach a classroom of any campus, unredacted; a
 * template written by anyone but the central is quarantined. */
static void test_catalog_reaches_every_classroom(void **state) {
  (void)state;
  device c, k;
  char msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "South", "1A", NULL), 0);
  add_standard(c.s, "W.8.1", msg, 0);
  assert_int_equal(add_template(c.s, "ela-claim", "I will.", "W.8.1", msg), 0);
  add_student_at(c.s, "ava-8", "North", "8B"); /* another campus's: stays out */
  cairn_scope south = scope_of("South", "1A");
  sync_to(c.s, k.s, &south);
  assert_true(export_has(k.s, "ela-claim"));
  assert_true(export_has(k.s, "W.8.1"));
  assert_false(export_has(k.s, "ava-8"));
  /* the scoped export of any campus holds them, as its classrooms do */
  reply scoped;
  export_scoped(c.s, &south, &scoped.sb);
  const msgpack_object *recs = reply_decode(&scoped);
  assert_int_equal(recs->via.array.size, 3); /* k's device record, the template, the standard */
  assert_str(cairn_record_map_get(&recs->via.array.ptr[1], "id"), "ela-claim");
  assert_str(cairn_record_map_get(&recs->via.array.ptr[2], "id"), "W.8.1");
  reply_free(&scoped);

  /* A classroom can make a milestone from it. */
  add_student_at(k.s, "bo-1", "South", "1A");
  char mid[72];
  assert_int_equal(add_aligned(k.s, "bo-1", "ela-claim", "W.8.1", mid, msg), 0);
  assert_int_equal(add_aligned(k.s, "bo-1", "no-such", NULL, NULL, msg), CAIRN_ENOTFOUND);
  assert_string_equal(msg, "template no-such: no such template (the central publishes them)");

  /* A template entry of the classroom's own making, synced up: quarantined. */
  setb body;
  set_begin(&body, 4);
  set_str(&body, "id", "forged");
  set_true(&body, "new");
  pack_s(&body.pk, "set");
  msgpack_pack_map(&body.pk, 4);
  set_str(&body, "title", "t");
  set_str(&body, "type", "academic");
  set_str(&body, "statement", "I will.");
  set_str(&body, "scale", "0-4");
  pack_s(&body.pk, "scope");
  msgpack_pack_array(&body.pk, 2);
  pack_s(&body.pk, "");
  pack_s(&body.pk, "");
  cairn_apply_result res = forge(&c, &k, CAIRN_REC_TEMPLATE, &body);
  assert_int_equal(res.quarantined, 1);
  assert_non_null(strstr(res.reason, "templates and standards are written by the central"));
  assert_false(export_has(c.s, "forged"));
  assert_true(export_has(c.s, mid)); /* the milestone made from the template arrived */
  assert_check_clean(c.s);
  device_free(&c);
  device_free(&k);
}

static int add_place(cairn_store *s, int type, const char *id, const char *campus, char *msg) {
  setb b;
  set_begin(&b, 1 + (campus != NULL));
  set_str(&b, "name", "Room or school");
  if (campus != NULL)
    set_str(&b, "campus", campus);
  return put1(s, type, id, 0, &b, NULL, NULL, msg);
}

/* Campuses and classrooms (roster import): the central's to write; a
 * campus reaches every node of it, a classroom only itself; anyone else's
 * is refused, and quarantined when it arrives. */
static void test_campuses_and_classrooms(void **state) {
  (void)state;
  device c, k;
  char msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "South", "1A", NULL), 0);
  assert_int_equal(add_place(c.s, CAIRN_REC_CAMPUS, "South", NULL, msg), 0);
  assert_int_equal(add_place(c.s, CAIRN_REC_CAMPUS, "North", NULL, msg), 0);
  assert_int_equal(add_place(c.s, CAIRN_REC_CLASSROOM, "1A", "South", msg), 0);
  assert_int_equal(add_place(c.s, CAIRN_REC_CLASSROOM, "2B", "South", msg), 0);
  assert_int_equal(add_place(c.s, CAIRN_REC_CLASSROOM, "3C", "West", msg), CAIRN_ENOTFOUND);
  assert_string_equal(msg, "campus West: no such campus (the central publishes them)");
  assert_int_equal(add_place(k.s, CAIRN_REC_CAMPUS, "Mine", NULL, msg), CAIRN_EPERM);
  assert_string_equal(msg, "campuses are written by the central (cairn roster import)");
  cairn_scope south = scope_of("South", "1A");
  sync_to(c.s, k.s, &south);
  assert_true(export_has(k.s, "South"));
  assert_true(export_has(k.s, "1A"));
  assert_false(export_has(k.s, "2B"));
  assert_false(export_has(k.s, "North"));

  /* A classroom record of the classroom's own making, synced up: quarantined. */
  setb body;
  set_begin(&body, 4);
  set_str(&body, "id", "1A");
  set_true(&body, "new");
  pack_s(&body.pk, "set");
  msgpack_pack_map(&body.pk, 2);
  set_str(&body, "name", "forged");
  set_str(&body, "campus", "South");
  pack_s(&body.pk, "scope");
  msgpack_pack_array(&body.pk, 2);
  pack_s(&body.pk, "South");
  pack_s(&body.pk, "1A");
  cairn_apply_result res = forge(&c, &k, CAIRN_REC_CLASSROOM, &body);
  assert_int_equal(res.quarantined, 1);
  assert_non_null(strstr(res.reason, "campuses and classrooms are written by the central"));
  assert_check_clean(c.s);
  device_free(&c);
  device_free(&k);
}

/* A template, a standard and a student may share an id: each read names
 * its type. */
static void test_reads_by_type(void **state) {
  (void)state;
  device c;
  char msg[256];
  device_new(&c, NULL);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  add_student(c.s, "w8");
  add_standard(c.s, "w8", msg, 0);
  assert_int_equal(add_template(c.s, "w8", "I will.", "w8", msg), 0);
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show_type(c.s, CAIRN_REC_TEMPLATE, "w8", &h), 0);
  assert_string_equal(h->type, "template");
  cairn_store_history_free(h);
  assert_int_equal(cairn_store_show(c.s, "w8", &h), 0);
  assert_string_equal(h->type, "student"); /* any type: the first by number */
  cairn_store_history_free(h);
  assert_int_equal(cairn_store_show_type(c.s, CAIRN_REC_MILESTONE, "w8", &h), CAIRN_ENOTFOUND);

  /* The export of one type: only templates, whatever else is held. */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint8_t next[CAIRN_STORE_CURSOR_MAX];
  size_t next_len = 99;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  assert_int_equal(cairn_store_export_type(c.s, CAIRN_REC_TEMPLATE, NULL, NULL, 0, 0, &pk, next,
                                           &next_len),
                   0);
  assert_int_equal(next_len, 0);
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(u.data.via.array.size, 1);
  assert_str(cairn_record_map_get(&u.data.via.array.ptr[0], "type"), "template");
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  device_free(&c);
}

/* The status view carries a milestone's template and standard, its points
 * as of the day, every support change, and the evidence dated after
 * tomorrow by this node's clock, which it leaves out of the status. */
static void test_status_view_for_reports(void **state) {
  (void)state;
  /* This node's clock is three days behind the real one (the test skew). */
  cairn_store_opts opts = {.clock_offset_ms = -3 * DAY_MS};
  device c;
  char msg[256], mid[72], day[11], start[11], end[11];
  int32_t real = cairn_text_today();
  device_new(&c, &opts);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  assert_int_equal(cairn_store_today(c.s), real - 3);
  add_standard(c.s, "W.8.1", msg, 0);
  assert_int_equal(add_template(c.s, "ela-claim", "I will.", "W.8.1", msg), 0);
  add_student(c.s, "ava-8");
  setb b;
  cairn_text_date_format(real - 30, start);
  cairn_text_date_format(real + 30, end);
  dated_milestone(&b, "ava-8", start, end);
  assert_int_equal(put1(c.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, mid, msg), 0);
  set_begin(&b, 3);
  set_str(&b, "template", "ela-claim");
  set_str(&b, "standard", "W.8.1");
  set_str(&b, "support", "reading buddy");
  assert_int_equal(put1(c.s, CAIRN_REC_MILESTONE, mid, 1, &b, "from the catalog", NULL, msg), 0);
  cairn_text_date_format(real - 20, day);
  assert_int_equal(add_evidence(c.s, mid, day, 1, NULL, msg), 0);
  cairn_text_date_format(real - 10, day);
  assert_int_equal(add_evidence(c.s, mid, day, 2, NULL, msg), 0);
  char future_id[72];
  cairn_text_date_format(real, day); /* today by the real clock: after tomorrow by this node's */
  assert_int_equal(add_evidence(c.s, mid, day, 4, future_id, msg), 0);
  const char *changes[] = {"small group", "mentor"};
  for (int i = 0; i < 2; i++) {
    set_begin(&b, 3);
    set_str(&b, "milestone", mid);
    cairn_text_date_format(real - 15 + 14 * i, day); /* the second is after the view's day */
    set_str(&b, "date", day);
    set_str(&b, "support", changes[i]);
    assert_int_equal(put1(c.s, CAIRN_REC_SUPPORT_CHANGE, NULL, 0, &b, NULL, NULL, msg), 0);
  }

  cairn_store_status_view *v = NULL;
  assert_int_equal(cairn_store_status(c.s, NULL, real - 3, &v), 0);
  assert_int_equal(v->future_after, real - 2);
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  assert_string_equal(m->template_id, "ela-claim");
  assert_string_equal(m->standard, "W.8.1");
  assert_string_equal(m->planned_support, "reading buddy");
  assert_string_equal(m->support, "small group"); /* the mentor comes later */
  assert_int_equal(m->npoints, 2);
  assert_int_equal(m->points[0].day, real - 20);
  assert_true(m->points[1].value == 2);
  assert_int_equal(m->progress.points, 2); /* the future point is no point of the status */
  assert_int_equal(m->nsupports, 1);
  assert_int_equal(m->supports[0].day, real - 15);
  assert_string_equal(m->supports[0].support, "small group");
  assert_int_equal(m->nfuture, 1);
  assert_string_equal(m->future[0].id, future_id);
  assert_int_equal(m->future[0].observed, real);
  cairn_store_status_free(v);

  /* A milestone of no template or standard has neither; nor future points. */
  char other[72];
  assert_int_equal(add_aligned(c.s, "ava-8", NULL, NULL, other, msg), 0);
  assert_int_equal(cairn_store_status(c.s, "ava-8", real - 3, &v), 0);
  assert_int_equal(v->students[0].nmilestones, 2);
  m = &v->students[0].milestones[strcmp(v->students[0].milestones[0].id, other) == 0 ? 0 : 1];
  assert_null(m->template_id);
  assert_null(m->standard);
  assert_null(m->planned_support);
  assert_int_equal(m->nfuture, 0);
  cairn_store_status_free(v);
  device_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_the_central_publishes),
      cmocka_unit_test(test_catalog_reaches_every_classroom),
      cmocka_unit_test(test_campuses_and_classrooms),
      cmocka_unit_test(test_reads_by_type),
      cmocka_unit_test(test_status_view_for_reports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
