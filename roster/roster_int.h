/*
 * roster_int.h: what the files of roster/ share (module-internal).
 *
 *   roster_csv.c    bytes -> lines -> libcsv -> one row of values at a time
 *   roster_rows.c   the column tables; a row's values -> a record
 *   roster.c        the model: strings, indexes, the whole-export checks,
 *                   lookups and answers
 *   roster_read.c   a directory's files -> the reader
 */
#ifndef CAIRN_ROSTER_INT_H
#define CAIRN_ROSTER_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <csv.h>

#include "roster.h"

/* ---- the model's store: strings in an arena, records in arrays, and one
 * hash index of sourcedIds per file ---- */

typedef struct cairn__roster_block cairn__roster_block;

typedef struct cairn__roster_table {
  char *recs;       /* n records of the file's struct, each starting with cairn_roster_row */
  size_t n, cap;
  size_t size;      /* sizeof the file's struct */
  uint32_t *slots;  /* open addressing: record index + 1, 0 for empty */
  size_t nslots;    /* a power of two, at least twice n */
} cairn__roster_table;

struct cairn__roster_store {
  cairn__roster_block *blocks;
  uint8_t hash_key[16];
  cairn__roster_table t[CAIRN_ROSTER_FILES];
  size_t *schools; /* indices in orgs of the schools, in the arena */
  size_t n_schools;
};

/* Returns size bytes aligned for any record field, owned by the store
 * (freed with it), or NULL when out of memory. */
void *cairn__roster_alloc(struct cairn__roster_store *s, size_t size);

/* Copies s[0..len) and a NUL into the store; NULL when out of memory. */
char *cairn__roster_strdup(struct cairn__roster_store *s, const char *p, size_t len);

/* Appends a zeroed record to file f's table. Returns it (valid until the
 * next append to f), or NULL when out of memory. */
void *cairn__roster_append(struct cairn__roster_store *s, cairn_roster_file f);

/* Returns the index of the record of f with sourcedId id[0..len), or
 * CAIRN_ROSTER_NONE. */
size_t cairn__roster_lookup(const struct cairn__roster_store *s, cairn_roster_file f, const char *id,
                            size_t len);

/* Indexes the last record appended to f under its row.id. Returns 0, or
 * CAIRN_ENOMEM. The caller checked first that the id is new. */
int cairn__roster_index_last(struct cairn__roster_store *s, cairn_roster_file f);

/* The row of record i of f. */
cairn_roster_row *cairn__roster_row_at(const struct cairn__roster_store *s, cairn_roster_file f, size_t i);

/* sizeof the record struct of file f (0 for the manifest). */
size_t cairn__roster_record_size(cairn_roster_file f);

/* The OneRoster names of the roles, in the order of cairn_roster_role,
 * NULL-terminated (OTHER has none). */
extern const char *const cairn__roster_role_names[];

/* Returns a new store with a fresh hash key, or NULL. */
struct cairn__roster_store *cairn__roster_store_new(void);
void cairn__roster_store_free(struct cairn__roster_store *s);

/* ---- the reader ---- */

/* One value of the row being read: offset and length in rowbuf. */
typedef struct cairn__roster_value {
  uint32_t off, len;
} cairn__roster_value;

/* What the reader knows of one file. */
typedef struct cairn__roster_file_state {
  cairn_roster_mode mode;
  uint32_t mode_line; /* the manifest line that set the mode; 0 when none did */
  int begun, ended;
  uint64_t rows;
} cairn__roster_file_state;

struct cairn_roster_reader {
  /* limits and progress, from the options */
  uint64_t file_max;
  uint32_t rows_max, line_max, field_max, progress_every;
  cairn_roster_progress_fn progress;
  void *progress_arg;
  uint64_t bytes, rows_total, bytes_total;

  struct cairn__roster_store *store;
  cairn__roster_file_state files[CAIRN_ROSTER_FILES];
  int manifest_version_line; /* line of oneroster.version; 0 when not seen */

  /* the open file */
  cairn_roster_file cur;
  int open;
  struct csv_parser csv;
  uint32_t line;          /* the physical line of the next byte, 1-based */
  uint32_t rec_line;      /* the line the current row starts on */
  int at_row_start;       /* the next byte starts a row */
  uint64_t rec_bytes;     /* bytes of the current row so far */
  uint64_t file_bytes;
  int cr_pending;         /* the last byte was a CR: the next must be LF */
  unsigned bom_have;      /* bytes of a UTF-8 BOM matched at the start */
  int bom_done;

  /* the row being read */
  char *rowbuf;           /* line_max + COLUMNS_MAX bytes: values, NUL-terminated */
  uint32_t rowbuf_used;
  cairn__roster_value values[CAIRN_ROSTER_COLUMNS_MAX];
  uint32_t nvalues;

  /* the open file's header */
  int header_done;
  uint32_t ncolumns;              /* columns the header names */
  char *header[CAIRN_ROSTER_COLUMNS_MAX]; /* their names (malloc'd) */
  int col_of[CAIRN_ROSTER_COLUMNS_MAX];   /* table column k is at position col_of[k], or -1 */

  int failed;
  cairn_roster_error err;
};

/* Records the first error: code, the open file (or f), line (0: the whole
 * file) and "file:line: " + the formatted text. Returns code. A later
 * error does not replace the first. */
int cairn__roster_fail(cairn_roster_reader *rd, cairn_roster_file f, uint32_t line, int code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The header of the open file has ended (values in rd->values): maps the
 * table's columns. Returns 0 or an error (recorded). */
int cairn__roster_header(cairn_roster_reader *rd);

/* A data row of the open file has ended: checks it and adds its record (or,
 * for the manifest, its property). Returns 0 or an error (recorded). */
int cairn__roster_row(cairn_roster_reader *rd);

/* The open file has ended: checks what only its end can tell. */
int cairn__roster_file_end(cairn_roster_reader *rd);

/* Resolves every reference and builds the per-user and per-class lists.
 * Returns 0 or an error (recorded). */
int cairn__roster_link(cairn_roster_reader *rd);

/* Calls the progress callback, if any, for the open file. */
void cairn__roster_progress(cairn_roster_reader *rd);

#endif
