/* test_template.c: the statement pattern of a milestone template
 * (protocol/template.h): blanks, {name}, braces, and the refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "template.h"

static int check(const char *p, size_t *n, char *why) {
  return cairn_template_check(p, strlen(p), n, why, 200);
}

static void test_blanks_counted_once_in_order(void **state) {
  (void)state;
  const char *p = "I will read {number} pages of {kind of text}, {number} days a week, {name}.";
  size_t n = 99;
  char why[200] = "", w[80];
  assert_int_equal(check(p, &n, why), 0);
  assert_int_equal(n, 2);
  assert_int_equal(cairn_template_blank(p, strlen(p), 0, w, sizeof w), 0);
  assert_string_equal(w, "number");
  assert_int_equal(cairn_template_blank(p, strlen(p), 1, w, sizeof w), 0);
  assert_string_equal(w, "kind of text");
  assert_int_equal(cairn_template_blank(p, strlen(p), 2, w, sizeof w), CAIRN_ENOTFOUND);
  assert_int_equal(check("no blanks at all", &n, why), 0);
  assert_int_equal(n, 0);
}

static void test_fill(void **state) {
  (void)state;
  const char *p = "{name} will read {number} pages of {kind of text}, {number} days a week.";
  const char *fills[] = {"20", "a novel"};
  char out[200], why[200] = "";
  assert_int_equal(cairn_template_fill(p, strlen(p), "Ana", fills, 2, out, sizeof out, why,
                                       sizeof why),
                   0);
  assert_string_equal(out, "Ana will read 20 pages of a novel, 20 days a week.");
  /* braces doubled are braces; a name with braces is put in as it is */
  const char *q = "Set {{x}} = {y} for {name}";
  const char *one[] = {"3"};
  assert_int_equal(cairn_template_fill(q, strlen(q), "{B}", one, 1, out, sizeof out, why,
                                       sizeof why),
                   0);
  assert_string_equal(out, "Set {x} = 3 for {B}");
}

static void test_fill_counts_and_room(void **state) {
  (void)state;
  const char *p = "I will read {number} pages of {kind of text}.";
  const char *fills[] = {"20", "a novel", "extra"};
  char out[200], why[300] = "";
  assert_int_equal(cairn_template_fill(p, strlen(p), "Ana", fills, 1, out, sizeof out, why,
                                       sizeof why),
                   CAIRN_EINVAL);
  assert_string_equal(why, "fill: the template's statement has 2 blanks to complete ({number}, "
                           "{kind of text}); give one --fill for each, in that order");
  assert_string_equal(out, "");
  assert_int_equal(cairn_template_fill(p, strlen(p), "Ana", fills, 3, out, sizeof out, why,
                                       sizeof why),
                   CAIRN_EINVAL);
  const char *none = "I will read.";
  assert_int_equal(cairn_template_fill(none, strlen(none), "Ana", fills, 1, out, sizeof out, why,
                                       sizeof why),
                   CAIRN_EINVAL);
  assert_string_equal(why, "fill: the template's statement has no blank to complete; leave out "
                           "--fill");
  char small[10];
  assert_int_equal(cairn_template_fill(p, strlen(p), "Ana", fills, 2, small, sizeof small, why,
                                       sizeof why),
                   CAIRN_ETOOBIG);
  assert_string_equal(why, "statement: the filled statement is longer than 9 bytes");
}

static void test_bad_patterns_refused(void **state) {
  (void)state;
  static const struct {
    const char *pattern, *why;
  } bad[] = {
      {"I will {read", "statement: a '{' with no '}' after it (write {{ for a brace)"},
      {"I will {re{ad}", "statement: a '{' with no '}' after it (write {{ for a brace)"},
      {"I will read}", "statement: a '}' with no '{' before it (write }} for a brace)"},
      {"I will {} read", "statement: a blank {...} holds 1 to 64 bytes"},
      {"I will {   } read", "statement: a blank {...} must name what goes in it"},
      {"{a}{b}{c}{d}{e}{f}{g}{h}{i}", "statement: at most 8 different blanks {...} besides {name}"},
  };
  char why[200];
  size_t n;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why[0] = '\0';
    assert_int_equal(check(bad[i].pattern, &n, why), CAIRN_EINVAL);
    assert_string_equal(why, bad[i].why);
  }
  char long_blank[100];
  memset(long_blank, 'x', sizeof long_blank);
  long_blank[0] = '{';
  long_blank[66] = '}';
  long_blank[67] = '\0';
  assert_int_equal(check(long_blank, &n, why), CAIRN_EINVAL);
  long_blank[65] = '}';
  long_blank[66] = '\0';
  assert_int_equal(check(long_blank, &n, why), 0); /* 64 bytes: the most */
  assert_int_equal(check("{a}{b}{c}{d}{e}{f}{g}{h}{name}{a}", &n, why), 0);
  assert_int_equal(n, 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blanks_counted_once_in_order),
      cmocka_unit_test(test_fill),
      cmocka_unit_test(test_fill_counts_and_room),
      cmocka_unit_test(test_bad_patterns_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
