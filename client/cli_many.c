/* cli_many.c: `cairn evidence add-many`: a class's evidence at once, from
 * lines ("MILESTONE-OR-STUDENT VALUE [DATE] [NOTE]") or CSV with a header
 * (read with libcsv), written by one put_many: every line, or none with
 * each bad line named by its number. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "frame.h"
#include "request.h"
#include "text.h"

#define INPUT_MAX (16u << 20)

/* One line of evidence: as read, then resolved. Strings are malloc'd. */
typedef struct item {
  unsigned line;
  char *target, *value, *date, *note, *by, *source;
  char milestone[80];
  double v;
  int bad; /* refused here, before cairnd saw it */
} item;

/* A refused line, printed once every line is read, in line order. */
typedef struct refusal {
  unsigned line;
  char *msg;
} refusal;

typedef struct many {
  const char *name; /* of the input, in messages */
  item *items;
  size_t n, cap;
  refusal *bad;
  size_t nbad, bad_cap;
  int oom;
} many;

/* A target already resolved: its milestone and scale, or why not. */
typedef struct target {
  char *token;
  char milestone[80];
  cairn__cli_scale scale;
  int rc;       /* 0, or the exit code of its refusal */
  char why[600];
} target;

/* Notes that line was refused, and why. */
static void bad_line(many *m, unsigned line, const char *msg) {
  if (m->nbad == m->bad_cap) {
    size_t cap = m->bad_cap ? 2 * m->bad_cap : 16;
    refusal *grown = realloc(m->bad, cap * sizeof *grown);
    if (grown == NULL) {
      m->oom = 1;
      return;
    }
    m->bad = grown;
    m->bad_cap = cap;
  }
  m->bad[m->nbad].line = line;
  m->bad[m->nbad++].msg = strdup(msg);
}

static int by_line(const void *a, const void *b) {
  const refusal *x = a, *y = b;
  return x->line < y->line ? -1 : x->line > y->line;
}

/* Prints every refused line, in line order, then that nothing was
 * written. */
static void print_refused(many *m) {
  qsort(m->bad, m->nbad, sizeof *m->bad, by_line);
  for (size_t i = 0; i < m->nbad; i++) {
    fprintf(stderr, "cairn: %s line %u: ", m->name, m->bad[i].line);
    if (m->bad[i].msg != NULL)
      cairn__cli_put_text(stderr, m->bad[i].msg, strlen(m->bad[i].msg));
    fputc('\n', stderr);
  }
  fprintf(stderr, "cairn: nothing written: %zu line%s refused\n", m->nbad,
          m->nbad == 1 ? "" : "s");
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static item *new_item(many *m, unsigned line) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    item *grown = realloc(m->items, cap * sizeof *grown);
    if (grown == NULL)
      return NULL;
    m->items = grown;
    m->cap = cap;
  }
  item *it = &m->items[m->n++];
  memset(it, 0, sizeof *it);
  it->line = line;
  return it;
}

/* "YYYY-MM-DD" in shape (the daemon checks it is a real day). */
static int date_shaped(const char *s, size_t n) {
  if (n != 10)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char)s[i]))
      return 0;
  return 1;
}

/* ---- lines ---------------------------------------------------------------- */

/* One line: TARGET VALUE [DATE] [NOTE...]. Blank lines and # comments are
 * skipped. */
static int read_line(many *m, const char *s, size_t len, unsigned line) {
  size_t p = 0, t0, t1, v0, v1;
  while (p < len && isspace((unsigned char)s[p]))
    p++;
  if (p == len || s[p] == '#')
    return 0;
  t0 = p;
  while (p < len && !isspace((unsigned char)s[p]))
    p++;
  t1 = p;
  while (p < len && isspace((unsigned char)s[p]))
    p++;
  v0 = p;
  while (p < len && !isspace((unsigned char)s[p]))
    p++;
  v1 = p;
  if (v1 == v0) {
    bad_line(m, line, "the value is missing (a line is MILESTONE-OR-STUDENT VALUE [DATE] "
                      "[NOTE])");
    return 0;
  }
  item *it = new_item(m, line);
  if (it == NULL)
    return -1;
  it->target = dup_n(s + t0, t1 - t0);
  it->value = dup_n(s + v0, v1 - v0);
  while (p < len && isspace((unsigned char)s[p]))
    p++;
  size_t d0 = p;
  while (p < len && !isspace((unsigned char)s[p]))
    p++;
  if (date_shaped(s + d0, p - d0)) {
    it->date = dup_n(s + d0, p - d0);
    while (p < len && isspace((unsigned char)s[p]))
      p++;
  } else {
    p = d0;
  }
  size_t end = len;
  while (end > p && isspace((unsigned char)s[end - 1]))
    end--;
  if (end > p)
    it->note = dup_n(s + p, end - p);
  return it->target && it->value ? 0 : -1;
}

