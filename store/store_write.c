/*
 * store_write.c: local writes: a batch of puts checked against the record
 * rules, signed, chained and applied in one transaction; token redemption.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_int.h"
#include "mpcheck.h"
#include "text.h"

/* ---- local writes -------------------------------------------------------- */

static int refuse(cairn_put *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(cairn_put *p, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->message, sizeof p->message, fmt, ap);
  va_end(ap);
  p->result = code;
  return code;
}

/* Refuses p with code and the message msg a check wrote; returns code. */
static int refuse_with(cairn_put *p, int code, const char *msg) {
  return code == 0 ? 0 : refuse(p, code, "%s", msg);
}

static int date_of(const msgpack_object *v, int32_t *day) {
  const char *s;
  size_t len;
  return cairn__store_obj_str(v, &s, &len) ? cairn_text_date_parse(s, len, day) : CAIRN_EDATE;
}

/* Loads student sid into b->ref: it must exist, not be deleted, and not
 * be withdrawn (their records are read-only). Sets the scope of the put
 * being built: the student's campus and classrooms. */
static int student_lookup(cairn__store_batch *b, cairn_put *p, const char *sid, size_t sidlen) {
  char msg[sizeof p->message];
  int rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_STUDENT, sid, sidlen,
                                 &b->s->check_zone, &b->ref);
  if (rc == CAIRN_ENOTFOUND ||
      (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL))))
    return refuse(p, CAIRN_ENOTFOUND, "student %.*s: no such student", (int)sidlen, sid);
  if (rc != 0)
    return refuse(p, rc, "student %.*s: %s", (int)sidlen, sid, cairn_strerror(rc));
  if ((rc = cairn__store_student_readonly(&b->ref, sid, sidlen, msg, sizeof msg)) != 0)
    return refuse_with(p, rc, msg);
  if ((rc = cairn__store_where_of(&b->ref, &b->s->check_zone, &b->where)) != 0)
    return refuse(p, rc, "student %.*s: %s", (int)sidlen, sid, cairn_strerror(rc));
  return 0;
}

/* Looks up milestone mid named by field: it must exist and not be deleted.
 * Caches its scale and its student's scope; sets the put's scope. */
static int milestone_lookup(cairn__store_batch *b, cairn_put *p, const char *field, const char *mid,
                            size_t midlen) {
  if (!b->ms_valid || b->ms_idlen != midlen || memcmp(b->ms_id, mid, midlen) != 0) {
    b->ms_valid = 0;
    int rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_MILESTONE, mid, midlen,
                                   &b->s->check_zone, &b->ref);
    const char *sc, *sid;
    size_t sclen, sidlen;
    if (rc == CAIRN_ENOTFOUND ||
        (rc == 0 && (cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL)) ||
                     !cairn__store_obj_str(cairn__store_rec_value(&b->ref, "scale", NULL), &sc,
                                           &sclen) ||
                     !cairn__store_obj_str(cairn__store_rec_value(&b->ref, "student", NULL),
                                           &sid, &sidlen))))
      return refuse(p, CAIRN_ENOTFOUND, "%s %.*s: no such milestone", field, (int)midlen, mid);
    if (rc != 0)
      return refuse(p, rc, "%s %.*s: %s", field, (int)midlen, mid, cairn_strerror(rc));
    if (cairn_record_scale_parse(sc, sclen, cairn__store_rec_value(&b->ref, "levels", NULL),
                                 &b->ms_scale) != 0)
      return refuse(p, CAIRN_ECORRUPT, "%s %.*s: its scale is unreadable", field, (int)midlen,
                    mid);
    if (date_of(cairn__store_rec_value(&b->ref, "start", NULL), &b->ms_start) != 0 ||
        date_of(cairn__store_rec_value(&b->ref, "end", NULL), &b->ms_end) != 0)
      b->ms_end = b->ms_start - 1;
    if ((rc = student_lookup(b, p, sid, sidlen)) != 0)
      return rc;
    b->ms_where = b->where;
    memcpy(b->ms_id, mid, midlen);
    b->ms_idlen = midlen;
    b->ms_valid = 1;
  }
  b->where = b->ms_where;
  return 0;
}

/* Refuses p when v, given for field, is a number off the scale sc. */
static int on_scale(cairn_put *p, const char *field, const msgpack_object *v,
                    const cairn_scale *sc) {
  double d;
  if (v == NULL || v->type == MSGPACK_OBJECT_NIL || !cairn__store_obj_num(v, &d) ||
      cairn_record_scale_check(sc, d) == 0)
    return 0; /* not a number: cairn_record_check_set refused it already */
  cairn_record_scale_refusal(sc, field, d, p->message, sizeof p->message);
  p->result = CAIRN_ERANGE;
  return CAIRN_ERANGE;
}

/* A milestone's parent: an existing milestone of the same student, not
 * the milestone itself. */
static int check_parent(cairn__store_batch *b, cairn_put *p, const msgpack_object *set, const char *sid,
                        size_t sidlen) {
  char msg[sizeof p->message];
  return refuse_with(p,
                     cairn__store_check_sibling(b->ac.txn, b->s->records, &b->s->check_zone,
                                                "parent", cairn_record_map_get(set, "parent"),
                                                p->id, "a milestone cannot lead to itself", sid,
                                                sidlen, msg, sizeof msg),
                     msg);
}

/* The milestone as it will be (set over r) must be one cairn can reason
 * about (cairn_progress_params_check), and each if/then rule readable and
 * right for its scale. */
