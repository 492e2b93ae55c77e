/* test_store.c: the LMDB store: writes, refusals, amendments, merge across
 * devices, received entries (signatures, chains, gaps), map growth, check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "text.h"
#include "store_fixture.h"

/* The status of student (NULL: the whole node) as of date (YYYY-MM-DD).
 * The caller frees it with cairn_store_status_free. */
static cairn_store_status_view *status_at(cairn_store *s, const char *student, const char *date) {
  int32_t day;
  cairn_store_status_view *v = NULL;
  assert_int_equal(cairn_text_date_parse(date, strlen(date), &day), 0);
  assert_int_equal(cairn_store_status(s, student, day, &v), 0);
  assert_non_null(v);
  return v;
}

/* The status of the first milestone of student on 2026-04-01, in *v (the
 * caller frees it). */
static const cairn_store_milestone_status *status_of(cairn_store *s, const char *student,
                                                     cairn_store_status_view **v) {
  *v = status_at(s, student, "2026-04-01");
  assert_true((*v)->nstudents >= 1);
  assert_true((*v)->students[0].nmilestones >= 1);
  return &(*v)->students[0].milestones[0];
}

/* The history of record id; the caller frees it. */
static cairn_store_history *show_of(cairn_store *s, const char *id) {
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show(s, id, &h), 0);
  assert_non_null(h);
  return h;
}

/* The value of field name in pairs p[0..n), or NULL. */
static const cairn_store_value *pair_get(const cairn_store_pair *p, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(p[i].name, name) == 0)
      return &p[i].value;
  return NULL;
}


/* ---- tests ------------------------------------------------------------------ */

static void test_status_of_seed_example(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  assert_int_equal(cairn_store_own_seq(d.s), 2);
  cairn_store_status_view *v;
  const cairn_store_milestone_status *m = status_of(d.s, "ava-8", &v);
  assert_int_equal(v->nstudents, 1);
  assert_int_equal(v->students[0].nmilestones, 1);
  assert_int_equal(m->progress.level, CAIRN_LEVEL_NOT_STARTED);
  assert_int_equal(m->progress.light, CAIRN_LIGHT_NONE);
  assert_true(m->params.baseline == 1.5);
  assert_string_equal(m->baseline, "1.5");
  assert_string_equal(m->goal, "target 3 or more in 4 of the last 5 points");
  assert_string_equal(m->why, "no evidence yet");
  cairn_store_status_free(v);

  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-13", 2.5, ev, NULL), 0);
  m = status_of(d.s, "ava-8", &v);
  assert_int_equal(m->progress.level, CAIRN_LEVEL_DEVELOPING);
  assert_string_equal(v->students[0].name, "Ava");
  assert_int_equal(m->progress.points, 2);
  assert_true(m->progress.last_value == 2.5);
  assert_string_equal(m->last, "2.5");
  char day[11];
  cairn_text_date_format(m->progress.last_day, day);
  assert_string_equal(day, "2026-03-13");
  /* Below the target on the last check-in: the planned support fires. */
  assert_int_equal(m->ntriggered, 1);
  assert_string_equal(m->triggered[0].action, "add a 20-minute small-group session twice weekly.");
  cairn_store_status_free(v);

  for (int i = 0; i < 4; i++) {
    snprintf(day, sizeof day, "2026-03-%02d", 20 + i);
    assert_int_equal(add_evidence(d.s, ms, day, 3, ev, NULL), 0);
  }
  m = status_of(d.s, NULL, &v);
  assert_int_equal(m->progress.level, CAIRN_LEVEL_MEETING);
  assert_int_equal(m->progress.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(m->conflicts, 0);
  cairn_store_status_free(v);

  /* A review without `showed` gets the derived status. */
  setb b;
  set_begin(&b, 4);
  set_str(&b, "milestone", ms);
  set_str(&b, "date", "2026-03-27");
  set_str(&b, "kind", "weekly");
  set_str(&b, "decision", "continue");
  char rid[72];
  assert_int_equal(put1(d.s, CAIRN_REC_REVIEW, NULL, 0, &b, NULL, rid, NULL), 0);
  cairn_store_history *h = show_of(d.s, rid);
  const cairn_store_value *showed = pair_get(h->fields, h->nfields, "showed");
  assert_non_null(showed);
  assert_int_equal(showed->kind, CAIRN_STORE_STR);
  print_message("showed: %s\n", showed->u.str.s);
  assert_non_null(strstr(showed->u.str.s, "level meeting, light green"));
  cairn_store_history_free(h);

  v = (cairn_store_status_view *)&d; /* must be set to NULL on failure */
  assert_int_equal(cairn_store_status(d.s, "nobody", 0, &v), CAIRN_ENOTFOUND);
  assert_null(v);
  assert_check_clean(d.s);
  device_free(&d);
}


/* ---- regressions: derived views that were wrong ---------------------------- */

static void add_review(cairn_store *s, const char *milestone, const char *date, char *id) {
  setb b;
  set_begin(&b, 4);
  set_str(&b, "milestone", milestone);
  set_str(&b, "date", date);
  set_str(&b, "kind", "weekly");
  set_str(&b, "decision", "continue");
  assert_int_equal(put1(s, CAIRN_REC_REVIEW, NULL, 0, &b, NULL, id, NULL), 0);
}

/* `status` as of a day counts only the evidence observed on or before it,
 * and bases the next review on the reviews dated on or before it. */
/* A new device with the seed's ELA milestone (2026-03-02 to 04-13, weekly)
 * for ava-8 and three weekly points: 2, 2.5 and 3 from 03-06. */
static void three_weeks_of_ela(device *d, char *ms) {
  char ev[72];
  device_new(d, NULL);
  add_student(d->s, "ava-8");
  add_milestone(d->s, "ava-8", ms);
  assert_int_equal(add_evidence(d->s, ms, "2026-03-06", 2, ev, NULL), 0);
  assert_int_equal(add_evidence(d->s, ms, "2026-03-13", 2.5, ev, NULL), 0);
  assert_int_equal(add_evidence(d->s, ms, "2026-03-20", 3, ev, NULL), 0);
}

static void test_status_as_of_a_day(void **state) {
  (void)state;
  device d;
  char ms[72], rv[72];
  three_weeks_of_ela(&d, ms);
  add_review(d.s, ms, "2026-03-20", rv);
  cairn_store_status_view *v = status_at(d.s, "ava-8", "2026-03-10");
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  char day[11];
  assert_int_equal(m->progress.points, 1);
  cairn_text_date_format(m->progress.last_day, day);
  assert_string_equal(day, "2026-03-06");
  assert_true(m->progress.last_value == 2);
  /* no review yet on 03-10: the first weekly one was due 03-09 */
  cairn_text_date_format(m->progress.next_review_due, day);
  assert_string_equal(day, "2026-03-09");
  assert_true(m->progress.overdue);
  assert_int_equal(m->progress.last_review, CAIRN_PROGRESS_NO_DAY);
  cairn_store_status_free(v);
  device_free(&d);
}

static void add_dated(cairn_store *s, int type, const char *milestone, const char *date,
                      const char *field, const char *text) {
  setb b;
  char id[72];
  set_begin(&b, 3);
  set_str(&b, "milestone", milestone);
  set_str(&b, "date", date);
  set_str(&b, field, text);
  assert_int_equal(put1(s, type, NULL, 0, &b, NULL, id, NULL), 0);
}

/* The status shows the support in place and the latest celebration as of
 * its day, and a check date drives the next review. */
static void test_status_support_celebration_checks(void **state) {
  (void)state;
  device d;
  char ms[72], rv[72];
  three_weeks_of_ela(&d, ms);
  setb b;
  set_begin(&b, 2);
  set_str(&b, "support", "small-group writing workshop");
  pack_s(&b.pk, "checks");
  msgpack_pack_array(&b.pk, 2);
  pack_s(&b.pk, "2026-03-11");
  pack_s(&b.pk, "2026-03-25");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, NULL), 0);
  add_dated(d.s, CAIRN_REC_SUPPORT_CHANGE, ms, "2026-03-16", "support", "sentence stems");
  add_dated(d.s, CAIRN_REC_CELEBRATION, ms, "2026-03-14", "text", "first 2.5");
  add_dated(d.s, CAIRN_REC_CELEBRATION, ms, "2026-03-21", "text", "first 3");
  add_review(d.s, ms, "2026-03-11", rv);

  cairn_store_status_view *v = status_at(d.s, "ava-8", "2026-03-15");
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  char day[11];
  assert_string_equal(m->support, "small-group writing workshop");
  assert_int_equal(m->support_since, CAIRN_PROGRESS_NO_DAY);
  assert_string_equal(m->celebration, "first 2.5");
  /* the check of 03-11 was reviewed that day; weekly cadence from it: 03-18 */
  cairn_text_date_format(m->progress.next_review_due, day);
  assert_string_equal(day, "2026-03-18");
  assert_false(m->progress.next_is_check);
  assert_int_equal(m->params.nchecks, 2);
  cairn_store_status_free(v);

  v = status_at(d.s, "ava-8", "2026-03-22");
  m = &v->students[0].milestones[0];
  assert_string_equal(m->support, "sentence stems");
  cairn_text_date_format(m->support_since, day);
  assert_string_equal(day, "2026-03-16");
  assert_string_equal(m->celebration, "first 3");
  cairn_store_status_free(v);
  device_free(&d);
}

/* A back-dated review's `showed` summary uses the data up to its date. */
static void test_review_showed_as_of_its_date(void **state) {
  (void)state;
  device d;
  char ms[72], rv[72];
  three_weeks_of_ela(&d, ms);
  add_review(d.s, ms, "2026-03-09", rv);
  cairn_store_history *h = show_of(d.s, rv);
  const cairn_store_value *showed = pair_get(h->fields, h->nfields, "showed");
  assert_non_null(showed);
  const char *text = showed->u.str.s;
  print_message("showed: %s\n", text);
  assert_non_null(strstr(text, "last 2 on 2026-03-06"));
  assert_null(strstr(text, "03-20"));
  assert_non_null(strstr(text, "1 point"));
  assert_string_equal(h->scale, "0-4");
  cairn_store_history_free(h);
  device_free(&d);
}

/* The whole node's status lists each student's milestones together, and
 * one device's milestones in the order they were made: "-2" before "-10". */
