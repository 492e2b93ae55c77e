/*
 * store.h: the node's LMDB store: every author's signed change log, and the
 * record state derived from it (docs/FORMAT.md sections 1-4).
 *
 * One environment in DATA/store/ with these databases:
 *   log      author(32) || seq(u64 BE)  -> encoded entry bytes
 *   heads    author(32)                 -> msgpack [seq, hash bin32, hlc]
 *   records  type(u8) || id             -> msgpack state: array of writes,
 *                                          sorted by (hlc, author); a write is
 *                                          [hlc, author bin32, seq, set map,
 *                                           base map|nil, why str|nil,
 *                                           scope [campus, classroom]]
 *   children parent_type(u8) || parent_id || 0x00 || type(u8) || id -> ""
 *   meta     "format" -> CAIRN_STORE_FORMAT (one byte; store_upgrade.c
 *            migrates an older one), "self" -> own public key, "central" -> the
 *            central's key (once known), "join" -> what a join learned
 *            (msgpack map: campus, classroom, network, upstream,
 *            upstream_key), "refused" -> u64 BE counter, "compact" -> 1
 *            (an erasure's compaction is to do: cairn_store_compact)
 *   quarantine author(32) || seq(u64 BE) -> reason: stored, never folded
 *   tokens   BLAKE2b-256(secret) -> [role, campus, classroom, expires, used]
 *   receipts author(32)                -> seq(u64 BE) || signature(64)
 *   peers    device key(32)            -> last seen, unix seconds (i64 BE)
 *   held     author(32) || seq(u64 BE) -> hlc (u64 BE): dated beyond this
 *            node's clock bound, kept out of state until ordered (FORMAT.md 1.1)
 *   restamps author(32) || from(u64 BE) -> to(u64 BE) || hlc(u64 BE): an index
 *            of the restamp records (derived, like records and children)
 *   arrivals campus NUL classroom NUL student -> hlc (u64 BE): the student
 *            came into that classroom (a move, a classroom added) by a write
 *            at that hlc: links offer their older history to its devices
 *   histories student -> hlc (u64 BE): this device holds the student's
 *            history up to their arrival at hlc (docs/PROTOCOL.md section 2,
 *            "Moves")
 *   reach    author(32) || campus NUL classroom -> "": the author wrote an
 *            entry naming that classroom (a student of two classrooms)
 *   erased   type(u8) || id -> student id: a record of an erased student
 *            (store_erase.c; docs/FORMAT.md section 3.4)
 * quarantine, held, tokens, receipts, peers, arrivals, histories, reach and
 * erased are local: never replicated.
 *
 * Local writes and entries from other devices go through one function,
 * cairn__store_apply_entry() in store_apply.c: check the chain, append to
 * the log, fold the write into its record (unless the entry is redacted or
 * quarantined).
 * State is therefore always a function of the log and the quarantine.
 *
 * Threads: one writer at a time (cairn_store_write_batch,
 * cairn_store_apply_entries, cairn_store_apply_synced, the token, receipt,
 * peer and central setters, cairn_store_grow): in cairnd, the writer's
 * thread, or the loop thread before the writer has work; readers may run in another
 * thread concurrently (the environment is opened MDB_NOTLS). Never
 * MDB_WRITEMAP: a full disk must be an error, not SIGBUS.
 */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "entry.h"
#include "progress.h"

typedef struct cairn_store cairn_store;

/* A node's scope: campus "" means every campus (the central); classroom ""
 * means the whole campus. */
typedef struct cairn_scope {
  char campus[65];
  char classroom[65];
} cairn_scope;

/* Whether two scopes share any record: their campuses match (or one is
 * every campus) and so do their classrooms (or one is the whole campus). */
int cairn_scope_overlaps(const cairn_scope *a, const cairn_scope *b);

/* How far ahead of a node's clock an entry may be dated before the node
 * stops trusting its date (FORMAT.md section 1, "Time"): five minutes, as
 * Kerberos allows, covers clocks that drift for months without NTP, while
 * anything further ahead is held or re-dated instead of winning. */
#define CAIRN_STORE_CLOCK_TOLERANCE_MS (5 * 60 * 1000)

/* The format of the store this build reads and writes (meta "format";
 * docs/FORMAT.md, "Format versions"). A change to what the store holds, or
 * to the entries it keeps, bumps it and adds a migration step
 * (store_migrations.c) and a fixture (scripts/make-fixture.sh). */
#define CAIRN_STORE_FORMAT 6

typedef struct cairn_store_opts {
  uint64_t map_size;          /* initial LMDB map size in bytes; 0 = 64 MiB */
  int64_t clock_offset_ms;    /* test-only skew added to the wall clock for the HLC */
  int64_t clock_tolerance_ms; /* 0: CAIRN_STORE_CLOCK_TOLERANCE_MS */
  /* Called once when the store's format (from) is older than this
   * build's (to), after the environment opened and before the migration's
   * transaction begins, with no transaction open: cairnd writes its backup
   * here (cairn_store_copy works; nothing else may be called). A nonzero
   * return stops the open, which returns it, and leaves the store as it
   * was. NULL: migrate without it. */
  int (*before_upgrade)(cairn_store *s, unsigned from, unsigned to, void *arg);
  void *upgrade_arg; /* borrowed, passed to before_upgrade */
  /* Called by cairn_store_compact at each stage ("copied": the compacted
   * copy is durable beside the file; "renamed": it replaced the file;
   * "done": reopened, the mark cleared; "sealed" instead of "done" for the
   * compaction that follows the sealing of a store of an older format),
   * also when cairn_store_open finishes one, and by that sealing after
   * each chunk it commits ("sealing"): cairnd logs "done" and "sealed",
   * and a test can kill the process at the others. NULL: none. */
  void (*compact_stage)(const char *stage, void *arg);
  void *compact_arg; /* borrowed, passed to compact_stage */
} cairn_store_opts;

/* Opens (creating if needed) the store in dir/store for the device whose
 * secret key is sk (borrowed; must outlive the store). A store of an older
 * format is migrated to this build's (cairn_store_format_current) in the
 * one write transaction that opens it (after opts->before_upgrade): either
 * all of it commits or the store stays as it was. Returns 0 and *out, owned by the caller
 * (cairn_store_close). Errors: CAIRN_ENOTFOUND when dir does not exist,
 * CAIRN_EPERM; CAIRN_EVERSION for a store of a newer format (written by a
 * newer cairn: nothing is written to it; cairn_store_format says which);
 * CAIRN_ECORRUPT for a store written by something else or another device;
 * CAIRN_ENOKEY when its key store (dir/store/keys, FORMAT.md section 8) is
 * missing beside a store that holds entries, or was made under another
 * device key; CAIRN_EIO; or before_upgrade's code. */
