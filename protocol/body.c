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

/* The string s[0..n) of the msgpack str at buf[0..len) (whose length
 * cairn_mpcheck gave as len): 0, or -1 when it is not a str. */
static int str_of(const uint8_t *buf, size_t len, const uint8_t **s, size_t *n) {
  size_t head = (buf[0] & 0xe0) == 0xa0 ? 1 : buf[0] == 0xd9 ? 2 : buf[0] == 0xda ? 3
                : buf[0] == 0xdb ? 5 : 0;
  if (head == 0 || len < head)
    return -1;
  *s = buf + head;
  *n = len - head;
  return 0;
}

/* 1 when the value at v[0..len) is nil or an empty map. */
static int nil_or_empty(const uint8_t *v, size_t len) {
  return (len == 1 && (v[0] == 0xc0 || v[0] == 0x80)) ||
         (len == 3 && v[0] == 0xde && v[1] == 0 && v[2] == 0) ||
         (len == 5 && v[0] == 0xdf && v[1] == 0 && v[2] == 0 && v[3] == 0 && v[4] == 0);
}

int cairn_body_spans(const uint8_t *buf, size_t len, cairn_body *out) {
  static const char *const names[4] = {"set", "base", "why", "scope"};
  const uint8_t *at[4] = {NULL, NULL, NULL, NULL};
  size_t span[4] = {0, 0, 0, 0}, off, used;
  uint64_t n;
  memset(out, 0, sizeof *out);
  if (len == 0)
    return CAIRN_EMALFORMED;
  if ((buf[0] & 0xf0) == 0x80) {
    n = buf[0] & 0x0f;
    off = 1;
  } else if (buf[0] == 0xde && len >= 3) {
    n = (uint64_t)buf[1] << 8 | buf[2];
    off = 3;
  } else if (buf[0] == 0xdf && len >= 5) {
    n = (uint64_t)buf[1] << 24 | (uint64_t)buf[2] << 16 | (uint64_t)buf[3] << 8 | buf[4];
    off = 5;
  } else {
    return CAIRN_EMALFORMED;
  }
  for (uint64_t i = 0; i < n; i++) {
    size_t k = off;
    const uint8_t *key;
    size_t klen;
    if (cairn_mpcheck(buf + off, len - off, &used) != 0)
      return CAIRN_EMALFORMED;
    off += used;
    int which = -1;
    if (str_of(buf + k, used, &key, &klen) == 0)
      for (int w = 0; w < 4 && which < 0; w++)
        if (klen == strlen(names[w]) && memcmp(key, names[w], klen) == 0)
          which = w;
    size_t v = off;
    if (cairn_mpcheck(buf + off, len - off, &used) != 0)
      return CAIRN_EMALFORMED;
    off += used;
    if (which >= 0 && at[which] == NULL) { /* the first of a key given twice counts */
      at[which] = buf + v;
      span[which] = used;
    }
  }
  if (at[0] == NULL || at[3] == NULL)
    return CAIRN_EMALFORMED;
  out->set_raw = at[0];
  out->set_raw_len = span[0];
  if (at[1] != NULL && !nil_or_empty(at[1], span[1])) {
    out->base_raw = at[1];
    out->base_raw_len = span[1];
  }
  if (at[2] != NULL && !(span[2] == 1 && at[2][0] == 0xc0)) {
    out->why_raw = at[2];
    out->why_raw_len = span[2];
  }
  out->scope_raw = at[3];
  out->scope_raw_len = span[3];
  return 0;
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
  if (out->set == NULL || out->set->type != MSGPACK_OBJECT_MAP)
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
  /* the spans name what the objects do (a base or why the objects read as
   * absent is absent in both) */
  cairn_body spans;
  if (cairn_body_spans(buf, len, &spans) != 0 || (out->base != NULL) != (spans.base_raw != NULL) ||
      (out->why != NULL) != (spans.why_raw != NULL))
    return refuse(why, "body: not one map of its fields");
  /* every writer packs the key "set" as a fixstr, and a body whose first
   * "set" key is spelled longer was always refused: it still is, so that
   * nodes of every release fold the same entries */
  if (spans.set_raw - buf < 4 || memcmp(spans.set_raw - 4, "\xa3set", 4) != 0)
    return refuse(why, "set: missing or not a map");
  out->set_raw = spans.set_raw;
  out->set_raw_len = spans.set_raw_len;
  out->base_raw = spans.base_raw;
  out->base_raw_len = spans.base_raw_len;
  out->why_raw = spans.why_raw;
  out->why_raw_len = spans.why_raw_len;
  out->scope_raw = spans.scope_raw;
  out->scope_raw_len = spans.scope_raw_len;
  return 0;
}
