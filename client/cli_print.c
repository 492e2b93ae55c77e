/* cli_print.c: replies as text for people: the status table, one record
 * with its history, the conflicts, the devices, the sync peers and what
 * cairnd refused. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "record.h"
#include "sync_refusals.h"

/* The string at key in map as a printf "%.*s" pair; "-" when absent, empty
 * or not a string. */
static const char *str_of(const msgpack_object *map, const char *key, int *len) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  if (v == NULL || v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0) {
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

/* The first n (even) hex digits of a key (bin 32 or a hex string) into out
 * (n + 1 bytes); "?" when v is neither or too short. */
static void key_prefix(const msgpack_object *v, char *out, uint32_t n) {
  strcpy(out, "?");
  if (v != NULL && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size >= n / 2) {
    sodium_bin2hex(out, n + 1, (const unsigned char *)v->via.bin.ptr, n / 2);
  } else if (v != NULL && v->type == MSGPACK_OBJECT_STR && v->via.str.size >= n) {
    memcpy(out, v->via.str.ptr, n);
    out[n] = '\0';
  }
}

/* An integer at key in map into *out; 0 when absent, nil or not an integer. */
static int int_of(const msgpack_object *map, const char *key, int64_t *out) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
    *out = (int64_t)v->via.u64;
  else if (v != NULL && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *out = v->via.i64;
  else
    return 0;
  return 1;
}

/* Is the value at key in map a non-empty string? */
static int has_text(const msgpack_object *map, const char *key) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  return v != NULL && v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0;
}

static int bool_of(const msgpack_object *map, const char *key) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  return v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

/* Unix seconds as local "YYYY-MM-DD HH:MM" (out: 17 bytes or more). */
static void local_minute(int64_t t, char *out, size_t size) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
    snprintf(out, size, "%" PRId64, t);
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

  key_prefix(cairn_record_map_get(h, "author"), author, 8);
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
      key_prefix(cairn_record_map_get(l, "author"), author, 8);
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

void cairn__cli_print_devices(const msgpack_object *devices) {
  uint32_t i;

  if (devices == NULL || devices->type != MSGPACK_OBJECT_ARRAY || devices->via.array.size == 0) {
    printf("no devices\n");
    return;
  }
  printf("%-16s  %-9s  %-12s  %-12s  %-20s  %s\n", "DEVICE", "ROLE", "CAMPUS", "CLASSROOM", "NAME",
         "LAST SEEN");
  for (i = 0; i < devices->via.array.size; i++) {
    const msgpack_object *d = &devices->via.array.ptr[i];
    const char *role, *campus, *classroom, *name;
    int rolel, campusl, classrooml, namel;
    char id[17], seen[32] = "never";
    int64_t t;
    if (d->type != MSGPACK_OBJECT_MAP)
      continue;
    key_prefix(cairn_record_map_get(d, "id"), id, 16);
    role = str_of(d, "role", &rolel);
    campus = str_of(d, "campus", &campusl);
    classroom = str_of(d, "classroom", &classrooml);
    name = str_of(d, "name", &namel);
    if (int_of(d, "last_seen", &t))
      local_minute(t, seen, sizeof seen);
    printf("%-16s  %-9.*s  %-12.*s  %-12.*s  %-20.*s  ", id, rolel, role, campusl, campus,
           classrooml, classroom, namel, name);
    printf(bool_of(d, "revoked") ? "%-16s  REVOKED\n" : "%s\n", seen);
  }
}

/* How long ago t was, for a person: "12 s", "5 min", "3 h", "2 d". */
static void ago(int64_t t, char *out, size_t size) {
  int64_t d = (int64_t)time(NULL) - t;
  if (d < 0)
    d = 0;
  if (d < 120)
    snprintf(out, size, "%" PRId64 " s", d);
  else if (d < 2 * 3600)
    snprintf(out, size, "%" PRId64 " min", d / 60);
  else if (d < 2 * 86400)
    snprintf(out, size, "%" PRId64 " h", d / 3600);
  else
    snprintf(out, size, "%" PRId64 " d", d / 86400);
}

/* The count at key as text, "?" when not known (nil). */
static void count_of(const msgpack_object *map, const char *key, char *out, size_t size) {
  int64_t n;
  if (int_of(map, key, &n))
    snprintf(out, size, "%" PRId64, n);
  else
    snprintf(out, size, "?");
}