static void test_status_groups_by_student_ids_numerically(void **state) {
  (void)state;
  device d;
  char ms[12][72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_student(d.s, "ben-6");
  for (int i = 0; i < 12; i++)
    add_milestone(d.s, i % 3 == 1 ? "ben-6" : "ava-8", ms[i]);
  cairn_store_status_view *v = status_at(d.s, NULL, "2026-04-01");
  assert_int_equal(v->nstudents, 2);
  assert_string_equal(v->students[0].id, "ava-8");
  assert_string_equal(v->students[1].id, "ben-6");
  assert_int_equal(v->students[0].nmilestones, 8);
  assert_int_equal(v->students[1].nmilestones, 4);
  for (size_t k = 0; k < v->nstudents; k++) {
    uint64_t prev_seq = 0;
    for (size_t i = 0; i < v->students[k].nmilestones; i++) {
      const cairn_store_milestone_status *m = &v->students[k].milestones[i];
      assert_string_equal(m->student, v->students[k].id);
      uint64_t seq = strtoull(strrchr(m->id, '-') + 1, NULL, 10);
      assert_true(seq > prev_seq);
      prev_seq = seq;
    }
  }
  cairn_store_status_free(v);
  device_free(&d);
}

/* Puts b as an edit of milestone ms, which must be refused with a message
 * naming want; nothing is written. */
static void edit_refused(cairn_store *s, const char *ms, setb *b, const char *want) {
  uint64_t seq = cairn_store_own_seq(s);
  char msg[256];
  assert_int_not_equal(put1(s, CAIRN_REC_MILESTONE, ms, 1, b, NULL, NULL, msg), 0);
  print_message("%s\n", msg);
  assert_non_null(strstr(msg, want));
  assert_int_equal(cairn_store_own_seq(s), seq);
}

/* A milestone's thresholds are checked when it is written or edited; the
 * refusal names the field and nothing is written. */
static void test_milestone_thresholds_checked(void **state) {
  (void)state;
  device d;
  char ms[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  static const struct {
    const char *field;
    double v;
  } bad[] = {{"developing_at", 5}, {"exceed_margin", -1}, {"trend_points", 1},
             {"wrong_side_n", 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setb b;
    set_begin(&b, 1);
    pack_s(&b.pk, bad[i].field);
    if (bad[i].v == floor(bad[i].v))
      msgpack_pack_int64(&b.pk, (int64_t)bad[i].v);
    else
      msgpack_pack_double(&b.pk, bad[i].v);
    edit_refused(d.s, ms, &b, bad[i].field);
  }
  /* a target behind the baseline for "up" says what a goal to hold is */
  setb b;
  set_begin(&b, 1);
  set_num(&b, "target", 1);
  edit_refused(d.s, ms, &b, "at-least");
  device_free(&d);
}

/* "Maintain 95% attendance" (baseline 97, stay at or above 95) is a goal
 * cairn accepts and derives: holding above 95 is meeting and green. */
static void test_maintain_goal(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72], msg[256];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  setb b;
  set_begin(&b, 9);
  set_str(&b, "student", "ava-8");
  set_str(&b, "type", "academic");
  set_str(&b, "statement", "I will be at school 95% of days this grading period.");
  set_str(&b, "scale", "percent");
  set_num(&b, "baseline", 97);
  set_num(&b, "target", 95);
  set_str(&b, "direction", "at-least");
  set_str(&b, "start", "2026-03-02");
  set_str(&b, "end", "2026-05-01");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, ms, msg), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 96, ev, NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-13", 97, ev, NULL), 0);
  cairn_store_status_view *v = status_at(d.s, "ava-8", "2026-03-14");
  const cairn_store_milestone_status *m = &v->students[0].milestones[0];
  assert_int_equal(m->progress.level, CAIRN_LEVEL_MEETING);
  assert_int_equal(m->progress.light, CAIRN_LIGHT_GREEN);
  assert_string_equal(m->direction, "at-least");
  assert_string_equal(m->goal, "stay at 95% or more, judged on the last point");
  cairn_store_status_free(v);
  device_free(&d);
}

/* An if/then threshold off the milestone's scale can never be read right:
 * "below 92%" on a 0-4 rubric is refused when the rule is written, and so
 * is a change of scale that leaves a rule off it. */
static void test_ifthen_threshold_off_the_scale(void **state) {
  (void)state;
  device d;
  char ms[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  setb b;
  set_begin(&b, 1);
  pack_s(&b.pk, "if_then");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, "If attendance drops below 92%, then schedule a family meeting.");
  edit_refused(d.s, ms, &b, "if_then: rule 1: below 92%");
  set_begin(&b, 1);
  pack_s(&b.pk, "if_then");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, "If the score is above 3.5, then plan an extension.");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, NULL), 0);
  set_begin(&b, 1);
  set_str(&b, "scale", "0-3"); /* baseline 1.5 and target 3 are on it; "above 3.5" is not */
  edit_refused(d.s, ms, &b, "if_then: rule 1: above 3.5 is off the scale 0-3");
  device_free(&d);
}

/* A milestone leads only to a long-term milestone of the same student. */
static void test_parent_of_another_student_refused(void **state) {
  (void)state;
  device d;
  char ava[72], ben[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_student(d.s, "ben-6");
  add_milestone(d.s, "ava-8", ava);
  add_milestone(d.s, "ben-6", ben);
  setb b;
  set_begin(&b, 1);
  set_str(&b, "parent", ava);
  edit_refused(d.s, ben, &b, "parent");
  set_begin(&b, 1);
  set_str(&b, "parent", ben);
  edit_refused(d.s, ben, &b, "parent: a milestone cannot lead to itself");
  device_free(&d);
}

static void test_refusals_name_the_field(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72], msg[256];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  uint64_t seq = cairn_store_own_seq(d.s);

  setb b;
  set_begin(&b, 1);
  set_str(&b, "name", "Other");
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "ava-8", 0, &b, NULL, NULL, msg), CAIRN_EEXISTS);
  assert_non_null(strstr(msg, "student ava-8 already exists"));

  minimal_milestone(&b, "nobody");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, NULL, msg), CAIRN_ENOTFOUND);
  assert_non_null(strstr(msg, "student"));

  assert_int_equal(add_evidence(d.s, "3fa2c1d9-7", "2026-03-06", 2, ev, msg), CAIRN_ENOTFOUND);
  assert_string_equal(msg, "milestone 3fa2c1d9-7: no such milestone");
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 5, ev, msg), CAIRN_ERANGE);
  assert_non_null(strstr(msg, "value"));
  assert_int_not_equal(add_evidence(d.s, ms, "2026-03-06", NAN, ev, msg), 0);
  assert_non_null(strstr(msg, "value"));
  assert_int_equal(add_evidence(d.s, ms, "2026-02-30", 2, ev, msg), CAIRN_EDATE);
  assert_non_null(strstr(msg, "observed"));

  set_begin(&b, 1);
  set_str(&b, "statement", "new words");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, "3fa2c1d9-7", 1, &b, NULL, NULL, msg),
                   CAIRN_ENOTFOUND);
  assert_string_equal(msg, "milestone 3fa2c1d9-7: no such milestone");

  set_begin(&b, 1);
  set_str(&b, "if_then", "sometimes, maybe");
  assert_int_not_equal(put1(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, msg), 0);
  assert_non_null(strstr(msg, "if_then"));
  assert_int_equal(cairn_store_own_seq(d.s), seq); /* the refused puts wrote nothing */

  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  seq = cairn_store_own_seq(d.s);
  set_begin(&b, 1);
  set_num(&b, "value", 3);
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, ev, 1, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_string_equal(msg, "reason: required to amend evidence");
  set_begin(&b, 1);
  set_str(&b, "note", "rewritten");
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, ev, 1, &b, "x", NULL, msg), CAIRN_EINVAL);
  assert_non_null(strstr(msg, "note"));
  assert_int_equal(cairn_store_own_seq(d.s), seq);
  assert_check_clean(d.s);
  device_free(&d);
}

/* Writes day + delta as YYYY-MM-DD into out. */
static void day_str(int32_t day, int32_t delta, char out[11]) {
  cairn_text_date_format(day + delta, out);
}

/* Evidence dated after tomorrow on this device's clock, or before the
 * milestone's start by more than its timeframe, is refused with the date
 * named; --force (put.force) records the second kind, never the first. */
static void test_implausible_dates(void **state) {
  (void)state;
  device d;
  char ms[72], msg[256], start[11], end[11], when[11];
  int32_t today = cairn_text_today();
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  setb b;
  day_str(today, -30, start);
  day_str(today, 30, end); /* a timeframe of 60 days */
  dated_milestone(&b, "ava-8", start, end);
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, ms, NULL), 0);
  uint64_t seq = cairn_store_own_seq(d.s);

  static const struct {
    int32_t delta; /* from today */
    const char *date; /* or a fixed date */
    int force, code;
    const char *why;
  } cases[] = {
      {2, NULL, 0, CAIRN_EDATE, "is after tomorrow"},
      {2, NULL, 1, CAIRN_EDATE, "is after tomorrow"},
      {0, "2030-01-01", 0, CAIRN_EDATE, "observed: 2030-01-01 is after tomorrow"},
      {0, "9999-12-31", 1, CAIRN_EDATE, "observed: 9999-12-31 is after tomorrow"},
      {-91, NULL, 0, CAIRN_EDATE, "is more than the milestone's timeframe (60 days) before its"},
      {0, "1999-01-01", 0, CAIRN_EDATE, "observed: 1999-01-01 is more than"},
      {0, "1899-12-31", 1, CAIRN_EDATE, "observed: 1899-12-31: the year must be from 1900 to"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].date != NULL)
      strcpy(when, cases[i].date);
    else
      day_str(today, cases[i].delta, when);
    set_begin(&b, 3);
    set_str(&b, "milestone", ms);
    set_str(&b, "observed", when);
    set_num(&b, "value", 2);
    cairn_put p = {.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b.sb.data,
                   .set_len = b.sb.size, .force = cases[i].force};
    assert_int_equal(cairn_store_write_batch(d.s, &p, 1), 0);
    msgpack_sbuffer_destroy(&b.sb);
    if (p.result != cases[i].code || strstr(p.message, cases[i].why) == NULL ||
        strncmp(p.message, "observed: ", 10) != 0)
      fail_msg("case %zu (%s): %s '%s', expected '%s'", i, when, cairn_err_name(p.result),
               p.message, cases[i].why);
  }
  assert_int_equal(cairn_store_own_seq(d.s), seq); /* nothing written */
  set_begin(&b, 3);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "1999-01-01");
  set_num(&b, "value", 2);
  cairn_put p = {.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b.sb.data,
                 .set_len = b.sb.size};
  assert_int_equal(cairn_store_write_batch(d.s, &p, 1), 0);
  assert_non_null(strstr(p.message, "--force"));
  p.force = 1; /* a genuine back-entry */
  assert_int_equal(cairn_store_write_batch(d.s, &p, 1), 0);
  assert_int_equal(p.result, 0);
  msgpack_sbuffer_destroy(&b.sb);
  /* tomorrow (a time zone ahead), and exactly one timeframe before the start */
  day_str(today, 1, when);
  assert_int_equal(add_evidence(d.s, ms, when, 2, NULL, msg), 0);
  day_str(today, -90, when);
  assert_int_equal(add_evidence(d.s, ms, when, 2, NULL, msg), 0);
  assert_check_clean(d.s);
  device_free(&d);
}

/* A value off the scale gets a sentence a teacher understands: what the
 * scale takes (a count is a whole number, a yes/no is yes or no). */
static void test_scale_refusals_say_what_the_scale_takes(void **state) {
  static const struct {
    const char *scale;
    double baseline, target, value;
    const char *why;
  } cases[] = {
      {"count", 7, 2, 2.5, "value: a count is a whole number (0, 1, 2 ...), not 2.5"},
      {"count", 7, 2, -1, "value: a count is a whole number (0, 1, 2 ...), not -1"},
      {"count", 7, 2, 2e9, "value: a count is at most 1000000000, not 2e+09"},
      {"yesno", 0, 1, 2, "value: the answer is yes or no (1 or 0), not 2"},
      {"yesno", 0, 1, 0.5, "value: the answer is yes or no (1 or 0), not 0.5"},
      {"percent", 60, 90, 120, "value: a percent is from 0 to 100, not 120"},
      {"0-4", 1, 3, 5, "value: the scale is 0-4: a number from 0 to 4, not 5"},
      {"1.5-3.5", 2, 3, 1, "value: the scale is 1.5-3.5: a number from 1.5 to 3.5, not 1"},
  };
  (void)state;
  device d;
  char ms[72], msg[256];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    setb b;
    set_begin(&b, 9);
    set_str(&b, "student", "ava-8");
    set_str(&b, "type", "behavior");
    set_str(&b, "statement", "x");
    set_str(&b, "direction", cases[i].baseline > cases[i].target ? "down" : "up");
    set_str(&b, "scale", cases[i].scale);
    set_num(&b, "baseline", cases[i].baseline);
    set_num(&b, "target", cases[i].target);
    set_str(&b, "start", "2026-03-02");
    set_str(&b, "end", "2026-04-13");
    assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, ms, NULL), 0);
    assert_int_equal(add_evidence(d.s, ms, "2026-03-06", cases[i].value, NULL, msg), CAIRN_ERANGE);
    if (strcmp(msg, cases[i].why) != 0)
      fail_msg("%s %g: \"%s\", expected \"%s\"", cases[i].scale, cases[i].value, msg,
               cases[i].why);
  }
  device_free(&d);
}

static void test_batch_commits_the_good_puts(void **state) {
  (void)state;
  device d;
  char ms[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  setb b[3];
  double values[3] = {2, 9, 3};
  cairn_put p[3];
  for (int i = 0; i < 3; i++) {
    set_begin(&b[i], 3);
    set_str(&b[i], "milestone", ms);
    set_str(&b[i], "observed", "2026-03-06");
    set_num(&b[i], "value", values[i]);
    p[i] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[i].sb.data,
                       .set_len = b[i].sb.size};
  }
  assert_int_equal(cairn_store_write_batch(d.s, p, 3), 0);
  assert_int_equal(p[0].result, 0);
  assert_int_equal(p[1].result, CAIRN_ERANGE);
  assert_non_null(strstr(p[1].message, "value"));
  assert_int_equal(p[2].result, 0);
  assert_string_not_equal(p[0].id_out, p[2].id_out);
  assert_int_equal(cairn_store_own_seq(d.s), 4);
  for (int i = 0; i < 3; i++)
    msgpack_sbuffer_destroy(&b[i].sb);
  cairn_store_status_view *v;
  assert_int_equal(status_of(d.s, "ava-8", &v)->progress.points, 2);
  cairn_store_status_free(v);
  assert_check_clean(d.s);
  device_free(&d);
}

