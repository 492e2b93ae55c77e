/*
 * web.c: the web page's HTTP server on cairnd's libuv loop (web.h).
 *
 * libwebsockets parses HTTP and owns the sockets; this file decides what
 * each request may do. One HTTP transaction is one web_req (lws's
 * per-session data), a small state machine moved by req_set_state and
 * cleaned in one place (req_clean):
 *
 *   HEAD -> (BODY ->) CALLING -> REPLY -> SENDING -> (next request)
 *   HEAD -> REPLY (static files, refusals, the session)
 *   HEAD -> EVENTS (a server-sent event stream, until the page closes)
 *
 * Every response is built whole (a JSON reply, an asset) or streamed from a
 * file (a bundle download), and written a chunk per writable callback, so
 * a client that reads slowly costs its own connection only.
 */
#include "web_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "error.h"
#include "file.h"
#include "health.h"
#include "log.h"
#include "record.h"
#include "text.h"

#define CHUNK (16 * 1024)       /* written per writable callback */
#define EVENTS_MAX 32           /* open event streams */
#define UPLOADS_MAX 2           /* bundles being uploaded at once */
#define EVENT_GAP_US 500000     /* at most two refreshes a second per page */
#define EVENT_CHECK_MS 250      /* how often the pages of open event streams are looked for */
#define KEEPALIVE_SECONDS 30

typedef enum {
  REQ_HEAD,    /* the request head arrived; deciding */
  REQ_BODY,    /* reading a body */
  REQ_CALLING, /* the local request runs (a write waits for its commit) */
  REQ_REPLY,   /* the response is ready; its head goes first */
  REQ_SENDING, /* the head is out; the body follows chunk by chunk */
  REQ_EVENTS   /* an event stream */
} req_state;

typedef struct web_req web_req;

struct web_req {
  cairn_web *web;
  struct lws *wsi;
  req_state state;
  cairn_web_route route;
  cairn_web_body body_kind;
  char arg[80];                      /* the path's milestone id */
  size_t arglen;
  char name[CAIRN_WEB_NAME_MAX + 1]; /* who is signed in */
  int post;                          /* a POST: its body follows the head */
  int body_complete;                 /* ... and has been read (or there is none) */
  size_t discarded;                  /* body bytes dropped after a refusal */
  /* the body */
  uint8_t *body;
  size_t body_len, body_want;
  int upload_fd;                     /* a bundle being received, or -1 */
  char path[PATH_MAX];               /* its file, or the export's; "" none */
  /* the local request */
  cairn_slot *call;
  /* the response */
  int status;
  const char *type;
  const uint8_t *out;                /* the body: owned when out_owned */
  size_t out_len, out_off;
  int out_owned;
  int file_fd;                       /* a download, or -1 */
  uint64_t file_left;
  int no_store;
  char cookie[160];                  /* a Set-Cookie value, or "" */
  char location[32];
  char disposition[96];
  /* an event stream */
  int event_pending, event_timer;
  int64_t event_last_us;
  web_req *prev, *next;
};

struct cairn_web {
  uv_loop_t *loop;
  struct lws_context *ctx;
  cairn_server *server;
  cairn_metrics *metrics; /* borrowed; NULL: /metrics and /health not served */
  char address[128];   /* as configured: host:port */
  char host_alt[128];  /* web_host, or "" */
  char origin[160];    /* scheme://address */
  char origin_alt[160];
  char cookie_name[32]; /* "cairn_session_PORT": cookies ignore ports, two cairnds on
                           one host must not overwrite each other's */
  int tls;
  int stopping;
  size_t connections;  /* open sockets (lws wsi of this vhost) */
  size_t uploads;
  size_t nevents;
  web_req *events;     /* the open event streams */
  uv_timer_t sweep;    /* looks for their pages while there are any (peer_gone) */
  char dir[PATH_MAX - 64]; /* DATA/web: bundles on their way */
  cairn__web_sessions sessions;
  cairn_rpc_web hooks;
  uint8_t chunk[LWS_PRE + CHUNK];
};

/* ---- helpers ---- */

static int64_t now_unix(void) { return (int64_t)time(NULL); }

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static cairn_web *web_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

/* Releases everything a transaction holds; safe to call twice. */
static void req_clean(web_req *r) {
  cairn_web *w = r->web;

  if (w == NULL)
    return;
  cairn_server_call_cancel(r->call);
  r->call = NULL;
  free(r->body);
  r->body = NULL;
  if (r->upload_fd >= 0) {
    close(r->upload_fd);
    r->upload_fd = -1;
    w->uploads--;
  }
  if (r->path[0] != '\0')
    (void)unlink(r->path);
  r->path[0] = '\0';
  if (r->file_fd >= 0)
    close(r->file_fd);
  r->file_fd = -1;
  if (r->out_owned)
    free((void *)r->out);
  r->out = NULL;
  r->out_owned = 0;
  if (r->state == REQ_EVENTS) {
    if (r->prev)
      r->prev->next = r->next;
    else
      w->events = r->next;
    if (r->next)
      r->next->prev = r->prev;
    w->nevents--;
    r->state = REQ_HEAD;
  }
}

static int peer_gone(struct lws *wsi);

/* Closes the event streams whose page is gone (see peer_gone); stops
 * when none is open. */
