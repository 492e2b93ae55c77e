/*
 * roster.h: the reader of a OneRoster 1.2 CSV export (a district's rosters).
 *
 * A roster export is a directory of CSV files: manifest.csv says which of
 * the other files are present and whether each holds the whole table
 * ("bulk") or only what changed ("delta"). cairn reads orgs.csv, users.csv,
 * roles.csv, courses.csv, classes.csv, enrollments.csv and
 * academicSessions.csv, with libcsv; every other file (demographics.csv
 * among them) is ignored. docs/ROSTER.md says, for a district's data lead,
 * which columns are read, what each becomes, and every refusal.
 *
 * The result is an in-memory model (cairn_roster) of plain arrays that
 * knows nothing of cairn's store. Nothing is returned unless the whole
 * export is valid: the first problem is reported, naming the file and the
 * line ("users.csv:12: givenName: empty, but required"), and no model.
 *
 * Two ways in:
 *   cairn_roster_read(dir, ...)        reads the files of a directory,
 *                                      streaming each in 64 KiB pieces;
 *   cairn_roster_reader_*              the pure reader beneath it, fed bytes
 *                                      by the caller (what the fuzz target
 *                                      and the tests drive): no file system,
 *                                      no globals.
 * Both check the same things and build the same model.
 *
 * Thread safety: a reader or a model is used by one thread at a time;
 * distinct ones are independent.
 */
#ifndef CAIRN_ROSTER_H
#define CAIRN_ROSTER_H

#include <stddef.h>
#include <stdint.h>

/* ---- limits ----
 * What one export may hold. A file, line, value or row count over a limit
 * is refused with its file and line; the options can lower these limits
 * (tests do), never raise them. */
#define CAIRN_ROSTER_FILE_MAX (1ull << 30)   /* bytes in one CSV file (1 GiB) */
#define CAIRN_ROSTER_ROWS_MAX 5000000u       /* data rows in one CSV file */
#define CAIRN_ROSTER_LINE_MAX 65536u         /* bytes in one row, line ending included */
#define CAIRN_ROSTER_FIELD_MAX 4096u         /* bytes in one value */
#define CAIRN_ROSTER_COLUMNS_MAX 256u        /* columns in one file */

/* An index that names no record: a reference to a record this export does
 * not hold (possible only when the file it names is delta or absent). */
#define CAIRN_ROSTER_NONE SIZE_MAX

/* A day number (days since 1970-01-01, as protocol/text.h) that is no day:
 * a blank optional date. */
#define CAIRN_ROSTER_NO_DATE INT32_MIN

/* The files cairn reads, in the order cairn_roster_read reads them. */
typedef enum cairn_roster_file {
  CAIRN_ROSTER_MANIFEST,    /* manifest.csv */
  CAIRN_ROSTER_ORGS,        /* orgs.csv */
  CAIRN_ROSTER_SESSIONS,    /* academicSessions.csv */
  CAIRN_ROSTER_COURSES,     /* courses.csv */
  CAIRN_ROSTER_CLASSES,     /* classes.csv */
  CAIRN_ROSTER_USERS,       /* users.csv */
  CAIRN_ROSTER_ROLES,       /* roles.csv */
  CAIRN_ROSTER_ENROLLMENTS, /* enrollments.csv */
  CAIRN_ROSTER_FILES        /* how many; also "no file" in an error */
} cairn_roster_file;

/* Returns the file's name ("users.csv"); "" for CAIRN_ROSTER_FILES or any
 * other value. Static storage. */
const char *cairn_roster_file_name(cairn_roster_file f);

/* What manifest.csv says of a file (its file.<name> property). */
typedef enum { CAIRN_ROSTER_ABSENT, CAIRN_ROSTER_BULK, CAIRN_ROSTER_DELTA } cairn_roster_mode;

/* A row's status column: always ACTIVE in a bulk file; in a delta file,
 * TOBEDELETED says the district removed that record. */
