/*
 * store_int.h: what the files of store/ share (docs/ARCHITECTURE.md, "The
 * store's files"): record state and merge (store_view.c), the apply and
 * write paths (store_apply.c, store_write.c, store_recv.c), the readers.
 * Internal to store/.
 */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <msgpack.h>

#include "body.h"
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
  /* Held for reading by the reads another thread may make while the loop
   * thread grows the map (cairn_store_version_vector, the log reads,
   * cairn_store_record_student), for writing by cairn_store_grow: LMDB
   * may not remap under an open read transaction. */
  pthread_rwlock_t grow_lock;
  int grow_lock_made;
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
  MDB_dbi arrivals;   /* campus NUL classroom NUL student -> hlc BE8: the student came
                         into that classroom by a write at hlc (local) */
  MDB_dbi histories;  /* student -> hlc BE8: this device holds the student's history up
                         to their arrival at hlc (local) */
  MDB_dbi reach;      /* author || campus NUL classroom -> "": the author wrote an entry
                         naming that classroom (local) */
  MDB_dbi erased;     /* type(u8) || id -> student id: a record of an erased student
                         (local, store_erase.c) */
  atomic_int compact_wanted; /* meta "compact": an erasure left old bytes on free pages;
                                set by the writer's commit, read on the loop thread
                                (atomic: ThreadSanitizer cannot see libuv order them) */
  void (*compact_stage)(const char *stage, void *arg); /* test hook (cairn_store_opts) */
  void *compact_arg;
  uint64_t map_size;  /* the map size the environment was opened (or grown) with */
  atomic_uint reach_epoch; /* one more after each commit that added a reach key */
  atomic_uint arrival_epoch; /* one more after each commit that changed the arrivals */
  /* the central's key: written once, by the thread that writes (a join),
   * while the loop thread reads it: the bytes are written before
   * have_central becomes 1 (an atomic store), and never again */
  atomic_int have_central;
  int restored; /* meta "restored": local writes wait for the upstream (writer thread) */
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
  msgpack_sbuffer body_buf, rec_buf, last_body, release_buf;
  cairn__store_rec apply_rec;
  struct cairn__store_decoded *ents; /* entries of one apply_entries buffer */
  size_t ents_cap;
  struct cairn__store_decoded *run; /* one author's run: staged, then received */
  size_t run_cap;
  msgpack_sbuffer stage_buf; /* copies of the staged entries of that run */
  /* At rest (store_seal.c): the key store, and the key tagging a student */
  struct cairn_keystore *keys;
  int keys_made;  /* the key store file was made by this open */
  int keys_wrong; /* it was made under another device key (keys stays NULL) */
  int sealing;    /* this open sealed an older store: its compaction says "sealed" */
  uint8_t tag_key[32];
  uint8_t node_tag[16];
  uint8_t nonce_base[16];      /* random at each open: record nonces' first part */
  atomic_uint_fast64_t nonce_count; /* and their count since */
  /* The entry a local write has folded but not yet put in the log (its
   * batch puts it once, later: store_write.c), for a record state that
   * refers to it; unlogged_txn is its transaction, NULL when none. */
  _Atomic(MDB_txn *) unlogged_txn;
  cairn_entry unlogged;
  msgpack_sbuffer seal_buf;  /* writer thread: one sealed value */
  msgpack_sbuffer open_buf;  /* writer thread: one opened entry body */
  /* Compression before sealing (store_seal.c): the writer's context and
   * scratch, and opened contexts kept for readers of any thread. */
  struct ZSTD_CCtx_s *pack_ctx;
  msgpack_sbuffer pack_buf;
  pthread_mutex_t unpack_lock;
  int unpack_lock_made;
  struct ZSTD_DCtx_s *unpack_ctx[4];
  int unpack_n;
};

/* ---- at rest (store_seal.c, FORMAT.md section 8) ---- */

