/* test_entry.c: log entry encoding, decoding, hashing, signing, chaining. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"

/* Golden vector: seed 00..1f, seq 1, hlc 0x0123456789abcdef, kind 3,
 * zero prev, body {"id":"x"}, signed. Computed once (and cross-checked with
 * Python's hashlib.blake2b over the 131-byte string); a change here is a
 * change of the on-disk and on-wire format. */
static const char golden_entry_hex[] =
    "9801c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b801cf0123456789abcdefc420000000000000000000"
    "000000000000000000000000000000000000000000000003c40681a26964a178c4405a89f7c6adb11406005ed8a49ad4dc5dd7fa67f9360d"
    "e436bd1789b73167ca257bbda9c2e010d269233e732e848f8bc4af07e1a32dd3dc5ababa22ec23035c07";
static const char golden_hash_hex[] = "516c15708d1e97416076fb91bfc20db416edf24ac6ec95505edfb70c1d74d2bd";
static const char golden_body_hash_hex[] = "c20c20ecc118256beba96e244802ed4ad3e83ae1c1d93800d4c4762fef7f25f3";
static const char golden_sig_hex[] = "5a89f7c6adb11406005ed8a49ad4dc5dd7fa67f9360de436bd1789b73167ca257bbda9c2e010d269233e732e"
                                     "848f8bc4af07e1a32dd3dc5ababa22ec23035c07";
/* The same entry redacted: element 6 is ext type 1 holding the body hash. */
static const char golden_redacted_hex[] =
    "9801c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b801cf0123456789abcdefc420000000000000000000"
    "000000000000000000000000000000000000000000000003c72001c20c20ecc118256beba96e244802ed4ad3e83ae1c1d93800d4c4762fef"
    "7f25f3c4405a89f7c6adb11406005ed8a49ad4dc5dd7fa67f9360de436bd1789b73167ca257bbda9c2e010d269233e732e848f8bc4af07e1a3"
    "2dd3dc5ababa22ec23035c07";
#define GOLDEN_HASHED_LEN 89 /* elements 0..6: the bytes whose values the hash covers */
#define GOLDEN_BODY_OFF 81   /* where element 6 starts */

static const uint8_t golden_body[] = {0x81, 0xa2, 'i', 'd', 0xa1, 'x'};

struct key {
  uint8_t pk[CAIRN_KEY_BYTES];
  uint8_t sk[CAIRN_SECRET_BYTES];
};

static int setup(void **state) {
  (void)state;
  return sodium_init() < 0 ? -1 : 0;
}

static void key_from_seed(struct key *k, uint8_t first) {
  uint8_t seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; i++)
    seed[i] = (uint8_t)(first + i);
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n) {
  size_t bin_len = 0;
  assert_int_equal(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &bin_len, NULL), 0);
  assert_int_equal(bin_len, n);
}

/* An unsigned, sealed entry of key k. */
static void make_entry(cairn_entry *e, const struct key *k, uint64_t seq, const uint8_t prev[CAIRN_HASH_BYTES],
                       const uint8_t *body, size_t body_len) {
  memset(e, 0, sizeof *e);
  memcpy(e->author, k->pk, CAIRN_KEY_BYTES);
  e->seq = seq;
  e->hlc = 0x0123456789abcdefULL;
  if (prev != NULL)
    memcpy(e->prev, prev, CAIRN_HASH_BYTES);
  e->kind = 3;
  e->body = body;
  e->body_len = body_len;
  assert_int_equal(cairn_entry_seal(e), 0);
}

static void make_golden(cairn_entry *e, struct key *k) {
  key_from_seed(k, 0);
  make_entry(e, k, 1, NULL, golden_body, sizeof golden_body);
  cairn_entry_sign(e, k->sk);
}

