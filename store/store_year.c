/*
 * store_year.c: the write checks of a school year (docs/FORMAT.md section
 * 3.2): a student's sets (classrooms, accommodations) written as
 * operations, moves, withdrawal; a milestone's ordinal levels, its close
 * with a result, and a milestone carried forward from another. store.c's
 * put checks call these in the writer's transaction; the scope an entry
 * carries (FORMAT.md section 2) is built here.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "store.h"
#include "store_int.h"
#include "text.h"

/* ---- small helpers ------------------------------------------------------- */

static int obj_is(const msgpack_object *o, const char *s) {
  const char *v;
  size_t len;
  return cairn__store_obj_str(o, &v, &len) && len == strlen(s) && memcmp(v, s, len) == 0;
}

static int str_same(const msgpack_object *a, const msgpack_object *b) {
  return a->type == MSGPACK_OBJECT_STR && b->type == MSGPACK_OBJECT_STR &&
         a->via.str.size == b->via.str.size &&
         memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
}

/* 1 when the array list holds the string item. */
static int list_has(const msgpack_object *list, const msgpack_object *item) {
  for (uint32_t i = 0; list != NULL && i < list->via.array.size; i++)
    if (str_same(&list->via.array.ptr[i], item))
      return 1;
  return 0;
}

/* A string object (in z) holding a copy of s[0..len). NULL: out of memory. */
static msgpack_object *zone_str(msgpack_zone *z, const char *s, size_t len) {
  msgpack_object *o = msgpack_zone_malloc(z, sizeof *o);
  char *copy = msgpack_zone_malloc(z, len ? len : 1);
  if (o == NULL || copy == NULL)
    return NULL;
  memcpy(copy, s, len);
  o->type = MSGPACK_OBJECT_STR;
  o->via.str.ptr = copy;
  o->via.str.size = (uint32_t)len;
  return o;
}

/* An array object (in z) of n items, uninitialised. */
static msgpack_object *zone_array(msgpack_zone *z, uint32_t n) {
  msgpack_object *o = msgpack_zone_malloc(z, sizeof *o * (1 + (n ? n : 1)));
  if (o != NULL) {
    o->type = MSGPACK_OBJECT_ARRAY;
    o->via.array.size = n;
    o->via.array.ptr = o + 1;
  }
  return o;
}

int cairn__store_set_put(msgpack_zone *z, msgpack_object *map, const char *key,
                         const msgpack_object *v) {
  uint32_t n = map->via.map.size, k = 0;
  size_t klen = strlen(key);
  msgpack_object_kv *kv = msgpack_zone_malloc(z, (n + 1) * sizeof *kv);
  int found = 0;
  if (kv == NULL)
    return CAIRN_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object_kv *old = &map->via.map.ptr[i];
    int is_key = old->key.type == MSGPACK_OBJECT_STR && old->key.via.str.size == klen &&
                 memcmp(old->key.via.str.ptr, key, klen) == 0;
    if (is_key) {
      found = 1;
      if (v == NULL)
        continue;
      kv[k] = *old;
      kv[k++].val = *v;
    } else {
      kv[k++] = *old;
    }
  }
  if (!found && v != NULL) {
    kv[k].key.type = MSGPACK_OBJECT_STR;
    kv[k].key.via.str.ptr = key;
    kv[k].key.via.str.size = (uint32_t)klen;
    kv[k++].val = *v;
  }
  map->via.map.ptr = kv;
  map->via.map.size = k;
  return 0;
}

static int refuse(char *msg, size_t msglen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *msg, size_t msglen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
  return code;
}

/* "a; b; c" from a list of strings, shortened to fit out. */
static void list_text(const msgpack_object *list, char *out, size_t outlen) {
  size_t used = 0;
  out[0] = '\0';
  for (uint32_t i = 0; list != NULL && i < list->via.array.size && used + 1 < outlen; i++) {
    const msgpack_object *o = &list->via.array.ptr[i];
    int n = snprintf(out + used, outlen - used, "%s%.*s", i ? "; " : "", (int)o->via.str.size,
                     o->via.str.ptr);
    used += n > 0 ? (size_t)n : 0;
  }
  if (list == NULL || list->via.array.size == 0)
    snprintf(out, outlen, "none");
}