static void test_amend_and_retract_keep_history(void **state) {
  (void)state;
  device d;
  char ms[72], e1[72], e2[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, e1, NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-13", 1, e2, NULL), 0);
  setb b;
  set_begin(&b, 1);
  set_num(&b, "value", 4);
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, e1, 1, &b, "typed 2 for 4", NULL, NULL), 0);
  set_begin(&b, 1);
  set_true(&b, "retracted");
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, e2, 1, &b, "wrong student", NULL, NULL), 0);

  cairn_store_status_view *v;
  const cairn_store_milestone_status *m = status_of(d.s, "ava-8", &v);
  assert_int_equal(m->progress.points, 1);
  assert_true(m->progress.last_value == 4);
  cairn_store_status_free(v);

  cairn_store_history *h = show_of(d.s, e1);
  assert_string_equal(h->type, "evidence");
  assert_string_equal(h->scale, "0-4"); /* its milestone's */
  assert_int_equal(h->nhistory, 2);
  const cairn_store_value *first = pair_get(h->history[0].set, h->history[0].nset, "value");
  assert_true(first->kind == CAIRN_STORE_NUM && first->u.number == 2);
  assert_string_equal(h->history[1].why, "typed 2 for 4");
  assert_int_equal(h->history[1].nbase, 1);
  assert_memory_equal(h->history[1].author, d.pk, CAIRN_KEY_BYTES);
  const cairn_store_value *now = pair_get(h->fields, h->nfields, "value");
  assert_true(now->kind == CAIRN_STORE_NUM && now->u.number == 4);
  assert_null(h->history[0].why);
  cairn_store_history_free(h);

  h = (cairn_store_history *)&d; /* must be set to NULL on failure */
  assert_int_equal(cairn_store_show(d.s, "nope", &h), CAIRN_ENOTFOUND);
  assert_null(h);
  assert_check_clean(d.s);
  device_free(&d);
}

static void test_reopen_keeps_everything(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  msgpack_sbuffer before, after;
  export_of(d.s, &before);
  cairn_store_close(d.s);
  device_open(&d, NULL);
  assert_int_equal(cairn_store_own_seq(d.s), 3);
  assert_memory_equal(cairn_store_device(d.s), d.pk, CAIRN_KEY_BYTES);
  export_of(d.s, &after);
  assert_int_equal(before.size, after.size);
  assert_memory_equal(before.data, after.data, before.size);
  /* The chain continues after the reopen. */
  assert_int_equal(add_evidence(d.s, ms, "2026-03-13", 3, ev, NULL), 0);
  assert_int_equal(cairn_store_own_seq(d.s), 4);
  assert_check_clean(d.s);
  msgpack_sbuffer_destroy(&before);
  msgpack_sbuffer_destroy(&after);
  /* Another device's key does not open this store. */
  cairn_store_close(d.s);
  uint8_t pk2[CAIRN_KEY_BYTES], sk2[CAIRN_SECRET_BYTES];
  crypto_sign_keypair(pk2, sk2);
  cairn_store *other;
  assert_int_equal(cairn_store_open(&other, d.dir, sk2, NULL), CAIRN_ECORRUPT);
  device_open(&d, NULL);
  device_free(&d);
}

/* A join is recorded with the central's key in one transaction: it reads
 * back after a reopen; a join naming another central writes nothing; the
 * move to a hub records the join again with the central left as it is. */
static void test_join_recorded_with_the_central(void **state) {
  (void)state;
  device d;
  cairn_store_join j = {{"north", "room-1"}, {0}, "127.0.0.1:7420", {0}}, got, other;
  uint8_t central[CAIRN_KEY_BYTES], stranger[CAIRN_KEY_BYTES];
  device_new(&d, NULL);
  memset(j.network, 0x0e, sizeof j.network);
  randombytes_buf(central, sizeof central);
  randombytes_buf(stranger, sizeof stranger);
  memcpy(j.upstream_key, central, sizeof central);
  assert_int_equal(cairn_store_join_get(d.s, &got), CAIRN_ENOTFOUND);
  assert_null(cairn_store_central(d.s));

  assert_int_equal(cairn_store_join_record(d.s, central, &j), 0);
  cairn_store_close(d.s);
  device_open(&d, NULL);
  assert_int_equal(cairn_store_join_get(d.s, &got), 0);
  assert_string_equal(got.scope.campus, "north");
  assert_string_equal(got.scope.classroom, "room-1");
  assert_string_equal(got.upstream, "127.0.0.1:7420");
  assert_memory_equal(got.network, j.network, sizeof j.network);
  assert_memory_equal(got.upstream_key, central, sizeof central);
  assert_non_null(cairn_store_central(d.s));
  assert_memory_equal(cairn_store_central(d.s), central, sizeof central);

  /* another deployment's central: refused, nothing written */
  other = j;
  snprintf(other.scope.campus, sizeof other.scope.campus, "south");
  assert_int_equal(cairn_store_join_record(d.s, stranger, &other), CAIRN_EEXISTS);
  assert_int_equal(cairn_store_join_get(d.s, &got), 0);
  assert_string_equal(got.scope.campus, "north");
  assert_memory_equal(cairn_store_central(d.s), central, sizeof central);

  /* the same central again (a second join) and the move to a hub */
  assert_int_equal(cairn_store_join_record(d.s, central, &j), 0);
  other = j;
  snprintf(other.upstream, sizeof other.upstream, "10.0.0.2:7420");
  memcpy(other.upstream_key, stranger, sizeof stranger);
  assert_int_equal(cairn_store_join_record(d.s, NULL, &other), 0);
  assert_int_equal(cairn_store_join_get(d.s, &got), 0);
  assert_string_equal(got.upstream, "10.0.0.2:7420");
  assert_memory_equal(got.upstream_key, stranger, sizeof stranger);
  assert_memory_equal(cairn_store_central(d.s), central, sizeof central);

  /* no upstream: refused */
  other.upstream[0] = '\0';
  assert_int_equal(cairn_store_join_record(d.s, NULL, &other), CAIRN_EINVAL);
  assert_int_equal(cairn_store_join_get(d.s, &got), 0);
  assert_string_equal(got.upstream, "10.0.0.2:7420");
  assert_check_clean(d.s);
  device_free(&d);
}

/* Export pages of any size join into exactly the records of one export. */
static void test_export_pages_join_into_the_whole(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  for (int i = 0; i < 40; i++)
    assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  reply whole;
  export_of(d.s, &whole.sb);
  const msgpack_object *all = reply_decode(&whole);
  assert_int_equal(all->via.array.size, 42);
  static const size_t page_sizes[] = {1, 700, 5000};
  for (size_t p = 0; p < 3; p++) {
    uint8_t cursor[CAIRN_STORE_CURSOR_MAX];
    size_t cursor_len = 0, seen = 0, pages = 0;
    do {
      reply page;
      msgpack_sbuffer_init(&page.sb);
      msgpack_packer pk;
      msgpack_packer_init(&pk, &page.sb, msgpack_sbuffer_write);
      uint8_t after[CAIRN_STORE_CURSOR_MAX];
      size_t after_len = cursor_len;
      memcpy(after, cursor, cursor_len);
      assert_int_equal(cairn_store_export(d.s, NULL, after, after_len, page_sizes[p], &pk, cursor,
                                          &cursor_len),
                       0);
      const msgpack_object *recs = reply_decode(&page);
      assert_true(recs->via.array.size > 0 || cursor_len == 0);
      for (uint32_t i = 0; i < recs->via.array.size; i++, seen++) {
        /* the same record, byte for byte, as in the whole export */
        assert_true(cairn_record_same_packed(&recs->via.array.ptr[i], &all->via.array.ptr[seen]));
      }
      reply_free(&page);
      pages++;
    } while (cursor_len > 0);
    assert_int_equal(seen, 42);
    if (page_sizes[p] == 1)
      assert_int_equal(pages, 42); /* one record per page, then done */
  }
  reply_free(&whole);
  device_free(&d);
}

/* A relay may not slip in a forged unsigned entry ahead of the genuine
 * signed one at the same seq: the run is refused, nothing of it stored. */
static void test_forged_entry_before_a_signed_one_refused(void **state) {
  (void)state;
  device a, r;
  char ms[72];
  device_new(&a, NULL);
  device_new(&r, NULL);
  add_student(a.s, "ava-8");
  add_milestone(a.s, "ava-8", ms);
  msgpack_sbuffer first, rest;
  log_of(a.s, a.pk, 1, &first);
  /* r holds A's entry 1; A's entry 2 (the milestone) is the signed head */
  msgpack_sbuffer one;
  msgpack_sbuffer_init(&one);
  cairn_entry e1, g;
  size_t used1, used2;
  assert_int_equal(cairn_entry_decode((const uint8_t *)first.data, first.size, &e1, &used1), 0);
  log_of(a.s, a.pk, 2, &rest);
  assert_int_equal(cairn_entry_decode((const uint8_t *)rest.data, rest.size, &g, &used2), 0);
  assert_true(g.has_sig);
  /* r takes entry 1 by itself: A signed only the head, so re-sign 1 for
   * this test as A would have had it been a batch of its own. */
  cairn_entry_sign(&e1, a.sk);
  assert_int_equal(cairn_entry_encode(&e1, &one), 0);
  assert_int_equal(apply(r.s, &one), 1);
  /* F: same seq and prev as G, unsigned, a well-formed body of its own:
   * a new student "evil" */
  msgpack_sbuffer fb;
  msgpack_packer fpk;
  msgpack_sbuffer_init(&fb);
  msgpack_packer_init(&fpk, &fb, msgpack_sbuffer_write);
  msgpack_pack_map(&fpk, 4);
  pack_s(&fpk, "id");
  pack_s(&fpk, "evil");
  pack_s(&fpk, "new");
  msgpack_pack_true(&fpk);
  pack_s(&fpk, "set");
  msgpack_pack_map(&fpk, 1);
  pack_s(&fpk, "name");
  pack_s(&fpk, "Forged");
  pack_s(&fpk, "scope");
  msgpack_pack_array(&fpk, 2);
  pack_s(&fpk, "");
  pack_s(&fpk, "");
  cairn_entry f = g;
  f.kind = CAIRN_REC_STUDENT;
  f.body = (const uint8_t *)fb.data;
  f.body_len = fb.size;
  f.has_sig = 0;
  assert_int_equal(cairn_entry_seal(&f), 0);
  msgpack_sbuffer bad;
  msgpack_sbuffer_init(&bad);
  assert_int_equal(cairn_entry_encode(&f, &bad), 0);
  msgpack_sbuffer_write(&bad, rest.data, used2); /* then the genuine G */
  size_t applied = 99;
  char why[200] = "";
  assert_int_equal(cairn_store_apply_entries(r.s, (const uint8_t *)bad.data, bad.size, &applied,
                                             why, sizeof why),
                   CAIRN_EGAP);
  assert_non_null(strstr(why, "consecutive"));
  /* nothing of it was stored: the genuine G still applies afterwards */
  msgpack_sbuffer good;
  msgpack_sbuffer_init(&good);
  msgpack_sbuffer_write(&good, rest.data, used2);
  assert_int_equal(apply(r.s, &good), 1);
  assert_check_clean(r.s);
  msgpack_sbuffer_destroy(&first);
  msgpack_sbuffer_destroy(&rest);
  msgpack_sbuffer_destroy(&one);
  msgpack_sbuffer_destroy(&bad);
  msgpack_sbuffer_destroy(&good);
  msgpack_sbuffer_destroy(&fb);
  device_free(&a);
  device_free(&r);
}

/* The conflicts reply of s. */
static const msgpack_object *conflicts_of(cairn_store *s, reply *r) {
  msgpack_sbuffer_init(&r->sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &r->sb, msgpack_sbuffer_write);
  assert_int_equal(cairn_store_conflicts(s, &pk), 0);
  return reply_decode(r);
}