static void test_golden_vector(void **state) {
  (void)state;
  struct key k;
  cairn_entry e, d;
  uint8_t want_entry[sizeof golden_entry_hex / 2], want_hash[CAIRN_HASH_BYTES], want_sig[CAIRN_SIG_BYTES];
  msgpack_sbuffer sb;
  size_t consumed = 0;

  hex_to_bytes(golden_entry_hex, want_entry, sizeof want_entry);
  hex_to_bytes(golden_hash_hex, want_hash, sizeof want_hash);
  hex_to_bytes(golden_sig_hex, want_sig, sizeof want_sig);

  make_golden(&e, &k);
  assert_memory_equal(e.hash, want_hash, CAIRN_HASH_BYTES);
  assert_memory_equal(e.sig, want_sig, CAIRN_SIG_BYTES);

  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_entry_encode(&e, &sb), 0);
  assert_int_equal(sb.size, sizeof want_entry);
  assert_memory_equal(sb.data, want_entry, sizeof want_entry);
  msgpack_sbuffer_destroy(&sb);

  /* The hash is BLAKE2b-256 of the 131-byte string of FORMAT.md section 1. */
  uint8_t m[131], *p = m, h[CAIRN_HASH_BYTES], bh[CAIRN_HASH_BYTES];
  hex_to_bytes(golden_body_hash_hex, bh, sizeof bh);
  crypto_generichash(h, sizeof h, golden_body, sizeof golden_body, NULL, 0);
  assert_memory_equal(h, bh, CAIRN_HASH_BYTES);
  assert_memory_equal(e.body_hash, bh, CAIRN_HASH_BYTES);
  memcpy(p, "cairn-entry-v1", 14);
  p += 14;
  *p++ = 1;
  memcpy(p, k.pk, CAIRN_KEY_BYTES);
  p += CAIRN_KEY_BYTES;
  memcpy(p, "\0\0\0\0\0\0\0\1", 8);                 /* seq */
  memcpy(p + 8, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8); /* hlc */
  memset(p + 16, 0, CAIRN_HASH_BYTES);                    /* prev */
  p += 16 + CAIRN_HASH_BYTES;
  memcpy(p, "\0\0\0\3", 4); /* kind */
  memcpy(p + 4, bh, CAIRN_HASH_BYTES);
  assert_int_equal(p + 4 + CAIRN_HASH_BYTES - m, sizeof m);
  crypto_generichash(h, sizeof h, m, sizeof m, NULL, 0);
  assert_memory_equal(h, want_hash, CAIRN_HASH_BYTES);

  assert_int_equal(cairn_entry_decode(want_entry, sizeof want_entry, &d, &consumed), 0);
  assert_int_equal(consumed, sizeof want_entry);
  assert_memory_equal(d.hash, want_hash, CAIRN_HASH_BYTES);
  assert_int_equal(cairn_entry_verify_sig(&d), 0);

}

/* Generated ids name their author whole (a device number, or the key)
 * and the creating seq; an older cairn's "03a107bf-42" is still read. */
static void test_generated_ids(void **state) {
  (void)state;
  struct key k;
  cairn_entry e;
  char id[CAIRN_ENTRY_ID_MAX];
  cairn_entry_gen_id g;
  uint8_t other[CAIRN_KEY_BYTES];

  make_golden(&e, &k);
  memcpy(other, k.pk, sizeof other);
  other[31] ^= 1; /* the same first 4 bytes: what an older id could not tell apart */

  cairn_entry_id_number(12, 42, id);
  assert_string_equal(id, "n12-42");
  assert_int_equal(cairn_entry_id_parse(id, strlen(id), &g), 0);
  assert_int_equal(g.form, CAIRN_ID_NUMBER);
  assert_true(cairn_entry_id_names(&g, k.pk, 12, 42));
  assert_false(cairn_entry_id_names(&g, k.pk, 13, 42));
  assert_false(cairn_entry_id_names(&g, k.pk, -1, 42));
  assert_false(cairn_entry_id_names(&g, k.pk, 12, 41));

  cairn_entry_id_key(k.pk, 42, id);
  assert_int_equal(strlen(id), 1 + 43 + 3);
  assert_int_equal(cairn_entry_id_parse(id, strlen(id), &g), 0);
  assert_int_equal(g.form, CAIRN_ID_KEY);
  assert_true(cairn_entry_id_names(&g, k.pk, -1, 42));
  assert_false(cairn_entry_id_names(&g, other, -1, 42));
  cairn_entry_id_key(k.pk, CAIRN_ENTRY_ID_SEQ_MAX, id);
  assert_int_equal(strlen(id), 64); /* the longest fits an id */

  assert_int_equal(cairn_entry_id_parse("03a107bf-42", 11, &g), 0);
  assert_int_equal(g.form, CAIRN_ID_LEGACY);
  assert_true(cairn_entry_id_names(&g, k.pk, -1, 42));
  assert_true(cairn_entry_id_names(&g, other, -1, 42)); /* why it is no longer written */

  static const char *const not_generated[] = {"ana-8", "n-42", "n12-", "n12-0", "n012-4",
                                              "n1-2-5", "k-42", "03A107BF-42", "03a107b-42",
                                              "n12-12345678901234567890", "", "-"};
  for (size_t i = 0; i < sizeof not_generated / sizeof not_generated[0]; i++)
    assert_int_equal(cairn_entry_id_parse(not_generated[i], strlen(not_generated[i]), &g),
                     CAIRN_EINVAL);
}

