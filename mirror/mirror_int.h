/* mirror_int.h: what the mirror's files share (mirror.c: the connection
 * and the log's rows; mirror_status.c: the derived status and the report
 * views' rows). */
#ifndef CAIRN_MIRROR_INT_H
#define CAIRN_MIRROR_INT_H

#include <libpq-fe.h>
#include <msgpack.h>

#include "entry.h"
#include "mirror.h"
#include "record.h"

/* One author's position: the last seq applied. */
typedef struct cairn__mirror_position {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
} cairn__mirror_position;

struct cairn_mirror {
  char *conninfo;
  PGconn *conn;                 /* NULL while not connected */
  cairn__mirror_position *pos;  /* as last read from PostgreSQL, or written by a step */
  size_t npos, cap;
  msgpack_sbuffer rows;         /* COPY text of one step */
  msgpack_sbuffer sql;          /* the positions' statement of one step */
  msgpack_zone zone;            /* entry bodies of one step */
  /* The student of the milestone last looked up in a step: a device's
   * evidence comes in runs for one milestone. */
  char cached_milestone[CAIRN_ENTRY_ID_MAX + 1], cached_student[65];
  /* The students erased by the step's entries: their rows are deleted in
   * the step's transaction; then the tables are rewritten (VACUUM FULL),
   * again at the next step if that failed. */
  char (*erased)[CAIRN_ENTRY_ID_MAX + 1];
  size_t nerased, erased_cap;
  int vacuum_wanted;
};

/* The schema: CREATE ... IF NOT EXISTS / OR REPLACE statements. */
extern const char cairn__mirror_schema_sql[];

/* Connects (when not connected) and makes the schema. Returns 0 or
 * CAIRN_EIO with why. */
int cairn__mirror_connect(cairn_mirror *m, char *why, size_t whylen);

/* Copies msg into why as one line of printable text ("PostgreSQL: what:
 * msg"), and drops the connection (the next step makes a new one).
 * Returns CAIRN_EIO. */
int cairn__mirror_fail(cairn_mirror *m, const char *what, const char *msg, char *why,
                       size_t whylen);

/* PostgreSQL's one-line message of res (borrowed from res or the
 * connection): its primary message alone, since the rest (a COPY's
 * context) may quote a row, and rows hold names. */
const char *cairn__mirror_res_message(const cairn_mirror *m, const PGresult *res);

/* Runs sql (one or more statements, no result rows wanted). Returns 0 or
 * cairn__mirror_fail()'s code. */
int cairn__mirror_exec(cairn_mirror *m, const char *sql, const char *what, char *why,
                       size_t whylen);

/* Appends s[0..len) to b in COPY's text format (backslash, tab, newline
 * and carriage return escaped). Returns 0 or CAIRN_ENOMEM. */
int cairn__mirror_copy_text(msgpack_sbuffer *b, const char *s, size_t len);

/* Sends what m->rows holds to the COPY in progress and empties it, once it
 * holds at least min bytes. Returns 0 or CAIRN_EIO with why. */
int cairn__mirror_copy_flush(cairn_mirror *m, size_t min, char *why, size_t whylen);

/* Ends the COPY in progress (sending what m->rows holds). Returns 0 or
 * CAIRN_EIO with why. */
int cairn__mirror_copy_end(cairn_mirror *m, char *why, size_t whylen);

#endif
