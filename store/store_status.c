/*
 * store_status.c: the typed views of store.h. A milestone's status, a
 * student's summary and a record's history are read in one read
 * transaction into plain structs that own their memory (an arena), for
 * cairnd to encode and for reports to read. The numbers and sentences come
 * from progress.h; this file only gathers a milestone's records for it.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "text.h"

/* ---- what a result owns -------------------------------------------------- */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t align; /* the data after the header is aligned for anything */
} arena_chunk;

struct cairn__store_arena {
  arena_chunk *head;
};

#define ARENA_CHUNK 16384

static void *arena_alloc(struct cairn__store_arena *a, size_t n) {
  size_t align = _Alignof(max_align_t);
  n = (n + align - 1) / align * align;
  if (n == 0)
    n = align;
  if (a->head == NULL || a->head->cap - a->head->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    arena_chunk *c = malloc(sizeof *c + cap);
    if (c == NULL)
      return NULL;
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = (unsigned char *)(a->head + 1) + a->head->used;
  a->head->used += n;
  return p;
}

static void arena_free(struct cairn__store_arena *a) {
  if (a == NULL)
    return;
  for (arena_chunk *c = a->head, *next; c != NULL; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

/* A NUL-terminated copy of s[0..len) in the arena, or NULL. */
static char *arena_str(struct cairn__store_arena *a, const char *s, size_t len) {
  char *p = arena_alloc(a, len + 1);
  if (p != NULL) {
    memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

static char *arena_cstr(struct cairn__store_arena *a, const char *s) {
  return arena_str(a, s, strlen(s));
}

/* Makes room for one more element in an array held in the arena (the old
 * copy is left behind). Returns 0 or CAIRN_ENOMEM. */
static int arena_grow(struct cairn__store_arena *a, void **items, size_t n, size_t *cap,
                      size_t size) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? 2 * *cap : 8;
  void *p = arena_alloc(a, ncap * size);
  if (p == NULL)
    return CAIRN_ENOMEM;
  if (n > 0)
    memcpy(p, *items, n * size);
  *items = p;
  *cap = ncap;
  return 0;
}

/* Makes room for one more element in a malloc'd array. Returns 0 or
 * CAIRN_ENOMEM (the array is left as it was). */
static int grow(void **items, size_t n, size_t *cap, size_t size) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? 2 * *cap : 16;
  void *p = realloc(*items, ncap * size);
  if (p == NULL)
    return CAIRN_ENOMEM;
  *items = p;
  *cap = ncap;
  return 0;
}

/* ---- ids in the order people count -------------------------------------- */

/* Compares a[0..alen) and b[0..blen) byte by byte, except that runs of
 * digits compare as numbers: "3fa2c1d9-2" < "3fa2c1d9-10". */
static int natural_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t i = 0, j = 0;
  while (i < alen && j < blen) {
    int da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      size_t si = i, sj = j;
      while (si < alen && a[si] == '0')
        si++;
      while (sj < blen && b[sj] == '0')
        sj++;
      size_t ei = si, ej = sj;
      while (ei < alen && a[ei] >= '0' && a[ei] <= '9')
        ei++;
      while (ej < blen && b[ej] >= '0' && b[ej] <= '9')
        ej++;
      if (ei - si != ej - sj)
        return ei - si < ej - sj ? -1 : 1;
      int c = memcmp(a + si, b + sj, ei - si);
      if (c != 0)
        return c;
      i = ei;
      j = ej;
      continue;
    }
    if (a[i] != b[j])
      return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
    i++;
    j++;
  }
  if (i < alen || j < blen)
    return i < alen ? 1 : -1;
  return 0;
}

/* ---- a milestone's parameters -------------------------------------------- */

static int obj_is(const msgpack_object *o, const char *s) {
  const char *v;
  size_t len;
  return cairn__store_obj_str(o, &v, &len) && len == strlen(s) && memcmp(v, s, len) == 0;
}

static int obj_date(const msgpack_object *o, int32_t *day) {
  const char *s;
  size_t len;
  return cairn__store_obj_str(o, &s, &len) ? cairn_text_date_parse(s, len, day) : CAIRN_EDATE;
}

static int day_cmp(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return x < y ? -1 : x > y;
}

/* An int field, clamped into int (the schema allows any int64). */
static void int_field(const msgpack_object *o, int *out) {
  double v;
  if (cairn__store_obj_num(o, &v))
    *out = v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static int params_fail(char *why, size_t whylen, const char *msg) {
  if (why != NULL && whylen > 0)
    snprintf(why, whylen, "%s", msg);
  return CAIRN_EINVAL;
}

int cairn__store_milestone_params(const msgpack_object *set, const cairn__store_rec *m,
                                  cairn_milestone_params *p, int32_t *checks, char *why,
                                  size_t whylen) {
  const msgpack_object *o;
  const char *s;
  size_t len;
  double v;
  cairn_scale sc;

  memset(p, 0, sizeof *p);
  cairn_progress_params_defaults(p);
  o = cairn__store_field_of(set, m, "scale");
  if (!cairn__store_obj_str(o, &s, &len) ||
      cairn_record_scale_parse(s, len, cairn__store_field_of(set, m, "levels"), &sc) != 0)
    return params_fail(why, whylen, "scale: " CAIRN_RECORD_SCALE_RULE);
  p->scale_min = sc.min;
  p->scale_max = sc.max;
  p->scale_kind = sc.kind;
  p->nlabels = sc.nlabels;

  o = cairn__store_field_of(set, m, "direction");
  p->direction = obj_is(o, "down") || obj_is(o, "at-most") ? -1 : 1;
  p->goal = obj_is(o, "at-least") || obj_is(o, "at-most") ? CAIRN_GOAL_MAINTAIN
                                                          : CAIRN_GOAL_REACH;
  if (cairn__store_obj_num(cairn__store_field_of(set, m, "baseline"), &v))
    p->baseline = v;
  else
    p->baseline_pending = 1;
  if (!cairn__store_obj_num(cairn__store_field_of(set, m, "target"), &p->target))
    return params_fail(why, whylen, "target: required");
  if (cairn__store_obj_str(cairn__store_field_of(set, m, "rule"), &s, &len) &&
      cairn_record_rule_parse(s, len, &p->rule_k, &p->rule_n) != 0)
    return params_fail(why, whylen, "rule: must be \"K of N\" with 1 <= K <= N <= 50");
  if (obj_date(cairn__store_field_of(set, m, "start"), &p->start) != 0)
    return params_fail(why, whylen, "start: required, YYYY-MM-DD");
  if (obj_date(cairn__store_field_of(set, m, "end"), &p->end) != 0)
    return params_fail(why, whylen, "end: required, YYYY-MM-DD");

  o = cairn__store_field_of(set, m, "checks");
  for (uint32_t i = 0; o != NULL && o->type == MSGPACK_OBJECT_ARRAY && i < o->via.array.size &&
                       p->nchecks < CAIRN__STORE_CHECKS_MAX;
       i++)
    if (obj_date(&o->via.array.ptr[i], &checks[p->nchecks]) == 0)
      p->nchecks++;
  qsort(checks, p->nchecks, sizeof *checks, day_cmp);
  p->checks = checks;

  p->cadence_days = 30; /* monthly, the default */
  o = cairn__store_field_of(set, m, "cadence");
  if (cairn__store_obj_str(o, &s, &len) && len < 16) {
    char name[16];
    memcpy(name, s, len);
    name[len] = '\0';
    if (cairn_progress_cadence_days(name) > 0)
      p->cadence_days = cairn_progress_cadence_days(name);
  }
  int_field(cairn__store_field_of(set, m, "wrong_side_n"), &p->wrong_side_n);
  int_field(cairn__store_field_of(set, m, "trend_points"), &p->trend_points);
  if (cairn__store_obj_num(cairn__store_field_of(set, m, "developing_at"), &v))
    p->developing_at = v;
  if (cairn__store_obj_num(cairn__store_field_of(set, m, "exceed_margin"), &v))
    p->exceed_margin = v;
  static const struct {
    const char *name;
    cairn_result result;
  } results[] = {{"met", CAIRN_RESULT_MET},
                 {"not-met", CAIRN_RESULT_NOT_MET},
                 {"replaced", CAIRN_RESULT_REPLACED}};
  o = cairn__store_field_of(set, m, "result");
  for (size_t i = 0; i < sizeof results / sizeof results[0]; i++)
    if (obj_is(o, results[i].name) &&
        obj_date(cairn__store_field_of(set, m, "closed"), &p->closed) == 0)
      p->closed_result = results[i].result;
  return 0;
}

/* ---- what a milestone's children say -------------------------------------- */

typedef struct sorted_point {
  int32_t day;
  double value;
  uint64_t hlc;
  uint8_t author[CAIRN_KEY_BYTES];
} sorted_point;

static int sorted_point_cmp(const void *a, const void *b) {
  const sorted_point *x = a, *y = b;
  if (x->day != y->day)
    return x->day < y->day ? -1 : 1;
  if (x->hlc != y->hlc)
    return x->hlc < y->hlc ? -1 : 1;
  return memcmp(x->author, y->author, CAIRN_KEY_BYTES);
}

/* A support change, as gathered. */
typedef struct support_seen {
  int32_t day;
  uint64_t hlc;
  const char *text; /* in the arena */
} support_seen;

static int support_seen_cmp(const void *a, const void *b) {
  const support_seen *x = a, *y = b;
  if (x->day != y->day)
    return x->day < y->day ? -1 : 1;
  return x->hlc < y->hlc ? -1 : x->hlc > y->hlc;
}

/* The latest dated child (support change, celebration) on or before as_of. */
typedef struct latest {
  int32_t day;
  uint64_t hlc;
  const char *text; /* in the arena; NULL when none */
} latest;

/* A milestone's children, gathered in one read transaction. */
typedef struct children {
  cairn_store *s;
  MDB_txn *txn;
  int32_t as_of;
  msgpack_zone zone; /* one child record at a time */
  cairn__store_rec rec;
  sorted_point *pts; /* malloc'd */
  size_t n, cap;
  int32_t *reviews; /* malloc'd */
  size_t nreviews, reviews_cap;
  struct cairn__store_arena *arena; /* NULL: supports and celebrations are not wanted */
  latest support, celebration;
  /* With an arena: every support change dated on or before as_of, and the
   * evidence observed after future_after (malloc'd arrays). */
  support_seen *supports;
  size_t nsupports, supports_cap;
  int32_t future_after;
  cairn_store_evidence_ref *future;
  size_t nfuture, future_cap;
} children;

/* Loads child (type, id) into a->rec. */
static int child_load(children *a, int type, const char *id, size_t len) {
  msgpack_zone_clear(&a->zone);
  int rc = cairn__store_rec_load(a->txn, a->s->records, type, id, len, &a->zone, &a->rec);
  return rc == CAIRN_ENOTFOUND ? CAIRN_ECORRUPT : rc;
}

static int add_evidence(const char *id, size_t len, void *arg) {
  children *a = arg;
  int rc = child_load(a, CAIRN_REC_EVIDENCE, id, len);
  if (rc != 0)
    return rc;
  size_t wi;
  double v;
  int32_t day;
  if (cairn__store_obj_true(cairn__store_rec_value(&a->rec, "retracted", NULL)))
    return 0;
  if (!cairn__store_obj_num(cairn__store_rec_value(&a->rec, "value", NULL), &v) ||
      obj_date(cairn__store_rec_value(&a->rec, "observed", &wi), &day) != 0)
    return CAIRN_ECORRUPT;
  if (a->arena != NULL && day > a->future_after) {
    if (grow((void **)&a->future, a->nfuture, &a->future_cap, sizeof *a->future) != 0)
      return CAIRN_ENOMEM;
    cairn_store_evidence_ref *f = &a->future[a->nfuture];
    if ((f->id = arena_str(a->arena, id, len)) == NULL)
      return CAIRN_ENOMEM;
    f->observed = day;
    a->nfuture++;
  }
  if (grow((void **)&a->pts, a->n, &a->cap, sizeof *a->pts) != 0)
    return CAIRN_ENOMEM;
  sorted_point *p = &a->pts[a->n++];
  p->day = day;
  p->value = v;
  p->hlc = a->rec.w[wi].hlc;
  memcpy(p->author, a->rec.w[wi].author, CAIRN_KEY_BYTES);
  return 0;
}

static int add_review(const char *id, size_t len, void *arg) {
  children *a = arg;
  int rc = child_load(a, CAIRN_REC_REVIEW, id, len);
  int32_t day;
  if (rc != 0 || obj_date(cairn__store_rec_value(&a->rec, "date", NULL), &day) != 0)
    return rc;
  if (grow((void **)&a->reviews, a->nreviews, &a->reviews_cap, sizeof *a->reviews) != 0)
    return CAIRN_ENOMEM;
  a->reviews[a->nreviews++] = day;
  return 0;
}

/* Keeps the child just loaded in *l when it is dated on or before as_of
 * and later than what *l holds (same day: the later write). */
static int keep_latest(children *a, const char *field, latest *l) {
  int32_t day;
  const char *s;
  size_t len;
  if (obj_date(cairn__store_rec_value(&a->rec, "date", NULL), &day) != 0 || day > a->as_of ||
      !cairn__store_obj_str(cairn__store_rec_value(&a->rec, field, NULL), &s, &len))
    return 0;
  uint64_t hlc = a->rec.w[a->rec.n - 1].hlc;
  if (l->text != NULL && (day < l->day || (day == l->day && hlc < l->hlc)))
    return 0;
  l->text = arena_str(a->arena, s, len);
  l->day = day;
  l->hlc = hlc;
  return l->text != NULL ? 0 : CAIRN_ENOMEM;
}

static int add_support(const char *id, size_t len, void *arg) {
  children *a = arg;
  int rc = child_load(a, CAIRN_REC_SUPPORT_CHANGE, id, len);
  int32_t day;
  const char *s;
  size_t slen;
  if (rc != 0 || (rc = keep_latest(a, "support", &a->support)) != 0)
    return rc;
  if (obj_date(cairn__store_rec_value(&a->rec, "date", NULL), &day) != 0 || day > a->as_of ||
      !cairn__store_obj_str(cairn__store_rec_value(&a->rec, "support", NULL), &s, &slen))
    return 0;
  if (grow((void **)&a->supports, a->nsupports, &a->supports_cap, sizeof *a->supports) != 0)
    return CAIRN_ENOMEM;
  support_seen *seen = &a->supports[a->nsupports];
  seen->day = day;
  seen->hlc = a->rec.w[a->rec.n - 1].hlc;
  if ((seen->text = arena_str(a->arena, s, slen)) == NULL)
    return CAIRN_ENOMEM;
  a->nsupports++;
  return 0;
}

static int add_celebration(const char *id, size_t len, void *arg) {
  children *a = arg;
  int rc = child_load(a, CAIRN_REC_CELEBRATION, id, len);
  return rc != 0 ? rc : keep_latest(a, "text", &a->celebration);
}

/* A milestone with what is derived from it as of a day. */
typedef struct derived {
  cairn_milestone_params p;
  int32_t checks[CAIRN__STORE_CHECKS_MAX];
  cairn_point *pts; /* malloc'd; sorted by observed day, then (hlc, author) */
  size_t n;
  cairn_progress pr;
  latest support, celebration; /* when an arena was given */
  /* When an arena was given: the support changes dated on or before as_of
   * by (date, hlc), and the evidence observed after future_after; in the
   * arena. */
  cairn_store_support_change *supports;
  size_t nsupports;
  cairn_store_evidence_ref *future;
  size_t nfuture;
} derived;

/* Copies what a's arrays hold into the arena, for d. */
static int keep_lists(children *a, derived *d) {
  d->supports = NULL;
  d->future = NULL;
  d->nsupports = d->nfuture = 0;
  if (a->nsupports > 0) {
    qsort(a->supports, a->nsupports, sizeof *a->supports, support_seen_cmp);
    if ((d->supports = arena_alloc(a->arena, a->nsupports * sizeof *d->supports)) == NULL)
      return CAIRN_ENOMEM;
    for (size_t i = 0; i < a->nsupports; i++)
      d->supports[i] = (cairn_store_support_change){a->supports[i].day, a->supports[i].text};
    d->nsupports = a->nsupports;
  }
  if (a->nfuture > 0) {
    if ((d->future = arena_alloc(a->arena, a->nfuture * sizeof *d->future)) == NULL)
      return CAIRN_ENOMEM;
    memcpy(d->future, a->future, a->nfuture * sizeof *d->future);
    d->nfuture = a->nfuture;
  }
  return 0;
}

/* Reads milestone (m, id)'s evidence and reviews (and, with arena, its
 * support changes and celebrations) and computes its progress as of
 * as_of into *d; free d->pts after. Returns 0, 1 when the milestone is
 * incomplete (nothing to derive: a creation not yet arrived), or a
 * negative code. */
static int derive(cairn_store *s, MDB_txn *txn, const cairn__store_rec *m, const char *id,
                  size_t idlen, int32_t as_of, int32_t future_after,
                  struct cairn__store_arena *arena, derived *d) {
  d->pts = NULL;
  d->n = 0;
  d->supports = NULL;
  d->future = NULL;
  d->nsupports = d->nfuture = 0;
  if (cairn__store_milestone_params(NULL, m, &d->p, d->checks, NULL, 0) != 0)
    return 1;
  children a = {.s = s, .txn = txn, .as_of = as_of, .arena = arena, .future_after = future_after};
  if (!msgpack_zone_init(&a.zone, 4096))
    return CAIRN_ENOMEM;
  static const struct {
    int type;
    int (*fn)(const char *, size_t, void *);
  } kinds[] = {{CAIRN_REC_EVIDENCE, add_evidence},
               {CAIRN_REC_REVIEW, add_review},
               {CAIRN_REC_SUPPORT_CHANGE, add_support},
               {CAIRN_REC_CELEBRATION, add_celebration}};
  int rc = 0;
  for (size_t k = 0; rc == 0 && k < (arena != NULL ? 4u : 2u); k++)
    rc = cairn__store_each_child(s, txn, CAIRN_REC_MILESTONE, id, idlen, kinds[k].type,
                                 kinds[k].fn, &a);
  if (rc == 0 && a.n > 0) {
    qsort(a.pts, a.n, sizeof *a.pts, sorted_point_cmp);
    d->pts = malloc(a.n * sizeof *d->pts);
    if (d->pts == NULL)
      rc = CAIRN_ENOMEM;
    for (size_t i = 0; rc == 0 && i < a.n; i++)
      d->pts[i] = (cairn_point){a.pts[i].day, a.pts[i].value};
    if (rc == 0)
      d->n = a.n;
  }
  if (rc == 0)
    cairn_progress_compute(&d->p, d->pts, d->n, a.reviews, a.nreviews, as_of, &d->pr);
  d->support = a.support;
  d->celebration = a.celebration;
  if (rc == 0 && arena != NULL)
    rc = keep_lists(&a, d);
  free(a.pts);
  free(a.reviews);
  free(a.supports);
  free(a.future);
  cairn__store_rec_free(&a.rec);
  msgpack_zone_destroy(&a.zone);
  return rc;
}

int cairn__store_carried(cairn_store *s, MDB_txn *txn, const cairn__store_rec *m, const char *id,
                         size_t idlen, int32_t today, cairn__store_carry *out) {
  struct cairn__store_arena *arena = calloc(1, sizeof *arena);
  derived *d = malloc(sizeof *d);
  const char *support;
  size_t len;
  int rc = arena != NULL && d != NULL ? 0 : CAIRN_ENOMEM;
  memset(out, 0, sizeof *out);
  if (rc == 0 && (rc = derive(s, txn, m, id, idlen, today, INT32_MAX, arena, d)) == 0) {
    if (!cairn_progress_carry_baseline(&d->p, d->pts, d->n, today, &out->baseline, &out->points,
                                       &out->last_day))
      out->points = 0;
    if (d->support.text != NULL)
      snprintf(out->support, sizeof out->support, "%s", d->support.text);
    else if (cairn__store_obj_str(cairn__store_rec_value(m, "support", NULL), &support, &len))
      snprintf(out->support, sizeof out->support, "%.*s", (int)len, support);
    free(d->pts);
  }
  free(d);
  arena_free(arena);
  return rc == 1 ? CAIRN_ECORRUPT : rc;
}

int cairn__store_milestone_summary(cairn_store *s, MDB_txn *txn, const cairn__store_rec *m,
                                   const char *id, size_t idlen, int32_t as_of, char *out,
                                   size_t outlen) {
  derived *d = malloc(sizeof *d);
  if (d == NULL)
    return CAIRN_ENOMEM;
  int rc = derive(s, txn, m, id, idlen, as_of, INT32_MAX, NULL, d);
  if (rc != 0) {
    free(d);
    return rc < 0 ? rc : CAIRN_ECORRUPT;
  }
  const cairn_progress *pr = &d->pr;
  int len = snprintf(out, outlen, "level %s, %s %s", cairn_progress_level_name(pr->level),
                     pr->ended ? "result" : "light",
                     pr->ended ? cairn_progress_result_name(pr->result)
                               : cairn_progress_light_name(pr->light));
  if (pr->points > 0 && len > 0 && (size_t)len < outlen) {
    char day[11], v[CAIRN_PROGRESS_VALUE_MAX];
    cairn_text_date_format(pr->last_day, day);
    cairn_progress_format_value(&d->p, pr->last_value, v, sizeof v);
    len += snprintf(out + len, outlen - (size_t)len, ", last %s on %s", v, day);
  }
  if (pr->trend_valid && len > 0 && (size_t)len < outlen)
    len += snprintf(out + len, outlen - (size_t)len, ", trend %+.2f/week", pr->trend_per_week);
  if (len > 0 && (size_t)len < outlen)
    snprintf(out + len, outlen - (size_t)len, ", %zu point%s", pr->points,
             pr->points == 1 ? "" : "s");
  free(d->pts);
  free(d);
  return 0;
}

/* ---- status ---------------------------------------------------------------- */

typedef struct status_ctx {
  cairn_store *s;
  MDB_txn *txn;
  int32_t as_of;
  int32_t future_after; /* tomorrow by this node's clock */
  struct cairn__store_arena *arena;
  msgpack_zone zone; /* the milestone being read */
  cairn__store_rec m;
  size_t *idx; /* room for m.n */
  /* The milestone ids of the student being read (malloc'd copies). */
  char **ids;
  size_t nids, ids_cap;
  /* What is shown: the whole node's students only in classroom, campus,
   * grade (NULL: any); withdrawn students; archived milestones; briefs
   * (cairn_store_students) instead of statuses. */
  const char *classroom, *campus, *grade;
  int withdrawn, archived, briefs;
} status_ctx;

/* A copy (in the arena) of a list of strings; the items that are not
 * strings are left out. Returns 0 or CAIRN_ENOMEM. */
static int texts_of(struct cairn__store_arena *a, const msgpack_object *list,
                    const char *const **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size == 0)
    return 0;
  const char **items = arena_alloc(a, list->via.array.size * sizeof *items);
  if (items == NULL)
    return CAIRN_ENOMEM;
  for (uint32_t i = 0; i < list->via.array.size; i++) {
    const msgpack_object *o = &list->via.array.ptr[i];
    if (o->type == MSGPACK_OBJECT_STR &&
        (items[(*n)++] = arena_str(a, o->via.str.ptr, o->via.str.size)) == NULL)
      return CAIRN_ENOMEM;
  }
  *out = items;
  return 0;
}

/* The labels of milestone m's ordinal scale, lowest first (a letter
 * scale's grades, a levels scale's levels), in the arena; none for another
 * scale. Returns 0 or CAIRN_ENOMEM. */
static int labels_of(struct cairn__store_arena *a, const cairn__store_rec *m,
                     const char *const **out, size_t *n) {
  const msgpack_object *scale = cairn__store_rec_value(m, "scale", NULL);
  *out = NULL;
  *n = 0;
  if (obj_is(scale, "levels"))
    return texts_of(a, cairn__store_rec_value(m, "levels", NULL), out, n);
  if (!obj_is(scale, "letter"))
    return 0;
  const char **items = arena_alloc(a, CAIRN_RECORD_LETTERS * sizeof *items);
  if (items == NULL)
    return CAIRN_ENOMEM;
  for (unsigned i = 0; i < CAIRN_RECORD_LETTERS; i++)
    items[i] = cairn_record_letter(i);
  *out = items;
  *n = CAIRN_RECORD_LETTERS;
  return 0;
}

/* 1 when milestone m is open: neither closed (a result other than open)
 * nor archived. */
static int milestone_open(const cairn__store_rec *m) {
  const msgpack_object *result = cairn__store_rec_value(m, "result", NULL);
  return (result == NULL || obj_is(result, "open")) &&
         !cairn__store_obj_true(cairn__store_rec_value(m, "archived", NULL));
}

/* A copy of the value of field of r in the arena: "" (or dflt) when unset
 * or not a string. NULL only when memory ran out. */
static const char *rec_text(status_ctx *c, const cairn__store_rec *r, const char *field,
                            const char *dflt) {
  const char *s;
  size_t len;
  if (cairn__store_obj_str(cairn__store_rec_value(r, field, NULL), &s, &len))
    return arena_str(c->arena, s, len);
  return arena_cstr(c->arena, dflt);
}

/* A copy of field of r in the arena, or NULL when r does not set it;
 * *oom is set when memory ran out. */
static const char *rec_opt_text(status_ctx *c, const cairn__store_rec *r, const char *field,
                                int *oom) {
  const char *t;
  if (cairn__store_rec_value(r, field, NULL) == NULL)
    return NULL;
  *oom |= (t = rec_text(c, r, field, "")) == NULL;
  return t;
}

static int collect_id(const char *id, size_t len, void *arg) {
  status_ctx *c = arg;
  if (grow((void **)&c->ids, c->nids, &c->ids_cap, sizeof *c->ids) != 0)
    return CAIRN_ENOMEM;
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return CAIRN_ENOMEM;
  memcpy(copy, id, len);
  copy[len] = '\0';
  c->ids[c->nids++] = copy;
  return 0;
}

static int id_cmp(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  return natural_cmp(x, strlen(x), y, strlen(y));
}

static void drop_ids(status_ctx *c) {
  for (size_t i = 0; i < c->nids; i++)
    free(c->ids[i]);
  c->nids = 0;
}

/* The if/then rules of milestone m that fire, into st. */
static int fired_rules(status_ctx *c, const derived *d, cairn_store_milestone_status *st) {
  const msgpack_object *rules = cairn__store_rec_value(&c->m, "if_then", NULL);
  uint32_t nrules = rules != NULL && rules->type == MSGPACK_OBJECT_ARRAY ? rules->via.array.size : 0;
  cairn_store_fired *fired = nrules > 0 ? arena_alloc(c->arena, nrules * sizeof *fired) : NULL;
  if (nrules > 0 && fired == NULL)
    return CAIRN_ENOMEM;
  st->ntriggered = 0;
  for (uint32_t i = 0; i < nrules; i++) {
    const msgpack_object *t = &rules->via.array.ptr[i];
    char text[1001];
    cairn_ifthen rule;
    if (t->type != MSGPACK_OBJECT_STR || t->via.str.size >= sizeof text)
      continue;
    memcpy(text, t->via.str.ptr, t->via.str.size);
    text[t->via.str.size] = '\0';
    if (cairn_progress_ifthen_parse(text, &rule, NULL, 0) != 0 ||
        !cairn_progress_ifthen_fires(&rule, &d->p, d->pts, d->n, &d->pr, c->as_of))
      continue;
    cairn_store_fired *f = &fired[st->ntriggered++];
    f->rule = arena_cstr(c->arena, text);
    f->action = arena_cstr(c->arena, rule.action);
    if (f->rule == NULL || f->action == NULL)
      return CAIRN_ENOMEM;
  }
  st->triggered = fired;
  return 0;
}

/* The sentences of st, in the arena. */
static int status_words(status_ctx *c, const derived *d, cairn_store_milestone_status *st) {
  char buf[512], v[CAIRN_PROGRESS_VALUE_MAX];
  const cairn_progress *pr = &d->pr;
  cairn_progress_describe_goal(&d->p, buf, sizeof buf);
  st->goal = arena_cstr(c->arena, buf);
  cairn_progress_explain(&d->p, pr, buf, sizeof buf);
  st->why = arena_cstr(c->arena, buf);
  cairn_progress_describe_trend(&d->p, pr, buf, sizeof buf);
  st->trend = arena_cstr(c->arena, buf);
  v[0] = '\0';
  if (pr->points > 0)
    cairn_progress_format_value(&d->p, pr->last_value, v, sizeof v);
  st->last = arena_cstr(c->arena, v);
  if (!d->p.baseline_pending) {
    cairn_progress_format_value(&d->p, d->p.baseline, buf, sizeof buf);
  } else if (pr->points > 0) {
    cairn_progress_format_value(&d->p, pr->baseline, v, sizeof v);
    snprintf(buf, sizeof buf, "pending, first point %s", v);
  } else {
    snprintf(buf, sizeof buf, "pending");
  }
  st->baseline = arena_cstr(c->arena, buf);
  cairn_progress_format_value(&d->p, d->p.target, buf, sizeof buf);
  st->target = arena_cstr(c->arena, buf);
  if (pr->closed && pr->result == CAIRN_RESULT_REPLACED) {
    const char *by;
    size_t len;
    char day[11];
    if (!cairn__store_obj_str(cairn__store_rec_value(&c->m, "replaced_by", NULL), &by, &len))
      by = "", len = 0;
    cairn_text_date_format(d->p.closed, day);
    snprintf(buf, sizeof buf, "closed on %s: replaced by %.*s", day, (int)len, by);
    st->why = arena_cstr(c->arena, buf);
  }
  return st->goal && st->why && st->trend && st->last && st->baseline && st->target
             ? 0
             : CAIRN_ENOMEM;
}

/* Reads milestone id into *st. Returns 0, 1 when it is left out (deleted,
 * or incomplete), or a negative code. */
static int milestone_status(status_ctx *c, const char *id, cairn_store_milestone_status *st) {
  size_t idlen = strlen(id);
  msgpack_zone_clear(&c->zone);
  int rc = cairn__store_rec_load(c->txn, c->s->records, CAIRN_REC_MILESTONE, id, idlen,
                                 &c->zone, &c->m);
  if (rc != 0)
    return rc == CAIRN_ENOTFOUND ? CAIRN_ECORRUPT : rc;
  if (cairn__store_obj_true(cairn__store_rec_value(&c->m, "deleted", NULL)) ||
      (!c->archived && cairn__store_obj_true(cairn__store_rec_value(&c->m, "archived", NULL))))
    return 1;
  derived *d = malloc(sizeof *d);
  if (d == NULL)
    return CAIRN_ENOMEM;
  rc = derive(c->s, c->txn, &c->m, id, idlen, c->as_of, c->future_after, c->arena, d);
  if (rc != 0) {
    free(d);
    return rc;
  }
  memset(st, 0, sizeof *st);
  st->params = d->p;
  size_t known = 0; /* the points observed on or before as_of: a prefix */
  while (known < d->n && d->pts[known].day <= c->as_of)
    known++;
  cairn_point *pts = known > 0 ? arena_alloc(c->arena, known * sizeof *pts) : NULL;
  if (known > 0 && pts == NULL) {
    free(d->pts);
    free(d);
    return CAIRN_ENOMEM;
  }
  if (known > 0)
    memcpy(pts, d->pts, known * sizeof *pts);
  st->points = pts;
  st->npoints = known;
  st->supports = d->supports;
  st->nsupports = d->nsupports;
  st->future = d->future;
  st->nfuture = d->nfuture;
  int oom = 0;
  st->planned_support = rec_opt_text(c, &c->m, "support", &oom);
  st->template_id = rec_opt_text(c, &c->m, "template", &oom);
  st->standard = rec_opt_text(c, &c->m, "standard", &oom);
  int32_t *checks = d->p.nchecks ? arena_alloc(c->arena, d->p.nchecks * sizeof *checks) : NULL;
  if (checks != NULL)
    memcpy(checks, d->checks, d->p.nchecks * sizeof *checks);
  st->params.checks = checks;
  st->progress = d->pr;
  st->id = arena_cstr(c->arena, id);
  st->student = rec_text(c, &c->m, "student", "");
  st->type = rec_text(c, &c->m, "type", "");
  st->statement = rec_text(c, &c->m, "statement", "");
  st->horizon = rec_text(c, &c->m, "horizon", "short");
  st->parent = rec_opt_text(c, &c->m, "parent", &oom);
  st->scale = rec_text(c, &c->m, "scale", "");
  st->direction = rec_text(c, &c->m, "direction", "up");
  st->rule = rec_text(c, &c->m, "rule", "1 of 1");
  st->cadence = rec_text(c, &c->m, "cadence", "monthly");
  st->support = d->support.text;
  st->support_since = d->support.text != NULL ? d->support.day : CAIRN_PROGRESS_NO_DAY;
  if (st->support == NULL && cairn__store_rec_value(&c->m, "support", NULL) != NULL)
    st->support = rec_text(c, &c->m, "support", "");
  st->celebration = d->celebration.text;
  st->celebrated = d->celebration.text != NULL ? d->celebration.day : CAIRN_PROGRESS_NO_DAY;
  st->archived = cairn__store_obj_true(cairn__store_rec_value(&c->m, "archived", NULL));
  st->carried_from = cairn__store_rec_value(&c->m, "carried_from", NULL) != NULL
                         ? rec_text(c, &c->m, "carried_from", "")
                         : NULL;
  st->replaced_by = d->p.closed_result == CAIRN_RESULT_REPLACED
                        ? rec_text(c, &c->m, "replaced_by", "")
                        : NULL;
  rc = labels_of(c->arena, &c->m, &st->levels, &st->nlevels);
  d->p.labels = st->levels;
  st->params.labels = st->levels;
  if (rc == 0)
    rc = status_words(c, d, st);
  if (rc == 0)
    rc = fired_rules(c, d, st);
  if (rc == 0 && oom)
    rc = CAIRN_ENOMEM;
  if (rc == 0 && (!st->id || !st->student || !st->type || !st->statement || !st->horizon ||
                  (d->p.nchecks && !checks) || !st->scale || !st->direction || !st->rule ||
                  !st->cadence))
    rc = CAIRN_ENOMEM;
  if (rc == 0 && c->m.n > 0) {
    size_t *idx = realloc(c->idx, c->m.n * sizeof *idx);
    if (idx == NULL) {
      rc = CAIRN_ENOMEM;
    } else {
      size_t nf;
      const cairn_field_def *fd = cairn_record_fields(CAIRN_REC_MILESTONE, &nf);
      c->idx = idx;
      for (size_t i = 0; i < nf; i++)
        st->conflicts += (size_t)cairn__store_rec_conflicted(&c->m, fd[i].name, idx);
    }
  }
  free(d->pts);
  free(d);
  return rc;
}

/* Reads milestone id of the student being read into *b, a brief. Returns
 * 0, 1 when it is left out (deleted, incomplete), or a negative code. */
static int milestone_brief(status_ctx *c, const char *id, cairn_store_milestone_brief *b) {
  int32_t checks[CAIRN__STORE_CHECKS_MAX];
  cairn_milestone_params p;
  msgpack_zone_clear(&c->zone);
  int rc = cairn__store_rec_load(c->txn, c->s->records, CAIRN_REC_MILESTONE, id, strlen(id),
                                 &c->zone, &c->m);
  if (rc != 0)
    return rc == CAIRN_ENOTFOUND ? CAIRN_ECORRUPT : rc;
  if (cairn__store_obj_true(cairn__store_rec_value(&c->m, "deleted", NULL)) ||
      cairn__store_milestone_params(NULL, &c->m, &p, checks, NULL, 0) != 0)
    return 1;
  memset(b, 0, sizeof *b);
  b->id = arena_cstr(c->arena, id);
  b->statement = rec_text(c, &c->m, "statement", "");
  b->scale = rec_text(c, &c->m, "scale", "");
  const msgpack_object *result = cairn__store_rec_value(&c->m, "result", NULL);
  b->result = result != NULL && !obj_is(result, "open") ? rec_text(c, &c->m, "result", "") : NULL;
  b->archived = cairn__store_obj_true(cairn__store_rec_value(&c->m, "archived", NULL));
  b->start = p.start;
  b->end = p.end;
  rc = labels_of(c->arena, &c->m, &b->levels, &b->nlevels);
  if (rc == 0 && (!b->id || !b->statement || !b->scale))
    rc = CAIRN_ENOMEM;
  return rc;
}

/* 1 when the whole node's view leaves student r out: deleted, withdrawn
 * (unless asked for), or outside the classroom, campus or grade asked
 * for. */
static int student_left_out(status_ctx *c, const cairn__store_rec *r,
                            const msgpack_object *rooms) {
  if (!c->withdrawn && cairn__store_obj_true(cairn__store_rec_value(r, "withdrawn", NULL)))
    return 1;
  if ((c->campus && !obj_is(cairn__store_rec_value(r, "campus", NULL), c->campus)) ||
      (c->grade && !obj_is(cairn__store_rec_value(r, "grade", NULL), c->grade)))
    return 1;
  if (c->classroom == NULL)
    return 0;
  for (uint32_t i = 0; i < rooms->via.array.size; i++)
    if (obj_is(&rooms->via.array.ptr[i], c->classroom))
      return 0;
  return 1;
}

/* Reads student (id, the record r) and its milestones into *sum. one: the
 * student was asked for by id (kept though withdrawn, outside the
 * filters, or with no milestone). Returns 0, 1 when it is left out, or a
 * negative code. */
static int student_summary(status_ctx *c, const char *id, size_t idlen,
                           const cairn__store_rec *r, int one, msgpack_zone *z,
                           cairn_store_student_summary *sum) {
  const msgpack_object *rooms, *acc;
  int32_t day;
  if (cairn__store_obj_true(cairn__store_rec_value(r, "deleted", NULL)))
    return 1;
  if (cairn__store_rec_members(r, CAIRN_REC_STUDENT, "classrooms", NULL, z, &rooms) != 0 ||
      cairn__store_rec_members(r, CAIRN_REC_STUDENT, "accommodations", NULL, z, &acc) != 0)
    return CAIRN_ENOMEM;
  if (!one && student_left_out(c, r, rooms))
    return 1;
  memset(sum, 0, sizeof *sum);
  sum->id = arena_str(c->arena, id, idlen);
  sum->name = rec_text(c, r, "name", "");
  sum->grade = rec_text(c, r, "grade", "");
  sum->campus = rec_text(c, r, "campus", "");
  sum->withdrawn = cairn__store_obj_true(cairn__store_rec_value(r, "withdrawn", NULL));
  sum->withdrawn_on = obj_date(cairn__store_rec_value(r, "withdrawn_on", NULL), &day) == 0
                          ? day
                          : CAIRN_PROGRESS_NO_DAY;
  if (!sum->id || !sum->name || !sum->grade || !sum->campus ||
      texts_of(c->arena, rooms, &sum->classrooms, &sum->nclassrooms) != 0 ||
      texts_of(c->arena, acc, &sum->accommodations, &sum->naccommodations) != 0)
    return CAIRN_ENOMEM;

  drop_ids(c);
  int rc = cairn__store_each_child(c->s, c->txn, CAIRN_REC_STUDENT, id, idlen,
                                   CAIRN_REC_MILESTONE, collect_id, c);
  if (rc != 0)
    return rc;
  if (c->nids > 1)
    qsort(c->ids, c->nids, sizeof *c->ids, id_cmp);
  size_t size = c->briefs ? sizeof(cairn_store_milestone_brief)
                          : sizeof(cairn_store_milestone_status);
  void *items = c->nids > 0 ? arena_alloc(c->arena, c->nids * size) : NULL;
  if (c->nids > 0 && items == NULL)
    return CAIRN_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->nids; i++) {
    rc = c->briefs ? milestone_brief(c, c->ids[i], (cairn_store_milestone_brief *)items + n)
                   : milestone_status(c, c->ids[i], (cairn_store_milestone_status *)items + n);
    if (rc < 0)
      return rc;
    n += rc == 0;
    /* c->m holds the milestone just read */
    sum->open += c->m.n > 0 &&
                 !cairn__store_obj_true(cairn__store_rec_value(&c->m, "deleted", NULL)) &&
                 milestone_open(&c->m);
  }
  if (c->briefs) {
    sum->briefs = items;
    sum->nbriefs = n;
  } else {
    sum->milestones = items;
    sum->nmilestones = n;
  }
  return n > 0 || one || c->briefs ? 0 : 1;
}

