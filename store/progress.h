/*
 * progress.h: what cairn derives from a milestone's evidence (progress
 * level, traffic light or result, trend, due review) and the planned if/then
 * supports, and the sentences that say why.
 *
 * Pure functions over plain values: no LMDB, no sockets, no globals, no
 * allocation. Days are day numbers (days since 1970-01-01); values are on the
 * milestone's scale. Pointers passed in are borrowed for the call only.
 *
 * THE RULES (the documented thresholds; every number below is a field of
 * cairn_milestone_params, defaults from cairn_progress_params_defaults()).
 *
 * As of a day. Everything is computed as of a day `today` (the request's
 * as-of day): a point observed after it, and a review dated after it, are
 * not known yet and are left out. (A later amendment or retraction of a
 * point observed before it does count: the current value is used.)
 *
 * Goals. A milestone either moves a value to its target (direction up:
 * raise it, e.g. a rubric score 1.5 -> 3; direction down: lower it, e.g.
 * off-task prompts 7 -> 2), or maintains one (direction at-least: stay at
 * or above the target, e.g. attendance at least 95 from a baseline of 97;
 * at-most: stay at or below it).
 *
 * Words.
 *   dir           +1 when higher is better (up, at-least), -1 when lower is
 *                 better (down, at-most).
 *   b             the baseline; with baseline_pending, the first point's value.
 *   D             the milestone's own distance, |target - b|: the yardstick
 *                 for the margins below. Never the scale's span: a `count`
 *                 scale has no real maximum.
 *   eps           1e-9 * max(D, |target|, 1): a float tolerance only. A value
 *                 more than eps on the wrong side of a line is on the wrong
 *                 side.
 *   meets target  value >= target (dir +1) or value <= target (dir -1).
 *   rule K of N   rule_k of rule_n; rule_k or rule_n <= 0 means 1 of 1.
 *   points        the points observed on or before today (and, once the
 *                 milestone has ended, on or before its end); n of them.
 *   window        the last min(n, N) points; "recent mean" is their mean.
 *   ended         today > end.
 *
 * Aimline: for a goal to reach, straight from (start, b) to (end, target);
 *   before start it is b, from end on it stays at target. For a goal to
 *   maintain, the target itself, flat. A point is on the wrong side when
 *   (value - aim(day)) * dir < -eps: below the line when higher is better,
 *   above it when lower is better. wrong_side_run counts the consecutive
 *   most recent points on the wrong side.
 *
 * Trend: ordinary least squares slope of value against day over the last
 *   min(n, trend_points) points, times 7 (scale units per week). Valid only
 *   with at least 3 points whose days are not all equal, and only while the
 *   milestone runs. It is improving when trend * dir > eps, worsening when
 *   trend * dir < -eps, else flat: a falling tally is improving.
 *
 * Level (first rule that holds):
 *   not started  no evidence (n == 0).
 *   exceeding    meeting, a goal to reach with D > 0, and
 *                (recent mean - target) * dir >= exceed_margin * D - eps:
 *                beyond the target by that share of the way from the
 *                baseline. A goal to maintain, or one whose target equals
 *                its baseline, tops out at meeting.
 *   meeting      n >= K and at least K points of the window meet the target.
 *   developing   a point of the window meets the target, or (a goal to
 *                reach) the recent mean has come developing_at of the way
 *                from b to the target:
 *                (mean - b) * dir / ((target - b) * dir) >= developing_at
 *                (within 1e-9). When the target is not beyond b in the good
 *                direction that fraction is 1 if the mean meets the target,
 *                else 0.
 *   beginning    otherwise.
 *
 * Light while the milestone runs (first rule that holds; `why` names it):
 *   none    no evidence.
 *   green   level is meeting or exceeding.
 *   red     wrong_side_run >= wrong_side_n.
 *   red     the trend is valid and worsening (trend * dir < -eps), and the
 *           last point is on the wrong side.
 *   yellow  the last point is on the wrong side.
 *   yellow  the trend is valid and slower than half the aimline's pace:
 *           trend * dir < 0.5 * aim_per_week * dir - eps (for a goal to
 *           maintain the aimline's pace is 0: any worsening trend).
 *   green   otherwise: on track with the aimline.
 *
 * Result after the end: once ended, a milestone has no light (none) and no
 *   trend; its result is met when its level, from the points observed on
 *   or before the end, is meeting or exceeding, else not met (also with no
 *   evidence at all). No if/then rule fires after the end.
 *
 * Closed: a teacher may close a milestone on a day C with a result: met,
 *   not met, or replaced by another milestone. As of any day on or after
 *   C it has ended with that result, whatever the points say: no light, no
 *   trend, nothing due, no if/then rule fires; its level and the counts
 *   ("4 of the last 5 points meet the target") come from the points
 *   observed on or before the earlier of C and its end. As of a day before
 *   C it is computed as if it were open.
 *
 * Ordinal scales (letter grades F, D, C, B, A; named levels such as
 *   beginning, approaching, meeting, exceeding): each label is its rank,
 *   0 for the lowest, and everything above is computed on the ranks: the
 *   mean of B and A is 3.5, between them; a trend of +0.5/week is half a
 *   level a week. Values print as their labels; a value between two ranks
 *   prints as "3.5, between B and A".
 *
 * Carry forward: a milestone carried forward from another takes as its
 *   baseline the mean of the old milestone's last min(n, max(N, 3))
 *   points, N its rule's N, observed on or before the earlier of today,
 *   its end and the day it was closed; on a scale of whole numbers (count,
 *   yes/no, letter, levels) rounded to the nearest whole number (halves
 *   away from zero). With no such point its baseline is pending.
 *
 * Due review: the last review is the latest dated on or before today (the
 *   start when there has been none). While the milestone runs the next
 *   review is the earlier of
 *     - the cadence: last review + cadence_days, or + offtrack_cadence_days
 *       when the light is red and that is shorter; never later than end;
 *     - the first check date (`checks`) after the last review: a check date
 *       is done once a review is dated on or after it.
 *   Once ended, the closing review is due on the end day until a review is
 *   dated on or after it; after that nothing is due (CAIRN_PROGRESS_NO_DAY).
 *   Once closed, nothing is due: closing it was the last decision.
 *   overdue = today > next_review_due.
 */