static int read_lines(many *m, const char *buf, size_t len) {
  unsigned line = 1;
  for (size_t p = 0; p < len; line++) {
    const char *nl = memchr(buf + p, '\n', len - p);
    size_t n = nl ? (size_t)(nl - (buf + p)) : len - p;
    if (read_line(m, buf + p, n, line) != 0)
      return -1;
    p += n + (nl != NULL);
  }
  return 0;
}

/* ---- CSV (libcsv) ----------------------------------------------------------- */

enum { COL_MILESTONE, COL_STUDENT, COL_VALUE, COL_DATE, COL_NOTE, COL_BY, COL_SOURCE, COLS };
static const char *const col_names[COLS] = {"milestone", "student", "value", "date",
                                            "note",      "by",      "source"};

typedef struct csv_read {
  many *m;
  int header_done, failed;
  int col_of[64];     /* the column each field of a row is (-1: unknown) */
  size_t ncols;
  char *cells[COLS];  /* the row being read */
  size_t field;       /* its next field */
  unsigned row_line;  /* the line its row starts on */
  int row_bad;
  int row_ended;      /* the next row starts on the next line fed */
} csv_read;

/* A copy of a CSV value whose line breaks (CRLF, or CR, inside quotes)
 * become the LF cairn keeps in a note. */
static char *dup_cell(const char *s, size_t len) {
  char *p = malloc(len + 1);
  size_t o = 0;
  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\r') {
      p[o++] = '\n';
      i += i + 1 < len && s[i + 1] == '\n';
    } else {
      p[o++] = s[i];
    }
  }
  p[o] = '\0';
  return p;
}

static void on_field(void *s, size_t len, void *arg) {
  csv_read *r = arg;
  char msg[200];
  if (r->failed)
    return;
  if (!r->header_done) {
    size_t k;
    char name[32];
    size_t n = len < sizeof name - 1 ? len : sizeof name - 1;
    memcpy(name, s, n);
    name[n] = '\0';
    if (strcasecmp(name, "observed") == 0)
      strcpy(name, "date");
    for (k = 0; k < COLS && strcasecmp(name, col_names[k]) != 0; k++)
      ;
    if (r->ncols >= 64 || k == COLS) {
      char shown[CAIRN_TEXT_SHOWN_MAX];
      cairn_text_shown(shown, s, len);
      snprintf(msg, sizeof msg, "unknown column '%s' (the columns: milestone or student, value, "
               "date, note, by, source)", shown);
      bad_line(r->m, r->row_line, msg);
      r->failed = 1;
      return;
    }
    for (size_t i = 0; i < r->ncols; i++)
      if (r->col_of[i] == (int)k) {
        snprintf(msg, sizeof msg, "the column %s is named twice", col_names[k]);
        bad_line(r->m, r->row_line, msg);
        r->failed = 1;
        return;
      }
    r->col_of[r->ncols++] = (int)k;
    return;
  }
  if (r->field >= r->ncols) {
    if (!r->row_bad)
      bad_line(r->m, r->row_line, "more values than the header has columns");
    r->row_bad = 1;
    return;
  }
  int col = r->col_of[r->field++];
  free(r->cells[col]);
  r->cells[col] = len > 0 ? dup_cell(s, len) : NULL;
}

