/* test_schoolyear.c: a student and their milestones through a school year,
 * at the store: accommodations and classrooms as sets written by several
 * devices, a student in two classrooms, moves, withdrawal, milestones
 * closed, archived and carried forward, ordinal scales, all-or-nothing
 * batches. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "text.h"
#include "store_fixture.h"

/* A central and two classroom devices of campus North, rooms 12 and 14,
 * each enrolled and holding the central's log. */
typedef struct district {
  device c, r12, r14;
  cairn_scope s12, s14;
} district;

static void district_new(district *d) {
  central_and_classroom(&d->c, &d->r12);
  device_new(&d->r14, NULL);
  assert_int_equal(cairn_store_set_central(d->r14.s, d->c.pk), 0);
  d->s12 = scope_of("North", "12");
  d->s14 = scope_of("North", "14");
  assert_int_equal(enroll(d->c.s, d->r12.pk, "North", "12", NULL), 0);
  assert_int_equal(enroll(d->c.s, d->r14.pk, "North", "14", NULL), 0);
  sync_to(d->c.s, d->r12.s, &d->s12);
  sync_to(d->c.s, d->r14.s, &d->s14);
}

static void district_free(district *d) {
  device_free(&d->c);
  device_free(&d->r12);
  device_free(&d->r14);
}

/* Everything a classroom wrote goes up; what the central holds comes down
 * to both classrooms, each in its scope. */
static void district_sync(district *d) {
  cairn_apply_result res = sync_to(d->r12.s, d->c.s, NULL);
  assert_int_equal(res.refused, 0);
  res = sync_to(d->r14.s, d->c.s, NULL);
  assert_int_equal(res.refused, 0);
  sync_to(d->c.s, d->r12.s, &d->s12);
  sync_to(d->c.s, d->r14.s, &d->s14);
}

/* The summary of student id on s (the caller frees *v). */
static const cairn_store_student_summary *summary_of(cairn_store *s, const char *id,
                                                     cairn_store_status_view **v) {
  *v = NULL;
  assert_int_equal(cairn_store_status(s, id, cairn_text_today(), v), 0);
  assert_int_equal((*v)->nstudents, 1);
  return &(*v)->students[0];
}

/* 1 when list[0..n) holds s. */
static int has(const char *const *list, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], s) == 0)
      return 1;
  return 0;
}

/* A student created on one classroom with one accommodation, as `cairn
 * student add` writes it (the whole lists: the store writes them as
 * additions). rooms: the classrooms, NULL-terminated. */
static void add_student_rooms(cairn_store *s, const char *id, const char *const *rooms,
                              const char *accommodation) {
  setb b;
  uint32_t n = 0;
  while (rooms[n] != NULL)
    n++;
  set_begin(&b, 4);
  set_str(&b, "name", "Ana Lopez");
  set_str(&b, "campus", "North");
  pack_s(&b.pk, "classrooms");
  msgpack_pack_array(&b.pk, n);
  for (uint32_t i = 0; i < n; i++)
    pack_s(&b.pk, rooms[i]);
  pack_s(&b.pk, "accommodations");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, accommodation);
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, id, 0, &b, NULL, NULL, NULL), 0);
}

static void add_student_in(cairn_store *s, const char *id, const char *room,
                           const char *accommodation) {
  const char *rooms[] = {room, NULL};
  add_student_rooms(s, id, rooms, accommodation);
}

/* Packs "field": {add: [add...], remove: [remove...]} (NULL-terminated
 * lists; NULL for none). */
static void set_ops(setb *b, const char *field, const char *const *add,
                    const char *const *remove) {
  const char *const *lists[2] = {add, remove};
  const char *names[2] = {"add", "remove"};
  uint32_t nl = (add != NULL) + (remove != NULL);
  pack_s(&b->pk, field);
  msgpack_pack_map(&b->pk, nl);
  for (int l = 0; l < 2; l++) {
    uint32_t n = 0;
    if (lists[l] == NULL)
      continue;
    while (lists[l][n] != NULL)
      n++;
    pack_s(&b->pk, names[l]);
    msgpack_pack_array(&b->pk, n);
    for (uint32_t i = 0; i < n; i++)
      pack_s(&b->pk, lists[l][i]);
  }
}

/* One put by a device whose scope is within (NULL: the central's); its
 * result, the id in id_out and the refusal in msg (each may be NULL). */
static int put_in(cairn_store *s, int type, const char *id, int edit, setb *b,
                  const cairn_scope *within, char *id_out, char *msg) {
  cairn_put p = {.type = type, .id = id, .edit = edit, .set = (const uint8_t *)b->sb.data,
                 .set_len = b->sb.size, .within = within};
  assert_int_equal(cairn_store_write_batch(s, &p, 1), 0);
  if (id_out != NULL)
    strcpy(id_out, p.id_out);
  if (msg != NULL)
    strcpy(msg, p.message);
  if (p.result != 0)
    print_message("refused: %s\n", p.message);
  msgpack_sbuffer_destroy(&b->sb);
  return p.result;
}

