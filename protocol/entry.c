/*
 * entry.c: encoding, decoding, hashing and signing of log entries
 * (docs/FORMAT.md section 1).
 *
 * The entry hash covers the fields, not their encoding, and the body only
 * through its hash: a redacted entry (body replaced by its hash) keeps the
 * hash, so its chain and signature verify without the body.
 */
#include "entry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"

#define ENTRY_FIELDS 8
#define SIG_CONTEXT "cairn-head-v1"
#define SIG_CONTEXT_LEN (sizeof SIG_CONTEXT - 1)
#define HASH_CONTEXT "cairn-entry-v1"
#define HASH_CONTEXT_LEN (sizeof HASH_CONTEXT - 1)
#define HASHED_LEN (HASH_CONTEXT_LEN + 1 + CAIRN_KEY_BYTES + 8 + 8 + CAIRN_HASH_BYTES + 4 + CAIRN_HASH_BYTES)
#define REDACTED_EXT_TYPE 1
_Static_assert(HASHED_LEN == 131, "FORMAT.md section 1: the hashed string is 131 bytes");

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  return p + bytes;
}

/* e->hash from the fields and e->body_hash. */
static void hash_fields(cairn_entry *e) {
  uint8_t m[HASHED_LEN], *p = m;
  memcpy(p, HASH_CONTEXT, HASH_CONTEXT_LEN);
  p += HASH_CONTEXT_LEN;
  *p++ = CAIRN_FORMAT_VERSION;
  memcpy(p, e->author, CAIRN_KEY_BYTES);
  p = put_be(p + CAIRN_KEY_BYTES, e->seq, 8);
  p = put_be(p, e->hlc, 8);
  memcpy(p, e->prev, CAIRN_HASH_BYTES);
  p = put_be(p + CAIRN_HASH_BYTES, e->kind, 4);
  memcpy(p, e->body_hash, CAIRN_HASH_BYTES);
  crypto_generichash(e->hash, CAIRN_HASH_BYTES, m, sizeof m, NULL, 0);
}

int cairn_entry_seal(cairn_entry *e) {
  if (!e->redacted) {
    if (e->body_len > CAIRN_BODY_MAX)
      return CAIRN_ETOOBIG;
    crypto_generichash(e->body_hash, CAIRN_HASH_BYTES, e->body, e->body_len, NULL, 0);
  }
  hash_fields(e);
  return 0;
}

/* The 45 signed bytes: context string, then the entry hash. */
static void head_message(const cairn_entry *e, uint8_t msg[SIG_CONTEXT_LEN + CAIRN_HASH_BYTES]) {
  memcpy(msg, SIG_CONTEXT, SIG_CONTEXT_LEN);
  memcpy(msg + SIG_CONTEXT_LEN, e->hash, CAIRN_HASH_BYTES);
}

void cairn_entry_sign(cairn_entry *e, const uint8_t sk[CAIRN_SECRET_BYTES]) {
  uint8_t msg[SIG_CONTEXT_LEN + CAIRN_HASH_BYTES];

  head_message(e, msg);
  crypto_sign_detached(e->sig, NULL, msg, sizeof msg, sk);
  e->has_sig = 1;
}

int cairn_entry_verify_sig(const cairn_entry *e) {
  uint8_t msg[SIG_CONTEXT_LEN + CAIRN_HASH_BYTES];

  if (!e->has_sig)
    return CAIRN_EBADSIG;
  head_message(e, msg);
  if (crypto_sign_verify_detached(e->sig, msg, sizeof msg, e->author) != 0)
    return CAIRN_EBADSIG;
  return 0;
}

int cairn_entry_follows(const cairn_entry *e, const cairn_entry *prev) {
  static const uint8_t zero[CAIRN_HASH_BYTES];

  if (prev == NULL) {
    if (e->seq != 1)
      return CAIRN_EGAP;
    return memcmp(e->prev, zero, CAIRN_HASH_BYTES) == 0 ? 0 : CAIRN_EBADCHAIN;
  }
  if (memcmp(e->author, prev->author, CAIRN_KEY_BYTES) != 0)
    return CAIRN_EBADCHAIN;
  if (prev->seq == UINT64_MAX || e->seq != prev->seq + 1)
    return CAIRN_EGAP;
  return memcmp(e->prev, prev->hash, CAIRN_HASH_BYTES) == 0 ? 0 : CAIRN_EBADCHAIN;
}

