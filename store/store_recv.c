/*
 * store_recv.c: received entries (trusted and synced): decoded, verified,
 * authorized, staged when unsigned, applied; and the repair of dates an
 * older cairn left.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_int.h"
#include "mpcheck.h"
#include "text.h"

/* ---- received entries ---------------------------------------------------- */

/* Decodes buf into s->ents; *n entries. Returns 0 or an error (why says
 * which entry). */
static int decode_all(cairn_store *s, const uint8_t *buf, size_t len, size_t *n, char *why,
                      size_t whylen) {
  size_t off = 0;
  *n = 0;
  while (off < len) {
    if (*n == s->ents_cap) {
      size_t cap = s->ents_cap ? 2 * s->ents_cap : 256;
      cairn__store_decoded *d = realloc(s->ents, cap * sizeof *d);
      if (d == NULL)
        return CAIRN_ENOMEM;
      s->ents = d;
      s->ents_cap = cap;
    }
    size_t used;
    int rc = cairn_entry_decode(buf + off, len - off, &s->ents[*n].e, &used);
    if (rc != 0) {
      if (why != NULL)
        snprintf(why, whylen, "entry %zu (byte %zu): %s", *n + 1, off,
                 rc == CAIRN_EAGAIN ? "truncated" : cairn_strerror(rc));
      return rc == CAIRN_EAGAIN ? CAIRN_EMALFORMED : rc;
    }
    s->ents[*n].bytes = buf + off;
    s->ents[*n].len = used;
    s->ents[*n].staged = 0;
    off += used;
    (*n)++;
  }
  return 0;
}

/* Makes room for n entries in s->run. */
static int run_room(cairn_store *s, size_t n) {
  if (n <= s->run_cap)
    return 0;
  size_t cap = s->run_cap ? s->run_cap : 256;
  while (cap < n)
    cap *= 2;
  cairn__store_decoded *d = realloc(s->run, cap * sizeof *d);
  if (d == NULL)
    return CAIRN_ENOMEM;
  s->run = d;
  s->run_cap = cap;
  return 0;
}

/* Deletes the current author's staged entries from seq `from` to `to`. */
static int stage_delete(cairn__store_apply *c, uint64_t from, uint64_t to) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(c->txn, c->s->staged, &cur);
  if (rc != 0)
    return cairn__store_err(c->s, rc, 0);
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, c->cur.author, from);
  MDB_val k = {sizeof key, key}, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key &&
         memcmp(k.mv_data, c->cur.author, CAIRN_KEY_BYTES) == 0 &&
         cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES) <= to &&
         (rc = mdb_cursor_del(cur, 0)) == 0)
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
  mdb_cursor_close(cur);
  /* after deleting the last key, GET_CURRENT finds none */
  return rc == 0 || rc == MDB_NOTFOUND || rc == EINVAL ? 0 : cairn__store_err(c->s, rc, 0);
}

/* Reads the current author's staged entries that continue its chain from
 * the head c->cur into s->run[0..*n) (their bytes copied to s->stage_buf).
 * Staged entries the head has passed, and any that do not continue the
 * chain, are deleted. */