/* ---- where an entry is: its scope ------------------------------------------ */

/* Adds the classrooms of list to w, each once. */
static void where_add(cairn__store_where *w, const msgpack_object *list) {
  for (uint32_t i = 0; list != NULL && i < list->via.array.size; i++) {
    char room[65];
    size_t k;
    cairn__store_copy_str(&list->via.array.ptr[i], room);
    if (room[0] == '\0')
      continue;
    for (k = 0; k < w->nrooms && strcmp(w->rooms[k], room) != 0; k++)
      ;
    if (k == w->nrooms && w->nrooms < CAIRN__STORE_SCOPE_ROOMS)
      memcpy(w->rooms[w->nrooms++], room, sizeof room);
  }
}

int cairn__store_where_of(const cairn__store_rec *student, msgpack_zone *z,
                          cairn__store_where *w) {
  const msgpack_object *rooms;
  memset(w, 0, sizeof *w);
  cairn__store_copy_str(cairn__store_rec_value(student, "campus", NULL), w->campus);
  int rc = cairn__store_rec_members(student, CAIRN_REC_STUDENT, "classrooms", NULL, z, &rooms);
  if (rc == 0)
    where_add(w, rooms);
  return rc;
}

void cairn__store_where_set(cairn__store_where *w, const char *campus, const char *classroom) {
  memset(w, 0, sizeof *w);
  snprintf(w->campus, sizeof w->campus, "%s", campus);
  if (classroom[0] != '\0') {
    snprintf(w->rooms[0], sizeof w->rooms[0], "%s", classroom);
    w->nrooms = 1;
  }
}

/* The scope array of w in items (room for 1 + CAIRN__STORE_SCOPE_ROOMS),
 * as the object arr. */
void cairn__store_where_object(const cairn__store_where *w, msgpack_object *items,
                               msgpack_object *arr) {
  static const char none[] = "";
  size_t n = w->nrooms > 0 ? w->nrooms : 1;
  items[0].type = MSGPACK_OBJECT_STR;
  items[0].via.str.ptr = w->campus;
  items[0].via.str.size = (uint32_t)strlen(w->campus);
  for (size_t i = 0; i < n; i++) {
    const char *room = w->nrooms > 0 ? w->rooms[i] : none;
    items[1 + i].type = MSGPACK_OBJECT_STR;
    items[1 + i].via.str.ptr = room;
    items[1 + i].via.str.size = (uint32_t)strlen(room);
  }
  arr->type = MSGPACK_OBJECT_ARRAY;
  arr->via.array.size = (uint32_t)(1 + n);
  arr->via.array.ptr = items;
}

int cairn__store_where_within(const cairn_scope *within, int kind, const cairn__store_where *w) {
  msgpack_object items[1 + CAIRN__STORE_SCOPE_ROOMS], arr;
  cairn__store_where_object(w, items, &arr);
  return cairn__store_in_scope(within, kind, &arr);
}

/* ---- students ---------------------------------------------------------------- */

int cairn__store_student_readonly(const cairn__store_rec *student, const char *sid,
                                  size_t sidlen, char *msg, size_t msglen) {
  char on[65];
  if (!cairn__store_obj_true(cairn__store_rec_value(student, "withdrawn", NULL)))
    return 0;
  cairn__store_copy_str(cairn__store_rec_value(student, "withdrawn_on", NULL), on);
  return refuse(msg, msglen, CAIRN_EPERM,
                "student %.*s was withdrawn%s%s: their records are read-only until they are "
                "re-enrolled",
                (int)sidlen, sid, on[0] ? " on " : "", on);
}

/* A set field f of the student put: made operations against the student's
 * current set (before): a whole array becomes {add: every item, remove:
 * every member it leaves out}; a removal must name a member; no item is
 * empty; the set after it holds at most f->max_items. The normalized
 * value replaces the field in set; *after gets the set after the put. */