static void on_row(int c, void *arg) {
  csv_read *r = arg;
  (void)c;
  r->row_ended = 1;
  if (r->failed)
    return;
  if (!r->header_done) {
    int has_value = 0, has_target = 0;
    for (size_t i = 0; i < r->ncols; i++) {
      has_value |= r->col_of[i] == COL_VALUE;
      has_target |= r->col_of[i] == COL_MILESTONE || r->col_of[i] == COL_STUDENT;
    }
    if (!has_value || !has_target) {
      bad_line(r->m, r->row_line, "the header needs the columns value and milestone (or student)");
      r->failed = 1;
    }
    r->header_done = 1;
    return;
  }
  int blank = r->field <= 1 && r->cells[r->col_of[0]] == NULL;
  if (!r->row_bad && !blank) {
    const char *ms = r->cells[COL_MILESTONE], *st = r->cells[COL_STUDENT];
    if (ms != NULL && st != NULL) {
      bad_line(r->m, r->row_line, "give the milestone or the student, not both");
    } else if (ms == NULL && st == NULL) {
      bad_line(r->m, r->row_line, "the milestone (or student) is missing");
    } else if (r->cells[COL_VALUE] == NULL) {
      bad_line(r->m, r->row_line, "the value is missing");
    } else {
      item *it = new_item(r->m, r->row_line);
      if (it == NULL) {
        r->failed = -1;
        return;
      }
      it->target = dup_n(ms ? ms : st, strlen(ms ? ms : st));
      it->value = r->cells[COL_VALUE];
      it->date = r->cells[COL_DATE];
      it->note = r->cells[COL_NOTE];
      it->by = r->cells[COL_BY];
      it->source = r->cells[COL_SOURCE];
      r->cells[COL_VALUE] = r->cells[COL_DATE] = r->cells[COL_NOTE] = NULL;
      r->cells[COL_BY] = r->cells[COL_SOURCE] = NULL;
    }
  }
  for (size_t k = 0; k < COLS; k++) {
    free(r->cells[k]);
    r->cells[k] = NULL;
  }
  r->field = 0;
  r->row_bad = 0;
}

static int read_csv(many *m, const char *buf, size_t len) {
  struct csv_parser p;
  csv_read r = {.m = m, .row_line = 1, .row_ended = 1};
  int rc = 0;
  unsigned line = 1;
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
    return -1;
  /* fed line by line, so that each row knows the line it starts on */
  for (size_t off = 0; off < len && !r.failed; line++) {
    const char *nl = memchr(buf + off, '\n', len - off);
    size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
    if (r.row_ended) {
      r.row_line = line;
      r.row_ended = 0;
    }
    if (csv_parse(&p, buf + off, n, on_field, on_row, &r) != n) {
      bad_line(m, r.row_line, "broken quoting: a quote in a value must be doubled (\"\"), and a "
                              "quoted value must end with a quote before the next comma");
      r.failed = 1;
    }
    off += n;
  }
  if (!r.failed && csv_fini(&p, on_field, on_row, &r) != 0) {
    bad_line(m, r.row_line, "broken quoting: a quoted value does not end");
    r.failed = 1;
  }
  if (r.failed < 0)
    rc = -1;
  for (size_t k = 0; k < COLS; k++)
    free(r.cells[k]);
  csv_free(&p);
  return rc;
}

/* CSV when asked, or when the first line that is not blank is a header
 * that names a value column. */
static int looks_like_csv(const char *buf, size_t len) {
  size_t p = 0;
  while (p < len && isspace((unsigned char)buf[p]))
    p++;
  const char *nl = memchr(buf + p, '\n', len - p);
  size_t end = nl ? (size_t)(nl - buf) : len;
  if (memchr(buf + p, ',', end - p) == NULL)
    return 0;
  for (size_t f = p; f < end;) {
    size_t e = f;
    while (e < end && buf[e] != ',')
      e++;
    size_t a = f, b = e;
    while (a < b && (isspace((unsigned char)buf[a]) || buf[a] == '"'))
      a++;
    while (b > a && (isspace((unsigned char)buf[b - 1]) || buf[b - 1] == '"'))
      b--;
    if (b - a == 5 && strncasecmp(buf + a, "value", 5) == 0)
      return 1;
    f = e + 1;
  }
  return 0;
}

/* ---- targets and values ------------------------------------------------------- */

