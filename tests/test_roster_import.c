/* test_roster_import.c: a roster turned into cairn records
 * (roster_import.h), over the fixture exports of tests/fixtures/oneroster/
 * (2 schools, 4 classes, 30 students; a delta): what a first import adds,
 * that the same export again changes nothing, an ended enrollment
 * withdrawing, a delta changing only what it names, and a sourcedId that
 * cannot be an id refused with its file and line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "roster.h"
#include "roster_import.h"
#include "text.h"

#define FIXTURES CAIRN_ROSTER_FIXTURES

static int32_t day(const char *s) {
  int32_t d = 0;
  assert_int_equal(cairn_text_date_parse(s, strlen(s), &d), 0);
  return d;
}

static cairn_roster *read_fixture(const char *name) {
  char dir[512];
  cairn_roster *r = NULL;
  cairn_roster_error err = {0};
  snprintf(dir, sizeof dir, "%s/%s", FIXTURES, name);
  assert_int_equal(cairn_roster_read(dir, NULL, &r, &err), 0);
  return r;
}

/* The puts of a plan, unpacked. */
typedef struct plan_puts {
  msgpack_zone zone;
  msgpack_object *put;
  size_t n;
} plan_puts;

static void puts_of(const cairn_roster_plan *p, plan_puts *out) {
  size_t off = 0;
  assert_true(msgpack_zone_init(&out->zone, 4096));
  out->n = p->n_puts;
  out->put = calloc(p->n_puts ? p->n_puts : 1, sizeof *out->put);
  assert_non_null(out->put);
  for (size_t i = 0; i < p->n_puts; i++) {
    msgpack_unpack_return u =
        msgpack_unpack(p->puts.data, p->puts.size, &off, &out->zone, &out->put[i]);
    assert_true(u == MSGPACK_UNPACK_SUCCESS || u == MSGPACK_UNPACK_EXTRA_BYTES);
  }
  assert_int_equal(off, p->puts.size);
}

static void puts_free(plan_puts *ps) {
  msgpack_zone_destroy(&ps->zone);
  free(ps->put);
}

static int str_is(const msgpack_object *o, const char *s) {
  return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
         memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* The put of type's record id, or NULL. */
static const msgpack_object *find_put(const plan_puts *ps, const char *type, const char *id) {
  for (size_t i = 0; i < ps->n; i++)
    if (str_is(cairn_record_map_get(&ps->put[i], "type"), type) &&
        str_is(cairn_record_map_get(&ps->put[i], "id"), id))
      return &ps->put[i];
  return NULL;
}

static const msgpack_object *set_of(const msgpack_object *put) {
  assert_non_null(put);
  return cairn_record_map_get(put, "set");
}

/* Feeds the records the creations of ps made to plan p as current
 * records, shaped as the export gives them. */
static void feed_created(cairn_roster_plan *p, const plan_puts *ps) {
  for (size_t i = 0; i < ps->n; i++) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object rec;
    size_t off = 0;
    assert_null(cairn_record_map_get(&ps->put[i], "edit"));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_object(&pk, *cairn_record_map_get(&ps->put[i], "type"));
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_object(&pk, *cairn_record_map_get(&ps->put[i], "id"));
    msgpack_pack_str_with_body(&pk, "fields", 6);
    msgpack_pack_object(&pk, *set_of(&ps->put[i]));
    assert_true(msgpack_zone_init(&z, 1024));
    assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &rec), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(cairn_roster_plan_current(p, &rec), 0);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
  }
}

/* Every put's set passes the record schema (a creation has every
 * required field; an edit no fixed one). */
static void assert_schema(const plan_puts *ps) {
  char why[256];
  for (size_t i = 0; i < ps->n; i++) {
    const msgpack_object *t = cairn_record_map_get(&ps->put[i], "type");
    int type = cairn_record_type_from_name(t->via.str.ptr, t->via.str.size);
    int creating = cairn_record_map_get(&ps->put[i], "edit") == NULL;
    assert_true(type > 0);
    if (cairn_record_check_set(type, set_of(&ps->put[i]), creating, why, sizeof why) != 0)
      fail_msg("put %zu: %s", i, why);
    assert_int_equal(cairn_record_check_input(type, set_of(&ps->put[i]), why, sizeof why), 0);
  }
}

