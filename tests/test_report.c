/* test_report.c: the four reports of report/report.h over a fixed data
 * set, with the numbers worked out by hand from progress.h's rules.
 *
 * The data (as of 2026-04-01; every milestone runs 2026-03-02 to
 * 2026-04-13 on a 0-4 rubric from 1.5 to 3, "4 of 5"; the aimline rises
 * 0.25 a week: 1.75 on 03-09, 2.0 on 03-16, 2.25 on 03-23, 2.5 on 03-30):
 *
 *   North/8B
 *     ava (grade 8)  T1 ela: 3 on 03-09, 16, 23, 30        meeting, green;
 *                    reviewed 03-30 (weekly: next 04-06)
 *                    own behavior milestone, no evidence    not started
 *     bo  (grade 8)  T1 ela: 1.5 on 03-03, 06, 09, 12, 16, 23, 26, 30:
 *                    8 in a row under the aimline          beginning, red;
 *                    "if red, then call the family" fires; weekly, never
 *                    reviewed: due 03-09, 23 days overdue; its own support
 *                    "Reading buddy", changed on 03-20 to "Small group,
 *                    twice weekly.": flat before, flat after: same
 *     cy  (grade 7)  own milestone aligned to S1: 3 x 4     meeting, green;
 *                    monthly: due 04-01, not overdue
 *   South/1A
 *     dee (grade 6)  T1 ela: no evidence                    not started;
 *                    weekly: 23 days overdue
 *     eve (grade 6)  T1 ela: 2, 1.5, 1 on 03-03, 06, 09 (falling), support
 *                    "small group, twice weekly" from 03-10, then 2, 2.5,
 *                    2.5 on 03-16, 23, 30: developing (a mean of 1.9 over
 *                    the last 5, 0.27 of the way), green (the last point on
 *                    the aimline, the trend +0.28/week against the
 *                    aimline's 0.25); weekly: 23 days overdue; the trend
 *                    went from -1.17/week to +0.25/week: better
 * T1 (template "ela") aligns to standard S1 ("W.8.1").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "report.h"
#include "store.h"
#include "store_fixture.h"
#include "text.h"

#define DAY_MS (24LL * 3600 * 1000)

typedef struct data {
  device c;
  char ava_ela[72], ava_own[72], bo[72], cy[72], dee[72], eve[72];
} data;

static void student(cairn_store *s, const char *id, const char *name, const char *grade,
                    const char *campus, const char *room) {
  setb b;
  set_begin(&b, 4);
  set_str(&b, "name", name);
  set_str(&b, "grade", grade);
  set_str(&b, "campus", campus);
  set_str(&b, "classroom", room);
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, id, 0, &b, NULL, NULL, NULL), 0);
}

/* A milestone as the header says; tpl, standard, support, if_then,
 * cadence may be NULL. */
static void milestone(cairn_store *s, const char *sid, const char *type, const char *tpl,
                      const char *standard, const char *support, const char *if_then,
                      const char *cadence, char *id) {
  setb b;
  set_begin(&b, 10 + (tpl != NULL) + (standard != NULL) + (support != NULL) +
                    (if_then != NULL) + (cadence != NULL));
  set_str(&b, "student", sid);
  set_str(&b, "type", type);
  set_str(&b, "statement", "I will write a clear claim.");
  set_str(&b, "scale", "0-4");
  set_num(&b, "baseline", 1.5);
  set_num(&b, "target", 3);
  set_str(&b, "rule", "4 of 5");
  set_str(&b, "start", "2026-03-02");
  set_str(&b, "end", "2026-04-13");
  set_str(&b, "direction", "up");
  if (tpl != NULL)
    set_str(&b, "template", tpl);
  if (standard != NULL)
    set_str(&b, "standard", standard);
  if (support != NULL)
    set_str(&b, "support", support);
  if (cadence != NULL)
    set_str(&b, "cadence", cadence);
  if (if_then != NULL) {
    pack_s(&b.pk, "if_then");
    msgpack_pack_array(&b.pk, 1);
    pack_s(&b.pk, if_then);
  }
  assert_int_equal(put1(s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, id, NULL), 0);
}