void cairn_store_status_free(cairn_store_status_view *v) {
  if (v == NULL)
    return;
  arena_free(v->arena);
  free(v);
}

/* Reads the student summaries into v: one student, or every student. */
static int read_students(status_ctx *c, const char *student, cairn_store_status_view *v) {
  cairn_store_student_summary *list = NULL;
  size_t n = 0, cap = 0;
  msgpack_zone zone;
  cairn__store_rec r = {0};
  int rc;

  if (!msgpack_zone_init(&zone, 4096))
    return CAIRN_ENOMEM;
  if (student != NULL) {
    rc = cairn__store_rec_load(c->txn, c->s->records, CAIRN_REC_STUDENT, student,
                               strlen(student), &zone, &r);
    if (rc == 0 && (rc = arena_grow(c->arena, (void **)&list, n, &cap, sizeof *list)) == 0)
      rc = student_summary(c, student, strlen(student), &r, 1, &zone, &list[n]);
    if (rc == 1)
      rc = CAIRN_ENOTFOUND; /* deleted */
    n += rc == 0;
  } else {
    MDB_cursor *cur = NULL;
    rc = mdb_cursor_open(c->txn, c->s->records, &cur) != 0 ? CAIRN_EIO : 0;
    uint8_t first = CAIRN_REC_STUDENT;
    MDB_val k = {1, &first}, val;
    int g = rc == 0 ? mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE) : MDB_NOTFOUND;
    while (rc == 0 && g == 0 && k.mv_size > 1 &&
           ((const uint8_t *)k.mv_data)[0] == CAIRN_REC_STUDENT) {
      msgpack_zone_clear(&zone);
      rc = cairn__store_rec_read(c->txn, &val, &zone, &r);
      if (rc == 0)
        rc = arena_grow(c->arena, (void **)&list, n, &cap, sizeof *list);
      if (rc == 0)
        rc = student_summary(c, (const char *)k.mv_data + 1, k.mv_size - 1, &r, 0, &zone,
                             &list[n]);
      if (rc == 0)
        n++;
      if (rc == 1)
        rc = 0;
      g = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
    }
    if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
      rc = CAIRN_EIO;
    if (cur != NULL)
      mdb_cursor_close(cur);
  }
  v->students = list;
  v->nstudents = n;
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&zone);
  return rc;
}

