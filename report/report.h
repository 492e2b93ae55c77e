/*
 * report.h: the program view of a node (README.md, "Central office"):
 * four reports over every student and milestone it holds, as typed
 * results: on the central every campus, on a hub its campus, on a
 * classroom its classroom.
 *
 *   program   for each template (or standard) and milestone type, by
 *             campus and classroom: how many students have such a
 *             milestone, how many of those milestones are at each level,
 *             red, yellow, green; how many are missed; the templates and
 *             standards most missed, ranked.
 *   red       every milestone with a red light, an if/then support that
 *             fires, or evidence dated after tomorrow: with the planned
 *             actions, the days since the last evidence and the review
 *             overdue; by campus.
 *   reviews   every milestone whose review is overdue by its cadence (or
 *             check date), by classroom, most overdue first.
 *   supports  for each support (the intervention lever), the students who
 *             had it and their trend before and after it came in (the
 *             phase change).
 *
 * ONE IMPLEMENTATION. Every level, light, trend, due review and if/then
 * rule that fires is the store's typed status (store.h,
 * cairn_store_status), computed by progress.h exactly as a classroom's
 * `cairn status`; a report only counts, filters and sorts them. The one
 * thing computed here is a support's phase trends: cairn_progress_compute
 * over the points of each phase, the same fit as the status's trend.
 *
 * Words the reports use:
 *   missed     a milestone with evidence (points > 0) whose level is
 *              beginning or developing: its student does not meet its
 *              target. A milestone with no evidence is not started, not
 *              missed. Shares are of the milestones of a row.
 *   students   distinct students; a student counts in the campus and
 *              classroom of their student record.
 *   future     an evidence entry observed after tomorrow by this node's
 *              clock: its date is wrong (a device's clock, a typo). The
 *              status leaves it out while its day is on or before
 *              tomorrow (so a report refuses a later as-of day); the
 *              reports count and list it so that someone corrects it.
 *   support    grouped by its text, ignoring letter case, spacing and a
 *              final period; shown as first written.
 *   phases     a milestone's own support is in place from its start; each
 *              support change from its date until the day before the next
 *              (or the report's day, or the milestone's end). The trend
 *              before a change is the fit over the points of the phase
 *              before it; the trend after, over the points of its own
 *              phase; each needs 3 points on different days (progress.h).
 *              The change is better when the trend after is more in the
 *              milestone's good direction than before (up for a score,
 *              down for a tally to lower), worse when less, same when
 *              equal, unknown when either trend is.
 *
 * Depends on store/ (status view) and protocol/ only. Results own their
 * memory (and the status view they were built from): free them with
 * cairn_report_free. Text is stored text, unescaped: whoever prints it
 * escapes it for where it goes.
 */
#ifndef CAIRN_REPORT_H
#define CAIRN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum cairn_report_kind {
  CAIRN_REPORT_PROGRAM = 1,
  CAIRN_REPORT_RED,
  CAIRN_REPORT_REVIEWS,
  CAIRN_REPORT_SUPPORTS
} cairn_report_kind;

/* "program", "red", "reviews", "supports"; NULL for another value. */
const char *cairn_report_kind_name(cairn_report_kind k);

/* The kind named name (NUL-terminated). Returns 0 and *out, or
 * CAIRN_EINVAL. */
int cairn_report_kind_parse(const char *name, cairn_report_kind *out);

/* The classroom a student's rows count under: the first of their
 * classrooms (a student of several counts once, there), "" when none. A
 * classroom filter matches a student of any of their classrooms. */
const char *cairn_report_classroom(const cairn_store_student_summary *s);

/* Which milestones a report covers: NULL or "" is any. campus, classroom
 * and grade are the student's; type, template_id and standard the
 * milestone's. All borrowed for the call. */
typedef struct cairn_report_filter {
  const char *campus, *classroom, *grade, *type, *template_id, *standard;
} cairn_report_filter;

/* A milestone of the view with its student (both borrowed from the view
 * the report owns); si and mi are their places in the view, which orders
 * students by id and each student's milestones by id. */
typedef struct cairn_report_item {
  const cairn_store_student_summary *student;
  const cairn_store_milestone_status *milestone;
  size_t si, mi;
} cairn_report_item;

typedef struct cairn_report_counts {
  size_t students;   /* distinct students */
  size_t milestones;
  size_t level[5];   /* milestones by level, indexed by cairn_level */
  size_t green, yellow, red; /* by light (an ended milestone has none) */
  size_t ended;      /* past their end date */
  size_t missed;     /* with evidence, level beginning or developing */
  size_t future;     /* evidence entries dated after tomorrow */
} cairn_report_counts;

typedef enum cairn_report_place {
  CAIRN_REPORT_ALL,      /* every campus */
  CAIRN_REPORT_CAMPUS,   /* one campus */
  CAIRN_REPORT_CLASSROOM /* one classroom of a campus */
} cairn_report_place;

/* report program: the rows of a group (template, standard, type) are its
 * ALL row, then for each campus (by name) its CAMPUS row and its
 * CLASSROOM rows (by name). Groups come by template id, then those with a
 * standard and no template by standard, then the rest ("own" milestones)
 * by type. */
