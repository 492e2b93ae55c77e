/*
 * fuzz_roster.c: the OneRoster CSV reader (cairn_roster_reader_*) on one
 * hostile CSV file.
 *
 * Input: byte 0 picks the file (modulo the files cairn reads, manifest.csv
 * included), byte 1 bit 0 makes it a delta file, byte 2 says where to cut
 * it in two; the rest is the file's bytes. The file is read inside the
 * small valid export of roster_seed.h: in bulk, beside the seed's other
 * files (so its references resolve, or are refused); in delta, alone, the
 * manifest listing only it. A fuzzed manifest is followed by the seed's
 * files it lists.
 *
 * Checks: a refusal has a code from the documented set, the same code in
 * the error, a message that starts with the file and line it names and is
 * printable ASCII; a model's every record has a non-empty id that finds it,
 * its own file and a line past the header, UTF-8 strings without control
 * characters, references that are NONE or name a record with that id, and
 * lists that agree with the references; the answers (is a student, classes
 * on a day, withdrawn) stay within the model. Fed whole or cut in two, the
 * file gives the same result. A model's import plan (roster_import.h) is
 * refused with its file and line, or every put it makes passes the record
 * schema, and the plan over what those puts create makes none.
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "record.h"
#include "roster.h"
#include "roster_import.h"
#include "roster_seed.h"
#include "text.h"

typedef struct outcome {
  int rc;
  cairn_roster_error err;
  cairn_roster *model;
} outcome;

static int feed_file(cairn_roster_reader *rd, cairn_roster_file f, const uint8_t *p, size_t len,
                     size_t cut, cairn_roster_error *err) {
  int rc = cairn_roster_reader_begin(rd, f, err);
  if (rc == 0 && cut > 0)
    rc = cairn_roster_reader_feed(rd, p, cut, err);
  if (rc == 0)
    rc = cairn_roster_reader_feed(rd, p + cut, len - cut, err);
  if (rc == 0)
    rc = cairn_roster_reader_end(rd, err);
  return rc;
}

static int feed_text(cairn_roster_reader *rd, cairn_roster_file f, const char *text,
                     cairn_roster_error *err) {
  return feed_file(rd, f, (const uint8_t *)text, strlen(text), 0, err);
}

/* The manifest for a fuzzed file f: in bulk the seed's, in delta one
 * listing f alone. */
static void manifest_for(cairn_roster_file f, int delta, char *out, size_t size) {
  static const char *const props[CAIRN_ROSTER_FILES] = {
      [CAIRN_ROSTER_ORGS] = "file.orgs",       [CAIRN_ROSTER_SESSIONS] = "file.academicSessions",
      [CAIRN_ROSTER_COURSES] = "file.courses", [CAIRN_ROSTER_CLASSES] = "file.classes",
      [CAIRN_ROSTER_USERS] = "file.users",     [CAIRN_ROSTER_ROLES] = "file.roles",
      [CAIRN_ROSTER_ENROLLMENTS] = "file.enrollments"};
  if (!delta) {
    snprintf(out, size, "%s", roster_seed_bulk[CAIRN_ROSTER_MANIFEST]);
    return;
  }
  snprintf(out, size, "propertyName,value\noneroster.version,1.2\n%s,delta\n", props[f]);
}

static outcome run(cairn_roster_file f, int delta, const uint8_t *p, size_t len, size_t cut) {
  outcome o = {0};
  cairn_roster_reader *rd = cairn_roster_reader_new(NULL);
  char manifest[512];

  FUZZ_CHECK(rd != NULL);
  if (f == CAIRN_ROSTER_MANIFEST) {
    o.rc = feed_file(rd, f, p, len, cut, &o.err);
    /* Then the seed's files the fuzzed manifest lists: for a delta one,
     * the seed's delta file when there is one (the bulk file's blank
     * statuses are refused in a delta file). */
    for (int g = CAIRN_ROSTER_MANIFEST + 1; g < CAIRN_ROSTER_FILES && o.rc == 0; g++) {
      cairn_roster_mode mode = cairn_roster_reader_mode(rd, (cairn_roster_file)g);
      if (mode == CAIRN_ROSTER_ABSENT)
        continue;
      o.rc = feed_text(rd, (cairn_roster_file)g,
                       mode == CAIRN_ROSTER_DELTA && roster_seed_delta[g] ? roster_seed_delta[g]
                                                                         : roster_seed_bulk[g],
                       &o.err);
    }
  } else {
    manifest_for(f, delta, manifest, sizeof manifest);
    o.rc = feed_text(rd, CAIRN_ROSTER_MANIFEST, manifest, &o.err);
    FUZZ_CHECK(o.rc == 0);
    for (int g = CAIRN_ROSTER_MANIFEST + 1; g < CAIRN_ROSTER_FILES && o.rc == 0; g++) {
      if ((cairn_roster_file)g == f)
        o.rc = feed_file(rd, f, p, len, cut, &o.err);
      else if (!delta)
        o.rc = feed_text(rd, (cairn_roster_file)g, roster_seed_bulk[g], &o.err);
    }
  }
  if (o.rc == 0)
    o.rc = cairn_roster_reader_finish(rd, &o.model, &o.err);
  else
    o.model = NULL;
  cairn_roster_reader_free(rd);
  return o;
}

