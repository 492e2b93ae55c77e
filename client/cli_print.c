/* cli_print.c: replies as text for people: the status table, one record
 * with its history, the conflicts. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "record.h"

/* The string at key in map as a printf "%.*s" pair; "-" when absent or not
 * a string. */
static const char *str_of(const msgpack_object *map, const char *key, int *len) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  if (v == NULL || v->type != MSGPACK_OBJECT_STR) {
    *len = 1;
    return "-";
  }
  *len = (int)v->via.str.size;
  return v->via.str.ptr;
}

static int is_num(const msgpack_object *v) {
  return v != NULL &&
         (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32 ||
          v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
}

static double num_of(const msgpack_object *v) {
  switch (v->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return (double)v->via.u64;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return (double)v->via.i64;
  default:
    return v->via.f64;
  }
}

/* The first 8 hex digits of an author key (bin 32 or a hex string). */
static void author_prefix(const msgpack_object *v, char out[9]) {
  static const char digits[] = "0123456789abcdef";
  int i;

  strcpy(out, "?");
  if (v != NULL && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size >= 4) {
    for (i = 0; i < 4; i++) {
      out[2 * i] = digits[(unsigned char)v->via.bin.ptr[i] >> 4];
      out[2 * i + 1] = digits[(unsigned char)v->via.bin.ptr[i] & 15];
    }
    out[8] = '\0';
  } else if (v != NULL && v->type == MSGPACK_OBJECT_STR && v->via.str.size >= 8) {
    memcpy(out, v->via.str.ptr, 8);
    out[8] = '\0';
  }
}

void cairn__cli_print_value(FILE *f, const msgpack_object *v) {
  json_t *j;
  uint32_t i;

  switch (v->type) {
  case MSGPACK_OBJECT_NIL:
    fputs("-", f);
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    fputs(v->via.boolean ? "yes" : "no", f);
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    fprintf(f, "%g", num_of(v));
    break;
  case MSGPACK_OBJECT_STR:
    fprintf(f, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    break;
  case MSGPACK_OBJECT_ARRAY:
    for (i = 0; i < v->via.array.size; i++) {
      if (i > 0)
        fputs("; ", f);
      cairn__cli_print_value(f, &v->via.array.ptr[i]);
    }
    break;
  default: /* bin, ext, map */
    j = cairn__cli_to_json(v);
    if (j != NULL && (json_is_string(j)))
      fputs(json_string_value(j), f);
    else if (j != NULL)
      json_dumpf(j, f, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    break;
  }
}

static void print_status_line(const msgpack_object *m) {
  const msgpack_object *last = cairn_record_map_get(m, "last_value");
  const msgpack_object *trend = cairn_record_map_get(m, "trend_per_week");
  const msgpack_object *overdue = cairn_record_map_get(m, "overdue");
  const msgpack_object *trig = cairn_record_map_get(m, "triggered");
  const char *id, *type, *level, *light, *obs, *next, *stmt;
  int idl, typel, levell, lightl, obsl, nextl, stmtl;
  char lastbuf[64], trendbuf[32];
  uint32_t i;

  id = str_of(m, "id", &idl);
  type = str_of(m, "type", &typel);
  level = str_of(m, "level", &levell);
  light = str_of(m, "light", &lightl);
  obs = str_of(m, "last_observed", &obsl);
  next = str_of(m, "next_review", &nextl);
  stmt = str_of(m, "statement", &stmtl);
  if (is_num(last))
    snprintf(lastbuf, sizeof lastbuf, "%g (%.*s)", num_of(last), obsl, obs);
  else
    strcpy(lastbuf, "-");
  if (is_num(trend))
    snprintf(trendbuf, sizeof trendbuf, "%+.2f", num_of(trend));
  else
    strcpy(trendbuf, "-");
  printf("  %-14.*s %-17.*s %-12.*s %-7.*s %-18s %9s  %.*s%s\n", idl, id, typel, type, levell,
         level, lightl, light, lastbuf, trendbuf, nextl, next,
         overdue != NULL && overdue->type == MSGPACK_OBJECT_BOOLEAN && overdue->via.boolean
             ? " OVERDUE"
             : "");
  printf("      %.*s\n", stmtl, stmt);
  for (i = 0; trig != NULL && trig->type == MSGPACK_OBJECT_ARRAY && i < trig->via.array.size;
       i++) {
    const char *action;
    int al;
    if (trig->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
      continue;
    action = str_of(&trig->via.array.ptr[i], "action", &al);
    printf("      \u2192 then: %.*s\n", al, action);
  }
}

void cairn__cli_print_status(const msgpack_object *milestones) {
  const char *prev = NULL;
  int prevl = 0;
  uint32_t i;

  if (milestones == NULL || milestones->type != MSGPACK_OBJECT_ARRAY ||
      milestones->via.array.size == 0) {
    printf("no milestones\n");
    return;
  }
  for (i = 0; i < milestones->via.array.size; i++) {
    const msgpack_object *m = &milestones->via.array.ptr[i];
    const char *sid, *name;
    int sidl, namel;
    if (m->type != MSGPACK_OBJECT_MAP)
      continue;
    sid = str_of(m, "student", &sidl);
    if (prev == NULL || sidl != prevl || memcmp(sid, prev, (size_t)sidl) != 0) {
      name = str_of(m, "student_name", &namel);
      printf("%s%.*s (%.*s)\n", prev == NULL ? "" : "\n", namel, name, sidl, sid);
      printf("  %-14s %-17s %-12s %-7s %-18s %9s  %s\n", "MILESTONE", "TYPE", "LEVEL", "LIGHT",
             "LAST", "TREND/WK", "NEXT REVIEW");
      prev = sid;
      prevl = sidl;
    }
    print_status_line(m);
  }
}

/* Prints "key=value" for each pair of a map, separated by spaces. */
static void print_pairs(const msgpack_object *map) {
  uint32_t i;
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    printf("%s", i > 0 ? "  " : "");
    cairn__cli_print_value(stdout, k);
    putchar('=');
    cairn__cli_print_value(stdout, &map->via.map.ptr[i].val);
  }
}

static void print_history_item(const msgpack_object *h) {
  const msgpack_object *seq = cairn_record_map_get(h, "seq");
  const msgpack_object *hlc = cairn_record_map_get(h, "hlc");
  const msgpack_object *why = cairn_record_map_get(h, "why");
  char author[9], when[32] = "";
  uint32_t i;

  author_prefix(cairn_record_map_get(h, "author"), author);
  if (hlc != NULL && hlc->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    time_t t = (time_t)((hlc->via.u64 >> 16) / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
      strftime(when, sizeof when, " %Y-%m-%d %H:%MZ", &tm);
  }
  printf("  %s", author);
  if (seq != NULL && seq->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    printf(" #%" PRIu64, seq->via.u64);
  printf("%s ", when);
  for (i = 0; i < h->via.map.size; i++) {
    const msgpack_object *k = &h->via.map.ptr[i].key;
    const msgpack_object *v = &h->via.map.ptr[i].val;
    /* Printed above, or merge bookkeeping (base) that a person need not read. */
    static const char *const shown[] = {"author", "seq", "hlc", "why", "base", NULL};
    int skip = 0, j;
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    for (j = 0; shown[j] != NULL; j++)
      if (k->via.str.size == strlen(shown[j]) &&
          memcmp(k->via.str.ptr, shown[j], k->via.str.size) == 0)
        skip = 1;
    if (skip)
      continue;
    putchar(' ');
    if (v->type == MSGPACK_OBJECT_MAP) {
      print_pairs(v);
    } else {
      cairn__cli_print_value(stdout, k);
      putchar('=');
      cairn__cli_print_value(stdout, v);
    }
  }
  putchar('\n');
  if (why != NULL && why->type == MSGPACK_OBJECT_STR && why->via.str.size > 0)
    printf("      why: %.*s\n", (int)why->via.str.size, why->via.str.ptr);
}

void cairn__cli_print_record(const msgpack_object *record) {
  const msgpack_object *fields, *history, *conflicts;
  const char *type, *id;
  int typel, idl;
  uint32_t i;

  if (record == NULL || record->type != MSGPACK_OBJECT_MAP) {
    printf("no record\n");
    return;
  }
  type = str_of(record, "type", &typel);
  id = str_of(record, "id", &idl);
  printf("%.*s %.*s\n", typel, type, idl, id);
  fields = cairn_record_map_get(record, "fields");
  for (i = 0; fields != NULL && fields->type == MSGPACK_OBJECT_MAP && i < fields->via.map.size;
       i++) {
    const msgpack_object *k = &fields->via.map.ptr[i].key, *v = &fields->via.map.ptr[i].val;
    printf("  ");
    cairn__cli_print_value(stdout, k);
    printf(": ");
    if (v->type == MSGPACK_OBJECT_NIL && k->type == MSGPACK_OBJECT_STR && k->via.str.size == 8 &&
        memcmp(k->via.str.ptr, "baseline", 8) == 0)
      fputs("pending", stdout);
    else
      cairn__cli_print_value(stdout, v);
    putchar('\n');
  }
  history = cairn_record_map_get(record, "history");
  if (history != NULL && history->type == MSGPACK_OBJECT_ARRAY) {
    printf("history:\n");
    for (i = 0; i < history->via.array.size; i++)
      if (history->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
        print_history_item(&history->via.array.ptr[i]);
  }
  conflicts = cairn_record_map_get(record, "conflicts");
  if (conflicts != NULL && conflicts->type == MSGPACK_OBJECT_ARRAY &&
      conflicts->via.array.size > 0) {
    printf("conflicts:\n");
    for (i = 0; i < conflicts->via.array.size; i++) {
      printf("  ");
      cairn__cli_print_value(stdout, &conflicts->via.array.ptr[i]);
      putchar('\n');
    }
  }
}

void cairn__cli_print_conflicts(const msgpack_object *conflicts) {
  uint32_t i, j;

  if (conflicts == NULL || conflicts->type != MSGPACK_OBJECT_ARRAY ||
      conflicts->via.array.size == 0) {
    printf("no conflicts\n");
    return;
  }
  for (i = 0; i < conflicts->via.array.size; i++) {
    const msgpack_object *c = &conflicts->via.array.ptr[i];
    const msgpack_object *value, *losers;
    const char *type, *id, *field;
    int typel, idl, fieldl;
    if (c->type != MSGPACK_OBJECT_MAP)
      continue;
    type = str_of(c, "type", &typel);
    id = str_of(c, "id", &idl);
    field = str_of(c, "field", &fieldl);
    value = cairn_record_map_get(c, "value");
    printf("%.*s %.*s %.*s: shown ", typel, type, idl, id, fieldl, field);
    if (value != NULL)
      cairn__cli_print_value(stdout, value);
    putchar('\n');
    losers = cairn_record_map_get(c, "losers");
    for (j = 0; losers != NULL && losers->type == MSGPACK_OBJECT_ARRAY &&
                j < losers->via.array.size;
         j++) {
      const msgpack_object *l = &losers->via.array.ptr[j];
      const msgpack_object *lv, *seq;
      char author[9];
      if (l->type != MSGPACK_OBJECT_MAP)
        continue;
      lv = cairn_record_map_get(l, "value");
      seq = cairn_record_map_get(l, "seq");
      author_prefix(cairn_record_map_get(l, "author"), author);
      printf("    also ");
      if (lv != NULL)
        cairn__cli_print_value(stdout, lv);
      printf(" by %s", author);
      if (seq != NULL && seq->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        printf(" #%" PRIu64, seq->via.u64);
      putchar('\n');
    }
  }
}
