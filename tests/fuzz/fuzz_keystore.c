/*
 * fuzz_keystore.c: the key store's file (store/keystore.h): the pure slot
 * decoder, cairn_keystore_slot_decode, and the file as cairnd opens it.
 *
 * The input is a whole key store file, read under the fixed wrap key of
 * fuzz.h (make_seeds writes its seeds under it). The input itself, and
 * each whole slot of it, go through cairn_keystore_slot_decode; then the
 * input is written as a file (in /dev/shm when there is one) and opened
 * with cairn_keystore_open, a key is made and everything forgotten.
 *
 * Checks: a slot decodes only at its exact length, to the tag it starts
 * with, the same twice, and fills zeros when it does not; the open
 * refuses exactly a file with another magic (CAIRN_ECORRUPT) or version
 * (CAIRN_EVERSION) and nothing else; it holds one key for each distinct
 * tag of the slots that decode, the first slot's key, and no other; a key
 * made goes into a free slot, or at the end when there is none; after
 * every key is forgotten each slot that held one is all zero, and every
 * other slot as it was.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "fuzz.h"
#include "keystore.h"

#define SLOT CAIRN_KEYSTORE_SLOT_BYTES
#define HEADER CAIRN_KEYSTORE_HEADER_BYTES

static char dir[64], path[128];
static uint8_t wrap[32];

static void cleanup(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_random_fixed();
  if (sodium_init() < 0)
    return 1;
  fuzz_keystore_wrap(wrap);
  struct stat st;
  strcpy(dir, stat("/dev/shm", &st) == 0 ? "/dev/shm/cairn-fuzz-keys-XXXXXX"
                                         : "/tmp/cairn-fuzz-keys-XXXXXX");
  if (mkdtemp(dir) == NULL)
    abort();
  snprintf(path, sizeof path, "%s/keys", dir);
  atexit(cleanup);
  return 0;
}

/* The slot at p of len bytes, decoded twice. Returns what it returned. */
static int decode(const uint8_t *p, size_t len, uint8_t tag[16], uint8_t key[32]) {
  static const uint8_t zero[32];
  uint8_t tag2[16], key2[32];
  int ok = cairn_keystore_slot_decode(p, len, wrap, tag, key);
  FUZZ_CHECK(ok == 0 || ok == 1);
  FUZZ_CHECK(cairn_keystore_slot_decode(p, len, wrap, tag2, key2) == ok);
  FUZZ_CHECK(memcmp(tag, tag2, 16) == 0 && memcmp(key, key2, 32) == 0);
  if (ok)
    FUZZ_CHECK(len == SLOT && memcmp(tag, p, 16) == 0);
  else
    FUZZ_CHECK(memcmp(tag, zero, 16) == 0 && memcmp(key, zero, 32) == 0);
  return ok;
}

static void write_file(const uint8_t *data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
  close(fd);
}

/* The file as it is now; *len its size. Caller frees. */
static uint8_t *read_back(size_t *len) {
  struct stat st;
  int fd = open(path, O_RDONLY);
  FUZZ_CHECK(fd >= 0 && fstat(fd, &st) == 0);
  uint8_t *p = malloc((size_t)st.st_size + 1);
  FUZZ_CHECK(p != NULL && read(fd, p, (size_t)st.st_size) == st.st_size);
  close(fd);
  *len = (size_t)st.st_size;
  return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t tag[16], key[32], got[32];
  cairn_keystore *ks = NULL;

  fuzz_random_reset();
  decode(data, size, tag, key);
  if (size > (size_t)64 * SLOT)
    return 0; /* enough slots to reach every case; keep runs fast */

  /* What the open must find: the first slot of each tag that decodes. */
  size_t slots = size > HEADER ? (size - HEADER) / SLOT : 0, keys = 0, free_slots = 0;
  uint8_t tags[64][16], first_key[64][32], held[64] = {0};
  for (size_t i = 0; i < slots; i++) {
    if (!(held[i] = (uint8_t)decode(data + HEADER + i * SLOT, SLOT, tag, key))) {
      free_slots++;
      continue;
    }
    size_t k = 0;
    while (k < keys && memcmp(tags[k], tag, 16) != 0)
      k++;
    if (k < keys) {
      free_slots++; /* a copy: overwritten at open */
      continue;
    }
    memcpy(tags[keys], tag, 16);
    memcpy(first_key[keys++], key, 32);
  }

  write_file(data, size);
  int rc = cairn_keystore_open(path, wrap, &ks);
  int want = 0;
  if (size >= HEADER && memcmp(data, "cairnkeys\0", 10) != 0)
    want = CAIRN_ECORRUPT;
  else if (size >= HEADER && memcmp(data + 10, "\0\0\0\1", 4) != 0)
    want = CAIRN_EVERSION;
  else if (size >= HEADER) { /* the header's check: made under this wrap key */
    static const char what[] = "cairnkeys check";
    uint8_t check[32];
    crypto_generichash(check, sizeof check, (const uint8_t *)what, sizeof what - 1, wrap,
                       sizeof wrap);
    if (memcmp(data + 14, check, sizeof check) != 0)
      want = CAIRN_ENOKEY;
  }
  FUZZ_CHECK(rc == want);
  if (rc != 0) {
    FUZZ_CHECK(ks == NULL);
    return 0;
  }
  FUZZ_CHECK(cairn_keystore_count(ks) == keys);
  for (size_t k = 0; k < keys; k++) {
    FUZZ_CHECK(cairn_keystore_get(ks, tags[k], got) == 0);
    FUZZ_CHECK(memcmp(got, first_key[k], 32) == 0);
  }

  /* A new key: into a free slot, else at the end (over a cut tail). */
  uint8_t fresh[16];
  memset(fresh, 0xf5, sizeof fresh);
  int had = cairn_keystore_get(ks, fresh, got) == 0;
  FUZZ_CHECK(cairn_keystore_make(ks, fresh, key) == 0);
  FUZZ_CHECK(cairn_keystore_get(ks, fresh, got) == 0 && memcmp(got, key, 32) == 0);
  size_t len;
  uint8_t *file = read_back(&len);
  size_t whole = size < HEADER ? HEADER : HEADER + slots * SLOT;
  if (had || free_slots > 0)
    FUZZ_CHECK(len == (size < HEADER ? HEADER : size));
  else
    FUZZ_CHECK(len == (whole + SLOT > size ? whole + SLOT : size));
  free(file);

  /* Everything forgotten: each slot that held a key is zero, the others
   * as they were (or zero: the new key's). */
  FUZZ_CHECK(cairn_keystore_forget(ks, fresh) == 0);
  for (size_t k = 0; k < keys; k++)
    FUZZ_CHECK(cairn_keystore_forget(ks, tags[k]) == 0);
  FUZZ_CHECK(cairn_keystore_count(ks) == 0);
  cairn_keystore_close(ks);
  file = read_back(&len);
  FUZZ_CHECK(len >= HEADER);
  for (size_t i = 0; i < (len - HEADER) / SLOT; i++) {
    const uint8_t *now = file + HEADER + i * SLOT;
    FUZZ_CHECK(sodium_is_zero(now, SLOT) ||
               (i < slots && !held[i] && memcmp(now, data + HEADER + i * SLOT, SLOT) == 0));
  }
  free(file);
  return 0;
}
