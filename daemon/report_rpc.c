/* report_rpc.c: the `report` request (report_rpc.h): runs a report of
 * report/report.h and packs one page of its rows. */
#include "report_rpc.h"
#include "rpc_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "frame.h"
#include "record.h"
#include "report.h"
#include "text.h"

/* A page of rows stops after the row that passes this size; the summary
 * of the first page may take what is left of a frame. */
#define REPORT_PAGE_BYTES (512 * 1024)
#define REPORT_SUMMARY_MAX (CAIRN_FRAME_MAX - REPORT_PAGE_BYTES - 64 * 1024)
/* The entries of one milestone listed under `future`, and the milestones
 * listed (all are counted: a campus of wrong clocks stays one reply). */
#define FUTURE_LISTED 10
#define FUTURE_MILESTONES_LISTED 500

#define pack_str cairn__rpc_pack_str
#define pack_text cairn__rpc_pack_text
#define pack_day cairn__rpc_pack_day
#define pack_bool cairn__rpc_pack_bool

static void pack_size(msgpack_packer *pk, size_t n) { msgpack_pack_uint64(pk, n); }

static void kv_size(msgpack_packer *pk, const char *k, size_t n) {
  pack_str(pk, k);
  pack_size(pk, n);
}

static void kv_text(msgpack_packer *pk, const char *k, const char *v) {
  pack_str(pk, k);
  pack_text(pk, v);
}

static void kv_day(msgpack_packer *pk, const char *k, int32_t day) {
  pack_str(pk, k);
  pack_day(pk, day);
}

/* The 13 pairs of a count. */
#define COUNT_PAIRS 13
static void pack_count_pairs(msgpack_packer *pk, const cairn_report_counts *c) {
  kv_size(pk, "students", c->students);
  kv_size(pk, "milestones", c->milestones);
  kv_size(pk, "not_started", c->level[CAIRN_LEVEL_NOT_STARTED]);
  kv_size(pk, "beginning", c->level[CAIRN_LEVEL_BEGINNING]);
  kv_size(pk, "developing", c->level[CAIRN_LEVEL_DEVELOPING]);
  kv_size(pk, "meeting", c->level[CAIRN_LEVEL_MEETING]);
  kv_size(pk, "exceeding", c->level[CAIRN_LEVEL_EXCEEDING]);
  kv_size(pk, "green", c->green);
  kv_size(pk, "yellow", c->yellow);
  kv_size(pk, "red", c->red);
  kv_size(pk, "ended", c->ended);
  kv_size(pk, "missed", c->missed);
  kv_size(pk, "future", c->future);
}

/* The 6 pairs that name a row's milestone and student. */
#define ITEM_PAIRS 6
static void pack_item_pairs(msgpack_packer *pk, const cairn_report_item *it) {
  kv_text(pk, "campus", it->student->campus);
  kv_text(pk, "classroom", cairn_report_classroom(it->student));
  kv_text(pk, "student", it->student->id);
  kv_text(pk, "name", it->student->name);
  kv_text(pk, "milestone", it->milestone->id);
  kv_text(pk, "statement", it->milestone->statement);
}

/* part of whole, rounded to 4 places (0 when whole is 0). */
static void kv_share(msgpack_packer *pk, const char *k, size_t part, size_t whole) {
  pack_str(pk, k);
  msgpack_pack_double(pk, whole == 0 ? 0 : round(10000.0 * (double)part / (double)whole) / 10000);
}

/* The 6 shares of a row's milestones: meeting (or exceeding), developing,
 * beginning, not started, red, missed. */
#define SHARE_PAIRS 6
static void pack_share_pairs(msgpack_packer *pk, const cairn_report_counts *c) {
  kv_share(pk, "share_meeting", c->level[CAIRN_LEVEL_MEETING] + c->level[CAIRN_LEVEL_EXCEEDING],
           c->milestones);
  kv_share(pk, "share_developing", c->level[CAIRN_LEVEL_DEVELOPING], c->milestones);
  kv_share(pk, "share_beginning", c->level[CAIRN_LEVEL_BEGINNING], c->milestones);
  kv_share(pk, "share_not_started", c->level[CAIRN_LEVEL_NOT_STARTED], c->milestones);
  kv_share(pk, "share_red", c->red, c->milestones);
  kv_share(pk, "share_missed", c->missed, c->milestones);
}

