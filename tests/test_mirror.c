/* test_mirror.c: what the PostgreSQL mirror decides without a server (the
 * integration test, mirror_test.sh, runs it against a real PostgreSQL):
 * the connection strings cairnd accepts, and the student each record is
 * filed under. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "mirror.h"
#include "store_fixture.h"

static void test_conninfo_without_password(void **state) {
  char why[160];
  (void)state;
  assert_int_equal(cairn_mirror_conninfo_check("host=/run/postgresql dbname=cairn", why,
                                               sizeof why),
                   0);
  assert_int_equal(cairn_mirror_conninfo_check(
                       "postgresql:///cairn?host=/run/postgresql&passfile=/etc/cairn/pgpass", why,
                       sizeof why),
                   0);
}

static void test_conninfo_refused(void **state) {
  static const char *const bad[] = {"host=db password=hunter2",
                                    "postgresql://cairn:hunter2@db/cairn",
                                    "postgresql:///cairn?password=hunter2"};
  char why[160];
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(cairn_mirror_conninfo_check(bad[i], why, sizeof why), CAIRN_EINVAL);
    assert_non_null(strstr(why, "postgres: holds a password"));
    assert_null(strstr(why, "hunter2"));
  }
  assert_int_equal(cairn_mirror_conninfo_check("host=db port", why, sizeof why), CAIRN_EINVAL);
  assert_non_null(strstr(why, "postgres: not a libpq connection string"));
  assert_int_equal(cairn_mirror_conninfo_check("", why, sizeof why), CAIRN_EINVAL);
  cairn_mirror *m = NULL;
  assert_int_equal(cairn_mirror_new(&m, "host=db password=x"), CAIRN_EINVAL);
  assert_null(m);
}

static void test_record_student(void **state) {
  device d;
  char m[72], e[72], student[65];
  (void)state;
  device_new(&d, NULL);
  add_student(d.s, "ana-8");
  add_milestone(d.s, "ana-8", m);
  assert_int_equal(add_evidence(d.s, m, "2026-03-06", 2, e, NULL), 0);

  assert_int_equal(cairn_store_record_student(d.s, CAIRN_REC_STUDENT, "ana-8", student), 0);
  assert_string_equal(student, "ana-8");
  assert_int_equal(cairn_store_record_student(d.s, CAIRN_REC_MILESTONE, m, student), 0);
  assert_string_equal(student, "ana-8");
  assert_int_equal(cairn_store_record_student(d.s, CAIRN_REC_EVIDENCE, e, student), 0);
  assert_string_equal(student, "ana-8");
  assert_int_equal(cairn_store_record_student(d.s, CAIRN_REC_EVIDENCE, "n0-999", student),
                   CAIRN_ENOTFOUND);
  assert_string_equal(student, "");
  assert_int_equal(cairn_store_record_student(d.s, CAIRN_REC_TEMPLATE, "t", student),
                   CAIRN_ENOTFOUND);
  device_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conninfo_without_password),
      cmocka_unit_test(test_conninfo_refused),
      cmocka_unit_test(test_record_student),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
