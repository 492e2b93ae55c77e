/*
 * store_seal.c: student content at rest (FORMAT.md section 8, "At rest").
 * Every record state and every logged or staged entry body is kept sealed
 * with XChaCha20-Poly1305 under a data key from the key store
 * (keystore.h): a student's own key for what concerns a student, the
 * node's key for the rest. The key's tag travels in clear beside the
 * ciphertext, so a value opens without knowing whose it is; a value whose
 * key was forgotten (an erased student) no longer opens. A long value is
 * compressed (zstd) before it is sealed when that saves enough (FORMAT.md
 * section 8, "Compressed values"): its form byte says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "error.h"
#include "keystore.h"
#include "record.h"
#include "store_int.h"

#define SEAL_MARK 0xc1 /* a msgpack byte that never starts a value */
#define SEAL_REC 'R'
#define SEAL_ENTRY 'E'
#define SEAL_REC_PACKED 'r'   /* a record state compressed, then sealed */
#define SEAL_ENTRY_PACKED 'e' /* an entry whose body was compressed, then sealed */
#define SEAL_REF 'W'          /* a record of one write: a reference to its entry */
#define PACK_MIN 512          /* shorter values are sealed as they are */
#define PACK_LEVEL 1          /* zstd's fastest level: the writer pays it per value */
#define REC_MAX (16u << 20)   /* no record state of cairn's opens to more */
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define TAG CAIRN_KEYSTORE_TAG_BYTES
#define HEAD (2 + TAG) /* mark, form, tag */
#define REF_LEN (HEAD + 8 + 8 + CAIRN_KEY_BYTES) /* ... eff, seq, author */

static const char tag_context[] = "cairn student tag v1";
static const char wrap_context[] = "cairn key store v1";

int cairn__store_seal_init(cairn_store *s) {
  uint8_t wrap[CAIRN_KEYSTORE_KEY_BYTES];
  /* both from the seed of the device key: the key store opens only with it */
  crypto_generichash(wrap, sizeof wrap, (const uint8_t *)wrap_context, sizeof wrap_context - 1,
                     s->sk, 32);
  crypto_generichash(s->tag_key, sizeof s->tag_key, (const uint8_t *)tag_context,
                     sizeof tag_context - 1, s->sk, 32);
  randombytes_buf(s->nonce_base, sizeof s->nonce_base);
  /* the node's own tag: no student id is empty */
  crypto_generichash(s->node_tag, TAG, NULL, 0, s->tag_key, sizeof s->tag_key);
  size_t n = strlen(s->dir) + sizeof "/store/keys";
  char path[n];
  snprintf(path, n, "%s/store/keys", s->dir);
  struct stat st;
  s->keys_made = stat(path, &st) != 0 && errno == ENOENT;
  int rc = cairn_keystore_open(path, wrap, &s->keys);
  sodium_memzero(wrap, sizeof wrap);
  if (rc == CAIRN_ENOKEY) { /* another device's: said once the store's own check passed */
    s->keys_wrong = 1;
    rc = 0;
  }
  return rc;
}

int cairn__store_seal_check(cairn_store *s) {
  if (s->keys_wrong)
    return CAIRN_ENOKEY;
  if (!s->keys_made)
    return 0;
  /* The key store was made by this open: fine for a new store, or one an
   * upgrade is about to seal; a store that holds entries made its own when
   * it first opened, and without it nothing sealed opens: the open stops
   * (and the empty file goes). */
  MDB_txn *txn;
  MDB_stat ls;
  MDB_val k = {6, "reseal"}, v;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if (mdb_stat(txn, s->log, &ls) == 0 && ls.ms_entries > 0 &&
      mdb_get(txn, s->meta, &k, &v) == MDB_NOTFOUND)
    rc = CAIRN_ENOKEY;
  mdb_txn_abort(txn);
  return rc;
}

void cairn__store_seal_abandon(cairn_store *s) {
  int empty = cairn_keystore_count(s->keys) == 0;
  cairn_keystore_close(s->keys);
  s->keys = NULL;
  if (!s->keys_made || !empty)
    return; /* one that holds a key may hold what a commit sealed: kept */
  size_t n = strlen(s->dir) + sizeof "/store/keys";
  char path[n];
  snprintf(path, n, "%s/store/keys", s->dir);
  unlink(path);
}

