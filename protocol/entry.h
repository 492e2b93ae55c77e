/*
 * entry.h: the signed, hash-chained log entry (docs/FORMAT.md section 1).
 *
 * Pure functions over bytes: no LMDB, no sockets, no globals beyond
 * libsodium's (call sodium_init() once before use).
 */
#ifndef CAIRN_ENTRY_H
#define CAIRN_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define CAIRN_FORMAT_VERSION 1
#define CAIRN_KEY_BYTES 32     /* Ed25519 public key = device id */
#define CAIRN_SECRET_BYTES 64  /* Ed25519 secret key (libsodium layout) */
#define CAIRN_HASH_BYTES 32    /* BLAKE2b-256 */
#define CAIRN_SIG_BYTES 64
#define CAIRN_ENTRY_MAX (64 * 1024)
#define CAIRN_BODY_MAX (60 * 1024)
/* A writer signs at least every CAIRN_ENTRY_SIGN_EVERY entries and every
 * CAIRN_ENTRY_SIGN_BYTES encoded bytes of its log, and the last entry of
 * each commit. A receiver keeps entries not yet covered by a signature
 * (FORMAT.md section 1, "Signature") up to CAIRN_ENTRY_UNSIGNED_MAX
 * entries and CAIRN_ENTRY_UNSIGNED_BYTES bytes per author. */
#define CAIRN_ENTRY_SIGN_EVERY 1024
#define CAIRN_ENTRY_SIGN_BYTES (1024 * 1024)
#define CAIRN_ENTRY_UNSIGNED_MAX 4096
#define CAIRN_ENTRY_UNSIGNED_BYTES (4 * 1024 * 1024)

typedef struct cairn_entry {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
  uint64_t hlc;
  uint8_t prev[CAIRN_HASH_BYTES];
  uint32_t kind;
  const uint8_t *body; /* borrowed: points into the decoded buffer or the caller's bytes;
                          NULL when redacted */
  size_t body_len;      /* 0 when redacted */
  int redacted;         /* the body is withheld: only body_hash is known */
  uint8_t body_hash[CAIRN_HASH_BYTES]; /* BLAKE2b-256 of the body: set by decode and by
                                          seal (from the body), or given when redacted */
  int has_sig;
  uint8_t sig[CAIRN_SIG_BYTES];
  uint8_t hash[CAIRN_HASH_BYTES]; /* set by cairn_entry_decode / cairn_entry_seal */
} cairn_entry;

/* Computes e->body_hash from the body (unless e->redacted, whose body_hash
 * is kept) and e->hash from the other fields (everything but sig), as
 * docs/FORMAT.md section 1 defines. Returns 0, or CAIRN_ETOOBIG when the
 * body is over CAIRN_BODY_MAX. Allocates nothing. */
int cairn_entry_seal(cairn_entry *e);

/* Signs the chain head at e (e->hash must be current) with the author's
 * secret key; sets e->has_sig. The key is only read. */
void cairn_entry_sign(cairn_entry *e, const uint8_t sk[CAIRN_SECRET_BYTES]);

/* Verifies e->sig over e->hash with e->author. Returns 0, or CAIRN_EBADSIG
 * (also when e has no signature). */
int cairn_entry_verify_sig(const cairn_entry *e) __attribute__((warn_unused_result));

/* Checks that e follows prev in its author's chain: same author,
 * seq == prev->seq + 1 and e->prev == prev->hash. When prev is NULL, e must
 * be seq 1 with an all-zero prev. Returns 0, CAIRN_EGAP (seq does not
 * follow) or CAIRN_EBADCHAIN (hash or author mismatch). */
int cairn_entry_follows(const cairn_entry *e, const cairn_entry *prev) __attribute__((warn_unused_result));

/* Appends the encoding of e (sealed; signed or not; redacted when
 * e->redacted) to out. Returns 0 or CAIRN_ENOMEM; on error out is as it
 * was. */
int cairn_entry_encode(const cairn_entry *e, msgpack_sbuffer *out);