/* A put that must be refused with a message holding want, writing nothing. */
static void refused(cairn_store *s, int type, const char *id, int edit, setb *b,
                    const cairn_scope *within, int code, const char *want) {
  char msg[256];
  uint64_t seq = cairn_store_own_seq(s);
  assert_int_equal(put_in(s, type, id, edit, b, within, NULL, msg), code);
  if (strstr(msg, want) == NULL)
    fail_msg("refusal '%s' does not say '%s'", msg, want);
  assert_int_equal(cairn_store_own_seq(s), seq);
}

/* A 0-4 milestone of student from 2026-03-02 to 2026-04-13. */
static void milestone_of(cairn_store *s, const char *student, const cairn_scope *within,
                         char *id) {
  setb b;
  minimal_milestone(&b, student);
  assert_int_equal(put_in(s, CAIRN_REC_MILESTONE, NULL, 0, &b, within, id, NULL), 0);
}

static int evidence_in(cairn_store *s, const char *ms, const char *day, double v,
                       const cairn_scope *within, char *id) {
  setb b;
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", day);
  set_num(&b, "value", v);
  return put_in(s, CAIRN_REC_EVIDENCE, NULL, 0, &b, within, id, NULL);
}

/* Two classrooms each add the same student with their own accommodation:
 * at the central, and then on both classrooms, both accommodations hold
 * (before, one survived only as a conflict's loser). */
static void test_two_classrooms_keep_both_accommodations(void **state) {
  (void)state;
  district d;
  district_new(&d);
  add_student_in(d.r12.s, "ana-8", "12", "extended time");
  add_student_in(d.r14.s, "ana-8", "14", "sentence stems");
  district_sync(&d);

  cairn_store_status_view *v;
  const cairn_store_student_summary *sum = summary_of(d.c.s, "ana-8", &v);
  assert_int_equal(sum->naccommodations, 2);
  assert_true(has(sum->accommodations, sum->naccommodations, "extended time"));
  assert_true(has(sum->accommodations, sum->naccommodations, "sentence stems"));
  /* and both classrooms: what the central writes about her reaches both */
  assert_int_equal(sum->nclassrooms, 2);
  assert_true(has(sum->classrooms, 2, "12") && has(sum->classrooms, 2, "14"));
  cairn_store_status_free(v);
  assert_check_clean(d.c.s);
  char ms[72];
  milestone_of(d.c.s, "ana-8", NULL, ms);
  district_sync(&d);
  assert_true(export_has(d.r12.s, ms));
  assert_true(export_has(d.r14.s, ms));
  district_free(&d);
}

/* Each link caches which authors its classroom wants; the store's reach
 * epoch says when that cache is stale. A classroom writing about its own
 * classroom changes no answer a link gives: the epoch stays (a storm of
 * classrooms, each writing its first entries, made every link look again
 * at every author, each time); an entry that names another classroom
 * moves it. */
static void test_reach_epoch_moves_only_for_another_classroom(void **state) {
  (void)state;
  district d;
  district_new(&d);
  unsigned before = cairn_store_reach_epoch(d.c.s);
  add_student_at(d.r12.s, "bo-1", "North", "12");
  assert_int_equal(sync_to(d.r12.s, d.c.s, NULL).refused, 0);
  assert_true(export_has(d.c.s, "bo-1"));
  assert_int_equal(cairn_store_reach_epoch(d.c.s), before);
  static const char *const both[] = {"12", "14", NULL};
  add_student_rooms(d.r12.s, "ana-8", both, "extended time");
  assert_int_equal(sync_to(d.r12.s, d.c.s, NULL).refused, 0);
  assert_true(cairn_store_reach_epoch(d.c.s) != before);
  assert_int_equal(cairn_store_author_reaches(d.c.s, d.r12.pk, &d.s14), 1);
  district_free(&d);
}

/* A student of both rooms gets the entries about them in both; an
 * accommodation removed on one classroom is gone everywhere. */
