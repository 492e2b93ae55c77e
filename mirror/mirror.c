/* mirror.c: the PostgreSQL mirror's connection, its steps and its reset. */
#include "mirror.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "json.h"
#include "mirror_int.h"
#include "record.h"

int cairn_mirror_conninfo_check(const char *conninfo, char *why, size_t whylen) {
  char *err = NULL;
  PQconninfoOption *opts;
  int rc = 0;

  if (conninfo == NULL || *conninfo == '\0') {
    snprintf(why, whylen, "postgres: empty");
    return CAIRN_EINVAL;
  }
  if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
    /* libpq's message may quote the string, which may hold a password. */
    snprintf(why, whylen, "postgres: not a libpq connection string or postgresql:// URI");
    PQfreemem(err);
    return err != NULL ? CAIRN_EINVAL : CAIRN_ENOMEM;
  }
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val) {
      snprintf(why, whylen, "postgres: holds a password; put it in the file PGPASSFILE or "
                            "passfile= names instead");
      rc = CAIRN_EINVAL;
    }
  PQconninfoFree(opts);
  return rc;
}

int cairn_mirror_new(cairn_mirror **out, const char *conninfo) {
  cairn_mirror *m;
  char why[160];

  if (cairn_mirror_conninfo_check(conninfo, why, sizeof why) != 0)
    return CAIRN_EINVAL;
  if ((m = calloc(1, sizeof *m)) == NULL || (m->conninfo = strdup(conninfo)) == NULL ||
      !msgpack_zone_init(&m->zone, 8192)) {
    if (m != NULL)
      free(m->conninfo);
    free(m);
    return CAIRN_ENOMEM;
  }
  msgpack_sbuffer_init(&m->rows);
  msgpack_sbuffer_init(&m->sql);
  *out = m;
  return 0;
}

void cairn_mirror_free(cairn_mirror *m) {
  if (m == NULL)
    return;
  if (m->conn != NULL)
    PQfinish(m->conn);
  msgpack_sbuffer_destroy(&m->rows);
  msgpack_sbuffer_destroy(&m->sql);
  msgpack_zone_destroy(&m->zone);
  free(m->erased);
  free(m->pos);
  free(m->conninfo);
  free(m);
}

/* (mirror_int.h) */
int cairn__mirror_fail(cairn_mirror *m, const char *what, const char *msg, char *why, size_t whylen) {
  size_t n;

  snprintf(why, whylen, "PostgreSQL: %s: %s", what, msg != NULL && *msg ? msg : "failed");
  for (n = 0; why[n] != '\0'; n++)
    if ((unsigned char)why[n] < 0x20 || why[n] == 0x7f)
      why[n] = ' ';
  while (n > 0 && why[n - 1] == ' ')
    why[--n] = '\0';
  if (m->conn != NULL) {
    PQfinish(m->conn);
    m->conn = NULL;
  }
  return CAIRN_EIO;
}

/* (mirror_int.h) */
const char *cairn__mirror_res_message(const cairn_mirror *m, const PGresult *res) {
  const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  return msg != NULL ? msg : PQerrorMessage(m->conn);
}

/* (mirror_int.h) */
int cairn__mirror_exec(cairn_mirror *m, const char *sql, const char *what, char *why, size_t whylen) {
  PGresult *res = PQexec(m->conn, sql);
  ExecStatusType st = PQresultStatus(res);
  int rc = 0;

  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    rc = cairn__mirror_fail(m, what, cairn__mirror_res_message(m, res), why, whylen);
  PQclear(res);
  return rc;
}

