/* cli_csv.c: CSV for people who live in spreadsheets: the writer (RFC
 * 4180 through libcsv's csv_fwrite, UTF-8, CRLF between rows), and cairn
 * export --csv TABLE, read from the export, status and show requests with
 * the export's scope rules. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>

#include "file.h"
#include "record.h"

/* ---- the writer ------------------------------------------------------------ */

void cairn__csv_init(cairn__csv *w, FILE *f) {
  w->f = f;
  w->col = 0;
  w->failed = 0;
  w->escape = isatty(fileno(f));
}

/* Whether RFC 4180 needs the field quoted. */
static int needs_quotes(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
      return 1;
  return 0;
}

void cairn__csv_cell(cairn__csv *w, const char *s, size_t len, int text) {
  char *own = NULL;
  if (w->col++ > 0 && putc(',', w->f) == EOF)
    w->failed = 1;
  if (text && w->escape) { /* a terminal: nothing may reach it raw */
    size_t size = 4 * len + 16;
    if ((own = malloc(size)) == NULL) {
      w->failed = 1;
      return;
    }
    cairn__cli_escape(s, len, own, size);
    s = own;
    len = strlen(own);
  }
  if (text && len > 0 && strchr("=+-@\t\r", s[0]) != NULL) { /* a formula to a spreadsheet */
    char *guarded = malloc(len + 1);
    if (guarded == NULL) {
      free(own);
      w->failed = 1;
      return;
    }
    guarded[0] = '\'';
    memcpy(guarded + 1, s, len);
    free(own);
    s = own = guarded;
    len++;
  }
  if (needs_quotes(s, len)) {
    if (csv_fwrite(w->f, s, len) != 0)
      w->failed = 1;
  } else if (len > 0 && fwrite(s, 1, len, w->f) != len) {
    w->failed = 1;
  }
  free(own);
}

/* A number in its shortest form that reads back exactly. */
static void number_cell(cairn__csv *w, double d) {
  char buf[40];
  if (!isfinite(d)) {
    cairn__csv_cell(w, "", 0, 0);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, d);
    if (strtod(buf, NULL) == d)
      break;
  }
  cairn__csv_cell(w, buf, strlen(buf), 0);
}

/* One item of a list cell into out (grown with realloc). */
static int append_item(char **out, size_t *len, const msgpack_object *v) {
  char buf[40];
  const char *s = buf;
  size_t n;
  char *json = NULL;
  const msgpack_object *action = v->type == MSGPACK_OBJECT_MAP ? cairn_record_map_get(v, "action") : NULL;
  if (action != NULL)
    v = action;
  if (v->type == MSGPACK_OBJECT_STR) {
    s = v->via.str.ptr;
    n = v->via.str.size;
  } else if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32) {
    n = (size_t)snprintf(buf, sizeof buf, "%.17g", v->via.f64);
  } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    n = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->via.u64);
  } else {
    json_t *j = cairn__cli_to_json(v);
    json = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    s = json != NULL ? json : "";
    n = strlen(s);
  }
  char *grown = realloc(*out, *len + n + 2);
  if (grown == NULL) {
    free(json);
    return -1;
  }
  if (*len > 0)
    grown[(*len)++] = '\n';
  memcpy(grown + *len, s, n);
  *len += n;
  *out = grown;
  free(json);
  return 0;
}

void cairn__csv_value(cairn__csv *w, const msgpack_object *v) {
  char buf[40];
  if (v == NULL || v->type == MSGPACK_OBJECT_NIL) {
    cairn__csv_cell(w, "", 0, 0);
    return;
  }
  switch (v->type) {
  case MSGPACK_OBJECT_BOOLEAN:
    cairn__csv_cell(w, v->via.boolean ? "true" : "false", v->via.boolean ? 4 : 5, 0);
    return;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v->via.u64);
    cairn__csv_cell(w, buf, strlen(buf), 0);
    return;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    snprintf(buf, sizeof buf, "%lld", (long long)v->via.i64);
    cairn__csv_cell(w, buf, strlen(buf), 0);
    return;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    number_cell(w, v->via.f64);
    return;
  case MSGPACK_OBJECT_STR:
    cairn__csv_cell(w, v->via.str.ptr, v->via.str.size, 1);
    return;
  case MSGPACK_OBJECT_ARRAY: {
    char *out = NULL;
    size_t len = 0;
    for (uint32_t i = 0; i < v->via.array.size; i++)
      if (append_item(&out, &len, &v->via.array.ptr[i]) != 0)
        w->failed = 1;
    cairn__csv_cell(w, out != NULL ? out : "", len, 1);
    free(out);
    return;
  }
  default: {
    char *out = NULL;
    size_t len = 0;
    if (append_item(&out, &len, v) != 0)
      w->failed = 1;
    cairn__csv_cell(w, out != NULL ? out : "", len, 1);
    free(out);
    return;
  }
  }
}