int cairn_store_open(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                     const cairn_store_opts *opts);

/* The format this build reads and writes: CAIRN_STORE_FORMAT, except in a
 * test build that links steps of its own (store_migrations.c). */
unsigned cairn_store_format_current(void);

/* Reads the format of the store in dir/store without writing to it (this
 * process must not have it open). Returns 0 and *format (0: a store that
 * was never written to); CAIRN_ENOTFOUND (and 0) when there is no store in
 * dir; CAIRN_ECORRUPT or another error. */
int cairn_store_format(const char *dir, unsigned *format);

/* Closes the store. NULL is a harmless no-op. */
void cairn_store_close(cairn_store *s);

/* One local write request: a put of one record. */
typedef struct cairn_put {
  /* in (borrowed until cairn_store_write_batch returns) */
  int type;              /* CAIRN_REC_* */
  const char *id;        /* NULL to create a record with a generated id;
                            required for students (given by the user) */
  const uint8_t *set;    /* msgpack map of fields */
  size_t set_len;
  const char *why;       /* reason for an edit, amendment, retraction, or NULL */
  int edit;              /* 0: create (a given student id must be new);
                            1: edit an existing record (id required) */
  int system;            /* 1: a record the store writes itself (restamp records);
                            such a type is refused when this is 0 */
  int force;             /* 1: record new evidence observed more than its
                            milestone's timeframe before the start (a
                            genuine back-entry) */
  const cairn_scope *within; /* the writing device's scope (NULL: anywhere, the
                            central): a put whose entry's scope lies outside
                            it is refused (CAIRN_EPERM), by the rule sync
                            applies to a received entry */
  /* out */
  int result;            /* 0, or why this put was refused */
  char id_out[72];       /* the record id */
  char message[256];     /* one line naming the field when result != 0 */
} cairn_put;

/* Validates each put against the schema and the current state (referenced
 * records exist, values on the milestone's scale, student id new on create,
 * if/then rules readable; new evidence observed no later than tomorrow by
 * this device's clock, nor, unless force, before its milestone's start by
 * more than the milestone's timeframe), then in ONE LMDB transaction appends an entry per
 * accepted put to this device's log, signs the last one, applies them, and
 * commits durably (fsync). A refused put gets its own result and message
 * and writes nothing; the others still commit.
 *
 * Returns 0 when the transaction committed (or there was nothing to write);
 * otherwise nothing at all was written and every put's result is set to the
 * returned code: CAIRN_EMAPFULL (call cairn_store_grow, then retry),
 * CAIRN_ENOSPC (disk full), CAIRN_EIO. Writer thread only. */
int cairn_store_write_batch(cairn_store *s, cairn_put *puts, size_t n);

/* Like cairn_store_write_batch, but all or nothing: when any put is
 * refused nothing at all is written (the transaction is aborted). Returns
 * 0 with *refused the number of puts refused: when it is 0 every put was
 * written and has its id; otherwise each refused put has its result and
 * message, and the others result 0 and an empty id_out. check_only: every
 * put is checked as it would be written (each seeing the ones before it),
 * and nothing is written, whatever the outcome. Other returns as
 * cairn_store_write_batch (then *refused is 0). Writer thread only. */
int cairn_store_write_all(cairn_store *s, cairn_put *puts, size_t n, int check_only,
                          size_t *refused);

/* Doubles the LMDB map size. No transaction of this process may be open,
 * but for those of cairn_store_version_vector, cairn_store_read_log,
 * cairn_store_read_scoped and cairn_store_record_student in another thread
 * (the PostgreSQL mirror's): grow waits for them to end, and they for it.
 * Returns 0 or CAIRN_EIO / CAIRN_ENOMEM. */
int cairn_store_grow(cairn_store *s);

/* Applies entries from any author (the sync path; also the benchmark):
 * buf holds concatenated encoded entries in author/seq order. Each author's
 * run must continue its chain and end with a signed entry whose signature
 * verifies. Already-held entries are skipped (idempotent). All or nothing:
 * on any error nothing is applied, and why names the author and seq.
 * Returns 0 and *applied (new entries); CAIRN_EBADSIG, CAIRN_EBADCHAIN,
 * CAIRN_EGAP, CAIRN_EMALFORMED, CAIRN_EMAPFULL, CAIRN_ENOSPC, CAIRN_EIO. */
int cairn_store_apply_entries(cairn_store *s, const uint8_t *buf, size_t len, size_t *applied,
                              char *why, size_t whylen);

/* ---- Views: typed results ----
 *
 * cairn_store_status and cairn_store_show return typed results: plain
 * structs (defined here) for cairnd to encode, and for any report or page
 * to read without decoding msgpack. Each read runs in its own read
 * transaction. A result owns every string and array reached from it: the
 * caller frees it with its _free function (NULL is a harmless no-op), and
 * nothing in it may be used after that. Text is the stored text as written
 * (valid UTF-8, NUL-terminated): whoever prints it escapes it for where it
 * goes. Days are day numbers; CAIRN_PROGRESS_NO_DAY is "none". */

/* An if/then rule of a milestone whose condition holds. */
typedef struct cairn_store_fired {
  const char *rule;   /* as written */
  const char *action; /* the text after "then" */
} cairn_store_fired;

/* A support change of a milestone: the support in place from day on. */
typedef struct cairn_store_support_change {
  int32_t day;
  const char *support;
} cairn_store_support_change;

/* An evidence entry named by its id and observed day. */
typedef struct cairn_store_evidence_ref {
  const char *id;
  int32_t observed;
} cairn_store_evidence_ref;

/* One milestone's derived status as of a day (store/progress.h says how
 * each number is computed). */
