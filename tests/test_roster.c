/* test_roster.c: the OneRoster 1.2 CSV reader over the fixture exports in
 * tests/fixtures/oneroster/ (a bulk export of 2 schools, 4 classes, 30
 * students; a delta), and one broken copy of the bulk export per refusal,
 * each refused with its exact file, line and message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "roster.h"
#include "text.h"

#define FIXTURES CAIRN_ROSTER_FIXTURES

/* ---- helpers ---- */

static int32_t day(const char *s) {
  int32_t d = 0;
  assert_int_equal(cairn_text_date_parse(s, strlen(s), &d), 0);
  return d;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void spill(const char *path, const char *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* A scratch copy of a fixture export. */
typedef struct scratch {
  char dir[64];
} scratch;

static void copy_export(scratch *s, const char *which) {
  char from[512], path[1024], to[512];
  DIR *d;
  struct dirent *e;

  strcpy(s->dir, "/tmp/cairn-roster-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  snprintf(from, sizeof from, "%s/%s", FIXTURES, which);
  d = opendir(from);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    size_t len;
    char *buf;
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", from, e->d_name);
    snprintf(to, sizeof to, "%s/%s", s->dir, e->d_name);
    buf = slurp(path, &len);
    spill(to, buf, len);
    free(buf);
  }
  closedir(d);
}

static void remove_export(scratch *s) {
  DIR *d = opendir(s->dir);
  struct dirent *e;
  char path[512];
  while (d && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(s->dir);
}

/* Replaces the first `old` in file `name` of the scratch export by `new`. */
static void edit(scratch *s, const char *name, const char *old, const char *new) {
  char path[512], *buf, *at, *out;
  size_t len, olen = strlen(old), nlen = strlen(new);

  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  buf = slurp(path, &len);
  at = strstr(buf, old);
  assert_non_null(at);
  out = malloc(len - olen + nlen + 1);
  assert_non_null(out);
  memcpy(out, buf, (size_t)(at - buf));
  memcpy(out + (at - buf), new, nlen);
  memcpy(out + (at - buf) + nlen, at + olen, len - (size_t)(at - buf) - olen);
  spill(path, out, len - olen + nlen);
  free(buf);
  free(out);
}

static void write_file(scratch *s, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  spill(path, text, strlen(text));
}

static void delete_file(scratch *s, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  assert_int_equal(unlink(path), 0);
}

static cairn_roster *read_ok(const char *dir) {
  cairn_roster *r = NULL;
  cairn_roster_error err;
  int rc = cairn_roster_read(dir, NULL, &r, &err);
  if (rc != 0)
    fail_msg("refused: %s", err.message);
  assert_non_null(r);
  return r;
}

/* Reads the scratch export and asserts its refusal: the code, the file,
 * the line and the whole message. */
static void refused_with(scratch *s, const cairn_roster_options *opt, int code, cairn_roster_file file,
                         uint32_t line, const char *message) {
  cairn_roster *r = (cairn_roster *)1;
  cairn_roster_error err;
  int rc;

  memset(&err, 0, sizeof err);
  rc = cairn_roster_read(s->dir, opt, &r, &err);
  if (r != NULL)
    fail_msg("read, but should be refused with: %s", message);
  if (strcmp(err.message, message) != 0)
    fail_msg("message\n  got:    %s\n  wanted: %s", err.message, message);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_int_equal(err.file, file);
  assert_int_equal(err.line, line);
  remove_export(s);
}

static void refused(scratch *s, int code, cairn_roster_file file, uint32_t line, const char *message) {
  refused_with(s, NULL, code, file, line, message);
}

static size_t find(const cairn_roster *r, cairn_roster_file f, const char *id) {
  size_t i = cairn_roster_find(r, f, id, strlen(id));
  if (i == CAIRN_ROSTER_NONE)
    fail_msg("%s: no %s", cairn_roster_file_name(f), id);
  return i;
}

/* ---- the bulk export ---- */

static void test_bulk_model(void **state) {
  char dir[512];
  cairn_roster *r;
  const cairn_roster_org *o;
  const cairn_roster_class *c;
  const cairn_roster_user *u;
  const cairn_roster_enrollment *e;
  const cairn_roster_session *se;
  size_t i;
  (void)state;

  snprintf(dir, sizeof dir, "%s/bulk", FIXTURES);
  r = read_ok(dir);
  assert_int_equal(r->delta, 0);
  assert_int_equal(r->mode[CAIRN_ROSTER_USERS], CAIRN_ROSTER_BULK);
  assert_int_equal(r->n_orgs, 3);
  assert_int_equal(r->n_sessions, 3);
  assert_int_equal(r->n_courses, 4);
  assert_int_equal(r->n_classes, 4);
  assert_int_equal(r->n_users, 36);
  assert_int_equal(r->n_roles, 35);
  assert_int_equal(r->n_enrollments, 67);

  /* Schools: the orgs of type school (the BOM before orgs.csv's header
   * is dropped, or no column would be called sourcedId). */
  assert_int_equal(r->n_schools, 2);
  o = &r->orgs[r->schools[0]];
  assert_string_equal(o->row.id, "sch-n");
  assert_string_equal(o->name, "North Middle School");
  assert_string_equal(o->identifier, "NMS");
  assert_int_equal(o->type, CAIRN_ROSTER_ORG_SCHOOL);
  assert_int_equal(o->parent, find(r, CAIRN_ROSTER_ORGS, "d-1"));
  assert_int_equal(o->row.at.file, CAIRN_ROSTER_ORGS);
  assert_int_equal(o->row.at.line, 3);
  assert_int_equal(o->row.status, CAIRN_ROSTER_ACTIVE);
  assert_string_equal(o->row.modified, "");
  assert_string_equal(r->orgs[r->schools[1]].name, "South Elementary, Riverside");
  assert_int_equal(r->orgs[find(r, CAIRN_ROSTER_ORGS, "d-1")].type, CAIRN_ROSTER_ORG_DISTRICT);

  /* Classes, with their school (classes.csv has CRLF line endings). */
  c = &r->classes[find(r, CAIRN_ROSTER_CLASSES, "cls-n-math")];
  assert_string_equal(c->title, "Math 6, Period 1");
  assert_string_equal(c->code, "MA6-1");
  assert_int_equal(c->type, CAIRN_ROSTER_CLASS_SCHEDULED);
  assert_string_equal(r->orgs[c->school].row.id, "sch-n");
  assert_string_equal(r->courses[c->course].title, "Mathematics 6");
  assert_int_equal(c->term_ids.n, 2);
  assert_string_equal(r->sessions[c->terms[0]].title, "Fall 2025");
  assert_string_equal(r->sessions[c->terms[1]].title, "Spring 2026");
  assert_int_equal(c->row.at.line, 2);
  /* teacher + 15 students + st-06's and st-05's rows are among them */
  assert_int_equal(c->n_enrollments, 16);
  c = &r->classes[find(r, CAIRN_ROSTER_CLASSES, "cls-n-ela")];
  assert_string_equal(c->title, "ELA 6 \"Readers' Workshop\"");
  c = &r->classes[find(r, CAIRN_ROSTER_CLASSES, "cls-s-read")];
  assert_string_equal(c->term_ids.items[1], "sem-2"); /* "sem-1, sem-2": trimmed */
  assert_int_equal(c->row.at.line, 5);
  assert_int_equal(r->classes[find(r, CAIRN_ROSTER_CLASSES, "cls-s-hr")].type,
                   CAIRN_ROSTER_CLASS_HOMEROOM);

  /* Courses: columns in another order, an unknown column ignored. */
  assert_string_equal(r->courses[find(r, CAIRN_ROSTER_COURSES, "crs-read3")].code, "RD3");

  /* Users: names in UTF-8 as written, grades, roles. */
  u = &r->users[find(r, CAIRN_ROSTER_USERS, "st-26")];
  assert_string_equal(u->given_name, "Zo\xc3\xab");
  assert_string_equal(u->family_name, "\xc3\x98rsted");
  assert_string_equal(u->identifier, "S1026");
  assert_int_equal(u->grades.n, 1);
  assert_string_equal(u->grades.items[0], "03");
  assert_int_equal(u->enabled, 1);
  assert_string_equal(r->orgs[u->primary_org].row.id, "sch-s");
  assert_int_equal(u->row.at.line, 27);
  assert_int_equal(u->roles, CAIRN_ROSTER_ROLE_BIT(CAIRN_ROSTER_ROLE_STUDENT));
  assert_int_equal(u->n_enrollments, 2);
  assert_string_equal(r->users[find(r, CAIRN_ROSTER_USERS, "st-12")].preferred_given_name, "Lulu");
  u = &r->users[find(r, CAIRN_ROSTER_USERS, "t-4")];
  assert_int_equal(u->enabled, 1); /* TRUE, as a spreadsheet writes it */
  assert_int_equal(u->roles, CAIRN_ROSTER_ROLE_BIT(CAIRN_ROSTER_ROLE_TEACHER) |
                                 CAIRN_ROSTER_ROLE_BIT(CAIRN_ROSTER_ROLE_AIDE));
  assert_int_equal(u->n_role_rows, 2);
  assert_int_equal(r->roles[u->role_rows[1]].primary, 0);
  assert_int_equal(r->roles[u->role_rows[1]].end, day("2026-06-13"));
  assert_int_equal(r->users[find(r, CAIRN_ROSTER_USERS, "g-1")].enabled, 0);
  assert_string_equal(r->users[find(r, CAIRN_ROSTER_USERS, "t-2")].family_name, "O'Neil");

  /* Enrollments, with dates and role. */
  e = &r->enrollments[find(r, CAIRN_ROSTER_ENROLLMENTS, "e-st-05-n-ela")];
  assert_int_equal(e->row.at.line, 15);
  assert_int_equal(e->role, CAIRN_ROSTER_ROLE_STUDENT);
  assert_int_equal(e->begin, day("2025-08-18"));
  assert_int_equal(e->end, day("2026-02-02"));
  assert_string_equal(r->classes[e->class_].row.id, "cls-n-ela");
  assert_string_equal(r->users[e->user].row.id, "st-05");
  assert_string_equal(r->orgs[e->school].row.id, "sch-n");
  e = &r->enrollments[find(r, CAIRN_ROSTER_ENROLLMENTS, "e-t-1")];
  assert_int_equal(e->role, CAIRN_ROSTER_ROLE_TEACHER);
  assert_int_equal(e->primary, 1);
  assert_int_equal(e->end, CAIRN_ROSTER_NO_DATE);

  /* Sessions. */
  se = &r->sessions[find(r, CAIRN_ROSTER_SESSIONS, "sem-2")];
  assert_int_equal(se->type, CAIRN_ROSTER_SESSION_SEMESTER);
  assert_int_equal(se->start, day("2026-01-20"));
  assert_int_equal(se->end, day("2026-06-12"));
  assert_int_equal(se->school_year, 2026);
  assert_string_equal(r->sessions[se->parent].row.id, "y-2026");

  /* Every record's own line, and a lookup of its id finds it. */
  for (i = 0; i < r->n_enrollments; i++) {
    assert_int_equal(r->enrollments[i].row.at.line, i + 2);
    assert_int_equal(cairn_roster_find(r, CAIRN_ROSTER_ENROLLMENTS, r->enrollments[i].row.id,
                                       strlen(r->enrollments[i].row.id)),
                     i);
  }
  assert_int_equal(cairn_roster_find(r, CAIRN_ROSTER_USERS, "st-99", 5), CAIRN_ROSTER_NONE);
  assert_int_equal(cairn_roster_find(r, CAIRN_ROSTER_USERS, "st-0", 4), CAIRN_ROSTER_NONE);
  assert_int_equal(cairn_roster_find(r, CAIRN_ROSTER_USERS, "st-011", 5), find(r, CAIRN_ROSTER_USERS, "st-01"));
  assert_int_equal(cairn_roster_find(r, CAIRN_ROSTER_MANIFEST, "x", 1), CAIRN_ROSTER_NONE);
  cairn_roster_free(r);
}

static void test_bulk_answers(void **state) {
  char dir[512];
  cairn_roster *r;
  size_t students = 0, classes[4], n;
  (void)state;

  snprintf(dir, sizeof dir, "%s/bulk", FIXTURES);
  r = read_ok(dir);
  for (size_t i = 0; i < r->n_users; i++)
    students += (size_t)cairn_roster_is_student(r, i);
  assert_int_equal(students, 30);
  /* st-29 has no roles.csv row: a student by its enrollments. */
  assert_int_equal(r->users[find(r, CAIRN_ROSTER_USERS, "st-29")].roles, 0);
  assert_true(cairn_roster_is_student(r, find(r, CAIRN_ROSTER_USERS, "st-29")));
  assert_false(cairn_roster_is_student(r, find(r, CAIRN_ROSTER_USERS, "t-1")));
  assert_false(cairn_roster_is_student(r, find(r, CAIRN_ROSTER_USERS, "g-1")));
  assert_false(cairn_roster_is_student(r, r->n_users));

  /* st-06 moved from North to South on 2026-01-20 (end is exclusive). */
  n = cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-06"), day("2026-01-19"), classes, 4);
  assert_int_equal(n, 2);
  assert_string_equal(r->classes[classes[0]].row.id, "cls-n-math");
  assert_string_equal(r->classes[classes[1]].row.id, "cls-n-ela");
  n = cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-06"), day("2026-01-20"), classes, 4);
  assert_int_equal(n, 2);
  assert_string_equal(r->classes[classes[0]].row.id, "cls-s-hr");
  assert_string_equal(r->classes[classes[1]].row.id, "cls-s-read");
  assert_false(cairn_roster_student_withdrawn(r, find(r, CAIRN_ROSTER_USERS, "st-06"), day("2026-03-01")));
  /* Before anyone's first day: no class. */
  assert_int_equal(cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-01"), day("2025-08-17"),
                                                classes, 4),
                   0);

  /* st-20 left Reading 3 on 2025-10-01 and came back on 2025-10-15. */
  n = cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-20"), day("2025-10-05"), classes, 4);
  assert_int_equal(n, 1);
  assert_string_equal(r->classes[classes[0]].row.id, "cls-s-hr");
  n = cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-20"), day("2025-10-15"), classes, 4);
  assert_int_equal(n, 2);
  /* The count is whole even when the array is short. */
  assert_int_equal(cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-20"), day("2025-10-15"),
                                                classes, 1),
                   2);

  /* st-05 withdrew: every enrollment ends on 2026-02-02. */
  assert_false(cairn_roster_student_withdrawn(r, find(r, CAIRN_ROSTER_USERS, "st-05"), day("2026-02-01")));
  assert_true(cairn_roster_student_withdrawn(r, find(r, CAIRN_ROSTER_USERS, "st-05"), day("2026-02-02")));
  assert_int_equal(cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "st-05"), day("2026-02-02"),
                                                classes, 4),
                   0);
  assert_false(cairn_roster_student_withdrawn(r, find(r, CAIRN_ROSTER_USERS, "st-01"), day("2026-06-30")));
  /* A teacher's enrollment is no student enrollment. */
  assert_false(cairn_roster_student_withdrawn(r, find(r, CAIRN_ROSTER_USERS, "t-1"), day("2030-01-01")));
  assert_int_equal(cairn_roster_student_classes(r, find(r, CAIRN_ROSTER_USERS, "t-1"), day("2025-09-01"),
                                                classes, 4),
                   0);
  cairn_roster_free(r);
}

