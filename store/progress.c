/*
 * progress.c: progress level, traffic light, trend, due review and if/then
 * rules, as documented in progress.h.
 */
#include "progress.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

void cairn_progress_params_defaults(cairn_milestone_params *p) {
  p->wrong_side_n = 4;
  p->trend_points = 6;
  p->developing_at = 0.25;
  p->exceed_margin = 0.10;
  p->offtrack_cadence_days = 14;
}

static int fail(char *why, size_t whylen, const char *reason) {
  if (why != NULL && whylen > 0)
    snprintf(why, whylen, "%s", reason);
  return CAIRN_EINVAL;
}

static int within_scale(const cairn_milestone_params *p, double v) {
  return v >= p->scale_min && v <= p->scale_max;
}

int cairn_progress_params_check(const cairn_milestone_params *p, char *why,
                                size_t whylen) {
  if (!isfinite(p->scale_min) || !isfinite(p->scale_max) ||
      p->scale_min >= p->scale_max)
    return fail(why, whylen, "scale: the minimum must be below the maximum");
  if (p->direction != 1 && p->direction != -1)
    return fail(why, whylen, "direction: must be +1 (raise) or -1 (lower)");
  if (!within_scale(p, p->target))
    return fail(why, whylen, "target: outside the scale");
  if (!p->baseline_pending) {
    if (!within_scale(p, p->baseline))
      return fail(why, whylen, "baseline: outside the scale");
    if ((p->target - p->baseline) * p->direction < 0)
      return fail(why, whylen,
                  "target: behind the baseline for this direction");
  }
  if (!(p->rule_k == 0 && p->rule_n == 0) &&
      !(p->rule_k >= 1 && p->rule_k <= p->rule_n))
    return fail(why, whylen, "rule: needs 1 <= K <= N (K of the last N)");
  if (p->start > p->end)
    return fail(why, whylen, "timeframe: the start is after the end");
  if (p->cadence_days < 1 || p->offtrack_cadence_days < 1)
    return fail(why, whylen, "cadence: must be at least 1 day");
  if (p->wrong_side_n < 1)
    return fail(why, whylen, "wrong_side_n: must be at least 1");
  if (p->trend_points < 3)
    return fail(why, whylen, "trend_points: must be at least 3");
  if (!(p->developing_at > 0 && p->developing_at <= 1))
    return fail(why, whylen, "developing_at: must be in (0, 1]");
  if (!(p->exceed_margin >= 0))
    return fail(why, whylen, "exceed_margin: must not be negative");
  return 0;
}

static int dir_of(const cairn_milestone_params *p) {
  return p->direction < 0 ? -1 : 1;
}

/* Tolerance under which two values on the scale count as equal. */
static double eps_of(const cairn_milestone_params *p) {
  double span = p->scale_max - p->scale_min;
  return 1e-9 * (span > 1.0 ? span : 1.0);
}

static int meets_target(const cairn_milestone_params *p, double v) {
  return dir_of(p) > 0 ? v >= p->target : v <= p->target;
}

static double aim_at(const cairn_milestone_params *p, double b, int32_t day) {
  if (day >= p->end)
    return p->target;
  if (day <= p->start)
    return b;
  return b + (p->target - b) * ((double)day - p->start) /
                 ((double)p->end - p->start);
}

static int wrong_side(const cairn_milestone_params *p, double b,
                      const cairn_point *pt) {
  return (pt->value - aim_at(p, b, pt->day)) * dir_of(p) < -eps_of(p);
}

/* OLS slope of the m points, per 7 days. Returns 0 when it is undefined. */
static int trend_per_week(const cairn_point *pts, size_t m, double *slope) {
  if (m < 3)
    return 0;
  double mean_day = 0, mean_value = 0;
  for (size_t i = 0; i < m; i++) {
    mean_day += pts[i].day;
    mean_value += pts[i].value;
  }
  mean_day /= (double)m;
  mean_value /= (double)m;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < m; i++) {
    double dx = pts[i].day - mean_day;
    sxx += dx * dx;
    sxy += dx * (pts[i].value - mean_value);
  }
  if (sxx <= 0)
    return 0;
  *slope = 7.0 * sxy / sxx;
  return 1;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Level for n > 0 points; stores the window's met count in *met. */
