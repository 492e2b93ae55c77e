/*
 * bench_compare.c: cairn's side of the side-by-side benchmark
 * (docs/BENCHMARKS.md, "Side by side"). bench/run runs it in turn with the
 * PouchDB peer (bench/peer) and the machine's limits (bench_limits), and
 * makes the table; this program measures cairn once and prints one JSON
 * object per measurement on stdout.
 *
 * Real cairnd processes on loopback, durable commits on both sides:
 *   full_push  a classroom holding N evidence entries (written while its
 *              daemon was stopped) starts; until the central's receipt
 *              covers its head. The daemon's start is inside the time.
 *   one_entry  one new entry on a classroom that is not connected: from
 *              `sync now` (a new TCP connection, the Noise IK handshake, the
 *              version-vector exchange) until the central's receipt covers
 *              it. The central is restarted before each try so that the
 *              classroom has no live link; it is ready, and has committed
 *              one write, before timing starts.
 *   noop       the same with nothing new: until both sides have exchanged
 *              version vectors and see nothing pending.
 *   live_entry one new entry on a classroom whose link to the central stays
 *              connected: from the evidence put (its local durable commit
 *              and acknowledgement inside the time) until the central's
 *              receipt covering it is back at the classroom (the central's
 *              durable commit and its signed receipt inside the time). Also
 *              the put alone, the rest (acknowledgement to receipt), and
 *              one raw LMDB durable commit on the same disk, the floor
 *              under each of the two commits.
 *   storm      K classrooms, each holding M entries written offline, start
 *              at once: until the central holds all K x M. The classrooms'
 *              CPU and peak RSS are their whole lives' (from wait4), start
 *              and stop included.
 * Each measurement also reports CPU seconds and peak RSS on both sides:
 * the central ("server") and the classroom(s) ("client"; for the storm the
 * sum over the K daemons of their CPU and of their peaks).
 *
 * Exit status: 0 when every measurement ran, 1 when one could not (the
 * reason is printed), 2 for a usage error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "bench_nodes.h"
#include "cairn.h"
#include "record.h"

static const char usage[] =
    "usage: bench_compare [--quick] [--entries N] [--tries T] [--live-tries L]\n"
    "                     [--storm-nodes K] [--storm-entries M] [--cairn PATH]\n"
    "                     [--cairnd PATH]\n"
    "\n"
    "Measures cairn's side of the side-by-side benchmark once (real cairnd\n"
    "processes on loopback) and prints one JSON object per measurement on\n"
    "stdout; progress goes to stderr. bench/run runs it alternately with the\n"
    "PouchDB peer and the machine's limits and writes the table.\n"
    "\n"
    "  --quick            small sizes (5,000 entries, 5 tries, 10 live, 20 x 50 storm)\n"
    "  --entries N        entries in the full push (default 100000)\n"
    "  --tries T          timed one-entry and no-op syncs (default 20)\n"
    "  --live-tries L     timed one-entry syncs on a live link (default 50)\n"
    "  --storm-nodes K    classrooms in the reconnect storm (default 200)\n"
    "  --storm-entries M  offline entries per storm classroom (default 500)\n"
    "  --cairn PATH       the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH      the daemon (default: this build's daemon/cairnd)\n";

#define MAX_STORM_NODES 500
/* A `sync now` while the central is down schedules the next attempt at
 * least 750 ms later (1 s backoff, -25% jitter); a try whose central took
 * longer than this to come back is redone, so that the classroom never
 * reconnects on its own before the timed `sync now`. */
#define RESTART_GUARD_MS 600.0
#define MAX_REDO 5
#define FULL_TIMEOUT_S 900
#define STORM_TIMEOUT_S 900

typedef struct sizes {
  size_t entries, tries, live_tries, storm_nodes, storm_entries;
} sizes;

/* CPU seconds and peak RSS (KiB) of the two sides over one measurement. */
typedef struct usage_t {
  double server_cpu, client_cpu;
  long server_peak, client_peak;
} usage_t;

static void print_usage_fields(const usage_t *u) {
  printf("\"server_cpu_s\":%.3f,\"server_peak_kib\":%ld,\"client_cpu_s\":%.3f,"
         "\"client_peak_kib\":%ld,\"settings\":\"batches of up to 4000 entries / 2 MiB, "
         "4 unacknowledged, durable commit per batch\"}\n",
         u->server_cpu, u->server_peak, u->client_cpu, u->client_peak);
  fflush(stdout);
}