typedef enum { CAIRN_ROSTER_ACTIVE, CAIRN_ROSTER_TOBEDELETED } cairn_roster_status;

/* Roles, from roles.csv (role) and enrollments.csv (role). OTHER is an
 * extension value ("ext:..."). */
typedef enum cairn_roster_role {
  CAIRN_ROSTER_ROLE_ADMINISTRATOR,
  CAIRN_ROSTER_ROLE_AIDE,
  CAIRN_ROSTER_ROLE_COUNSELOR,
  CAIRN_ROSTER_ROLE_DISTRICT_ADMINISTRATOR,
  CAIRN_ROSTER_ROLE_GUARDIAN,
  CAIRN_ROSTER_ROLE_PARENT,
  CAIRN_ROSTER_ROLE_PRINCIPAL,
  CAIRN_ROSTER_ROLE_PROCTOR,
  CAIRN_ROSTER_ROLE_RELATIVE,
  CAIRN_ROSTER_ROLE_SITE_ADMINISTRATOR,
  CAIRN_ROSTER_ROLE_STUDENT,
  CAIRN_ROSTER_ROLE_SYSTEM_ADMINISTRATOR,
  CAIRN_ROSTER_ROLE_TEACHER,
  CAIRN_ROSTER_ROLE_OTHER
} cairn_roster_role;
#define CAIRN_ROSTER_ROLE_BIT(role) (1u << (role))

/* Returns the role's OneRoster name ("districtAdministrator"; "ext" for
 * OTHER; "" for a value out of range). Static storage. */
const char *cairn_roster_role_name(cairn_roster_role role);

typedef enum cairn_roster_org_type {
  CAIRN_ROSTER_ORG_DEPARTMENT,
  CAIRN_ROSTER_ORG_DISTRICT,
  CAIRN_ROSTER_ORG_LOCAL,
  CAIRN_ROSTER_ORG_NATIONAL,
  CAIRN_ROSTER_ORG_SCHOOL,
  CAIRN_ROSTER_ORG_STATE,
  CAIRN_ROSTER_ORG_OTHER
} cairn_roster_org_type;

typedef enum { CAIRN_ROSTER_CLASS_HOMEROOM, CAIRN_ROSTER_CLASS_SCHEDULED, CAIRN_ROSTER_CLASS_OTHER } cairn_roster_class_type;

typedef enum cairn_roster_session_type {
  CAIRN_ROSTER_SESSION_GRADING_PERIOD,
  CAIRN_ROSTER_SESSION_SEMESTER,
  CAIRN_ROSTER_SESSION_SCHOOL_YEAR,
  CAIRN_ROSTER_SESSION_TERM,
  CAIRN_ROSTER_SESSION_OTHER
} cairn_roster_session_type;

/* Where a record came from: its file and the line its row starts on. */
typedef struct cairn_roster_where {
  cairn_roster_file file;
  uint32_t line; /* 1 is the header line */
} cairn_roster_where;

/* What every record has. Strings are NUL-terminated UTF-8, without control
 * characters; a blank optional value is "" (never NULL). */
typedef struct cairn_roster_row {
  const char *id;             /* sourcedId: never empty, unique in its file */
  cairn_roster_status status; /* ACTIVE in a bulk file */
  const char *modified;       /* dateLastModified as written; "" when blank */
  cairn_roster_where at;
} cairn_roster_row;

/* A list value ("09,10" in grades, termSourcedIds): the items, each
 * trimmed of spaces and never empty. */
typedef struct cairn_roster_list {
  const char *const *items;
  size_t n;
} cairn_roster_list;

/* orgs.csv. A school is an org of type school. */
typedef struct cairn_roster_org {
  cairn_roster_row row;
  const char *name;
  cairn_roster_org_type type;
  const char *identifier; /* the district's own code for it */
  const char *parent_id;  /* parentSourcedId */
  size_t parent;          /* index in orgs, or CAIRN_ROSTER_NONE */
} cairn_roster_org;