static const char *const places[] = {"all", "campus", "classroom"};

static void pack_program_row(msgpack_packer *pk, const cairn_report_program_row *row) {
  msgpack_pack_map(pk, 9 + COUNT_PAIRS + SHARE_PAIRS);
  kv_text(pk, "template", row->template_id);
  kv_text(pk, "title", row->title);
  kv_text(pk, "standard", row->standard);
  kv_text(pk, "standard_text", row->standard_text);
  kv_text(pk, "type", row->type);
  kv_text(pk, "place", places[row->place]);
  kv_text(pk, "campus", row->campus);
  kv_text(pk, "classroom", row->classroom);
  pack_str(pk, "missed_rank");
  if (row->missed_rank > 0)
    pack_size(pk, row->missed_rank);
  else
    msgpack_pack_nil(pk);
  pack_count_pairs(pk, &row->counts);
  pack_share_pairs(pk, &row->counts);
}

static void pack_triggered(msgpack_packer *pk, const cairn_store_milestone_status *m) {
  msgpack_pack_array(pk, (uint32_t)m->ntriggered);
  for (size_t i = 0; i < m->ntriggered; i++) {
    msgpack_pack_map(pk, 2);
    kv_text(pk, "rule", m->triggered[i].rule);
    kv_text(pk, "action", m->triggered[i].action);
  }
}

static void pack_red_row(msgpack_packer *pk, const cairn_report_red_row *row) {
  const cairn_store_milestone_status *m = row->item.milestone;
  const cairn_progress *p = &m->progress;
  msgpack_pack_map(pk, ITEM_PAIRS + 14);
  pack_item_pairs(pk, &row->item);
  kv_text(pk, "grade", row->item.student->grade);
  kv_text(pk, "type", m->type);
  kv_text(pk, "template", m->template_id);
  kv_text(pk, "light", cairn_progress_light_name(p->light));
  kv_text(pk, "why", m->why);
  pack_str(pk, "red");
  pack_bool(pk, row->red);
  pack_str(pk, "triggered");
  pack_triggered(pk, m);
  kv_day(pk, "last_observed", p->points > 0 ? p->last_day : CAIRN_PROGRESS_NO_DAY);
  pack_str(pk, "days_since_evidence");
  if (row->days_since >= 0)
    msgpack_pack_int32(pk, row->days_since);
  else
    msgpack_pack_nil(pk);
  kv_day(pk, "next_review", p->next_review_due);
  pack_str(pk, "review_overdue");
  pack_bool(pk, p->overdue);
  pack_str(pk, "days_overdue");
  msgpack_pack_int32(pk, row->days_overdue);
  kv_text(pk, "support", m->support);
  kv_size(pk, "future_points", m->nfuture);
}

static void pack_review_row(msgpack_packer *pk, const cairn_report_review_row *row) {
  const cairn_store_milestone_status *m = row->item.milestone;
  const cairn_progress *p = &m->progress;
  msgpack_pack_map(pk, ITEM_PAIRS + 7);
  pack_item_pairs(pk, &row->item);
  kv_text(pk, "cadence", m->cadence);
  kv_text(pk, "light", cairn_progress_light_name(p->light));
  pack_str(pk, "ended");
  pack_bool(pk, p->ended);
  kv_day(pk, "last_review", p->last_review < 0 ? CAIRN_PROGRESS_NO_DAY : p->last_review);
  kv_day(pk, "next_review", p->next_review_due);
  pack_str(pk, "next_is_check");
  pack_bool(pk, p->next_is_check);
  pack_str(pk, "days_overdue");
  msgpack_pack_int32(pk, row->days_overdue);
}

static void pack_phase(msgpack_packer *pk, const char *points, const char *trend,
                       const char *word, const cairn_report_phase *ph) {
  kv_size(pk, points, ph->points);
  pack_str(pk, trend);
  cairn__rpc_pack_num_if(pk, ph->trend_valid, ph->trend_per_week);
  kv_text(pk, word, ph->trend_valid ? ph->trend_word : NULL);
}