static int stage_read(cairn__store_apply *c, size_t *n) {
  cairn_store *s = c->s;
  *n = 0;
  msgpack_sbuffer_clear(&s->stage_buf);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(c->txn, s->staged, &cur);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  uint8_t key[CAIRN_KEY_BYTES + 8];
  cairn__store_log_key(key, c->cur.author, 0);
  MDB_val k = {sizeof key, key}, v;
  size_t count = 0;
  uint64_t stale_to = 0;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == sizeof key &&
         memcmp(k.mv_data, c->cur.author, CAIRN_KEY_BYTES) == 0) {
    uint64_t seq = cairn__store_get_be64((const uint8_t *)k.mv_data + CAIRN_KEY_BYTES);
    if (seq <= c->cur.seq) {
      stale_to = seq;
    } else {
      cairn_entry se;
      if ((rc = cairn__store_entry_plain(s, v.mv_data, v.mv_size, &s->open_buf, &s->stage_buf,
                                         &se)) != 0)
        break;
      count++;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc < 0 ? rc : cairn__store_err(s, rc, 0);
  if ((rc = run_room(s, count)) != 0)
    return rc;
  /* Decoded from the copy: pointers into LMDB's pages would not survive
   * this transaction's writes. */
  const uint8_t *p = (const uint8_t *)s->stage_buf.data;
  size_t off = 0, len = s->stage_buf.size;
  cairn_entry prev;
  memcpy(prev.author, c->cur.author, CAIRN_KEY_BYTES);
  prev.seq = c->cur.seq;
  memcpy(prev.hash, c->cur.hash, CAIRN_HASH_BYTES);
  while (off < len) {
    cairn__store_decoded *d = &s->run[*n];
    size_t used;
    if (cairn_entry_decode(p + off, len - off, &d->e, &used) != 0 ||
        cairn_entry_follows(&d->e, c->cur.seq == 0 && *n == 0 ? NULL : &prev) != 0)
      break;
    d->bytes = p + off;
    d->len = used;
    d->staged = 1;
    prev = d->e;
    off += used;
    (*n)++;
  }
  rc = 0;
  /* the head passed them, or they do not chain: gone */
  if (*n < count)
    rc = stage_delete(c, c->cur.seq + 1 + *n, UINT64_MAX);
  if (rc == 0 && stale_to > 0)
    rc = stage_delete(c, 0, stale_to);
  return rc;
}

/* CAIRN__STORE_APPLY_SYNCED: may the author of the run d[0..n) (past the head c->cur)
 * write at all? Sets c's author fields and returns 1 when so (or when
 * every new entry of the run is redacted); returns 0 after refusing the
 * run's new entries (not enrolled, or revoked with no revoked_after); or
 * an error. A device revoked after seq N may still have written 1..N:
 * those apply, later ones are quarantined by fold. */
static int authorize_run(cairn__store_apply *c, const cairn__store_decoded *d, size_t n,
                         cairn__store_rec *r) {
  cairn_store *s = c->s;
  const cairn_entry *e = &d[0].e;
  c->revoked_after = UINT64_MAX;
  c->author_scope_known = 0;
  c->author_is_central = s->have_central && memcmp(e->author, s->central, CAIRN_KEY_BYTES) == 0;
  c->author_number = c->author_is_central ? 0 : -1;
  if (c->author_is_central)
    return 1;
  msgpack_zone_clear(&s->check_zone);
  int rc = cairn__store_device_get(s, c->txn, e->author, &s->check_zone, r, &c->author_scope,
                                   NULL);
  c->author_scope_known = rc == 0 || rc == CAIRN_EPERM;
  const msgpack_object *number = rc == 0 || rc == CAIRN_EPERM
                                     ? cairn__store_rec_value(r, "number", NULL)
                                     : NULL;
  if (number != NULL && number->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
      number->via.u64 <= INT64_MAX)
    c->author_number = (int64_t)number->via.u64;
  if (rc == 0)
    return 1;
  if (rc == CAIRN_EPERM) {
    const msgpack_object *after = cairn__store_rec_value(r, "revoked_after", NULL);
    if (after != NULL && after->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
      c->revoked_after = after->via.u64;
      return 1;
    }
  }
  if (rc != CAIRN_ENOTFOUND && rc != CAIRN_EPERM)
    return rc;
  /* Redacted entries carry no record, only a verified link of the author's
   * chain: they need no authorization. A node outside an author's campus
   * cannot even see that author's device record. */
  size_t m = 0;
  while (m < n && d[m].e.redacted)
    m++;
  if (m == n)
    return 1;
  cairn__store_note_refusal(c, &d[0].e, (uint64_t)n,
               rc == CAIRN_EPERM ? "the author's device is revoked"
                                 : "the author is not an enrolled device");
  return 0;
}

/* The central re-dates, in its own log, each run it held in this
 * transaction: one restamp record per run, at its current HLC. The folds
 * release the held entries in order. */
int cairn__store_write_restamps(cairn__store_batch *b) {
  cairn__store_apply *c = &b->ac;
  int rc = 0;
  c->author_is_central = 1;
  c->revoked_after = UINT64_MAX;
  for (size_t i = 0; rc == 0 && i < c->nstamps; i++) {
    const cairn__store_stamp_run *run = &c->stamps[i];
    char hex[2 * CAIRN_KEY_BYTES + 1];
    msgpack_sbuffer set;
    msgpack_packer pk;
    sodium_bin2hex(hex, sizeof hex, run->author, CAIRN_KEY_BYTES);
    msgpack_sbuffer_init(&set);
    msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    cairn__store_pack_cstr(&pk, "author");
    cairn__store_pack_cstr(&pk, hex);
    cairn__store_pack_cstr(&pk, "from");
    msgpack_pack_uint64(&pk, run->from);
    cairn__store_pack_cstr(&pk, "to");
    msgpack_pack_uint64(&pk, run->to);
    /* The run is ordered at H; the restamp entry itself comes after it. */
    uint64_t h = cairn__store_hlc_next(b->s, c->max_hlc, b->own_hlc);
    cairn__store_pack_cstr(&pk, "hlc");
    msgpack_pack_uint64(&pk, h);
    if (h > c->max_hlc)
      c->max_hlc = h;
    cairn_put p = {.type = CAIRN_REC_RESTAMP, .set = (const uint8_t *)set.data,
                   .set_len = set.size, .system = 1,
                   .why = "dated beyond the central's clock, or before the entry it follows: "
                          "ordered at its arrival"};
    rc = cairn__store_write_one(b, &p);
    if (rc == 0 && p.result != 0) {
      rc = p.result;
      if (c->why != NULL)
        snprintf(c->why, c->whylen, "re-dating: %s", p.message);
    }
    msgpack_sbuffer_destroy(&set);
  }
  c->nstamps = 0;
  /* the runs re-folded next read this device's log: the last restamp too,
   * signed, since it may stay the batch's last */
  return rc == 0 ? cairn__store_batch_flush(b, 1) : rc;
}

/* What one author's run of a received buffer came to. */
typedef struct run_result {
  size_t applied;  /* entries apply_entry stored */
  size_t staged;   /* entries of the buffer staged, awaiting a signature */
  size_t unstaged; /* entries staged before, applied now */
} run_result;

/* Applies one author's run in[0..n) of a received buffer: with the
 * entries staged before it, the run continues the author's chain; every
 * signature in it must verify; what the last signed entry covers is
 * applied, and what follows it is staged until a signature covers it
 * (FORMAT.md section 1, "Signature"). */
static int apply_run(cairn__store_apply *c, const cairn__store_decoded *in, size_t n,
                     cairn__store_rec *device, run_result *out) {
  cairn_store *s = c->s;
  memset(out, 0, sizeof *out);
  int rc = cairn__store_head_load(c, in[0].e.author);
  if (rc != 0 || in[n - 1].e.seq <= c->cur.seq)
    return rc;
  size_t ns;
  if ((rc = stage_read(c, &ns)) != 0)
    return rc;
  /* Skip what is held or staged already; a received entry that differs
   * from the staged one at its seq replaces the staged ones from there. */
  uint64_t top = c->cur.seq + ns;
  size_t k = 0;
  for (; k < n && in[k].e.seq <= top; k++) {
    if (in[k].e.seq <= c->cur.seq)
      continue;
    size_t at = (size_t)(in[k].e.seq - c->cur.seq - 1);
    if (memcmp(s->run[at].e.hash, in[k].e.hash, CAIRN_HASH_BYTES) != 0) {
      ns = at;
      if ((rc = stage_delete(c, in[k].e.seq, UINT64_MAX)) != 0)
        return rc;
      break;
    }
  }
  if ((rc = run_room(s, ns + (n - k))) != 0)
    return rc;
  memcpy(s->run + ns, in + k, (n - k) * sizeof *in);
  const cairn__store_decoded *d = s->run;
  size_t m = ns + (n - k);
  if (m == ns)
    return 0; /* nothing new */
  /* Consecutive seqs: then the signed entry's hash covers, through the
   * prev links apply_entry checks, every entry before it. Without this, an
   * unsigned entry placed before a genuine signed one at the same seq
   * would be stored, and the genuine one skipped as held. */
  if (d[0].e.seq != c->cur.seq + 1)
    return cairn__store_set_why(c, &d[0].e, CAIRN_EGAP, "seq does not follow the last entry held");
  cairn_entry held;
  memcpy(held.author, c->cur.author, CAIRN_KEY_BYTES);
  held.seq = c->cur.seq;
  memcpy(held.hash, c->cur.hash, CAIRN_HASH_BYTES);
  size_t signed_to = 0; /* d[0..signed_to) is covered by a signature */
  for (size_t i = 0; i < m; i++) {
    if (i > 0 && d[i].e.seq != d[i - 1].e.seq + 1)
      return cairn__store_set_why(c, &d[i].e, CAIRN_EGAP, "seqs within the run are not consecutive");
    const cairn_entry *prev = i > 0 ? &d[i - 1].e : c->cur.seq > 0 ? &held : NULL;
    if (cairn_entry_follows(&d[i].e, prev) != 0) {
      if (i == 0 || !d[i - 1].staged || d[i].staged)
        return cairn__store_set_why(c, &d[i].e, CAIRN_EBADCHAIN,
                       "prev does not match the hash of the entry before it");
      /* What waited for a signature is not what this run continues: one
       * of them is forged. The waiting entries go; the run is refused
       * softly, and sent again on the next connection. */
      cairn__store_note_refusal(c, &d[i].e, (uint64_t)(m - ns),
                   "does not continue the entries waiting for a signature, which were "
                   "dropped: they will be sent again");
      return stage_delete(c, 0, UINT64_MAX);
    }
    if (d[i].e.has_sig) {
      if (cairn_entry_verify_sig(&d[i].e) != 0)
        return cairn__store_set_why(c, &d[i].e, CAIRN_EBADSIG, "signature does not verify");
      signed_to = i + 1;
    }
  }
  /* The rest waits for a signature, within a bound: an honest writer signs
   * more often than that. */
  size_t wait_bytes = 0;
  for (size_t i = signed_to; i < m; i++)
    wait_bytes += d[i].len;
  if (m - signed_to > CAIRN_ENTRY_UNSIGNED_MAX || wait_bytes > CAIRN_ENTRY_UNSIGNED_BYTES)
    return cairn__store_set_why(c, &d[m - 1].e, CAIRN_EBADSIG,
                   "more entries without a signature than a receiver keeps waiting for one");
  if (c->mode == CAIRN__STORE_APPLY_SYNCED) {
    int a = authorize_run(c, d, m, device);
    if (a <= 0)
      return a; /* refused, or an error */
  }
  for (size_t i = 0; i < signed_to; i++) {
    int a = cairn__store_apply_entry(c, d[i].bytes, d[i].len, &d[i].e);
    if (a < 0)
      return a;
    out->applied += (size_t)a;
    out->unstaged += d[i].staged ? 1 : 0;
  }
  /* What is held now must be exactly the signed entry (unless refused). */
  if (signed_to > 0 && c->have_head && c->cur.seq == d[signed_to - 1].e.seq &&
      memcmp(c->cur.hash, d[signed_to - 1].e.hash, CAIRN_HASH_BYTES) != 0)
    return cairn__store_set_why(c, &d[signed_to - 1].e, CAIRN_EBADCHAIN,
                   "the entry held differs from the signed one");
  if (out->unstaged > 0 && (rc = stage_delete(c, 0, d[signed_to - 1].e.seq)) != 0)
    return rc;
  /* The rest waits, chained from the head as checked above. */
  for (size_t i = signed_to; i < m; i++) {
    if (d[i].staged)
      continue;
    uint8_t key[CAIRN_KEY_BYTES + 8];
    cairn__store_log_key(key, d[i].e.author, d[i].e.seq);
    /* under the node's key: its student is known once it is applied */
    if ((rc = cairn__store_seal_entry(s, cairn__store_node_tag(s), &d[i].e, &s->seal_buf)) != 0)
      return rc;
    MDB_val kv = {sizeof key, key}, vv = {s->seal_buf.size, s->seal_buf.data};
    if ((rc = mdb_put(c->txn, s->staged, &kv, &vv, 0)) != 0)
      return cairn__store_err(s, rc, 0);
    out->staged++;
  }
  return 0;
}

/* The one received-entries path: buf holds entries in author/seq order;
 * each author's run is checked (signatures, chain) and applied in one
 * transaction according to mode (apply_run). Sets *res: the new entries
 * stored (minus the quarantined and the held), refused, quarantined, held,
 * re-dated by this central, and staged. */
/* Decodes buf into s->ents (*n of them) and begins b, a transaction that
 * applies received entries in mode, with refusals reported in res. Returns
 * 1 when begun, 0 when there is nothing to apply, or a negative code. */
static int recv_begin(cairn_store *s, const uint8_t *buf, size_t len,
                      cairn__store_apply_mode mode, cairn_apply_result *res,
                      cairn__store_batch *b, size_t *n) {
  memset(res, 0, sizeof *res);
  int rc = decode_all(s, buf, len, n, res->reason, sizeof res->reason);
  res->entries = *n;
  if (rc != 0 || *n == 0)
    return rc;
  if ((rc = cairn__store_batch_begin(b, s)) != 0)
    return cairn__store_batch_finish(b, rc);
  b->ac.mode = mode;
  b->ac.why = res->reason;
  b->ac.whylen = sizeof res->reason;
  b->commit_anyway = 1;
  return 1;
}

/* Ends what recv_begin began: commits (rc 0) or not; when that fails, res
 * keeps only its reason and the count of n entries. Returns the outcome. */
static int recv_finish(cairn__store_batch *b, int rc, cairn_apply_result *res, size_t n) {
  rc = cairn__store_batch_finish(b, rc);
  if (rc != 0) {
    char why[sizeof res->reason];
    memcpy(why, res->reason, sizeof why);
    memset(res, 0, sizeof *res);
    memcpy(res->reason, why, sizeof why);
    res->entries = n;
  }
  return rc;
}

/* Allocates into *runs the author runs of the n decoded entries in
 * s->ents (cairn_store_apply_synced_runs), *nruns of them. Returns 0 or
 * CAIRN_ENOMEM. */
static int author_runs(const cairn_store *s, size_t n, cairn_vv_item **runs, size_t *nruns) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += i == 0 || memcmp(s->ents[i].e.author, s->ents[i - 1].e.author, CAIRN_KEY_BYTES) != 0;
  if (k == 0)
    return 0;
  cairn_vv_item *r = malloc(k * sizeof *r);
  if (r == NULL)
    return CAIRN_ENOMEM;
  k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || memcmp(s->ents[i].e.author, s->ents[i - 1].e.author, CAIRN_KEY_BYTES) != 0) {
      memcpy(r[k].author, s->ents[i].e.author, CAIRN_KEY_BYTES);
      r[k++].seq = 0;
    }
    if (s->ents[i].e.seq > r[k - 1].seq)
      r[k - 1].seq = s->ents[i].e.seq;
  }
  *runs = r;
  *nruns = k;
  return 0;
}