void cairn__store_student_tag(const cairn_store *s, const char *sid, size_t len,
                              uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES]) {
  crypto_generichash(tag, TAG, (const uint8_t *)sid, len, s->tag_key, sizeof s->tag_key);
}

const uint8_t *cairn__store_node_tag(const cairn_store *s) { return s->node_tag; }

int cairn__store_sealed_tag(const void *v, size_t len, uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES]) {
  const uint8_t *p = v;
  if (len < HEAD || p[0] != SEAL_MARK)
    return 0;
  if (tag != NULL)
    memcpy(tag, p + 2, TAG);
  return 1;
}

int cairn__store_forget_student(cairn_store *s, const char *sid, size_t len) {
  uint8_t tag[TAG];
  cairn__store_student_tag(s, sid, len, tag);
  return cairn_keystore_forget(s->keys, tag);
}

/* A record state's nonce: 16 random bytes drawn when the store opened,
 * then a count of the nonces made since (one random draw, a system call,
 * per value cost more than its sealing). Unique under any key: the random
 * part differs from one open to the next. */
static void record_nonce(cairn_store *s, uint8_t nonce[NONCE]) {
  uint64_t n = atomic_fetch_add(&s->nonce_count, 1);
  memcpy(nonce, s->nonce_base, 16);
  for (int i = 0; i < 8; i++)
    nonce[16 + i] = (uint8_t)(n >> (8 * i));
}

/* Makes room for need bytes in out. Returns 0 or CAIRN_ENOMEM. */
static int reserve(msgpack_sbuffer *out, size_t need) {
  if (out->alloc >= need)
    return 0;
  char *d = realloc(out->data, need);
  if (d == NULL)
    return CAIRN_ENOMEM;
  out->data = d;
  out->alloc = need;
  return 0;
}

/* ---- compression ---------------------------------------------------------- */

void cairn__store_pack_free(cairn_store *s) {
  ZSTD_freeCCtx(s->pack_ctx);
  s->pack_ctx = NULL;
  for (int i = 0; i < s->unpack_n; i++)
    ZSTD_freeDCtx(s->unpack_ctx[i]);
  s->unpack_n = 0;
  msgpack_sbuffer_destroy(&s->pack_buf);
  if (s->unpack_lock_made)
    pthread_mutex_destroy(&s->unpack_lock);
  s->unpack_lock_made = 0;
}

/* plain[0..*len) compressed into s->pack_buf (writer thread) when it is
 * long enough and comes out at least an eighth shorter: returns the
 * compressed bytes and sets *len, else NULL (seal plain as it is). */
static const void *pack(cairn_store *s, const void *plain, size_t *len) {
  if (*len < PACK_MIN)
    return NULL;
  if (s->pack_ctx == NULL && (s->pack_ctx = ZSTD_createCCtx()) == NULL)
    return NULL; /* sealed whole: still right, only larger */
  size_t cap = ZSTD_compressBound(*len);
  if (reserve(&s->pack_buf, cap) != 0)
    return NULL;
  size_t n = ZSTD_compressCCtx(s->pack_ctx, s->pack_buf.data, cap, plain, *len, PACK_LEVEL);
  if (ZSTD_isError(n) || n > *len - *len / 8)
    return NULL;
  *len = n;
  return s->pack_buf.data;
}

/* Decompresses the zstd frame src[0..n) into *out, *out_len bytes (at
 * most max), which alloc(arg, size) provides; a decompression context is
 * taken from the store's few kept ones, or made. Returns 0,
 * CAIRN_ECORRUPT (not a frame of at most max bytes that says its size),
 * CAIRN_ENOMEM. Any thread. */
static int unpack(cairn_store *s, const void *src, size_t n, size_t max, void *(*alloc)(void *, size_t),
                  void *arg, void **out, size_t *out_len) {
  unsigned long long size = ZSTD_getFrameContentSize(src, n);
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
    return CAIRN_ECORRUPT;
  void *dst = alloc(arg, size > 0 ? (size_t)size : 1);
  if (dst == NULL)
    return CAIRN_ENOMEM;
  ZSTD_DCtx *d = NULL;
  if (s->unpack_lock_made) {
    pthread_mutex_lock(&s->unpack_lock);
    if (s->unpack_n > 0)
      d = s->unpack_ctx[--s->unpack_n];
    pthread_mutex_unlock(&s->unpack_lock);
  }
  if (d == NULL && (d = ZSTD_createDCtx()) == NULL)
    return CAIRN_ENOMEM;
  size_t got = ZSTD_decompressDCtx(d, dst, (size_t)size, src, n);
  int kept = 0;
  if (s->unpack_lock_made) {
    pthread_mutex_lock(&s->unpack_lock);
    if (s->unpack_n < (int)(sizeof s->unpack_ctx / sizeof s->unpack_ctx[0])) {
      s->unpack_ctx[s->unpack_n++] = d;
      kept = 1;
    }
    pthread_mutex_unlock(&s->unpack_lock);
  }
  if (!kept)
    ZSTD_freeDCtx(d);
  if (ZSTD_isError(got) || got != size)
    return CAIRN_ECORRUPT;
  *out = dst;
  *out_len = (size_t)size;
  return 0;
}

