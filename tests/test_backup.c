/* test_backup.c: encrypted backups' sealing, opening and key files
 * (protocol/backup.h), and the header's key store length; the plain format
 * is driven by backup_test.sh and fuzz_backup. */
#define _GNU_SOURCE 1 /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include "backup.h"
#include "error.h"

#define CHUNK CAIRN_BACKUP_SEAL_CHUNK
#define AB CAIRN_BACKUP_SEAL_ABYTES

/* 2.5 chunks of plain bytes, sealed to pk: start, full, full, last. */
static size_t seal_sample(const uint8_t pk[32], uint8_t *file, const uint8_t *plain) {
  cairn_backup_seal s;
  size_t len = CAIRN_BACKUP_SEALED_START;

  assert_int_equal(cairn_backup_seal_start(&s, pk, file), 0);
  cairn_backup_seal_chunk(&s, plain, CHUNK, 0, file + len);
  len += CHUNK + AB;
  cairn_backup_seal_chunk(&s, plain + CHUNK, CHUNK, 0, file + len);
  len += CHUNK + AB;
  cairn_backup_seal_chunk(&s, plain + 2 * CHUNK, CHUNK / 2, 1, file + len);
  return len + CHUNK / 2 + AB;
}

static uint8_t plain[3 * CHUNK], file[3 * CHUNK + 4096], out[CHUNK];

static void test_seal_open(void **state) {
  uint8_t pk[32], sk[32], other_pk[32], other_sk[32];
  cairn_backup_seal s;
  size_t len, off = CAIRN_BACKUP_SEALED_START;
  int final = 0, chunks = 0;
  (void)state;

  randombytes_buf(plain, sizeof plain);
  cairn_backup_key_new(pk, sk);
  cairn_backup_key_new(other_pk, other_sk);
  len = seal_sample(pk, file, plain);
  assert_true(cairn_backup_is_sealed(file, len));
  assert_false(cairn_backup_is_sealed((const uint8_t *)CAIRN_BACKUP_MAGIC, 13));
  /* The recipient's public key is in the clear; the plain bytes are not. */
  assert_memory_equal(file + 13, pk, 32);
  assert_null(memmem(file, len, plain + 1000, 32));

  assert_int_equal(cairn_backup_open_start(&s, file, len, sk), 0);
  while (!final) {
    size_t n = len - off < CHUNK + AB ? len - off : CHUNK + AB;
    assert_int_equal(cairn_backup_open_chunk(&s, file + off, n, out, &final), 0);
    assert_memory_equal(out, plain + (size_t)chunks * CHUNK, n - AB);
    off += n;
    chunks++;
  }
  assert_int_equal(chunks, 3);
  assert_int_equal(off, len);

  /* Another key: said so, before anything is opened. */
  assert_int_equal(cairn_backup_open_start(&s, file, len, other_sk), CAIRN_EPERM);
  /* Too short, or not this format. */
  assert_int_equal(cairn_backup_open_start(&s, file, 100, sk), CAIRN_EAGAIN);
  assert_int_equal(cairn_backup_open_start(&s, (const uint8_t *)"CAIRNBACKUP1\nxx", 15, sk),
                   CAIRN_EMALFORMED);
  /* The sealed file key altered. */
  file[13 + 32 + 5] ^= 1;
  assert_int_equal(cairn_backup_open_start(&s, file, len, sk), CAIRN_EBADSIG);
  file[13 + 32 + 5] ^= 1;
}

static void test_tampered_chunks(void **state) {
  uint8_t pk[32], sk[32];
  cairn_backup_seal s;
  size_t len, first = CAIRN_BACKUP_SEALED_START;
  int final = 0;
  (void)state;

  cairn_backup_key_new(pk, sk);
  len = seal_sample(pk, file, plain);
  /* A flipped byte: the chunk does not open, and nothing is written. */
  file[first + 100] ^= 0x40;
  assert_int_equal(cairn_backup_open_start(&s, file, len, sk), 0);
  memset(out, 0x5a, sizeof out);
  assert_int_equal(cairn_backup_open_chunk(&s, file + first, CHUNK + AB, out, &final),
                   CAIRN_EBADSIG);
  for (size_t i = 0; i < CHUNK; i++)
    assert_int_equal(out[i], 0x5a);
  file[first + 100] ^= 0x40;
  /* Chunks swapped: the second chunk does not open first. */
  assert_int_equal(cairn_backup_open_start(&s, file, len, sk), 0);
  assert_int_equal(
      cairn_backup_open_chunk(&s, file + first + CHUNK + AB, CHUNK + AB, out, &final),
      CAIRN_EBADSIG);
  /* Cut: without its last chunk, none says final. */
  assert_int_equal(cairn_backup_open_start(&s, file, len, sk), 0);
  assert_int_equal(cairn_backup_open_chunk(&s, file + first, CHUNK + AB, out, &final), 0);
  assert_false(final);
  /* Sizes outside a chunk's bounds are refused. */
  assert_int_equal(cairn_backup_open_chunk(&s, file, AB - 1, out, &final), CAIRN_EBADSIG);
  assert_int_equal(cairn_backup_open_chunk(&s, file, CHUNK + AB + 1, out, &final), CAIRN_EBADSIG);
}