static void test_merge_is_order_independent(void **state) {
  (void)state;
  device a, b, c, d;
  char ms[72];
  device_new(&a, NULL);
  /* B's clock runs three minutes fast (within the tolerance): it still
   * orders by HLC consistently. A clock further ahead is the central's to
   * re-date (test_trust.c). */
  cairn_store_opts skew = {.clock_offset_ms = 3 * 60 * 1000};
  device_new(&b, &skew);
  device_new(&c, NULL);
  device_new(&d, NULL);
  add_student(a.s, "ava-8");
  add_milestone(a.s, "ava-8", ms);
  msgpack_sbuffer la, lb;
  log_of(a.s, a.pk, 1, &la);
  assert_int_equal(apply(b.s, &la), 2);
  assert_int_equal(apply(b.s, &la), 0); /* idempotent */
  msgpack_sbuffer_destroy(&la);

  edit_statement(a.s, ms, "A's words");
  edit_statement(b.s, ms, "B's words");
  log_of(a.s, a.pk, 1, &la);
  log_of(b.s, b.pk, 1, &lb);
  /* C: A's entries then B's; D: B's (an edit of a milestone D has not
   * seen yet) then A's. */
  assert_int_equal(apply(c.s, &la), 3);
  assert_int_equal(apply(c.s, &lb), 1);
  assert_int_equal(apply(d.s, &lb), 1);
  assert_int_equal(apply(d.s, &la), 3);
  assert_int_equal(apply(d.s, &la), 0);
  assert_int_equal(apply(d.s, &lb), 0);
  msgpack_sbuffer ec, ed;
  export_of(c.s, &ec);
  export_of(d.s, &ed);
  assert_int_equal(ec.size, ed.size);
  assert_memory_equal(ec.data, ed.data, ec.size);
  msgpack_sbuffer_destroy(&ec);
  msgpack_sbuffer_destroy(&ed);

  /* B's HLC is three minutes ahead: B wins, and A's value is the loser. */
  reply r;
  const msgpack_object *cf = conflicts_of(c.s, &r);
  assert_int_equal(cf->via.array.size, 1);
  assert_str(cairn_record_map_get(&cf->via.array.ptr[0], "field"), "statement");
  assert_str(cairn_record_map_get(&cf->via.array.ptr[0], "value"), "B's words");
  const msgpack_object *losers = cairn_record_map_get(&cf->via.array.ptr[0], "losers");
  assert_int_equal(losers->via.array.size, 1);
  assert_str(cairn_record_map_get(&losers->via.array.ptr[0], "value"), "A's words");
  reply_free(&r);
  cairn_store_status_view *v;
  const cairn_store_milestone_status *m = status_of(d.s, "ava-8", &v);
  assert_string_equal(m->statement, "B's words");
  assert_int_equal(m->conflicts, 1);
  cairn_store_status_free(v);
  cairn_store_history *h = show_of(d.s, ms);
  assert_int_equal(h->nconflicts, 1);
  assert_string_equal(h->conflicts[0].field, "statement");
  assert_int_equal(h->conflicts[0].nothers, 1);
  assert_string_equal(h->conflicts[0].others[0].u.str.s, "A's words");
  cairn_store_history_free(h);

  /* A receives B's edit; A's clock is behind, yet its next edit orders
   * after everything it has seen, names both heads, and clears the
   * conflict everywhere. */
  assert_int_equal(apply(a.s, &lb), 1);
  edit_statement(a.s, ms, "agreed words");
  msgpack_sbuffer_destroy(&la);
  log_of(a.s, a.pk, 4, &la);
  assert_int_equal(apply(c.s, &la), 1);
  assert_int_equal(apply(d.s, &la), 1);
  cf = conflicts_of(d.s, &r);
  assert_int_equal(cf->via.array.size, 0);
  reply_free(&r);
  assert_string_equal(status_of(c.s, "ava-8", &v)->statement, "agreed words");
  cairn_store_status_free(v);
  export_of(c.s, &ec);
  export_of(d.s, &ed);
  assert_int_equal(ec.size, ed.size);
  assert_memory_equal(ec.data, ed.data, ec.size);
  msgpack_sbuffer_destroy(&ec);
  msgpack_sbuffer_destroy(&ed);
  assert_check_clean(c.s);
  assert_check_clean(d.s);
  msgpack_sbuffer_destroy(&la);
  msgpack_sbuffer_destroy(&lb);
  device_free(&a);
  device_free(&b);
  device_free(&c);
  device_free(&d);
}

/* Applies bytes to s, expecting refusal with code; nothing is applied. */
static void assert_refused(cairn_store *s, const void *bytes, size_t len, int code) {
  size_t applied = 99;
  char why[200] = "";
  int rc = cairn_store_apply_entries(s, bytes, len, &applied, why, sizeof why);
  if (code == CAIRN_EBADSIG)
    assert_true(rc == CAIRN_EBADSIG || rc == CAIRN_EBADCHAIN);
  else
    assert_int_equal(rc, code);
  assert_int_equal(applied, 0);
  assert_non_null(strstr(why, "seq"));
}

/* Writes n evidence points under milestone ms in one local batch: only
 * the last of its n entries is signed. */
static void evidence_batch(cairn_store *s, const char *ms, size_t n) {
  setb *b = calloc(n, sizeof *b);
  cairn_put *p = calloc(n, sizeof *p);
  assert_non_null(b);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) {
    set_begin(&b[i], 3);
    set_str(&b[i], "milestone", ms);
    set_str(&b[i], "observed", "2026-03-13");
    set_num(&b[i], "value", 3);
    p[i] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[i].sb.data,
                       .set_len = b[i].sb.size};
  }
  assert_int_equal(cairn_store_write_batch(s, p, n), 0);
  for (size_t i = 0; i < n; i++)
    msgpack_sbuffer_destroy(&b[i].sb);
  free(b);
  free(p);
}

static void test_received_entries_are_checked(void **state) {
  (void)state;
  device a, c;
  char ms[72], ev[72];
  device_new(&a, NULL);
  device_new(&c, NULL);
  add_student(a.s, "ava-8");
  add_milestone(a.s, "ava-8", ms);
  assert_int_equal(add_evidence(a.s, ms, "2026-03-06", 2, ev, NULL), 0);
  msgpack_sbuffer la;
  log_of(a.s, a.pk, 1, &la);

  /* One flipped byte anywhere in the run: refused whole. */
  for (size_t at = 40; at < la.size; at += la.size / 7) {
    char *copy = malloc(la.size);
    memcpy(copy, la.data, la.size);
    copy[at] ^= 0x01;
    size_t applied = 99;
    int rc = cairn_store_apply_entries(c.s, (const uint8_t *)copy, la.size, &applied, NULL, 0);
    assert_int_not_equal(rc, 0);
    assert_int_equal(applied, 0);
    free(copy);
  }
  msgpack_sbuffer empty;
  export_of(c.s, &empty);
  assert_int_equal(empty.size, 1); /* [] */
  msgpack_sbuffer_destroy(&empty);

  /* A tampered signature. */
  char *copy = malloc(la.size);
  memcpy(copy, la.data, la.size);
  copy[la.size - 1] ^= 0x80;
  assert_refused(c.s, copy, la.size, CAIRN_EBADSIG);
  free(copy);

  /* A gap: entries 2.. without 1. */
  cairn_entry e;
  size_t first;
  assert_int_equal(cairn_entry_decode((const uint8_t *)la.data, la.size, &e, &first), 0);
  assert_refused(c.s, la.data + first, la.size - first, CAIRN_EGAP);

  /* An unsigned tail: a batch of two puts signs only its second entry. */
  device_free(&c);
  device_new(&c, NULL);
  assert_int_equal(apply(c.s, &la), 3);
  evidence_batch(a.s, ms, 2);
  msgpack_sbuffer tail;
  log_of(a.s, a.pk, 4, &tail);
  size_t one;
  assert_int_equal(cairn_entry_decode((const uint8_t *)tail.data, tail.size, &e, &one), 0);
  assert_int_equal(e.has_sig, 0);
  /* It waits for its signature: kept, not applied, and said to be held in
   * what a HELLO would say (so a sender resumes after it). */
  msgpack_sbuffer run;
  size_t count;
  msgpack_sbuffer_init(&run);
  assert_int_equal(cairn_store_read_log(a.s, a.pk, 4, 1, &run, &count), 0);
  assert_int_equal(count, 1); /* a batch may end unsigned */
  size_t applied = 99;
  assert_int_equal(cairn_store_apply_entries(c.s, (const uint8_t *)run.data, run.size, &applied,
                                             NULL, 0), 0);
  assert_int_equal(applied, 0);
  msgpack_sbuffer before;
  export_of(c.s, &before);
  cairn_vv_item *vv, *hello;
  size_t nvv, nhello;
  assert_int_equal(cairn_store_version_vector(c.s, &vv, &nvv), 0);
  assert_int_equal(cairn_store_vv_with_staged(c.s, vv, nvv, &hello, &nhello), 0);
  assert_int_equal(nhello, nvv);
  for (size_t i = 0; i < nvv; i++)
    if (memcmp(vv[i].author, a.pk, CAIRN_KEY_BYTES) == 0) {
      assert_int_equal(vv[i].seq, 3);
      assert_int_equal(hello[i].seq, 4);
    }
  free(vv);
  free(hello);
  /* Replayed, it is neither applied nor kept twice. */
  assert_int_equal(cairn_store_apply_entries(c.s, (const uint8_t *)run.data, run.size, &applied,
                                             NULL, 0), 0);
  assert_int_equal(applied, 0);
  /* The signed entry 5 alone brings both in. */
  msgpack_sbuffer_clear(&run);
  assert_int_equal(cairn_store_read_log(a.s, a.pk, 5, 1, &run, &count), 0);
  assert_int_equal(count, 1);
  assert_int_equal(apply(c.s, &run), 2);
  msgpack_sbuffer after;
  export_of(c.s, &after);
  assert_true(after.size > before.size); /* the two evidence points are in state */
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&before);
  msgpack_sbuffer_destroy(&after);
  msgpack_sbuffer_destroy(&run);
  msgpack_sbuffer_destroy(&tail);
  msgpack_sbuffer_destroy(&la);
  assert_check_clean(c.s);
  device_free(&a);
  device_free(&c);
}

/* Appends to out the run cairn_store_read_scoped reads of author's log
 * from seq `from` within max entries and max_bytes, asserting that its
 * count and out's growth agree with the seqs it says it holds; returns the
 * seq of its last entry. */
static uint64_t read_run_to(cairn_store *s, const uint8_t *author, uint64_t from, size_t max,
                            size_t max_bytes, msgpack_sbuffer *out) {
  size_t count, held, before = out->size;
  uint64_t last;
  assert_int_equal(cairn_store_read_scoped(s, author, from, max, max_bytes, NULL, out, &count,
                                           &last), 0);
  assert_true(count > 0 && last == from + count - 1);
  assert_int_equal(cairn_entry_count((const uint8_t *)out->data + before, out->size - before,
                                     &held), 0);
  assert_int_equal(held, count);
  return last;
}

/* A run read for a peer that reaches its limit past a signed entry ends at
 * the last signed entry it holds, so the receiver applies all of it and
 * keeps nothing waiting for a signature; a limit that holds no signed
 * entry still yields at least one entry. */