static int check_milestone_rules(cairn_put *p, const msgpack_object *set,
                                 const cairn__store_rec *r) {
  cairn_milestone_params mp;
  int32_t checks[CAIRN__STORE_CHECKS_MAX];
  char why[200];
  if (cairn__store_milestone_params(set, r, &mp, checks, why, sizeof why) != 0 ||
      cairn_progress_params_check(&mp, why, sizeof why) != 0)
    return refuse(p, CAIRN_EINVAL, "%s", why);
  const msgpack_object *rules = cairn__store_field_of(set, r, "if_then");
  for (uint32_t i = 0; rules != NULL && rules->type == MSGPACK_OBJECT_ARRAY &&
                       i < rules->via.array.size;
       i++) {
    const msgpack_object *t = &rules->via.array.ptr[i];
    char text[1001];
    cairn_ifthen rule;
    if (t->type != MSGPACK_OBJECT_STR || t->via.str.size >= sizeof text)
      return refuse(p, CAIRN_EINVAL, "if_then: rule %u is not a string", i + 1);
    memcpy(text, t->via.str.ptr, t->via.str.size);
    text[t->via.str.size] = '\0';
    if (cairn_progress_ifthen_parse(text, &rule, why, sizeof why) != 0 ||
        cairn_progress_ifthen_check(&rule, &mp, why, sizeof why) != 0)
      return refuse(p, CAIRN_EINVAL, "if_then: rule %u: %s", i + 1, why);
  }
  return 0;
}

/* The template or standard named by field of set (when the put sets it)
 * must exist and not be deleted. */
static int check_catalog_ref(cairn__store_batch *b, cairn_put *p, const msgpack_object *set, const char *field,
                             int type) {
  const char *v;
  size_t len;
  if (!cairn__store_obj_str(cairn_record_map_get(set, field), &v, &len))
    return 0;
  int rc = cairn__store_rec_load(b->ac.txn, b->s->records, type, v, len, &b->s->check_zone,
                                 &b->ref);
  if (rc == CAIRN_ENOTFOUND ||
      (rc == 0 && cairn__store_obj_true(cairn__store_rec_value(&b->ref, "deleted", NULL))))
    return refuse(p, CAIRN_ENOTFOUND, "%s %.*s: no such %s (the central publishes them)", field,
                  (int)len, v, cairn_record_type_name(type));
  return rc != 0 ? refuse(p, rc, "%s %.*s: %s", field, (int)len, v, cairn_strerror(rc)) : 0;
}

static int check_milestone(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                           const cairn__store_rec *r) {
  const char *v, *sid;
  size_t len, sidlen;
  int rc;
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "student"), &sid, &sidlen))
    return refuse(p, CAIRN_EINVAL, "student: required");
  if ((rc = student_lookup(b, p, sid, sidlen)) != 0)
    return rc;
  cairn_scale sc;
  char msg[sizeof p->message];
  if ((rc = cairn__store_milestone_year(b->ac.txn, b->s->records, &b->s->check_zone, set, r,
                                        p->id, sid, sidlen, msg, sizeof msg)) != 0)
    return refuse_with(p, rc, msg);
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "scale"), &v, &len) ||
      cairn_record_scale_parse(v, len, cairn__store_field_of(set, r, "levels"), &sc) != 0)
    return refuse(p, CAIRN_EINVAL, "scale: " CAIRN_RECORD_SCALE_RULE);
  if ((rc = on_scale(p, "baseline", cairn__store_field_of(set, r, "baseline"), &sc)) != 0 ||
      (rc = on_scale(p, "target", cairn__store_field_of(set, r, "target"), &sc)) != 0)
    return rc;
  int32_t start, end;
  if (date_of(cairn__store_field_of(set, r, "start"), &start) == 0 &&
      date_of(cairn__store_field_of(set, r, "end"), &end) == 0 && end < start)
    return refuse(p, CAIRN_EINVAL, "end: before start");
  if ((rc = check_milestone_rules(p, set, r)) != 0 ||
      (rc = check_parent(b, p, set, sid, sidlen)) != 0 ||
      (rc = check_catalog_ref(b, p, set, "template", CAIRN_REC_TEMPLATE)) != 0 ||
      (rc = check_catalog_ref(b, p, set, "standard", CAIRN_REC_STANDARD)) != 0)
    return rc;
  b->ms_valid = 0;
  return 0;
}

/* New evidence of the milestone b caches: observed no later than tomorrow
 * by this device's clock (a time zone ahead is tomorrow already), and,
 * unless the put forces it, not before the start by more than the
 * timeframe's length: 1999 or 2030 on a 2026 milestone is a typo. */
static int observed_plausible(cairn__store_batch *b, cairn_put *p, const msgpack_object *set) {
  /* "Tomorrow" by the central's clock when this node has learned that its
   * own is off by days (a dead battery, a wrong year): the date the
   * teacher's machine fills in is then refused, and says why. */
  int32_t shift = b->s->offset_known ? (int32_t)(b->s->central_offset_ms / 86400000) : 0;
  int32_t day, tomorrow = cairn_text_today() + shift + 1;
  char when[11], limit[11];
  if (date_of(cairn_record_map_get(set, "observed"), &day) != 0)
    return 0; /* cairn_record_check_set refused it already */
  cairn_text_date_format(day, when);
  if (day > tomorrow) {
    char off[CAIRN_TEXT_DURATION_MAX];
    cairn_text_date_format(tomorrow, limit);
    cairn_text_duration(b->s->central_offset_ms, off);
    if (shift != 0)
      return refuse(p, CAIRN_EDATE,
                    "observed: %s is after tomorrow (%s by the central's clock; this machine's "
                    "clock is %s %s the central's: set its date and time)",
                    when, limit, off, shift < 0 ? "ahead of" : "behind");
    return refuse(p, CAIRN_EDATE,
                  "observed: %s is after tomorrow (%s) by this device's clock: check the date, "
                  "and the clock",
                  when, limit);
  }
  if (b->ms_end < b->ms_start || p->force || day >= b->ms_start - (b->ms_end - b->ms_start))
    return 0;
  cairn_text_date_format(b->ms_start, limit);
  return refuse(p, CAIRN_EDATE,
                "observed: %s is more than the milestone's timeframe (%d days) before its start "
                "(%s): check the date; if it is right, record it with --force",
                when, (int)(b->ms_end - b->ms_start), limit);
}

