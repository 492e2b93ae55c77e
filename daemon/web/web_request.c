/* web_request.c: the web page's routes, and each API request translated
 * into the local-API request the socket would carry (web.h). Pure. */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "record.h"
#include "text.h"

/* ---- addresses ---- */

int cairn_web_address_parse(const char *addr, char *host, size_t hostlen, int *port,
                            int *loopback, char *why, size_t whylen) {
  const char *colon, *h = addr;
  size_t hlen;
  char *end;
  long p;

  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (close == NULL || close[1] != ':') {
      snprintf(why, whylen, "web: '%s' is not HOST:PORT ([v6]:PORT for IPv6)", addr);
      return CAIRN_EINVAL;
    }
    h = addr + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(addr, ':');
    if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
      snprintf(why, whylen, "web: '%s' is not HOST:PORT (or off)", addr);
      return CAIRN_EINVAL;
    }
    hlen = (size_t)(colon - addr);
  }
  p = strtol(colon + 1, &end, 10);
  if (hlen == 0 || hlen >= hostlen || colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
      p < 1 || p > 65535) {
    snprintf(why, whylen, "web: '%s' is not HOST:PORT with a port from 1 to 65535", addr);
    return CAIRN_EINVAL;
  }
  for (size_t i = 0; i < hlen; i++) {
    char c = h[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-' || c == ':')) {
      snprintf(why, whylen, "web: '%s': the host may hold letters, digits, '.', '-' only", addr);
      return CAIRN_EINVAL;
    }
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (int)p;
  *loopback = cairn_web_host_loopback(host);
  return 0;
}

int cairn_web_host_loopback(const char *host) {
  if (strncmp(host, "::ffff:", 7) == 0) /* IPv4 mapped into IPv6, as an accepted peer may be */
    host += 7;
  return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
         (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host));
}

/* ---- routes ---- */

typedef struct route_def {
  const char *method;
  const char *path;  /* exact, or with a trailing '*' a prefix then an id then `tail`
                        ("" when the id ends the path) */
  const char *tail;
  cairn_web_route route;
  cairn_web_body body;
} route_def;

static const route_def routes[] = {
    {"GET", "/api/session", NULL, CAIRN_WEB_SESSION, CAIRN_WEB_BODY_NONE},
    {"POST", "/api/signout", NULL, CAIRN_WEB_SIGNOUT, CAIRN_WEB_BODY_JSON},
    {"GET", "/api/events", NULL, CAIRN_WEB_EVENTS, CAIRN_WEB_BODY_NONE},
    {"GET", "/api/device", NULL, CAIRN_WEB_DEVICE, CAIRN_WEB_BODY_NONE},
    {"GET", "/api/today", NULL, CAIRN_WEB_TODAY, CAIRN_WEB_BODY_NONE},
    {"GET", "/api/milestone/*", "/records", CAIRN_WEB_RECORDS, CAIRN_WEB_BODY_NONE},
    {"POST", "/api/evidence", NULL, CAIRN_WEB_EVIDENCE_ADD, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/evidence/amend", NULL, CAIRN_WEB_EVIDENCE_AMEND, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/evidence/retract", NULL, CAIRN_WEB_EVIDENCE_RETRACT, CAIRN_WEB_BODY_JSON},
    {"GET", "/api/sync", NULL, CAIRN_WEB_SYNC, CAIRN_WEB_BODY_NONE},
    {"POST", "/api/sync/now", NULL, CAIRN_WEB_SYNC_NOW, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/bundle/export", NULL, CAIRN_WEB_BUNDLE_EXPORT, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/bundle/import", NULL, CAIRN_WEB_BUNDLE_IMPORT, CAIRN_WEB_BODY_FILE},
    {"GET", "/api/milestone/*", "", CAIRN_WEB_MILESTONE, CAIRN_WEB_BODY_NONE},
    {"GET", "/api/student/*", "/family", CAIRN_WEB_FAMILY, CAIRN_WEB_BODY_NONE},
    {"POST", "/api/milestone", NULL, CAIRN_WEB_MILESTONE_ADD, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/review", NULL, CAIRN_WEB_REVIEW_ADD, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/support", NULL, CAIRN_WEB_SUPPORT_ADD, CAIRN_WEB_BODY_JSON},
    {"POST", "/api/celebration", NULL, CAIRN_WEB_CELEBRATION_ADD, CAIRN_WEB_BODY_JSON},
};