static void check_error(const outcome *o) {
  const cairn_roster_error *e = &o->err;
  char prefix[64];

  FUZZ_CHECK(o->model == NULL);
  FUZZ_CHECK(o->rc == CAIRN_ENOTFOUND || o->rc == CAIRN_EMALFORMED || o->rc == CAIRN_EUTF8 ||
             o->rc == CAIRN_EDATE || o->rc == CAIRN_ETOOBIG || o->rc == CAIRN_ENOMEM);
  FUZZ_CHECK(e->code == o->rc);
  FUZZ_CHECK(memchr(e->message, '\0', sizeof e->message) != NULL);
  FUZZ_CHECK(e->message[0] != '\0');
  for (const char *c = e->message; *c; c++)
    FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
  if (e->file < CAIRN_ROSTER_FILES) {
    if (e->line)
      snprintf(prefix, sizeof prefix, "%s:%u: ", cairn_roster_file_name(e->file), (unsigned)e->line);
    else
      snprintf(prefix, sizeof prefix, "%s: ", cairn_roster_file_name(e->file));
    FUZZ_CHECK(strncmp(e->message, prefix, strlen(prefix)) == 0);
  } else
    FUZZ_CHECK(e->line == 0);
}

static void check_text(const char *s) {
  size_t n;
  FUZZ_CHECK(s != NULL);
  n = strlen(s);
  FUZZ_CHECK(cairn_text_utf8_valid(s, n));
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void check_row(const cairn_roster *r, const cairn_roster_row *row, cairn_roster_file f, size_t i) {
  check_text(row->id);
  check_text(row->modified);
  FUZZ_CHECK(row->id[0] != '\0');
  FUZZ_CHECK(row->at.file == f && row->at.line >= 2);
  FUZZ_CHECK(cairn_roster_find(r, f, row->id, strlen(row->id)) == i);
  FUZZ_CHECK(row->status == CAIRN_ROSTER_ACTIVE ||
             (row->status == CAIRN_ROSTER_TOBEDELETED && r->mode[f] == CAIRN_ROSTER_DELTA));
}

/* A reference: NONE, or the record of `to` with that id. */
static void check_ref(const cairn_roster *r, const char *id, size_t index, cairn_roster_file to) {
  check_text(id);
  if (index == CAIRN_ROSTER_NONE)
    return;
  FUZZ_CHECK(id[0] != '\0');
  FUZZ_CHECK(cairn_roster_find(r, to, id, strlen(id)) == index);
}

static void check_list(const cairn_roster_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    check_text(l->items[i]);
    FUZZ_CHECK(l->items[i][0] != '\0');
  }
}

