/*
 * store_detail.c: a milestone's page as a typed result (store.h,
 * cairn_store_detail): its status as cairn_store_status gives
 * it, the rest of its record, every evidence entry with its amendments and
 * retraction, its reviews, support changes and celebrations, and the lines
 * of its graph from progress.h. One read transaction; the result owns its
 * memory (an arena).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "text.h"

/* What is gathered for one milestone, in malloc'd arrays until copied. */
typedef struct gather {
  cairn_store *s;
  MDB_txn *txn;
  int32_t as_of;
  struct cairn__store_arena *arena;
  msgpack_zone zone; /* one child record at a time */
  cairn__store_rec rec;
  int rc;            /* the first allocation failure */
  /* each item with the (hlc, author) of its creation, for the order */
  struct point_at {
    cairn_store_point p;
    uint64_t hlc;
    const uint8_t *author; /* in the arena */
  } *pts;
  size_t npts, pts_cap;
  struct dated_at {
    int32_t day;
    uint64_t hlc;
    const uint8_t *author;
    size_t index; /* in the kind's list */
  } *order;
  size_t norder, order_cap;
  cairn_store_review_item *reviews;
  size_t nreviews, reviews_cap;
  cairn_store_support_item *supports;
  size_t nsupports, supports_cap;
  cairn_store_celebration_item *celebrations;
  size_t ncelebrations, celebrations_cap;
} gather;

/* A copy in the arena of field of the record just loaded, "" when unset. */
static const char *text_of(gather *g, const cairn__store_rec *r, const char *field) {
  const char *s;
  size_t len;
  const char *out;
  if (!cairn__store_obj_str(cairn__store_rec_value(r, field, NULL), &s, &len)) {
    s = "";
    len = 0;
  }
  out = cairn__store_arena_str(g->arena, s, len);
  if (out == NULL)
    g->rc = CAIRN_ENOMEM;
  return out != NULL ? out : "";
}

static int date_field(const cairn__store_rec *r, const char *field, int32_t *day) {
  const char *s;
  size_t len;
  return cairn__store_obj_str(cairn__store_rec_value(r, field, NULL), &s, &len)
             ? cairn_text_date_parse(s, len, day)
             : CAIRN_EDATE;
}

static int child_load(gather *g, int type, const char *id, size_t len) {
  msgpack_zone_clear(&g->zone);
  int rc = cairn__store_rec_load(g->txn, g->s->records, type, id, len, &g->zone, &g->rec);
  return rc == CAIRN_ENOTFOUND ? CAIRN_ECORRUPT : rc;
}

/* The creation of the record just loaded: the write that set field (a
 * field only the creation sets), else its first write. */
static const cairn__store_write *creation(const cairn__store_rec *r, const char *field) {
  size_t wi;
  if (cairn__store_rec_value(r, field, &wi) != NULL)
    return &r->w[wi];
  return &r->w[0];
}

static const uint8_t *author_copy(gather *g, const uint8_t *author) {
  uint8_t *a = cairn__store_arena_alloc(g->arena, CAIRN_KEY_BYTES);
  if (a == NULL)
    return NULL;
  memcpy(a, author, CAIRN_KEY_BYTES);
  return a;
}

static int add_point(const char *id, size_t len, void *arg) {
  gather *g = arg;
  int rc = child_load(g, CAIRN_REC_EVIDENCE, id, len);
  if (rc != 0)
    return rc;
  const cairn__store_rec *r = &g->rec;
  const cairn__store_write *made = creation(r, "observed");
  int32_t day;
  double value, original = 0;
  if (date_field(r, "observed", &day) != 0 ||
      !cairn__store_obj_num(cairn__store_rec_value(r, "value", NULL), &value))
    return CAIRN_ECORRUPT;
  if (day > g->as_of)
    return 0;
  int amended = 0, have_original = 0;
  for (size_t i = 0; i < r->n; i++) {
    const msgpack_object *v = cairn_record_map_get(r->w[i].set, "value");
    if (v == NULL)
      continue;
    if (&r->w[i] == made && cairn__store_obj_num(v, &original))
      have_original = 1;
    else
      amended = 1;
  }
  if (cairn__store_grow((void **)&g->pts, &g->pts_cap, g->npts + 1, sizeof *g->pts, 16) != 0)
    return CAIRN_ENOMEM;
  struct point_at *p = &g->pts[g->npts++];
  memset(p, 0, sizeof *p);
  p->p.evidence = cairn__store_arena_str(g->arena, id, len);
  p->p.day = day;
  p->p.value = value;
  p->p.amended = amended;
  p->p.original = have_original ? original : value;
  p->p.retracted = cairn__store_obj_true(cairn__store_rec_value(r, "retracted", NULL));
  p->p.by = text_of(g, r, "by");
  p->p.note = text_of(g, r, "note");
  p->hlc = made->hlc;
  p->author = author_copy(g, made->author);
  return p->p.evidence == NULL || p->author == NULL ? CAIRN_ENOMEM : g->rc;
}