static cairn_level level_of(const cairn_milestone_params *p, double b,
                            const cairn_point *pts, size_t n, int *met) {
  size_t rule_n = p->rule_n > 0 ? (size_t)p->rule_n : 1;
  size_t rule_k = p->rule_k > 0 ? (size_t)p->rule_k : 1;
  size_t w = min_size(n, rule_n);
  size_t hits = 0;
  double mean = 0;
  for (size_t i = n - w; i < n; i++) {
    hits += (size_t)meets_target(p, pts[i].value);
    mean += pts[i].value;
  }
  mean /= (double)w;
  *met = (int)hits;

  int dir = dir_of(p);
  double eps = eps_of(p);
  if (n >= rule_k && hits >= rule_k) {
    double beyond = (mean - p->target) * dir;
    double span = p->scale_max - p->scale_min;
    return beyond >= p->exceed_margin * span - eps ? CAIRN_LEVEL_EXCEEDING
                                                   : CAIRN_LEVEL_MEETING;
  }
  if (hits > 0)
    return CAIRN_LEVEL_DEVELOPING;
  double gap = (p->target - b) * dir;
  double fraction;
  if (gap > eps)
    fraction = (mean - b) * dir / gap;
  else
    fraction = meets_target(p, mean) ? 1.0 : 0.0;
  return fraction >= p->developing_at - 1e-9 ? CAIRN_LEVEL_DEVELOPING
                                             : CAIRN_LEVEL_BEGINNING;
}

/* Static sentences, [0] when higher is better, [1] when lower is better. */
static const char *const why_run[2] = {
    "several consecutive points below the aimline",
    "several consecutive points above the aimline"};
static const char *const why_away[2] = {
    "the trend is falling and the last point is below the aimline",
    "the trend is rising and the last point is above the aimline"};
static const char *const why_last[2] = {
    "the last point is below the aimline",
    "the last point is above the aimline"};

static void light_of(const cairn_milestone_params *p, int last_wrong,
                     cairn_progress *out) {
  int dir = dir_of(p);
  int side = dir > 0 ? 0 : 1;
  double eps = eps_of(p);
  if (out->level >= CAIRN_LEVEL_MEETING) {
    out->light = CAIRN_LIGHT_GREEN;
    out->why = "the target rule is met";
  } else if (out->wrong_side_run >= p->wrong_side_n) {
    out->light = CAIRN_LIGHT_RED;
    out->why = why_run[side];
  } else if (out->trend_valid && out->trend_per_week * dir < -eps &&
             last_wrong) {
    out->light = CAIRN_LIGHT_RED;
    out->why = why_away[side];
  } else if (last_wrong) {
    out->light = CAIRN_LIGHT_YELLOW;
    out->why = why_last[side];
  } else if (out->trend_valid &&
             out->trend_per_week * dir < 0.5 * out->aim_per_week * dir - eps) {
    out->light = CAIRN_LIGHT_YELLOW;
    out->why = "the trend is slower than half the aimline's pace";
  } else {
    out->light = CAIRN_LIGHT_GREEN;
    out->why = "on track with the aimline";
  }
}

static int32_t review_due(const cairn_milestone_params *p, cairn_light light,
                          int32_t last_review_day) {
  int64_t base = last_review_day >= 0 ? last_review_day : p->start;
  int cadence = p->cadence_days;
  if (light == CAIRN_LIGHT_RED && p->offtrack_cadence_days < cadence)
    cadence = p->offtrack_cadence_days;
  int64_t due = base + cadence;
  if (base < p->end && due > p->end)
    due = p->end;
  return due > INT32_MAX ? INT32_MAX : (int32_t)due;
}