static void test_read_ends_at_signed_entry(void **state) {
  (void)state;
  device a, c;
  char ms[72];
  device_new(&a, NULL);
  device_new(&c, NULL);
  add_student(a.s, "ava-8");       /* seq 1, signed */
  add_milestone(a.s, "ava-8", ms); /* seq 2, signed */
  evidence_batch(a.s, ms, 3);      /* 3 and 4 unsigned, 5 signed */
  evidence_batch(a.s, ms, 4);      /* 6, 7 and 8 unsigned, 9 signed */
  msgpack_sbuffer whole;
  log_of(a.s, a.pk, 1, &whole);
  size_t end[10] = {0}; /* end[i]: the bytes of entries 1..i */
  for (uint64_t seq = 1; seq <= 9; seq++) {
    cairn_entry e;
    size_t used;
    assert_int_equal(cairn_entry_decode((const uint8_t *)whole.data + end[seq - 1],
                                        whole.size - end[seq - 1], &e, &used), 0);
    assert_true(e.seq == seq);
    assert_int_equal(e.has_sig, seq <= 2 || seq == 5 || seq == 9);
    end[seq] = end[seq - 1] + used;
  }
  assert_int_equal(end[9], whole.size);

  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  /* 4 entries: 1 to 4 fit, the run ends at 2 */
  assert_int_equal(read_run_to(a.s, a.pk, 1, 4, 0, &out), 2);
  assert_int_equal(out.size, end[2]);
  /* appended to what out holds: from 3, 5 entries fit, the run ends at 5 */
  assert_int_equal(read_run_to(a.s, a.pk, 3, 5, 0, &out), 5);
  assert_int_equal(out.size, end[5]);
  assert_memory_equal(out.data, whole.data, end[5]);
  /* a byte budget that ends inside entry 6: the run ends at 5 */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(read_run_to(a.s, a.pk, 1, 100, end[5] + 1, &out), 5);
  assert_int_equal(out.size, end[5]);
  /* the receiver applies all of it: nothing waits */
  assert_int_equal(apply(c.s, &out), 5);

  /* No signed entry within the limit: at least one entry, as before. */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(read_run_to(a.s, a.pk, 6, 2, 0, &out), 7);
  msgpack_sbuffer_clear(&out);
  assert_int_equal(read_run_to(a.s, a.pk, 6, 100, 1, &out), 6);
  assert_int_equal(apply(c.s, &out), 0); /* waits for 9's signature */
  /* and the log's end is signed: from 7 on, the rest */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(read_run_to(a.s, a.pk, 7, 100, 0, &out), 9);
  assert_int_equal(apply(c.s, &out), 4);
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&out);
  msgpack_sbuffer_destroy(&whole);
  device_free(&a);
  device_free(&c);
}

static void test_map_full_then_grow(void **state) {
  (void)state;
  device d;
  char ms[72];
  cairn_store_opts small = {.map_size = 1024 * 1024};
  device_new(&d, &small);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  enum { N = 100 };
  setb b[N];
  cairn_put p[N];
  for (int i = 0; i < N; i++) {
    set_begin(&b[i], 4);
    set_str(&b[i], "milestone", ms);
    set_str(&b[i], "observed", "2026-03-13");
    set_num(&b[i], "value", 3);
    char note[1500];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    set_str(&b[i], "note", note);
  }
  int rc = 0;
  size_t batches = 0;
  for (; batches < 100 && rc == 0; batches++) {
    for (int i = 0; i < N; i++)
      p[i] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[i].sb.data,
                         .set_len = b[i].sb.size};
    uint64_t seq = cairn_store_own_seq(d.s);
    rc = cairn_store_write_batch(d.s, p, N);
    if (rc != 0) {
      assert_int_equal(rc, CAIRN_EMAPFULL);
      assert_int_equal(p[0].result, CAIRN_EMAPFULL);
      assert_int_equal(cairn_store_own_seq(d.s), seq);
    }
  }
  assert_int_equal(rc, CAIRN_EMAPFULL);
  size_t written = (batches - 1) * N;
  assert_int_equal(cairn_store_grow(d.s), 0);
  for (int i = 0; i < N; i++)
    p[i] = (cairn_put){.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)b[i].sb.data,
                       .set_len = b[i].sb.size};
  assert_int_equal(cairn_store_write_batch(d.s, p, N), 0);
  assert_int_equal(p[N - 1].result, 0);
  for (int i = 0; i < N; i++)
    msgpack_sbuffer_destroy(&b[i].sb);
  cairn_store_status_view *v;
  assert_int_equal(status_of(d.s, "ava-8", &v)->progress.points, written + N);
  cairn_store_status_free(v);
  assert_int_equal(cairn_store_own_seq(d.s), 2 + written + N);
  device_free(&d);
}

/* check() reports a record that does not match a rebuild from the log. */
static void test_check_finds_a_changed_record(void **state) {
  (void)state;
  device d;
  char ms[72], ev[72];
  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  assert_check_clean(d.s);
  cairn_store_close(d.s);

  /* Overwrite the evidence's state behind the log's back. */
  char path[128];
  snprintf(path, sizeof path, "%s/store", d.dir);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
  assert_int_equal(mdb_env_open(env, path, 0, 0640), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
  uint8_t key[80];
  key[0] = CAIRN_REC_EVIDENCE;
  memcpy(key + 1, ev, strlen(ev));
  MDB_val k = {1 + strlen(ev), key}, v = {1, "\x90"};
  assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  device_open(&d, NULL);
  int lines = 0;
  assert_int_equal(cairn_store_check(d.s, count_line, &lines), CAIRN_ECORRUPT);
  assert_int_equal(lines, 1);
  device_free(&d);
}

/* ---- sync ------------------------------------------------------------------ */

typedef struct history_list {
  uint8_t author[4][CAIRN_KEY_BYTES];
  uint64_t seq[4];
  size_t n;
} history_list;

static int history_note(const uint8_t *author, uint64_t seq, void *arg) {
  history_list *h = arg;
  assert_true(h->n < 4);
  memcpy(h->author[h->n], author, CAIRN_KEY_BYTES);
  h->seq[h->n++] = seq;
  return 0;
}

/* A student who moves into a classroom: the central records the arrival;
 * their history leaves for that classroom only once they are its student;
 * a classroom fills in the entries it held redacted, only with the very
 * entries it held (same hash), and then holds them as the central does. */
static void test_history_follows_a_moved_student(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  cairn_scope room = scope_of("North", "8B");
  cairn_store_arrival arr[4];
  size_t n;
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(c.s, "bo-1", "North", "7A");
  cairn_apply_result res = sync_to(c.s, k.s, &room);
  assert_int_equal(res.refused, 0);
  assert_false(export_has(k.s, "bo-1")); /* held redacted */

  /* not the classroom's student: nothing of their history leaves */
  history_list h = {0};
  assert_int_equal(cairn_store_student_history(c.s, "bo-1", &room, history_note, &h),
                   CAIRN_EPERM);
  assert_int_equal(h.n, 0);
  assert_int_equal(cairn_store_arrivals(c.s, &room, arr, 4, &n), 0);
  assert_int_equal(n, 0);

  /* the move: an edit naming 8B */
  setb b;
  set_begin(&b, 1);
  set_str(&b, "classroom", "8B");
  assert_int_equal(put1(c.s, CAIRN_REC_STUDENT, "bo-1", 1, &b, NULL, NULL, NULL), 0);
  assert_int_equal(cairn_store_arrivals(c.s, &room, arr, 4, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(arr[0].student, "bo-1");
  cairn_scope other = scope_of("North", "7A");
  assert_int_equal(cairn_store_arrivals(c.s, &other, arr + 1, 3, &n), 0);
  assert_int_equal(n, 0); /* 7A did not gain bo-1 */
  assert_int_equal(cairn_store_student_history(c.s, "bo-1", &room, history_note, &h), 0);
  assert_int_equal(h.n, 1); /* the creation, written for 7A */
  assert_memory_equal(h.author[0], c.pk, CAIRN_KEY_BYTES);

  msgpack_sbuffer fill;
  size_t count;
  msgpack_sbuffer_init(&fill);
  assert_int_equal(cairn_store_read_log(c.s, c.pk, h.seq[0], 1, &fill, &count), 0);
  assert_int_equal(count, 1);
  /* a body that is not the one held: refused, nothing written */
  msgpack_sbuffer bad;
  msgpack_sbuffer_init(&bad);
  msgpack_sbuffer_write(&bad, fill.data, fill.size);
  size_t at = 0;
  while (at + 2 <= bad.size && memcmp(bad.data + at, "Bo", 2) != 0)
    at++;
  assert_true(at + 2 <= bad.size); /* the student's name, in the body */
  bad.data[at + 1] = 'x';
  assert_int_equal(cairn_store_fill(k.s, (const uint8_t *)bad.data, bad.size, &res),
                   CAIRN_EBADCHAIN);
  msgpack_sbuffer_destroy(&bad);
  assert_false(export_has(k.s, "bo-1"));
  /* the very entry: filled in and folded */
  assert_int_equal(cairn_store_fill(k.s, (const uint8_t *)fill.data, fill.size, &res), 0);
  assert_int_equal(res.applied, 1);
  assert_true(export_has(k.s, "bo-1"));
  /* again: held whole already, skipped */
  assert_int_equal(cairn_store_fill(k.s, (const uint8_t *)fill.data, fill.size, &res), 0);
  assert_int_equal(res.applied, 0);
  msgpack_sbuffer_destroy(&fill);

  /* the move itself arrives as any entry; then k holds what the central
   * holds of its classroom, and its log still verifies */
  sync_to(c.s, k.s, &room);
  msgpack_sbuffer ec, ek;
  export_scoped(c.s, &room, &ec);
  export_scoped(k.s, &room, &ek);
  assert_int_equal(ec.size, ek.size);
  assert_memory_equal(ec.data, ek.data, ec.size);
  msgpack_sbuffer_destroy(&ec);
  msgpack_sbuffer_destroy(&ek);
  assert_check_clean(k.s);

  /* the device records that it holds the history, up to that arrival */
  assert_int_equal(cairn_store_history_held(k.s, "bo-1", arr[0].hlc), 0);
  assert_int_equal(cairn_store_history_done(k.s, "bo-1", arr[0].hlc), 0);
  assert_int_equal(cairn_store_history_held(k.s, "bo-1", arr[0].hlc), 1);
  assert_int_equal(cairn_store_history_held(k.s, "bo-1", arr[0].hlc + 1), 0);
  device_free(&c);
  device_free(&k);
}

/* The central's log mixes campuses; a classroom receives it with the other
 * campus's entries redacted: the chain verifies, the records of its scope
 * are there and export byte for byte as on the central. */
static void test_sync_redacts_out_of_scope(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  cairn_scope north = scope_of("North", "8B");
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(c.s, "bo-1", "South", "1A");
  add_student_at(c.s, "ava-8", "North", "8B");

  msgpack_sbuffer b;
  sync_batch(c.s, k.s, &north, &b);
  size_t off = 0, redacted = 0;
  while (off < b.size) {
    cairn_entry e;
    size_t used;
    assert_int_equal(cairn_entry_decode((const uint8_t *)b.data + off, b.size - off, &e, &used), 0);
    redacted += (size_t)e.redacted;
    off += used;
  }
  assert_int_equal(redacted, 1); /* bo-1 */
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(k.s, (const uint8_t *)b.data, b.size, &res), 0);
  msgpack_sbuffer_destroy(&b);
  assert_int_equal(res.applied, 3);
  assert_int_equal(res.refused, 0);
  assert_check_clean(k.s);
  assert_true(export_has(k.s, "ava-8"));
  assert_false(export_has(k.s, "bo-1"));

  msgpack_sbuffer ec, ek;
  export_scoped(c.s, &north, &ec);
  export_scoped(k.s, &north, &ek);
  assert_int_equal(ec.size, ek.size);
  assert_memory_equal(ec.data, ek.data, ec.size);
  msgpack_sbuffer_destroy(&ec);
  msgpack_sbuffer_destroy(&ek);

  /* The classroom's own version vector: the central first. */
  add_student_at(k.s, "cy-8", "North", "8B");
  cairn_vv_item *vv;
  size_t n;
  assert_int_equal(cairn_store_version_vector(k.s, &vv, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(vv[0].author, c.pk, CAIRN_KEY_BYTES);
  assert_int_equal(vv[0].seq, 3);
  assert_memory_equal(vv[1].author, k.pk, CAIRN_KEY_BYTES);
  assert_int_equal(vv[1].seq, 1);
  free(vv);
  device_free(&c);
  device_free(&k);
}

/* The sync path hands back, for each author's run of the buffer, its
 * highest seq (what the sender holds: the link never sends it back, and
 * the central answers those authors with receipts), refused or not, with
 * no second decode of the buffer. */
static void test_sync_hands_back_each_authors_run(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  add_student_at(c.s, "bo-8", "North", "8B");
  add_student_at(k.s, "ava-8", "North", "8B");
  add_student_at(k.s, "cy-8", "North", "8B");
  cairn_vv_item *vv;
  size_t n;
  assert_int_equal(cairn_store_version_vector(c.s, &vv, &n), 0);
  assert_int_equal(n, 1);
  uint64_t cseq = vv[0].seq;
  free(vv);
  /* the central's run (held already), then the classroom's (not enrolled yet) */
  msgpack_sbuffer b;
  size_t count;
  msgpack_sbuffer_init(&b);
  assert_int_equal(cairn_store_read_log(c.s, c.pk, 1, 100, &b, &count), 0);
  assert_int_equal(count, cseq);
  assert_int_equal(cairn_store_read_log(k.s, k.pk, 1, 100, &b, &count), 0);
  assert_int_equal(count, 2);
  cairn_apply_result res;
  cairn_vv_item *runs;
  size_t nruns;
  assert_int_equal(
      cairn_store_apply_synced_runs(c.s, (const uint8_t *)b.data, b.size, &res, &runs, &nruns), 0);
  assert_int_equal(res.entries, cseq + 2);
  assert_int_equal(res.refused, 2);
  assert_int_equal(nruns, 2);
  assert_memory_equal(runs[0].author, c.pk, CAIRN_KEY_BYTES);
  assert_int_equal(runs[0].seq, cseq);
  assert_memory_equal(runs[1].author, k.pk, CAIRN_KEY_BYTES);
  assert_int_equal(runs[1].seq, 2);
  free(runs);
  /* enrolled: the same buffer applies, and hands back the same runs */
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  assert_int_equal(
      cairn_store_apply_synced_runs(c.s, (const uint8_t *)b.data, b.size, &res, &runs, &nruns), 0);
  assert_int_equal(res.applied, 2);
  assert_int_equal(nruns, 2);
  assert_int_equal(runs[1].seq, 2);
  free(runs);
  assert_true(export_has(c.s, "cy-8"));
  /* nothing to apply: no runs; a cut buffer: refused, no runs */
  assert_int_equal(cairn_store_apply_synced_runs(c.s, (const uint8_t *)b.data, 0, &res, &runs,
                                                 &nruns),
                   0);
  assert_null(runs);
  assert_int_equal(nruns, 0);
  assert_int_equal(cairn_store_apply_synced_runs(c.s, (const uint8_t *)b.data, b.size - 3, &res,
                                                 &runs, &nruns),
                   CAIRN_EMALFORMED);
  assert_null(runs);
  assert_int_equal(nruns, 0);
  msgpack_sbuffer_destroy(&b);
  device_free(&c);
  device_free(&k);
}

/* Only enrolled, unrevoked devices may write; an unknown author's run is
 * not even stored, and applies once the central has enrolled it. */
static void test_sync_refuses_unknown_and_revoked_authors(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  add_student_at(k.s, "ava-8", "North", "8B");

  msgpack_sbuffer b;
  sync_batch(k.s, c.s, NULL, &b);
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)b.data, b.size, &res), 0);
  assert_int_equal(res.applied, 0);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.reason, "not an enrolled device"));
  assert_int_equal(cairn_store_refused_count(c.s), 1);
  msgpack_sbuffer none;
  size_t count;
  msgpack_sbuffer_init(&none);
  assert_int_equal(cairn_store_read_log(c.s, k.pk, 1, 10, &none, &count), 0);
  assert_int_equal(count, 0); /* not stored */
  msgpack_sbuffer_destroy(&none);
  assert_false(export_has(c.s, "ava-8"));

  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)b.data, b.size, &res), 0);
  assert_int_equal(res.applied, 1);
  assert_int_equal(res.refused, 0);
  assert_true(export_has(c.s, "ava-8"));
  msgpack_sbuffer_destroy(&b);

  /* Revoked: entries already held stay, new ones are refused. */
  revoke_device(c.s, k.pk);
  cairn_scope sc;
  assert_int_equal(cairn_store_device_scope(c.s, k.pk, &sc, NULL), CAIRN_EPERM);
  add_student_at(k.s, "cy-8", "North", "8B");
  res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.applied, 0);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.reason, "revoked"));
  assert_true(export_has(c.s, "ava-8"));
  assert_false(export_has(c.s, "cy-8"));

  /* The counter persists. */
  cairn_store_close(c.s);
  device_open(&c, NULL);
  assert_int_equal(cairn_store_refused_count(c.s), 2);
  assert_check_clean(c.s);
  device_free(&c);
  device_free(&k);
}

