/* link.c: sync connections over TCP (docs/PROTOCOL.md). */
#include "link.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "log.h"
#include "noise.h"
#include "record.h"
#include "rpc_int.h"
#include "sync.h"
#include "sync_refusals.h"
#include "text.h"
#include "transport.h"

/* Batches are sized to the link (PROTOCOL.md section 4, "Batch sizing"):
 * a link starts at BATCH_START_BYTES; each acknowledgement measures the
 * rate the link carried that batch at, and the next batches hold about
 * BATCH_TARGET_MS of it, between BATCH_MIN_BYTES and BATCH_MAX_BYTES (a
 * batch always holds at least one entry). A link that drops with batches
 * unacknowledged leaves half its size for the next connection to the same
 * peer. */
#define BATCH_ENTRIES 4000
#define BATCH_MAX_BYTES (2 * 1024 * 1024)
#define BATCH_START_BYTES (16 * 1024)
#define BATCH_MIN_BYTES 512
#define BATCH_TARGET_MS 1000
#define PACES 64 /* peers whose batch size after a drop is remembered */
#define WINDOW 4                        /* batches sent ahead of acknowledgements */
#define APPLY_MAX 2                     /* received batches waiting for the writer */
#define UNSENT_MAX (2 * 1024 * 1024)    /* bytes queued on the socket */
#define HANDSHAKE_TIMEOUT_MS 10000
#define FLUSH_TIMEOUT_MS 2000 /* a closing link's last message, then it goes anyway */
/* Descriptors kept for everything but sync connections: the store, the
 * local socket and its clients, the web page, the log. */
#define FD_RESERVE 256
/* A device's last-seen time is taken at its HELLO and written this much
 * later (or when its link closes first), so that its commit never sits in
 * front of the link's first batch. */
#define SEEN_DELAY_MS 1000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define PROLOGUE "cairn-sync-v1"
#define PATTERN_IK 1
#define PATTERN_XX 2
#define STATUS_OK 0

/* A link's states, in the order a link passes them (PROTOCOL.md section
 * 3). Which message may arrive in which state is the table `turns`, in
 * on_message: every message passes through it. */
typedef enum {
  LINK_CONNECTING, /* upstream: the TCP connect */
  LINK_HANDSHAKE,  /* the Noise handshake */
  LINK_JOIN_WAIT,  /* downstream: a device not enrolled finished XX: JOIN next */
  LINK_REDEEMING,  /* downstream: its JOIN's token is being redeemed */
  LINK_JOINING,    /* upstream: JOIN sent: WELCOME next */
  LINK_HELLO,      /* both sides may sync: the peer's HELLO next */
  LINK_SYNCING,    /* HELLO received; something to send or unacknowledged */
  LINK_IDLE,       /* HELLO received; nothing to send */
  LINK_CLOSING
} link_state;

static const char *const state_names[] = {"connecting", "handshake", "waiting for a join",
                                          "redeeming a join", "joining", "hello",
                                          "syncing", "idle", "closing"};
_Static_assert(sizeof state_names / sizeof state_names[0] == LINK_CLOSING + 1, "a name per state");

/* The peer's HELLO has arrived: the link syncs. */
static int in_session(link_state s) { return s == LINK_SYNCING || s == LINK_IDLE; }

/* The handshake is done: messages are sealed with the transport keys. */
static int past_handshake(link_state s) { return s > LINK_HANDSHAKE && s < LINK_CLOSING; }

typedef enum { LINK_UPSTREAM, LINK_DOWNSTREAM } link_dir;

/* The classes of refused attempts (protocol/sync_refusals.h), each counted
 * since start where its refusal is logged. */
typedef enum {
#define AS_ENUM(id, name, what) REFUSED_##id,
  CAIRN_SYNC_REFUSALS(AS_ENUM)
#undef AS_ENUM
  REFUSAL_CLASSES
} refusal;

static const char *const refusal_names[] = {
#define AS_NAME(id, name, what) name,
    CAIRN_SYNC_REFUSALS(AS_NAME)
#undef AS_NAME
};

typedef struct link link;
typedef struct job job;

/* A store write a link queued on the writer; l is NULL once the link has
 * gone, and the result is then dropped. */
struct job {
  link *l;
  cairn_sync_msg msg; /* RECEIPT */
  uint8_t *bytes;     /* ENTRIES: a copy of the batch */
  size_t len;
  uint64_t count; /* the entries the sender says it holds */
  uint64_t batch;
  cairn_apply_result res;
  /* JOIN (responder) */
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  uint8_t device[CAIRN_KEY_BYTES];
  char name[201];
  cairn_scope scope;
  char role[16];
  char why[256];
  int64_t when; /* peer_seen */
  int64_t offset; /* set_central_offset */
  cairn_writer_done_cb done; /* run by on_link_job_done */
  job *next;
};

struct link {
  uv_tcp_t tcp; /* first: the handle's address is the link's */
  uv_connect_t connect;
  uv_timer_t timer; /* handshake deadline */
  cairn_links *mgr;
  link_dir dir;
  link_state state;
  int joining;    /* upstream: opened to join with a token, not yet welcomed */
  int welcoming;  /* upstream: welcomed; the central's key is being stored */
  int authorized; /* downstream: the peer is known to be an enrolled device (by IK, or
                   * by a join just redeemed); what it may send is the state's */
  cairn_noise_handshake hs;
  int hs_started;
  cairn_noise_cipher tx, rx;
  uint8_t *in;
  size_t in_len, in_cap;
  cairn_transport_reader reader;
  uint8_t peer[CAIRN_KEY_BYTES];
  int peer_known;
  cairn_scope peer_scope;
  char peer_role[16];
  cairn_vv_item *peer_vv; /* what the peer holds, as far as we know */
  size_t peer_vv_n;
  /* downstream: authors whose chains the peer needs or not (author_wanted) */
  struct wanted {
    uint8_t author[CAIRN_KEY_BYTES];
    int yes;
  } *wanted;
  size_t wanted_n;
  int reading; /* uv_read_start is active */
  int flushing; /* closing: the last message is being written (shutdown) */
  uv_shutdown_t shutdown;
  /* downstream, until authorized: counted against its address, and in
   * the queue of unauthenticated links (oldest first) */
  int unauth;
  uint32_t addr; /* IPv4, network order */
  link *uprev, *unext;
  /* the peer's clock minus the central's, as this node estimates it */
  int64_t peer_clock_ms;
  int peer_clock_known;
  int inflight, applying;
  /* entries of each unacknowledged batch, oldest first (ACKs come in
   * order), and their sum: sent, but not yet known to be held */
  size_t batch_entries[WINDOW];
  size_t batch_len[WINDOW];        /* and their bytes */
  /* the link's rate: bytes acknowledged since the busy period began */
  uint64_t busy_since, busy_bytes;
  /* its round trip, from a handshake message sent to the next bytes in
   * (0: not known); probe_at: when that message left (0: none out) */
  uint64_t rtt_ms, probe_at;
  uint64_t unacked;
  size_t batch_bytes; /* the byte limit of the next batch */
  /* OFFER: what this side last said it would send, less what it has sent
   * since; what the peer said, less what has arrived since; entries
   * received and not yet applied */
  uint64_t promised, offered, in_apply;
  int offer_sent, offer_known;
  uint64_t next_batch;
  uint64_t sent, received, refused;
  int64_t last_success; /* unix time of the last HELLO or ACK from the peer */
  int64_t seen_at;      /* downstream: HELLO time not yet written (0: none) */
  job *jobs;
  int handles; /* tcp + timer not yet closed */
  link *prev, *next;
};

struct cairn_links {
  cairn_links_opts o;
  uint8_t pk[CAIRN_KEY_BYTES];
  uint8_t x_priv[CAIRN_NOISE_KEY_BYTES];
  uint8_t network[CAIRN_SYNC_NETWORK_BYTES];
  int has_network;
  uv_tcp_t listener;
  int listening;
  uv_timer_t retry;
  uv_timer_t flush; /* writes the counts of rate-limited log lines */
  link *links;
  link *upstream;
  unsigned failures;
  int64_t last_success;
  char up_error[300];
  int up_error_code;   /* the close code the upstream gave, or 0 */
  char up_notice[300]; /* what the upstream said of our entries (clock ahead) */
  /* this node's clock: the central's minus ours, as learned at the last
   * handshake with the upstream (0 on the central) */
  int64_t central_offset_ms;
  int offset_known;
  /* downstream connections: how many, how many still unauthenticated (a
   * queue, oldest first), and per source address */
  size_t ndown, max_down, nunauth;
  link *unauth_head, *unauth_tail;
  struct addr_count {
    uint32_t addr; /* 0: empty slot */
    uint32_t n;
  } *addrs;
  size_t addrs_cap, addrs_used;
  cairn_log_limit limits[REFUSAL_CLASSES + 1]; /* + 1: other downstream failures */
  uint64_t up_sent, up_received, up_refused;
  /* This store's version vector as of the latest commit, shared by every
   * link (own_vv); NULL until read, dropped by cairn_links_notify and by
   * on_link_job_done. */
  cairn_vv_item *vv;
  size_t vv_n;
  /* The central's seq in this store when the live links' device scopes
   * were last checked (cairn_links_notify). */
  uint64_t scopes_checked_at;
  /* The central's latest receipt for this device, verified, kept from its
   * arrival: `sync status` shows it before the writer has stored it. */
  uint64_t receipt_seen;
  uint64_t refusals[REFUSAL_CLASSES]; /* since start, every link, by class */
  /* batch sizes left by links that dropped mid-transfer, by peer (a ring) */
  struct pace {
    uint8_t peer[CAIRN_KEY_BYTES];
    size_t bytes; /* 0: empty slot */
  } paces[PACES];
  size_t pace_next;
  /* a join in progress */
  cairn_links_join_cb join_cb;
  void *join_arg;
  cairn_sync_token token;
  char join_upstream[128];
  int switch_to_hub;  /* joined through the central; move to join_upstream */
  int reconnect_now;  /* the next upstream connection starts at once */
  /* closing */
  int closing;
  size_t open_handles;
  void (*close_cb)(void *);
  void *close_arg;
};