/* Appends e with element 6 as its body, or as its body hash when redact. */
static int encode(const cairn_entry *e, int redact, msgpack_sbuffer *out) {
  msgpack_packer pk;
  size_t start = out->size;
  int bad;

  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  bad = msgpack_pack_array(&pk, ENTRY_FIELDS) != 0 || msgpack_pack_uint64(&pk, CAIRN_FORMAT_VERSION) != 0 ||
        msgpack_pack_bin_with_body(&pk, e->author, CAIRN_KEY_BYTES) != 0 || msgpack_pack_uint64(&pk, e->seq) != 0 ||
        msgpack_pack_uint64(&pk, e->hlc) != 0 || msgpack_pack_bin_with_body(&pk, e->prev, CAIRN_HASH_BYTES) != 0 ||
        msgpack_pack_uint32(&pk, e->kind) != 0;
  if (!bad && redact)
    bad = msgpack_pack_ext_with_body(&pk, e->body_hash, CAIRN_HASH_BYTES, REDACTED_EXT_TYPE) != 0;
  else if (!bad)
    bad = msgpack_pack_bin_with_body(&pk, e->body, e->body_len) != 0;
  if (!bad)
    bad = (e->has_sig ? msgpack_pack_bin_with_body(&pk, e->sig, CAIRN_SIG_BYTES) : msgpack_pack_nil(&pk)) != 0;
  if (bad)
    out->size = start; /* append all or nothing */
  return bad ? CAIRN_ENOMEM : 0;
}

int cairn_entry_encode(const cairn_entry *e, msgpack_sbuffer *out) { return encode(e, e->redacted, out); }

int cairn_entry_redact(const cairn_entry *e, msgpack_sbuffer *out) { return encode(e, 1, out); }

/* Reads the big-endian unsigned integer of n bytes at p. */
static uint64_t get_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* Reads the element at buf[*off..len) into *obj, as msgpack-c would unpack
 * it, and moves *off past it. Every element of an entry is a scalar or a
 * bin: a container, a string or the reserved byte 0xc1 is malformed here
 * (a string or a float is read only as far as its type, which no field
 * takes). Bins and exts point into buf; nothing is allocated. Returns 0,
 * CAIRN_EAGAIN (the element is incomplete), CAIRN_ETOOBIG (it says it is
 * longer than an entry may be) or CAIRN_EMALFORMED. */
static int element(const uint8_t *buf, size_t len, size_t *off, msgpack_object *obj) {
  size_t at = *off, head, size = 0;
  if (at >= len)
    return CAIRN_EAGAIN;
  uint8_t t = buf[at];
  const uint8_t *p = buf + at + 1;
  size_t left = len - at - 1;
  memset(obj, 0, sizeof *obj);
  if (t <= 0x7f) { /* positive fixint */
    obj->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    obj->via.u64 = t;
    *off = at + 1;
    return 0;
  }
  if (t >= 0xe0) { /* negative fixint */
    obj->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    obj->via.i64 = (int8_t)t;
    *off = at + 1;
    return 0;
  }
  switch (t) {
  case 0xc0:
    obj->type = MSGPACK_OBJECT_NIL;
    *off = at + 1;
    return 0;
  case 0xc2:
  case 0xc3:
    obj->type = MSGPACK_OBJECT_BOOLEAN;
    obj->via.boolean = t == 0xc3;
    *off = at + 1;
    return 0;
  case 0xcc: case 0xcd: case 0xce: case 0xcf: { /* uint 8..64 */
    int n = 1 << (t - 0xcc);
    if (left < (size_t)n)
      return CAIRN_EAGAIN;
    obj->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    obj->via.u64 = get_be(p, n);
    *off = at + 1 + (size_t)n;
    return 0;
  }
  case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* int 8..64: msgpack-c reads >= 0 as positive */
    int n = 1 << (t - 0xd0);
    if (left < (size_t)n)
      return CAIRN_EAGAIN;
    uint64_t u = get_be(p, n);
    int64_t v = n == 8 ? (int64_t)u : (int64_t)(u << (64 - 8 * n)) >> (64 - 8 * n);
    obj->type = v >= 0 ? MSGPACK_OBJECT_POSITIVE_INTEGER : MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (v >= 0)
      obj->via.u64 = (uint64_t)v;
    else
      obj->via.i64 = v;
    *off = at + 1 + (size_t)n;
    return 0;
  }
  case 0xca:
  case 0xcb:
    obj->type = MSGPACK_OBJECT_FLOAT64;
    size = t == 0xca ? 4 : 8;
    if (left < size)
      return CAIRN_EAGAIN;
    *off = at + 1 + size;
    return 0;
  case 0xc4: case 0xc5: case 0xc6: /* bin 8..32 */
  case 0xc7: case 0xc8: case 0xc9: /* ext 8..32 */
  case 0xd9: case 0xda: case 0xdb: { /* str 8..32 */
    int kind = t <= 0xc6 ? 0 : t <= 0xc9 ? 1 : 2;
    int n = 1 << ((t - (kind == 0 ? 0xc4 : kind == 1 ? 0xc7 : 0xd9)));
    head = (size_t)n + (kind == 1); /* an ext's type byte follows its length */
    if (left < (size_t)n)
      return CAIRN_EAGAIN;
    size = (size_t)get_be(p, n);
    break;
  }
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1..16 */
    head = 1;
    size = (size_t)1 << (t - 0xd4);
    break;
  default:
    if (t >= 0xa0 && t <= 0xbf) { /* fixstr */
      head = 0;
      size = t & 0x1f;
      break;
    }
    return CAIRN_EMALFORMED; /* 0xc1, or a container: malformed in an entry */
  }
  if (size > CAIRN_ENTRY_MAX - (at + 1 + head) && at + 1 + head <= CAIRN_ENTRY_MAX)
    return CAIRN_ETOOBIG; /* no entry holds it: waiting for more would not help */
  if (left < head || left - head < size)
    return CAIRN_EAGAIN;
  const uint8_t *data = p + head;
  if ((t >= 0xc7 && t <= 0xc9) || (t >= 0xd4 && t <= 0xd8)) {
    obj->type = MSGPACK_OBJECT_EXT;
    obj->via.ext.type = (int8_t)data[-1];
    obj->via.ext.ptr = (const char *)data;
    obj->via.ext.size = (uint32_t)size;
  } else if (t >= 0xc4 && t <= 0xc6) {
    obj->type = MSGPACK_OBJECT_BIN;
    obj->via.bin.ptr = (const char *)data;
    obj->via.bin.size = (uint32_t)size;
  } else {
    obj->type = MSGPACK_OBJECT_STR;
    obj->via.str.ptr = (const char *)data;
    obj->via.str.size = (uint32_t)size;
  }
  *off = at + 1 + head + size;
  return 0;
}

