/*
 * test_progress.c: progress level, traffic light, trend, due review and
 * if/then rules, on the worked examples of the practitioner's guide.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "error.h"
#include "progress.h"
#include "text.h"

/* cmocka 1.1 compares only floats; evidence values are doubles. */
#define assert_near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

#define START 19600 /* 2023-08-31 */
#define WEEK 7

/* 8th-grade ELA writing: claim + evidence rubric 0-4, baseline 1.5,
 * target 3 in 4 of 5 responses, 6 weeks, weekly check. */
static cairn_milestone_params ela(void) {
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 4, .direction = 1,
      .baseline = 1.5, .target = 3, .rule_k = 4, .rule_n = 5,
      .start = START, .end = START + 6 * WEEK, .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  return p;
}

/* 6th-grade social studies: off-task prompts per day (a tally to lower),
 * baseline 7, target 2 or fewer in 4 of 5 days, 4 weeks. */
static cairn_milestone_params off_task(void) {
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 100, .direction = -1,
      .baseline = 7, .target = 2, .rule_k = 4, .rule_n = 5,
      .start = START, .end = START + 4 * WEEK, .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  return p;
}

/* 10th grade: used a coping strategy (yes/no), target 3 of 4 sessions,
 * 5 weeks. */
static cairn_milestone_params coping(void) {
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 1, .direction = 1,
      .baseline = 0, .target = 1, .rule_k = 3, .rule_n = 4,
      .start = START, .end = START + 5 * WEEK, .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  return p;
}

/* Fills pts with one value per week, the first a week after START. */
static size_t weekly(cairn_point *pts, const double *values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pts[i].day = START + (int32_t)(i + 1) * WEEK;
    pts[i].value = values[i];
  }
  return n;
}

#define WEEKLY(pts, ...)                                                     \
  weekly(pts, (const double[]){__VA_ARGS__},                                 \
         sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

/* The progress as of the last point's day (the start when none). */
static cairn_progress run(const cairn_milestone_params *p,
                          const cairn_point *pts, size_t n) {
  cairn_progress out;
  cairn_progress_compute(p, pts, n, NULL, 0, n > 0 ? pts[n - 1].day : START,
                         &out);
  return out;
}

/* The sentence saying why the light is what it is. */
static const char *why_of(const cairn_milestone_params *p,
                          const cairn_progress *prog) {
  static char why[256];
  cairn_progress_explain(p, prog, why, sizeof why);
  print_message("why: %s\n", why);
  return why;
}

static void test_defaults_and_names(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  assert_int_equal(p.wrong_side_n, 4);
  assert_int_equal(p.trend_points, 6);
  assert_true(p.developing_at == 0.25);
  assert_true(p.exceed_margin == 0.10);
  assert_int_equal(p.offtrack_cadence_days, 14);
  assert_int_equal(cairn_progress_params_check(&p, NULL, 0), 0);
  assert_string_equal(cairn_progress_level_name(CAIRN_LEVEL_NOT_STARTED),
                      "not started");
  assert_string_equal(cairn_progress_level_name(CAIRN_LEVEL_EXCEEDING),
                      "exceeding");
  assert_string_equal(cairn_progress_light_name(CAIRN_LIGHT_NONE), "none");
  assert_string_equal(cairn_progress_light_name(CAIRN_LIGHT_RED), "red");
}

static void test_params_check_names_the_field(void **state) {
  (void)state;
  char why[128];
  cairn_milestone_params p = off_task();
  p.target = 9; /* "reduce" to more than the baseline */
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why),
                   CAIRN_EINVAL);
  assert_non_null(strstr(why, "target"));

  p = ela();
  p.rule_k = 5;
  p.rule_n = 4;
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why),
                   CAIRN_EINVAL);
  assert_non_null(strstr(why, "rule"));

  p = ela();
  p.end = p.start - 1;
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why),
                   CAIRN_EINVAL);
  assert_non_null(strstr(why, "timeframe"));

  p = ela();
  p.baseline_pending = 1;
  p.baseline = -99; /* ignored while pending */
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why), 0);
}

static void test_not_started_without_evidence(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_progress out = run(&p, NULL, 0);
  assert_int_equal(out.level, CAIRN_LEVEL_NOT_STARTED);
  assert_int_equal(out.light, CAIRN_LIGHT_NONE);
  assert_int_equal(out.points, 0);
  assert_string_equal(why_of(&p, &out), "no evidence yet");
  assert_int_equal(out.next_review_due, START + WEEK);
}

static void test_ela_beginning(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* mean 1.75 is 1/6 of the way from 1.5 to 3: under the 1/4 mark */
  size_t n = WEEKLY(pts, 1.5, 2.0);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_BEGINNING);
  assert_int_equal(out.met_in_window, 0);
  assert_true(out.last_value == 2.0);
  assert_int_equal(out.last_day, START + 2 * WEEK);
}

static void test_ela_developing(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* mean 2.25: half way from 1.5 to 3 */
  size_t n = WEEKLY(pts, 2.0, 2.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);

  /* 3 of 5 at target is not "4 of 5": developing, not meeting */
  n = WEEKLY(pts, 3, 3, 2.5, 2.5, 3);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
  assert_int_equal(out.met_in_window, 3);

  /* one response at target counts, even when the mean is still low */
  n = WEEKLY(pts, 1, 1, 1, 3);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
}

static void test_ela_meeting_four_of_five(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 3, 3, 2.5, 3, 3.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
  assert_int_equal(out.met_in_window, 4);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_string_equal(why_of(&p, &out), "the target rule is met: 4 of the "
                                         "last 5 points meet the target");

  /* only the last 5 count: an early 1 no longer matters */
  n = WEEKLY(pts, 1, 3, 3, 2.5, 3, 3.5);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
}

static void test_ela_exceeding(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* mean 3.2: beyond the target by more than 10% of the way from the
   * baseline 1.5 (0.15) */
  size_t n = WEEKLY(pts, 3.5, 3, 3, 3, 3.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_EXCEEDING);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_non_null(strstr(why_of(&p, &out), "beyond it by the exceeding margin"));

  /* mean 3.1: meeting only */
  n = WEEKLY(pts, 3.5, 3, 3, 3, 3);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
}

static void test_ela_flat_run_below_aimline_is_red(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_BEGINNING);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);
  assert_int_equal(out.wrong_side_run, 4);
  assert_string_equal(why_of(&p, &out), "the last 4 points are below the "
                                         "aimline (4 in a row turns red)");
  assert_near(out.aim_at_last, 2.5, 1e-12);

  /* three below is only a watch */
  out = run(&p, pts, 3);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
  assert_string_equal(why_of(&p, &out), "the last 3 points are below the "
                                         "aimline (4 in a row turns red)");
}