/* Before a timed try: resets both daemons' peaks and notes their CPU
 * seconds in cpu0[2] (central, classroom). */
static void try_begin(const bench_pair *p, double cpu0[2]) {
  bench_proc_reset_peak(p->central.pid);
  bench_proc_reset_peak(p->room.pid);
  cpu0[0] = bench_proc_cpu_s(p->central.pid);
  cpu0[1] = bench_proc_cpu_s(p->room.pid);
}

/* After it: adds the CPU seconds spent since try_begin to u, and raises
 * u's peaks to the daemons' peaks. */
static void try_end(const bench_pair *p, const double cpu0[2], usage_t *u) {
  long sp = bench_proc_kib(p->central.pid, "VmHWM"), cp = bench_proc_kib(p->room.pid, "VmHWM");

  u->server_cpu += bench_proc_cpu_s(p->central.pid) - cpu0[0];
  u->client_cpu += bench_proc_cpu_s(p->room.pid) - cpu0[1];
  u->server_peak = sp > u->server_peak ? sp : u->server_peak;
  u->client_peak = cp > u->client_peak ? cp : u->client_peak;
}

/* ---- full push ---- */

static int full_push(const bench_bins *bins, const sizes *z, bench_pair *p) {
  cairn_client *c = NULL;
  uint64_t head = 0, before, t0, t1;
  double cpu0;
  usage_t u;
  int rc;

  if ((rc = bench_pair_start(bins, p)) != 0 || (rc = bench_connect(&p->room, &c)) != 0)
    return rc;
  before = bench_id_seq(p->mid);
  rc = bench_wait_receipt(c, before, 1000, 60); /* student and milestone: not timed */
  cairn_client_close(c);
  c = NULL;
  if (rc == 0 && (rc = bench_daemon_stop(&p->room)) == 0) {
    fprintf(stderr, "bench: full push: writing %zu entries into the stopped classroom\n",
            z->entries);
    rc = bench_fill_store(p->room.data, p->mid, z->entries, NULL, &head);
  }
  if (rc != 0)
    return rc;
  fprintf(stderr, "bench: full push: starting the classroom\n");
  bench_proc_reset_peak(p->central.pid);
  cpu0 = bench_proc_cpu_s(p->central.pid);
  t0 = bench_now_ns();
  if ((rc = bench_cairnd_start(&p->room, bins)) == 0 && (rc = bench_connect(&p->room, &c)) == 0)
    rc = bench_wait_receipt(c, head, 1000, FULL_TIMEOUT_S);
  t1 = bench_now_ns();
  cairn_client_close(c);
  if (rc != 0)
    return rc;
  u.server_cpu = bench_proc_cpu_s(p->central.pid) - cpu0;
  u.server_peak = bench_proc_kib(p->central.pid, "VmHWM");
  u.client_cpu = bench_proc_cpu_s(p->room.pid);
  u.client_peak = bench_proc_kib(p->room.pid, "VmHWM");
  fprintf(stderr, "bench: full push: %llu entries in %.2f s\n",
          (unsigned long long)(head - before), (double)(t1 - t0) / 1e9);
  printf("{\"system\":\"cairn\",\"measure\":\"full_push\",\"entries\":%llu,\"median_s\":%.4f,"
         "\"rate\":%.1f,",
         (unsigned long long)(head - before), (double)(t1 - t0) / 1e9,
         (double)(head - before) / ((double)(t1 - t0) / 1e9));
  print_usage_fields(&u);
  return 0;
}

/* ---- one entry and no-op, each on a fresh connection ---- */

static int call_simple(cairn_client *c, const char *op) {
  char req[64];
  cairn_reply *r = NULL;
  size_t n = strlen(op);
  int rc;

  req[0] = (char)0x81, req[1] = (char)0xa2, req[2] = 'o', req[3] = 'p';
  req[4] = (char)(0xa0 | n);
  memcpy(req + 5, op, n);
  rc = cairn_client_call(c, req, 5 + n, 0, &r);
  cairn_reply_free(r);
  return rc;
}

/* Stops the central, adds one entry on the classroom when with_entry
 * (*seq: its seq), lets one `sync now` fail, and restarts the central;
 * redoes the restart while it took longer than RESTART_GUARD_MS. */