static int get_uint(const msgpack_object *o, uint64_t max, uint64_t *v) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
    return CAIRN_EMALFORMED;
  *v = o->via.u64;
  return 0;
}

static int get_bin(const msgpack_object *o, size_t want, uint8_t *dst) {
  if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != want)
    return CAIRN_EMALFORMED;
  memcpy(dst, o->via.bin.ptr, want);
  return 0;
}

/* Stores element i of an entry into e. Returns 0, CAIRN_EVERSION,
 * CAIRN_ETOOBIG or CAIRN_EMALFORMED. */
static int store_field(cairn_entry *e, unsigned i, const msgpack_object *o) {
  uint64_t v;
  int rc;

  switch (i) {
  case 0:
    if ((rc = get_uint(o, UINT64_MAX, &v)) != 0)
      return rc;
    return v == CAIRN_FORMAT_VERSION ? 0 : CAIRN_EVERSION;
  case 1:
    return get_bin(o, CAIRN_KEY_BYTES, e->author);
  case 2:
    if ((rc = get_uint(o, UINT64_MAX, &e->seq)) != 0)
      return rc;
    return e->seq == 0 ? CAIRN_EMALFORMED : 0; /* chains start at 1 */
  case 3:
    return get_uint(o, UINT64_MAX, &e->hlc);
  case 4:
    return get_bin(o, CAIRN_HASH_BYTES, e->prev);
  case 5:
    if ((rc = get_uint(o, UINT32_MAX, &v)) != 0)
      return rc;
    e->kind = (uint32_t)v;
    return 0;
  case 6:
    if (o->type == MSGPACK_OBJECT_EXT) { /* a redacted entry: the body's hash */
      if (o->via.ext.type != REDACTED_EXT_TYPE || o->via.ext.size != CAIRN_HASH_BYTES)
        return CAIRN_EMALFORMED;
      e->redacted = 1;
      memcpy(e->body_hash, o->via.ext.ptr, CAIRN_HASH_BYTES);
      return 0;
    }
    if (o->type != MSGPACK_OBJECT_BIN)
      return CAIRN_EMALFORMED;
    if (o->via.bin.size > CAIRN_BODY_MAX)
      return CAIRN_ETOOBIG;
    e->body = (const uint8_t *)o->via.bin.ptr;
    e->body_len = o->via.bin.size;
    return 0;
  default:
    if (o->type == MSGPACK_OBJECT_NIL) {
      e->has_sig = 0;
      return 0;
    }
    e->has_sig = 1;
    return get_bin(o, CAIRN_SIG_BYTES, e->sig);
  }
}

