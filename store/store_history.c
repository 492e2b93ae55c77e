/*
 * store_history.c: a student's history follows them to a classroom that
 * newly teaches them (docs/PROTOCOL.md section 2, "Moves"): which student
 * an entry is about, whether that student is now in a peer's scope, the
 * entries of a student's history, and the students this node still waits
 * for the history of.
 */
#include <string.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_int.h"

/* The F_PARENT field of type (the ref that places it under its parent),
 * or NULL when records of type have no parent. */
static const cairn_field_def *parent_field(int type) {
  size_t nf;
  const cairn_field_def *fd = cairn_record_fields(type, &nf);
  for (size_t i = 0; fd != NULL && i < nf; i++)
    if (fd[i].flags & CAIRN_F_PARENT)
      return &fd[i];
  return NULL;
}

int cairn__store_walk_up(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int kind,
                         const char *id, size_t len, const msgpack_object *set, int load,
                         int (*fn)(int type, const char *id, size_t len, void *arg), void *arg) {
  const char *p = id;
  /* student <- milestone <- evidence, review, support change, celebration */
  for (int depth = 0; depth < 3; depth++) {
    int rc = fn(kind, p, len, arg);
    if (rc != 0)
      return rc;
    const cairn_field_def *f = parent_field(kind);
    if (f == NULL)
      return 0;
    const msgpack_object *up = set != NULL ? cairn_record_map_get(set, f->name) : NULL;
    cairn__store_rec r = {0};
    if (up == NULL) { /* an edit: the parent is fixed at the creation */
      if (!load || len == 0 || len > CAIRN__STORE_ID_MAX)
        return 0;
      rc = cairn__store_rec_load(txn, records, kind, p, len, z, &r);
      if (rc == CAIRN_ENOTFOUND)
        return 0;
      if (rc != 0)
        return rc;
      up = cairn__store_rec_value(&r, f->name, NULL);
    }
    int ok = cairn__store_obj_str(up, &p, &len) && len > 0 && len <= CAIRN__STORE_ID_MAX;
    cairn__store_rec_free(&r);
    if (!ok)
      return 0;
    kind = (int)f->ref_type;
    set = NULL;
  }
  return 0;
}

/* cairn__store_body_student's step: at the student, copies the id. */
static int student_found(int type, const char *id, size_t len, void *arg) {
  if (type != CAIRN_REC_STUDENT)
    return 0;
  char *sid = arg;
  memcpy(sid, id, len);
  sid[len] = '\0';
  return 1;
}

int cairn__store_body_student(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int kind,
                              const msgpack_object *body, char sid[CAIRN__STORE_ID_MAX + 1]) {
  const msgpack_object *id = cairn_record_map_get(body, "id");
  const char *p;
  size_t len;
  if (!cairn__store_obj_str(id, &p, &len) || len == 0 || len > CAIRN__STORE_ID_MAX)
    return 0;
  return cairn__store_walk_up(txn, records, z, kind, p, len, cairn_record_map_get(body, "set"),
                              1, student_found, sid);
}

int cairn__store_rec_student(MDB_txn *txn, MDB_dbi records, msgpack_zone *z, int type,
                             const char *id, size_t len, char sid[CAIRN__STORE_ID_MAX + 1]) {
  return cairn__store_walk_up(txn, records, z, type, id, len, NULL, 1, student_found, sid);
}

int cairn__store_student_within(MDB_txn *txn, MDB_dbi records, msgpack_zone *z,
                                const char *sid, size_t len, const cairn_scope *sc) {
  cairn__store_rec r = {0};
  const msgpack_object *rooms;
  const char *campus;
  size_t clen;
  int rc = cairn__store_rec_load(txn, records, CAIRN_REC_STUDENT, sid, len, z, &r);
  if (rc == CAIRN_ENOTFOUND)
    return 0;
  /* their campus and classrooms now (not the latest write's scope: a
   * move's names the classrooms left as well) */
  if (rc == 0 && cairn__store_rec_members(&r, CAIRN_REC_STUDENT, "classrooms", NULL, z, &rooms) != 0)
    rc = CAIRN_ENOMEM;
  if (rc == 0) {
    rc = sc->campus[0] == '\0' ||
         (cairn__store_obj_str(cairn__store_rec_value(&r, "campus", NULL), &campus, &clen) &&
          clen == strlen(sc->campus) && memcmp(campus, sc->campus, clen) == 0);
    if (rc && sc->classroom[0] != '\0') {
      rc = 0;
      for (uint32_t i = 0; rooms != NULL && rooms->type == MSGPACK_OBJECT_ARRAY &&
                           i < rooms->via.array.size && !rc;
           i++)
        rc = rooms->via.array.ptr[i].type == MSGPACK_OBJECT_STR &&
             rooms->via.array.ptr[i].via.str.size == strlen(sc->classroom) &&
             memcmp(rooms->via.array.ptr[i].via.str.ptr, sc->classroom,
                    rooms->via.array.ptr[i].via.str.size) == 0;
    }
  }
  cairn__store_rec_free(&r);
  return rc;
}