/* Notes the order of the dated child just loaded (index in its list).
 * Returns 1 when it is dated after the view's day (left out), 0, or a
 * negative code. */
static int dated(gather *g, int32_t *day) {
  const cairn__store_write *made = creation(&g->rec, "milestone");
  if (date_field(&g->rec, "date", day) != 0)
    return CAIRN_ECORRUPT;
  if (*day > g->as_of)
    return 1;
  if (cairn__store_grow((void **)&g->order, &g->order_cap, g->norder + 1, sizeof *g->order, 16) !=
      0)
    return CAIRN_ENOMEM;
  struct dated_at *o = &g->order[g->norder++];
  o->day = *day;
  o->hlc = made->hlc;
  o->author = author_copy(g, made->author);
  return o->author != NULL ? 0 : CAIRN_ENOMEM;
}

static int add_review(const char *id, size_t len, void *arg) {
  gather *g = arg;
  int32_t day;
  int rc = child_load(g, CAIRN_REC_REVIEW, id, len);
  if (rc == 0 && (rc = dated(g, &day)) == 0 &&
      (rc = cairn__store_grow((void **)&g->reviews, &g->reviews_cap, g->nreviews + 1,
                              sizeof *g->reviews, 8)) == 0) {
    cairn_store_review_item *it = &g->reviews[g->nreviews];
    g->order[g->norder - 1].index = g->nreviews++;
    it->id = cairn__store_arena_str(g->arena, id, len);
    it->day = day;
    it->kind = text_of(g, &g->rec, "kind");
    it->decision = text_of(g, &g->rec, "decision");
    it->showed = text_of(g, &g->rec, "showed");
    it->note = text_of(g, &g->rec, "note");
    rc = it->id != NULL ? g->rc : CAIRN_ENOMEM;
  }
  return rc == 1 ? 0 : rc;
}

static int add_support(const char *id, size_t len, void *arg) {
  gather *g = arg;
  int32_t day;
  int rc = child_load(g, CAIRN_REC_SUPPORT_CHANGE, id, len);
  if (rc == 0 && (rc = dated(g, &day)) == 0 &&
      (rc = cairn__store_grow((void **)&g->supports, &g->supports_cap, g->nsupports + 1,
                              sizeof *g->supports, 8)) == 0) {
    cairn_store_support_item *it = &g->supports[g->nsupports];
    g->order[g->norder - 1].index = g->nsupports++;
    it->id = cairn__store_arena_str(g->arena, id, len);
    it->day = day;
    it->support = text_of(g, &g->rec, "support");
    it->note = text_of(g, &g->rec, "note");
    rc = it->id != NULL ? g->rc : CAIRN_ENOMEM;
  }
  return rc == 1 ? 0 : rc;
}

static int add_celebration(const char *id, size_t len, void *arg) {
  gather *g = arg;
  int32_t day;
  int rc = child_load(g, CAIRN_REC_CELEBRATION, id, len);
  if (rc == 0 && (rc = dated(g, &day)) == 0 &&
      (rc = cairn__store_grow((void **)&g->celebrations, &g->celebrations_cap,
                              g->ncelebrations + 1, sizeof *g->celebrations, 8)) == 0) {
    cairn_store_celebration_item *it = &g->celebrations[g->ncelebrations];
    g->order[g->norder - 1].index = g->ncelebrations++;
    it->id = cairn__store_arena_str(g->arena, id, len);
    it->day = day;
    it->text = text_of(g, &g->rec, "text");
    rc = it->id != NULL ? g->rc : CAIRN_ENOMEM;
  }
  return rc == 1 ? 0 : rc;
}

/* By day, then by the (hlc, author) of the creation: the order recorded. */
static int when_cmp(int32_t da, uint64_t ha, const uint8_t *aa, int32_t db, uint64_t hb,
                    const uint8_t *ab) {
  if (da != db)
    return da < db ? -1 : 1;
  if (ha != hb)
    return ha < hb ? -1 : 1;
  return memcmp(aa, ab, CAIRN_KEY_BYTES);
}

static int point_cmp(const void *a, const void *b) {
  const struct point_at *x = a, *y = b;
  return when_cmp(x->p.day, x->hlc, x->author, y->p.day, y->hlc, y->author);
}

static int dated_cmp(const void *a, const void *b) {
  const struct dated_at *x = a, *y = b;
  return when_cmp(x->day, x->hlc, x->author, y->day, y->hlc, y->author);
}

/* Copies the norder items of one kind (the last gathered: order holds
 * exactly them) into the arena, in order. */
