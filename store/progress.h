/*
 * progress.h: what cairn derives from a milestone's evidence (progress
 * level, traffic light, trend, due review) and the planned if/then supports.
 *
 * Pure functions over plain values: no LMDB, no sockets, no globals, no
 * allocation. Days are day numbers (days since 1970-01-01); values are on the
 * milestone's scale. Pointers passed in are borrowed for the call only.
 *
 * THE RULES (the documented thresholds; every number below is a field of
 * cairn_milestone_params, defaults from cairn_progress_params_defaults()).
 *
 * Words.
 *   dir           +1 when higher is better, -1 when lower is better.
 *   span          scale_max - scale_min.
 *   b             the baseline; with baseline_pending, the first point's value.
 *   meets target  value >= target (dir +1) or value <= target (dir -1).
 *   rule K of N   rule_k of rule_n; rule_k or rule_n <= 0 means 1 of 1.
 *   window        the last min(n, N) points; "recent mean" is their mean.
 *   on the line   within eps = 1e-9 * max(span, 1) counts as on the line.
 *
 * Aimline: straight from (start, b) to (end, target); before start it is b,
 *   from end on it stays at target. A point is on the wrong side when
 *   (value - aim(day)) * dir < -eps: below the line when higher is better,
 *   above it when lower is better. wrong_side_run counts the consecutive
 *   most recent points on the wrong side.
 *
 * Trend: ordinary least squares slope of value against day over the last
 *   min(n, trend_points) points, times 7 (scale units per week). Valid only
 *   with at least 3 points whose days are not all equal.
 *
 * Level (first rule that holds):
 *   not started  no evidence (n == 0).
 *   exceeding    meeting, and (recent mean - target) * dir
 *                >= exceed_margin * span - eps.
 *   meeting      n >= K and at least K points of the window meet the target.
 *   developing   a point of the window meets the target, or the recent mean
 *                has come developing_at of the way from b to the target:
 *                (mean - b) * dir / ((target - b) * dir) >= developing_at
 *                (within 1e-9).
 *                When the target is not beyond b in the good direction
 *                (target == b) that fraction is 1 if the mean meets the
 *                target, else 0.
 *   beginning    otherwise.
 *
 * Light (first rule that holds; `why` names it):
 *   none    no evidence.
 *   green   level is meeting or exceeding.
 *   red     wrong_side_run >= wrong_side_n.
 *   red     the trend is valid and moves away from the target
 *           (trend * dir < -eps) and the last point is on the wrong side.
 *   yellow  the last point is on the wrong side.
 *   yellow  the trend is valid and slower than half the aimline's pace:
 *           trend * dir < 0.5 * aim_per_week * dir - eps.
 *   green   otherwise: on track with the aimline.
 *
 * Due review: from the last review (or from start when there has been none)
 *   add the cadence: cadence_days, or offtrack_cadence_days when the light is
 *   red and that is shorter. The due day is never later than end, unless the
 *   last review was on or after end (the timeframe's closing review is done;
 *   reviews then go on by cadence until the milestone is changed).
 *   overdue = today > next_review_due.
 */
#ifndef CAIRN_PROGRESS_H
#define CAIRN_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* One active evidence entry. Arrays of points are sorted by day ascending;
 * points on the same day keep the order they were given. */
typedef struct cairn_point {
  int32_t day;
  double value;
} cairn_point;

typedef enum {
  CAIRN_LEVEL_NOT_STARTED,
  CAIRN_LEVEL_BEGINNING,
  CAIRN_LEVEL_DEVELOPING,
  CAIRN_LEVEL_MEETING,
  CAIRN_LEVEL_EXCEEDING
} cairn_level;

typedef enum {
  CAIRN_LIGHT_NONE,
  CAIRN_LIGHT_GREEN,
  CAIRN_LIGHT_YELLOW,
  CAIRN_LIGHT_RED
} cairn_light;

typedef struct cairn_milestone_params {
  double scale_min, scale_max;
  int direction;         /* +1: higher is better; -1: lower is better */
  int baseline_pending;  /* 1: no baseline yet; the first point stands in */
  double baseline, target;
  int rule_k, rule_n;    /* target met in K of the last N points; 0/0 = 1 of 1 */
  int32_t start, end;    /* timeframe, start <= end */
  int cadence_days;      /* 7 weekly, 14 biweekly, 30 monthly, 91 quarterly */
  /* Thresholds, settable per milestone (see THE RULES above). */
  int wrong_side_n;          /* default 4 */
  int trend_points;          /* default 6 */
  double developing_at;      /* default 0.25 */
  double exceed_margin;      /* default 0.10 */
  int offtrack_cadence_days; /* default 14 */
} cairn_milestone_params;

/* Sets the five thresholds of *p to their defaults (4, 6, 0.25, 0.10, 14)
 * and leaves every other field as it was. */
void cairn_progress_params_defaults(cairn_milestone_params *p);

/* Returns 0 when *p is a milestone cairn can reason about, else CAIRN_EINVAL
 * with a one-line reason naming the field written to why (truncated to
 * whylen; why may be NULL). Checks: scale_min < scale_max; direction +1 or
 * -1; target (and baseline unless pending) within the scale; the target not
 * behind the baseline in the good direction; rule 0/0 or 1 <= K <= N;
 * start <= end; cadences >= 1; wrong_side_n >= 1; trend_points >= 3;
 * 0 < developing_at <= 1; exceed_margin >= 0. */
