/*
 * web_int.h: shared inside daemon/web/ by web.c, web_session.c, web_view.c
 * and the generated web_assets.c. Not for other modules: web.h is the API.
 */
#ifndef CAIRN_WEB_INT_H
#define CAIRN_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "web.h"

/* ---- sessions and sign-in links (web_session.c) ----
 *
 * A cookie, a link's token and a CSRF token are 32 random bytes written
 * as 43 characters of base64url. Only a BLAKE2b hash of cookies and links
 * is kept, compared in constant time. Everything is in memory. */
#define CAIRN__WEB_SECRET_TEXT 44 /* 43 characters and a NUL */
#define CAIRN__WEB_SESSIONS_MAX 64
#define CAIRN__WEB_LINKS_MAX 16

typedef struct cairn__web_session {
  uint8_t hash[32];                    /* of the cookie's value */
  char csrf[CAIRN__WEB_SECRET_TEXT];
  char name[CAIRN_WEB_NAME_MAX + 1];
  int64_t expires;                     /* unix seconds; 0: slot free */
} cairn__web_session;

typedef struct cairn__web_link {
  uint8_t hash[32];
  char name[CAIRN_WEB_NAME_MAX + 1];
  int64_t expires; /* 0: slot free (never made, used, or ended) */
} cairn__web_link;

typedef struct cairn__web_sessions {
  cairn__web_session s[CAIRN__WEB_SESSIONS_MAX];
  cairn__web_link l[CAIRN__WEB_LINKS_MAX];
  int64_t lifetime; /* seconds a session lasts */
} cairn__web_sessions;

/* Checks a name to sign in as: 1..CAIRN_WEB_NAME_MAX bytes of UTF-8, no
 * control characters, not blank. Returns 0 or CAIRN_EINVAL / CAIRN_EUTF8 /
 * CAIRN_ETOOBIG with why. */
int cairn__web_name_check(const char *name, char *why, size_t whylen);

/* Makes a one-time link token for name (checked by the caller), good
 * until now + CAIRN_WEB_LINK_SECONDS; when the table is full the oldest
 * unused link is dropped. Writes the token's text. Returns 0. */
int cairn__web_link_new(cairn__web_sessions *ss, const char *name, int64_t now,
                        char token[CAIRN__WEB_SECRET_TEXT]);

/* Redeems a link token (len bytes): when it is known and unexpired at now,
 * it is used up and a session for its name begins; its cookie value is
 * written to cookie and the session returned (borrowed from ss). When the
 * table is full the session that ends soonest is dropped. NULL when the
 * link is unknown, used or expired. */
const cairn__web_session *cairn__web_link_redeem(cairn__web_sessions *ss, const char *token,
                                                 size_t len, int64_t now,
                                                 char cookie[CAIRN__WEB_SECRET_TEXT]);

/* The session of a cookie value (len bytes) still valid at now, or NULL.
 * Borrowed from ss until the next call that changes it. */
const cairn__web_session *cairn__web_session_find(cairn__web_sessions *ss, const char *cookie,
                                                  size_t len, int64_t now);

/* 1 when token (len bytes) is session's CSRF token (constant time). */
int cairn__web_csrf_ok(const cairn__web_session *session, const char *token, size_t len);

/* Ends one session (signing out). */
void cairn__web_session_end(cairn__web_sessions *ss, const cairn__web_session *session);

/* Ends every session and forgets every unused link; returns how many
 * sessions were live at now. */
size_t cairn__web_sessions_clear(cairn__web_sessions *ss, int64_t now);

/* ---- replies as JSON (web_view.c) ---- */

/* Turns the local-API reply of route (a map with "ok": true) into the JSON
 * the page reads, as of day today (for Today's order). Returns a new
 * value (caller frees with json_decref), or NULL when the reply has not
 * the documented shape or memory ran out. */
json_t *cairn__web_view(cairn_web_route route, const msgpack_object *reply, int32_t today);

/* The HTTP status for a refused local request's code. */
int cairn__web_status_of(int code);

/* ---- static assets (web_assets.c, generated from daemon/web/assets/) ---- */

typedef struct cairn__web_asset {
  const char *path;  /* "/app.js" */
  const char *type;  /* "text/javascript; charset=utf-8" */
  const uint8_t *data;
  size_t len;
} cairn__web_asset;

/* The asset served at path, or NULL. */
const cairn__web_asset *cairn__web_asset_find(const char *path);

#endif
