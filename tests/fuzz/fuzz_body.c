/*
 * fuzz_body.c: cairn_body_decode (protocol/body.h), what the store's one
 * apply path decodes of every entry it folds, local or received.
 *
 * The input is a control byte, the entry's kind (taken modulo 16, so that
 * unknown kinds are reached too), then the body's bytes.
 *
 * Checks: the decoder answers 0 or CAIRN_EMALFORMED, and a refusal names
 * the field in why; on 0 every field is what body.h promises: the id is a
 * valid id inside the input, set a map whose raw bytes lie inside the
 * input and decode to that same map (packed alike: a NaN is kept as it
 * is), base absent or a non-empty map of field to [author, seq]
 * versions, why absent or a UTF-8 string of at most CAIRN_BODY_WHY_MAX
 * bytes, scope [campus, classroom, ...], each part's raw bytes inside the
 * input and decoding to that part, and cairn_body_spans finding the same
 * bytes; and the same input decodes the same way twice. cairn_body_spans
 * of any input answers 0 or CAIRN_EMALFORMED, its spans inside the input.
 */
#include <string.h>

#include "body.h"
#include "fuzz.h"
#include "record.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return sodium_init() < 0;
}

/* 1 when raw[0..n) lies inside buf and is exactly one value that packs as
 * o does. */
static int raw_is(const uint8_t *buf, size_t len, const uint8_t *raw, size_t n,
                  const msgpack_object *o, msgpack_zone *z) {
  msgpack_object got;
  size_t off = 0;
  return n >= 1 && fuzz_inside(buf, len, raw, n) &&
         msgpack_unpack((const char *)raw, n, &off, z, &got) == MSGPACK_UNPACK_SUCCESS &&
         off == n && cairn_record_same_packed(&got, o);
}

static void check_ok(const uint8_t *buf, size_t len, const cairn_body *b, msgpack_zone *z) {
  FUZZ_CHECK(b->idlen >= 1 && fuzz_inside(buf, len, (const uint8_t *)b->id, b->idlen));
  FUZZ_CHECK(cairn_text_id_logged(b->id, b->idlen));
  FUZZ_CHECK(b->is_new == 0 || b->is_new == 1);
  FUZZ_CHECK(b->set != NULL && b->set->type == MSGPACK_OBJECT_MAP);
  FUZZ_CHECK(b->set_raw_len >= 1 && fuzz_inside(buf, len, b->set_raw, b->set_raw_len));
  msgpack_object raw;
  size_t off = 0;
  FUZZ_CHECK(msgpack_unpack((const char *)b->set_raw, b->set_raw_len, &off, z, &raw) ==
             MSGPACK_UNPACK_SUCCESS);
  FUZZ_CHECK(off == b->set_raw_len && cairn_record_same_packed(&raw, b->set));
  if (b->base != NULL) {
    FUZZ_CHECK(b->base->type == MSGPACK_OBJECT_MAP && b->base->via.map.size > 0);
    for (uint32_t i = 0; i < b->base->via.map.size; i++) {
      const msgpack_object *v = &b->base->via.map.ptr[i].val;
      FUZZ_CHECK(b->base->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR);
      FUZZ_CHECK(v->type == MSGPACK_OBJECT_ARRAY);
      for (uint32_t k = 0; k < v->via.array.size; k++)
        FUZZ_CHECK(v->via.array.ptr[k].via.array.ptr[0].via.bin.size == CAIRN_KEY_BYTES);
    }
  }
  if (b->why != NULL)
    FUZZ_CHECK(b->why->type == MSGPACK_OBJECT_STR && b->why->via.str.size <= CAIRN_BODY_WHY_MAX &&
               cairn_text_utf8_valid(b->why->via.str.ptr, b->why->via.str.size));
  FUZZ_CHECK(cairn_body_scope_valid(b->scope));
  /* the spans are the bytes of what the objects hold, and absent with them */
  FUZZ_CHECK((b->base_raw != NULL) == (b->base != NULL) && (b->why_raw != NULL) == (b->why != NULL));
  FUZZ_CHECK(b->base == NULL || raw_is(buf, len, b->base_raw, b->base_raw_len, b->base, z));
  FUZZ_CHECK(b->why == NULL || raw_is(buf, len, b->why_raw, b->why_raw_len, b->why, z));
  FUZZ_CHECK(raw_is(buf, len, b->scope_raw, b->scope_raw_len, b->scope, z));
  /* and what cairn_body_spans finds of a body kept after its decode */
  cairn_body sp;
  FUZZ_CHECK(cairn_body_spans(buf, len, &sp) == 0);
  FUZZ_CHECK(sp.set_raw == b->set_raw && sp.set_raw_len == b->set_raw_len &&
             sp.base_raw == b->base_raw && sp.base_raw_len == b->base_raw_len &&
             sp.why_raw == b->why_raw && sp.why_raw_len == b->why_raw_len &&
             sp.scope_raw == b->scope_raw && sp.scope_raw_len == b->scope_raw_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  msgpack_zone z;
  cairn_body b, again;
  const char *why = NULL, *why2 = NULL;

  if (size < 1 || !msgpack_zone_init(&z, 1024))
    return 0;
  int type = data[0] % 16;
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  /* any bytes: the spans of a map holding a set and a scope, inside buf */
  cairn_body sp;
  int src = cairn_body_spans(buf, len, &sp);
  FUZZ_CHECK(src == 0 || src == CAIRN_EMALFORMED);
  if (src == 0)
    FUZZ_CHECK(fuzz_inside(buf, len, sp.set_raw, sp.set_raw_len) &&
               fuzz_inside(buf, len, sp.scope_raw, sp.scope_raw_len) &&
               (sp.base_raw == NULL || fuzz_inside(buf, len, sp.base_raw, sp.base_raw_len)) &&
               (sp.why_raw == NULL || fuzz_inside(buf, len, sp.why_raw, sp.why_raw_len)));
  int rc = cairn_body_decode(type, buf, len, &z, &b, &why);
  FUZZ_CHECK(rc == 0 || rc == CAIRN_EMALFORMED);
  FUZZ_CHECK(b.type == type);
  if (rc != 0) {
    FUZZ_CHECK(why != NULL && why[0] != '\0');
  } else {
    FUZZ_CHECK(type >= 1 && type <= CAIRN_REC_MAX);
    check_ok(buf, len, &b, &z);
  }
  int rc2 = cairn_body_decode(type, buf, len, &z, &again, &why2);
  FUZZ_CHECK(rc2 == rc);
  if (rc == 0)
    FUZZ_CHECK(again.id == b.id && again.idlen == b.idlen && again.is_new == b.is_new &&
               again.set_raw == b.set_raw && again.set_raw_len == b.set_raw_len &&
               (again.base == NULL) == (b.base == NULL) && (again.why == NULL) == (b.why == NULL));
  else
    FUZZ_CHECK(strcmp(why, why2) == 0);
  msgpack_zone_destroy(&z);
  return 0;
}
