/* test_keystore.c: the key store file (store/keystore.h): keys made, read
 * back after a reopen, forgotten for good (the file's bytes searched), torn
 * slots, another wrap key, a bad header, many keys, and gets beside makes
 * on other threads. */
#define _GNU_SOURCE 1 /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "keystore.h"

typedef struct fixture {
  char dir[64];
  char path[128];
  uint8_t wrap[32];
} fixture;

static int setup(void **state) {
  fixture *fx = calloc(1, sizeof *fx);
  if (!fx || sodium_init() < 0)
    return -1;
  strcpy(fx->dir, "/tmp/cairn-keystore-XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/keys", fx->dir);
  randombytes_buf(fx->wrap, sizeof fx->wrap);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  unlink(fx->path);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

/* A tag: 16 bytes from n, as a keyed hash of a student id would be. */
static void tag_of(uint32_t n, uint8_t tag[16]) {
  crypto_generichash(tag, 16, (const uint8_t *)&n, sizeof n, NULL, 0);
}

static cairn_keystore *open_ok(const fixture *fx) {
  cairn_keystore *ks = NULL;
  assert_int_equal(cairn_keystore_open(fx->path, fx->wrap, &ks), 0);
  assert_non_null(ks);
  return ks;
}

/* ks holds key for tag. */
static void expect_key(cairn_keystore *ks, const uint8_t tag[16], const uint8_t key[32]) {
  uint8_t got[32];
  assert_int_equal(cairn_keystore_get(ks, tag, got), 0);
  assert_memory_equal(got, key, 32);
}

/* The whole file; *len its size. Caller frees. */
static uint8_t *read_file(const char *path, size_t *len) {
  struct stat st;
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  uint8_t *p = malloc((size_t)st.st_size + 1);
  assert_non_null(p);
  assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
  close(fd);
  *len = (size_t)st.st_size;
  return p;
}

static off_t file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_size;
}

/* Writes n bytes of p at off into the file. */
static void poke(const char *path, off_t off, const void *p, size_t n) {
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
  close(fd);
}

static void test_make_get_reopen(void **state) {
  fixture *fx = *state;
  uint8_t t1[16], t2[16], k1[32], k2[32], again[32], got[32];
  struct stat st;

  tag_of(1, t1);
  tag_of(2, t2);
  cairn_keystore *ks = open_ok(fx);
  assert_int_equal(stat(fx->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(cairn_keystore_count(ks), 0);
  assert_int_equal(cairn_keystore_get(ks, t1, got), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  assert_int_equal(cairn_keystore_make(ks, t2, k2), 0);
  assert_memory_not_equal(k1, k2, 32);
  expect_key(ks, t1, k1);
  /* A second make of the same tag hands back the same key, writing nothing. */
  off_t size = file_size(fx->path);
  assert_int_equal(cairn_keystore_make(ks, t1, again), 0);
  assert_memory_equal(again, k1, 32);
  assert_int_equal(file_size(fx->path), size);
  assert_int_equal(cairn_keystore_count(ks), 2);
  cairn_keystore_close(ks);

  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 2);
  expect_key(ks, t1, k1);
  expect_key(ks, t2, k2);
  /* The key is never in the file in the clear. */
  size_t len;
  uint8_t *file = read_file(fx->path, &len);
  assert_int_equal(len, CAIRN_KEYSTORE_HEADER_BYTES + 2 * CAIRN_KEYSTORE_SLOT_BYTES);
  assert_null(memmem(file, len, k1, 32));
  assert_null(memmem(file, len, k2, 32));
  free(file);
  cairn_keystore_close(ks);
  cairn_keystore_close(NULL);
}

static void test_forget_overwrites(void **state) {
  fixture *fx = *state;
  uint8_t t1[16], t2[16], t3[16], k1[32], k2[32], k3[32], got[32];
  size_t len;

  tag_of(1, t1);
  tag_of(2, t2);
  tag_of(3, t3);
  cairn_keystore *ks = open_ok(fx);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  assert_int_equal(cairn_keystore_make(ks, t2, k2), 0);
  /* t1's slot as it is on disk: its tag and its sealed key. */
  uint8_t *file = read_file(fx->path, &len), slot[CAIRN_KEYSTORE_SLOT_BYTES];
  uint8_t *at = memmem(file, len, t1, 16);
  assert_non_null(at);
  memcpy(slot, at, sizeof slot);
  free(file);

  assert_int_equal(cairn_keystore_forget(ks, t1), 0);
  assert_int_equal(cairn_keystore_get(ks, t1, got), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_keystore_count(ks), 1);
  assert_int_equal(cairn_keystore_forget(ks, t1), 0); /* again: nothing to do */
  file = read_file(fx->path, &len);
  assert_null(memmem(file, len, t1, 16));
  assert_null(memmem(file, len, slot + 16, 24 + 48)); /* nonce and sealed key */
  assert_null(memmem(file, len, slot + 40, 16));      /* any part of them */
  free(file);
  cairn_keystore_close(ks);

  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_get(ks, t1, got), CAIRN_ENOTFOUND);
  expect_key(ks, t2, k2);
  /* The forgotten slot takes the next key: the file does not grow. */
  off_t size = file_size(fx->path);
  assert_int_equal(cairn_keystore_make(ks, t3, k3), 0);
  assert_int_equal(file_size(fx->path), size);
  /* The same in one session: forget then make. */
  assert_int_equal(cairn_keystore_forget(ks, t2), 0);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  assert_int_equal(file_size(fx->path), size);
  cairn_keystore_close(ks);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 2);
  expect_key(ks, t3, k3);
  expect_key(ks, t1, k1);
  assert_int_equal(cairn_keystore_get(ks, t2, got), CAIRN_ENOTFOUND);
  cairn_keystore_close(ks);
}