static void sweep_events(uv_timer_t *t) {
  cairn_web *w = t->data;

  for (web_req *r = w->events; r != NULL; r = r->next)
    if (peer_gone(r->wsi))
      lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  if (w->nevents == 0)
    uv_timer_stop(t);
}

/* The one function that moves a transaction between states. */
static void req_set_state(web_req *r, req_state next) {
  cairn_web *w = r->web;

  r->state = next;
  switch (next) {
  case REQ_EVENTS:
    r->prev = NULL;
    r->next = w->events;
    if (w->events)
      w->events->prev = r;
    w->events = r;
    if (w->nevents++ == 0)
      uv_timer_start(&w->sweep, sweep_events, EVENT_CHECK_MS, EVENT_CHECK_MS);
    lws_callback_on_writable(r->wsi);
    break;
  case REQ_REPLY:
    lws_callback_on_writable(r->wsi);
    break;
  default:
    break;
  }
}

/* Answers with status and body (copied when owned is 0 and it is not
 * static: pass owned 1 for malloc'd text, 2 for static data). */
static void respond(web_req *r, int status, const char *type, const void *body, size_t len,
                    int owned) {
  r->status = status;
  r->type = type;
  r->out = body;
  r->out_len = len;
  r->out_off = 0;
  r->out_owned = owned == 1;
  req_set_state(r, REQ_REPLY);
}

/* Answers a static line of text. */
static void respond_text(web_req *r, int status, const char *text) {
  respond(r, status, "text/plain; charset=utf-8", text, strlen(text), 2);
}

/* Answers {"error": name, "message": text} (no-store). */
static void respond_error(web_req *r, int status, const char *name, const char *message) {
  json_t *j = json_pack("{s:s, s:s}", "error", name, "message", message);
  char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

  json_decref(j);
  r->no_store = 1;
  if (text == NULL)
    respond_text(r, 500, "out of memory\n");
  else
    respond(r, status, "application/json", text, strlen(text), 1);
}

/* Answers a JSON value (taken), no-store: it may hold student data. */
static void respond_json(web_req *r, json_t *j) {
  char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

  json_decref(j);
  if (text == NULL) {
    respond_error(r, 500, "EINTERNAL", "the reply could not be shown as JSON");
    return;
  }
  r->no_store = 1;
  respond(r, 200, "application/json", text, strlen(text), 1);
}

/* A page for a browser that followed a link (sign-in refused). */
static void respond_page(web_req *r, int status, const char *title, const char *text) {
  static const char fmt[] =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>%s - cairn</title><link rel=\"stylesheet\" href=\"/app.css\"></head>"
      "<body><main class=\"landing\"><h1>%s</h1><p>%s</p></main></body></html>";
  size_t size = sizeof fmt + 2 * strlen(title) + strlen(text);
  char *page = malloc(size);
  int n = page != NULL ? snprintf(page, size, fmt, title, title, text) : -1;

  r->no_store = 1;
  if (n < 0)
    respond_text(r, 500, "out of memory\n");
  else
    respond(r, status, "text/html; charset=utf-8", page, (size_t)n, 1);
}

/* ---- writing ---- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end) {
  return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                     (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Writes the response head. Returns 0 or -1 (close). */
static int write_head(web_req *r) {
  cairn_web *w = r->web;
  unsigned char *start = w->chunk + LWS_PRE, *p = start, *end = w->chunk + sizeof w->chunk - 1;
  int events = r->state == REQ_EVENTS;
  uint64_t len = r->file_fd >= 0 ? r->file_left : r->out_len;

  if (lws_add_http_header_status(r->wsi, (unsigned)r->status, &p, end) ||
      add_header(r->wsi, "content-type:", r->type, &p, end) ||
      (!events && lws_add_http_header_content_length(r->wsi, len, &p, end)) ||
      add_header(r->wsi, "content-security-policy:",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                 "frame-ancestors 'none'",
                 &p, end) ||
      add_header(r->wsi, "x-content-type-options:", "nosniff", &p, end) ||
      add_header(r->wsi, "referrer-policy:", "no-referrer", &p, end) ||
      add_header(r->wsi, "x-frame-options:", "DENY", &p, end) ||
      add_header(r->wsi, "cache-control:", r->no_store ? "no-store" : "no-cache", &p, end) ||
      (r->cookie[0] && add_header(r->wsi, "set-cookie:", r->cookie, &p, end)) ||
      (r->location[0] && add_header(r->wsi, "location:", r->location, &p, end)) ||
      (r->disposition[0] &&
       add_header(r->wsi, "content-disposition:", r->disposition, &p, end)) ||
      lws_finalize_http_header(r->wsi, &p, end))
    return -1;
  if (lws_write(r->wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) != (int)(p - start))
    return -1;
  return 0;
}

/* Writes the next chunk of the body. Returns 1 when it was the last, 0
 * when more follows, -1 to close. */