static void *zone_alloc(void *z, size_t n) { return msgpack_zone_malloc(z, n); }

/* Grows the sbuffer arg to n bytes (its old bytes are not kept). */
static void *sbuf_alloc(void *b, size_t n) {
  msgpack_sbuffer *sb = b;
  return reserve(sb, n + 1) == 0 ? sb->data : NULL;
}

/* ---- record states -------------------------------------------------------- */

int cairn__store_seal_rec(cairn_store *s, const uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES],
                          const void *plain, size_t len, msgpack_sbuffer *out) {
  uint8_t key[CAIRN_KEYSTORE_KEY_BYTES];
  int rc = cairn_keystore_make(s->keys, tag, key);
  if (rc != 0)
    return rc;
  msgpack_sbuffer_clear(out);
  const void *packed = pack(s, plain, &len);
  size_t need = HEAD + NONCE + len + ABYTES;
  if (reserve(out, need) != 0) {
    sodium_memzero(key, sizeof key);
    return CAIRN_ENOMEM;
  }
  uint8_t *p = (uint8_t *)out->data;
  p[0] = SEAL_MARK;
  p[1] = packed != NULL ? SEAL_REC_PACKED : SEAL_REC;
  if (packed != NULL)
    plain = packed;
  memcpy(p + 2, tag, TAG);
  record_nonce(s, p + HEAD);
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + HEAD + NONCE, NULL, plain, len, p, HEAD, NULL,
                                             p + HEAD, key);
  sodium_memzero(key, sizeof key);
  out->size = need;
  return 0;
}

/* ---- records of one write ------------------------------------------------- */

/* Puts value[0..len) at k in dbi with mdb_put's flags: 0, 1 (MDB_NOOVERWRITE
 * and k exists: *had, when not NULL, gets the stored value), or a negative
 * code. Both record forms are put through it. */
static int put_value(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, void *value,
                     size_t len, unsigned flags, MDB_val *had) {
  MDB_val v = {len, value};
  int rc = mdb_put(txn, dbi, k, &v, flags);
  if (rc == MDB_KEYEXIST) {
    if (had != NULL)
      *had = v; /* LMDB hands back the stored value */
    return 1;
  }
  return rc != 0 ? cairn__store_err(s, rc, 0) : 0;
}

void cairn__store_unlogged(cairn_store *s, MDB_txn *txn, const cairn_entry *e) {
  if (e != NULL)
    s->unlogged = *e;
  atomic_store_explicit(&s->unlogged_txn, txn, memory_order_relaxed);
}

int cairn__store_put_ref(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                         const uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES], uint64_t eff,
                         const uint8_t *author, uint64_t seq, unsigned flags, MDB_val *had) {
  uint8_t ref[REF_LEN];
  ref[0] = SEAL_MARK;
  ref[1] = SEAL_REF;
  memcpy(ref + 2, tag, TAG);
  cairn__store_put_be64(ref + HEAD, eff);
  cairn__store_put_be64(ref + HEAD + 8, seq);
  memcpy(ref + HEAD + 16, author, CAIRN_KEY_BYTES);
  return put_value(s, txn, dbi, k, ref, sizeof ref, flags, had);
}

static int entry_get(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                     cairn_entry *e, uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES], int hashed);

/* Opens reference p (REF_LEN bytes) into *plain: the one-write state
 * cairn__store_pack_write makes of its entry's body, in zone z. */
