/*
 * fuzz_bundle.c: cairn_bundle_open on offline bundle files (docs/PROTOCOL.md
 * section 7), then the entries of the payload it returns, as
 * bundle_rpc.c hands them to the store.
 *
 * A forged bundle never verifies (the author signs every byte) and never
 * decrypts, so the first input byte picks a mode; the keys are fixed
 * (author, central, hub, a stranger), made from seeds as in make_seeds.c:
 *
 *   bits 0-1  0 "file": the rest is a bundle file, opened by the central,
 *               the hub and the stranger. What a USB stick can hold, up
 *               (to the central and the hub) or down (to one device).
 *             1 "signed": the same, after the target writes the fixed
 *               author's key into the file and signs it again: reaches the
 *               recipient slots and the decryption of the content key.
 *             2 "payload": the rest is a payload; the target seals it with
 *               cairn_bundle_seal and opens it as every reader.
 *             3 "tamper": as 2, then the sealed file is changed before it
 *               is opened (see tamper()).
 *   bits 2-3  (modes 2, 3) the recipients: the central; the central and the
 *             hub; four slots (hub, central, stranger, central); the
 *             central and a key that is not an Ed25519 point (refused).
 *
 * Checks: a refusal returns one of the documented codes with a reason and
 * no payload (fails closed), and one for another reader still names the
 * author that signed it; what opens comes from the author in the file
 * and is no longer than the file; a sealed payload opens unchanged for each
 * recipient and for no one else; a changed or cut file never opens (unless
 * the change was undone by signing again); what opens, decodes as entries
 * the store's way. sodium's randombytes is replaced by a fixed generator,
 * rewound for each input, so that each input seals the same bytes.
 */
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "error.h"
#include "fuzz.h"

enum { READER_CENTRAL, READER_HUB, READER_STRANGER, READERS };

/* The layout of bundle.h. */
#define AUTHOR_AT (CAIRN_BUNDLE_MAGIC_BYTES + 1)
#define HEAD_BYTES (AUTHOR_AT + 32 + 1)
#define SLOT_BYTES (32 + crypto_secretbox_KEYBYTES + crypto_box_SEALBYTES)

static uint8_t author_pk[32], author_sk[64];
static uint8_t reader_pk[READERS][32], reader_sk[READERS][64];
/* A y coordinate of a small-order point: libsodium refuses its X25519 form. */
static const uint8_t not_a_point[32] = {1};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static const uint8_t seeds[READERS] = {0xc2, 0xb3, 0xd4};
  uint8_t seed[32];

  (void)argc;
  (void)argv;
  fuzz_random_fixed();
  if (sodium_init() < 0)
    abort();
  memset(seed, 0xa1, sizeof seed);
  crypto_sign_seed_keypair(author_pk, author_sk, seed);
  for (int i = 0; i < READERS; i++) {
    memset(seed, seeds[i], sizeof seed);
    crypto_sign_seed_keypair(reader_pk[i], reader_sk[i], seed);
  }
  return 0;
}

/* Opens buf as reader r. Returns what cairn_bundle_open returned, after
 * checking its contract; why gets the reason. */
static int open_as(const uint8_t *buf, size_t len, int r, char why[256]) {
  uint8_t author[32], *payload = (uint8_t *)1;
  size_t payload_len = (size_t)-1;
  int rc;

  memset(why, 'x', 255);
  why[255] = '\0';
  rc = cairn_bundle_open(buf, len, reader_sk[r], author, &payload, &payload_len, why, 256);
  FUZZ_CHECK(memchr(why, '\0', 256) != NULL);
  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EMALFORMED || rc == CAIRN_EVERSION || rc == CAIRN_EBADSIG ||
               rc == CAIRN_EPERM || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(payload == NULL && payload_len == 0);
    /* not addressed to r: still says who signed it (a classroom names
     * the author of a bundle that is not for it) */
    FUZZ_CHECK(rc != CAIRN_EPERM || memcmp(author, buf + AUTHOR_AT, 32) == 0);
    FUZZ_CHECK(rc == CAIRN_ENOMEM || (why[0] != '\0' && why[0] != 'x'));
    return rc;
  }
  FUZZ_CHECK(payload != NULL && payload_len < len);
  FUZZ_CHECK(len > AUTHOR_AT + 32 && memcmp(author, buf + AUTHOR_AT, 32) == 0);
  (void)fuzz_decode_entries(payload, payload_len);
  free(payload);
  return 0;
}

/* Writes the fixed author's key into the file and signs it again. */
static void sign_again(uint8_t *buf, size_t len) {
  memcpy(buf + AUTHOR_AT, author_pk, 32);
  crypto_sign_detached(buf + len - crypto_sign_BYTES, NULL, buf, len - crypto_sign_BYTES,
                       author_sk);
}

/* Modes 0 and 1. */
static void open_file(const uint8_t *data, size_t size, int resign) {
  char why[256];
  uint8_t *buf;

  if (!resign) {
    for (int r = 0; r < READERS; r++)
      (void)open_as(data, size, r, why);
    return;
  }
  if (size < AUTHOR_AT + 32 + crypto_sign_BYTES || (buf = malloc(size)) == NULL)
    return;
  memcpy(buf, data, size);
  sign_again(buf, size);
  for (int r = 0; r < READERS; r++) /* whatever fails now, the signature holds */
    if (open_as(buf, size, r, why) == CAIRN_EBADSIG)
      FUZZ_CHECK(strstr(why, "signature") == NULL);
  free(buf);
}

