/*
 * bench.h: the pieces shared by the files of bench_local, the local
 * benchmark (docs/BENCHMARKS.md, "Local"). Internal to the
 * benchmark: timing, statistics, temporary directories, the request
 * bodies, and a real cairnd in a child process.
 *
 * Functions return 0 or a negative CAIRN_E* code and print one line naming
 * what failed to stderr, so callers only pass the code up.
 */
#ifndef CAIRN_BENCH_H
#define CAIRN_BENCH_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "error.h"

/* Sizes of one run; --quick picks small ones. */
typedef struct bench_sizes {
  size_t reps;            /* repetitions; every figure is a median over them */
  size_t latency_n;       /* sequential puts (and raw commits) per repetition */
  size_t puts_per_client; /* sequential puts per connection, throughput phase */
  size_t bulk_k;          /* evidence entries written, then applied, per repetition */
} bench_sizes;

/* Write batches and apply chunks hold this many entries (docs: "1000"). */
#define BENCH_BATCH 1000

/* Set by SIGINT/SIGTERM; long loops stop and report CAIRN_EINTERNAL so that
 * the exit handler still stops the daemon and removes the directories. */
extern volatile sig_atomic_t bench_interrupted;

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/* p50, p99 (nearest rank) and mean of a sample. */
typedef struct bench_stats {
  double p50, p99, mean;
} bench_stats;

/* Sorts v[0..n) (n > 0) in place and summarises it. */
bench_stats bench_summarize(double *v, size_t n);

/* Sorts v[0..n) (n > 0) in place and returns its median. */
double bench_median(double *v, size_t n);

/* One line naming the kernel, CPU, core count and the temp dir's disk,
 * for a report. */
void bench_machine_line(char *out, size_t size);

/* Formats a rate with thousands separators into buf (32 bytes): 52,300. */
const char *bench_rate(char *buf, double v);

/* Command lines. bench_parse_count parses arg, the value of option name,
 * as a decimal count from 1 to max into *out; returns 0, or 2 (the usage
 * error exit status) after one line on stderr naming the option and the
 * range. bench_usage ends a getopt_long switch: for opt 'h' prints usage on
 * stdout and returns 0, for anything else prints it on stderr and returns
 * 2. bench_no_operands returns 0 when argv[first..argc) is empty, else 2
 * after naming the first operand and printing usage on stderr. */
int bench_parse_count(const char *name, const char *arg, size_t max, size_t *out);
int bench_usage(int opt, const char *usage);
int bench_no_operands(int argc, char **argv, int first, const char *usage);

/* Creates a fresh directory under $TMPDIR (default /tmp) into out (at
 * least PATH_MAX bytes) and registers it for removal at exit. */
int bench_tmpdir(char *out);

/* Removes a directory made by bench_tmpdir, with everything in it, now
 * rather than at exit. */
void bench_tmp_remove(const char *dir);

/* The directory bench_tmpdir creates in (borrowed, static). */
const char *bench_tmp_base(void);

/* Installs the exit handler (stops the tracked daemon with SIGTERM and
 * waits for it, then removes every registered directory) and the
 * SIGINT/SIGTERM handlers that set bench_interrupted. Call once, first
 * thing in main. */
void bench_install_cleanup(void);

/* Adds a daemon the exit handler must stop (up to 4 at once), and removes
 * one that was stopped. */
void bench_track_daemon(pid_t pid);
void bench_untrack_daemon(pid_t pid);

/* Packs the `set` maps of the benchmark's records (docs/FORMAT.md s.3):
 * a student in campus "c" and the given classroom, a milestone on scale
 * 0-4 for that student, and one evidence entry for milestone mid with a
 * note of about 200 bytes. The benchmarks' student is BENCH_STUDENT_ID in
 * classroom "r". */
