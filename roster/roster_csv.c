/* roster_csv.c: the reader's byte stream. Bytes are cut into lines here,
 * so that every row knows the line it starts on and no row grows past the
 * line limit; libcsv (strict mode) turns each line into values; a whole row
 * goes to roster_rows.c. */
#include "roster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "text.h"

static const unsigned char utf8_bom[3] = {0xef, 0xbb, 0xbf};

int cairn__roster_fail(cairn_roster_reader *rd, cairn_roster_file f, uint32_t line, int code,
                       const char *fmt, ...) {
  cairn_roster_error *e = &rd->err;
  va_list ap;
  int n = 0;

  if (rd->failed)
    return rd->err.code;
  rd->failed = 1;
  e->code = code;
  e->file = f;
  e->line = f == CAIRN_ROSTER_FILES ? 0 : line;
  if (f != CAIRN_ROSTER_FILES && e->line)
    n = snprintf(e->message, sizeof e->message, "%s:%u: ", cairn_roster_file_name(f), (unsigned)line);
  else if (f != CAIRN_ROSTER_FILES)
    n = snprintf(e->message, sizeof e->message, "%s: ", cairn_roster_file_name(f));
  if (n < 0)
    n = 0;
  va_start(ap, fmt);
  vsnprintf(e->message + n, sizeof e->message - (size_t)n, fmt, ap);
  va_end(ap);
  return code;
}

/* Copies the reader's error (if any) to the caller's. */
static int report(const cairn_roster_reader *rd, cairn_roster_error *err) {
  if (!rd->failed)
    return 0;
  if (err)
    *err = rd->err;
  return rd->err.code;
}

static uint64_t lower(uint64_t asked, uint64_t def) { return asked == 0 || asked > def ? def : asked; }

cairn_roster_reader *cairn_roster_reader_new(const cairn_roster_options *opt) {
  static const cairn_roster_options none;
  cairn_roster_reader *rd = calloc(1, sizeof *rd);

  if (rd == NULL)
    return NULL;
  if (opt == NULL)
    opt = &none;
  rd->file_max = lower(opt->file_max, CAIRN_ROSTER_FILE_MAX);
  rd->rows_max = (uint32_t)lower(opt->rows_max, CAIRN_ROSTER_ROWS_MAX);
  rd->line_max = (uint32_t)lower(opt->line_max, CAIRN_ROSTER_LINE_MAX);
  rd->field_max = (uint32_t)lower(opt->field_max, CAIRN_ROSTER_FIELD_MAX);
  rd->progress = opt->progress;
  rd->progress_arg = opt->progress_arg;
  rd->progress_every = opt->progress_every ? opt->progress_every : 10000;
  rd->cur = CAIRN_ROSTER_FILES;
  rd->store = cairn__roster_store_new();
  /* Values are copied with a NUL each; a row's values never hold more
   * bytes than the row (libcsv only removes quotes). */
  rd->rowbuf = malloc((size_t)rd->line_max + CAIRN_ROSTER_COLUMNS_MAX);
  if (rd->store == NULL || rd->rowbuf == NULL) {
    cairn_roster_reader_free(rd);
    return NULL;
  }
  return rd;
}

static void close_file(cairn_roster_reader *rd) {
  if (!rd->open)
    return;
  csv_free(&rd->csv);
  for (uint32_t i = 0; i < rd->ncolumns; i++)
    free(rd->header[i]);
  rd->ncolumns = 0;
  rd->open = 0;
}

void cairn_roster_reader_free(cairn_roster_reader *rd) {
  if (rd == NULL)
    return;
  close_file(rd);
  cairn__roster_store_free(rd->store);
  free(rd->rowbuf);
  free(rd);
}

/* libcsv trims these around an unquoted value: spaces only, so that a tab
 * reaches the value check and is refused. */
static int is_space(unsigned char c) { return c == ' '; }

