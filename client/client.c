/* client.c: libcairn, one blocking connection to a local cairnd
 * (docs/FORMAT.md section 5). */
#include "cairn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "record.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 30000
#define CLIENT_READ_CHUNK 65536

struct cairn_client {
  int fd;       /* -1 once the stream is out of step (failure, timeout) */
  uint8_t *buf; /* received bytes not yet handed out as a reply */
  size_t len, cap;
};

struct cairn_reply {
  msgpack_unpacked unpacked; /* its objects point into data */
  char *message;             /* NUL-terminated; "" when ok */
  size_t len;
  char data[];
};

int cairn_client_open(cairn_client **out, const char *data_dir) {
  struct sockaddr_un sa;
  cairn_client *c;
  int fd, n, rc, flags;

  if (out == NULL || data_dir == NULL)
    return CAIRN_EINVAL;
  *out = NULL;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/cairnd.sock", data_dir);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path)
    return CAIRN_ETOOBIG;

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  /* Connect blocking (a Unix connect completes at once or fails), then go
   * non-blocking so that every later wait is a poll() with a deadline. */
  while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0 && errno == EINTR)
    ;
  if (rc < 0 && errno != EISCONN) {
    int e = errno;
    close(fd);
    switch (e) {
    case ECONNREFUSED:
    case ENOENT:
    case ENOTDIR:
      return CAIRN_ENOTRUNNING;
    case EACCES:
    case EPERM:
      return CAIRN_EPERM;
    default:
      return cairn_err_from_errno(e);
    }
  }
  flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    rc = cairn_err_from_errno(errno);
    close(fd);
    return rc;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    return CAIRN_ENOMEM;
  }
  c->fd = fd;
  *out = c;
  return 0;
}

void cairn_client_close(cairn_client *c) {
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  free(c);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. Returns 0,
 * CAIRN_EIO on timeout or poll failure. */
static int wait_ready(int fd, short events, int64_t deadline) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int64_t left = deadline - now_ms();
    int rc;
    if (left <= 0)
      return CAIRN_EIO;
    rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (rc > 0)
      return 0; /* ready, or POLLERR/POLLHUP: the next call says which */
    if (rc < 0 && errno != EINTR)
      return CAIRN_EIO;
  }
}

/* Writes all of iov (modified in place), retrying on EINTR and partial
 * writes. MSG_NOSIGNAL: a gone daemon is CAIRN_ECLOSED, not SIGPIPE. */
static int write_full(int fd, struct iovec *iov, int iovcnt, int64_t deadline) {
  while (iovcnt > 0) {
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int rc = wait_ready(fd, POLLOUT, deadline);
        if (rc < 0)
          return rc;
        continue;
      }
      return errno == EPIPE || errno == ECONNRESET ? CAIRN_ECLOSED : CAIRN_EIO;
    }
    while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      iovcnt--;
    }
    if (iovcnt > 0) {
      iov->iov_base = (char *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  return 0;
}

/* Reads until c->buf holds one whole frame; sets *payload, *plen and
 * *consumed as cairn_frame_decode does. */
static int read_frame(cairn_client *c, int64_t deadline, const uint8_t **payload, size_t *plen,
                      size_t *consumed) {
  for (;;) {
    ssize_t n;
    int rc = cairn_frame_decode(c->buf, c->len, CAIRN_FRAME_MAX, payload, plen, consumed);
    if (rc == 0)
      return 0;
    if (rc != CAIRN_EAGAIN)
      return CAIRN_EMALFORMED; /* length 0 or over the maximum */
    if (c->cap - c->len < CLIENT_READ_CHUNK / 4) {
      /* The header, once here, was checked against the maximum above, so
       * the buffer never grows past one largest frame. */
      size_t cap = c->cap ? c->cap * 2 : CLIENT_READ_CHUNK;
      uint8_t *nb;
      if (cap > CAIRN_FRAME_HEADER + CAIRN_FRAME_MAX)
        cap = CAIRN_FRAME_HEADER + CAIRN_FRAME_MAX;
      if (cap <= c->len)
        return CAIRN_EMALFORMED;
      nb = realloc(c->buf, cap);
      if (nb == NULL)
        return CAIRN_ENOMEM;
      c->buf = nb;
      c->cap = cap;
    }
    n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n > 0) {
      c->len += (size_t)n;
    } else if (n == 0) {
      return CAIRN_ECLOSED;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      rc = wait_ready(c->fd, POLLIN, deadline);
      if (rc < 0)
        return rc;
    } else if (errno != EINTR) {
      return errno == ECONNRESET ? CAIRN_ECLOSED : CAIRN_EIO;
    }
  }
}

/* Returns the string value of key in r as a new NUL-terminated string
 * (caller frees), "" when absent or not a string; NULL on no memory. */
static char *dup_str(const cairn_reply *r, const char *key) {
  const msgpack_object *v = cairn_reply_get(r, key);
  size_t n = v != NULL && v->type == MSGPACK_OBJECT_STR ? v->via.str.size : 0;
  char *s = malloc(n + 1);

  if (s == NULL)
    return NULL;
  if (n > 0)
    memcpy(s, v->via.str.ptr, n);
  s[n] = '\0';
  return s;
}