static void test_ela_on_the_aimline_is_green(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75, 2.0, 2.25, 2.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(out.wrong_side_run, 0);
  assert_string_equal(why_of(&p, &out), "the last point, 2.5, is on or above "
                                         "the aimline (2.5)");
  assert_near(out.aim_per_week, 0.25, 1e-12);
  assert_true(out.trend_valid);
  assert_near(out.trend_per_week, 0.25, 1e-9);
}

static void test_ela_falling_trend_is_red(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* above the line for two weeks, then sliding back: trend -0.1/week */
  size_t n = WEEKLY(pts, 2.0, 2.25, 2.0, 1.75);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.wrong_side_run, 2);
  assert_near(out.trend_per_week, -0.1, 1e-9);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);
  assert_string_equal(why_of(&p, &out),
                      "the trend is worsening (-0.10/week) and the last point, "
                      "1.75, is below the aimline (2.5)");

  /* a dip after a rise is a watch, not an alarm */
  n = WEEKLY(pts, 1.75, 2.0, 2.25, 2.0);
  out = run(&p, pts, n);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
}

static void test_ela_slow_trend_is_yellow(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* started well above the line but gaining 0.025/week, aim 0.25/week */
  size_t n = WEEKLY(pts, 2.5, 2.5, 2.55);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.wrong_side_run, 0);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
  assert_string_equal(why_of(&p, &out),
                      "the trend, +0.02/week, is under half of what the "
                      "aimline needs (+0.25/week)");
}

static void test_off_task_falling_tally_is_green(void **state) {
  (void)state;
  cairn_milestone_params p = off_task();
  cairn_point pts[8];
  /* aimline 7 -> 2 over 4 weeks: 5.75, 4.5, 3.25 at the checks */
  size_t n = WEEKLY(pts, 5, 4, 3);
  cairn_progress out = run(&p, pts, n);
  assert_near(out.aim_per_week, -1.25, 1e-12);
  assert_near(out.trend_per_week, -1.0, 1e-9);
  assert_int_equal(out.wrong_side_run, 0);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
}

static void test_off_task_rising_tally_is_red(void **state) {
  (void)state;
  cairn_milestone_params p = off_task();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 7, 8, 9, 10);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);
  assert_int_equal(out.level, CAIRN_LEVEL_BEGINNING);
  assert_non_null(strstr(why_of(&p, &out), "above the aimline"));

  /* two rising checks: too few for a trend, the last is above the line */
  n = WEEKLY(pts, 5, 6);
  out = run(&p, pts, n);
  assert_false(out.trend_valid);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
}

static void test_off_task_meeting(void **state) {
  (void)state;
  cairn_milestone_params p = off_task();
  cairn_point pts[8];
  /* "2 or fewer" on 4 checks reaches "4 of 5" */
  size_t n = WEEKLY(pts, 2, 1, 2, 2);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);

  /* a 3 among them: 3 of 4 is not 4 of 5 yet */
  n = WEEKLY(pts, 2, 3, 2, 2);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
}

static void test_coping_three_of_four(void **state) {
  (void)state;
  cairn_milestone_params p = coping();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1, 1, 0, 1);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
  assert_int_equal(out.met_in_window, 3);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);

  n = WEEKLY(pts, 0, 1, 0, 1);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_DEVELOPING);
}

static void test_baseline_pending_uses_first_point(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  p.baseline_pending = 1;
  p.baseline = 0; /* not used */
  cairn_point pts[1] = {{START + 3 * WEEK, 2.0}};
  cairn_progress out = run(&p, pts, 1);
  /* aimline from (start, 2.0) to (end, 3): half way at week 3 */
  assert_near(out.aim_at_last, 2.5, 1e-12);
  assert_near(out.aim_per_week, 1.0 / 6.0, 1e-12);
  assert_int_equal(out.level, CAIRN_LEVEL_BEGINNING);

  /* the coping strategy with a quick baseline: same verdict as baseline 0 */
  p = coping();
  p.baseline_pending = 1;
  cairn_point yes_no[8];
  size_t n = WEEKLY(yes_no, 1, 1, 0, 1);
  out = run(&p, yes_no, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
}

static void test_trend_slope(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.0, 1.5, 2.0, 2.5);
  cairn_progress out = run(&p, pts, n);
  assert_true(out.trend_valid);
  assert_near(out.trend_per_week, 0.5, 1e-9);

  /* irregular days: 0.1 per day is 0.7 per week */
  cairn_point uneven[3] = {
      {START + 1, 1.1}, {START + 3, 1.3}, {START + 8, 1.8}};
  out = run(&p, uneven, 3);
  assert_near(out.trend_per_week, 0.7, 1e-9);

  /* only the last trend_points count */
  p.trend_points = 3;
  n = WEEKLY(pts, 4, 0, 1.0, 1.5, 2.0);
  out = run(&p, pts, n);
  assert_near(out.trend_per_week, 0.5, 1e-9);

  /* two points, or three on one day: no trend */
  out = run(&p, pts, 2);
  assert_false(out.trend_valid);
  cairn_point same_day[3] = {{START + 7, 1}, {START + 7, 2}, {START + 7, 3}};
  out = run(&p, same_day, 3);
  assert_false(out.trend_valid);
}

/* The progress as of today with reviews on the given days (-1 ends them). */
static cairn_progress at(const cairn_milestone_params *p, const cairn_point *pts,
                         size_t n, int32_t today, int32_t review) {
  cairn_progress out;
  cairn_progress_compute(p, pts, n, &review, review >= 0 ? 1 : 0, today, &out);
  return out;
}

