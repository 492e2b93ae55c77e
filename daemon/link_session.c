/* link_session.c: the sync session of a link (docs/PROTOCOL.md sections 4
 * and 6): what the peer holds, batch sizing, the writer jobs, clocks, one
 * handler per message and the table of turns. */
#include "link_int.h"

/* ---- what the peer holds ---- */

uint64_t cairn__link_peer_has(const link *l, const uint8_t *author) {
  for (size_t i = 0; i < l->peer_vv_n; i++)
    if (memcmp(l->peer_vv[i].author, author, CAIRN_KEY_BYTES) == 0)
      return l->peer_vv[i].seq;
  return 0;
}

void cairn__link_wanted_forget(link *l) {
  if (l->wanted != NULL)
    memset(l->wanted, 0, l->wanted_words * 2 * sizeof *l->wanted);
  l->idle_gen = 0;
}

/* cairn_store_author_goes_down for the manager's vv[i], its device scope
 * read once per vv generation for every link. */
static int goes_down(cairn_links *m, size_t i, const cairn_scope *peer) {
  cairn_store *s = m->o.store;
  const uint8_t *author = m->vv[i].author;
  uint32_t ord = m->vv_ord[i];
  struct author_scope *a;

  if (m->scopes_gen != m->vv_gen) { /* a commit since: a device may have moved */
    if (m->scopes != NULL)
      memset(m->scopes, 0, m->scopes_n * sizeof *m->scopes);
    m->scopes_gen = m->vv_gen;
  }
  if (ord >= m->scopes_n) {
    size_t n = (size_t)m->next_ord + 64;
    struct author_scope *grown = realloc(m->scopes, n * sizeof *grown);
    if (grown == NULL)
      return cairn_store_author_goes_down(s, author, peer);
    memset(grown + m->scopes_n, 0, (n - m->scopes_n) * sizeof *grown);
    m->scopes = grown;
    m->scopes_n = n;
  }
  a = &m->scopes[ord];
  if (!a->known) {
    a->device = cairn_store_device_scope(s, author, &a->scope, NULL) == 0;
    a->known = 1;
  }
  return cairn_store_author_goes_down_as(s, author, a->device ? &a->scope : NULL, peer);
}

/* Whether the peer needs author's chain at all: a downstream peer as
 * cairn_store_author_goes_down says (the selection a bundle written for
 * it uses too), and any author once it asked for the history of a student
 * the author wrote about (cairn__link_author_want). Cached per link, two
 * bits per author (with 10,000 links and a thousand authors, a sorted
 * list of keys per link was most of an idle link's memory); the cache is
 * dropped when the peer's scope changes or an author first names a
 * classroom. */
int cairn__link_author_wanted(link *l, size_t i) {
  cairn_links *m = l->mgr;
  cairn_store *s = m->o.store;
  const uint8_t *author = m->vv[i].author;
  uint32_t ord = m->vv_ord[i];
  size_t word = ord / 64;
  uint64_t bit = (uint64_t)1 << (ord % 64);
  int yes;

  if (l->dir != LINK_DOWNSTREAM)
    return 1;
  for (size_t k = 0; k < l->history_authors_n; k++)
    if (memcmp(l->history_authors[k], author, CAIRN_KEY_BYTES) == 0)
      return 1;
  unsigned epoch = cairn_store_reach_epoch(s);
  if (epoch != l->reach_epoch) { /* an author wrote about a classroom for the first time */
    cairn__link_wanted_forget(l);
    l->reach_epoch = epoch;
  }
  if (word < l->wanted_words && (l->wanted[2 * word] & bit))
    return (l->wanted[2 * word + 1] & bit) != 0;
  yes = goes_down(m, i, &l->peer_scope);
  if (word >= l->wanted_words) {
    size_t words = (size_t)m->next_ord / 64 + 1;
    uint64_t *grown = realloc(l->wanted, words * 2 * sizeof *grown);
    if (grown == NULL)
      return yes; /* asked again next time */
    memset(grown + 2 * l->wanted_words, 0, (words - l->wanted_words) * 2 * sizeof *grown);
    l->wanted = grown;
    l->wanted_words = words;
  }
  l->wanted[2 * word] |= bit;
  if (yes)
    l->wanted[2 * word + 1] |= bit;
  else
    l->wanted[2 * word + 1] &= ~bit;
  return yes;
}

void cairn__link_author_want(link *l, const uint8_t *author) {
  for (size_t i = 0; i < l->history_authors_n; i++)
    if (memcmp(l->history_authors[i], author, CAIRN_KEY_BYTES) == 0)
      return;
  uint8_t(*grown)[CAIRN_KEY_BYTES] =
      realloc(l->history_authors, (l->history_authors_n + 1) * sizeof *grown);
  if (grown == NULL)
    return; /* asked again at the next connection */
  l->history_authors = grown;
  memcpy(l->history_authors[l->history_authors_n++], author, CAIRN_KEY_BYTES);
  l->idle_gen = 0; /* a chain it did not want before */
}

