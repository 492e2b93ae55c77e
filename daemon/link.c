/* link.c: sync connections over TCP (docs/PROTOCOL.md): the manager,
 * reading and sending, the life of a link, the listener, upstream connects
 * and backoff (link_int.h says what the other link files hold). */
#include "link_int.h"

const char *const cairn__link_state_names[] = {"connecting", "handshake", "waiting for a join",
                                          "redeeming a join", "joining", "hello",
                                          "syncing", "idle", "closing"};
_Static_assert(sizeof cairn__link_state_names / sizeof cairn__link_state_names[0] == LINK_CLOSING + 1, "a name per state");


const char *const cairn__link_refusal_names[] = {
#define AS_NAME(id, name, what) name,
    CAIRN_SYNC_REFUSALS(AS_NAME)
#undef AS_NAME
};

static void schedule_retry(cairn_links *m);
static void connect_upstream(cairn_links *m);
static void on_write(uv_write_t *req, int status);

/* ---- the manager's handles and closing ---- */

static void maybe_closed(cairn_links *m) {
  if (m->closing && m->open_handles == 0) {
    void (*cb)(void *) = m->close_cb;
    void *arg = m->close_arg;
    sodium_memzero(m->x_priv, sizeof m->x_priv);
    if (m->join_job != NULL) /* its result comes after this manager */
      m->join_job->mgr = NULL;
    free(m->vv);
    free(m->vv_changed);
    free(m->vv_fresh);
    free(m->old_vv);
    free(m->old_changed);
    free(m->vv_ord);
    free(m->old_ord);
    free(m->seen);
    free(m->scopes);
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

/* Finds author in the previous read of the version vector: 1 and its
 * index in *at, or 0. That read is ordered as cairn_store_version_vector
 * gives it: the central first, then by key, so past item 0 it is sorted. */
static int old_vv_find(const cairn_links *m, const uint8_t *author, size_t *at) {
  size_t lo = 1, hi = m->old_vv_n;

  if (m->old_vv_n == 0)
    return 0;
  if (memcmp(m->old_vv[0].author, author, CAIRN_KEY_BYTES) == 0) {
    *at = 0;
    return 1;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(m->old_vv[mid].author, author, CAIRN_KEY_BYTES);
    if (c == 0) {
      *at = mid;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* Reads this store's version vector into m->vv unless it holds the
 * current one, with each author's ordinal (m->vv_ord) and the
 * generation in which its seq last changed (m->vv_changed). Returns 0, or a negative code (m->vv stays NULL). */
int cairn__link_own_vv(cairn_links *m) {
  size_t cap;
  int rc;

  if (m->vv != NULL)
    return 0;
  if ((rc = cairn_store_version_vector(m->o.store, &m->vv, &m->vv_n)) != 0) {
    m->vv = NULL;
    return rc;
  }
  cap = m->vv_n ? m->vv_n : 1;
  size_t *fresh = malloc(cap * sizeof *fresh);
  uint64_t *changed = malloc(cap * sizeof *changed);
  uint32_t *ord = malloc(cap * sizeof *ord);
  if (changed == NULL || fresh == NULL || ord == NULL) {
    free(changed);
    free(fresh);
    free(ord);
    free(m->vv);
    m->vv = NULL;
    return CAIRN_ENOMEM;
  }
  m->vv_gen++;
  m->nfresh = 0;
  for (size_t i = 0; i < m->vv_n; i++) {
    size_t j;
    int known = old_vv_find(m, m->vv[i].author, &j);
    ord[i] = known ? m->old_ord[j] : m->next_ord++;
    changed[i] = known && m->old_vv[j].seq == m->vv[i].seq ? m->old_changed[j] : m->vv_gen;
    if (changed[i] == m->vv_gen)
      fresh[m->nfresh++] = i;
  }
  free(m->vv_changed);
  free(m->vv_fresh);
  free(m->vv_ord);
  m->vv_changed = changed;
  m->vv_fresh = fresh;
  m->vv_ord = ord;
  return 0;
}

/* Something was committed: the next cairn__link_own_vv reads again (and
 * compares with what it read last). */
void cairn__link_own_vv_drop(cairn_links *m) {
  if (m->vv == NULL)
    return; /* not read since the last drop: old_vv is still the last read */
  free(m->old_vv);
  free(m->old_changed);
  free(m->old_ord);
  m->old_vv = m->vv;
  m->old_changed = m->vv_changed;
  m->old_ord = m->vv_ord;
  m->old_vv_n = m->vv_n;
  m->vv = NULL;
  m->vv_changed = NULL;
  m->vv_ord = NULL;
  free(m->vv_fresh);
  m->vv_fresh = NULL;
  m->nfresh = 0;
}

/* ---- sending ---- */

static void on_write(uv_write_t *req, int status) {
  link *l = req->data;
  free(req);
  if (status < 0 && l->state != LINK_CLOSING)
    cairn__link_fail(l, "write: %s", uv_strerror(status));
  else if (l->state == LINK_SYNCING || l->state == LINK_IDLE)
    cairn__link_pump(l); /* room on the socket again */
}

/* Sends bytes (copied). Returns 0, or fails the link. */
int cairn__link_send_raw(link *l, const uint8_t *p, size_t n) {
  uv_write_t *req = malloc(sizeof *req + n);
  uv_buf_t b;

  if (req == NULL) {
    cairn__link_fail(l, "out of memory");
    return CAIRN_ENOMEM;
  }
  memcpy(req + 1, p, n);
  req->data = l;
  b = uv_buf_init((char *)(req + 1), (unsigned)n);
  if (uv_write(req, (uv_stream_t *)&l->tcp, &b, 1, on_write) != 0) {
    free(req);
    cairn__link_fail(l, "write failed");
    return CAIRN_EIO;
  }
  return 0;
}

/* Encrypts one sync message (sb) and sends it. */
int cairn__link_send_msg(link *l, msgpack_sbuffer *sb) {
  msgpack_sbuffer wire;
  int rc;

  msgpack_sbuffer_init(&wire);
  rc = cairn_transport_seal(&l->tx, (const uint8_t *)sb->data, sb->size, &wire);
  if (rc == 0)
    rc = cairn__link_send_raw(l, (const uint8_t *)wire.data, wire.size);
  else
    cairn__link_fail(l, "cannot encrypt: %s", cairn_strerror(rc));
  msgpack_sbuffer_destroy(&wire);
  return rc;
}

/* ---- reading ---- */

/* Read buffers grow to the record being received and are dropped
 * whenever no record is part-way, so an idle or half-open connection
 * holds none. */
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
      cairn__link_fail_limited(l, REFUSED_ABANDONED, "%s before the handshake was done (counted as %s)",
                        why, cairn__link_refusal_names[REFUSED_ABANDONED]);
    } else {
      cairn__link_fail(l, "%s", why);
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
      cairn__link_refuse(l, REFUSED_MALFORMED, "malformed record");
      return;
    }
    off += used;
    if (l->state == LINK_HANDSHAKE) {
      cairn__link_hs_record(l, body, blen);
    } else {
      int complete;
      rc = cairn_transport_reader_open(&l->reader, &l->rx, body, blen, &complete);
      if (rc != 0) {
        if (rc == CAIRN_ENOMEM)
          cairn__link_fail(l, "out of memory");
        else
          cairn__link_refuse(l, REFUSED_MALFORMED, "cannot read an encrypted message (%s)",
                      cairn_strerror(rc));
        return;
      }
      if (complete)
        cairn__link_on_message(l, l->reader.msg, l->reader.len);
    }
  }
  if (l->state == LINK_CLOSING)
    return;
  memmove(l->in, l->in + off, l->in_len - off);
  l->in_len -= off;
  /* an idle link keeps no buffer: none for records, none for messages */
  cairn_transport_reader_release(&l->reader);
  if (l->in_len == 0) {
    free(l->in);
    l->in = NULL;
    l->in_cap = 0;
  }
}

void cairn__link_read_resume(link *l) {
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
  cairn__link_history_free(l);
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
    cairn__link_refuse(l, REFUSED_TIMEOUT, "handshake timed out");
  else /* our own attempt: the network, or an upstream that is down */
    cairn__link_fail(l, "handshake timed out");
}

/* The one function that moves a link between states. */
void cairn__link_set_state(link *l, link_state next) {
  cairn_links *m = l->mgr;

  if (l->state == LINK_CLOSING || l->state == next)
    return;
  if (next != LINK_IDLE)
    l->idle_gen = 0; /* set again by the pump that finds nothing to send */
  if (next == LINK_CLOSING)
    cairn__link_pace_leave(l); /* while the state still says whether it synced */
  l->state = next;
  if (next != LINK_CLOSING)
    return;
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
      cairn__link_join_done(m, CAIRN_ECLOSED, m->up_error[0] ? m->up_error : "the join did not complete");
    else if (!m->closing)
      schedule_retry(m);
  }
  cairn__link_unauth_drop(l);
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
void cairn__link_peer_label(const link *l, char out[80]) {
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
void cairn__link_tell(link *l, int code, const char *text) {
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

/* cairn__link_tell for a connection closed over a limit: the refusal goes into
 * the socket's buffer now (a fresh connection's is empty) and the
 * descriptor is closed at once, without waiting on the peer: a flood must
 * not hold descriptors. */
static void link_tell_now(link *l, int code, const char *text) {
  cairn__link_tell(l, code, text);
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
  cairn__link_peer_label(l, peer);
  if (l->dir == LINK_DOWNSTREAM && !l->authorized)
    cairn_log_limited(&m->limits[limit], uv_now(m->o.loop), CAIRN_LOG_WARNING, "sync: %s: %s",
                      peer, msg);
  else
    cairn_log_warn("sync: %s: %s", peer, msg);
  cairn__link_set_state(l, LINK_CLOSING);
}

void cairn__link_fail_limited(link *l, int limit, const char *fmt, ...) {
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  link_failv(l, limit, fmt, ap);
  va_end(ap);
}

/* Closes l over a failure of the network or of this node, telling the
 * peer nothing (it could not hear, or it is not its business). */
void cairn__link_fail(link *l, const char *fmt, ...) {
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  link_failv(l, REFUSAL_CLASSES, fmt, ap);
  va_end(ap);
}

/* Closes l for a reason the peer needs to hear: tells it (code, and this
 * line), logs it, closes. */
void cairn__link_close(link *l, int code, const char *fmt, ...) {
  char msg[300];
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cairn__link_tell(l, code, msg);
  cairn__link_fail(l, "%s", msg);
}

/* Closes the link for what its peer did: counts one refusal of class why,
 * tells the peer, and logs the reason, naming the counter. */
void cairn__link_refuse(link *l, refusal why, const char *fmt, ...) {
  char msg[240];
  va_list ap;

  if (l->state == LINK_CLOSING)
    return;
  l->mgr->refusals[why]++;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cairn__link_tell(l, refusal_code(why), msg);
  cairn__link_fail_limited(l, why, "%s (counted as %s)", msg, cairn__link_refusal_names[why]);
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

/* Linux 6.15's cap on one retransmission's wait (<linux/tcp.h> in newer
 * kernels than Debian 12's headers). */
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44
#endif

/* A partition that drops packets without a reset must still end the link:
 * keepalive probes after 15 s idle (every 5 s, 3 tries) and a 30 s limit
 * on unacknowledged data.
 *
 * A lossy link must not stall it either. TCP doubles its wait after each
 * lost retransmission (up to 120 s), so on a link that loses a third of its
 * packets a few unlucky draws park the transfer for minutes, or until the
 * 30 s limit breaks it. Linear timeouts while few packets are in flight, and
 * (where the kernel has it: Linux 6.15 or later; older kernels refuse the
 * option and keep their own cap) no wait longer than 2 s keep retrying at a
 * steady pace. One link per classroom retrying every 2 s is no load on a
 * school's network. */
static void tune_socket(link *l) {
  uv_os_fd_t fd;
  int intvl = 5, cnt = 3, on = 1, rto_max_ms = 2000;
  unsigned user_timeout = 30000;

  uv_tcp_nodelay(&l->tcp, 1);
  uv_tcp_keepalive(&l->tcp, 1, 15);
  if (uv_fileno((uv_handle_t *)&l->tcp, &fd) == 0) {
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    setsockopt(fd, IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, &rto_max_ms, sizeof rto_max_ms);
  }
}

/* ---- downstream: the listener ---- */

/* A connection the listener could not take, or closed at once: counted,
 * and logged within the rate limit. */
static void refuse_connection(cairn_links *m, const char *why) {
  uint64_t n = ++m->refusals[REFUSED_CONNECTION];
  cairn_log_limited(&m->limits[REFUSED_CONNECTION], uv_now(m->o.loop), CAIRN_LOG_WARNING,
                    "sync: closed a connection at once: %s (counted as %s: %llu since start)",
                    why, cairn__link_refusal_names[REFUSED_CONNECTION], (unsigned long long)n);
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
void cairn__link_unauth_drop(link *l) {
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
    cairn__link_fail_limited(old, REFUSED_CONNECTION,
                      "over the limit of %zu connections: the oldest one still in its "
                      "handshake made room (counted as %s)",
                      m->max_down, cairn__link_refusal_names[REFUSED_CONNECTION]);
    return 1;
  }
  link_tell_now(l, CAIRN_CLOSE_BUSY, "too many connections: it will be tried again");
  cairn__link_set_state(l, LINK_CLOSING);
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
    cairn__link_set_state(l, LINK_CLOSING);
    refuse_connection(m, uv_strerror(status));
    return;
  }
  l->state = LINK_HANDSHAKE;
  if (!make_room(m, l))
    return;
  if ((status = unauth_add(l, peer_addr(l))) != 0) {
    link_tell_now(l, CAIRN_CLOSE_BUSY, "too many connections from this address: it will be "
                                       "tried again");
    cairn__link_set_state(l, LINK_CLOSING);
    refuse_connection(m, status == CAIRN_EAGAIN
                             ? "too many connections from one address in their handshake"
                             : "out of memory");
    return;
  }
  tune_socket(l);
  cairn__link_read_resume(l);
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
    cairn__link_fail(l, "cannot connect: %s", uv_strerror(status));
    return;
  }
  tune_socket(l);
  cairn__link_set_state(l, LINK_HANDSHAKE);
  if (!l->joining && !ik) {
    cairn__link_fail(l, "the upstream's key is not known yet; join again with --upstream");
    return;
  }
  uint8_t mine[CAIRN_KEY_BYTES + 1];
  cairn__link_hs_my_hello(m, mine);
  if (cairn__link_hs_init(l, ik ? CAIRN_NOISE_IK : CAIRN_NOISE_XX, 1, ik ? upstream_key : NULL) != 0 ||
      cairn__link_hs_send(l, ik ? mine : NULL, ik ? sizeof mine : 0, ik ? PATTERN_IK : PATTERN_XX) != 0) {
    cairn__link_fail(l, "cannot start the handshake");
    return;
  }
  cairn__link_read_resume(l);
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

void cairn__link_start_upstream(cairn_links *m, const char *address, int joining) {
  struct sockaddr_in sa;
  link *l;

  if (m->upstream != NULL || m->closing)
    return;
  if (parse_address(address, &sa) != 0) {
    snprintf(m->up_error, sizeof m->up_error, "%s: not host:port", address);
    if (joining)
      cairn__link_join_done(m, CAIRN_EINVAL, m->up_error);
    return;
  }
  if ((l = link_new(m, LINK_UPSTREAM)) == NULL)
    return;
  l->joining = joining;
  l->state = LINK_CONNECTING;
  l->connect.data = l;
  m->upstream = l;
  if (uv_tcp_connect(&l->connect, &l->tcp, (const struct sockaddr *)&sa, on_connected) != 0)
    cairn__link_fail(l, "cannot connect to %s", address);
}

static void connect_upstream(cairn_links *m) {
  if (m->o.config->upstream[0] != '\0' && m->has_network)
    cairn__link_start_upstream(m, m->o.config->upstream, 0);
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

  if (central == NULL || cairn__link_own_vv(m) != 0)
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

  cairn__link_own_vv_drop(m); /* the commit moved it */
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
        cairn__link_refuse(l, REFUSED_REVOKED, "device revoked");
      else if (rc != 0)
        cairn__link_fail(l, "cannot check the device's scope");
      if (rc != 0)
        continue;
      if (strcmp(scope.campus, l->peer_scope.campus) != 0 ||
          strcmp(scope.classroom, l->peer_scope.classroom) != 0) /* (not memcmp: bytes past
                                                                    * the NUL may be unset) */
        cairn__link_wanted_forget(l), l->arrivals_sent = 0;
      l->peer_scope = scope;
    }
    if (l->state == LINK_IDLE || l->state == LINK_SYNCING) {
      cairn__link_pump(l);
      cairn__link_send_arrivals(l);
    }
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
    cairn__link_pump(m->upstream);
  return 0;
}

/* Accepts sync connections on [sync] listen. */
int cairn__link_start_listener(cairn_links *m, char *why, size_t whylen) {
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

/* Each second: the counts of rate-limited log lines, and the last-seen
 * times of the peers that said HELLO since. */
static void on_flush_limits(uv_timer_t *t) {
  cairn_links *m = t->data;
  for (int i = 0; i <= REFUSAL_CLASSES; i++)
    cairn_log_limit_flush(&m->limits[i], uv_now(m->o.loop));
  cairn__link_seen_flush(m);
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
  m->restored = cairn_store_restored(o->store); /* before the writer has work */
  m->max_down = max_connections();
  for (int i = 0; i <= REFUSAL_CLASSES; i++)
    m->limits[i].what = i < REFUSAL_CLASSES ? cairn__link_refusal_names[i] : "sync peers";
  uv_timer_init(o->loop, &m->retry);
  m->retry.data = m;
  uv_timer_init(o->loop, &m->flush);
  m->flush.data = m;
  uv_timer_start(&m->flush, on_flush_limits, 1000, 1000);
  uv_unref((uv_handle_t *)&m->flush);
  m->open_handles = 2;
  if (c->listen[0] != '\0' && m->has_network && (rc = cairn__link_start_listener(m, why, whylen)) != 0) {
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
  cairn__link_join_done(m, CAIRN_ECLOSED, "cairnd is stopping");
  while (m->links) {
    cairn__link_tell(m->links, CAIRN_CLOSE_STOPPING, "cairnd is stopping");
    cairn__link_set_state(m->links, LINK_CLOSING);
  }
  uv_close((uv_handle_t *)&m->retry, on_mgr_handle_close);
  on_flush_limits(&m->flush);
  uv_close((uv_handle_t *)&m->flush, on_mgr_handle_close);
  if (m->listening)
    uv_close((uv_handle_t *)&m->listener, on_mgr_handle_close);
}

