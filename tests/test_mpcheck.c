/* test_mpcheck.c: msgpack counts that cannot fit are refused before
 * msgpack-c allocates for them; every well-formed value passes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <string.h>

#include "error.h"
#include "mpcheck.h"

static void test_real_values_pass_and_prefixes_need_more(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  /* every type msgpack-c writes, nested */
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "list", 4);
  msgpack_pack_array(&pk, 12);
  msgpack_pack_nil(&pk);
  msgpack_pack_true(&pk);
  msgpack_pack_int64(&pk, -5);
  msgpack_pack_int64(&pk, -70000);
  msgpack_pack_uint64(&pk, 1ull << 40);
  msgpack_pack_uint16(&pk, 300);
  msgpack_pack_double(&pk, 2.5);
  msgpack_pack_float(&pk, 1.5f);
  msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
  msgpack_pack_ext_with_body(&pk, "abcd", 4, 1);
  msgpack_pack_ext_with_body(&pk, "abc", 3, 2);
  char big[300];
  memset(big, 'x', sizeof big);
  msgpack_pack_str_with_body(&pk, big, sizeof big);
  msgpack_pack_str_with_body(&pk, "empty", 5);
  msgpack_pack_map(&pk, 0);
  msgpack_pack_str_with_body(&pk, "deep", 4);
  for (int i = 0; i < 20; i++)
    msgpack_pack_array(&pk, 1);
  msgpack_pack_int(&pk, 1);
  size_t used;
  assert_int_equal(cairn_mpcheck((const uint8_t *)sb.data, sb.size, &used), 0);
  assert_int_equal(used, sb.size);
  for (size_t n = 0; n < sb.size; n++)
    assert_int_equal(cairn_mpcheck((const uint8_t *)sb.data, n, &used), CAIRN_EAGAIN);
  msgpack_sbuffer_destroy(&sb);
}

static void test_lying_counts_refused(void **state) {
  (void)state;
  size_t used;
  static const uint8_t array32[] = {0xdd, 0x08, 0x00, 0x00, 0x00}; /* 128M elements */
  static const uint8_t map32[] = {0xdf, 0x08, 0x00, 0x00, 0x00, 1, 2};
  static const uint8_t array16[] = {0xdc, 0x00, 0x05, 1, 2, 3, 4}; /* 5 claimed, 4 there */
  /* [[x, x, x], [x, x, x]] in 9 bytes claims 2 + 6 elements: fits; a
   * second inner array claiming 3 with only 2 bytes left does not. */
  static const uint8_t nested_ok[] = {0x92, 0x93, 1, 2, 3, 0x93, 4, 5, 6};
  static const uint8_t nested_lie[] = {0x92, 0x93, 1, 2, 3, 0x93, 4, 5};
  assert_int_not_equal(cairn_mpcheck(array32, sizeof array32, &used), 0);
  assert_int_not_equal(cairn_mpcheck(map32, sizeof map32, &used), 0);
  assert_int_not_equal(cairn_mpcheck(array16, sizeof array16, &used), 0);
  assert_int_equal(cairn_mpcheck(nested_ok, sizeof nested_ok, &used), 0);
  assert_int_not_equal(cairn_mpcheck(nested_lie, sizeof nested_lie, &used), 0);
  /* outer counts add up: [arr 100 of ...] inside [arr 100 of ...] with 150 bytes */
  uint8_t sum[160];
  memset(sum, 1, sizeof sum);
  sum[0] = 0xdc, sum[1] = 0, sum[2] = 100;  /* outer: 100 elements */
  sum[3] = 0xdc, sum[4] = 0, sum[5] = 100;  /* first element: 100 more */
  assert_int_not_equal(cairn_mpcheck(sum, 150, &used), 0); /* 199 pending > 144 left */
}

static void test_reserved_byte_and_depth(void **state) {
  (void)state;
  size_t used;
  static const uint8_t reserved[] = {0x91, 0xc1};
  assert_int_equal(cairn_mpcheck(reserved, sizeof reserved, &used), CAIRN_EMALFORMED);
  uint8_t deep[CAIRN_MPCHECK_DEPTH + 2];
  memset(deep, 0x91, sizeof deep); /* arrays of one, nested too deep */
  deep[sizeof deep - 1] = 0x01;
  assert_int_equal(cairn_mpcheck(deep, sizeof deep, &used), CAIRN_EMALFORMED);
  assert_int_equal(cairn_mpcheck(deep + 1, sizeof deep - 1, &used), 0); /* at the limit */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_values_pass_and_prefixes_need_more),
      cmocka_unit_test(test_lying_counts_refused),
      cmocka_unit_test(test_reserved_byte_and_depth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
