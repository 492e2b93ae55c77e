/* test_store_detail.c: a milestone's page as a typed result
 * (cairn_store_detail): every point with its amendment or retraction, the
 * record's own fields, the reviews, support changes and celebrations, and
 * the lines of the graph from the same numbers as the status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "text.h"
#include "store_fixture.h"

#define assert_near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

static int32_t day_of(const char *date) {
  int32_t day;
  assert_int_equal(cairn_text_date_parse(date, strlen(date), &day), 0);
  return day;
}

static cairn_store_detail_view *detail_at(cairn_store *s, const char *id, const char *date) {
  cairn_store_detail_view *v = NULL;
  assert_int_equal(cairn_store_detail(s, id, day_of(date), &v), 0);
  assert_non_null(v);
  assert_int_equal(v->nmilestones, 1);
  return v;
}

/* A dated child of milestone: a review, support change or celebration. */
static void add_child(cairn_store *s, int type, const char *milestone, const char *date,
                      const char *k1, const char *v1, const char *k2, const char *v2) {
  setb b;
  set_begin(&b, 2 + (k1 != NULL) + (k2 != NULL));
  set_str(&b, "milestone", milestone);
  set_str(&b, "date", date);
  if (k1 != NULL)
    set_str(&b, k1, v1);
  if (k2 != NULL)
    set_str(&b, k2, v2);
  assert_int_equal(put1(s, type, NULL, 0, &b, NULL, NULL, NULL), 0);
}

static void test_detail_of_seed_example(void **state) {
  (void)state;
  device d;
  char ms[72], e[5][72];
  setb b;

  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_milestone(d.s, "ava-8", ms);
  set_begin(&b, 4);
  set_str(&b, "method", "rubric check per assignment");
  set_str(&b, "at_home", "Ask to see one paragraph and find the claim together.");
  set_str(&b, "baseline_date", "2026-02-27");
  pack_s(&b.pk, "agreed_by");
  msgpack_pack_array(&b.pk, 2);
  pack_s(&b.pk, "Ava");
  pack_s(&b.pk, "Ms Rivera");
  assert_int_equal(put1(d.s, CAIRN_REC_MILESTONE, ms, 1, &b, NULL, NULL, NULL), 0);

  /* three days after the start, then weekly */
  assert_int_equal(add_evidence(d.s, ms, "2026-03-05", 1.5, e[0], NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-12", 2, e[1], NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-19", 2, e[2], NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-26", 3, e[3], NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-03-26", 0.5, e[4], NULL), 0);
  assert_int_equal(add_evidence(d.s, ms, "2026-04-02", 4, NULL, NULL), 0); /* after as-of */
  set_begin(&b, 1);
  set_num(&b, "value", 2.5);
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, e[2], 1, &b, "scored the wrong row", NULL, NULL),
                   0);
  set_begin(&b, 1);
  set_true(&b, "retracted");
  assert_int_equal(put1(d.s, CAIRN_REC_EVIDENCE, e[4], 1, &b, "wrong student", NULL, NULL), 0);
  add_child(d.s, CAIRN_REC_SUPPORT_CHANGE, ms, "2026-03-16", "support", "sentence stems",
            "note", "staff only: Ava asked for them");
  add_child(d.s, CAIRN_REC_REVIEW, ms, "2026-03-20", "kind", "weekly", "decision",
            "adjust-supports");
  add_child(d.s, CAIRN_REC_CELEBRATION, ms, "2026-03-27", "text",
            "evidence use improved from 1.5 to 3", NULL, NULL);
  add_child(d.s, CAIRN_REC_CELEBRATION, ms, "2026-03-06", "text", "first claim", NULL, NULL);
  add_child(d.s, CAIRN_REC_CELEBRATION, ms, "2026-04-05", "text", "not yet", NULL, NULL);

  cairn_store_detail_view *v = detail_at(d.s, ms, "2026-04-01");
  const cairn_store_milestone_detail *m = &v->milestones[0];
  assert_string_equal(v->student->id, "ava-8");
  assert_ptr_equal(m->status, &v->student->milestones[0]);
  assert_string_equal(m->status->id, ms);

  /* every point observed by the day, retracted too, in the order seen */
  assert_int_equal(m->npoints, 5);
  assert_string_equal(m->points[0].evidence, e[0]);
  assert_int_equal(m->points[0].day, day_of("2026-03-05"));
  assert_false(m->points[0].amended);
  assert_near(m->points[0].original, 1.5, 0);
  assert_string_equal(m->points[2].evidence, e[2]);
  assert_true(m->points[2].amended);
  assert_near(m->points[2].value, 2.5, 0);
  assert_near(m->points[2].original, 2, 0);
  assert_string_equal(m->points[3].evidence, e[3]);
  assert_string_equal(m->points[4].evidence, e[4]); /* same day: recorded later */
  assert_true(m->points[4].retracted);
  assert_false(m->points[3].retracted);
  assert_string_equal(m->points[0].by, "");

  /* the lines: the aimline over the timeframe; the trend line is the
   * status's trend, through the four active points (days 3, 10, 17, 24
   * after the start: 1.5, 2, 2.5, 3, so exactly 0.5 a week) */
  int32_t start = day_of("2026-03-02");
  assert_true(m->aimline.valid);
  assert_int_equal(m->aimline.from, start);
  assert_int_equal(m->aimline.to, day_of("2026-04-13"));
  assert_near(m->aimline.at_from, 1.5, 1e-12);
  assert_near(m->aimline.at_to, 3, 1e-12);
  assert_true(m->trendline.valid);
  assert_true(m->status->progress.trend_valid);
  assert_near(m->trendline.per_day * 7, m->status->progress.trend_per_week, 1e-12);
  assert_near(m->trendline.per_day * 7, 0.5, 1e-9);
  assert_int_equal(m->trendline.from, start + 3);
  assert_int_equal(m->trendline.to, start + 24);
  assert_near(m->trendline.at_from, 1.5, 1e-9);
  assert_near(m->trendline.at_to, 3, 1e-9);
  assert_near(m->trendline.intercept + m->trendline.per_day * (start + 24), 3, 1e-6);

  /* the record and the dated children */
  assert_string_equal(m->method, "rubric check per assignment");
  assert_string_equal(m->at_home, "Ask to see one paragraph and find the claim together.");
  assert_string_equal(m->source, "");
  assert_int_equal(m->baseline_date, day_of("2026-02-27"));
  assert_int_equal(m->nagreed_by, 2);
  assert_string_equal(m->agreed_by[1], "Ms Rivera");
  assert_int_equal(m->nif_then, 1);
  assert_non_null(strstr(m->if_then[0], "small-group session"));
  assert_int_equal(m->nsupport_changes, 1);
  assert_string_equal(m->support_changes[0].support, "sentence stems");
  assert_int_equal(m->support_changes[0].day, day_of("2026-03-16"));
  assert_string_equal(m->support_changes[0].note, "staff only: Ava asked for them");
  assert_int_equal(m->nreviews, 1);
  assert_string_equal(m->reviews[0].decision, "adjust-supports");
  assert_non_null(strstr(m->reviews[0].showed, "level")); /* filled in by the store */
  assert_int_equal(m->ncelebrations, 2);
  assert_string_equal(m->celebrations[0].text, "first claim");
  assert_string_equal(m->celebrations[1].text, "evidence use improved from 1.5 to 3");
  assert_string_equal(m->level_words, cairn_progress_level_words(m->status->progress.level));
  cairn_store_detail_free(v);

  /* as of an earlier day: only what was known then */
  v = detail_at(d.s, ms, "2026-03-13");
  m = &v->milestones[0];
  assert_int_equal(m->npoints, 2);
  assert_false(m->trendline.valid); /* two points make no trend */
  assert_int_equal(m->nreviews + m->nsupport_changes, 0);
  assert_int_equal(m->ncelebrations, 1);
  cairn_store_detail_free(v);
  device_free(&d);
}