/* A student's one open milestone (neither closed nor archived), into t. */
static void open_milestone_of(cairn_client *c, target *t) {
  cairn_reply *r = NULL;
  const msgpack_object *students, *ms, *pick = NULL;
  char list[400] = "";
  size_t used = 0, open = 0;
  int rc = cairn__cli_ask(c, "students", "id", t->token, &r);
  students = rc == 0 ? cairn_reply_get(r, "students") : NULL;
  ms = students && students->type == MSGPACK_OBJECT_ARRAY && students->via.array.size == 1
           ? cairn_record_map_get(&students->via.array.ptr[0], "milestones")
           : NULL;
  if (ms == NULL || ms->type != MSGPACK_OBJECT_ARRAY) {
    snprintf(t->why, sizeof t->why, "%s: %s", t->token,
             r != NULL ? cairn_reply_message(r) : cairn_strerror(rc));
    t->rc = 1;
    cairn_reply_free(r);
    return;
  }
  for (uint32_t i = 0; i < ms->via.array.size; i++) {
    const msgpack_object *m = &ms->via.array.ptr[i];
    const msgpack_object *result = cairn_record_map_get(m, "result");
    const msgpack_object *archived = cairn_record_map_get(m, "archived");
    const msgpack_object *id = cairn_record_map_get(m, "id");
    const msgpack_object *st = cairn_record_map_get(m, "statement");
    if ((result != NULL && result->type != MSGPACK_OBJECT_NIL) ||
        (archived != NULL && archived->type == MSGPACK_OBJECT_BOOLEAN && archived->via.boolean) ||
        id == NULL || id->type != MSGPACK_OBJECT_STR)
      continue;
    pick = m;
    open++;
    if (used < sizeof list)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%.*s \"%.*s\"",
                               open > 1 ? ", " : "", (int)id->via.str.size, id->via.str.ptr,
                               st && st->type == MSGPACK_OBJECT_STR
                                   ? (int)(st->via.str.size > 40 ? 40 : st->via.str.size)
                                   : 0,
                               st && st->type == MSGPACK_OBJECT_STR ? st->via.str.ptr : "");
  }
  if (open == 1) {
    const msgpack_object *id = cairn_record_map_get(pick, "id");
    snprintf(t->milestone, sizeof t->milestone, "%.*s", (int)id->via.str.size, id->via.str.ptr);
    cairn__cli_scale_of(&t->scale, t->milestone, cairn_record_map_get(pick, "scale"),
                        cairn_record_map_get(pick, "levels"));
  } else if (open == 0) {
    snprintf(t->why, sizeof t->why, "student %s has no open milestone", t->token);
    t->rc = 1;
  } else {
    snprintf(t->why, sizeof t->why,
             "student %s has %zu open milestones (%s): give the milestone's id instead",
             t->token, open, list);
    t->rc = 1;
  }
  cairn_reply_free(r);
}

/* Resolves token (a milestone id, else a student id) into t. */
static void resolve(cairn_client *c, target *t) {
  cairn_reply *r = NULL;
  int rc = cairn__cli_ask(c, "show", "id", t->token, &r);
  const msgpack_object *rec = rc == 0 ? cairn_reply_get(r, "record") : NULL;
  const msgpack_object *type = rec ? cairn_record_map_get(rec, "type") : NULL;
  int is_ms = type && type->type == MSGPACK_OBJECT_STR && type->via.str.size == 9 &&
              memcmp(type->via.str.ptr, "milestone", 9) == 0;
  int is_st = type && type->type == MSGPACK_OBJECT_STR && type->via.str.size == 7 &&
              memcmp(type->via.str.ptr, "student", 7) == 0;
  if (is_ms) {
    snprintf(t->milestone, sizeof t->milestone, "%s", t->token);
    cairn__cli_scale_of(&t->scale, t->token, cairn_record_map_get(rec, "scale"),
                        cairn_record_map_get(rec, "levels"));
  } else if (is_st) {
    open_milestone_of(c, t);
  } else if (rc == 0 || rc == CAIRN_ENOTFOUND) {
    snprintf(t->why, sizeof t->why, "%s: no such milestone or student", t->token);
    t->rc = 1;
  } else {
    snprintf(t->why, sizeof t->why, "%s", r != NULL ? cairn_reply_message(r) : cairn_strerror(rc));
    t->rc = 1;
  }
  cairn_reply_free(r);
}

static int resolve_items(cairn_client *c, many *m) {
  target *ts = NULL;
  size_t nt = 0;
  int rc = 0;
  for (size_t i = 0; i < m->n && rc == 0; i++) {
    item *it = &m->items[i];
    target *t = NULL;
    char why[800];
    for (size_t k = 0; k < nt && t == NULL; k++)
      if (strcmp(ts[k].token, it->target) == 0)
        t = &ts[k];
    if (t == NULL) {
      target *grown = realloc(ts, (nt + 1) * sizeof *ts);
      if (grown == NULL || (grown[nt].token = strdup(it->target)) == NULL) {
        ts = grown != NULL ? grown : ts;
        rc = -1;
        break;
      }
      ts = grown;
      t = &ts[nt++];
      memset(t->milestone, 0, sizeof t->milestone);
      memset(&t->scale, 0, sizeof t->scale);
      t->rc = 0;
      t->why[0] = '\0';
      resolve(c, t);
    }
    if (t->rc != 0) {
      bad_line(m, it->line, t->why);
      it->bad = 1;
      continue;
    }
    snprintf(it->milestone, sizeof it->milestone, "%s", t->milestone);
    if (cairn__cli_value("value", it->value, &t->scale, &it->v, why, sizeof why) != 0) {
      bad_line(m, it->line, why);
      it->bad = 1;
    }
  }
  for (size_t k = 0; k < nt; k++)
    free(ts[k].token);
  free(ts);
  return rc;
}