static void test_review_due_weekly(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75);
  cairn_progress out = at(&p, pts, n, START + 7, -1);

  assert_int_equal(out.next_review_due, START + 7);
  assert_false(out.overdue);
  assert_int_equal(out.last_review, CAIRN_PROGRESS_NO_DAY);
  out = at(&p, pts, n, START + 8, -1);
  assert_true(out.overdue);

  out = at(&p, pts, n, START + 12, START + 10);
  assert_int_equal(out.last_review, START + 10);
  assert_int_equal(out.next_review_due, START + 17);
  assert_false(out.overdue);

  /* a review dated after today is not known yet */
  out = at(&p, pts, n, START + 8, START + 10);
  assert_int_equal(out.last_review, CAIRN_PROGRESS_NO_DAY);
  assert_int_equal(out.next_review_due, START + 7);
  assert_true(out.overdue);

  /* the end of the 6 weeks caps it */
  out = at(&p, pts, n, START + 41, START + 40);
  assert_int_equal(out.next_review_due, START + 42);

  /* after the end: the closing review is due on the end day... */
  out = at(&p, pts, n, START + 43, START + 40);
  assert_int_equal(out.next_review_due, START + 42);
  assert_true(out.overdue);
  /* ...and once it is done, nothing is */
  out = at(&p, pts, n, START + 43, START + 42);
  assert_int_equal(out.next_review_due, CAIRN_PROGRESS_NO_DAY);
  assert_false(out.overdue);
}

/* Check dates drive the due list: the first check date after the last
 * review is due when it comes before the cadence's day. */
static void test_review_due_on_check_dates(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  p.cadence_days = 30;
  const int32_t checks[] = {START + 10, START + 24, START + 38};
  p.checks = checks;
  p.nchecks = 3;
  cairn_progress out = at(&p, NULL, 0, START + 5, -1);
  assert_int_equal(out.next_review_due, START + 10);
  assert_true(out.next_is_check);
  out = at(&p, NULL, 0, START + 11, -1);
  assert_true(out.overdue); /* the check of START + 10 was not reviewed */
  /* a review on the check date does it; the next check is due */
  out = at(&p, NULL, 0, START + 11, START + 10);
  assert_int_equal(out.next_review_due, START + 24);
  assert_false(out.overdue);
  /* a monthly cadence with a check date later than it: the cadence */
  p.cadence_days = 7;
  out = at(&p, NULL, 0, START + 11, START + 10);
  assert_int_equal(out.next_review_due, START + 17);
  assert_false(out.next_is_check);
}

static void test_review_due_shortens_when_red(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  p.cadence_days = 30;
  p.end = START + 90;
  cairn_point pts[8];

  size_t n = WEEKLY(pts, 1.8, 2.1);
  cairn_progress out = at(&p, pts, n, START + 15, -1);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(out.next_review_due, START + 30);
  assert_false(out.overdue);

  n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5);
  out = at(&p, pts, n, START + 29, -1);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);
  assert_int_equal(out.next_review_due, START + 14);
  assert_true(out.overdue);

  /* red near the end: still capped at the end */
  out = at(&p, pts, n, START + 85, START + 80);
  assert_int_equal(out.next_review_due, START + 90);
}

static cairn_ifthen parse_ok(const char *text) {
  cairn_ifthen rule;
  char why[160] = "";
  int rc = cairn_progress_ifthen_parse(text, &rule, why, sizeof why);
  if (rc != 0)
    fail_msg("\"%s\" refused: %s", text, why);
  return rule;
}

static void test_ifthen_seed_small_group(void **state) {
  (void)state;
  cairn_ifthen rule =
      parse_ok("If a student scores below the target on the next check-in, "
               "then add a 20-minute small-group session twice weekly.");
  assert_int_equal(rule.cond, CAIRN_IF_MISSES_TARGET);
  assert_int_equal(rule.count, 1);
  assert_int_equal(rule.unit, CAIRN_IFTHEN_CHECKINS);
  assert_string_equal(rule.action,
                      "add a 20-minute small-group session twice weekly.");

  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 3, 2.5);
  cairn_progress prog = run(&p, pts, n);
  assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, pts[n - 1].day));
  n = WEEKLY(pts, 2.5, 3);
  prog = run(&p, pts, n);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, pts[n - 1].day));
  prog = run(&p, NULL, 0);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, NULL, 0, &prog, START + WEEK));
}

static void test_ifthen_seed_attendance(void **state) {
  (void)state;
  cairn_ifthen rule = parse_ok(
      "If attendance drops below 92%, then schedule a family meeting and "
      "coordinate a support plan");
  assert_int_equal(rule.cond, CAIRN_IF_BELOW);
  assert_true(rule.threshold == 92);
  assert_string_equal(rule.action, "schedule a family meeting and coordinate "
                                   "a support plan");

  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 100, .direction = 1, .baseline = 88,
      .target = 95, .start = START, .end = START + 9 * WEEK,
      .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 95, 91.5);
  cairn_progress prog = run(&p, pts, n);
  assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, pts[n - 1].day));
  n = WEEKLY(pts, 91.5, 92);
  prog = run(&p, pts, n);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, pts[n - 1].day));
}

static void test_ifthen_seed_behavior_two_weeks(void **state) {
  (void)state;
  /* the guide's typographic apostrophe, and the plain one */
  const char *texts[2] = {
      "If behavior targets aren\xe2\x80\x99t met for two consecutive weeks, "
      "then revise the classroom supports",
      "IF BEHAVIOR TARGETS AREN'T MET FOR 2 CONSECUTIVE WEEKS THEN revise "
      "the classroom supports"};
  for (size_t t = 0; t < 2; t++) {
    cairn_ifthen rule = parse_ok(texts[t]);
    assert_int_equal(rule.cond, CAIRN_IF_MISSES_TARGET);
    assert_int_equal(rule.count, 2);
    assert_string_equal(rule.action, "revise the classroom supports");

    assert_int_equal(rule.unit, CAIRN_IFTHEN_WEEKS);

    /* weekly tallies: 2 in week 2, 3 in week 3, 4 in week 4 */
    cairn_milestone_params p = off_task();
    cairn_point pts[8];
    size_t n = WEEKLY(pts, 2, 3, 4);
    cairn_progress prog = run(&p, pts, n);
    /* week 4 is not over on its first day: one week missed so far */
    assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START + 21));
    /* on its last day, weeks 3 and 4 both missed */
    assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START + 27));
    n = WEEKLY(pts, 3, 2);
    prog = run(&p, pts, n);
    assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START + 20));
    /* a week with no evidence ends the run */
    cairn_point gap[3] = {{START + 7, 4}, {START + 21, 4}, {START + 22, 5}};
    prog = run(&p, gap, 3);
    assert_false(cairn_progress_ifthen_fires(&rule, &p, gap, 3, &prog, START + 27));
  }
}

