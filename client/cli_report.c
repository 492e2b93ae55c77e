/* cli_report.c: cairn report KIND: fetches the pages of a report and
 * prints it as text, JSON or CSV. Every string of a reply is stored text:
 * printed through cairn__cli_escape (text) or the CSV writer. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"

/* The CSV columns of each kind: the keys of its rows (daemon/report_rpc.c). */
static const char *const program_cols[] = {
    "template", "title",     "standard", "standard_text", "type",    "place",
    "campus",   "classroom", "students", "milestones",    "not_started", "beginning",
    "developing", "meeting", "exceeding", "green",        "yellow",  "red",
    "ended",    "missed",    "future",   "missed_rank",   "share_meeting", "share_developing",
    "share_beginning", "share_not_started", "share_red", "share_missed", NULL};
static const char *const red_cols[] = {
    "campus",        "classroom",     "student",     "name",           "grade",
    "milestone",     "statement",     "type",        "template",       "light",
    "why",           "red",           "triggered",   "last_observed",  "days_since_evidence",
    "next_review",   "review_overdue", "days_overdue", "support",       "future_points",
    NULL};
static const char *const review_cols[] = {
    "campus",   "classroom", "student",     "name",        "milestone",     "statement",
    "cadence",  "light",     "ended",       "last_review", "next_review",   "next_is_check",
    "days_overdue", NULL};
static const char *const support_cols[] = {
    "support",       "previous",      "from_start",   "campus",       "classroom",
    "student",       "name",          "milestone",    "statement",    "since",
    "until",         "points_before", "trend_before", "trend_before_word", "points_after",
    "trend_after",   "trend_after_word", "change",    NULL};

/* A fetched report: the replies (the rows point into them) and the rows. */
typedef struct pages {
  cairn_reply **replies;
  size_t nreplies;
  const msgpack_object **rows;
  size_t nrows, cap;
} pages;

static void pages_free(pages *p) {
  for (size_t i = 0; i < p->nreplies; i++)
    cairn_reply_free(p->replies[i]);
  free(p->replies);
  free(p->rows);
}

static int fetch(cairn_client *c, const char *data, cairn__cli_page_fn pack, void *arg,
                 pages *p) {
  msgpack_sbuffer sb;
  uint64_t offset = 0;
  int ex = EXIT_OK, more = 1;

  msgpack_sbuffer_init(&sb);
  while (ex == EXIT_OK && more) {
    cairn_reply *r = NULL, **grown;
    pack(arg, offset, &sb);
    /* a report of a whole district takes a moment: allow a minute a page */
    if ((ex = cairn__cli_call(c, data, &sb, 60000, &r)) != EXIT_OK)
      break;
    if ((grown = realloc(p->replies, (p->nreplies + 1) * sizeof *grown)) == NULL) {
      cairn_reply_free(r);
      ex = EXIT_FAIL;
      break;
    }
    p->replies = grown;
    p->replies[p->nreplies++] = r;
    const msgpack_object *rows = cairn_reply_get(r, "rows"), *next = cairn_reply_get(r, "next");
    if (rows == NULL || rows->type != MSGPACK_OBJECT_ARRAY || next == NULL ||
        (next->type != MSGPACK_OBJECT_NIL &&
         (next->type != MSGPACK_OBJECT_POSITIVE_INTEGER || next->via.u64 <= offset))) {
      fprintf(stderr, "cairn: cairnd's report reply is malformed\n");
      ex = EXIT_FAIL;
      break;
    }
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
      if (p->nrows == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        const msgpack_object **g = realloc(p->rows, cap * sizeof *g);
        if (g == NULL) {
          ex = EXIT_FAIL;
          break;
        }
        p->rows = g;
        p->cap = cap;
      }
      p->rows[p->nrows++] = &rows->via.array.ptr[i];
    }
    more = next->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (more)
      offset = next->via.u64;
  }
  msgpack_sbuffer_destroy(&sb);
  return ex;
}