static void peer_set(link *l, const uint8_t *author, uint64_t seq) {
  cairn_vv_item *grown;
  for (size_t i = 0; i < l->peer_vv_n; i++)
    if (memcmp(l->peer_vv[i].author, author, CAIRN_KEY_BYTES) == 0) {
      if (seq > l->peer_vv[i].seq)
        l->peer_vv[i].seq = seq;
      return;
    }
  grown = realloc(l->peer_vv, (l->peer_vv_n + 1) * sizeof *grown);
  if (grown == NULL)
    return; /* we may then send it again: harmless, applying is idempotent */
  l->peer_vv = grown;
  memcpy(grown[l->peer_vv_n].author, author, CAIRN_KEY_BYTES);
  grown[l->peer_vv_n++].seq = seq;
}

/* The scope to redact for when sending to this peer: a downstream device's
 * enrolled scope; nothing is redacted going up. */
static const cairn_scope *send_scope(const link *l) {
  return l->dir == LINK_DOWNSTREAM ? &l->peer_scope : NULL;
}

/* ---- batch sizing ---- */

/* The batch size a new link to peer starts at: what a link to it that
 * dropped left, or BATCH_START_BYTES. */
static size_t pace_start(const cairn_links *m, const uint8_t *peer) {
  for (size_t i = 0; i < PACES; i++)
    if (m->paces[i].bytes > 0 && memcmp(m->paces[i].peer, peer, CAIRN_KEY_BYTES) == 0)
      return m->paces[i].bytes;
  return BATCH_START_BYTES;
}

/* A link that closes with batches unacknowledged leaves half its size
 * (at most the start size) for the next link to its peer. */
void cairn__link_pace_leave(link *l) {
  cairn_links *m = l->mgr;
  size_t i, bytes = l->batch_bytes / 2;

  if (!l->peer_known || !in_session(l->state))
    return;
  for (i = 0; i < PACES; i++)
    if (m->paces[i].bytes > 0 && memcmp(m->paces[i].peer, l->peer, CAIRN_KEY_BYTES) == 0)
      break;
  if (l->inflight == 0) {
    if (i < PACES) /* a clean end: the next link starts afresh */
      m->paces[i].bytes = 0;
    return;
  }
  if (i == PACES) {
    i = m->pace_next;
    m->pace_next = (m->pace_next + 1) % PACES;
  }
  if (bytes > BATCH_START_BYTES)
    bytes = BATCH_START_BYTES;
  memcpy(m->paces[i].peer, l->peer, CAIRN_KEY_BYTES);
  m->paces[i].bytes = bytes < BATCH_MIN_BYTES ? BATCH_MIN_BYTES : bytes;
}

/* The oldest batch was acknowledged now. The link's rate is what it
 * carried since it last had nothing in flight (one batch's timing says
 * little: after a stall, several arrive at once); the next batches hold
 * BATCH_TARGET_MS of it. */
static void pace_acked(link *l, uint64_t now) {
  double want;

  l->busy_bytes += l->batch_len[0];
  /* on a link with a long round trip, 4 batches of a second each leave it
   * idle most of the time (the rate measured is then the window's, and
   * would never grow): there a batch holds a round trip */
  double hold_ms = (double)l->rtt_ms > BATCH_TARGET_MS ? (double)l->rtt_ms : BATCH_TARGET_MS;
  want = (double)l->busy_bytes / (double)(now > l->busy_since ? now - l->busy_since : 1) * hold_ms;
  /* a batch far smaller than the limit says little of the link: grow at
   * most twofold per acknowledgement */
  if (want > 2.0 * (double)l->batch_bytes)
    want = 2.0 * (double)l->batch_bytes;
  l->batch_bytes = want > BATCH_MAX_BYTES   ? BATCH_MAX_BYTES
                   : want < BATCH_MIN_BYTES ? BATCH_MIN_BYTES
                                            : (size_t)want;
}

/* Tells the peer how many entries it will get from now on, when that is
 * not what it was last told less what has been sent since. */
static int offer(link *l, uint64_t will) {
  msgpack_sbuffer sb;
  int rc;

  if (l->offer_sent && will == l->promised)
    return 0;
  msgpack_sbuffer_init(&sb);
  rc = cairn_sync_pack_offer(&sb, will);
  if (rc == 0)
    rc = cairn__link_send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (rc == 0) {
    l->promised = will;
    l->offer_sent = 1;
  }
  return rc;
}

/* Sends batches of what the peer lacks, within the window, after an OFFER
 * when what there is to send has changed. */