static int open_ref(cairn_store *s, MDB_txn *txn, const uint8_t *p, msgpack_zone *z,
                    MDB_val *plain) {
  uint64_t eff = cairn__store_get_be64(p + HEAD), seq = cairn__store_get_be64(p + HEAD + 8);
  const uint8_t *author = p + HEAD + 16;
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, author, seq);
  MDB_val k = {sizeof key, key}, v;
  msgpack_sbuffer body, out;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&out);
  cairn_entry e;
  int rc;
  if (atomic_load_explicit(&s->unlogged_txn, memory_order_relaxed) == txn &&
      s->unlogged.seq == seq && memcmp(s->unlogged.author, author, CAIRN_KEY_BYTES) == 0) {
    /* folded in this transaction and not in its log yet (a local write
     * waits for its batch), or not whole there yet */
    e = s->unlogged;
    rc = 0;
  } else if ((rc = mdb_get(txn, s->log, &k, &v)) != 0) {
    rc = rc == MDB_NOTFOUND ? CAIRN_ECORRUPT : cairn__store_err(s, rc, 0);
  } else {
    rc = entry_get(s, v.mv_data, v.mv_size, &body, &e, NULL, 0);
  }
  if (rc == 0 && e.redacted)
    rc = CAIRN_ENOTFOUND; /* its key was forgotten: its student was erased */
  cairn_body b; /* checked when it was folded: its parts are copied as they are */
  if (rc == 0 && cairn_body_spans(e.body, e.body_len, &b) != 0)
    rc = CAIRN_ECORRUPT;
  if (rc == 0) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    cairn__store_pack_write(&pk, eff, author, seq, &b);
    uint8_t *dst = msgpack_zone_malloc(z, out.size);
    if (dst == NULL || out.data == NULL) {
      rc = CAIRN_ENOMEM;
    } else {
      memcpy(dst, out.data, out.size);
      *plain = (MDB_val){out.size, dst};
    }
  }
  if (body.data != NULL)
    sodium_memzero(body.data, body.size);
  if (out.data != NULL)
    sodium_memzero(out.data, out.size);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&out);
  return rc;
}

int cairn__store_open_rec(MDB_txn *txn, const MDB_val *v, msgpack_zone *z, MDB_val *plain) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size == 0 || p[0] != SEAL_MARK) {
    *plain = *v; /* written before values were sealed */
    return 0;
  }
  if (v->mv_size == REF_LEN && p[1] == SEAL_REF)
    return open_ref(mdb_env_get_userctx(mdb_txn_env(txn)), txn, p, z, plain);
  if (v->mv_size < HEAD + NONCE + ABYTES || (p[1] != SEAL_REC && p[1] != SEAL_REC_PACKED))
    return CAIRN_ECORRUPT;
  cairn_store *s = mdb_env_get_userctx(mdb_txn_env(txn));
  uint8_t key[CAIRN_KEYSTORE_KEY_BYTES];
  if (cairn_keystore_get(s->keys, p + 2, key) != 0)
    return CAIRN_ENOTFOUND; /* forgotten: its student was erased */
  size_t n = v->mv_size - HEAD - NONCE - ABYTES;
  uint8_t *out = msgpack_zone_malloc(z, n > 0 ? n : 1);
  int rc = out == NULL ? CAIRN_ENOMEM : 0;
  if (rc == 0 && crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, p + HEAD + NONCE,
                                                            n + ABYTES, p, HEAD, p + HEAD,
                                                            key) != 0)
    rc = CAIRN_ECORRUPT;
  sodium_memzero(key, sizeof key);
  if (rc == 0 && p[1] == SEAL_REC_PACKED) {
    void *whole;
    rc = unpack(s, out, n, REC_MAX, zone_alloc, z, &whole, &n);
    out = whole;
  }
  if (rc == 0)
    *plain = (MDB_val){n, out};
  return rc;
}

int cairn__store_put_rec(cairn_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                         const uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES], const void *plain,
                         size_t len, unsigned flags, MDB_val *had) {
  int rc = cairn__store_seal_rec(s, tag, plain, len, &s->seal_buf);
  if (rc != 0)
    return rc;
  return put_value(s, txn, dbi, k, s->seal_buf.data, s->seal_buf.size, flags, had);
}

/* ---- log entries ---------------------------------------------------------- */

/* The nonce of entry e's sealed body: one per (author, seq, body), so the
 * same entry sealed twice under one key is sealed the same, and another
 * body at the same place never shares its nonce: the author's first 8
 * bytes, the seq (8, big-endian) and the body hash's first 8 bytes (all
 * known already: no hash is computed for it). */