static void print_peer(const msgpack_object *p) {
  const msgpack_object *receipt = cairn_record_map_get(p, "receipt");
  const msgpack_object *peer = cairn_record_map_get(p, "peer");
  const char *dir, *addr, *state, *err;
  int dirl, addrl, statel, errl;
  char when[32], since[32], out[24], in[24], sent[24], received[24], refused[24], prefix[9];
  int64_t t;

  dir = str_of(p, "direction", &dirl);
  addr = str_of(p, "address", &addrl);
  state = str_of(p, "state", &statel);
  printf("%.*s", dirl, dir);
  if (has_text(p, "address"))
    printf(" %.*s", addrl, addr);
  key_prefix(peer, prefix, 8);
  if (prefix[0] != '?')
    printf(" (%s\u2026)", prefix);
  printf(": %s, %.*s\n", bool_of(p, "connected") ? "connected" : "not connected", statel, state);
  if (int_of(p, "last_success", &t)) {
    local_minute(t, when, sizeof when);
    ago(t, since, sizeof since);
    printf("  last success %s (%s ago)\n", when, since);
  } else {
    printf("  never synced successfully\n");
  }
  count_of(p, "pending_out", out, sizeof out);
  count_of(p, "pending_in", in, sizeof in);
  count_of(p, "sent", sent, sizeof sent);
  count_of(p, "received", received, sizeof received);
  printf("  pending: %s to send or unacknowledged, %s to receive\n", out, in);
  count_of(p, "refused", refused, sizeof refused);
  printf("  sent %s, received %s, refused %s\n", sent, received, refused);
  if (receipt != NULL && receipt->type == MSGPACK_OBJECT_MAP && int_of(receipt, "seq", &t))
    printf("  receipt: the central holds our log up to #%" PRId64 "\n", t);
  else if (dirl == 8 && memcmp(dir, "upstream", 8) == 0)
    printf("  receipt: none from the central yet\n");
  err = str_of(p, "last_error", &errl);
  if (has_text(p, "last_error"))
    printf("  last error: %.*s\n", errl, err);
  if (has_text(p, "clock")) {
    err = str_of(p, "clock", &errl);
    printf("  clock: %.*s\n", errl, err);
  }
  if (has_text(p, "notice")) {
    err = str_of(p, "notice", &errl);
    printf("  %.*s\n", errl, err);
  }
}

void cairn__cli_print_notices(const msgpack_object *notices) {
  if (notices == NULL || notices->type != MSGPACK_OBJECT_ARRAY)
    return;
  for (uint32_t i = 0; i < notices->via.array.size; i++) {
    const msgpack_object *n = &notices->via.array.ptr[i];
    if (n->type != MSGPACK_OBJECT_STR)
      continue;
    printf("! ");
    cairn__cli_print_value(stdout, n);
    putchar('\n');
  }
}

void cairn__cli_print_kept_out(const msgpack_object *kept) {
  const msgpack_object *held = cairn_record_map_get(kept, "held");
  const msgpack_object *q = cairn_record_map_get(kept, "quarantined");
  int any = 0;
  if (held != NULL && held->type == MSGPACK_OBJECT_POSITIVE_INTEGER && held->via.u64 > 0) {
    printf("\nkept out of the records here:\n");
    printf("  %6" PRIu64 "  dated beyond this clock: held until the central orders them\n",
           held->via.u64);
    any = 1;
  }
  for (uint32_t i = 0; q != NULL && q->type == MSGPACK_OBJECT_ARRAY && i < q->via.array.size;
       i++) {
    const msgpack_object *n = cairn_record_map_get(&q->via.array.ptr[i], "entries");
    const msgpack_object *why = cairn_record_map_get(&q->via.array.ptr[i], "reason");
    if (n == NULL || why == NULL || n->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      continue;
    if (!any++)
      printf("\nkept out of the records here:\n");
    printf("  %6" PRIu64 "  quarantined: ", n->via.u64);
    cairn__cli_print_value(stdout, why);
    putchar('\n');
  }
}

void cairn__cli_print_peers(const msgpack_object *peers) {
  uint32_t i;

  if (peers == NULL || peers->type != MSGPACK_OBJECT_ARRAY || peers->via.array.size == 0) {
    printf("no sync peers (this node has no upstream; join one with: cairn join TOKEN)\n");
    return;
  }
  for (i = 0; i < peers->via.array.size; i++) {
    if (peers->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
      continue;
    if (i > 0)
      putchar('\n');
    print_peer(&peers->via.array.ptr[i]);
  }
}

static const struct {
  const char *name, *what;
} refusal_classes[] = {
#define AS_ROW(id, name, what) {name, what},
    CAIRN_SYNC_REFUSALS(AS_ROW)
#undef AS_ROW
};
#define NREFUSAL_CLASSES (sizeof refusal_classes / sizeof refusal_classes[0])

void cairn__cli_print_refusal_classes(FILE *f, int indent) {
  for (size_t i = 0; i < NREFUSAL_CLASSES; i++)
    fprintf(f, "%*s%-20s  %s\n", indent, "", refusal_classes[i].name, refusal_classes[i].what);
}

/* What the class named k means; "" for one this CLI does not know (a newer
 * cairnd's). */
static const char *refusal_what(const msgpack_object *k) {
  for (size_t i = 0; i < NREFUSAL_CLASSES; i++)
    if (k->via.str.size == strlen(refusal_classes[i].name) &&
        memcmp(k->via.str.ptr, refusal_classes[i].name, k->via.str.size) == 0)
      return refusal_classes[i].what;
  return "";
}

void cairn__cli_print_refusals(const msgpack_object *refusals) {
  int any = 0;

  if (refusals == NULL || refusals->type != MSGPACK_OBJECT_MAP)
    return; /* a cairnd from before the counters */
  for (uint32_t i = 0; i < refusals->via.map.size; i++) {
    const msgpack_object *k = &refusals->via.map.ptr[i].key, *v = &refusals->via.map.ptr[i].val;
    if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v->via.u64 == 0)
      continue;
    if (!any++)
      printf("\nrefused since cairnd started (counts kept in memory):\n");
    printf("  %-20.*s %6" PRIu64 "  %s\n", (int)k->via.str.size, k->via.str.ptr, v->via.u64,
           refusal_what(k));
  }
  if (!any)
    printf("\nrefused since cairnd started: nothing\n");
}
