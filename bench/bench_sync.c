/*
 * bench_sync.c: the sync benchmark (docs/BENCHMARKS.md, "Sync").
 * Real cairnd processes on loopback: a central and one
 * classroom enrolled with `cairn enroll` / `cairn join`.
 *
 * Measures, with medians over repetitions where a phase is repeated:
 *   1. the sync of N evidence entries from the classroom to the central
 *      (Noise transport, verified, durably committed: until the central's
 *      receipt covers the classroom's head), against cairn_store_apply_entries
 *      of the same entries into a fresh store and raw LMDB synced inserts of
 *      the same bytes, measured in the same run;
 *   2. one new entry after the classroom's daemon restarted (reconnect and
 *      handshake), from the add's acknowledgement to the central's receipt;
 *   3. one new entry on a live link, likewise;
 *   4. many idle TCP connections to the central's sync port, each holding
 *      half of a first handshake message: the central's memory per connection.
 * It reports figures and whether each target was met; it never fails
 * because of a figure. Exit status: 0 when every phase ran, 1 when one
 * could not (the reason is printed), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "bench_nodes.h"
#include "cairn.h"
#include "keyfile.h"
#include "record.h"
#include "store.h"

#define TARGET_SYNC_PER_S 250000.0
#define TARGET_RECONNECT_MS 5.0
#define TARGET_LIVE_MS 1.0
#define TARGET_CONN_KIB 16.0

/* Large enough that the baseline store never grows while timed. */
#define BASELINE_MAP_SIZE ((uint64_t)16 << 30)
/* Longest wait for the central to hold the whole log, in seconds. */
#define SYNC_TIMEOUT_S 900
/* Live-link puts sent (and waited for) before timing starts. */
#define LIVE_WARMUP 10
/* A Noise IK first message here is 128 bytes (e, s and a 32-byte payload,
 * each encrypted part with its 16-byte tag); each idle connection sends the
 * record's 2-byte length and half of it. */
#define HS1_LEN 128
#define HS1_SENT 64

static const char usage[] =
    "usage: bench_sync [--quick] [--cairn PATH] [--cairnd PATH] [--out FILE]\n"
    "\n"
    "Runs the sync benchmark (a central and one classroom, real cairnd\n"
    "processes on loopback) and prints a Markdown table on stdout; progress\n"
    "goes to stderr. Temporary directories go under $TMPDIR (default /tmp).\n"
    "\n"
    "  --quick         small sizes: finishes in well under a minute\n"
    "  --cairn PATH    the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH   the daemon (default: this build's daemon/cairnd)\n"
    "  --out FILE      also write the Markdown table to FILE\n";

typedef struct sync_sizes {
  size_t reps;            /* repetitions of phase 1 */
  size_t entries;         /* evidence entries synced in phase 1 */
  size_t reconnect_tries; /* phase 2 */
  size_t live_tries;      /* phase 3 */
  size_t conns;           /* phase 4 */
} sync_sizes;

static const sync_sizes full_sizes = {3, 1000000, 20, 200, 10000};
static const sync_sizes quick_sizes = {3, 20000, 10, 50, 2000};

typedef struct results {
  double sync_rate, apply_rate, raw_rate; /* phase 1, medians, entries/s */
  double sync_seconds;                    /* phase 1, median */
  bench_stats reconnect_ack, reconnect_sock; /* phase 2, ms */
  bench_stats live_ack, live_put;            /* phase 3, ms */
  size_t conns_open;                         /* phase 4 */
  long fd_limit;
  double conn_open_s, rss_kib, anon_kib;
} results;


/* The baselines on the same entries: cairn_store_apply_entries into a
 * fresh store (its own key), then raw LMDB synced inserts; entries/s. */
