/* sync.c: sync messages and join tokens (docs/PROTOCOL.md). */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "mpcheck.h"
#include "record.h"
#include "text.h"

#define TOKEN_PREFIX "cairn1."

static void pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);

  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n) {
  msgpack_pack_bin(pk, n);
  msgpack_pack_bin_body(pk, p, n);
}

/* Encoders write through a sink that remembers an allocation failure, so
 * each can roll the buffer back and report it once. */
typedef struct sink {
  msgpack_sbuffer *out;
  size_t before;
  int failed;
} sink;

static int sink_write(void *data, const char *buf, size_t len) {
  sink *k = data;

  if (k->failed || msgpack_sbuffer_write(k->out, buf, len) != 0) {
    k->failed = 1;
    return -1;
  }
  return 0;
}

static void sink_init(sink *k, msgpack_packer *pk, msgpack_sbuffer *out) {
  k->out = out;
  k->before = out->size;
  k->failed = 0;
  msgpack_packer_init(pk, k, sink_write);
}

static int sink_done(sink *k) {
  if (!k->failed)
    return 0;
  k->out->size = k->before;
  return CAIRN_ENOMEM;
}

int cairn_sync_pack_hello(msgpack_sbuffer *out, const char *role,
                          const uint8_t device[CAIRN_KEY_BYTES], const char *campus,
                          const char *classroom, const cairn_sync_vv *vv, size_t n,
                          uint64_t time_ms, uint64_t central_ms) {
  msgpack_packer pk;
  sink k;
  size_t i;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_HELLO);
  msgpack_pack_map(&pk, 7);
  pack_str(&pk, "time");
  msgpack_pack_uint64(&pk, time_ms);
  pack_str(&pk, "central_time");
  msgpack_pack_uint64(&pk, central_ms);
  pack_str(&pk, "v");
  msgpack_pack_uint32(&pk, CAIRN_SYNC_VERSION);
  pack_str(&pk, "role");
  pack_str(&pk, role);
  pack_str(&pk, "device");
  pack_bin(&pk, device, CAIRN_KEY_BYTES);
  pack_str(&pk, "scope");
  msgpack_pack_array(&pk, 2);
  pack_str(&pk, campus);
  pack_str(&pk, classroom);
  pack_str(&pk, "vv");
  msgpack_pack_array(&pk, n);
  for (i = 0; i < n; i++) {
    msgpack_pack_array(&pk, 2);
    pack_bin(&pk, vv[i].author, CAIRN_KEY_BYTES);
    msgpack_pack_uint64(&pk, vv[i].seq);
  }
  return sink_done(&k);
}

int cairn_sync_pack_entries(msgpack_sbuffer *out, uint64_t batch, const uint8_t *entries,
                            size_t len, uint64_t count) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_ENTRIES);
  msgpack_pack_uint64(&pk, batch);
  pack_bin(&pk, entries, len);
  msgpack_pack_uint64(&pk, count);
  return sink_done(&k);
}

int cairn_sync_pack_ack(msgpack_sbuffer *out, const cairn_sync_ack *a) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 8);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_ACK);
  msgpack_pack_uint64(&pk, a->batch);
  msgpack_pack_uint64(&pk, a->applied);
  msgpack_pack_uint64(&pk, a->refused);
  pack_str(&pk, a->reason ? a->reason : "");
  msgpack_pack_uint64(&pk, a->held);
  msgpack_pack_uint64(&pk, a->redated);
  msgpack_pack_uint64(&pk, a->ahead_ms);
  return sink_done(&k);
}

int cairn_sync_pack_receipt(msgpack_sbuffer *out, const uint8_t author[CAIRN_KEY_BYTES],
                            uint64_t seq, const uint8_t central[CAIRN_KEY_BYTES],
                            const uint8_t sig[CAIRN_SIG_BYTES]) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 5);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_RECEIPT);
  pack_bin(&pk, author, CAIRN_KEY_BYTES);
  msgpack_pack_uint64(&pk, seq);
  pack_bin(&pk, central, CAIRN_KEY_BYTES);
  pack_bin(&pk, sig, CAIRN_SIG_BYTES);
  return sink_done(&k);
}

int cairn_sync_pack_join(msgpack_sbuffer *out, const uint8_t secret[CAIRN_SYNC_SECRET_BYTES],
                         const uint8_t device[CAIRN_KEY_BYTES], const char *role,
                         const char *name) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 5);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_JOIN);
  pack_bin(&pk, secret, CAIRN_SYNC_SECRET_BYTES);
  pack_bin(&pk, device, CAIRN_KEY_BYTES);
  pack_str(&pk, role);
  pack_str(&pk, name);
  return sink_done(&k);
}