static void check_model(const cairn_roster *r) {
  size_t grouped = 0, schools = 0;

  for (size_t i = 0; i < r->n_orgs; i++) {
    const cairn_roster_org *o = &r->orgs[i];
    check_row(r, &o->row, CAIRN_ROSTER_ORGS, i);
    check_text(o->name);
    check_text(o->identifier);
    check_ref(r, o->parent_id, o->parent, CAIRN_ROSTER_ORGS);
    schools += o->type == CAIRN_ROSTER_ORG_SCHOOL;
  }
  FUZZ_CHECK(schools == r->n_schools);
  for (size_t i = 0; i < r->n_schools; i++)
    FUZZ_CHECK(r->schools[i] < r->n_orgs && r->orgs[r->schools[i]].type == CAIRN_ROSTER_ORG_SCHOOL);
  for (size_t i = 0; i < r->n_sessions; i++) {
    const cairn_roster_session *s = &r->sessions[i];
    check_row(r, &s->row, CAIRN_ROSTER_SESSIONS, i);
    check_text(s->title);
    check_ref(r, s->parent_id, s->parent, CAIRN_ROSTER_SESSIONS);
    FUZZ_CHECK(s->row.status == CAIRN_ROSTER_TOBEDELETED || s->end >= s->start);
  }
  for (size_t i = 0; i < r->n_courses; i++) {
    const cairn_roster_course *c = &r->courses[i];
    check_row(r, &c->row, CAIRN_ROSTER_COURSES, i);
    check_ref(r, c->org_id, c->org, CAIRN_ROSTER_ORGS);
    check_ref(r, c->school_year_id, c->school_year, CAIRN_ROSTER_SESSIONS);
  }
  for (size_t i = 0; i < r->n_classes; i++) {
    const cairn_roster_class *c = &r->classes[i];
    check_row(r, &c->row, CAIRN_ROSTER_CLASSES, i);
    check_text(c->title);
    check_list(&c->grades);
    check_list(&c->term_ids);
    check_ref(r, c->course_id, c->course, CAIRN_ROSTER_COURSES);
    check_ref(r, c->school_id, c->school, CAIRN_ROSTER_ORGS);
    if (c->school != CAIRN_ROSTER_NONE && c->row.status == CAIRN_ROSTER_ACTIVE &&
        r->mode[CAIRN_ROSTER_ORGS] == CAIRN_ROSTER_BULK)
      FUZZ_CHECK(r->orgs[c->school].type == CAIRN_ROSTER_ORG_SCHOOL);
    for (size_t k = 0; k < c->term_ids.n; k++)
      check_ref(r, c->term_ids.items[k], c->terms[k], CAIRN_ROSTER_SESSIONS);
    for (size_t k = 0; k < c->n_enrollments; k++)
      FUZZ_CHECK(c->enrollments[k] < r->n_enrollments && r->enrollments[c->enrollments[k]].class_ == i);
  }
  for (size_t i = 0; i < r->n_roles; i++) {
    const cairn_roster_user_role *ro = &r->roles[i];
    check_row(r, &ro->row, CAIRN_ROSTER_ROLES, i);
    check_ref(r, ro->user_id, ro->user, CAIRN_ROSTER_USERS);
    check_ref(r, ro->org_id, ro->org, CAIRN_ROSTER_ORGS);
    FUZZ_CHECK(ro->role <= CAIRN_ROSTER_ROLE_OTHER && cairn_roster_role_name(ro->role)[0] != '\0');
  }
  for (size_t i = 0; i < r->n_enrollments; i++) {
    const cairn_roster_enrollment *e = &r->enrollments[i];
    check_row(r, &e->row, CAIRN_ROSTER_ENROLLMENTS, i);
    check_ref(r, e->class_id, e->class_, CAIRN_ROSTER_CLASSES);
    check_ref(r, e->school_id, e->school, CAIRN_ROSTER_ORGS);
    check_ref(r, e->user_id, e->user, CAIRN_ROSTER_USERS);
    grouped += e->user != CAIRN_ROSTER_NONE;
    if (e->begin != CAIRN_ROSTER_NO_DATE && e->end != CAIRN_ROSTER_NO_DATE)
      FUZZ_CHECK(e->end >= e->begin);
  }
  for (size_t i = 0; i < r->n_users; i++) {
    const cairn_roster_user *u = &r->users[i];
    size_t classes[8], n;
    check_row(r, &u->row, CAIRN_ROSTER_USERS, i);
    check_text(u->given_name);
    check_text(u->family_name);
    check_list(&u->grades);
    check_ref(r, u->primary_org_id, u->primary_org, CAIRN_ROSTER_ORGS);
    for (size_t k = 0; k < u->n_role_rows; k++)
      FUZZ_CHECK(u->role_rows[k] < r->n_roles && r->roles[u->role_rows[k]].user == i);
    for (size_t k = 0; k < u->n_enrollments; k++) {
      const cairn_roster_enrollment *e;
      FUZZ_CHECK(u->enrollments[k] < r->n_enrollments);
      e = &r->enrollments[u->enrollments[k]];
      FUZZ_CHECK(e->user == i);
      grouped--;
      /* On each enrollment's first day, what the answers say. */
      if (e->begin != CAIRN_ROSTER_NO_DATE) {
        n = cairn_roster_student_classes(r, i, e->begin, classes, 8);
        for (size_t j = 0; j < n && j < 8; j++) {
          FUZZ_CHECK(classes[j] < r->n_classes);
          for (size_t m = 0; m < j; m++)
            FUZZ_CHECK(classes[m] != classes[j]);
        }
        if (n)
          FUZZ_CHECK(cairn_roster_is_student(r, i));
        if (e->role == CAIRN_ROSTER_ROLE_STUDENT && e->row.status == CAIRN_ROSTER_ACTIVE &&
            (e->end == CAIRN_ROSTER_NO_DATE || e->end > e->begin))
          FUZZ_CHECK(!cairn_roster_student_withdrawn(r, i, e->begin));
      }
    }
  }
  FUZZ_CHECK(grouped == 0);
}

/* Feeds to again, as the export would give them, the records the puts
 * of p create; checks each put against the schema. */
