/*
 * fuzz_ifthen.c: the derived views of store/progress.h over text and
 * numbers a user or another node wrote: cairn_progress_ifthen_parse on a
 * planned if/then rule, then _ifthen_check and _ifthen_fires on one of the
 * seed article's milestones, and cairn_progress_compute with the sentences
 * on points drawn from the input.
 *
 * Input: a control byte (bits 0-1: the milestone, ELA rubric, off-task
 * tally on a count scale, attendance to maintain, coping yes/no; bits 2-7:
 * the as-of day, 2 days a step from the start), the rule's text up to the
 * first NUL byte (at most 1000 bytes, as the schema allows), then pairs of
 * bytes, each a point: its day after the start and its value.
 */
#include "fuzz.h"

#include <math.h>

#include "progress.h"

#define START 20000
#define POINTS_MAX 64

static cairn_milestone_params milestone(unsigned which) {
  static const int32_t checks[] = {START + 7, START + 21, START + 35};
  cairn_milestone_params p;
  memset(&p, 0, sizeof p);
  cairn_progress_params_defaults(&p);
  p.start = START;
  p.cadence_days = 7;
  switch (which) {
  case 0: /* 0-4 rubric, 1.5 -> 3 in 4 of 5, 6 weeks */
    p.scale_max = 4;
    p.direction = 1;
    p.baseline = 1.5;
    p.target = 3;
    p.rule_k = 4;
    p.rule_n = 5;
    p.end = START + 42;
    break;
  case 1: /* off-task prompts on a count scale, 7 -> 2, checks */
    p.scale_max = 1e9;
    p.scale_kind = CAIRN_SCALE_COUNT;
    p.direction = -1;
    p.baseline = 7;
    p.target = 2;
    p.rule_k = 4;
    p.rule_n = 5;
    p.end = START + 28;
    p.checks = checks;
    p.nchecks = 3;
    break;
  case 2: /* attendance: stay at or above 95 from 97 */
    p.scale_max = 100;
    p.scale_kind = CAIRN_SCALE_PERCENT;
    p.direction = 1;
    p.goal = CAIRN_GOAL_MAINTAIN;
    p.baseline = 97;
    p.target = 95;
    p.end = START + 63;
    break;
  default: /* coping strategy, yes/no, pending baseline, 3 of 4 */
    p.scale_max = 1;
    p.scale_kind = CAIRN_SCALE_YESNO;
    p.direction = 1;
    p.baseline_pending = 1;
    p.target = 1;
    p.rule_k = 3;
    p.rule_n = 4;
    p.end = START + 35;
    break;
  }
  return p;
}

/* A sentence written into buf[size]: NUL-terminated inside it. */
static void check_sentence(const char *buf, size_t size) {
  FUZZ_CHECK(memchr(buf, '\0', size) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[1001], why[200], out[512];
  cairn_point pts[POINTS_MAX];
  cairn_progress prog;
  cairn_ifthen rule;
  size_t len = 0, n = 0;

  if (size < 1)
    return 0;
  cairn_milestone_params p = milestone(data[0] & 3);
  int32_t today = START + 2 * (data[0] >> 2);
  FUZZ_CHECK(cairn_progress_params_check(&p, NULL, 0) == 0);
  data++;
  size--;
  while (len < size && len < sizeof text - 1 && data[len] != 0)
    text[len] = (char)data[len], len++;
  text[len] = '\0';
  for (size_t i = len + 1; i + 1 < size && n < POINTS_MAX; i += 2) {
    double v = p.scale_kind == CAIRN_SCALE_COUNT ? data[i + 1]
                                                 : p.scale_max * data[i + 1] / 255.0;
    pts[n++] = (cairn_point){START + data[i], v};
  }
  for (size_t i = 1; i < n; i++) /* sorted by day, same days in order */
    for (size_t j = i; j > 0 && pts[j - 1].day > pts[j].day; j--) {
      cairn_point t = pts[j];
      pts[j] = pts[j - 1];
      pts[j - 1] = t;
    }

  const int32_t reviews[] = {START + 10, today, START + 40};
  cairn_progress_compute(&p, pts, n, reviews, 3, today, &prog);
  FUZZ_CHECK(prog.points <= n);
  FUZZ_CHECK(prog.window >= 0 && (size_t)prog.window <= prog.points);
  FUZZ_CHECK(prog.met_in_window >= 0 && prog.met_in_window <= prog.window);
  FUZZ_CHECK(prog.ended == (today > p.end));
  FUZZ_CHECK((prog.light == CAIRN_LIGHT_NONE) == (prog.points == 0 || prog.ended));
  FUZZ_CHECK((prog.result != CAIRN_RESULT_NONE) == prog.ended);
  FUZZ_CHECK(prog.ended || !prog.trend_valid || isfinite(prog.trend_per_week));
  cairn_progress_explain(&p, &prog, out, sizeof out);
  check_sentence(out, sizeof out);
  FUZZ_CHECK(out[0] != '\0');
  cairn_progress_describe_goal(&p, out, sizeof out);
  check_sentence(out, sizeof out);
  cairn_progress_describe_trend(&p, &prog, out, sizeof out);
  check_sentence(out, sizeof out);

  memset(&rule, 0x5a, sizeof rule);
  why[0] = '\0';
  int rc = cairn_progress_ifthen_parse(text, &rule, why, sizeof why);
  FUZZ_CHECK(rc == 0 || rc == CAIRN_EINVAL);
  if (rc != 0) {
    FUZZ_CHECK(why[0] != '\0');
    FUZZ_CHECK(rule.action[0] == 0x5a); /* untouched */
    return 0;
  }
  size_t alen = strnlen(rule.action, sizeof rule.action);
  FUZZ_CHECK(alen > 0 && alen <= CAIRN_IFTHEN_ACTION_MAX);
  FUZZ_CHECK(strstr(text, rule.action) != NULL);
  FUZZ_CHECK(rule.count >= 0);
  rc = cairn_progress_ifthen_check(&rule, &p, why, sizeof why);
  FUZZ_CHECK(rc == 0 || (rc == CAIRN_EINVAL && why[0] != '\0'));
  int fired = cairn_progress_ifthen_fires(&rule, &p, pts, n, &prog, today);
  FUZZ_CHECK(fired == 0 || fired == 1);
  FUZZ_CHECK(!fired || !prog.ended);
  return 0;
}