/* Opens the key store DATA/store/keys under a key derived from the device
 * key (making it when absent), and derives the tag key. A key store of
 * another device key is left closed (s->keys NULL: nothing opens, nothing
 * is made) for cairn__store_seal_check to refuse once the store's own
 * check of its device has run. Returns 0 or cairn_keystore_open's code. */
int cairn__store_seal_init(cairn_store *s);

/* Once the store's databases are open: CAIRN_ENOKEY when the key store is
 * another device key's, or was missing beside a store that holds entries
 * while no upgrade is about to seal it; else 0. */
int cairn__store_seal_check(cairn_store *s);

/* An open that failed: closes the key store, and removes it when this open
 * made it and it holds no key (a store refused leaves its directory as it
 * was). */
void cairn__store_seal_abandon(cairn_store *s);

/* The tag of student sid's data key (a keyed hash: it names no one), and
 * the node's own tag (for what concerns no student). */
void cairn__store_student_tag(const cairn_store *s, const char *sid, size_t len, uint8_t tag[16]);
const uint8_t *cairn__store_node_tag(const cairn_store *s);

/* 1 with the tag of stored value v when it is sealed, 0 when it is not. */
int cairn__store_sealed_tag(const void *v, size_t len, uint8_t tag[16]);

/* Seals what a store of an older format keeps in clear (records, log and
 * staged entries), a chunk per write transaction, when meta "reseal" says
 * so (the step from format 3 does); then drops the mark and marks the
 * store for compaction (the clear bytes are left on free pages). Resumes
 * after a crash. 0 or a negative code. */
int cairn__store_reseal(cairn_store *s);

/* The step from format 3: notes meta "reseal" (cairn__store_reseal). */
int cairn__store_reseal_begin(cairn_store *s, MDB_txn *txn);

/* Forgets student sid's data key in the key store (durably): what was
 * sealed under it no longer opens. 0 or CAIRN_EIO. */
int cairn__store_forget_student(cairn_store *s, const char *sid, size_t len);

/* Seals record state plain[0..len) under the key of tag (made, durably,
 * when new) into out (cleared first), compressed first when it is long
 * and that saves an eighth (writer thread). 0, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn__store_seal_rec(cairn_store *s, const uint8_t tag[16], const void *plain, size_t len,
                          msgpack_sbuffer *out);

/* Frees what compression kept (contexts, scratch) and its lock: at close. */
void cairn__store_pack_free(cairn_store *s);

/* Opens stored record value v of txn's store into *plain: a sealed value
 * is decrypted into zone z, a reference to its one write is made whole
 * from that write's entry (into z), one written before sealing is v
 * itself. Returns 0, CAIRN_ENOTFOUND (its key, or its entry's, was
 * forgotten: its student was erased), CAIRN_ECORRUPT (also a reference
 * to an entry not in the log), CAIRN_EIO, CAIRN_ENOMEM. */
int cairn__store_open_rec(MDB_txn *txn, const MDB_val *v, msgpack_zone *z, MDB_val *plain);

/* Puts at k in dbi, with mdb_put's flags, the state of a record that one
 * write made: a reference to that write (its effective HLC eff, author and
 * seq) and the tag of its key, not the write again (FORMAT.md section 8,
 * "Records of one write"). Its entry is in the log of txn, or is the
 * unlogged one (cairn__store_unlogged). Returns as cairn__store_put_rec. */
int cairn__store_put_ref(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                         const uint8_t tag[16], uint64_t eff, const uint8_t *author, uint64_t seq,
                         unsigned flags, MDB_val *had);

/* Notes entry e (its body borrowed until the next call) as folded in txn
 * but not yet in its log; NULL: none. Writer thread. */
void cairn__store_unlogged(cairn_store *s, MDB_txn *txn, const cairn_entry *e);

/* Packs the write of entry e (body b) at effective HLC eff as a record
 * state holds it: [eff, author, seq, set, base|nil, why|nil, scope], each
 * part copied from the body as it is encoded there (b's spans). */
void cairn__store_pack_write(msgpack_packer *pk, uint64_t eff, const uint8_t *author, uint64_t seq,
                             const cairn_body *b);

