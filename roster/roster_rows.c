/* roster_rows.c: the column tables of the OneRoster 1.2 CSV files cairn
 * reads, and what turns a row's values into a record. One row of a table
 * per column drives the header check, the value checks and where the value
 * goes; one row of the reference table per column that names another
 * record drives the whole-export checks. */
#include "roster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "text.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef enum {
  K_ID,       /* a sourcedId: text */
  K_TEXT,     /* text */
  K_STATUS,   /* active | tobedeleted (the row's status) */
  K_DATETIME, /* ISO 8601 date or date and time; kept as text */
  K_DATE,     /* YYYY-MM-DD -> int32_t day */
  K_BOOL,     /* true | false, any case -> int */
  K_YEAR,     /* YYYY -> int */
  K_LIST,     /* comma-separated items -> cairn_roster_list */
  K_ENUM      /* one of choices -> int (enum); with EXT, "ext:..." -> the count of choices */
} kind;

enum {
  NEED = 1,  /* the column must be in the header and its value non-empty (in an active row) */
  EXT = 2,   /* K_ENUM: an extension value "ext:..." is accepted */
  START = 4, /* K_DATE: the start of the row's period */
  END = 8    /* K_DATE: the end of the row's period, never before its start */
};

typedef struct column {
  const char *name;
  unsigned char kind, flags;
  size_t offset; /* where the value goes in the file's record */
  const char *const *choices; /* K_ENUM: NULL-terminated */
} column;

/* Enums are stored as int. */
_Static_assert(sizeof(cairn_roster_role) == sizeof(int), "enums are int-sized");
_Static_assert(sizeof(cairn_roster_org_type) == sizeof(int), "enums are int-sized");
_Static_assert(sizeof(cairn_roster_status) == sizeof(int), "enums are int-sized");

/* In the order of cairn_roster_role. */
const char *const cairn__roster_role_names[] = {
    "administrator", "aide",    "counselor", "districtAdministrator", "guardian",
    "parent",        "principal", "proctor", "relative", "siteAdministrator",
    "student",       "systemAdministrator", "teacher", NULL};
_Static_assert(ARRAY_LEN(cairn__roster_role_names) == CAIRN_ROSTER_ROLE_OTHER + 1,
               "one name per role");
static const char *const org_types[] = {"department", "district", "local", "national",
                                        "school", "state", NULL};
_Static_assert(ARRAY_LEN(org_types) == CAIRN_ROSTER_ORG_OTHER + 1, "one name per org type");
static const char *const class_types[] = {"homeroom", "scheduled", NULL};
static const char *const session_types[] = {"gradingPeriod", "semester", "schoolYear", "term", NULL};
_Static_assert(ARRAY_LEN(session_types) == CAIRN_ROSTER_SESSION_OTHER + 1, "one name per type");
/* roleType: the index is the value of cairn_roster_user_role.primary. */
static const char *const role_types[] = {"secondary", "primary", NULL};

#define ROW(field) offsetof(cairn_roster_row, field)
#define COMMON                                                                               \
  {"sourcedId", K_ID, NEED, ROW(id), NULL}, {"status", K_STATUS, 0, ROW(status), NULL},      \
      {"dateLastModified", K_DATETIME, 0, ROW(modified), NULL}

#define AT(type, field) offsetof(type, field)

static const column org_columns[] = {
    COMMON,
    {"name", K_TEXT, NEED, AT(cairn_roster_org, name), NULL},
    {"type", K_ENUM, NEED | EXT, AT(cairn_roster_org, type), org_types},
    {"identifier", K_TEXT, 0, AT(cairn_roster_org, identifier), NULL},
    {"parentSourcedId", K_ID, 0, AT(cairn_roster_org, parent_id), NULL},
};

static const column session_columns[] = {
    COMMON,
    {"title", K_TEXT, NEED, AT(cairn_roster_session, title), NULL},
    {"type", K_ENUM, NEED | EXT, AT(cairn_roster_session, type), session_types},
    {"startDate", K_DATE, NEED | START, AT(cairn_roster_session, start), NULL},
    {"endDate", K_DATE, NEED | END, AT(cairn_roster_session, end), NULL},
    {"parentSourcedId", K_ID, 0, AT(cairn_roster_session, parent_id), NULL},
    {"schoolYear", K_YEAR, NEED, AT(cairn_roster_session, school_year), NULL},
};