static void points(cairn_store *s, const char *mid, const char *const *days, const double *v,
                   size_t n) {
  for (size_t i = 0; i < n; i++)
    assert_int_equal(add_evidence(s, mid, days[i], v[i], NULL, NULL), 0);
}

static void dated(cairn_store *s, int type, const char *mid, const char *date, const char *k,
                  const char *text) {
  setb b;
  int review = type == CAIRN_REC_REVIEW;
  set_begin(&b, review ? 4 : 3);
  set_str(&b, "milestone", mid);
  set_str(&b, "date", date);
  if (review) {
    set_str(&b, "kind", "weekly");
    set_str(&b, "decision", "continue");
  } else {
    set_str(&b, k, text);
  }
  assert_int_equal(put1(s, type, NULL, 0, &b, NULL, NULL, NULL), 0);
}

static int setup(void **state) {
  static data d;
  char msg[256];
  device_new(&d.c, NULL);
  cairn_store *s = d.c.s;
  assert_int_equal(cairn_store_set_central(s, d.c.pk), 0);
  setb b;
  set_begin(&b, 1);
  set_str(&b, "text", "Write arguments to support claims");
  assert_int_equal(put1(s, CAIRN_REC_STANDARD, "W.8.1", 0, &b, NULL, NULL, msg), 0);
  set_begin(&b, 5);
  set_str(&b, "title", "Claim and evidence");
  set_str(&b, "type", "academic");
  set_str(&b, "statement", "I will write a clear claim.");
  set_str(&b, "scale", "0-4");
  set_str(&b, "standard", "W.8.1");
  assert_int_equal(put1(s, CAIRN_REC_TEMPLATE, "ela", 0, &b, NULL, NULL, msg), 0);

  student(s, "ava", "Ava", "8", "North", "8B");
  student(s, "bo", "Bo", "8", "North", "8B");
  student(s, "cy", "Cy", "7", "North", "8B");
  student(s, "dee", "Dee", "6", "South", "1A");
  student(s, "eve", "Eve", "6", "South", "1A");
  milestone(s, "ava", "academic", "ela", "W.8.1", NULL, NULL, "weekly", d.ava_ela);
  milestone(s, "ava", "behavior", NULL, NULL, NULL, NULL, NULL, d.ava_own);
  milestone(s, "bo", "academic", "ela", "W.8.1", "Reading buddy",
            "If red, then call the family", "weekly", d.bo);
  milestone(s, "cy", "academic", NULL, "W.8.1", NULL, NULL, NULL, d.cy);
  milestone(s, "dee", "academic", "ela", "W.8.1", NULL, NULL, "weekly", d.dee);
  milestone(s, "eve", "academic", "ela", "W.8.1", NULL, NULL, "weekly", d.eve);

  const char *weekly[] = {"2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"};
  const double threes[] = {3, 3, 3, 3};
  points(s, d.ava_ela, weekly, threes, 4);
  dated(s, CAIRN_REC_REVIEW, d.ava_ela, "2026-03-30", NULL, NULL);
  const char *bo_days[] = {"2026-03-03", "2026-03-06", "2026-03-09", "2026-03-12",
                           "2026-03-16", "2026-03-23", "2026-03-26", "2026-03-30"};
  const double flat[] = {1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5};
  points(s, d.bo, bo_days, flat, 8);
  dated(s, CAIRN_REC_SUPPORT_CHANGE, d.bo, "2026-03-20", "support",
        "Small group, twice weekly.");
  points(s, d.cy, weekly, threes, 4);
  const char *eve_days[] = {"2026-03-03", "2026-03-06", "2026-03-09",
                            "2026-03-16", "2026-03-23", "2026-03-30"};
  const double eve_v[] = {2, 1.5, 1, 2, 2.5, 2.5};
  points(s, d.eve, eve_days, eve_v, 6);
  dated(s, CAIRN_REC_SUPPORT_CHANGE, d.eve, "2026-03-10", "support",
        "small group,  twice weekly");
  *state = &d;
  return 0;
}

