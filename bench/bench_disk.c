/*
 * bench_disk.c: bytes on disk (docs/BENCHMARKS.md, "Bytes on disk").
 *
 * A central and a classroom enrolled to it, as real cairnd processes on
 * loopback (bench_pair_start). The classroom receives N evidence puts over
 * its socket, one at a time as a teacher's writes come (one commit each),
 * each with a different note of B bytes (default 8,000 notes of 1,900
 * bytes). Then both daemons stop and this program opens each node's LMDB
 * environment read-only and measures:
 *   - the store's file size on disk (allocated blocks) against the notes'
 *     bytes (the ratio, target at most 2x);
 *   - per named database (log, records, children, ...): entries, branch,
 *     leaf and overflow pages, the bytes those pages take, and the bytes of
 *     keys and values they hold (page fill = held / on pages);
 *   - free pages (LMDB's free list) and the meta and main-database pages.
 * It reports figures and never fails because of one. Exit status: 0 when
 * it ran, 1 when it could not (the reason is printed), 2 for a usage error.
 */
#include <dirent.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_nodes.h"
#include "cairn.h"

static const char usage[] =
    "usage: bench_disk [--quick] [--notes N] [--note-bytes B] [--cairn PATH]\n"
    "                  [--cairnd PATH] [--out FILE]\n"
    "\n"
    "Writes N evidence notes of B bytes into a classroom (real cairnd, one put\n"
    "per note, synced to its central), stops both, and prints a Markdown table\n"
    "of each store's size on disk and where the bytes go (per LMDB database:\n"
    "pages and the bytes they hold). Progress goes to stderr.\n"
    "\n"
    "  --quick          500 notes: to show it works, not to quote\n"
    "  --notes N        evidence notes (default 8000)\n"
    "  --note-bytes B   bytes per note, at most 2000 (default 1900)\n"
    "  --cairn PATH     the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH    the daemon (default: this build's daemon/cairnd)\n"
    "  --out FILE       also write the Markdown table to FILE\n";

#define TARGET_RATIO 2.0
#define MAX_DB 32

/* One database's pages and what they hold. */
typedef struct db_use {
  char name[32];
  MDB_stat st;
  uint64_t held; /* bytes of keys and values */
} db_use;

/* One store's figures. */
typedef struct store_use {
  uint64_t file_bytes, disk_bytes, psize, last_pgno, free_pages;
  MDB_stat main;
  db_use db[MAX_DB];
  size_t ndb;
} store_use;

/* The note of put i: B bytes of English-like text, different for every i:
 * sentences of 6-21 words drawn from a teacher's vocabulary by a PRNG
 * seeded with i. Such text compresses about as 1,900-byte pieces of real
 * prose do (docs/BENCHMARKS.md gives both), so a store that compresses
 * does not look better here than it would with real notes. */