static const column course_columns[] = {
    COMMON,
    {"title", K_TEXT, NEED, AT(cairn_roster_course, title), NULL},
    {"courseCode", K_TEXT, 0, AT(cairn_roster_course, code), NULL},
    {"orgSourcedId", K_ID, NEED, AT(cairn_roster_course, org_id), NULL},
    {"schoolYearSourcedId", K_ID, 0, AT(cairn_roster_course, school_year_id), NULL},
};

static const column class_columns[] = {
    COMMON,
    {"title", K_TEXT, NEED, AT(cairn_roster_class, title), NULL},
    {"classCode", K_TEXT, 0, AT(cairn_roster_class, code), NULL},
    {"classType", K_ENUM, NEED | EXT, AT(cairn_roster_class, type), class_types},
    {"location", K_TEXT, 0, AT(cairn_roster_class, location), NULL},
    {"grades", K_LIST, 0, AT(cairn_roster_class, grades), NULL},
    {"courseSourcedId", K_ID, NEED, AT(cairn_roster_class, course_id), NULL},
    {"schoolSourcedId", K_ID, NEED, AT(cairn_roster_class, school_id), NULL},
    {"termSourcedIds", K_LIST, NEED, AT(cairn_roster_class, term_ids), NULL},
};

static const column user_columns[] = {
    COMMON,
    {"enabledUser", K_BOOL, NEED, AT(cairn_roster_user, enabled), NULL},
    {"username", K_TEXT, NEED, AT(cairn_roster_user, username), NULL},
    {"givenName", K_TEXT, NEED, AT(cairn_roster_user, given_name), NULL},
    {"familyName", K_TEXT, NEED, AT(cairn_roster_user, family_name), NULL},
    {"middleName", K_TEXT, 0, AT(cairn_roster_user, middle_name), NULL},
    {"preferredGivenName", K_TEXT, 0, AT(cairn_roster_user, preferred_given_name), NULL},
    {"identifier", K_TEXT, 0, AT(cairn_roster_user, identifier), NULL},
    {"grades", K_LIST, 0, AT(cairn_roster_user, grades), NULL},
    {"primaryOrgSourcedId", K_ID, 0, AT(cairn_roster_user, primary_org_id), NULL},
};

static const column role_columns[] = {
    COMMON,
    {"userSourcedId", K_ID, NEED, AT(cairn_roster_user_role, user_id), NULL},
    {"roleType", K_ENUM, NEED, AT(cairn_roster_user_role, primary), role_types},
    {"role", K_ENUM, NEED | EXT, AT(cairn_roster_user_role, role), cairn__roster_role_names},
    {"beginDate", K_DATE, START, AT(cairn_roster_user_role, begin), NULL},
    {"endDate", K_DATE, END, AT(cairn_roster_user_role, end), NULL},
    {"orgSourcedId", K_ID, NEED, AT(cairn_roster_user_role, org_id), NULL},
};

static const column enrollment_columns[] = {
    COMMON,
    {"classSourcedId", K_ID, NEED, AT(cairn_roster_enrollment, class_id), NULL},
    {"schoolSourcedId", K_ID, NEED, AT(cairn_roster_enrollment, school_id), NULL},
    {"userSourcedId", K_ID, NEED, AT(cairn_roster_enrollment, user_id), NULL},
    {"role", K_ENUM, NEED | EXT, AT(cairn_roster_enrollment, role), cairn__roster_role_names},
    {"primary", K_BOOL, 0, AT(cairn_roster_enrollment, primary), NULL},
    {"beginDate", K_DATE, START, AT(cairn_roster_enrollment, begin), NULL},
    {"endDate", K_DATE, END, AT(cairn_roster_enrollment, end), NULL},
};

/* manifest.csv: two columns, handled by manifest_row (offsets unused). */
static const column manifest_columns[] = {
    {"propertyName", K_TEXT, NEED, 0, NULL},
    {"value", K_TEXT, 0, 0, NULL},
};

typedef struct table {
  const char *name;
  const column *cols;
  size_t ncols;
  size_t size; /* sizeof the record */
} table;

#define TABLE(nm, cols, type) {nm, cols, ARRAY_LEN(cols), sizeof(type)}
static const table tables[CAIRN_ROSTER_FILES] = {
    [CAIRN_ROSTER_MANIFEST] = {"manifest.csv", manifest_columns, ARRAY_LEN(manifest_columns), 0},
    [CAIRN_ROSTER_ORGS] = TABLE("orgs.csv", org_columns, cairn_roster_org),
    [CAIRN_ROSTER_SESSIONS] = TABLE("academicSessions.csv", session_columns, cairn_roster_session),
    [CAIRN_ROSTER_COURSES] = TABLE("courses.csv", course_columns, cairn_roster_course),
    [CAIRN_ROSTER_CLASSES] = TABLE("classes.csv", class_columns, cairn_roster_class),
    [CAIRN_ROSTER_USERS] = TABLE("users.csv", user_columns, cairn_roster_user),
    [CAIRN_ROSTER_ROLES] = TABLE("roles.csv", role_columns, cairn_roster_user_role),
    [CAIRN_ROSTER_ENROLLMENTS] = TABLE("enrollments.csv", enrollment_columns, cairn_roster_enrollment),
};

