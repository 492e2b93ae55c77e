/*
 * faultproxy: a fault-injecting TCP proxy for cairn's sync integration tests.
 *
 * The test kernels have no netem, so this program sits between a cairn peer
 * and cairnd on the loopback interface and makes the link misbehave on
 * purpose: latency, a throttled link, stalls, mid-frame cuts and partitions.
 * README.md next to this file shows the usage. Only 127.0.0.1 / localhost is
 * accepted on either side: a test must never reach another host.
 *
 * Every accepted connection becomes a struct conn: the client socket, the
 * target socket and two directions (up: client -> target, down: target ->
 * client). A direction keeps a FIFO of the chunks it read; the head chunk is
 * written once its due time has come and the token bucket allows it, so the
 * byte order is always kept. Memory is bounded: a direction stops reading its
 * sender once BUFFER_HIGH_WATER bytes wait in it and reads again below
 * BUFFER_LOW_WATER, so a slow receiver pushes back on the sender.
 *
 * As in libuv, memory is freed only in close callbacks: conn_close() is the
 * one function that closes a connection, on_conn_handle_closed() the one place
 * that frees it.
 */
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BUFFER_HIGH_WATER (1024 * 1024) /* stop reading the sender above */
#define BUFFER_LOW_WATER (512 * 1024)   /* read the sender again below */
#define READ_SIZE (64 * 1024)
#define STALL_MIN_MS 200 /* a --drop stall, like a retransmission timeout */
#define STALL_MAX_MS 2000
#define CONTROL_LINE_MAX 256
#define LISTEN_BACKLOG 128

/* --- options: one table drives the command line, "set" and the help ----- */

struct options {
  uint64_t delay_ms;     /* latency added to each chunk, per direction */
  uint64_t rate;         /* bytes per second per direction, 0 = unlimited */
  double drop;           /* probability per chunk of a stall */
  uint64_t cut_after;    /* reset a connection after this many bytes */
  uint64_t cut_every_ms; /* reset every live connection this often */
  uint64_t seed;
};

static struct options opt;

enum option_kind { OPTION_COUNT, OPTION_PROBABILITY };

struct option_row {
  const char *name; /* "--name" on the command line, "set name" at run time */
  enum option_kind kind;
  uint64_t max;         /* OPTION_COUNT only */
  bool runtime;         /* may be changed with "set" */
  uint64_t *count;      /* OPTION_COUNT */
  double *probability;  /* OPTION_PROBABILITY */
  void (*apply)(void);  /* run after a change at run time, or NULL */
  const char *arg;
  const char *help;
};

static void apply_repump(void);
static void apply_cut_every(void);

static const struct option_row option_table[] = {
    {.name = "delay", .kind = OPTION_COUNT, .max = 3600000, .runtime = true,
     .count = &opt.delay_ms, .apply = apply_repump, .arg = "MS",
     .help = "forward each chunk MS ms after it arrived (each direction)"},
    {.name = "rate", .kind = OPTION_COUNT, .max = UINT64_C(1) << 40,
     .runtime = true, .count = &opt.rate, .apply = apply_repump,
     .arg = "BYTES_PER_S",
     .help = "throttle each direction (token bucket); 0 = unlimited"},
    {.name = "drop", .kind = OPTION_PROBABILITY, .runtime = true,
     .probability = &opt.drop, .arg = "P",
     .help = "with probability P per chunk, stall it 200-2000 ms"},
    {.name = "cut-after", .kind = OPTION_COUNT, .max = UINT64_MAX,
     .runtime = true, .count = &opt.cut_after, .apply = apply_repump,
     .arg = "BYTES",
     .help = "reset each connection after BYTES forwarded (both ways)"},
    {.name = "cut-every", .kind = OPTION_COUNT, .max = 86400000,
     .runtime = true, .count = &opt.cut_every_ms, .apply = apply_cut_every,
     .arg = "MS", .help = "reset every live connection every MS ms"},
    {.name = "seed", .kind = OPTION_COUNT, .max = UINT64_MAX,
     .runtime = false, .count = &opt.seed, .arg = "N",
     .help = "seed for the random choices (default: from the clock)"},
};

#define OPTION_COUNT_ROWS (sizeof option_table / sizeof option_table[0])

/* --- the proxy ---------------------------------------------------------- */

