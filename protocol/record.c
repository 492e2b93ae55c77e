/* record.c: the field schema of docs/FORMAT.md section 3.2 and the check
 * of a `set` map against it. */
#include "record.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "template.h"
#include "text.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The values of the enum fields. */
static const char *const milestone_types[] = {"academic", "behavior", "social-emotional",
                                              "future-readiness", NULL};
static const char *const horizons[] = {"short", "long", NULL};
static const char *const directions[] = {"up", "down", "at-least", "at-most", NULL};
static const char *const cadences[] = {"weekly", "biweekly", "monthly", "quarterly", NULL};
static const char *const review_kinds[] = {"weekly", "monthly", "quarterly", NULL};
static const char *const device_roles[] = {"classroom", "hub", "central", NULL};
static const char *const results[] = {"open", "met", "not-met", "replaced", NULL};
static const char *const decisions[] = {"continue",     "adjust-supports", "change-timeframe",
                                        "raise-target", "smaller-steps",   "change-method",
                                        NULL};

#define F(n, t, fl) {.name = (n), .type = (t), .flags = (fl)}
#define F_STR(n, len, fl) {.name = (n), .type = CAIRN_FT_STR, .flags = (fl), .max_len = (len)}
#define F_STRS(n, len, items, fl)                                                            \
  {.name = (n), .type = CAIRN_FT_STRS, .flags = (fl), .max_len = (len), .max_items = (items)}
#define F_ENUM(n, vals, fl) {.name = (n), .type = CAIRN_FT_ENUM, .flags = (fl), .enum_values = (vals)}
#define F_REF(n, rt, fl) {.name = (n), .type = CAIRN_FT_REF, .flags = (fl), .ref_type = (rt)}
#define F_SET(n, len, items, fl)                                                             \
  {.name = (n), .type = CAIRN_FT_SET, .flags = (fl), .max_len = (len), .max_items = (items)}

/* The ref that places a record under its parent. */
#define F_PARENT_REF(n, rt) F_REF(n, rt, CAIRN_F_PARENT | CAIRN_F_FIXED | CAIRN_F_REQUIRED)

/* FORMAT.md gives no bound for `checks`; 64 covers weekly checks for a year. */
#define CHECKS_MAX 64

/* A student's classrooms and accommodations are sets (FORMAT.md section 4);
 * `classroom` is the one classroom of writes from before the set, read as
 * `classrooms` exactly {classroom}. */
#define CLASSROOMS_MAX 16
static const cairn_field_def student_fields[] = {
    F_STR("name", 200, CAIRN_F_REQUIRED | CAIRN_F_PERSONAL | CAIRN_F_NONEMPTY),
    F_STR("grade", 20, 0),
    F_STR("campus", 64, 0),
    {.name = "classroom", .type = CAIRN_FT_STR, .flags = CAIRN_F_LEGACY, .max_len = 64,
     .into = "classrooms"},
    F_SET("classrooms", 64, CLASSROOMS_MAX, 0),
    F_SET("accommodations", 500, 32, 0),
    F("withdrawn", CAIRN_FT_BOOL, 0),
    F("withdrawn_on", CAIRN_FT_DATE, 0),
    F("deleted", CAIRN_FT_BOOL, 0),
};

