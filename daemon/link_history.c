/* link_history.c: a student's history follows them to a classroom that
 * newly teaches them (docs/PROTOCOL.md section 2, "Moves"). The upstream
 * tells a classroom device which students came into its classroom
 * (ARRIVED); the device asks (WANT) for the history of each it does not
 * hold yet; the upstream sends, whole (FILL), the entries of that history
 * the device holds redacted, sends the chains it lacks through the session
 * like any other (the store's redaction lets the student's entries
 * through), and says DONE once the device holds them all; the device then
 * records that it holds that history. */
#include "link_int.h"

#define ARRIVALS_MAX 256      /* students offered at once */
#define ANSWERS_MAX 1024      /* WANTs a downstream link may ask in one session */
#define FILL_BYTES (1u << 20) /* one FILL message, before it is sent */

/* Downstream: a DONE to send once the peer holds, of each author, the
 * entries up to seq. */
struct history_wait {
  char student[65];
  uint64_t arrival;
  struct need {
    uint8_t author[CAIRN_KEY_BYTES];
    uint64_t seq;
  } *need;
  size_t n;
};

void cairn__link_history_free(link *l) {
  for (size_t i = 0; i < l->waits_n; i++)
    free(l->waits[i].need);
  free(l->waits);
  free(l->asked);
  free(l->history_authors);
  l->waits = NULL;
  l->asked = NULL;
  l->history_authors = NULL;
  l->history_authors_n = 0;
  l->waits_n = l->asked_n = 0;
}

/* ---- the device: asking ---- */

/* The students this link has offered (downstream) or asked for (upstream)
 * in this session, so each is said once. Returns 1 when (student, arrival)
 * was new (and is now noted), 0 when said already or out of memory. */
static int note_said(link *l, const char *student, uint64_t arrival) {
  for (size_t k = 0; k < l->asked_n; k++)
    if (l->asked[k].hlc == arrival && strcmp(l->asked[k].student, student) == 0)
      return 0;
  cairn_store_arrival *grown = realloc(l->asked, (l->asked_n + 1) * sizeof *grown);
  if (grown == NULL)
    return 0; /* said at the next connection */
  l->asked = grown;
  snprintf(l->asked[l->asked_n].student, sizeof l->asked[l->asked_n].student, "%s", student);
  l->asked[l->asked_n++].hlc = arrival;
  return 1;
}

static void say_student(link *l, cairn_sync_type type, const char *student, uint64_t arrival) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_student(&sb, type, student, arrival) == 0)
    cairn__link_send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
}

void cairn__link_on_arrived(link *l, const cairn_sync_msg *msg) {
  int held = cairn_store_history_held(l->mgr->o.store, msg->student, msg->arrival);
  if (held == 0 && note_said(l, msg->student, msg->arrival))
    say_student(l, CAIRN_SYNC_WANT, msg->student, msg->arrival);
}

static int run_fill(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_fill(s, j->bytes, j->len, &j->res);
}

static void on_filled(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  if (l != NULL) {
    char peer[80], why[sizeof j->res.reason];
    cairn__link_peer_label(l, peer);
    if (req->job_rc != 0) {
      l->fill_failed = 1;
      cairn_text_printable(why, j->res.reason, strlen(j->res.reason));
      cairn_log_warn("sync: %s: a student's history was not filled in: %s", peer,
                     why[0] ? why : cairn_strerror(req->job_rc));
    } else if (j->res.applied > 0 || j->res.quarantined > 0) {
      l->received += j->res.applied;
      cairn_log_info("sync: %s: %zu entries of a student's history filled in (%zu kept out)",
                     peer, j->res.applied, j->res.quarantined);
    }
  }
  cairn__link_job_free(j);
}

void cairn__link_on_fill(link *l, const cairn_sync_msg *msg) {
  job *j = cairn__link_job_new(l);
  if (j == NULL || (j->bytes = malloc(msg->entries_len ? msg->entries_len : 1)) == NULL) {
    if (j != NULL)
      cairn__link_job_free(j);
    cairn__link_fail(l, "out of memory");
    return;
  }
  memcpy(j->bytes, msg->entries, msg->entries_len);
  j->len = msg->entries_len;
  cairn__link_submit(l, j, run_fill, on_filled);
}

static int run_history_done(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_history_done(s, j->student, (uint64_t)j->when);
}

static void on_history_done(cairn_write_req *req, void *arg) {
  job *j = arg;
  if (j->l != NULL && req->job_rc != 0)
    cairn_log_warn("sync: the end of a student's history was not recorded: %s",
                   cairn_strerror(req->job_rc));
  cairn__link_job_free(j);
}

void cairn__link_on_done(link *l, const cairn_sync_msg *msg) {
  if (l->fill_failed)
    return; /* asked again at the next connection */
  job *j = cairn__link_job_new(l);
  if (j == NULL) {
    cairn__link_fail(l, "out of memory");
    return;
  }
  /* after the FILLs and ENTRIES before it: the writer runs jobs in order */
  memcpy(j->student, msg->student, sizeof j->student);
  j->when = (int64_t)(msg->arrival & INT64_MAX);
  cairn__link_submit(l, j, run_history_done, on_history_done);
}