typedef struct cairn_store_milestone_status {
  const char *id, *student;
  const char *type, *statement, *horizon; /* horizon "short" when unset */
  const char *parent;                     /* NULL when none */
  const char *scale;                      /* as written: "0-4", "percent", ... */
  const char *direction;                  /* "up", "down", "at-least", "at-most" */
  const char *rule;                       /* "K of N"; "1 of 1" when unset */
  const char *cadence;                    /* "monthly" when unset */
  cairn_milestone_params params; /* from the record; params.checks points into the result */
  cairn_progress progress;       /* as of the view's day */
  /* Sentences (progress.h), on the milestone's scale. */
  const char *goal;     /* "target 3 or more in 4 of the last 5 points" */
  const char *why;      /* why the light is what it is, or the result */
  const char *trend;    /* "+0.30/week (improving), the aimline needs +0.40/week", or "" */
  const char *last;     /* the last value ("yes", "92%", "2.5"), or "" with no points */
  const char *baseline; /* "1.5", or "pending" ("pending, first point 2" once there is one) */
  /* The support in place: the latest support change dated on or before the
   * view's day (support_since its date), else the milestone's own support
   * (support_since CAIRN_PROGRESS_NO_DAY); NULL when neither. */
  const char *support;
  int32_t support_since;
  /* The latest celebration dated on or before the view's day; NULL none. */
  const char *celebration;
  int32_t celebrated;
  const cairn_store_fired *triggered; /* the if/then rules that fire */
  size_t ntriggered;
  size_t conflicts; /* the milestone's fields in conflict */
  const char *planned_support; /* the milestone's own `support`, or NULL */
  const char *template_id; /* the shared template it was made from, or NULL */
  const char *standard;    /* the standard it aligns to, or NULL */
  /* Its points: the active evidence observed on or before the view's day,
   * at current (amended) values, by observed day (the same day: in the
   * order written). Progress was computed from these (once the milestone
   * has ended, from those on or before its end). */
  const cairn_point *points;
  size_t npoints;
  /* Every support change dated on or before the view's day, by date (the
   * same day: in the order written). */
  const cairn_store_support_change *supports;
  size_t nsupports;
  /* The active evidence observed after the view's future_after, whatever
   * the view's day: dated after tomorrow by this node's clock, so the date
   * is wrong (a device's clock, a typo). Such a point is never one of
   * `points` while the view's day is on or before tomorrow. */
  const cairn_store_evidence_ref *future;
  size_t nfuture;
  /* Its life (FORMAT.md section 3.2): closed with a result (params'
   * closed_result and closed; progress says whether it counts as of the
   * view's day), replaced_by the milestone that took its place (NULL
   * unless replaced), carried_from the one it was carried forward from
   * (NULL), archived (hidden from status unless asked for). */
  const char *replaced_by, *carried_from;
  int archived;
  /* An ordinal scale's labels, lowest first (params.labels points here);
   * the target as it prints ("3", "B", "meeting"). */
  const char *const *levels;
  size_t nlevels;
  const char *target;
} cairn_store_milestone_status;

/* A milestone in a list of students: what picks it (evidence add-many). */
typedef struct cairn_store_milestone_brief {
  const char *id, *statement, *scale;
  const char *const *levels; /* an ordinal scale's labels, lowest first */
  size_t nlevels;
  const char *result; /* NULL while open; "met", "not-met", "replaced" */
  int archived;
  int32_t start, end;
} cairn_store_milestone_brief;

/* A student and the status of each of their milestones. */
typedef struct cairn_store_student_summary {
  const char *id, *name, *grade, *campus; /* "" when unset */
  const char *const *classrooms; /* the set, in the order they were added */
  size_t nclassrooms;
  const char *const *accommodations;
  size_t naccommodations;
  int withdrawn;        /* their records are read-only */
  int32_t withdrawn_on; /* CAIRN_PROGRESS_NO_DAY when not given */
  size_t open;          /* milestones neither closed, archived nor deleted */
  /* status: the milestones shown, ordered by id with the numbers in ids
   * compared as numbers (a device's "3fa2c1d9-2" before its "3fa2c1d9-10").
   * cairn_store_students leaves them out. */
  const cairn_store_milestone_status *milestones;
  size_t nmilestones;
  /* cairn_store_students: every milestone but the deleted, in the same
   * order; status leaves them out. */
  const cairn_store_milestone_brief *briefs;
  size_t nbriefs;
} cairn_store_student_summary;

typedef struct cairn_store_status_view {
  int32_t as_of;
  int32_t future_after; /* tomorrow by this node's clock (cairn_store_today + 1) */
  /* By student id. For the whole node, each student with at least one
   * milestone, once; for one student, that student. */
  const cairn_store_student_summary *students;
  size_t nstudents;
  struct cairn__store_arena *arena; /* private: what the result owns */
} cairn_store_status_view;

/* What a status shows. */
typedef struct cairn_store_status_filter {
  const char *student;   /* one student (NULL: the whole node) */
  int32_t as_of;         /* the day it is as of */
  const char *classroom; /* the whole node: only students in this classroom
                            (NULL: every student) */
  int withdrawn;         /* 1: the whole node shows withdrawn students too */
  int archived;          /* 1: archived milestones too */
} cairn_store_status_filter;

/* The status of every milestone of one student (f->student NULL: of the
 * whole node) as of day f->as_of: only the evidence observed and the
 * reviews, support changes and celebrations dated on or before it count.
 * Deleted milestones and students, and milestones whose student has not
 * arrived, are left out; archived milestones, and (for the whole node)
 * withdrawn students and students outside f->classroom, unless f asks.
 * Returns 0 and *out (caller frees with cairn_store_status_free),
 * CAIRN_ENOTFOUND (no such student), CAIRN_ENOMEM, CAIRN_ECORRUPT,
 * CAIRN_EIO. */
int cairn_store_status_filtered(cairn_store *s, const cairn_store_status_filter *f,
                                cairn_store_status_view **out);

/* cairn_store_status_filtered for one student (NULL: every student of
 * the node), as of as_of, hiding what it hides by default. */
int cairn_store_status(cairn_store *s, const char *student, int32_t as_of,
                       cairn_store_status_view **out);
void cairn_store_status_free(cairn_store_status_view *v);

/* ---- A milestone's page: its record, every point, its lines ---- */

/* One evidence entry of a milestone: a point of its graph. */
typedef struct cairn_store_point {
  const char *evidence; /* the evidence entry's id */
  int32_t day;          /* observed */
  double value;         /* its current value (the amended one, if amended) */
  int amended;          /* 1: an amendment changed its value after it was recorded */
  double original;      /* the value first recorded (== value unless amended) */
  int retracted;        /* 1: withdrawn; not a point of the progress */
  const char *by;       /* who recorded it; "" when unset */
  const char *note;     /* "" when none */
} cairn_store_point;

/* A review, a support change or a celebration of the milestone. */
typedef struct cairn_store_review_item {
  const char *id;
  int32_t day;
  const char *kind;     /* weekly, monthly, quarterly */
  const char *decision; /* continue, adjust-supports, ... */
  const char *showed;   /* what the data showed; "" when none */
  const char *note;     /* "" when none */
} cairn_store_review_item;