static void make_note(char *out, size_t bytes, size_t i) {
  static const char *const words[] = {
      "the", "a", "and", "to", "of", "with", "in", "on", "for", "after", "before", "while",
      "then", "when", "but", "not", "was", "were", "is", "she", "he", "they", "her", "his",
      "their", "read", "wrote", "counted", "explained", "answered", "asked", "solved", "found",
      "compared", "retold", "measured", "sorted", "drew", "listened", "shared", "checked",
      "corrected", "practised", "finished", "started", "needed", "used", "chose", "tried",
      "passage", "sentence", "paragraph", "story", "question", "questions", "problem",
      "problems", "fractions", "number", "line", "chart", "words", "sounds", "letters",
      "vowel", "blends", "evidence", "text", "summary", "draft", "partner", "group", "table",
      "morning", "afternoon", "lesson", "unit", "page", "book", "map", "graph", "model",
      "strategy", "prompt", "prompts", "support", "reminder", "timer", "visual", "manipulatives",
      "independently", "aloud", "quietly", "carefully", "quickly", "slowly", "twice", "again",
      "first", "second", "third", "all", "most", "some", "three", "four", "five", "two",
      "minutes", "correct", "errors", "self-corrections", "fluently", "accurately", "clearly",
      "confident", "unsure", "focused", "distracted", "engaged", "calm", "proud", "ready",
      "grade-level", "below", "above", "goal", "target", "progress", "improvement", "steady",
      "new", "same", "last", "week", "today", "yesterday", "friday", "monday", "home", "class",
      "teacher", "aide", "peer", "example", "pictures", "details", "main", "idea", "character",
      "setting", "addition", "subtraction", "multiplication", "regrouping", "place", "value",
      "tens", "ones", "hundreds", "estimate", "check", "work", "steps", "explain", "reason",
      "because", "so", "also", "only", "without", "needing", "help", "hint", "cue", "cues",
      "paused", "skipped", "reread", "underlined", "highlighted", "circled", "labelled",
      "predicted", "inferred", "connected", "described", "organised", "planned", "revised",
      "edited", "spelled", "punctuation", "capitals", "handwriting", "spacing", "margins",
      "volume", "expression", "phrasing", "decoding", "blending", "segmenting", "rhyming",
      "syllables", "digraphs", "comprehension", "vocabulary", "glossary", "diagram", "caption",
      "heading", "chapter", "poem", "letter", "journal", "notebook", "worksheet", "exit",
      "ticket", "quiz", "rubric", "criteria", "feedback", "conference", "small", "whole",
      "circle", "carpet", "desk", "recess", "lunch", "library", "computer", "tablet", "ruler",
      "scissors", "glue", "crayons", "markers", "whiteboard", "flashcards", "dice", "cubes",
      "counters", "coins", "clock", "calendar", "weather", "science", "history", "geography",
      "music", "art", "gym", "volunteered", "hesitated", "guessed", "persisted", "gave", "up",
      "came", "back", "asked", "for", "more", "time", "seemed", "tired", "excited", "frustrated",
      "relaxed", "happy", "careful", "messy", "neat", "complete", "partial", "missing"};
  uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
  size_t n = (size_t)snprintf(out, bytes + 1, "Observation %zu. ", i), left = 0;
  int cap = 1;
  while (n < bytes) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    if (left == 0)
      left = 6 + (size_t)(x >> 59) % 16;
    char num[8];
    const char *w = words[(x >> 20) % (sizeof words / sizeof words[0])];
    if ((x >> 40) % 6 == 0) { /* a count or a score: notes hold many */
      snprintf(num, sizeof num, "%u", (unsigned)((x >> 44) % 1000));
      w = num;
    }
    for (size_t k = 0; w[k] != '\0' && n < bytes; k++)
      out[n++] = (char)(cap && k == 0 ? w[k] - 32 * (w[k] >= 'a' && w[k] <= 'z') : w[k]);
    cap = --left == 0;
    if (n < bytes)
      out[n++] = cap ? '.' : (x >> 8) % 11 == 0 ? ',' : ' ';
    if ((cap || out[n - 1] == ',') && n < bytes)
      out[n++] = ' ';
  }
  out[bytes] = '\0';
}

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* The evidence put of one note, into b (emptied first). */
static void pack_put(msgpack_sbuffer *b, const char *mid, const char *note) {
  msgpack_packer pk;

  b->size = 0;
  msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
  bench_pack_put_head(&pk, "evidence", NULL);
  msgpack_pack_map(&pk, 4);
  pack_str(&pk, "milestone");
  pack_str(&pk, mid);
  pack_str(&pk, "observed");
  pack_str(&pk, "2026-11-02");
  pack_str(&pk, "value");
  msgpack_pack_double(&pk, 2.5);
  pack_str(&pk, "note");
  pack_str(&pk, note);
}

static int lmdb_fail(const char *what, int rc) {
  fprintf(stderr, "bench: %s: %s\n", what, mdb_strerror(rc));
  return CAIRN_EIO;
}