static void entry_nonce(const cairn_entry *e, uint8_t nonce[NONCE]) {
  memcpy(nonce, e->author, 8);
  for (int i = 0; i < 8; i++)
    nonce[8 + i] = (uint8_t)(e->seq >> (56 - 8 * i));
  memcpy(nonce + 16, e->body_hash, 8);
}

int cairn__store_seal_entry(cairn_store *s, const uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES],
                            const cairn_entry *e, msgpack_sbuffer *out) {
  msgpack_sbuffer_clear(out);
  if (e->redacted)
    return cairn_entry_redact(e, out); /* nothing to seal */
  uint8_t key[CAIRN_KEYSTORE_KEY_BYTES], nonce[NONCE];
  int rc = cairn_keystore_make(s->keys, tag, key);
  if (rc != 0)
    return rc;
  size_t len = e->body_len;
  const void *body = pack(s, e->body, &len);
  uint8_t head[2] = {SEAL_MARK, body != NULL ? SEAL_ENTRY_PACKED : SEAL_ENTRY};
  if (body == NULL)
    body = e->body;
  if (msgpack_sbuffer_write(out, (const char *)head, 2) != 0 ||
      msgpack_sbuffer_write(out, (const char *)tag, TAG) != 0 || cairn_entry_redact(e, out) != 0) {
    sodium_memzero(key, sizeof key);
    return CAIRN_ENOMEM;
  }
  size_t ad = out->size, need = ad + len + ABYTES;
  if (reserve(out, need) != 0) {
    sodium_memzero(key, sizeof key);
    return CAIRN_ENOMEM;
  }
  entry_nonce(e, nonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt((uint8_t *)out->data + ad, NULL, body, len,
                                             (const uint8_t *)out->data, ad, NULL, nonce, key);
  sodium_memzero(key, sizeof key);
  out->size = need;
  return 0;
}

/* cairn__store_entry_get, with e's hashes computed when hashed (else
 * e->hash is zero, and so is the body hash of one written before
 * sealing). */
static int entry_get(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                     cairn_entry *e, uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES], int hashed) {
  const uint8_t *p = v;
  size_t used;
  int (*decode)(const uint8_t *, size_t, cairn_entry *, size_t *) =
      hashed ? cairn_entry_decode : cairn_entry_decode_unhashed;
  if (len == 0 || p[0] != SEAL_MARK) {
    if (tag != NULL)
      memcpy(tag, s->node_tag, TAG);
    return decode(p, len, e, &used) != 0 ? CAIRN_ECORRUPT : 0;
  }
  int packed = len >= HEAD && p[1] == SEAL_ENTRY_PACKED;
  if (len < HEAD || (p[1] != SEAL_ENTRY && !packed) ||
      decode(p + HEAD, len - HEAD, e, &used) != 0 || !e->redacted ||
      len - HEAD - used < ABYTES)
    return CAIRN_ECORRUPT;
  if (tag != NULL)
    memcpy(tag, p + 2, TAG);
  uint8_t key[CAIRN_KEYSTORE_KEY_BYTES], nonce[NONCE];
  if (cairn_keystore_get(s->keys, p + 2, key) != 0)
    return 0; /* its key was forgotten: withheld for good */
  if (body == NULL) { /* whole, but not opened */
    sodium_memzero(key, sizeof key);
    e->redacted = 0;
    e->body = NULL;
    e->body_len = 0;
    return 0;
  }
  size_t n = len - HEAD - used - ABYTES;
  msgpack_sbuffer_clear(body);
  /* a compressed body is opened into a scratch buffer, then unpacked */
  uint8_t *dst = packed ? malloc(n > 0 ? n : 1) : NULL;
  if (packed ? dst == NULL : reserve(body, n + 1) != 0) {
    sodium_memzero(key, sizeof key);
    return CAIRN_ENOMEM;
  }
  if (!packed)
    dst = (uint8_t *)body->data;
  entry_nonce(e, nonce);
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, p + HEAD + used,
                                                      n + ABYTES, p, HEAD + used, nonce, key) != 0
               ? CAIRN_ECORRUPT
               : 0;
  sodium_memzero(key, sizeof key);
  if (packed) {
    size_t packed_len = n;
    void *whole;
    if (rc == 0)
      rc = unpack(s, dst, packed_len, CAIRN_BODY_MAX, sbuf_alloc, body, &whole, &n);
    sodium_memzero(dst, packed_len > 0 ? packed_len : 1);
    free(dst);
  }
  if (rc != 0)
    return rc;
  body->size = n;
  e->body = (const uint8_t *)body->data;
  e->body_len = n;
  e->redacted = 0;
  return 0;
}