/* ---- the delta export ---- */

static void test_delta_model(void **state) {
  char dir[512];
  cairn_roster *r;
  const cairn_roster_user *u;
  const cairn_roster_enrollment *e;
  (void)state;

  snprintf(dir, sizeof dir, "%s/delta", FIXTURES);
  r = read_ok(dir);
  assert_int_equal(r->delta, 1);
  assert_int_equal(r->mode[CAIRN_ROSTER_USERS], CAIRN_ROSTER_DELTA);
  assert_int_equal(r->mode[CAIRN_ROSTER_CLASSES], CAIRN_ROSTER_ABSENT);
  assert_int_equal(r->n_users, 2);
  assert_int_equal(r->n_classes, 0);

  u = &r->users[find(r, CAIRN_ROSTER_USERS, "st-31")];
  assert_int_equal(u->row.status, CAIRN_ROSTER_ACTIVE);
  assert_string_equal(u->row.modified, "2026-02-10T08:00:00.000Z");
  assert_string_equal(u->given_name, "Ines");
  /* The school is not in this export: named, not resolved. */
  assert_string_equal(u->primary_org_id, "sch-n");
  assert_int_equal(u->primary_org, CAIRN_ROSTER_NONE);
  assert_true(cairn_roster_is_student(r, find(r, CAIRN_ROSTER_USERS, "st-31")));

  u = &r->users[find(r, CAIRN_ROSTER_USERS, "st-05")];
  assert_int_equal(u->row.status, CAIRN_ROSTER_TOBEDELETED);
  assert_int_equal(u->row.at.line, 3);
  assert_string_equal(u->given_name, "");
  /* Its deleted role row gives it no role. */
  assert_false(cairn_roster_is_student(r, find(r, CAIRN_ROSTER_USERS, "st-05")));

  e = &r->enrollments[find(r, CAIRN_ROSTER_ENROLLMENTS, "e-st-31-n-math")];
  assert_int_equal(e->class_, CAIRN_ROSTER_NONE);
  assert_string_equal(e->class_id, "cls-n-math");
  assert_string_equal(r->users[e->user].row.id, "st-31");
  assert_int_equal(r->enrollments[find(r, CAIRN_ROSTER_ENROLLMENTS, "e-st-05-n-ela")].row.status,
                   CAIRN_ROSTER_TOBEDELETED);
  e = &r->enrollments[find(r, CAIRN_ROSTER_ENROLLMENTS, "e-st-10-n-ela")];
  assert_int_equal(e->user, CAIRN_ROSTER_NONE);
  assert_int_equal(e->end, day("2026-02-13"));
  assert_string_equal(e->row.modified, "2026-02-10T08:00:00+01:00");
  cairn_roster_free(r);
}