typedef struct cairn_store_support_item {
  const char *id;
  int32_t day;
  const char *support; /* the support in place from that day */
  const char *note;    /* "" when none */
} cairn_store_support_item;

typedef struct cairn_store_celebration_item {
  const char *id;
  int32_t day;
  const char *text;
} cairn_store_celebration_item;

/* A milestone with everything its page shows, as of a day. */
typedef struct cairn_store_milestone_detail {
  const cairn_store_milestone_status *status; /* level, light, sentences (as status) */
  const char *level_words;  /* "developing: engaged, not yet meeting the goal" */
  /* The rest of its record ("" or 0 items when unset). */
  int32_t baseline_date;    /* CAIRN_PROGRESS_NO_DAY when unset */
  const char *baseline_how, *method, *source, *alignment, *at_home;
  const char *own_support;  /* the milestone's own `support` field */
  const char *const *if_then;
  size_t nif_then;
  const char *const *agreed_by;
  size_t nagreed_by;
  /* Every evidence entry observed on or before the view's day, retracted
   * ones too (flagged), by observed day, then in the order recorded. */
  const cairn_store_point *points;
  size_t npoints;
  /* The graph's lines (progress.h): the aimline over the timeframe, and
   * the trend line fitted by the trend's own OLS to the same points. */
  cairn_progress_line aimline, trendline;
  /* Dated on or before the view's day, by day, then in the order written. */
  const cairn_store_review_item *reviews;
  size_t nreviews;
  const cairn_store_support_item *support_changes;
  size_t nsupport_changes;
  const cairn_store_celebration_item *celebrations;
  size_t ncelebrations;
} cairn_store_milestone_detail;

typedef struct cairn_store_detail_view {
  int32_t as_of;
  /* The student; its milestones are those of the view (for one
   * milestone, only it), and milestones[i].status is student->milestones[i]. */
  const cairn_store_student_summary *student;
  const cairn_store_milestone_detail *milestones;
  size_t nmilestones;
  struct cairn__store_arena *arena; /* private: what the result owns */
} cairn_store_detail_view;

/* One milestone's page as of day as_of (cairn_store_detail), or
 * every milestone of one student (cairn_store_detail_student), read in one
 * read transaction. As in cairn_store_status, only what is observed or
 * dated on or before as_of counts. Return 0 and *out (caller frees with
 * cairn_store_detail_free; NULL is a harmless no-op), CAIRN_ENOTFOUND (no
 * such milestone or student; a deleted or incomplete one), CAIRN_ENOMEM,
 * CAIRN_ECORRUPT, CAIRN_EIO. */
int cairn_store_detail(cairn_store *s, const char *id, int32_t as_of,
                                 cairn_store_detail_view **out);
int cairn_store_detail_student(cairn_store *s, const char *student, int32_t as_of,
                               cairn_store_detail_view **out);
void cairn_store_detail_free(cairn_store_detail_view *v);
/* Which students a list holds: each NULL for any. */
typedef struct cairn_store_student_filter {
  const char *id, *classroom, *campus, *grade;
  int withdrawn; /* 1: withdrawn students too (always with id) */
} cairn_store_student_filter;

/* The students f picks, by id, each with their milestones in brief (no
 * status is computed: cheap for a whole node). as_of is today. Returns 0
 * and *out (caller frees with cairn_store_status_free), CAIRN_ENOTFOUND (f
 * names an id that is no student), CAIRN_ENOMEM, CAIRN_ECORRUPT,
 * CAIRN_EIO. */
int cairn_store_students(cairn_store *s, const cairn_store_student_filter *f,
                         cairn_store_status_view **out);

/* A stored value (a record field, or a piece of one). */
typedef enum {
  CAIRN_STORE_NIL,
  CAIRN_STORE_BOOL,
  CAIRN_STORE_INT,
  CAIRN_STORE_NUM,
  CAIRN_STORE_STR,
  CAIRN_STORE_BIN,
  CAIRN_STORE_LIST,
  CAIRN_STORE_MAP
} cairn_store_value_kind;

typedef struct cairn_store_value cairn_store_value;
typedef struct cairn_store_pair cairn_store_pair;

struct cairn_store_value {
  cairn_store_value_kind kind;
  union {
    int boolean;
    int64_t integer;
    double number;
    struct {
      const char *s; /* NUL-terminated */
      size_t len;
    } str;
    struct {
      const uint8_t *p;
      size_t len;
    } bin;
    struct {
      const cairn_store_value *items;
      size_t n;
    } list;
    struct {
      const cairn_store_pair *items;
      size_t n;
    } map;
  } u;
};

struct cairn_store_pair {
  const char *name;
  cairn_store_value value;
};

/* One write of a record: who, when (the HLC), what it set and why. */
typedef struct cairn_store_version {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq, hlc;
  const cairn_store_pair *set; /* the fields this write set */
  size_t nset;
  const cairn_store_pair *base; /* per field, the versions it had seen:
                                   a list of [author bin, seq]; nbase 0: none */
  size_t nbase;
  const char *why; /* NULL when none */
} cairn_store_version;

/* A field in conflict: the value shown is in fields; these are the others. */
typedef struct cairn_store_conflict {
  const char *field;
  const cairn_store_value *others;
  size_t nothers;
} cairn_store_conflict;

/* A record with its full history (FORMAT.md section 4). */
typedef struct cairn_store_history {
  const char *type, *id;
  const cairn_store_pair *fields; /* current values, by field name */
  size_t nfields;
  const cairn_store_version *history; /* in (hlc, author) order */
  size_t nhistory;
  const cairn_store_conflict *conflicts;
  size_t nconflicts;
  /* The scale its values are on: a milestone's own; an evidence entry's,
   * review's, support change's or celebration's milestone's; else NULL.
   * An ordinal scale's labels, lowest first (rank 0 first); else none. */
  const char *scale;
  const char *const *levels;
  size_t nlevels;
  struct cairn__store_arena *arena; /* private */
} cairn_store_history;

/* One record (any type) with its history. Returns 0 and *out (caller frees
 * with cairn_store_history_free), CAIRN_ENOTFOUND, CAIRN_ENOMEM,
 * CAIRN_ECORRUPT, CAIRN_EIO. Ids are unique within a type; a given id
 * (a student's, a template's, a standard's) may be another type's too:
 * cairn_store_show finds the first by type number, cairn_store_show_type
 * the record of that type (0: any). */
