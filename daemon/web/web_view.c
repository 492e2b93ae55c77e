/* web_view.c: local-API replies turned into the JSON the page reads. This
 * is the one file of the web page that knows the reply shapes (docs/
 * FORMAT.md section 5); jansson escapes every string it writes. */
#include "web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "record.h"
#include "text.h"

int cairn__web_status_of(int code) {
  switch (code) {
  case CAIRN_EINVAL:
  case CAIRN_ERANGE:
  case CAIRN_EDATE:
  case CAIRN_EUTF8:
  case CAIRN_ETOOBIG:
  case CAIRN_EEXISTS:
  case CAIRN_EMALFORMED:
  case CAIRN_EBADSIG:
  case CAIRN_EVERSION:
  case CAIRN_EGAP:
    return 400;
  case CAIRN_EPERM:
    return 403;
  case CAIRN_ENOTFOUND:
    return 404;
  case CAIRN_ENOSPC:
    return 507;
  default:
    return 500;
  }
}

/* The reply without its "ok". */
static json_t *whole(const msgpack_object *reply) {
  json_t *j = cairn_json_from_msgpack(reply);

  if (j != NULL)
    json_object_del(j, "ok");
  return j;
}

/* A date field of o as a day number; 0 when present and a real date. */
static int date_of(const json_t *o, const char *key, int32_t *day) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) &&
                 cairn_text_date_parse(json_string_value(v), json_string_length(v), day) == 0
             ? 0
             : -1;
}

/* Ranks of attention, most urgent first. */
enum { RANK_RED, RANK_TRIGGERED, RANK_OVERDUE, RANK_STALE, RANK_YELLOW, RANK_FINE };

static int add_reason(json_t *list, const char *kind, const char *text) {
  return json_array_append_new(list, json_pack("{s:s, s:s}", "kind", kind, "text", text));
}

/* Adds "attention" (why it needs a look, in words) and "rank" to milestone
 * m; returns its rank. */
static int attend(json_t *m, int32_t today) {
  json_t *list = json_array(), *triggered = json_object_get(m, "triggered"), *t;
  const char *light = json_string_value(json_object_get(m, "light"));
  const char *why = json_string_value(json_object_get(m, "why"));
  int rank = RANK_FINE, has_points;
  json_int_t cadence = json_integer_value(json_object_get(m, "cadence_days"));
  int32_t since;
  char text[512], day[11];
  size_t i;

  if (list == NULL)
    return RANK_FINE;
  if (light != NULL && strcmp(light, "red") == 0) {
    snprintf(text, sizeof text, "Red light: %s", why != NULL && why[0] ? why : "needs a support change");
    add_reason(list, "red", text);
    rank = RANK_RED;
  }
  json_array_foreach(triggered, i, t) {
    const char *action = json_string_value(json_object_get(t, "action"));
    snprintf(text, sizeof text, "Planned support due: %s", action != NULL ? action : "");
    add_reason(list, "triggered", text);
    if (rank > RANK_TRIGGERED)
      rank = RANK_TRIGGERED;
  }
  if (json_is_true(json_object_get(m, "overdue"))) {
    const char *due = json_string_value(json_object_get(m, "next_review"));
    snprintf(text, sizeof text, "Review overdue since %s", due != NULL ? due : "?");
    add_reason(list, "overdue", text);
    if (rank > RANK_OVERDUE)
      rank = RANK_OVERDUE;
  }
  has_points = date_of(m, "last_observed", &since) == 0;
  if ((has_points || date_of(m, "start", &since) == 0) && cadence > 0 && today - since > cadence) {
    cairn_text_date_format(since, day);
    snprintf(text, sizeof text,
             has_points ? "No evidence since %s (%d days)" : "No evidence yet since the start, %s (%d days)",
             day, (int)(today - since));
    add_reason(list, "stale", text);
    if (rank > RANK_STALE)
      rank = RANK_STALE;
  }
  if (light != NULL && strcmp(light, "yellow") == 0) {
    snprintf(text, sizeof text, "Yellow light: %s", why != NULL && why[0] ? why : "watch");
    add_reason(list, "yellow", text);
    if (rank > RANK_YELLOW)
      rank = RANK_YELLOW;
  }
  json_object_set_new(m, "attention", list);
  json_object_set_new(m, "rank", json_integer(rank));
  return rank;
}