static int write_body(web_req *r) {
  cairn_web *w = r->web;
  uint8_t *start = w->chunk + LWS_PRE;
  size_t n;

  if (r->file_fd >= 0) {
    ssize_t got;
    n = r->file_left < CHUNK ? (size_t)r->file_left : CHUNK;
    got = n > 0 ? read(r->file_fd, start, n) : 0;
    if (got < 0 || (size_t)got != n)
      return -1;
    r->file_left -= n;
  } else {
    n = r->out_len - r->out_off < CHUNK ? r->out_len - r->out_off : CHUNK;
    memcpy(start, r->out + r->out_off, n);
    r->out_off += n;
  }
  {
    int last = r->file_fd >= 0 ? r->file_left == 0 : r->out_off == r->out_len;
    if (n > 0 && lws_write(r->wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
                     (int)n)
      return -1;
    return last;
  }
}

/* 1 when the page at the other end of an event stream is gone: its socket
 * reads EOF or an error, or holds bytes (a page sends nothing on an event
 * stream; a TLS close_notify is such bytes).
 *
 * Why we look ourselves: while an HTTP/1 transaction is open,
 * libwebsockets 4.1 reads nothing from its socket, so it never sees the
 * page close it, and epoll reports that EOF again and again: the loop
 * spins. So every EVENT_CHECK_MS while event streams are open (sweep_events)
 * and before each event, the stream's socket is looked at, and a stream
 * whose page is gone is closed. */
static int peer_gone(struct lws *wsi) {
  int fd = (int)lws_get_socket_fd(wsi);
  char c;
  ssize_t n;

  if (fd < 0)
    return 1;
  n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

/* An event stream's writable turn: the head once, then an event when a
 * commit is pending and the last was long enough ago; -1 (close) once its
 * page is gone. */
static int write_event(web_req *r) {
  cairn_web *w = r->web;
  uint8_t *start = w->chunk + LWS_PRE;
  static const char retry[] = "retry: 3000\n\n";
  static const char change[] = "event: change\ndata: {}\n\n";

  if (r->out_off == 0) { /* the head, then the retry line */
    if (write_head(r) != 0)
      return -1;
    r->out_off = 1;
    memcpy(start, retry, sizeof retry - 1);
    return lws_write(r->wsi, start, sizeof retry - 1, LWS_WRITE_HTTP) == sizeof retry - 1 ? 0
                                                                                           : -1;
  }
  if (peer_gone(r->wsi))
    return -1;
  if (!r->event_pending)
    return 0;
  if (now_us() - r->event_last_us < EVENT_GAP_US) {
    if (!r->event_timer) {
      r->event_timer = 1;
      lws_set_timer_usecs(r->wsi, EVENT_GAP_US - (now_us() - r->event_last_us));
    }
    return 0;
  }
  r->event_pending = 0;
  r->event_last_us = now_us();
  memcpy(start, change, sizeof change - 1);
  return lws_write(r->wsi, start, sizeof change - 1, LWS_WRITE_HTTP) == sizeof change - 1 ? 0
                                                                                         : -1;
}

/* The writable callback of a transaction. Returns 0, or -1 to close. */
static int on_writable(web_req *r) {
  int rc;

  switch (r->state) {
  case REQ_EVENTS:
    return write_event(r);
  case REQ_REPLY:
    if (write_head(r) != 0)
      return -1;
    req_set_state(r, REQ_SENDING);
    if ((r->file_fd >= 0 ? r->file_left : r->out_len) > 0) {
      lws_callback_on_writable(r->wsi);
      return 0;
    }
    rc = 1;
    break;
  case REQ_SENDING:
    rc = write_body(r);
    if (rc < 0)
      return -1;
    if (rc == 0) {
      lws_callback_on_writable(r->wsi);
      return 0;
    }
    break;
  default:
    return 0;
  }
  req_clean(r);
  r->state = REQ_HEAD;
  /* A refused POST whose body was not read: its connection ends here. */
  if (r->post && !r->body_complete)
    return -1;
  return lws_http_transaction_completed(r->wsi) ? -1 : 0;
}

/* ---- the local request ---- */

/* The reply to a request run through the handler. */
static void on_reply(void *arg, const uint8_t *reply, size_t len) {
  web_req *r = arg;
  msgpack_unpacked u;
  size_t off = 0;
  const msgpack_object *ok, *code, *message;

  r->call = NULL;
  if (reply == NULL) {
    respond_error(r, 500, "EINTERNAL", "cairnd could not read the request it was given");
    return;
  }
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, (const char *)reply, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      u.data.type != MSGPACK_OBJECT_MAP || (ok = cairn_record_map_get(&u.data, "ok")) == NULL ||
      ok->type != MSGPACK_OBJECT_BOOLEAN) {
    msgpack_unpacked_destroy(&u);
    respond_error(r, 500, "EINTERNAL", "cairnd's reply is malformed");
    return;
  }
  if (!ok->via.boolean) {
    char ename[32] = "EINTERNAL", text[512] = "refused";
    int c = CAIRN_EINTERNAL;
    code = cairn_record_map_get(&u.data, "code");
    message = cairn_record_map_get(&u.data, "message");
    if (code != NULL && code->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      c = (int)code->via.i64;
    snprintf(ename, sizeof ename, "%s", cairn_err_name(c));
    if (message != NULL && message->type == MSGPACK_OBJECT_STR)
      snprintf(text, sizeof text, "%.*s", (int)message->via.str.size, message->via.str.ptr);
    else
      snprintf(text, sizeof text, "%s", cairn_strerror(c));
    msgpack_unpacked_destroy(&u);
    respond_error(r, cairn__web_status_of(c), ename, text);
    return;
  }
  if (r->route == CAIRN_WEB_BUNDLE_EXPORT) {
    struct stat st;
    char day[11];
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    msgpack_unpacked_destroy(&u);
    if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0)
        close(fd);
      respond_error(r, 500, "EIO", "the bundle was written but cannot be read back");
      return;
    }
    (void)unlink(r->path); /* the open descriptor keeps it until sent */
    r->path[0] = '\0';
    r->file_fd = fd;
    r->file_left = (uint64_t)st.st_size;
    cairn_text_date_format(cairn_text_today(), day);
    snprintf(r->disposition, sizeof r->disposition,
             "attachment; filename=\"cairn-bundle-%s.cairnbundle\"", day);
    r->no_store = 1;
    respond(r, 200, "application/octet-stream", NULL, 0, 0);
    return;
  }
  respond_json(r, cairn__web_view(r->route, &u.data, cairn_text_today()));
  msgpack_unpacked_destroy(&u);
}