/* (mirror_int.h) */
int cairn__mirror_connect(cairn_mirror *m, char *why, size_t whylen) {
  /* The user's conninfo comes last: what it says wins over these. */
  const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
  const char *vals[] = {"10", "cairnd", m->conninfo, NULL};

  if (m->conn != NULL && PQstatus(m->conn) == CONNECTION_OK)
    return 0;
  if (m->conn != NULL)
    PQfinish(m->conn);
  m->conn = PQconnectdbParams(keys, vals, 1);
  if (m->conn == NULL)
    return cairn__mirror_fail(m, "connect", "out of memory", why, whylen);
  if (PQstatus(m->conn) != CONNECTION_OK)
    return cairn__mirror_fail(m, "connect", PQerrorMessage(m->conn), why, whylen);
  /* Two mirrors making the schema at once must not collide. */
  return cairn__mirror_exec(m,
              "BEGIN; SELECT pg_advisory_xact_lock(7421007421);"
              "SET LOCAL client_min_messages = warning;",
              "schema", why, whylen) ||
                 cairn__mirror_exec(m, cairn__mirror_schema_sql, "schema", why, whylen) ||
                 cairn__mirror_exec(m, "COMMIT", "schema", why, whylen)
             ? CAIRN_EIO
             : 0;
}

static cairn__mirror_position *pos_find(const cairn_mirror *m, const uint8_t author[CAIRN_KEY_BYTES]) {
  for (size_t i = 0; i < m->npos; i++)
    if (memcmp(m->pos[i].author, author, CAIRN_KEY_BYTES) == 0)
      return &m->pos[i];
  return NULL;
}

static int pos_set(cairn_mirror *m, const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq) {
  cairn__mirror_position *p = pos_find(m, author);

  if (p == NULL) {
    if (m->npos == m->cap) {
      size_t cap = m->cap ? m->cap * 2 : 16;
      cairn__mirror_position *np = realloc(m->pos, cap * sizeof *np);
      if (np == NULL)
        return CAIRN_ENOMEM;
      m->pos = np;
      m->cap = cap;
    }
    p = &m->pos[m->npos++];
    memcpy(p->author, author, CAIRN_KEY_BYTES);
  }
  p->seq = seq;
  return 0;
}

/* COPY's statement: the columns add_row writes, in order. */
static const char copy_sql[] = "COPY cairn_write (author, seq, hlc, record_type, record_id,"
                               " student, created, fields, why, campus, scope) FROM STDIN";

/* Starts the COPY of the step's rows. Returns 0 or CAIRN_EIO with why. */
static int exec_copy(cairn_mirror *m, char *why, size_t whylen) {
  PGresult *res = PQexec(m->conn, copy_sql);
  int rc = 0;

  if (PQresultStatus(res) != PGRES_COPY_IN)
    rc = cairn__mirror_fail(m, "copy", cairn__mirror_res_message(m, res), why, whylen);
  PQclear(res);
  return rc;
}

/* Reads the positions (inside the step's transaction, the table locked)
 * into m->pos. Returns 0 or CAIRN_EIO with why. */
static int read_positions(cairn_mirror *m, char *why, size_t whylen) {
  PGresult *res = PQexec(m->conn, "SELECT author, seq FROM cairn_mirror_position");
  int rc = 0;

  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = cairn__mirror_fail(m, "positions", cairn__mirror_res_message(m, res), why, whylen);
    PQclear(res);
    return rc;
  }
  m->npos = 0;
  for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
    uint8_t author[CAIRN_KEY_BYTES];
    const char *hex = PQgetvalue(res, i, 0);
    size_t bin_len;
    if (sodium_hex2bin(author, sizeof author, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof author) {
      snprintf(why, whylen, "PostgreSQL: cairn_mirror_position holds an author that is no key");
      rc = CAIRN_ECORRUPT;
      break;
    }
    rc = pos_set(m, author, strtoull(PQgetvalue(res, i, 1), NULL, 10));
  }
  PQclear(res);
  return rc;
}

/* (mirror_int.h) */
int cairn__mirror_copy_text(msgpack_sbuffer *b, const char *s, size_t len) {
  size_t from = 0;
  for (size_t i = 0; i < len; i++) {
    const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n"
                      : s[i] == '\r'                        ? "\\r"
                                                            : NULL;
    if (esc == NULL)
      continue;
    if (msgpack_sbuffer_write(b, s + from, i - from) != 0 || msgpack_sbuffer_write(b, esc, 2) != 0)
      return CAIRN_ENOMEM;
    from = i + 1;
  }
  if (from == len)
    return 0; /* msgpack's write would memcpy into a buffer that has none yet */
  return msgpack_sbuffer_write(b, s + from, len - from) != 0 ? CAIRN_ENOMEM : 0;
}