int cairn_sync_pack_welcome(msgpack_sbuffer *out, int code, const char *campus,
                            const char *classroom, const char *message) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 5);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_WELCOME);
  msgpack_pack_int(&pk, code);
  pack_str(&pk, campus ? campus : "");
  pack_str(&pk, classroom ? classroom : "");
  pack_str(&pk, message ? message : "");
  return sink_done(&k);
}

/* Writes at most CAIRN_SYNC_CLOSE_TEXT_MAX bytes of text, cut on a UTF-8
 * character boundary. */
static void pack_close_text(msgpack_packer *pk, const char *text) {
  size_t n = text ? strlen(text) : 0;
  if (n > CAIRN_SYNC_CLOSE_TEXT_MAX) {
    n = CAIRN_SYNC_CLOSE_TEXT_MAX;
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
      n--;
  }
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, text, n);
}

int cairn_sync_pack_close(msgpack_sbuffer *out, int code, const char *text) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_CLOSE);
  msgpack_pack_uint8(&pk, (uint8_t)code);
  pack_close_text(&pk, text);
  return sink_done(&k);
}

int cairn_sync_pack_offer(msgpack_sbuffer *out, uint64_t count) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_OFFER);
  msgpack_pack_uint64(&pk, count);
  return sink_done(&k);
}

int cairn_sync_pack_student(msgpack_sbuffer *out, cairn_sync_type type, const char *student,
                            uint64_t arrival) {
  msgpack_packer pk;
  sink k;
  size_t n = strlen(student);

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint8(&pk, (uint8_t)type);
  msgpack_pack_str(&pk, n);
  msgpack_pack_str_body(&pk, student, n);
  msgpack_pack_uint64(&pk, arrival);
  return sink_done(&k);
}

int cairn_sync_pack_fill(msgpack_sbuffer *out, const uint8_t *entries, size_t len, uint64_t count) {
  msgpack_packer pk;
  sink k;

  sink_init(&k, &pk, out);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint8(&pk, CAIRN_SYNC_FILL);
  pack_bin(&pk, entries, len);
  msgpack_pack_uint64(&pk, count);
  return sink_done(&k);
}

const char *cairn_sync_close_name(int code) {
  switch (code) {
#define CAIRN__SYNC_CLOSE_NAME(c, id, name, what)                                             \
  case c:                                                                                    \
    return name;
    CAIRN_SYNC_CLOSE_CODES(CAIRN__SYNC_CLOSE_NAME)
#undef CAIRN__SYNC_CLOSE_NAME
  }
  return "unknown";
}

const char *cairn_sync_close_what(int code) {
  switch (code) {
#define CAIRN__SYNC_CLOSE_WHAT(c, id, name, what)                                             \
  case c:                                                                                    \
    return what;
    CAIRN_SYNC_CLOSE_CODES(CAIRN__SYNC_CLOSE_WHAT)
#undef CAIRN__SYNC_CLOSE_WHAT
  }
  return "closed the link";
}

int cairn_sync_pack_refusal(msgpack_sbuffer *out, int code, const char *text) {
  size_t n = text ? strlen(text) : 0;
  uint8_t c = (uint8_t)code;
  if (n > CAIRN_SYNC_CLOSE_TEXT_MAX)
    n = CAIRN_SYNC_CLOSE_TEXT_MAX;
  if (msgpack_sbuffer_write(out, CAIRN_SYNC_REFUSAL_MAGIC, sizeof CAIRN_SYNC_REFUSAL_MAGIC) != 0 ||
      msgpack_sbuffer_write(out, (const char *)&c, 1) != 0 ||
      (n > 0 && msgpack_sbuffer_write(out, text, n) != 0))
    return CAIRN_ENOMEM;
  return 0;
}

int cairn_sync_parse_refusal(const uint8_t *body, size_t len, int *code,
                             char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1]) {
  size_t m = sizeof CAIRN_SYNC_REFUSAL_MAGIC, n;
  if (len < m + 1 || memcmp(body, CAIRN_SYNC_REFUSAL_MAGIC, m) != 0)
    return 0;
  *code = body[m];
  n = len - m - 1;
  if (n > CAIRN_SYNC_CLOSE_TEXT_MAX)
    n = CAIRN_SYNC_CLOSE_TEXT_MAX;
  cairn_text_printable(text, (const char *)body + m + 1, n);
  return 1;
}