int cairn__store_apply_buffer(cairn_store *s, const uint8_t *buf, size_t len, cairn__store_apply_mode mode,
                        cairn_apply_result *res, cairn_vv_item **runs, size_t *nruns) {
  size_t n;
  cairn__store_batch b;
  if (runs != NULL) {
    *runs = NULL;
    *nruns = 0;
  }
  int rc = recv_begin(s, buf, len, mode, res, &b, &n);
  if (rc <= 0)
    return rc;
  if (runs != NULL && (rc = author_runs(s, n, runs, nruns)) != 0)
    return recv_finish(&b, rc, res, n);
  rc = 0;
  cairn__store_apply *c = &b.ac;
  uint64_t released_due = c->released;
  cairn__store_rec device = {0};
  size_t count = 0, staged = 0, unstaged = 0;
  for (size_t i = 0; i < n && rc == 0;) {
    size_t j = i + 1;
    while (j < n && memcmp(s->ents[j].e.author, s->ents[i].e.author, CAIRN_KEY_BYTES) == 0)
      j++;
    run_result r;
    rc = apply_run(c, s->ents + i, j - i, &device, &r);
    count += r.applied;
    staged += r.staged;
    unstaged += r.unstaged;
    i = j;
  }
  cairn__store_rec_free(&device);
  uint64_t held = c->held, redated = 0;
  if (rc == 0 && c->nstamps > 0) {
    uint64_t before = c->released;
    rc = cairn__store_write_restamps(&b);
    redated = c->released - before;
  }
  if (rc == 0) {
    res->entries = n;
    res->applied = count - (size_t)c->quarantined - (size_t)(held - redated);
    res->refused = (size_t)c->refused;
    res->quarantined = (size_t)c->quarantined;
    res->erased = (size_t)c->erased;
    res->held = (size_t)(held - redated);
    res->redated = (size_t)redated;
    res->released = (size_t)released_due;
    res->ahead_ms = c->ahead_ms;
    res->staged = staged;
    res->unstaged = unstaged;
  }
  rc = recv_finish(&b, rc, res, n);
  if (rc != 0 && runs != NULL) {
    free(*runs);
    *runs = NULL;
    *nruns = 0;
  }
  return rc;
}

