/* json.c: msgpack values as jansson values (json.h). */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

static json_t *bin_to_hex(const char *p, uint32_t n) {
  char *s = malloc((size_t)n * 2 + 1);
  json_t *j;

  if (s == NULL)
    return NULL;
  sodium_bin2hex(s, (size_t)n * 2 + 1, (const unsigned char *)p, n);
  j = json_stringn(s, (size_t)n * 2);
  free(s);
  return j;
}

static json_t *map_to_json(const msgpack_object_map *m) {
  json_t *obj = json_object();
  uint32_t i;

  if (obj == NULL)
    return NULL;
  for (i = 0; i < m->size; i++) {
    const msgpack_object *k = &m->ptr[i].key;
    json_t *v;
    if (k->type != MSGPACK_OBJECT_STR)
      goto fail;
    v = cairn_json_from_msgpack(&m->ptr[i].val);
    if (v == NULL || json_object_setn_new(obj, k->via.str.ptr, k->via.str.size, v) != 0)
      goto fail; /* json_object_setn_new frees v on failure */
  }
  return obj;
fail:
  json_decref(obj);
  return NULL;
}

json_t *cairn_json_from_msgpack(const msgpack_object *o) {
  json_t *arr;
  uint32_t i;

  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return json_null();
  case MSGPACK_OBJECT_BOOLEAN:
    return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (o->via.u64 > (uint64_t)INT64_MAX)
      return json_real((double)o->via.u64);
    return json_integer((json_int_t)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return json_integer((json_int_t)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
  case MSGPACK_OBJECT_STR:
    return json_stringn(o->via.str.ptr, o->via.str.size);
  case MSGPACK_OBJECT_BIN:
    return bin_to_hex(o->via.bin.ptr, o->via.bin.size);
  case MSGPACK_OBJECT_ARRAY:
    arr = json_array();
    for (i = 0; arr != NULL && i < o->via.array.size; i++) {
      if (json_array_append_new(arr, cairn_json_from_msgpack(&o->via.array.ptr[i])) != 0) {
        json_decref(arr);
        return NULL;
      }
    }
    return arr;
  case MSGPACK_OBJECT_MAP:
    return map_to_json(&o->via.map);
  case MSGPACK_OBJECT_EXT:
    return bin_to_hex(o->via.ext.ptr, o->via.ext.size);
  }
  return NULL;
}
