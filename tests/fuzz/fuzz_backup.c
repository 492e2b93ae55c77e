/*
 * fuzz_backup.c: cairn_backup_decode_start on the start of a backup file
 * (protocol/backup.h), as `cairnd --restore` reads it before it writes
 * anything.
 *
 * Checks: a refusal is one of the documented codes; what decodes lies
 * inside the input (the config text and the bytes used); it packs again
 * into the same bytes' meaning (decoded again, the same fields, the whole
 * start used); every shorter prefix of the start asks for more input.
 */
#include <string.h>

#include <msgpack.h>

#include "backup.h"
#include "error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_backup_header h, again;
  msgpack_sbuffer sb;
  size_t used = 0, used_again = 0;
  int rc = cairn_backup_decode_start(data, size, &h, &used);

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
