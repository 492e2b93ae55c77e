/*
 * store_int.h: what store.c (the log and the write paths) and store_view.c
 * (record state, merge and the read views) share. Internal to store/.
 */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <msgpack.h>

#include "entry.h"
#include "progress.h"
#include "record.h"
#include "store.h"

#define CAIRN__STORE_ID_MAX 64 /* ids are 1..64 bytes of [A-Za-z0-9._-] */
#define CAIRN__STORE_KEY_MAX (1 + CAIRN__STORE_ID_MAX)
_Static_assert(CAIRN__STORE_KEY_MAX == CAIRN_STORE_CURSOR_MAX, "an export cursor is a record key");

/* One write of a record: [hlc, author, seq, set, base|nil, why|nil, scope].
 * All pointers borrow from the zone the record was decoded into. */
typedef struct cairn__store_write {
  uint64_t hlc;
  const uint8_t *author;
  uint64_t seq;
  const msgpack_object *set;  /* map */
  const msgpack_object *base; /* map, or NULL */
  const msgpack_object *why;  /* str, or NULL */
  const msgpack_object *scope; /* [campus, classroom, ...] strings: the body's scope */
  const msgpack_object *obj;  /* the whole write */
} cairn__store_write;

/* A record's state: its writes sorted by (hlc, author, seq). */
typedef struct cairn__store_rec {
  cairn__store_write *w; /* owned: free with cairn__store_rec_free */
  size_t n, cap;
} cairn__store_rec;

/* One entry of a received buffer (or of the staged ones): decoded, and
 * its bytes. */
typedef struct cairn__store_decoded {
  cairn_entry e;
  const uint8_t *bytes;
  size_t len;
  int staged; /* read back from the staged database */
} cairn__store_decoded;

struct cairn_store {
  MDB_env *env;
  MDB_dbi log, heads, records, children, meta;
  MDB_dbi quarantine; /* author || seq -> reason: stored, never folded */
  MDB_dbi tokens;     /* BLAKE2b-256(secret) -> [role, campus, classroom, expires, used] */
  MDB_dbi receipts;   /* author -> seq BE8 || central's signature */
  MDB_dbi peers;      /* device key -> last seen, unix seconds BE8 */
  MDB_dbi held;       /* author || seq -> hlc BE8: dated beyond the clock bound, kept out
                         of state until the central orders it or time catches up */
  MDB_dbi restamps;   /* author || from BE8 -> to BE8 || hlc BE8: the central's restamp
                         records, indexed (derived from the records) */
  MDB_dbi staged;     /* author || seq -> entry: received after the last signed entry
                         of its author held here, not yet covered by a signature;
                         applied when one arrives (FORMAT.md section 1) */
  int have_central;
  uint8_t central[CAIRN_KEY_BYTES];
  uint64_t refused; /* entries refused or quarantined, ever (meta "refused") */
  char *dir; /* the data directory (for statvfs on a failed commit) */
  const uint8_t *sk;
  uint8_t pk[CAIRN_KEY_BYTES];
  uint64_t own_seq;
  uint8_t own_hash[CAIRN_HASH_BYTES];
  uint64_t last_hlc; /* highest effective HLC written or folded */
  uint64_t own_hlc;  /* the effective HLC of this device's last entry */
  int64_t clock_offset_ms;    /* test-only skew of this node's wall clock */
  int64_t clock_tolerance_ms; /* how far ahead of the reference clock an entry may be */
  int64_t central_offset_ms;  /* the central's clock minus this node's wall clock, as
                                 last learned at a handshake (0 on the central) */
  int offset_known;           /* central_offset_ms was learned (meta "offset") */
  size_t held_count;          /* entries in the held database */
  int time_unchecked;         /* written by a cairn that did not bound HLCs: the central
                                 looks for damage once (cairn_store_clock_repair) */
  /* Writer-thread scratch, reused across batches. */
  msgpack_zone apply_zone, check_zone;
  msgpack_sbuffer body_buf, entry_buf, rec_buf, last_body, release_buf;
  cairn__store_rec apply_rec;
  struct cairn__store_decoded *ents; /* entries of one apply_entries buffer */
  size_t ents_cap;
  struct cairn__store_decoded *run; /* one author's run: staged, then received */
  size_t run_cap;
  msgpack_sbuffer stage_buf; /* copies of the staged entries of that run */
};

/* Writes the records key type || id into key (CAIRN__STORE_KEY_MAX bytes)
 * and returns its length. */
size_t cairn__store_rec_key(uint8_t *key, int type, const char *id, size_t idlen);

/* Decodes a stored state array (borrowed bytes) into r, allocating objects
 * in z. Returns 0, CAIRN_ECORRUPT, CAIRN_ENOMEM. r keeps its buffer. */
