/* server.c: the local Unix socket and its per-connection state machines. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "frame.h"
#include "log.h"

#define READ_CHUNK (64 * 1024)
#define UNSENT_MAX (4 * 1024 * 1024) /* stop reading a client above this */

typedef enum { CONN_READING, CONN_PAUSED, CONN_CLOSING } conn_state;

typedef struct cairn_conn cairn_conn;

struct cairn_slot {
  cairn_conn *conn;      /* NULL for a call from inside cairnd */
  cairn_server *srv;     /* a call's server (its detach) */
  cairn_server_call_done done; /* a call's answer goes here */
  void *done_arg;
  int ready;             /* frame holds the reply */
  msgpack_sbuffer frame;
  void *pending;         /* the handler's request in progress, if any */
  cairn_slot *next;
};

struct cairn_conn {
  uv_pipe_t pipe; /* first: the handle's address is the connection's */
  cairn_server *srv;
  conn_state state;
  int reading;     /* uv_read_start is active */
  uint8_t *buf;    /* received, not yet handled */
  size_t len, cap;
  cairn_slot *head, *tail; /* replies in request order */
  size_t inflight;         /* slots not yet answered */
  uint64_t id;
  cairn_conn *prev, *next;
};

struct cairn_server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  char path[108];
  cairn_server_handler handler;
  cairn_server_detach detach;
  void *arg;
  cairn_conn *conns;
  uint64_t next_id;
  int accepting;
  int closing;
  size_t open_handles; /* listener + connections not yet closed */
};

typedef struct {
  uv_write_t req;
  msgpack_sbuffer frame;
} reply_write;

static void conn_process(cairn_conn *c);
static void conn_close(cairn_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

void cairn_server_frame_init(msgpack_sbuffer *frame) {
  static const char zero[CAIRN_FRAME_HEADER];

  msgpack_sbuffer_init(frame);
  msgpack_sbuffer_write(frame, zero, sizeof zero);
}

static void server_maybe_free(cairn_server *s) {
  if (s->closing && s->open_handles == 0)
    free(s);
}

static int conn_under_limits(const cairn_conn *c) {
  return c->inflight < CAIRN_FRAME_PIPELINE_MAX &&
         c->pipe.write_queue_size <= UNSENT_MAX;
}

/* The one function that moves a connection between states. */
static void conn_set_state(cairn_conn *c, conn_state next) {
  uv_stream_t *stream = (uv_stream_t *)&c->pipe;

  if (c->state == CONN_CLOSING)
    return;
  if (next == CONN_READING && !conn_under_limits(c))
    next = CONN_PAUSED;
  c->state = next;
  switch (next) {
  case CONN_READING:
    if (!c->reading && c->srv->accepting) {
      uv_read_start(stream, on_alloc, on_read);
      c->reading = 1;
    }
    break;
  case CONN_PAUSED:
    if (c->reading) {
      uv_read_stop(stream);
      c->reading = 0;
    }
    break;
  case CONN_CLOSING:
    conn_close(c);
    break;
  }
}

static void on_conn_close(uv_handle_t *h) {
  cairn_conn *c = (cairn_conn *)h;
  cairn_server *s = c->srv;

  free(c->buf);
  free(c);
  s->open_handles--;
  server_maybe_free(s);
}

static void conn_close(cairn_conn *c) {
  cairn_server *s = c->srv;

  c->state = CONN_CLOSING;
  while (c->head) {
    cairn_slot *slot = c->head;
    c->head = slot->next;
    if (slot->ready)
      msgpack_sbuffer_destroy(&slot->frame);
    else if (slot->pending)
      s->detach(slot->pending); /* the work goes on; its reply has nowhere to go */
    free(slot);
  }
  c->tail = NULL;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->pipe, on_conn_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
  cairn_conn *c = (cairn_conn *)h;
  size_t want = c->len + READ_CHUNK;

  (void)suggested;
  if (want > c->cap) {
    uint8_t *nb = realloc(c->buf, want);
    if (nb == NULL) {
      *out = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
      return;
    }
    c->buf = nb;
    c->cap = want;
  }
  *out = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  cairn_conn *c = (cairn_conn *)stream;

  (void)buf;
  if (nread < 0) {
    if (nread != UV_EOF)
      cairn_log_debug("conn=%llu read error: %s", (unsigned long long)c->id, uv_strerror((int)nread));
    conn_set_state(c, CONN_CLOSING);
    return;
  }
  c->len += (size_t)nread;
  conn_process(c);
}

static void on_write(uv_write_t *req, int status) {
  reply_write *w = (reply_write *)req;
  cairn_conn *c = (cairn_conn *)req->handle;

  msgpack_sbuffer_destroy(&w->frame);
  free(w);
  if (status < 0) {
    conn_set_state(c, CONN_CLOSING);
    return;
  }
  if (c->state == CONN_PAUSED && conn_under_limits(c)) {
    conn_set_state(c, CONN_READING);
    conn_process(c);
  }
}

static void conn_send(cairn_conn *c, msgpack_sbuffer *frame) {
  reply_write *w = malloc(sizeof *w);
  uv_buf_t b;

  if (w == NULL) {
    msgpack_sbuffer_destroy(frame);
    conn_set_state(c, CONN_CLOSING);
    return;
  }
  w->frame = *frame;
  cairn_frame_header((uint8_t *)w->frame.data, (uint32_t)(w->frame.size - CAIRN_FRAME_HEADER));
  b = uv_buf_init(w->frame.data, (unsigned)w->frame.size);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write) != 0) {
    msgpack_sbuffer_destroy(&w->frame);
    free(w);
    conn_set_state(c, CONN_CLOSING);
  }
}