/* Seals plain under tag (s->seal_buf) and puts it at k in dbi with
 * mdb_put's flags. Returns 0, 1 (MDB_NOOVERWRITE and k exists: *had, when
 * not NULL, gets the stored value), or a negative code. */
int cairn__store_put_rec(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                         const uint8_t tag[16], const void *plain, size_t len, unsigned flags,
                         MDB_val *had);

/* Writes into out (cleared first) the stored form of entry e (decoded or
 * sealed, with its body unless redacted): its body sealed under tag's key
 * (made, durably, when new). A redacted entry is stored as it is. Returns
 * 0, CAIRN_ENOMEM, CAIRN_EIO. */
int cairn__store_seal_entry(cairn_store *s, const uint8_t tag[16], const cairn_entry *e,
                            msgpack_sbuffer *out);

/* Decodes stored log or staged value v[0..len) into e. A sealed body
 * whose key is held is opened into body (e->body borrows it), or, when
 * body is NULL, left closed: e is whole (not redacted) with e->body NULL,
 * for a reader of its other fields. One whose key was forgotten comes
 * back redacted (its body hash known). A value written before sealing
 * borrows from v. tag (may be NULL) gets the value's tag (the node's for
 * one not sealed). Returns 0, CAIRN_ECORRUPT, CAIRN_ENOMEM. */
int cairn__store_entry_get(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                           cairn_entry *e, uint8_t tag[16]);

/* Appends to out the entry stored as v, as it travels (its body opened,
 * or redacted when its key is forgotten); body is scratch, e gets it
 * decoded. Returns 0, CAIRN_ECORRUPT, CAIRN_ENOMEM. */
int cairn__store_entry_plain(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                             msgpack_sbuffer *out, cairn_entry *e);

/* Takes s->grow_lock for writing (grow 1: cairn_store_grow) or reading
 * (0: a read another thread may make), or releases it. No-ops when the
 * lock could not be made. */
void cairn__store_grow_lock(cairn_store *s, int grow);
void cairn__store_grow_unlock(cairn_store *s);

/* Writes the records key type || id into key (CAIRN__STORE_KEY_MAX bytes)
 * and returns its length. */
size_t cairn__store_rec_key(uint8_t *key, int type, const char *id, size_t idlen);

/* Decodes a stored state array (borrowed bytes) into r, allocating objects
 * in z. Returns 0, CAIRN_ECORRUPT, CAIRN_ENOMEM. r keeps its buffer. */
int cairn__store_rec_parse(const void *data, size_t len, msgpack_zone *z, cairn__store_rec *r);

/* Opens (store_seal.c) and decodes stored record value v of txn's store
 * into r, objects and opened bytes in z. Returns 0, CAIRN_ENOTFOUND (its
 * key was forgotten), CAIRN_ECORRUPT, CAIRN_ENOMEM. */
int cairn__store_rec_read(MDB_txn *txn, const MDB_val *v, msgpack_zone *z, cairn__store_rec *r);

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
#define CAIRN__STORE_SCOPE_ROOMS CAIRN_BODY_SCOPE_ROOMS

/* 1 when scope is a body's scope: an array [campus, classroom, ...] of 2
 * to 1 + CAIRN__STORE_SCOPE_ROOMS strings (cairn_body_scope_valid). */
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

/* Makes *arr w as a body's scope array; its strings borrow from w, its
 * items are the caller's (1 + CAIRN__STORE_SCOPE_ROOMS of them). */
void cairn__store_where_object(const cairn__store_where *w, msgpack_object *items,
                               msgpack_object *arr);

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

/* ---- shared by the files of the log, apply and write paths ----
 *   store.c        the environment: errors, time, open and close
 *   store_apply.c  the one apply path: decode, authorize, hold, fold
 *   store_write.c  local writes: batches of puts and their rules
 *   store_recv.c   received entries: verify, stage, apply; date repair
 *   store_log.c    reading an author's log, scoped for a peer
 *   store_check.c  the self-check
 *   store_seal.c   values at rest: sealed under a student's or the node's key
 * Each points only at store_int.h; none includes another. */

