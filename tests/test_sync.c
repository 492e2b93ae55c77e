/* test_sync.c: sync messages and join tokens round-trip, and anything else
 * is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "sync.h"

static const uint8_t key_a[32] = {1, 2, 3}, key_b[32] = {9, 8, 7};

/* Every strict prefix of a whole message is refused, never read past. */
static void assert_prefixes_refused(const msgpack_sbuffer *sb) {
  cairn_sync_msg m;
  for (size_t n = 0; n < sb->size; n++)
    assert_int_not_equal(cairn_sync_decode((const uint8_t *)sb->data, n, &m), 0);
}

static void test_hello_round_trip(void **state) {
  (void)state;
  cairn_sync_vv vv[2];
  memcpy(vv[0].author, key_a, 32);
  vv[0].seq = 42;
  memcpy(vv[1].author, key_b, 32);
  vv[1].seq = 1ull << 40;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_sync_pack_hello(&sb, "classroom", key_a, "north", "r12", vv, 2,
                                         1780000000123ULL, 1780000005000ULL),
                   0);
  cairn_sync_msg m;
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_HELLO);
  assert_int_equal(m.version, CAIRN_SYNC_VERSION);
  assert_true(m.time_ms == 1780000000123ULL);
  assert_true(m.central_ms == 1780000005000ULL);
  assert_string_equal(m.role, "classroom");
  assert_memory_equal(m.device, key_a, 32);
  assert_string_equal(m.campus, "north");
  assert_string_equal(m.classroom, "r12");
  assert_int_equal(m.vv_n, 2);
  assert_memory_equal(m.vv[1].author, key_b, 32);
  assert_true(m.vv[1].seq == 1ull << 40);
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);
  msgpack_sbuffer_destroy(&sb);
}