static void test_key_files(void **state) {
  uint8_t pk[32], sk[32], pk2[32], sk2[32], parsed[32];
  char text[CAIRN_BACKUP_KEY_FILE_MAX], pub[CAIRN_BACKUP_KEY_TEXT];
  size_t n;
  (void)state;

  cairn_backup_key_new(pk, sk);
  cairn_backup_key_encode(sk, text);
  n = strlen(text);
  assert_int_equal(strncmp(text, CAIRN_BACKUP_KEY_FILE_PREFIX, strlen(CAIRN_BACKUP_KEY_FILE_PREFIX)), 0);
  assert_int_equal(cairn_backup_key_decode((const uint8_t *)text, n, sk2, pk2), 0);
  assert_memory_equal(sk, sk2, 32);
  assert_memory_equal(pk, pk2, 32);
  cairn_backup_key_text(pk, pub);
  assert_int_equal(strlen(pub), 44);
  assert_int_equal(cairn_backup_public_key_parse(pub, parsed), 0);
  assert_memory_equal(parsed, pk, 32);

  /* Refused: cut, no line feed, another prefix, a byte beyond ASCII. */
  assert_int_equal(cairn_backup_key_decode((const uint8_t *)text, n - 1, sk2, pk2), CAIRN_EMALFORMED);
  text[n - 1] = ' ';
  assert_int_equal(cairn_backup_key_decode((const uint8_t *)text, n, sk2, pk2), CAIRN_EMALFORMED);
  text[n - 1] = '\n';
  text[0] = 'C';
  assert_int_equal(cairn_backup_key_decode((const uint8_t *)text, n, sk2, pk2), CAIRN_EMALFORMED);
  text[0] = 'c';
  text[n - 10] = (char)0xaa;
  assert_int_equal(cairn_backup_key_decode((const uint8_t *)text, n, sk2, pk2), CAIRN_EMALFORMED);
  assert_int_equal(cairn_backup_public_key_parse("", parsed), CAIRN_EINVAL);
  assert_int_equal(cairn_backup_public_key_parse("not a key", parsed), CAIRN_EINVAL);
  pub[5] = '*';
  assert_int_equal(cairn_backup_public_key_parse(pub, parsed), CAIRN_EINVAL);
}

/* A header made for device sk with keys bytes of key store after the store. */
static void header_of(const uint8_t *sk, uint64_t keys, msgpack_sbuffer *sb) {
  cairn_backup_header h;
  memset(&h, 0, sizeof h);
  sodium_bin2hex(h.device, sizeof h.device, sk + 32, 32);
  strcpy(h.role, "classroom");
  h.made = 1700000000;
  h.config = "[device]\n";
  h.config_len = strlen(h.config);
  memcpy(h.secret, sk, sizeof h.secret);
  h.store_bytes = 4096;
  h.keys_bytes = keys;
  msgpack_sbuffer_init(sb);
  assert_int_equal(cairn_backup_pack_start(sb, &h), 0);
}

/* The key store's length travels in the header (FORMAT.md section 6); a
 * header without it (a backup from before stores were sealed) reads as
 * none; one past CAIRN_BACKUP_KEYS_MAX is refused. */
static void test_header_keys(void **state) {
  (void)state;
  uint8_t pk[32], sk[64];
  crypto_sign_keypair(pk, sk);
  msgpack_sbuffer sb;
  cairn_backup_header h;
  size_t used;
  header_of(sk, 1280, &sb);
  assert_int_equal(cairn_backup_decode_start((const uint8_t *)sb.data, sb.size, &h, &used), 0);
  assert_int_equal(used, sb.size);
  assert_int_equal(h.store_bytes, 4096);
  assert_int_equal(h.keys_bytes, 1280);
  msgpack_sbuffer_destroy(&sb);

  header_of(sk, (uint64_t)CAIRN_BACKUP_KEYS_MAX + 1, &sb);
  assert_int_equal(cairn_backup_decode_start((const uint8_t *)sb.data, sb.size, &h, &used),
                   CAIRN_EMALFORMED);
  msgpack_sbuffer_destroy(&sb);

  /* without "keys": the map's last pair dropped, the count and length fixed */
  header_of(sk, 0, &sb);
  uint8_t *p = (uint8_t *)sb.data;
  size_t start = CAIRN_BACKUP_MAGIC_BYTES + 4, cut = 5 + 1; /* "keys" fixstr, 0 */
  assert_int_equal(p[start], 0x87); /* a fixmap of 7 */
  p[start] = 0x86;
  size_t hlen = sb.size - start - cut;
  p[CAIRN_BACKUP_MAGIC_BYTES + 2] = (uint8_t)(hlen >> 8);
  p[CAIRN_BACKUP_MAGIC_BYTES + 3] = (uint8_t)hlen;
  assert_int_equal(cairn_backup_decode_start(p, sb.size - cut, &h, &used), 0);
  assert_int_equal(h.keys_bytes, 0);
  assert_int_equal(h.store_bytes, 4096);
  msgpack_sbuffer_destroy(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seal_open),
      cmocka_unit_test(test_tampered_chunks),
      cmocka_unit_test(test_key_files),
      cmocka_unit_test(test_header_keys),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