static int by_rank_then_name(const void *a, const void *b) {
  const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
  json_int_t rx = json_integer_value(json_object_get(x, "rank"));
  json_int_t ry = json_integer_value(json_object_get(y, "rank"));
  const char *nx = json_string_value(json_object_get(x, "name"));
  const char *ny = json_string_value(json_object_get(y, "name"));
  int c;

  if (rx != ry)
    return rx < ry ? -1 : 1;
  c = strcmp(nx != NULL ? nx : "", ny != NULL ? ny : "");
  if (c != 0)
    return c;
  nx = json_string_value(json_object_get(x, "id"));
  ny = json_string_value(json_object_get(y, "id"));
  return strcmp(nx != NULL ? nx : "", ny != NULL ? ny : "");
}

/* Sorts a JSON array in place with cmp. */
static int sort_array(json_t *arr, int (*cmp)(const void *, const void *)) {
  size_t n = json_array_size(arr);
  json_t **items = n ? malloc(n * sizeof *items) : NULL;

  if (n > 0 && items == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    items[i] = json_incref(json_array_get(arr, i));
  qsort(items, n, sizeof *items, cmp);
  json_array_clear(arr);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, items[i]);
  free(items);
  return 0;
}

/* Today: every student with their milestones, what needs attention first
 * (a student ranks as their most urgent milestone). The status reply
 * groups milestones by student already. */
static json_t *view_today(const msgpack_object *reply, int32_t today) {
  const msgpack_object *ss = cairn_record_map_get(reply, "students");
  json_t *all, *list = json_array(), *s, *m;
  size_t i, k;
  char day[11];

  if (ss == NULL || ss->type != MSGPACK_OBJECT_ARRAY || list == NULL ||
      (all = cairn_json_from_msgpack(ss)) == NULL) {
    json_decref(list);
    return NULL;
  }
  json_array_foreach(all, i, s) {
    json_t *mine = json_object_get(s, "milestones");
    const char *sid = json_string_value(json_object_get(s, "id"));
    const char *name = json_string_value(json_object_get(s, "name"));
    json_t *entry;
    int student_rank = RANK_FINE;
    if (sid == NULL || !json_is_array(mine))
      continue;
    entry = json_pack("{s:s, s:s, s:i, s:O}", "id", sid, "name", name != NULL ? name : "",
                      "rank", RANK_FINE, "milestones", mine);
    if (entry == NULL)
      continue;
    mine = json_object_get(entry, "milestones");
    json_array_foreach(mine, k, m) {
      const char *statement = json_string_value(json_object_get(m, "statement"));
      int rank = attend(m, today);
      if (rank < student_rank)
        student_rank = rank;
      /* milestones sort by rank, then statement (as "name"), then id */
      json_object_set_new(m, "name", json_string(statement != NULL ? statement : ""));
    }
    sort_array(mine, by_rank_then_name);
    json_array_foreach(mine, k, m) json_object_del(m, "name");
    json_object_set_new(entry, "rank", json_integer(student_rank));
    json_array_append_new(list, entry);
  }
  sort_array(list, by_rank_then_name);
  json_decref(all);
  cairn_text_date_format(today, day);
  return json_pack("{s:s, s:o}", "today", day, "students", list);
}

/* A milestone's records by kind, each history write with "at": the unix
 * milliseconds of its HLC (an HLC itself is past what JSON numbers hold
 * exactly). */