static void test_other_messages_round_trip(void **state) {
  (void)state;
  uint8_t sig[64], secret[16];
  memset(sig, 0x5a, sizeof sig);
  memset(secret, 0x11, sizeof secret);
  msgpack_sbuffer sb;
  cairn_sync_msg m;

  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_sync_pack_entries(&sb, 7, (const uint8_t *)"abc", 3, 1), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_ENTRIES);
  assert_int_equal(m.batch, 7);
  assert_int_equal(m.entries_len, 3);
  assert_int_equal(m.entries_count, 1);
  assert_memory_equal(m.entries, "abc", 3);
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);

  /* more entries than bytes cannot be */
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_entries(&sb, 7, (const uint8_t *)"abc", 3, 4), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), CAIRN_EMALFORMED);

  /* a student's history: ARRIVED, WANT, DONE name a student and an HLC;
   * FILL carries whole entries */
  static const cairn_sync_type said[] = {CAIRN_SYNC_ARRIVED, CAIRN_SYNC_WANT, CAIRN_SYNC_DONE};
  for (size_t i = 0; i < sizeof said / sizeof said[0]; i++) {
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(cairn_sync_pack_student(&sb, said[i], "ana-8", 0x1234567890ULL), 0);
    assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
    assert_int_equal(m.type, said[i]);
    assert_string_equal(m.student, "ana-8");
    assert_int_equal(m.arrival, 0x1234567890ULL);
    cairn_sync_msg_clear(&m);
    assert_prefixes_refused(&sb);
    /* a student that is not an id (a path, a control character) is refused */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(cairn_sync_pack_student(&sb, said[i], "../etc", 1), 0);
    assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), CAIRN_EMALFORMED);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(cairn_sync_pack_student(&sb, said[i], "a\x1b[2J", 1), 0);
    assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), CAIRN_EMALFORMED);
  }
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_fill(&sb, (const uint8_t *)"abcd", 4, 2), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_FILL);
  assert_int_equal(m.entries_len, 4);
  assert_int_equal(m.entries_count, 2);
  assert_memory_equal(m.entries, "abcd", 4);
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_fill(&sb, (const uint8_t *)"abcd", 4, 5), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), CAIRN_EMALFORMED);

  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_offer(&sb, 22), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_OFFER);
  assert_int_equal(m.offered, 22);
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);

  msgpack_sbuffer_clear(&sb);
  cairn_sync_ack ack = {.batch = 7, .applied = 990, .refused = 10, .held = 3, .redated = 2,
                        .ahead_ms = 94608000000ULL,
                        .reason = "3fa2c1d9 #12: outside its scope"};
  assert_int_equal(cairn_sync_pack_ack(&sb, &ack), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_ACK);
  assert_int_equal(m.applied, 990);
  assert_int_equal(m.refused, 10);
  assert_int_equal(m.held, 3);
  assert_int_equal(m.redated, 2);
  assert_true(m.ahead_ms == 94608000000ULL);
  assert_string_equal(m.reason, "3fa2c1d9 #12: outside its scope");
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);

  /* CLOSE: the code and its text, cut to its limit on a character. */
  char long_text[400];
  memset(long_text, 'x', sizeof long_text);
  memcpy(long_text + 199, "\xc3\xa9", 2); /* an e-acute across the 200-byte limit */
  long_text[sizeof long_text - 1] = '\0';
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_close(&sb, CAIRN_CLOSE_DISK_FULL, "the central's disk is full"),
                   0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_CLOSE);
  assert_int_equal(m.close_code, CAIRN_CLOSE_DISK_FULL);
  assert_string_equal(m.reason, "the central's disk is full");
  assert_string_equal(cairn_sync_close_name(m.close_code), "disk_full");
  cairn_sync_msg_clear(&m);
  assert_prefixes_refused(&sb);
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_close(&sb, CAIRN_CLOSE_BUSY, long_text), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(strlen(m.reason), 199); /* the whole character left out */
  cairn_sync_msg_clear(&m);
  assert_string_equal(cairn_sync_close_name(99), "unknown");

  /* A refusal before the handshake: plain, and printable once read. */
  int code;
  char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1];
  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_refusal(&sb, CAIRN_CLOSE_BUSY, "too many \x1b[2J"), 0);
  assert_int_equal(cairn_sync_parse_refusal((const uint8_t *)sb.data, sb.size, &code, text), 1);
  assert_int_equal(code, CAIRN_CLOSE_BUSY);
  assert_string_equal(text, "too many ?[2J");
  assert_int_equal(cairn_sync_parse_refusal((const uint8_t *)sb.data, 13, &code, text), 0);
  assert_int_equal(cairn_sync_parse_refusal((const uint8_t *)"cairn-refuse\0\x01", 14, &code,
                                            text),
                   0);

  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_receipt(&sb, key_a, 1000, key_b, sig), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_RECEIPT);
  assert_memory_equal(m.author, key_a, 32);
  assert_int_equal(m.seq, 1000);
  assert_memory_equal(m.central, key_b, 32);
  assert_memory_equal(m.sig, sig, 64);
  cairn_sync_msg_clear(&m);

  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_join(&sb, secret, key_a, "hub", "North hub"), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.type, CAIRN_SYNC_JOIN);
  assert_memory_equal(m.secret, secret, 16);
  assert_string_equal(m.role, "hub");
  assert_string_equal(m.name, "North hub");
  cairn_sync_msg_clear(&m);

  msgpack_sbuffer_clear(&sb);
  assert_int_equal(cairn_sync_pack_welcome(&sb, CAIRN_EPERM, "", "", "token expired"), 0);
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), 0);
  assert_int_equal(m.welcome_code, CAIRN_EPERM);
  assert_string_equal(m.reason, "token expired");
  cairn_sync_msg_clear(&m);
  msgpack_sbuffer_destroy(&sb);
}