int cairn__store_entry_get(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                           cairn_entry *e, uint8_t tag[CAIRN_KEYSTORE_TAG_BYTES]) {
  return entry_get(s, v, len, body, e, tag, 1);
}

int cairn__store_entry_plain(cairn_store *s, const void *v, size_t len, msgpack_sbuffer *body,
                             msgpack_sbuffer *out, cairn_entry *e) {
  const uint8_t *p = v;
  if (len > 0 && p[0] != SEAL_MARK) {
    size_t used;
    if (cairn_entry_decode(p, len, e, &used) != 0)
      return CAIRN_ECORRUPT;
    return msgpack_sbuffer_write(out, (const char *)p, len) != 0 ? CAIRN_ENOMEM : 0;
  }
  int rc = cairn__store_entry_get(s, v, len, body, e, NULL);
  if (rc == 0)
    rc = cairn_entry_encode(e, out);
  return rc;
}

/* ---- sealing a store of an older format ------------------------------------ */

#define RESEAL_CHUNK 2000 /* values looked at per write transaction */

int cairn__store_reseal_begin(cairn_store *s, MDB_txn *txn) {
  uint8_t one = 1;
  MDB_val k = {6, "reseal"}, v = {1, &one};
  int rc = mdb_put(txn, s->meta, &k, &v, 0);
  return rc != 0 ? cairn__store_err(s, rc, 0) : 0;
}

/* The tag of record (type || id) at k, stored in clear in txn. */
static void rec_tag(cairn_store *s, MDB_txn *txn, msgpack_zone *z, const MDB_val *k,
                    uint8_t tag[TAG]) {
  const uint8_t *key = k->mv_data;
  const char *id = (const char *)key + 1;
  size_t len = k->mv_size - 1;
  char sid[CAIRN__STORE_ID_MAX + 1];
  memcpy(tag, s->node_tag, TAG);
  if (key[0] == CAIRN_REC_STUDENT)
    cairn__store_student_tag(s, id, len, tag);
  else if (key[0] >= CAIRN_REC_MILESTONE && key[0] <= CAIRN_REC_CELEBRATION &&
           cairn__store_rec_student(txn, s->records, z, key[0], id, len, sid) == 1)
    cairn__store_student_tag(s, sid, strlen(sid), tag);
}

/* Seals up to RESEAL_CHUNK values of dbi (which: 0 records, 1 log, 2
 * staged) from key at (at_len bytes; 0: the first) in txn, and moves at
 * past them. Returns 1 when the database is done, 0 when more are left,
 * or a negative code. */