static void test_wrong_wrap_key(void **state) {
  fixture *fx = *state;
  uint8_t t1[16], k1[32], other[32];

  tag_of(1, t1);
  cairn_keystore *ks = open_ok(fx);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  cairn_keystore_close(ks);
  memcpy(other, fx->wrap, 32);
  other[0] ^= 1;
  /* refused: opened, it would read as empty and new keys be made over
   * the real ones */
  assert_int_equal(cairn_keystore_open(fx->path, other, &ks), CAIRN_ENOKEY);
  assert_null(ks);
  /* Nothing was written: the right key still reads it. */
  ks = open_ok(fx);
  expect_key(ks, t1, k1);
  cairn_keystore_close(ks);
}

static void test_torn_slot(void **state) {
  fixture *fx = *state;
  uint8_t t[3][16], k[3][32], got[32];

  cairn_keystore *ks = open_ok(fx);
  for (uint32_t i = 0; i < 3; i++) {
    tag_of(i, t[i]);
    assert_int_equal(cairn_keystore_make(ks, t[i], k[i]), 0);
  }
  cairn_keystore_close(ks);
  /* One byte of the second slot's sealed key changed, as a torn write. */
  uint8_t b = 0x5a;
  poke(fx->path, CAIRN_KEYSTORE_HEADER_BYTES + CAIRN_KEYSTORE_SLOT_BYTES + 50, &b, 1);
  /* And half a slot appended, as an append a crash cut. */
  uint8_t half[CAIRN_KEYSTORE_SLOT_BYTES / 2];
  memset(half, 0x77, sizeof half);
  off_t size = file_size(fx->path);
  poke(fx->path, size, half, sizeof half);

  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 2);
  assert_int_equal(cairn_keystore_get(ks, t[1], got), CAIRN_ENOTFOUND);
  expect_key(ks, t[0], k[0]);
  expect_key(ks, t[2], k[2]);
  /* The torn slot is free: the next key is written over it. */
  uint8_t t4[16], k4[32];
  tag_of(4, t4);
  assert_int_equal(cairn_keystore_make(ks, t4, k4), 0);
  assert_int_equal(file_size(fx->path), size + (off_t)sizeof half);
  size_t len;
  uint8_t *file = read_file(fx->path, &len);
  assert_memory_equal(file + CAIRN_KEYSTORE_HEADER_BYTES + CAIRN_KEYSTORE_SLOT_BYTES, t4, 16);
  free(file);
  /* The next one goes over the cut tail, making it a whole slot. */
  uint8_t t5[16], k5[32];
  tag_of(5, t5);
  assert_int_equal(cairn_keystore_make(ks, t5, k5), 0);
  assert_int_equal(file_size(fx->path), size + CAIRN_KEYSTORE_SLOT_BYTES);
  cairn_keystore_close(ks);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 4);
  expect_key(ks, t5, k5);
  cairn_keystore_close(ks);
}