static void replay_puts(const cairn_roster_plan *p, cairn_roster_plan *again) {
  msgpack_zone z;
  size_t off = 0;
  char why[256];
  FUZZ_CHECK(msgpack_zone_init(&z, 4096));
  for (size_t i = 0; i < p->n_puts; i++) {
    msgpack_object put;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpack_return u = msgpack_unpack(p->puts.data, p->puts.size, &off, &z, &put);
    FUZZ_CHECK(u == MSGPACK_UNPACK_SUCCESS || u == MSGPACK_UNPACK_EXTRA_BYTES);
    const msgpack_object *type = cairn_record_map_get(&put, "type");
    const msgpack_object *id = cairn_record_map_get(&put, "id");
    const msgpack_object *set = cairn_record_map_get(&put, "set");
    FUZZ_CHECK(type != NULL && id != NULL && set != NULL && type->type == MSGPACK_OBJECT_STR);
    FUZZ_CHECK(cairn_record_map_get(&put, "edit") == NULL); /* nothing held: all created */
    int t = cairn_record_type_from_name(type->via.str.ptr, type->via.str.size);
    FUZZ_CHECK(t == p->info[i].type);
    FUZZ_CHECK(cairn_record_check_set(t, set, 1, why, sizeof why) == 0);
    FUZZ_CHECK(cairn_record_check_input(t, set, why, sizeof why) == 0);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_object(&pk, *type);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_object(&pk, *id);
    msgpack_pack_str_with_body(&pk, "fields", 6);
    msgpack_pack_object(&pk, *set);
    msgpack_zone rz;
    msgpack_object rec;
    size_t roff = 0;
    FUZZ_CHECK(msgpack_zone_init(&rz, 1024));
    FUZZ_CHECK(msgpack_unpack(sb.data, sb.size, &roff, &rz, &rec) == MSGPACK_UNPACK_SUCCESS);
    FUZZ_CHECK(cairn_roster_plan_current(again, &rec) == 0);
    msgpack_zone_destroy(&rz);
    msgpack_sbuffer_destroy(&sb);
  }
  FUZZ_CHECK(off == p->puts.size);
  msgpack_zone_destroy(&z);
}

/* The import plan of model r, over nothing held, then over what it made. */
static void check_plan(const cairn_roster *r) {
  cairn_roster_plan *p = cairn_roster_plan_new(), *again = cairn_roster_plan_new();
  cairn_roster_error err = {0};
  int32_t day;
  size_t total = 0;
  FUZZ_CHECK(p != NULL && again != NULL);
  FUZZ_CHECK(cairn_text_date_parse("2026-01-15", 10, &day) == 0);
  int rc = cairn_roster_plan_build(p, r, day, &err);
  if (rc != 0) {
    outcome o = {.rc = rc, .err = err};
    FUZZ_CHECK(rc == CAIRN_EINVAL || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(err.file < CAIRN_ROSTER_FILES || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(p->n_puts == 0 && p->puts.size == 0);
    o.rc = rc == CAIRN_EINVAL ? CAIRN_EMALFORMED : rc; /* check_error's set of codes */
    o.err.code = o.rc;
    check_error(&o);
  } else {
    for (int c = 0; c < CAIRN_ROSTER_CHANGES; c++)
      total += p->count[c];
    FUZZ_CHECK(total == p->n_puts && p->count[CAIRN_ROSTER_ADDED] == p->n_puts);
    replay_puts(p, again);
    FUZZ_CHECK(cairn_roster_plan_build(again, r, day, &err) == 0);
    FUZZ_CHECK(again->n_puts == 0);
  }
  cairn_roster_plan_free(again);
  cairn_roster_plan_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_roster_file f;
  int delta;
  size_t len, cut;
  const uint8_t *p;
  outcome whole, split;

  if (size < 3)
    return 0;
  f = (cairn_roster_file)(data[0] % CAIRN_ROSTER_FILES);
  delta = data[1] & 1;
  p = data + 3;
  len = size - 3;
  cut = len * data[2] / 255;

  whole = run(f, delta, p, len, 0);
  split = run(f, delta, p, len, cut);
  FUZZ_CHECK(whole.rc == split.rc);
  if (whole.rc == 0) {
    check_model(whole.model);
    check_plan(whole.model);
    FUZZ_CHECK(whole.model->n_users == split.model->n_users);
    FUZZ_CHECK(whole.model->n_enrollments == split.model->n_enrollments);
    FUZZ_CHECK(whole.model->n_classes == split.model->n_classes);
    FUZZ_CHECK(whole.model->n_orgs == split.model->n_orgs);
  } else {
    check_error(&whole);
    FUZZ_CHECK(strcmp(whole.err.message, split.err.message) == 0);
  }
  cairn_roster_free(whole.model);
  cairn_roster_free(split.model);
  return 0;
}
