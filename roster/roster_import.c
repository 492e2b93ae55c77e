/* roster_import.c: the puts that bring a node's campuses, classrooms and
 * students in line with a roster (roster_import.h). */
#include "roster_import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "text.h"

/* Most classrooms a student may have (the student's `classrooms` set). */
static size_t classrooms_max(void) {
  const cairn_field_def *f = cairn_record_field(CAIRN_REC_STUDENT, "classrooms", 10);
  return f != NULL ? f->max_items : 16;
}

/* ---- what the node holds ------------------------------------------------------ */

typedef struct current_rec {
  int type;
  const char *id;
  size_t idlen;
  const msgpack_object *fields; /* a map */
} current_rec;

struct cairn__roster_current {
  msgpack_sbuffer packed; /* each record as [type, id, fields] */
  size_t n;
  msgpack_zone zone;      /* the unpacked records, pointing into packed */
  current_rec *recs;      /* sorted by type, then id */
};

const char *cairn_roster_change_name(cairn_roster_change c) {
  static const char *const names[] = {"added", "updated", "moved", "withdrawn"};
  return (unsigned)c < CAIRN_ROSTER_CHANGES ? names[c] : "";
}

cairn_roster_plan *cairn_roster_plan_new(void) {
  cairn_roster_plan *p = calloc(1, sizeof *p);
  if (p == NULL || (p->current = calloc(1, sizeof *p->current)) == NULL) {
    free(p);
    return NULL;
  }
  msgpack_sbuffer_init(&p->puts);
  msgpack_sbuffer_init(&p->current->packed);
  if (!msgpack_zone_init(&p->current->zone, 4096)) {
    free(p->current);
    free(p);
    return NULL;
  }
  return p;
}

void cairn_roster_plan_free(cairn_roster_plan *p) {
  if (p == NULL)
    return;
  msgpack_sbuffer_destroy(&p->puts);
  msgpack_sbuffer_destroy(&p->current->packed);
  msgpack_zone_destroy(&p->current->zone);
  free(p->current->recs);
  free(p->current);
  free(p->info);
  free(p);
}

static int obj_str(const msgpack_object *o, const char **s, size_t *len) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return 0;
  *s = o->via.str.ptr;
  *len = o->via.str.size;
  return 1;
}

int cairn_roster_plan_current(cairn_roster_plan *p, const msgpack_object *record) {
  const char *type, *id;
  size_t typelen, idlen;
  const msgpack_object *fields = cairn_record_map_get(record, "fields");
  if (record == NULL || record->type != MSGPACK_OBJECT_MAP ||
      !obj_str(cairn_record_map_get(record, "type"), &type, &typelen) ||
      !obj_str(cairn_record_map_get(record, "id"), &id, &idlen) || fields == NULL ||
      fields->type != MSGPACK_OBJECT_MAP)
    return CAIRN_EMALFORMED;
  int t = cairn_record_type_from_name(type, typelen);
  if (t != CAIRN_REC_CAMPUS && t != CAIRN_REC_CLASSROOM && t != CAIRN_REC_STUDENT &&
      t != CAIRN_REC_ERASURE)
    return 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &p->current->packed, msgpack_sbuffer_write);
  size_t before = p->current->packed.size;
  if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_int(&pk, t) != 0 ||
      msgpack_pack_str_with_body(&pk, id, idlen) != 0 || msgpack_pack_object(&pk, *fields) != 0) {
    p->current->packed.size = before;
    return CAIRN_ENOMEM;
  }
  p->current->n++;
  return 0;
}

static int rec_cmp3(int ta, const char *a, size_t alen, int tb, const char *b, size_t blen) {
  if (ta != tb)
    return ta < tb ? -1 : 1;
  int c = memcmp(a, b, alen < blen ? alen : blen);
  return c != 0 ? c : alen < blen ? -1 : alen > blen;
}

static int rec_cmp(const void *pa, const void *pb) {
  const current_rec *a = pa, *b = pb;
  return rec_cmp3(a->type, a->id, a->idlen, b->type, b->id, b->idlen);
}