static void *sorted_copy(gather *g, const void *items, size_t n, size_t size) {
  if (n == 0)
    return NULL;
  unsigned char *out = cairn__store_arena_alloc(g->arena, n * size);
  if (out == NULL)
    return NULL;
  qsort(g->order, g->norder, sizeof *g->order, dated_cmp);
  for (size_t i = 0; i < n; i++)
    memcpy(out + i * size, (const unsigned char *)items + g->order[i].index * size, size);
  g->norder = 0;
  return out;
}

/* Runs fn over the children of type ctype of milestone id. */
static int each(gather *g, const char *id, int ctype, int (*fn)(const char *, size_t, void *)) {
  g->norder = 0;
  return cairn__store_each_child(g->s, g->txn, CAIRN_REC_MILESTONE, id, strlen(id), ctype, fn, g);
}

/* A list of strings of field of r, in the arena. */
static int strings_of(gather *g, const cairn__store_rec *r, const char *field,
                      const char *const **out, size_t *n) {
  const msgpack_object *o = cairn__store_rec_value(r, field, NULL);
  *out = NULL;
  *n = 0;
  if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
    return 0;
  const char **list = cairn__store_arena_alloc(g->arena, o->via.array.size * sizeof *list);
  if (list == NULL)
    return CAIRN_ENOMEM;
  for (uint32_t i = 0; i < o->via.array.size; i++) {
    const msgpack_object *v = &o->via.array.ptr[i];
    if (v->type != MSGPACK_OBJECT_STR)
      continue;
    if ((list[*n] = cairn__store_arena_str(g->arena, v->via.str.ptr, v->via.str.size)) == NULL)
      return CAIRN_ENOMEM;
    (*n)++;
  }
  *out = list;
  return 0;
}

/* Fills *d for the milestone whose status is st. */
static int detail_of(gather *g, const cairn_store_milestone_status *st,
                     cairn_store_milestone_detail *d) {
  msgpack_zone zone;
  cairn__store_rec m = {0};
  int rc;

  memset(d, 0, sizeof *d);
  d->status = st;
  d->level_words = cairn_progress_level_words(st->progress.level);
  if (!msgpack_zone_init(&zone, 4096))
    return CAIRN_ENOMEM;
  rc = cairn__store_rec_load(g->txn, g->s->records, CAIRN_REC_MILESTONE, st->id, strlen(st->id),
                             &zone, &m);
  if (rc == CAIRN_ENOTFOUND)
    rc = CAIRN_ECORRUPT;
  if (rc == 0) {
    if (date_field(&m, "baseline_date", &d->baseline_date) != 0)
      d->baseline_date = CAIRN_PROGRESS_NO_DAY;
    d->baseline_how = text_of(g, &m, "baseline_how");
    d->method = text_of(g, &m, "method");
    d->source = text_of(g, &m, "source");
    d->alignment = text_of(g, &m, "alignment");
    d->at_home = text_of(g, &m, "at_home");
    d->own_support = text_of(g, &m, "support");
    rc = g->rc;
  }
  if (rc == 0)
    rc = strings_of(g, &m, "if_then", &d->if_then, &d->nif_then);
  if (rc == 0)
    rc = strings_of(g, &m, "agreed_by", &d->agreed_by, &d->nagreed_by);
  cairn__store_rec_free(&m);
  msgpack_zone_destroy(&zone);

  /* the points, and the trend line through the active ones */
  g->npts = 0;
  if (rc == 0)
    rc = each(g, st->id, CAIRN_REC_EVIDENCE, add_point);
  if (rc == 0 && g->npts > 0) {
    cairn_store_point *pts = cairn__store_arena_alloc(g->arena, g->npts * sizeof *pts);
    cairn_point *active = malloc(g->npts * sizeof *active);
    size_t nactive = 0;
    if (pts == NULL || active == NULL) {
      rc = CAIRN_ENOMEM;
    } else {
      qsort(g->pts, g->npts, sizeof *g->pts, point_cmp);
      for (size_t i = 0; i < g->npts; i++) {
        pts[i] = g->pts[i].p;
        if (!pts[i].retracted)
          active[nactive++] = (cairn_point){pts[i].day, pts[i].value};
      }
      d->points = pts;
      d->npoints = g->npts;
      cairn_progress_trend_line(&st->params, active, nactive, g->as_of, &d->trendline);
    }
    free(active);
  }
  cairn_progress_aimline(&st->params, &st->progress, &d->aimline);

  /* reviews, support changes, celebrations, each in date order */
  g->nreviews = g->nsupports = g->ncelebrations = 0;
  if (rc == 0 && (rc = each(g, st->id, CAIRN_REC_REVIEW, add_review)) == 0) {
    d->reviews = sorted_copy(g, g->reviews, g->nreviews, sizeof *g->reviews);
    d->nreviews = g->nreviews;
  }
  if (rc == 0 && (rc = each(g, st->id, CAIRN_REC_SUPPORT_CHANGE, add_support)) == 0) {
    d->support_changes = sorted_copy(g, g->supports, g->nsupports, sizeof *g->supports);
    d->nsupport_changes = g->nsupports;
  }
  if (rc == 0 && (rc = each(g, st->id, CAIRN_REC_CELEBRATION, add_celebration)) == 0) {
    d->celebrations = sorted_copy(g, g->celebrations, g->ncelebrations, sizeof *g->celebrations);
    d->ncelebrations = g->ncelebrations;
  }
  if (rc == 0 && ((d->nreviews && !d->reviews) || (d->nsupport_changes && !d->support_changes) ||
                  (d->ncelebrations && !d->celebrations)))
    rc = CAIRN_ENOMEM;
  return rc != 0 ? rc : g->rc;
}