#define CAIRN__STORE_WHY_MAX CAIRN_BODY_WHY_MAX /* bytes of a write's reason */
#define CAIRN__STORE_CHECK_DBS 4  /* the check's scratch databases */

/* How cairn__store_apply_entry treats an entry's write. */
typedef enum cairn__store_apply_mode {
  CAIRN__STORE_APPLY_TRUSTED, /* local writes and cairn_store_apply_entries: fold every write */
  CAIRN__STORE_APPLY_SYNCED,  /* from a peer: fold only authorized writes, quarantine the rest */
  CAIRN__STORE_APPLY_REPLAY   /* the check's rebuild from the log: skip quarantined entries */
} cairn__store_apply_mode;

/* A run of one author's entries the central re-dates at the end of the
 * transaction (FORMAT.md section 1, "Time"). */
typedef struct cairn__store_stamp_run {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t from, to;
} cairn__store_stamp_run;

/* One transaction's application of entries. The current author's head is
 * cached and written back once when the author changes or at the end. */
typedef struct cairn__store_apply {
  cairn_store *s;
  MDB_txn *txn;
  MDB_dbi heads, records, children, restamps;
  cairn__store_apply_mode mode;
  int write_log; /* 0 when rebuilding from the log itself */
  const cairn_body *typed; /* while a local write is applied: its body as
                              store_write.c built it (its set checked), so
                              the fold does not decode it again */
  /* CAIRN__STORE_APPLY_SYNCED: the author of the run being applied. */
  int author_is_central;
  cairn_scope author_scope;
  int author_scope_known; /* author_scope was read from the author's device record */
  uint64_t revoked_after; /* the author's device is revoked after this seq (UINT64_MAX: not) */
  int64_t author_number;  /* the author's device number (0: the central; -1: none) */
  uint64_t refused;     /* entries refused or quarantined in this txn */
  uint64_t quarantined; /* of which quarantined (stored, not folded) */
  int have_head, head_dirty;
  cairn__store_head cur;
  /* Time. */
  uint64_t ceiling;     /* cairn__store_hlc_ceiling() when the transaction began */
  int is_central;       /* this node is the central: it re-dates, others hold */
  uint64_t cur_eff;     /* effective HLC of the current author's head (the central) */
  int cur_restamped;    /* the current author's run is being re-dated from here on */
  int author_has_stamps; /* some restamp record names the current author */
  uint64_t held;        /* entries held in this txn */
  uint64_t unheld;      /* held entries of an erased student, quarantined in this txn */
  uint64_t erased;      /* of the quarantined, entries about an erased student */
  int erasure;          /* an erasure was folded in this txn: compaction is wanted */
  uint64_t released;    /* held entries folded in this txn (re-dated or due) */
  int64_t ahead_ms;     /* the most an entry held or re-dated here was ahead */
  cairn__store_stamp_run *stamps;    /* the central's runs to re-date at the end */
  size_t nstamps, stamps_cap;
  int restamped;        /* a restamp record was folded in this txn */
  uint64_t max_hlc;
  int own_changed;
  cairn__store_head own; /* this device's head after the txn, when own_changed */
  char *why;
  size_t whylen;
  /* the last (author, scope) put in the reach index in this txn, and
   * whether the txn added a key to it */
  uint8_t reach_author[CAIRN_KEY_BYTES];
  uint64_t reach_sum;
  int reach_valid, reach_added;
  int arrival_added; /* the txn added or moved a key of the arrivals index */
  /* At rest: the key tag of the entry being folded (store_seal.c), and
   * whether its body must be stored withheld (an erased student's) */
  uint8_t tag[16];
  int log_withheld;
  /* the last parent record whose sealed tag entry_tag read */
  int parent_tag_valid, parent_type;
  size_t parent_len;
  char parent_id[CAIRN__STORE_ID_MAX];
  uint8_t parent_tag[16];
} cairn__store_apply;