/* A fresh file name in DATA/web for a bundle on its way. */
static void bundle_path(cairn_web *w, web_req *r, const char *what) {
  uint8_t rnd[8];
  char hex[17];

  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  snprintf(r->path, sizeof r->path, "%s/%s-%s.cairnbundle", w->dir, what, hex);
}

/* Runs the request of route through the socket's handler. */
static void dispatch(web_req *r) {
  cairn_web *w = r->web;
  msgpack_sbuffer sb;
  char why[256];
  const char *arg = r->arglen ? r->arg : NULL;
  size_t arglen = r->arglen;
  int rc;

  if (w->stopping) { /* a body that finished arriving after SIGTERM */
    respond_error(r, 503, "ESTOPPING", "cairnd is stopping");
    return;
  }
  if (r->route == CAIRN_WEB_BUNDLE_EXPORT)
    bundle_path(w, r, "export");
  if (r->route == CAIRN_WEB_BUNDLE_EXPORT || r->route == CAIRN_WEB_BUNDLE_IMPORT) {
    arg = r->path;
    arglen = strlen(r->path);
  }
  msgpack_sbuffer_init(&sb);
  rc = cairn_web_request_decode(r->route, arg, arglen, r->body, r->body_len, r->name, &sb, why,
                                sizeof why);
  free(r->body);
  r->body = NULL;
  if (rc != 0) {
    msgpack_sbuffer_destroy(&sb);
    respond_error(r, cairn__web_status_of(rc), cairn_err_name(rc), why);
    return;
  }
  req_set_state(r, REQ_CALLING);
  r->call = cairn_server_call(w->server, (const uint8_t *)sb.data, sb.size, on_reply, r);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- the request head ---- */

/* Copies header h (or a custom "name:") into buf; its length, or -1 when
 * absent or too long. */
static int header(struct lws *wsi, enum lws_token_indexes h, const char *custom, char *buf,
                  size_t len) {
  int n;

  if (custom != NULL)
    return lws_hdr_custom_copy(wsi, buf, (int)len, custom, (int)strlen(custom));
  n = lws_hdr_total_length(wsi, h);
  if (n <= 0 || (size_t)n >= len)
    return -1;
  return lws_hdr_copy(wsi, buf, (int)len, h);
}

/* 1 when the Host header names this page. */
static int host_ok(cairn_web *w, struct lws *wsi) {
  char host[160];

  if (header(wsi, WSI_TOKEN_HOST, NULL, host, sizeof host) <= 0)
    return 0;
  return strcasecmp(host, w->address) == 0 || (w->host_alt[0] && strcasecmp(host, w->host_alt) == 0);
}

/* The value of cookie name in the Cookie header, or NULL. */
static const char *cookie_value(const char *cookies, const char *name, size_t *len) {
  const char *p = cookies;
  size_t nlen = strlen(name);

  while (p != NULL && *p != '\0') {
    p += strspn(p, " ;");
    if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      p += nlen + 1;
      *len = strcspn(p, ";");
      return p;
    }
    p = strchr(p, ';');
  }
  return NULL;
}

/* The session of the request, or NULL. */
static const cairn__web_session *session_of(cairn_web *w, struct lws *wsi) {
  char cookies[1024];
  const char *v;
  size_t len = 0;

  if (header(wsi, WSI_TOKEN_HTTP_COOKIE, NULL, cookies, sizeof cookies) <= 0 ||
      (v = cookie_value(cookies, w->cookie_name, &len)) == NULL)
    return NULL;
  return cairn__web_session_find(&w->sessions, v, len, now_unix());
}

/* GET /signin?t=TOKEN: the one-time link becomes a session cookie. */
static void sign_in(web_req *r) {
  cairn_web *w = r->web;
  char buf[128], cookie[CAIRN__WEB_SECRET_TEXT];
  const char *token = lws_get_urlarg_by_name(r->wsi, "t=", buf, sizeof buf);
  const cairn__web_session *s =
      token != NULL ? cairn__web_link_redeem(&w->sessions, token, strlen(token), now_unix(), cookie)
                    : NULL;

  if (s == NULL) {
    cairn_log_info("web: a sign-in link was refused (unknown, used or expired)");
    respond_page(r, 403, "This sign-in link cannot be used",
                 "It has been used already, or it is more than 5 minutes old. On this "
                 "computer, run <code>cairn web</code> for a new link.");
    return;
  }
  snprintf(r->cookie, sizeof r->cookie, "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s",
           w->cookie_name, cookie, (long long)w->sessions.lifetime, w->tls ? "; Secure" : "");
  snprintf(r->location, sizeof r->location, "/");
  sodium_memzero(cookie, sizeof cookie);
  cairn_log_info("web: signed in");
  r->no_store = 1;
  respond_text(r, 303, "signed in\n");
}