static int copy_cstr(msgpack_sbuffer *b, const char *s) {
  return cairn__mirror_copy_text(b, s, strlen(s));
}

static int copy_raw(msgpack_sbuffer *b, const char *s) {
  return msgpack_sbuffer_write(b, s, strlen(s)) != 0 ? CAIRN_ENOMEM : 0;
}

/* Appends o as JSON text (COPY-escaped). Returns 0, CAIRN_ENOMEM, or
 * CAIRN_EMALFORMED when o is not expressible as JSON. */
static int copy_json(msgpack_sbuffer *b, const msgpack_object *o) {
  json_t *j = cairn_json_from_msgpack(o);
  char *text;
  int rc;

  if (j == NULL)
    return CAIRN_EMALFORMED;
  text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  if (text == NULL)
    return CAIRN_ENOMEM;
  rc = copy_cstr(b, text);
  free(text);
  return rc;
}

/* Copies a string object into out (size bytes); "" when not a string or
 * too long. */
static void obj_cstr(const msgpack_object *o, char *out, size_t size) {
  out[0] = '\0';
  if (o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size < size) {
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
  }
}

/* Appends the row of entry e (not redacted) to m->rows: the columns of
 * cairn_write in order. Returns 0, CAIRN_ENOMEM, or CAIRN_ECORRUPT for a
 * body that is not what FORMAT.md section 2 says (checked by the store
 * before it was applied, so this is damage). */
static int add_row(cairn_mirror *m, cairn_store *s, const cairn_entry *e, const char *author_hex) {
  msgpack_object body;
  size_t off = 0;
  const msgpack_object *id, *set, *why, *scope, *isnew;
  char idbuf[CAIRN_ENTRY_ID_MAX + 1], student[65], num[48];
  const char *type = cairn_record_type_name((int)e->kind);
  msgpack_sbuffer *b = &m->rows;
  int rc;

  if (msgpack_unpack((const char *)e->body, e->body_len, &off, &m->zone, &body) !=
          MSGPACK_UNPACK_SUCCESS ||
      type == NULL)
    return CAIRN_ECORRUPT;
  id = cairn_record_map_get(&body, "id");
  set = cairn_record_map_get(&body, "set");
  why = cairn_record_map_get(&body, "why");
  scope = cairn_record_map_get(&body, "scope");
  isnew = cairn_record_map_get(&body, "new");
  obj_cstr(id, idbuf, sizeof idbuf);
  if (idbuf[0] == '\0' || set == NULL || set->type != MSGPACK_OBJECT_MAP || scope == NULL ||
      scope->type != MSGPACK_OBJECT_ARRAY || scope->via.array.size == 0)
    return CAIRN_ECORRUPT;
  /* The student the row is filed under (the distribution key): a
   * milestone's creation names it; otherwise the store knows. */
  obj_cstr(e->kind == CAIRN_REC_MILESTONE ? cairn_record_map_get(set, "student") : NULL, student,
           sizeof student);
  if (student[0] == '\0' && e->kind > CAIRN_REC_MILESTONE && e->kind <= CAIRN_REC_CELEBRATION) {
    char milestone[CAIRN_ENTRY_ID_MAX + 1];
    obj_cstr(cairn_record_map_get(set, "milestone"), milestone, sizeof milestone);
    if (milestone[0] != '\0' && strcmp(milestone, m->cached_milestone) == 0) {
      memcpy(student, m->cached_student, sizeof student);
    } else if (milestone[0] != '\0' &&
               cairn_store_record_student(s, CAIRN_REC_MILESTONE, milestone, student) == 0) {
      memcpy(m->cached_milestone, milestone, sizeof milestone);
      memcpy(m->cached_student, student, sizeof student);
    }
  }
  if (student[0] == '\0')
    (void)cairn_store_record_student(s, (int)e->kind, idbuf, student);
  if (e->kind == CAIRN_REC_ERASURE) {
    if (m->nerased == m->erased_cap) {
      size_t cap = m->erased_cap ? 2 * m->erased_cap : 8;
      char(*grown)[CAIRN_ENTRY_ID_MAX + 1] = realloc(m->erased, cap * sizeof *grown);
      if (grown == NULL)
        return CAIRN_ENOMEM;
      m->erased = grown;
      m->erased_cap = cap;
    }
    memcpy(m->erased[m->nerased++], idbuf, sizeof idbuf);
  }

  snprintf(num, sizeof num, "\t%" PRIu64 "\t%" PRIu64 "\t", e->seq, e->hlc);
  if ((rc = copy_raw(b, author_hex)) != 0 || (rc = copy_raw(b, num)) != 0 ||
      (rc = copy_raw(b, type)) != 0 || (rc = copy_raw(b, "\t")) != 0 ||
      (rc = copy_cstr(b, idbuf)) != 0 || (rc = copy_raw(b, "\t")) != 0)
    return rc;
  if ((rc = copy_cstr(b, student)) != 0) /* "": none, never null (a Citus key) */
    return rc;
  if ((rc = copy_raw(b, isnew != NULL && isnew->type == MSGPACK_OBJECT_BOOLEAN &&
                                isnew->via.boolean
                            ? "\tt\t"
                            : "\tf\t")) != 0 ||
      (rc = copy_json(b, set)) != 0 || (rc = copy_raw(b, "\t")) != 0)
    return rc;
  if (why != NULL && why->type == MSGPACK_OBJECT_STR)
    rc = cairn__mirror_copy_text(b, why->via.str.ptr, why->via.str.size);
  else
    rc = copy_raw(b, "\\N");
  if (rc != 0 || (rc = copy_raw(b, "\t")) != 0)
    return rc;
  if (scope->via.array.ptr[0].type == MSGPACK_OBJECT_STR)
    rc = cairn__mirror_copy_text(b, scope->via.array.ptr[0].via.str.ptr, scope->via.array.ptr[0].via.str.size);
  if (rc != 0 || (rc = copy_raw(b, "\t")) != 0 || (rc = copy_json(b, scope)) != 0)
    return rc;
  return copy_raw(b, "\n");
}