/* The plan of r as of d, over the creations of base (NULL: nothing held). */
static cairn_roster_plan *plan_of(const cairn_roster *r, const char *d, const plan_puts *base) {
  cairn_roster_plan *p = cairn_roster_plan_new();
  cairn_roster_error err = {0};
  assert_non_null(p);
  if (base != NULL)
    feed_created(p, base);
  if (cairn_roster_plan_build(p, r, day(d), &err) != 0)
    fail_msg("%s", err.message);
  return p;
}

static void assert_list(const msgpack_object *v, const char *const *want, size_t n) {
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(v->via.array.size, n);
  for (size_t i = 0; i < n; i++)
    assert_true(str_is(&v->via.array.ptr[i], want[i]));
}

/* ---- tests ---- */

/* A first import adds every school, class and student, each with the
 * roster's values; non-students are left out. */
static void first_import_adds_everything(void **state) {
  (void)state;
  cairn_roster *r = read_fixture("bulk");
  cairn_roster_plan *p = plan_of(r, "2026-01-15", NULL);
  plan_puts ps;
  puts_of(p, &ps);
  assert_int_equal(p->count[CAIRN_ROSTER_ADDED], 2 + 4 + 30);
  assert_int_equal(p->n_puts, 36);
  assert_schema(&ps);
  /* campuses first, then classrooms, then students */
  assert_int_equal(p->info[0].type, CAIRN_REC_CAMPUS);
  assert_int_equal(p->info[2].type, CAIRN_REC_CLASSROOM);
  assert_int_equal(p->info[6].type, CAIRN_REC_STUDENT);

  const msgpack_object *s = set_of(find_put(&ps, "campus", "sch-s"));
  assert_true(str_is(cairn_record_map_get(s, "name"), "South Elementary, Riverside"));
  assert_true(str_is(cairn_record_map_get(s, "code"), "SES"));
  assert_null(find_put(&ps, "campus", "d-1")); /* a district is no campus */

  s = set_of(find_put(&ps, "classroom", "cls-n-ela"));
  assert_true(str_is(cairn_record_map_get(s, "name"), "ELA 6 \"Readers' Workshop\""));
  assert_true(str_is(cairn_record_map_get(s, "campus"), "sch-n"));
  assert_true(str_is(cairn_record_map_get(s, "location"), "Room 102"));

  s = set_of(find_put(&ps, "student", "st-12"));
  assert_true(str_is(cairn_record_map_get(s, "name"), "Lulu Berg")); /* preferred name */
  assert_true(str_is(cairn_record_map_get(s, "grade"), "06"));
  assert_true(str_is(cairn_record_map_get(s, "campus"), "sch-n"));
  assert_list(cairn_record_map_get(s, "classrooms"), (const char *[]){"cls-n-math", "cls-n-ela"},
              2);
  assert_null(cairn_record_map_get(s, "withdrawn"));
  /* st-20 left Reading 3 on 2025-10-01 and came back on 2025-10-15 */
  assert_list(cairn_record_map_get(set_of(find_put(&ps, "student", "st-20")), "classrooms"),
              (const char *[]){"cls-s-hr", "cls-s-read"}, 2);
  /* teachers, a guardian, an administrator: no students */
  assert_null(find_put(&ps, "student", "t-1"));
  assert_null(find_put(&ps, "student", "g-1"));
  assert_null(find_put(&ps, "student", "a-1"));
  puts_free(&ps);
  cairn_roster_plan_free(p);
  cairn_roster_free(r);
}

/* A student erased on the central (an erasure record among the current
 * ones) is left out of the import: their id is never written again. */
