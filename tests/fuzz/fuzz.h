/*
 * fuzz.h: what every libFuzzer target in tests/fuzz/ shares.
 *
 * A target is one pure decoder driven by LLVMFuzzerTestOneInput. Besides
 * the sanitizers, a target checks the decoder's contract (what it consumed,
 * where its pointers point, that a decoded value encodes and decodes back to
 * itself) with FUZZ_CHECK, which aborts so libFuzzer keeps the input.
 */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with the failed condition when a decoder breaks its contract. */
#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond);         \
      abort();                                                                              \
    }                                                                                       \
  } while (0)

/* 1 when p[0..n) lies inside buf[0..len). */
static inline int fuzz_inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n) {
  return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

/* Decodes a run of entries (an ENTRIES body, a bundle's payload) as far as
 * it goes, checking each entry's signature and its place after the one
 * before as the store will. Returns how many decoded. */
static inline size_t fuzz_decode_entries(const uint8_t *p, size_t len) {
  cairn_entry prev, e;
  size_t off = 0, n = 0;

  while (off < len) {
    size_t used = 0;
    int rc;
    if (cairn_entry_decode(p + off, len - off, &e, &used) != 0)
      break;
    FUZZ_CHECK(used >= 1 && used <= len - off);
    rc = cairn_entry_verify_sig(&e);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EBADSIG);
    rc = cairn_entry_follows(&e, n ? &prev : NULL);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EGAP || rc == CAIRN_EBADCHAIN);
    prev = e;
    off += used;
    n++;
  }
  return n;
}

/* ---- fixed randomness ----
 *
 * Sealing (a bundle's content key and nonce, crypto_box_seal's ephemeral
 * key) draws from libsodium's randombytes. For the same input to give the
 * same bytes, in the fuzz targets and in make_seeds, fuzz_random_fixed()
 * (before sodium_init()) swaps in a generator that is a pure function of a
 * counter, and fuzz_random_reset() (at the start of each input) rewinds it.
 * Never outside tests. */

static inline uint64_t *fuzz_random_counter(void) {
  static uint64_t counter;
  return &counter;
}

static inline void fuzz_random_buf(void *buf, size_t size) {
  uint8_t seed[randombytes_SEEDBYTES] = {0};
  uint64_t *c = fuzz_random_counter();

  memcpy(seed, c, sizeof *c);
  ++*c;
  randombytes_buf_deterministic(buf, size, seed);
}

static inline uint32_t fuzz_random_u32(void) {
  uint32_t v;
  fuzz_random_buf(&v, sizeof v);
  return v;
}

static inline const char *fuzz_random_name(void) { return "cairn-fuzz-fixed"; }

static inline void fuzz_random_reset(void) { *fuzz_random_counter() = 0; }

static inline void fuzz_random_fixed(void) {
  static struct randombytes_implementation fixed = {
      .implementation_name = fuzz_random_name, .random = fuzz_random_u32, .buf = fuzz_random_buf};
  if (randombytes_set_implementation(&fixed) != 0)
    abort();
  fuzz_random_reset();
}

/* The backup key the backup target opens sealed seeds with (make_seeds
 * seals them to its public half): 32 bytes, 1, 2, 3, ... */
static inline void fuzz_backup_sk(uint8_t sk[32]) {
  for (int i = 0; i < 32; i++)
    sk[i] = (uint8_t)(i + 1);
}

/* The wrap key of the key store target's files (make_seeds writes its
 * seeds under it): 32 bytes, 0x4b ('K'). */
static inline void fuzz_keystore_wrap(uint8_t wrap[32]) { memset(wrap, 0x4b, 32); }

#endif