void cairn__csv_end_row(cairn__csv *w) {
  if (fputs("\r\n", w->f) == EOF)
    w->failed = 1;
  w->col = 0;
}

/* ---- reading what cairnd holds -------------------------------------------------- */

/* The scope flag's CAMPUS[/CLASSROOM] (checked by the command line). */
typedef struct scope_arg {
  const char *campus;
  size_t campus_len;
  const char *classroom; /* NULL: the whole campus */
} scope_arg;

/* One export page of type's records after cursor, into *out. */
static int export_page(cairn_client *c, const char *data, const char *type, const scope_arg *sc,
                       const uint8_t *cursor, size_t cursor_len, cairn_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int ex;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2 + (sc->campus != NULL) + (sc->classroom != NULL) + (cursor_len > 0));
  msgpack_pack_str_with_body(&pk, "op", 2);
  msgpack_pack_str_with_body(&pk, "export", 6);
  msgpack_pack_str_with_body(&pk, "type", 4);
  msgpack_pack_str_with_body(&pk, type, strlen(type));
  if (sc->campus != NULL) {
    msgpack_pack_str_with_body(&pk, "scope_campus", 12);
    msgpack_pack_str_with_body(&pk, sc->campus, sc->campus_len);
  }
  if (sc->classroom != NULL) {
    msgpack_pack_str_with_body(&pk, "scope_classroom", 15);
    msgpack_pack_str_with_body(&pk, sc->classroom, strlen(sc->classroom));
  }
  if (cursor_len > 0) {
    msgpack_pack_str_with_body(&pk, "after", 5);
    msgpack_pack_bin_with_body(&pk, cursor, cursor_len);
  }
  ex = cairn__cli_call(c, data, &sb, 0, out);
  msgpack_sbuffer_destroy(&sb);
  return ex;
}

typedef int (*record_fn)(void *arg, const msgpack_object *record);

/* Calls fn for every record of type in scope, page by page. */
static int each_record(cairn_client *c, const char *data, const char *type, const scope_arg *sc,
                       record_fn fn, void *arg) {
  uint8_t cursor[128];
  size_t cursor_len = 0;
  int ex = EXIT_OK;
  do {
    cairn_reply *r = NULL;
    if ((ex = export_page(c, data, type, sc, cursor, cursor_len, &r)) != EXIT_OK)
      return ex;
    const msgpack_object *recs = cairn_reply_get(r, "records"), *next = cairn_reply_get(r, "next");
    if (recs == NULL || recs->type != MSGPACK_OBJECT_ARRAY || next == NULL ||
        (next->type == MSGPACK_OBJECT_BIN && next->via.bin.size > sizeof cursor)) {
      fprintf(stderr, "cairn: cairnd's export reply is malformed\n");
      ex = EXIT_FAIL;
    }
    for (uint32_t i = 0; ex == EXIT_OK && i < recs->via.array.size; i++)
      ex = fn(arg, &recs->via.array.ptr[i]);
    cursor_len = 0;
    if (ex == EXIT_OK && next->type == MSGPACK_OBJECT_BIN) {
      cursor_len = next->via.bin.size;
      memcpy(cursor, next->via.bin.ptr, cursor_len);
    }
    cairn_reply_free(r);
  } while (ex == EXIT_OK && cursor_len > 0);
  return ex;
}

int cairn__cli_each_record(cairn_client *c, const char *data, const char *type,
                           int (*fn)(void *arg, const msgpack_object *record), void *arg) {
  scope_arg whole = {0};
  return each_record(c, data, type, &whole, fn, arg);
}

/* ---- the record tables ------------------------------------------------------------ */

/* Milestone id -> student id, in export (byte) order, for the evidence
 * and review tables. */
typedef struct owner {
  char *milestone, *student;
} owner;

typedef struct owners {
  owner *v;
  size_t n, cap;
} owners;

static char *dup_str(const msgpack_object *o) {
  char *s = NULL;
  if (o != NULL && o->type == MSGPACK_OBJECT_STR && (s = malloc(o->via.str.size + 1)) != NULL) {
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
  }
  return s;
}