/* Sends what m->rows holds to the COPY in progress and empties it, once it
 * holds at least min bytes: PostgreSQL parses a piece while the next is
 * read from the store. Returns 0 or CAIRN_EIO with why. */
int cairn__mirror_copy_flush(cairn_mirror *m, size_t min, char *why, size_t whylen) {
  if (m->rows.size == 0 || m->rows.size < min)
    return 0;
  if (PQputCopyData(m->conn, m->rows.data, (int)m->rows.size) != 1)
    return cairn__mirror_fail(m, "copy", PQerrorMessage(m->conn), why, whylen);
  msgpack_sbuffer_clear(&m->rows);
  return 0;
}

/* (mirror_int.h) */
int cairn__mirror_copy_end(cairn_mirror *m, char *why, size_t whylen) {
  PGresult *res;
  int rc = cairn__mirror_copy_flush(m, 0, why, whylen);

  if (rc != 0)
    return rc;
  if (PQputCopyEnd(m->conn, NULL) != 1)
    return cairn__mirror_fail(m, "copy", PQerrorMessage(m->conn), why, whylen);
  while ((res = PQgetResult(m->conn)) != NULL) {
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = cairn__mirror_fail(m, "copy", cairn__mirror_res_message(m, res), why, whylen);
    PQclear(res);
    if (m->conn == NULL)
      break;
  }
  return rc;
}

int cairn_mirror_behind(const cairn_mirror *m, cairn_store *s, uint64_t *behind) {
  cairn_vv_item *vv;
  size_t n;
  int rc = cairn_store_version_vector(s, &vv, &n);

  *behind = 0;
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < n; i++) {
    const cairn__mirror_position *p = pos_find(m, vv[i].author);
    uint64_t at = p != NULL ? p->seq : 0;
    if (vv[i].seq > at)
      *behind += vv[i].seq - at;
  }
  free(vv);
  return 0;
}

/* The bytes of rows sent to COPY at a time. */
#define COPY_PIECE (256u << 10)

/* A position the step moves an author to. */
typedef struct advance {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
} advance;

/* Reads the entries after each position and sends their rows to the COPY
 * in progress; sets the advances (caller frees *adv). Returns 0, CAIRN_EIO
 * with why (PostgreSQL), or a store read error (why left empty). */