static int decode(const uint8_t *buf, size_t len, cairn_entry *e, size_t *consumed, int hashed) {
  /* Never look past CAIRN_ENTRY_MAX: an entry still incomplete there is
   * too big, not waiting for more. */
  size_t limit = len < CAIRN_ENTRY_MAX ? len : CAIRN_ENTRY_MAX;
  size_t off = 1;
  msgpack_object obj;
  cairn_entry out;
  int rc = 0;

  if (len == 0)
    return CAIRN_EAGAIN;
  if (buf[0] != 0x90 + ENTRY_FIELDS) /* canonical fixarray header of 8 elements */
    return CAIRN_EMALFORMED;
  memset(&out, 0, sizeof out);
  for (unsigned i = 0; i < ENTRY_FIELDS && rc == 0; i++) {
    rc = element(buf, limit, &off, &obj);
    if (rc == 0)
      rc = store_field(&out, i, &obj);
  }
  if (rc == CAIRN_EAGAIN && limit == CAIRN_ENTRY_MAX)
    rc = CAIRN_ETOOBIG;
  if (rc != 0)
    return rc;
  if (hashed)
    (void)cairn_entry_seal(&out); /* the body is within CAIRN_BODY_MAX */
  *e = out;
  *consumed = off;
  return 0;
}

int cairn_entry_decode(const uint8_t *buf, size_t len, cairn_entry *e, size_t *consumed) {
  return decode(buf, len, e, consumed, 1);
}

int cairn_entry_decode_unhashed(const uint8_t *buf, size_t len, cairn_entry *e,
                                size_t *consumed) {
  return decode(buf, len, e, consumed, 0);
}

void cairn_entry_id_number(uint64_t number, uint64_t seq, char *out) {
  snprintf(out, CAIRN_ENTRY_ID_MAX, "n%" PRIu64 "-%" PRIu64, number, seq);
}

void cairn_entry_id_key(const uint8_t author[CAIRN_KEY_BYTES], uint64_t seq, char *out) {
  char b64[sodium_base64_ENCODED_LEN(CAIRN_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, author, CAIRN_KEY_BYTES,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(out, CAIRN_ENTRY_ID_MAX, "k%s-%" PRIu64, b64, seq);
}

/* Reads the decimal digits s[0..len) (1 to 19, no leading zero) into *v. */
static int id_digits(const char *s, size_t len, uint64_t *v) {
  if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
    return -1;
  *v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    *v = *v * 10 + (uint64_t)(s[i] - '0');
  }
  return 0;
}

int cairn_entry_id_parse(const char *id, size_t len, cairn_entry_gen_id *out) {
  /* the seq follows the last dash (a key in base64url may hold dashes) */
  const char *dash = NULL;
  size_t head;
  memset(out, 0, sizeof *out);
  for (size_t i = len; i > 0 && dash == NULL; i--)
    if (id[i - 1] == '-')
      dash = id + i - 1;
  if (dash == NULL || id_digits(dash + 1, len - (size_t)(dash + 1 - id), &out->seq) != 0 ||
      out->seq == 0)
    return CAIRN_EINVAL;
  head = (size_t)(dash - id);
  if (head >= 2 && id[0] == 'n' && id_digits(id + 1, head - 1, &out->number) == 0) {
    out->form = CAIRN_ID_NUMBER;
    return 0;
  }
  if (head == 44 && id[0] == 'k') {
    size_t got;
    if (sodium_base642bin(out->key, sizeof out->key, id + 1, 43, NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != CAIRN_KEY_BYTES)
      return CAIRN_EINVAL;
    out->form = CAIRN_ID_KEY;
    return 0;
  }
  if (head == 8) {
    for (size_t i = 0; i < 8; i++) /* (a '-' among them fails here) */
      if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
        return CAIRN_EINVAL;
    if (sodium_hex2bin(out->key, 4, id, 8, NULL, NULL, NULL) != 0)
      return CAIRN_EINVAL;
    out->form = CAIRN_ID_LEGACY;
    return 0;
  }
  return CAIRN_EINVAL;
}

int cairn_entry_id_names(const cairn_entry_gen_id *g, const uint8_t author[CAIRN_KEY_BYTES],
                         int64_t number, uint64_t seq) {
  if (g->seq != seq)
    return 0;
  switch (g->form) {
  case CAIRN_ID_NUMBER:
    return number >= 0 && g->number == (uint64_t)number;
  case CAIRN_ID_KEY:
    return memcmp(g->key, author, CAIRN_KEY_BYTES) == 0;
  case CAIRN_ID_LEGACY:
    return memcmp(g->key, author, 4) == 0;
  }
  return 0;
}

int cairn_entry_count(const uint8_t *buf, size_t len, size_t *n) {
  size_t off = 0;
  *n = 0;
  while (off < len) {
    cairn_entry e;
    size_t used;
    int rc = cairn_entry_decode(buf + off, len - off, &e, &used);
    if (rc != 0)
      return rc == CAIRN_EAGAIN ? CAIRN_EMALFORMED : rc;
    off += used;
    (*n)++;
  }
  return 0;
}
