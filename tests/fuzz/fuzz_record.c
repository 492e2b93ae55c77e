/*
 * fuzz_record.c: what cairnd does with a local request before it touches
 * the store: cairn_request_decode (protocol/request.h, the table of ops and
 * their arguments), then for a "put" cairn_record_check_set on its `set`
 * and, when that passes, cairn_record_check_input.
 *
 * The input is one frame payload from the local socket. A request that
 * decodes is a put when its op says so: "type" names the record type, and
 * "set" is checked as creating (edit absent or false) or editing, exactly
 * as the store will; each of a put_many's puts is checked the same way. Any other map is checked as the `set` of every record
 * type, both ways, so the schema sees every shape. The milestone helpers
 * the store calls on checked strings (scale, rule) get them too, and a
 * statement is read and filled as a template's pattern (template.h).
 *
 * Checks: the decoder answers with a documented code; a request it accepts
 * has a known op and only that op's arguments, each once, strings of it
 * UTF-8, its text arguments one line without control characters and its
 * ids ids; a refusal names what is wrong in why; why is always terminated.
 * The handlers themselves are not linked: they need a store and a loop.
 */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "mpcheck.h"
#include "record.h"
#include "request.h"
#include "template.h"
#include "text.h"

static void check_one(int type, const msgpack_object *set, int creating) {
  char why[256];
  int rc;

  memset(why, 'x', sizeof why);
  why[sizeof why - 1] = '\0';
  why[0] = '\0';
  rc = cairn_record_check_set(type, set, creating, why, sizeof why);
  FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EINVAL || rc == CAIRN_EUTF8 || rc == CAIRN_EDATE ||
               rc == CAIRN_ETOOBIG || rc == CAIRN_ERANGE);
    FUZZ_CHECK(why[0] != '\0');
    return;
  }
  why[0] = '\0';
  rc = cairn_record_check_input(type, set, why, sizeof why);
  FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
  FUZZ_CHECK(rc == 0 || ((rc == CAIRN_EINVAL || rc == CAIRN_ETOOBIG) && why[0] != '\0'));
}

/* Returns 1 when the argument named k is a string of any bytes (a path),
 * 2 when an id, else 0. */
static int arg_kind(const cairn_request *req, const msgpack_object *k) {
#define IS(name)                                                                             \
  (k->via.str.size == strlen(name) && memcmp(k->via.str.ptr, name, k->via.str.size) == 0)
  if (IS("path"))
    return 1;
  if ((req->op == CAIRN_OP_PUT || req->op == CAIRN_OP_SHOW) && IS("id"))
    return 2;
  if (req->op == CAIRN_OP_STATUS && IS("student"))
    return 2;
  if (req->op == CAIRN_OP_REPORT && (IS("template") || IS("standard")))
    return 2;
  return 0;
#undef IS
}

/* The store parses a milestone's scale and rule once check_set took them. */
static void parse_helpers(const msgpack_object *set) {
  const msgpack_object *scale = cairn_record_map_get(set, "scale");
  const msgpack_object *rule = cairn_record_map_get(set, "rule");

  if (scale && scale->type == MSGPACK_OBJECT_STR) {
    cairn_scale sc;
    if (cairn_record_scale_parse(scale->via.str.ptr, scale->via.str.size,
                                 cairn_record_map_get(set, "levels"), &sc) == 0) {
      FUZZ_CHECK(sc.min <= sc.max);
      (void)cairn_record_scale_check(&sc, sc.min);
      (void)cairn_record_scale_check(&sc, sc.max);
    }
  }
  if (rule && rule->type == MSGPACK_OBJECT_STR) {
    int k = 0, n = 0;
    if (cairn_record_rule_parse(rule->via.str.ptr, rule->via.str.size, &k, &n) == 0)
      FUZZ_CHECK(1 <= k && k <= n && n <= 50);
  }
  const msgpack_object *st = cairn_record_map_get(set, "statement");
  size_t blanks;
  char why[256], out[1001], word[CAIRN_TEMPLATE_BLANK_MAX + 1];
  if (st && st->type == MSGPACK_OBJECT_STR &&
      cairn_template_check(st->via.str.ptr, st->via.str.size, &blanks, why, sizeof why) == 0) {
    static const char *const fills[CAIRN_TEMPLATE_BLANKS_MAX] = {"1", "two", "{3}", "", "five",
                                                                 "6", "seven", "}}"};
    FUZZ_CHECK(blanks <= CAIRN_TEMPLATE_BLANKS_MAX);
    for (size_t i = 0; i < blanks; i++)
      FUZZ_CHECK(cairn_template_blank(st->via.str.ptr, st->via.str.size, i, word, sizeof word) ==
                     0 &&
                 memchr(word, '\0', sizeof word) != NULL);
    int rc = cairn_template_fill(st->via.str.ptr, st->via.str.size, "Ana {name}", fills, blanks,
                                 out, sizeof out, why, sizeof why);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_ETOOBIG);
    FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL);
    FUZZ_CHECK(cairn_template_fill(st->via.str.ptr, st->via.str.size, "Ana", fills, blanks + 1,
                                   out, sizeof out, why, sizeof why) == CAIRN_EINVAL);
  }
}