/* The columns that name another record: what the whole-export check
 * resolves (and refuses, when the file named is bulk and lacks it). */
typedef struct reference {
  cairn_roster_file from;
  const char *column;
  size_t id_offset, index_offset;
  cairn_roster_file to;
  int school; /* the org named must be of type school */
} reference;

#define REF(from, type, col, idf, ixf, to, school)                                           \
  {CAIRN_ROSTER_##from, col, offsetof(type, idf), offsetof(type, ixf), CAIRN_ROSTER_##to, school}
static const reference references[] = {
    REF(ORGS, cairn_roster_org, "parentSourcedId", parent_id, parent, ORGS, 0),
    REF(SESSIONS, cairn_roster_session, "parentSourcedId", parent_id, parent, SESSIONS, 0),
    REF(COURSES, cairn_roster_course, "orgSourcedId", org_id, org, ORGS, 0),
    REF(COURSES, cairn_roster_course, "schoolYearSourcedId", school_year_id, school_year, SESSIONS, 0),
    REF(CLASSES, cairn_roster_class, "courseSourcedId", course_id, course, COURSES, 0),
    REF(CLASSES, cairn_roster_class, "schoolSourcedId", school_id, school, ORGS, 1),
    REF(USERS, cairn_roster_user, "primaryOrgSourcedId", primary_org_id, primary_org, ORGS, 0),
    REF(ROLES, cairn_roster_user_role, "userSourcedId", user_id, user, USERS, 0),
    REF(ROLES, cairn_roster_user_role, "orgSourcedId", org_id, org, ORGS, 0),
    REF(ENROLLMENTS, cairn_roster_enrollment, "classSourcedId", class_id, class_, CLASSES, 0),
    REF(ENROLLMENTS, cairn_roster_enrollment, "schoolSourcedId", school_id, school, ORGS, 1),
    REF(ENROLLMENTS, cairn_roster_enrollment, "userSourcedId", user_id, user, USERS, 0),
};

/* What a bulk export must hold. */
static const cairn_roster_file bulk_needs[] = {CAIRN_ROSTER_ORGS, CAIRN_ROSTER_CLASSES,
                                               CAIRN_ROSTER_USERS, CAIRN_ROSTER_ENROLLMENTS};

const char *cairn_roster_file_name(cairn_roster_file f) {
  return (unsigned)f < CAIRN_ROSTER_FILES ? tables[f].name : "";
}

size_t cairn__roster_record_size(cairn_roster_file f) { return tables[f].size; }

/* ---- values ---- */

/* A value from a file, for a message. */
#define SHOWN(var, s, len)                                                                   \
  char var[CAIRN_TEXT_SHOWN_MAX];                                                            \
  cairn_text_shown(var, (s), (len))

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* ISO 8601 as OneRoster writes dateLastModified: YYYY-MM-DD, optionally
 * followed by Thh:mm[:ss[.fraction]] and Z or +hh:mm / -hh:mm. */
static int datetime_valid(const char *s, size_t len) {
  int32_t day;
  size_t i = 16;

  if (len < 10 || cairn_text_date_parse(s, 10, &day) != 0)
    return 0;
  if (len == 10)
    return 1;
  if (len < 16 || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
      two(s + 11) > 23 || two(s + 14) > 59)
    return 0;
  if (i < len && s[i] == ':') {
    if (len - i < 3 || !digits(s + i + 1, 2) || two(s + i + 1) > 60)
      return 0;
    i += 3;
    if (i < len && s[i] == '.') {
      size_t j = ++i;
      while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
      if (i == j)
        return 0;
    }
  }
  if (i == len)
    return 1;
  if (s[i] == 'Z')
    return i + 1 == len;
  if (s[i] != '+' && s[i] != '-')
    return 0;
  i++;
  if (len - i == 5 && digits(s + i, 2) && s[i + 2] == ':' && digits(s + i + 3, 2))
    return two(s + i) <= 23 && two(s + i + 3) <= 59;
  if (len - i == 4 && digits(s + i, 4))
    return two(s + i) <= 23 && two(s + i + 2) <= 59;
  return 0;
}

static int equal_nocase(const char *s, size_t len, const char *word) {
  size_t n = strlen(word);
  if (len != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    if (c != word[i])
      return 0;
  }
  return 1;
}

/* Returns the index of s in choices, the count of choices for "ext:..."
 * when ext, or -1. */
static int choice(const char *s, size_t len, const char *const *choices, int ext) {
  int i;
  for (i = 0; choices[i]; i++)
    if (strlen(choices[i]) == len && memcmp(choices[i], s, len) == 0)
      return i;
  if (ext && len > 4 && memcmp(s, "ext:", 4) == 0)
    return i;
  return -1;
}

/* "a, b" -> items "a", "b" in the store. */
static int split_list(cairn_roster_reader *rd, const column *c, const char *s, size_t len,
                      cairn_roster_list *out) {
  size_t n = 1, k = 0;
  const char **items;

  for (size_t i = 0; i < len; i++)
    n += s[i] == ',';
  items = cairn__roster_alloc(rd->store, n * sizeof *items);
  if (items == NULL)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
  for (size_t i = 0; i <= len;) {
    const char *comma = memchr(s + i, ',', len - i);
    size_t end = comma ? (size_t)(comma - s) : len, a = i, b = end;
    while (a < b && s[a] == ' ')
      a++;
    while (b > a && s[b - 1] == ' ')
      b--;
    if (a == b)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s: an empty item in the list", c->name);
    if ((items[k++] = cairn__roster_strdup(rd->store, s + a, b - a)) == NULL)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
    i = end + 1;
  }
  out->items = items;
  out->n = k;
  return 0;
}

/* Checks value s[0..len) of column c and stores it in rec. */
static int put_value(cairn_roster_reader *rd, const column *c, const char *s, size_t len, char *rec,
                     int active) {
  void *at = rec + c->offset;
  int32_t day;
  int v;

  if (len == 0) {
    if ((c->flags & NEED) && active)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s: empty, but required", c->name);
    switch (c->kind) {
    case K_DATE:
      day = CAIRN_ROSTER_NO_DATE;
      memcpy(at, &day, sizeof day);
      break;
    case K_ENUM:
      if (c->flags & EXT) {
        for (v = 0; c->choices[v]; v++)
          ;
        memcpy(at, &v, sizeof v);
      }
      break;
    case K_ID:
    case K_TEXT:
    case K_DATETIME:
      memcpy(at, &(const char *){""}, sizeof(const char *));
      break;
    default: /* zero already: 0, false, an empty list */
      break;
    }
    return 0;
  }
  switch (c->kind) {
  case K_ID:
  case K_TEXT:
  case K_DATETIME: {
    char *copy;
    if (c->kind == K_DATETIME && !datetime_valid(s, len)) {
      SHOWN(shown, s, len);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EDATE,
                                "%s: '%s' is not an ISO 8601 date and time "
                                "(YYYY-MM-DD or YYYY-MM-DDThh:mm:ss.sssZ)",
                                c->name, shown);
    }
    if ((copy = cairn__roster_strdup(rd->store, s, len)) == NULL)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
    memcpy(at, &copy, sizeof copy);
    return 0;
  }
  case K_DATE:
    if (cairn_text_date_parse(s, len, &day) != 0) {
      SHOWN(shown, s, len);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EDATE,
                                "%s: '%s' is not a date (YYYY-MM-DD)", c->name, shown);
    }
    memcpy(at, &day, sizeof day);
    return 0;
  case K_BOOL:
    if (equal_nocase(s, len, "true"))
      v = 1;
    else if (equal_nocase(s, len, "false"))
      v = 0;
    else {
      SHOWN(shown, s, len);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s: '%s' is not true or false", c->name, shown);
    }
    memcpy(at, &v, sizeof v);
    return 0;
  case K_YEAR:
    if (len != 4 || !digits(s, 4) || (v = atoi(s)) < 1900) {
      SHOWN(shown, s, len);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s: '%s' is not a year (YYYY)", c->name, shown);
    }
    memcpy(at, &v, sizeof v);
    return 0;
  case K_LIST:
    return split_list(rd, c, s, len, at);
  case K_ENUM:
    if ((v = choice(s, len, c->choices, c->flags & EXT)) < 0) {
      char list[256];
      size_t n = 0;
      SHOWN(shown, s, len);
      for (int i = 0; c->choices[i] && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", c->choices[i]);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s: '%s' is not one of %s%s", c->name, shown, list,
                                (c->flags & EXT) ? ", ext:..." : "");
    }
    memcpy(at, &v, sizeof v);
    return 0;
  default: /* K_STATUS: set by the caller */
    return 0;
  }
}