static void test_ifthen_light_aimline_and_silence(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.5, 1.5, 1.5);
  cairn_progress prog = run(&p, pts, n); /* yellow, 3 below the line */

  cairn_ifthen red = parse_ok("if the student is off track, then meet");
  cairn_ifthen yellow = parse_ok("If yellow then check in with the family");
  cairn_ifthen three = parse_ok(
      "if 3 consecutive points fall below the aimline, then regroup");
  cairn_ifthen side = parse_ok("if on the wrong side of the aimline then go");
  assert_int_equal(red.cond, CAIRN_IF_RED);
  assert_int_equal(three.count, 3);
  assert_int_equal(side.count, 0);
  assert_false(cairn_progress_ifthen_fires(&red, &p, pts, n, &prog, pts[n - 1].day));
  assert_true(cairn_progress_ifthen_fires(&yellow, &p, pts, n, &prog, pts[n - 1].day));
  assert_true(cairn_progress_ifthen_fires(&three, &p, pts, n, &prog, pts[n - 1].day));
  assert_false(cairn_progress_ifthen_fires(&side, &p, pts, n, &prog, pts[n - 1].day));

  n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5);
  prog = run(&p, pts, n); /* red */
  assert_true(cairn_progress_ifthen_fires(&red, &p, pts, n, &prog, pts[n - 1].day));
  assert_true(cairn_progress_ifthen_fires(&yellow, &p, pts, n, &prog, pts[n - 1].day));
  assert_true(cairn_progress_ifthen_fires(&side, &p, pts, n, &prog, pts[n - 1].day));

  cairn_ifthen quiet =
      parse_ok("if there is no evidence for 10 days, then observe");
  assert_int_equal(quiet.cond, CAIRN_IF_NO_EVIDENCE);
  assert_int_equal(quiet.count, 10);
  int32_t last = pts[n - 1].day;
  assert_false(
      cairn_progress_ifthen_fires(&quiet, &p, pts, n, &prog, last + 10));
  assert_true(
      cairn_progress_ifthen_fires(&quiet, &p, pts, n, &prog, last + 11));

  cairn_ifthen above = parse_ok("if the tally is above 5, then reset");
  assert_int_equal(above.cond, CAIRN_IF_ABOVE);
  assert_true(above.threshold == 5);
}

static void test_ifthen_refuses_with_a_reason(void **state) {
  (void)state;
  char long_action[400] = "if red then ";
  memset(long_action + strlen(long_action), 'x', 300);
  const char *bad[] = {
      "when it rains",
      "if it rains, then stay inside",
      "if below the target",
      "if red, then   ",
      "if the student meets the target, then celebrate",
      "if below the target and red, then act",
      "if attendance drops below ninety, then call",
      long_action,
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cairn_ifthen rule;
    memset(&rule, 0x5a, sizeof rule);
    char why[160] = "";
    assert_int_equal(cairn_progress_ifthen_parse(bad[i], &rule, why,
                                                 sizeof why),
                     CAIRN_EINVAL);
    assert_true(strlen(why) > 0);
    assert_int_equal(rule.action[0], 0x5a); /* untouched */
  }
  char why[160];
  cairn_ifthen rule;
  cairn_progress_ifthen_parse("when it rains", &rule, why, sizeof why);
  assert_non_null(strstr(why, "if CONDITION, then ACTION"));
}


/* ---- regressions ---------------------------------------------------------- */

static int32_t day_of(const char *date) {
  int32_t d;
  assert_int_equal(cairn_text_date_parse(date, strlen(date), &d), 0);
  return d;
}

/* A tally to lower on a `count` scale (open-ended: its nominal maximum is
 * 1e9) and the same tally on 0-20: 7 -> 2 from 2026-11-09 to 2026-12-07,
 * the first days 7,7,7,7,7,7,8. The light must not depend on the scale's
 * maximum: six points in a row above a falling aimline are red on both. */
static void test_count_scale_tolerance_is_the_milestones(void **state) {
  (void)state;
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 1e9, .direction = -1,
      .baseline = 7, .target = 2, .start = day_of("2026-11-09"),
      .end = day_of("2026-12-07"), .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  cairn_point pts[7];
  const double v[7] = {7, 7, 7, 7, 7, 7, 8};
  for (int i = 0; i < 7; i++)
    pts[i] = (cairn_point){p.start + i, v[i]};
  cairn_progress count;
  cairn_progress_compute(&p, pts, 7, NULL, 0, p.start + 6, &count);
  p.scale_max = 20;
  cairn_progress twenty;
  cairn_progress_compute(&p, pts, 7, NULL, 0, p.start + 6, &twenty);
  assert_int_equal(count.light, twenty.light);
  assert_int_equal(count.light, CAIRN_LIGHT_RED);
  assert_int_equal(count.wrong_side_run, 6);
}

/* "Exceeding" is a margin beyond the target measured on the milestone
 * (its baseline-to-target distance), not on the scale's nominal span:
 * target 3 from baseline 1, value 9, is exceeding on count as on 0-10. */
static void test_count_scale_exceeding_is_the_milestones(void **state) {
  (void)state;
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 1e9, .direction = 1, .baseline = 1,
      .target = 3, .start = START, .end = START + 4 * WEEK, .cadence_days = 7};
  cairn_progress_params_defaults(&p);
  cairn_point pts[1] = {{START + WEEK, 9}};
  cairn_progress count, ten;
  cairn_progress_compute(&p, pts, 1, NULL, 0, START + WEEK, &count);
  p.scale_max = 10;
  cairn_progress_compute(&p, pts, 1, NULL, 0, START + WEEK, &ten);
  assert_int_equal(ten.level, CAIRN_LEVEL_EXCEEDING);
  assert_int_equal(count.level, CAIRN_LEVEL_EXCEEDING);
}

/* "For two consecutive weeks" means two calendar weeks of the timeframe,
 * not two points: two daily tallies that miss the target in the first
 * week, while the light is green, do not fire the rule. */
static void test_ifthen_weeks_are_calendar_weeks(void **state) {
  (void)state;
  cairn_ifthen rule = parse_ok("If behavior targets aren't met for two "
                               "consecutive weeks, then revise the classroom "
                               "supports");
  cairn_milestone_params p = off_task();
  cairn_point pts[14] = {{START + 1, 5}, {START + 2, 4}};
  cairn_progress prog;
  cairn_progress_compute(&p, pts, 2, NULL, 0, START + 2, &prog);
  assert_int_equal(prog.light, CAIRN_LIGHT_GREEN);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, 2, &prog, START + 2));

  /* two whole weeks of daily tallies above 2: it fires */
  for (int i = 0; i < 14; i++)
    pts[i] = (cairn_point){START + i, 5};
  cairn_progress_compute(&p, pts, 14, NULL, 0, START + 14, &prog);
  assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, 14, &prog, START + 14));
}