static void link_set_state(link *l, link_state next);
static void link_fail(link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void link_refuse(link *l, refusal why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void link_close(link *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void link_fail_limited(link *l, int limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void link_tell(link *l, int code, const char *text);
static void peer_label(const link *l, char out[80]);
static void link_pump(link *l);
static void link_read_resume(link *l);
static uint64_t lacking(const cairn_vv_item *have, size_t n, link *l);
static int64_t to_receive(const link *l);
static void maybe_switch_upstream(link *l);
static int start_listener(cairn_links *m, char *why, size_t whylen);
static void schedule_retry(cairn_links *m);
static void connect_upstream(cairn_links *m);
static void unauth_drop(link *l);
static void on_write(uv_write_t *req, int status);

static int64_t now_unix(void) { return (int64_t)time(NULL); }

static void hex(const uint8_t *p, size_t n, char *out) { sodium_bin2hex(out, 2 * n + 1, p, n); }

static int unhex(const char *s, uint8_t *out, size_t n) {
  size_t got;
  return s[0] && sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) == 0 && got == n ? 0
                                                                                        : -1;
}

/* ---- the manager's handles and closing ---- */

static void maybe_closed(cairn_links *m) {
  if (m->closing && m->open_handles == 0) {
    void (*cb)(void *) = m->close_cb;
    void *arg = m->close_arg;
    sodium_memzero(m->x_priv, sizeof m->x_priv);
    free(m->vv);
    free(m->addrs);
    free(m);
    if (cb)
      cb(arg);
  }
}

static void on_mgr_handle_close(uv_handle_t *h) {
  cairn_links *m = h->data;
  m->open_handles--;
  maybe_closed(m);
}

/* ---- this store's version vector ---- */

/* Reads this store's version vector into m->vv unless it holds the
 * current one. Returns 0, or a negative code (m->vv stays NULL). */
static int own_vv(cairn_links *m) {
  int rc;

  if (m->vv != NULL)
    return 0;
  if ((rc = cairn_store_version_vector(m->o.store, &m->vv, &m->vv_n)) != 0)
    m->vv = NULL;
  return rc;
}

/* Something was committed: the next own_vv reads again. */
static void own_vv_drop(cairn_links *m) {
  free(m->vv);
  m->vv = NULL;
}

/* ---- sending ---- */

static void on_write(uv_write_t *req, int status) {
  link *l = req->data;
  free(req);
  if (status < 0 && l->state != LINK_CLOSING)
    link_fail(l, "write: %s", uv_strerror(status));
  else if (l->state == LINK_SYNCING || l->state == LINK_IDLE)
    link_pump(l); /* room on the socket again */
}

/* Sends bytes (copied). Returns 0, or fails the link. */
static int send_raw(link *l, const uint8_t *p, size_t n) {
  uv_write_t *req = malloc(sizeof *req + n);
  uv_buf_t b;

  if (req == NULL) {
    link_fail(l, "out of memory");
    return CAIRN_ENOMEM;
  }
  memcpy(req + 1, p, n);
  req->data = l;
  b = uv_buf_init((char *)(req + 1), (unsigned)n);
  if (uv_write(req, (uv_stream_t *)&l->tcp, &b, 1, on_write) != 0) {
    free(req);
    link_fail(l, "write failed");
    return CAIRN_EIO;
  }
  return 0;
}

/* Encrypts one sync message (sb) and sends it. */
static int send_msg(link *l, msgpack_sbuffer *sb) {
  msgpack_sbuffer wire;
  int rc;

  msgpack_sbuffer_init(&wire);
  rc = cairn_transport_seal(&l->tx, (const uint8_t *)sb->data, sb->size, &wire);
  if (rc == 0)
    rc = send_raw(l, (const uint8_t *)wire.data, wire.size);
  else
    link_fail(l, "cannot encrypt: %s", cairn_strerror(rc));
  msgpack_sbuffer_destroy(&wire);
  return rc;
}

/* ---- what the peer holds ---- */

static uint64_t peer_has(const link *l, const uint8_t *author) {
  for (size_t i = 0; i < l->peer_vv_n; i++)
    if (memcmp(l->peer_vv[i].author, author, CAIRN_KEY_BYTES) == 0)
      return l->peer_vv[i].seq;
  return 0;
}

/* Whether the peer needs author's chain at all. A downstream peer does
 * not when the author is an enrolled device whose scope does not overlap
 * the peer's: every entry of it would reach the peer redacted, and the
 * peer verifies only the chains it holds. Otherwise (the central, a hub or
 * classroom that overlaps, an unknown or revoked author) it does. Cached
 * per link; the cache is dropped when the peer's scope changes. */
static int author_wanted(link *l, const uint8_t *author) {
  struct wanted *grown;
  size_t lo = 0, hi = l->wanted_n;
  cairn_scope sc;
  int rc, yes;

  if (l->dir != LINK_DOWNSTREAM)
    return 1;
  /* sorted by author: every pump asks for every author the store holds */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(l->wanted[mid].author, author, CAIRN_KEY_BYTES);
    if (c == 0)
      return l->wanted[mid].yes;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  rc = cairn_store_device_scope(l->mgr->o.store, author, &sc, NULL);
  yes = rc != 0 || cairn_scope_overlaps(&sc, &l->peer_scope);
  if ((grown = realloc(l->wanted, (l->wanted_n + 1) * sizeof *grown)) != NULL) {
    l->wanted = grown;
    memmove(grown + lo + 1, grown + lo, (l->wanted_n - lo) * sizeof *grown);
    memcpy(grown[lo].author, author, CAIRN_KEY_BYTES);
    grown[lo].yes = yes;
    l->wanted_n++;
  }
  return yes;
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
static void pace_leave(link *l) {
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
    rc = send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (rc == 0) {
    l->promised = will;
    l->offer_sent = 1;
  }
  return rc;
}

/* Sends batches of what the peer lacks, within the window, after an OFFER
 * when what there is to send has changed. */
static void link_pump(link *l) {
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
    if (own_vv(m) != 0) {
      link_fail(l, "cannot read the version vector");
      return;
    }
    own = m->vv, n = m->vv_n;
    for (i = 0; i < n; i++)
      if (own[i].seq > peer_has(l, own[i].author) && author_wanted(l, own[i].author))
        break;
    if (i == n) {
      if (offer(l, 0) != 0)
        return;
      if (l->inflight == 0) {
        if (l->dir == LINK_UPSTREAM)
          m->failures = 0; /* caught up: a healthy link, backoff starts over */
        link_set_state(l, LINK_IDLE);
      }
      return;
    }
    if (!offered) {
      if (offer(l, lacking(own, n, l)) != 0)
        return;
      offered = 1;
    }
    msgpack_sbuffer_init(&entries);
    rc = cairn_store_read_scoped(m->o.store, own[i].author, peer_has(l, own[i].author) + 1,
                                 BATCH_ENTRIES, l->batch_bytes, send_scope(l), &entries,
                                 &count, &last);
    if (rc == 0 && count > 0) {
      msgpack_sbuffer_init(&msg);
      rc = cairn_sync_pack_entries(&msg, l->next_batch++, (const uint8_t *)entries.data,
                                   entries.size, count);
      if (rc == 0)
        rc = send_msg(l, &msg);
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
        link_set_state(l, LINK_SYNCING);
      }
    } else if (rc == 0) {
      rc = CAIRN_EINTERNAL;
    }
    msgpack_sbuffer_destroy(&entries);
    if (rc != 0) {
      if (l->state != LINK_CLOSING)
        link_fail(l, "cannot read the log: %s", cairn_strerror(rc));
      return;
    }
  }
}

static void send_hello(link *l) {
  cairn_links *m = l->mgr;
  msgpack_sbuffer sb;
  const cairn_config *c = m->o.config;

  if (own_vv(m) != 0) {
    link_fail(l, "cannot read the version vector");
    return;
  }
  uint64_t now = cairn_store_wall_ms(m->o.store);
  uint64_t central = c->role == CAIRN_ROLE_CENTRAL ? now
                     : m->offset_known           ? (uint64_t)((int64_t)now + m->central_offset_ms)
                                                 : 0;
  cairn_vv_item *vv;
  size_t n;
  if (cairn_store_vv_with_staged(m->o.store, m->vv, m->vv_n, &vv, &n) != 0) {
    link_fail(l, "cannot read the version vector");
    return;
  }
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_hello(&sb, cairn_config_role_name(c->role), m->pk, c->campus,
                            c->classroom, (const cairn_sync_vv *)vv, n, now,
                            central < (UINT64_C(1) << 48) ? central : 0) == 0)
    send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  free(vv);
}

/* ---- writer jobs ---- */

static job *job_new(link *l) {
  job *j = calloc(1, sizeof *j);
  if (j == NULL)
    return NULL;
  j->l = l;
  j->next = l->jobs;
  l->jobs = j;
  return j;
}

/* Unhooks j from its link (if it still has one) and frees it. */
static void job_free(job *j) {
  if (j->l != NULL) {
    job **p = &j->l->jobs;
    while (*p != j)
      p = &(*p)->next;
    *p = j->next;
  }
  free(j->bytes);
  free(j);
}

static int run_apply(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_apply_synced(s, j->bytes, j->len, &j->res);
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

static int run_peer_seen(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_peer_seen(s, j->device, j->when);
}

static int run_set_central(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_set_central(s, j->device);
}

static int run_set_offset(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_set_central_offset(s, j->offset);
}

static void on_job_done(cairn_write_req *req, void *arg) {
  (void)req;
  job_free(arg);
}

/* Every link job ends here. The writer calls the commit hook
 * (cairn_links_notify) only after the done callbacks, so a job that
 * committed drops the shared version vector first: its continuation
 * (receipts, HELLO, the switch to a hub) must see what it wrote. */
static void on_link_job_done(cairn_write_req *req, void *arg) {
  job *j = arg;

  if (req->job_rc == 0 && j->l != NULL)
    own_vv_drop(j->l->mgr);
  j->done(req, j);
}

static int submit(link *l, job *j, cairn_writer_job_fn fn, cairn_writer_done_cb done) {
  cairn_write_req *req = cairn_writer_job_new(fn, j);
  if (req == NULL) {
    job_free(j);
    link_fail(l, "out of memory");
    return CAIRN_ENOMEM;
  }
  j->done = done;
  cairn_writer_submit(l->mgr->o.writer, req, on_link_job_done, j);
  return 0;
}

/* Writes the pending last-seen time of a downstream link, if any. */
static void record_seen(link *l) {
  job *j;

  if (l->seen_at == 0 || (j = job_new(l)) == NULL)
    return;
  memcpy(j->device, l->peer, CAIRN_KEY_BYTES);
  j->when = l->seen_at;
  l->seen_at = 0;
  submit(l, j, run_peer_seen, on_job_done);
}

static void on_seen_timer(uv_timer_t *t) { record_seen(t->data); }

/* Sends the central's signed receipt: it holds author up to seq. */
static void send_receipt(link *l, const uint8_t *author, uint64_t seq) {
  uint8_t sig[CAIRN_SIG_BYTES];
  msgpack_sbuffer sb;

  cairn_store_receipt_sign(l->mgr->o.store, author, seq, sig);
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_receipt(&sb, author, seq, l->mgr->pk, sig) == 0)
    send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
}

/* The central answers each author whose head advanced with a receipt. */
static void send_receipts(link *l, const uint8_t *bytes, size_t len) {
  cairn_links *m = l->mgr;
  size_t off = 0;
  uint8_t last_author[CAIRN_KEY_BYTES] = {0};
  int have = 0;

  if (own_vv(m) != 0)
    return;
  while (off < len) {
    cairn_entry e;
    size_t used;
    if (cairn_entry_decode(bytes + off, len - off, &e, &used) != 0)
      break;
    off += used;
    if (have && memcmp(e.author, last_author, CAIRN_KEY_BYTES) == 0)
      continue;
    memcpy(last_author, e.author, CAIRN_KEY_BYTES);
    have = 1;
    for (size_t i = 0; i < m->vv_n; i++)
      if (memcmp(m->vv[i].author, e.author, CAIRN_KEY_BYTES) == 0)
        send_receipt(l, m->vv[i].author, m->vv[i].seq);
  }
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
  size_t quarantined = j->res.quarantined, refused = j->res.refused - quarantined;
  /* entries of this batch stored, refused, held or waiting for a signature
   * (applied also counts entries that waited since an earlier batch) */
  size_t done = j->res.applied - j->res.unstaged + j->res.refused + j->res.held + j->res.staged;
  size_t dup = n > done ? n - done : 0, clock = j->res.held + j->res.redated;
  char peer[80];

  peer_label(l, peer);
  if (refused > 0) {
    counts[REFUSED_ENTRY] += refused;
    cairn_log_limited(&m->limits[REFUSED_ENTRY], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries refused (counted as %s); the first "
                      "refusal: %s", peer, (unsigned long long)j->batch, refused,
                      refusal_names[REFUSED_ENTRY], j->res.reason);
  }
  if (quarantined > 0) {
    counts[REFUSED_QUARANTINE] += quarantined;
    cairn_log_limited(&m->limits[REFUSED_QUARANTINE], now, CAIRN_LOG_WARNING,
                      "sync: %s: batch %llu: %zu entries quarantined (counted as %s); the first "
                      "refusal: %s", peer, (unsigned long long)j->batch, quarantined,
                      refusal_names[REFUSED_QUARANTINE], j->res.reason);
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
                      refusal_names[REFUSED_CLOCK]);
  }
  if (dup > 0) {
    counts[REFUSED_HELD] += dup;
    cairn_log_limited(&m->limits[REFUSED_HELD], now, CAIRN_LOG_INFO,
                      "sync: %s: batch %llu: %zu entries already held, skipped (counted as %s)",
                      peer, (unsigned long long)j->batch, dup, refusal_names[REFUSED_HELD]);
  }
}