void cairn__link_pump(link *l) {
  cairn_links *m = l->mgr;
  int offered = 0;

  while ((l->state == LINK_SYNCING || l->state == LINK_IDLE) && l->inflight < WINDOW &&
         l->tcp.write_queue_size < UNSENT_MAX) {
    const cairn_vv_item *own;
    size_t n, i, count = 0;
    uint64_t last = 0;
    msgpack_sbuffer entries, msg;
    int rc;

    /* one read per commit, however many links pump: with hundreds of
     * classrooms the reads, not the sending, were the central's work */
    if (cairn__link_own_vv(m) != 0) {
      cairn__link_fail(l, "cannot read the version vector");
      return;
    }
    own = m->vv, n = m->vv_n;
    if (l->idle_gen != 0 && l->state == LINK_IDLE && l->inflight == 0 &&
        cairn_store_reach_epoch(m->o.store) == l->reach_epoch) {
      /* Idle since generation idle_gen: only an author changed after it
       * can have something to send (each commit pumps every link; with
       * a thousand links and authors, a full pass each time was most of
       * a central's CPU). */
      int lacks = 0;
      if (l->idle_gen + 1 == m->vv_gen) { /* idle since the read before: its fresh authors */
        for (size_t k = 0; k < m->nfresh && !lacks; k++) {
          i = m->vv_fresh[k];
          lacks = own[i].seq > cairn__link_peer_has(l, own[i].author) &&
                  cairn__link_author_wanted(l, i);
        }
      } else {
        for (i = 0; i < n && !lacks; i++)
          lacks = m->vv_changed[i] > l->idle_gen &&
                  own[i].seq > cairn__link_peer_has(l, own[i].author) &&
                  cairn__link_author_wanted(l, i);
      }
      if (!lacks) {
        l->idle_gen = m->vv_gen;
        return;
      }
    }
    for (i = 0; i < n; i++)
      if (own[i].seq > cairn__link_peer_has(l, own[i].author) && cairn__link_author_wanted(l, i))
        break;
    if (i == n) {
      if (offer(l, 0) != 0)
        return;
      if (l->inflight == 0) {
        if (l->dir == LINK_UPSTREAM)
          m->failures = 0; /* caught up: a healthy link, backoff starts over */
        cairn__link_set_state(l, LINK_IDLE);
        if (l->state == LINK_IDLE)
          l->idle_gen = m->vv_gen;
      }
      return;
    }
    if (!offered) {
      if (offer(l, cairn__link_lacking(l)) != 0)
        return;
      offered = 1;
    }
    msgpack_sbuffer_init(&entries);
    rc = cairn_store_read_scoped(m->o.store, own[i].author, cairn__link_peer_has(l, own[i].author) + 1,
                                 BATCH_ENTRIES, l->batch_bytes, send_scope(l), &entries,
                                 &count, &last);
    if (rc == 0 && count > 0) {
      msgpack_sbuffer_init(&msg);
      rc = cairn_sync_pack_entries(&msg, l->next_batch++, (const uint8_t *)entries.data,
                                   entries.size, count);
      if (rc == 0)
        rc = cairn__link_send_msg(l, &msg);
      msgpack_sbuffer_destroy(&msg);
      if (rc == 0) {
        peer_set(l, own[i].author, last);
        l->promised = l->promised > count ? l->promised - count : 0;
        l->batch_entries[l->inflight] = count;
        if (l->inflight == 0) { /* a busy period begins */
          l->busy_since = uv_now(m->o.loop);
          l->busy_bytes = 0;
        }
        l->batch_len[l->inflight] = entries.size;
        l->unacked += count;
        l->inflight++;
        l->sent += count;
        cairn__link_set_state(l, LINK_SYNCING);
      }
    } else if (rc == 0) {
      rc = CAIRN_EINTERNAL;
    }
    msgpack_sbuffer_destroy(&entries);
    if (rc != 0) {
      if (l->state != LINK_CLOSING)
        cairn__link_fail(l, "cannot read the log: %s", cairn_strerror(rc));
      return;
    }
  }
}

void cairn__link_send_hello(link *l) {
  cairn_links *m = l->mgr;
  msgpack_sbuffer sb;
  const cairn_config *c = m->o.config;

  if (cairn__link_own_vv(m) != 0) {
    cairn__link_fail(l, "cannot read the version vector");
    return;
  }
  uint64_t now = cairn_store_wall_ms(m->o.store);
  uint64_t central = c->role == CAIRN_ROLE_CENTRAL ? now
                     : m->offset_known           ? (uint64_t)((int64_t)now + m->central_offset_ms)
                                                 : 0;
  cairn_vv_item *vv;
  size_t n;
  if (cairn_store_vv_with_staged(m->o.store, m->vv, m->vv_n, &vv, &n) != 0) {
    cairn__link_fail(l, "cannot read the version vector");
    return;
  }
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_hello(&sb, cairn_config_role_name(c->role), m->pk, c->campus,
                            c->classroom, (const cairn_sync_vv *)vv, n, now,
                            central < (UINT64_C(1) << 48) ? central : 0) == 0)
    cairn__link_send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  free(vv);
}

/* ---- writer jobs ---- */

job *cairn__link_job_new(link *l) {
  job *j = calloc(1, sizeof *j);
  if (j == NULL)
    return NULL;
  j->l = l;
  j->next = l->jobs;
  l->jobs = j;
  return j;
}

/* Unhooks j from its link (if it still has one) and frees it. */
void cairn__link_job_free(job *j) {
  if (j->l != NULL) {
    job **p = &j->l->jobs;
    while (*p != j)
      p = &(*p)->next;
    *p = j->next;
  }
  free(j->bytes);
  free(j->runs);
  free(j);
}

static int run_apply(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_apply_synced_runs(s, j->bytes, j->len, &j->res, &j->runs, &j->nruns);
}

static int run_receipt(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_receipt_put(s, j->msg.author, j->msg.seq, j->msg.central, j->msg.sig);
}

static int run_redeem(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_token_redeem(s, j->secret, j->device, j->name, now_unix(), &j->scope,
                                  j->role, j->why, sizeof j->why);
}

static int run_set_offset(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_set_central_offset(s, j->offset);
}