static int student_set_field(msgpack_zone *z, const cairn__store_rec *r,
                             const cairn_field_def *f, msgpack_object *set,
                             const msgpack_object **after, char *msg, size_t msglen) {
  static const cairn__store_rec empty = {0};
  const msgpack_object *v = cairn_record_map_get(set, f->name), *add, *remove, *before;
  int whole, rc;
  char have[300];
  *after = NULL;
  if (v == NULL)
    return 0;
  if (cairn_record_set_ops(v, &add, &remove, &whole) != 0)
    return refuse(msg, msglen, CAIRN_EINVAL, "%s: must be a list or {add, remove}", f->name);
  if ((rc = cairn__store_rec_members(r ? r : &empty, CAIRN_REC_STUDENT, f->name, NULL, z,
                                     &before)) != 0)
    return rc;
  for (int l = 0; l < 2; l++) {
    const msgpack_object *list = l ? remove : add;
    for (uint32_t i = 0; list != NULL && i < list->via.array.size; i++) {
      const msgpack_object *o = &list->via.array.ptr[i];
      size_t k = 0;
      while (k < o->via.str.size && isspace((unsigned char)o->via.str.ptr[k]))
        k++;
      if (k == o->via.str.size)
        return refuse(msg, msglen, CAIRN_EINVAL, "%s item %u: empty", f->name, i + 1);
      if (l == 1 && !list_has(before, o)) {
        list_text(before, have, sizeof have);
        return refuse(msg, msglen, CAIRN_EINVAL,
                      "%s: '%.*s' is not one of the student's (%s)", f->name,
                      (int)(o->via.str.size > 80 ? 80 : o->via.str.size), o->via.str.ptr, have);
      }
    }
  }
  if (whole) {
    uint32_t ndrop = 0;
    for (uint32_t i = 0; i < before->via.array.size; i++)
      ndrop += !list_has(add, &before->via.array.ptr[i]);
    msgpack_object *drop = zone_array(z, ndrop);
    msgpack_object *ops = msgpack_zone_malloc(z, sizeof *ops);
    msgpack_object_kv *kv = msgpack_zone_malloc(z, 2 * sizeof *kv);
    if (drop == NULL || ops == NULL || kv == NULL)
      return CAIRN_ENOMEM;
    drop->via.array.size = 0;
    for (uint32_t i = 0; i < before->via.array.size; i++)
      if (!list_has(add, &before->via.array.ptr[i]))
        drop->via.array.ptr[drop->via.array.size++] = before->via.array.ptr[i];
    kv[0].key.type = kv[1].key.type = MSGPACK_OBJECT_STR;
    kv[0].key.via.str.ptr = "add";
    kv[0].key.via.str.size = 3;
    kv[0].val = *add;
    kv[1].key.via.str.ptr = "remove";
    kv[1].key.via.str.size = 6;
    kv[1].val = *drop;
    ops->type = MSGPACK_OBJECT_MAP;
    ops->via.map.ptr = kv;
    ops->via.map.size = ndrop > 0 ? 2 : 1;
    if ((rc = cairn__store_set_put(z, set, f->name, ops)) != 0)
      return rc;
    v = ops;
  }
  if ((rc = cairn__store_rec_members(r ? r : &empty, CAIRN_REC_STUDENT, f->name, v, z, after)) !=
      0)
    return rc;
  if ((*after)->via.array.size > f->max_items)
    return refuse(msg, msglen, CAIRN_ETOOBIG, "%s: a student has at most %u", f->name,
                  (unsigned)f->max_items);
  return 0;
}