/* GET /api/session. */
static void session_reply(web_req *r, const cairn__web_session *s) {
  char day[11];

  cairn_text_date_format(cairn_text_today(), day);
  respond_json(r, json_pack("{s:s, s:s, s:I, s:s}", "name", s->name, "csrf", s->csrf,
                            "expires", (json_int_t)s->expires, "today", day));
}

/* The checks of a state-changing request: CSRF token, Origin, type and
 * length of its body. Returns 0, or answers and returns -1. */
static int post_checks(web_req *r, const cairn__web_session *s) {
  cairn_web *w = r->web;
  char buf[160];
  int n;
  unsigned long long len;
  char *end;

  n = header(r->wsi, WSI_TOKEN_COUNT, "x-csrf-token:", buf, sizeof buf);
  if (n <= 0 || !cairn__web_csrf_ok(s, buf, (size_t)n)) {
    respond_error(r, 403, "ECSRF", "refused: this request has no valid CSRF token");
    return -1;
  }
  n = header(r->wsi, WSI_TOKEN_ORIGIN, NULL, buf, sizeof buf);
  if (n > 0 && strcasecmp(buf, w->origin) != 0 &&
      !(w->origin_alt[0] && strcasecmp(buf, w->origin_alt) == 0)) {
    respond_error(r, 403, "EORIGIN", "refused: the request comes from another site");
    return -1;
  }
  n = header(r->wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, NULL, buf, sizeof buf);
  if (n <= 0 || strncasecmp(buf,
                            r->body_kind == CAIRN_WEB_BODY_FILE ? "application/octet-stream"
                                                                : "application/json",
                            r->body_kind == CAIRN_WEB_BODY_FILE ? 24 : 16) != 0) {
    respond_error(r, 415, "EINVAL",
                  r->body_kind == CAIRN_WEB_BODY_FILE ? "the bundle must come as application/octet-stream"
                                                      : "the body must be application/json");
    return -1;
  }
  if (lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
      header(r->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, NULL, buf, sizeof buf) <= 0) {
    respond_error(r, 411, "EINVAL", "the request needs a Content-Length");
    return -1;
  }
  errno = 0;
  len = strtoull(buf, &end, 10);
  if (errno != 0 || *end != '\0' || buf[0] < '0' || buf[0] > '9' ||
      len > (r->body_kind == CAIRN_WEB_BODY_FILE ? CAIRN_WEB_UPLOAD_MAX : CAIRN_WEB_JSON_MAX)) {
    respond_error(r, 413, "ETOOBIG", "the request body is too large");
    return -1;
  }
  r->body_want = (size_t)len;
  return 0;
}

/* Starts reading a body of r->body_want bytes, or dispatches at once when
 * there is none. */
static void body_start(web_req *r) {
  cairn_web *w = r->web;

  if (r->body_kind == CAIRN_WEB_BODY_FILE) {
    if (w->uploads >= UPLOADS_MAX) {
      respond_error(r, 503, "EAGAIN", "another bundle is being received; try again in a moment");
      return;
    }
    bundle_path(w, r, "import");
    r->upload_fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->upload_fd < 0) {
      r->path[0] = '\0';
      respond_error(r, 500, "EIO", "cannot store the upload in the data directory");
      return;
    }
    w->uploads++;
  } else if (r->body_want > 0 && (r->body = malloc(r->body_want)) == NULL) {
    respond_error(r, 503, "ENOMEM", "out of memory");
    return;
  }
  if (r->body_want == 0) {
    r->body_complete = 1;
    if (r->upload_fd >= 0) {
      close(r->upload_fd);
      r->upload_fd = -1;
      w->uploads--;
    }
    dispatch(r);
    return;
  }
  req_set_state(r, REQ_BODY);
  lws_set_timeout(r->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                  r->body_kind == CAIRN_WEB_BODY_FILE ? CAIRN_WEB_UPLOAD_SECONDS
                                                      : CAIRN_WEB_BODY_SECONDS);
}

/* A chunk of the body. Returns 0, or -1 to close (more than announced,
 * or much more of a refused request's body than a JSON body may hold). */
static int body_chunk(web_req *r, const void *in, size_t len) {
  if (r->state != REQ_BODY) { /* refused already: the answer is on its way */
    r->discarded += len;
    return r->discarded > CAIRN_WEB_JSON_MAX ? -1 : 0;
  }
  if (len > r->body_want - r->body_len)
    return -1;
  if (r->upload_fd >= 0) {
    if (cairn_file_write_all(r->upload_fd, in, len) != 0)
      return -1;
  } else {
    memcpy(r->body + r->body_len, in, len);
  }
  r->body_len += len;
  return 0;
}

/* The body is complete. */
static void body_done(web_req *r) {
  if (r->state != REQ_BODY)
    return;
  r->body_complete = 1;
  lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0);
  if (r->upload_fd >= 0) {
    close(r->upload_fd);
    r->upload_fd = -1;
    r->web->uploads--;
  }
  if (r->body_len != r->body_want) {
    respond_error(r, 400, "EINVAL", "the body is shorter than its Content-Length");
    return;
  }
  dispatch(r);
}

/* GET /metrics or /health, for monitoring on this computer (web.h): no
 * sign-in, no student data. */