/* ---- the entries of a student's history ---- */

typedef struct history_walk {
  cairn_store *s;
  MDB_txn *txn;
  msgpack_zone *z;
  const cairn_scope *peer;
  int (*fn)(const uint8_t *author, uint64_t seq, void *arg);
  void *arg;
  int type; /* of the children being walked */
} history_walk;

/* Calls w->fn for each write of record (type, id) whose own scope is
 * outside the peer's: the writes the peer was sent redacted, or not at all. */
static int record_writes(history_walk *w, int type, const char *id, size_t len) {
  cairn__store_rec r = {0};
  int rc = cairn__store_rec_load(w->txn, w->s->records, type, id, len, w->z, &r);
  if (rc == CAIRN_ENOTFOUND)
    return 0;
  for (size_t i = 0; rc == 0 && i < r.n; i++)
    if (!cairn__store_in_scope(w->peer, type, r.w[i].scope))
      rc = w->fn(r.w[i].author, r.w[i].seq, w->arg);
  cairn__store_rec_free(&r);
  return rc;
}

static int child_writes(const char *id, size_t len, void *arg) {
  history_walk *w = arg;
  return record_writes(w, w->type, id, len);
}

static const int milestone_children[] = {CAIRN_REC_EVIDENCE, CAIRN_REC_REVIEW,
                                         CAIRN_REC_SUPPORT_CHANGE, CAIRN_REC_CELEBRATION};

static int milestone_writes(const char *id, size_t len, void *arg) {
  history_walk *w = arg;
  int rc = record_writes(w, CAIRN_REC_MILESTONE, id, len);
  for (size_t i = 0; rc == 0 && i < sizeof milestone_children / sizeof milestone_children[0];
       i++) {
    w->type = milestone_children[i];
    rc = cairn__store_each_child(w->s, w->txn, CAIRN_REC_MILESTONE, id, len, w->type,
                                 child_writes, w);
  }
  return rc;
}

int cairn_store_student_history(cairn_store *s, const char *sid, const cairn_scope *peer,
                                int (*fn)(const uint8_t *author, uint64_t seq, void *arg),
                                void *arg) {
  size_t len = strlen(sid);
  MDB_txn *txn;
  msgpack_zone z;
  if (len == 0 || len > CAIRN__STORE_ID_MAX)
    return CAIRN_EINVAL;
  if (!msgpack_zone_init(&z, 4096))
    return CAIRN_ENOMEM;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0) {
    msgpack_zone_destroy(&z);
    return cairn__store_err(s, rc, 0);
  }
  history_walk w = {s, txn, &z, peer, fn, arg, 0};
  rc = cairn__store_student_within(txn, s->records, &z, sid, len, peer);
  if (rc == 0)
    rc = CAIRN_EPERM; /* not (or no longer) the peer's student: nothing leaves */
  else if (rc == 1 && (rc = record_writes(&w, CAIRN_REC_STUDENT, sid, len)) == 0)
    rc = cairn__store_each_child(s, txn, CAIRN_REC_STUDENT, sid, len, CAIRN_REC_MILESTONE,
                                 milestone_writes, &w);
  mdb_txn_abort(txn);
  msgpack_zone_destroy(&z);
  return rc;
}

/* ---- arrivals: which student came into which classroom, and when ---- */

/* The arrivals key campus NUL classroom NUL student into key; returns its
 * length, or 0 when they do not fit. */
static size_t arrival_key(uint8_t *key, size_t size, const char *campus, size_t clen,
                          const char *room, size_t rlen, const char *sid, size_t slen) {
  if (clen + rlen + slen + 2 > size)
    return 0;
  memcpy(key, campus, clen);
  key[clen] = 0;
  memcpy(key + clen + 1, room, rlen);
  key[clen + 1 + rlen] = 0;
  memcpy(key + clen + rlen + 2, sid, slen);
  return clen + rlen + 2 + slen;
}

