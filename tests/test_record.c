/* test_record.c: the schema of docs/FORMAT.md 3.2 and the check of a set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "error.h"
#include "record.h"

/* A set map built with msgpack_packer and read back with msgpack_unpack,
 * as the store receives it. */
typedef struct set_builder {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked up;
} set_builder;

/* Starts an empty buffer; the caller packs any one object. */
static void raw_begin(set_builder *b) {
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
  msgpack_unpacked_init(&b->up);
}

/* Starts a map of n pairs. */
static void set_begin(set_builder *b, uint32_t n) {
  raw_begin(b);
  msgpack_pack_map(&b->pk, n);
}

static const msgpack_object *set_end(set_builder *b) {
  size_t off = 0;
  assert_int_equal(msgpack_unpack_next(&b->up, b->sb.data, b->sb.size, &off),
                   MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, b->sb.size);
  return &b->up.data;
}

static void set_free(set_builder *b) {
  msgpack_unpacked_destroy(&b->up);
  msgpack_sbuffer_destroy(&b->sb);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len) {
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, s, len);
}

static void key(set_builder *b, const char *k) { pack_str(&b->pk, k, strlen(k)); }

static void kv_str(set_builder *b, const char *k, const char *v) {
  key(b, k);
  pack_str(&b->pk, v, strlen(v));
}

static void kv_num(set_builder *b, const char *k, double v) {
  key(b, k);
  msgpack_pack_double(&b->pk, v);
}

static void kv_int(set_builder *b, const char *k, int64_t v) {
  key(b, k);
  msgpack_pack_int64(&b->pk, v);
}

static void kv_strs(set_builder *b, const char *k, const char *const *v, uint32_t n) {
  key(b, k);
  msgpack_pack_array(&b->pk, n);
  for (uint32_t i = 0; i < n; i++)
    pack_str(&b->pk, v[i], strlen(v[i]));
}

/* The seed's worked example: 8th grade ELA, claim and evidence. */
#define MILESTONE_FIELDS 17
static void pack_ela_milestone(set_builder *b, uint32_t extra) {
  static const char *const checks[] = {"2026-01-19", "2026-01-26", "2026-02-02",
                                       "2026-02-09", "2026-02-16"};
  static const char *const agreed[] = {"student", "family", "ELA teacher"};
  set_begin(b, MILESTONE_FIELDS + extra);
  kv_str(b, "student", "stu-0142");
  kv_str(b, "type", "academic");
  kv_str(b, "statement", "I will include a clear claim and at least 2 pieces of evidence in a "
                         "3-paragraph response.");
  kv_str(b, "horizon", "short");
  kv_str(b, "scale", "0-4");
  kv_num(b, "baseline", 1.5);
  kv_str(b, "baseline_date", "2026-01-09");
  kv_str(b, "baseline_how", "average rubric score of the last 4 responses");
  kv_num(b, "target", 3);
  kv_str(b, "direction", "up");
  kv_str(b, "rule", "4 of 5");
  kv_str(b, "start", "2026-01-12");
  kv_str(b, "end", "2026-02-23"); /* 6 weeks */
  kv_strs(b, "checks", checks, 5);
  kv_str(b, "method", "rubric check per assignment + quick conferencing notes");
  kv_str(b, "support", "small-group writing workshop twice weekly + sentence stems");
  kv_strs(b, "agreed_by", agreed, 3);
}

static char why[256];

/* Checks a set and returns its code, why holding the message. */
static int check(int type, set_builder *b, int creating) {
  int rc;
  why[0] = '\0';
  rc = cairn_record_check_set(type, set_end(b), creating, why, sizeof why);
  set_free(b);
  return rc;
}

static void assert_why_starts(const char *prefix) {
  if (strncmp(why, prefix, strlen(prefix)) != 0)
    fail_msg("why is \"%s\", expected it to start with \"%s\"", why, prefix);
  assert_null(strchr(why, '\n'));
}

