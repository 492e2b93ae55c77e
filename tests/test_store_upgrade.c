/*
 * test_store_upgrade.c: the store's upgrade path (store/store_upgrade.c;
 * docs/FORMAT.md, "Format versions") driven with test-only migration
 * tables, since format 1 is the only real format: a store of an older
 * format is backed up first, then migrated in one transaction; a failing
 * step or backup leaves it as it was; a store of a newer format is refused
 * and not written to.
 */
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
#include "store.h"
#include "store_fixture.h"
#include "store_int.h"

/* What the steps and the backup hook saw. */
static struct {
  int hook_calls;
  unsigned hook_from, hook_to;
  int hook_rc;           /* what the hook returns */
  char copy_dir[96];     /* where the hook copied the store ("" when it did not) */
  size_t steps_run;
  size_t steps_after_hook; /* steps that ran once the hook had */
  size_t txn_id[8];      /* each step's transaction */
} seen;

static int put_meta(cairn_store *s, MDB_txn *txn, const char *key, const char *value) {
  MDB_val k = {strlen(key), (void *)key}, v = {strlen(value), (void *)value};
  return mdb_put(txn, s->meta, &k, &v, 0) == 0 ? 0 : CAIRN_EIO;
}

static void step_seen(MDB_txn *txn) {
  assert_true(seen.steps_run < sizeof seen.txn_id / sizeof seen.txn_id[0]);
  seen.txn_id[seen.steps_run++] = mdb_txn_id(txn);
  if (seen.hook_calls > 0)
    seen.steps_after_hook++;
}

static int step_1_to_2(cairn_store *s, MDB_txn *txn) {
  step_seen(txn);
  return put_meta(s, txn, "test-step-2", "added by 1 -> 2");
}

static int step_2_to_3(cairn_store *s, MDB_txn *txn) {
  step_seen(txn);
  return put_meta(s, txn, "test-step-3", "added by 2 -> 3");
}

static int step_2_to_3_fails(cairn_store *s, MDB_txn *txn) {
  step_seen(txn);
  if (put_meta(s, txn, "test-step-3", "never kept") != 0)
    return CAIRN_EIO;
  return CAIRN_ENOSPC; /* as a full disk would, after writing */
}

static const cairn__store_migration to_2[] = {{1, step_1_to_2}, {0, NULL}};
static const cairn__store_migration to_3[] = {{1, step_1_to_2}, {2, step_2_to_3}, {0, NULL}};
static const cairn__store_migration to_3_failing[] = {
    {1, step_1_to_2}, {2, step_2_to_3_fails}, {0, NULL}};
static const cairn__store_migration to_7[] = {{1, step_1_to_2}, {2, step_2_to_3},
                                              {3, step_2_to_3}, {4, step_2_to_3},
                                              {5, step_2_to_3}, {6, step_2_to_3},
                                              {0, NULL}};
static const cairn__store_migration gap[] = {{2, step_2_to_3}, {0, NULL}};

/* The backup cairnd takes, reduced to its core: a copy of the store as it
 * is before the migration. */
static int hook(cairn_store *s, unsigned from, unsigned to, void *arg) {
  const char *dir = arg;
  char path[128];
  int fd;

  seen.hook_calls++;
  seen.hook_from = from;
  seen.hook_to = to;
  if (seen.hook_rc != 0)
    return seen.hook_rc;
  snprintf(seen.copy_dir, sizeof seen.copy_dir, "%s-copy", dir);
  snprintf(path, sizeof path, "%s/store", seen.copy_dir);
  assert_int_equal(mkdir(seen.copy_dir, 0750), 0);
  assert_int_equal(mkdir(path, 0750), 0);
  snprintf(path, sizeof path, "%s/store/data.mdb", seen.copy_dir);
  assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
  int rc = cairn_store_copy(s, fd);
  close(fd);
  return rc;
}

static void remove_copy(void) {
  char path[128];
  if (seen.copy_dir[0] == '\0')
    return;
  snprintf(path, sizeof path, "%s/store/data.mdb", seen.copy_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/store/lock.mdb", seen.copy_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/store", seen.copy_dir);
  rmdir(path);
  rmdir(seen.copy_dir);
}