static int reseal_chunk(cairn_store *s, MDB_txn *txn, int which, uint8_t *at, size_t *at_len) {
  MDB_dbi dbi = which == 0 ? s->records : which == 1 ? s->log : s->staged;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  cairn__store_apply c;
  cairn__store_apply_init(&c, s, txn, CAIRN__STORE_APPLY_REPLAY);
  msgpack_zone z;
  if (!msgpack_zone_init(&z, 4096)) {
    mdb_cursor_close(cur);
    cairn__store_apply_free(&c);
    return CAIRN_ENOMEM;
  }
  MDB_val k = {*at_len, at}, v;
  rc = mdb_cursor_get(cur, &k, &v, *at_len > 0 ? MDB_SET_RANGE : MDB_FIRST);
  int n = 0;
  while (rc == 0 && n < RESEAL_CHUNK) {
    const uint8_t *p = v.mv_data;
    uint8_t tag[TAG], kb[CAIRN__STORE_KEY_MAX + CAIRN_KEY_BYTES + 8];
    cairn_entry e;
    size_t used;
    int r = 0;
    if (v.mv_size > 0 && p[0] != SEAL_MARK) {
      if (which == 0) {
        msgpack_zone_clear(&z);
        rec_tag(s, txn, &z, &k, tag);
        r = cairn__store_seal_rec(s, tag, v.mv_data, v.mv_size, &s->seal_buf);
      } else if (cairn_entry_decode(p, v.mv_size, &e, &used) != 0) {
        r = 1; /* cairn check reports it */
      } else if (e.redacted) {
        r = 1; /* nothing to seal */
      } else {
        memcpy(tag, s->node_tag, TAG); /* staged: the node's */
        if (which == 1)
          r = cairn__store_entry_tag(&c, &e, tag);
        if (r == 0)
          r = cairn__store_seal_entry(s, tag, &e, &s->seal_buf);
      }
      if (r == 0 && k.mv_size > sizeof kb)
        r = CAIRN_ECORRUPT; /* no key of cairn's is that long */
      if (r == 0) {
        /* the key is copied first: it lies in the page the put rewrites */
        memcpy(kb, k.mv_data, k.mv_size);
        MDB_val kk = {k.mv_size, kb}, nv = {s->seal_buf.size, s->seal_buf.data};
        if ((r = mdb_cursor_put(cur, &kk, &nv, MDB_CURRENT)) != 0)
          r = cairn__store_err(s, r, 0);
      }
      if (r < 0) {
        rc = r;
        break;
      }
    }
    n++;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  int done = rc == MDB_NOTFOUND;
  if (rc == 0) { /* the next one to look at */
    *at_len = k.mv_size <= CAIRN__STORE_KEY_MAX + CAIRN_KEY_BYTES + 8 ? k.mv_size : 0;
    memcpy(at, k.mv_data, *at_len);
  }
  mdb_cursor_close(cur);
  msgpack_zone_destroy(&z);
  cairn__store_apply_free(&c);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc < 0 ? rc : cairn__store_err(s, rc, 0);
  return done;
}

int cairn__store_reseal(cairn_store *s) {
  MDB_txn *txn;
  MDB_val mk = {6, "reseal"}, v;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_get(txn, s->meta, &mk, &v);
  mdb_txn_abort(txn);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  /* records first: an entry's key is found through its record */
  uint8_t at[CAIRN__STORE_KEY_MAX + CAIRN_KEY_BYTES + 8];
  for (int which = 0; which < 3; which++) {
    size_t at_len = 0;
    int done = 0;
    while (!done) {
      if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
        return cairn__store_err(s, rc, 0);
      done = reseal_chunk(s, txn, which, at, &at_len);
      if (done < 0) {
        mdb_txn_abort(txn);
        return done;
      }
      if (done && which == 2) { /* the clear bytes go with a compaction */
        uint8_t one = 1;
        MDB_val ck = {7, "compact"}, cv = {1, &one};
        if ((rc = mdb_del(txn, s->meta, &mk, NULL)) != 0 ||
            (rc = mdb_put(txn, s->meta, &ck, &cv, 0)) != 0) {
          mdb_txn_abort(txn);
          return cairn__store_err(s, rc, 0);
        }
      }
      if ((rc = cairn_keystore_sync(s->keys)) != 0) {
        mdb_txn_abort(txn);
        return rc;
      }
      if ((rc = mdb_txn_commit(txn)) != 0)
        return cairn__store_err(s, rc, 1);
      if (s->compact_stage != NULL) /* a test may stop here: the next open resumes */
        s->compact_stage("sealing", s->compact_arg);
      if (!done && at_len == 0)
        done = 1; /* a key too long to resume from: not cairn's */
    }
  }
  s->compact_wanted = 1;
  s->sealing = 1;
  return 0;
}

int cairn_store_keys_copy(cairn_store *s, uint8_t **out, size_t *len) {
  size_t n = strlen(s->dir) + sizeof "/store/keys";
  char path[n];
  snprintf(path, n, "%s/store/keys", s->dir);
  *out = NULL;
  *len = 0;
  if (s->keys != NULL && cairn_keystore_count(s->keys) == 0)
    return 0; /* nothing sealed yet: the backup is one an older cairn restores */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && s->keys == NULL)
    return 0; /* before the upgrade that seals (the store's open makes the file after) */
  if (fd < 0)
    return CAIRN_EIO;
  struct stat st;
  uint8_t *buf = NULL;
  int rc = fstat(fd, &st) == 0 ? 0 : CAIRN_EIO;
  if (rc == 0 && (buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL)
    rc = CAIRN_ENOMEM;
  size_t got = 0;
  while (rc == 0 && got < (size_t)st.st_size) {
    ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      rc = CAIRN_EIO;
    else
      got += (size_t)r;
  }
  close(fd);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = got;
  return 0;
}