/* Appends to out the next entry of k's log, signed, of kind with the
 * packed body: what an older (or hostile) cairn could have written. */
static void forge_entry(device *k, int kind, const msgpack_sbuffer *body, msgpack_sbuffer *out) {
  craft_next_entry(k, kind, body, out);
}

/* A forged body: starts {id, new: true, set: {...n fields}}; the caller
 * packs the fields, then forged_body_end adds the scope and forges it. */
static void forged_body_begin(setb *body, const char *id, uint32_t n) {
  set_begin(body, 4);
  set_str(body, "id", id);
  set_true(body, "new");
  pack_s(&body->pk, "set");
  msgpack_pack_map(&body->pk, n);
}

static void forged_body_end(device *k, int kind, setb *body, const char *campus,
                            const char *classroom, msgpack_sbuffer *out) {
  pack_s(&body->pk, "scope");
  msgpack_pack_array(&body->pk, 2);
  pack_s(&body->pk, campus);
  pack_s(&body->pk, classroom);
  forge_entry(k, kind, &body->sb, out);
  msgpack_sbuffer_destroy(&body->sb);
}

/* Appends to out an entry of k's log, signed, that writes a device record:
 * something only the central may do. */
static void forge_device_entry(device *k, msgpack_sbuffer *out) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  hex_of(k->pk, hex);
  setb body;
  forged_body_begin(&body, hex, 2);
  set_str(&body, "key", hex);
  set_str(&body, "role", "hub");
  forged_body_end(k, CAIRN_REC_DEVICE, &body, "North", "8B", out);
}

/* Appends to out an entry of k's log that creates student id (any bytes)
 * named name (any bytes) at North/8B, as an older cairn could have. */
static void forge_student_entry(device *k, const char *id, const char *name,
                                msgpack_sbuffer *out) {
  setb body;
  forged_body_begin(&body, id, 3);
  set_str(&body, "name", name);
  set_str(&body, "campus", "North");
  set_str(&body, "classroom", "8B");
  forged_body_end(k, CAIRN_REC_STUDENT, &body, "North", "8B", out);
}

/* An enrolled author writing outside its scope, or a device record: kept
 * in the log (the chain goes on) but quarantined, counted, never folded,
 * and only ever sent on redacted. */
static void test_sync_quarantines_unauthorized_writes(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  char msg[256];
  assert_int_equal(enroll(k.s, k.pk, "North", "8B", msg), CAIRN_EPERM);
  assert_string_equal(msg, "device records are written by the central");

  add_student_at(k.s, "bo-1", "South", "1A"); /* seq 1: outside its scope */
  add_student_at(k.s, "ava-8", "North", "8B");
  cairn_apply_result res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.applied, 1);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.reason, "seq 1: the record's scope is outside the author's"));
  assert_int_equal(cairn_store_refused_count(c.s), 1);
  assert_false(export_has(c.s, "bo-1"));
  assert_true(export_has(c.s, "ava-8"));

  /* Later entries of the same author still apply; a forged device record
   * is quarantined. */
  add_student_at(k.s, "cy-8", "North", "8B");
  msgpack_sbuffer b;
  sync_batch(k.s, c.s, NULL, &b);
  forge_device_entry(&k, &b);
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)b.data, b.size, &res), 0);
  msgpack_sbuffer_destroy(&b);
  assert_int_equal(res.applied, 1);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.reason, "seq 4: device records are written by the central"));
  assert_true(export_has(c.s, "cy-8"));
  char role[16];
  cairn_scope sc;
  assert_int_equal(cairn_store_device_scope(c.s, k.pk, &sc, role), 0);
  assert_string_equal(role, "classroom"); /* not the forged hub */
  assert_int_equal(cairn_store_refused_count(c.s), 2);
  assert_check_clean(c.s); /* the rebuild leaves the quarantine out too */

  /* The central passes the quarantined entries on redacted only. */
  msgpack_sbuffer out;
  size_t count;
  uint64_t last;
  msgpack_sbuffer_init(&out);
  assert_int_equal(cairn_store_read_scoped(c.s, k.pk, 1, 100, 0, NULL, &out, &count, &last), 0);
  assert_int_equal(count, 4);
  assert_true(last == 4);
  size_t off = 0;
  for (uint64_t seq = 1; seq <= 4; seq++) {
    cairn_entry e;
    size_t used;
    assert_int_equal(cairn_entry_decode((const uint8_t *)out.data + off, out.size - off, &e, &used), 0);
    assert_int_equal(e.redacted, seq == 1 || seq == 4);
    off += used;
  }
  /* A byte budget stops early, at a signed entry. */
  msgpack_sbuffer_clear(&out);
  assert_int_equal(cairn_store_read_scoped(c.s, k.pk, 1, 100, 1, NULL, &out, &count, &last), 0);
  assert_int_equal(count, 1);
  msgpack_sbuffer_destroy(&out);
  device_free(&c);
  device_free(&k);
}

/* The number of entries in b. */
static size_t count_entries(const msgpack_sbuffer *b) {
  size_t off = 0, n = 0, used;
  cairn_entry e;
  while (off < b->size) {
    assert_int_equal(cairn_entry_decode((const uint8_t *)b->data + off, b->size - off, &e, &used), 0);
    off += used;
    n++;
  }
  return n;
}

/* Applies batch, whose last entry is forged, to c as a sync: every entry
 * but the last applies; that one is quarantined for reason, and c still
 * checks clean. */
static void assert_last_quarantined(device *c, msgpack_sbuffer *batch, const char *reason) {
  size_t applied = count_entries(batch) - 1;
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(c->s, (const uint8_t *)batch->data, batch->size, &res),
                   0);
  msgpack_sbuffer_destroy(batch);
  assert_int_equal(res.applied, applied);
  assert_int_equal(res.refused, 1);
  assert_int_equal(res.quarantined, 1);
  if (strstr(res.reason, reason) == NULL)
    fail_msg("reason \"%s\", expected \"%s\"", res.reason, reason);
  assert_check_clean(c->s);
}

/* An entry creating student id named name, as an older cairn on k could
 * have written it: synced to c, it is quarantined for reason; in k's own
 * log (applied as is), it is folded, and the check's replay of the log
 * folds it the same way. */
static void old_student_entry_kept_out(device *c, device *k, const char *id, const char *name,
                                       const char *reason) {
  msgpack_sbuffer batch;
  sync_batch(k->s, c->s, NULL, &batch);
  forge_student_entry(k, id, name, &batch);
  assert_last_quarantined(c, &batch, reason);
  assert_false(export_has(c->s, id));

  msgpack_sbuffer_init(&batch);
  forge_student_entry(k, id, name, &batch);
  assert_int_equal(apply(k->s, &batch), 1);
  msgpack_sbuffer_destroy(&batch);
  assert_true(export_has(k->s, id));
  assert_check_clean(k->s);
}

/* Ids follow one grammar (FORMAT.md 3.1) wherever they enter: a local
 * put, a reference, an entry from another node. A node's own log written
 * before the grammar still replays as it was. */
