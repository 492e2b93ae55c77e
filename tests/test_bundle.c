/* test_bundle.c: an offline bundle opens for each of its recipients and no
 * one else (up to the central and a hub, or down to one device), and any
 * truncated or altered file is refused whole. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "error.h"

typedef struct keypair {
  uint8_t pk[CAIRN_KEY_BYTES];
  uint8_t sk[CAIRN_SECRET_BYTES];
} keypair;

static keypair classroom, central, hub, stranger;
static const uint8_t payload[] = "pretend these are encoded log entries";

static void keys(keypair *k) { crypto_sign_keypair(k->pk, k->sk); }

/* Seals payload by the classroom to the central and the hub. */
static void seal_two(uint8_t **out, size_t *len) {
  uint8_t to[2][CAIRN_KEY_BYTES];
  memcpy(to[0], central.pk, CAIRN_KEY_BYTES);
  memcpy(to[1], hub.pk, CAIRN_KEY_BYTES);
  assert_int_equal(cairn_bundle_seal(classroom.sk, to, 2, payload, sizeof payload, out, len), 0);
}

/* Opens buf as k; asserts it is refused with code rc and returns nothing. */
static void assert_refused(const uint8_t *buf, size_t len, const keypair *k, int rc) {
  uint8_t author[CAIRN_KEY_BYTES], *plain = (uint8_t *)1;
  size_t plain_len = 99;
  char why[200] = "";
  int got = cairn_bundle_open(buf, len, k->sk, author, &plain, &plain_len, why, sizeof why);
  if (rc != 0)
    assert_int_equal(got, rc);
  else
    assert_int_not_equal(got, 0);
  assert_null(plain);
  assert_int_equal(plain_len, 0);
  assert_true(why[0] != '\0' || got == CAIRN_ENOMEM);
}

/* Opens buf as reader k; asserts it opens to payload, written by author. */
static void assert_opens(const uint8_t *buf, size_t len, const keypair *k,
                         const keypair *author_was) {
  uint8_t *plain, author[CAIRN_KEY_BYTES];
  size_t plain_len;
  char why[200];

  assert_int_equal(cairn_bundle_open(buf, len, k->sk, author, &plain, &plain_len, why,
                                     sizeof why),
                   0);
  assert_memory_equal(author, author_was->pk, CAIRN_KEY_BYTES);
  assert_int_equal(plain_len, sizeof payload);
  assert_memory_equal(plain, payload, sizeof payload);
  free(plain);
}

static void test_round_trip_to_central(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;

  seal_two(&buf, &len);
  assert_memory_equal(buf, "CAIRNBUNDLE1\n\x01", 14);
  assert_opens(buf, len, &central, &classroom);
  free(buf);
}

static void test_hub_opens_too(void **state) {
  (void)state;
  uint8_t *buf, *plain, author[CAIRN_KEY_BYTES];
  size_t len, plain_len;
  char why[200];

  seal_two(&buf, &len);
  assert_int_equal(cairn_bundle_open(buf, len, hub.sk, author, &plain, &plain_len, why,
                                     sizeof why),
                   0);
  assert_memory_equal(plain, payload, sizeof payload);
  free(plain);
  free(buf);
}

static void test_empty_payload(void **state) {
  (void)state;
  uint8_t *buf, *plain, author[CAIRN_KEY_BYTES];
  size_t len, plain_len = 1;
  char why[200];

  assert_int_equal(cairn_bundle_seal(classroom.sk, (const uint8_t(*)[CAIRN_KEY_BYTES])central.pk,
                                     1, NULL, 0, &buf, &len),
                   0);
  assert_int_equal(cairn_bundle_open(buf, len, central.sk, author, &plain, &plain_len, why,
                                     sizeof why),
                   0);
  assert_non_null(plain);
  assert_int_equal(plain_len, 0);
  free(plain);
  free(buf);
}

static void test_third_party_refused(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;

  seal_two(&buf, &len);
  assert_refused(buf, len, &stranger, CAIRN_EPERM);
  assert_refused(buf, len, &classroom, CAIRN_EPERM); /* not even its author */
  free(buf);
}

/* A downward bundle: the central seals for one classroom. Only that
 * classroom opens it; the hub and everyone else are refused, yet told who
 * wrote it (the signature verified), so that a reader can say so. */