/* Builds a reply from one frame's payload and checks its shape: one map
 * with a boolean "ok"; when false, a negative integer "code". Returns 0 or
 * the reply's code with *out set, or CAIRN_EMALFORMED / CAIRN_ENOMEM. */
static int reply_parse(const uint8_t *payload, size_t len, cairn_reply **out) {
  cairn_reply *r;
  const msgpack_object *ok, *code;
  size_t off = 0;
  int rc;

  r = malloc(sizeof *r + len);
  if (r == NULL)
    return CAIRN_ENOMEM;
  memcpy(r->data, payload, len);
  r->len = len;
  r->message = NULL;
  msgpack_unpacked_init(&r->unpacked);
  if (msgpack_unpack_next(&r->unpacked, r->data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      off != len || r->unpacked.data.type != MSGPACK_OBJECT_MAP)
    goto malformed;
  ok = cairn_reply_get(r, "ok");
  if (ok == NULL || ok->type != MSGPACK_OBJECT_BOOLEAN)
    goto malformed;
  if (ok->via.boolean) {
    rc = 0;
    r->message = calloc(1, 1);
  } else {
    code = cairn_reply_get(r, "code");
    if (code == NULL || code->type != MSGPACK_OBJECT_NEGATIVE_INTEGER || code->via.i64 < INT_MIN)
      goto malformed;
    rc = (int)code->via.i64;
    r->message = dup_str(r, "message");
    if (r->message != NULL && r->message[0] == '\0') {
      free(r->message);
      r->message = strdup(cairn_strerror(rc));
    }
  }
  if (r->message == NULL) {
    cairn_reply_free(r);
    return CAIRN_ENOMEM;
  }
  *out = r;
  return rc;

malformed:
  cairn_reply_free(r);
  return CAIRN_EMALFORMED;
}

_Static_assert(CAIRN_CLIENT_PIPELINE_MAX == CAIRN_FRAME_PIPELINE_MAX,
               "cairn.h documents the daemon's pipeline limit");

/* A half-sent request or half-read reply leaves the stream out of step:
 * nothing more can be matched to its request, so the connection ends. */
static int fail_connection(cairn_client *c, int rc) {
  close(c->fd);
  c->fd = -1;
  return rc;
}

static int64_t deadline_after(int timeout_ms) {
  return now_ms() + (timeout_ms ? timeout_ms : CLIENT_DEFAULT_TIMEOUT_MS);
}

int cairn_client_send(cairn_client *c, const void *req, size_t len, int timeout_ms) {
  uint8_t hdr[CAIRN_FRAME_HEADER];
  struct iovec iov[2];
  int rc;

  if (c == NULL || req == NULL || len == 0 || len > CAIRN_FRAME_MAX || timeout_ms < 0)
    return CAIRN_EINVAL;
  if (c->fd < 0)
    return CAIRN_ECLOSED;
  cairn_frame_header(hdr, (uint32_t)len);
  iov[0].iov_base = hdr;
  iov[0].iov_len = sizeof hdr;
  iov[1].iov_base = (void *)req;
  iov[1].iov_len = len;
  rc = write_full(c->fd, iov, 2, deadline_after(timeout_ms));
  return rc == 0 ? 0 : fail_connection(c, rc);
}

int cairn_client_recv(cairn_client *c, int timeout_ms, cairn_reply **out) {
  const uint8_t *payload;
  size_t plen, consumed;
  int rc;

  if (out != NULL)
    *out = NULL;
  if (c == NULL || out == NULL || timeout_ms < 0)
    return CAIRN_EINVAL;
  if (c->fd < 0)
    return CAIRN_ECLOSED;
  rc = read_frame(c, deadline_after(timeout_ms), &payload, &plen, &consumed);
  if (rc == 0) {
    rc = reply_parse(payload, plen, out);
    memmove(c->buf, c->buf + consumed, c->len - consumed);
    c->len -= consumed;
  }
  return *out == NULL ? fail_connection(c, rc) : rc;
}

int cairn_client_call(cairn_client *c, const void *req, size_t len, int timeout_ms,
                      cairn_reply **out) {
  int rc;

  if (out != NULL)
    *out = NULL;
  if (out == NULL)
    return CAIRN_EINVAL;
  rc = cairn_client_send(c, req, len, timeout_ms);
  return rc != 0 ? rc : cairn_client_recv(c, timeout_ms, out);
}

const msgpack_object *cairn_reply_root(const cairn_reply *r) {
  return &r->unpacked.data;
}

const msgpack_object *cairn_reply_get(const cairn_reply *r, const char *key) {
  return cairn_record_map_get(&r->unpacked.data, key);
}

const char *cairn_reply_message(const cairn_reply *r) {
  return r->message;
}

void cairn_reply_free(cairn_reply *r) {
  if (r == NULL)
    return;
  msgpack_unpacked_destroy(&r->unpacked);
  free(r->message);
  free(r);
}