#ifndef CAIRN_PROGRESS_H
#define CAIRN_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h" /* cairn_scale_kind: how values print (yes/no, percent) */

/* A day that is not there: no review due. */
#define CAIRN_PROGRESS_NO_DAY INT32_MIN

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

typedef enum {
  CAIRN_GOAL_REACH,   /* direction up or down: from the baseline to the target */
  CAIRN_GOAL_MAINTAIN /* direction at-least or at-most: stay on the target's good side */
} cairn_goal;

/* How a milestone ended, when it has: met or not met (by its rule after its
 * end date, or as a teacher closed it), or replaced by another milestone
 * (closed). */
typedef enum {
  CAIRN_RESULT_NONE,   /* still running */
  CAIRN_RESULT_MET,
  CAIRN_RESULT_NOT_MET,
  CAIRN_RESULT_REPLACED /* closed: another milestone took its place */
} cairn_result;

typedef struct cairn_milestone_params {
  double scale_min, scale_max;
  cairn_scale_kind scale_kind;
  /* An ordinal scale's labels, lowest first (rank 0 first), NUL-terminated:
   * values print as their labels. NULL (or nlabels 0): values print as
   * numbers. */
  const char *const *labels;
  size_t nlabels;
  int direction;         /* +1: higher is better; -1: lower is better */
  cairn_goal goal;
  int baseline_pending;  /* 1: no baseline yet; the first point stands in */
  double baseline, target;
  int rule_k, rule_n;    /* target met in K of the last N points; 0/0 = 1 of 1 */
  int32_t start, end;    /* timeframe, start <= end */
  const int32_t *checks; /* check dates, ascending, within the timeframe; may be NULL */
  size_t nchecks;
  int cadence_days;      /* 7 weekly, 14 biweekly, 30 monthly, 91 quarterly */
  /* Thresholds, settable per milestone (see THE RULES above). */
  int wrong_side_n;          /* default 4 */
  int trend_points;          /* default 6 */
  double developing_at;      /* default 0.25 */
  double exceed_margin;      /* default 0.10 */
  int offtrack_cadence_days; /* default 14 */
  /* Closed by a teacher on day `closed` with closed_result (met, not met,
   * replaced); CAIRN_RESULT_NONE: open (then `closed` is not read). */
  cairn_result closed_result;
  int32_t closed;
} cairn_milestone_params;

/* Sets the five thresholds of *p to their defaults (4, 6, 0.25, 0.10, 14)
 * and leaves every other field as it was. */
void cairn_progress_params_defaults(cairn_milestone_params *p);

/* Returns 0 when *p is a milestone cairn can reason about, else CAIRN_EINVAL
 * with a one-line reason that starts with the field's name written to why
 * (truncated to whylen; why may be NULL). Checks: scale_min < scale_max;
 * direction +1 or -1; target (and baseline unless pending) within the
 * scale; for a goal to reach, the target not behind the baseline in the
 * good direction; rule 0/0 or 1 <= K <= N; start <= end; cadences >= 1;
 * 1 <= wrong_side_n <= 50; 3 <= trend_points <= 50; 0 < developing_at <= 1;
 * 0 <= exceed_margin <= 10. */