static void monitoring(web_req *r, const char *path) {
  cairn_web *w = r->web;
  char peer[128], arg[64], text[1024];
  const char *within_text;
  long long within = CAIRN_HEALTH_WITHIN_DEFAULT;

  r->no_store = 1;
  if (w->metrics == NULL) {
    respond_text(r, 404, "not found\n");
    return;
  }
  if (lws_get_peer_simple(r->wsi, peer, sizeof peer) == NULL || !cairn_web_host_loopback(peer)) {
    respond_text(r, 403, "refused: /metrics and /health answer clients on this computer only\n");
    return;
  }
  if (strcmp(path, "/metrics") == 0) {
    cairn_metrics_sample s;
    char *body;
    size_t len;
    cairn_metrics_gather(w->metrics, &s);
    if (cairn_metrics_render(&s, &body, &len) != 0) {
      respond_text(r, 500, "out of memory\n");
      return;
    }
    respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, 1);
    return;
  }
  within_text = lws_get_urlarg_by_name(r->wsi, "within=", arg, (int)sizeof arg);
  if (within_text != NULL) {
    char *end;
    within = strtoll(within_text, &end, 10);
    if (*within_text < '0' || *within_text > '9' || *end != '\0' || within <= 0) {
      respond_text(r, 400, "health: within: a whole number of seconds above 0\n");
      return;
    }
  }
  if (w->stopping) {
    respond_text(r, 503, "unhealthy: cairnd is stopping\n");
    return;
  }
  {
    int healthy = cairn_metrics_health(w->metrics, within, text, sizeof text);
    char *body = strdup(text);
    if (body == NULL) {
      respond_text(r, 500, "out of memory\n");
      return;
    }
    respond(r, healthy ? 200 : 503, "text/plain; charset=utf-8", body, strlen(body), 1);
  }
}

/* The request head arrived: decides what the transaction is. */
static void on_request(web_req *r, const char *path) {
  cairn_web *w = r->web;
  const cairn__web_session *s;
  const cairn__web_asset *asset;
  const char *method = NULL, *arg;
  size_t arglen;
  int rc;

  if (lws_hdr_total_length(r->wsi, WSI_TOKEN_GET_URI) > 0)
    method = "GET";
  else if (lws_hdr_total_length(r->wsi, WSI_TOKEN_POST_URI) > 0)
    method = "POST";
  r->post = method != NULL && strcmp(method, "POST") == 0;
  if (!host_ok(w, r->wsi)) {
    respond_text(r, 421, "refused: this page is not served for that host name\n");
    return;
  }
  if (method == NULL) {
    respond_text(r, 405, "only GET and POST\n");
    return;
  }
  if (strcmp(method, "GET") == 0 && (strcmp(path, "/metrics") == 0 || strcmp(path, "/health") == 0)) {
    monitoring(r, path);
    return;
  }
  if (strcmp(method, "GET") == 0 &&
      (asset = cairn__web_asset_find(strcmp(path, "/") == 0 ? "/index.html" : path)) != NULL) {
    respond(r, 200, asset->type, asset->data, asset->len, 2);
    return;
  }
  if (strcmp(path, "/signin") == 0 && strcmp(method, "GET") == 0) {
    sign_in(r);
    return;
  }
  rc = cairn_web_route_find(method, path, &r->route, &r->body_kind, &arg, &arglen);
  if (rc == CAIRN_ENOTFOUND) {
    if (strncmp(path, "/api/", 5) == 0)
      respond_error(r, 404, "ENOTFOUND", "no such API path");
    else
      respond_text(r, 404, "not found\n");
    return;
  }
  if (rc != 0) {
    respond_error(r, arg != NULL ? 404 : 405, "EINVAL",
                  arg != NULL ? "not an id" : "not allowed with this method");
    return;
  }
  if ((s = session_of(w, r->wsi)) == NULL) {
    respond_error(r, 401, "ESIGNEDOUT",
                  "signed out: on this computer, run cairn web for a sign-in link");
    return;
  }
  if (w->stopping) {
    respond_error(r, 503, "ESTOPPING", "cairnd is stopping");
    return;
  }
  snprintf(r->name, sizeof r->name, "%s", s->name);
  memcpy(r->arg, arg != NULL ? arg : "", arglen);
  r->arglen = arglen;
  if (strcmp(method, "POST") == 0) {
    if (post_checks(r, s) != 0)
      return;
    if (r->route == CAIRN_WEB_SIGNOUT) {
      cairn__web_session_end(&w->sessions, s);
      snprintf(r->cookie, sizeof r->cookie, "%s=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s",
               w->cookie_name, w->tls ? "; Secure" : "");
      respond_json(r, json_pack("{s:b}", "signed_out", 1));
      return;
    }
    body_start(r);
    return;
  }
  switch (r->route) {
  case CAIRN_WEB_SESSION:
    session_reply(r, s);
    break;
  case CAIRN_WEB_EVENTS:
    if (w->nevents >= EVENTS_MAX) {
      respond_error(r, 503, "EAGAIN", "too many pages are open");
      break;
    }
    r->status = 200;
    r->type = "text/event-stream";
    r->no_store = 1;
    req_set_state(r, REQ_EVENTS);
    break;
  default:
    dispatch(r);
    break;
  }
}