int cairn__store_student_put(msgpack_zone *z, const cairn__store_rec *r, const char *id,
                             msgpack_object *set, cairn__store_where *w, char *msg,
                             size_t msglen) {
  const msgpack_object *legacy = cairn_record_map_get(set, "classroom"), *wd;
  const msgpack_object *rooms_after = NULL, *rooms_before = NULL, *after;
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(CAIRN_REC_STUDENT, &nf);
  int rc;

  /* A withdrawn student is read-only, but for re-enrolling them. */
  wd = cairn_record_map_get(set, "withdrawn");
  if (r != NULL && !(wd != NULL && wd->type == MSGPACK_OBJECT_BOOLEAN && !wd->via.boolean) &&
      (rc = cairn__store_student_readonly(r, id, strlen(id), msg, msglen)) != 0)
    return rc;
  /* The one classroom of the field from before: the classrooms exactly. */
  if (legacy != NULL) {
    msgpack_object *one = zone_array(z, legacy->via.str.size > 0);
    if (cairn_record_map_get(set, "classrooms") != NULL)
      return refuse(msg, msglen, CAIRN_EINVAL, "classroom: give classrooms alone");
    if (one == NULL)
      return CAIRN_ENOMEM;
    if (legacy->via.str.size > 0)
      one->via.array.ptr[0] = *legacy;
    if ((rc = cairn__store_set_put(z, set, "classrooms", one)) != 0 ||
        (rc = cairn__store_set_put(z, set, "classroom", NULL)) != 0)
      return rc;
  }
  for (size_t i = 0; i < nf; i++) {
    if (fd[i].type != CAIRN_FT_SET)
      continue;
    if ((rc = student_set_field(z, r, &fd[i], set, &after, msg, msglen)) != 0)
      return rc;
    if (strcmp(fd[i].name, "classrooms") == 0)
      rooms_after = after;
  }
  /* Its entry is in the classrooms it leaves and those it joins, so that a
   * classroom it leaves learns it (PROTOCOL.md section 2); a move to
   * another campus is in the new campus only. */
  memset(w, 0, sizeof *w);
  const msgpack_object *campus = cairn_record_map_get(set, "campus");
  const msgpack_object *was = r != NULL ? cairn__store_rec_value(r, "campus", NULL) : NULL;
  cairn__store_copy_str(campus != NULL ? campus : was, w->campus);
  if (r != NULL && (rc = cairn__store_rec_members(r, CAIRN_REC_STUDENT, "classrooms", NULL, z,
                                                  &rooms_before)) != 0)
    return rc;
  where_add(w, rooms_after != NULL ? rooms_after : rooms_before);
  if (campus == NULL || (was != NULL && str_same(campus, was)))
    where_add(w, rooms_before);
  return 0;
}

/* ---- milestones ---------------------------------------------------------------- */

int cairn__store_check_sibling(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                               const char *field, const msgpack_object *mid, const char *self,
                               const char *itself, const char *sid, size_t sidlen, char *msg,
                               size_t msglen) {
  const char *v, *psid;
  size_t len, psidlen;
  cairn__store_rec m = {0};
  int rc;
  if (!cairn__store_obj_str(mid, &v, &len))
    return 0;
  if (self != NULL && strlen(self) == len && memcmp(self, v, len) == 0)
    return refuse(msg, msglen, CAIRN_EINVAL, "%s: %s", field, itself);
  rc = cairn__store_rec_load(txn, records, CAIRN_REC_MILESTONE, v, len, z, &m);
  if (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&m, "deleted", NULL)))
    rc = CAIRN_ENOTFOUND;
  if (rc == 0 &&
      (!cairn__store_obj_str(cairn__store_rec_value(&m, "student", NULL), &psid, &psidlen) ||
       psidlen != sidlen || memcmp(psid, sid, sidlen) != 0))
    rc = refuse(msg, msglen, CAIRN_EINVAL,
                "%s %.*s: a milestone of student %.*s, not of %.*s; it must be one of the "
                "same student's",
                field, (int)len, v, (int)psidlen, psid, (int)sidlen, sid);
  else if (rc == CAIRN_ENOTFOUND)
    refuse(msg, msglen, rc, "%s %.*s: no such milestone", field, (int)len, v);
  else if (rc != 0)
    refuse(msg, msglen, rc, "%s %.*s: %s", field, (int)len, v, cairn_strerror(rc));
  cairn__store_rec_free(&m);
  return rc;
}

/* A levels scale has 2 to CAIRN_SCALE_LABELS_MAX levels, none empty, no
 * two alike (letter case aside); only it has levels; a milestone keeps the
 * number of its levels (its evidence is kept by rank). */
