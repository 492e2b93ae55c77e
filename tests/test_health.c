/* test_health.c: the one verdict of `cairn health` and /health. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "health.h"

static const int64_t now = 1800000000;

static cairn_health_facts facts(void) {
  cairn_health_facts f = {1, 10ull << 30, 1, now - 30, now, 3600};
  return f;
}

static void test_healthy(void **state) {
  cairn_health_facts f = facts();
  char text[512];
  (void)state;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 1);
  assert_string_equal(text,
                      "healthy: cairnd serves; 10240 MiB free on its disk; the upstream link "
                      "succeeded 30 s ago\n");
  f.has_upstream = 0; /* the central, or a classroom not joined */
  f.upstream_success = 0;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 1);
  assert_string_equal(text, "healthy: cairnd serves; 10240 MiB free on its disk\n");
}

static void test_unhealthy(void **state) {
  cairn_health_facts f = facts();
  char text[512];
  (void)state;
  f.upstream_success = now - 7200;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 0);
  assert_string_equal(text, "unhealthy: the upstream link last succeeded 2 h ago (more than "
                            "3600 s)\n");
  f.upstream_success = 0;
  f.disk_free = 10ull << 20;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 0);
  assert_string_equal(text, "unhealthy: only 10 MiB free on the data directory's disk (at least "
                            "64 needed)\nunhealthy: the upstream link has never succeeded\n");
  f = facts();
  f.disk_known = 0;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 0);
  assert_string_equal(text, "unhealthy: /d: cannot read its file system's free space\n");
  /* The boundary: exactly within is healthy, a second more is not. */
  f = facts();
  f.upstream_success = now - 3600;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 1);
  f.upstream_success = now - 3601;
  assert_int_equal(cairn_health_judge(&f, "/d", text, sizeof text), 0);
  /* A short buffer is cut, never overrun, and still NUL-terminated. */
  f.disk_free = 0;
  assert_int_equal(cairn_health_judge(&f, "/d", text, 12), 0);
  assert_int_equal(strlen(text), 11);
}

static void test_disk_free(void **state) {
  uint64_t free_bytes = 0;
  (void)state;
  assert_int_equal(cairn_health_disk_free("/", &free_bytes), 0);
  assert_true(cairn_health_disk_free("/no/such/dir", &free_bytes) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_healthy),
      cmocka_unit_test(test_unhealthy),
      cmocka_unit_test(test_disk_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
