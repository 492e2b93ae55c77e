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

static cairn_progress run(const cairn_milestone_params *p,
                          const cairn_point *pts, size_t n) {
  cairn_progress out;
  cairn_progress_compute(p, pts, n, -1, START, &out);
  return out;
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
  assert_string_equal(out.why, "no evidence yet");
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
  assert_string_equal(out.why, "the target rule is met");

  /* only the last 5 count: an early 1 no longer matters */
  n = WEEKLY(pts, 1, 3, 3, 2.5, 3, 3.5);
  out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_MEETING);
}

static void test_ela_exceeding(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  /* mean 3.4 = target + 10% of the 0-4 span */
  size_t n = WEEKLY(pts, 3.5, 3.5, 3, 3.5, 3.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.level, CAIRN_LEVEL_EXCEEDING);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);

  /* mean 3.3: meeting only */
  n = WEEKLY(pts, 3.5, 3.5, 3, 3, 3.5);
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
  assert_non_null(strstr(out.why, "consecutive points below the aimline"));
  assert_near(out.aim_at_last, 2.5, 1e-12);

  /* three below is only a watch */
  out = run(&p, pts, 3);
  assert_int_equal(out.light, CAIRN_LIGHT_YELLOW);
  assert_string_equal(out.why, "the last point is below the aimline");
}

static void test_ela_on_the_aimline_is_green(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75, 2.0, 2.25, 2.5);
  cairn_progress out = run(&p, pts, n);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(out.wrong_side_run, 0);
  assert_string_equal(out.why, "on track with the aimline");
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
  assert_non_null(strstr(out.why, "trend is falling"));

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
  assert_non_null(strstr(out.why, "slower than half"));
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
  assert_non_null(strstr(out.why, "above the aimline"));

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

static void test_review_due_weekly(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 1.75);
  cairn_progress out;

  cairn_progress_compute(&p, pts, n, -1, START + 7, &out);
  assert_int_equal(out.next_review_due, START + 7);
  assert_false(out.overdue);
  cairn_progress_compute(&p, pts, n, -1, START + 8, &out);
  assert_true(out.overdue);

  cairn_progress_compute(&p, pts, n, START + 10, START + 12, &out);
  assert_int_equal(out.next_review_due, START + 17);
  assert_false(out.overdue);

  /* the end of the 6 weeks caps it */
  cairn_progress_compute(&p, pts, n, START + 40, START + 41, &out);
  assert_int_equal(out.next_review_due, START + 42);

  /* closing review done: the cadence goes on */
  cairn_progress_compute(&p, pts, n, START + 42, START + 43, &out);
  assert_int_equal(out.next_review_due, START + 49);
  assert_false(out.overdue);
}

static void test_review_due_shortens_when_red(void **state) {
  (void)state;
  cairn_milestone_params p = ela();
  p.cadence_days = 30;
  p.end = START + 90;
  cairn_point pts[8];
  cairn_progress out;

  size_t n = WEEKLY(pts, 1.8, 2.1);
  cairn_progress_compute(&p, pts, n, -1, START + 15, &out);
  assert_int_equal(out.light, CAIRN_LIGHT_GREEN);
  assert_int_equal(out.next_review_due, START + 30);
  assert_false(out.overdue);

  n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5);
  cairn_progress_compute(&p, pts, n, -1, START + 15, &out);
  assert_int_equal(out.light, CAIRN_LIGHT_RED);
  assert_int_equal(out.next_review_due, START + 14);
  assert_true(out.overdue);

  /* red near the end: still capped at the end */
  cairn_progress_compute(&p, pts, n, START + 80, START + 85, &out);
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
  assert_string_equal(rule.action,
                      "add a 20-minute small-group session twice weekly.");

  cairn_milestone_params p = ela();
  cairn_point pts[8];
  size_t n = WEEKLY(pts, 3, 2.5);
  cairn_progress prog = run(&p, pts, n);
  assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
  n = WEEKLY(pts, 2.5, 3);
  prog = run(&p, pts, n);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
  prog = run(&p, NULL, 0);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, NULL, 0, &prog, START));
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
  assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
  n = WEEKLY(pts, 91.5, 92);
  prog = run(&p, pts, n);
  assert_false(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
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

    cairn_milestone_params p = off_task();
    cairn_point pts[8];
    size_t n = WEEKLY(pts, 2, 3, 4);
    cairn_progress prog = run(&p, pts, n);
    assert_true(cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
    n = WEEKLY(pts, 3, 2);
    prog = run(&p, pts, n);
    assert_false(
        cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
    n = WEEKLY(pts, 4);
    prog = run(&p, pts, n);
    assert_false(
        cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, START));
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
  assert_false(cairn_progress_ifthen_fires(&red, &p, pts, n, &prog, START));
  assert_true(cairn_progress_ifthen_fires(&yellow, &p, pts, n, &prog, START));
  assert_true(cairn_progress_ifthen_fires(&three, &p, pts, n, &prog, START));
  assert_false(cairn_progress_ifthen_fires(&side, &p, pts, n, &prog, START));

  n = WEEKLY(pts, 1.5, 1.5, 1.5, 1.5);
  prog = run(&p, pts, n); /* red */
  assert_true(cairn_progress_ifthen_fires(&red, &p, pts, n, &prog, START));
  assert_true(cairn_progress_ifthen_fires(&yellow, &p, pts, n, &prog, START));
  assert_true(cairn_progress_ifthen_fires(&side, &p, pts, n, &prog, START));

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
      cmocka_unit_test(test_review_due_shortens_when_red),
      cmocka_unit_test(test_ifthen_seed_small_group),
      cmocka_unit_test(test_ifthen_seed_attendance),
      cmocka_unit_test(test_ifthen_seed_behavior_two_weeks),
      cmocka_unit_test(test_ifthen_light_aimline_and_silence),
      cmocka_unit_test(test_ifthen_refuses_with_a_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