static int baselines(const msgpack_sbuffer *log, uint64_t head, double *apply, double *raw) {
  const cairn_store_opts opts = {.map_size = BASELINE_MAP_SIZE};
  bench_entry_ref *entries = malloc((size_t)head * sizeof *entries);
  size_t *chunk_end = malloc((size_t)head * sizeof *chunk_end), n = 0, nchunks = 0;
  uint8_t pk[CAIRN_KEY_BYTES], sk[CAIRN_SECRET_BYTES];
  char dir[PATH_MAX] = "";
  cairn_store *s = NULL;
  double secs[2] = {0, 0};
  int rc = entries == NULL || chunk_end == NULL ? CAIRN_ENOMEM : 0;

  crypto_sign_keypair(pk, sk);
  if (rc == 0)
    rc = bench_split_log(log, entries, (size_t)head, chunk_end, &n, &nchunks);
  if (rc == 0 && (rc = bench_tmpdir(dir)) == 0 &&
      (rc = cairn_store_open(&s, dir, sk, &opts)) != 0)
    fprintf(stderr, "bench: store in %s: %s\n", dir, cairn_strerror(rc));
  if (rc == 0) {
    fprintf(stderr, "bench: baseline: apply_entries of the same %zu entries\n", n);
    rc = bench_apply_chunks(s, entries, chunk_end, nchunks, &secs[0]);
  }
  cairn_store_close(s);
  if (dir[0] != '\0')
    bench_tmp_remove(dir);
  if (rc == 0) {
    fprintf(stderr, "bench: baseline: raw LMDB insert of the same %zu entries\n", n);
    rc = bench_lmdb_insert(entries, chunk_end, nchunks, &secs[1]);
  }
  if (rc == 0) {
    *apply = (double)n / secs[0];
    *raw = (double)n / secs[1];
  }
  sodium_memzero(sk, sizeof sk);
  free(entries);
  free(chunk_end);
  return rc;
}

/* Phase 1 once, on a fresh pair: fills the classroom while its daemon is
 * stopped, then times from its start until the central's receipt covers
 * its head. Leaves the pair running. */
static int sync_once(const bench_bins *bins, const sync_sizes *z, bench_pair *p, double rates[3],
                     double *seconds) {
  msgpack_sbuffer log;
  cairn_client *c = NULL;
  uint64_t head = 0, before = 0, t0, t1;
  int rc;

  msgpack_sbuffer_init(&log);
  if ((rc = bench_pair_start(bins, p)) == 0 && (rc = bench_connect(&p->room, &c)) == 0) {
    /* the student and milestone reach the central first: not timed */
    before = bench_id_seq(p->mid);
    rc = bench_wait_receipt(c, before, 1000, 60);
    cairn_client_close(c);
    c = NULL;
  }
  if (rc == 0 && (rc = bench_daemon_stop(&p->room)) == 0) {
    fprintf(stderr, "bench: sync: writing %zu evidence entries into the stopped classroom\n",
            z->entries);
    rc = bench_fill_store(p->room.data, p->mid, z->entries, &log, &head);
  }
  if (rc == 0) {
    fprintf(stderr, "bench: sync: starting the classroom; waiting for the central's receipt "
                    "of seq %llu\n",
            (unsigned long long)head);
    t0 = bench_now_ns();
    if ((rc = bench_cairnd_start(&p->room, bins)) == 0 &&
        (rc = bench_connect(&p->room, &c)) == 0)
      rc = bench_wait_receipt(c, head, 2000, SYNC_TIMEOUT_S);
    t1 = bench_now_ns();
    cairn_client_close(c);
    *seconds = (double)(t1 - t0) / 1e9;
    rates[0] = (double)(head - before) / *seconds;
    fprintf(stderr, "bench: sync: %llu entries in %.2f s\n",
            (unsigned long long)(head - before), *seconds);
  }
  if (rc == 0)
    rc = baselines(&log, head, &rates[1], &rates[2]);
  msgpack_sbuffer_destroy(&log);
  return rc;
}