int cairn_roster_reader_begin(cairn_roster_reader *rd, cairn_roster_file f, cairn_roster_error *err) {
  if (rd->failed)
    return report(rd, err);
  if ((unsigned)f >= CAIRN_ROSTER_FILES)
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_EINVAL, "no such roster file (%d)", (int)f);
  else if (rd->open)
    cairn__roster_fail(rd, f, 0, CAIRN_EINVAL, "begun while %s is still open",
                       cairn_roster_file_name(rd->cur));
  else if (rd->files[f].begun)
    cairn__roster_fail(rd, f, 0, CAIRN_EINVAL, "read twice");
  else if (f != CAIRN_ROSTER_MANIFEST && !rd->files[CAIRN_ROSTER_MANIFEST].ended)
    cairn__roster_fail(rd, f, 0, CAIRN_EINVAL, "read before manifest.csv");
  else if (f != CAIRN_ROSTER_MANIFEST && rd->files[f].mode == CAIRN_ROSTER_ABSENT)
    cairn__roster_fail(rd, f, 0, CAIRN_EINVAL, "manifest.csv does not list it as bulk or delta");
  else if (csv_init(&rd->csv, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
    cairn__roster_fail(rd, f, 0, CAIRN_ENOMEM, "out of memory");
  if (rd->failed)
    return report(rd, err);
  csv_set_space_func(&rd->csv, is_space);
  rd->cur = f;
  rd->open = 1;
  rd->files[f].begun = 1;
  rd->line = 1;
  rd->rec_line = 1;
  rd->at_row_start = 1;
  rd->rec_bytes = 0;
  rd->file_bytes = 0;
  rd->cr_pending = 0;
  rd->bom_have = 0;
  rd->bom_done = 0;
  rd->rowbuf_used = 0;
  rd->nvalues = 0;
  rd->header_done = 0;
  rd->ncolumns = 0;
  return 0;
}

/* The name of value i of the row being read, for a message: the header's
 * name for it, or "column N". */
static void column_name(const cairn_roster_reader *rd, uint32_t i, char out[CAIRN_TEXT_SHOWN_MAX + 16]) {
  if (rd->header_done && i < rd->ncolumns) {
    char shown[CAIRN_TEXT_SHOWN_MAX];
    cairn_text_shown(shown, rd->header[i], strlen(rd->header[i]));
    snprintf(out, CAIRN_TEXT_SHOWN_MAX + 16, "%s", shown);
  } else
    snprintf(out, CAIRN_TEXT_SHOWN_MAX + 16, "column %u", (unsigned)i + 1);
}

/* A control character: C0, DEL, or C1 (U+0080..U+009F, C2 80..C2 9F in
 * UTF-8). Returns its code point, or -1 when there is none. s is valid UTF-8. */
static int control_char(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 0x20 || s[i] == 0x7f)
      return s[i];
    if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
      return s[i + 1];
  }
  return -1;
}

/* libcsv: one value has ended. Checked here, before it is kept: its
 * length, UTF-8, no control characters. */
static void on_value(void *p, size_t len, void *arg) {
  cairn_roster_reader *rd = arg;
  uint32_t i = rd->nvalues;
  char name[CAIRN_TEXT_SHOWN_MAX + 16];
  int c = -1, code = 0;

  if (rd->failed)
    return;
  if (p == NULL)
    len = 0;
  if (i >= CAIRN_ROSTER_COLUMNS_MAX) {
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ETOOBIG, "more than %u columns",
                       CAIRN_ROSTER_COLUMNS_MAX);
    return;
  }
  if (rd->header_done && i >= rd->ncolumns) {
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                       "more values than the %u columns of the header", (unsigned)rd->ncolumns);
    return;
  }
  if (len > rd->field_max)
    code = CAIRN_ETOOBIG;
  else if (!cairn_text_utf8_valid(p, len))
    code = CAIRN_EUTF8;
  else if ((c = control_char(p, len)) >= 0)
    code = CAIRN_EMALFORMED;
  if (code) {
    column_name(rd, i, name);
    if (code == CAIRN_ETOOBIG)
      cairn__roster_fail(rd, rd->cur, rd->rec_line, code, "%s: value longer than %u bytes", name,
                         (unsigned)rd->field_max);
    else if (code == CAIRN_EUTF8)
      cairn__roster_fail(rd, rd->cur, rd->rec_line, code, "%s: not UTF-8", name);
    else
      cairn__roster_fail(rd, rd->cur, rd->rec_line, code, "%s: control character 0x%02x in the value",
                         name, (unsigned)c);
    return;
  }
  if ((uint64_t)rd->rowbuf_used + len + 1 > (uint64_t)rd->line_max + CAIRN_ROSTER_COLUMNS_MAX) {
    /* Cannot happen: the row's bytes were counted against line_max. */
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EINTERNAL, "row buffer overflow");
    return;
  }
  if (len)
    memcpy(rd->rowbuf + rd->rowbuf_used, p, len);
  rd->rowbuf[rd->rowbuf_used + len] = '\0';
  rd->values[i].off = rd->rowbuf_used;
  rd->values[i].len = (uint32_t)len;
  rd->rowbuf_used += (uint32_t)len + 1;
  rd->nvalues = i + 1;
}