static void test_ela_milestone_valid(void **state) {
  set_builder b;
  (void)state;
  pack_ela_milestone(&b, 0);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 1), 0);
}

static void test_evidence_valid_and_amend(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 6);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "observed", "2026-01-19");
  kv_int(&b, "value", 2);
  kv_str(&b, "note", "Claim clear; one piece of evidence.");
  kv_str(&b, "source", "teacher rubric");
  kv_str(&b, "by", "Ms. Ortiz");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 1), 0);

  /* An amendment sets only value; a retraction only retracted. */
  set_begin(&b, 1);
  kv_num(&b, "value", 2.5);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), 0);
  set_begin(&b, 1);
  key(&b, "retracted");
  msgpack_pack_true(&b.pk);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), 0);
}

static void test_other_types_valid(void **state) {
  set_builder b;
  static const char *const acc[] = {"extended time", "read aloud"};
  (void)state;
  set_begin(&b, 4);
  kv_str(&b, "name", "Maya R.");
  kv_str(&b, "grade", "8");
  kv_str(&b, "campus", "lincoln-ms");
  kv_strs(&b, "accommodations", acc, 2);
  assert_int_equal(check(CAIRN_REC_STUDENT, &b, 1), 0);

  set_begin(&b, 5);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "date", "2026-02-02");
  kv_str(&b, "kind", "weekly");
  kv_str(&b, "decision", "adjust-supports");
  kv_str(&b, "showed", "2 of the last 3 below the aimline");
  assert_int_equal(check(CAIRN_REC_REVIEW, &b, 1), 0);

  set_begin(&b, 3);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "date", "2026-02-03");
  kv_str(&b, "support", "add a 20-minute small group twice weekly");
  assert_int_equal(check(CAIRN_REC_SUPPORT_CHANGE, &b, 1), 0);

  set_begin(&b, 3);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "date", "2026-02-24");
  kv_str(&b, "text", "evidence use improved from 1 to 3");
  assert_int_equal(check(CAIRN_REC_CELEBRATION, &b, 1), 0);
}

static void test_pending_baseline(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  key(&b, "baseline");
  msgpack_pack_nil(&b.pk);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), 0);
}

static void test_not_finite(void **state) {
  static const double bad[] = {NAN, INFINITY, -INFINITY};
  set_builder b;
  (void)state;
  for (size_t i = 0; i < 3; i++) {
    set_begin(&b, 1);
    kv_num(&b, "value", bad[i]);
    assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_ERANGE);
    assert_string_equal(why, "value: not a finite number");
  }
  /* float32 too */
  set_begin(&b, 1);
  key(&b, "target");
  msgpack_pack_float(&b.pk, (float)NAN);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ERANGE);
  assert_why_starts("target:");
}

static void test_wrong_types(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "value", "3");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "value: must be a number");

  set_begin(&b, 1);
  kv_int(&b, "note", 3);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_why_starts("note:");

  set_begin(&b, 1);
  kv_str(&b, "retracted", "yes");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_why_starts("retracted:");

  set_begin(&b, 1);
  kv_str(&b, "accommodations", "extended time");
  assert_int_equal(check(CAIRN_REC_STUDENT, &b, 0), CAIRN_EINVAL);
  assert_why_starts("accommodations:");
}

static void test_invalid_utf8_note(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "note", "Maya cried after recess \xc3\x28");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EUTF8);
  assert_string_equal(why, "note: invalid UTF-8");
  assert_null(strstr(why, "Maya"));
}

static void test_oversized_note(void **state) {
  char note[2002];
  set_builder b;
  (void)state;
  memset(note, 'x', sizeof note - 1);
  note[sizeof note - 1] = '\0';
  memcpy(note, "Maya ", 5);
  note[2000] = '\0'; /* exactly 2000 bytes: allowed */
  set_begin(&b, 1);
  kv_str(&b, "note", note);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), 0);

  note[2000] = 'x'; /* 2001 bytes */
  set_begin(&b, 1);
  kv_str(&b, "note", note);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_ETOOBIG);
  assert_string_equal(why, "note: longer than 2000 bytes");
  assert_null(strstr(why, "Maya"));
}

