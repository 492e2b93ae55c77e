/* backup.c: the backup file's start: magic, length, header (backup.h). */
#include "backup.h"

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
  msgpack_pack_map(&pk, 6);
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
  const msgpack_object *config, *key, *made, *store;
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
