/*
 * cli.h: the parts of the `cairn` command-line tool shared between its
 * files: msgpack replies turned into JSON (cli_json.c) and into readable
 * text (cli_print.c). The commands and their flags live in cli.c.
 */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <stdio.h>

#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "cairn.h"
#include "record.h"

/* The exit status of cairn (cairn --help lists them). */
enum exit_code { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOTRUNNING = 3 };

/* Converts o to a new jansson value (caller frees with json_decref): nil is
 * null, bin a lowercase hex string, ints integers, floats reals (a
 * non-finite float is null), maps objects (keys must be strings).
 * Returns NULL when o cannot be expressed (a non-string key, invalid
 * UTF-8) or memory ran out. */
json_t *cairn__cli_to_json(const msgpack_object *o);

/* Prints j on stdout with 2-space indent and sorted keys, then a newline,
 * so that equal values print identical bytes. Inside strings, the C1
 * controls, DEL, the line and paragraph separators and the bidirectional
 * controls are written as \uXXXX escapes (jansson escapes the C0 ones), so
 * stored text cannot reach a terminal as a control sequence. Returns 0 or
 * -1. */
int cairn__cli_print_json(const json_t *j);

/* Prints v for a person: strings escaped (cairn__cli_escape), numbers with
 * %g, nil as "-", booleans as yes/no, arrays joined with "; ", bin as hex,
 * maps as compact JSON. */
void cairn__cli_print_value(FILE *f, const msgpack_object *v);

/* Prints a status reply (its as_of and students): for each student one
 * header (name, id, grade, classrooms, withdrawn, accommodations), then each milestone
 * with its goal, baseline, how many points meet the rule, why its light is
 * what it is (or its result once ended), the trend against the aimline,
 * the support in place, the latest celebration, the next review and the
 * if/then supports that fire. Fields missing print as "-". */
void cairn__cli_print_status(const msgpack_object *as_of, const msgpack_object *students);

/* Escapes s[0..len) for a terminal into buf (size bytes, always
 * NUL-terminated; cut at a whole character) and returns buf. Control
 * characters (C0, DEL, C1), the line and paragraph separators and the
 * bidirectional controls are written as escapes (\x1b, \n, \u009b,
 * \u202e), and each byte that is not UTF-8 as \xNN; the rest as is. */
const char *cairn__cli_escape(const char *s, size_t len, char *buf, size_t size);

/* The terminal columns that s (NUL-terminated, escaped for a terminal)
 * takes: wcwidth of each character (cairn__cli_main sets LC_CTYPE to
 * C.UTF-8, so "é" takes one column and "学" two); a byte that is not
 * UTF-8, or a character the locale does not know, takes one. */
int cairn__cli_columns(const char *s);

/* Prints s to stdout, then spaces up to width columns (none when s is
 * wider): a table cell that lines up whatever the script of a name. */
void cairn__cli_pad(const char *s, int width);

/* Writes s[0..len) to f escaped as cairn__cli_escape does, whatever its
 * length. */
void cairn__cli_put_text(FILE *f, const char *s, size_t len);

/* Prints the record of a show reply: its fields, then its history (author
 * prefix, seq, time from the HLC, what was set and why), then any
 * conflicts. Values of a yes/no scale (the reply's scale) print as yes/no. */
void cairn__cli_print_record(const msgpack_object *record);

/* Prints the conflicts array of a conflicts reply, one field per line. */
void cairn__cli_print_conflicts(const msgpack_object *conflicts);

/* Prints the devices array of a devices reply as a table: id prefix, role,
 * scope, name, when last seen (local time), and REVOKED when revoked. */
void cairn__cli_print_devices(const msgpack_object *devices);

/* Prints the peers array of a sync_status reply, one block per peer, or
 * that there is none and how to join an upstream. */
void cairn__cli_print_peers(const msgpack_object *peers);

/* cairn health: from a sync_status reply's peers (cairnd answered, so it
 * serves), the free space of data_dir's file system and, when this node
 * has an upstream, its last success (within within_s seconds), judged by
 * cairn_health_judge (protocol/health.h, which /health uses too). Prints
 * "healthy: ..." and returns EXIT_OK, or prints "unhealthy: REASON" for
 * each failed check and returns EXIT_FAIL. */
int cairn__cli_print_health(const msgpack_object *peers, const char *data_dir, int64_t within_s);

/* Prints the refusals map of a sync_status reply after a blank line: each
 * class with a count above 0, its count and what it means
 * (protocol/sync_refusals.h), or that nothing was refused. Prints nothing
 * when refusals is NULL (an older cairnd). */
void cairn__cli_print_refusals(const msgpack_object *refusals);

/* Prints every refusal class, one "NAME  what it counts" line each, after
 * indent spaces: the list in `cairn --help`. */
void cairn__cli_print_refusal_classes(FILE *f, int indent);

/* Prints the sentences of a sync_status or status reply's "notices", one
 * per line after "! ", escaped for the terminal. NULL prints nothing. */
void cairn__cli_print_notices(const msgpack_object *notices);

/* Prints a sync_status reply's "kept_out": held entries and quarantined
 * ones by reason, when there are any. */
