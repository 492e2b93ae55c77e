/*
 * bench_report.c: the program view's benchmark (docs/BENCHMARKS.md,
 * "Reports").
 *
 * Builds a central's store of S students (4 campuses x 5 classrooms), 5
 * milestones each from 5 shared templates, 40 evidence points each, with
 * support changes and reviews, then measures with medians over
 * repetitions:
 *   - each report (program, red, reviews, supports) end to end: `cairn
 *     report KIND --json` against a real cairnd on that data, every page;
 *   - each report in process (cairn_report_run on the store, no socket);
 *   - and, as baselines in the same run: the store's status view of every
 *     milestone (cairn_store_status, which every report aggregates), and a
 *     raw LMDB read of every record of the store (the floor).
 * The target: each report in under 2 s for 2,000 students x 5 milestones x
 * 40 points. It reports figures and whether the target was met; it never
 * fails because of a figure. Exit status: 0 when every measure ran, 1 when
 * one could not (the reason is printed), 2 for a usage error.
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"
#include "keyfile.h"
#include "record.h"
#include "report.h"
#include "store.h"
#include "text.h"

#define TARGET_S 2.0
#define MILESTONES 5
#define POINTS 40
#define CAMPUSES 4
#define ROOMS 5
#define STORE_MAP_SIZE ((uint64_t)4 << 30)

static const char usage[] =
    "usage: bench_report [--quick] [--students N] [--reps N] [--cairn PATH] [--cairnd PATH]\n"
    "                    [--out FILE]\n"
    "\n"
    "Runs the reports benchmark and prints a Markdown table on stdout; progress\n"
    "goes to stderr. Temporary directories go under $TMPDIR (default /tmp).\n"
    "\n"
    "  --quick         200 students, 2 repetitions: to show it works, not to quote\n"
    "  --students N    students (default 2000), each with 5 milestones of 40 points\n"
    "  --reps N        repetitions; every figure is a median (default 5)\n"
    "  --cairn PATH    the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH   the daemon (default: this build's daemon/cairnd)\n"
    "  --out FILE      also write the Markdown table to FILE\n";

/* The shared templates: one of each milestone type and scale. */
static const struct {
  const char *id, *title, *type, *statement, *scale, *direction, *rule, *cadence;
  double baseline, target;
} templates[MILESTONES] = {
    {"ela-claim", "Claim and evidence", "academic",
     "I will include a clear claim and {number} pieces of evidence.", "0-4", "up", "4 of 5",
     "weekly", 1.5, 3},
    {"math-quiz", "Unit quizzes", "academic", "I will score 80% on unit quizzes.", "percent",
     "up", "3 of 4", "monthly", 55, 80},
    {"off-task", "Starting seatwork", "behavior", "I will start seatwork within 5 minutes.",
     "count", "down", "3 of 4", "weekly", 7, 2},
    {"coping", "Coping strategy", "social-emotional",
     "I will use a coping strategy when stress hits.", "yesno", "up", "3 of 4", "biweekly", 0,
     1},
    {"attendance", "Attendance", "future-readiness", "I will keep my attendance at 95%.",
     "percent", "at-least", "1 of 1", "monthly", 97, 95},
};

typedef struct bench_kinds {
  double e2e[4], inproc[4]; /* medians, s, by kind - 1 */
  double status, raw;       /* baselines, s */
  size_t rows[4];           /* rows of each report */
} bench_kinds;

/* ---- the data ----------------------------------------------------------------- */