/* ---- the pure reader ---- */

/* Reads the bulk fixture through the pure reader, each file fed in pieces
 * of `piece` bytes. */
static int read_pieces(size_t piece, cairn_roster **out, cairn_roster_error *err) {
  static const cairn_roster_file order[] = {CAIRN_ROSTER_MANIFEST, CAIRN_ROSTER_ENROLLMENTS, CAIRN_ROSTER_ROLES,
                                            CAIRN_ROSTER_USERS,    CAIRN_ROSTER_CLASSES,     CAIRN_ROSTER_COURSES,
                                            CAIRN_ROSTER_SESSIONS, CAIRN_ROSTER_ORGS};
  cairn_roster_reader *rd = cairn_roster_reader_new(NULL);
  int rc = 0;

  assert_non_null(rd);
  for (size_t k = 0; k < sizeof order / sizeof order[0] && rc == 0; k++) {
    char path[512], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/bulk/%s", FIXTURES, cairn_roster_file_name(order[k]));
    buf = slurp(path, &len);
    rc = cairn_roster_reader_begin(rd, order[k], err);
    for (size_t at = 0; at < len && rc == 0; at += piece)
      rc = cairn_roster_reader_feed(rd, buf + at, len - at < piece ? len - at : piece, err);
    if (rc == 0)
      rc = cairn_roster_reader_end(rd, err);
    free(buf);
  }
  if (rc == 0)
    rc = cairn_roster_reader_finish(rd, out, err);
  cairn_roster_reader_free(rd);
  return rc;
}