static void on_applied(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  msgpack_sbuffer sb;
  size_t off = 0, count = 0;

  if (l == NULL || l->state == LINK_CLOSING) {
    job_free(j);
    return;
  }
  l->applying--;
  l->in_apply -= j->count <= l->in_apply ? j->count : l->in_apply;
  if (req->job_rc != 0) {
    const char *why = j->res.reason[0] ? j->res.reason : cairn_strerror(req->job_rc);
    int r = batch_refusal(req->job_rc);
    if (r >= 0)
      link_refuse(l, (refusal)r, "batch %llu refused: %s", (unsigned long long)j->batch, why);
    else if (req->job_rc == CAIRN_ENOSPC) /* this node's own trouble, which the peer must hear */
      link_close(l, CAIRN_CLOSE_DISK_FULL,
                 "the %s's disk is full: batch %llu was not stored; it will be sent again",
                 cairn_config_role_name(l->mgr->o.config->role), (unsigned long long)j->batch);
    else
      link_close(l, CAIRN_CLOSE_FAILED, "batch %llu not applied: %s",
                 (unsigned long long)j->batch, why);
    job_free(j);
    return;
  }
  l->received += j->res.applied;
  l->refused += j->res.refused;
  /* The peer holds what it sent: never send it back. */
  while (off < j->len) {
    cairn_entry e;
    size_t used;
    if (cairn_entry_decode(j->bytes + off, j->len - off, &e, &used) != 0)
      break;
    peer_set(l, e.author, e.seq);
    off += used;
    count++;
  }
  if (count != j->count) {
    link_refuse(l, REFUSED_MALFORMED, "batch %llu holds %zu entries, not %llu as it says",
                (unsigned long long)j->batch, count, (unsigned long long)j->count);
    job_free(j);
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
    send_msg(l, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (l->state != LINK_CLOSING && l->mgr->o.config->role == CAIRN_ROLE_CENTRAL &&
      j->res.applied > 0)
    send_receipts(l, j->bytes, j->len);
  job_free(j);
  link_read_resume(l);
  maybe_switch_upstream(l);
}

static void on_receipt_stored(cairn_write_req *req, void *arg) {
  job *j = arg;
  if (j->l != NULL && req->job_rc != 0)
    cairn_log_warn("sync: receipt for seq %llu not stored: %s", (unsigned long long)j->msg.seq,
                   cairn_strerror(req->job_rc));
  job_free(j);
}

static void on_redeemed(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  msgpack_sbuffer sb;
  char peer[65];

  if (l == NULL || l->state == LINK_CLOSING) {
    job_free(j);
    return;
  }
  hex(l->peer, CAIRN_KEY_BYTES, peer);
  msgpack_sbuffer_init(&sb);
  if (req->job_rc == 0) {
    l->authorized = 1;
    unauth_drop(l);
    uv_timer_stop(&l->timer);
    link_set_state(l, LINK_HELLO);
    l->peer_scope = j->scope;
    snprintf(l->peer_role, sizeof l->peer_role, "%s", j->role);
    cairn_log_info("sync: device %.8s joined as %s of campus '%s'", peer, j->role,
                   j->scope.campus);
    cairn_sync_pack_welcome(&sb, 0, j->scope.campus, j->scope.classroom, "");
    if (send_msg(l, &sb) == 0)
      send_hello(l); /* the joined link goes on as a sync link: HELLO first */
  } else {
    l->mgr->refusals[REFUSED_JOIN]++;
    cairn_log_warn("sync: join of device %.8s refused: %s (counted as %s)", peer,
                   j->why[0] ? j->why : cairn_strerror(req->job_rc), refusal_names[REFUSED_JOIN]);
    cairn_sync_pack_welcome(&sb, req->job_rc, "", "", j->why[0] ? j->why : cairn_strerror(req->job_rc));
    send_msg(l, &sb);
    link_set_state(l, LINK_CLOSING);
  }
  msgpack_sbuffer_destroy(&sb);
  job_free(j);
}

/* ---- handshake ---- */

/* The first handshake payload each side sends: its Ed25519 key, which
 * must convert to the Noise static key the other side saw. */
static int peer_key_matches(link *l, const uint8_t *ed) {
  uint8_t x[CAIRN_NOISE_KEY_BYTES];
  const uint8_t *rs = cairn_noise_remote_static(&l->hs);

  if (rs == NULL || crypto_sign_ed25519_pk_to_curve25519(x, ed) != 0 ||
      sodium_memcmp(x, rs, sizeof x) != 0)
    return 0;
  memcpy(l->peer, ed, CAIRN_KEY_BYTES);
  l->peer_known = 1;
  return 1;
}

static int hs_init(link *l, cairn_noise_pattern pattern, int initiator, const uint8_t *remote_ed) {
  cairn_links *m = l->mgr;
  uint8_t prologue[sizeof PROLOGUE - 1 + CAIRN_SYNC_NETWORK_BYTES];
  uint8_t rs[CAIRN_NOISE_KEY_BYTES];

  memcpy(prologue, PROLOGUE, sizeof PROLOGUE - 1);
  memcpy(prologue + sizeof PROLOGUE - 1, l->joining ? m->token.network : m->network,
         CAIRN_SYNC_NETWORK_BYTES);
  if (remote_ed != NULL && crypto_sign_ed25519_pk_to_curve25519(rs, remote_ed) != 0)
    return CAIRN_EINVAL;
  l->hs_started = 1;
  return cairn_noise_handshake_init(&l->hs, pattern, initiator, prologue, sizeof prologue,
                                    m->x_priv, remote_ed != NULL ? rs : NULL);
}

/* Writes the next handshake message with payload; the first message of
 * an initiator is preceded by the pattern byte. */
static int hs_send(link *l, const uint8_t *payload, size_t plen, int pattern_byte) {
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG];
  size_t n;
  msgpack_sbuffer wire;
  int rc, off = pattern_byte ? 1 : 0;

  msg[0] = (uint8_t)pattern_byte;
  rc = cairn_noise_write_message(&l->hs, payload, plen, msg + off, sizeof msg - off, &n);
  if (rc != 0)
    return rc;
  msgpack_sbuffer_init(&wire);
  rc = cairn_transport_put_record(&wire, msg, n + off);
  if (rc == 0)
    rc = send_raw(l, (const uint8_t *)wire.data, wire.size);
  msgpack_sbuffer_destroy(&wire);
  l->probe_at = uv_now(l->mgr->o.loop); /* the peer answers it at once */
  return rc;
}

static void hs_finish(link *l) {
  if (cairn_noise_split(&l->hs, &l->tx, &l->rx) != 0) { /* this side's own send, recv */
    link_fail(l, "handshake did not complete");
    return;
  }
  /* The message buffers exist only for links past the handshake. */
  if (cairn_transport_reader_init(&l->reader, CAIRN_SYNC_MSG_MAX) != 0) {
    link_fail(l, "out of memory");
    return;
  }
  cairn_noise_handshake_clear(&l->hs);
  /* A joining device still owes its JOIN: the deadline stands until then. */
  if (l->dir == LINK_UPSTREAM || l->authorized)
    uv_timer_stop(&l->timer);
  if (l->joining) {
    msgpack_sbuffer sb;
    cairn_links *m = l->mgr;
    link_set_state(l, LINK_JOINING);
    msgpack_sbuffer_init(&sb);
    if (cairn_sync_pack_join(&sb, m->token.secret, m->pk, cairn_config_role_name(m->o.config->role),
                             m->o.config->name) == 0)
      send_msg(l, &sb);
    msgpack_sbuffer_destroy(&sb);
  } else if (l->dir == LINK_UPSTREAM || l->authorized) {
    link_set_state(l, LINK_HELLO);
    send_hello(l);
  } else {
    link_set_state(l, LINK_JOIN_WAIT);
  }
}

/* Responder: decides whether an IK initiator may sync here. */
static int authorize(link *l, char *why, size_t whylen) {
  char role[16] = "";
  int rc = cairn_store_device_scope(l->mgr->o.store, l->peer, &l->peer_scope, role);

  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "this device is not enrolled here");
  else if (rc == CAIRN_EPERM)
    snprintf(why, whylen, "this device has been revoked");
  else if (rc != 0)
    snprintf(why, whylen, "cannot check enrollment: %s", cairn_strerror(rc));
  snprintf(l->peer_role, sizeof l->peer_role, "%s", role);
  return rc;
}

/* The first payload each side sends: its Ed25519 key then the sync
 * protocol version (an older cairn sends the key alone). Returns 0, or a
 * close code with why filled. */
static int hs_peer_hello(link *l, const uint8_t *payload, size_t plen, char *why, size_t whylen) {
  if (plen == CAIRN_KEY_BYTES) {
    snprintf(why, whylen, "the other side runs an older cairn (sync version 1): upgrade it; "
                          "what it holds is kept");
    return CAIRN_CLOSE_VERSION;
  }
  if (plen != CAIRN_KEY_BYTES + 1 || !peer_key_matches(l, payload)) {
    snprintf(why, whylen, "handshake payload does not match the static key");
    return CAIRN_CLOSE_WRONG_NETWORK;
  }
  if (payload[CAIRN_KEY_BYTES] != CAIRN_SYNC_VERSION) {
    snprintf(why, whylen, "the other side runs sync version %u, this one %u: upgrade the older",
             payload[CAIRN_KEY_BYTES], CAIRN_SYNC_VERSION);
    return CAIRN_CLOSE_VERSION;
  }
  return 0;
}

/* Our first payload: key || version. */
static void hs_my_hello(const cairn_links *m, uint8_t out[CAIRN_KEY_BYTES + 1]) {
  memcpy(out, m->pk, CAIRN_KEY_BYTES);
  out[CAIRN_KEY_BYTES] = CAIRN_SYNC_VERSION;
}

/* The upstream refused this node: keeps its code and words for `sync
 * status`; a busy upstream is tried again soon. */
static void refused_by_upstream(link *l, int code, const char *how, const char *text) {
  cairn_links *m = l->mgr;
  link_fail(l, "the upstream %s: %s%s%s", how, cairn_sync_close_what(code), text[0] ? ": " : "",
            text);
  m->up_error_code = code;
  if (code == CAIRN_CLOSE_BUSY && m->failures > 0)
    m->failures--; /* schedule_retry counted this one: keep retrying within seconds */
}