static void erased_student_left_out(void **state) {
  (void)state;
  cairn_roster *r = read_fixture("bulk");
  cairn_roster_plan *p = cairn_roster_plan_new();
  cairn_roster_error err = {0};
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_zone z;
  msgpack_object rec;
  size_t off = 0;
  assert_non_null(p);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "type", 4);
  msgpack_pack_str_with_body(&pk, "erasure", 7);
  msgpack_pack_str_with_body(&pk, "id", 2);
  msgpack_pack_str_with_body(&pk, "st-12", 5);
  msgpack_pack_str_with_body(&pk, "fields", 6);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "reason", 6);
  msgpack_pack_str_with_body(&pk, "family request", 14);
  assert_true(msgpack_zone_init(&z, 1024));
  assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &rec), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(cairn_roster_plan_current(p, &rec), 0);
  msgpack_zone_destroy(&z);
  msgpack_sbuffer_destroy(&sb);
  if (cairn_roster_plan_build(p, r, day("2026-01-15"), &err) != 0)
    fail_msg("%s", err.message);
  plan_puts ps;
  puts_of(p, &ps);
  assert_int_equal(p->n_puts, 35);
  assert_null(find_put(&ps, "student", "st-12"));
  assert_non_null(find_put(&ps, "student", "st-20"));
  puts_free(&ps);
  cairn_roster_plan_free(p);
  cairn_roster_free(r);
}

/* The same export again, over what the first import made: no put. */
static void same_export_again_writes_nothing(void **state) {
  (void)state;
  cairn_roster *r = read_fixture("bulk");
  cairn_roster_plan *first = plan_of(r, "2026-01-15", NULL);
  plan_puts ps;
  puts_of(first, &ps);
  cairn_roster_plan *again = plan_of(r, "2026-01-15", &ps);
  assert_int_equal(again->n_puts, 0);
  assert_int_equal(again->puts.size, 0);
  for (int c = 0; c < CAIRN_ROSTER_CHANGES; c++)
    assert_int_equal(again->count[c], 0);
  cairn_roster_plan_free(again);
  puts_free(&ps);
  cairn_roster_plan_free(first);
  cairn_roster_free(r);
}

/* A month later: st-05's enrollments all ended on 2026-02-02 (withdrawn
 * that day, classrooms kept so they learn it); st-06 moved to the south
 * campus on 2026-01-20. Only those two are written, each with only what
 * changed. */
static void ended_enrollments_withdraw(void **state) {
  (void)state;
  cairn_roster *r = read_fixture("bulk");
  cairn_roster_plan *first = plan_of(r, "2026-01-15", NULL);
  plan_puts ps, ps2;
  puts_of(first, &ps);
  cairn_roster_plan *later = plan_of(r, "2026-02-15", &ps);
  puts_of(later, &ps2);
  assert_int_equal(later->n_puts, 2);
  assert_int_equal(later->count[CAIRN_ROSTER_WITHDRAWN], 1);
  assert_int_equal(later->count[CAIRN_ROSTER_MOVED], 1);
  assert_schema(&ps2);

  const msgpack_object *put = find_put(&ps2, "student", "st-05"), *s = set_of(put);
  assert_non_null(cairn_record_map_get(put, "edit"));
  assert_int_equal(s->via.map.size, 2);
  assert_true(cairn_record_map_get(s, "withdrawn")->via.boolean);
  assert_true(str_is(cairn_record_map_get(s, "withdrawn_on"), "2026-02-02"));

  s = set_of(find_put(&ps2, "student", "st-06"));
  assert_int_equal(s->via.map.size, 2);
  assert_true(str_is(cairn_record_map_get(s, "campus"), "sch-s"));
  assert_list(cairn_record_map_get(s, "classrooms"), (const char *[]){"cls-s-hr", "cls-s-read"},
              2);
  puts_free(&ps2);
  puts_free(&ps);
  cairn_roster_plan_free(later);
  cairn_roster_plan_free(first);
  cairn_roster_free(r);
}

/* A delta applies only its rows: st-31 arrives in Math 6; st-10 (not in
 * its users.csv) leaves ELA 6, keeping Math 6; everyone else untouched. */
