/*
 * bench_local.c: the local benchmark (docs/BENCHMARKS.md).
 *
 * Measures, on this machine, with medians over repetitions and against raw
 * LMDB baselines measured in the same run:
 *   1. the round trip of one durable evidence put through a real cairnd;
 *   2. evidence puts/s with 1 client, 8 sequential clients, and 8 clients
 *      pipelining 32 requests each, and how the writer grouped them into
 *      commits;
 *   3. cairn_store_apply_entries of already-signed entries (the sync path)
 *      and cairn_store_write_batch (the local writer path), no daemon.
 * It reports figures and whether each target was met; it never fails
 * because of a figure. Exit status: 0 when every phase ran, 1 when one
 * could not (the reason is printed), 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define TARGET_ADD_MS 1.0
#define TARGET_PUTS_PER_S 50000.0
#define TARGET_APPLY_PER_S 300000.0

static const char usage[] =
    "usage: bench_local [--quick] [--cairn PATH] [--cairnd PATH] [--out FILE]\n"
    "\n"
    "Runs the local benchmark and prints a Markdown table on stdout; progress\n"
    "goes to stderr. Temporary directories go under $TMPDIR (default /tmp).\n"
    "\n"
    "  --quick         small sizes: finishes in well under a minute\n"
    "  --cairn PATH    the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH   the daemon (default: this build's daemon/cairnd)\n"
    "  --out FILE      also write the Markdown table to FILE\n";

/* Requests each client keeps in flight in the pipelined row. */
#define PIPELINE_WINDOW 32

static const bench_sizes full_sizes = {3, 2000, 3000, 200000};
static const bench_sizes quick_sizes = {3, 200, 300, 20000};

typedef struct results {
  bench_stats add, commit;
  bench_throughput one, eight, piped;
  bench_bulk bulk;
} results;

static const char *met(int yes) {
  return yes ? "yes" : "**no**";
}

static void print_throughput(FILE *f, const bench_throughput *t, const bench_throughput *one) {
  char a[32], b[32];

  fprintf(f, "| %zu clients, %zu in flight each, evidence puts/s (%.1f puts per commit) | %s | "
             "1 client: %s | %.2f",
          t->clients, t->window, t->per_commit, bench_rate(a, t->rate), bench_rate(b, one->rate),
          t->rate / one->rate);
  fprintf(f, " | ≥ 50,000 | %s |\n", met(t->rate >= TARGET_PUTS_PER_S));
}

static void print_report(FILE *f, const results *r, const bench_sizes *z, const char *machine,
                         const char *command) {
  char date[64], a[32], b[32];
  time_t now = time(NULL);

  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(f, "Run %s with `%s`.  \nMachine: %s.  \n", date, command, machine);
  fprintf(f,
          "Sizes: %zu repetitions (figures are medians over them); %zu sequential puts per "
          "latency repetition; %zu puts per client; %zu evidence entries in the bulk phase.\n\n",
          z->reps, z->latency_n, z->puts_per_client, z->bulk_k);
  fprintf(f, "| measure | cairn | baseline (same run) | ratio | target | met |\n");
  fprintf(f, "|---|---:|---|---:|---|---|\n");
  fprintf(f, "| durable add, round trip p50 (ms) | %.3f | raw LMDB commit: %.3f | %.2f | "
             "≤ 1 ms | %s |\n",
          r->add.p50, r->commit.p50, r->add.p50 / r->commit.p50, met(r->add.p50 <= TARGET_ADD_MS));
  fprintf(f, "| durable add, round trip p99 (ms) | %.3f | raw LMDB commit: %.3f | %.2f | | |\n",
          r->add.p99, r->commit.p99, r->add.p99 / r->commit.p99);
  fprintf(f, "| durable add, round trip mean (ms) | %.3f | raw LMDB commit: %.3f | %.2f | | |\n",
          r->add.mean, r->commit.mean, r->add.mean / r->commit.mean);
  fprintf(f, "| 1 client, evidence puts/s (%.1f puts per commit) | %s | | | | |\n",
          r->one.per_commit, bench_rate(a, r->one.rate));
  print_throughput(f, &r->eight, &r->one);
  print_throughput(f, &r->piped, &r->one);
  fprintf(f, "| apply_entries, entries/s | %s | raw LMDB synced batch insert: %s | %.2f | "
             "≥ 300,000 | %s |\n",
          bench_rate(a, r->bulk.apply_rate), bench_rate(b, r->bulk.raw_rate),
          r->bulk.apply_rate / r->bulk.raw_rate, met(r->bulk.apply_rate >= TARGET_APPLY_PER_S));
  fprintf(f, "| write_batch, puts/s | %s | raw LMDB synced batch insert: %s | %.2f | | |\n",
          bench_rate(a, r->bulk.write_rate), bench_rate(b, r->bulk.raw_rate),
          r->bulk.write_rate / r->bulk.raw_rate);
}

static int run(const bench_bins *bins, const bench_sizes *z, results *r) {
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = bench_client_latency(bins, z, &r->add)) != 0 ||
      (rc = bench_lmdb_commit_latency(z, &r->commit)) != 0 ||
      (rc = bench_client_throughput(bins, z, 1, 1, &r->one)) != 0 ||
      (rc = bench_client_throughput(bins, z, 8, 1, &r->eight)) != 0 ||
      (rc = bench_client_throughput(bins, z, 8, PIPELINE_WINDOW, &r->piped)) != 0)
    return rc;
  return bench_store_bulk(z, &r->bulk);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  const bench_sizes *z = &full_sizes;
  const char *out = NULL;
  char machine[1024], command[256];
  results r;
  FILE *f;
  int opt, rc;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'q':
      z = &quick_sizes;
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
    default: /* 'h' too */
      return bench_usage(opt, usage);
    }
  }
  if ((rc = bench_no_operands(argc, argv, optind, usage)) != 0)
    return rc;
  if (bench_check_bins(&bins) != 0)
    return 1;
  bench_machine_line(machine, sizeof machine);
  snprintf(command, sizeof command, "bench_local%s", z == &quick_sizes ? " --quick" : "");
  fprintf(stderr, "bench: %s\n", machine);

  if ((rc = run(&bins, z, &r)) != 0) {
    fprintf(stderr, "bench: stopped: %s\n",
            bench_interrupted ? "interrupted" : cairn_strerror(rc));
    return 1;
  }
  print_report(stdout, &r, z, machine, command);
  if (out != NULL) {
    if ((f = fopen(out, "w")) == NULL) {
      perror(out);
      return 1;
    }
    print_report(f, &r, z, machine, command);
    if (fclose(f) != 0) {
      perror(out);
      return 1;
    }
  }
  return 0;
}
