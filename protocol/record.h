/*
 * record.h: the record types and the schema of their fields
 * (docs/FORMAT.md section 3). One table drives validation, export and help.
 *
 * Pure: checks the shape of a `set` map (field names, types, lengths, UTF-8,
 * dates, enums). Checks that need other records (does the milestone exist,
 * is the value on its scale) belong to the store.
 */
#ifndef CAIRN_RECORD_H
#define CAIRN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

typedef enum cairn_record_type {
  CAIRN_REC_STUDENT = 1,
  CAIRN_REC_MILESTONE = 2,
  CAIRN_REC_EVIDENCE = 3,
  CAIRN_REC_REVIEW = 4,
  CAIRN_REC_SUPPORT_CHANGE = 5,
  CAIRN_REC_CELEBRATION = 6,
  CAIRN_REC_DEVICE = 7, /* an enrolled device; written only by the central */
  CAIRN_REC_RESTAMP = 8, /* the central's order for entries dated beyond its clock */
  CAIRN_REC_TEMPLATE = 9, /* a shared milestone template; written only by the central */
  CAIRN_REC_STANDARD = 10, /* a standard of the catalog; written only by the central */
  CAIRN_REC_CAMPUS = 11,    /* a campus (a school of the roster); written only by the central */
  CAIRN_REC_CLASSROOM = 12, /* a classroom (a class of the roster); written only by the central */
  CAIRN_REC_ERASURE = 13, /* a student erased: its id is the student's; written only by the
                             central, never changed (docs/FORMAT.md section 3.4) */
  CAIRN_REC_MAX = 13
} cairn_record_type;

typedef enum cairn_field_type {
  CAIRN_FT_STR,    /* UTF-8 string, max_len bytes */
  CAIRN_FT_NUM,    /* float64 or int, finite */
  CAIRN_FT_NUMNIL, /* num or nil */
  CAIRN_FT_INT,    /* integer, 1..1000 */
  CAIRN_FT_DATE,   /* "YYYY-MM-DD", a real day */
  CAIRN_FT_ENUM,   /* one of enum_values */
  CAIRN_FT_STRS,   /* array (<= max_items) of strings of max_len bytes */
  CAIRN_FT_BOOL,
  CAIRN_FT_REF, /* id of a record of type ref_type */
  CAIRN_FT_SEQ, /* a whole number 0..2^64-1: a sequence number or an HLC */
  CAIRN_FT_SET  /* a set of strings (max_len bytes each) written by operations: a map
                   {add: [str], remove: [str]} (each at most max_items), or, in a
                   write from before sets, the whole array (docs/FORMAT.md 3.2, 4) */
} cairn_field_type;

#define CAIRN_F_REQUIRED 0x1u /* must be set when the record is created */
#define CAIRN_F_FIXED 0x2u    /* may not change after creation */
#define CAIRN_F_PERSONAL 0x4u /* names and notes: never logged at info level */
#define CAIRN_F_NONEMPTY 0x8u /* a string that may not be empty or blank */
#define CAIRN_F_PARENT 0x10u  /* the ref that places the record under its parent */
#define CAIRN_F_MULTILINE 0x20u /* free text that may hold tab and line feed (notes);
                                   no other text may (FORMAT.md section 3.3) */