/* ---- the batch ------------------------------------------------------------------ */

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Packs the put_many of the lines not refused here (check: only check
 * them); *n gets how many. */
static void pack_request(const many *m, const char *by, int force, int check,
                         msgpack_sbuffer *sb, size_t *n) {
  msgpack_packer pk;
  char today[11];
  cairn_text_date_format(cairn_text_today(), today);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  *n = 0;
  for (size_t i = 0; i < m->n; i++)
    *n += !m->items[i].bad;
  msgpack_pack_map(&pk, 2 + check);
  pack_str(&pk, "op");
  pack_str(&pk, "put_many");
  if (check) {
    pack_str(&pk, "check");
    msgpack_pack_true(&pk);
  }
  pack_str(&pk, "puts");
  msgpack_pack_array(&pk, (uint32_t)*n);
  for (size_t i = 0; i < m->n; i++) {
    const item *it = &m->items[i];
    const char *who = it->by != NULL ? it->by : by;
    if (it->bad)
      continue;
    msgpack_pack_map(&pk, 2 + force);
    pack_str(&pk, "type");
    pack_str(&pk, "evidence");
    if (force) {
      pack_str(&pk, "force");
      msgpack_pack_true(&pk);
    }
    pack_str(&pk, "set");
    msgpack_pack_map(&pk, 3 + (it->note != NULL) + (who != NULL) + (it->source != NULL));
    pack_str(&pk, "milestone");
    pack_str(&pk, it->milestone);
    pack_str(&pk, "observed");
    pack_str(&pk, it->date != NULL ? it->date : today);
    pack_str(&pk, "value");
    msgpack_pack_double(&pk, it->v);
    if (it->note != NULL) {
      pack_str(&pk, "note");
      pack_str(&pk, it->note);
    }
    if (who != NULL) {
      pack_str(&pk, "by");
      pack_str(&pk, who);
    }
    if (it->source != NULL) {
      pack_str(&pk, "source");
      pack_str(&pk, it->source);
    }
  }
}

/* The line of the index-th put sent: the index-th line not refused here. */
static unsigned line_of_put(const many *m, uint64_t index) {
  for (size_t i = 0; i < m->n; i++)
    if (!m->items[i].bad && index-- == 0)
      return m->items[i].line;
  return 0;
}

/* Sends the lines not refused here (check: only checked) and notes each
 * refused one. Returns 0 when cairnd took them all, 1 when it refused
 * some (noted), or -1 when the batch failed as a whole (said). The reply
 * goes to *out (caller frees). */
static int send_lines(cairn_client *c, many *m, const char *by, int force, int check,
                      cairn_reply **out) {
  msgpack_sbuffer sb;
  size_t n;
  int rc, ret;
  *out = NULL;
  msgpack_sbuffer_init(&sb);
  pack_request(m, by, force, check, &sb, &n);
  if (sb.size > CAIRN_FRAME_MAX) {
    fprintf(stderr, "cairn: %s: too much for one batch (%zu bytes, at most %d); split it\n",
            m->name, sb.size, CAIRN_FRAME_MAX);
    msgpack_sbuffer_destroy(&sb);
    return -1;
  }
  rc = cairn_client_call(c, sb.data, sb.size, 120000, out);
  msgpack_sbuffer_destroy(&sb);
  const msgpack_object *refused = cairn_reply_get(*out, "refused");
  if (rc == 0)
    return 0;
  if (refused == NULL || refused->type != MSGPACK_OBJECT_ARRAY) {
    const char *msg = *out != NULL ? cairn_reply_message(*out) : cairn_strerror(rc);
    fputs("cairn: ", stderr);
    cairn__cli_put_text(stderr, msg, strlen(msg));
    fputc('\n', stderr);
    return -1;
  }
  ret = 0;
  for (uint32_t i = 0; i < refused->via.array.size; i++) {
    const msgpack_object *idx = cairn_record_map_get(&refused->via.array.ptr[i], "index");
    const msgpack_object *msg = cairn_record_map_get(&refused->via.array.ptr[i], "message");
    char text[400];
    if (idx == NULL || idx->type != MSGPACK_OBJECT_POSITIVE_INTEGER || idx->via.u64 >= n ||
        msg == NULL || msg->type != MSGPACK_OBJECT_STR)
      continue;
    snprintf(text, sizeof text, "%.*s", (int)msg->via.str.size, msg->via.str.ptr);
    bad_line(m, line_of_put(m, idx->via.u64), text);
    ret = 1;
  }
  return ret;
}

