/*
 * fuzz_handshake.c: cairn_noise_read_message with fixed keys, on each
 * message a peer can send during Noise_XX and Noise_IK.
 *
 * The first input byte picks the case; the rest is the message:
 *   bit 0      pattern: 0 XX, 1 IK
 *   bits 1-2   0: the responder reads message 1 (what a stranger sends first)
 *              1: the initiator, having sent an honest message 1, reads 2
 *              2: the responder, after honest messages 1 and 2, reads 3
 *                 (XX only; IK falls back to case 1)
 *              3: an honest handshake whose payloads come from the input,
 *                 read back by the other side: the payloads, the handshake
 *                 hashes, the remote statics and the split ciphers must agree
 *   bits 3-4   the reader's payload capacity, from a table
 *
 * Checks: a read that fails wipes the handshake (every later call fails);
 * one that succeeds reports a payload within the capacity. libsodium does
 * the curve and the AEAD; what is fuzzed is cairn's framing around them.
 */
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "fuzz.h"
#include "noise.h"

static const size_t caps[4] = {CAIRN_NOISE_MAX_MSG, 0, 16, 100};
static const uint8_t prologue[] = "cairn fuzz prologue";

static uint8_t init_s[32], resp_s[32], init_e[32], resp_e[32], resp_pub[32], init_pub[32];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  memset(init_s, 0x11, 32);
  memset(resp_s, 0x22, 32);
  memset(init_e, 0x33, 32);
  memset(resp_e, 0x44, 32);
  crypto_scalarmult_curve25519_base(init_pub, init_s);
  crypto_scalarmult_curve25519_base(resp_pub, resp_s);
  return 0;
}

static void start(cairn_noise_handshake *i, cairn_noise_handshake *r, cairn_noise_pattern p) {
  FUZZ_CHECK(cairn_noise_handshake_init(i, p, 1, prologue, sizeof prologue, init_s,
                                        p == CAIRN_NOISE_IK ? resp_pub : NULL) == 0);
  FUZZ_CHECK(cairn_noise_handshake_init(r, p, 0, prologue, sizeof prologue, resp_s, NULL) == 0);
  cairn_noise_handshake_set_ephemeral(i, init_e);
  cairn_noise_handshake_set_ephemeral(r, resp_e);
}

/* from writes payload; to must read it back unchanged (or refuse it as
 * over its capacity). Returns 1 when the message went through. */
static int honest(cairn_noise_handshake *from, cairn_noise_handshake *to, const uint8_t *payload,
                  size_t len, size_t cap) {
  static uint8_t msg[CAIRN_NOISE_MAX_MSG], out[CAIRN_NOISE_MAX_MSG];
  size_t msg_len = 0, out_len = 0;
  int rc = cairn_noise_write_message(from, payload, len, msg, sizeof msg, &msg_len);

  if (rc != 0) { /* only a payload too big for one message is refused */
    FUZZ_CHECK(rc == CAIRN_ETOOBIG);
    return 0;
  }
  rc = cairn_noise_read_message(to, msg, msg_len, out, cap, &out_len);
  if (len > cap) {
    FUZZ_CHECK(rc == CAIRN_ETOOBIG);
    return 0;
  }
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(out_len == len && (len == 0 || memcmp(out, payload, len) == 0));
  return 1;
}

/* Reads the hostile message msg on hs and checks the outcome. */
static void hostile(cairn_noise_handshake *hs, const uint8_t *msg, size_t len, size_t cap) {
  static uint8_t out[CAIRN_NOISE_MAX_MSG];
  size_t out_len = (size_t)-1;
  int rc = cairn_noise_read_message(hs, msg, len, out, cap, &out_len);

  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EMALFORMED || rc == CAIRN_ETOOBIG || rc == CAIRN_EBADSIG);
    FUZZ_CHECK(!hs->live);
    FUZZ_CHECK(cairn_noise_read_message(hs, msg, len, out, cap, &out_len) == CAIRN_EINVAL);
    return;
  }
  FUZZ_CHECK(out_len <= cap && out_len <= len);
  if (cairn_noise_handshake_done(hs)) {
    cairn_noise_cipher tx, rx;
    FUZZ_CHECK(cairn_noise_remote_static(hs) != NULL);
    FUZZ_CHECK(cairn_noise_split(hs, &tx, &rx) == 0);
    FUZZ_CHECK(tx.has_key && rx.has_key && tx.n == 0 && rx.n == 0);
  }
}

