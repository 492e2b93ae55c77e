/*
 * roster_import.h: a roster (roster.h) turned into cairn records: the puts
 * that bring a node's campuses, classrooms and students in line with a
 * district's export, and what each changes (docs/ROSTER.md, "What becomes
 * what").
 *
 * Pure: it reads the model and the node's current records, as the local
 * protocol's `export` gives them, and writes msgpack; no socket, no store.
 * `cairn roster import` (client/cli_roster.c) reads the export, feeds the
 * current records, and sends the puts as one all-or-nothing `put_many`.
 *
 * Only what differs is written: a record equal to the roster's gives no
 * put, and a put carries only the fields that changed, so importing the
 * same export twice writes nothing the second time.
 */
#ifndef CAIRN_ROSTER_IMPORT_H
#define CAIRN_ROSTER_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "roster.h"

/* What a put does to its record. A record gets one: a new record is
 * ADDED; a student withdrawn now is WITHDRAWN; a student whose classrooms
 * change is MOVED; any other change is UPDATED. */
typedef enum cairn_roster_change {
  CAIRN_ROSTER_ADDED,
  CAIRN_ROSTER_UPDATED,
  CAIRN_ROSTER_MOVED,
  CAIRN_ROSTER_WITHDRAWN,
  CAIRN_ROSTER_CHANGES /* how many */
} cairn_roster_change;

/* Returns "added", "updated", "moved", "withdrawn"; "" for another value. */
const char *cairn_roster_change_name(cairn_roster_change c);

/* One put of the plan. */
typedef struct cairn_roster_put_info {
  int type;                   /* CAIRN_REC_CAMPUS, CAIRN_REC_CLASSROOM or CAIRN_REC_STUDENT */
  const char *id;             /* borrowed from the model */
  cairn_roster_change change;
} cairn_roster_put_info;

typedef struct cairn_roster_plan {
  msgpack_sbuffer puts;       /* n_puts msgpack maps, each the arguments of a `put`, one
                                 after another (pack an array header of n_puts before them) */
  size_t n_puts;
  cairn_roster_put_info *info; /* info[i] says what puts' i-th map does */
  size_t count[CAIRN_ROSTER_CHANGES];
  struct cairn__roster_current *current; /* internal */
} cairn_roster_plan;

/* Returns a new, empty plan (free with cairn_roster_plan_free), or NULL
 * when out of memory. */
cairn_roster_plan *cairn_roster_plan_new(void);

/* Frees the plan. NULL is a harmless no-op. */
void cairn_roster_plan_free(cairn_roster_plan *p);

/* Tells the plan of one record the node holds: an `export` record map
 * ({type, id, fields, ...}; borrowed for the call, copied). Records of
 * other types than campus, classroom and student are ignored. Call it for
 * every such record before cairn_roster_plan_build. Returns 0,
 * CAIRN_EMALFORMED (not a record map) or CAIRN_ENOMEM. */
int cairn_roster_plan_current(cairn_roster_plan *p, const msgpack_object *record);

/* Builds the puts that bring the current records in line with model r as
 * of day (a day number, protocol/text.h): campuses first, then
 * classrooms, then students, so each put's references come before it.
 *
 *   - a campus per org of type school, a classroom per class (at its
 *     school), a student per user who is a student, each with the
 *     sourcedId as its id;
 *   - a student's classrooms are the classes they are enrolled in on day;
 *     in a delta export, the enrollments present add or remove theirs and
 *     others stay;
 *   - a student whose every enrollment has ended by day (and who has no
 *     classroom left) is withdrawn on the latest endDate; their
 *     classrooms stay as they were, so the classroom learns it; a
 *     withdrawn student the roster enrolls again is re-enrolled;
 *   - in a delta export, a tobedeleted school or class is marked deleted,
 *     a tobedeleted student withdrawn on day, and a tobedeleted
 *     enrollment that names its user, class and role removes the class;
 *   - students the export does not name are left alone.
 *
 * Returns 0 with the plan filled (call it once), or a negative code with
 * err naming the file and line: CAIRN_EINVAL (a sourcedId that cannot be
 * a cairn id, a value longer than cairn keeps, a student in more classes
 * than a student may have), CAIRN_ENOMEM. On an error the plan holds no
 * puts. */
int cairn_roster_plan_build(cairn_roster_plan *p, const cairn_roster *r, int32_t day,
                            cairn_roster_error *err);

#endif