/* ---- the lws callback ---- */

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
  web_req *r = user;
  cairn_web *w;

  switch (reason) {
  case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
    w = web_of(wsi);
    return w->connections >= CAIRN_WEB_CONNECTIONS_MAX || w->stopping;
  case LWS_CALLBACK_WSI_CREATE:
    web_of(wsi)->connections++;
    return 0;
  case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: {
    /* A response goes out as its head, then its body, a writable turn
     * apart: without TCP_NODELAY, Nagle's algorithm holds the body back
     * until the browser's delayed ACK of the head, 40 ms later. */
    int fd = (int)lws_get_socket_fd(wsi), on = 1;
    if (fd >= 0)
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return 0;
  }
  case LWS_CALLBACK_WSI_DESTROY:
    web_of(wsi)->connections--;
    return 0;
  case LWS_CALLBACK_HTTP:
    if (r == NULL)
      return -1;
    req_clean(r);
    memset(r, 0, sizeof *r);
    r->web = web_of(wsi);
    r->wsi = wsi;
    r->upload_fd = r->file_fd = -1;
    on_request(r, in != NULL ? (const char *)in : "/");
    return 0;
  case LWS_CALLBACK_HTTP_BODY:
    return r != NULL && r->web != NULL ? body_chunk(r, in, len) : -1;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    if (r != NULL && r->web != NULL)
      body_done(r);
    return 0;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return r != NULL && r->web != NULL ? on_writable(r) : 0;
  case LWS_CALLBACK_TIMER:
    if (r != NULL && r->state == REQ_EVENTS) {
      r->event_timer = 0;
      lws_callback_on_writable(wsi);
    }
    return 0;
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    if (r != NULL) {
      req_clean(r);
      r->web = NULL;
    }
    return 0;
  default:
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

static const struct lws_protocols protocols[] = {
    {"http", on_event, sizeof(web_req), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ---- the sign-in hooks for rpc.c ---- */

static int hook_signin(void *arg, const char *name, char *url, size_t urllen, int64_t *expires,
                       char *why, size_t whylen) {
  cairn_web *w = arg;
  char token[CAIRN__WEB_SECRET_TEXT];
  int64_t now = now_unix();
  int rc = cairn__web_name_check(name, why, whylen);

  if (rc != 0)
    return rc;
  cairn__web_link_new(&w->sessions, name, now, token);
  snprintf(url, urllen, "%s/signin?t=%s", w->origin, token);
  sodium_memzero(token, sizeof token);
  *expires = now + CAIRN_WEB_LINK_SECONDS;
  cairn_log_info("web: a sign-in link was made (good for %d s, one use)", CAIRN_WEB_LINK_SECONDS);
  return 0;
}

static size_t hook_sign_out_all(void *arg) {
  cairn_web *w = arg;
  return cairn__web_sessions_clear(&w->sessions, now_unix());
}

const cairn_rpc_web *cairn_web_rpc(cairn_web *w) { return w != NULL ? &w->hooks : NULL; }

/* ---- life ---- */

/* lws's own errors, in cairnd's log. A hostile client can make lws
 * complain at will ("Ran out of header data space"), so at most
 * LOG_BURST lines are written per LOG_WINDOW seconds, then one line says
 * how many were left out. */
#define LOG_BURST 5
#define LOG_WINDOW 60
static void lws_logged(int level, const char *line) {
  static time_t window;
  static unsigned written, dropped;
  time_t now = time(NULL);
  size_t n = strlen(line);

  if (level != LLL_ERR) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
      n--;
    cairn_log_debug("web: libwebsockets: %.*s", (int)n, line);
    return;
  }
  if (now - window >= LOG_WINDOW) {
    if (dropped > 0)
      cairn_log_warn("web: libwebsockets: %u more lines like the above left out", dropped);
    window = now;
    written = dropped = 0;
  }
  if (written >= LOG_BURST) {
    dropped++;
    return;
  }
  written++;
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
    n--;
  cairn_log_warn("web: libwebsockets: %.*s", (int)n, line);
}

/* Is host:port free to bind? 0, or the errno of the bind. */
static int bind_probe(const char *host, int port) {
  struct sockaddr_storage ss;
  socklen_t sslen;
  int fd, on = 1, rc = 0;

  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in6);
  } else {
    return EINVAL;
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0)
    rc = errno;
  close(fd);
  return rc;
}

/* DATA/web, 0700, emptied of what a stopped cairnd left there. */
static int make_dir(cairn_web *w, const char *data_dir, char *why, size_t whylen) {
  DIR *d;
  struct dirent *e;
  char path[PATH_MAX + 300];

  if ((size_t)snprintf(w->dir, sizeof w->dir, "%s/web", data_dir) >= sizeof w->dir) {
    snprintf(why, whylen, "%s: path too long", data_dir);
    return CAIRN_ETOOBIG;
  }
  if (mkdir(w->dir, 0700) != 0 && errno != EEXIST) {
    snprintf(why, whylen, "%s: %s", w->dir, strerror(errno));
    return CAIRN_EIO;
  }
  if ((d = opendir(w->dir)) == NULL) {
    snprintf(why, whylen, "%s: %s", w->dir, strerror(errno));
    return CAIRN_EIO;
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", w->dir, e->d_name);
    (void)unlink(path);
  }
  closedir(d);
  return 0;
}