static int add_owner(void *arg, const msgpack_object *rec) {
  owners *o = arg;
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 256;
    owner *v = realloc(o->v, cap * sizeof *v);
    if (v == NULL)
      return EXIT_FAIL;
    o->v = v;
    o->cap = cap;
  }
  owner *w = &o->v[o->n];
  w->milestone = dup_str(cairn_record_map_get(rec, "id"));
  w->student = dup_str(cairn_record_map_get(cairn_record_map_get(rec, "fields"), "student"));
  if (w->milestone == NULL || w->student == NULL) {
    free(w->milestone);
    free(w->student);
    return EXIT_FAIL;
  }
  o->n++;
  return EXIT_OK;
}

static int owner_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const owner *)elem)->milestone);
}

static void owners_free(owners *o) {
  for (size_t i = 0; i < o->n; i++) {
    free(o->v[i].milestone);
    free(o->v[i].student);
  }
  free(o->v);
}

/* What a record table writes. */
typedef struct record_table {
  cairn__csv *w;
  int type;
  const owners *owners; /* evidence, reviews: their milestone's student */
} record_table;

/* An HLC as the UTC time it was written: 2026-12-05T10:11:12Z. */
static void time_cell(cairn__csv *w, const msgpack_object *hlc) {
  char buf[32] = "";
  if (hlc != NULL && hlc->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    time_t t = (time_t)((hlc->via.u64 >> 16) / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
      strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  cairn__csv_cell(w, buf, strlen(buf), 0);
}

static int has_child(int type) {
  return type == CAIRN_REC_EVIDENCE || type == CAIRN_REC_REVIEW;
}

static void record_header(cairn__csv *w, int type) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  cairn__csv_cell(w, "id", 2, 0);
  if (has_child(type))
    cairn__csv_cell(w, "student", 7, 0);
  for (size_t i = 0; i < nf; i++)
    cairn__csv_cell(w, fd[i].name, strlen(fd[i].name), 0);
  if (type == CAIRN_REC_EVIDENCE)
    cairn__csv_cell(w, "amended", 7, 0);
  cairn__csv_cell(w, "created", 7, 0);
  cairn__csv_cell(w, "updated", 7, 0);
  cairn__csv_cell(w, "device", 6, 0);
  cairn__csv_end_row(w);
}

static int record_row(void *arg, const msgpack_object *rec) {
  record_table *t = arg;
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(t->type, &nf);
  const msgpack_object *fields = cairn_record_map_get(rec, "fields");
  const msgpack_object *hist = cairn_record_map_get(rec, "history");
  uint32_t nh = hist != NULL && hist->type == MSGPACK_OBJECT_ARRAY ? hist->via.array.size : 0;

  cairn__csv_value(t->w, cairn_record_map_get(rec, "id"));
  if (has_child(t->type)) {
    const msgpack_object *m = cairn_record_map_get(fields, "milestone");
    char key[80] = "";
    const owner *o = NULL;
    if (m != NULL && m->type == MSGPACK_OBJECT_STR && m->via.str.size < sizeof key) {
      memcpy(key, m->via.str.ptr, m->via.str.size);
      o = bsearch(key, t->owners->v, t->owners->n, sizeof *o, owner_cmp);
    }
    cairn__csv_cell(t->w, o != NULL ? o->student : "", o != NULL ? strlen(o->student) : 0, 1);
  }
  for (size_t i = 0; i < nf; i++)
    cairn__csv_value(t->w, cairn_record_map_get(fields, fd[i].name));
  if (t->type == CAIRN_REC_EVIDENCE) { /* its value set more than once */
    size_t sets = 0;
    for (uint32_t i = 0; i < nh; i++)
      sets += cairn_record_map_get(cairn_record_map_get(&hist->via.array.ptr[i], "set"),
                                   "value") != NULL;
    cairn__csv_cell(t->w, sets > 1 ? "true" : "false", sets > 1 ? 4 : 5, 0);
  }
  const msgpack_object *first = nh > 0 ? &hist->via.array.ptr[0] : NULL;
  const msgpack_object *author = cairn_record_map_get(first, "author");
  time_cell(t->w, cairn_record_map_get(first, "hlc"));
  time_cell(t->w, nh > 0 ? cairn_record_map_get(&hist->via.array.ptr[nh - 1], "hlc") : NULL);
  cairn__csv_cell(t->w, author != NULL && author->type == MSGPACK_OBJECT_STR ? author->via.str.ptr : "",
                  author != NULL && author->type == MSGPACK_OBJECT_STR && author->via.str.size >= 8
                      ? 8
                      : 0,
                  0);
  cairn__csv_end_row(t->w);
  return t->w->failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- the status table ------------------------------------------------------------------ */

static const char *const status_student_cols[] = {"student", "name", "grade", "campus",
                                                  "classroom", NULL};
static const char *const status_milestone_cols[] = {
    "milestone",     "type",         "statement",   "template",      "standard",
    "scale",         "direction",    "baseline",    "target",        "rule",
    "start",         "end",          "level",       "light",         "ended",
    "result",        "why",          "points",      "met",           "window",
    "last_value",    "last_observed", "trend_per_week", "trend",      "aim_per_week",
    "last_review",   "next_review",  "overdue",     "support",       "triggered",
    "celebration",   "future_points", NULL};

static void status_header(cairn__csv *w) {
  for (size_t i = 0; status_student_cols[i] != NULL; i++)
    cairn__csv_cell(w, status_student_cols[i], strlen(status_student_cols[i]), 0);
  for (size_t i = 0; status_milestone_cols[i] != NULL; i++)
    cairn__csv_cell(w, status_milestone_cols[i], strlen(status_milestone_cols[i]), 0);
  cairn__csv_end_row(w);
}

typedef struct status_table {
  cairn__csv *w;
  cairn_client *c;
  const char *data;
} status_table;

/* The status rows of one student record (skipped when deleted). */
static int status_rows(void *arg, const msgpack_object *rec) {
  status_table *t = arg;
  const msgpack_object *id = cairn_record_map_get(rec, "id");
  const msgpack_object *del = cairn_record_map_get(cairn_record_map_get(rec, "fields"), "deleted");
  msgpack_sbuffer sb;
  msgpack_packer pk;
  cairn_reply *r = NULL;
  int ex;

  if (id == NULL || id->type != MSGPACK_OBJECT_STR ||
      (del != NULL && del->type == MSGPACK_OBJECT_BOOLEAN && del->via.boolean))
    return EXIT_OK;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "op", 2);
  msgpack_pack_str_with_body(&pk, "status", 6);
  msgpack_pack_str_with_body(&pk, "student", 7);
  msgpack_pack_str_with_body(&pk, id->via.str.ptr, id->via.str.size);
  ex = cairn__cli_call(t->c, t->data, &sb, 0, &r);
  msgpack_sbuffer_destroy(&sb);
  if (ex != EXIT_OK)
    return ex;
  const msgpack_object *students = cairn_reply_get(r, "students");
  for (uint32_t s = 0; students != NULL && students->type == MSGPACK_OBJECT_ARRAY &&
                       s < students->via.array.size;
       s++) {
    const msgpack_object *st = &students->via.array.ptr[s];
    const msgpack_object *ms = cairn_record_map_get(st, "milestones");
    for (uint32_t m = 0; ms != NULL && ms->type == MSGPACK_OBJECT_ARRAY && m < ms->via.array.size;
         m++) {
      const msgpack_object *mo = &ms->via.array.ptr[m];
      cairn__csv_value(t->w, cairn_record_map_get(st, "id"));
      for (size_t i = 1; status_student_cols[i] != NULL; i++)
        cairn__csv_value(t->w, cairn_record_map_get(st, status_student_cols[i]));
      cairn__csv_value(t->w, cairn_record_map_get(mo, "id"));
      for (size_t i = 1; status_milestone_cols[i] != NULL; i++)
        cairn__csv_value(t->w, cairn_record_map_get(mo, status_milestone_cols[i]));
      cairn__csv_end_row(t->w);
    }
  }
  cairn_reply_free(r);
  return t->w->failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- the tables ------------------------------------------------------------------------ */

static const char *const table_names[] = {"students", "milestones", "evidence", "reviews",
                                          "status", NULL};
static const int table_types[] = {CAIRN_REC_STUDENT, CAIRN_REC_MILESTONE, CAIRN_REC_EVIDENCE,
                                  CAIRN_REC_REVIEW, CAIRN_REC_STUDENT};

/* Writes table t (an index of table_names) to w. */
static int write_table(cairn_client *c, const char *data, const scope_arg *sc, size_t t,
                       cairn__csv *w) {
  owners o = {0};
  int ex = EXIT_OK;
  if (strcmp(table_names[t], "status") == 0) {
    status_table st = {w, c, data};
    status_header(w);
    ex = each_record(c, data, "student", sc, status_rows, &st);
  } else {
    record_table rt = {w, table_types[t], &o};
    if (has_child(rt.type))
      ex = each_record(c, data, "milestone", sc, add_owner, &o);
    if (ex == EXIT_OK) {
      record_header(w, rt.type);
      ex = each_record(c, data, cairn_record_type_name(rt.type), sc, record_row, &rt);
    }
  }
  owners_free(&o);
  if (ex == EXIT_OK && (w->failed || fflush(w->f) != 0)) {
    fprintf(stderr, "cairn: writing the %s table: %s\n", table_names[t], strerror(errno));
    ex = EXIT_FAIL;
  }
  return ex;
}

/* Writes table t to dir/TABLE.csv: a temporary file in dir, fsynced, then
 * renamed over it and the directory fsynced; on failure, removed. */
static int write_file(cairn_client *c, const char *data, const scope_arg *sc, size_t t,
                      const char *dir) {
  char tmp[4096], path[4096];
  cairn__csv w;
  int fd, ex;
  FILE *f;

  if (snprintf(path, sizeof path, "%s/%s.csv", dir, table_names[t]) >= (int)sizeof path ||
      snprintf(tmp, sizeof tmp, "%s/.%s.csv.%ld.tmp", dir, table_names[t], (long)getpid()) >=
          (int)sizeof tmp) {
    fprintf(stderr, "cairn: --to %s: path too long\n", dir);
    return EXIT_FAIL;
  }
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
      (f = fdopen(fd, "w")) == NULL) {
    fprintf(stderr, "cairn: %s: %s\n", tmp, strerror(errno));
    if (fd >= 0)
      close(fd);
    return EXIT_FAIL;
  }
  cairn__csv_init(&w, f);
  w.escape = 0; /* a file, not a terminal */
  ex = write_table(c, data, sc, t, &w);
  if (ex == EXIT_OK && fsync(fileno(f)) != 0) {
    fprintf(stderr, "cairn: %s: %s\n", tmp, strerror(errno));
    ex = EXIT_FAIL;
  }
  if (fclose(f) != 0 && ex == EXIT_OK) {
    fprintf(stderr, "cairn: %s: %s\n", tmp, strerror(errno));
    ex = EXIT_FAIL;
  }
  if (ex == EXIT_OK && rename(tmp, path) != 0) {
    fprintf(stderr, "cairn: %s: %s\n", path, strerror(errno));
    ex = EXIT_FAIL;
  }
  if (ex != EXIT_OK) {
    unlink(tmp);
    return ex;
  }
  if (cairn_file_sync_parent(path) != 0) {
    fprintf(stderr, "cairn: %s: could not sync its directory\n", path);
    return EXIT_FAIL;
  }
  fprintf(stderr, "wrote %s\n", path);
  return EXIT_OK;
}

int cairn__cli_export_csv(cairn_client *c, const char *data, const char *scope,
                          const char *const *tables, size_t ntables, const char *to_dir) {
  int want[5] = {0};
  size_t nwant = 0;
  scope_arg sc = {NULL, 0, NULL};

  for (size_t i = 0; i < ntables; i++) {
    size_t t;
    for (t = 0; table_names[t] != NULL && strcmp(table_names[t], tables[i]) != 0; t++)
      ;
    if (strcmp(tables[i], "all") == 0) {
      for (t = 0; t < 5; t++)
        nwant += !want[t], want[t] = 1;
      continue;
    }
    if (table_names[t] == NULL) {
      fprintf(stderr, "cairn: --csv: '%s' is not a table: students, milestones, evidence, "
                      "reviews, status or all\n",
              tables[i]);
      return EXIT_USAGE;
    }
    nwant += !want[t];
    want[t] = 1;
  }
  if (nwant > 1 && to_dir == NULL) {
    fprintf(stderr, "cairn: --csv: more than one table: give --to DIR (each goes to "
                    "DIR/TABLE.csv)\n");
    return EXIT_USAGE;
  }
  if (scope != NULL) {
    const char *slash = strchr(scope, '/');
    sc.campus = scope;
    sc.campus_len = slash != NULL ? (size_t)(slash - scope) : strlen(scope);
    sc.classroom = slash != NULL ? slash + 1 : NULL;
  }
  for (size_t t = 0; t < 5; t++) {
    int ex;
    if (!want[t])
      continue;
    if (to_dir != NULL) {
      ex = write_file(c, data, &sc, t, to_dir);
    } else {
      cairn__csv w;
      cairn__csv_init(&w, stdout);
      ex = write_table(c, data, &sc, t, &w);
    }
    if (ex != EXIT_OK)
      return ex;
  }
  return EXIT_OK;
}