void bench_pack_student_set(msgpack_packer *pk, const char *classroom);
void bench_pack_milestone_set(msgpack_packer *pk, const char *student);
void bench_pack_evidence_set(msgpack_packer *pk, const char *mid);
#define BENCH_STUDENT_ID "bench-1"

/* Packs the head of a put request: a map of "op": "put", "type": type,
 * "id": id (left out when id is NULL) and the key "set", whose value the
 * caller packs next. */
void bench_pack_put_head(msgpack_packer *pk, const char *type, const char *id);

/* A cairnd on a fresh data directory made by `cairn init`. */
typedef struct bench_daemon {
  char root[PATH_MAX]; /* the temporary directory */
  char data[PATH_MAX]; /* root/data, the data directory */
  char log[PATH_MAX];  /* where cairnd's stderr goes; "": inherited */
  pid_t pid;           /* 0 when not running */
} bench_daemon;

/* Paths of the binaries the daemon phases run. */
typedef struct bench_bins {
  const char *cairn;
  const char *cairnd;
} bench_bins;

/* Checks that both binaries are executable and initialises libsodium;
 * prints why not. Call once, after the options. */
int bench_check_bins(const bench_bins *bins);

/* Starts argv[0] (stdout on /dev/null when quiet; stderr appended to
 * err_path unless it is NULL) and sets *pid. */
int bench_spawn(char *const argv[], int quiet, const char *err_path, pid_t *pid);

/* Runs argv[0] to completion with its stdout captured into out (size
 * bytes, NUL-terminated, truncated); fails unless it exits with status 0. */
int bench_run_capture(char *const argv[], char *out, size_t size);

/* Starts cairnd on the existing data directory d->data, sets d->pid, and
 * waits (up to 10 s) until its socket accepts connections. */
int bench_cairnd_start(bench_daemon *d, const bench_bins *bins);

/* The two halves of bench_cairnd_start, for starting many daemons at once:
 * spawn (sets d->pid; the exit handler stops it) and wait until ready. */
int bench_cairnd_spawn(bench_daemon *d, const bench_bins *bins);
int bench_cairnd_wait(bench_daemon *d);

/* Runs `cairn init` on a new temporary directory, starts cairnd on it and
 * waits (up to 10 s) until its socket accepts connections. The exit
 * handler stops it if bench_daemon_stop is never reached. */
int bench_daemon_start(bench_daemon *d, const bench_bins *bins);

/* Stops the daemon with SIGTERM and waits for it. Returns 0 when it exited
 * cleanly. The data directory is kept (see bench_daemon_commits). */
int bench_daemon_stop(bench_daemon *d);

/* Waits for a daemon already sent SIGTERM (a second SIGTERM during its
 * shutdown would kill it) as bench_daemon_stop does; ru (may be NULL)
 * receives its resource use over its whole life. */
struct rusage;
int bench_daemon_reap(bench_daemon *d, struct rusage *ru);

/* Reads the log of the stopped daemon's device from seq after+1 on and
 * sets *entries and *commits (signed entries: the writer signs exactly the
 * last entry of every batch it commits, so each is one group commit). */
int bench_daemon_commits(const bench_daemon *d, uint64_t after, uint64_t *entries,
                         uint64_t *commits);

/* Removes the daemon's directory (it must be stopped). */
void bench_daemon_remove(bench_daemon *d);

/* Sequence number of a generated id "3fa2c1d9-42" (42), or 0. */
uint64_t bench_id_seq(const char *id);

/* The daemon phases' requests, through a libcairn connection c.
 * bench_call_put sends the put in req and, when id_out is not NULL, copies
 * the reply's id. bench_setup_records creates the student (campus "c",
 * the given classroom) and its milestone, copies the milestone id into
 * mid, and leaves in req the evidence put for it. */
struct cairn_client;
int bench_call_put(struct cairn_client *c, const msgpack_sbuffer *req, char *id_out, size_t idlen);
int bench_setup_records(struct cairn_client *c, msgpack_sbuffer *req, const char *classroom,
                        const char *student, char *mid, size_t midlen);

