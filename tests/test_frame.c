/* test_frame.c: length-prefixed frames of the local protocol. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "frame.h"

#define SENTINEL ((size_t)12345)

static void test_header_is_big_endian(void **state) {
  (void)state;
  uint8_t hdr[CAIRN_FRAME_HEADER];
  cairn_frame_header(hdr, 0x01020304);
  assert_memory_equal(hdr, "\x01\x02\x03\x04", 4);
  cairn_frame_header(hdr, 5);
  assert_memory_equal(hdr, "\x00\x00\x00\x05", 4);
}

static void test_exact_frame(void **state) {
  (void)state;
  const uint8_t buf[] = {0, 0, 0, 3, 'a', 'b', 'c'};
  const uint8_t *payload = NULL;
  size_t plen = 0, consumed = 0;

  assert_int_equal(cairn_frame_decode(buf, sizeof buf, CAIRN_FRAME_MAX, &payload, &plen, &consumed), 0);
  assert_ptr_equal(payload, buf + 4);
  assert_int_equal(plen, 3);
  assert_int_equal(consumed, sizeof buf);
}

static void test_partial(void **state) {
  (void)state;
  const uint8_t buf[] = {0, 0, 0, 3, 'a', 'b', 'c'};
  const uint8_t *payload = NULL;
  size_t plen = SENTINEL, consumed = SENTINEL;

  /* Partial header, then header with partial payload. */
  for (size_t len = 0; len < sizeof buf; len++) {
    assert_int_equal(cairn_frame_decode(buf, len, CAIRN_FRAME_MAX, &payload, &plen, &consumed), CAIRN_EAGAIN);
    assert_int_equal(consumed, SENTINEL);
    assert_int_equal(plen, SENTINEL);
    assert_null(payload);
  }
}

static void test_bad_lengths(void **state) {
  (void)state;
  const uint8_t zero[] = {0, 0, 0, 0, 'x'};
  const uint8_t over[] = {0x00, 0x10, 0x00, 0x01}; /* 1 MiB + 1, no payload yet */
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
  const uint8_t just_max[] = {0x00, 0x10, 0x00, 0x00};
  const uint8_t *payload = NULL;
  size_t plen = SENTINEL, consumed = SENTINEL;

  assert_int_equal(cairn_frame_decode(zero, sizeof zero, CAIRN_FRAME_MAX, &payload, &plen, &consumed), CAIRN_ETOOBIG);
  /* The length is refused from the header alone, before any payload. */
  assert_int_equal(cairn_frame_decode(over, sizeof over, CAIRN_FRAME_MAX, &payload, &plen, &consumed), CAIRN_ETOOBIG);
  assert_int_equal(cairn_frame_decode(huge, sizeof huge, CAIRN_FRAME_MAX, &payload, &plen, &consumed), CAIRN_ETOOBIG);
  assert_int_equal(consumed, SENTINEL);
  /* Exactly the maximum is fine; it just needs its payload. */
  assert_int_equal(cairn_frame_decode(just_max, sizeof just_max, CAIRN_FRAME_MAX, &payload, &plen, &consumed),
                   CAIRN_EAGAIN);
  /* The caller's max applies, not only CAIRN_FRAME_MAX. */
  const uint8_t five[] = {0, 0, 0, 5, 1, 2, 3, 4, 5};
  assert_int_equal(cairn_frame_decode(five, sizeof five, 4, &payload, &plen, &consumed), CAIRN_ETOOBIG);
  assert_int_equal(cairn_frame_decode(five, sizeof five, 5, &payload, &plen, &consumed), 0);
  assert_int_equal(plen, 5);
}

static void test_back_to_back(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t n = 0, off = 0;
  const char *msgs[] = {"one", "second", "x"};

  for (size_t i = 0; i < 3; i++) {
    size_t len = strlen(msgs[i]);
    cairn_frame_header(buf + n, (uint32_t)len);
    memcpy(buf + n + CAIRN_FRAME_HEADER, msgs[i], len);
    n += CAIRN_FRAME_HEADER + len;
  }
  buf[n++] = 0; /* the start of a fourth header */
  for (size_t i = 0; i < 3; i++) {
    const uint8_t *payload;
    size_t plen, consumed;
    assert_int_equal(cairn_frame_decode(buf + off, n - off, CAIRN_FRAME_MAX, &payload, &plen, &consumed), 0);
    assert_int_equal(plen, strlen(msgs[i]));
    assert_memory_equal(payload, msgs[i], plen);
    off += consumed;
  }
  const uint8_t *payload;
  size_t plen, consumed = SENTINEL;
  assert_int_equal(cairn_frame_decode(buf + off, n - off, CAIRN_FRAME_MAX, &payload, &plen, &consumed), CAIRN_EAGAIN);
  assert_int_equal(consumed, SENTINEL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_is_big_endian), cmocka_unit_test(test_exact_frame),
      cmocka_unit_test(test_partial),              cmocka_unit_test(test_bad_lengths),
      cmocka_unit_test(test_back_to_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