static int disconnect(const bench_bins *bins, bench_pair *p, cairn_client *c, int with_entry,
                      uint64_t *seq) {
  char id[72] = "";
  int rc = 0, redo;

  *seq = 0;
  for (redo = 0; redo < MAX_REDO && rc == 0; redo++) {
    uint64_t t_fail;
    if ((rc = bench_daemon_stop(&p->central)) != 0)
      return rc;
    if (with_entry && *seq == 0) {
      if ((rc = bench_call_put(c, &p->put, id, sizeof id)) != 0)
        return rc;
      *seq = bench_id_seq(id);
    }
    /* the refused connect schedules the next attempt >= 750 ms from now */
    if ((rc = call_simple(c, "sync_now")) != 0)
      return rc;
    bench_sleep_us(2000);
    t_fail = bench_now_ns();
    /* A long-running central has its thread pool: libuv starts it at the
     * first job, so one write (a token) warms the restarted central. */
    if ((rc = bench_cairnd_start(&p->central, bins)) != 0 ||
        (rc = bench_cli(bins, p->central.data, NULL, 0, "enroll", "--campus", "c",
                        "--classroom", "r", NULL)) != 0)
      return rc;
    if (bench_ms_between(t_fail, bench_now_ns()) < RESTART_GUARD_MS)
      return 0;
    fprintf(stderr, "\nbench: the central took over %.0f ms to restart: redoing the try\n",
            RESTART_GUARD_MS);
  }
  return rc != 0 ? rc : CAIRN_EIO;
}

/* The timed part: `sync now`, then polls the classroom every 50 us until
 * the receipt covers seq (seq > 0) or the link is idle (seq == 0). */
static int timed_sync(cairn_client *c, uint64_t seq, double *ms) {
  uint64_t t0 = bench_now_ns(), deadline = t0 + 30000000000u, got = 0;
  int idle = 0, rc = call_simple(c, "sync_now");

  while (rc == 0 && (seq > 0 ? got < seq : !idle)) {
    if (bench_interrupted || bench_now_ns() > deadline) {
      fprintf(stderr, "bench: the sync did not finish within 30 s\n");
      return CAIRN_EIO;
    }
    bench_sleep_us(50);
    rc = bench_upstream(c, &got, &idle);
  }
  *ms = bench_ms_between(t0, bench_now_ns());
  return rc;
}

static int fresh_syncs(const bench_bins *bins, const sizes *z, bench_pair *p, int with_entry) {
  const char *name = with_entry ? "one_entry" : "noop";
  double *v = calloc(z->tries, sizeof *v);
  cairn_client *c = NULL;
  bench_stats st;
  usage_t u = {0, 0, 0, 0};
  size_t i;
  int rc = v == NULL ? CAIRN_ENOMEM : bench_connect(&p->room, &c);

  for (i = 0; i < z->tries && rc == 0; i++) {
    uint64_t seq;
    double cpu0[2];
    fprintf(stderr, "\rbench: %s: try %zu/%zu", name, i + 1, z->tries);
    if ((rc = disconnect(bins, p, c, with_entry, &seq)) != 0)
      break;
    try_begin(p, cpu0);
    if ((rc = timed_sync(c, seq, &v[i])) != 0)
      break;
    try_end(p, cpu0, &u);
  }
  fprintf(stderr, "\n");
  cairn_client_close(c);
  if (rc == 0) {
    st = bench_summarize(v, z->tries);
    /* CPU per sync: the clock tick (10 ms) is coarse, so the total over
     * the tries is divided by their number */
    u.server_cpu /= (double)z->tries;
    u.client_cpu /= (double)z->tries;
    printf("{\"system\":\"cairn\",\"measure\":\"%s\",\"tries\":%zu,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"cpu_per\":\"sync\",",
           name, z->tries, st.p50, st.p99);
    print_usage_fields(&u);
  }
  free(v);
  return rc;
}

/* ---- one entry on a live link ---- */

/* Pause between live tries, so that each entry goes alone onto an idle link
 * (a teacher's writes are seconds apart) rather than into the previous
 * entry's batch. */
#define LIVE_GAP_US 20000

/* The classroom's link is connected and idle (the no-op syncs left it so):
 * each try puts one evidence entry and polls the classroom every 50 us
 * until the central's receipt covers it. */
