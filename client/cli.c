/*
 * cli.c: `cairn`, the command-line tool for the local cairnd.
 *
 * Every command is one row of the command table, and its flags one table of
 * rows (name, value type, destination, required, repeatable, help). The same
 * tables drive argument parsing, packing the request and --help, so the help
 * cannot drift from what is parsed. Data validation (scales, dates, UTF-8,
 * finiteness) is the daemon's: it is authoritative, and its message names
 * the field. The one check here is of what only the command line has: a
 * value written as 75% or yes/no must be on a percent or yes/no scale.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pwd.h>
#include <spawn.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn.h"
#include "cli.h"
#include "config.h"
#include "health.h"
#include "backup.h"
#include "error.h"
#include "file.h"
#include "keyfile.h"
#include "record.h"
#include "sync.h"
#include "text.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "unknown"
#endif


/* Where a flag's value goes in the request. */
typedef enum {
  TO_FIELD, /* the put's set map, under .key */
  TO_ID,    /* the put's record id */
  TO_WHY,   /* the put's why */
  TO_ARG,   /* a top-level request argument named .key (status, show) */
  TO_INIT,  /* init's own settings, handled locally */
  TO_LOCAL  /* read by the CLI itself, never sent (--csv, --to, --fill) */
} dest;

/* How a value is packed. */
typedef enum {
  V_STR,    /* string as given */
  V_STRS,   /* repeatable; an array of strings */
  V_NUM,    /* float64; "yes"/"no" are 1/0 */
  V_NUMNIL, /* V_NUM, or "pending" for nil */
  V_INT,    /* whole number */
  V_SECS,   /* a duration: N seconds, or Ns, Nm, Nh, Nd; packed as whole seconds */
  V_SCOPE,  /* CAMPUS[/CLASSROOM], packed as scope_campus [and scope_classroom] */
  V_PATH,   /* a file name, packed absolute: cairnd has another working directory */
  V_FLAG,   /* a switch that takes no value (meta ""): packed as true when given */
  V_ADD,    /* repeatable; items added to the set field .key: {add: [...]} */
  V_REMOVE  /* repeatable; items removed from it: {remove: [...]} (with V_ADD's, one map) */
} vtype;

#define F_REQ 0x1u       /* required (when creating) */
#define F_POS 0x2u       /* a positional argument, named .meta; always required */
#define F_ADD_ONLY 0x4u  /* not offered by an edit ("milestone set") */
#define F_EDIT_ONLY 0x8u /* offered only by an edit */
#define F_TODAY 0x10u    /* defaults to today's date */
#define F_USER 0x20u     /* defaults to the login name of whoever runs cairn */
#define F_TEMPLATED 0x40u /* a required field that --template fills when it is not given */
#define F_ALWAYS 0x80u    /* required by an edit too */

typedef struct flag {
  const char *name; /* "--name" without dashes; NULL for positionals */
  const char *meta; /* "TEXT", "YYYY-MM-DD"; the positional's name */
  dest to;
  const char *key;
  vtype type;
  unsigned opts;
  const char *help;
  const char *def;  /* a TO_ARG's value when not given, shown in help unless ""; or NULL */
} flag;

typedef enum { DO_INIT, DO_PUT, DO_READ, DO_MANY, DO_RESTORE, DO_BACKUP_KEY } action;

/* A field a command always writes: a string, or (str NULL) a boolean. */
typedef struct fixed_field {
  const char *key, *str;
  int boolean;
} fixed_field;

typedef struct command {
  const char *group; /* first word */
  const char *verb;  /* second word, NULL for one-word commands */
  action act;
  const char *op;    /* request op */
  const char *type;  /* record type of a put */
  int edit;          /* put with edit: true */
  const fixed_field *fixed; /* what the put always sets (NULL-keyed end), or NULL */
  const char *done;  /* "added", "updated" ... for the text reply */
  const char *reply; /* the reply key printed by a read */
  const flag *flags;
  const char *summary;
} command;

#define END {NULL, NULL, TO_FIELD, NULL, V_STR, 0, NULL, NULL}

static const flag init_flags[] = {
    {"role", "classroom|hub|central", TO_INIT, "role", V_STR, 0,
     "what this node is (default: classroom)", NULL},
    {"campus", "C", TO_INIT, "campus", V_STR, 0, "the campus it serves (at most 64 bytes)", NULL},
    {"classroom", "R", TO_INIT, "classroom", V_STR, 0,
     "the classroom it serves (at most 64 bytes)", NULL},
    {"name", "N", TO_INIT, "name", V_STR, 0, "a label for people (at most 200 bytes)", NULL},
    {"listen", "HOST:PORT", TO_INIT, "listen", V_STR, 0,
     "where a hub or the central accepts sync connections (default: 0.0.0.0:7420 for the "
     "central, none for a hub)",
     NULL},
    END};

static const flag student_flags[] = {
    {"id", "ID", TO_ID, NULL, V_STR, F_REQ, "local id: " CAIRN_TEXT_ID_RULE, NULL},
    {"name", "NAME", TO_FIELD, "name", V_STR, F_REQ, "display name", NULL},
    {"grade", "G", TO_FIELD, "grade", V_STR, 0, "grade", NULL},
    {"campus", "C", TO_FIELD, "campus", V_STR, 0, "campus (default: this device's)", NULL},
    {"classroom", "R", TO_FIELD, "classrooms", V_STRS, 0,
     "a classroom that teaches the student (repeatable; default: this device's)", NULL},
    {"accommodation", "TEXT", TO_FIELD, "accommodations", V_STRS, 0,
     "an IEP/504 accommodation measurement must respect (repeatable)", NULL},
    END};

/* Rows that milestone add and template add share. */
#define FLAG_TYPE(opts)                                                                       \
  {"type", "academic|behavior|social-emotional|future-readiness", TO_FIELD, "type", V_STR,   \
   (opts), "kind of milestone", NULL}
#define FLAG_SCALE(opts)                                                                      \
  {"scale", "MIN-MAX|percent|count|yesno", TO_FIELD, "scale", V_STR, (opts),                 \
   "measurement scale", NULL}
#define FLAG_HORIZON                                                                          \
  {"horizon", "short|long", TO_FIELD, "horizon", V_STR, 0,                                    \
   "short- or long-term (default: short)", NULL}
#define FLAG_METHOD {"method", "TEXT", TO_FIELD, "method", V_STR, 0, "measurement method", NULL}
#define FLAG_SOURCE {"source", "TEXT", TO_FIELD, "source", V_STR, 0, "data source", NULL}
#define FLAG_CADENCE                                                                          \
  {"cadence", "weekly|biweekly|monthly|quarterly", TO_FIELD, "cadence", V_STR, 0,            \
   "review cadence (default: monthly)", NULL}