/* Appends the redacted encoding of e (decoded or sealed, redacted or not)
 * to out: element 6 is its body hash instead of its body, so hash and
 * signature stay those of e. Returns 0 or CAIRN_ENOMEM (out unchanged). */
int cairn_entry_redact(const cairn_entry *e, msgpack_sbuffer *out);

/* Decodes one entry from the front of buf. On success returns 0, fills *e
 * (e->body borrows from buf; a redacted entry has e->redacted set and no
 * body), computes e->body_hash and e->hash, and sets *consumed. Returns
 * CAIRN_EAGAIN when buf holds only a prefix of an entry (nothing consumed),
 * CAIRN_EVERSION for another format version, CAIRN_ETOOBIG for an entry over
 * CAIRN_ENTRY_MAX (also as soon as a field says it would be), and
 * CAIRN_EMALFORMED for anything else. Allocates nothing. Does not verify the signature or the
 * chain. */
int cairn_entry_decode(const uint8_t *buf, size_t len, cairn_entry *e, size_t *consumed)
    __attribute__((warn_unused_result));

/* cairn_entry_decode without the hashes: e->hash is left zero, and so is
 * e->body_hash of a whole entry (a redacted one carries its own). For
 * reading back an entry that was decoded and hashed before it was kept. */
int cairn_entry_decode_unhashed(const uint8_t *buf, size_t len, cairn_entry *e,
                                size_t *consumed) __attribute__((warn_unused_result));

/* Counts the whole entries buf[0..len) holds, one after another, into *n.
 * Returns 0, or cairn_entry_decode's error for the first that does not
 * decode (a truncated last entry: CAIRN_EMALFORMED). */
int cairn_entry_count(const uint8_t *buf, size_t len, size_t *n)
    __attribute__((warn_unused_result));

/* Generated record ids (FORMAT.md section 2, "Ids"): the id cairnd gives
 * a record its author creates (a milestone, evidence, ...) names the
 * author and the seq of the creating entry, unique by construction:
 *   "n12-42"      the author's device number 12 (the central assigns it in
 *                 the device record; the central itself is 0), seq 42;
 *   "k<43>-42"    before the author has a number: its whole key, base64url
 *                 without padding (43 characters, which may hold '-' and
 *                 '_': the seq is what follows the last '-'), seq 42;
 *   "3fa2c1d9-42" written by an older cairn: the key's first 4 bytes in hex.
 *                 Still read and checked, never written. */
#define CAIRN_ENTRY_ID_MAX 72 /* room for any of them, with the NUL */
#define CAIRN_ENTRY_ID_SEQ_MAX UINT64_C(9999999999999999999) /* 19 digits: a key id fits 64 */

typedef enum cairn_entry_id_form {
  CAIRN_ID_NUMBER = 1,
  CAIRN_ID_KEY,
  CAIRN_ID_LEGACY
} cairn_entry_id_form;

typedef struct cairn_entry_gen_id {
  cairn_entry_id_form form;
  uint64_t number;                /* NUMBER */
  uint8_t key[CAIRN_KEY_BYTES];   /* KEY: the key; LEGACY: its first 4 bytes */
  uint64_t seq;
} cairn_entry_gen_id;

/* Writes the id of the record created by entry seq of the device with
 * that number ("n12-42"), or of the device with that key when it has no
 * number yet ("k...-42"), into out (CAIRN_ENTRY_ID_MAX bytes). */
void cairn_entry_id_number(uint64_t number, uint64_t seq, char *out);
void cairn_entry_id_key(const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq, char *out);

/* Reads id[0..len) as a generated id into *out. Returns 0, or
 * CAIRN_EINVAL when it is not one (a person's id, "ana-8", is not). Pure. */
int cairn_entry_id_parse(const char *id, size_t len, cairn_entry_gen_id *out)
    __attribute__((warn_unused_result));

/* Returns 1 when generated id g names the author (whose device number is
 * number, or -1 when it has none) and seq, else 0. */
int cairn_entry_id_names(const cairn_entry_gen_id *g, const uint8_t author[CAIRN_KEY_BYTES],
                         int64_t number, uint64_t seq);

#endif
