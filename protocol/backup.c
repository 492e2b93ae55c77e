/* backup.c: the backup file's start: magic, length, header (backup.h). */
#include "backup.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "mpcheck.h"
#include "record.h"

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

int cairn_backup_pack_start(msgpack_sbuffer *sb, const cairn_backup_header *h) {
  msgpack_sbuffer hdr;
  msgpack_packer pk;
  uint8_t len[4];

  if (h->config_len > CAIRN_BACKUP_CONFIG_MAX)
    return CAIRN_ETOOBIG;
  msgpack_sbuffer_init(&hdr);
  msgpack_packer_init(&pk, &hdr, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 7);
  pack_cstr(&pk, "device");
  pack_cstr(&pk, h->device);
  pack_cstr(&pk, "role");
  pack_cstr(&pk, h->role);
  pack_cstr(&pk, "made");
  msgpack_pack_int64(&pk, h->made);
  pack_cstr(&pk, "config");
  msgpack_pack_str_with_body(&pk, h->config, h->config_len);
  pack_cstr(&pk, "key");
  msgpack_pack_bin_with_body(&pk, h->secret, sizeof h->secret);
  pack_cstr(&pk, "store");
  msgpack_pack_uint64(&pk, h->store_bytes);
  pack_cstr(&pk, "keys");
  msgpack_pack_uint64(&pk, h->keys_bytes);
  len[0] = (uint8_t)(hdr.size >> 24);
  len[1] = (uint8_t)(hdr.size >> 16);
  len[2] = (uint8_t)(hdr.size >> 8);
  len[3] = (uint8_t)hdr.size;
  msgpack_sbuffer_write(sb, CAIRN_BACKUP_MAGIC, CAIRN_BACKUP_MAGIC_BYTES);
  msgpack_sbuffer_write(sb, (const char *)len, sizeof len);
  msgpack_sbuffer_write(sb, hdr.data, hdr.size);
  msgpack_sbuffer_destroy(&hdr);
  return 0;
}

/* Copies a str value of at most max - 1 bytes into out; 0 or -1. */
static int str_into(const msgpack_object *o, char *out, size_t max) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= max ||
      memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
    return -1;
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = '\0';
  return 0;
}

/* Checks the decoded header map and fills h. Returns 0 or -1. */
static int read_header(const msgpack_object *m, cairn_backup_header *h) {
  const msgpack_object *config, *key, *made, *store, *keys;
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], derived[crypto_sign_PUBLICKEYBYTES];
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  size_t got;

  if (m->type != MSGPACK_OBJECT_MAP || str_into(cairn_record_map_get(m, "device"), h->device,
                                                 sizeof h->device) != 0 ||
      str_into(cairn_record_map_get(m, "role"), h->role, sizeof h->role) != 0)
    return -1;
  if (strcmp(h->role, "classroom") != 0 && strcmp(h->role, "hub") != 0 &&
      strcmp(h->role, "central") != 0)
    return -1;
  if (strlen(h->device) != 64 ||
      sodium_hex2bin(pk, sizeof pk, h->device, 64, NULL, &got, NULL) != 0 || got != sizeof pk)
    return -1;
  made = cairn_record_map_get(m, "made");
  config = cairn_record_map_get(m, "config");
  key = cairn_record_map_get(m, "key");
  store = cairn_record_map_get(m, "store");
  keys = cairn_record_map_get(m, "keys"); /* absent before the store was sealed */
  if (keys != NULL && (keys->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       keys->via.u64 > CAIRN_BACKUP_KEYS_MAX))
    return -1;
  if (made == NULL ||
      (made->type != MSGPACK_OBJECT_POSITIVE_INTEGER && made->type != MSGPACK_OBJECT_NEGATIVE_INTEGER) ||
      config == NULL || config->type != MSGPACK_OBJECT_STR ||
      config->via.str.size > CAIRN_BACKUP_CONFIG_MAX ||
      memchr(config->via.str.ptr, '\0', config->via.str.size) != NULL || key == NULL ||
      key->type != MSGPACK_OBJECT_BIN || key->via.bin.size != CAIRN_BACKUP_SECRET_BYTES ||
      store == NULL || store->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return -1;
  /* The key is the device's: its seed gives the public key named. */
  crypto_sign_seed_keypair(derived, sk, (const unsigned char *)key->via.bin.ptr);
  sodium_memzero(sk, sizeof sk);
  if (sodium_memcmp(derived, pk, sizeof pk) != 0 ||
      memcmp((const uint8_t *)key->via.bin.ptr + 32, pk, sizeof pk) != 0)
    return -1;
  h->made = made->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)made->via.u64 : made->via.i64;
  h->config = config->via.str.ptr;
  h->config_len = config->via.str.size;
  memcpy(h->secret, key->via.bin.ptr, sizeof h->secret);
  h->store_bytes = store->via.u64;
  h->keys_bytes = keys != NULL ? keys->via.u64 : 0;
  return 0;
}