/* Phase 1 over the repetitions; the last pair is left running in *p. */
static int phase_sync(const bench_bins *bins, const sync_sizes *z, bench_pair *p, results *r) {
  double *v = malloc(4 * z->reps * sizeof *v), rates[3], secs = 0;
  size_t i, j;
  int rc = v == NULL ? CAIRN_ENOMEM : 0;

  for (i = 0; i < z->reps && rc == 0; i++) {
    fprintf(stderr, "bench: sync: repetition %zu/%zu\n", i + 1, z->reps);
    if (i > 0)
      bench_pair_stop(p);
    rc = sync_once(bins, z, p, rates, &secs);
    for (j = 0; j < 3 && rc == 0; j++)
      v[j * z->reps + i] = rates[j];
    v[3 * z->reps + i] = secs;
  }
  if (rc == 0) {
    r->sync_rate = bench_median(v, z->reps);
    r->apply_rate = bench_median(v + z->reps, z->reps);
    r->raw_rate = bench_median(v + 2 * z->reps, z->reps);
    r->sync_seconds = bench_median(v + 3 * z->reps, z->reps);
  }
  free(v);
  return rc;
}

/* Sends the evidence put; *seq is the new entry's seq, *acked the time the
 * reply arrived. */
static int add_one(cairn_client *c, const bench_pair *p, uint64_t *seq, uint64_t *acked) {
  char id[72] = "";
  int rc = bench_call_put(c, &p->put, id, sizeof id);

  *acked = bench_now_ns();
  *seq = bench_id_seq(id);
  if (rc == 0 && *seq == 0) {
    fprintf(stderr, "bench: put: id %s has no seq\n", id);
    rc = CAIRN_EMALFORMED;
  }
  return rc;
}

/* Phase 2: restarts the classroom's daemon (SIGTERM, then start) and times
 * one new entry from the moment its socket appears, and from the add's
 * acknowledgement, to the central's receipt; polls every 1 ms. */
static int phase_reconnect(const bench_bins *bins, const sync_sizes *z, bench_pair *p,
                           results *r) {
  char *argv[] = {(char *)bins->cairnd, "--data", p->room.data, "--log-level", "warning", NULL};
  double *v = malloc(2 * z->reconnect_tries * sizeof *v);
  char sock[PATH_MAX];
  size_t i;
  int rc = v == NULL ? CAIRN_ENOMEM : 0;

  snprintf(sock, sizeof sock, "%.*s/cairnd.sock", PATH_MAX - 16, p->room.data);
  for (i = 0; i < z->reconnect_tries && rc == 0; i++) {
    cairn_client *c = NULL;
    uint64_t t_sock, t_ack, seq, deadline;
    struct stat st;

    fprintf(stderr, "\rbench: reconnect: try %zu/%zu", i + 1, z->reconnect_tries);
    if ((rc = bench_daemon_stop(&p->room)) != 0 ||
        (rc = bench_spawn(argv, 0, p->room.log, &p->room.pid)) != 0)
      break;
    bench_track_daemon(p->room.pid);
    deadline = bench_now_ns() + 10000000000u;
    while (stat(sock, &st) != 0 && bench_now_ns() < deadline && !bench_interrupted)
      bench_sleep_us(50);
    t_sock = bench_now_ns();
    if ((rc = bench_connect(&p->room, &c)) == 0 && (rc = add_one(c, p, &seq, &t_ack)) == 0 &&
        (rc = bench_wait_receipt(c, seq, 1000, 30)) == 0) {
      uint64_t t_done = bench_now_ns();
      v[i] = bench_ms_between(t_ack, t_done);
      v[z->reconnect_tries + i] = bench_ms_between(t_sock, t_done);
    }
    cairn_client_close(c);
  }
  fprintf(stderr, "\n");
  if (rc == 0) {
    r->reconnect_ack = bench_summarize(v, z->reconnect_tries);
    r->reconnect_sock = bench_summarize(v + z->reconnect_tries, z->reconnect_tries);
  }
  free(v);
  return rc;
}

/* Phase 3: one connection; each try adds one entry and polls the receipt
 * (every 20 us) until it covers it. */