static void test_student_in_two_classrooms(void **state) {
  (void)state;
  district d;
  char ms[72], ev[72];
  static const char *const both[] = {"12", "14", NULL};
  static const char *const stems[] = {"sentence stems", NULL};
  district_new(&d);
  add_student_rooms(d.r12.s, "ana-8", both, "extended time");
  district_sync(&d);
  setb b;
  set_begin(&b, 1);
  set_ops(&b, "accommodations", stems, NULL);
  assert_int_equal(put_in(d.r14.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s14, NULL, NULL), 0);
  district_sync(&d);

  cairn_store_status_view *v;
  const cairn_store_student_summary *sum = summary_of(d.r12.s, "ana-8", &v);
  assert_int_equal(sum->nclassrooms, 2);
  assert_true(has(sum->classrooms, 2, "12") && has(sum->classrooms, 2, "14"));
  assert_int_equal(sum->naccommodations, 2);
  cairn_store_status_free(v);

  /* room 12 writes a milestone and evidence: room 14 holds them in full */
  milestone_of(d.r12.s, "ana-8", &d.s12, ms);
  assert_int_equal(evidence_in(d.r12.s, ms, "2026-03-09", 2, &d.s12, ev), 0);
  district_sync(&d);
  assert_true(export_has(d.r14.s, ms));
  assert_true(export_has(d.r14.s, ev));
  assert_true(export_has(d.c.s, ev));

  /* room 14 removes an accommodation: gone at the central and in room 12 */
  static const char *const gone[] = {"extended time", NULL};
  set_begin(&b, 1);
  set_ops(&b, "accommodations", NULL, gone);
  assert_int_equal(put_in(d.r14.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s14, NULL, NULL), 0);
  district_sync(&d);
  device *nodes[] = {&d.c, &d.r12, &d.r14};
  for (size_t i = 0; i < 3; i++) {
    sum = summary_of(nodes[i]->s, "ana-8", &v);
    assert_int_equal(sum->naccommodations, 1);
    assert_string_equal(sum->accommodations[0], "sentence stems");
    cairn_store_status_free(v);
    assert_check_clean(nodes[i]->s);
  }

  /* removing what is not there names the set and what it holds */
  set_begin(&b, 1);
  set_ops(&b, "accommodations", NULL, gone);
  refused(d.r14.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s14, CAIRN_EINVAL,
          "accommodations: 'extended time' is not one of the student's (sentence stems)");

  /* the two classrooms' exports of the student agree with the central's */
  msgpack_sbuffer ec, ek;
  export_scoped(d.c.s, &d.s14, &ec);
  export_scoped(d.r14.s, &d.s14, &ek);
  assert_int_equal(ec.size, ek.size);
  assert_memory_equal(ec.data, ek.data, ec.size);
  msgpack_sbuffer_destroy(&ec);
  msgpack_sbuffer_destroy(&ek);
  district_free(&d);
}

/* An add and a remove of the same element on two devices: the later one
 * (by HLC) holds on every node, whatever order they arrive in. */
static void test_latest_operation_wins(void **state) {
  (void)state;
  district d;
  static const char *const both[] = {"12", "14", NULL};
  district_new(&d);
  add_student_rooms(d.r12.s, "ana-8", both, "extended time");
  district_sync(&d);
  setb b;

  /* offline, a few milliseconds apart: room 14 removes "extended time",
   * then room 12, not knowing, adds "break card" and "extended time" */
  static const char *const et[] = {"extended time", NULL};
  static const char *const both_acc[] = {"break card", "extended time", NULL};
  set_begin(&b, 1);
  set_ops(&b, "accommodations", NULL, et);
  assert_int_equal(put_in(d.r14.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s14, NULL, NULL), 0);
  usleep(5000);
  set_begin(&b, 1);
  set_ops(&b, "accommodations", both_acc, NULL);
  assert_int_equal(put_in(d.r12.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s12, NULL, NULL), 0);
  district_sync(&d);
  device *nodes[] = {&d.c, &d.r12, &d.r14};
  for (size_t i = 0; i < 3; i++) {
    cairn_store_status_view *v;
    const cairn_store_student_summary *sum = summary_of(nodes[i]->s, "ana-8", &v);
    assert_int_equal(sum->naccommodations, 2);
    assert_string_equal(sum->accommodations[0], "break card");
    assert_string_equal(sum->accommodations[1], "extended time");
    cairn_store_status_free(v);
  }
  /* and the other way round: the later removal holds */
  static const char *const card[] = {"break card", NULL};
  set_begin(&b, 1);
  set_ops(&b, "accommodations", card, NULL);
  assert_int_equal(put_in(d.r12.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s12, NULL, NULL), 0);
  usleep(5000);
  set_begin(&b, 1);
  set_ops(&b, "accommodations", NULL, card);
  assert_int_equal(put_in(d.r14.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s14, NULL, NULL), 0);
  district_sync(&d);
  for (size_t i = 0; i < 3; i++) {
    cairn_store_status_view *v;
    const cairn_store_student_summary *sum = summary_of(nodes[i]->s, "ana-8", &v);
    assert_int_equal(sum->naccommodations, 1);
    assert_string_equal(sum->accommodations[0], "extended time");
    cairn_store_status_free(v);
    assert_check_clean(nodes[i]->s);
  }
  district_free(&d);
}