static void test_pieces_change_nothing(void **state) {
  cairn_roster *whole, *bytes, *sevens;
  cairn_roster_error err;
  (void)state;

  assert_int_equal(read_pieces(1 << 20, &whole, &err), 0);
  assert_int_equal(read_pieces(1, &bytes, &err), 0);
  assert_int_equal(read_pieces(7, &sevens, &err), 0);
  assert_int_equal(whole->n_users, 36);
  assert_int_equal(bytes->n_users, whole->n_users);
  assert_int_equal(sevens->n_enrollments, whole->n_enrollments);
  for (size_t i = 0; i < whole->n_users; i++) {
    assert_string_equal(bytes->users[i].row.id, whole->users[i].row.id);
    assert_string_equal(bytes->users[i].family_name, whole->users[i].family_name);
    assert_int_equal(bytes->users[i].row.at.line, whole->users[i].row.at.line);
  }
  for (size_t i = 0; i < whole->n_classes; i++) {
    assert_string_equal(bytes->classes[i].title, whole->classes[i].title);
    assert_int_equal(bytes->classes[i].row.at.line, whole->classes[i].row.at.line);
    assert_int_equal(sevens->classes[i].n_enrollments, whole->classes[i].n_enrollments);
  }
  assert_string_equal(bytes->orgs[0].row.id, "d-1"); /* the BOM fed a byte at a time */
  cairn_roster_free(whole);
  cairn_roster_free(bytes);
  cairn_roster_free(sevens);
}