static int phase_live(const sync_sizes *z, bench_pair *p, results *r) {
  double *v = malloc(2 * z->live_tries * sizeof *v);
  cairn_client *c = NULL;
  size_t i;
  int rc = v == NULL ? CAIRN_ENOMEM : bench_connect(&p->room, &c);

  fprintf(stderr, "bench: live link: %d warm-up adds, then %zu timed\n", LIVE_WARMUP,
          z->live_tries);
  for (i = 0; i < LIVE_WARMUP + z->live_tries && rc == 0; i++) {
    uint64_t t_send = bench_now_ns(), t_ack, seq;
    if ((rc = add_one(c, p, &seq, &t_ack)) == 0 && (rc = bench_wait_receipt(c, seq, 20, 30)) == 0 &&
        i >= LIVE_WARMUP) {
      uint64_t t_done = bench_now_ns();
      v[i - LIVE_WARMUP] = bench_ms_between(t_ack, t_done);
      v[z->live_tries + i - LIVE_WARMUP] = bench_ms_between(t_send, t_done);
    }
  }
  cairn_client_close(c);
  if (rc == 0) {
    r->live_ack = bench_summarize(v, z->live_tries);
    r->live_put = bench_summarize(v + z->live_tries, z->live_tries);
  }
  free(v);
  return rc;
}

/* ---- phase 4: connections ---- */

/* The number of open files of pid. */
static long proc_fds(pid_t pid) {
  char path[64];
  struct dirent *e;
  long n = 0;
  DIR *d;

  snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
  if ((d = opendir(path)) == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Opens z->conns TCP connections to the central's sync port, each sending
 * the 2-byte record length of a first handshake message and half of its
 * bytes (random), and reads the central's memory before and after it holds
 * them (its handshake timeout, 10 s, has not passed yet). */
static int phase_conns(const sync_sizes *z, const bench_pair *p, results *r) {
  uint8_t msg[2 + HS1_SENT];
  struct sockaddr_in a;
  pid_t central = p->central.pid;
  long rss0 = bench_proc_kib(central, "VmRSS"), anon0 = bench_proc_kib(central, "RssAnon");
  long fds0 = proc_fds(central), fds = fds0;
  int *fd = malloc(z->conns * sizeof *fd);
  uint64_t t0 = bench_now_ns(), deadline;
  size_t i, n = 0;

  if (fd == NULL)
    return CAIRN_ENOMEM;
  msg[0] = 0, msg[1] = HS1_LEN;
  randombytes_buf(msg + 2, HS1_SENT);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)p->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fprintf(stderr, "bench: connections: opening %zu to the central (open-files limit %ld)\n",
          z->conns, r->fd_limit);
  for (i = 0; i < z->conns && !bench_interrupted; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(s, msg, sizeof msg) != (ssize_t)sizeof msg) {
      fprintf(stderr, "bench: connection %zu: %s\n", i + 1, strerror(errno));
      if (s >= 0)
        close(s);
      break;
    }
    fd[n++] = s;
  }
  /* wait until the central has accepted them all (up to 5 s) */
  deadline = bench_now_ns() + 5000000000u;
  while ((fds = proc_fds(central)) >= 0 && fds < fds0 + (long)n && bench_now_ns() < deadline)
    bench_sleep_us(10000);
  r->conn_open_s = (double)(bench_now_ns() - t0) / 1e9;
  bench_sleep_us(200000);
  r->conns_open = fds > fds0 ? (size_t)(fds - fds0) : 0;
  if (r->conns_open > 0) {
    r->rss_kib = (double)(bench_proc_kib(central, "VmRSS") - rss0) / (double)r->conns_open;
    r->anon_kib = (double)(bench_proc_kib(central, "RssAnon") - anon0) / (double)r->conns_open;
  }
  fprintf(stderr, "bench: connections: the central holds %zu of %zu opened in %.2f s\n",
          r->conns_open, n, r->conn_open_s);
  for (i = 0; i < n; i++)
    close(fd[i]);
  free(fd);
  return r->conns_open > 0 ? 0 : CAIRN_EIO;
}

/* ---- the report ---- */

static const char *met(int yes) {
  return yes ? "yes" : "**no**";
}