/* Unpacks the records fed into a sorted array. */
static int current_index(struct cairn__roster_current *c) {
  size_t off = 0;
  if (c->n == 0)
    return 0;
  if ((c->recs = calloc(c->n, sizeof *c->recs)) == NULL)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < c->n; i++) {
    msgpack_object o;
    msgpack_unpack_return u = msgpack_unpack(c->packed.data, c->packed.size, &off, &c->zone, &o);
    if ((u != MSGPACK_UNPACK_SUCCESS && u != MSGPACK_UNPACK_EXTRA_BYTES) ||
        o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 3)
      return CAIRN_ENOMEM; /* we packed it: only memory can fail */
    c->recs[i].type = (int)o.via.array.ptr[0].via.i64;
    c->recs[i].id = o.via.array.ptr[1].via.str.ptr;
    c->recs[i].idlen = o.via.array.ptr[1].via.str.size;
    c->recs[i].fields = &o.via.array.ptr[2];
  }
  qsort(c->recs, c->n, sizeof *c->recs, rec_cmp);
  return 0;
}

/* The fields of the current record of type with id, or NULL. */
static const msgpack_object *current_of(const struct cairn__roster_current *c, int type,
                                        const char *id) {
  size_t lo = 0, hi = c->n, len = strlen(id);
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = rec_cmp3(type, id, len, c->recs[mid].type, c->recs[mid].id, c->recs[mid].idlen);
    if (cmp == 0)
      return c->recs[mid].fields;
    if (cmp < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

/* 1 when field name of fields is the string s ("" and absent are alike). */
static int same_str(const msgpack_object *fields, const char *name, const char *s) {
  const char *v;
  size_t len;
  if (!obj_str(cairn_record_map_get(fields, name), &v, &len))
    v = "", len = 0;
  return len == strlen(s) && memcmp(v, s, len) == 0;
}

static int is_true(const msgpack_object *fields, const char *name) {
  const msgpack_object *v = cairn_record_map_get(fields, name);
  return v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

/* ---- one put ---------------------------------------------------------------------- */

#define SET_MAX 8

/* The set map of a put being built: strings, booleans, one list. */
typedef struct set_map {
  const char *key[SET_MAX];
  const char *str[SET_MAX];     /* NULL: a boolean */
  int boolean[SET_MAX];
  const char *const *list[SET_MAX]; /* non-NULL: a list of nlist[i] strings */
  size_t nlist[SET_MAX];
  size_t n;
} set_map;

static void set_str(set_map *m, const char *key, const char *s) {
  m->key[m->n] = key;
  m->str[m->n] = s;
  m->list[m->n++] = NULL;
}

/* Sets key to v when it differs from the current record's (cur; NULL: a
 * new record, which gets v unless it is empty). */
static void set_changed(set_map *m, const msgpack_object *cur, const char *key, const char *v) {
  if (cur == NULL ? v[0] != '\0' : !same_str(cur, key, v))
    set_str(m, key, v);
}

static void set_bool(set_map *m, const char *key, int b) {
  m->key[m->n] = key;
  m->str[m->n] = NULL;
  m->boolean[m->n] = b;
  m->list[m->n++] = NULL;
}

static void set_list(set_map *m, const char *key, const char *const *items, size_t n) {
  static const char *const none[1] = {NULL};
  m->key[m->n] = key;
  m->list[m->n] = n > 0 ? items : none;
  m->nlist[m->n++] = n;
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Appends the put {type, id, [edit], set} to the plan. Nothing when the
 * set of an edit is empty. */
static int add_put(cairn_roster_plan *p, int type, const char *id, int edit, const set_map *m,
                   cairn_roster_change change) {
  msgpack_packer pk;
  if (edit && m->n == 0)
    return 0;
  cairn_roster_put_info *info = realloc(p->info, (p->n_puts + 1) * sizeof *info);
  if (info == NULL)
    return CAIRN_ENOMEM;
  p->info = info;
  msgpack_packer_init(&pk, &p->puts, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3 + (edit != 0));
  pack_cstr(&pk, "type");
  pack_cstr(&pk, cairn_record_type_name(type));
  pack_cstr(&pk, "id");
  pack_cstr(&pk, id);
  if (edit) {
    pack_cstr(&pk, "edit");
    msgpack_pack_true(&pk);
  }
  pack_cstr(&pk, "set");
  msgpack_pack_map(&pk, (uint32_t)m->n);
  for (size_t i = 0; i < m->n; i++) {
    pack_cstr(&pk, m->key[i]);
    if (m->list[i] != NULL) {
      msgpack_pack_array(&pk, (uint32_t)m->nlist[i]);
      for (size_t k = 0; k < m->nlist[i]; k++)
        pack_cstr(&pk, m->list[i][k]);
    } else if (m->str[i] != NULL) {
      pack_cstr(&pk, m->str[i]);
    } else if (m->boolean[i]) {
      msgpack_pack_true(&pk);
    } else {
      msgpack_pack_false(&pk);
    }
  }
  info[p->n_puts].type = type;
  info[p->n_puts].id = id;
  info[p->n_puts].change = change;
  p->n_puts++;
  p->count[change]++;
  return 0;
}

/* ---- refusals ------------------------------------------------------------------ */

static int fail(cairn_roster_error *err, int code, const cairn_roster_where *at, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
static int fail(cairn_roster_error *err, int code, const cairn_roster_where *at, const char *fmt,
                ...) {
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  err->code = code;
  err->file = at->file;
  err->line = at->line;
  snprintf(err->message, sizeof err->message, "%s:%u: %s", cairn_roster_file_name(at->file),
           (unsigned)at->line, what);
  return code;
}

/* The sourcedId of row must be a cairn id. */
static int check_id(const cairn_roster_row *row, cairn_roster_error *err) {
  char shown[CAIRN_TEXT_SHOWN_MAX];
  if (cairn_text_id_valid(row->id, strlen(row->id)))
    return 0;
  cairn_text_shown(shown, row->id, strlen(row->id));
  return fail(err, CAIRN_EINVAL, &row->at,
              "sourcedId '%s' cannot be a cairn id (" CAIRN_TEXT_ID_RULE ")", shown);
}

/* Value v of column must fit the record field of at most max bytes. */
static int check_len(const cairn_roster_row *row, const char *column, const char *v, size_t max,
                     cairn_roster_error *err) {
  if (strlen(v) <= max)
    return 0;
  return fail(err, CAIRN_EINVAL, &row->at, "%s: %zu bytes, but cairn keeps at most %zu", column,
              strlen(v), max);
}

/* ---- campuses and classrooms --------------------------------------------------- */

/* A place (campus or classroom) a delta export removes: marked deleted,
 * when cairn holds it. */
static int plan_deleted(cairn_roster_plan *p, int type, const char *id,
                        const msgpack_object *cur) {
  set_map m = {0};
  if (cur == NULL || is_true(cur, "deleted"))
    return 0;
  set_bool(&m, "deleted", 1);
  return add_put(p, type, id, 1, &m, CAIRN_ROSTER_UPDATED);
}

static int plan_campus(cairn_roster_plan *p, const cairn_roster_org *o, cairn_roster_error *err) {
  const msgpack_object *cur = current_of(p->current, CAIRN_REC_CAMPUS, o->row.id);
  set_map m = {0};
  int rc;
  if ((rc = check_id(&o->row, err)) != 0)
    return rc;
  if (o->row.status == CAIRN_ROSTER_TOBEDELETED)
    return plan_deleted(p, CAIRN_REC_CAMPUS, o->row.id, cur);
  if ((rc = check_len(&o->row, "name", o->name, 200, err)) != 0 ||
      (rc = check_len(&o->row, "identifier", o->identifier, 64, err)) != 0)
    return rc;
  set_changed(&m, cur, "name", o->name);
  set_changed(&m, cur, "code", o->identifier);
  if (cur != NULL && is_true(cur, "deleted"))
    set_bool(&m, "deleted", 0);
  return add_put(p, CAIRN_REC_CAMPUS, o->row.id, cur != NULL, &m,
                 cur == NULL ? CAIRN_ROSTER_ADDED : CAIRN_ROSTER_UPDATED);
}

static int plan_classroom(cairn_roster_plan *p, const cairn_roster_class *c,
                          cairn_roster_error *err) {
  const msgpack_object *cur = current_of(p->current, CAIRN_REC_CLASSROOM, c->row.id);
  set_map m = {0};
  int rc;
  if ((rc = check_id(&c->row, err)) != 0)
    return rc;
  if (c->row.status == CAIRN_ROSTER_TOBEDELETED)
    return plan_deleted(p, CAIRN_REC_CLASSROOM, c->row.id, cur);
  if ((rc = check_len(&c->row, "title", c->title, 200, err)) != 0 ||
      (rc = check_len(&c->row, "classCode", c->code, 64, err)) != 0 ||
      (rc = check_len(&c->row, "location", c->location, 200, err)) != 0)
    return rc;
  if (!cairn_text_id_valid(c->school_id, strlen(c->school_id)))
    return fail(err, CAIRN_EINVAL, &c->row.at,
                "schoolSourcedId: cannot be a cairn id (" CAIRN_TEXT_ID_RULE ")");
  set_changed(&m, cur, "name", c->title);
  set_changed(&m, cur, "campus", c->school_id);
  set_changed(&m, cur, "code", c->code);
  set_changed(&m, cur, "location", c->location);
  if (cur != NULL && is_true(cur, "deleted"))
    set_bool(&m, "deleted", 0);
  return add_put(p, CAIRN_REC_CLASSROOM, c->row.id, cur != NULL, &m,
                 cur == NULL ? CAIRN_ROSTER_ADDED : CAIRN_ROSTER_UPDATED);
}

/* ---- students --------------------------------------------------------------------- */

/* A list of classroom ids (borrowed strings), at most classrooms_max(). */
typedef struct rooms {
  const char *id[64];
  size_t n;
} rooms;

static int rooms_has(const rooms *r, const char *id) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->id[i], id) == 0)
      return 1;
  return 0;
}

static void rooms_drop(rooms *r, const char *id) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->id[i], id) == 0) {
      memmove(&r->id[i], &r->id[i + 1], (r->n - i - 1) * sizeof r->id[0]);
      r->n--;
      return;
    }
}