/* A slot copied over another (a file cairn did not write): one key, and the
 * copy is overwritten at open, so a forget leaves nothing. */
static void test_duplicate_slot(void **state) {
  fixture *fx = *state;
  uint8_t t1[16], t2[16], k1[32], k2[32];
  size_t len;

  tag_of(1, t1);
  tag_of(2, t2);
  cairn_keystore *ks = open_ok(fx);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  assert_int_equal(cairn_keystore_make(ks, t2, k2), 0);
  cairn_keystore_close(ks);
  uint8_t *file = read_file(fx->path, &len);
  poke(fx->path, CAIRN_KEYSTORE_HEADER_BYTES + CAIRN_KEYSTORE_SLOT_BYTES,
       file + CAIRN_KEYSTORE_HEADER_BYTES, CAIRN_KEYSTORE_SLOT_BYTES);
  free(file);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 1);
  expect_key(ks, t1, k1);
  assert_int_equal(cairn_keystore_forget(ks, t1), 0);
  file = read_file(fx->path, &len);
  assert_null(memmem(file, len, t1, 16));
  free(file);
  cairn_keystore_close(ks);
}

static void test_bad_header(void **state) {
  fixture *fx = *state;
  uint8_t t1[16], k1[32];

  tag_of(1, t1);
  cairn_keystore *ks = open_ok(fx);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  cairn_keystore_close(ks);
  off_t size = file_size(fx->path);
  poke(fx->path, 0, "cairnkeyz", 9);
  assert_int_equal(cairn_keystore_open(fx->path, fx->wrap, &ks), CAIRN_ECORRUPT);
  assert_null(ks);
  poke(fx->path, 0, "cairnkeys", 9);
  poke(fx->path, 13, "\x02", 1);
  assert_int_equal(cairn_keystore_open(fx->path, fx->wrap, &ks), CAIRN_EVERSION);
  assert_null(ks);
  assert_int_equal(file_size(fx->path), size); /* refused, never rewritten */
  poke(fx->path, 13, "\x01", 1);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 1);
  cairn_keystore_close(ks);

  /* A header a crash cut (shorter than a header) is written again. */
  assert_int_equal(truncate(fx->path, 20), 0);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), 0);
  cairn_keystore_close(ks);
  assert_int_equal(file_size(fx->path), CAIRN_KEYSTORE_HEADER_BYTES);
  /* Not a regular file. */
  assert_int_equal(cairn_keystore_open(fx->dir, fx->wrap, &ks), CAIRN_EIO);
  assert_null(ks);
}

static void test_many_keys(void **state) {
  fixture *fx = *state;
  enum { N = 2000 };
  uint8_t(*keys)[32] = malloc(N * 32), tag[16], got[32];

  assert_non_null(keys);
  cairn_keystore *ks = open_ok(fx);
  for (uint32_t i = 0; i < N; i++) {
    tag_of(i, tag);
    assert_int_equal(cairn_keystore_make(ks, tag, keys[i]), 0);
  }
  for (uint32_t i = 0; i < N; i += 2) {
    tag_of(i, tag);
    assert_int_equal(cairn_keystore_forget(ks, tag), 0);
  }
  cairn_keystore_close(ks);
  ks = open_ok(fx);
  assert_int_equal(cairn_keystore_count(ks), N / 2);
  for (uint32_t i = 0; i < N; i++) {
    tag_of(i, tag);
    if (i % 2 == 0) {
      assert_int_equal(cairn_keystore_get(ks, tag, got), CAIRN_ENOTFOUND);
    } else {
      expect_key(ks, tag, keys[i]);
    }
  }
  /* The freed half takes new keys without the file growing. */
  off_t size = file_size(fx->path);
  for (uint32_t i = N; i < N + N / 2; i++) {
    tag_of(i, tag);
    assert_int_equal(cairn_keystore_make(ks, tag, got), 0);
  }
  assert_int_equal(file_size(fx->path), size);
  assert_int_equal(cairn_keystore_count(ks), N);
  cairn_keystore_close(ks);
  free(keys);
}

