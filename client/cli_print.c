/* cli_print.c: replies as text for people: the status of each student's
 * milestones, one record with its history, the conflicts, the devices, the
 * sync peers and what cairnd refused. Every string from a reply is stored
 * or received text: it is printed through cairn__cli_escape, so nothing in
 * it can reach the terminal as a control sequence. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include "cli.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <sodium.h>

#include "health.h"
#include "record.h"
#include "sync_refusals.h"

/* The code point of the UTF-8 sequence at s[0..len), its length in *n; -1
 * (and *n = 1) when the bytes there are not well-formed UTF-8. */
static long utf8_next(const unsigned char *s, size_t len, size_t *n) {
  static const struct {
    unsigned char mask, lead;
    long min;
  } forms[] = {{0xe0, 0xc0, 0x80}, {0xf0, 0xe0, 0x800}, {0xf8, 0xf0, 0x10000}};
  *n = 1;
  if (s[0] < 0x80)
    return s[0];
  for (size_t f = 0; f < 3; f++) {
    size_t need = f + 2;
    if ((s[0] & forms[f].mask) != forms[f].lead)
      continue;
    if (len < need)
      return -1;
    long cp = s[0] & (0x3f >> (f + 1));
    for (size_t i = 1; i < need; i++) {
      if ((s[i] & 0xc0) != 0x80)
        return -1;
      cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < forms[f].min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return -1;
    *n = need;
    return cp;
  }
  return -1;
}

int cairn__cli_columns(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  size_t len = strlen(s), i = 0, n;
  int cols = 0;
  while (i < len) {
    long cp = utf8_next(u + i, len - i, &n);
    int w = cp < 0 ? 1 : wcwidth((wchar_t)cp);
    cols += w < 0 ? 1 : w; /* unknown to the locale: one column */
    i += cp < 0 ? 1 : n;
  }
  return cols;
}

void cairn__cli_pad(const char *s, int width) {
  fputs(s, stdout);
  for (int c = cairn__cli_columns(s); c < width; c++)
    putchar(' ');
}

/* Code points a terminal must not get raw: C0, DEL, C1, the line and
 * paragraph separators, and the bidirectional controls (they reorder what
 * follows them on screen). */
static int unprintable(long cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *cairn__cli_escape(const char *s, size_t len, char *buf, size_t size) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0;
  if (size == 0)
    return buf;
  while (i < len) {
    char esc[12];
    size_t n, elen;
    long cp = utf8_next(u + i, len - i, &n);
    if (cp < 0)
      elen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", u[i]);
    else if (cp == '\n' || cp == '\t' || cp == '\r')
      elen = (size_t)snprintf(esc, sizeof esc, "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
    else if (cp < 0x80 && unprintable(cp))
      elen = (size_t)snprintf(esc, sizeof esc, "\\x%02lx", cp);
    else if (unprintable(cp))
      elen = (size_t)snprintf(esc, sizeof esc, "\\u%04lx", cp);
    else
      elen = 0;
    const char *piece = elen > 0 ? esc : s + i;
    size_t plen = elen > 0 ? elen : n;
    if (o + plen >= size)
      break; /* cut at a whole character or escape */
    memcpy(buf + o, piece, plen);
    o += plen;
    i += n;
  }
  buf[o] = '\0';
  return buf;
}

void cairn__cli_put_text(FILE *f, const char *s, size_t len) {
  char buf[512];
  while (len > 0) {
    /* a chunk of at most 64 bytes escapes to at most 64 * 6 + 1 */
    size_t n = len < 64 ? len : 64;
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
      n--; /* do not split a character */
    if (n == 0)
      n = len < 64 ? len : 64;
    fputs(cairn__cli_escape(s, n, buf, sizeof buf), f);
    s += n;
    len -= n;
  }
}

/* The string at key in map, escaped into buf; "-" when absent, empty or
 * not a string. */
static const char *text_of(const msgpack_object *map, const char *key, char *buf, size_t size) {
  const msgpack_object *v = cairn_record_map_get(map, key);
  if (v == NULL || v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0)
    return "-";
  return cairn__cli_escape(v->via.str.ptr, v->via.str.size, buf, size);
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
    cairn__cli_put_text(f, v->via.str.ptr, v->via.str.size);
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
    if (j != NULL && (json_is_string(j))) {
      cairn__cli_put_text(f, json_string_value(j), json_string_length(j));
    } else if (j != NULL) {
      char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
      if (text != NULL)
        cairn__cli_put_text(f, text, strlen(text));
      free(text);
    }
    json_decref(j);
    break;
  }
}

/* A value of a milestone's scale for a person: yes/no on a yes/no scale,
 * a label on an ordinal one (a record's scale and levels; either may be
 * NULL), else as cairn__cli_print_value. */
static void print_on_scale(FILE *f, const msgpack_object *v, const msgpack_object *record) {
  const msgpack_object *scale = cairn_record_map_get(record, "scale");
  const msgpack_object *levels = cairn_record_map_get(record, "levels");
  int yesno = scale != NULL && scale->type == MSGPACK_OBJECT_STR && scale->via.str.size == 5 &&
              memcmp(scale->via.str.ptr, "yesno", 5) == 0;
  double d = is_num(v) ? num_of(v) : -1;
  if (yesno && (d == 0 || d == 1))
    fputs(d == 1 ? "yes" : "no", f);
  else if (levels != NULL && levels->type == MSGPACK_OBJECT_ARRAY && d >= 0 &&
           d < levels->via.array.size && d == (double)(uint32_t)d)
    cairn__cli_print_value(f, &levels->via.array.ptr[(uint32_t)d]);
  else
    cairn__cli_print_value(f, v);
}

/* Prints "    LABEL TEXT" for the string at key, when there is one. */
static void print_line(const msgpack_object *m, const char *label, const char *key) {
  char buf[4096];
  if (has_text(m, key))
    printf("    %s%s\n", label, text_of(m, key, buf, sizeof buf));
}

/* The scale as a person reads it: "0-4", or a levels scale's labels
 * "levels (beginning < approaching < meeting)". */
static const char *scale_text(const msgpack_object *m, char *buf, size_t size) {
  const msgpack_object *levels = cairn_record_map_get(m, "levels");
  char label[200];
  size_t used;
  text_of(m, "scale", buf, size);
  if (strcmp(buf, "levels") != 0 || levels == NULL || levels->type != MSGPACK_OBJECT_ARRAY)
    return buf;
  used = strlen(buf);
  for (uint32_t i = 0; i < levels->via.array.size && used + 1 < size; i++) {
    const msgpack_object *l = &levels->via.array.ptr[i];
    if (l->type != MSGPACK_OBJECT_STR)
      continue;
    int n = snprintf(buf + used, size - used, "%s%s", i ? " < " : " (",
                     cairn__cli_escape(l->via.str.ptr, l->via.str.size, label, sizeof label));
    used += n > 0 ? (size_t)n : 0;
  }
  if (used + 1 < size)
    snprintf(buf + used, size - used, ")");
  return buf;
}

static void print_milestone(const msgpack_object *m) {
  const msgpack_object *trig = cairn_record_map_get(m, "triggered");
  const msgpack_object *result = cairn_record_map_get(m, "result");
  int ended = result != NULL && result->type == MSGPACK_OBJECT_STR;
  int closed = bool_of(m, "closed");
  char id[160], type[160], level[64], light[32], buf[4096], a[64], b[64];
  int64_t n;
  uint32_t i;

  text_of(m, "id", id, sizeof id);
  text_of(m, "type", type, sizeof type);
  text_of(m, "level", level, sizeof level);
  text_of(m, "light", light, sizeof light);
  printf("\n  %s  %s  %s", id, type, level);
  if (bool_of(m, "archived"))
    fputs("  (archived)", stdout);
  if (ended)
    printf("  %s: %s\n", closed ? "CLOSED" : "ENDED", text_of(m, "result", buf, sizeof buf));
  else if (strcmp(light, "none") != 0 && strcmp(light, "-") != 0) {
    fputs("  ", stdout);
    for (const char *c = light; *c != '\0'; c++)
      putchar(toupper((unsigned char)*c));
    putchar('\n');
  } else {
    putchar('\n');
  }
  printf("    %s\n", text_of(m, "statement", buf, sizeof buf));
  printf("    %s; baseline %s; scale %s; %s to %s\n", text_of(m, "goal", buf, sizeof buf),
         text_of(m, "baseline_text", id, sizeof id), scale_text(m, type, sizeof type),
         text_of(m, "start", a, sizeof a), text_of(m, "end", b, sizeof b));
  if (has_text(m, "carried_from"))
    printf("    carried forward from %s\n", text_of(m, "carried_from", a, sizeof a));
  if (int_of(m, "points", &n) && n > 0) {
    int64_t met = 0, window = 0;
    int_of(m, "met", &met);
    int_of(m, "window", &window);
    if (window > 1)
      printf("    met the target in %" PRId64 " of the last %" PRId64 " points; ", met, window);
    else
      printf("    ");
    printf("last %s on %s", text_of(m, "last_text", buf, sizeof buf),
           text_of(m, "last_observed", a, sizeof a));
    printf(window > 1 ? "\n" : met > 0 ? " (meets the target)\n" : " (misses the target)\n");
  }
  if (strcmp(light, "none") != 0 && strcmp(light, "-") != 0 && !ended)
    printf("    %s: %s\n", light, text_of(m, "why", buf, sizeof buf));
  else
    printf("    %s\n", text_of(m, "why", buf, sizeof buf));
  print_line(m, "trend ", "trend_text");
  if (has_text(m, "support")) {
    printf("    support in place: %s", text_of(m, "support", buf, sizeof buf));
    if (has_text(m, "support_since"))
      printf(" (since %s)", text_of(m, "support_since", a, sizeof a));
    putchar('\n');
  }
  if (has_text(m, "celebration"))
    printf("    celebrated %s: %s\n", text_of(m, "celebrated", a, sizeof a),
           text_of(m, "celebration", buf, sizeof buf));
  if (has_text(m, "next_review"))
    printf("    %s %s%s%s\n", ended ? "closing review due" : "next review",
           text_of(m, "next_review", a, sizeof a),
           bool_of(m, "next_is_check") ? " (a check date)" : "",
           bool_of(m, "overdue") ? ", OVERDUE" : "");
  else if (closed)
    printf("    no review due: it is closed\n");
  else
    printf("    no review due: the closing review is done\n");
  if (int_of(m, "conflicts", &n) && n > 0)
    printf("    %" PRId64 " field%s changed on two devices at once: see cairn conflicts\n", n,
           n == 1 ? "" : "s");
  for (i = 0; trig != NULL && trig->type == MSGPACK_OBJECT_ARRAY && i < trig->via.array.size;
       i++)
    if (trig->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
      printf("    \u2192 then: %s\n", text_of(&trig->via.array.ptr[i], "action", buf, sizeof buf));
}

void cairn__cli_print_status(const msgpack_object *as_of, const msgpack_object *students) {
  uint32_t i, k;
  char buf[512], id[160];

  if (as_of != NULL && as_of->type == MSGPACK_OBJECT_STR)
    printf("status as of %.10s\n", cairn__cli_escape(as_of->via.str.ptr, as_of->via.str.size,
                                                     buf, sizeof buf));
  if (students == NULL || students->type != MSGPACK_OBJECT_ARRAY ||
      students->via.array.size == 0) {
    printf("no milestones\n");
    return;
  }
  for (i = 0; i < students->via.array.size; i++) {
    const msgpack_object *st = &students->via.array.ptr[i];
    const msgpack_object *acc, *ms;
    if (st->type != MSGPACK_OBJECT_MAP)
      continue;
    printf("\n%s (%s)", text_of(st, "name", buf, sizeof buf), text_of(st, "id", id, sizeof id));
    if (has_text(st, "grade"))
      printf(", grade %s", text_of(st, "grade", buf, sizeof buf));
    acc = cairn_record_map_get(st, "classrooms");
    if (acc != NULL && acc->type == MSGPACK_OBJECT_ARRAY && acc->via.array.size > 0) {
      fputs(", ", stdout);
      cairn__cli_print_value(stdout, acc);
    }
    if (bool_of(st, "withdrawn"))
      printf(", WITHDRAWN%s%s", has_text(st, "withdrawn_on") ? " on " : "",
             has_text(st, "withdrawn_on") ? text_of(st, "withdrawn_on", buf, sizeof buf) : "");
    putchar('\n');
    acc = cairn_record_map_get(st, "accommodations");
    if (acc != NULL && acc->type == MSGPACK_OBJECT_ARRAY && acc->via.array.size > 0) {
      fputs("  accommodations: ", stdout);
      cairn__cli_print_value(stdout, acc);
      putchar('\n');
    }
    ms = cairn_record_map_get(st, "milestones");
    if (ms == NULL || ms->type != MSGPACK_OBJECT_ARRAY || ms->via.array.size == 0)
      printf("  no milestones\n");
    for (k = 0; ms != NULL && ms->type == MSGPACK_OBJECT_ARRAY && k < ms->via.array.size; k++)
      if (ms->via.array.ptr[k].type == MSGPACK_OBJECT_MAP)
        print_milestone(&ms->via.array.ptr[k]);
  }
}

void cairn__cli_print_students(const msgpack_object *students) {
  if (students == NULL || students->type != MSGPACK_OBJECT_ARRAY ||
      students->via.array.size == 0) {
    printf("no students\n");
    return;
  }
  printf("%-16s  %-24s  %-5s  %-12s  %-20s  %s\n", "STUDENT", "NAME", "GRADE", "CAMPUS",
         "CLASSROOMS", "OPEN MILESTONES");
  for (uint32_t i = 0; i < students->via.array.size; i++) {
    const msgpack_object *st = &students->via.array.ptr[i];
    char id[160], name[400], grade[80], campus[160], rooms[400] = "-", room[160];
    const msgpack_object *list = cairn_record_map_get(st, "classrooms");
    int64_t open = 0;
    size_t used = 0;
    if (st->type != MSGPACK_OBJECT_MAP)
      continue;
    for (uint32_t k = 0; list != NULL && list->type == MSGPACK_OBJECT_ARRAY &&
                         k < list->via.array.size && used + 1 < sizeof rooms;
         k++) {
      const msgpack_object *r = &list->via.array.ptr[k];
      if (r->type != MSGPACK_OBJECT_STR)
        continue;
      int n = snprintf(rooms + used, sizeof rooms - used, "%s%s", used ? "; " : "",
                       cairn__cli_escape(r->via.str.ptr, r->via.str.size, room, sizeof room));
      used += n > 0 ? (size_t)n : 0;
    }
    int_of(st, "open", &open);
    const char *cells[] = {text_of(st, "id", id, sizeof id), text_of(st, "name", name, sizeof name),
                           text_of(st, "grade", grade, sizeof grade),
                           text_of(st, "campus", campus, sizeof campus), rooms};
    static const int widths[] = {16, 24, 5, 12, 20};
    for (size_t c = 0; c < sizeof widths / sizeof widths[0]; c++) {
      cairn__cli_pad(cells[c], widths[c]);
      fputs("  ", stdout);
    }
    printf("%" PRId64 "%s\n", open, bool_of(st, "withdrawn") ? "  (withdrawn)" : "");
  }
}

/* Prints "key=value" for each pair of a map, separated by spaces. */
/* Is k the string lit? */
static int key_is(const msgpack_object *k, const char *lit) {
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(lit) &&
         memcmp(k->via.str.ptr, lit, k->via.str.size) == 0;
}

/* The value of field k: on the record's scale for the fields that hold a
 * value of it (value, target, baseline: "pending" when nil). */
static void print_field(const msgpack_object *k, const msgpack_object *v,
                        const msgpack_object *record) {
  if (key_is(k, "baseline") && v->type == MSGPACK_OBJECT_NIL)
    fputs("pending", stdout);
  else if (key_is(k, "value") || key_is(k, "target") || key_is(k, "baseline"))
    print_on_scale(stdout, v, record);
  else
    cairn__cli_print_value(stdout, v);
}

/* Prints "key=value" for each pair of a map, separated by spaces. */
static void print_pairs(const msgpack_object *map, const msgpack_object *record) {
  uint32_t i;
  for (i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    printf("%s", i > 0 ? "  " : "");
    cairn__cli_print_value(stdout, k);
    putchar('=');
    print_field(k, &map->via.map.ptr[i].val, record);
  }
}

static void print_history_item(const msgpack_object *h, const msgpack_object *record) {
  const msgpack_object *seq = cairn_record_map_get(h, "seq");
  const msgpack_object *hlc = cairn_record_map_get(h, "hlc");
  const msgpack_object *set = cairn_record_map_get(h, "set");
  char author[9], when[32] = "", buf[4096];

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
  /* merge bookkeeping (base) is not for people */
  if (set != NULL && set->type == MSGPACK_OBJECT_MAP)
    print_pairs(set, record);
  putchar('\n');
  if (has_text(h, "why"))
    printf("      why: %s\n", text_of(h, "why", buf, sizeof buf));
}

void cairn__cli_print_record(const msgpack_object *record) {
  const msgpack_object *fields, *history, *conflicts;
  char type[64], id[160];
  uint32_t i;

  if (record == NULL || record->type != MSGPACK_OBJECT_MAP) {
    printf("no record\n");
    return;
  }
  printf("%s %s\n", text_of(record, "type", type, sizeof type), text_of(record, "id", id, sizeof id));
  fields = cairn_record_map_get(record, "fields");
  for (i = 0; fields != NULL && fields->type == MSGPACK_OBJECT_MAP && i < fields->via.map.size;
       i++) {
    const msgpack_object *k = &fields->via.map.ptr[i].key, *v = &fields->via.map.ptr[i].val;
    printf("  ");
    cairn__cli_print_value(stdout, k);
    printf(": ");
    print_field(k, v, record);
    putchar('\n');
  }
  history = cairn_record_map_get(record, "history");
  if (history != NULL && history->type == MSGPACK_OBJECT_ARRAY) {
    printf("history:\n");
    for (i = 0; i < history->via.array.size; i++)
      if (history->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
        print_history_item(&history->via.array.ptr[i], record);
  }
  conflicts = cairn_record_map_get(record, "conflicts");
  if (conflicts != NULL && conflicts->type == MSGPACK_OBJECT_MAP && conflicts->via.map.size > 0) {
    printf("conflicts (the value shown above, and the others):\n");
    for (i = 0; i < conflicts->via.map.size; i++) {
      const msgpack_object *k = &conflicts->via.map.ptr[i].key;
      const msgpack_object *others = &conflicts->via.map.ptr[i].val;
      printf("  ");
      cairn__cli_print_value(stdout, k);
      printf(": also ");
      for (uint32_t j = 0; others->type == MSGPACK_OBJECT_ARRAY && j < others->via.array.size;
           j++) {
        if (j > 0)
          fputs("; ", stdout);
        print_field(k, &others->via.array.ptr[j], record);
      }
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
    char type[64], id[160], field[160];
    if (c->type != MSGPACK_OBJECT_MAP)
      continue;
    text_of(c, "type", type, sizeof type);
    text_of(c, "id", id, sizeof id);
    text_of(c, "field", field, sizeof field);
    value = cairn_record_map_get(c, "value");
    printf("%s %s %s: shown ", type, id, field);
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
    char role[64], campus[160], classroom[160], name[400];
    char id[17], seen[32] = "never";
    int64_t t;
    if (d->type != MSGPACK_OBJECT_MAP)
      continue;
    key_prefix(cairn_record_map_get(d, "id"), id, 16);
    if (int_of(d, "last_seen", &t))
      local_minute(t, seen, sizeof seen);
    /* a hub has no classroom: "-", never what the row before left */
    const char *cells[] = {id, text_of(d, "role", role, sizeof role),
                           text_of(d, "campus", campus, sizeof campus),
                           text_of(d, "classroom", classroom, sizeof classroom),
                           text_of(d, "name", name, sizeof name)};
    static const int widths[] = {16, 9, 12, 12, 20};
    for (size_t c = 0; c < sizeof widths / sizeof widths[0]; c++) {
      cairn__cli_pad(cells[c], widths[c]);
      fputs("  ", stdout);
    }
    printf(bool_of(d, "revoked") ? "%-16s  REVOKED\n" : "%s\n", seen);
  }
}

int cairn__cli_print_health(const msgpack_object *peers, const char *data_dir, int64_t within_s) {
  cairn_health_facts f = {0};
  char dir[64], text[1024];
  int healthy;

  f.disk_known = cairn_health_disk_free(data_dir, &f.disk_free) == 0;
  f.now = (int64_t)time(NULL);
  f.within = within_s;
  for (uint32_t i = 0; peers != NULL && peers->type == MSGPACK_OBJECT_ARRAY &&
                       i < peers->via.array.size;
       i++) {
    const msgpack_object *p = &peers->via.array.ptr[i];
    if (strcmp(text_of(p, "direction", dir, sizeof dir), "upstream") != 0)
      continue;
    f.has_upstream = 1;
    if (!int_of(p, "last_success", &f.upstream_success))
      f.upstream_success = 0;
  }
  healthy = cairn_health_judge(&f, data_dir, text, sizeof text);
  fputs(text, stdout);
  return healthy ? EXIT_OK : EXIT_FAIL;
}

/* How long ago t was, for a person: "12 s", "5 min", "3 h", "2 d". */
static void ago(int64_t t, char *out, size_t size) {
  cairn_health_ago((int64_t)time(NULL) - t, out, size);
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
  char dir[64], addr[300], state[64], err[1024];
  char when[32], since[32], out[24], in[24], sent[24], received[24], refused[24], prefix[9];
  int64_t t;

  text_of(p, "direction", dir, sizeof dir);
  text_of(p, "address", addr, sizeof addr);
  text_of(p, "state", state, sizeof state);
  printf("%s", dir);
  if (has_text(p, "address"))
    printf(" %s", addr);
  key_prefix(peer, prefix, 8);
  if (prefix[0] != '?')
    printf(" (%s\u2026)", prefix);
  printf(": %s, %s\n", bool_of(p, "connected") ? "connected" : "not connected", state);
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
  else if (strcmp(dir, "upstream") == 0)
    printf("  receipt: none from the central yet\n");
  if (has_text(p, "last_error"))
    printf("  last error: %s\n", text_of(p, "last_error", err, sizeof err));
  if (has_text(p, "clock"))
    printf("  clock: %s\n", text_of(p, "clock", err, sizeof err));
  if (has_text(p, "notice"))
    printf("  %s\n", text_of(p, "notice", err, sizeof err));
}

void cairn__cli_print_notices(const msgpack_object *notices) {
  char text[1024];
  if (notices == NULL || notices->type != MSGPACK_OBJECT_ARRAY)
    return;
  for (uint32_t i = 0; i < notices->via.array.size; i++) {
    const msgpack_object *n = &notices->via.array.ptr[i];
    if (n->type == MSGPACK_OBJECT_STR)
      printf("! %s\n", cairn__cli_escape(n->via.str.ptr, n->via.str.size, text, sizeof text));
  }
}

void cairn__cli_print_kept_out(const msgpack_object *kept) {
  const msgpack_object *held = cairn_record_map_get(kept, "held");
  const msgpack_object *q = cairn_record_map_get(kept, "quarantined");
  char why[300];
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
    if (n == NULL || n->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      continue;
    if (!any++)
      printf("\nkept out of the records here:\n");
    printf("  %6" PRIu64 "  quarantined: %s\n", n->via.u64,
           text_of(&q->via.array.ptr[i], "reason", why, sizeof why));
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
    char name[128];
    printf("  %-20s %6" PRIu64 "  %s\n",
           cairn__cli_escape(k->via.str.ptr, k->via.str.size, name, sizeof name), v->via.u64,
           refusal_what(k));
  }
  if (!any)
    printf("\nrefused since cairnd started: nothing\n");
}