/* A move: the move itself reaches the classroom left (so it knows), the
 * student's new entries reach only the new one, and the old classroom may
 * no longer write for the student. */
static void test_move_to_another_classroom(void **state) {
  (void)state;
  district d;
  char ms[72], ev[72], msg[256];
  district_new(&d);
  add_student_in(d.r12.s, "ana-8", "12", "extended time");
  milestone_of(d.r12.s, "ana-8", &d.s12, ms);
  district_sync(&d);

  /* room 12 moves her to room 14: the classrooms exactly {14} */
  setb b;
  set_begin(&b, 1);
  pack_s(&b.pk, "classrooms");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, "14");
  assert_int_equal(put_in(d.r12.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s12, NULL, NULL), 0);
  district_sync(&d);
  cairn_store_status_view *v;
  const cairn_store_student_summary *sum = summary_of(d.r12.s, "ana-8", &v);
  assert_int_equal(sum->nclassrooms, 1);
  assert_string_equal(sum->classrooms[0], "14");
  cairn_store_status_free(v);

  /* room 12's whole-node status no longer lists her */
  cairn_store_status_filter f = {.as_of = cairn_text_today(), .classroom = "12"};
  assert_int_equal(cairn_store_status_filtered(d.r12.s, &f, &v), 0);
  assert_int_equal(v->nstudents, 0);
  cairn_store_status_free(v);

  /* the central writes evidence: room 14 gets it, room 12 does not */
  assert_int_equal(evidence_in(d.c.s, ms, "2026-03-09", 2, NULL, ev), 0);
  district_sync(&d);
  assert_true(export_has(d.r14.s, ev));
  assert_false(export_has(d.r12.s, ev));

  /* and room 12 may not write for her any more */
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-10");
  set_num(&b, "value", 3);
  refused(d.r12.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, &d.s12, CAIRN_EPERM,
          "milestone: its student is outside this device's scope: not in its classroom (12)");
  set_begin(&b, 1);
  set_str(&b, "grade", "9");
  refused(d.r12.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, &d.s12, CAIRN_EPERM,
          "classrooms: outside this device's scope: it writes only for students of its "
          "classroom (12)");
  /* nor add a student of another classroom only, or of another campus */
  set_begin(&b, 3);
  set_str(&b, "name", "Bo");
  set_str(&b, "campus", "North");
  set_str(&b, "classroom", "14");
  refused(d.r12.s, CAIRN_REC_STUDENT, "bo-1", 0, &b, &d.s12, CAIRN_EPERM, "classrooms:");
  set_begin(&b, 2);
  set_str(&b, "name", "Bo");
  set_str(&b, "campus", "South");
  refused(d.r12.s, CAIRN_REC_STUDENT, "bo-1", 0, &b, &d.s12, CAIRN_EPERM,
          "campus: outside this device's scope (campus North)");
  (void)msg;
  assert_check_clean(d.r12.s);
  assert_check_clean(d.r14.s);
  district_free(&d);
}

/* Entries written before sets: `classroom` and a whole accommodations
 * array read as the sets exactly as of that write; an operation after them
 * adds on top. */
static void test_writes_from_before_sets(void **state) {
  (void)state;
  device k;
  device_new(&k, NULL);
  msgpack_sbuffer body, entry;
  msgpack_packer pk;
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  pack_s(&pk, "id");
  pack_s(&pk, "ana-8");
  pack_s(&pk, "new");
  msgpack_pack_true(&pk);
  pack_s(&pk, "set");
  msgpack_pack_map(&pk, 4);
  pack_s(&pk, "name");
  pack_s(&pk, "Ana");
  pack_s(&pk, "campus");
  pack_s(&pk, "North");
  pack_s(&pk, "classroom");
  pack_s(&pk, "12");
  pack_s(&pk, "accommodations");
  msgpack_pack_array(&pk, 2);
  pack_s(&pk, "extended time");
  pack_s(&pk, "sentence stems");
  pack_s(&pk, "scope");
  msgpack_pack_array(&pk, 2);
  pack_s(&pk, "North");
  pack_s(&pk, "12");
  msgpack_sbuffer_init(&entry);
  craft_next_entry(&k, CAIRN_REC_STUDENT, &body, &entry);
  size_t applied = 0;
  char why[200];
  assert_int_equal(cairn_store_apply_entries(k.s, (const uint8_t *)entry.data, entry.size,
                                             &applied, why, sizeof why),
                   0);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&entry);

  cairn_store_status_view *v;
  const cairn_store_student_summary *sum = summary_of(k.s, "ana-8", &v);
  assert_int_equal(sum->nclassrooms, 1);
  assert_string_equal(sum->classrooms[0], "12");
  assert_int_equal(sum->naccommodations, 2);
  cairn_store_status_free(v);

  /* a put giving the old field still works: the classrooms exactly {14} */
  setb b;
  set_begin(&b, 1);
  set_str(&b, "classroom", "14");
  assert_int_equal(put1(k.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, NULL, NULL, NULL), 0);
  static const char *const more[] = {"break card", NULL};
  set_begin(&b, 1);
  set_ops(&b, "accommodations", more, NULL);
  assert_int_equal(put1(k.s, CAIRN_REC_STUDENT, "ana-8", 1, &b, NULL, NULL, NULL), 0);
  sum = summary_of(k.s, "ana-8", &v);
  assert_int_equal(sum->nclassrooms, 1);
  assert_string_equal(sum->classrooms[0], "14");
  assert_int_equal(sum->naccommodations, 3);
  assert_string_equal(sum->accommodations[2], "break card");
  cairn_store_status_free(v);

  /* show and export give the sets, never the old field */
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show(k.s, "ana-8", &h), 0);
  int classrooms = 0, classroom = 0;
  for (size_t i = 0; i < h->nfields; i++) {
    classrooms |= strcmp(h->fields[i].name, "classrooms") == 0;
    classroom |= strcmp(h->fields[i].name, "classroom") == 0;
  }
  assert_true(classrooms && !classroom);
  assert_int_equal(h->nconflicts, 0);
  cairn_store_history_free(h);
  assert_check_clean(k.s);
  device_free(&k);
}