/* After its end a milestone shows its result, not a traffic light: three
 * months on, with no data since, it is not "green". */
static void test_after_the_end_no_light(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75, 2.0, 2.25, 2.5);
  cairn_progress out;
  cairn_progress_compute(&p, pts, n, NULL, 0, p.end + 90, &out);
  assert_int_equal(out.light, CAIRN_LIGHT_NONE);
}

/* As of a day, a point observed after it is not known yet. */
static void test_as_of_ignores_later_points(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75, 2.0, 2.25, 2.5);
  cairn_progress out;
  cairn_progress_compute(&p, pts, n, NULL, 0, START + 2 * WEEK, &out);
  assert_int_equal(out.points, 2);
  assert_true(out.last_value == 2.0);
  assert_int_equal(out.last_day, START + 2 * WEEK);
}

/* ---- goals to maintain, units, sentences ----------------------------------- */

/* "Maintain 95% attendance": stay at or above 95, baseline 97. */
static cairn_milestone_params attendance(void) {
  cairn_milestone_params p = {
      .scale_min = 0, .scale_max = 100, .scale_kind = CAIRN_SCALE_PERCENT,
      .direction = 1, .goal = CAIRN_GOAL_MAINTAIN, .baseline = 97,
      .target = 95, .start = START, .end = START + 9 * WEEK, .cadence_days = 30};
  cairn_progress_params_defaults(&p);
  return p;
}

static void test_maintain_goal(void **state) {
  (void)state;
  char why[200];
  cairn_milestone_params p = attendance();
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why), 0);
  /* the same numbers as a goal to raise are refused, and say what to use */
  p.goal = CAIRN_GOAL_REACH;
  assert_int_equal(cairn_progress_params_check(&p, why, sizeof why), CAIRN_EINVAL);
  assert_non_null(strstr(why, "at-least"));
  p = attendance();

  cairn_point pts[8];
  size_t n = WEEKLY(pts, 97, 96, 98);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING); /* never "exceeding" */
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_near(out.aim_per_week, 0, 0);
  assert_near(out.aim_at_last, 95, 0);

  /* one week under (too few points for a trend): a watch, measured
   * against the target */
  n = WEEKLY(pts, 97, 93);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_BEGINNING);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
  assert_string_equal(why_of(&p, &out), "the last point, 93%, is below the target (95%)");
  /* four in a row under: red */
  n = WEEKLY(pts, 94, 93, 94, 92);
  out = run(&p, pts, n);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);

  char goal[100];
  cairn_progress_describe_goal(&p, goal, sizeof goal);
  assert_string_equal(goal, "stay at 95% or more, judged on the last point");
}

static void test_params_check_thresholds(void **state) {
  (void)state;
  char why[200];
  static const struct {
    int wrong_side_n, trend_points;
    double developing_at, exceed_margin;
    const char *field;
  } bad[] = {{0, 6, 0.25, 0.1, "wrong_side_n"},   {51, 6, 0.25, 0.1, "wrong_side_n"},
             {4, 1, 0.25, 0.1, "trend_points"},   {4, 51, 0.25, 0.1, "trend_points"},
             {4, 6, 5, 0.1, "developing_at"},     {4, 6, 0, 0.1, "developing_at"},
             {4, 6, 0.25, -1, "exceed_margin"},   {4, 6, 0.25, NAN, "exceed_margin"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cairn_milestone_params p = ela();
    p.wrong_side_n = bad[i].wrong_side_n;
    p.trend_points = bad[i].trend_points;
    p.developing_at = bad[i].developing_at;
    p.exceed_margin = bad[i].exceed_margin;
    assert_int_equal(cairn_progress_params_check(&p, why, sizeof why), CAIRN_EINVAL);
    assert_int_equal(strncmp(why, bad[i].field, strlen(bad[i].field)), 0);
  }
}

/* A tally to lower that falls is improving; a rising one worsening. */
static void test_trend_words_follow_the_direction(void **state) {
  (void)state;
  cairn_milestone_params p = off_task();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 5, 4, 3);
  cairn_progress out = run(&p, pts, n);
  assert_string_equal(cairn_progress_trend_word(&p, &out), "improving");
  char trend[100];
  cairn_progress_describe_trend(&p, &out, trend, sizeof trend);
  assert_string_equal(trend, "-1.00/week (improving), the aimline needs -1.25/week");
  n = WEEKLY(pts, 5, 6, 7);
  out = run(&p, pts, n);
  assert_string_equal(cairn_progress_trend_word(&p, &out), "worsening");
  out = run(&p, pts, 2);
  assert_string_equal(cairn_progress_trend_word(&p, &out), "");
  cairn_progress_describe_trend(&p, &out, trend, sizeof trend);
  assert_string_equal(trend, "");
}

/* Values print on their scale; the goal reads as the teacher wrote it. */
static void test_values_and_goals_in_words(void **state) {
  (void)state;
  char buf[100];
  cairn_milestone_params p = coping();
  p.scale_kind = CAIRN_SCALE_YESNO;
  cairn_progress_format_value(&p, 1, buf, sizeof buf);
  assert_string_equal(buf, "yes");
  cairn_progress_format_value(&p, 0, buf, sizeof buf);
  assert_string_equal(buf, "no");
  cairn_progress_describe_goal(&p, buf, sizeof buf);
  assert_string_equal(buf, "target yes in 3 of the last 4 points");

  p = ela();
  cairn_progress_format_value(&p, 2.5, buf, sizeof buf);
  assert_string_equal(buf, "2.5");
  cairn_progress_describe_goal(&p, buf, sizeof buf);
  assert_string_equal(buf, "target 3 or more in 4 of the last 5 points");

  p = off_task();
  p.scale_kind = CAIRN_SCALE_COUNT;
  p.rule_k = p.rule_n = 0;
  cairn_progress_describe_goal(&p, buf, sizeof buf);
  assert_string_equal(buf, "target 2 or fewer on the last point");
}