/* One handshake record. */
static void hs_record(link *l, const uint8_t *body, size_t len) {
  uint8_t payload[CAIRN_NOISE_MAX_MSG];
  char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1];
  size_t plen = 0;
  int rc, code;

  if (l->dir == LINK_UPSTREAM && cairn_sync_parse_refusal(body, len, &code, text)) {
    refused_by_upstream(l, code, "refused the connection (it says, unauthenticated)", text);
    return;
  }
  if (l->dir == LINK_DOWNSTREAM && !l->hs_started) {
    if (len < 1 || (body[0] != PATTERN_IK && body[0] != PATTERN_XX)) {
      link_refuse(l, REFUSED_MALFORMED, "not a cairn sync handshake");
      return;
    }
    if (hs_init(l, body[0] == PATTERN_IK ? CAIRN_NOISE_IK : CAIRN_NOISE_XX, 0, NULL) != 0) {
      link_fail(l, "cannot start a handshake");
      return;
    }
    body++;
    len--;
  }
  rc = cairn_noise_read_message(&l->hs, body, len, payload, sizeof payload, &plen);
  if (rc != 0) {
    link_refuse(l, REFUSED_HANDSHAKE, "handshake failed (%s): wrong network or key",
                cairn_strerror(rc));
    return;
  }
  if (l->dir == LINK_DOWNSTREAM) {
    uint8_t mine[CAIRN_KEY_BYTES + 1];
    char why[160] = "";
    hs_my_hello(l->mgr, mine);
    if (l->hs.pattern == CAIRN_NOISE_IK) {
      /* -> e, es, s, ss with the initiator's key: answer, with a verdict */
      uint8_t reply[CAIRN_KEY_BYTES + 1 + sizeof why];
      size_t rlen = CAIRN_KEY_BYTES + 1;
      code = hs_peer_hello(l, payload, plen, why, sizeof why);
      if (code == 0 && (rc = authorize(l, why, sizeof why)) != 0)
        code = rc == CAIRN_EPERM      ? CAIRN_CLOSE_REVOKED
               : rc == CAIRN_ENOTFOUND ? CAIRN_CLOSE_NOT_ENROLLED
                                      : CAIRN_CLOSE_FAILED;
      if (code != 0) { /* counted and logged before the answer, which may fail */
        char peer[65] = "unknown";
        if (l->peer_known)
          hex(l->peer, CAIRN_KEY_BYTES, peer);
        l->mgr->refusals[REFUSED_HANDSHAKE]++;
        cairn_log_limited(&l->mgr->limits[REFUSED_HANDSHAKE], uv_now(l->mgr->o.loop),
                          CAIRN_LOG_WARNING,
                          "sync: refused device %.8s at the handshake: %s (counted as %s)", peer,
                          why, refusal_names[REFUSED_HANDSHAKE]);
      }
      memcpy(reply, l->mgr->pk, CAIRN_KEY_BYTES);
      reply[CAIRN_KEY_BYTES] = (uint8_t)code;
      if (code != 0) {
        memcpy(reply + rlen, why, strlen(why));
        rlen += strlen(why);
      }
      if (hs_send(l, reply, rlen, 0) != 0)
        return;
      if (code != 0) {
        l->flushing = 1;
        link_set_state(l, LINK_CLOSING);
        return;
      }
      l->authorized = 1;
      unauth_drop(l);
      hs_finish(l);
    } else if (!cairn_noise_handshake_done(&l->hs) && plen == 0) {
      /* XX -> e: answer with our key and version */
      hs_send(l, mine, sizeof mine, 0);
    } else {
      /* XX -> s, se: a joining device; it must send JOIN next */
      if ((code = hs_peer_hello(l, payload, plen, why, sizeof why)) != 0) {
        l->mgr->refusals[REFUSED_HANDSHAKE]++;
        link_close(l, code, "%s (counted as %s)", why, refusal_names[REFUSED_HANDSHAKE]);
        return;
      }
      hs_finish(l);
    }
    return;
  }
  /* Upstream (initiator). */
  if (l->hs.pattern == CAIRN_NOISE_IK) {
    /* <- e, ee, se: the responder's key and its verdict */
    if (plen < CAIRN_KEY_BYTES + 1 || !peer_key_matches(l, payload)) {
      link_refuse(l, REFUSED_HANDSHAKE, "upstream's handshake payload does not match its key");
      return;
    }
    if (payload[CAIRN_KEY_BYTES] != STATUS_OK) {
      size_t n = plen - CAIRN_KEY_BYTES - 1;
      if (n > CAIRN_SYNC_CLOSE_TEXT_MAX)
        n = CAIRN_SYNC_CLOSE_TEXT_MAX;
      cairn_text_printable(text, (const char *)payload + CAIRN_KEY_BYTES + 1, n);
      refused_by_upstream(l, payload[CAIRN_KEY_BYTES], "refused this device", text);
      return;
    }
    hs_finish(l);
  } else {
    /* XX <- e, ee, s, es: must be the central named in the token */
    char why[160];
    uint8_t mine[CAIRN_KEY_BYTES + 1];
    if ((code = hs_peer_hello(l, payload, plen, why, sizeof why)) != 0) {
      l->mgr->refusals[REFUSED_HANDSHAKE]++;
      link_close(l, code, "the central: %s (counted as %s)", why,
                 refusal_names[REFUSED_HANDSHAKE]);
      return;
    }
    if (sodium_memcmp(l->peer, l->mgr->token.central, CAIRN_KEY_BYTES) != 0) {
      link_refuse(l, REFUSED_HANDSHAKE, "the central's key does not match the token");
      return;
    }
    hs_my_hello(l->mgr, mine);
    if (hs_send(l, mine, sizeof mine, 0) == 0)
      hs_finish(l);
  }
}

/* ---- sync messages ---- */

static void join_done(cairn_links *m, int rc, const char *message) {
  cairn_links_join_cb cb = m->join_cb;
  m->join_cb = NULL;
  if (cb)
    cb(m->join_arg, rc, message);
}

/* The central's key is stored (by the writer, like every store write):
 * record the join in cairn.conf and answer `cairn join`. */
static void on_central_pinned(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  cairn_links *m;
  cairn_config *c;
  char message[600];
  int rc = req->job_rc;

  if (l == NULL) { /* the link closed first; link_set_state answered */
    job_free(j);
    return;
  }
  m = l->mgr;
  c = m->o.config;
  l->welcoming = 0;
  if (rc == 0)
    rc = cairn_config_save(m->o.config_path, c);
  if (rc != 0) {
    snprintf(message, sizeof message, "joined, but could not record it: %s", cairn_strerror(rc));
    join_done(m, rc, message);
    job_free(j);
    link_fail(l, "%s", message);
    return;
  }
  if (c->listen[0] != '\0') {
    char why[200];
    if (start_listener(m, why, sizeof why) != 0)
      cairn_log_err("sync: %s", why);
  }
  snprintf(message, sizeof message, "joined campus '%s'%s%s%s%s", c->campus,
           c->classroom[0] ? ", classroom " : "", c->classroom,
           m->switch_to_hub ? "; will sync through the hub at " : "",
           m->switch_to_hub ? m->join_upstream : "");
  cairn_log_info("sync: %s", message);
  join_done(m, 0, message);
  job_free(j);
}

/* A WELCOME answered our JOIN: take the scope and network, have the writer
 * pin the central's key (the join is answered once that is durable), and
 * carry on syncing on this same link. Entries the central sends meanwhile
 * queue behind that job, so they are checked against the pinned key. */
static void on_welcome(link *l, const cairn_sync_msg *w) {
  cairn_links *m = l->mgr;
  cairn_config *c = m->o.config;
  char message[600];
  job *j;

  l->joining = 0;
  if (w->welcome_code != 0) {
    snprintf(message, sizeof message, "the central refused the join: %s", w->reason);
    join_done(m, w->welcome_code, message);
    link_set_state(l, LINK_CLOSING);
    return;
  }
  snprintf(c->campus, sizeof c->campus, "%s", w->campus);
  snprintf(c->classroom, sizeof c->classroom, "%s", w->classroom);
  snprintf(c->upstream, sizeof c->upstream, "%.*s", (int)sizeof c->upstream - 1,
           m->token.address);
  hex(m->token.network, CAIRN_SYNC_NETWORK_BYTES, c->network);
  hex(m->token.central, CAIRN_KEY_BYTES, c->upstream_key);
  memcpy(m->network, m->token.network, sizeof m->network);
  m->has_network = 1;
  m->switch_to_hub = m->join_upstream[0] != '\0';
  if ((j = job_new(l)) == NULL) {
    join_done(m, CAIRN_ENOMEM, "out of memory");
    link_fail(l, "out of memory");
    return;
  }
  memcpy(j->device, m->token.central, CAIRN_KEY_BYTES);
  l->welcoming = 1;
  link_set_state(l, LINK_HELLO);
  if (submit(l, j, run_set_central, on_central_pinned) == 0)
    send_hello(l);
}

/* Finds the one enrolled, unrevoked hub of campus in the device records
 * (central-signed, received while joining). Returns 0 and its key's hex. */
static int find_hub(cairn_links *m, const char *campus, char key[65]) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0, found = 0;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_unpacked_init(&u);
  if (cairn_store_devices(m->o.store, &pk) == 0 &&
      msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
      const msgpack_object *d = &u.data.via.array.ptr[i];
      const msgpack_object *id = cairn_record_map_get(d, "id");
      const msgpack_object *role = cairn_record_map_get(d, "role");
      const msgpack_object *c = cairn_record_map_get(d, "campus");
      const msgpack_object *revoked = cairn_record_map_get(d, "revoked");
      if (id == NULL || role == NULL || c == NULL || id->type != MSGPACK_OBJECT_STR ||
          id->via.str.size != 64 || role->type != MSGPACK_OBJECT_STR || c->type != MSGPACK_OBJECT_STR ||
          role->via.str.size != 3 || memcmp(role->via.str.ptr, "hub", 3) != 0 ||
          c->via.str.size != strlen(campus) || memcmp(c->via.str.ptr, campus, c->via.str.size) != 0 ||
          (revoked != NULL && revoked->type == MSGPACK_OBJECT_BOOLEAN && revoked->via.boolean))
        continue;
      memcpy(key, id->via.str.ptr, 64);
      key[64] = '\0';
      found++;
    }
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  return found == 1 ? 0 : CAIRN_ENOTFOUND;
}

/* After a join through the central with --upstream: once this node holds
 * everything the central sent, pin the campus hub and move to it. */
static void maybe_switch_upstream(link *l) {
  cairn_links *m = l->mgr;
  cairn_config *c = m->o.config;
  char key[65];

  if (!m->switch_to_hub || l != m->upstream || !in_session(l->state) || to_receive(l) != 0)
    return;
  m->switch_to_hub = 0;
  if (find_hub(m, c->campus, key) != 0) {
    cairn_log_warn("sync: no single enrolled hub for campus '%s' yet; staying with the central",
                   c->campus);
    return;
  }
  snprintf(c->upstream, sizeof c->upstream, "%s", m->join_upstream);
  memcpy(c->upstream_key, key, sizeof c->upstream_key);
  if (cairn_config_save(m->o.config_path, c) != 0)
    cairn_log_warn("sync: could not record the hub in cairn.conf");
  cairn_log_info("sync: moving upstream to the hub %.8s at %s", key, c->upstream);
  m->reconnect_now = 1;
  link_tell(l, CAIRN_CLOSE_MOVED, "moving to the campus hub");
  link_set_state(l, LINK_CLOSING);
}

/* A hub passes the central's receipt on to the device it is about: the
 * central's signature, not the hub, vouches for it. */
static void relay_receipt(cairn_links *m, const cairn_sync_msg *r) {
  for (link *d = m->links; d != NULL; d = d->next) {
    msgpack_sbuffer sb;
    if (d->dir != LINK_DOWNSTREAM || !in_session(d->state) || !d->peer_known ||
        memcmp(d->peer, r->author, CAIRN_KEY_BYTES) != 0)
      continue;
    msgpack_sbuffer_init(&sb);
    if (cairn_sync_pack_receipt(&sb, r->author, r->seq, r->central, r->sig) == 0)
      send_msg(d, &sb);
    msgpack_sbuffer_destroy(&sb);
  }
}

/* ---- clocks (FORMAT.md section 1.1) ---- */

static int64_t tolerance_ms(const cairn_links *m) {
  return m->o.config->clock_tolerance_s * 1000;
}

/* The central's clock as this node estimates it, unix ms. */
static int64_t central_now(const cairn_links *m) {
  int64_t now = (int64_t)cairn_store_wall_ms(m->o.store);
  return m->o.config->role == CAIRN_ROLE_CENTRAL || !m->offset_known ? now
                                                                     : now + m->central_offset_ms;
}