/* A local write batch: one write transaction of this device's puts
 * (store_write.c), also used to write the central's restamps
 * (store_recv.c). */
/* Puts into tag the tag entry e (whole, decoded) is sealed under, as
 * the apply path chooses it (c: an apply of this transaction). 0 or an
 * error. */
int cairn__store_entry_tag(cairn__store_apply *c, const cairn_entry *e, uint8_t tag[16]);

/* Folds entry e (whole) and, when write_log, stores it at its log key
 * (also for a redacted entry's body that arrived later, cairn_store_fill,
 * with the author's head loaded):
 * its body sealed under the key fold chose for it, or withheld when it
 * concerns an erased student. Returns 0 or a negative code. */
int cairn__store_fold_logged(cairn__store_apply *c, const cairn_entry *e, int write_log);

/* Stores entry e (whole) at its log key, its body sealed under tag's key,
 * or withheld: what cairn__store_fold_logged would have stored after the
 * fold that chose them. 0 or a negative code. */
int cairn__store_log_put_as(cairn__store_apply *c, const cairn_entry *e, const uint8_t tag[16],
                            int withheld);

typedef struct cairn__store_batch {
  cairn_store *s;
  cairn__store_apply ac;
  uint64_t seq; /* this device's head while the batch is built */
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn__store_rec rec, ref; /* the put's record; a record it refers to */
  size_t *idx;
  size_t idx_cap;
  /* The last milestone looked up (many evidence puts name the same one);
   * dropped when a student or milestone is written. */
  int ms_valid;
  char ms_id[CAIRN__STORE_ID_MAX];
  size_t ms_idlen;
  cairn_scale ms_scale;
  int32_t ms_start, ms_end; /* its timeframe; ms_end < ms_start when unreadable */
  cairn__store_where ms_where; /* its student's campus and classrooms */
  /* The put being built. */
  cairn__store_where where; /* the scope its entry carries */
  msgpack_object scope, scope_items[1 + CAIRN__STORE_SCOPE_ROOMS]; /* where, typed */
  msgpack_object base, why; /* its body's base (a map; empty: none) and reason */
  char gen_id[CAIRN_ENTRY_ID_MAX];
  char showed[256];
  int set_revoked_after;  /* the put revokes a device: revoked_after is added */
  uint64_t revoked_after;
  int set_number;         /* the put gives a device its number */
  uint64_t number;
  int64_t own_number;     /* this device's number; -1 none; -2 not read yet */
  uint64_t own_hlc;       /* the HLC of this device's last entry so far */
  int commit_anyway;      /* commit though this device wrote nothing (received entries) */
  cairn_entry last;
  int have_last;
  /* The last entry is put in the log by the next write's apply or,
   * signed, by the batch's end (cairn__store_batch_flush): each entry is
   * sealed and put once. Its key tag and withholding, as the fold chose. */
  int last_pending;
  uint8_t last_tag[16];
  int last_withheld;
  size_t unsigned_n, unsigned_bytes; /* entries (and body bytes) since the last signed */
} cairn__store_batch;

/* Puts the batch's pending last entry in the log: signed first when sign
 * (it may end the batch), else as it is (unsigned, unless signed along
 * the way: another entry follows it). Anything that reads this device's
 * log in the batch's transaction calls it first. 0 or a negative code. */
int cairn__store_batch_flush(cairn__store_batch *b, int sign);

/* How far (ms) hlc is ahead of the reference clock, or 0. */
int64_t cairn__store_ahead_ms(const cairn_store *s, uint64_t hlc);
/* The one received-entries path: buf holds entries in author/seq order;
 * each author's run is checked (signatures, chain) and applied in one
 * transaction according to mode (apply_run). Sets *res: the new entries
 * stored (minus the quarantined and the held), refused, quarantined, held,
 * re-dated by this central, and staged. runs (NULL: not wanted) gets what
 * cairn_store_apply_synced_runs describes. */