void cairn_progress_compute(const cairn_milestone_params *p,
                            const cairn_point *pts, size_t n,
                            int32_t last_review_day, int32_t today,
                            cairn_progress *out) {
  memset(out, 0, sizeof *out);
  out->points = n;
  if (n == 0) {
    out->level = CAIRN_LEVEL_NOT_STARTED;
    out->light = CAIRN_LIGHT_NONE;
    out->why = "no evidence yet";
  } else {
    double b = p->baseline_pending ? pts[0].value : p->baseline;
    const cairn_point *last = &pts[n - 1];
    out->last_value = last->value;
    out->last_day = last->day;
    out->aim_at_last = aim_at(p, b, last->day);
    if (p->end > p->start)
      out->aim_per_week = 7.0 * (p->target - b) / ((double)p->end - p->start);
    for (size_t i = n; i > 0 && wrong_side(p, b, &pts[i - 1]); i--)
      out->wrong_side_run++;
    size_t m = p->trend_points > 0 ? min_size(n, (size_t)p->trend_points) : 0;
    out->trend_valid = trend_per_week(pts + (n - m), m, &out->trend_per_week);
    out->level = level_of(p, b, pts, n, &out->met_in_window);
    light_of(p, out->wrong_side_run > 0, out);
  }
  out->next_review_due = review_due(p, out->light, last_review_day);
  out->overdue = today > out->next_review_due;
}

const char *cairn_progress_level_name(cairn_level l) {
  switch (l) {
  case CAIRN_LEVEL_NOT_STARTED: return "not started";
  case CAIRN_LEVEL_BEGINNING: return "beginning";
  case CAIRN_LEVEL_DEVELOPING: return "developing";
  case CAIRN_LEVEL_MEETING: return "meeting";
  case CAIRN_LEVEL_EXCEEDING: return "exceeding";
  }
  return "unknown";
}

const char *cairn_progress_light_name(cairn_light l) {
  switch (l) {
  case CAIRN_LIGHT_NONE: return "none";
  case CAIRN_LIGHT_GREEN: return "green";
  case CAIRN_LIGHT_YELLOW: return "yellow";
  case CAIRN_LIGHT_RED: return "red";
  }
  return "unknown";
}

/* ---- if/then rules ---------------------------------------------------- */

/* A word of the rule text: a run of letters, digits, '%', '.', '-', '\''
 * and non-ASCII bytes (so "aren’t" stays one word), trailing dots dropped.
 * It points into the caller's text. */
typedef struct word {
  const char *s;
  size_t len;
} word;

#define COND_WORDS_MAX 32
#define COUNT_MAX 100

static int is_word_byte(unsigned char c) {
  return isalnum(c) || c == '%' || c == '.' || c == '-' || c == '\'' ||
         c >= 0x80;
}

/* Reads the next word at or after *pos into *w and moves *pos past it.
 * Returns 0 at the end of the text. */
static int next_word(const char **pos, word *w) {
  const char *s = *pos;
  for (;;) {
    while (*s != '\0' && !is_word_byte((unsigned char)*s))
      s++;
    if (*s == '\0') {
      *pos = s;
      return 0;
    }
    w->s = s;
    while (*s != '\0' && is_word_byte((unsigned char)*s))
      s++;
    w->len = (size_t)(s - w->s);
    while (w->len > 0 && w->s[w->len - 1] == '.')
      w->len--;
    if (w->len > 0) {
      *pos = s;
      return 1;
    }
  }
}

static int word_is(word w, const char *lit) {
  size_t len = strlen(lit);
  return w.len == len && strncasecmp(w.s, lit, len) == 0;
}

static int word_ends_with(word w, const char *lit) {
  size_t len = strlen(lit);
  return w.len >= len && strncasecmp(w.s + w.len - len, lit, len) == 0;
}

/* Index of the first word equal to lit, or n when there is none. */
static size_t find_word(const word *ws, size_t n, const char *lit) {
  for (size_t i = 0; i < n; i++)
    if (word_is(ws[i], lit))
      return i;
  return n;
}

static int has_word(const word *ws, size_t n, const char *lit) {
  return find_word(ws, n, lit) < n;
}

static int has_any(const word *ws, size_t n, const char *const *lits) {
  for (; *lits != NULL; lits++)
    if (has_word(ws, n, *lits))
      return 1;
  return 0;
}