/* ---- header ---- */

int cairn__roster_header(cairn_roster_reader *rd) {
  const table *t = &tables[rd->cur];
  int delta = rd->files[rd->cur].mode == CAIRN_ROSTER_DELTA;

  for (uint32_t i = 0; i < rd->nvalues; i++) {
    const char *name = rd->rowbuf + rd->values[i].off;
    for (uint32_t j = 0; j < i; j++)
      if (name[0] && strcmp(rd->header[j], name) == 0) {
        SHOWN(shown, name, rd->values[i].len);
        return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                  "column '%s' appears twice (columns %u and %u)", shown,
                                  (unsigned)j + 1, (unsigned)i + 1);
      }
    if ((rd->header[i] = strdup(name)) == NULL)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
    rd->ncolumns = i + 1;
  }
  for (size_t k = 0; k < t->ncols; k++) {
    const column *c = &t->cols[k];
    rd->col_of[k] = -1;
    for (uint32_t i = 0; i < rd->ncolumns; i++)
      if (strcmp(rd->header[i], c->name) == 0)
        rd->col_of[k] = (int)i;
    if (rd->col_of[k] < 0 && ((c->flags & NEED) || (delta && c->kind == K_STATUS)))
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "the header has no column '%s', which %s needs", c->name,
                                (c->flags & NEED) ? "a OneRoster 1.2 file" : "a delta file");
    if (rd->col_of[k] < 0 && delta && c->kind == K_DATETIME)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "the header has no column '%s', which a delta file needs", c->name);
  }
  return 0;
}