/* The recipients of recipe 0..3 (bits 2-3) into to; returns how many. */
static size_t recipients(unsigned recipe, uint8_t to[4][32]) {
  switch (recipe) {
  case 0:
    memcpy(to[0], reader_pk[READER_CENTRAL], 32);
    return 1;
  case 1:
    memcpy(to[0], reader_pk[READER_CENTRAL], 32);
    memcpy(to[1], reader_pk[READER_HUB], 32);
    return 2;
  case 2:
    memcpy(to[0], reader_pk[READER_HUB], 32);
    memcpy(to[1], reader_pk[READER_CENTRAL], 32);
    memcpy(to[2], reader_pk[READER_STRANGER], 32);
    memcpy(to[3], reader_pk[READER_CENTRAL], 32);
    return 4;
  default:
    memcpy(to[0], reader_pk[READER_CENTRAL], 32);
    memcpy(to[1], not_a_point, 32);
    return 2;
  }
}

/* Whether reader r holds one of the n slots in to. */
static int addressed(const uint8_t to[4][32], size_t n, int r) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(to[i], reader_pk[r], 32) == 0)
      return 1;
  return 0;
}

/* Whether reader r can still open a file of n slots that was changed at
 * pos and then signed again: not when the change hit the magic, version,
 * count, nonce or ciphertext, nor when it hit the sealed key in the slot r
 * reads (the last slot with r's key, as cairn_bundle_open picks it). */
static int still_opens(const uint8_t *file, size_t len, size_t n, size_t pos, int r) {
  size_t slots_end = HEAD_BYTES + n * SLOT_BYTES, j = n;

  if (pos < len - crypto_sign_BYTES && (pos < AUTHOR_AT || pos == HEAD_BYTES - 1 ||
                                        pos >= slots_end))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (memcmp(file + HEAD_BYTES + i * SLOT_BYTES, reader_pk[r], 32) == 0)
      j = i;
  return j < n && !(pos >= HEAD_BYTES + j * SLOT_BYTES + 32 &&
                    pos < HEAD_BYTES + (j + 1) * SLOT_BYTES);
}

/* Mode 3: the first 6 bytes of the input say what to do to the sealed
 * file: a position (4 bytes, little-endian, modulo the length), a byte to
 * XOR there (0 means 0x01), and flags: bit 0 cuts the file at the position
 * instead, bit 1 signs it again as the author afterwards. Without signing
 * again nothing opens; signing again undoes a change to the author or the
 * signature and leaves the other slots' readers their access. */
static void tamper(uint8_t *file, size_t len, const uint8_t op[6], size_t n) {
  size_t pos = ((size_t)op[0] | (size_t)op[1] << 8 | (size_t)op[2] << 16 | (size_t)op[3] << 24) %
               len;
  int cut = op[5] & 1, resign = (op[5] & 2) && !cut;
  char why[256];

  if (cut) {
    for (int r = 0; r < READERS; r++)
      FUZZ_CHECK(open_as(file, pos, r, why) != 0);
    return;
  }
  file[pos] ^= op[4] ? op[4] : 1;
  if (resign)
    sign_again(file, len);
  for (int r = 0; r < READERS; r++) {
    int rc = open_as(file, len, r, why);
    FUZZ_CHECK((rc == 0) == (resign && still_opens(file, len, n, pos, r)));
  }
}

/* Modes 2 and 3. */
static void seal_and_open(const uint8_t *payload, size_t len, unsigned recipe,
                          const uint8_t *tamper_op) {
  uint8_t to[4][32], *file = NULL;
  size_t n = recipients(recipe, to), file_len = 0;
  int rc = cairn_bundle_seal(author_sk, (const uint8_t(*)[32])to, n, payload, len, &file,
                             &file_len);

  if (recipe == 3) {
    FUZZ_CHECK(rc == CAIRN_EINVAL && file == NULL);
    return;
  }
  if (rc != 0) { /* only memory can fail here */
    FUZZ_CHECK(rc == CAIRN_ENOMEM && file == NULL);
    return;
  }
  FUZZ_CHECK(file_len > len && file_len <= CAIRN_BUNDLE_MAX);
  if (tamper_op != NULL) {
    tamper(file, file_len, tamper_op, n);
    free(file);
    return;
  }
  for (int r = 0; r < READERS; r++) {
    uint8_t author[32], *out = NULL;
    size_t out_len = 0;
    char why[256] = "";
    rc = cairn_bundle_open(file, file_len, reader_sk[r], author, &out, &out_len, why, sizeof why);
    if (!addressed(to, n, r)) {
      FUZZ_CHECK(rc == CAIRN_EPERM && out == NULL);
      continue;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(memcmp(author, author_pk, 32) == 0);
    FUZZ_CHECK(out_len == len && (len == 0 || memcmp(out, payload, len) == 0));
    (void)fuzz_decode_entries(out, out_len);
    free(out);
  }
  free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned mode, recipe;

  if (size < 1)
    return 0;
  fuzz_random_reset();
  mode = data[0] & 3;
  recipe = (data[0] >> 2) & 3;
  data++, size--;
  switch (mode) {
  case 0:
  case 1:
    open_file(data, size, mode == 1);
    break;
  case 2:
    seal_and_open(data, size, recipe, NULL);
    break;
  default:
    if (size >= 6)
      seal_and_open(data + 6, size - 6, recipe, data);
  }
  return 0;
}
