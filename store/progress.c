/*
 * progress.c: progress level, traffic light or result, trend, due review,
 * the sentences that explain them, and if/then rules, as documented in
 * progress.h.
 */
#include "progress.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "text.h"

void cairn_progress_params_defaults(cairn_milestone_params *p) {
  p->wrong_side_n = 4;
  p->trend_points = 6;
  p->developing_at = 0.25;
  p->exceed_margin = 0.10;
  p->offtrack_cadence_days = 14;
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...) {
  if (why != NULL && whylen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
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
    if (p->goal == CAIRN_GOAL_REACH &&
        (p->target - p->baseline) * p->direction < 0)
      return fail(why, whylen,
                  "target: %g is behind the baseline %g for direction %s "
                  "(to hold a value, use direction %s)",
                  p->target, p->baseline, p->direction > 0 ? "up" : "down",
                  p->direction > 0 ? "at-least" : "at-most");
  }
  if (!(p->rule_k == 0 && p->rule_n == 0) &&
      !(p->rule_k >= 1 && p->rule_k <= p->rule_n))
    return fail(why, whylen, "rule: needs 1 <= K <= N (K of the last N)");
  if (p->start > p->end)
    return fail(why, whylen, "timeframe: the start is after the end");
  if (p->cadence_days < 1 || p->offtrack_cadence_days < 1)
    return fail(why, whylen, "cadence: must be at least 1 day");
  if (p->wrong_side_n < 1 || p->wrong_side_n > 50)
    return fail(why, whylen, "wrong_side_n: must be 1 to 50 points");
  if (p->trend_points < 3 || p->trend_points > 50)
    return fail(why, whylen, "trend_points: must be 3 to 50 points");
  if (!(p->developing_at > 0 && p->developing_at <= 1))
    return fail(why, whylen,
                "developing_at: must be above 0 and at most 1 (a share of "
                "the way from the baseline to the target)");
  if (!(p->exceed_margin >= 0 && p->exceed_margin <= 10))
    return fail(why, whylen,
                "exceed_margin: must be 0 to 10 (a share of the distance "
                "from the baseline to the target)");
  return 0;
}

static int dir_of(const cairn_milestone_params *p) {
  return p->direction < 0 ? -1 : 1;
}

/* The milestone's own distance D = |target - b|. */
static double distance_of(const cairn_milestone_params *p, double b) {
  return fabs(p->target - b);
}

/* Tolerance under which two values count as equal: from the milestone's
 * own numbers, never from the scale's nominal span. */
static double eps_of(const cairn_milestone_params *p, double b) {
  double m = fmax(fmax(distance_of(p, b), fabs(p->target)), 1.0);
  return 1e-9 * m;
}

static int meets_target(const cairn_milestone_params *p, double v) {
  return dir_of(p) > 0 ? v >= p->target : v <= p->target;
}

static double aim_at(const cairn_milestone_params *p, double b, int32_t day) {
  if (p->goal == CAIRN_GOAL_MAINTAIN || day >= p->end)
    return p->target;
  if (day <= p->start)
    return b;
  return b + (p->target - b) * ((double)day - p->start) /
                 ((double)p->end - p->start);
}

static int wrong_side(const cairn_milestone_params *p, double b,
                      const cairn_point *pt) {
  return (pt->value - aim_at(p, b, pt->day)) * dir_of(p) < -eps_of(p, b);
}

/* The number of points (sorted by day) observed on or before day. */
static size_t known_by(const cairn_point *pts, size_t n, int32_t day) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pts[mid].day <= day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The last day whose points count as of today: today while the milestone
 * runs, its end once ended, the earlier of its end and the day it was
 * closed once closed. */
static int32_t known_until(const cairn_milestone_params *p, int32_t today,
                           const cairn_progress *out) {
  if (out->closed)
    return p->closed < p->end ? p->closed : p->end;
  return out->ended ? p->end : today;
}

/* The ordinary least squares line of value against day through the m
 * points: its slope per day and the point of means it passes through.
 * Returns 0 when it is undefined (fewer than 3 points, or one day). The
 * one OLS of cairn: the trend and the trend line both come from here. */
static int ols_fit(const cairn_point *pts, size_t m, double *slope, double *mean_day,
                   double *mean_value) {
  if (m < 3)
    return 0;
  double md = 0, mv = 0;
  for (size_t i = 0; i < m; i++) {
    md += pts[i].day;
    mv += pts[i].value;
  }
  md /= (double)m;
  mv /= (double)m;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < m; i++) {
    double dx = pts[i].day - md;
    sxx += dx * dx;
    sxy += dx * (pts[i].value - mv);
  }
  if (sxx <= 0)
    return 0;
  *slope = sxy / sxx;
  *mean_day = md;
  *mean_value = mv;
  return 1;
}