int32_t cairn_store_today(const cairn_store *s) {
  time_t t = (time_t)(cairn_store_wall_ms(s) / 1000);
  struct tm tm;
  char buf[32];
  int32_t day;
  if (localtime_r(&t, &tm) == NULL)
    return (int32_t)(t / 86400);
  snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return cairn_text_date_parse(buf, strlen(buf), &day) == 0 ? day : (int32_t)(t / 86400);
}

/* Runs a view described by c (its s, as_of and what is shown) for one
 * student or all, into *out. */
static int view_run(status_ctx *c, const char *student, cairn_store_status_view **out) {
  *out = NULL;
  cairn_store_status_view *v = calloc(1, sizeof *v);
  if (v == NULL || (v->arena = c->arena = calloc(1, sizeof *c->arena)) == NULL) {
    free(v);
    return CAIRN_ENOMEM;
  }
  v->as_of = c->as_of;
  v->future_after = c->future_after = cairn_store_today(c->s) + 1;
  if (!msgpack_zone_init(&c->zone, 8192)) {
    cairn_store_status_free(v);
    return CAIRN_ENOMEM;
  }
  int rc = mdb_txn_begin(c->s->env, NULL, MDB_RDONLY, &c->txn) != 0 ? CAIRN_EIO : 0;
  if (rc == 0) {
    rc = read_students(c, student, v);
    mdb_txn_abort(c->txn);
  }
  drop_ids(c);
  free(c->ids);
  free(c->idx);
  cairn__store_rec_free(&c->m);
  msgpack_zone_destroy(&c->zone);
  if (rc != 0) {
    cairn_store_status_free(v);
    return rc;
  }
  *out = v;
  return 0;
}

