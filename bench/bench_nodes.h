/*
 * bench_nodes.h: sync nodes for the benchmarks that run a central and its
 * classrooms as real cairnd processes on loopback (bench_sync, and
 * bench_compare). Internal to the benchmarks.
 *
 * Functions return 0 or a negative CAIRN_E* code and print one line naming
 * what failed to stderr, so callers only pass the code up.
 */
#ifndef CAIRN_BENCH_NODES_H
#define CAIRN_BENCH_NODES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "bench.h"

struct cairn_client;

void bench_sleep_us(long us);

/* Milliseconds from monotonic time a to b (bench_now_ns values). */
double bench_ms_between(uint64_t a, uint64_t b);

/* Runs `cairn --data DATA args...` (NULL-terminated, at most 12) to
 * completion; its stdout goes to out (size bytes) unless out is NULL. */
int bench_cli(const bench_bins *bins, const char *data, char *out, size_t size, ...);

/* A TCP port on 127.0.0.1 free right now. */
int bench_free_port(int *port);

/* Opens a connection to the daemon of d, retrying for up to 10 s while it
 * is starting. On success the caller owns *c (cairn_client_close). */
int bench_connect(const bench_daemon *d, struct cairn_client **c);

/* The upstream peer of one sync_status request on c: the seq of the
 * central's latest receipt (0: none yet) and whether the link has
 * exchanged HELLOs with nothing pending either way (*idle, may be NULL). */
int bench_upstream(struct cairn_client *c, uint64_t *receipt, int *idle);

/* Polls the receipt every poll_us until it covers seq, for up to
 * timeout_s seconds. */
int bench_wait_receipt(struct cairn_client *c, uint64_t seq, long poll_us, int timeout_s);

/* Fills root, data (root/data) and log (root/cairnd.log) of d for a new
 * node under a fresh temporary directory (parent NULL), or under parent
 * as parent/NAME (created). d->pid is set to 0. */
int bench_node_dir(bench_daemon *d, const char *parent, const char *name);

/* A central and a classroom enrolled to it, both running. */
typedef struct bench_pair {
  bench_daemon central, room;
  int port;
  char mid[72];        /* the milestone the evidence is for */
  msgpack_sbuffer put; /* the evidence put request */
} bench_pair;

/* Makes the central (listening on a free port) and the classroom (campus
 * "c", classroom "r", enrolled with a token and joined), starts both and
 * creates the student and milestone on the classroom. */
int bench_pair_start(const bench_bins *bins, bench_pair *p);

/* Stops both daemons and removes both directories. */
void bench_pair_stop(bench_pair *p);

/* Enrolls a classroom on the running central: `cairn init` in room->data
 * (which must not exist yet), starts it, joins with a fresh token for
 * campus "c" and the given classroom, and creates its student (id
 * "bench-CLASSROOM", or BENCH_STUDENT_ID for classroom "r") and milestone
 * (the milestone's id copied into mid, midlen bytes; put reset to its
 * evidence put request). Leaves it running. */
int bench_room_join(const bench_bins *bins, const bench_daemon *central, bench_daemon *room,
                    const char *classroom, msgpack_sbuffer *put, char *mid, size_t midlen);

/* Writes n evidence entries for milestone mid into the store of the
 * stopped daemon whose data directory is data, with the store API in
 * batches of BENCH_BATCH. Sets *head to its own log's head and, when log
 * is not NULL, appends its whole own log to log. */
int bench_fill_store(const char *data, const char *mid, size_t n, msgpack_sbuffer *log,
                     uint64_t *head);

/* A "Name:   123 kB" line of /proc/PID/status, in KiB; -1 when absent. */
long bench_proc_kib(pid_t pid, const char *name);

/* CPU time (user + system) pid has used so far, in seconds; -1 if gone. */
double bench_proc_cpu_s(pid_t pid);

/* Resets pid's peak RSS (VmHWM) to its current RSS (clear_refs 5). */
void bench_proc_reset_peak(pid_t pid);

/* Raises the open-files soft limit to the hard limit (before any daemon
 * starts, so that they inherit it) and returns the limit now in force. */
long bench_raise_fd_limit(void);

/* Prints the end (the last 2 KiB) of a daemon's log to stderr. */
void bench_print_log_tail(const bench_daemon *d);

#endif