/* Finds the directory holding data.mdb under dir (depth first). */
static int find_env(const char *dir, char *out, size_t size, int depth) {
  char path[PATH_MAX];
  struct stat sb;
  struct dirent *e;
  DIR *d;
  int found = 0;

  snprintf(path, sizeof path, "%.*s/data.mdb", PATH_MAX - 16, dir);
  if (stat(path, &sb) == 0) {
    snprintf(out, size, "%s", dir);
    return 1;
  }
  if (depth > 3 || (d = opendir(dir)) == NULL)
    return 0;
  while (!found && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
      continue;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
      found = find_env(path, out, size, depth + 1);
  }
  closedir(d);
  return found;
}

/* Sums key and value bytes over every entry of dbi. */
static int held_bytes(MDB_txn *txn, MDB_dbi dbi, uint64_t *held) {
  MDB_cursor *cur;
  MDB_cursor_op op = MDB_FIRST;
  MDB_val k, v;
  int rc = mdb_cursor_open(txn, dbi, &cur);

  *held = 0;
  if (rc != 0)
    return lmdb_fail("cursor", rc);
  for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT)
    *held += k.mv_size + v.mv_size;
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : lmdb_fail("cursor", rc);
}

static int measure(const char *data, store_use *u) {
  char dir[PATH_MAX], path[PATH_MAX];
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  MDB_dbi main_dbi;
  MDB_envinfo info;
  MDB_val k, v;
  struct stat sb;
  int rc;

  memset(u, 0, sizeof *u);
  if (!find_env(data, dir, sizeof dir, 0)) {
    fprintf(stderr, "bench: no data.mdb under %s\n", data);
    return CAIRN_EIO;
  }
  snprintf(path, sizeof path, "%.*s/data.mdb", PATH_MAX - 16, dir);
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "bench: %s: cannot stat\n", path);
    return CAIRN_EIO;
  }
  u->file_bytes = (uint64_t)sb.st_size;
  u->disk_bytes = (uint64_t)sb.st_blocks * 512u;
  if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, MAX_DB)) != 0 ||
      (rc = mdb_env_open(env, dir, MDB_RDONLY, 0)) != 0 ||
      (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
    rc = lmdb_fail(dir, rc);
    goto out;
  }
  mdb_env_info(env, &info);
  u->last_pgno = info.me_last_pgno;
  if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
      (rc = mdb_stat(txn, main_dbi, &u->main)) != 0) {
    rc = lmdb_fail("main database", rc);
    goto out;
  }
  u->psize = u->main.ms_psize;
  /* the free list (FREE_DBI, handle 0): each value is a page list whose
   * first word is its length */
  if ((rc = mdb_cursor_open(txn, 0, &cur)) != 0) {
    rc = lmdb_fail("free list", rc);
    goto out;
  }
  while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
    if (v.mv_size >= sizeof(size_t))
      u->free_pages += *(const size_t *)v.mv_data;
  mdb_cursor_close(cur);
  if ((rc = mdb_cursor_open(txn, main_dbi, &cur)) != 0) {
    rc = lmdb_fail("main database", rc);
    goto out;
  }
  while (u->ndb < MAX_DB && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
    db_use *d = &u->db[u->ndb];
    MDB_dbi dbi;
    if (k.mv_size == 0 || k.mv_size >= sizeof d->name)
      continue;
    memcpy(d->name, k.mv_data, k.mv_size);
    d->name[k.mv_size] = '\0';
    if (mdb_dbi_open(txn, d->name, 0, &dbi) != 0) /* not a named database */
      continue;
    if ((rc = mdb_stat(txn, dbi, &d->st)) != 0 || (rc = held_bytes(txn, dbi, &d->held)) != 0) {
      rc = rc > 0 ? lmdb_fail(d->name, rc) : rc;
      goto out;
    }
    u->ndb++;
  }
  rc = 0;