static void test_bad_shapes_refused(void **state) {
  (void)state;
  static const struct {
    const char *bytes;
    size_t len;
    int want;
  } cases[] = {
      {"\x91\x0d", 2, CAIRN_EMALFORMED},                 /* unknown type 13 */
      {"\x90", 1, CAIRN_EMALFORMED},                     /* empty array */
      {"\x81\xa1v\x01", 4, CAIRN_EMALFORMED},            /* a map, not an array */
      {"\x93\x02\x01\xa3" "abc", 7, CAIRN_EMALFORMED},   /* entries as str, not bin */
      {"\x92\x01\x81\xa1v\x01", 6, CAIRN_EVERSION},      /* HELLO v1: checked first */
      {"\x92\x01\x81\xa1v\x02", 6, CAIRN_EVERSION},      /* and v2 */
      {"\x92\x01\x81\xa1v\x03", 6, CAIRN_EVERSION},      /* and v3 */
      {"\x92\x01\x81\xa1v\x05", 6, CAIRN_EVERSION},      /* and v5 */
      {"\x93\x02\x01\xc4\x00\x00", 6, CAIRN_EMALFORMED}, /* trailing byte */
  };
  cairn_sync_msg m;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_int_equal(cairn_sync_decode((const uint8_t *)cases[i].bytes, cases[i].len, &m),
                     cases[i].want);
  uint8_t big[16];
  assert_int_equal(cairn_sync_decode(big, (size_t)CAIRN_SYNC_MSG_MAX + 1, &m), CAIRN_ETOOBIG);
}

static void test_hello_version_must_be_this_one(void **state) {
  (void)state;
  /* {v: 1, role, device, scope, vv}: a HELLO of version 1 */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_map(&pk, 5);
  const char *keys[] = {"v", "role", "device", "scope", "vv"};
  msgpack_pack_str(&pk, 1);
  msgpack_pack_str_body(&pk, keys[0], 1);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_str(&pk, 4);
  msgpack_pack_str_body(&pk, keys[1], 4);
  msgpack_pack_str(&pk, 3);
  msgpack_pack_str_body(&pk, "hub", 3);
  msgpack_pack_str(&pk, 6);
  msgpack_pack_str_body(&pk, keys[2], 6);
  msgpack_pack_bin(&pk, 32);
  msgpack_pack_bin_body(&pk, key_a, 32);
  msgpack_pack_str(&pk, 5);
  msgpack_pack_str_body(&pk, keys[3], 5);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_str(&pk, 0);
  msgpack_pack_str(&pk, 0);
  msgpack_pack_str(&pk, 2);
  msgpack_pack_str_body(&pk, keys[4], 2);
  msgpack_pack_array(&pk, 0);
  cairn_sync_msg m;
  assert_int_equal(cairn_sync_decode((const uint8_t *)sb.data, sb.size, &m), CAIRN_EVERSION);
  msgpack_sbuffer_destroy(&sb);
}

static void test_token_round_trip_and_damage(void **state) {
  (void)state;
  cairn_sync_token t = {.expires = 1795000000}, u;
  char text[CAIRN_SYNC_TOKEN_MAX], why[128];
  snprintf(t.address, sizeof t.address, "127.0.0.1:7420");
  memcpy(t.central, key_b, 32);
  memset(t.network, 0x77, sizeof t.network);
  memset(t.secret, 0x42, sizeof t.secret);
  assert_int_equal(cairn_sync_token_format(&t, text, sizeof text), 0);
  assert_true(strncmp(text, "cairn1.", 7) == 0);
  assert_int_equal(cairn_sync_token_parse(text, &u, why, sizeof why), 0);
  assert_string_equal(u.address, "127.0.0.1:7420");
  assert_memory_equal(u.central, key_b, 32);
  assert_memory_equal(u.secret, t.secret, 16);
  assert_true(u.expires == t.expires);

  assert_int_equal(cairn_sync_token_parse("hello", &u, why, sizeof why), CAIRN_EINVAL);
  assert_non_null(strstr(why, "not a cairn join token"));
  text[strlen(text) - 3] = '\0'; /* truncated in a copy-paste */
  assert_int_equal(cairn_sync_token_parse(text, &u, why, sizeof why), CAIRN_EINVAL);
  assert_non_null(strstr(why, "damaged"));
  assert_int_equal(cairn_sync_token_parse("cairn1.!!!", &u, why, sizeof why), CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello_round_trip),
      cmocka_unit_test(test_other_messages_round_trip),
      cmocka_unit_test(test_bad_shapes_refused),
      cmocka_unit_test(test_hello_version_must_be_this_one),
      cmocka_unit_test(test_token_round_trip_and_damage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