static void pack_support_row(msgpack_packer *pk, const cairn_report_support_row *row) {
  msgpack_pack_map(pk, ITEM_PAIRS + 12);
  kv_text(pk, "support", row->support);
  kv_text(pk, "previous", row->previous);
  pack_str(pk, "from_start");
  pack_bool(pk, row->from_start);
  pack_item_pairs(pk, &row->item);
  kv_day(pk, "since", row->since);
  kv_day(pk, "until", row->until);
  pack_phase(pk, "points_before", "trend_before", "trend_before_word", &row->before);
  pack_phase(pk, "points_after", "trend_after", "trend_after_word", &row->after);
  kv_text(pk, "change", cairn_report_change_name(row->change));
}

/* The summary map of the report's kind. */
static void pack_summary(msgpack_packer *pk, const cairn_report *r) {
  msgpack_pack_map(pk, 1);
  switch (r->kind) {
  case CAIRN_REPORT_PROGRAM:
    pack_str(pk, "missed");
    msgpack_pack_array(pk, (uint32_t)r->nmissed);
    for (size_t i = 0; i < r->nmissed; i++)
      pack_program_row(pk, r->missed[i]);
    break;
  case CAIRN_REPORT_RED:
    pack_str(pk, "campuses");
    msgpack_pack_array(pk, (uint32_t)r->ncampuses);
    for (size_t i = 0; i < r->ncampuses; i++) {
      const cairn_report_campus_count *c = &r->campuses[i];
      msgpack_pack_map(pk, 5);
      kv_text(pk, "campus", c->campus);
      kv_size(pk, "students", c->students);
      kv_size(pk, "red", c->red);
      kv_size(pk, "triggered", c->triggered);
      kv_size(pk, "future", c->future);
    }
    break;
  case CAIRN_REPORT_REVIEWS:
    pack_str(pk, "classrooms");
    msgpack_pack_array(pk, (uint32_t)r->nclassrooms);
    for (size_t i = 0; i < r->nclassrooms; i++) {
      const cairn_report_classroom_count *c = &r->classrooms[i];
      msgpack_pack_map(pk, 4);
      kv_text(pk, "campus", c->campus);
      kv_text(pk, "classroom", c->classroom);
      kv_size(pk, "milestones", c->milestones);
      kv_size(pk, "overdue", c->overdue);
    }
    break;
  case CAIRN_REPORT_SUPPORTS:
    pack_str(pk, "supports");
    msgpack_pack_array(pk, (uint32_t)r->nsupport_summary);
    for (size_t i = 0; i < r->nsupport_summary; i++) {
      const cairn_report_support_summary *g = &r->support_summary[i];
      msgpack_pack_map(pk, 7);
      kv_text(pk, "support", g->support);
      kv_size(pk, "students", g->students);
      kv_size(pk, "phases", g->phases);
      kv_size(pk, "better", g->better);
      kv_size(pk, "same", g->same);
      kv_size(pk, "worse", g->worse);
      kv_size(pk, "unknown", g->unknown);
    }
    break;
  }
}

/* The milestones with evidence dated after tomorrow (the first
 * FUTURE_MILESTONES_LISTED), each with (up to FUTURE_LISTED of) its
 * entries. */
static void pack_future(msgpack_packer *pk, const cairn_report *r) {
  size_t n = r->nfuture < FUTURE_MILESTONES_LISTED ? r->nfuture : FUTURE_MILESTONES_LISTED;
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const cairn_store_milestone_status *m = r->future[i].milestone;
    size_t listed = m->nfuture < FUTURE_LISTED ? m->nfuture : FUTURE_LISTED;
    msgpack_pack_map(pk, ITEM_PAIRS + 2);
    pack_item_pairs(pk, &r->future[i]);
    kv_size(pk, "entries", m->nfuture);
    pack_str(pk, "evidence");
    msgpack_pack_array(pk, (uint32_t)listed);
    for (size_t k = 0; k < listed; k++) {
      msgpack_pack_map(pk, 2);
      kv_text(pk, "id", m->future[k].id);
      kv_day(pk, "observed", m->future[k].observed);
    }
  }
}