static void test_dates(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "baseline_date", "2026-02-30");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EDATE);
  assert_string_equal(why, "baseline_date: 2026-02-30 is not a real date");

  set_begin(&b, 1);
  kv_str(&b, "date", "Feb 3");
  assert_int_equal(check(CAIRN_REC_REVIEW, &b, 0), CAIRN_EDATE);
  assert_string_equal(why, "date: must be a date YYYY-MM-DD");

  set_begin(&b, 2);
  kv_str(&b, "start", "2026-02-23");
  kv_str(&b, "end", "2026-01-12");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EDATE);
  assert_string_equal(why, "end: before start");

  set_begin(&b, 2);
  kv_str(&b, "start", "2026-01-12");
  kv_str(&b, "end", "2026-01-12"); /* a one-day timeframe */
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), 0);
}

static void test_observed_real_date_on_create(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 3);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "observed", "2026-02-30");
  kv_int(&b, "value", 2);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 1), CAIRN_EDATE);
  assert_string_equal(why, "observed: 2026-02-30 is not a real date");
}

static void test_checks_are_dates_in_timeframe(void **state) {
  static const char *const bad_day[] = {"2026-01-19", "2026-02-30"};
  static const char *const outside[] = {"2026-03-02"};
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_strs(&b, "checks", bad_day, 2);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EDATE);
  assert_string_equal(why, "checks item 2: 2026-02-30 is not a real date");

  set_begin(&b, 3);
  kv_str(&b, "start", "2026-01-12");
  kv_str(&b, "end", "2026-02-23");
  kv_strs(&b, "checks", outside, 1);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EDATE);
  assert_why_starts("checks item 1:");
}

static void test_empty_statement(void **state) {
  static const char *const blanks[] = {"", "   \t\n"};
  set_builder b;
  (void)state;
  for (size_t i = 0; i < 2; i++) {
    set_begin(&b, 1);
    kv_str(&b, "statement", blanks[i]);
    assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
    assert_string_equal(why, "statement: must not be empty");
  }
  set_begin(&b, 1);
  kv_str(&b, "name", " ");
  assert_int_equal(check(CAIRN_REC_STUDENT, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "name: must not be empty");
}

static void test_enum_lists_values(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "type", "Academic");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "type: must be one of academic, behavior, social-emotional, "
                           "future-readiness");
}

static void test_refs(void **state) {
  static const char *const bad_milestone[] = {"3FA2C1D9-42", "3fa2c1d9-0", "3fa2c1d9-",
                                              "3fa2c1d-42", "3fa2c1d9-10000000000000000000",
                                              "n-4", "n04-4", "ana-8", "kshort-3"};
  set_builder b;
  (void)state;
  for (size_t i = 0; i < sizeof bad_milestone / sizeof *bad_milestone; i++) {
    set_begin(&b, 1);
    kv_str(&b, "parent", bad_milestone[i]);
    assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
    assert_why_starts("parent: not a milestone id");
  }
  static const char *const good_milestone[] = {
      "3fa2c1d9-9999999999999999999", "n0-1", "n12-42",
      "kcHr2rABYbwVo7Q5aoqk9Wotydq5mdWAim7o-ZqsC8k4-3"};
  for (size_t i = 0; i < sizeof good_milestone / sizeof *good_milestone; i++) {
    set_begin(&b, 1);
    kv_str(&b, "parent", good_milestone[i]);
    assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), 0);
  }

  set_begin(&b, 1);
  kv_str(&b, "student", "stu 0142");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 1), CAIRN_EINVAL);
  assert_why_starts("student: not a student id");
}

/* What enters a node now (FORMAT.md 3.3): a reference that is not an id
 * is refused. */