int cairn_store_show(cairn_store *s, const char *id, cairn_store_history **out);
int cairn_store_show_type(cairn_store *s, int type, const char *id, cairn_store_history **out);
void cairn_store_history_free(cairn_store_history *h);

/* The other reads pack their answer into pk as one msgpack value; the
 * shapes are documented in docs/FORMAT.md s.5 and printed by
 * `cairn ... --json`. */

/* Packs one page of the canonical export: an array of the records that
 * come after the cursor `after` (after_len 0: from the first), sorted by
 * type then id, each with its current fields, history and conflicts; only
 * the records whose scope (that of their latest write) lies inside scope,
 * or all of them when scope is NULL. Two stores holding the same entries
 * of that scope pack identical bytes. The page ends after
 * the record that brings it to max_bytes (0: no limit); the cursor of its
 * last record is then copied to next with *next_len set, and *next_len is
 * 0 when the export is complete. Each page is its own read transaction. */
#define CAIRN_STORE_CURSOR_MAX 65 /* a record's key: type byte + id */
int cairn_store_export(cairn_store *s, const cairn_scope *scope, const uint8_t *after,
                       size_t after_len, size_t max_bytes, msgpack_packer *pk,
                       uint8_t next[CAIRN_STORE_CURSOR_MAX], size_t *next_len);

/* Like cairn_store_export, of the records of one type only (type 0: every
 * type): `template list` and the CSV tables read one type without paging
 * through the others. Returns 0 or a negative code (CAIRN_EINVAL for a
 * type no record has). */
int cairn_store_export_type(cairn_store *s, int type, const cairn_scope *scope,
                            const uint8_t *after, size_t after_len, size_t max_bytes,
                            msgpack_packer *pk, uint8_t next[CAIRN_STORE_CURSOR_MAX],
                            size_t *next_len);

/* Packs the array of the records under milestone id (its evidence, then
 * its reviews, support changes and celebrations, each by id), each shaped
 * as the local API's show packs a record, with its history. Returns 0,
 * CAIRN_ENOTFOUND (no such milestone), or a negative code. */
int cairn_store_children(cairn_store *s, const char *id, msgpack_packer *pk);

/* Packs the array of fields in conflict across all records. */
int cairn_store_conflicts(cairn_store *s, msgpack_packer *pk);

/* Verifies the whole store without changing it: every author's chain links
 * and is covered by verified signatures, and the records equal a rebuild
 * from the log. Problems are reported through report(line, arg), one plain
 * sentence each. Returns 0 when clean, CAIRN_ECORRUPT when any problem was
 * found, or another negative code when it could not check. */
int cairn_store_check(cairn_store *s, void (*report)(const char *line, void *arg), void *arg);

/* Appends to out the encoded entries of author from seq `from` (inclusive)
 * on, in seq order; sets *count. A run that reaches max entries ends at
 * the last signed entry it holds (a receiver applies all of it and keeps
 * nothing waiting for a signature). One that holds no signed entry by
 * then is at least one entry: it ends unsigned while a receiver can keep
 * the entries after the last signed one waiting (FORMAT.md section 1,
 * "Signature"), and otherwise extends to the next signed entry. At the
 * end of the log it ends there (a committed log ends with a signed
 * entry). Returns 0, CAIRN_ENOMEM, CAIRN_ECORRUPT, CAIRN_EIO. */
int cairn_store_read_log(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                         size_t max, msgpack_sbuffer *out, size_t *count);

/* The id of the student record (type, id) is about: a student's own id, a
 * milestone's student, or the student of the milestone an evidence entry,
 * review, support change or celebration hangs under, as the store holds
 * them now, into student (65 bytes; "" on error). For a reader that files
 * rows by student (the PostgreSQL mirror). Returns 0, CAIRN_ENOTFOUND (no
 * such record, a type no student owns, or a parent not held), CAIRN_ENOMEM,
 * CAIRN_ECORRUPT, CAIRN_EIO. Any thread: its own read transaction. */
int cairn_store_record_student(cairn_store *s, int type, const char *id, char student[65]);

/* ---- Sync (docs/PROTOCOL.md) ---- */

/* One author's position: the highest seq held contiguously from 1. */
typedef struct cairn_vv_item {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
} cairn_vv_item;

/* Fills *out (caller frees with free()) with this store's version vector,
 * the central's author first (when known), then by author key; *n items.
 * Returns 0, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn_store_version_vector(cairn_store *s, cairn_vv_item **out, size_t *n);

/* Fills *out (caller frees with free()) with vv[0..n) (a version vector of
 * this store) where each author's seq is raised past the entries staged
 * here that continue it: received, waiting for a signature that covers
 * them (FORMAT.md section 1). What a HELLO says this node holds, so that a
 * sender resumes after them. Returns 0, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn_store_vv_with_staged(cairn_store *s, cairn_vv_item *vv, size_t n,
                               cairn_vv_item **out, size_t *nout);

/* Like cairn_store_read_log, but every entry whose body lies outside scope,
 * or that this store refused to apply (quarantined), is sent redacted: its
 * body replaced by the body's hash (FORMAT.md section 1), so the chain still
 * verifies. The run's limit is max entries or out grown by max_bytes (0:
 * none), whichever comes first; the run then ends at its last signed entry,
 * or, holding none, as cairn_store_read_log says. *count and out's growth
 * are what the run holds (what was read past its end is taken back out of
 * out); *last is the seq of its last entry. scope NULL: nothing redacted
 * but quarantined entries. */
int cairn_store_read_scoped(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                            size_t max, size_t max_bytes, const cairn_scope *scope,
                            msgpack_sbuffer *out, size_t *count, uint64_t *last);

/* The outcome of applying a batch received from a peer. */
typedef struct cairn_apply_result {
  size_t applied;   /* new entries stored and folded into state (a redacted
                       entry counts: it is stored, its chain advances, and
                       there is nothing to fold) */
  size_t refused;   /* new entries refused or quarantined (see below) */
  size_t quarantined; /* of those refused, the quarantined (stored, not folded) */
  size_t erased;    /* of those quarantined, the entries about an erased student:
                       stored redacted (FORMAT.md section 3.4) */
  size_t held;      /* new entries dated beyond this node's clock bound: stored,
                       kept out of state until the central orders them (not on
                       the central) or this node's clock reaches their date */
  size_t redated;   /* on the central: new entries it ordered at their arrival
                       (dated beyond its bound, or before the entry they
                       follow); counted in applied */
  size_t released;  /* entries held before that were folded in this transaction */
  int64_t ahead_ms; /* the most a held or re-dated entry was ahead, ms */
  size_t entries;   /* entries in the buffer */
  size_t staged;    /* of those, entries after the last signed one of their author:
                       kept, not applied, until a signature covers them */
  size_t unstaged;  /* entries staged by earlier buffers, applied now (in applied) */
  char reason[256]; /* the first refusal, one line naming author and seq */
} cairn_apply_result;