out:
  if (cur != NULL)
    mdb_cursor_close(cur);
  if (txn != NULL)
    mdb_txn_abort(txn);
  if (env != NULL)
    mdb_env_close(env);
  return rc;
}

static double mb(uint64_t b) { return (double)b / 1e6; }

static uint64_t db_pages(const MDB_stat *s) {
  return (uint64_t)s->ms_branch_pages + s->ms_leaf_pages + s->ms_overflow_pages;
}

static void print_store(FILE *f, const char *who, const store_use *u, uint64_t notes_bytes) {
  uint64_t used = (u->last_pgno + 1) * u->psize, sum_pages = 0, sum_held = 0;

  fprintf(f, "%s: data.mdb is %.1f MB (%.1f MB allocated on disk), %.2f× the notes' bytes; "
             "pages in use up to page %llu (%.1f MB), of which %llu free (%.1f MB, LMDB's free list); "
             "page size %llu bytes.\n\n",
          who, mb(u->file_bytes), mb(u->disk_bytes), (double)u->disk_bytes / (double)notes_bytes,
          (unsigned long long)u->last_pgno, mb(used), (unsigned long long)u->free_pages,
          mb(u->free_pages * u->psize), (unsigned long long)u->psize);
  fprintf(f, "| database | entries | branch pages | leaf pages | overflow pages | MB on pages "
             "| MB of keys and values | fill | share of the file |\n");
  fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < u->ndb; i++) {
    const db_use *d = &u->db[i];
    uint64_t pages = db_pages(&d->st), bytes = pages * u->psize;
    sum_pages += pages, sum_held += d->held;
    if (pages == 0)
      continue;
    fprintf(f, "| %s | %zu | %zu | %zu | %zu | %.2f | %.2f | %.0f%% | %.0f%% |\n", d->name,
            d->st.ms_entries, d->st.ms_branch_pages, d->st.ms_leaf_pages, d->st.ms_overflow_pages,
            mb(bytes), mb(d->held), 100.0 * (double)d->held / (double)bytes,
            100.0 * (double)bytes / (double)u->file_bytes);
  }
  fprintf(f, "| (main: the database names) | %zu | %zu | %zu | %zu | %.2f | | | |\n",
          u->main.ms_entries, u->main.ms_branch_pages, u->main.ms_leaf_pages,
          u->main.ms_overflow_pages, mb(db_pages(&u->main) * u->psize));
  fprintf(f, "| (free list: pages freed by older commits, reusable) | | | | | %.2f | | | %.0f%% |\n",
          mb(u->free_pages * u->psize),
          100.0 * (double)(u->free_pages * u->psize) / (double)u->file_bytes);
  fprintf(f, "| all databases | | | | | %.2f | %.2f | %.0f%% | %.0f%% |\n\n",
          mb(sum_pages * u->psize), mb(sum_held),
          100.0 * (double)sum_held / (double)(sum_pages * u->psize),
          100.0 * (double)(sum_pages * u->psize) / (double)u->file_bytes);
}