int cairn_store_status_filtered(cairn_store *s, const cairn_store_status_filter *f,
                                cairn_store_status_view **out) {
  status_ctx c = {.s = s,
                  .as_of = f->as_of,
                  .classroom = f->classroom,
                  .withdrawn = f->withdrawn,
                  .archived = f->archived};
  return view_run(&c, f->student, out);
}

int cairn_store_status(cairn_store *s, const char *student, int32_t as_of,
                       cairn_store_status_view **out) {
  cairn_store_status_filter f = {.student = student, .as_of = as_of};
  return cairn_store_status_filtered(s, &f, out);
}

int cairn_store_students(cairn_store *s, const cairn_store_student_filter *f,
                         cairn_store_status_view **out) {
  status_ctx c = {.s = s,
                  .as_of = cairn_text_today(),
                  .classroom = f->classroom,
                  .campus = f->campus,
                  .grade = f->grade,
                  .withdrawn = f->withdrawn,
                  .briefs = 1};
  return view_run(&c, f->id, out);
}

/* ---- a record's history ---------------------------------------------------- */

static int value_of(struct cairn__store_arena *a, const msgpack_object *o, cairn_store_value *v);

/* The pairs of a msgpack map (string keys; others are skipped). */
static int pairs_of(struct cairn__store_arena *a, const msgpack_object *map,
                    const cairn_store_pair **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (map == NULL || map->type != MSGPACK_OBJECT_MAP || map->via.map.size == 0)
    return 0;
  cairn_store_pair *p = arena_alloc(a, map->via.map.size * sizeof *p);
  if (p == NULL)
    return CAIRN_ENOMEM;
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object_kv *kv = &map->via.map.ptr[i];
    if (kv->key.type != MSGPACK_OBJECT_STR)
      continue;
    p[*n].name = arena_str(a, kv->key.via.str.ptr, kv->key.via.str.size);
    if (p[*n].name == NULL || value_of(a, &kv->val, &p[*n].value) != 0)
      return CAIRN_ENOMEM;
    (*n)++;
  }
  *out = p;
  return 0;
}