/* A withdrawn student is kept, hidden from the whole node's status, and
 * read-only (every write about them refused naming them) until
 * re-enrolled. */
static void test_withdrawn_student_is_read_only(void **state) {
  (void)state;
  device d;
  char ms[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_student(d.s, "ben-6");
  milestone_of(d.s, "ava-8", NULL, ms);
  char other[72];
  milestone_of(d.s, "ben-6", NULL, other);
  setb b;
  set_begin(&b, 2);
  set_true(&b, "withdrawn");
  set_str(&b, "withdrawn_on", "2026-03-20");
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, "moved away", NULL, NULL), 0);

  cairn_store_status_view *v = NULL;
  assert_int_equal(cairn_store_status(d.s, NULL, cairn_text_today(), &v), 0);
  assert_int_equal(v->nstudents, 1);
  assert_string_equal(v->students[0].id, "ben-6");
  cairn_store_status_free(v);
  cairn_store_status_filter f = {.as_of = cairn_text_today(), .withdrawn = 1};
  assert_int_equal(cairn_store_status_filtered(d.s, &f, &v), 0);
  assert_int_equal(v->nstudents, 2);
  assert_true(v->students[0].withdrawn);
  cairn_store_status_free(v);

  static const char *const want = "student ava-8 was withdrawn on 2026-03-20: their records are "
                                  "read-only until they are re-enrolled";
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-09");
  set_num(&b, "value", 2);
  refused(d.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, CAIRN_EPERM, want);
  set_begin(&b, 1);
  set_str(&b, "statement", "changed");
  refused(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, CAIRN_EPERM, want);
  set_begin(&b, 1);
  set_str(&b, "grade", "9");
  refused(d.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, NULL, CAIRN_EPERM, want);
  minimal_milestone(&b, "ava-8");
  refused(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, CAIRN_EPERM, want);

  /* re-enrolled: writable again */
  set_begin(&b, 1);
  pack_s(&b.pk, "withdrawn");
  msgpack_pack_false(&b.pk);
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, "back", NULL, NULL), 0);
  assert_int_equal(evidence_in(d.s, ms, "2026-03-09", 2, NULL, NULL), 0);
  assert_check_clean(d.s);
  device_free(&d);
}

/* Sets a milestone's result (and closed day, and what replaced it). */
static int close_ms(cairn_store *s, const char *ms, const char *result, const char *day,
                    const char *by, char *msg) {
  setb b;
  set_begin(&b, 1 + (day != NULL) + (by != NULL));
  set_str(&b, "result", result);
  if (day != NULL)
    set_str(&b, "closed", day);
  if (by != NULL)
    set_str(&b, "replaced_by", by);
  return put_in(s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, msg);
}

/* A closed milestone shows its result and no light from the day it was
 * closed; before that day it is computed as if open. Replaced needs the
 * milestone that replaces it, of the same student. */