static size_t row_count(const cairn_report *r) {
  switch (r->kind) {
  case CAIRN_REPORT_PROGRAM:
    return r->nprogram;
  case CAIRN_REPORT_RED:
    return r->nred;
  case CAIRN_REPORT_REVIEWS:
    return r->nreviews;
  case CAIRN_REPORT_SUPPORTS:
    return r->nsupports;
  }
  return 0;
}

static void pack_row(msgpack_packer *pk, const cairn_report *r, size_t i) {
  switch (r->kind) {
  case CAIRN_REPORT_PROGRAM:
    pack_program_row(pk, &r->program[i]);
    break;
  case CAIRN_REPORT_RED:
    pack_red_row(pk, &r->red[i]);
    break;
  case CAIRN_REPORT_REVIEWS:
    pack_review_row(pk, &r->reviews[i]);
    break;
  case CAIRN_REPORT_SUPPORTS:
    pack_support_row(pk, &r->supports[i]);
    break;
  }
}

/* Packs the reply for rows from offset on: {ok, kind, as_of, future_after,
 * total, rows, next[, summary, future]}; *more is 1 when rows follow. */
static int pack_reply(msgpack_packer *pk, const cairn_report *r, uint64_t offset, int *more,
                      char *why, size_t whylen) {
  msgpack_sbuffer rows, extra;
  msgpack_packer rpk, epk;
  size_t n = row_count(r), i = offset < n ? (size_t)offset : n, count = 0;
  int first = offset == 0;

  msgpack_sbuffer_init(&rows);
  msgpack_sbuffer_init(&extra);
  msgpack_packer_init(&rpk, &rows, msgpack_sbuffer_write);
  msgpack_packer_init(&epk, &extra, msgpack_sbuffer_write);
  if (first) {
    pack_str(&epk, "summary");
    pack_summary(&epk, r);
    pack_str(&epk, "future");
    pack_future(&epk, r);
    kv_size(&epk, "future_milestones", r->nfuture);
  }
  if (extra.size > REPORT_SUMMARY_MAX) {
    msgpack_sbuffer_destroy(&rows);
    msgpack_sbuffer_destroy(&extra);
    snprintf(why, whylen, "report: its summary is too large for one reply; narrow it with "
                          "--campus or --classroom");
    return CAIRN_ETOOBIG;
  }
  for (; i < n && rows.size < REPORT_PAGE_BYTES; i++, count++)
    pack_row(&rpk, r, i);
  cairn__rpc_pack_ok(pk, 6 + (first ? 3 : 0));
  kv_text(pk, "kind", cairn_report_kind_name(r->kind));
  kv_day(pk, "as_of", r->as_of);
  kv_day(pk, "future_after", r->future_after);
  pack_str(pk, "total");
  msgpack_pack_map(pk, COUNT_PAIRS);
  pack_count_pairs(pk, &r->total);
  pack_str(pk, "rows");
  msgpack_pack_array(pk, (uint32_t)count);
  pk->callback(pk->data, rows.data, rows.size);
  pack_str(pk, "next");
  if ((*more = i < n))
    msgpack_pack_uint64(pk, i);
  else
    msgpack_pack_nil(pk);
  if (first)
    pk->callback(pk->data, extra.data, extra.size);
  msgpack_sbuffer_destroy(&rows);
  msgpack_sbuffer_destroy(&extra);
  return 0;
}

/* Copies the optional text argument key into out (checked by the request
 * table: a string, one line). Returns 1 when present, 0 when absent, or
 * CAIRN_ETOOBIG with why. */
static int arg_text(const msgpack_object *req, const char *key, char *out, size_t outlen,
                    char *why, size_t whylen) {
  const msgpack_object *o = cairn_record_map_get(req, key);
  out[0] = '\0';
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return 0;
  if (o->via.str.size >= outlen) {
    snprintf(why, whylen, "%s: longer than %zu bytes", key, outlen - 1);
    return CAIRN_ETOOBIG;
  }
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = '\0';
  return 1;
}

