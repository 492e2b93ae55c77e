/* report.c: the reports of report.h over the store's typed status: the
 * filter, the program view, red, reviews; report_supports.c has the
 * supports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "report.h"
#include "report_int.h"
#include "text.h"

static const char *const kind_names[] = {
    [CAIRN_REPORT_PROGRAM] = "program",
    [CAIRN_REPORT_RED] = "red",
    [CAIRN_REPORT_REVIEWS] = "reviews",
    [CAIRN_REPORT_SUPPORTS] = "supports",
};

const char *cairn_report_kind_name(cairn_report_kind k) {
  return k >= CAIRN_REPORT_PROGRAM && k <= CAIRN_REPORT_SUPPORTS ? kind_names[k] : NULL;
}

int cairn_report_kind_parse(const char *name, cairn_report_kind *out) {
  for (int k = CAIRN_REPORT_PROGRAM; k <= CAIRN_REPORT_SUPPORTS; k++)
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (cairn_report_kind)k;
      return 0;
    }
  return CAIRN_EINVAL;
}

const char *cairn_report_change_name(cairn_report_change c) {
  switch (c) {
  case CAIRN_REPORT_BETTER:
    return "better";
  case CAIRN_REPORT_SAME:
    return "same";
  case CAIRN_REPORT_WORSE:
    return "worse";
  case CAIRN_REPORT_UNKNOWN:
    break;
  }
  return "unknown";
}

/* ---- what a report owns ---------------------------------------------------- */

void *cairn__report_alloc(cairn_report *r, size_t n) {
  struct cairn__report_owned *o = r->owned;
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 16;
    void **b = realloc(o->blocks, cap * sizeof *b);
    if (b == NULL)
      return NULL;
    o->blocks = b;
    o->cap = cap;
  }
  void *p = calloc(1, n > 0 ? n : 1);
  if (p != NULL)
    o->blocks[o->n++] = p;
  return p;
}

char *cairn__report_strdup(cairn_report *r, const char *s) {
  size_t n = strlen(s);
  char *p = cairn__report_alloc(r, n + 1);
  if (p != NULL)
    memcpy(p, s, n + 1);
  return p;
}

void cairn_report_free(cairn_report *r) {
  if (r == NULL)
    return;
  if (r->owned != NULL) {
    for (size_t i = 0; i < r->owned->n; i++)
      free(r->owned->blocks[i]);
    free(r->owned->blocks);
    cairn_store_status_free(r->owned->view);
    free(r->owned);
  }
  free(r);
}

/* ---- the milestones a report covers ------------------------------------------ */

/* Whether v passes the filter value want (NULL or "": anything). */
static int wanted(const char *want, const char *v) {
  return want == NULL || want[0] == '\0' || (v != NULL && strcmp(want, v) == 0);
}

const char *cairn_report_classroom(const cairn_store_student_summary *s) {
  return s->nclassrooms > 0 ? s->classrooms[0] : "";
}

/* A classroom filter matches a student of that classroom, whichever of
 * their classrooms it is. */
static int in_room(const char *want, const cairn_store_student_summary *s) {
  if (want == NULL || want[0] == '\0')
    return 1;
  for (size_t i = 0; i < s->nclassrooms; i++)
    if (strcmp(want, s->classrooms[i]) == 0)
      return 1;
  return 0;
}

/* The milestones of v that pass f, in view order, into *out (owned by r). */
static int collect(cairn_report *r, const cairn_store_status_view *v,
                   const cairn_report_filter *f, cairn_report_item **out, size_t *n) {
  static const cairn_report_filter none = {0};
  size_t count = 0;
  if (f == NULL)
    f = &none;
  for (size_t si = 0; si < v->nstudents; si++)
    count += v->students[si].nmilestones;
  cairn_report_item *items = cairn__report_alloc(r, count * sizeof *items);
  if (items == NULL)
    return CAIRN_ENOMEM;
  *n = 0;
  for (size_t si = 0; si < v->nstudents; si++) {
    const cairn_store_student_summary *s = &v->students[si];
    if (!wanted(f->campus, s->campus) || !in_room(f->classroom, s) ||
        !wanted(f->grade, s->grade))
      continue;
    for (size_t mi = 0; mi < s->nmilestones; mi++) {
      const cairn_store_milestone_status *m = &s->milestones[mi];
      if (wanted(f->type, m->type) && wanted(f->template_id, m->template_id) &&
          wanted(f->standard, m->standard))
        items[(*n)++] = (cairn_report_item){s, m, si, mi};
    }
  }
  *out = items;
  return 0;
}

