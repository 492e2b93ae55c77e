/*
 * mirror_run.h: cairnd's PostgreSQL mirror (mirror/mirror.h) on its own
 * thread. libpq blocks, so neither the loop thread nor the writer's may
 * wait on it: the writer's commit hook wakes this thread, which applies
 * what the store holds beyond the mirror's positions, batch after batch;
 * once it has caught up it writes the derived status (at most every 5 s,
 * and again when the day changes), then sleeps. While PostgreSQL cannot be reached it tries again after
 * 1, 2, 4, 8, then every 10 seconds; cairnd goes on serving and syncing.
 */
#ifndef CAIRN_MIRROR_RUN_H
#define CAIRN_MIRROR_RUN_H

#include <msgpack.h>

#include "store.h"

typedef struct cairn_mirror_run cairn_mirror_run;

/* Starts the mirror thread for conninfo (copied) over store (borrowed:
 * must outlive cairn_mirror_run_stop). Returns 0 and *out, CAIRN_ENOMEM, or
 * CAIRN_EINTERNAL when the thread cannot start. */
int cairn_mirror_run_start(cairn_mirror_run **out, cairn_store *store, const char *conninfo);

/* Wakes the thread: the store committed new entries. Any thread; NULL is a
 * harmless no-op. */
void cairn_mirror_run_wake(cairn_mirror_run *r);

/* Asks the thread to empty the mirror's tables and refill them from the
 * store; returns at once (`mirror status` shows the progress). */
void cairn_mirror_run_rebuild(cairn_mirror_run *r);

/* Packs the status map {configured, connected, behind, applied,
 * rebuilding, last_error (str or nil), last_error_at and last_applied_at
 * (unix seconds or nil), status_as_of (the day of the derived status in
 * PostgreSQL, "YYYY-MM-DD", or nil before it is first written),
 * status_milestones (its rows), status_current (true when it covers every
 * entry applied, as of today)}. r NULL: {configured: false}. Any
 * thread. */
void cairn_mirror_run_status(cairn_mirror_run *r, msgpack_packer *pk);

/* The mirror's counts for /metrics: whether it is connected, the entries
 * the store holds that it has not applied, and those it applied since
 * cairnd started. Any thread. Returns 1, or 0 when r is NULL (no mirror;
 * nothing is written). */
int cairn_mirror_run_counts(cairn_mirror_run *r, int *connected, uint64_t *behind,
                            uint64_t *applied);

/* Stops the thread (an open transaction is rolled back by PostgreSQL when
 * the connection closes), joins it and frees r. NULL is a harmless no-op. */
void cairn_mirror_run_stop(cairn_mirror_run *r);

#endif