static int teardown(void **state) {
  data *d = *state;
  device_free(&d->c);
  return 0;
}

static int32_t day_of(const char *s) {
  int32_t d;
  assert_int_equal(cairn_text_date_parse(s, strlen(s), &d), 0);
  return d;
}

static cairn_report *run(data *d, cairn_report_kind kind, const cairn_report_filter *f) {
  cairn_report *r = NULL;
  char why[256] = "";
  int rc = cairn_report_run(d->c.s, kind, f, day_of("2026-04-01"), &r, why, sizeof why);
  if (rc != 0)
    fail_msg("report: %s: %s", cairn_strerror(rc), why);
  return r;
}

/* The counts of a row: students, milestones, the five levels (not started,
 * beginning, developing, meeting, exceeding), green, yellow, red, missed. */
static void assert_counts(const cairn_report_counts *c, size_t students, size_t milestones,
                          const size_t level[5], size_t green, size_t yellow, size_t red,
                          size_t missed) {
  assert_int_equal(c->students, students);
  assert_int_equal(c->milestones, milestones);
  for (size_t i = 0; i < 5; i++)
    if (c->level[i] != level[i])
      fail_msg("level %zu: %zu, expected %zu", i, c->level[i], level[i]);
  assert_int_equal(c->green, green);
  assert_int_equal(c->yellow, yellow);
  assert_int_equal(c->red, red);
  assert_int_equal(c->missed, missed);
  assert_int_equal(c->future, 0);
  assert_int_equal(c->ended, 0);
}

static void assert_place(const cairn_report_program_row *row, cairn_report_place place,
                         const char *campus, const char *room) {
  assert_int_equal(row->place, place);
  if (campus == NULL)
    assert_null(row->campus);
  else
    assert_string_equal(row->campus, campus);
  if (room == NULL)
    assert_null(row->classroom);
  else
    assert_string_equal(row->classroom, room);
}

static void test_program(void **state) {
  data *d = *state;
  cairn_report *r = run(d, CAIRN_REPORT_PROGRAM, NULL);
  static const size_t t1_all[5] = {1, 1, 1, 1, 0}, t1_north[5] = {0, 1, 0, 1, 0},
                      t1_south[5] = {1, 0, 1, 0, 0}, s1[5] = {0, 0, 0, 1, 0},
                      own[5] = {1, 0, 0, 0, 0}, total[5] = {2, 1, 1, 2, 0};
  assert_counts(&r->total, 5, 6, total, 3, 0, 1, 2);
  assert_int_equal(r->nprogram, 11);
  const cairn_report_program_row *p = r->program;
  /* template ela (standard W.8.1): all, North, North/8B, South, South/1A */
  for (size_t i = 0; i < 5; i++) {
    assert_string_equal(p[i].template_id, "ela");
    assert_string_equal(p[i].title, "Claim and evidence");
    assert_string_equal(p[i].standard, "W.8.1");
    assert_string_equal(p[i].standard_text, "Write arguments to support claims");
    assert_string_equal(p[i].type, "academic");
  }
  assert_place(&p[0], CAIRN_REPORT_ALL, NULL, NULL);
  assert_counts(&p[0].counts, 4, 4, t1_all, 2, 0, 1, 2);
  assert_int_equal(p[0].missed_rank, 1);
  assert_place(&p[1], CAIRN_REPORT_CAMPUS, "North", NULL);
  assert_counts(&p[1].counts, 2, 2, t1_north, 1, 0, 1, 1);
  assert_place(&p[2], CAIRN_REPORT_CLASSROOM, "North", "8B");
  assert_counts(&p[2].counts, 2, 2, t1_north, 1, 0, 1, 1);
  assert_place(&p[3], CAIRN_REPORT_CAMPUS, "South", NULL);
  assert_counts(&p[3].counts, 2, 2, t1_south, 1, 0, 0, 1);
  assert_place(&p[4], CAIRN_REPORT_CLASSROOM, "South", "1A");
  assert_int_equal(p[4].missed_rank, 0);
  /* standard W.8.1 alone (cy's own milestone aligned to it) */
  assert_null(p[5].template_id);
  assert_string_equal(p[5].standard, "W.8.1");
  assert_place(&p[5], CAIRN_REPORT_ALL, NULL, NULL);
  assert_counts(&p[5].counts, 1, 1, s1, 1, 0, 0, 0);
  assert_int_equal(p[5].missed_rank, 0); /* nothing missed: not ranked */
  /* own milestones: ava's behavior one */
  assert_null(p[8].template_id);
  assert_null(p[8].standard);
  assert_string_equal(p[8].type, "behavior");
  assert_counts(&p[8].counts, 1, 1, own, 0, 0, 0, 0);
  assert_place(&p[10], CAIRN_REPORT_CLASSROOM, "North", "8B");
  /* most missed: only the template, 2 of 4 */
  assert_int_equal(r->nmissed, 1);
  assert_ptr_equal(r->missed[0], &p[0]);
  assert_int_equal(r->nfuture, 0);
  cairn_report_free(r);
}