int cairn_progress_params_check(const cairn_milestone_params *p, char *why,
                                size_t whylen);

/* Which rule decided the light (or that the milestone has ended). */
typedef enum {
  CAIRN_WHY_NO_EVIDENCE,
  CAIRN_WHY_RULE_MET,   /* green: the target rule holds */
  CAIRN_WHY_RUN,        /* red: wrong_side_n points in a row on the wrong side */
  CAIRN_WHY_WORSENING,  /* red: worsening trend, last point on the wrong side */
  CAIRN_WHY_LAST,       /* yellow: the last point is on the wrong side */
  CAIRN_WHY_SLOW,       /* yellow: the trend is under half the aimline's pace */
  CAIRN_WHY_ON_TRACK,   /* green */
  CAIRN_WHY_ENDED,      /* no light: the result says it */
  CAIRN_WHY_CLOSED      /* no light: closed with the result a teacher gave */
} cairn_why;

typedef struct cairn_progress {
  cairn_level level;
  cairn_light light;
  cairn_why why;
  cairn_result result;
  int ended;              /* today > end, or closed */
  int closed;             /* closed on or before today: result is the one given */
  size_t points;          /* n: the points considered (see "points") */
  double baseline;        /* b, valid when points > 0 or the baseline is set */
  double last_value;      /* valid when points > 0 */
  int32_t last_day;       /* valid when points > 0 */
  int trend_valid;        /* 1 when trend_per_week is meaningful */
  double trend_per_week;  /* OLS slope over the recent points, per 7 days */
  double aim_per_week;    /* aimline slope per 7 days (0 when start == end
                             or the goal is to maintain) */
  double aim_at_last;     /* aimline value at last_day */
  int wrong_side_run;     /* consecutive most recent points on the wrong side */
  int window;             /* min(n, N): the points the rule looks at */
  int met_in_window;      /* how many of them meet the target */
  double recent_mean;     /* the window's mean, valid when points > 0 */
  int32_t last_review;    /* the latest review on or before today, or -1 */
  int32_t next_review_due; /* or CAIRN_PROGRESS_NO_DAY: nothing due */
  int next_is_check;      /* next_review_due is a check date */
  int overdue;            /* today > next_review_due */
} cairn_progress;

/* Fills *out from the milestone *p, its n active points (pts sorted by day;
 * may be NULL when n == 0) and the days of its nreviews reviews (any order;
 * may be NULL when none), as of day today: later points and reviews are
 * left out. *p should pass cairn_progress_params_check(); other values give
 * a meaningless but memory-safe result. Never fails. */
void cairn_progress_compute(const cairn_milestone_params *p,
                            const cairn_point *pts, size_t n,
                            const int32_t *reviews, size_t nreviews,
                            int32_t today, cairn_progress *out);

/* Returns "not started", "beginning", "developing", "meeting" or
 * "exceeding"; "unknown" for any other value. Static storage. */
const char *cairn_progress_level_name(cairn_level l);

/* Returns "none", "green", "yellow" or "red"; "unknown" for any other
 * value. Static storage. */
const char *cairn_progress_light_name(cairn_light l);

/* Returns "met", "not met", "replaced", or "" while the milestone runs.
 * Static. */
const char *cairn_progress_result_name(cairn_result r);

/* Returns "improving", "worsening" or "flat" for a valid trend, else "".
 * Static storage. */
const char *cairn_progress_trend_word(const cairn_milestone_params *p,
                                      const cairn_progress *prog);

/* Room for a value as format_value writes it: a label of an ordinal scale
 * between two others, "3.5, between approaching and meeting". */
#define CAIRN_PROGRESS_VALUE_MAX 128

/* The sentences of a status, each written NUL-terminated into out
 * (truncated to outlen); values print on the milestone's scale (yes/no,
 * 92%, 2.5):
 *   format_value  "yes", "92%", "2.5", "B", "3.5, between B and A" (at
 *                 most CAIRN_PROGRESS_VALUE_MAX bytes with its NUL).
 *   goal          "target 3 or more in 4 of the last 5 points", "target 2
 *                 or less on the last point" (rule 1 of 1), "stay at 95% or
 *                 more, judged on the last point", "target yes in 3 of the
 *                 last 4 points", "target B or higher in 3 of the last 4
 *                 points".
 *   explain       why the light is what it is, or the result, with the
 *                 numbers: "the last 4 points are below the aimline (4 in a
 *                 row turns red)", "ended on 2026-12-07: not met, 1 of
 *                 the last 5 points meet the target (4 needed)", "closed on
 *                 2026-12-01: met; 4 of the last 5 points meet the target".
 *   trend         "+0.30/week (improving), the aimline needs +0.40/week";
 *                 "" when there is no valid trend. */