static int check_evidence(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                          const cairn__store_rec *r) {
  const char *mid;
  size_t midlen;
  int rc;
  if (r != NULL) {
    for (uint32_t i = 0; i < set->via.map.size; i++) {
      const msgpack_object_kv *kv = &set->via.map.ptr[i];
      const msgpack_object_str *k = &kv->key.via.str;
      int is_value = k->size == 5 && memcmp(k->ptr, "value", 5) == 0;
      int is_retract = k->size == 9 && memcmp(k->ptr, "retracted", 9) == 0 &&
                       cairn__store_obj_true(&kv->val);
      if (!is_value && !is_retract)
        return refuse(p, CAIRN_EINVAL,
                      "%.*s: evidence is never overwritten; amend its value or retract it",
                      (int)k->size, k->ptr);
    }
    if (p->why == NULL || p->why[0] == '\0')
      return refuse(p, CAIRN_EINVAL, "reason: required to %s evidence",
                    cairn_record_map_get(set, "value") != NULL ? "amend" : "retract");
  }
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "milestone"), &mid, &midlen))
    return refuse(p, CAIRN_EINVAL, "milestone: required");
  if ((rc = milestone_lookup(b, p, "milestone", mid, midlen)) != 0)
    return rc;
  if ((rc = on_scale(p, "value", cairn_record_map_get(set, "value"), &b->ms_scale)) != 0)
    return rc;
  return r == NULL ? observed_plausible(b, p, set) : 0;
}

/* A review, support change or celebration: its milestone must exist. A
 * review given without `showed` gets the milestone's derived status as of
 * the review's date. */
static int check_milestone_child(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                                 const cairn__store_rec *r) {
  const char *mid;
  size_t midlen;
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "milestone"), &mid, &midlen))
    return refuse(p, CAIRN_EINVAL, "milestone: required");
  int rc = milestone_lookup(b, p, "milestone", mid, midlen);
  if (rc != 0 || p->type != CAIRN_REC_REVIEW || r != NULL ||
      cairn_record_map_get(set, "showed") != NULL)
    return rc;
  /* as of the review's date: what was known then */
  int32_t day;
  if (date_of(cairn_record_map_get(set, "date"), &day) != 0)
    day = cairn_text_today();
  rc = cairn__store_rec_load(b->ac.txn, b->s->records, CAIRN_REC_MILESTONE, mid, midlen,
                             &b->s->check_zone, &b->ref);
  if (rc == 0)
    rc = cairn__store_milestone_summary(b->s, b->ac.txn, &b->ref, mid, midlen, day, b->showed,
                                        sizeof b->showed);
  return rc != 0 ? refuse(p, rc, "showed: could not derive the status: %s", cairn_strerror(rc))
                 : 0;
}

/* A device record: written by the central only, its id the lowercase hex
 * of its key; its scope is the device's. */
/* This device's number, which the ids it generates name (entry.h): the
 * central's is 0; another device's is in its device record, once the
 * central's log has brought it; -1 until then. Read once per batch.
 * Returns it, or a negative code below -1. */
static int64_t own_number(cairn__store_batch *b) {
  cairn_store *s = b->s;
  if (b->own_number != -2)
    return b->own_number;
  if (s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0)
    return b->own_number = 0;
  msgpack_zone z;
  cairn__store_rec r = {0};
  if (!msgpack_zone_init(&z, 1024))
    return CAIRN_ENOMEM;
  int rc = cairn__store_device_get(s, b->ac.txn, s->pk, &z, &r, NULL, NULL);
  const msgpack_object *n = rc == 0 || rc == CAIRN_EPERM ? cairn__store_rec_value(&r, "number", NULL)
                                                        : NULL;
  b->own_number = n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                          n->via.u64 <= INT64_MAX
                      ? (int64_t)n->via.u64
                      : -1;
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc == 0 || rc == CAIRN_EPERM || rc == CAIRN_ENOTFOUND ? b->own_number : rc;
}

/* The number the central gives the next device: one more than the
 * greatest any device record holds. Sets *next; returns 0 or an error. */
static int next_device_number(cairn__store_batch *b, uint64_t *next) {
  cairn_store *s = b->s;
  MDB_cursor *cur;
  uint8_t key[1] = {(uint8_t)CAIRN_REC_DEVICE};
  MDB_val k = {1, key}, v;
  msgpack_zone z;
  cairn__store_rec r = {0};
  *next = 1;
  int rc = mdb_cursor_open(b->ac.txn, s->records, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if (!msgpack_zone_init(&z, 1024)) {
    mdb_cursor_close(cur);
    return CAIRN_ENOMEM;
  }
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size > 0 && ((const uint8_t *)k.mv_data)[0] == CAIRN_REC_DEVICE) {
    msgpack_zone_clear(&z);
    if ((rc = cairn__store_rec_read(b->ac.txn, &v, &z, &r)) != 0)
      break;
    const msgpack_object *n = cairn__store_rec_value(&r, "number", NULL);
    if (n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER && n->via.u64 >= *next)
      *next = n->via.u64 + 1;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : cairn__store_err(s, rc, 0);
}

static int check_device(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                        const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "device records are written by the central");
  if (r == NULL) {
    const char *key;
    size_t len;
    uint8_t bin[CAIRN_KEY_BYTES];
    char hex[2 * CAIRN_KEY_BYTES + 1];
    if (!cairn__store_obj_str(cairn_record_map_get(set, "key"), &key, &len) ||
        len != 2 * CAIRN_KEY_BYTES ||
        sodium_hex2bin(bin, sizeof bin, key, len, NULL, NULL, NULL) != 0)
      return refuse(p, CAIRN_EINVAL, "key: not the hex of a device key");
    sodium_bin2hex(hex, sizeof hex, bin, sizeof bin);
    if (memcmp(hex, key, len) != 0 || strcmp(p->id, hex) != 0)
      return refuse(p, CAIRN_EINVAL, "key: must be lowercase hex and equal the id");
  }
  /* Its number is the central's to give, in the entry that creates the
   * record: so every node that can check the device's entries knows it.
   * A device enrolled by an older cairn has none and writes key ids. */
  if (cairn_record_map_get(set, "number") != NULL)
    return refuse(p, CAIRN_EPERM, "number: given by the central when it enrolls; not set by hand");
  if (r == NULL) {
    int rc = next_device_number(b, &b->number);
    if (rc != 0)
      return refuse(p, rc, "number: %s", cairn_strerror(rc));
    b->set_number = 1;
  }
  char campus[65], classroom[65];
  cairn__store_copy_str(cairn__store_field_of(set, r, "campus"), campus);
  cairn__store_copy_str(cairn__store_field_of(set, r, "classroom"), classroom);
  cairn__store_where_set(&b->where, campus, classroom);
  /* A revocation says from which of the device's entries on it applies:
   * those this central does not hold yet (PROTOCOL.md section 1). */
  if (cairn__store_obj_true(cairn_record_map_get(set, "revoked")) &&
      cairn_record_map_get(set, "revoked_after") == NULL) {
    uint8_t key[CAIRN_KEY_BYTES];
    cairn__store_head h;
    int rc;
    if (sodium_hex2bin(key, sizeof key, p->id, strlen(p->id), NULL, NULL, NULL) != 0)
      return refuse(p, CAIRN_EINVAL, "id: not the hex of a device key");
    if ((rc = cairn__store_head_get(b->ac.txn, s->heads, s, key, &h)) != 0)
      return refuse(p, rc, "revoked: %s", cairn_strerror(rc));
    b->set_revoked_after = 1;
    b->revoked_after = h.seq;
  }
  return 0;
}