/* OLS slope of the m points, per 7 days. Returns 0 when it is undefined. */
static int trend_per_week(const cairn_point *pts, size_t m, double *slope) {
  double per_day, md, mv;
  if (!ols_fit(pts, m, &per_day, &md, &mv))
    return 0;
  *slope = 7.0 * per_day;
  return 1;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* How many of the n latest points the trend is fitted to. */
static size_t trend_window(const cairn_milestone_params *p, size_t n) {
  return p->trend_points > 0 ? min_size(n, (size_t)p->trend_points) : 0;
}

static size_t rule_k_of(const cairn_milestone_params *p) {
  return p->rule_k > 0 ? (size_t)p->rule_k : 1;
}

static size_t rule_n_of(const cairn_milestone_params *p) {
  return p->rule_n > 0 ? (size_t)p->rule_n : 1;
}

/* Level for n > 0 points; fills the window, its met count and mean. */
static cairn_level level_of(const cairn_milestone_params *p, double b,
                            const cairn_point *pts, size_t n,
                            cairn_progress *out) {
  size_t rule_k = rule_k_of(p);
  size_t w = min_size(n, rule_n_of(p));
  size_t hits = 0;
  double mean = 0;
  for (size_t i = n - w; i < n; i++) {
    hits += (size_t)meets_target(p, pts[i].value);
    mean += pts[i].value;
  }
  mean /= (double)w;
  out->window = (int)w;
  out->met_in_window = (int)hits;
  out->recent_mean = mean;

  int dir = dir_of(p);
  double eps = eps_of(p, b);
  double d = distance_of(p, b);
  if (hits >= rule_k) {
    if (p->goal == CAIRN_GOAL_REACH && d > eps &&
        (mean - p->target) * dir >= p->exceed_margin * d - eps)
      return CAIRN_LEVEL_EXCEEDING;
    return CAIRN_LEVEL_MEETING;
  }
  if (hits > 0)
    return CAIRN_LEVEL_DEVELOPING;
  if (p->goal == CAIRN_GOAL_MAINTAIN)
    return CAIRN_LEVEL_BEGINNING;
  double gap = (p->target - b) * dir;
  double fraction;
  if (gap > eps)
    fraction = (mean - b) * dir / gap;
  else
    fraction = meets_target(p, mean) ? 1.0 : 0.0;
  return fraction >= p->developing_at - 1e-9 ? CAIRN_LEVEL_DEVELOPING
                                             : CAIRN_LEVEL_BEGINNING;
}

static void light_of(const cairn_milestone_params *p, double b, int last_wrong,
                     cairn_progress *out) {
  int dir = dir_of(p);
  double eps = eps_of(p, b);
  if (out->level >= CAIRN_LEVEL_MEETING) {
    out->light = CAIRN_LIGHT_GREEN;
    out->why = CAIRN_WHY_RULE_MET;
  } else if (out->wrong_side_run >= p->wrong_side_n) {
    out->light = CAIRN_LIGHT_RED;
    out->why = CAIRN_WHY_RUN;
  } else if (out->trend_valid && out->trend_per_week * dir < -eps &&
             last_wrong) {
    out->light = CAIRN_LIGHT_RED;
    out->why = CAIRN_WHY_WORSENING;
  } else if (last_wrong) {
    out->light = CAIRN_LIGHT_YELLOW;
    out->why = CAIRN_WHY_LAST;
  } else if (out->trend_valid &&
             out->trend_per_week * dir < 0.5 * out->aim_per_week * dir - eps) {
    out->light = CAIRN_LIGHT_YELLOW;
    out->why = CAIRN_WHY_SLOW;
  } else {
    out->light = CAIRN_LIGHT_GREEN;
    out->why = CAIRN_WHY_ON_TRACK;
  }
}

/* The next review as of today (see "Due review" in progress.h). */
static void review_due(const cairn_milestone_params *p, int32_t today,
                       cairn_progress *out) {
  int32_t last = out->last_review;
  int64_t due;
  out->next_is_check = 0;
  if (out->closed) {
    due = CAIRN_PROGRESS_NO_DAY;
  } else if (out->ended) {
    due = last != CAIRN_PROGRESS_NO_DAY && last >= p->end ? CAIRN_PROGRESS_NO_DAY
                                                          : p->end;
  } else {
    int64_t base = last != CAIRN_PROGRESS_NO_DAY ? last : p->start;
    int cadence = p->cadence_days;
    if (out->light == CAIRN_LIGHT_RED && p->offtrack_cadence_days < cadence)
      cadence = p->offtrack_cadence_days;
    due = base + cadence;
    if (base < p->end && due > p->end)
      due = p->end;
    for (size_t i = 0; p->checks != NULL && i < p->nchecks; i++) {
      if (p->checks[i] > last) { /* NO_DAY is below every day */
        if (p->checks[i] <= due) {
          due = p->checks[i];
          out->next_is_check = 1;
        }
        break;
      }
    }
    if (due > INT32_MAX)
      due = INT32_MAX;
  }
  out->next_review_due = (int32_t)due;
  out->overdue = due != CAIRN_PROGRESS_NO_DAY && today > due;
}

void cairn_progress_compute(const cairn_milestone_params *p,
                            const cairn_point *pts, size_t n,
                            const int32_t *reviews, size_t nreviews,
                            int32_t today, cairn_progress *out) {
  memset(out, 0, sizeof *out);
  out->closed = p->closed_result != CAIRN_RESULT_NONE && today >= p->closed;
  out->ended = today > p->end || out->closed;
  out->last_review = CAIRN_PROGRESS_NO_DAY;
  for (size_t i = 0; reviews != NULL && i < nreviews; i++)
    if (reviews[i] <= today && reviews[i] > out->last_review)
      out->last_review = reviews[i];
  n = pts != NULL ? known_by(pts, n, known_until(p, today, out)) : 0;
  out->points = n;
  out->baseline = p->baseline_pending && n > 0 ? pts[0].value : p->baseline;
  if (p->goal == CAIRN_GOAL_REACH && p->end > p->start && (!p->baseline_pending || n > 0))
    out->aim_per_week = 7.0 * (p->target - out->baseline) / ((double)p->end - p->start);
  if (n == 0) {
    out->level = CAIRN_LEVEL_NOT_STARTED;
    out->light = CAIRN_LIGHT_NONE;
    out->why = CAIRN_WHY_NO_EVIDENCE;
  } else {
    double b = out->baseline;
    const cairn_point *last = &pts[n - 1];
    out->last_value = last->value;
    out->last_day = last->day;
    out->aim_at_last = aim_at(p, b, last->day);
    for (size_t i = n; i > 0 && wrong_side(p, b, &pts[i - 1]); i--)
      out->wrong_side_run++;
    if (!out->ended) {
      size_t m = trend_window(p, n);
      out->trend_valid = trend_per_week(pts + (n - m), m, &out->trend_per_week);
    }
    out->level = level_of(p, b, pts, n, out);
    if (!out->ended)
      light_of(p, b, out->wrong_side_run > 0, out);
  }
  if (out->ended) {
    out->light = CAIRN_LIGHT_NONE;
    out->why = out->closed ? CAIRN_WHY_CLOSED : CAIRN_WHY_ENDED;
    out->result = out->closed                          ? p->closed_result
                  : out->level >= CAIRN_LEVEL_MEETING ? CAIRN_RESULT_MET
                                                      : CAIRN_RESULT_NOT_MET;
  }
  review_due(p, today, out);
}

void cairn_progress_aimline(const cairn_milestone_params *p, const cairn_progress *prog,
                            cairn_progress_line *out) {
  memset(out, 0, sizeof *out);
  if (p->baseline_pending && prog->points == 0)
    return; /* no baseline yet: nothing to draw from */
  double b = prog->baseline;
  out->valid = 1;
  out->from = p->start;
  out->to = p->end;
  out->at_from = aim_at(p, b, p->start);
  out->at_to = aim_at(p, b, p->end);
  out->per_day = p->end > p->start ? (out->at_to - out->at_from) / ((double)p->end - p->start) : 0;
  out->intercept = out->at_from - out->per_day * (double)p->start;
}

void cairn_progress_trend_line(const cairn_milestone_params *p, const cairn_point *pts,
                               size_t n, int32_t today, cairn_progress_line *out) {
  double slope, md, mv;
  memset(out, 0, sizeof *out);
  if (pts == NULL || today > p->end || (p->closed_result != CAIRN_RESULT_NONE && today >= p->closed))
    return; /* an ended or closed milestone has no trend */
  n = known_by(pts, n, today);
  size_t m = trend_window(p, n);
  const cairn_point *fit = pts + (n - m);
  if (!ols_fit(fit, m, &slope, &md, &mv))
    return;
  out->valid = 1;
  out->from = fit[0].day;
  out->to = fit[m - 1].day;
  out->per_day = slope;
  out->intercept = mv - slope * md;
  out->at_from = mv + slope * ((double)out->from - md);
  out->at_to = mv + slope * ((double)out->to - md);
}

const char *cairn_progress_level_words(cairn_level l) {
  switch (l) {
  case CAIRN_LEVEL_NOT_STARTED: return "not started: no evidence yet";
  case CAIRN_LEVEL_BEGINNING: return "beginning: just starting, with early steps toward the goal";
  case CAIRN_LEVEL_DEVELOPING: return "developing: engaged, not yet meeting the goal";
  case CAIRN_LEVEL_MEETING: return "meeting: meeting the goal";
  case CAIRN_LEVEL_EXCEEDING: return "exceeding: going beyond the goal";
  }
  return "unknown";
}

int cairn_progress_cadence_days(const char *name) {
  static const struct {
    const char *name;
    int days;
  } cadences[] = {{"weekly", 7}, {"biweekly", 14}, {"monthly", 30}, {"quarterly", 91}};
  for (size_t i = 0; name != NULL && i < sizeof cadences / sizeof cadences[0]; i++)
    if (strcmp(name, cadences[i].name) == 0)
      return cadences[i].days;
  return 0;
}

int cairn_progress_carry_baseline(const cairn_milestone_params *p, const cairn_point *pts,
                                  size_t n, int32_t today, double *baseline, size_t *used,
                                  int32_t *last_day) {
  cairn_progress prog;
  memset(&prog, 0, sizeof prog);
  prog.closed = p->closed_result != CAIRN_RESULT_NONE && today >= p->closed;
  prog.ended = today > p->end || prog.closed;
  n = pts != NULL ? known_by(pts, n, known_until(p, today, &prog)) : 0;
  size_t w = min_size(n, rule_n_of(p) > 3 ? rule_n_of(p) : 3);
  if (w == 0)
    return 0;
  double mean = 0;
  for (size_t i = n - w; i < n; i++)
    mean += pts[i].value;
  mean /= (double)w;
  if (p->scale_kind == CAIRN_SCALE_COUNT || p->scale_kind == CAIRN_SCALE_YESNO ||
      p->scale_kind == CAIRN_SCALE_LETTER || p->scale_kind == CAIRN_SCALE_LEVELS)
    mean = round(mean);
  *baseline = mean;
  *used = w;
  *last_day = pts[n - 1].day;
  return 1;
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

const char *cairn_progress_result_name(cairn_result r) {
  switch (r) {
  case CAIRN_RESULT_MET: return "met";
  case CAIRN_RESULT_NOT_MET: return "not met";
  case CAIRN_RESULT_REPLACED: return "replaced";
  case CAIRN_RESULT_NONE: break;
  }
  return "";
}

const char *cairn_progress_trend_word(const cairn_milestone_params *p,
                                      const cairn_progress *prog) {
  if (!prog->trend_valid)
    return "";
  double good = prog->trend_per_week * dir_of(p);
  double eps = eps_of(p, prog->baseline);
  return good > eps ? "improving" : good < -eps ? "worsening" : "flat";
}

/* ---- sentences ----------------------------------------------------------- */

/* v with at most `decimals` decimals, trailing zeros dropped. */
static void format_number(double v, int decimals, char *out, size_t outlen) {
  if (!isfinite(v)) {
    snprintf(out, outlen, "-");
    return;
  }
  int len = snprintf(out, outlen, "%.*f", decimals, v);
  if (len <= 0 || (size_t)len >= outlen || strchr(out, '.') == NULL)
    return;
  while (len > 0 && out[len - 1] == '0')
    out[--len] = '\0';
  if (len > 0 && out[len - 1] == '.')
    out[--len] = '\0';
  if (strcmp(out, "-0") == 0)
    snprintf(out, outlen, "0");
}

/* The label of rank v of an ordinal scale, or NULL (not a rank, or no
 * labels). */
static const char *label_of(const cairn_milestone_params *p, double v) {
  if (p->labels == NULL || !(v >= 0) || v >= (double)p->nlabels || v != floor(v))
    return NULL;
  return p->labels[(size_t)v];
}

static void format_on_scale(const cairn_milestone_params *p, double v,
                            int decimals, char *out, size_t outlen) {
  const char *label = label_of(p, v);
  if (p->scale_kind == CAIRN_SCALE_YESNO && (v == 0 || v == 1)) {
    snprintf(out, outlen, "%s", v == 1 ? "yes" : "no");
    return;
  }
  if (label != NULL) {
    snprintf(out, outlen, "%s", label);
    return;
  }
  format_number(v, decimals, out, outlen);
  if (label_of(p, floor(v)) != NULL && label_of(p, floor(v) + 1) != NULL) {
    size_t len = strlen(out);
    snprintf(out + len, outlen - len, ", between %s and %s", label_of(p, floor(v)),
             label_of(p, floor(v) + 1));
    return;
  }
  if (p->scale_kind == CAIRN_SCALE_PERCENT) {
    size_t len = strlen(out);
    if (len + 1 < outlen) {
      out[len] = '%';
      out[len + 1] = '\0';
    }
  }
}

void cairn_progress_format_value(const cairn_milestone_params *p, double v,
                                 char *out, size_t outlen) {
  format_on_scale(p, v, 4, out, outlen);
}

/* Appends to out (NUL-terminated, outlen bytes) as printf would. */
static void append(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t outlen, const char *fmt, ...) {
  size_t len = strnlen(out, outlen);
  if (len + 1 >= outlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out + len, outlen - len, fmt, ap);
  va_end(ap);
}

/* " in K of the last N points", or for 1 of 1 " on the last point". */
static void append_rule(const cairn_milestone_params *p, char *out,
                        size_t outlen) {
  size_t k = rule_k_of(p), n = rule_n_of(p);
  if (n == 1)
    append(out, outlen, p->goal == CAIRN_GOAL_MAINTAIN
                            ? ", judged on the last point"
                            : " on the last point");
  else
    append(out, outlen, " in %zu of the last %zu points", k, n);
}

void cairn_progress_describe_goal(const cairn_milestone_params *p, char *out,
                                  size_t outlen) {
  char tv[CAIRN_PROGRESS_VALUE_MAX];
  if (outlen == 0)
    return;
  out[0] = '\0';
  cairn_progress_format_value(p, p->target, tv, sizeof tv);
  int up = dir_of(p) > 0;
  int ordinal = p->scale_kind == CAIRN_SCALE_LETTER || p->scale_kind == CAIRN_SCALE_LEVELS;
  const char *more = ordinal                             ? (up ? "or higher" : "or lower")
                     : up                                ? "or more"
                     : p->scale_kind == CAIRN_SCALE_COUNT ? "or fewer"
                                                          : "or less";
  if (p->scale_kind == CAIRN_SCALE_YESNO)
    append(out, outlen, "%s %s", p->goal == CAIRN_GOAL_MAINTAIN ? "stay at" : "target",
           tv);
  else if (p->goal == CAIRN_GOAL_MAINTAIN)
    append(out, outlen, "stay at %s %s", tv, more);
  else
    append(out, outlen, "target %s %s", tv, more);
  append_rule(p, out, outlen);
}

/* "below" when higher is better, "above" when lower is better. */
static const char *wrong_word(const cairn_milestone_params *p) {
  return dir_of(p) > 0 ? "below" : "above";
}

/* "the aimline", or "the target" for a goal to maintain. */
static const char *line_word(const cairn_milestone_params *p) {
  return p->goal == CAIRN_GOAL_MAINTAIN ? "the target" : "the aimline";
}

static void format_trend(double t, char *out, size_t outlen) {
  snprintf(out, outlen, "%+.2f/week", t);
  if (strncmp(out, "-0.00", 5) == 0)
    out[0] = '+';
}

/* "4 of the last 5 points meet the target", or for one point "the last
 * point meets the target" / "misses the target". */
static void append_met(const cairn_progress *prog, char *out, size_t outlen) {
  if (prog->window == 1)
    append(out, outlen, "the last point %s the target",
           prog->met_in_window > 0 ? "meets" : "misses");
  else
    append(out, outlen, "%d of the last %d points meet the target", prog->met_in_window,
           prog->window);
}

void cairn_progress_explain(const cairn_milestone_params *p,
                            const cairn_progress *prog, char *out,
                            size_t outlen) {
  char v[CAIRN_PROGRESS_VALUE_MAX], aim[CAIRN_PROGRESS_VALUE_MAX], t[32], aimt[32], day[11];
  if (outlen == 0)
    return;
  out[0] = '\0';
  cairn_progress_format_value(p, prog->last_value, v, sizeof v);
  format_on_scale(p, prog->aim_at_last, 2, aim, sizeof aim);
  format_trend(prog->trend_per_week, t, sizeof t);
  format_trend(prog->aim_per_week, aimt, sizeof aimt);
  switch (prog->why) {
  case CAIRN_WHY_NO_EVIDENCE:
    append(out, outlen, "no evidence yet");
    break;
  case CAIRN_WHY_ENDED:
    cairn_text_date_format(p->end, day);
    if (prog->points == 0) {
      append(out, outlen, "ended on %s with no evidence: not met", day);
      break;
    }
    append(out, outlen, "ended on %s: %s, ", day, cairn_progress_result_name(prog->result));
    append_met(prog, out, outlen);
    if (prog->result != CAIRN_RESULT_MET && prog->window > 1)
      append(out, outlen, " (%zu needed)", rule_k_of(p));
    break;
  case CAIRN_WHY_CLOSED:
    cairn_text_date_format(p->closed, day);
    append(out, outlen, "closed on %s: %s", day, cairn_progress_result_name(prog->result));
    if (prog->result == CAIRN_RESULT_REPLACED)
      append(out, outlen, " by another milestone");
    if (prog->points == 0) {
      append(out, outlen, "; no evidence");
      break;
    }
    append(out, outlen, "; ");
    append_met(prog, out, outlen);
    break;
  case CAIRN_WHY_RULE_MET:
    append(out, outlen, "the target rule is met: ");
    append_met(prog, out, outlen);
    if (prog->level == CAIRN_LEVEL_EXCEEDING) {
      format_on_scale(p, prog->recent_mean, 2, v, sizeof v);
      append(out, outlen, ", and their mean, %s, is beyond it by the exceeding margin", v);
    }
    break;
  case CAIRN_WHY_RUN:
    if (prog->wrong_side_run == 1)
      append(out, outlen, "the last point is %s %s", wrong_word(p), line_word(p));
    else
      append(out, outlen, "the last %d points are %s %s", prog->wrong_side_run,
             wrong_word(p), line_word(p));
    append(out, outlen, " (%d in a row turns red)", p->wrong_side_n);
    break;
  case CAIRN_WHY_WORSENING:
    append(out, outlen, "the trend is worsening (%s) and the last point, %s, is %s %s (%s)",
           t, v, wrong_word(p), line_word(p), aim);
    break;
  case CAIRN_WHY_LAST:
    if (prog->wrong_side_run > 1)
      append(out, outlen, "the last %d points are %s %s (%d in a row turns red)",
             prog->wrong_side_run, wrong_word(p), line_word(p), p->wrong_side_n);
    else
      append(out, outlen, "the last point, %s, is %s %s (%s)", v, wrong_word(p),
             line_word(p), aim);
    break;
  case CAIRN_WHY_SLOW:
    if (p->goal == CAIRN_GOAL_MAINTAIN)
      append(out, outlen, "the trend is worsening (%s) toward the target", t);
    else
      append(out, outlen, "the trend, %s, is under half of what the aimline needs (%s)",
             t, aimt);
    break;
  case CAIRN_WHY_ON_TRACK:
    append(out, outlen, "the last point, %s, is on or %s %s (%s)", v,
           dir_of(p) > 0 ? "above" : "below", line_word(p), aim);
    break;
  }
}

void cairn_progress_describe_trend(const cairn_milestone_params *p,
                                   const cairn_progress *prog, char *out,
                                   size_t outlen) {
  char t[32];
  if (outlen == 0)
    return;
  out[0] = '\0';
  if (!prog->trend_valid)
    return;
  format_trend(prog->trend_per_week, t, sizeof t);
  append(out, outlen, "%s (%s)", t, cairn_progress_trend_word(p, prog));
  if (p->goal == CAIRN_GOAL_REACH) {
    format_trend(prog->aim_per_week, t, sizeof t);
    append(out, outlen, ", the aimline needs %s", t);
  }
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

static int word_in(word w, const char *const *lits) {
  for (; *lits != NULL; lits++)
    if (word_is(w, *lits))
      return 1;
  return 0;
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
  for (size_t i = 0; i < n; i++)
    if (word_in(ws[i], lits))
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
static int parse_value(word w, double *v, int *percent) {
  char buf[32];
  size_t len = w.len;
  *percent = len > 0 && w.s[len - 1] == '%';
  if (*percent)
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
                        const char *b, cairn_ifthen *rule) {
  for (size_t i = 0; i < n; i++)
    if (word_is(ws[i], a) || word_is(ws[i], b))
      return i + 1 < n &&
                     parse_value(ws[i + 1], &rule->threshold, &rule->percent) == 0
                 ? 1
                 : -1;
  return 0;
}

static int is_miss_word(word w) {
  static const char *const misses[] = {
      "below", "under",  "miss", "misses", "missed", "missing", "fail",
      "fails", "failed", "not",  "no",     "never",  "short",   NULL};
  return word_in(w, misses) || word_ends_with(w, "n't") ||
         word_ends_with(w, "n\xe2\x80\x99t");
}

/* The unit a word names, or -1. */
static int unit_of(word w) {
  static const char *const points[] = {"point", "points", "times", NULL};
  static const char *const days[] = {"day", "days", NULL};
  static const char *const weeks[] = {"week", "weeks", NULL};
  static const char *const checkins[] = {"check-in", "check-ins", "checkin",
                                         "checkins", "check",     "checks",
                                         NULL};
  if (word_in(w, points))
    return CAIRN_IFTHEN_POINTS;
  if (word_in(w, days))
    return CAIRN_IFTHEN_DAYS;
  if (word_in(w, weeks))
    return CAIRN_IFTHEN_WEEKS;
  if (word_in(w, checkins))
    return CAIRN_IFTHEN_CHECKINS;
  return -1;
}

/* Reads "how long" (progress.h) into rule->count and rule->unit. Returns 0
 * or CAIRN_EINVAL with why. */
static int parse_how_long(const word *ws, size_t n, cairn_ifthen *rule,
                          char *why, size_t whylen) {
  size_t at = n;
  for (size_t i = 0; i < n; i++) {
    int u = unit_of(ws[i]);
    if (u < 0 || (i > 0 && word_is(ws[i - 1], "per")))
      continue;
    if (at < n && (int)rule->unit != u)
      return fail(why, whylen, "name one unit: weeks, days, check-ins or "
                               "points, not two");
    if (at == n) {
      at = i;
      rule->unit = (cairn_ifthen_unit)u;
    }
  }
  int consecutive = has_word(ws, n, "consecutive");
  rule->count = 1;
  if (at == n) {
    rule->unit = CAIRN_IFTHEN_POINTS;
    if (consecutive && (rule->count = count_before(ws, n, "consecutive")) < 0)
      return fail(why, whylen, "say how many: \"for two consecutive weeks\"");
    return 0;
  }
  int c = at > 0 ? parse_count(ws[at - 1]) : -1;
  if (c < 0 && at > 1 && word_is(ws[at - 1], "consecutive"))
    c = parse_count(ws[at - 2]);
  if (c < 0 && consecutive)
    return fail(why, whylen, "say how many: \"for two consecutive weeks\"");
  rule->count = c > 0 ? c : 1;
  return 0;
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
    int rc = parse_how_long(ws, n, rule, why, whylen);
    if (rc != 0)
      return rc;
    if (rule->unit != CAIRN_IFTHEN_POINTS)
      return fail(why, whylen, "the aimline rule counts points: \"4 "
                               "consecutive points below the aimline\"");
    if (!has_word(ws, n, "consecutive"))
      rule->count = 0; /* the milestone's wrong_side_n */
    return 0;
  }

  if (has_any(ws, n, evidence) && has_word(ws, n, "no")) {
    int rc = parse_how_long(ws, n, rule, why, whylen);
    if (rc != 0)
      return rc;
    if (rule->unit != CAIRN_IFTHEN_DAYS && rule->unit != CAIRN_IFTHEN_WEEKS)
      return fail(why, whylen, "say how long: \"no evidence for 10 days\"");
    rule->cond = CAIRN_IF_NO_EVIDENCE;
    rule->count *= rule->unit == CAIRN_IFTHEN_WEEKS ? 7 : 1;
    rule->unit = CAIRN_IFTHEN_DAYS;
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
    return parse_how_long(ws, n, rule, why, whylen);
  }

  int below = number_after(ws, n, "below", "under", rule);
  if (below != 0) {
    if (below < 0)
      return fail(why, whylen, "expected a number after \"below\"");
    rule->cond = CAIRN_IF_BELOW;
    return parse_how_long(ws, n, rule, why, whylen);
  }
  int above = number_after(ws, n, "above", "over", rule);
  if (above != 0) {
    if (above < 0)
      return fail(why, whylen, "expected a number after \"above\"");
    rule->cond = CAIRN_IF_ABOVE;
    return parse_how_long(ws, n, rule, why, whylen);
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
    return fail(why, whylen, "%s", form);

  word cond[COND_WORDS_MAX];
  size_t n = 0;
  for (;;) {
    if (!next_word(&pos, &w))
      return fail(why, whylen, "no \"then\": %s", form);
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

int cairn_progress_ifthen_check(const cairn_ifthen *rule,
                                const cairn_milestone_params *p, char *why,
                                size_t whylen) {
  if (rule->cond != CAIRN_IF_BELOW && rule->cond != CAIRN_IF_ABOVE)
    return 0;
  const char *op = rule->cond == CAIRN_IF_BELOW ? "below" : "above";
  char x[48], lo[48], hi[48], scale[100];
  format_number(rule->threshold, 4, x, sizeof x);
  format_number(p->scale_min, 4, lo, sizeof lo);
  format_number(p->scale_max, 4, hi, sizeof hi);
  if (p->scale_kind == CAIRN_SCALE_COUNT)
    snprintf(scale, sizeof scale, "count (whole numbers from 0)");
  else if (p->scale_kind == CAIRN_SCALE_YESNO)
    snprintf(scale, sizeof scale, "yesno (0 or 1)");
  else
    snprintf(scale, sizeof scale, "%s-%s", lo, hi);
  if (rule->percent && !(p->scale_min == 0 && p->scale_max == 100))
    return fail(why, whylen, "%s %s%%: a percentage on the scale %s, which "
                "is not 0-100", op, x, scale);
  if (!within_scale(p, rule->threshold))
    return fail(why, whylen, "%s %s%s is off the scale %s", op, x,
                rule->percent ? "%" : "", scale);
  if ((rule->cond == CAIRN_IF_BELOW && rule->threshold <= p->scale_min) ||
      (rule->cond == CAIRN_IF_ABOVE && rule->threshold >= p->scale_max))
    return fail(why, whylen, "%s %s%s can never happen on the scale %s", op,
                x, rule->percent ? "%" : "", scale);
  return 0;
}

/* Whether the points pts[lo..hi] (one period) hold the rule's condition:
 * for the target, fewer than K/N of them meet it; for below / above X,
 * their mean is below / above X. */
static int period_holds(const cairn_ifthen *rule,
                        const cairn_milestone_params *p,
                        const cairn_point *pts, size_t lo, size_t hi) {
  size_t m = hi - lo + 1, hits = 0;
  double mean = 0;
  for (size_t i = lo; i <= hi; i++) {
    hits += (size_t)meets_target(p, pts[i].value);
    mean += pts[i].value;
  }
  mean /= (double)m;
  switch (rule->cond) {
  case CAIRN_IF_MISSES_TARGET:
    return hits * rule_n_of(p) < rule_k_of(p) * m;
  case CAIRN_IF_BELOW:
    return mean < rule->threshold;
  case CAIRN_IF_ABOVE:
    return mean > rule->threshold;
  default:
    return 0;
  }
}

/* Period i of the rule's unit (weeks, days, check-ins): its first and last
 * day. Returns 0 when there is no such period. */
static int period_range(const cairn_milestone_params *p, cairn_ifthen_unit unit,
                        int64_t i, int64_t *from, int64_t *to) {
  switch (unit) {
  case CAIRN_IFTHEN_WEEKS:
    *from = (int64_t)p->start + 7 * i;
    *to = *from + 6 < p->end ? *from + 6 : p->end;
    return i >= 0 && *from <= p->end;
  case CAIRN_IFTHEN_CHECKINS:
    if (i < 0 || (size_t)i >= p->nchecks)
      return 0;
    *from = i == 0 ? INT32_MIN : (int64_t)p->checks[i - 1] + 1;
    *to = p->checks[i];
    return 1;
  default: /* days */
    *from = *to = i;
    return 1;
  }
}

/* The period of the rule's unit holding day, or -1 when none does. */
static int64_t period_of(const cairn_milestone_params *p,
                         cairn_ifthen_unit unit, int32_t day) {
  switch (unit) {
  case CAIRN_IFTHEN_WEEKS:
    return day >= p->start && day <= p->end ? (day - (int64_t)p->start) / 7 : -1;
  case CAIRN_IFTHEN_CHECKINS:
    for (size_t i = 0; i < p->nchecks; i++)
      if (day <= p->checks[i])
        return (int64_t)i;
    return -1;
  default:
    return day;
  }
}

/* The rule's count of periods (weeks, days, check-ins) in a row holding its
 * condition, counted back from the latest that has ended by today and
 * holds evidence (progress.h), reaching count at most. m points. */
static int periods_in_a_row(const cairn_ifthen *rule,
                            const cairn_milestone_params *p,
                            const cairn_point *pts, size_t m, int32_t today) {
  cairn_ifthen_unit unit = rule->unit;
  size_t j = m; /* the points before j are still to look at */
  int64_t i = -1, from = 0, to = 0;
  while (j > 0) {
    i = period_of(p, unit, pts[j - 1].day);
    if (i >= 0 && period_range(p, unit, i, &from, &to) && to <= today)
      break;
    j--;
    while (i >= 0 && j > 0 && pts[j - 1].day >= from)
      j--; /* the rest of a period not over yet */
    i = -1;
  }
  int run = 0;
  while (i >= 0 && j > 0 && pts[j - 1].day >= from && pts[j - 1].day <= to) {
    size_t hi = j - 1, lo = hi;
    while (lo > 0 && pts[lo - 1].day >= from)
      lo--;
    if (!period_holds(rule, p, pts, lo, hi) || ++run >= rule->count)
      break;
    j = lo;
    if (!period_range(p, unit, --i, &from, &to))
      break;
  }
  return run;
}

int cairn_progress_ifthen_fires(const cairn_ifthen *rule,
                                const cairn_milestone_params *p,
                                const cairn_point *pts, size_t n,
                                const cairn_progress *prog, int32_t today) {
  if (today > p->end || prog->closed)
    return 0;
  size_t m = pts != NULL ? known_by(pts, n, today) : 0;
  switch (rule->cond) {
  case CAIRN_IF_MISSES_TARGET:
  case CAIRN_IF_BELOW:
  case CAIRN_IF_ABOVE:
    if (rule->count < 1)
      return 0;
    if (rule->unit == CAIRN_IFTHEN_POINTS ||
        (rule->unit == CAIRN_IFTHEN_CHECKINS && p->nchecks == 0)) {
      if (m < (size_t)rule->count)
        return 0;
      for (size_t i = m - (size_t)rule->count; i < m; i++)
        if (!period_holds(rule, p, pts, i, i))
          return 0;
      return 1;
    }
    return periods_in_a_row(rule, p, pts, m, today) >= rule->count;
  case CAIRN_IF_RED:
    return prog->light == CAIRN_LIGHT_RED;
  case CAIRN_IF_YELLOW:
    return prog->light == CAIRN_LIGHT_YELLOW || prog->light == CAIRN_LIGHT_RED;
  case CAIRN_IF_WRONG_SIDE: {
    int need = rule->count > 0 ? rule->count : p->wrong_side_n;
    return prog->points > 0 && prog->wrong_side_run >= need;
  }
  case CAIRN_IF_NO_EVIDENCE: {
    int64_t since = m > 0 ? pts[m - 1].day : p->start;
    return (int64_t)today - since > rule->count;
  }
  }
  return 0;
}