static void test_input_refs_are_ids(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "student", "-rf");
  assert_int_equal(cairn_record_check_input(CAIRN_REC_MILESTONE, set_end(&b), why, sizeof why),
                   CAIRN_EINVAL);
  assert_why_starts("student: '-rf' is not an id (1 to 64 letters");
  set_free(&b);
  pack_ela_milestone(&b, 0); /* student stu-0142 */
  assert_int_equal(cairn_record_check_input(CAIRN_REC_MILESTONE, set_end(&b), why, sizeof why),
                   0);
  set_free(&b);
}

static void test_int_bounds(void **state) {
  static const int64_t bad[] = {0, -1, 1001};
  set_builder b;
  (void)state;
  for (size_t i = 0; i < 3; i++) {
    set_begin(&b, 1);
    kv_int(&b, "wrong_side_n", bad[i]);
    assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ERANGE);
    assert_string_equal(why, "wrong_side_n: must be a whole number from 1 to 1000");
  }
  set_begin(&b, 1);
  kv_num(&b, "trend_points", 6.0);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ERANGE);
  set_begin(&b, 2);
  kv_int(&b, "wrong_side_n", 4);
  kv_int(&b, "trend_points", 1000);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), 0);
}

static void test_strs_limits(void **state) {
  const char *many[17];
  char long_rule[1002];
  const char *one[1] = {long_rule};
  set_builder b;
  (void)state;
  for (size_t i = 0; i < 17; i++)
    many[i] = "family";
  set_begin(&b, 1);
  kv_strs(&b, "agreed_by", many, 17);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ETOOBIG);
  assert_string_equal(why, "agreed_by: more than 16 items");

  memset(long_rule, 'a', 1001);
  long_rule[1001] = '\0';
  set_begin(&b, 1);
  kv_strs(&b, "if_then", one, 1);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ETOOBIG);
  assert_string_equal(why, "if_then item 1: longer than 1000 bytes");
}

static void test_unknown_and_duplicate_fields(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "foo", "bar");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "unknown field 'foo' for evidence");

  set_begin(&b, 1);
  kv_str(&b, "bad\nkey\xff", "x");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "unknown field 'bad?key?' for evidence");

  set_begin(&b, 2);
  kv_int(&b, "value", 1);
  kv_int(&b, "value", 4);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "value: set twice");

  raw_begin(&b);
  msgpack_pack_map(&b.pk, 1);
  msgpack_pack_int(&b.pk, 7);
  msgpack_pack_int(&b.pk, 1);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "set: field names must be strings");
}

static void test_not_a_map_or_type(void **state) {
  set_builder b;
  (void)state;
  raw_begin(&b);
  msgpack_pack_array(&b.pk, 0);
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "set: must be a map");

  set_begin(&b, 0);
  assert_int_equal(check(CAIRN_REC_MAX + 1, &b, 0), CAIRN_EINVAL);
}

static void test_required_on_create(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 2);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "observed", "2026-01-19");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 1), CAIRN_EINVAL);
  assert_string_equal(why, "value: required");

  set_begin(&b, 2);
  kv_str(&b, "milestone", "3fa2c1d9-42");
  kv_str(&b, "date", "2026-02-24");
  assert_int_equal(check(CAIRN_REC_CELEBRATION, &b, 1), CAIRN_EINVAL);
  assert_string_equal(why, "text: required");
}

static void test_fixed_on_edit(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "student", "stu-0999");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "student: cannot be changed");

  set_begin(&b, 1);
  kv_str(&b, "observed", "2026-01-20");
  assert_int_equal(check(CAIRN_REC_EVIDENCE, &b, 0), CAIRN_EINVAL);
  assert_string_equal(why, "observed: cannot be changed");
}