static int gather(cairn_mirror *m, cairn_store *s, size_t max, advance **adv, size_t *nadv,
                  size_t *applied, char *why, size_t whylen) {
  cairn_vv_item *vv;
  size_t n, left = max;
  msgpack_sbuffer log;
  int rc = cairn_store_version_vector(s, &vv, &n);

  *adv = NULL;
  *nadv = *applied = 0;
  if (rc != 0)
    return rc;
  if (n > 0 && (*adv = calloc(n, sizeof **adv)) == NULL) {
    free(vv);
    return CAIRN_ENOMEM;
  }
  msgpack_sbuffer_init(&log);
  for (size_t i = 0; rc == 0 && i < n && left > 0; i++) {
    const cairn__mirror_position *p = pos_find(m, vv[i].author);
    uint64_t at = p != NULL ? p->seq : 0, last = at;
    size_t count = 0, off = 0;
    char hex[2 * CAIRN_KEY_BYTES + 1];
    if (vv[i].seq <= at)
      continue;
    msgpack_sbuffer_clear(&log);
    rc = cairn_store_read_scoped(s, vv[i].author, at + 1, left, 64u << 20, NULL, &log, &count,
                                 &last);
    sodium_bin2hex(hex, sizeof hex, vv[i].author, CAIRN_KEY_BYTES);
    while (rc == 0 && off < log.size) {
      cairn_entry e;
      size_t used;
      if ((rc = cairn_entry_decode((const uint8_t *)log.data + off, log.size - off, &e, &used)) !=
          0)
        break;
      off += used;
      if (!e.redacted) /* quarantined: its chain advances, it holds no row */
        rc = add_row(m, s, &e, hex);
      if (rc == 0)
        rc = cairn__mirror_copy_flush(m, COPY_PIECE, why, whylen);
    }
    if (rc == 0 && count > 0) {
      memcpy((*adv)[*nadv].author, vv[i].author, CAIRN_KEY_BYTES);
      (*adv)[(*nadv)++].seq = last;
      *applied += count;
      left = count >= left ? 0 : left - count;
    }
  }
  msgpack_sbuffer_destroy(&log);
  free(vv);
  return rc;
}

/* Deletes, in the step's transaction, every row about each student an
 * erasure of the step named (docs/REPORTING.md, "Erasures"): rows filed
 * under them, their milestones' rows, and rows naming one of their
 * milestones; their status and report rows. The erasures' own rows stay.
 * Returns 0 or CAIRN_EIO with why. */