/* Matches path against r: 1, with the id of a prefix route in *arg. */
static int route_matches(const route_def *r, const char *path, const char **arg, size_t *arglen) {
  size_t plen = strlen(r->path);
  const char *id, *end;

  if (r->path[plen - 1] != '*') {
    *arg = NULL;
    *arglen = 0;
    return strcmp(path, r->path) == 0;
  }
  if (strncmp(path, r->path, plen - 1) != 0)
    return 0;
  id = path + plen - 1;
  end = strchr(id, '/');
  if (end == NULL && r->tail[0] == '\0') /* the id runs to the end */
    end = id + strlen(id);
  if (end == NULL || strcmp(end, r->tail) != 0 || end == id)
    return 0;
  *arg = id;
  *arglen = (size_t)(end - id);
  return 1;
}

int cairn_web_route_find(const char *method, const char *path, cairn_web_route *route,
                         cairn_web_body *body, const char **arg, size_t *arglen) {
  int known = 0;

  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    const route_def *r = &routes[i];
    if (!route_matches(r, path, arg, arglen))
      continue;
    known = 1;
    if (strcmp(method, r->method) != 0)
      continue;
    if (*arg != NULL && !cairn_text_id_valid(*arg, *arglen))
      return CAIRN_EINVAL;
    *route = r->route;
    *body = r->body;
    return 0;
  }
  *arg = NULL;
  *arglen = 0;
  return known ? CAIRN_EINVAL : CAIRN_ENOTFOUND;
}

/* ---- JSON bodies ---- */

/* One field a route's body may carry. */
typedef enum { FIELD_TEXT, FIELD_ID, FIELD_NUMBER } field_kind; /* FIELD_ID: a record id */

typedef struct field_def {
  const char *name;
  field_kind kind;
  int required;
  size_t max;    /* TEXT: bytes */
  int multiline; /* TEXT: a note, which may hold tab and line feed */
} field_def;

#define FIELDS_MAX 4

/* The fields of each route with a JSON body (the rest take none). */
static const field_def evidence_add_fields[FIELDS_MAX + 1] = {
    {"milestone", FIELD_ID, 1, 64, 0},
    {"value", FIELD_NUMBER, 1, 0, 0},
    {"observed", FIELD_TEXT, 1, 10, 0},
    {"note", FIELD_TEXT, 0, 2000, 1},
    {NULL, FIELD_TEXT, 0, 0, 0}};
/* Evidence is never overwritten, `by` included: who amends or retracts is
 * written into the reason, "REASON (by NAME)", within the 1000 bytes of a
 * put's why. */
#define REASON_MAX (1000 - CAIRN_WEB_NAME_MAX - 6)
static const field_def amend_fields[FIELDS_MAX + 1] = {{"id", FIELD_ID, 1, 64, 0},
                                                       {"value", FIELD_NUMBER, 1, 0, 0},
                                                       {"reason", FIELD_TEXT, 1, REASON_MAX, 0},
                                                       {NULL, FIELD_TEXT, 0, 0, 0}};
static const field_def retract_fields[FIELDS_MAX + 1] = {
    {"id", FIELD_ID, 1, 64, 0}, {"reason", FIELD_TEXT, 1, REASON_MAX, 0}, {NULL, FIELD_TEXT, 0, 0, 0}};
static const field_def no_fields[1] = {{NULL, FIELD_TEXT, 0, 0, 0}};

static const field_def *fields_of(cairn_web_route route) {
  switch (route) {
  case CAIRN_WEB_EVIDENCE_ADD:
    return evidence_add_fields;
  case CAIRN_WEB_EVIDENCE_AMEND:
    return amend_fields;
  case CAIRN_WEB_EVIDENCE_RETRACT:
    return retract_fields;
  default:
    return no_fields;
  }
}

/* A string value within max bytes of text as cairn takes it (valid
 * UTF-8, no control character but, when multiline, tab and line feed:
 * cairn_text_check); 1 when it is empty. */