static void test_close_with_a_result(void **state) {
  (void)state;
  device d;
  char ms[72], next[72], other[72], msg[256];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_student(d.s, "ben-6");
  milestone_of(d.s, "ava-8", NULL, ms);
  milestone_of(d.s, "ava-8", NULL, next);
  milestone_of(d.s, "ben-6", NULL, other);
  static const char *const days[] = {"2026-03-03", "2026-03-10", "2026-03-17"};
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(evidence_in(d.s, ms, days[i], 1, NULL, NULL), 0);

  setb b;
  set_begin(&b, 1);
  set_str(&b, "result", "met");
  refused(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, CAIRN_EINVAL, "closed: required");
  assert_int_not_equal(close_ms(d.s, ms, "replaced", "2026-03-20", NULL, msg), 0);
  assert_non_null(strstr(msg, "replaced_by: required"));
  assert_int_not_equal(close_ms(d.s, ms, "replaced", "2026-03-20", other, msg), 0);
  assert_non_null(strstr(msg, "replaced_by"));
  assert_non_null(strstr(msg, "a milestone of student ben-6, not of ava-8"));
  assert_int_not_equal(close_ms(d.s, ms, "replaced", "2026-03-20", ms, msg), 0);
  assert_non_null(strstr(msg, "replaced_by: a milestone cannot replace itself"));
  assert_int_not_equal(close_ms(d.s, ms, "met", "2099-01-01", NULL, msg), 0);
  assert_non_null(strstr(msg, "closed: 2099-01-01 is after tomorrow"));

  /* closed as met on 03-20 although its points are below the target */
  assert_int_equal(close_ms(d.s, ms, "met", "2026-03-20", NULL, msg), 0);
  int32_t day;
  cairn_store_status_view *v = NULL;
  assert_int_equal(cairn_text_date_parse("2026-03-25", 10, &day), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  assert_string_equal(m->id, ms);
  assert_true(m->progress.closed && m->progress.ended);
  assert_int_equal(m->progress.result, CAIRN_RESULT_MET);
  assert_int_equal(m->progress.light, CAIRN_LIGHT_NONE);
  assert_int_equal(m->progress.next_review_due, CAIRN_PROGRESS_NO_DAY);
  assert_int_equal(m->ntriggered, 0);
  assert_string_equal(m->why, "closed on 2026-03-20: met; the last point misses the target");
  assert_int_equal(v->students[0].open, 1); /* next */
  cairn_store_status_free(v);
  /* as of the day before, it runs */
  assert_int_equal(cairn_text_date_parse("2026-03-19", 10, &day), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  m = &v->students[0].milestones[0];
  assert_false(m->progress.closed);
  assert_int_not_equal(m->progress.light, CAIRN_LIGHT_NONE);
  cairn_store_status_free(v);

  /* re-closed as replaced by the next milestone; then archived: hidden */
  assert_int_equal(close_ms(d.s, ms, "replaced", "2026-03-20", next, msg), 0);
  assert_int_equal(cairn_text_date_parse("2026-03-25", 10, &day), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  m = &v->students[0].milestones[0];
  assert_int_equal(m->progress.result, CAIRN_RESULT_REPLACED);
  assert_string_equal(m->replaced_by, next);
  char want[128];
  snprintf(want, sizeof want, "closed on 2026-03-20: replaced by %s", next);
  assert_string_equal(m->why, want);
  cairn_store_status_free(v);
  set_begin(&b, 1);
  set_true(&b, "archived");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, NULL), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  assert_int_equal(v->students[0].nmilestones, 1);
  assert_string_equal(v->students[0].milestones[0].id, next);
  cairn_store_status_free(v);
  cairn_store_status_filter f = {.student = "ava-8", .as_of = day, .archived = 1};
  assert_int_equal(cairn_store_status_filtered(d.s, &f, &v), 0);
  assert_int_equal(v->students[0].nmilestones, 2);
  assert_true(v->students[0].milestones[0].archived);
  cairn_store_status_free(v);
  assert_check_clean(d.s);
  device_free(&d);
}

/* Carry forward: a new milestone from an old one, its fields copied, its
 * baseline the mean of the old one's last max(N, 3) points (rounded on a
 * whole-number scale); an old target the new baseline is beyond is
 * refused, naming the field. */
static void test_carry_forward(void **state) {
  (void)state;
  device d;
  char ms[72], next[72], msg[256];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms); /* 0-4, 1.5 -> 3, 4 of 5 */
  static const char *const days[] = {"2026-03-03", "2026-03-10", "2026-03-17", "2026-03-24",
                                     "2026-03-31", "2026-04-07"};
  static const double values[] = {1, 3, 3.5, 3.5, 3.5, 4};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(evidence_in(d.s, ms, days[i], values[i], NULL, NULL), 0);
  setb b;
  set_begin(&b, 3);
  set_str(&b, "date", "2026-04-01");
  set_str(&b, "support", "sentence stems on the desk");
  set_str(&b, "milestone", ms);
  assert_int_equal(put1(d.s, CAIRN_REC_SUPPORT_CHANGE, NULL, 0, &b, NULL, NULL, NULL), 0);

  set_begin(&b, 3);
  set_str(&b, "carried_from", ms);
  set_str(&b, "start", "2026-04-20");
  set_str(&b, "end", "2026-06-01");
  assert_int_not_equal(put_in(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, NULL, msg), 0);
  assert_non_null(strstr(msg, "target: 3, carried forward from"));
  assert_non_null(strstr(msg, "is behind the new baseline"));

  set_begin(&b, 4);
  set_str(&b, "carried_from", ms);
  set_str(&b, "start", "2026-04-20");
  set_str(&b, "end", "2026-06-01");
  set_num(&b, "target", 4);
  assert_int_equal(put_in(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, next, msg), 0);
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show(d.s, next, &h), 0);
  const char *want_str[][2] = {{"student", "ava-8"},
                               {"scale", "0-4"},
                               {"rule", "4 of 5"},
                               {"support", "sentence stems on the desk"},
                               {"carried_from", ms},
                               {"baseline_date", "2026-04-07"}};
  for (size_t k = 0; k < sizeof want_str / sizeof want_str[0]; k++) {
    int found = 0;
    for (size_t i = 0; i < h->nfields; i++)
      if (strcmp(h->fields[i].name, want_str[k][0]) == 0) {
        assert_int_equal(h->fields[i].value.kind, CAIRN_STORE_STR);
        assert_string_equal(h->fields[i].value.u.str.s, want_str[k][1]);
        found = 1;
      }
    if (!found)
      fail_msg("the carried milestone has no %s", want_str[k][0]);
  }
  for (size_t i = 0; i < h->nfields; i++)
    if (strcmp(h->fields[i].name, "baseline") == 0) /* (3 + 3.5 + 3.5 + 3.5 + 4) / 5 */
      assert_true(h->fields[i].value.kind == CAIRN_STORE_NUM &&
                  h->fields[i].value.u.number == 3.5);
  cairn_store_history_free(h);

  /* from a milestone that does not exist */
  set_begin(&b, 3);
  set_str(&b, "carried_from", "0000aaaa-9");
  set_str(&b, "start", "2026-04-20");
  set_str(&b, "end", "2026-06-01");
  refused(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, CAIRN_ENOTFOUND,
          "carried_from 0000aaaa-9: no such milestone");
  assert_check_clean(d.s);
  device_free(&d);
}