static int value_of(struct cairn__store_arena *a, const msgpack_object *o, cairn_store_value *v) {
  memset(v, 0, sizeof *v);
  switch (o->type) {
  case MSGPACK_OBJECT_BOOLEAN:
    v->kind = CAIRN_STORE_BOOL;
    v->u.boolean = o->via.boolean;
    return 0;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (o->via.u64 <= INT64_MAX) {
      v->kind = CAIRN_STORE_INT;
      v->u.integer = (int64_t)o->via.u64;
    } else {
      v->kind = CAIRN_STORE_NUM;
      v->u.number = (double)o->via.u64;
    }
    return 0;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    v->kind = CAIRN_STORE_INT;
    v->u.integer = o->via.i64;
    return 0;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    v->kind = CAIRN_STORE_NUM;
    v->u.number = o->via.f64;
    return 0;
  case MSGPACK_OBJECT_STR:
    v->kind = CAIRN_STORE_STR;
    v->u.str.len = o->via.str.size;
    v->u.str.s = arena_str(a, o->via.str.ptr, o->via.str.size);
    return v->u.str.s != NULL ? 0 : CAIRN_ENOMEM;
  case MSGPACK_OBJECT_BIN:
  case MSGPACK_OBJECT_EXT: {
    size_t len = o->type == MSGPACK_OBJECT_BIN ? o->via.bin.size : o->via.ext.size;
    uint8_t *p = arena_alloc(a, len);
    if (p == NULL)
      return CAIRN_ENOMEM;
    memcpy(p, o->type == MSGPACK_OBJECT_BIN ? o->via.bin.ptr : o->via.ext.ptr, len);
    v->kind = CAIRN_STORE_BIN;
    v->u.bin.p = p;
    v->u.bin.len = len;
    return 0;
  }
  case MSGPACK_OBJECT_ARRAY: {
    cairn_store_value *items =
        o->via.array.size > 0 ? arena_alloc(a, o->via.array.size * sizeof *items) : NULL;
    if (o->via.array.size > 0 && items == NULL)
      return CAIRN_ENOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (value_of(a, &o->via.array.ptr[i], &items[i]) != 0)
        return CAIRN_ENOMEM;
    v->kind = CAIRN_STORE_LIST;
    v->u.list.items = items;
    v->u.list.n = o->via.array.size;
    return 0;
  }
  case MSGPACK_OBJECT_MAP:
    v->kind = CAIRN_STORE_MAP;
    return pairs_of(a, o, &v->u.map.items, &v->u.map.n);
  case MSGPACK_OBJECT_NIL:
  default:
    v->kind = CAIRN_STORE_NIL;
    return 0;
  }
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(((const cairn_store_pair *)a)->name, ((const cairn_store_pair *)b)->name);
}