static int place_cmp(const cairn_report_item *x, const cairn_report_item *y) {
  int c = strcmp(x->student->campus, y->student->campus);
  return c != 0 ? c : strcmp(cairn_report_classroom(x->student), cairn_report_classroom(y->student));
}

static int view_cmp(const cairn_report_item *x, const cairn_report_item *y) {
  if (x->si != y->si)
    return x->si < y->si ? -1 : 1;
  return x->mi < y->mi ? -1 : x->mi > y->mi;
}

int cairn__report_item_cmp(const void *a, const void *b) {
  const cairn_report_item *x = a, *y = b;
  int c = place_cmp(x, y);
  return c != 0 ? c : view_cmp(x, y);
}

/* ---- counts ------------------------------------------------------------------- */

static int is_missed(const cairn_progress *p) {
  return p->points > 0 && (p->level == CAIRN_LEVEL_BEGINNING || p->level == CAIRN_LEVEL_DEVELOPING);
}

/* Counts milestone m (not its student) into c. */
static void count_milestone(cairn_report_counts *c, const cairn_store_milestone_status *m) {
  const cairn_progress *p = &m->progress;
  c->milestones++;
  if (p->level <= CAIRN_LEVEL_EXCEEDING)
    c->level[p->level]++;
  c->green += p->light == CAIRN_LIGHT_GREEN;
  c->yellow += p->light == CAIRN_LIGHT_YELLOW;
  c->red += p->light == CAIRN_LIGHT_RED;
  c->ended += p->ended != 0;
  c->missed += is_missed(p);
  c->future += m->nfuture;
}

static void add_counts(cairn_report_counts *to, const cairn_report_counts *c) {
  to->students += c->students;
  to->milestones += c->milestones;
  for (size_t i = 0; i < 5; i++)
    to->level[i] += c->level[i];
  to->green += c->green;
  to->yellow += c->yellow;
  to->red += c->red;
  to->ended += c->ended;
  to->missed += c->missed;
  to->future += c->future;
}

/* Counts items[0..n) (sorted so that a student's items are together) into c. */
static void count_items(cairn_report_counts *c, const cairn_report_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    count_milestone(c, items[i].milestone);
    c->students += i == 0 || items[i].si != items[i - 1].si;
  }
}

/* ---- program ------------------------------------------------------------------ */

/* 0: made from a template; 1: aligned to a standard only; 2: neither. */
static int group_class(const cairn_store_milestone_status *m) {
  return m->template_id != NULL ? 0 : m->standard != NULL ? 1 : 2;
}