int cairn_backup_decode_start(const uint8_t *buf, size_t len, cairn_backup_header *h,
                              size_t *used) {
  size_t hlen, checked;
  msgpack_zone z;
  msgpack_object m;
  size_t off = 0;
  int rc;

  memset(h, 0, sizeof *h);
  if (memcmp(buf, CAIRN_BACKUP_MAGIC,
             len < CAIRN_BACKUP_MAGIC_BYTES ? len : CAIRN_BACKUP_MAGIC_BYTES) != 0)
    return CAIRN_EMALFORMED;
  if (len < CAIRN_BACKUP_MAGIC_BYTES + 4)
    return CAIRN_EAGAIN;
  const uint8_t *p = buf + CAIRN_BACKUP_MAGIC_BYTES;
  hlen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
  if (hlen == 0 || hlen > CAIRN_BACKUP_HEADER_MAX)
    return CAIRN_EMALFORMED;
  if (len - CAIRN_BACKUP_MAGIC_BYTES - 4 < hlen)
    return CAIRN_EAGAIN;
  p += 4;
  if (cairn_mpcheck(p, hlen, &checked) != 0 || checked != hlen)
    return CAIRN_EMALFORMED;
  if (!msgpack_zone_init(&z, 1024))
    return CAIRN_ENOMEM;
  rc = msgpack_unpack((const char *)p, hlen, &off, &z, &m) == MSGPACK_UNPACK_SUCCESS &&
               off == hlen && read_header(&m, h) == 0
           ? 0
           : CAIRN_EMALFORMED;
  msgpack_zone_destroy(&z);
  if (rc != 0) {
    sodium_memzero(h, sizeof *h);
    return rc;
  }
  /* config borrowed from buf: the zone only referenced it (msgpack-c keeps
   * str pointers into the input) */
  *used = CAIRN_BACKUP_MAGIC_BYTES + 4 + hlen;
  return 0;
}

/* ---- encrypted backups ---- */

#define MAGIC_BYTES 13
#define SEALED_KEY_BYTES (crypto_secretstream_xchacha20poly1305_KEYBYTES + crypto_box_SEALBYTES)

_Static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) <=
                   sizeof(((cairn_backup_seal *)0)->state),
               "cairn_backup_seal holds a secretstream state");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == CAIRN_BACKUP_SEAL_ABYTES,
               "a chunk adds 17 bytes");
_Static_assert(CAIRN_BACKUP_SEALED_START ==
                   MAGIC_BYTES + crypto_box_PUBLICKEYBYTES + SEALED_KEY_BYTES +
                       crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "the sealed start's length");
_Static_assert(crypto_box_PUBLICKEYBYTES == CAIRN_BACKUP_KEY_BYTES &&
                   crypto_box_SECRETKEYBYTES == CAIRN_BACKUP_KEY_BYTES,
               "X25519 keys are 32 bytes");

static crypto_secretstream_xchacha20poly1305_state *state_of(cairn_backup_seal *s) {
  return (crypto_secretstream_xchacha20poly1305_state *)(void *)s->state;
}

int cairn_backup_is_sealed(const uint8_t *buf, size_t len) {
  return len >= MAGIC_BYTES && memcmp(buf, CAIRN_BACKUP_SEALED_MAGIC, MAGIC_BYTES) == 0;
}

int cairn_backup_seal_start(cairn_backup_seal *s, const uint8_t pk[CAIRN_BACKUP_KEY_BYTES],
                            uint8_t out[CAIRN_BACKUP_SEALED_START]) {
  uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  uint8_t *p = out;
  int rc = 0;

  memcpy(p, CAIRN_BACKUP_SEALED_MAGIC, MAGIC_BYTES);
  p += MAGIC_BYTES;
  memcpy(p, pk, crypto_box_PUBLICKEYBYTES);
  p += crypto_box_PUBLICKEYBYTES;
  crypto_secretstream_xchacha20poly1305_keygen(key);
  if (crypto_box_seal(p, key, sizeof key, pk) != 0)
    rc = CAIRN_EINVAL;
  p += SEALED_KEY_BYTES;
  if (rc == 0 && crypto_secretstream_xchacha20poly1305_init_push(state_of(s), p, key) != 0)
    rc = CAIRN_EINVAL;
  sodium_memzero(key, sizeof key);
  return rc;
}