enum conn_state {
  CONN_CONNECTING, /* accepted; connecting to the target, nothing read yet */
  CONN_OPEN,       /* forwarding */
  CONN_PAUSED,     /* partitioned: both sockets open, nothing passes */
  CONN_CLOSING     /* handles closing; freed when the last one has closed */
};

enum close_how {
  CLOSE_GRACEFUL, /* both sides half-closed: an ordinary close */
  CLOSE_RESET,    /* a peer failed or we quit: RST, not counted as a cut */
  CLOSE_CUT       /* an injected fault: RST, counted in stats "cut" */
};

struct chunk {
  struct chunk *next;
  uint64_t due_ms; /* loop time at which it may be forwarded */
  size_t len;
  size_t off; /* bytes already handed to uv_write */
  char data[];
};

struct conn;

struct direction {
  struct conn *conn;
  uv_tcp_t *src; /* read from */
  uv_tcp_t *dst; /* written to */
  uint64_t *forwarded_total; /* proxy.stats.up or .down */
  struct chunk *head, *tail;
  size_t queued;    /* bytes in the FIFO not yet handed to uv_write */
  size_t in_flight; /* bytes handed to uv_write, not yet completed */
  uv_timer_t timer; /* wakes the pump for a due time or for tokens */
  double tokens;
  uint64_t refill_ms;
  bool reading;  /* uv_read_start is active on src */
  bool eof;      /* src half-closed */
  bool shut;     /* uv_shutdown issued on dst */
  bool shut_done;
  uv_shutdown_t shutdown_req;
};

struct conn {
  enum conn_state state;
  uint64_t id;
  struct conn *prev, *next; /* proxy.conns while not CLOSING */
  uv_tcp_t client, server;
  uv_connect_t connect_req;
  struct direction up, down;
  uint64_t forwarded; /* both directions, for --cut-after */
  bool cut_due;       /* --cut-after reached; reset once writes finish */
  int open_handles;
};

struct write_req {
  uv_write_t req; /* first: the callback casts back */
  struct direction *dir;
  size_t len;
  char data[];
};

static struct {
  uv_loop_t loop;
  uv_tcp_t listener;
  struct sockaddr_in target;
  uv_timer_t cut_timer;
  uv_signal_t sigterm, sigint;
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
  } control;
  bool control_open;
  char line[CONTROL_LINE_MAX];
  size_t line_len;
  bool line_too_long;
  struct conn *conns;
  bool paused;
  bool accept_pending; /* a connection waits in the listener while paused */
  bool quitting;
  uint64_t next_id;
  uint64_t rng;
  struct {
    uint64_t conns, cut, up, down;
    size_t live;
  } stats;
} proxy;