/* The sync path's apply: like cairn_store_apply_entries (chain, signatures:
 * a broken or forged run refuses the whole batch, nothing applied), plus
 * authorization (PROTOCOL.md section 1):
 *  - an author who is not the central and has no device record, or whose
 *    device record is revoked: that author's run is refused whole and not
 *    stored (it can be sent again once the device is enrolled) -- unless
 *    every new entry of the run is redacted: those carry no record, only
 *    verified links of the chain, and are stored;
 *  - an authorized author's entry outside its scope, a device or restamp
 *    record not authored by the central, or an entry of a device revoked
 *    after an earlier seq (revoked_after): stored in the log (the chain
 *    continues) but quarantined: never folded into state, never sent on
 *    unredacted;
 *  - an entry dated beyond this node's clock bound (FORMAT.md section 1.1):
 *    on the central, stored and ordered at its arrival by a restamp record
 *    the central writes in the same transaction (with the rest of its
 *    author's run); elsewhere stored but held until a restamp orders it.
 * Refusals are counted (cairn_store_refused_count) in the same transaction.
 * A batch should carry the central's run first: a device record it brings
 * authorizes the runs after it. Returns 0 with *res filled (refusals are not errors), or a negative code
 * (CAIRN_EBADSIG, CAIRN_EBADCHAIN, CAIRN_EGAP, CAIRN_EMALFORMED, CAIRN_ENOSPC,
 * CAIRN_EMAPFULL, CAIRN_EIO) when nothing was applied. Writer thread only. */
int cairn_store_apply_synced(cairn_store *s, const uint8_t *buf, size_t len,
                             cairn_apply_result *res);

/* cairn_store_apply_synced, which also hands back what the buffer held, so
 * that the caller (the link's acknowledgement and the central's receipts)
 * need not decode it again: on 0, *runs (allocated: the caller frees it;
 * NULL when the buffer was empty) gets one item per run of entries of one
 * author in buf, in buffer order, with the highest seq of that run, and
 * *nruns their count; res->entries counts the entries. On an error *runs
 * is NULL and *nruns 0. CAIRN_ENOMEM when the runs cannot be allocated
 * (then nothing was applied). Writer thread only. */
int cairn_store_apply_synced_runs(cairn_store *s, const uint8_t *buf, size_t len,
                                  cairn_apply_result *res, cairn_vv_item **runs, size_t *nruns);

/* The central's key, once known: set at `cairn init --role central` (its
 * own key) or when joining. Persisted in the store. cairn_store_central
 * returns it (borrowed from the store) or NULL when unknown, from any
 * thread: the key is set once and never changes after.
 * cairn_store_set_central returns 0 (also when the key is already this
 * one), CAIRN_EEXISTS when another central's key is set, or a write
 * error. Writer thread only. */
const uint8_t *cairn_store_central(const cairn_store *s);
int cairn_store_set_central(cairn_store *s, const uint8_t key[CAIRN_KEY_BYTES]);

/* What a join learned (docs/FORMAT.md, meta "join"): the scope the central
 * enrolled this device for, the deployment's network id, and the upstream
 * this device syncs to, by address and pinned key. A store without it is
 * not joined (a central never is). */
#define CAIRN_STORE_NETWORK_BYTES 32
typedef struct cairn_store_join {
  cairn_scope scope;
  uint8_t network[CAIRN_STORE_NETWORK_BYTES];
  char upstream[128]; /* "host:port", not empty */
  uint8_t upstream_key[CAIRN_KEY_BYTES];
} cairn_store_join;

/* Reads the join into *out in a read transaction of its own. Returns 0,
 * CAIRN_ENOTFOUND when this store holds none, CAIRN_ECORRUPT when it does
 * not decode. */
int cairn_store_join_get(cairn_store *s, cairn_store_join *out);

/* Records j as this store's join, replacing any earlier one, in one
 * durable transaction: with central (may be NULL: the central's key is
 * left as it is) pinned as cairn_store_set_central would, so that a crash
 * leaves the device joined with its central's key, or neither. Returns 0;
 * CAIRN_EEXISTS when another central's key is pinned; CAIRN_EINVAL when
 * j's upstream is empty or unterminated; a write error. Nothing is
 * written on failure. Writer thread only (or the loop before the writer
 * has work). */
int cairn_store_join_record(cairn_store *s, const uint8_t central[CAIRN_KEY_BYTES],
                            const cairn_store_join *j);

/* The scope of an enrolled device (from its device record), for the
 * handshake: 0 and *scope when enrolled and not revoked; CAIRN_ENOTFOUND
 * when unknown; CAIRN_EPERM when revoked. role_out (may be NULL) gets
 * "classroom", "hub" or "central". The central itself has the empty
 * scope. */
int cairn_store_device_scope(cairn_store *s, const uint8_t key[CAIRN_KEY_BYTES],
                             cairn_scope *scope, char role_out[16]);

/* Enrollment tokens: local to the central, never replicated; the secret is
 * kept only as its BLAKE2b hash. role is "classroom" or "hub"; scope names
 * a campus. Returns 0, CAIRN_EINVAL, or a write error. */
int cairn_store_token_add(cairn_store *s, const uint8_t secret[16], const char *role,
                          const cairn_scope *scope, int64_t expires_unix);

/* Redeems a token for device key (writer thread): in one transaction checks
 * the secret is known, unused and unexpired at now_unix, marks it used, and
 * writes the device record (an entry of this, the central's, log). Returns
 * 0 and the device's scope. A join is idempotent for the device that made
 * it: the same device again with the same (unexpired) token, or with a new
 * token once enrolled, gets the answer of its device record (nothing new is
 * written but the new token's use). Errors: CAIRN_ENOTFOUND (unknown token,
 * or used by another device: why says which), CAIRN_EPERM (expired, or the
 * device is revoked), or a write error; on any error the token stays
 * unused. name may be NULL; the record's `enrolled` is the UTC day of
 * now_unix. */