static void test_downward_for_one_device(void **state) {
  (void)state;
  uint8_t *buf, *plain = NULL, author[CAIRN_KEY_BYTES];
  size_t len, plain_len = 0;
  char why[200] = "";

  assert_int_equal(cairn_bundle_seal(central.sk, (const uint8_t(*)[CAIRN_KEY_BYTES])classroom.pk,
                                     1, payload, sizeof payload, &buf, &len),
                   0);
  assert_int_equal(buf[CAIRN_BUNDLE_MAGIC_BYTES + 1 + CAIRN_KEY_BYTES], 1); /* one slot */
  assert_opens(buf, len, &classroom, &central);
  const keypair *others[] = {&hub, &stranger, &central};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    const keypair *k = others[i];
    memset(author, 0, sizeof author);
    plain = (uint8_t *)1;
    assert_int_equal(cairn_bundle_open(buf, len, k->sk, author, &plain, &plain_len, why,
                                       sizeof why),
                     CAIRN_EPERM);
    assert_null(plain);
    assert_int_equal(plain_len, 0);
    assert_non_null(strstr(why, "not addressed to this node"));
    assert_memory_equal(author, central.pk, CAIRN_KEY_BYTES);
  }
  free(buf);
}

static void test_every_truncation_refused(void **state) {
  (void)state;
  uint8_t *buf, *copy;
  size_t len;

  seal_two(&buf, &len);
  for (size_t n = 0; n < len; n++) {
    copy = malloc(n + 1); /* an exact-size copy: ASan catches any read past n */
    memcpy(copy, buf, n);
    assert_refused(copy, n, &central, 0);
    free(copy);
  }
  free(buf);
}

static void test_every_flipped_byte_refused(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;

  seal_two(&buf, &len);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x01;
    assert_refused(buf, len, &central, 0);
    assert_refused(buf, len, &hub, 0);
    buf[i] ^= 0x01;
  }
  free(buf);
}

static void test_tampering_is_a_bad_signature(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;

  seal_two(&buf, &len);
  buf[len / 2] ^= 0x80;
  assert_refused(buf, len, &central, CAIRN_EBADSIG);
  buf[len / 2] ^= 0x80;
  assert_refused(buf, len - 1, &central, CAIRN_EBADSIG); /* cut in the signature */
  assert_refused(buf, 20, &central, CAIRN_EMALFORMED);   /* cut in the header */
  free(buf);
}

static void test_wrong_magic_and_version(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;

  seal_two(&buf, &len);
  buf[0] = 'X';
  assert_refused(buf, len, &central, CAIRN_EMALFORMED);
  buf[0] = 'C';
  buf[CAIRN_BUNDLE_MAGIC_BYTES] = 2;
  assert_refused(buf, len, &central, CAIRN_EVERSION);
  assert_refused((const uint8_t *)"hello", 5, &central, CAIRN_EMALFORMED);
  free(buf);
}

static void test_seal_refuses_bad_recipients(void **state) {
  (void)state;
  uint8_t to[5][CAIRN_KEY_BYTES], *buf;
  size_t len;

  memset(to, 0, sizeof to);
  for (int i = 0; i < 5; i++)
    memcpy(to[i], central.pk, CAIRN_KEY_BYTES);
  assert_int_equal(cairn_bundle_seal(classroom.sk, to, 0, payload, 1, &buf, &len), CAIRN_EINVAL);
  assert_int_equal(cairn_bundle_seal(classroom.sk, to, 5, payload, 1, &buf, &len), CAIRN_EINVAL);
  memset(to[1], 0, CAIRN_KEY_BYTES); /* a small-order point: no X25519 form */
  assert_int_equal(cairn_bundle_seal(classroom.sk, to, 2, payload, 1, &buf, &len), CAIRN_EINVAL);
  assert_null(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_to_central),
      cmocka_unit_test(test_hub_opens_too),
      cmocka_unit_test(test_empty_payload),
      cmocka_unit_test(test_third_party_refused),
      cmocka_unit_test(test_downward_for_one_device),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_every_flipped_byte_refused),
      cmocka_unit_test(test_tampering_is_a_bad_signature),
      cmocka_unit_test(test_wrong_magic_and_version),
      cmocka_unit_test(test_seal_refuses_bad_recipients),
  };
  if (sodium_init() < 0)
    return 1;
  keys(&classroom);
  keys(&central);
  keys(&hub);
  keys(&stranger);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