static void assert_entries_equal(const cairn_entry *a, const cairn_entry *b) {
  assert_memory_equal(a->author, b->author, CAIRN_KEY_BYTES);
  assert_true(a->seq == b->seq);
  assert_true(a->hlc == b->hlc);
  assert_memory_equal(a->prev, b->prev, CAIRN_HASH_BYTES);
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->body_len, b->body_len);
  if (a->body_len > 0)
    assert_memory_equal(a->body, b->body, a->body_len);
  assert_int_equal(a->has_sig, b->has_sig);
  if (a->has_sig)
    assert_memory_equal(a->sig, b->sig, CAIRN_SIG_BYTES);
  assert_memory_equal(a->hash, b->hash, CAIRN_HASH_BYTES);
}

static void round_trip(const cairn_entry *e) {
  msgpack_sbuffer sb;
  cairn_entry d;
  size_t consumed = 0;

  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_entry_encode(e, &sb), 0);
  assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data, sb.size, &d, &consumed), 0);
  assert_int_equal(consumed, sb.size);
  assert_entries_equal(&d, e);
  if (e->body_len > 0) /* the body borrows from the decoded bytes */
    assert_ptr_equal(d.body, (const uint8_t *)sb.data + sb.size - (e->has_sig ? 66 : 1) - e->body_len);
  msgpack_sbuffer_destroy(&sb);
}

static void test_round_trip(void **state) {
  (void)state;
  struct key k;
  cairn_entry e;
  uint8_t prev[CAIRN_HASH_BYTES];
  uint8_t *big = calloc(CAIRN_BODY_MAX, 1);

  assert_non_null(big);
  memset(prev, 0xab, sizeof prev);
  key_from_seed(&k, 7);

  make_entry(&e, &k, 1, NULL, golden_body, sizeof golden_body);
  round_trip(&e); /* unsigned: sig is nil */
  cairn_entry_sign(&e, k.sk);
  round_trip(&e);

  make_entry(&e, &k, UINT64_MAX, prev, NULL, 0); /* extreme ints, empty body */
  e.hlc = UINT64_MAX;
  e.kind = UINT32_MAX;
  assert_int_equal(cairn_entry_seal(&e), 0);
  round_trip(&e);

  make_entry(&e, &k, 300, prev, big, CAIRN_BODY_MAX); /* largest body */
  cairn_entry_sign(&e, k.sk);
  round_trip(&e);
  free(big);
}

/* Every proper prefix asks for more and consumes nothing; trailing bytes
 * are left alone. */
static void test_truncation_and_trailing(void **state) {
  (void)state;
  struct key k;
  cairn_entry e, d;
  msgpack_sbuffer sb;

  make_golden(&e, &k);
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_entry_encode(&e, &sb), 0);
  size_t n = sb.size;
  for (size_t len = 0; len < n; len++) {
    size_t consumed = 12345;
    assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data, len, &d, &consumed), CAIRN_EAGAIN);
    assert_int_equal(consumed, 12345);
  }
  /* Two entries back to back, then a stray byte. */
  assert_int_equal(cairn_entry_encode(&e, &sb), 0);
  msgpack_sbuffer_write(&sb, "\xc0", 1);
  size_t consumed = 0;
  assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data, sb.size, &d, &consumed), 0);
  assert_int_equal(consumed, n);
  assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data + n, sb.size - n, &d, &consumed), 0);
  assert_int_equal(consumed, n);
  assert_entries_equal(&d, &e);
  msgpack_sbuffer_destroy(&sb);
}

/* Builds an entry array element by element, replacing element bad_index
 * with a deliberately wrong form. */