int cairn_store_token_redeem(cairn_store *s, const uint8_t secret[16],
                             const uint8_t device[CAIRN_KEY_BYTES], const char *name,
                             int64_t now_unix, cairn_scope *scope, char role_out[16], char *why,
                             size_t whylen);

/* Receipts: "the central durably holds author up to seq", signed by the
 * central. sign: the central makes one (sig out). verify: 0 when sig is
 * central's receipt for (author, seq) and central is this store's central,
 * else CAIRN_EBADSIG; reads no database. put: a node stores the latest for
 * an author after the same check (an older receipt than the one held is
 * verified and ignored). get: CAIRN_ENOTFOUND when none. */
void cairn_store_receipt_sign(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq,
                              uint8_t sig[CAIRN_SIG_BYTES]);
int cairn_store_receipt_verify(const cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                               uint64_t seq, const uint8_t central[CAIRN_KEY_BYTES],
                               const uint8_t sig[CAIRN_SIG_BYTES]);
int cairn_store_receipt_put(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq,
                            const uint8_t central[CAIRN_KEY_BYTES],
                            const uint8_t sig[CAIRN_SIG_BYTES]);
int cairn_store_receipt_get(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t *seq,
                            uint8_t sig[CAIRN_SIG_BYTES]);

/* Packs an array of device records ({id, role, campus, classroom, name,
 * revoked, enrolled (date or nil), last_seen (unix seconds or nil)}), by
 * id; absent strings are "". last_seen is local knowledge, recorded with
 * cairn_store_peers_seen. Both return 0 or a negative code. */
int cairn_store_devices(cairn_store *s, msgpack_packer *pk);
/* When a device was last seen (unix seconds). */
typedef struct cairn_peer_seen {
  uint8_t key[CAIRN_KEY_BYTES];
  int64_t when;
} cairn_peer_seen;
/* Records seen[0..n) in one transaction (a later item for the same key
 * wins). Writer thread only. */
int cairn_store_peers_seen(cairn_store *s, const cairn_peer_seen *seen, size_t n);

/* The number of entries refused or quarantined by cairn_store_apply_synced
 * since the store was created (local, persistent). */
uint64_t cairn_store_refused_count(const cairn_store *s);

/* ---- Time (docs/FORMAT.md section 1, "Time") ---- */

/* This node's wall clock in unix milliseconds, as the store dates entries
 * (with the test-only skew of cairn_store_opts). Any thread. */
uint64_t cairn_store_wall_ms(const cairn_store *s);

/* Today's day number (local time) by that clock. Any thread. */
int32_t cairn_store_today(const cairn_store *s);

/* Restored from a backup (FORMAT.md, "Backups"): while the flag is set,
 * every local write is refused with CAIRN_ERESTORED, since the upstream
 * may hold this device's log beyond the backup, and a write now would fork
 * it. cairnd clears it once the upstream has sent that log back.
 * cairn_store_restored returns the flag (writer thread, or before the
 * writer runs); cairn_store_set_restored sets (1) or clears (0) it
 * durably, returning 0 or a write error. Writer thread only. */
int cairn_store_restored(const cairn_store *s);
int cairn_store_set_restored(cairn_store *s, int on);

/* Writes a consistent, compacted copy of the store's LMDB file (data.mdb)
 * to fd from its current offset (mdb_env_copyfd2 with MDB_CP_COMPACT),
 * inside one read transaction: writes may go on meanwhile. Returns 0 or
 * CAIRN_EIO / CAIRN_ENOSPC. Any thread. */
int cairn_store_copy(cairn_store *s, int fd);

/* Reads the store's key store file (DATA/store/keys, FORMAT.md section 8)
 * whole into *out (malloc'ed; the caller frees it, after sodium_memzero:
 * its keys are wrapped, but wipe it anyway) and its length into *len;
 * nothing (NULL, 0) while it holds no key. Take
 * it after cairn_store_copy: every key a copied value needs was durable
 * before that value's commit. Returns 0, CAIRN_EIO, CAIRN_ENOMEM. Any
 * thread. */
int cairn_store_keys_copy(cairn_store *s, uint8_t **out, size_t *len);

/* Records what this node learned at a handshake: the central's clock minus
 * this node's wall clock, in ms (its upstream's estimate of the central's
 * clock, from its HELLO). Entries received are judged against this node's
 * clock corrected by it, so a node whose own clock is wrong still holds
 * only what is ahead of the central's. Persisted. Writer thread only.
 * Returns 0 or a write error. */
int cairn_store_set_central_offset(cairn_store *s, int64_t offset_ms);

/* Returns 1 and the offset kept by cairn_store_set_central_offset in *ms,
 * or 0 (and 0) when none was ever learned. Call before the writer starts,
 * or on the writer thread. */
int cairn_store_central_offset(const cairn_store *s, int64_t *ms);

/* What this node keeps out of its records: held entries (dated beyond its
 * clock bound) and quarantined ones, by reason. Packs a map {"held": n,
 * "quarantined": [{"reason": str, "entries": n}, ...]} (at most 8 reasons,
 * most entries first). Returns 0 or a negative code. */
int cairn_store_kept_out(cairn_store *s, msgpack_packer *pk);

/* Looks for entries dated by a cairn that did not bound HLCs (an entry dated
 * beyond this node's bound, or not after the entry before it in its chain)
 * and, on the central, re-dates every such run with restamp records, so
 * that edits made after them win again. Runs once per store (it is marked
 * done) unless a head is dated beyond the bound. Sets *redated (entries).
 * Does nothing but mark on another node: its central does it. Writer thread
 * (or before the writer starts). Returns 0 or a negative code. */
int cairn_store_clock_repair(cairn_store *s, size_t *redated);

/* A number that changes with every commit to the store (LMDB's last
 * transaction id): equal numbers mean nothing changed in between, so a
 * result read from the store may be kept and used again. Any thread. */
uint64_t cairn_store_generation(cairn_store *s);

/* The LMDB map's size (*map_bytes: what data.mdb may grow to before the
 * writer grows the map) and the bytes of it in use as of the last commit
 * (*used_bytes: pages up to the last one written, free pages included),
 * for /metrics. Returns 0 or CAIRN_EIO. Any thread. */
int cairn_store_space(cairn_store *s, uint64_t *map_bytes, uint64_t *used_bytes);

/* ---- erasing a student (store_erase.c; docs/FORMAT.md section 3.4) ---- */

/* 1 when an erasure left the student's old bytes on LMDB's free pages and
 * the data file is still to be compacted (meta "compact", set in the
 * erasure's own transaction), else 0. Writer thread, or the loop thread
 * while the writer is idle. */
