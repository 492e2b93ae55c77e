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

#endif
