/*
 * store_check.c: the self-check: every chain and signature verified, every
 * record rebuilt from the log and compared.
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

/* ---- the self-check ---------------------------------------------------------- */

typedef struct checker {
  cairn_store *s;
  MDB_txn *txn;
  void (*report)(const char *line, void *arg);
  void *arg;
  int problems;
} checker;

static void problem(checker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *k, const char *fmt, ...) {
  char line[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  k->problems++;
  if (k->report != NULL)
    k->report(line, k->arg);
}

/* One author's chain as the check walks it. */
typedef struct chain {
  int active;
  cairn_entry last;
  uint64_t covered;  /* highest seq covered by a verified signature */
  uint64_t last_eff; /* effective HLC of the last entry (0: held, or none) */
} chain;

/* Reports an entry whose date nothing corrects: one beyond this node's
 * clock bound, or one not after the entry before it (a clock that went
 * back, or wrapped in an older cairn). Held entries and those a restamp
 * orders are fine. Sets ch->last_eff. */
static void check_time(checker *k, chain *ch, const cairn_entry *e, int first) {
  cairn_store *s = k->s;
  uint64_t eff;
  char tag[9];
  cairn__store_author_tag(e->author, tag);
  int covered = cairn__store_stamp_lookup(s, k->txn, s->restamps, e->author, e->seq, &eff);
  int held = cairn__store_has_entry_key(s, k->txn, s->held, e->author, e->seq);
  if (covered < 0 || held < 0) {
    problem(k, "Author %s: the order of entry %llu could not be read.", tag,
            (unsigned long long)e->seq);
    return;
  }
  uint64_t prev_eff = ch->last_eff;
  ch->last_eff = covered ? eff : held ? 0 : e->hlc;
  if (covered || held || e->redacted)
    return;
  if (e->hlc > cairn__store_hlc_ceiling(s)) {
    char day[11];
    cairn_text_date_format((int32_t)((e->hlc >> 16) / 86400000), day);
    problem(k, "Author %s: entry %llu is dated %s, beyond this node's clock and its tolerance "
               "of %lld s, and nothing orders it otherwise: edits made after it lose to it "
               "until the central re-dates it (cairnd on the central does when it starts).",
            tag, (unsigned long long)e->seq, day, (long long)(s->clock_tolerance_ms / 1000));
  } else if (!first && prev_eff != 0 && e->hlc <= prev_eff) {
    problem(k, "Author %s: entry %llu is dated before the entry it follows (a clock that went "
               "back, or an older cairn's clock that wrapped); the central re-dates such runs "
               "when it starts.",
            tag, (unsigned long long)e->seq);
  }
}

static void chain_finish(checker *k, chain *ch) {
  if (!ch->active)
    return;
  char tag[9];
  cairn__store_author_tag(ch->last.author, tag);
  if (ch->covered < ch->last.seq)
    problem(k, "Author %s: entries %llu to %llu are not covered by a verified signature.", tag,
            (unsigned long long)ch->covered + 1, (unsigned long long)ch->last.seq);
  cairn__store_head h;
  if (cairn__store_head_get(k->txn, k->s->heads, k->s, ch->last.author, &h) != 0 ||
      h.seq != ch->last.seq || memcmp(h.hash, ch->last.hash, CAIRN_HASH_BYTES) != 0)
    problem(k, "Author %s: the recorded head is not the last entry of the log (seq %llu).", tag,
            (unsigned long long)ch->last.seq);
  ch->active = 0;
}

/* Walks every author's chain: links from seq 1, signatures verify, every
 * entry is covered, heads match. Returns the number of authors seen. */
static size_t check_chains(checker *k, MDB_cursor *cur) {
  chain ch = {0};
  size_t authors = 0;
  MDB_val key, v;
  int rc;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  while ((rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    char tag[9];
    uint8_t hash[CAIRN_HASH_BYTES];
    cairn__store_author_tag(key.mv_data, tag);
    /* the chain is checked on what is kept in clear; a sealed body must
     * open (FORMAT.md section 8) and be the one its hash names */
    if (key.mv_size != CAIRN_KEY_BYTES + 8 ||
        cairn__store_entry_get(k->s, v.mv_data, v.mv_size, &body, &e, NULL) != 0 ||
        (!e.redacted && (crypto_generichash(hash, sizeof hash, e.body, e.body_len, NULL, 0) != 0 ||
                         sodium_memcmp(hash, e.body_hash, sizeof hash) != 0)) ||
        memcmp(e.author, key.mv_data, CAIRN_KEY_BYTES) != 0) {
      problem(k,
              "Author %s: a stored log entry does not decode, or its sealed body does not "
              "open as the one its hash names.",
              tag);
      continue;
    }
    if (!ch.active || memcmp(ch.last.author, e.author, CAIRN_KEY_BYTES) != 0) {
      chain_finish(k, &ch);
      authors++;
      ch.active = 1;
      ch.covered = 0;
      ch.last_eff = 0;
      if (cairn_entry_follows(&e, NULL) != 0)
        problem(k, "Author %s: the log does not start at seq 1 with an empty prev.", tag);
      check_time(k, &ch, &e, 1);
    } else {
      if (cairn_entry_follows(&e, &ch.last) != 0)
        problem(k, "Author %s: entry %llu does not follow entry %llu.", tag,
                (unsigned long long)e.seq, (unsigned long long)ch.last.seq);
      check_time(k, &ch, &e, 0);
    }
    if (e.has_sig) {
      if (cairn_entry_verify_sig(&e) == 0)
        ch.covered = e.seq;
      else
        problem(k, "Author %s: the signature on entry %llu does not verify.", tag,
                (unsigned long long)e.seq);
    }
    ch.last = e;
  }
  chain_finish(k, &ch);
  msgpack_sbuffer_destroy(&body);
  if (rc != MDB_NOTFOUND)
    problem(k, "The log could not be read to the end (%s).", mdb_strerror(rc));
  return authors;
}

/* Compares two databases key by key; name says what they hold, and
 * record_keys whether their keys are records' (type || id) or an author and
 * a seq. */
static void compare_dbs(checker *k, MDB_dbi a, MDB_dbi b, const char *name, int record_keys) {
  MDB_cursor *ca, *cb;
  msgpack_zone z;
  if (!msgpack_zone_init(&z, 4096)) {
    problem(k, "The %s could not be read.", name);
    return;
  }
  if (mdb_cursor_open(k->txn, a, &ca) != 0 || mdb_cursor_open(k->txn, b, &cb) != 0) {
    problem(k, "The %s could not be read.", name);
    msgpack_zone_destroy(&z);
    return;
  }
  MDB_val ka, va, kb, vb;
  int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
  int shown = 0;
  while ((ra == 0 || rb == 0) && shown < 10) {
    int c = ra != 0 ? 1 : rb != 0 ? -1 : 0;
    if (c == 0) {
      size_t m = ka.mv_size < kb.mv_size ? ka.mv_size : kb.mv_size;
      c = memcmp(ka.mv_data, kb.mv_data, m);
      if (c == 0 && ka.mv_size != kb.mv_size)
        c = ka.mv_size < kb.mv_size ? -1 : 1;
    }
    const MDB_val *kk = c <= 0 ? &ka : &kb;
    const uint8_t *kd = kk->mv_data;
    const char *tname = cairn_record_type_name(kd[0]);
    int idlen = (int)strnlen((const char *)kd + 1, kk->mv_size - 1);
    const char *verdict = c < 0 ? "is missing from" : c > 0 ? "is not produced by" : "differs from";
    /* record states are compared opened: each sealing draws its own nonce */
    MDB_val pa = va, pb = vb;
    msgpack_zone_clear(&z);
    if (c == 0 && record_keys && (cairn__store_open_rec(k->txn, &va, &z, &pa) != 0 ||
                                  cairn__store_open_rec(k->txn, &vb, &z, &pb) != 0))
      pa.mv_size = SIZE_MAX; /* unreadable: differs */
    if (c != 0 || pa.mv_size != pb.mv_size || memcmp(pa.mv_data, pb.mv_data, pa.mv_size) != 0) {
      if (!record_keys) { /* author || seq */
        char tag[9];
        cairn__store_author_tag(kd, tag);
        problem(k, "The %s for author %s seq %llu %s a rebuild from the log.", name, tag,
                kk->mv_size == CAIRN_KEY_BYTES + 8
                    ? (unsigned long long)cairn__store_get_be64(kd + CAIRN_KEY_BYTES)
                    : 0ULL,
                verdict);
      } else {
        problem(k, "The %s of %s %.*s %s a rebuild from the log.", name,
                tname != NULL ? tname : "record", idlen, (const char *)kd + 1, verdict);
      }
      shown++;
    }
    if (c <= 0)
      ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
    if (c >= 0)
      rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
  }
  mdb_cursor_close(ca);
  mdb_cursor_close(cb);
  msgpack_zone_destroy(&z);
}

/* Rebuilds records and children from the log into scratch databases of
 * this (to be aborted) transaction and compares them with the stored ones. */
static int check_rebuild(checker *k, MDB_cursor *cur) {
  static const char *const names[] = {"check.heads", "check.records", "check.children",
                                      "check.restamps"};
  MDB_dbi dbi[CAIRN__STORE_CHECK_DBS];
  _Static_assert(sizeof names / sizeof names[0] == CAIRN__STORE_CHECK_DBS, "one name per scratch database");
  for (int i = 0; i < CAIRN__STORE_CHECK_DBS; i++) {
    int rc = mdb_dbi_open(k->txn, names[i], MDB_CREATE, &dbi[i]);
    if (rc == 0)
      rc = mdb_drop(k->txn, dbi[i], 0);
    if (rc != 0)
      return cairn__store_err(k->s, rc, 0);
  }
  cairn__store_apply c;
  char why[200] = "";
  cairn__store_apply_init(&c, k->s, k->txn, CAIRN__STORE_APPLY_REPLAY);
  c.heads = dbi[0];
  c.records = dbi[1];
  c.children = dbi[2];
  c.restamps = dbi[3];
  c.write_log = 0;
  c.why = why;
  c.whylen = sizeof why;
  MDB_val key, v;
  int rc;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  while ((rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) == 0) {
    cairn_entry e;
    if (cairn__store_entry_get(k->s, v.mv_data, v.mv_size, &body, &e, NULL) != 0)
      continue; /* reported by check_chains */
    int a = cairn__store_apply_entry(&c, v.mv_data, v.mv_size, &e);
    if (a == CAIRN_EMAPFULL || a == CAIRN_ENOSPC || a == CAIRN_ENOMEM) {
      cairn__store_apply_free(&c);
      msgpack_sbuffer_destroy(&body);
      return a; /* room to rebuild in, not a problem of the data */
    }
    if (a < 0 && a != CAIRN_EGAP && a != CAIRN_EBADCHAIN) {
      problem(k, "The log cannot be replayed: %s (%s).", why[0] ? why : "error",
              cairn_strerror(a));
      cairn__store_apply_free(&c);
      msgpack_sbuffer_destroy(&body);
      return 0;
    }
  }
  msgpack_sbuffer_destroy(&body);
  cairn__store_apply_free(&c);
  if (rc != MDB_NOTFOUND)
    return cairn__store_err(k->s, rc, 0);
  if ((rc = cairn__store_head_flush(&c)) != 0)
    return rc;
  compare_dbs(k, k->s->records, dbi[1], "state", 1);
  compare_dbs(k, k->s->children, dbi[2], "child index entry", 1);
  compare_dbs(k, k->s->restamps, dbi[3], "restamp index entry", 0);
  return 0;
}

int cairn_store_check(cairn_store *s, void (*report)(const char *line, void *arg), void *arg) {
  checker k = {.s = s, .report = report, .arg = arg};
  int rc = mdb_txn_begin(s->env, NULL, 0, &k.txn);
  if (rc != 0)
    return cairn__store_err(s, rc, 0);
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(k.txn, s->log, &cur)) != 0) {
    mdb_txn_abort(k.txn);
    return cairn__store_err(s, rc, 0);
  }
  size_t authors = check_chains(&k, cur);
  MDB_stat st;
  if (mdb_stat(k.txn, s->heads, &st) == 0 && st.ms_entries != authors)
    problem(&k, "The heads table names %zu authors but the log holds %zu.",
            (size_t)st.ms_entries, authors);
  mdb_cursor_close(cur);
  if ((rc = mdb_cursor_open(k.txn, s->log, &cur)) == 0) {
    rc = check_rebuild(&k, cur);
    mdb_cursor_close(cur);
  } else {
    rc = cairn__store_err(s, rc, 0);
  }
  mdb_txn_abort(k.txn); /* the rebuild is scratch: nothing changes */
  if (rc != 0)
    return rc;
  return k.problems > 0 ? CAIRN_ECORRUPT : 0;
}