void cairn_backup_seal_chunk(cairn_backup_seal *s, const uint8_t *in, size_t n, int final,
                             uint8_t *out) {
  crypto_secretstream_xchacha20poly1305_push(
      state_of(s), out, NULL, in, n, NULL, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
}

int cairn_backup_open_start(cairn_backup_seal *s, const uint8_t *buf, size_t len,
                            const uint8_t sk[CAIRN_BACKUP_KEY_BYTES]) {
  uint8_t pk[crypto_box_PUBLICKEYBYTES], key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  const uint8_t *p = buf + MAGIC_BYTES;
  int rc;

  if (memcmp(buf, CAIRN_BACKUP_SEALED_MAGIC, len < MAGIC_BYTES ? len : MAGIC_BYTES) != 0)
    return CAIRN_EMALFORMED;
  if (len < CAIRN_BACKUP_SEALED_START)
    return CAIRN_EAGAIN;
  crypto_scalarmult_base(pk, sk);
  if (sodium_memcmp(pk, p, sizeof pk) != 0)
    return CAIRN_EPERM;
  p += crypto_box_PUBLICKEYBYTES;
  if (crypto_box_seal_open(key, p, SEALED_KEY_BYTES, pk, sk) != 0)
    return CAIRN_EBADSIG;
  p += SEALED_KEY_BYTES;
  rc = crypto_secretstream_xchacha20poly1305_init_pull(state_of(s), p, key) == 0 ? 0
                                                                                  : CAIRN_EBADSIG;
  sodium_memzero(key, sizeof key);
  return rc;
}

int cairn_backup_open_chunk(cairn_backup_seal *s, const uint8_t *in, size_t n, uint8_t *out,
                            int *final) {
  unsigned char tag = 0;

  if (n < CAIRN_BACKUP_SEAL_ABYTES || n > CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES)
    return CAIRN_EBADSIG;
  if (crypto_secretstream_xchacha20poly1305_pull(state_of(s), out, NULL, &tag, in, n, NULL, 0) !=
      0)
    return CAIRN_EBADSIG;
  *final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  return 0;
}

void cairn_backup_key_new(uint8_t pk[CAIRN_BACKUP_KEY_BYTES], uint8_t sk[CAIRN_BACKUP_KEY_BYTES]) {
  crypto_box_keypair(pk, sk);
}

void cairn_backup_key_text(const uint8_t key[CAIRN_BACKUP_KEY_BYTES],
                           char out[CAIRN_BACKUP_KEY_TEXT]) {
  sodium_bin2base64(out, CAIRN_BACKUP_KEY_TEXT, key, CAIRN_BACKUP_KEY_BYTES,
                    sodium_base64_VARIANT_ORIGINAL);
}

/* 1 when text[0..len) is a key in base64: 43 characters of the original
 * alphabet and '='. (libsodium's decoder, as built here, took a byte
 * beyond ASCII for a letter: fuzz_backup found it.) */
static int key_b64(const char *text, size_t len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  if (len != CAIRN_BACKUP_KEY_TEXT - 1 || text[len - 1] != '=')
    return 0;
  for (size_t i = 0; i + 1 < len; i++)
    if (text[i] == '\0' || strchr(alphabet, text[i]) == NULL)
      return 0;
  return 1;
}

int cairn_backup_public_key_parse(const char *text, uint8_t pk[CAIRN_BACKUP_KEY_BYTES]) {
  size_t got = 0;

  if (!key_b64(text, strlen(text)) ||
      sodium_base642bin(pk, CAIRN_BACKUP_KEY_BYTES, text, strlen(text), NULL, &got, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      got != CAIRN_BACKUP_KEY_BYTES)
    return CAIRN_EINVAL;
  return 0;
}

void cairn_backup_key_encode(const uint8_t sk[CAIRN_BACKUP_KEY_BYTES],
                             char out[CAIRN_BACKUP_KEY_FILE_MAX]) {
  char text[CAIRN_BACKUP_KEY_TEXT];

  cairn_backup_key_text(sk, text);
  snprintf(out, CAIRN_BACKUP_KEY_FILE_MAX, "%s%s\n", CAIRN_BACKUP_KEY_FILE_PREFIX, text);
  sodium_memzero(text, sizeof text);
}

int cairn_backup_key_decode(const uint8_t *buf, size_t len, uint8_t sk[CAIRN_BACKUP_KEY_BYTES],
                            uint8_t pk[CAIRN_BACKUP_KEY_BYTES]) {
  size_t plen = strlen(CAIRN_BACKUP_KEY_FILE_PREFIX), got = 0;
  const char *b64 = (const char *)buf + plen;

  if (len != plen + CAIRN_BACKUP_KEY_TEXT - 1 + 1 || memcmp(buf, CAIRN_BACKUP_KEY_FILE_PREFIX, plen) != 0 ||
      buf[len - 1] != '\n' || !key_b64(b64, CAIRN_BACKUP_KEY_TEXT - 1) ||
      sodium_base642bin(sk, CAIRN_BACKUP_KEY_BYTES, b64, CAIRN_BACKUP_KEY_TEXT - 1, NULL, &got,
                        NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      got != CAIRN_BACKUP_KEY_BYTES) {
    sodium_memzero(sk, CAIRN_BACKUP_KEY_BYTES);
    return CAIRN_EMALFORMED;
  }
  crypto_scalarmult_base(pk, sk);
  return 0;
}