static void test_ids_follow_the_grammar(void **state) {
  static const char *const bad[] = {"-rf", ".", "..", ".hidden", "-"};
  (void)state;
  device c, k;
  char msg[256], want[64];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(k.s, "ava-8", "North", "8B");
  uint64_t seq = cairn_store_own_seq(k.s);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setb b;
    set_begin(&b, 1);
    set_str(&b, "name", "Bo");
    assert_int_equal(put1(k.s, CAIRN_REC_STUDENT, bad[i], 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
    snprintf(want, sizeof want, "id: '%s' is not an id", bad[i]);
    if (strncmp(msg, want, strlen(want)) != 0)
      fail_msg("student %s: \"%s\", expected \"%s...\"", bad[i], msg, want);
  }
  setb b;
  minimal_milestone(&b, "..");
  assert_int_equal(put1(k.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_string_equal(msg, "student: '..' is not an id (1 to 64 letters, digits, '-', '_' or "
                           "'.', not starting with '-' or '.')");
  assert_int_equal(cairn_store_own_seq(k.s), seq); /* nothing written */

  /* From another node: quarantined (stored, not folded), the rest applied. */
  old_student_entry_kept_out(&c, &k, "-rf", "Bo", "seq 2: id: '-rf' is not an id");
  assert_true(export_has(c.s, "ava-8"));
  device_free(&c);
  device_free(&k);
}

/* Appends to out an entry of k's log that creates a milestone whose id is
 * id, as a cairn that lied about it could. */
static void forge_milestone_entry(device *k, const char *id, msgpack_sbuffer *out) {
  setb body;
  forged_body_begin(&body, id, 8);
  set_str(&body, "student", "ava-8");
  set_str(&body, "type", "academic");
  set_str(&body, "statement", "x");
  set_str(&body, "scale", "0-4");
  set_num(&body, "baseline", 1);
  set_num(&body, "target", 3);
  set_str(&body, "start", "2026-03-02");
  set_str(&body, "end", "2026-04-13");
  forged_body_end(k, CAIRN_REC_MILESTONE, &body, "North", "8B", out);
}

/* A generated id names its author: its key until the central's log brings
 * the device its number, then the number. From another node, a creation
 * whose id names another author, or another entry, is quarantined: no
 * device can take over a record another will create. */
static void test_generated_ids_name_their_author(void **state) {
  (void)state;
  device c, k;
  char id[CAIRN_ENTRY_ID_MAX], want[CAIRN_ENTRY_ID_MAX];
  cairn_entry_gen_id g;
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(k.s, "ava-8", "North", "8B");
  add_milestone(k.s, "ava-8", id);
  assert_int_equal(cairn_entry_id_parse(id, strlen(id), &g), 0);
  assert_int_equal(g.form, CAIRN_ID_KEY);
  assert_memory_equal(g.key, k.pk, CAIRN_KEY_BYTES);
  assert_true(g.seq == cairn_store_own_seq(k.s));

  cairn_scope sc = scope_of("North", "8B");
  cairn_apply_result res = sync_to(c.s, k.s, &sc); /* k's device record: number 1 */
  assert_int_equal(res.refused, 0);
  add_milestone(k.s, "ava-8", id);
  snprintf(want, sizeof want, "n1-%llu", (unsigned long long)cairn_store_own_seq(k.s));
  assert_string_equal(id, want);
  res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.refused, 0);
  assert_true(export_has(c.s, id));

  /* The central's own ids carry its number, 0. */
  add_student_at(c.s, "bo-8", "North", "8B");
  add_milestone(c.s, "bo-8", id);
  snprintf(want, sizeof want, "n0-%llu", (unsigned long long)cairn_store_own_seq(c.s));
  assert_string_equal(id, want);

  /* Forged: another device's number, another entry's seq, the central's
   * key, another key's first bytes (the older form). */
  char cent[64], forged[CAIRN_ENTRY_ID_MAX];
  sodium_bin2base64(cent, sizeof cent, c.pk, CAIRN_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  for (int i = 0; i < 4; i++) {
    unsigned long long next = (unsigned long long)cairn_store_own_seq(k.s) + 1;
    if (i == 0)
      snprintf(forged, sizeof forged, "n2-%llu", next);
    else if (i == 1)
      snprintf(forged, sizeof forged, "n1-%llu", next + 1);
    else if (i == 2)
      snprintf(forged, sizeof forged, "k%s-%llu", cent, next);
    else
      snprintf(forged, sizeof forged, "%02x%02x%02x%02x-%llu", c.pk[0], c.pk[1], c.pk[2],
               c.pk[3], next);
    msgpack_sbuffer batch;
    msgpack_sbuffer_init(&batch);
    forge_milestone_entry(&k, forged, &batch);
    assert_last_quarantined(&c, &batch, "a generated id must name its author and the entry");
    assert_false(export_has(c.s, forged));
    msgpack_sbuffer_init(&batch); /* k's own log goes on past it */
    forge_milestone_entry(&k, forged, &batch);
    assert_int_equal(apply(k.s, &batch), 1);
    msgpack_sbuffer_destroy(&batch);
  }
  /* ... and one that names k and the entry is folded, in the older form too. */
  snprintf(want, sizeof want, "%02x%02x%02x%02x-%llu", k.pk[0], k.pk[1], k.pk[2], k.pk[3],
           (unsigned long long)cairn_store_own_seq(k.s) + 1);
  msgpack_sbuffer batch;
  msgpack_sbuffer_init(&batch);
  forge_milestone_entry(&k, want, &batch);
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)batch.data, batch.size, &res), 0);
  msgpack_sbuffer_destroy(&batch);
  assert_int_equal(res.quarantined, 0);
  assert_true(export_has(c.s, want));
  device_free(&c);
  device_free(&k);
}

/* No control character enters a text field (FORMAT.md 3.3): refused from
 * a local put with the field named, quarantined from another node, and
 * folded as it was when a node replays its own older log. Notes keep tab
 * and line feed. */
static void test_control_characters_refused(void **state) {
  (void)state;
  device c, k;
  char ms[72], ev[72], msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", NULL), 0);
  add_student_at(k.s, "ava-8", "North", "8B");
  add_milestone(k.s, "ava-8", ms);
  uint64_t seq = cairn_store_own_seq(k.s);

  setb b;
  set_begin(&b, 1);
  set_str(&b, "name", "Ava\x1b[2J");
  assert_int_equal(put1(k.s, CAIRN_REC_STUDENT, "bo-1", 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_string_equal(msg, "name: contains a control character (U+001B), which cairn does not "
                           "store");
  set_begin(&b, 1);
  set_str(&b, "statement", "two\nlines");
  assert_int_equal(put1(k.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_non_null(strstr(msg, "statement: must be one line"));
  set_begin(&b, 2);
  set_str(&b, "name", "Bo");
  pack_s(&b.pk, "accommodations");
  msgpack_pack_array(&b.pk, 2);
  pack_s(&b.pk, "extended time");
  pack_s(&b.pk, "bell\x07");
  assert_int_equal(put1(k.s, CAIRN_REC_STUDENT, "bo-1", 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_non_null(strstr(msg, "accommodations item 2: contains a control character (U+0007)"));
  set_begin(&b, 4);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-06");
  set_num(&b, "value", 2);
  set_str(&b, "note", "csi \xc2\x9b" "2J");
  assert_int_equal(put1(k.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, NULL, msg), CAIRN_EINVAL);
  assert_non_null(strstr(msg, "note: contains a control character (U+009B)"));
  assert_int_equal(add_evidence(k.s, ms, "2026-03-06", 2, ev, NULL), 0);
  seq = cairn_store_own_seq(k.s);
  set_begin(&b, 1);
  set_num(&b, "value", 3);
  assert_int_equal(put1(k.s, CAIRN_REC_EVIDENCE, ev, 1, &b, "typo\x1b]8;;http://x\x07", NULL, msg),
                   CAIRN_EINVAL);
  assert_non_null(strstr(msg, "reason: contains a control character (U+001B)"));
  assert_int_equal(cairn_store_own_seq(k.s), seq); /* nothing written */
  /* a note is multi-line text */
  set_begin(&b, 4);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-06");
  set_num(&b, "value", 2);
  set_str(&b, "note", "claim clear\n\tone piece of evidence");
  assert_int_equal(put1(k.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, NULL, msg), 0);

  /* From another node: quarantined, the rest applied; the central's
   * entries too, in the body's scope as in the set. */
  msgpack_sbuffer batch;
  sync_batch(c.s, k.s, NULL, &batch);
  setb body;
  forged_body_begin(&body, "cy-8", 1);
  set_str(&body, "name", "Cy");
  forged_body_end(&c, CAIRN_REC_STUDENT, &body, "North", "8B\xc2\x9b", &batch);
  assert_last_quarantined(&k, &batch, "scope: contains a control character (U+009B)");
  assert_false(export_has(k.s, "cy-8"));
  old_student_entry_kept_out(&c, &k, "bo-1", "Bo\x1b[2J",
                             "name: contains a control character (U+001B), which cairn");
  device_free(&c);
  device_free(&k);
}

static void test_token_redeem(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  uint8_t secret[16], other[16];
  char why[128], role[16];
  cairn_scope sc, north = scope_of("North", "8B");
  memset(secret, 7, sizeof secret);
  memset(other, 9, sizeof other);
  assert_int_equal(cairn_store_token_add(c.s, secret, "classroom", &north, 2000000000), 0);
  assert_int_equal(cairn_store_token_add(c.s, other, "hub", &north, 1000), 0);
  assert_int_equal(cairn_store_token_add(c.s, other, "teacher", &north, 1000), CAIRN_EINVAL);

  uint8_t unknown[16] = {0};
  assert_int_equal(cairn_store_token_redeem(c.s, unknown, k.pk, "Room 8B", 1500, &sc, role, why,
                                            sizeof why),
                   CAIRN_ENOTFOUND);
  assert_string_equal(why, "unknown token");
  assert_int_equal(cairn_store_token_redeem(c.s, other, k.pk, "Room 8B", 1500, &sc, role, why,
                                            sizeof why),
                   CAIRN_EPERM);
  assert_string_equal(why, "token expired");
  assert_int_equal(cairn_store_device_scope(c.s, k.pk, &sc, role), CAIRN_ENOTFOUND);

  assert_int_equal(cairn_store_token_redeem(c.s, secret, k.pk, "Room 8B", 1500, &sc, role, why,
                                            sizeof why),
                   0);
  assert_string_equal(sc.campus, "North");
  assert_string_equal(sc.classroom, "8B");
  assert_string_equal(role, "classroom");
  /* The same device again (its answer was lost): the same answer, and
   * nothing new is written. */
  memset(&sc, 0, sizeof sc);
  assert_int_equal(cairn_store_token_redeem(c.s, secret, k.pk, "Room 8B", 1500, &sc, role, why,
                                            sizeof why),
                   0);
  assert_string_equal(sc.campus, "North");
  assert_string_equal(sc.classroom, "8B");
  assert_int_equal(cairn_store_own_seq(c.s), 1);
  /* Another device with the used token: refused. */
  uint8_t other_pk[CAIRN_KEY_BYTES], other_sk[CAIRN_SECRET_BYTES];
  crypto_sign_keypair(other_pk, other_sk);
  assert_int_equal(cairn_store_token_redeem(c.s, secret, other_pk, "Room 9", 1500, &sc, role,
                                            why, sizeof why),
                   CAIRN_ENOTFOUND);
  assert_string_equal(why, "token already used");
  /* A new token for the enrolled device re-sends its answer (its scope,
   * not the new token's), and is used up. */
  uint8_t fresh[16];
  cairn_scope south = scope_of("South", "1A");
  memset(fresh, 3, sizeof fresh);
  assert_int_equal(cairn_store_token_add(c.s, fresh, "classroom", &south, 2000000000), 0);
  assert_int_equal(cairn_store_token_redeem(c.s, fresh, k.pk, "Room 8B", 1500, &sc, role, why,
                                            sizeof why),
                   0);
  assert_string_equal(sc.campus, "North");
  assert_string_equal(sc.classroom, "8B");
  assert_int_equal(cairn_store_own_seq(c.s), 1);
  assert_int_equal(cairn_store_token_redeem(c.s, fresh, other_pk, "Room 9", 1500, &sc, role, why,
                                            sizeof why),
                   CAIRN_ENOTFOUND);

  memset(&sc, 0, sizeof sc);
  assert_int_equal(cairn_store_device_scope(c.s, k.pk, &sc, role), 0);
  assert_string_equal(sc.campus, "North");
  assert_string_equal(sc.classroom, "8B");
  assert_string_equal(role, "classroom");
  assert_int_equal(cairn_store_device_scope(c.s, c.pk, &sc, role), 0);
  assert_string_equal(sc.campus, "");
  assert_string_equal(role, "central");
  assert_int_equal(cairn_store_own_seq(c.s), 1); /* the device record, in the central's log */

  /* The device list, with what this node saw of it. */
  cairn_peer_seen seen[2] = {{.when = 1600000000}, {.when = 1700000000}}; /* the later wins */
  memcpy(seen[0].key, k.pk, CAIRN_KEY_BYTES);
  memcpy(seen[1].key, k.pk, CAIRN_KEY_BYTES);
  assert_int_equal(cairn_store_peers_seen(c.s, seen, 2), 0);
  reply r;
  msgpack_sbuffer_init(&r.sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &r.sb, msgpack_sbuffer_write);
  assert_int_equal(cairn_store_devices(c.s, &pk), 0);
  const msgpack_object *list = reply_decode(&r);
  assert_int_equal(list->via.array.size, 1);
  const msgpack_object *d = &list->via.array.ptr[0];
  char hex[2 * CAIRN_KEY_BYTES + 1];
  hex_of(k.pk, hex);
  assert_str(cairn_record_map_get(d, "id"), hex);
  assert_str(cairn_record_map_get(d, "name"), "Room 8B");
  assert_str(cairn_record_map_get(d, "enrolled"), "1970-01-01");
  assert_false(cairn_record_map_get(d, "revoked")->via.boolean);
  assert_int_equal(cairn_record_map_get(d, "last_seen")->via.i64, 1700000000);
  reply_free(&r);
  device_free(&c);
  device_free(&k);
}

/* A classroom needs only the chains of authors whose scope overlaps its
 * own (daemon/link.c, author_wanted). */
static void test_scope_overlaps(void **state) {
  static const cairn_scope all = {"", ""}, c = {"c", ""}, c_r1 = {"c", "r1"}, c_r2 = {"c", "r2"},
                           d = {"d", ""}, d_r1 = {"d", "r1"};
  (void)state;
  assert_true(cairn_scope_overlaps(&all, &c_r1));
  assert_true(cairn_scope_overlaps(&c_r1, &all));
  assert_true(cairn_scope_overlaps(&c, &c_r1));
  assert_true(cairn_scope_overlaps(&c_r1, &c));
  assert_true(cairn_scope_overlaps(&c_r1, &c_r1));
  assert_false(cairn_scope_overlaps(&c_r1, &c_r2));
  assert_false(cairn_scope_overlaps(&c_r1, &d_r1)); /* same classroom name, other campus */
  assert_false(cairn_scope_overlaps(&c, &d));
  assert_false(cairn_scope_overlaps(&d, &c_r1));
}

static void test_receipts(void **state) {
  (void)state;
  device c, k;
  central_and_classroom(&c, &k);
  uint8_t sig[CAIRN_SIG_BYTES], got[CAIRN_SIG_BYTES];
  uint64_t seq = 0;
  assert_int_equal(cairn_store_receipt_get(k.s, k.pk, &seq, got), CAIRN_ENOTFOUND);
  cairn_store_receipt_sign(c.s, k.pk, 5, sig);
  assert_int_equal(cairn_store_receipt_put(k.s, k.pk, 5, c.pk, sig), 0);
  assert_int_equal(cairn_store_receipt_get(k.s, k.pk, &seq, got), 0);
  assert_true(seq == 5);
  assert_memory_equal(got, sig, CAIRN_SIG_BYTES);

  /* Tampered: another seq, a flipped bit, a key that is not the central. */
  assert_int_equal(cairn_store_receipt_put(k.s, k.pk, 6, c.pk, sig), CAIRN_EBADSIG);
  sig[0] ^= 1;
  assert_int_equal(cairn_store_receipt_put(k.s, k.pk, 5, c.pk, sig), CAIRN_EBADSIG);
  sig[0] ^= 1;
  uint8_t own[CAIRN_SIG_BYTES];
  cairn_store_receipt_sign(k.s, k.pk, 9, own);
  assert_int_equal(cairn_store_receipt_put(k.s, k.pk, 9, k.pk, own), CAIRN_EBADSIG);

  /* An older receipt does not replace a newer one. */
  cairn_store_receipt_sign(c.s, k.pk, 3, got);
  assert_int_equal(cairn_store_receipt_put(k.s, k.pk, 3, c.pk, got), 0);
  assert_int_equal(cairn_store_receipt_get(k.s, k.pk, &seq, got), 0);
  assert_true(seq == 5);
  device_free(&c);
  device_free(&k);
}

/* A local write folds the body it built without decoding it again, so
 * what it folds must be what its logged entry reads as: in test builds
 * every local write's typed body is compared with a decode of its bytes
 * (store_apply.c), and the check rebuilds every record from the log and
 * compares. Each shape of body: creations,
 * a student in two classrooms (a scope of three), a derived `showed`, an
 * edit with a base and a reason, a set field's operations (no base), a
 * device numbered and revoked (fields the write derives). */
static void test_local_write_folds_what_its_entry_says(void **state) {
  (void)state;
  device d, k;
  char ms[72], ev[72], rid[72], hex[2 * CAIRN_KEY_BYTES + 1];
  setb b;
  device_new(&d, NULL);
  device_new(&k, NULL);
  assert_int_equal(cairn_store_set_central(d.s, d.pk), 0);

  set_begin(&b, 3);
  set_str(&b, "name", "Ava");
  set_str(&b, "campus", "North");
  pack_s(&b.pk, "classrooms");
  msgpack_pack_array(&b.pk, 2);
  pack_s(&b.pk, "8A");
  pack_s(&b.pk, "8B");
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "ava-8", 0, &b, NULL, NULL, NULL), 0);
  add_milestone(d.s, "ava-8", ms);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-06", 2, ev, NULL), 0);
  add_review(d.s, ms, "2026-03-09", rid);
  set_begin(&b, 1);
  set_num(&b, "value", 3);
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, ev, 1, &b, "typed 2 for 3", NULL, NULL), 0);
  set_begin(&b, 1);
  pack_s(&b.pk, "classrooms");
  msgpack_pack_map(&b.pk, 1);
  pack_s(&b.pk, "remove");
  msgpack_pack_array(&b.pk, 1);
  pack_s(&b.pk, "8A");
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "ava-8", 1, &b, "moved", NULL, NULL), 0);
  assert_int_equal(enroll(d.s, k.pk, "North", "8B", NULL), 0);
  revoke_device(d.s, k.pk);

  cairn_store_history *h = show_of(d.s, ev);
  assert_int_equal(h->nhistory, 2);
  assert_string_equal(h->history[1].why, "typed 2 for 3");
  assert_int_equal(h->history[1].nbase, 1);
  cairn_store_history_free(h);
  h = show_of(d.s, rid);
  assert_non_null(pair_get(h->fields, h->nfields, "showed"));
  cairn_store_history_free(h);
  hex_of(k.pk, hex);
  h = show_of(d.s, hex);
  assert_non_null(pair_get(h->fields, h->nfields, "revoked_after"));
  assert_non_null(pair_get(h->fields, h->nfields, "number"));
  cairn_store_history_free(h);
  assert_check_clean(d.s);
  device_free(&k);
  device_free(&d);
}