static void test_scale_and_rule_in_set(void **state) {
  set_builder b;
  (void)state;
  set_begin(&b, 1);
  kv_str(&b, "scale", "4-0");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
  assert_why_starts("scale:");

  set_begin(&b, 1);
  kv_str(&b, "rule", "6 of 5");
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_EINVAL);
  assert_why_starts("rule:");

  /* A value off the scale: the message says what the scale takes. */
  static const struct {
    const char *scale, *field;
    double v;
    const char *why;
  } off[] = {
      {"0-4", "target", 5, "target: the scale is 0-4: a number from 0 to 4, not 5"},
      {"yesno", "target", 0.5, "target: the answer is yes or no (1 or 0), not 0.5"},
      {"count", "baseline", -1, "baseline: a count is a whole number (0, 1, 2 ...), not -1"},
      {"count", "target", 2.5, "target: a count is a whole number (0, 1, 2 ...), not 2.5"},
      {"percent", "baseline", 120, "baseline: a percent is from 0 to 100, not 120"},
  };
  for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
    set_begin(&b, 2);
    kv_str(&b, "scale", off[i].scale);
    kv_num(&b, off[i].field, off[i].v);
    assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 0), CAIRN_ERANGE);
    assert_string_equal(why, off[i].why);
  }

  /* The whole ELA milestone, scale and values checked together. */
  pack_ela_milestone(&b, 1);
  kv_num(&b, "developing_at", 0.25);
  assert_int_equal(check(CAIRN_REC_MILESTONE, &b, 1), 0);
}

static void test_scale_parse(void **state) {
  static const struct {
    const char *s;
    double min, max;
    int integer;
  } good[] = {
      {"0-4", 0, 4, 0},      {"1-10", 1, 10, 0},     {"0.5-3.5", 0.5, 3.5, 0},
      {"-5-5", -5, 5, 0},    {"-10--2", -10, -2, 0}, {"percent", 0, 100, 0},
      {"count", 0, 1e9, 1},  {"yesno", 0, 1, 1},
  };
  static const char *const bad[] = {"4-0", "2-2",  "0-",    "-4",     "abc",   "0-4 ",
                                    " 0-4", "inf-5", "1e3-2e3", "0x1-0x4", "0.-4", "nan-1",
                                    "Percent", "1-2-3", "0-1234567890123456"};
  cairn_scale sc;
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    assert_int_equal(cairn_record_scale_parse(good[i].s, strlen(good[i].s), NULL, &sc), 0);
    assert_true(sc.min == good[i].min && sc.max == good[i].max);
    assert_int_equal(sc.integer, good[i].integer);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (cairn_record_scale_parse(bad[i], strlen(bad[i]), NULL, &sc) != CAIRN_EINVAL)
      fail_msg("scale \"%s\" was accepted", bad[i]);
}

static void test_scale_check(void **state) {
  cairn_scale sc;
  (void)state;
  assert_int_equal(cairn_record_scale_parse("yesno", 5, NULL, &sc), 0);
  assert_int_equal(cairn_record_scale_check(&sc, 1), 0);
  assert_int_equal(cairn_record_scale_check(&sc, 0.5), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_check(&sc, 2), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_parse("count", 5, NULL, &sc), 0);
  assert_int_equal(cairn_record_scale_check(&sc, 12), 0);
  assert_int_equal(cairn_record_scale_check(&sc, -1), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_check(&sc, 2.5), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_parse("0-4", 3, NULL, &sc), 0);
  assert_int_equal(cairn_record_scale_check(&sc, 1.5), 0);
  assert_int_equal(cairn_record_scale_check(&sc, 4.01), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_check(&sc, NAN), CAIRN_ERANGE);
  assert_int_equal(cairn_record_scale_check(&sc, INFINITY), CAIRN_ERANGE);
}

static void test_rule_parse(void **state) {
  static const char *const bad[] = {"0 of 5", "6 of 5", "4 of 51", "4/5",   "4 of",
                                    "04 of 5", "4  of 5", "4 of 5 ", "100 of 100", ""};
  int k = 0, n = 0;
  (void)state;
  assert_int_equal(cairn_record_rule_parse("4 of 5", 6, &k, &n), 0);
  assert_int_equal(k, 4);
  assert_int_equal(n, 5);
  assert_int_equal(cairn_record_rule_parse("50 of 50", 8, &k, &n), 0);
  assert_int_equal(cairn_record_rule_parse("1 of 1", 6, &k, &n), 0);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (cairn_record_rule_parse(bad[i], strlen(bad[i]), &k, &n) != CAIRN_EINVAL)
      fail_msg("rule \"%s\" was accepted", bad[i]);
}