static int live_syncs(const sizes *z, bench_pair *p) {
  double *v = calloc(3 * z->live_tries, sizeof *v), *put, *rest;
  cairn_client *c = NULL;
  bench_stats st, sp, sr;
  usage_t u = {0, 0, 0, 0};
  uint64_t got = 0;
  size_t i;
  int idle = 0, rc = v == NULL ? CAIRN_ENOMEM : bench_connect(&p->room, &c);

  if (rc == 0 && (rc = bench_upstream(c, &got, &idle)) == 0 && !idle) {
    fprintf(stderr, "bench: live_entry: the classroom's link is not connected and idle\n");
    rc = CAIRN_EIO;
  }
  put = v + z->live_tries;
  rest = put + z->live_tries;
  for (i = 0; i < z->live_tries && rc == 0; i++) {
    char id[72];
    uint64_t t0, t1, seq, deadline;
    double cpu0[2];
    fprintf(stderr, "\rbench: live_entry: try %zu/%zu", i + 1, z->live_tries);
    bench_sleep_us(LIVE_GAP_US);
    try_begin(p, cpu0);
    t0 = bench_now_ns();
    if ((rc = bench_call_put(c, &p->put, id, sizeof id)) != 0)
      break;
    t1 = bench_now_ns();
    seq = bench_id_seq(id);
    deadline = t1 + 30000000000u;
    while ((rc = bench_upstream(c, &got, NULL)) == 0 && got < seq) {
      if (bench_interrupted || bench_now_ns() > deadline) {
        fprintf(stderr, "\nbench: live_entry: no receipt within 30 s\n");
        rc = CAIRN_EIO;
        break;
      }
      bench_sleep_us(50);
    }
    if (rc != 0)
      break;
    v[i] = bench_ms_between(t0, bench_now_ns());
    put[i] = bench_ms_between(t0, t1);
    rest[i] = v[i] - put[i];
    try_end(p, cpu0, &u);
  }
  fprintf(stderr, "\n");
  cairn_client_close(c);
  /* the floor under both commits: one raw LMDB durable commit, same disk */
  bench_sizes lz = {1, 200, 0, 0};
  bench_stats commit = {0, 0, 0};
  if (rc == 0)
    rc = bench_lmdb_commit_latency(&lz, &commit);
  if (rc == 0) {
    st = bench_summarize(v, z->live_tries);
    sp = bench_summarize(put, z->live_tries);
    sr = bench_summarize(rest, z->live_tries);
    u.server_cpu /= (double)z->live_tries;
    u.client_cpu /= (double)z->live_tries;
    printf("{\"system\":\"cairn\",\"measure\":\"live_entry\",\"tries\":%zu,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"put_p50_ms\":%.3f,\"put_p99_ms\":%.3f,\"ack_to_receipt_p50_ms\":%.3f,"
           "\"ack_to_receipt_p99_ms\":%.3f,\"lmdb_commit_p50_ms\":%.3f,\"cpu_per\":\"sync\",",
           z->live_tries, st.p50, st.p99, sp.p50, sp.p99, sr.p50, sr.p99, commit.p50);
    print_usage_fields(&u);
  }
  free(v);
  return rc;
}

/* ---- reconnect storm ---- */

/* Counts the central's downstream peers that are connected, have sent
 * their version vector, and have nothing the central lacks. */
static int storm_done(cairn_client *c, size_t *done) {
  static const char req[] = "\x81\xa2op\xabsync_status";
  const msgpack_object *peers;
  cairn_reply *r;
  int rc = cairn_client_call(c, req, sizeof req - 1, 0, &r);

  *done = 0;
  if (rc != 0) {
    fprintf(stderr, "bench: the central's sync_status: %s\n", cairn_strerror(rc));
    return rc;
  }
  if ((peers = cairn_reply_get(r, "peers")) != NULL && peers->type == MSGPACK_OBJECT_ARRAY)
    for (uint32_t i = 0; i < peers->via.array.size; i++) {
      const msgpack_object *pr = &peers->via.array.ptr[i];
      const msgpack_object *conn = cairn_record_map_get(pr, "connected");
      const msgpack_object *in = cairn_record_map_get(pr, "pending_in");
      *done += conn != NULL && conn->type == MSGPACK_OBJECT_BOOLEAN && conn->via.boolean &&
               in != NULL && in->type == MSGPACK_OBJECT_POSITIVE_INTEGER && in->via.u64 == 0;
    }
  cairn_reply_free(r);
  return 0;
}