void cairn_progress_format_value(const cairn_milestone_params *p, double v,
                                 char *out, size_t outlen);
void cairn_progress_describe_goal(const cairn_milestone_params *p, char *out,
                                  size_t outlen);
void cairn_progress_explain(const cairn_milestone_params *p,
                            const cairn_progress *prog, char *out,
                            size_t outlen);
void cairn_progress_describe_trend(const cairn_milestone_params *p,
                                   const cairn_progress *prog, char *out,
                                   size_t outlen);

/* A straight line of a milestone's graph, in day numbers and scale values:
 * value(day) = intercept + per_day * day, drawn from (from, at_from) to
 * (to, at_to). valid 0: there is no such line (all else 0). */
typedef struct cairn_progress_line {
  int valid;
  int32_t from, to;      /* its first and last day */
  double at_from, at_to; /* its values on those days */
  double per_day;        /* slope, scale units per day */
  double intercept;      /* its value on day 0 (1970-01-01): the OLS intercept */
} cairn_progress_line;

/* The aimline (see "Aimline" above) from the start to the end of the
 * timeframe: from the baseline b to the target for a goal to reach, the
 * target itself for a goal to maintain. *prog is cairn_progress_compute's
 * result (its baseline stands in for a pending one). Not valid when the
 * baseline is pending and there is no point yet. */
void cairn_progress_aimline(const cairn_milestone_params *p, const cairn_progress *prog,
                            cairn_progress_line *out);

/* The trend line: the same ordinary least squares fit as the trend of
 * cairn_progress_compute (one function computes both), over the same
 * points (the last min(n, trend_points) of those observed on or before
 * today), drawn from the first to the last of them; per_day * 7 is the
 * trend per week. Valid only when that trend is (at least 3 points on
 * more than one day, the milestone still running on today). pts as for
 * cairn_progress_compute. */
void cairn_progress_trend_line(const cairn_milestone_params *p, const cairn_point *pts,
                               size_t n, int32_t today, cairn_progress_line *out);

/* The level in plain words for students and families, "developing:
 * engaged, not yet meeting the goal"; "unknown" for any other value.
 * Static storage. */
const char *cairn_progress_level_words(cairn_level l);

/* The days between reviews of a cadence name ("weekly" 7, "biweekly" 14,
 * "monthly" 30, "quarterly" 91); 0 for any other name or NULL. */
int cairn_progress_cadence_days(const char *name);

/* The baseline of a milestone carried forward from *p (see "Carry
 * forward" above): from its n points (sorted by day), as of day today.
 * Returns 1 with *baseline, *used (the points averaged) and *last_day (the
 * day of the last of them), or 0 when there is no point to carry (the new
 * baseline is pending). */
int cairn_progress_carry_baseline(const cairn_milestone_params *p, const cairn_point *pts,
                                  size_t n, int32_t today, double *baseline, size_t *used,
                                  int32_t *last_day);