/* A record that one write made refers to that write's log entry, which a
 * batch puts in the log only as the next write begins, or at its end: a
 * later put of the same batch that reads the record (a milestone checks
 * its student, evidence its milestone) reads it whole. */
static void test_batch_reads_the_records_it_just_made(void **state) {
  (void)state;
  device d;
  setb b[3];
  char ms[CAIRN_ENTRY_ID_MAX];
  device_new(&d, NULL);
  set_begin(&b[0], 3);
  set_str(&b[0], "name", "Zed");
  set_str(&b[0], "campus", "North");
  set_str(&b[0], "classroom", "8B");
  minimal_milestone(&b[1], "zed-1");
  cairn_entry_id_key(d.pk, 2, ms); /* the milestone is the device's second entry */
  set_begin(&b[2], 3);
  set_str(&b[2], "milestone", ms);
  set_str(&b[2], "observed", "2026-03-06");
  set_num(&b[2], "value", 2);
  cairn_put p[3];
  for (int i = 0; i < 3; i++)
    p[i] = (cairn_put){.type = i == 0   ? CAIRN_REC_STUDENT
                               : i == 1 ? CAIRN_REC_MILESTONE
                                        : CAIRN_REC_EVIDENCE,
                       .id = i == 0 ? "zed-1" : NULL,
                       .set = (const uint8_t *)b[i].sb.data,
                       .set_len = b[i].sb.size};
  assert_int_equal(cairn_store_write_batch(d.s, p, 3), 0);
  for (int i = 0; i < 3; i++) {
    if (p[i].result != 0)
      fail_msg("put %d: %s", i, p[i].message);
    msgpack_sbuffer_destroy(&b[i].sb);
  }
  assert_string_equal(p[1].id_out, ms);
  cairn_store_status_view *v;
  const cairn_store_milestone_status *m = status_of(d.s, "zed-1", &v);
  assert_int_equal(m->progress.points, 1);
  cairn_store_status_free(v);
  assert_check_clean(d.s);
  device_free(&d);
}

/* A group commit whose last put is refused still ends on a signed entry:
 * the entry before it, which the central then takes whole and folds (an
 * unsigned tail would wait, staged, for a signature that never comes). */
static void test_batch_ending_with_a_refusal_is_signed(void **state) {
  (void)state;
  device c, k;
  char ms[72], msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", msg), 0);
  add_student_at(c.s, "ana-8", "North", "8B");
  cairn_scope room = scope_of("North", "8B");
  sync_to(c.s, k.s, &room);
  add_milestone(k.s, "ana-8", ms);
  setb good, bad;
  set_begin(&good, 3);
  set_str(&good, "milestone", ms);
  set_str(&good, "observed", "2026-03-10");
  set_num(&good, "value", 2);
  set_begin(&bad, 3);
  set_str(&bad, "milestone", "no-such-milestone");
  set_str(&bad, "observed", "2026-03-10");
  set_num(&bad, "value", 2);
  cairn_put p[2] = {
      {.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)good.sb.data, .set_len = good.sb.size},
      {.type = CAIRN_REC_EVIDENCE, .set = (const uint8_t *)bad.sb.data, .set_len = bad.sb.size}};
  assert_int_equal(cairn_store_write_batch(k.s, p, 2), 0);
  assert_int_equal(p[0].result, 0);
  assert_int_not_equal(p[1].result, 0);
  assert_check_clean(k.s);
  cairn_apply_result res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.refused, 0);
  assert_true(export_has(c.s, p[0].id_out));
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&good.sb);
  msgpack_sbuffer_destroy(&bad.sb);
  device_free(&k);
  device_free(&c);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_of_seed_example),
      cmocka_unit_test(test_refusals_name_the_field),
      cmocka_unit_test(test_implausible_dates),
      cmocka_unit_test(test_scale_refusals_say_what_the_scale_takes),
      cmocka_unit_test(test_batch_commits_the_good_puts),
      cmocka_unit_test(test_amend_and_retract_keep_history),
      cmocka_unit_test(test_reopen_keeps_everything),
      cmocka_unit_test(test_join_recorded_with_the_central),
      cmocka_unit_test(test_export_pages_join_into_the_whole),
      cmocka_unit_test(test_forged_entry_before_a_signed_one_refused),
      cmocka_unit_test(test_merge_is_order_independent),
      cmocka_unit_test(test_received_entries_are_checked),
      cmocka_unit_test(test_read_ends_at_signed_entry),
      cmocka_unit_test(test_map_full_then_grow),
      cmocka_unit_test(test_check_finds_a_changed_record),
      cmocka_unit_test(test_sync_redacts_out_of_scope),
      cmocka_unit_test(test_history_follows_a_moved_student),
      cmocka_unit_test(test_sync_hands_back_each_authors_run),
      cmocka_unit_test(test_sync_refuses_unknown_and_revoked_authors),
      cmocka_unit_test(test_sync_quarantines_unauthorized_writes),
      cmocka_unit_test(test_ids_follow_the_grammar),
      cmocka_unit_test(test_generated_ids_name_their_author),
      cmocka_unit_test(test_control_characters_refused),
      cmocka_unit_test(test_token_redeem),
      cmocka_unit_test(test_receipts),
      cmocka_unit_test(test_scope_overlaps),
      cmocka_unit_test(test_status_as_of_a_day),
      cmocka_unit_test(test_status_support_celebration_checks),
      cmocka_unit_test(test_review_showed_as_of_its_date),
      cmocka_unit_test(test_status_groups_by_student_ids_numerically),
      cmocka_unit_test(test_milestone_thresholds_checked),
      cmocka_unit_test(test_maintain_goal),
      cmocka_unit_test(test_ifthen_threshold_off_the_scale),
      cmocka_unit_test(test_parent_of_another_student_refused),
      cmocka_unit_test(test_local_write_folds_what_its_entry_says),
      cmocka_unit_test(test_batch_reads_the_records_it_just_made),
      cmocka_unit_test(test_batch_ending_with_a_refusal_is_signed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