static void pack_kv(msgpack_packer *pk, const char *k, const char *v) {
  msgpack_pack_str_with_body(pk, k, strlen(k));
  msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void pack_kn(msgpack_packer *pk, const char *k, double v) {
  msgpack_pack_str_with_body(pk, k, strlen(k));
  msgpack_pack_double(pk, v);
}

/* A batch of puts whose sets live in one buffer. */
typedef struct batch {
  cairn_store *s;
  cairn_put puts[1000];
  size_t offs[1000];
  char ids[1000][72];
  size_t n;
  msgpack_sbuffer sb;
  msgpack_packer pk;
} batch;

/* Starts the next put: pack its set map into b->pk. */
static msgpack_packer *put_begin(batch *b, int type, const char *id) {
  cairn_put *p = &b->puts[b->n];
  memset(p, 0, sizeof *p);
  p->type = type;
  p->id = NULL;
  if (id != NULL) {
    snprintf(b->ids[b->n], sizeof b->ids[b->n], "%s", id);
    p->id = b->ids[b->n];
  }
  b->offs[b->n++] = b->sb.size;
  return &b->pk;
}

/* Writes the batch; any refusal fails the benchmark. */
static int flush(batch *b, char (*ids_out)[72]) {
  int rc = 0;
  for (size_t i = 0; i < b->n; i++) {
    b->puts[i].set = (const uint8_t *)b->sb.data + b->offs[i];
    b->puts[i].set_len = (i + 1 < b->n ? b->offs[i + 1] : b->sb.size) - b->offs[i];
  }
  if (b->n > 0 && (rc = cairn_store_write_batch(b->s, b->puts, b->n)) != 0)
    fprintf(stderr, "bench: write_batch: %s\n", cairn_strerror(rc));
  for (size_t i = 0; rc == 0 && i < b->n; i++) {
    if ((rc = b->puts[i].result) != 0)
      fprintf(stderr, "bench: put refused: %s\n", b->puts[i].message);
    else if (ids_out != NULL)
      memcpy(ids_out[i], b->puts[i].id_out, sizeof ids_out[i]);
  }
  b->n = 0;
  msgpack_sbuffer_clear(&b->sb);
  return rc;
}

/* A value on template t's scale for student i, point k of POINTS: four
 * kinds of students (on track, flat, met early, up and down), so that
 * every level and light occurs. */
static double value_of(size_t t, size_t i, size_t k) {
  double b = templates[t].baseline, goal = templates[t].target, f;
  switch ((i + t) % 4) {
  case 0: /* on track */
    f = 1.05 * (double)k / POINTS;
    break;
  case 1: /* flat */
    f = 0.05 * (double)((k * 7 + i) % 3);
    break;
  case 2: /* met early */
    f = k < POINTS / 2 ? 2.0 * (double)k / POINTS : 1.1;
    break;
  default: /* up and down */
    f = 0.5 + 0.45 * ((double)((k * 13 + i * 7) % 11) / 5.0 - 1.0);
    break;
  }
  if (strcmp(templates[t].scale, "yesno") == 0)
    return f >= 0.5 ? 1 : 0;
  if (strcmp(templates[t].direction, "at-least") == 0)
    b = 100, goal = 95, f = f * 0.5; /* attendance stays near the target */
  double v = b + (goal - b) * f;
  if (strcmp(templates[t].scale, "0-4") == 0)
    v = v < 0 ? 0 : v > 4 ? 4 : (double)(long)(v * 2) / 2;
  else if (strcmp(templates[t].scale, "count") == 0)
    v = v < 0 ? 0 : (double)(long)(v + 0.5);
  else
    v = v < 0 ? 0 : v > 100 ? 100 : (double)(long)v;
  return v;
}

static void day_str(int32_t day, char out[11]) { cairn_text_date_format(day, out); }

/* The 7 fields a milestone takes from template t. */
static void pack_template_fields(msgpack_packer *pk, size_t t) {
  pack_kv(pk, "type", templates[t].type);
  pack_kv(pk, "statement", templates[t].statement);
  pack_kv(pk, "scale", templates[t].scale);
  pack_kn(pk, "target", templates[t].target);
  pack_kv(pk, "direction", templates[t].direction);
  pack_kv(pk, "rule", templates[t].rule);
  pack_kv(pk, "cadence", templates[t].cadence);
}

/* Writes the templates, then S students with their milestones, points,
 * a support change (flat students) and a review (on-track students). */
static int build_store(cairn_store *s, size_t students) {
  static batch b;
  char (*mids)[72] = calloc(1000, sizeof *mids);
  char id[64], d[11];
  int32_t today = cairn_store_today(s), start = today - 90, end = today + 60;
  int rc = mids == NULL ? CAIRN_ENOMEM : cairn_store_set_central(s, cairn_store_device(s));

  b.s = s;
  b.n = 0;
  msgpack_sbuffer_init(&b.sb);
  msgpack_packer_init(&b.pk, &b.sb, msgpack_sbuffer_write);
  for (size_t t = 0; rc == 0 && t < MILESTONES; t++) {
    msgpack_packer *pk = put_begin(&b, CAIRN_REC_TEMPLATE, templates[t].id);
    msgpack_pack_map(pk, 8);
    pack_kv(pk, "title", templates[t].title);
    pack_template_fields(pk, t);
  }
  if (rc == 0)
    rc = flush(&b, NULL);
  for (size_t i = 0; rc == 0 && i < students; i++) {
    char campus[16], room[16];
    snprintf(campus, sizeof campus, "campus-%zu", i % CAMPUSES);
    snprintf(room, sizeof room, "room-%zu", (i / CAMPUSES) % ROOMS);
    snprintf(id, sizeof id, "s-%zu", i);
    msgpack_packer *pk = put_begin(&b, CAIRN_REC_STUDENT, id);
    msgpack_pack_map(pk, 4);
    pack_kv(pk, "name", "Bench Student");
    pack_kv(pk, "grade", i % 3 == 0 ? "6" : i % 3 == 1 ? "7" : "8");
    pack_kv(pk, "campus", campus);
    pack_kv(pk, "classroom", room);
    for (size_t t = 0; t < MILESTONES; t++) {
      pk = put_begin(&b, CAIRN_REC_MILESTONE, NULL);
      int flat = (i + t) % 4 == 1;
      msgpack_pack_map(pk, 13 + flat);
      pack_kv(pk, "student", id);
      pack_kv(pk, "template", templates[t].id);
      pack_template_fields(pk, t);
      pack_kn(pk, "baseline", templates[t].baseline);
      day_str(start, d);
      pack_kv(pk, "start", d);
      day_str(end, d);
      pack_kv(pk, "end", d);
      msgpack_pack_str_with_body(pk, "if_then", 7);
      msgpack_pack_array(pk, 1);
      msgpack_pack_str_with_body(pk, "if red, then meet the family", 28);
      if (flat)
        pack_kv(pk, "support", "small-group session twice weekly");
    }
    if (rc == 0 && (rc = flush(&b, mids)) != 0)
      break;
    for (size_t t = 0; t < MILESTONES && rc == 0; t++) {
      const char *mid = mids[1 + t];
      for (size_t k = 0; k < POINTS; k++) {
        pk = put_begin(&b, CAIRN_REC_EVIDENCE, NULL);
        msgpack_pack_map(pk, 3);
        pack_kv(pk, "milestone", mid);
        day_str(start + 2 * (int32_t)k, d);
        pack_kv(pk, "observed", d);
        pack_kn(pk, "value", value_of(t, i, k));
      }
      if ((i + t) % 4 == 1) { /* flat: the support changes half-way */
        pk = put_begin(&b, CAIRN_REC_SUPPORT_CHANGE, NULL);
        msgpack_pack_map(pk, 3);
        pack_kv(pk, "milestone", mid);
        day_str(start + POINTS, d);
        pack_kv(pk, "date", d);
        pack_kv(pk, "support", "daily check-in with a mentor");
      }
      if ((i + t) % 4 == 0) {
        pk = put_begin(&b, CAIRN_REC_REVIEW, NULL);
        msgpack_pack_map(pk, 5);
        pack_kv(pk, "milestone", mid);
        day_str(start + 28, d);
        pack_kv(pk, "date", d);
        pack_kv(pk, "kind", "monthly");
        pack_kv(pk, "decision", "continue");
        pack_kv(pk, "showed", "on track");
      }
      if (b.n > 900)
        rc = flush(&b, NULL);
    }
    if (rc == 0)
      rc = flush(&b, NULL);
    if (rc == 0 && (i + 1) % 200 == 0)
      fprintf(stderr, "\rbench: %zu of %zu students written", i + 1, students);
    if (bench_interrupted)
      rc = CAIRN_EINTERNAL;
  }
  fputc('\n', stderr);
  msgpack_sbuffer_destroy(&b.sb);
  free(mids);
  return rc;
}

/* ---- the measures ------------------------------------------------------------------- */

/* Reads every record of the store's records database once (raw LMDB, its
 * own read-only environment): the floor. */
static int raw_read(const char *data, double *secs) {
  char path[PATH_MAX + 8];
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  MDB_dbi dbi;
  MDB_val k, v;
  size_t bytes = 0;
  uint64_t t0 = bench_now_ns();
  int rc;

  snprintf(path, sizeof path, "%s/store", data);
  if ((rc = mdb_env_create(&env)) == 0 && (rc = mdb_env_set_maxdbs(env, 32)) == 0 &&
      (rc = mdb_env_set_mapsize(env, STORE_MAP_SIZE)) == 0 &&
      (rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0)) == 0 &&
      (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0 &&
      (rc = mdb_dbi_open(txn, "records", 0, &dbi)) == 0 &&
      (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
    int g = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; g == 0; g = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      bytes += k.mv_size + v.mv_size + ((const uint8_t *)v.mv_data)[v.mv_size - 1];
    rc = g == MDB_NOTFOUND ? 0 : g;
  }
  *secs = (double)(bench_now_ns() - t0) / 1e9;
  if (cur != NULL)
    mdb_cursor_close(cur);
  if (txn != NULL)
    mdb_txn_abort(txn);
  if (env != NULL)
    mdb_env_close(env);
  if (rc != 0 || bytes == 0) {
    fprintf(stderr, "bench: raw read of %s: %s\n", path, rc ? mdb_strerror(rc) : "empty");
    return CAIRN_EIO;
  }
  return 0;
}

/* `cairn --data D report KIND --json` to /dev/null, timed. */
static int run_cli(const bench_bins *bins, const char *data, cairn_report_kind kind,
                   double *secs) {
  char *argv[] = {(char *)bins->cairn, "--data", (char *)data, "report",
                  (char *)cairn_report_kind_name(kind), "--json", NULL};
  uint64_t t0 = bench_now_ns();
  pid_t pid;
  int st, rc = bench_spawn(argv, 1, NULL, &pid);
  if (rc != 0)
    return rc;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench: cairn report %s failed\n", cairn_report_kind_name(kind));
    return CAIRN_EIO;
  }
  *secs = (double)(bench_now_ns() - t0) / 1e9;
  return 0;
}

static size_t rows_of(const cairn_report *r) {
  return r->nprogram + r->nred + r->nreviews + r->nsupports;
}

/* The in-process measures and the baselines, reps times each; medians. */
static int measure_store(cairn_store *s, const char *data, size_t reps, bench_kinds *out) {
  double *t = calloc(reps, sizeof *t);
  int rc = t == NULL ? CAIRN_ENOMEM : 0;
  char why[256] = "";
  int32_t today = cairn_store_today(s);

  for (int k = CAIRN_REPORT_PROGRAM; rc == 0 && k <= CAIRN_REPORT_SUPPORTS; k++) {
    for (size_t i = 0; rc == 0 && i < reps; i++) {
      cairn_report *r = NULL;
      uint64_t t0 = bench_now_ns();
      rc = cairn_report_run(s, (cairn_report_kind)k, NULL, today, &r, why, sizeof why);
      t[i] = (double)(bench_now_ns() - t0) / 1e9;
      if (rc == 0)
        out->rows[k - 1] = rows_of(r);
      cairn_report_free(r);
    }
    if (rc == 0)
      out->inproc[k - 1] = bench_median(t, reps);
  }
  for (size_t i = 0; rc == 0 && i < reps; i++) {
    cairn_store_status_view *v = NULL;
    uint64_t t0 = bench_now_ns();
    rc = cairn_store_status(s, NULL, today, &v);
    t[i] = (double)(bench_now_ns() - t0) / 1e9;
    cairn_store_status_free(v);
  }
  if (rc == 0)
    out->status = bench_median(t, reps);
  for (size_t i = 0; rc == 0 && i < reps; i++)
    rc = raw_read(data, &t[i]);
  if (rc == 0) {
    out->raw = bench_median(t, reps);
    fprintf(stderr, "bench: in process: program %.3f s, red %.3f s, reviews %.3f s, supports "
                    "%.3f s; status view %.3f s; raw read %.3f s\n",
            out->inproc[0], out->inproc[1], out->inproc[2], out->inproc[3], out->status, out->raw);
  }
  if (rc != 0 && why[0] != '\0')
    fprintf(stderr, "bench: report: %s: %s\n", cairn_strerror(rc), why);
  free(t);
  return rc;
}

static int measure_cli(const bench_bins *bins, bench_daemon *d, size_t reps, bench_kinds *out) {
  double *t = calloc(reps, sizeof *t);
  int rc = t == NULL ? CAIRN_ENOMEM : bench_cairnd_start(d, bins);
  for (int k = CAIRN_REPORT_PROGRAM; rc == 0 && k <= CAIRN_REPORT_SUPPORTS; k++) {
    for (size_t i = 0; rc == 0 && i < reps; i++)
      rc = run_cli(bins, d->data, (cairn_report_kind)k, &t[i]);
    if (rc == 0)
      out->e2e[k - 1] = bench_median(t, reps);
  }
  if (d->pid != 0 && bench_daemon_stop(d) != 0 && rc == 0)
    rc = CAIRN_EINTERNAL;
  free(t);
  return rc;
}

/* Makes the central's data directory with `cairn init`, fills its store. */
static int make_data(const bench_bins *bins, bench_daemon *d, size_t students) {
  char key[PATH_MAX + 16], why[256], listen[32];
  char *argv[] = {(char *)bins->cairn, "--data", d->data, "init", "--role", "central",
                  "--listen", listen, NULL};
  char out[256];
  uint8_t *sk = NULL;
  cairn_store *s = NULL;
  const cairn_store_opts opts = {.map_size = STORE_MAP_SIZE};
  int rc;

  d->pid = 0;
  d->log[0] = '\0';
  snprintf(listen, sizeof listen, "127.0.0.1:%d", 40000 + (int)(bench_now_ns() % 20000));
  if ((rc = bench_tmpdir(d->root)) != 0)
    return rc;
  snprintf(d->data, sizeof d->data, "%.*s/data", PATH_MAX - 8, d->root);
  if ((rc = bench_run_capture(argv, out, sizeof out)) != 0)
    return rc;
  snprintf(key, sizeof key, "%s/device.key", d->data);
  if ((rc = cairn_keyfile_load(key, &sk, why, sizeof why)) != 0) {
    fprintf(stderr, "bench: %s\n", why);
    return rc;
  }
  if ((rc = cairn_store_open(&s, d->data, sk, &opts)) != 0)
    fprintf(stderr, "bench: store in %s: %s\n", d->data, cairn_strerror(rc));
  if (rc == 0) {
    uint64_t t0 = bench_now_ns();
    rc = build_store(s, students);
    fprintf(stderr, "bench: %zu students written in %.1f s\n", students,
            (double)(bench_now_ns() - t0) / 1e9);
  }
  cairn_store_close(s);
  cairn_keyfile_free(sk);
  return rc;
}

static const char *met(double s) { return s <= TARGET_S ? "yes" : "**no**"; }

static void print_report(FILE *f, const bench_kinds *r, size_t students, size_t reps,
                         const char *machine, const char *command) {
  char date[64], a[32], b[32];
  time_t now = time(NULL);

  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(f, "Run %s with `%s`.  \nMachine: %s.  \n", date, command, machine);
  fprintf(f,
          "Data: a central holding %s students (%d campuses x %d classrooms), %d milestones "
          "each from %d shared templates, %d evidence points per milestone (%s entries), "
          "support changes and reviews. %zu repetitions; every figure is the median.\n\n",
          bench_rate(a, (double)students), CAMPUSES, ROOMS, MILESTONES, MILESTONES, POINTS,
          bench_rate(b, (double)(students * MILESTONES * POINTS)), reps);
  fprintf(f, "| measure | rows | seconds | baseline (same run) | ratio | target | met |\n");
  fprintf(f, "|---|---:|---:|---|---:|---|---|\n");
  for (int k = 0; k < 4; k++) {
    const char *name = cairn_report_kind_name((cairn_report_kind)(k + 1));
    fprintf(f, "| `cairn report %s --json`, end to end | %zu | %.3f | status view: %.3f | %.2f | "
               "≤ 2 s | %s |\n",
            name, r->rows[k], r->e2e[k], r->status, r->e2e[k] / r->status, met(r->e2e[k]));
  }
  for (int k = 0; k < 4; k++) {
    const char *name = cairn_report_kind_name((cairn_report_kind)(k + 1));
    fprintf(f, "| report %s in process (cairn_report_run) | %zu | %.3f | status view: %.3f | %.2f "
               "| | |\n",
            name, r->rows[k], r->inproc[k], r->status, r->inproc[k] / r->status);
  }
  fprintf(f, "| status view of every milestone (cairn_store_status) | | %.3f | raw LMDB read of "
             "every record: %.3f | %.2f | | |\n",
          r->status, r->raw, r->status / r->raw);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"students", required_argument, NULL, 's'},
                                            {"reps", required_argument, NULL, 'r'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  size_t students = 2000, reps = 5;
  int quick = 0, opt, rc;
  const char *out = NULL;
  char machine[1024], command[256], key[PATH_MAX + 16], why[256];
  bench_daemon d;
  bench_kinds r;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'q':
      quick = 1;
      break;
    case 's':
      if (bench_parse_count("--students", optarg, 1000000, &students) != 0)
        return 2;
      break;
    case 'r':
      if (bench_parse_count("--reps", optarg, 100, &reps) != 0)
        return 2;
      break;
    case 'c':
      bins.cairn = optarg;
      break;
    case 'd':
      bins.cairnd = optarg;
      break;
    case 'o':
      out = optarg;
      break;
    default:
      return bench_usage(opt, usage);
    }
  }
  if (bench_no_operands(argc, argv, optind, usage) != 0)
    return 2;
  if (quick)
    students = 200, reps = 2;
  if (bench_check_bins(&bins) != 0)
    return 1;
  memset(&r, 0, sizeof r);
  snprintf(command, sizeof command, "bench/run report%s", quick ? " --quick" : "");
  bench_machine_line(machine, sizeof machine);
  rc = make_data(&bins, &d, students);
  if (rc == 0) {
    uint8_t *sk = NULL;
    cairn_store *s = NULL;
    const cairn_store_opts opts = {.map_size = STORE_MAP_SIZE};
    snprintf(key, sizeof key, "%s/device.key", d.data);
    if ((rc = cairn_keyfile_load(key, &sk, why, sizeof why)) == 0 &&
        (rc = cairn_store_open(&s, d.data, sk, &opts)) == 0) {
      fprintf(stderr, "bench: in process, %zu repetitions\n", reps);
      rc = measure_store(s, d.data, reps, &r);
    }
    cairn_store_close(s);
    cairn_keyfile_free(sk);
  }
  if (rc == 0) {
    fprintf(stderr, "bench: end to end through cairnd, %zu repetitions\n", reps);
    rc = measure_cli(&bins, &d, reps, &r);
  }
  if (rc != 0) {
    fprintf(stderr, "bench: stopped: %s\n", cairn_strerror(rc));
    return 1;
  }
  print_report(stdout, &r, students, reps, machine, command);
  if (out != NULL) {
    FILE *f = fopen(out, "w");
    if (f == NULL) {
      perror(out);
      return 1;
    }
    print_report(f, &r, students, reps, machine, command);
    if (fclose(f) != 0) {
      perror(out);
      return 1;
    }
  }
  return 0;
}