static void on_job_done(cairn_write_req *req, void *arg) {
  (void)req;
  cairn__link_job_free(arg);
}

/* Every link job ends here. The writer calls the commit hook
 * (cairn_links_notify) only after the done callbacks, so a job that
 * committed drops the shared version vector first: its continuation
 * (receipts, HELLO, the switch to a hub) must see what it wrote. */
static void on_link_job_done(cairn_write_req *req, void *arg) {
  job *j = arg;

  if (req->job_rc == 0 && j->l != NULL)
    cairn__link_own_vv_drop(j->l->mgr);
  j->done(req, j);
}

int cairn__link_submit(link *l, job *j, cairn_writer_job_fn fn, cairn_writer_done_cb done) {
  cairn_write_req *req = cairn_writer_job_new(fn, j);
  if (req == NULL) {
    cairn__link_job_free(j);
    cairn__link_fail(l, "out of memory");
    return CAIRN_ENOMEM;
  }
  j->done = done;
  cairn_writer_submit(l->mgr->o.writer, req, on_link_job_done, j);
  return 0;
}

void cairn__link_seen(link *l) {
  cairn_links *m = l->mgr;

  if (m->seen_n == m->seen_cap) {
    size_t cap = m->seen_cap ? 2 * m->seen_cap : 64;
    cairn_peer_seen *grown = realloc(m->seen, cap * sizeof *grown);
    if (grown == NULL)
      return;
    m->seen = grown;
    m->seen_cap = cap;
  }
  memcpy(m->seen[m->seen_n].key, l->peer, CAIRN_KEY_BYTES);
  m->seen[m->seen_n++].when = now_unix();
}

typedef struct seen_job {
  cairn_peer_seen *seen;
  size_t n;
} seen_job;

static int run_seen(cairn_store *s, void *arg) {
  seen_job *j = arg;
  return cairn_store_peers_seen(s, j->seen, j->n);
}

static void on_seen_done(cairn_write_req *req, void *arg) {
  seen_job *j = arg;
  (void)req;
  free(j->seen);
  free(j);
}

void cairn__link_seen_flush(cairn_links *m) {
  seen_job *j;
  cairn_write_req *req;

  if (m->seen_n == 0 || (j = malloc(sizeof *j)) == NULL)
    return;
  if ((req = cairn_writer_job_new(run_seen, j)) == NULL) {
    free(j);
    return; /* the times wait for the next flush */
  }
  j->seen = m->seen;
  j->n = m->seen_n;
  m->seen = NULL;
  m->seen_n = m->seen_cap = 0;
  cairn_writer_submit(m->o.writer, req, on_seen_done, j);
}

/* Sends the central's signed receipt: it holds author up to seq. */
static void send_receipt(link *l, const uint8_t *author, uint64_t seq) {
  uint8_t sig[CAIRN_SIG_BYTES];
  msgpack_sbuffer sb;

  cairn_store_receipt_sign(l->mgr->o.store, author, seq, sig);
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_receipt(&sb, author, seq, l->mgr->pk, sig) == 0)
    cairn__link_send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
}

/* The central answers each author whose head advanced with a receipt: the
 * authors of the applied batch, as the store handed them back. */
static void send_receipts(link *l, const job *j) {
  cairn_links *m = l->mgr;

  if (cairn__link_own_vv(m) != 0)
    return;
  for (size_t r = 0; r < j->nruns; r++)
    for (size_t i = 0; i < m->vv_n; i++)
      if (memcmp(m->vv[i].author, j->runs[r].author, CAIRN_KEY_BYTES) == 0)
        send_receipt(l, m->vv[i].author, m->vv[i].seq);
}

/* The refusal class of a batch the store refused whole with rc, or -1 when
 * rc is this node's own failure (disk full, out of memory, I/O). */
static int batch_refusal(int rc) {
  switch (rc) {
  case CAIRN_EBADSIG:
  case CAIRN_EBADCHAIN:
  case CAIRN_EGAP:
    return REFUSED_BATCH;
  case CAIRN_EMALFORMED:
  case CAIRN_EVERSION:
  case CAIRN_ETOOBIG:
    return REFUSED_MALFORMED;
  default:
    return -1;
  }
}

/* Counts and logs the entries of an applied batch of n that were not
 * applied: refused (author not enrolled or revoked), quarantined, or
 * already held (a replay is skipped, not refused, but still shown). */
static void count_unapplied(link *l, const job *j, size_t n) {
  cairn_links *m = l->mgr;
  uint64_t *counts = m->refusals, now = uv_now(m->o.loop);
  size_t quarantined = j->res.quarantined - j->res.erased, erased = j->res.erased;
  size_t refused = j->res.refused - j->res.quarantined;
  /* entries of this batch stored, refused, held or waiting for a signature
   * (applied also counts entries that waited since an earlier batch) */
  size_t done = j->res.applied - j->res.unstaged + j->res.refused + j->res.held + j->res.staged;
  size_t dup = n > done ? n - done : 0, clock = j->res.held + j->res.redated;
  char peer[80];

  cairn__link_peer_label(l, peer);
  if (refused > 0) {
    counts[REFUSED_ENTRY] += refused;
    cairn_log_limited(&m->limits[REFUSED_ENTRY], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries refused (counted as %s); the first "
                      "refusal: %s", peer, (unsigned long long)j->batch, refused,
                      cairn__link_refusal_names[REFUSED_ENTRY], j->res.reason);
  }
  if (quarantined > 0) {
    counts[REFUSED_QUARANTINE] += quarantined;
    cairn_log_limited(&m->limits[REFUSED_QUARANTINE], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries quarantined (counted as %s); the first "
                      "refusal: %s", peer, (unsigned long long)j->batch, quarantined,
                      cairn__link_refusal_names[REFUSED_QUARANTINE], j->res.reason);
  }
  if (erased > 0) {
    counts[REFUSED_ERASED] += erased;
    cairn_log_limited(&m->limits[REFUSED_ERASED], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries about an erased student, stored "
                      "redacted (counted as %s); the first refusal: %s",
                      peer, (unsigned long long)j->batch, erased,
                      cairn__link_refusal_names[REFUSED_ERASED], j->res.reason);
  }
  if (clock > 0) {
    char ahead[CAIRN_TEXT_DURATION_MAX];
    cairn_text_duration(j->res.ahead_ms, ahead);
    counts[REFUSED_CLOCK] += clock;
    cairn_log_limited(&m->limits[REFUSED_CLOCK], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries dated up to %s ahead of this node's "
                      "clock, %s (counted as %s)",
                      peer, (unsigned long long)j->batch, clock, ahead,
                      j->res.redated > 0 ? "ordered at their arrival"
                                         : "held until the central orders them",
                      cairn__link_refusal_names[REFUSED_CLOCK]);
  }
  if (dup > 0) {
    counts[REFUSED_HELD] += dup;
    cairn_log_limited(&m->limits[REFUSED_HELD], now, CAIRN_LOG_INFO,
                      "sync: %s: batch %llu: %zu entries already held, skipped (counted as %s)",
                      peer, (unsigned long long)j->batch, dup, cairn__link_refusal_names[REFUSED_HELD]);
  }
}

static void on_applied(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  msgpack_sbuffer sb;
  size_t count;

  if (l == NULL || l->state == LINK_CLOSING) {
    cairn__link_job_free(j);
    return;
  }
  l->applying--;
  l->in_apply -= j->count <= l->in_apply ? j->count : l->in_apply;
  if (req->job_rc != 0) {
    const char *why = j->res.reason[0] ? j->res.reason : cairn_strerror(req->job_rc);
    int r = batch_refusal(req->job_rc);
    if (r >= 0)
      cairn__link_refuse(l, (refusal)r, "batch %llu refused: %s", (unsigned long long)j->batch, why);
    else if (req->job_rc == CAIRN_ENOSPC) /* this node's own trouble, which the peer must hear */
      cairn__link_close(l, CAIRN_CLOSE_DISK_FULL,
                 "the %s's disk is full: batch %llu was not stored; it will be sent again",
                 cairn_config_role_name(l->mgr->o.config->role), (unsigned long long)j->batch);
    else
      cairn__link_close(l, CAIRN_CLOSE_FAILED, "batch %llu not applied: %s",
                 (unsigned long long)j->batch, why);
    cairn__link_job_free(j);
    return;
  }
  l->received += j->res.applied;
  l->mgr->applied += j->res.applied;
  l->refused += j->res.refused;
  /* The peer holds what it sent: never send it back. */
  for (size_t r = 0; r < j->nruns; r++)
    peer_set(l, j->runs[r].author, j->runs[r].seq);
  count = j->res.entries;
  if (count != j->count) {
    cairn__link_refuse(l, REFUSED_MALFORMED, "batch %llu holds %zu entries, not %llu as it says",
                (unsigned long long)j->batch, count, (unsigned long long)j->count);
    cairn__link_job_free(j);
    return;
  }
  count_unapplied(l, j, count);
  msgpack_sbuffer_init(&sb);
  cairn_sync_ack ack = {.batch = j->batch,
                        .applied = j->res.applied,
                        .refused = j->res.refused,
                        .held = j->res.held,
                        .redated = j->res.redated,
                        .ahead_ms = (uint64_t)j->res.ahead_ms,
                        .reason = j->res.reason};
  if (cairn_sync_pack_ack(&sb, &ack) == 0)
    cairn__link_send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (l->state != LINK_CLOSING && l->mgr->o.config->role == CAIRN_ROLE_CENTRAL &&
      j->res.applied > 0)
    send_receipts(l, j);
  cairn__link_job_free(j);
  cairn__link_read_resume(l);
  cairn__link_maybe_switch_upstream(l);
  cairn__link_maybe_unrestore(l);
}

static void on_receipt_stored(cairn_write_req *req, void *arg) {
  job *j = arg;
  if (j->l != NULL && req->job_rc != 0)
    cairn_log_warn("sync: receipt for seq %llu not stored: %s", (unsigned long long)j->msg.seq,
                   cairn_strerror(req->job_rc));
  cairn__link_job_free(j);
}