void cairn__cli_print_kept_out(const msgpack_object *kept);

/* Sends req to the cairnd of data (for messages) on c (timeout_ms 0: the
 * default) and sets *out to its reply, which the caller frees. Returns
 * EXIT_OK, or EXIT_FAIL with the reason on stderr (cairnd's refusal,
 * escaped, or why it could not be asked) and *out NULL. (cli.c) */
int cairn__cli_call(cairn_client *c, const char *data, const msgpack_sbuffer *req,
                    int timeout_ms, cairn_reply **out);

/* ---- the central office (cli_central.c) ---- */

/* milestone add --template: reads template template_id and, when its
 * statement names {name}, student's name; packs into extra, as pairs of a
 * set map, every milestone field the template has that given[0..ngiven)
 * (the fields given on the command line) lacks, the statement filled with
 * the student's name and fills[0..nfills) (template.h). *nextra gets the
 * pairs' count. Returns EXIT_OK, EXIT_FAIL (cairnd refused: no such
 * template or student) or EXIT_USAGE (the --fill words do not match the
 * blanks), with the reason on stderr. */
int cairn__cli_template_fields(cairn_client *c, const char *data, const char *template_id,
                               const char *student, const char *const *given, size_t ngiven,
                               const char *const *fills, size_t nfills, msgpack_sbuffer *extra,
                               size_t *nextra);

/* template list, standard list: prints the header line of type's table
 * when record is NULL, else record's row (text escaped). */
void cairn__cli_print_catalog_row(const char *type, const msgpack_object *record);

/* ---- reports (cli_report.c) ---- */

/* Packs into out the whole request of one report page from offset on. */
typedef void (*cairn__cli_page_fn)(void *arg, uint64_t offset, msgpack_sbuffer *out);

/* cairn report KIND: fetches every page (pack(arg, offset) makes each
 * request) and prints the report as text, as JSON (json: one object, the
 * pages' rows joined) or as CSV (csv: the rows with a header row).
 * Returns an exit status; on failure the reason is on stderr. */
int cairn__cli_report(cairn_client *c, const char *data, cairn__cli_page_fn pack, void *arg,
                      int json, int csv);

/* ---- CSV (cli_csv.c) ---- */

/* A CSV table being written: RFC 4180 through libcsv's writer, CRLF
 * between rows. */
typedef struct cairn__csv {
  FILE *f;
  size_t col;   /* cells written on the current row */
  int escape;   /* 1: f is a terminal: text is escaped for it */
  int failed;   /* a write failed */
} cairn__csv;

/* Starts a table on f. */
void cairn__csv_init(cairn__csv *w, FILE *f);

/* Writes one cell: text s[0..len) as is when nothing in it needs quoting,
 * else quoted by libcsv (a quote doubled). Stored text (text 1) that
 * starts with =, +, -, @, tab or CR gets a leading ' so that no
 * spreadsheet runs it as a formula. */
void cairn__csv_cell(cairn__csv *w, const char *s, size_t len, int text);

/* Writes one value as a cell: nil empty, true/false, a number in its
 * shortest exact form, a string as stored text, an array as its items
 * one per line (a map item by its "action" when it has one, else as
 * compact JSON), a map as compact JSON. */
void cairn__csv_value(cairn__csv *w, const msgpack_object *v);

/* Ends the row. */
void cairn__csv_end_row(cairn__csv *w);

/* cairn export --csv TABLE...: each table (students, milestones, evidence,
 * reviews, status, or all) of the records in scope ("CAMPUS[/CLASSROOM]",
 * or NULL: all) as CSV: to stdout when to_dir is NULL (one table), else
 * each to to_dir/TABLE.csv, written to a temporary file, fsynced and
 * renamed into place. Returns an exit status; on failure the reason is on
 * stderr and no TABLE.csv is left half-written. */
int cairn__cli_export_csv(cairn_client *c, const char *data, const char *scope,
                          const char *const *tables, size_t ntables, const char *to_dir);

/* Calls fn(arg, record) for every record of type this node holds (the
 * export, page by page; record borrowed for the call) until fn returns
 * other than EXIT_OK. Returns EXIT_OK or the first other exit status
 * (cairnd's refusal on stderr). */
int cairn__cli_each_record(cairn_client *c, const char *data, const char *type,
                           int (*fn)(void *arg, const msgpack_object *record), void *arg);

/* ---- roster import (cli_roster.c) ---- */

/* cairn roster import DIR: reads the OneRoster export in dir, compares it
 * with the campuses, classrooms and students cairnd holds as of day, and
 * sends what differs as one all-or-nothing put_many (dry_run: checked by
 * cairnd, nothing written). Prints the counts (added, updated, moved,
 * withdrawn) and the ids, or {"added": [...], ...} with json. A bad
 * export is refused naming its file and line, escaped, on stderr, and
 * nothing is sent. Returns an exit status. */
int cairn__cli_roster_import(cairn_client *c, const char *data, const char *dir, int32_t day,
                             int dry_run, int json);

/* ---- retention (cli_retention.c) ---- */