/* The bytes of dir/store/data.mdb (caller frees). */
static uint8_t *data_file(const char *dir, size_t *len) {
  char path[128];
  struct stat st;
  snprintf(path, sizeof path, "%s/store/data.mdb", dir);
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  uint8_t *buf = malloc((size_t)st.st_size);
  assert_non_null(buf);
  assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
  close(fd);
  *len = (size_t)st.st_size;
  return buf;
}

/* dir/store/data.mdb holds exactly bytes[0..len); frees bytes. */
static void assert_data_file_is(const char *dir, uint8_t *bytes, size_t len) {
  size_t now_len;
  uint8_t *now = data_file(dir, &now_len);
  assert_int_equal(now_len, len);
  assert_memory_equal(now, bytes, len);
  free(now);
  free(bytes);
}

static int has_meta(cairn_store *s, const char *key) {
  MDB_txn *txn;
  MDB_val k = {strlen(key), (void *)key}, v;
  assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), 0);
  int rc = mdb_get(txn, s->meta, &k, &v);
  mdb_txn_abort(txn);
  assert_true(rc == 0 || rc == MDB_NOTFOUND);
  return rc == 0;
}

static unsigned format_of(const char *dir) {
  unsigned f = 99;
  assert_int_equal(cairn_store_format(dir, &f), 0);
  return f;
}

static const cairn__store_migration no_steps[] = {{0, NULL}};

/* A format-1 store holding a student, a milestone and evidence, closed;
 * its export in before. (This build writes format 1 when told to.) */
static void old_store(device *d, msgpack_sbuffer *before) {
  char ms[72], ev[72];
  cairn_store_opts o = {0};
  memset(&seen, 0, sizeof seen);
  snprintf(d->dir, sizeof d->dir, "/tmp/cairn-test-store-XXXXXX");
  assert_non_null(mkdtemp(d->dir));
  crypto_sign_keypair(d->pk, d->sk);
  assert_int_equal(cairn__store_open_at(&d->s, d->dir, d->sk, &o, no_steps, 1), 0);
  add_student(d->s, "ana-8");
  add_milestone(d->s, "ana-8", ms);
  assert_int_equal(add_evidence(d->s, ms, "2026-03-02", 2, ev, NULL), 0);
  export_of(d->s, before);
  cairn_store_close(d->s);
  d->s = NULL;
  assert_int_equal(format_of(d->dir), 1);
}

static void assert_same_export(cairn_store *s, const msgpack_sbuffer *before) {
  msgpack_sbuffer after;
  export_of(s, &after);
  assert_int_equal(after.size, before->size);
  assert_memory_equal(after.data, before->data, before->size);
  msgpack_sbuffer_destroy(&after);
}

static int open_at(device *d, const cairn__store_migration *steps, unsigned format) {
  cairn_store_opts o = {.before_upgrade = hook, .upgrade_arg = d->dir};
  return cairn__store_open_at(&d->s, d->dir, d->sk, &o, steps, format);
}

/* 1 -> 2 -> 3: the backup first (of the format-1 store), then both steps
 * in one transaction; the records are the same and the store says 3. */
static void test_migrates_after_the_backup_in_one_transaction(void **state) {
  (void)state;
  device d;
  msgpack_sbuffer before;
  old_store(&d, &before);
  assert_int_equal(open_at(&d, to_3, 3), 0);
  assert_int_equal(seen.hook_calls, 1);
  assert_int_equal(seen.hook_from, 1);
  assert_int_equal(seen.hook_to, 3);
  assert_int_equal(seen.steps_run, 2);
  assert_int_equal(seen.steps_after_hook, 2);
  assert_int_equal(seen.txn_id[0], seen.txn_id[1]);
  assert_true(has_meta(d.s, "test-step-2"));
  assert_true(has_meta(d.s, "test-step-3"));
  assert_same_export(d.s, &before);
  assert_check_clean(d.s);
  cairn_store_close(d.s);
  d.s = NULL;
  assert_int_equal(format_of(d.dir), 3);
  assert_int_equal(format_of(seen.copy_dir), 1); /* the backup is of the old store */
  /* Opened again at its format: nothing to migrate, no backup. */
  memset(&seen, 0, sizeof seen);
  assert_int_equal(open_at(&d, to_3, 3), 0);
  assert_int_equal(seen.hook_calls, 0);
  assert_int_equal(seen.steps_run, 0);
  assert_same_export(d.s, &before);
  msgpack_sbuffer_destroy(&before);
  device_free(&d);
  snprintf(seen.copy_dir, sizeof seen.copy_dir, "%s-copy", d.dir);
  remove_copy();
}