/* After the end: the result, by the rule, from the points up to the end. */
static void test_result_after_the_end(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 3, 3, 2.5, 3, 3.5);
  cairn_progress out;
  cairn_progress_compute(&p, pts, n, NULL, 0, p.end + 90, &out);
  assert_int_equal(out.result, CAIRN_RESULT_MET);
  assert_int_equal(out.light, CAIRN_LIGHT_NONE);
  assert_false(out.trend_valid);
  assert_string_equal(why_of(&p, &out), "ended on 2023-10-12: met, 4 of the last 5 "
                                        "points meet the target");
  /* the closing review is due on the end day, and overdue */
  assert_int_equal(out.next_review_due, p.end);
  assert_true(out.overdue);

  n = WEEKLY(pts, 2, 2.5, 3);
  cairn_progress_compute(&p, pts, n, NULL, 0, p.end + 1, &out);
  assert_int_equal(out.result, CAIRN_RESULT_NOT_MET);
  assert_string_equal(why_of(&p, &out), "ended on 2023-10-12: not met, 1 of the last 3 "
                                        "points meet the target (4 needed)");

  /* a point observed after the end does not count toward the result */
  cairn_point late[2] = {{p.end - 1, 2}, {p.end + 3, 3}};
  cairn_progress_compute(&p, late, 2, NULL, 0, p.end + 10, &out);
  assert_int_equal(out.points, 1);
  assert_int_equal(out.result, CAIRN_RESULT_NOT_MET);

  cairn_progress_compute(&p, NULL, 0, NULL, 0, p.end + 10, &out);
  assert_int_equal(out.result, CAIRN_RESULT_NOT_MET);
  assert_string_equal(why_of(&p, &out), "ended on 2023-10-12 with no evidence: not met");

  /* no if/then rule fires after the end */
  cairn_ifthen quiet = parse_ok("if there is no evidence for 10 days, then observe");
  assert_true(cairn_progress_ifthen_fires(&quiet, &p, NULL, 0, &out, p.end));
  assert_false(cairn_progress_ifthen_fires(&quiet, &p, NULL, 0, &out, p.end + 1));
}

/* Every "how long" form the grammar documents. */
static void test_ifthen_units(void **state) {
  (void)state;
  static const struct {
    const char *text;
    cairn_ifthen_cond cond;
    int count;
    cairn_ifthen_unit unit;
  } forms[] = {
      {"if below the target for two consecutive weeks then a", CAIRN_IF_MISSES_TARGET, 2,
       CAIRN_IFTHEN_WEEKS},
      {"if the target is missed 2 weeks in a row then a", CAIRN_IF_MISSES_TARGET, 2,
       CAIRN_IFTHEN_WEEKS},
      {"if below the target for 3 days then a", CAIRN_IF_MISSES_TARGET, 3, CAIRN_IFTHEN_DAYS},
      {"if below the target on 2 consecutive check-ins then a", CAIRN_IF_MISSES_TARGET, 2,
       CAIRN_IFTHEN_CHECKINS},
      {"if below the target at the last check then a", CAIRN_IF_MISSES_TARGET, 1,
       CAIRN_IFTHEN_CHECKINS},
      {"if below the target 3 times in a row then a", CAIRN_IF_MISSES_TARGET, 3,
       CAIRN_IFTHEN_POINTS},
      {"if below the target for 4 consecutive points then a", CAIRN_IF_MISSES_TARGET, 4,
       CAIRN_IFTHEN_POINTS},
      {"if below the target for 2 consecutive then a", CAIRN_IF_MISSES_TARGET, 2,
       CAIRN_IFTHEN_POINTS},
      {"if the target is not met then a", CAIRN_IF_MISSES_TARGET, 1, CAIRN_IFTHEN_POINTS},
      {"if prompts are above 5 per day for two weeks then a", CAIRN_IF_ABOVE, 2,
       CAIRN_IFTHEN_WEEKS},
      {"if attendance drops below 92% for a week then a", CAIRN_IF_BELOW, 1,
       CAIRN_IFTHEN_WEEKS},
      {"if there is no data for a week then a", CAIRN_IF_NO_EVIDENCE, 7, CAIRN_IFTHEN_DAYS},
      {"if no evidence in 2 weeks then a", CAIRN_IF_NO_EVIDENCE, 14, CAIRN_IFTHEN_DAYS},
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    cairn_ifthen r = parse_ok(forms[i].text);
    if (r.cond != forms[i].cond || r.count != forms[i].count || r.unit != forms[i].unit)
      fail_msg("\"%s\": cond %d count %d unit %d", forms[i].text, r.cond, r.count, r.unit);
  }
  const char *bad[] = {
      "if below the target for two weeks or 3 days then a",
      "if below the target for 2 weeks and 3 days then a",
      "if below the target for two days in two weeks then a",
      "if below the target for some consecutive weeks then a",
      "if 2 consecutive weeks below the aimline then a",
      "if no evidence for 3 points then a",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cairn_ifthen r;
    char why[160] = "";
    if (cairn_progress_ifthen_parse(bad[i], &r, why, sizeof why) != CAIRN_EINVAL)
      fail_msg("\"%s\" accepted", bad[i]);
    print_message("%s: %s\n", bad[i], why);
  }
}

/* Days and check-ins are read as the words say. */
static void test_ifthen_days_and_checkins(void **state) {
  (void)state;
  cairn_milestone_params p = off_task(); /* 2 or fewer in 4 of 5 */
  cairn_ifthen days = parse_ok("if the target is missed 3 days in a row then call home");
  cairn_point pts[6] = {{START + 1, 5}, {START + 2, 5}, {START + 3, 1}, {START + 4, 5}};
  cairn_progress prog = run(&p, pts, 4);
  assert_false(cairn_progress_ifthen_fires(&days, &p, pts, 4, &prog, START + 4));
  pts[4] = (cairn_point){START + 5, 5};
  pts[5] = (cairn_point){START + 6, 6};
  prog = run(&p, pts, 6);
  assert_true(cairn_progress_ifthen_fires(&days, &p, pts, 6, &prog, START + 6));
  /* a day with no evidence in between ends the run */
  pts[4].day = START + 6;
  pts[5].day = START + 7;
  assert_false(cairn_progress_ifthen_fires(&days, &p, pts, 6, &prog, START + 7));

  /* check-ins: the points since the previous check date */
  const int32_t checks[] = {START + 7, START + 14, START + 21};
  p.checks = checks;
  p.nchecks = 3;
  cairn_ifthen next = parse_ok("If a student scores below the target on the next "
                               "check-in, then add a small group");
  cairn_point daily[10] = {{START + 1, 5}, {START + 3, 2}, {START + 5, 5},
                           {START + 9, 2}, {START + 11, 2}, {START + 13, 2},
                           {START + 15, 5}, {START + 16, 5}};
  /* check-in 1 (to START+7): 1 of 3 meets, under 4/5: missed */
  assert_true(cairn_progress_ifthen_fires(&next, &p, daily, 3, &prog, START + 7));
  /* before the check date the check-in has not happened */
  assert_false(cairn_progress_ifthen_fires(&next, &p, daily, 3, &prog, START + 6));
  /* check-in 2 (to START+14) all meet: the latest check-in is fine, even
   * with two misses after it (check-in 3 is not over) */
  assert_false(cairn_progress_ifthen_fires(&next, &p, daily, 8, &prog, START + 16));
}