/* NULL sorts first. */
static int opt_cmp(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

static int group_cmp(const cairn_report_item *x, const cairn_report_item *y) {
  const cairn_store_milestone_status *a = x->milestone, *b = y->milestone;
  int c = group_class(a) - group_class(b);
  if (c == 0)
    c = opt_cmp(a->template_id, b->template_id);
  if (c == 0)
    c = opt_cmp(a->standard, b->standard);
  return c != 0 ? c : strcmp(a->type, b->type);
}

static int program_cmp(const void *a, const void *b) {
  const cairn_report_item *x = a, *y = b;
  int c = group_cmp(x, y);
  return c != 0 ? c : cairn__report_item_cmp(a, b);
}

static cairn_report_program_row *push_row(cairn_report_program_row *rows, size_t *n,
                                          const cairn_report_item *it, cairn_report_place place) {
  cairn_report_program_row *row = &rows[(*n)++];
  memset(row, 0, sizeof *row);
  row->template_id = it->milestone->template_id;
  row->standard = it->milestone->standard;
  row->type = it->milestone->type;
  row->place = place;
  row->campus = place != CAIRN_REPORT_ALL ? it->student->campus : NULL;
  row->classroom = place == CAIRN_REPORT_CLASSROOM ? cairn_report_classroom(it->student) : NULL;
  return row;
}

static int missed_cmp(const void *a, const void *b) {
  const cairn_report_program_row *x = *(const cairn_report_program_row *const *)a;
  const cairn_report_program_row *y = *(const cairn_report_program_row *const *)b;
  if (x->counts.missed != y->counts.missed)
    return x->counts.missed > y->counts.missed ? -1 : 1;
  /* the larger share first: x.missed/x.milestones vs y's, without division */
  size_t l = x->counts.missed * y->counts.milestones, r = y->counts.missed * x->counts.milestones;
  if (l != r)
    return l > r ? -1 : 1;
  return x < y ? -1 : x > y; /* row order */
}

static int build_program(cairn_report *r, cairn_report_item *items, size_t n) {
  cairn_report_program_row *rows = cairn__report_alloc(r, 3 * n * sizeof *rows);
  size_t nrows = 0, nranked = 0;
  if (rows == NULL)
    return CAIRN_ENOMEM;
  qsort(items, n, sizeof *items, program_cmp);
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i + 1; j < n && group_cmp(&items[i], &items[j]) == 0; j++)
      ;
    size_t all = nrows;
    push_row(rows, &nrows, &items[i], CAIRN_REPORT_ALL);
    for (size_t k = i, c_end; k < j; k = c_end) {
      for (c_end = k + 1;
           c_end < j && strcmp(items[k].student->campus, items[c_end].student->campus) == 0;
           c_end++)
        ;
      size_t campus = nrows;
      push_row(rows, &nrows, &items[k], CAIRN_REPORT_CAMPUS);
      for (size_t q = k, r_end; q < c_end; q = r_end) {
        for (r_end = q + 1; r_end < c_end && place_cmp(&items[q], &items[r_end]) == 0; r_end++)
          ;
        cairn_report_program_row *room = push_row(rows, &nrows, &items[q], CAIRN_REPORT_CLASSROOM);
        count_items(&room->counts, &items[q], r_end - q);
        add_counts(&rows[campus].counts, &room->counts);
      }
      add_counts(&rows[all].counts, &rows[campus].counts);
    }
    nranked += group_class(items[i].milestone) < 2 && rows[all].counts.missed > 0;
  }
  const cairn_report_program_row **ranked =
      cairn__report_alloc(r, (nranked ? nranked : 1) * sizeof *ranked);
  if (ranked == NULL)
    return CAIRN_ENOMEM;
  nranked = 0;
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].place == CAIRN_REPORT_ALL && rows[i].counts.missed > 0 &&
        (rows[i].template_id != NULL || rows[i].standard != NULL))
      ranked[nranked++] = &rows[i];
  qsort(ranked, nranked, sizeof *ranked, missed_cmp);
  for (size_t i = 0; i < nranked; i++)
    ((cairn_report_program_row *)ranked[i])->missed_rank = i + 1;
  r->program = rows;
  r->nprogram = nrows;
  r->missed = ranked;
  r->nmissed = nranked;
  return 0;
}

/* ---- red -------------------------------------------------------------------- */

static int32_t days_overdue(const cairn_report *r, const cairn_progress *p) {
  return p->overdue ? r->as_of - p->next_review_due : 0;
}

static int build_red(cairn_report *r, const cairn_report_item *items, size_t n) {
  cairn_report_red_row *rows = cairn__report_alloc(r, n * sizeof *rows);
  cairn_report_campus_count *campuses = cairn__report_alloc(r, n * sizeof *campuses);
  size_t nrows = 0, ncampuses = 0;
  if (rows == NULL || campuses == NULL)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const cairn_store_milestone_status *m = items[i].milestone;
    const cairn_progress *p = &m->progress;
    int red = p->light == CAIRN_LIGHT_RED;
    if (!red && m->ntriggered == 0 && m->nfuture == 0)
      continue;
    cairn_report_red_row *row = &rows[nrows++];
    row->item = items[i];
    row->red = red;
    row->days_since = p->points > 0 ? r->as_of - p->last_day : -1;
    row->days_overdue = days_overdue(r, p);
    cairn_report_campus_count *c = &campuses[ncampuses - (ncampuses > 0)];
    if (ncampuses == 0 || strcmp(c->campus, items[i].student->campus) != 0) {
      c = &campuses[ncampuses++];
      c->campus = items[i].student->campus;
    }
    c->students += nrows == 1 || rows[nrows - 2].item.si != items[i].si;
    c->red += red;
    c->triggered += m->ntriggered > 0;
    c->future += m->nfuture;
  }
  r->red = rows;
  r->nred = nrows;
  r->campuses = campuses;
  r->ncampuses = ncampuses;
  return 0;
}