/* 1 when the scope array sc (a body's [campus, classroom, ...]) names
 * campus and classroom room. */
static int names_room(const msgpack_object *sc, const msgpack_object *campus,
                      const msgpack_object *room) {
  if (sc == NULL || !cairn__store_scope_valid(sc) ||
      sc->via.array.ptr[0].via.str.size != campus->via.str.size ||
      memcmp(sc->via.array.ptr[0].via.str.ptr, campus->via.str.ptr, campus->via.str.size) != 0)
    return 0;
  for (uint32_t i = 1; i < sc->via.array.size; i++)
    if (sc->via.array.ptr[i].via.str.size == room->via.str.size &&
        memcmp(sc->via.array.ptr[i].via.str.ptr, room->via.str.ptr, room->via.str.size) == 0)
      return 1;
  return 0;
}

/* Records in the arrivals index each classroom that scope (a write at hlc)
 * names and before (the scope of the student's write before it, NULL:
 * none) did not. Returns 0 or an error. */
static int arrival_put(cairn__store_apply *c, const char *sid, size_t len,
                       const msgpack_object *before, const msgpack_object *scope, uint64_t hlc) {
  cairn_store *s = c->s;
  const msgpack_object *campus = &scope->via.array.ptr[0];
  int rc = 0;
  for (uint32_t i = 1; rc == 0 && i < scope->via.array.size; i++) {
    const msgpack_object *room = &scope->via.array.ptr[i];
    uint8_t key[3 * 65], val[8];
    if (room->via.str.size == 0 || names_room(before, campus, room))
      continue;
    MDB_val k = {arrival_key(key, sizeof key, campus->via.str.ptr, campus->via.str.size,
                             room->via.str.ptr, room->via.str.size, sid, len),
                 key},
            v;
    if (k.mv_size == 0)
      continue;
    if ((rc = mdb_get(c->txn, s->arrivals, &k, &v)) == 0 && v.mv_size == 8 &&
        cairn__store_get_be64(v.mv_data) >= hlc)
      continue;
    cairn__store_put_be64(val, hlc);
    v = (MDB_val){sizeof val, val};
    rc = mdb_put(c->txn, s->arrivals, &k, &v, 0);
    rc = rc != 0 ? cairn__store_err(s, rc, 0) : 0;
    c->arrival_added |= rc == 0;
  }
  return rc;
}

int cairn__store_arrival_note(cairn__store_apply *c, const char *sid, size_t len,
                              const msgpack_object *scope, uint64_t hlc) {
  cairn__store_rec r = {0};
  msgpack_zone z;
  if (c->mode == CAIRN__STORE_APPLY_REPLAY || !cairn__store_scope_valid(scope))
    return 0;
  if (!msgpack_zone_init(&z, 2048))
    return CAIRN_ENOMEM;
  int rc = cairn__store_rec_load(c->txn, c->s->records, CAIRN_REC_STUDENT, sid, len, &z, &r);
  const msgpack_object *before = rc == 0 && r.n > 0 ? r.w[r.n - 1].scope : NULL;
  if (rc == 0 || rc == CAIRN_ENOTFOUND)
    rc = arrival_put(c, sid, len, before, scope, hlc);
  cairn__store_rec_free(&r);
  msgpack_zone_destroy(&z);
  return rc;
}