static void delta_applies_only_its_rows(void **state) {
  (void)state;
  cairn_roster *bulk = read_fixture("bulk"), *delta = read_fixture("delta");
  cairn_roster_plan *first = plan_of(bulk, "2026-01-15", NULL);
  plan_puts ps, ps2;
  puts_of(first, &ps);
  cairn_roster_plan *p = plan_of(delta, "2026-02-15", &ps);
  puts_of(p, &ps2);
  assert_schema(&ps2);
  /* st-05 is tobedeleted: withdrawn on the day of the import */
  assert_int_equal(p->n_puts, 3);
  assert_int_equal(p->count[CAIRN_ROSTER_ADDED], 1);
  assert_int_equal(p->count[CAIRN_ROSTER_MOVED], 1);
  assert_int_equal(p->count[CAIRN_ROSTER_WITHDRAWN], 1);

  const msgpack_object *s = set_of(find_put(&ps2, "student", "st-31"));
  assert_true(str_is(cairn_record_map_get(s, "name"), "Ines Moreau"));
  assert_true(str_is(cairn_record_map_get(s, "campus"), "sch-n"));
  assert_list(cairn_record_map_get(s, "classrooms"), (const char *[]){"cls-n-math"}, 1);

  s = set_of(find_put(&ps2, "student", "st-10"));
  assert_int_equal(s->via.map.size, 1);
  assert_list(cairn_record_map_get(s, "classrooms"), (const char *[]){"cls-n-math"}, 1);

  s = set_of(find_put(&ps2, "student", "st-05"));
  assert_true(str_is(cairn_record_map_get(s, "withdrawn_on"), "2026-02-15"));
  puts_free(&ps2);
  puts_free(&ps);
  cairn_roster_plan_free(p);
  cairn_roster_plan_free(first);
  cairn_roster_free(delta);
  cairn_roster_free(bulk);
}

/* A small export fed to the pure reader; users' second row given. */
static cairn_roster *small_export(const char *user_row) {
  static const char *const manifest =
      "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\n"
      "file.classes,bulk\nfile.enrollments,bulk\nfile.courses,absent\n"
      "file.academicSessions,absent\nfile.roles,absent\n";
  static const char *const orgs = "sourcedId,status,dateLastModified,name,type\n"
                                  "sch-1,,,One School,school\n";
  static const char *const classes =
      "sourcedId,status,dateLastModified,title,courseSourcedId,classType,schoolSourcedId,"
      "termSourcedIds\ncls-1,,,Class One,crs-1,homeroom,sch-1,t-1\n";
  char users[512], enrollments[512];
  snprintf(users, sizeof users,
           "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName\n%s\n",
           user_row);
  const char *id_end = strchr(user_row, ',');
  snprintf(enrollments, sizeof enrollments,
           "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,"
           "role\ne-1,,,cls-1,sch-1,%.*s,student\n",
           (int)(id_end - user_row), user_row);
  const struct {
    cairn_roster_file f;
    const char *text;
  } files[] = {{CAIRN_ROSTER_MANIFEST, manifest},
               {CAIRN_ROSTER_ORGS, orgs},
               {CAIRN_ROSTER_CLASSES, classes},
               {CAIRN_ROSTER_USERS, users},
               {CAIRN_ROSTER_ENROLLMENTS, enrollments}};
  cairn_roster_reader *rd = cairn_roster_reader_new(NULL);
  cairn_roster_error err = {0};
  cairn_roster *r = NULL;
  assert_non_null(rd);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (cairn_roster_reader_begin(rd, files[i].f, &err) != 0 ||
        cairn_roster_reader_feed(rd, files[i].text, strlen(files[i].text), &err) != 0 ||
        cairn_roster_reader_end(rd, &err) != 0)
      fail_msg("%s", err.message);
  if (cairn_roster_reader_finish(rd, &r, &err) != 0)
    fail_msg("%s", err.message);
  cairn_roster_reader_free(rd);
  return r;
}

/* A sourcedId that is no cairn id is refused with its file and line, and
 * the plan holds nothing. */
static void bad_sourced_id_refused(void **state) {
  (void)state;
  cairn_roster *r = small_export("st/1,,,true,u1,Ana,Lopez");
  cairn_roster_plan *p = cairn_roster_plan_new();
  cairn_roster_error err = {0};
  assert_int_equal(cairn_roster_plan_build(p, r, day("2026-01-15"), &err), CAIRN_EINVAL);
  assert_int_equal(err.file, CAIRN_ROSTER_USERS);
  assert_int_equal(err.line, 2);
  assert_non_null(strstr(err.message, "users.csv:2: sourcedId 'st/1' cannot be a cairn id"));
  assert_int_equal(p->n_puts, 0);
  assert_int_equal(p->puts.size, 0);
  assert_int_equal(p->count[CAIRN_ROSTER_ADDED], 0);
  cairn_roster_plan_free(p);
  cairn_roster_free(r);
}