int cairn__store_rec_parse(const void *data, size_t len, msgpack_zone *z, cairn__store_rec *r);

/* Loads record (type, id) from dbi records in txn into r (objects in z).
 * Returns 0, CAIRN_ENOTFOUND, CAIRN_ECORRUPT, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn__store_rec_load(MDB_txn *txn, MDB_dbi records, int type, const char *id,
                          size_t idlen, msgpack_zone *z, cairn__store_rec *r);

/* Frees r's buffer (not the zone). NULL-safe fields. */
void cairn__store_rec_free(cairn__store_rec *r);

/* Returns the current value of field (the version with the greatest
 * (hlc, author)), or NULL when no write sets it; *wi (may be NULL) gets the
 * index of that write. Borrowed from r's zone. */
const msgpack_object *cairn__store_rec_value(const cairn__store_rec *r, const char *field,
                                             size_t *wi);

/* 1 when field f merges by last writer wins (with heads and conflicts);
 * 0 for a set field (merged by its operations) and a legacy field (read
 * into its set). */
int cairn__store_field_is_lww(const cairn_field_def *f);

/* The members of set field `field` of record r of type (FORMAT.md section
 * 4): an element is present when its latest operation, in the order of
 * the record's writes, is an add; a whole array (a write from before
 * sets, or the legacy field read into it: the student's `classroom`) sets
 * the set exactly. pending (NULL: none) is one more write's value of the
 * field, after all of r's (the put being built). Present elements are in
 * the order they were last added. *out is an array of strings allocated in
 * z whose strings borrow from r's zone and from pending. Returns 0 or
 * CAIRN_ENOMEM. */
int cairn__store_rec_members(const cairn__store_rec *r, int type, const char *field,
                             const msgpack_object *pending, msgpack_zone *z,
                             const msgpack_object **out);

/* 1 when some write of r sets field (a set field: or its legacy field). */
int cairn__store_rec_has(const cairn__store_rec *r, int type, const char *field);

/* Writes into idx (room for r->n) the indexes of the field's heads: the
 * writes setting field that no other write names in its base for field.
 * Returns their count. */
size_t cairn__store_rec_heads(const cairn__store_rec *r, const char *field, size_t *idx);

/* Returns 1 when field is in conflict: more than one head (idx has room
 * for r->n), with values that differ. */
int cairn__store_rec_conflicted(const cairn__store_rec *r, const char *field, size_t *idx);

/* Calls fn(child id, len, arg) for each child of (ptype, pid) of type
 * ctype, in id order, from the children index in txn. Stops at the first
 * non-zero return and returns it; CAIRN_EIO when the index cannot be read. */
int cairn__store_each_child(cairn_store *s, MDB_txn *txn, int ptype, const char *pid,
                            size_t pidlen, int ctype, int (*fn)(const char *, size_t, void *),
                            void *arg);

/* Helpers over msgpack objects: 1 when o is of that kind (and sets the out
 * values), else 0. */
int cairn__store_obj_str(const msgpack_object *o, const char **s, size_t *len);
int cairn__store_obj_num(const msgpack_object *o, double *v);
int cairn__store_obj_true(const msgpack_object *o);

/* Writes the one-line derived-status summary of milestone (m, id) into out
 * ("level developing, light yellow, last 2.5 on 2026-03-02, trend
 * +0.30/week, 5 points") as of day as_of: from the evidence observed and the
 * reviews dated on or before it. Returns 0 or a negative code. */
int cairn__store_milestone_summary(cairn_store *s, MDB_txn *txn, const cairn__store_rec *m,
                                   const char *id, size_t idlen, int32_t as_of, char *out,
                                   size_t outlen);

/* The most check dates a milestone holds (protocol/record.c). */
#define CAIRN__STORE_CHECKS_MAX 64

/* Fills *p from a milestone: each field from set (the fields a put
 * writes; NULL for none) when there, else from record m (NULL: a new
 * one); defaults for what neither sets. Its check dates, ascending, go to
 * checks (room for CAIRN__STORE_CHECKS_MAX) and p->checks points there.
 * Returns 0, or CAIRN_EINVAL with why (a line naming the field) when the
 * scale, target, a date or the rule cannot be read. */
int cairn__store_milestone_params(const msgpack_object *set, const cairn__store_rec *m,
                                  cairn_milestone_params *p, int32_t *checks, char *why,
                                  size_t whylen);

/* What a typed view owns (store_status.c): an arena, freed whole. new
 * returns NULL when out of memory; alloc and str return NULL then too; str
 * copies s[0..len) with a NUL; free accepts NULL. */
