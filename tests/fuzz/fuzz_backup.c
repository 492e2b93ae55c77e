/*
 * fuzz_backup.c: the backup file's decoders (protocol/backup.h), as
 * `cairnd --restore` reads a file before it writes anything:
 * cairn_backup_decode_start on a plain backup's start; on an encrypted one
 * (its magic first) cairn_backup_open_start with the fuzz key
 * (FUZZ_BACKUP_SK, the key make_seeds seals its seeds to) and
 * cairn_backup_open_chunk over the rest, chunk by chunk; and
 * cairn_backup_key_decode on a backup key file.
 *
 * Checks: a refusal is one of the documented codes; what decodes lies
 * inside the input (the config text and the bytes used); it packs again
 * into the same bytes' meaning (decoded again, the same fields, the whole
 * start used); every shorter prefix of the start asks for more input; a
 * chunk that does not open writes nothing; a key file that decodes
 * encodes back to the same bytes.
 */
#include <string.h>

#include <msgpack.h>

#include "backup.h"
#include "error.h"
#include "fuzz.h"

/* An encrypted backup to the fuzz key: its start, then its chunks. */
static void sealed(const uint8_t *data, size_t size) {
  static uint8_t out[CAIRN_BACKUP_SEAL_CHUNK];
  uint8_t sk[CAIRN_BACKUP_KEY_BYTES];
  cairn_backup_seal s;
  size_t off = CAIRN_BACKUP_SEALED_START;
  int rc, final = 0;

  fuzz_backup_sk(sk);
  rc = cairn_backup_open_start(&s, data, size, sk);
  FUZZ_CHECK(rc == 0 || rc == CAIRN_EAGAIN || rc == CAIRN_EMALFORMED || rc == CAIRN_EPERM ||
             rc == CAIRN_EBADSIG);
  if (rc != 0)
    return;
  FUZZ_CHECK(size >= CAIRN_BACKUP_SEALED_START);
  while (off < size && !final) {
    size_t n = size - off;
    if (n > CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES)
      n = CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES;
    memset(out, 0xa5, sizeof out);
    rc = cairn_backup_open_chunk(&s, data + off, n, out, &final);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EBADSIG);
    if (rc != 0) {
      for (size_t i = 0; i < sizeof out; i++)
        FUZZ_CHECK(out[i] == 0xa5);
      return;
    }
    off += n;
  }
}

/* A backup key file. */
static void key_file(const uint8_t *data, size_t size) {
  uint8_t sk[CAIRN_BACKUP_KEY_BYTES], pk[CAIRN_BACKUP_KEY_BYTES], pk2[CAIRN_BACKUP_KEY_BYTES];
  char text[CAIRN_BACKUP_KEY_FILE_MAX];

  if (cairn_backup_key_decode(data, size, sk, pk) != 0)
    return;
  cairn_backup_key_encode(sk, text);
  FUZZ_CHECK(strlen(text) == size && memcmp(text, data, size) == 0);
  crypto_scalarmult_base(pk2, sk);
  FUZZ_CHECK(memcmp(pk, pk2, sizeof pk) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_backup_header h, again;
  msgpack_sbuffer sb;
  size_t used = 0, used_again = 0;
  int rc;

  key_file(data, size);
  if (cairn_backup_is_sealed(data, size)) {
    sealed(data, size);
    return 0;
  }
  rc = cairn_backup_decode_start(data, size, &h, &used);

  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EAGAIN || rc == CAIRN_EMALFORMED || rc == CAIRN_ENOMEM);
    return 0;
  }
  FUZZ_CHECK(used > CAIRN_BACKUP_MAGIC_BYTES + 4 && used <= size);
  FUZZ_CHECK(fuzz_inside(data, used, (const uint8_t *)h.config, h.config_len));
  FUZZ_CHECK(strlen(h.device) == 64 && h.config_len <= CAIRN_BACKUP_CONFIG_MAX);
  FUZZ_CHECK(cairn_backup_decode_start(data, used - 1, &again, &used_again) == CAIRN_EAGAIN);

  msgpack_sbuffer_init(&sb);
  FUZZ_CHECK(cairn_backup_pack_start(&sb, &h) == 0);
  FUZZ_CHECK(cairn_backup_decode_start((const uint8_t *)sb.data, sb.size, &again, &used_again) ==
             0);
  FUZZ_CHECK(used_again == sb.size);
  FUZZ_CHECK(strcmp(h.device, again.device) == 0 && strcmp(h.role, again.role) == 0);
  FUZZ_CHECK(h.made == again.made && h.store_bytes == again.store_bytes);
  FUZZ_CHECK(h.config_len == again.config_len &&
             memcmp(h.config, again.config, h.config_len) == 0);
  FUZZ_CHECK(memcmp(h.secret, again.secret, sizeof h.secret) == 0);
  msgpack_sbuffer_destroy(&sb);
  return 0;
}