/* Phase 1, daemon side: runs reps x latency_n sequential evidence puts on
 * one connection to a fresh cairnd; *out is the median over repetitions of
 * each repetition's p50, p99 and mean round trip, in ms. */
int bench_client_latency(const bench_bins *bins, const bench_sizes *z, bench_stats *out);

/* Phase 2: clients threads, one connection each, puts_per_client evidence
 * puts each with window of them in flight (1: strictly sequential; more:
 * pipelined with cairn_client_send/recv), on a fresh cairnd per repetition. */
typedef struct bench_throughput {
  size_t clients;
  size_t window;
  double rate;       /* median entries/s over repetitions */
  double per_commit; /* median puts per group commit, counted from the log */
} bench_throughput;
int bench_client_throughput(const bench_bins *bins, const bench_sizes *z, size_t clients,
                            size_t window, bench_throughput *out);

/* Phase 1, baseline: reps x latency_n raw LMDB commits of one 300-byte
 * put each (default flags: fsync on commit); *out as above, in ms. */
int bench_lmdb_commit_latency(const bench_sizes *z, bench_stats *out);

/* Phase 3, baseline: inserts each entry (value: its bytes, key: its author
 * and seq) into a fresh raw LMDB environment, one synced transaction per
 * chunk; chunk_end[i] is one past the last entry of chunk i. Sets *seconds
 * to the time spent. */
typedef struct bench_entry_ref {
  const uint8_t *bytes;
  size_t len;
  uint8_t key[40]; /* author(32) || seq (u64 BE), as the store's log */
} bench_entry_ref;
int bench_lmdb_insert(const bench_entry_ref *entries, const size_t *chunk_end, size_t nchunks,
                      double *seconds);

/* Splits the concatenated entries of log into entries[0..*nentries) (at
 * most max) and into *nchunks chunks of at least BENCH_BATCH entries that
 * each end at a signed entry; chunk_end[i] is one past chunk i's last. */
struct cairn_store;
int bench_split_log(const msgpack_sbuffer *log, bench_entry_ref *entries, size_t max,
                    size_t *chunk_end, size_t *nentries, size_t *nchunks);

/* Writes the student, its milestone and k evidence entries (batches of
 * BENCH_BATCH, the last entry of each signed) into a fresh store with its
 * own key, appends the store's whole log (k + 2 entries, evidence last) to
 * log (caller's; it keeps ownership) and sets *count to the entries read.
 * *seconds covers the evidence batches only. The store is removed. */
int bench_store_make_log(size_t k, msgpack_sbuffer *log, size_t *count, double *seconds);

/* A store in a fresh temporary directory with its own key, holding a
 * student, its milestone and k evidence entries, written as
 * bench_store_make_log writes them. Returns the node (free with
 * bench_evidence_node_free, which also removes the directory; NULL is a
 * harmless no-op) and *s, its store; NULL with the reason printed. */
struct bench_node *bench_evidence_node(size_t k, struct cairn_store **s);
void bench_evidence_node_free(struct bench_node *n);

/* Applies those chunks to store b with cairn_store_apply_entries, one call
 * per chunk; *seconds covers the calls only. */
int bench_apply_chunks(struct cairn_store *b, const bench_entry_ref *entries,
                       const size_t *chunk_end, size_t nchunks, double *seconds);

/* Phase 3: the store API without a daemon. */
typedef struct bench_bulk {
  double write_rate;   /* cairn_store_write_batch puts/s (batches of 1000) */
  double apply_rate;   /* cairn_store_apply_entries entries/s (chunks of ~1000) */
  double raw_rate;     /* raw LMDB synced batch insert of the same bytes, entries/s */
  size_t entries;      /* entries applied per repetition */
} bench_bulk;
int bench_store_bulk(const bench_sizes *z, bench_bulk *out);

#endif