/* A threshold that can never be read right on the milestone is refused. */
static void test_ifthen_check_against_the_scale(void **state) {
  (void)state;
  char why[160];
  cairn_milestone_params rubric = ela();
  cairn_ifthen r = parse_ok("If attendance drops below 92%, then schedule a family meeting");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), CAIRN_EINVAL);
  assert_string_equal(why, "below 92%: a percentage on the scale 0-4, which is not 0-100");
  r = parse_ok("if the score is below 5 then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), CAIRN_EINVAL);
  assert_string_equal(why, "below 5 is off the scale 0-4");
  r = parse_ok("if the score is below 0 then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), CAIRN_EINVAL);
  assert_string_equal(why, "below 0 can never happen on the scale 0-4");
  r = parse_ok("if the score is above 4 then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), CAIRN_EINVAL);
  r = parse_ok("if the score is below 2 then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), 0);
  r = parse_ok("if below the target then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &rubric, why, sizeof why), 0);

  cairn_milestone_params att = attendance();
  r = parse_ok("If attendance drops below 92%, then schedule a family meeting");
  assert_int_equal(cairn_progress_ifthen_check(&r, &att, why, sizeof why), 0);
  cairn_milestone_params tally = off_task();
  tally.scale_max = 1e9;
  tally.scale_kind = CAIRN_SCALE_COUNT;
  r = parse_ok("if prompts are above 5 per day then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &tally, why, sizeof why), 0);
  r = parse_ok("if prompts are above 50% then a");
  assert_int_equal(cairn_progress_ifthen_check(&r, &tally, why, sizeof why), CAIRN_EINVAL);
  assert_non_null(strstr(why, "count"));
}

/* The graph's lines: the trend line is the trend's own OLS fit (slope and
 * intercept), over the same points; the aimline runs from the baseline at
 * the start to the target at the end, flat for a goal to maintain. */
static void test_graph_lines(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  cairn_progress_line line;

  /* 0.1 a day exactly: value = 1 + 0.1 * (day - START - 1) */
  cairn_point uneven[4] = {
      {START + 1, 1.0}, {START + 3, 1.2}, {START + 8, 1.7}, {START + 11, 2.0}};
  cairn_progress out = run(&p, uneven, 4);
  cairn_progress_trend_line(&p, uneven, 4, START + 11, &line);
  assert_true(line.valid);
  assert_int_equal(line.from, START + 1);
  assert_int_equal(line.to, START + 11);
  assert_near(line.per_day, 0.1, 1e-12);
  assert_near(line.per_day * 7, out.trend_per_week, 1e-12);
  assert_near(line.at_from, 1.0, 1e-9);
  assert_near(line.at_to, 2.0, 1e-9);
  assert_near(line.intercept, 1.0 - 0.1 * (START + 1), 1e-6);
  assert_near(line.intercept + line.per_day * (START + 11), 2.0, 1e-6);

  /* the last trend_points only, known by today */
  p.trend_points = 3;
  size_t n = WEEKLY(pts, 4, 0, 1.0, 1.5, 2.0, 3.5);
  cairn_progress_trend_line(&p, pts, n, pts[4].day, &line);
  assert_true(line.valid);
  assert_int_equal(line.from, pts[2].day);
  assert_int_equal(line.to, pts[4].day);
  assert_near(line.at_from, 1.0, 1e-9);
  assert_near(line.at_to, 2.0, 1e-9);
  /* two points, one day, or an ended milestone: no trend line */
  cairn_progress_trend_line(&p, pts, 2, pts[1].day, &line);
  assert_false(line.valid);
  cairn_progress_trend_line(&p, pts, n, p.end + 1, &line);
  assert_false(line.valid);

  /* aimline of a goal to reach, and of a tally to lower */
  p = ela();
  out = run(&p, pts, 2);
  cairn_progress_aimline(&p, &out, &line);
  assert_true(line.valid);
  assert_int_equal(line.from, p.start);
  assert_int_equal(line.to, p.end);
  assert_near(line.at_from, 1.5, 1e-12);
  assert_near(line.at_to, 3.0, 1e-12);
  assert_near(line.per_day * 7, out.aim_per_week, 1e-12);
  cairn_milestone_params down = off_task();
  out = run(&down, NULL, 0);
  cairn_progress_aimline(&down, &out, &line);
  assert_near(line.at_from, 7, 1e-12);
  assert_near(line.at_to, 2, 1e-12);
  assert_true(line.per_day < 0);

  /* a goal to maintain: flat at the target; a pending baseline: none
   * until the first point stands in for it */
  p = ela();
  p.goal = CAIRN_GOAL_MAINTAIN;
  out = run(&p, NULL, 0);
  cairn_progress_aimline(&p, &out, &line);
  assert_near(line.at_from, 3, 1e-12);
  assert_near(line.at_to, 3, 1e-12);
  p = ela();
  p.baseline_pending = 1;
  out = run(&p, NULL, 0);
  cairn_progress_aimline(&p, &out, &line);
  assert_false(line.valid);
  n = WEEKLY(pts, 2.0);
  out = run(&p, pts, n);
  cairn_progress_aimline(&p, &out, &line);
  assert_true(line.valid);
  assert_near(line.at_from, 2.0, 1e-12);
}

static void test_level_words_and_cadences(void **state) {
  (void)state;
  assert_string_equal(cairn_progress_level_words(CAIRN_LEVEL_DEVELOPING),
                      "developing: engaged, not yet meeting the goal");
  assert_non_null(strstr(cairn_progress_level_words(CAIRN_LEVEL_NOT_STARTED), "not started"));
  assert_string_equal(cairn_progress_level_words((cairn_level)99), "unknown");
  assert_int_equal(cairn_progress_cadence_days("weekly"), 7);
  assert_int_equal(cairn_progress_cadence_days("biweekly"), 14);
  assert_int_equal(cairn_progress_cadence_days("monthly"), 30);
  assert_int_equal(cairn_progress_cadence_days("quarterly"), 91);
  assert_int_equal(cairn_progress_cadence_days("daily"), 0);
  assert_int_equal(cairn_progress_cadence_days(NULL), 0);
}

/* Closed by a teacher: from the close day on, the result given and no
 * light, trend, review or if/then; before it, computed as if open. */
static void test_closed_with_a_result(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[6];
  size_t n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5, 3, 3);
  cairn_progress out;
  char why[256];
  p.closed_result = CAIRN_RESULT_MET;
  p.closed = START + 3 * WEEK + 1; /* after the third point */
  cairn_progress_compute(&p, pts, n, NULL, 0, START + 5 * WEEK, &out);
  assert_true(out.closed && out.ended);
  assert_int_equal(out.result, CAIRN_RESULT_MET);
  assert_int_equal(out.light, CAIRN_LIGHT_NONE);
  assert_int_equal(out.points, 3); /* those up to the close */
  assert_false(out.trend_valid);
  assert_int_equal(out.next_review_due, CAIRN_PROGRESS_NO_DAY);
  cairn_progress_explain(&p, &out, why, sizeof why);
  assert_string_equal(why, "closed on 2023-09-22: met; 0 of the last 3 points meet the target");
  cairn_progress_compute(&p, pts, n, NULL, 0, START + 3 * WEEK, &out);
  assert_false(out.closed);
  assert_int_not_equal(out.light, CAIRN_LIGHT_NONE);
}

/* A carried baseline: the mean of the last max(N, 3) points by the end or
 * the close, rounded on whole-number scales; none without a point. */
static void test_carry_baseline(void **state) {
  (void)state;
  cairn_milestone_params p = ela(); /* 4 of 5 */
  cairn_point pts[7];
  size_t n = WEEKLY(pts, 1, 2, 2, 3, 3, 3, 4), used;
  double b;
  int32_t last;
  assert_int_equal(cairn_progress_carry_baseline(&p, pts, n, START + 100, &b, &used, &last), 1);
  assert_int_equal(used, 5); /* the 7th point is after the end */
  assert_near(b, 2.6, 1e-9);
  assert_int_equal(last, START + 6 * WEEK);
  p.rule_k = p.rule_n = 1; /* at least 3 points */
  assert_int_equal(cairn_progress_carry_baseline(&p, pts, n, START + 100, &b, &used, &last), 1);
  assert_int_equal(used, 3);
  assert_near(b, 3, 1e-9);
  p.scale_kind = CAIRN_SCALE_COUNT;
  pts[4].value = 2; /* 3, 2, 3: 2.67 rounds to 3 */
  assert_int_equal(cairn_progress_carry_baseline(&p, pts, n, START + 100, &b, &used, &last), 1);
  assert_near(b, 3, 1e-9);
  assert_int_equal(cairn_progress_carry_baseline(&p, pts, 0, START + 100, &b, &used, &last), 0);
}

/* An ordinal scale prints its labels; a mean between two ranks says so. */
static void test_labels(void **state) {
  (void)state;
  static const char *const letters[] = {"F", "D", "C", "B", "A"};
  cairn_milestone_params p = {.scale_min = 0, .scale_max = 4, .direction = 1,
                              .scale_kind = CAIRN_SCALE_LETTER, .labels = letters,
                              .nlabels = 5, .baseline = 2, .target = 3,
                              .start = START, .end = START + 6 * WEEK, .cadence_days = 7};
  char out[CAIRN_PROGRESS_VALUE_MAX];
  cairn_progress_params_defaults(&p);
  cairn_progress_format_value(&p, 3, out, sizeof out);
  assert_string_equal(out, "B");
  cairn_progress_format_value(&p, 3.5, out, sizeof out);
  assert_string_equal(out, "3.5, between B and A");
  cairn_progress_describe_goal(&p, out, sizeof out);
  assert_string_equal(out, "target B or higher on the last point");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_names),
      cmocka_unit_test(test_params_check_names_the_field),
      cmocka_unit_test(test_not_started_without_evidence),
      cmocka_unit_test(test_ela_beginning),
      cmocka_unit_test(test_ela_developing),
      cmocka_unit_test(test_ela_meeting_four_of_five),
      cmocka_unit_test(test_ela_exceeding),
      cmocka_unit_test(test_ela_flat_run_below_aimline_is_red),
      cmocka_unit_test(test_ela_on_the_aimline_is_green),
      cmocka_unit_test(test_ela_falling_trend_is_red),
      cmocka_unit_test(test_ela_slow_trend_is_yellow),
      cmocka_unit_test(test_off_task_falling_tally_is_green),
      cmocka_unit_test(test_off_task_rising_tally_is_red),
      cmocka_unit_test(test_off_task_meeting),
      cmocka_unit_test(test_coping_three_of_four),
      cmocka_unit_test(test_baseline_pending_uses_first_point),
      cmocka_unit_test(test_trend_slope),
      cmocka_unit_test(test_review_due_weekly),
      cmocka_unit_test(test_review_due_on_check_dates),
      cmocka_unit_test(test_review_due_shortens_when_red),
      cmocka_unit_test(test_ifthen_seed_small_group),
      cmocka_unit_test(test_ifthen_seed_attendance),
      cmocka_unit_test(test_ifthen_seed_behavior_two_weeks),
      cmocka_unit_test(test_ifthen_light_aimline_and_silence),
      cmocka_unit_test(test_ifthen_refuses_with_a_reason),
      cmocka_unit_test(test_count_scale_tolerance_is_the_milestones),
      cmocka_unit_test(test_count_scale_exceeding_is_the_milestones),
      cmocka_unit_test(test_ifthen_weeks_are_calendar_weeks),
      cmocka_unit_test(test_after_the_end_no_light),
      cmocka_unit_test(test_as_of_ignores_later_points),
      cmocka_unit_test(test_maintain_goal),
      cmocka_unit_test(test_params_check_thresholds),
      cmocka_unit_test(test_trend_words_follow_the_direction),
      cmocka_unit_test(test_values_and_goals_in_words),
      cmocka_unit_test(test_result_after_the_end),
      cmocka_unit_test(test_ifthen_units),
      cmocka_unit_test(test_ifthen_days_and_checkins),
      cmocka_unit_test(test_ifthen_check_against_the_scale),
      cmocka_unit_test(test_graph_lines),
      cmocka_unit_test(test_level_words_and_cadences),
      cmocka_unit_test(test_closed_with_a_result),
      cmocka_unit_test(test_carry_baseline),
      cmocka_unit_test(test_labels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