int cairn_web_start(cairn_web **out, const cairn_web_opts *o, char *why, size_t whylen) {
  const cairn_config *c = o->config;
  const char *addr = cairn_config_web_address(c);
  struct lws_context_creation_info info;
  void *loops[1] = {o->loop};
  char host[128], alt_host[128];
  int port, loopback, alt_port, alt_loop, rc, tls = c->web_tls_cert[0] != '\0';
  cairn_web *w;

  *out = NULL;
  if (why != NULL && whylen > 0)
    why[0] = '\0';
  if (addr == NULL)
    return 0;
  if ((rc = cairn_web_address_parse(addr, host, sizeof host, &port, &loopback, why, whylen)) != 0)
    return CAIRN_ECONFIG;
  if (c->web_host[0] != '\0' &&
      cairn_web_address_parse(c->web_host, alt_host, sizeof alt_host, &alt_port, &alt_loop, why,
                              whylen) != 0)
    return CAIRN_ECONFIG;
  if (!loopback && !tls) {
    snprintf(why, whylen,
             "web = %s: serving beyond loopback needs TLS: set web_tls_cert and web_tls_key "
             "in [web] of cairn.conf (docs/SECURITY.md), or serve on 127.0.0.1",
             addr);
    return CAIRN_ECONFIG;
  }
  if (tls != (c->web_tls_key[0] != '\0')) {
    snprintf(why, whylen, "[web]: web_tls_cert and web_tls_key go together: set both or neither");
    return CAIRN_ECONFIG;
  }
  if (tls && (access(c->web_tls_cert, R_OK) != 0 || access(c->web_tls_key, R_OK) != 0)) {
    snprintf(why, whylen, "[web]: cannot read %s: %s",
             access(c->web_tls_cert, R_OK) != 0 ? c->web_tls_cert : c->web_tls_key,
             strerror(errno));
    return CAIRN_ECONFIG;
  }
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  rc = bind_probe(host, port);
  if (rc != 0) {
    snprintf(why, whylen, "web page not served: %s: %s%s", addr, strerror(rc),
             c->web[0] == '\0' ? " (set web in [web] of cairn.conf to serve it elsewhere, or off)"
                               : "");
    return c->web[0] == '\0' ? 0 : CAIRN_ECONFIG;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL)
    return CAIRN_ENOMEM;
  w->loop = o->loop;
  w->server = o->server;
  w->metrics = o->metrics;
  w->tls = tls;
  w->sessions.lifetime = c->web_session_hours * 3600;
  snprintf(w->address, sizeof w->address, "%s", addr);
  snprintf(w->cookie_name, sizeof w->cookie_name, "cairn_session_%d", port);
  snprintf(w->host_alt, sizeof w->host_alt, "%s", c->web_host);
  snprintf(w->origin, sizeof w->origin, "%s://%s", tls ? "https" : "http", addr);
  if (c->web_host[0])
    snprintf(w->origin_alt, sizeof w->origin_alt, "%s://%s", tls ? "https" : "http", c->web_host);
  w->hooks.arg = w;
  w->hooks.signin = hook_signin;
  w->hooks.sign_out_all = hook_sign_out_all;
  if ((rc = make_dir(w, o->data_dir, why, whylen)) != 0) {
    free(w);
    return rc;
  }

  lws_set_log_level(LLL_ERR | LLL_WARN, lws_logged);
  memset(&info, 0, sizeof info);
  info.port = port;
  info.iface = host;
  info.protocols = protocols;
  info.user = w;
  info.foreign_loops = loops;
  info.pcontext = &w->ctx;
  info.vhost_name = "cairn";
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
  if (strchr(host, ':') == NULL)
    info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.max_http_header_data = CAIRN_WEB_HEADER_BYTES;
  info.max_http_header_pool = 256;
  info.timeout_secs = CAIRN_WEB_HEAD_SECONDS;
  info.timeout_secs_ah_idle = CAIRN_WEB_HEAD_SECONDS;
  info.keepalive_timeout = KEEPALIVE_SECONDS;
  info.alpn = "http/1.1";
  if (tls) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = c->web_tls_cert;
    info.ssl_private_key_filepath = c->web_tls_key;
  }
  w->ctx = lws_create_context(&info);
  if (w->ctx == NULL) { /* e.g. the port was taken since the probe */
    snprintf(why, whylen, "web page not served: %s: libwebsockets could not start (see the "
                          "lines above)", addr);
    free(w);
    return c->web[0] == '\0' ? 0 : CAIRN_EIO;
  }
  uv_timer_init(o->loop, &w->sweep);
  w->sweep.data = w;
  cairn_log_info("web: serving the page on %s://%s", tls ? "https" : "http", addr);
  *out = w;
  return 0;
}

void cairn_web_notify(void *web) {
  cairn_web *w = web;

  if (w == NULL || w->ctx == NULL)
    return;
  for (web_req *r = w->events; r != NULL; r = r->next) {
    r->event_pending = 1;
    lws_callback_on_writable(r->wsi);
  }
}

void cairn_web_stop(cairn_web *w) {
  if (w != NULL)
    w->stopping = 1;
}

void cairn_web_close(cairn_web *w) {
  if (w == NULL || w->ctx == NULL)
    return;
  w->stopping = 1;
  uv_close((uv_handle_t *)&w->sweep, NULL);
  lws_context_destroy(w->ctx); /* starts closing every handle on the loop */
}

void cairn_web_free(cairn_web *w) {
  if (w == NULL)
    return;
  if (w->ctx != NULL)
    lws_context_destroy(w->ctx); /* on a foreign loop: the second call frees it */
  sodium_memzero(&w->sessions, sizeof w->sessions);
  free(w);
}