enum bad_form {
  GOOD,
  AS_STR,      /* a str "x" instead of the right type */
  AS_NEGATIVE, /* the int -1 */
  AS_NIL,
  AS_MAP,       /* an empty map */
  AS_FLOAT,     /* 1.0 */
  BIN_SHORT,    /* one byte short of the fixed length */
  BIN_LONG,     /* one byte over */
  UINT_BIG,     /* 2^32, just over a kind */
  UINT_ZERO,    /* 0 */
  UINT_TWO,     /* 2 */
};

static void pack_custom(msgpack_sbuffer *sb, unsigned count, unsigned bad_index, enum bad_form form) {
  static const uint8_t zeros[128];
  static const size_t bin_len[8] = {0, CAIRN_KEY_BYTES, 0, 0, CAIRN_HASH_BYTES, 0, 6, CAIRN_SIG_BYTES};
  msgpack_packer pk;

  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, count);
  for (unsigned i = 0; i < count; i++) {
    enum bad_form f = i == bad_index ? form : GOOD;
    switch (f) {
    case GOOD:
      if (i == 1 || i == 4 || i == 7)
        msgpack_pack_bin_with_body(&pk, zeros, bin_len[i]);
      else if (i == 6)
        msgpack_pack_bin_with_body(&pk, golden_body, sizeof golden_body);
      else
        msgpack_pack_uint64(&pk, 1);
      break;
    case AS_STR:
      msgpack_pack_str_with_body(&pk, "x", 1);
      break;
    case AS_NEGATIVE:
      msgpack_pack_int64(&pk, -1);
      break;
    case AS_NIL:
      msgpack_pack_nil(&pk);
      break;
    case AS_MAP:
      msgpack_pack_map(&pk, 0);
      break;
    case AS_FLOAT:
      msgpack_pack_double(&pk, 1.0);
      break;
    case BIN_SHORT:
      msgpack_pack_bin_with_body(&pk, zeros, bin_len[i] - 1);
      break;
    case BIN_LONG:
      msgpack_pack_bin_with_body(&pk, zeros, bin_len[i] + 1);
      break;
    case UINT_BIG:
      msgpack_pack_uint64(&pk, (uint64_t)UINT32_MAX + 1);
      break;
    case UINT_ZERO:
      msgpack_pack_uint64(&pk, 0);
      break;
    case UINT_TWO:
      msgpack_pack_uint64(&pk, 2);
      break;
    }
  }
}