/* academicSessions.csv: a school year, term, semester or grading period.
 * end is exclusive, as OneRoster defines it. */
typedef struct cairn_roster_session {
  cairn_roster_row row;
  const char *title;
  cairn_roster_session_type type;
  int32_t start, end; /* day numbers; CAIRN_ROSTER_NO_DATE only in a
                         tobedeleted row that left them blank */
  int school_year;    /* e.g. 2026; 0 only in a tobedeleted row that left it blank */
  const char *parent_id;
  size_t parent; /* index in sessions, or CAIRN_ROSTER_NONE */
} cairn_roster_session;

/* courses.csv. */
typedef struct cairn_roster_course {
  cairn_roster_row row;
  const char *title;
  const char *code;           /* courseCode */
  const char *org_id;         /* orgSourcedId */
  size_t org;                 /* index in orgs, or CAIRN_ROSTER_NONE */
  const char *school_year_id; /* schoolYearSourcedId */
  size_t school_year;         /* index in sessions, or CAIRN_ROSTER_NONE */
} cairn_roster_course;

/* classes.csv: a class (a section, a homeroom) at one school. */
typedef struct cairn_roster_class {
  cairn_roster_row row;
  const char *title;
  const char *code;     /* classCode */
  cairn_roster_class_type type;
  const char *location;
  cairn_roster_list grades;
  const char *course_id;
  size_t course;        /* index in courses, or CAIRN_ROSTER_NONE */
  const char *school_id;
  size_t school;        /* index in orgs (a school), or CAIRN_ROSTER_NONE */
  cairn_roster_list term_ids;
  const size_t *terms;  /* terms[i]: index in sessions of term_ids.items[i], or NONE */
  const size_t *enrollments; /* indices in enrollments of this class's rows */
  size_t n_enrollments;
} cairn_roster_class;

/* users.csv. A password column is never read. */
typedef struct cairn_roster_user {
  cairn_roster_row row;
  int enabled;              /* enabledUser: 1 true, 0 false */
  const char *username;
  const char *given_name;
  const char *family_name;
  const char *middle_name;
  const char *preferred_given_name;
  const char *identifier;   /* the district's human-readable id (student number) */
  cairn_roster_list grades;
  const char *primary_org_id;
  size_t primary_org;       /* index in orgs, or CAIRN_ROSTER_NONE */
  unsigned roles;           /* CAIRN_ROSTER_ROLE_BIT of each active roles.csv row */
  unsigned enrolled_as;     /* CAIRN_ROSTER_ROLE_BIT of each active enrollment */
  const size_t *role_rows;  /* indices in roles of this user's rows */
  size_t n_role_rows;
  const size_t *enrollments; /* indices in enrollments of this user's rows */
  size_t n_enrollments;
} cairn_roster_user;

/* roles.csv: a user's role at an org. */
typedef struct cairn_roster_user_role {
  cairn_roster_row row;
  const char *user_id;
  size_t user;          /* index in users, or CAIRN_ROSTER_NONE */
  cairn_roster_role role;
  int primary;          /* roleType: 1 primary, 0 secondary */
  const char *org_id;
  size_t org;           /* index in orgs, or CAIRN_ROSTER_NONE */
  int32_t begin, end;   /* CAIRN_ROSTER_NO_DATE when blank; end exclusive */
} cairn_roster_user_role;

/* enrollments.csv: a user in a class, from begin (inclusive) to end
 * (exclusive), either blank for "open". */
typedef struct cairn_roster_enrollment {
  cairn_roster_row row;
  const char *class_id;
  size_t class_;        /* index in classes, or CAIRN_ROSTER_NONE */
  const char *school_id;
  size_t school;        /* index in orgs (a school), or CAIRN_ROSTER_NONE */
  const char *user_id;
  size_t user;          /* index in users, or CAIRN_ROSTER_NONE */
  cairn_roster_role role;
  int primary;          /* 1 when primary is true; 0 when false or blank */
  int32_t begin, end;   /* CAIRN_ROSTER_NO_DATE when blank */
} cairn_roster_enrollment;

