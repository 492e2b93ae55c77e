/* report_supports.c: report supports (report.h): each support's phases,
 * with the trend of the points before and after it came in. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "progress.h"
#include "report_int.h"

/* A row under construction, with the key its support is grouped by. */
typedef struct keyed_row {
  const char *key; /* the support's text folded: owned by the report */
  cairn_report_support_row row;
} keyed_row;

/* The support's text as it is grouped: ASCII letters in lower case, runs
 * of spaces as one, no space at either end, no final period. */
static char *support_key(cairn_report *r, const char *s) {
  char *k = cairn__report_alloc(r, strlen(s) + 1);
  size_t n = 0;
  if (k == NULL)
    return NULL;
  for (const char *p = s; *p != '\0'; p++) {
    if (isspace((unsigned char)*p)) {
      if (n > 0 && k[n - 1] != ' ')
        k[n++] = ' ';
      continue;
    }
    k[n++] = (char)tolower((unsigned char)*p);
  }
  while (n > 0 && (k[n - 1] == ' ' || k[n - 1] == '.'))
    n--;
  k[n] = '\0';
  return k;
}

/* The points of m observed from `from` to `to` (both inclusive) and their
 * trend, fitted as the status fits it (progress.h), as if the phase's
 * last day were today (or the milestone's end, when earlier). */
static void phase_of(const cairn_store_milestone_status *m, int32_t from, int32_t to,
                     cairn_report_phase *ph) {
  const cairn_point *pts = m->points;
  size_t first = 0, end;
  cairn_progress pr;
  memset(ph, 0, sizeof *ph);
  ph->trend_word = "";
  while (first < m->npoints && pts[first].day < from)
    first++;
  for (end = first; end < m->npoints && pts[end].day <= to; end++)
    ;
  ph->points = end - first;
  if (ph->points == 0)
    return;
  int32_t today = to < m->params.end ? to : m->params.end;
  cairn_progress_compute(&m->params, pts + first, ph->points, NULL, 0, today, &pr);
  ph->trend_valid = pr.trend_valid;
  ph->trend_per_week = pr.trend_per_week;
  ph->trend_word = cairn_progress_trend_word(&m->params, &pr);
}

/* Better when the trend after moves more in the good direction. */
static cairn_report_change change_of(const cairn_store_milestone_status *m,
                                     const cairn_report_phase *before,
                                     const cairn_report_phase *after) {
  const cairn_milestone_params *p = &m->params;
  if (!before->trend_valid || !after->trend_valid)
    return CAIRN_REPORT_UNKNOWN;
  double d = (after->trend_per_week - before->trend_per_week) * p->direction;
  double eps = 1e-9 * fmax(fmax(fabs(p->target - p->baseline), fabs(p->target)), 1.0);
  return d > eps ? CAIRN_REPORT_BETTER : d < -eps ? CAIRN_REPORT_WORSE : CAIRN_REPORT_SAME;
}

static int keyed_cmp(const void *a, const void *b) {
  const keyed_row *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c == 0)
    c = cairn__report_item_cmp(&x->row.item, &y->row.item);
  if (c == 0 && x->row.since != y->row.since)
    c = x->row.since < y->row.since ? -1 : 1;
  return c;
}

/* Adds the phases of item it to rows (room for its supports + 1). */
static int add_phases(cairn_report *r, const cairn_report_item *it, keyed_row *rows, size_t *n) {
  const cairn_store_milestone_status *m = it->milestone;
  const char *own = m->planned_support; /* in place from the start, before any change */
  int32_t last = r->as_of < m->params.end ? r->as_of : m->params.end;
  for (size_t i = 0; i <= m->nsupports; i++) {
    int from_start = i == 0;
    if (from_start && own == NULL)
      continue;
    const char *text = from_start ? own : m->supports[i - 1].support;
    int32_t since = from_start ? m->params.start : m->supports[i - 1].day;
    int32_t prev = i <= 1 ? INT32_MIN : m->supports[i - 2].day;
    int32_t until = i < m->nsupports ? m->supports[i].day - 1 : last;
    keyed_row *k = &rows[(*n)++];
    memset(k, 0, sizeof *k);
    if ((k->key = support_key(r, text)) == NULL)
      return CAIRN_ENOMEM;
    k->row.support = text;
    k->row.previous = from_start ? NULL : i == 1 ? own : m->supports[i - 2].support;
    k->row.item = *it;
    k->row.from_start = from_start;
    k->row.since = since;
    k->row.until = until;
    phase_of(m, from_start ? INT32_MIN : prev, since - 1, &k->row.before);
    phase_of(m, since, until, &k->row.after);
    k->row.change = change_of(m, &k->row.before, &k->row.after);
  }
  return 0;
}

int cairn__report_supports(cairn_report *r, const cairn_report_item *items, size_t n) {
  size_t cap = 0, nrows = 0, ngroups = 0;
  for (size_t i = 0; i < n; i++)
    cap += items[i].milestone->nsupports + 1;
  keyed_row *keyed = malloc((cap ? cap : 1) * sizeof *keyed);
  if (keyed == NULL)
    return CAIRN_ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = add_phases(r, &items[i], keyed, &nrows);
  cairn_report_support_row *rows = rc == 0 ? cairn__report_alloc(r, nrows * sizeof *rows) : NULL;
  cairn_report_support_summary *sum =
      rows != NULL ? cairn__report_alloc(r, nrows * sizeof *sum) : NULL;
  if (rc == 0 && sum == NULL)
    rc = CAIRN_ENOMEM;
  if (rc == 0) {
    qsort(keyed, nrows, sizeof *keyed, keyed_cmp);
    for (size_t i = 0; i < nrows; i++) {
      rows[i] = keyed[i].row;
      int first = i == 0 || strcmp(keyed[i].key, keyed[i - 1].key) != 0;
      cairn_report_support_summary *g = &sum[first ? ngroups++ : ngroups - 1];
      if (first)
        g->support = rows[i].support;
      /* rows of one support are by place and view order: a student's are together */
      g->students += first || keyed[i].row.item.si != keyed[i - 1].row.item.si;
      g->phases++;
      g->better += rows[i].change == CAIRN_REPORT_BETTER;
      g->same += rows[i].change == CAIRN_REPORT_SAME;
      g->worse += rows[i].change == CAIRN_REPORT_WORSE;
      g->unknown += rows[i].change == CAIRN_REPORT_UNKNOWN;
    }
    r->supports = rows;
    r->nsupports = nrows;
    r->support_summary = sum;
    r->nsupport_summary = ngroups;
  }
  free(keyed);
  return rc;
}