/* libcsv: a row has ended (or a line ending with no row: a blank line, or
 * the LF of a CRLF, which has no values and is skipped). It is called only
 * for a CR or LF, which parse() always has at the end of its piece. */
static void on_row(int c, void *arg) {
  cairn_roster_reader *rd = arg;

  (void)c;
  rd->at_row_start = 1;
  if (rd->failed || rd->nvalues == 0)
    return;
  if (!rd->header_done) {
    if (cairn__roster_header(rd) == 0)
      rd->header_done = 1;
  } else
    cairn__roster_row(rd);
  rd->nvalues = 0;
  rd->rowbuf_used = 0;
}

/* Feeds p[0..n) (no CR or LF inside, or one CR or LF alone) to libcsv,
 * stopping at the first byte over a limit. Rows end only where a piece
 * ends, so the bytes of a row are counted exactly, however the caller cut
 * its bytes; and every check falls on the same byte either way. */
static void parse(cairn_roster_reader *rd, const unsigned char *p, size_t n) {
  size_t ok = n, used;
  int over = 0;

  if (rd->at_row_start) {
    rd->rec_line = rd->line;
    rd->at_row_start = 0;
  }
  if (rd->file_bytes + ok > rd->file_max) {
    ok = (size_t)(rd->file_max - rd->file_bytes);
    over = 1;
  }
  if (rd->rec_bytes + ok > rd->line_max) {
    ok = (size_t)(rd->line_max - rd->rec_bytes);
    over = 2;
  }
  rd->file_bytes += ok;
  rd->bytes += ok;
  rd->rec_bytes += ok;
  used = ok ? csv_parse(&rd->csv, p, ok, on_value, on_row, rd) : 0;
  if (rd->failed)
    return;
  if (used < ok) {
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                       "broken quoting: a quote in a value must be doubled (\"\"), and a quoted "
                       "value must end with a quote before the next comma");
    return;
  }
  if (over == 1) {
    cairn__roster_fail(rd, rd->cur, 0, CAIRN_ETOOBIG, "more than the %llu bytes one file may have",
                       (unsigned long long)rd->file_max);
    return;
  }
  if (over == 2) {
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_ETOOBIG, "row longer than %u bytes",
                       (unsigned)rd->line_max);
    return;
  }
  if (rd->at_row_start)
    rd->rec_bytes = 0;
}

static void bare_cr(cairn_roster_reader *rd) {
  cairn__roster_fail(rd, rd->cur, rd->line, CAIRN_EMALFORMED,
                     "carriage return (0x0d) not followed by a line feed");
}

/* Cuts bytes before each CR and around each LF. A CR is a line ending
 * only before an LF (anywhere else it is refused: libcsv would end a row on
 * it, without a line), so it waits for the next byte before libcsv sees it. */
static void feed_lines(cairn_roster_reader *rd, const unsigned char *p, size_t len) {
  while (len && !rd->failed) {
    const unsigned char *lf, *cr;
    size_t n;

    if (rd->cr_pending) {
      rd->cr_pending = 0;
      if (*p != '\n') {
        bare_cr(rd);
        return;
      }
      parse(rd, (const unsigned char *)"\r", 1);
      continue;
    }
    lf = memchr(p, '\n', len);
    n = lf ? (size_t)(lf - p) : len;
    cr = memchr(p, '\r', n);
    if (cr) {
      n = (size_t)(cr - p);
      parse(rd, p, n);
      rd->cr_pending = 1;
      p += n + 1;
      len -= n + 1;
      continue;
    }
    if (n)
      parse(rd, p, n);
    if (lf && !rd->failed) {
      parse(rd, lf, 1);
      if (!rd->failed)
        rd->line++;
      n++;
    }
    p += n;
    len -= n;
  }
}

int cairn_roster_reader_feed(cairn_roster_reader *rd, const void *buf, size_t len, cairn_roster_error *err) {
  const unsigned char *p = buf;

  if (rd->failed)
    return report(rd, err);
  if (!rd->open) {
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_EINVAL, "bytes fed with no file begun");
    return report(rd, err);
  }
  /* A UTF-8 byte order mark at the very start is dropped. */
  while (!rd->bom_done && len) {
    if (*p == utf8_bom[rd->bom_have]) {
      p++;
      len--;
      if (++rd->bom_have == sizeof utf8_bom) {
        rd->bom_done = 1;
        rd->file_bytes += sizeof utf8_bom;
        rd->bytes += sizeof utf8_bom;
      }
    } else {
      rd->bom_done = 1;
      feed_lines(rd, utf8_bom, rd->bom_have);
    }
  }
  feed_lines(rd, p, len);
  return report(rd, err);
}