/* 1 when the two lists hold the same ids, in any order. */
static int rooms_same(const rooms *a, const rooms *b) {
  if (a->n != b->n)
    return 0;
  for (size_t i = 0; i < a->n; i++)
    if (!rooms_has(b, a->id[i]))
      return 0;
  return 1;
}

/* The classrooms of the current student (NUL-terminated copies in buf). */
static void rooms_current(const msgpack_object *cur, rooms *r, char buf[64][65]) {
  const msgpack_object *v = cur != NULL ? cairn_record_map_get(cur, "classrooms") : NULL;
  r->n = 0;
  for (uint32_t i = 0; v != NULL && v->type == MSGPACK_OBJECT_ARRAY && i < v->via.array.size &&
                       r->n < 64;
       i++) {
    const msgpack_object *o = &v->via.array.ptr[i];
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > 64)
      continue;
    memcpy(buf[r->n], o->via.str.ptr, o->via.str.size);
    buf[r->n][o->via.str.size] = '\0';
    r->id[r->n] = buf[r->n];
    r->n++;
  }
}

/* A student as the export tells of them: their users.csv row (u, NULL
 * when a delta export's users.csv does not hold them) and their
 * enrollments (indices in r->enrollments). */
typedef struct student_in {
  const char *id;
  const cairn_roster_user *u;
  size_t ui;
  const size_t *enr;
  size_t n_enr;
  const cairn_roster_row *row; /* where a refusal points */
} student_in;