typedef struct cairn_report_program_row {
  const char *template_id, *title;      /* NULL: made from no template */
  const char *standard, *standard_text; /* NULL: aligned to no standard */
  const char *type;
  cairn_report_place place;
  const char *campus;    /* NULL at ALL; "" is students with no campus */
  const char *classroom; /* NULL at ALL and CAMPUS */
  cairn_report_counts counts;
  /* On the ALL row of a group with a template or a standard and missed >
   * 0: its rank among those by missed (most first; then by the share
   * missed, then in row order), 1 for the most missed. Else 0. */
  size_t missed_rank;
} cairn_report_program_row;

/* report red: one row per milestone with a red light, a firing if/then
 * rule or future-dated evidence, by campus, classroom, student and
 * milestone. The planned actions are milestone->triggered. */
typedef struct cairn_report_red_row {
  cairn_report_item item;
  int red;                  /* the light is red */
  int32_t days_since;       /* as_of minus the last point's day; -1: no point */
  int32_t days_overdue;     /* as_of minus the review due, when overdue; else 0 */
} cairn_report_red_row;

/* report red, by campus: of its rows. */
typedef struct cairn_report_campus_count {
  const char *campus;
  size_t students, red, triggered, future;
} cairn_report_campus_count;

/* report reviews: one row per milestone whose review is overdue, by
 * campus, classroom, most overdue first, then student and milestone. */
typedef struct cairn_report_review_row {
  cairn_report_item item;
  int32_t days_overdue; /* as_of minus progress.next_review_due */
} cairn_report_review_row;

/* report reviews, by classroom: every classroom with a milestone the
 * filter passes, by campus then classroom. */
typedef struct cairn_report_classroom_count {
  const char *campus, *classroom;
  size_t milestones, overdue;
} cairn_report_classroom_count;

typedef enum cairn_report_change {
  CAIRN_REPORT_UNKNOWN,
  CAIRN_REPORT_BETTER,
  CAIRN_REPORT_SAME,
  CAIRN_REPORT_WORSE
} cairn_report_change;

/* "unknown", "better", "same", "worse". Static storage. */
const char *cairn_report_change_name(cairn_report_change c);

/* The points of one phase and their trend (progress.h). */
typedef struct cairn_report_phase {
  size_t points;
  int trend_valid;
  double trend_per_week;
  const char *trend_word; /* "improving", "worsening", "flat"; "" when not valid */
} cairn_report_phase;

/* report supports: one row per phase, by support, then campus, classroom,
 * student, milestone and date. */
typedef struct cairn_report_support_row {
  const char *support;   /* as written on this milestone */
  const char *previous;  /* the support before, or NULL */
  cairn_report_item item;
  int from_start;        /* the milestone's own support, from its start */
  int32_t since, until;  /* the phase's first and last day */
  cairn_report_phase before, after;
  cairn_report_change change;
} cairn_report_support_row;

/* report supports, per support: the order of the rows. */
typedef struct cairn_report_support_summary {
  const char *support; /* as first written */
  size_t students, phases, better, same, worse, unknown;
} cairn_report_support_summary;

typedef struct cairn_report {
  cairn_report_kind kind;
  int32_t as_of;
  int32_t future_after; /* tomorrow by this node's clock */
  cairn_report_counts total; /* every milestone the filter passes */
  /* program */
  const cairn_report_program_row *program;
  size_t nprogram;
  const cairn_report_program_row *const *missed; /* the ranked rows, by rank */
  size_t nmissed;
  /* red */
  const cairn_report_red_row *red;
  size_t nred;
  const cairn_report_campus_count *campuses;
  size_t ncampuses;
  /* reviews */
  const cairn_report_review_row *reviews;
  size_t nreviews;
  const cairn_report_classroom_count *classrooms;
  size_t nclassrooms;
  /* supports */
  const cairn_report_support_row *supports;
  size_t nsupports;
  const cairn_report_support_summary *support_summary;
  size_t nsupport_summary;
  /* every kind: the milestones with evidence dated after tomorrow, in red's
   * order (milestone->future lists the entries) */
  const cairn_report_item *future;
  size_t nfuture;
  struct cairn__report_owned *owned; /* private */
} cairn_report;

/* Builds report kind over the status view v, which the result takes over
 * (it is freed with the result, also on failure). Template titles and
 * standard texts are left NULL. Pure: reads nothing but v. Returns 0 and
 * *out (caller frees with cairn_report_free), CAIRN_EINVAL (an unknown
 * kind), CAIRN_ENOMEM. */
int cairn_report_build(cairn_store_status_view *v, cairn_report_kind kind,
                       const cairn_report_filter *f, cairn_report **out);

/* Reads the status of every milestone of s as of day as_of
 * (cairn_store_status), builds report kind over it and fills in the
 * titles of its templates and the texts of its standards. Refuses, with
 * one line in why naming the field: an as_of after tomorrow by this node's
 * clock (CAIRN_EDATE: what a report says is known; evidence dated later is
 * listed, not counted), a type that is no milestone type (CAIRN_EINVAL), a
 * template or standard this node does not hold (CAIRN_ENOTFOUND). Returns
 * 0 and *out (caller frees with cairn_report_free), or a negative code. */
int cairn_report_run(cairn_store *s, cairn_report_kind kind, const cairn_report_filter *f,
                     int32_t as_of, cairn_report **out, char *why, size_t whylen);

/* Frees a report and the view it was built from. NULL is a harmless
 * no-op. */
void cairn_report_free(cairn_report *r);

#endif