static void test_reader_order(void **state) {
  cairn_roster_reader *rd = cairn_roster_reader_new(NULL);
  cairn_roster_error err;
  cairn_roster *r;
  static const char manifest[] = "propertyName,value\noneroster.version,1.2\nfile.users,delta\n";
  (void)state;

  assert_non_null(rd);
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_USERS, &err), CAIRN_EINVAL);
  assert_string_equal(err.message, "users.csv: read before manifest.csv");
  /* After an error, every call returns it again. */
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_MANIFEST, &err), CAIRN_EINVAL);
  assert_int_equal(cairn_roster_reader_finish(rd, &r, &err), CAIRN_EINVAL);
  assert_null(r);
  cairn_roster_reader_free(rd);

  rd = cairn_roster_reader_new(NULL);
  assert_non_null(rd);
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_MANIFEST, &err), 0);
  assert_int_equal(cairn_roster_reader_feed(rd, manifest, strlen(manifest), &err), 0);
  assert_int_equal(cairn_roster_reader_end(rd, &err), 0);
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_ORGS, &err), CAIRN_EINVAL);
  assert_string_equal(err.message, "orgs.csv: manifest.csv does not list it as bulk or delta");
  cairn_roster_reader_free(rd);
  cairn_roster_reader_free(NULL);
  cairn_roster_free(NULL);
}

/* A stream longer than the limit is refused as it passes the limit, with
 * no size known beforehand. */
static void test_stream_over_file_limit(void **state) {
  cairn_roster_options opt = {.file_max = 4096};
  cairn_roster_reader *rd = cairn_roster_reader_new(&opt);
  cairn_roster_error err;
  char line[] = "x,1.2\n";
  int rc = 0;
  size_t fed = 0;
  (void)state;

  assert_non_null(rd);
  assert_int_equal(cairn_roster_reader_begin(rd, CAIRN_ROSTER_MANIFEST, &err), 0);
  rc = cairn_roster_reader_feed(rd, "propertyName,value\n", 19, &err);
  for (fed = 19; rc == 0 && fed < 100000; fed += strlen(line))
    rc = cairn_roster_reader_feed(rd, line, strlen(line), &err);
  assert_int_equal(rc, CAIRN_ETOOBIG);
  assert_true(fed <= 4096 + strlen(line));
  assert_string_equal(err.message, "manifest.csv: more than the 4096 bytes one file may have");
  assert_int_equal(err.line, 0);
  cairn_roster_reader_free(rd);
}

/* ---- progress ---- */

typedef struct seen {
  int calls, ends;
  uint64_t rows_total, bytes, bytes_total;
  cairn_roster_file last;
} seen;

static void on_progress(const cairn_roster_progress *p, void *arg) {
  seen *s = arg;
  s->calls++;
  assert_true(p->rows_total >= s->rows_total);
  assert_true(p->bytes >= s->bytes);
  s->rows_total = p->rows_total;
  s->bytes = p->bytes;
  s->bytes_total = p->bytes_total;
  s->last = p->file;
}

static void test_progress(void **state) {
  char dir[512];
  seen s = {0};
  cairn_roster_options opt = {.progress = on_progress, .progress_arg = &s, .progress_every = 10};
  cairn_roster *r = NULL;
  cairn_roster_error err;
  (void)state;

  snprintf(dir, sizeof dir, "%s/bulk", FIXTURES);
  assert_int_equal(cairn_roster_read(dir, &opt, &r, &err), 0);
  /* Rows: 18 manifest + 3 + 3 + 4 + 4 + 36 + 35 + 67; a call per 10 rows
   * of a file and one at each file's end. */
  assert_int_equal(s.rows_total, 170);
  assert_int_equal(s.calls, (1 + 1) + 1 + 1 + 1 + 1 + (3 + 1) + (3 + 1) + (6 + 1));
  assert_int_equal(s.last, CAIRN_ROSTER_ENROLLMENTS);
  assert_true(s.bytes_total > 10000);
  assert_int_equal(s.bytes, s.bytes_total); /* demographics.csv is not read */
  cairn_roster_free(r);
}

/* ---- refusals: files ---- */

static void test_missing_manifest(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  delete_file(&s, "manifest.csv");
  refused(&s, CAIRN_ENOTFOUND, CAIRN_ROSTER_MANIFEST, 0,
          "manifest.csv: missing: an export starts with its manifest");
}

static void test_missing_file(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  delete_file(&s, "users.csv");
  refused(&s, CAIRN_ENOTFOUND, CAIRN_ROSTER_USERS, 0, "users.csv: missing, but manifest.csv:17 lists it as bulk");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "file.enrollments,bulk", "file.enrollments,absent");
  refused(&s, CAIRN_ENOTFOUND, CAIRN_ROSTER_ENROLLMENTS, 0,
          "enrollments.csv: a bulk export needs it, but manifest.csv lists it as absent");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "file.classes,bulk\n", "");
  refused(&s, CAIRN_ENOTFOUND, CAIRN_ROSTER_CLASSES, 0,
          "classes.csv: a bulk export needs it, but manifest.csv does not list it");

  /* A delta export may leave any file out. */
  copy_export(&s, "delta");
  delete_file(&s, "roles.csv");
  refused(&s, CAIRN_ENOTFOUND, CAIRN_ROSTER_ROLES, 0, "roles.csv: missing, but manifest.csv:16 lists it as delta");
}