static void test_red(void **state) {
  data *d = *state;
  cairn_report *r = run(d, CAIRN_REPORT_RED, NULL);
  assert_int_equal(r->nred, 1);
  const cairn_report_red_row *row = &r->red[0];
  assert_string_equal(row->item.student->id, "bo");
  assert_string_equal(row->item.milestone->id, d->bo);
  assert_true(row->red);
  assert_int_equal(row->item.milestone->ntriggered, 1);
  assert_string_equal(row->item.milestone->triggered[0].action, "call the family");
  assert_int_equal(row->days_since, 2);   /* last point 03-30 */
  assert_int_equal(row->days_overdue, 23); /* due 03-09 */
  assert_int_equal(r->ncampuses, 1);
  assert_string_equal(r->campuses[0].campus, "North");
  assert_int_equal(r->campuses[0].students, 1);
  assert_int_equal(r->campuses[0].red, 1);
  assert_int_equal(r->campuses[0].triggered, 1);
  cairn_report_free(r);
}

static void test_reviews(void **state) {
  data *d = *state;
  cairn_report *r = run(d, CAIRN_REPORT_REVIEWS, NULL);
  assert_int_equal(r->nreviews, 3);
  assert_string_equal(r->reviews[0].item.student->id, "bo");
  assert_string_equal(r->reviews[1].item.student->id, "dee");
  assert_string_equal(r->reviews[2].item.student->id, "eve");
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(r->reviews[i].days_overdue, 23);
  assert_int_equal(r->nclassrooms, 2);
  assert_string_equal(r->classrooms[0].campus, "North");
  assert_string_equal(r->classrooms[0].classroom, "8B");
  assert_int_equal(r->classrooms[0].milestones, 4);
  assert_int_equal(r->classrooms[0].overdue, 1);
  assert_string_equal(r->classrooms[1].campus, "South");
  assert_int_equal(r->classrooms[1].milestones, 2);
  assert_int_equal(r->classrooms[1].overdue, 2);
  cairn_report_free(r);
}