static void check_sessions(cairn_noise_handshake *i, cairn_noise_handshake *r) {
  cairn_noise_cipher itx, irx, rtx, rrx;
  uint8_t ct[8 + CAIRN_NOISE_TAG_BYTES], pt[8];

  FUZZ_CHECK(cairn_noise_handshake_done(i) && cairn_noise_handshake_done(r));
  FUZZ_CHECK(memcmp(cairn_noise_handshake_hash(i), cairn_noise_handshake_hash(r),
                    CAIRN_NOISE_HASH_BYTES) == 0);
  FUZZ_CHECK(memcmp(cairn_noise_remote_static(i), resp_pub, 32) == 0);
  FUZZ_CHECK(memcmp(cairn_noise_remote_static(r), init_pub, 32) == 0);
  FUZZ_CHECK(cairn_noise_split(i, &itx, &irx) == 0 && cairn_noise_split(r, &rtx, &rrx) == 0);
  FUZZ_CHECK(cairn_noise_encrypt(&itx, NULL, 0, (const uint8_t *)"initiatr", 8, ct) == 0);
  FUZZ_CHECK(cairn_noise_decrypt(&rrx, NULL, 0, ct, sizeof ct, pt) == 0 &&
             memcmp(pt, "initiatr", 8) == 0);
  FUZZ_CHECK(cairn_noise_encrypt(&rtx, NULL, 0, (const uint8_t *)"responds", 8, ct) == 0);
  FUZZ_CHECK(cairn_noise_decrypt(&irx, NULL, 0, ct, sizeof ct, pt) == 0 &&
             memcmp(pt, "responds", 8) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_noise_handshake i, r;
  cairn_noise_pattern p;
  unsigned stage;
  size_t cap;

  if (size < 1)
    return 0;
  p = (data[0] & 1) ? CAIRN_NOISE_IK : CAIRN_NOISE_XX;
  stage = (data[0] >> 1) & 3;
  cap = caps[(data[0] >> 3) & 3];
  data++, size--;
  start(&i, &r, p);

  switch (stage) {
  case 0:
    hostile(&r, data, size, cap);
    break;
  case 2:
    if (p == CAIRN_NOISE_XX) {
      if (honest(&i, &r, NULL, 0, CAIRN_NOISE_MAX_MSG) &&
          honest(&r, &i, NULL, 0, CAIRN_NOISE_MAX_MSG))
        hostile(&r, data, size, cap);
      break;
    }
    /* fall through: IK has no message 3 */
  case 1:
    if (honest(&i, &r, NULL, 0, CAIRN_NOISE_MAX_MSG))
      hostile(&i, data, size, cap);
    break;
  default: { /* honest, with the input cut into the payloads */
    size_t a = size ? data[0] % (size + 1) : 0, b = size > 1 ? data[1] % (size + 1) : 0;
    size_t lo = a < b ? a : b, hi = a < b ? b : a;
    const uint8_t *p1 = data, *p2 = data + lo, *p3 = data + hi;
    size_t n1 = lo, n2 = hi - lo, n3 = size - hi;

    if (!honest(&i, &r, p1, n1, cap) || !honest(&r, &i, p2, n2, cap))
      break;
    if (p == CAIRN_NOISE_XX && !honest(&i, &r, p3, n3, cap))
      break;
    check_sessions(&i, &r);
  }
  }
  cairn_noise_handshake_clear(&i);
  cairn_noise_handshake_clear(&r);
  return 0;
}
