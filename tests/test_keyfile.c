/* test_keyfile.c: DATA/device.key creation, loading and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "keyfile.h"

typedef struct fixture {
  char dir[64];
  char key[128];
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  if (!fx)
    return -1;
  strcpy(fx->dir, "/tmp/cairn-keyfile-XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    return -1;
  }
  snprintf(fx->key, sizeof fx->key, "%s/device.key", fx->dir);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  unlink(fx->key);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static char why[512];

static void test_create_then_load(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], *sk = NULL, sig[crypto_sign_BYTES];
  static const uint8_t msg[] = "cairn-head-v1";
  struct stat st;

  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  assert_int_equal(stat(fx->key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 64);

  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), 0);
  assert_non_null(sk);
  assert_memory_equal(sk + 32, pk, 32);
  assert_int_equal(crypto_sign_detached(sig, NULL, msg, sizeof msg, sk), 0);
  assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
  cairn_keyfile_free(sk);
  cairn_keyfile_free(NULL);
}

static void test_create_over_existing(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], pk2[32], *sk = NULL;

  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  assert_int_equal(cairn_keyfile_create(fx->key, pk2), CAIRN_EEXISTS);
  /* the first key is untouched */
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), 0);
  assert_memory_equal(sk + 32, pk, 32);
  cairn_keyfile_free(sk);
}

static void test_create_in_missing_dir(void **state) {
  fixture *fx = *state;
  char path[160];
  uint8_t pk[32];
  snprintf(path, sizeof path, "%s/nope/device.key", fx->dir);
  assert_int_equal(cairn_keyfile_create(path, pk), CAIRN_ENOTFOUND);
}

static void test_group_readable_refused(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], *sk = NULL;
  char expect[512];

  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  assert_int_equal(chmod(fx->key, 0644), 0);
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_EPERM);
  assert_null(sk);
  snprintf(expect, sizeof expect,
           "%s: readable by group or others (mode 0644); run chmod 600 %s", fx->key, fx->key);
  assert_string_equal(why, expect);

  assert_int_equal(chmod(fx->key, 0620), 0);
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_EPERM);
  assert_non_null(strstr(why, "chmod 600"));
}

/* A systemd credential: 0400 (owned by the service user) and 0440 (owned
 * by root, read granted by an ACL whose mask shows as group read) load the
 * same key; anything for others, or group write, is refused; a missing
 * credential is CAIRN_ENOKEY, as a missing device.key. */
static void test_credential_modes(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], *sk = NULL;
  static const struct { mode_t mode; int rc; } cases[] = {
      {0400, 0}, {0440, 0}, {0600, 0}, {0404, CAIRN_EPERM}, {0460, CAIRN_EPERM},
      {0401, CAIRN_EPERM}};

  assert_int_equal(cairn_keyfile_load_credential(fx->key, &sk, why, sizeof why), CAIRN_ENOKEY);
  assert_null(sk);
  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(chmod(fx->key, cases[i].mode), 0);
    assert_int_equal(cairn_keyfile_load_credential(fx->key, &sk, why, sizeof why), cases[i].rc);
    if (cases[i].rc == 0) {
      assert_non_null(sk);
      assert_memory_equal(sk + 32, pk, 32);
      cairn_keyfile_free(sk);
      sk = NULL;
    } else {
      assert_null(sk);
      assert_non_null(strstr(why, fx->key));
      assert_non_null(strstr(why, "systemd gives a credential mode 0400"));
    }
  }
  /* device.key itself keeps its stricter rule */
  assert_int_equal(chmod(fx->key, 0440), 0);
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_EPERM);
}

static void test_truncated_is_corrupt(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], *sk = NULL;

  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  assert_int_equal(truncate(fx->key, 32), 0);
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_ECORRUPT);
  assert_null(sk);
  assert_non_null(strstr(why, fx->key));
}

static void test_mismatched_public_half_is_corrupt(void **state) {
  fixture *fx = *state;
  uint8_t pk[32], *sk = NULL, byte;
  int fd;

  assert_int_equal(cairn_keyfile_create(fx->key, pk), 0);
  fd = open(fx->key, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, &byte, 1, 63), 1);
  byte ^= 0x01;
  assert_int_equal(pwrite(fd, &byte, 1, 63), 1);
  close(fd);
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_ECORRUPT);
  assert_null(sk);
  assert_non_null(strstr(why, "public half"));
}

static void test_missing_is_nokey(void **state) {
  fixture *fx = *state;
  uint8_t *sk = NULL;
  assert_int_equal(cairn_keyfile_load(fx->key, &sk, why, sizeof why), CAIRN_ENOKEY);
  assert_null(sk);
  assert_non_null(strstr(why, fx->key));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_then_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_over_existing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_in_missing_dir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_readable_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_credential_modes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_is_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mismatched_public_half_is_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_is_nokey, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