static void print_report(FILE *f, const results *r, const sync_sizes *z, const char *machine,
                         const char *command) {
  char date[64], a[32], b[32], c[32];
  time_t now = time(NULL);

  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  fprintf(f, "Run %s with `%s`.  \nMachine: %s.  \n", date, command, machine);
  fprintf(f,
          "Sizes: %s evidence entries synced per repetition, %zu repetitions (the sync and its "
          "baselines are medians over them); %zu reconnects; %zu live adds; %s connections "
          "(open-files limit %ld).\n\n",
          bench_rate(a, (double)z->entries), z->reps, z->reconnect_tries, z->live_tries,
          bench_rate(b, (double)z->conns), r->fd_limit);
  fprintf(f, "| measure | cairn | baseline (same run) | ratio | target | met |\n");
  fprintf(f, "|---|---:|---|---:|---|---|\n");
  fprintf(f,
          "| sync to the central, entries/s (%.2f s for %s) | %s | apply_entries, no network: "
          "%s | %.2f | ≥ 250,000 | %s |\n",
          r->sync_seconds, bench_rate(a, (double)z->entries), bench_rate(b, r->sync_rate),
          bench_rate(c, r->apply_rate), r->sync_rate / r->apply_rate,
          met(r->sync_rate >= TARGET_SYNC_PER_S));
  fprintf(f, "| | | raw LMDB synced batch insert: %s | %.2f | | |\n", bench_rate(a, r->raw_rate),
          r->sync_rate / r->raw_rate);
  fprintf(f, "| one entry after reconnect, add's ack to receipt, p50 (ms) | %.3f | | | ≤ 5 ms "
             "| %s |\n",
          r->reconnect_ack.p50, met(r->reconnect_ack.p50 <= TARGET_RECONNECT_MS));
  fprintf(f, "| one entry after reconnect, socket up to receipt, p50 (ms) | %.3f | | | | |\n",
          r->reconnect_sock.p50);
  fprintf(f, "| one entry on a live link, add's ack to receipt, p50 (ms) | %.3f | | | ≤ 1 ms | "
             "%s |\n",
          r->live_ack.p50, met(r->live_ack.p50 <= TARGET_LIVE_MS));
  fprintf(f, "| one entry on a live link, add's ack to receipt, p99 (ms) | %.3f | | | ≤ 1 ms | "
             "%s |\n",
          r->live_ack.p99, met(r->live_ack.p99 <= TARGET_LIVE_MS));
  fprintf(f, "| one entry on a live link, add sent to receipt, p50 (ms) | %.3f | | | | |\n",
          r->live_put.p50);
  fprintf(f,
          "| %s idle connections (half a handshake each), central VmRSS per connection (KiB) "
          "| %.1f | | | < 16 KiB | %s |\n",
          bench_rate(a, (double)r->conns_open), r->rss_kib, met(r->rss_kib < TARGET_CONN_KIB));
  fprintf(f, "| the same, central RssAnon per connection (KiB) | %.1f | | | | |\n",
          r->anon_kib);
}

static int run(const bench_bins *bins, const sync_sizes *z, results *r) {
  bench_pair p;
  int rc;

  memset(&p, 0, sizeof p);
  msgpack_sbuffer_init(&p.put);
  if ((rc = phase_sync(bins, z, &p, r)) == 0 && (rc = phase_reconnect(bins, z, &p, r)) == 0 &&
      (rc = phase_live(z, &p, r)) == 0)
    rc = phase_conns(z, &p, r);
  if (rc != 0) {
    bench_print_log_tail(&p.central);
    bench_print_log_tail(&p.room);
  }
  bench_pair_stop(&p);
  msgpack_sbuffer_destroy(&p.put);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  const sync_sizes *z = &full_sizes;
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
  memset(&r, 0, sizeof r);
  r.fd_limit = bench_raise_fd_limit();
  bench_machine_line(machine, sizeof machine);
  snprintf(command, sizeof command, "bench_sync%s", z == &quick_sizes ? " --quick" : "");
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