int cairn_store_arrivals(cairn_store *s, const cairn_scope *peer, cairn_store_arrival *out,
                         size_t max, size_t *n) {
  MDB_txn *txn;
  MDB_cursor *cur;
  uint8_t key[3 * 65];
  size_t clen = strlen(peer->campus), rlen = strlen(peer->classroom);
  *n = 0;
  if (clen == 0 || rlen == 0)
    return 0; /* the central and hubs hold their campus's every history */
  size_t plen = arrival_key(key, sizeof key, peer->campus, clen, peer->classroom, rlen, "", 0);
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  if ((rc = mdb_cursor_open(txn, s->arrivals, &cur)) == 0) {
    MDB_val k = {plen, key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *n < max && k.mv_size > plen && memcmp(k.mv_data, key, plen) == 0) {
      size_t slen = k.mv_size - plen;
      if (slen <= CAIRN__STORE_ID_MAX && v.mv_size == 8) {
        memcpy(out[*n].student, (const uint8_t *)k.mv_data + plen, slen);
        out[*n].student[slen] = '\0';
        out[(*n)++].hlc = cairn__store_get_be64(v.mv_data);
      }
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

/* ---- histories: what this device holds ---- */

int cairn_store_history_held(cairn_store *s, const char *sid, uint64_t hlc) {
  size_t len = strlen(sid);
  MDB_txn *txn;
  MDB_val k = {len, (void *)sid}, v;
  if (len == 0 || len > CAIRN__STORE_ID_MAX)
    return CAIRN_EINVAL;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_get(txn, s->histories, &k, &v);
  int held = rc == 0 && v.mv_size == 8 && cairn__store_get_be64(v.mv_data) >= hlc;
  mdb_txn_abort(txn);
  return rc == 0 || rc == MDB_NOTFOUND ? held : cairn__store_err(s, rc, 0);
}

int cairn_store_history_done(cairn_store *s, const char *sid, uint64_t hlc) {
  size_t len = strlen(sid);
  MDB_txn *txn;
  uint8_t val[8];
  if (len == 0 || len > CAIRN__STORE_ID_MAX)
    return CAIRN_EINVAL;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 1);
  MDB_val k = {len, (void *)sid}, v;
  if ((rc = mdb_get(txn, s->histories, &k, &v)) == 0 && v.mv_size == 8 &&
      cairn__store_get_be64(v.mv_data) >= hlc) {
    mdb_txn_abort(txn);
    return 0;
  }
  cairn__store_put_be64(val, hlc);
  v = (MDB_val){sizeof val, val};
  if ((rc = mdb_put(txn, s->histories, &k, &v, 0)) != 0) {
    mdb_txn_abort(txn);
    return cairn__store_err(s, rc, 0);
  }
  rc = mdb_txn_commit(txn);
  return rc != 0 ? cairn__store_err(s, rc, 1) : 0;
}

/* ---- reach: which authors wrote about which classroom ---- */

/* 1 when the classroom (campus, room) lies in the synced author's own
 * device scope: such a reach key changes no answer of
 * cairn_store_author_reaches that matters (the author's chain already goes
 * to that classroom by its scope), so it need not make every link's cache
 * stale. A storm of classrooms each writing about its own classroom for
 * the first time made every link look again at every author, each time. */
static int own_room(const cairn__store_apply *c, const msgpack_object_str *campus,
                    const msgpack_object_str *room) {
  const cairn_scope *a = &c->author_scope;
  if (c->mode != CAIRN__STORE_APPLY_SYNCED || c->author_is_central || !c->author_scope_known)
    return 0;
  if (strlen(a->campus) != campus->size || memcmp(a->campus, campus->ptr, campus->size) != 0)
    return 0;
  return a->classroom[0] == '\0' ||
         (strlen(a->classroom) == room->size && memcmp(a->classroom, room->ptr, room->size) == 0);
}

int cairn__store_reach_note(cairn__store_apply *c, const cairn_entry *e,
                            const msgpack_object *scope) {
  cairn_store *s = c->s;
  if (c->mode == CAIRN__STORE_APPLY_REPLAY || !cairn__store_scope_valid(scope))
    return 0;
  /* a batch's entries mostly share author and scope: one look per batch */
  uint64_t sum = 1469598103934665603ULL; /* FNV-1a over the scope's strings */
  for (uint32_t i = 0; i < scope->via.array.size; i++) {
    const msgpack_object_str *t = &scope->via.array.ptr[i].via.str;
    for (uint32_t k = 0; k < t->size; k++)
      sum = (sum ^ (uint8_t)t->ptr[k]) * 1099511628211ULL;
    sum = (sum ^ 0xff) * 1099511628211ULL;
  }
  if (c->reach_valid && c->reach_sum == sum &&
      memcmp(c->reach_author, e->author, CAIRN_KEY_BYTES) == 0)
    return 0;
  const msgpack_object_str *campus = &scope->via.array.ptr[0].via.str;
  for (uint32_t i = 1; i < scope->via.array.size; i++) {
    const msgpack_object_str *room = &scope->via.array.ptr[i].via.str;
    uint8_t key[CAIRN_KEY_BYTES + 2 * 65];
    if (room->size == 0 || campus->size + room->size + 1 > 2 * 65)
      continue;
    memcpy(key, e->author, CAIRN_KEY_BYTES);
    memcpy(key + CAIRN_KEY_BYTES, campus->ptr, campus->size);
    key[CAIRN_KEY_BYTES + campus->size] = 0;
    memcpy(key + CAIRN_KEY_BYTES + campus->size + 1, room->ptr, room->size);
    MDB_val k = {CAIRN_KEY_BYTES + campus->size + 1 + room->size, key}, v = {0, ""};
    int rc = mdb_put(c->txn, s->reach, &k, &v, MDB_NOOVERWRITE);
    if (rc == 0 && !own_room(c, campus, room))
      c->reach_added = 1;
    else if (rc != 0 && rc != MDB_KEYEXIST)
      return cairn__store_err(s, rc, 0);
  }
  memcpy(c->reach_author, e->author, CAIRN_KEY_BYTES);
  c->reach_sum = sum;
  c->reach_valid = 1;
  return 0;
}

int cairn_store_author_reaches(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                               const cairn_scope *peer) {
  size_t clen = strlen(peer->campus), rlen = strlen(peer->classroom);
  uint8_t key[CAIRN_KEY_BYTES + 2 * 65];
  MDB_txn *txn;
  if (clen == 0 || rlen == 0 || clen + rlen + 1 > 2 * 65)
    return 0;
  memcpy(key, author, CAIRN_KEY_BYTES);
  memcpy(key + CAIRN_KEY_BYTES, peer->campus, clen);
  key[CAIRN_KEY_BYTES + clen] = 0;
  memcpy(key + CAIRN_KEY_BYTES + clen + 1, peer->classroom, rlen);
  MDB_val k = {CAIRN_KEY_BYTES + clen + 1 + rlen, key}, v;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  rc = mdb_get(txn, s->reach, &k, &v);
  mdb_txn_abort(txn);
  return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
}

int cairn_store_author_goes_down_as(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                                    const cairn_scope *author_scope, const cairn_scope *peer) {
  if (author_scope == NULL || cairn_scope_overlaps(author_scope, peer))
    return 1;
  return cairn_store_author_reaches(s, author, peer) != 0;
}

int cairn_store_author_goes_down(cairn_store *s, const uint8_t author[CAIRN_KEY_BYTES],
                                 const cairn_scope *peer) {
  cairn_scope sc;
  int known = cairn_store_device_scope(s, author, &sc, NULL) == 0;
  return cairn_store_author_goes_down_as(s, author, known ? &sc : NULL, peer);
}

unsigned cairn_store_reach_epoch(cairn_store *s) { return atomic_load(&s->reach_epoch); }

unsigned cairn_store_arrival_epoch(cairn_store *s) { return atomic_load(&s->arrival_epoch); }

/* ---- the indexes of a store written before them ---- */

int cairn__store_history_reindex(cairn_store *s, MDB_txn *txn) {
  MDB_cursor *cur;
  MDB_val k, v;
  msgpack_zone z;
  cairn__store_rec r = {0};
  cairn__store_apply c;
  if (!msgpack_zone_init(&z, 4096))
    return CAIRN_ENOMEM;
  cairn__store_apply_init(&c, s, txn, CAIRN__STORE_APPLY_SYNCED);
  int rc = mdb_cursor_open(txn, s->records, &cur);
  if (rc != 0) {
    msgpack_zone_destroy(&z);
    return cairn__store_err(s, rc, 0);
  }
  while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    const uint8_t *key = k.mv_data;
    int type = k.mv_size > 1 ? key[0] : 0;
    if (type < CAIRN_REC_STUDENT || type > CAIRN_REC_CELEBRATION)
      continue;
    msgpack_zone_clear(&z);
    if ((rc = cairn__store_rec_read(txn, &v, &z, &r)) != 0)
      break;
    /* each write as if it were folded now, in the record's order: the
     * student's arrivals from the writes before it */
    const char *id = (const char *)key + 1;
    size_t idlen = k.mv_size - 1;
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
      cairn_entry e;
      memset(&e, 0, sizeof e);
      memcpy(e.author, r.w[i].author, CAIRN_KEY_BYTES);
      e.hlc = r.w[i].hlc;
      rc = cairn__store_reach_note(&c, &e, r.w[i].scope);
      if (rc == 0 && type == CAIRN_REC_STUDENT && i > 0 && cairn__store_scope_valid(r.w[i].scope))
        rc = arrival_put(&c, id, idlen, r.w[i - 1].scope, r.w[i].scope, r.w[i].hlc);
    }
  }
  mdb_cursor_close(cur);
  cairn__store_rec_free(&r);
  cairn__store_apply_free(&c);
  msgpack_zone_destroy(&z);
  return rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : cairn__store_err(s, rc, 0);
}