static int decode_custom(unsigned count, unsigned bad_index, enum bad_form form) {
  msgpack_sbuffer sb;
  cairn_entry d;
  size_t consumed = 12345;
  int rc;

  msgpack_sbuffer_init(&sb);
  pack_custom(&sb, count, bad_index, form);
  rc = cairn_entry_decode((const uint8_t *)sb.data, sb.size, &d, &consumed);
  if (rc != 0)
    assert_int_equal(consumed, 12345);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static void test_shape_errors(void **state) {
  (void)state;
  assert_int_equal(decode_custom(8, 8, GOOD), 0); /* the builder's baseline is valid */
  assert_int_equal(decode_custom(8, 7, AS_NIL), 0);

  assert_int_equal(decode_custom(7, 8, GOOD), CAIRN_EMALFORMED);
  assert_int_equal(decode_custom(9, 8, GOOD), CAIRN_EMALFORMED);
  assert_int_equal(decode_custom(0, 8, GOOD), CAIRN_EMALFORMED);

  /* Wrong type at each position. */
  for (unsigned i = 0; i < 8; i++) {
    assert_int_equal(decode_custom(8, i, AS_STR), CAIRN_EMALFORMED);
    assert_int_equal(decode_custom(8, i, AS_NEGATIVE), CAIRN_EMALFORMED);
    assert_int_equal(decode_custom(8, i, AS_MAP), CAIRN_EMALFORMED);
    assert_int_equal(decode_custom(8, i, AS_FLOAT), CAIRN_EMALFORMED);
    if (i != 7)
      assert_int_equal(decode_custom(8, i, AS_NIL), CAIRN_EMALFORMED);
  }
  /* Ints where a bin belongs, bins of the wrong length. */
  for (unsigned i = 1; i < 8; i += 3) {
    assert_int_equal(decode_custom(8, i, UINT_TWO), CAIRN_EMALFORMED);
    assert_int_equal(decode_custom(8, i, BIN_SHORT), CAIRN_EMALFORMED);
    assert_int_equal(decode_custom(8, i, BIN_LONG), CAIRN_EMALFORMED);
  }
  assert_int_equal(decode_custom(8, 5, UINT_BIG), CAIRN_EMALFORMED); /* kind is 32-bit */
  assert_int_equal(decode_custom(8, 2, UINT_ZERO), CAIRN_EMALFORMED); /* seq starts at 1 */
  assert_int_equal(decode_custom(8, 0, UINT_TWO), CAIRN_EVERSION);
  assert_int_equal(decode_custom(8, 0, UINT_ZERO), CAIRN_EVERSION);

  /* Not an array at all, a non-canonical array header, a reserved byte. */
  static const uint8_t map[] = {0x80};
  static const uint8_t array16[] = {0xdc, 0x00, 0x08};
  static const uint8_t reserved[] = {0x98, 0xc1};
  cairn_entry d;
  size_t consumed;
  assert_int_equal(cairn_entry_decode(map, sizeof map, &d, &consumed), CAIRN_EMALFORMED);
  assert_int_equal(cairn_entry_decode(array16, sizeof array16, &d, &consumed), CAIRN_EMALFORMED);
  assert_int_equal(cairn_entry_decode(reserved, sizeof reserved, &d, &consumed), CAIRN_EMALFORMED);
}

/* A huge declared container inside an entry is refused without allocating. */
static void test_huge_container(void **state) {
  (void)state;
  static const uint8_t evil[] = {0x98, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
  cairn_entry d;
  size_t consumed;
  assert_int_equal(cairn_entry_decode(evil, sizeof evil, &d, &consumed), CAIRN_EMALFORMED);
}

static void test_too_big(void **state) {
  (void)state;
  struct key k;
  cairn_entry e, d;
  msgpack_sbuffer sb;
  size_t consumed = 12345;
  size_t sizes[] = {CAIRN_BODY_MAX + 1, CAIRN_ENTRY_MAX, 70000};
  uint8_t *big = calloc(70000, 1);

  assert_non_null(big);
  key_from_seed(&k, 1);
  make_entry(&e, &k, 1, NULL, big, CAIRN_BODY_MAX);
  e.body_len = CAIRN_BODY_MAX + 1;
  assert_int_equal(cairn_entry_seal(&e), CAIRN_ETOOBIG);

  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    e.body_len = sizes[i]; /* encode does not check; decode must */
    msgpack_sbuffer_init(&sb);
    assert_int_equal(cairn_entry_encode(&e, &sb), 0);
    assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data, sb.size, &d, &consumed), CAIRN_ETOOBIG);
    assert_int_equal(consumed, 12345);
    msgpack_sbuffer_destroy(&sb);
  }
  free(big);
  /* A field that says it is longer than any entry is refused as soon as
   * its length is read: a reader does not wait for bytes that could never
   * make an entry (a bin, then an ext whose type byte has not come). */
  static const uint8_t huge_bin[] = {0x98, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t huge_ext[] = {0x98, 0x01, 0xc9, 0x00, 0x01, 0x00, 0x00};
  assert_int_equal(cairn_entry_decode(huge_bin, sizeof huge_bin, &d, &consumed), CAIRN_ETOOBIG);
  assert_int_equal(cairn_entry_decode(huge_ext, sizeof huge_ext, &d, &consumed), CAIRN_ETOOBIG);
  assert_int_equal(cairn_entry_decode(huge_ext, 5, &d, &consumed), CAIRN_EAGAIN);
  assert_int_equal(consumed, 12345);
}

static void test_sign_verify(void **state) {
  (void)state;
  struct key k, other;
  cairn_entry e;

  key_from_seed(&k, 3);
  key_from_seed(&other, 4);
  make_entry(&e, &k, 1, NULL, golden_body, sizeof golden_body);
  assert_int_equal(cairn_entry_verify_sig(&e), CAIRN_EBADSIG); /* unsigned */
  cairn_entry_sign(&e, k.sk);
  assert_int_equal(e.has_sig, 1);
  assert_int_equal(cairn_entry_verify_sig(&e), 0);

  e.hash[0] ^= 1;
  assert_int_equal(cairn_entry_verify_sig(&e), CAIRN_EBADSIG);
  e.hash[0] ^= 1;
  memcpy(e.author, other.pk, CAIRN_KEY_BYTES);
  assert_int_equal(cairn_entry_verify_sig(&e), CAIRN_EBADSIG);
  memcpy(e.author, k.pk, CAIRN_KEY_BYTES);
  cairn_entry_sign(&e, other.sk); /* signed by a key that is not the author */
  assert_int_equal(cairn_entry_verify_sig(&e), CAIRN_EBADSIG);
}