/* "3 years ahead of", "5 minutes behind": how a clock stands to another. */
static void clock_words(int64_t diff_ms, char *out, size_t outlen) {
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
    if ((j = job_new(l)) != NULL) {
      j->offset = offset;
      submit(l, j, run_set_offset, on_job_done);
    }
  }
  if (llabs(offset) > tolerance_ms(m)) {
    char words[64];
    clock_words(-offset, words, sizeof words);
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
  if (llabs(l->peer_clock_ms) > tolerance_ms(l->mgr)) {
    char words[64], peer[80];
    clock_words(l->peer_clock_ms, words, sizeof words);
    peer_label(l, peer);
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
    link_fail(l, "out of memory");
    return;
  }
  for (size_t i = 0; i < msg->vv_n; i++) {
    memcpy(l->peer_vv[i].author, msg->vv[i].author, CAIRN_KEY_BYTES);
    l->peer_vv[i].seq = msg->vv[i].seq;
  }
  l->peer_vv_n = msg->vv_n;
  l->last_success = now_unix();
  l->batch_bytes = l->peer_known ? pace_start(m, l->peer) : BATCH_START_BYTES;
  if (l->dir == LINK_UPSTREAM) {
    m->last_success = now_unix();
    m->up_error[0] = '\0';
    m->up_error_code = 0;
    learn_clock(l, msg);
  } else { /* when it was last seen: written by the writer a little later */
    note_peer_clock(l, msg);
    l->seen_at = now_unix();
    uv_timer_start(&l->timer, on_seen_timer, SEEN_DELAY_MS, 0);
    /* what the central already holds of the device's own log (a bundle
     * import, or a receipt lost in a drop) is acknowledged at once */
    if (m->o.config->role == CAIRN_ROLE_CENTRAL && own_vv(m) == 0)
      for (size_t k = 0; k < m->vv_n; k++)
        if (memcmp(m->vv[k].author, l->peer, CAIRN_KEY_BYTES) == 0 && m->vv[k].seq > 0)
          send_receipt(l, l->peer, m->vv[k].seq);
  }
  link_set_state(l, LINK_SYNCING);
  link_pump(l);
  maybe_switch_upstream(l);
}

static void on_entries(link *l, const cairn_sync_msg *msg) {
  job *j;

  if ((j = job_new(l)) == NULL || (j->bytes = malloc(msg->entries_len ? msg->entries_len : 1)) == NULL) {
    if (j)
      job_free(j);
    link_fail(l, "out of memory");
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
  submit(l, j, run_apply, on_applied);
}

static void on_ack(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;

  if (l->inflight == 0) {
    link_refuse(l, REFUSED_OUT_OF_TURN, "ACK for nothing");
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
    peer_label(l, peer);
    l->refused += msg->refused;
    if (msg->refused > 0)
      cairn_log_limited(&m->limits[REFUSAL_CLASSES], uv_now(m->o.loop), CAIRN_LOG_WARNING,
                        "sync: %s refused %llu entries: %s", peer,
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
  link_pump(l);
}

static void on_offer(link *l, const cairn_sync_msg *msg) {
  l->offered = msg->offered;
  l->offer_known = 1;
  maybe_switch_upstream(l);
}

static void on_close_msg(link *l, const cairn_sync_msg *msg) {
  char text[sizeof msg->reason];
  cairn_text_printable(text, msg->reason, strlen(msg->reason));
  if (l->dir == LINK_UPSTREAM) {
    refused_by_upstream(l, msg->close_code, "closed the link", text);
  } else {
    char peer[80];
    peer_label(l, peer);
    link_fail_limited(l, REFUSAL_CLASSES, "%s closed the link: %s%s%s", peer,
                      cairn_sync_close_what(msg->close_code), text[0] ? ": " : "", text);
  }
}

static void on_receipt(link *l, const cairn_sync_msg *msg) {
  cairn_links *m = l->mgr;
  job *j;

  if ((j = job_new(l)) == NULL) {
    link_fail(l, "out of memory");
    return;
  }
  j->msg = *msg;
  j->msg.vv = NULL;
  if (memcmp(msg->author, m->pk, CAIRN_KEY_BYTES) == 0 && msg->seq > m->receipt_seen &&
      cairn_store_receipt_verify(m->o.store, msg->author, msg->seq, msg->central, msg->sig) == 0)
    m->receipt_seen = msg->seq;
  submit(l, j, run_receipt, on_receipt_stored);
  relay_receipt(m, msg);
}

static void on_join(link *l, const cairn_sync_msg *msg) {
  job *j;

  if (l->mgr->o.config->role != CAIRN_ROLE_CENTRAL ||
      sodium_memcmp(msg->device, l->peer, CAIRN_KEY_BYTES) != 0) {
    link_refuse(l, REFUSED_OUT_OF_TURN, "unexpected JOIN: %s",
                l->mgr->o.config->role != CAIRN_ROLE_CENTRAL ? "only the central redeems tokens"
                                                             : "for another device");
    return;
  }
  if ((j = job_new(l)) == NULL) {
    link_fail(l, "out of memory");
    return;
  }
  memcpy(j->secret, msg->secret, sizeof j->secret);
  memcpy(j->device, msg->device, sizeof j->device);
  snprintf(j->name, sizeof j->name, "%s", msg->name);
  link_set_state(l, LINK_REDEEMING);
  submit(l, j, run_redeem, on_redeemed);
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
    [CAIRN_SYNC_WELCOME] = {"WELCOME", IN(LINK_JOINING), FROM_UP, on_welcome},
    [CAIRN_SYNC_CLOSE] = {"CLOSE",
                          IN(LINK_JOIN_WAIT) | IN(LINK_REDEEMING) | IN(LINK_JOINING) |
                              IN(LINK_HELLO) | SESSION,
                          FROM_UP | FROM_DOWN, on_close_msg},
};

static void on_message(link *l, const uint8_t *p, size_t len) {
  cairn_sync_msg msg;
  int rc = cairn_sync_decode(p, len, &msg);

  if (rc != 0) {
    link_refuse(l, REFUSED_MALFORMED, "malformed sync message (%s)", cairn_strerror(rc));
    return;
  }
  const struct turn *t =
      (size_t)msg.type < sizeof turns / sizeof turns[0] ? &turns[msg.type] : NULL;
  if (t == NULL || t->fn == NULL)
    link_refuse(l, REFUSED_MALFORMED, "sync message of unknown type %d", (int)msg.type);
  else if (!(t->states & IN(l->state)) || !(t->from & (1u << l->dir)))
    link_refuse(l, REFUSED_OUT_OF_TURN, "%s out of turn: the link is %s%s", t->name,
                state_names[l->state], t->from & (1u << l->dir) ? "" : ", and from the wrong side");
  else
    t->fn(l, &msg);
  cairn_sync_msg_clear(&msg);
}

/* ---- reading ---- */

/* Read buffers grow to the record being received and are dropped when
 * idle, so an idle or half-open connection costs little memory. */
#define READ_CHUNK 4096

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
  link *l = (link *)h;
  size_t want = l->in_len + READ_CHUNK;

  (void)suggested;
  if (l->in_len >= CAIRN_TRANSPORT_HEADER) { /* room for the whole record */
    size_t rec = CAIRN_TRANSPORT_HEADER + ((size_t)l->in[0] << 8 | l->in[1]);
    if (rec > want)
      want = rec;
  }
  if (want > l->in_cap) {
    uint8_t *grown = realloc(l->in, want);
    if (grown == NULL) {
      *out = uv_buf_init(NULL, 0);
      return;
    }
    l->in = grown;
    l->in_cap = want;
  }
  *out = uv_buf_init((char *)l->in + l->in_len, (unsigned)(l->in_cap - l->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  link *l = (link *)stream;
  size_t off = 0;

  (void)buf;
  if (nread < 0) {
    const char *why = nread == UV_EOF ? "connection closed by peer" : uv_strerror((int)nread);
    if (l->dir == LINK_DOWNSTREAM && !l->authorized) { /* counted: a flood's half is this */
      l->mgr->refusals[REFUSED_ABANDONED]++;
      link_fail_limited(l, REFUSED_ABANDONED, "%s before the handshake was done (counted as %s)",
                        why, refusal_names[REFUSED_ABANDONED]);
    } else {
      link_fail(l, "%s", why);
    }
    return;
  }
  l->in_len += (size_t)nread;
  if (l->probe_at != 0 && nread > 0) {
    uint64_t rtt = uv_now(l->mgr->o.loop) - l->probe_at;
    if (l->rtt_ms == 0 || rtt < l->rtt_ms)
      l->rtt_ms = rtt > 0 ? rtt : 1;
    l->probe_at = 0;
  }
  while (l->state != LINK_CLOSING) {
    const uint8_t *body;
    size_t blen, used;
    int rc = cairn_transport_record(l->in + off, l->in_len - off, &body, &blen, &used);
    if (rc == CAIRN_EAGAIN)
      break;
    if (rc != 0) {
      link_refuse(l, REFUSED_MALFORMED, "malformed record");
      return;
    }
    off += used;
    if (l->state == LINK_HANDSHAKE) {
      hs_record(l, body, blen);
    } else {
      int complete;
      rc = cairn_transport_reader_open(&l->reader, &l->rx, body, blen, &complete);
      if (rc != 0) {
        if (rc == CAIRN_ENOMEM)
          link_fail(l, "out of memory");
        else
          link_refuse(l, REFUSED_MALFORMED, "cannot read an encrypted message (%s)",
                      cairn_strerror(rc));
        return;
      }
      if (complete)
        on_message(l, l->reader.msg, l->reader.len);
    }
  }
  if (l->state == LINK_CLOSING)
    return;
  memmove(l->in, l->in + off, l->in_len - off);
  l->in_len -= off;
  if (l->in_len == 0 && l->in_cap > READ_CHUNK) {
    free(l->in);
    l->in = NULL;
    l->in_cap = 0;
  }
}

static void link_read_resume(link *l) {
  if (l->state != LINK_CLOSING && !l->reading && l->applying < APPLY_MAX &&
      uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) == 0)
    l->reading = 1;
}

/* ---- life of a link ---- */

static void on_link_handle_close(uv_handle_t *h) {
  link *l = h->data;
  cairn_links *m = l->mgr;

  if (--l->handles > 0)
    return;
  free(l->in);
  free(l->peer_vv);
  free(l->wanted);
  cairn_transport_reader_free(&l->reader);
  free(l);
  m->open_handles--;
  maybe_closed(m);
}

/* Closes both handles of a closing link (once each). The socket's
 * descriptor is closed at once: from then on it no longer counts. */
static void link_close_handles(link *l) {
  if (!uv_is_closing((uv_handle_t *)&l->timer))
    uv_close((uv_handle_t *)&l->timer, on_link_handle_close);
  if (!uv_is_closing((uv_handle_t *)&l->tcp)) {
    uv_close((uv_handle_t *)&l->tcp, on_link_handle_close);
    if (l->dir == LINK_DOWNSTREAM)
      l->mgr->ndown--;
  }
}

static void on_flushed(uv_shutdown_t *req, int status) {
  (void)status;
  link_close_handles(req->data);
}

static void on_flush_timeout(uv_timer_t *t) { link_close_handles(t->data); }

static void on_handshake_timeout(uv_timer_t *t) {
  link *l = t->data;
  if (l->dir == LINK_DOWNSTREAM)
    link_refuse(l, REFUSED_TIMEOUT, "handshake timed out");
  else /* our own attempt: the network, or an upstream that is down */
    link_fail(l, "handshake timed out");
}

/* The one function that moves a link between states. */
static void link_set_state(link *l, link_state next) {
  cairn_links *m = l->mgr;

  if (l->state == LINK_CLOSING || l->state == next)
    return;
  if (next == LINK_CLOSING)
    pace_leave(l); /* while the state still says whether it synced */
  l->state = next;
  if (next != LINK_CLOSING)
    return;
  record_seen(l); /* a short-lived link is seen all the same */
  /* Closing: detach jobs, unhook, close both handles. */
  for (job *j = l->jobs; j != NULL; j = j->next)
    j->l = NULL;
  l->jobs = NULL;
  if (l->prev)
    l->prev->next = l->next;
  else
    m->links = l->next;
  if (l->next)
    l->next->prev = l->prev;
  if (m->upstream == l) {
    m->upstream = NULL;
    m->up_sent += l->sent;
    m->up_received += l->received;
    if (l->joining || l->welcoming)
      join_done(m, CAIRN_ECLOSED, m->up_error[0] ? m->up_error : "the join did not complete");
    else if (!m->closing)
      schedule_retry(m);
  }
  unauth_drop(l);
  cairn_noise_handshake_clear(&l->hs);
  cairn_noise_cipher_clear(&l->tx);
  cairn_noise_cipher_clear(&l->rx);
  if (l->reading) {
    uv_read_stop((uv_stream_t *)&l->tcp);
    l->reading = 0;
  }
  /* A last message to the peer leaves first, within a bound. */
  if (l->flushing && uv_shutdown(&l->shutdown, (uv_stream_t *)&l->tcp, on_flushed) == 0) {
    l->shutdown.data = l;
    uv_timer_start(&l->timer, on_flush_timeout, FLUSH_TIMEOUT_MS, 0);
    return;
  }
  link_close_handles(l);
}

/* Who a link's log lines are about: "upstream", or "downstream" and the
 * peer's key prefix ("unknown" before the handshake showed it). */
static void peer_label(const link *l, char out[80]) {
  char peer[65] = "unknown";
  if (l->dir == LINK_UPSTREAM) {
    snprintf(out, 80, "upstream");
    return;
  }
  if (l->peer_known)
    hex(l->peer, CAIRN_KEY_BYTES, peer);
  snprintf(out, 80, "downstream %.8s", peer);
}

/* The close code a refusal of class why tells the peer. */
static int refusal_code(refusal why) {
  switch (why) {
  case REFUSED_HANDSHAKE:
    return CAIRN_CLOSE_WRONG_NETWORK;
  case REFUSED_REVOKED:
    return CAIRN_CLOSE_REVOKED;
  case REFUSED_TIMEOUT:
    return CAIRN_CLOSE_TIMEOUT;
  case REFUSED_OUT_OF_TURN:
    return CAIRN_CLOSE_OUT_OF_TURN;
  case REFUSED_BATCH:
    return CAIRN_CLOSE_BAD_BATCH;
  case REFUSED_CONNECTION:
    return CAIRN_CLOSE_BUSY;
  default:
    return CAIRN_CLOSE_MALFORMED;
  }
}

/* Tells the peer why this link closes: a CLOSE message once the link is
 * encrypted, a plain refusal record while this responder is still in its
 * handshake (the initiator shows it as unauthenticated), else nothing.
 * Whatever was sent is flushed before the connection closes. */
static void link_tell(link *l, int code, const char *text) {
  msgpack_sbuffer sb, wire;
  int rc = CAIRN_EINVAL;

  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_init(&wire);
  if (past_handshake(l->state)) {
    if (cairn_sync_pack_close(&sb, code, text) == 0 &&
        cairn_transport_seal(&l->tx, (const uint8_t *)sb.data, sb.size, &wire) == 0)
      rc = 0;
  } else if (l->dir == LINK_DOWNSTREAM && l->state == LINK_HANDSHAKE) {
    if (cairn_sync_pack_refusal(&sb, code, text) == 0 &&
        cairn_transport_put_record(&wire, (const uint8_t *)sb.data, sb.size) == 0)
      rc = 0;
  }
  if (rc == 0) {
    uv_write_t *req = malloc(sizeof *req + wire.size);
    uv_buf_t b;
    if (req != NULL) {
      memcpy(req + 1, wire.data, wire.size);
      req->data = l;
      b = uv_buf_init((char *)(req + 1), (unsigned)wire.size);
      if (uv_write(req, (uv_stream_t *)&l->tcp, &b, 1, on_write) == 0)
        l->flushing = 1;
      else
        free(req);
    }
  }
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&wire);
}

/* link_tell for a connection closed over a limit: the refusal goes into
 * the socket's buffer now (a fresh connection's is empty) and the
 * descriptor is closed at once, without waiting on the peer: a flood must
 * not hold descriptors. */
static void link_tell_now(link *l, int code, const char *text) {
  link_tell(l, code, text);
  l->flushing = 0;
}

/* Logs why l closes (rate-limited when the peer is not an authenticated
 * link of ours: limit says which limit) and closes it. */
static void link_failv(link *l, int limit, const char *fmt, va_list ap) {
  cairn_links *m = l->mgr;
  char msg[300], peer[80];

  vsnprintf(msg, sizeof msg, fmt, ap);
  if (l->dir == LINK_UPSTREAM) {
    snprintf(m->up_error, sizeof m->up_error, "%.299s", msg);
    m->up_error_code = 0;
  }
  peer_label(l, peer);
  if (l->dir == LINK_DOWNSTREAM && !l->authorized)
    cairn_log_limited(&m->limits[limit], uv_now(m->o.loop), CAIRN_LOG_WARNING, "sync: %s: %s",
                      peer, msg);
  else
    cairn_log_warn("sync: %s: %s", peer, msg);
  link_set_state(l, LINK_CLOSING);
}

static void link_fail_limited(link *l, int limit, const char *fmt, ...) {
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  link_failv(l, limit, fmt, ap);
  va_end(ap);
}

/* Closes l over a failure of the network or of this node, telling the
 * peer nothing (it could not hear, or it is not its business). */
static void link_fail(link *l, const char *fmt, ...) {
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  link_failv(l, REFUSAL_CLASSES, fmt, ap);
  va_end(ap);
}

/* Closes l for a reason the peer needs to hear: tells it (code, and this
 * line), logs it, closes. */
static void link_close(link *l, int code, const char *fmt, ...) {
  char msg[300];
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  link_tell(l, code, msg);
  link_fail(l, "%s", msg);
}

/* Closes the link for what its peer did: counts one refusal of class why,
 * tells the peer, and logs the reason, naming the counter. */
static void link_refuse(link *l, refusal why, const char *fmt, ...) {
  char msg[240];
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  l->mgr->refusals[why]++;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  link_tell(l, refusal_code(why), msg);
  link_fail_limited(l, why, "%s (counted as %s)", msg, refusal_names[why]);
}

static link *link_new(cairn_links *m, link_dir dir) {
  link *l = calloc(1, sizeof *l);

  if (l == NULL)
    return NULL;
  l->mgr = m;
  l->dir = dir;
  uv_tcp_init(m->o.loop, &l->tcp);
  uv_timer_init(m->o.loop, &l->timer);
  l->tcp.data = l->timer.data = l;
  l->handles = 2;
  m->open_handles++;
  l->next = m->links;
  if (m->links)
    m->links->prev = l;
  m->links = l;
  if (dir == LINK_DOWNSTREAM)
    m->ndown++;
  uv_timer_start(&l->timer, on_handshake_timeout, HANDSHAKE_TIMEOUT_MS, 0);
  return l;
}

/* A partition that drops packets without a reset must still end the link:
 * keepalive probes after 15 s idle (every 5 s, 3 tries) and a 30 s limit
 * on unacknowledged data. */
static void tune_socket(link *l) {
  uv_os_fd_t fd;
  int intvl = 5, cnt = 3;
  unsigned user_timeout = 30000;

  uv_tcp_nodelay(&l->tcp, 1);
  uv_tcp_keepalive(&l->tcp, 1, 15);
  if (uv_fileno((uv_handle_t *)&l->tcp, &fd) == 0) {
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
  }
}

/* ---- downstream: the listener ---- */

/* A connection the listener could not take, or closed at once: counted,
 * and logged within the rate limit. */
static void refuse_connection(cairn_links *m, const char *why) {
  uint64_t n = ++m->refusals[REFUSED_CONNECTION];
  cairn_log_limited(&m->limits[REFUSED_CONNECTION], uv_now(m->o.loop), CAIRN_LOG_WARNING,
                    "sync: closed a connection at once: %s (counted as %s: %llu since start)",
                    why, refusal_names[REFUSED_CONNECTION], (unsigned long long)n);
}

/* ---- unauthenticated connections, per address ---- */

static size_t addr_hash(uint32_t addr, size_t cap) {
  return (size_t)((addr * 2654435761u) & (uint32_t)(cap - 1));
}

/* The count of unauthenticated connections from addr (non-zero), with a
 * new slot when create; NULL when there is none (or no memory). */
static struct addr_count *addr_find(cairn_links *m, uint32_t addr, int create) {
  if (m->addrs_cap == 0)
    return NULL;
  for (size_t i = addr_hash(addr, m->addrs_cap);; i = (i + 1) & (m->addrs_cap - 1)) {
    struct addr_count *c = &m->addrs[i];
    if (c->addr == addr)
      return c;
    if (c->addr == 0) {
      if (!create || 2 * (m->addrs_used + 1) > m->addrs_cap)
        return NULL;
      c->addr = addr;
      c->n = 0;
      m->addrs_used++;
      return c;
    }
  }
}

/* Rebuilds the table from the queue of unauthenticated links, with room
 * for at least want addresses: it then holds only addresses in use. */
static int addrs_rebuild(cairn_links *m, size_t want) {
  size_t cap = 64;
  while (cap < 2 * want + 2)
    cap *= 2;
  struct addr_count *t = calloc(cap, sizeof *t);
  if (t == NULL)
    return CAIRN_ENOMEM;
  free(m->addrs);
  m->addrs = t;
  m->addrs_cap = cap;
  m->addrs_used = 0;
  for (link *l = m->unauth_head; l != NULL; l = l->unext)
    addr_find(m, l->addr, 1)->n++;
  return 0;
}

/* Counts downstream link l, just accepted from addr, as unauthenticated:
 * 0, or CAIRN_EAGAIN when its address has as many as it may. */
static int unauth_add(link *l, uint32_t addr) {
  cairn_links *m = l->mgr;
  struct addr_count *c = addr_find(m, addr, 1);
  if (c == NULL) {
    if (addrs_rebuild(m, m->addrs_used + 1) != 0 || (c = addr_find(m, addr, 1)) == NULL)
      return CAIRN_ENOMEM;
  }
  if (c->n >= (uint64_t)m->o.config->handshakes_per_address)
    return CAIRN_EAGAIN;
  c->n++;
  l->addr = addr;
  l->unauth = 1;
  l->uprev = m->unauth_tail;
  l->unext = NULL;
  if (m->unauth_tail)
    m->unauth_tail->unext = l;
  else
    m->unauth_head = l;
  m->unauth_tail = l;
  m->nunauth++;
  return 0;
}

/* l is authenticated now, or closing: it no longer counts. */
static void unauth_drop(link *l) {
  cairn_links *m = l->mgr;
  struct addr_count *c;
  if (!l->unauth)
    return;
  l->unauth = 0;
  if ((c = addr_find(m, l->addr, 0)) != NULL && c->n > 0)
    c->n--;
  if (l->uprev)
    l->uprev->unext = l->unext;
  else
    m->unauth_head = l->unext;
  if (l->unext)
    l->unext->uprev = l->uprev;
  else
    m->unauth_tail = l->uprev;
  m->nunauth--;
  /* Addresses gone quiet are forgotten now and then. */
  if (m->addrs_used > 64 && m->addrs_used > 4 * m->nunauth)
    (void)addrs_rebuild(m, m->nunauth);
}

/* The IPv4 address of the peer of l, network order; 0 when unknown. */
static uint32_t peer_addr(link *l) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) != 0 ||
      ss.ss_family != AF_INET)
    return 0;
  return ((const struct sockaddr_in *)&ss)->sin_addr.s_addr;
}