/* ---- decoding: every field's type and size is checked ---- */

static int get_u64(const msgpack_object *o, uint64_t *v) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return CAIRN_EMALFORMED;
  *v = o->via.u64;
  return 0;
}

static int get_bin(const msgpack_object *o, uint8_t *dst, size_t want) {
  if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != want)
    return CAIRN_EMALFORMED;
  memcpy(dst, o->via.bin.ptr, want);
  return 0;
}

/* Copies a string that must fit dst (NUL included) and be valid UTF-8. */
static int get_str(const msgpack_object *o, char *dst, size_t cap) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
      (o->via.str.size > 0 && !cairn_text_utf8_valid(o->via.str.ptr, o->via.str.size)))
    return CAIRN_EMALFORMED;
  if (o->via.str.size > 0)
    memcpy(dst, o->via.str.ptr, o->via.str.size);
  dst[o->via.str.size] = '\0';
  return 0;
}

static int decode_hello(const msgpack_object *map, cairn_sync_msg *m) {
  const msgpack_object *v = cairn_record_map_get(map, "v");
  const msgpack_object *role = cairn_record_map_get(map, "role");
  const msgpack_object *device = cairn_record_map_get(map, "device");
  const msgpack_object *scope = cairn_record_map_get(map, "scope");
  const msgpack_object *vv = cairn_record_map_get(map, "vv");
  const msgpack_object *time = cairn_record_map_get(map, "time");
  const msgpack_object *central = cairn_record_map_get(map, "central_time");
  uint64_t version;
  uint32_t i;
  int rc;

  /* The version first: a peer of another version gets a clear answer even
   * when the rest of its HELLO looks different. */
  if (v == NULL || (rc = get_u64(v, &version)) != 0)
    return CAIRN_EMALFORMED;
  if (version != CAIRN_SYNC_VERSION)
    return CAIRN_EVERSION;
  if (role == NULL || device == NULL || scope == NULL || vv == NULL)
    return CAIRN_EMALFORMED;
  m->version = (uint32_t)version;
  /* Clocks are unix ms; one beyond the HLC's 48 bits is no clock. */
  if (time == NULL || central == NULL || get_u64(time, &m->time_ms) != 0 ||
      get_u64(central, &m->central_ms) != 0 || m->time_ms >= (UINT64_C(1) << 48) ||
      m->central_ms >= (UINT64_C(1) << 48))
    return CAIRN_EMALFORMED;
  if ((rc = get_str(role, m->role, sizeof m->role)) != 0 ||
      (rc = get_bin(device, m->device, CAIRN_KEY_BYTES)) != 0)
    return rc;
  if (scope->type != MSGPACK_OBJECT_ARRAY || scope->via.array.size != 2 ||
      get_str(&scope->via.array.ptr[0], m->campus, sizeof m->campus) != 0 ||
      get_str(&scope->via.array.ptr[1], m->classroom, sizeof m->classroom) != 0)
    return CAIRN_EMALFORMED;
  if (vv->type != MSGPACK_OBJECT_ARRAY)
    return CAIRN_EMALFORMED;
  if (vv->via.array.size > CAIRN_SYNC_VV_MAX)
    return CAIRN_ETOOBIG;
  m->vv_n = vv->via.array.size;
  m->vv = calloc(m->vv_n ? m->vv_n : 1, sizeof *m->vv);
  if (m->vv == NULL)
    return CAIRN_ENOMEM;
  for (i = 0; i < vv->via.array.size; i++) {
    const msgpack_object *it = &vv->via.array.ptr[i];
    if (it->type != MSGPACK_OBJECT_ARRAY || it->via.array.size != 2 ||
        get_bin(&it->via.array.ptr[0], m->vv[i].author, CAIRN_KEY_BYTES) != 0 ||
        get_u64(&it->via.array.ptr[1], &m->vv[i].seq) != 0)
      return CAIRN_EMALFORMED;
  }
  return 0;
}