/* Fills h from record (type, id) r. idx has room for r->n; a set field's
 * members are read in z. A legacy field shows as the set it is read
 * into; a set field is never in conflict. */
static int history_of(struct cairn__store_arena *a, int type, const char *id,
                      const cairn__store_rec *r, size_t *idx, msgpack_zone *z,
                      cairn_store_history *h) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  h->type = cairn_record_type_name(type);
  h->id = arena_cstr(a, id);
  cairn_store_pair *fields = nf > 0 ? arena_alloc(a, nf * sizeof *fields) : NULL;
  cairn_store_conflict *conflicts = nf > 0 ? arena_alloc(a, nf * sizeof *conflicts) : NULL;
  cairn_store_version *history = r->n > 0 ? arena_alloc(a, r->n * sizeof *history) : NULL;
  if (h->id == NULL || (nf > 0 && (fields == NULL || conflicts == NULL)) ||
      (r->n > 0 && history == NULL))
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < nf; i++) {
    size_t win = 0;
    const msgpack_object *v = NULL;
    if (fd[i].flags & CAIRN_F_LEGACY)
      continue;
    if (fd[i].type != CAIRN_FT_SET)
      v = cairn__store_rec_value(r, fd[i].name, &win);
    else if (cairn__store_rec_has(r, type, fd[i].name) &&
             cairn__store_rec_members(r, type, fd[i].name, NULL, z, &v) != 0)
      return CAIRN_ENOMEM;
    if (v == NULL)
      continue;
    cairn_store_pair *f = &fields[h->nfields++];
    f->name = fd[i].name;
    if (value_of(a, v, &f->value) != 0)
      return CAIRN_ENOMEM;
    if (!cairn__store_field_is_lww(&fd[i]) || !cairn__store_rec_conflicted(r, fd[i].name, idx))
      continue;
    size_t nh = cairn__store_rec_heads(r, fd[i].name, idx);
    cairn_store_conflict *c = &conflicts[h->nconflicts++];
    cairn_store_value *others = arena_alloc(a, nh * sizeof *others);
    if (others == NULL)
      return CAIRN_ENOMEM;
    c->field = fd[i].name;
    c->others = others;
    c->nothers = 0;
    for (size_t k = 0; k < nh; k++)
      if (idx[k] != win &&
          value_of(a, cairn_record_map_get(r->w[idx[k]].set, fd[i].name),
                   &others[c->nothers++]) != 0)
        return CAIRN_ENOMEM;
  }
  qsort(fields, h->nfields, sizeof *fields, name_cmp);
  h->fields = fields;
  h->conflicts = conflicts;
  for (size_t i = 0; i < r->n; i++) {
    const cairn__store_write *w = &r->w[i];
    cairn_store_version *v = &history[i];
    memcpy(v->author, w->author, CAIRN_KEY_BYTES);
    v->seq = w->seq;
    v->hlc = w->hlc;
    v->why = w->why != NULL ? arena_str(a, w->why->via.str.ptr, w->why->via.str.size) : NULL;
    if ((w->why != NULL && v->why == NULL) || pairs_of(a, w->set, &v->set, &v->nset) != 0 ||
        pairs_of(a, w->base, &v->base, &v->nbase) != 0)
      return CAIRN_ENOMEM;
  }
  h->history = history;
  h->nhistory = r->n;
  return 0;
}