/* Sends every answered reply at the head of the queue, in order. */
static void conn_flush(cairn_conn *c) {
  while (c->head && c->head->ready && c->state != CONN_CLOSING) {
    cairn_slot *slot = c->head;
    c->head = slot->next;
    if (c->head == NULL)
      c->tail = NULL;
    conn_send(c, &slot->frame);
    free(slot);
  }
}

/* Handles every whole request buffered, while under the limits, then
 * moves what is left (a partial frame) to the front once. */
static void conn_process(cairn_conn *c) {
  size_t off = 0;

  if (c->len == 0)
    return; /* nothing buffered (an idle connection holds no buffer) */
  while (c->state == CONN_READING) {
    const uint8_t *payload;
    size_t plen, used;
    cairn_slot *slot;
    cairn_handled h;
    int rc = cairn_frame_decode(c->buf + off, c->len - off, CAIRN_FRAME_MAX, &payload, &plen,
                                &used);

    if (rc == CAIRN_EAGAIN)
      break;
    if (rc != 0) {
      cairn_log_warn("conn=%llu closed: frame length is 0 or over %d bytes",
                     (unsigned long long)c->id, CAIRN_FRAME_MAX);
      conn_set_state(c, CONN_CLOSING);
      return;
    }
    slot = calloc(1, sizeof *slot);
    if (slot == NULL) {
      conn_set_state(c, CONN_CLOSING);
      return;
    }
    slot->conn = c;
    if (c->tail)
      c->tail->next = slot;
    else
      c->head = slot;
    c->tail = slot;
    c->inflight++;
    cairn_server_frame_init(&slot->frame);
    h = c->srv->handler(c->srv->arg, slot, payload, plen, &slot->frame);
    off += used;
    if (h == CAIRN_HANDLED_VIOLATION) {
      msgpack_sbuffer_destroy(&slot->frame);
      cairn_log_warn("conn=%llu closed: malformed request", (unsigned long long)c->id);
      conn_set_state(c, CONN_CLOSING);
      return;
    }
    if (h == CAIRN_HANDLED_REPLY) {
      slot->ready = 1;
      c->inflight--;
      conn_flush(c);
    } else {
      msgpack_sbuffer_destroy(&slot->frame);
    }
    conn_set_state(c, CONN_READING); /* pauses when over a limit */
  }
  if (c->state == CONN_CLOSING)
    return;
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
  /* Keep idle connections small. */
  if (c->len == 0 && c->cap > READ_CHUNK) {
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
  }
}

/* The answer to a call from inside cairnd: to its done, then freed. */
static void call_answer(cairn_slot *slot, msgpack_sbuffer *frame) {
  slot->done(slot->done_arg, (const uint8_t *)frame->data + CAIRN_FRAME_HEADER,
             frame->size - CAIRN_FRAME_HEADER);
  msgpack_sbuffer_destroy(frame);
  free(slot);
}

void cairn_server_reply(cairn_slot *slot, msgpack_sbuffer *frame) {
  cairn_conn *c = slot->conn;

  if (c == NULL) {
    call_answer(slot, frame);
    return;
  }
  slot->frame = *frame;
  slot->ready = 1;
  slot->pending = NULL;
  c->inflight--;
  conn_flush(c);
  if (c->state == CONN_PAUSED && conn_under_limits(c)) {
    conn_set_state(c, CONN_READING);
    conn_process(c);
  }
}

void cairn_server_slot_pending(cairn_slot *slot, void *pending) { slot->pending = pending; }