/* A restamp record: the store's own, on the central only; in every scope. */
static int check_restamp(cairn__store_batch *b, cairn_put *p) {
  const cairn_store *s = b->s;
  if (!p->system)
    return refuse(p, CAIRN_EPERM, "restamp records are written by cairnd itself");
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "restamp records are written by the central");
  return 0;
}

/* A template or a standard: the central's only (like device records), in
 * every node's scope; a template's target lies on its scale and its
 * standard exists. */
static int check_catalog(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                         const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "%ss are published by the central",
                  cairn_record_type_name(p->type));
  if (p->type != CAIRN_REC_TEMPLATE)
    return 0;
  const char *v;
  size_t len;
  cairn_scale sc;
  /* a template has no levels of its own: a levels scale is refused */
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "scale"), &v, &len) ||
      cairn_record_scale_parse(v, len, NULL, &sc) != 0)
    return refuse(p, CAIRN_EINVAL, "scale: not MIN-MAX, percent, count, yesno or letter");
  int rc = on_scale(p, "target", cairn__store_field_of(set, r, "target"), &sc);
  return rc != 0 ? rc : check_catalog_ref(b, p, set, "standard", CAIRN_REC_STANDARD);
}

/* A campus or a classroom (roster import): the central's only. A
 * campus's entries carry [campus, ""] and reach every node of the campus;
 * a classroom's [its campus, itself], and its campus must exist. */
static int check_place(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                       const cairn__store_rec *r) {
  const cairn_store *s = b->s;
  char campus[65];
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM, "%s are written by the central (cairn roster import)",
                  p->type == CAIRN_REC_CAMPUS ? "campuses" : "classrooms");
  if (p->type == CAIRN_REC_CAMPUS) {
    cairn__store_where_set(&b->where, p->id, "");
    return 0;
  }
  cairn__store_copy_str(cairn__store_field_of(set, r, "campus"), campus);
  cairn__store_where_set(&b->where, campus, p->id);
  return check_catalog_ref(b, p, set, "campus", CAIRN_REC_CAMPUS);
}

/* An erasure (FORMAT.md section 3.4): the central's only, of a student it
 * holds (withdrawn or deleted ones too); never changed. Its entry carries
 * the student's campus and classrooms; it travels to every scope. */
static int check_erasure(cairn__store_batch *b, cairn_put *p, const char *id) {
  const cairn_store *s = b->s;
  if (!s->have_central || memcmp(s->central, s->pk, CAIRN_KEY_BYTES) != 0)
    return refuse(p, CAIRN_EPERM,
                  "students are erased by the central only: run cairn student erase there");
  if (p->edit)
    return refuse(p, CAIRN_EINVAL, "an erasure is never changed");
  int rc = cairn__store_rec_load(b->ac.txn, s->records, CAIRN_REC_STUDENT, id, strlen(id),
                                 &b->s->check_zone, &b->ref);
  if (rc == CAIRN_ENOTFOUND)
    return refuse(p, rc, "student %s: no such student", id);
  if (rc == 0)
    rc = cairn__store_where_of(&b->ref, &b->s->check_zone, &b->where);
  if (rc != 0)
    return refuse(p, rc, "student %s: %s", id, cairn_strerror(rc));
  b->ms_valid = 0;
  return 0;
}

/* Where a put by a device with scope p->within may not write: refuses it
 * naming the field (PROTOCOL.md section 1: the same rule as for a
 * received entry). */
static int check_within(cairn__store_batch *b, cairn_put *p, const msgpack_object *set,
                        const cairn__store_rec *r) {
  const cairn_scope *in = p->within;
  const char *sid;
  size_t sidlen;
  if (in == NULL || cairn__store_where_within(in, p->type, &b->where))
    return 0;
  if (strcmp(b->where.campus, in->campus) != 0)
    return refuse(p, CAIRN_EPERM, "campus: outside this device's scope (campus %s)", in->campus);
  if (p->type == CAIRN_REC_STUDENT)
    return refuse(p, CAIRN_EPERM,
                  "classrooms: outside this device's scope: it writes only for students of its "
                  "classroom (%s)",
                  in->classroom);
  if (!cairn__store_obj_str(cairn__store_field_of(set, r, "student"), &sid, &sidlen))
    sid = "", sidlen = 0;
  return refuse(p, CAIRN_EPERM,
                "%s: its student%s%.*s is outside this device's scope: not in its classroom (%s)",
                p->type == CAIRN_REC_MILESTONE ? "student" : "milestone", sidlen ? " " : "",
                (int)sidlen, sid, in->classroom);
}

/* Validates put p (its set decoded into *set, which the checks may
 * rewrite: FORMAT.md section 3.2). On success *r is the current record
 * (NULL when creating) and *id its id. */
