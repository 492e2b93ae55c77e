/*
 * mirror.h: keeps a PostgreSQL database in step with the store, for the
 * district's reporting tools (docs/REPORTING.md: the schema, its views and
 * what happens while PostgreSQL is away).
 *
 * Each entry of the store's log becomes one row of cairn_write, applied in
 * each author's seq order; the table cairn_mirror_position holds, per
 * author, the last seq applied. A step reads the positions and writes the
 * rows and the new positions in ONE PostgreSQL transaction, with the
 * positions' table locked, so a batch delivered twice (a crash between the
 * commit and its acknowledgement, two mirrors at once) finds its entries
 * already applied and changes nothing: no row lost, none doubled.
 *
 * libpq is blocking: a mirror is used from one thread at a time (cairnd:
 * its own mirror thread). The store is only read (any thread may read it).
 * Text in rows is the stored text, sent through COPY's escaping; the
 * connection string may name a passfile= (or PGPASSFILE): a password never
 * travels on a command line.
 */
#ifndef CAIRN_MIRROR_H
#define CAIRN_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct cairn_mirror cairn_mirror;

/* The most entries one step applies in its transaction. */
#define CAIRN_MIRROR_BATCH 20000

/* Checks that conninfo is a libpq connection string or URI that holds no
 * password (the password belongs in a passfile, which libpq reads).
 * Returns 0, or CAIRN_EINVAL with why naming the option `postgres`. */
int cairn_mirror_conninfo_check(const char *conninfo, char *why, size_t whylen);

/* Makes a mirror for the database conninfo (a libpq connection string or
 * postgresql:// URI; copied). Does not connect: the first step does.
 * Returns 0 and *out (caller frees with cairn_mirror_free), CAIRN_EINVAL
 * when cairn_mirror_conninfo_check refuses it, CAIRN_ENOMEM. */
int cairn_mirror_new(cairn_mirror **out, const char *conninfo);

/* Closes the connection and frees m. NULL is a harmless no-op. */
void cairn_mirror_free(cairn_mirror *m);

/* Connects when not connected (creating the schema when missing) and
 * applies up to max entries (0: CAIRN_MIRROR_BATCH) that the store holds
 * beyond the mirror's positions, in one transaction. Sets *applied (the
 * entries whose positions advanced; redacted entries advance without a
 * row) and *behind (entries the store holds beyond the positions after
 * this step). Returns 0, or CAIRN_EIO with why (one line: PostgreSQL's or
 * libpq's message) when PostgreSQL could not be reached or refused the
 * batch: nothing of the batch is applied and the connection is dropped, to
 * be made again by the next step; CAIRN_ENOMEM; a store read error. */
int cairn_mirror_step(cairn_mirror *m, cairn_store *s, size_t max, size_t *applied,
                      uint64_t *behind, char *why, size_t whylen);

/* Writes the derived status of every milestone the store holds as of day
 * as_of (cairn_store_status: level, light, trend, review due, the if/then
 * rules that fire; the same numbers as `cairn status` and `cairn report`)
 * into cairn_milestone_status, the phases of report supports into
 * cairn_support_phase, and the day into cairn_status_as_of, replacing
 * what they held, in one transaction (docs/REPORTING.md). Connects when
 * not connected. Sets *milestones (the rows written). Returns 0, CAIRN_EIO
 * with why (PostgreSQL), or a store read error / CAIRN_ENOMEM (why says
 * so); nothing is changed in PostgreSQL on error. */
int cairn_mirror_refresh_status(cairn_mirror *m, cairn_store *s, int32_t as_of,
                                size_t *milestones, char *why, size_t whylen);

/* Empties the mirror's tables, positions and derived status in one
 * transaction (the next steps refill them from the store). Returns 0, or CAIRN_EIO with why. */
int cairn_mirror_reset(cairn_mirror *m, char *why, size_t whylen);

/* The entries the store holds beyond the positions last read from
 * PostgreSQL (all of them before the first successful step). Returns 0 or
 * a store read error. */
int cairn_mirror_behind(const cairn_mirror *m, cairn_store *s, uint64_t *behind);

#endif