/* Starts b with a milestone of ava-8 on scale from baseline 0 to target,
 * with rule (NULL: none) and the levels labels (NULL-terminated). */
static void levels_milestone(setb *b, const char *scale, double target, const char *rule,
                             const char *const *labels) {
  uint32_t n = 0;
  while (labels[n] != NULL)
    n++;
  set_begin(b, 9 + (rule != NULL));
  set_str(b, "student", "ava-8");
  set_str(b, "type", "academic");
  set_str(b, "statement", "I will explain my reasoning.");
  set_str(b, "scale", scale);
  set_num(b, "baseline", 0);
  set_num(b, "target", target);
  set_str(b, "start", "2026-03-02");
  set_str(b, "end", "2026-04-13");
  if (rule != NULL)
    set_str(b, "rule", rule);
  pack_s(&b->pk, "levels");
  msgpack_pack_array(&b->pk, n);
  for (uint32_t i = 0; i < n; i++)
    pack_s(&b->pk, labels[i]);
}

/* An ordinal scale: labels stored in order, computed on their ranks,
 * shown as labels. */
static void test_levels_scale(void **state) {
  (void)state;
  device d;
  char ms[72], letter[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  setb b;
  static const char *const levels[] = {"beginning", "approaching", "meeting", "exceeding", NULL};

  /* levels need the scale levels, 2 or more, none alike */
  static const char *const two[] = {"low", "high", NULL};
  static const char *const alike[] = {"Meeting", "meeting", NULL};
  levels_milestone(&b, "0-4", 2, NULL, two);
  refused(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, CAIRN_EINVAL,
          "levels: only a milestone on the scale levels has levels");
  levels_milestone(&b, "levels", 1, NULL, alike);
  refused(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, CAIRN_EINVAL,
          "levels item 2: the same as item 1");
  levels_milestone(&b, "levels", 2, "2 of 3", levels);
  assert_int_equal(put_in(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, ms, NULL), 0);
  char msg[256];
  assert_int_equal(evidence_in(d.s, ms, "2026-03-03", 1, NULL, NULL), 0);
  assert_int_equal(evidence_in(d.s, ms, "2026-03-10", 2, NULL, NULL), 0);
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-11");
  set_num(&b, "value", 4);
  refused(d.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, CAIRN_ERANGE,
          "value: the milestone has 4 levels: a level's rank is 0 (the lowest) to 3, not 4");
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-11");
  set_num(&b, "value", 1.5);
  refused(d.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, CAIRN_ERANGE, "value:");
  /* renamed, but not counted again */
  set_begin(&b, 1);
  pack_s(&b.pk, "levels");
  msgpack_pack_array(&b.pk, 3);
  for (int i = 0; i < 3; i++)
    pack_s(&b.pk, levels[i]);
  refused(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, CAIRN_EINVAL,
          "levels: the milestone has 4 levels");

  int32_t day;
  cairn_store_status_view *v = NULL;
  assert_int_equal(cairn_text_date_parse("2026-03-12", 10, &day), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  assert_int_equal(m->nlevels, 4);
  assert_string_equal(m->levels[3], "exceeding");
  assert_string_equal(m->last, "meeting");
  assert_string_equal(m->baseline, "beginning");
  assert_string_equal(m->target, "meeting");
  assert_string_equal(m->goal, "target meeting or higher in 2 of the last 3 points");
  assert_int_equal(m->progress.level, CAIRN_LEVEL_DEVELOPING); /* 1 of 2 */
  cairn_store_status_free(v);

  /* a letter grade: F D C B A are 0 to 4 */
  set_begin(&b, 8);
  set_str(&b, "student", "ava-8");
  set_str(&b, "type", "academic");
  set_str(&b, "statement", "I will raise my grade.");
  set_str(&b, "scale", "letter");
  set_num(&b, "baseline", 2);
  set_num(&b, "target", 3);
  set_str(&b, "start", "2026-03-02");
  set_str(&b, "end", "2026-04-13");
  assert_int_equal(put_in(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, letter, msg), 0);
  assert_int_equal(evidence_in(d.s, letter, "2026-03-03", 3, NULL, NULL), 0);
  assert_int_equal(evidence_in(d.s, letter, "2026-03-04", 4, NULL, NULL), 0);
  assert_int_equal(cairn_store_status(d.s, "ava-8", day, &v), 0);
  m = &v->students[0].milestones[1];
  assert_string_equal(m->last, "A");
  assert_string_equal(m->baseline, "C");
  assert_string_equal(m->goal, "target B or higher on the last point");
  cairn_store_status_free(v);
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show(d.s, letter, &h), 0);
  assert_int_equal(h->nlevels, 5);
  assert_string_equal(h->levels[0], "F");
  cairn_store_history_free(h);
  assert_check_clean(d.s);
  device_free(&d);
}

/* write_all: every put written in one transaction, or none at all with
 * each refused put's reason. */
static void test_all_or_nothing(void **state) {
  (void)state;
  device d;
  char ms[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  milestone_of(d.s, "ava-8", NULL, ms);
  setb b[3];
  cairn_put p[3];
  static const double values[] = {2, 9, 3};
  for (int i = 0; i < 3; i++) {
    set_begin(&b[i], 3);
    set_str(&b[i], "milestone", ms);
    set_str(&b[i], "observed", "2026-03-09");
    set_num(&b[i], "value", values[i]);
    p[i] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[i].sb.data,
                       .set_len = b[i].sb.size};
  }
  uint64_t seq = cairn_store_own_seq(d.s);
  size_t refused_n = 99;
  assert_int_equal(cairn_store_write_all(d.s, p, 3, 0, &refused_n), 0);
  assert_int_equal(refused_n, 1);
  assert_int_equal(p[0].result, 0);
  assert_int_equal(p[1].result, CAIRN_ERANGE);
  assert_non_null(strstr(p[1].message, "value"));
  assert_string_equal(p[0].id_out, "");
  assert_int_equal(cairn_store_own_seq(d.s), seq);

  /* fixed: all three written */
  msgpack_sbuffer_destroy(&b[1].sb);
  set_begin(&b[1], 3);
  set_str(&b[1], "milestone", ms);
  set_str(&b[1], "observed", "2026-03-09");
  set_num(&b[1], "value", 4);
  p[1] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[1].sb.data,
                     .set_len = b[1].sb.size};
  assert_int_equal(cairn_store_write_all(d.s, p, 3, 0, &refused_n), 0);
  assert_int_equal(refused_n, 0);
  assert_int_equal(cairn_store_own_seq(d.s), seq + 3);
  for (int i = 0; i < 3; i++) {
    assert_true(export_has(d.s, p[i].id_out));
    msgpack_sbuffer_destroy(&b[i].sb);
  }
  assert_check_clean(d.s);
  device_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_classrooms_keep_both_accommodations),
      cmocka_unit_test(test_reach_epoch_moves_only_for_another_classroom),
      cmocka_unit_test(test_student_in_two_classrooms),
      cmocka_unit_test(test_latest_operation_wins),
      cmocka_unit_test(test_move_to_another_classroom),
      cmocka_unit_test(test_writes_from_before_sets),
      cmocka_unit_test(test_withdrawn_student_is_read_only),
      cmocka_unit_test(test_close_with_a_result),
      cmocka_unit_test(test_carry_forward),
      cmocka_unit_test(test_levels_scale),
      cmocka_unit_test(test_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