static int put_check(cairn__store_batch *b, cairn_put *p, msgpack_object *set, const cairn__store_rec **r,
                     const char **id) {
  const char *tname = cairn_record_type_name(p->type);
  char msg[sizeof p->message];
  *r = NULL;
  b->showed[0] = '\0';
  b->set_revoked_after = 0;
  b->set_number = 0;
  memset(&b->where, 0, sizeof b->where);
  if (tname == NULL)
    return refuse(p, CAIRN_EINVAL, "type: unknown record type %d", p->type);
  /* Nothing more about an erased student (FORMAT.md section 3.4). */
  const char *eid = p->id != NULL ? p->id : "";
  int rc = cairn__store_erased_about(b->s, b->ac.txn, &b->s->check_zone, p->type, eid,
                                     strlen(eid), set, 0);
  if (rc < 0)
    return refuse(p, rc, "%s: %s", tname, cairn_strerror(rc));
  if (rc > 0 && p->type == CAIRN_REC_STUDENT)
    return refuse(p, CAIRN_EERASED,
                  "student %s was erased: nothing more is written about them, and the id is "
                  "not used again",
                  eid);
  if (rc > 0)
    return refuse(p, CAIRN_EERASED,
                  "the student this %s is about was erased: nothing more is written about them",
                  tname);
  if (p->edit || !cairn_record_generated_id(p->type)) {
    if (p->id == NULL)
      return refuse(p, CAIRN_EINVAL, "id: required to %s a %s", p->edit ? "edit" : "create",
                    tname);
    rc = cairn_text_id_check("id", p->id, strlen(p->id), msg, sizeof msg);
    if (rc != 0)
      return refuse(p, rc, "%s", msg);
    rc = cairn__store_rec_load(b->ac.txn, b->s->records, p->type, p->id, strlen(p->id),
                               &b->s->check_zone, &b->rec);
    if (rc != 0 && rc != CAIRN_ENOTFOUND)
      return refuse(p, rc, "%s %s: %s", tname, p->id, cairn_strerror(rc));
    if (rc == 0 && !p->edit && p->type == CAIRN_REC_ERASURE)
      return refuse(p, CAIRN_EEXISTS, "student %s was erased already", p->id);
    if (rc == 0 && !p->edit)
      return refuse(p, CAIRN_EEXISTS, "%s %s already exists", tname, p->id);
    if (rc != 0 && p->edit)
      return refuse(p, CAIRN_ENOTFOUND, "%s %s: no such %s", tname, p->id, tname);
    *id = p->id;
    *r = p->edit ? &b->rec : NULL;
  } else if (p->id != NULL) {
    return refuse(p, CAIRN_EINVAL, "id: a %s's id is generated; leave it out", tname);
  } else {
    int64_t number = own_number(b);
    if (number < -1)
      return refuse(p, (int)number, "id: %s", cairn_strerror((int)number));
    if (number >= 0)
      cairn_entry_id_number((uint64_t)number, b->seq + 1, b->gen_id);
    else
      cairn_entry_id_key(b->s->pk, b->seq + 1, b->gen_id);
    *id = b->gen_id;
  }
  if (p->why != NULL && strlen(p->why) > CAIRN__STORE_WHY_MAX)
    return refuse(p, CAIRN_ETOOBIG, "reason: longer than %d bytes", CAIRN__STORE_WHY_MAX);
  rc = p->why != NULL ? cairn_text_check("reason", p->why, strlen(p->why), 0, msg, sizeof msg)
                          : 0;
  if (rc != 0)
    return refuse(p, rc, "%s", msg);
  rc = cairn_record_check_set(p->type, set, !p->edit, msg, sizeof msg);
  if (rc == 0)
    rc = cairn_record_check_input(p->type, set, msg, sizeof msg);
  if (rc != 0)
    return refuse(p, rc, "%s", msg);
  switch (p->type) {
  case CAIRN_REC_STUDENT:
    b->ms_valid = 0;
    rc = refuse_with(p, cairn__store_student_put(&b->s->check_zone, *r, *id, set, &b->where, msg,
                                                 sizeof msg),
                     msg);
    break;
  case CAIRN_REC_DEVICE:
    return check_device(b, p, set, *r);
  case CAIRN_REC_RESTAMP:
    return check_restamp(b, p);
  case CAIRN_REC_TEMPLATE:
  case CAIRN_REC_STANDARD:
    return check_catalog(b, p, set, *r);
  case CAIRN_REC_CAMPUS:
  case CAIRN_REC_CLASSROOM:
    return check_place(b, p, set, *r);
  case CAIRN_REC_ERASURE:
    return check_erasure(b, p, *id);
  case CAIRN_REC_MILESTONE:
    rc = check_milestone(b, p, set, *r);
    break;
  case CAIRN_REC_EVIDENCE:
    rc = check_evidence(b, p, set, *r);
    break;
  default:
    rc = check_milestone_child(b, p, set, *r);
    break;
  }
  return rc != 0 ? rc : check_within(b, p, set, *r);
}

void cairn__store_pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* The heads of field key (a string) of record r of type, into idx, as a
 * write's base names them; 0 for a set field (merged by its operations,
 * never in conflict). f is scratch for the name. */
static size_t based(int type, const cairn__store_rec *r, const msgpack_object *key, size_t *idx,
                    char f[64]) {
  const cairn_field_def *fd;
  snprintf(f, 64, "%.*s", (int)key->via.str.size, key->via.str.ptr);
  fd = cairn_record_field(type, f, strlen(f));
  return fd != NULL && cairn__store_field_is_lww(fd) ? cairn__store_rec_heads(r, f, idx) : 0;
}

/* Makes *o the array [author, seq] of write w, as a base names it. */
static int base_item(msgpack_zone *z, const cairn__store_write *w, msgpack_object *o) {
  msgpack_object *pair = msgpack_zone_malloc(z, 2 * sizeof *pair);
  if (pair == NULL)
    return CAIRN_ENOMEM;
  pair[0].type = MSGPACK_OBJECT_BIN;
  pair[0].via.bin.ptr = (const char *)w->author;
  pair[0].via.bin.size = CAIRN_KEY_BYTES;
  pair[1].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
  pair[1].via.u64 = w->seq;
  o->type = MSGPACK_OBJECT_ARRAY;
  o->via.array.size = 2;
  o->via.array.ptr = pair;
  return 0;
}