/*
 * IF/THEN SUPPORT RULES
 *
 * Text: "if CONDITION, then ACTION". Case-insensitive; the comma is
 * optional, "if" must come first and "then" is required. ACTION is the text
 * after the first word "then", trimmed, at most 255 bytes, kept as written.
 * CONDITION is read by its key words; other words around them ("a student",
 * "scores", "is", "falls", "drops", "behavior" ...) are ignored. A condition
 * holds one test: "and" / "or" are refused. Counts N are digits or the words
 * one..ten.
 *
 * How long (for the target, below and above tests), by its unit word:
 *   "N [consecutive] weeks"        N calendar weeks of the timeframe: week 1
 *     ("week", "weeks")            is the start day and the 6 days after it,
 *                                  week 2 the next 7, ...; the last week
 *                                  ends on the end day.
 *   "N [consecutive] days"         N calendar days.
 *   "N [consecutive] check-ins"    N check-ins: the milestone's check dates;
 *     ("check-in(s)", "checkin(s)", check-in i holds the points observed
 *     "check(s)")                  after check date i-1 up to and including
 *                                  check date i. A milestone with no check
 *                                  dates has a check-in at every point.
 *   "N [consecutive] points"       the last N points, one by one.
 *     ("point(s)", "times")
 *   "the next / the last / a / on the UNIT" is 1 of that unit. "per UNIT"
 *   ("5 prompts per day") is part of the measure, not how long. Naming two
 *   different units is refused; "N consecutive" with no unit word means N
 *   points; no unit and no count means the last point.
 * A week, day or check-in counts once its last day is today or earlier;
 * the run is counted back from the latest such one that holds evidence,
 * and one with no evidence before it ends the run.
 *
 * The tests, tried in this order:
 *
 *   names "aimline"                      CAIRN_IF_WRONG_SIDE: wrong_side_run
 *     "wrong side of the aimline"        >= N; N from "N consecutive ...",
 *     "N consecutive points below ..."   else the milestone's wrong_side_n.
 *                                        Counts points only.
 *   "no evidence|data for|in N days"     CAIRN_IF_NO_EVIDENCE: today minus
 *     (or N weeks = 7N days; "a week")   the last point's day (start when
 *                                        none) > N days.
 *   names "target(s)" with a miss word   CAIRN_IF_MISSES_TARGET: N periods
 *     (below, under, miss(es/ed), fail,  in a row miss the target. A period
 *     not, no, short, aren't, isn't...)  misses when fewer than K/N of its
 *                                        points meet the target (the
 *                                        milestone's rule K of N; 1 of 1:
 *                                        when any point misses).
 *   "below|under X" / "above|over X"     CAIRN_IF_BELOW / CAIRN_IF_ABOVE: N
 *     X a number, "92%" reads as 92      periods in a row whose mean is
 *     (percent scales run 0-100; on an   below / above X.
 *     ordinal scale X is a rank: C is 2
 *     on a letter scale)
 *   "red" / "off track"                  CAIRN_IF_RED: the light is red.
 *   "yellow"                             CAIRN_IF_YELLOW: yellow or red.
 *
 * E.g. "If a student scores below the target on the next check-in, then add
 * a 20-minute small-group session twice weekly." is MISSES_TARGET, 1
 * check-in; "If behavior targets aren't met for two consecutive weeks, then
 * revise the classroom supports" is MISSES_TARGET, 2 weeks; "If attendance
 * drops below 92%, then schedule a family meeting" is BELOW 92, 1 point.
 *
 * When a rule is written, cairn_progress_ifthen_check() refuses one that can
 * never be read right on its milestone: a below/above X off the scale (or
 * at its edge, where it can never hold), and an X written with % on a scale
 * that does not run 0-100.
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

/* What the count of a MISSES_TARGET, BELOW or ABOVE rule counts. */
typedef enum {
  CAIRN_IFTHEN_POINTS,
  CAIRN_IFTHEN_DAYS,
  CAIRN_IFTHEN_WEEKS,
  CAIRN_IFTHEN_CHECKINS
} cairn_ifthen_unit;

#define CAIRN_IFTHEN_ACTION_MAX 255

typedef struct cairn_ifthen {
  cairn_ifthen_cond cond;
  double threshold;  /* CAIRN_IF_BELOW / CAIRN_IF_ABOVE: the value X */
  int percent;       /* 1 when X was written with a % */
  int count;         /* MISSES_TARGET, BELOW, ABOVE: periods of unit;
                        WRONG_SIDE: points (0 = the milestone's
                        wrong_side_n); NO_EVIDENCE: days */
  cairn_ifthen_unit unit;
  char action[CAIRN_IFTHEN_ACTION_MAX + 1]; /* NUL-terminated */
} cairn_ifthen;

/* Parses one rule from the NUL-terminated text into *out. Returns 0, or
 * CAIRN_EINVAL with a one-line reason in why (truncated to whylen; why may
 * be NULL) and *out untouched. */
int cairn_progress_ifthen_parse(const char *text, cairn_ifthen *out,
                                char *why, size_t whylen);

/* Returns 0 when the parsed rule can be read on milestone *p, else
 * CAIRN_EINVAL with a one-line reason in why (may be NULL) that quotes the
 * threshold and the scale: "below 92% is off the scale 0-4". */
int cairn_progress_ifthen_check(const cairn_ifthen *rule,
                                const cairn_milestone_params *p, char *why,
                                size_t whylen);

/* Returns 1 when the rule's condition holds for the milestone *p, its n
 * points (sorted by day; those after today are left out) and *prog
 * (computed by cairn_progress_compute() from the same points as of the
 * same day), on day today; else 0. Nothing fires once the milestone has
 * ended. */
int cairn_progress_ifthen_fires(const cairn_ifthen *rule,
                                const cairn_milestone_params *p,
                                const cairn_point *pts, size_t n,
                                const cairn_progress *prog, int32_t today);

#endif