int cairn_store_apply_entries(cairn_store *s, const uint8_t *buf, size_t len, size_t *applied,
                              char *why, size_t whylen) {
  cairn_apply_result res;
  int rc = cairn__store_apply_buffer(s, buf, len, CAIRN__STORE_APPLY_TRUSTED, &res, NULL, NULL);
  *applied = res.applied;
  if (why != NULL && whylen > 0)
    snprintf(why, whylen, "%s", res.reason);
  return rc;
}

int cairn_store_apply_synced(cairn_store *s, const uint8_t *buf, size_t len,
                             cairn_apply_result *res) {
  return cairn__store_apply_buffer(s, buf, len, CAIRN__STORE_APPLY_SYNCED, res, NULL, NULL);
}

int cairn_store_apply_synced_runs(cairn_store *s, const uint8_t *buf, size_t len,
                                  cairn_apply_result *res, cairn_vv_item **runs, size_t *nruns) {
  return cairn__store_apply_buffer(s, buf, len, CAIRN__STORE_APPLY_SYNCED, res, runs, nruns);
}

/* ---- a student's history: whole bodies for entries held redacted ---------- */

/* Fills the entry d in place of the redacted one held at its author and
 * seq. Returns 1 when filled, 0 when skipped (not held, or held whole), or
 * a negative code with c->why set. */