/* The base of a write of set over record r (NULL: a creation): for each
 * field written, the heads it replaces, into *base (in the check zone,
 * borrowing from set and r); its size 0 when there are none. */
static int build_base(cairn__store_batch *b, int type, const msgpack_object *set,
                      const cairn__store_rec *r, msgpack_object *base) {
  msgpack_zone *z = &b->s->check_zone;
  char f[64];
  uint32_t nbase = 0;
  base->type = MSGPACK_OBJECT_MAP;
  base->via.map.size = 0;
  base->via.map.ptr = NULL;
  if (r == NULL)
    return 0;
  if (r->n > b->idx_cap) {
    size_t *idx = realloc(b->idx, r->n * sizeof *idx);
    if (idx == NULL)
      return CAIRN_ENOMEM;
    b->idx = idx;
    b->idx_cap = r->n;
  }
  for (uint32_t i = 0; i < set->via.map.size; i++)
    nbase += based(type, r, &set->via.map.ptr[i].key, b->idx, f) > 0;
  if (nbase == 0)
    return 0;
  msgpack_object_kv *kv = msgpack_zone_malloc(z, nbase * sizeof *kv);
  if (kv == NULL)
    return CAIRN_ENOMEM;
  for (uint32_t i = 0, k = 0; i < set->via.map.size; i++) {
    size_t nh = based(type, r, &set->via.map.ptr[i].key, b->idx, f);
    if (nh == 0)
      continue;
    msgpack_object *heads = msgpack_zone_malloc(z, nh * sizeof *heads);
    if (heads == NULL)
      return CAIRN_ENOMEM;
    for (size_t h = 0; h < nh; h++)
      if (base_item(z, &r->w[b->idx[h]], &heads[h]) != 0)
        return CAIRN_ENOMEM;
    kv[k].key = set->via.map.ptr[i].key;
    kv[k].val.type = MSGPACK_OBJECT_ARRAY;
    kv[k].val.via.array.size = (uint32_t)nh;
    kv[k++].val.via.array.ptr = heads;
  }
  base->via.map.size = nbase;
  base->via.map.ptr = kv;
  return 0;
}

/* Builds the entry body of put p, typed, into *out (FORMAT.md section 2:
 * id, new, set plus the derived `showed`, base: the heads of each field
 * written, why, scope) and encodes it once into s->body_buf, where
 * out->set_raw points. Its objects borrow from set, r, p and the batch,
 * or sit in the check zone. */
static int build_body(cairn__store_batch *b, const cairn_put *p, const char *id,
                      msgpack_object *set, const cairn__store_rec *r, cairn_body *out) {
  msgpack_sbuffer *buf = &b->s->body_buf;
  int rc;
  memset(out, 0, sizeof *out);
  out->type = p->type;
  out->id = id;
  out->idlen = strlen(id);
  out->is_new = !p->edit;
  if (b->showed[0] != '\0') {
    msgpack_object showed = {.type = MSGPACK_OBJECT_STR};
    showed.via.str.ptr = b->showed;
    showed.via.str.size = (uint32_t)strlen(b->showed);
    if ((rc = cairn__store_set_put(&b->s->check_zone, set, "showed", &showed)) != 0)
      return rc;
  }
  out->set = set;
  if ((rc = build_base(b, p->type, set, r, &b->base)) != 0)
    return rc;
  out->base = b->base.via.map.size > 0 ? &b->base : NULL;
  if (p->why != NULL) {
    b->why.type = MSGPACK_OBJECT_STR;
    b->why.via.str.ptr = p->why;
    b->why.via.str.size = (uint32_t)strlen(p->why);
    out->why = &b->why;
  }
  cairn__store_where_object(&b->where, b->scope_items, &b->scope);
  out->scope = &b->scope;

  msgpack_packer pk;
  msgpack_sbuffer_clear(buf);
  msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3 + (out->base != NULL) + (out->why != NULL) + out->is_new);
  cairn__store_pack_cstr(&pk, "id");
  cairn__store_pack_cstr(&pk, id);
  if (out->is_new) {
    cairn__store_pack_cstr(&pk, "new");
    msgpack_pack_true(&pk);
  }
  /* where each part's bytes begin and end in buf, for out's spans */
  size_t at[4][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
  cairn__store_pack_cstr(&pk, "set");
  at[0][0] = buf->size;
  msgpack_pack_object(&pk, *set);
  at[0][1] = buf->size;
  if (out->base != NULL) {
    cairn__store_pack_cstr(&pk, "base");
    at[1][0] = buf->size;
    msgpack_pack_object(&pk, *out->base);
    at[1][1] = buf->size;
  }
  if (out->why != NULL) {
    cairn__store_pack_cstr(&pk, "why");
    at[2][0] = buf->size;
    msgpack_pack_object(&pk, *out->why);
    at[2][1] = buf->size;
  }
  cairn__store_pack_cstr(&pk, "scope");
  at[3][0] = buf->size;
  msgpack_pack_object(&pk, *out->scope);
  at[3][1] = buf->size;
  /* the buffer has stopped moving */
  const uint8_t *data = (const uint8_t *)buf->data;
  out->set_raw = data + at[0][0];
  out->set_raw_len = at[0][1] - at[0][0];
  out->base_raw = out->base != NULL ? data + at[1][0] : NULL;
  out->base_raw_len = at[1][1] - at[1][0];
  out->why_raw = out->why != NULL ? data + at[2][0] : NULL;
  out->why_raw_len = at[2][1] - at[2][0];
  out->scope_raw = data + at[3][0];
  out->scope_raw_len = at[3][1] - at[3][0];
  return 0;
}

/* Validates, builds and applies one put. Returns 0 (applied, or refused
 * with p->result set) or a negative code that fails the whole batch. */