/* A name changed at the district: one put, with the name alone. */
static void changed_name_updates_it_alone(void **state) {
  (void)state;
  cairn_roster *r = small_export("st-1,,,true,u1,Ana,Lopez");
  cairn_roster *r2 = small_export("st-1,,,true,u1,Ana,Lopez-Garcia");
  cairn_roster_plan *first = plan_of(r, "2026-01-15", NULL);
  plan_puts ps, ps2;
  puts_of(first, &ps);
  assert_int_equal(first->n_puts, 3);
  cairn_roster_plan *p = plan_of(r2, "2026-01-15", &ps);
  puts_of(p, &ps2);
  assert_int_equal(p->n_puts, 1);
  assert_int_equal(p->count[CAIRN_ROSTER_UPDATED], 1);
  const msgpack_object *s = set_of(find_put(&ps2, "student", "st-1"));
  assert_int_equal(s->via.map.size, 1);
  assert_true(str_is(cairn_record_map_get(s, "name"), "Ana Lopez-Garcia"));
  puts_free(&ps2);
  puts_free(&ps);
  cairn_roster_plan_free(p);
  cairn_roster_plan_free(first);
  cairn_roster_free(r2);
  cairn_roster_free(r);
}

/* A delta's tobedeleted enrollment that still names its user, class and
 * role takes the class from the student (whose users.csv row the delta
 * does not hold); one that leaves them blank changes nothing. */
static void tobedeleted_enrollment_removes_its_class(void **state) {
  (void)state;
  cairn_roster *r = small_export("st-1,,,true,u1,Ana,Lopez");
  cairn_roster_plan *first = plan_of(r, "2026-01-15", NULL);
  plan_puts ps, ps2;
  puts_of(first, &ps);
  static const char *const manifest =
      "propertyName,value\noneroster.version,1.2\nfile.enrollments,delta\n";
  static const char *const enrollments =
      "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
      "e-1,tobedeleted,2026-02-10,cls-1,sch-1,st-1,student\n"
      "e-2,tobedeleted,2026-02-10,,,,\n";
  cairn_roster_reader *rd = cairn_roster_reader_new(NULL);
  cairn_roster_error err = {0};
  cairn_roster *delta = NULL;
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_MANIFEST, &err), 0);
  assert_int_equal(cairn_roster_reader_feed(rd, manifest, strlen(manifest), &err), 0);
  assert_int_equal(cairn_roster_reader_end(rd, &err), 0);
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_ENROLLMENTS, &err), 0);
  assert_int_equal(cairn_roster_reader_feed(rd, enrollments, strlen(enrollments), &err), 0);
  assert_int_equal(cairn_roster_reader_end(rd, &err), 0);
  if (cairn_roster_reader_finish(rd, &delta, &err) != 0)
    fail_msg("%s", err.message);
  cairn_roster_reader_free(rd);
  cairn_roster_plan *p = plan_of(delta, "2026-02-15", &ps);
  puts_of(p, &ps2);
  assert_int_equal(p->n_puts, 1);
  assert_int_equal(p->count[CAIRN_ROSTER_MOVED], 1);
  const msgpack_object *s = set_of(find_put(&ps2, "student", "st-1"));
  assert_int_equal(s->via.map.size, 1);
  assert_list(cairn_record_map_get(s, "classrooms"), NULL, 0);
  puts_free(&ps2);
  puts_free(&ps);
  cairn_roster_plan_free(p);
  cairn_roster_plan_free(first);
  cairn_roster_free(delta);
  cairn_roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_import_adds_everything),
      cmocka_unit_test(erased_student_left_out),
      cmocka_unit_test(same_export_again_writes_nothing),
      cmocka_unit_test(ended_enrollments_withdraw),
      cmocka_unit_test(delta_applies_only_its_rows),
      cmocka_unit_test(bad_sourced_id_refused),
      cmocka_unit_test(changed_name_updates_it_alone),
      cmocka_unit_test(tobedeleted_enrollment_removes_its_class),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