int cairn__store_apply_buffer(cairn_store *s, const uint8_t *buf, size_t len, cairn__store_apply_mode mode,
                        cairn_apply_result *res, cairn_vv_item **runs, size_t *nruns);
/* Commits txn (with the refusal counter) and, when that succeeded,
 * publishes what it changed. Frees c either way. */
int cairn__store_apply_commit(cairn__store_apply *c);
/* THE apply path: every entry, local or received, goes through here.
 * bytes[0..len) is e's encoding, used only when e is redacted (a whole
 * entry is stored sealed, store_seal.c: NULL is fine for one).
 * Returns 1 when stored (and folded, unless redacted, quarantined or held),
 * 0 when already held, or a negative code (with c->why set for chain and
 * body problems). */
int cairn__store_apply_entry(cairn__store_apply *c, const uint8_t *bytes, size_t len, const cairn_entry *e);
/* Frees what c allocated (not the transaction). */
void cairn__store_apply_free(cairn__store_apply *c);
void cairn__store_apply_init(cairn__store_apply *c, cairn_store *s, MDB_txn *txn, cairn__store_apply_mode mode);
void cairn__store_author_tag(const uint8_t *author, char out[9]);
/* Starts a batch of writes: one write transaction, in which held entries
 * that have come due are folded first. Returns 0 or an error; either way
 * the caller ends it with batch_finish. */
int cairn__store_batch_begin(cairn__store_batch *b, cairn_store *s);
/* Ends a batch begun with result rc: when rc is 0 and something was
 * written, signs the last entry (its signature covers the chain) and
 * commits durably; otherwise aborts. Frees the batch. Returns the outcome. */
int cairn__store_batch_finish(cairn__store_batch *b, int rc);
/* Returns 1 when (author, seq) is a key of dbi in txn, 0 when not, or an
 * error. */
int cairn__store_has_entry_key(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                         uint64_t seq);
int cairn__store_head_flush(cairn__store_apply *c);
int cairn__store_head_get(MDB_txn *txn, MDB_dbi dbi, const cairn_store *s, const uint8_t *author,
                    cairn__store_head *h);
/* The highest HLC this node takes as dated "now": its reference clock (the
 * wall clock corrected by the offset to the central's clock it last
 * learned) plus the tolerance, every counter bit set. */
uint64_t cairn__store_hlc_ceiling(const cairn_store *s);
/* The HLC of this device's next entry: later than everything it folded
 * (last), but never beyond the ceiling for that; later than
 * its own last entry (own), so that its own edits keep their order; and
 * at least its wall clock. Saturates instead of wrapping. */
uint64_t cairn__store_hlc_next(const cairn_store *s, uint64_t last, uint64_t own);
/* Returns 1 when entry e is in the quarantine, 0 when not, or an error. */
int cairn__store_is_quarantined(cairn_store *s, MDB_txn *txn, const cairn_entry *e);
void cairn__store_log_key(uint8_t key[CAIRN_KEY_BYTES + 8], const uint8_t *author, uint64_t seq);
/* Skips one msgpack value at p[*off..len); returns 0, or -1 when it is
 * truncated or not msgpack. Used to copy spans of a body without
 * re-encoding them (the body was decoded already). */
int cairn__store_mp_skip(const uint8_t *p, size_t len, size_t *off);
/* Held entries this node's clock has reached since they arrived are folded
 * at their own date. */
int cairn__store_release_due(cairn__store_apply *c);
/* Looks up, in the restamp index dbi, the restamp record that covers entry
 * (author, seq). Returns 1 and its HLC in *eff, 0 when none does, or an
 * error. */
int cairn__store_stamp_lookup(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                        uint64_t seq, uint64_t *eff);
/* Appends run to the runs the central re-dates at the end. */
int cairn__store_stamp_push(cairn__store_apply *c, const cairn__store_stamp_run *run);
/* Compares writes by (hlc, author, seq). */
int cairn__store_write_cmp(uint64_t hlc, const uint8_t *author, uint64_t seq,
                     const cairn__store_write *w);