/* Over the limit of connections, the oldest unauthenticated one makes
 * room (a half-open flood cannot keep an enrolled classroom out); when
 * every connection is authenticated, the new one is closed at once.
 * Returns 1 when l may go on. */
static int make_room(cairn_links *m, link *l) {
  if (m->ndown <= m->max_down)
    return 1;
  if (m->unauth_head != NULL) {
    link *old = m->unauth_head;
    m->refusals[REFUSED_CONNECTION]++;
    link_tell_now(old, CAIRN_CLOSE_BUSY, "too many connections: it will be tried again");
    link_fail_limited(old, REFUSED_CONNECTION,
                      "over the limit of %zu connections: the oldest one still in its "
                      "handshake made room (counted as %s)",
                      m->max_down, refusal_names[REFUSED_CONNECTION]);
    return 1;
  }
  link_tell_now(l, CAIRN_CLOSE_BUSY, "too many connections: it will be tried again");
  link_set_state(l, LINK_CLOSING);
  refuse_connection(m, "every connection is in use by an enrolled device");
  return 0;
}

static void on_connection(uv_stream_t *server, int status) {
  cairn_links *m = server->data;
  link *l;

  if (m->closing)
    return;
  if (status < 0) { /* libuv failed to accept (out of descriptors: it closes what waits) */
    refuse_connection(m, uv_strerror(status));
    return;
  }
  if ((l = link_new(m, LINK_DOWNSTREAM)) == NULL) {
    refuse_connection(m, "out of memory");
    return;
  }
  if ((status = uv_accept(server, (uv_stream_t *)&l->tcp)) != 0) {
    link_set_state(l, LINK_CLOSING);
    refuse_connection(m, uv_strerror(status));
    return;
  }
  l->state = LINK_HANDSHAKE;
  if (!make_room(m, l))
    return;
  if ((status = unauth_add(l, peer_addr(l))) != 0) {
    link_tell_now(l, CAIRN_CLOSE_BUSY, "too many connections from this address: it will be "
                                       "tried again");
    link_set_state(l, LINK_CLOSING);
    refuse_connection(m, status == CAIRN_EAGAIN
                             ? "too many connections from one address in their handshake"
                             : "out of memory");
    return;
  }
  tune_socket(l);
  link_read_resume(l);
}