/* The model. Every array is in file order; every pointer inside is owned by
 * the model and valid until cairn_roster_free. Read-only for the caller. */
typedef struct cairn_roster {
  cairn_roster_mode mode[CAIRN_ROSTER_FILES]; /* mode[MANIFEST] is BULK */
  int delta;                                  /* 1 when any file is delta */
  const cairn_roster_org *orgs;
  size_t n_orgs;
  const size_t *schools; /* indices in orgs of the orgs of type school */
  size_t n_schools;
  const cairn_roster_session *sessions;
  size_t n_sessions;
  const cairn_roster_course *courses;
  size_t n_courses;
  const cairn_roster_class *classes;
  size_t n_classes;
  const cairn_roster_user *users;
  size_t n_users;
  const cairn_roster_user_role *roles;
  size_t n_roles;
  const cairn_roster_enrollment *enrollments;
  size_t n_enrollments;
  struct cairn__roster_store *store; /* internal: strings and indexes */
} cairn_roster;

/* ---- errors ---- */

typedef struct cairn_roster_error {
  int code;               /* the CAIRN_E* returned */
  cairn_roster_file file; /* CAIRN_ROSTER_FILES when no file is to blame */
  uint32_t line;          /* 0 when the problem is the whole file */
  char message[400];      /* "users.csv:12: givenName: empty, but required";
                             printable ASCII only: values from the files are
                             quoted through cairn_text_shown */
} cairn_roster_error;

/* ---- options ---- */

typedef struct cairn_roster_progress {
  cairn_roster_file file; /* the file being read */
  uint64_t rows;          /* data rows read so far, this file */
  uint64_t rows_total;    /* data rows read so far, every file */
  uint64_t bytes;         /* bytes read so far, every file */
  uint64_t bytes_total;   /* bytes in every file to read; 0 when unknown */
} cairn_roster_progress;

typedef void (*cairn_roster_progress_fn)(const cairn_roster_progress *p, void *arg);

typedef struct cairn_roster_options {
  /* Lower limits; 0 means the default (CAIRN_ROSTER_*_MAX); a value above
   * the default is the default. */
  uint64_t file_max;
  uint32_t rows_max, line_max, field_max;
  /* Called every progress_every data rows (0: every 10000) and at the end
   * of each file; p is borrowed for the call. NULL: no progress. */
  cairn_roster_progress_fn progress;
  void *progress_arg;
  uint32_t progress_every;
} cairn_roster_options;

/* ---- reading a directory ---- */

/* Reads the export in directory dir: manifest.csv, then each file the
 * manifest lists as bulk or delta, in the order of cairn_roster_file. Each
 * file is checked against file_max before it is read and is read in pieces,
 * never whole. opt may be NULL (defaults).
 *
 * Returns 0 with *out a model (caller frees with cairn_roster_free), or a
 * negative code with *out NULL and err filled:
 *   CAIRN_ENOTFOUND  a file the export needs is missing
 *   CAIRN_EMALFORMED a missing column, a repeated sourcedId, an unknown
 *                    reference, an empty required value, a control
 *                    character, a bad value, broken CSV quoting
 *   CAIRN_EUTF8      a value that is not UTF-8
 *   CAIRN_EDATE      a date that is not YYYY-MM-DD, or an end before a start
 *   CAIRN_ETOOBIG    a file, line, value or row count over its limit
 *   CAIRN_EIO        a file that cannot be read, or is not a regular file
 *   CAIRN_EPERM      a file or the directory this user may not read
 *   CAIRN_ENOMEM     out of memory */
int cairn_roster_read(const char *dir, const cairn_roster_options *opt, cairn_roster **out,
                      cairn_roster_error *err);

/* Frees the model and everything in it. NULL is a harmless no-op. */
void cairn_roster_free(cairn_roster *r);