static void test_supports(void **state) {
  data *d = *state;
  cairn_report *r = run(d, CAIRN_REPORT_SUPPORTS, NULL);
  assert_int_equal(r->nsupports, 3);
  assert_int_equal(r->nsupport_summary, 2);
  const cairn_report_support_summary *g = r->support_summary;
  assert_string_equal(g[0].support, "Reading buddy");
  assert_int_equal(g[0].students, 1);
  assert_int_equal(g[0].unknown, 1);
  /* both spellings are one support, shown as first written (North first) */
  assert_string_equal(g[1].support, "Small group, twice weekly.");
  assert_int_equal(g[1].students, 2);
  assert_int_equal(g[1].phases, 2);
  assert_int_equal(g[1].better, 1);
  assert_int_equal(g[1].same, 1);
  assert_int_equal(g[1].worse, 0);

  const cairn_report_support_row *s = r->supports;
  /* bo's own support, from the start to the day before the change */
  assert_true(s[0].from_start);
  assert_string_equal(s[0].item.student->id, "bo");
  assert_int_equal(s[0].since, day_of("2026-03-02"));
  assert_int_equal(s[0].until, day_of("2026-03-19"));
  assert_int_equal(s[0].before.points, 0);
  assert_int_equal(s[0].after.points, 5);
  assert_true(s[0].after.trend_valid && fabs(s[0].after.trend_per_week) < 1e-9);
  assert_int_equal(s[0].change, CAIRN_REPORT_UNKNOWN);
  /* bo's change: flat before, flat after */
  assert_string_equal(s[1].item.student->id, "bo");
  assert_string_equal(s[1].previous, "Reading buddy");
  assert_int_equal(s[1].since, day_of("2026-03-20"));
  assert_int_equal(s[1].until, day_of("2026-04-01"));
  assert_int_equal(s[1].before.points, 5);
  assert_int_equal(s[1].after.points, 3);
  assert_int_equal(s[1].change, CAIRN_REPORT_SAME);
  /* eve's: 2, 1.5, 1 every 3 days (-7/6 a week), then 2, 2.5, 2.5 weekly (+1/4 a week) */
  assert_string_equal(s[2].item.student->id, "eve");
  assert_string_equal(s[2].support, "small group,  twice weekly");
  assert_null(s[2].previous);
  assert_int_equal(s[2].before.points, 3);
  assert_true(fabs(s[2].before.trend_per_week - (-7.0 / 6)) < 1e-9);
  assert_string_equal(s[2].before.trend_word, "worsening");
  assert_int_equal(s[2].after.points, 3);
  assert_true(fabs(s[2].after.trend_per_week - 0.25) < 1e-9);
  assert_string_equal(s[2].after.trend_word, "improving");
  assert_int_equal(s[2].change, CAIRN_REPORT_BETTER);
  cairn_report_free(r);
}

/* Each filter keeps what it names: the student's campus, classroom and
 * grade, the milestone's type, template and standard. */