/* The value of table column k in the row being read ("" when the header
 * has no such column). */
static const char *value_of(const cairn_roster_reader *rd, size_t k, size_t *len) {
  int i = rd->col_of[k];
  if (i < 0) {
    *len = 0;
    return "";
  }
  *len = rd->values[i].len;
  return rd->rowbuf + rd->values[i].off;
}

/* ---- manifest.csv ---- */

/* The files of manifest.csv's file.<name> properties that cairn reads. */
static const struct {
  const char *property;
  cairn_roster_file file;
} manifest_files[] = {
    {"file.orgs", CAIRN_ROSTER_ORGS},       {"file.academicSessions", CAIRN_ROSTER_SESSIONS},
    {"file.courses", CAIRN_ROSTER_COURSES}, {"file.classes", CAIRN_ROSTER_CLASSES},
    {"file.users", CAIRN_ROSTER_USERS},     {"file.roles", CAIRN_ROSTER_ROLES},
    {"file.enrollments", CAIRN_ROSTER_ENROLLMENTS},
};

static int manifest_row(cairn_roster_reader *rd) {
  size_t nlen, vlen;
  const char *name = value_of(rd, 0, &nlen), *value = value_of(rd, 1, &vlen);
  static const char *const modes[] = {"absent", "bulk", "delta", NULL};
  int mode;

  if (nlen == 0)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                              "propertyName: empty, but required");
  if (strcmp(name, "oneroster.version") == 0) {
    if (rd->manifest_version_line)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "oneroster.version repeats line %d", rd->manifest_version_line);
    rd->manifest_version_line = (int)rd->rec_line;
    if (!(vlen == 3 || (vlen > 3 && value[3] == '.')) || strncmp(value, "1.2", 3) != 0) {
      SHOWN(shown, value, vlen);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "oneroster.version is '%s'; cairn reads OneRoster 1.2", shown);
    }
    return 0;
  }
  if (strncmp(name, "file.", 5) != 0)
    return 0; /* manifest.version, source.*: not cairn's concern */
  mode = choice(value, vlen, modes, 0);
  if (mode < 0) {
    SHOWN(shown, value, vlen);
    SHOWN(prop, name, nlen);
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                              "%s: '%s' is not absent, bulk or delta", prop, shown);
  }
  for (size_t i = 0; i < ARRAY_LEN(manifest_files); i++) {
    cairn__roster_file_state *fs = &rd->files[manifest_files[i].file];
    if (strcmp(name, manifest_files[i].property) != 0)
      continue;
    if (fs->mode_line)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "%s repeats line %u", name, (unsigned)fs->mode_line);
    fs->mode = (cairn_roster_mode)mode;
    fs->mode_line = rd->rec_line;
  }
  return 0;
}

