/* test_text.c: UTF-8, date and id validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "error.h"
#include "text.h"

static int utf8(const char *s) { return cairn_text_utf8_valid(s, strlen(s)); }

static void test_utf8_valid(void **state) {
  (void)state;
  assert_true(cairn_text_utf8_valid("", 0));
  assert_true(utf8("plain ascii ~"));
  assert_true(utf8("\xc2\x80"));                 /* U+0080, smallest 2-byte */
  assert_true(utf8("caf\xc3\xa9"));              /* é */
  assert_true(utf8("\xdf\xbf"));                 /* U+07FF */
  assert_true(utf8("\xe0\xa0\x80"));             /* U+0800, smallest 3-byte */
  assert_true(utf8("\xe2\x82\xac"));             /* € */
  assert_true(utf8("\xed\x9f\xbf"));             /* U+D7FF, just below surrogates */
  assert_true(utf8("\xee\x80\x80"));             /* U+E000, just above */
  assert_true(utf8("\xef\xbf\xbf"));             /* U+FFFF */
  assert_true(utf8("\xf0\x90\x80\x80"));         /* U+10000, smallest 4-byte */
  assert_true(utf8("\xf0\x9f\x98\x80"));         /* emoji */
  assert_true(utf8("\xf4\x8f\xbf\xbf"));         /* U+10FFFF, the last */
}

static void test_utf8_invalid(void **state) {
  (void)state;
  assert_false(cairn_text_utf8_valid("a\0b", 3));       /* NUL */
  assert_false(utf8("\x80"));                           /* lone continuation */
  assert_false(utf8("\xbf"));
  assert_false(utf8("\xc0\x80"));                       /* overlong NUL */
  assert_false(utf8("\xc1\xbf"));                       /* overlong 2-byte */
  assert_false(utf8("\xe0\x80\x80"));                   /* overlong 3-byte */
  assert_false(utf8("\xe0\x9f\xbf"));
  assert_false(utf8("\xf0\x80\x80\x80"));               /* overlong 4-byte */
  assert_false(utf8("\xf0\x8f\xbf\xbf"));
  assert_false(utf8("\xed\xa0\x80"));                   /* U+D800 */
  assert_false(utf8("\xed\xbf\xbf"));                   /* U+DFFF */
  assert_false(utf8("\xf4\x90\x80\x80"));               /* U+110000 */
  assert_false(utf8("\xf5\x80\x80\x80"));
  assert_false(utf8("\xff"));
  assert_false(utf8("\xc3"));                           /* truncated */
  assert_false(utf8("\xe2\x82"));
  assert_false(utf8("\xf0\x9f\x98"));
  assert_false(utf8("\xc3x"));                          /* bad continuation */
  assert_false(utf8("\xe2\x82x"));
  assert_false(utf8("\xf0\x9f\x98x"));
  assert_false(utf8("ok\xe2\x82"));                     /* truncated at the end */
  /* len bounds the check: a valid prefix of a longer string is valid. */
  assert_true(cairn_text_utf8_valid("ab\xc3", 2));
}

static int32_t parse(const char *s) {
  int32_t day = -999999;
  int rc = cairn_text_date_parse(s, strlen(s), &day);
  return rc == 0 ? day : rc;
}