static int check_levels(const msgpack_object *set, const cairn__store_rec *r, char *msg,
                        size_t msglen) {
  const msgpack_object *given = cairn_record_map_get(set, "levels");
  const msgpack_object *levels = cairn__store_field_of(set, r, "levels");
  const msgpack_object *old = r != NULL ? cairn__store_rec_value(r, "levels", NULL) : NULL;
  if (!obj_is(cairn__store_field_of(set, r, "scale"), "levels")) {
    if (given != NULL)
      return refuse(msg, msglen, CAIRN_EINVAL,
                    "levels: only a milestone on the scale levels has levels");
    return 0;
  }
  if (levels == NULL || levels->type != MSGPACK_OBJECT_ARRAY || levels->via.array.size < 2 ||
      levels->via.array.size > CAIRN_SCALE_LABELS_MAX)
    return refuse(msg, msglen, CAIRN_EINVAL,
                  "levels: the scale levels needs 2 to %d levels, lowest first",
                  CAIRN_SCALE_LABELS_MAX);
  for (uint32_t i = 0; i < levels->via.array.size; i++) {
    const msgpack_object *a = &levels->via.array.ptr[i];
    size_t k = 0;
    while (k < a->via.str.size && isspace((unsigned char)a->via.str.ptr[k]))
      k++;
    if (k == a->via.str.size)
      return refuse(msg, msglen, CAIRN_EINVAL, "levels item %u: empty", i + 1);
    for (uint32_t j = 0; j < i; j++) {
      const msgpack_object *b = &levels->via.array.ptr[j];
      if (a->via.str.size == b->via.str.size &&
          strncasecmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0)
        return refuse(msg, msglen, CAIRN_EINVAL, "levels item %u: the same as item %u", i + 1,
                      j + 1);
    }
  }
  if (given != NULL && old != NULL && old->type == MSGPACK_OBJECT_ARRAY &&
      old->via.array.size != given->via.array.size)
    return refuse(msg, msglen, CAIRN_EINVAL,
                  "levels: the milestone has %u levels and its evidence is kept by level: "
                  "rename them, but keep %u",
                  old->via.array.size, old->via.array.size);
  return 0;
}

int cairn__store_milestone_year(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                                const msgpack_object *set, const cairn__store_rec *r,
                                const char *self, const char *sid, size_t sidlen, char *msg,
                                size_t msglen) {
  const msgpack_object *result = cairn__store_field_of(set, r, "result");
  const msgpack_object *closed = cairn__store_field_of(set, r, "closed");
  const msgpack_object *by = cairn_record_map_get(set, "replaced_by");
  int32_t day;
  int rc = check_levels(set, r, msg, msglen);
  if (rc != 0)
    return rc;
  if (result != NULL && !obj_is(result, "open")) {
    const char *v;
    size_t len;
    if (!cairn__store_obj_str(closed, &v, &len) || cairn_text_date_parse(v, len, &day) != 0)
      return refuse(msg, msglen, CAIRN_EINVAL,
                    "closed: required with a result (the day the milestone was closed)");
    if (day > cairn_text_today() + 1)
      return refuse(msg, msglen, CAIRN_EDATE,
                    "closed: %.10s is after tomorrow by this device's clock", v);
  }
  if (obj_is(result, "replaced")) {
    if (by == NULL)
      by = cairn__store_field_of(set, r, "replaced_by");
    if (by == NULL)
      return refuse(msg, msglen, CAIRN_EINVAL,
                    "replaced_by: required with result replaced (the milestone that takes its "
                    "place)");
  } else if (by != NULL) {
    return refuse(msg, msglen, CAIRN_EINVAL, "replaced_by: only with result replaced");
  }
  if (cairn_record_map_get(set, "result") != NULL || by != NULL)
    rc = cairn__store_check_sibling(txn, records, z, "replaced_by", by, self,
                                    "a milestone cannot replace itself", sid, sidlen, msg,
                                    msglen);
  if (rc == 0)
    rc = cairn__store_check_sibling(txn, records, z, "carried_from",
                                    cairn_record_map_get(set, "carried_from"), self,
                                    "a milestone cannot be carried from itself", sid, sidlen,
                                    msg, msglen);
  return rc;
}

/* ---- carry forward ---------------------------------------------------------- */

/* What a milestone carried forward copies from the old one, when the put
 * does not give it. Not the timeframe or its check dates, nor how it
 * ended. */
static const char *const carried_fields[] = {
    "student", "type",   "statement",  "horizon",      "parent",       "scale",
    "levels",  "target", "direction",  "rule",         "method",       "source",
    "if_then", "cadence", "alignment", "agreed_by",    "wrong_side_n", "trend_points",
    "developing_at", "exceed_margin"};