/* ---- reviews -------------------------------------------------------------------- */

static int review_cmp(const void *a, const void *b) {
  const cairn_report_review_row *x = a, *y = b;
  int c = place_cmp(&x->item, &y->item);
  if (c != 0)
    return c;
  if (x->days_overdue != y->days_overdue)
    return x->days_overdue > y->days_overdue ? -1 : 1;
  return view_cmp(&x->item, &y->item);
}

static int build_reviews(cairn_report *r, const cairn_report_item *items, size_t n) {
  cairn_report_review_row *rows = cairn__report_alloc(r, n * sizeof *rows);
  cairn_report_classroom_count *rooms = cairn__report_alloc(r, n * sizeof *rooms);
  size_t nrows = 0, nrooms = 0;
  if (rows == NULL || rooms == NULL)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const cairn_progress *p = &items[i].milestone->progress;
    cairn_report_classroom_count *c = &rooms[nrooms - (nrooms > 0)];
    if (nrooms == 0 || place_cmp(&items[i - 1], &items[i]) != 0) {
      c = &rooms[nrooms++];
      c->campus = items[i].student->campus;
      c->classroom = cairn_report_classroom(items[i].student);
    }
    c->milestones++;
    if (!p->overdue)
      continue;
    c->overdue++;
    rows[nrows++] = (cairn_report_review_row){items[i], days_overdue(r, p)};
  }
  qsort(rows, nrows, sizeof *rows, review_cmp);
  r->reviews = rows;
  r->nreviews = nrows;
  r->classrooms = rooms;
  r->nclassrooms = nrooms;
  return 0;
}

/* ---- the report ----------------------------------------------------------------- */

static int build_future(cairn_report *r, const cairn_report_item *items, size_t n) {
  cairn_report_item *future = cairn__report_alloc(r, n * sizeof *future);
  size_t nf = 0;
  if (future == NULL)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (items[i].milestone->nfuture > 0)
      future[nf++] = items[i];
  r->future = future;
  r->nfuture = nf;
  return 0;
}