static void conn_close(struct conn *c, enum close_how how, const char *why);
static void direction_pump(struct direction *d);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void log_event(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Diagnostics go to stderr. */
static void log_event(const char *fmt, ...)
{
  va_list ap;

  fputs("faultproxy: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* Stdout carries only lines a test waits for: "seed", "listening", command
 * replies. Each is flushed at once. */
static void say(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static void die(const char *fmt, ...)
{
  va_list ap;

  fputs("faultproxy: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

static void *xmalloc(size_t size)
{
  void *p = malloc(size);

  if (p == NULL)
    die("out of memory");
  return p;
}

/* splitmix64: small, and the same sequence for the same --seed. */
static uint64_t random_next(void)
{
  uint64_t z = (proxy.rng += UINT64_C(0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double random_unit(void)
{
  return (double)(random_next() >> 11) * 0x1.0p-53;
}

/* --- one direction of a connection ------------------------------------- */

static double bucket_capacity(void)
{
  double cap = (double)opt.rate / 10.0; /* bursts of at most 100 ms */

  return cap < 1.0 ? 1.0 : cap;
}

static void bucket_refill(struct direction *d, uint64_t now)
{
  d->tokens += (double)(now - d->refill_ms) * (double)opt.rate / 1000.0;
  if (d->tokens > bucket_capacity())
    d->tokens = bucket_capacity();
  d->refill_ms = now;
}

static void on_direction_timer(uv_timer_t *timer)
{
  direction_pump(timer->data);
}

static void direction_wake_in(struct direction *d, uint64_t ms)
{
  uv_timer_start(&d->timer, on_direction_timer, ms, 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  /* read_cb runs right after alloc_cb and copies out what it keeps, so one
   * scratch buffer serves every socket. */
  static char scratch[READ_SIZE];

  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(scratch, sizeof scratch);
}

/* Reads from src exactly when the connection is open, the sender has not
 * finished and the direction has room (with hysteresis). */
static void direction_update_reading(struct direction *d)
{
  struct conn *c = d->conn;
  size_t buffered = d->queued + d->in_flight;
  size_t limit = d->reading ? BUFFER_HIGH_WATER : BUFFER_LOW_WATER;
  bool want = c->state == CONN_OPEN && !c->cut_due && !d->eof &&
              buffered < limit;
  int rc;

  if (want == d->reading)
    return;
  if (!want) {
    uv_read_stop((uv_stream_t *)d->src);
    d->reading = false;
    return;
  }
  rc = uv_read_start((uv_stream_t *)d->src, on_alloc, on_read);
  if (rc < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror(rc));
    return;
  }
  d->reading = true;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct direction *d = req->data;
  struct conn *c = d->conn;

  d->shut_done = true;
  if (c->state == CONN_CLOSING)
    return;
  if (status < 0)
    conn_close(c, CLOSE_RESET, uv_strerror(status));
  else if (c->up.shut_done && c->down.shut_done)
    conn_close(c, CLOSE_GRACEFUL, NULL);
}

/* Passes the sender's half-close on once everything before it has gone. */
static void direction_maybe_shutdown(struct direction *d)
{
  struct conn *c = d->conn;
  int rc;

  if (!d->eof || d->shut || d->head != NULL || c->state != CONN_OPEN ||
      c->cut_due)
    return;
  d->shutdown_req.data = d;
  rc = uv_shutdown(&d->shutdown_req, (uv_stream_t *)d->dst, on_shutdown);
  if (rc < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror(rc));
    return;
  }
  d->shut = true;
}

/* --cut-after: the connection is reset once its last permitted bytes have
 * been written, so the peer receives cut-after bytes or fewer. */
static void conn_cut_if_due(struct conn *c)
{
  if (c->cut_due && c->up.in_flight == 0 && c->down.in_flight == 0)
    conn_close(c, CLOSE_CUT, "cut-after");
}

static void on_write(uv_write_t *req, int status)
{
  struct write_req *w = (struct write_req *)req;
  struct direction *d = w->dir;
  struct conn *c = d->conn;

  d->in_flight -= w->len;
  if (status == 0)
    *d->forwarded_total += w->len;
  free(w);
  if (c->state == CONN_CLOSING)
    return;
  if (status < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror(status));
    return;
  }
  if (c->cut_due) {
    conn_cut_if_due(c);
    return;
  }
  direction_update_reading(d);
  direction_maybe_shutdown(d);
}

/* Copies len bytes into a write request. Returns 0, or -1 when the write
 * failed and the connection is now closing. */
static int direction_write(struct direction *d, const char *data, size_t len)
{
  struct write_req *w = xmalloc(sizeof *w + len);
  uv_buf_t buf;
  int rc;

  w->dir = d;
  w->len = len;
  memcpy(w->data, data, len);
  buf = uv_buf_init(w->data, (unsigned int)len);
  rc = uv_write(&w->req, (uv_stream_t *)d->dst, &buf, 1, on_write);
  if (rc < 0) {
    free(w);
    conn_close(d->conn, CLOSE_RESET, uv_strerror(rc));
    return -1;
  }
  d->in_flight += len;
  return 0;
}

/* Writes whatever the delay, the token bucket and --cut-after allow, in
 * order, and arms the timer for the rest. Does nothing unless OPEN. */
static void direction_pump(struct direction *d)
{
  struct conn *c = d->conn;
  uint64_t now = uv_now(&proxy.loop);

  while (c->state == CONN_OPEN && !c->cut_due && d->head != NULL) {
    struct chunk *ch = d->head;
    size_t n = ch->len - ch->off;

    if (ch->due_ms > now) {
      direction_wake_in(d, ch->due_ms - now);
      return;
    }
    if (opt.rate > 0) {
      double want = (double)n < bucket_capacity() ? (double)n
                                                   : bucket_capacity();

      bucket_refill(d, now);
      if (d->tokens < want) {
        direction_wake_in(
            d, (uint64_t)((want - d->tokens) * 1000.0 / (double)opt.rate) + 1);
        return;
      }
      if ((double)n > d->tokens)
        n = (size_t)d->tokens;
    }
    if (opt.cut_after > 0) {
      if (c->forwarded >= opt.cut_after) {
        c->cut_due = true;
        break;
      }
      if (n > opt.cut_after - c->forwarded)
        n = (size_t)(opt.cut_after - c->forwarded);
    }
    if (direction_write(d, ch->data + ch->off, n) < 0)
      return;
    if (opt.rate > 0)
      d->tokens -= (double)n;
    c->forwarded += n;
    ch->off += n;
    d->queued -= n;
    if (ch->off == ch->len) {
      d->head = ch->next;
      if (d->head == NULL)
        d->tail = NULL;
      free(ch);
    }
    if (opt.cut_after > 0 && c->forwarded >= opt.cut_after)
      c->cut_due = true;
  }
  if (c->cut_due) {
    direction_update_reading(&c->up);
    direction_update_reading(&c->down);
    conn_cut_if_due(c);
    return;
  }
  direction_maybe_shutdown(d);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct direction *d = stream->data;
  struct conn *c = d->conn;
  struct chunk *ch;

  if (nread == 0)
    return;
  if (nread == UV_EOF) {
    d->eof = true;
    direction_update_reading(d);
    direction_maybe_shutdown(d);
    return;
  }
  if (nread < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror((int)nread));
    return;
  }
  ch = xmalloc(sizeof *ch + (size_t)nread);
  ch->next = NULL;
  ch->len = (size_t)nread;
  ch->off = 0;
  memcpy(ch->data, buf->base, ch->len);
  ch->due_ms = uv_now(&proxy.loop) + opt.delay_ms;
  if (opt.drop > 0 && random_unit() < opt.drop)
    ch->due_ms += STALL_MIN_MS +
                  random_next() % (STALL_MAX_MS - STALL_MIN_MS + 1);
  if (d->tail != NULL)
    d->tail->next = ch;
  else
    d->head = ch;
  d->tail = ch;
  d->queued += ch->len;
  direction_update_reading(d);
  direction_pump(d);
}

static void direction_init(struct direction *d, struct conn *c, uv_tcp_t *src,
                           uv_tcp_t *dst, uint64_t *forwarded_total)
{
  int rc;

  d->conn = c;
  d->src = src;
  d->dst = dst;
  d->forwarded_total = forwarded_total;
  d->tokens = bucket_capacity();
  d->refill_ms = uv_now(&proxy.loop);
  if ((rc = uv_timer_init(&proxy.loop, &d->timer)) < 0)
    die("uv_timer_init: %s", uv_strerror(rc));
  d->timer.data = d;
}

static void direction_discard(struct direction *d)
{
  while (d->head != NULL) {
    struct chunk *next = d->head->next;

    free(d->head);
    d->head = next;
  }
  d->tail = NULL;
  d->queued = 0;
}

/* --- the connection state machine -------------------------------------- */

static void conn_link(struct conn *c)
{
  c->next = proxy.conns;
  if (proxy.conns != NULL)
    proxy.conns->prev = c;
  proxy.conns = c;
  proxy.stats.live++;
}

static void conn_unlink(struct conn *c)
{
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    proxy.conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  proxy.stats.live--;
}

/* Moves a connection that is not closing between CONNECTING, OPEN and
 * PAUSED, and does what entering the new state means. conn_close() is the
 * only way into CLOSING. */
static void conn_set_state(struct conn *c, enum conn_state to)
{
  struct direction *dirs[2] = {&c->up, &c->down};

  if (c->state == CONN_CLOSING || c->state == to)
    return;
  c->state = to;
  for (size_t i = 0; i < 2 && c->state == to; i++) {
    if (to == CONN_PAUSED)
      uv_timer_stop(&dirs[i]->timer);
    direction_update_reading(dirs[i]);
    if (to == CONN_OPEN && c->state == to)
      direction_pump(dirs[i]);
  }
}

/* The one place a connection is freed: after its four handles closed. */
static void on_conn_handle_closed(uv_handle_t *handle)
{
  struct direction *d = handle->data;
  struct conn *c = d->conn;

  if (--c->open_handles == 0)
    free(c);
}

static void set_linger_zero(uv_tcp_t *tcp)
{
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  uv_os_fd_t fd;

  if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Closes both sockets of c, with an RST unless how is CLOSE_GRACEFUL.
 * Safe to call more than once; c is freed later, in on_conn_handle_closed. */
static void conn_close(struct conn *c, enum close_how how, const char *why)
{
  if (c->state == CONN_CLOSING)
    return;
  c->state = CONN_CLOSING;
  conn_unlink(c);
  if (how == CLOSE_CUT) {
    proxy.stats.cut++;
    log_event("conn %" PRIu64 ": cut (%s)", c->id, why);
  } else if (how == CLOSE_RESET && why != NULL) {
    log_event("conn %" PRIu64 ": reset (%s)", c->id, why);
  }
  if (how != CLOSE_GRACEFUL) {
    set_linger_zero(&c->client);
    set_linger_zero(&c->server);
  }
  direction_discard(&c->up);
  direction_discard(&c->down);
  uv_close((uv_handle_t *)&c->client, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->server, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->up.timer, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->down.timer, on_conn_handle_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
  struct conn *c = req->data;

  if (c->state == CONN_CLOSING)
    return;
  if (status < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&c->server, 1);
  conn_set_state(c, proxy.paused ? CONN_PAUSED : CONN_OPEN);
}

static void proxy_accept(void)
{
  struct conn *c = xmalloc(sizeof *c);
  int rc;

  memset(c, 0, sizeof *c);
  c->id = ++proxy.next_id;
  c->state = CONN_CONNECTING;
  if ((rc = uv_tcp_init(&proxy.loop, &c->client)) < 0 ||
      (rc = uv_tcp_init(&proxy.loop, &c->server)) < 0)
    die("uv_tcp_init: %s", uv_strerror(rc));
  direction_init(&c->up, c, &c->client, &c->server, &proxy.stats.up);
  direction_init(&c->down, c, &c->server, &c->client, &proxy.stats.down);
  c->client.data = &c->up;   /* a socket's data is the direction it feeds */
  c->server.data = &c->down;
  c->open_handles = 4;
  conn_link(c);
  proxy.stats.conns++;

  rc = uv_accept((uv_stream_t *)&proxy.listener, (uv_stream_t *)&c->client);
  if (rc < 0) {
    conn_close(c, CLOSE_RESET, uv_strerror(rc));
    return;
  }
  uv_tcp_nodelay(&c->client, 1);
  c->connect_req.data = c;
  rc = uv_tcp_connect(&c->connect_req, &c->server,
                      (const struct sockaddr *)&proxy.target, on_connect);
  if (rc < 0)
    conn_close(c, CLOSE_RESET, uv_strerror(rc));
}

static void on_connection(uv_stream_t *listener, int status)
{
  (void)listener;
  if (status < 0) {
    log_event("accept: %s", uv_strerror(status));
    return;
  }
  /* Not calling uv_accept() makes libuv stop polling the listener until we
   * do: new connections wait in the kernel backlog during a partition. */
  if (proxy.paused) {
    proxy.accept_pending = true;
    return;
  }
  proxy_accept();
}

/* Closes every live connection; returns how many. */
static size_t proxy_close_all(enum close_how how, const char *why)
{
  size_t n = 0;

  while (proxy.conns != NULL) {
    conn_close(proxy.conns, how, why); /* unlinks it */
    n++;
  }
  return n;
}

static void proxy_set_paused(bool paused)
{
  struct conn *c, *next;

  proxy.paused = paused;
  for (c = proxy.conns; c != NULL; c = next) {
    next = c->next;
    if (c->state == CONN_OPEN || c->state == CONN_PAUSED)
      conn_set_state(c, paused ? CONN_PAUSED : CONN_OPEN);
  }
  if (!paused && proxy.accept_pending) {
    proxy.accept_pending = false;
    proxy_accept();
  }
}

static void on_cut_timer(uv_timer_t *timer)
{
  (void)timer;
  proxy_close_all(CLOSE_CUT, "cut-every");
}

static void apply_cut_every(void)
{
  if (opt.cut_every_ms > 0)
    uv_timer_start(&proxy.cut_timer, on_cut_timer, opt.cut_every_ms,
                   opt.cut_every_ms);
  else
    uv_timer_stop(&proxy.cut_timer);
}

/* After a change of delay, rate or cut-after, re-evaluate every queue. */
static void apply_repump(void)
{
  struct conn *c, *next;

  for (c = proxy.conns; c != NULL; c = next) {
    next = c->next;
    direction_pump(&c->up);
    if (c->state == CONN_OPEN)
      direction_pump(&c->down);
  }
}

static void on_handle_closed_quietly(uv_handle_t *handle)
{
  (void)handle;
}

/* Stops everything; the loop then ends once the last handle has closed. */
static void proxy_shutdown(void)
{
  if (proxy.quitting)
    return;
  proxy.quitting = true;
  uv_close((uv_handle_t *)&proxy.listener, on_handle_closed_quietly);
  uv_close((uv_handle_t *)&proxy.cut_timer, on_handle_closed_quietly);
  uv_close((uv_handle_t *)&proxy.sigterm, on_handle_closed_quietly);
  uv_close((uv_handle_t *)&proxy.sigint, on_handle_closed_quietly);
  if (proxy.control_open) {
    uv_close((uv_handle_t *)&proxy.control, on_handle_closed_quietly);
    proxy.control_open = false;
  }
  proxy_close_all(CLOSE_RESET, NULL);
}

static void on_signal(uv_signal_t *handle, int signum)
{
  (void)handle;
  log_event("signal %d, exiting", signum);
  proxy_shutdown();
}

/* --- options and addresses --------------------------------------------- */

static const struct option_row *option_find(const char *name)
{
  for (size_t i = 0; i < OPTION_COUNT_ROWS; i++)
    if (strcmp(option_table[i].name, name) == 0)
      return &option_table[i];
  return NULL;
}

/* Parses text into the row's value. Returns 0, or -1 with a sentence naming
 * the option in err. The value is untouched on failure. */
static int option_parse(const struct option_row *row, const char *text,
                        char *err, size_t errlen)
{
  char *end;

  errno = 0;
  if (row->kind == OPTION_PROBABILITY) {
    double p = strtod(text, &end);

    if (*text == '\0' || *end != '\0' || errno != 0 || !(p >= 0.0 && p <= 1.0)) {
      snprintf(err, errlen, "%s: '%s' is not a probability from 0 to 1",
               row->name, text);
      return -1;
    }
    *row->probability = p;
    return 0;
  }
  unsigned long long v = strtoull(text, &end, 10);

  if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 ||
      v > row->max) {
    snprintf(err, errlen, "%s: '%s' is not a whole number from 0 to %" PRIu64,
             row->name, text, row->max);
    return -1;
  }
  *row->count = (uint64_t)v;
  return 0;
}

/* Parses "127.0.0.1:PORT" or "localhost:PORT". Returns 0, or -1 with the
 * reason in err: any other host is refused, tests must stay on loopback. */
static int parse_loopback(const char *text, bool allow_port_zero,
                          struct sockaddr_in *out, char *err, size_t errlen)
{
  const char *colon = strrchr(text, ':');
  size_t host_len;
  char *end;
  unsigned long port;

  if (colon == NULL) {
    snprintf(err, errlen, "'%s' is not HOST:PORT", text);
    return -1;
  }
  host_len = (size_t)(colon - text);
  if (!((host_len == 9 && strncmp(text, "127.0.0.1", 9) == 0) ||
        (host_len == 9 && strncmp(text, "localhost", 9) == 0))) {
    snprintf(err, errlen,
             "'%.*s' refused: only 127.0.0.1 or localhost is allowed "
             "(tests must never touch other hosts)",
             (int)host_len, text);
    return -1;
  }
  errno = 0;
  port = strtoul(colon + 1, &end, 10);
  if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
      port > 65535 || (port == 0 && !allow_port_zero)) {
    snprintf(err, errlen, "'%s' is not a port from %d to 65535", colon + 1,
             allow_port_zero ? 0 : 1);
    return -1;
  }
  return uv_ip4_addr("127.0.0.1", (int)port, out) == 0 ? 0 : -1;
}

/* --- the control interface on stdin ------------------------------------ */

static void say_stats(void)
{
  say("stats conns=%" PRIu64 " cut=%" PRIu64 " up=%" PRIu64 " down=%" PRIu64
      " live=%zu paused=%d",
      proxy.stats.conns, proxy.stats.cut, proxy.stats.up, proxy.stats.down,
      proxy.stats.live, proxy.paused ? 1 : 0);
}

static void say_help(void)
{
  say("commands: pause | resume | cut | stats | quit | set NAME VALUE");
  for (size_t i = 0; i < OPTION_COUNT_ROWS; i++)
    if (option_table[i].runtime)
      say("  set %s %s", option_table[i].name, option_table[i].arg);
}

/* Runs one command line; replies "ok ..." or "error: ..." on stdout. */
static void control_run(char *line)
{
  char *words[4];
  size_t n = 0;
  char *save = NULL;

  for (char *w = strtok_r(line, " \t\r", &save); w != NULL && n < 4;
       w = strtok_r(NULL, " \t\r", &save))
    words[n++] = w;
  if (n == 0)
    return;
  if (strcmp(words[0], "pause") == 0 && n == 1) {
    proxy_set_paused(true);
    say("ok pause");
  } else if (strcmp(words[0], "resume") == 0 && n == 1) {
    proxy_set_paused(false);
    say("ok resume");
  } else if (strcmp(words[0], "cut") == 0 && n == 1) {
    say("ok cut %zu", proxy_close_all(CLOSE_CUT, "cut command"));
  } else if (strcmp(words[0], "stats") == 0 && n == 1) {
    say_stats();
  } else if (strcmp(words[0], "help") == 0 && n == 1) {
    say_help();
  } else if (strcmp(words[0], "quit") == 0 && n == 1) {
    say("ok quit");
    proxy_shutdown();
  } else if (strcmp(words[0], "set") == 0 && n == 3) {
    const struct option_row *row = option_find(words[1]);
    char err[160];

    if (row == NULL || !row->runtime) {
      say("error: set: '%s' cannot be changed at run time (try help)",
          words[1]);
    } else if (option_parse(row, words[2], err, sizeof err) < 0) {
      say("error: set %s", err);
    } else {
      if (row->apply != NULL)
        row->apply();
      say("ok set %s %s", row->name, words[2]);
    }
  } else {
    say("error: unknown command '%s' (try help)", words[0]);
  }
}

static void control_stop(void)
{
  if (!proxy.control_open)
    return;
  uv_close((uv_handle_t *)&proxy.control, on_handle_closed_quietly);
  proxy.control_open = false;
}

static void on_control_read(uv_stream_t *stream, ssize_t nread,
                            const uv_buf_t *buf)
{
  (void)stream;
  if (nread < 0) {
    /* End of stdin ends the control interface, not the proxy: a proxy
     * started in the background with stdin on /dev/null keeps running. */
    control_stop();
    return;
  }
  for (ssize_t i = 0; i < nread && !proxy.quitting; i++) {
    char ch = buf->base[i];

    if (ch != '\n') {
      if (proxy.line_len + 1 < sizeof proxy.line)
        proxy.line[proxy.line_len++] = ch;
      else
        proxy.line_too_long = true;
      continue;
    }
    proxy.line[proxy.line_len] = '\0';
    if (proxy.line_too_long)
      say("error: command longer than %d bytes ignored", CONTROL_LINE_MAX - 1);
    else
      control_run(proxy.line);
    proxy.line_len = 0;
    proxy.line_too_long = false;
  }
}

static void control_start(void)
{
  uv_handle_type type = uv_guess_handle(0);
  int rc;

  if (type == UV_TTY) {
    rc = uv_tty_init(&proxy.loop, &proxy.control.tty, 0, 1);
    if (rc < 0) {
      log_event("stdin: %s; control commands disabled", uv_strerror(rc));
      return;
    }
  } else if (type == UV_NAMED_PIPE) {
    if ((rc = uv_pipe_init(&proxy.loop, &proxy.control.pipe, 0)) < 0)
      die("uv_pipe_init: %s", uv_strerror(rc));
    if ((rc = uv_pipe_open(&proxy.control.pipe, 0)) < 0) {
      uv_close((uv_handle_t *)&proxy.control, on_handle_closed_quietly);
      log_event("stdin: %s; control commands disabled", uv_strerror(rc));
      return;
    }
  } else {
    return; /* /dev/null or a file: no control interface */
  }
  proxy.control_open = true;
  rc = uv_read_start((uv_stream_t *)&proxy.control, on_alloc, on_control_read);
  if (rc < 0) {
    log_event("stdin: %s; control commands disabled", uv_strerror(rc));
    control_stop();
  }
}

/* --- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
  fprintf(to,
          "usage: faultproxy --listen 127.0.0.1:PORT --connect 127.0.0.1:PORT "
          "[options]\n"
          "Forwards TCP connections on loopback, injecting faults in each "
          "direction.\n"
          "--listen 127.0.0.1:0 picks a free port; the line "
          "\"listening 127.0.0.1:PORT\" says which.\n\noptions:\n");
  for (size_t i = 0; i < OPTION_COUNT_ROWS; i++) {
    char flag[40];

    snprintf(flag, sizeof flag, "--%s %s", option_table[i].name,
             option_table[i].arg);
    fprintf(to, "  %-24s %s\n", flag, option_table[i].help);
  }
  fprintf(to, "\ncommands on stdin, one per line: pause, resume, cut, stats, "
              "quit, help,\n  set delay|rate|drop|cut-after|cut-every VALUE\n");
}

static void parse_args(int argc, char **argv, struct sockaddr_in *listen_addr,
                       bool *seed_given)
{
  bool have_listen = false, have_connect = false;
  char err[200];

  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    const struct option_row *row;

    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    if (strncmp(flag, "--", 2) != 0 || i + 1 >= argc) {
      fprintf(stderr, "faultproxy: %s: expected --OPTION VALUE\n", flag);
      usage(stderr);
      exit(2);
    }
    const char *value = argv[++i];

    if (strcmp(flag, "--listen") == 0) {
      if (parse_loopback(value, true, listen_addr, err, sizeof err) < 0)
        die("--listen %s", err);
      have_listen = true;
    } else if (strcmp(flag, "--connect") == 0) {
      if (parse_loopback(value, false, &proxy.target, err, sizeof err) < 0)
        die("--connect %s", err);
      have_connect = true;
    } else if ((row = option_find(flag + 2)) != NULL) {
      if (option_parse(row, value, err, sizeof err) < 0)
        die("--%s", err);
      if (row->count == &opt.seed)
        *seed_given = true;
    } else {
      fprintf(stderr, "faultproxy: unknown option %s\n", flag);
      usage(stderr);
      exit(2);
    }
  }
  if (!have_listen || !have_connect) {
    fprintf(stderr, "faultproxy: --listen and --connect are required\n");
    usage(stderr);
    exit(2);
  }
}

int main(int argc, char **argv)
{
  struct sockaddr_in listen_addr;
  struct sockaddr_storage bound;
  int bound_len = sizeof bound;
  bool seed_given = false;
  int rc;

  parse_args(argc, argv, &listen_addr, &seed_given);
  signal(SIGPIPE, SIG_IGN);
  if ((rc = uv_loop_init(&proxy.loop)) < 0)
    die("uv_loop_init: %s", uv_strerror(rc));
  if (!seed_given)
    opt.seed = uv_hrtime() ^ (uint64_t)uv_os_getpid();
  proxy.rng = opt.seed;

  if ((rc = uv_tcp_init(&proxy.loop, &proxy.listener)) < 0)
    die("uv_tcp_init: %s", uv_strerror(rc));
  if ((rc = uv_tcp_bind(&proxy.listener, (const struct sockaddr *)&listen_addr,
                        0)) < 0 ||
      (rc = uv_listen((uv_stream_t *)&proxy.listener, LISTEN_BACKLOG,
                      on_connection)) < 0 ||
      (rc = uv_tcp_getsockname(&proxy.listener, (struct sockaddr *)&bound,
                               &bound_len)) < 0)
    die("--listen 127.0.0.1:%d: %s", ntohs(listen_addr.sin_port),
        uv_strerror(rc));

  uv_timer_init(&proxy.loop, &proxy.cut_timer);
  apply_cut_every();
  uv_signal_init(&proxy.loop, &proxy.sigterm);
  uv_signal_start(&proxy.sigterm, on_signal, SIGTERM);
  uv_signal_init(&proxy.loop, &proxy.sigint);
  uv_signal_start(&proxy.sigint, on_signal, SIGINT);
  control_start();

  say("seed %" PRIu64, opt.seed);
  say("listening 127.0.0.1:%d",
      ntohs(((struct sockaddr_in *)&bound)->sin_port));

  uv_run(&proxy.loop, UV_RUN_DEFAULT);
  if ((rc = uv_loop_close(&proxy.loop)) < 0) {
    log_event("handles left open at exit: %s", uv_strerror(rc));
    return 1;
  }
  return 0;
}
