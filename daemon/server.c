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

typedef enum { CONN_READING, CONN_WAITING, CONN_CLOSING } conn_state;

struct cairn_conn {
  uv_pipe_t pipe; /* first: handle->data is not needed to find the conn */
  cairn_server *srv;
  conn_state state;
  int reading;     /* uv_read_start is active */
  uint8_t *buf;    /* received, not yet handled */
  size_t len, cap;
  void *pending;   /* the handler's request in progress, if any */
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

/* The one function that moves a connection between states. */
static void conn_set_state(cairn_conn *c, conn_state next) {
  uv_stream_t *stream = (uv_stream_t *)&c->pipe;

  if (c->state == CONN_CLOSING)
    return;
  c->state = next;
  switch (next) {
  case CONN_READING:
    if (!c->reading && !c->srv->closing && c->srv->accepting &&
        stream->write_queue_size <= UNSENT_MAX) {
      uv_read_start(stream, on_alloc, on_read);
      c->reading = 1;
    }
    break;
  case CONN_WAITING:
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
  if (c->pending) {
    /* The write goes on; its reply has nowhere to go. */
    s->detach(c->pending);
    c->pending = NULL;
  }
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
    if (c->state != CONN_CLOSING)
      conn_set_state(c, CONN_CLOSING);
    return;
  }
  /* Backpressure released: resume reading if this connection paused. */
  if (c->state == CONN_READING && !c->reading)
    conn_set_state(c, CONN_READING);
}

static void conn_send(cairn_conn *c, msgpack_sbuffer *frame) {
  reply_write *w;
  uv_buf_t b;

  if (c->state == CONN_CLOSING) {
    msgpack_sbuffer_destroy(frame);
    return;
  }
  w = malloc(sizeof *w);
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

/* Handles every whole request buffered, one at a time. */
static void conn_process(cairn_conn *c) {
  while (c->state == CONN_READING) {
    const uint8_t *payload;
    size_t plen, used;
    msgpack_sbuffer frame;
    cairn_handled h;
    int rc = cairn_frame_decode(c->buf, c->len, CAIRN_FRAME_MAX, &payload, &plen, &used);

    if (rc == CAIRN_EAGAIN)
      break;
    if (rc != 0) {
      cairn_log_warn("conn=%llu closed: frame length is 0 or over %d bytes",
                     (unsigned long long)c->id, CAIRN_FRAME_MAX);
      conn_set_state(c, CONN_CLOSING);
      return;
    }
    cairn_server_frame_init(&frame);
    h = c->srv->handler(c->srv->arg, c, payload, plen, &frame);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    switch (h) {
    case CAIRN_HANDLED_REPLY:
      conn_send(c, &frame);
      break;
    case CAIRN_HANDLED_LATER:
      msgpack_sbuffer_destroy(&frame);
      conn_set_state(c, CONN_WAITING);
      return;
    case CAIRN_HANDLED_VIOLATION:
      msgpack_sbuffer_destroy(&frame);
      cairn_log_warn("conn=%llu closed: malformed request", (unsigned long long)c->id);
      conn_set_state(c, CONN_CLOSING);
      return;
    }
  }
  /* Keep idle connections small. */
  if (c->len == 0 && c->cap > READ_CHUNK) {
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
  }
  if (c->state == CONN_READING)
    conn_set_state(c, CONN_READING);
}

void cairn_server_reply(cairn_conn *c, msgpack_sbuffer *frame) {
  c->pending = NULL;
  conn_send(c, frame);
  if (c->state == CONN_WAITING) {
    conn_set_state(c, CONN_READING);
    conn_process(c);
  }
}

void **cairn_server_conn_pending(cairn_conn *c) { return &c->pending; }

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
  c->state = CONN_READING;
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
  c->reading = 1;
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
  int rc;

  if (strlen(path) >= sizeof s->path) {
    snprintf(why, whylen, "%s: socket path longer than %zu bytes", path, sizeof s->path - 1);
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
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  s->open_handles = 1;
  (void)unlink(path); /* stale: the caller holds the directory lock */
  rc = uv_pipe_bind(&s->listener, path);
  if (rc == 0 && chmod(path, 0660) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc != 0) {
    snprintf(why, whylen, "%s: %s", path, uv_strerror(rc));
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
