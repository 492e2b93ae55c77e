/*
 * web.h: the teacher's web page, served by cairnd itself (docs/ARCHITECTURE.md,
 * "The web page"; the threats and their tests: docs/SECURITY.md).
 *
 * HTTP comes from libwebsockets, running on cairnd's own libuv loop (its
 * libuv event lib on a foreign loop): nothing here parses HTTP. The page is
 * a small dependency-free front end (daemon/web/assets/, built into the
 * binary) over a JSON API under /api/. Each API request is translated into
 * the local-API request the socket would carry (cairn_web_request_decode,
 * pure and fuzzed) and run through the same handler as the socket
 * (cairn_server_call: rpc.c, the group-commit writer, the reply only after
 * the commit); the msgpack reply is turned back into JSON (web_view.c).
 *
 * Monitoring: GET /metrics (Prometheus text, counts only: metrics.h) and
 * GET /health[?within=SECONDS] (200 or 503 with the verdict's lines:
 * protocol/health.h) need no sign-in and answer only clients on this
 * computer (a peer address on loopback); others get 403.
 *
 * Signing in: `cairn web` asks cairnd (op web_signin) for a one-time link,
 * good for 5 minutes and one use, that sets a session cookie (HttpOnly,
 * SameSite=Strict, Path=/, [web] web_session_hours). Sessions live in
 * memory: a restart of cairnd signs everyone out. Every POST carries the
 * session's CSRF token; every response carries a strict CSP; a request
 * naming another Host is refused; requests, bodies and connections are
 * bounded (CAIRN_WEB_* below).
 *
 * Files: web.c (the server and its connections), web_session.c (sessions,
 * links, CSRF), web_request.c (routes; JSON -> request, pure), web_view.c
 * (reply -> JSON: the one file that reads reply shapes), web_assets.c
 * (generated at build time).
 */
#ifndef CAIRN_WEB_H
#define CAIRN_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "rpc.h"
#include "server.h"

/* Limits (docs/SECURITY.md). */
#define CAIRN_WEB_HEADER_BYTES 4096         /* the whole request head */
#define CAIRN_WEB_JSON_MAX (64 * 1024)      /* a JSON request body */
#define CAIRN_WEB_UPLOAD_MAX (256u << 20)   /* a bundle upload, as bundle_import */
#define CAIRN_WEB_CONNECTIONS_MAX 1024      /* open at once; more are closed at accept */
#define CAIRN_WEB_HEAD_SECONDS 10           /* to send the request head */
#define CAIRN_WEB_BODY_SECONDS 30           /* to send a JSON body */
#define CAIRN_WEB_UPLOAD_SECONDS 600        /* to send a bundle */
#define CAIRN_WEB_LINK_SECONDS 300          /* a sign-in link is good this long */
#define CAIRN_WEB_NAME_MAX 200              /* the signed-in name (evidence's `by`) */

typedef struct cairn_web cairn_web;

typedef struct cairn_web_opts {
  uv_loop_t *loop;
  cairn_server *server;       /* borrowed: requests run through its handler */
  const cairn_config *config; /* borrowed */
  const char *data_dir;       /* borrowed for the call: DATA (bundles pass through DATA/web) */
  cairn_metrics *metrics;     /* borrowed: /metrics and /health (NULL: not served) */
} cairn_web_opts;

/* Starts serving the page at cairn_config_web_address(config). Returns 0
 * with *out (NULL when the page is off), or a negative code with why: a
 * bad address, an address beyond loopback without TLS, an unreadable
 * certificate, an explicit address that cannot be bound. When the page is
 * on by default and its port is taken, it is not served: 0, *out NULL,
 * and why says so (the caller logs it). */
int cairn_web_start(cairn_web **out, const cairn_web_opts *o, char *why, size_t whylen);

/* The sign-in hooks for rpc.c (op web_signin); borrowed from w. */
const cairn_rpc_web *cairn_web_rpc(cairn_web *w);

/* Something was committed (the writer's commit hook): open pages are told
 * to refresh, at most a few times a second. arg is the cairn_web; NULL is a
 * harmless no-op. */
void cairn_web_notify(void *web);

/* cairnd is stopping: new API requests are answered 503; those in
 * progress finish. NULL is a harmless no-op. */
void cairn_web_stop(cairn_web *w);

/* Closes the listener and every connection; their handles close on the
 * loop, which must run again before cairn_web_free. NULL is harmless. */
void cairn_web_close(cairn_web *w);

/* Frees w once the loop has run after cairn_web_close. NULL is harmless. */
void cairn_web_free(cairn_web *w);

/* ---- pure parts (tested in test_web, fuzzed by fuzz_web) ---- */