static void on_redeemed(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  msgpack_sbuffer sb;
  char peer[65];

  if (l == NULL || l->state == LINK_CLOSING) {
    cairn__link_job_free(j);
    return;
  }
  hex(l->peer, CAIRN_KEY_BYTES, peer);
  msgpack_sbuffer_init(&sb);
  if (req->job_rc == 0) {
    l->authorized = 1;
    cairn__link_unauth_drop(l);
    uv_timer_stop(&l->timer);
    cairn__link_set_state(l, LINK_HELLO);
    l->peer_scope = j->scope;
    snprintf(l->peer_role, sizeof l->peer_role, "%s", j->role);
    cairn_log_info("sync: device %.8s joined as %s of campus '%s'", peer, j->role,
                   j->scope.campus);
    cairn_sync_pack_welcome(&sb, 0, j->scope.campus, j->scope.classroom, "");
    if (cairn__link_send_msg(l, &sb) == 0)
      cairn__link_send_hello(l); /* the joined link goes on as a sync link: HELLO first */
  } else {
    l->mgr->refusals[REFUSED_JOIN]++;
    cairn_log_warn("sync: join of device %.8s refused: %s (counted as %s)", peer,
                   j->why[0] ? j->why : cairn_strerror(req->job_rc), cairn__link_refusal_names[REFUSED_JOIN]);
    cairn_sync_pack_welcome(&sb, req->job_rc, "", "", j->why[0] ? j->why : cairn_strerror(req->job_rc));
    cairn__link_send_msg(l, &sb);
    cairn__link_set_state(l, LINK_CLOSING);
  }
  msgpack_sbuffer_destroy(&sb);
  cairn__link_job_free(j);
}

/* ---- clocks (FORMAT.md section 1.1) ---- */

int64_t cairn__link_tolerance_ms(const cairn_links *m) {
  return m->o.config->clock_tolerance_s * 1000;
}

/* The central's clock as this node estimates it, unix ms. */
static int64_t central_now(const cairn_links *m) {
  int64_t now = (int64_t)cairn_store_wall_ms(m->o.store);
  return m->o.config->role == CAIRN_ROLE_CENTRAL || !m->offset_known ? now
                                                                     : now + m->central_offset_ms;
}

/* "3 years ahead of", "5 minutes behind": how a clock stands to another. */
void cairn__link_clock_words(int64_t diff_ms, char *out, size_t outlen) {
  char d[CAIRN_TEXT_DURATION_MAX];
  cairn_text_duration(diff_ms, d);
  snprintf(out, outlen, "%s %s", d, diff_ms > 0 ? "ahead of" : "behind");
}

/* The upstream's HELLO says what it takes the central's clock to be: this
 * node keeps the offset (the store judges received dates by it, so the
 * writer stores it before the entries that follow), and says at connect
 * when its own clock is off. */
static void learn_clock(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;
  job *j;
  if (msg->central_ms == 0 || m->o.config->role == CAIRN_ROLE_CENTRAL)
    return;
  int64_t offset = (int64_t)msg->central_ms - (int64_t)cairn_store_wall_ms(m->o.store);
  if (!m->offset_known || llabs(offset - m->central_offset_ms) >= 1000) {
    m->central_offset_ms = offset;
    m->offset_known = 1;
    if ((j = cairn__link_job_new(l)) != NULL) {
      j->offset = offset;
      cairn__link_submit(l, j, run_set_offset, on_job_done);
    }
  }
  if (llabs(offset) > cairn__link_tolerance_ms(m)) {
    char words[64];
    cairn__link_clock_words(-offset, words, sizeof words);
    cairn_log_warn("sync: this machine's clock is %s the central's: set its date and time "
                   "(what it writes meanwhile is ordered by the central when it arrives)",
                   words);
  }
}

/* A downstream HELLO says the peer's clock: kept for `sync status`, and
 * logged at connect when it is off. */
static void note_peer_clock(link *l, const cairn_sync_msg *msg) {
  if (msg->time_ms == 0)
    return;
  l->peer_clock_ms = (int64_t)msg->time_ms - central_now(l->mgr);
  l->peer_clock_known = 1;
  if (llabs(l->peer_clock_ms) > cairn__link_tolerance_ms(l->mgr)) {
    char words[64], peer[80];
    cairn__link_clock_words(l->peer_clock_ms, words, sizeof words);
    cairn__link_peer_label(l, peer);
    cairn_log_warn("sync: %s: its clock is %s the central's: its entries dated ahead are "
                   "ordered by the central when they arrive", peer, words);
  }
}

/* ---- the messages of a link's session, one handler each ---- */

