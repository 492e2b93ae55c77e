/* request.c: the table of local request ops and their arguments, and the
 * check of a request against it (request.h). */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "mpcheck.h"
#include "record.h"
#include "text.h"

typedef enum arg_type {
  ARG_TEXT, /* one line of text: UTF-8, no control character (text.h) */
  ARG_ID,   /* a record id (text.h: cairn_text_id_valid) */
  ARG_PATH, /* a string of any bytes: a file name */
  ARG_BIN,
  ARG_MAP,
  ARG_BOOL,
  ARG_UINT,
  ARG_PUTS /* put_many's: an array of maps, each the arguments of a put */
} arg_type;

/* What a wrong value is told it must be, per arg_type. */
static const char *const must_be[] = {
    [ARG_TEXT] = "a string",
    [ARG_ID] = "a string",
    [ARG_PATH] = "a string",
    [ARG_BIN] = "binary (bin)",
    [ARG_MAP] = "a map",
    [ARG_BOOL] = "true or false",
    [ARG_UINT] = "a whole number (0 or more)",
    [ARG_PUTS] = "an array of puts (maps)",
};

typedef struct arg_def {
  const char *name;
  arg_type type;
  const char *label; /* its name in messages, when not name; or NULL */
} arg_def;

#define ARGS_MAX 10 /* per op, besides "op" itself */

typedef struct op_def {
  const char *name;
  arg_def args[ARGS_MAX + 1]; /* ends at a NULL name */
} op_def;