/* What cairn_request_decode promised of the arguments m of a request
 * (op: its op; a put_many's put is checked as a put). */
static void check_args(int op, const msgpack_object *m) {
  cairn_request req = {.op = (cairn_request_op)op};
  FUZZ_CHECK(m->type == MSGPACK_OBJECT_MAP);
  for (uint32_t i = 0; i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
    FUZZ_CHECK(k->type == MSGPACK_OBJECT_STR);
    for (uint32_t j = 0; j < i; j++) /* each argument once */
      FUZZ_CHECK(m->via.map.ptr[j].key.via.str.size != k->via.str.size ||
                 memcmp(m->via.map.ptr[j].key.via.str.ptr, k->via.str.ptr, k->via.str.size) != 0);
    if (v->type == MSGPACK_OBJECT_STR && arg_kind(&req, k) != 1) { /* a path: any bytes */
      char why[128];
      FUZZ_CHECK(cairn_text_check("arg", v->via.str.ptr, v->via.str.size, 0, why, sizeof why) == 0);
      if (arg_kind(&req, k) == 2)
        FUZZ_CHECK(cairn_text_id_valid(v->via.str.ptr, v->via.str.size));
    }
  }
}

/* What cairn_request_decode promised of a request it accepted. */
static void check_request(const cairn_request *req) {
  const msgpack_object *puts = cairn_record_map_get(&req->msg.data, "puts");
  FUZZ_CHECK(cairn_request_op_name(req->op) != NULL);
  check_args(req->op, &req->msg.data);
  if (req->op != CAIRN_OP_PUT_MANY || puts == NULL)
    return;
  FUZZ_CHECK(puts->type == MSGPACK_OBJECT_ARRAY && puts->via.array.size >= 1 &&
             puts->via.array.size <= CAIRN_REQUEST_PUTS_MAX);
  for (uint32_t i = 0; i < puts->via.array.size; i++)
    check_args(CAIRN_OP_PUT, &puts->via.array.ptr[i]);
}

/* op_put's checks, then the store's check of the set. */
static void check_put(const msgpack_object *m) {
  const msgpack_object *type = cairn_record_map_get(m, "type");
  const msgpack_object *set = cairn_record_map_get(m, "set");
  const msgpack_object *edit = cairn_record_map_get(m, "edit");
  int t, is_edit;

  if (type == NULL || type->type != MSGPACK_OBJECT_STR || set == NULL ||
      set->type != MSGPACK_OBJECT_MAP)
    return;
  FUZZ_CHECK(edit == NULL || edit->type == MSGPACK_OBJECT_BOOLEAN ||
             edit->type == MSGPACK_OBJECT_NIL);
  t = cairn_record_type_from_name(type->via.str.ptr, type->via.str.size);
  if (t < 0)
    return;
  FUZZ_CHECK(t >= 1 && t <= CAIRN_REC_MAX && cairn_record_type_name(t) != NULL);
  is_edit = edit && edit->type == MSGPACK_OBJECT_BOOLEAN && edit->via.boolean;
  check_one(t, set, !is_edit);
  parse_helpers(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_request req;
  char why[128];
  size_t off = 0;
  int rc;

  memset(why, 'x', sizeof why);
  why[sizeof why - 1] = '\0';
  rc = cairn_request_decode(data, size, &req, why, sizeof why);
  FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
  if (rc == 0) {
    const msgpack_object *puts = cairn_record_map_get(&req.msg.data, "puts");
    check_request(&req);
    if (req.op == CAIRN_OP_PUT)
      check_put(&req.msg.data);
    for (uint32_t i = 0; req.op == CAIRN_OP_PUT_MANY && puts != NULL &&
                         puts->type == MSGPACK_OBJECT_ARRAY && i < puts->via.array.size;
         i++)
      check_put(&puts->via.array.ptr[i]);
    cairn_request_clear(&req);
    return 0;
  }
  FUZZ_CHECK(rc == CAIRN_EMALFORMED || rc == CAIRN_EINVAL || rc == CAIRN_EUTF8 ||
             rc == CAIRN_ETOOBIG || rc == CAIRN_ENOMEM);
  FUZZ_CHECK(rc == CAIRN_ENOMEM || (why[0] != '\0' && why[0] != 'x'));
  FUZZ_CHECK(req.msg.zone == NULL);
  cairn_request_clear(&req); /* harmless after a refusal */
  if (rc != CAIRN_EMALFORMED)
    return 0;
  /* Not a request: when it is one msgpack map, fuzz the schema with it as
   * a set. */
  if (cairn_mpcheck(data, size, &off) == 0 && off == size) {
    msgpack_unpacked msg;
    off = 0;
    msgpack_unpacked_init(&msg);
    if (msgpack_unpack_next(&msg, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS &&
        off == size && msg.data.type == MSGPACK_OBJECT_MAP) {
      for (int t = 0; t <= CAIRN_REC_MAX + 1; t++) {
        check_one(t, &msg.data, 1);
        check_one(t, &msg.data, 0);
      }
      parse_helpers(&msg.data);
    }
    msgpack_unpacked_destroy(&msg);
  }
  return 0;
}