static int text_ok(const char *key, const json_t *v, size_t max, int multiline, char *why,
                   size_t whylen) {
  if (!json_is_string(v)) {
    snprintf(why, whylen, "%s: must be a string", key);
    return CAIRN_EINVAL;
  }
  if (json_string_length(v) > max) {
    snprintf(why, whylen, "%s: longer than %zu bytes", key, max);
    return CAIRN_ETOOBIG;
  }
  int rc = cairn_text_check(key, json_string_value(v), json_string_length(v), multiline, why,
                            whylen);
  if (rc != 0)
    return rc;
  return json_string_length(v) == 0;
}

/* Parses body into one object whose keys are all in defs, each of its
 * kind; fills vals[i] (borrowed from *root) or NULL. defs NULL: one object
 * of any keys. */
static int body_parse(const uint8_t *body, size_t len, const field_def *defs, json_t **root,
                      json_t **vals, char *why, size_t whylen) {
  json_error_t err;
  const char *key;
  json_t *v;
  size_t n = 0;
  int rc;

  *root = NULL;
  if (len > CAIRN_WEB_JSON_MAX) {
    snprintf(why, whylen, "body: longer than %d bytes", CAIRN_WEB_JSON_MAX);
    return CAIRN_ETOOBIG;
  }
  if (len == 0) { /* an empty body is an empty object */
    *root = json_object();
    if (*root == NULL)
      return CAIRN_ENOMEM;
  } else {
    *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &err);
    if (*root == NULL) {
      snprintf(why, whylen, "body: not JSON (line %d column %d)", err.line, err.column);
      return CAIRN_EINVAL;
    }
  }
  if (!json_is_object(*root)) {
    snprintf(why, whylen, "body: must be one JSON object");
    return CAIRN_EINVAL;
  }
  if (defs == NULL) /* a put route: put_decode checks the keys */
    return 0;
  for (n = 0; defs[n].name != NULL; n++)
    vals[n] = NULL;
  json_object_foreach(*root, key, v) {
    size_t i, klen = strlen(key);
    char shown[CAIRN_TEXT_SHOWN_MAX];
    for (i = 0; defs[i].name != NULL && strcmp(defs[i].name, key) != 0; i++)
      ;
    if (defs[i].name == NULL || klen != strlen(defs[i].name)) { /* a key with a NUL is unknown */
      cairn_text_shown(shown, key, klen);
      snprintf(why, whylen, "%s: unknown field", shown);
      return CAIRN_EINVAL;
    }
    if (json_is_null(v))
      continue;
    if (defs[i].kind == FIELD_NUMBER && !json_is_number(v)) {
      snprintf(why, whylen, "%s: must be a number", key);
      return CAIRN_EINVAL;
    }
    if (defs[i].kind != FIELD_NUMBER) {
      rc = text_ok(key, v, defs[i].max, defs[i].multiline, why, whylen);
      if (rc < 0)
        return rc;
      if (rc == 1 && !defs[i].required)
        continue; /* an empty optional field is absent */
      if (defs[i].kind == FIELD_ID && !cairn_text_id_valid(json_string_value(v), json_string_length(v))) {
        snprintf(why, whylen, "%s: not an id (%s)", key, CAIRN_TEXT_ID_RULE);
        return CAIRN_EINVAL;
      }
    }
    vals[i] = v;
  }
  for (size_t i = 0; defs[i].name != NULL; i++) {
    if (defs[i].required && vals[i] == NULL) {
      snprintf(why, whylen, "%s: required", defs[i].name);
      return CAIRN_EINVAL;
    }
  }
  return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_json_str(msgpack_packer *pk, const json_t *v) {
  msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
}

/* The header of a put of evidence: {op, type, [id, edit, why,] set: ...};
 * an edit's why is "REASON (by NAME)". */
static void pack_put_head(msgpack_packer *pk, const json_t *id, const json_t *reason,
                          const char *by) {
  msgpack_pack_map(pk, id != NULL ? 6 : 3);
  pack_cstr(pk, "op");
  pack_cstr(pk, "put");
  pack_cstr(pk, "type");
  pack_cstr(pk, "evidence");
  if (id != NULL) {
    pack_cstr(pk, "id");
    pack_json_str(pk, id);
    pack_cstr(pk, "edit");
    msgpack_pack_true(pk);
    pack_cstr(pk, "why");
    msgpack_pack_str(pk, json_string_length(reason) + strlen(by) + 6);
    msgpack_pack_str_body(pk, json_string_value(reason), json_string_length(reason));
    msgpack_pack_str_body(pk, " (by ", 5);
    msgpack_pack_str_body(pk, by, strlen(by));
    msgpack_pack_str_body(pk, ")", 1);
  }
  pack_cstr(pk, "set");
}

