/*
 * bench_mirror.c: the PostgreSQL mirror's benchmark (docs/BENCHMARKS.md,
 * "PostgreSQL mirror").
 *
 * Writes a store of N evidence entries (one student, one milestone; the
 * store API, no daemon), then, each repetition, empties the mirror's
 * tables and times cairn_mirror_step until nothing is behind: the rate at
 * which the mirror applies entries (COPY, batches of CAIRN_MIRROR_BATCH)
 * into the PostgreSQL database --postgres names (bench/run mirror makes
 * one in a temporary directory). The target: at least 50,000 entries/s
 * for 100,000 entries. It reports figures and whether the target was met;
 * it never fails because of a figure. Exit status: 0 when every measure
 * ran, 1 when one could not (the reason is printed), 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mirror.h"
#include "store.h"

#define TARGET_RATE 50000.0

static const char usage[] =
    "usage: bench_mirror --postgres CONNINFO [--quick] [--entries N] [--reps N] [--out FILE]\n"
    "\n"
    "Runs the PostgreSQL mirror benchmark and prints a Markdown table on stdout;\n"
    "progress goes to stderr. The database CONNINFO names is emptied of the\n"
    "mirror's tables each repetition.\n"
    "\n"
    "  --postgres CONNINFO  a libpq connection string of an empty database\n"
    "  --quick              10,000 entries, 2 repetitions: to show it works\n"
    "  --entries N          evidence entries (default 100000)\n"
    "  --reps N             repetitions; the figure is a median (default 3)\n"
    "  --out FILE           also write the Markdown table to FILE\n";

/* One repetition: reset, then steps until caught up. Returns 0 and the
 * entries applied and seconds taken. */
static int once(cairn_mirror *m, cairn_store *s, size_t *entries, double *seconds,
                size_t *steps) {
  char why[256];
  uint64_t behind = 1, t0;
  size_t applied;
  int rc = cairn_mirror_reset(m, why, sizeof why);

  *entries = *steps = 0;
  if (rc != 0) {
    fprintf(stderr, "bench: %s\n", why);
    return rc;
  }
  t0 = bench_now_ns();
  while (behind > 0) {
    if ((rc = cairn_mirror_step(m, s, 0, &applied, &behind, why, sizeof why)) != 0) {
      fprintf(stderr, "bench: %s\n", why[0] ? why : cairn_strerror(rc));
      return rc;
    }
    *entries += applied;
    (*steps)++;
    if (applied == 0 && behind > 0) {
      fprintf(stderr, "bench: the mirror stalled %llu entries behind\n",
              (unsigned long long)behind);
      return CAIRN_EINTERNAL;
    }
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  return 0;
}

static void print_report(FILE *f, double rate, size_t entries, size_t steps, size_t reps,
                         const char *machine, const char *command) {
  char r[32], t[32];
  fprintf(f, "Measured with `%s` on %s.\n\n", command, machine);
  fprintf(f, "| measure | entries | batches | entries/s (median of %zu) | target |\n", reps);
  fprintf(f, "|---|---:|---:|---:|---|\n");
  fprintf(f, "| the mirror applies a store's log into PostgreSQL 15 (COPY, one transaction "
             "per batch with the positions) | %zu | %zu | %s | >= %s: %s |\n",
          entries, steps, bench_rate(r, rate), bench_rate(t, TARGET_RATE),
          rate >= TARGET_RATE ? "met" : "NOT met");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"postgres", required_argument, NULL, 'p'},
                                            {"entries", required_argument, NULL, 'e'},
                                            {"reps", required_argument, NULL, 'r'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  size_t k = 100000, reps = 3, entries = 0, steps = 0;
  int quick = 0, opt, rc = 0;
  const char *out = NULL, *conninfo = NULL;
  char machine[1024], command[256];
  double *rates;
  cairn_store *s = NULL;
  cairn_mirror *m = NULL;
  struct bench_node *node;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'q':
      quick = 1;
      break;
    case 'p':
      conninfo = optarg;
      break;
    case 'e':
      if (bench_parse_count("--entries", optarg, 10000000, &k) != 0)
        return 2;
      break;
    case 'r':
      if (bench_parse_count("--reps", optarg, 100, &reps) != 0)
        return 2;
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
  if (conninfo == NULL) {
    fprintf(stderr, "bench_mirror: --postgres is required\n%s", usage);
    return 2;
  }
  if (quick)
    k = 10000, reps = 2;
  if ((rates = calloc(reps, sizeof *rates)) == NULL)
    return 1;
  snprintf(command, sizeof command, "bench/run mirror%s", quick ? " --quick" : "");
  bench_machine_line(machine, sizeof machine);
  fprintf(stderr, "bench: a store of %zu evidence entries\n", k);
  if ((node = bench_evidence_node(k, &s)) == NULL)
    rc = CAIRN_EINTERNAL;
  else if ((rc = cairn_mirror_new(&m, conninfo)) != 0)
    fprintf(stderr, "bench: --postgres: %s\n", cairn_strerror(rc));
  for (size_t i = 0; rc == 0 && i < reps; i++) {
    double secs = 0;
    fprintf(stderr, "bench: repetition %zu/%zu\n", i + 1, reps);
    if ((rc = once(m, s, &entries, &secs, &steps)) == 0)
      rates[i] = (double)entries / secs;
  }
  cairn_mirror_free(m);
  bench_evidence_node_free(node);
  if (rc != 0) {
    fprintf(stderr, "bench: stopped: %s\n", cairn_strerror(rc));
    free(rates);
    return 1;
  }
  double rate = bench_median(rates, reps);
  free(rates);
  print_report(stdout, rate, entries, steps, reps, machine, command);
  if (out != NULL) {
    FILE *f = fopen(out, "w");
    if (f == NULL) {
      perror(out);
      return 1;
    }
    print_report(f, rate, entries, steps, reps, machine, command);
    if (fclose(f) != 0) {
      perror(out);
      return 1;
    }
  }
  return 0;
}