static const flag student_set_flags[] = {
    {NULL, "STUDENT", TO_ID, NULL, V_STR, F_POS, "the student", NULL},
    {"name", "NAME", TO_FIELD, "name", V_STR, 0, "display name", NULL},
    {"grade", "G", TO_FIELD, "grade", V_STR, 0, "grade", NULL},
    {"add-accommodation", "TEXT", TO_FIELD, "accommodations", V_ADD, 0,
     "add an accommodation (repeatable)", NULL},
    {"remove-accommodation", "TEXT", TO_FIELD, "accommodations", V_REMOVE, 0,
     "remove one, as written (repeatable)", NULL},
    {"add-classroom", "R", TO_FIELD, "classrooms", V_ADD, 0,
     "add a classroom that teaches the student (repeatable)", NULL},
    {"remove-classroom", "R", TO_FIELD, "classrooms", V_REMOVE, 0,
     "remove a classroom (repeatable)", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why it changed", NULL},
    END};

static const flag student_move_flags[] = {
    {NULL, "STUDENT", TO_ID, NULL, V_STR, F_POS, "the student", NULL},
    {"classroom", "R", TO_FIELD, "classrooms", V_STRS, F_ALWAYS,
     "the classroom the student moves to (repeatable: their classrooms become exactly these)",
     NULL},
    {"campus", "C", TO_FIELD, "campus", V_STR, 0,
     "the campus, when it changes (on the central: a device writes in its own campus)", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why", NULL},
    END};

static const flag student_withdraw_flags[] = {
    {NULL, "STUDENT", TO_ID, NULL, V_STR, F_POS, "the student", NULL},
    {"date", "YYYY-MM-DD", TO_FIELD, "withdrawn_on", V_STR, F_TODAY, "the day they left", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why", NULL},
    END};

static const flag student_reason_flags[] = {
    {NULL, "STUDENT", TO_ID, NULL, V_STR, F_POS, "the student", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why", NULL},
    END};

static const flag student_erase_flags[] = {
    {NULL, "STUDENT", TO_ID, NULL, V_STR, F_POS, "the student", NULL},
    {"reason", "TEXT", TO_FIELD, "reason", V_STR, F_REQ,
     "why, kept with who erased them and when as the audit trail: the law or request that "
     "requires it, never a name or a note (at most 500 bytes)",
     NULL},
    END};

static const flag student_list_flags[] = {
    {"classroom", "R", TO_ARG, "classroom", V_STR, 0, "only the students of this classroom",
     NULL},
    {"campus", "C", TO_ARG, "campus", V_STR, 0, "only the students of this campus", NULL},
    {"grade", "G", TO_ARG, "grade", V_STR, 0, "only the students of this grade", NULL},
    {"withdrawn", "", TO_ARG, "withdrawn", V_FLAG, 0, "withdrawn students too", NULL},
    END};

/* Shared by "milestone add" and "milestone set". */
static const flag milestone_flags[] = {
    {NULL, "MILESTONE", TO_ID, NULL, V_STR, F_POS | F_EDIT_ONLY, "the milestone to change", NULL},
    {"student", "ID", TO_FIELD, "student", V_STR, F_REQ | F_ADD_ONLY, "the student", NULL},
    {"template", "TEMPLATE", TO_FIELD, "template", V_STR, F_ADD_ONLY,
     "start from this shared template (cairn template list): every field it has that is not "
     "given here (type, statement, scale, target, direction, rule, cadence, method, source, "
     "alignment, standard, horizon) is taken from it, and the milestone keeps its id",
     NULL},
    {"fill", "WORDS", TO_LOCAL, "fill", V_STRS, F_ADD_ONLY,
     "with --template: the words for the template statement's next blank {...}, in order "
     "(repeatable; {name} is the student's name, filled by itself)",
     NULL},
    FLAG_TYPE(F_REQ | F_TEMPLATED),
    {"statement", "TEXT", TO_FIELD, "statement", V_STR, F_REQ | F_TEMPLATED,
     "what the student will do, in words they can repeat", NULL},
    {"scale", "MIN-MAX|percent|count|yesno|letter|levels", TO_FIELD, "scale", V_STR,
     F_REQ | F_TEMPLATED,
     "measurement scale: letter is the letter grades F, D, C, B, A; levels the named levels "
     "given with --level",
     NULL},
    {"level", "LABEL", TO_FIELD, "levels", V_STRS, 0,
     "a level of a levels scale, lowest first (repeatable: e.g. beginning, approaching, "
     "meeting, exceeding); values on it are given by their labels",
     NULL},
    {"baseline", "V|pending", TO_FIELD, "baseline", V_NUMNIL, F_REQ,
     "starting value (75% on a percent scale, yes or no on a yes/no one, a label on a letter "
     "or levels one), or pending (taken in the first weeks)",
     NULL},
    {"target", "V", TO_FIELD, "target", V_NUM, F_REQ | F_TEMPLATED,
     "the value that means success", NULL},
    {"direction", "up|down|at-least|at-most", TO_FIELD, "direction", V_STR, 0,
     "raise or lower the value to the target (default: up); or, to maintain it, stay at "
     "least or at most at the target (\"maintain 95% attendance\": at-least, target 95)",
     NULL},
    {"rule", "\"K of N\"", TO_FIELD, "rule", V_STR, 0,
     "met when K of the last N points meet the target (default: 1 of 1)", NULL},
    {"start", "YYYY-MM-DD", TO_FIELD, "start", V_STR, F_REQ, "first day", NULL},
    {"end", "YYYY-MM-DD", TO_FIELD, "end", V_STR, F_REQ, "last day", NULL},
    FLAG_HORIZON,
    {"parent", "MILESTONE", TO_FIELD, "parent", V_STR, 0,
     "the long-term milestone (of the same student) this leads to", NULL},
    FLAG_METHOD,
    FLAG_SOURCE,
    {"support", "TEXT", TO_FIELD, "support", V_STR, 0, "the intervention lever", NULL},
    {"at-home", "TEXT", TO_FIELD, "at_home", V_STR, 0,
     "one thing the family can do at home (shown on the family summary)", NULL},
    {"if-then", "TEXT", TO_FIELD, "if_then", V_STRS, 0,
     "a planned if/then rule (repeatable)", NULL},
    FLAG_CADENCE,
    {"alignment", "TEXT", TO_FIELD, "alignment", V_STR, 0, "the standard or rubric row", NULL},
    {"standard", "CODE", TO_FIELD, "standard", V_STR, 0,
     "the standard of the catalog it aligns to (cairn standard list)", NULL},
    {"agreed-by", "NAME", TO_FIELD, "agreed_by", V_STRS, 0, "who agreed it (repeatable)", NULL},
    {"baseline-date", "YYYY-MM-DD", TO_FIELD, "baseline_date", V_STR, 0,
     "when the baseline was taken", NULL},
    {"baseline-how", "TEXT", TO_FIELD, "baseline_how", V_STR, 0,
     "how the baseline was obtained", NULL},
    {"check", "YYYY-MM-DD", TO_FIELD, "checks", V_STRS, 0,
     "a check date, due for a review until one is dated on or after it (repeatable)", NULL},
    {"wrong-side", "N", TO_FIELD, "wrong_side_n", V_INT, 0,
     "points in a row on the wrong side of the aimline that turn the light red, 1-50 "
     "(default: 4)", NULL},
    {"trend-points", "N", TO_FIELD, "trend_points", V_INT, 0,
     "recent points the trend is fitted to, 3-50 (default: 6)", NULL},
    {"developing-at", "F", TO_FIELD, "developing_at", V_NUM, 0,
     "share of the way from the baseline to the target that counts as developing, above 0 "
     "and at most 1 (default: 0.25)", NULL},
    {"exceed-margin", "F", TO_FIELD, "exceed_margin", V_NUM, 0,
     "how far beyond the target the recent mean must be to count as exceeding, as a share "
     "of the baseline-to-target distance, 0-10 (default: 0.10)", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, F_EDIT_ONLY, "why it changed", NULL},
    END};

static const flag milestone_close_flags[] = {
    {NULL, "MILESTONE", TO_ID, NULL, V_STR, F_POS, "the milestone", NULL},
    {"result", "met|not-met|replaced", TO_FIELD, "result", V_STR, F_ALWAYS,
     "how it ended (replaced: by the milestone given with --replaced-by)", NULL},
    {"replaced-by", "MILESTONE", TO_FIELD, "replaced_by", V_STR, 0,
     "the milestone of the same student that takes its place", NULL},
    {"date", "YYYY-MM-DD", TO_FIELD, "closed", V_STR, F_TODAY, "the day it was closed", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why", NULL},
    END};

static const flag milestone_reason_flags[] = {
    {NULL, "MILESTONE", TO_ID, NULL, V_STR, F_POS, "the milestone", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, 0, "why", NULL},
    END};

static const flag milestone_carry_flags[] = {
    {NULL, "MILESTONE", TO_FIELD, "carried_from", V_STR, F_POS, "the milestone carried forward",
     NULL},
    {"start", "YYYY-MM-DD", TO_FIELD, "start", V_STR, F_REQ, "the new first day", NULL},
    {"end", "YYYY-MM-DD", TO_FIELD, "end", V_STR, F_REQ, "the new last day", NULL},
    {"target", "V", TO_FIELD, "target", V_NUM, 0,
     "a new target (default: the old one; needed when the new baseline is already beyond it)",
     NULL},
    {"baseline", "V|pending", TO_FIELD, "baseline", V_NUMNIL, 0,
     "instead of the mean of the old milestone's last points", NULL},
    {"statement", "TEXT", TO_FIELD, "statement", V_STR, 0, "a new statement", NULL},
    {"rule", "\"K of N\"", TO_FIELD, "rule", V_STR, 0, "a new rule", NULL},
    {"check", "YYYY-MM-DD", TO_FIELD, "checks", V_STRS, 0, "a check date (repeatable)", NULL},
    {"cadence", "weekly|biweekly|monthly|quarterly", TO_FIELD, "cadence", V_STR, 0,
     "a new review cadence", NULL},
    {"support", "TEXT", TO_FIELD, "support", V_STR, 0,
     "the support (default: the one in place on the old milestone)", NULL},
    END};

static const flag evidence_many_flags[] = {
    {NULL, "FILE", TO_ARG, "file", V_STR, F_POS,
     "the lines, or CSV with a header; - reads standard input", NULL},
    {"by", "NAME", TO_ARG, "by", V_STR, 0,
     "who recorded them (a CSV column by overrides it)", NULL},
    {"csv", "", TO_ARG, "csv", V_FLAG, 0,
     "read CSV (default: CSV when the first line is a header naming value)", NULL},
    {"force", "", TO_ARG, "force", V_FLAG, 0,
     "record entries observed more than their milestone's timeframe before its start", NULL},
    END};

static const flag retention_flags[] = {
    {"dry-run", "", TO_ARG, "dry_run", V_FLAG, 0, "list who would be erased, and erase no one",
     NULL},
    END};

static const flag roster_import_flags[] = {
    {NULL, "DIR", TO_ARG, "dir", V_STR, F_POS,
     "the directory of the unzipped OneRoster 1.2 CSV export (manifest.csv first)", NULL},
    {"dry-run", "", TO_ARG, "dry_run", V_FLAG, 0,
     "print what would change, checked by cairnd, and write nothing", NULL},
    {"as-of", "YYYY-MM-DD", TO_ARG, "as_of", V_STR, 0,
     "the day whose enrollments count (default: today)", NULL},
    END};

static const flag evidence_add_flags[] = {
    {NULL, "MILESTONE", TO_FIELD, "milestone", V_STR, F_POS, "the milestone", NULL},
    {NULL, "VALUE", TO_FIELD, "value", V_NUM, F_POS,
     "the value on its scale: a number; on a percent scale 75 or 75%; on a yes/no scale yes "
     "or no (1 or 0); on a letter or levels scale its label (B, approaching)",
     NULL},
    {"observed", "YYYY-MM-DD", TO_FIELD, "observed", V_STR, F_TODAY, "when it was seen", NULL},
    {"note", "TEXT", TO_FIELD, "note", V_STR, 0, "a short note", NULL},
    {"source", "TEXT", TO_FIELD, "source", V_STR, 0, "where it came from", NULL},
    {"by", "NAME", TO_FIELD, "by", V_STR, 0, "who recorded it", NULL},
    {"link", "URL", TO_FIELD, "link", V_STR, 0, "a link to the work", NULL},
    {"force", "", TO_ARG, "force", V_FLAG, 0,
     "record it although --observed is more than the milestone's timeframe before its start "
     "(a genuine back-entry; a date after tomorrow is always refused)",
     NULL},
    END};

static const flag evidence_amend_flags[] = {
    {NULL, "ENTRY", TO_ID, NULL, V_STR, F_POS, "the evidence entry", NULL},
    {NULL, "VALUE", TO_FIELD, "value", V_NUM, F_POS, "the corrected value (written as for add)",
     NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, F_REQ, "why it is corrected", NULL},
    END};

static const flag evidence_retract_flags[] = {
    {NULL, "ENTRY", TO_ID, NULL, V_STR, F_POS, "the evidence entry", NULL},
    {"reason", "TEXT", TO_WHY, NULL, V_STR, F_REQ, "why it is withdrawn", NULL},
    END};

static const flag review_flags[] = {
    {NULL, "MILESTONE", TO_FIELD, "milestone", V_STR, F_POS, "the milestone reviewed", NULL},
    {"kind", "weekly|monthly|quarterly", TO_FIELD, "kind", V_STR, F_REQ, "kind of review", NULL},
    {"decision", "DECISION", TO_FIELD, "decision", V_STR, F_REQ,
     "what was decided: continue, adjust-supports, change-timeframe, raise-target, "
     "smaller-steps or change-method", NULL},
    {"note", "TEXT", TO_FIELD, "note", V_STR, 0, "a note", NULL},
    {"showed", "TEXT", TO_FIELD, "showed", V_STR, 0,
     "what the data showed (default: cairnd's summary)", NULL},
    {"date", "YYYY-MM-DD", TO_FIELD, "date", V_STR, F_TODAY, "when", NULL},
    END};

static const flag support_flags[] = {
    {NULL, "MILESTONE", TO_FIELD, "milestone", V_STR, F_POS, "the milestone", NULL},
    {"support", "TEXT", TO_FIELD, "support", V_STR, F_REQ, "the support now in place", NULL},
    {"date", "YYYY-MM-DD", TO_FIELD, "date", V_STR, F_TODAY, "when it changed", NULL},
    {"note", "TEXT", TO_FIELD, "note", V_STR, 0, "a note", NULL},
    END};

static const flag celebrate_flags[] = {
    {NULL, "MILESTONE", TO_FIELD, "milestone", V_STR, F_POS, "the milestone", NULL},
    {"text", "TEXT", TO_FIELD, "text", V_STR, F_REQ,
     "what was reached, specifically (\"evidence use improved from 1 to 3\")", NULL},
    {"date", "YYYY-MM-DD", TO_FIELD, "date", V_STR, F_TODAY, "when", NULL},
    END};

static const flag status_flags[] = {
    {"student", "ID", TO_ARG, "student", V_STR, 0, "only this student", NULL},
    {"as-of", "YYYY-MM-DD", TO_ARG, "today", V_STR, 0,
     "what was known on that day: only the evidence observed and the reviews, support "
     "changes and celebrations dated on or before it (default: today)",
     NULL},
    {"classroom", "R", TO_ARG, "classroom", V_STR, 0,
     "the students of this classroom (default on a classroom device: its own; elsewhere "
     "every student)",
     NULL},
    {"withdrawn", "", TO_ARG, "withdrawn", V_FLAG, 0, "withdrawn students too", NULL},
    {"archived", "", TO_ARG, "archived", V_FLAG, 0, "archived milestones too", NULL},
    END};

static const flag show_flags[] = {
    {NULL, "ID", TO_ARG, "id", V_STR, F_POS, "any record id", NULL},
    END};

static const flag export_flags[] = {
    {"scope", "CAMPUS[/CLASSROOM]", TO_ARG, "scope", V_SCOPE, 0,
     "the records of that campus (or classroom) only, as a node of that scope holds them",
     NULL},
    {"csv", "TABLE", TO_LOCAL, "csv", V_STRS, 0,
     "instead of JSON, a table as CSV (RFC 4180, UTF-8, a header row, one file per table): "
     "students, milestones, evidence, reviews, status (each milestone's status today), or "
     "all (repeatable)",
     NULL},
    {"to", "DIR", TO_LOCAL, "to", V_STR, 0,
     "with --csv: write each table to DIR/TABLE.csv (durably; an existing file is replaced "
     "only once the new one is complete) instead of stdout; needed for more than one table",
     NULL},
    END};

static const flag template_flags[] = {
    {"id", "ID", TO_ID, NULL, V_STR, F_REQ, "the template's id: " CAIRN_TEXT_ID_RULE, NULL},
    {"title", "TEXT", TO_FIELD, "title", V_STR, F_REQ, "a short name, shown in reports", NULL},
    FLAG_TYPE(F_REQ),
    {"statement", "PATTERN", TO_FIELD, "statement", V_STR, F_REQ,
     "the statement, with {name} for the student's name and {WORDS} for a blank the teacher "
     "completes with milestone add --fill ({{ and }} for a brace)",
     NULL},
    FLAG_SCALE(F_REQ),
    {"target", "V", TO_FIELD, "target", V_NUM, 0, "the default target", NULL},
    {"direction", "up|down|at-least|at-most", TO_FIELD, "direction", V_STR, 0,
     "as for milestone add (default: up)", NULL},
    {"rule", "\"K of N\"", TO_FIELD, "rule", V_STR, 0, "the default rule (default: 1 of 1)",
     NULL},
    FLAG_CADENCE,
    FLAG_HORIZON,
    FLAG_METHOD,
    FLAG_SOURCE,
    {"alignment", "TEXT", TO_FIELD, "alignment", V_STR, 0, "alignment code or rubric row", NULL},
    {"standard", "CODE", TO_FIELD, "standard", V_STR, 0,
     "the standard of the catalog it aligns to", NULL},
    END};

static const flag template_show_flags[] = {
    {NULL, "ID", TO_ARG, "id", V_STR, F_POS, "the template's id", NULL},
    END};

static const flag standard_flags[] = {
    {"code", "CODE", TO_ID, NULL, V_STR, F_REQ,
     "the standard's code, its id: " CAIRN_TEXT_ID_RULE " (CCSS.ELA-LITERACY.W.8.1)", NULL},
    {"text", "TEXT", TO_FIELD, "text", V_STR, F_REQ, "what it says, in short", NULL},
    {"guid", "UUID", TO_FIELD, "guid", V_STR, 0,
     "its CASE identifier, where the district has one", NULL},
    END};

static const flag report_flags[] = {
    {"campus", "C", TO_ARG, "campus", V_STR, 0, "only students of this campus", NULL},
    {"classroom", "R", TO_ARG, "classroom", V_STR, 0, "only students of this classroom", NULL},
    {"grade", "G", TO_ARG, "grade", V_STR, 0, "only students of this grade", NULL},
    {"type", "TYPE", TO_ARG, "type", V_STR, 0,
     "only milestones of this type: academic, behavior, social-emotional, future-readiness",
     NULL},
    {"template", "TEMPLATE", TO_ARG, "template", V_STR, 0,
     "only milestones made from this template", NULL},
    {"standard", "CODE", TO_ARG, "standard", V_STR, 0,
     "only milestones aligned to this standard", NULL},
    {"as-of", "YYYY-MM-DD", TO_ARG, "today", V_STR, 0,
     "what was known on that day, as for status (default: today; after tomorrow is refused)",
     NULL},
    {"csv", "", TO_LOCAL, "csv", V_FLAG, 0,
     "print the rows as CSV (RFC 4180, UTF-8, a header row) instead of text", NULL},
    END};

static const flag enroll_flags[] = {
    {"campus", "C", TO_ARG, "campus", V_STR, F_REQ, "the campus the device will serve", NULL},
    {"classroom", "R", TO_ARG, "classroom", V_STR, 0,
     "the classroom it will serve (default: none, the whole campus)", ""},
    {"role", "classroom|hub", TO_ARG, "role", V_STR, 0, "what the device will be", "classroom"},
    {"expires", "DURATION", TO_ARG, "expires", V_SECS, 0,
     "how long the token can be used: seconds, or 30m, 24h, 7d", "24h"},
    END};

static const flag join_flags[] = {
    {NULL, "TOKEN", TO_ARG, "token", V_STR, F_POS, "the token printed by cairn enroll", NULL},
    {"upstream", "HOST:PORT", TO_ARG, "upstream", V_STR, 0,
     "sync through this hub instead of the central (default: the token's address)", NULL},
    END};

static const flag revoke_flags[] = {
    {NULL, "DEVICE", TO_ARG, "device", V_STR, F_POS,
     "the device id: all 64 hex digits, or a unique prefix of at least 8", NULL},
    END};

static const flag bundle_export_flags[] = {
    {"to", "FILE", TO_ARG, "path", V_PATH, F_REQ,
     "the bundle file to write (refused if it exists); its directory must exist", NULL},
    {"for", "DEVICE", TO_ARG, "for", V_STR, 0,
     "on the central or a hub: instead, write what a sync would send down to this device (its "
     "id as cairn devices shows it: all 64 hex digits, or a unique prefix of at least 8), "
     "encrypted to it alone; refused for a revoked or unknown device",
     NULL},
    END};

static const flag backup_flags[] = {
    {"to", "FILE", TO_ARG, "path", V_PATH, F_REQ,
     "the backup file to write (refused if it exists; mode 0600: it holds the device key); "
     "its directory must exist",
     NULL},
    {"encrypt", "", TO_ARG, "encrypt", V_FLAG, 0,
     "seal it to backup_public_key in [backup] of cairn.conf: only that key's secret file "
     "opens it",
     NULL},
    END};

static const flag restore_flags[] = {
    {NULL, "FILE", TO_ARG, "path", V_PATH, F_POS, "a backup written by cairn backup", NULL},
    {"key", "SECRETFILE", TO_LOCAL, "key", V_PATH, 0,
     "the backup key file that opens an encrypted backup (cairn backup-key new)", NULL},
    END};

static const flag backup_key_flags[] = {
    {"to", "FILE", TO_LOCAL, "to", V_PATH, F_REQ,
     "where to write the secret key (refused if it exists; mode 0600); keep it off the "
     "machines it backs up",
     NULL},
    END};

static const flag bundle_import_flags[] = {
    {NULL, "FILE", TO_ARG, "path", V_PATH, F_POS, "a bundle written by cairn bundle export",
     NULL},
    END};

static const flag web_flags[] = {
    {"as", "NAME", TO_ARG, "as", V_STR, F_USER, "who signs in: the name the page writes as "
     "`by` on the evidence it records (at most 200 bytes)", NULL},
    {"sign-out-all", "", TO_ARG, "sign_out_all", V_FLAG, 0,
     "instead: end every session of the page and void every unused link", NULL},
    END};

static const flag sync_now_flags[] = {
    {"no-wait", "", TO_LOCAL, "no_wait", V_FLAG, 0,
     "start the sync and return at once instead of waiting until in step", NULL},
    END};

static const flag health_flags[] = {
    {"within", "SECONDS", TO_LOCAL, "within", V_STR, 0,
     "how recently the upstream link must have succeeded (default 3600)", NULL},
    END};

static const flag no_flags[] = {END};

static const fixed_field retract_fields[] = {{"retracted", NULL, 1}, {NULL, NULL, 0}};
static const fixed_field withdraw_fields[] = {{"withdrawn", NULL, 1}, {NULL, NULL, 0}};
static const fixed_field reenroll_fields[] = {{"withdrawn", NULL, 0}, {NULL, NULL, 0}};
static const fixed_field reopen_fields[] = {{"result", "open", 0}, {NULL, NULL, 0}};
static const fixed_field archive_fields[] = {{"archived", NULL, 1}, {NULL, NULL, 0}};
static const fixed_field unarchive_fields[] = {{"archived", NULL, 0}, {NULL, NULL, 0}};

static const command commands[] = {
    {"init", NULL, DO_INIT, NULL, NULL, 0, 0, NULL, NULL, init_flags,
     "create DIR (0750) with a new device key (DIR/device.key, 0600) and DIR/cairn.conf "
     "(for a central, with a new network id); print the device id. Refuses if DIR/device.key or "
     "DIR/cairn.conf exists. Needs no cairnd."},
    {"student", "add", DO_PUT, "put", "student", 0, 0, "added", NULL, student_flags,
     "add a student"},
    {"student", "set", DO_PUT, "put", "student", 1, 0, "updated", NULL, student_set_flags,
     "change a student: name, grade, and their accommodations and classrooms, which are sets: "
     "each change adds or removes one, so two classrooms' changes both hold"},
    {"student", "move", DO_PUT, "put", "student", 1, 0, "moved", NULL, student_move_flags,
     "move a student to another classroom (or campus): their classrooms become exactly the "
     "given ones; entries written about them from now on reach the new classroom, no longer "
     "the old one (the old one learns of the move and keeps what it held)"},
    {"student", "withdraw", DO_PUT, "put", "student", 1, withdraw_fields, "withdrew", NULL,
     student_withdraw_flags,
     "a student has left: kept with their records, hidden from status and Today (status "
     "--withdrawn shows them), and read-only: every write about them is refused until they "
     "are re-enrolled"},
    {"student", "reenroll", DO_PUT, "put", "student", 1, reenroll_fields, "re-enrolled", NULL,
     student_reason_flags, "a withdrawn student is back: their records can change again"},
    {"student", "erase", DO_PUT, "put", "erasure", 0, 0, "erased", NULL, student_erase_flags,
     "on the central only: erase a student for good (a family's valid request, a record "
     "entered for the wrong child, retention). Every node that holds them, also one offline "
     "today once it syncs or imports a bundle, withholds the body of every entry about them "
     "(the chains still verify), deletes their records and compacts its store; what a node "
     "writes about them afterwards is refused. Only the id, the reason, who and when are "
     "kept. It cannot be undone"},
    {"student", "list", DO_READ, "students", NULL, 0, 0, NULL, "students", student_list_flags,
     "the students this node holds: id, name, grade, campus, classrooms, open milestones "
     "(withdrawn students only with --withdrawn)"},
    {"milestone", "add", DO_PUT, "put", "milestone", 0, 0, "added", NULL, milestone_flags,
     "add a milestone for a student"},
    {"milestone", "set", DO_PUT, "put", "milestone", 1, 0, "updated", NULL, milestone_flags,
     "change fields of a milestone (the old values stay in its history)"},
    {"milestone", "close", DO_PUT, "put", "milestone", 1, 0, "closed", NULL,
     milestone_close_flags,
     "close a milestone with its result: met, not met, or replaced by another milestone; "
     "from that day it shows its result and no light, and nothing is due"},
    {"milestone", "reopen", DO_PUT, "put", "milestone", 1, reopen_fields, "reopened", NULL,
     milestone_reason_flags, "take back a close: the milestone runs again"},
    {"milestone", "archive", DO_PUT, "put", "milestone", 1, archive_fields, "archived", NULL,
     milestone_reason_flags, "hide a milestone from status (status --archived shows it)"},
    {"milestone", "unarchive", DO_PUT, "put", "milestone", 1, unarchive_fields, "unarchived",
     NULL, milestone_reason_flags, "show an archived milestone again"},
    {"milestone", "carry-forward", DO_PUT, "put", "milestone", 0, 0, "added", NULL,
     milestone_carry_flags,
     "a new milestone from an old one, for a new timeframe: its fields copied, the support in "
     "place, and as baseline the mean of the old one's last max(N, 3) points (N its rule's; "
     "store/progress.h); the old one is left as it is (close it with milestone close)"},
    {"evidence", "add", DO_PUT, "put", "evidence", 0, 0, "added", NULL, evidence_add_flags,
     "record one observation"},
    {"evidence", "amend", DO_PUT, "put", "evidence", 1, 0, "amended", NULL, evidence_amend_flags,
     "correct the value of an entry (the original stays in its history)"},
    {"evidence", "retract", DO_PUT, "put", "evidence", 1, retract_fields, "retracted", NULL,
     evidence_retract_flags, "withdraw an entry (it stays in the history)"},
    {"evidence", "add-many", DO_MANY, "put_many", NULL, 0, 0, NULL, NULL, evidence_many_flags,
     "record a class's evidence at once, from FILE: a line per entry, MILESTONE-OR-STUDENT "
     "VALUE [YYYY-MM-DD] [NOTE] (a student stands for their one open milestone; blank lines "
     "and # comments skipped), or CSV with a header (milestone or student, value, and "
     "optionally date, note, by, source). All are written in one batch, or none: each bad "
     "line is listed by its number"},
    {"roster", "import", DO_MANY, "put_many", NULL, 0, 0, NULL, NULL, roster_import_flags,
     "on the central: bring the campuses (schools), classrooms (classes) and students of a "
     "district's OneRoster 1.2 CSV export into cairn (docs/ROSTER.md): each student's "
     "classrooms are the classes they are enrolled in that day, and a student whose "
     "enrollments all ended is withdrawn. Only what differs is written, all in one batch, or "
     "nothing: a bad file is refused naming its file and line. Prints how many records were added, "
     "updated, moved and withdrawn, and their ids. The records reach each campus and classroom by sync"},
    {"retention", NULL, DO_MANY, "put_many", NULL, 0, 0, NULL, NULL, retention_flags,
     "on the central: apply the retention rule of cairn.conf ([retention] "
     "erase_withdrawn_after_days = N): erase every student withdrawn at least N days ago, by "
     "their withdrawal date, as cairn student erase does, all in one batch or none. Withdrawn "
     "students with no withdrawal date are listed, never erased. Nothing runs it by itself: "
     "run it by hand or from a timer, --dry-run first"},
    {"review", "add", DO_PUT, "put", "review", 0, 0, "added", NULL, review_flags,
     "record a review and its decision"},
    {"support", "add", DO_PUT, "put", "support_change", 0, 0, "added", NULL, support_flags,
     "record a change of support"},
    {"celebrate", NULL, DO_PUT, "put", "celebration", 0, 0, "added", NULL, celebrate_flags,
     "record a celebration"},
    {"status", NULL, DO_READ, "status", NULL, 0, 0, NULL, "students", status_flags,
     "for each student (accommodations first), each milestone: its goal and baseline, how "
     "many of the last points meet the target rule, the level (not started, beginning, "
     "developing, meeting, exceeding), the traffic light and why, with the numbers (or, "
     "after its end date, its result: met or not met; once closed, the result it was closed "
     "with), the trend per week against what "
     "the aimline needs, the support in place, the latest celebration, the next review "
     "(a check date or the cadence; OVERDUE when past) and the if/then supports that "
     "fire. How each is computed: store/progress.h"},
    {"show", NULL, DO_READ, "show", NULL, 0, 0, NULL, "record", show_flags,
     "one record and its full history (amendments, retractions, who and why)"},
    {"template", "add", DO_PUT, "put", "template", 0, 0, "added", NULL, template_flags,
     "on the central: publish a milestone template to every classroom (a signed record; "
     "only the central writes them)"},
    {"template", "list", DO_READ, "export", "template", 0, 0, NULL, "records", no_flags,
     "the templates this node holds: id, title, type, scale, target, rule, cadence, "
     "standard"},
    {"template", "show", DO_READ, "show", "template", 0, 0, NULL, "record",
     template_show_flags, "one template and its history"},
    {"standard", "add", DO_PUT, "put", "standard", 0, 0, "added", NULL, standard_flags,
     "on the central: add a standard to the catalog every classroom receives"},
    {"standard", "list", DO_READ, "export", "standard", 0, 0, NULL, "records", no_flags,
     "the standards of the catalog: code, text, CASE identifier"},
    {"report", "program", DO_READ, "report", NULL, 0, 0, NULL, "rows", report_flags,
     "on the central (every campus) or a hub (its campus): for each template (or standard) "
     "and milestone type, by campus and classroom, the students with such a milestone and "
     "the share meeting, developing, beginning, not started and red; then the templates and "
     "standards most students miss, ranked; and evidence dated after tomorrow"},
    {"report", "red", DO_READ, "report", NULL, 0, 0, NULL, "rows", report_flags,
     "every milestone with a red light, an if/then support that fires, or evidence dated "
     "after tomorrow, by campus: the planned action, the days since the last evidence, the "
     "review overdue"},
    {"report", "reviews", DO_READ, "report", NULL, 0, 0, NULL, "rows", report_flags,
     "the reviews overdue by cadence (or check date), by classroom, most overdue first"},
    {"report", "supports", DO_READ, "report", NULL, 0, 0, NULL, "rows", report_flags,
     "for each support (the intervention lever), the students who had it and their trend "
     "before and after it came in (the phase change): better, same or worse"},
    {"conflicts", NULL, DO_READ, "conflicts", NULL, 0, 0, NULL, "conflicts", no_flags,
     "fields changed on two devices at once: the value shown and the others"},
    {"export", NULL, DO_READ, "export", NULL, 0, 0, NULL, "records", export_flags,
     "every record as canonical JSON (JSON unless --csv), one record per line in compact "
     "form with sorted keys, fetched page by page: the same data prints the same bytes on "
     "every node; with --csv, tables for spreadsheets instead (files mode 0600)"},
    {"health", NULL, DO_READ, "sync_status", NULL, 0, 0, NULL, "peers", health_flags,
     "for monitoring: exit 0 when cairnd serves, its data directory's disk has at least 64 "
     "MiB free, and (on a node with an upstream) the upstream link succeeded within the last "
     "--within seconds; otherwise print each reason and exit 1 (3 when cairnd is not "
     "running)"},
    {"ping", NULL, DO_READ, "ping", NULL, 0, 0, NULL, NULL, no_flags,
     "check that cairnd answers; print its version, device id and role"},
    {"check", NULL, DO_READ, "check", NULL, 0, 0, NULL, "problems", no_flags,
     "verify this node's data without changing it: every log's hash chain links and is "
     "covered by verified signatures, and the records equal a rebuild from the log; "
     "prints each problem and exits 1 if there is any (with cairnd stopped: "
     "cairnd --check --data DIR)"},
    {"enroll", NULL, DO_READ, "enroll", NULL, 0, 0, NULL, "token", enroll_flags,
     "on the central: make a one-time token that enrolls one device into that scope; print "
     "it alone on stdout"},
    {"join", NULL, DO_READ, "join", NULL, 0, 0, NULL, "message", join_flags,
     "enroll this node with the token from cairn enroll and start syncing to the central (or "
     "the hub given); waits for the central's answer, up to a minute"},
    {"devices", NULL, DO_READ, "devices", NULL, 0, 0, NULL, "devices", no_flags,
     "the enrolled devices: id, role, scope, name, when last seen, whether revoked"},
    {"revoke", NULL, DO_READ, "revoke", NULL, 0, 0, "revoked device", "id", revoke_flags,
     "on the central: refuse this device from now on, everywhere the revocation syncs to (what "
     "it wrote before stays)"},
    {"sync", "status", DO_READ, "sync_status", NULL, 0, 0, NULL, "peers", no_flags,
     "each sync peer: connected or not, last success, entries pending each way, counts, the "
     "central's receipt for our log, the last error; then what cairnd refused since it started, "
     "by class (cairn --help lists them)"},
    {"sync", "now", DO_READ, "sync_now", NULL, 0, 0, NULL, "message", sync_now_flags,
     "sync with the upstream now instead of waiting for the next retry, then wait until the "
     "link is idle both ways: nothing left to send, nothing the upstream offers left to "
     "receive (on a terminal, showing what is left). Exits 0 in step; 1 when the link "
     "failed (the reason is printed; cairnd keeps retrying) or after ten minutes"},
    {"bundle", "export", DO_READ, "bundle_export", NULL, 0, 0, NULL, NULL, bundle_export_flags,
     "for a campus with no network: write the entries of this device that the central lacks "
     "(after its latest receipt) to FILE, encrypted to the central (and this node's hub) and "
     "signed; carry it over and import it there. With --for DEVICE, on the central or a hub: "
     "write what a sync would send that device (every entry it may hold, an erasure too), "
     "encrypted to it; carry it there and import it"},
    {"bundle", "import", DO_READ, "bundle_import", NULL, 0, 0, NULL, NULL, bundle_import_flags,
     "apply a bundle's entries exactly as a sync would: on the central or a hub, a bundle "
     "from below; on a classroom, one its central or hub wrote for it (any other is refused). "
     "Importing one twice is harmless; a truncated or altered file is refused whole"},
    {"mirror", "status", DO_READ, "mirror", NULL, 0, 0, NULL, "mirror", no_flags,
     "on a central or hub with a PostgreSQL mirror ([mirror] postgres in cairn.conf): "
     "connected or not, how many entries of the store it has not applied yet, the last "
     "error, and the day its milestone status is as of (docs/REPORTING.md)"},
    {"mirror", "rebuild", DO_READ, "mirror", NULL, 0, 0, NULL, "mirror", no_flags,
     "empty the PostgreSQL mirror's tables and refill them from the store (returns at once; "
     "mirror status shows when it has caught up)"},
    {"backup", NULL, DO_READ, "backup", NULL, 0, 0, NULL, NULL, backup_flags,
     "while cairnd runs: write a consistent, compacted copy of this node's store, with its "
     "cairn.conf and device key, to FILE (temp file, fsync, rename: never a partial file "
     "under that name). Keep it as safe as the device key"},
    {"backup-key", "new", DO_BACKUP_KEY, NULL, NULL, 0, 0, NULL, NULL, backup_key_flags,
     "make a key pair for encrypted backups (needs no cairnd): writes the secret key to FILE "
     "and prints the line to put in [backup] of cairn.conf, backup_public_key = KEY"},
    {"restore", NULL, DO_RESTORE, NULL, NULL, 0, 0, NULL, NULL, restore_flags,
     "make the data directory DIR (which must not exist, or be empty) from a backup, and check "
     "it (runs cairnd --restore FILE --data DIR [--key SECRETFILE]; needs no cairnd running). "
     "An encrypted backup needs --key; a wrong key or an altered file restores nothing. A "
     "restored "
     "classroom or hub refuses local writes until its upstream has sent back what it holds "
     "of this device's log: start cairnd and run cairn sync now"},
    {"web", NULL, DO_READ, "web_signin", NULL, 0, 0, NULL, "url", web_flags,
     "print a one-time sign-in link to the web page cairnd serves ([web] web in cairn.conf; "
     "on a classroom http://127.0.0.1:7421), good for 5 minutes and one use; with a display, "
     "open it with xdg-open. Signing in lasts [web] web_session_hours (default 12); a "
     "restart of cairnd signs everyone out"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char json_help[] =
    "JSON output (--json; keys sorted, 2-space indent; bin as hex, nil as null):\n"
    "  add, set, amend, retract, celebrate, move, withdraw, reenroll, close, reopen,\n"
    "    archive, unarchive, carry-forward, student erase: {\"id\": ID}\n"
    "  evidence add-many: {\"ids\": [ID]}, in the order of the lines\n"
    "  roster import: {\"added\", \"updated\", \"moved\", \"withdrawn\": [{\"type\",\n"
    "    \"id\"}], \"dry_run\"}\n"
    "  retention: {\"days\", \"dry_run\", \"erase\": [{\"id\", \"withdrawn_on\"}],\n"
    "    \"undated\": [ID]}\n"
    "  init: {\"device\": HEX, \"network\": HEX (central only)}\n"
    "  backup-key new: {\"backup_public_key\": BASE64, \"key_file\": FILE}\n"
    "  ping: {\"version\", \"device\", \"role\", \"campus\", \"name\"}\n"
    "  status: {\"as_of\": DATE, \"notices\": [TEXT] (sync trouble to see: the\n"
    "    clock is off, the upstream refused this device), \"students\": [{\"id\",\n"
    "    \"name\", \"grade\", \"campus\", \"classrooms\": [TEXT], \"accommodations\":\n"
    "    [TEXT], \"withdrawn\", \"withdrawn_on\", \"open\" (milestones neither closed\n"
    "    nor archived), \"milestones\": [{\n"
    "    \"id\", \"student\", \"type\", \"statement\", \"horizon\", \"parent\",\n"
    "    \"scale\", \"levels\": [TEXT] (an ordinal scale's labels, lowest first; values\n"
    "    are their ranks from 0), \"direction\" (up, down, at-least, at-most),\n"
    "    \"baseline\" (null: pending), \"baseline_text\", \"target\",\n"
    "    \"target_text\", \"rule\", \"goal\" (the target and\n"
    "    rule in words), \"start\", \"end\", \"checks\": [DATE], \"cadence\",\n"
    "    \"cadence_days\",\n"
    "    \"level\", \"light\" (none after the end), \"ended\", \"result\" (met, not\n"
    "    met, replaced; null while it runs), \"closed\" (closed by a teacher),\n"
    "    \"closed_on\", \"archived\", \"replaced_by\", \"carried_from\", \"why\" (the\n"
    "    light's or the result's reason, with\n"
    "    its numbers), \"points\", \"met\" (of the last \"window\" points),\n"
    "    \"wrong_side_run\", \"last_value\", \"last_text\", \"last_observed\",\n"
    "    \"aim_at_last\", \"trend_per_week\", \"trend\" (improving, worsening, flat),\n"
    "    \"trend_text\", \"aim_per_week\", \"last_review\", \"next_review\" (null:\n"
    "    none due), \"next_is_check\", \"overdue\", \"support\", \"support_since\",\n"
    "    \"celebration\", \"celebrated\", \"triggered\": [{\"rule\", \"action\"}],\n"
    "    \"conflicts\", \"template\", \"standard\", \"future_points\" (evidence dated\n"
    "    after tomorrow, left out)}]}]}\n"
    "  show: {\"record\": {\"type\", \"id\", \"fields\", \"history\", \"conflicts\",\n"
    "    \"scale\" (of the record's milestone), \"levels\" (its labels, if ordinal)}}\n"
    "  student list: {\"students\": [{\"id\", \"name\", \"grade\", \"campus\",\n"
    "    \"classrooms\", \"accommodations\", \"withdrawn\", \"withdrawn_on\", \"open\",\n"
    "    \"milestones\": [{\"id\", \"statement\", \"scale\", \"levels\", \"result\",\n"
    "    \"archived\", \"start\", \"end\"}]}]}\n"
    "  export: {\"records\": [records shaped as show's, sorted by type then id,\n"
    "    one per line]}; template list, standard list: the same, of that type\n"
    "  report: {\"kind\", \"as_of\", \"future_after\" (tomorrow), \"total\": COUNTS,\n"
    "    \"rows\": [ROW], \"summary\", \"future\": [{\"campus\", \"classroom\",\n"
    "    \"student\", \"name\", \"milestone\", \"statement\", \"entries\",\n"
    "    \"evidence\": [{\"id\", \"observed\"}] (the first 10)}] (the first 500),\n"
    "    \"future_milestones\" (how many)}; COUNTS: {\"students\",\n"
    "    \"milestones\", \"not_started\", \"beginning\", \"developing\", \"meeting\",\n"
    "    \"exceeding\", \"green\", \"yellow\", \"red\", \"ended\", \"missed\", \"future\"}\n"
    "    program ROW: {\"template\", \"title\", \"standard\", \"standard_text\",\n"
    "      \"type\", \"place\" (all, campus, classroom), \"campus\", \"classroom\",\n"
    "      \"missed_rank\", COUNTS..., \"share_meeting\" (meeting or exceeding),\n"
    "      \"share_developing\", \"share_beginning\", \"share_not_started\",\n"
    "      \"share_red\", \"share_missed\" (of its milestones, 4 places)};\n"
    "      summary {\"missed\": [ROW, by rank]}\n"
    "    red ROW: {\"campus\", \"classroom\", \"student\", \"name\", \"grade\",\n"
    "      \"milestone\", \"statement\", \"type\", \"template\", \"light\", \"why\",\n"
    "      \"red\", \"triggered\": [{\"rule\", \"action\"}], \"last_observed\",\n"
    "      \"days_since_evidence\", \"next_review\", \"review_overdue\",\n"
    "      \"days_overdue\", \"support\", \"future_points\"}; summary {\"campuses\":\n"
    "      [{\"campus\", \"students\", \"red\", \"triggered\", \"future\"}]}\n"
    "    reviews ROW: {\"campus\", \"classroom\", \"student\", \"name\",\n"
    "      \"milestone\", \"statement\", \"cadence\", \"light\", \"ended\",\n"
    "      \"last_review\", \"next_review\", \"next_is_check\", \"days_overdue\"};\n"
    "      summary {\"classrooms\": [{\"campus\", \"classroom\", \"milestones\",\n"
    "      \"overdue\"}]}\n"
    "    supports ROW: {\"support\", \"previous\", \"from_start\", \"campus\",\n"
    "      \"classroom\", \"student\", \"name\", \"milestone\", \"statement\",\n"
    "      \"since\", \"until\", \"points_before\", \"trend_before\",\n"
    "      \"trend_before_word\", \"points_after\", \"trend_after\",\n"
    "      \"trend_after_word\", \"change\" (better, same, worse, unknown)};\n"
    "      summary {\"supports\": [{\"support\", \"students\", \"phases\", \"better\",\n"
    "      \"same\", \"worse\", \"unknown\"}]}\n"
    "    How each is counted: report/report.h. --csv prints the rows, these keys\n"
    "    as the header (a list: one item per line in its cell).\n"
    "  conflicts: {\"conflicts\": [{\"type\", \"id\", \"field\", \"value\",\n"
    "    \"losers\": [{\"value\", \"author\", \"seq\", \"hlc\"}]}]}\n"
    "  enroll: {\"token\"}   join, sync now: {\"message\"}   revoke: {\"id\"}\n"
    "  devices: {\"devices\": [{\"id\", \"role\", \"campus\", \"classroom\", \"name\",\n"
    "    \"revoked\", \"enrolled\" (date or null), \"last_seen\" (unix seconds or null)}]}\n"
    "  bundle export: {\"path\", \"entries\", \"bytes\", \"from\", \"to\" (seqs),\n"
    "    \"hub\" (true: the hub can open it too)}; with --for: {\"path\", \"entries\",\n"
    "    \"bytes\", \"authors\" (logs it carries), \"for\" (the device), \"scope\"}\n"
    "  bundle import: {\"applied\", \"refused\", \"reason\", \"author\"}\n"
    "  web: {\"url\", \"expires\" (unix seconds)}; with --sign-out-all {\"ended\"}\n"
    "  mirror status, mirror rebuild: {\"mirror\": {\"configured\", \"connected\",\n"
    "    \"behind\" (entries not applied yet), \"applied\", \"rebuilding\",\n"
    "    \"last_error\", \"last_error_at\", \"last_applied_at\" (unix seconds or null),\n"
    "    \"status_as_of\" (the day of the milestone status in PostgreSQL, or null),\n"
    "    \"status_milestones\", \"status_current\"}}\n"
    "  sync status: {\"peers\": [{\"peer\", \"address\", \"role\", \"direction\",\n"
    "    \"connected\", \"state\", \"last_success\" (unix seconds or null),\n"
    "    \"pending_out\" (entries the peer lacks: not sent, or sent and not yet\n"
    "    acknowledged), \"pending_in\" (null: not known yet), \"sent\", \"received\",\n"
    "    \"refused\" (entries refused either way on this link), \"last_error\",\n"
    "    \"last_error_code\" (the reason the upstream gave: disk_full, revoked,\n"
    "    busy, version, ... or null), \"clock_offset_ms\" (the peer's clock minus\n"
    "    the central's; upstream: this node's; null: not known), \"clock\" (a\n"
    "    sentence when it is off by more than the tolerance), \"notice\",\n"
    "    \"receipt\": {\"seq\"} or null}],\n"
    "    \"clock\": {\"offset_ms\", \"tolerance_ms\", \"message\"}, \"notices\": [TEXT],\n"
    "    \"kept_out\": {\"held\", \"quarantined\": [{\"reason\", \"entries\"}]},\n"
    "    \"refusals\": {CLASS: count}: what cairnd refused since it started (in\n"
    "    memory, over every link; docs/PROTOCOL.md section 8), by class:\n";

static const char general_help[] =
    "Options for every command:\n"
    "  --data DIR   the data directory (or set CAIRN_DATA); may come before or after\n"
    "               the command words\n"
    "  --json       print the result as JSON\n"
    "  --help, -h   print help (cairn COMMAND --help: that command only)\n"
    "  --version    print the version\n"
    "Give a flag's value as --flag VALUE or --flag=VALUE (a switch such as --force\n"
    "takes none); \"--\" ends the flags.\n"
    "\n"
    "Environment:\n"
    "  CAIRN_DATA   the data directory when --data is not given\n"
    "\n"
    "Exit status:\n"
    "  0  done\n"
    "  1  cairnd refused or failed (its one-line reason is printed), or local error\n"
    "  2  usage error: unknown command or flag, missing or malformed argument\n"
    "  3  cairnd is not running on DIR\n";

/* Parsed command line. Value i is vals[i], for flag who[i] of cmd->flags. */
typedef struct args {
  const command *cmd;
  const char *data;
  int json;
  int nvals;
  const char **vals;
  int *who;
  /* Fields a template fills (milestone add --template): packed pairs
   * added to the put's set. */
  const msgpack_sbuffer *extra_set;
  size_t nextra_set;
  char num[8][32]; /* values read on their scale (labels), in vals' place */
  int nnum;
} args;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fputs("cairn: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return EXIT_USAGE;
}

static const char *cmd_name(const command *c, char *buf, size_t n) {
  snprintf(buf, n, "%s%s%s", c->group, c->verb ? " " : "", c->verb ? c->verb : "");
  return buf;
}

/* Is flag f offered by command c (the milestone table serves add and set)? */
static int flag_offered(const command *c, const flag *f) {
  if (f->opts & F_ADD_ONLY)
    return !c->edit;
  if (f->opts & F_EDIT_ONLY)
    return c->edit;
  return 1;
}

static int flag_required(const command *c, const flag *f) {
  return (f->opts & (F_POS | F_ALWAYS)) || ((f->opts & F_REQ) && !(c->edit && f->to == TO_FIELD));
}

/* A flag that may be given more than once. */
static int repeatable(const flag *f) {
  return f->type == V_STRS || f->type == V_ADD || f->type == V_REMOVE;
}

/* Prints text word-wrapped to 79 columns, starting at column col, with
 * continuation lines indented by indent spaces. */
static void print_wrapped(FILE *out, const char *text, int col, int indent) {
  while (*text != '\0') {
    size_t word = strcspn(text, " ");
    if (col > indent && col + 1 + (int)word > 79) {
      fprintf(out, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', out);
      col++;
    }
    col += fprintf(out, "%.*s", (int)word, text);
    text += word;
    text += strspn(text, " ");
  }
  fputc('\n', out);
}

/* The earlier command sharing c's (non-empty) flag table ("milestone add"
 * for "milestone set"), or NULL. */
static const command *shares_flags_with(const command *c) {
  const command *k;
  if (c->flags[0].meta == NULL)
    return NULL;
  for (k = commands; k < c; k++)
    if (k->flags == c->flags)
      return k;
  return NULL;
}

/* Writes f's help as c offers it, with its default, into text. */
static void flag_help(const command *c, const flag *f, char *text, size_t size) {
  if (f->opts & F_TODAY)
    snprintf(text, size, "%s (default: today)", f->help);
  else if (f->opts & F_USER)
    snprintf(text, size, "%s (default: your login name)", f->help);
  else if (f->def != NULL && f->def[0] != '\0')
    snprintf(text, size, "%s (default: %s)", f->help, f->def);
  else if ((f->opts & F_TEMPLATED) && !c->edit)
    snprintf(text, size, "%s (with --template: the template's, unless given)", f->help);
  else
    snprintf(text, size, "%s", f->help);
}

/* Prints the usage line, summary and flags of c. With brief, flags already
 * described by an earlier command of the same table are not repeated. */
static void print_command_help(FILE *out, const command *c, int brief) {
  const command *twin = brief ? shares_flags_with(c) : NULL;
  const flag *f;
  char name[64];
  int col;

  col = fprintf(out, "  cairn %s", cmd_name(c, name, sizeof name));
  if (c->act == DO_INIT || c->act == DO_RESTORE)
    col += fprintf(out, " --data DIR");
  for (f = c->flags; f->meta != NULL; f++) {
    char item[160];
    if (!flag_offered(c, f))
      continue;
    if (f->opts & F_POS)
      snprintf(item, sizeof item, " %s", f->meta);
    else if (f->type == V_FLAG)
      snprintf(item, sizeof item, " [--%s]", f->name);
    else
      snprintf(item, sizeof item,
               flag_required(c, f) ? " --%s %s%s" : " [--%s %s]%s",
               f->name, f->meta, repeatable(f) ? "..." : "");
    if (col + (int)strlen(item) > 79) {
      fputs("\n     ", out);
      col = 5;
    }
    col += fprintf(out, "%s", item);
  }
  fputs("\n     ", out);
  print_wrapped(out, c->summary, 5, 5);
  for (f = c->flags; f->meta != NULL; f++) {
    char lhs[160], text[512];
    if (!flag_offered(c, f) || (twin != NULL && flag_offered(twin, f)))
      continue;
    if (f->opts & F_POS)
      snprintf(lhs, sizeof lhs, "%s", f->meta);
    else if (f->type == V_FLAG)
      snprintf(lhs, sizeof lhs, "--%s", f->name);
    else
      snprintf(lhs, sizeof lhs, "--%s %s", f->name, f->meta);
    if (strlen(lhs) > 24)
      fprintf(out, "       %s\n       %-24s", lhs, "");
    else
      fprintf(out, "       %-24s", lhs);
    flag_help(c, f, text, sizeof text);
    fputc(' ', out);
    print_wrapped(out, text, 32, 32);
  }
  if (twin != NULL)
    fprintf(out, "       (the other flags as for cairn %s)\n", cmd_name(twin, name, sizeof name));
}

/* Full help, or only the commands of one group when group is not NULL. */
static void print_help(FILE *out, const char *group) {
  size_t i;

  if (group == NULL)
    fprintf(out, "cairn %s: student milestones and the evidence behind them.\n"
                 "Every command but init talks to the cairnd running on the data directory.\n\n"
                 "Usage: cairn [--data DIR] COMMAND [ARGUMENTS] [--json]\n\n"
                 "Commands:\n",
            CAIRN_VERSION);
  for (i = 0; i < NCOMMANDS; i++) {
    if (group != NULL && strcmp(commands[i].group, group) != 0)
      continue;
    print_command_help(out, &commands[i], 1);
    fputc('\n', out);
  }
  fputs(general_help, out);
  if (group == NULL) {
    fprintf(out, "\n%s", json_help);
    cairn__cli_print_refusal_classes(out, 6);
  }
}

/* ---- the tables, read by the manual page and the completion (cli_doc.c) ---- */

size_t cairn__cli_ncommands(void) { return NCOMMANDS; }

void cairn__cli_command_doc(size_t i, cairn__cli_doc_command *d) {
  const command *c = &commands[i];
  const command *twin = shares_flags_with(c);
  cmd_name(c, d->name, sizeof d->name);
  d->verb = c->verb;
  d->summary = c->summary;
  d->takes_data = c->act == DO_INIT;
  if (twin != NULL)
    cmd_name(twin, d->twin, sizeof d->twin);
  else
    d->twin[0] = '\0';
}

int cairn__cli_flag_doc(size_t i, size_t j, cairn__cli_doc_flag *d) {
  const command *c = &commands[i];
  const command *twin = shares_flags_with(c);
  const flag *f;
  size_t n;
  for (n = 0; c->flags[n].meta != NULL; n++)
    ;
  if (j >= n)
    return -1;
  f = &c->flags[j];
  if (!flag_offered(c, f))
    return 1;
  d->name = (f->opts & F_POS) ? NULL : f->name;
  d->meta = f->type == V_FLAG ? NULL : f->meta;
  d->required = flag_required(c, f);
  d->repeatable = repeatable(f);
  d->path = f->type == V_PATH;
  d->described_by_twin = twin != NULL && flag_offered(twin, f);
  flag_help(c, f, d->help, sizeof d->help);
  return 0;
}

void cairn__cli_print_help_part(FILE *out, int part) {
  if (part == CAIRN__CLI_HELP_GENERAL) {
    fputs(general_help, out);
  } else {
    fputs(json_help, out);
    cairn__cli_print_refusal_classes(out, 6);
  }
}

static int find_flag(const command *c, const char *name, size_t len) {
  int i;
  for (i = 0; c->flags[i].meta != NULL; i++) {
    const flag *f = &c->flags[i];
    if (f->name != NULL && flag_offered(c, f) && strlen(f->name) == len &&
        strncmp(f->name, name, len) == 0)
      return i;
  }
  return -1;
}

static int flag_count(const args *a, int fi) {
  int i, n = 0;
  for (i = 0; i < a->nvals; i++)
    n += a->who[i] == fi;
  return n;
}

/* The login name of whoever runs cairn, or NULL. */
static const char *login_name(void) {
  const struct passwd *pw = getpwuid(getuid());
  const char *user = getenv("USER");

  return pw != NULL && pw->pw_name[0] != '\0' ? pw->pw_name : user != NULL && *user ? user : NULL;
}

/* The (first) value given for flag fi, else its default (NULL: none). */
static const char *flag_value(const args *a, int fi) {
  int i;
  for (i = 0; i < a->nvals; i++)
    if (a->who[i] == fi)
      return a->vals[i];
  if (a->cmd->flags[fi].opts & F_USER)
    return login_name();
  return a->cmd->flags[fi].def;
}

/* The (first) value given for the flag named name, or NULL. */
static const char *given(const args *a, const char *name) {
  int fi = find_flag(a->cmd, name, strlen(name));
  return fi >= 0 && flag_count(a, fi) > 0 ? flag_value(a, fi) : NULL;
}

/* The value given for the flag named name that the CLI reads itself
 * (TO_LOCAL: bundle export has a --to of its own), or NULL. */
static const char *given_local(const args *a, const char *name) {
  int fi = find_flag(a->cmd, name, strlen(name));
  return fi >= 0 && a->cmd->flags[fi].to == TO_LOCAL ? given(a, name) : NULL;
}

/* What the flags the CLI reads itself allow together. Returns -1 to go on
 * or EXIT_USAGE. */
static int check_local_flags(const args *a) {
  char name[64];
  cmd_name(a->cmd, name, sizeof name);
  if (given_local(a, "fill") != NULL && given(a, "template") == NULL)
    return usage_error("%s: --fill completes a template's statement: give --template too", name);
  if (given_local(a, "fill") != NULL && given(a, "statement") != NULL)
    return usage_error("%s: --fill and --statement: give the whole statement, or the words "
                       "for the template's blanks, not both",
                       name);
  if (given_local(a, "csv") != NULL && a->json)
    return usage_error("%s: --csv and --json: choose one", name);
  if (given_local(a, "to") != NULL && given_local(a, "csv") == NULL && a->cmd->act != DO_BACKUP_KEY)
    return usage_error("%s: --to DIR writes CSV tables: give --csv TABLE", name);
  return -1;
}

/* An option token: "--x", or "-x" that is not a negative number. */
static int is_option(const char *s) {
  return s[0] == '-' && s[1] != '\0' && !isdigit((unsigned char)s[1]) && s[1] != '.';
}

/* Parses argv into a. Returns -1 to go on, or an exit code (help printed:
 * EXIT_OK; usage error: EXIT_USAGE). */
static int parse_args(int argc, char **argv, args *a) {
  const char *group = NULL;
  int i, npos = 0, no_more_flags = 0;
  char name[64];

  for (i = 1; i < argc; i++) {
    const char *tok = argv[i], *eq, *value = NULL;
    size_t nlen;
    int fi;

    if (!no_more_flags && strcmp(tok, "--") == 0) {
      no_more_flags = 1;
      continue;
    }
    if (!no_more_flags && (strcmp(tok, "--help") == 0 || strcmp(tok, "-h") == 0)) {
      if (a->cmd != NULL) {
        print_command_help(stdout, a->cmd, 0);
        fputc('\n', stdout);
        fputs(general_help, stdout);
      } else {
        print_help(stdout, group);
      }
      return EXIT_OK;
    }
    if (!no_more_flags && strcmp(tok, "--version") == 0) {
      printf("cairn %s\n", CAIRN_VERSION);
      return EXIT_OK;
    }
    if (!no_more_flags && strcmp(tok, "--json") == 0) {
      a->json = 1;
      continue;
    }
    if (!no_more_flags && is_option(tok)) {
      if (tok[1] != '-')
        return usage_error("unknown option %s (see cairn --help)", tok);
      eq = strchr(tok, '=');
      nlen = eq ? (size_t)(eq - tok - 2) : strlen(tok + 2);
      if (eq != NULL)
        value = eq + 1;
      fi = -1;
      if (!(nlen == 4 && strncmp(tok + 2, "data", 4) == 0)) {
        if (a->cmd == NULL)
          return usage_error("unknown option %.*s before the command (see cairn --help)",
                             (int)(nlen + 2), tok);
        fi = find_flag(a->cmd, tok + 2, nlen);
        if (fi < 0)
          return usage_error("%s: unknown option %.*s (see cairn %s --help)",
                             cmd_name(a->cmd, name, sizeof name), (int)(nlen + 2), tok, name);
      }
      if (fi >= 0 && a->cmd->flags[fi].type == V_FLAG) {
        if (value != NULL)
          return usage_error("%.*s takes no value", (int)(nlen + 2), tok);
        value = "";
      } else if (value == NULL) {
        if (i + 1 >= argc)
          return usage_error("%.*s needs a value", (int)(nlen + 2), tok);
        value = argv[++i];
      }
      if (fi < 0) {
        a->data = value;
        continue;
      }
      if (!repeatable(&a->cmd->flags[fi]) && flag_count(a, fi) > 0)
        return usage_error("%s: %.*s given twice", cmd_name(a->cmd, name, sizeof name),
                           (int)(nlen + 2), tok);
      a->vals[a->nvals] = value;
      a->who[a->nvals++] = fi;
      continue;
    }
    /* A word: the command's, or a positional argument. */
    if (a->cmd == NULL) {
      size_t c;
      int known = 0;
      for (c = 0; c < NCOMMANDS; c++) {
        const command *k = &commands[c];
        if (group == NULL && strcmp(k->group, tok) == 0) {
          known = 1;
          if (k->verb == NULL)
            a->cmd = k;
        } else if (group != NULL && strcmp(k->group, group) == 0 && strcmp(k->verb, tok) == 0) {
          known = 1;
          a->cmd = k;
        }
      }
      if (!known && group != NULL)
        return usage_error("%s: unknown command '%s' (see cairn %s --help)", group, tok, group);
      if (!known)
        return usage_error("unknown command '%s' (see cairn --help)", tok);
      if (a->cmd == NULL)
        group = tok;
      continue;
    }
    for (;; npos++) {
      const flag *f = &a->cmd->flags[npos];
      if (f->meta == NULL)
        return usage_error("%s: unexpected argument '%s'", cmd_name(a->cmd, name, sizeof name),
                           tok);
      if ((f->opts & F_POS) && flag_offered(a->cmd, f))
        break;
    }
    a->vals[a->nvals] = tok;
    a->who[a->nvals++] = npos++;
  }

  if (a->cmd == NULL && group != NULL)
    return usage_error("%s: which one? (see cairn %s --help)", group, group);
  if (a->cmd == NULL)
    return usage_error("no command given (see cairn --help)");
  for (i = 0; a->cmd->flags[i].meta != NULL; i++) {
    const flag *f = &a->cmd->flags[i];
    if (!flag_offered(a->cmd, f) || !flag_required(a->cmd, f) || flag_count(a, i) > 0 ||
        ((f->opts & F_TEMPLATED) && given(a, "template") != NULL))
      continue;
    if (f->opts & F_POS)
      return usage_error("%s: %s is required", cmd_name(a->cmd, name, sizeof name), f->meta);
    return usage_error("%s: --%s is required", cmd_name(a->cmd, name, sizeof name), f->name);
  }
  if ((i = check_local_flags(a)) >= 0)
    return i;
  if (a->data == NULL)
    a->data = getenv("CAIRN_DATA");
  if (a->cmd->act == DO_BACKUP_KEY) /* needs no data directory */
    return -1;
  if (a->data == NULL || a->data[0] == '\0')
    return usage_error("no data directory: give --data DIR or set CAIRN_DATA");
  return -1;
}

/* Parses a V_NUM value: a number, a number then % (75% is 75), or yes/no
 * (1/0); run_request has read a label, and checked that a percent or
 * yes/no suits the milestone's scale, before. "nan" and "inf" pass: the
 * daemon refuses them with a message naming the field. */
static int parse_num(const char *s, const char *field, double *out) {
  char why[300];
  if (cairn__cli_value(field, s, NULL, out, why, sizeof why) != 0)
    return usage_error("%s", why);
  return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Parses a V_SECS duration: a whole number of seconds, optionally followed
 * by s, m, h or d. Refuses zero, signs, spaces, fractions and overflow. */
static int parse_secs(const char *s, const char *field, long long *out) {
  static const char units[] = "smhd";
  static const long long unit_secs[] = {1, 60, 3600, 86400};
  const char *u;
  char *end;
  long long n, mult = 1;

  errno = 0;
  n = isdigit((unsigned char)s[0]) ? strtoll(s, &end, 10) : 0;
  if (n > 0 && errno == 0 && *end != '\0') {
    u = end[1] == '\0' ? strchr(units, end[0]) : NULL;
    mult = u != NULL ? unit_secs[u - units] : 0;
  }
  if (n <= 0 || errno != 0 || mult == 0 || n > LLONG_MAX / mult)
    return usage_error("%s: '%s' is not a duration (seconds, or like 30m, 24h, 7d)", field, s);
  *out = n * mult;
  return 0;
}

/* Packs the absolute form of file name v: the real path of its directory,
 * then its last component. Returns 0 or EXIT_FAIL (the directory does not
 * resolve). */
static int pack_path(msgpack_packer *pk, const char *v) {
  char dir[PATH_MAX], real[PATH_MAX], full[2 * PATH_MAX];
  const char *slash = strrchr(v, '/'), *base = slash != NULL ? slash + 1 : v;
  size_t dlen = slash == NULL ? 0 : slash == v ? 1 : (size_t)(slash - v);

  if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return usage_error("'%s' is not a file name", v);
  if (dlen >= sizeof dir)
    return usage_error("'%s': name too long", v);
  memcpy(dir, slash != NULL ? v : ".", slash != NULL ? dlen : 1);
  dir[slash != NULL ? dlen : 1] = '\0';
  if (realpath(dir, real) == NULL) {
    fprintf(stderr, "cairn: %s: %s\n", dir, strerror(errno));
    return EXIT_FAIL;
  }
  snprintf(full, sizeof full, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
  pack_cstr(pk, full);
  return 0;
}

/* Packs the operations on set field key: {add: [...], remove: [...]} from
 * the V_ADD and V_REMOVE flags of key that were given. */
static void pack_set_ops(msgpack_packer *pk, const args *a, const char *key) {
  static const vtype kinds[] = {V_ADD, V_REMOVE};
  int n[2] = {0, 0}, i, k;
  for (i = 0; i < a->nvals; i++)
    for (k = 0; k < 2; k++)
      n[k] += a->cmd->flags[a->who[i]].type == kinds[k] &&
              strcmp(a->cmd->flags[a->who[i]].key, key) == 0;
  msgpack_pack_map(pk, (n[0] > 0) + (n[1] > 0));
  for (k = 0; k < 2; k++) {
    if (n[k] == 0)
      continue;
    pack_cstr(pk, k == 0 ? "add" : "remove");
    msgpack_pack_array(pk, (size_t)n[k]);
    for (i = 0; i < a->nvals; i++)
      if (a->cmd->flags[a->who[i]].type == kinds[k] &&
          strcmp(a->cmd->flags[a->who[i]].key, key) == 0)
        pack_cstr(pk, a->vals[i]);
  }
}

/* 1 when flag fi is a set operation whose field an earlier given flag
 * already packs (pack_set_ops packs the field's operations once). */
static int packed_before(const args *a, int fi) {
  const flag *f = &a->cmd->flags[fi];
  if (f->type != V_ADD && f->type != V_REMOVE)
    return 0;
  for (int i = 0; i < fi; i++) {
    const flag *g = &a->cmd->flags[i];
    if ((g->type == V_ADD || g->type == V_REMOVE) && strcmp(g->key, f->key) == 0 &&
        flag_count(a, i) > 0)
      return 1;
  }
  return 0;
}

/* Packs one flag's value(s). Returns 0, EXIT_USAGE or EXIT_FAIL. */
static int pack_value(msgpack_packer *pk, const args *a, int fi) {
  const flag *f = &a->cmd->flags[fi];
  const char *v = flag_value(a, fi);
  const char *field = f->key ? f->key : "id";
  const char *slash;
  double d;
  char *end;
  long long n = 0;
  int i;

  switch (f->type) {
  case V_STRS:
    msgpack_pack_array(pk, (size_t)flag_count(a, fi));
    for (i = 0; i < a->nvals; i++)
      if (a->who[i] == fi)
        pack_cstr(pk, a->vals[i]);
    return 0;
  case V_NUMNIL:
    if (strcmp(v, "pending") == 0) {
      msgpack_pack_nil(pk);
      return 0;
    }
    /* fall through */
  case V_NUM:
    if (parse_num(v, field, &d) != 0)
      return EXIT_USAGE;
    msgpack_pack_double(pk, d);
    return 0;
  case V_INT:
    errno = 0;
    n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0)
      return usage_error("%s: '%s' is not a whole number", field, v);
    msgpack_pack_int64(pk, n);
    return 0;
  case V_SECS:
    if (parse_secs(v, field, &n) != 0)
      return EXIT_USAGE;
    msgpack_pack_int64(pk, n);
    return 0;
  case V_SCOPE:
    slash = strchr(v, '/');
    if (slash == v || v[0] == '\0' ||
        (slash != NULL && (slash[1] == '\0' || strchr(slash + 1, '/') != NULL)))
      return usage_error("%s: '%s' is not CAMPUS or CAMPUS/CLASSROOM", field, v);
    pack_cstr(pk, "scope_campus");
    msgpack_pack_str_with_body(pk, v, slash != NULL ? (size_t)(slash - v) : strlen(v));
    if (slash != NULL) {
      pack_cstr(pk, "scope_classroom");
      pack_cstr(pk, slash + 1);
    }
    return 0;
  case V_PATH:
    return pack_path(pk, v);
  case V_FLAG:
    msgpack_pack_true(pk);
    return 0;
  case V_ADD:
  case V_REMOVE:
    pack_set_ops(pk, a, f->key);
    return 0;
  case V_STR:
    break;
  }
  pack_cstr(pk, v);
  return 0;
}

/* Packs a's request into pk, leaving room for extra more keys that the
 * caller packs after it. Returns 0 or EXIT_USAGE. */
static int pack_request(msgpack_packer *pk, const args *a, size_t extra) {
  const command *c = a->cmd;
  size_t top = 1 + extra, nset = 0;
  char today[11];
  int i, rc;

  cairn_text_date_format(cairn_text_today(), today);
  for (i = 0; c->flags[i].meta != NULL; i++) {
    const flag *f = &c->flags[i];
    const char *v = flag_value(a, i);
    if (f->to == TO_FIELD && (flag_count(a, i) > 0 || (f->opts & F_TODAY)) &&
        !packed_before(a, i))
      nset++;
    else if (f->to != TO_FIELD && f->to != TO_LOCAL && v != NULL)
      top += f->type == V_SCOPE && strchr(v, '/') != NULL ? 2 : 1;
  }
  nset += a->nextra_set;
  if (c->act == DO_PUT)
    top += 3; /* type, edit, set */
  else if (c->type != NULL || strcmp(c->op, "report") == 0)
    top++; /* the record type of a list or show; the kind of a report */
  else if (strcmp(c->op, "mirror") == 0 && strcmp(c->verb, "rebuild") == 0)
    top++; /* rebuild: true */
  for (const fixed_field *x = c->fixed; x != NULL && x->key != NULL; x++)
    nset++;
  if (c->act == DO_PUT && nset == 0) {
    char name[64];
    return usage_error("%s: nothing to change (see cairn %s --help)",
                       cmd_name(c, name, sizeof name), name);
  }

  msgpack_pack_map(pk, top);
  pack_cstr(pk, "op");
  pack_cstr(pk, c->op);
  if (c->act == DO_PUT) {
    pack_cstr(pk, "type");
    pack_cstr(pk, c->type);
    pack_cstr(pk, "edit");
    if (c->edit)
      msgpack_pack_true(pk);
    else
      msgpack_pack_false(pk);
  } else if (c->type != NULL) {
    pack_cstr(pk, "type");
    pack_cstr(pk, c->type);
  } else if (strcmp(c->op, "report") == 0) {
    pack_cstr(pk, "kind");
    pack_cstr(pk, c->verb);
  } else if (strcmp(c->op, "mirror") == 0 && strcmp(c->verb, "rebuild") == 0) {
    pack_cstr(pk, "rebuild");
    msgpack_pack_true(pk);
  }
  for (i = 0; c->flags[i].meta != NULL; i++) {
    const flag *f = &c->flags[i];
    if (f->to == TO_FIELD || f->to == TO_LOCAL || flag_value(a, i) == NULL)
      continue;
    if (f->type != V_SCOPE) /* which packs its own keys */
      pack_cstr(pk, f->to == TO_ID ? "id" : f->to == TO_WHY ? "why" : f->key);
    if ((rc = pack_value(pk, a, i)) != 0)
      return rc;
  }
  if (c->act != DO_PUT)
    return 0;
  pack_cstr(pk, "set");
  msgpack_pack_map(pk, nset);
  for (i = 0; c->flags[i].meta != NULL; i++) {
    const flag *f = &c->flags[i];
    if (f->to != TO_FIELD || packed_before(a, i))
      continue;
    if (flag_count(a, i) > 0) {
      pack_cstr(pk, f->key);
      if ((rc = pack_value(pk, a, i)) != 0)
        return rc;
    } else if (f->opts & F_TODAY) {
      pack_cstr(pk, f->key);
      pack_cstr(pk, today);
    }
  }
  for (const fixed_field *x = c->fixed; x != NULL && x->key != NULL; x++) {
    pack_cstr(pk, x->key);
    if (x->str != NULL)
      pack_cstr(pk, x->str);
    else if (x->boolean)
      msgpack_pack_true(pk);
    else
      msgpack_pack_false(pk);
  }
  if (a->nextra_set > 0) /* the fields a template fills: already packed pairs */
    pk->callback(pk->data, a->extra_set->data, a->extra_set->size);
  return 0;
}

/* "cairn: MESSAGE" on stderr: cairnd's one line, which may quote stored
 * or typed text, escaped for the terminal. */
static void print_refusal(const char *message) {
  fputs("cairn: ", stderr);
  cairn__cli_put_text(stderr, message, strlen(message));
  fputc('\n', stderr);
}

static int print_json_owned(json_t *j) {
  int rc = j != NULL ? cairn__cli_print_json(j) : -1;
  json_decref(j);
  if (rc != 0)
    fprintf(stderr, "cairn: could not print the reply as JSON\n");
  return rc != 0 ? EXIT_FAIL : EXIT_OK;
}

/* After the token of cairn enroll (stdout, for scripts), says on stderr what
 * to do with it. */
static void print_enroll_hint(const args *a) {
  const char *expires = "";
  size_t n;
  int i;

  for (i = 0; a->cmd->flags[i].meta != NULL; i++)
    if (a->cmd->flags[i].type == V_SECS)
      expires = flag_value(a, i);
  n = strlen(expires);
  fprintf(stderr, "give it to the device: cairn join TOKEN (expires in %s%s)\n", expires,
          n > 0 && isdigit((unsigned char)expires[n - 1]) ? " s" : "");
}

static uint64_t reply_u64(const cairn_reply *r, const char *key) {
  const msgpack_object *v = cairn_reply_get(r, key);
  return v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 : 0;
}

static const char *reply_str(const cairn_reply *r, const char *key, int *len) {
  const msgpack_object *v = cairn_reply_get(r, key);
  *len = v != NULL && v->type == MSGPACK_OBJECT_STR ? (int)v->via.str.size : 0;
  return *len > 0 ? v->via.str.ptr : "";
}

/* "wrote FILE: N entries (#FROM to #TO), B bytes, for the central" or
 * "applied N entries (M refused: reason)". */
static int print_bundle(const command *c, const cairn_reply *r) {
  const msgpack_object *hub = cairn_reply_get(r, "hub");
  uint64_t n, to;
  const char *s;
  int len;

  if (strcmp(c->op, "bundle_export") == 0 && cairn_reply_get(r, "for") != NULL) {
    const msgpack_object *sc = cairn_reply_get(r, "scope");
    n = reply_u64(r, "entries");
    s = reply_str(r, "path", &len);
    printf("wrote %.*s: %llu entr%s of %llu logs, %llu bytes, for device ", len, s,
           (unsigned long long)n, n == 1 ? "y" : "ies", (unsigned long long)reply_u64(r, "authors"),
           (unsigned long long)reply_u64(r, "bytes"));
    s = reply_str(r, "for", &len);
    cairn__cli_put_text(stdout, s, len < 8 ? (size_t)len : 8);
    if (sc != NULL && sc->type == MSGPACK_OBJECT_ARRAY && sc->via.array.size == 2 &&
        sc->via.array.ptr[0].type == MSGPACK_OBJECT_STR &&
        sc->via.array.ptr[1].type == MSGPACK_OBJECT_STR) {
      const msgpack_object_str *campus = &sc->via.array.ptr[0].via.str;
      const msgpack_object_str *room = &sc->via.array.ptr[1].via.str;
      fputs(" (", stdout);
      cairn__cli_put_text(stdout, campus->ptr, campus->size);
      if (room->size > 0) {
        putchar('/');
        cairn__cli_put_text(stdout, room->ptr, room->size);
      }
      putchar(')');
    }
    printf("; import it there\n");
    return EXIT_OK;
  }
  if (strcmp(c->op, "bundle_export") == 0) {
    n = reply_u64(r, "entries");
    to = reply_u64(r, "to");
    s = reply_str(r, "path", &len);
    printf("wrote %.*s: %llu entr%s ", len, s, (unsigned long long)n, n == 1 ? "y" : "ies");
    if (n > 0)
      printf("(#%llu to #%llu)", (unsigned long long)reply_u64(r, "from"),
             (unsigned long long)to);
    else
      printf("(the central holds everything up to #%llu)", (unsigned long long)to);
    printf(", %llu bytes, for the central%s\n", (unsigned long long)reply_u64(r, "bytes"),
           hub != NULL && hub->type == MSGPACK_OBJECT_BOOLEAN && hub->via.boolean
               ? " and this node's hub"
               : "");
    return EXIT_OK;
  }
  n = reply_u64(r, "applied");
  printf("applied %llu entr%s", (unsigned long long)n, n == 1 ? "y" : "ies");
  if ((n = reply_u64(r, "refused")) > 0) {
    s = reply_str(r, "reason", &len);
    printf(" (%llu refused: ", (unsigned long long)n);
    cairn__cli_put_text(stdout, s, (size_t)len);
    putchar(')');
  }
  putchar('\n');
  return EXIT_OK;
}

/* cairn check: the problems, one per line; exit 1 when there is any. */
static int print_check(const args *a, const cairn_reply *r) {
  const msgpack_object *clean = cairn_reply_get(r, "clean");
  const msgpack_object *problems = cairn_reply_get(r, "problems");
  int is_clean = clean != NULL && clean->type == MSGPACK_OBJECT_BOOLEAN && clean->via.boolean;

  if (a->json) {
    json_t *j = cairn__cli_to_json(cairn_reply_root(r));
    if (j != NULL)
      json_object_del(j, "ok");
    if (print_json_owned(j) != EXIT_OK)
      return EXIT_FAIL;
  } else if (is_clean) {
    printf("%s: clean: every chain verifies and the records equal a rebuild from the log\n",
           a->data);
  } else if (problems != NULL && problems->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < problems->via.array.size; i++) {
      fputs("problem: ", stdout);
      cairn__cli_print_value(stdout, &problems->via.array.ptr[i]);
      putchar('\n');
    }
  }
  return is_clean ? EXIT_OK : EXIT_FAIL;
}

/* cairn web: the link (stdout) and, with a display, xdg-open on it; or how
 * many sessions --sign-out-all ended. */
static int print_web(const cairn_reply *r) {
  const msgpack_object *url = cairn_reply_get(r, "url");
  const char *display = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
  char link[512];

  if (url == NULL) {
    printf("signed out %llu session(s); every unused sign-in link is void\n",
           (unsigned long long)reply_u64(r, "ended"));
    return EXIT_OK;
  }
  if (url->type != MSGPACK_OBJECT_STR || url->via.str.size >= sizeof link) {
    fprintf(stderr, "cairn: cairnd's reply has no link\n");
    return EXIT_FAIL;
  }
  memcpy(link, url->via.str.ptr, url->via.str.size);
  link[url->via.str.size] = '\0';
  printf("%s\n", link);
  fprintf(stderr, "open it in a browser on this computer: it works once, for 5 minutes\n");
  if ((display != NULL && *display) || (wayland != NULL && *wayland)) {
    extern char **environ;
    char *argv[] = {"xdg-open", link, NULL};
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) != 0)
      fprintf(stderr, "cairn: xdg-open is not available; open the link yourself\n");
    posix_spawn_file_actions_destroy(&fa);
  }
  return EXIT_OK;
}

/* mirror status / rebuild: the PostgreSQL mirror's state, one line each.
 * Returns an exit code. */
static int print_mirror(const command *c, const cairn_reply *r) {
  const msgpack_object *m = cairn_reply_get(r, "mirror"), *v;

  if (m == NULL || m->type != MSGPACK_OBJECT_MAP) {
    fprintf(stderr, "cairn: cairnd's reply has no mirror\n");
    return EXIT_FAIL;
  }
  v = cairn_record_map_get(m, "configured");
  if (v == NULL || v->type != MSGPACK_OBJECT_BOOLEAN || !v->via.boolean) {
    printf("no PostgreSQL mirror: set postgres in [mirror] of cairn.conf (a central or hub)\n");
    return EXIT_OK;
  }
  if (strcmp(c->verb, "rebuild") == 0)
    printf("rebuilding: the mirror's tables are emptied and refilled from the store\n");
  v = cairn_record_map_get(m, "connected");
  printf("mirror: %s\n", v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean
                             ? "connected to PostgreSQL"
                             : "not connected to PostgreSQL");
  static const struct {
    const char *key, *label;
  } rows[] = {{"behind", "entries behind"},
              {"applied", "entries applied since cairnd started"},
              {"rebuilding", "rebuild pending"},
              {"last_applied_at", "last applied"},
              {"last_error", "last error"},
              {"last_error_at", "last error at"},
              {"status_as_of", "milestone status as of"},
              {"status_milestones", "milestones in the status"},
              {"status_current", "status covers every entry applied"}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    if ((v = cairn_record_map_get(m, rows[i].key)) == NULL || v->type == MSGPACK_OBJECT_NIL)
      continue;
    printf("  %-38s ", rows[i].label);
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && strstr(rows[i].key, "_at") != NULL) {
      time_t t = (time_t)v->via.u64;
      struct tm tm;
      char when[32];
      strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
      fputs(when, stdout);
    } else {
      cairn__cli_print_value(stdout, v);
    }
    putchar('\n');
  }
  return EXIT_OK;
}

/* Prints a successful reply for command c. Returns an exit code. */
static int print_reply(const args *a, const cairn_reply *r) {
  const command *c = a->cmd;
  const msgpack_object *v;
  json_t *j;

  if (c->act == DO_PUT) {
    v = cairn_reply_get(r, "id");
    if (v == NULL || v->type != MSGPACK_OBJECT_STR) {
      fprintf(stderr, "cairn: cairnd's reply has no id\n");
      return EXIT_FAIL;
    }
    if (a->json)
      return print_json_owned(json_pack("{s:s%}", "id", v->via.str.ptr, (size_t)v->via.str.size));
    /* an erasure's id is its student's: "erased student ana-8" */
    printf("%s %s %.*s\n", c->done, strcmp(c->type, "erasure") == 0 ? "student" : c->type,
           (int)v->via.str.size, v->via.str.ptr);
    return EXIT_OK;
  }
  if (strcmp(c->op, "check") == 0)
    return print_check(a, r);
  if (strcmp(c->group, "health") == 0) {
    const char *w = given_local(a, "within");
    char *end;
    long long within = w != NULL ? strtoll(w, &end, 10) : CAIRN_HEALTH_WITHIN_DEFAULT;
    if (w != NULL && (*w == '\0' || *end != '\0' || within <= 0))
      return usage_error("health: --within: a whole number of seconds above 0, not '%s'", w);
    return cairn__cli_print_health(cairn_reply_get(r, "peers"), a->data, within);
  }
  if (a->json) {
    j = cairn__cli_to_json(cairn_reply_root(r));
    if (j != NULL)
      json_object_del(j, "ok");
    return print_json_owned(j);
  }
  v = c->reply ? cairn_reply_get(r, c->reply) : NULL;
  if (strcmp(c->op, "status") == 0) {
    cairn__cli_print_notices(cairn_reply_get(r, "notices"));
    cairn__cli_print_status(cairn_reply_get(r, "as_of"), v);
  } else if (strcmp(c->op, "show") == 0) {
    cairn__cli_print_record(v);
  } else if (strcmp(c->op, "students") == 0) {
    cairn__cli_print_students(v);
  } else if (strcmp(c->op, "conflicts") == 0) {
    cairn__cli_print_conflicts(v);
  } else if (strcmp(c->op, "devices") == 0) {
    cairn__cli_print_devices(v);
  } else if (strcmp(c->op, "sync_status") == 0) {
    cairn__cli_print_notices(cairn_reply_get(r, "notices"));
    cairn__cli_print_peers(v);
    cairn__cli_print_kept_out(cairn_reply_get(r, "kept_out"));
    cairn__cli_print_refusals(cairn_reply_get(r, "refusals"));
  } else if (strcmp(c->op, "mirror") == 0) {
    return print_mirror(c, r);
  } else if (strcmp(c->op, "web_signin") == 0) {
    return print_web(r);
  } else if (strncmp(c->op, "bundle_", 7) == 0) {
    return print_bundle(c, r);
  } else if (strcmp(c->op, "backup") == 0) {
    int len;
    const char *path = reply_str(r, "path", &len);
    const msgpack_object *enc = cairn_reply_get(r, "encrypted");
    printf("wrote %.*s: %llu bytes (the store's compacted copy: %llu)%s\n", len, path,
           (unsigned long long)reply_u64(r, "bytes"),
           (unsigned long long)reply_u64(r, "store_bytes"),
           enc != NULL && enc->type == MSGPACK_OBJECT_BOOLEAN && enc->via.boolean
               ? ", encrypted to backup_public_key"
               : "");
    return EXIT_OK;
  } else if (c->reply != NULL) { /* one value: a token, a message, an id */
    if (v == NULL) {
      fprintf(stderr, "cairn: cairnd's reply has no %s\n", c->reply);
      return EXIT_FAIL;
    }
    if (c->done != NULL)
      printf("%s ", c->done);
    cairn__cli_print_value(stdout, v);
    putchar('\n');
    if (strcmp(c->op, "enroll") == 0)
      print_enroll_hint(a);
  } else {
    static const char *const keys[] = {"version", "device", "role", "campus", "name", NULL};
    int i;
    printf("cairnd is running on %s\n", a->data);
    for (i = 0; keys[i] != NULL; i++) {
      if ((v = cairn_reply_get(r, keys[i])) == NULL)
        continue;
      printf("  %-8s ", keys[i]);
      cairn__cli_print_value(stdout, v);
      putchar('\n');
    }
  }
  return EXIT_OK;
}

/* Asks cairnd for the export page after cursor (cursor_len 0: the first).
 * On success *out holds the reply. Returns an exit code. */
static int export_page(const args *a, cairn_client *c, const uint8_t *cursor, size_t cursor_len,
                       cairn_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int rc, ex = EXIT_OK;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  (void)pack_request(&pk, a, cursor_len > 0); /* run_request checked it */
  if (cursor_len > 0) {
    pack_cstr(&pk, "after");
    msgpack_pack_bin(&pk, cursor_len);
    msgpack_pack_bin_body(&pk, cursor, cursor_len);
  }
  rc = cairn_client_call(c, sb.data, sb.size, 0, out);
  if (*out == NULL) {
    fprintf(stderr, "cairn: talking to cairnd on %s: %s\n", a->data, cairn_strerror(rc));
    ex = EXIT_FAIL;
  } else if (rc != 0) {
    print_refusal(cairn_reply_message(*out));
    ex = EXIT_FAIL;
  }
  msgpack_sbuffer_destroy(&sb);
  return ex;
}

/* cairn export: fetches the export page by page and prints it as it comes,
 * one record per line in canonical JSON (sorted keys, compact), so memory
 * stays flat and two nodes with the same data print the same bytes. Shows
 * a count on a terminal. Returns an exit code. */
static int run_export(const args *a, cairn_client *c) {
  uint8_t cursor[128];
  size_t cursor_len = 0, n = 0;
  int tty = isatty(STDERR_FILENO) && a->cmd->type == NULL, ex = EXIT_OK;
  int table = a->cmd->type != NULL && !a->json; /* template list, standard list */

  if (table)
    cairn__cli_print_catalog_row(a->cmd->type, NULL);
  else
    fputs("{\"records\": [", stdout);
  do {
    cairn_reply *r = NULL;
    const msgpack_object *recs, *next;
    uint32_t i;

    ex = export_page(a, c, cursor, cursor_len, &r);
    recs = ex == EXIT_OK ? cairn_reply_get(r, "records") : NULL;
    next = ex == EXIT_OK ? cairn_reply_get(r, "next") : NULL;
    if (ex == EXIT_OK && (recs == NULL || recs->type != MSGPACK_OBJECT_ARRAY || next == NULL ||
                          (next->type == MSGPACK_OBJECT_BIN && next->via.bin.size > sizeof cursor))) {
      fprintf(stderr, "cairn: cairnd's export reply is malformed\n");
      ex = EXIT_FAIL;
    }
    for (i = 0; ex == EXIT_OK && table && i < recs->via.array.size; i++, n++)
      cairn__cli_print_catalog_row(a->cmd->type, &recs->via.array.ptr[i]);
    for (i = 0; ex == EXIT_OK && !table && i < recs->via.array.size; i++) {
      json_t *j = cairn__cli_to_json(&recs->via.array.ptr[i]);
      fputs(n++ ? ",\n" : "\n", stdout);
      if (j == NULL || json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS) != 0)
        ex = EXIT_FAIL;
      json_decref(j);
    }
    cursor_len = 0;
    if (ex == EXIT_OK && next->type == MSGPACK_OBJECT_BIN) {
      cursor_len = next->via.bin.size;
      memcpy(cursor, next->via.bin.ptr, cursor_len);
    }
    if (tty)
      fprintf(stderr, "\rcairn: exported %zu records", n);
    cairn_reply_free(r);
  } while (ex == EXIT_OK && cursor_len > 0);
  if (tty)
    fputc('\n', stderr);
  if (ex != EXIT_OK)
    return ex;
  if (table && n == 0)
    printf("(none yet: the central publishes them with cairn %s add)\n", a->cmd->type);
  else if (!table)
    fputs(n ? "\n]}\n" : "]}\n", stdout);
  return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int cairn__cli_call(cairn_client *c, const char *data, const msgpack_sbuffer *req,
                    int timeout_ms, cairn_reply **out) {
  int rc = cairn_client_call(c, req->data, req->size, timeout_ms, out);
  if (*out == NULL) {
    fprintf(stderr, "cairn: talking to cairnd on %s: %s\n", data, cairn_strerror(rc));
    return EXIT_FAIL;
  }
  if (rc != 0) {
    print_refusal(cairn_reply_message(*out));
    cairn_reply_free(*out);
    *out = NULL;
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

/* The request of a report page from offset on (cairn__cli_report). */
static void pack_report_page(void *arg, uint64_t offset, msgpack_sbuffer *out) {
  msgpack_packer pk;
  msgpack_sbuffer_clear(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  (void)pack_request(&pk, arg, 1); /* run_request checked it */
  pack_cstr(&pk, "offset");
  msgpack_pack_uint64(&pk, offset);
}

/* Collects the values of the repeatable flag named name (its count in *n;
 * caller frees the array). */
static const char **values_of(const args *a, const char *name, size_t *n) {
  int fi = find_flag(a->cmd, name, strlen(name));
  const char **v = calloc((size_t)a->nvals + 1, sizeof *v);
  *n = 0;
  for (int i = 0; v != NULL && fi >= 0 && i < a->nvals; i++)
    if (a->who[i] == fi)
      v[(*n)++] = a->vals[i];
  return v;
}

/* milestone add --template: fetches the template and the student's name
 * and packs, as extra set pairs, every template field not given here. */
static int fill_from_template(const args *a, cairn_client *c, msgpack_sbuffer *extra,
                              size_t *nextra) {
  size_t ngiven = 0, nfills;
  const char **fills = values_of(a, "fill", &nfills);
  const char **fields = calloc((size_t)a->nvals + 1, sizeof *fields);
  int ex = fills == NULL || fields == NULL ? EXIT_FAIL : EXIT_OK;
  for (int i = 0; ex == EXIT_OK && i < a->nvals; i++) {
    const flag *f = &a->cmd->flags[a->who[i]];
    if (f->to == TO_FIELD)
      fields[ngiven++] = f->key;
  }
  if (ex == EXIT_OK)
    ex = cairn__cli_template_fields(c, a->data, given(a, "template"), given(a, "student"), fields,
                                    ngiven, fills, nfills, extra, nextra);
  free(fills);
  free(fields);
  return ex;
}

/* Reads one number of the upstream peer in a sync_status reply; -1 when
 * unknown. */
static long long peer_num(const msgpack_object *peer, const char *key) {
  const msgpack_object *v = cairn_record_map_get(peer, key);
  return v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long long)v->via.u64 : -1;
}

/* cairn sync now: waits until the upstream link is in step (connected,
 * nothing to send, nothing offered left to receive), fails, or ten minutes
 * pass; on a terminal (show) with what is left on one line. Returns an
 * exit code. */
static int run_sync_progress(cairn_client *c, int show) {
  /* {"op": "sync_status"} */
  static const uint8_t req[] = {0x81, 0xa2, 'o', 'p', 0xab, 's', 'y', 'n', 'c', '_',
                                's', 't', 'a', 't', 'u', 's'};
  struct timespec pause = {0, 250 * 1000 * 1000};

  for (int tick = 0; tick < 4 * 600; tick++) {
    cairn_reply *r = NULL;
    const msgpack_object *peers, *up = NULL, *conn;
    int rc = cairn_client_call(c, req, sizeof req, 0, &r);

    if (rc != 0) {
      if (show)
        fputc('\n', stderr);
      print_refusal(r ? cairn_reply_message(r) : cairn_strerror(rc));
      cairn_reply_free(r);
      return EXIT_FAIL;
    }
    peers = cairn_reply_get(r, "peers");
    for (uint32_t i = 0; peers && peers->type == MSGPACK_OBJECT_ARRAY && i < peers->via.array.size; i++) {
      const msgpack_object *dir = cairn_record_map_get(&peers->via.array.ptr[i], "direction");
      if (dir && dir->type == MSGPACK_OBJECT_STR && dir->via.str.size == 8 &&
          memcmp(dir->via.str.ptr, "upstream", 8) == 0)
        up = &peers->via.array.ptr[i];
    }
    if (up != NULL) {
      long long out = peer_num(up, "pending_out"), in = peer_num(up, "pending_in");
      conn = cairn_record_map_get(up, "connected");
      if (conn && conn->type == MSGPACK_OBJECT_BOOLEAN && conn->via.boolean && out == 0 && in == 0) {
        fprintf(stderr, "%scairn: in step with the upstream: sent %lld, received %lld%20s\n",
                show ? "\r" : "", peer_num(up, "sent"), peer_num(up, "received"), "");
        cairn_reply_free(r);
        return EXIT_OK;
      }
      if (peer_num(up, "failures") > 0) {
        const msgpack_object *e = cairn_record_map_get(up, "last_error");
        char why[600] = "";
        if (e != NULL && e->type == MSGPACK_OBJECT_STR)
          cairn__cli_escape(e->via.str.ptr, e->via.str.size, why, sizeof why);
        fprintf(stderr, "%scairn: the sync did not complete: %s (cairnd keeps trying; see "
                "cairn sync status)%20s\n", show ? "\r" : "", why[0] ? why : "the link failed", "");
        cairn_reply_free(r);
        return EXIT_FAIL;
      }
      if (show && out >= 0 && in >= 0)
        fprintf(stderr, "\rcairn: syncing: %lld to send, %lld to receive   ", out, in);
      else if (show)
        fprintf(stderr, "\rcairn: connecting...   ");
    }
    cairn_reply_free(r);
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "%scairn: still not in step after ten minutes; see cairn sync status\n",
          show ? "\n" : "");
  return EXIT_FAIL;
}

/* The scale the values of put a are read on: --scale (and --level) when
 * given; else that of the milestone the put names (evidence add, milestone
 * carry-forward) or of the record it edits (a show reply gives a
 * milestone's scale and levels, and those of an evidence entry's
 * milestone). sc->known is 0 when it cannot be known here: cairnd's reply
 * to the put says why. */
static void put_scale(const args *a, cairn_client *c, cairn__cli_scale *sc) {
  const char *id = NULL, *scale = NULL, *labels[CAIRN_SCALE_LABELS_MAX];
  size_t nlabels = 0;
  cairn_reply *r = NULL;

  for (int i = 0; i < a->nvals; i++) {
    const flag *f = &a->cmd->flags[a->who[i]];
    if (f->to == TO_FIELD && strcmp(f->key, "scale") == 0)
      scale = a->vals[i];
    else if (f->to == TO_FIELD && strcmp(f->key, "levels") == 0 &&
             nlabels < CAIRN_SCALE_LABELS_MAX)
      labels[nlabels++] = a->vals[i];
    else if (f->to == TO_ID || (f->to == TO_FIELD && (strcmp(f->key, "milestone") == 0 ||
                                                      strcmp(f->key, "carried_from") == 0)))
      id = a->vals[i];
  }
  if (scale != NULL || id == NULL) {
    cairn__cli_scale_set(sc, NULL, scale, labels, nlabels);
    return;
  }
  cairn__cli_scale_set(sc, NULL, NULL, NULL, 0);
  if (cairn__cli_ask(c, "show", "id", id, &r) == 0) {
    const msgpack_object *rec = cairn_reply_get(r, "record");
    const msgpack_object *mid = cairn_record_map_get(cairn_record_map_get(rec, "fields"),
                                                     "milestone");
    char ms[80];
    snprintf(ms, sizeof ms, "%s", id);
    if (mid != NULL && mid->type == MSGPACK_OBJECT_STR && mid->via.str.size < sizeof ms)
      snprintf(ms, sizeof ms, "%.*s", (int)mid->via.str.size, mid->via.str.ptr);
    cairn__cli_scale_of(sc, ms, cairn_record_map_get(rec, "scale"),
                        cairn_record_map_get(rec, "levels"));
  }
  cairn_reply_free(r);
}

/* Reads each value of put a that is not a plain number (a label, 75%,
 * yes or no) on its milestone's scale, and puts the number in its place:
 * a label is its rank, and a percent or yes/no must suit the scale (on a
 * 0-4 rubric 75% or yes is a mistake, not 75 or 1). Returns 0, or an exit
 * code with the refusal printed. */
static int resolve_values(args *a, cairn_client *c) {
  cairn__cli_scale sc;
  int known = 0;
  char why[900];

  for (int i = 0; i < a->nvals; i++) {
    const flag *f = &a->cmd->flags[a->who[i]];
    double v;
    int rc;
    if ((f->type != V_NUM && f->type != V_NUMNIL) || cairn__cli_is_number(a->vals[i]) ||
        (f->type == V_NUMNIL && strcmp(a->vals[i], "pending") == 0))
      continue;
    if (!known++)
      put_scale(a, c, &sc);
    if ((rc = cairn__cli_value(f->key, a->vals[i], &sc, &v, why, sizeof why)) != 0) {
      if (rc == 2)
        return usage_error("%s", why);
      print_refusal(why);
      return EXIT_FAIL;
    }
    if (a->nnum == (int)(sizeof a->num / sizeof a->num[0]))
      return usage_error("%s: too many values", f->key);
    snprintf(a->num[a->nnum], sizeof a->num[0], "%.17g", v);
    a->vals[i] = a->num[a->nnum++];
  }
  return 0;
}

/* cairn evidence add-many FILE: reads FILE (- for standard input) and
 * writes its evidence in one batch. Returns an exit code. */
/* cairn roster import DIR [--dry-run] [--as-of DATE]. */
static int run_roster(const args *a, cairn_client *c) {
  const char *dir = NULL, *as_of = NULL;
  int dry_run = 0;
  int32_t day = cairn_text_today();
  for (int i = 0; i < a->nvals; i++) {
    const char *key = a->cmd->flags[a->who[i]].key;
    if (strcmp(key, "dir") == 0)
      dir = a->vals[i];
    else if (strcmp(key, "dry_run") == 0)
      dry_run = 1;
    else if (strcmp(key, "as_of") == 0)
      as_of = a->vals[i];
  }
  if (as_of != NULL && cairn_text_date_parse(as_of, strlen(as_of), &day) != 0)
    return usage_error("roster import: --as-of: '%s' is not a date (YYYY-MM-DD)", as_of);
  return cairn__cli_roster_import(c, a->data, dir, day, dry_run, a->json);
}

static int run_many(const args *a, cairn_client *c) {
  const char *file = NULL, *by = NULL;
  int csv = 0, force = 0, ex;
  FILE *in;

  if (strcmp(a->cmd->group, "roster") == 0)
    return run_roster(a, c);
  if (strcmp(a->cmd->group, "retention") == 0) {
    int dry_run = 0;
    for (int i = 0; i < a->nvals; i++)
      dry_run |= strcmp(a->cmd->flags[a->who[i]].key, "dry_run") == 0;
    return cairn__cli_retention(c, a->data, cairn_text_today(), dry_run, a->json);
  }
  for (int i = 0; i < a->nvals; i++) {
    const char *key = a->cmd->flags[a->who[i]].key;
    if (strcmp(key, "file") == 0)
      file = a->vals[i];
    else if (strcmp(key, "by") == 0)
      by = a->vals[i];
    else if (strcmp(key, "csv") == 0)
      csv = 1;
    else if (strcmp(key, "force") == 0)
      force = 1;
  }
  in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
  if (in == NULL) {
    fprintf(stderr, "cairn: %s: %s\n", file, strerror(errno));
    return EXIT_FAIL;
  }
  ex = cairn__cli_add_many(c, in, in == stdin ? "stdin" : file, by, force, csv, a->json);
  if (in != stdin)
    fclose(in);
  return ex;
}

/* Sends a's request to cairnd and prints the reply. Returns an exit code. */
static int run_request(args *a) {
  msgpack_sbuffer sb, extra;
  msgpack_packer pk;
  cairn_client *c = NULL;
  cairn_reply *r = NULL;
  int rc, ex, timeout_ms = 0;

  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_init(&extra);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  rc = cairn_client_open(&c, a->data);
  if (rc == CAIRN_ENOTRUNNING) {
    if (strcmp(a->cmd->op, "check") == 0)
      fprintf(stderr, "cairn: cairnd is not running on %s; check it offline with: "
                      "cairnd --check --data %s\n", a->data, a->data);
    else
      fprintf(stderr, "cairn: cairnd is not running on %s (start it with: cairnd --data %s)\n",
              a->data, a->data);
    ex = EXIT_NOTRUNNING;
    goto out;
  }
  if (rc != 0) {
    fprintf(stderr, "cairn: %s/cairnd.sock: %s\n", a->data, cairn_strerror(rc));
    ex = EXIT_FAIL;
    goto out;
  }
  if (strcmp(a->cmd->op, "export") == 0 && given_local(a, "csv") != NULL) {
    size_t ntables;
    const char **tables = values_of(a, "csv", &ntables);
    const char *scope = given(a, "scope");
    ex = tables == NULL ? EXIT_FAIL
                        : cairn__cli_export_csv(c, a->data, scope, tables, ntables,
                                                given_local(a, "to"));
    free(tables);
    goto out;
  }
  if (a->cmd->act == DO_MANY) {
    ex = run_many(a, c);
    goto out;
  }
  if (a->cmd->act == DO_PUT && (ex = resolve_values(a, c)) != 0)
    goto out;
  if (a->cmd->act == DO_PUT && given(a, "template") != NULL) {
    if ((ex = fill_from_template(a, c, &extra, &a->nextra_set)) != EXIT_OK)
      goto out;
    a->extra_set = &extra;
  }
  if ((ex = pack_request(&pk, a, 0)) != 0)
    goto out;
  if (strcmp(a->cmd->op, "export") == 0) {
    ex = run_export(a, c);
    goto out;
  }
  if (strcmp(a->cmd->op, "report") == 0) {
    ex = cairn__cli_report(c, a->data, pack_report_page, (void *)a, a->json,
                           given_local(a, "csv") != NULL);
    goto out;
  }
  /* cairnd answers a join once the central has (the default timeout is 30 s). */
  /* A bundle is read, sealed or applied whole: allow for a large one. */
  if (strcmp(a->cmd->op, "join") == 0)
    timeout_ms = 60000;
  else if (strncmp(a->cmd->op, "bundle_", 7) == 0)
    timeout_ms = 600000;
  rc = cairn_client_call(c, sb.data, sb.size, timeout_ms, &r);
  if (r == NULL) {
    fprintf(stderr, "cairn: talking to cairnd on %s: %s\n", a->data, cairn_strerror(rc));
    ex = EXIT_FAIL;
  } else if (rc != 0) {
    print_refusal(cairn_reply_message(r));
    ex = EXIT_FAIL;
  } else {
    ex = print_reply(a, r);
    if (ex == EXIT_OK && strcmp(a->cmd->op, "sync_now") == 0 && given_local(a, "no-wait") == NULL)
      ex = run_sync_progress(c, !a->json && isatty(STDERR_FILENO));
  }
out:
  cairn_reply_free(r);
  cairn_client_close(c);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&extra);
  return ex;
}

/* Copies an init setting into a fixed field, refusing one too long. */
static int init_copy(char *dst, size_t size, const char *v, const char *flagname) {
  if (strlen(v) >= size)
    return usage_error("init: --%s: at most %zu bytes", flagname, size - 1);
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

/* Creates path and any missing parents, mode 0750 (like mkdir -p).
 * Returns 0, or -1 with errno set. */
static int make_dirs(const char *path) {
  char buf[4096];
  size_t i, n = strlen(path);

  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
      return -1;
    buf[i] = path[i];
  }
  return 0;
}

/* cairn init: a new device key and configuration, no daemon involved; a
 * central also gets the deployment's new network id. */
static int run_init(const args *a) {
  cairn_config cfg;
  char key[4096], conf[4096], hex[65], why[256];
  uint8_t pk[32], network[CAIRN_SYNC_NETWORK_BYTES];
  struct stat st;
  int i, rc, listen_given = 0;

  cairn_config_defaults(&cfg);
  for (i = 0; i < a->nvals; i++) {
    const flag *f = &a->cmd->flags[a->who[i]];
    const char *v = a->vals[i];
    if (strcmp(f->key, "role") == 0)
      rc = cairn_config_role_parse(v, &cfg.role) == 0
               ? 0
               : usage_error("init: --role: must be classroom, hub or central, not '%s'", v);
    else if (strcmp(f->key, "campus") == 0)
      rc = init_copy(cfg.campus, sizeof cfg.campus, v, f->name);
    else if (strcmp(f->key, "classroom") == 0)
      rc = init_copy(cfg.classroom, sizeof cfg.classroom, v, f->name);
    else if (strcmp(f->key, "name") == 0)
      rc = init_copy(cfg.name, sizeof cfg.name, v, f->name);
    else
      rc = init_copy(cfg.listen, sizeof cfg.listen, v, f->name);
    listen_given |= strcmp(f->key, "listen") == 0;
    if (rc != 0)
      return rc;
  }
  if (listen_given && cfg.role == CAIRN_ROLE_CLASSROOM)
    return usage_error("init: --listen: only a hub or the central accepts sync connections");
  if (!listen_given && cfg.role == CAIRN_ROLE_CENTRAL)
    strcpy(cfg.listen, "0.0.0.0:7420");
  /* Before anything is written: cairn.conf must read back. */
  if (cairn_config_check(&cfg, why, sizeof why) != 0)
    return usage_error("init: %s", why);
  if (snprintf(key, sizeof key, "%s/device.key", a->data) >= (int)sizeof key ||
      snprintf(conf, sizeof conf, "%s/cairn.conf", a->data) >= (int)sizeof conf)
    return usage_error("init: %s: path too long", a->data);

  if (make_dirs(a->data) != 0) {
    fprintf(stderr, "cairn: init: cannot create %s: %s\n", a->data, strerror(errno));
    return EXIT_FAIL;
  }
  if (stat(a->data, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "cairn: init: %s is not a directory\n", a->data);
    return EXIT_FAIL;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "cairn: init: libsodium failed to initialise\n");
    return EXIT_FAIL;
  }
  if (cfg.role == CAIRN_ROLE_CENTRAL) {
    randombytes_buf(network, sizeof network);
    sodium_bin2hex(cfg.network, sizeof cfg.network, network, sizeof network);
  }
  /* A node whose key was moved into a systemd credential has no
   * device.key, but has its cairn.conf: a new key there would be a second
   * identity for its store. */
  if (lstat(conf, &st) == 0) {
    fprintf(stderr, "cairn: init: %s already exists; this directory is already initialised "
                    "(its device key may be kept in a systemd credential)\n", conf);
    return EXIT_FAIL;
  }
  rc = cairn_keyfile_create(key, pk);
  if (rc == CAIRN_EEXISTS) {
    fprintf(stderr, "cairn: init: %s already exists; this directory is already initialised\n",
            key);
    return EXIT_FAIL;
  }
  if (rc != 0) {
    fprintf(stderr, "cairn: init: %s: %s\n", key, cairn_strerror(rc));
    return EXIT_FAIL;
  }
  rc = cairn_config_save(conf, &cfg);
  if (rc != 0) {
    fprintf(stderr, "cairn: init: %s: %s\n", conf, cairn_strerror(rc));
    return EXIT_FAIL;
  }
  sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
  if (a->json && cfg.role == CAIRN_ROLE_CENTRAL)
    return print_json_owned(json_pack("{s:s, s:s}", "device", hex, "network", cfg.network));
  if (a->json)
    return print_json_owned(json_pack("{s:s}", "device", hex));
  printf("%s\n", hex);
  return EXIT_OK;
}

/* cairn backup-key new --to FILE: a key pair for encrypted backups; the
 * secret key into FILE (created exclusively, 0600, fsynced), the public
 * key printed as the line cairn.conf takes. */
static int run_backup_key(const args *a) {
  uint8_t pk[CAIRN_BACKUP_KEY_BYTES], sk[CAIRN_BACKUP_KEY_BYTES];
  char text[CAIRN_BACKUP_KEY_FILE_MAX], pub[CAIRN_BACKUP_KEY_TEXT];
  const char *path = given_local(a, "to");
  int rc;

  if (path == NULL)
    return usage_error("backup-key new: --to FILE: required");
  if (sodium_init() < 0) {
    fprintf(stderr, "cairn: libsodium failed to initialise\n");
    return EXIT_FAIL;
  }
  cairn_backup_key_new(pk, sk);
  cairn_backup_key_encode(sk, text);
  rc = cairn_file_create_secret(path, text, strlen(text));
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(text, sizeof text);
  if (rc != 0) {
    fprintf(stderr, "cairn: backup-key new: %s: %s\n", path,
            rc == CAIRN_EEXISTS ? "exists already (a key is never overwritten)"
                                : cairn_strerror(rc));
    return EXIT_FAIL;
  }
  cairn_backup_key_text(pk, pub);
  if (a->json)
    return print_json_owned(json_pack("{s:s, s:s}", "backup_public_key", pub, "key_file", path));
  fprintf(stderr, "wrote the secret key to %s: keep it off the machines it backs up; put this "
                  "line in [backup] of their cairn.conf:\n", path);
  printf("backup_public_key = %s\n", pub);
  return EXIT_OK;
}

/* cairn restore FILE --data DIR: runs cairnd --restore, which owns the
 * store's format (this program speaks only the socket protocol). cairnd is
 * looked for next to this program (installed side by side, or the build
 * tree's ../daemon), then on PATH. */
static int run_restore(const args *a) {
  char self[PATH_MAX], path[PATH_MAX + 32], *slash;
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  const char *file = a->nvals > 0 ? a->vals[0] : NULL, *key = given_local(a, "key");
  const char *argv[] = {"cairnd", "--restore", file, "--data", a->data,
                        key != NULL ? "--key" : NULL, key, NULL};

  if (file == NULL)
    return usage_error("restore: FILE: required");
  if (n > 0) {
    self[n] = '\0';
    if ((slash = strrchr(self, '/')) != NULL) {
      *slash = '\0';
      snprintf(path, sizeof path, "%s/cairnd", self);
      if (access(path, X_OK) != 0)
        snprintf(path, sizeof path, "%s/../daemon/cairnd", self);
      if (access(path, X_OK) == 0)
        execv(path, (char *const *)argv);
    }
  }
  execvp("cairnd", (char *const *)argv);
  fprintf(stderr, "cairn: restore: cannot run cairnd: %s\n", strerror(errno));
  return EXIT_FAIL;
}

int cairn__cli_main(int argc, char **argv) {
  args a = {0};
  int ex;

  /* Only the character type: wcwidth lines up tables (cairn__cli_pad);
   * numbers and messages stay as in the C locale. */
  setlocale(LC_CTYPE, "C.UTF-8");
  a.vals = calloc((size_t)argc, sizeof *a.vals);
  a.who = calloc((size_t)argc, sizeof *a.who);
  if (a.vals == NULL || a.who == NULL) {
    fprintf(stderr, "cairn: out of memory\n");
    ex = EXIT_FAIL;
  } else {
    ex = parse_args(argc, argv, &a);
    if (ex < 0)
      ex = a.cmd->act == DO_INIT      ? run_init(&a)
           : a.cmd->act == DO_RESTORE ? run_restore(&a)
           : a.cmd->act == DO_BACKUP_KEY ? run_backup_key(&a)
                                      : run_request(&a);
  }
  free(a.vals);
  free(a.who);
  if (fflush(stdout) != 0 && ex == EXIT_OK) {
    fprintf(stderr, "cairn: writing output: %s\n", strerror(errno));
    ex = EXIT_FAIL;
  }
  return ex;
}