/* Any flipped byte in the hashed prefix either makes the entry undecodable
 * or changes its hash and breaks the signature; a flipped signature byte
 * keeps the hash and breaks the signature. */
static void test_tamper(void **state) {
  (void)state;
  uint8_t buf[sizeof golden_entry_hex / 2], want_hash[CAIRN_HASH_BYTES];
  cairn_entry d;
  size_t consumed, decoded = 0;

  hex_to_bytes(golden_entry_hex, buf, sizeof buf);
  hex_to_bytes(golden_hash_hex, want_hash, sizeof want_hash);
  for (size_t i = 0; i < sizeof buf; i++) {
    buf[i] ^= 0x01;
    int rc = cairn_entry_decode(buf, sizeof buf, &d, &consumed);
    if (i < GOLDEN_HASHED_LEN) {
      if (rc == 0) {
        decoded++;
        assert_memory_not_equal(d.hash, want_hash, CAIRN_HASH_BYTES);
        assert_int_equal(cairn_entry_verify_sig(&d), CAIRN_EBADSIG);
      }
    } else if (i >= GOLDEN_HASHED_LEN + 2) { /* signature bytes */
      assert_int_equal(rc, 0);
      assert_memory_equal(d.hash, want_hash, CAIRN_HASH_BYTES);
      assert_int_equal(cairn_entry_verify_sig(&d), CAIRN_EBADSIG);
    }
    buf[i] ^= 0x01;
  }
  assert_true(decoded >= 32 + 8 + 32 + 6); /* author, hlc, prev, body bytes all decode */

  /* Each field feeds the hash. */
  struct key k;
  cairn_entry e, f;
  make_golden(&e, &k);
  for (int field = 0; field < 6; field++) {
    f = e;
    switch (field) {
    case 0: f.author[31] ^= 1; break;
    case 1: f.seq++; break;
    case 2: f.hlc++; break;
    case 3: f.prev[0] ^= 1; break;
    case 4: f.kind++; break;
    default: f.body_len--; break;
    }
    assert_int_equal(cairn_entry_seal(&f), 0);
    assert_memory_not_equal(f.hash, e.hash, CAIRN_HASH_BYTES);
  }
}

/* A redacted entry keeps its hash and signature: the chain verifies without
 * the body, and the store can tell it has nothing to fold. */
static void test_redact(void **state) {
  (void)state;
  struct key k;
  cairn_entry e, d, r, again;
  uint8_t want[sizeof golden_redacted_hex / 2];
  msgpack_sbuffer sb;
  size_t consumed = 0;

  hex_to_bytes(golden_redacted_hex, want, sizeof want);
  make_golden(&e, &k);
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_entry_redact(&e, &sb), 0);
  assert_int_equal(sb.size, sizeof want);
  assert_memory_equal(sb.data, want, sizeof want);

  assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data, sb.size, &r, &consumed), 0);
  assert_int_equal(consumed, sb.size);
  assert_int_equal(r.redacted, 1);
  assert_null(r.body); /* nothing to fold */
  assert_int_equal(r.body_len, 0);
  assert_memory_equal(r.body_hash, e.body_hash, CAIRN_HASH_BYTES);
  assert_memory_equal(r.hash, e.hash, CAIRN_HASH_BYTES);
  assert_int_equal(cairn_entry_verify_sig(&r), 0);

  /* Sealing a redacted entry keeps its body hash; encoding it re-redacts,
   * and redacting it again gives the same bytes. */
  again = r;
  assert_int_equal(cairn_entry_seal(&again), 0);
  assert_memory_equal(again.hash, e.hash, CAIRN_HASH_BYTES);
  size_t n = sb.size;
  assert_int_equal(cairn_entry_encode(&r, &sb), 0);
  assert_int_equal(cairn_entry_redact(&r, &sb), 0);
  assert_int_equal(sb.size, 3 * n);
  assert_memory_equal(sb.data + n, want, n);
  assert_memory_equal(sb.data + 2 * n, want, n);

  /* A redacted entry links into its chain like the full one. */
  cairn_entry next;
  make_entry(&next, &k, 2, e.hash, golden_body, sizeof golden_body);
  assert_int_equal(cairn_entry_follows(&next, &r), 0);
  msgpack_sbuffer_destroy(&sb);

  /* Only ext type 1 with exactly 32 bytes is a redacted body. */
  for (int bad = 0; bad < 2; bad++) {
    uint8_t copy[sizeof want];
    memcpy(copy, want, sizeof want);
    if (bad == 0)
      copy[GOLDEN_BODY_OFF + 2] = 2;    /* the ext type byte: c7 20 [01] */
    else
      copy[GOLDEN_BODY_OFF + 1] = 0x1f; /* the length byte */
    assert_int_equal(cairn_entry_decode(copy, sizeof copy, &d, &consumed), CAIRN_EMALFORMED);
  }
}