static void test_detail_of_a_student_and_refusals(void **state) {
  (void)state;
  device d;
  char m1[72], m2[72];
  cairn_store_detail_view *v = NULL;

  device_new(&d, NULL);
  add_student(d.s, "ava-8");
  add_student(d.s, "ben-6");
  add_milestone(d.s, "ava-8", m1);
  add_milestone(d.s, "ava-8", m2);
  assert_int_equal(cairn_store_detail_student(d.s, "ava-8", day_of("2026-04-01"), &v), 0);
  assert_int_equal(v->nmilestones, 2);
  assert_int_equal(v->student->nmilestones, 2);
  assert_ptr_equal(v->milestones[1].status, &v->student->milestones[1]);
  assert_int_equal(v->milestones[0].npoints, 0);
  assert_false(v->milestones[0].trendline.valid);
  assert_true(v->milestones[0].aimline.valid);
  assert_string_equal(v->milestones[0].level_words, "not started: no evidence yet");
  cairn_store_detail_free(v);

  /* a student with no milestone: the student, no page */
  assert_int_equal(cairn_store_detail_student(d.s, "ben-6", day_of("2026-04-01"), &v), 0);
  assert_int_equal(v->nmilestones, 0);
  assert_string_equal(v->student->id, "ben-6");
  cairn_store_detail_free(v);

  v = (cairn_store_detail_view *)&d; /* set to NULL on failure */
  assert_int_equal(cairn_store_detail(d.s, "nothing-1", 0, &v), CAIRN_ENOTFOUND);
  assert_null(v);
  assert_int_equal(cairn_store_detail_student(d.s, "nobody", 0, &v), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_store_detail(d.s, "ava-8", 0, &v), CAIRN_ENOTFOUND); /* not a milestone */
  cairn_store_detail_free(NULL);
  device_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detail_of_seed_example),
      cmocka_unit_test(test_detail_of_a_student_and_refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