/* ---- reading a row ---------------------------------------------------------------- */

static const msgpack_object *get(const msgpack_object *m, const char *k) {
  const msgpack_object *v = cairn_record_map_get(m, k);
  return v != NULL && v->type != MSGPACK_OBJECT_NIL ? v : NULL;
}

static unsigned long long num(const msgpack_object *m, const char *k) {
  const msgpack_object *v = get(m, k);
  return v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (unsigned long long)v->via.u64 : 0;
}

static long long snum(const msgpack_object *m, const char *k) {
  const msgpack_object *v = get(m, k);
  if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (long long)v->via.u64;
  return v != NULL && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (long long)v->via.i64 : 0;
}

static int flag(const msgpack_object *m, const char *k) {
  const msgpack_object *v = get(m, k);
  return v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

static int same_str(const msgpack_object *a, const msgpack_object *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return a->type == MSGPACK_OBJECT_STR && b->type == MSGPACK_OBJECT_STR &&
         a->via.str.size == b->via.str.size &&
         memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
}

/* Prints the text of m's key k escaped (dflt when absent). */
static void put(const msgpack_object *m, const char *k, const char *dflt) {
  const msgpack_object *v = get(m, k);
  if (v != NULL && v->type == MSGPACK_OBJECT_STR)
    cairn__cli_put_text(stdout, v->via.str.ptr, v->via.str.size);
  else
    fputs(dflt, stdout);
}

/* The campus's name, or a word for none. */
static void put_campus(const msgpack_object *m) {
  const msgpack_object *v = get(m, "campus");
  if (v != NULL && v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0)
    cairn__cli_put_text(stdout, v->via.str.ptr, v->via.str.size);
  else
    fputs("(no campus)", stdout);
}

/* "Ana Lopez (ana-8)" */
static void put_student(const msgpack_object *m) {
  put(m, "name", "");
  fputs(" (", stdout);
  put(m, "student", "");
  putchar(')');
}

/* "north-ms/room-12  Ana Lopez (ana-8)" */
static void put_who(const msgpack_object *m) {
  put_campus(m);
  putchar('/');
  put(m, "classroom", "-");
  fputs("  ", stdout);
  put_student(m);
}

/* "3fa2c1d9-7 "I will ..."" */
static void put_milestone(const msgpack_object *m) {
  put(m, "milestone", "");
  fputs(" \"", stdout);
  put(m, "statement", "");
  putchar('"');
}

/* "s" unless n is one. */
static const char *plural(unsigned long long n) { return n == 1 ? "" : "s"; }

static unsigned pct(unsigned long long part, unsigned long long whole) {
  return whole == 0 ? 0 : (unsigned)((200 * part + whole) / (2 * whole));
}

static void put_trend(const msgpack_object *m, const char *k, const char *word) {
  const msgpack_object *v = get(m, k);
  if (v == NULL || (v->type != MSGPACK_OBJECT_FLOAT64 && v->type != MSGPACK_OBJECT_FLOAT32)) {
    fputs("no trend (fewer than 3 points)", stdout);
    return;
  }
  printf("%+.2f/week (", v->via.f64);
  put(m, word, "");
  putchar(')');
}

/* ---- text ----------------------------------------------------------------------------- */

static void print_future(const msgpack_object *first) {
  const msgpack_object *future = get(first, "future");
  if (future == NULL || future->type != MSGPACK_OBJECT_ARRAY || future->via.array.size == 0)
    return;
  fputs("\nevidence dated after tomorrow (after ", stdout);
  put(first, "future_after", "?");
  fputs(" by this node's clock): left out of every number until its date is corrected "
        "(retract it and record it again with the right date):\n",
        stdout);
  for (uint32_t i = 0; i < future->via.array.size; i++) {
    const msgpack_object *f = &future->via.array.ptr[i], *ev = get(f, "evidence");
    fputs("  ", stdout);
    put_who(f);
    fputs("  ", stdout);
    put_milestone(f);
    printf(": %llu entr%s", num(f, "entries"), num(f, "entries") == 1 ? "y" : "ies");
    for (uint32_t k = 0; ev != NULL && ev->type == MSGPACK_OBJECT_ARRAY && k < ev->via.array.size;
         k++) {
      fputs(k == 0 ? ": " : ", ", stdout);
      put(&ev->via.array.ptr[k], "id", "");
      fputs(" (", stdout);
      put(&ev->via.array.ptr[k], "observed", "");
      putchar(')');
    }
    if (ev != NULL && ev->type == MSGPACK_OBJECT_ARRAY && ev->via.array.size < num(f, "entries"))
      fputs(", ...", stdout);
    putchar('\n');
  }
  if (num(first, "future_milestones") > future->via.array.size)
    printf("  and %llu more milestones: cairn report red lists them all\n",
           num(first, "future_milestones") - future->via.array.size);
}

/* The first line of every report. */
static void print_head(const char *kind, const msgpack_object *first) {
  const msgpack_object *total = get(first, "total");
  printf("report %s, as of ", kind);
  put(first, "as_of", "?");
  printf(": %llu student%s, %llu milestone%s\n", num(total, "students"),
         plural(num(total, "students")), num(total, "milestones"),
         plural(num(total, "milestones")));
  if (num(total, "future") > 0) {
    printf("! %llu evidence entr%s dated after tomorrow (", num(total, "future"),
           num(total, "future") == 1 ? "y is" : "ies are");
    put(first, "future_after", "?");
    fputs(" by this node's clock) left out: listed at the end\n", stdout);
  }
}

static void print_group(const msgpack_object *row) {
  putchar('\n');
  if (get(row, "template") != NULL) {
    fputs("template ", stdout);
    put(row, "template", "");
    fputs(" \"", stdout);
    put(row, "title", "");
    putchar('"');
  } else if (get(row, "standard") != NULL) {
    fputs("standard ", stdout);
    put(row, "standard", "");
    fputs(" \"", stdout);
    put(row, "standard_text", "");
    putchar('"');
  } else {
    fputs("own milestones (no template, no standard)", stdout);
  }
  fputs(": ", stdout);
  put(row, "type", "");
  if (get(row, "template") != NULL && get(row, "standard") != NULL) {
    fputs("; standard ", stdout);
    put(row, "standard", "");
  }
  printf("\n  %-26s %8s %10s %8s %10s %9s %11s %5s %7s\n", "place", "students", "milestones",
         "meeting", "developing", "beginning", "not started", "red", "missed");
}

static void print_program(const pages *p) {
  const msgpack_object *first = cairn_reply_root(p->replies[0]);
  print_head("program", first);
  for (size_t i = 0; i < p->nrows; i++) {
    const msgpack_object *row = p->rows[i], *place = get(row, "place");
    char where[80];
    unsigned long long n = num(row, "milestones");
    if (place == NULL || place->type != MSGPACK_OBJECT_STR)
      continue;
    if (place->via.str.size == 3) { /* all */
      print_group(row);
      snprintf(where, sizeof where, "all");
    }
    fputs("  ", stdout);
    if (place->via.str.size == 6) { /* campus */
      const msgpack_object *c = get(row, "campus");
      char buf[64];
      cairn__cli_escape(c != NULL ? c->via.str.ptr : "", c != NULL ? c->via.str.size : 0, buf,
                        sizeof buf);
      snprintf(where, sizeof where, "%s", buf[0] ? buf : "(no campus)");
    } else if (place->via.str.size == 9) { /* classroom */
      const msgpack_object *c = get(row, "classroom");
      char buf[64];
      cairn__cli_escape(c != NULL ? c->via.str.ptr : "", c != NULL ? c->via.str.size : 0, buf,
                        sizeof buf);
      snprintf(where, sizeof where, "  %s", buf[0] ? buf : "(no classroom)");
    }
    printf("%-26s %8llu %10llu %7u%% %9u%% %8u%% %10u%% %4u%% %7llu\n", where,
           num(row, "students"), n, pct(num(row, "meeting") + num(row, "exceeding"), n),
           pct(num(row, "developing"), n), pct(num(row, "beginning"), n),
           pct(num(row, "not_started"), n), pct(num(row, "red"), n), num(row, "missed"));
  }
  const msgpack_object *missed = get(get(first, "summary"), "missed");
  printf("\nmost missed (templates and standards; missed: with evidence, but beginning or "
         "developing):\n");
  if (missed == NULL || missed->type != MSGPACK_OBJECT_ARRAY || missed->via.array.size == 0)
    printf("  none\n");
  for (uint32_t i = 0; missed != NULL && missed->type == MSGPACK_OBJECT_ARRAY &&
                       i < missed->via.array.size;
       i++) {
    const msgpack_object *m = &missed->via.array.ptr[i];
    printf("  %2llu. ", num(m, "missed_rank"));
    if (get(m, "template") != NULL) {
      put(m, "template", "");
      fputs(" \"", stdout);
      put(m, "title", "");
    } else {
      fputs("standard ", stdout);
      put(m, "standard", "");
      fputs(" \"", stdout);
      put(m, "standard_text", "");
    }
    fputs("\" (", stdout);
    put(m, "type", "");
    printf("): %llu of %llu milestone%s missed (%u%%), %llu student%s\n", num(m, "missed"),
           num(m, "milestones"), plural(num(m, "milestones")),
           pct(num(m, "missed"), num(m, "milestones")), num(m, "students"),
           plural(num(m, "students")));
  }
}

static void print_red(const pages *p) {
  const msgpack_object *first = cairn_reply_root(p->replies[0]);
  const msgpack_object *campuses = get(get(first, "summary"), "campuses");
  print_head("red", first);
  printf("%zu milestone%s need%s attention: a red light, an if/then support that fires, or "
         "evidence dated after tomorrow\n",
         p->nrows, p->nrows == 1 ? "" : "s", p->nrows == 1 ? "s" : "");
  uint32_t ci = 0;
  for (size_t i = 0; i < p->nrows; i++) {
    const msgpack_object *row = p->rows[i], *trig = get(row, "triggered");
    if (i == 0 || !same_str(get(row, "campus"), get(p->rows[i - 1], "campus"))) {
      const msgpack_object *c = NULL;
      while (campuses != NULL && campuses->type == MSGPACK_OBJECT_ARRAY &&
             ci < campuses->via.array.size &&
             !same_str(get(&campuses->via.array.ptr[ci], "campus"), get(row, "campus")))
        ci++;
      if (campuses != NULL && campuses->type == MSGPACK_OBJECT_ARRAY &&
          ci < campuses->via.array.size)
        c = &campuses->via.array.ptr[ci];
      fputs("\ncampus ", stdout);
      put_campus(row);
      printf(": %llu student%s; %llu red, %llu with an if/then support that fires, %llu "
             "evidence entr%s dated after tomorrow\n",
             num(c, "students"), plural(num(c, "students")), num(c, "red"), num(c, "triggered"),
             num(c, "future"), num(c, "future") == 1 ? "y" : "ies");
    }
    fputs("  ", stdout);
    put_who(row);
    fputs(", grade ", stdout);
    put(row, "grade", "-");
    fputs(": ", stdout);
    put_milestone(row);
    fputs("\n    light ", stdout);
    put(row, "light", "");
    fputs(": ", stdout);
    put(row, "why", "");
    putchar('\n');
    for (uint32_t k = 0; trig != NULL && trig->type == MSGPACK_OBJECT_ARRAY &&
                         k < trig->via.array.size;
         k++) {
      fputs("    planned: ", stdout);
      put(&trig->via.array.ptr[k], "action", "");
      putchar('\n');
    }
    if (get(row, "last_observed") != NULL) {
      fputs("    last evidence ", stdout);
      put(row, "last_observed", "");
      printf(" (%lld days ago)", snum(row, "days_since_evidence"));
    } else {
      fputs("    no evidence yet", stdout);
    }
    if (flag(row, "review_overdue")) {
      fputs("; review due ", stdout);
      put(row, "next_review", "");
      printf(": %lld days overdue", snum(row, "days_overdue"));
    } else if (get(row, "next_review") != NULL) {
      fputs("; next review ", stdout);
      put(row, "next_review", "");
    }
    putchar('\n');
    if (num(row, "future_points") > 0)
      printf("    ! %llu evidence entr%s dated after tomorrow (listed at the end)\n",
             num(row, "future_points"), num(row, "future_points") == 1 ? "y" : "ies");
  }
}

static void print_reviews(const pages *p) {
  const msgpack_object *first = cairn_reply_root(p->replies[0]);
  const msgpack_object *rooms = get(get(first, "summary"), "classrooms");
  print_head("reviews", first);
  printf("%zu review%s overdue by cadence or check date\n", p->nrows, p->nrows == 1 ? "" : "s");
  for (size_t i = 0; i < p->nrows; i++) {
    const msgpack_object *row = p->rows[i];
    if (i == 0 || !same_str(get(row, "campus"), get(p->rows[i - 1], "campus")) ||
        !same_str(get(row, "classroom"), get(p->rows[i - 1], "classroom"))) {
      const msgpack_object *room = NULL;
      for (uint32_t k = 0; rooms != NULL && rooms->type == MSGPACK_OBJECT_ARRAY &&
                           k < rooms->via.array.size && room == NULL;
           k++)
        if (same_str(get(&rooms->via.array.ptr[k], "campus"), get(row, "campus")) &&
            same_str(get(&rooms->via.array.ptr[k], "classroom"), get(row, "classroom")))
          room = &rooms->via.array.ptr[k];
      putchar('\n');
      put_campus(row);
      putchar('/');
      put(row, "classroom", "-");
      printf(": %llu of %llu milestone%s overdue\n", num(room, "overdue"),
             num(room, "milestones"), plural(num(room, "milestones")));
    }
    printf("  %4lld days  ", snum(row, "days_overdue"));
    put_student(row);
    fputs("  ", stdout);
    put_milestone(row);
    fputs("\n             ", stdout);
    put(row, "cadence", "");
    fputs(get(row, "last_review") != NULL ? " reviews; last " : " reviews; none yet", stdout);
    put(row, "last_review", "");
    fputs(", due ", stdout);
    put(row, "next_review", "");
    fputs(flag(row, "next_is_check") ? " (a check date)" : "", stdout);
    fputs(flag(row, "ended") ? "; ended: the closing review" : "", stdout);
    putchar('\n');
  }
}

static void print_supports(const pages *p) {
  const msgpack_object *first = cairn_reply_root(p->replies[0]);
  const msgpack_object *groups = get(get(first, "summary"), "supports");
  uint32_t ng = groups != NULL && groups->type == MSGPACK_OBJECT_ARRAY ? groups->via.array.size : 0;
  size_t i = 0;
  print_head("supports", first);
  printf("%u support%s; better, same or worse: the trend after the support came in against the "
         "trend before it\n",
         ng, ng == 1 ? "" : "s");
  for (uint32_t g = 0; g < ng; g++) {
    const msgpack_object *s = &groups->via.array.ptr[g];
    fputs("\n\"", stdout);
    put(s, "support", "");
    printf("\": %llu student%s, %llu phase%s: %llu better, %llu same, %llu worse, %llu "
           "unknown\n",
           num(s, "students"), plural(num(s, "students")), num(s, "phases"),
           plural(num(s, "phases")), num(s, "better"), num(s, "same"), num(s, "worse"),
           num(s, "unknown"));
    for (unsigned long long k = 0; k < num(s, "phases") && i < p->nrows; k++, i++) {
      const msgpack_object *row = p->rows[i];
      fputs("  ", stdout);
      put_who(row);
      fputs("  ", stdout);
      put_milestone(row);
      fputs(flag(row, "from_start") ? "\n    from its start " : "\n    from ", stdout);
      put(row, "since", "");
      fputs(" to ", stdout);
      put(row, "until", "");
      if (get(row, "previous") != NULL) {
        fputs(", after \"", stdout);
        put(row, "previous", "");
        putchar('"');
      }
      printf("\n    before: %llu points, ", num(row, "points_before"));
      put_trend(row, "trend_before", "trend_before_word");
      printf("; after: %llu points, ", num(row, "points_after"));
      put_trend(row, "trend_after", "trend_after_word");
      fputs(": ", stdout);
      put(row, "change", "");
      putchar('\n');
    }
  }
}

/* ---- JSON and CSV ----------------------------------------------------------------------- */

static int print_json(const pages *p) {
  json_t *j = cairn__cli_to_json(cairn_reply_root(p->replies[0]));
  json_t *rows = json_array();
  int ok = j != NULL && rows != NULL;
  for (size_t i = 0; ok && i < p->nrows; i++)
    ok = json_array_append_new(rows, cairn__cli_to_json(p->rows[i])) == 0;
  if (ok) {
    json_object_del(j, "ok");
    json_object_del(j, "next");
    ok = json_object_set(j, "rows", rows) == 0 && cairn__cli_print_json(j) == 0;
  }
  json_decref(rows);
  json_decref(j);
  if (!ok)
    fprintf(stderr, "cairn: could not print the report as JSON\n");
  return ok ? EXIT_OK : EXIT_FAIL;
}

static int print_csv(const pages *p, const char *const *cols) {
  cairn__csv w;
  cairn__csv_init(&w, stdout);
  for (size_t c = 0; cols[c] != NULL; c++)
    cairn__csv_cell(&w, cols[c], strlen(cols[c]), 0);
  cairn__csv_end_row(&w);
  for (size_t i = 0; i < p->nrows; i++) {
    for (size_t c = 0; cols[c] != NULL; c++)
      cairn__csv_value(&w, cairn_record_map_get(p->rows[i], cols[c]));
    cairn__csv_end_row(&w);
  }
  if (w.failed || fflush(stdout) != 0) {
    fprintf(stderr, "cairn: could not write the CSV\n");
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

int cairn__cli_report(cairn_client *c, const char *data, cairn__cli_page_fn pack, void *arg,
                      int json, int csv) {
  pages p = {0};
  int ex = fetch(c, data, pack, arg, &p);
  const msgpack_object *kind = ex == EXIT_OK ? get(cairn_reply_root(p.replies[0]), "kind") : NULL;
  static const struct {
    const char *kind;
    const char *const *cols;
    void (*print)(const pages *);
  } kinds[] = {{"program", program_cols, print_program},
               {"red", red_cols, print_red},
               {"reviews", review_cols, print_reviews},
               {"supports", support_cols, print_supports}};
  size_t k = 0;
  while (kind != NULL && k < 4 &&
         !(kind->type == MSGPACK_OBJECT_STR && kind->via.str.size == strlen(kinds[k].kind) &&
           memcmp(kind->via.str.ptr, kinds[k].kind, kind->via.str.size) == 0))
    k++;
  if (ex == EXIT_OK && k == 4) {
    fprintf(stderr, "cairn: cairnd's report reply names no kind this cairn knows\n");
    ex = EXIT_FAIL;
  }
  if (ex == EXIT_OK) {
    if (json) {
      ex = print_json(&p);
    } else if (csv) {
      ex = print_csv(&p, kinds[k].cols);
    } else {
      kinds[k].print(&p);
      print_future(cairn_reply_root(p.replies[0]));
    }
  }
  pages_free(&p);
  return ex;
}