/* A request of one op with at most one string argument. */
static void pack_op(msgpack_packer *pk, const char *op, const char *key, const char *val,
                    size_t vlen) {
  msgpack_pack_map(pk, key != NULL ? 2 : 1);
  pack_cstr(pk, "op");
  pack_cstr(pk, op);
  if (key != NULL) {
    pack_cstr(pk, key);
    msgpack_pack_str_with_body(pk, val, vlen);
  }
}

/* ---- records the page adds: a milestone, review, support change, celebration ---- */

/* The record fields each put route takes: the page's names are the
 * record's (FORMAT.md section 3.2); their types and bounds come from the
 * schema table of protocol/record.c. */
static const char *const milestone_keys[] = {
    "student", "type", "statement", "horizon", "parent", "scale", "baseline",
    "baseline_date", "baseline_how", "target", "direction", "rule", "start", "end",
    "checks", "method", "source", "support", "at_home", "if_then", "cadence",
    "alignment", "agreed_by", NULL};
static const char *const review_keys[] = {"milestone", "date", "kind", "decision",
                                          "showed", "note", NULL};
static const char *const support_keys[] = {"milestone", "date", "support", "note", NULL};
static const char *const celebration_keys[] = {"milestone", "date", "text", NULL};

/* The record type and keys of a put route; 0 for another route. */
static int put_route(cairn_web_route route, const char *const **keys) {
  switch (route) {
  case CAIRN_WEB_MILESTONE_ADD:
    *keys = milestone_keys;
    return CAIRN_REC_MILESTONE;
  case CAIRN_WEB_REVIEW_ADD:
    *keys = review_keys;
    return CAIRN_REC_REVIEW;
  case CAIRN_WEB_SUPPORT_ADD:
    *keys = support_keys;
    return CAIRN_REC_SUPPORT_CHANGE;
  case CAIRN_WEB_CELEBRATION_ADD:
    *keys = celebration_keys;
    return CAIRN_REC_CELEBRATION;
  default:
    return 0;
  }
}

/* The schema row of field name of type, or NULL. */
static const cairn_field_def *field_def_of(int type, const char *name) {
  size_t n;
  const cairn_field_def *fd = cairn_record_fields(type, &n);
  for (size_t i = 0; fd != NULL && i < n; i++)
    if (strcmp(fd[i].name, name) == 0)
      return &fd[i];
  return NULL;
}

/* Checks one value of field f (key) against its type and bounds. Returns
 * 0 (to pack), 1 (empty: leave the field out), or a negative code. */
static int value_ok(const cairn_field_def *f, const char *key, const json_t *v, char *why,
                    size_t whylen) {
  size_t i, kept = 0;
  const json_t *item;
  int rc;

  switch (f->type) {
  case CAIRN_FT_NUM:
  case CAIRN_FT_INT:
    if (!json_is_number(v)) {
      snprintf(why, whylen, "%s: must be a number", key);
      return CAIRN_EINVAL;
    }
    return 0;
  case CAIRN_FT_NUMNIL: /* null: pending */
    if (!json_is_number(v) && !json_is_null(v)) {
      snprintf(why, whylen, "%s: must be a number, or null for pending", key);
      return CAIRN_EINVAL;
    }
    return 0;
  case CAIRN_FT_STRS:
    if (!json_is_array(v)) {
      snprintf(why, whylen, "%s: must be a list of strings", key);
      return CAIRN_EINVAL;
    }
    json_array_foreach(v, i, item) {
      if ((rc = text_ok(key, item, f->max_len, 0, why, whylen)) < 0)
        return rc;
      kept += rc == 0;
    }
    if (kept > f->max_items) {
      snprintf(why, whylen, "%s: more than %u items", key, (unsigned)f->max_items);
      return CAIRN_ETOOBIG;
    }
    return kept == 0;
  default: /* text, dates, enums, ids */
    return text_ok(key, v, f->type == CAIRN_FT_STR ? f->max_len : 64,
                   (f->flags & CAIRN_F_MULTILINE) != 0, why, whylen);
  }
}