/* Stops every running daemon of rooms[0..n) (SIGTERM to all, then waits);
 * adds their CPU seconds and peak RSS over their lives to u (may be NULL). */
static int stop_all(bench_daemon *rooms, size_t n, usage_t *u) {
  struct rusage ru;
  int rc = 0;

  for (size_t i = 0; i < n; i++)
    if (rooms[i].pid > 0)
      kill(rooms[i].pid, SIGTERM);
  for (size_t i = 0; i < n; i++) {
    memset(&ru, 0, sizeof ru);
    if (bench_daemon_reap(&rooms[i], &ru) != 0)
      rc = CAIRN_EIO;
    if (u != NULL) {
      u->client_cpu += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
      u->client_peak += ru.ru_maxrss;
    }
  }
  return rc;
}

static int storm_setup(const bench_bins *bins, const sizes *z, bench_daemon *central,
                       bench_daemon *rooms, const char *dir) {
  msgpack_sbuffer put;
  char mids[MAX_STORM_NODES][72], name[32];
  uint64_t head;
  size_t i;
  int rc = 0;

  msgpack_sbuffer_init(&put);
  fprintf(stderr, "bench: storm: enrolling %zu classrooms\n", z->storm_nodes);
  for (i = 0; i < z->storm_nodes && rc == 0; i++) {
    snprintf(name, sizeof name, "room%zu", i);
    if ((rc = bench_node_dir(&rooms[i], dir, name)) == 0)
      rc = bench_room_join(bins, central, &rooms[i], name, &put, mids[i], sizeof mids[i]);
    if (isatty(STDERR_FILENO))
      fprintf(stderr, "\rbench: storm: %zu/%zu joined", i + 1, z->storm_nodes);
  }
  fprintf(stderr, "\n");
  /* the student and milestone of every classroom reach the central first */
  for (i = 0; i < z->storm_nodes && rc == 0; i++) {
    cairn_client *c = NULL;
    if ((rc = bench_connect(&rooms[i], &c)) == 0)
      rc = bench_wait_receipt(c, bench_id_seq(mids[i]), 1000, 60);
    cairn_client_close(c);
  }
  if (rc == 0)
    rc = stop_all(rooms, z->storm_nodes, NULL);
  fprintf(stderr, "bench: storm: writing %zu entries offline into each classroom\n",
          z->storm_entries);
  for (i = 0; i < z->storm_nodes && rc == 0; i++)
    rc = bench_fill_store(rooms[i].data, mids[i], z->storm_entries, NULL, &head);
  msgpack_sbuffer_destroy(&put);
  return rc;
}