static void test_manifest_refusals(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "oneroster.version,1.2", "oneroster.version,1.1");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_MANIFEST, 3,
          "manifest.csv:3: oneroster.version is '1.1'; cairn reads OneRoster 1.2");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "oneroster.version,1.2\n", "");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_MANIFEST, 0,
          "manifest.csv: no oneroster.version property; cairn reads OneRoster 1.2");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "file.users,bulk", "file.users,Bulk");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_MANIFEST, 17,
          "manifest.csv:17: file.users: 'Bulk' is not absent, bulk or delta");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "source.systemName", "file.orgs");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_MANIFEST, 18,
          "manifest.csv:18: file.orgs: 'Riverside SIS' is not absent, bulk or delta");

  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "source.systemName,Riverside SIS", "file.orgs,delta");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_MANIFEST, 18, "manifest.csv:18: file.orgs repeats line 13");
}

/* A 2 GB file (sparse: no disk used) is refused from its size, before a
 * byte of it is read. */
static void test_two_gigabyte_file(void **state) {
  scratch s;
  char path[512];
  seen progress = {0};
  cairn_roster_options opt = {.progress = on_progress, .progress_arg = &progress};
  int fd;
  (void)state;

  copy_export(&s, "bulk");
  snprintf(path, sizeof path, "%s/users.csv", s.dir);
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, 2147483648LL), 0);
  assert_int_equal(close(fd), 0);
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_USERS, 0,
               "users.csv: 2147483648 bytes, more than the 1073741824 bytes one file may have");
  /* Only the manifest was read. */
  assert_int_equal(progress.calls, 1);
  assert_int_equal(progress.last, CAIRN_ROSTER_MANIFEST);
  assert_true(progress.bytes < 1000);
}

static void test_not_a_regular_file(void **state) {
  scratch s;
  char path[512];
  (void)state;
  copy_export(&s, "bulk");
  snprintf(path, sizeof path, "%s/roles.csv", s.dir);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkfifo(path, 0600), 0);
  refused(&s, CAIRN_EIO, CAIRN_ROSTER_ROLES, 0, "roles.csv: not a regular file");
}

/* ---- refusals: columns and rows ---- */

static void test_missing_column(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "users.csv", ",givenName,", ",firstName,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 1,
          "users.csv:1: the header has no column 'givenName', which a OneRoster 1.2 file needs");

  copy_export(&s, "delta");
  edit(&s, "enrollments.csv", "sourcedId,status,dateLastModified,", "sourcedId,status,");
  edit(&s, "enrollments.csv", "2026-02-10T08:00:00.000Z,cls-n-math", "cls-n-math");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 1,
          "enrollments.csv:1: the header has no column 'dateLastModified', which a delta file needs");

  copy_export(&s, "bulk");
  edit(&s, "orgs.csv", "identifier,parentSourcedId", "name,parentSourcedId");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ORGS, 1,
          "orgs.csv:1: column 'name' appears twice (columns 4 and 6)");

  copy_export(&s, "bulk");
  write_file(&s, "courses.csv", "");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_COURSES, 0, "courses.csv: empty: no header line");
}

static void test_repeated_id(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "\nst-14,", "\nst-03,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 15, "users.csv:15: sourcedId 'st-03' repeats line 4");
}

static void test_unknown_references(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", "e-st-10-n-ela,,,cls-n-ela,", "e-st-10-n-ela,,,cls-n-art,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 25,
          "enrollments.csv:25: classSourcedId 'cls-n-art' is not in classes.csv");

  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", "cls-s-read,sch-s,st-28,", "cls-s-read,sch-s,st-82,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 61,
          "enrollments.csv:61: userSourcedId 'st-82' is not in users.csv");

  copy_export(&s, "bulk");
  edit(&s, "classes.csv", "Room 3,sch-s,y-2026", "Room 3,sch-w,y-2026");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_CLASSES, 4, "classes.csv:4: schoolSourcedId 'sch-w' is not in orgs.csv");

  copy_export(&s, "bulk");
  edit(&s, "classes.csv", "Room 3,sch-s,y-2026", "Room 3,d-1,y-2026");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_CLASSES, 4,
          "classes.csv:4: schoolSourcedId 'd-1' is not a school (orgs.csv:2 gives its type as district)");

  copy_export(&s, "bulk");
  edit(&s, "classes.csv", "\"sem-1, sem-2\"", "\"sem-1, sem-3\"");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_CLASSES, 5, "classes.csv:5: termSourcedIds 'sem-3' is not in academicSessions.csv");

  copy_export(&s, "bulk");
  edit(&s, "roles.csv", "r-t-2,,,t-2,", "r-t-2,,,t-9,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ROLES, 31, "roles.csv:31: userSourcedId 't-9' is not in users.csv");

  /* Into an absent file, a reference is left for the importer. */
  copy_export(&s, "bulk");
  edit(&s, "manifest.csv", "file.courses,bulk", "file.courses,absent");
  edit(&s, "classes.csv", "crs-read3", "crs-nowhere");
  {
    cairn_roster *r = read_ok(s.dir);
    const cairn_roster_class *c = &r->classes[find(r, CAIRN_ROSTER_CLASSES, "cls-s-read")];
    assert_string_equal(c->course_id, "crs-nowhere");
    assert_int_equal(c->course, CAIRN_ROSTER_NONE);
    assert_int_equal(r->n_courses, 0);
    cairn_roster_free(r);
  }
  remove_export(&s);
}