/* ---- data rows ---- */

int cairn__roster_row(cairn_roster_reader *rd) {
  const table *t = &tables[rd->cur];
  cairn__roster_file_state *fs = &rd->files[rd->cur];
  int delta = fs->mode == CAIRN_ROSTER_DELTA;
  cairn_roster_status status = CAIRN_ROSTER_ACTIVE;
  const char *id;
  size_t idlen, k, at_start = 0, at_end = 0;
  char *rec;
  cairn_roster_row *row;

  if (++fs->rows > rd->rows_max)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ETOOBIG,
                              "more than the %u rows one file may have", (unsigned)rd->rows_max);
  rd->rows_total++;
  if (rd->nvalues != rd->ncolumns)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                              "%u values, but the header has %u columns", (unsigned)rd->nvalues,
                              (unsigned)rd->ncolumns);
  if (fs->rows % rd->progress_every == 0)
    cairn__roster_progress(rd);
  if (rd->cur == CAIRN_ROSTER_MANIFEST)
    return manifest_row(rd);

  /* The common columns come first in every table: sourcedId, status,
   * dateLastModified. A tobedeleted row needs nothing else. */
  {
    size_t slen, mlen;
    const char *s = value_of(rd, 1, &slen);
    value_of(rd, 2, &mlen);
    if (slen == 0 && delta)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "status: empty, but a delta file needs active or tobedeleted");
    if (slen == 11 && memcmp(s, "tobedeleted", 11) == 0)
      status = CAIRN_ROSTER_TOBEDELETED;
    else if (slen && !(slen == 6 && memcmp(s, "active", 6) == 0)) {
      SHOWN(shown, s, slen);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "status: '%s' is not active or tobedeleted", shown);
    }
    if (status == CAIRN_ROSTER_TOBEDELETED && !delta)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "status: tobedeleted in a bulk file; only a delta file removes "
                                "records");
    if (mlen == 0 && delta)
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "dateLastModified: empty, but a delta file needs it");
  }
  id = value_of(rd, 0, &idlen);
  if (idlen == 0)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                              "sourcedId: empty, but required");
  {
    size_t prev = cairn__roster_lookup(rd->store, rd->cur, id, idlen);
    if (prev != CAIRN_ROSTER_NONE) {
      SHOWN(shown, id, idlen);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                                "sourcedId '%s' repeats line %u", shown,
                                (unsigned)cairn__roster_row_at(rd->store, rd->cur, prev)->at.line);
    }
  }
  if ((rec = cairn__roster_append(rd->store, rd->cur)) == NULL)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
  row = (cairn_roster_row *)rec;
  row->status = status;
  row->at.file = rd->cur;
  row->at.line = rd->rec_line;
  for (k = 0; k < t->ncols; k++) {
    size_t len;
    const char *s = value_of(rd, k, &len);
    if (t->cols[k].kind == K_STATUS)
      continue;
    if (put_value(rd, &t->cols[k], s, len, rec, status == CAIRN_ROSTER_ACTIVE) != 0)
      return rd->err.code;
    if (t->cols[k].flags & START)
      at_start = k;
    if (t->cols[k].flags & END)
      at_end = k;
  }
  if (at_start && at_end) {
    int32_t start, end;
    memcpy(&start, rec + t->cols[at_start].offset, sizeof start);
    memcpy(&end, rec + t->cols[at_end].offset, sizeof end);
    if (start != CAIRN_ROSTER_NO_DATE && end != CAIRN_ROSTER_NO_DATE && end < start) {
      char s1[11], s2[11];
      cairn_text_date_format(start, s1);
      cairn_text_date_format(end, s2);
      return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EDATE, "%s %s is before %s %s",
                                t->cols[at_end].name, s2, t->cols[at_start].name, s1);
    }
  }
  if (cairn__roster_index_last(rd->store, rd->cur) != 0)
    return cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ENOMEM, "out of memory");
  return 0;
}

int cairn__roster_file_end(cairn_roster_reader *rd) {
  if (!rd->header_done)
    return cairn__roster_fail(rd, rd->cur, 0, CAIRN_EMALFORMED, "empty: no header line");
  if (rd->cur == CAIRN_ROSTER_MANIFEST && !rd->manifest_version_line)
    return cairn__roster_fail(rd, rd->cur, 0, CAIRN_EMALFORMED,
                              "no oneroster.version property; cairn reads OneRoster 1.2");
  return 0;
}

/* ---- the export as a whole ---- */