static int fill_one(cairn__store_apply *c, const cairn__store_decoded *d, cairn__store_rec *device) {
  cairn_store *s = c->s;
  const cairn_entry *e = &d->e;
  uint8_t key[CAIRN_KEY_BYTES + 8];
  MDB_val k = {sizeof key, key}, v;
  cairn_entry held;
  uint8_t tag[16];
  if (e->redacted)
    return cairn__store_set_why(c, e, CAIRN_EMALFORMED, "a filled entry must be whole");
  int rc = cairn__store_head_load(c, e->author);
  if (rc != 0 || e->seq > c->cur.seq)
    return rc; /* not held yet: it comes, whole, with its chain */
  cairn__store_log_key(key, e->author, e->seq);
  if ((rc = mdb_get(c->txn, s->log, &k, &v)) != 0)
    return rc == MDB_NOTFOUND ? 0 : cairn__store_err(s, rc, 0);
  if (cairn__store_entry_get(s, v.mv_data, v.mv_size, NULL, &held, NULL) != 0)
    return CAIRN_ECORRUPT;
  if (!held.redacted || cairn__store_sealed_tag(v.mv_data, v.mv_size, tag))
    return 0; /* held whole (sealed, it reads redacted without its body) */
  if (memcmp(held.hash, e->hash, CAIRN_HASH_BYTES) != 0)
    return cairn__store_set_why(c, e, CAIRN_EBADCHAIN,
                                "a filled entry differs from the one held at its seq");
  if (c->mode == CAIRN__STORE_APPLY_SYNCED) {
    int a = authorize_run(c, d, 1, device);
    if (a <= 0)
      return a;
  }
  return (rc = cairn__store_fold_logged(c, e, 1)) != 0 ? rc : 1;
}