int cairn_store_compaction_wanted(const cairn_store *s);

/* Rewrites the data file without its free pages, in two steps.
 *
 * cairn_store_compact_copy writes a compacted copy (mdb_env_copyfd2,
 * MDB_CP_COMPACT) to DATA/store/data.mdb.compact and fsyncs it. It only
 * reads, so reads on any thread may go on meanwhile; but nothing may be
 * written from its start until cairn_store_compact_swap returns (a write
 * after the copy's snapshot would be lost with the old file). cairnd runs
 * it on the thread pool while its writer holds every write back. Returns 0;
 * CAIRN_EIO, CAIRN_ENOSPC or CAIRN_ENOMEM when the copy could not be
 * written (it is removed; the store is as it was, still marked).
 *
 * cairn_store_compact_swap renames the copy over data.mdb (the directory
 * fsynced), reopens the environment on it and clears the mark. No read
 * transaction of this thread may be open and the writer must be idle (in
 * cairnd: the loop thread between batches, as for cairn_store_grow);
 * another thread's reads wait on the lock they take. Returns 0, or
 * CAIRN_ECLOSED when a step after the old environment was closed failed:
 * the store is unusable, only cairn_store_close may be called, and the
 * next open finishes the compaction.
 *
 * cairn_store_compact does both in turn, under the swap's conditions, and
 * returns the first failure. A crash at any point leaves the old file or
 * the new one, each still marked, and cairn_store_open finishes the work. */
int cairn_store_compact_copy(cairn_store *s);
int cairn_store_compact_swap(cairn_store *s);
int cairn_store_compact(cairn_store *s);

/* 1 when student sid was erased here (an erasure record of theirs was
 * folded), 0 when not, or CAIRN_EIO. Any thread. */
int cairn_store_student_erased(cairn_store *s, const char *sid);

/* This device's public key and its own log's head (seq 0 when empty). */
const uint8_t *cairn_store_device(const cairn_store *s);
uint64_t cairn_store_own_seq(const cairn_store *s);

/* ---- a student's history follows them (store_history.c) ---- */

/* Calls fn(author, seq, arg) for each write of the records of student sid
 * (the student, their milestones, and each milestone's evidence, reviews,
 * support changes and celebrations) whose entry's own scope lies outside
 * peer: the entries of the student's history a peer of that scope was sent
 * redacted, or not at all. Only for a student whose classrooms, as this
 * node knows them now, lie inside peer: CAIRN_EPERM otherwise, and fn is
 * never called. Stops at fn's first non-zero return and returns it.
 * Returns 0, CAIRN_EINVAL (not an id), CAIRN_EPERM, CAIRN_EIO. */
int cairn_store_student_history(cairn_store *s, const char *sid, const cairn_scope *peer,
                                int (*fn)(const uint8_t *author, uint64_t seq, void *arg),
                                void *arg);

/* 1 when author wrote an entry naming the classroom of scope peer (the
 * reach database: a student taught in that classroom and another, whose
 * entries from the other classroom's device name both), 0 when not (or
 * peer names no classroom), or CAIRN_EIO. */
int cairn_store_author_reaches(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                               const cairn_scope *peer);

/* Whether a downstream device of scope peer needs author's chain at all:
 * 1 for the central, an author that is not an enrolled device or is
 * revoked, one whose device scope overlaps peer, or one that wrote an
 * entry naming peer's classroom (cairn_store_author_reaches; an error
 * there counts as 1); 0 when every entry of it would reach the peer
 * redacted, so that the peer is sent none of it (it verifies only the
 * chains it holds). The downward selection that a sync link to the peer
 * and a bundle written for it (PROTOCOL.md section 7) both use. Any
 * thread: read transactions of its own. */
int cairn_store_author_goes_down(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                                 const cairn_scope *peer);
/* The same, with the author's device scope already read by
 * cairn_store_device_scope: author_scope is what it gave, or NULL when it
 * failed (not an enrolled device, revoked, or an error). For callers that
 * keep scopes across many peers. Any thread. */
int cairn_store_author_goes_down_as(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                                    const cairn_scope *author_scope, const cairn_scope *peer);

/* A count that grows after each commit that made cairn_store_author_reaches
 * true for some new (author, classroom) outside the author's own device
 * scope (inside it, the answer that matters is already the scope's): a
 * cache of wanted authors is stale once it moved. Any thread. */
unsigned cairn_store_reach_epoch(cairn_store *s);

/* A count that grows after each commit that added or moved an arrival
 * (cairn_store_arrivals): what it lists is unchanged while it stays. Any
 * thread. */
unsigned cairn_store_arrival_epoch(cairn_store *s);

/* A student who came into a classroom, and when (the hlc of the write). */
typedef struct cairn_store_arrival {
  char student[65];
  uint64_t hlc;
} cairn_store_arrival;

/* Fills out (room for max) with the students who came into the classroom
 * of scope peer by a move or a classroom added (the arrivals database, in
 * id order); *n gets how many (0 for a scope with no classroom). Returns 0
 * or CAIRN_EIO. */
int cairn_store_arrivals(cairn_store *s, const cairn_scope *peer, cairn_store_arrival *out,
                         size_t max, size_t *n);

/* 1 when this device holds student sid's history up to their arrival at
 * hlc (cairn_store_history_done), 0 when not, or CAIRN_EINVAL / CAIRN_EIO. */
int cairn_store_history_held(cairn_store *s, const char *sid, uint64_t hlc);

/* Records that the history of student sid, up to their arrival at hlc, has
 * all arrived (a write transaction: the writer's thread). Returns 0,
 * CAIRN_EINVAL, CAIRN_EIO, CAIRN_ENOSPC. */
int cairn_store_history_done(cairn_store *s, const char *sid, uint64_t hlc);

/* Applies whole entries (buf: concatenated encodings) in place of the
 * redacted ones this node holds at the same author and seq: each must have
 * the very hash of the entry held (so its signature and chain still hold),
 * its author must be authorized to write it, as for a received entry; then
 * it is folded into the records. An entry this node does not hold, or holds
 * whole, is skipped. One transaction. Sets res (applied: the entries
 * filled; refused, quarantined, held as for cairn_store_apply_synced).
 * Returns 0, CAIRN_EMALFORMED / CAIRN_EBADCHAIN (with res->reason: nothing
 * written), CAIRN_ENOSPC, CAIRN_EIO. */
int cairn_store_fill(cairn_store *s, const uint8_t *buf, size_t len, cairn_apply_result *res);

#endif