/* The second step fails after the first wrote: the open fails with its
 * error, the store's file is byte for byte as it was, and this build opens
 * it at format 1 with the same records. */
static void test_failed_step_leaves_the_store_as_it_was(void **state) {
  (void)state;
  device d;
  msgpack_sbuffer before;
  size_t len0;
  old_store(&d, &before);
  uint8_t *bytes0 = data_file(d.dir, &len0);
  assert_int_equal(open_at(&d, to_3_failing, 3), CAIRN_ENOSPC);
  assert_null(d.s);
  assert_int_equal(seen.hook_calls, 1);
  assert_int_equal(seen.steps_run, 2);
  assert_data_file_is(d.dir, bytes0, len0);
  assert_int_equal(format_of(d.dir), 1);
  device_open(&d, NULL);
  assert_false(has_meta(d.s, "test-step-2"));
  assert_false(has_meta(d.s, "test-step-3"));
  assert_same_export(d.s, &before);
  msgpack_sbuffer_destroy(&before);
  remove_copy();
  device_free(&d);
}

/* No backup, no upgrade: the hook's error stops the open before any step. */
static void test_failed_backup_stops_the_upgrade(void **state) {
  (void)state;
  device d;
  msgpack_sbuffer before;
  old_store(&d, &before);
  seen.hook_rc = CAIRN_ENOSPC;
  assert_int_equal(open_at(&d, to_2, 2), CAIRN_ENOSPC);
  assert_int_equal(seen.hook_calls, 1);
  assert_int_equal(seen.steps_run, 0);
  assert_int_equal(format_of(d.dir), 1);
  device_open(&d, NULL);
  assert_same_export(d.s, &before);
  msgpack_sbuffer_destroy(&before);
  device_free(&d);
}

/* A store of a newer format than the build's is refused (CAIRN_EVERSION),
 * with no backup and no byte of its file changed; cairn_store_format says
 * which format it is. */
static void test_newer_format_is_refused_untouched(void **state) {
  (void)state;
  device d;
  msgpack_sbuffer before;
  size_t len0;
  _Static_assert(CAIRN_STORE_FORMAT < 7, "format 7 is no longer newer than this build's");
  old_store(&d, &before);
  seen.hook_rc = 0;
  assert_int_equal(open_at(&d, to_7, 7), 0); /* "a newer cairn" wrote format 7 */
  cairn_store_close(d.s);
  d.s = NULL;
  remove_copy();
  memset(&seen, 0, sizeof seen);
  uint8_t *bytes0 = data_file(d.dir, &len0);
  cairn_store_opts o = {.before_upgrade = hook, .upgrade_arg = d.dir};
  assert_int_equal(cairn_store_open(&d.s, d.dir, d.sk, &o), CAIRN_EVERSION);
  assert_null(d.s);
  assert_int_equal(seen.hook_calls, 0);
  assert_data_file_is(d.dir, bytes0, len0);
  assert_int_equal(format_of(d.dir), 7);
  /* The newer cairn still opens it, records intact. */
  assert_int_equal(open_at(&d, to_7, 7), 0);
  assert_same_export(d.s, &before);
  msgpack_sbuffer_destroy(&before);
  device_free(&d);
}

/* A missing step (no cairn wrote format 1 -> 2 here) is refused before the
 * backup: the store was not written by cairn's formats. */
static void test_missing_step_is_refused(void **state) {
  (void)state;
  device d;
  msgpack_sbuffer before;
  old_store(&d, &before);
  assert_int_equal(open_at(&d, gap, 3), CAIRN_ECORRUPT);
  assert_int_equal(seen.hook_calls, 0);
  assert_int_equal(seen.steps_run, 0);
  assert_int_equal(format_of(d.dir), 1);
  device_open(&d, NULL);
  msgpack_sbuffer_destroy(&before);
  device_free(&d);
}

/* A new store is made at this build's format, with no backup; and the real
 * table leads every format cairn ever wrote to this build's. */