int cairn_store_fill(cairn_store *s, const uint8_t *buf, size_t len, cairn_apply_result *res) {
  size_t n;
  cairn__store_batch b;
  int rc = recv_begin(s, buf, len, CAIRN__STORE_APPLY_SYNCED, res, &b, &n);
  if (rc <= 0)
    return rc;
  rc = 0;
  cairn__store_apply *c = &b.ac;
  cairn__store_rec device = {0};
  size_t filled = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int f = fill_one(c, &s->ents[i], &device);
    if (f < 0)
      rc = f;
    else
      filled += (size_t)f;
  }
  cairn__store_rec_free(&device);
  if (rc == 0) {
    res->applied = filled - (size_t)c->quarantined - (size_t)c->held;
    res->refused = (size_t)c->refused;
    res->quarantined = (size_t)c->quarantined;
    res->erased = (size_t)c->erased;
    res->held = (size_t)c->held;
  }
  return recv_finish(&b, rc, res, n);
}

/* ---- repairing dates left by an older cairn ------------------------------- */

/* A run to re-date, and its rank: runs that start beyond the bound come
 * first (what a wrapped clock wrote came after such an entry was folded),
 * the central's own run last (it grows to cover the restamps written
 * before it, so that its chain stays in order). */
typedef struct repair_run {
  cairn__store_stamp_run run;
  int rank; /* 0 beyond, 1 wrapped, 2 the central's own */
} repair_run;