static int storm(const bench_bins *bins, const sizes *z) {
  bench_daemon central, *rooms = calloc(z->storm_nodes, sizeof *rooms);
  char dir[PATH_MAX] = "", listen[64];
  cairn_client *c = NULL;
  uint64_t t0, t1, deadline;
  size_t i, done = 0, last = 0;
  double cpu0;
  usage_t u = {0, 0, 0, 0};
  int port, rc = rooms == NULL ? CAIRN_ENOMEM : 0;

  memset(&central, 0, sizeof central);
  if (rc == 0 && (rc = bench_tmpdir(dir)) == 0 && (rc = bench_free_port(&port)) == 0 &&
      (rc = bench_node_dir(&central, dir, "central")) == 0) {
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    if ((rc = bench_cli(bins, central.data, NULL, 0, "init", "--role", "central", "--listen",
                        listen, NULL)) == 0 &&
        (rc = bench_cairnd_start(&central, bins)) == 0)
      rc = storm_setup(bins, z, &central, rooms, dir);
  }
  if (rc == 0 && (rc = bench_connect(&central, &c)) == 0) {
    fprintf(stderr, "bench: storm: starting %zu classrooms at once\n", z->storm_nodes);
    bench_proc_reset_peak(central.pid);
    cpu0 = bench_proc_cpu_s(central.pid);
    t0 = bench_now_ns();
    deadline = t0 + (uint64_t)STORM_TIMEOUT_S * 1000000000u;
    for (i = 0; i < z->storm_nodes && rc == 0; i++)
      rc = bench_cairnd_spawn(&rooms[i], bins);
    while (rc == 0 && (rc = storm_done(c, &done)) == 0 && done < z->storm_nodes) {
      if (bench_interrupted || bench_now_ns() > deadline) {
        fprintf(stderr, "bench: storm: %zu of %zu classrooms done\n", done, z->storm_nodes);
        rc = CAIRN_EIO;
        break;
      }
      if (done != last && isatty(STDERR_FILENO))
        fprintf(stderr, "\rbench: storm: %zu/%zu classrooms done", done, z->storm_nodes);
      last = done;
      bench_sleep_us(2000);
    }
    t1 = bench_now_ns();
    if (rc == 0) {
      u.server_cpu = bench_proc_cpu_s(central.pid) - cpu0;
      u.server_peak = bench_proc_kib(central.pid, "VmHWM");
      /* the classrooms' own accounting, to the microsecond: /proc's clock
       * ticks (10 ms) are too coarse for 200 short lives */
      rc = stop_all(rooms, z->storm_nodes, &u);
      fprintf(stderr, "\rbench: storm: %zu x %zu entries in %.2f s\n", z->storm_nodes,
              z->storm_entries, (double)(t1 - t0) / 1e9);
      printf("{\"system\":\"cairn\",\"measure\":\"storm\",\"nodes\":%zu,\"entries\":%zu,"
             "\"median_s\":%.4f,\"rate\":%.1f,\"client_sum\":true,",
             z->storm_nodes, z->storm_nodes * z->storm_entries, (double)(t1 - t0) / 1e9,
             (double)(z->storm_nodes * z->storm_entries) / ((double)(t1 - t0) / 1e9));
      print_usage_fields(&u);
    }
  }
  cairn_client_close(c);
  if (rc != 0)
    bench_print_log_tail(&central);
  if (rooms != NULL)
    stop_all(rooms, z->storm_nodes, NULL);
  bench_daemon_stop(&central);
  if (dir[0] != '\0')
    bench_tmp_remove(dir);
  free(rooms);
  return rc;
}

/* ---- main ---- */

static int run(const bench_bins *bins, const sizes *z) {
  bench_pair p;
  int rc;

  memset(&p, 0, sizeof p);
  msgpack_sbuffer_init(&p.put);
  if ((rc = full_push(bins, z, &p)) == 0 && (rc = fresh_syncs(bins, z, &p, 1)) == 0 &&
      (rc = fresh_syncs(bins, z, &p, 0)) == 0)
    rc = live_syncs(z, &p);
  if (rc != 0) {
    bench_print_log_tail(&p.central);
    bench_print_log_tail(&p.room);
  }
  bench_pair_stop(&p);
  msgpack_sbuffer_destroy(&p.put);
  return rc != 0 ? rc : storm(bins, z);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"entries", required_argument, NULL, 'n'},
                                            {"tries", required_argument, NULL, 't'},
                                            {"live-tries", required_argument, NULL, 'l'},
                                            {"storm-nodes", required_argument, NULL, 'k'},
                                            {"storm-entries", required_argument, NULL, 'm'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  sizes z = {100000, 20, 50, 200, 500};
  int opt, rc = 0;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
    switch (opt) {
    case 'q':
      z = (sizes){5000, 5, 10, 20, 50};
      break;
    case 'n':
      rc = bench_parse_count("entries", optarg, 100000000, &z.entries);
      break;
    case 't':
      rc = bench_parse_count("tries", optarg, 100000, &z.tries);
      break;
    case 'l':
      rc = bench_parse_count("live-tries", optarg, 100000, &z.live_tries);
      break;
    case 'k':
      rc = bench_parse_count("storm-nodes", optarg, MAX_STORM_NODES, &z.storm_nodes);
      break;
    case 'm':
      rc = bench_parse_count("storm-entries", optarg, 10000000, &z.storm_entries);
      break;
    case 'c':
      bins.cairn = optarg;
      break;
    case 'd':
      bins.cairnd = optarg;
      break;
    default:
      return bench_usage(opt, usage);
    }
  }
  if (rc != 0 || (rc = bench_no_operands(argc, argv, optind, usage)) != 0)
    return rc;
  if (bench_check_bins(&bins) != 0)
    return 1;
  bench_raise_fd_limit();
  if ((rc = run(&bins, &z)) != 0) {
    fprintf(stderr, "bench: stopped: %s\n",
            bench_interrupted ? "interrupted" : cairn_strerror(rc));
    return 1;
  }
  return 0;
}