static int as_student(const cairn_roster_enrollment *e) {
  return e->row.status == CAIRN_ROSTER_ACTIVE && e->role == CAIRN_ROSTER_ROLE_STUDENT;
}

/* The student's campus: the school of their first class on day; else
 * their primary org, when it is a school; else "" (keep what cairn has). */
static const char *student_campus(const cairn_roster *r, const student_in *st, const rooms *now) {
  for (size_t k = 0; k < st->n_enr; k++) {
    const cairn_roster_enrollment *e = &r->enrollments[st->enr[k]];
    if (as_student(e) && rooms_has(now, e->class_id))
      return e->school_id;
  }
  if (st->u != NULL && st->u->primary_org != CAIRN_ROSTER_NONE &&
      r->orgs[st->u->primary_org].type == CAIRN_ROSTER_ORG_SCHOOL)
    return st->u->primary_org_id;
  return "";
}


/* The student's name: preferred (or given) name, then family name, in a
 * new string (caller frees), or NULL when out of memory. */
static char *student_name(const cairn_roster_user *u) {
  const char *given = u->preferred_given_name[0] ? u->preferred_given_name : u->given_name;
  size_t len = strlen(given) + 1 + strlen(u->family_name);
  char *name = malloc(len + 1);
  if (name != NULL)
    snprintf(name, len + 1, "%s %s", given, u->family_name);
  return name;
}