/* One row per op (docs/FORMAT.md section 5); rpc.c has one handler each. */
static const op_def ops[CAIRN_OP_MAX + 1] = {
    [CAIRN_OP_PING] = {"ping", {{NULL, 0, NULL}}},
    [CAIRN_OP_PUT] = {"put",
                      {{"type", ARG_TEXT, NULL},
                       {"id", ARG_ID, NULL},
                       {"edit", ARG_BOOL, NULL},
                       {"set", ARG_MAP, NULL},
                       {"why", ARG_TEXT, "reason"}, /* the CLI's --reason */
                       {"force", ARG_BOOL, NULL},
                       {NULL, 0, NULL}}},
    [CAIRN_OP_STATUS] = {"status",
                         {{"student", ARG_ID, NULL},
                          {"today", ARG_TEXT, NULL},
                          {"classroom", ARG_TEXT, NULL},
                          {"withdrawn", ARG_BOOL, NULL},
                          {"archived", ARG_BOOL, NULL},
                          {NULL, 0, NULL}}},
    [CAIRN_OP_EXPORT] = {"export",
                         {{"after", ARG_BIN, NULL},
                          {"scope_campus", ARG_TEXT, NULL},
                          {"scope_classroom", ARG_TEXT, NULL},
                          {"type", ARG_TEXT, NULL},
                          {NULL, 0, NULL}}},
    [CAIRN_OP_SHOW] = {"show", {{"id", ARG_ID, NULL}, {"type", ARG_TEXT, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_CONFLICTS] = {"conflicts", {{NULL, 0, NULL}}},
    [CAIRN_OP_CHECK] = {"check", {{NULL, 0, NULL}}},
    [CAIRN_OP_DEVICES] = {"devices", {{NULL, 0, NULL}}},
    [CAIRN_OP_SYNC_STATUS] = {"sync_status", {{NULL, 0, NULL}}},
    [CAIRN_OP_SYNC_NOW] = {"sync_now", {{NULL, 0, NULL}}},
    [CAIRN_OP_JOIN] = {"join",
                       {{"token", ARG_TEXT, NULL}, {"upstream", ARG_TEXT, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_ENROLL] = {"enroll",
                         {{"campus", ARG_TEXT, NULL},
                          {"classroom", ARG_TEXT, NULL},
                          {"role", ARG_TEXT, NULL},
                          {"expires", ARG_UINT, NULL},
                          {NULL, 0, NULL}}},
    [CAIRN_OP_REVOKE] = {"revoke", {{"device", ARG_TEXT, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_BUNDLE_EXPORT] = {"bundle_export",
                                {{"path", ARG_PATH, NULL}, {"for", ARG_TEXT, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_BUNDLE_IMPORT] = {"bundle_import", {{"path", ARG_PATH, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_CHILDREN] = {"children", {{"id", ARG_ID, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_WEB_SIGNIN] = {"web_signin",
                             {{"as", ARG_TEXT, NULL}, {"sign_out_all", ARG_BOOL, NULL},
                              {NULL, 0, NULL}}},
    [CAIRN_OP_DETAIL] = {"detail",
                         {{"id", ARG_ID, NULL},
                          {"student", ARG_ID, NULL},
                          {"today", ARG_TEXT, NULL},
                          {NULL, 0, NULL}}},
    [CAIRN_OP_REPORT] = {"report",
                         {{"kind", ARG_TEXT, NULL},
                          {"campus", ARG_TEXT, NULL},
                          {"classroom", ARG_TEXT, NULL},
                          {"grade", ARG_TEXT, NULL},
                          {"type", ARG_TEXT, NULL},
                          {"template", ARG_ID, NULL},
                          {"standard", ARG_ID, NULL},
                          {"today", ARG_TEXT, NULL},
                          {"offset", ARG_UINT, NULL},
                          {NULL, 0, NULL}}},
    [CAIRN_OP_PUT_MANY] = {"put_many",
                           {{"puts", ARG_PUTS, NULL}, {"check", ARG_BOOL, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_STUDENTS] = {"students",
                           {{"id", ARG_ID, NULL},
                            {"classroom", ARG_TEXT, NULL},
                            {"campus", ARG_TEXT, NULL},
                            {"grade", ARG_TEXT, NULL},
                            {"withdrawn", ARG_BOOL, NULL},
                            {NULL, 0, NULL}}},
    [CAIRN_OP_BACKUP] = {"backup",
                         {{"path", ARG_PATH, NULL}, {"encrypt", ARG_BOOL, NULL}, {NULL, 0, NULL}}},
    [CAIRN_OP_MIRROR] = {"mirror", {{"rebuild", ARG_BOOL, NULL}, {NULL, 0, NULL}}},
};

const char *cairn_request_op_name(int op) {
  return op >= 1 && op <= CAIRN_OP_MAX ? ops[op].name : NULL;
}

static int str_is(const msgpack_object *o, const char *s) {
  return o->via.str.size == strlen(s) && memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static int type_ok(arg_type t, const msgpack_object *v) {
  switch (t) {
  case ARG_TEXT:
  case ARG_ID:
  case ARG_PATH:
    return v->type == MSGPACK_OBJECT_STR;
  case ARG_BIN:
    return v->type == MSGPACK_OBJECT_BIN;
  case ARG_MAP:
    return v->type == MSGPACK_OBJECT_MAP;
  case ARG_BOOL:
    return v->type == MSGPACK_OBJECT_BOOLEAN;
  case ARG_UINT:
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
  case ARG_PUTS:
    return v->type == MSGPACK_OBJECT_ARRAY;
  }
  return 0;
}

static int check_args(const op_def *op, const msgpack_object *m, int in_puts, char *why,
                      size_t whylen);

/* put_many's puts: 1 to CAIRN_REQUEST_PUTS_MAX maps, each a put's
 * arguments (without "op"). */
static int check_puts(const msgpack_object *v, char *why, size_t whylen) {
  char inner[160];
  if (v->via.array.size == 0 || v->via.array.size > CAIRN_REQUEST_PUTS_MAX) {
    snprintf(why, whylen, "puts: 1 to %d puts", CAIRN_REQUEST_PUTS_MAX);
    return v->via.array.size == 0 ? CAIRN_EINVAL : CAIRN_ETOOBIG;
  }
  for (uint32_t i = 0; i < v->via.array.size; i++) {
    const msgpack_object *put = &v->via.array.ptr[i];
    int rc;
    if (put->type != MSGPACK_OBJECT_MAP) {
      snprintf(why, whylen, "puts item %u: must be a map", (unsigned)i + 1);
      return CAIRN_EINVAL;
    }
    if ((rc = check_args(&ops[CAIRN_OP_PUT], put, 1, inner, sizeof inner)) != 0) {
      snprintf(why, whylen, "puts item %u: %s", (unsigned)i + 1, inner);
      return rc;
    }
  }
  return 0;
}

/* Checks every key of the request map m against the row of op; in_puts:
 * m is one of put_many's puts, which has no "op". */
static int check_args(const op_def *op, const msgpack_object *m, int in_puts, char *why,
                      size_t whylen) {
  unsigned seen = 0; /* bit i: args[i]; bit ARGS_MAX: "op" */

  for (uint32_t i = 0; i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
    const arg_def *a = NULL;
    unsigned bit;

    if (k->type != MSGPACK_OBJECT_STR) {
      snprintf(why, whylen, "%s: argument names must be strings", op->name);
      return CAIRN_EINVAL;
    }
    if (!in_puts && str_is(k, "op")) {
      bit = ARGS_MAX;
    } else {
      for (bit = 0; op->args[bit].name != NULL && !str_is(k, op->args[bit].name); bit++)
        ;
      a = &op->args[bit];
      if (a->name == NULL) {
        char shown[CAIRN_TEXT_SHOWN_MAX];
        cairn_text_shown(shown, k->via.str.ptr, k->via.str.size);
        snprintf(why, whylen, "%s: unknown argument '%s'", op->name, shown);
        return CAIRN_EINVAL;
      }
    }
    if (seen & (1u << bit)) {
      snprintf(why, whylen, "%s: given twice", a ? a->name : "op");
      return CAIRN_EINVAL;
    }
    seen |= 1u << bit;
    if (a == NULL || v->type == MSGPACK_OBJECT_NIL)
      continue;
    if (!type_ok(a->type, v)) {
      snprintf(why, whylen, "%s: must be %s", a->name, must_be[a->type]);
      return CAIRN_EINVAL;
    }
    if (a->type == ARG_PUTS) {
      int rc = check_puts(v, why, whylen);
      if (rc != 0)
        return rc;
    }
    if (a->type == ARG_TEXT || a->type == ARG_ID) {
      const char *label = a->label != NULL ? a->label : a->name;
      int rc = cairn_text_check(label, v->via.str.ptr, v->via.str.size, 0, why, whylen);
      if (rc == 0 && a->type == ARG_ID)
        rc = cairn_text_id_check(label, v->via.str.ptr, v->via.str.size, why, whylen);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

/* Finds the op's row: 0 and *out, or a negative code with why. */
static int find_op(const msgpack_object *name, int *out, char *why, size_t whylen) {
  char shown[CAIRN_TEXT_SHOWN_MAX];

  if (!cairn_text_utf8_valid(name->via.str.ptr, name->via.str.size)) {
    snprintf(why, whylen, "op: invalid UTF-8");
    return CAIRN_EUTF8;
  }
  for (int op = 1; op <= CAIRN_OP_MAX; op++) {
    if (str_is(name, ops[op].name)) {
      *out = op;
      return 0;
    }
  }
  cairn_text_shown(shown, name->via.str.ptr, name->via.str.size);
  snprintf(why, whylen, "op: unknown operation '%s'", shown);
  return CAIRN_EINVAL;
}

int cairn_request_decode(const uint8_t *buf, size_t len, cairn_request *req, char *why,
                         size_t whylen) {
  const msgpack_object *name;
  size_t off = 0;
  int op = 0, rc;

  memset(req, 0, sizeof *req);
  msgpack_unpacked_init(&req->msg);
  if (whylen > 0)
    why[0] = '\0';
  /* Counts first: msgpack-c would trust them and allocate. */
  if (cairn_mpcheck(buf, len, &off) != 0 || off != len) {
    snprintf(why, whylen, "not one msgpack value");
    return CAIRN_EMALFORMED;
  }
  off = 0;
  switch (msgpack_unpack_next(&req->msg, (const char *)buf, len, &off)) {
  case MSGPACK_UNPACK_SUCCESS:
    break;
  case MSGPACK_UNPACK_NOMEM_ERROR:
    cairn_request_clear(req);
    return CAIRN_ENOMEM;
  default:
    cairn_request_clear(req);
    snprintf(why, whylen, "not one msgpack value");
    return CAIRN_EMALFORMED;
  }
  if (off != len || req->msg.data.type != MSGPACK_OBJECT_MAP ||
      (name = cairn_record_map_get(&req->msg.data, "op")) == NULL ||
      name->type != MSGPACK_OBJECT_STR || name->via.str.size >= CAIRN_REQUEST_OP_MAX) {
    cairn_request_clear(req);
    snprintf(why, whylen, "not a map with a string op");
    return CAIRN_EMALFORMED;
  }
  if ((rc = find_op(name, &op, why, whylen)) != 0 ||
      (rc = check_args(&ops[op], &req->msg.data, 0, why, whylen)) != 0) {
    cairn_request_clear(req);
    return rc;
  }
  req->op = (cairn_request_op)op;
  return 0;
}

void cairn_request_clear(cairn_request *req) {
  if (req == NULL)
    return;
  msgpack_unpacked_destroy(&req->msg);
  msgpack_unpacked_init(&req->msg);
  req->op = 0;
}
