/*
 * fuzz_record.c: the first steps cairnd takes with a local request, and
 * cairn_record_check_set on its `set` map.
 *
 * The input is one frame payload from the local socket. As
 * cairn_rpc_handle does, it must unpack to exactly one msgpack map with a
 * string "op" shorter than 32 bytes. For a "put", "type" names the record
 * type, "set" is checked as creating (edit absent or false) or editing,
 * exactly as the store will. Any other map is checked as the `set` of every
 * record type, both ways, so the schema sees every shape. The milestone
 * helpers the store calls on checked strings (scale, rule) get them too.
 *
 * Checks: a refusal names what is wrong in why; why is always terminated.
 * The daemon itself is not linked: cairn_rpc_handle needs a store and a
 * loop, and this is the part of it that reads hostile bytes.
 */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "mpcheck.h"
#include "record.h"

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
  }
}

/* The store parses a milestone's scale and rule once check_set took them. */
static void parse_helpers(const msgpack_object *set) {
  const msgpack_object *scale = cairn_record_map_get(set, "scale");
  const msgpack_object *rule = cairn_record_map_get(set, "rule");

  if (scale && scale->type == MSGPACK_OBJECT_STR) {
    cairn_scale sc;
    if (cairn_record_scale_parse(scale->via.str.ptr, scale->via.str.size, &sc) == 0) {
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  msgpack_unpacked msg;
  const msgpack_object *op, *type, *set, *edit;
  size_t off = 0;

  /* cairn_rpc_handle's checks, in its order: counts first, then unpack. */
  if (cairn_mpcheck(data, size, &off) != 0 || off != size)
    return 0;
  off = 0;
  msgpack_unpacked_init(&msg);
  if (msgpack_unpack_next(&msg, (const char *)data, size, &off) != MSGPACK_UNPACK_SUCCESS ||
      off != size || msg.data.type != MSGPACK_OBJECT_MAP)
    goto done;
  op = cairn_record_map_get(&msg.data, "op");
  if (op == NULL || op->type != MSGPACK_OBJECT_STR || op->via.str.size >= 32) {
    /* Not a request: fuzz the schema with the map as a set. */
    for (int t = 0; t <= CAIRN_REC_MAX + 1; t++) {
      check_one(t, &msg.data, 1);
      check_one(t, &msg.data, 0);
    }
    parse_helpers(&msg.data);
    goto done;
  }
  if (op->via.str.size != 3 || memcmp(op->via.str.ptr, "put", 3) != 0)
    goto done;
  /* op_put's checks. */
  type = cairn_record_map_get(&msg.data, "type");
  set = cairn_record_map_get(&msg.data, "set");
  edit = cairn_record_map_get(&msg.data, "edit");
  if (type == NULL || type->type != MSGPACK_OBJECT_STR || type->via.str.size >= 32 || set == NULL ||
      set->type != MSGPACK_OBJECT_MAP)
    goto done;
  {
    int t = cairn_record_type_from_name(type->via.str.ptr, type->via.str.size);
    int is_edit = edit && edit->type == MSGPACK_OBJECT_BOOLEAN && edit->via.boolean;
    if (t < 0)
      goto done;
    FUZZ_CHECK(t >= 1 && t <= CAIRN_REC_MAX && cairn_record_type_name(t) != NULL);
    check_one(t, set, !is_edit);
    parse_helpers(set);
  }
done:
  msgpack_unpacked_destroy(&msg);
  return 0;
}