int cairn__store_write_one(cairn__store_batch *b, cairn_put *p) {
  cairn_store *s = b->s;
  p->result = 0;
  p->message[0] = '\0';
  p->id_out[0] = '\0';
  if (s->restored && !p->system) {
    refuse(p, CAIRN_ERESTORED,
           "this device was restored from a backup: run `cairn sync now` once, so that the "
           "upstream sends back what it holds of this device's log, then write");
    return 0;
  }
  msgpack_zone_clear(&s->check_zone);
  msgpack_object set;
  size_t off = 0;
  if (p->set == NULL ||
      msgpack_unpack((const char *)p->set, p->set_len, &off, &s->check_zone, &set) !=
          MSGPACK_UNPACK_SUCCESS ||
      set.type != MSGPACK_OBJECT_MAP) {
    refuse(p, CAIRN_EMALFORMED, "set: not one msgpack map");
    return 0;
  }
  const cairn__store_rec *r;
  const char *id = NULL;
  int rc = 0;
  /* A milestone carried forward takes what it leaves out from the old one. */
  if (p->type == CAIRN_REC_MILESTONE && !p->edit &&
      (rc = cairn__store_carry_forward(s, b->ac.txn, &s->check_zone, &set, p->message,
                                       sizeof p->message)) != 0) {
    p->result = rc;
    return rc == CAIRN_ENOMEM || rc == CAIRN_EIO ? rc : 0;
  }
  if (put_check(b, p, &set, &r, &id) != 0)
    return 0;
  if (b->set_revoked_after) {
    msgpack_object after = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    after.via.u64 = b->revoked_after;
    if ((rc = cairn__store_set_put(&s->check_zone, &set, "revoked_after", &after)) != 0)
      return rc;
  }
  if (b->set_number) {
    msgpack_object number = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    number.via.u64 = b->number;
    if ((rc = cairn__store_set_put(&s->check_zone, &set, "number", &number)) != 0)
      return rc;
  }
  cairn_body body;
  if ((rc = build_body(b, p, id, &set, r, &body)) != 0)
    return rc;
  cairn_entry e;
  memset(&e, 0, sizeof e);
  memcpy(e.author, s->pk, CAIRN_KEY_BYTES);
  e.seq = b->seq + 1;
  e.hlc = cairn__store_hlc_next(s, b->ac.max_hlc, b->own_hlc);
  memcpy(e.prev, b->hash, CAIRN_HASH_BYTES);
  e.kind = (uint32_t)p->type;
  e.body = (const uint8_t *)s->body_buf.data;
  e.body_len = s->body_buf.size;
  if ((rc = cairn_entry_seal(&e)) != 0) {
    refuse(p, rc, "set: the entry is %s", cairn_strerror(rc));
    return rc == CAIRN_ETOOBIG ? 0 : rc;
  }
  /* A long batch is signed along the way too, so that a receiver never
   * waits for a signature beyond its bound (batch_finish signs the last). */
  b->unsigned_n++;
  b->unsigned_bytes += e.body_len;
  if (b->unsigned_n >= CAIRN_ENTRY_SIGN_EVERY || b->unsigned_bytes >= CAIRN_ENTRY_SIGN_BYTES / 2) {
    cairn_entry_sign(&e, s->sk);
    b->unsigned_n = b->unsigned_bytes = 0;
  }
  /* put_check checked the set: the fold takes the body as built, without
   * decoding or checking it again; the entry is encoded once, sealed, as
   * it is stored */
  if ((rc = cairn__store_batch_flush(b, 0)) != 0) /* the one before this */
    return rc;
  b->ac.typed = &body;
  b->ac.write_log = 0; /* put in the log by the next write or the batch's end */
  rc = cairn__store_apply_entry(&b->ac, NULL, 0, &e);
  b->ac.write_log = 1;
  b->ac.typed = NULL;
  if (rc < 0)
    return rc;
  memcpy(b->last_tag, b->ac.tag, sizeof b->last_tag);
  b->last_withheld = b->ac.log_withheld;
  b->last_pending = 1;
  b->seq = e.seq;
  b->own_hlc = e.hlc;
  memcpy(b->hash, e.hash, CAIRN_HASH_BYTES);
  msgpack_sbuffer_clear(&s->last_body);
  if (msgpack_sbuffer_write(&s->last_body, (const char *)e.body, e.body_len) != 0)
    return CAIRN_ENOMEM;
  b->last = e;
  b->last.body = (const uint8_t *)s->last_body.data;
  b->have_last = 1;
  /* the record it made may refer to it until batch_flush puts it */
  cairn__store_unlogged(s, b->ac.txn, &b->last);
  snprintf(p->id_out, sizeof p->id_out, "%s", id);
  return 0;
}

/* Starts a batch of writes: one write transaction, in which held entries
 * that have come due are folded first. Returns 0 or an error; either way
 * the caller ends it with batch_finish. */
int cairn__store_batch_begin(cairn__store_batch *b, cairn_store *s) {
  memset(b, 0, sizeof *b);
  b->s = s;
  b->own_number = -2;
  b->seq = s->own_seq;
  b->own_hlc = s->own_hlc;
  memcpy(b->hash, s->own_hash, CAIRN_HASH_BYTES);
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  cairn__store_apply_init(&b->ac, s, txn, CAIRN__STORE_APPLY_TRUSTED);
  /* Held entries whose date this node's clock has reached are folded now;
   * that commits with the batch. */
  if ((rc = cairn__store_release_due(&b->ac)) != 0)
    return rc;
  b->commit_anyway = b->ac.released > 0;
  return 0;
}

int cairn__store_batch_flush(cairn__store_batch *b, int sign) {
  if (!b->last_pending)
    return 0;
  b->last_pending = 0;
  b->last.body = (const uint8_t *)b->s->last_body.data;
  if (sign) {
    cairn_entry_sign(&b->last, b->s->sk);
    b->unsigned_n = b->unsigned_bytes = 0;
  }
  int rc = cairn__store_log_put_as(&b->ac, &b->last, b->last_tag, b->last_withheld);
  cairn__store_unlogged(b->s, NULL, NULL);
  return rc;
}