/* The scale of the values of record r (type), and an ordinal scale's
 * labels: see cairn_store_history. */
static int scale_of(cairn_store *s, MDB_txn *txn, int type, const cairn__store_rec *r,
                    struct cairn__store_arena *a, cairn_store_history *h) {
  const char *v;
  size_t len;
  msgpack_zone zone;
  cairn__store_rec m = {0};
  const cairn__store_rec *ms = r;
  int rc = 0;
  if (type != CAIRN_REC_MILESTONE && type != CAIRN_REC_EVIDENCE && type != CAIRN_REC_REVIEW &&
      type != CAIRN_REC_SUPPORT_CHANGE && type != CAIRN_REC_CELEBRATION)
    return 0;
  if (!msgpack_zone_init(&zone, 4096))
    return CAIRN_ENOMEM;
  if (type != CAIRN_REC_MILESTONE) {
    ms = &m;
    rc = cairn__store_obj_str(cairn__store_rec_value(r, "milestone", NULL), &v, &len)
             ? cairn__store_rec_load(txn, s->records, CAIRN_REC_MILESTONE, v, len, &zone, &m)
             : CAIRN_ENOTFOUND;
  }
  if (rc == 0 && cairn__store_obj_str(cairn__store_rec_value(ms, "scale", NULL), &v, &len) &&
      (h->scale = arena_str(a, v, len)) == NULL)
    rc = CAIRN_ENOMEM;
  if (rc == 0)
    rc = labels_of(a, ms, &h->levels, &h->nlevels);
  cairn__store_rec_free(&m);
  msgpack_zone_destroy(&zone);
  return rc == CAIRN_ENOTFOUND ? 0 : rc; /* a milestone not arrived yet */
}