static void test_bad_text(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "Mateo", "Mat\xff" "eo");
  refused(&s, CAIRN_EUTF8, CAIRN_ROSTER_USERS, 14, "users.csv:14: givenName: not UTF-8");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "Mateo", "Mat\xc3\x28o"); /* a lead byte without its continuation */
  refused(&s, CAIRN_EUTF8, CAIRN_ROSTER_USERS, 14, "users.csv:14: givenName: not UTF-8");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "Ruiz", "Ru\tiz");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 14, "users.csv:14: familyName: control character 0x09 in the value");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "Ruiz", "Ru\xc2\x9biz"); /* C1: CSI */
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 14, "users.csv:14: familyName: control character 0x9b in the value");

  /* A value's line break is refused at the line the row starts on. */
  copy_export(&s, "bulk");
  edit(&s, "users.csv", ",Ruiz,", ",\"Ru\niz\",");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 14, "users.csv:14: familyName: control character 0x0a in the value");

  /* An unknown column's values are checked too: the file must be UTF-8. */
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "hunter2", "hunt\x01r2");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 2, "users.csv:2: password: control character 0x01 in the value");

  /* What the message quotes is escaped: printable ASCII, cut at 32 bytes. */
  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", ",cls-s-hr,sch-s,st-17,", ",\xc3\xa9\x1b[31m-and-then-some-more-text-to-cut,sch-s,st-17,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 38,
          "enrollments.csv:38: classSourcedId: control character 0x1b in the value");
  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", ",cls-s-hr,sch-s,st-17,", ",\xc3\xa9'[31m-and-then-some-more-text-to-cut,sch-s,st-17,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 38,
          "enrollments.csv:38: classSourcedId '???[31m-and-then-some-more-text-...' is not in classes.csv");
}

static void test_bad_values(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", "st-07,student,false,2025-08-18", "st-07,student,false,8/18/2025");
  refused(&s, CAIRN_EDATE, CAIRN_ROSTER_ENROLLMENTS, 18,
          "enrollments.csv:18: beginDate: '8/18/2025' is not a date (YYYY-MM-DD)");

  copy_export(&s, "bulk");
  edit(&s, "academicSessions.csv", "2026-01-20,2026-06-12", "2026-01-20,2026-02-30");
  refused(&s, CAIRN_EDATE, CAIRN_ROSTER_SESSIONS, 4,
          "academicSessions.csv:4: endDate: '2026-02-30' is not a date (YYYY-MM-DD)");

  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", "2025-08-18,2026-02-02", "2025-08-18,2025-02-02");
  refused(&s, CAIRN_EDATE, CAIRN_ROSTER_ENROLLMENTS, 14,
          "enrollments.csv:14: endDate 2025-02-02 is before beginDate 2025-08-18");

  copy_export(&s, "delta");
  edit(&s, "users.csv", "2026-02-10T08:00:00Z", "2026-02-10 08:00");
  refused(&s, CAIRN_EDATE, CAIRN_ROSTER_USERS, 3,
          "users.csv:3: dateLastModified: '2026-02-10 08:00' is not an ISO 8601 date and time "
          "(YYYY-MM-DD or YYYY-MM-DDThh:mm:ss.sssZ)");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", ",Kofi,", ",,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 12, "users.csv:12: givenName: empty, but required");

  copy_export(&s, "bulk");
  edit(&s, "enrollments.csv", "\ne-st-09-n-math,", "\n,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ENROLLMENTS, 22, "enrollments.csv:22: sourcedId: empty, but required");

  copy_export(&s, "bulk");
  edit(&s, "roles.csv", "primary,teacher", "primary,Teacher");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ROLES, 30,
          "roles.csv:30: role: 'Teacher' is not one of administrator, aide, counselor, districtAdministrator, "
          "guardian, parent, principal, proctor, relative, siteAdministrator, student, systemAdministrator, "
          "teacher, ext:...");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "st-08,,,true", "st-08,,,yes");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 9, "users.csv:9: enabledUser: 'yes' is not true or false");

  copy_export(&s, "bulk");
  edit(&s, "academicSessions.csv", "y-2026,2026", "y-2026,26");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_SESSIONS, 3, "academicSessions.csv:3: schoolYear: '26' is not a year (YYYY)");

  copy_export(&s, "bulk");
  edit(&s, "classes.csv", "\"sem-1,sem-2\"", "\"sem-1,,sem-2\"");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_CLASSES, 2, "classes.csv:2: termSourcedIds: an empty item in the list");

  /* status: blank or active in a bulk file; active or tobedeleted in a delta. */
  copy_export(&s, "bulk");
  edit(&s, "orgs.csv", "sch-s,,", "sch-s,tobedeleted,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ORGS, 4,
          "orgs.csv:4: status: tobedeleted in a bulk file; only a delta file removes records");

  copy_export(&s, "delta");
  edit(&s, "roles.csv", "r-st-31,active,", "r-st-31,,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ROLES, 2,
          "roles.csv:2: status: empty, but a delta file needs active or tobedeleted");

  copy_export(&s, "delta");
  edit(&s, "roles.csv", "r-st-31,active,", "r-st-31,inactive,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ROLES, 2, "roles.csv:2: status: 'inactive' is not active or tobedeleted");

  copy_export(&s, "delta");
  edit(&s, "roles.csv", "r-st-05,tobedeleted,2026-02-10T08:00:00.000Z", "r-st-05,tobedeleted,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_ROLES, 3, "roles.csv:3: dateLastModified: empty, but a delta file needs it");
}

static void test_bad_csv(void **state) {
  scratch s;
  (void)state;
  copy_export(&s, "bulk");
  edit(&s, "users.csv", ",Jada,", ",Ja\"da,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 11,
          "users.csv:11: broken quoting: a quote in a value must be doubled (\"\"), and a quoted value must "
          "end with a quote before the next comma");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", ",Jada,", ",\"Jada\"x,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 11,
          "users.csv:11: broken quoting: a quote in a value must be doubled (\"\"), and a quoted value must "
          "end with a quote before the next comma");

  copy_export(&s, "bulk");
  write_file(&s, "academicSessions.csv",
             "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
             "y-2026,,,2025-2026,schoolYear,2025-08-18,2026-06-12,,2026\n"
             "sem-1,,,\"Fall 2025,semester,2025-08-18,2026-01-16,y-2026,2026");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_SESSIONS, 3, "academicSessions.csv:3: a quoted value has no closing quote");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "st-04,,,true", "st-04,,true");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 5, "users.csv:5: 22 values, but the header has 23 columns");

  copy_export(&s, "bulk");
  edit(&s, "users.csv", "st-04,,,true", "st-04,,,,true");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 5, "users.csv:5: more values than the 23 columns of the header");

  /* A CR ends a line only before an LF. */
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "\nst-04,", "\rst-04,");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 4, "users.csv:4: carriage return (0x0d) not followed by a line feed");

  /* Blank lines are skipped, and counted. */
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "\nst-04,", "\n\n\r\n\nst-04,");
  edit(&s, "users.csv", "st-04,,,true", "st-04,,,maybe");
  refused(&s, CAIRN_EMALFORMED, CAIRN_ROSTER_USERS, 8, "users.csv:8: enabledUser: 'maybe' is not true or false");
}