static int repair_run_cmp(const void *a, const void *b) {
  const repair_run *x = a, *y = b;
  return x->rank - y->rank;
}

/* Returns 1 when some author's head is dated beyond the bound and nothing
 * orders it otherwise (a clock that went back), 0 when none, or an error. */
static int head_beyond(cairn_store *s, MDB_txn *txn) {
  MDB_cursor *cur;
  MDB_val k, v;
  uint64_t ceiling = cairn__store_hlc_ceiling(s), eff;
  int rc = mdb_cursor_open(txn, s->heads, &cur), found = 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  while (!found && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    cairn__store_head h;
    if (k.mv_size != CAIRN_KEY_BYTES || cairn__store_head_parse(&v, &h) != 0)
      continue;
    found = h.hlc > ceiling && cairn__store_stamp_lookup(s, txn, s->restamps, k.mv_data, h.seq, &eff) == 0;
  }
  mdb_cursor_close(cur);
  return rc != 0 && rc != MDB_NOTFOUND ? cairn__store_err(s, rc, 0) : found;
}

/* Walks every chain and lists the runs to re-date: from the first entry
 * dated beyond the bound or not after the entry before it (as ordered) to
 * the end of the chain, or to the next entry a restamp already orders. */
static int repair_scan(cairn__store_batch *b, repair_run **out, size_t *n) {
  cairn_store *s = b->s;
  MDB_txn *txn = b->ac.txn;
  MDB_cursor *cur;
  MDB_val k, v;
  size_t cap = 0;
  uint64_t prev_eff = 0;
  repair_run *runs = NULL, *open = NULL;
  uint8_t author[CAIRN_KEY_BYTES] = {0};
  int rc = mdb_cursor_open(txn, s->log, &cur);
  *out = NULL;
  *n = 0;
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    uint64_t eff;
    if (cairn__store_entry_get(s, v.mv_data, v.mv_size, NULL, &e, NULL) != 0)
      continue; /* cairn check reports it */
    int first = memcmp(e.author, author, CAIRN_KEY_BYTES) != 0 || e.seq == 1;
    if (first) {
      memcpy(author, e.author, CAIRN_KEY_BYTES);
      open = NULL;
      prev_eff = 0;
    }
    int covered = cairn__store_stamp_lookup(s, txn, s->restamps, e.author, e.seq, &eff);
    if (covered < 0) {
      rc = covered;
      break;
    }
    if (covered) {
      open = NULL;
      prev_eff = eff;
      continue;
    }
    if (open != NULL) {
      open->run.to = e.seq;
      continue;
    }
    int beyond = e.hlc > b->ac.ceiling;
    if (!beyond && (first || e.hlc > prev_eff)) {
      prev_eff = e.hlc;
      continue;
    }
    if ((rc = cairn__store_grow((void **)&runs, &cap, *n + 1, sizeof *runs, 16)) != 0)
      break;
    open = &runs[(*n)++];
    memcpy(open->run.author, e.author, CAIRN_KEY_BYTES);
    open->run.from = open->run.to = e.seq;
    open->rank = memcmp(e.author, s->pk, CAIRN_KEY_BYTES) == 0 ? 2 : beyond ? 0 : 1;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND && rc != 0) {
    free(runs);
    *n = 0;
    return rc < 0 ? rc : cairn__store_err(s, rc, 0);
  }
  *out = runs;
  return 0;
}