static const cairn_field_def milestone_fields[] = {
    F_PARENT_REF("student", CAIRN_REC_STUDENT),
    F_ENUM("type", milestone_types, CAIRN_F_REQUIRED),
    F_STR("statement", 1000, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_ENUM("horizon", horizons, 0),
    F_REF("parent", CAIRN_REC_MILESTONE, 0),
    F_STR("scale", 32, CAIRN_F_REQUIRED),
    F("baseline", CAIRN_FT_NUMNIL, CAIRN_F_REQUIRED),
    F("baseline_date", CAIRN_FT_DATE, 0),
    F_STR("baseline_how", 500, 0),
    F("target", CAIRN_FT_NUM, CAIRN_F_REQUIRED),
    F_ENUM("direction", directions, 0),
    F_STR("rule", 32, 0),
    F("start", CAIRN_FT_DATE, CAIRN_F_REQUIRED),
    F("end", CAIRN_FT_DATE, CAIRN_F_REQUIRED),
    F_STRS("checks", 10, CHECKS_MAX, 0), /* each a date: see check_milestone() */
    F_STR("method", 500, 0),
    F_STR("source", 500, 0),
    F_STR("support", 1000, 0),
    F_STR("at_home", 500, 0), /* one thing the family can do at home (family summary) */
    F_STRS("if_then", 1000, 16, 0),
    F_ENUM("cadence", cadences, 0),
    F_STR("alignment", 500, 0),
    F_STRS("agreed_by", 200, 16, CAIRN_F_PERSONAL), /* names of the student and family */
    F("wrong_side_n", CAIRN_FT_INT, 0),
    F("trend_points", CAIRN_FT_INT, 0),
    F("developing_at", CAIRN_FT_NUM, 0),
    F("exceed_margin", CAIRN_FT_NUM, 0),
    F_STRS("levels", CAIRN_SCALE_LABEL_MAX, CAIRN_SCALE_LABELS_MAX, 0), /* a levels scale's */
    F_REF("carried_from", CAIRN_REC_MILESTONE, CAIRN_F_FIXED),
    F_ENUM("result", results, 0),
    F("closed", CAIRN_FT_DATE, 0),
    F_REF("replaced_by", CAIRN_REC_MILESTONE, 0),
    F("archived", CAIRN_FT_BOOL, 0),
    F("deleted", CAIRN_FT_BOOL, 0),
    F_REF("template", CAIRN_REC_TEMPLATE, 0), /* the shared template it was made from */
    F_REF("standard", CAIRN_REC_STANDARD, 0), /* the standard of the catalog it aligns to */
};

static const cairn_field_def evidence_fields[] = {
    F_PARENT_REF("milestone", CAIRN_REC_MILESTONE),
    F("observed", CAIRN_FT_DATE, CAIRN_F_REQUIRED | CAIRN_F_FIXED),
    F("value", CAIRN_FT_NUM, CAIRN_F_REQUIRED),
    F_STR("note", 2000, CAIRN_F_PERSONAL | CAIRN_F_MULTILINE),
    F_STR("link", 1000, 0),
    F_STR("source", 500, 0),
    F_STR("by", 200, 0),
    F("retracted", CAIRN_FT_BOOL, 0),
};

static const cairn_field_def review_fields[] = {
    F_PARENT_REF("milestone", CAIRN_REC_MILESTONE),
    F("date", CAIRN_FT_DATE, CAIRN_F_REQUIRED),
    F_ENUM("kind", review_kinds, CAIRN_F_REQUIRED),
    F_STR("showed", 1000, 0),
    F_ENUM("decision", decisions, CAIRN_F_REQUIRED),
    F_STR("note", 2000, CAIRN_F_PERSONAL | CAIRN_F_MULTILINE),
};

static const cairn_field_def support_change_fields[] = {
    F_PARENT_REF("milestone", CAIRN_REC_MILESTONE),
    F("date", CAIRN_FT_DATE, CAIRN_F_REQUIRED),
    F_STR("support", 1000, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_STR("note", 2000, CAIRN_F_PERSONAL | CAIRN_F_MULTILINE),
};

static const cairn_field_def celebration_fields[] = {
    F_PARENT_REF("milestone", CAIRN_REC_MILESTONE),
    F("date", CAIRN_FT_DATE, CAIRN_F_REQUIRED),
    F_STR("text", 1000, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
};

/* The record id of a device is its `key`: the store checks they match and
 * that the key is the lowercase hex of an Ed25519 public key. */
static const cairn_field_def device_fields[] = {
    F_STR("key", 64, CAIRN_F_REQUIRED | CAIRN_F_FIXED | CAIRN_F_NONEMPTY),
    F_ENUM("role", device_roles, CAIRN_F_REQUIRED),
    F_STR("campus", 64, 0),
    F_STR("classroom", 64, 0),
    F_STR("name", 200, CAIRN_F_PERSONAL),
    F("revoked", CAIRN_FT_BOOL, 0),
    F("revoked_after", CAIRN_FT_SEQ, 0),
    F("enrolled", CAIRN_FT_DATE, 0),
    /* given by the central, once: the generated ids of the device's records
     * name it ("n12-42"; entry.h) */
    F("number", CAIRN_FT_SEQ, 0),
};

/* The central's order for a run of one author's entries (FORMAT.md section
 * 1, "Time"): entries from..to of author are ordered at hlc. Written only
 * by the central, never changed. */
static const cairn_field_def restamp_fields[] = {
    F_STR("author", 64, CAIRN_F_REQUIRED | CAIRN_F_FIXED | CAIRN_F_NONEMPTY),
    F("from", CAIRN_FT_SEQ, CAIRN_F_REQUIRED | CAIRN_F_FIXED),
    F("to", CAIRN_FT_SEQ, CAIRN_F_REQUIRED | CAIRN_F_FIXED),
    F("hlc", CAIRN_FT_SEQ, CAIRN_F_REQUIRED | CAIRN_F_FIXED),
};

/* A shared milestone template (FORMAT.md section 3.2): the fields a
 * milestone made from it starts with. Its id is given (like a student's);
 * written only by the central. `statement` is a pattern (template.h). */
static const cairn_field_def template_fields[] = {
    F_STR("title", 200, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_ENUM("type", milestone_types, CAIRN_F_REQUIRED),
    F_STR("statement", 1000, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_ENUM("horizon", horizons, 0),
    F_STR("scale", 32, CAIRN_F_REQUIRED),
    F("target", CAIRN_FT_NUM, 0),
    F_ENUM("direction", directions, 0),
    F_STR("rule", 32, 0),
    F_ENUM("cadence", cadences, 0),
    F_STR("method", 500, 0),
    F_STR("source", 500, 0),
    F_STR("alignment", 500, 0),
    F_REF("standard", CAIRN_REC_STANDARD, 0),
    F("deleted", CAIRN_FT_BOOL, 0),
};

/* A standard of the district's catalog: its id is its code (an id:
 * "CCSS.ELA-LITERACY.W.8.1"); `guid` the CASE identifier where the
 * district has one. Written only by the central. */
static const cairn_field_def standard_fields[] = {
    F_STR("text", 1000, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_STR("guid", 36, 0),
    F("deleted", CAIRN_FT_BOOL, 0),
};

/* A campus and a classroom: the places of a district's roster (cairn
 * roster import, docs/ROSTER.md). Their ids are given by the central (the
 * roster's sourcedIds); a classroom names its campus, and its entries
 * travel to that classroom, a campus's to every node of the campus. */
static const cairn_field_def campus_fields[] = {
    F_STR("name", 200, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_STR("code", 64, 0), /* the district's own code for it */
    F("deleted", CAIRN_FT_BOOL, 0),
};

static const cairn_field_def classroom_fields[] = {
    F_STR("name", 200, CAIRN_F_REQUIRED | CAIRN_F_NONEMPTY),
    F_REF("campus", CAIRN_REC_CAMPUS, CAIRN_F_REQUIRED),
    F_STR("code", 64, 0),
    F_STR("location", 200, 0),
    F("deleted", CAIRN_FT_BOOL, 0),
};

/* A student erased (FORMAT.md section 3.4): the record's id is the
 * student's id, and the reason is all its body says (who and when are the
 * entry's author and date). Written only by the central, never changed. */
#define ERASURE_REASON_MAX 500
static const cairn_field_def erasure_fields[] = {
    F_STR("reason", ERASURE_REASON_MAX,
          CAIRN_F_REQUIRED | CAIRN_F_FIXED | CAIRN_F_NONEMPTY | CAIRN_F_PERSONAL),
};

/* check_set() tracks the fields seen in one bit each. */
_Static_assert(ARRAY_LEN(milestone_fields) <= 64, "a record type has at most 64 fields");

typedef struct record_schema {
  const char *name;
  const cairn_field_def *fields;
  size_t n;
} record_schema;

#define SCHEMA(n, f) {(n), (f), ARRAY_LEN(f)}
static const record_schema schemas[CAIRN_REC_MAX + 1] = {
    [CAIRN_REC_STUDENT] = SCHEMA("student", student_fields),
    [CAIRN_REC_MILESTONE] = SCHEMA("milestone", milestone_fields),
    [CAIRN_REC_EVIDENCE] = SCHEMA("evidence", evidence_fields),
    [CAIRN_REC_REVIEW] = SCHEMA("review", review_fields),
    [CAIRN_REC_SUPPORT_CHANGE] = SCHEMA("support_change", support_change_fields),
    [CAIRN_REC_CELEBRATION] = SCHEMA("celebration", celebration_fields),
    [CAIRN_REC_DEVICE] = SCHEMA("device", device_fields),
    [CAIRN_REC_RESTAMP] = SCHEMA("restamp", restamp_fields),
    [CAIRN_REC_TEMPLATE] = SCHEMA("template", template_fields),
    [CAIRN_REC_STANDARD] = SCHEMA("standard", standard_fields),
    [CAIRN_REC_CAMPUS] = SCHEMA("campus", campus_fields),
    [CAIRN_REC_CLASSROOM] = SCHEMA("classroom", classroom_fields),
    [CAIRN_REC_ERASURE] = SCHEMA("erasure", erasure_fields),
};

/* The schema of a type, or NULL (a number no type has, or one reserved). */
static const record_schema *schema_of(int type) {
  if (type < 1 || type > CAIRN_REC_MAX || schemas[type].name == NULL)
    return NULL;
  return &schemas[type];
}

int cairn_record_generated_id(int type) {
  switch (type) {
  case CAIRN_REC_MILESTONE:
  case CAIRN_REC_EVIDENCE:
  case CAIRN_REC_REVIEW:
  case CAIRN_REC_SUPPORT_CHANGE:
  case CAIRN_REC_CELEBRATION:
  case CAIRN_REC_RESTAMP:
    return 1;
  default:
    return 0;
  }
}

const char *cairn_record_type_name(int type) {
  const record_schema *rs = schema_of(type);
  return rs ? rs->name : NULL;
}

int cairn_record_type_from_name(const char *name, size_t len) {
  for (int t = 1; t <= CAIRN_REC_MAX; t++)
    if (schemas[t].name != NULL && strlen(schemas[t].name) == len &&
        memcmp(schemas[t].name, name, len) == 0)
      return t;
  return CAIRN_EINVAL;
}

const cairn_field_def *cairn_record_fields(int type, size_t *n) {
  const record_schema *rs = schema_of(type);
  if (!rs)
    return NULL;
  *n = rs->n;
  return rs->fields;
}

/* Returns the index of name in rs, or -1. */
static int field_index(const record_schema *rs, const char *name, size_t len) {
  for (size_t i = 0; i < rs->n; i++)
    if (strlen(rs->fields[i].name) == len && memcmp(rs->fields[i].name, name, len) == 0)
      return (int)i;
  return -1;
}

const cairn_field_def *cairn_record_field(int type, const char *name, size_t len) {
  const record_schema *rs = schema_of(type);
  int i = rs ? field_index(rs, name, len) : -1;
  return i < 0 ? NULL : &rs->fields[i];
}

int cairn_record_same_packed(const msgpack_object *a, const msgpack_object *b) {
  if (a == NULL || b == NULL)
    return a == b;
  msgpack_sbuffer sa, sb;
  msgpack_packer pa, pb;
  msgpack_sbuffer_init(&sa);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pa, &sa, msgpack_sbuffer_write);
  msgpack_packer_init(&pb, &sb, msgpack_sbuffer_write);
  int same = msgpack_pack_object(&pa, *a) == 0 && msgpack_pack_object(&pb, *b) == 0 &&
             sa.size == sb.size && (sa.size == 0 || memcmp(sa.data, sb.data, sa.size) == 0);
  msgpack_sbuffer_destroy(&sa);
  msgpack_sbuffer_destroy(&sb);
  return same;
}

const msgpack_object *cairn_record_map_get(const msgpack_object *map, const char *key) {
  size_t klen = strlen(key);
  if (!map || map->type != MSGPACK_OBJECT_MAP)
    return NULL;
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
        memcmp(k->via.str.ptr, key, klen) == 0)
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

/* ---- scales and rules ---- */

/* Scans [-]DIGITS[.DIGITS] (at most 15 digits, so the value is exact before
 * the one rounding division) at s[*pos]. Locale-independent, unlike strtod. */
static int scan_decimal(const char *s, size_t len, size_t *pos, double *out) {
  size_t p = *pos;
  int neg = 0, digits = 0, frac_digits = 0, in_frac = 0;
  double mant = 0, scale = 1;
  if (p < len && s[p] == '-') {
    neg = 1;
    p++;
  }
  for (; p < len; p++) {
    if (s[p] >= '0' && s[p] <= '9') {
      if (++digits > 15)
        return CAIRN_EINVAL;
      mant = mant * 10 + (s[p] - '0');
      if (in_frac) {
        frac_digits++;
        scale *= 10;
      }
    } else if (s[p] == '.' && !in_frac && digits > 0) {
      in_frac = 1;
    } else {
      break;
    }
  }
  if (digits == 0 || (in_frac && frac_digits == 0))
    return CAIRN_EINVAL;
  *out = (neg ? -mant : mant) / scale;
  *pos = p;
  return 0;
}

const char *cairn_record_letter(unsigned rank) {
  static const char *const letters[CAIRN_RECORD_LETTERS] = {"F", "D", "C", "B", "A"};
  return rank < CAIRN_RECORD_LETTERS ? letters[rank] : NULL;
}

/* The number of labels of a `levels` array: 2 to CAIRN_SCALE_LABELS_MAX
 * strings; 0 when it is not one. */
static unsigned levels_count(const msgpack_object *levels) {
  if (levels == NULL || levels->type != MSGPACK_OBJECT_ARRAY || levels->via.array.size < 2 ||
      levels->via.array.size > CAIRN_SCALE_LABELS_MAX)
    return 0;
  for (uint32_t i = 0; i < levels->via.array.size; i++)
    if (levels->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
      return 0;
  return levels->via.array.size;
}

int cairn_record_scale_parse(const char *s, size_t len, const msgpack_object *levels,
                             cairn_scale *out) {
  static const struct {
    const char *name;
    cairn_scale scale;
  } named[] = {
      {"percent", {0, 100, 0, CAIRN_SCALE_PERCENT, 0}},
      {"count", {0, 1e9, 1, CAIRN_SCALE_COUNT, 0}},
      {"yesno", {0, 1, 1, CAIRN_SCALE_YESNO, 0}},
      {"letter", {0, CAIRN_RECORD_LETTERS - 1, 1, CAIRN_SCALE_LETTER, CAIRN_RECORD_LETTERS}},
  };
  size_t pos = 0;
  double lo, hi;
  for (size_t i = 0; i < ARRAY_LEN(named); i++) {
    if (strlen(named[i].name) == len && memcmp(named[i].name, s, len) == 0) {
      *out = named[i].scale;
      return 0;
    }
  }
  if (len == 6 && memcmp(s, "levels", 6) == 0) {
    unsigned n = levels_count(levels);
    if (n == 0)
      return CAIRN_EINVAL;
    *out = (cairn_scale){0, (double)(n - 1), 1, CAIRN_SCALE_LEVELS, n};
    return 0;
  }
  if (scan_decimal(s, len, &pos, &lo) != 0 || pos >= len || s[pos] != '-')
    return CAIRN_EINVAL;
  pos++;
  if (scan_decimal(s, len, &pos, &hi) != 0 || pos != len || !(lo < hi))
    return CAIRN_EINVAL;
  *out = (cairn_scale){lo, hi, 0, CAIRN_SCALE_RANGE, 0};
  return 0;
}

int cairn_record_scale_check(const cairn_scale *sc, double v) {
  if (!isfinite(v) || v < sc->min || v > sc->max)
    return CAIRN_ERANGE;
  if (sc->integer && v != floor(v))
    return CAIRN_ERANGE;
  return 0;
}

void cairn_record_scale_refusal(const cairn_scale *sc, const char *field, double v, char *out,
                                size_t outlen) {
  switch (sc->kind) {
  case CAIRN_SCALE_COUNT:
    if (v > sc->max)
      snprintf(out, outlen, "%s: a count is at most %.0f, not %g", field, sc->max, v);
    else
      snprintf(out, outlen, "%s: a count is a whole number (0, 1, 2 ...), not %g", field, v);
    return;
  case CAIRN_SCALE_YESNO:
    snprintf(out, outlen, "%s: the answer is yes or no (1 or 0), not %g", field, v);
    return;
  case CAIRN_SCALE_PERCENT:
    snprintf(out, outlen, "%s: a percent is from 0 to 100, not %g", field, v);
    return;
  case CAIRN_SCALE_LETTER:
    snprintf(out, outlen, "%s: a letter grade is F, D, C, B or A (ranks 0 to 4), not %g", field,
             v);
    return;
  case CAIRN_SCALE_LEVELS:
    snprintf(out, outlen, "%s: the milestone has %u levels: a level's rank is 0 (the lowest) to "
             "%u, not %g", field, sc->nlabels, sc->nlabels - 1, v);
    return;
  case CAIRN_SCALE_RANGE:
    break;
  }
  snprintf(out, outlen, "%s: the scale is %g-%g: a number from %g to %g, not %g", field, sc->min,
           sc->max, sc->min, sc->max, v);
}

/* Scans 1..2 digits without a leading zero. */
static int scan_small(const char *s, size_t len, size_t *pos, int *out) {
  size_t p = *pos;
  int v = 0;
  while (p < len && p - *pos < 2 && s[p] >= '0' && s[p] <= '9')
    v = v * 10 + (s[p++] - '0');
  if (p == *pos || s[*pos] == '0')
    return CAIRN_EINVAL;
  *pos = p;
  *out = v;
  return 0;
}

int cairn_record_rule_parse(const char *s, size_t len, int *k, int *n) {
  size_t pos = 0;
  int kk, nn;
  if (scan_small(s, len, &pos, &kk) != 0 || len - pos < 4 || memcmp(s + pos, " of ", 4) != 0)
    return CAIRN_EINVAL;
  pos += 4;
  if (scan_small(s, len, &pos, &nn) != 0 || pos != len || kk > nn || nn > 50)
    return CAIRN_EINVAL;
  *k = kk;
  *n = nn;
  return 0;
}

/* ---- checking a set ---- */

static int fail(char *why, size_t whylen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes one line to why (when there is room) and returns code. */
static int fail(char *why, size_t whylen, int code, const char *fmt, ...) {
  if (why && whylen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* "YYYY-MM-DD" in shape, so it is safe to repeat in a message. */
static int date_shaped(const char *s, size_t len) {
  if (len != 10)
    return 0;
  for (size_t i = 0; i < len; i++)
    if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
      return 0;
  return 1;
}

/* Generated id (FORMAT.md 3.1): 8 lowercase hex, '-', seq >= 1 in decimal. */
/* Reads a num into *v. Returns 0, CAIRN_EINVAL (not a number) or CAIRN_ERANGE. */
static int num_value(const msgpack_object *o, double *v) {
  switch (o->type) {
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    *v = (double)o->via.u64;
    return 0;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    *v = (double)o->via.i64;
    return 0;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    *v = o->via.f64;
    return isfinite(*v) ? 0 : CAIRN_ERANGE;
  default:
    return CAIRN_EINVAL;
  }
}

static int check_num(const char *label, const msgpack_object *o, char *why, size_t whylen) {
  double v;
  int rc = num_value(o, &v);
  if (rc == CAIRN_ERANGE)
    return fail(why, whylen, rc, "%s: not a finite number", label);
  if (rc != 0)
    return fail(why, whylen, rc, "%s: must be a number", label);
  return 0;
}

static int blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(" \t\n\r\v\f", s[i]))
      return 0;
  return 1;
}

/* A string of at most max_len bytes of valid UTF-8. The text itself never
 * enters why: it may be a student's name or a note. */
static int check_str(const char *label, const msgpack_object *o, uint32_t max_len, int nonempty,
                     char *why, size_t whylen) {
  if (o->type != MSGPACK_OBJECT_STR)
    return fail(why, whylen, CAIRN_EINVAL, "%s: must be a string", label);
  if (o->via.str.size > max_len)
    return fail(why, whylen, CAIRN_ETOOBIG, "%s: longer than %u bytes", label, (unsigned)max_len);
  if (!cairn_text_utf8_valid(o->via.str.ptr, o->via.str.size))
    return fail(why, whylen, CAIRN_EUTF8, "%s: invalid UTF-8", label);
  if (nonempty && blank(o->via.str.ptr, o->via.str.size))
    return fail(why, whylen, CAIRN_EINVAL, "%s: must not be empty", label);
  return 0;
}

static int check_date(const char *label, const msgpack_object *o, int32_t *day, char *why,
                      size_t whylen) {
  int rc;
  if (o->type != MSGPACK_OBJECT_STR)
    return fail(why, whylen, CAIRN_EINVAL, "%s: must be a date YYYY-MM-DD", label);
  if ((rc = cairn_text_date_parse(o->via.str.ptr, o->via.str.size, day)) == 0)
    return 0;
  if (!date_shaped(o->via.str.ptr, o->via.str.size))
    return fail(why, whylen, CAIRN_EDATE, "%s: must be a date YYYY-MM-DD", label);
  if (rc == CAIRN_ERANGE)
    return fail(why, whylen, CAIRN_EDATE, "%s: %.10s: the year must be from %d to %d", label,
                o->via.str.ptr, CAIRN_TEXT_YEAR_MIN, CAIRN_TEXT_YEAR_MAX);
  return fail(why, whylen, CAIRN_EDATE, "%s: %.10s is not a real date", label, o->via.str.ptr);
}

static int check_enum(const cairn_field_def *f, const msgpack_object *o, char *why,
                      size_t whylen) {
  char allowed[200] = "";
  size_t used = 0;
  for (const char *const *e = f->enum_values; *e; e++) {
    if (o->type == MSGPACK_OBJECT_STR && strlen(*e) == o->via.str.size &&
        memcmp(*e, o->via.str.ptr, o->via.str.size) == 0)
      return 0;
    used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s",
                             e == f->enum_values ? "" : ", ", *e);
  }
  return fail(why, whylen, CAIRN_EINVAL, "%s: must be one of %s", f->name, allowed);
}

static int check_ref(const cairn_field_def *f, const msgpack_object *o, char *why,
                     size_t whylen) {
  int given = !cairn_record_generated_id((int)f->ref_type);
  cairn_entry_gen_id g;
  int ok = o->type == MSGPACK_OBJECT_STR &&
           (given ? cairn_text_id_logged(o->via.str.ptr, o->via.str.size)
                  : cairn_entry_id_parse(o->via.str.ptr, o->via.str.size, &g) == 0);
  if (ok)
    return 0;
  if (given)
    return fail(why, whylen, CAIRN_EINVAL, "%s: not a %s id (%s)", f->name,
                cairn_record_type_name((int)f->ref_type), CAIRN_TEXT_ID_RULE);
  return fail(why, whylen, CAIRN_EINVAL, "%s: not a %s id (like n12-42)", f->name,
              cairn_record_type_name((int)f->ref_type));
}

static int check_strs(const cairn_field_def *f, const msgpack_object *o, char *why,
                      size_t whylen) {
  char label[64];
  if (o->type != MSGPACK_OBJECT_ARRAY)
    return fail(why, whylen, CAIRN_EINVAL, "%s: must be a list of strings", f->name);
  if (o->via.array.size > f->max_items)
    return fail(why, whylen, CAIRN_ETOOBIG, "%s: more than %u items", f->name,
                (unsigned)f->max_items);
  for (uint32_t i = 0; i < o->via.array.size; i++) {
    int rc;
    snprintf(label, sizeof label, "%s item %u", f->name, (unsigned)i + 1);
    rc = check_str(label, &o->via.array.ptr[i], f->max_len, 0, why, whylen);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int str_equal(const msgpack_object *a, const msgpack_object *b) {
  return a->via.str.size == b->via.str.size &&
         memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
}

int cairn_record_set_ops(const msgpack_object *v, const msgpack_object **add,
                         const msgpack_object **remove, int *whole) {
  *add = *remove = NULL;
  *whole = 0;
  if (v->type == MSGPACK_OBJECT_ARRAY) {
    *add = v;
    *whole = 1;
    return 0;
  }
  if (v->type != MSGPACK_OBJECT_MAP || v->via.map.size == 0)
    return CAIRN_EINVAL;
  for (uint32_t i = 0; i < v->via.map.size; i++) {
    const msgpack_object *k = &v->via.map.ptr[i].key, *list = &v->via.map.ptr[i].val;
    const msgpack_object **slot;
    if (k->type != MSGPACK_OBJECT_STR)
      return CAIRN_EINVAL;
    if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "add", 3) == 0)
      slot = add;
    else if (k->via.str.size == 6 && memcmp(k->via.str.ptr, "remove", 6) == 0)
      slot = remove;
    else
      return CAIRN_EINVAL;
    if (*slot != NULL || list->type != MSGPACK_OBJECT_ARRAY)
      return CAIRN_EINVAL;
    *slot = list;
  }
  return 0;
}

/* A set field's write: the whole array of a write from before, or
 * {add: [...], remove: [...]} with no item in both. */
static int check_set_field(const cairn_field_def *f, const msgpack_object *o, char *why,
                           size_t whylen) {
  const msgpack_object *lists[2];
  int whole, rc;
  if (cairn_record_set_ops(o, &lists[0], &lists[1], &whole) != 0)
    return fail(why, whylen, CAIRN_EINVAL,
                "%s: must be a list of strings or {add: [...], remove: [...]}", f->name);
  for (int l = 0; l < 2; l++) {
    if (lists[l] != NULL && (rc = check_strs(f, lists[l], why, whylen)) != 0)
      return rc;
  }
  for (uint32_t i = 0; lists[0] != NULL && lists[1] != NULL && i < lists[0]->via.array.size; i++)
    for (uint32_t k = 0; k < lists[1]->via.array.size; k++)
      if (str_equal(&lists[0]->via.array.ptr[i], &lists[1]->via.array.ptr[k]))
        return fail(why, whylen, CAIRN_EINVAL, "%s: item %u is both added and removed",
                    f->name, (unsigned)i + 1);
  return 0;
}

static int check_value(const cairn_field_def *f, const msgpack_object *o, char *why,
                       size_t whylen) {
  int32_t day;
  switch (f->type) {
  case CAIRN_FT_STR:
    return check_str(f->name, o, f->max_len, (f->flags & CAIRN_F_NONEMPTY) != 0, why, whylen);
  case CAIRN_FT_NUMNIL:
    if (o->type == MSGPACK_OBJECT_NIL)
      return 0;
    return check_num(f->name, o, why, whylen);
  case CAIRN_FT_NUM:
    return check_num(f->name, o, why, whylen);
  case CAIRN_FT_INT:
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 >= 1 && o->via.u64 <= 1000)
      return 0;
    return fail(why, whylen, CAIRN_ERANGE, "%s: must be a whole number from 1 to 1000", f->name);
  case CAIRN_FT_DATE:
    return check_date(f->name, o, &day, why, whylen);
  case CAIRN_FT_ENUM:
    return check_enum(f, o, why, whylen);
  case CAIRN_FT_STRS:
    return check_strs(f, o, why, whylen);
  case CAIRN_FT_BOOL:
    if (o->type == MSGPACK_OBJECT_BOOLEAN)
      return 0;
    return fail(why, whylen, CAIRN_EINVAL, "%s: must be true or false", f->name);
  case CAIRN_FT_REF:
    return check_ref(f, o, why, whylen);
  case CAIRN_FT_SEQ:
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      return 0;
    return fail(why, whylen, CAIRN_ERANGE, "%s: must be a whole number from 0", f->name);
  case CAIRN_FT_SET:
    return check_set_field(f, o, why, whylen);
  }
  return fail(why, whylen, CAIRN_EINTERNAL, "%s: field type %d has no check", f->name,
              (int)f->type);
}

static int check_on_scale(const char *name, const msgpack_object *o, const cairn_scale *sc,
                          char *why, size_t whylen) {
  double v;
  if (!o || o->type == MSGPACK_OBJECT_NIL || num_value(o, &v) != 0 ||
      cairn_record_scale_check(sc, v) == 0)
    return 0;
  cairn_record_scale_refusal(sc, name, v, why, whylen);
  return CAIRN_ERANGE;
}

/* Milestone rules that span fields of the same set. Each field's own type is
 * already checked. Fields absent from the set are the store's to compare. */
static int check_milestone(const msgpack_object *set, char *why, size_t whylen) {
  const msgpack_object *scale = cairn_record_map_get(set, "scale");
  const msgpack_object *rule = cairn_record_map_get(set, "rule");
  const msgpack_object *start = cairn_record_map_get(set, "start");
  const msgpack_object *end = cairn_record_map_get(set, "end");
  const msgpack_object *checks = cairn_record_map_get(set, "checks");
  const msgpack_object *levels = cairn_record_map_get(set, "levels");
  int32_t start_day = 0, end_day = 0;
  int rc, k, n;

  if (rule && cairn_record_rule_parse(rule->via.str.ptr, rule->via.str.size, &k, &n) != 0)
    return fail(why, whylen, CAIRN_EINVAL, "rule: must be \"K of N\" with 1 <= K <= N <= 50");
  if (start && end) {
    (void)cairn_text_date_parse(start->via.str.ptr, start->via.str.size, &start_day);
    (void)cairn_text_date_parse(end->via.str.ptr, end->via.str.size, &end_day);
    if (end_day < start_day)
      return fail(why, whylen, CAIRN_EDATE, "end: before start");
  }
  for (uint32_t i = 0; checks && i < checks->via.array.size; i++) {
    char label[32];
    int32_t day;
    snprintf(label, sizeof label, "checks item %u", (unsigned)i + 1);
    rc = check_date(label, &checks->via.array.ptr[i], &day, why, whylen);
    if (rc != 0)
      return rc;
    if (start && end && (day < start_day || day > end_day))
      return fail(why, whylen, CAIRN_EDATE, "%s: outside start..end", label);
  }
  if (levels && levels->via.array.size < 2)
    return fail(why, whylen, CAIRN_EINVAL, "levels: a levels scale has 2 to %d levels",
                CAIRN_SCALE_LABELS_MAX);
  /* A levels scale whose labels this set does not carry: the store compares
   * the milestone as it will be. */
  if (scale && !(scale->via.str.size == 6 && memcmp(scale->via.str.ptr, "levels", 6) == 0 &&
                 levels == NULL)) {
    cairn_scale sc;
    if (cairn_record_scale_parse(scale->via.str.ptr, scale->via.str.size, levels, &sc) != 0)
      return fail(why, whylen, CAIRN_EINVAL, "scale: " CAIRN_RECORD_SCALE_RULE);
    rc = check_on_scale("baseline", cairn_record_map_get(set, "baseline"), &sc, why, whylen);
    if (rc == 0)
      rc = check_on_scale("target", cairn_record_map_get(set, "target"), &sc, why, whylen);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* A CASE identifier: a UUID, 8-4-4-4-12 hex digits. */
static int check_guid(const msgpack_object *set, char *why, size_t whylen) {
  const msgpack_object *g = cairn_record_map_get(set, "guid");
  if (g == NULL)
    return 0;
  int ok = g->via.str.size == 36;
  for (uint32_t i = 0; ok && i < 36; i++) {
    char c = g->via.str.ptr[i];
    ok = (i == 8 || i == 13 || i == 18 || i == 23)
             ? c == '-'
             : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  return ok ? 0
            : fail(why, whylen, CAIRN_EINVAL,
                   "guid: not a CASE identifier (a UUID: 8-4-4-4-12 hex digits)");
}

/* A template: its statement is a pattern (template.h); its scale, target
 * and rule obey the milestone's rules. */
static int check_template(const msgpack_object *set, char *why, size_t whylen) {
  const msgpack_object *st = cairn_record_map_get(set, "statement");
  if (st != NULL &&
      cairn_template_check(st->via.str.ptr, st->via.str.size, NULL, why, whylen) != 0)
    return CAIRN_EINVAL;
  return check_milestone(set, why, whylen);
}

int cairn_record_check_set(int type, const msgpack_object *set, int creating, char *why,
                           size_t whylen) {
  const record_schema *rs = schema_of(type);
  uint64_t seen = 0;
  if (!rs)
    return fail(why, whylen, CAIRN_EINVAL, "record type %d is unknown", type);
  if (!set || set->type != MSGPACK_OBJECT_MAP)
    return fail(why, whylen, CAIRN_EINVAL, "set: must be a map");
  for (uint32_t i = 0; i < set->via.map.size; i++) {
    const msgpack_object *key = &set->via.map.ptr[i].key;
    const cairn_field_def *f;
    int idx, rc;
    if (key->type != MSGPACK_OBJECT_STR)
      return fail(why, whylen, CAIRN_EINVAL, "set: field names must be strings");
    idx = field_index(rs, key->via.str.ptr, key->via.str.size);
    if (idx < 0) {
      char shown[CAIRN_TEXT_SHOWN_MAX];
      cairn_text_shown(shown, key->via.str.ptr, key->via.str.size);
      return fail(why, whylen, CAIRN_EINVAL, "unknown field '%s' for %s", shown, rs->name);
    }
    f = &rs->fields[idx];
    if (seen & (UINT64_C(1) << idx))
      return fail(why, whylen, CAIRN_EINVAL, "%s: set twice", f->name);
    seen |= UINT64_C(1) << idx;
    if (!creating && (f->flags & CAIRN_F_FIXED))
      return fail(why, whylen, CAIRN_EINVAL, "%s: cannot be changed", f->name);
    rc = check_value(f, &set->via.map.ptr[i].val, why, whylen);
    if (rc != 0)
      return rc;
  }
  for (size_t i = 0; creating && i < rs->n; i++)
    if ((rs->fields[i].flags & CAIRN_F_REQUIRED) && !(seen & (UINT64_C(1) << i)))
      return fail(why, whylen, CAIRN_EINVAL, "%s: required", rs->fields[i].name);
  if (type == CAIRN_REC_MILESTONE)
    return check_milestone(set, why, whylen);
  if (type == CAIRN_REC_TEMPLATE)
    return check_template(set, why, whylen);
  if (type == CAIRN_REC_STANDARD)
    return check_guid(set, why, whylen);
  return 0;
}

/* The control-character rule for every string of a list of field f. */
static int check_text_list(const cairn_field_def *f, const msgpack_object *v, int multiline,
                           char *why, size_t whylen) {
  char label[64];
  for (uint32_t i = 0; v != NULL && v->type == MSGPACK_OBJECT_ARRAY && i < v->via.array.size;
       i++) {
    const msgpack_object *item = &v->via.array.ptr[i];
    int rc;
    if (item->type != MSGPACK_OBJECT_STR)
      continue;
    snprintf(label, sizeof label, "%s item %u", f->name, (unsigned)i + 1);
    if ((rc = cairn_text_check(label, item->via.str.ptr, item->via.str.size, multiline, why,
                               whylen)) != 0)
      return rc;
  }
  return 0;
}

/* The control-character rule for every string of field f's value v. */
static int check_text(const cairn_field_def *f, const msgpack_object *v, char *why,
                      size_t whylen) {
  int multiline = (f->flags & CAIRN_F_MULTILINE) != 0, whole, rc;
  const msgpack_object *add, *remove;
  if (v->type == MSGPACK_OBJECT_STR)
    return cairn_text_check(f->name, v->via.str.ptr, v->via.str.size, multiline, why, whylen);
  if (f->type == CAIRN_FT_SET && cairn_record_set_ops(v, &add, &remove, &whole) == 0) {
    rc = check_text_list(f, add, multiline, why, whylen);
    return rc != 0 ? rc : check_text_list(f, remove, multiline, why, whylen);
  }
  return check_text_list(f, v, multiline, why, whylen);
}

int cairn_record_check_input(int type, const msgpack_object *set, char *why, size_t whylen) {
  const record_schema *rs = schema_of(type);
  if (!rs || !set || set->type != MSGPACK_OBJECT_MAP)
    return fail(why, whylen, CAIRN_EINVAL, "set: must be a map of a known record type");
  for (uint32_t i = 0; i < set->via.map.size; i++) {
    const msgpack_object *key = &set->via.map.ptr[i].key, *v = &set->via.map.ptr[i].val;
    const cairn_field_def *f;
    int idx, rc;
    if (key->type != MSGPACK_OBJECT_STR ||
        (idx = field_index(rs, key->via.str.ptr, key->via.str.size)) < 0)
      return fail(why, whylen, CAIRN_EINVAL, "set: a field cairn_record_check_set refuses");
    f = &rs->fields[idx];
    if (f->type == CAIRN_FT_REF && v->type == MSGPACK_OBJECT_STR)
      rc = cairn_text_id_check(f->name, v->via.str.ptr, v->via.str.size, why, whylen);
    else
      rc = check_text(f, v, why, whylen);
    if (rc != 0)
      return rc;
  }
  return 0;
}