typedef struct reader {
  cairn_keystore *ks;
  const uint8_t (*keys)[32];
  int rounds, bad;
} reader;

/* Reads the first 100 keys again and again while another thread makes. */
static void *read_keys(void *arg) {
  reader *r = arg;
  uint8_t tag[16], got[32];
  for (int round = 0; round < r->rounds; round++)
    for (uint32_t i = 0; i < 100; i++) {
      tag_of(i, tag);
      if (cairn_keystore_get(r->ks, tag, got) != 0 || memcmp(got, r->keys[i], 32) != 0)
        r->bad++;
      (void)cairn_keystore_count(r->ks);
    }
  return NULL;
}

static void test_threads(void **state) {
  fixture *fx = *state;
  uint8_t keys[400][32], tag[16];
  pthread_t th[2];
  reader r[2];

  cairn_keystore *ks = open_ok(fx);
  for (uint32_t i = 0; i < 100; i++) {
    tag_of(i, tag);
    assert_int_equal(cairn_keystore_make(ks, tag, keys[i]), 0);
  }
  for (int t = 0; t < 2; t++) {
    r[t] = (reader){.ks = ks, .keys = (const uint8_t(*)[32])keys, .rounds = 50};
    assert_int_equal(pthread_create(&th[t], NULL, read_keys, &r[t]), 0);
  }
  /* Makes and forgets of other tags meanwhile: the array grows and moves. */
  for (uint32_t i = 100; i < 400; i++) {
    tag_of(i, tag);
    assert_int_equal(cairn_keystore_make(ks, tag, keys[i]), 0);
    if (i % 3 == 0)
      assert_int_equal(cairn_keystore_forget(ks, tag), 0);
  }
  for (int t = 0; t < 2; t++) {
    assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(r[t].bad, 0);
  }
  assert_int_equal(cairn_keystore_count(ks), 300);
  tag_of(398, tag);
  expect_key(ks, tag, keys[398]);
  cairn_keystore_close(ks);
}

static void test_slot_decode(void **state) {
  (void)state;
  uint8_t slot[CAIRN_KEYSTORE_SLOT_BYTES] = {0}, wrap[32] = {1}, tag[16], key[32];

  memset(tag, 0xee, sizeof tag);
  memset(key, 0xee, sizeof key);
  assert_int_equal(cairn_keystore_slot_decode(slot, sizeof slot, wrap, tag, key), 0);
  uint8_t zero[32] = {0};
  assert_memory_equal(tag, zero, 16);
  assert_memory_equal(key, zero, 32);
  /* A slot a store wrote decodes whole, and at no other length. */
  fixture fx = {.dir = "/tmp/cairn-keystore-XXXXXX"};
  assert_non_null(mkdtemp(fx.dir));
  snprintf(fx.path, sizeof fx.path, "%s/keys", fx.dir);
  memcpy(fx.wrap, wrap, 32);
  uint8_t t1[16], k1[32];
  tag_of(7, t1);
  cairn_keystore *ks = open_ok(&fx);
  assert_int_equal(cairn_keystore_make(ks, t1, k1), 0);
  cairn_keystore_close(ks);
  size_t len;
  uint8_t *file = read_file(fx.path, &len);
  memcpy(slot, file + CAIRN_KEYSTORE_HEADER_BYTES, sizeof slot);
  free(file);
  unlink(fx.path);
  rmdir(fx.dir);
  assert_int_equal(cairn_keystore_slot_decode(slot, sizeof slot, wrap, tag, key), 1);
  assert_memory_equal(tag, t1, 16);
  assert_memory_equal(key, k1, 32);
  assert_int_equal(cairn_keystore_slot_decode(slot, sizeof slot - 1, wrap, tag, key), 0);
  /* Its tag is bound to the key: another tag does not authenticate. */
  slot[0] ^= 1;
  assert_int_equal(cairn_keystore_slot_decode(slot, sizeof slot, wrap, tag, key), 0);
  assert_memory_equal(key, zero, 32);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_make_get_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forget_overwrites, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_wrap_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_slot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_slot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
      cmocka_unit_test(test_slot_decode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