#define CAIRN_F_LEGACY 0x40u  /* a field of writes from before: read into another field
                                 (the student's `classroom` into `classrooms`), never
                                 shown as a field of its own */

typedef struct cairn_field_def {
  const char *name;
  cairn_field_type type;
  unsigned flags;
  uint32_t max_len;                /* STR, STRS: bytes per string */
  uint32_t max_items;              /* STRS */
  const char *const *enum_values;  /* ENUM: NULL-terminated */
  cairn_record_type ref_type;      /* REF */
  const char *into;                /* LEGACY: the set field it is read into */
} cairn_field_def;

/* Returns the static name of a type ("evidence"), or NULL if unknown. */
const char *cairn_record_type_name(int type);

/* Returns 1 when cairnd generates the ids of records of type (entry.h,
 * "Generated record ids": a milestone, evidence, a review, a support
 * change, a celebration, a restamp), 0 when a person or the central gives
 * them (a student, a device, a template, a standard). */
int cairn_record_generated_id(int type);

/* Returns the type for a name, or CAIRN_EINVAL. */
int cairn_record_type_from_name(const char *name, size_t len);

/* Returns the field table of a type (static storage) and its length in *n,
 * or NULL for an unknown type. */
const cairn_field_def *cairn_record_fields(int type, size_t *n);

/* Returns the definition of field name in type, or NULL. */
const cairn_field_def *cairn_record_field(int type, const char *name, size_t len);

/* The operations of one write of a CAIRN_FT_SET field v (checked by
 * cairn_record_check_set): *add and *remove are arrays of strings, or NULL
 * when absent; *whole is 1 when v is the whole array of a write from
 * before sets (then *add is that array and *remove NULL). Returns 0, or
 * CAIRN_EINVAL when v is neither form. Borrowed from v. */
int cairn_record_set_ops(const msgpack_object *v, const msgpack_object **add,
                         const msgpack_object **remove, int *whole);

/* Checks the shape of a `set` map for type. creating is 1 when the record is new (all
 * REQUIRED fields must be present) and 0 for an edit (FIXED fields may not
 * appear). Returns 0, or a negative code with one line in why that names the
 * field ("value: not a finite number"): CAIRN_EINVAL, CAIRN_EUTF8,
 * CAIRN_EDATE, CAIRN_ETOOBIG, CAIRN_ERANGE. */
int cairn_record_check_set(int type, const msgpack_object *set, int creating, char *why,
                           size_t whylen) __attribute__((warn_unused_result));

/* Checks what a `set` that passed cairn_record_check_set must also meet to
 * enter cairn now (docs/FORMAT.md section 3.3): no control character in any
 * string (cairn_text_check; tab and line feed only in CAIRN_F_MULTILINE
 * fields) and every ref an id of the grammar (text.h). Local writes and
 * entries from other nodes are checked; a node replaying its own log is
 * not, so that entries written before these rules fold as they did. Returns 0, or CAIRN_EINVAL / CAIRN_ETOOBIG
 * with one line in why naming the field. */
int cairn_record_check_input(int type, const msgpack_object *set, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* The kinds of milestone scale. */
typedef enum cairn_scale_kind {
  CAIRN_SCALE_RANGE,   /* "MIN-MAX", e.g. a 0-4 rubric */
  CAIRN_SCALE_PERCENT, /* 0 to 100 */
  CAIRN_SCALE_COUNT,   /* a whole number from 0 (a tally) */
  CAIRN_SCALE_YESNO,   /* 1 (yes) or 0 (no) */
  CAIRN_SCALE_LETTER,  /* letter grades F, D, C, B, A: ranks 0 to 4 */
  CAIRN_SCALE_LEVELS   /* named levels (the milestone's `levels`, lowest first):
                          ranks 0 to n-1 */
} cairn_scale_kind;

/* A milestone scale. An ordinal scale (letter, levels) stores and computes
 * ranks: the whole numbers 0 (the lowest label) to nlabels - 1. */
typedef struct cairn_scale {
  double min, max;
  int integer; /* count, yesno, letter and levels take whole numbers only */
  cairn_scale_kind kind;
  unsigned nlabels; /* letter, levels: how many labels; else 0 */
} cairn_scale;

/* Labels of a levels scale: 2 to CAIRN_SCALE_LABELS_MAX, each 1 to
 * CAIRN_SCALE_LABEL_MAX bytes. */
#define CAIRN_SCALE_LABELS_MAX 16
#define CAIRN_SCALE_LABEL_MAX 40

/* The letter grades of a `letter` scale, lowest first: "F", "D", "C", "B",
 * "A" for ranks 0 to 4; NULL for any other rank. Static storage. */
#define CAIRN_RECORD_LETTERS 5
const char *cairn_record_letter(unsigned rank);

/* Parses "MIN-MAX", "percent", "count", "yesno", "letter" or "levels";
 * levels is the milestone's `levels` array (NULL when it has none), which
 * a "levels" scale needs (2 to CAIRN_SCALE_LABELS_MAX strings) and no other
 * scale reads. Returns 0 or CAIRN_EINVAL. */
int cairn_record_scale_parse(const char *s, size_t len, const msgpack_object *levels,
                             cairn_scale *out);

/* What a scale may be, for messages: "must be MIN-MAX (e.g. 0-4), ...". */
#define CAIRN_RECORD_SCALE_RULE                                                              \
  "must be MIN-MAX (e.g. 0-4), percent, count, yesno, letter (F to A) or levels (named "    \
  "levels, lowest first, in levels)"


/* Returns 0 when v is finite and on the scale, else CAIRN_ERANGE. */
int cairn_record_scale_check(const cairn_scale *sc, double v);

/* Writes into out (one line) why v, given for field, is not on the scale,
 * in words a teacher reads: "value: a count is a whole number (0, 1, 2
 * ...), not 2.5", "value: the answer is yes or no (1 or 0), not 2",
 * "value: a percent is from 0 to 100, not 120", "value: the scale is 0-4:
 * a number from 0 to 4, not 5", "value: a letter grade is F, D, C, B or A
 * (ranks 0 to 4), not 7". For a v that cairn_record_scale_check refuses. */
void cairn_record_scale_refusal(const cairn_scale *sc, const char *field, double v, char *out,
                                size_t outlen);

/* Parses "K of N" (1 <= K <= N <= 50). Returns 0 or CAIRN_EINVAL. */
int cairn_record_rule_parse(const char *s, size_t len, int *k, int *n);

/* Looks up key in a msgpack map (string keys). Returns the value or NULL.
 * Borrowed from the map. */
const msgpack_object *cairn_record_map_get(const msgpack_object *map, const char *key);

/* 1 when a and b pack to the same bytes (both NULL counts; one NULL does
 * not). Unlike msgpack_object_equal, a NaN equals itself. 0 also when
 * memory runs out. */
int cairn_record_same_packed(const msgpack_object *a, const msgpack_object *b);

#endif