struct cairn__store_arena *cairn__store_arena_new(void);
void *cairn__store_arena_alloc(struct cairn__store_arena *a, size_t n);
const char *cairn__store_arena_str(struct cairn__store_arena *a, const char *s, size_t len);
void cairn__store_arena_free(struct cairn__store_arena *a);

/* Reads student's summary and the status of each of their milestones as
 * of as_of into *out, in read txn, every string and array in arena (as
 * cairn_store_status does for one student). Returns 0, CAIRN_ENOTFOUND (no
 * such student, or deleted), or a negative code. */
int cairn__store_student_status(cairn_store *s, MDB_txn *txn, struct cairn__store_arena *arena,
                                const char *student, int32_t as_of,
                                cairn_store_student_summary *out);

/* The most classrooms a body's scope names: a student's classrooms before
 * and after a write (FORMAT.md section 2). */
#define CAIRN__STORE_SCOPE_ROOMS 32

/* 1 when scope is a body's scope: an array [campus, classroom, ...] of 2
 * to 1 + CAIRN__STORE_SCOPE_ROOMS strings. */
int cairn__store_scope_valid(const msgpack_object *scope);

/* Returns 1 when an entry or record of kind whose scope is the array
 * [campus, classroom, ...] lies inside sc (PROTOCOL.md section 2): sc NULL
 * or with campus "" holds everything; else the campus must match, and,
 * when sc names a classroom, one of the listed classrooms must be it (an
 * entry about a student of two classrooms is in both). Device records need
 * only the campus: a classroom learns its campus's hub and peers; so do
 * campus records (roster import): every node of a campus has its campus. Restamp
 * records are in every scope: they say when entries happened, nothing
 * about a student, and every node needs them to order what it holds. So
 * are templates and standards: the central publishes them to every
 * classroom. A malformed scope is outside every scope but the whole. The same function
 * decides what a node sends, what an author may write (a received entry),
 * and what a device may write locally (cairn_put.within). */
int cairn__store_in_scope(const cairn_scope *sc, int kind, const msgpack_object *scope);

/* ---- the school year's write checks (store_year.c) ---- */

/* Where a local write is: the scope its entry's body carries (FORMAT.md
 * section 2), [campus, classroom, ...] ("" for a student with none). */
typedef struct cairn__store_where {
  char campus[65];
  char rooms[CAIRN__STORE_SCOPE_ROOMS][65];
  size_t nrooms;
} cairn__store_where;

/* The value of field after set (a put's fields; NULL: none) is applied
 * over record r (NULL: a new one): set's, else r's current value. NULL when
 * neither has it. Borrowed. */
const msgpack_object *cairn__store_field_of(const msgpack_object *set, const cairn__store_rec *r,
                                            const char *field);

/* Fills w with a student's campus and classrooms (members read in z).
 * Returns 0 or CAIRN_ENOMEM. */
int cairn__store_where_of(const cairn__store_rec *student, msgpack_zone *z,
                          cairn__store_where *w);

/* Fills w with one campus and classroom ("" for none). */
void cairn__store_where_set(cairn__store_where *w, const char *campus, const char *classroom);

/* Packs w as a body's scope array. */
void cairn__store_where_pack(msgpack_packer *pk, const cairn__store_where *w);

/* cairn__store_in_scope for the scope w: 1 when it lies inside within. */
int cairn__store_where_within(const cairn_scope *within, int kind, const cairn__store_where *w);

/* Returns 0 when student (id sid) may be written about, or CAIRN_EPERM
 * with msg when they are withdrawn: their records are read-only. */
int cairn__store_student_readonly(const cairn__store_rec *student, const char *sid,
                                  size_t sidlen, char *msg, size_t msglen);

/* Checks a local put of student id (r: the record, NULL when new) whose
 * set passed cairn_record_check_set, and rewrites set (in z) as its entry
 * will carry it: the legacy `classroom` becomes `classrooms`; every set
 * field becomes operations against the student's current set (a whole
 * array: add its items, remove the members it leaves out). Refuses a write
 * about a withdrawn student but their re-enrollment, removing what is not
 * a member, an empty item, a set over its size. Fills w: the campus after
 * the put, and the classrooms after it and (same campus) before it.
 * Returns 0, or a negative code with msg naming the field. */
int cairn__store_student_put(msgpack_zone *z, const cairn__store_rec *r, const char *id,
                             msgpack_object *set, cairn__store_where *w, char *msg,
                             size_t msglen);

/* Checks milestone mid (the ref in field; nothing when it is not a
 * string) is a milestone of student sid, and not self (refused with
 * `itself`). Loads it in z. Returns 0, or a negative code with msg. */