static void on_hello(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;

  free(l->peer_vv);
  l->peer_vv = calloc(msg->vv_n ? msg->vv_n : 1, sizeof *l->peer_vv);
  if (l->peer_vv == NULL) {
    cairn__link_fail(l, "out of memory");
    return;
  }
  for (size_t i = 0; i < msg->vv_n; i++) {
    memcpy(l->peer_vv[i].author, msg->vv[i].author, CAIRN_KEY_BYTES);
    l->peer_vv[i].seq = msg->vv[i].seq;
  }
  l->peer_vv_n = msg->vv_n;
  snprintf(l->hello_role, sizeof l->hello_role, "%s", msg->role);
  l->last_success = now_unix();
  l->batch_bytes = l->peer_known ? pace_start(m, l->peer) : BATCH_START_BYTES;
  if (l->dir == LINK_UPSTREAM) {
    m->last_success = now_unix();
    m->up_error[0] = '\0';
    m->up_error_code = 0;
    learn_clock(l, msg);
    if (m->restored) { /* each connection says it anew; a job of a closed link is moot */
      m->unrestoring = 0;
      m->restore_target = 0;
      for (size_t i = 0; i < msg->vv_n; i++)
        if (memcmp(msg->vv[i].author, m->pk, CAIRN_KEY_BYTES) == 0)
          m->restore_target = msg->vv[i].seq;
      m->restore_known = 1;
    }
  } else { /* when it was last seen: written by the writer a little later */
    note_peer_clock(l, msg);
    cairn__link_seen(l);
    /* what the central already holds of the device's own log (a bundle
     * import, or a receipt lost in a drop) is acknowledged at once */
    if (m->o.config->role == CAIRN_ROLE_CENTRAL && cairn__link_own_vv(m) == 0)
      for (size_t k = 0; k < m->vv_n; k++)
        if (memcmp(m->vv[k].author, l->peer, CAIRN_KEY_BYTES) == 0 && m->vv[k].seq > 0)
          send_receipt(l, l->peer, m->vv[k].seq);
  }
  cairn__link_set_state(l, LINK_SYNCING);
  cairn__link_pump(l);
  cairn__link_send_arrivals(l);
  cairn__link_maybe_switch_upstream(l);
  cairn__link_maybe_unrestore(l);
}

static void on_entries(link *l, const cairn_sync_msg *msg) {
  job *j;

  if ((j = cairn__link_job_new(l)) == NULL || (j->bytes = malloc(msg->entries_len ? msg->entries_len : 1)) == NULL) {
    if (j)
      cairn__link_job_free(j);
    cairn__link_fail(l, "out of memory");
    return;
  }
  memcpy(j->bytes, msg->entries, msg->entries_len);
  j->len = msg->entries_len;
  j->batch = msg->batch;
  j->count = msg->entries_count;
  l->offered = l->offered > msg->entries_count ? l->offered - msg->entries_count : 0;
  l->in_apply += msg->entries_count;
  l->applying++;
  if (l->applying >= APPLY_MAX && l->reading) {
    uv_read_stop((uv_stream_t *)&l->tcp);
    l->reading = 0;
  }
  cairn__link_submit(l, j, run_apply, on_applied);
}

static void on_ack(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;

  if (l->inflight == 0) {
    cairn__link_refuse(l, REFUSED_OUT_OF_TURN, "ACK for nothing");
    return;
  }
  pace_acked(l, uv_now(m->o.loop));
  l->inflight--;
  l->unacked -= l->batch_entries[0];
  memmove(l->batch_entries, l->batch_entries + 1, (size_t)l->inflight * sizeof l->batch_entries[0]);
  memmove(l->batch_len, l->batch_len + 1, (size_t)l->inflight * sizeof l->batch_len[0]);
  l->last_success = now_unix();
  if (msg->refused > 0 || msg->held > 0 || msg->redated > 0) {
    char reason[sizeof msg->reason], peer[80];
    cairn_text_printable(reason, msg->reason, strlen(msg->reason));
    cairn__link_peer_label(l, peer);
    l->refused += msg->refused;
    if (msg->refused > 0)
      cairn_log_limited(&m->limits[REFUSAL_CLASSES], uv_now(m->o.loop), CAIRN_LOG_WARNING,
                        "sync: %s refused %llu entries: %s", peer,
                        (unsigned long long)msg->refused, reason);
    if (msg->refused > 0 && l->dir == LINK_UPSTREAM)
      snprintf(m->up_notice, sizeof m->up_notice, "the upstream refused %llu entries sent: %.200s",
               (unsigned long long)msg->refused, reason);
    if (msg->held > 0 || msg->redated > 0) {
      char ahead[CAIRN_TEXT_DURATION_MAX], notice[sizeof m->up_notice];
      cairn_text_duration((int64_t)msg->ahead_ms, ahead);
      snprintf(notice, sizeof notice,
               "%llu entries sent were dated up to %s ahead of the %s's clock: the central "
               "orders such entries at their arrival",
               (unsigned long long)(msg->held + msg->redated), ahead,
               msg->redated > 0 ? "central" : "upstream");
      if (l->dir == LINK_UPSTREAM)
        memcpy(m->up_notice, notice, sizeof notice);
      cairn_log_warn("sync: %s: %s", peer, notice);
    }
  }
  if (l->dir == LINK_UPSTREAM) {
    m->failures = 0; /* the link does real work: backoff starts over */
    m->last_success = now_unix();
    m->up_refused += msg->refused;
  }
  cairn__link_pump(l);
  cairn__link_history_check(l);
}

static void on_offer(link *l, const cairn_sync_msg *msg) {
  l->offered = msg->offered;
  l->offer_known = 1;
  cairn__link_maybe_switch_upstream(l);
}

static void on_close_msg(link *l, const cairn_sync_msg *msg) {
  char text[sizeof msg->reason];
  cairn_text_printable(text, msg->reason, strlen(msg->reason));
  if (l->dir == LINK_UPSTREAM) {
    cairn__link_refused_by_upstream(l, msg->close_code, "closed the link", text);
  } else {
    char peer[80];
    cairn__link_peer_label(l, peer);
    cairn__link_fail_limited(l, REFUSAL_CLASSES, "%s closed the link: %s%s%s", peer,
                      cairn_sync_close_what(msg->close_code), text[0] ? ": " : "", text);
  }
}