/* A count 1..COUNT_MAX written in digits or as one..ten; -1 otherwise. */
static int parse_count(word w) {
  static const char *const names[] = {"one", "two",   "three", "four",
                                      "five", "six",  "seven", "eight",
                                      "nine", "ten"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (word_is(w, names[i]))
      return (int)i + 1;
  int v = 0;
  for (size_t i = 0; i < w.len; i++) {
    if (!isdigit((unsigned char)w.s[i]) || v > COUNT_MAX)
      return -1;
    v = v * 10 + (w.s[i] - '0');
  }
  return v >= 1 && v <= COUNT_MAX ? v : -1;
}

/* The count written just before the word lit ("two consecutive"), or -1. */
static int count_before(const word *ws, size_t n, const char *lit) {
  size_t i = find_word(ws, n, lit);
  return i > 0 && i < n ? parse_count(ws[i - 1]) : -1;
}

/* A finite number, optionally followed by '%'. Returns 0 on success. */
static int parse_value(word w, double *v) {
  char buf[32];
  size_t len = w.len;
  if (len > 0 && w.s[len - 1] == '%')
    len--;
  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy(buf, w.s, len);
  buf[len] = '\0';
  char *end;
  *v = strtod(buf, &end);
  return end == buf + len && isfinite(*v) ? 0 : -1;
}

/* For "below X" and the like: finds the first of the two words and reads the
 * number after it. Returns 1 found, 0 absent, -1 not followed by a number. */
static int number_after(const word *ws, size_t n, const char *a,
                        const char *b, double *v) {
  for (size_t i = 0; i < n; i++)
    if (word_is(ws[i], a) || word_is(ws[i], b))
      return i + 1 < n && parse_value(ws[i + 1], v) == 0 ? 1 : -1;
  return 0;
}

static int is_miss_word(word w) {
  static const char *const misses[] = {
      "below", "under",  "miss", "misses", "missed", "missing", "fail",
      "fails", "failed", "not",  "no",     "never",  "short",   NULL};
  for (const char *const *m = misses; *m != NULL; m++)
    if (word_is(w, *m))
      return 1;
  return word_ends_with(w, "n't") || word_ends_with(w, "n\xe2\x80\x99t");
}

static int parse_condition(const word *ws, size_t n, cairn_ifthen *rule,
                           char *why, size_t whylen) {
  static const char *const joins[] = {"and", "or", NULL};
  static const char *const evidence[] = {"evidence", "data", NULL};
  static const char *const targets[] = {"target", "targets", NULL};
  if (has_any(ws, n, joins))
    return fail(why, whylen,
                "one condition per rule: split \"and\"/\"or\" into two rules");

  if (has_word(ws, n, "aimline")) {
    rule->cond = CAIRN_IF_WRONG_SIDE;
    if (has_word(ws, n, "consecutive")) {
      rule->count = count_before(ws, n, "consecutive");
      if (rule->count < 0)
        return fail(why, whylen, "say how many: \"4 consecutive points "
                                 "below the aimline\"");
    }
    return 0;
  }

  if (has_any(ws, n, evidence) && has_word(ws, n, "no")) {
    int days = count_before(ws, n, "days");
    int weeks = count_before(ws, n, "weeks");
    if (days < 0 && weeks < 0)
      return fail(why, whylen, "say how long: \"no evidence for 10 days\"");
    rule->cond = CAIRN_IF_NO_EVIDENCE;
    rule->count = days > 0 ? days : 7 * weeks;
    return 0;
  }

  if (has_any(ws, n, targets)) {
    int missed = 0;
    for (size_t i = 0; i < n; i++)
      missed |= is_miss_word(ws[i]);
    if (!missed)
      return fail(why, whylen, "say how the target is missed: \"below the "
                               "target\", \"target not met\"");
    rule->cond = CAIRN_IF_MISSES_TARGET;
    rule->count = 1;
    if (has_word(ws, n, "consecutive")) {
      rule->count = count_before(ws, n, "consecutive");
      if (rule->count < 0)
        return fail(why, whylen, "say how many: \"for two consecutive "
                                 "weeks\"");
    }
    return 0;
  }

  double v;
  int below = number_after(ws, n, "below", "under", &v);
  if (below != 0) {
    if (below < 0)
      return fail(why, whylen, "expected a number after \"below\"");
    rule->cond = CAIRN_IF_BELOW;
    rule->threshold = v;
    return 0;
  }
  int above = number_after(ws, n, "above", "over", &v);
  if (above != 0) {
    if (above < 0)
      return fail(why, whylen, "expected a number after \"above\"");
    rule->cond = CAIRN_IF_ABOVE;
    rule->threshold = v;
    return 0;
  }

  if (has_word(ws, n, "red") || has_word(ws, n, "off-track") ||
      (has_word(ws, n, "off") && has_word(ws, n, "track"))) {
    rule->cond = CAIRN_IF_RED;
    return 0;
  }
  if (has_word(ws, n, "yellow")) {
    rule->cond = CAIRN_IF_YELLOW;
    return 0;
  }
  return fail(why, whylen,
              "condition not recognised: name the target, below/above a "
              "number, red, yellow, the aimline, or no evidence for N days");
}

int cairn_progress_ifthen_parse(const char *text, cairn_ifthen *out,
                                char *why, size_t whylen) {
  static const char *const form = "a rule reads \"if CONDITION, then ACTION\"";
  const char *pos = text;
  word w;
  if (!next_word(&pos, &w) || !word_is(w, "if"))
    return fail(why, whylen, form);

  word cond[COND_WORDS_MAX];
  size_t n = 0;
  for (;;) {
    if (!next_word(&pos, &w))
      return fail(why, whylen, "no \"then\": a rule reads \"if CONDITION, "
                               "then ACTION\"");
    if (word_is(w, "then"))
      break;
    if (n == COND_WORDS_MAX)
      return fail(why, whylen, "the condition is longer than 32 words");
    cond[n++] = w;
  }
  if (n == 0)
    return fail(why, whylen, "no condition between \"if\" and \"then\"");

  const char *action = pos;
  while (*action != '\0' &&
         (isspace((unsigned char)*action) || *action == ',' || *action == ':'))
    action++;
  size_t len = strlen(action);
  while (len > 0 && isspace((unsigned char)action[len - 1]))
    len--;
  if (len == 0)
    return fail(why, whylen, "no action after \"then\"");
  if (len > CAIRN_IFTHEN_ACTION_MAX)
    return fail(why, whylen, "the action is longer than 255 bytes");

  cairn_ifthen rule;
  memset(&rule, 0, sizeof rule);
  int rc = parse_condition(cond, n, &rule, why, whylen);
  if (rc != 0)
    return rc;
  memcpy(rule.action, action, len);
  rule.action[len] = '\0';
  *out = rule;
  return 0;
}

int cairn_progress_ifthen_fires(const cairn_ifthen *rule,
                                const cairn_milestone_params *p,
                                const cairn_point *pts, size_t n,
                                const cairn_progress *prog, int32_t today) {
  switch (rule->cond) {
  case CAIRN_IF_MISSES_TARGET:
    if (rule->count < 1 || n < (size_t)rule->count)
      return 0;
    for (size_t i = n - (size_t)rule->count; i < n; i++)
      if (meets_target(p, pts[i].value))
        return 0;
    return 1;
  case CAIRN_IF_BELOW:
    return n > 0 && pts[n - 1].value < rule->threshold;
  case CAIRN_IF_ABOVE:
    return n > 0 && pts[n - 1].value > rule->threshold;
  case CAIRN_IF_RED:
    return prog->light == CAIRN_LIGHT_RED;
  case CAIRN_IF_YELLOW:
    return prog->light == CAIRN_LIGHT_YELLOW || prog->light == CAIRN_LIGHT_RED;
  case CAIRN_IF_WRONG_SIDE: {
    int need = rule->count > 0 ? rule->count : p->wrong_side_n;
    return prog->points > 0 && prog->wrong_side_run >= need;
  }
  case CAIRN_IF_NO_EVIDENCE: {
    int64_t since = n > 0 ? pts[n - 1].day : p->start;
    return (int64_t)today - since > rule->count;
  }
  }
  return 0;
}