int cairn_store_clock_repair(cairn_store *s, size_t *redated) {
  *redated = 0;
  int central = s->have_central && memcmp(s->central, s->pk, CAIRN_KEY_BYTES) == 0;
  cairn__store_batch b;
  int rc = cairn__store_batch_begin(&b, s);
  int needed = rc == 0 ? s->time_unchecked : 0;
  if (rc == 0 && !needed && central && (rc = head_beyond(s, b.ac.txn)) > 0)
    needed = 1, rc = 0;
  if (rc != 0 || !needed)
    return cairn__store_batch_finish(&b, rc);
  b.commit_anyway = 1;
  repair_run *runs = NULL;
  size_t n = 0;
  if (central && (rc = repair_scan(&b, &runs, &n)) == 0 && n > 0) {
    qsort(runs, n, sizeof *runs, repair_run_cmp);
    int own = runs[n - 1].rank == 2;
    for (size_t i = 0; rc == 0 && i < n - (size_t)own; i++) {
      rc = cairn__store_stamp_push(&b.ac, &runs[i].run);
      *redated += (size_t)(runs[i].run.to - runs[i].run.from + 1);
    }
    if (rc == 0)
      rc = cairn__store_write_restamps(&b);
    if (rc == 0 && own) {
      runs[n - 1].run.to = b.seq; /* through the restamps just written */
      *redated += (size_t)(runs[n - 1].run.to - runs[n - 1].run.from + 1);
      if ((rc = cairn__store_stamp_push(&b.ac, &runs[n - 1].run)) == 0)
        rc = cairn__store_write_restamps(&b);
    }
  }
  free(runs);
  MDB_val tk = {4, "time"}, one = {1, "\1"};
  if (rc == 0 && (rc = mdb_put(b.ac.txn, s->meta, &tk, &one, 0)) != 0)
    rc = cairn__store_err(s, rc, 0);
  rc = cairn__store_batch_finish(&b, rc);
  if (rc == 0)
    s->time_unchecked = 0;
  return rc;
}