static json_t *view_records(const msgpack_object *reply) {
  static const struct {
    const char *type, *key;
  } kinds[] = {{"evidence", "evidence"},
               {"review", "reviews"},
               {"support_change", "support_changes"},
               {"celebration", "celebrations"}};
  const msgpack_object *recs = cairn_record_map_get(reply, "records");
  json_t *out = json_object();

  if (recs == NULL || recs->type != MSGPACK_OBJECT_ARRAY || out == NULL) {
    json_decref(out);
    return NULL;
  }
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    json_object_set_new(out, kinds[k].key, json_array());
  for (uint32_t i = 0; i < recs->via.array.size; i++) {
    const msgpack_object *r = &recs->via.array.ptr[i];
    const msgpack_object *type = cairn_record_map_get(r, "type");
    const msgpack_object *hist = cairn_record_map_get(r, "history");
    json_t *j, *list = NULL;
    if (type == NULL || type->type != MSGPACK_OBJECT_STR || hist == NULL ||
        hist->type != MSGPACK_OBJECT_ARRAY)
      continue;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (type->via.str.size == strlen(kinds[k].type) &&
          memcmp(type->via.str.ptr, kinds[k].type, type->via.str.size) == 0)
        list = json_object_get(out, kinds[k].key);
    if (list == NULL || (j = cairn_json_from_msgpack(r)) == NULL)
      continue;
    for (uint32_t h = 0; h < hist->via.array.size; h++) {
      const msgpack_object *hlc = cairn_record_map_get(&hist->via.array.ptr[h], "hlc");
      json_t *jh = json_array_get(json_object_get(j, "history"), h);
      if (hlc != NULL && hlc->type == MSGPACK_OBJECT_POSITIVE_INTEGER && jh != NULL) {
        json_object_set_new(jh, "at", json_integer((json_int_t)(hlc->via.u64 >> 16)));
        json_object_del(jh, "hlc");
      }
    }
    json_array_append_new(list, j);
  }
  return out;
}

/* A milestone's page: the detail reply's student and its one milestone,
 * with what needs attention in words (as on Today). */
static json_t *view_milestone(const msgpack_object *reply, int32_t today) {
  json_t *all = whole(reply), *m;

  if (all == NULL || (m = json_array_get(json_object_get(all, "milestones"), 0)) == NULL ||
      json_object_set(all, "milestone", m) != 0) {
    json_decref(all);
    return NULL;
  }
  json_object_del(all, "milestones");
  attend(m, today);
  return all;
}

/* A new object holding the keys of src that are listed (NULL-ended). */
static json_t *pick(const json_t *src, const char *const *keys) {
  json_t *out = json_object();

  for (size_t i = 0; out != NULL && keys[i] != NULL; i++) {
    json_t *v = json_object_get(src, keys[i]);
    if (v != NULL)
      json_object_set(out, keys[i], v);
  }
  return out;
}

/* The family summary: what a family may read of their own child, and
 * nothing else. Only listed keys pass: no record ids, no notes, no one's
 * name but the student's, no review's text; only the active points, at
 * their current values; celebrations latest first. */
static json_t *view_family(const msgpack_object *reply) {
  static const char *const student_keys[] = {"name", "grade", NULL};
  static const char *const milestone_keys[] = {
      "type", "statement", "scale", "direction", "baseline", "target", "goal", "start", "end",
      "level", "level_words", "light", "ended", "result", "last_text", "last_observed",
      "support", "at_home", "next_review", "aimline", NULL};
  static const char *const point_keys[] = {"observed", "value", NULL};
  static const char *const celebration_keys[] = {"date", "text", NULL};
  json_t *all = whole(reply), *out, *list, *m, *p;
  size_t i, k;

  if (all == NULL)
    return NULL;
  out = json_pack("{s:O?, s:o, s:o}", "as_of", json_object_get(all, "as_of"), "student",
                  pick(json_object_get(all, "student"), student_keys), "milestones", json_array());
  list = json_object_get(out, "milestones");
  json_array_foreach(json_object_get(all, "milestones"), i, m) {
    json_t *fm = pick(m, milestone_keys), *series = json_array(), *cel = json_array();
    json_array_foreach(json_object_get(m, "series"), k, p) {
      if (!json_is_true(json_object_get(p, "retracted")))
        json_array_append_new(series, pick(p, point_keys));
    }
    json_t *cs = json_object_get(m, "celebrations");
    for (k = json_array_size(cs); k > 0; k--)
      json_array_append_new(cel, pick(json_array_get(cs, k - 1), celebration_keys));
    json_object_set_new(fm, "series", series);
    json_object_set_new(fm, "celebrations", cel);
    json_array_append_new(list, fm);
  }
  json_decref(all);
  return out;
}

json_t *cairn__web_view(cairn_web_route route, const msgpack_object *reply, int32_t today) {
  if (reply == NULL || reply->type != MSGPACK_OBJECT_MAP)
    return NULL;
  switch (route) {
  case CAIRN_WEB_TODAY:
    return view_today(reply, today);
  case CAIRN_WEB_RECORDS:
    return view_records(reply);
  case CAIRN_WEB_MILESTONE:
    return view_milestone(reply, today);
  case CAIRN_WEB_FAMILY:
    return view_family(reply);
  default:
    return whole(reply);
  }
}