static int plan_student(cairn_roster_plan *p, const cairn_roster *r, const student_in *st,
                        int32_t day, cairn_roster_error *err) {
  const cairn_roster_user *u = st->u;
  const msgpack_object *cur = current_of(p->current, CAIRN_REC_STUDENT, st->id);
  set_map m = {0};
  char today[11], on[11], cur_buf[64][65];
  rooms before = {0}, after = {0};
  size_t max = classrooms_max();
  int rc, withdrawn, moved = 0;
  int32_t last = CAIRN_ROSTER_NO_DATE;
  char *name = NULL;
  const char *grade = "";
  cairn_roster_change change;

  cairn_text_date_format(day, today);
  /* a student erased on the central is never written again: their id is
   * not used again (docs/FORMAT.md section 3.4) */
  if (current_of(p->current, CAIRN_REC_ERASURE, st->id) != NULL)
    return 0;
  if (u != NULL && u->row.status == CAIRN_ROSTER_TOBEDELETED) {
    /* the district removed the student: they have left */
    if (cur == NULL || is_true(cur, "withdrawn"))
      return 0;
    set_bool(&m, "withdrawn", 1);
    set_str(&m, "withdrawn_on", today);
    return add_put(p, CAIRN_REC_STUDENT, st->id, 1, &m, CAIRN_ROSTER_WITHDRAWN);
  }
  /* a student of the roster, or one cairn has that a delta names */
  if (cur == NULL && (u == NULL || !cairn_roster_is_student(r, st->ui)))
    return 0;
  if ((rc = check_id(st->row, err)) != 0)
    return rc;
  if (u != NULL) {
    if ((name = student_name(u)) == NULL)
      return CAIRN_ENOMEM;
    grade = u->grades.n > 0 ? u->grades.items[0] : "";
    if ((rc = check_len(&u->row, "givenName and familyName", name, 200, err)) != 0 ||
        (rc = check_len(&u->row, "grades", grade, 20, err)) != 0)
      goto out;
  }

  /* classrooms: in a bulk export the classes they are in on day; in a
   * delta one, the current ones changed by the enrollments present */
  rooms_current(cur, &before, cur_buf);
  if (r->mode[CAIRN_ROSTER_ENROLLMENTS] != CAIRN_ROSTER_BULK)
    after = before;
  for (size_t k = 0; k < st->n_enr; k++) {
    const cairn_roster_enrollment *e = &r->enrollments[st->enr[k]];
    if (e->role == CAIRN_ROSTER_ROLE_STUDENT && !cairn_roster_enrollment_on(e, day))
      rooms_drop(&after, e->class_id);
  }
  for (size_t k = 0; k < st->n_enr; k++) {
    const cairn_roster_enrollment *e = &r->enrollments[st->enr[k]];
    if (e->role != CAIRN_ROSTER_ROLE_STUDENT || !cairn_roster_enrollment_on(e, day) ||
        rooms_has(&after, e->class_id))
      continue;
    if (after.n == max) {
      rc = fail(err, CAIRN_EINVAL, &e->row.at,
                "the student is in more than %zu classes on %s, but cairn keeps at most %zu",
                max, today, max);
      goto out;
    }
    if (!cairn_text_id_valid(e->class_id, strlen(e->class_id))) {
      rc = fail(err, CAIRN_EINVAL, &e->row.at,
                "classSourcedId: cannot be a cairn id (" CAIRN_TEXT_ID_RULE ")");
      goto out;
    }
    after.id[after.n++] = e->class_id;
  }
  withdrawn = after.n == 0 && cairn_roster_enrollments_ended(r, st->enr, st->n_enr, day, &last);
  const char *campus = student_campus(r, st, &after);
  if (check_len(st->row, "schoolSourcedId", campus, 64, err) != 0) {
    rc = err->code;
    goto out;
  }

  if (cur != NULL && is_true(cur, "withdrawn") && withdrawn) {
    rc = 0; /* withdrawn, and still: read-only, nothing to write */
    goto out;
  }
  if (u != NULL) {
    set_changed(&m, cur, "name", name);
    set_changed(&m, cur, "grade", grade);
  }
  if (campus[0] != '\0' && (cur == NULL || !same_str(cur, "campus", campus)))
    set_str(&m, "campus", campus);
  if (cur != NULL && is_true(cur, "deleted"))
    set_bool(&m, "deleted", 0);
  if (withdrawn) {
    /* their classrooms stay, so each learns they left */
    cairn_text_date_format(last, on);
    set_bool(&m, "withdrawn", 1);
    set_str(&m, "withdrawn_on", on);
    change = cur == NULL ? CAIRN_ROSTER_ADDED : CAIRN_ROSTER_WITHDRAWN;
  } else {
    if (cur != NULL && is_true(cur, "withdrawn"))
      set_bool(&m, "withdrawn", 0);
    if ((cur == NULL && after.n > 0) || (cur != NULL && !rooms_same(&before, &after))) {
      set_list(&m, "classrooms", after.id, after.n);
      moved = cur != NULL;
    }
    change = cur == NULL ? CAIRN_ROSTER_ADDED : moved ? CAIRN_ROSTER_MOVED : CAIRN_ROSTER_UPDATED;
  }
  rc = add_put(p, CAIRN_REC_STUDENT, st->id, cur != NULL, &m, change);
out:
  free(name); /* the put holds its own copy */
  return rc;
}

