/*
 * body.c: an entry's body, decoded and checked once (body.h).
 */
#include "body.h"

#include <string.h>

#include "entry.h"
#include "error.h"
#include "mpcheck.h"
#include "record.h"
#include "text.h"

static int refuse(const char **why, const char *what) {
  *why = what;
  return CAIRN_EMALFORMED;
}

/* 1 when o is a string (and sets s, len). */
static int is_str(const msgpack_object *o, const char **s, size_t *len) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR)
    return 0;
  *s = o->via.str.ptr;
  *len = o->via.str.size;
  return 1;
}

/* Finds the encoded bytes of the value of the first key "set" (a fixstr,
 * as every writer packs it) in the map buf[0..len), which cairn_mpcheck
 * has bounded. Returns 0 or -1. */
static int set_span(const uint8_t *buf, size_t len, cairn_body *out) {
  size_t off, used;
  uint64_t n;
  if (len == 0)
    return -1;
  if (buf[0] >= 0x80 && buf[0] <= 0x8f) {
    n = buf[0] & 0x0f;
    off = 1;
  } else if (buf[0] == 0xde && len >= 3) {
    n = (uint64_t)buf[1] << 8 | buf[2];
    off = 3;
  } else {
    return -1;
  }
  for (uint64_t i = 0; i < n; i++) {
    size_t k = off;
    if (cairn_mpcheck(buf + off, len - off, &used) != 0)
      return -1;
    off += used;
    int is_set = off - k == 4 && memcmp(buf + k, "\xa3set", 4) == 0;
    size_t v = off;
    if (cairn_mpcheck(buf + off, len - off, &used) != 0)
      return -1;
    off += used;
    if (is_set) {
      out->set_raw = buf + v;
      out->set_raw_len = off - v;
      return 0;
    }
  }
  return -1;
}

/* 0 when base (a map, not empty) maps fields to versions [author, seq]. */
static int base_valid(const msgpack_object *base) {
  for (uint32_t i = 0; i < base->via.map.size; i++) {
    const msgpack_object *v = &base->via.map.ptr[i].val;
    if (base->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_ARRAY)
      return -1;
    for (uint32_t k = 0; k < v->via.array.size; k++) {
      const msgpack_object *ver = &v->via.array.ptr[k];
      if (ver->type != MSGPACK_OBJECT_ARRAY || ver->via.array.size != 2 ||
          ver->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
          ver->via.array.ptr[0].via.bin.size != CAIRN_KEY_BYTES ||
          ver->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -2;
    }
  }
  return 0;
}

int cairn_body_scope_valid(const msgpack_object *scope) {
  if (scope == NULL || scope->type != MSGPACK_OBJECT_ARRAY || scope->via.array.size < 2 ||
      scope->via.array.size > 1 + CAIRN_BODY_SCOPE_ROOMS)
    return 0;
  for (uint32_t i = 0; i < scope->via.array.size; i++)
    if (scope->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
      return 0;
  return 1;
}

int cairn_body_decode(int type, const uint8_t *buf, size_t len, msgpack_zone *z,
                      cairn_body *out, const char **why) {
  msgpack_object root;
  size_t off = 0;
  memset(out, 0, sizeof *out);
  out->type = type;
  if (type < 1 || type > CAIRN_REC_MAX)
    return refuse(why, "kind: unknown record kind");
  if (cairn_mpcheck(buf, len, &off) != 0 || off != len)
    return refuse(why, "body is not one msgpack map");
  off = 0;
  if (msgpack_unpack((const char *)buf, len, &off, z, &root) != MSGPACK_UNPACK_SUCCESS ||
      root.type != MSGPACK_OBJECT_MAP)
    return refuse(why, "body is not one msgpack map");
  const msgpack_object *id = cairn_record_map_get(&root, "id");
  const msgpack_object *is_new = cairn_record_map_get(&root, "new");
  out->scope = cairn_record_map_get(&root, "scope");
  out->set = cairn_record_map_get(&root, "set");
  out->base = cairn_record_map_get(&root, "base");
  out->why = cairn_record_map_get(&root, "why");
  if (is_new != NULL && is_new->type != MSGPACK_OBJECT_BOOLEAN)
    return refuse(why, "new: not a boolean");
  out->is_new = is_new != NULL && is_new->via.boolean;
  if (!is_str(id, &out->id, &out->idlen) || !cairn_text_id_logged(out->id, out->idlen))
    return refuse(why, "id: missing or not a valid id");
  if (out->set == NULL || out->set->type != MSGPACK_OBJECT_MAP || set_span(buf, len, out) != 0)
    return refuse(why, "set: missing or not a map");
  if (out->base != NULL && out->base->type == MSGPACK_OBJECT_NIL)
    out->base = NULL;
  if (out->base != NULL && out->base->type != MSGPACK_OBJECT_MAP)
    return refuse(why, "base: not a map");
  if (out->base != NULL && out->base->via.map.size == 0)
    out->base = NULL;
  if (out->base != NULL) {
    int rc = base_valid(out->base);
    if (rc == -1)
      return refuse(why, "base: not a map of field to versions");
    if (rc != 0)
      return refuse(why, "base: a version is not [author, seq]");
  }
  if (out->why != NULL && out->why->type == MSGPACK_OBJECT_NIL)
    out->why = NULL;
  if (out->why != NULL &&
      (out->why->type != MSGPACK_OBJECT_STR || out->why->via.str.size > CAIRN_BODY_WHY_MAX ||
       !cairn_text_utf8_valid(out->why->via.str.ptr, out->why->via.str.size)))
    return refuse(why, "why: not a string of at most 1000 bytes");
  if (!cairn_body_scope_valid(out->scope))
    return refuse(why, "scope: not [campus, classroom, ...]");
  return 0;
}