/* ---- upstream ---- */

static void on_connected(uv_connect_t *req, int status) {
  link *l = req->data;
  cairn_links *m = l->mgr;
  uint8_t upstream_key[CAIRN_KEY_BYTES];
  int ik = !l->joining && unhex(m->o.config->upstream_key, upstream_key, CAIRN_KEY_BYTES) == 0;

  if (l->state == LINK_CLOSING)
    return;
  if (status < 0) {
    link_fail(l, "cannot connect: %s", uv_strerror(status));
    return;
  }
  tune_socket(l);
  link_set_state(l, LINK_HANDSHAKE);
  if (!l->joining && !ik) {
    link_fail(l, "the upstream's key is not known yet; join again with --upstream");
    return;
  }
  uint8_t mine[CAIRN_KEY_BYTES + 1];
  hs_my_hello(m, mine);
  if (hs_init(l, ik ? CAIRN_NOISE_IK : CAIRN_NOISE_XX, 1, ik ? upstream_key : NULL) != 0 ||
      hs_send(l, ik ? mine : NULL, ik ? sizeof mine : 0, ik ? PATTERN_IK : PATTERN_XX) != 0) {
    link_fail(l, "cannot start the handshake");
    return;
  }
  link_read_resume(l);
}

/* Splits "host:port" (IPv4 literal or localhost) into a sockaddr. */
static int parse_address(const char *text, struct sockaddr_in *sa) {
  char host[128];
  const char *colon = strrchr(text, ':');
  long port;
  char *end;

  if (colon == NULL || (size_t)(colon - text) >= sizeof host)
    return CAIRN_EINVAL;
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = '\0';
  port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535)
    return CAIRN_EINVAL;
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  return uv_ip4_addr(host, (int)port, sa) == 0 ? 0 : CAIRN_EINVAL;
}

static void start_upstream(cairn_links *m, const char *address, int joining) {
  struct sockaddr_in sa;
  link *l;

  if (m->upstream != NULL || m->closing)
    return;
  if (parse_address(address, &sa) != 0) {
    snprintf(m->up_error, sizeof m->up_error, "%s: not host:port", address);
    if (joining)
      join_done(m, CAIRN_EINVAL, m->up_error);
    return;
  }
  if ((l = link_new(m, LINK_UPSTREAM)) == NULL)
    return;
  l->joining = joining;
  l->state = LINK_CONNECTING;
  l->connect.data = l;
  m->upstream = l;
  if (uv_tcp_connect(&l->connect, &l->tcp, (const struct sockaddr *)&sa, on_connected) != 0)
    link_fail(l, "cannot connect to %s", address);
}

static void connect_upstream(cairn_links *m) {
  if (m->o.config->upstream[0] != '\0' && m->has_network)
    start_upstream(m, m->o.config->upstream, 0);
}

static void on_retry(uv_timer_t *t) { connect_upstream(t->data); }

static void schedule_retry(cairn_links *m) {
  uint64_t delay = BACKOFF_MIN_MS;

  if (m->reconnect_now) {
    m->reconnect_now = 0;
    uv_timer_start(&m->retry, on_retry, 0, 0);
    return;
  }
  for (unsigned i = 0; i < m->failures && delay < BACKOFF_MAX_MS; i++)
    delay *= 2;
  if (delay > BACKOFF_MAX_MS)
    delay = BACKOFF_MAX_MS;
  /* +-25% jitter, so a campus of classrooms does not reconnect in step */
  delay = delay * 3 / 4 + randombytes_uniform((uint32_t)(delay / 2 + 1));
  m->failures++;
  uv_timer_start(&m->retry, on_retry, delay, 0);
}

/* ---- the module's API ---- */

/* Whether the device records may have changed since the live links'
 * scopes were last checked. Device records are entries of the central's
 * log (any other author's is quarantined, never folded), so only a commit
 * that advanced the central's seq can revoke a device or change a scope. */
static int scopes_may_have_changed(cairn_links *m) {
  const uint8_t *central = cairn_store_central(m->o.store);
  uint64_t seq = 0;

  if (central == NULL || own_vv(m) != 0)
    return 1;
  for (size_t i = 0; i < m->vv_n; i++)
    if (memcmp(m->vv[i].author, central, CAIRN_KEY_BYTES) == 0)
      seq = m->vv[i].seq;
  if (seq == m->scopes_checked_at)
    return 0;
  m->scopes_checked_at = seq;
  return 1;
}

void cairn_links_notify(void *links) {
  cairn_links *m = links;
  link *next;
  int check_scopes = 0;

  own_vv_drop(m); /* the commit moved it */
  for (link *l = m->links; l != NULL && !check_scopes; l = l->next)
    check_scopes = l->dir == LINK_DOWNSTREAM && l->authorized;
  if (check_scopes)
    check_scopes = scopes_may_have_changed(m);
  for (link *l = m->links; l != NULL; l = next) {
    next = l->next;
    /* A device revoked by what was just committed loses its live link. */
    if (check_scopes && l->dir == LINK_DOWNSTREAM && l->authorized) {
      cairn_scope scope; /* never leave the link with a cleared scope */
      int rc = cairn_store_device_scope(m->o.store, l->peer, &scope, NULL);
      if (rc == CAIRN_EPERM)
        link_refuse(l, REFUSED_REVOKED, "device revoked");
      else if (rc != 0)
        link_fail(l, "cannot check the device's scope");
      if (rc != 0)
        continue;
      if (memcmp(&scope, &l->peer_scope, sizeof scope) != 0)
        l->wanted_n = 0;
      l->peer_scope = scope;
    }
    if (l->state == LINK_IDLE || l->state == LINK_SYNCING)
      link_pump(l);
  }
}

int cairn_links_sync_now(cairn_links *m) {
  if (m->o.config->upstream[0] == '\0')
    return CAIRN_ENOTFOUND;
  m->failures = 0;
  uv_timer_stop(&m->retry);
  if (m->upstream == NULL)
    connect_upstream(m);
  else
    link_pump(m->upstream);
  return 0;
}

/* Entries this node holds (have: its version vector) that the peer lacks
 * and will be sent, not counting those sent already. */
static uint64_t lacking(const cairn_vv_item *have, size_t n, link *l) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t p = peer_has(l, have[i].author);
    if (have[i].seq > p && author_wanted(l, have[i].author))
      sum += have[i].seq - p;
  }
  return sum;
}

/* Entries the peer said it will send that have not been applied here yet;
 * -1 until its first OFFER. */
static int64_t to_receive(const link *l) {
  return l->offer_known ? (int64_t)(l->offered + l->in_apply) : -1;
}

static void pack_peer(cairn_links *m, msgpack_packer *pk, link *l, const cairn_vv_item *vv,
                      size_t n) {
  char peer[65] = "";
  int up = l == NULL || l->dir == LINK_UPSTREAM;
  uint64_t rseq = 0;
  uint8_t sig[CAIRN_SIG_BYTES];

  if (l != NULL && l->peer_known)
    hex(l->peer, CAIRN_KEY_BYTES, peer);
  else if (up)
    snprintf(peer, sizeof peer, "%s", m->o.config->upstream_key);
  int64_t clock = 0;
  int clock_known = up ? m->offset_known : l->peer_clock_known;
  char clock_text[128] = "", words[64];
  if (clock_known)
    clock = up ? -m->central_offset_ms : l->peer_clock_ms;
  if (clock_known && llabs(clock) > tolerance_ms(m)) {
    clock_words(clock, words, sizeof words);
    snprintf(clock_text, sizeof clock_text, "%s clock is %s the central's",
             up ? "this machine's" : "its", words);
  }
  msgpack_pack_map(pk, 19);
  cairn__rpc_pack_str(pk, "peer");
  cairn__rpc_pack_str(pk, peer);
  cairn__rpc_pack_str(pk, "clock_offset_ms"); /* its clock minus the central's */
  if (clock_known)
    msgpack_pack_int64(pk, clock);
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "clock");
  cairn__rpc_pack_str(pk, clock_text);
  cairn__rpc_pack_str(pk, "last_error_code");
  if (up && m->up_error_code != 0)
    cairn__rpc_pack_str(pk, cairn_sync_close_name(m->up_error_code));
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "notice");
  cairn__rpc_pack_str(pk, up ? m->up_notice : "");
  cairn__rpc_pack_str(pk, "address");
  cairn__rpc_pack_str(pk, up ? m->o.config->upstream : "");
  cairn__rpc_pack_str(pk, "role");
  cairn__rpc_pack_str(pk, l != NULL && l->peer_role[0] ? l->peer_role : up ? "upstream" : "");
  cairn__rpc_pack_str(pk, "direction");
  cairn__rpc_pack_str(pk, up ? "upstream" : "downstream");
  cairn__rpc_pack_str(pk, "connected");
  if (l != NULL && l->state >= LINK_SYNCING && l->state != LINK_CLOSING)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
  cairn__rpc_pack_str(pk, "state");
  cairn__rpc_pack_str(pk, l != NULL ? state_names[l->state] : "waiting to retry");
  cairn__rpc_pack_str(pk, "last_success");
  if (up && m->last_success > 0)
    msgpack_pack_int64(pk, m->last_success);
  else if (!up && l->last_success > 0)
    msgpack_pack_int64(pk, l->last_success);
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "pending_out"); /* not yet sent, or sent and not acknowledged */
  if (l != NULL && in_session(l->state))
    msgpack_pack_uint64(pk, lacking(vv, n, l) + l->unacked);
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "pending_in"); /* what the peer offered, not yet applied */
  if (l != NULL && to_receive(l) >= 0)
    msgpack_pack_uint64(pk, (uint64_t)to_receive(l));
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "sent");
  msgpack_pack_uint64(pk, (up ? m->up_sent : 0) + (l ? l->sent : 0));
  cairn__rpc_pack_str(pk, "received");
  msgpack_pack_uint64(pk, (up ? m->up_received : 0) + (l ? l->received : 0));
  cairn__rpc_pack_str(pk, "refused"); /* entries the peer refused, or we refused from it */
  msgpack_pack_uint64(pk, (up ? m->up_refused : 0) + (l ? l->refused : 0));
  cairn__rpc_pack_str(pk, "last_error");
  cairn__rpc_pack_str(pk, up ? m->up_error : "");
  cairn__rpc_pack_str(pk, "failures"); /* upstream: attempts failed since the last success */
  msgpack_pack_uint64(pk, up ? m->failures : 0);
  cairn__rpc_pack_str(pk, "receipt");
  if (up && (cairn_store_receipt_get(m->o.store, m->pk, &rseq, sig) == 0 || m->receipt_seen > 0)) {
    msgpack_pack_map(pk, 1);
    cairn__rpc_pack_str(pk, "seq");
    msgpack_pack_uint64(pk, rseq > m->receipt_seen ? rseq : m->receipt_seen);
  } else {
    msgpack_pack_nil(pk);
  }
}