int cairn__store_carry_forward(cairn_store *s, MDB_txn *txn, msgpack_zone *z,
                               msgpack_object *set, char *msg, size_t msglen) {
  const msgpack_object *from = cairn_record_map_get(set, "carried_from");
  const char *mid;
  size_t midlen;
  cairn__store_rec old = {0};
  cairn__store_carry got;
  int rc;

  if (!cairn__store_obj_str(from, &mid, &midlen) || !cairn_text_id_logged(mid, midlen))
    return 0; /* cairn_record_check_set refuses it */
  rc = cairn__store_rec_load(txn, s->records, CAIRN_REC_MILESTONE, mid, midlen, z, &old);
  if (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&old, "deleted", NULL)))
    rc = CAIRN_ENOTFOUND;
  if (rc == CAIRN_ENOTFOUND)
    refuse(msg, msglen, rc, "carried_from %.*s: no such milestone", (int)midlen, mid);
  else if (rc != 0)
    refuse(msg, msglen, rc, "carried_from %.*s: %s", (int)midlen, mid, cairn_strerror(rc));
  for (size_t i = 0; rc == 0 && i < sizeof carried_fields / sizeof carried_fields[0]; i++) {
    const msgpack_object *v = cairn__store_rec_value(&old, carried_fields[i], NULL);
    if (v != NULL && cairn_record_map_get(set, carried_fields[i]) == NULL)
      rc = cairn__store_set_put(z, set, carried_fields[i], v);
  }
  if (rc == 0 && (rc = cairn__store_carried(s, txn, &old, mid, midlen, cairn_text_today(),
                                            &got)) != 0)
    refuse(msg, msglen, rc, "carried_from %.*s: %s", (int)midlen, mid, cairn_strerror(rc));
  if (rc == 0 && got.support[0] != '\0' && cairn_record_map_get(set, "support") == NULL) {
    msgpack_object *v = zone_str(z, got.support, strlen(got.support));
    rc = v != NULL ? cairn__store_set_put(z, set, "support", v) : CAIRN_ENOMEM;
  }
  if (rc == 0 && cairn_record_map_get(set, "baseline") == NULL) {
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL}, num = {.type = MSGPACK_OBJECT_FLOAT64};
    char how[200], day[11];
    num.via.f64 = got.baseline;
    rc = cairn__store_set_put(z, set, "baseline", got.points > 0 ? &num : &nil);
    if (rc == 0 && got.points > 0 && cairn_record_map_get(set, "baseline_how") == NULL) {
      int n = snprintf(how, sizeof how, "carried forward from %.*s: the mean of its last %zu "
                       "point%s", (int)midlen, mid, got.points, got.points == 1 ? "" : "s");
      msgpack_object *v = zone_str(z, how, (size_t)n);
      rc = v != NULL ? cairn__store_set_put(z, set, "baseline_how", v) : CAIRN_ENOMEM;
    }
    if (rc == 0 && got.points > 0 && cairn_record_map_get(set, "baseline_date") == NULL) {
      cairn_text_date_format(got.last_day, day);
      msgpack_object *v = zone_str(z, day, strlen(day));
      rc = v != NULL ? cairn__store_set_put(z, set, "baseline_date", v) : CAIRN_ENOMEM;
    }
    /* A goal reached already: the old target is behind the new baseline. */
    double target;
    const msgpack_object *dir = cairn_record_map_get(set, "direction");
    int down = obj_is(dir, "down"), reach = dir == NULL || obj_is(dir, "up") || down;
    if (rc == 0 && got.points > 0 && reach &&
        cairn__store_obj_num(cairn_record_map_get(set, "target"), &target) &&
        (target - got.baseline) * (down ? -1 : 1) < 0)
      rc = refuse(msg, msglen, CAIRN_EINVAL,
                  "target: %g, carried forward from %.*s, is behind the new baseline %g (the "
                  "mean of its last %zu points): give the new milestone its own target",
                  target, (int)midlen, mid, got.baseline, got.points);
  }
  cairn__store_rec_free(&old);
  return rc;
}