/* The central re-dates, in its own log, each run it held in this
 * transaction: one restamp record per run, at its current HLC. The folds
 * release the held entries in order. */
int cairn__store_write_restamps(cairn__store_batch *b);


/* Records a refusal of entry e: counted, and its reason kept when it is the
 * first of the transaction. */
void cairn__store_note_refusal(cairn__store_apply *c, const cairn_entry *e, uint64_t n, const char *what);
void cairn__store_pack_cstr(msgpack_packer *pk, const char *s);
/* Validates, builds and applies one put. Returns 0 (applied, or refused
 * with p->result set) or a negative code that fails the whole batch. */
int cairn__store_write_one(cairn__store_batch *b, cairn_put *p);
int cairn__store_head_load(cairn__store_apply *c, const uint8_t *author);
/* Writes "author TAG seq N: what" into c->why (when given); returns rc. */
int cairn__store_set_why(cairn__store_apply *c, const cairn_entry *e, int rc, const char *what);


/* ---- store_history.c: a student's history follows them ---- */

/* Fills the arrivals and reach indexes from the records of txn, as the
 * folds of their writes would have (a store written by a cairn that kept
 * neither: a migration step). Returns 0 or an error. */
int cairn__store_history_reindex(cairn_store *s, MDB_txn *txn);

/* Called after an entry (author e->author, body scope `scope`) about a
 * student was folded: notes in the reach index each classroom it names,
 * so that a link sends the author's chain to that classroom's devices (a
 * student of two classrooms). Returns 0 or an error. */
int cairn__store_reach_note(cairn__store_apply *c, const cairn_entry *e,
                            const msgpack_object *scope);

/* Writes into sid the student that an entry's body (a map; kind its
 * record type) is about: the student itself, a milestone's student, or the
 * student of the milestone an evidence, review, support change or
 * celebration hangs under (an edit's parent read from the record in
 * txn). Returns 1, 0 when the entry is about no student (or its parent is
 * not held), or an error. Objects are allocated in z. */
int cairn__store_body_student(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int kind,
                              const msgpack_object *body, char sid[CAIRN__STORE_ID_MAX + 1]);

/* The same for record (type, id[0..len)) held in txn. */
int cairn__store_rec_student(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int type,
                             const char *id, size_t len, char sid[CAIRN__STORE_ID_MAX + 1]);

/* Calls fn(type, id, len, arg) for record (kind, id[0..len)) and then for
 * each record above it, up to the student: its parent is the one set (a
 * write's fields; NULL: none) names, else (with load) the one of the
 * record held in txn. len may be 0 (a creation whose generated id is not
 * known yet): the walk then goes on only by set. Stops at fn's first
 * non-zero return and returns it; 0 once no parent is known; or an error.
 * Objects in z. */
int cairn__store_walk_up(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int kind,
                         const char *id, size_t len, const msgpack_object *set, int load,
                         int (*fn)(int type, const char *id, size_t len, void *arg), void *arg);

/* 1 when student sid[0..len) is held and their campus and classrooms now
 * (the record's values) lie inside sc; 0 when not; or an error. */
int cairn__store_student_within(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                                const char *sid, size_t len, const cairn_scope *sc);

/* Called before a student write (scope its body's scope, at hlc) that
 * does not create the record is folded (not in a replay): each classroom
 * it names that the student's latest write did not is recorded in the
 * arrivals database (campus, classroom, student -> the latest such hlc),
 * so that links offer the student's older history to that classroom's
 * devices. Returns 0 or an error. */
int cairn__store_arrival_note(cairn__store_apply *c, const char *sid, size_t len,
                              const msgpack_object *scope, uint64_t hlc);

/* ---- erasing a student (store_erase.c) ---- */

/* Forgets (keystore.h: overwritten in place, durably) the data key of
 * every erased student: what their entries and records left on free pages
 * or in older copies no longer opens. Idempotent; run by each erasure's
 * compaction (also one a crash left to finish). 0 or a negative code. */