static void test_new_store_and_the_real_table(void **state) {
  (void)state;
  device d;
  memset(&seen, 0, sizeof seen);
  snprintf(d.dir, sizeof d.dir, "/tmp/cairn-test-store-XXXXXX");
  assert_non_null(mkdtemp(d.dir));
  crypto_sign_keypair(d.pk, d.sk);
  unsigned none = 99;
  assert_int_equal(cairn_store_format(d.dir, &none), CAIRN_ENOTFOUND);
  assert_int_equal(none, 0);
  cairn_store_opts o = {.before_upgrade = hook, .upgrade_arg = d.dir};
  assert_int_equal(cairn_store_open(&d.s, d.dir, d.sk, &o), 0);
  assert_int_equal(seen.hook_calls, 0);
  cairn_store_close(d.s);
  d.s = NULL;
  assert_int_equal(format_of(d.dir), CAIRN_STORE_FORMAT);
  for (unsigned f = 1; f <= CAIRN_STORE_FORMAT; f++)
    assert_int_equal(cairn__store_migration_check(cairn__store_migrations, f, CAIRN_STORE_FORMAT),
                     0);
  assert_int_equal(cairn__store_migration_check(cairn__store_migrations, CAIRN_STORE_FORMAT + 1,
                                                CAIRN_STORE_FORMAT),
                   CAIRN_EVERSION);
  device_open(&d, NULL);
  device_free(&d);
}

/* The real step from format 1: a store written before the arrivals and
 * reach indexes has them built from its records (a student who moved
 * into 8B; the author who named 7A and 8B), as its folds would have. */
static void test_real_step_builds_the_history_indexes(void **state) {
  (void)state;
  device d;
  cairn_scope room = scope_of("North", "8B"), other = scope_of("North", "9C");
  cairn_store_arrival arr[2];
  size_t n;
  memset(&seen, 0, sizeof seen);
  device_new(&d, NULL);
  add_student_at(d.s, "bo-1", "North", "7A");
  setb b;
  set_begin(&b, 1);
  set_str(&b, "classroom", "8B");
  assert_int_equal(put1(d.s, CAIRN_REC_STUDENT, "bo-1", 1, &b, NULL, NULL, NULL), 0);
  assert_int_equal(cairn_store_arrivals(d.s, &room, arr, 2, &n), 0);
  assert_int_equal(n, 1);
  uint64_t hlc = arr[0].hlc;
  assert_int_equal(cairn_store_author_reaches(d.s, d.pk, &room), 1);
  /* as a format-1 store holds it: no indexes */
  MDB_txn *txn;
  assert_int_equal(mdb_txn_begin(d.s->env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_drop(txn, d.s->arrivals, 0), 0);
  assert_int_equal(mdb_drop(txn, d.s->reach, 0), 0);
  uint8_t one = 1;
  MDB_val k = {6, "format"}, v = {1, &one};
  assert_int_equal(mdb_put(txn, d.s->meta, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  assert_int_equal(cairn_store_author_reaches(d.s, d.pk, &room), 0);
  cairn_store_close(d.s);
  d.s = NULL;
  assert_int_equal(format_of(d.dir), 1);

  cairn_store_opts o = {.before_upgrade = hook, .upgrade_arg = d.dir};
  assert_int_equal(cairn_store_open(&d.s, d.dir, d.sk, &o), 0);
  assert_int_equal(seen.hook_calls, 1);
  assert_int_equal(cairn_store_arrivals(d.s, &room, arr, 2, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(arr[0].student, "bo-1");
  assert_int_equal(arr[0].hlc, hlc);
  assert_int_equal(cairn_store_arrivals(d.s, &other, arr, 2, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(cairn_store_author_reaches(d.s, d.pk, &room), 1);
  assert_int_equal(cairn_store_author_reaches(d.s, d.pk, &other), 0);
  assert_check_clean(d.s);
  cairn_store_close(d.s);
  d.s = NULL;
  assert_int_equal(format_of(d.dir), CAIRN_STORE_FORMAT);
  device_open(&d, NULL);
  device_free(&d);
  remove_copy();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migrates_after_the_backup_in_one_transaction),
      cmocka_unit_test(test_failed_step_leaves_the_store_as_it_was),
      cmocka_unit_test(test_failed_backup_stops_the_upgrade),
      cmocka_unit_test(test_newer_format_is_refused_untouched),
      cmocka_unit_test(test_missing_step_is_refused),
      cmocka_unit_test(test_new_store_and_the_real_table),
      cmocka_unit_test(test_real_step_builds_the_history_indexes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