/* Splits "HOST:PORT" ("[v6]:PORT" too) into host (brackets removed) and
 * port, and says whether host is loopback (127.0.0.0/8, ::1, localhost).
 * Returns 0, or CAIRN_EINVAL with why naming the address. */
int cairn_web_address_parse(const char *addr, char *host, size_t hostlen, int *port,
                            int *loopback, char *why, size_t whylen);

/* 1 when host (an address as text, or "localhost") is loopback:
 * 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, localhost. Pure. */
int cairn_web_host_loopback(const char *host);

/* What an API request asks for. */
typedef enum cairn_web_route {
  CAIRN_WEB_NONE = 0,
  CAIRN_WEB_SESSION,          /* GET  /api/session: who is signed in, the CSRF token */
  CAIRN_WEB_SIGNOUT,          /* POST /api/signout: end this session */
  CAIRN_WEB_EVENTS,           /* GET  /api/events: server-sent events on each commit */
  CAIRN_WEB_DEVICE,           /* GET  /api/device -> ping */
  CAIRN_WEB_TODAY,            /* GET  /api/today -> status */
  CAIRN_WEB_RECORDS,          /* GET  /api/milestone/ID/records -> children */
  CAIRN_WEB_EVIDENCE_ADD,     /* POST /api/evidence -> put evidence */
  CAIRN_WEB_EVIDENCE_AMEND,   /* POST /api/evidence/amend -> put, edit */
  CAIRN_WEB_EVIDENCE_RETRACT, /* POST /api/evidence/retract -> put, edit */
  CAIRN_WEB_SYNC,             /* GET  /api/sync -> sync_status */
  CAIRN_WEB_SYNC_NOW,         /* POST /api/sync/now -> sync_now */
  CAIRN_WEB_BUNDLE_EXPORT,    /* POST /api/bundle/export -> bundle_export, then a download */
  CAIRN_WEB_BUNDLE_IMPORT,    /* POST /api/bundle/import (the file as the body) -> bundle_import */
  CAIRN_WEB_MILESTONE,        /* GET  /api/milestone/ID -> detail: the milestone's page */
  CAIRN_WEB_FAMILY,           /* GET  /api/student/ID/family -> detail of the student,
                                 reduced to what a family may read */
  CAIRN_WEB_MILESTONE_ADD,    /* POST /api/milestone -> put milestone (the builder) */
  CAIRN_WEB_REVIEW_ADD,       /* POST /api/review -> put review */
  CAIRN_WEB_SUPPORT_ADD,      /* POST /api/support -> put support_change */
  CAIRN_WEB_CELEBRATION_ADD,  /* POST /api/celebration -> put celebration */
  CAIRN_WEB_ROUTE_MAX = CAIRN_WEB_CELEBRATION_ADD
} cairn_web_route;

/* How a route's request body comes. */
typedef enum { CAIRN_WEB_BODY_NONE, CAIRN_WEB_BODY_JSON, CAIRN_WEB_BODY_FILE } cairn_web_body;

/* Finds the route of method ("GET", "POST") and path (decoded, without the
 * query). *arg / *arglen get the path's argument (a milestone id), or NULL
 * and 0. Returns 0 with *route and *body; CAIRN_ENOTFOUND for a path no
 * route names; CAIRN_EINVAL when the path is known but not for this
 * method, or its argument is not an id. Pure. */
int cairn_web_route_find(const char *method, const char *path, cairn_web_route *route,
                         cairn_web_body *body, const char **arg, size_t *arglen);

/* Translates one API request into the local-API request (one msgpack map,
 * appended to out) that the socket would carry for it:
 *   route, arg   from cairn_web_route_find; for the bundle routes arg is
 *                the server's own file path (absolute), never the client's;
 *   body, len    the JSON body of a CAIRN_WEB_BODY_JSON route (one object;
 *                unknown keys, wrong types, invalid UTF-8 are refused);
 *   by           the signed-in name, written as the evidence's `by`; on a
 *                milestone, review, support change or celebration (which
 *                have no `by`), as the put's why: "added on the web page
 *                by NAME". Their body's keys are the record's field names
 *                (docs/FORMAT.md section 3.2), each of the field's type
 *                and within its bounds; a null baseline is pending.
 * Returns 0; CAIRN_EINVAL, CAIRN_ERANGE, CAIRN_ETOOBIG or CAIRN_EUTF8 with
 * why naming the field; CAIRN_ENOTFOUND for a route served without a
 * request (session, signout, events). Pure: no clock, no I/O. */
int cairn_web_request_decode(cairn_web_route route, const char *arg, size_t arglen,
                             const uint8_t *body, size_t len, const char *by,
                             msgpack_sbuffer *out, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif
