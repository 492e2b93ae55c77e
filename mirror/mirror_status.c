/* mirror_status.c: the derived status of every milestone, and the phases
 * of report supports, written whole into the mirror (mirror.h,
 * cairn_mirror_refresh_status). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "mirror_int.h"
#include "progress.h"
#include "report.h"
#include "text.h"

/* One row of COPY text: the columns are appended with the put_ functions
 * below, each after a tab but the first. */
typedef struct row {
  msgpack_sbuffer *b;
  int cols; /* columns so far */
  int rc;   /* the first error: the rest are no-ops */
} row;

static void put_raw(row *r, const char *s, size_t len) {
  if (r->rc != 0)
    return;
  /* (len 0 writes nothing: msgpack's write would memcpy into a buffer
   * that has none yet) */
  if (r->cols++ > 0 && msgpack_sbuffer_write(r->b, "\t", 1) != 0)
    r->rc = CAIRN_ENOMEM;
  else if (len > 0 && msgpack_sbuffer_write(r->b, s, len) != 0)
    r->rc = CAIRN_ENOMEM;
}

/* Text, or NULL as SQL's null. */
static void put_text(row *r, const char *s) {
  if (s == NULL) {
    put_raw(r, "\\N", 2);
    return;
  }
  put_raw(r, "", 0);
  if (r->rc == 0)
    r->rc = cairn__mirror_copy_text(r->b, s, strlen(s));
}

static void put_int(row *r, int64_t v) {
  char num[24];
  put_raw(r, num, (size_t)snprintf(num, sizeof num, "%" PRId64, v));
}

/* A double when valid, else null. */
static void put_num(row *r, int valid, double v) {
  char num[32];
  if (!valid) {
    put_raw(r, "\\N", 2);
    return;
  }
  put_raw(r, num, (size_t)snprintf(num, sizeof num, "%.17g", v));
}

static void put_bool(row *r, int v) {
  put_raw(r, v ? "t" : "f", 1);
}

/* A day, or null for CAIRN_PROGRESS_NO_DAY. */
static void put_day(row *r, int32_t day) {
  char d[11];
  if (day == CAIRN_PROGRESS_NO_DAY) {
    put_raw(r, "\\N", 2);
    return;
  }
  cairn_text_date_format(day, d);
  put_raw(r, d, strlen(d));
}

static void end_row(row *r) {
  if (r->rc == 0 && msgpack_sbuffer_write(r->b, "\n", 1) != 0)
    r->rc = CAIRN_ENOMEM;
  r->cols = 0;
}

/* The if/then rules that fire, as a JSON array of {rule, action}. */
static void put_triggered(row *r, const cairn_store_milestone_status *m) {
  json_t *a = json_array();
  char *text = NULL;
  for (size_t i = 0; a != NULL && i < m->ntriggered; i++)
    if (json_array_append_new(a, json_pack("{s:s, s:s}", "rule", m->triggered[i].rule, "action",
                                           m->triggered[i].action)) != 0) {
      json_decref(a);
      a = NULL;
    }
  if (a != NULL)
    text = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  if (text == NULL) {
    if (r->rc == 0)
      r->rc = CAIRN_ENOMEM;
    return;
  }
  put_text(r, text);
  free(text);
}

/* The columns of cairn_milestone_status, in order (mirror_schema.c). */
static const char status_copy[] =
    "COPY cairn_milestone_status (milestone, ord, student, name, grade, campus, classroom,"
    " type, statement, template, standard, cadence, level, light, why, result, ended, points,"
    " last_value, last_observed, days_since_evidence, trend_per_week, trend_word, last_review,"
    " next_review, next_is_check, review_overdue, days_overdue, triggered, support,"
    " future_points, missed, as_of) FROM STDIN";

static void status_row(row *r, const cairn_store_student_summary *st,
                       const cairn_store_milestone_status *m, size_t ord, int32_t as_of) {
  const cairn_progress *p = &m->progress;
  int has = p->points > 0;
  const char *word = cairn_progress_trend_word(&m->params, p);

  put_text(r, m->id);
  put_int(r, (int64_t)ord);
  put_text(r, st->id);
  put_text(r, st->name);
  put_text(r, st->grade);
  put_text(r, st->campus);
  put_text(r, cairn_report_classroom(st));
  put_text(r, m->type);
  put_text(r, m->statement);
  put_text(r, m->template_id);
  put_text(r, m->standard);
  put_text(r, m->cadence);
  put_text(r, cairn_progress_level_name(p->level));
  put_text(r, cairn_progress_light_name(p->light));
  put_text(r, m->why);
  put_text(r, cairn_progress_result_name(p->result));
  put_bool(r, p->ended);
  put_int(r, (int64_t)p->points);
  put_num(r, has, p->last_value);
  put_day(r, has ? p->last_day : CAIRN_PROGRESS_NO_DAY);
  if (has)
    put_int(r, (int64_t)as_of - p->last_day);
  else
    put_text(r, NULL);
  put_num(r, p->trend_valid, p->trend_per_week);
  put_text(r, p->trend_valid ? word : NULL);
  put_day(r, p->last_review < 0 ? CAIRN_PROGRESS_NO_DAY : p->last_review);
  put_day(r, p->next_review_due);
  put_bool(r, p->next_is_check);
  put_bool(r, p->overdue);
  put_int(r, p->overdue ? (int64_t)as_of - p->next_review_due : 0);
  put_triggered(r, m);
  put_text(r, m->support);
  put_int(r, (int64_t)m->nfuture);
  put_bool(r, has && (p->level == CAIRN_LEVEL_BEGINNING || p->level == CAIRN_LEVEL_DEVELOPING));
  put_day(r, as_of);
  end_row(r);
}

static const char phase_copy[] =
    "COPY cairn_support_phase (ord, support_group, support, previous, from_start, campus,"
    " classroom, student, name, milestone, statement, since, until, points_before,"
    " trend_before, trend_before_word, points_after, trend_after, trend_after_word, change,"
    " as_of) FROM STDIN";

static void put_phase(row *r, const cairn_report_phase *ph) {
  put_int(r, (int64_t)ph->points);
  put_num(r, ph->trend_valid, ph->trend_per_week);
  put_text(r, ph->trend_valid ? ph->trend_word : NULL);
}

static void phase_row(row *r, const char *group, const cairn_report_support_row *s, size_t ord,
                      int32_t as_of) {
  put_int(r, (int64_t)ord);
  put_text(r, group);
  put_text(r, s->support);
  put_text(r, s->previous);
  put_bool(r, s->from_start);
  put_text(r, s->item.student->campus);
  put_text(r, cairn_report_classroom(s->item.student));
  put_text(r, s->item.student->id);
  put_text(r, s->item.student->name);
  put_text(r, s->item.milestone->id);
  put_text(r, s->item.milestone->statement);
  put_day(r, s->since);
  put_day(r, s->until);
  put_phase(r, &s->before);
  put_phase(r, &s->after);
  put_text(r, cairn_report_change_name(s->change));
  put_day(r, as_of);
  end_row(r);
}

/* Sends the COPY text in b to the table sql names. Returns 0 or CAIRN_EIO
 * with why. */
static int copy_all(cairn_mirror *m, const char *sql, const msgpack_sbuffer *b, char *why,
                    size_t whylen) {
  PGresult *res = PQexec(m->conn, sql);
  int rc = 0;

  if (PQresultStatus(res) != PGRES_COPY_IN)
    rc = cairn__mirror_fail(m, "copy", cairn__mirror_res_message(m, res), why, whylen);
  PQclear(res);
  if (rc != 0)
    return rc;
  msgpack_sbuffer_clear(&m->rows);
  if (b->size > 0 && PQputCopyData(m->conn, b->data, (int)b->size) != 1)
    return cairn__mirror_fail(m, "copy", PQerrorMessage(m->conn), why, whylen);
  return cairn__mirror_copy_end(m, why, whylen);
}

int cairn_mirror_refresh_status(cairn_mirror *m, cairn_store *s, int32_t as_of,
                                size_t *milestones, char *why, size_t whylen) {
  cairn_store_status_view *v = NULL;
  cairn_report *rep = NULL;
  msgpack_sbuffer status, phases;
  row r;
  size_t n = 0;
  char head[96], day[11];
  int rc;

  *milestones = 0;
  why[0] = '\0';
  msgpack_sbuffer_init(&status);
  msgpack_sbuffer_init(&phases);
  if ((rc = cairn_store_status(s, NULL, as_of, &v)) != 0) {
    snprintf(why, whylen, "cannot read the status: %s", cairn_strerror(rc));
    goto out;
  }
  r = (row){&status, 0, 0};
  for (size_t si = 0; si < v->nstudents; si++)
    for (size_t mi = 0; mi < v->students[si].nmilestones; mi++)
      status_row(&r, &v->students[si], &v->students[si].milestones[mi], n++, as_of);
  if ((rc = r.rc) != 0) {
    cairn_store_status_free(v);
    goto out;
  }
  /* The report takes the view over (and frees it, also on failure). */
  if ((rc = cairn_report_build(v, CAIRN_REPORT_SUPPORTS, NULL, &rep)) != 0)
    goto out;
  r = (row){&phases, 0, 0};
  for (size_t g = 0, i = 0; g < rep->nsupport_summary; g++)
    for (size_t k = 0; k < rep->support_summary[g].phases && i < rep->nsupports; k++, i++)
      phase_row(&r, rep->support_summary[g].support, &rep->supports[i], i, as_of);
  if ((rc = r.rc) != 0)
    goto out;
  cairn_text_date_format(as_of, day);
  snprintf(head, sizeof head, "INSERT INTO cairn_status_as_of (as_of, milestones) VALUES ('%s', %zu)",
           day, n);
  /* One transaction: a dashboard sees the old status or the new, whole. */
  if ((rc = cairn__mirror_connect(m, why, whylen)) != 0 ||
      (rc = cairn__mirror_exec(m,
                               "BEGIN; DELETE FROM cairn_milestone_status;"
                               " DELETE FROM cairn_support_phase; DELETE FROM cairn_status_as_of",
                               "status", why, whylen)) != 0 ||
      (rc = copy_all(m, status_copy, &status, why, whylen)) != 0 ||
      (rc = copy_all(m, phase_copy, &phases, why, whylen)) != 0 ||
      (rc = cairn__mirror_exec(m, head, "status", why, whylen)) != 0 ||
      (rc = cairn__mirror_exec(m, "COMMIT", "status", why, whylen)) != 0)
    goto out;
  *milestones = n;
out:
  if (rc != 0 && rc != CAIRN_EIO && m->conn != NULL) {
    /* not PostgreSQL's failure: roll back what was begun */
    PQfinish(m->conn);
    m->conn = NULL;
  }
  if (rc != 0 && why[0] == '\0')
    snprintf(why, whylen, "status: %s", cairn_strerror(rc));
  cairn_report_free(rep);
  msgpack_sbuffer_destroy(&status);
  msgpack_sbuffer_destroy(&phases);
  return rc;
}