int cairn_progress_params_check(const cairn_milestone_params *p, char *why,
                                size_t whylen);

typedef struct cairn_progress {
  cairn_level level;
  cairn_light light;
  size_t points;          /* number of points considered (n) */
  double last_value;      /* valid when points > 0 */
  int32_t last_day;       /* valid when points > 0 */
  int trend_valid;        /* 1 when trend_per_week is meaningful */
  double trend_per_week;  /* OLS slope over the recent points, per 7 days */
  double aim_per_week;    /* aimline slope per 7 days (0 when start == end) */
  double aim_at_last;     /* aimline value at last_day */
  int wrong_side_run;     /* consecutive most recent points on the wrong side */
  int met_in_window;      /* how many points of the window meet the target */
  int32_t next_review_due;
  int overdue;            /* today > next_review_due */
  const char *why;        /* static English sentence explaining the light */
} cairn_progress;

/* Fills *out from the milestone *p and its n active points (pts sorted by
 * day; may be NULL when n == 0). last_review_day is -1 when there has been
 * no review yet. With n == 0 only level (not started), light (none), why,
 * points, next_review_due and overdue are set; the rest is zero.
 * *p should pass cairn_progress_params_check(); other values give a
 * meaningless but memory-safe result. Never fails. */
void cairn_progress_compute(const cairn_milestone_params *p,
                            const cairn_point *pts, size_t n,
                            int32_t last_review_day, int32_t today,
                            cairn_progress *out);

/* Returns "not started", "beginning", "developing", "meeting" or
 * "exceeding"; "unknown" for any other value. Static storage. */
const char *cairn_progress_level_name(cairn_level l);

/* Returns "none", "green", "yellow" or "red"; "unknown" for any other
 * value. Static storage. */
const char *cairn_progress_light_name(cairn_light l);

/*
 * IF/THEN SUPPORT RULES
 *
 * Text: "if CONDITION, then ACTION". Case-insensitive; the comma is
 * optional, "if" must come first and "then" is required. ACTION is the text
 * after the first word "then", trimmed, at most 255 bytes, kept as written.
 * CONDITION is read by its key words; other words around them ("a student",
 * "scores", "is", "falls", "drops", "on the next check-in" ...) are ignored.
 * A condition holds one test: "and" / "or" are refused. Counts N are digits
 * or the words one..ten. The tests, tried in this order:
 *
 *   names "aimline"                      CAIRN_IF_WRONG_SIDE: wrong_side_run
 *     "wrong side of the aimline"        >= N; N from "N consecutive ...",
 *     "N consecutive points below ..."   else the milestone's wrong_side_n.
 *   "no evidence|data for|in N days"     CAIRN_IF_NO_EVIDENCE: today minus
 *     (or N weeks = 7N days)             the last point's day (start when
 *                                        none) > N days.
 *   names "target(s)" with a miss word   CAIRN_IF_MISSES_TARGET: the last N
 *     (below, under, miss(es/ed), fail,  points all miss the target; N from
 *     not, no, short, aren't, isn't...)  "for N consecutive weeks|points|
 *                                        check-ins|days", else 1.
 *   "below|under X" / "above|over X"     CAIRN_IF_BELOW / CAIRN_IF_ABOVE: the
 *     X a number, "92%" reads as 92     last value < X / > X, X on the
 *     (percent scales run 0-100)         milestone's scale.
 *   "red" / "off track"                  CAIRN_IF_RED: the light is red.
 *   "yellow"                             CAIRN_IF_YELLOW: yellow or red.
 *
 * E.g. "If a student scores below the target on the next check-in, then add
 * a 20-minute small-group session twice weekly." is MISSES_TARGET with N 1.
 */
typedef enum {
  CAIRN_IF_MISSES_TARGET,
  CAIRN_IF_BELOW,
  CAIRN_IF_ABOVE,
  CAIRN_IF_RED,
  CAIRN_IF_YELLOW,
  CAIRN_IF_WRONG_SIDE,
  CAIRN_IF_NO_EVIDENCE
} cairn_ifthen_cond;

#define CAIRN_IFTHEN_ACTION_MAX 255

typedef struct cairn_ifthen {
  cairn_ifthen_cond cond;
  double threshold;  /* CAIRN_IF_BELOW / CAIRN_IF_ABOVE: the value X */
  int count;         /* MISSES_TARGET: points; WRONG_SIDE: run (0 = the
                        milestone's wrong_side_n); NO_EVIDENCE: days */
  char action[CAIRN_IFTHEN_ACTION_MAX + 1]; /* NUL-terminated */
} cairn_ifthen;

/* Parses one rule from the NUL-terminated text into *out. Returns 0, or
 * CAIRN_EINVAL with a one-line reason in why (truncated to whylen; why may
 * be NULL) and *out untouched. */
int cairn_progress_ifthen_parse(const char *text, cairn_ifthen *out,
                                char *why, size_t whylen);

/* Returns 1 when the rule's condition holds for the milestone *p, its n
 * points and *prog (computed by cairn_progress_compute() from the same
 * points), on day today; else 0. */
int cairn_progress_ifthen_fires(const cairn_ifthen *rule,
                                const cairn_milestone_params *p,
                                const cairn_point *pts, size_t n,
                                const cairn_progress *prog, int32_t today);

#endif