int cairn__store_forget_erased(cairn_store *s);

/* The quarantine's reason for an entry about an erased student. */
#define CAIRN__STORE_ERASED_WHY "about an erased student: its body is not kept"

/* 1 when (type, id) is a record of an erased student, 0 when not, or an
 * error. */
int cairn__store_erased_has(cairn_store *s, MDB_txn *txn, int type, const char *id,
                            size_t idlen);

/* 1 when a write of record (kind, id) setting set (NULL: none) is about an
 * erased student: the record, or the parent set names, is a record of one
 * (an erasure notes every record of the student, and each that comes
 * after it, so no record needs to be read: two lookups, for the apply
 * path's every entry); with note, the record is then noted as erased too,
 * so that its later edits are recognised. 0 when not, or an error. Objects
 * are allocated in z. */
int cairn__store_erased_about(cairn_store *s, MDB_txn *txn, msgpack_zone *z, int kind,
                              const char *id, size_t idlen, const msgpack_object *set,
                              int note);

/* Rewrites entry (author, seq) of dbi (the log, or the staged entries) in
 * its redacted form (entry.h, cairn_entry_redact): the same hash and
 * signature, no body. Nothing when it is not there or already redacted.
 * Returns 0 or an error. */
int cairn__store_redact_logged(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, const uint8_t *author,
                               uint64_t seq);

/* The migration step from store format 2 (store_migrations.c): the
 * erased database is created by the open; a store of format 2 erased no
 * one, so nothing else is to do. Returns 0. */
int cairn__store_erased_begin(cairn_store *s, MDB_txn *txn);

/* Applies the erasure of student sid in c's transaction (FORMAT.md
 * section 3.4): withholds the body of every entry about them (in the log,
 * the quarantine, the held and the staged entries), deletes their records,
 * children, arrivals and histories rows, notes every id erased, and marks
 * the store for compaction (meta "compact"). Returns 0 or an error. */
int cairn__store_erase_student(cairn__store_apply *c, const char *sid, size_t sidlen);

/* ---- the store's format and its migrations (store_upgrade.c) ---- */

/* One migration step: brings a store of format `from` to from + 1. run
 * returns 0 or a negative code; it runs inside the one write transaction
 * that opens the store, after every database is open (s's handles) and
 * before anything is read from them, so a failure leaves the store as it
 * was. */
typedef struct cairn__store_migration {
  unsigned from;
  int (*run)(cairn_store *s, MDB_txn *txn);
} cairn__store_migration;

/* The real steps, in order, ending with {0, NULL}, and the format they
 * lead to (CAIRN_STORE_FORMAT): store_migrations.c, which a test build
 * replaces. */
extern const cairn__store_migration cairn__store_migrations[];
extern const unsigned cairn__store_format_now;

/* Reads meta "format" in txn: 0 and *format (0 when the store is new).
 * CAIRN_ECORRUPT when it is not one nonzero byte. */
int cairn__store_format_get(MDB_txn *txn, MDB_dbi meta, unsigned *format);
/* The same in a read transaction of its own on env (which opens "meta"
 * without creating it: nothing is written). */
int cairn__store_format_read(MDB_env *env, unsigned *format);
/* Whether steps lead from format found to format: 0; CAIRN_EVERSION when
 * found is newer; CAIRN_ECORRUPT when a step is missing. */
int cairn__store_migration_check(const cairn__store_migration *steps, unsigned found,
                                 unsigned format);
/* Runs the steps from found to format in txn, then writes meta "format".
 * Returns 0 or the first step's error (the caller aborts txn). */
int cairn__store_migrate(cairn_store *s, MDB_txn *txn, const cairn__store_migration *steps,
                         unsigned found, unsigned format);
/* cairn_store_open with the steps and the format they lead to:
 * cairn_store_open passes cairn__store_migrations and
 * cairn__store_format_now, the unit tests a table of their own. */
int cairn__store_open_at(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                         const cairn_store_opts *opts, const cairn__store_migration *steps,
                         unsigned format);

#endif