static void test_schema_table(void **state) {
  size_t n = 0;
  const cairn_field_def *f;
  (void)state;
  for (int t = 1; t <= CAIRN_REC_MAX; t++) {
    const char *name = cairn_record_type_name(t);
    assert_non_null(name);
    assert_int_equal(cairn_record_type_from_name(name, strlen(name)), t);
    assert_non_null(cairn_record_fields(t, &n));
  }
  assert_null(cairn_record_type_name(0));
  assert_null(cairn_record_fields(CAIRN_REC_MAX + 1, &n));
  assert_int_equal(cairn_record_type_from_name("evidences", 9), CAIRN_EINVAL);

  f = cairn_record_field(CAIRN_REC_MILESTONE, "student", 7);
  assert_non_null(f);
  assert_int_equal(f->flags, CAIRN_F_PARENT | CAIRN_F_FIXED | CAIRN_F_REQUIRED);
  assert_int_equal(f->ref_type, CAIRN_REC_STUDENT);
  f = cairn_record_field(CAIRN_REC_EVIDENCE, "note", 4);
  assert_non_null(f);
  assert_true(f->flags & CAIRN_F_PERSONAL);
  assert_int_equal(f->max_len, 2000);
  f = cairn_record_field(CAIRN_REC_STUDENT, "name", 4);
  assert_non_null(f);
  assert_true((f->flags & CAIRN_F_PERSONAL) && (f->flags & CAIRN_F_NONEMPTY));
  f = cairn_record_field(CAIRN_REC_EVIDENCE, "observed", 8);
  assert_non_null(f);
  assert_true(f->flags & CAIRN_F_FIXED);
  assert_null(cairn_record_field(CAIRN_REC_EVIDENCE, "observe", 7));
}

static void test_map_get(void **state) {
  set_builder b;
  const msgpack_object *m, *v;
  (void)state;
  set_begin(&b, 2);
  kv_str(&b, "scale", "0-4");
  kv_int(&b, "target", 3);
  m = set_end(&b);
  v = cairn_record_map_get(m, "target");
  assert_non_null(v);
  assert_int_equal(v->via.u64, 3);
  assert_null(cairn_record_map_get(m, "targe"));
  assert_null(cairn_record_map_get(NULL, "target"));
  set_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ela_milestone_valid),
      cmocka_unit_test(test_evidence_valid_and_amend),
      cmocka_unit_test(test_other_types_valid),
      cmocka_unit_test(test_pending_baseline),
      cmocka_unit_test(test_not_finite),
      cmocka_unit_test(test_wrong_types),
      cmocka_unit_test(test_invalid_utf8_note),
      cmocka_unit_test(test_oversized_note),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_observed_real_date_on_create),
      cmocka_unit_test(test_checks_are_dates_in_timeframe),
      cmocka_unit_test(test_empty_statement),
      cmocka_unit_test(test_enum_lists_values),
      cmocka_unit_test(test_refs),
      cmocka_unit_test(test_input_refs_are_ids),
      cmocka_unit_test(test_int_bounds),
      cmocka_unit_test(test_strs_limits),
      cmocka_unit_test(test_unknown_and_duplicate_fields),
      cmocka_unit_test(test_not_a_map_or_type),
      cmocka_unit_test(test_required_on_create),
      cmocka_unit_test(test_fixed_on_edit),
      cmocka_unit_test(test_scale_and_rule_in_set),
      cmocka_unit_test(test_scale_parse),
      cmocka_unit_test(test_scale_check),
      cmocka_unit_test(test_rule_parse),
      cmocka_unit_test(test_schema_table),
      cmocka_unit_test(test_map_get),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