static int decode_array(const msgpack_object *a, cairn_sync_msg *m) {
  const msgpack_object *f = a->via.array.ptr;
  uint32_t n = a->via.array.size;
  int64_t code;

  switch (m->type) {
  case CAIRN_SYNC_HELLO:
    if (n != 2 || f[1].type != MSGPACK_OBJECT_MAP)
      return CAIRN_EMALFORMED;
    return decode_hello(&f[1], m);
  case CAIRN_SYNC_ENTRIES:
    if (n != 4 || get_u64(&f[1], &m->batch) != 0 || f[2].type != MSGPACK_OBJECT_BIN ||
        get_u64(&f[3], &m->entries_count) != 0 || m->entries_count > f[2].via.bin.size)
      return CAIRN_EMALFORMED;
    m->entries = (const uint8_t *)f[2].via.bin.ptr;
    m->entries_len = f[2].via.bin.size;
    return 0;
  case CAIRN_SYNC_ACK:
    if (n != 8 || get_u64(&f[1], &m->batch) != 0 || get_u64(&f[2], &m->applied) != 0 ||
        get_u64(&f[3], &m->refused) != 0 || get_str(&f[4], m->reason, sizeof m->reason) != 0 ||
        get_u64(&f[5], &m->held) != 0 || get_u64(&f[6], &m->redated) != 0 ||
        get_u64(&f[7], &m->ahead_ms) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  case CAIRN_SYNC_CLOSE:
    if (n != 3 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 > 255 ||
        f[2].type != MSGPACK_OBJECT_STR || f[2].via.str.size > CAIRN_SYNC_CLOSE_TEXT_MAX ||
        get_str(&f[2], m->reason, sizeof m->reason) != 0)
      return CAIRN_EMALFORMED;
    m->close_code = (int)f[1].via.u64;
    return 0;
  case CAIRN_SYNC_OFFER:
    if (n != 2 || get_u64(&f[1], &m->offered) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  case CAIRN_SYNC_ARRIVED:
  case CAIRN_SYNC_WANT:
  case CAIRN_SYNC_DONE:
    if (n != 3 || f[1].type != MSGPACK_OBJECT_STR ||
        !cairn_text_id_logged(f[1].via.str.ptr, f[1].via.str.size) ||
        get_str(&f[1], m->student, sizeof m->student) != 0 || get_u64(&f[2], &m->arrival) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  case CAIRN_SYNC_FILL:
    if (n != 3 || f[1].type != MSGPACK_OBJECT_BIN || get_u64(&f[2], &m->entries_count) != 0 ||
        m->entries_count > f[1].via.bin.size)
      return CAIRN_EMALFORMED;
    m->entries = (const uint8_t *)f[1].via.bin.ptr;
    m->entries_len = f[1].via.bin.size;
    return 0;
  case CAIRN_SYNC_RECEIPT:
    if (n != 5 || get_bin(&f[1], m->author, CAIRN_KEY_BYTES) != 0 ||
        get_u64(&f[2], &m->seq) != 0 || get_bin(&f[3], m->central, CAIRN_KEY_BYTES) != 0 ||
        get_bin(&f[4], m->sig, CAIRN_SIG_BYTES) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  case CAIRN_SYNC_JOIN:
    if (n != 5 || get_bin(&f[1], m->secret, CAIRN_SYNC_SECRET_BYTES) != 0 ||
        get_bin(&f[2], m->device, CAIRN_KEY_BYTES) != 0 ||
        get_str(&f[3], m->role, sizeof m->role) != 0 ||
        get_str(&f[4], m->name, sizeof m->name) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  case CAIRN_SYNC_WELCOME:
    if (n != 5)
      return CAIRN_EMALFORMED;
    if (f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[1].via.u64 == 0)
      code = 0;
    else if (f[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER && f[1].via.i64 >= -1000)
      code = f[1].via.i64;
    else
      return CAIRN_EMALFORMED;
    m->welcome_code = (int)code;
    if (get_str(&f[2], m->campus, sizeof m->campus) != 0 ||
        get_str(&f[3], m->classroom, sizeof m->classroom) != 0 ||
        get_str(&f[4], m->reason, sizeof m->reason) != 0)
      return CAIRN_EMALFORMED;
    return 0;
  }
  return CAIRN_EMALFORMED;
}

int cairn_sync_decode(const uint8_t *buf, size_t len, cairn_sync_msg *m) {
  msgpack_zone zone;
  msgpack_object root;
  size_t off = 0;
  int rc;

  memset(m, 0, sizeof *m);
  if (len > CAIRN_SYNC_MSG_MAX)
    return CAIRN_ETOOBIG;
  if (cairn_mpcheck(buf, len, &off) != 0 || off != len)
    return CAIRN_EMALFORMED;
  off = 0;
  if (!msgpack_zone_init(&zone, 2048))
    return CAIRN_ENOMEM;
  switch (msgpack_unpack((const char *)buf, len, &off, &zone, &root)) {
  case MSGPACK_UNPACK_SUCCESS:
    rc = off == len ? 0 : CAIRN_EMALFORMED;
    break;
  case MSGPACK_UNPACK_NOMEM_ERROR:
    rc = CAIRN_ENOMEM;
    break;
  default:
    rc = CAIRN_EMALFORMED;
  }
  if (rc == 0 && (root.type != MSGPACK_OBJECT_ARRAY || root.via.array.size < 1 ||
                  root.via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                  root.via.array.ptr[0].via.u64 < CAIRN_SYNC_HELLO ||
                  root.via.array.ptr[0].via.u64 > CAIRN_SYNC_DONE))
    rc = CAIRN_EMALFORMED;
  if (rc == 0) {
    m->type = (cairn_sync_type)root.via.array.ptr[0].via.u64;
    rc = decode_array(&root, m);
  }
  msgpack_zone_destroy(&zone);
  if (rc != 0)
    cairn_sync_msg_clear(m);
  return rc;
}

void cairn_sync_msg_clear(cairn_sync_msg *m) {
  free(m->vv);
  memset(m, 0, sizeof *m);
}

/* ---- tokens ---- */

int cairn_sync_token_format(const cairn_sync_token *t, char *out, size_t outlen) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t prefix = strlen(TOKEN_PREFIX);
  int rc = 0;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 5);
  pack_str(&pk, t->address);
  pack_bin(&pk, t->central, CAIRN_KEY_BYTES);
  pack_bin(&pk, t->network, CAIRN_SYNC_NETWORK_BYTES);
  pack_bin(&pk, t->secret, CAIRN_SYNC_SECRET_BYTES);
  msgpack_pack_int64(&pk, t->expires);
  if (outlen < prefix + 1 ||
      sodium_base64_encoded_len(sb.size, sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
          outlen - prefix)
    rc = CAIRN_ETOOBIG;
  else {
    memcpy(out, TOKEN_PREFIX, prefix);
    sodium_bin2base64(out + prefix, outlen - prefix, (const unsigned char *)sb.data, sb.size,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

int cairn_sync_token_parse(const char *text, cairn_sync_token *t, char *why, size_t whylen) {
  uint8_t raw[CAIRN_SYNC_TOKEN_MAX];
  size_t raw_len, off = 0, prefix = strlen(TOKEN_PREFIX);
  msgpack_zone zone;
  msgpack_object root;
  const msgpack_object *f;
  int rc = CAIRN_EINVAL;

  memset(t, 0, sizeof *t);
  if (strncmp(text, TOKEN_PREFIX, prefix) != 0) {
    snprintf(why, whylen, "token: not a cairn join token (they start with %s)", TOKEN_PREFIX);
    return CAIRN_EINVAL;
  }
  if (sodium_base642bin(raw, sizeof raw, text + prefix, strlen(text + prefix), NULL, &raw_len,
                        NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    snprintf(why, whylen, "token: damaged (not base64url); copy it again from cairn enroll");
    return CAIRN_EINVAL;
  }
  if (cairn_mpcheck(raw, raw_len, &off) != 0 || off != raw_len) {
    snprintf(why, whylen, "token: damaged (its contents do not decode); copy it again");
    return CAIRN_EINVAL;
  }
  off = 0;
  if (!msgpack_zone_init(&zone, 512))
    return CAIRN_ENOMEM;
  if (msgpack_unpack((const char *)raw, raw_len, &off, &zone, &root) == MSGPACK_UNPACK_SUCCESS &&
      off == raw_len && root.type == MSGPACK_OBJECT_ARRAY && root.via.array.size == 5) {
    f = root.via.array.ptr;
    if (get_str(&f[0], t->address, sizeof t->address) == 0 &&
        get_bin(&f[1], t->central, CAIRN_KEY_BYTES) == 0 &&
        get_bin(&f[2], t->network, CAIRN_SYNC_NETWORK_BYTES) == 0 &&
        get_bin(&f[3], t->secret, CAIRN_SYNC_SECRET_BYTES) == 0 &&
        ((f[4].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[4].via.u64 <= INT64_MAX) ||
         f[4].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
      t->expires = f[4].via.i64;
      rc = 0;
    }
  }
  msgpack_zone_destroy(&zone);
  if (rc != 0) {
    memset(t, 0, sizeof *t);
    snprintf(why, whylen, "token: damaged (its contents do not decode); copy it again");
  }
  return rc;
}