static void test_chain(void **state) {
  (void)state;
  struct key k, other;
  cairn_entry e1, e2, e3, x;
  msgpack_sbuffer sb;
  size_t consumed, off = 0;

  key_from_seed(&k, 9);
  key_from_seed(&other, 10);
  make_entry(&e1, &k, 1, NULL, golden_body, sizeof golden_body);
  make_entry(&e2, &k, 2, e1.hash, golden_body, sizeof golden_body);
  make_entry(&e3, &k, 3, e2.hash, golden_body, sizeof golden_body);
  cairn_entry_sign(&e3, k.sk);

  assert_int_equal(cairn_entry_follows(&e1, NULL), 0);
  assert_int_equal(cairn_entry_follows(&e2, &e1), 0);
  assert_int_equal(cairn_entry_follows(&e3, &e2), 0);

  /* The same chain survives encoding: decode the three back to back. */
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_entry_encode(&e1, &sb), 0);
  assert_int_equal(cairn_entry_encode(&e2, &sb), 0);
  assert_int_equal(cairn_entry_encode(&e3, &sb), 0);
  cairn_entry d[3];
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cairn_entry_decode((const uint8_t *)sb.data + off, sb.size - off, &d[i], &consumed), 0);
    off += consumed;
    assert_int_equal(cairn_entry_follows(&d[i], i == 0 ? NULL : &d[i - 1]), 0);
  }
  assert_int_equal(off, sb.size);
  assert_int_equal(cairn_entry_verify_sig(&d[2]), 0);
  msgpack_sbuffer_destroy(&sb);

  assert_int_equal(cairn_entry_follows(&e3, &e1), CAIRN_EGAP);
  assert_int_equal(cairn_entry_follows(&e1, &e2), CAIRN_EGAP);
  assert_int_equal(cairn_entry_follows(&e2, NULL), CAIRN_EGAP);

  make_entry(&x, &k, 3, e1.hash, golden_body, sizeof golden_body); /* right seq, wrong prev */
  assert_int_equal(cairn_entry_follows(&x, &e2), CAIRN_EBADCHAIN);
  make_entry(&x, &k, 1, e1.hash, golden_body, sizeof golden_body); /* seq 1 with a prev */
  assert_int_equal(cairn_entry_follows(&x, NULL), CAIRN_EBADCHAIN);
  make_entry(&x, &other, 3, e2.hash, golden_body, sizeof golden_body); /* another author */
  assert_int_equal(cairn_entry_follows(&x, &e2), CAIRN_EBADCHAIN);

  x = e2;
  x.seq = UINT64_MAX;
  e3.seq = 0; /* UINT64_MAX + 1 must not wrap to 0 */
  assert_int_equal(cairn_entry_follows(&e3, &x), CAIRN_EGAP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generated_ids),
      cmocka_unit_test(test_golden_vector),  cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_truncation_and_trailing), cmocka_unit_test(test_shape_errors),
      cmocka_unit_test(test_huge_container), cmocka_unit_test(test_too_big),
      cmocka_unit_test(test_sign_verify),    cmocka_unit_test(test_tamper),
      cmocka_unit_test(test_chain),          cmocka_unit_test(test_redact),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