static void test_date_parse(void **state) {
  (void)state;
  assert_int_equal(parse("1970-01-01"), 0);
  assert_int_equal(parse("1970-01-02"), 1);
  assert_int_equal(parse("1969-12-31"), -1);
  assert_int_equal(parse("2000-03-01"), 11017);
  assert_int_equal(parse("2024-02-29"), 19782);
  assert_int_equal(parse("1900-01-01"), -25567);
  assert_int_equal(parse("9999-12-31"), 2932896);
  assert_int_equal(parse("2000-02-29"), 11016);         /* 400-year leap */

  const char *bad[] = {"2026-02-30", "2025-02-29", "1900-02-29", "2026-1-05", "2026-01-5", "2026-13-01",
                       "2026-00-10", "2026-01-00", "2026-04-31", "1899-02-29", "0000-01-00", "2026/01/05",
                       "2026-01-05 ", " 2026-01-05", "+026-01-05", "2026-0a-05", "", "20260105"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(parse(bad[i]), CAIRN_EDATE);
  /* A real day of a year cairn does not take. */
  assert_int_equal(parse("1899-12-31"), CAIRN_ERANGE);
  assert_int_equal(parse("0000-01-01"), CAIRN_ERANGE);
  assert_int_equal(parse("1896-02-29"), CAIRN_ERANGE);
  /* Exactly len bytes are read: a longer buffer with a valid prefix fails. */
  int32_t day;
  assert_int_equal(cairn_text_date_parse("2026-01-05", 9, &day), CAIRN_EDATE);
}

static void test_date_round_trip(void **state) {
  (void)state;
  char out[11];
  int32_t day;

  cairn_text_date_format(0, out);
  assert_string_equal(out, "1970-01-01");
  cairn_text_date_format(19782, out);
  assert_string_equal(out, "2024-02-29");
  cairn_text_date_format(-25567, out);
  assert_string_equal(out, "1900-01-01");
  /* Every day from 1900-01-01 to 9999-12-31 formats and parses back. */
  for (int32_t d = -25567; d <= 2932896; d++) {
    cairn_text_date_format(d, out);
    assert_int_equal(cairn_text_date_parse(out, 10, &day), 0);
    assert_int_equal(day, d);
  }
  cairn_text_date_format(INT32_MAX, out);
  assert_string_equal(out, "9999-12-31");
  cairn_text_date_format(INT32_MIN, out);
  assert_string_equal(out, "0000-01-01");
}

static void test_today(void **state) {
  (void)state;
  int32_t t = cairn_text_today();
  int32_t utc = (int32_t)(time(NULL) / 86400);
  assert_true(t >= utc - 1 && t <= utc + 1); /* local time is within a day of UTC */
}

static void test_id_valid(void **state) {
  (void)state;
  char long_id[66];
  memset(long_id, 'a', sizeof long_id);

  assert_true(cairn_text_id_valid("s-001", 5));
  assert_true(cairn_text_id_valid("A.b_C-9", 7));
  assert_true(cairn_text_id_valid("x", 1));
  assert_true(cairn_text_id_valid(long_id, 64));
  assert_false(cairn_text_id_valid(long_id, 65));
  assert_false(cairn_text_id_valid("", 0));
  assert_false(cairn_text_id_valid("a b", 3));
  assert_false(cairn_text_id_valid("a/b", 3));
  assert_false(cairn_text_id_valid("a\0b", 3));
  assert_false(cairn_text_id_valid("caf\xc3\xa9", 5));
}

/* The id grammar (FORMAT.md 3.1): no id looks like a path or an option. */
static void test_id_grammar(void **state) {
  static const char *const good[] = {"3fa2c1d9-42", "ana-8", "_x", "a.", "a..b", "9",
                                     "A_b.c-D"};
  static const char *const bad[] = {".", "..", "-rf", "-", ".hidden", "--help", "-1",
                                    "a\tb", "a\x1b[2J"};
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (!cairn_text_id_valid(good[i], strlen(good[i])))
      fail_msg("'%s' is an id", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (cairn_text_id_valid(bad[i], strlen(bad[i])))
      fail_msg("'%s' is not an id", bad[i]);
}

/* The one check of text that enters cairn (FORMAT.md 3.3): no C0, DEL or
 * C1 control character; tab and line feed only in multi-line text. */
static void test_text_check(void **state) {
  static const struct {
    const char *s;
    int multiline, code;
    const char *why;
  } cases[] = {
      {"Ana L\xc3\xb3pez", 0, 0, ""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, 0, ""},
      {"no-break\xc2\xa0space", 0, 0, ""}, /* U+00A0 is printable */
      {"line 1\nline 2\tindented", 1, 0, ""},
      {"", 0, 0, ""},
      {"A\x1b[2J", 0, CAIRN_EINVAL, "name: contains a control character (U+001B)"},
      {"A\x1b[2J", 1, CAIRN_EINVAL, "name: contains a control character (U+001B)"},
      {"ring\x07", 1, CAIRN_EINVAL, "name: contains a control character (U+0007)"},
      {"\x1b]8;;http://x\x07link", 1, CAIRN_EINVAL, "(U+001B)"}, /* OSC 8 */
      {"del\x7f", 1, CAIRN_EINVAL, "(U+007F)"},
      {"csi\xc2\x9b" "2J", 1, CAIRN_EINVAL, "(U+009B)"}, /* C1 CSI */
      {"nel\xc2\x85", 1, CAIRN_EINVAL, "(U+0085)"},
      {"cr\rlf", 1, CAIRN_EINVAL, "(U+000D)"},
      {"two\nlines", 0, CAIRN_EINVAL, "name: must be one line (U+000A)"},
      {"a\ttab", 0, CAIRN_EINVAL, "name: must be one line (U+0009)"},
      {"bad \xff", 0, CAIRN_EUTF8, "name: invalid UTF-8"},
  };
  char why[160];
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    why[0] = '\0';
    int rc = cairn_text_check("name", cases[i].s, strlen(cases[i].s), cases[i].multiline, why,
                              sizeof why);
    if (rc != cases[i].code || strstr(why, cases[i].why) == NULL)
      fail_msg("case %zu: %s '%s', expected %s '%s'", i, cairn_err_name(rc), why,
               cairn_err_name(cases[i].code), cases[i].why);
  }
  assert_int_equal(cairn_text_check("name", "a\0b", 3, 1, why, sizeof why), CAIRN_EUTF8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_valid),      cmocka_unit_test(test_utf8_invalid),
      cmocka_unit_test(test_date_parse),      cmocka_unit_test(test_date_round_trip),
      cmocka_unit_test(test_today),           cmocka_unit_test(test_id_valid),
      cmocka_unit_test(test_id_grammar),      cmocka_unit_test(test_text_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