void cairn_store_history_free(cairn_store_history *h) {
  if (h == NULL)
    return;
  arena_free(h->arena);
  free(h);
}

int cairn_store_show(cairn_store *s, const char *id, cairn_store_history **out) {
  return cairn_store_show_type(s, 0, id, out);
}

int cairn_store_show_type(cairn_store *s, int type, const char *id, cairn_store_history **out) {
  size_t idlen = strlen(id);
  MDB_txn *txn;
  *out = NULL;
  cairn_store_history *h = calloc(1, sizeof *h);
  if (h == NULL || (h->arena = calloc(1, sizeof *h->arena)) == NULL) {
    free(h);
    return CAIRN_ENOMEM;
  }
  if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
    cairn_store_history_free(h);
    return CAIRN_EIO;
  }
  msgpack_zone zone;
  if (!msgpack_zone_init(&zone, 8192)) {
    mdb_txn_abort(txn);
    cairn_store_history_free(h);
    return CAIRN_ENOMEM;
  }
  cairn__store_rec r = {0};
  int rc = CAIRN_ENOTFOUND;
  for (int t = type ? type : 1; t <= (type ? type : CAIRN_REC_MAX) && rc == CAIRN_ENOTFOUND;
       t++) {
    if (cairn_record_type_name(t) == NULL)
      continue;
    rc = cairn__store_rec_load(txn, s->records, t, id, idlen, &zone, &r);
    if (rc != 0)
      continue;
    size_t *idx = malloc((r.n ? r.n : 1) * sizeof *idx);
    rc = idx == NULL ? CAIRN_ENOMEM : history_of(h->arena, t, id, &r, idx, &zone, h);
    free(idx);
    if (rc == 0)
      rc = scale_of(s, txn, t, &r, h->arena, h);
  }
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&zone);
  mdb_txn_abort(txn);
  if (rc != 0) {
    cairn_store_history_free(h);
    return rc;
  }
  *out = h;
  return 0;
}

/* ---- for the other views of store/ (store_int.h) --------------------------- */

struct cairn__store_arena *cairn__store_arena_new(void) {
  return calloc(1, sizeof(struct cairn__store_arena));
}

void *cairn__store_arena_alloc(struct cairn__store_arena *a, size_t n) {
  return arena_alloc(a, n);
}

const char *cairn__store_arena_str(struct cairn__store_arena *a, const char *s, size_t len) {
  return arena_str(a, s, len);
}

void cairn__store_arena_free(struct cairn__store_arena *a) { arena_free(a); }

int cairn__store_student_status(cairn_store *s, MDB_txn *txn, struct cairn__store_arena *arena,
                                const char *student, int32_t as_of,
                                cairn_store_student_summary *out) {
  status_ctx c = {.s = s, .txn = txn, .as_of = as_of, .arena = arena};
  msgpack_zone zone;
  cairn__store_rec r = {0};
  int rc;

  if (!msgpack_zone_init(&c.zone, 8192))
    return CAIRN_ENOMEM;
  if (!msgpack_zone_init(&zone, 4096)) {
    msgpack_zone_destroy(&c.zone);
    return CAIRN_ENOMEM;
  }
  rc = cairn__store_rec_load(txn, s->records, CAIRN_REC_STUDENT, student, strlen(student), &zone,
                             &r);
  if (rc == 0)
    rc = student_summary(&c, student, strlen(student), &r, 1, &zone, out);
  if (rc == 1)
    rc = CAIRN_ENOTFOUND; /* deleted */
  drop_ids(&c);
  free(c.ids);
  free(c.idx);
  cairn__store_rec_free(&c.m);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&c.zone);
  msgpack_zone_destroy(&zone);
  return rc;
}