/* Resolves id (from column col of record row) in file `to`. Returns
 * 0 with *index (CAIRN_ROSTER_NONE when it is not in the export and need
 * not be), or an error. */
static int resolve(cairn_roster_reader *rd, const cairn_roster_row *row, const char *col,
                   const char *id, cairn_roster_file to, int school, size_t *index) {
  struct cairn__roster_store *s = rd->store;
  size_t len = strlen(id);
  int checked = rd->files[to].mode == CAIRN_ROSTER_BULK && row->status == CAIRN_ROSTER_ACTIVE;

  *index = len ? cairn__roster_lookup(s, to, id, len) : CAIRN_ROSTER_NONE;
  if (!checked || len == 0)
    return 0;
  if (*index == CAIRN_ROSTER_NONE) {
    SHOWN(shown, id, len);
    return cairn__roster_fail(rd, row->at.file, row->at.line, CAIRN_EMALFORMED,
                              "%s '%s' is not in %s", col, shown, tables[to].name);
  }
  if (school) {
    const cairn_roster_org *o = (const void *)cairn__roster_row_at(s, to, *index);
    if (o->type != CAIRN_ROSTER_ORG_SCHOOL) {
      SHOWN(shown, id, len);
      return cairn__roster_fail(rd, row->at.file, row->at.line, CAIRN_EMALFORMED,
                                "%s '%s' is not a school (orgs.csv:%u gives its type as %s)",
                                col, shown, (unsigned)o->row.at.line,
                                o->type == CAIRN_ROSTER_ORG_OTHER ? "an extension"
                                                                  : org_types[o->type]);
    }
  }
  return 0;
}

/* Builds n_of / lists: for each record of `owner`, the indices of the
 * records of `member` whose index field (at index_offset) names it. */
static int group(cairn_roster_reader *rd, cairn_roster_file member, size_t index_offset,
                 cairn_roster_file owner, size_t list_offset, size_t count_offset) {
  struct cairn__roster_store *s = rd->store;
  cairn__roster_table *m = &s->t[member], *o = &s->t[owner];
  size_t *all, *fill;

  if (m->n == 0)
    return 0;
  all = cairn__roster_alloc(s, m->n * sizeof *all);
  fill = calloc(o->n ? o->n : 1, sizeof *fill);
  if (all == NULL || fill == NULL) {
    free(fill);
    return cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_ENOMEM, "out of memory");
  }
  /* Count, then hand out slices of `all` in owner order. */
  for (size_t i = 0; i < m->n; i++) {
    size_t idx;
    memcpy(&idx, m->recs + i * m->size + index_offset, sizeof idx);
    if (idx != CAIRN_ROSTER_NONE)
      fill[idx]++;
  }
  for (size_t j = 0, at = 0; j < o->n; j++) {
    const size_t *list = all + at;
    memcpy(o->recs + j * o->size + list_offset, &list, sizeof list);
    memcpy(o->recs + j * o->size + count_offset, &fill[j], sizeof fill[j]);
    at += fill[j];
    fill[j] = 0;
  }
  for (size_t i = 0; i < m->n; i++) {
    size_t idx, *list;
    memcpy(&idx, m->recs + i * m->size + index_offset, sizeof idx);
    if (idx == CAIRN_ROSTER_NONE)
      continue;
    memcpy(&list, o->recs + idx * o->size + list_offset, sizeof list);
    list[fill[idx]++] = i;
  }
  free(fill);
  return 0;
}