static int run(const bench_bins *bins, size_t notes, size_t note_bytes, const char *quick,
               const char *out_path) {
  bench_pair p;
  cairn_client *c = NULL;
  msgpack_sbuffer req;
  char *note = malloc(note_bytes + 1), id[72] = "", machine[512];
  store_use room, central;
  uint64_t t0, last = 0;
  double secs = 0;
  int rc;

  memset(&p, 0, sizeof p);
  msgpack_sbuffer_init(&p.put);
  msgpack_sbuffer_init(&req);
  rc = note == NULL ? CAIRN_ENOMEM : bench_pair_start(bins, &p);
  if (rc == 0)
    rc = bench_connect(&p.room, &c);
  fprintf(stderr, "bench: disk: %zu puts of %zu-byte notes\n", notes, note_bytes);
  t0 = bench_now_ns();
  for (size_t i = 0; i < notes && rc == 0; i++) {
    make_note(note, note_bytes, i);
    pack_put(&req, p.mid, note);
    if (bench_interrupted)
      rc = CAIRN_EINTERNAL;
    else
      rc = bench_call_put(c, &req, id, sizeof id);
  }
  secs = (double)(bench_now_ns() - t0) / 1e9;
  /* the central holds them all before both stop */
  if (rc == 0 && (last = bench_id_seq(id)) > 0)
    rc = bench_wait_receipt(c, last, 1000, 300);
  cairn_client_close(c);
  if (rc == 0 && (rc = bench_daemon_stop(&p.room)) == 0 &&
      (rc = bench_daemon_stop(&p.central)) == 0 && (rc = measure(p.room.data, &room)) == 0)
    rc = measure(p.central.data, &central);
  if (rc == 0) {
    uint64_t notes_bytes = (uint64_t)notes * note_bytes, log_held = 0;
    FILE *out = out_path != NULL ? fopen(out_path, "w") : NULL;
    for (size_t i = 0; i < room.ndb; i++)
      if (strcmp(room.db[i].name, "log") == 0)
        log_held = room.db[i].held;
    bench_machine_line(machine, sizeof machine);
    for (FILE *f = stdout; f != NULL; f = f == stdout ? out : NULL) {
      double ratio = (double)room.disk_bytes / (double)notes_bytes;
      fprintf(f, "Run with `bench/run disk%s`.  \nMachine: %s.  \n", quick, machine);
      fprintf(f, "%zu evidence notes of %zu bytes (%.1f MB of notes) put one at a time into a "
                 "classroom (%.1f s, one durable commit each) and synced to its central; "
                 "the classroom's log holds %.1f MB of signed entries (%.0f bytes each with "
                 "their keys).\n\n",
              notes, note_bytes, mb(notes_bytes), secs, mb(log_held),
              (double)log_held / (double)notes);
      fprintf(f, "| store | on disk, MB | × the notes' bytes | target | met |\n|---|---:|---:|---|---|\n");
      fprintf(f, "| classroom | %.1f | %.2f× | ≤ %.0f× | %s |\n", mb(room.disk_bytes), ratio,
              TARGET_RATIO, ratio <= TARGET_RATIO ? "yes" : "**no**");
      fprintf(f, "| central | %.1f | %.2f× | | |\n\n", mb(central.disk_bytes),
              (double)central.disk_bytes / (double)notes_bytes);
      print_store(f, "Classroom", &room, notes_bytes);
      print_store(f, "Central", &central, notes_bytes);
    }
    if (out != NULL)
      fclose(out);
  } else {
    bench_print_log_tail(&p.room);
    bench_print_log_tail(&p.central);
  }
  bench_pair_stop(&p);
  msgpack_sbuffer_destroy(&p.put);
  msgpack_sbuffer_destroy(&req);
  free(note);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"notes", required_argument, NULL, 'n'},
                                            {"note-bytes", required_argument, NULL, 'b'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  size_t notes = 8000, note_bytes = 1900;
  const char *out = NULL, *quick = "";
  int opt, rc = 0;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
    switch (opt) {
    case 'q':
      notes = 500, quick = " --quick";
      break;
    case 'n':
      rc = bench_parse_count("notes", optarg, 10000000, &notes);
      break;
    case 'b':
      rc = bench_parse_count("note-bytes", optarg, 2000, &note_bytes);
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
  if (rc != 0 || (rc = bench_no_operands(argc, argv, optind, usage)) != 0)
    return rc;
  if (bench_check_bins(&bins) != 0)
    return 1;
  if ((rc = run(&bins, notes, note_bytes, quick, out)) != 0) {
    fprintf(stderr, "bench: stopped: %s\n",
            bench_interrupted ? "interrupted" : cairn_strerror(rc));
    return 1;
  }
  return 0;
}