/* ---- the pure reader ----
 * Feed manifest.csv first, then any of the files it lists, each as
 * begin, feed (any number of pieces, split anywhere), end; then finish.
 * Every call returns 0 or the first error (the same codes as
 * cairn_roster_read); after an error every later call returns it again.
 * Splitting a file's bytes differently never changes the result. */
typedef struct cairn_roster_reader cairn_roster_reader;

/* Returns a new reader (free with cairn_roster_reader_free), or NULL when
 * out of memory. opt may be NULL; it is copied. */
cairn_roster_reader *cairn_roster_reader_new(const cairn_roster_options *opt);

/* Starts file f. Refused: a file begun twice, a file other than the
 * manifest before the manifest has ended, a file the manifest lists as
 * absent, or a file begun while another is open. */
int cairn_roster_reader_begin(cairn_roster_reader *rd, cairn_roster_file f, cairn_roster_error *err);

/* Reads the next len bytes of the open file (borrowed for the call). */
int cairn_roster_reader_feed(cairn_roster_reader *rd, const void *p, size_t len,
                             cairn_roster_error *err);

/* Ends the open file: its last row needs no line ending. */
int cairn_roster_reader_end(cairn_roster_reader *rd, cairn_roster_error *err);

/* Returns what the manifest says of file f: ABSENT before the manifest has
 * ended, or for a file it does not list (or an f out of range); BULK for
 * the manifest itself once begun. Tells a caller which files to feed. */
cairn_roster_mode cairn_roster_reader_mode(const cairn_roster_reader *rd, cairn_roster_file f);

/* Checks the export as a whole (every file the manifest lists was read; a
 * bulk export has orgs, users, classes and enrollments; every reference
 * into a bulk file names a record in it; classes and enrollments name
 * schools) and returns 0 with *out the model (caller frees with
 * cairn_roster_free; the reader then holds nothing of it), or an error
 * with *out NULL. */
int cairn_roster_reader_finish(cairn_roster_reader *rd, cairn_roster **out, cairn_roster_error *err);

/* Frees the reader and any model it was building. NULL is a no-op. */
void cairn_roster_reader_free(cairn_roster_reader *rd);

/* ---- lookups and answers ---- */

/* Returns the index of the record of file f whose sourcedId is id[0..len),
 * or CAIRN_ROSTER_NONE (also for the manifest or an out-of-range f). */
size_t cairn_roster_find(const cairn_roster *r, cairn_roster_file f, const char *id, size_t len);

/* Returns 1 when user (an index in users) is a student: an active
 * roles.csv row or an active enrollment gives it the role student. Else 0
 * (also for an index out of range). */
int cairn_roster_is_student(const cairn_roster *r, size_t user);

/* Returns 1 when enrollment e holds on day: its row is active and
 * begin <= day < end (a blank begin or end is open). */
int cairn_roster_enrollment_on(const cairn_roster_enrollment *e, int32_t day);

/* Writes into classes[0..max) the indices (in classes) of the classes user
 * is enrolled in as a student on day, each once, in enrollments.csv order.
 * Returns how many there are, which may be more than max. */
size_t cairn_roster_student_classes(const cairn_roster *r, size_t user, int32_t day, size_t *classes,
                                    size_t max);

/* Returns 1 when user has withdrawn by day: it has at least one active
 * student enrollment and every one of them has an end on or before day.
 * Else 0 (no such enrollment, one open or still running, a bad index). */
int cairn_roster_student_withdrawn(const cairn_roster *r, size_t user, int32_t day);

/* The same answer over the enrollments enr[0..n_enr) (indices in
 * enrollments; a delta export's rows of a user its users.csv does not
 * hold): 1 when at least one is an active student enrollment and every
 * such one has an end on or before day, with *last (when not NULL) the
 * latest of those ends; else 0 (also for an index out of range). */
int cairn_roster_enrollments_ended(const cairn_roster *r, const size_t *enr, size_t n_enr,
                                   int32_t day, int32_t *last);

#endif