/* Packs value v (checked by value_ok) of field f. */
static void pack_value(msgpack_packer *pk, const cairn_field_def *f, const json_t *v) {
  size_t i, kept = 0;
  const json_t *item;

  switch (f->type) {
  case CAIRN_FT_NUM:
  case CAIRN_FT_INT:
  case CAIRN_FT_NUMNIL:
    if (json_is_null(v))
      msgpack_pack_nil(pk);
    else if (json_is_integer(v))
      msgpack_pack_int64(pk, json_integer_value(v));
    else
      msgpack_pack_double(pk, json_real_value(v));
    return;
  case CAIRN_FT_STRS:
    json_array_foreach(v, i, item) kept += json_string_length(item) > 0;
    msgpack_pack_array(pk, (uint32_t)kept);
    json_array_foreach(v, i, item) {
      if (json_string_length(item) > 0)
        pack_json_str(pk, item);
    }
    return;
  default:
    pack_json_str(pk, v);
  }
}

/* A put of a new record of type from the JSON object root, whose keys
 * must be among keys: checked whole before anything is packed. */
static int put_decode(int type, const char *const *keys, const json_t *root, const char *by,
                      msgpack_packer *pk, char *why, size_t whylen) {
  const char *key;
  json_t *v;
  size_t nset = 0, n;
  const cairn_field_def *fd = cairn_record_fields(type, &n);
  char shown[CAIRN_TEXT_SHOWN_MAX];
  int rc;

  json_object_foreach((json_t *)root, key, v) {
    const cairn_field_def *f = NULL;
    size_t k;
    for (k = 0; keys[k] != NULL && strcmp(keys[k], key) != 0; k++)
      ;
    if (keys[k] != NULL)
      f = field_def_of(type, key);
    if (f == NULL || strlen(key) != strlen(keys[k])) {
      cairn_text_shown(shown, key, strlen(key));
      snprintf(why, whylen, "%s: unknown field", shown);
      return CAIRN_EINVAL;
    }
    if (json_is_null(v) && f->type != CAIRN_FT_NUMNIL)
      continue; /* null is absent */
    if ((rc = value_ok(f, key, v, why, whylen)) < 0)
      return rc;
    nset += rc == 0;
  }
  for (size_t i = 0; i < n; i++) {
    const json_t *given = json_object_get(root, fd[i].name);
    if ((fd[i].flags & CAIRN_F_REQUIRED) &&
        (given == NULL || (json_is_null(given) && fd[i].type != CAIRN_FT_NUMNIL) ||
         value_ok(&fd[i], fd[i].name, given, why, whylen) != 0)) {
      snprintf(why, whylen, "%s: required", fd[i].name);
      return CAIRN_EINVAL;
    }
  }
  msgpack_pack_map(pk, 4);
  pack_cstr(pk, "op");
  pack_cstr(pk, "put");
  pack_cstr(pk, "type");
  pack_cstr(pk, cairn_record_type_name(type));
  pack_cstr(pk, "why");
  msgpack_pack_str(pk, sizeof "added on the web page by " - 1 + strlen(by));
  msgpack_pack_str_body(pk, "added on the web page by ", sizeof "added on the web page by " - 1);
  msgpack_pack_str_body(pk, by, strlen(by));
  pack_cstr(pk, "set");
  msgpack_pack_map(pk, (uint32_t)nset);
  json_object_foreach((json_t *)root, key, v) {
    const cairn_field_def *f = field_def_of(type, key);
    if ((json_is_null(v) && f->type != CAIRN_FT_NUMNIL) || value_ok(f, key, v, why, whylen) != 0)
      continue;
    pack_cstr(pk, key);
    pack_value(pk, f, v);
  }
  return 0;
}