/* The report being read page by page: kept from its first page to its
 * last while nothing is committed in between, so that its pages are one
 * snapshot and each page costs only its packing. */
struct cairn_report_cache {
  char key[512];       /* the request's kind, filters and day */
  uint64_t generation; /* cairn_store_generation when it was read */
  cairn_report *rep;
};

void cairn_report_rpc_free(cairn_rpc *r) {
  if (r->report_cache != NULL)
    cairn_report_free(r->report_cache->rep);
  free(r->report_cache);
  r->report_cache = NULL;
}

void cairn_report_rpc(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  char kind_s[32], campus[65], classroom[65], grade[21], type[32], tpl[65], standard[65],
      day[16], key[512], why[256] = "";
  const struct {
    const char *key;
    char *out;
    size_t len;
  } args[] = {{"campus", campus, sizeof campus},   {"classroom", classroom, sizeof classroom},
              {"grade", grade, sizeof grade},      {"type", type, sizeof type},
              {"template", tpl, sizeof tpl},       {"standard", standard, sizeof standard},
              {"today", day, sizeof day}};
  const msgpack_object *off = cairn_record_map_get(req, "offset");
  uint64_t offset = off != NULL && off->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? off->via.u64 : 0;
  cairn_report_kind kind = CAIRN_REPORT_PROGRAM;
  cairn_report *rep = NULL;
  int32_t as_of = cairn_store_today(r->store);
  uint64_t generation = cairn_store_generation(r->store);
  int rc = arg_text(req, "kind", kind_s, sizeof kind_s, why, sizeof why), more = 0;

  if (rc >= 0 && (rc == 0 || cairn_report_kind_parse(kind_s, &kind) != 0)) {
    snprintf(why, sizeof why, "kind: must be program, red, reviews or supports");
    rc = CAIRN_EINVAL;
  } else if (rc > 0) {
    rc = 0;
  }
  for (size_t i = 0; rc == 0 && i < sizeof args / sizeof args[0]; i++)
    if ((rc = arg_text(req, args[i].key, args[i].out, args[i].len, why, sizeof why)) > 0)
      rc = 0;
  if (rc == 0 && day[0] != '\0' && cairn_text_date_parse(day, strlen(day), &as_of) != 0) {
    snprintf(why, sizeof why, "as-of: %s is not a real date (YYYY-MM-DD)", day);
    rc = CAIRN_EDATE;
  }
  /* control characters never pass the request table: \x1f separates */
  snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%ld", kind_s, campus,
           classroom, grade, type, tpl, standard, (long)as_of);
  struct cairn_report_cache *cache = r->report_cache;
  if (rc == 0 && cache != NULL && offset > 0 && cache->generation == generation &&
      strcmp(cache->key, key) == 0) {
    rep = cache->rep;
  } else if (rc == 0) {
    cairn_report_rpc_free(r);
    cairn_report_filter f = {campus, classroom, grade, type, tpl, standard};
    rc = cairn_report_run(r->store, kind, &f, as_of, &rep, why, sizeof why);
  }
  if (rc == 0) {
    msgpack_sbuffer body;
    msgpack_packer bpk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
    rc = pack_reply(&bpk, rep, offset, &more, why, sizeof why);
    if (rc == 0)
      pk->callback(pk->data, body.data, body.size);
    msgpack_sbuffer_destroy(&body);
  }
  int cached = rep != NULL && r->report_cache != NULL && r->report_cache->rep == rep;
  if (rc == 0 && more && !cached) { /* keep it for the next page */
    if ((r->report_cache = calloc(1, sizeof *r->report_cache)) != NULL) {
      memcpy(r->report_cache->key, key, sizeof key);
      r->report_cache->generation = generation;
      r->report_cache->rep = rep;
    } else {
      cairn_report_free(rep); /* the next page is computed again */
    }
  } else if (rc != 0 || !more) {
    if (cached)
      cairn_report_rpc_free(r);
    else
      cairn_report_free(rep);
  }
  if (rc != 0)
    cairn__rpc_pack_error(pk, rc, why);
}