int cairn__store_check_sibling(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                               const char *field, const msgpack_object *mid, const char *self,
                               const char *itself, const char *sid, size_t sidlen, char *msg,
                               size_t msglen);

/* The milestone rules of a school year for a put (set over r, NULL when
 * new; self its id; sid its student): a levels scale's levels; a result
 * other than open needs `closed` (not after tomorrow), replaced needs
 * replaced_by, a milestone of the same student; carried_from is one too.
 * Returns 0, or a negative code with msg naming the field. */
int cairn__store_milestone_year(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                                const msgpack_object *set, const cairn__store_rec *r,
                                const char *self, const char *sid, size_t sidlen, char *msg,
                                size_t msglen);

/* A new milestone's set naming carried_from: fills in (z) what the put
 * leaves out from the old milestone (FORMAT.md section 3.2): its fields
 * but the timeframe, checks and ending; the support in place; a baseline
 * from its last points (progress.h, "Carry forward"), with baseline_how
 * and baseline_date. Refuses an old target the new baseline is beyond.
 * Returns 0 (also when carried_from is not an id: the schema refuses it),
 * or a negative code with msg. */
int cairn__store_carry_forward(cairn_store *s, MDB_txn *txn, msgpack_zone *z,
                               msgpack_object *set, char *msg, size_t msglen);

/* What a milestone carried forward takes from milestone (m, id) as of
 * today: its baseline (points > 0) from the points cairn_progress_carry_
 * baseline averages, the day of the last one, and the support in place
 * ("" for none). */
typedef struct cairn__store_carried {
  double baseline;
  size_t points;
  int32_t last_day;
  char support[1001];
} cairn__store_carry;
int cairn__store_carried(cairn_store *s, MDB_txn *txn, const cairn__store_rec *m, const char *id,
                         size_t idlen, int32_t today, cairn__store_carry *out);

/* Replaces the value of key in map (adds it when absent; v NULL drops it),
 * allocating the new pairs in z. Returns 0 or CAIRN_ENOMEM. */
int cairn__store_set_put(msgpack_zone *z, msgpack_object *map, const char *key,
                         const msgpack_object *v);

/* Copies a str object of at most 64 bytes into out; "" when o is not one
 * (or is longer). */
void cairn__store_copy_str(const msgpack_object *o, char out[65]);

/* Loads the device record of key in txn into r (objects in z) and, when
 * scope / role (may be NULL) are given, fills them from it. Returns 0,
 * CAIRN_ENOTFOUND (no record), CAIRN_EPERM (revoked; scope and role are
 * still filled), CAIRN_ECORRUPT, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn__store_device_get(cairn_store *s, MDB_txn *txn, const uint8_t key[CAIRN_KEY_BYTES],
                            msgpack_zone *z, cairn__store_rec *r, cairn_scope *scope,
                            char role[16]);

/* Takes enrollment token secret for device in write txn: when it is known
 * and unexpired at now_unix, and unused or used by this same device (a
 * join whose answer was lost; *again is then 1), marks it used by device
 * and fills role and scope from it. Returns 0, CAIRN_ENOTFOUND (unknown,
 * or used by another device: why says which), CAIRN_EPERM (expired),
 * CAIRN_ECORRUPT, or a write error. */
int cairn__store_token_take(cairn_store *s, MDB_txn *txn, const uint8_t secret[16],
                            const uint8_t device[CAIRN_KEY_BYTES], int64_t now_unix,
                            char role[16], cairn_scope *scope, int *again, char *why,
                            size_t whylen);

/* Makes room for need elements of elem bytes in the array *arr of
 * capacity *cap (doubling, from first). Returns 0 or CAIRN_ENOMEM (the
 * array unchanged). */
int cairn__store_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first);

/* Writes v as 8 bytes big-endian (log keys, counters, receipts); reads it
 * back. */
void cairn__store_put_be64(uint8_t out[8], uint64_t v);
uint64_t cairn__store_get_be64(const uint8_t in[8]);

/* An author's head: the last entry of its log held here. */
typedef struct cairn__store_head {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
  uint8_t hash[CAIRN_HASH_BYTES];
  uint64_t hlc;
} cairn__store_head;

/* Parses a heads value [seq, hash bin32, hlc] into h's seq, hash and hlc
 * (author is left as it was). Returns 0, CAIRN_ECORRUPT or CAIRN_ENOMEM. */
int cairn__store_head_parse(const MDB_val *v, cairn__store_head *h);

/* Translates an LMDB (or errno) return code into a CAIRN_E* code.
 * committing: rc came from mdb_txn_commit, where a short write on a full
 * disk is reported as EIO. */
int cairn__store_err(const cairn_store *s, int rc, int committing);

#endif