/* ---- the upstream: answering ---- */

typedef struct answer {
  link *l;
  msgpack_sbuffer fill;
  size_t count;
  struct history_wait w;
  size_t cap;
  int rc;
} answer;

static int send_fill(answer *a) {
  msgpack_sbuffer msg;
  int rc = 0;
  if (a->count == 0)
    return 0;
  msgpack_sbuffer_init(&msg);
  rc = cairn_sync_pack_fill(&msg, (const uint8_t *)a->fill.data, a->fill.size, a->count);
  if (rc == 0)
    rc = cairn__link_send_msg(a->l, &msg);
  msgpack_sbuffer_destroy(&msg);
  msgpack_sbuffer_clear(&a->fill);
  a->count = 0;
  return rc;
}

/* One entry of the history: sent whole now when the peer holds it (it holds
 * it redacted), else its author's chain is sent, and DONE waits for it. */
static int history_entry(const uint8_t *author, uint64_t seq, void *arg) {
  answer *a = arg;
  link *l = a->l;
  if (seq <= cairn__link_peer_has(l, author)) {
    size_t got = 0;
    int rc = cairn_store_read_log(l->mgr->o.store, author, seq, 1, &a->fill, &got);
    if (rc != 0)
      return rc;
    a->count += got;
    return a->fill.size >= FILL_BYTES ? send_fill(a) : 0;
  }
  cairn__link_author_want(l, author);
  for (size_t i = 0; i < a->w.n; i++)
    if (memcmp(a->w.need[i].author, author, CAIRN_KEY_BYTES) == 0) {
      if (seq > a->w.need[i].seq)
        a->w.need[i].seq = seq;
      return 0;
    }
  if (a->w.n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 4;
    struct need *grown = realloc(a->w.need, cap * sizeof *grown);
    if (grown == NULL)
      return CAIRN_ENOMEM;
    a->w.need = grown;
    a->cap = cap;
  }
  memcpy(a->w.need[a->w.n].author, author, CAIRN_KEY_BYTES);
  a->w.need[a->w.n++].seq = seq;
  return 0;
}

void cairn__link_history_check(link *l) {
  size_t i = 0;
  while (i < l->waits_n && l->state != LINK_CLOSING) {
    struct history_wait *w = &l->waits[i];
    size_t k = 0;
    while (k < w->n && cairn__link_peer_has(l, w->need[k].author) >= w->need[k].seq)
      k++;
    if (k < w->n) {
      i++;
      continue;
    }
    say_student(l, CAIRN_SYNC_DONE, w->student, w->arrival);
    free(w->need);
    l->waits[i] = l->waits[--l->waits_n];
  }
}

void cairn__link_send_arrivals(link *l) {
  cairn_store_arrival a[ARRIVALS_MAX];
  size_t n;
  unsigned epoch = cairn_store_arrival_epoch(l->mgr->o.store);
  if (l->dir != LINK_DOWNSTREAM || (l->state != LINK_SYNCING && l->state != LINK_IDLE) ||
      (l->arrivals_sent && l->arrival_epoch == epoch) || /* none since: as offered */
      cairn_store_arrivals(l->mgr->o.store, &l->peer_scope, a, ARRIVALS_MAX, &n) != 0)
    return;
  l->arrivals_sent = 1;
  l->arrival_epoch = epoch;
  for (size_t i = 0; i < n && l->state != LINK_CLOSING; i++)
    if (note_said(l, a[i].student, a[i].hlc))
      say_student(l, CAIRN_SYNC_ARRIVED, a[i].student, a[i].hlc);
}

void cairn__link_on_want(link *l, const cairn_sync_msg *msg) {
  char peer[80];

  if (++l->answered > ANSWERS_MAX)
    return; /* asked again at the next connection */
  answer a = {.l = l};
  msgpack_sbuffer_init(&a.fill);
  memcpy(a.w.student, msg->student, sizeof a.w.student);
  a.w.arrival = msg->arrival;
  int rc = cairn_store_student_history(l->mgr->o.store, msg->student, &l->peer_scope,
                                       history_entry, &a);
  if (rc == 0)
    rc = send_fill(&a);
  msgpack_sbuffer_destroy(&a.fill);
  if (rc == CAIRN_EPERM) {
    /* not the peer's student, as this node knows: nothing leaves */
    cairn__link_peer_label(l, peer);
    cairn_log_info("sync: %s asked for the history of a student outside its scope", peer);
    free(a.w.need);
    return;
  }
  if (rc != 0) {
    free(a.w.need);
    if (l->state != LINK_CLOSING)
      cairn__link_fail(l, "cannot read a student's history: %s", cairn_strerror(rc));
    return;
  }
  struct history_wait *grown = realloc(l->waits, (l->waits_n + 1) * sizeof *grown);
  if (grown == NULL) {
    free(a.w.need); /* asked again at the next connection */
  } else {
    l->waits = grown;
    l->waits[l->waits_n++] = a.w;
  }
  cairn__link_pump(l);
  cairn__link_history_check(l);
}