int cairn_web_request_decode(cairn_web_route route, const char *arg, size_t arglen,
                             const uint8_t *body, size_t len, const char *by,
                             msgpack_sbuffer *out, char *why, size_t whylen) {
  const field_def *defs = fields_of(route);
  json_t *root = NULL, *vals[FIELDS_MAX] = {NULL};
  const char *const *keys = NULL;
  msgpack_packer pk;
  int rc = 0, type;

  if (whylen > 0)
    why[0] = '\0';
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  switch (route) {
  case CAIRN_WEB_DEVICE:
    pack_op(&pk, "ping", NULL, NULL, 0);
    return 0;
  case CAIRN_WEB_TODAY:
    pack_op(&pk, "status", NULL, NULL, 0);
    return 0;
  case CAIRN_WEB_SYNC:
    pack_op(&pk, "sync_status", NULL, NULL, 0);
    return 0;
  case CAIRN_WEB_RECORDS:
  case CAIRN_WEB_MILESTONE:
  case CAIRN_WEB_FAMILY:
    if (arg == NULL || !cairn_text_id_valid(arg, arglen)) {
      snprintf(why, whylen, "%s: not an id", route == CAIRN_WEB_FAMILY ? "student" : "milestone");
      return CAIRN_EINVAL;
    }
    if (route == CAIRN_WEB_RECORDS)
      pack_op(&pk, "children", "id", arg, arglen);
    else
      pack_op(&pk, "detail", route == CAIRN_WEB_FAMILY ? "student" : "id", arg, arglen);
    return 0;
  case CAIRN_WEB_BUNDLE_IMPORT:
  case CAIRN_WEB_BUNDLE_EXPORT:
    if (arg == NULL || arglen == 0 || arg[0] != '/') {
      snprintf(why, whylen, "path: must be absolute");
      return CAIRN_EINVAL;
    }
    pack_op(&pk, route == CAIRN_WEB_BUNDLE_IMPORT ? "bundle_import" : "bundle_export", "path",
            arg, arglen);
    return 0;
  case CAIRN_WEB_SYNC_NOW:
  case CAIRN_WEB_EVIDENCE_ADD:
  case CAIRN_WEB_EVIDENCE_AMEND:
  case CAIRN_WEB_EVIDENCE_RETRACT:
  case CAIRN_WEB_MILESTONE_ADD:
  case CAIRN_WEB_REVIEW_ADD:
  case CAIRN_WEB_SUPPORT_ADD:
  case CAIRN_WEB_CELEBRATION_ADD:
    break;
  default:
    snprintf(why, whylen, "no local request for this route");
    return CAIRN_ENOTFOUND;
  }
  if (by == NULL || by[0] == '\0' || strlen(by) > CAIRN_WEB_NAME_MAX) {
    snprintf(why, whylen, "by: the signed-in name is missing or too long");
    return CAIRN_EINVAL;
  }
  type = put_route(route, &keys);
  rc = body_parse(body, len, type ? NULL : defs, &root, vals, why, whylen);
  if (rc == 0 && type)
    rc = put_decode(type, keys, root, by, &pk, why, whylen);
  if (rc != 0 || type)
    goto out;
  switch (route) {
  case CAIRN_WEB_SYNC_NOW:
    pack_op(&pk, "sync_now", NULL, NULL, 0);
    break;
  case CAIRN_WEB_EVIDENCE_ADD: /* milestone, value, observed, note */
    pack_put_head(&pk, NULL, NULL, by);
    msgpack_pack_map(&pk, 4 + (vals[3] != NULL));
    pack_cstr(&pk, "milestone");
    pack_json_str(&pk, vals[0]);
    pack_cstr(&pk, "value");
    msgpack_pack_double(&pk, json_number_value(vals[1]));
    pack_cstr(&pk, "observed");
    pack_json_str(&pk, vals[2]);
    if (vals[3] != NULL) {
      pack_cstr(&pk, "note");
      pack_json_str(&pk, vals[3]);
    }
    pack_cstr(&pk, "by");
    pack_cstr(&pk, by);
    break;
  case CAIRN_WEB_EVIDENCE_AMEND: /* id, value, reason */
    pack_put_head(&pk, vals[0], vals[2], by);
    msgpack_pack_map(&pk, 1);
    pack_cstr(&pk, "value");
    msgpack_pack_double(&pk, json_number_value(vals[1]));
    break;
  case CAIRN_WEB_EVIDENCE_RETRACT: /* id, reason */
    pack_put_head(&pk, vals[0], vals[1], by);
    msgpack_pack_map(&pk, 1);
    pack_cstr(&pk, "retracted");
    msgpack_pack_true(&pk);
    break;
  default:
    break;
  }
out:
  json_decref(root);
  return rc;
}