/* An enrollment by its userSourcedId, to group a user's. */
typedef struct by_user {
  const char *user_id;
  size_t i;
} by_user;

static int by_user_cmp(const void *a, const void *b) {
  const by_user *x = a, *y = b;
  int c = strcmp(x->user_id, y->user_id);
  return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* The students of a delta export's enrollments whose users.csv row is not
 * in it: cairn may hold them from an earlier export. */
static int plan_absent_users(cairn_roster_plan *p, const cairn_roster *r, int32_t day,
                             cairn_roster_error *err) {
  size_t n = 0, cap = r->n_enrollments ? r->n_enrollments : 1;
  by_user *g = malloc(cap * sizeof *g);
  size_t *idx = malloc(cap * sizeof *idx);
  int rc = 0;
  if (g == NULL || idx == NULL) {
    free(g);
    free(idx);
    return CAIRN_ENOMEM;
  }
  for (size_t i = 0; i < r->n_enrollments; i++)
    if (r->enrollments[i].user == CAIRN_ROSTER_NONE &&
        r->enrollments[i].role == CAIRN_ROSTER_ROLE_STUDENT && r->enrollments[i].user_id[0])
      g[n++] = (by_user){r->enrollments[i].user_id, i};
  qsort(g, n, sizeof *g, by_user_cmp);
  for (size_t i = 0; i < n; i++)
    idx[i] = g[i].i;
  for (size_t i = 0; rc == 0 && i < n;) {
    size_t j = i + 1;
    const cairn_roster_enrollment *e = &r->enrollments[idx[i]];
    while (j < n && strcmp(g[j].user_id, g[i].user_id) == 0)
      j++;
    student_in st = {.id = e->user_id, .enr = idx + i, .n_enr = j - i, .row = &e->row};
    if (current_of(p->current, CAIRN_REC_STUDENT, e->user_id) != NULL)
      rc = plan_student(p, r, &st, day, err);
    i = j;
  }
  free(g);
  free(idx);
  return rc;
}

int cairn_roster_plan_build(cairn_roster_plan *p, const cairn_roster *r, int32_t day,
                            cairn_roster_error *err) {
  int rc = current_index(p->current);
  for (size_t i = 0; rc == 0 && i < r->n_orgs; i++) {
    /* a tobedeleted row may leave its type blank: a campus cairn holds */
    const cairn_roster_org *o = &r->orgs[i];
    if (o->type == CAIRN_ROSTER_ORG_SCHOOL ||
        (o->row.status == CAIRN_ROSTER_TOBEDELETED &&
         current_of(p->current, CAIRN_REC_CAMPUS, o->row.id) != NULL))
      rc = plan_campus(p, o, err);
  }
  for (size_t i = 0; rc == 0 && i < r->n_classes; i++)
    rc = plan_classroom(p, &r->classes[i], err);
  for (size_t i = 0; rc == 0 && i < r->n_users; i++) {
    const cairn_roster_user *u = &r->users[i];
    student_in st = {.id = u->row.id, .u = u, .ui = i, .enr = u->enrollments,
                     .n_enr = u->n_enrollments, .row = &u->row};
    rc = plan_student(p, r, &st, day, err);
  }
  if (rc == 0)
    rc = plan_absent_users(p, r, day, err);
  if (rc == CAIRN_ENOMEM) {
    err->code = rc;
    err->file = CAIRN_ROSTER_FILES;
    err->line = 0;
    snprintf(err->message, sizeof err->message, "out of memory");
  }
  if (rc != 0) {
    p->puts.size = 0;
    p->n_puts = 0;
    memset(p->count, 0, sizeof p->count);
  }
  return rc;
}