/* cairn retention: reads the rule of data's cairn.conf ([retention]
 * erase_withdrawn_after_days), asks cairnd for the withdrawn students, and
 * erases those withdrawn at least that many days before today, in one
 * all-or-nothing put_many of erasures (dry_run: only lists them). Prints
 * each student, or {"days", "dry_run", "erase": [{"id", "withdrawn_on"}],
 * "undated": [ID]} with json. Returns an exit status; the reason of a
 * failure is on stderr. */
int cairn__cli_retention(cairn_client *c, const char *data, int32_t today, int dry_run, int json);

/* ---- values on a milestone's scale (cli_value.c) ---- */

/* A milestone's scale as the CLI reads values on it. */
typedef struct cairn__cli_scale {
  int known;           /* scale holds the milestone's scale */
  char scale[40];      /* as stored: "0-4", "percent", "yesno", "letter", "levels" */
  char labels[CAIRN_SCALE_LABELS_MAX][CAIRN_SCALE_LABEL_MAX + 1]; /* ordinal, lowest first */
  size_t nlabels;
  char milestone[80];  /* whose scale it is, for messages ("" when not known) */
} cairn__cli_scale;

/* Fills sc: the scale (NULL: not known) of milestone (NULL: none yet) and
 * its labels (a letter scale's grades when none are given). */
void cairn__cli_scale_set(cairn__cli_scale *sc, const char *milestone, const char *scale,
                          const char *const *labels, size_t nlabels);

/* Fills sc from a reply's scale and levels objects (each may be NULL). */
void cairn__cli_scale_of(cairn__cli_scale *sc, const char *milestone,
                         const msgpack_object *scale, const msgpack_object *levels);

/* 1 when s is a whole number as strtod reads it, nothing before or after. */
int cairn__cli_is_number(const char *s);

/* Reads text, given for field, on scale sc (NULL or not known: any): a
 * label of an ordinal scale (letter case aside) is its rank; a number is
 * itself; yes/no is 1/0 on a yes/no scale; N% is N on a percent scale.
 * Returns 0 and *out; 1 when text does not suit the scale (a percent on
 * another scale, a word that is no label of it), or 2 when it is not a
 * number and the scale has no labels; why gets one line naming field. */
int cairn__cli_value(const char *field, const char *text, const cairn__cli_scale *sc,
                     double *out, char *why, size_t whylen);

/* Sends {"op": op, key: value} on c and waits for the reply: as
 * cairn_client_call. */
int cairn__cli_ask(cairn_client *c, const char *op, const char *key, const char *value,
                   cairn_reply **out);

/* ---- evidence add-many (cli_many.c) ---- */

/* Reads evidence lines from in (named name in messages): "MILESTONE-OR-
 * STUDENT VALUE [DATE] [NOTE]" per line, or CSV with a header; resolves
 * each target and value; writes them all with one put_many (by: the `by`
 * of every entry, or NULL; force: back-entries), or nothing, listing each
 * bad line by number on stderr. json: print {"ids": [...]}. Returns an exit
 * code (0, 1 refused, 2 usage). */
int cairn__cli_add_many(cairn_client *c, FILE *in, const char *name, const char *by, int force,
                        int csv, int json);

/* Prints a students reply as a table: id, name, grade, campus, classrooms,
 * open milestones, and withdrawn students marked. */
void cairn__cli_print_students(const msgpack_object *students);

/* Runs the cairn command line (cli_main.c's main): parses argv, runs the
 * command, returns the exit status (enum exit_code). */
int cairn__cli_main(int argc, char **argv);

/* The command table, read by the manual page and the bash completion
 * (cli_doc.c) so that neither can drift from what is parsed and from
 * --help. */
typedef struct cairn__cli_doc_command {
  char name[64];       /* "student add" */
  const char *verb;    /* "add"; NULL for a one-word command */
  const char *summary; /* static */
  int takes_data;      /* the usage line shows --data DIR (init) */
  char twin[64];       /* the earlier command whose flags --help describes instead, or "" */
} cairn__cli_doc_command;

typedef struct cairn__cli_doc_flag {
  const char *name;      /* without the dashes; NULL for a positional (static) */
  const char *meta;      /* its value's or the positional's name; NULL for a switch */
  int required, repeatable;
  int path;              /* its value is a file name */
  int described_by_twin; /* --help describes it under the twin command */
  char help[512];        /* as --help prints it, with its default */
} cairn__cli_doc_flag;

/* The number of commands, in --help order. */
size_t cairn__cli_ncommands(void);

/* Fills d with command i (< cairn__cli_ncommands()). */
void cairn__cli_command_doc(size_t i, cairn__cli_doc_command *d);

/* Fills d with flag j of command i. Returns 0; 1 when command i does not
 * offer that flag (d untouched); -1 past the last flag. */
int cairn__cli_flag_doc(size_t i, size_t j, cairn__cli_doc_flag *d);

/* Prints a part of cairn --help that is text rather than table: the
 * options for every command, environment and exit status, or the shapes
 * of --json output with the refusal classes. */
enum { CAIRN__CLI_HELP_GENERAL, CAIRN__CLI_HELP_JSON };
void cairn__cli_print_help_part(FILE *out, int part);

#endif