void cairn_store_detail_free(cairn_store_detail_view *v) {
  if (v == NULL)
    return;
  cairn__store_arena_free(v->arena);
  free(v);
}

/* The view of student (every milestone, or only milestone when not NULL). */
static int detail_read(cairn_store *s, const char *student, const char *milestone,
                       int32_t as_of, cairn_store_detail_view *v) {
  gather g = {.s = s, .as_of = as_of, .arena = v->arena};
  cairn_store_student_summary *sum;
  int rc;

  if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &g.txn) != 0)
    return CAIRN_EIO;
  if (!msgpack_zone_init(&g.zone, 4096)) {
    mdb_txn_abort(g.txn);
    return CAIRN_ENOMEM;
  }
  sum = cairn__store_arena_alloc(v->arena, sizeof *sum);
  rc = sum != NULL ? 0 : CAIRN_ENOMEM;
  if (rc == 0 && milestone != NULL) { /* its student, from its record */
    const char *sid;
    size_t sidlen;
    rc = cairn__store_rec_load(g.txn, s->records, CAIRN_REC_MILESTONE, milestone,
                               strlen(milestone), &g.zone, &g.rec);
    if (rc == 0 && (cairn__store_obj_true(cairn__store_rec_value(&g.rec, "deleted", NULL)) ||
                    !cairn__store_obj_str(cairn__store_rec_value(&g.rec, "student", NULL), &sid,
                                          &sidlen)))
      rc = CAIRN_ENOTFOUND;
    if (rc == 0 && (student = cairn__store_arena_str(v->arena, sid, sidlen)) == NULL)
      rc = CAIRN_ENOMEM;
  }
  if (rc == 0)
    rc = cairn__store_student_status(s, g.txn, v->arena, student, as_of, sum);
  if (rc == 0 && milestone != NULL) { /* only that milestone */
    size_t i;
    for (i = 0; i < sum->nmilestones && strcmp(sum->milestones[i].id, milestone) != 0; i++)
      ;
    if (i == sum->nmilestones) {
      rc = CAIRN_ENOTFOUND; /* incomplete: its status cannot be derived */
    } else {
      sum->milestones += i;
      sum->nmilestones = 1;
    }
  }
  cairn_store_milestone_detail *ds = NULL;
  if (rc == 0 && sum->nmilestones > 0 &&
      (ds = cairn__store_arena_alloc(v->arena, sum->nmilestones * sizeof *ds)) == NULL)
    rc = CAIRN_ENOMEM;
  for (size_t i = 0; rc == 0 && i < sum->nmilestones; i++)
    rc = detail_of(&g, &sum->milestones[i], &ds[i]);
  if (rc == 0) {
    v->student = sum;
    v->milestones = ds;
    v->nmilestones = sum->nmilestones;
  }
  mdb_txn_abort(g.txn);
  free(g.pts);
  free(g.order);
  free(g.reviews);
  free(g.supports);
  free(g.celebrations);
  cairn__store_rec_free(&g.rec);
  msgpack_zone_destroy(&g.zone);
  return rc;
}

static int detail_new(cairn_store *s, const char *student, const char *milestone,
                      int32_t as_of, cairn_store_detail_view **out) {
  cairn_store_detail_view *v = calloc(1, sizeof *v);
  int rc;

  *out = NULL;
  if (v == NULL || (v->arena = cairn__store_arena_new()) == NULL) {
    free(v);
    return CAIRN_ENOMEM;
  }
  v->as_of = as_of;
  rc = detail_read(s, student, milestone, as_of, v);
  if (rc != 0) {
    cairn_store_detail_free(v);
    return rc;
  }
  *out = v;
  return 0;
}

int cairn_store_detail(cairn_store *s, const char *id, int32_t as_of,
                                 cairn_store_detail_view **out) {
  return detail_new(s, NULL, id, as_of, out);
}

int cairn_store_detail_student(cairn_store *s, const char *student, int32_t as_of,
                               cairn_store_detail_view **out) {
  return detail_new(s, student, NULL, as_of, out);
}