/* Prints the ids of a put_many reply: a count, or {"ids": [...]}. */
static int print_ids(cairn_reply *r, int json) {
  const msgpack_object *ids = cairn_reply_get(r, "ids");
  if (ids == NULL || ids->type != MSGPACK_OBJECT_ARRAY) {
    fprintf(stderr, "cairn: cairnd's reply has no ids\n");
    return 1;
  }
  if (json) {
    json_t *j = cairn__cli_to_json(cairn_reply_root(r));
    int out = -1;
    if (j != NULL) {
      json_object_del(j, "ok");
      out = cairn__cli_print_json(j);
    }
    json_decref(j);
    return out == 0 ? 0 : 1;
  }
  printf("added %u evidence entr%s in one batch\n", ids->via.array.size,
         ids->via.array.size == 1 ? "y" : "ies");
  return 0;
}

/* A spreadsheet's UTF-8 byte order mark, before the first line, is not
 * part of it. */
static void skip_bom(const char **buf, size_t *len) {
  if (*len >= 3 && memcmp(*buf, "\xef\xbb\xbf", 3) == 0) {
    *buf += 3;
    *len -= 3;
  }
}

static void many_free(many *m) {
  for (size_t i = 0; i < m->n; i++) {
    item *it = &m->items[i];
    free(it->target);
    free(it->value);
    free(it->date);
    free(it->note);
    free(it->by);
    free(it->source);
  }
  for (size_t i = 0; i < m->nbad; i++)
    free(m->bad[i].msg);
  free(m->items);
  free(m->bad);
}

int cairn__cli_add_many(cairn_client *c, FILE *in, const char *name, const char *by, int force,
                        int csv, int json) {
  many m = {.name = name};
  char *buf = malloc(INPUT_MAX + 1);
  size_t len = buf != NULL ? fread(buf, 1, INPUT_MAX + 1, in) : 0;
  const char *buf_at = buf;
  cairn_reply *r = NULL;
  int ex = 1, sent;

  if (buf != NULL && len <= INPUT_MAX)
    skip_bom(&buf_at, &len);
  if (buf == NULL || ferror(in)) {
    fprintf(stderr, "cairn: %s: cannot be read\n", name);
  } else if (len > INPUT_MAX) {
    fprintf(stderr, "cairn: %s: larger than %u MiB; split it\n", name, INPUT_MAX >> 20);
  } else if ((csv || looks_like_csv(buf_at, len) ? read_csv(&m, buf_at, len)
                                                 : read_lines(&m, buf_at, len)) != 0 ||
             m.oom) {
    fprintf(stderr, "cairn: out of memory\n");
  } else if (m.n == 0 && m.nbad == 0) {
    fprintf(stderr, "cairn: %s: no evidence lines\n", name);
  } else if (m.n > CAIRN_REQUEST_PUTS_MAX) {
    fprintf(stderr, "cairn: %s: %zu lines; one batch takes at most %d: split it\n", name, m.n,
            CAIRN_REQUEST_PUTS_MAX);
  } else if (resolve_items(c, &m) != 0 || m.oom) {
    fprintf(stderr, "cairn: out of memory\n");
  } else if (m.nbad > 0) {
    /* some lines are refused already: cairnd checks the others, writing
     * nothing, so that every bad line is listed at once */
    size_t good = 0;
    for (size_t i = 0; i < m.n; i++)
      good += !m.items[i].bad;
    if (good == 0 || send_lines(c, &m, by, force, 1, &r) >= 0)
      print_refused(&m);
  } else if ((sent = send_lines(c, &m, by, force, 0, &r)) == 0) {
    ex = print_ids(r, json);
  } else if (sent > 0) {
    print_refused(&m);
  }
  cairn_reply_free(r);
  free(buf);
  many_free(&m);
  return ex;
}