int cairn__roster_link(cairn_roster_reader *rd) {
  struct cairn__roster_store *s = rd->store;
  int bulk = 1;

  if (!rd->files[CAIRN_ROSTER_MANIFEST].ended)
    return cairn__roster_fail(rd, CAIRN_ROSTER_MANIFEST, 0, CAIRN_ENOTFOUND, "not read");
  for (int f = CAIRN_ROSTER_MANIFEST + 1; f < CAIRN_ROSTER_FILES; f++) {
    const cairn__roster_file_state *fs = &rd->files[f];
    bulk &= fs->mode != CAIRN_ROSTER_DELTA;
    if (fs->mode != CAIRN_ROSTER_ABSENT && !fs->ended)
      return cairn__roster_fail(rd, (cairn_roster_file)f, 0, CAIRN_ENOTFOUND,
                                "missing, but manifest.csv:%u lists it as %s",
                                (unsigned)fs->mode_line,
                                fs->mode == CAIRN_ROSTER_BULK ? "bulk" : "delta");
  }
  for (size_t i = 0; bulk && i < ARRAY_LEN(bulk_needs); i++) {
    const cairn__roster_file_state *fs = &rd->files[bulk_needs[i]];
    if (fs->mode == CAIRN_ROSTER_ABSENT)
      return cairn__roster_fail(rd, bulk_needs[i], 0, CAIRN_ENOTFOUND,
                                "a bulk export needs it, but manifest.csv %s",
                                fs->mode_line ? "lists it as absent" : "does not list it");
  }

  /* References, file by file and row by row, so that the first problem
   * reported is the first in the files' order. */
  for (int f = CAIRN_ROSTER_MANIFEST + 1; f < CAIRN_ROSTER_FILES; f++) {
    cairn__roster_table *t = &s->t[f];
    for (size_t i = 0; i < t->n; i++) {
      char *rec = t->recs + i * t->size;
      const cairn_roster_row *row = (const cairn_roster_row *)rec;
      for (size_t r = 0; r < ARRAY_LEN(references); r++) {
        const reference *ref = &references[r];
        const char *id;
        size_t index;
        if (ref->from != (cairn_roster_file)f)
          continue;
        memcpy(&id, rec + ref->id_offset, sizeof id);
        if (resolve(rd, row, ref->column, id, ref->to, ref->school, &index) != 0)
          return rd->err.code;
        memcpy(rec + ref->index_offset, &index, sizeof index);
      }
      if (f == CAIRN_ROSTER_CLASSES) {
        cairn_roster_class *c = (cairn_roster_class *)rec;
        size_t *terms = cairn__roster_alloc(s, (c->term_ids.n ? c->term_ids.n : 1) * sizeof *terms);
        if (terms == NULL)
          return cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_ENOMEM, "out of memory");
        for (size_t k = 0; k < c->term_ids.n; k++)
          if (resolve(rd, row, "termSourcedIds", c->term_ids.items[k], CAIRN_ROSTER_SESSIONS, 0,
                      &terms[k]) != 0)
            return rd->err.code;
        c->terms = terms;
      }
    }
  }

  /* Who has which rows, and the roles they give. */
  if (group(rd, CAIRN_ROSTER_ROLES, offsetof(cairn_roster_user_role, user), CAIRN_ROSTER_USERS,
            offsetof(cairn_roster_user, role_rows), offsetof(cairn_roster_user, n_role_rows)) ||
      group(rd, CAIRN_ROSTER_ENROLLMENTS, offsetof(cairn_roster_enrollment, user), CAIRN_ROSTER_USERS,
            offsetof(cairn_roster_user, enrollments), offsetof(cairn_roster_user, n_enrollments)) ||
      group(rd, CAIRN_ROSTER_ENROLLMENTS, offsetof(cairn_roster_enrollment, class_),
            CAIRN_ROSTER_CLASSES, offsetof(cairn_roster_class, enrollments),
            offsetof(cairn_roster_class, n_enrollments)))
    return rd->err.code;
  {
    cairn_roster_user *users = (cairn_roster_user *)s->t[CAIRN_ROSTER_USERS].recs;
    const cairn_roster_user_role *roles = (const void *)s->t[CAIRN_ROSTER_ROLES].recs;
    const cairn_roster_enrollment *ens = (const void *)s->t[CAIRN_ROSTER_ENROLLMENTS].recs;
    for (size_t i = 0; i < s->t[CAIRN_ROSTER_ROLES].n; i++)
      if (roles[i].user != CAIRN_ROSTER_NONE && roles[i].row.status == CAIRN_ROSTER_ACTIVE)
        users[roles[i].user].roles |= CAIRN_ROSTER_ROLE_BIT(roles[i].role);
    for (size_t i = 0; i < s->t[CAIRN_ROSTER_ENROLLMENTS].n; i++)
      if (ens[i].user != CAIRN_ROSTER_NONE && ens[i].row.status == CAIRN_ROSTER_ACTIVE)
        users[ens[i].user].enrolled_as |= CAIRN_ROSTER_ROLE_BIT(ens[i].role);
  }
  {
    const cairn_roster_org *orgs = (const void *)s->t[CAIRN_ROSTER_ORGS].recs;
    size_t n = s->t[CAIRN_ROSTER_ORGS].n;
    s->schools = cairn__roster_alloc(s, (n ? n : 1) * sizeof *s->schools);
    if (s->schools == NULL)
      return cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
      if (orgs[i].type == CAIRN_ROSTER_ORG_SCHOOL)
        s->schools[s->n_schools++] = i;
  }
  return 0;
}