static void on_receipt(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;
  job *j;

  if ((j = cairn__link_job_new(l)) == NULL) {
    cairn__link_fail(l, "out of memory");
    return;
  }
  j->msg = *msg;
  j->msg.vv = NULL;
  if (memcmp(msg->author, m->pk, CAIRN_KEY_BYTES) == 0 && msg->seq > m->receipt_seen &&
      cairn_store_receipt_verify(m->o.store, msg->author, msg->seq, msg->central, msg->sig) == 0)
    m->receipt_seen = msg->seq;
  cairn__link_submit(l, j, run_receipt, on_receipt_stored);
  cairn__link_relay_receipt(m, msg);
}

static void on_join(link *l, const cairn_sync_msg *msg) {
  job *j;

  if (l->mgr->o.config->role != CAIRN_ROLE_CENTRAL ||
      sodium_memcmp(msg->device, l->peer, CAIRN_KEY_BYTES) != 0) {
    cairn__link_refuse(l, REFUSED_OUT_OF_TURN, "unexpected JOIN: %s",
                l->mgr->o.config->role != CAIRN_ROLE_CENTRAL ? "only the central redeems tokens"
                                                             : "for another device");
    return;
  }
  if ((j = cairn__link_job_new(l)) == NULL) {
    cairn__link_fail(l, "out of memory");
    return;
  }
  memcpy(j->secret, msg->secret, sizeof j->secret);
  memcpy(j->device, msg->device, sizeof j->device);
  snprintf(j->name, sizeof j->name, "%s", msg->name);
  cairn__link_set_state(l, LINK_REDEEMING);
  cairn__link_submit(l, j, run_redeem, on_redeemed);
}

/* ---- the turns ---- */

#define IN(s) (1u << (s))
#define SESSION (IN(LINK_SYNCING) | IN(LINK_IDLE))
#define FROM_UP (1u << LINK_UPSTREAM)     /* the link's peer is upstream */
#define FROM_DOWN (1u << LINK_DOWNSTREAM) /* the link's peer is downstream */

/* Which message may arrive in which state, and from which side: anything
 * else is out of turn, and refused here, in one place. */
static const struct turn {
  const char *name;
  unsigned states, from;
  void (*fn)(link *l, const cairn_sync_msg *msg);
} turns[] = {
    [CAIRN_SYNC_HELLO] = {"HELLO", IN(LINK_HELLO), FROM_UP | FROM_DOWN, on_hello},
    [CAIRN_SYNC_ENTRIES] = {"ENTRIES", SESSION, FROM_UP | FROM_DOWN, on_entries},
    [CAIRN_SYNC_ACK] = {"ACK", SESSION, FROM_UP | FROM_DOWN, on_ack},
    [CAIRN_SYNC_OFFER] = {"OFFER", SESSION, FROM_UP | FROM_DOWN, on_offer},
    [CAIRN_SYNC_RECEIPT] = {"RECEIPT", IN(LINK_HELLO) | SESSION, FROM_UP, on_receipt},
    [CAIRN_SYNC_JOIN] = {"JOIN", IN(LINK_JOIN_WAIT), FROM_DOWN, on_join},
    [CAIRN_SYNC_WELCOME] = {"WELCOME", IN(LINK_JOINING), FROM_UP, cairn__link_on_welcome},
    [CAIRN_SYNC_ARRIVED] = {"ARRIVED", SESSION, FROM_UP, cairn__link_on_arrived},
    [CAIRN_SYNC_WANT] = {"WANT", SESSION, FROM_DOWN, cairn__link_on_want},
    [CAIRN_SYNC_FILL] = {"FILL", SESSION, FROM_UP, cairn__link_on_fill},
    [CAIRN_SYNC_DONE] = {"DONE", SESSION, FROM_UP, cairn__link_on_done},
    [CAIRN_SYNC_CLOSE] = {"CLOSE",
                          IN(LINK_JOIN_WAIT) | IN(LINK_REDEEMING) | IN(LINK_JOINING) |
                              IN(LINK_HELLO) | SESSION,
                          FROM_UP | FROM_DOWN, on_close_msg},
};

void cairn__link_on_message(link *l, const uint8_t *p, size_t len) {
  cairn_sync_msg msg;
  int rc = cairn_sync_decode(p, len, &msg);

  if (rc != 0) {
    cairn__link_refuse(l, REFUSED_MALFORMED, "malformed sync message (%s)", cairn_strerror(rc));
    return;
  }
  const struct turn *t =
      (size_t)msg.type < sizeof turns / sizeof turns[0] ? &turns[msg.type] : NULL;
  if (t == NULL || t->fn == NULL)
    cairn__link_refuse(l, REFUSED_MALFORMED, "sync message of unknown type %d", (int)msg.type);
  else if (!(t->states & IN(l->state)) || !(t->from & (1u << l->dir)))
    cairn__link_refuse(l, REFUSED_OUT_OF_TURN, "%s out of turn: the link is %s%s", t->name,
                cairn__link_state_names[l->state], t->from & (1u << l->dir) ? "" : ", and from the wrong side");
  else
    t->fn(l, &msg);
  cairn_sync_msg_clear(&msg);
}