int cairn_report_build(cairn_store_status_view *v, cairn_report_kind kind,
                       const cairn_report_filter *f, cairn_report **out) {
  cairn_report *r = calloc(1, sizeof *r);
  cairn_report_item *items = NULL;
  size_t n = 0;
  int rc;

  *out = NULL;
  if (r == NULL || (r->owned = calloc(1, sizeof *r->owned)) == NULL) {
    free(r);
    cairn_store_status_free(v);
    return CAIRN_ENOMEM;
  }
  r->owned->view = v;
  r->kind = kind;
  r->as_of = v->as_of;
  r->future_after = v->future_after;
  if (cairn_report_kind_name(kind) == NULL) {
    cairn_report_free(r);
    return CAIRN_EINVAL;
  }
  rc = collect(r, v, f, &items, &n);
  if (rc == 0) {
    /* by place, then view order: the order of red, reviews and future */
    qsort(items, n, sizeof *items, cairn__report_item_cmp);
    count_items(&r->total, items, n);
    rc = build_future(r, items, n);
  }
  if (rc == 0) {
    switch (kind) {
    case CAIRN_REPORT_PROGRAM:
      rc = build_program(r, items, n);
      break;
    case CAIRN_REPORT_RED:
      rc = build_red(r, items, n);
      break;
    case CAIRN_REPORT_REVIEWS:
      rc = build_reviews(r, items, n);
      break;
    case CAIRN_REPORT_SUPPORTS:
      rc = cairn__report_supports(r, items, n);
      break;
    }
  }
  if (rc != 0) {
    cairn_report_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

/* ---- labels, checks, running ---------------------------------------------------- */

/* The text of field of record (type, id) of s, in r; NULL when there is
 * none. Returns 0 or a negative code. */
static int label_of(cairn_store *s, cairn_report *r, int type, const char *id, const char *field,
                    const char **out) {
  cairn_store_history *h = NULL;
  int rc = cairn_store_show_type(s, type, id, &h);
  *out = NULL;
  if (rc == CAIRN_ENOTFOUND)
    return 0; /* a milestone may name a template this node has not received yet */
  for (size_t i = 0; rc == 0 && i < h->nfields; i++)
    if (strcmp(h->fields[i].name, field) == 0 && h->fields[i].value.kind == CAIRN_STORE_STR &&
        (*out = cairn__report_strdup(r, h->fields[i].value.u.str.s)) == NULL)
      rc = CAIRN_ENOMEM;
  cairn_store_history_free(h);
  return rc;
}

/* Fills the titles and standard texts of the program rows. */
static int add_labels(cairn_store *s, cairn_report *r) {
  cairn_report_program_row *rows = (cairn_report_program_row *)r->program;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < r->nprogram; i++) {
    if (rows[i].place != CAIRN_REPORT_ALL)
      continue; /* a group's rows share its ALL row's labels */
    if (rows[i].template_id != NULL)
      rc = label_of(s, r, CAIRN_REC_TEMPLATE, rows[i].template_id, "title", &rows[i].title);
    if (rc == 0 && rows[i].standard != NULL)
      rc = label_of(s, r, CAIRN_REC_STANDARD, rows[i].standard, "text", &rows[i].standard_text);
    for (size_t k = i + 1; k < r->nprogram && rows[k].place != CAIRN_REPORT_ALL; k++) {
      rows[k].title = rows[i].title;
      rows[k].standard_text = rows[i].standard_text;
    }
  }
  return rc;
}

/* Refuses a filter naming what cannot be: a type no milestone has, a
 * template or standard this node does not hold. */
static int check_filter(cairn_store *s, const cairn_report_filter *f, char *why, size_t whylen) {
  static const struct {
    int type;
    const char *name;
  } refs[] = {{CAIRN_REC_TEMPLATE, "template"}, {CAIRN_REC_STANDARD, "standard"}};
  if (f == NULL)
    return 0;
  if (f->type != NULL && f->type[0] != '\0') {
    const cairn_field_def *fd = cairn_record_field(CAIRN_REC_MILESTONE, "type", 4);
    const char *const *e = fd->enum_values;
    while (*e != NULL && strcmp(*e, f->type) != 0)
      e++;
    if (*e == NULL) {
      snprintf(why, whylen,
               "type: must be one of academic, behavior, social-emotional, future-readiness");
      return CAIRN_EINVAL;
    }
  }
  for (size_t i = 0; i < 2; i++) {
    const char *id = i == 0 ? f->template_id : f->standard;
    cairn_store_history *h = NULL;
    if (id == NULL || id[0] == '\0')
      continue;
    int rc = cairn_store_show_type(s, refs[i].type, id, &h);
    cairn_store_history_free(h);
    if (rc == CAIRN_ENOTFOUND)
      snprintf(why, whylen, "%s: no %s with id %s on this node", refs[i].name, refs[i].name, id);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int cairn_report_run(cairn_store *s, cairn_report_kind kind, const cairn_report_filter *f,
                     int32_t as_of, cairn_report **out, char *why, size_t whylen) {
  cairn_store_status_view *v = NULL;
  int32_t tomorrow = cairn_store_today(s) + 1;
  int rc;

  *out = NULL;
  if (as_of > tomorrow) {
    char day[11], limit[11];
    cairn_text_date_format(as_of, day);
    cairn_text_date_format(tomorrow, limit);
    snprintf(why, whylen,
             "as-of: %s is after tomorrow (%s) by this node's clock: a report says what is known",
             day, limit);
    return CAIRN_EDATE;
  }
  if ((rc = check_filter(s, f, why, whylen)) != 0)
    return rc;
  if ((rc = cairn_store_status(s, NULL, as_of, &v)) != 0)
    return rc;
  if ((rc = cairn_report_build(v, kind, f, out)) != 0)
    return rc;
  if (kind == CAIRN_REPORT_PROGRAM && (rc = add_labels(s, *out)) != 0) {
    cairn_report_free(*out);
    *out = NULL;
  }
  return rc;
}