int cairn_roster_reader_end(cairn_roster_reader *rd, cairn_roster_error *err) {
  if (rd->failed)
    return report(rd, err);
  if (!rd->open) {
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_EINVAL, "ended with no file begun");
    return report(rd, err);
  }
  if (!rd->bom_done) {
    rd->bom_done = 1;
    feed_lines(rd, utf8_bom, rd->bom_have);
  }
  if (!rd->failed && rd->cr_pending)
    bare_cr(rd);
  if (!rd->failed && csv_fini(&rd->csv, on_value, on_row, rd) != 0)
    cairn__roster_fail(rd, rd->cur, rd->rec_line, CAIRN_EMALFORMED,
                       "a quoted value has no closing quote");
  if (!rd->failed)
    cairn__roster_file_end(rd);
  if (!rd->failed) {
    rd->files[rd->cur].ended = 1;
    cairn__roster_progress(rd);
  }
  close_file(rd);
  return report(rd, err);
}

cairn_roster_mode cairn_roster_reader_mode(const cairn_roster_reader *rd, cairn_roster_file f) {
  if ((unsigned)f >= CAIRN_ROSTER_FILES)
    return CAIRN_ROSTER_ABSENT;
  if (f == CAIRN_ROSTER_MANIFEST)
    return rd->files[f].begun ? CAIRN_ROSTER_BULK : CAIRN_ROSTER_ABSENT;
  return rd->files[CAIRN_ROSTER_MANIFEST].ended ? rd->files[f].mode : CAIRN_ROSTER_ABSENT;
}

void cairn__roster_progress(cairn_roster_reader *rd) {
  cairn_roster_progress p;

  if (rd->progress == NULL)
    return;
  p.file = rd->cur;
  p.rows = rd->files[rd->cur].rows;
  p.rows_total = rd->rows_total;
  p.bytes = rd->bytes;
  p.bytes_total = rd->bytes_total;
  rd->progress(&p, rd->progress_arg);
}

int cairn_roster_reader_finish(cairn_roster_reader *rd, cairn_roster **out, cairn_roster_error *err) {
  *out = NULL;
  if (rd->failed)
    return report(rd, err);
  if (rd->open)
    cairn__roster_fail(rd, rd->cur, 0, CAIRN_EINVAL, "not ended");
  else if (cairn__roster_link(rd) == 0) {
    cairn_roster *r = calloc(1, sizeof *r);
    struct cairn__roster_store *s = rd->store;
    if (r == NULL) {
      cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_ENOMEM, "out of memory");
      return report(rd, err);
    }
    for (int f = 0; f < CAIRN_ROSTER_FILES; f++) {
      r->mode[f] = rd->files[f].mode;
      r->delta |= rd->files[f].mode == CAIRN_ROSTER_DELTA;
    }
    r->mode[CAIRN_ROSTER_MANIFEST] = CAIRN_ROSTER_BULK;
    r->orgs = (const void *)s->t[CAIRN_ROSTER_ORGS].recs;
    r->n_orgs = s->t[CAIRN_ROSTER_ORGS].n;
    r->schools = s->schools;
    r->n_schools = s->n_schools;
    r->sessions = (const void *)s->t[CAIRN_ROSTER_SESSIONS].recs;
    r->n_sessions = s->t[CAIRN_ROSTER_SESSIONS].n;
    r->courses = (const void *)s->t[CAIRN_ROSTER_COURSES].recs;
    r->n_courses = s->t[CAIRN_ROSTER_COURSES].n;
    r->classes = (const void *)s->t[CAIRN_ROSTER_CLASSES].recs;
    r->n_classes = s->t[CAIRN_ROSTER_CLASSES].n;
    r->users = (const void *)s->t[CAIRN_ROSTER_USERS].recs;
    r->n_users = s->t[CAIRN_ROSTER_USERS].n;
    r->roles = (const void *)s->t[CAIRN_ROSTER_ROLES].recs;
    r->n_roles = s->t[CAIRN_ROSTER_ROLES].n;
    r->enrollments = (const void *)s->t[CAIRN_ROSTER_ENROLLMENTS].recs;
    r->n_enrollments = s->t[CAIRN_ROSTER_ENROLLMENTS].n;
    r->store = s;
    rd->store = NULL;
    *out = r;
    /* The reader is spent: it holds no model now. */
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_EINVAL, "the reader has finished already");
    return 0;
  }
  return report(rd, err);
}