static int delete_erased(cairn_mirror *m, char *why, size_t whylen) {
  static const char sql[] =
      "WITH ms AS (SELECT DISTINCT record_id FROM cairn_write WHERE record_type = 'milestone'"
      "  AND (student = $1 OR fields ->> 'student' = $1)),"
      " w AS (DELETE FROM cairn_write WHERE record_type <> 'erasure' AND (student = $1"
      "  OR (record_type = 'student' AND record_id = $1)"
      "  OR (record_type = 'milestone' AND record_id IN (SELECT record_id FROM ms))"
      "  OR fields ->> 'milestone' IN (SELECT record_id FROM ms))),"
      " st AS (DELETE FROM cairn_milestone_status WHERE student = $1)"
      " DELETE FROM cairn_support_phase WHERE student = $1";
  for (size_t i = 0; i < m->nerased; i++) {
    const char *param = m->erased[i];
    PGresult *res = PQexecParams(m->conn, sql, 1, NULL, &param, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : cairn__mirror_fail(m, "erasure", cairn__mirror_res_message(m, res), why, whylen);
    PQclear(res);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The statement that moves the positions to adv[0..n). */
static int positions_sql(cairn_mirror *m, const advance *adv, size_t n) {
  int rc = copy_raw(&m->sql, "INSERT INTO cairn_mirror_position (author, seq) VALUES ");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char hex[2 * CAIRN_KEY_BYTES + 1], row[128];
    sodium_bin2hex(hex, sizeof hex, adv[i].author, CAIRN_KEY_BYTES);
    snprintf(row, sizeof row, "%s('%s', %" PRIu64 ")", i ? ", " : "", hex, adv[i].seq);
    rc = copy_raw(&m->sql, row);
  }
  if (rc == 0)
    rc = copy_raw(&m->sql, " ON CONFLICT (author) DO UPDATE SET seq = EXCLUDED.seq,"
                           " applied_at = now()");
  if (rc == 0 && msgpack_sbuffer_write(&m->sql, "", 1) != 0)
    rc = CAIRN_ENOMEM;
  return rc;
}

int cairn_mirror_step(cairn_mirror *m, cairn_store *s, size_t max, size_t *applied,
                      uint64_t *behind, char *why, size_t whylen) {
  advance *adv = NULL;
  size_t nadv = 0;
  int rc;

  *applied = 0;
  *behind = 0;
  why[0] = '\0';
  if ((rc = cairn__mirror_connect(m, why, whylen)) != 0)
    goto out;
  /* The positions are read with their table locked, in the transaction
   * that moves them: a second delivery of this batch waits, then sees the
   * new positions and reads nothing to apply. */
  if ((rc = cairn__mirror_exec(m, "BEGIN; LOCK TABLE cairn_mirror_position IN EXCLUSIVE MODE", "begin", why,
                 whylen)) != 0 ||
      (rc = read_positions(m, why, whylen)) != 0)
    goto out;
  msgpack_sbuffer_clear(&m->rows);
  msgpack_sbuffer_clear(&m->sql);
  msgpack_zone_clear(&m->zone);
  m->cached_milestone[0] = '\0';
  m->nerased = 0;
  if ((rc = exec_copy(m, why, whylen)) != 0)
    goto out;
  rc = gather(m, s, max ? max : CAIRN_MIRROR_BATCH, &adv, &nadv, applied, why, whylen);
  if (rc != 0 && m->conn != NULL) {
    /* The store failed: closing the connection rolls the batch back. */
    snprintf(why, whylen, "cannot read the store: %s", cairn_strerror(rc));
    PQfinish(m->conn);
    m->conn = NULL;
  }
  if (rc != 0 || (rc = cairn__mirror_copy_end(m, why, whylen)) != 0 ||
      (rc = delete_erased(m, why, whylen)) != 0)
    goto out;
  if (nadv == 0) {
    rc = cairn__mirror_exec(m, "COMMIT", "commit", why, whylen);
    goto out;
  }
  if ((rc = positions_sql(m, adv, nadv)) != 0 ||
      (rc = cairn__mirror_exec(m, m->sql.data, "positions", why, whylen)) != 0 ||
      (rc = cairn__mirror_exec(m, "COMMIT", "commit", why, whylen)) != 0)
    goto out;
  for (size_t i = 0; rc == 0 && i < nadv; i++)
    rc = pos_set(m, adv[i].author, adv[i].seq);
  if (rc == 0 && m->nerased > 0)
    m->vacuum_wanted = 1;
  if (rc == 0 && m->vacuum_wanted &&
      cairn__mirror_exec(m, "VACUUM FULL cairn_write, cairn_milestone_status, cairn_support_phase",
                         "vacuum", why, whylen) == 0)
    m->vacuum_wanted = 0; /* else the next step tries again (why says what failed) */
out:
  if (rc != 0)
    *applied = 0;
  free(adv);
  if (m->rows.size > (16u << 20)) { /* give back what one big step took */
    msgpack_sbuffer_destroy(&m->rows);
    msgpack_sbuffer_init(&m->rows);
  }
  if (rc == 0 || rc == CAIRN_EIO) {
    int brc = cairn_mirror_behind(m, s, behind);
    if (rc == 0)
      rc = brc;
  }
  return rc;
}

int cairn_mirror_reset(cairn_mirror *m, char *why, size_t whylen) {
  int rc;

  why[0] = '\0';
  if ((rc = cairn__mirror_connect(m, why, whylen)) != 0 ||
      (rc = cairn__mirror_exec(m,
                 "BEGIN; LOCK TABLE cairn_mirror_position IN EXCLUSIVE MODE;"
                 " TRUNCATE cairn_write, cairn_mirror_position, cairn_milestone_status,"
                 " cairn_support_phase, cairn_status_as_of; COMMIT",
                 "rebuild", why, whylen)) != 0)
    return rc;
  m->npos = 0;
  return 0;
}