/* Ends a batch begun with result rc: when rc is 0 and something was
 * written, signs the last entry (its signature covers the chain) and
 * commits durably; otherwise aborts. Frees the batch. Returns the outcome. */
int cairn__store_batch_finish(cairn__store_batch *b, int rc) {
  if (b->ac.txn != NULL) {
    if (rc == 0 && b->have_last) /* stored once, signed (unless restamps were) */
      rc = cairn__store_batch_flush(b, 1);
    cairn__store_unlogged(b->s, NULL, NULL); /* before LMDB reuses the transaction */
    if (rc == 0 && (b->have_last || b->commit_anyway)) {
      rc = cairn__store_apply_commit(&b->ac);
    } else {
      cairn__store_apply_free(&b->ac);
      mdb_txn_abort(b->ac.txn);
    }
  }
  cairn__store_rec_free(&b->rec);
  cairn__store_rec_free(&b->ref);
  free(b->idx);
  return rc;
}

/* Sets every put's result to rc: nothing was written. */
static void none_written(cairn_put *puts, size_t n, int rc) {
  for (size_t i = 0; i < n; i++) {
    puts[i].result = rc;
    puts[i].id_out[0] = '\0';
    snprintf(puts[i].message, sizeof puts[i].message, "not written: %s", cairn_strerror(rc));
  }
}

int cairn_store_write_batch(cairn_store *s, cairn_put *puts, size_t n) {
  cairn__store_batch b;
  int rc = cairn__store_batch_begin(&b, s);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = cairn__store_write_one(&b, &puts[i]);
  rc = cairn__store_batch_finish(&b, rc);
  if (rc != 0)
    none_written(puts, n, rc);
  return rc;
}

int cairn_store_write_all(cairn_store *s, cairn_put *puts, size_t n, int check_only,
                          size_t *refused) {
  cairn__store_batch b;
  int rc = cairn__store_batch_begin(&b, s);
  *refused = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if ((rc = cairn__store_write_one(&b, &puts[i])) == 0 && puts[i].result != 0)
      (*refused)++;
  /* One refused, or only checking: the transaction is aborted, nothing of
   * the batch stays. */
  if (rc == 0 && (*refused > 0 || check_only)) {
    b.have_last = 0;
    b.commit_anyway = 0;
  }
  rc = cairn__store_batch_finish(&b, rc);
  if (rc != 0) {
    *refused = 0;
    none_written(puts, n, rc);
  } else if (*refused > 0 || check_only) {
    for (size_t i = 0; i < n; i++)
      puts[i].id_out[0] = '\0';
  }
  return rc;
}

int cairn_store_token_redeem(cairn_store *s, const uint8_t secret[16],
                             const uint8_t device[CAIRN_KEY_BYTES], const char *name,
                             int64_t now_unix, cairn_scope *scope, char role_out[16], char *why,
                             size_t whylen) {
  char role[16], hex[2 * CAIRN_KEY_BYTES + 1], day[11];
  if (why != NULL && whylen > 0)
    why[0] = '\0';
  cairn__store_batch b;
  int rc = cairn__store_batch_begin(&b, s);
  int again = 0, enrolled_rc = 0;
  if (rc == 0)
    rc = cairn__store_token_take(s, b.ac.txn, secret, device, now_unix, role, scope, &again, why,
                                 whylen);
  if (rc == 0) {
    /* Enrolled already (the answer to an earlier join was lost, or a new
     * token for the same device): the answer is the device record's. */
    char enrolled_role[16];
    cairn_scope enrolled;
    msgpack_zone_clear(&s->check_zone);
    enrolled_rc = cairn__store_device_get(s, b.ac.txn, device, &s->check_zone, &b.rec,
                                          &enrolled, enrolled_role);
    if (enrolled_rc == 0) {
      *scope = enrolled;
      memcpy(role, enrolled_role, sizeof role);
      b.commit_anyway = !again; /* the new token is used up all the same */
    } else if (enrolled_rc != CAIRN_ENOTFOUND) {
      rc = enrolled_rc;
      if (rc == CAIRN_EPERM && why != NULL)
        snprintf(why, whylen, "this device has been revoked");
    }
  }
  if (rc == 0 && enrolled_rc == CAIRN_ENOTFOUND) {
    sodium_bin2hex(hex, sizeof hex, device, CAIRN_KEY_BYTES);
    cairn_text_date_format((int32_t)(now_unix / 86400 - (now_unix % 86400 < 0)), day);
    msgpack_sbuffer set;
    msgpack_packer pk;
    msgpack_sbuffer_init(&set);
    msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4 + (scope->classroom[0] != '\0') + (name != NULL));
    cairn__store_pack_cstr(&pk, "key");
    cairn__store_pack_cstr(&pk, hex);
    cairn__store_pack_cstr(&pk, "role");
    cairn__store_pack_cstr(&pk, role);
    cairn__store_pack_cstr(&pk, "campus");
    cairn__store_pack_cstr(&pk, scope->campus);
    if (scope->classroom[0] != '\0') {
      cairn__store_pack_cstr(&pk, "classroom");
      cairn__store_pack_cstr(&pk, scope->classroom);
    }
    if (name != NULL) {
      cairn__store_pack_cstr(&pk, "name");
      cairn__store_pack_cstr(&pk, name);
    }
    cairn__store_pack_cstr(&pk, "enrolled");
    cairn__store_pack_cstr(&pk, day);
    cairn_put p = {.type = CAIRN_REC_DEVICE, .id = hex, .set = (const uint8_t *)set.data,
                   .set_len = set.size};
    rc = cairn__store_write_one(&b, &p);
    if (rc == 0 && p.result != 0) { /* the token stays unused */
      rc = p.result;
      if (why != NULL)
        snprintf(why, whylen, "%s", p.message);
    }
    msgpack_sbuffer_destroy(&set);
  }
  rc = cairn__store_batch_finish(&b, rc);
  if (rc == 0 && role_out != NULL)
    memcpy(role_out, role, sizeof role);
  return rc;
}