static void test_filters(void **state) {
  data *d = *state;
  static const struct {
    cairn_report_filter f;
    size_t students, milestones, rows;
  } cases[] = {
      {{.campus = "South"}, 2, 2, 3},           /* ela: all, South, 1A */
      {{.classroom = "8B"}, 3, 4, 9},           /* ela, W.8.1, own: 3 rows each */
      {{.grade = "8"}, 2, 3, 6},                /* ava, bo: ela and own */
      {{.type = "behavior"}, 1, 1, 3},          /* ava's own */
      {{.template_id = "ela"}, 4, 4, 5},        /* the template's group */
      {{.standard = "W.8.1"}, 5, 5, 8},         /* ela's and cy's */
      {{.campus = "North", .grade = "6"}, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cairn_report *r = run(d, CAIRN_REPORT_PROGRAM, &cases[i].f);
    if (r->total.students != cases[i].students || r->total.milestones != cases[i].milestones ||
        r->nprogram != cases[i].rows)
      fail_msg("case %zu: %zu students, %zu milestones, %zu rows", i, r->total.students,
               r->total.milestones, r->nprogram);
    cairn_report_free(r);
  }
  /* what cannot be is refused, naming the field */
  cairn_report *r = NULL;
  char why[256];
  cairn_report_filter bad = {.type = "reading"};
  assert_int_equal(cairn_report_run(d->c.s, CAIRN_REPORT_RED, &bad, day_of("2026-04-01"), &r,
                                    why, sizeof why),
                   CAIRN_EINVAL);
  assert_string_equal(why, "type: must be one of academic, behavior, social-emotional, "
                           "future-readiness");
  cairn_report_filter none = {.template_id = "no-such"};
  assert_int_equal(cairn_report_run(d->c.s, CAIRN_REPORT_RED, &none, day_of("2026-04-01"), &r,
                                    why, sizeof why),
                   CAIRN_ENOTFOUND);
  assert_string_equal(why, "template: no template with id no-such on this node");
  assert_null(r);
}

/* Every number is the status's: the report of one student's milestones
 * agrees with cairn_store_status of that student. */
static void test_same_numbers_as_status(void **state) {
  data *d = *state;
  cairn_store_status_view *v = NULL;
  int32_t day = day_of("2026-04-01");
  assert_int_equal(cairn_store_status(d->c.s, "eve", day, &v), 0);
  cairn_report_filter f = {.campus = "South"};
  cairn_report *r = run(d, CAIRN_REPORT_RED, &f);
  assert_int_equal(r->nred, 0); /* eve is green, as her status says */
  assert_int_equal(v->students[0].milestones[0].progress.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(v->students[0].milestones[0].progress.level, CAIRN_LEVEL_DEVELOPING);
  cairn_report_free(r);
  cairn_store_status_free(v);
}

/* Evidence dated after tomorrow by this node's clock is counted and listed,
 * never a point; a report as of a later day is refused. */
static void test_future_evidence_flagged(void **state) {
  (void)state;
  cairn_store_opts opts = {.clock_offset_ms = -3 * DAY_MS};
  device c;
  char mid[72], start[11], end[11], day[11], why[256];
  int32_t real = cairn_text_today();
  device_new(&c, &opts);
  add_student(c.s, "ava-8");
  cairn_text_date_format(real - 30, start);
  cairn_text_date_format(real + 30, end);
  setb b;
  dated_milestone(&b, "ava-8", start, end);
  assert_int_equal(put1(c.s, CAIRN_REC_MILESTONE, NULL, 0, &b, NULL, mid, NULL), 0);
  cairn_text_date_format(real - 10, day);
  assert_int_equal(add_evidence(c.s, mid, day, 2, NULL, NULL), 0);
  cairn_text_date_format(real, day);
  assert_int_equal(add_evidence(c.s, mid, day, 1, NULL, NULL), 0);
  assert_int_equal(add_evidence(c.s, mid, day, 3, NULL, NULL), 0);

  int32_t today = cairn_store_today(c.s);
  cairn_report *r = NULL;
  assert_int_equal(cairn_report_run(c.s, CAIRN_REPORT_RED, NULL, today, &r, why, sizeof why), 0);
  assert_int_equal(r->nred, 1); /* not red: listed for its dates */
  assert_false(r->red[0].red);
  assert_int_equal(r->red[0].item.milestone->nfuture, 2);
  assert_int_equal(r->red[0].item.milestone->progress.points, 1);
  assert_int_equal(r->red[0].days_since, today - (real - 10));
  assert_int_equal(r->campuses[0].future, 2);
  assert_int_equal(r->nfuture, 1);
  cairn_report_free(r);
  assert_int_equal(cairn_report_run(c.s, CAIRN_REPORT_PROGRAM, NULL, today, &r, why, sizeof why),
                   0);
  assert_int_equal(r->total.future, 2);
  assert_int_equal(r->program[0].counts.future, 2);
  assert_int_equal(r->nfuture, 1);
  cairn_report_free(r);
  /* tomorrow is the latest day a report is of */
  assert_int_equal(cairn_report_run(c.s, CAIRN_REPORT_PROGRAM, NULL, today + 1, &r, why,
                                    sizeof why),
                   0);
  cairn_report_free(r);
  assert_int_equal(cairn_report_run(c.s, CAIRN_REPORT_PROGRAM, NULL, today + 2, &r, why,
                                    sizeof why),
                   CAIRN_EDATE);
  assert_non_null(strstr(why, "is after tomorrow"));
  assert_null(r);
  device_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_program),
      cmocka_unit_test(test_red),
      cmocka_unit_test(test_reviews),
      cmocka_unit_test(test_supports),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_same_numbers_as_status),
  };
  const struct CMUnitTest alone[] = {
      cmocka_unit_test(test_future_evidence_flagged),
  };
  return cmocka_run_group_tests(tests, setup, teardown) | cmocka_run_group_tests(alone, NULL, NULL);
}