cairn_slot *cairn_server_call(cairn_server *s, const uint8_t *payload, size_t len,
                              cairn_server_call_done done, void *arg) {
  cairn_slot *slot = calloc(1, sizeof *slot);
  cairn_handled h;

  if (slot == NULL) {
    msgpack_sbuffer frame;
    msgpack_packer pk;
    cairn_server_frame_init(&frame);
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2); /* {"ok": false, "code": ENOMEM} */
    msgpack_pack_str_with_body(&pk, "ok", 2);
    msgpack_pack_false(&pk);
    msgpack_pack_str_with_body(&pk, "code", 4);
    msgpack_pack_int(&pk, CAIRN_ENOMEM);
    done(arg, (const uint8_t *)frame.data + CAIRN_FRAME_HEADER, frame.size - CAIRN_FRAME_HEADER);
    msgpack_sbuffer_destroy(&frame);
    return NULL;
  }
  slot->srv = s;
  slot->done = done;
  slot->done_arg = arg;
  cairn_server_frame_init(&slot->frame);
  h = s->handler(s->arg, slot, payload, len, &slot->frame);
  if (h == CAIRN_HANDLED_LATER) {
    msgpack_sbuffer_destroy(&slot->frame);
    return slot;
  }
  if (h == CAIRN_HANDLED_VIOLATION) {
    msgpack_sbuffer_destroy(&slot->frame);
    free(slot);
    done(arg, NULL, 0);
    return NULL;
  }
  call_answer(slot, &slot->frame);
  return NULL;
}

void cairn_server_call_cancel(cairn_slot *slot) {
  if (slot == NULL)
    return;
  if (slot->pending)
    slot->srv->detach(slot->pending); /* the work goes on; its reply has nowhere to go */
  free(slot);
}

static void on_connection(uv_stream_t *listener, int status) {
  cairn_server *s = listener->data;
  cairn_conn *c;

  if (status < 0) {
    cairn_log_warn("accept failed: %s", uv_strerror(status));
    return;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL || uv_pipe_init(s->loop, &c->pipe, 0) != 0) {
    free(c);
    cairn_log_err("out of memory accepting a client");
    return;
  }
  s->open_handles++;
  c->srv = s;
  c->id = ++s->next_id;
  if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->pipe, on_conn_close);
    return;
  }
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  c->state = CONN_PAUSED;
  conn_set_state(c, CONN_READING);
  cairn_log_debug("conn=%llu accepted", (unsigned long long)c->id);
}

static void on_listener_close(uv_handle_t *h) {
  cairn_server *s = h->data;

  s->open_handles--;
  server_maybe_free(s);
}

int cairn_server_start(cairn_server **out, uv_loop_t *loop, const char *path,
                       cairn_server_handler handler, cairn_server_detach detach, void *arg,
                       char *why, size_t whylen) {
  cairn_server *s;
  char staging[sizeof s->path];
  int rc;

  if (strlen(path) + sizeof ".new" > sizeof s->path) {
    snprintf(why, whylen, "%s: socket path longer than %zu bytes", path,
             sizeof s->path - sizeof ".new");
    return CAIRN_ETOOBIG;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return CAIRN_ENOMEM;
  s->loop = loop;
  s->handler = handler;
  s->detach = detach;
  s->arg = arg;
  snprintf(s->path, sizeof s->path, "%s", path);
  snprintf(staging, sizeof staging, "%s.new", path);
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  s->open_handles = 1;
  /* Stale files are ours to remove: the caller holds the directory lock.
   * The socket is made under a staging name and renamed into place once it
   * listens, so whoever sees DATA/cairnd.sock can connect to it. */
  (void)unlink(path);
  (void)unlink(staging);
  rc = uv_pipe_bind(&s->listener, staging);
  if (rc == 0 && chmod(staging, 0660) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc == 0 && rename(staging, path) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc != 0) {
    snprintf(why, whylen, "%s: %s", path, uv_strerror(rc));
    (void)unlink(staging);
    s->closing = 1; /* freed by on_listener_close on the next loop turn */
    uv_close((uv_handle_t *)&s->listener, on_listener_close);
    return rc == UV_EACCES ? CAIRN_EPERM : CAIRN_EIO;
  }
  s->accepting = 1;
  *out = s;
  return 0;
}

void cairn_server_stop_reading(cairn_server *s) {
  cairn_conn *c;

  s->accepting = 0;
  for (c = s->conns; c; c = c->next)
    if (c->reading) {
      uv_read_stop((uv_stream_t *)&c->pipe);
      c->reading = 0;
    }
}

void cairn_server_close(cairn_server *s) {
  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  s->accepting = 0;
  while (s->conns)
    conn_set_state(s->conns, CONN_CLOSING);
  (void)unlink(s->path);
  uv_close((uv_handle_t *)&s->listener, on_listener_close);
}
