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
 *                                           base map|nil, why str|nil]
 *   children parent_type(u8) || parent_id || 0x00 || type(u8) || id -> ""
 *   meta     "format" -> 1, "self" -> own public key
 *
 * Local writes and entries from other devices go through one function,
 * apply_entry() in store.c: check the chain, append to the log, fold the
 * write into its record. State is therefore always a function of the log.
 *
 * Threads: one writer at a time (cairn_store_write_batch,
 * cairn_store_apply_entries, cairn_store_grow); readers may run in another
 * thread concurrently (the environment is opened MDB_NOTLS). Never
 * MDB_WRITEMAP: a full disk must be an error, not SIGBUS.
 */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "entry.h"

typedef struct cairn_store cairn_store;

typedef struct cairn_store_opts {
  uint64_t map_size;       /* initial LMDB map size in bytes; 0 = 64 MiB */
  int64_t clock_offset_ms; /* test-only skew added to the wall clock for the HLC */
} cairn_store_opts;

/* Opens (creating if needed) the store in dir/store for the device whose
 * secret key is sk (borrowed; must outlive the store). Returns 0 and *out,
 * owned by the caller (cairn_store_close). Errors: CAIRN_ENOTFOUND when dir
 * does not exist, CAIRN_EPERM, CAIRN_ECORRUPT / CAIRN_EVERSION for a store
 * written by something else, CAIRN_EIO. */
int cairn_store_open(cairn_store **out, const char *dir, const uint8_t sk[CAIRN_SECRET_BYTES],
                     const cairn_store_opts *opts);

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
  /* out */
  int result;            /* 0, or why this put was refused */
  char id_out[72];       /* the record id */
  char message[256];     /* one line naming the field when result != 0 */
} cairn_put;

/* Validates each put against the schema and the current state (referenced
 * records exist, values on the milestone's scale, student id new on create,
 * if/then rules readable), then in ONE LMDB transaction appends an entry per
 * accepted put to this device's log, signs the last one, applies them, and
 * commits durably (fsync). A refused put gets its own result and message
 * and writes nothing; the others still commit.
 *
 * Returns 0 when the transaction committed (or there was nothing to write);
 * otherwise nothing at all was written and every put's result is set to the
 * returned code: CAIRN_EMAPFULL (call cairn_store_grow, then retry),
 * CAIRN_ENOSPC (disk full), CAIRN_EIO. Writer thread only. */
int cairn_store_write_batch(cairn_store *s, cairn_put *puts, size_t n);

/* Doubles the LMDB map size. No transaction of this process may be open.
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

/* Reads. Each runs in its own read transaction and packs its answer into pk
 * as one msgpack value; the shapes are documented in docs/FORMAT.md s.5 and
 * printed by `cairn ... --json`. */

/* Packs an array of milestone status maps, for one student or all (student
 * NULL), computed at day `today`. Returns 0, CAIRN_ENOTFOUND (unknown
 * student), CAIRN_EIO. */
int cairn_store_status(cairn_store *s, const char *student, int32_t today, msgpack_packer *pk);

/* Packs one page of the canonical export: an array of the records that
 * come after the cursor `after` (after_len 0: from the first), sorted by
 * type then id, each with its current fields, history and conflicts. Two
 * stores holding the same entries pack identical bytes. The page ends after
 * the record that brings it to max_bytes (0: no limit); the cursor of its
 * last record is then copied to next with *next_len set, and *next_len is
 * 0 when the export is complete. Each page is its own read transaction. */
#define CAIRN_STORE_CURSOR_MAX 65 /* a record's key: type byte + id */
int cairn_store_export(cairn_store *s, const uint8_t *after, size_t after_len, size_t max_bytes,
                       msgpack_packer *pk, uint8_t next[CAIRN_STORE_CURSOR_MAX],
                       size_t *next_len);

/* Packs one record (any type) with its history. CAIRN_ENOTFOUND if absent. */
int cairn_store_show(cairn_store *s, const char *id, msgpack_packer *pk);

/* Packs the array of fields in conflict across all records. */
int cairn_store_conflicts(cairn_store *s, msgpack_packer *pk);

/* Verifies the whole store without changing it: every author's chain links
 * and is covered by verified signatures, and the records equal a rebuild
 * from the log. Problems are reported through report(line, arg), one plain
 * sentence each. Returns 0 when clean, CAIRN_ECORRUPT when any problem was
 * found, or another negative code when it could not check. */
int cairn_store_check(cairn_store *s, void (*report)(const char *line, void *arg), void *arg);

/* Appends to out the encoded entries of author from seq `from` (inclusive)
 * on, at most max of them, in seq order; sets *count. The last one copied
 * may be unsigned: a receiver needs the run up to a signed entry, so
 * callers extend to the next signed entry (this function does: it stops
 * only after a signed entry, or at the end of the log). */
int cairn_store_read_log(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES], uint64_t from,
                         size_t max, msgpack_sbuffer *out, size_t *count);

/* This device's public key and its own log's head (seq 0 when empty). */
const uint8_t *cairn_store_device(const cairn_store *s);
uint64_t cairn_store_own_seq(const cairn_store *s);

#endif