/* ---- refusals: limits ---- */

static void test_limits(void **state) {
  scratch s;
  cairn_roster_options opt = {0};
  char *longline;
  (void)state;

  /* The default row limit, with a row of 70,000 bytes. */
  longline = malloc(70001);
  assert_non_null(longline);
  memset(longline, 'a', 70000);
  longline[70000] = '\0';
  copy_export(&s, "bulk");
  edit(&s, "users.csv", "hunter2", longline);
  free(longline);
  refused(&s, CAIRN_ETOOBIG, CAIRN_ROSTER_USERS, 2, "users.csv:2: row longer than 65536 bytes");

  copy_export(&s, "bulk");
  opt.line_max = 400; /* the header's 280 bytes fit */
  edit(&s, "users.csv", "hunter2", "hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2"
                                   "hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2"
                                   "hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2"
                                   "hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2"
                                   "hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2hunter2");
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_USERS, 2, "users.csv:2: row longer than 400 bytes");

  copy_export(&s, "bulk");
  opt.line_max = 0;
  opt.field_max = 24;
  edit(&s, "orgs.csv", "North Middle School", "North Middle School of the Arts");
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_ORGS, 3, "orgs.csv:3: name: value longer than 24 bytes");

  copy_export(&s, "bulk");
  opt.field_max = 0;
  opt.rows_max = 30;
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_USERS, 32, "users.csv:32: more than the 30 rows one file may have");

  copy_export(&s, "bulk");
  opt.rows_max = 0;
  opt.file_max = 4000;
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_ENROLLMENTS, 0,
               "enrollments.csv: 4434 bytes, more than the 4000 bytes one file may have");

  /* A limit above the default is the default. */
  copy_export(&s, "bulk");
  opt.file_max = 0;
  opt.line_max = 1u << 30;
  edit(&s, "users.csv", "hunter2", "");
  {
    char *big = malloc(70001);
    assert_non_null(big);
    memset(big, 'b', 70000);
    big[70000] = '\0';
    edit(&s, "users.csv", "S1001", big);
    free(big);
  }
  refused_with(&s, &opt, CAIRN_ETOOBIG, CAIRN_ROSTER_USERS, 2, "users.csv:2: row longer than 65536 bytes");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bulk_model),
      cmocka_unit_test(test_bulk_answers),
      cmocka_unit_test(test_delta_model),
      cmocka_unit_test(test_pieces_change_nothing),
      cmocka_unit_test(test_reader_order),
      cmocka_unit_test(test_stream_over_file_limit),
      cmocka_unit_test(test_progress),
      cmocka_unit_test(test_missing_manifest),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_manifest_refusals),
      cmocka_unit_test(test_two_gigabyte_file),
      cmocka_unit_test(test_not_a_regular_file),
      cmocka_unit_test(test_missing_column),
      cmocka_unit_test(test_repeated_id),
      cmocka_unit_test(test_unknown_references),
      cmocka_unit_test(test_bad_text),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_bad_csv),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