int cairn_links_status(cairn_links *m, msgpack_packer *pk) {
  size_t count = 0;
  int up = m->o.config->upstream[0] != '\0';

  if (own_vv(m) != 0)
    return CAIRN_EIO;
  for (link *l = m->links; l != NULL; l = l->next)
    count += l->dir == LINK_DOWNSTREAM;
  msgpack_pack_array(pk, count + up);
  if (up)
    pack_peer(m, pk, m->upstream, m->vv, m->vv_n);
  for (link *l = m->links; l != NULL; l = l->next)
    if (l->dir == LINK_DOWNSTREAM)
      pack_peer(m, pk, l, m->vv, m->vv_n);
  return 0;
}

/* The line that says how this node's clock stands to the central's, or ""
 * when it is within the tolerance or not known. */
static void clock_message(const cairn_links *m, char *out, size_t outlen) {
  char words[64];
  out[0] = '\0';
  if (m->o.config->role == CAIRN_ROLE_CENTRAL || !m->offset_known ||
      llabs(m->central_offset_ms) <= tolerance_ms(m))
    return;
  clock_words(-m->central_offset_ms, words, sizeof words);
  snprintf(out, outlen, "this machine's clock is %s the central's: set its date and time", words);
}

void cairn_links_clock(const cairn_links *m, msgpack_packer *pk) {
  char msg[160];
  clock_message(m, msg, sizeof msg);
  msgpack_pack_map(pk, 3);
  cairn__rpc_pack_str(pk, "offset_ms");
  if (m->o.config->role == CAIRN_ROLE_CENTRAL)
    msgpack_pack_int64(pk, 0);
  else if (m->offset_known)
    msgpack_pack_int64(pk, -m->central_offset_ms);
  else
    msgpack_pack_nil(pk);
  cairn__rpc_pack_str(pk, "tolerance_ms");
  msgpack_pack_int64(pk, tolerance_ms(m));
  cairn__rpc_pack_str(pk, "message");
  cairn__rpc_pack_str(pk, msg);
}

void cairn_links_notices(const cairn_links *m, msgpack_packer *pk) {
  char clock[160], refused[400];
  clock_message(m, clock, sizeof clock);
  refused[0] = '\0';
  if (m->up_error_code != 0)
    snprintf(refused, sizeof refused, "sync: %s", m->up_error);
  msgpack_pack_array(pk, (clock[0] != '\0') + (refused[0] != '\0') + (m->up_notice[0] != '\0'));
  if (clock[0] != '\0')
    cairn__rpc_pack_str(pk, clock);
  if (refused[0] != '\0')
    cairn__rpc_pack_str(pk, refused);
  if (m->up_notice[0] != '\0')
    cairn__rpc_pack_str(pk, m->up_notice);
}

void cairn_links_refusals(const cairn_links *m, msgpack_packer *pk) {
  msgpack_pack_map(pk, REFUSAL_CLASSES);
  for (int i = 0; i < REFUSAL_CLASSES; i++) {
    cairn__rpc_pack_str(pk, refusal_names[i]);
    msgpack_pack_uint64(pk, m->refusals[i]);
  }
}

int cairn_links_join(cairn_links *m, const char *token, const char *upstream,
                     cairn_links_join_cb cb, void *arg, char *why, size_t whylen) {
  int rc;

  if (m->join_cb != NULL) {
    snprintf(why, whylen, "a join is already in progress");
    return CAIRN_EEXISTS;
  }
  if (m->o.config->role == CAIRN_ROLE_CENTRAL) {
    snprintf(why, whylen, "a central does not join: it enrolls others");
    return CAIRN_EINVAL;
  }
  rc = cairn_sync_token_parse(token, &m->token, why, whylen);
  if (rc != 0)
    return rc;
  if (strlen(m->token.address) >= sizeof m->o.config->upstream) {
    snprintf(why, whylen, "token: the central's address is too long");
    return CAIRN_EINVAL;
  }
  /* Whether the token has expired is the central's to say: this machine's
   * clock may be wrong, and the answer then comes in the WELCOME. */
  snprintf(m->join_upstream, sizeof m->join_upstream, "%s", upstream ? upstream : "");
  if (m->upstream != NULL) /* replace the current upstream link */
    link_set_state(m->upstream, LINK_CLOSING);
  uv_timer_stop(&m->retry);
  /* The callback is armed only once the connection is under way: a failure
   * inside start_upstream is answered here, never through cb. */
  m->join_cb = NULL;
  m->up_error[0] = '\0';
  start_upstream(m, m->token.address, 1);
  if (m->upstream == NULL) {
    snprintf(why, whylen, "%s", m->up_error[0] ? m->up_error : "cannot connect to the central");
    return CAIRN_EIO;
  }
  m->join_cb = cb;
  m->join_arg = arg;
  return 0;
}

/* An enroll in progress: a token_add job, then the token's text. */
typedef struct enroll_job {
  cairn_sync_token token; /* all but the secret's use: the callback must not
                             touch the links, which may be gone by then */
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  char role[16];
  cairn_scope scope;
  int64_t expires;
  cairn_links_enroll_cb cb;
  void *arg;
} enroll_job;

static int run_token_add(cairn_store *s, void *arg) {
  enroll_job *e = arg;
  return cairn_store_token_add(s, e->secret, e->role, &e->scope, e->expires);
}

static void on_token_added(cairn_write_req *req, void *arg) {
  enroll_job *e = arg;
  char text[CAIRN_SYNC_TOKEN_MAX];
  int rc = req->job_rc;

  if (rc == 0)
    rc = cairn_sync_token_format(&e->token, text, sizeof text);
  e->cb(e->arg, rc, rc == 0 ? text : cairn_strerror(rc));
  sodium_memzero(e, sizeof *e);
  free(e);
}

int cairn_links_enroll(cairn_links *m, const char *role, const char *campus,
                       const char *classroom, int64_t expires_seconds, cairn_links_enroll_cb cb,
                       void *arg, char *why, size_t whylen) {
  enroll_job *e;
  cairn_write_req *req;

  if (m->o.config->role != CAIRN_ROLE_CENTRAL || !m->has_network) {
    snprintf(why, whylen, "only the central enrolls devices");
    return CAIRN_EPERM;
  }
  if (m->o.config->listen[0] == '\0' && m->o.config->advertise[0] == '\0') {
    snprintf(why, whylen, "set [sync] listen in cairn.conf first: devices need an address");
    return CAIRN_ECONFIG;
  }
  if (strcmp(role, "classroom") != 0 && strcmp(role, "hub") != 0) {
    snprintf(why, whylen, "role: must be classroom or hub");
    return CAIRN_EINVAL;
  }
  if (campus[0] == '\0' || strlen(campus) >= sizeof e->scope.campus ||
      strlen(classroom) >= sizeof e->scope.classroom) {
    snprintf(why, whylen, "campus: required, at most 64 bytes");
    return CAIRN_EINVAL;
  }
  if ((e = calloc(1, sizeof *e)) == NULL)
    return CAIRN_ENOMEM;
  randombytes_buf(e->secret, sizeof e->secret);
  snprintf(e->role, sizeof e->role, "%s", role);
  snprintf(e->scope.campus, sizeof e->scope.campus, "%s", campus);
  snprintf(e->scope.classroom, sizeof e->scope.classroom, "%s", classroom);
  e->expires = now_unix() + expires_seconds;
  snprintf(e->token.address, sizeof e->token.address, "%s",
           m->o.config->advertise[0] ? m->o.config->advertise : m->o.config->listen);
  memcpy(e->token.central, m->pk, CAIRN_KEY_BYTES);
  memcpy(e->token.network, m->network, sizeof e->token.network);
  memcpy(e->token.secret, e->secret, sizeof e->token.secret);
  e->token.expires = e->expires;
  e->cb = cb;
  e->arg = arg;
  if ((req = cairn_writer_job_new(run_token_add, e)) == NULL) {
    free(e);
    return CAIRN_ENOMEM;
  }
  cairn_writer_submit(m->o.writer, req, on_token_added, e);
  return 0;
}

/* Accepts sync connections on [sync] listen. */
static int start_listener(cairn_links *m, char *why, size_t whylen) {
  struct sockaddr_in sa;
  int rc;

  if (m->listening)
    return 0;
  if (parse_address(m->o.config->listen, &sa) != 0) {
    snprintf(why, whylen, "[sync] listen: '%s' is not host:port", m->o.config->listen);
    return CAIRN_ECONFIG;
  }
  uv_tcp_init(m->o.loop, &m->listener);
  m->listener.data = m;
  m->open_handles++;
  m->listening = 1;
  rc = uv_tcp_bind(&m->listener, (const struct sockaddr *)&sa, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&m->listener, 511, on_connection);
  if (rc != 0) {
    snprintf(why, whylen, "[sync] listen %s: %s", m->o.config->listen, uv_strerror(rc));
    return CAIRN_EIO;
  }
  cairn_log_info("sync: accepting connections on %s", m->o.config->listen);
  return 0;
}

static void on_flush_limits(uv_timer_t *t) {
  cairn_links *m = t->data;
  for (int i = 0; i <= REFUSAL_CLASSES; i++)
    cairn_log_limit_flush(&m->limits[i], uv_now(m->o.loop));
}

/* How many sync connections this process may hold: its descriptor limit
 * (raised to the hard limit) less a reserve for everything else, so that
 * a connection over it can still be accepted, told, and closed. */
static size_t max_connections(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024 - FD_RESERVE;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit raised = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
    rl.rlim_cur = 1048576;
  return rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE
                                      : (size_t)rl.rlim_cur / 2;
}

int cairn_links_start(cairn_links **out, const cairn_links_opts *o, char *why, size_t whylen) {
  cairn_links *m = calloc(1, sizeof *m);
  const cairn_config *c = o->config;
  int rc;

  if (m == NULL)
    return CAIRN_ENOMEM;
  m->o = *o;
  crypto_sign_ed25519_sk_to_pk(m->pk, o->sk);
  if (crypto_sign_ed25519_sk_to_curve25519(m->x_priv, o->sk) != 0) {
    free(m);
    return CAIRN_ECORRUPT;
  }
  m->has_network = unhex(c->network, m->network, sizeof m->network) == 0;
  m->offset_known = cairn_store_central_offset(o->store, &m->central_offset_ms);
  m->max_down = max_connections();
  for (int i = 0; i <= REFUSAL_CLASSES; i++)
    m->limits[i].what = i < REFUSAL_CLASSES ? refusal_names[i] : "sync peers";
  uv_timer_init(o->loop, &m->retry);
  m->retry.data = m;
  uv_timer_init(o->loop, &m->flush);
  m->flush.data = m;
  uv_timer_start(&m->flush, on_flush_limits, 1000, 1000);
  uv_unref((uv_handle_t *)&m->flush);
  m->open_handles = 2;
  if (c->listen[0] != '\0' && m->has_network && (rc = start_listener(m, why, whylen)) != 0) {
    cairn_links_close(m, NULL, NULL);
    return rc;
  }
  if (c->listen[0] != '\0' && !m->has_network)
    cairn_log_info("sync: will accept connections on %s once this node has joined", c->listen);
  if (c->role == CAIRN_ROLE_CENTRAL && cairn_store_central(o->store) == NULL)
    cairn_store_set_central(o->store, m->pk);
  connect_upstream(m);
  *out = m;
  return 0;
}

void cairn_links_close(cairn_links *m, void (*cb)(void *arg), void *arg) {
  /* Commits after this must not wake links that are going away. */
  cairn_writer_on_commit(m->o.writer, NULL, NULL);
  m->closing = 1;
  m->close_cb = cb;
  m->close_arg = arg;
  join_done(m, CAIRN_ECLOSED, "cairnd is stopping");
  while (m->links) {
    link_tell(m->links, CAIRN_CLOSE_STOPPING, "cairnd is stopping");
    link_set_state(m->links, LINK_CLOSING);
  }
  uv_close((uv_handle_t *)&m->retry, on_mgr_handle_close);
  on_flush_limits(&m->flush);
  uv_close((uv_handle_t *)&m->flush, on_mgr_handle_close);
  if (m->listening)
    uv_close((uv_handle_t *)&m->listener, on_mgr_handle_close);
}
